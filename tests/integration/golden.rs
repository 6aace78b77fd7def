//! The full `/metrics` exposition of fixed account states, compared with a checked-in
//! golden file and linted with promtool; and the metrics table of docs/metrics.md compared
//! with what the exporter exports.
//!
//! Regenerate the golden file with `UPDATE_GOLDEN=1 cargo test --test integration golden::`.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use pinpoint_email_exporter::Key;
use pinpoint_email_exporter::PollError;
use pinpoint_email_exporter::collector::account::Account;
use pinpoint_email_exporter::collector::dedicated_ips::{DedicatedIp, DedicatedIps};
use pinpoint_email_exporter::collector::identities::{Identities, Identity, MailFrom};
use pinpoint_email_exporter::collector::reputation::{Datapoint, Reputation};
use pinpoint_email_exporter::{BuildInfo, Format, Store};

fn account(status: &str, sent: f64, max: f64, rate: f64, production: bool) -> Account {
    Account {
        max_24_hour_send: max,
        max_send_rate: rate,
        sent_last_24_hours: sent,
        sending_enabled: status != "SHUTDOWN",
        production_access_enabled: production,
        dedicated_ip_auto_warmup_enabled: production,
        enforcement_status: Some(status.to_string()),
        api: pinpoint_email_exporter::Api::PinpointEmail,
        ..Default::default()
    }
}

