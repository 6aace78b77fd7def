use super::*;

#[test]
fn the_account_id_is_the_assumed_roles_account() {
    let mut target = Target {
        name: "prod".into(),
        regions: vec![],
        credentials: Credentials::AssumeRole {
            role_arn: "arn:aws-us-gov:iam::123456789012:role/path/reader".into(),
            external_id: None,
            session_name: DEFAULT_SESSION_NAME.into(),
            source_profile: None,
        },
        api: Api::Auto,
        expect_sandbox: false,
        collectors: Collectors::default(),
        settings: CollectorSettings::default(),
    };
    assert_eq!(target.account_id(), Some("123456789012"));
    for arn in [
        "arn:aws:iam::12345:role/r",
        "arn:aws:iam:::role/r",
        "not-an-arn",
        "arn:aws:iam::1234567890ab:role/r",
    ] {
        if let Credentials::AssumeRole { role_arn, .. } = &mut target.credentials {
            *role_arn = arn.into();
        }
        assert_eq!(target.account_id(), None, "{arn}");
    }
    target.credentials = Credentials::Profile("p".into());
    assert_eq!(target.account_id(), None);
    target.credentials = Credentials::DefaultChain;
    assert_eq!(target.account_id(), None);
}

#[test]
fn shards_split_targets_evenly_and_a_new_shard_takes_only_its_share() {
    let names: Vec<String> = (0..3000).map(|i| format!("{:012}", 100_000 + i)).collect();
    let of = |count: u32| -> Vec<u32> { names.iter().map(|n| Shard::of(n, count)).collect() };
    let (three, four) = (of(3), of(4));
    for shard in 0..4 {
        let n = four.iter().filter(|s| **s == shard).count();
        assert!((600..=900).contains(&n), "shard {shard} of 4 has {n}");
    }
    // Going from 3 to 4 shards moves targets only to the new shard.
    let moved: Vec<(u32, u32)> = three
        .iter()
        .zip(&four)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| (*a, *b))
        .collect();
    assert!(moved.iter().all(|(_, to)| *to == 3), "{moved:?}");
    assert!((600..=900).contains(&moved.len()), "{}", moved.len());
    // Each target is owned by exactly one of the shards.
    for name in &names {
        let owners = (0..4)
            .filter(|i| {
                Shard {
                    index: *i,
                    count: 4,
                }
                .owns(name)
            })
            .count();
        assert_eq!(owners, 1);
    }
    // Stable: the same name always lands on the same shard.
    assert_eq!(Shard::of("prod", 4), Shard::of("prod", 4));
    assert!(Shard::default().owns("anything"));
}

#[test]
fn discovered_targets_are_named_by_the_template() {
    let template = Target {
        name: String::new(),
        regions: vec!["us-east-1".into()],
        credentials: Credentials::DefaultChain,
        api: Api::Auto,
        expect_sandbox: false,
        collectors: Collectors::default(),
        settings: CollectorSettings::default(),
    };
    let mut d = Discovery {
        name: "org".into(),
        template,
        role_name: "exporter".into(),
        external_id: Some("s3cr3t-ext".into()),
        session_name: DEFAULT_SESSION_NAME.into(),
        parents: vec![],
        tags: Default::default(),
        refresh: DEFAULT_DISCOVERY_REFRESH,
        credentials: Credentials::DefaultChain,
        name_template: DEFAULT_NAME_TEMPLATE.into(),
    };
    let member = Member {
        id: "111122223333".into(),
        name: "Payments (prod) ".repeat(8),
        partition: "aws-us-gov".into(),
    };
    let t = d.target(&member);
    assert_eq!(t.name, "111122223333");
    assert_eq!(t.regions, ["us-east-1"]);
    let Credentials::AssumeRole { role_arn, .. } = &t.credentials else {
        panic!("{t:?}")
    };
    assert_eq!(role_arn, "arn:aws-us-gov:iam::111122223333:role/exporter");
    d.name_template = "{account_name}-{account_id}".into();
    let name = d.target_name(&member);
    assert_eq!(name.len(), 64, "{name}");
    assert!(name.starts_with("Payments__prod__Payments"), "{name}");
    assert!(name.ends_with("-111122223333"), "{name}");
    assert!(!format!("{d:?}").contains("s3cr3t"));
}

#[test]
fn debug_never_shows_the_external_id() {
    let creds = Credentials::AssumeRole {
        role_arn: "arn:aws:iam::111122223333:role/r".into(),
        external_id: Some("s3cr3t-external-id".into()),
        session_name: DEFAULT_SESSION_NAME.into(),
        source_profile: None,
    };
    let shown = format!("{creds:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
}
