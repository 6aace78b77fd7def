//! Wiring: AWS configuration per target, one poller per (collector, target,
//! region), the HTTP server, reloads.

use std::future::Future;
use std::sync::Arc;

use std::collections::{BTreeMap, BTreeSet};

use aws_config::{ConfigLoader, SdkConfig};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;

use crate::aws::{Sources, load_target_config};
use crate::collector::KINDS;
use crate::config::Config;
use crate::config::{resolve_discovery_regions, resolve_regions};
use crate::discovery::{self, Found};
use crate::http::Server;
use crate::metrics::{BuildInfo, Store};
use crate::schedule::Schedules;
use crate::target::{Credentials, Discovery, Key, Member, Shard, Target};
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

/// How many pollers `config` runs for its listed targets (discovered ones
/// come later): one per collector, target and region of this shard.
pub fn poller_count(config: &Config) -> usize {
    config
        .targets
        .iter()
        .filter(|t| config.shard.owns(&t.name))
        .map(|t| t.regions.len() * t.collectors.count(KINDS.len()))
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
    for d in &config.discoveries {
        let caller = match &d.credentials {
            Credentials::DefaultChain => "the default AWS credential chain".to_string(),
            Credentials::Profile(p) => format!("profile {p:?}"),
            Credentials::AssumeRole { role_arn, .. } => format!("role {role_arn}"),
        };
        let mut scope = if d.parents.is_empty() {
            "every ACTIVE account".to_string()
        } else {
            format!(
                "ACTIVE accounts under {} (recursively)",
                d.parents.join(", ")
            )
        };
        if !d.tags.is_empty() {
            let tags: Vec<String> = d.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            scope.push_str(&format!(" tagged {}", tags.join(", ")));
        }
        out.push_str(&format!(
            "discover {:?}: {scope} of the AWS Organization (ListAccounts{}{}), as {caller}, every {}; each account's target named {:?} assumes arn:aws:iam::<account>:role/{} (session {:?}{}); regions {}; api {}; collectors {}{} (AWS is not called by --config.check; --config.discover lists the accounts)\n",
            d.name,
            if d.parents.is_empty() { "" } else { "ForParent, ListOrganizationalUnitsForParent" },
            if d.tags.is_empty() { "" } else { ", ListTagsForResource" },
            humantime::format_duration(d.refresh),
            d.name_template,
            d.role_name,
            d.session_name,
            if d.external_id.is_some() { ", with external id" } else { "" },
            d.template.regions.join(", "),
            d.template.api.as_str(),
            d.template.collectors.list(),
            if d.template.expect_sandbox { "; sandbox expected" } else { "" },
        ));
    }
    if config.shard.count > 1 {
        let owned = config
            .targets
            .iter()
            .filter(|t| config.shard.owns(&t.name))
            .count();
        out.push_str(&format!(
            "shard {} of {}: polls {owned} of the {} listed target(s), and the discovered accounts that hash to it\n",
            config.shard.index,
            config.shard.count,
            config.targets.len()
        ));
    }
    let schedules = config.schedules();
    for kind in KINDS {
        let name = kind.spec().name;
        let pollers: usize = config
            .targets
            .iter()
            .filter(|t| t.collectors.enabled(name) && config.shard.owns(&t.name))
            .map(|t| t.regions.len())
            .sum();
        let discovering = config
            .discoveries
            .iter()
            .any(|d| d.template.collectors.enabled(name));
        let Some(p) = schedules.of(name).filter(|_| pollers > 0 || discovering) else {
            continue;
        };
        out.push_str(&format!(
            "{name} collector: {pollers} poller(s){}, every {}, timeout {}, backoff up to {}, values kept {} after the last success\n",
            if discovering { " and one per discovered account and region" } else { "" },
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
/// `target`, calling AWS with `sdk_config`. Its regions must have been
/// resolved ([`crate::config::resolve_regions`]).
pub fn start_pollers(
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
struct Fleet<'a> {
    store: Arc<Store>,
    schedules: Schedules,
    sources: Sources<'a>,
    running: Vec<(Target, JoinSet<()>)>,
}

impl<'a> Fleet<'a> {
    fn new(
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
    async fn apply(&mut self, targets: &[Target]) -> Changes {
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

    async fn stop(&mut self) {
        for (_, mut tasks) in self.running.drain(..) {
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
    }
}

/// The running discoveries and what each found last.
struct Discoveries {
    /// Each discovery, the generation of its task, the task.
    running: Vec<(Discovery, u64, tokio::task::JoinHandle<()>)>,
    /// What each found last: by a listing of this run, or the one saved in
    /// `--state.directory` before it.
    found: BTreeMap<String, Vec<Member>>,
    /// The discoveries whose accounts come from a listing of this run.
    listed: BTreeSet<String>,
    sender: mpsc::Sender<Found>,
    next_generation: u64,
}

/// Whether `a` and `b` select the same accounts: the same parents, tags and
/// caller. Other changes (regions, collectors, role) apply to the accounts
/// already found.
fn same_selection(a: &Discovery, b: &Discovery) -> bool {
    a.parents == b.parents && a.tags == b.tags && a.credentials == b.credentials
}

impl Discoveries {
    /// Makes the running discoveries those of `wanted`: unchanged ones go on
    /// (keeping what they found); changed ones restart, keeping what they
    /// found only if they select the same accounts (else they are pending
    /// again, and poll nothing until their first listing); removed ones stop
    /// and forget.
    async fn apply(
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
    fn current(&self, name: &str, generation: u64) -> bool {
        self.running
            .iter()
            .any(|(d, g, _)| d.name == name && *g == generation)
    }

    fn stop(&mut self) {
        for (_, _, task) in self.running.drain(..) {
            task.abort();
        }
    }
}

/// The fixed targets and discoveries of the configuration (from start-up,
/// then the last good reload), the shard, and the fleet polling what they
/// give this shard.
struct Targets<'a> {
    fixed: Vec<Target>,
    discoveries: Discoveries,
    configured: Vec<Discovery>,
    shard: Shard,
    fleet: Fleet<'a>,
    /// `--state.directory`.
    state: Option<std::path::PathBuf>,
}

impl Targets<'_> {
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
}

/// The listings `--state.directory` kept of the configured discoveries: what
/// they poll until their first listing of this run.
fn restore_listings(config: &Config) -> BTreeMap<String, Vec<Member>> {
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
async fn save_listing(
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

/// Re-reads the targets file and applies it; an invalid file is logged and
/// changes nothing.
async fn reload_targets<'a>(
    config: &Config,
    targets: &mut Targets<'a>,
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

/// Runs the exporter on already bound `listeners` until `shutdown` resolves:
/// builds the AWS clients from `base`, starts the discoveries and the
/// pollers, serves HTTP with the web config `web` loaded at start-up. Each
/// notification of `reload` (SIGHUP in the binary) re-reads the targets file
/// and the web config file. Returns once in-flight requests have finished and
/// the pollers are stopped.
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
    let (sender, mut found) = mpsc::channel::<Found>(16);
    let mut targets = Targets {
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
                // Only listings of a discovery's current task count: one a
                // reload replaced may have sent its last before it stopped.
                if targets.discoveries.current(&name, generation) {
                    save_listing(targets.state.as_deref(), &targets.configured, &name, &members).await;
                    targets.discoveries.found.insert(name.clone(), members);
                    targets.discoveries.listed.insert(name.clone());
                    let changes = targets.refresh().await;
                    targets.fleet.store.discovery_applied(&name);
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
        }
    }
    watch.abort();
    targets.discoveries.stop();
    targets.fleet.stop().await;
    Ok(())
}
