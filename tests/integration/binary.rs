//! The built binary, as users run it: AWS settings from the standard `AWS_*`
//! variables (`AWS_ENDPOINT_URL` pointing at the simulator), signals, exit codes.

use std::process::Command;
use std::time::Duration;

use crate::common::*;
use pinpoint_email_exporter::unix_now;
use pinpoint_email_simulator::{
    AccountState, CloudWatchStep, DedicatedIpState, DedicatedIpsStep, Step,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_polls_two_regions_through_aws_endpoint_url_and_stops_on_sigterm() {
    let sim = simulator().await;
    let mut account = AccountState::healthy();
    account.sent_last_24_hours = 49_000.0;
    sim.set_script("eu-west-1", vec![Step::Account(account)]);
    sim.set_script("us-east-1", vec![Step::Throttle]);
    let home = temp_dir("two-regions");
    let (process, addr) = serve(simulated(&home, &sim).args([
        "--aws.regions",
        "us-east-1,eu-west-1",
        "--log.format",
        "json",
    ]))
    .await;
    let m = metrics(addr).await;
    let w1 = "account=\"default\",aws_region=\"eu-west-1\"";
    let e1 = "account=\"default\",aws_region=\"us-east-1\"";
    assert_eq!(sample(&m, "pinpoint_email_up", w1), Some(1.0), "{m}");
    assert_eq!(
        sample(&m, "pinpoint_email_send_quota_used_ratio", w1),
        Some(0.98)
    );
    assert_eq!(sample(&m, "pinpoint_email_up", e1), Some(0.0));
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_poll_errors_total",
            "account=\"default\",aws_region=\"us-east-1\",reason=\"throttled\""
        ),
        Some(1.0)
    );
    assert!(sim.calls().iter().all(|c| c.auth_error.is_none()));

    let (exit, took, stderr) = process.terminate();
    assert_eq!(exit.code(), Some(0), "stderr:\n{stderr}");
    assert!(took < Duration::from_secs(5), "took {took:?} to stop");
    // JSON logs, one object per line, with the throttling reported once.
    for line in stderr.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
    }
    assert!(stderr.contains("\"reason\":\"throttled\""), "{stderr}");
    assert!(stderr.contains("SIGTERM"), "{stderr}");
    assert!(
        !stderr.contains(SECRET_KEY),
        "the secret key leaked into the logs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reputation_rates_come_from_cloudwatch_and_each_collector_fails_alone() {
    let sim = simulator().await;
    // us-east-1: GetAccount fails, CloudWatch answers (an hour-old datapoint);
    // eu-west-1: GetAccount answers, CloudWatch fails; ap-southeast-2: both
    // answer, but CloudWatch has no datapoint (an account that sends nothing).
    sim.set_script(
        "us-east-1",
        vec![Step::Error {
            status: 500,
            code: "InternalFailure".into(),
        }],
    );
    sim.set_cloudwatch_script(
        "us-east-1",
        vec![CloudWatchStep::Rates {
            bounce_rate: Some(0.031),
            complaint_rate: Some(0.0006),
            age_secs: 3600,
            sends: Some(20_000.0),
        }],
    );
    sim.set_cloudwatch_script(
        "eu-west-1",
        vec![CloudWatchStep::Error {
            status: 500,
            code: "InternalServiceFault".into(),
        }],
    );
    sim.set_cloudwatch_script(
        "ap-southeast-2",
        vec![CloudWatchStep::Rates {
            bounce_rate: None,
            complaint_rate: None,
            age_secs: 0,
            sends: None,
        }],
    );
    let home = temp_dir("reputation");
    let (process, addr) = serve(simulated(&home, &sim).args([
        "--aws.regions",
        "us-east-1,eu-west-1,ap-southeast-2",
        "--collector.reputation",
    ]))
    .await;
    let now = unix_now();
    let m = metrics(addr).await;
    let at = |region: &str| format!("account=\"default\",aws_region=\"{region}\"");
    let value = |name: &str, region: &str| sample(&m, name, &at(region));
    // us-east-1: the rates and their datapoint's time, though GetAccount fails.
    assert_eq!(value("pinpoint_email_up", "us-east-1"), Some(0.0), "{m}");
    assert_eq!(
        value("pinpoint_email_reputation_up", "us-east-1"),
        Some(1.0)
    );
    assert_eq!(
        value("pinpoint_email_reputation_bounce_ratio", "us-east-1"),
        Some(0.031)
    );
    assert_eq!(
        value("pinpoint_email_reputation_complaint_ratio", "us-east-1"),
        Some(0.0006)
    );
    for name in [
        "pinpoint_email_reputation_bounce_ratio_timestamp_seconds",
        "pinpoint_email_reputation_complaint_ratio_timestamp_seconds",
    ] {
        let t = value(name, "us-east-1").unwrap();
        assert!(
            t % 60.0 == 0.0 && t <= now - 3600.0 && t > now - 3600.0 - 120.0,
            "{name} {t}, now {now}"
        );
    }
    assert_eq!(
        value("pinpoint_email_send_quota_max_emails", "us-east-1"),
        None
    );
    // The volumes behind the rates, from the same call: 20,000 sent at a 3.1 %
    // bounce rate and 0.06 % complaints, 0.1 % rejected, the rest delivered.
    for (name, want) in [
        ("pinpoint_email_reputation_sent_emails", 20_000.0),
        ("pinpoint_email_reputation_bounced_emails", 620.0),
        ("pinpoint_email_reputation_complained_emails", 12.0),
        ("pinpoint_email_reputation_rejected_emails", 20.0),
        ("pinpoint_email_reputation_delivered_emails", 19_360.0),
    ] {
        assert_eq!(value(name, "us-east-1"), Some(want), "{name}");
    }
    // eu-west-1: the account values, though CloudWatch fails.
    assert_eq!(value("pinpoint_email_up", "eu-west-1"), Some(1.0));
    assert_eq!(
        value("pinpoint_email_send_quota_max_emails", "eu-west-1"),
        Some(50_000.0)
    );
    assert_eq!(
        value("pinpoint_email_reputation_up", "eu-west-1"),
        Some(0.0)
    );
    assert_eq!(
        value("pinpoint_email_reputation_bounce_ratio", "eu-west-1"),
        None
    );
    // Every reason's error counter exists from the start, at 0.
    let errors = |name: &str, region: &str| {
        sample(&m, name, &format!("{},reason=\"server\"", at(region))).unwrap_or(0.0)
    };
    assert!(errors("pinpoint_email_reputation_poll_errors_total", "eu-west-1") >= 1.0);
    assert_eq!(errors("pinpoint_email_poll_errors_total", "eu-west-1"), 0.0);
    assert!(errors("pinpoint_email_poll_errors_total", "us-east-1") >= 1.0);
    assert_eq!(
        errors("pinpoint_email_reputation_poll_errors_total", "us-east-1"),
        0.0
    );
    // ap-southeast-2: no datapoint is no sample and no error.
    assert_eq!(
        value("pinpoint_email_reputation_up", "ap-southeast-2"),
        Some(1.0)
    );
    assert!(!m.contains(
        "pinpoint_email_reputation_bounce_ratio{account=\"default\",aws_region=\"ap-southeast-2\"}"
    ));
    // Nothing sent: every volume 0, not absent.
    assert_eq!(
        value("pinpoint_email_reputation_sent_emails", "ap-southeast-2"),
        Some(0.0)
    );
    // Every CloudWatch call was signed for the monitoring service with the
    // region it asked for.
    let calls = sim.calls();
    for region in ["us-east-1", "eu-west-1", "ap-southeast-2"] {
        assert!(
            calls.iter().any(|c| c.action == "GetMetricData"
                && c.region == region
                && c.auth_error.is_none()),
            "no signed GetMetricData call for {region}: {calls:?}"
        );
    }
    assert!(calls.iter().all(|c| c.auth_error.is_none()), "{calls:?}");
    let (exit, _, stderr) = process.terminate();
    assert_eq!(exit.code(), Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedicated_ips_of_every_page_through_either_api_capped_and_failing_alone() {
    let sim = simulator().await;
    // us-east-1 (Pinpoint Email target): 250 addresses, three pages of the
    // API, more than the cap of 200. eu-west-1 (SES v2 target): a managed pool
    // and one address warming up; its GetAccount fails. ap-southeast-2: the
    // call fails, GetAccount answers.
    let ip = |i: usize, pool: &str, p: i32, status: &str| DedicatedIpState {
        ip: format!("198.51.{}.{}", i / 256, i % 256),
        pool: Some(pool.into()),
        warmup_percentage: p,
        warmup_status: status.into(),
    };
    sim.set_dedicated_ips_script(
        "us-east-1",
        vec![DedicatedIpsStep::Ips(
            (0..250).map(|i| ip(i, "bulk", 100, "DONE")).collect(),
        )],
    );
    sim.set_dedicated_ips_script(
        "eu-west-1",
        vec![DedicatedIpsStep::Ips(vec![
            ip(1, "managed", -1, "NOT_APPLICABLE"),
            ip(2, "transactional", 45, "IN_PROGRESS"),
        ])],
    );
    sim.set_script(
        "eu-west-1",
        vec![Step::Error {
            status: 500,
            code: "InternalFailure".into(),
        }],
    );
    sim.set_dedicated_ips_script(
        "ap-southeast-2",
        vec![DedicatedIpsStep::Error {
            status: 403,
            code: "AccessDeniedException".into(),
        }],
    );
    let home = temp_dir("dedicated-ips");
    let file = home.join("targets.yml");
    std::fs::write(
        &file,
        "targets:\n  - name: v1\n    api: pinpoint-email\n    regions: [us-east-1, ap-southeast-2]\n  - name: v2\n    api: sesv2\n    regions: [eu-west-1]\n",
    )
    .unwrap();
    let (process, addr) = serve(simulated(&home, &sim).args([
        "--config.file",
        file.to_str().unwrap(),
        "--collector.dedicated-ips",
        "--collector.dedicated-ips.max-ips",
        "200",
    ]))
    .await;
    let m = metrics(addr).await;
    let at = |account: &str, region: &str| format!("account=\"{account}\",aws_region=\"{region}\"");
    // us-east-1: every page read, 200 exported, 50 counted as dropped.
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_dedicated_ips_up",
            &at("v1", "us-east-1")
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        sample(&m, "pinpoint_email_dedicated_ips", &at("v1", "us-east-1")),
        Some(250.0)
    );
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_dedicated_ips_dropped",
            &at("v1", "us-east-1")
        ),
        Some(50.0)
    );
    let exported = samples(&m, "pinpoint_email_dedicated_ip_warmup_ratio")
        .iter()
        .filter(|(labels, _)| label(labels, "account").as_deref() == Some("v1"))
        .count();
    assert_eq!(exported, 200);
    // eu-west-1: through SES v2, a managed pool without a percentage; the
    // account collector fails alone.
    assert_eq!(
        sample(&m, "pinpoint_email_up", &at("v2", "eu-west-1")),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_dedicated_ips_up",
            &at("v2", "eu-west-1")
        ),
        Some(1.0)
    );
    let warming = format!(
        "{},ip=\"198.51.0.2\",pool=\"transactional\"",
        at("v2", "eu-west-1")
    );
    assert_eq!(
        sample(&m, "pinpoint_email_dedicated_ip_warmup_ratio", &warming),
        Some(0.45)
    );
    for (status, v) in [("IN_PROGRESS", 1.0), ("DONE", 0.0), ("NOT_APPLICABLE", 0.0)] {
        assert_eq!(
            sample(
                &m,
                "pinpoint_email_dedicated_ip_warmup_status",
                &format!("{warming},status=\"{status}\"")
            ),
            Some(v),
            "{status}"
        );
    }
    let managed = format!(
        "{},ip=\"198.51.0.1\",pool=\"managed\"",
        at("v2", "eu-west-1")
    );
    assert_eq!(
        sample(&m, "pinpoint_email_dedicated_ip_warmup_ratio", &managed),
        None
    );
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_dedicated_ip_warmup_status",
            &format!("{managed},status=\"NOT_APPLICABLE\"")
        ),
        Some(1.0)
    );
    // ap-southeast-2: GetDedicatedIps refused, the account values served.
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_dedicated_ips_up",
            &at("v1", "ap-southeast-2")
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_dedicated_ips_poll_errors_total",
            &format!("{},reason=\"auth\"", at("v1", "ap-southeast-2"))
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&m, "pinpoint_email_up", &at("v1", "ap-southeast-2")),
        Some(1.0)
    );
    // Each API's path, every page.
    let calls = sim.calls();
    let pages = |path: &str, region: &str| {
        calls
            .iter()
            .filter(|c| c.path == path && c.region == region)
            .count()
    };
    assert_eq!(
        pages("/v1/email/dedicated-ips", "us-east-1"),
        3,
        "{calls:?}"
    );
    assert_eq!(
        pages("/v2/email/dedicated-ips", "eu-west-1"),
        1,
        "{calls:?}"
    );
    let (exit, _, stderr) = process.terminate();
    assert_eq!(exit.code(), Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_credentials_it_serves_up_0_with_reason_auth_and_says_what_to_set() {
    let sim = simulator().await;
    let home = temp_dir("no-credentials");
    let (process, addr) = serve(
        command(&home)
            .env("AWS_ENDPOINT_URL", sim.endpoint_url())
            .env("AWS_REGION", "us-east-1")
            .args(["--poll.timeout", "5s"]),
    )
    .await;
    let m = metrics(addr).await;
    let e1 = "account=\"default\",aws_region=\"us-east-1\"";
    assert_eq!(sample(&m, "pinpoint_email_up", e1), Some(0.0), "{m}");
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_poll_errors_total",
            "account=\"default\",aws_region=\"us-east-1\",reason=\"auth\""
        ),
        Some(1.0)
    );
    // Nothing reached AWS: the SDK had nothing to sign with.
    assert_eq!(sim.calls().len(), 0);
    let (exit, _, stderr) = process.terminate();
    assert_eq!(exit.code(), Some(0));
    assert!(
        stderr
            .contains("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        "{stderr}"
    );
    assert!(stderr.contains("level=warn"), "logfmt by default: {stderr}");
}

