//! The exporter's own metrics, in a `prometheus` registry of their own:
//! build info, reloads, basic auth refusals, discoveries, shard, inventory,
//! and the `process_*` metrics.

use std::sync::{Arc, Mutex};

use prometheus::{Opts, Registry};

use super::BuildInfo;
use super::inventory::Inventory;

/// The `reason` label values of `pinpoint_email_exporter_web_auth_failures_total`,
/// each counted from 0: why the HTTP server refuses a request's credentials.
pub const AUTH_FAILURE_REASONS: [&str; 5] =
    ["missing", "malformed", "denied", "locked_out", "throttled"];

/// The exporter's own metrics and the registry that encodes them.
pub(super) struct Own {
    pub(super) registry: Registry,
    pub(super) reload_ok: prometheus::IntGauge,
    pub(super) web_reload_ok: prometheus::IntGauge,
    pub(super) auth_failures: prometheus::IntCounterVec,
    pub(super) discovery: DiscoveryMetrics,
    pub(super) shard_index: prometheus::IntGauge,
    pub(super) shard_count: prometheus::IntGauge,
    pub(super) targets: prometheus::IntGauge,
    pub(super) inventory: Arc<Inventory>,
}

impl Own {
    /// Every own metric registered, at its start value; with
    /// `process_metrics`, the `process_*` metrics of this process too.
    pub(super) fn new(build: &BuildInfo, process_metrics: bool) -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let build_info = prometheus::IntGaugeVec::new(
            Opts::new(
                "pinpoint_email_exporter_build_info",
                "A metric with a constant value 1, labelled by the exporter's version, source revision and branch, build date and rustc version.",
            ),
            &["version", "revision", "branch", "build_date", "rustversion"],
        )?;
        build_info
            .with_label_values(&[
                build.version.as_str(),
                build.revision.as_str(),
                build.branch.as_str(),
                build.build_date.as_str(),
                build.rust_version.as_str(),
            ])
            .set(1);
        registry.register(Box::new(build_info))?;
        let reload_ok = prometheus::IntGauge::new(
            "pinpoint_email_exporter_config_last_reload_successful",
            "Whether the last reload of --config.file (on SIGHUP) succeeded; 1 until the first reload.",
        )?;
        reload_ok.set(1);
        registry.register(Box::new(reload_ok.clone()))?;
        let web_reload_ok = prometheus::IntGauge::new(
            "pinpoint_email_exporter_web_config_last_reload_successful",
            "Whether the last change of --web.config.file (or a file it names) was applied; 0 while a change is invalid or would loosen TLS, basic auth or client certificate checks, which needs a restart. 1 until the first change.",
        )?;
        web_reload_ok.set(1);
        registry.register(Box::new(web_reload_ok.clone()))?;
        let auth_failures = prometheus::IntCounterVec::new(
            Opts::new(
                "pinpoint_email_exporter_web_auth_failures_total",
                "Requests refused by basic authentication, by reason: missing (no credentials), malformed, denied (unknown user or wrong password), locked_out (a wrong password from this client too recently), throttled (429: too many password checks waiting, or from this client).",
            ),
            &["reason"],
        )?;
        for reason in AUTH_FAILURE_REASONS {
            auth_failures.with_label_values(&[reason]);
        }
        registry.register(Box::new(auth_failures.clone()))?;
        let discovery = DiscoveryMetrics::new(&registry)?;
        let shard_index = prometheus::IntGauge::new(
            "pinpoint_email_exporter_shard_index",
            "This exporter's shard (--shard.index), from 0.",
        )?;
        registry.register(Box::new(shard_index.clone()))?;
        let shard_count = prometheus::IntGauge::new(
            "pinpoint_email_exporter_shards",
            "How many exporters share the targets (--shard.count).",
        )?;
        shard_count.set(1);
        registry.register(Box::new(shard_count.clone()))?;
        let targets = prometheus::IntGauge::new(
            "pinpoint_email_exporter_targets",
            "Targets this exporter polls: those of the targets file and of its discoveries that hash to its shard.",
        )?;
        registry.register(Box::new(targets.clone()))?;
        let inventory = Arc::new(Inventory::new(&registry)?);
        if process_metrics {
            register_process_collector(&registry)?;
        }
        Ok(Own {
            registry,
            reload_ok,
            web_reload_ok,
            auth_failures,
            discovery,
            shard_index,
            shard_count,
            targets,
            inventory,
        })
    }
}

