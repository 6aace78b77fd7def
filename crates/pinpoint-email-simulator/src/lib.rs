//! A local stand-in for the Pinpoint Email / SES `GetAccount` API.
//!
//! It speaks the AWS REST-JSON protocol on `GET /v1/email/account` (Pinpoint Email)
//! and `GET /v2/email/account` (SES v2), checks the SigV4 signature of every request
//! against its configured credentials (service `ses`; a bad or missing signature
//! gets the 403 answer AWS gives), and answers each region from a script of
//! [`Step`]s: account states, throttling, server errors, delays, malformed bodies,
//! dropped connections. Each request takes the next step; the last one repeats.
//!
//! The region is read from the SigV4 credential scope, as AWS routes it, so one
//! simulator serves every region when the SDK is pointed at it with
//! `AWS_ENDPOINT_URL`.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub mod scenario;
pub mod sigv4;

pub use scenario::{Scenario, Timeline};

pub use sigv4::{AuthError, Secret, Signed, verify_sigv4};

/// The account state a [`Step::Account`] answers with, in the API's field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountState {
    /// `SendQuota.Max24HourSend`.
    pub max_24_hour_send: f64,
    /// `SendQuota.MaxSendRate`.
    pub max_send_rate: f64,
    /// `SendQuota.SentLast24Hours`.
    pub sent_last_24_hours: f64,
    /// `SendingEnabled`.
    pub sending_enabled: bool,
    /// `ProductionAccessEnabled`.
    pub production_access_enabled: bool,
    /// `DedicatedIpAutoWarmupEnabled`.
    pub dedicated_ip_auto_warmup_enabled: bool,
    /// `EnforcementStatus`.
    pub enforcement_status: String,
    /// SES v2: `VdmAttributes.VdmEnabled` is `ENABLED`.
    #[serde(default)]
    pub vdm_enabled: bool,
    /// SES v2: `Details.ReviewDetails.Status`; `None` leaves `Details` out.
    #[serde(default)]
    pub review_status: Option<String>,
    /// SES v2: `SuppressionAttributes.SuppressedReasons`.
    #[serde(default)]
    pub suppressed_reasons: Vec<String>,
}

impl AccountState {
    /// A healthy production account with a 50,000 per day quota.
    pub fn healthy() -> Self {
        AccountState {
            max_24_hour_send: 50_000.0,
            max_send_rate: 14.0,
            sent_last_24_hours: 0.0,
            sending_enabled: true,
            production_access_enabled: true,
            dedicated_ip_auto_warmup_enabled: true,
            enforcement_status: "HEALTHY".to_string(),
            vdm_enabled: false,
            review_status: Some("GRANTED".to_string()),
            suppressed_reasons: vec!["BOUNCE".to_string(), "COMPLAINT".to_string()],
        }
    }

    /// The JSON body SES v2's `GetAccount` answers with: the Pinpoint Email fields
    /// plus `Details`, `SuppressionAttributes` and `VdmAttributes`.
    pub fn to_json_v2(&self) -> String {
        let mut v: serde_json::Value = serde_json::from_str(&self.to_json()).unwrap_or_default();
        v["SuppressionAttributes"] =
            serde_json::json!({ "SuppressedReasons": self.suppressed_reasons });
        v["VdmAttributes"] = serde_json::json!({
            "VdmEnabled": if self.vdm_enabled { "ENABLED" } else { "DISABLED" },
        });
        if let Some(status) = &self.review_status {
            v["Details"] = serde_json::json!({
                "MailType": "TRANSACTIONAL",
                "WebsiteURL": "https://example.com",
                "ContactLanguage": "EN",
                "UseCaseDescription": "Order confirmations and password resets.",
                "AdditionalContactEmailAddresses": [],
                "ReviewDetails": { "Status": status, "CaseId": "0123456789" },
            });
        }
        v.to_string()
    }

