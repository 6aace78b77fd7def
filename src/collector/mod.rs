//! Collectors: each is one AWS call made per (target, region) on the poller's
//! schedule, with its own series and error counting.
//!
//! A collector is a module under `collector/` with three parts: a
//! [`Collector`] (one per target and region: makes the call) whose answers are
//! an [`Output`](crate::metrics::Output) (writes its series), a [`Spec`] (its
//! name, whether it is on by default, its interval and settings flags, its key
//! in the targets file and the IAM actions it needs, each said once; its
//! series are its `Output`'s), and a [`Kind`] (builds the collectors of a target). A line in
//! [`KINDS`] registers it: flags, the targets file, `--config.check`,
//! schedules and poller counts, and the tests of the docs and the IAM policy
//! read the rest from its [`Spec`].

pub mod account;
pub mod dedicated_ips;
pub mod identities;
pub mod reputation;

use std::time::Duration;

use aws_config::SdkConfig;

pub use crate::poller::{Collector, Poller};

use crate::metrics::{Gauge, Store};
use crate::schedule::PollSettings;
use crate::target::{Key, Target};

/// What a collector declares, once: everything outside its module that
/// depends on the collector reads it from here.
#[derive(Debug)]
pub struct Spec {
    /// Its name: `--collector.NAME`, `--no-collector.NAME`, the `collector`
    /// of its log lines.
    pub name: &'static str,
    /// Its key in a target's `collectors:` in the targets file.
    pub file_key: &'static str,
    /// What it polls, for the help of `--collector.NAME`.
    pub about: &'static str,
    /// Whether it is on without `--collector.NAME` (`--demo` turns every
    /// collector on).
    pub default_on: bool,
    /// Its own `--collector.NAME.interval` (default and help), or `None` to
    /// poll at `--poll.interval`.
    pub interval: Option<Interval>,
    /// Its numeric settings, each a flag `--collector.NAME.KEY`.
    pub settings: &'static [Setting],
    /// The AWS operations it calls, each named by the IAM action it needs:
    /// the IAM policy and the cost estimate of `--config.check` read them.
    pub calls: &'static [Call],
    /// Its `..._idle` gauge, if it follows its region's activity: then an
    /// idle region is polled at `--collector.idle-interval` (see
    /// [`crate::metrics::Activity`]).
    pub idle: Option<Gauge>,
}

/// An AWS operation a collector calls, and how often per poll.
#[derive(Debug)]
pub struct Call {
    /// The IAM action that authorises it, such as `ses:GetAccount`.
    pub action: &'static str,
    /// How many calls one poll makes.
    pub per_poll: PerPoll,
    /// The CloudWatch metrics each call requests (what CloudWatch charges
    /// by); 0 for other services.
    pub metrics: usize,
}

/// How many calls of an operation one poll makes.
#[derive(Debug)]
pub enum PerPoll {
    /// One (every page of a listing counted once).
    One,
    /// At most the value of this setting of the collector, and no more than
    /// fit a second apart in half the interval ([`paced`]).
    Paced(&'static Setting),
}

/// How many calls of a collector that paces them a second apart over half
/// of its `interval` one poll makes, at most `max`.
pub fn paced(interval: Duration, max: usize) -> usize {
    let fit = usize::try_from((interval / 2).as_secs()).unwrap_or(usize::MAX);
    max.min(fit).max(1)
}

impl Spec {
    /// The IAM actions its calls need, in the order of its calls.
    pub fn iam_actions(&self) -> impl Iterator<Item = &'static str> {
        self.calls.iter().map(|c| c.action)
    }
}

/// A collector's own interval flag.
#[derive(Debug)]
pub struct Interval {
    /// Its default (with `--demo`, `--poll.interval`).
    pub default: Duration,
    /// What it is, for the help.
    pub help: &'static str,
}

/// A collector's numeric setting: the flag `--collector.NAME.KEY`.
#[derive(Debug)]
pub struct Setting {
    /// `KEY` in the flag.
    pub key: &'static str,
    /// What it sets, for the help.
    pub help: &'static str,
    /// The value without the flag.
    pub default: usize,
    /// The least value allowed.
    pub min: usize,
}

impl Spec {
    /// The value of `setting` for `target`: its flag's, else the default.
    pub fn setting(&self, target: &Target, setting: &Setting) -> usize {
        target
            .settings
            .get(self.name, setting.key)
            .unwrap_or(setting.default)
    }
}

/// A kind of collector: how to build its collectors for a target.
pub trait Kind: Send + Sync + 'static {
    /// What it declares.
    fn spec(&self) -> &'static Spec;

    /// The pollers of `target`, one per region, each calling AWS with the
    /// target's loaded configuration and writing into this kind's section of
    /// `store`.
    fn pollers(
        &self,
        target: &Target,
        sdk_config: &SdkConfig,
        store: &Store,
        settings: PollSettings,
    ) -> Vec<Poller>;
}

/// One poller per region of `target`, polling the collector `make` builds
/// for that region: what a [`Kind::pollers`] usually is. Its log lines name
/// the collector of `spec`.
pub fn per_region<C: Collector>(
    spec: &'static Spec,
    target: &Target,
    store: &Store,
    settings: PollSettings,
    mut make: impl FnMut(&str) -> C,
) -> Vec<Poller> {
    target
        .regions
        .iter()
        .map(|region| {
            crate::poller::poller(
                Key::new(&target.name, region),
                spec.name,
                make(region),
                store,
                settings,
            )
        })
        .collect()
}

/// Every collector the exporter has: one line per collector.
pub const KINDS: &[&dyn Kind] = &[
    &account::AccountKind,
    &reputation::ReputationKind,
    &dedicated_ips::DedicatedIpsKind,
    &identities::IdentitiesKind,
];

#[cfg(test)]
mod tests {
    use super::KINDS;

    /// A collector is named in the exporter's code only in its own module and
    /// its line of [`KINDS`]: flags, the targets file, schedules and the rest
    /// read its [`super::Spec`]. (Tests, docs, the IAM policy and the mixin
    /// may name it. A quoted name followed by a comma is a label, such as
    /// `account`, not the collector.)
    #[test]
    fn a_collector_is_named_only_in_its_module_and_the_registry() {
        let mut found = Vec::new();
        for spec in KINDS.iter().map(|k| k.spec()) {
            let own = std::path::Path::new("collector").join(spec.file_key);
            let patterns = [
                format!("collector.{}", spec.name),
                format!("{}::", spec.file_key),
                format!("\"{}\"", spec.name),
                format!("\"{}\"", spec.file_key),
            ];
            for (file, text) in crate::source_files::all() {
                if file.with_extension("") == own || file.starts_with(&own) {
                    continue;
                }
                for line in crate::source_files::code(&text).lines() {
                    let registry = file.ends_with("collector/mod.rs") && line.contains("Kind,");
                    let named = patterns.iter().any(|p| {
                        line.match_indices(p.as_str()).any(|(at, _)| {
                            !(p.ends_with('"') && line[at + p.len()..].starts_with(','))
                        })
                    });
                    if named && !registry {
                        found.push(format!("{}: {}", file.display(), line.trim()));
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "collectors named outside their module and KINDS:\n{}",
            found.join("\n")
        );
    }
}
