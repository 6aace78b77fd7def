use crate::target::Key;
use std::time::Duration;

use super::*;
use crate::metrics::BuildInfo;

fn account(status: &str, sent: f64, max: f64) -> Account {
    Account {
        max_24_hour_send: max,
        max_send_rate: 14.0,
        sent_last_24_hours: sent,
        sending_enabled: true,
        production_access_enabled: true,
        dedicated_ip_auto_warmup_enabled: false,
        enforcement_status: Some(status.to_string()),
        api: Api::PinpointEmail,
        vdm_enabled: None,
        review_status: None,
        suppressed_reasons: None,
        ..Account::default()
    }
}

/// The exposition of a store whose one (target, region) answered `account`.
fn exposition(account: Account, stale_after: Duration) -> (Store, String) {
    let key = Key::new("t", "us-east-1");
    let store = Store::new(
        vec![key.clone()],
        stale_after,
        &BuildInfo {
            version: "v".into(),
            revision: "r".into(),
            ..Default::default()
        },
        false,
    )
    .unwrap();
    store
        .section::<Account>()
        .record(&key, &Ok(account), Duration::ZERO, 1.0);
    let text = String::from_utf8(store.encode().to_vec()).unwrap();
    (store, text)
}

fn sample(t: &str, name: &str, labels: &str, value: &str) -> bool {
    let line = format!("{name}{{account=\"t\",aws_region=\"us-east-1\"{labels}}} {value}\n");
    t.contains(&line)
}

#[tokio::test]
async fn exactly_one_status_is_1_and_statuses_seen_stay_as_0() {
    let (store, t) = exposition(account("UNDER_REVIEW", 0.0, 200.0), Duration::from_secs(60));
    for (status, v) in [
        ("HEALTHY", "0"),
        ("PROBATION", "0"),
        ("SHUTDOWN", "0"),
        ("UNKNOWN", "0"),
        ("UNDER_REVIEW", "1"),
    ] {
        let labels = format!(",status=\"{status}\"");
        assert!(
            sample(&t, "pinpoint_email_enforcement_status", &labels, v),
            "{status} {v}: {t}"
        );
    }
    // AWS omits the field next: UNKNOWN is 1, the status seen before stays as 0.
    let key = Key::new("t", "us-east-1");
    let mut missing = account("HEALTHY", 0.0, 200.0);
    missing.enforcement_status = None;
    store
        .section::<Account>()
        .record(&key, &Ok(missing), Duration::ZERO, 2.0);
    tokio::time::sleep(crate::metrics::ENCODE_CACHE_TTL).await;
    let t = String::from_utf8(store.encode().to_vec()).unwrap();
    for (status, v) in [("HEALTHY", "0"), ("UNKNOWN", "1"), ("UNDER_REVIEW", "0")] {
        let labels = format!(",status=\"{status}\"");
        assert!(
            sample(&t, "pinpoint_email_enforcement_status", &labels, v),
            "{status} {v}: {t}"
        );
    }
    let ones = t
        .lines()
        .filter(|l| l.starts_with("pinpoint_email_enforcement_status{") && l.ends_with(" 1"))
        .count();
    assert_eq!(ones, 1, "{t}");
}

/// Series of the account collector for `account`, `us-east-1`, in `text`.
fn series_of(text: &str, account: &str) -> usize {
    let account = format!("account=\"{account}\"");
    text.lines()
        .filter(|l| !l.starts_with('#') && l.contains(&account))
        .filter(|l| l.contains("aws_region=\"us-east-1\""))
        .filter(|l| !l.starts_with("pinpoint_email_reputation_"))
        .filter(|l| !l.starts_with("pinpoint_email_dedicated_ips_"))
        .count()
}

