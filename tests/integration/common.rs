//! Helpers shared by the integration tests: a real HTTP client, the simulator,
//! an in-process exporter on a loopback port, promtool.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::ConfigLoader;
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use pinpoint_email_exporter::{Cli, Config};
use pinpoint_email_simulator::Simulator;
use tokio::net::{TcpListener, TcpStream};

pub const ACCESS_KEY: &str = "AKIDSIMULATOR0000001";
pub const SECRET_KEY: &str = "c2ltdWxhdG9yLXNlY3JldC1rZXktZm9yLXRlc3Rz";

/// A response, as a test wants to look at it.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub content_encoding: String,
    /// The body as sent (compressed when `content_encoding` says so).
    pub raw: Vec<u8>,
    /// The body as text; empty when it is compressed.
    pub body: String,
}

/// Sends `method path` to `addr` over a fresh connection.
pub async fn request(addr: SocketAddr, method: &str, path: &str) -> Answer {
    request_with(addr, method, path, &[]).await
}

/// The value of an `Authorization` header for basic auth.
pub fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Sends `method path` with extra `headers` to `addr` over a fresh connection.
pub async fn request_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Answer {
    let stream = TcpStream::connect(addr).await.expect("connect to exporter");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP handshake");
    tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req.body(Empty::<Bytes>::new()).unwrap();
    let resp = sender.send_request(req).await.expect("send request");
    let status = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let content_type = header("content-type");
    let content_encoding = header("content-encoding");
    let raw = resp
        .into_body()
        .collect()
        .await
        .expect("read body")
        .to_bytes()
        .to_vec();
    let body = if content_encoding.is_empty() {
        String::from_utf8(raw.clone()).expect("UTF-8 body")
    } else {
        String::new()
    };
    Answer {
        status,
        content_type,
        content_encoding,
        raw,
        body,
    }
}

/// The text of a gzip-compressed body.
pub fn gunzip(raw: &[u8]) -> String {
    use std::io::Read as _;
    let mut text = String::new();
    flate2::read::GzDecoder::new(raw)
        .read_to_string(&mut text)
        .expect("a gzip stream of UTF-8 text");
    text
}

/// The `Accept` header Prometheus sends with its scrapes.
pub const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

pub async fn get(addr: SocketAddr, path: &str) -> Answer {
    request(addr, "GET", path).await
}

/// Starts a simulator on a free loopback port.
pub async fn simulator() -> Simulator {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Simulator::start(listener, ACCESS_KEY, SECRET_KEY)
}

/// A base AWS config loader pointed at `endpoint` with static credentials.
pub fn loader(endpoint: String, secret: &'static str) -> impl Fn() -> ConfigLoader + Sync {
    pinpoint_email_exporter::static_loader(endpoint, ACCESS_KEY.into(), secret.into())
}

/// A validated config from command-line style flags.
pub fn config(flags: &[&str]) -> Config {
    let mut args = vec!["pinpoint-email-exporter"];
    args.extend_from_slice(flags);
    Config::from_cli(Cli::try_parse_from(args).expect("flags")).expect("config")
}

/// An exporter running in this process.
pub struct Running {
    pub addr: SocketAddr,
    /// Notify to reload the config files, as SIGHUP does in the binary.
    pub reload: std::sync::Arc<tokio::sync::Notify>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Sends the shutdown signal and waits for `run` to return.
    pub async fn stop(mut self) -> Duration {
        let started = Instant::now();
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await.expect("exporter task");
        started.elapsed()
    }
}

/// Starts the exporter of `config` on a free loopback port, talking to the
/// simulator at `endpoint` with `secret`.
pub async fn start(config: Config, endpoint: String, secret: &'static str) -> Running {
    start_with(config, loader(endpoint, secret)).await
}

/// The exporter in this process with `flags`, polling the simulator `sim`
/// with the keys it accepts; returns once `/readyz` answers 200.
pub async fn polling(sim: &Simulator, flags: &[&str]) -> Running {
    let running = start(config(flags), sim.endpoint_url(), SECRET_KEY).await;
    wait_ready(running.addr).await;
    running
}

/// How often the in-process exporter of [`start_with`] looks at its web config.
pub const WEB_CONFIG_LOOK: Duration = Duration::from_millis(50);

/// How long a change of its web config stands still before it applies.
pub const WEB_CONFIG_SETTLE: Duration = Duration::from_millis(150);

