//! Hostile and heavy clients against the built binary, on loopback only, each
//! bounded in time: thousands of connections that never finish their headers,
//! oversized headers, garbage, odd methods and paths, many concurrent scrapers.
//! Throughout, a well-behaved scrape is answered, the process stays up, and its
//! resident memory stays bounded.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::*;
use pinpoint_email_exporter::MAX_HEADER_FIELDS;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Resident memory of process `pid`, in KiB.
fn rss_kib(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The exporter binary against the simulator, at most `max_connections`
/// connections at once.
async fn exporter(
    name: &str,
    max_connections: usize,
) -> (Process, SocketAddr, pinpoint_email_simulator::Simulator) {
    let (process, addr, sim) = exporter_with(name, max_connections, &[]).await;
    wait_ready(addr).await;
    (process, addr, sim)
}

/// [`exporter`] with more flags; its standard error goes to `stderr.log` in the
/// test's directory. Returns before it is ready.
async fn exporter_with(
    name: &str,
    max_connections: usize,
    flags: &[&str],
) -> (Process, SocketAddr, pinpoint_email_simulator::Simulator) {
    let sim = simulator().await;
    let home = temp_dir(name);
    let (mut process, addr) = launch(
        simulated(&home, &sim)
            .stderr(std::fs::File::create(home.join("stderr.log")).unwrap())
            .args([
                "--aws.regions",
                "us-east-1,eu-west-1",
                "--web.max-connections",
                &max_connections.to_string(),
            ])
            .args(flags),
    );
    process.log = Some(home.join("stderr.log"));
    (process, addr, sim)
}

/// A well-behaved scrape: the time it took, or a panic if it failed.
async fn scrape(addr: SocketAddr) -> Duration {
    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(10), get(addr, "/metrics"))
        .await
        .expect("a well-behaved scrape got no answer within 10 s");
    assert_eq!(answer.status, 200);
    assert!(answer.body.contains("pinpoint_email_up{"));
    started.elapsed()
}

