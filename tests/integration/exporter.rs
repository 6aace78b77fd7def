//! The exporter in this process against the simulator, over real sockets, with the
//! real AWS SDK signing and parsing every call.

use std::time::Duration;

use crate::common::*;
use pinpoint_email_exporter::Jitter;
use pinpoint_email_simulator::{AccountState, Step};
use tokio::time::Instant;

const E1: &str = "account=\"default\",aws_region=\"us-east-1\"";
const W1: &str = "account=\"default\",aws_region=\"eu-west-1\"";

fn probation_sandbox() -> AccountState {
    AccountState {
        max_24_hour_send: 200.0,
        max_send_rate: 1.0,
        sent_last_24_hours: 150.0,
        sending_enabled: false,
        production_access_enabled: false,
        dedicated_ip_auto_warmup_enabled: false,
        enforcement_status: "PROBATION".into(),
        ..AccountState::healthy()
    }
}

#[tokio::test(start_paused = true)]
async fn serves_every_metric_for_two_regions_and_scrapes_cause_no_calls() {
    let sim = simulator().await;
    let mut healthy = AccountState::healthy();
    healthy.sent_last_24_hours = 12_500.0;
    sim.set_script("us-east-1", vec![Step::Account(healthy)]);
    sim.set_script("eu-west-1", vec![Step::Account(probation_sandbox())]);
    let exporter = start(
        config(&[
            "--aws.regions",
            "us-east-1,eu-west-1",
            "--poll.interval",
            "60s",
        ]),
        sim.endpoint_url(),
        SECRET_KEY,
    )
    .await;
    let not_ready = get(exporter.addr, "/readyz").await;
    wait_ready(exporter.addr).await;
    if not_ready.status == 503 {
        assert!(
            not_ready
                .body
                .contains("waiting for the first poll of default/"),
            "{}",
            not_ready.body
        );
    }

    let m = get(exporter.addr, "/metrics").await;
    assert_eq!(m.status, 200);
    assert_eq!(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
    let t = &m.body;
    let expect = [
        ("pinpoint_email_up", E1, 1.0),
        ("pinpoint_email_send_quota_max_emails", E1, 50_000.0),
        ("pinpoint_email_send_quota_max_emails_per_second", E1, 14.0),
        ("pinpoint_email_send_quota_sent_emails", E1, 12_500.0),
        ("pinpoint_email_send_quota_used_ratio", E1, 0.25),
        ("pinpoint_email_sending_enabled", E1, 1.0),
        ("pinpoint_email_production_access_enabled", E1, 1.0),
        ("pinpoint_email_dedicated_ip_auto_warmup_enabled", E1, 1.0),
        ("pinpoint_email_up", W1, 1.0),
        ("pinpoint_email_send_quota_max_emails", W1, 200.0),
        ("pinpoint_email_send_quota_max_emails_per_second", W1, 1.0),
        ("pinpoint_email_send_quota_sent_emails", W1, 150.0),
        ("pinpoint_email_send_quota_used_ratio", W1, 0.75),
        ("pinpoint_email_sending_enabled", W1, 0.0),
        ("pinpoint_email_production_access_enabled", W1, 0.0),
        ("pinpoint_email_dedicated_ip_auto_warmup_enabled", W1, 0.0),
    ];
    for (name, labels, want) in expect {
        assert_eq!(
            sample(t, name, labels),
            Some(want),
            "{name}{{{labels}}} in\n{t}"
        );
    }
    for (labels, current) in [(E1, "HEALTHY"), (W1, "PROBATION")] {
        for status in ["HEALTHY", "PROBATION", "SHUTDOWN", "UNKNOWN"] {
            let l = format!("{labels},status=\"{status}\"");
            let want = if status == current { 1.0 } else { 0.0 };
            assert_eq!(
                sample(t, "pinpoint_email_enforcement_status", &l),
                Some(want),
                "{l}"
            );
        }
    }
    let now = pinpoint_email_exporter::unix_now();
    for labels in [E1, W1] {
        let ts = sample(t, "pinpoint_email_last_success_timestamp_seconds", labels).unwrap();
        assert!(
            (now - 30.0..=now).contains(&ts),
            "timestamp {ts} vs now {now}"
        );
        assert_eq!(sample(t, "pinpoint_email_polls_total", labels), Some(1.0));
        // Every reason's error counter exists from the start, at 0.
        assert_eq!(
            sample(
                t,
                "pinpoint_email_poll_errors_total",
                &format!("{labels},reason=\"throttled\"")
            ),
            Some(0.0)
        );
    }
    // One duration histogram per region, over its targets.
    for region in ["eu-west-1", "us-east-1"] {
        assert_eq!(
            sample(
                t,
                "pinpoint_email_poll_duration_seconds_count",
                &format!("aws_region=\"{region}\"")
            ),
            Some(1.0),
            "{t}"
        );
    }
    assert!(
        t.contains("pinpoint_email_exporter_build_info{branch="),
        "{t}"
    );
    assert!(t.contains("\nprocess_resident_memory_bytes "), "{t}");
    // Every call so far was signed correctly: one GetAccount per region, and
    // one GetCallerIdentity for the target after its first successful poll
    // (its credentials do not say whose account they are).
    let calls = sim.calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert!(calls.iter().all(|c| c.auth_error.is_none()), "{calls:?}");
    let get_account = calls
        .iter()
        .filter(|c| c.path == "/v1/email/account")
        .count();
    let caller = calls
        .iter()
        .filter(|c| c.action == "GetCallerIdentity")
        .count();
    assert_eq!((get_account, caller), (2, 1), "{calls:?}");
    let t = metrics(exporter.addr).await;
    assert_eq!(
        sample(
            &t,
            "pinpoint_email_account_info",
            &format!(
                "account=\"default\",account_id=\"{}\"",
                pinpoint_email_simulator::CALLER_ACCOUNT
            )
        ),
        Some(1.0),
        "{t}"
    );
    assert_eq!(
        sample(&t, "pinpoint_email_exporter_targets_complete", ""),
        Some(1.0)
    );

    // Scrapes only read the snapshot: 100 of them cause no call to AWS.
    for _ in 0..100 {
        assert_eq!(get(exporter.addr, "/metrics").await.status, 200);
    }
    assert_eq!(sim.calls().len(), 3);

    let stopped_in = exporter.stop().await;
    assert!(
        stopped_in < Duration::from_secs(5),
        "shutdown took {stopped_in:?}"
    );
}

/// On simulated time: the backoff and the other region's rhythm are exact.
#[tokio::test(start_paused = true)]
async fn throttled_region_backs_off_while_the_other_keeps_its_schedule_then_recovers() {
    let sim = simulator().await;
    sim.set_script(
        "eu-west-1",
        vec![
            Step::Throttle,
            Step::Throttle,
            Step::Throttle,
            Step::Account(AccountState::healthy()),
        ],
    );
    let mut settings = config(&[
        "--aws.regions",
        "us-east-1,eu-west-1",
        "--poll.interval",
        "1s",
        "--poll.timeout",
        "1s",
        "--poll.max-backoff",
        "4s",
    ]);
    // Every backoff wait is its ceiling (2, 4, 4 s), so the throttled region's
    // schedule is exact, not a draw of the jitter.
    settings.poll.jitter = Jitter::Fixed(1.0);
    let exporter = start(settings, sim.endpoint_url(), SECRET_KEY).await;
    wait_ready(exporter.addr).await;
    let m = metrics(exporter.addr).await;
    assert_eq!(sample(&m, "pinpoint_email_up", W1), Some(0.0), "{m}");
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_poll_errors_total",
            "account=\"default\",aws_region=\"eu-west-1\",reason=\"throttled\""
        ),
        Some(1.0)
    );
    assert_eq!(sample(&m, "pinpoint_email_up", E1), Some(1.0));

    // Recovery comes on the fourth call: after at most 2 + 4 + 4 s of backoff.
    eventually(Duration::from_secs(15), "eu-west-1 to recover", || async {
        let m = metrics(exporter.addr).await;
        sample(&m, "pinpoint_email_up", W1) == Some(1.0)
    })
    .await;
    let m = metrics(exporter.addr).await;
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_poll_errors_total",
            "account=\"default\",aws_region=\"eu-west-1\",reason=\"throttled\""
        ),
        Some(3.0)
    );
    assert_eq!(
        sample(&m, "pinpoint_email_send_quota_max_emails", W1),
        Some(50_000.0)
    );
    // The polls (the target's one GetCallerIdentity is not one).
    let polls = |region: &str| -> Vec<_> {
        get_account_calls(&sim)
            .into_iter()
            .filter(|c| c.region == region)
            .collect()
    };
    let throttled = polls("eu-west-1");
    let healthy = polls("us-east-1");
    exporter.stop().await;

    // The throttled region's gaps until it recovered: its backoff ceilings
    // (2, 4, 4 s), then the interval again, within the timer's granularity.
    let gaps: Vec<f64> = throttled
        .windows(2)
        .map(|w| (w[1].at - w[0].at).as_secs_f64())
        .collect();
    assert!(gaps.len() >= 3, "calls: {throttled:?}");
    for (gap, expected) in gaps.iter().zip([2.0, 4.0, 4.0, 1.0]) {
        assert!((gap - expected).abs() <= 0.005, "gaps {gaps:?}");
    }
    // Meanwhile the healthy region kept its 1 s rhythm, to the millisecond.
    for pair in healthy.windows(2) {
        let gap = (pair[1].at - pair[0].at).as_secs_f64();
        assert!((gap - 1.0).abs() <= 0.005, "healthy calls {healthy:?}");
    }
    assert!(
        healthy.len() > throttled.len(),
        "healthy {} throttled {}",
        healthy.len(),
        throttled.len()
    );
}