/// Starts the exporter of `config` on a free loopback port, building its AWS
/// clients from `base`.
pub async fn start_with(
    config: Config,
    base: impl Fn() -> ConfigLoader + Send + Sync + 'static,
) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let reload = std::sync::Arc::new(tokio::sync::Notify::new());
    let notify = std::sync::Arc::clone(&reload);
    let task = tokio::spawn(async move {
        // Changes of the web config apply within a fifth of a second, not the
        // two seconds of the binary's defaults: the reload tests wait for them.
        let web = pinpoint_email_exporter::WebConfig::new(config.web.config_file.clone())
            .expect("web config")
            .with_timing(WEB_CONFIG_LOOK, WEB_CONFIG_SETTLE);
        pinpoint_email_exporter::run(
            &config,
            web,
            &base,
            vec![listener],
            async {
                let _ = rx.await;
            },
            notify,
        )
        .await
        .expect("exporter runs");
    });
    Running {
        addr,
        reload,
        stop: Some(tx),
        task,
    }
}

/// The `GetAccount` calls the simulator received (not the one
/// `GetCallerIdentity` of each target whose credentials do not name their
/// account).
pub fn get_account_calls(sim: &Simulator) -> Vec<pinpoint_email_simulator::Call> {
    sim.calls()
        .into_iter()
        .filter(|c| c.action == "GetAccount")
        .collect()
}

/// Polls `check` every 50 ms until it returns true or `limit` passes, on
/// tokio's clock: simulated time in a test that pauses it.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `GET /metrics` at `addr`: the exposition's text (the text format).
pub async fn metrics(addr: SocketAddr) -> String {
    get(addr, "/metrics").await.body
}

/// Every sample of the metric `name` in an exposition: its labels as written
/// between the braces (empty without labels) and its value.
pub fn samples(text: &str, name: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?;
            let (labels, value) = match rest.strip_prefix('{') {
                Some(rest) => {
                    let (labels, value) = rest.rsplit_once("} ")?;
                    (labels.to_string(), value)
                }
                None => (String::new(), rest.strip_prefix(' ')?),
            };
            let value = value.split(' ').next()?;
            Some((labels, value.parse().ok()?))
        })
        .collect()
}

/// The value of the label `name` in the labels of a sample as [`samples`]
/// gives them (values without escaped quotes).
pub fn label(labels: &str, name: &str) -> Option<String> {
    let prefix = format!("{name}=\"");
    labels
        .split("\",")
        .find_map(|pair| pair.strip_prefix(&prefix))
        .map(|value| value.trim_end_matches('"').to_string())
}

/// The binary of `cmd` (from [`command`] or [`simulated`], with its flags)
/// listening on a free loopback port; returns at once.
pub fn launch(cmd: &mut Command) -> (Process, SocketAddr) {
    let addr = free_addr();
    let process = Process::spawn(cmd.args(["--web.listen-address", &addr.to_string()]));
    (process, addr)
}

/// [`launch`], then waits for `/readyz`.
pub async fn serve(cmd: &mut Command) -> (Process, SocketAddr) {
    let (process, addr) = launch(cmd);
    wait_ready(addr).await;
    (process, addr)
}

/// Runs `cmd` to its end: its exit code, standard output and standard error.
pub fn output(cmd: &mut Command) -> (Option<i32>, String, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("start {:?}: {e}", cmd.get_program()));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `cmd` to its end and fails unless it exits 0; its standard output and
/// standard error, together.
pub fn run_ok(cmd: &mut Command) -> String {
    let (code, stdout, stderr) = output(cmd);
    let text = format!("{stdout}{stderr}");
    assert_eq!(code, Some(0), "{cmd:?} failed:\n{text}");
    text
}

/// A Prometheus (the program `bin`) with `dir/prometheus.yml`, its data in
/// `dir/DATA`, ready.
pub async fn start_prometheus(bin: &Path, dir: &Path, data: &str) -> (Process, SocketAddr) {
    let addr = free_addr();
    let prometheus = Process::start(
        &format!("prometheus-{data}"),
        bin,
        &[
            "--config.file=prometheus.yml".into(),
            format!("--storage.tsdb.path={data}"),
            format!("--web.listen-address={addr}"),
        ],
        dir,
    );
    wait_ok(addr, "/-/ready", Duration::from_secs(30), || {
        prometheus.log_tail()
    })
    .await;
    (prometheus, addr)
}

/// moto's server (PyPI `moto[server]`, pinned in `.ci/moto-requirements.txt`),
/// an AWS mock nobody here wrote, on a free loopback port, recording every
/// request it receives.
pub struct Moto {
    pub addr: SocketAddr,
    _process: Process,
}

