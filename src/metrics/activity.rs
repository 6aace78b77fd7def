//! Which regions of which accounts send mail: what the collectors that cost
//! money or many calls (those whose series declare an idle gauge) read to
//! poll an idle region at `--collector.idle-interval` instead of their own.
//!
//! A region is active when its last `GetAccount` answer shows production
//! access or mail sent in the last 24 hours, or CloudWatch has a reputation
//! datapoint of it from the last 24 hours; it is idle when its account
//! answer shows neither and there is no such datapoint. A region the account
//! collector has not answered for (yet, or at all: a target without it) is
//! never idle.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use tokio::time::Instant;

use crate::target::Key;

/// How long a reputation datapoint keeps a region active.
pub const WINDOW_SECONDS: f64 = 24.0 * 3600.0;

/// What a successful answer says of its region's activity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Evidence {
    /// An account answer: whether it shows production access or mail sent in
    /// the last 24 hours.
    Account {
        /// Production access, or a nonzero 24-hour send count.
        active: bool,
    },
    /// A reputation datapoint, at this Unix time.
    Datapoint {
        /// Its timestamp.
        unix_seconds: f64,
    },
}

/// What is known of one region.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Known {
    /// The last account answer's verdict, and until when it holds (the
    /// account values' staleness: a region whose account is no longer polled,
    /// or whose polls keep failing, is unknown again after it).
    account: Option<(bool, Instant)>,
    newest_datapoint: Option<f64>,
}

/// The activity of every (target, region), as the pollers found it.
#[derive(Debug, Default)]
pub struct Activity {
    by_key: RwLock<HashMap<Key, Known>>,
}

impl Activity {
    /// Takes what an answer for `key` says; an account answer holds for
    /// `valid_for`.
    pub fn observe(&self, key: &Key, evidence: Evidence, valid_for: Duration) {
        let mut map = self.by_key.write().unwrap_or_else(|p| p.into_inner());
        // Every successful account and reputation poll comes here: the key
        // is cloned only the first time.
        if !map.contains_key(key) {
            map.insert(key.clone(), Known::default());
        }
        let Some(known) = map.get_mut(key) else {
            return;
        };
        match evidence {
            Evidence::Account { active } => {
                known.account = Some((active, Instant::now() + valid_for));
            }
            Evidence::Datapoint { unix_seconds } => {
                let newest = known.newest_datapoint.get_or_insert(unix_seconds);
                *newest = newest.max(unix_seconds);
            }
        }
    }

    /// Whether `key` is idle at the Unix time `now`.
    pub fn is_idle(&self, key: &Key, now: f64) -> bool {
        let map = self.by_key.read().unwrap_or_else(|p| p.into_inner());
        let now_instant = Instant::now();
        map.get(key).is_some_and(|k| {
            k.account
                .is_some_and(|(active, until)| !active && now_instant <= until)
                && k.newest_datapoint.is_none_or(|t| now - t > WINDOW_SECONDS)
        })
    }

    /// Forgets every (target, region) but `keys` (after a reload).
    pub fn retain(&self, keys: &[Key]) {
        let wanted: std::collections::HashSet<&Key> = keys.iter().collect();
        let mut map = self.by_key.write().unwrap_or_else(|p| p.into_inner());
        map.retain(|k, _| wanted.contains(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOLDS: Duration = Duration::from_secs(900);

    #[tokio::test(start_paused = true)]
    async fn idle_only_when_the_account_says_so_and_no_datapoint_is_recent() {
        let key = Key::new("prod", "eu-west-1");
        let activity = Activity::default();
        let now = 1_790_000_000.0;
        let datapoint = |unix_seconds| Evidence::Datapoint { unix_seconds };
        assert!(!activity.is_idle(&key, now), "unknown is not idle");
        activity.observe(&key, Evidence::Account { active: false }, HOLDS);
        assert!(activity.is_idle(&key, now));
        activity.observe(&key, datapoint(now - 3600.0), HOLDS);
        assert!(!activity.is_idle(&key, now), "a datapoint of the last hour");
        // An older datapoint does not replace a newer one.
        activity.observe(&key, datapoint(now - 30.0 * 3600.0), HOLDS);
        assert!(!activity.is_idle(&key, now));
        assert!(
            activity.is_idle(&key, now + WINDOW_SECONDS),
            "24 hours later"
        );
        activity.observe(&key, Evidence::Account { active: true }, HOLDS);
        assert!(!activity.is_idle(&key, now + WINDOW_SECONDS));
    }

    #[tokio::test(start_paused = true)]
    async fn an_account_answer_holds_while_its_values_would_be_served() {
        let key = Key::new("prod", "eu-west-1");
        let activity = Activity::default();
        let now = 1_790_000_000.0;
        activity.observe(&key, Evidence::Account { active: false }, HOLDS);
        tokio::time::advance(HOLDS).await;
        assert!(activity.is_idle(&key, now));
        // Its account polls fail, or are turned off: unknown, so not idle.
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(!activity.is_idle(&key, now));
        // A reload that drops the region forgets it.
        activity.observe(&key, Evidence::Account { active: false }, HOLDS);
        assert!(activity.is_idle(&key, now));
        activity.retain(&[]);
        assert!(!activity.is_idle(&key, now), "forgotten: unknown again");
    }
}
