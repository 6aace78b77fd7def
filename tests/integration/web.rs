//! The web config file with real clients: curl (OpenSSL) over TLS with basic auth
//! and client certificates, changes applied without a restart, a real Prometheus
//! scraping over TLS with basic auth, and the binary refusing a bad file.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::*;
use pinpoint_email_simulator::{AccountState, Step};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

const USER: &str = "prometheus";
const PASSWORD: &str = "correct horse battery staple";

/// A certificate authority: its PEM certificate and what signs with it.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let pem = params.self_signed(&key).unwrap().pem();
        Ca {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    /// A leaf certificate and its key, both PEM.
    fn leaf(&self, names: &[&str], client: bool) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("client"),
        );
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// Writes a server certificate for 127.0.0.1 and localhost as `server.pem` and
    /// `server.key`, and the CA as `ca.pem`, into `dir`.
    fn write_server(&self, dir: &Path) {
        let (cert, key) = self.leaf(&["localhost", "127.0.0.1"], false);
        std::fs::write(dir.join("server.pem"), cert).unwrap();
        std::fs::write(dir.join("server.key"), key).unwrap();
        std::fs::write(dir.join("ca.pem"), &self.pem).unwrap();
    }

    /// Writes a client certificate and key as `NAME.pem`, `NAME.key` into `dir`.
    fn write_client(&self, dir: &Path, name: &str) {
        self.write_client_for(dir, name, "scraper.example");
    }

    /// Writes a client certificate for the DNS name `san` as `NAME.pem`,
    /// `NAME.key` into `dir`.
    fn write_client_for(&self, dir: &Path, name: &str, san: &str) {
        let (cert, key) = self.leaf(&[san], true);
        std::fs::write(dir.join(format!("{name}.pem")), cert).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key).unwrap();
    }
}

/// Writes a self-signed certificate with `CA:TRUE` and no key usage limits, as
/// `openssl req -x509` makes by default, as `NAME.pem` and `NAME.key`.
fn write_self_signed_ca_client(dir: &Path, name: &str) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["self.example".to_string()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "self-signed client");
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
    std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
}

fn bcrypt_hash(password: &str) -> String {
    // Cost 10, as `htpasswd -nBC 10` writes.
    bcrypt::hash(password, 10).unwrap()
}

/// What curl saw.
#[derive(Debug)]
struct Curl {
    /// curl's exit code: 0 when a response arrived.
    exit: i32,
    /// HTTP status, 0 without a response.
    status: u16,
    /// Response headers, lower-cased names.
    headers: String,
    body: String,
    stderr: String,
}

/// Runs curl with `args` (the URL included) on the blocking pool.
async fn curl(dir: &Path, args: &[&str]) -> Curl {
    let program = tool("curl", "curl");
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let out = Command::new(program)
            .current_dir(&dir)
            .args(["-sS", "--max-time", "10", "-D", "-", "-w", "\n%{http_code}"])
            .args(&args)
            .output()
            .expect("run curl");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let (rest, code) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
        let (headers, body) = rest.split_once("\r\n\r\n").unwrap_or((rest, ""));
        Curl {
            exit: out.status.code().unwrap_or(-1),
            status: code.trim().parse().unwrap_or(0),
            headers: headers.to_ascii_lowercase(),
            body: body.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        }
    })
    .await
    .unwrap()
}

/// curl of `https://localhost:PORT/PATH` trusting `ca.pem` of `dir`, with the
/// client certificate `NAME.pem` and key `NAME.key` of `client`, if any.
async fn curl_as(dir: &Path, port: u16, path: &str, client: Option<&str>) -> Curl {
    let resolve = format!("localhost:{port}:127.0.0.1");
    let url = format!("https://localhost:{port}{path}");
    let (cert, key) = client
        .map(|c| (format!("{c}.pem"), format!("{c}.key")))
        .unzip();
    let mut args = vec!["--cacert", "ca.pem", "--resolve", &resolve];
    if let (Some(cert), Some(key)) = (&cert, &key) {
        args.extend(["--cert", cert.as_str(), "--key", key.as_str()]);
    }
    args.push(&url);
    curl(dir, &args).await
}

