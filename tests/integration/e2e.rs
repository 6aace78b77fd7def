//! End to end, with real programs: the simulator plays
//! `scenarios/alert-rehearsal.yml`, the exporter polls it every second, a real
//! Prometheus (Debian's `prometheus`) scrapes the exporter and evaluates the
//! project's alert rules, and a real Alertmanager (`prometheus-alertmanager`)
//! delivers to a webhook receiver run by this test.
//!
//! One target is polled through Pinpoint Email, one through SES v2.
//!
//! The rules are the shipped ones with every `for:` shortened from minutes to as
//! many seconds, so the test takes about a minute. It asserts through the
//! Prometheus HTTP API that exactly the expected alerts fire for the right
//! regions and none for the healthy one, that Alertmanager delivers them, and
//! that every Grafana dashboard query returns data. It writes the measured time
//! from each state change to firing and to delivery into `target/e2e-report.txt`
//! (scripts/test prints it).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use pinpoint_email_simulator::{AccountState, Scenario, Step};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::time::Instant;

/// A webhook receiver: records every alert Alertmanager delivers, with when:
/// (when, alert name, `account/aws_region`, status).
type Deliveries = Arc<Mutex<Vec<(Instant, String, String, String)>>>;

async fn webhook_receiver() -> (SocketAddr, Deliveries) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let deliveries: Deliveries = Arc::default();
    let store = deliveries.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let store = store.clone();
                        async move {
                            let body = req.into_body().collect().await?.to_bytes();
                            let at = Instant::now();
                            if let Ok(payload) = serde_json::from_slice::<Value>(&body) {
                                for alert in payload["alerts"].as_array().into_iter().flatten() {
                                    let l = &alert["labels"];
                                    store.lock().unwrap().push((
                                        at,
                                        l["alertname"].as_str().unwrap_or_default().to_string(),
                                        where_(l),
                                        alert["status"].as_str().unwrap_or_default().to_string(),
                                    ));
                                }
                            }
                            Ok::<_, hyper::Error>(hyper::Response::new(Full::new(
                                Bytes::from_static(b"ok"),
                            )))
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, deliveries)
}

/// Where an alert is about: `account/aws_region` of its labels.
fn where_(labels: &Value) -> String {
    format!(
        "{}/{}",
        labels["account"].as_str().unwrap_or_default(),
        labels["aws_region"].as_str().unwrap_or_default()
    )
}

/// The shipped rules (rendered from the mixin) with every `for: "Nm"` turned
/// into `for: "Ns"`.
fn compressed_rules() -> String {
    let rules = std::fs::read_to_string(root().join("deploy/prometheus/alerts.yml")).unwrap();
    let mut n = 0;
    let out: Vec<String> = rules
        .lines()
        .map(|line| {
            match line
                .trim_start()
                .strip_prefix("for: \"")
                .and_then(|d| d.strip_suffix("m\""))
            {
                Some(minutes) => {
                    n += 1;
                    line.replace(
                        &format!("for: \"{minutes}m\""),
                        &format!("for: \"{minutes}s\""),
                    )
                }
                None => line.to_string(),
            }
        })
        .collect();
    assert!(n >= 8, "expected the rules to use `for: Nm`, found {n}");
    // The forecast reads the last hour every 5 minutes: every second here.
    let out = out.join("\n") + "\n";
    assert!(out.contains("[1h:5m]"), "the forecast's subquery");
    out.replace("[1h:5m]", "[1h:1s]")
}

