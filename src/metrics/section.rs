//! One collector's part of the store: the last answer and the call statistics of
//! every (target, region), and how they are written as metric families.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::text::{Family, Series, bool_value, write_sample};
use crate::error::PollError;
use crate::target::Key;

/// Upper bounds of the call duration histogram buckets, in seconds.
const DURATION_BUCKETS: [f64; 10] = [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// What a collector's successful call yields, and how it is exported.
pub trait Output: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// The names and HELP texts of the collector's series.
    const NAMES: &'static Names;

    /// Writes this answer's samples for one (target, region). Called only while
    /// the answer is at most `--poll.stale-after` old: then every value goes.
    fn write(&self, series: &mut Series<'_>);

    /// Takes over what this answer must remember of the previous successful one
    /// of the same (target, region), such as the states seen before. Nothing by
    /// default.
    fn carry_from(&mut self, previous: &Self) {
        let _ = previous;
    }

    /// What this answer says of its region's activity (see
    /// [`super::Activity`]); nothing by default.
    fn activity(&self) -> Option<super::Evidence> {
        None
    }
}

/// A gauge series, declared once as a `const` of the collector that writes
/// it: its name and HELP. [`Series`] takes it, so its name is never typed
/// again; a sample of a gauge missing from its collector's [`Names::values`]
/// fails a debug build (tests) and is dropped in a release build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gauge {
    /// The metric name.
    pub name: &'static str,
    /// Its HELP text.
    pub help: &'static str,
}

/// How one collector's series are named: its health series, and the gauges its
/// answers write (each with its HELP).
#[derive(Debug)]
pub struct Names {
    /// The collector's name, as in `--collector.NAME`.
    pub collector: &'static str,
    /// 1 if the last call succeeded.
    pub up: Gauge,
    /// Unix time of the last successful call.
    pub last_success: Gauge,
    /// Calls made, per (target, region): name and HELP. It exists from the
    /// start of a poller until its target or region leaves the configuration,
    /// so the rules tell what an exporter polls by it.
    pub calls: (&'static str, &'static str),
    /// Failed calls by `reason`, per (target, region), every known reason
    /// from the start (at 0): name and HELP.
    pub errors: (&'static str, &'static str),
    /// Call durations, per region (per target and region with
    /// `--metrics.poll-duration-per-target`): name and HELP.
    pub durations: (&'static str, &'static str),
    /// 1 while the poller of a (target, region) is on the idle schedule
    /// (`--collector.idle-interval`), 0 while on its own interval: the
    /// collectors that declare it follow their region's activity; the others
    /// (`None`) always poll at their own interval.
    pub idle: Option<Gauge>,
    /// Every gauge [`Output::write`] may write.
    pub values: &'static [Gauge],
    /// Appended to the HELP of every value, after `{stale_after}` in it is
    /// replaced by the configured `--poll.stale-after`.
    pub help_note: &'static str,
    /// Values that come from the configuration, not from the calls: their HELP
    /// gets no `help_note`.
    pub from_config: &'static [&'static str],
}

/// The last successful answer of one (target, region).
#[derive(Debug, Clone, PartialEq)]
pub struct Observed<O> {
    /// What the call returned.
    pub value: O,
    /// When the answer arrived, on the monotonic clock (for staleness).
    pub at: Instant,
    /// When the answer arrived, as Unix seconds (for the exported timestamp).
    pub unix_seconds: f64,
}

/// Everything exported for one (target, region), replaced whole after every call.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot<O> {
    /// Whether the last call succeeded.
    pub up: bool,
    /// The last successful answer, kept while calls fail until it is stale.
    pub last_success: Option<Observed<O>>,
    /// Why the last call failed, when it did.
    pub last_error: Option<PollError>,
}

