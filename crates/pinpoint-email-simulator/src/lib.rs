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

use script::{Script, next_step};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;

mod account;
pub mod cloudwatch;
pub mod dedicated_ips;
pub mod identities;
pub mod organizations;
mod reply;
pub mod scenario;
mod script;
mod server;
pub mod sigv4;
mod sts;

/// A fresh request id for each answer, as AWS gives: UUID-shaped, counting up.
pub(crate) fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:08x}-0000-4000-8000-{:012x}",
        n >> 48,
        n & 0xffff_ffff_ffff
    )
}

pub use account::AccountState;
pub use cloudwatch::CloudWatchStep;
pub use dedicated_ips::{DedicatedIpState, DedicatedIpsStep};
pub use identities::{IdentitiesStep, IdentityState};
pub use organizations::{Member, Organization, Sending};
pub use scenario::{Scenario, Timeline};
pub use sigv4::{AuthError, Secret, Signed, verify_sigv4};

/// Requests remembered for [`Simulator::calls`]; older ones are forgotten, so a
/// long-running simulator (the demo) keeps bounded memory.
pub const MAX_CALLS_KEPT: usize = 10_000;

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
    /// This status with this exact body and no error code: what a proxy or a
    /// load balancer answers in AWS's place, or an error whose body is cut.
    Status {
        /// HTTP status, e.g. 403 or 404.
        status: u16,
        /// The body, as sent.
        body: String,
    },
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
    /// The operation: `GetAccount`, `AssumeRole`, `ListAccounts`, ..., or `unknown`.
    pub action: &'static str,
    /// The access key id the request was signed with (empty when unsigned).
    pub access_key: String,
    /// The member account whose assumed role signed it (empty for other
    /// credentials).
    pub account: String,
    /// `None` when the signature was valid, else the error code answered.
    pub auth_error: Option<&'static str>,
}

/// A role `AssumeRole` may assume.
#[derive(Clone, PartialEq, Eq)]
struct Role {
    arn: String,
    external_id: Option<String>,
}

impl std::fmt::Debug for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Role")
            .field("arn", &self.arn)
            .field("external_id", &redacted(&self.external_id))
            .finish()
    }
}

/// What `Debug` shows of an optional secret: whether it is set.
fn redacted(secret: &Option<String>) -> Option<&'static str> {
    secret.as_ref().map(|_| "<redacted>")
}

/// One successful `AssumeRole`. `Debug` leaves out the external id.
#[derive(Clone, PartialEq, Eq)]
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

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("role_arn", &self.role_arn)
            .field("session_name", &self.session_name)
            .field("external_id", &redacted(&self.external_id))
            .field("access_key", &self.access_key)
            .finish()
    }
}

/// The account of the simulator's own credentials, as `GetCallerIdentity`
/// says it unless [`Simulator::set_caller_account`] sets another.
pub const CALLER_ACCOUNT: &str = "123456789012";

#[derive(Debug, Default)]
struct State {
    credentials: HashMap<String, Secret>,
    roles: Vec<Role>,
    sessions: Vec<Session>,
    /// The member account of each access key issued for a role of the
    /// organization, and when it expires.
    session_accounts: HashMap<String, (String, std::time::SystemTime)>,
    /// How long `AssumeRole` credentials last; 1 hour when unset, as AWS.
    session_duration: Option<std::time::Duration>,
    /// The account of the simulator's own credentials, as `GetCallerIdentity`
    /// says it; [`CALLER_ACCOUNT`] when unset.
    caller_account: Option<String>,
    organization: Organization,
    scripts: HashMap<String, Script>,
    /// `GetMetricData` scripts by region: the steps and the next one.
    cloudwatch_scripts: HashMap<String, (Vec<CloudWatchStep>, usize)>,
    /// `GetDedicatedIps` scripts by region: the steps and the next one (a
    /// call's pages all take the same step).
    dedicated_ips_scripts: HashMap<String, (Vec<DedicatedIpsStep>, usize)>,
    /// The identity operations' scripts by region, alike.
    identities_scripts: HashMap<String, (Vec<IdentitiesStep>, usize)>,
    default_script: Vec<Step>,
    /// The most recent [`MAX_CALLS_KEPT`] requests.
    calls: VecDeque<Call>,
    /// Requests received since start, including those no longer kept.
    calls_total: u64,
    /// Requests received since start, by operation.
    calls_by_action: std::collections::BTreeMap<&'static str, u64>,
    /// `AssumeRole` requests received in each second (Unix time) since start.
    assume_role_seconds: std::collections::BTreeMap<u64, u64>,
    pinpoint_email_gone: bool,
    clock_offset_secs: i64,
    /// Metrics requested by every `GetMetricData` call since start.
    cloudwatch_metrics: u64,
    /// The idle account-region of the organization that starts sending, and
    /// when.
    turning: Option<(String, String, Instant)>,
}

impl State {
    /// The `GetDedicatedIps` answer of `region`: the next step for a call's
    /// first page, the same step for its further pages.
    fn dedicated_ips(&mut self, region: &str, first_page: bool) -> DedicatedIpsStep {
        if let Some((steps, next)) = self.dedicated_ips_scripts.get_mut(region) {
            return next_step(steps, next, first_page);
        }
        self.scripts
            .get(region)
            .map_or(DedicatedIpsStep::Ips(Vec::new()), Script::dedicated_ips)
    }

