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

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;

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
        }
    }

    /// The JSON body `GetAccount` answers with.
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
    /// `None` when the signature was valid, else the error code answered.
    pub auth_error: Option<&'static str>,
}

#[derive(Debug, Default)]
struct State {
    credentials: HashMap<String, String>,
    scripts: HashMap<String, (Vec<Step>, usize)>,
    default_script: Vec<Step>,
    calls: Vec<Call>,
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
                secret_access_key.to_string(),
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
            .insert(region.to_string(), (steps, 0));
    }

    /// Every request received so far.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.state).calls.clone()
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
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let state = Arc::clone(&state);
                async move { handle(req, &state).await }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Error used to make hyper drop a connection without answering.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by the script")]
struct Dropped;

async fn handle(
    req: Request<Incoming>,
    state: &Mutex<State>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let path = req.uri().path().to_string();
    let verdict = {
        let st = lock(state);
        verify_sigv4(&req, &st.credentials)
    };
    let (region, auth_error) = match &verdict {
        Ok(region) => (region.clone(), None),
        Err(e) => (e.region.clone(), Some(e.code)),
    };
    let step = {
        let mut st = lock(state);
        st.calls.push(Call {
            at: Instant::now(),
            region: region.clone(),
            path: path.clone(),
            auth_error,
        });
        if auth_error.is_none()
            && matches!(path.as_str(), "/v1/email/account" | "/v2/email/account")
        {
            let default = st.default_script.clone();
            let (steps, next) = st.scripts.entry(region).or_insert((default, 0));
            let step = steps[(*next).min(steps.len() - 1)].clone();
            *next = (*next + 1).min(steps.len() - 1);
            Some(step)
        } else {
            None
        }
    };
    if let Err(e) = verdict {
        return Ok(aws_error(StatusCode::FORBIDDEN, e.code, e.message));
    }
    if req.method() != hyper::Method::GET {
        return Ok(aws_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "UnknownOperationException",
            "only GET is served by this simulator".into(),
        ));
    }
    match step {
        None => Ok(aws_error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            format!("no operation at {path}"),
        )),
        Some(step) => answer(step).await,
    }
}

