//! Wiring: AWS configuration per target, one poller per (collector, target,
//! region), the HTTP server, reloads.

mod cost;
mod describe;
mod discoveries;
mod fleet;

pub use describe::{cost_of, describe, poller_count};
pub use discoveries::discover_once;
pub use fleet::{Changes, owned_targets};

use discoveries::{Discoveries, restore_listings, save_listing};
use fleet::Fleet;

use std::future::Future;
use std::sync::Arc;

use std::collections::BTreeSet;

use aws_config::ConfigLoader;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};

use crate::aws::Sources;
use crate::config::Config;
use crate::config::{resolve_discovery_regions, resolve_regions};
use crate::discovery::Found;
use crate::http::Server;
use crate::metrics::{BuildInfo, Store};
use crate::target::{Discovery, Key, Member, Shard, Target};
use crate::web_config::WebConfig;

/// What can stop the exporter from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The metric registry rejected a metric (a bug: names are fixed in code).
    #[error("setting up metrics failed: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// Every (target, region) pair of `config`, in configuration order.
pub fn keys(config: &Config) -> Vec<Key> {
    config
        .targets
        .iter()
        .flat_map(|t| t.regions.iter().map(|r| Key::new(&t.name, r)))
        .collect()
}

/// What this exporter polls: the fixed targets and discoveries of the
/// configuration (from start-up, then the last good reload), the shard, and
/// the fleet polling what they give this shard.
struct Polling<'a> {
    fixed: Vec<Target>,
    discoveries: Discoveries,
    configured: Vec<Discovery>,
    shard: Shard,
    fleet: Fleet<'a>,
    /// `--state.directory`.
    state: Option<std::path::PathBuf>,
}

impl Polling<'_> {
    /// Polls what the configuration and the discoveries' last listings give
    /// this shard.
    async fn refresh(&mut self) -> Changes {
        let owned = owned_targets(
            &self.fixed,
            &self.configured,
            &self.discoveries.found,
            self.shard,
        );
        self.fleet.store.set_shard(self.shard, owned.len());
        let listed = self
            .configured
            .iter()
            .all(|d| self.discoveries.listed.contains(&d.name));
        self.fleet.store.set_inventory(&owned, listed);
        self.fleet.apply(&owned).await
    }

    /// Applies `members`, a listing of discovery `name`, when it comes from
    /// the discovery's current task (one a reload replaced may have sent its
    /// last before it stopped), and keeps it for the next start.
    async fn listed(&mut self, name: String, generation: u64, members: Vec<Member>) {
        if !self.discoveries.current(&name, generation) {
            return;
        }
        save_listing(self.state.as_deref(), &self.configured, &name, &members).await;
        self.discoveries.found.insert(name.clone(), members);
        self.discoveries.listed.insert(name.clone());
        let changes = self.refresh().await;
        self.fleet.store.discovery_applied(&name);
        if !(changes.added.is_empty() && changes.removed.is_empty() && changes.changed.is_empty()) {
            tracing::info!(
                discovery = %name,
                added = changes.added.len(),
                removed = changes.removed.len(),
                changed = changes.changed.len(),
                unchanged = changes.unchanged.len(),
                "discovered accounts applied"
            );
        }
    }
}

/// Re-reads the targets file and applies it; an invalid file is logged and
/// changes nothing.
async fn reload_targets<'a>(
    config: &Config,
    targets: &mut Polling<'a>,
    base: &'a (dyn Fn() -> ConfigLoader + Sync),
) -> Option<Changes> {
    let store = Arc::clone(&targets.fleet.store);
    let mut file = match config.reread_targets()? {
        Ok(t) => t,
        Err(err) => {
            store.set_reload_result(false);
            tracing::error!(error = %err, "config file not reloaded; keeping the running targets");
            return None;
        }
    };
    let resolved = match resolve_regions(&mut file.targets, base).await {
        Ok(()) => resolve_discovery_regions(&mut file.discoveries, base).await,
        Err(err) => Err(err),
    };
    if let Err(err) = resolved {
        store.set_reload_result(false);
        tracing::error!(error = %err, "config file not reloaded; keeping the running targets");
        return None;
    }
    // Profiles and credentials are read anew.
    targets.fleet.sources = Sources::new(
        base,
        targets.fleet.schedules.poll,
        crate::aws::shared_http_client(),
    );
    targets
        .discoveries
        .apply(&file.discoveries, base, &config.poll, &store)
        .await;
    targets.fixed = file.targets;
    targets.configured = file.discoveries;
    let changes = targets.refresh().await;
    store.set_reload_result(true);
    tracing::info!(
        added = ?changes.added,
        removed = ?changes.removed,
        changed = ?changes.changed,
        unchanged = changes.unchanged.len(),
        "config file reloaded"
    );
    Some(changes)
}

/// Runs the exporter on already bound `listeners` until `shutdown` resolves:
/// builds the AWS clients from `base`, starts the discoveries and the
/// pollers, serves HTTP with the web config `web` loaded at start-up. Each
/// notification of `reload` (SIGHUP in the binary) re-reads the targets file
/// and the web config file. Returns once in-flight requests have finished and
/// the pollers are stopped.
pub async fn run(
    config: &Config,
    web: WebConfig,
    base: &(dyn Fn() -> ConfigLoader + Sync),
    listeners: Vec<TcpListener>,
    shutdown: impl Future<Output = ()>,
    reload: Arc<Notify>,
) -> Result<(), StartError> {
    let web = Arc::new(web);
    if config.web.config_file.is_some() {
        let current = web.current();
        tracing::info!(settings = %current.summary(), "web config loaded");
        for warning in &current.warnings {
            tracing::warn!(warning = %warning, "web config");
        }
    }
    let store = Arc::new(
        Store::new(
            keys(config),
            config.poll.stale_after,
            &BuildInfo::current(),
            true,
        )?
        .with_durations_per_target(config.durations_per_target),
    );
    let reported = Arc::clone(&store);
    web.report_to(move |applied| reported.set_web_reload_result(applied));
    let (sender, mut found) = mpsc::channel::<Found>(16);
    let mut targets = Polling {
        fixed: config.targets.clone(),
        discoveries: Discoveries {
            running: Vec::new(),
            found: restore_listings(config),
            listed: BTreeSet::new(),
            sender,
            next_generation: 0,
        },
        configured: config.discoveries.clone(),
        shard: config.shard,
        fleet: Fleet::new(Arc::clone(&store), config.schedules(), base),
        state: config.state_directory.clone(),
    };
    targets.refresh().await;
    targets
        .discoveries
        .apply(&config.discoveries, base, &config.poll, &store)
        .await;
    let watch = tokio::spawn(Arc::clone(&web).watch());
    let server = Arc::new(Server::new(
        store,
        config.web.telemetry_path.clone(),
        config.web.max_connections,
        Arc::clone(&web),
    ));
    let serve = server.serve(listeners, shutdown);
    tokio::pin!(serve);
    loop {
        tokio::select! {
            _ = &mut serve => break,
            _ = reload.notified() => {
                if config.targets_file.is_none() {
                    tracing::info!("reload requested; there is no --config.file to re-read");
                }
                reload_targets(config, &mut targets, base).await;
                let web = Arc::clone(&web);
                let _ = tokio::task::spawn_blocking(move || web.recheck()).await;
            }
            Some((name, generation, members)) = found.recv() => {
                targets.listed(name, generation, members).await;
            }
        }
    }
    watch.abort();
    targets.discoveries.stop();
    targets.fleet.stop().await;
    Ok(())
}