    /// The JSON body Pinpoint Email's `GetAccount` answers with.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "SendQuota": {
                "Max24HourSend": self.max_24_hour_send,
                "MaxSendRate": self.max_send_rate,
                "SentLast24Hours": self.sent_last_24_hours,
            },
            "SendingEnabled": self.sending_enabled,
            "DedicatedIpAutoWarmupEnabled": self.dedicated_ip_auto_warmup_enabled,
            "EnforcementStatus": self.enforcement_status,
            "ProductionAccessEnabled": self.production_access_enabled,
        })
        .to_string()
    }
}

/// Requests remembered for [`Simulator::calls`]; older ones are forgotten, so a
/// long-running simulator (the demo) keeps bounded memory.
pub const MAX_CALLS_KEPT: usize = 10_000;

/// AWS's allowed difference between a request's `x-amz-date` and its own clock.
const MAX_CLOCK_SKEW_SECS: i64 = 300;

/// Refuses a request whose `x-amz-date` is more than [`MAX_CLOCK_SKEW_SECS`] from
/// this machine's clock moved by `offset_secs`, with AWS's messages.
fn check_clock(
    parts: &hyper::http::request::Parts,
    offset_secs: i64,
) -> Result<(), sigv4::AuthError> {
    // x-amz-date is YYYYMMDDTHHMMSSZ: fixed width, so strings compare as times.
    let compact = |secs: i64| {
        let at = std::time::UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64);
        humantime::format_rfc3339_seconds(at)
            .to_string()
            .replace(['-', ':'], "")
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
        + offset_secs;
    let sent = parts
        .headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (earliest, latest) = (
        compact(now - MAX_CLOCK_SKEW_SECS),
        compact(now + MAX_CLOCK_SKEW_SECS),
    );
    let message = if sent < earliest.as_str() {
        format!(
            "Signature expired: {sent} is now earlier than {earliest} ({} - 5 min.)",
            compact(now)
        )
    } else if sent > latest.as_str() {
        format!(
            "Signature not yet current: {sent} is still later than {latest} ({} + 5 min.)",
            compact(now)
        )
    } else {
        return Ok(());
    };
    Err(sigv4::AuthError {
        region: String::new(),
        code: "InvalidSignatureException",
        message,
    })
}

/// One scripted answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// 200 with this account.
    Account(AccountState),
    /// 429 `TooManyRequestsException`, as AWS throttles.
    Throttle,
    /// An AWS error answer with this status and error code.
    Error {
        /// HTTP status, e.g. 500 or 403.
        status: u16,
        /// Error code sent in `x-amzn-ErrorType`, e.g. `InternalFailure`.
        code: String,
    },
    /// 200 with this exact body (malformed or truncated JSON, missing fields).
    Body(String),
    /// Wait this many milliseconds, then answer with the inner step.
    Delay {
        /// How long to wait.
        millis: u64,
        /// What to answer then.
        then: Box<Step>,
    },
    /// Close the connection without answering.
    Drop,
    /// Reset the connection (TCP RST) without answering.
    Reset,
}

/// One request the simulator received.
#[derive(Debug, Clone)]
pub struct Call {
    /// When it arrived.
    pub at: Instant,
    /// The region of its credential scope (empty when unsigned).
    pub region: String,
    /// The request path.
    pub path: String,
    /// The operation: `GetAccount`, `AssumeRole`, or `unknown`.
    pub action: &'static str,
    /// The access key id the request was signed with (empty when unsigned).
    pub access_key: String,
    /// `None` when the signature was valid, else the error code answered.
    pub auth_error: Option<&'static str>,
}

/// A role `AssumeRole` may assume.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Role {
    arn: String,
    external_id: Option<String>,
}

/// One successful `AssumeRole`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The role assumed.
    pub role_arn: String,
    /// The `RoleSessionName` given.
    pub session_name: String,
    /// The `ExternalId` given.
    pub external_id: Option<String>,
    /// The temporary access key id issued.
    pub access_key: String,
}

/// How a region answers: a request-by-request script, or a timeline.
#[derive(Debug, Clone)]
enum Script {
    /// Each request takes the next step (the index); the last one repeats.
    Steps(Vec<Step>, usize),
    /// Answers depend on the time since `start`.
    Timeline(Timeline, Instant),
}

