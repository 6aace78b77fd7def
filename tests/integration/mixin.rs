//! The monitoring mixin (mixin/), rendered by the real `jsonnet`: the shipped
//! rule file and dashboard are its default render, byte for byte, and a render
//! with another job, extra matchers and other thresholds carries them into
//! every selector, threshold, `for` and runbook link, which promtool then
//! evaluates: the alerts follow the new job and thresholds, and ignore the old.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common::{read, root, run_ok, temp_dir, tool, walk};
use serde_json::Value;

/// Renders the mixin's rule file and dashboards into `out`, as the README says,
/// with `config` (Jsonnet or JSON code) as its settings.
fn render(out: &Path, config: Option<&str>) {
    let jsonnet = |args: &[&str], entry: &str| {
        let mut cmd = Command::new(tool("jsonnet", "jsonnet"));
        cmd.args(args);
        if let Some(config) = config {
            cmd.arg("--tla-code").arg(format!("config={config}"));
        }
        let result = cmd.arg(root().join(entry)).output().unwrap();
        assert!(
            result.status.success(),
            "jsonnet {entry} failed:\n{}",
            String::from_utf8_lossy(&result.stderr)
        );
        result.stdout
    };
    let rules = jsonnet(&["-S"], "mixin/alerts.jsonnet");
    std::fs::write(out.join("alerts.yml"), rules).unwrap();
    jsonnet(&["-m", out.to_str().unwrap()], "mixin/dashboards.jsonnet");
    // jsonnet prints every fraction with 17 digits (0.05 as
    // 0.050000000000000003): written again with the shortest digits that read
    // back the same, in jsonnet's layout.
    let dashboard = out.join("pinpoint-email.json");
    let value: Value = serde_json::from_str(&read(&dashboard)).unwrap();
    let mut text = String::new();
    write_json(&value, 0, &mut text);
    text.push('\n');
    std::fs::write(&dashboard, text).unwrap();
}

/// `value` as jsonnet lays JSON out (three spaces a level, `[ ]` and `{ }`
/// when empty, keys sorted), numbers in their shortest form.
fn write_json(value: &Value, depth: usize, out: &mut String) {
    let indent = |depth: usize| "   ".repeat(depth);
    match value {
        Value::Array(items) if items.is_empty() => out.push_str("[ ]"),
        Value::Object(map) if map.is_empty() => out.push_str("{ }"),
        Value::Array(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&indent(depth + 1));
                write_json(item, depth + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&indent(depth));
            out.push(']');
        }
        Value::Object(map) => {
            out.push_str("{\n");
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, key) in keys.iter().enumerate() {
                out.push_str(&indent(depth + 1));
                out.push_str(&serde_json::to_string(key).unwrap());
                out.push_str(": ");
                write_json(&map[*key], depth + 1, out);
                out.push_str(if i + 1 < keys.len() { ",\n" } else { "\n" });
            }
            out.push_str(&indent(depth));
            out.push('}');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap()),
    }
}

