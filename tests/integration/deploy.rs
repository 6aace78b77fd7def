//! The deployment files agree with the exporter and with each other: the
//! PrometheusRule is generated from deploy/prometheus/alerts.yml (regenerate with
//! `UPDATE_GOLDEN=1 cargo test --test integration deploy::`), every targets file and every set
//! of flags shipped in deploy/ is accepted by the exporter's own parser, and the
//! IAM documents grant what the README says. The external linters (kubectl
//! kustomize, kubernetes-validate, the CRD schemas, checkov, hadolint,
//! systemd-analyze, parliament) run in scripts/check-deploy.

use std::path::PathBuf;

use crate::common::{read, root, walk};
use clap::Parser;
use pinpoint_email_exporter::{Cli, Config, parse_targets};
use serde_json::Value;

/// The PrometheusRule manifest carrying exactly the rules of alerts.yml.
fn prometheus_rule() -> String {
    let rules = read("deploy/prometheus/alerts.yml");
    let body: String = rules
        .lines()
        .skip_while(|l| l.starts_with('#') || l.trim().is_empty())
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("  {l}\n")
            }
        })
        .collect();
    format!(
        "# Generated from deploy/prometheus/alerts.yml by tests/integration/deploy.rs\n\
         # (UPDATE_GOLDEN=1 cargo test --test integration deploy::); do not edit.\n\
         apiVersion: monitoring.coreos.com/v1\n\
         kind: PrometheusRule\n\
         metadata:\n\
         \x20 name: pinpoint-email-exporter\n\
         \x20 labels:\n\
         \x20   app.kubernetes.io/name: pinpoint-email-exporter\n\
         \x20   # Match your Prometheus' ruleSelector (kube-prometheus-stack uses the\n\
         \x20   # Helm release name).\n\
         \x20   release: prometheus\n\
         spec:\n{body}"
    )
}

#[test]
fn prometheus_rule_carries_the_same_rules_as_alerts_yml() {
    let path = root().join("deploy/kubernetes/monitoring/prometheusrule.yaml");
    let want = prometheus_rule();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let got = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        got == want,
        "{} is out of date with deploy/prometheus/alerts.yml: run UPDATE_GOLDEN=1 cargo test --test integration deploy::",
        path.display()
    );
    // And semantically: the groups are the same YAML values.
    let rule: serde_yaml_ng::Value = serde_yaml_ng::from_str(&got).unwrap();
    let alerts: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read("deploy/prometheus/alerts.yml")).unwrap();
    assert_eq!(rule["spec"]["groups"], alerts["groups"]);
    assert_eq!(rule["kind"], "PrometheusRule");
}

/// Every targets.yml under deploy/ is a valid exporter config file.
#[test]
fn shipped_targets_files_are_valid() {
    let files: Vec<PathBuf> = walk(&root().join("deploy"))
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "targets.yml"))
        .collect();
    assert!(files.len() >= 2, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let parsed =
            parse_targets(&file, &text, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
        let mut targets = parsed.targets;
        targets.extend(parsed.discoveries.into_iter().map(|d| d.template));
        assert!(
            targets.iter().all(|t| !t.regions.is_empty()),
            "{}: give every target its regions",
            file.display()
        );
    }
}

fn accept_flags(source: &str, flags: &[String]) {
    let mut args = vec!["pinpoint-email-exporter".to_string()];
    args.extend(flags.iter().cloned());
    let cli = Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{source}: {e}"));
    // The config file and state directory named there are not on this
    // machine; check everything else.
    let cli = Cli {
        config_file: None,
        state_directory: None,
        ..cli
    };
    Config::from_cli(cli).unwrap_or_else(|e| panic!("{source}: {e}"));
}

#[test]
fn shipped_flags_are_accepted_by_the_exporter() {
    // The Deployment's container args.
    let deployment: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read("deploy/kubernetes/base/deployment.yaml")).unwrap();
    let args: Vec<String> = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert!(
        args.iter()
            .any(|a| a.starts_with("--config.file=/etc/pinpoint-email-exporter/"))
    );
    accept_flags("deployment.yaml", &args);

    // The systemd environment file's ARGS.
    let env = read("deploy/systemd/pinpoint-email-exporter.env");
    let line = env
        .lines()
        .find_map(|l| l.strip_prefix("ARGS="))
        .expect("ARGS= in the environment file");
    let flags: Vec<String> = line
        .trim_matches('"')
        .split_whitespace()
        .map(str::to_string)
        .collect();
    accept_flags("pinpoint-email-exporter.env", &flags);
}

