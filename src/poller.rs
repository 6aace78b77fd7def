//! One background task per (target, region): when to call, how to back off, what to log.
//!
//! The schedule is fixed-rate: the next call starts a delay after the previous one
//! *started*, so a slow call does not shift the rhythm, and calls of one task never
//! overlap. After a success, or an error that retrying cannot fix (credentials,
//! access, invalid request), the delay is `--poll.interval`. After throttling, a
//! timeout, a network or server error, it grows with exponential backoff and full
//! jitter: after `n` such errors in a row, the delay is the interval plus a uniform
//! random part of `[0, min(max_backoff, interval * 2^n) - interval]`. A throttled
//! region is therefore never called more often than a healthy one, is called ever
//! less often while throttling lasts, and never waits longer than
//! `--poll.max-backoff`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::PollError;
use crate::metrics::{Activity, Output, Section, Store, unix_now};
use crate::schedule::PollSettings;
use crate::target::Key;

/// Makes one collector's call for one (target, region).
pub trait Collector: Send + Sync + 'static {
    /// What a successful call returns.
    type Output: Output;

    /// Makes the call once.
    fn collect(&self) -> impl Future<Output = Result<Self::Output, PollError>> + Send;

    /// How long one [`Collector::collect`] may take in all before it counts
    /// as a timeout (with a second's grace): one call's `--poll.timeout`,
    /// unless the collector paces several calls.
    fn time_limit(&self, timeout: Duration) -> Duration {
        timeout
    }
}

/// A running poller, ready to be spawned.
pub type Poller = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A poller of `collector` (named `name` in its log lines) for `key`, writing
/// into its section of `store`.
pub fn poller<C: Collector>(
    key: Key,
    name: &'static str,
    collector: C,
    store: &Store,
    settings: PollSettings,
) -> Poller {
    let section = store.section_with::<C::Output>(settings.stale_after);
    Box::pin(run(
        key,
        name,
        collector,
        (section, store.activity()),
        settings,
    ))
}

/// The delay logic, free of clocks and randomness so it can be tested exactly.
#[derive(Debug, Clone)]
struct Schedule {
    interval: Duration,
    max_backoff: Duration,
    failures: u32,
}

impl Schedule {
    /// A schedule with no failures yet.
    pub fn new(interval: Duration, max_backoff: Duration) -> Self {
        Schedule {
            interval,
            max_backoff: max_backoff.max(interval),
            failures: 0,
        }
    }

    /// Consecutive errors that caused backoff.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The upper bound of the next delay after `failures` backoff errors in a row.
    pub fn ceiling(&self, failures: u32) -> Duration {
        let factor = 2u32.checked_pow(failures).unwrap_or(u32::MAX);
        self.interval
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }

    /// The delay before the next call, given the outcome of the last one and a
    /// jitter value in `[0, 1)`.
    fn next_delay(&mut self, outcome: Result<(), &PollError>, jitter: f64) -> Duration {
        match outcome {
            Err(e) if e.backs_off() => {
                self.failures = self.failures.saturating_add(1);
                let spread = self.ceiling(self.failures) - self.interval;
                self.interval + spread.mul_f64(jitter.clamp(0.0, 1.0))
            }
            _ => {
                self.failures = 0;
                self.interval
            }
        }
    }
}

