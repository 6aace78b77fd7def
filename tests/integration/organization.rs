//! An AWS Organization from one line of config: discovery of its accounts in
//! the simulator (Organizations, STS and each member's GetAccount through the
//! real SDK), following accounts that join or close, keeping the last list
//! while Organizations fails, and two shards splitting the accounts.
//!
//! The in-process tests run on tokio's paused clock (intervals, refreshes and
//! the start-up spread pass as simulated time); the binary's runs on real time.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use crate::common::*;
use pinpoint_email_simulator::organizations::ROOT;
use pinpoint_email_simulator::{Member, Organization, Simulator};

const ROLE: &str = "pinpoint-email-exporter";
const EXTERNAL_ID: &str = "7f3c-2a9d";

/// The id of member `i`.
fn id(i: usize) -> String {
    format!("{}", 210_000_000_000 + i)
}

/// An organization of `n` accounts: every 10th SUSPENDED, the one after it
/// PENDING_CLOSURE, the rest ACTIVE; accounts 0..30 in `ou-eng`, 30..40 in
/// `ou-eng-web` (under `ou-eng`), 40..50 in `ou-sales`; every third tagged
/// `ses=true`. Member `i` has sent `i` emails, so each account's values tell
/// whose role fetched them.
fn organization(n: usize) -> Organization {
    let members = (0..n)
        .map(|i| {
            let mut m = Member::active(id(i), format!("team {i}"));
            m.state = match i % 10 {
                0 => "SUSPENDED".into(),
                1 => "PENDING_CLOSURE".into(),
                _ => "ACTIVE".into(),
            };
            m.parent = match i {
                0..30 => "ou-eng".into(),
                30..40 => "ou-eng-web".into(),
                40..50 => "ou-sales".into(),
                _ => ROOT.into(),
            };
            if i % 3 == 0 {
                m.tags.insert("ses".into(), "true".into());
            }
            m.tags.insert("team".into(), format!("t{i}"));
            m.account.sent_last_24_hours = i as f64;
            // One account never got the role.
            m.assumable = i != 7;
            m
        })
        .collect();
    Organization {
        members,
        units: vec![
            ("ou-eng".into(), ROOT.into()),
            ("ou-eng-web".into(), "ou-eng".into()),
            ("ou-sales".into(), ROOT.into()),
        ],
        role_name: ROLE.into(),
        external_id: Some(EXTERNAL_ID.into()),
        failing: None,
        sending: Default::default(),
    }
}

/// The ids of the ACTIVE members among `0..n` for which `keep` holds.
fn active(n: usize, keep: impl Fn(usize) -> bool) -> BTreeSet<String> {
    (0..n).filter(|i| i % 10 >= 2 && keep(*i)).map(id).collect()
}

