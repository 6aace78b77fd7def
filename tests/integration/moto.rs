//! The exporter against moto's server, an AWS mock nobody here wrote (PyPI
//! `moto[server]`, pinned in `.ci/moto-requirements.txt`; `scripts/test`
//! installs it into `target/moto-venv`), for what moto implements of the
//! calls the exporter makes: Organizations (`ListAccounts`), STS
//! (`AssumeRole` with an external id) and SES v2's email identities
//! (`ListEmailIdentities`, `GetEmailIdentity`). moto's request recorder shows
//! what reached it.
//!
//! What moto 5.2.5 does not implement, and is tested against the simulator
//! only: `GetAccount` of Pinpoint Email and SES v2 (moto answers 404),
//! `GetDedicatedIps`, and CloudWatch's `GetMetricData` in the rpcv2Cbor
//! protocol the SDK sends.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_organizations::types::OrganizationFeatureSet;

use crate::common::*;

const EXTERNAL_ID: &str = "moto-external-id";

/// An organization made in moto with the SDK (the management account and
/// three members) is discovered by the exporter: every account is polled,
/// through `reader` in it, assumed with the external id; moto answers the
/// polls 404, which the exporter reports as `bad_request` for each account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_in_moto_is_discovered_and_polled_through_each_role() {
    let moto = Moto::start().await;
    let sdk = loader(moto.endpoint(), SECRET_KEY)()
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    let organizations = aws_sdk_organizations::Client::new(&sdk);
    organizations
        .create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    for name in ["billing", "marketing", "transactional"] {
        organizations
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .unwrap();
    }
    let listed = organizations.list_accounts().send().await.unwrap();
    let ids: BTreeSet<String> = listed
        .accounts()
        .iter()
        .filter_map(|a| a.id().map(str::to_string))
        .collect();
    assert_eq!(ids.len(), 4, "{listed:?}");

    let file = targets_file(
        "moto-organization",
        &format!(
            "targets:\n  - name: org\n    regions: [us-east-1]\n    api: sesv2\n    discover:\n      organizations:\n        role_name: reader\n        external_id: {EXTERNAL_ID}\n"
        ),
    );
    let exporter = start(
        config(&["--config.file", &file, "--poll.interval", "1s"]),
        moto.endpoint(),
        SECRET_KEY,
    )
    .await;
    let polled = |m: &str| -> BTreeSet<String> {
        samples(m, "pinpoint_email_poll_errors_total")
            .iter()
            .filter(|(labels, v)| *v >= 1.0 && labels.contains("reason=\"bad_request\""))
            .filter_map(|(labels, _)| label(labels, "account"))
            .collect()
    };
    eventually(
        Duration::from_secs(20),
        "every account polled and answered 404",
        || async { polled(&metrics(exporter.addr).await) == ids },
    )
    .await;
    let m = metrics(exporter.addr).await;
    exporter.stop().await;
    for id in &ids {
        let at = format!("account=\"{id}\",aws_region=\"us-east-1\"");
        assert_eq!(sample(&m, "pinpoint_email_up", &at), Some(0.0), "{m}");
        assert_eq!(
            sample(
                &m,
                "pinpoint_email_account_info",
                &format!("account=\"{id}\",account_id=\"{id}\"")
            ),
            Some(1.0),
            "{m}"
        );
    }

    // Each account's role was assumed with the external id.
    let requests = moto.query_requests().await;
    let param = |request: &Vec<(String, String)>, key: &str| -> Option<String> {
        request
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let assumed: BTreeSet<String> = requests
        .iter()
        .filter(|r| param(r, "Action").as_deref() == Some("AssumeRole"))
        .map(|r| {
            assert_eq!(
                param(r, "ExternalId").as_deref(),
                Some(EXTERNAL_ID),
                "{r:?}"
            );
            param(r, "RoleArn").unwrap()
        })
        .collect();
    let want: BTreeSet<String> = ids
        .iter()
        .map(|id| format!("arn:aws:iam::{id}:role/reader"))
        .collect();
    assert_eq!(assumed, want);
}

/// Identities made in moto with the SDK (a domain and an address) are listed
/// and read by the identities collector through SES v2, with the values moto
/// gives them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identities_in_moto_are_listed_and_read_through_ses_v2() {
    let moto = Moto::start().await;
    let sdk = loader(moto.endpoint(), SECRET_KEY)()
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    for name in ["mail.example", "ops@mail.example"] {
        ses.create_email_identity()
            .email_identity(name)
            .send()
            .await
            .unwrap();
    }
    let exporter = start(
        config(&[
            "--aws.regions",
            "us-east-1",
            "--aws.api",
            "sesv2",
            "--collector.identities",
            // Its two GetEmailIdentity calls two seconds apart.
            "--collector.identities.interval",
            "4s",
        ]),
        moto.endpoint(),
        SECRET_KEY,
    )
    .await;
    let at = "account=\"default\",aws_region=\"us-east-1\"";
    eventually(Duration::from_secs(20), "the identities polled", || async {
        sample(
            &metrics(exporter.addr).await,
            "pinpoint_email_identities_up",
            at,
        ) == Some(1.0)
    })
    .await;
    let m = metrics(exporter.addr).await;
    exporter.stop().await;
    assert_eq!(
        sample(&m, "pinpoint_email_identities", at),
        Some(2.0),
        "{m}"
    );
    for (name, kind) in [
        ("mail.example", "DOMAIN"),
        ("ops@mail.example", "EMAIL_ADDRESS"),
    ] {
        let of = format!("{at},identity=\"{name}\",identity_type=\"{kind}\"");
        let status = |metric, status| sample(&m, metric, &format!("{of},status=\"{status}\""));
        assert_eq!(
            status("pinpoint_email_identity_verification_status", "SUCCESS"),
            Some(1.0),
            "{m}"
        );
        assert_eq!(
            status("pinpoint_email_identity_dkim_status", "NOT_STARTED"),
            Some(1.0),
            "{m}"
        );
        assert_eq!(
            sample(&m, "pinpoint_email_identity_sending_enabled", &of),
            Some(1.0)
        );
    }
    let asked: BTreeSet<String> = moto
        .requests()
        .await
        .into_iter()
        .filter(|(method, path)| method == "GET" && path.starts_with("/v2/email/identities/"))
        .map(|(_, path)| path)
        .collect();
    assert_eq!(
        asked,
        BTreeSet::from([
            "/v2/email/identities/mail.example".to_string(),
            "/v2/email/identities/ops%40mail.example".to_string(),
        ])
    );
}