async fn healthy_simulator() -> pinpoint_email_simulator::Simulator {
    let sim = simulator().await;
    sim.set_script("us-east-1", vec![Step::Account(AccountState::healthy())]);
    sim
}

fn exporter_config(web_config: &Path) -> pinpoint_email_exporter::Config {
    config(&[
        "--aws.regions",
        "us-east-1",
        "--poll.interval",
        "60s",
        "--web.config.file",
        web_config.to_str().unwrap(),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_basic_auth_refuse_what_they_must_and_serve_the_rest() {
    let dir = temp_dir("tls-auth");
    Ca::new("test CA").write_server(&dir);
    let web = dir.join("web.yml");
    std::fs::write(
        &web,
        format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  min_version: TLS12\n\
             http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n    Strict-Transport-Security: max-age=31536000\n\
             basic_auth_users:\n  {USER}: '{}'\n",
            bcrypt_hash(PASSWORD)
        ),
    )
    .unwrap();
    let sim = healthy_simulator().await;
    let exporter = start(exporter_config(&web), sim.endpoint_url(), SECRET_KEY).await;
    let url = format!("https://127.0.0.1:{}/metrics", exporter.addr.port());
    let creds = format!("{USER}:{PASSWORD}");

    // The right password over TLS: the metrics, with the configured headers.
    eventually(Duration::from_secs(5), "a first poll", || async {
        curl(&dir, &["--cacert", "ca.pem", "-u", &creds, &url])
            .await
            .body
            .contains("pinpoint_email_up{")
    })
    .await;
    let ok = curl(&dir, &["--cacert", "ca.pem", "-u", &creds, &url]).await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert!(
        ok.body
            .contains("pinpoint_email_up{account=\"default\",aws_region=\"us-east-1\"} 1"),
        "{}",
        ok.body
    );
    assert!(
        ok.headers.contains("x-content-type-options: nosniff"),
        "{}",
        ok.headers
    );
    assert!(
        ok.headers
            .contains("strict-transport-security: max-age=31536000"),
        "{}",
        ok.headers
    );

    // No credentials, a wrong password, an unknown user: 401 with a challenge,
    // on every path, and never a metric in the body.
    for (what, args) in [
        ("no credentials", vec![]),
        ("wrong password", vec!["-u", "prometheus:wrong"]),
        (
            "unknown user",
            vec!["-u", "mallory:correct horse battery staple"],
        ),
    ] {
        for path in ["/metrics", "/", "/healthz", "/nope"] {
            let url = format!("https://127.0.0.1:{}{path}", exporter.addr.port());
            let mut all = vec!["--cacert", "ca.pem"];
            all.extend(args.iter().copied());
            all.push(&url);
            let r = curl(&dir, &all).await;
            assert_eq!(r.status, 401, "{what} {path}: {r:?}");
            assert!(
                r.headers.contains("www-authenticate: basic realm="),
                "{what}: {}",
                r.headers
            );
            assert!(!r.body.contains("pinpoint_email"), "{what}: {}", r.body);
        }
    }

    // Plain HTTP to the TLS port gets Go's 400 answer; TLS 1.1 is refused.
    let plain = curl(
        &dir,
        &[
            "-u",
            &creds,
            &format!("http://127.0.0.1:{}/metrics", exporter.addr.port()),
        ],
    )
    .await;
    assert_eq!(plain.status, 400, "{plain:?}");
    assert!(
        plain
            .body
            .contains("Client sent an HTTP request to an HTTPS server."),
        "{plain:?}"
    );
    let old = curl(
        &dir,
        &[
            "--cacert",
            "ca.pem",
            "--tlsv1.1",
            "--tls-max",
            "1.1",
            "-u",
            &creds,
            &url,
        ],
    )
    .await;
    assert_ne!(old.exit, 0, "{old:?}");
    assert_eq!(old.status, 0, "{old:?}");

    // A client that does not trust the server's CA refuses it (the server really
    // presents the configured certificate).
    let untrusted = curl(&dir, &["-u", &creds, &url]).await;
    assert_eq!(untrusted.exit, 60, "{untrusted:?}");
    assert!(untrusted.stderr.contains("certificate"), "{untrusted:?}");

    // Secrets never reach the page.
    assert!(!ok.body.contains(PASSWORD));
    assert!(!ok.body.contains("$2"));
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_are_required_and_checked_against_the_client_ca() {
    let dir = temp_dir("mtls");
    Ca::new("server CA").write_server(&dir);
    let client_ca = Ca::new("client CA");
    std::fs::write(dir.join("client-ca.pem"), &client_ca.pem).unwrap();
    client_ca.write_client(&dir, "client");
    Ca::new("rogue CA").write_client(&dir, "rogue");
    let web = dir.join("web.yml");
    std::fs::write(
        &web,
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: client-ca.pem\n",
    )
    .unwrap();
    let sim = healthy_simulator().await;
    let exporter = start(exporter_config(&web), sim.endpoint_url(), SECRET_KEY).await;
    let url = format!("https://localhost:{}/healthz", exporter.addr.port());
    let resolve = format!("localhost:{}:127.0.0.1", exporter.addr.port());

    let good = curl(
        &dir,
        &[
            "--cacert",
            "ca.pem",
            "--resolve",
            &resolve,
            "--cert",
            "client.pem",
            "--key",
            "client.key",
            &url,
        ],
    )
    .await;
    assert_eq!(good.status, 200, "{good:?}");

    let rogue = curl(
        &dir,
        &[
            "--cacert",
            "ca.pem",
            "--resolve",
            &resolve,
            "--cert",
            "rogue.pem",
            "--key",
            "rogue.key",
            &url,
        ],
    )
    .await;
    assert_ne!(
        rogue.exit, 0,
        "a certificate of another CA must be refused: {rogue:?}"
    );
    assert_eq!(rogue.status, 0, "{rogue:?}");

    let none = curl(&dir, &["--cacert", "ca.pem", "--resolve", &resolve, &url]).await;
    assert_ne!(
        none.exit, 0,
        "no client certificate must be refused: {none:?}"
    );
    assert_eq!(none.status, 0, "{none:?}");
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_to_the_web_config_and_its_certificates_apply_without_a_restart() {
    let dir = temp_dir("reload");
    let first_ca = Ca::new("first CA");
    first_ca.write_server(&dir);
    std::fs::rename(dir.join("ca.pem"), dir.join("first-ca.pem")).unwrap();
    let web = dir.join("web.yml");
    let write = |password: &str| {
        std::fs::write(
            &web,
            format!(
                "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\nbasic_auth_users:\n  {USER}: '{}'\n",
                bcrypt_hash(password)
            ),
        )
        .unwrap();
    };
    write("old password");
    let sim = healthy_simulator().await;
    let exporter = start(exporter_config(&web), sim.endpoint_url(), SECRET_KEY).await;
    let url = format!("https://127.0.0.1:{}/healthz", exporter.addr.port());
    let status = |ca: &'static str, password: &'static str| {
        let dir = dir.clone();
        let url = url.clone();
        async move {
            curl(
                &dir,
                &["--cacert", ca, "-u", &format!("{USER}:{password}"), &url],
            )
            .await
            .status
        }
    };
    assert_eq!(status("first-ca.pem", "old password").await, 200);

    // A new password: the old one stops working, the new one works.
    write("new password");
    eventually(Duration::from_secs(10), "new password accepted", || {
        let answer = status("first-ca.pem", "new password");
        async move { answer.await == 200 }
    })
    .await;
    assert_eq!(status("first-ca.pem", "old password").await, 401);

    // A broken file is refused (the gauge says when it was looked at); the
    // last good settings stay in force.
    std::fs::write(&web, "basic_auth_users:\n  prometheus: not-a-hash\n").unwrap();
    eventually(Duration::from_secs(10), "broken file refused", || {
        let (dir, url) = (dir.clone(), url.replace("/healthz", "/metrics"));
        async move {
            let r = curl(
                &dir,
                &[
                    "--cacert",
                    "first-ca.pem",
                    "-u",
                    &format!("{USER}:new password"),
                    &url,
                ],
            )
            .await;
            sample(
                &r.body,
                "pinpoint_email_exporter_web_config_last_reload_successful",
                "",
            ) == Some(0.0)
        }
    })
    .await;
    assert_eq!(status("first-ca.pem", "new password").await, 200);
    assert_eq!(status("first-ca.pem", "old password").await, 401);

    // Certificate rotation: a certificate of another CA replaces the files.
    write("new password");
    let second_ca = Ca::new("second CA");
    second_ca.write_server(&dir);
    eventually(
        Duration::from_secs(10),
        "rotated certificate served",
        || {
            let answer = status("ca.pem", "new password");
            async move { answer.await == 200 }
        },
    )
    .await;
    assert_eq!(status("first-ca.pem", "new password").await, 0);
    exporter.stop().await;
}

/// Each edit that would loosen mutual TLS is refused while serving (the gauge
/// drops to 0) and the client it would let in stays out; the strict file
/// written back applies again (the gauge back to 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_never_loosens_client_certificates() {
    let dir = temp_dir("loosen");
    Ca::new("server CA").write_server(&dir);
    let client_ca = Ca::new("client CA");
    std::fs::write(dir.join("client-ca.pem"), &client_ca.pem).unwrap();
    client_ca.write_client_for(&dir, "scraper", "scraper.example");
    client_ca.write_client_for(&dir, "intruder", "intruder.example");
    write_self_signed_ca_client(&dir, "selfsigned");
    let tls = |auth: &str, ca: bool, sans: bool| {
        let mut text = format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: {auth}\n"
        );
        if ca {
            text.push_str("  client_ca_file: client-ca.pem\n");
        }
        if sans {
            text.push_str("  client_allowed_sans: [scraper.example]\n");
        }
        text + "  min_version: TLS12\n"
    };
    let strict = tls("RequireAndVerifyClientCert", true, true);
    let web = dir.join("web.yml");
    std::fs::write(&web, &strict).unwrap();
    let sim = healthy_simulator().await;
    let exporter = start(exporter_config(&web), sim.endpoint_url(), SECRET_KEY).await;
    let port = exporter.addr.port();
    // What `client` (a certificate's name, or none) gets from /metrics.
    let get = |client: Option<&'static str>| {
        let dir = dir.clone();
        async move { curl_as(&dir, port, "/metrics", client).await }
    };
    let gauge_is = |value: f64| {
        let get = &get;
        async move {
            let r = get(Some("scraper")).await;
            r.status == 200
                && sample(
                    &r.body,
                    "pinpoint_email_exporter_web_config_last_reload_successful",
                    "",
                ) == Some(value)
        }
    };
    assert!(gauge_is(1.0).await);
    let cut = strict[..strict.find("  client_allowed_sans").unwrap()].to_string();
    let edits: [(&str, String, &[Option<&'static str>]); 6] = [
        (
            "RequireAnyClientCert",
            tls("RequireAnyClientCert", true, true),
            &[Some("selfsigned")],
        ),
        (
            "RequireClientCert",
            tls("RequireClientCert", true, true),
            &[Some("selfsigned")],
        ),
        (
            "VerifyClientCertIfGiven",
            tls("VerifyClientCertIfGiven", true, false),
            &[None, Some("intruder")],
        ),
        (
            "client_allowed_sans removed",
            tls("RequireAndVerifyClientCert", true, false),
            &[Some("intruder")],
        ),
        (
            "a half-written file cut before client_allowed_sans",
            cut,
            &[Some("intruder")],
        ),
        (
            // The scraper's CA is no system CA: were the edit applied, the
            // scraper itself would be refused.
            "client_ca_file removed",
            tls("RequireAndVerifyClientCert", false, true),
            &[],
        ),
    ];
    for (what, text, intruders) in edits {
        std::fs::write(&web, &text).unwrap();
        eventually(Duration::from_secs(10), &format!("{what}: refused"), || {
            gauge_is(0.0)
        })
        .await;
        for intruder in intruders {
            let r = get(*intruder).await;
            assert_ne!(r.status, 200, "{what}: {intruder:?} got in: {r:?}");
        }
        std::fs::write(&web, &strict).unwrap();
        eventually(
            Duration::from_secs(10),
            &format!("{what}: strict again"),
            || gauge_is(1.0),
        )
        .await;
    }
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_over_tls_with_basic_auth() {
    let dir = temp_dir("prometheus");
    Ca::new("test CA").write_server(&dir);
    let web = dir.join("web.yml");
    std::fs::write(
        &web,
        format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n\
             basic_auth_users:\n  {USER}: '{}'\n",
            bcrypt_hash(PASSWORD)
        ),
    )
    .unwrap();
    let sim = healthy_simulator().await;
    let exporter = start(exporter_config(&web), sim.endpoint_url(), SECRET_KEY).await;
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n\
             scrape_configs:\n\
             \x20 - job_name: with-auth\n    scheme: https\n    tls_config:\n      ca_file: ca.pem\n      server_name: localhost\n\
             \x20   basic_auth:\n      username: {USER}\n      password: '{PASSWORD}'\n\
             \x20   static_configs:\n      - targets: ['{addr}']\n\
             \x20 - job_name: wrong-password\n    scheme: https\n    tls_config:\n      ca_file: ca.pem\n      server_name: localhost\n\
             \x20   basic_auth:\n      username: {USER}\n      password: wrong\n\
             \x20   static_configs:\n      - targets: ['{addr}']\n",
            addr = exporter.addr
        ),
    )
    .unwrap();
    let (prometheus, prom_addr) =
        start_prometheus(&tool("prometheus", "prometheus"), &dir, "prom-data").await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let targets = get_json(prom_addr, "/api/v1/targets").await;
        let health = |job: &str| {
            targets["data"]["activeTargets"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| t["labels"]["job"] == job)
                .map(|t| (t["health"].clone(), t["lastError"].clone()))
        };
        let good = health("with-auth");
        let bad = health("wrong-password");
        if let (Some((gh, _)), Some((bh, be))) = (&good, &bad)
            && gh == "up"
            && bh == "down"
        {
            assert!(
                be.as_str().unwrap_or("").contains("401"),
                "wrong password fails for another reason: {be}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Prometheus did not scrape as expected: {targets}\n{}",
            prometheus.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let q = get_json(
        prom_addr,
        &format!(
            "/api/v1/query?query={}",
            percent_encode("pinpoint_email_up{job=\"with-auth\"}")
        ),
    )
    .await;
    assert_eq!(q["data"]["result"][0]["value"][1], "1", "{q}");
    exporter.stop().await;
}

/// One case of the exporter-toolkit's client authentication, with curl.
struct Case {
    what: &'static str,
    tls: &'static str,
    /// curl's client certificate (`NAME.pem`, `NAME.key`), if any.
    client: Option<&'static str>,
    /// Whether the request must get through.
    served: bool,
}

/// The exporter-toolkit's client authentication as Go does it: a CA is only
/// refused with NoClientCert; the verifying types without a CA use the system
/// roots; RequireAnyClientCert takes any certificate even with a CA; a
/// self-signed `CA:TRUE` certificate listed as its own CA is accepted;
/// `client_allowed_sans` requires one of the names; Go's TLS 1.3 suite names
/// and CBC suites in `cipher_suites` are accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_authentication_and_suites_as_the_exporter_toolkit() {
    let dir = temp_dir("toolkit-tls");
    Ca::new("server CA").write_server(&dir);
    let client_ca = Ca::new("client CA");
    std::fs::write(dir.join("client-ca.pem"), &client_ca.pem).unwrap();
    client_ca.write_client(&dir, "client");
    client_ca.write_client_for(&dir, "other", "other.example");
    Ca::new("rogue CA").write_client(&dir, "rogue");
    write_self_signed_ca_client(&dir, "selfsigned");
    let cases = [
        Case {
            what: "VerifyClientCertIfGiven without a CA, no certificate",
            tls: "client_auth_type: VerifyClientCertIfGiven\n",
            client: None,
            served: true,
        },
        Case {
            what: "VerifyClientCertIfGiven without a CA: the system roots do not know the rogue CA",
            tls: "client_auth_type: VerifyClientCertIfGiven\n",
            client: Some("rogue"),
            served: false,
        },
        Case {
            what: "RequireAnyClientCert with a CA takes any certificate",
            tls: "client_auth_type: RequireAnyClientCert\n  client_ca_file: client-ca.pem\n",
            client: Some("rogue"),
            served: true,
        },
        Case {
            what: "RequireAnyClientCert still requires one",
            tls: "client_auth_type: RequireAnyClientCert\n  client_ca_file: client-ca.pem\n",
            client: None,
            served: false,
        },
        Case {
            what: "a self-signed CA:TRUE certificate as its own CA",
            tls: "client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: selfsigned.pem\n",
            client: Some("selfsigned"),
            served: true,
        },
        Case {
            what: "client_allowed_sans: an allowed name",
            tls: "client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: client-ca.pem\n  client_allowed_sans: [scraper.example]\n",
            client: Some("client"),
            served: true,
        },
        Case {
            what: "client_allowed_sans: another name of the same CA",
            tls: "client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: client-ca.pem\n  client_allowed_sans: [scraper.example]\n",
            client: Some("other"),
            served: false,
        },
        Case {
            what: "Go's TLS 1.3 suite names and a CBC suite",
            tls: "cipher_suites: [TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256, TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n",
            client: None,
            served: true,
        },
    ];
    let sim = healthy_simulator().await;
    for case in cases {
        let web = dir.join("web.yml");
        std::fs::write(
            &web,
            format!(
                "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  {}",
                case.tls
            ),
        )
        .unwrap();
        let exporter = start(exporter_config(&web), sim.endpoint_url(), SECRET_KEY).await;
        let r = curl_as(&dir, exporter.addr.port(), "/healthz", case.client).await;
        if case.served {
            assert_eq!(r.status, 200, "{}: {r:?}", case.what);
        } else {
            assert_ne!(r.status, 200, "{}: {r:?}", case.what);
        }
        exporter.stop().await;
    }
}

/// `curl --compressed` (which asks for gzip and decodes it) gets the same
/// exposition as a plain request, and says it got gzip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_compressed_gets_gzip() {
    let dir = temp_dir("curl-gzip");
    let sim = healthy_simulator().await;
    let exporter = polling(
        &sim,
        &["--aws.regions", "us-east-1", "--poll.interval", "60s"],
    )
    .await;
    let url = format!("http://127.0.0.1:{}/metrics", exporter.addr.port());
    let plain = curl(&dir, &[&url]).await;
    let compressed = curl(&dir, &["--compressed", &url]).await;
    assert_eq!(compressed.status, 200, "{compressed:?}");
    assert!(
        compressed.headers.contains("content-encoding: gzip"),
        "{}",
        compressed.headers
    );
    assert!(
        !plain.headers.contains("content-encoding"),
        "{}",
        plain.headers
    );
    assert_eq!(compressed.body, plain.body);
    assert!(plain.body.contains("pinpoint_email_up{"), "{}", plain.body);
    exporter.stop().await;
}

/// A real Prometheus scrapes both formats: one job directly (it negotiates
/// OpenMetrics, gzip-compressed), one through a proxy that asks for the text
/// format (with gzip); both are healthy and store the same series.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_openmetrics_and_the_text_format_alike() {
    use http_body_util::Full;
    use hyper_util::rt::TokioIo;

    let dir = temp_dir("prometheus-formats");
    let sim = healthy_simulator().await;
    let exporter = polling(
        &sim,
        &["--aws.regions", "us-east-1", "--poll.interval", "60s"],
    )
    .await;

    // The proxy: every request goes to the exporter asking for the text format.
    let seen: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_addr = proxy.local_addr().unwrap();
    let (upstream, log) = (exporter.addr, seen.clone());
    tokio::spawn(async move {
        while let Ok((stream, _)) = proxy.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let log = log.clone();
                        async move {
                            let answer = request_with(
                                upstream,
                                "GET",
                                req.uri().path(),
                                &[
                                    ("accept", "text/plain;version=0.0.4"),
                                    ("accept-encoding", "gzip"),
                                ],
                            )
                            .await;
                            log.lock().unwrap().push(format!(
                                "{} {}",
                                answer.content_type, answer.content_encoding
                            ));
                            let mut resp =
                                hyper::Response::new(Full::new(bytes::Bytes::from(answer.raw)));
                            let headers = resp.headers_mut();
                            headers.insert("content-type", answer.content_type.parse().unwrap());
                            if !answer.content_encoding.is_empty() {
                                headers.insert(
                                    "content-encoding",
                                    answer.content_encoding.parse().unwrap(),
                                );
                            }
                            Ok::<_, std::convert::Infallible>(resp)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });

    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n\
             scrape_configs:\n\
             \x20 - job_name: openmetrics\n    static_configs:\n      - targets: ['{}']\n\
             \x20 - job_name: text\n    static_configs:\n      - targets: ['{proxy_addr}']\n",
            exporter.addr
        ),
    )
    .unwrap();
    let (prometheus, prom_addr) =
        start_prometheus(&tool("prometheus", "prometheus"), &dir, "prom-data").await;
    let count = |job: &str| {
        format!(
            "/api/v1/query?query={}",
            percent_encode(&format!(
                "count({{job=\"{job}\",__name__=~\"pinpoint_email_.+\"}})"
            ))
        )
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let targets = get_json(prom_addr, "/api/v1/targets").await;
        let healthy = targets["data"]["activeTargets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["health"] == "up" && t["lastError"] == "")
            .count();
        let om = get_json(prom_addr, &count("openmetrics")).await;
        let text = get_json(prom_addr, &count("text")).await;
        let n = |v: &serde_json::Value| {
            v["data"]["result"][0]["value"][1]
                .as_str()
                .map(str::to_string)
        };
        if healthy == 2 && n(&om).is_some() && n(&om) == n(&text) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "both formats should be scraped alike: {targets}\n{om}\n{text}\n{}",
            prometheus.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .all(|s| s == "text/plain; version=0.0.4; charset=utf-8 gzip"),
        "{seen:?}"
    );
    // Only the OpenMetrics scrape carries units.
    let meta = get_json(
        prom_addr,
        "/api/v1/metadata?metric=pinpoint_email_poll_duration_seconds",
    )
    .await;
    let units: Vec<&str> = meta["data"]["pinpoint_email_poll_duration_seconds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["unit"].as_str())
        .collect();
    assert!(units.contains(&"seconds"), "{meta}");
    exporter.stop().await;
}

/// A web config file being rewritten (emptied, half written, TLS only, written
/// back) while clients keep asking: the TLS port never answers plain HTTP with
/// a 200 and never lets a client in without credentials; once the file is whole
/// again the right password works and the reload gauge is back to 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_config_being_rewritten_never_opens_the_port() {
    let dir = temp_dir("rewrite");
    Ca::new("test CA").write_server(&dir);
    let web = dir.join("web.yml");
    let good = format!(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n\
         basic_auth_users:\n  {USER}: '{}'\n",
        bcrypt_hash(PASSWORD)
    );
    std::fs::write(&web, &good).unwrap();
    let sim = healthy_simulator().await;
    let exporter = start(exporter_config(&web), sim.endpoint_url(), SECRET_KEY).await;
    let port = exporter.addr.port();
    let creds = format!("{USER}:{PASSWORD}");
    let url = format!("https://127.0.0.1:{port}/metrics");
    // The exporter reads the file as it starts: only then may the writer begin.
    eventually(Duration::from_secs(10), "serving over TLS", || {
        let (dir, creds, url) = (dir.clone(), creds.clone(), url.clone());
        async move {
            curl(&dir, &["--cacert", "ca.pem", "-u", &creds, &url])
                .await
                .status
                == 200
        }
    })
    .await;

    // The writer: each bad version (emptied, half written, the TLS section
    // alone) stays 4 settle times, long enough for the watcher to take it up;
    // then 2 s of rewriting in a race (a few milliseconds a version); then
    // the whole file again.
    let hold = (WEB_CONFIG_SETTLE + WEB_CONFIG_LOOK) * 4;
    let writer = {
        let (web, good) = (web.clone(), good.clone());
        std::thread::spawn(move || {
            let tls_only = good.split("basic_auth_users").next().unwrap().to_string();
            let bad = ["", &good[..good.len() / 2], &tls_only];
            for text in bad {
                std::fs::write(&web, text).unwrap();
                std::thread::sleep(hold);
            }
            let started = std::time::Instant::now();
            while started.elapsed() < Duration::from_secs(2) {
                for text in bad.iter().chain([&good.as_str()]) {
                    std::fs::write(&web, text).unwrap();
                    std::thread::sleep(Duration::from_millis(7));
                }
            }
            std::fs::write(&web, &good).unwrap();
        })
    };
    let (mut plain_asked, mut anonymous_asked) = (0, 0);
    while !writer.is_finished() {
        let plain = curl(&dir, &[&format!("http://127.0.0.1:{port}/metrics")]).await;
        assert_ne!(plain.status, 200, "plain HTTP answered: {plain:?}");
        assert!(!plain.body.contains("pinpoint_email"), "{plain:?}");
        plain_asked += 1;
        let anonymous = curl(
            &dir,
            &[
                "--cacert",
                "ca.pem",
                &format!("https://127.0.0.1:{port}/metrics"),
            ],
        )
        .await;
        assert_ne!(
            anonymous.status, 200,
            "served without credentials: {anonymous:?}"
        );
        assert!(!anonymous.body.contains("pinpoint_email"), "{anonymous:?}");
        anonymous_asked += 1;
    }
    writer.join().unwrap();
    assert!(plain_asked > 10 && anonymous_asked > 10);
    eventually(
        Duration::from_secs(10),
        "whole file, gauge back to 1",
        || {
            let (dir, creds, url) = (dir.clone(), creds.clone(), url.clone());
            async move {
                let r = curl(&dir, &["--cacert", "ca.pem", "-u", &creds, &url]).await;
                r.status == 200
                    && r.body
                        .contains("pinpoint_email_exporter_web_config_last_reload_successful 1")
            }
        },
    )
    .await;
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_counts_only_requests_that_pass_authentication() {
    let dir = temp_dir("rate-limit");
    let sim = healthy_simulator().await;
    let status = |addr, authorization: Option<String>| async move {
        let headers: Vec<(&str, &str)> = authorization
            .as_deref()
            .map(|a| vec![("authorization", a)])
            .unwrap_or_default();
        request_with(addr, "GET", "/healthz", &headers).await.status
    };

    // Without users, the toolkit's meaning: one bucket for every request.
    let web = dir.join("open.yml");
    std::fs::write(&web, "rate_limit:\n  interval: 1h\n  burst: 2\n").unwrap();
    let exporter = start(exporter_config(&web), sim.endpoint_url(), SECRET_KEY).await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(status(exporter.addr, None).await);
    }
    assert_eq!(seen, [200, 200, 429, 429]);
    exporter.stop().await;

    // With users, requests without valid credentials never spend the budget
    // of those with them.
    let web = dir.join("users.yml");
    std::fs::write(
        &web,
        format!(
            "basic_auth_users:\n  {USER}: '{}'\nrate_limit:\n  interval: 1h\n  burst: 2\n",
            bcrypt::hash(PASSWORD, 4).unwrap()
        ),
    )
    .unwrap();
    let exporter = start(exporter_config(&web), sim.endpoint_url(), SECRET_KEY).await;
    // (Each wrong password doubles this client's penalty; three keep it within
    // the delay of their answers, so the scraper after them is not locked out.)
    let mut anonymous = Vec::new();
    for i in 0..6 {
        let authorization = (i % 2 == 1).then(|| basic_auth(USER, "wrong"));
        anonymous.push(status(exporter.addr, authorization).await);
    }
    assert!(anonymous.iter().all(|s| *s == 401), "{anonymous:?}");
    let mut scraper = Vec::new();
    for _ in 0..3 {
        scraper.push(status(exporter.addr, Some(basic_auth(USER, PASSWORD))).await);
    }
    assert_eq!(scraper, [200, 200, 429]);
    exporter.stop().await;
}