/// When, after the scenario starts, each region's state changes (from the file).
fn change_times() -> BTreeMap<&'static str, Duration> {
    let s = Scenario::from_file(&root().join("scenarios/alert-rehearsal.yml")).unwrap();
    let eu = &s.regions["eu-west-1"].phases;
    let bounces = eu[0].duration.unwrap();
    assert!(eu[1].reputation.bounce_rate.unwrap() >= 0.05);
    // news.example.com's DKIM fails when the bounce rate climbs.
    let dkim = |phase: &pinpoint_email_simulator::scenario::Phase| {
        phase.identities.as_ref().unwrap()[1]
            .dkim_status
            .clone()
            .unwrap()
    };
    assert_eq!(
        [dkim(&eu[0]), dkim(&eu[1])],
        ["SUCCESS", "TEMPORARY_FAILURE"]
    );
    let probation = bounces + eu[1].duration.unwrap();
    let shutdown = probation + eu[2].duration.unwrap();
    // us-east-1 starts at 70 % and climbs 1 % a second (checked below).
    let us = &s.regions["us-east-1"].phases[0];
    let max = us.account.max_24_hour_send.unwrap();
    let start = us.account.sent_last_24_hours.unwrap();
    let at_ratio = |r: f64| Duration::from_secs_f64((r * max - start) / us.sent_per_second);
    BTreeMap::from([
        ("PinpointEmailBounceRateCritical", bounces),
        ("PinpointEmailBounceRateHigh", bounces),
        ("PinpointEmailAccountProbation", probation),
        ("PinpointEmailAccountShutdown", shutdown),
        ("PinpointEmailSendingDisabled", shutdown),
        ("PinpointEmailIdentityDkimFailing", bounces),
        ("PinpointEmailQuotaUsageHigh", at_ratio(0.8)),
        ("PinpointEmailQuotaNearlyExhausted", at_ratio(0.95)),
        ("PinpointEmailQuotaExhaustionPredicted", Duration::ZERO),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_aws_state_to_a_delivered_alert() {
    let prometheus_bin = tool("prometheus", "prometheus");
    let alertmanager_bin = tool("prometheus-alertmanager", "prometheus-alertmanager");
    let dir = temp_dir("e2e");

    // Alertmanager delivering to our webhook.
    let (hook, deliveries) = webhook_receiver().await;
    let am_addr = free_addr();
    std::fs::write(
        dir.join("alertmanager.yml"),
        format!(
            "route:\n  receiver: hook\n  group_by: [alertname, account, aws_region]\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n  - name: hook\n    webhook_configs:\n      - url: http://{hook}/\n        send_resolved: true\n"
        ),
    )
    .unwrap();
    let alertmanager = Process::start(
        "alertmanager",
        &alertmanager_bin,
        &[
            "--config.file=alertmanager.yml".into(),
            "--storage.path=am-data".into(),
            format!("--web.listen-address={am_addr}"),
            "--cluster.listen-address=".into(),
        ],
        &dir,
    );

    // The simulator and the exporter, polling every second.
    let scenario = Scenario::from_file(&root().join("scenarios/alert-rehearsal.yml")).unwrap();
    let sim = simulator().await;
    // One target through Pinpoint Email, one through SES v2 (in the healthy
    // region), so every dashboard panel has data.
    std::fs::write(
        dir.join("targets.yml"),
        "targets:\n\
         \x20 - name: pinpoint\n\
         \x20   regions: [eu-west-1, us-east-1, ap-southeast-2]\n\
         \x20 - name: ses\n\
         \x20   api: sesv2\n\
         \x20   regions: [ap-southeast-2]\n",
    )
    .unwrap();
    let exporter = start(
        config(&[
            "--config.file",
            dir.join("targets.yml").to_str().unwrap(),
            "--poll.interval",
            "1s",
            "--collector.reputation",
            "--collector.reputation.interval",
            "1s",
            "--collector.dedicated-ips",
            "--collector.dedicated-ips.interval",
            "1s",
            "--collector.identities",
            // Both domains of a region fit a second apart in half of it.
            "--collector.identities.interval",
            "4s",
        ]),
        sim.endpoint_url(),
        SECRET_KEY,
    )
    .await;

    // Prometheus scraping it every second, with the rules.
    std::fs::write(dir.join("alerts.yml"), compressed_rules()).unwrap();
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files: [alerts.yml]\n\
             alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{am_addr}']\n\
             scrape_configs:\n  - job_name: pinpoint-email-exporter\n    static_configs:\n      - targets: ['{}']\n",
            exporter.addr
        ),
    )
    .unwrap();
    let (prometheus, prom_addr) = start_prometheus(&prometheus_bin, &dir, "prom-data").await;
    wait_ok(am_addr, "/-/ready", Duration::from_secs(30), || {
        alertmanager.log_tail()
    })
    .await;
    wait_ready(exporter.addr).await;

    // Start the scenario now: its clock is the one state changes are measured on.
    sim.load_scenario(&scenario);
    let t0 = Instant::now();
    let changes = change_times();
    let expected: BTreeSet<(String, String)> = [
        ("PinpointEmailBounceRateCritical", "pinpoint/eu-west-1"),
        ("PinpointEmailBounceRateHigh", "pinpoint/eu-west-1"),
        ("PinpointEmailAccountProbation", "pinpoint/eu-west-1"),
        ("PinpointEmailAccountShutdown", "pinpoint/eu-west-1"),
        ("PinpointEmailSendingDisabled", "pinpoint/eu-west-1"),
        ("PinpointEmailIdentityDkimFailing", "pinpoint/eu-west-1"),
        ("PinpointEmailQuotaUsageHigh", "pinpoint/us-east-1"),
        ("PinpointEmailQuotaNearlyExhausted", "pinpoint/us-east-1"),
        (
            "PinpointEmailQuotaExhaustionPredicted",
            "pinpoint/us-east-1",
        ),
    ]
    .iter()
    .map(|(a, r)| (a.to_string(), r.to_string()))
    .collect();

    let mut first_firing: BTreeMap<(String, String), Duration> = BTreeMap::new();
    loop {
        let alerts = get_json(prom_addr, "/api/v1/alerts").await;
        for alert in alerts["data"]["alerts"].as_array().unwrap() {
            if alert["state"] != "firing" {
                continue;
            }
            let name = alert["labels"]["alertname"].as_str().unwrap().to_string();
            let key = (name, where_(&alert["labels"]));
            assert!(
                expected.contains(&key),
                "unexpected alert firing after {:?}: {alert}",
                t0.elapsed()
            );
            first_firing.entry(key).or_insert_with(|| t0.elapsed());
        }
        let delivered: BTreeSet<(String, String)> = deliveries
            .lock()
            .unwrap()
            .iter()
            .filter(|d| d.3 == "firing")
            .map(|d| (d.1.clone(), d.2.clone()))
            .collect();
        if first_firing.len() == expected.len() && expected.is_subset(&delivered) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(150),
            "after {:?} fired {:?} and delivered {delivered:?}, expected {expected:?}\nprometheus log:\n{}",
            t0.elapsed(),
            first_firing.keys().collect::<Vec<_>>(),
            prometheus.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Every Grafana dashboard query returns data from this Prometheus.
    let checked = dashboard_queries_return_data(prom_addr).await;

    // Prometheus negotiated OpenMetrics (gzip-compressed, as it always asks):
    // only an OpenMetrics scrape carries units, and the scrape is healthy.
    let meta = get_json(
        prom_addr,
        "/api/v1/metadata?metric=pinpoint_email_poll_duration_seconds",
    )
    .await;
    assert_eq!(
        meta["data"]["pinpoint_email_poll_duration_seconds"][0]["unit"], "seconds",
        "{meta}"
    );
    let targets = get_json(prom_addr, "/api/v1/targets").await;
    let target = &targets["data"]["activeTargets"][0];
    assert_eq!(target["health"], "up", "{target}");
    assert_eq!(target["lastError"], "", "{target}");

    // The report: time from each state change to firing and to delivery.
    let mut report = format!(
        "End-to-end alerting (simulator -> exporter polling every 1s -> Prometheus scraping and evaluating every 1s -> Alertmanager -> webhook); `for:` durations shortened from minutes to seconds.\n{checked} dashboard queries returned data.\n\n{:<40} {:<20} {:>10} {:>14} {:>14}\n",
        "alert", "account/region", "change at", "fired after", "delivered after"
    );
    let log = deliveries.lock().unwrap().clone();
    for (key, fired_at) in &first_firing {
        let change = changes[key.0.as_str()];
        let delivered_at = log
            .iter()
            .find(|d| d.1 == key.0 && d.2 == key.1 && d.3 == "firing")
            .map(|d| d.0 - t0)
            .unwrap();
        report.push_str(&format!(
            "{:<40} {:<20} {:>9.1}s {:>13.1}s {:>13.1}s\n",
            key.0,
            key.1,
            change.as_secs_f64(),
            fired_at.saturating_sub(change).as_secs_f64(),
            delivered_at.saturating_sub(change).as_secs_f64(),
        ));
    }
    // The point of the reputation collector: the bounce-rate alert fires before
    // AWS's verdict. In this timeline the rate crosses 5 % 15 s before
    // PROBATION, standing for the hours a real account's rate climbs first.
    let at = |name: &str| first_firing[&(name.to_string(), "pinpoint/eu-west-1".to_string())];
    let lead =
        at("PinpointEmailAccountProbation").saturating_sub(at("PinpointEmailBounceRateCritical"));
    report.push_str(&format!(
        "\nPinpointEmailBounceRateCritical fired {:.1}s before PinpointEmailAccountProbation (the bounce rate crossed 5 % {:.0}s before the status changed).\n",
        lead.as_secs_f64(),
        (changes["PinpointEmailAccountProbation"] - changes["PinpointEmailBounceRateCritical"]).as_secs_f64()
    ));
    assert!(
        at("PinpointEmailBounceRateCritical") < at("PinpointEmailAccountProbation"),
        "the bounce-rate alert must fire before PROBATION: {first_firing:?}"
    );
    report.push_str(
        "\n(`fired after` includes each rule's shortened `for:`: 0 s for the status alerts, 5 s for sending disabled, quota high and the critical bounce rate, 15 s for the bounce-rate warning and DKIM failing, 2 s for quota nearly exhausted, 15 s for the prediction. The test sees firing alerts by polling the Prometheus API every 250 ms, so `fired after` can exceed `delivered after`, which the webhook records as it arrives.)\n",
    );
    let path = root().join("target/e2e-report.txt");
    std::fs::write(&path, &report).unwrap();
    println!("{report}");

    // Sanity of the measurements: the status alerts fire within a few seconds of
    // the change (1 s poll + 1 s scrape + 1 s evaluation), never before it.
    for name in [
        "PinpointEmailAccountProbation",
        "PinpointEmailAccountShutdown",
    ] {
        let fired = first_firing[&(name.to_string(), "pinpoint/eu-west-1".to_string())];
        let change = changes[name];
        assert!(
            fired >= change,
            "{name} fired at {fired:?}, before the change at {change:?}"
        );
        assert!(
            fired - change < Duration::from_secs(10),
            "{name} took {:?}",
            fired - change
        );
    }
    exporter.stop().await;
    drop(prometheus);
    drop(alertmanager);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs every panel query of the Grafana dashboard against Prometheus, with the
/// template variables set to "all", and asserts each returns at least one series;
/// annotation queries must be accepted.
async fn dashboard_queries_return_data(prom: SocketAddr) -> usize {
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("grafana/pinpoint-email.json")).unwrap(),
    )
    .unwrap();
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                exprs.push((
                    panel["title"].as_str().unwrap_or("?").to_string(),
                    expr.to_string(),
                ));
            }
        }
    }
    assert!(
        exprs.len() >= 10,
        "only {} queries in the dashboard",
        exprs.len()
    );
    for (title, expr) in &exprs {
        let result = query(prom, expr).await;
        assert!(!result.is_empty(), "panel {title:?}: no data for {expr}");
    }
    // Annotation queries only mark changes, so they may rightly return nothing;
    // Prometheus must accept them.
    let mut annotations = 0;
    for annotation in dashboard["annotations"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(expr) = annotation["target"]["expr"].as_str() {
            query(prom, expr).await;
            annotations += 1;
        }
    }
    assert!(
        annotations >= 1,
        "the dashboard has no status-change annotation"
    );
    exprs.len()
}

