//! The store the collectors' pollers write and every scrape reads, and the
//! `/metrics` exposition built from it.
//!
//! Each collector has its own [`Section`] of the store, typed by what its calls
//! return ([`Output`]); the store knows sections only through what every section
//! can do (keep its keys, say what is pending, write its families), so adding a
//! collector never changes this module. The exporter's own metrics live in a
//! separate `prometheus` registry and are merged at encode time.

mod inventory;
mod openmetrics;
mod section;
mod text;

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use prometheus::{Opts, Registry};
use tokio::time::Instant;

pub use openmetrics::{Format, accepts_gzip};
pub use section::{Gauge, Names, Output, Section};
pub use text::{Family, Series, bool_value};

use crate::target::{Collectors, Key, Target};
use inventory::Inventory;
use section::Exposed;

/// The `reason` label values of `pinpoint_email_exporter_web_auth_failures_total`,
/// each counted from 0: why the HTTP server refuses a request's credentials.
pub const AUTH_FAILURE_REASONS: [&str; 5] =
    ["missing", "malformed", "denied", "locked_out", "throttled"];
/// How long an encoded exposition is served at most.
pub const ENCODE_CACHE_TTL: Duration = Duration::from_secs(1);

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Build information: `--version`, and the labels of
/// `pinpoint_email_exporter_build_info`.
#[derive(Debug, Clone, Default)]
pub struct BuildInfo {
    /// Crate version.
    pub version: String,
    /// Source revision (git commit), or `unknown`.
    pub revision: String,
    /// Git branch built (`HEAD` when detached), or `unknown`.
    pub branch: String,
    /// Build date, UTC, `YYYYMMDD-HH:MM:SS`.
    pub build_date: String,
    /// Version of the rustc that built it.
    pub rust_version: String,
}

impl BuildInfo {
    /// The build information of this binary, as `build.rs` found it: the git
    /// commit and branch it was built from (or `PINPOINT_EMAIL_EXPORTER_REVISION`
    /// and `..._BRANCH` given at build time), the build date (of
    /// `SOURCE_DATE_EPOCH` when given) and the rustc version.
    pub fn current() -> Self {
        BuildInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            revision: env!("PINPOINT_EMAIL_EXPORTER_REVISION").to_string(),
            branch: env!("PINPOINT_EMAIL_EXPORTER_BRANCH").to_string(),
            build_date: env!("PINPOINT_EMAIL_EXPORTER_BUILD_DATE").to_string(),
            rust_version: env!("PINPOINT_EMAIL_EXPORTER_RUSTC_VERSION").to_string(),
        }
    }

    /// What `--version` prints, in the layout of Prometheus projects.
    pub fn version_text(&self) -> String {
        format!(
            "pinpoint-email-exporter, version {} (branch: {}, revision: {})\n  build date:       {}\n  rustc version:    {}\n  platform:         {}/{}\n",
            self.version,
            self.branch,
            self.revision,
            self.build_date,
            self.rust_version,
            std::env::consts::OS,
            std::env::consts::ARCH,
        )
    }
}

/// Where the account ids that STS gives are recorded, for
/// `pinpoint_email_account_info`: a handle on the store's, for a collector.
#[derive(Clone)]
pub struct AccountIds {
    inventory: Arc<Inventory>,
    generation: Arc<AtomicU64>,
}

impl std::fmt::Debug for AccountIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccountIds")
    }
}

impl AccountIds {
    /// Records `id`, the AWS account of the target named `name`.
    pub fn learn(&self, name: &str, id: &str) {
        self.inventory.learn(name, id);
        self.generation.fetch_add(1, Ordering::Release);
    }
}

/// A section as the store holds it: typed for [`Store::section`], and as what
/// every section can do for everything else.
struct Registered {
    typed: Arc<dyn Any + Send + Sync>,
    exposed: Arc<dyn Exposed>,
    /// The collector whose section it is.
    collector: &'static str,
}

