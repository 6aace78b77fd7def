//! The running pollers, by target: started, kept or stopped as a reload or a
//! discovery changes the targets.

use std::sync::Arc;

use std::collections::{BTreeMap, BTreeSet};

use aws_config::{ConfigLoader, SdkConfig};
use tokio::task::JoinSet;

use crate::aws::Sources;
use crate::collector::KINDS;
use crate::metrics::Store;
use crate::schedule::Schedules;
use crate::target::{Discovery, Key, Member, Shard, Target};

/// Starts the pollers of each collector `target` has on for every region of
/// `target`, calling AWS with `sdk_config`. Its regions must have been
/// resolved ([`crate::config::resolve_regions`]).
fn start_pollers(
    target: &Target,
    schedules: &Schedules,
    sdk_config: &SdkConfig,
    store: &Store,
) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    for kind in KINDS {
        let name = kind.spec().name;
        let Some(settings) = schedules
            .of(name)
            .filter(|_| target.collectors.enabled(name))
        else {
            continue;
        };
        let pollers = kind.pollers(target, sdk_config, store, settings);
        tracing::debug!(
            collector = name,
            target = %target.name,
            pollers = pollers.len(),
            "starting pollers"
        );
        for poller in pollers {
            tasks.spawn(poller);
        }
    }
    tasks
}

/// What a reload changed, by target name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Targets new in the file.
    pub added: Vec<String>,
    /// Targets gone from the file.
    pub removed: Vec<String>,
    /// Targets whose regions, credentials or API changed: their pollers restart.
    pub changed: Vec<String>,
    /// Targets left as they were: their pollers and series are untouched.
    pub unchanged: Vec<String>,
}

/// Every target of `file` and of `found` (the accounts of each discovery's
/// last successful listing), in that order, that `shard` polls. A
/// discovered account whose target name is already taken (by a target of
/// the file or an earlier discovery) is left out.
pub fn owned_targets(
    targets: &[Target],
    discoveries: &[Discovery],
    found: &BTreeMap<String, Vec<Member>>,
    shard: Shard,
) -> Vec<Target> {
    let mut all: Vec<Target> = targets.to_vec();
    let mut names: BTreeSet<String> = all.iter().map(|t| t.name.clone()).collect();
    for d in discoveries {
        for member in found.get(&d.name).into_iter().flatten() {
            let target = d.target(member);
            if names.insert(target.name.clone()) {
                all.push(target);
            } else {
                tracing::debug!(discovery = %d.name, account = %member.id, name = %target.name, "discovered account left out: its target name is taken");
            }
        }
    }
    all.retain(|t| shard.owns(&t.name));
    all
}

/// The running pollers, grouped by target so that a reload or a discovery
/// can stop and start exactly the targets that changed.
pub(super) struct Fleet<'a> {
    pub(super) store: Arc<Store>,
    pub(super) schedules: Schedules,
    pub(super) sources: Sources<'a>,
    pub(super) running: Vec<(Target, JoinSet<()>)>,
}

impl<'a> Fleet<'a> {
    pub(super) fn new(
        store: Arc<Store>,
        schedules: Schedules,
        base: &'a (dyn Fn() -> ConfigLoader + Sync),
    ) -> Self {
        Fleet {
            store,
            sources: Sources::new(base, schedules.poll, crate::aws::shared_http_client()),
            schedules,
            running: Vec::new(),
        }
    }

    /// Makes the running pollers those of `targets`.
    pub(super) async fn apply(&mut self, targets: &[Target]) -> Changes {
        let mut changes = Changes::default();
        let wanted: BTreeMap<&str, &Target> =
            targets.iter().map(|t| (t.name.as_str(), t)).collect();
        let mut kept = BTreeMap::new();
        for (old, tasks) in std::mem::take(&mut self.running) {
            match wanted.get(old.name.as_str()) {
                Some(new) if **new == old => {
                    changes.unchanged.push(old.name.clone());
                    kept.insert(old.name.clone(), (old, tasks));
                }
                Some(_) => changes.changed.push(old.name.clone()),
                None => changes.removed.push(old.name.clone()),
            }
            // Dropping `tasks` of a changed or removed target aborts its pollers.
        }
        self.store.set_polled(
            targets
                .iter()
                .flat_map(|t| {
                    t.regions
                        .iter()
                        .map(|r| (Key::new(&t.name, r), t.collectors.clone()))
                })
                .collect(),
        );
        let pollers = |name: &str| -> usize {
            targets
                .iter()
                .filter(|t| t.collectors.enabled(name))
                .map(|t| t.regions.len())
                .sum()
        };
        let schedules = self.schedules.clone().for_fleet(pollers);
        let changed: BTreeSet<String> = changes.changed.iter().cloned().collect();
        for target in targets {
            if let Some(running) = kept.remove(&target.name) {
                self.running.push(running);
                continue;
            }
            if !changed.contains(&target.name) {
                changes.added.push(target.name.clone());
            }
            let sdk_config = self.sources.target_config(target).await;
            let at = self.schedules.poll.jitter.sample();
            let tasks = start_pollers(
                target,
                &schedules.clone().for_target(at),
                &sdk_config,
                &self.store,
            );
            self.running.push((target.clone(), tasks));
        }
        changes
    }

    pub(super) async fn stop(&mut self) {
        for (_, mut tasks) in self.running.drain(..) {
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
    }
}
