//! The HTTP side: accepting connections, checking signatures and clocks,
//! answering each request with the next step of its region.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use crate::cloudwatch;
use crate::dedicated_ips::{self, DedicatedIpsStep};
use crate::identities::{self, IdentitiesStep};
use crate::organizations;
use crate::reply::{aws_error, json, scripted_error, throttled};
use crate::sigv4::{self, verify_sigv4};
use crate::sts::{assume_role, get_caller_identity, sts_error};
use crate::{Call, MAX_CALLS_KEPT, Script, State, Step, lock};

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

pub(crate) async fn accept_loop(listener: TcpListener, state: Arc<Mutex<State>>) {
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

/// Unsigned `GET` of the simulator's own statistics (not an AWS API).
pub const STATS_PATH: &str = "/_simulator/stats";

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
    if parts.method == hyper::Method::GET && path == STATS_PATH {
        return Ok(json(StatusCode::OK, crate::stats(&lock(state)).to_string()));
    }
    let (action, service) = operation(&parts, &body);
    let verdict = verify(&parts, &body, state, service);
    let (region, access_key, auth_error) = match &verdict {
        Ok(signed) => (signed.region.clone(), signed.access_key.clone(), None),
        Err(e) => (e.region.clone(), String::new(), Some(e.code)),
    };
    let caller = access_key.clone();
    let query = parts.uri.query().unwrap_or("").to_string();
    let planned = plan(
        &mut lock(state),
        Asked {
            action,
            service,
            region,
            access_key,
            auth_error,
            first_page: !query.contains("NextToken=") && identities::token(&body).is_none(),
        },
        &path,
    );
    if planned.auth_error == Some("ExpiredTokenException") {
        return Ok(aws_error(
            StatusCode::FORBIDDEN,
            "ExpiredTokenException",
            "The security token included in the request is expired".into(),
        ));
    }
    if let Err(e) = verdict {
        return Ok(refusal(action, service, &e));
    }
    if action == "GetMetricData" {
        lock(state).cloudwatch_metrics += cloudwatch::metrics_requested(&body) as u64;
    }
    respond(
        planned,
        (action, &caller, &parts.method, &path, &query),
        &body,
        state,
    )
    .await
}

/// The answer to a request that passed its checks: from the other services'
/// scripts, else from its region's step.
async fn respond(
    planned: Planned,
    (action, caller, method, path, query): (&str, &str, &hyper::Method, &str, &str),
    body: &[u8],
    state: &Mutex<State>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let Planned {
        step,
        cloudwatch,
        dedicated_ips,
        identities,
        organization,
        ..
    } = planned;
    if let Some(org) = organization {
        return Ok(organizations::answer(&org, action, body));
    }
    if let Some(step) = cloudwatch {
        return Ok(cloudwatch::answer(&step, body));
    }
    if let Some(step) = dedicated_ips {
        return Ok(dedicated_ips::answer(step, query));
    }
    if let Some(step) = identities {
        return Ok(identities::answer(step, path, query, body));
    }
    match (action, step) {
        ("AssumeRole", _) => Ok(assume_role(body, state)),
        ("GetCallerIdentity", _) => Ok(get_caller_identity(caller, state)),
        (_, Some(step)) => answer(step, path.starts_with("/v2/")).await,
        ("GetAccount" | "GetDedicatedIps" | "ListEmailIdentities" | "GetEmailIdentity", None) => Ok(aws_error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            "The Amazon Pinpoint Email API has reached its end of support; use the Amazon SES v2 API.".into(),
        )),
        _ => Ok(aws_error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            format!("no operation at {method} {path}"),
        )),
    }
}

/// What a call made of the script: its step, or the answers of the other
/// services; and its auth error (an expired session too).
struct Planned {
    step: Option<Step>,
    cloudwatch: Option<crate::CloudWatchStep>,
    dedicated_ips: Option<DedicatedIpsStep>,
    identities: Option<IdentitiesStep>,
    organization: Option<crate::organizations::Organization>,
    auth_error: Option<&'static str>,
}

/// What was asked: the operation, its service, and who signed for which
/// region (or why the signature was refused).
struct Asked {
    action: &'static str,
    service: &'static str,
    region: String,
    access_key: String,
    auth_error: Option<&'static str>,
    /// Whether it asks for a listing's first page (it has no `NextToken`).
    first_page: bool,
}

