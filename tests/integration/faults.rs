//! The fault matrix: every way AWS (or the road to it) can fail, played by the
//! simulator against the exporter in this process, with the real SDK. Each case
//! asserts what `/metrics` shows while failing and after recovery, what the logs
//! say, and how many calls reached the fake AWS; a healthy control region runs
//! beside them and must not notice.
//!
//! Every test here runs on tokio's paused clock: the exporter and the simulator
//! share the test's runtime and talk over real loopback sockets, and the
//! intervals, timeouts, hangs and backoff pass as simulated time, to the
//! timer's millisecond, in a fraction of a second of real time.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use pinpoint_email_exporter::{Jitter, LogLevel};
use pinpoint_email_simulator::{AccountState, CloudWatchStep, Step};
use tokio::time::Instant;

/// The log lines of one test, as JSON objects: a subscriber of the test's own
/// thread (every test here runs on one thread, on paused time), so that no
/// other test's lines mix in when the tests share a process.
struct Logs {
    buffer: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl Logs {
    /// Every line at debug level and above.
    fn capture() -> Logs {
        Logs::filtered(tracing_subscriber::EnvFilter::new("debug"))
    }

    /// The lines `filter` lets through.
    fn filtered(filter: tracing_subscriber::EnvFilter) -> Logs {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_env_filter(filter)
            .with_writer(move || LogSink(Arc::clone(&sink)))
            .finish();
        Logs {
            buffer,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// Every line so far.
    fn events(&self) -> Vec<serde_json::Value> {
        let text = String::from_utf8_lossy(&self.buffer.lock().unwrap()).to_string();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .collect()
    }

    /// The lines about `region`.
    fn events_for(&self, region: &str) -> Vec<serde_json::Value> {
        self.events()
            .into_iter()
            .filter(|e| e["aws_region"] == region)
            .collect()
    }
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn account(max: f64) -> Step {
    Step::Account(AccountState {
        max_24_hour_send: max,
        sent_last_24_hours: max / 10.0,
        ..AccountState::healthy()
    })
}

fn error(status: u16, code: &str) -> Step {
    Step::Error {
        status,
        code: code.into(),
    }
}

/// Quota before the fault, and after recovery: different, to see which is shown.
const BEFORE: f64 = 1000.0;
const AFTER: f64 = 2000.0;

/// One case: a region answering `good, faults..., good` and what must be seen.
struct Case {
    region: &'static str,
    faults: Vec<Step>,
    reason: &'static str,
    /// Part of the logged error message.
    says: &'static str,
}

/// A fault answered on two polls in a row, so that scrapes see it.
fn twice(step: Step) -> Vec<Step> {
    vec![step.clone(), step]
}

fn cases() -> Vec<Case> {
    let body = |b: &str| Step::Body(b.to_string());
    vec![
        Case {
            // A proxy's refusal page: the status says what the body cannot.
            region: "mx-central-1",
            faults: twice(Step::Status {
                status: 403,
                body: "{\"message\": \"Forbid".into(),
            }),
            reason: "auth",
            says: "HTTP 403",
        },
        Case {
            // An error without a code: its status, and no dangling space.
            region: "ap-southeast-5",
            faults: twice(Step::Status {
                status: 400,
                body: "{}".into(),
            }),
            reason: "bad_request",
            says: "HTTP 400",
        },
        Case {
            region: "us-east-2",
            faults: vec![
                error(500, "InternalFailure"),
                error(503, "ServiceUnavailable"),
                error(502, "BadGateway"),
            ],
            reason: "server",
            says: "HTTP 500 InternalFailure",
        },
        Case {
            region: "us-west-1",
            faults: twice(Step::Delay {
                millis: 4_000,
                then: Box::new(account(BEFORE)),
            }),
            reason: "timeout",
            says: "no answer within 1s",
        },
        Case {
            region: "us-west-2",
            faults: vec![Step::Drop, Step::Drop],
            reason: "network",
            says: "connection closed before message completed",
        },
        Case {
            region: "ap-east-1",
            faults: twice(Step::Reset),
            reason: "network",
            says: "reset",
        },
        Case {
            region: "eu-west-1",
            faults: twice(body("{\"SendQuota\": {\"Max24HourSend\": ")),
            reason: "invalid_response",
            says: "unexpected end of stream",
        },
        Case {
            region: "eu-west-2",
            faults: twice(body("<html><body>502 Bad Gateway</body></html>")),
            reason: "invalid_response",
            says: "unexpected token '<'",
        },
        Case {
            region: "eu-west-3",
            faults: twice(body(
                "{\"SendingEnabled\": true, \"EnforcementStatus\": \"HEALTHY\"}",
            )),
            reason: "invalid_response",
            says: "no SendQuota",
        },
        Case {
            region: "eu-north-1",
            faults: twice(body(
                "{\"SendQuota\": {\"Max24HourSend\": \"lots\", \"MaxSendRate\": 1, \"SentLast24Hours\": 0}}",
            )),
            reason: "invalid_response",
            says: "found `lots`",
        },
        Case {
            region: "eu-south-1",
            faults: twice(body(
                "{\"SendQuota\": {\"Max24HourSend\": 1e999, \"MaxSendRate\": 1, \"SentLast24Hours\": 0}}",
            )),
            reason: "invalid_response",
            says: "number must be finite",
        },
        Case {
            // The SDK reads "NaN" and "Infinity" strings as floats.
            region: "ap-southeast-1",
            faults: twice(body(
                "{\"SendQuota\": {\"Max24HourSend\": \"NaN\", \"MaxSendRate\": 1, \"SentLast24Hours\": 0}}",
            )),
            reason: "invalid_response",
            says: "SendQuota.Max24HourSend is NaN",
        },
        Case {
            region: "eu-central-1",
            faults: twice(body(
                "{\"SendQuota\": {\"Max24HourSend\": 100, \"MaxSendRate\": 1, \"SentLast24Hours\": -5}}",
            )),
            reason: "invalid_response",
            says: "SentLast24Hours is -5",
        },
        Case {
            region: "ap-south-1",
            faults: twice(error(403, "ExpiredTokenException")),
            reason: "auth",
            says: "ExpiredTokenException",
        },
        Case {
            region: "ap-northeast-1",
            faults: twice(error(403, "UnrecognizedClientException")),
            reason: "auth",
            says: "UnrecognizedClientException",
        },
        Case {
            region: "ap-northeast-2",
            faults: vec![Step::Throttle, Step::Throttle, Step::Throttle],
            reason: "throttled",
            says: "TooManyRequestsException",
        },
        Case {
            region: "sa-east-1",
            faults: twice(error(429, "ThrottlingException")),
            reason: "throttled",
            says: "ThrottlingException",
        },
    ]
}

/// What one scrape showed of a region: `pinpoint_email_up` and the quota.
type Shown = (Option<f64>, Option<f64>);

fn labels(region: &str) -> String {
    format!("account=\"default\",aws_region=\"{region}\"")
}

/// On simulated time: the faults, timeouts and backoff of every region play
/// out in tokio's paused clock, over real sockets.
#[tokio::test(start_paused = true)]
async fn every_fault_is_reported_truthfully_and_the_first_good_answer_restores_everything() {
    let logs = Logs::capture();
    let sim = simulator().await;
    let cases = cases();
    let mut regions = vec!["us-east-1"];
    for case in &cases {
        let mut steps = vec![account(BEFORE)];
        steps.extend(case.faults.iter().cloned());
        steps.push(account(AFTER));
        sim.set_script(case.region, steps);
        regions.push(case.region);
    }
    sim.set_script("us-east-1", vec![account(BEFORE)]);
    let regions = regions.join(",");
    let exporter = start(
        config(&[
            "--aws.regions",
            &regions,
            "--poll.interval",
            "1s",
            "--poll.timeout",
            "1s",
            "--poll.max-backoff",
            "4s",
        ]),
        sim.endpoint_url(),
        SECRET_KEY,
    )
    .await;

    // Watch /metrics until every case has recovered, keeping what each region
    // showed: (up, max_24_hour_send) in order of observation.
    let mut seen: BTreeMap<&str, Vec<Shown>> = BTreeMap::new();
    let started = Instant::now();
    let mut control_up = 0usize;
    loop {
        let m = metrics(exporter.addr).await;
        for region in cases.iter().map(|c| c.region) {
            let l = labels(region);
            let obs = (
                sample(&m, "pinpoint_email_up", &l),
                sample(&m, "pinpoint_email_send_quota_max_emails", &l),
            );
            let list = seen.entry(region).or_default();
            if list.last() != Some(&obs) {
                list.push(obs);
            }
        }
        // The control region is up on every scrape once polled.
        if let Some(v) = sample(&m, "pinpoint_email_up", &labels("us-east-1")) {
            assert_eq!(v, 1.0, "the control region was disturbed:\n{m}");
            control_up += 1;
        }
        let done = cases
            .iter()
            .all(|c| seen[c.region].last() == Some(&(Some(1.0), Some(AFTER))));
        if done {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(45),
            "not every case recovered: {seen:?}\n{m}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let m = metrics(exporter.addr).await;
    assert!(control_up > 10, "control region scraped {control_up} times");

    for case in &cases {
        let r = case.region;
        let history = &seen[r];
        // Pending, then good values, then up 0 with the last good values kept
        // (never the fault's, never missing), then the new values.
        // Every state seen is one of these three, in this order; the middle
        // one must have been seen (each fault lasts at least two polls).
        let order = [
            (Some(1.0), Some(BEFORE)),
            (Some(0.0), Some(BEFORE)),
            (Some(1.0), Some(AFTER)),
        ];
        let ranks: Vec<usize> = history
            .iter()
            .filter(|(up, _)| up.is_some())
            .map(|state| {
                order.iter().position(|o| o == state).unwrap_or_else(|| {
                    panic!("{r}: /metrics showed {state:?}; history {history:?}")
                })
            })
            .collect();
        assert!(
            ranks.windows(2).all(|w| w[0] < w[1]) && ranks.contains(&1) && ranks.last() == Some(&2),
            "{r}: what /metrics showed over time: {history:?}"
        );
        let with_reason = format!(
            "account=\"default\",aws_region=\"{r}\",reason=\"{}\"",
            case.reason
        );
        assert_eq!(
            sample(&m, "pinpoint_email_poll_errors_total", &with_reason),
            Some(case.faults.len() as f64),
            "{r}: errors counted under {}: {:?}; {:?}",
            case.reason,
            samples(&m, "pinpoint_email_poll_errors_total")
                .into_iter()
                .filter(|(l, v)| l.contains(r) && *v > 0.0)
                .collect::<Vec<_>>(),
            logs.events_for(r)
                .into_iter()
                .filter(|e| e["level"] == "WARN")
                .collect::<Vec<_>>()
        );
        let other_errors: f64 = samples(&m, "pinpoint_email_poll_errors_total")
            .iter()
            .filter(|(labels, _)| {
                label(labels, "aws_region").as_deref() == Some(r)
                    && label(labels, "reason").as_deref() != Some(case.reason)
            })
            .map(|(_, v)| v)
            .sum();
        assert_eq!(other_errors, 0.0, "{r}: errors under other reasons");

        // Calls: one per step (the SDK does not retry behind the poller's back),
        // and the recovered region keeps polling.
        let calls = sim.calls_for(r).len();
        assert!(
            calls >= case.faults.len() + 2,
            "{r}: {calls} calls for {} steps",
            case.faults.len() + 2
        );

        // Logs: one warning naming the reason (and what AWS said), once per
        // change of error, then one recovery.
        let events = logs.events_for(r);
        let warnings: Vec<_> = events.iter().filter(|e| e["level"] == "WARN").collect();
        assert!(!warnings.is_empty(), "{r}: no warning in {events:?}");
        assert!(
            warnings.iter().all(|w| w["reason"] == case.reason),
            "{r}: {warnings:?}"
        );
        assert!(
            warnings
                .iter()
                .any(|w| w["error"].as_str().unwrap_or("").contains(case.says)),
            "{r}: no warning says {:?}: {warnings:?}",
            case.says
        );
        assert!(
            warnings.iter().all(|w| {
                let error = w["error"].as_str().unwrap_or("");
                error.trim_end() == error && !error.contains("  ")
            }),
            "{r}: an error with stray spaces: {warnings:?}"
        );
        assert!(
            warnings.iter().all(|w| w["collector"] == "account"),
            "{r}: a warning that does not name its collector: {warnings:?}"
        );
        let distinct_faults = case
            .faults
            .iter()
            .map(|f| format!("{f:?}"))
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        assert!(
            warnings.len() <= distinct_faults,
            "{r}: {} warnings for {distinct_faults} distinct faults: {warnings:?}",
            warnings.len()
        );
        let recovered = events
            .iter()
            .filter(|e| e["message"] == "poll recovered")
            .count();
        assert_eq!(recovered, 1, "{r}: {events:?}");
    }
    exporter.stop().await;
}

/// On simulated time, so the schedule is exact: every call of a throttled
/// region comes when its backoff says, to the timer's millisecond.
#[tokio::test(start_paused = true)]
async fn a_throttling_storm_is_met_with_backoff_bounded_per_region() {
    let logs = Logs::capture();
    let sim = simulator().await;
    let throttled: Vec<String> = (1..=20).map(|i| format!("xx-storm-{i}")).collect();
    for r in &throttled {
        sim.set_script(r, vec![Step::Throttle]);
    }
    sim.set_script("us-east-1", vec![account(BEFORE)]);
    let mut regions = vec!["us-east-1".to_string()];
    regions.extend(throttled.iter().cloned());
    let mut settings = config(&[
        "--aws.regions",
        &regions.join(","),
        "--poll.interval",
        "1s",
        "--poll.max-backoff",
        "8s",
    ]);
    // Every wait is its ceiling: a throttled region calls at its start, then
    // 2, 6 and 14 s later (backoff 2, 4, 8 s); a healthy one every second.
    settings.poll.jitter = Jitter::Fixed(1.0);
    let exporter = start(settings, sim.endpoint_url(), SECRET_KEY).await;
    // Ten seconds: three calls of each throttled region (the fourth comes at
    // 14 s), whatever the start-up spread of up to a second.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let m = metrics(exporter.addr).await;
    exporter.stop().await;

    // (The target's one GetCallerIdentity is not a poll.)
    let healthy = get_account_calls(&sim)
        .iter()
        .filter(|c| c.region == "us-east-1")
        .count();
    for r in &throttled {
        let calls = sim.calls_for(r);
        assert_eq!(calls.len(), 3, "{r}: {calls:?}");
        let gaps: Vec<Duration> = calls.windows(2).map(|p| p[1].at - p[0].at).collect();
        // The backoff's 2 s, then 4 s, within the timer's granularity.
        for (gap, backoff) in gaps.iter().zip([2, 4]) {
            let backoff = Duration::from_secs(backoff);
            assert!(
                gap.abs_diff(backoff) <= Duration::from_millis(5),
                "{r}: gaps {gaps:?}, backoff 2s then 4s"
            );
        }
        assert_eq!(
            sample(&m, "pinpoint_email_up", &labels(r)),
            Some(0.0),
            "{r}"
        );
    }
    // Without backoff every region would call 10 times, as the healthy one
    // does: every second from its first call at 0.25 s (a quarter of the
    // interval, the start-up spread of a few pollers, all of it drawn).
    assert_eq!(healthy, 10, "healthy region polls");
    // The storm is logged once per region, not once per call.
    for r in &throttled {
        let warnings = logs
            .events_for(r)
            .into_iter()
            .filter(|e| e["level"] == "WARN")
            .count();
        assert_eq!(warnings, 1, "{r}");
    }
}

#[tokio::test(start_paused = true)]
async fn connection_refused_until_aws_comes_back() {
    let logs = Logs::capture();
    // Nothing listens at `addr` until the simulator starts there.
    let addr = free_addr();
    let exporter = start(
        config(&[
            "--aws.regions",
            "ca-central-1",
            "--poll.interval",
            "1s",
            "--poll.max-backoff",
            "2s",
        ]),
        format!("http://{addr}"),
        SECRET_KEY,
    )
    .await;
    let l = labels("ca-central-1");
    eventually(Duration::from_secs(10), "up 0, reason network", || async {
        let m = metrics(exporter.addr).await;
        sample(&m, "pinpoint_email_up", &l) == Some(0.0)
            && sample(
                &m,
                "pinpoint_email_poll_errors_total",
                "account=\"default\",aws_region=\"ca-central-1\",reason=\"network\"",
            )
            .is_some_and(|v| v >= 1.0)
    })
    .await;
    let warning = logs
        .events_for("ca-central-1")
        .into_iter()
        .find(|e| e["level"] == "WARN")
        .expect("a warning");
    assert!(
        warning["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("connection refused"),
        "{warning}"
    );
    assert_eq!(get(exporter.addr, "/healthz").await.status, 200);

    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let sim = pinpoint_email_simulator::Simulator::start(listener, ACCESS_KEY, SECRET_KEY);
    sim.set_script("ca-central-1", vec![account(AFTER)]);
    eventually(Duration::from_secs(10), "recovered", || async {
        let m = metrics(exporter.addr).await;
        sample(&m, "pinpoint_email_up", &l) == Some(1.0)
            && sample(&m, "pinpoint_email_send_quota_max_emails", &l) == Some(AFTER)
    })
    .await;
    exporter.stop().await;
}

#[tokio::test(start_paused = true)]
async fn clock_skew_is_an_auth_error_that_says_to_fix_the_clock() {
    let logs = Logs::capture();
    let sim = simulator().await;
    sim.set_script("me-south-1", vec![account(AFTER)]);
    sim.set_clock_offset(20 * 60);
    let exporter = start(
        config(&["--aws.regions", "me-south-1", "--poll.interval", "1s"]),
        sim.endpoint_url(),
        SECRET_KEY,
    )
    .await;
    let l = labels("me-south-1");
    eventually(Duration::from_secs(10), "up 0, reason auth", || async {
        let m = metrics(exporter.addr).await;
        sample(&m, "pinpoint_email_up", &l) == Some(0.0)
    })
    .await;
    let calls = sim.calls_for("me-south-1");
    assert_eq!(calls[0].auth_error, Some("InvalidSignatureException"));
    let warning = logs
        .events_for("me-south-1")
        .into_iter()
        .find(|e| e["level"] == "WARN")
        .expect("a warning");
    assert_eq!(warning["reason"], "auth");
    let error = warning["error"].as_str().unwrap();
    assert!(error.contains("Signature expired"), "{error}");
    assert!(error.contains("synchronise it (NTP)"), "{error}");

    // The clock is fixed: the next poll succeeds.
    sim.set_clock_offset(0);
    eventually(Duration::from_secs(10), "recovered", || async {
        let m = metrics(exporter.addr).await;
        sample(&m, "pinpoint_email_send_quota_max_emails", &l) == Some(AFTER)
    })
    .await;
    exporter.stop().await;
}

#[tokio::test(start_paused = true)]
async fn odd_but_valid_answers_are_shown_as_they_are() {
    let _logs = Logs::capture();
    let sim = simulator().await;
    sim.set_script(
        "af-south-1",
        vec![
            Step::Account(AccountState {
                enforcement_status: "UNDER_REVIEW".into(),
                max_24_hour_send: 1e300,
                sent_last_24_hours: 0.0,
                ..AccountState::healthy()
            }),
            Step::Account(AccountState::healthy()),
        ],
    );
    let exporter = polling(
        &sim,
        &["--aws.regions", "af-south-1", "--poll.interval", "1s"],
    )
    .await;
    let m = metrics(exporter.addr).await;
    let status = |s: &str| {
        sample(
            &m,
            "pinpoint_email_enforcement_status",
            &format!("account=\"default\",aws_region=\"af-south-1\",status=\"{s}\""),
        )
    };
    assert_eq!(status("UNDER_REVIEW"), Some(1.0), "{m}");
    assert_eq!(status("HEALTHY"), Some(0.0));
    assert_eq!(status("PROBATION"), Some(0.0));
    assert_eq!(status("SHUTDOWN"), Some(0.0));
    assert_eq!(status("UNKNOWN"), Some(0.0));
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_send_quota_max_emails",
            &labels("af-south-1")
        ),
        Some(1e300)
    );
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_send_quota_used_ratio",
            &labels("af-south-1")
        ),
        Some(0.0)
    );
    // The next answer is HEALTHY again: the status AWS added stays, as 0, so
    // that rules holding the last value of a series never hold it at 1.
    eventually(Duration::from_secs(10), "UNDER_REVIEW 0", || async {
        let m = metrics(exporter.addr).await;
        m.contains("pinpoint_email_enforcement_status{account=\"default\",aws_region=\"af-south-1\",status=\"UNDER_REVIEW\"} 0")
            && m.contains("pinpoint_email_enforcement_status{account=\"default\",aws_region=\"af-south-1\",status=\"HEALTHY\"} 1")
    })
    .await;
    exporter.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_failing_assume_role_recovers_once_the_role_trusts_the_exporter() {
    let _logs = Logs::capture();
    let sim = simulator().await;
    let role = "arn:aws:iam::444455556666:role/not-yet-trusted";
    let file = targets_file(
        "role",
        &format!(
            "targets:\n  - name: direct\n    regions: [il-central-1]\n  - name: partner\n    regions: [il-central-1]\n    role_arn: {role}\n"
        ),
    );
    let exporter = start(
        config(&["--config.file", &file, "--poll.interval", "1s"]),
        sim.endpoint_url(),
        SECRET_KEY,
    )
    .await;
    let up = |m: &str, t: &str| {
        sample(
            m,
            "pinpoint_email_up",
            &format!("account=\"{t}\",aws_region=\"il-central-1\""),
        )
    };
    eventually(Duration::from_secs(10), "partner refused", || async {
        let m = metrics(exporter.addr).await;
        up(&m, "partner") == Some(0.0) && up(&m, "direct") == Some(1.0)
    })
    .await;
    let m = metrics(exporter.addr).await;
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_poll_errors_total",
            "account=\"partner\",aws_region=\"il-central-1\",reason=\"auth\""
        )
        .map(|v| v >= 1.0),
        Some(true),
        "{m}"
    );
    sim.allow_role(role, None);
    eventually(Duration::from_secs(15), "partner recovered", || async {
        let m = metrics(exporter.addr).await;
        up(&m, "partner") == Some(1.0) && up(&m, "direct") == Some(1.0)
    })
    .await;
    exporter.stop().await;
}

/// A role that stays refused, polled on simulated time under the binary's own
/// log filter: STS answers every AssumeRole with a new request id, and the
/// log says it once, naming the account and the collector; nothing from the
/// SDK itself.
#[tokio::test(start_paused = true)]
async fn a_refused_role_is_logged_once_with_its_account_and_collector() {
    let logs = Logs::filtered(tracing_subscriber::EnvFilter::new(
        LogLevel::Info.directives(),
    ));

    let sim = simulator().await;
    let file = targets_file(
        "refused-role",
        "targets:\n  - name: partner\n    regions: [il-central-1]\n    role_arn: arn:aws:iam::444455556666:role/never-trusted\n",
    );
    let exporter = start(
        config(&["--config.file", &file, "--poll.interval", "1s"]),
        sim.endpoint_url(),
        SECRET_KEY,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    exporter.stop().await;
    let refusals = sim
        .calls()
        .iter()
        .filter(|c| c.action == "AssumeRole")
        .count();
    assert!(refusals >= 5, "{refusals} AssumeRole calls");

    let events = logs.events();
    let from_sdk: Vec<_> = events
        .iter()
        .filter(|e| e["target"].as_str().is_some_and(|t| t.starts_with("aws_")))
        .collect();
    assert!(from_sdk.is_empty(), "the SDK logged: {from_sdk:?}");
    let warnings: Vec<_> = events.iter().filter(|e| e["level"] == "WARN").collect();
    assert_eq!(warnings.len(), 1, "{refusals} refusals: {warnings:?}");
    let warning = warnings[0];
    assert_eq!(warning["account"], "partner");
    assert_eq!(warning["collector"], "account");
    assert_eq!(warning["reason"], "auth");
    let error = warning["error"].as_str().unwrap();
    assert!(error.contains("AccessDenied"), "{error}");
    assert!(!error.contains("-0000-4000-8000-"), "a request id: {error}");
}

/// A refusal without an error code in a body CloudWatch's client cannot parse
/// (a 403 page where its protocol wants CBOR) is counted as what its status
/// says, `auth`, and reads `HTTP 403` with no dangling space; the account
/// collector of the same region does not notice.
#[tokio::test(start_paused = true)]
async fn a_codeless_refusal_counts_as_what_its_status_says() {
    let logs = Logs::capture();
    let sim = simulator().await;
    sim.set_script("ap-east-2", vec![account(AFTER)]);
    sim.set_cloudwatch_script(
        "ap-east-2",
        vec![CloudWatchStep::Status {
            status: 403,
            body: "<html><body>Forbidden</body></html>".into(),
        }],
    );
    let exporter = polling(
        &sim,
        &[
            "--aws.regions",
            "ap-east-2",
            "--collector.reputation",
            "--poll.interval",
            "1s",
        ],
    )
    .await;
    let l = labels("ap-east-2");
    eventually(Duration::from_secs(10), "a reputation error", || async {
        !samples(
            &metrics(exporter.addr).await,
            "pinpoint_email_reputation_poll_errors_total",
        )
        .iter()
        .all(|(_, v)| *v == 0.0)
    })
    .await;
    let m = metrics(exporter.addr).await;
    exporter.stop().await;
    let errors: Vec<_> = samples(&m, "pinpoint_email_reputation_poll_errors_total")
        .into_iter()
        .filter(|(_, v)| *v > 0.0)
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        label(&errors[0].0, "reason").as_deref(),
        Some("auth"),
        "{errors:?}"
    );
    assert_eq!(sample(&m, "pinpoint_email_up", &l), Some(1.0), "{m}");
    let warning = logs
        .events_for("ap-east-2")
        .into_iter()
        .find(|e| e["level"] == "WARN" && e["collector"] == "reputation")
        .expect("a warning of the reputation collector");
    assert!(
        warning["error"].as_str().unwrap().contains("HTTP 403"),
        "{warning}"
    );
}