impl Script {
    fn next(&mut self) -> Step {
        match self {
            Script::Steps(steps, next) => {
                let step = steps[(*next).min(steps.len() - 1)].clone();
                *next = (*next + 1).min(steps.len() - 1);
                step
            }
            Script::Timeline(timeline, start) => timeline.step_at(start.elapsed()),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    credentials: HashMap<String, Secret>,
    roles: Vec<Role>,
    sessions: Vec<Session>,
    scripts: HashMap<String, Script>,
    default_script: Vec<Step>,
    /// The most recent [`MAX_CALLS_KEPT`] requests.
    calls: VecDeque<Call>,
    /// Requests received since start, including those no longer kept.
    calls_total: u64,
    pinpoint_email_gone: bool,
    clock_offset_secs: i64,
}

/// A running simulator.
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Simulator {
    /// Starts serving on `listener`, accepting requests signed with the secret key
    /// of `access_key_id`. Regions without a script answer a healthy account.
    pub fn start(listener: TcpListener, access_key_id: &str, secret_access_key: &str) -> Self {
        let addr = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let state = Arc::new(Mutex::new(State {
            credentials: HashMap::from([(
                access_key_id.to_string(),
                Secret {
                    secret_access_key: secret_access_key.to_string(),
                    session_token: None,
                },
            )]),
            default_script: vec![Step::Account(AccountState::healthy())],
            ..State::default()
        }));
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
        Simulator { addr, state, task }
    }

    /// The URL to give the SDK (`AWS_ENDPOINT_URL`).
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the script of `region`, starting from its first step.
    pub fn set_script(&self, region: &str, steps: Vec<Step>) {
        let steps = if steps.is_empty() {
            vec![Step::Account(AccountState::healthy())]
        } else {
            steps
        };
        lock(&self.state)
            .scripts
            .insert(region.to_string(), Script::Steps(steps, 0));
    }

    /// Plays `scenario`: each of its regions follows its timeline from now on,
    /// and requests must be signed with its credentials.
    pub fn load_scenario(&self, scenario: &Scenario) {
        let mut st = lock(&self.state);
        let now = Instant::now();
        for (region, timeline) in &scenario.regions {
            st.scripts
                .insert(region.clone(), Script::Timeline(timeline.clone(), now));
        }
        st.pinpoint_email_gone = !scenario.pinpoint_email_available;
        st.credentials.insert(
            scenario.credentials.access_key_id.clone(),
            Secret {
                secret_access_key: scenario.credentials.secret_access_key.clone(),
                session_token: None,
            },
        );
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Lets `AssumeRole` assume `role_arn`, requiring `external_id` when given.
    pub fn allow_role(&self, role_arn: &str, external_id: Option<&str>) {
        lock(&self.state).roles.push(Role {
            arn: role_arn.to_string(),
            external_id: external_id.map(str::to_string),
        });
    }

    /// The `AssumeRole` sessions issued so far.
    pub fn sessions(&self) -> Vec<Session> {
        lock(&self.state).sessions.clone()
    }

    /// The session token issued with the temporary `access_key` of an
    /// `AssumeRole` session.
    pub fn session_token(&self, access_key: &str) -> Option<String> {
        lock(&self.state)
            .credentials
            .get(access_key)
            .and_then(|s| s.session_token.clone())
    }

    /// Makes `GET /v1/email/account` answer 404 `UnknownOperationException`, as
    /// an endpoint that no longer serves the Pinpoint Email API would, or serve it
    /// again.
    pub fn set_pinpoint_email_gone(&self, gone: bool) {
        lock(&self.state).pinpoint_email_gone = gone;
    }

    /// Sets the simulator's clock `secs` seconds ahead of this machine's (behind
    /// when negative). As AWS does, requests signed more than 5 minutes away from
    /// that clock are refused with 403 `InvalidSignatureException`.
    pub fn set_clock_offset(&self, secs: i64) {
        lock(&self.state).clock_offset_secs = secs;
    }

    /// The requests received so far (the most recent [`MAX_CALLS_KEPT`]).
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.state).calls.iter().cloned().collect()
    }

    /// How many requests arrived since start (the log of [`Simulator::calls`]
    /// keeps only the most recent [`MAX_CALLS_KEPT`]).
    pub fn calls_total(&self) -> u64 {
        lock(&self.state).calls_total
    }

    /// The requests received so far for `region`.
    pub fn calls_for(&self, region: &str) -> Vec<Call> {
        lock(&self.state)
            .calls
            .iter()
            .filter(|c| c.region == region)
            .cloned()
            .collect()
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

async fn accept_loop(listener: TcpListener, state: Arc<Mutex<State>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        // A second descriptor of the socket keeps it open after hyper drops
        // its stream, so that a reset step can still set SO_LINGER to zero and
        // close it with a RST.
        let Some((stream, twin)) = stream
            .into_std()
            .and_then(|s| Ok((s.try_clone()?, s)))
            .ok()
            .and_then(|(twin, s)| {
                Some((
                    TcpStream::from_std(s).ok()?,
                    TcpStream::from_std(twin).ok()?,
                ))
            })
        else {
            continue;
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let reset = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&reset);
            let service = hyper::service::service_fn(move |req| {
                let state = Arc::clone(&state);
                let flag = Arc::clone(&flag);
                async move {
                    let answer = handle(req, &state).await;
                    if let Err(Dropped { reset: true }) = answer {
                        flag.store(true, Ordering::Relaxed);
                    }
                    answer
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if reset.load(Ordering::Relaxed) {
                let _ = twin.set_zero_linger();
            }
            drop(twin);
        });
    }
}

/// Error used to make hyper drop a connection without answering.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by the script")]
struct Dropped {
    /// Close with a TCP reset rather than a normal close.
    reset: bool,
}

/// Largest request body read; STS requests are a few hundred bytes.
const MAX_BODY: usize = 64 * 1024;

async fn handle(
    req: Request<Incoming>,
    state: &Mutex<State>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = req.into_parts();
    let Ok(body) = http_body_util::Limited::new(body, MAX_BODY).collect().await else {
        return Ok(aws_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("request bodies are limited to {MAX_BODY} bytes"),
        ));
    };
    let body = body.to_bytes();
    let path = parts.uri.path().to_string();
    let (action, service) = match (&parts.method, path.as_str()) {
        (&hyper::Method::POST, "/") => ("AssumeRole", "sts"),
        (&hyper::Method::GET, "/v1/email/account" | "/v2/email/account") => ("GetAccount", "ses"),
        _ => ("unknown", "ses"),
    };
    let verdict = {
        let st = lock(state);
        verify_sigv4(&parts, &body, &st.credentials, service).and_then(|signed| {
            match check_clock(&parts, st.clock_offset_secs) {
                Ok(()) => Ok(signed),
                Err(mut e) => {
                    e.region = signed.region;
                    Err(e)
                }
            }
        })
    };
    let (region, access_key, auth_error) = match &verdict {
        Ok(signed) => (signed.region.clone(), signed.access_key.clone(), None),
        Err(e) => (e.region.clone(), String::new(), Some(e.code)),
    };
    let step = {
        let mut st = lock(state);
        if st.calls.len() >= MAX_CALLS_KEPT {
            st.calls.pop_front();
        }
        st.calls_total += 1;
        st.calls.push_back(Call {
            at: Instant::now(),
            region: region.clone(),
            path: path.clone(),
            action,
            access_key,
            auth_error,
        });
        let v1_gone = st.pinpoint_email_gone && path.starts_with("/v1/");
        if auth_error.is_none() && action == "GetAccount" && !v1_gone {
            let default = Script::Steps(st.default_script.clone(), 0);
            Some(st.scripts.entry(region).or_insert(default).next())
        } else {
            None
        }
    };
    if let Err(e) = verdict {
        return Ok(match action {
            "AssumeRole" => sts_error(StatusCode::FORBIDDEN, e.code, &e.message),
            _ => aws_error(StatusCode::FORBIDDEN, e.code, e.message),
        });
    }
    match (action, step) {
        ("AssumeRole", _) => Ok(assume_role(&body, state)),
        (_, Some(step)) => answer(step, path.starts_with("/v2/")).await,
        ("GetAccount", None) => Ok(aws_error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            "The Amazon Pinpoint Email API has reached its end of support; use the Amazon SES v2 API.".into(),
        )),
        _ => Ok(aws_error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            format!("no operation at {} {path}", parts.method),
        )),
    }
}