/// Call durations: cumulative counts per bucket of [`DURATION_BUCKETS`], the
/// count and the sum.
#[derive(Debug, Clone, Default)]
struct Histogram {
    buckets: [u64; DURATION_BUCKETS.len()],
    calls: u64,
    seconds: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        self.calls += 1;
        self.seconds += seconds;
        for (count, bound) in self.buckets.iter_mut().zip(DURATION_BUCKETS) {
            if seconds <= bound {
                *count += 1;
            }
        }
    }
}

/// What a section keeps of one (target, region).
#[derive(Debug)]
struct Slot<O> {
    /// The last call's outcome; `None` until the first call.
    snapshot: Option<Arc<Snapshot<O>>>,
    /// Failed calls by reason, in the order of [`PollError::REASONS`].
    errors: [u64; PollError::REASONS.len()],
    /// Its calls' durations (exported with `--metrics.poll-duration-per-target`).
    durations: Histogram,
    /// Whether its poller is on the idle schedule, once it has decided.
    idle: Option<bool>,
    /// How long its last answer is served when longer than the section's
    /// own: set on the idle schedule, kept until the next answer (a region
    /// that starts sending keeps its last answer through the next poll).
    served_for: Option<Duration>,
}

impl<O> Default for Slot<O> {
    fn default() -> Self {
        Slot {
            snapshot: None,
            errors: [0; PollError::REASONS.len()],
            durations: Histogram::default(),
            idle: None,
            served_for: None,
        }
    }
}

/// The slots of a section, and the call durations of each region over its
/// targets.
#[derive(Debug)]
struct Slots<O> {
    by_key: BTreeMap<Key, Slot<O>>,
    /// Kept while a key of the region is configured; a key that goes leaves
    /// its calls counted, as a counter must.
    by_region: BTreeMap<String, Histogram>,
}

/// The results of one collector for every configured (target, region).
#[derive(Debug)]
pub struct Section<O: Output> {
    slots: RwLock<Slots<O>>,
    stale_after: Duration,
    /// Export the duration histogram per (target, region) instead of per region.
    durations_per_target: bool,
    /// The store's change counter: bumped by every record.
    generation: Arc<AtomicU64>,
}

impl<O: Output> Section<O> {
    pub(super) fn new(
        keys: &[Key],
        stale_after: Duration,
        durations_per_target: bool,
        generation: Arc<AtomicU64>,
    ) -> Self {
        let section = Section {
            slots: RwLock::new(Slots {
                by_key: BTreeMap::new(),
                by_region: BTreeMap::new(),
            }),
            stale_after,
            durations_per_target,
            generation,
        };
        section.set_keys(keys);
        section
    }

