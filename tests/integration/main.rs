//! The integration tests, in one binary (one link instead of one per file):
//! the exporter's binary and its flags, the exporter against the simulator
//! (polling, faults, Organizations, hostile clients, web config), the golden
//! file, the deployment files, the alert rules and mixin with promtool and
//! jsonnet, and end to end with a real Prometheus and Alertmanager.
//!
//! Tests that run programs from outside the Rust toolchain (promtool,
//! Prometheus, Alertmanager, amtool, curl, jsonnet, python3's
//! prometheus_client, systemd-socket-activate) fail, naming the Debian package,
//! when the program is missing; `scripts/test` installs them.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

mod activity;
mod binary;
mod deploy;
mod e2e;
mod exporter;
mod faults;
mod golden;
mod hostile;
mod identities;
mod mixin;
mod moto;
mod organization;
mod rules;
mod web;
