//! The HTTP side: listener, TLS, basic auth, routes, connection limits, graceful
//! shutdown.
//!
//! Scrapes only read the snapshot store; nothing here calls AWS. TLS, users,
//! headers and the rate limit come from the web config ([`crate::web_config`]), looked
//! up afresh for every connection (TLS) and every request (the rest), so a
//! changed file applies without a restart.

mod connections;
mod routes;

use connections::{Activity, Connections};

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::metrics::Store;
use crate::web_config::{Authenticator, WebConfig};

/// How long a client may take to send its request headers (and, with TLS, to
/// finish its handshake).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The most bytes of request header fields answered; beyond, 431. (hyper's
/// read buffer is twice this, so that this limit alone decides; a request line
/// and headers beyond that are refused by hyper, with 431 too.)
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The most request header fields answered; beyond, 431 (hyper's limit, set
/// here so that it is stated once).
pub const MAX_HEADER_FIELDS: usize = 100;

/// How long in-flight requests may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The answer to a plain HTTP request on the TLS port, as Go's server sends it.
const PLAIN_HTTP_TO_TLS: &[u8] =
    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

/// One task accepting on each listener, and the connections they accept, in
/// the order they came, whichever listener took them.
fn accept_all(
    listeners: Vec<TcpListener>,
) -> (
    tokio::task::JoinSet<()>,
    tokio::sync::mpsc::Receiver<(tokio::net::TcpStream, std::net::SocketAddr)>,
) {
    let (accepted_tx, accepted_rx) = tokio::sync::mpsc::channel(1);
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
    (acceptors, accepted_rx)
}

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
    web: Arc<WebConfig>,
    auth: Authenticator,
    connections: Connections,
}

impl Server {
    /// A server exposing `store` at `telemetry_path`, serving at most
    /// `max_connections` connections at once, with TLS, users and headers of `web`.
    pub fn new(
        store: Arc<Store>,
        telemetry_path: String,
        max_connections: usize,
        web: Arc<WebConfig>,
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
        let (mut acceptors, mut accepted_rx) = accept_all(listeners);
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
}