impl Moto {
    /// Starts `moto_server` from `target/moto-venv` (where scripts/test
    /// installs it) or PATH; fails, saying how to install it, without it.
    pub async fn start() -> Moto {
        let venv = root().join("target/moto-venv/bin/moto_server");
        let program = if venv.is_file() {
            venv
        } else {
            std::env::var_os("PATH")
                .and_then(|paths| {
                    std::env::split_paths(&paths)
                        .map(|p| p.join("moto_server"))
                        .find(|p| p.is_file())
                })
                .unwrap_or_else(|| {
                    panic!("moto_server not found: run scripts/test, which installs it into target/moto-venv (python3 -m venv target/moto-venv && target/moto-venv/bin/pip install -r .ci/moto-requirements.txt)")
                })
        };
        let addr = free_addr();
        let dir = temp_dir(&format!("moto-{}", addr.port()));
        let process = Process::spawn(
            Command::new(program)
                .args(["-H", "127.0.0.1", "-p", &addr.port().to_string()])
                .env("MOTO_ENABLE_RECORDING", "True")
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        wait_ok(addr, "/moto-api/", Duration::from_secs(30), String::new).await;
        let started = request(addr, "POST", "/moto-api/recorder/start-recording").await;
        assert_eq!(started.status, 200, "{started:?}");
        Moto {
            addr,
            _process: process,
        }
    }

    /// Its endpoint, for `AWS_ENDPOINT_URL` or the SDK's endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request its recorder kept, in order, as moto writes them.
    async fn recording(&self) -> Vec<serde_json::Value> {
        let text = get(self.addr, "/moto-api/recorder/download-recording")
            .await
            .body;
        text.lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The method and path (with its query, as sent) of every request it
    /// received, in order.
    pub async fn requests(&self) -> Vec<(String, String)> {
        self.recording()
            .await
            .iter()
            .filter_map(|request| {
                let url = request["url"].as_str()?;
                let path = url.find("://").map_or(url, |at| {
                    let rest = &url[at + 3..];
                    rest.find('/').map_or("/", |slash| &rest[slash..])
                });
                Some((request["method"].as_str()?.to_string(), path.to_string()))
            })
            .collect()
    }

    /// The query-protocol parameters (`Action=AssumeRole&RoleArn=...`) of every
    /// form-encoded request it received, in order, decoded.
    pub async fn query_requests(&self) -> Vec<Vec<(String, String)>> {
        use base64::Engine as _;
        self.recording()
            .await
            .iter()
            .filter_map(|request| {
                let body = request["body"].as_str()?;
                let body = if request["body_encoded"] == true {
                    let raw = base64::engine::general_purpose::STANDARD
                        .decode(body)
                        .ok()?;
                    String::from_utf8(raw).ok()?
                } else {
                    body.to_string()
                };
                Some(
                    form_urlencoded::parse(body.as_bytes())
                        .into_owned()
                        .collect(),
                )
            })
            .collect()
    }
}

/// The text of a file: `path` from the repository's root, or absolute.
pub fn read(path: impl AsRef<Path>) -> String {
    let path = root().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file under `dir`, recursively, in name order.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    entries
        .into_iter()
        .flat_map(|p| if p.is_dir() { walk(&p) } else { vec![p] })
        .collect()
}

/// Waits for `/readyz` to answer 200.
pub async fn wait_ready(addr: SocketAddr) {
    wait_ok(addr, "/readyz", Duration::from_secs(15), String::new).await;
}

/// Waits until `path` at `addr` answers 200 (while nothing listens, that is "not
/// yet" too), at most `limit`; on time-out fails with what `context` says (a
/// log, for instance).
pub async fn wait_ok(addr: SocketAddr, path: &str, limit: Duration, context: impl Fn() -> String) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if TcpStream::connect(addr).await.is_ok() && get(addr, path).await.status == 200 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{addr}{path} did not answer 200 within {limit:?}. {}",
            context()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of the sample `name{labels}` in an exposition, labels given in the
/// exposition's (sorted) order, e.g. `account="default",aws_region="us-east-1"`.
pub fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = if labels.is_empty() {
        format!("{name} ")
    } else {
        format!("{name}{{{labels}}} ")
    };
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.parse().expect("sample value"))
}

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The path of the program `name` on PATH; fails loudly, naming the Debian package
/// to install, when it is missing, since tests that need it must not pass without it.
pub fn tool(name: &str, apt_package: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("{name} not found on PATH: install Debian's `{apt_package}` package (apt-get install -y {apt_package}), or run scripts/test which does")
        })
}

/// The path of `promtool` (Debian's `prometheus` package).
pub fn promtool() -> PathBuf {
    tool("promtool", "prometheus")
}

