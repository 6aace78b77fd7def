//! Answering a request: header checks, authentication, the rate limit, the
//! routes and the exposition.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    ACCEPT, ACCEPT_ENCODING, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONNECTION, CONTENT_ENCODING,
    CONTENT_TYPE, HOST, HeaderValue, RETRY_AFTER, VARY, WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};

use super::{Activity, MAX_HEADER_BYTES, Server};
use crate::metrics::{Format, accepts_gzip};
use crate::web_config::AuthOutcome;

/// The request's header fields in bytes, as written on the wire.
pub(super) fn header_bytes(req: &Request<Incoming>) -> usize {
    req.headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}

/// What is wrong with the request's `Host` header, as Go's server checks it:
/// an HTTP/1.1 request needs exactly one (CONNECT excepted), and its value may
/// hold only the characters of a host and port (or an IPv6 literal).
pub(super) fn host_problem(req: &Request<Incoming>) -> Option<&'static str> {
    let mut hosts = req.headers().get_all(HOST).iter();
    let first = hosts.next();
    if hosts.next().is_some() {
        return Some("too many Host headers");
    }
    match first {
        None if req.version() >= hyper::Version::HTTP_11 && req.method() != Method::CONNECT => {
            Some("missing required Host header")
        }
        Some(host) if !host.as_bytes().iter().all(|b| valid_host_byte(*b)) => {
            Some("malformed Host header")
        }
        _ => None,
    }
}

/// The bytes Go's `httpguts.ValidHostHeader` allows in a `Host` value.
pub(super) fn valid_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!$%&'()*+,-.:;=[]_~".contains(&b)
}

pub(super) fn too_many_requests() -> Response<Full<Bytes>> {
    let mut resp = text(StatusCode::TOO_MANY_REQUESTS, "429 too many requests\n");
    resp.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    resp
}

pub(super) fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

pub(super) fn landing_page(telemetry_path: &str) -> String {
    // The path was validated at start-up to hold no spaces, quotes are escaped here.
    let href = telemetry_path
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    format!(
        "<!DOCTYPE html>\n<html><head><title>Pinpoint Email Exporter</title></head>\n<body>\n\
         <h1>Pinpoint Email Exporter</h1>\n\
         <p>Sending quota, send rate and enforcement status of Amazon Pinpoint Email / SES accounts, \
         polled in the background.</p>\n\
         <ul>\n<li><a href=\"{href}\">Metrics</a></li>\n<li><a href=\"/healthz\">Health</a></li>\n\
         <li><a href=\"/readyz\">Readiness</a></li>\n</ul>\n<p>Version {}</p>\n</body></html>\n",
        env!("CARGO_PKG_VERSION")
    )
}

impl Server {
    /// Answers one request from `peer`: header size, authentication, rate
    /// limit, route, configured headers.
    pub(super) async fn handle(
        &self,
        req: Request<Incoming>,
        peer: std::net::SocketAddr,
        activity: &Activity,
    ) -> Response<Full<Bytes>> {
        let web = self.web.current();
        let mut resp = if header_bytes(&req) > MAX_HEADER_BYTES {
            self.refused(peer, &"request header fields over 64 KiB (431)");
            text(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "431 request header fields too large: at most 64 KiB\n",
            )
        } else if let Some(problem) = host_problem(&req) {
            self.refused(peer, &format_args!("{problem} (400)"));
            // As Go's server answers, closing the connection.
            let mut resp = text(
                StatusCode::BAD_REQUEST,
                &format!("400 Bad Request: {problem}"),
            );
            resp.headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            resp
        } else {
            // Trusted again only once this request passes: a connection waiting
            // for a password check can always be closed.
            activity.trusted.store(false, Ordering::Relaxed);
            activity.busy.store(true, Ordering::Relaxed);
            let (outcome, delay) = self
                .auth
                .check(&web, req.headers().get(AUTHORIZATION), peer)
                .await;
            let allowed = outcome == AuthOutcome::Allowed;
            activity.trusted.store(allowed, Ordering::Relaxed);
            if !allowed {
                activity.refused.store(true, Ordering::Relaxed);
                // The client's penalty; the connection can be closed meanwhile.
                tokio::time::sleep(delay).await;
            }
            match outcome {
                AuthOutcome::Allowed => {
                    // Counted after authentication, so clients without valid
                    // credentials never spend the scraper's budget.
                    if web.rate_limit.as_ref().is_some_and(|r| !r.allow()) {
                        too_many_requests()
                    } else {
                        self.route(&req)
                    }
                }
                AuthOutcome::Throttled => too_many_requests(),
                AuthOutcome::Missing
                | AuthOutcome::Malformed
                | AuthOutcome::Denied
                | AuthOutcome::LockedOut => {
                    let mut resp = text(StatusCode::UNAUTHORIZED, "401 unauthorized\n");
                    resp.headers_mut().insert(
                        WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"pinpoint-email-exporter\""),
                    );
                    if outcome == AuthOutcome::LockedOut {
                        resp.headers_mut()
                            .insert(RETRY_AFTER, HeaderValue::from_static("5"));
                    }
                    resp
                }
            }
        };
        activity.busy.store(false, Ordering::Relaxed);
        for (name, value) in &web.headers {
            resp.headers_mut().insert(name.clone(), value.clone());
        }
        resp
    }

    /// Answers one authorised request.
    pub fn route(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path();
        let method = req.method();
        let readable = method == Method::GET || method == Method::HEAD;
        let known = path == self.telemetry_path || matches!(path, "/" | "/healthz" | "/readyz");
        if !known {
            return text(StatusCode::NOT_FOUND, "404 page not found\n");
        }
        if !readable {
            let mut resp = text(
                StatusCode::METHOD_NOT_ALLOWED,
                "405 method not allowed: use GET or HEAD\n",
            );
            resp.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return resp;
        }
        if path == self.telemetry_path {
            return self.metrics(req);
        }
        match path {
            "/healthz" => text(StatusCode::OK, "ok\n"),
            "/readyz" => {
                let discovering = self.store.pending_discoveries();
                if !discovering.is_empty() {
                    return text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &format!(
                            "not ready: waiting for the first listing of discovery {}\n",
                            discovering.join(", ")
                        ),
                    );
                }
                let pending = self.store.pending();
                if pending.is_empty() {
                    text(
                        StatusCode::OK,
                        "ready: every target and region polled at least once\n",
                    )
                } else {
                    // Named up to a point: with thousands pending, a count says enough.
                    const NAMED: usize = 20;
                    let list: Vec<String> = pending
                        .iter()
                        .take(NAMED)
                        .map(|k| format!("{}/{}", k.target, k.region))
                        .collect();
                    let more = match pending.len().saturating_sub(NAMED) {
                        0 => String::new(),
                        n => format!(" and {n} more"),
                    };
                    text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &format!(
                            "not ready: waiting for the first poll of {}{more}\n",
                            list.join(", ")
                        ),
                    )
                }
            }
            _ => {
                let mut resp =
                    Response::new(Full::new(Bytes::from(landing_page(&self.telemetry_path))));
                resp.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                resp
            }
        }
    }
}

impl Server {
    /// The exposition in the format the scraper's `Accept` prefers (OpenMetrics
    /// or the text format), gzip-compressed when its `Accept-Encoding` allows.
    pub(super) fn metrics(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        let format = Format::negotiate(header(ACCEPT));
        let gzip = accepts_gzip(header(ACCEPT_ENCODING));
        let mut resp = Response::new(Full::new(self.store.encode_as(format, gzip)));
        let headers = resp.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        headers.insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
        if gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        resp
    }
}
