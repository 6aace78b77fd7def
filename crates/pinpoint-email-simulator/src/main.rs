//! `pinpoint-email-simulator`: the project's simulator of the Pinpoint Email / SES
//! `GetAccount` API as a program, to rehearse dashboards and alert routing.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use pinpoint_email_simulator::organizations::{Member, Organization, Sending};
use pinpoint_email_simulator::{Scenario, Simulator};

/// Serves the GetAccount API of Amazon Pinpoint Email (GET /v1/email/account) and
/// SES v2 (GET /v2/email/account) on a local port, checking SigV4 signatures and
/// answering each region as a scenario file says: account states over time,
/// throttling, server errors, delays, malformed bodies.
///
/// Point pinpoint-email-exporter at it with AWS_ENDPOINT_URL and the scenario's
/// credentials; the simulator prints the exact command.
#[derive(Debug, Parser)]
#[command(name = "pinpoint-email-simulator", version, about, long_about)]
struct Cli {
    /// Scenario file (YAML) to play; default: the built-in demo scenario
    /// (scenarios/demo.yml).
    #[arg(long = "scenario", value_name = "FILE")]
    scenario: Option<PathBuf>,

    /// Address to listen on.
    #[arg(
        long = "web.listen-address",
        value_name = "ADDR",
        default_value = "127.0.0.1:10920"
    )]
    listen_address: SocketAddr,

    /// Simulate an AWS Organization of this many ACTIVE accounts (ids from
    /// 100000000000), each letting --organization.role-name be assumed and
    /// answering GetAccount on its own.
    #[arg(long = "organization.accounts", value_name = "N", default_value_t = 0)]
    organization_accounts: usize,

    /// The role every account of the organization lets be assumed.
    #[arg(
        long = "organization.role-name",
        value_name = "NAME",
        default_value = "pinpoint-email-exporter"
    )]
    organization_role_name: String,

    /// The share of the organization's account-regions that send mail
    /// (production access, mail sent, reputation datapoints), picked by a
    /// hash of account and region; the others are idle sandbox regions
    /// [default: all]
    #[arg(long = "organization.active-share", value_name = "RATIO")]
    organization_active_share: Option<f64>,

    /// With --organization.active-share: the first idle account-region asked
    /// for starts sending this long after (the stats say which).
    #[arg(long = "organization.turn-active-after", value_name = "DURATION", value_parser = humantime::parse_duration)]
    organization_turn_active_after: Option<std::time::Duration>,

    /// How long AssumeRole credentials last (AWS: 1h by default).
    #[arg(long = "sts.session-duration", value_name = "DURATION", value_parser = humantime::parse_duration)]
    session_duration: Option<std::time::Duration>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(share) = cli.organization_active_share
        && !(0.0..=1.0).contains(&share)
    {
        eprintln!(
            "pinpoint-email-simulator: --organization.active-share {share} must be a ratio from 0 to 1 (0.05 is 5 %)"
        );
        return ExitCode::from(2);
    }
    let (scenario, name) = match &cli.scenario {
        Some(path) => (Scenario::from_file(path), path.display().to_string()),
        None => (Scenario::demo(), "the built-in demo scenario".to_string()),
    };
    let scenario = match scenario {
        Ok(s) => s,
        Err(err) => {
            eprintln!("pinpoint-email-simulator: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("pinpoint-email-simulator: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(cli.listen_address).await {
            Ok(l) => l,
            Err(err) => {
                eprintln!(
                    "pinpoint-email-simulator: cannot listen on {}: {err}; choose another --web.listen-address",
                    cli.listen_address
                );
                return ExitCode::FAILURE;
            }
        };
        let creds = scenario.credentials.clone();
        let simulator = Simulator::start(listener, &creds.access_key_id, &creds.secret_access_key);
        simulator.load_scenario(&scenario);
        if cli.organization_accounts > 0 {
            simulator.set_organization(Organization {
                members: (0..cli.organization_accounts)
                    .map(|i| Member::active(format!("{}", 100_000_000_000 + i), format!("account-{i}")))
                    .collect(),
                role_name: cli.organization_role_name.clone(),
                sending: Sending {
                    share: cli.organization_active_share,
                    one_turns_active_after: cli.organization_turn_active_after,
                },
                ..Organization::default()
            });
        }
        if let Some(d) = cli.session_duration {
            simulator.set_session_duration(d);
        }
        println!(
            "pinpoint-email-simulator listening on {}, playing {name}\n\
             Point the exporter at it:\n  \
             AWS_ENDPOINT_URL={} AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} {} {}",
            simulator.endpoint_url(),
            simulator.endpoint_url(),
            creds.access_key_id,
            creds.secret_access_key,
            exporter_command(),
            scenario.exporter_flags().join(" "),
        );
        let _ = tokio::signal::ctrl_c().await;
        ExitCode::SUCCESS
    })
}

/// How to start the exporter from here: the binary built beside this one (both
/// come from the same `cargo build`), else through cargo.
fn exporter_command() -> String {
    let sibling = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("pinpoint-email-exporter")))
        .filter(|path| path.is_file());
    match sibling {
        Some(path) => {
            let shown = std::env::current_dir()
                .ok()
                .and_then(|cwd| path.strip_prefix(cwd).ok().map(|p| p.to_path_buf()))
                .unwrap_or(path);
            shown.display().to_string()
        }
        None => "cargo run --".to_string(),
    }
}
