//! The `pinpoint-email-exporter` binary: parse flags, set up logging, run.

use std::process::ExitCode;
use std::sync::Arc;

use aws_config::ConfigLoader;
use clap::Parser;
use pinpoint_email_exporter::WebConfig;
#[cfg(feature = "demo")]
use pinpoint_email_exporter::demo;
use pinpoint_email_exporter::{Cli, Config, LogFormat, LogLevel};
use pinpoint_email_exporter::{default_loader, resolve_discovery_regions, resolve_regions};

use tokio::sync::Notify;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Exit code for configuration errors, as for command-line usage errors.
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse(); // exits with code 2 on unknown flags or bad values
    if cli.version {
        print!(
            "{}",
            pinpoint_email_exporter::BuildInfo::current().version_text()
        );
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_cli(cli) {
        Ok(c) => c,
        Err(err) => {
            eprintln!("pinpoint-email-exporter: {err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    init_logging(config.log_level, config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("pinpoint-email-exporter: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(config))
}

async fn run(mut config: Config) -> ExitCode {
    // Read once here: validated, summarised by --config.check, then served.
    let web = match WebConfig::new(config.web.config_file.clone()) {
        Ok(web) => web,
        Err(err) => {
            eprintln!("pinpoint-email-exporter: {err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let prepared = if config.demo {
        demo_regions(&mut config)
    } else {
        match resolve_regions(&mut config.targets, &default_loader).await {
            Ok(()) => resolve_discovery_regions(&mut config.discoveries, &default_loader).await,
            Err(err) => Err(err),
        }
        .map_err(|e| e.to_string())
    };
    if let Err(err) = prepared {
        eprintln!("pinpoint-email-exporter: {err}");
        return ExitCode::from(EXIT_CONFIG);
    }
    if config.check_only {
        print!("{}", pinpoint_email_exporter::describe(&config, &web));
        println!("configuration OK");
        return ExitCode::SUCCESS;
    }
    if config.discover_only {
        return discover(&config).await;
    }
    let listeners = if config.web.systemd_socket {
        pinpoint_email_exporter::systemd_sockets()
    } else {
        pinpoint_email_exporter::bind_all(&config.web.listen_addresses)
            .map_err(|e| format!("{e}; choose another --web.listen-address"))
    };
    let listeners = match listeners {
        Ok(l) => l,
        Err(err) => {
            eprintln!("pinpoint-email-exporter: {err}");
            return ExitCode::FAILURE;
        }
    };
    let addresses: Vec<String> = listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .map(|a| a.to_string())
        .collect();
    // In demo mode the simulator must outlive the exporter: keep it bound here.
    let (_simulator, base) = match aws_base(&config).await {
        Ok(pair) => pair,
        Err(err) => {
            eprintln!("pinpoint-email-exporter: cannot start the demo simulator: {err}");
            return ExitCode::FAILURE;
        }
    };
    let build = pinpoint_email_exporter::BuildInfo::current();
    tracing::info!(
        version = %build.version,
        revision = %build.revision,
        address = %addresses.join(", "),
        pollers = pinpoint_email_exporter::poller_count(&config),
        interval = %humantime::format_duration(config.poll.interval),
        "pinpoint-email-exporter listening"
    );
    let reload = Arc::new(Notify::new());
    forward_sighup(Arc::clone(&reload));
    match pinpoint_email_exporter::run(&config, web, &*base, listeners, shutdown_signal(), reload)
        .await
    {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!(error = %err, "exporter failed");
            ExitCode::FAILURE
        }
    }
}

/// `--config.discover`: runs each discovery once and prints the targets it
/// makes and the shard of each; exit code 1 when a discovery fails.
async fn discover(config: &Config) -> ExitCode {
    let mut failed = false;
    let mut discovered = Vec::new();
    for (name, listed) in pinpoint_email_exporter::discover_once(config, &default_loader).await {
        match listed {
            Ok(targets) => {
                discovered.extend(targets.iter().map(|(t, _)| t.clone()));
                println!("discovery {name:?}: {} account(s)", targets.len());
                for (target, shard) in targets {
                    let role = match &target.credentials {
                        pinpoint_email_exporter::Credentials::AssumeRole { role_arn, .. } => {
                            role_arn.as_str()
                        }
                        _ => "",
                    };
                    let mine = if config.shard.count > 1 && shard == config.shard.index {
                        " (this shard)"
                    } else {
                        ""
                    };
                    println!(
                        "  target {:?}: assume {role}; regions {}; shard {shard} of {}{mine}",
                        target.name,
                        target.regions.join(", "),
                        config.shard.count
                    );
                }
            }
            Err(err) => {
                failed = true;
                println!("discovery {name:?} failed ({}): {err}", err.reason());
            }
        }
    }
    print!("{}", pinpoint_email_exporter::cost_of(config, &discovered));
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Where the AWS SDK's configuration starts from: the standard AWS chain, or with
/// `--demo` a simulator started on a free loopback port (returned so that it lives
/// as long as the exporter).
async fn aws_base(config: &Config) -> Result<(Option<Demo>, BaseLoader), String> {
    if !config.demo {
        return Ok((None, Box::new(default_loader)));
    }
    #[cfg(feature = "demo")]
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
        let (simulator, loader) = demo::start(listener).map_err(|e| e.to_string())?;
        tracing::info!(
            simulator = %simulator.endpoint_url(),
            scenario = "scenarios/demo.yml",
            "demo mode: polling the built-in simulator of the AWS API, not AWS; no AWS account or credentials are used"
        );
        Ok((Some(simulator), Box::new(loader)))
    }
    #[cfg(not(feature = "demo"))]
    Err(NO_DEMO.to_string())
}

/// The demo's regions are those of its scenario.
fn demo_regions(config: &mut Config) -> Result<(), String> {
    #[cfg(feature = "demo")]
    return demo::set_regions(&mut config.targets).map_err(|e| e.to_string());
    #[cfg(not(feature = "demo"))]
    {
        let _ = config;
        Err(NO_DEMO.to_string())
    }
}

#[cfg(not(feature = "demo"))]
const NO_DEMO: &str =
    "--demo: this binary was built without the demo; build it with the default features";

/// The base AWS config loader: the standard chain, or the demo's simulator.
type BaseLoader = Box<dyn Fn() -> ConfigLoader + Sync>;

#[cfg(feature = "demo")]
type Demo = pinpoint_email_simulator::Simulator;
#[cfg(not(feature = "demo"))]
type Demo = ();

/// Turns every SIGHUP into a reload of the config files.
fn forward_sighup(reload: Arc<Notify>) {
    #[cfg(unix)]
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hup) => {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    tracing::info!(signal = "SIGHUP", "reloading the config files");
                    reload.notify_one();
                }
            });
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for SIGHUP; reloads need a restart")
        }
    }
    #[cfg(not(unix))]
    let _ = reload;
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(s) => s,
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM; only SIGINT stops the exporter");
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => tracing::info!(signal = "SIGINT", "shutting down"),
            _ = term.recv() => tracing::info!(signal = "SIGTERM", "shutting down"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
    }
}

fn init_logging(level: LogLevel, format: LogFormat) {
    let filter = EnvFilter::new(level.directives());
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    // `target` is the target (account) whose poll the event is about,
                    // as in the metrics' label, not the Rust module.
                    .with_target(false)
                    .with_writer(std::io::stderr),
            )
            .init(),
        LogFormat::Logfmt => registry
            .with(
                tracing_logfmt::builder()
                    .with_target(false)
                    .layer()
                    .with_writer(std::io::stderr),
            )
            .init(),
    }
}