#[tokio::test(start_paused = true)]
async fn a_polled_account_costs_at_most_24_series_and_durations_are_per_region() {
    let keys = [Key::new("t", "us-east-1"), Key::new("u", "us-east-1")];
    for per_target in [false, true] {
        let store = Store::new(
            keys.to_vec(),
            Duration::from_secs(60),
            &BuildInfo {
                version: "v".into(),
                revision: "r".into(),
                ..Default::default()
            },
            false,
        )
        .unwrap()
        .with_durations_per_target(per_target);
        let section = store.section::<Account>();
        section.record(
            &keys[0],
            &Ok(account("HEALTHY", 1.0, 10.0)),
            Duration::ZERO,
            1.0,
        );
        section.record(
            &keys[1],
            &Ok(account("HEALTHY", 1.0, 10.0)),
            Duration::ZERO,
            1.0,
        );
        let text = String::from_utf8(store.encode().to_vec()).unwrap();
        // up, last success, calls, 13 values and the error counter of
        // each of the 8 reasons.
        let want = if per_target { 24 + 13 } else { 24 };
        assert_eq!(series_of(&text, "t"), want, "{text}");
        let count = if per_target {
            "pinpoint_email_poll_duration_seconds_count{account=\"t\",aws_region=\"us-east-1\"} 1\n"
        } else {
            "pinpoint_email_poll_duration_seconds_count{aws_region=\"us-east-1\"} 2\n"
        };
        assert!(text.contains(count), "{text}");
        // A failure counts in its reason's counter, which was there.
        section.record(
            &keys[0],
            &Err(PollError::Throttled("slow down".into())),
            Duration::ZERO,
            2.0,
        );
        tokio::time::advance(crate::metrics::ENCODE_CACHE_TTL).await;
        let text = String::from_utf8(store.encode().to_vec()).unwrap();
        assert_eq!(series_of(&text, "t"), want, "{text}");
        assert!(
                text.contains("pinpoint_email_poll_errors_total{account=\"t\",aws_region=\"us-east-1\",reason=\"throttled\"} 1\n"),
                "{text}"
            );
    }
}

#[test]
fn earlier_statuses_are_bounded() {
    let mut previous = account("HEALTHY", 0.0, 1.0);
    for i in 0..20 {
        let mut next = account(&format!("NEW_{i}"), 0.0, 1.0);
        next.carry_from(&previous);
        previous = next;
    }
    assert_eq!(previous.earlier_statuses.len(), MAX_EARLIER_STATUSES);
    assert_eq!(previous.earlier_statuses.last().unwrap(), "NEW_18");
    assert!(!previous.earlier_statuses.iter().any(|s| s == "HEALTHY"));
}

#[tokio::test]
async fn unlimited_quota_is_inf_with_ratio_0_and_zero_quota_is_used_up() {
    for (max, shown, ratio) in [(-1.0, "+Inf", "0"), (0.0, "0", "1"), (100.0, "100", "0.05")] {
        let unlimited_rate = Account {
            max_send_rate: max,
            ..account("HEALTHY", 5.0, max)
        };
        let (_, t) = exposition(unlimited_rate, Duration::from_secs(60));
        assert!(
            sample(&t, "pinpoint_email_send_quota_max_emails", "", shown),
            "max {max}: {t}"
        );
        assert!(
            sample(
                &t,
                "pinpoint_email_send_quota_max_emails_per_second",
                "",
                shown
            ),
            "rate {max}: {t}"
        );
        assert!(
            sample(&t, "pinpoint_email_send_quota_used_ratio", "", ratio),
            "max {max}: {t}"
        );
    }
}

#[tokio::test]
async fn help_states_the_configured_stale_after() {
    let (_, t) = exposition(account("HEALTHY", 1.0, 10.0), Duration::from_secs(900));
    assert!(
            t.contains("# HELP pinpoint_email_sending_enabled 1 if email sending is enabled for the account (SendingEnabled). Polled in the background: the value of the last successful call, at most 15m old (--poll.stale-after)"),
            "{t}"
        );
}

#[tokio::test(start_paused = true)]
async fn stale_values_go_with_the_api_while_up_and_the_timestamp_stay() {
    let stale = Duration::from_secs(60);
    let (store, _) = exposition(account("HEALTHY", 1.0, 10.0), stale);
    tokio::time::advance(stale + crate::metrics::ENCODE_CACHE_TTL + Duration::from_millis(1)).await;
    let t = String::from_utf8(store.encode().to_vec()).unwrap();
    let families: Vec<&str> = t
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE pinpoint_email_"))
        .filter(|f| !f.starts_with("exporter_"))
        .collect();
    assert_eq!(
        families,
        [
            "last_success_timestamp_seconds gauge",
            "poll_duration_seconds histogram",
            "poll_errors_total counter",
            "polls_total counter",
            "up gauge"
        ],
        "{t}"
    );
}