#[test]
fn configuration_errors_exit_2_with_a_message_naming_the_problem() {
    let home = temp_dir("config-errors");
    let bad = home.join("bad.yml");
    std::fs::write(
        &bad,
        "targets:\n  - name: prod\n    regions: [us-east-1]\n    role_arn: nope\n",
    )
    .unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--no-such-flag".into()],
            "unexpected argument '--no-such-flag'",
        ),
        (
            vec!["--poll.interval".into(), "sometimes".into()],
            "expected a duration such as 30s",
        ),
        (
            vec!["--log.level".into(), "loud".into()],
            "invalid value 'loud' for '--log.level <LEVEL>'",
        ),
        (
            vec!["--aws.regions".into(), "moon-1".into()],
            "invalid flag --aws.regions: entry 1 \"moon-1\"",
        ),
        (
            vec![
                "--config.file".into(),
                home.join("missing.yml").display().to_string(),
            ],
            "cannot read config file",
        ),
        (
            vec!["--config.file".into(), bad.display().to_string()],
            "targets[0].role_arn: \"nope\" is not an IAM role ARN",
        ),
        (
            vec![],
            "no AWS region for target \"default\": pass --aws.regions",
        ),
        (
            vec![
                "--aws.regions=us-east-1".into(),
                "--state.directory".into(),
                home.join("no-such-dir").display().to_string(),
            ],
            "invalid flag --state.directory: ",
        ),
    ];
    for (args, want) in cases {
        let (code, _, stderr) = output(command(&home).args(&args));
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: want {want:?} in {stderr}");
    }
}

