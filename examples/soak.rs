//! Soak: the exporter polls a simulator at a short interval for a long time, with
//! faults mixed in (throttling, 5xx, dropped connections, malformed bodies, hangs
//! past the timeout) and scrapes running, and reports its resident memory, open
//! file descriptors, sockets and tokio tasks over time. Exits 1 when memory,
//! sockets or tasks grow between the first and the last quarter of the run.
//!
//! ```text
//! cargo run --release --example soak -- [SECONDS] [REGIONS]   # default 300 s, 20
//! ```
//!
//! Exporter and simulator share this process (the simulator keeps a bounded
//! log), so the figures are an upper bound for the exporter alone.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pinpoint_email_exporter::static_loader;
use pinpoint_email_exporter::{Cli, Config};
use pinpoint_email_simulator::{Scenario, Simulator};

const ACCESS_KEY: &str = "AKIDSOAK000000000001";
const SECRET_KEY: &str = "soak-secret";

/// Every region repeats this: good answers, then each kind of fault.
const PHASES: &str = "
    repeat: true
    phases:
      - duration: 2s
      - duration: 1s
        answer: throttle
      - duration: 1s
        error: { status: 500, code: InternalFailure }
      - duration: 500ms
        answer: drop
      - duration: 500ms
        body: '{\"SendQuota\": {\"Max24HourSend\": '
      - duration: 1s
        delay: 300ms
      - duration: 1s
        account: { enforcement_status: PROBATION }
      - duration: 1s
        account: { enforcement_status: HEALTHY }
";

struct Sample {
    at: Duration,
    polls: f64,
    rss_kib: u64,
    fds: usize,
    sockets: usize,
    tasks: usize,
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Open file descriptors, and how many of them are sockets.
fn fds() -> (usize, usize) {
    let mut all = 0;
    let mut sockets = 0;
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        for entry in dir.flatten() {
            all += 1;
            if std::fs::read_link(entry.path())
                .map(|t| t.to_string_lossy().starts_with("socket:"))
                .unwrap_or(false)
            {
                sockets += 1;
            }
        }
    }
    (all, sockets)
}

/// One scrape over a fresh connection: the body.
async fn scrape(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return String::new();
    };
    let _ = stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
        .await;
    let mut body = String::new();
    let _ = stream.read_to_string(&mut body).await;
    body
}

/// Polls made so far, from the exporter's own histogram counts.
fn polls(metrics: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("pinpoint_email_poll_duration_seconds_count{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(300);
    let regions: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    let region_names: Vec<String> = (1..=regions).map(|i| format!("xx-soak-{i}")).collect();

    let mut yaml = format!(
        "credentials:\n  access_key_id: {ACCESS_KEY}\n  secret_access_key: {SECRET_KEY}\nregions:\n"
    );
    for r in &region_names {
        let _ = write!(yaml, "  {r}:{PHASES}");
    }
    let scenario = Scenario::parse("soak", &yaml).expect("soak scenario");
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Simulator::start(sim_listener, ACCESS_KEY, SECRET_KEY);
    sim.load_scenario(&scenario);

    // A 50 ms interval is below what the flags allow (1 s): set it directly.
    let mut config = Config::from_cli(
        <Cli as clap::Parser>::try_parse_from(["soak", "--aws.regions", &region_names.join(",")])
            .unwrap(),
    )
    .unwrap();
    config.poll.interval = Duration::from_millis(50);
    config.poll.timeout = Duration::from_millis(100);
    config.poll.max_backoff = Duration::from_millis(400);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = static_loader(sim.endpoint_url(), ACCESS_KEY.into(), SECRET_KEY.into());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let exporter = tokio::spawn(async move {
        pinpoint_email_exporter::run(
            &config,
            pinpoint_email_exporter::WebConfig::new(None).expect("no web config"),
            &base,
            vec![listener],
            async {
                let _ = stop_rx.await;
            },
            Arc::new(tokio::sync::Notify::new()),
        )
        .await
        .expect("exporter runs");
    });

    let started = Instant::now();
    let duration = Duration::from_secs(seconds);
    let every = Duration::from_secs((seconds / 20).max(1));
    let mut samples: Vec<Sample> = Vec::new();
    let mut next_sample = started + every;
    println!("soak: {regions} regions, poll interval 50 ms, faults cycling every 8 s, {seconds} s");
    println!("| time | polls | RSS | fds | sockets | tasks |\n|---|---|---|---|---|---|");
    while started.elapsed() < duration {
        // Scrapes, as Prometheus would (faster).
        let body = scrape(addr).await;
        if Instant::now() >= next_sample {
            next_sample += every;
            let (fds, sockets) = fds();
            let sample = Sample {
                at: started.elapsed(),
                polls: polls(&body),
                rss_kib: rss_kib(),
                fds,
                sockets,
                tasks: tokio::runtime::Handle::current()
                    .metrics()
                    .num_alive_tasks(),
            };
            println!(
                "| {:.0} s | {:.0} | {:.1} MiB | {} | {} | {} |",
                sample.at.as_secs_f64(),
                sample.polls,
                sample.rss_kib as f64 / 1024.0,
                sample.fds,
                sample.sockets,
                sample.tasks
            );
            samples.push(sample);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop_tx.send(());
    let _ = exporter.await;

    if samples.len() < 4 {
        eprintln!("soak: too short to judge ({} samples)", samples.len());
        std::process::exit(1);
    }
    let quarter = samples.len() / 4;
    let max_of = |s: &[Sample], f: fn(&Sample) -> u64| s.iter().map(f).max().unwrap_or(0);
    let early = &samples[quarter..2 * quarter.max(1)];
    let late = &samples[samples.len() - quarter..];
    let rss = (max_of(early, |s| s.rss_kib), max_of(late, |s| s.rss_kib));
    // Sockets and tasks go up and down with the connections in flight (hangs,
    // drops): compare medians, which a leak raises and a burst does not.
    let median_of = |s: &[Sample], f: fn(&Sample) -> u64| {
        let mut v: Vec<u64> = s.iter().map(f).collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    let sockets = (
        median_of(early, |s| s.sockets as u64),
        median_of(late, |s| s.sockets as u64),
    );
    let tasks = (
        median_of(early, |s| s.tasks as u64),
        median_of(late, |s| s.tasks as u64),
    );
    let last = samples.last().unwrap();
    println!(
        "soak: {:.0} polls ({:.0}/s; simulator saw {}); peak RSS second quarter {:.1} MiB, last quarter {:.1} MiB; median sockets {} -> {}; median tasks {} -> {}",
        last.polls,
        last.polls / last.at.as_secs_f64(),
        sim.calls_total(),
        rss.0 as f64 / 1024.0,
        rss.1 as f64 / 1024.0,
        sockets.0,
        sockets.1,
        tasks.0,
        tasks.1
    );
    // Growth allowances: allocator noise for memory; a few in-flight
    // connections for sockets and tasks.
    let grew = rss.1 > rss.0 + 2 * 1024 || sockets.1 > sockets.0 + 8 || tasks.1 > tasks.0 + 8;
    if grew {
        eprintln!("soak: resources grew between the second and the last quarter");
        std::process::exit(1);
    }
    println!("soak: flat");
}
