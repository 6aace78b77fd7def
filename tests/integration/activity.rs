//! Schedules that follow sending: the collectors that cost money or many
//! calls poll an idle region at `--collector.idle-interval`, and return to
//! their own interval once its account shows activity, on tokio's paused
//! clock.

use std::time::Duration;

use pinpoint_email_simulator::Scenario;
use tokio::time::Instant;

use crate::common::*;

const W1: &str = "account=\"default\",aws_region=\"eu-west-1\"";

const HOUR: Duration = Duration::from_secs(3600);
const FIVE_MINUTES: Duration = Duration::from_secs(300);

/// A sandbox region that sends nothing for an hour, then sends (its 24-hour
/// count above 0) until 26 h, then nothing again: CloudWatch's reputation
/// calls are 6 hours apart while it is idle, 5 minutes apart from the first
/// tick after its account shows the sending, and 6 hours apart again once
/// the 24-hour count is back to 0.
#[tokio::test(start_paused = true)]
async fn an_idle_region_follows_its_account_to_the_normal_interval_and_back() {
    let sim = simulator().await;
    let scenario = Scenario::parse(
        "idle-then-sending",
        "regions:\n  eu-west-1:\n    phases:\n\
         \x20     - duration: 1h\n        account: { production_access_enabled: false, sent_last_24_hours: 0 }\n        cloudwatch: missing\n\
         \x20     - duration: 25h\n        account: { sent_last_24_hours: 500 }\n        cloudwatch: missing\n\
         \x20     - account: { sent_last_24_hours: 0 }\n        cloudwatch: missing\n",
    )
    .unwrap();
    sim.load_scenario(&scenario);
    let t0 = Instant::now();
    let exporter = start(
        config(&[
            "--aws.regions",
            "eu-west-1",
            "--poll.interval",
            "1m",
            "--collector.reputation",
        ]),
        sim.endpoint_url(),
        SECRET_KEY,
    )
    .await;
    tokio::time::sleep(40 * HOUR).await;
    let m = metrics(exporter.addr).await;
    exporter.stop().await;
    assert_eq!(
        sample(&m, "pinpoint_email_reputation_idle", W1),
        Some(1.0),
        "{m}"
    );

    let calls: Vec<Duration> = sim
        .calls_for("eu-west-1")
        .iter()
        .filter(|c| c.action == "GetMetricData")
        .map(|c| c.at - t0)
        .collect();
    let near = |a: Duration, b: Duration| a.abs_diff(b) < Duration::from_millis(5);
    // The first call, before the account has answered; the next when the
    // region sends: at a 5-minute tick, within a minute (the account's
    // interval) and a tick of the change at 1 h.
    assert!(calls[0] < Duration::from_secs(2), "{calls:?}");
    let woke = calls[1];
    assert!(
        woke > HOUR && woke <= HOUR + Duration::from_secs(60) + FIVE_MINUTES,
        "{calls:?}"
    );
    let ticks = (woke - calls[0]).as_secs_f64() / FIVE_MINUTES.as_secs_f64();
    assert!((ticks - ticks.round()).abs() < 1e-4, "{calls:?}");
    // Every 5 minutes while it sends, until the account shows it idle again
    // (the change at 26 h, seen within a minute, acted on at the next tick).
    let sending: Vec<Duration> = calls
        .iter()
        .copied()
        .filter(|t| *t <= 26 * HOUR + Duration::from_secs(60) + FIVE_MINUTES)
        .collect();
    for pair in sending[1..].windows(2) {
        assert!(near(pair[1] - pair[0], FIVE_MINUTES), "{pair:?}");
    }
    let last = *sending.last().unwrap();
    assert!(last >= 26 * HOUR - FIVE_MINUTES, "{calls:?}");
    // Then 6 hours apart: 32 h and 38 h.
    let idle: Vec<Duration> = calls[sending.len()..].to_vec();
    assert_eq!(idle.len(), 2, "{calls:?}");
    assert!(near(idle[0] - last, 6 * HOUR), "{calls:?}");
    assert!(near(idle[1] - idle[0], 6 * HOUR), "{calls:?}");
    // GetAccount keeps its minute throughout: about 2,400 calls in 40 h.
    let accounts = sim
        .calls_for("eu-west-1")
        .iter()
        .filter(|c| c.action == "GetAccount")
        .count();
    assert!((2399..=2401).contains(&accounts), "{accounts}");
}