/// Calls `collector` for `key` forever, writing each outcome into its `section`
/// of the store and what it says of the region's activity into `activity`.
///
/// Runs until the task is aborted. The random parts of the schedule come from
/// `settings.jitter`. A collector whose series declare an idle gauge, with
/// `settings.idle_interval` set, calls an idle region only once per idle
/// interval: at each of its own interval's ticks it looks at the region's
/// activity, and calls at the first tick it finds the region active.
pub async fn run<C: Collector>(
    key: Key,
    name: &'static str,
    collector: C,
    (section, activity): (Arc<Section<C::Output>>, Arc<Activity>),
    settings: PollSettings,
) {
    let jitter = || settings.jitter.sample();
    let mut schedule = Schedule::new(settings.interval, settings.max_backoff);
    let mut log = ChangeLog::new(name);
    let idle_interval = C::Output::NAMES.idle.and(settings.idle_interval);
    tokio::time::sleep(settings.offset + settings.spread.mul_f64(jitter().clamp(0.0, 1.0))).await;
    loop {
        let started = Instant::now();
        // The SDK enforces --poll.timeout itself; this outer limit only guards
        // against anything that would hang outside the SDK's timers.
        let limit = collector.time_limit(settings.timeout);
        let outcome =
            match tokio::time::timeout(limit + Duration::from_secs(1), collector.collect()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(PollError::Timeout(limit)),
            };
        let took = started.elapsed();
        if let Some(evidence) = outcome.as_ref().ok().and_then(Output::activity) {
            activity.observe(&key, evidence, settings.stale_after);
        }
        section.record(&key, &outcome, took, unix_now());
        let delay = schedule.next_delay(outcome.as_ref().map(|_| ()), jitter());
        log.outcome(&key, &outcome, delay, schedule.failures());
        tokio::time::sleep_until(started + delay).await;
        if let Some(idle_interval) = idle_interval {
            wait_while_idle(
                &key,
                &section,
                &activity,
                started,
                idle_interval,
                settings.interval,
            )
            .await;
        }
    }
}

/// While `key` is idle, waits until `idle_interval` after `started` (the last
/// call's start), looking again every `interval`; says on `section` which
/// schedule the poller is on (an idle key's answer is served until the next
/// call: twice the idle interval).
async fn wait_while_idle<O: Output>(
    key: &Key,
    section: &Section<O>,
    activity: &Activity,
    started: Instant,
    idle_interval: Duration,
    interval: Duration,
) {
    let due = started + idle_interval;
    loop {
        let idle = activity.is_idle(key, unix_now());
        section.set_idle(key, idle.then(|| idle_interval.saturating_mul(2)));
        let now = Instant::now();
        if !idle || now >= due {
            return;
        }
        tokio::time::sleep_until((now + interval).min(due)).await;
    }
}

/// Logs each change of a poller's state once, not every poll; each line
/// names the collector.
#[derive(Debug)]
struct ChangeLog {
    collector: &'static str,
    last: Option<Option<PollError>>,
}

impl ChangeLog {
    fn new(collector: &'static str) -> Self {
        ChangeLog {
            collector,
            last: None,
        }
    }

    fn outcome<T>(
        &mut self,
        key: &Key,
        outcome: &Result<T, PollError>,
        delay: Duration,
        failures: u32,
    ) {
        let now = outcome.as_ref().err().cloned();
        let changed = self.last.as_ref() != Some(&now);
        let first = self.last.is_none();
        match (&now, changed) {
            (None, true) if first => tracing::info!(
                account = %key.target, aws_region = %key.region, collector = self.collector,
                "first poll succeeded"
            ),
            (None, true) => tracing::info!(
                account = %key.target, aws_region = %key.region, collector = self.collector,
                "poll recovered"
            ),
            (Some(err), true) => tracing::warn!(
                account = %key.target, aws_region = %key.region, collector = self.collector,
                reason = err.reason(), error = %err,
                next_poll_in = ?delay,
                "poll failed; logged again only when the error changes"
            ),
            (Some(err), false) => tracing::debug!(
                account = %key.target, aws_region = %key.region, collector = self.collector,
                reason = err.reason(), consecutive = failures, next_poll_in = ?delay,
                "poll failed again"
            ),
            (None, false) => tracing::debug!(
                account = %key.target, aws_region = %key.region, collector = self.collector,
                "poll succeeded"
            ),
        }
        self.last = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Gauge, Names, Series};
    use crate::schedule::Jitter;
    use std::sync::Mutex;

    const MIN: Duration = Duration::from_secs(60);

