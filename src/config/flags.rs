//! The command-line flags, as clap parses them; `--help` is their doc comments.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use super::DEFAULT_PORT;
use super::collectors::CollectorFlags;
use crate::parse::parse_duration;
use crate::target::Api;

/// CloudWatch's list price of `GetMetricData`, in dollars per 1,000 metrics
/// requested (most regions, 2026): `--cost.cloudwatch-price`'s default.
pub const CLOUDWATCH_PRICE_PER_1000: f64 = 0.01;
/// Polls `GetAccount` of Amazon Pinpoint Email / SES for each configured AWS account
/// and region in the background, and serves the sending quota, send rate, sending
/// and production-access flags and the enforcement status (HEALTHY, PROBATION,
/// SHUTDOWN) as Prometheus metrics.
///
/// Credentials and endpoints come from the standard AWS chain (AWS_* environment
/// variables, profiles, SSO, web identity / IRSA, ECS, EC2 instance profile).
#[derive(Debug, Parser)]
#[command(
    name = "pinpoint-email-exporter",
    about,
    long_about,
    disable_version_flag = true
)]
pub struct Cli {
    /// Print the version, source revision and branch, build date, rustc
    /// version and platform, and exit.
    #[arg(long = "version")]
    pub version: bool,

    /// Address to listen on for HTTP requests: HOST:PORT, [IPv6]:PORT, or :PORT for
    /// every interface, IPv4 and IPv6. Repeat it to listen on several addresses,
    /// each with the same TLS and authentication.
    #[arg(long = "web.listen-address", value_name = "ADDR", default_values_t = [format!(":{DEFAULT_PORT}")])]
    pub listen_address: Vec<String>,

    /// Use the sockets systemd passes (socket activation, LISTEN_FDS) instead of
    /// --web.listen-address.
    #[arg(long = "web.systemd-socket")]
    pub systemd_socket: bool,

