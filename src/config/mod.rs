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
mod tests {
    use super::*;
    use clap::Parser;
    use std::path::Path;

    fn cli(args: &[&str]) -> Cli {
        let mut all = vec!["pinpoint-email-exporter"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).expect("flags parse")
    }

    #[test]
    fn defaults() {
        let c = Config::from_cli(cli(&[])).unwrap();
        assert_eq!(
            c.web.listen_addresses,
            [format!("[::]:{DEFAULT_PORT}").parse().unwrap()]
        );
        assert_eq!(c.web.telemetry_path, "/metrics");
        assert_eq!(c.poll, PollSettings::default());
        assert_eq!(
            c.targets,
            vec![Target {
                name: "default".into(),
                regions: vec![],
                credentials: Credentials::DefaultChain,
                api: Api::Auto,
                expect_sandbox: false,
                collectors: Collectors::Only(vec!["account"]),
                settings: CollectorSettings::default(),
            }]
        );
    }

    #[test]
    fn regions_flag_is_split_trimmed_and_deduplicated() {
        let c =
            Config::from_cli(cli(&["--aws.regions", "us-east-1, eu-west-1,us-east-1"])).unwrap();
        assert_eq!(c.targets[0].regions, vec!["us-east-1", "eu-west-1"]);
    }

    #[test]
    fn timeout_defaults_to_the_interval_when_that_is_shorter() {
        let c = Config::from_cli(cli(&["--poll.interval", "4s"])).unwrap();
        assert_eq!(c.poll.timeout, Duration::from_secs(4));
        let c = Config::from_cli(cli(&["--poll.interval", "2m"])).unwrap();
        assert_eq!(c.poll.timeout, Duration::from_secs(10));
    }

