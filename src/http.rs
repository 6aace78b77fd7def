//! The HTTP side: listener, TLS, basic auth, routes, connection limits, graceful
//! shutdown.
//!
//! Scrapes only read the snapshot store; nothing here calls AWS. TLS, users,
//! headers and the rate limit come from the web config ([`crate::web`]), looked
//! up afresh for every connection (TLS) and every request (the rest), so a
//! changed file applies without a restart.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    ACCEPT, ACCEPT_ENCODING, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONNECTION, CONTENT_ENCODING,
    CONTENT_TYPE, HOST, HeaderValue, RETRY_AFTER, VARY, WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};

use crate::metrics::{Format, Store, accepts_gzip};
use crate::web::{AuthOutcome, Authenticator, Watcher};

/// How long a client may take to send its request headers (and, with TLS, to
/// finish its handshake).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The most bytes of request header fields answered; beyond, 431. (hyper's
/// read buffer is twice this, so that this limit alone decides; a request line
/// and headers beyond that are refused by hyper, with 431 too.)
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The most request header fields answered; beyond, 431 (hyper's limit, set
/// here so that it is stated once).
pub const MAX_HEADER_FIELDS: usize = 100;

/// How long in-flight requests may take to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The answer to a plain HTTP request on the TLS port, as Go's server sends it.
const PLAIN_HTTP_TO_TLS: &[u8] =
    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

/// Whether a connection on the TLS port starts with what looks like an HTTP
/// request line (`GET /`, `HEAD `, ...) instead of a TLS handshake record.
async fn speaks_plain_http(stream: &tokio::net::TcpStream) -> bool {
    let mut first = [0u8; 5];
    match stream.peek(&mut first).await {
        Ok(n) if n > 0 => {
            first[0] != 0x16
                && first[..n]
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || *b == b' ' || *b == b'/')
        }
        _ => false,
    }
}

/// What the routes need.
#[derive(Debug)]
pub struct Server {
    store: Arc<Store>,
    telemetry_path: String,
    max_connections: usize,
    web: Arc<Watcher>,
    auth: Authenticator,
    connections: Connections,
}

/// What a connection is doing, for choosing which one to close when all slots
/// are taken.
#[derive(Debug)]
struct Activity {
    /// A request is being answered.
    busy: AtomicBool,
    /// Its last request passed authentication (any request, without basic
    /// auth).
    trusted: AtomicBool,
    /// A request on it was refused by authentication.
    refused: AtomicBool,
    /// When it last finished answering a request (or was accepted), in
    /// milliseconds since [`Connections::epoch`].
    last_active_ms: AtomicU64,
}