    /// Path under which to expose metrics.
    #[arg(
        long = "web.telemetry-path",
        value_name = "PATH",
        default_value = "/metrics"
    )]
    pub telemetry_path: String,

    /// Maximum number of HTTP connections open at once; when all are taken, the
    /// connection idle the longest is closed to make room for a new one.
    #[arg(long = "web.max-connections", value_name = "N", default_value_t = 256)]
    pub max_connections: usize,

    /// Web config file enabling TLS, basic authentication, response headers and a
    /// rate limit, in the format of the Prometheus exporter-toolkit. Changes to it
    /// and to the files it names apply without a restart. An empty value means
    /// none, as in the exporter-toolkit.
    #[arg(long = "web.config.file", value_name = "FILE", value_parser = path_or_empty)]
    pub web_config_file: Option<PathBuf>,

    /// AWS regions to poll, comma separated (e.g. us-east-1,eu-west-1). Default: the
    /// region of the standard AWS config chain (AWS_REGION, profile). Applies to every
    /// target of --config.file that lists no regions of its own.
    #[arg(long = "aws.regions", value_name = "REGIONS", value_delimiter = ',')]
    pub regions: Vec<String>,

    /// API to call: pinpoint-email (GET /v1/email/account), sesv2 (GET
    /// /v2/email/account, with more values), or auto (Pinpoint Email until it answers
    /// that the operation is gone, then SES v2). Default for targets of --config.file
    /// that set no `api`.
    #[arg(long = "aws.api", value_name = "API", value_enum, default_value_t = Api::Auto)]
    pub api: Api,

    /// Time between two polls of one target and region (e.g. 30s, 5m) [default: 60s, or 5s
    /// with --demo]
    #[arg(long = "poll.interval", value_name = "DURATION", value_parser = parse_duration)]
    pub poll_interval: Option<Duration>,

    /// Time limit of one GetAccount call, connecting and credential lookup included
    /// [default: 10s, or --poll.interval if shorter]
    #[arg(long = "poll.timeout", value_name = "DURATION", value_parser = parse_duration)]
    pub poll_timeout: Option<Duration>,

    /// Upper bound of the exponential backoff after throttling, server, timeout and
    /// network errors [default: 10m or --poll.interval if longer; 10s with --demo]
    #[arg(long = "poll.max-backoff", value_name = "DURATION", value_parser = parse_duration)]
    pub poll_max_backoff: Option<Duration>,

    /// How long the account values of a target and region keep being served after
    /// its last successful poll while polls fail (through backoff); after that they
    /// disappear and only pinpoint_email_up and
    /// pinpoint_email_last_success_timestamp_seconds remain. Alerts hold the last
    /// known state in Prometheus, not here [default: 15m, or twice --poll.interval if
    /// longer]
    #[arg(long = "poll.stale-after", value_name = "DURATION", value_parser = parse_duration)]
    pub poll_stale_after: Option<Duration>,

    /// With --config.check or --config.discover: also estimate the cost at this
    /// share of regions sending (0.05 is 5 %), beside every region and none.
    #[arg(long = "cost.active-share", value_name = "RATIO")]
    pub cost_active_share: Option<f64>,

    /// With --config.check or --config.discover: CloudWatch's price of
    /// GetMetricData in dollars per 1,000 metrics requested (the list price of
    /// most regions).
    #[arg(long = "cost.cloudwatch-price", value_name = "DOLLARS", default_value_t = CLOUDWATCH_PRICE_PER_1000)]
    pub cost_cloudwatch_price: f64,

    /// Every collector's flags, from the collectors' registry.
    #[command(flatten)]
    pub collectors: CollectorFlags,

    /// Time between two calls of an idle region (no production access,
    /// nothing sent in 24 hours, no recent reputation datapoint) for the
    /// collectors that cost money or many calls: reputation, dedicated IPs,
    /// identities; a region back to sending returns to their own interval at
    /// the next one. 0s polls every region at their own interval [default: 6h;
    /// 0s with --demo]
    #[arg(long = "collector.idle-interval", value_name = "DURATION", value_parser = parse_duration)]
    pub collector_idle_interval: Option<Duration>,

    /// Export each collector's call duration histogram per target and region
    /// instead of per region: 13 more series per poller, for finding a slow
    /// account among many.
    #[arg(long = "metrics.poll-duration-per-target")]
    pub durations_per_target: bool,

    /// YAML file listing the targets (AWS accounts) to poll, each with a name, its
    /// regions and how to get its credentials. See docs/configuration.md for the format.
    #[arg(long = "config.file", value_name = "FILE")]
    pub config_file: Option<PathBuf>,

    /// Directory to keep state in across restarts: the last listing of each
    /// discovery, so that a restart polls the discovered accounts at once,
    /// even while AWS Organizations cannot be reached. Nothing is kept
    /// without it.
    #[arg(long = "state.directory", value_name = "DIR", value_parser = path_or_empty)]
    pub state_directory: Option<PathBuf>,

    /// Demo: poll a built-in simulator of the AWS API, playing a scenario whose
    /// account states change every few seconds, instead of AWS. Needs no AWS account
    /// or credentials.
    #[arg(long = "demo", conflicts_with_all = ["regions", "config_file"])]
    pub demo: bool,

    /// Validate the flags and the config file, print what would be polled, and exit.
    #[arg(long = "config.check")]
    pub config_check: bool,

    /// Run each `discover:` of the config file once against AWS, print the
    /// targets it finds (and which shard polls each), and exit.
    #[arg(long = "config.discover", conflicts_with = "config_check")]
    pub config_discover: bool,

    /// How many exporters share the targets (and discovered accounts): each
    /// polls those whose name hashes to its --shard.index.
    #[arg(long = "shard.count", value_name = "N", default_value_t = 1)]
    pub shard_count: u32,

    /// This exporter's shard, from 0: a number, or a StatefulSet pod name
    /// such as pinpoint-email-exporter-2, whose ordinal it takes.
    #[arg(long = "shard.index", value_name = "INDEX", default_value = "0")]
    pub shard_index: String,

    /// Only log messages with the given severity or above.
    #[arg(long = "log.level", value_name = "LEVEL", value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,

    /// Output format of log messages.
    #[arg(long = "log.format", value_name = "FORMAT", value_enum, default_value_t = LogFormat::Logfmt)]
    pub log_format: LogFormat,
}

/// A path, where an empty value is allowed (and means none).
fn path_or_empty(value: &str) -> Result<PathBuf, std::convert::Infallible> {
    Ok(PathBuf::from(value))
}

/// Log severities accepted by `--log.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// Every poll and its outcome.
    Debug,
    /// Start-up, changes of state and recoveries.
    Info,
    /// Failures.
    Warn,
    /// Only what stops the exporter from working.
    Error,
}

impl LogLevel {
    /// The exporter's log filter (`tracing_subscriber::EnvFilter` directives)
    /// at this level. The AWS and HTTP crates log at info about routine work
    /// (credential loads, connections): warn unless debugging. The SDK's own
    /// warning of a refused AssumeRole is off: it comes on every poll, names
    /// no account and carries a request id; the poller says it once, with the
    /// account, when it changes.
    pub fn directives(self) -> String {
        let (level, quiet) = match self {
            LogLevel::Debug => ("debug", "info"),
            LogLevel::Info => ("info", "warn"),
            LogLevel::Warn => ("warn", "warn"),
            LogLevel::Error => ("error", "warn"),
        };
        format!(
            "{level},aws_config={quiet},aws_config::imds::region=error,aws_config::sts::assume_role=error,aws_runtime={quiet},aws_smithy_runtime={quiet},aws_smithy_runtime_api={quiet},hyper={quiet},hyper_util={quiet}"
        )
    }
}

/// Log output formats accepted by `--log.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `key=value` pairs, one line per event.
    Logfmt,
    /// One JSON object per line.
    Json,
}