    #[test]
    fn demo_polls_the_simulator_regions_every_5s_and_excludes_targets() {
        let c = Config::from_cli(cli(&["--demo"])).unwrap();
        assert!(c.demo);
        assert_eq!(c.poll.interval, DEMO_INTERVAL);
        assert_eq!(c.targets.len(), 1);
        assert_eq!(c.targets[0].name, "demo");
        // Filled in from the demo's scenario by the binary, which owns it.
        assert!(c.targets[0].regions.is_empty());
        let c = Config::from_cli(cli(&["--demo", "--poll.interval", "30s"])).unwrap();
        assert_eq!(c.poll.interval, Duration::from_secs(30));
        let e = Cli::try_parse_from(["x", "--demo", "--aws.regions", "us-east-1"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("cannot be used with"), "{e}");
    }

    #[test]
    fn an_empty_web_config_file_means_none_as_in_the_toolkit() {
        let c = Config::from_cli(cli(&["--web.config.file", ""])).unwrap();
        assert_eq!(c.web.config_file, None);
        let c = Config::from_cli(cli(&["--web.config.file=web.yml"])).unwrap();
        assert_eq!(c.web.config_file, Some(PathBuf::from("web.yml")));
    }

    #[test]
    fn defaults_follow_the_interval() {
        // Only --poll.interval set: no other flag becomes invalid.
        let c = Config::from_cli(cli(&["--poll.interval", "1h30m"])).unwrap();
        assert_eq!(c.poll.max_backoff, Duration::from_secs(5400));
        assert_eq!(c.poll.stale_after, Duration::from_secs(10800));
        assert_eq!(c.poll.timeout, Duration::from_secs(10));
        let c = Config::from_cli(cli(&[])).unwrap();
        assert_eq!(c.poll.max_backoff, Duration::from_secs(600));
        assert_eq!(c.poll.stale_after, Duration::from_secs(900));
        // The demo's backoff stays below its shortest phase.
        let c = Config::from_cli(cli(&["--demo"])).unwrap();
        assert_eq!(c.poll.max_backoff, DEMO_MAX_BACKOFF);
        // Far beyond a day is refused, never an overflow.
        assert_eq!(
            flag_error(&["--poll.interval", "300000000000y"]),
            "invalid flag --poll.interval: 300000000000years is above the maximum of 24h; the sending quota counts 24 hours"
        );
        assert_eq!(
            flag_error(&["--poll.max-backoff", "2d"]),
            "invalid flag --poll.max-backoff: 2days is above the maximum of 24h; the sending quota counts 24 hours"
        );
        // What the user sets is still checked.
        assert_eq!(
            flag_error(&["--poll.interval", "1h30m", "--poll.max-backoff", "10m"]),
            "invalid flag --poll.max-backoff: 10m must be at least --poll.interval (1h 30m)"
        );
    }

    fn flag_error(args: &[&str]) -> String {
        Config::from_cli(cli(args)).unwrap_err().to_string()
    }

    #[test]
    fn bad_flags_are_named() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["--poll.interval", "500ms"],
                "invalid flag --poll.interval: 500ms is below the minimum of 1s; AWS throttles accounts that call this often",
            ),
            (
                &["--poll.interval", "30s", "--poll.timeout", "1m"],
                "invalid flag --poll.timeout: 1m must be above 0 and at most --poll.interval (30s)",
            ),
            (
                &["--poll.max-backoff", "30s"],
                "invalid flag --poll.max-backoff: 30s must be at least --poll.interval (1m)",
            ),
            (
                &["--poll.stale-after", "10s"],
                "invalid flag --poll.stale-after: 10s must be at least --poll.interval (1m), or every value would vanish between two polls",
            ),
            (
                &["--aws.regions", "us-east-1,US-WEST-2"],
                "invalid flag --aws.regions: entry 2 \"US-WEST-2\": \"US-WEST-2\" is not an AWS region code such as us-east-1 or eu-west-1",
            ),
            (
                &["--web.telemetry-path", "metrics"],
                "invalid flag --web.telemetry-path: \"metrics\" must start with '/', e.g. /metrics",
            ),
            (
                &["--web.telemetry-path", "/healthz"],
                "invalid flag --web.telemetry-path: \"/healthz\" is taken by another endpoint; use e.g. /metrics",
            ),
            (
                &["--web.max-connections", "0"],
                "invalid flag --web.max-connections: must be at least 1",
            ),
        ];
        for (args, want) in cases {
            assert_eq!(&flag_error(args), want, "args {args:?}");
        }
        assert!(
            flag_error(&["--web.listen-address", "nonsense"]).starts_with(
                "invalid flag --web.listen-address: \"nonsense\" is not HOST:PORT or :PORT"
            )
        );
    }

    #[test]
    fn clap_rejects_unknown_flags_and_bad_durations_with_exit_code_2() {
        let e = Cli::try_parse_from(["x", "--poll.intervall", "5s"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let e = Cli::try_parse_from(["x", "--poll.interval", "soon"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("expected a duration such as 30s"));
        let e = Cli::try_parse_from(["x", "--log.level", "verbose"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    /// Table test over `testdata/config/*.ok.yml` and `*.bad.yml`: each `.bad.yml`
    /// starts with a `# error: ` line holding the exact message expected; each
    /// `.ok.yml` has a `.ok.txt` beside it with the expected `Debug` of its targets.
    #[test]
    fn config_files() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/config");
        let mut seen = 0;
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .expect("testdata/config exists")
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        let defaults = TargetDefaults {
            regions: vec!["eu-central-1".to_string()],
            api: Api::PinpointEmail,
            ..TargetDefaults::default()
        };
        for path in entries {
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            let shown = Path::new("cfg.yml");
            if name.ends_with(".bad.yml") {
                let want = text
                    .lines()
                    .next()
                    .and_then(|l| l.strip_prefix("# error: "))
                    .unwrap_or_else(|| panic!("{name}: first line must be `# error: ...`"));
                let got = parse_targets(shown, &text, &defaults)
                    .expect_err(&name)
                    .to_string();
                assert_eq!(got, want, "{name}");
                seen += 1;
            } else if name.ends_with(".ok.yml") {
                let got = parse_targets(shown, &text, &defaults)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                let want_path = path.with_extension("txt");
                let got = format!("{got:#?}\n");
                if std::env::var_os("UPDATE_GOLDEN").is_some() {
                    std::fs::write(&want_path, &got).unwrap();
                }
                let want = std::fs::read_to_string(&want_path).unwrap_or_else(|_| {
                    panic!("{}: missing; run with UPDATE_GOLDEN=1", want_path.display())
                });
                assert_eq!(got, want, "{name}");
                seen += 1;
            }
        }
        assert!(
            seen >= 10,
            "only {seen} config cases found in {}",
            dir.display()
        );
    }

    #[test]
    fn shard_index_is_a_number_or_a_pod_name() {
        let index = |i: &str| {
            Config::from_cli(cli(&["--shard.count", "4", &format!("--shard.index={i}")]))
                .map(|c| c.shard.index)
                .map_err(|e| e.to_string())
        };
        assert_eq!(index("3"), Ok(3));
        assert_eq!(index("pinpoint-email-exporter-2"), Ok(2));
        for bad in ["-1", "exporter", "exporter-", "exporter-4"] {
            assert!(
                index(bad).is_err_and(|e| e.starts_with("invalid flag --shard.index")),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_large_fleet_spreads_targets_and_a_targets_regions_start_together() {
        let config = Config::from_cli(cli(&[])).unwrap();
        let big = config.schedules().for_fleet(|_| 10_000);
        let account = |s: &Schedules| s.of("account").unwrap();
        assert_eq!(account(&big).spread, Duration::from_secs(60));
        let t = big.for_target(0.5);
        assert_eq!(account(&t).offset, Duration::from_millis(29_500));
        assert_eq!(account(&t).spread, Duration::from_secs(1));
        let small = config.schedules().for_fleet(|_| 12).for_target(0.5);
        assert_eq!(account(&small).offset, Duration::ZERO);
        assert_eq!(account(&small).spread, Duration::from_secs(1));
        assert_eq!(config.schedules().of("no-such-collector"), None);
    }

    #[test]
    fn unreadable_file_is_named() {
        let err = Config::from_cli(cli(&["--config.file", "/nonexistent/targets.yml"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("cannot read config file /nonexistent/targets.yml: "),
            "{err}"
        );
    }
}