async fn answer(mut step: Step) -> Result<Response<Full<Bytes>>, Dropped> {
    loop {
        return Ok(match step {
            Step::Delay { millis, then } => {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                step = *then;
                continue;
            }
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
            Step::Drop => return Err(Dropped),
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

/// Why a request's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    /// The region of the credential scope, when it could be read.
    pub region: String,
    /// The AWS error code.
    pub code: &'static str,
    /// The message AWS would give.
    pub message: String,
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so the error branch is never taken.
    let Ok(mut mac) = <HmacSha256 as Mac>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Checks the SigV4 `Authorization` header of `req` (service `ses`, no body) and
/// returns the region of its credential scope.
pub fn verify_sigv4<B>(
    req: &Request<B>,
    credentials: &HashMap<String, String>,
) -> Result<String, AuthError> {
    let fail = |region: &str, code: &'static str, message: &str| AuthError {
        region: region.to_string(),
        code,
        message: message.to_string(),
    };
    let Some(auth) = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
    else {
        return Err(fail(
            "",
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let Some(rest) = auth.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return Err(fail(
            "",
            "IncompleteSignatureException",
            "Authorization header is not AWS4-HMAC-SHA256",
        ));
    };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(fail(
            "",
            "IncompleteSignatureException",
            "Authorization header requires Credential, SignedHeaders and Signature",
        ));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, terminator] = scope[..] else {
        return Err(fail(
            "",
            "IncompleteSignatureException",
            "Credential must be KEY/DATE/REGION/SERVICE/aws4_request",
        ));
    };
    if terminator != "aws4_request" {
        return Err(fail(
            region,
            "IncompleteSignatureException",
            "Credential must end with aws4_request",
        ));
    }
    if service != "ses" {
        return Err(fail(
            region,
            "InvalidSignatureException",
            &format!("Credential should be scoped to correct service: 'ses', not '{service}'."),
        ));
    }
    let Some(secret) = credentials.get(access_key) else {
        return Err(fail(
            region,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    };
    let Some(amz_date) = req
        .headers()
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
    else {
        return Err(fail(
            region,
            "IncompleteSignatureException",
            "x-amz-date header is missing",
        ));
    };
    if !amz_date.starts_with(date) {
        return Err(fail(
            region,
            "InvalidSignatureException",
            "Date in Credential scope does not match x-amz-date",
        ));
    }
    let names: Vec<&str> = signed_headers.split(';').collect();
    if !names.contains(&"host") {
        return Err(fail(
            region,
            "InvalidSignatureException",
            "'Host' must be a signed header",
        ));
    }

    let mut canonical_headers = String::new();
    for name in &names {
        let values: Vec<String> = req
            .headers()
            .get_all(*name)
            .iter()
            .map(|v| collapse_spaces(&String::from_utf8_lossy(v.as_bytes())))
            .collect();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let mut query: Vec<&str> = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .collect();
    query.sort_unstable();
    let payload_hash = req
        .headers()
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| hex::encode(Sha256::digest(b"")));
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method(),
        req.uri().path(),
        query.join("&"),
        canonical_headers,
        signed_headers,
        payload_hash
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    let expected = hex::encode(hmac(&k_signing, string_to_sign.as_bytes()));
    if expected != signature {
        return Err(fail(
            region,
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
        ));
    }
    Ok(region.to_string())
}

fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example request of the SigV4 documentation (GET with a query, IAM
    /// service), with the scope's service changed to `ses` and re-signed by hand.
    fn signed_request(secret: &str, service: &str) -> Request<()> {
        let date = "20150830T123600Z";
        let host = "email.us-east-1.amazonaws.com";
        let canonical = format!(
            "GET\n/v1/email/account\n\nhost:{host}\nx-amz-date:{date}\n\nhost;x-amz-date\n{}",
            hex::encode(Sha256::digest(b""))
        );
        let sts = format!(
            "AWS4-HMAC-SHA256\n{date}\n20150830/us-east-1/{service}/aws4_request\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let k = hmac(format!("AWS4{secret}").as_bytes(), b"20150830");
        let k = hmac(&k, b"us-east-1");
        let k = hmac(&k, service.as_bytes());
        let k = hmac(&k, b"aws4_request");
        let sig = hex::encode(hmac(&k, sts.as_bytes()));
        Request::get("/v1/email/account")
            .header("host", host)
            .header("x-amz-date", date)
            .header(
                "authorization",
                format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature={sig}"),
            )
            .body(())
            .unwrap()
    }

    fn creds() -> HashMap<String, String> {
        HashMap::from([(
            "AKIDEXAMPLE".to_string(),
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_string(),
        )])
    }

    #[test]
    fn accepts_a_valid_signature_and_reads_the_region() {
        let req = signed_request("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "ses");
        assert_eq!(verify_sigv4(&req, &creds()), Ok("us-east-1".to_string()));
    }

    #[test]
    fn rejects_wrong_secret_service_key_and_missing_header() {
        let req = signed_request("wrong", "ses");
        assert_eq!(
            verify_sigv4(&req, &creds()).unwrap_err().code,
            "InvalidSignatureException"
        );
        let req = signed_request("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "email");
        let err = verify_sigv4(&req, &creds()).unwrap_err();
        assert!(err.message.contains("'ses'"), "{err:?}");
        let other = HashMap::from([("OTHER".to_string(), "x".to_string())]);
        let req = signed_request("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "ses");
        assert_eq!(
            verify_sigv4(&req, &other).unwrap_err().code,
            "UnrecognizedClientException"
        );
        let req = Request::get("/v1/email/account").body(()).unwrap();
        assert_eq!(
            verify_sigv4(&req, &creds()).unwrap_err().code,
            "MissingAuthenticationTokenException"
        );
    }

    #[test]
    fn account_json_has_the_api_field_names() {
        let v: serde_json::Value =
            serde_json::from_str(&AccountState::healthy().to_json()).unwrap();
        assert_eq!(v["SendQuota"]["Max24HourSend"], 50000.0);
        assert_eq!(v["EnforcementStatus"], "HEALTHY");
        assert_eq!(v["ProductionAccessEnabled"], true);
    }
}