/// Answers an STS `AssumeRole` (query protocol: a form body, an XML answer).
fn assume_role(body: &[u8], state: &Mutex<State>) -> Response<Full<Bytes>> {
    let form = parse_form(body);
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if field("Action").as_deref() != Some("AssumeRole") {
        return sts_error(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            "only AssumeRole is simulated",
        );
    }
    let (Some(role_arn), Some(session_name)) = (field("RoleArn"), field("RoleSessionName")) else {
        return sts_error(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            "RoleArn and RoleSessionName are required",
        );
    };
    let external_id = field("ExternalId");
    let mut st = lock(state);
    let allowed = st
        .roles
        .iter()
        .any(|r| r.arn == role_arn && (r.external_id.is_none() || r.external_id == external_id));
    if !allowed {
        return sts_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            &format!("User is not authorized to perform: sts:AssumeRole on resource: {role_arn}"),
        );
    }
    let n = st.sessions.len() + 1;
    let access_key = format!("ASIASIMULATOR{n:07}");
    let secret = Secret {
        secret_access_key: format!("simulated-secret-{n}-{}", fastrand::u64(..)),
        session_token: Some(format!("simulated-token-{n}-{}", fastrand::u64(..))),
    };
    st.credentials.insert(access_key.clone(), secret.clone());
    st.sessions.push(Session {
        role_arn: role_arn.clone(),
        session_name: session_name.clone(),
        external_id,
        access_key: access_key.clone(),
    });
    let expiration =
        humantime::format_rfc3339_seconds(std::time::SystemTime::now() + Duration::from_secs(3600));
    let xml = format!(
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
<AssumeRoleResult><Credentials><AccessKeyId>{access_key}</AccessKeyId>\
<SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken>\
<Expiration>{expiration}</Expiration></Credentials>\
<AssumedRoleUser><AssumedRoleId>AROASIMULATOR:{session}</AssumedRoleId>\
<Arn>{role}/{session}</Arn></AssumedRoleUser></AssumeRoleResult>\
<ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000001</RequestId></ResponseMetadata>\
</AssumeRoleResponse>",
        secret.secret_access_key,
        secret.session_token.unwrap_or_default(),
        session = xml_escape(&session_name),
        role = xml_escape(
            &role_arn
                .replace(":iam::", ":sts::")
                .replace(":role/", ":assumed-role/")
        ),
    );
    let mut resp = Response::new(Full::new(Bytes::from(xml)));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    resp
}