/// A free loopback address (bound and released; a child process binds it next).
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Runs `promtool check metrics` on `text`; panics unless it exits 0 and prints
/// nothing at all.
pub fn promtool_check_metrics(text: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.trim().is_empty(),
        "promtool check metrics must print nothing; it exited {:?} with:\n{report}",
        out.status.code()
    );
}

/// The text of the page `page` (a path from the repository root, such as
/// `docs/metrics.md`) between `<!-- NAME:start -->` and `<!-- NAME:end -->`.
pub fn doc_section(page: &str, name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(page);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{page}: {e}"));
    let (start, end) = (
        format!("<!-- {name}:start -->"),
        format!("<!-- {name}:end -->"),
    );
    text.split(start.as_str())
        .nth(1)
        .and_then(|rest| rest.split(end.as_str()).next())
        .unwrap_or_else(|| panic!("{page} must hold a section between {start} and {end}"))
        .to_string()
}

/// The first cell of each row of the table in [`doc_section`] `name` of
/// `page`, where that cell is code (`` `--flag` ``, `` `metric_name` ``).
pub fn doc_table_keys(page: &str, name: &str) -> std::collections::BTreeSet<String> {
    doc_section(page, name)
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

/// Percent-encodes `s` for a URL query.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// GETs `path` and parses its JSON; fails on any status but 200.
pub async fn get_json(addr: SocketAddr, path: &str) -> serde_json::Value {
    let answer = get(addr, path).await;
    assert_eq!(answer.status, 200, "GET {path}: {}", answer.body);
    serde_json::from_str(&answer.body).unwrap()
}

/// The exporter binary built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_pinpoint-email-exporter");

/// A command for the binary with a clean AWS environment: no inherited `AWS_*`
/// variables, no shared config files, no instance metadata.
pub fn command(home: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// [`command`] pointed at `sim` (`AWS_ENDPOINT_URL`) with the keys it accepts.
pub fn simulated(home: &Path, sim: &Simulator) -> Command {
    let mut cmd = command(home);
    cmd.env("AWS_ENDPOINT_URL", sim.endpoint_url())
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    cmd
}

/// A fresh, empty directory for one test's files, under cargo's temporary
/// directory for tests (`target/tmp`), named after the test binary and `name`.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{}-{name}", env!("CARGO_CRATE_NAME")));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `yaml` written as `targets.yml` in a fresh [`temp_dir`] `name`: its path,
/// for `--config.file`.
pub fn targets_file(name: &str, yaml: &str) -> String {
    let path = temp_dir(name).join("targets.yml");
    std::fs::write(&path, yaml).unwrap();
    path.to_str().unwrap().to_string()
}

/// A child process, killed when the test ends.
pub struct Process {
    pub child: Child,
    /// Where its output goes, when it was started with [`Process::start`].
    pub log: Option<PathBuf>,
}

impl From<Child> for Process {
    fn from(child: Child) -> Self {
        Process { child, log: None }
    }
}

impl Process {
    /// Runs `cmd` (its output as the command sets it).
    pub fn spawn(cmd: &mut Command) -> Process {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {:?}: {e}", cmd.get_program()));
        Process::from(child)
    }

    /// Runs `program` with `args` in `dir`, its output kept in `dir/NAME.log`.
    pub fn start(name: &str, program: &Path, args: &[String], dir: &Path) -> Process {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut process = Process::spawn(
            Command::new(program)
                .args(args)
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(file.try_clone().unwrap())
                .stderr(file),
        );
        process.log = Some(log);
        process
    }

    /// The last lines of its log, to say why it is not ready.
    pub fn log_tail(&self) -> String {
        let Some(log) = &self.log else {
            return String::new();
        };
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        format!(
            "{}:\n{}",
            log.display(),
            lines[lines.len().saturating_sub(20)..].join("\n")
        )
    }

    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Sends SIGTERM (with the `kill` program, to stay free of `unsafe`) and waits.
    pub fn terminate(mut self) -> (std::process::ExitStatus, Duration, String) {
        let started = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &self.pid()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(10);
        let exit = loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                break exit;
            }
            assert!(
                Instant::now() < deadline,
                "exporter did not exit within 10 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = started.elapsed();
        let mut stderr = String::new();
        // Empty when the test sent standard error to a file.
        if let Some(mut pipe) = self.child.stderr.take() {
            std::io::Read::read_to_string(&mut pipe, &mut stderr).unwrap();
        }
        (exit, took, stderr)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `signal` (e.g. `-HUP`) to the process, with the `kill` program.
pub fn signal(process: &Process, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &process.pid()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} failed");
}