/// The keys of `polled` whose target has `collector` on.
fn keys_of(polled: &[(Key, Collectors)], collector: &str) -> Vec<Key> {
    polled
        .iter()
        .filter(|(_, c)| c.enabled(collector))
        .map(|(k, _)| k.clone())
        .collect()
}

/// The state every poller writes and every scrape reads.
pub struct Store {
    /// Every configured (target, region) and its collectors, for sections made
    /// later.
    keys: RwLock<Vec<(Key, Collectors)>>,
    sections: RwLock<Vec<Registered>>,
    stale_after: Duration,
    /// `--metrics.poll-duration-per-target`.
    durations_per_target: bool,
    exporter: Registry,
    reload_ok: prometheus::IntGauge,
    web_reload_ok: prometheus::IntGauge,
    auth_failures: prometheus::IntCounterVec,
    discovery: DiscoveryMetrics,
    shard_index: prometheus::IntGauge,
    shard_count: prometheus::IntGauge,
    targets: prometheus::IntGauge,
    inventory: Arc<Inventory>,
    /// Bumped by every recorded call and change of keys, so a cached exposition
    /// is never older than the newest result.
    generation: Arc<AtomicU64>,
    cache: Mutex<Option<Encoded>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("keys", &self.keys())
            .field("stale_after", &self.stale_after)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// A store for the given (target, region) pairs. With `process_metrics`, the
    /// standard `process_*` metrics of this process are exported too.
    pub fn new(
        keys: Vec<Key>,
        stale_after: Duration,
        build: &BuildInfo,
        process_metrics: bool,
    ) -> Result<Self, prometheus::Error> {
        let exporter = Registry::new();
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
        exporter.register(Box::new(build_info))?;
        let reload_ok = prometheus::IntGauge::new(
            "pinpoint_email_exporter_config_last_reload_successful",
            "Whether the last reload of --config.file (on SIGHUP) succeeded; 1 until the first reload.",
        )?;
        reload_ok.set(1);
        exporter.register(Box::new(reload_ok.clone()))?;
        let web_reload_ok = prometheus::IntGauge::new(
            "pinpoint_email_exporter_web_config_last_reload_successful",
            "Whether the last change of --web.config.file (or a file it names) was applied; 0 while a change is invalid or would loosen TLS, basic auth or client certificate checks, which needs a restart. 1 until the first change.",
        )?;
        web_reload_ok.set(1);
        exporter.register(Box::new(web_reload_ok.clone()))?;
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
        exporter.register(Box::new(auth_failures.clone()))?;
        let discovery = DiscoveryMetrics::new(&exporter)?;
        let shard_index = prometheus::IntGauge::new(
            "pinpoint_email_exporter_shard_index",
            "This exporter's shard (--shard.index), from 0.",
        )?;
        exporter.register(Box::new(shard_index.clone()))?;
        let shard_count = prometheus::IntGauge::new(
            "pinpoint_email_exporter_shards",
            "How many exporters share the targets (--shard.count).",
        )?;
        shard_count.set(1);
        exporter.register(Box::new(shard_count.clone()))?;
        let targets = prometheus::IntGauge::new(
            "pinpoint_email_exporter_targets",
            "Targets this exporter polls: those of the targets file and of its discoveries that hash to its shard.",
        )?;
        exporter.register(Box::new(targets.clone()))?;
        let inventory = Arc::new(Inventory::new(&exporter)?);
        if process_metrics {
            register_process_collector(&exporter)?;
        }
        let store = Store {
            keys: RwLock::new(Vec::new()),
            sections: RwLock::new(Vec::new()),
            stale_after,
            durations_per_target: false,
            exporter,
            reload_ok,
            web_reload_ok,
            auth_failures,
            discovery,
            shard_index,
            shard_count,
            targets,
            inventory,
            generation: Arc::new(AtomicU64::new(0)),
            cache: Mutex::new(None),
        };
        store.set_keys(keys);
        Ok(store)
    }