/// The series of the discoveries, labelled by `discovery`.
pub(super) struct DiscoveryMetrics {
    pub(super) up: prometheus::GaugeVec,
    pub(super) last_success: prometheus::GaugeVec,
    pub(super) accounts: prometheus::IntGaugeVec,
    pub(super) errors: prometheus::IntCounterVec,
    /// Discoveries with series, for [`DiscoveryMetrics::keep`].
    pub(super) names: Mutex<std::collections::BTreeSet<String>>,
    /// Discoveries whose first listing has not ended yet.
    pub(super) pending: Mutex<std::collections::BTreeSet<String>>,
}

impl DiscoveryMetrics {
    pub(super) fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let by_name = &["discovery"];
        let up = prometheus::GaugeVec::new(
            Opts::new(
                "pinpoint_email_discovery_up",
                "1 if the last listing of the discovery's AWS Organization accounts succeeded, 0 if it failed (the accounts of the last successful listing stay polled).",
            ),
            by_name,
        )?;
        let last_success = prometheus::GaugeVec::new(
            Opts::new(
                "pinpoint_email_discovery_last_success_timestamp_seconds",
                "Unix time of the discovery's last successful listing.",
            ),
            by_name,
        )?;
        let accounts = prometheus::IntGaugeVec::new(
            Opts::new(
                "pinpoint_email_discovery_accounts",
                "Accounts the discovery's last successful listing found: ACTIVE, under its parents, with its tags (every shard's).",
            ),
            by_name,
        )?;
        let errors = prometheus::IntCounterVec::new(
            Opts::new(
                "pinpoint_email_discovery_errors_total",
                "Failed listings of the discovery, by reason (throttled, timeout, network, auth, bad_request, server, invalid_response, other).",
            ),
            &["discovery", "reason"],
        )?;
        registry.register(Box::new(up.clone()))?;
        registry.register(Box::new(last_success.clone()))?;
        registry.register(Box::new(accounts.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        Ok(DiscoveryMetrics {
            up,
            last_success,
            accounts,
            errors,
            names: Mutex::new(Default::default()),
            pending: Mutex::new(Default::default()),
        })
    }

    pub(super) fn keep(&self, names: &[&str]) {
        let mut known = self.names.lock().unwrap_or_else(|p| p.into_inner());
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|n| names.contains(&n.as_str()));
        pending.extend(
            names
                .iter()
                .filter(|n| !known.contains(**n))
                .map(|n| n.to_string()),
        );
        // A new discovery's error counters start at 0 for every reason.
        for new in names.iter().filter(|n| !known.contains(**n)) {
            for reason in crate::error::PollError::REASONS {
                self.errors.with_label_values(&[new, reason]);
            }
        }
        for gone in known.iter().filter(|n| !names.contains(&n.as_str())) {
            let _ = self.up.remove_label_values(&[gone]);
            let _ = self.last_success.remove_label_values(&[gone]);
            let _ = self.accounts.remove_label_values(&[gone]);
            for reason in crate::error::PollError::REASONS {
                let _ = self.errors.remove_label_values(&[gone, reason]);
            }
        }
        *known = names.iter().map(|n| n.to_string()).collect();
    }
}

#[cfg(target_os = "linux")]
pub(super) fn register_process_collector(registry: &Registry) -> Result<(), prometheus::Error> {
    registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ))
}

#[cfg(not(target_os = "linux"))]
pub(super) fn register_process_collector(_: &Registry) -> Result<(), prometheus::Error> {
    Ok(())
}
