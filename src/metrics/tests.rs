//! The store: sections, keys, reloads, the exporter's own metrics and the
//! encode cache.

use super::*;
use crate::error::PollError;

/// A collector answer with one value, to test the store on its own.
#[derive(Debug, Clone, PartialEq)]
struct Answer(f64);

const VALUE: Gauge = Gauge {
    name: "t_value",
    help: "The value.",
};

const NAMES: Names = Names {
    collector: "test",
    up: Gauge {
        name: "t_up",
        help: "1 if the last call succeeded.",
    },
    last_success: Gauge {
        name: "t_last_success_timestamp_seconds",
        help: "Last success.",
    },
    calls: ("t_calls_total", "Calls."),
    errors: ("t_errors_total", "Failed calls."),
    durations: ("t_duration_seconds", "Call durations."),
    idle: None,
    values: &[VALUE],
    help_note: " At most {stale_after} old.",
    from_config: &[],
};

impl Output for Answer {
    const NAMES: &'static Names = &NAMES;
    fn write(&self, series: &mut Series<'_>) {
        series.gauge(VALUE, self.0);
    }
}

fn store() -> Store {
    Store::new(
        vec![Key::new("t", "us-east-1")],
        Duration::from_secs(600),
        &BuildInfo {
            version: "v".into(),
            revision: "r".into(),
            ..Default::default()
        },
        false,
    )
    .unwrap()
}