    /// The identity operations' answer of `region`: the next step for a
    /// listing's first page, the same step for its further pages and the
    /// `GetEmailIdentity` calls after it.
    fn identities(&mut self, region: &str, first_page: bool) -> IdentitiesStep {
        if let Some((steps, next)) = self.identities_scripts.get_mut(region) {
            return next_step(steps, next, first_page);
        }
        self.scripts
            .get(region)
            .map_or(IdentitiesStep::Identities(Vec::new()), Script::identities)
    }

    /// The account state of the member `account` in `region` (idle: no
    /// production access, nothing sent), and whether it sends there now;
    /// `None` for an account that is no member.
    fn member_account(&mut self, account: &str, region: &str) -> Option<(AccountState, bool)> {
        let mut state = self.organization.member(account)?.account.clone();
        let sends = self
            .organization
            .sending
            .sends(account, region, &mut self.turning);
        if !sends {
            state.production_access_enabled = false;
            state.sent_last_24_hours = 0.0;
        }
        Some((state, sends))
    }

    /// The next `GetMetricData` answer of `region`.
    fn next_cloudwatch(&mut self, region: &str) -> CloudWatchStep {
        if let Some((steps, next)) = self.cloudwatch_scripts.get_mut(region) {
            let step = steps[(*next).min(steps.len() - 1)].clone();
            *next = (*next + 1).min(steps.len() - 1);
            return step;
        }
        self.scripts
            .get(region)
            .map_or_else(CloudWatchStep::healthy, Script::cloudwatch)
    }
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
        let task = tokio::spawn(server::accept_loop(listener, Arc::clone(&state)));
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

    /// Replaces the `GetMetricData` script of `region`, starting from its first
    /// step; each call takes the next, the last repeats. Regions without one
    /// follow their scenario's timeline, or answer [`CloudWatchStep::healthy`].
    pub fn set_cloudwatch_script(&self, region: &str, steps: Vec<CloudWatchStep>) {
        lock(&self.state).cloudwatch_scripts.insert(
            region.to_string(),
            script::start(steps, CloudWatchStep::healthy()),
        );
    }

    /// Replaces the `GetDedicatedIps` script of `region`: each call (its first
    /// page) takes the next step, the last repeats. Regions without one follow
    /// their scenario's timeline, or have no dedicated IP.
    pub fn set_dedicated_ips_script(&self, region: &str, steps: Vec<DedicatedIpsStep>) {
        lock(&self.state).dedicated_ips_scripts.insert(
            region.to_string(),
            script::start(steps, DedicatedIpsStep::Ips(Vec::new())),
        );
    }

    /// Replaces the script of the identity operations of `region`: each
    /// `ListEmailIdentities` call (its first page) takes the next step, its
    /// further pages and the `GetEmailIdentity` calls after it the same; the
    /// last repeats. Regions without one follow their scenario's timeline, or
    /// have no identity.
    pub fn set_identities_script(&self, region: &str, steps: Vec<IdentitiesStep>) {
        lock(&self.state).identities_scripts.insert(
            region.to_string(),
            script::start(steps, IdentitiesStep::Identities(Vec::new())),
        );
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

    /// Makes the organization `org`: Organizations answers from it, `AssumeRole`
    /// assumes its role in its ACTIVE members, and `GetAccount` signed with
    /// such a role answers the member's account state.
    pub fn set_organization(&self, org: Organization) {
        lock(&self.state).organization = org;
    }

    /// Changes the organization in place (add or close accounts, make its API
    /// fail) for the calls that follow.
    pub fn update_organization(&self, change: impl FnOnce(&mut Organization)) {
        change(&mut lock(&self.state).organization);
    }

    /// How long `AssumeRole` credentials last (AWS: 1 hour by default);
    /// requests signed with expired ones are refused with 403
    /// `ExpiredTokenException`.
    pub fn set_session_duration(&self, duration: std::time::Duration) {
        lock(&self.state).session_duration = Some(duration);
    }

    /// The account `GetCallerIdentity` gives for the simulator's own
    /// credentials (not an assumed role's).
    pub fn set_caller_account(&self, account: &str) {
        lock(&self.state).caller_account = Some(account.to_string());
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

    /// Statistics of the requests since start, as `GET /_simulator/stats`
    /// serves them (a JSON object): the total, the count per operation, and
    /// the most `AssumeRole` requests received in one second.
    pub fn stats(&self) -> serde_json::Value {
        stats(&lock(&self.state))
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

fn stats(st: &State) -> serde_json::Value {
    let turning = st.turning.as_ref().map(|(account, region, at)| {
        serde_json::json!({
            "account": account,
            "region": region,
            "sends_in_seconds": organizations::seconds_until(*at),
        })
    });
    serde_json::json!({
        "calls_total": st.calls_total,
        "calls_by_action": st.calls_by_action,
        "cloudwatch_metrics": st.cloudwatch_metrics,
        "assume_role_max_per_second": st.assume_role_seconds.values().max().copied().unwrap_or(0),
        "turns_active": turning,
    })
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests;
