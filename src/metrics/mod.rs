//! The store the collectors' pollers write and every scrape reads, and the
//! `/metrics` exposition built from it.
//!
//! Each collector has its own [`Section`] of the store, typed by what its calls
//! return ([`Output`]); the store knows sections only through what every section
//! can do (keep its keys, say what is pending, write its families), so adding a
//! collector never changes this module. The exporter's own metrics live in a
//! separate `prometheus` registry and are merged at encode time.

mod activity;
mod build_info;
mod encoded;
mod inventory;
mod openmetrics;
mod own;
mod section;
mod text;

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::time::Instant;

pub use activity::{Activity, Evidence};
pub use build_info::BuildInfo;
pub use inventory::AccountIds;
pub use openmetrics::{Format, accepts_gzip};
pub use section::{Gauge, Names, Output, Section};
pub use text::{Family, Series, bool_value};

use crate::target::{Collectors, Key, Target};
use encoded::Encoded;
use own::Own;
// The auth refusal labels, for the test that each refusal has one.
#[cfg(test)]
pub(crate) use own::AUTH_FAILURE_REASONS;
use section::Exposed;

/// How long an encoded exposition is served at most.
pub const ENCODE_CACHE_TTL: Duration = Duration::from_secs(1);

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
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
    /// The exporter's own metrics.
    own: Own,
    /// Bumped by every recorded call and change of keys, so a cached exposition
    /// is never older than the newest result.
    generation: Arc<AtomicU64>,
    cache: Mutex<Option<Encoded>>,
    /// Which regions send, as the pollers found it.
    activity: Arc<Activity>,
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
        let own = Own::new(build, process_metrics)?;
        let store = Store {
            keys: RwLock::new(Vec::new()),
            sections: RwLock::new(Vec::new()),
            stale_after,
            durations_per_target: false,
            own,
            generation: Arc::new(AtomicU64::new(0)),
            cache: Mutex::new(None),
            activity: Arc::default(),
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
        let keys: Vec<Key> = polled.iter().map(|(k, _)| k.clone()).collect();
        self.activity.retain(&keys);
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = polled;
        drop(sections);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Records whether a reload of the targets file succeeded.
    pub fn set_reload_result(&self, ok: bool) {
        self.own.reload_ok.set(i64::from(ok));
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Records whether a change of the web config file was applied.
    pub fn set_web_reload_result(&self, ok: bool) {
        self.own.web_reload_ok.set(i64::from(ok));
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Counts a request refused by basic authentication for `reason` (one of
    /// [`AUTH_FAILURE_REASONS`]).
    pub fn count_auth_failure(&self, reason: &'static str) {
        self.own.auth_failures.with_label_values(&[reason]).inc();
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
        let d = &self.own.discovery;
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
        self.own.discovery.keep(names);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Makes discovery `name` pending again: the exporter is not ready until
    /// its next listing is applied or fails.
    pub fn discovery_pending(&self, name: &str) {
        self.own
            .discovery
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string());
    }

    /// Records that the accounts of a listing of discovery `name` are polled
    /// (their keys set): it is no longer pending.
    pub fn discovery_applied(&self, name: &str) {
        self.own
            .discovery
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
    }

    /// Discoveries whose first listing (successful or not) has not ended: the
    /// exporter is not ready until they have.
    pub fn pending_discoveries(&self) -> Vec<String> {
        self.own
            .discovery
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Records which shard this exporter is and how many targets it polls.
    pub fn set_shard(&self, shard: crate::target::Shard, targets: usize) {
        self.own.shard_index.set(i64::from(shard.index));
        self.own.shard_count.set(i64::from(shard.count));
        self.own
            .targets
            .set(i64::try_from(targets).unwrap_or(i64::MAX));
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Records the targets this exporter polls (their account ids) and
    /// whether every discovery has listed its accounts.
    pub fn set_inventory(&self, targets: &[Target], listed: bool) {
        self.own.inventory.set(targets, listed);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Where a collector records the account id STS gives for a target.
    pub fn account_ids(&self) -> AccountIds {
        AccountIds {
            inventory: Arc::clone(&self.own.inventory),
            generation: Arc::clone(&self.generation),
        }
    }

    /// Which regions send, as the pollers found it.
    pub fn activity(&self) -> Arc<Activity> {
        Arc::clone(&self.activity)
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
        for mf in self.own.registry.gather() {
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

#[cfg(test)]
mod tests;