fn text(store: &Store) -> String {
    String::from_utf8(store.encode().to_vec()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn failure_keeps_values_until_stale_then_drops_them() {
    let s = store();
    let answers = s.section::<Answer>();
    let key = Key::new("t", "us-east-1");
    answers.record(&key, &Ok(Answer(0.1)), Duration::from_millis(5), 1000.0);
    let t = text(&s);
    assert!(
        t.contains("t_up{account=\"t\",aws_region=\"us-east-1\"} 1\n"),
        "{t}"
    );
    assert!(
        t.contains("t_value{account=\"t\",aws_region=\"us-east-1\"} 0.1\n"),
        "{t}"
    );
    assert!(
        t.contains("# HELP t_value The value. At most 10m old.\n# TYPE t_value gauge\n"),
        "{t}"
    );

    let throttled = Err(PollError::Throttled("x".into()));
    answers.record(&key, &throttled, Duration::from_millis(5), 1060.0);
    // Time stands still here: re-encoding waits for ten times its last cost
    // (real time, however loaded the machine), never longer than the cache's
    // life.
    tokio::time::advance(ENCODE_CACHE_TTL).await;
    let t = text(&s);
    assert!(
        t.contains("t_up{account=\"t\",aws_region=\"us-east-1\"} 0\n"),
        "{t}"
    );
    assert!(
        t.contains("t_value{account=\"t\",aws_region=\"us-east-1\"} 0.1\n"),
        "{t}"
    );
    assert!(
        t.contains(
            "t_last_success_timestamp_seconds{account=\"t\",aws_region=\"us-east-1\"} 1000\n"
        ),
        "{t}"
    );
    assert!(
        t.contains(
            "t_errors_total{account=\"t\",aws_region=\"us-east-1\",reason=\"throttled\"} 1\n"
        ),
        "{t}"
    );

    // A second passed above: this makes the values exactly stale_after old.
    tokio::time::advance(Duration::from_secs(600) - ENCODE_CACHE_TTL).await;
    assert!(
        text(&s).contains("t_value{"),
        "exactly stale_after old is still served"
    );
    // One scrape encoded the exposition: for ENCODE_CACHE_TTL the same bytes
    // are served, then the stale values are gone.
    tokio::time::advance(Duration::from_millis(1)).await;
    assert!(text(&s).contains("t_value{"), "cached");
    tokio::time::advance(ENCODE_CACHE_TTL).await;
    let t = text(&s);
    assert!(!t.contains("t_value"), "{t}");
    assert!(
        t.contains("t_up{account=\"t\",aws_region=\"us-east-1\"} 0\n"),
        "{t}"
    );
    assert!(
        t.contains(
            "t_last_success_timestamp_seconds{account=\"t\",aws_region=\"us-east-1\"} 1000\n"
        ),
        "{t}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_new_result_is_served_once_the_cache_is_ten_encodes_old() {
    let s = store();
    let answers = s.section::<Answer>();
    let key = Key::new("t", "us-east-1");
    answers.record(&key, &Ok(Answer(1.0)), Duration::ZERO, 1.0);
    assert!(text(&s).contains("t_value{account=\"t\",aws_region=\"us-east-1\"} 1\n"));
    // Encoding cost what the machine's clock said; here it cost 5 ms.
    if let Some(cached) = s.cache.lock().unwrap().as_mut() {
        cached.cost = Duration::from_millis(5);
    }
    answers.record(&key, &Ok(Answer(2.0)), Duration::ZERO, 2.0);
    // Time stands still here: re-encoding waits for ten times its last cost.
    tokio::time::advance(Duration::from_millis(49)).await;
    assert!(
        text(&s).contains("t_value{account=\"t\",aws_region=\"us-east-1\"} 1\n"),
        "49 ms: the cached exposition"
    );
    tokio::time::advance(Duration::from_millis(1)).await;
    assert!(text(&s).contains("t_value{account=\"t\",aws_region=\"us-east-1\"} 2\n"));
}

#[test]
fn a_reload_that_turns_a_collector_off_or_on_touches_only_its_section() {
    use crate::collector::account::Account;
    use crate::collector::reputation::Reputation;
    use crate::target::Collectors;
    let s = store();
    let both = Collectors::Only(vec!["account", "reputation"]);
    let account = || Collectors::Only(vec!["account"]);
    let (t, u) = (Key::new("t", "us-east-1"), Key::new("u", "eu-west-1"));
    s.set_polled(vec![(t.clone(), both.clone()), (u.clone(), account())]);
    let accounts = s.section::<Account>();
    let reputation = s.section::<Reputation>();
    for key in [&t, &u] {
        accounts.record(key, &Ok(Account::default()), Duration::ZERO, 1.0);
    }
    assert_eq!(s.pending(), vec![t.clone()], "t's reputation, not u's");
    reputation.record(&t, &Ok(Reputation::default()), Duration::ZERO, 1.0);
    assert!(s.pending().is_empty());
    let before = text(&s);
    assert!(before.contains("pinpoint_email_reputation_up{account=\"t\""));
    assert!(!before.contains("pinpoint_email_reputation_poll_errors_total{account=\"u\""));
    // Reload: t's reputation off, u's on.
    s.set_polled(vec![(t.clone(), account()), (u.clone(), both)]);
    assert!(reputation.snapshot(&t).is_none(), "t's reputation dropped");
    assert!(accounts.snapshot(&t).is_some(), "t's account kept");
    assert!(accounts.snapshot(&u).is_some(), "u's account kept");
    assert_eq!(s.pending(), vec![u.clone()], "u's reputation pending");
}

#[test]
fn a_discovery_is_pending_until_its_first_listing_fails_or_is_applied() {
    let s = store();
    s.keep_discoveries(&["org"]);
    assert_eq!(s.pending_discoveries(), ["org"]);
    s.record_discovery("org", Ok(3), 1.0);
    assert_eq!(s.pending_discoveries(), ["org"], "listed, not yet applied");
    s.discovery_applied("org");
    assert!(s.pending_discoveries().is_empty());
    s.keep_discoveries(&["org", "other"]);
    assert_eq!(s.pending_discoveries(), ["other"], "only the new one");
    s.record_discovery("other", Err(&PollError::Auth("denied".into())), 2.0);
    assert!(s.pending_discoveries().is_empty(), "a failure ends waiting");
    s.keep_discoveries(&["org"]);
    assert!(
        !text(&s).contains("discovery=\"other\""),
        "a removed discovery's series go"
    );
}

#[test]
fn pending_until_first_call_and_keys_follow_reloads() {
    let s = store();
    let answers = s.section::<Answer>();
    assert!(
        Arc::ptr_eq(&answers, &s.section::<Answer>()),
        "one section per collector"
    );
    assert_eq!(s.pending(), vec![Key::new("t", "us-east-1")]);
    assert!(!text(&s).contains("t_up{"));
    answers.record(
        &Key::new("t", "us-east-1"),
        &Ok(Answer(1.0)),
        Duration::ZERO,
        1.0,
    );
    assert!(s.pending().is_empty());
    s.set_keys(vec![Key::new("t", "us-east-1"), Key::new("u", "eu-west-1")]);
    assert_eq!(s.pending(), vec![Key::new("u", "eu-west-1")]);
    assert!(
        answers.snapshot(&Key::new("t", "us-east-1")).is_some(),
        "kept"
    );
    s.set_keys(vec![Key::new("u", "eu-west-1")]);
    assert!(
        answers.snapshot(&Key::new("t", "us-east-1")).is_none(),
        "dropped"
    );
}

/// An answer of a collector that follows its region's activity.
#[derive(Debug, Clone, PartialEq)]
struct IdleAnswer(f64);

const IDLE_NAMES: Names = Names {
    collector: "idle-test",
    idle: Some(Gauge {
        name: "i_idle",
        help: "1 while idle.",
    }),
    values: &[Gauge {
        name: "i_value",
        help: "The value.",
    }],
    ..NAMES
};

impl Output for IdleAnswer {
    const NAMES: &'static Names = &IDLE_NAMES;
    fn write(&self, series: &mut Series<'_>) {
        series.gauge(IDLE_NAMES.values[0], self.0);
    }
}

/// An idle region's answer is served for as long as its poller says (twice
/// the idle interval), beyond the section's own staleness; once the region
/// sends again, the answer keeps that time until the next one arrives, which
/// has the section's own.
#[tokio::test(start_paused = true)]
async fn an_idle_regions_answer_is_served_until_its_next_poll() {
    let s = store();
    let answers = s.section::<IdleAnswer>();
    let key = Key::new("t", "us-east-1");
    let value = "i_value{account=\"t\",aws_region=\"us-east-1\"} 1\n";
    let twelve_hours = Duration::from_secs(12 * 3600);
    answers.record(&key, &Ok(IdleAnswer(1.0)), Duration::ZERO, 1000.0);
    answers.set_idle(&key, Some(twelve_hours));
    tokio::time::advance(Duration::from_secs(3600)).await;
    let t = text(&s);
    assert!(t.contains(value), "an hour old, beyond the 10 minutes: {t}");
    assert!(
        t.contains("i_idle{account=\"t\",aws_region=\"us-east-1\"} 1\n"),
        "{t}"
    );
    // It sends again: the answer stays until the next poll's.
    answers.set_idle(&key, None);
    tokio::time::advance(ENCODE_CACHE_TTL).await;
    let t = text(&s);
    assert!(t.contains(value), "{t}");
    assert!(
        t.contains("i_idle{account=\"t\",aws_region=\"us-east-1\"} 0\n"),
        "{t}"
    );
    // The next answer, and then it goes after the section's own 10 minutes.
    answers.record(&key, &Ok(IdleAnswer(1.0)), Duration::ZERO, 4600.0);
    tokio::time::advance(Duration::from_secs(601)).await;
    assert!(!text(&s).contains(value));
}