    /// The store with each collector's call duration histogram per (target,
    /// region) rather than per region (`--metrics.poll-duration-per-target`):
    /// 13 more series per poller. Sections made before keep theirs.
    pub fn with_durations_per_target(mut self, on: bool) -> Self {
        self.durations_per_target = on;
        self
    }

    /// The section of the collector whose answers are `O`, made on first use
    /// with the configured keys and the store's `stale_after`.
    pub fn section<O: Output>(&self) -> Arc<Section<O>> {
        self.section_with(self.stale_after)
    }

    /// [`Store::section`], made (on first use) with its own `stale_after`:
    /// values older than that are left out.
    pub fn section_with<O: Output>(&self, stale_after: Duration) -> Arc<Section<O>> {
        let found = |sections: &[Registered]| {
            sections
                .iter()
                .find_map(|r| Arc::clone(&r.typed).downcast::<Section<O>>().ok())
        };
        if let Some(section) = found(&self.sections.read().unwrap_or_else(|p| p.into_inner())) {
            return section;
        }
        let mut sections = self.sections.write().unwrap_or_else(|p| p.into_inner());
        if let Some(section) = found(&sections) {
            return section;
        }
        let collector = O::NAMES.collector;
        let keys = keys_of(
            &self.keys.read().unwrap_or_else(|p| p.into_inner()),
            collector,
        );
        let section = Arc::new(Section::<O>::new(
            &keys,
            stale_after,
            self.durations_per_target,
            Arc::clone(&self.generation),
        ));
        sections.push(Registered {
            typed: section.clone(),
            exposed: section.clone(),
            collector,
        });
        section
    }

