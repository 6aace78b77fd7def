//! Scenarios: per-region timelines of account states and faults, written as YAML.
//!
//! ```yaml
//! credentials:                      # optional; these are the defaults
//!   access_key_id: AKIDPINPOINTSIMULATOR
//!   secret_access_key: pinpoint-email-simulator-secret
//! regions:
//!   eu-west-1:
//!     repeat: true                  # start over after the last phase
//!     phases:
//!       - duration: 30s             # HEALTHY for 30 s (fields not given keep
//!                                   # their value; the first phase starts from a
//!                                   # healthy production account)
//!       - duration: 60s
//!         account: { enforcement_status: PROBATION }
//!       - duration: 20s
//!         answer: throttle          # throttled while this phase lasts
//!       - duration: 60s
//!         account: { enforcement_status: SHUTDOWN, sending_enabled: false }
//!   us-east-1:
//!     phases:
//!       - account: { max_24_hour_send: 50000, sent_last_24_hours: 30000 }
//!         sent_per_second: 100      # the sent count climbs (capped at the quota)
//! ```
//!
//! A phase may also change the reputation rates CloudWatch serves
//! (`reputation: { bounce_rate: 0.03, complaint_rate: 0.0004, age: 2h }`, ratios,
//! starting from a bounce rate of 0.004 and a complaint rate of 0.0002, with
//! fresh datapoints), and say what `GetMetricData` answers (`cloudwatch: data`,
//! the default, `missing` for no datapoints, `throttle`, `server_error` or
//! `access_denied`).
//!
//! A phase may list the account's dedicated IPs (`dedicated_ips: [{ ip:
//! 198.51.100.7, pool: marketing, warmup_percentage: 40, warmup_status:
//! IN_PROGRESS }]`, kept by the phases after it) and say what `GetDedicatedIps`
//! answers (`dedicated_ips_answer:`, with the values of `cloudwatch:`), and
//! its email identities (`identities: [{ name: example.com, dkim_status:
//! TEMPORARY_FAILURE }]`, each field of [`IdentityState`]) with what the
//! identity operations answer (`identities_answer:`).
//!
//! A phase's `answer` is `account` (the default), `throttle`, `drop` (close the
//! connection) or `reset` (reset it: TCP RST); instead of `answer`, a phase may give `error: {status: 500, code:
//! InternalFailure}` (an AWS error answer) or `body: "..."` (a 200 with that exact
//! body, e.g. malformed JSON). `delay: 2s` waits before answering. Time counts from when the scenario is loaded. The last phase lasts
//! forever unless `repeat` is set, in which case every phase needs a duration.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::{DedicatedIpState, IdentityState};

mod check;
mod play;

use check::check_phase;

/// Access key the simulator accepts when a scenario names none.
pub const DEFAULT_ACCESS_KEY_ID: &str = "AKIDPINPOINTSIMULATOR";
/// Secret key the simulator accepts when a scenario names none.
pub const DEFAULT_SECRET_ACCESS_KEY: &str = "pinpoint-email-simulator-secret";

/// A whole scenario file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The credentials requests must be signed with.
    #[serde(default)]
    pub credentials: ScenarioCredentials,
    /// Timeline per region.
    pub regions: BTreeMap<String, Timeline>,
    /// Whether `GET /v1/email/account` (Pinpoint Email) is served; when false it
    /// answers 404 `UnknownOperationException` and only SES v2 answers.
    #[serde(default = "yes")]
    pub pinpoint_email_available: bool,
}

fn yes() -> bool {
    true
}

/// The static credentials a scenario accepts. `Debug` leaves out the secret key.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioCredentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

impl std::fmt::Debug for ScenarioCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScenarioCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

impl Default for ScenarioCredentials {
    fn default() -> Self {
        ScenarioCredentials {
            access_key_id: DEFAULT_ACCESS_KEY_ID.to_string(),
            secret_access_key: DEFAULT_SECRET_ACCESS_KEY.to_string(),
        }
    }
}

/// The phases of one region.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeline {
    /// Start over after the last phase.
    #[serde(default)]
    pub repeat: bool,
    /// The phases, in order.
    pub phases: Vec<Phase>,
}

