use super::*;
use clap::Parser;
use std::path::Path;

fn cli(args: &[&str]) -> Cli {
    let mut all = vec!["pinpoint-email-exporter"];
    all.extend_from_slice(args);
    Cli::try_parse_from(all).expect("flags parse")
}

#[test]
fn defaults() {
    let c = Config::from_cli(cli(&[])).unwrap();
    assert_eq!(
        c.web.listen_addresses,
        [format!("[::]:{DEFAULT_PORT}").parse().unwrap()]
    );
    assert_eq!(c.web.telemetry_path, "/metrics");
    assert_eq!(c.poll, PollSettings::default());
    assert_eq!(
        c.targets,
        vec![Target {
            name: "default".into(),
            regions: vec![],
            credentials: Credentials::DefaultChain,
            api: Api::Auto,
            expect_sandbox: false,
            collectors: Collectors::Only(vec!["account"]),
            settings: CollectorSettings::default(),
        }]
    );
}

#[test]
fn regions_flag_is_split_trimmed_and_deduplicated() {
    let c = Config::from_cli(cli(&["--aws.regions", "us-east-1, eu-west-1,us-east-1"])).unwrap();
    assert_eq!(c.targets[0].regions, vec!["us-east-1", "eu-west-1"]);
}

#[test]
fn timeout_defaults_to_the_interval_when_that_is_shorter() {
    let c = Config::from_cli(cli(&["--poll.interval", "4s"])).unwrap();
    assert_eq!(c.poll.timeout, Duration::from_secs(4));
    let c = Config::from_cli(cli(&["--poll.interval", "2m"])).unwrap();
    assert_eq!(c.poll.timeout, Duration::from_secs(10));
}

#[test]
fn demo_polls_the_simulator_regions_every_5s_and_excludes_targets() {
    let c = Config::from_cli(cli(&["--demo"])).unwrap();
    assert!(c.demo);
    assert_eq!(c.poll.interval, DEMO_INTERVAL);
    assert_eq!(c.targets.len(), 1);
    assert_eq!(c.targets[0].name, "demo");
    // Filled in from the demo's scenario by the binary, which owns it.
    assert!(c.targets[0].regions.is_empty());
    let c = Config::from_cli(cli(&["--demo", "--poll.interval", "30s"])).unwrap();
    assert_eq!(c.poll.interval, Duration::from_secs(30));
    let e = Cli::try_parse_from(["x", "--demo", "--aws.regions", "us-east-1"]).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("cannot be used with"), "{e}");
}

#[test]
fn an_empty_web_config_file_means_none_as_in_the_toolkit() {
    let c = Config::from_cli(cli(&["--web.config.file", ""])).unwrap();
    assert_eq!(c.web.config_file, None);
    let c = Config::from_cli(cli(&["--web.config.file=web.yml"])).unwrap();
    assert_eq!(c.web.config_file, Some(PathBuf::from("web.yml")));
}

#[test]
fn defaults_follow_the_interval() {
    // Only --poll.interval set: no other flag becomes invalid.
    let c = Config::from_cli(cli(&["--poll.interval", "1h30m"])).unwrap();
    assert_eq!(c.poll.max_backoff, Duration::from_secs(5400));
    assert_eq!(c.poll.stale_after, Duration::from_secs(10800));
    assert_eq!(c.poll.timeout, Duration::from_secs(10));
    let c = Config::from_cli(cli(&[])).unwrap();
    assert_eq!(c.poll.max_backoff, Duration::from_secs(600));
    assert_eq!(c.poll.stale_after, Duration::from_secs(900));
    // The demo's backoff stays below its shortest phase.
    let c = Config::from_cli(cli(&["--demo"])).unwrap();
    assert_eq!(c.poll.max_backoff, DEMO_MAX_BACKOFF);
    // Far beyond a day is refused, never an overflow.
    assert_eq!(
        flag_error(&["--poll.interval", "300000000000y"]),
        "invalid flag --poll.interval: 300000000000years is above the maximum of 24h; the sending quota counts 24 hours"
    );
    assert_eq!(
        flag_error(&["--poll.max-backoff", "2d"]),
        "invalid flag --poll.max-backoff: 2days is above the maximum of 24h; the sending quota counts 24 hours"
    );
    // What the user sets is still checked.
    assert_eq!(
        flag_error(&["--poll.interval", "1h30m", "--poll.max-backoff", "10m"]),
        "invalid flag --poll.max-backoff: 10m must be at least --poll.interval (1h 30m)"
    );
}