/// Writes raw bytes and returns the status line of the answer, or what went
/// wrong.
async fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may close before reading everything; that is an answer too.
    let _ = stream.write_all(bytes).await;
    let mut buf = vec![0u8; 4096];
    match tokio::time::timeout(Duration::from_secs(15), stream.read(&mut buf)).await {
        Err(_) => "no answer".into(),
        Ok(Err(e)) => format!("error: {e}"),
        Ok(Ok(0)) => "closed".into(),
        Ok(Ok(n)) => String::from_utf8_lossy(&buf[..n])
            .lines()
            .next()
            .unwrap_or("")
            .to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_slowloris_connections_do_not_starve_a_scrape() {
    let (process, addr, _sim) = exporter("slowloris", 64).await;
    scrape(addr).await;
    let rss_before = rss_kib(&process.pid());

    // 2,000 clients that start a request and never finish its headers, and 500
    // that connect and send nothing: far more than the 64 connection slots.
    let mut held = Vec::new();
    for i in 0..2_500 {
        let connect = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr));
        match connect.await {
            Ok(Ok(mut s)) => {
                if i % 5 != 0 {
                    let _ = s
                        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                        .await;
                }
                held.push(s);
            }
            // The backlog is full: the kernel stops answering SYNs. Enough.
            _ => break,
        }
    }
    assert!(
        held.len() >= 1_000,
        "only {} connections opened",
        held.len()
    );

    // While they are all held open, scrapes are answered.
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        slowest = slowest.max(scrape(addr).await);
    }
    let rss_during = rss_kib(&process.pid());
    println!(
        "{} hostile connections held: slowest of 10 scrapes {slowest:?}; RSS {} -> {} KiB",
        held.len(),
        rss_before,
        rss_during
    );
    // The slots bound memory: 64 connections, not 2,500.
    assert!(
        rss_during < rss_before + 32 * 1024,
        "RSS grew from {rss_before} to {rss_during} KiB"
    );
    drop(held);
    scrape(addr).await;
    let (exit, _, _) = process.terminate();
    assert_eq!(exit.code(), Some(0), "the exporter did not survive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_garbage_odd_methods_and_absurd_paths_get_clean_answers() {
    let (process, addr, _sim) = exporter("odd-requests", 256).await;
    let huge_header = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let many_headers = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..500)
            .map(|i| format!("X-H{i}: v\r\n"))
            .collect::<String>()
    );
    let long_path = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a/".repeat(20_000));
    let header_of = |kib: usize| {
        // Each field counts its name, ": ", its value and CRLF: "Host: x" 9
        // bytes, "X-Big: " and CRLF 9 more.
        let value = "a".repeat(kib * 1024 - 9 - 9);
        format!("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {value}\r\n\r\n").into_bytes()
    };
    // A request of `n` header fields, Host among them.
    let fields = |n: usize| {
        let extra: String = (1..n).map(|i| format!("X-H{i}: v\r\n")).collect();
        format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{extra}\r\n").into_bytes()
    };
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        ("64 KiB of header fields", header_of(64), &["HTTP/1.1 200"]),
        (
            "a byte past 64 KiB of header fields",
            {
                let mut r = header_of(64);
                r.insert(40, b'a');
                r
            },
            &["HTTP/1.1 431"],
        ),
        (
            "100 KiB of header fields",
            header_of(100),
            &["HTTP/1.1 431"],
        ),
        (
            "header of 200 KiB",
            huge_header.into_bytes(),
            &["HTTP/1.1 431", "closed"],
        ),
        (
            "500 headers",
            many_headers.into_bytes(),
            &["HTTP/1.1 431", "closed"],
        ),
        (
            "path of 40 KB",
            long_path.into_bytes(),
            &["HTTP/1.1 404", "HTTP/1.1 414", "HTTP/1.1 431", "closed"],
        ),
        (
            "POST",
            b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc".to_vec(),
            &["HTTP/1.1 405"],
        ),
        (
            "DELETE",
            b"DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            &["HTTP/1.1 405"],
        ),
        (
            "TRACE",
            b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            &["HTTP/1.1 405"],
        ),
        (
            "made-up method",
            b"BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            &["HTTP/1.1 405"],
        ),
        (
            "OPTIONS *",
            b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            &["HTTP/1.1 404"],
        ),
        (
            "CONNECT",
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n".to_vec(),
            &["HTTP/1.1 404"],
        ),
        (
            "dot segments",
            b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            &["HTTP/1.1 404"],
        ),
        (
            "encoded NUL",
            b"GET /metrics%00.txt HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            &["HTTP/1.1 404"],
        ),
        (
            "non-UTF-8 path",
            b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            &["HTTP/1.1 400", "closed"],
        ),
        (
            "garbage",
            b"\x00\x01\x02 hello \r\n\r\n".to_vec(),
            &["HTTP/1.1 400", "closed"],
        ),
        (
            "HTTP/2 preface",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
            &["HTTP/1.1 400", "HTTP/1.1 505", "closed"],
        ),
        (
            "TLS hello on plain HTTP",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(),
            &["HTTP/1.1 400", "closed"],
        ),
        (
            "HTTP/0.9",
            b"GET /metrics\r\n\r\n".to_vec(),
            &["HTTP/1.1 400", "HTTP/1.1 505", "closed"],
        ),
        (
            "absolute URI",
            b"GET http://elsewhere/metrics HTTP/1.1\r\nHost: elsewhere\r\n\r\n".to_vec(),
            &["HTTP/1.1 200"],
        ),
        (
            "HTTP/1.1 without Host (Go: 400)",
            b"GET /healthz HTTP/1.1\r\n\r\n".to_vec(),
            &["HTTP/1.1 400"],
        ),
        (
            "two Host headers (Go: 400)",
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n".to_vec(),
            &["HTTP/1.1 400"],
        ),
        (
            "a Host with a slash (Go: 400)",
            b"GET /healthz HTTP/1.1\r\nHost: x/y\r\n\r\n".to_vec(),
            &["HTTP/1.1 400"],
        ),
        (
            "an empty Host (Go: allowed)",
            b"GET /healthz HTTP/1.1\r\nHost:\r\n\r\n".to_vec(),
            &["HTTP/1.1 200"],
        ),
        (
            "an IPv6 Host with a port",
            b"GET /healthz HTTP/1.1\r\nHost: [::1]:9185\r\n\r\n".to_vec(),
            &["HTTP/1.1 200"],
        ),
        (
            "HTTP/1.0 without Host",
            b"GET /healthz HTTP/1.0\r\n\r\n".to_vec(),
            &["HTTP/1.0 200", "HTTP/1.1 200"],
        ),
        (
            "bare LF line endings (RFC 9112 allows them; Go accepts them)",
            b"GET /healthz HTTP/1.1\nHost: x\n\n".to_vec(),
            &["HTTP/1.1 200"],
        ),
        (
            "as many header fields as allowed",
            fields(MAX_HEADER_FIELDS),
            &["HTTP/1.1 200"],
        ),
        (
            "a header field more than allowed",
            fields(MAX_HEADER_FIELDS + 1),
            &["HTTP/1.1 431"],
        ),
        (
            "bad Content-Length",
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(),
            &["HTTP/1.1 400", "closed"],
        ),
    ];
    for (what, bytes, accepted) in cases {
        let answer = raw(addr, &bytes).await;
        assert!(
            accepted.iter().any(|a| answer.starts_with(a)),
            "{what}: answered {answer:?}, expected one of {accepted:?}"
        );
        // The next well-behaved scrape still works.
        scrape(addr).await;
    }

    // 100 requests pipelined on one connection are all answered, in order.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let pipelined = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".repeat(100);
    stream.write_all(pipelined.as_bytes()).await.unwrap();
    let mut all = String::new();
    let mut buf = vec![0u8; 64 * 1024];
    while all.matches("HTTP/1.1 200 OK").count() < 100 {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("pipelined answers within 10 s")
            .unwrap();
        if n == 0 {
            break;
        }
        all.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert_eq!(all.matches("HTTP/1.1 200 OK").count(), 100);

    let (exit, _, stderr) = process.terminate();
    assert_eq!(exit.code(), Some(0));
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_keep_alive_scrapers_are_all_served() {
    let (process, addr, sim) = exporter("heavy", 256).await;
    let calls_before = sim.calls().len();
    let rss_before = rss_kib(&process.pid());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        tasks.spawn(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(conn);
            let mut ok = 0;
            for _ in 0..25 {
                let req = hyper::Request::get("/metrics")
                    .header("host", "x")
                    .body(http_body_util::Empty::<bytes::Bytes>::new())
                    .unwrap();
                let resp = sender.send_request(req).await.unwrap();
                if resp.status() == 200 {
                    use http_body_util::BodyExt;
                    let body = resp.into_body().collect().await.unwrap().to_bytes();
                    if body.starts_with(b"# HELP") {
                        ok += 1;
                    }
                }
            }
            ok
        });
    }
    let served: usize = tokio::time::timeout(Duration::from_secs(60), async {
        let mut n = 0;
        while let Some(r) = tasks.join_next().await {
            n += r.unwrap();
        }
        n
    })
    .await
    .expect("5,000 scrapes within 60 s");
    assert_eq!(served, 5_000);
    let rss_after = rss_kib(&process.pid());
    println!("200 keep-alive clients x 25 scrapes: RSS {rss_before} -> {rss_after} KiB");
    assert!(
        rss_after < rss_before + 32 * 1024,
        "{rss_before} -> {rss_after} KiB"
    );
    // Scrapes never call AWS (two pollers at 60 s make at most a few calls).
    assert!(sim.calls().len() - calls_before <= 4);
    let (exit, _, _) = process.terminate();
    assert_eq!(exit.code(), Some(0));
}

