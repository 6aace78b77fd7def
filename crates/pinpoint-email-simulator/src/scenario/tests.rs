use super::*;
use crate::{CloudWatchStep, Step};

const EXAMPLE: &str = r#"
regions:
  eu-west-1:
    repeat: true
    phases:
      - duration: 30s
      - duration: 60s
        account: { enforcement_status: PROBATION }
      - duration: 20s
        answer: throttle
      - duration: 10s
        error: { status: 503, code: ServiceUnavailable }
        delay: 1s
  us-east-1:
    phases:
      - duration: 10s
        account: { max_24_hour_send: 1000, sent_last_24_hours: 100 }
        sent_per_second: 10
      - body: "{}"
        sent_per_second: 50
"#;

fn status(step: &Step) -> &str {
    match step {
        Step::Account(a) => &a.enforcement_status,
        other => panic!("not an account: {other:?}"),
    }
}

#[test]
fn timeline_phases_follow_each_other_and_repeat() {
    let s = Scenario::parse("example", EXAMPLE).unwrap();
    let eu = &s.regions["eu-west-1"];
    let at = |secs: u64| eu.step_at(Duration::from_secs(secs));
    assert_eq!(status(&at(0)), "HEALTHY");
    assert_eq!(status(&at(29)), "HEALTHY");
    assert_eq!(status(&at(30)), "PROBATION");
    assert_eq!(at(95), Step::Throttle);
    assert_eq!(
        at(115),
        Step::Delay {
            millis: 1000,
            then: Box::new(Step::Error {
                status: 503,
                code: "ServiceUnavailable".into()
            })
        }
    );
    // 120 s in all: 125 s is 5 s into the next round.
    assert_eq!(status(&at(125)), "HEALTHY");
    assert_eq!(status(&at(155)), "PROBATION");
}

#[test]
fn sent_count_climbs_and_is_capped_at_the_quota() {
    let s = Scenario::parse("example", EXAMPLE).unwrap();
    let us = &s.regions["us-east-1"];
    let sent = |secs: u64| match us.step_at(Duration::from_secs(secs)) {
        Step::Account(a) => a.sent_last_24_hours,
        other => panic!("{other:?}"),
    };
    assert_eq!(sent(0), 100.0);
    assert_eq!(sent(5), 150.0);
    assert_eq!(us.step_at(Duration::from_secs(10)), Step::Body("{}".into()));
    // The account state keeps evolving under a fault phase, capped at 1000.
    let s2 = Scenario::parse(
            "x",
            "regions:\n  us-east-1:\n    phases:\n      - duration: 10s\n        account: { max_24_hour_send: 1000, sent_last_24_hours: 100 }\n        sent_per_second: 10\n      - sent_per_second: 50\n",
        )
        .unwrap();
    let us = &s2.regions["us-east-1"];
    let sent = |secs: u64| match us.step_at(Duration::from_secs(secs)) {
        Step::Account(a) => a.sent_last_24_hours,
        other => panic!("{other:?}"),
    };
    assert_eq!(sent(10), 200.0);
    assert_eq!(sent(20), 700.0);
    assert_eq!(sent(100), 1000.0);
}

#[test]
fn invalid_scenarios_are_named() {
    let cases = [
        (
            "regions: {}\n",
            "scenario s: regions: list at least one region",
        ),
        (
            "regions:\n  mars-1:\n    phases: [{}]\n",
            "scenario s: regions.mars-1: \"mars-1\" is not an AWS region code such as us-east-1 or eu-west-1",
        ),
        (
            "regions:\n  us-east-1:\n    phases: [{}, {}]\n",
            "scenario s: regions.us-east-1.phases[0].duration: is required for every phase but the last of a timeline without repeat",
        ),
        (
            "regions:\n  us-east-1:\n    repeat: true\n    phases: [{}]\n",
            "scenario s: regions.us-east-1.phases[0].duration: is required for every phase but the last of a timeline without repeat",
        ),
        (
            "regions:\n  us-east-1:\n    phases: [{error: {status: 200, code: X}}]\n",
            "scenario s: regions.us-east-1.phases[0].error.status: 200 is not an HTTP error status (400-599)",
        ),
        (
            "regions:\n  us-east-1:\n    phases: [{answer: throttle, body: x}]\n",
            "scenario s: regions.us-east-1.phases[0].answer: give only one of answer, error and body",
        ),
        (
            "regions:\n  us-east-1:\n    phases: [{duration: soon}]\n",
            "scenario s: regions.us-east-1.phases[0]: \"soon\" is not a duration: expected number at 0 (expected a duration such as 30s, 5m or 1h30m)",
        ),
        (
            "regions:\n  us-east-1:\n    phases: [{account: {status: HEALTHY}}]\n",
            "scenario s: regions.us-east-1.phases[0].account: unknown field `status`",
        ),
    ];
    for (text, want) in cases {
        let got = Scenario::parse("s", text).unwrap_err().to_string();
        assert!(got.starts_with(want), "{text}\n got: {got}\nwant: {want}");
    }
}