impl Activity {
    fn touch(&self, epoch: Instant) {
        self.last_active_ms
            .store(epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

/// Each open connection's activity and the sender that asks it to close.
type OpenConnections = HashMap<u64, (Arc<Activity>, oneshot::Sender<()>)>;

/// The open connections and how to close each.
#[derive(Debug)]
struct Connections {
    epoch: Instant,
    next_id: AtomicU64,
    open: Mutex<OpenConnections>,
}

impl Connections {
    fn new() -> Self {
        Connections {
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Registers a new connection: its id, its activity, and what resolves when
    /// it must close.
    fn open(&self) -> (u64, Arc<Activity>, oneshot::Receiver<()>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity {
            busy: AtomicBool::new(false),
            trusted: AtomicBool::new(false),
            refused: AtomicBool::new(false),
            last_active_ms: AtomicU64::new(0),
        });
        activity.touch(self.epoch);
        let (tx, rx) = oneshot::channel();
        self.lock().insert(id, (Arc::clone(&activity), tx));
        (id, activity, rx)
    }

    /// Forgets a connection that ended.
    fn close(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Asks a connection to close, the one idle the longest of the first of
    /// these that has one: connections that never passed authentication and
    /// were refused (whatever they do now: wait for a password check or their
    /// penalty); that never passed it and are not answering a request (a client
    /// that never finishes its headers); that passed it and are not answering
    /// a request (keep-alive between scrapes); that never passed it and are
    /// having their first password checked. A connection answering an
    /// authorised request is never closed. Returns whether there was one.
    fn close_idlest(&self) -> bool {
        let mut open = self.lock();
        let idlest = open
            .iter()
            .filter_map(|(id, (a, _))| {
                let trusted = a.trusted.load(Ordering::Relaxed);
                let busy = a.busy.load(Ordering::Relaxed);
                let class = match (trusted, busy) {
                    (false, _) if a.refused.load(Ordering::Relaxed) => 0,
                    (false, false) => 1,
                    (true, false) => 2,
                    (false, true) => 3,
                    (true, true) => return None,
                };
                Some(((class, a.last_active_ms.load(Ordering::Relaxed)), *id))
            })
            .min()
            .map(|(_, id)| id);
        match idlest.and_then(|id| open.remove(&id)) {
            Some((_, close)) => {
                let _ = close.send(());
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OpenConnections> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Server {
    /// A server exposing `store` at `telemetry_path`, serving at most
    /// `max_connections` connections at once, with TLS, users and headers of `web`.
    pub fn new(
        store: Arc<Store>,
        telemetry_path: String,
        max_connections: usize,
        web: Arc<Watcher>,
    ) -> Self {
        let counted = Arc::clone(&store);
        Server {
            store,
            telemetry_path,
            max_connections: max_connections.max(1),
            web,
            auth: Authenticator::new(Some(Arc::new(move |reason| {
                counted.count_auth_failure(reason)
            }))),
            connections: Connections::new(),
        }
    }

    /// Serves connections from every listener until `shutdown` resolves, then
    /// stops accepting, lets in-flight requests finish (for at most
    /// [`SHUTDOWN_GRACE`]) and returns. The listeners share the connection limit.
    pub async fn serve(
        self: Arc<Self>,
        listeners: Vec<TcpListener>,
        shutdown: impl Future<Output = ()>,
    ) {
        let limit = Arc::new(Semaphore::new(self.max_connections));
        let graceful = GracefulShutdown::new();
        // One task accepts on each listener; the loop below takes connections in
        // the order they came, whichever listener took them.
        let (accepted_tx, mut accepted_rx) = tokio::sync::mpsc::channel(1);
        let mut acceptors = tokio::task::JoinSet::new();
        for listener in listeners {
            let accepted_tx = accepted_tx.clone();
            acceptors.spawn(async move {
                loop {
                    match listener.accept().await {
                        Ok(conn) => {
                            if accepted_tx.send(conn).await.is_err() {
                                return;
                            }
                        }
                        Err(err) => {
                            // Usually EMFILE or a connection reset before accept:
                            // pause briefly rather than spin.
                            tracing::warn!(error = %err, "accepting a connection failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
            });
        }
        drop(accepted_tx);
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                _ = &mut shutdown => break,
                accepted = accepted_rx.recv() => match accepted {
                    Some(conn) => conn,
                    None => break,
                },
            };
            // A slot per connection bounds memory. When all are taken, a
            // connection that never passed authentication (a client that never
            // finishes its headers, or sends wrong passwords), else the one idle
            // the longest (a keep-alive connection between scrapes), is closed
            // to make room, so no client can lock out a scraper; only when every
            // connection is answering an authorised request does the new one
            // wait, and that never waits on a password check.
            let permit = match limit.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(_) => {
                    if self.connections.close_idlest() {
                        self.refused(
                            peer,
                            &"all connection slots taken; closed the connection idle the longest",
                        );
                    }
                    tokio::select! {
                        _ = &mut shutdown => break,
                        permit = limit.clone().acquire_owned() => match permit {
                            Ok(p) => p,
                            Err(_) => break,
                        },
                    }
                }
            };
            let _ = stream.set_nodelay(true);
            let server = Arc::clone(&self);
            let watcher = graceful.watcher();
            let (id, activity, closed) = self.connections.open();
            tokio::spawn(async move {
                tokio::select! {
                    _ = Arc::clone(&server).serve_stream(stream, peer, watcher, activity) => {}
                    _ = closed => {}
                }
                server.connections.close(id);
                drop(permit);
            });
        }
        acceptors.abort_all();
        drop(accepted_rx);
        tokio::select! {
            _ = graceful.shutdown() => {}
            _ = tokio::time::sleep(SHUTDOWN_GRACE) => {
                tracing::warn!("connections still open after the shutdown grace period; closing them");
            }
        }
    }

    /// Serves one accepted connection: plain HTTP, or TLS when the web config
    /// has it, the handshake bounded by [`HEADER_READ_TIMEOUT`].
    async fn serve_stream(
        self: Arc<Self>,
        stream: tokio::net::TcpStream,
        peer: std::net::SocketAddr,
        watcher: hyper_util::server::graceful::Watcher,
        activity: Arc<Activity>,
    ) {
        let Some(tls) = self.web.current().tls.clone() else {
            return self.serve_connection(stream, peer, watcher, activity).await;
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        let handshake = async {
            if speaks_plain_http(&stream).await {
                // As Go's server answers: a readable reason, not a TLS alert.
                use tokio::io::AsyncWriteExt as _;
                let mut stream = stream;
                let _ = stream.write_all(PLAIN_HTTP_TO_TLS).await;
                let _ = stream.shutdown().await;
                return Err(std::io::Error::other(
                    "a plain HTTP request on the TLS port",
                ));
            }
            acceptor.accept(stream).await
        };
        match tokio::time::timeout(HEADER_READ_TIMEOUT, handshake).await {
            Ok(Ok(tls_stream)) => {
                self.serve_connection(tls_stream, peer, watcher, activity)
                    .await
            }
            Ok(Err(err)) => self.refused(peer, &format_args!("TLS handshake failed: {err}")),
            Err(_) => self.refused(peer, &"TLS handshake timed out"),
        }
    }

    /// Serves HTTP/1.1 requests on one accepted (and, with TLS, handshaken) stream.
    async fn serve_connection<S>(
        self: Arc<Self>,
        stream: S,
        peer: std::net::SocketAddr,
        watcher: hyper_util::server::graceful::Watcher,
        activity: Arc<Activity>,
    ) where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let server = Arc::clone(&self);
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .max_buf_size(2 * MAX_HEADER_BYTES)
            .max_headers(MAX_HEADER_FIELDS)
            .serve_connection(
                TokioIo::new(stream),
                hyper::service::service_fn(move |req| {
                    let server = Arc::clone(&server);
                    let activity = Arc::clone(&activity);
                    async move {
                        let resp = server.handle(req, peer, &activity).await;
                        activity.touch(server.connections.epoch);
                        Ok::<_, Infallible>(resp)
                    }
                }),
            );
        if let Err(err) = watcher.watch(conn).await {
            self.refused(peer, &format_args!("connection ended with an error: {err}"));
        }
    }

    /// Logs at debug level that a connection or request of `peer` was refused,
    /// at most once per client per `RefusalLog::EVERY` (10 s), with how
    /// many refusals went unlogged since.
    fn refused(&self, peer: std::net::SocketAddr, why: &dyn std::fmt::Display) {
        let now = tokio::time::Instant::now();
        if let Some(unlogged) = self.auth.refusals().admit(peer.ip(), now) {
            tracing::debug!(%peer, unlogged, reason = %why, "connection or request refused");
        }
    }

    /// Answers one request from `peer`: header size, authentication, rate
    /// limit, route, configured headers.
    async fn handle(
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
    fn metrics(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
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

/// The request's header fields in bytes, as written on the wire.
fn header_bytes(req: &Request<Incoming>) -> usize {
    req.headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}

/// What is wrong with the request's `Host` header, as Go's server checks it:
/// an HTTP/1.1 request needs exactly one (CONNECT excepted), and its value may
/// hold only the characters of a host and port (or an IPv6 literal).
fn host_problem(req: &Request<Incoming>) -> Option<&'static str> {
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
fn valid_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!$%&'()*+,-.:;=[]_~".contains(&b)
}

fn too_many_requests() -> Response<Full<Bytes>> {
    let mut resp = text(StatusCode::TOO_MANY_REQUESTS, "429 too many requests\n");
    resp.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    resp
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
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

fn landing_page(telemetry_path: &str) -> String {
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