    fn throttled() -> PollError {
        PollError::Throttled("slow down".into())
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_resets_on_success() {
        let mut s = Schedule::new(MIN, Duration::from_secs(600));
        // With jitter 1.0 the delay is the ceiling itself.
        let got: Vec<u64> = (0..6)
            .map(|_| s.next_delay(Err(&throttled()), 1.0).as_secs())
            .collect();
        assert_eq!(got, vec![120, 240, 480, 600, 600, 600]);
        assert_eq!(s.next_delay(Ok(()), 1.0), MIN);
        assert_eq!(s.next_delay(Err(&throttled()), 1.0).as_secs(), 120);
    }

    #[test]
    fn full_jitter_spans_interval_to_ceiling() {
        let mut s = Schedule::new(MIN, Duration::from_secs(600));
        assert_eq!(s.next_delay(Err(&throttled()), 0.0), MIN);
        assert_eq!(s.next_delay(Err(&throttled()), 0.5).as_secs(), 60 + 90);
        assert_eq!(s.next_delay(Err(&throttled()), 0.0), MIN);
    }

    #[test]
    fn errors_that_retrying_cannot_fix_use_the_interval() {
        let mut s = Schedule::new(MIN, Duration::from_secs(600));
        s.next_delay(Err(&throttled()), 1.0);
        assert_eq!(
            s.next_delay(Err(&PollError::Auth("denied".into())), 1.0),
            MIN
        );
        assert_eq!(s.failures(), 0);
        assert_eq!(
            s.next_delay(Err(&PollError::BadRequest("bad".into())), 1.0),
            MIN
        );
    }

    #[test]
    fn huge_failure_counts_do_not_overflow() {
        let mut s = Schedule::new(MIN, Duration::from_secs(600));
        for _ in 0..200 {
            assert!(s.next_delay(Err(&throttled()), 1.0) <= Duration::from_secs(600));
        }
        assert_eq!(s.ceiling(u32::MAX), Duration::from_secs(600));
    }

    /// A source that plays a script of outcomes and records when it was called.
    struct Scripted {
        script: Mutex<Vec<Result<Account, PollError>>>,
        calls: Arc<Mutex<Vec<Instant>>>,
        delay: Duration,
    }

    impl Collector for Scripted {
        type Output = Account;

        async fn collect(&self) -> Result<Account, PollError> {
            self.calls.lock().unwrap().push(Instant::now());
            tokio::time::sleep(self.delay).await;
            let mut script = self.script.lock().unwrap();
            if script.len() > 1 {
                script.remove(0)
            } else {
                script[0].clone()
            }
        }
    }

    /// What the scripted calls return: the poller needs no more than that.
    #[derive(Debug, Clone, PartialEq)]
    struct Account;

    const NAMES: Names = Names {
        collector: "test",
        up: Gauge {
            name: "t_up",
            help: "Up.",
        },
        last_success: Gauge {
            name: "t_last_success_timestamp_seconds",
            help: "Last success.",
        },
        calls: ("t_calls_total", "Calls."),
        errors: ("t_errors_total", "Errors."),
        durations: ("t_duration_seconds", "Durations."),
        idle: None,
        values: &[],
        help_note: "",
        from_config: &[],
    };

    impl Output for Account {
        const NAMES: &'static Names = &NAMES;
        fn write(&self, _: &mut Series<'_>) {}
    }

    fn healthy() -> Account {
        Account
    }

    /// When each call was made, the section the poller writes, its task.
    type Spawned = (
        Arc<Mutex<Vec<Instant>>>,
        Arc<Section<Account>>,
        tokio::task::JoinHandle<()>,
    );

    fn spawn(
        script: Vec<Result<Account, PollError>>,
        delay: Duration,
        settings: PollSettings,
    ) -> Spawned {
        let key = Key::new("t", "us-east-1");
        let store = Arc::new(
            crate::metrics::Store::new(
                vec![key.clone()],
                settings.stale_after,
                &crate::metrics::BuildInfo {
                    version: "v".into(),
                    revision: "r".into(),
                    ..Default::default()
                },
                false,
            )
            .unwrap(),
        );
        let calls = Arc::new(Mutex::new(Vec::new()));
        let source = Scripted {
            script: Mutex::new(script),
            calls: calls.clone(),
            delay,
        };
        let section = store.section::<Account>();
        let task = tokio::spawn(run(
            key,
            "test",
            source,
            (section.clone(), Arc::default()),
            settings,
        ));
        (calls, section, task)
    }

    fn offsets(calls: &Mutex<Vec<Instant>>, start: Instant) -> Vec<u64> {
        calls
            .lock()
            .unwrap()
            .iter()
            .map(|t| (*t - start).as_millis() as u64)
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_calls_back_off_then_return_to_the_interval() {
        let settings = PollSettings {
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
            max_backoff: Duration::from_secs(60),
            stale_after: Duration::from_secs(600),
            // 1.0 makes every delay its upper bound, so times are exact.
            jitter: Jitter::Fixed(1.0),
            spread: Duration::from_secs(1),
            offset: Duration::ZERO,
            idle_interval: None,
        };
        let start = Instant::now();
        let script = vec![
            Ok(healthy()),
            Err(throttled()),
            Err(throttled()),
            Err(throttled()),
            Err(throttled()),
            Ok(healthy()),
        ];
        let (calls, store, task) = spawn(script, Duration::ZERO, settings);
        tokio::time::sleep(Duration::from_secs(200)).await;
        task.abort();
        // Start spread: 1s * ~1.0; then 10 s, backoff 20, 40, 60 (capped), 60 s, success.
        let got = offsets(&calls, start);
        let got_secs: Vec<u64> = got.iter().map(|ms| (ms + 500) / 1000).collect();
        assert_eq!(
            got_secs,
            vec![1, 11, 31, 71, 131, 191],
            "calls at {got:?} ms"
        );
        assert!(store.snapshot(&Key::new("t", "us-east-1")).unwrap().up);
    }

    #[tokio::test(start_paused = true)]
    async fn calls_never_overlap_and_slow_calls_keep_the_rhythm() {
        let settings = PollSettings {
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
            max_backoff: Duration::from_secs(60),
            stale_after: Duration::from_secs(600),
            // 1.0 makes every delay its upper bound, so times are exact.
            jitter: Jitter::Fixed(1.0),
            spread: Duration::from_secs(1),
            offset: Duration::ZERO,
            idle_interval: None,
        };
        let start = Instant::now();
        let (calls, _store, task) = spawn(vec![Ok(healthy())], Duration::from_secs(4), settings);
        tokio::time::sleep(Duration::from_secs(45)).await;
        task.abort();
        let got: Vec<u64> = offsets(&calls, start)
            .iter()
            .map(|ms| (ms + 500) / 1000)
            .collect();
        assert_eq!(got, vec![1, 11, 21, 31, 41]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_source_is_cut_off_and_backs_off() {
        let settings = PollSettings {
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(2),
            max_backoff: Duration::from_secs(60),
            stale_after: Duration::from_secs(600),
            // 1.0 makes every delay its upper bound, so times are exact.
            jitter: Jitter::Fixed(1.0),
            spread: Duration::from_secs(1),
            offset: Duration::ZERO,
            idle_interval: None,
        };
        let start = Instant::now();
        let (calls, store, task) = spawn(vec![Ok(healthy())], Duration::from_secs(3600), settings);
        tokio::time::sleep(Duration::from_secs(35)).await;
        task.abort();
        let got: Vec<u64> = offsets(&calls, start)
            .iter()
            .map(|ms| (ms + 500) / 1000)
            .collect();
        // 1s spread, then the 3 s outer limit, then 20 s of backoff from the start.
        assert_eq!(got, vec![1, 21]);
        let snap = store.snapshot(&Key::new("t", "us-east-1")).unwrap();
        assert_eq!(
            snap.last_error.as_ref().map(PollError::reason),
            Some("timeout")
        );
    }
}
