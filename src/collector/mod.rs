//! Collectors: each is one AWS call made per (target, region) on the poller's
//! schedule, with its own series and error counting.
//!
//! A collector is a module under `collector/` with two parts: a [`Collector`]
//! (one per target and region: makes the call) whose answers are an
//! [`Output`](crate::metrics::Output) (names its series and writes them), and a
//! [`Kind`] (builds the collectors of a target). Registering the kind in
//! [`KINDS`] is all the rest of the exporter needs: the poller, the store and
//! the HTTP side work with any collector.

pub mod account;
pub mod dedicated_ips;
pub mod reputation;

use aws_config::SdkConfig;

pub use crate::poller::{Collector, Poller};

use crate::metrics::Store;
use crate::schedule::PollSettings;
use crate::target::{Key, Target};

/// A kind of collector: how to build its collectors for a target.
pub trait Kind: Send + Sync + 'static {
    /// Its name, as logged when its pollers start.
    fn name(&self) -> &'static str;

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
/// for that region: what a [`Kind::pollers`] usually is.
pub fn per_region<C: Collector>(
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
];
