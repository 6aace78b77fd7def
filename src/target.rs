//! What to poll: a target (an AWS account, or a role in one) with its regions,
//! credentials and API. Plain types, shared by the config, the AWS clients and
//! the collectors; this module imports nothing of the exporter.

use clap::ValueEnum;
use serde::Deserialize;

/// Which AWS API answers `GetAccount` for a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Api {
    /// Amazon Pinpoint Email, `GET /v1/email/account`.
    PinpointEmail,
    /// Amazon SES v2, `GET /v2/email/account`: the same values plus the production
    /// access review status, suppression reasons and VDM.
    Sesv2,
    /// Pinpoint Email until it answers that the operation is gone, then SES v2.
    #[default]
    Auto,
}

impl Api {
    /// The name used in flags, files and the `api` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::PinpointEmail => "pinpoint-email",
            Api::Sesv2 => "sesv2",
            Api::Auto => "auto",
        }
    }
}

/// How a target obtains its AWS credentials. `Debug` leaves the external id
/// out: it is a shared secret of the role's trust policy.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// The standard chain: environment, default profile, SSO, web identity, ECS, IMDS.
    DefaultChain,
    /// A named profile of the shared AWS config and credentials files.
    Profile(String),
    /// A role assumed with STS, using the standard chain (or `source_profile`) for
    /// the call to STS.
    AssumeRole {
        /// ARN of the role to assume.
        role_arn: String,
        /// External ID required by the role's trust policy, if any.
        external_id: Option<String>,
        /// Session name, visible in the account's CloudTrail.
        session_name: String,
        /// Profile whose credentials call STS; the standard chain when absent.
        source_profile: Option<String>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::DefaultChain => f.write_str("DefaultChain"),
            Credentials::Profile(name) => f.debug_tuple("Profile").field(name).finish(),
            Credentials::AssumeRole {
                role_arn,
                external_id,
                session_name,
                source_profile,
            } => f
                .debug_struct("AssumeRole")
                .field("role_arn", role_arn)
                .field("external_id", &external_id.as_ref().map(|_| "<redacted>"))
                .field("session_name", session_name)
                .field("source_profile", source_profile)
                .finish(),
        }
    }
}

/// The session name used for assume-role targets that set none.
pub const DEFAULT_SESSION_NAME: &str = "pinpoint-email-exporter";

/// One AWS account (or role) to poll, in one or more regions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The `account` label of its metrics.
    pub name: String,
    /// Regions to poll. Empty means the region of the standard AWS config chain,
    /// resolved when the AWS clients are built.
    pub regions: Vec<String>,
    /// How to get credentials.
    pub credentials: Credentials,
    /// Which API to call.
    pub api: Api,
    /// The account is meant to stay in the sandbox (`expect_sandbox`): exported
    /// as `pinpoint_email_sandbox_expected`, which the InSandbox alert heeds.
    pub expect_sandbox: bool,
    /// Which collectors poll it.
    pub collectors: Collectors,
    /// The collectors' own settings (`--collector.NAME.KEY` flags).
    pub settings: CollectorSettings,
}

impl Target {
    /// The 12-digit AWS account id the target polls, when its configuration
    /// says it: the account of the role it assumes (as discovered accounts
    /// do). `None` for the standard chain and profiles, whose account only
    /// AWS knows.
    pub fn account_id(&self) -> Option<&str> {
        match &self.credentials {
            Credentials::AssumeRole { role_arn, .. } => account_of_arn(role_arn),
            Credentials::DefaultChain | Credentials::Profile(_) => None,
        }
    }
}