/// On simulated time: a scrape that waited on the hanging call would take
/// its 2 s timeout of the paused clock; one that does not takes none.
#[tokio::test(start_paused = true)]
async fn scrapes_answer_at_once_while_aws_hangs() {
    let sim = simulator().await;
    sim.set_script(
        "us-east-1",
        vec![
            Step::Account(AccountState::healthy()),
            Step::Delay {
                millis: 60_000,
                then: Box::new(Step::Account(AccountState::healthy())),
            },
        ],
    );
    let exporter = polling(
        &sim,
        &[
            "--aws.regions",
            "us-east-1",
            "--poll.interval",
            "2s",
            "--poll.timeout",
            "2s",
        ],
    )
    .await;
    // Wait until the second call is in flight and hanging.
    eventually(Duration::from_secs(10), "the second call", || async {
        sim.calls().len() >= 2
    })
    .await;
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let started = Instant::now();
        assert_eq!(get(exporter.addr, "/metrics").await.status, 200);
        slowest = slowest.max(started.elapsed());
    }
    // A scrape that waited on AWS would take the whole hang (60 s) or the timeout (2 s).
    assert!(
        slowest < Duration::from_millis(10),
        "slowest scrape {slowest:?}"
    );
    eventually(
        Duration::from_secs(10),
        "the timeout to be reported",
        || async {
            let m = metrics(exporter.addr).await;
            sample(
                &m,
                "pinpoint_email_poll_errors_total",
                "account=\"default\",aws_region=\"us-east-1\",reason=\"timeout\"",
            ) == Some(1.0)
        },
    )
    .await;
    let m = metrics(exporter.addr).await;
    assert_eq!(sample(&m, "pinpoint_email_up", E1), Some(0.0));
    // The last known values stay, with their age in the timestamp.
    assert_eq!(
        sample(&m, "pinpoint_email_send_quota_max_emails", E1),
        Some(50_000.0)
    );
    let stopped_in = exporter.stop().await;
    assert!(
        stopped_in < Duration::from_secs(5),
        "shutdown took {stopped_in:?}"
    );
}

