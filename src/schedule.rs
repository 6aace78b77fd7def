//! When pollers call: each collector's interval, timeout, backoff bound and
//! staleness, the spread of a fleet's first calls, and where the random parts
//! of a schedule come from. A leaf: imports nothing of the exporter.

use std::time::Duration;

/// First calls per second, at most, that a collector's new pollers make
/// together.
const FIRST_CALLS_PER_SECOND: u32 = 100;

/// The spread of the first calls of `pollers` pollers of one collector: each
/// waits a random part of it before its first call. A few pollers start
/// within a second (a quarter of the interval if shorter); many spread so
/// that together they make at most [`FIRST_CALLS_PER_SECOND`] first calls a
/// second, and over the whole interval at most, which is also how their
/// later calls are spread: 10,000 pollers at 60s call about 167 times a
/// second from the start, never 10,000 at once.
pub fn first_poll_spread(interval: Duration, pollers: usize) -> Duration {
    let few = (interval / 4).min(Duration::from_secs(1));
    let pollers = u32::try_from(pollers).unwrap_or(u32::MAX);
    let paced = Duration::from_secs(1) * (pollers / FIRST_CALLS_PER_SECOND)
        + Duration::from_secs(1) * (pollers % FIRST_CALLS_PER_SECOND) / FIRST_CALLS_PER_SECOND;
    paced.max(few).min(interval)
}

/// Timing of the pollers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollSettings {
    /// Time between two polls of one target and region.
    pub interval: Duration,
    /// Time limit of one call.
    pub timeout: Duration,
    /// Upper bound of the backoff.
    pub max_backoff: Duration,
    /// How long account values outlive their last successful poll.
    pub stale_after: Duration,
    /// Where the random parts of the schedule come from.
    pub jitter: Jitter,
    /// Each poller's first call waits a random part of this
    /// ([`first_poll_spread`]), so that many pollers never
    /// call at once.
    pub spread: Duration,
    /// And waits this much before that: one offset per target, so that the
    /// first calls of a target's regions (and its one AssumeRole) come
    /// together while targets spread.
    pub offset: Duration,
    /// `--collector.idle-interval`: the time between two calls of an idle
    /// region, for the collectors that follow their region's activity;
    /// `None` to poll every region at `interval`.
    pub idle_interval: Option<Duration>,
}

/// The source of the schedule's random parts (start-up spread, backoff): random in
/// the exporter; fixed in tests, so that a schedule is exact rather than lucky.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Jitter {
    /// Uniform in `[0, 1)`, from a fast non-cryptographic generator.
    Random,
    /// Always this value, clamped to `[0, 1]`: `0.0` gives the shortest delays,
    /// `1.0` the longest.
    Fixed(f64),
}

impl Jitter {
    /// The next value in `[0, 1]`.
    pub fn sample(self) -> f64 {
        match self {
            Jitter::Random => fastrand::f64(),
            Jitter::Fixed(v) => v.clamp(0.0, 1.0),
        }
    }
}

impl Default for PollSettings {
    fn default() -> Self {
        PollSettings {
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            max_backoff: Duration::from_secs(600),
            stale_after: Duration::from_secs(900),
            jitter: Jitter::Random,
            spread: first_poll_spread(Duration::from_secs(60), 1),
            offset: Duration::ZERO,
            idle_interval: None,
        }
    }
}

/// The poll settings of each collector, by name, and the `--poll.*` ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedules {
    /// The `--poll.*` flags: the settings of collectors without an interval
    /// of their own, and of what is not a collector (credentials).
    pub poll: PollSettings,
    by_collector: Vec<(&'static str, PollSettings)>,
}

impl Schedules {
    /// The `--poll.*` settings, and each collector's.
    pub fn new(poll: PollSettings, by_collector: Vec<(&'static str, PollSettings)>) -> Self {
        Schedules { poll, by_collector }
    }

    /// These schedules for a fleet where `pollers(name)` pollers of each
    /// collector run: their first calls spread to fit.
    pub fn for_fleet(mut self, pollers: impl Fn(&str) -> usize) -> Schedules {
        for (name, p) in &mut self.by_collector {
            p.spread = first_poll_spread(p.interval, pollers(name));
        }
        self
    }

    /// These schedules for one target of the fleet, `at` (in `[0, 1]`) of the
    /// way through: where a collector's first calls spread over more than a
    /// second or so ([`Schedules::for_fleet`]), the target's first calls start
    /// at its own offset in that span and spread over the short span of a
    /// few pollers only. A target's regions share its credentials, so its
    /// first calls (and its one AssumeRole) come together while targets
    /// spread evenly: 500 accounts in 20 regions make their 500 AssumeRole
    /// calls over the minute, not in its first seconds.
    pub fn for_target(mut self, at: f64) -> Schedules {
        for (_, p) in &mut self.by_collector {
            let few = first_poll_spread(p.interval, 1);
            if p.spread > few {
                p.offset = (p.spread - few).mul_f64(at.clamp(0.0, 1.0));
                p.spread = few;
            }
        }
        self
    }

    /// The settings of the collector named `name`; `None` for a name that
    /// is no collector's.
    pub fn of(&self, name: &str) -> Option<PollSettings> {
        self.by_collector
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn first_calls_spread_at_100_a_second_up_to_the_interval() {
        let spread = |pollers| first_poll_spread(MIN, pollers).as_millis();
        assert_eq!(spread(1), 1000);
        assert_eq!(spread(100), 1000);
        assert_eq!(spread(250), 2500);
        assert_eq!(spread(1000), 10_000);
        assert_eq!(spread(10_000), 60_000, "never more than the interval");
        assert_eq!(
            first_poll_spread(Duration::from_secs(2), 1).as_millis(),
            500
        );
    }
}
