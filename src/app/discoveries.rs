//! The running discoveries, what each found last, and the listings kept in
//! `--state.directory` across restarts.

use std::sync::Arc;

use std::collections::{BTreeMap, BTreeSet};

use aws_config::ConfigLoader;
use tokio::sync::mpsc;

use super::owned_targets;
use crate::aws::load_target_config;
use crate::config::Config;
use crate::discovery::{self, Found};
use crate::metrics::Store;
use crate::target::{Discovery, Member, Shard, Target};

/// The running discoveries and what each found last.
pub(super) struct Discoveries {
    /// Each discovery, the generation of its task, the task.
    pub(super) running: Vec<(Discovery, u64, tokio::task::JoinHandle<()>)>,
    /// What each found last: by a listing of this run, or the one saved in
    /// `--state.directory` before it.
    pub(super) found: BTreeMap<String, Vec<Member>>,
    /// The discoveries whose accounts come from a listing of this run.
    pub(super) listed: BTreeSet<String>,
    pub(super) sender: mpsc::Sender<Found>,
    pub(super) next_generation: u64,
}

/// Whether `a` and `b` select the same accounts: the same parents, tags and
/// caller. Other changes (regions, collectors, role) apply to the accounts
/// already found.
pub(super) fn same_selection(a: &Discovery, b: &Discovery) -> bool {
    a.parents == b.parents && a.tags == b.tags && a.credentials == b.credentials
}

impl Discoveries {
    /// Makes the running discoveries those of `wanted`: unchanged ones go on
    /// (keeping what they found); changed ones restart, keeping what they
    /// found only if they select the same accounts (else they are pending
    /// again, and poll nothing until their first listing); removed ones stop
    /// and forget.
    pub(super) async fn apply(
        &mut self,
        wanted: &[Discovery],
        base: &(dyn Fn() -> ConfigLoader + Sync),
        poll: &crate::schedule::PollSettings,
        store: &Arc<Store>,
    ) {
        let mut keep = Vec::new();
        for (d, generation, task) in std::mem::take(&mut self.running) {
            if wanted.contains(&d) {
                keep.push((d, generation, task));
                continue;
            }
            task.abort();
            // Ended before its series are forgotten, so it records nothing after.
            let _ = task.await;
            let narrower = wanted
                .iter()
                .find(|w| w.name == d.name)
                .is_some_and(|w| !same_selection(w, &d));
            if narrower {
                self.found.remove(&d.name);
                self.listed.remove(&d.name);
                store.discovery_pending(&d.name);
            }
        }
        self.found
            .retain(|name, _| wanted.iter().any(|d| &d.name == name));
        self.listed
            .retain(|name| wanted.iter().any(|d| &d.name == name));
        let names: Vec<&str> = wanted.iter().map(|d| d.name.as_str()).collect();
        store.keep_discoveries(&names);
        let http_client = crate::aws::shared_http_client();
        for d in wanted {
            if let Some(i) = keep.iter().position(|(k, _, _)| k == d) {
                self.running.push(keep.swap_remove(i));
                continue;
            }
            let sdk_config = load_target_config(&d.caller(), poll, base, &http_client).await;
            self.next_generation += 1;
            let task = tokio::spawn(discovery::run(
                d.clone(),
                self.next_generation,
                discovery::client(&sdk_config),
                poll.timeout,
                Arc::clone(store),
                self.sender.clone(),
            ));
            self.running.push((d.clone(), self.next_generation, task));
        }
    }

    /// Whether a listing of `name` by the task of `generation` is current.
    pub(super) fn current(&self, name: &str, generation: u64) -> bool {
        self.running
            .iter()
            .any(|(d, g, _)| d.name == name && *g == generation)
    }

    pub(super) fn stop(&mut self) {
        for (_, _, task) in self.running.drain(..) {
            task.abort();
        }
    }
}

/// The listings `--state.directory` kept of the configured discoveries: what
/// they poll until their first listing of this run.
pub(super) fn restore_listings(config: &Config) -> BTreeMap<String, Vec<Member>> {
    let mut found = BTreeMap::new();
    let Some(dir) = &config.state_directory else {
        return found;
    };
    for d in &config.discoveries {
        match crate::state::load_listing(dir, d) {
            Ok(Some(members)) => {
                tracing::info!(discovery = %d.name, accounts = members.len(), "polling the accounts of the saved listing until the first listing");
                found.insert(d.name.clone(), members);
            }
            Ok(None) => {}
            Err(reason) => {
                tracing::warn!(discovery = %d.name, reason = %reason, "saved listing not used")
            }
        }
    }
    found
}

/// Keeps `members`, the listing of discovery `name`, in `dir` (when given)
/// for the next start; a failure is logged, and polling goes on.
pub(super) async fn save_listing(
    dir: Option<&std::path::Path>,
    configured: &[Discovery],
    name: &str,
    members: &[Member],
) {
    let (Some(dir), Some(d)) = (dir, configured.iter().find(|d| d.name == name)) else {
        return;
    };
    let (dir, d, members) = (dir.to_path_buf(), d.clone(), members.to_vec());
    let saved =
        tokio::task::spawn_blocking(move || crate::state::save_listing(&dir, &d, &members)).await;
    match saved {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            tracing::warn!(discovery = %name, error = %err, "listing not saved in --state.directory")
        }
        Err(err) => tracing::warn!(discovery = %name, error = %err, "listing not saved"),
    }
}

/// Runs each discovery of `config` once and returns, per discovery, the
/// targets it makes with the shard that polls each, or why it failed.
pub async fn discover_once(
    config: &Config,
    base: &(dyn Fn() -> ConfigLoader + Sync),
) -> Vec<(String, Result<Vec<(Target, u32)>, crate::error::PollError>)> {
    let http_client = crate::aws::shared_http_client();
    let mut out = Vec::new();
    for d in &config.discoveries {
        let sdk_config = load_target_config(&d.caller(), &config.poll, base, &http_client).await;
        let client = discovery::client(&sdk_config);
        // As the daemon would poll them: a name a fixed target has is left out.
        let listed = discovery::list_members(&client, d, config.poll.timeout)
            .await
            .map(|members| {
                let found = BTreeMap::from([(d.name.clone(), members)]);
                let all = Shard { index: 0, count: 1 };
                owned_targets(&config.targets, std::slice::from_ref(d), &found, all)
                    .into_iter()
                    .filter(|t| !config.targets.iter().any(|f| f.name == t.name))
                    .map(|t| {
                        let shard = Shard::of(&t.name, config.shard.count);
                        (t, shard)
                    })
                    .collect()
            });
        out.push((d.name.clone(), listed));
    }
    out
}
