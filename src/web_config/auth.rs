//! Basic authentication: bcrypt checks on the blocking pool, bounded and queued
//! fairly between clients, with a cache of successful checks.
//!
//! bcrypt is slow on purpose, which makes it the one thing a client without a
//! password can make the exporter spend. So:
//!
//! - a successful check is remembered (a SHA-256 of user, hash and password),
//!   and a remembered one costs nothing: a scraper pays bcrypt once;
//! - at most [`Authenticator::MAX_CONCURRENT`] checks run at once, at most
//!   [`PER_PEER`] of them (running or waiting) for one client address, and a
//!   check waits at most [`QUEUE_WAIT`] for its turn; beyond that the answer is
//!   429 at once;
//! - a client address whose checks failed recently waits behind at most
//!   [`SUSPECT_QUEUE`] other checks (a clean one behind [`QUEUE`]), and its
//!   each wrong password locks it out of checks (401 at once, no bcrypt) for a
//!   penalty that doubles with each failure up to [`PENALTY_MAX`], and delays
//!   its refusals by that penalty, at most [`ANSWER_DELAY_MAX`]: repeated wrong
//!   passwords slow that client, not everyone;
//! - an unknown user is checked against a decoy hash of a cost in use, chosen by
//!   the name, so it takes as long as some real user.
//!
//! Client addresses are IPv4 addresses or IPv6 /64 prefixes (what one host
//! usually holds).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use hyper::header::HeaderValue;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::WebState;
use super::peer::{PeerKey, RefusalLog};

mod decoys;

pub(super) use decoys::Decoys;

/// The outcome of checking a request's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    /// No authentication configured, or the credentials are right.
    Allowed,
    /// No `Authorization` header.
    Missing,
    /// An `Authorization` header that is not `Basic` with base64 `user:password`.
    Malformed,
    /// Unknown user or wrong password.
    Denied,
    /// Not checked: too many checks waiting, or this client has too many.
    Throttled,
    /// Not checked: this client's last wrong password was too recent (its
    /// penalty has not passed).
    LockedOut,
}

impl AuthOutcome {
    /// Why the request was refused, `None` when it was let in.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            AuthOutcome::Allowed => None,
            AuthOutcome::Missing => Some("missing"),
            AuthOutcome::Malformed => Some("malformed"),
            AuthOutcome::Denied => Some("denied"),
            AuthOutcome::Throttled => Some("throttled"),
            AuthOutcome::LockedOut => Some("locked_out"),
        }
    }
}

/// The most successful checks remembered; beyond it the cache starts over.
const AUTH_CACHE_SIZE: usize = 256;

/// Checks one client address may have running or waiting at once.
const PER_PEER: usize = 2;

/// Checks that may wait for a turn, from clients without recent failures.
pub const QUEUE: usize = 32;

/// Checks that may be waiting when a client with recent failures asks for one.
pub const SUSPECT_QUEUE: usize = 4;

/// The longest a check waits for its turn before it is answered 429.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// The delay of a failure answer after the first failure; it doubles with
/// each further one.
pub const PENALTY_BASE: Duration = Duration::from_millis(100);

/// The longest penalty: the time a client is locked out of checks after its
/// last wrong password.
pub const PENALTY_MAX: Duration = Duration::from_secs(5);

/// The longest a refusal is delayed: short of a scraper's timeout (Prometheus
/// scraping every second times out after one), so a misconfigured scraper
/// sees 401, not a timeout.
pub const ANSWER_DELAY_MAX: Duration = Duration::from_millis(500);

/// A client's failures are forgotten this long after its last one.
pub const FORGET_AFTER: Duration = Duration::from_secs(60);

/// The most client addresses remembered; beyond it new ones count as suspects.
const MAX_PEERS: usize = 4096;

