//! The snapshot store the pollers write, and the `/metrics` exposition that reads it.
//!
//! Each (target, region) has one immutable [`RegionSnapshot`] behind an `Arc`; a
//! poller replaces it whole after every call, so a scrape never mixes two polls.
//! The exporter's own metrics (errors, call durations, build info, process) live in
//! a separate [`Registry`] and are merged with the account metrics at encode time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use prometheus::{Opts, Registry};
use tokio::time::Instant;

use crate::aws::Account;
use crate::error::PollError;
use crate::target::Key;

/// Content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Enforcement statuses that are always exported, so alerts and dashboards can rely
/// on their series existing.
pub const KNOWN_STATUSES: [&str; 3] = ["HEALTHY", "PROBATION", "SHUTDOWN"];

/// Review statuses of a production access request (SES v2) that are always exported.
pub const KNOWN_REVIEW_STATUSES: [&str; 4] = ["PENDING", "FAILED", "GRANTED", "DENIED"];

/// Suppression list reasons (SES v2) that are always exported.
pub const KNOWN_SUPPRESSION_REASONS: [&str; 2] = ["BOUNCE", "COMPLAINT"];

/// Buckets of `pinpoint_email_poll_duration_seconds`, up to the largest sensible
/// `--poll.timeout`.
pub const DURATION_BUCKETS: [f64; 10] = [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The last successful answer of one (target, region).
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The account values.
    pub account: Account,
    /// When the answer arrived, on the monotonic clock (for staleness).
    pub at: Instant,
    /// When the answer arrived, as Unix seconds (for the exported timestamp).
    pub unix_seconds: f64,
}

/// Everything exported for one (target, region), replaced whole after every poll.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionSnapshot {
    /// Whether the last poll succeeded.
    pub up: bool,
    /// The last successful answer, kept while polls fail until it is stale.
    pub last_success: Option<Observed>,
    /// Why the last poll failed, when it did.
    pub last_error: Option<PollError>,
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// What the store keeps of one (target, region).
#[derive(Debug, Default)]
struct Slot {
    /// The last poll's outcome; `None` until the first poll.
    snapshot: Option<Arc<RegionSnapshot>>,
    /// Failed calls by reason, in the order of [`PollError::REASONS`].
    errors: [u64; PollError::REASONS.len()],
    /// Call durations: cumulative counts per bucket of [`DURATION_BUCKETS`].
    buckets: [u64; DURATION_BUCKETS.len()],
    /// Calls made.
    calls: u64,
    /// Seconds spent in calls.
    seconds: f64,
}

/// The state every poller writes and every scrape reads.
pub struct Store {
    /// Every configured (target, region).
    slots: RwLock<BTreeMap<Key, Slot>>,
    stale_after: Duration,
    exporter: Registry,
    reload_ok: prometheus::IntGauge,
    /// Bumped by every recorded poll, so a cached exposition is never older than
    /// the newest poll result.
    generation: AtomicU64,
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

/// Build information exported as `pinpoint_email_exporter_build_info`.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    /// Crate version.
    pub version: String,
    /// Source revision (git commit), or `unknown`.
    pub revision: String,
}

