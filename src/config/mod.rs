//! Command-line flags and the targets file, validated once into a [`Config`].
//!
//! A user with one account needs only flags: without `--config.file` there is one
//! target named `default` that uses the standard AWS credential chain. With a file,
//! its targets replace that default one, and `--aws.regions` becomes the region list
//! of every file target that does not list its own.
pub use flags::{Cli, LogFormat, LogLevel};
pub use regions::{resolve_discovery_regions, resolve_regions};
pub use targets::{TargetsFile, parse_targets};

mod error;
mod validate;

pub use error::ConfigError;
pub use validate::MAX_WAIT;
use validate::{
    cost_flags, dedup, flag_regions, idle_interval, poll_settings, shard, validate_interval,
    validate_poll, web_settings,
};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::schedule::{PollSettings, Schedules};

use crate::target::{Api, CollectorSettings, Collectors, Credentials, Discovery, Shard, Target};

mod collectors;
mod flags;
mod regions;
mod targets;

/// The port the exporter listens on by default. It lies outside the 9100-9999 range
/// that Prometheus exporters conventionally share (now fully allocated) and is not
/// assigned to another service by IANA.
pub const DEFAULT_PORT: u16 = 10919;

/// `--poll.interval` in demo mode, so the demo's metrics move visibly.
pub const DEMO_INTERVAL: Duration = Duration::from_secs(5);

/// `--poll.max-backoff` in demo mode: shorter than the shortest phase of the demo
/// scenario, so a throttled or failing phase never hides the phase after it.
pub const DEMO_MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The `target` label of the demo's metrics.
const DEMO_TARGET: &str = "demo";

/// The `target` label of the single target polled when no config file is given.
const DEFAULT_TARGET: &str = "default";

/// What file targets get from the flags when they leave a key out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetDefaults {
    /// `--aws.regions`: the regions of targets that list none.
    pub regions: Vec<String>,
    /// `--aws.api`: the API of targets that set none.
    pub api: Api,
    /// The `--collector.*` flags: the collectors of targets that set none.
    pub collectors: Collectors,
    /// The collectors' own settings flags (`--collector.NAME.KEY`).
    pub settings: CollectorSettings,
}

impl Default for TargetDefaults {
    /// No regions, `auto`, the default collectors and cap.
    fn default() -> Self {
        TargetDefaults {
            regions: Vec::new(),
            api: Api::default(),
            collectors: Collectors::Only(
                crate::collector::KINDS
                    .iter()
                    .map(|k| k.spec())
                    .filter(|s| s.default_on)
                    .map(|s| s.name)
                    .collect(),
            ),
            settings: CollectorSettings::default(),
        }
    }
}

/// Settings of the HTTP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSettings {
    /// Addresses to bind, each served alike; `[::]` is dual-stack (IPv4 too).
    pub listen_addresses: Vec<SocketAddr>,
    /// Serve the sockets systemd passes instead of binding `listen_addresses`.
    pub systemd_socket: bool,
    /// Path of the metrics endpoint.
    pub telemetry_path: String,
    /// Connections served at once.
    pub max_connections: usize,
    /// The exporter-toolkit web config file, if any (validated at start-up).
    pub config_file: Option<PathBuf>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// HTTP server settings.
    pub web: WebSettings,
    /// Poller timing.
    pub poll: PollSettings,
    /// What to poll: the targets listed one by one (every shard's).
    pub targets: Vec<Target>,
    /// The targets file's discoveries, each making targets of an
    /// organization's accounts.
    pub discoveries: Vec<Discovery>,
    /// Which share of the targets this exporter polls.
    pub shard: Shard,
    /// `--config.discover` was given: run each discovery once, print, exit.
    pub discover_only: bool,
    /// `--config.check` was given.
    pub check_only: bool,
    /// `--demo` was given: poll the built-in simulator.
    pub demo: bool,
    /// Log severity.
    pub log_level: LogLevel,
    /// Log format.
    pub log_format: LogFormat,
    /// The targets file (`--config.file`), if any, kept for reloads.
    pub targets_file: Option<PathBuf>,
    /// What file targets get from the flags (for reloads).
    pub target_defaults: TargetDefaults,
    /// `--collector.NAME.interval` of each collector with an interval of its
    /// own.
    pub intervals: Vec<(&'static str, Duration)>,
    /// `--metrics.poll-duration-per-target`.
    pub durations_per_target: bool,
    /// `--collector.idle-interval`; `None` when off (`0s`).
    pub idle_interval: Option<Duration>,
    /// `--cost.active-share`.
    pub cost_share: Option<f64>,
    /// `--cost.cloudwatch-price`.
    pub cloudwatch_price: f64,
    /// `--state.directory`: where the last listing of each discovery is
    /// kept across restarts; none when not given (or empty).
    pub state_directory: Option<PathBuf>,
}