/// Each region of one exporter gets a different fault; each must be reported with
/// its own reason while the healthy region is unaffected.
#[tokio::test(start_paused = true)]
async fn a_wrong_secret_is_an_auth_error_the_simulator_refuses() {
    let sim = simulator().await;
    let exporter = start(
        config(&["--aws.regions", "us-east-1", "--poll.interval", "60s"]),
        sim.endpoint_url(),
        "not-the-secret-key",
    )
    .await;
    wait_ready(exporter.addr).await;
    let m = metrics(exporter.addr).await;
    assert_eq!(sample(&m, "pinpoint_email_up", E1), Some(0.0));
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_poll_errors_total",
            "account=\"default\",aws_region=\"us-east-1\",reason=\"auth\""
        ),
        Some(1.0)
    );
    let calls = sim.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].auth_error, Some("InvalidSignatureException"));
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_methods_and_unknown_paths() {
    let sim = simulator().await;
    let exporter = polling(
        &sim,
        &[
            "--aws.regions",
            "us-east-1",
            "--web.telemetry-path",
            "/custom/metrics",
        ],
    )
    .await;
    let a = exporter.addr;
    assert_eq!(get(a, "/custom/metrics").await.status, 200);
    assert_eq!(get(a, "/metrics").await.status, 404);
    assert_eq!(get(a, "/nope").await.status, 404);
    assert_eq!(get(a, "/healthz").await.body, "ok\n");
    let landing = get(a, "/").await;
    assert_eq!(landing.status, 200);
    assert!(
        landing.body.contains("href=\"/custom/metrics\""),
        "{}",
        landing.body
    );
    let head = request(a, "HEAD", "/custom/metrics").await;
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    assert_eq!(request(a, "POST", "/custom/metrics").await.status, 405);
    assert_eq!(request(a, "DELETE", "/").await.status, 405);
    exporter.stop().await;
}