    /// The configured (target, region) pairs, sorted.
    pub fn keys(&self) -> Vec<Key> {
        self.keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Replaces the configured (target, region) pairs, every collector polling
    /// each; see [`Store::set_polled`].
    pub fn set_keys(&self, keys: Vec<Key>) {
        self.set_polled(keys.into_iter().map(|k| (k, Collectors::All)).collect());
    }

    /// Replaces the configured (target, region) pairs and the collectors that
    /// poll each, as after a reload: in each collector's section, the series of
    /// pairs that stay are kept untouched, those of pairs that go are dropped
    /// (their error and duration series too), new pairs start pending with
    /// zeroed error counters.
    pub fn set_polled(&self, polled: Vec<(Key, Collectors)>) {
        let mut polled = polled;
        polled.sort_by(|a, b| a.0.cmp(&b.0));
        polled.dedup_by(|a, b| a.0 == b.0);
        // Under the sections' lock, so a section made meanwhile gets these keys.
        let sections = self.sections.write().unwrap_or_else(|p| p.into_inner());
        for section in sections.iter() {
            section
                .exposed
                .set_keys(&keys_of(&polled, section.collector));
        }
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = polled;
        drop(sections);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Records whether a reload of the targets file succeeded.
    pub fn set_reload_result(&self, ok: bool) {
        self.reload_ok.set(i64::from(ok));
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Records whether a change of the web config file was applied.
    pub fn set_web_reload_result(&self, ok: bool) {
        self.web_reload_ok.set(i64::from(ok));
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Counts a request refused by basic authentication for `reason` (one of
    /// [`AUTH_FAILURE_REASONS`]).
    pub fn count_auth_failure(&self, reason: &'static str) {
        self.auth_failures.with_label_values(&[reason]).inc();
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Records the outcome of a listing of discovery `name` that ended at
    /// `unix_seconds`: how many accounts it found, or why it failed.
    pub fn record_discovery(
        &self,
        name: &str,
        outcome: Result<usize, &crate::error::PollError>,
        unix_seconds: f64,
    ) {
        let d = &self.discovery;
        if outcome.is_err() {
            // A successful listing stops being pending once it is applied.
            self.discovery_applied(name);
        }
        match outcome {
            Ok(accounts) => {
                d.up.with_label_values(&[name]).set(1.0);
                d.last_success.with_label_values(&[name]).set(unix_seconds);
                d.accounts
                    .with_label_values(&[name])
                    .set(i64::try_from(accounts).unwrap_or(i64::MAX));
            }
            Err(err) => {
                d.up.with_label_values(&[name]).set(0.0);
                d.errors.with_label_values(&[name, err.reason()]).inc();
            }
        }
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Drops the series of discoveries other than `names` (after a reload
    /// removed some).
    pub fn keep_discoveries(&self, names: &[&str]) {
        self.discovery.keep(names);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Makes discovery `name` pending again: the exporter is not ready until
    /// its next listing is applied or fails.
    pub fn discovery_pending(&self, name: &str) {
        self.discovery
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string());
    }

    /// Records that the accounts of a listing of discovery `name` are polled
    /// (their keys set): it is no longer pending.
    pub fn discovery_applied(&self, name: &str) {
        self.discovery
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
    }

    /// Discoveries whose first listing (successful or not) has not ended: the
    /// exporter is not ready until they have.
    pub fn pending_discoveries(&self) -> Vec<String> {
        self.discovery
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Records which shard this exporter is and how many targets it polls.
    pub fn set_shard(&self, shard: crate::target::Shard, targets: usize) {
        self.shard_index.set(i64::from(shard.index));
        self.shard_count.set(i64::from(shard.count));
        self.targets.set(i64::try_from(targets).unwrap_or(i64::MAX));
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Records the targets this exporter polls (their account ids) and
    /// whether every discovery has listed its accounts.
    pub fn set_inventory(&self, targets: &[Target], listed: bool) {
        self.inventory.set(targets, listed);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Where a collector records the account id STS gives for a target.
    pub fn account_ids(&self) -> AccountIds {
        AccountIds {
            inventory: Arc::clone(&self.inventory),
            generation: Arc::clone(&self.generation),
        }
    }

    /// Keys some collector has not completed a call for yet (for `/readyz`).
    pub fn pending(&self) -> Vec<Key> {
        let mut pending: Vec<Key> = self.exposed().iter().flat_map(|s| s.pending()).collect();
        pending.sort();
        pending.dedup();
        pending
    }

    fn exposed(&self) -> Vec<Arc<dyn Exposed>> {
        self.sections
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|r| Arc::clone(&r.exposed))
            .collect()
    }

    /// Every metric family as exposition text, sorted by name: the sections'
    /// (values older than `stale_after` left out), written as text directly, and
    /// the exporter's own, encoded by the `prometheus` crate.
    fn families(&self) -> Vec<Family> {
        let now = Instant::now();
        let mut families: Vec<Family> = self
            .exposed()
            .iter()
            .flat_map(|s| s.families(now))
            .collect();
        let encoder = prometheus::TextEncoder::new();
        for mf in self.exporter.gather() {
            // Encoding into a String only fails on invalid metric families, which
            // the code never builds; a missing family beats a panic.
            match encoder.encode_to_string(std::slice::from_ref(&mf)) {
                Ok(text) => families.push(Family {
                    name: mf.name().to_string(),
                    text,
                }),
                Err(err) => {
                    tracing::error!(family = mf.name(), error = %err, "encoding metrics failed")
                }
            }
        }
        families.sort_by(|a, b| a.name.cmp(&b.name));
        families
    }

    /// The text exposition of every metric family, cached: scrapes get the same
    /// bytes until a call result arrives, and even then the exposition is encoded
    /// again only once the cached one is older than ten times what encoding it
    /// cost (at most [`ENCODE_CACHE_TTL`]). With a few pollers that is well under a
    /// millisecond; with a thousand pollers finishing calls all the time, it keeps
    /// encoding to a tenth of the time instead of once per scrape. Without new
    /// results the cache lives for [`ENCODE_CACHE_TTL`], which bounds how old the
    /// `process_*` metrics and the staleness cut-off can be.
    pub fn encode(&self) -> Bytes {
        self.encode_as(Format::Text, false)
    }

    /// The exposition in `format`, gzip-compressed with `gzip`: made from the
    /// cached text exposition on first request and cached with it, so each
    /// format and compression is encoded once per cached exposition, not per
    /// scrape.
    pub fn encode_as(&self, format: Format, gzip: bool) -> Bytes {
        let generation = self.generation.load(Ordering::Acquire);
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(c) = cache.as_mut().filter(|c| {
            let max_age = if c.generation == generation {
                ENCODE_CACHE_TTL
            } else {
                (c.cost * 10).min(ENCODE_CACHE_TTL)
            };
            c.at.elapsed() < max_age
        }) {
            return c.variant(format, gzip);
        }
        let started = std::time::Instant::now();
        let mut out = Vec::with_capacity(cache.as_ref().map_or(8 * 1024, |c| c.body.len() + 1024));
        for family in self.families() {
            out.extend_from_slice(family.text.as_bytes());
        }
        let mut encoded = Encoded {
            generation,
            at: Instant::now(),
            body: Bytes::from(out),
            variants: Default::default(),
            cost: started.elapsed(),
        };
        let body = encoded.variant(format, gzip);
        *cache = Some(encoded);
        body
    }
}

/// The series of the discoveries, labelled by `discovery`.
struct DiscoveryMetrics {
    up: prometheus::GaugeVec,
    last_success: prometheus::GaugeVec,
    accounts: prometheus::IntGaugeVec,
    errors: prometheus::IntCounterVec,
    /// Discoveries with series, for [`DiscoveryMetrics::keep`].
    names: Mutex<std::collections::BTreeSet<String>>,
    /// Discoveries whose first listing has not ended yet.
    pending: Mutex<std::collections::BTreeSet<String>>,
}

impl DiscoveryMetrics {
    fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
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

    fn keep(&self, names: &[&str]) {
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

/// A cached exposition.
struct Encoded {
    generation: u64,
    at: Instant,
    /// The text format, uncompressed.
    body: Bytes,
    /// The other formats and compressions, made from `body` when first asked
    /// for: text gzipped, OpenMetrics, OpenMetrics gzipped.
    variants: [Option<Bytes>; 3],
    /// How long encoding `body` took.
    cost: Duration,
}

impl Encoded {
    fn variant(&mut self, format: Format, gzip: bool) -> Bytes {
        let slot = match (format, gzip) {
            (Format::Text, false) => return self.body.clone(),
            (Format::Text, true) => 0,
            (Format::OpenMetrics, false) => 1,
            (Format::OpenMetrics, true) => 2,
        };
        if let Some(bytes) = &self.variants[slot] {
            return bytes.clone();
        }
        let plain = match format {
            Format::Text => self.body.clone(),
            Format::OpenMetrics => match &self.variants[1] {
                Some(om) => om.clone(),
                None => {
                    // The body is built from UTF-8 strings only.
                    let text = String::from_utf8_lossy(&self.body);
                    let om = Bytes::from(openmetrics::from_text(&text));
                    self.variants[1] = Some(om.clone());
                    om
                }
            },
        };
        if gzip {
            let zipped = Bytes::from(gzip_bytes(&plain));
            self.variants[slot] = Some(zipped.clone());
            zipped
        } else {
            plain
        }
    }
}

/// `data` gzip-compressed at the default level, as client_golang compresses.
fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4 + 64),
        flate2::Compression::default(),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

#[cfg(target_os = "linux")]
fn register_process_collector(registry: &Registry) -> Result<(), prometheus::Error> {
    registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ))
}

#[cfg(not(target_os = "linux"))]
fn register_process_collector(_: &Registry) -> Result<(), prometheus::Error> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::PollError;

    /// A collector answer with one value, to test the store on its own.
    #[derive(Debug, Clone, PartialEq)]
    struct Answer(f64);

    const VALUE: Gauge = Gauge {
        name: "t_value",
        help: "The value.",
    };

    const NAMES: Names = Names {
        collector: "test",
        up: Gauge {
            name: "t_up",
            help: "1 if the last call succeeded.",
        },
        last_success: Gauge {
            name: "t_last_success_timestamp_seconds",
            help: "Last success.",
        },
        calls: ("t_calls_total", "Calls."),
        errors: ("t_errors_total", "Failed calls."),
        durations: ("t_duration_seconds", "Call durations."),
        values: &[VALUE],
        help_note: " At most {stale_after} old.",
        from_config: &[],
    };

    impl Output for Answer {
        const NAMES: &'static Names = &NAMES;
        fn write(&self, series: &mut Series<'_>) {
            series.gauge(VALUE, self.0);
        }
    }

    fn store() -> Store {
        Store::new(
            vec![Key::new("t", "us-east-1")],
            Duration::from_secs(600),
            &BuildInfo {
                version: "v".into(),
                revision: "r".into(),
                ..Default::default()
            },
            false,
        )
        .unwrap()
    }

    fn text(store: &Store) -> String {
        String::from_utf8(store.encode().to_vec()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn failure_keeps_values_until_stale_then_drops_them() {
        let s = store();
        let answers = s.section::<Answer>();
        let key = Key::new("t", "us-east-1");
        answers.record(&key, &Ok(Answer(0.1)), Duration::from_millis(5), 1000.0);
        let t = text(&s);
        assert!(
            t.contains("t_up{account=\"t\",aws_region=\"us-east-1\"} 1\n"),
            "{t}"
        );
        assert!(
            t.contains("t_value{account=\"t\",aws_region=\"us-east-1\"} 0.1\n"),
            "{t}"
        );
        assert!(
            t.contains("# HELP t_value The value. At most 10m old.\n# TYPE t_value gauge\n"),
            "{t}"
        );

        let throttled = Err(PollError::Throttled("x".into()));
        answers.record(&key, &throttled, Duration::from_millis(5), 1060.0);
        // Time stands still here: re-encoding waits for ten times its last cost.
        tokio::time::advance(Duration::from_millis(100)).await;
        let t = text(&s);
        assert!(
            t.contains("t_up{account=\"t\",aws_region=\"us-east-1\"} 0\n"),
            "{t}"
        );
        assert!(
            t.contains("t_value{account=\"t\",aws_region=\"us-east-1\"} 0.1\n"),
            "{t}"
        );
        assert!(
            t.contains(
                "t_last_success_timestamp_seconds{account=\"t\",aws_region=\"us-east-1\"} 1000\n"
            ),
            "{t}"
        );
        assert!(
            t.contains(
                "t_errors_total{account=\"t\",aws_region=\"us-east-1\",reason=\"throttled\"} 1\n"
            ),
            "{t}"
        );

        // 100 ms passed above: this makes the values exactly stale_after old.
        tokio::time::advance(Duration::from_millis(599_900)).await;
        assert!(
            text(&s).contains("t_value{"),
            "exactly stale_after old is still served"
        );
        // One scrape encoded the exposition: for ENCODE_CACHE_TTL the same bytes
        // are served, then the stale values are gone.
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(text(&s).contains("t_value{"), "cached");
        tokio::time::advance(ENCODE_CACHE_TTL).await;
        let t = text(&s);
        assert!(!t.contains("t_value"), "{t}");
        assert!(
            t.contains("t_up{account=\"t\",aws_region=\"us-east-1\"} 0\n"),
            "{t}"
        );
        assert!(
            t.contains(
                "t_last_success_timestamp_seconds{account=\"t\",aws_region=\"us-east-1\"} 1000\n"
            ),
            "{t}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_result_is_served_once_the_cache_is_ten_encodes_old() {
        let s = store();
        let answers = s.section::<Answer>();
        let key = Key::new("t", "us-east-1");
        answers.record(&key, &Ok(Answer(1.0)), Duration::ZERO, 1.0);
        assert!(text(&s).contains("t_value{account=\"t\",aws_region=\"us-east-1\"} 1\n"));
        answers.record(&key, &Ok(Answer(2.0)), Duration::ZERO, 2.0);
        // Time stands still here: re-encoding waits for ten times its last cost.
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(text(&s).contains("t_value{account=\"t\",aws_region=\"us-east-1\"} 2\n"));
    }

    #[test]
    fn a_reload_that_turns_a_collector_off_or_on_touches_only_its_section() {
        use crate::collector::account::Account;
        use crate::collector::reputation::Reputation;
        use crate::target::Collectors;
        let s = store();
        let both = Collectors::Only(vec!["account", "reputation"]);
        let account = || Collectors::Only(vec!["account"]);
        let (t, u) = (Key::new("t", "us-east-1"), Key::new("u", "eu-west-1"));
        s.set_polled(vec![(t.clone(), both.clone()), (u.clone(), account())]);
        let accounts = s.section::<Account>();
        let reputation = s.section::<Reputation>();
        for key in [&t, &u] {
            accounts.record(key, &Ok(Account::default()), Duration::ZERO, 1.0);
        }
        assert_eq!(s.pending(), vec![t.clone()], "t's reputation, not u's");
        reputation.record(&t, &Ok(Reputation::default()), Duration::ZERO, 1.0);
        assert!(s.pending().is_empty());
        let before = text(&s);
        assert!(before.contains("pinpoint_email_reputation_up{account=\"t\""));
        assert!(!before.contains("pinpoint_email_reputation_poll_errors_total{account=\"u\""));
        // Reload: t's reputation off, u's on.
        s.set_polled(vec![(t.clone(), account()), (u.clone(), both)]);
        assert!(reputation.snapshot(&t).is_none(), "t's reputation dropped");
        assert!(accounts.snapshot(&t).is_some(), "t's account kept");
        assert!(accounts.snapshot(&u).is_some(), "u's account kept");
        assert_eq!(s.pending(), vec![u.clone()], "u's reputation pending");
    }

    #[test]
    fn a_discovery_is_pending_until_its_first_listing_fails_or_is_applied() {
        let s = store();
        s.keep_discoveries(&["org"]);
        assert_eq!(s.pending_discoveries(), ["org"]);
        s.record_discovery("org", Ok(3), 1.0);
        assert_eq!(s.pending_discoveries(), ["org"], "listed, not yet applied");
        s.discovery_applied("org");
        assert!(s.pending_discoveries().is_empty());
        s.keep_discoveries(&["org", "other"]);
        assert_eq!(s.pending_discoveries(), ["other"], "only the new one");
        s.record_discovery("other", Err(&PollError::Auth("denied".into())), 2.0);
        assert!(s.pending_discoveries().is_empty(), "a failure ends waiting");
        s.keep_discoveries(&["org"]);
        assert!(
            !text(&s).contains("discovery=\"other\""),
            "a removed discovery's series go"
        );
    }

    #[test]
    fn pending_until_first_call_and_keys_follow_reloads() {
        let s = store();
        let answers = s.section::<Answer>();
        assert!(
            Arc::ptr_eq(&answers, &s.section::<Answer>()),
            "one section per collector"
        );
        assert_eq!(s.pending(), vec![Key::new("t", "us-east-1")]);
        assert!(!text(&s).contains("t_up{"));
        answers.record(
            &Key::new("t", "us-east-1"),
            &Ok(Answer(1.0)),
            Duration::ZERO,
            1.0,
        );
        assert!(s.pending().is_empty());
        s.set_keys(vec![Key::new("t", "us-east-1"), Key::new("u", "eu-west-1")]);
        assert_eq!(s.pending(), vec![Key::new("u", "eu-west-1")]);
        assert!(
            answers.snapshot(&Key::new("t", "us-east-1")).is_some(),
            "kept"
        );
        s.set_keys(vec![Key::new("u", "eu-west-1")]);
        assert!(
            answers.snapshot(&Key::new("t", "us-east-1")).is_none(),
            "dropped"
        );
    }
}
