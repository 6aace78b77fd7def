//! Prometheus exporter for the sending status of Amazon Pinpoint Email / SES accounts.
//!
//! # Layout
//!
//! Leaves, which import nothing of the exporter:
//! - `target`: what to poll: a target's name, regions, credentials and API,
//!   and the (target, region) `target::Key` of every series.
//! - `parse`: durations, region codes, YAML error messages without values.
//! - `error`: the poll error type and its `reason` label.
//! - `state` (imports `target` only): the last listing of each discovery,
//!   kept in `--state.directory` across restarts.
//!
//! The rest, each importing only modules listed before it:
//! - `config`: command-line flags and the YAML targets file, validated once into a
//!   typed `config::Config`; every problem is a `config::ConfigError` (exit code 2).
//! - `aws`: the AWS configuration of a target (credentials, profiles, regions,
//!   timeouts, no SDK retries), the shared HTTPS client, and how SDK errors map to
//!   stable error reasons.
//! - `metrics`: the store the pollers write and the `/metrics` exposition that
//!   reads it, one section per collector; the exporter's own metrics live in a
//!   separate registry.
//! - `poller`: one background task per (collector, target, region): the schedule,
//!   the jittered exponential backoff, and logging once per change of error.
//! - `collector`: the AWS calls, one module each, registered in
//!   `collector::KINDS`; `collector::account` is `GetAccount`.
//! - `web`: the exporter-toolkit web config file (TLS, users, headers, rate limit),
//!   validated, watched for changes, and the basic auth checks.
//! - `http`: the hyper listener, TLS, basic auth, routes, connection limits and
//!   graceful shutdown.
//! - `demo` (feature `demo`, on by default): `--demo`, the exporter against an
//!   in-process simulator of the AWS API, from the `pinpoint-email-simulator`
//!   crate (`crates/pinpoint-email-simulator`), which depends on nothing here.
//! - `app`: wires the pieces together and applies reloads of the targets file;
//!   `main.rs` only parses flags, turns signals into events and calls it.

mod app;
mod aws;
mod collector;
mod config;
#[cfg(feature = "demo")]
pub mod demo;
mod discovery;
mod error;
mod http;
mod listen;
mod metrics;
mod parse;
mod poller;
mod state;
mod target;
mod web;

// What the binary, the fuzz targets, the examples and the tests use.
pub use app::{describe, discover_once, keys, owned_targets, poller_count, run};
pub use aws::{default_loader, resolve_discovery_regions, resolve_regions, static_loader};
pub use collector::Collector;
pub use collector::account::{Account, Source, TargetClients};
pub use collector::dedicated_ips::{DedicatedIp, DedicatedIps};
pub use collector::reputation::{Datapoint, Reputation};
pub use config::{
    Cli, Config, Jitter, LogFormat, LogLevel, TargetDefaults, TargetsFile, parse_targets,
};
pub use error::PollError;
pub use http::{MAX_HEADER_BYTES, MAX_HEADER_FIELDS};
pub use listen::{bind_all, systemd_sockets};
pub use metrics::{BuildInfo, Format, Store, unix_now};
pub use parse::validate_region;
pub use target::{Api, Credentials, Discovery, Key, Member, Shard, Target};
pub use web::{Watcher, parse as parse_web_config};