/// How long a password check waits for its turn at most (`QUEUE_WAIT`).
const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// What the attacker tries, to look for in the log.
const WRONG_PASSWORD: &str = "flood-guess-5f3a9c";

/// One attacker connection from `source`: wrong passwords on a keep-alive
/// connection as fast as answers come, reconnecting when closed, until `stop`.
/// Returns the statuses seen.
async fn wrong_passwords(
    source: std::net::IpAddr,
    addr: SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<u16> {
    use std::sync::atomic::Ordering;
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\r\n",
        basic_auth("prometheus", WRONG_PASSWORD)
    );
    let mut statuses = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(source, 0)).unwrap();
        let Ok(Ok(mut stream)) =
            tokio::time::timeout(Duration::from_secs(2), socket.connect(addr)).await
        else {
            continue;
        };
        let mut buf = Vec::new();
        'connection: while !stop.load(Ordering::Relaxed) {
            if stream.write_all(request.as_bytes()).await.is_err() {
                break;
            }
            // Read one answer: headers, then Content-Length bytes of body.
            loop {
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + length {
                        statuses.push(head[9..12].parse().unwrap_or(0));
                        buf.drain(..end + 4 + length);
                        break;
                    }
                }
                let mut chunk = [0u8; 4096];
                let read = tokio::select! {
                    r = stream.read(&mut chunk) => r,
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {
                        if stop.load(Ordering::Relaxed) { break 'connection; }
                        continue;
                    }
                };
                match read {
                    Ok(0) | Err(_) => break 'connection,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
        }
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_flood_never_locks_prometheus_out() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    // Cost 10, as `htpasswd -nBC 10` writes; the time of one check on this
    // machine, measured now, is the yardstick for the uncached scrape below.
    let hash = bcrypt::hash("right", 10).unwrap();
    let second = bcrypt::hash("also right", 10).unwrap();
    let started = Instant::now();
    for _ in 0..3 {
        assert!(bcrypt::verify("right", &hash).unwrap());
    }
    let bcrypt_time = started.elapsed() / 3;
    let dir = temp_dir("flood");
    let web = dir.join("web.yml");
    std::fs::write(
        &web,
        format!("basic_auth_users:\n  prometheus: '{hash}'\n  second: '{second}'\n"),
    )
    .unwrap();
    let (process, addr, _sim) = exporter_with(
        "flood-exporter",
        256,
        &["--web.config.file", web.to_str().unwrap()],
    )
    .await;
    let right = basic_auth("prometheus", "right");
    let scrape_as = |authorization: String| async move {
        let started = Instant::now();
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            request_with(
                addr,
                "GET",
                "/metrics",
                &[("authorization", &authorization)],
            ),
        )
        .await
        .expect("a scrape with the right password got no answer within Prometheus's 10 s");
        (answer, started.elapsed())
    };
    eventually(Duration::from_secs(15), "the first scrape", || async {
        TcpStream::connect(addr).await.is_ok() && scrape_as(right.clone()).await.0.status == 200
    })
    .await;

    // 300 keep-alive connections from 127.0.0.2 sending wrong passwords: more
    // than the 256 connection slots.
    let stop = Arc::new(AtomicBool::new(false));
    let attacker: std::net::IpAddr = "127.0.0.2".parse().unwrap();
    let flood_started = Instant::now();
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..300 {
        flood.spawn(wrong_passwords(attacker, addr, Arc::clone(&stop)));
    }
    // The flood is on once the exporter has refused a few hundred of its
    // requests.
    eventually(Duration::from_secs(30), "the flood refused", || async {
        let m = scrape_as(right.clone()).await.0.body;
        let refused: f64 = samples(&m, "pinpoint_email_exporter_web_auth_failures_total")
            .iter()
            .map(|(_, v)| v)
            .sum();
        refused >= 300.0
    })
    .await;

    // Cached: Prometheus's scrapes (a new connection each) within a second.
    let mut slowest_cached = Duration::ZERO;
    for _ in 0..5 {
        let (answer, took) = scrape_as(right.clone()).await;
        assert_eq!(answer.status, 200);
        slowest_cached = slowest_cached.max(took);
    }
    // Uncached: a user never seen before waits at most for the checks running
    // (two, one client's share) and its own, on two cores shared with them, and
    // never more than the queue's time limit for its turn.
    let (answer, uncached) = scrape_as(basic_auth("second", "also right")).await;
    assert_eq!(answer.status, 200);

    stop.store(true, Ordering::Relaxed);
    let mut statuses = Vec::new();
    while let Some(r) = tokio::time::timeout(Duration::from_secs(15), flood.join_next())
        .await
        .expect("the attacker connections stop")
    {
        statuses.extend(r.unwrap());
    }
    let count = |code| statuses.iter().filter(|s| **s == code).count();
    println!(
        "one bcrypt check {bcrypt_time:?}; under 300 wrong-password connections: slowest of 5 \
         cached scrapes {slowest_cached:?}, uncached scrape {uncached:?}; attacker answers: \
         {} x 401, {} x 429, {} other",
        count(401),
        count(429),
        statuses.len() - count(401) - count(429)
    );
    assert!(
        slowest_cached < Duration::from_secs(1),
        "a cached scrape took {slowest_cached:?}"
    );
    let uncached_bound = QUEUE_WAIT + bcrypt_time * 4;
    assert!(
        uncached < uncached_bound,
        "an uncached scrape took {uncached:?}, more than {uncached_bound:?}"
    );
    // Only refusals: 429 while its checks fill its places, 401 once checked or
    // locked out by its penalty.
    assert!(count(429) > 0);
    assert_eq!(statuses.len(), count(401) + count(429), "only 401 and 429");

    // The failures are counted by reason and logged, rate-limited, with the peer.
    let (answer, _) = scrape_as(right.clone()).await;
    let denied = sample(
        &answer.body,
        "pinpoint_email_exporter_web_auth_failures_total",
        "reason=\"denied\"",
    )
    .unwrap();
    let throttled = sample(
        &answer.body,
        "pinpoint_email_exporter_web_auth_failures_total",
        "reason=\"throttled\"",
    )
    .unwrap();
    let locked_out = sample(
        &answer.body,
        "pinpoint_email_exporter_web_auth_failures_total",
        "reason=\"locked_out\"",
    )
    .unwrap();
    // At least what the attacker read: it may leave before reading an answer.
    assert!(
        (denied + locked_out) as usize >= count(401),
        "{denied} + {locked_out}"
    );
    assert!(throttled as usize >= count(429), "{throttled}");
    let (exit, _, _) = process.terminate();
    assert_eq!(exit.code(), Some(0));
    // Checks still running when the attacker left may log after it.
    let flood_lasted = flood_started.elapsed();
    let log = std::fs::read_to_string(
        Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("{}-flood-exporter", env!("CARGO_CRATE_NAME")))
            .join("stderr.log"),
    )
    .unwrap();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("level=warn") && l.contains("basic authentication failed"))
        .collect();
    assert!(!warnings.is_empty(), "{log}");
    assert!(
        warnings.iter().all(|w| w.contains("127.0.0.2")),
        "{warnings:?}"
    );
    // One at the first failure, then at most one every 10 s.
    let most = flood_lasted.as_secs() / 10 + 1;
    assert!(
        warnings.len() as u64 <= most,
        "not rate-limited: {} warnings in {flood_lasted:?}: {warnings:?}",
        warnings.len()
    );
    assert!(
        !log.contains(WRONG_PASSWORD) && !log.contains(&basic_auth("prometheus", WRONG_PASSWORD)),
        "the log shows what a client sent"
    );
}

