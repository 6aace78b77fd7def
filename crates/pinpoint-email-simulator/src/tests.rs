use super::*;

#[test]
fn account_json_has_the_api_field_names() {
    let v: serde_json::Value = serde_json::from_str(&AccountState::healthy().to_json()).unwrap();
    assert_eq!(v["SendQuota"]["Max24HourSend"], 50000.0);
    assert_eq!(v["EnforcementStatus"], "HEALTHY");
    assert_eq!(v["ProductionAccessEnabled"], true);
    assert!(v.get("VdmAttributes").is_none());
    let v2: serde_json::Value =
        serde_json::from_str(&AccountState::healthy().to_json_v2()).unwrap();
    assert_eq!(v2["SendQuota"]["Max24HourSend"], 50000.0);
    assert_eq!(v2["VdmAttributes"]["VdmEnabled"], "DISABLED");
    assert_eq!(v2["Details"]["ReviewDetails"]["Status"], "GRANTED");
    assert_eq!(
        v2["SuppressionAttributes"]["SuppressedReasons"][1],
        "COMPLAINT"
    );
}

#[test]
fn debug_never_shows_a_secret_key_a_session_token_or_an_external_id() {
    let mut state = State::default();
    state.credentials.insert(
        "AKIDEXAMPLE".into(),
        Secret {
            secret_access_key: "s3cr3t-access-key".into(),
            session_token: Some("s3cr3t-session-token".into()),
        },
    );
    state.roles.push(Role {
        arn: "arn:aws:iam::111111111111:role/exporter".into(),
        external_id: Some("s3cr3t-external-id".into()),
    });
    state.sessions.push(Session {
        role_arn: "arn:aws:iam::111111111111:role/exporter".into(),
        session_name: "exporter".into(),
        external_id: Some("s3cr3t-external-id".into()),
        access_key: "ASIAEXAMPLE".into(),
    });
    let scenario = scenario::ScenarioCredentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "s3cr3t-scenario-key".into(),
    };
    let shown = format!("{state:?} {scenario:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(shown.contains("AKIDEXAMPLE") && shown.contains("<redacted>"));
}
