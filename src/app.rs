//! Wiring: AWS configuration per target, one poller per (collector, target,
//! region), the HTTP server, reloads.

use std::future::Future;
use std::sync::Arc;

use aws_config::ConfigLoader;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::aws::{load_target_config, resolve_regions};
use crate::collector::KINDS;
use crate::config::{Config, Schedules};
use crate::http::Server;
use crate::metrics::{BuildInfo, Store};
use crate::target::{Credentials, Key, Target};
use crate::web::Watcher;

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

/// How many pollers `config` runs: one per collector, target and region.
pub fn poller_count(config: &Config) -> usize {
    config
        .targets
        .iter()
        .map(|t| t.regions.len() * t.collectors.list().split(',').count())
        .sum()
}

/// A human-readable list of what would be polled, for `--config.check`. It names
/// credential sources but never prints secrets.
pub fn describe(config: &Config, web: &Watcher) -> String {
    let mut out = String::new();
    for t in &config.targets {
        let creds = match &t.credentials {
            Credentials::DefaultChain => "default AWS credential chain".to_string(),
            Credentials::Profile(p) => format!("profile {p:?}"),
            Credentials::AssumeRole {
                role_arn,
                external_id,
                session_name,
                source_profile,
            } => format!(
                "assume role {role_arn} (session {session_name:?}{}{})",
                if external_id.is_some() {
                    ", with external id"
                } else {
                    ""
                },
                match source_profile {
                    Some(p) => format!(", source profile {p:?}"),
                    None => String::new(),
                }
            ),
        };
        out.push_str(&format!(
            "target {:?}: regions {}; api {}; collectors {}; credentials: {creds}{}\n",
            t.name,
            t.regions.join(", "),
            t.api.as_str(),
            t.collectors.list(),
            if t.expect_sandbox {
                "; sandbox expected"
            } else {
                ""
            }
        ));
    }
    let schedules = config.schedules();
    for kind in KINDS {
        let pollers: usize = config
            .targets
            .iter()
            .filter(|t| t.collectors.enabled(kind.name()))
            .map(|t| t.regions.len())
            .sum();
        if pollers == 0 {
            continue;
        }
        let p = schedules.of(kind.name());
        out.push_str(&format!(
            "{} collector: {pollers} poller(s), every {}, timeout {}, backoff up to {}, values kept {} after the last success\n",
            kind.name(),
            humantime::format_duration(p.interval),
            humantime::format_duration(p.timeout),
            humantime::format_duration(p.max_backoff),
            humantime::format_duration(p.stale_after),
        ));
    }
    out.push_str(&format!(
        "serving {} on {}\n",
        config.web.telemetry_path,
        config
            .web
            .listen_addresses
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if let Some(path) = &config.web.config_file {
        out.push_str(&format!(
            "web config {}: {}\n",
            path.display(),
            web.current().summary()
        ));
    }
    out
}

/// Starts the pollers of each collector `target` has on for every region of
/// `target`. Its regions must have been resolved
/// ([`crate::aws::resolve_regions`]).
pub async fn start_pollers(
    target: &Target,
    schedules: &Schedules,
    base: &(dyn Fn() -> ConfigLoader + Sync),
    http_client: &SharedHttpClient,
    store: &Store,
) -> JoinSet<()> {
    let sdk_config = load_target_config(target, &schedules.account, base, http_client).await;
    let mut tasks = JoinSet::new();
    for kind in KINDS {
        if !target.collectors.enabled(kind.name()) {
            continue;
        }
        let pollers = kind.pollers(target, &sdk_config, store, schedules.of(kind.name()));
        tracing::debug!(
            collector = kind.name(),
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

/// The running pollers, grouped by target so that a reload can stop and start
/// exactly the targets that changed.
struct Fleet {
    store: Arc<Store>,
    schedules: Schedules,
    http_client: SharedHttpClient,
    running: Vec<(Target, JoinSet<()>)>,
}

impl Fleet {
    fn new(store: Arc<Store>, schedules: Schedules) -> Self {
        Fleet {
            store,
            schedules,
            http_client: crate::aws::shared_http_client(),
            running: Vec::new(),
        }
    }

    /// Makes the running pollers those of `targets`.
    async fn apply(
        &mut self,
        targets: &[Target],
        base: &(dyn Fn() -> ConfigLoader + Sync),
    ) -> Changes {
        let mut changes = Changes::default();
        let mut kept = Vec::new();
        for (old, tasks) in std::mem::take(&mut self.running) {
            match targets.iter().find(|t| t.name == old.name) {
                Some(new) if *new == old => {
                    changes.unchanged.push(old.name.clone());
                    kept.push((old, tasks));
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
                        .map(|r| (Key::new(&t.name, r), t.collectors))
                })
                .collect(),
        );
        for target in targets {
            if let Some(i) = kept.iter().position(|(t, _)| t.name == target.name) {
                self.running.push(kept.swap_remove(i));
                continue;
            }
            if !changes.changed.contains(&target.name) {
                changes.added.push(target.name.clone());
            }
            let tasks = start_pollers(
                target,
                &self.schedules,
                base,
                &self.http_client,
                &self.store,
            )
            .await;
            self.running.push((target.clone(), tasks));
        }
        changes
    }

    async fn stop(&mut self) {
        for (_, mut tasks) in self.running.drain(..) {
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
    }
}

/// Re-reads the targets file and applies it; an invalid file is logged and
/// changes nothing.
async fn reload_targets(
    config: &Config,
    fleet: &mut Fleet,
    base: &(dyn Fn() -> ConfigLoader + Sync),
) -> Option<Changes> {
    let mut targets = match config.reread_targets()? {
        Ok(t) => t,
        Err(err) => {
            fleet.store.set_reload_result(false);
            tracing::error!(error = %err, "config file not reloaded; keeping the running targets");
            return None;
        }
    };
    if let Err(err) = resolve_regions(&mut targets, base).await {
        fleet.store.set_reload_result(false);
        tracing::error!(error = %err, "config file not reloaded; keeping the running targets");
        return None;
    }
    let changes = fleet.apply(&targets, base).await;
    fleet.store.set_reload_result(true);
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
/// builds the AWS clients from `base`, starts the pollers, serves HTTP with the
/// web config `web` loaded at start-up. Each notification of `reload` (SIGHUP in
/// the binary) re-reads the targets file and the web config file. Returns once
/// in-flight requests have finished and the pollers are stopped.
pub async fn run(
    config: &Config,
    web: Watcher,
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
    let mut fleet = Fleet::new(Arc::clone(&store), config.schedules());
    fleet.apply(&config.targets, base).await;
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
                reload_targets(config, &mut fleet, base).await;
                let web = Arc::clone(&web);
                let _ = tokio::task::spawn_blocking(move || web.recheck()).await;
            }
        }
    }
    watch.abort();
    fleet.stop().await;
    Ok(())
}