/// A targets file with one organization discovery.
fn discovery_file(dir: &Path, extra: &str) -> String {
    let path = dir.join("targets.yml");
    std::fs::write(
        &path,
        format!(
            "targets:
  - name: org
    regions: [us-east-1]
    api: pinpoint-email
    discover:
      organizations:
        role_name: {ROLE}
        external_id: {EXTERNAL_ID}
        refresh: 1s
{extra}"
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

/// The accounts with a `pinpoint_email_up` sample in `text`.
fn polled(text: &str) -> BTreeSet<String> {
    samples(text, "pinpoint_email_up")
        .iter()
        .filter_map(|(labels, _)| label(labels, "account"))
        .collect()
}

async fn start_exporter(sim: &Simulator, file: &str, flags: &[&str]) -> Running {
    let mut all = vec!["--config.file", file, "--poll.interval", "3s"];
    all.extend_from_slice(flags);
    start(config(&all), sim.endpoint_url(), SECRET_KEY).await
}

#[tokio::test(start_paused = true)]
async fn an_organization_is_discovered_polled_through_each_role_and_followed() {
    const N: usize = 240;
    let sim = simulator().await;
    sim.set_organization(organization(N));
    let dir = temp_dir("organization");
    let file = discovery_file(&dir, "");
    let exporter = start_exporter(&sim, &file, &[]).await;
    let want = active(N, |_| true);
    assert_eq!(want.len(), 192);
    eventually(
        Duration::from_secs(60),
        "every ACTIVE account polled",
        || async { polled(&metrics(exporter.addr).await) == want },
    )
    .await;
    let m = metrics(exporter.addr).await;
    // Each discovered account's id is known from its role, without asking STS.
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_account_info",
            &format!("account=\"{}\",account_id=\"{}\"", id(2), id(2))
        ),
        Some(1.0)
    );
    assert!(sim.calls().iter().all(|c| c.action != "GetCallerIdentity"));
    // The account without the role fails alone, as an auth error.
    let no_role = format!("account=\"{}\",aws_region=\"us-east-1\"", id(7));
    assert_eq!(sample(&m, "pinpoint_email_up", &no_role), Some(0.0));
    assert!(
        sample(
            &m,
            "pinpoint_email_poll_errors_total",
            &format!("{no_role},reason=\"auth\"")
        )
        .is_some_and(|n| n >= 1.0)
    );
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_poll_errors_total",
            &format!("{no_role},reason=\"throttled\"")
        ),
        Some(0.0)
    );
    // Each account's values came through its own role: member i sent i emails.
    for i in (0..N).filter(|i| *i != 7 && want.contains(&id(*i))) {
        let labels = format!("account=\"{}\",aws_region=\"us-east-1\"", id(i));
        assert_eq!(
            sample(&m, "pinpoint_email_send_quota_sent_emails", &labels),
            Some(i as f64),
            "{labels}"
        );
    }
    // One session per ACTIVE account, for its role, with the external id.
    let sessions = sim.sessions();
    let roles: BTreeSet<String> = sessions.iter().map(|s| s.role_arn.clone()).collect();
    let want_roles: BTreeSet<String> = want
        .iter()
        .filter(|a| **a != id(7))
        .map(|a| format!("arn:aws:iam::{a}:role/{ROLE}"))
        .collect();
    assert_eq!(roles, want_roles);
    assert_eq!(sessions.len(), want.len() - 1, "one AssumeRole per account");
    assert!(
        sessions
            .iter()
            .all(|s| s.external_id.as_deref() == Some(EXTERNAL_ID))
    );
    assert_eq!(
        sample(&m, "pinpoint_email_discovery_up", "discovery=\"org\""),
        Some(1.0)
    );
    assert_eq!(
        sample(&m, "pinpoint_email_discovery_accounts", "discovery=\"org\""),
        Some(192.0)
    );
    assert_eq!(
        sample(&m, "pinpoint_email_exporter_targets", ""),
        Some(192.0)
    );
    let listed = sim
        .calls()
        .iter()
        .filter(|c| c.action == "ListAccounts")
        .count();
    assert!(listed >= 13, "{N} accounts are 13 pages: {listed} calls");

    // An account joins and one closes: the next discovery follows.
    sim.update_organization(|org| {
        org.members.push(Member::active(id(N), "newcomer"));
        org.members[2].state = "CLOSED".into();
    });
    let mut want = want;
    want.insert(id(N));
    want.remove(&id(2));
    eventually(
        Duration::from_secs(30),
        "the newcomer polled, the closed account gone",
        || async { polled(&metrics(exporter.addr).await) == want },
    )
    .await;
    let m = metrics(exporter.addr).await;
    assert!(
        !m.contains(&format!("account=\"{}\"", id(2))),
        "every series of the closed account goes"
    );

    // Organizations fails: the last list stays polled, and it shows.
    sim.update_organization(|org| {
        org.failing = Some("AccessDeniedException".into());
        org.members.push(Member::active(id(N + 1), "unseen"));
    });
    eventually(Duration::from_secs(30), "the discovery failing", || async {
        let m = metrics(exporter.addr).await;
        sample(&m, "pinpoint_email_discovery_up", "discovery=\"org\"") == Some(0.0)
            && sample(
                &m,
                "pinpoint_email_discovery_errors_total",
                "discovery=\"org\",reason=\"auth\"",
            )
            .is_some_and(|n| n >= 2.0)
    })
    .await;
    let m = metrics(exporter.addr).await;
    assert_eq!(polled(&m), want, "the last good list is kept");
    assert_eq!(
        sample(&m, "pinpoint_email_discovery_accounts", "discovery=\"org\""),
        Some(want.len() as f64)
    );
    sim.update_organization(|org| org.failing = None);
    want.insert(id(N + 1));
    eventually(
        Duration::from_secs(30),
        "recovered and the newcomer polled",
        || async { polled(&metrics(exporter.addr).await) == want },
    )
    .await;
    exporter.stop().await;
}

