//! The identities collector against the simulator (both APIs, every page,
//! the cap, the paced `GetEmailIdentity` calls, on tokio's paused clock) and
//! against moto's SES v2 identities.

use std::time::Duration;

use pinpoint_email_simulator::{IdentitiesStep, IdentityState};

use crate::common::*;

const E1: &str = "account=\"default\",aws_region=\"us-east-1\"";

/// One identity's labels, after the account and region.
fn of(identity: &str, identity_type: &str) -> String {
    format!("{E1},identity=\"{identity}\",identity_type=\"{identity_type}\"")
}

fn identity(name: &str, setup: impl FnOnce(&mut IdentityState)) -> IdentityState {
    let mut identity = IdentityState::verified(name);
    setup(&mut identity);
    identity
}

/// 1,205 identities (two pages of the listing) cut to 100, the failing and
/// the domains first; each kept one asked `GetEmailIdentity` once, the calls
/// spread over half the interval; statuses, MAIL FROM and sending as the
/// simulator says them.
#[tokio::test(start_paused = true)]
async fn every_page_is_listed_and_the_kept_identities_asked_over_half_the_interval() {
    let sim = simulator().await;
    let mut all = vec![
        identity("dkim.example", |i| i.dkim_status = Some("FAILED".into())),
        identity("mailfrom.example", |i| {
            i.dkim_status = Some("SUCCESS".into());
            i.mail_from_domain = Some("bounce.mailfrom.example".into());
            i.mail_from_status = Some("TEMPORARY_FAILURE".into());
            i.behavior_on_mx_failure = Some("REJECT_MESSAGE".into());
        }),
        identity("lost.example", |i| {
            i.verification_status = "TEMPORARY_FAILURE".into()
        }),
        identity("paused.example", |i| i.sending_enabled = false),
        identity("ok.example", |_| {}),
    ];
    all.extend((0..1200).map(|n| IdentityState::verified(&format!("user{n:04}@ok.example"))));
    sim.set_identities_script("us-east-1", vec![IdentitiesStep::Identities(all)]);
    // Not ready (/readyz) before its first poll, which takes 300 s here.
    let flags = [
        "--aws.regions",
        "us-east-1",
        "--collector.identities",
        "--collector.identities.max",
        "100",
    ];
    let exporter = start(config(&flags), sim.endpoint_url(), SECRET_KEY).await;
    eventually(
        Duration::from_secs(400),
        "the first poll of the identities",
        || async {
            sample(
                &metrics(exporter.addr).await,
                "pinpoint_email_identities_up",
                E1,
            ) == Some(1.0)
        },
    )
    .await;
    let m = metrics(exporter.addr).await;
    exporter.stop().await;

    assert_eq!(sample(&m, "pinpoint_email_identities", E1), Some(1205.0));
    assert_eq!(
        sample(&m, "pinpoint_email_identities_dropped", E1),
        Some(1105.0)
    );
    let kept = samples(&m, "pinpoint_email_identity_sending_enabled");
    assert_eq!(kept.len(), 100, "{m}");
    let domains = kept
        .iter()
        .filter(|(l, _)| l.contains("\"DOMAIN\""))
        .count();
    assert_eq!(domains, 5, "domains are kept first");
    assert!(m.contains("identity=\"user0094@ok.example\""));
    assert!(!m.contains("identity=\"user0095@ok.example\""));

    let dkim = of("dkim.example", "DOMAIN");
    let status =
        |metric, labels: &str, status| sample(&m, metric, &format!("{labels},status=\"{status}\""));
    assert_eq!(
        status("pinpoint_email_identity_dkim_status", &dkim, "FAILED"),
        Some(1.0)
    );
    assert_eq!(
        status("pinpoint_email_identity_dkim_status", &dkim, "SUCCESS"),
        Some(0.0)
    );
    let lost = of("lost.example", "DOMAIN");
    let verification = "pinpoint_email_identity_verification_status";
    assert_eq!(status(verification, &lost, "TEMPORARY_FAILURE"), Some(1.0));
    assert_eq!(
        sample(&m, "pinpoint_email_identity_verified_for_sending", &lost),
        Some(0.0)
    );
    let mail_from = format!(
        "{E1},behavior_on_mx_failure=\"REJECT_MESSAGE\",identity=\"mailfrom.example\",identity_type=\"DOMAIN\",mail_from_domain=\"bounce.mailfrom.example\""
    );
    assert_eq!(
        status(
            "pinpoint_email_identity_mail_from_status",
            &mail_from,
            "TEMPORARY_FAILURE"
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        samples(&m, "pinpoint_email_identity_mail_from_status").len(),
        4,
        "only the identity with a MAIL FROM domain has the series"
    );
    let paused = of("paused.example", "DOMAIN");
    assert_eq!(
        sample(&m, "pinpoint_email_identity_sending_enabled", &paused),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_identity_dkim_signing_enabled",
            &format!("{},origin=\"AWS_SES\"", of("mailfrom.example", "DOMAIN"))
        ),
        Some(1.0)
    );

    // Two pages of the listing, then 100 calls spread evenly over the first
    // half of the 10 minutes' interval: 300 s / 99 gaps.
    let calls = sim.calls_for("us-east-1");
    let lists: Vec<_> = calls
        .iter()
        .filter(|c| c.action == "ListEmailIdentities")
        .collect();
    assert_eq!(lists.len(), 2);
    assert!(lists.iter().all(|c| c.path == "/v2/email/list-identities"));
    let gets: Vec<_> = calls
        .iter()
        .filter(|c| c.action == "GetEmailIdentity")
        .collect();
    assert_eq!(gets.len(), 100);
    for pair in gets.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap.abs_diff(Duration::from_secs(300) / 99) < Duration::from_millis(5),
            "{gap:?}"
        );
    }
}

