//! Prometheus exporter for the sending status of Amazon Pinpoint Email / SES accounts.
//!
//! # Layout
//!
//! - [`config`]: command-line flags and the YAML targets file, validated once into a
//!   typed [`config::Config`]; every problem is a [`config::ConfigError`] (exit code 2).
//! - [`aws`]: the [`aws::AccountSource`] trait ("get the account of one target in one
//!   region") and its implementation over `aws-sdk-pinpointemail`, including how SDK
//!   errors map to stable error reasons.
//! - [`poller`]: one background task per (target, region): the schedule, the jittered
//!   exponential backoff, and logging once per change of error.
//! - [`metrics`]: the snapshot store the pollers write and the `/metrics` exposition
//!   that reads it; the exporter's own metrics live in a separate registry.
//! - [`http`]: the hyper listener, TLS, basic auth, routes, connection limits and
//!   graceful shutdown.
//! - [`web`]: the exporter-toolkit web config file (TLS, users, headers, rate limit),
//!   validated, watched for changes, and the basic auth checks.
//! - [`demo`] (feature `demo`, on by default): `--demo`, the exporter against an
//!   in-process simulator of the AWS API, from the `pinpoint-email-simulator`
//!   crate (`crates/pinpoint-email-simulator`), which depends on nothing here.
//! - [`error`]: the poll error type and its metric label.
//! - [`app`]: wires the pieces together and applies reloads of the targets file;
//!   `main.rs` only parses flags, turns signals into events and calls it.

pub mod app;
pub mod aws;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod error;
pub mod http;
pub mod metrics;
pub mod parse;
pub mod poller;
pub mod target;
pub mod web;