fn json(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn iam_documents_grant_exactly_what_the_readme_says() {
    // The exporter's identity: one statement per collector, named after it,
    // with the read-only actions its Spec lists.
    let policy = json("deploy/iam/exporter-policy.json");
    let statements: Vec<(&str, &str)> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            assert_eq!(s["Effect"], "Allow");
            // A collector's statements are named after it: `AccountCollector`,
            // or `IdentitiesCollectorEachIdentity` for one narrowed to
            // resources.
            let sid = s["Sid"].as_str().unwrap();
            let sid = &sid[..sid
                .find("Collector")
                .map_or(sid.len(), |i| i + "Collector".len())];
            let actions: Vec<&str> = match s["Action"].as_array() {
                Some(actions) => actions.iter().map(|a| a.as_str().unwrap()).collect(),
                None => vec![s["Action"].as_str().unwrap()],
            };
            actions.into_iter().map(move |a| (sid, a))
        })
        .collect();
    // What each collector's Spec says it needs, in the registry's order.
    let pascal = |name: &str| -> String {
        name.split('-')
            .map(|w| w[..1].to_ascii_uppercase() + &w[1..])
            .collect()
    };
    let wanted: Vec<(String, &str)> = pinpoint_email_exporter::collector::KINDS
        .iter()
        .map(|k| k.spec())
        .flat_map(|spec| {
            let sid = format!("{}Collector", pascal(spec.name));
            spec.iam_actions().map(move |a| (sid.clone(), a))
        })
        .collect();
    let statements: Vec<(String, &str)> = statements
        .into_iter()
        .map(|(sid, action)| (sid.to_string(), action))
        .collect();
    assert_eq!(statements, wanted);
    assert_eq!(
        wanted[0],
        ("AccountCollector".to_string(), "ses:GetAccount")
    );

    // The source of assume-role targets: sts:AssumeRole on named roles only.
    let source = json("deploy/iam/assume-role-source-policy.json");
    for s in source["Statement"].as_array().unwrap() {
        assert_eq!(s["Action"], "sts:AssumeRole");
        for arn in s["Resource"].as_array().unwrap() {
            let arn = arn.as_str().unwrap();
            assert!(
                arn.starts_with("arn:aws:iam::") && arn.contains(":role/"),
                "{arn}"
            );
        }
    }

    // Organization discovery: list the accounts, and assume one role name in
    // the organization's accounts only.
    let discovery = json("deploy/iam/organization-discovery-policy.json");
    let [list, assume] = discovery["Statement"].as_array().unwrap().as_slice() else {
        panic!("two statements")
    };
    for action in list["Action"].as_array().unwrap() {
        assert!(
            action.as_str().unwrap().starts_with("organizations:List"),
            "{action}"
        );
    }
    assert_eq!(assume["Action"], "sts:AssumeRole");
    assert_eq!(
        assume["Resource"],
        "arn:aws:iam::*:role/pinpoint-email-exporter"
    );
    assert!(assume["Condition"]["StringEquals"]["aws:ResourceOrgID"].is_string());

    // Trust policies are resource policies (parliament audits identity policies
    // only): each trusts one principal, with a condition.
    let cross = json("deploy/iam/cross-account-trust-policy.json");
    let s = &cross["Statement"][0];
    assert_eq!(s["Action"], "sts:AssumeRole");
    assert!(s["Principal"]["AWS"].as_str().unwrap().contains(":role/"));
    assert!(
        s["Condition"]["StringEquals"]["sts:ExternalId"].is_string(),
        "an external id is required"
    );
    let irsa = json("deploy/iam/irsa-trust-policy.json");
    let s = &irsa["Statement"][0];
    assert_eq!(s["Action"], "sts:AssumeRoleWithWebIdentity");
    let conditions = s["Condition"]["StringEquals"].as_object().unwrap();
    assert!(
        conditions.iter().any(|(k, v)| k.ends_with(":sub")
            && v == "system:serviceaccount:monitoring:pinpoint-email-exporter"),
        "the IRSA trust must name the exporter's service account: {conditions:?}"
    );

    // The ServiceAccount annotation names the role of the IRSA trust policy.
    let sa = read("deploy/kubernetes/base/serviceaccount.yaml");
    assert!(sa.contains(
        "eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/pinpoint-email-exporter"
    ));
}