/// A stretch of time during which a region answers the same way.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// How long the phase lasts; the last phase of a non-repeating timeline may
    /// leave it out and lasts forever.
    #[serde(default, deserialize_with = "optional_duration")]
    pub duration: Option<Duration>,
    /// Changes to the account state at the start of the phase.
    #[serde(default)]
    pub account: AccountPatch,
    /// How fast `sent_last_24_hours` changes during the phase (may be negative);
    /// it stays between 0 and a positive quota.
    #[serde(default)]
    pub sent_per_second: f64,
    /// What requests get during the phase.
    #[serde(default)]
    pub answer: Answer,
    /// Answer with this AWS error instead.
    pub error: Option<ErrorAnswer>,
    /// Answer 200 with this exact body instead.
    pub body: Option<String>,
    /// Wait this long before answering.
    #[serde(default, deserialize_with = "optional_duration")]
    pub delay: Option<Duration>,
    /// Changes to the reputation rates CloudWatch holds, at the start of the
    /// phase.
    #[serde(default)]
    pub reputation: ReputationPatch,
    /// What CloudWatch `GetMetricData` answers during the phase.
    #[serde(default)]
    pub cloudwatch: CallAnswer,
    /// The account's dedicated IPs from the start of the phase on (none before
    /// a phase lists them).
    pub dedicated_ips: Option<Vec<DedicatedIpState>>,
    /// What `GetDedicatedIps` answers during the phase.
    #[serde(default)]
    pub dedicated_ips_answer: CallAnswer,
    /// The account's email identities from the start of the phase on (none
    /// before a phase lists them).
    pub identities: Option<Vec<IdentityState>>,
    /// What `ListEmailIdentities` and `GetEmailIdentity` answer during the
    /// phase.
    #[serde(default)]
    pub identities_answer: CallAnswer,
}

/// Changes to the reputation rates; fields left out keep their value (the
/// first phase starts from [`CloudWatchStep::healthy`]).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReputationPatch {
    /// `Reputation.BounceRate`, a ratio (0.05 is 5 %).
    pub bounce_rate: Option<f64>,
    /// `Reputation.ComplaintRate`, a ratio.
    pub complaint_rate: Option<f64>,
    /// How old the latest datapoints are.
    #[serde(default, deserialize_with = "optional_duration")]
    pub age: Option<Duration>,
}

/// What CloudWatch `GetMetricData` or `GetDedicatedIps` answers during a
/// phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallAnswer {
    /// The data: the rates' latest datapoints, the dedicated IPs.
    #[default]
    Data,
    /// None: no datapoint in the window (an account that sends nothing), no
    /// dedicated IP.
    Missing,
    /// Throttled: CloudWatch's 400 `Throttling`, SES's 429.
    Throttle,
    /// 500: CloudWatch's `InternalServiceFault`, SES's `InternalFailure`.
    ServerError,
    /// 403 `AccessDenied` (the identity lacks the permission).
    AccessDenied,
}

/// What requests get during a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// 200 with the account state.
    #[default]
    Account,
    /// 429 `TooManyRequestsException`.
    Throttle,
    /// Close the connection without answering.
    Drop,
    /// Reset the connection (TCP RST) without answering.
    Reset,
}

/// An AWS error answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorAnswer {
    /// HTTP status, 400 to 599.
    pub status: u16,
    /// Error code (`x-amzn-ErrorType`), e.g. `InternalFailure`.
    pub code: String,
}

/// Changes to an [`AccountState`]; fields left out keep their value.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountPatch {
    /// `SendQuota.Max24HourSend`.
    pub max_24_hour_send: Option<f64>,
    /// `SendQuota.MaxSendRate`.
    pub max_send_rate: Option<f64>,
    /// `SendQuota.SentLast24Hours`.
    pub sent_last_24_hours: Option<f64>,
    /// `SendingEnabled`.
    pub sending_enabled: Option<bool>,
    /// `ProductionAccessEnabled`.
    pub production_access_enabled: Option<bool>,
    /// `DedicatedIpAutoWarmupEnabled`.
    pub dedicated_ip_auto_warmup_enabled: Option<bool>,
    /// `EnforcementStatus`.
    pub enforcement_status: Option<String>,
    /// SES v2: `VdmAttributes.VdmEnabled`.
    pub vdm_enabled: Option<bool>,
    /// SES v2: `Details.ReviewDetails.Status` (PENDING, FAILED, GRANTED, DENIED).
    pub review_status: Option<String>,
    /// SES v2: `SuppressionAttributes.SuppressedReasons` (BOUNCE, COMPLAINT).
    pub suppressed_reasons: Option<Vec<String>>,
    /// SES v2: VDM engagement metrics (`DashboardAttributes.EngagementMetrics`).
    pub vdm_engagement_metrics: Option<bool>,
    /// SES v2: VDM optimized shared delivery
    /// (`GuardianAttributes.OptimizedSharedDelivery`).
    pub vdm_optimized_shared_delivery: Option<bool>,
    /// SES v2: `PricingAttributes.CurrentPlan` (NONE, ESSENTIALS, PRO,
    /// ENTERPRISE).
    pub pricing_plan: Option<String>,
    /// SES v2: `PricingAttributes.NextPlan`.
    pub next_pricing_plan: Option<String>,
}

fn optional_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    text.map(|t| parse_duration(&t).map_err(serde::de::Error::custom))
        .transpose()
}