fn sts_error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let xml = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
<Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error>\
<RequestId>00000000-0000-4000-8000-000000000002</RequestId></ErrorResponse>",
        xml_escape(code),
        xml_escape(message)
    );
    let mut resp = Response::new(Full::new(Bytes::from(xml)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    resp
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Decodes an `application/x-www-form-urlencoded` body.
fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn answer(mut step: Step, v2: bool) -> Result<Response<Full<Bytes>>, Dropped> {
    loop {
        return Ok(match step {
            Step::Delay { millis, then } => {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                step = *then;
                continue;
            }
            Step::Account(a) if v2 => json(StatusCode::OK, a.to_json_v2()),
            Step::Account(a) => json(StatusCode::OK, a.to_json()),
            Step::Body(b) => json(StatusCode::OK, b),
            Step::Throttle => aws_error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                "Too many requests have been made to the operation.".into(),
            ),
            Step::Error { status, code } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                aws_error(status, &code, format!("simulated {code}"))
            }
            Step::Drop => return Err(Dropped { reset: false }),
            Step::Reset => return Err(Dropped { reset: true }),
        });
    }
}

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert(
        "x-amzn-requestid",
        HeaderValue::from_static("00000000-0000-4000-8000-000000000000"),
    );
    resp
}

fn aws_error(status: StatusCode, code: &str, message: String) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut resp = json(status, body);
    if let Ok(v) = HeaderValue::from_str(code) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_json_has_the_api_field_names() {
        let v: serde_json::Value =
            serde_json::from_str(&AccountState::healthy().to_json()).unwrap();
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
}
