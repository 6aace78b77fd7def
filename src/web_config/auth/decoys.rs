//! The decoy hashes unknown users are checked against, so that timing does
//! not tell a name that exists from one that does not.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// A bcrypt hash that no password matches in practice. Its cost field is
/// replaced by the costs in use to make the decoys for unknown users.
const DECOY_HASH: &str = "$2y$04$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

/// The decoys unknown users are checked against: one hash per bcrypt cost in
/// use, and which one a name gets.
#[derive(Default)]
pub(crate) struct Decoys {
    /// One per cost in use, lowest cost first.
    hashes: Vec<String>,
    /// A digest of every configured hash: secret like them, and the same at
    /// every start with the same users, so a name keeps its decoy.
    key: [u8; 32],
}

impl Decoys {
    /// The decoys of `users`.
    pub(crate) fn new(users: &BTreeMap<String, String>) -> Self {
        let mut costs: Vec<u32> = users
            .values()
            .filter_map(|h| h.parse::<bcrypt::HashParts>().ok())
            .map(|p| p.get_cost())
            .collect();
        costs.sort_unstable();
        costs.dedup();
        let mut key = Sha256::new();
        for hash in users.values() {
            key.update(hash.as_bytes());
            key.update([0]);
        }
        Decoys {
            hashes: costs
                .into_iter()
                .map(|cost| format!("$2y${cost:02}{}", &DECOY_HASH[6..]))
                .collect(),
            key: key.finalize().into(),
        }
    }

    /// The decoy an unknown `user` is checked against: always the same for the
    /// same name, spread over the costs in use by a secret key, so timing cannot
    /// tell an unknown name from a real user of that cost.
    pub(crate) fn for_user(&self, user: &str) -> &str {
        if self.hashes.is_empty() {
            return DECOY_HASH;
        }
        let digest = Sha256::new()
            .chain_update(self.key)
            .chain_update(user.as_bytes())
            .finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let pick = u64::from_le_bytes(first) % self.hashes.len() as u64;
        &self.hashes[pick as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn decoys_have_the_costs_in_use_and_each_name_keeps_its_decoy() {
        let users = BTreeMap::from([
            ("a".to_string(), bcrypt::hash("x", 4).unwrap()),
            ("b".to_string(), bcrypt::hash("x", 5).unwrap()),
            ("c".to_string(), bcrypt::hash("y", 5).unwrap()),
        ]);
        let decoys = Decoys::new(&users);
        let costs: Vec<u32> = decoys
            .hashes
            .iter()
            .map(|d| d.parse::<bcrypt::HashParts>().unwrap().get_cost())
            .collect();
        assert_eq!(costs, [4, 5]);
        for d in &decoys.hashes {
            assert_eq!(bcrypt::verify("", d).ok(), Some(false));
        }
        let again = Decoys::new(&users);
        let mut seen = HashSet::new();
        for i in 0..64 {
            let name = format!("user{i}");
            let pick = decoys.for_user(&name);
            assert_eq!(pick, again.for_user(&name), "the same name, the same decoy");
            seen.insert(pick.to_string());
        }
        assert_eq!(seen.len(), 2, "unknown names spread over every cost in use");
        assert!(DECOY_HASH.parse::<bcrypt::HashParts>().is_ok());
    }
}
