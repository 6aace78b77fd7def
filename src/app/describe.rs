//! `--config.check`'s description of what would be polled, and how many
//! pollers that is.

use crate::collector::KINDS;
use crate::config::Config;
use crate::target::{Credentials, Discovery, Target};
use crate::web_config::WebConfig;

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

/// What polling the listed targets of this shard and `discovered` costs,
/// as `--config.check` and `--config.discover` print it.
pub fn cost_of(config: &Config, discovered: &[Target]) -> String {
    let owned = config
        .targets
        .iter()
        .chain(discovered)
        .filter(|t| config.shard.owns(&t.name));
    let estimate = super::cost::estimate(owned, &config.schedules());
    super::cost::describe(&estimate, config.cost_share, config.cloudwatch_price)
}

/// A human-readable list of what would be polled, for `--config.check`. It names
/// credential sources but never prints secrets.
pub fn describe(config: &Config, web: &WebConfig) -> String {
    let mut out = String::new();
    for t in &config.targets {
        out.push_str(&describe_target(t));
    }
    for d in &config.discoveries {
        out.push_str(&describe_discovery(d));
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
    out.push_str(&cost_of(config, &[]));
    if !config.discoveries.is_empty() {
        out.push_str("  (without the accounts discoveries would add: --config.discover lists them and estimates with them)\n");
    }
    if let Some(idle) = config.idle_interval {
        out.push_str(&format!(
            "idle regions: polled by the collectors that follow sending every {}; a region that starts sending gets their first value within one account interval and one of their own intervals\n",
            humantime::format_duration(idle)
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

/// How a target's credentials are got, never their secrets.
fn credentials(credentials: &Credentials) -> String {
    match credentials {
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
    }
}

/// The line of a listed target.
fn describe_target(t: &Target) -> String {
    let creds = credentials(&t.credentials);
    format!(
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
    )
}

/// The line of a discovery.
fn describe_discovery(d: &Discovery) -> String {
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
    format!(
        "discover {:?}: {scope} of the AWS Organization (ListAccounts{}{}), as {caller}, every {}; each account's target named {:?} assumes arn:aws:iam::<account>:role/{} (session {:?}{}); regions {}; api {}; collectors {}{} (AWS is not called by --config.check; --config.discover lists the accounts)\n",
        d.name,
        if d.parents.is_empty() {
            ""
        } else {
            "ForParent, ListOrganizationalUnitsForParent"
        },
        if d.tags.is_empty() {
            ""
        } else {
            ", ListTagsForResource"
        },
        humantime::format_duration(d.refresh),
        d.name_template,
        d.role_name,
        d.session_name,
        if d.external_id.is_some() {
            ", with external id"
        } else {
            ""
        },
        d.template.regions.join(", "),
        d.template.api.as_str(),
        d.template.collectors.list(),
        if d.template.expect_sandbox {
            "; sandbox expected"
        } else {
            ""
        },
    )
}