/// The systemd layout as the README installs it, read as the service's user:
/// the unit runs as the sysusers.d user, whose group owns the configuration
/// directory (0750) and the targets file (0640), and the binary starts with
/// the installed ARGS. The previous layout (a root:root directory, which a
/// dynamic user could not read) fails the same way the service did. Runs the
/// binary under `setpriv` with that user's ids, so it needs root (CI is root).
#[test]
fn the_installed_systemd_layout_is_readable_by_the_service_user() {
    use std::os::unix::fs::{PermissionsExt, chown};
    use std::process::Command;

    let euid = Command::new("id").arg("-u").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&euid.stdout).trim(),
        "0",
        "this test gives files to another user: run it as root (CI does)"
    );
    // The unit's user is the one sysusers.d makes.
    let unit = read("deploy/systemd/pinpoint-email-exporter.service");
    let sysusers = read("deploy/systemd/pinpoint-email-exporter.sysusers");
    assert!(unit.lines().any(|l| l == "User=pinpoint-email-exporter"));
    assert!(unit.lines().any(|l| l == "Group=pinpoint-email-exporter"));
    assert!(!unit.contains("DynamicUser=yes"));
    assert!(
        sysusers
            .lines()
            .any(|l| l.starts_with("u pinpoint-email-exporter "))
    );
    // Ids no account of this machine has: the service user and its group.
    let (uid, gid) = (64_901, 64_901);
    let tmp = tempfile_dir();
    let bin = tmp.join("usr/local/bin/pinpoint-email-exporter");
    let etc = tmp.join("etc/pinpoint-email-exporter");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::create_dir_all(&etc).unwrap();
    // StateDirectory=: the service user's, 0750.
    let state = tmp.join("var/lib/pinpoint-email-exporter");
    std::fs::create_dir_all(&state).unwrap();
    chown(&state, Some(uid), Some(gid)).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o750)).unwrap();
    for dir in [
        tmp.as_path(),
        &tmp.join("usr"),
        &tmp.join("usr/local"),
        &tmp.join("usr/local/bin"),
        &tmp.join("etc"),
        &tmp.join("var"),
        &tmp.join("var/lib"),
    ] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // install -m 0755 the binary.
    std::fs::copy(env!("CARGO_BIN_EXE_pinpoint-email-exporter"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    // install -d -m 0750 -o root -g pinpoint-email-exporter, and the file 0640.
    let targets = etc.join("targets.yml");
    std::fs::write(&targets, read("deploy/kubernetes/base/targets.yml")).unwrap();
    chown(&etc, Some(0), Some(gid)).unwrap();
    chown(&targets, Some(0), Some(gid)).unwrap();
    std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o750)).unwrap();
    std::fs::set_permissions(&targets, std::fs::Permissions::from_mode(0o640)).unwrap();
    // The installed ARGS, with /etc/pinpoint-email-exporter and
    // /var/lib/pinpoint-email-exporter where the test put them.
    let env = read("deploy/systemd/pinpoint-email-exporter.env");
    let args: Vec<String> = env
        .lines()
        .find_map(|l| l.strip_prefix("ARGS="))
        .unwrap()
        .trim_matches('"')
        .split_whitespace()
        .map(|a| {
            a.replace("/etc/pinpoint-email-exporter", etc.to_str().unwrap())
                .replace("/var/lib/pinpoint-email-exporter", state.to_str().unwrap())
        })
        .collect();
    let as_service = || {
        let out = Command::new("setpriv")
            .args([
                &format!("--reuid={uid}"),
                &format!("--regid={gid}"),
                "--clear-groups",
            ])
            .arg(&bin)
            .args(&args)
            .arg("--config.check")
            .env_clear()
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("HOME", "/")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, out) = as_service();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.ends_with("configuration OK\n"), "{out}");
    // The old layout: the directory root:root 0750, as the README made it.
    chown(&etc, Some(0), Some(0)).unwrap();
    let (code, out) = as_service();
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("Permission denied"), "{out}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A fresh directory under /tmp, where any user may pass.
fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pee-systemd-layout-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