/// Role targets assume their role through STS (here, the simulator's), once per
/// target for all its regions, and sign GetAccount with the temporary credentials;
/// a role that may not be assumed is an auth error for that target only.
#[tokio::test(start_paused = true)]
async fn role_targets_assume_their_role_once_and_a_denied_role_is_an_auth_error() {
    let sim = simulator().await;
    let partner = "arn:aws:iam::111122223333:role/pinpoint-email-exporter";
    let denied = "arn:aws:iam::444455556666:role/not-trusted";
    sim.allow_role(partner, Some("partner-external-id"));
    let file = targets_file(
        "roles",
        &format!(
            "targets:\n\
         \x20 - name: direct\n\
         \x20 - name: partner\n\
         \x20   regions: [us-east-1, eu-west-1]\n\
         \x20   role_arn: {partner}\n\
         \x20   external_id: partner-external-id\n\
         \x20   role_session_name: exporter-test\n\
         \x20 - name: denied\n\
         \x20   role_arn: {denied}\n"
        ),
    );
    let exporter = polling(
        &sim,
        &[
            "--config.file",
            &file,
            "--aws.regions",
            "us-east-1",
            "--poll.interval",
            "60s",
        ],
    )
    .await;
    let m = metrics(exporter.addr).await;
    let up = |target: &str, region: &str| {
        sample(
            &m,
            "pinpoint_email_up",
            &format!("account=\"{target}\",aws_region=\"{region}\""),
        )
    };
    assert_eq!(up("direct", "us-east-1"), Some(1.0), "{m}");
    assert_eq!(up("partner", "us-east-1"), Some(1.0), "{m}");
    assert_eq!(up("partner", "eu-west-1"), Some(1.0), "{m}");
    assert_eq!(up("denied", "us-east-1"), Some(0.0), "{m}");
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_poll_errors_total",
            "account=\"denied\",aws_region=\"us-east-1\",reason=\"auth\""
        ),
        Some(1.0)
    );

    let sessions = sim.sessions();
    assert_eq!(
        sessions.len(),
        1,
        "one session for both regions of the partner: {sessions:?}"
    );
    assert_eq!(sessions[0].role_arn, partner);
    assert_eq!(sessions[0].session_name, "exporter-test");
    assert_eq!(
        sessions[0].external_id.as_deref(),
        Some("partner-external-id")
    );
    let calls = sim.calls();
    let get_account_keys: Vec<&str> = calls
        .iter()
        .filter(|c| c.action == "GetAccount")
        .map(|c| c.access_key.as_str())
        .collect();
    // direct (static key) + partner twice (temporary key); denied never got that far.
    assert_eq!(get_account_keys.len(), 3, "{calls:?}");
    assert_eq!(
        get_account_keys
            .iter()
            .filter(|k| **k == ACCESS_KEY)
            .count(),
        1
    );
    assert_eq!(
        get_account_keys
            .iter()
            .filter(|k| **k == sessions[0].access_key)
            .count(),
        2
    );
    let denied_calls: Vec<_> = calls.iter().filter(|c| c.action == "AssumeRole").collect();
    assert!(
        denied_calls.iter().all(|c| c.auth_error.is_none()),
        "STS calls are signed: {denied_calls:?}"
    );
    exporter.stop().await;
}