/// The account field of an ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:...`)
/// when it is 12 digits.
fn account_of_arn(arn: &str) -> Option<&str> {
    let mut fields = arn.splitn(6, ':');
    if fields.next() != Some("arn") {
        return None;
    }
    let account = fields.nth(3)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// Which collectors poll a target, by name: the `--collector.*` flags,
/// overridden by the target's `collectors:` in the targets file. The names
/// are those of the collectors' registry (`collector::KINDS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collectors {
    /// Every collector (where nothing chose: the store's sections of tests).
    All,
    /// These, in the registry's order.
    Only(Vec<&'static str>),
}

impl Default for Collectors {
    /// None.
    fn default() -> Self {
        Collectors::Only(Vec::new())
    }
}

impl Collectors {
    /// Whether the collector named `name` is on.
    pub fn enabled(&self, name: &str) -> bool {
        match self {
            Collectors::All => true,
            Collectors::Only(names) => names.contains(&name),
        }
    }

    /// Whether none is on.
    pub fn is_empty(&self) -> bool {
        matches!(self, Collectors::Only(names) if names.is_empty())
    }

    /// How many of `registry`'s collectors are on.
    pub fn count(&self, registry: usize) -> usize {
        match self {
            Collectors::All => registry,
            Collectors::Only(names) => names.len(),
        }
    }

    /// The names of the collectors that are on, comma separated.
    pub fn list(&self) -> String {
        match self {
            Collectors::All => "all".to_string(),
            Collectors::Only(names) => names.join(","),
        }
    }
}

/// The collectors' own settings, such as `--collector.dedicated-ips.max-ips`:
/// a number by collector and key; a collector reads its own, with its
/// default where none is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectorSettings(Vec<(&'static str, &'static str, usize)>);

impl CollectorSettings {
    /// Sets `collector`'s `key` to `value`.
    pub fn set(&mut self, collector: &'static str, key: &'static str, value: usize) {
        self.0.retain(|(c, k, _)| (*c, *k) != (collector, key));
        self.0.push((collector, key, value));
    }

    /// `collector`'s `key`, if set.
    pub fn get(&self, collector: &str, key: &str) -> Option<usize> {
        self.0
            .iter()
            .find(|(c, k, _)| (*c, *k) == (collector, key))
            .map(|(_, _, v)| *v)
    }
}

/// A targets-file entry that makes one target per account of an AWS
/// Organization (`discover: organizations:`), each assuming `role_name` in
/// its account. `Debug` leaves the external id out.
#[derive(Clone, PartialEq, Eq)]
pub struct Discovery {
    /// Names the discovery in its own metrics (`discovery` label).
    pub name: String,
    /// What each discovered target gets: its regions (resolved like a
    /// target's), API, collectors and sandbox expectation.
    pub template: Target,
    /// The role assumed in every member account.
    pub role_name: String,
    /// The external id the member roles require, if any.
    pub external_id: Option<String>,
    /// The session name of the member roles.
    pub session_name: String,
    /// Only accounts under these roots or organizational units, recursively;
    /// every account of the organization when empty.
    pub parents: Vec<String>,
    /// Only accounts carrying every one of these tags.
    pub tags: std::collections::BTreeMap<String, String>,
    /// How often the accounts are listed again.
    pub refresh: std::time::Duration,
    /// Whose credentials call Organizations.
    pub credentials: Credentials,
    /// The target name of an account: `{account_id}`, optionally with
    /// `{account_name}`.
    pub name_template: String,
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discovery")
            .field("name", &self.name)
            .field("regions", &self.template.regions)
            .field("role_name", &self.role_name)
            .field(
                "external_id",
                &self.external_id.as_ref().map(|_| "<redacted>"),
            )
            .field("session_name", &self.session_name)
            .field("parents", &self.parents)
            .field("tags", &self.tags)
            .field("refresh", &self.refresh)
            .field("credentials", &self.credentials)
            .field("name_template", &self.name_template)
            .field("api", &self.template.api)
            .field("expect_sandbox", &self.template.expect_sandbox)
            .field("collectors", &self.template.collectors)
            .field("settings", &self.template.settings)
            .finish()
    }
}

/// `refresh` of a discovery that sets none.
pub const DEFAULT_DISCOVERY_REFRESH: std::time::Duration = std::time::Duration::from_secs(3600);