/// Runs an instant query with the dashboard's variables set to "all".
async fn query(prom: SocketAddr, expr: &str) -> Vec<Value> {
    let query = expr
        .replace("$cluster", ".*")
        .replace("$namespace", ".*")
        .replace("$job", ".*")
        .replace("$account", ".*")
        .replace("$aws_region", ".*")
        .replace("$__rate_interval", "1m")
        .replace("$__interval", "15s")
        .replace("$__range", "5m");
    let path = format!("/api/v1/query?query={}", percent_encode(&query));
    let answer = get_json(prom, &path).await;
    assert_eq!(answer["status"], "success", "{query}: {answer}");
    answer["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Prometheus down longer than its 5-minute lookback while the exporter is
/// gone too (a node drain taking both): when Prometheus comes back, the page
/// it had must still fire, read from what the rules recorded before.
///
/// The outage is made in Prometheus's own data, not waited for: a first
/// Prometheus scrapes the exporter (every second) and evaluates the shipped
/// rules until SHUTDOWN fires; then it and the exporter stop, everything it
/// stored (raw series and records) is moved six minutes back in time and
/// loaded into a second Prometheus as blocks (`promtool tsdb
/// create-blocks-from openmetrics`), which starts with the rules and no
/// exporter to scrape: to it, the last sample is six minutes old, exactly as
/// after a six-minute outage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_survives_a_six_minute_prometheus_outage_while_the_exporter_is_gone() {
    const OUTAGE: Duration = Duration::from_secs(6 * 60);
    let prometheus_bin = tool("prometheus", "prometheus");
    let dir = temp_dir("e2e-outage");
    let sim = simulator().await;
    let mut shutdown = AccountState::healthy();
    shutdown.enforcement_status = "SHUTDOWN".into();
    sim.set_script("eu-west-1", vec![Step::Account(shutdown)]);
    sim.set_script("us-east-1", vec![Step::Account(AccountState::healthy())]);
    std::fs::write(
        dir.join("targets.yml"),
        "targets:\n  - name: prod\n    regions: [eu-west-1, us-east-1]\n",
    )
    .unwrap();
    let exporter = start(
        config(&[
            "--config.file",
            dir.join("targets.yml").to_str().unwrap(),
            "--poll.interval",
            "1s",
        ]),
        sim.endpoint_url(),
        SECRET_KEY,
    )
    .await;
    std::fs::copy(
        root().join("deploy/prometheus/alerts.yml"),
        dir.join("alerts.yml"),
    )
    .unwrap();
    let prometheus_yml = |targets: &str| {
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files: [alerts.yml]\n\
             scrape_configs:\n  - job_name: pinpoint-email-exporter\n    static_configs:\n      - targets: [{targets}]\n"
        )
    };
    std::fs::write(
        dir.join("prometheus.yml"),
        prometheus_yml(&format!("'{}'", exporter.addr)),
    )
    .unwrap();
    let (before, before_addr) = start_prometheus(&prometheus_bin, &dir, "before").await;
    let shutdown_firing = |alerts: &Value| -> Vec<String> {
        alerts["data"]["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["state"] == "firing")
            .map(|a| {
                format!(
                    "{} {}",
                    a["labels"]["alertname"].as_str().unwrap(),
                    where_(&a["labels"])
                )
            })
            .collect()
    };
    let started = Instant::now();
    loop {
        let firing = shutdown_firing(&get_json(before_addr, "/api/v1/alerts").await);
        if firing.contains(&"PinpointEmailAccountShutdown prod/eu-west-1".to_string()) {
            assert_eq!(firing.len(), 1, "{firing:?}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "SHUTDOWN did not fire before the outage: {firing:?}\n{}",
            before.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // A few more evaluations with the page firing, then the drain.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stored = get_json(
        before_addr,
        &format!(
            "/api/v1/query?query={}",
            percent_encode(r#"{__name__=~".+",__name__!~"ALERTS.*"}[10m]"#)
        ),
    )
    .await;
    exporter.stop().await;
    drop(before);

    // Everything stored, six minutes earlier, as OpenMetrics for promtool.
    let openmetrics = shifted_openmetrics(&stored, OUTAGE);
    assert!(
        openmetrics.contains("account_aws_region:pinpoint_email_account_condition:held{"),
        "the records are part of what Prometheus stored"
    );
    std::fs::write(dir.join("history.om"), &openmetrics).unwrap();
    run_ok(
        std::process::Command::new(promtool())
            .args([
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "history.om",
                "after",
            ])
            .current_dir(&dir),
    );

    // Prometheus back after six minutes; the exporter's node is gone, so
    // there is nothing to scrape.
    std::fs::write(dir.join("prometheus.yml"), prometheus_yml("")).unwrap();
    let (after, after_addr) = start_prometheus(&prometheus_bin, &dir, "after").await;
    // The newest raw sample is six minutes old: an instant query sees none.
    let raw = get_json(
        after_addr,
        &format!(
            "/api/v1/query?query={}",
            percent_encode("pinpoint_email_up")
        ),
    )
    .await;
    assert_eq!(raw["data"]["result"], serde_json::json!([]), "{raw}");
    // Ten evaluations after the restart, the page fires, and only it.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let firing = shutdown_firing(&get_json(after_addr, "/api/v1/alerts").await);
    assert_eq!(
        firing,
        vec!["PinpointEmailAccountShutdown prod/eu-west-1".to_string()],
        "after a {OUTAGE:?} outage\n{}",
        after.log_tail()
    );
    drop(after);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The range-query answer `stored` (every series' samples) as OpenMetrics,
/// every sample `by` earlier, each metric's series together.
fn shifted_openmetrics(stored: &Value, by: Duration) -> String {
    let mut families: BTreeMap<String, String> = BTreeMap::new();
    for series in stored["data"]["result"].as_array().unwrap() {
        let mut labels = series["metric"].as_object().unwrap().clone();
        let name = labels.remove("__name__").unwrap();
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| {
                let v = v.as_str().unwrap();
                let v = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                format!("{k}=\"{v}\"")
            })
            .collect();
        let family = families
            .entry(name.as_str().unwrap().to_string())
            .or_default();
        for point in series["values"].as_array().unwrap() {
            let at = point[0].as_f64().unwrap() - by.as_secs_f64();
            family.push_str(&format!(
                "{}{{{}}} {} {at:.3}\n",
                name.as_str().unwrap(),
                labels.join(","),
                point[1].as_str().unwrap()
            ));
        }
    }
    families.into_values().collect::<String>() + "# EOF\n"
}