#[tokio::test(start_paused = true)]
async fn sesv2_targets_serve_the_same_metrics_plus_the_sesv2_only_ones() {
    let sim = simulator().await;
    let mut account = probation_sandbox();
    account.vdm_enabled = true;
    account.review_status = Some("DENIED".into());
    account.suppressed_reasons = vec!["BOUNCE".into()];
    account.vdm_engagement_metrics = true;
    account.pricing_plan = Some("PRO".into());
    account.next_pricing_plan = Some("ENTERPRISE".into());
    sim.set_script("eu-west-1", vec![Step::Account(account)]);
    let exporter = polling(
        &sim,
        &[
            "--aws.regions",
            "eu-west-1",
            "--aws.api",
            "sesv2",
            "--poll.interval",
            "60s",
        ],
    )
    .await;
    let m = metrics(exporter.addr).await;
    let l = |extra: &str| format!("{W1},{extra}");
    // The same names and labels as from Pinpoint Email.
    assert_eq!(sample(&m, "pinpoint_email_up", W1), Some(1.0), "{m}");
    assert_eq!(
        sample(&m, "pinpoint_email_send_quota_used_ratio", W1),
        Some(0.75)
    );
    assert_eq!(
        sample(&m, "pinpoint_email_production_access_enabled", W1),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_enforcement_status",
            &l("status=\"PROBATION\"")
        ),
        Some(1.0)
    );
    // Which API answered, and what only SES v2 tells.
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_api_info",
            "account=\"default\",api=\"sesv2\",aws_region=\"eu-west-1\""
        ),
        Some(1.0)
    );
    assert_eq!(sample(&m, "pinpoint_email_vdm_enabled", W1), Some(1.0));
    assert_eq!(
        sample(&m, "pinpoint_email_vdm_engagement_metrics_enabled", W1),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_vdm_optimized_shared_delivery_enabled",
            W1
        ),
        Some(0.0)
    );
    for (plan, want) in [
        ("NONE", 0.0),
        ("ESSENTIALS", 0.0),
        ("PRO", 1.0),
        ("ENTERPRISE", 0.0),
    ] {
        let labels = format!("{W1},plan=\"{plan}\"");
        assert_eq!(
            sample(&m, "pinpoint_email_pricing_plan", &labels),
            Some(want),
            "{plan}"
        );
    }
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_pricing_plan_next",
            &format!("{W1},plan=\"ENTERPRISE\"")
        ),
        Some(1.0)
    );
    // Free text and personal data of the answer stay out.
    for text in [
        "example.com",
        "postmaster",
        "Order confirmations",
        "CaseId",
        "0123456789",
    ] {
        assert!(!m.contains(text), "{text}");
    }
    for (status, want) in [
        ("PENDING", 0.0),
        ("FAILED", 0.0),
        ("GRANTED", 0.0),
        ("DENIED", 1.0),
    ] {
        let labels = l(&format!("status=\"{status}\""));
        assert_eq!(
            sample(
                &m,
                "pinpoint_email_production_access_review_status",
                &labels
            ),
            Some(want),
            "{status}"
        );
    }
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_suppression_reason_enabled",
            &l("reason=\"BOUNCE\"")
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_suppression_reason_enabled",
            &l("reason=\"COMPLAINT\"")
        ),
        Some(0.0)
    );
    let calls = get_account_calls(&sim);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].path, "/v2/email/account");
    assert!(
        calls[0].auth_error.is_none(),
        "signed for service ses: {calls:?}"
    );
    exporter.stop().await;
}

#[tokio::test(start_paused = true)]
async fn auto_switches_to_sesv2_once_pinpoint_email_is_gone_and_stays() {
    let sim = simulator().await;
    // The endpoint no longer serves Pinpoint Email: the first call learns it.
    sim.set_pinpoint_email_gone(true);
    let exporter = polling(
        &sim,
        &[
            "--aws.regions",
            "us-east-1",
            "--aws.api",
            "auto",
            "--poll.interval",
            "1s",
        ],
    )
    .await;
    let m = metrics(exporter.addr).await;
    assert_eq!(sample(&m, "pinpoint_email_up", E1), Some(1.0), "{m}");
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_api_info",
            "account=\"default\",api=\"sesv2\",aws_region=\"us-east-1\""
        ),
        Some(1.0)
    );
    // No error is counted for the switch itself.
    let errors = samples(&m, "pinpoint_email_poll_errors_total");
    assert_eq!(errors.len(), 8, "{m}");
    assert!(errors.iter().all(|(_, v)| *v == 0.0), "{m}");
    eventually(Duration::from_secs(10), "three more polls", || async {
        get_account_calls(&sim).len() >= 5
    })
    .await;
    exporter.stop().await;
    let paths: Vec<String> = get_account_calls(&sim)
        .iter()
        .map(|c| c.path.clone())
        .collect();
    assert_eq!(paths[0], "/v1/email/account");
    assert!(
        paths[1..].iter().all(|p| p == "/v2/email/account"),
        "{paths:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn auto_keeps_pinpoint_email_while_it_answers_and_pinpoint_only_reports_it_gone() {
    let sim = simulator().await;
    let exporter = polling(
        &sim,
        &[
            "--aws.regions",
            "us-east-1",
            "--aws.api",
            "auto",
            "--poll.interval",
            "60s",
        ],
    )
    .await;
    let m = metrics(exporter.addr).await;
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_api_info",
            "account=\"default\",api=\"pinpoint-email\",aws_region=\"us-east-1\""
        ),
        Some(1.0),
        "{m}"
    );
    assert!(
        !m.contains("pinpoint_email_vdm_enabled{"),
        "no SES v2 values from Pinpoint Email"
    );
    exporter.stop().await;
    assert!(
        get_account_calls(&sim)
            .iter()
            .all(|c| c.path == "/v1/email/account")
    );

    // A pinpoint-email target whose endpoint dropped the API: up 0, bad_request.
    sim.set_pinpoint_email_gone(true);
    let exporter = polling(
        &sim,
        &[
            "--aws.regions",
            "us-east-1",
            "--aws.api",
            "pinpoint-email",
            "--poll.interval",
            "60s",
        ],
    )
    .await;
    let m = metrics(exporter.addr).await;
    assert_eq!(sample(&m, "pinpoint_email_up", E1), Some(0.0), "{m}");
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_poll_errors_total",
            "account=\"default\",aws_region=\"us-east-1\",reason=\"bad_request\""
        ),
        Some(1.0)
    );
    exporter.stop().await;
}