/// `name_template` of a discovery that sets none.
pub const DEFAULT_NAME_TEMPLATE: &str = "{account_id}";

/// An ACTIVE account a discovery found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, Deserialize)]
pub struct Member {
    /// Its 12-digit id.
    pub id: String,
    /// Its name in the organization.
    pub name: String,
    /// The partition of its ARN (`aws`, `aws-us-gov`, `aws-cn`).
    pub partition: String,
}

impl Discovery {
    /// The identity that lists the organization: the template's regions (for
    /// STS and the default region) with the discovery's own credentials.
    pub fn caller(&self) -> Target {
        Target {
            credentials: self.credentials.clone(),
            ..self.template.clone()
        }
    }

    /// The target polling `member`: the template's settings, the member role's
    /// credentials, and the name the template gives it.
    pub fn target(&self, member: &Member) -> Target {
        Target {
            name: self.target_name(member),
            credentials: Credentials::AssumeRole {
                role_arn: format!(
                    "arn:{}:iam::{}:role/{}",
                    member.partition, member.id, self.role_name
                ),
                external_id: self.external_id.clone(),
                session_name: self.session_name.clone(),
                source_profile: None,
            },
            ..self.template.clone()
        }
    }

    /// The name of `member`'s target: `name_template` with `{account_id}` and
    /// `{account_name}` (letters, digits, `_`, `-` and `.` kept, anything else
    /// `_`) filled in, at most 64 characters.
    pub fn target_name(&self, member: &Member) -> String {
        let name: String = member
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let without_name = self
            .name_template
            .replace("{account_id}", &member.id)
            .replace("{account_name}", "");
        let room = 64usize.saturating_sub(without_name.len());
        let name: String = name.chars().take(room).collect();
        self.name_template
            .replace("{account_id}", &member.id)
            .replace("{account_name}", &name)
    }
}

/// Which share of the targets this exporter polls (`--shard.count`,
/// `--shard.index`): a target belongs to the shard that scores highest for
/// its name (rendezvous hashing), so adding a shard moves only the targets
/// the new shard wins, and removing one only that shard's targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This exporter's shard, from 0.
    pub index: u32,
    /// How many shards there are.
    pub count: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl Shard {
    /// The shard of `count` that polls the target named `name`.
    pub fn of(name: &str, count: u32) -> u32 {
        use sha2::{Digest, Sha256};
        (0..count.max(1))
            .max_by_key(|shard| {
                let digest = Sha256::new()
                    .chain_update(name.as_bytes())
                    .chain_update([0])
                    .chain_update(shard.to_be_bytes())
                    .finalize();
                let mut first = [0u8; 8];
                first.copy_from_slice(&digest[..8]);
                (u64::from_be_bytes(first), *shard)
            })
            .unwrap_or(0)
    }

    /// Whether this shard polls the target named `name`.
    pub fn owns(&self, name: &str) -> bool {
        self.count <= 1 || Self::of(name, self.count) == self.index
    }
}

/// Which account and region a series belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// The configured target name (`account` label).
    pub target: String,
    /// The AWS region (`aws_region` label).
    pub region: String,
}