/// Parses a duration such as `30s`, `5m` or `1h30m`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    humantime::parse_duration(text).map_err(|e| {
        format!("{text:?} is not a duration: {e} (expected a duration such as 30s, 5m or 1h30m)")
    })
}

/// Checks that `region` has the shape of an AWS region code (`us-east-1`,
/// `us-gov-west-1`): the simulator routes requests by the region their
/// signature names, so any other key could never be asked for.
fn check_region(region: &str) -> Result<(), String> {
    let parts: Vec<&str> = region.split('-').collect();
    let (number, words) = parts.split_last().unwrap_or((&"", &[]));
    let shaped = words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit());
    if shaped {
        Ok(())
    } else {
        Err(format!(
            "{region:?} is not an AWS region code such as us-east-1 or eu-west-1"
        ))
    }
}

/// A scenario problem, with where it is.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not YAML of the expected shape.
    #[error("scenario {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message with line and column.
        message: String,
    },
    /// A value is out of range.
    #[error("scenario {path}: {field}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// Where, e.g. `regions.eu-west-1.phases[2].duration`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// The scenario of the exporter's `--demo` and of the simulator without
/// `--scenario`, shipped as `scenarios/demo.yml`.
pub const DEMO: &str = include_str!("../../../scenarios/demo.yml");

impl Scenario {
    /// The built-in demo scenario ([`DEMO`]), parsed. A unit test keeps it valid.
    pub fn demo() -> Result<Scenario, ScenarioError> {
        Scenario::parse("built-in demo scenario", DEMO)
    }

    /// Reads and validates a scenario file.
    pub fn from_file(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Scenario::parse(&path.display().to_string(), &text)
    }

    /// Parses and validates scenario text; `name` is used in messages.
    pub fn parse(name: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario =
            serde_yaml_ng::from_str(text).map_err(|e| ScenarioError::Parse {
                path: name.to_string(),
                message: e.to_string(),
            })?;
        scenario.validate(name)?;
        Ok(scenario)
    }

    /// A `--poll.interval` that sees every phase: a quarter of the shortest timed
    /// phase, in whole seconds, from 1 s to 1 min. With `--poll.max-backoff` at twice
    /// that ([`Scenario::poll_max_backoff`]), even a poll delayed by backoff lands
    /// inside each phase.
    pub fn poll_interval(&self) -> Duration {
        let shortest = self
            .regions
            .values()
            .flat_map(|t| t.phases.iter().filter_map(|p| p.duration))
            .min()
            .unwrap_or(Duration::from_secs(240));
        Duration::from_secs((shortest.as_secs() / 4).clamp(1, 60))
    }

    /// The `--poll.max-backoff` that goes with [`Scenario::poll_interval`].
    pub fn poll_max_backoff(&self) -> Duration {
        self.poll_interval() * 2
    }

    /// The exporter flags that poll this scenario's regions often enough to see
    /// every phase, with every collector on.
    pub fn exporter_flags(&self) -> Vec<String> {
        let regions: Vec<&str> = self.regions.keys().map(String::as_str).collect();
        vec![
            "--aws.regions".into(),
            regions.join(","),
            "--poll.interval".into(),
            humantime::format_duration(self.poll_interval()).to_string(),
            "--poll.max-backoff".into(),
            humantime::format_duration(self.poll_max_backoff()).to_string(),
            "--collector.reputation".into(),
            "--collector.reputation.interval".into(),
            humantime::format_duration(self.poll_interval()).to_string(),
            "--collector.dedicated-ips".into(),
            "--collector.dedicated-ips.interval".into(),
            humantime::format_duration(self.poll_interval()).to_string(),
            "--collector.identities".into(),
            "--collector.identities.interval".into(),
            humantime::format_duration(self.poll_interval()).to_string(),
        ]
    }

    fn validate(&self, name: &str) -> Result<(), ScenarioError> {
        let invalid = |field: String, message: String| ScenarioError::Invalid {
            path: name.to_string(),
            field,
            message,
        };
        if self.regions.is_empty() {
            return Err(invalid("regions".into(), "list at least one region".into()));
        }
        for (region, timeline) in &self.regions {
            check_region(region).map_err(|m| invalid(format!("regions.{region}"), m))?;
            if timeline.phases.is_empty() {
                return Err(invalid(
                    format!("regions.{region}.phases"),
                    "list at least one phase".into(),
                ));
            }
            let last = timeline.phases.len() - 1;
            for (i, phase) in timeline.phases.iter().enumerate() {
                let last_without_repeat = i == last && !timeline.repeat;
                check_phase(phase, last_without_repeat).map_err(|(field, m)| {
                    invalid(format!("regions.{region}.phases[{i}].{field}"), m)
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
