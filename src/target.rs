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
mod tests;