#[tokio::test(start_paused = true)]
async fn units_recursively_and_tags_narrow_the_accounts() {
    const N: usize = 60;
    let sim = simulator().await;
    sim.set_organization(organization(N));
    let dir = temp_dir("organization-subset");
    let cases: [(&str, BTreeSet<String>); 3] = [
        // ou-eng holds 0..30 and, through ou-eng-web, 30..40.
        ("        parents: [ou-eng]\n", active(N, |i| i < 40)),
        ("        tags: {ses: \"true\"}\n", active(N, |i| i % 3 == 0)),
        (
            "        parents: [ou-eng-web, ou-sales]\n        tags: {ses: \"true\"}\n",
            active(N, |i| (30..50).contains(&i) && i % 3 == 0),
        ),
    ];
    for (extra, want) in cases {
        let file = discovery_file(&dir, extra);
        let config = config(&["--config.file", &file, "--config.discover"]);
        let loader = loader(sim.endpoint_url(), SECRET_KEY);
        let found = pinpoint_email_exporter::discover_once(&config, &loader).await;
        assert_eq!(found.len(), 1);
        let targets = found[0].1.as_ref().expect("discovery succeeds");
        let got: BTreeSet<String> = targets.iter().map(|(t, _)| t.name.clone()).collect();
        assert_eq!(got, want, "{extra}");
    }
    let calls = sim.calls();
    let count = |action: &str| calls.iter().filter(|c| c.action == action).count();
    // ou-eng's 30 accounts are two pages.
    assert_eq!(count("ListAccountsForParent"), 5, "{calls:?}");
    // ou-eng and ou-eng-web, then ou-eng-web and ou-sales.
    assert_eq!(count("ListOrganizationalUnitsForParent"), 4);
    assert!(count("ListTagsForResource") >= 48, "one per ACTIVE account");
    assert!(
        calls.iter().all(|c| c.auth_error.is_none()),
        "every call signed for its service"
    );
}