/// A store holding one of every situation the exposition must show: healthy,
/// probation in the sandbox, shutdown, an unlimited quota, a status AWS added,
/// none at all (UNKNOWN), a sandbox that is expected, a failing region that keeps
/// its last values, and one that never succeeded.
fn populated() -> Store {
    let keys = [
        Key::new("production", "us-east-1"),
        Key::new("production", "eu-west-1"),
        Key::new("production", "ap-southeast-2"),
        Key::new("marketing", "us-east-1"),
        Key::new("marketing", "eu-central-1"),
        Key::new("partner", "us-west-2"),
        Key::new("ses", "eu-west-2"),
        Key::new("staging", "eu-west-1"),
    ];
    let store = Store::new(
        keys.to_vec(),
        Duration::from_secs(900),
        &BuildInfo {
            version: "0.0.0-golden".into(),
            revision: "golden".into(),
            branch: "main".into(),
            build_date: "20261127-12:00:00".into(),
            rust_version: "1.95.0".into(),
        },
        false,
    )
    .unwrap();
    let accounts = store.section::<Account>();
    let ms = Duration::from_millis;
    let t0 = 1_790_000_000.0;
    accounts.record(
        &keys[0],
        &Ok(account("HEALTHY", 12_500.0, 50_000.0, 14.0, true)),
        ms(80),
        t0,
    );
    accounts.record(
        &keys[1],
        &Ok(account("PROBATION", 150.0, 200.0, 1.0, false)),
        ms(120),
        t0,
    );
    accounts.record(
        &keys[2],
        &Ok(account("SHUTDOWN", 0.0, 50_000.0, 14.0, true)),
        ms(30),
        t0,
    );
    accounts.record(
        &keys[3],
        &Ok(account("HEALTHY", 1_000_000.0, -1.0, -1.0, true)),
        ms(600),
        t0,
    );
    accounts.record(
        &keys[4],
        &Ok(account("UNDER_REVIEW", 10.0, 200.0, 1.0, false)),
        ms(3),
        t0,
    );
    accounts.record(
        &keys[4],
        &Err(PollError::Throttled("slow down".into())),
        ms(40),
        t0 + 60.0,
    );
    accounts.record(
        &keys[4],
        &Err(PollError::Throttled("slow down".into())),
        ms(45),
        t0 + 180.0,
    );
    accounts.record(
        &keys[5],
        &Err(PollError::Auth("AccessDenied".into())),
        ms(2_500),
        t0,
    );
    let sesv2 = Account {
        api: pinpoint_email_exporter::Api::Sesv2,
        vdm_enabled: Some(true),
        review_status: Some("PENDING".into()),
        suppressed_reasons: Some(vec!["COMPLAINT".into()]),
        vdm_engagement_metrics_enabled: Some(true),
        vdm_optimized_shared_delivery_enabled: Some(false),
        pricing_plan: Some("ESSENTIALS".into()),
        next_pricing_plan: Some("PRO".into()),
        ..account("HEALTHY", 150.0, 200.0, 1.0, false)
    };
    accounts.record(&keys[6], &Ok(sesv2), ms(90), t0);
    // A target meant to stay in the sandbox, whose answer has no EnforcementStatus.
    let staging = Account {
        enforcement_status: None,
        sandbox_expected: true,
        ..account("HEALTHY", 3.0, 200.0, 1.0, false)
    };
    accounts.record(&keys[7], &Ok(staging), ms(70), t0);
    // Reputation: rates over the warning thresholds, an account without
    // datapoints (it sends nothing), and a CloudWatch call refused.
    let reputation = store.section::<Reputation>();
    let at = |value, unix_seconds| {
        Some(Datapoint {
            value,
            unix_seconds,
        })
    };
    reputation.record(
        &keys[0],
        &Ok(Reputation {
            bounce_rate: at(0.031, t0 - 3600.0),
            complaint_rate: at(0.0006, t0 - 3600.0),
            volumes: [20_000.0, 19_360.0, 620.0, 12.0, 20.0],
        }),
        ms(60),
        t0,
    );
    reputation.record(&keys[1], &Ok(Reputation::default()), ms(50), t0);
    reputation.record(
        &keys[2],
        &Err(PollError::Auth(
            "HTTP 403 AccessDenied: not authorized to perform cloudwatch:GetMetricData".into(),
        )),
        ms(40),
        t0,
    );
    // Dedicated IPs: one warming up, one done, one in a managed pool, and more
    // than the cap.
    let ip = |ip: &str, pool: &str, p: Option<u8>, status: &str| DedicatedIp {
        ip: ip.into(),
        pool: pool.into(),
        warmup_percentage: p,
        warmup_status: status.into(),
    };
    store.section::<DedicatedIps>().record(
        &keys[0],
        &Ok(DedicatedIps {
            ips: vec![
                ip("198.51.100.7", "marketing", Some(40), "IN_PROGRESS"),
                ip("198.51.100.8", "marketing", Some(100), "DONE"),
                ip("198.51.100.20", "managed", None, "NOT_APPLICABLE"),
            ],
            dropped: 2,
        }),
        ms(70),
        t0,
    );
    store.section::<DedicatedIps>().record(
        &keys[1],
        &Err(PollError::Auth("AccessDeniedException".into())),
        ms(40),
        t0,
    );
    // Identities: a domain with DKIM and a failing MAIL FROM domain, an
    // address, a domain whose DKIM AWS reports in a status of its own (SES
    // v2), and one read through Pinpoint Email (no verification status);
    // more than the cap.
    let mut domain = Identity {
        name: "example.com".into(),
        identity_type: "DOMAIN".into(),
        sending_enabled: true,
        verified_for_sending: true,
        verification_status: Some("SUCCESS".into()),
        dkim_status: "SUCCESS".into(),
        dkim_signing_enabled: true,
        dkim_origin: Some("AWS_SES".into()),
        mail_from: Some(MailFrom {
            domain: "bounce.example.com".into(),
            status: "TEMPORARY_FAILURE".into(),
            behavior_on_mx_failure: "USE_DEFAULT_VALUE".into(),
        }),
    };
    let address = Identity {
        name: "alerts@example.com".into(),
        identity_type: "EMAIL_ADDRESS".into(),
        dkim_status: "NOT_STARTED".into(),
        dkim_signing_enabled: false,
        mail_from: None,
        ..domain.clone()
    };
    let revoked = Identity {
        name: "news.example.com".into(),
        dkim_status: "REVOKED".into(),
        mail_from: None,
        ..domain.clone()
    };
    store.section::<Identities>().record(
        &keys[0],
        &Ok(Identities {
            identities: vec![domain.clone(), revoked, address],
            dropped: 4,
        }),
        ms(3_100),
        t0,
    );
    domain.verification_status = None;
    domain.dkim_origin = None;
    domain.mail_from = None;
    store.section::<Identities>().record(
        &keys[2],
        &Ok(Identities {
            identities: vec![domain],
            dropped: 0,
        }),
        ms(1_050),
        t0,
    );
    // Which schedule each poller of the collectors that follow sending is on:
    // production's us-east-1 sends, its eu-west-1 is idle.
    reputation.set_idle(&keys[0], None);
    reputation.set_idle(&keys[1], Some(Duration::from_secs(12 * 3600)));
    store.section::<DedicatedIps>().set_idle(&keys[0], None);
    store.section::<Identities>().set_idle(&keys[0], None);
    store.keep_discoveries(&["org"]);
    store.record_discovery("org", Ok(120), t0);
    store.record_discovery(
        "org",
        Err(&PollError::Throttled("slow down".into())),
        t0 + 3600.0,
    );
    store.set_shard(pinpoint_email_exporter::Shard { index: 1, count: 3 }, 8);
    // The partner target assumes a role: its account id is known without
    // asking AWS. The others use the standard chain.
    let targets = pinpoint_email_exporter::parse_targets(
        Path::new("targets.yml"),
        "targets:\n\
         \x20 - {name: production}\n\
         \x20 - {name: marketing}\n\
         \x20 - {name: partner, role_arn: 'arn:aws:iam::210987654321:role/pinpoint-email-exporter'}\n",
        &Default::default(),
    )
    .unwrap();
    store.set_inventory(&targets.targets, true);
    store
}