fn flag_error(args: &[&str]) -> String {
    Config::from_cli(cli(args)).unwrap_err().to_string()
}

#[test]
fn bad_flags_are_named() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--poll.interval", "500ms"],
            "invalid flag --poll.interval: 500ms is below the minimum of 1s; AWS throttles accounts that call this often",
        ),
        (
            &["--poll.interval", "30s", "--poll.timeout", "1m"],
            "invalid flag --poll.timeout: 1m must be above 0 and at most --poll.interval (30s)",
        ),
        (
            &["--poll.max-backoff", "30s"],
            "invalid flag --poll.max-backoff: 30s must be at least --poll.interval (1m)",
        ),
        (
            &["--poll.stale-after", "10s"],
            "invalid flag --poll.stale-after: 10s must be at least --poll.interval (1m), or every value would vanish between two polls",
        ),
        (
            &["--aws.regions", "us-east-1,US-WEST-2"],
            "invalid flag --aws.regions: entry 2 \"US-WEST-2\": \"US-WEST-2\" is not an AWS region code such as us-east-1 or eu-west-1",
        ),
        (
            &["--web.telemetry-path", "metrics"],
            "invalid flag --web.telemetry-path: \"metrics\" must start with '/', e.g. /metrics",
        ),
        (
            &["--no-collector.account"],
            "invalid flag --no-collector.account: every collector is off, so nothing would be polled; turn one on (the --collector.* flags of --help)",
        ),
        (
            &[
                "--collector.dedicated-ips",
                "--collector.dedicated-ips.max-ips",
                "0",
            ],
            "invalid flag --collector.dedicated-ips.max-ips: must be at least 1; turn the collector off with --no-collector.dedicated-ips",
        ),
        (
            &["--collector.reputation.interval", "500ms"],
            "invalid flag --collector.reputation.interval: 500ms must be from 1s to 24h",
        ),
        (
            &["--web.telemetry-path", "/healthz"],
            "invalid flag --web.telemetry-path: \"/healthz\" is taken by another endpoint; use e.g. /metrics",
        ),
        (
            &["--web.max-connections", "0"],
            "invalid flag --web.max-connections: must be at least 1",
        ),
    ];
    for (args, want) in cases {
        assert_eq!(&flag_error(args), want, "args {args:?}");
    }
    assert!(
        flag_error(&["--web.listen-address", "nonsense"]).starts_with(
            "invalid flag --web.listen-address: \"nonsense\" is not HOST:PORT or :PORT"
        )
    );
}

#[test]
fn clap_rejects_unknown_flags_and_bad_durations_with_exit_code_2() {
    let e = Cli::try_parse_from(["x", "--poll.intervall", "5s"]).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let e = Cli::try_parse_from(["x", "--poll.interval", "soon"]).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("expected a duration such as 30s"));
    let e = Cli::try_parse_from(["x", "--log.level", "verbose"]).unwrap_err();
    assert_eq!(e.exit_code(), 2);
}