#[tokio::test(start_paused = true)]
async fn two_shards_poll_every_target_exactly_once() {
    const N: usize = 200;
    let sim = simulator().await;
    sim.set_organization(organization(N));
    let dir = temp_dir("organization-shards");
    // Fixed targets are split too.
    let file = discovery_file(
        &dir,
        "  - name: fixed-a\n    regions: [eu-west-1]\n  - name: fixed-b\n    regions: [eu-west-1]\n  - name: fixed-c\n    regions: [eu-west-1]\n  - name: fixed-d\n    regions: [eu-west-1]\n",
    );
    let shards = [
        start_exporter(&sim, &file, &["--shard.count", "2", "--shard.index", "0"]).await,
        start_exporter(
            &sim,
            &file,
            &["--shard.count", "2", "--shard.index", "exporter-1"],
        )
        .await,
    ];
    let mut want = active(N, |_| true);
    want.extend(["fixed-a", "fixed-b", "fixed-c", "fixed-d"].map(String::from));
    let both = || async {
        (
            polled(&metrics(shards[0].addr).await),
            polled(&metrics(shards[1].addr).await),
        )
    };
    eventually(Duration::from_secs(60), "both shards polling", || async {
        let (a, b) = both().await;
        a.union(&b).cloned().collect::<BTreeSet<String>>() == want
    })
    .await;
    let (a, b) = both().await;
    let seen = [a.clone(), b.clone()];
    let (a, b) = (&seen[0], &seen[1]);
    assert!(
        a.is_disjoint(b),
        "no target polled twice: {:?}",
        a.intersection(b).collect::<Vec<_>>()
    );
    assert!(
        a.len() > 60 && b.len() > 60,
        "an even split: {} and {}",
        a.len(),
        b.len()
    );
    for (i, exporter) in shards.iter().enumerate() {
        let m = metrics(exporter.addr).await;
        assert_eq!(
            sample(&m, "pinpoint_email_exporter_shard_index", ""),
            Some(i as f64)
        );
        assert_eq!(sample(&m, "pinpoint_email_exporter_shards", ""), Some(2.0));
        assert_eq!(
            sample(&m, "pinpoint_email_exporter_targets", ""),
            Some(seen[i].len() as f64)
        );
        // Both shards list the whole organization.
        assert_eq!(
            sample(&m, "pinpoint_email_discovery_accounts", "discovery=\"org\""),
            Some(160.0)
        );
    }
    // Each account's role was assumed by one shard only.
    assert_eq!(
        sim.sessions().len(),
        159,
        "all but the account without the role"
    );
    for exporter in shards {
        exporter.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_each_discovery_once_and_prints_its_targets() {
    let sim = simulator().await;
    sim.set_organization(organization(4));
    let home = temp_dir("organization-discover-once");
    let file = discovery_file(&home, "");
    let mut cmd = simulated(&home, &sim);
    cmd.args([
        "--config.file",
        &file,
        "--config.discover",
        "--shard.count",
        "2",
    ]);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Accounts 2 and 3 are ACTIVE; 0 is SUSPENDED, 1 PENDING_CLOSURE.
    let mut want = String::from("discovery \"org\": 2 account(s)\n");
    for i in [2, 3] {
        let name = id(i);
        let shard = pinpoint_email_exporter::Shard::of(&name, 2);
        let mine = if shard == 0 { " (this shard)" } else { "" };
        want.push_str(&format!(
            "  target \"{name}\": assume arn:aws:iam::{name}:role/{ROLE}; regions us-east-1; shard {shard} of 2{mine}\n"
        ));
    }
    // And what polling this shard's account costs.
    want.push_str(
        "cost estimate for 1 target region(s) (a region sends with production access, mail sent in 24 hours or a reputation datapoint of the last 24 hours):\n\
         \x20 calls an hour                       every region sends          none sends\n\
         \x20 ses:GetAccount                                      60                  60\n\
         \x20 sts:AssumeRole                                       1                   1\n",
    );
    assert_eq!(stdout, want);
    // It failing is exit code 1, with the reason.
    sim.update_organization(|org| org.failing = Some("AccessDeniedException".into()));
    let mut cmd = simulated(&home, &sim);
    cmd.args(["--config.file", &file, "--config.discover"]);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with("discovery \"org\" failed (auth): "),
        "{stdout}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_reload_narrows_widens_and_removes_a_discovery() {
    const N: usize = 60;
    let sim = simulator().await;
    sim.set_organization(organization(N));
    let dir = temp_dir("organization-reload");
    let file = discovery_file(&dir, "");
    let exporter = start_exporter(&sim, &file, &[]).await;
    wait_ready(exporter.addr).await;
    assert_eq!(polled(&metrics(exporter.addr).await), active(N, |_| true));

    // Narrower: only ou-sales. The accounts of the old selection go at once.
    let sales = active(N, |i| (40..50).contains(&i));
    std::fs::write(
        &file,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("refresh: 1s", "refresh: 1s\n        parents: [ou-sales]"),
    )
    .unwrap();
    exporter.reload.notify_one();
    eventually(Duration::from_secs(30), "only ou-sales polled", || async {
        polled(&metrics(exporter.addr).await) == sales
    })
    .await;

    // The same selection in one more region: the accounts found stay.
    std::fs::write(
        &file,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("regions: [us-east-1]", "regions: [us-east-1, eu-west-1]"),
    )
    .unwrap();
    exporter.reload.notify_one();
    eventually(
        Duration::from_secs(30),
        "ou-sales in both regions",
        || async {
            let m = metrics(exporter.addr).await;
            polled(&m) == sales
                && sales.iter().all(|a| {
                    sample(
                        &m,
                        "pinpoint_email_up",
                        &format!("account=\"{a}\",aws_region=\"eu-west-1\""),
                    ) == Some(1.0)
                })
        },
    )
    .await;

    // Removed: its accounts and its own series go.
    std::fs::write(
        &file,
        "targets:\n  - name: fixed\n    regions: [us-east-1]\n",
    )
    .unwrap();
    exporter.reload.notify_one();
    eventually(Duration::from_secs(30), "only the fixed target", || async {
        let m = metrics(exporter.addr).await;
        polled(&m) == BTreeSet::from(["fixed".to_string()]) && !m.contains("discovery=\"org\"")
    })
    .await;
    exporter.stop().await;
}

/// A restart with `--state.directory` polls the accounts of the saved
/// listing at once, while Organizations fails, and says its targets are
/// incomplete (so the alert rules take none as removed) until a listing of
/// its own succeeds. Without the directory, the restart polls none of them.
#[tokio::test(start_paused = true)]
async fn a_restart_polls_the_saved_listing_while_organizations_fails() {
    const N: usize = 20;
    let sim = simulator().await;
    sim.set_organization(organization(N));
    let dir = temp_dir("organization-state");
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let file = discovery_file(&dir, "");
    let with_state = ["--state.directory", state.to_str().unwrap()];
    let want = active(N, |_| true);
    let complete = |text: &str| sample(text, "pinpoint_email_exporter_targets_complete", "");

    let first = start_exporter(&sim, &file, &with_state).await;
    eventually(
        Duration::from_secs(30),
        "the first listing polled",
        || async {
            let m = metrics(first.addr).await;
            polled(&m) == want && complete(&m) == Some(1.0)
        },
    )
    .await;
    first.stop().await;
    assert!(state.join("discovery-org.json").is_file());

    sim.update_organization(|org| org.failing = Some("AccessDeniedException".into()));
    let second = start_exporter(&sim, &file, &with_state).await;
    eventually(
        Duration::from_secs(30),
        "the saved accounts polled while the listing fails",
        || async {
            let m = metrics(second.addr).await;
            polled(&m) == want
                && sample(&m, "pinpoint_email_discovery_up", "discovery=\"org\"") == Some(0.0)
        },
    )
    .await;
    assert_eq!(complete(&metrics(second.addr).await), Some(0.0));
    // A failed listing does not replace the saved one.
    let saved = std::fs::read_to_string(state.join("discovery-org.json")).unwrap();
    assert!(saved.contains(&id(2)), "{saved}");

    sim.update_organization(|org| org.failing = None);
    eventually(Duration::from_secs(30), "a listing of its own", || async {
        complete(&metrics(second.addr).await) == Some(1.0)
    })
    .await;
    second.stop().await;

    // Without the directory: nothing to poll until a listing succeeds.
    sim.update_organization(|org| org.failing = Some("AccessDeniedException".into()));
    let third = start_exporter(&sim, &file, &[]).await;
    eventually(Duration::from_secs(30), "the listing failing", || async {
        sample(
            &metrics(third.addr).await,
            "pinpoint_email_discovery_up",
            "discovery=\"org\"",
        ) == Some(0.0)
    })
    .await;
    let m = metrics(third.addr).await;
    assert_eq!(polled(&m), BTreeSet::new());
    assert_eq!(complete(&m), Some(0.0));
    third.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
