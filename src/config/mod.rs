//! Command-line flags and the targets file, validated once into a [`Config`].
//!
//! A user with one account needs only flags: without `--config.file` there is one
//! target named `default` that uses the standard AWS credential chain. With a file,
//! its targets replace that default one, and `--aws.regions` becomes the region list
//! of every file target that does not list its own.

mod collectors;
mod flags;
mod regions;
mod targets;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use flags::{Cli, LogFormat, LogLevel};
pub use regions::{resolve_discovery_regions, resolve_regions};
pub use targets::{TargetsFile, parse_targets};

use crate::schedule::{Jitter, PollSettings, Schedules};

use crate::parse::validate_region;
use crate::target::{Api, CollectorSettings, Collectors, Credentials, Discovery, Shard, Target};

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
pub const DEMO_TARGET: &str = "demo";

/// The `target` label of the single target polled when no config file is given.
pub const DEFAULT_TARGET: &str = "default";

/// A configuration problem. Its message names the problem and what to do; the
/// binary prints it and exits with code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A flag value is out of range or inconsistent with another.
    #[error("invalid flag {flag}: {message}")]
    Flag {
        /// The flag, e.g. `--poll.interval`.
        flag: std::borrow::Cow<'static, str>,
        /// What is wrong and what to do.
        message: String,
    },
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file given with `--config.file`.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid YAML of the expected shape.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file given with `--config.file`.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value in the config file is invalid.
    #[error("config file {path}: {field}: {message}")]
    Invalid {
        /// The file given with `--config.file` (or `flags` for flag-only targets).
        path: PathBuf,
        /// Where in the file, e.g. `targets[1].regions[0]`.
        field: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A target names a profile that the shared AWS config files do not define.
    #[error(
        "target {target:?}: AWS profile {profile:?} is not defined in the shared AWS config files ({files}); defined: {defined}. Add [profile {profile}] to ~/.aws/config (or [{profile}] to ~/.aws/credentials), or correct `profile` in --config.file"
    )]
    UnknownProfile {
        /// The target's name.
        target: String,
        /// The profile it names.
        profile: String,
        /// Where profiles were looked for.
        files: String,
        /// The profiles that are defined, or `none`.
        defined: String,
    },
    /// The shared AWS config files exist but cannot be read or parsed.
    #[error(
        "target {target:?} names AWS profile {profile:?}, but the shared AWS config files cannot be read: {message}"
    )]
    ProfileFiles {
        /// The target's name.
        target: String,
        /// The profile it names.
        profile: String,
        /// The reader's message.
        message: String,
    },
    /// No region was configured for a target and the AWS config chain has none.
    #[error(
        "no AWS region for target {target:?}: pass --aws.regions (e.g. --aws.regions=us-east-1), list regions for the target in --config.file, or set AWS_REGION"
    )]
    NoRegion {
        /// The target's name.
        target: String,
    },
}

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
        let defaults = TargetDefaults {
            regions: flag_regions(&cli.regions)?,
            api: cli.api,
            // The demo shows every collector unless told otherwise.
            collectors: cli.collectors.collectors(cli.demo),
            settings: cli.collectors.settings()?,
        };
        if defaults.collectors.is_empty() && cli.config_file.is_none() {
            return Err(ConfigError::Flag {
                flag: "--no-collector.*".into(),
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
                message: "the targets file has no `discover:` target to run; see the README's Organizations section".into(),
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
        };
        let by_collector = crate::collector::KINDS
            .iter()
            .map(|kind| {
                let name = kind.spec().name;
                let own = self.intervals.iter().find(|(n, _)| *n == name);
                (name, own.map_or(p, |(_, interval)| at(*interval)))
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

/// `--shard.count` and `--shard.index`; the index may be a StatefulSet pod
/// name, whose ordinal it takes.
fn shard(cli: &Cli) -> Result<Shard, ConfigError> {
    let err = |flag: &'static str, message: String| ConfigError::Flag {
        flag: flag.into(),
        message,
    };
    if cli.shard_count == 0 {
        return Err(err("--shard.count", "must be at least 1".into()));
    }
    let text = cli.shard_index.trim();
    // A pod name's ordinal follows its last '-'; a bare number has none.
    let ordinal = match text.rsplit_once('-') {
        Some((name, ordinal)) if !name.is_empty() => ordinal,
        Some(_) => "",
        None => text,
    };
    let index: u32 = ordinal.parse().map_err(|_| {
        err(
            "--shard.index",
            format!("{text:?} is neither a number nor a StatefulSet pod name ending in its ordinal, such as pinpoint-email-exporter-2"),
        )
    })?;
    if index >= cli.shard_count {
        return Err(err(
            "--shard.index",
            format!(
                "{index} is not below --shard.count {}; shards are numbered from 0",
                cli.shard_count
            ),
        ));
    }
    Ok(Shard {
        index,
        count: cli.shard_count,
    })
}

fn web_settings(cli: &Cli) -> Result<WebSettings, ConfigError> {
    let mut listen_addresses = Vec::with_capacity(cli.listen_address.len());
    for address in &cli.listen_address {
        let address = parse_listen_address(address)?;
        if !listen_addresses.contains(&address) {
            listen_addresses.push(address);
        }
    }
    let telemetry_path = validate_telemetry_path(&cli.telemetry_path)?;
    if cli.max_connections == 0 {
        return Err(ConfigError::Flag {
            flag: "--web.max-connections".into(),
            message: "must be at least 1".into(),
        });
    }
    Ok(WebSettings {
        listen_addresses,
        systemd_socket: cli.systemd_socket,
        telemetry_path,
        max_connections: cli.max_connections,
        config_file: cli
            .web_config_file
            .clone()
            .filter(|p| !p.as_os_str().is_empty()),
    })
}

/// The poll settings of the flags, with defaults that follow the interval, so
/// that setting only --poll.interval never makes a flag the user did not set
/// invalid.
fn poll_settings(cli: &Cli) -> PollSettings {
    let defaults = PollSettings::default();
    let (default_interval, default_max_backoff) = if cli.demo {
        (DEMO_INTERVAL, DEMO_MAX_BACKOFF)
    } else {
        (defaults.interval, defaults.max_backoff)
    };
    let interval = cli.poll_interval.unwrap_or(default_interval);
    PollSettings {
        interval,
        timeout: cli
            .poll_timeout
            .unwrap_or_else(|| defaults.timeout.min(interval)),
        max_backoff: cli
            .poll_max_backoff
            .unwrap_or_else(|| default_max_backoff.max(interval)),
        stale_after: cli
            .poll_stale_after
            .unwrap_or_else(|| defaults.stale_after.max(interval.saturating_mul(2))),
        jitter: Jitter::Random,
        spread: crate::schedule::first_poll_spread(interval, 1),
        offset: Duration::ZERO,
    }
}

/// `--aws.regions`, trimmed, checked and without repeats.
fn flag_regions(regions: &[String]) -> Result<Vec<String>, ConfigError> {
    let regions: Vec<String> = regions.iter().map(|r| r.trim().to_string()).collect();
    for (i, region) in regions.iter().enumerate() {
        validate_region(region).map_err(|message| ConfigError::Flag {
            flag: "--aws.regions".into(),
            message: format!("entry {} {region:?}: {message}", i + 1),
        })?;
    }
    Ok(dedup(regions))
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn parse_listen_address(s: &str) -> Result<SocketAddr, ConfigError> {
    let err = |message: String| ConfigError::Flag {
        flag: "--web.listen-address".into(),
        message,
    };
    // `:PORT` is every interface, as in Go: the IPv6 wildcard, bound dual-stack.
    let full = match s.strip_prefix(':') {
        Some(port) => format!("[::]:{port}"),
        None => s.to_string(),
    };
    let mut addrs = full.to_socket_addrs().map_err(|e| {
        err(format!(
            "{s:?} is not HOST:PORT or :PORT ({e}); e.g. :{DEFAULT_PORT} or 127.0.0.1:{DEFAULT_PORT}"
        ))
    })?;
    addrs
        .next()
        .ok_or_else(|| err(format!("{s:?} resolves to no address")))
}

fn validate_telemetry_path(path: &str) -> Result<String, ConfigError> {
    let err = |message: String| ConfigError::Flag {
        flag: "--web.telemetry-path".into(),
        message,
    };
    if !path.starts_with('/') {
        return Err(err(format!("{path:?} must start with '/', e.g. /metrics")));
    }
    if matches!(path, "/" | "/healthz" | "/readyz") {
        return Err(err(format!(
            "{path:?} is taken by another endpoint; use e.g. /metrics"
        )));
    }
    if path.contains(|c: char| c.is_whitespace() || c == '?' || c == '#') {
        return Err(err(format!(
            "{path:?} must be a plain path without spaces, '?' or '#'"
        )));
    }
    Ok(path.to_string())
}

/// The longest `--poll.interval` and `--poll.max-backoff`: AWS's quota counts a
/// 24-hour window, so a longer wait says nothing useful, and far longer ones
/// would overflow the clock.
pub const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// Checks the interval of a collector's own flag: from 1s to 24h.
fn validate_interval(flag: &str, interval: Duration) -> Result<(), ConfigError> {
    let fmt = |d: Duration| humantime::format_duration(d).to_string();
    if interval < Duration::from_secs(1) || interval > MAX_WAIT {
        return Err(ConfigError::Flag {
            flag: flag.to_string().into(),
            message: format!("{} must be from 1s to 24h", fmt(interval)),
        });
    }
    Ok(())
}

fn validate_poll(p: &PollSettings) -> Result<(), ConfigError> {
    let fmt = |d: Duration| humantime::format_duration(d).to_string();
    for (flag, value) in [
        ("--poll.interval", p.interval),
        ("--poll.max-backoff", p.max_backoff),
    ] {
        if value > MAX_WAIT {
            return Err(ConfigError::Flag {
                flag: flag.into(),
                message: format!(
                    "{} is above the maximum of 24h; the sending quota counts 24 hours",
                    fmt(value)
                ),
            });
        }
    }
    if p.interval < Duration::from_secs(1) {
        return Err(ConfigError::Flag {
            flag: "--poll.interval".into(),
            message: format!(
                "{} is below the minimum of 1s; AWS throttles accounts that call this often",
                fmt(p.interval)
            ),
        });
    }
    if p.timeout.is_zero() || p.timeout > p.interval {
        return Err(ConfigError::Flag {
            flag: "--poll.timeout".into(),
            message: format!(
                "{} must be above 0 and at most --poll.interval ({})",
                fmt(p.timeout),
                fmt(p.interval)
            ),
        });
    }
    if p.max_backoff < p.interval {
        return Err(ConfigError::Flag {
            flag: "--poll.max-backoff".into(),
            message: format!(
                "{} must be at least --poll.interval ({})",
                fmt(p.max_backoff),
                fmt(p.interval)
            ),
        });
    }
    if p.stale_after < p.interval {
        return Err(ConfigError::Flag {
            flag: "--poll.stale-after".into(),
            message: format!(
                "{} must be at least --poll.interval ({}), or every value would vanish between two polls",
                fmt(p.stale_after),
                fmt(p.interval)
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
