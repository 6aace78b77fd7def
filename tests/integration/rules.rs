//! The alert rules and the example Prometheus and Alertmanager configurations,
//! checked by the real tools: `promtool check rules`, `promtool test rules`,
//! `promtool check config`, `amtool check-config`. Each alert must be tested
//! firing and not firing, and have a runbook section in docs/runbooks.md.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::common::{root, run_ok, tool};

fn yaml(path: &Path) -> serde_yaml_ng::Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every rule of the rules file, recording and alerting.
fn rule_count() -> usize {
    let rules = yaml(&root().join("deploy/prometheus/alerts.yml"));
    rules["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|g| g["rules"].as_sequence().unwrap().len())
        .sum()
}

/// (alert name, rule) of every alerting rule in the rules file.
fn alerts() -> Vec<(String, serde_yaml_ng::Value)> {
    let rules = yaml(&root().join("deploy/prometheus/alerts.yml"));
    rules["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap().iter())
        .filter_map(|r| Some((r["alert"].as_str()?.to_string(), r.clone())))
        .collect()
}

/// The promtool test files of `tests/rules`.
const TEST_FILES: [&str; 5] = [
    "alerts_test.yml",
    "dedicated_ips_test.yml",
    "held_test.yml",
    "identities_test.yml",
    "restart_test.yml",
];

/// Alerts about an exporter or an install, not about an account in a region.
const EXPORTER_ALERTS: [&str; 4] = [
    "PinpointEmailExporterDown",
    "PinpointEmailExporterAbsent",
    "PinpointEmailShardMissing",
    "PinpointEmailDiscoveryFailing",
];

#[test]
fn promtool_checks_and_unit_tests_the_rules() {
    let out = run_ok(
        Command::new(common::promtool())
            .args(["check", "rules"])
            .arg(root().join("deploy/prometheus/alerts.yml")),
    );
    assert!(
        out.contains(&format!("SUCCESS: {} rules found", rule_count())),
        "{out}"
    );
    // One promtool per file, at once: the files take 0.2 to 26 s each.
    let runs: Vec<_> = TEST_FILES
        .iter()
        .map(|file| {
            std::thread::spawn(move || {
                run_ok(
                    Command::new(common::promtool())
                        .args(["test", "rules", file])
                        .current_dir(root().join("tests/rules")),
                )
            })
        })
        .collect();
    for (file, run) in TEST_FILES.iter().zip(runs) {
        let out = run.join().unwrap();
        assert!(out.contains("SUCCESS"), "{file}: {out}");
    }
}

#[test]
fn every_alert_is_tested_firing_and_not_firing() {
    let mut firing = BTreeSet::new();
    let mut quiet = BTreeSet::new();
    let files: Vec<_> = TEST_FILES
        .iter()
        .map(|f| yaml(&root().join("tests/rules").join(f)))
        .collect();
    for t in files.iter().flat_map(|f| f["tests"].as_sequence().unwrap()) {
        for case in t["alert_rule_test"].as_sequence().unwrap() {
            let name = case["alertname"].as_str().unwrap().to_string();
            let fires = case["exp_alerts"]
                .as_sequence()
                .is_some_and(|a| !a.is_empty());
            if fires {
                firing.insert(name)
            } else {
                quiet.insert(name)
            };
        }
    }
    for (name, _) in alerts() {
        assert!(
            firing.contains(&name),
            "{name} has no test in which it fires"
        );
        assert!(
            quiet.contains(&name),
            "{name} has no test in which it stays quiet"
        );
    }
}

/// Where the mixin's default runbookURLPattern points: docs/runbooks.md of the
/// repository, as a link Alertmanager and Grafana can follow.
const RUNBOOKS: &str =
    "https://github.com/pinpoint-email-exporter/pinpoint-email-exporter/blob/main/docs/runbooks.md";

#[test]
fn every_alert_has_severity_annotations_and_a_runbook() {
    let runbooks = std::fs::read_to_string(root().join("docs/runbooks.md")).unwrap();
    for (name, rule) in alerts() {
        let severity = rule["labels"]["severity"].as_str();
        assert!(
            matches!(severity, Some("critical" | "warning")),
            "{name}: severity {severity:?}"
        );
        for key in ["summary", "description", "runbook_url"] {
            assert!(
                rule["annotations"][key].as_str().is_some(),
                "{name} lacks annotation {key}"
            );
        }
        let description = rule["annotations"]["description"].as_str().unwrap();
        let summary = rule["annotations"]["summary"].as_str().unwrap();
        if !EXPORTER_ALERTS.contains(&name.as_str()) {
            assert!(
                description.contains("$labels.account")
                    && description.contains("$labels.aws_region"),
                "{name}: the description must name the account and region"
            );
            assert!(
                summary.contains("$labels.aws_region"),
                "{name}: the summary must name the region"
            );
        }
        let anchor = name.to_lowercase();
        assert_eq!(
            rule["annotations"]["runbook_url"].as_str(),
            Some(format!("{RUNBOOKS}#{anchor}").as_str()),
            "{name}"
        );
        assert!(
            runbooks.contains(&format!("\n### {name}\n")),
            "docs/runbooks.md has no runbook section ### {name}"
        );
    }
}

#[test]
fn example_prometheus_and_alertmanager_configs_are_valid() {
    run_ok(
        Command::new(common::promtool())
            .args(["check", "config"])
            .arg(root().join("deploy/prometheus/prometheus.yml")),
    );
    run_ok(
        Command::new(tool("amtool", "prometheus-alertmanager"))
            .arg("check-config")
            .arg(root().join("deploy/prometheus/alertmanager.yml")),
    );
}

/// The dashboard's status-change annotation, run by promtool with the rules
/// on an account that is SHUTDOWN from 10m, whose exporter is down from 20m
/// to 30m, and that AWS reinstates at 40m: it marks the beginning and the end,
/// not the exporter's return.
#[test]
fn the_status_annotation_marks_changes_not_returns_after_a_gap() {
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("grafana/pinpoint-email.json")).unwrap(),
    )
    .unwrap();
    let mut expr = dashboard["annotations"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Enforcement status changes")
        .and_then(|a| a["target"]["expr"].as_str())
        .expect("the dashboard's status-change annotation")
        .to_string();
    for variable in ["$cluster", "$namespace", "$job", "$account", "$aws_region"] {
        expr = expr.replace(variable, ".*");
    }
    let series = |name: &str, extra: &str, values: &str| {
        format!(
            "      - series: '{name}{{job=\"pinpoint-email-exporter\",instance=\"e:10919\",account=\"prod\",aws_region=\"eu-west-1\"{extra}}}'\n        values: {values}\n"
        )
    };
    let at = |minutes: u32, changes: &[&str]| {
        let samples: Vec<String> = changes
            .iter()
            .map(|c| format!("{{labels: '{{account=\"prod\",aws_region=\"eu-west-1\",condition=\"shutdown\",change=\"{c}\"}}', value: 1}}"))
            .collect();
        format!(
            "      - expr: {expr:?}\n        eval_time: {minutes}m\n        exp_samples: [{}]\n",
            samples.join(", ")
        )
    };
    let test = format!(
        "rule_files: [{}]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n\
         \x20     - series: 'up{{job=\"pinpoint-email-exporter\",instance=\"e:10919\"}}'\n        values: 1x19 0x9 1x30\n\
         {}{}{}{}    promql_expr_test:\n{}{}{}{}{}{}",
        root().join("deploy/prometheus/alerts.yml").display(),
        series("pinpoint_email_up", "", "1x19 stale _x8 1x30"),
        series("pinpoint_email_polls_total", "", "1+1x19 stale _x8 1+1x30"),
        series(
            "pinpoint_email_enforcement_status",
            ",status=\"SHUTDOWN\"",
            "0x9 1x9 stale _x8 1x9 0x20"
        ),
        series(
            "pinpoint_email_enforcement_status",
            ",status=\"HEALTHY\"",
            "1x9 0x9 stale _x8 0x9 1x20"
        ),
        at(5, &[]),
        at(10, &["began"]),
        at(25, &[]),
        at(32, &[]),
        at(40, &["ended"]),
        at(45, &[]),
    );
    let dir = common::temp_dir("annotation");
    std::fs::write(dir.join("annotation_test.yml"), test).unwrap();
    let out = run_ok(
        Command::new(common::promtool())
            .args(["test", "rules", "annotation_test.yml"])
            .current_dir(&dir),
    );
    assert!(out.contains("SUCCESS"), "{out}");
}
