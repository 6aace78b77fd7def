use std::collections::BTreeMap;

use super::*;
use crate::target::Key;

fn listed(name: &str, identity_type: &str) -> Listed {
    Listed {
        name: name.into(),
        identity_type: identity_type.into(),
        sending_enabled: true,
        verification_status: Some("SUCCESS".into()),
    }
}

#[test]
fn failing_identities_are_kept_first_then_domains_then_addresses() {
    let mut failing = listed("b@a.example", "EMAIL_ADDRESS");
    failing.verification_status = Some("TEMPORARY_FAILURE".into());
    let (kept, dropped) = kept(
        vec![
            listed("a@z.example", "EMAIL_ADDRESS"),
            listed("z.example", "DOMAIN"),
            listed("m.example", "MANAGED_DOMAIN"),
            failing,
            listed("c@a.example", "EMAIL_ADDRESS"),
            listed("z.example", "DOMAIN"),
        ],
        4,
    );
    let names: Vec<&str> = kept.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        ["b@a.example", "m.example", "z.example", "a@z.example"]
    );
    assert_eq!(dropped, 1);
}

#[test]
fn calls_share_what_is_left_of_the_window_at_least_a_second_apart() {
    let secs = Duration::from_secs;
    assert_eq!(gap(secs(300), 100), secs(3));
    assert_eq!(gap(secs(297), 99), secs(3));
    assert_eq!(gap(secs(50), 100), MIN_GAP, "late: a second apart");
    assert_eq!(gap(Duration::ZERO, 1), MIN_GAP);
    assert_eq!(gap(secs(10), 0), secs(10));
    // No more than fit in half the interval a second apart.
    assert_eq!(super::super::paced(secs(600), 100), 100);
    assert_eq!(super::super::paced(secs(600), 1000), 300);
    assert_eq!(super::super::paced(secs(1), 5), 1);
}

fn written(identities: &Identities) -> BTreeMap<&'static str, String> {
    let key = Key::new("prod", "eu-west-1");
    let mut by_name = BTreeMap::new();
    identities.write(&mut Series::new(&mut by_name, &key));
    by_name
}

#[test]
fn statuses_are_state_sets_that_keep_what_aws_adds() {
    let identity = Identity {
        name: "example.com".into(),
        identity_type: "DOMAIN".into(),
        sending_enabled: true,
        verified_for_sending: true,
        verification_status: Some("SUCCESS".into()),
        dkim_status: "REVOKED".into(),
        dkim_signing_enabled: false,
        dkim_origin: Some("AWS_SES".into()),
        mail_from: Some(MailFrom {
            domain: "bounce.example.com".into(),
            status: "FAILED".into(),
            behavior_on_mx_failure: "REJECT_MESSAGE".into(),
        }),
    };
    let out = written(&Identities {
        identities: vec![identity.clone()],
        dropped: 2,
    });
    assert_eq!(
        out["pinpoint_email_identities"],
        "pinpoint_email_identities{account=\"prod\",aws_region=\"eu-west-1\"} 3\n"
    );
    let dkim = &out["pinpoint_email_identity_dkim_status"];
    assert_eq!(dkim.lines().count(), 6, "{dkim}");
    assert!(
        dkim.contains("identity_type=\"DOMAIN\",status=\"REVOKED\"} 1"),
        "{dkim}"
    );
    assert!(dkim.contains("status=\"SUCCESS\"} 0"), "{dkim}");
    let mail_from = &out["pinpoint_email_identity_mail_from_status"];
    assert_eq!(mail_from.lines().count(), 4);
    assert!(mail_from.contains(
        "behavior_on_mx_failure=\"REJECT_MESSAGE\",identity=\"example.com\",identity_type=\"DOMAIN\",mail_from_domain=\"bounce.example.com\",status=\"FAILED\"} 1"
    ), "{mail_from}");
    assert!(out["pinpoint_email_identity_dkim_signing_enabled"].contains("origin=\"AWS_SES\"} 0"));

    // Through Pinpoint Email: no verification status, no origin, and without
    // a MAIL FROM domain no MAIL FROM series.
    let pinpoint = Identity {
        verification_status: None,
        dkim_origin: None,
        mail_from: None,
        ..identity
    };
    let out = written(&Identities {
        identities: vec![pinpoint],
        dropped: 0,
    });
    assert!(!out.contains_key("pinpoint_email_identity_verification_status"));
    assert!(!out.contains_key("pinpoint_email_identity_mail_from_status"));
    assert!(!out["pinpoint_email_identity_dkim_signing_enabled"].contains("origin"));
    assert!(out["pinpoint_email_identity_verified_for_sending"].ends_with("} 1\n"));
}