impl BuildInfo {
    /// The build information of this binary: `revision` is the git commit it was
    /// built from (`build.rs`), or `PINPOINT_EMAIL_EXPORTER_REVISION` when set at
    /// build time.
    pub fn current() -> Self {
        BuildInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            revision: env!("PINPOINT_EMAIL_EXPORTER_REVISION").to_string(),
        }
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
                "A metric with a constant value 1, labelled by the exporter's version and source revision.",
            ),
            &["version", "revision"],
        )?;
        build_info
            .with_label_values(&[build.version.as_str(), build.revision.as_str()])
            .set(1);
        exporter.register(Box::new(build_info))?;
        let reload_ok = prometheus::IntGauge::new(
            "pinpoint_email_exporter_config_last_reload_successful",
            "Whether the last reload of --config.file (on SIGHUP) succeeded; 1 until the first reload.",
        )?;
        reload_ok.set(1);
        exporter.register(Box::new(reload_ok.clone()))?;
        if process_metrics {
            register_process_collector(&exporter)?;
        }
        let store = Store {
            slots: RwLock::new(BTreeMap::new()),
            stale_after,
            exporter,
            reload_ok,
            generation: AtomicU64::new(0),
            cache: Mutex::new(None),
        };
        store.set_keys(keys);
        Ok(store)
    }

    /// The configured (target, region) pairs, sorted.
    pub fn keys(&self) -> Vec<Key> {
        self.read_map().keys().cloned().collect()
    }

    /// Replaces the configured (target, region) pairs, as after a reload: the
    /// series of pairs that stay are kept untouched, those of pairs that go are
    /// dropped (their poll error and duration series too), new pairs start
    /// pending with zeroed error counters.
    pub fn set_keys(&self, keys: Vec<Key>) {
        let mut map = self.write_map();
        let wanted: std::collections::BTreeSet<Key> = keys.into_iter().collect();
        map.retain(|k, _| wanted.contains(k));
        for key in wanted {
            // New pairs start with every error counter at zero, so rate() and
            // increase() work from the first failure on.
            map.entry(key).or_default();
        }
        drop(map);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Records whether a reload of the targets file succeeded.
    pub fn set_reload_result(&self, ok: bool) {
        self.reload_ok.set(i64::from(ok));
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Records the outcome of one call, replacing the snapshot of `key` whole.
    /// `unix_seconds` is the wall-clock time of the answer. Outcomes for keys no
    /// longer configured (a poller stopped by a reload mid-call) are dropped.
    pub fn record(
        &self,
        key: &Key,
        outcome: &Result<Account, PollError>,
        took: Duration,
        unix_seconds: f64,
    ) {
        let mut map = self.write_map();
        let Some(slot) = map.get_mut(key) else {
            return;
        };
        let seconds = took.as_secs_f64();
        slot.calls += 1;
        slot.seconds += seconds;
        for (count, bound) in slot.buckets.iter_mut().zip(DURATION_BUCKETS) {
            if seconds <= bound {
                *count += 1;
            }
        }
        let previous = slot.snapshot.take();
        let next = match outcome {
            Ok(account) => RegionSnapshot {
                up: true,
                last_success: Some(Observed {
                    account: account.clone(),
                    at: Instant::now(),
                    unix_seconds,
                }),
                last_error: None,
            },
            Err(err) => {
                if let Some(i) = PollError::REASONS.iter().position(|r| *r == err.reason()) {
                    slot.errors[i] += 1;
                }
                RegionSnapshot {
                    up: false,
                    last_success: previous.and_then(|p| p.last_success.clone()),
                    last_error: Some(err.clone()),
                }
            }
        };
        slot.snapshot = Some(Arc::new(next));
        drop(map);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The current snapshot of `key`, if it has been polled.
    pub fn snapshot(&self, key: &Key) -> Option<Arc<RegionSnapshot>> {
        self.read_map().get(key)?.snapshot.clone()
    }

    /// Keys that have not completed a poll yet (for `/readyz`).
    pub fn pending(&self) -> Vec<Key> {
        self.read_map()
            .iter()
            .filter(|(_, slot)| slot.snapshot.is_none())
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn read_map(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<Key, Slot>> {
        // A writer never panics while holding the lock, but if one did the data
        // is still whole snapshots: keep serving them.
        self.slots
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_map(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<Key, Slot>> {
        self.slots
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every metric family as exposition text, sorted by name: the account
    /// metrics of the current snapshots (values older than `stale_after` left
    /// out), written as text directly, and the exporter's own, encoded by the
    /// `prometheus` crate.
    fn families(&self) -> Vec<Family> {
        let (snapshots, mut families) = {
            let map = self.read_map();
            let snapshots: Vec<(Key, Arc<RegionSnapshot>)> = map
                .iter()
                .filter_map(|(k, slot)| Some((k.clone(), Arc::clone(slot.snapshot.as_ref()?))))
                .collect();
            (snapshots, poll_families(&map))
        };
        families.extend(account_families(
            &snapshots,
            Instant::now(),
            self.stale_after,
        ));
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
    /// bytes until a poll result arrives, and even then the exposition is encoded
    /// again only once the cached one is older than ten times what encoding it
    /// cost (at most [`ENCODE_CACHE_TTL`]). With a few pollers that is well under a
    /// millisecond; with a thousand pollers finishing polls all the time, it keeps
    /// encoding to a tenth of the time instead of once per scrape. Without new
    /// results the cache lives for [`ENCODE_CACHE_TTL`], which bounds how old the
    /// `process_*` metrics and the staleness cut-off can be.
    pub fn encode(&self) -> Bytes {
        let generation = self.generation.load(Ordering::Acquire);
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(c) = cache.as_ref().filter(|c| {
            let max_age = if c.generation == generation {
                ENCODE_CACHE_TTL
            } else {
                (c.cost * 10).min(ENCODE_CACHE_TTL)
            };
            c.at.elapsed() < max_age
        }) {
            return c.body.clone();
        }
        let started = std::time::Instant::now();
        let mut out = Vec::with_capacity(cache.as_ref().map_or(8 * 1024, |c| c.body.len() + 1024));
        for family in self.families() {
            out.extend_from_slice(family.text.as_bytes());
        }
        let body = Bytes::from(out);
        *cache = Some(Encoded {
            generation,
            at: Instant::now(),
            body: body.clone(),
            cost: started.elapsed(),
        });
        body
    }
}

/// How long an encoded exposition is served at most.
pub const ENCODE_CACHE_TTL: Duration = Duration::from_secs(1);

/// A cached exposition.
struct Encoded {
    generation: u64,
    at: Instant,
    body: Bytes,
    /// How long encoding it took.
    cost: Duration,
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

/// Name, help and type of every account metric, in exposition order.
pub const ACCOUNT_METRICS: [(&str, &str); 14] = [
    (
        "pinpoint_email_api_info",
        "The API that answered the last successful GetAccount call (label api: pinpoint-email or sesv2); always 1.",
    ),
    (
        "pinpoint_email_dedicated_ip_auto_warmup_enabled",
        "1 if automatic warm-up of dedicated IP addresses is enabled (DedicatedIpAutoWarmupEnabled).",
    ),
    (
        "pinpoint_email_enforcement_status",
        "Reputation enforcement status of the account (EnforcementStatus): 1 for the current status, 0 for the others.",
    ),
    (
        "pinpoint_email_last_success_timestamp_seconds",
        "Unix time of the last successful GetAccount call.",
    ),
    (
        "pinpoint_email_max_24_hour_send",
        "Maximum number of emails the account may send in 24 hours (SendQuota.Max24HourSend); -1 means unlimited.",
    ),
    (
        "pinpoint_email_max_send_rate",
        "Maximum number of emails the account may send per second (SendQuota.MaxSendRate).",
    ),
    (
        "pinpoint_email_production_access_review_status",
        "SES v2 only: status of the account's production access request (Details.ReviewDetails.Status): 1 for the current status, 0 for the others; absent when no request was made.",
    ),
    (
        "pinpoint_email_production_access_enabled",
        "1 if the account has production access, 0 if it is in the sandbox (ProductionAccessEnabled).",
    ),
    (
        "pinpoint_email_send_quota_usage_ratio",
        "Emails sent in the last 24 hours divided by the 24-hour quota; absent when the quota is unlimited or 0.",
    ),
    (
        "pinpoint_email_sending_enabled",
        "1 if email sending is enabled for the account (SendingEnabled).",
    ),
    (
        "pinpoint_email_sent_last_24_hours",
        "Number of emails sent in the last 24 hours (SendQuota.SentLast24Hours).",
    ),
    (
        "pinpoint_email_suppression_reason_enabled",
        "SES v2 only: 1 if the account-level suppression list adds addresses for this reason (SuppressionAttributes.SuppressedReasons), else 0.",
    ),
    (
        "pinpoint_email_up",
        "1 if the last GetAccount call succeeded, 0 if it failed.",
    ),
    (
        "pinpoint_email_vdm_enabled",
        "SES v2 only: 1 if Virtual Deliverability Manager is enabled for the account (VdmAttributes.VdmEnabled).",
    ),
];

/// Added to every account metric's HELP: scrapes read the cache, they never call AWS.
const CACHED_NOTE: &str =
    " Polled in the background; the value may be up to one --poll.interval old.";

/// The poll error counters and call duration histograms, as the `prometheus`
/// crate would encode them: series ordered by their label values in label name
/// order (`aws_region`, then `reason`, then `target`).
fn poll_families(map: &BTreeMap<Key, Slot>) -> Vec<Family> {
    let mut keys: Vec<(&Key, &Slot)> = map.iter().collect();
    keys.sort_by(|a, b| (&a.0.region, &a.0.target).cmp(&(&b.0.region, &b.0.target)));

    let name = "pinpoint_email_poll_errors_total";
    let mut errors = format!(
        "# HELP {name} GetAccount calls that failed, by reason (throttled, timeout, network, auth, bad_request, server, invalid_response, other).\n# TYPE {name} counter\n"
    );
    let mut rows: Vec<(&str, &str, &str, u64)> =
        Vec::with_capacity(keys.len() * PollError::REASONS.len());
    for (key, slot) in &keys {
        for (reason, n) in PollError::REASONS.iter().zip(slot.errors) {
            rows.push((&key.region, reason, &key.target, n));
        }
    }
    rows.sort_unstable_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
    for (region, reason, target, count) in rows {
        write_sample(
            &mut errors,
            name,
            &[
                ("aws_region", region),
                ("reason", reason),
                ("target", target),
            ],
            count as f64,
        );
    }

    let name = "pinpoint_email_poll_duration_seconds";
    let mut durations = format!(
        "# HELP {name} Duration of GetAccount calls made by the background pollers, successful or not.\n# TYPE {name} histogram\n"
    );
    // Names and `le` values are the same for every key: format them once.
    let (bucket, sum, count) = (
        format!("{name}_bucket"),
        format!("{name}_sum"),
        format!("{name}_count"),
    );
    let bounds: Vec<String> = DURATION_BUCKETS.iter().map(f64::to_string).collect();
    for (key, slot) in &keys {
        let [region, target] = [
            ("aws_region", key.region.as_str()),
            ("target", key.target.as_str()),
        ];
        for (n, le) in slot.buckets.iter().zip(&bounds) {
            write_sample(
                &mut durations,
                &bucket,
                &[region, target, ("le", le)],
                *n as f64,
            );
        }
        write_sample(
            &mut durations,
            &bucket,
            &[region, target, ("le", "+Inf")],
            slot.calls as f64,
        );
        write_sample(&mut durations, &sum, &[region, target], slot.seconds);
        write_sample(&mut durations, &count, &[region, target], slot.calls as f64);
    }
    vec![
        Family {
            name: "pinpoint_email_poll_errors_total".into(),
            text: errors,
        },
        Family {
            name: name.into(),
            text: durations,
        },
    ]
}

/// One metric family in the text format: `# HELP`, `# TYPE` and its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The metric name.
    pub name: String,
    /// The family's exposition text, each line ending in a newline.
    pub text: String,
}

/// Escapes a label value (`quote`) or HELP text as the text format requires:
/// backslash, newline and, in label values, the double quote.
fn escape(value: &str, quote: bool) -> std::borrow::Cow<'_, str> {
    let needs_escaping = value.contains(['\\', '\n']) || (quote && value.contains('"'));
    if !needs_escaping {
        return value.into();
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.into()
}

/// Appends one sample line: `name{labels} value`, labels in the order given.
fn write_sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    let mut separator = '{';
    for (label, value) in labels {
        out.push(separator);
        out.push_str(label);
        out.push_str("=\"");
        out.push_str(&escape(value, true));
        out.push('"');
        separator = ',';
    }
    if !labels.is_empty() {
        out.push('}');
    }
    // `Display` of f64, as the `prometheus` crate's encoder writes values.
    let _ = write!(out, " {value}");
    out.push('\n');
}

fn bool_value(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// Pushes a state set: one series per value of `label_name`, 1 for the current
/// ones and 0 for the others; the `known` values are always present, any other
/// value in `current` gets its own series.
fn state_set<'a>(
    push: &mut impl FnMut(&'static str, Option<(&'static str, &str)>, f64),
    name: &'static str,
    label_name: &'static str,
    known: &[&'a str],
    is_on: impl Fn(&str) -> bool,
    current: impl Iterator<Item = &'a str>,
) {
    let mut values: Vec<&str> = known.to_vec();
    for value in current {
        if !values.contains(&value) {
            values.push(value);
        }
    }
    for value in values {
        push(name, Some((label_name, value)), bool_value(is_on(value)));
    }
}

/// Builds the account metric families from snapshots. Account values whose last
/// success is older than `stale_after` at `now` are left out; `up` and the last
/// success timestamp always stay.
pub fn account_families(
    snapshots: &[(Key, Arc<RegionSnapshot>)],
    now: Instant,
    stale_after: Duration,
) -> Vec<Family> {
    let mut series: BTreeMap<&'static str, String> = BTreeMap::new();
    for (key, snap) in snapshots {
        let mut push = |name: &'static str, extra: Option<(&'static str, &str)>, value: f64| {
            let mut labels = [
                ("aws_region", key.region.as_str()),
                ("target", key.target.as_str()),
                ("", ""),
            ];
            let n = match extra {
                Some(pair) => {
                    labels[2] = pair;
                    labels.sort_by(|a, b| a.0.cmp(b.0));
                    3
                }
                None => 2,
            };
            write_sample(series.entry(name).or_default(), name, &labels[..n], value);
        };
        push("pinpoint_email_up", None, bool_value(snap.up));
        let Some(obs) = &snap.last_success else {
            continue;
        };
        push(
            "pinpoint_email_last_success_timestamp_seconds",
            None,
            obs.unix_seconds,
        );
        push(
            "pinpoint_email_api_info",
            Some(("api", obs.account.api.as_str())),
            1.0,
        );
        if now.saturating_duration_since(obs.at) > stale_after {
            continue;
        }
        let a = &obs.account;
        push("pinpoint_email_max_24_hour_send", None, a.max_24_hour_send);
        push("pinpoint_email_max_send_rate", None, a.max_send_rate);
        push(
            "pinpoint_email_sent_last_24_hours",
            None,
            a.sent_last_24_hours,
        );
        if a.max_24_hour_send > 0.0 {
            push(
                "pinpoint_email_send_quota_usage_ratio",
                None,
                a.sent_last_24_hours / a.max_24_hour_send,
            );
        }
        push(
            "pinpoint_email_sending_enabled",
            None,
            bool_value(a.sending_enabled),
        );
        push(
            "pinpoint_email_production_access_enabled",
            None,
            bool_value(a.production_access_enabled),
        );
        push(
            "pinpoint_email_dedicated_ip_auto_warmup_enabled",
            None,
            bool_value(a.dedicated_ip_auto_warmup_enabled),
        );
        let status = a.enforcement_status.as_deref();
        state_set(
            &mut push,
            "pinpoint_email_enforcement_status",
            "status",
            &KNOWN_STATUSES,
            |s| status == Some(s),
            status.into_iter(),
        );
        if let Some(vdm) = a.vdm_enabled {
            push("pinpoint_email_vdm_enabled", None, bool_value(vdm));
        }
        if let Some(review) = a.review_status.as_deref() {
            state_set(
                &mut push,
                "pinpoint_email_production_access_review_status",
                "status",
                &KNOWN_REVIEW_STATUSES,
                |s| s == review,
                std::iter::once(review),
            );
        }
        if let Some(reasons) = &a.suppressed_reasons {
            state_set(
                &mut push,
                "pinpoint_email_suppression_reason_enabled",
                "reason",
                &KNOWN_SUPPRESSION_REASONS,
                |r| reasons.iter().any(|x| x == r),
                reasons.iter().map(String::as_str),
            );
        }
    }

    ACCOUNT_METRICS
        .iter()
        .filter_map(|(name, help)| {
            let samples = series.remove(name)?;
            let help = format!("{help}{CACHED_NOTE}");
            let text = format!(
                "# HELP {name} {}\n# TYPE {name} gauge\n{samples}",
                escape(&help, false)
            );
            Some(Family {
                name: name.to_string(),
                text,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(status: &str, sent: f64, max: f64) -> Account {
        Account {
            max_24_hour_send: max,
            max_send_rate: 14.0,
            sent_last_24_hours: sent,
            sending_enabled: true,
            production_access_enabled: true,
            dedicated_ip_auto_warmup_enabled: false,
            enforcement_status: Some(status.to_string()),
            api: crate::target::Api::PinpointEmail,
            vdm_enabled: None,
            review_status: None,
            suppressed_reasons: None,
        }
    }

    fn store() -> Store {
        Store::new(
            vec![Key::new("t", "us-east-1")],
            Duration::from_secs(600),
            &BuildInfo {
                version: "v".into(),
                revision: "r".into(),
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
        let key = Key::new("t", "us-east-1");
        s.record(
            &key,
            &Ok(account("HEALTHY", 10.0, 100.0)),
            Duration::from_millis(5),
            1000.0,
        );
        let t = text(&s);
        assert!(
            t.contains("pinpoint_email_up{aws_region=\"us-east-1\",target=\"t\"} 1\n"),
            "{t}"
        );
        assert!(
            t.contains(
                "pinpoint_email_send_quota_usage_ratio{aws_region=\"us-east-1\",target=\"t\"} 0.1\n"
            ),
            "{t}"
        );

        s.record(
            &key,
            &Err(PollError::Throttled("x".into())),
            Duration::from_millis(5),
            1060.0,
        );
        // Time stands still here: re-encoding waits for ten times its last cost.
        tokio::time::advance(Duration::from_millis(100)).await;
        let t = text(&s);
        assert!(
            t.contains("pinpoint_email_up{aws_region=\"us-east-1\",target=\"t\"} 0\n"),
            "{t}"
        );
        assert!(
            t.contains(
                "pinpoint_email_sent_last_24_hours{aws_region=\"us-east-1\",target=\"t\"} 10\n"
            ),
            "{t}"
        );
        assert!(t.contains("pinpoint_email_last_success_timestamp_seconds{aws_region=\"us-east-1\",target=\"t\"} 1000\n"), "{t}");
        assert!(t.contains("pinpoint_email_poll_errors_total{aws_region=\"us-east-1\",reason=\"throttled\",target=\"t\"} 1\n"), "{t}");

        // 100 ms passed above: this makes the values exactly stale_after old.
        tokio::time::advance(Duration::from_millis(599_900)).await;
        assert!(
            text(&s).contains("pinpoint_email_sent_last_24_hours{"),
            "exactly stale_after old is still served"
        );
        // One scrape encoded the exposition: for ENCODE_CACHE_TTL the same bytes
        // are served, then the stale values are gone.
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(
            text(&s).contains("pinpoint_email_sent_last_24_hours{"),
            "cached"
        );
        tokio::time::advance(ENCODE_CACHE_TTL).await;
        let t = text(&s);
        assert!(!t.contains("pinpoint_email_sent_last_24_hours"), "{t}");
        assert!(!t.contains("pinpoint_email_enforcement_status"), "{t}");
        assert!(
            t.contains("pinpoint_email_up{aws_region=\"us-east-1\",target=\"t\"} 0\n"),
            "{t}"
        );
        assert!(t.contains("pinpoint_email_last_success_timestamp_seconds{aws_region=\"us-east-1\",target=\"t\"} 1000\n"), "{t}");
    }

    #[tokio::test(start_paused = true)]
    async fn values_older_than_stale_after_are_left_out_to_the_millisecond() {
        let obs = Observed {
            account: account("HEALTHY", 1.0, 10.0),
            at: Instant::now(),
            unix_seconds: 5.0,
        };
        let snap = Arc::new(RegionSnapshot {
            up: false,
            last_success: Some(obs),
            last_error: None,
        });
        let snaps = vec![(Key::new("t", "us-east-1"), snap)];
        let stale = Duration::from_secs(60);
        let names = |now: Instant| -> Vec<String> {
            account_families(&snaps, now, stale)
                .into_iter()
                .map(|f| f.name)
                .collect()
        };
        let at_limit = names(Instant::now() + stale);
        assert!(at_limit.contains(&"pinpoint_email_sent_last_24_hours".to_string()));
        let past = names(Instant::now() + stale + Duration::from_millis(1));
        assert_eq!(
            past,
            [
                "pinpoint_email_api_info",
                "pinpoint_email_last_success_timestamp_seconds",
                "pinpoint_email_up"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_poll_result_is_served_once_the_cache_is_ten_encodes_old() {
        let s = store();
        let key = Key::new("t", "us-east-1");
        s.record(
            &key,
            &Ok(account("HEALTHY", 10.0, 100.0)),
            Duration::ZERO,
            1.0,
        );
        assert!(text(&s).contains("status=\"HEALTHY\",target=\"t\"} 1\n"));
        s.record(
            &key,
            &Ok(account("SHUTDOWN", 10.0, 100.0)),
            Duration::ZERO,
            2.0,
        );
        // Time stands still here: re-encoding waits for ten times its last cost.
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(text(&s).contains("status=\"SHUTDOWN\",target=\"t\"} 1\n"));
    }

    #[tokio::test]
    async fn unknown_status_gets_its_own_series_and_known_ones_stay() {
        let s = store();
        let key = Key::new("t", "us-east-1");
        s.record(
            &key,
            &Ok(account("UNDER_REVIEW", 0.0, 200.0)),
            Duration::ZERO,
            1.0,
        );
        let t = text(&s);
        for (status, v) in [
            ("HEALTHY", 0),
            ("PROBATION", 0),
            ("SHUTDOWN", 0),
            ("UNDER_REVIEW", 1),
        ] {
            let line = format!(
                "pinpoint_email_enforcement_status{{aws_region=\"us-east-1\",status=\"{status}\",target=\"t\"}} {v}\n"
            );
            assert!(t.contains(&line), "missing {line} in {t}");
        }
    }

    #[tokio::test]
    async fn usage_ratio_absent_for_unlimited_and_zero_quota() {
        for max in [-1.0, 0.0] {
            let s = store();
            s.record(
                &Key::new("t", "us-east-1"),
                &Ok(account("HEALTHY", 5.0, max)),
                Duration::ZERO,
                1.0,
            );
            let t = text(&s);
            assert!(
                !t.contains("pinpoint_email_send_quota_usage_ratio{"),
                "max {max}: {t}"
            );
            assert!(t.contains(&format!("pinpoint_email_max_24_hour_send{{aws_region=\"us-east-1\",target=\"t\"}} {max}\n")), "{t}");
        }
    }

    #[test]
    fn label_values_and_help_are_escaped_as_the_text_format_requires() {
        assert_eq!(escape("plain", true), "plain");
        assert_eq!(escape("a\"b\\c\nd", true), "a\\\"b\\\\c\\nd");
        assert_eq!(escape("a\"b\\c\nd", false), "a\"b\\\\c\\nd");
        let mut out = String::new();
        write_sample(&mut out, "m", &[("status", "x\"y")], 0.5);
        write_sample(&mut out, "m", &[], 1e21);
        assert_eq!(out, "m{status=\"x\\\"y\"} 0.5\nm 1000000000000000000000\n");
    }

    #[test]
    fn pending_until_first_poll() {
        let s = store();
        assert_eq!(s.pending(), vec![Key::new("t", "us-east-1")]);
        assert!(!text(&s).contains("pinpoint_email_up{"));
    }
}