/// Drives `flood` against the binary serving `web_config` at debug level, then
/// stops it: its log, and how long it ran.
async fn debug_log_of(
    name: &str,
    web_config: &str,
    flood: impl AsyncFnOnce(SocketAddr),
) -> (String, Duration) {
    let dir = temp_dir(&format!("{name}-web"));
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.join("server.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
    let web = dir.join("web.yml");
    std::fs::write(&web, web_config).unwrap();
    let started = Instant::now();
    let (process, addr, _sim) = exporter_with(
        name,
        256,
        &[
            "--log.level",
            "debug",
            "--web.config.file",
            web.to_str().unwrap(),
        ],
    )
    .await;
    eventually(Duration::from_secs(15), "listening", || async {
        TcpStream::connect(addr).await.is_ok()
    })
    .await;
    flood(addr).await;
    let log_file = process.log.clone().unwrap();
    let (exit, _, _) = process.terminate();
    assert_eq!(exit.code(), Some(0));
    let log = std::fs::read_to_string(log_file).unwrap();
    (log, started.elapsed())
}

/// Refused requests and connections from one client, hundreds of them, make
/// at most one debug line per 10 s (with the number left out), plus the
/// warnings about failed passwords at most every 10 s; and no line holds a
/// path of the machine the exporter was built on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_logged_once_per_client_per_interval_without_build_paths() {
    let hash = bcrypt::hash("right", 4).unwrap();
    let (auth_log, auth_took) = debug_log_of(
        "log-auth",
        &format!("basic_auth_users:\n  prometheus: '{hash}'\n"),
        async |addr| {
            let wrong = basic_auth("prometheus", "wrong");
            // Each wrong password delays its answer (0.1, 0.2, then 0.4 s).
            for _ in 0..3 {
                let answer =
                    request_with(addr, "GET", "/metrics", &[("authorization", &wrong)]).await;
                assert_eq!(answer.status, 401);
            }
            for _ in 0..100 {
                assert_eq!(request(addr, "GET", "/metrics").await.status, 401);
                assert_eq!(
                    raw(addr, b"GET / HTTP/1.1\r\n\r\n").await,
                    "HTTP/1.1 400 Bad Request"
                );
            }
        },
    )
    .await;
    let (tls_log, tls_took) = debug_log_of(
        "log-tls",
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n",
        async |addr| {
            for _ in 0..100 {
                raw(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
                raw(addr, b"\x16\x03\x01\x00\x05hello").await;
            }
        },
    )
    .await;
    for (log, took, refusal_lines) in [
        (&auth_log, auth_took, "request refused"),
        (&tls_log, tls_took, "connection or request refused"),
    ] {
        let intervals = 1 + (took.as_secs() / 10) as usize;
        let lines = |what: &str| log.lines().filter(|l| l.contains(what)).count();
        let refusals = lines("connection or request refused") + lines("request refused by");
        assert!(lines(refusal_lines) >= 1, "{log}");
        assert!(
            refusals <= intervals,
            "{refusals} lines about refusals in {took:?}:\n{log}"
        );
        assert!(lines("basic authentication failed") <= intervals, "{log}");
        for build_path in ["log.file", "log.module_path", "/.cargo/", "/rustc/", ".rs:"] {
            assert!(
                !log.contains(build_path),
                "{build_path:?} in the log:\n{log}"
            );
        }
    }
}