    /// Records the outcome of one call, replacing the snapshot of `key` whole.
    /// `unix_seconds` is the wall-clock time of the answer. Outcomes for keys no
    /// longer configured (a poller stopped by a reload mid-call) are dropped.
    pub fn record(
        &self,
        key: &Key,
        outcome: &Result<O, PollError>,
        took: Duration,
        unix_seconds: f64,
    ) {
        let mut map = self.write_map();
        let seconds = took.as_secs_f64();
        if let Some(region) = map.by_region.get_mut(&key.region) {
            region.observe(seconds);
        }
        let Some(slot) = map.by_key.get_mut(key) else {
            return;
        };
        slot.durations.observe(seconds);
        let previous = slot.snapshot.take();
        let next = match outcome {
            Ok(value) => {
                let mut value = value.clone();
                if let Some(prev) = previous.as_ref().and_then(|p| p.last_success.as_ref()) {
                    value.carry_from(&prev.value);
                }
                Snapshot {
                    up: true,
                    last_success: Some(Observed {
                        value,
                        at: Instant::now(),
                        unix_seconds,
                    }),
                    last_error: None,
                }
            }
            Err(err) => {
                if let Some(i) = PollError::REASONS.iter().position(|r| *r == err.reason()) {
                    slot.errors[i] += 1;
                }
                Snapshot {
                    up: false,
                    last_success: previous.and_then(|p| p.last_success.clone()),
                    last_error: Some(err.clone()),
                }
            }
        };
        slot.snapshot = Some(Arc::new(next));
        if slot.idle != Some(true) {
            slot.served_for = None;
        }
        drop(map);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Records which schedule the poller of `key` is on: `Some(served)` on
    /// the idle schedule, its answers served that long after their arrival
    /// (when longer than the section's own), `None` on its own interval (the
    /// last answer keeps its time until the next one arrives).
    pub fn set_idle(&self, key: &Key, idle: Option<Duration>) {
        let unchanged = |s: &Slot<O>| {
            s.idle == Some(idle.is_some()) && idle.is_none_or(|d| s.served_for == Some(d))
        };
        if self.read_map().by_key.get(key).is_none_or(unchanged) {
            return;
        }
        if let Some(slot) = self.write_map().by_key.get_mut(key) {
            slot.idle = Some(idle.is_some());
            if idle.is_some() {
                slot.served_for = idle;
            }
        }
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The current snapshot of `key`, if it has been polled.
    pub fn snapshot(&self, key: &Key) -> Option<Arc<Snapshot<O>>> {
        self.read_map().by_key.get(key)?.snapshot.clone()
    }

    fn read_map(&self) -> RwLockReadGuard<'_, Slots<O>> {
        // A writer never panics while holding the lock, but if one did the data
        // is still whole snapshots: keep serving them.
        self.slots.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_map(&self) -> RwLockWriteGuard<'_, Slots<O>> {
        self.slots.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// What the store needs of a section, whatever its collector.
pub(super) trait Exposed: Send + Sync {
    /// Makes the configured (target, region) pairs `keys`: pairs that stay keep
    /// their series, pairs that go lose them, new pairs start pending with no
    /// call counted.
    fn set_keys(&self, keys: &[Key]);
    /// Pairs not called yet.
    fn pending(&self) -> Vec<Key>;
    /// Every family of this section as of `now`.
    fn families(&self, now: Instant) -> Vec<Family>;
}

impl<O: Output> Exposed for Section<O> {
    fn set_keys(&self, keys: &[Key]) {
        let mut map = self.write_map();
        let wanted: std::collections::BTreeSet<&Key> = keys.iter().collect();
        map.by_key.retain(|k, _| wanted.contains(k));
        let regions: std::collections::BTreeSet<&str> =
            keys.iter().map(|k| k.region.as_str()).collect();
        map.by_region.retain(|r, _| regions.contains(r.as_str()));
        for region in regions {
            map.by_region.entry(region.to_string()).or_default();
        }
        for key in wanted {
            map.by_key.entry(key.clone()).or_default();
        }
        drop(map);
        self.generation.fetch_add(1, Ordering::Release);
    }

    fn pending(&self) -> Vec<Key> {
        self.read_map()
            .by_key
            .iter()
            .filter(|(_, slot)| slot.snapshot.is_none())
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn families(&self, now: Instant) -> Vec<Family> {
        let names = O::NAMES;
        let map = self.read_map();
        let mut families = call_families(names, &map, self.durations_per_target);
        // Samples by metric name; the map's (target, region) order is kept.
        let mut by_name: BTreeMap<&'static str, String> = BTreeMap::new();
        for (key, slot) in map.by_key.iter() {
            if let (Some(gauge), Some(idle)) = (names.idle, slot.idle) {
                Series::new(&mut by_name, key).gauge(gauge, bool_value(idle));
            }
            let stale_after = slot
                .served_for
                .map_or(self.stale_after, |served| served.max(self.stale_after));
            let Some(snap) = &slot.snapshot else {
                continue;
            };
            let mut series = Series::new(&mut by_name, key);
            series.gauge(names.up, bool_value(snap.up));
            if let Some(obs) = &snap.last_success {
                series.gauge(names.last_success, obs.unix_seconds);
                if now.saturating_duration_since(obs.at) <= stale_after {
                    obs.value.write(&mut series);
                }
            }
        }
        drop(map);
        for gauge in [Some(names.up), Some(names.last_success), names.idle]
            .into_iter()
            .flatten()
        {
            if let Some(samples) = by_name.remove(gauge.name) {
                families.push(Family::new(gauge.name, gauge.help, "gauge", &samples));
            }
        }
        let note = names.help_note.replace(
            "{stale_after}",
            &humantime::format_duration(self.stale_after).to_string(),
        );
        for gauge in names.values {
            if let Some(samples) = by_name.remove(gauge.name) {
                let note = if names.from_config.contains(&gauge.name) {
                    ""
                } else {
                    &note
                };
                let help = format!("{}{note}", gauge.help);
                families.push(Family::new(gauge.name, &help, "gauge", &samples));
            }
        }
        debug_assert!(
            by_name.is_empty(),
            "{} wrote series it does not declare in its Names::values: {:?}",
            names.collector,
            by_name.keys().collect::<Vec<_>>()
        );
        families
    }
}

/// The call counters, error counters and call duration histograms of a
/// section, as the `prometheus` crate would encode them: series ordered by
/// their label values in label name order (`account`, then `aws_region`, then
/// `reason`), which is the maps' order.
fn call_families<O>(names: &Names, map: &Slots<O>, durations_per_target: bool) -> Vec<Family> {
    let (name, help) = names.calls;
    let mut calls = String::new();
    for (key, slot) in &map.by_key {
        write_sample(
            &mut calls,
            name,
            &[("account", &key.target), ("aws_region", &key.region)],
            slot.durations.calls as f64,
        );
    }
    let calls = Family::new(name, help, "counter", &calls);

    let (name, help) = names.errors;
    let mut errors = String::new();
    let mut reasons: Vec<(usize, &str)> = PollError::REASONS.iter().copied().enumerate().collect();
    reasons.sort_unstable_by_key(|&(_, reason)| reason);
    for (key, slot) in &map.by_key {
        // Every known reason from the start, at 0 until its first failure,
        // so that `increase()` counts the first one too.
        for &(i, reason) in &reasons {
            write_sample(
                &mut errors,
                name,
                &[
                    ("account", &key.target),
                    ("aws_region", &key.region),
                    ("reason", reason),
                ],
                slot.errors[i] as f64,
            );
        }
    }
    let mut families = vec![calls, Family::new(name, help, "counter", &errors)];

    let (name, help) = names.durations;
    let mut durations = String::new();
    // Names and `le` values are the same for every series: format them once.
    let (bucket, sum, count) = (
        format!("{name}_bucket"),
        format!("{name}_sum"),
        format!("{name}_count"),
    );
    let bounds: Vec<String> = DURATION_BUCKETS.iter().map(f64::to_string).collect();
    let mut histogram = |labels: &[(&str, &str)], h: &Histogram| {
        let with_le = |le: &'static str| labels.iter().copied().chain([("le", le)]);
        for (n, le) in h.buckets.iter().zip(&bounds) {
            let labels: Vec<(&str, &str)> = labels
                .iter()
                .copied()
                .chain([("le", le.as_str())])
                .collect();
            write_sample(&mut durations, &bucket, &labels, *n as f64);
        }
        let inf: Vec<(&str, &str)> = with_le("+Inf").collect();
        write_sample(&mut durations, &bucket, &inf, h.calls as f64);
        write_sample(&mut durations, &sum, labels, h.seconds);
        write_sample(&mut durations, &count, labels, h.calls as f64);
    };
    if durations_per_target {
        for (key, slot) in &map.by_key {
            histogram(
                &[
                    ("account", key.target.as_str()),
                    ("aws_region", key.region.as_str()),
                ],
                &slot.durations,
            );
        }
    } else {
        for (region, h) in &map.by_region {
            histogram(&[("aws_region", region.as_str())], h);
        }
    }
    if !durations.is_empty() {
        families.push(Family::new(name, help, "histogram", &durations));
    }
    families
}
