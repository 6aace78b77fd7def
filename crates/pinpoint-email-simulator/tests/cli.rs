//! The `pinpoint-email-simulator` binary: what it prints, what it serves, how it
//! refuses a bad scenario.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_pinpoint-email-simulator");

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name)
}

/// Kills the simulator when the test ends, whatever happens.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn prints_the_command_that_points_the_exporter_at_it_and_serves_signed_requests_only() {
    let addr = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let mut sim = Running(
        Command::new(BIN)
            .args([
                "--scenario",
                scenario("alert-rehearsal.yml").to_str().unwrap(),
            ])
            .args(["--web.listen-address", &addr.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut banner = String::new();
    let mut out = BufReader::new(sim.0.stdout.take().unwrap());
    for _ in 0..3 {
        out.read_line(&mut banner).unwrap();
    }
    let command = banner.lines().last().unwrap().trim();
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(
        words[..3],
        [
            format!("AWS_ENDPOINT_URL=http://{addr}").as_str(),
            "AWS_ACCESS_KEY_ID=AKIDPINPOINTSIMULATOR",
            "AWS_SECRET_ACCESS_KEY=pinpoint-email-simulator-secret"
        ],
        "{banner}"
    );
    // The exporter built beside this binary when there is one, else cargo.
    let beside = Path::new(BIN).with_file_name("pinpoint-email-exporter");
    let flags_at = if beside.is_file() {
        assert_eq!(
            std::fs::canonicalize(words[3]).unwrap(),
            std::fs::canonicalize(&beside).unwrap(),
            "{banner}"
        );
        4
    } else {
        assert_eq!(words[3..5], ["cargo", "run"], "{banner}");
        assert_eq!(words[5], "--", "{banner}");
        6
    };
    assert_eq!(
        words[flags_at..],
        [
            "--aws.regions",
            "ap-southeast-2,eu-west-1,us-east-1",
            "--poll.interval",
            "1s",
            "--poll.max-backoff",
            "2s",
            "--collector.reputation",
            "--collector.reputation.interval",
            "1s",
            "--collector.dedicated-ips",
            "--collector.dedicated-ips.interval",
            "1s",
            "--collector.identities",
            "--collector.identities.interval",
            "1s"
        ],
        "{banner}"
    );

    // An unsigned request gets AWS's answer to one.
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /v2/email/account HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
}

#[test]
fn a_bad_scenario_is_refused_with_exit_code_2_naming_the_place() {
    let dir = std::env::temp_dir().join(format!("pes-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad-scenario.yml");
    std::fs::write(
        &bad,
        "regions:\n  us-east-1:\n    phases:\n      - duration: 10s\n        account: { enforcement_status: PROBATION, sent: 5 }\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["--scenario", bad.to_str().unwrap()])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("regions.us-east-1.phases[0].account: unknown field `sent`"),
        "{stderr}"
    );
}
