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
    /// The most dedicated IPs exported per region
    /// (`--collector.dedicated-ips.max-ips`).
    pub max_dedicated_ips: usize,
}

/// `--collector.dedicated-ips.max-ips` by default.
pub const DEFAULT_MAX_DEDICATED_IPS: usize = 256;

/// Which collectors poll a target: the `--collector.*` flags, overridden by
/// the target's `collectors:` in the targets file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collectors {
    /// `account`: `GetAccount` (on by default).
    pub account: bool,
    /// `reputation`: CloudWatch's bounce and complaint rates (off by default:
    /// it needs `cloudwatch:GetMetricData`).
    pub reputation: bool,
    /// `dedicated-ips`: the warm-up of each dedicated IP (off by default: it
    /// needs `ses:GetDedicatedIps`).
    pub dedicated_ips: bool,
}

impl Default for Collectors {
    fn default() -> Self {
        Collectors {
            account: true,
            reputation: false,
            dedicated_ips: false,
        }
    }
}

impl Collectors {
    /// Every collector's name, as in flags and the targets file.
    pub const NAMES: [&'static str; 3] = ["account", "reputation", "dedicated-ips"];

    /// Every collector on.
    pub const ALL: Collectors = Collectors {
        account: true,
        reputation: true,
        dedicated_ips: true,
    };

    /// Whether the collector named `name` is on.
    pub fn enabled(&self, name: &str) -> bool {
        match name {
            "account" => self.account,
            "reputation" => self.reputation,
            "dedicated-ips" => self.dedicated_ips,
            _ => false,
        }
    }

    /// The names of the collectors that are on, comma separated.
    pub fn list(&self) -> String {
        Self::NAMES
            .iter()
            .filter(|n| self.enabled(n))
            .copied()
            .collect::<Vec<_>>()
            .join(",")
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
