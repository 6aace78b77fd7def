//! Basic authentication: bcrypt checks on the blocking pool, bounded, with a
//! cache of successful checks.

use std::collections::HashSet;
use std::sync::Mutex;

use base64::Engine as _;
use hyper::header::HeaderValue;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::WebState;

/// The outcome of checking a request's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    /// No authentication configured, or the credentials are right.
    Allowed,
    /// No or malformed `Authorization` header.
    Missing,
    /// Unknown user or wrong password.
    Denied,
}

/// A bcrypt hash of cost 10 that no password matches in practice; unknown users
/// are checked against it so that they take as long as known ones.
const DECOY_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

/// The most successful checks remembered; beyond it the cache starts over.
const AUTH_CACHE_SIZE: usize = 256;

/// Checks basic auth credentials. bcrypt is slow on purpose (tens of
/// milliseconds), so checks run on the blocking pool, at most
/// [`Authenticator::MAX_CONCURRENT`] at once, and successful ones are remembered
/// (as a SHA-256 of user, hash and password) so a scraper pays once.
#[derive(Debug)]
pub struct Authenticator {
    cache: Mutex<HashSet<[u8; 32]>>,
    limit: Semaphore,
}

impl Default for Authenticator {
    fn default() -> Self {
        Authenticator {
            cache: Mutex::new(HashSet::new()),
            limit: Semaphore::new(Self::MAX_CONCURRENT),
        }
    }
}

impl Authenticator {
    /// bcrypt checks running at once; more wait, so wrong passwords cannot take
    /// every core.
    pub const MAX_CONCURRENT: usize = 2;

    /// Checks the `Authorization` header of a request against `state`.
    pub async fn check(
        &self,
        state: &WebState,
        authorization: Option<&HeaderValue>,
    ) -> AuthOutcome {
        if !state.requires_auth() {
            return AuthOutcome::Allowed;
        }
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return AuthOutcome::Missing;
        };
        let known = state.users.get(&user);
        let hash = known.cloned().unwrap_or_else(|| DECOY_HASH.to_string());
        let key: [u8; 32] = Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0])
            .chain_update(hash.as_bytes())
            .chain_update([0])
            .chain_update(password.as_bytes())
            .finalize()
            .into();
        if known.is_some() && self.cached(&key) {
            return AuthOutcome::Allowed;
        }
        let Ok(_permit) = self.limit.acquire().await else {
            return AuthOutcome::Denied;
        };
        let matches = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false);
        if matches && known.is_some() {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() >= AUTH_CACHE_SIZE {
                cache.clear();
            }
            cache.insert(key);
            AuthOutcome::Allowed
        } else {
            AuthOutcome::Denied
        }
    }

    fn cached(&self, key: &[u8; 32]) -> bool {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(key)
    }
}

/// User and password of a `Basic` authorization header.
fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
    let value = value.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use std::path::Path;

    #[test]
    fn basic_header_parsing() {
        let v = HeaderValue::from_static("Basic YWxpY2U6czNjcjM6dA==");
        assert_eq!(
            parse_basic(&v),
            Some(("alice".to_string(), "s3cr3:t".to_string()))
        );
        assert_eq!(parse_basic(&HeaderValue::from_static("Bearer abc")), None);
        assert_eq!(parse_basic(&HeaderValue::from_static("Basic !!!")), None);
        assert_eq!(parse_basic(&HeaderValue::from_static("Basic")), None);
    }

    #[tokio::test]
    async fn authenticator_checks_and_caches() {
        let hash = bcrypt::hash("right", 4).unwrap();
        let text = format!("basic_auth_users:\n  alice: '{hash}'\n");
        let state = parse(Path::new("/nonexistent/web.yml"), &text).unwrap();
        let auth = Authenticator::default();
        let basic = |u: &str, p: &str| {
            HeaderValue::from_str(&format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            ))
            .unwrap()
        };
        assert_eq!(auth.check(&state, None).await, AuthOutcome::Missing);
        assert_eq!(
            auth.check(&state, Some(&basic("alice", "wrong"))).await,
            AuthOutcome::Denied
        );
        assert_eq!(
            auth.check(&state, Some(&basic("bob", "right"))).await,
            AuthOutcome::Denied
        );
        assert_eq!(
            auth.check(&state, Some(&basic("alice", "right"))).await,
            AuthOutcome::Allowed
        );
        assert_eq!(auth.cache.lock().unwrap().len(), 1);
        assert_eq!(
            auth.check(&state, Some(&basic("alice", "right"))).await,
            AuthOutcome::Allowed
        );
        // Debug output never shows the hash.
        assert!(!format!("{state:?}").contains(&hash));
    }

    #[test]
    fn decoy_hash_is_a_valid_bcrypt_hash() {
        assert!(DECOY_HASH.parse::<bcrypt::HashParts>().is_ok());
        assert_eq!(bcrypt::verify("", DECOY_HASH).ok(), Some(false));
    }
}