/// Every PromQL expression of a rendered rule file and dashboard.
fn expressions(out: &Path) -> Vec<String> {
    let rules: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read(out.join("alerts.yml"))).unwrap();
    let mut exprs: Vec<String> = rules["groups"][0]["rules"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| r["expr"].as_str().unwrap().to_string())
        .collect();
    fn walk(v: &Value, found: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("expr" | "query", Value::String(s)) => found.push(s.clone()),
                        _ => walk(v, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    let dashboard: Value = serde_json::from_str(&read(out.join("pinpoint-email.json"))).unwrap();
    walk(&dashboard, &mut exprs);
    exprs
}

/// The selectors of raw series (the exporter's and `up`) in `expr`: each name
/// with what follows it up to the closing brace, or nothing when it has none.
fn raw_selectors(expr: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = expr.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
    let mut i = 0;
    while i < bytes.len() {
        if !word(bytes[i]) || (i > 0 && word(bytes[i - 1])) {
            i += 1;
            continue;
        }
        let end = (i..bytes.len())
            .find(|&j| !word(bytes[j]))
            .unwrap_or(bytes.len());
        let name = &expr[i..end];
        let raw = (name == "up" || name.starts_with("pinpoint_email_")) && !name.contains(':');
        // `up` as a word inside a label value or text is not a selector.
        let in_braces = expr[..i].matches('{').count() > expr[..i].matches('}').count();
        if raw && !in_braces {
            let selector = if bytes.get(end) == Some(&b'{') {
                let close = expr[end..].find('}').unwrap() + end;
                expr[i..=close].to_string()
            } else {
                name.to_string()
            };
            found.push(selector);
        }
        i = end;
    }
    found
}

#[test]
fn the_shipped_rules_and_dashboard_are_the_mixins_default_render() {
    let out = temp_dir("default");
    render(&out, None);
    for (rendered, shipped) in [
        ("alerts.yml", "deploy/prometheus/alerts.yml"),
        ("pinpoint-email.json", "grafana/pinpoint-email.json"),
    ] {
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::copy(out.join(rendered), root().join(shipped)).unwrap();
        }
        assert!(
            read(out.join(rendered)) == read(root().join(shipped)),
            "{shipped} differs from the mixin's render: run scripts/render-mixin (UPDATE_GOLDEN=1 cargo test --test integration mixin::) and commit the result"
        );
    }
    // The Prometheus is the dashboard's `datasource` variable, which file
    // provisioning fills as the import dialog does (an `__inputs` placeholder
    // would stay unresolved when provisioned).
    // No number with more digits than it needs (jsonnet's 0.050000000000000003).
    let shipped = read(root().join("grafana/pinpoint-email.json"));
    for noise in ["0000000000", "9999999999"] {
        assert!(
            !shipped.contains(noise),
            "float noise {noise:?} in the dashboard"
        );
    }
    let dashboard: Value = serde_json::from_str(&read(out.join("pinpoint-email.json"))).unwrap();
    assert!(dashboard.get("__inputs").is_none());
    let variable = &dashboard["templating"]["list"][0];
    assert_eq!(
        (&variable["name"], &variable["type"], &variable["query"]),
        (
            &"datasource".into(),
            &"datasource".into(),
            &"prometheus".into()
        )
    );
    let text = dashboard.to_string();
    assert_eq!(
        text.matches(r#""uid":"${datasource}""#).count(),
        text.matches(r#""type":"prometheus""#).count()
    );
    assert!(!text.contains("DS_PROMETHEUS"));
    // Every raw selector carries the default job.
    let exprs = expressions(&out);
    let selectors: Vec<String> = exprs.iter().flat_map(|e| raw_selectors(e)).collect();
    assert!(selectors.len() > 60, "{selectors:?}");
    for s in &selectors {
        assert!(s.contains(r#"{job="pinpoint-email-exporter""#), "{s}");
    }
}

/// Settings a user would pass: another job, a cluster, other thresholds, a
/// longer `for`, runbooks hosted elsewhere.
const SETTINGS: &str = r#"{
  pinpointEmailSelector: 'job="email"',
  extraLabelMatchers: 'cluster="prod"',
  bounceRateWarning: 0.03,
  complaintRateWarning: 0.0004,
  quotaUsageWarning: 0.7,
  quotaUsageCritical: 0.9,
  alertFor: { PinpointEmailBounceRateHigh: '30m' },
  runbookURLPattern: 'https://runbooks.example.com/pinpoint-email#%s',
  dashboardUID: 'mail-accounts',
}"#;

/// The render with [`SETTINGS`], made once for the tests that read it (jsonnet
/// takes seconds to write YAML).
fn custom() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = temp_dir("custom");
        render(&out, Some(SETTINGS));
        out
    })
}