/// Through the Pinpoint Email API (a target with `api: pinpoint-email`): no
/// verification status, an address's name percent-encoded in the path and
/// signed as AWS signs it, an identity deleted since the listing left out; a
/// throttled poll is an error of the collector alone, and the identities come
/// back with the next poll.
#[tokio::test(start_paused = true)]
async fn pinpoint_email_targets_read_their_identities_and_throttling_fails_the_poll() {
    let sim = simulator().await;
    let ops = identity("ops@mail.example", |i| {
        i.dkim_status = Some("PENDING".into())
    });
    let gone = identity("gone.example", |i| i.deleted = true);
    let listing =
        IdentitiesStep::Identities(vec![ops, IdentityState::verified("mail.example"), gone]);
    sim.set_identities_script(
        "us-east-1",
        vec![listing.clone(), IdentitiesStep::Throttle, listing],
    );
    let file = targets_file(
        "identities-pinpoint",
        "targets:\n  - name: default\n    regions: [us-east-1]\n    api: pinpoint-email\n    collectors: { identities: true }\n",
    );
    let flags = [
        "--config.file",
        &file,
        "--collector.identities.interval",
        "1m",
    ];
    let exporter = start(config(&flags), sim.endpoint_url(), SECRET_KEY).await;
    let up = |m: &str| sample(m, "pinpoint_email_identities_up", E1);
    // Three calls over the first 30 s of the minute.
    eventually(Duration::from_secs(40), "the first poll", || async {
        up(&metrics(exporter.addr).await) == Some(1.0)
    })
    .await;
    let m = metrics(exporter.addr).await;
    let ops = of("ops@mail.example", "EMAIL_ADDRESS");
    assert_eq!(
        sample(&m, "pinpoint_email_identity_verified_for_sending", &ops),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_identity_dkim_status",
            &format!("{ops},status=\"PENDING\"")
        ),
        Some(1.0)
    );
    assert!(samples(&m, "pinpoint_email_identity_verification_status").is_empty());
    // An identity deleted between the listing and its GetEmailIdentity (404)
    // is left out, and the poll succeeds.
    assert!(!m.contains("gone.example"), "{m}");
    assert_eq!(sample(&m, "pinpoint_email_identities", E1), Some(2.0));
    let gets: Vec<String> = sim
        .calls_for("us-east-1")
        .into_iter()
        .filter(|c| c.action == "GetEmailIdentity")
        .map(|c| c.path)
        .collect();
    assert_eq!(
        gets,
        [
            "/v1/email/identities/gone.example",
            "/v1/email/identities/mail.example",
            "/v1/email/identities/ops%40mail.example"
        ]
    );

    eventually(Duration::from_secs(120), "the throttled poll", || async {
        up(&metrics(exporter.addr).await) == Some(0.0)
    })
    .await;
    let m = metrics(exporter.addr).await;
    assert_eq!(
        sample(
            &m,
            "pinpoint_email_identities_poll_errors_total",
            &format!("{E1},reason=\"throttled\"")
        ),
        Some(1.0)
    );
    assert_eq!(sample(&m, "pinpoint_email_up", E1), Some(1.0));
    eventually(Duration::from_secs(300), "the poll after", || async {
        up(&metrics(exporter.addr).await) == Some(1.0)
    })
    .await;
    exporter.stop().await;
}