/// Table test over `testdata/config/*.ok.yml` and `*.bad.yml`: each `.bad.yml`
/// starts with a `# error: ` line holding the exact message expected; each
/// `.ok.yml` has a `.ok.txt` beside it with the expected `Debug` of its targets.
#[test]
fn config_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/config");
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("testdata/config exists")
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    let defaults = TargetDefaults {
        regions: vec!["eu-central-1".to_string()],
        api: Api::PinpointEmail,
        ..TargetDefaults::default()
    };
    for path in entries {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let shown = Path::new("cfg.yml");
        if name.ends_with(".bad.yml") {
            let want = text
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("# error: "))
                .unwrap_or_else(|| panic!("{name}: first line must be `# error: ...`"));
            let got = parse_targets(shown, &text, &defaults)
                .expect_err(&name)
                .to_string();
            assert_eq!(got, want, "{name}");
            seen += 1;
        } else if name.ends_with(".ok.yml") {
            let got =
                parse_targets(shown, &text, &defaults).unwrap_or_else(|e| panic!("{name}: {e}"));
            let want_path = path.with_extension("txt");
            let got = format!("{got:#?}\n");
            if std::env::var_os("UPDATE_GOLDEN").is_some() {
                std::fs::write(&want_path, &got).unwrap();
            }
            let want = std::fs::read_to_string(&want_path).unwrap_or_else(|_| {
                panic!("{}: missing; run with UPDATE_GOLDEN=1", want_path.display())
            });
            assert_eq!(got, want, "{name}");
            seen += 1;
        }
    }
    assert!(
        seen >= 10,
        "only {seen} config cases found in {}",
        dir.display()
    );
}

#[test]
fn shard_index_is_a_number_or_a_pod_name() {
    let index = |i: &str| {
        Config::from_cli(cli(&["--shard.count", "4", &format!("--shard.index={i}")]))
            .map(|c| c.shard.index)
            .map_err(|e| e.to_string())
    };
    assert_eq!(index("3"), Ok(3));
    assert_eq!(index("pinpoint-email-exporter-2"), Ok(2));
    for bad in ["-1", "exporter", "exporter-", "exporter-4"] {
        assert!(
            index(bad).is_err_and(|e| e.starts_with("invalid flag --shard.index")),
            "{bad}"
        );
    }
}

#[test]
fn a_large_fleet_spreads_targets_and_a_targets_regions_start_together() {
    let config = Config::from_cli(cli(&[])).unwrap();
    let big = config.schedules().for_fleet(|_| 10_000);
    let account = |s: &Schedules| s.of("account").unwrap();
    assert_eq!(account(&big).spread, Duration::from_secs(60));
    let t = big.for_target(0.5);
    assert_eq!(account(&t).offset, Duration::from_millis(29_500));
    assert_eq!(account(&t).spread, Duration::from_secs(1));
    let small = config.schedules().for_fleet(|_| 12).for_target(0.5);
    assert_eq!(account(&small).offset, Duration::ZERO);
    assert_eq!(account(&small).spread, Duration::from_secs(1));
    assert_eq!(config.schedules().of("no-such-collector"), None);
}

#[test]
fn unreadable_file_is_named() {
    let err = Config::from_cli(cli(&["--config.file", "/nonexistent/targets.yml"]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("cannot read config file /nonexistent/targets.yml: "),
        "{err}"
    );
}

/// A key of `collectors:` without a value leaves the collector to the
/// flags, as a key left out does; a key given twice is refused.
#[test]
fn collectors_keys_without_a_value_follow_the_flags_and_twice_is_refused() {
    let defaults = TargetDefaults::default();
    let file = Path::new("cfg.yml");
    let parsed = parse_targets(
        file,
        "targets:\n  - name: t\n    regions: [us-east-1]\n    collectors: { account: ~, reputation: true }\n",
        &defaults,
    )
    .unwrap();
    assert_eq!(
        parsed.targets[0].collectors,
        Collectors::Only(vec!["account", "reputation"])
    );
    let err = parse_targets(
        file,
        "targets:\n  - name: t\n    regions: [us-east-1]\n    collectors: { reputation: true, reputation: false }\n",
        &defaults,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("reputation"), "{err}");
}