/// Records a call (of `path`) and takes what it answers from
/// the scripts.
fn plan(st: &mut State, asked: Asked, path: &str) -> Planned {
    let Asked {
        action,
        service,
        region,
        access_key,
        mut auth_error,
        first_page,
    } = asked;
    if st.calls.len() >= MAX_CALLS_KEPT {
        st.calls.pop_front();
    }
    st.calls_total += 1;
    *st.calls_by_action.entry(action).or_default() += 1;
    if action == "AssumeRole" {
        let second = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        *st.assume_role_seconds.entry(second).or_default() += 1;
    }
    let (account, expired) = match st.session_accounts.get(&access_key) {
        Some((account, expires)) => (account.clone(), *expires < std::time::SystemTime::now()),
        None => (String::new(), false),
    };
    if expired && auth_error.is_none() {
        auth_error = Some("ExpiredTokenException");
    }
    let member = st.member_account(&account, &region);
    st.calls.push_back(Call {
        at: Instant::now(),
        region: region.clone(),
        path: path.to_string(),
        action,
        access_key,
        account: account.clone(),
        auth_error,
    });
    let v1_gone = st.pinpoint_email_gone && path.starts_with("/v1/");
    let org = (service == "organizations").then(|| st.organization.clone());
    let mut planned = Planned {
        step: None,
        cloudwatch: None,
        dedicated_ips: None,
        identities: None,
        organization: None,
        auth_error,
    };
    match (action, member) {
        _ if auth_error.is_some() => {}
        ("GetAccount", Some((a, _))) if !v1_gone => planned.step = Some(Step::Account(a)),
        ("GetAccount", None) if !v1_gone => {
            let default = Script::Steps(st.default_script.clone(), 0);
            planned.step = Some(st.scripts.entry(region).or_insert(default).next());
        }
        ("GetMetricData", Some((_, sends))) => {
            planned.cloudwatch = Some(if sends {
                crate::CloudWatchStep::healthy()
            } else {
                crate::CloudWatchStep::none()
            });
        }
        ("GetMetricData", None) => planned.cloudwatch = Some(st.next_cloudwatch(&region)),
        ("ListEmailIdentities" | "GetEmailIdentity", Some(_)) if !v1_gone => {
            planned.identities = Some(crate::IdentitiesStep::Identities(
                crate::identities::of_member(&account),
            ));
        }
        ("GetDedicatedIps", _) if !v1_gone => {
            planned.dedicated_ips = Some(st.dedicated_ips(&region, first_page));
        }
        ("ListEmailIdentities", None) if !v1_gone => {
            planned.identities = Some(st.identities(&region, first_page));
        }
        ("GetEmailIdentity", None) if !v1_gone => {
            planned.identities = Some(st.identities(&region, false));
        }
        _ => planned.organization = org,
    }
    planned
}

/// The operation a request asks for, and the service it is signed for.
fn operation(parts: &hyper::http::request::Parts, body: &[u8]) -> (&'static str, &'static str) {
    let path = parts.uri.path();
    let organizations_op = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix(organizations::TARGET_PREFIX))
        .map(|op| match op {
            "ListAccounts" => "ListAccounts",
            "ListAccountsForParent" => "ListAccountsForParent",
            "ListOrganizationalUnitsForParent" => "ListOrganizationalUnitsForParent",
            "ListTagsForResource" => "ListTagsForResource",
            _ => "unknown",
        });
    match (&parts.method, path) {
        (&hyper::Method::POST, "/") if organizations_op.is_some() => {
            (organizations_op.unwrap_or("unknown"), "organizations")
        }
        (&hyper::Method::POST, "/")
            if crate::sts::action(body).as_deref() == Some("GetCallerIdentity") =>
        {
            ("GetCallerIdentity", "sts")
        }
        (&hyper::Method::POST, "/") => ("AssumeRole", "sts"),
        (&hyper::Method::GET, "/v1/email/account" | "/v2/email/account") => ("GetAccount", "ses"),
        (&hyper::Method::POST, cloudwatch::GET_METRIC_DATA_PATH) => ("GetMetricData", "monitoring"),
        (&hyper::Method::GET, "/v1/email/dedicated-ips" | "/v2/email/dedicated-ips") => {
            ("GetDedicatedIps", "ses")
        }
        (&hyper::Method::GET, p) if identities::PATHS.contains(&p) => {
            ("ListEmailIdentities", "ses")
        }
        (&hyper::Method::POST, identities::SESV2_LIST_PATH) => ("ListEmailIdentities", "ses"),
        (&hyper::Method::GET, p)
            if identities::PATHS.iter().any(|l| {
                p.strip_prefix(l)
                    .and_then(|n| n.strip_prefix('/'))
                    .is_some_and(|name| !name.is_empty() && !name.contains('/'))
            }) =>
        {
            ("GetEmailIdentity", "ses")
        }
        _ => ("unknown", "ses"),
    }
}

/// Whether the request is signed with the simulator's credentials for
/// `service`, at a time within the clock skew AWS allows.
fn verify(
    parts: &hyper::http::request::Parts,
    body: &[u8],
    state: &Mutex<State>,
    service: &str,
) -> Result<crate::sigv4::Signed, crate::sigv4::AuthError> {
    let st = lock(state);
    verify_sigv4(parts, body, &st.credentials, service).and_then(|signed| {
        match check_clock(parts, st.clock_offset_secs) {
            Ok(()) => Ok(signed),
            Err(mut e) => {
                e.region = signed.region;
                Err(e)
            }
        }
    })
}

/// The answer to a request whose signature or clock is refused, in the
/// error format of its service.
fn refusal(action: &str, service: &str, e: &crate::sigv4::AuthError) -> Response<Full<Bytes>> {
    match action {
        _ if service == "organizations" => {
            organizations::error(StatusCode::BAD_REQUEST, e.code, &e.message)
        }
        "AssumeRole" | "GetCallerIdentity" => sts_error(StatusCode::FORBIDDEN, e.code, &e.message),
        "GetMetricData" => cloudwatch::error(StatusCode::FORBIDDEN, e.code, &e.message),
        _ => aws_error(StatusCode::FORBIDDEN, e.code, e.message.clone()),
    }
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
            Step::Status { status, body } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut resp = Response::new(Full::new(Bytes::from(body)));
                *resp.status_mut() = status;
                resp.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
                resp
            }
            Step::Throttle => throttled(),
            Step::Error { status, code } => scripted_error(status, &code),
            Step::Drop => return Err(Dropped { reset: false }),
            Step::Reset => return Err(Dropped { reset: true }),
        });
    }
}
