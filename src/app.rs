//! Wiring: AWS clients per target, one poller per (target, region), the HTTP server.

use std::future::Future;
use std::sync::Arc;

use aws_config::ConfigLoader;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::aws::{AccountSource, Source, TargetClients, load_target_config};
use crate::config::{Config, Credentials, PollSettings};
use crate::http::Server;
use crate::metrics::{BuildInfo, Key, Store};
use crate::poller;

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

/// A human-readable list of what would be polled, for `--config.check`. It names
/// credential sources but never prints secrets.
pub fn describe(config: &Config) -> String {
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
            "target {:?}: regions {}; api {}; credentials: {creds}\n",
            t.name,
            t.regions.join(", "),
            t.api.as_str()
        ));
    }
    let p = &config.poll;
    out.push_str(&format!(
        "{} poller(s), every {}, timeout {}, backoff up to {}, values kept {} after the last success\n",
        keys(config).len(),
        humantime::format_duration(p.interval),
        humantime::format_duration(p.timeout),
        humantime::format_duration(p.max_backoff),
        humantime::format_duration(p.stale_after),
    ));
    out.push_str(&format!(
        "serving {} on {}\n",
        config.web.telemetry_path, config.web.listen_address
    ));
    out
}

/// Starts one poller task per `(key, source)` pair.
pub fn spawn_pollers<S: AccountSource>(
    sources: Vec<(Key, S)>,
    store: &Arc<Store>,
    settings: PollSettings,
) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    for (key, source) in sources {
        tasks.spawn(poller::run(
            key,
            source,
            Arc::clone(store),
            settings,
            fastrand::f64,
        ));
    }
    tasks
}

/// Builds the SDK sources of every (target, region) of `config`. Targets whose
/// regions are still empty must have been resolved first
/// ([`crate::aws::resolve_regions`]).
pub async fn sdk_sources(
    config: &Config,
    base: &(dyn Fn() -> ConfigLoader + Sync),
) -> Vec<(Key, Source)> {
    let mut sources = Vec::new();
    let http_client = crate::aws::shared_http_client();
    for target in &config.targets {
        let sdk_config = load_target_config(target, &config.poll, base, &http_client).await;
        let clients = TargetClients::new(&sdk_config);
        for region in &target.regions {
            sources.push((
                Key::new(&target.name, region),
                Source::new(
                    target.api,
                    &clients,
                    region,
                    config.poll.timeout,
                    format!("{}/{region}", target.name),
                ),
            ));
        }
    }
    sources
}

/// Runs the exporter on an already bound `listener` until `shutdown` resolves:
/// builds the AWS clients from `base`, starts the pollers, serves HTTP. Returns
/// once in-flight requests have finished and the pollers are stopped.
pub async fn run(
    config: &Config,
    base: &(dyn Fn() -> ConfigLoader + Sync),
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let store = Arc::new(Store::new(
        keys(config),
        config.poll.stale_after,
        &BuildInfo::current(),
        true,
    )?);
    let sources = sdk_sources(config, base).await;
    let mut pollers = spawn_pollers(sources, &store, config.poll);
    let server = Arc::new(Server::new(
        store,
        config.web.telemetry_path.clone(),
        config.web.max_connections,
    ));
    server.serve(listener, shutdown).await;
    pollers.abort_all();
    while pollers.join_next().await.is_some() {}
    Ok(())
}