/// The least time between two warnings about failed logins.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// What is known of one client address.
#[derive(Debug, Default)]
struct Peer {
    /// Failed checks in a row.
    failures: u32,
    last_failure: Option<Instant>,
    /// Checks running or waiting.
    in_flight: usize,
}

impl Peer {
    /// Failures that still count at `now`.
    fn recent_failures(&self, now: Instant) -> u32 {
        match self.last_failure {
            Some(at) if now.saturating_duration_since(at) < FORGET_AFTER => self.failures,
            _ => 0,
        }
    }
}

/// The delay of a failure answer to a client with `failures` recent failures.
pub fn penalty(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    PENALTY_BASE
        .saturating_mul(1 << (failures - 1).min(16))
        .min(PENALTY_MAX)
}

/// What is told of each refused request: a function of its reason (the
/// failure counter).
pub type RefusalCounter = Arc<dyn Fn(&'static str) + Send + Sync>;

/// Checks basic auth credentials; see the module documentation.
pub struct Authenticator {
    /// Held by each running check until bcrypt returns, even when the request
    /// that asked is gone (its connection closed or evicted).
    slots: Arc<Semaphore>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("free_slots", &self.slots.available_permits())
            .field("waiting", &self.shared.waiting.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// What checks share with the bcrypt runs on the blocking pool, which finish
/// the bookkeeping of their check (cache, failures, counter, log) even when the
/// request that started them is gone.
struct Shared {
    cache: Mutex<HashSet<[u8; 32]>>,
    /// Checks admitted and not yet running.
    waiting: AtomicUsize,
    peers: Mutex<HashMap<PeerKey, Peer>>,
    /// When the last warning about failures was logged, and failures since.
    warned: Mutex<(Option<Instant>, u64)>,
    count: Option<RefusalCounter>,
    /// Debug lines about refusals, per client.
    refusals: RefusalLog,
}

impl Default for Authenticator {
    fn default() -> Self {
        Authenticator::new(None)
    }
}

/// A check's place: counted against its client and the queue until dropped,
/// which the bcrypt run does once it has recorded the outcome.
struct Admission {
    shared: Arc<Shared>,
    peer: Option<PeerKey>,
    waiting: bool,
}

impl Admission {
    fn started(&mut self) {
        if std::mem::take(&mut self.waiting) {
            self.shared.waiting.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.started();
        if let Some(key) = self.peer {
            let mut peers = lock(&self.shared.peers);
            if let Some(peer) = peers.get_mut(&key) {
                peer.in_flight = peer.in_flight.saturating_sub(1);
                if peer.in_flight == 0 && peer.failures == 0 {
                    peers.remove(&key);
                }
            }
        }
    }
}

impl Authenticator {
    /// bcrypt checks running at once; more wait, so wrong passwords cannot take
    /// every core.
    pub const MAX_CONCURRENT: usize = 2;

    /// An authenticator that tells `count` the reason of each refused request.
    pub fn new(count: Option<RefusalCounter>) -> Self {
        Authenticator {
            slots: Arc::new(Semaphore::new(Self::MAX_CONCURRENT)),
            shared: Arc::new(Shared {
                cache: Mutex::new(HashSet::new()),
                waiting: AtomicUsize::new(0),
                peers: Mutex::new(HashMap::new()),
                warned: Mutex::new((None, 0)),
                count,
                refusals: RefusalLog::default(),
            }),
        }
    }

    /// The log of refused requests, shared with the rest of the server: one
    /// debug line per client per [`RefusalLog::EVERY`].
    pub fn refusals(&self) -> &RefusalLog {
        &self.shared.refusals
    }

    /// Checks the `Authorization` header of a request from `peer` against
    /// `state`: the outcome, and how long to delay a refusal (the client's
    /// penalty). Refusals are counted and logged here.
    pub async fn check(
        &self,
        state: &WebState,
        authorization: Option<&HeaderValue>,
        peer: SocketAddr,
    ) -> (AuthOutcome, Duration) {
        if !state.requires_auth() {
            return (AuthOutcome::Allowed, Duration::ZERO);
        }
        let shared = &self.shared;
        let Some(value) = authorization else {
            return shared.refuse(AuthOutcome::Missing, peer);
        };
        let Some((user, password)) = parse_basic(value) else {
            return shared.refuse(AuthOutcome::Malformed, peer);
        };
        let known = state.users.contains_key(&user);
        let hash = match state.users.get(&user) {
            Some(hash) => hash.clone(),
            None => state.decoys.for_user(&user).to_string(),
        };
        let key: [u8; 32] = Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0])
            .chain_update(hash.as_bytes())
            .chain_update([0])
            .chain_update(password.as_bytes())
            .finalize()
            .into();
        if known && shared.cached(&key) {
            return (AuthOutcome::Allowed, Duration::ZERO);
        }
        let client = PeerKey::of(peer.ip());
        if shared.locked_out(client, Instant::now()) {
            return shared.refuse(AuthOutcome::LockedOut, peer);
        }
        let Some(mut admission) = shared.admit(client, Instant::now()) else {
            return shared.refuse(AuthOutcome::Throttled, peer);
        };
        let slot = Arc::clone(&self.slots).acquire_owned();
        let Ok(Ok(slot)) = tokio::time::timeout(QUEUE_WAIT, slot).await else {
            drop(admission);
            return shared.refuse(AuthOutcome::Throttled, peer);
        };
        admission.started();
        let shared = Arc::clone(shared);
        let run = tokio::task::spawn_blocking(move || {
            let matches = bcrypt::verify(password, &hash).unwrap_or(false);
            drop(slot);
            let outcome = if matches && known {
                shared.remember(key);
                AuthOutcome::Allowed
            } else {
                AuthOutcome::Denied
            };
            let delay = match admission.peer {
                Some(key) => shared.record(key, outcome, Instant::now()),
                None => penalty(u32::from(outcome == AuthOutcome::Denied)),
            };
            drop(admission);
            if outcome != AuthOutcome::Allowed {
                shared.tell(outcome, peer);
            }
            (outcome, delay)
        });
        // A bcrypt run that panicked (it does not) refuses.
        run.await.unwrap_or((AuthOutcome::Denied, Duration::ZERO))
    }
}

impl Shared {
    /// Refuses a request that is not checked: counted, logged, and delayed by
    /// the client's penalty.
    fn refuse(&self, outcome: AuthOutcome, peer: SocketAddr) -> (AuthOutcome, Duration) {
        let delay = self.record(PeerKey::of(peer.ip()), outcome, Instant::now());
        self.tell(outcome, peer);
        (outcome, delay)
    }

    /// Whether `key`'s penalty since its last wrong password has not passed.
    fn locked_out(&self, key: PeerKey, now: Instant) -> bool {
        lock(&self.peers).get(&key).is_some_and(|p| {
            let failures = p.recent_failures(now);
            p.last_failure
                .is_some_and(|at| failures > 0 && now < at + penalty(failures))
        })
    }

    /// A place for a check from `peer`, or `None` when it must be refused: the
    /// client has [`PER_PEER`] checks already, its penalty since its last
    /// failure has not passed, or the queue is full for it.
    fn admit(self: &Arc<Self>, key: PeerKey, now: Instant) -> Option<Admission> {
        let mut peers = lock(&self.peers);
        if peers.len() >= MAX_PEERS && !peers.contains_key(&key) {
            peers.retain(|_, p| p.in_flight > 0 || p.recent_failures(now) > 0);
        }
        let waiting = self.waiting.load(Ordering::Acquire);
        let admitted = |peer| {
            self.waiting.fetch_add(1, Ordering::AcqRel);
            Admission {
                shared: Arc::clone(self),
                peer,
                waiting: true,
            }
        };
        if peers.len() >= MAX_PEERS && !peers.contains_key(&key) {
            // Too many addresses to tell apart: each new one is a suspect.
            return (waiting < SUSPECT_QUEUE).then(|| admitted(None));
        }
        let peer = peers.entry(key).or_default();
        let failures = peer.recent_failures(now);
        let penalised = peer
            .last_failure
            .is_some_and(|at| now < at + penalty(failures));
        let limit = if failures > 0 { SUSPECT_QUEUE } else { QUEUE };
        if peer.in_flight >= PER_PEER || penalised || waiting >= limit {
            if peer.in_flight == 0 && failures == 0 {
                peers.remove(&key);
            }
            return None;
        }
        peer.in_flight += 1;
        drop(peers);
        Some(admitted(Some(key)))
    }

    /// Counts a check's outcome against its client; returns how long to delay
    /// the answer: the client's penalty, at most [`ANSWER_DELAY_MAX`].
    fn record(&self, key: PeerKey, outcome: AuthOutcome, now: Instant) -> Duration {
        self.record_penalty(key, outcome, now).min(ANSWER_DELAY_MAX)
    }

    fn record_penalty(&self, key: PeerKey, outcome: AuthOutcome, now: Instant) -> Duration {
        let mut peers = lock(&self.peers);
        match outcome {
            AuthOutcome::Allowed => {
                if let Some(peer) = peers.get_mut(&key) {
                    peer.failures = 0;
                    peer.last_failure = None;
                    if peer.in_flight == 0 {
                        peers.remove(&key);
                    }
                }
                Duration::ZERO
            }
            AuthOutcome::Denied => {
                if peers.len() >= MAX_PEERS && !peers.contains_key(&key) {
                    return penalty(1);
                }
                let peer = peers.entry(key).or_default();
                peer.failures = peer.recent_failures(now).saturating_add(1);
                peer.last_failure = Some(now);
                penalty(peer.failures)
            }
            AuthOutcome::Throttled | AuthOutcome::LockedOut => {
                penalty(peers.get(&key).map_or(0, |p| p.recent_failures(now)))
            }
            AuthOutcome::Missing | AuthOutcome::Malformed => Duration::ZERO,
        }
    }

    /// Counts a refused request and logs it with `peer`: a warning at most every
    /// [`WARN_EVERY`] saying how many failed since the last one, and a debug
    /// line at most once per client per [`RefusalLog::EVERY`]. Requests without
    /// credentials (browsers, probes) only get the debug line. Never logs what
    /// the client sent.
    fn tell(&self, outcome: AuthOutcome, peer: SocketAddr) {
        let Some(reason) = outcome.reason() else {
            return;
        };
        if let Some(count) = &self.count {
            count(reason);
        }
        let now = Instant::now();
        if outcome != AuthOutcome::Missing {
            let mut warned = lock(&self.warned);
            warned.1 += 1;
            let due = warned
                .0
                .is_none_or(|at| now.saturating_duration_since(at) >= WARN_EVERY);
            if due {
                let failures = std::mem::take(&mut warned.1);
                warned.0 = Some(now);
                drop(warned);
                tracing::warn!(
                    %peer,
                    reason,
                    failures_since_last_warning = failures,
                    "basic authentication failed (warnings at most every {}s; \
                     see pinpoint_email_exporter_web_auth_failures_total)",
                    WARN_EVERY.as_secs()
                );
                return;
            }
        }
        if let Some(unlogged) = self.refusals.admit(peer.ip(), now) {
            tracing::debug!(%peer, reason, unlogged, "request refused by basic authentication");
        }
    }

    fn remember(&self, key: [u8; 32]) {
        let mut cache = lock(&self.cache);
        if cache.len() >= AUTH_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(key);
    }

    fn cached(&self, key: &[u8; 32]) -> bool {
        lock(&self.cache).contains(key)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// User and password of a `Basic` authorization header.
fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
    let value = value.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests;