impl Config {
    /// Validates parsed flags and reads the config file they name.
    pub fn from_cli(cli: Cli) -> Result<Config, ConfigError> {
        let web = web_settings(&cli)?;
        let poll = poll_settings(&cli);
        validate_poll(&poll)?;
        let intervals = cli.collectors.intervals(cli.demo, poll.interval)?;
        let idle_interval = idle_interval(&cli)?;
        cost_flags(&cli)?;
        let defaults = TargetDefaults {
            regions: flag_regions(&cli.regions)?,
            api: cli.api,
            // The demo shows every collector unless told otherwise.
            collectors: cli.collectors.collectors(cli.demo),
            settings: cli.collectors.settings()?,
        };
        if defaults.collectors.is_empty() && cli.config_file.is_none() {
            return Err(ConfigError::Flag {
                flag: cli.collectors.turned_off().join(", ").into(),
                message: "every collector is off, so nothing would be polled; turn one on (the --collector.* flags of --help)".into(),
            });
        }
        let shard = shard(&cli)?;
        let file = match &cli.config_file {
            // The demo's regions come from its scenario: the binary fills them in.
            None if cli.demo => TargetsFile::fixed(vec![Target {
                name: DEMO_TARGET.to_string(),
                regions: Vec::new(),
                credentials: Credentials::DefaultChain,
                api: cli.api,
                expect_sandbox: false,
                collectors: defaults.collectors.clone(),
                settings: defaults.settings.clone(),
            }]),
            None => TargetsFile::fixed(vec![Target {
                name: DEFAULT_TARGET.to_string(),
                regions: defaults.regions.clone(),
                credentials: Credentials::DefaultChain,
                api: cli.api,
                expect_sandbox: false,
                collectors: defaults.collectors.clone(),
                settings: defaults.settings.clone(),
            }]),
            Some(path) => read_targets(path, &defaults)?,
        };
        if cli.config_discover && file.discoveries.is_empty() {
            return Err(ConfigError::Flag {
                flag: "--config.discover".into(),
                message: "the targets file has no `discover:` target to run; see docs/configuration.md, \"An AWS Organization\"".into(),
            });
        }
        let state_directory = cli.state_directory.filter(|p| !p.as_os_str().is_empty());
        if let Some(dir) = &state_directory {
            crate::state::check_writable(dir).map_err(|message| ConfigError::Flag {
                flag: "--state.directory".into(),
                message,
            })?;
        }
        Ok(Config {
            web,
            poll,
            targets: file.targets,
            discoveries: file.discoveries,
            shard,
            discover_only: cli.config_discover,
            check_only: cli.config_check,
            demo: cli.demo,
            log_level: cli.log_level,
            log_format: cli.log_format,
            targets_file: cli.config_file,
            target_defaults: defaults,
            intervals,
            durations_per_target: cli.durations_per_target,
            idle_interval,
            cost_share: cli.cost_active_share,
            cloudwatch_price: cli.cost_cloudwatch_price,
            state_directory,
        })
    }

    /// The poll settings of every collector.
    pub fn schedules(&self) -> Schedules {
        let p = self.poll;
        // The SDK enforces --poll.timeout for every call of a target, whatever
        // its collector; calls of one poller never overlap, whatever its interval.
        let at = |interval: Duration| PollSettings {
            interval,
            timeout: p.timeout,
            max_backoff: p.max_backoff.max(interval),
            stale_after: p.stale_after.max(interval.saturating_mul(2)),
            jitter: p.jitter,
            spread: crate::schedule::first_poll_spread(interval, 1),
            offset: Duration::ZERO,
            // Only where it is longer than the collector's own interval.
            idle_interval: self.idle_interval.filter(|idle| *idle > interval),
        };
        let by_collector = crate::collector::KINDS
            .iter()
            .map(|kind| {
                let spec = kind.spec();
                let own = self.intervals.iter().find(|(n, _)| *n == spec.name);
                let mut settings = own.map_or(p, |(_, interval)| at(*interval));
                if spec.idle.is_none() {
                    settings.idle_interval = None;
                }
                (spec.name, settings)
            })
            .collect();
        Schedules::new(p, by_collector)
    }

    /// Reads the targets file again (for a reload), with the same flag defaults as
    /// at start-up. `None` when the exporter runs without a file.
    pub fn reread_targets(&self) -> Option<Result<TargetsFile, ConfigError>> {
        let path = self.targets_file.as_ref()?;
        Some(read_targets(path, &self.target_defaults))
    }
}

/// Reads and validates the targets file, with the flags' defaults.
fn read_targets(path: &Path, defaults: &TargetDefaults) -> Result<TargetsFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_targets(path, &text, defaults)
}

#[cfg(test)]
mod tests;