#[test]
fn a_non_default_config_moves_every_selector_threshold_and_link() {
    let out = custom();
    let rules = read(out.join("alerts.yml"));
    assert!(!rules.contains("pinpoint-email-exporter\""), "{rules}");

    let exprs = expressions(out);
    let selectors: Vec<String> = exprs.iter().flat_map(|e| raw_selectors(e)).collect();
    assert!(selectors.len() > 60, "{selectors:?}");
    for s in &selectors {
        assert!(s.contains(r#"{job="email", cluster="prod""#), "{s}");
    }

    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&rules).unwrap();
    let alert = |name: &str| {
        doc["groups"][0]["rules"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|r| r["alert"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("no alert {name}"))
            .clone()
    };
    let high = alert("PinpointEmailBounceRateHigh");
    assert!(
        high["expr"].as_str().unwrap().ends_with(">= 0.03"),
        "{high:?}"
    );
    assert_eq!(high["for"].as_str(), Some("30m"));
    assert_eq!(
        high["annotations"]["runbook_url"].as_str(),
        Some("https://runbooks.example.com/pinpoint-email#pinpointemailbounceratehigh")
    );
    assert!(
        alert("PinpointEmailQuotaUsageHigh")["expr"]
            .as_str()
            .unwrap()
            .ends_with("> 0.7")
    );
    // The other alerts keep their default `for`.
    assert_eq!(
        alert("PinpointEmailBounceRateCritical")["for"].as_str(),
        Some("5m")
    );
    assert!(
        alert("PinpointEmailQuotaNearlyExhausted")["expr"]
            .as_str()
            .unwrap()
            .ends_with("> 0.9")
    );
    assert_eq!(
        alert("PinpointEmailExporterAbsent")["expr"].as_str(),
        Some(r#"absent(up{job="email", cluster="prod"})"#)
    );

    let dashboard: Value = serde_json::from_str(&read(out.join("pinpoint-email.json"))).unwrap();
    assert_eq!(dashboard["uid"], "mail-accounts");
    let text = dashboard.to_string();
    assert!(text.contains(r#""value":0.7"#) && text.contains(r#""value":0.9"#));
    assert!(!text.contains(r#""value":0.8"#) && !text.contains(r#""value":0.95"#));
    // The rate panels' warning lines follow the thresholds; AWS's own review
    // and pause rates stay.
    assert_eq!(
        threshold_steps(&dashboard, "Bounce rate"),
        [0.03, 0.05, 0.1]
    );
    assert_eq!(
        threshold_steps(&dashboard, "Complaint rate"),
        [0.0004, 0.001, 0.005]
    );
    // The default render is the shipped dashboard (the test above).
    let default: Value =
        serde_json::from_str(&read(root().join("grafana/pinpoint-email.json"))).unwrap();
    assert_eq!(threshold_steps(&default, "Bounce rate"), [0.02, 0.05, 0.1]);
    assert_eq!(
        threshold_steps(&default, "Complaint rate"),
        [0.0005, 0.001, 0.005]
    );
}

/// The threshold steps (after the base) of the dashboard's panel `title`.
fn threshold_steps(dashboard: &Value, title: &str) -> Vec<f64> {
    fn find<'a>(panels: &'a Value, title: &str) -> Option<&'a Value> {
        panels.as_array()?.iter().find_map(|p| {
            if p["title"] == title {
                Some(p)
            } else {
                find(&p["panels"], title)
            }
        })
    }
    let panel = find(&dashboard["panels"], title).unwrap_or_else(|| panic!("no panel {title}"));
    panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["value"].as_f64())
        .collect()
}

/// promtool evaluates the custom render: the bounce-rate warning fires at 3 %
/// after 30 minutes for the job it selects, and never for the default job.
#[test]
fn alerts_of_a_non_default_config_follow_its_job_and_thresholds() {
    let out = custom();
    run_ok(
        Command::new(common::promtool())
            .args(["check", "rules"])
            .arg(out.join("alerts.yml")),
    );

    // Two exporters: job="email" in cluster prod, and one with the default job
    // name; both report the same account at a bounce rate of 2.5 % and then
    // 3.5 %.
    let series = |job: &str, account: &str, instance: &str| {
        let labels = format!(
            r#"job="{job}", cluster="prod", instance="{instance}", account="{account}", aws_region="eu-west-1""#
        );
        format!(
            "      - series: 'up{{{labels}}}'\n        values: 1x90\n\
             \x20     - series: 'pinpoint_email_reputation_polls_total{{{labels}}}'\n        values: 0+1x90\n\
             \x20     - series: 'pinpoint_email_reputation_up{{{labels}}}'\n        values: 1x90\n\
             \x20     - series: 'pinpoint_email_reputation_bounce_ratio{{{labels}}}'\n        values: 0.025x19 0.035x70\n"
        )
    };
    let labels = "{severity: warning, account: selected, account_id: selected, aws_region: eu-west-1, job: email, cluster: prod}";
    let summary = "The bounce rate of selected in eu-west-1 is 3.5%.";
    let description = "The bounce rate of selected in eu-west-1 is 3.5%, over the 2 % AWS recommends; at 5 % AWS puts the account under review.";
    let tests = format!(
        "rule_files: [alerts.yml]\n\
         evaluation_interval: 1m\n\
         tests:\n\
         \x20 - interval: 1m\n    input_series:\n{}{}\
         \x20   alert_rule_test:\n\
         \x20     # 2.5 % until 19m: over the default 2 %, under the configured 3 %.\n\
         \x20     - eval_time: 19m\n        alertname: PinpointEmailBounceRateHigh\n        exp_alerts: []\n\
         \x20     # 3.5 % from 20m: pending for the configured 30 minutes.\n\
         \x20     - eval_time: 49m\n        alertname: PinpointEmailBounceRateHigh\n        exp_alerts: []\n\
         \x20     - eval_time: 50m\n        alertname: PinpointEmailBounceRateHigh\n        exp_alerts:\n\
         \x20         - exp_labels: {labels}\n            exp_annotations:\n\
         \x20             summary: '{summary}'\n\
         \x20             description: '{description}'\n\
         \x20             runbook_url: https://runbooks.example.com/pinpoint-email#pinpointemailbounceratehigh\n",
        series("email", "selected", "a:9000"),
        series("pinpoint-email-exporter", "ignored", "b:9000"),
    );
    std::fs::write(out.join("test.yml"), tests).unwrap();
    run_ok(
        Command::new(common::promtool())
            .args(["test", "rules", "test.yml"])
            .current_dir(out),
    );
}

/// Every Jsonnet file of the mixin is as `jsonnetfmt` writes it.
#[test]
fn every_jsonnet_file_is_jsonnetfmt_clean() {
    let all: Vec<PathBuf> = walk(&root().join("mixin"))
        .into_iter()
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "jsonnet" || e == "libsonnet")
        })
        .collect();
    assert!(all.len() >= 8, "{all:?}");
    let unformatted: Vec<String> = all
        .iter()
        .filter(|file| {
            !Command::new(tool("jsonnetfmt", "jsonnet"))
                .arg("--test")
                .arg(file)
                .status()
                .unwrap()
                .success()
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        unformatted.is_empty(),
        "not as jsonnetfmt writes them (run jsonnetfmt -i on each): {unformatted:?}"
    );
}