#[test]
fn a_missing_profile_is_named_at_start_up_and_by_config_check() {
    let home = temp_dir("missing-profile");
    let file = home.join("targets.yml");
    std::fs::write(
        &file,
        "targets:\n  - name: marketing-eu\n    profile: marketing\n    regions: [eu-west-1]\n",
    )
    .unwrap();
    let config = home.join("aws-config");
    std::fs::write(&config, "[profile ops]\nregion = eu-west-1\n").unwrap();
    let args = ["--config.file", &file.display().to_string()];
    for check in [true, false] {
        let mut cmd = command(&home);
        cmd.env("AWS_CONFIG_FILE", &config).args(args);
        if check {
            cmd.arg("--config.check");
        }
        let (code, stdout, stderr) = output(&mut cmd);
        assert_eq!(code, Some(2), "--config.check {check}: {stdout}{stderr}");
        assert!(
            stderr.contains(&format!(
                "target \"marketing-eu\": AWS profile \"marketing\" is not defined in the shared AWS config files ({} from AWS_CONFIG_FILE, {} from AWS_SHARED_CREDENTIALS_FILE); defined: ops.",
                config.display(),
                home.join("no-aws-credentials").display()
            )),
            "{stderr}"
        );
        assert!(!stdout.contains("configuration OK"));
    }
    // Once the profile exists (here in the credentials file), the file is fine.
    let credentials = home.join("aws-credentials");
    std::fs::write(
        &credentials,
        "[marketing]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = not-printed\n",
    )
    .unwrap();
    let (code, stdout, stderr) = output(
        command(&home)
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .args(args)
            .arg("--config.check"),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("credentials: profile \"marketing\""),
        "{stdout}"
    );
    assert!(stdout.ends_with("configuration OK\n"), "{stdout}");
}

