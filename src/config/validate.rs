//! The flags checked one by one: listen addresses, the telemetry path, poll
//! timing, regions, shards.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::schedule::{Jitter, PollSettings};

use super::{Cli, ConfigError, DEFAULT_PORT, DEMO_INTERVAL, DEMO_MAX_BACKOFF, WebSettings};
use crate::parse::validate_region;
use crate::target::Shard;

/// `--shard.count` and `--shard.index`; the index may be a StatefulSet pod
/// name, whose ordinal it takes.
pub(super) fn shard(cli: &Cli) -> Result<Shard, ConfigError> {
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

pub(super) fn web_settings(cli: &Cli) -> Result<WebSettings, ConfigError> {
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
pub(super) fn poll_settings(cli: &Cli) -> PollSettings {
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
        idle_interval: None,
    }
}

/// `--aws.regions`, trimmed, checked and without repeats.
pub(super) fn flag_regions(regions: &[String]) -> Result<Vec<String>, ConfigError> {
    let regions: Vec<String> = regions.iter().map(|r| r.trim().to_string()).collect();
    for (i, region) in regions.iter().enumerate() {
        validate_region(region).map_err(|message| ConfigError::Flag {
            flag: "--aws.regions".into(),
            message: format!("entry {} {region:?}: {message}", i + 1),
        })?;
    }
    Ok(dedup(regions))
}

pub(super) fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

pub(super) fn parse_listen_address(s: &str) -> Result<SocketAddr, ConfigError> {
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

pub(super) fn validate_telemetry_path(path: &str) -> Result<String, ConfigError> {
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

/// `--cost.active-share` is a ratio and `--cost.cloudwatch-price` a price.
pub(super) fn cost_flags(cli: &Cli) -> Result<(), ConfigError> {
    if let Some(share) = cli.cost_active_share
        && !(0.0..=1.0).contains(&share)
    {
        return Err(ConfigError::Flag {
            flag: "--cost.active-share".into(),
            message: format!("{share} must be a ratio from 0 to 1 (0.05 is 5 %)"),
        });
    }
    let price = cli.cost_cloudwatch_price;
    if !price.is_finite() || price < 0.0 {
        return Err(ConfigError::Flag {
            flag: "--cost.cloudwatch-price".into(),
            message: format!("{price} must be a price in dollars per 1,000 metrics, such as 0.01"),
        });
    }
    Ok(())
}

/// `--collector.idle-interval`'s default: 6 hours.
pub(super) const DEFAULT_IDLE_INTERVAL: Duration = Duration::from_secs(6 * 3600);

/// `--collector.idle-interval`, checked; `None` for `0s` (and by default
/// with `--demo`, whose regions change faster than any idle interval).
pub(super) fn idle_interval(cli: &Cli) -> Result<Option<Duration>, ConfigError> {
    match cli.collector_idle_interval {
        Some(d) if d.is_zero() => Ok(None),
        Some(d) => {
            validate_interval("--collector.idle-interval", d)?;
            Ok(Some(d))
        }
        None if cli.demo => Ok(None),
        None => Ok(Some(DEFAULT_IDLE_INTERVAL)),
    }
}

/// Checks the interval of a collector's own flag: from 1s to 24h.
pub(super) fn validate_interval(flag: &str, interval: Duration) -> Result<(), ConfigError> {
    let fmt = |d: Duration| humantime::format_duration(d).to_string();
    if interval < Duration::from_secs(1) || interval > MAX_WAIT {
        return Err(ConfigError::Flag {
            flag: flag.to_string().into(),
            message: format!("{} must be from 1s to 24h", fmt(interval)),
        });
    }
    Ok(())
}

pub(super) fn validate_poll(p: &PollSettings) -> Result<(), ConfigError> {
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