/// The poll error counters of one region as last scraped, and the reason whose
/// counter rose last: why the region is down.
#[derive(Default)]
struct Errors {
    counts: std::collections::BTreeMap<String, f64>,
    last: Option<String>,
}

/// What one scrape shows of one region: the state a person reads off /metrics.
fn shown(text: &str, region: &str, sesv2: bool, errors: &mut Errors) -> String {
    let of = |name: &str| -> Vec<(String, f64)> {
        samples(text, name)
            .into_iter()
            .filter(|(labels, _)| label(labels, "aws_region").as_deref() == Some(region))
            .collect()
    };
    let label = |labels: &str, key: &str| -> String { label(labels, key).expect("label") };
    let one = |name: &str, key: &str| -> String {
        of(name)
            .into_iter()
            .find(|(_, v)| *v == 1.0)
            .map(|(s, _)| label(&s, key))
            .unwrap_or_else(|| "-".into())
    };
    for (series, value) in of("pinpoint_email_poll_errors_total") {
        let reason = label(&series, "reason");
        let before = errors.counts.insert(reason.clone(), value).unwrap_or(0.0);
        if value > before {
            errors.last = Some(reason);
        }
    }
    let up = of("pinpoint_email_up").first().map(|(_, v)| *v);
    if up != Some(1.0) {
        return format!("down {}", errors.last.as_deref().unwrap_or("-"));
    }
    let sending = of("pinpoint_email_sending_enabled")
        .first()
        .map(|(_, v)| *v == 1.0)
        .unwrap_or_default();
    let mut s = format!(
        "up {} sending={sending}",
        one("pinpoint_email_enforcement_status", "status")
    );
    if sesv2 {
        s += &format!(
            " review={}",
            one("pinpoint_email_production_access_review_status", "status")
        );
    }
    s
}

/// What the scenario says a region shows during a phase.
fn expected(step: &Step, sesv2: bool) -> String {
    match step {
        Step::Account(a) => {
            let mut s = format!("up {} sending={}", a.enforcement_status, a.sending_enabled);
            if sesv2 {
                s += &format!(" review={}", a.review_status.as_deref().unwrap_or("-"));
            }
            s
        }
        Step::Throttle => "down throttled".into(),
        Step::Error { status, .. } if *status >= 500 => "down server".into(),
        other => panic!("the demo has no step like {other:?}; add how it shows"),
    }
}