#[test]
fn config_check_prints_what_would_be_polled_without_secrets() {
    let home = temp_dir("config-check");
    let file = home.join("targets.yml");
    std::fs::write(
        &file,
        "targets:\n  - name: production\n  - name: partner\n    regions: [eu-west-1]\n    role_arn: arn:aws:iam::111122223333:role/reader\n    external_id: s3cr3t-external-id\n    api: sesv2\n    collectors: { reputation: true }\n",
    )
    .unwrap();
    let (code, stdout, stderr) = output(
        command(&home)
            .env("AWS_SECRET_ACCESS_KEY", "should-never-be-printed")
            .args([
                "--config.file",
                &file.display().to_string(),
                "--aws.regions",
                "us-east-1,us-west-2",
                "--config.check",
            ]),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout,
        "target \"production\": regions us-east-1, us-west-2; api auto; collectors account; credentials: default AWS credential chain\n\
         target \"partner\": regions eu-west-1; api sesv2; collectors account,reputation; credentials: assume role arn:aws:iam::111122223333:role/reader (session \"pinpoint-email-exporter\", with external id)\n\
         account collector: 3 poller(s), every 1m, timeout 10s, backoff up to 10m, values kept 15m after the last success\n\
         reputation collector: 1 poller(s), every 5m, timeout 10s, backoff up to 10m, values kept 15m after the last success\n\
         cost estimate for 3 target region(s) (a region sends with production access, mail sent in 24 hours or a reputation datapoint of the last 24 hours):\n\
         \x20 calls an hour                       every region sends          none sends\n\
         \x20 cloudwatch:GetMetricData                            12                 0.2\n\
         \x20 ses:GetAccount                                     180                 180\n\
         \x20 sts:AssumeRole                                       1                   1\n\
         \x20 CloudWatch metrics a month                      60,480                 840\n\
         \x20 CloudWatch at $0.01 per 1,000                    $0.60               $0.01\n\
         idle regions: polled by the collectors that follow sending every 6h; a region that starts sending gets their first value within one account interval and one of their own intervals\n\
         serving /metrics on [::]:10919\n\
         configuration OK\n"
    );
    assert!(!stdout.contains("s3cr3t") && !stderr.contains("s3cr3t"));
    assert!(!stdout.contains("should-never") && !stderr.contains("should-never"));
}