impl Key {
    /// A key for `target` in `region`.
    pub fn new(target: impl Into<String>, region: impl Into<String>) -> Self {
        Key {
            target: target.into(),
            region: region.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_id_is_the_assumed_roles_account() {
        let mut target = Target {
            name: "prod".into(),
            regions: vec![],
            credentials: Credentials::AssumeRole {
                role_arn: "arn:aws-us-gov:iam::123456789012:role/path/reader".into(),
                external_id: None,
                session_name: DEFAULT_SESSION_NAME.into(),
                source_profile: None,
            },
            api: Api::Auto,
            expect_sandbox: false,
            collectors: Collectors::default(),
            settings: CollectorSettings::default(),
        };
        assert_eq!(target.account_id(), Some("123456789012"));
        for arn in [
            "arn:aws:iam::12345:role/r",
            "arn:aws:iam:::role/r",
            "not-an-arn",
            "arn:aws:iam::1234567890ab:role/r",
        ] {
            if let Credentials::AssumeRole { role_arn, .. } = &mut target.credentials {
                *role_arn = arn.into();
            }
            assert_eq!(target.account_id(), None, "{arn}");
        }
        target.credentials = Credentials::Profile("p".into());
        assert_eq!(target.account_id(), None);
        target.credentials = Credentials::DefaultChain;
        assert_eq!(target.account_id(), None);
    }

    #[test]
    fn shards_split_targets_evenly_and_a_new_shard_takes_only_its_share() {
        let names: Vec<String> = (0..3000).map(|i| format!("{:012}", 100_000 + i)).collect();
        let of = |count: u32| -> Vec<u32> { names.iter().map(|n| Shard::of(n, count)).collect() };
        let (three, four) = (of(3), of(4));
        for shard in 0..4 {
            let n = four.iter().filter(|s| **s == shard).count();
            assert!((600..=900).contains(&n), "shard {shard} of 4 has {n}");
        }
        // Going from 3 to 4 shards moves targets only to the new shard.
        let moved: Vec<(u32, u32)> = three
            .iter()
            .zip(&four)
            .filter(|(a, b)| a != b)
            .map(|(a, b)| (*a, *b))
            .collect();
        assert!(moved.iter().all(|(_, to)| *to == 3), "{moved:?}");
        assert!((600..=900).contains(&moved.len()), "{}", moved.len());
        // Each target is owned by exactly one of the shards.
        for name in &names {
            let owners = (0..4)
                .filter(|i| {
                    Shard {
                        index: *i,
                        count: 4,
                    }
                    .owns(name)
                })
                .count();
            assert_eq!(owners, 1);
        }
        // Stable: the same name always lands on the same shard.
        assert_eq!(Shard::of("prod", 4), Shard::of("prod", 4));
        assert!(Shard::default().owns("anything"));
    }

    #[test]
    fn discovered_targets_are_named_by_the_template() {
        let template = Target {
            name: String::new(),
            regions: vec!["us-east-1".into()],
            credentials: Credentials::DefaultChain,
            api: Api::Auto,
            expect_sandbox: false,
            collectors: Collectors::default(),
            settings: CollectorSettings::default(),
        };
        let mut d = Discovery {
            name: "org".into(),
            template,
            role_name: "exporter".into(),
            external_id: Some("s3cr3t-ext".into()),
            session_name: DEFAULT_SESSION_NAME.into(),
            parents: vec![],
            tags: Default::default(),
            refresh: DEFAULT_DISCOVERY_REFRESH,
            credentials: Credentials::DefaultChain,
            name_template: DEFAULT_NAME_TEMPLATE.into(),
        };
        let member = Member {
            id: "111122223333".into(),
            name: "Payments (prod) ".repeat(8),
            partition: "aws-us-gov".into(),
        };
        let t = d.target(&member);
        assert_eq!(t.name, "111122223333");
        assert_eq!(t.regions, ["us-east-1"]);
        let Credentials::AssumeRole { role_arn, .. } = &t.credentials else {
            panic!("{t:?}")
        };
        assert_eq!(role_arn, "arn:aws-us-gov:iam::111122223333:role/exporter");
        d.name_template = "{account_name}-{account_id}".into();
        let name = d.target_name(&member);
        assert_eq!(name.len(), 64, "{name}");
        assert!(name.starts_with("Payments__prod__Payments"), "{name}");
        assert!(name.ends_with("-111122223333"), "{name}");
        assert!(!format!("{d:?}").contains("s3cr3t"));
    }

    #[test]
    fn debug_never_shows_the_external_id() {
        let creds = Credentials::AssumeRole {
            role_arn: "arn:aws:iam::111122223333:role/r".into(),
            external_id: Some("s3cr3t-external-id".into()),
            session_name: DEFAULT_SESSION_NAME.into(),
            source_profile: None,
        };
        let shown = format!("{creds:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
