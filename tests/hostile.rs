//! Hostile and heavy clients against the built binary, on loopback only, each
//! bounded in time: thousands of connections that never finish their headers,
//! oversized headers, garbage, odd methods and paths, many concurrent scrapers.
//! Throughout, a well-behaved scrape is answered, the process stays up, and its
//! resident memory stays bounded.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
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
    let sim = simulator().await;
    let home = temp_dir(name);
    let addr = free_addr();
    let child = simulated(&home, &sim)
        .stderr(std::fs::File::create(home.join("stderr.log")).unwrap())
        .args([
            "--web.listen-address",
            &addr.to_string(),
            "--aws.regions",
            "us-east-1,eu-west-1",
            "--web.max-connections",
            &max_connections.to_string(),
        ])
        .spawn()
        .unwrap();
    let process = Process::from(child);
    wait_ready(addr).await;
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
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
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