#[test]
fn config_check_describes_discoveries_and_shards_without_calling_aws() {
    let home = temp_dir("config-check-discover");
    let file = home.join("targets.yml");
    std::fs::write(
        &file,
        "targets:\n  - name: a\n  - name: b\n  - name: c\n  - name: org\n    discover:\n      organizations:\n        role_name: exporter\n        external_id: s3cr3t-external-id\n        parents: [ou-ab12-cdef3456]\n        tags: {ses: \"true\"}\n",
    )
    .unwrap();
    let (code, stdout, stderr) = output(
        command(&home)
            // Nothing listens here: a call to AWS would fail the check.
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .args([
                "--config.file",
                &file.display().to_string(),
                "--aws.regions",
                "us-east-1",
                "--shard.count",
                "3",
                "--shard.index",
                "pinpoint-email-exporter-2",
                "--config.check",
            ]),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("discover \"org\": ACTIVE accounts under ou-ab12-cdef3456 (recursively) tagged ses=true of the AWS Organization (ListAccountsForParent, ListOrganizationalUnitsForParent, ListTagsForResource), as the default AWS credential chain, every 1h; each account's target named \"{account_id}\" assumes arn:aws:iam::<account>:role/exporter (session \"pinpoint-email-exporter\", with external id); regions us-east-1"),
        "{stdout}"
    );
    let owned = ["a", "b", "c"]
        .iter()
        .filter(|n| pinpoint_email_exporter::Shard { index: 2, count: 3 }.owns(n))
        .count();
    assert!(
        stdout.contains(&format!(
            "shard 2 of 3: polls {owned} of the 3 listed target(s)"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("s3cr3t") && !stderr.contains("s3cr3t"));
    // --config.discover without a discovery is a configuration error.
    std::fs::write(&file, "targets:\n  - name: a\n").unwrap();
    let (code, _, stderr) = output(command(&home).args([
        "--config.file",
        &file.display().to_string(),
        "--config.discover",
    ]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no `discover:` target"), "{stderr}");
    let (code, _, stderr) =
        output(command(&home).args(["--shard.count", "2", "--shard.index", "2"]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--shard.index: 2 is not below --shard.count 2"),
        "{stderr}"
    );
}

/// Flags in the first column of the flags table of docs/configuration.md.
fn documented_flags() -> std::collections::BTreeSet<String> {
    doc_table_keys("docs/configuration.md", "flags-table")
}

#[test]
fn docs_flags_table_matches_help() {
    let home = temp_dir("flags");
    let (_, stdout, _) = output(command(&home).arg("--help"));
    let in_help: std::collections::BTreeSet<String> = stdout
        .lines()
        // Flag lines are indented by up to 6 spaces; wrapped help text by more.
        .filter(|l| l.len() - l.trim_start().len() <= 6)
        .map(str::trim_start)
        .filter(|l| l.starts_with("--") && !l.starts_with("--help") && !l.starts_with("--version"))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    let documented = documented_flags();
    assert!(in_help.len() >= 12, "{in_help:?}");
    assert_eq!(
        documented, in_help,
        "the flags table of docs/configuration.md and --help differ"
    );
}

#[test]
fn help_and_version_exit_0() {
    let home = temp_dir("help");
    let (code, stdout, _) = output(command(&home).arg("--help"));
    assert_eq!(code, Some(0));
    for flag in [
        "--web.listen-address",
        "--web.telemetry-path",
        "--aws.regions",
        "--poll.interval",
        "--poll.timeout",
        "--poll.max-backoff",
        "--poll.stale-after",
        "--config.file",
        "--config.check",
        "--log.level",
        "--log.format",
    ] {
        assert!(stdout.contains(flag), "--help lacks {flag}");
    }
    // As Prometheus projects print it; other flags do not matter.
    let (code, stdout, _) = output(command(&home).args(["--version", "--poll.interval", "0s"]));
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "pinpoint-email-exporter, version {} (branch: {}, revision: {})",
            env!("CARGO_PKG_VERSION"),
            env!("PINPOINT_EMAIL_EXPORTER_BRANCH"),
            env!("PINPOINT_EMAIL_EXPORTER_REVISION")
        ),
        "{stdout}"
    );
    let field = |name: &str| {
        lines
            .iter()
            .find_map(|l| l.trim().strip_prefix(name))
            .map(str::trim)
            .unwrap_or_else(|| panic!("{name} missing: {stdout}"))
            .to_string()
    };
    let date = field("build date:");
    assert!(
        date.len() == 17 && date.as_bytes()[8] == b'-' && date.starts_with("20"),
        "{date}"
    );
    let rustc = std::process::Command::new(option_env!("RUSTC").unwrap_or("rustc"))
        .arg("--version")
        .output()
        .unwrap();
    let rustc = String::from_utf8_lossy(&rustc.stdout);
    assert!(
        rustc.contains(&field("rustc version:")),
        "{rustc} vs {stdout}"
    );
    assert_eq!(
        field("platform:"),
        format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_shows_changing_metrics_without_any_aws_credentials() {
    let home = temp_dir("demo");
    let (process, addr) = serve(
        command(&home)
            // Polling every second rather than the demo's 5 s: the test waits for
            // the next poll.
            // (The identities' every 4 s: two of eu-west-1's three fit a
            // second apart in half of it, the domains.)
            .args([
                "--demo",
                "--poll.interval",
                "1s",
                "--collector.identities.interval",
                "4s",
            ]),
    )
    .await;
    let first = metrics(addr).await;
    let us = "account=\"demo\",aws_region=\"us-east-1\"";
    for region in ["us-east-1", "eu-west-1", "ap-southeast-2"] {
        let labels = format!("account=\"demo\",aws_region=\"{region}\"");
        assert_eq!(
            sample(&first, "pinpoint_email_up", &labels),
            Some(1.0),
            "{first}"
        );
    }
    let sent_before = sample(&first, "pinpoint_email_send_quota_sent_emails", us).unwrap();
    // Its us-east-1 sends 200 emails a second: the next poll shows more.
    let sent_after = std::cell::Cell::new(sent_before);
    eventually(
        Duration::from_secs(5),
        "the demo's sent count to move",
        || async {
            let m = metrics(addr).await;
            sent_after.set(sample(&m, "pinpoint_email_send_quota_sent_emails", us).unwrap());
            sent_after.get() != sent_before
        },
    )
    .await;
    let sent_after = sent_after.get();
    assert!(sent_after > sent_before, "{sent_before} -> {sent_after}");
    // Every collector is on: eu-west-1's identities are there, DKIM and all
    // (the scenario's own test follows news.example.com's DKIM over time).
    let m = metrics(addr).await;
    let news = "account=\"demo\",aws_region=\"eu-west-1\",identity=\"news.example.com\",identity_type=\"DOMAIN\"";
    let dkim: f64 = ["SUCCESS", "TEMPORARY_FAILURE", "FAILED"]
        .iter()
        .filter_map(|s| {
            sample(
                &m,
                "pinpoint_email_identity_dkim_status",
                &format!("{news},status=\"{s}\""),
            )
        })
        .sum();
    assert_eq!(dkim, 1.0, "{m}");
    let (exit, _, stderr) = process.terminate();
    assert_eq!(exit.code(), Some(0), "{stderr}");
    assert!(stderr.contains("demo mode"), "{stderr}");
}

/// The exporter flags the simulator prints for a scenario (its binary's own test,
/// in crates/pinpoint-email-simulator, checks the printed line) poll that
/// scenario: the binary, run with them against the simulator, serves its states.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulators_printed_flags_poll_its_scenario() {
    let home = temp_dir("simulator");
    let scenario = pinpoint_email_simulator::Scenario::from_file(
        &root().join("scenarios/alert-rehearsal.yml"),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let creds = scenario.credentials.clone();
    let sim = pinpoint_email_simulator::Simulator::start(
        listener,
        &creds.access_key_id,
        &creds.secret_access_key,
    );
    sim.load_scenario(&scenario);
    let flags = scenario.exporter_flags();
    assert_eq!(
        flags,
        [
            "--aws.regions",
            "ap-southeast-2,eu-west-1,us-east-1",
            "--poll.interval",
            "1s",
            "--poll.max-backoff",
            "2s",
            "--collector.reputation",
            "--collector.reputation.interval",
            "1s",
            "--collector.dedicated-ips",
            "--collector.dedicated-ips.interval",
            "1s",
            "--collector.identities",
            "--collector.identities.interval",
            "1s"
        ]
    );
    let addr = free_addr();
    let exporter = Process::spawn(
        command(&home)
            .env("AWS_ENDPOINT_URL", sim.endpoint_url())
            .env("AWS_ACCESS_KEY_ID", &creds.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &creds.secret_access_key)
            .args(&flags)
            .args(["--web.listen-address", &addr.to_string()]),
    );
    wait_ready(addr).await;
    let m = metrics(addr).await;
    let eu = "account=\"default\",aws_region=\"eu-west-1\",status=\"HEALTHY\"";
    assert_eq!(
        sample(&m, "pinpoint_email_enforcement_status", eu),
        Some(1.0),
        "{m}"
    );
    let ratio = sample(
        &m,
        "pinpoint_email_send_quota_used_ratio",
        "account=\"default\",aws_region=\"us-east-1\"",
    )
    .unwrap();
    assert!((0.7..0.8).contains(&ratio), "{ratio}");
    // The bounce rate of its first phases: 1.2 %, then 5.8 %.
    let bounce = sample(
        &m,
        "pinpoint_email_reputation_bounce_ratio",
        "account=\"default\",aws_region=\"eu-west-1\"",
    );
    assert!(matches!(bounce, Some(0.012 | 0.058)), "{bounce:?}");
    let (exit, _, _) = exporter.terminate();
    assert_eq!(exit.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_through_sesv2_shows_the_sesv2_only_values() {
    let home = temp_dir("demo-sesv2");
    let addr = free_addr();
    let process = Process::spawn(command(&home).args([
        "--demo",
        "--aws.api",
        "sesv2",
        "--web.listen-address",
        &addr.to_string(),
    ]));
    wait_ready(addr).await;
    let m = metrics(addr).await;
    let ap = |extra: &str| format!("account=\"demo\",{extra}aws_region=\"ap-southeast-2\"");
    assert_eq!(
        sample(&m, "pinpoint_email_api_info", &ap("api=\"sesv2\",")),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_production_access_review_status",
            "account=\"demo\",aws_region=\"ap-southeast-2\",status=\"PENDING\""
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_vdm_enabled",
            "account=\"demo\",aws_region=\"us-east-1\""
        ),
        Some(1.0)
    );
    let (exit, _, _) = process.terminate();
    assert_eq!(exit.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_targets_file_and_keeps_the_series_of_unchanged_targets() {
    let sim = simulator().await;
    let home = temp_dir("sighup");
    let file = home.join("targets.yml");
    std::fs::write(
        &file,
        "targets:\n\
         \x20 - name: steady\n    regions: [us-east-1]\n\
         \x20 - name: moved\n    regions: [us-east-1, eu-west-1]\n\
         \x20 - name: retired\n    regions: [us-east-1]\n",
    )
    .unwrap();
    let log = home.join("stderr.log");
    let (process, addr) = serve(
        simulated(&home, &sim)
            .stderr(std::fs::File::create(&log).unwrap())
            .args([
                "--config.file",
                file.to_str().unwrap(),
                "--poll.interval",
                "1s",
                "--log.format",
                "json",
            ]),
    )
    .await;
    let up = |m: &str, target: &str, region: &str| {
        sample(
            m,
            "pinpoint_email_up",
            &format!("account=\"{target}\",aws_region=\"{region}\""),
        )
    };
    let m = metrics(addr).await;
    assert_eq!(up(&m, "retired", "us-east-1"), Some(1.0), "{m}");

    // steady unchanged, moved changes regions, retired goes, fresh comes.
    std::fs::write(
        &file,
        "targets:\n\
         \x20 - name: steady\n    regions: [us-east-1]\n\
         \x20 - name: moved\n    regions: [eu-west-1, eu-north-1]\n\
         \x20 - name: fresh\n    regions: [ap-south-1]\n",
    )
    .unwrap();
    signal(&process, "-HUP");
    eventually(Duration::from_secs(10), "the new targets", || {
        async {
            let m = metrics(addr).await;
            // The unchanged target's series never disappear.
            assert_eq!(up(&m, "steady", "us-east-1"), Some(1.0), "{m}");
            up(&m, "fresh", "ap-south-1") == Some(1.0)
                && up(&m, "moved", "eu-north-1") == Some(1.0)
                && !m.contains("account=\"retired\"")
                && up(&m, "moved", "us-east-1").is_none()
        }
    })
    .await;
    let m = metrics(addr).await;
    assert_eq!(up(&m, "moved", "eu-west-1"), Some(1.0));
    assert!(
        !m.contains("account=\"moved\",aws_region=\"us-east-1\""),
        "{m}"
    );
    assert!(!m.contains("account=\"retired\""), "{m}");
    assert!(m.contains("\npinpoint_email_exporter_config_last_reload_successful 1\n"));

    // A broken file changes nothing and says so.
    std::fs::write(
        &file,
        "targets:\n  - name: steady\n    regions: [mars-north-1]\n",
    )
    .unwrap();
    signal(&process, "-HUP");
    eventually(
        Duration::from_secs(10),
        "the failed reload reported",
        || async {
            get(addr, "/metrics")
                .await
                .body
                .contains("\npinpoint_email_exporter_config_last_reload_successful 0\n")
        },
    )
    .await;
    let m = metrics(addr).await;
    assert_eq!(up(&m, "fresh", "ap-south-1"), Some(1.0), "{m}");

    let (exit, _, _) = process.terminate();
    assert_eq!(exit.code(), Some(0));
    let logs: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let reloaded: Vec<_> = logs
        .iter()
        .filter(|e| e["message"] == "config file reloaded")
        .collect();
    assert_eq!(reloaded.len(), 1, "{logs:?}");
    assert_eq!(reloaded[0]["added"], "[\"fresh\"]");
    assert_eq!(reloaded[0]["removed"], "[\"retired\"]");
    assert_eq!(reloaded[0]["changed"], "[\"moved\"]");
    let refused: Vec<_> = logs
        .iter()
        .filter(|e| e["level"] == "ERROR")
        .map(|e| e["error"].as_str().unwrap_or(""))
        .collect();
    assert!(
        refused.iter().any(|e| e.contains("mars-north-1")),
        "{refused:?}"
    );
    // The steady target's poller was never restarted.
    let firsts = logs
        .iter()
        .filter(|e| e["message"] == "first poll succeeded" && e["account"] == "steady")
        .count();
    assert_eq!(firsts, 1, "{logs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_logs_the_metrics_or_config_check() {
    let sim = simulator().await;
    let role = "arn:aws:iam::111122223333:role/pinpoint-email-exporter";
    let external_id = "external-id-0f3a9c";
    sim.allow_role(role, Some(external_id));
    let home = temp_dir("secrets");
    let targets = home.join("targets.yml");
    std::fs::write(
        &targets,
        format!(
            "targets:\n  - name: direct\n    regions: [us-east-1]\n  - name: partner\n    regions: [us-east-1]\n    role_arn: {role}\n    external_id: {external_id}\n"
        ),
    )
    .unwrap();
    let password = "pa55-w0rd-for-scrapes";
    let hash = bcrypt::hash(password, 4).unwrap();
    let web = home.join("web.yml");
    std::fs::write(&web, format!("basic_auth_users:\n  prometheus: '{hash}'\n")).unwrap();
    let log = home.join("stderr.log");
    let addr = free_addr();
    let args = [
        "--web.listen-address".to_string(),
        addr.to_string(),
        "--config.file".into(),
        targets.to_str().unwrap().into(),
        "--web.config.file".into(),
        web.to_str().unwrap().into(),
        "--poll.interval".into(),
        "1s".into(),
        "--log.level".into(),
        "debug".into(),
    ];
    let secrets = |session_token: &str| {
        let mut s = vec![
            SECRET_KEY.to_string(),
            external_id.to_string(),
            hash.clone(),
            hash[7..].to_string(), // the salt and digest without the prefix
            password.to_string(),
            basic_auth("prometheus", password),
            basic_auth("prometheus", "wrong-guess")[6..].to_string(),
        ];
        if !session_token.is_empty() {
            s.push(session_token.to_string());
        }
        s
    };

    let check_text = run_ok(simulated(&home, &sim).args(&args).arg("--config.check"));
    assert!(check_text.contains("with external id"), "{check_text}");
    assert!(
        check_text.contains("tls=false basic_auth_users=1 headers=0 rate_limit=false"),
        "{check_text}"
    );

    let process = Process::spawn(
        simulated(&home, &sim)
            .stderr(std::fs::File::create(&log).unwrap())
            .args(&args),
    );
    let right = basic_auth("prometheus", password);
    let wrong = basic_auth("prometheus", "wrong-guess");
    eventually(Duration::from_secs(15), "both targets up", || async {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return false;
        }
        let m = request_with(addr, "GET", "/metrics", &[("authorization", &right)])
            .await
            .body;
        sample(
            &m,
            "pinpoint_email_up",
            "account=\"partner\",aws_region=\"us-east-1\"",
        ) == Some(1.0)
            && sample(
                &m,
                "pinpoint_email_up",
                "account=\"direct\",aws_region=\"us-east-1\"",
            ) == Some(1.0)
    })
    .await;
    let denied = request_with(addr, "GET", "/metrics", &[("authorization", &wrong)]).await;
    assert_eq!(denied.status, 401);
    let metrics = request_with(addr, "GET", "/metrics", &[("authorization", &right)])
        .await
        .body;
    // A reload logs too. (A change of the web config logs the settings the
    // start-up line shows, `WebState::summary`, without secrets:
    // web_config::tests::a_reload_logs_its_settings_never_its_secrets; the
    // binary looks at the file every second and applies a change after a
    // second more, so it is tested there.)
    signal(&process, "-HUP");
    eventually(
        Duration::from_secs(5),
        "the targets file reloaded",
        || async {
            std::fs::read_to_string(&log).is_ok_and(|l| l.contains("config file reloaded"))
        },
    )
    .await;
    let (exit, _, _) = process.terminate();
    assert_eq!(exit.code(), Some(0));
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains("config file reloaded"), "{logs}");
    assert!(
        logs.contains("level=debug") || logs.contains("DEBUG") || logs.contains("poll succeeded"),
        "{logs}"
    );

    let sessions = sim.sessions();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let token = sim
        .session_token(&sessions[0].access_key)
        .expect("session token");
    for secret in secrets(&token) {
        assert!(
            !logs.contains(&secret),
            "logs hold the secret {secret:?}:\n{logs}"
        );
        assert!(
            !metrics.contains(&secret),
            "/metrics holds the secret {secret:?}"
        );
        assert!(
            !check_text.contains(&secret),
            "--config.check prints the secret {secret:?}"
        );
    }
}

#[test]
fn the_binary_refuses_an_invalid_web_config_with_exit_code_2() {
    let dir = temp_dir("web-config");
    let hash = bcrypt::hash("hunter2", 4).unwrap();
    let salt_and_digest = &hash[7..];
    let cases = [
        (
            "unknown.yml",
            "tls_server_config:\n  certfile: x\n",
            "unknown field `certfile`",
        ),
        (
            "plain.yml",
            "basic_auth_users:\n  alice: hunter2\n",
            "the password of user \"alice\" is not a bcrypt hash",
        ),
        (
            "missing.yml",
            "tls_server_config:\n  cert_file: none.pem\n  key_file: none.key\n",
            "cannot read",
        ),
        (
            "cost.yml",
            &format!("basic_auth_users:\n  alice: '$2y$99${salt_and_digest}'\n"),
            "the password of user \"alice\" has the bcrypt cost 99, outside bcrypt's 4 to 31",
        ),
    ];
    for (name, text, want) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        for check in [&[][..], &["--config.check"]] {
            let (code, _, stderr) = output(
                command(&dir)
                    .args(["--aws.regions", "us-east-1", "--web.config.file"])
                    .arg(&path)
                    .args(check),
            );
            assert_eq!(code, Some(2), "{name} {check:?}: {stderr}");
            assert!(stderr.contains(want), "{name}: {stderr}");
            assert!(
                stderr.contains(&path.display().to_string()),
                "{name}: {stderr}"
            );
            assert!(
                !stderr.contains("hunter2") && !stderr.contains(salt_and_digest),
                "the secret was printed: {stderr}"
            );
        }
    }
}

/// `--web.listen-address :PORT` listens on IPv4 and IPv6, as Go exporters do, and
/// the flag repeats: each address serves the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listens_dual_stack_and_on_every_address_given() {
    let sim = simulator().await;
    sim.set_script("us-east-1", vec![Step::Account(AccountState::healthy())]);
    let home = temp_dir("listen");
    let port = free_addr().port();
    let v6 = std::net::TcpListener::bind("[::1]:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let process = Process::spawn(simulated(&home, &sim).args([
        "--web.listen-address",
        &format!(":{port}"),
        "--web.listen-address",
        &v6.to_string(),
        "--aws.regions",
        "us-east-1",
    ]));
    let v4: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let v6_wildcard: std::net::SocketAddr = format!("[::1]:{port}").parse().unwrap();
    for addr in [v4, v6_wildcard, v6] {
        wait_ready(addr).await;
        let m = metrics(addr).await;
        assert_eq!(
            sample(
                &m,
                "pinpoint_email_up",
                "account=\"default\",aws_region=\"us-east-1\""
            ),
            Some(1.0),
            "{addr}: {m}"
        );
    }
    let (exit, _, stderr) = process.terminate();
    assert_eq!(exit.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("[::]:{port}")) && stderr.contains(&v6.to_string()),
        "the start-up line names every address: {stderr}"
    );
}

/// `--web.systemd-socket` without sockets from systemd is a clear error.
#[test]
fn systemd_socket_without_sockets_says_what_to_do() {
    let home = temp_dir("no-socket");
    let (code, _, stderr) = output(
        command(&home)
            .env_remove("LISTEN_FDS")
            .env_remove("LISTEN_PID")
            .args(["--web.systemd-socket", "--aws.regions", "us-east-1"]),
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("--web.systemd-socket: systemd passed no socket"),
        "{stderr}"
    );
}

/// Socket activation as systemd does it, with `systemd-socket-activate`: the
/// exporter serves the socket it is passed (Debian's `systemd` package).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_socket_activation_serves_the_socket_systemd_passes() {
    let sim = simulator().await;
    sim.set_script("us-east-1", vec![Step::Account(AccountState::healthy())]);
    let home = temp_dir("socket-activation");
    let addr = free_addr();
    let exporter = simulated(&home, &sim);
    let mut cmd = Command::new(tool("systemd-socket-activate", "systemd"));
    // The launched process gets only the variables passed with --setenv.
    cmd.env_clear();
    for (key, value) in exporter.get_envs() {
        if let Some(value) = value {
            cmd.arg(format!(
                "--setenv={}={}",
                key.to_string_lossy(),
                value.to_string_lossy()
            ));
        }
    }
    cmd.args(["--listen", &addr.to_string(), BIN])
        .args(["--web.systemd-socket", "--aws.regions", "us-east-1"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let process = Process::spawn(&mut cmd);
    // The first connection starts the exporter, which then accepts it.
    wait_ready(addr).await;
    let m = metrics(addr).await;
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_up",
            "account=\"default\",aws_region=\"us-east-1\""
        ),
        Some(1.0),
        "{m}"
    );
    let (exit, _, stderr) = process.terminate();
    assert_eq!(exit.code(), Some(0), "{stderr}");
}