#[test]
fn the_documented_scenario_example_is_valid() {
    let page = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../CONTRIBUTING.md"),
    )
    .unwrap();
    let section = page
        .split("## The simulator")
        .nth(1)
        .expect("CONTRIBUTING.md has ## The simulator");
    let yaml = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a yaml block in ## The simulator");
    let s = Scenario::parse("CONTRIBUTING.md", yaml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.regions["us-east-1"].step_at(Duration::from_secs(61)),
        Step::Body("{\"SendQuota\": ".into())
    );
}

#[test]
fn suggested_interval_sees_every_phase() {
    let s = Scenario::parse("example", EXAMPLE).unwrap();
    // Shortest phase 10 s: polls every 2 s, backoff at most 4 s.
    assert_eq!(s.poll_interval(), Duration::from_secs(2));
    assert_eq!(s.poll_max_backoff(), Duration::from_secs(4));
    let rehearsal = Scenario::from_file(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/alert-rehearsal.yml"),
    )
    .unwrap();
    // Its shortest phase (the bounce rate at 1.2 %) lasts 5 s.
    assert_eq!(rehearsal.poll_interval(), Duration::from_secs(1));
}

#[test]
fn shipped_scenarios_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yml") {
            Scenario::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 2, "{n} scenarios in {}", dir.display());
}

#[test]
fn the_demo_bounce_rate_climbs_past_2_and_5_percent_before_probation() {
    let demo = Scenario::demo().unwrap();
    let eu = &demo.regions["eu-west-1"];
    let first = |what: &dyn Fn(Duration) -> bool| {
        (0..300u64)
            .map(Duration::from_secs)
            .find(|t| what(*t))
            .unwrap()
    };
    let bounce = |t: Duration| match eu.cloudwatch_at(t) {
        CloudWatchStep::Rates { bounce_rate, .. } => bounce_rate.unwrap_or(0.0),
        other => panic!("{other:?}"),
    };
    let probation = first(
        &|t| matches!(eu.step_at(t), Step::Account(a) if a.enforcement_status == "PROBATION"),
    );
    let over_2 = first(&|t| bounce(t) >= 0.02);
    let over_5 = first(&|t| bounce(t) >= 0.05);
    assert!(
        over_2 < over_5 && over_5 < probation,
        "{over_2:?} {over_5:?} {probation:?}"
    );
    assert!(probation - over_5 >= Duration::from_secs(20));
    // A region without datapoints and one whose CloudWatch throttles.
    let ap = &demo.regions["ap-southeast-2"];
    assert!(matches!(
        ap.cloudwatch_at(Duration::ZERO),
        CloudWatchStep::Rates {
            bounce_rate: None,
            ..
        }
    ));
    assert_eq!(
        ap.cloudwatch_at(Duration::from_secs(70)),
        CloudWatchStep::Throttle
    );
}

#[test]
fn the_demo_tells_a_domain_losing_its_dkim_records() {
    let demo = Scenario::demo().unwrap();
    let eu = &demo.regions["eu-west-1"];
    let dkim = |secs: u64| match eu.identities_at(Duration::from_secs(secs)) {
        crate::IdentitiesStep::Identities(ids) => {
            let news = ids.iter().find(|i| i.name == "news.example.com").unwrap();
            news.dkim_status.clone().unwrap()
        }
        other => panic!("{other:?}"),
    };
    // SUCCESS, TEMPORARY_FAILURE from 40 s, FAILED from 110 s, and SUCCESS
    // again when the 170 s cycle starts over.
    let seen: Vec<String> = [0, 39, 40, 109, 110, 169, 170].map(dkim).to_vec();
    assert_eq!(
        seen,
        [
            "SUCCESS",
            "SUCCESS",
            "TEMPORARY_FAILURE",
            "TEMPORARY_FAILURE",
            "FAILED",
            "FAILED",
            "SUCCESS"
        ]
    );
}