/// Plays one whole cycle of the built-in demo under paused time, scraping every
/// (simulated) second, for both APIs. Every phase of every region must show on
/// /metrics, in order, even with the longest waits the jitter can draw: the
/// demo's phases outlast the backoff they cause.
#[tokio::test(start_paused = true)]
async fn one_demo_cycle_shows_every_phase_of_every_region_in_order() {
    use pinpoint_email_exporter::demo;
    let scenario = pinpoint_email_simulator::Scenario::demo().unwrap();
    let cycle: Duration = scenario
        .regions
        .values()
        .map(|t| t.phases.iter().filter_map(|p| p.duration).sum())
        .max()
        .unwrap();
    for api in ["pinpoint-email", "sesv2"] {
        let sesv2 = api == "sesv2";
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (sim, base) = demo::start(listener).unwrap();
        let mut settings = config(&["--demo", "--aws.api", api]);
        demo::set_regions(&mut settings.targets).unwrap();
        // Whatever the jitter draws, no wait is longer than the backoff cap; below
        // the shortest phase, no phase can fall between two polls.
        let shortest = scenario
            .regions
            .values()
            .flat_map(|t| t.phases.iter().filter_map(|p| p.duration))
            .min()
            .unwrap();
        assert!(
            settings.poll.max_backoff < shortest,
            "the demo's longest wait {:?} must be shorter than its shortest phase {shortest:?}",
            settings.poll.max_backoff
        );
        // The longest waits the jitter allows.
        settings.poll.jitter = Jitter::Fixed(1.0);
        let exporter = start_with(settings, base).await;
        wait_ready(exporter.addr).await;

        let mut seen: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let mut errors: std::collections::BTreeMap<String, Errors> = Default::default();
        let mut sent: Vec<f64> = Vec::new();
        let started = tokio::time::Instant::now();
        while started.elapsed() < cycle + Duration::from_secs(15) {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let m = metrics(exporter.addr).await;
            for region in scenario.regions.keys() {
                let now = shown(&m, region, sesv2, errors.entry(region.clone()).or_default());
                let history = seen.entry(region.clone()).or_default();
                if history.last() != Some(&now) {
                    history.push(now);
                }
            }
            if let Some(v) = sample(
                &m,
                "pinpoint_email_send_quota_sent_emails",
                "account=\"demo\",aws_region=\"us-east-1\"",
            ) {
                sent.push(v);
            }
        }
        exporter.stop().await;
        drop(sim);

        for (region, timeline) in &scenario.regions {
            let mut at = Duration::ZERO;
            let mut want: Vec<String> = Vec::new();
            for phase in &timeline.phases {
                let length = phase.duration.unwrap_or(Duration::from_secs(10));
                let e = expected(&timeline.step_at(at + length / 2), sesv2);
                if want.last() != Some(&e) {
                    want.push(e);
                }
                at += length;
            }
            let got = &seen[region];
            let mut rest = got.iter();
            for w in &want {
                assert!(
                    rest.any(|g| g == w),
                    "{api}: {region} never showed {w:?} in its turn.\nexpected, in order: {want:#?}\nshown: {got:#?}"
                );
            }
        }
        // us-east-1 tells the quota story: the sent count climbs near the quota,
        // then falls back as old sends leave the 24-hour window.
        let peak = sent.iter().cloned().fold(0.0, f64::max);
        let peak_at = sent.iter().position(|v| *v == peak).unwrap();
        assert!(peak >= 45_000.0, "{api}: sent count peaked at {peak}");
        assert!(
            sent[peak_at..].iter().any(|v| *v <= 35_000.0),
            "{api}: sent count never fell after its peak: {sent:?}"
        );
    }
}

/// `pinpoint_email_exporter_build_info{revision}` is the commit the exporter was
/// built from when built in a git checkout (build.rs), the revision given at
/// build time when one was, `unknown` otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_info_names_the_commit_it_was_built_from() {
    let want = match env!("PINPOINT_EMAIL_EXPORTER_REVISION_SOURCE") {
        // Given at build time (the container build): shown as given.
        "env" => env!("PINPOINT_EMAIL_EXPORTER_REVISION").to_string(),
        source => {
            // git is there whenever the build found a checkout.
            let head = std::process::Command::new("git")
                .args(["rev-parse", "HEAD"])
                .current_dir(root())
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
            assert_eq!(
                source == "git",
                head.is_some(),
                "build.rs found {source} but git rev-parse HEAD says {head:?}"
            );
            head.unwrap_or_else(|| "unknown".to_string())
        }
    };
    let sim = simulator().await;
    let exporter = polling(&sim, &["--aws.regions", "us-east-1"]).await;
    let m = metrics(exporter.addr).await;
    exporter.stop().await;
    let want = format!(
        "pinpoint_email_exporter_build_info{{branch=\"{}\",build_date=\"{}\",revision=\"{want}\",rustversion=\"{}\",version=\"{}\"}} 1",
        env!("PINPOINT_EMAIL_EXPORTER_BRANCH"),
        env!("PINPOINT_EMAIL_EXPORTER_BUILD_DATE"),
        env!("PINPOINT_EMAIL_EXPORTER_RUSTC_VERSION"),
        env!("CARGO_PKG_VERSION")
    );
    assert!(m.lines().any(|l| l == want), "want {want} in:\n{m}");
}

/// Live scrapes pass `promtool check metrics`: both APIs, an enforcement status
/// AWS may add later and a huge but valid quota. (The golden file is linted too,
/// in tests/integration/golden.rs.) Needs promtool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_scrapes_of_both_apis_pass_promtool() {
    let sim = simulator().await;
    let mut odd = AccountState::healthy();
    odd.enforcement_status = "UNDER_REVIEW".into();
    odd.max_24_hour_send = 1e300;
    sim.set_script("af-south-1", vec![Step::Account(odd)]);
    let mut sesv2 = probation_sandbox();
    sesv2.vdm_enabled = true;
    sesv2.review_status = Some("DENIED".into());
    sim.set_script("eu-west-1", vec![Step::Account(sesv2)]);
    for api in ["pinpoint-email", "sesv2"] {
        let exporter = polling(
            &sim,
            &[
                "--aws.regions",
                "us-east-1,af-south-1,eu-west-1",
                "--aws.api",
                api,
            ],
        )
        .await;
        let m = metrics(exporter.addr).await;
        exporter.stop().await;
        assert!(m.contains("status=\"UNDER_REVIEW\""), "{api}: {m}");
        promtool_check_metrics(&m);
    }
}