/// Compares `text` with the golden file `name` (written anew with UPDATE_GOLDEN=1).
fn matches_golden(text: &str, name: &str) {
    let path = common::root().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, text).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{}: run with UPDATE_GOLDEN=1 to create it", path.display()));
    if text != want {
        let diff: Vec<String> = want
            .lines()
            .zip(text.lines())
            .enumerate()
            .filter(|(_, (w, g))| w != g)
            .take(10)
            .map(|(i, (w, g))| format!("line {}:\n  want {w}\n  got  {g}", i + 1))
            .collect();
        panic!(
            "/metrics differs from {} ({} vs {} lines); first differences:\n{}\nIf the change is intended, run UPDATE_GOLDEN=1 cargo test --test integration golden::",
            path.display(),
            want.lines().count(),
            text.lines().count(),
            diff.join("\n")
        );
    }
}

#[tokio::test]
async fn metrics_output_matches_golden_file() {
    let text = String::from_utf8(populated().encode().to_vec()).unwrap();
    matches_golden(&text, "metrics.txt");
}

/// The same states in OpenMetrics, as Prometheus negotiates it.
#[tokio::test]
async fn openmetrics_output_matches_golden_file() {
    let store = populated();
    let om = store.encode_as(Format::OpenMetrics, false);
    let text = String::from_utf8(om.to_vec()).unwrap();
    matches_golden(&text, "metrics.openmetrics.txt");
    // Gzip carries the same bytes.
    let gz = store.encode_as(Format::OpenMetrics, true);
    assert_eq!(common::gunzip(&gz), text);
}

/// The golden file passes `promtool check metrics`.
#[test]
fn golden_file_passes_promtool() {
    common::promtool_check_metrics(&common::read("tests/golden/metrics.txt"));
}

/// Metric family names in an exposition (from its `# TYPE` lines).
fn families(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Metric names in the first column of the metrics table of docs/metrics.md.
fn documented_metrics() -> BTreeSet<String> {
    common::doc_table_keys("docs/metrics.md", "metrics-table")
}

#[tokio::test]
async fn docs_metrics_table_matches_the_exported_metrics() {
    let exported: BTreeSet<String> = families(std::str::from_utf8(&populated().encode()).unwrap())
        .into_iter()
        .collect();
    let documented = documented_metrics();
    let undocumented: Vec<_> = exported.difference(&documented).collect();
    let stale: Vec<_> = documented
        .iter()
        .filter(|m| !m.starts_with("process_"))
        .filter(|m| !exported.contains(*m))
        .collect();
    assert!(
        undocumented.is_empty() && stale.is_empty(),
        "the metrics table of docs/metrics.md is out of date.\nExported but not documented: {undocumented:?}\nDocumented but not exported: {stale:?}"
    );
    assert!(
        documented.len() >= 13,
        "table has only {} metrics",
        documented.len()
    );
}