/// Sample lines of an exposition (comments left out).
fn sample_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with('#')).collect()
}

/// What Prometheus asks for (OpenMetrics, gzip) it gets, with the same samples
/// as the text format; a scraper that asks for neither gets plain text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_get_gzip_and_openmetrics_when_they_ask() {
    let sim = simulator().await;
    let exporter = polling(&sim, &["--aws.regions", "us-east-1,eu-west-1"]).await;
    let addr = exporter.addr;
    let plain = request_with(addr, "GET", "/metrics", &[]).await;
    assert_eq!(
        plain.content_type,
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert_eq!(plain.content_encoding, "");

    let text_gz = request_with(addr, "GET", "/metrics", &[("accept-encoding", "gzip")]).await;
    assert_eq!(text_gz.content_encoding, "gzip");
    assert!(text_gz.raw.len() * 4 < plain.raw.len(), "gzip saves little");
    assert_eq!(gunzip(&text_gz.raw), plain.body);

    let scrape = request_with(
        addr,
        "GET",
        "/metrics",
        &[
            ("accept", PROMETHEUS_ACCEPT),
            ("accept-encoding", "gzip, deflate"),
        ],
    )
    .await;
    assert_eq!(
        scrape.content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert_eq!(scrape.content_encoding, "gzip");
    let om = gunzip(&scrape.raw);
    assert!(om.ends_with("\n# EOF\n"), "{om}");
    assert_eq!(sample_lines(&om), sample_lines(&plain.body));
    for line in [
        "# TYPE pinpoint_email_polls counter",
        "# UNIT pinpoint_email_poll_duration_seconds seconds",
        "# UNIT pinpoint_email_send_quota_used_ratio ratio",
        "# TYPE pinpoint_email_enforcement_status gauge",
    ] {
        assert!(om.lines().any(|l| l == line), "{line} missing in\n{om}");
    }
    let identity = request_with(
        addr,
        "GET",
        "/metrics",
        &[
            ("accept", PROMETHEUS_ACCEPT),
            ("accept-encoding", "gzip;q=0"),
        ],
    )
    .await;
    assert_eq!(identity.content_encoding, "");
    assert_eq!(identity.body, om);
    exporter.stop().await;
}

/// A second, independent parser of each format (the Python client's, strict
/// for OpenMetrics) reads every sample of a live scrape. Needs
/// python3-prometheus-client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_client_parses_both_formats() {
    let sim = simulator().await;
    let mut sesv2 = probation_sandbox();
    sesv2.review_status = Some("DENIED".into());
    sim.set_script("eu-west-1", vec![Step::Account(sesv2)]);
    let exporter = polling(
        &sim,
        &["--aws.regions", "us-east-1,eu-west-1", "--aws.api", "sesv2"],
    )
    .await;
    let text = metrics(exporter.addr).await;
    let om = request_with(
        exporter.addr,
        "GET",
        "/metrics",
        &[("accept", PROMETHEUS_ACCEPT)],
    )
    .await
    .body;
    exporter.stop().await;
    let dir = temp_dir("python-parsers");
    std::fs::write(dir.join("text.txt"), &text).unwrap();
    std::fs::write(dir.join("om.txt"), &om).unwrap();
    let script = "import sys\n\
        from prometheus_client.parser import text_string_to_metric_families as text\n\
        from prometheus_client.openmetrics.parser import text_string_to_metric_families as om\n\
        t = sum(len(f.samples) for f in text(open(sys.argv[1]).read()))\n\
        o = sum(len(f.samples) for f in om(open(sys.argv[2]).read()))\n\
        print(t, o)\n";
    // Debian's interpreter, which python3-prometheus-client installs into (a
    // python3 earlier on PATH, such as pyenv's, would not see it).
    let out = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(dir.join("text.txt"))
        .arg(dir.join("om.txt"))
        .output()
        .expect("/usr/bin/python3 (scripts/test installs it with python3-prometheus-client)");
    assert!(
        out.status.success(),
        "the Python client refused an exposition:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = sample_lines(&text).len();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{n} {n}"),
        "samples read of the text format and of OpenMetrics"
    );
}
