//! Getting the account: the [`AccountSource`] trait and its SDK implementation.
//!
//! The SDK is configured with explicit timeouts (it has none by default) and with its
//! own retries disabled: its retry token bucket is shared process-wide and silently
//! stops retrying after sustained failures, so the poller owns the retry policy.

use std::error::Error as StdError;
use std::future::Future;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_pinpointemail::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_pinpointemail::operation::get_account::GetAccountOutput;
use aws_sdk_sesv2::operation::get_account::GetAccountOutput as SesV2Output;

use crate::config::{ConfigError, PollSettings};
use crate::error::PollError;
use crate::target::{Api, Credentials, Target};

/// What `GetAccount` says about one account in one region.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Account {
    /// `SendQuota.Max24HourSend`; -1 means unlimited.
    pub max_24_hour_send: f64,
    /// `SendQuota.MaxSendRate`, emails per second.
    pub max_send_rate: f64,
    /// `SendQuota.SentLast24Hours`.
    pub sent_last_24_hours: f64,
    /// `SendingEnabled`.
    pub sending_enabled: bool,
    /// `ProductionAccessEnabled`; false means the account is in the sandbox.
    pub production_access_enabled: bool,
    /// `DedicatedIpAutoWarmupEnabled`.
    pub dedicated_ip_auto_warmup_enabled: bool,
    /// `EnforcementStatus` as AWS spells it (HEALTHY, PROBATION, SHUTDOWN, or a value
    /// AWS adds later); `None` when the answer had none.
    pub enforcement_status: Option<String>,
    /// The API that answered: [`Api::PinpointEmail`] or [`Api::Sesv2`].
    pub api: Api,
    /// SES v2 only: `VdmAttributes.VdmEnabled` is `ENABLED`.
    pub vdm_enabled: Option<bool>,
    /// SES v2 only: `Details.ReviewDetails.Status` of the production access request
    /// (PENDING, FAILED, GRANTED, DENIED); `None` when no request was made.
    pub review_status: Option<String>,
    /// SES v2 only: `SuppressionAttributes.SuppressedReasons` (BOUNCE, COMPLAINT).
    pub suppressed_reasons: Option<Vec<String>>,
}

/// Something that can fetch the account of one target in one region.
///
/// The exporter uses [`PinpointEmailSource`]; tests of the schedule use scripted
/// sources under paused time.
pub trait AccountSource: Send + Sync + 'static {
    /// Calls `GetAccount` once.
    fn get_account(&self) -> impl Future<Output = Result<Account, PollError>> + Send;
}

/// What a failed call says about retrying with the other API.
type CallError = (PollError, bool);

/// The SDK clients of one target: one per API, shared by all its regions (each
/// call names its region). A client per (target, region) would cost its own
/// configuration and runtime plugins for every region.
#[derive(Debug, Clone)]
pub struct TargetClients {
    pinpoint: aws_sdk_pinpointemail::Client,
    sesv2: aws_sdk_sesv2::Client,
}

impl TargetClients {
    /// The clients of a target, from its loaded configuration.
    pub fn new(sdk_config: &SdkConfig) -> Self {
        TargetClients {
            pinpoint: aws_sdk_pinpointemail::Client::new(sdk_config),
            sesv2: aws_sdk_sesv2::Client::new(sdk_config),
        }
    }
}

/// [`AccountSource`] over the Pinpoint Email API of one region.
#[derive(Debug, Clone)]
pub struct PinpointEmailSource {
    client: aws_sdk_pinpointemail::Client,
    region: Region,
    timeout: Duration,
}

impl PinpointEmailSource {
    /// A source for `region` on the target's shared client, so the regions of a
    /// target share its credentials, identity cache and connections.
    pub fn new(clients: &TargetClients, region: &str, timeout: Duration) -> Self {
        PinpointEmailSource {
            client: clients.pinpoint.clone(),
            region: Region::new(region.to_string()),
            timeout,
        }
    }

    /// One call; on failure, also whether the answer says the operation is gone.
    async fn call(&self) -> Result<Account, CallError> {
        let in_region =
            aws_sdk_pinpointemail::config::Builder::default().region(self.region.clone());
        let sent = self
            .client
            .get_account()
            .customize()
            .config_override(in_region)
            .send()
            .await;
        let err = match sent {
            Ok(out) => return account_from_output(&out).map_err(|e| (e, false)),
            Err(err) => err,
        };
        let gone = operation_gone(&err);
        Err(match classify_sdk_error(&err, self.timeout) {
            PollError::BadRequest(m) if gone => (
                PollError::BadRequest(format!(
                    "{m}; the Pinpoint Email API is not served here any more: use --aws.api=sesv2 or auto (or `api:` in --config.file)"
                )),
                true,
            ),
            other => (other, gone),
        })
    }
}

impl AccountSource for PinpointEmailSource {
    async fn get_account(&self) -> Result<Account, PollError> {
        self.call().await.map_err(|(e, _)| e)
    }
}

/// [`AccountSource`] over the SES v2 API of one region.
#[derive(Debug, Clone)]
pub struct SesV2Source {
    client: aws_sdk_sesv2::Client,
    region: Region,
    timeout: Duration,
}

impl SesV2Source {
    /// A source for `region` on the target's shared client, like
    /// [`PinpointEmailSource::new`].
    pub fn new(clients: &TargetClients, region: &str, timeout: Duration) -> Self {
        SesV2Source {
            client: clients.sesv2.clone(),
            region: Region::new(region.to_string()),
            timeout,
        }
    }
}

impl AccountSource for SesV2Source {
    async fn get_account(&self) -> Result<Account, PollError> {
        let in_region = aws_sdk_sesv2::config::Builder::default().region(self.region.clone());
        let sent = self
            .client
            .get_account()
            .customize()
            .config_override(in_region)
            .send()
            .await;
        match sent {
            Ok(out) => account_from_sesv2(&out),
            Err(err) => Err(classify_sdk_error(&err, self.timeout)),
        }
    }
}

/// [`AccountSource`] that calls Pinpoint Email until it answers that the
/// operation is gone ([`operation_gone`]), then SES v2 for good.
#[derive(Debug)]
pub struct AutoSource {
    pinpoint: PinpointEmailSource,
    sesv2: SesV2Source,
    switched: std::sync::atomic::AtomicBool,
    target: String,
    region: String,
}

impl AutoSource {
    /// An auto source for `region` of the target named `target` (for the log).
    pub fn new(clients: &TargetClients, region: &str, timeout: Duration, target: String) -> Self {
        AutoSource {
            pinpoint: PinpointEmailSource::new(clients, region, timeout),
            sesv2: SesV2Source::new(clients, region, timeout),
            switched: std::sync::atomic::AtomicBool::new(false),
            target,
            region: region.to_string(),
        }
    }
}

impl AccountSource for AutoSource {
    async fn get_account(&self) -> Result<Account, PollError> {
        use std::sync::atomic::Ordering;
        if self.switched.load(Ordering::Relaxed) {
            return self.sesv2.get_account().await;
        }
        match self.pinpoint.call().await {
            Err((err, true)) => {
                // Logged once: the flag never goes back.
                if !self.switched.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        target = %self.target,
                        aws_region = %self.region,
                        answer = %err,
                        "the Pinpoint Email API answered that GetAccount is gone; switching to SES v2 for good"
                    );
                }
                self.sesv2.get_account().await
            }
            other => other.map_err(|(e, _)| e),
        }
    }
}

/// The source of one (target, region), for whichever API the target uses.
#[derive(Debug)]
pub enum Source {
    /// Pinpoint Email only.
    PinpointEmail(PinpointEmailSource),
    /// SES v2 only.
    Sesv2(SesV2Source),
    /// Pinpoint Email, then SES v2 once Pinpoint Email is gone.
    Auto(AutoSource),
}

impl Source {
    /// The source of `api` for `region`.
    pub fn new(
        api: Api,
        clients: &TargetClients,
        region: &str,
        timeout: Duration,
        target: String,
    ) -> Self {
        match api {
            Api::PinpointEmail => {
                Source::PinpointEmail(PinpointEmailSource::new(clients, region, timeout))
            }
            Api::Sesv2 => Source::Sesv2(SesV2Source::new(clients, region, timeout)),
            Api::Auto => Source::Auto(AutoSource::new(clients, region, timeout, target)),
        }
    }
}

impl AccountSource for Source {
    async fn get_account(&self) -> Result<Account, PollError> {
        match self {
            Source::PinpointEmail(s) => s.get_account().await,
            Source::Sesv2(s) => s.get_account().await,
            Source::Auto(s) => s.get_account().await,
        }
    }
}

/// Maps a successful Pinpoint Email answer to an [`Account`]. An answer without
/// `SendQuota` is rejected: reporting a quota of 0 would page people for nothing.
pub fn account_from_output(out: &GetAccountOutput) -> Result<Account, PollError> {
    let quota = out.send_quota().ok_or_else(missing_quota)?;
    checked(Account {
        max_24_hour_send: quota.max24_hour_send(),
        max_send_rate: quota.max_send_rate(),
        sent_last_24_hours: quota.sent_last24_hours(),
        sending_enabled: out.sending_enabled(),
        production_access_enabled: out.production_access_enabled(),
        dedicated_ip_auto_warmup_enabled: out.dedicated_ip_auto_warmup_enabled(),
        enforcement_status: out.enforcement_status().map(str::to_string),
        api: Api::PinpointEmail,
        vdm_enabled: None,
        review_status: None,
        suppressed_reasons: None,
    })
}

/// Maps a successful SES v2 answer to an [`Account`], with its SES v2 only values.
pub fn account_from_sesv2(out: &SesV2Output) -> Result<Account, PollError> {
    let quota = out.send_quota().ok_or_else(missing_quota)?;
    checked(Account {
        max_24_hour_send: quota.max24_hour_send(),
        max_send_rate: quota.max_send_rate(),
        sent_last_24_hours: quota.sent_last24_hours(),
        sending_enabled: out.sending_enabled(),
        production_access_enabled: out.production_access_enabled(),
        dedicated_ip_auto_warmup_enabled: out.dedicated_ip_auto_warmup_enabled(),
        enforcement_status: out.enforcement_status().map(str::to_string),
        api: Api::Sesv2,
        vdm_enabled: out
            .vdm_attributes()
            .map(|v| v.vdm_enabled().as_str() == "ENABLED"),
        review_status: out
            .details()
            .and_then(|d| d.review_details())
            .and_then(|r| r.status())
            .map(|s| s.as_str().to_string()),
        suppressed_reasons: out.suppression_attributes().map(|s| {
            s.suppressed_reasons()
                .iter()
                .map(|r| r.as_str().to_string())
                .collect()
        }),
    })
}

/// `account` if its quota values pass [`check_quota`].
fn checked(account: Account) -> Result<Account, PollError> {
    check_quota(
        account.max_24_hour_send,
        account.max_send_rate,
        account.sent_last_24_hours,
    )?;
    Ok(account)
}

/// Rejects quota values no account can have: not finite (a JSON number beyond
/// f64's range), a negative count sent, or negative limits other than -1
/// (unlimited). Exporting them would draw nonsense usage ratios; marking the poll
/// `invalid_response` keeps the last good values and says what is wrong.
pub fn check_quota(max_24_hour_send: f64, max_send_rate: f64, sent: f64) -> Result<(), PollError> {
    for (field, value, unlimited_ok) in [
        ("SendQuota.Max24HourSend", max_24_hour_send, true),
        ("SendQuota.MaxSendRate", max_send_rate, true),
        ("SendQuota.SentLast24Hours", sent, false),
    ] {
        let valid = value.is_finite() && (value >= 0.0 || (unlimited_ok && value == -1.0));
        if !valid {
            return Err(PollError::InvalidResponse(format!(
                "{field} is {value}, which no account can have"
            )));
        }
    }
    Ok(())
}

fn missing_quota() -> PollError {
    PollError::InvalidResponse("the answer has no SendQuota object".to_string())
}

/// Whether a failed call's answer says that the operation no longer exists at
/// this endpoint, so that `auto` targets switch to SES v2: HTTP 404, 410 or 501,
/// or the error codes `UnknownOperationException`, `UnsupportedOperationException`
/// and `InvalidAction`. Throttling, credential and server errors never count.
pub fn operation_gone<E: ProvideErrorMetadata>(
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool {
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or("");
            matches!(status, 404 | 410 | 501)
                || matches!(
                    code,
                    "UnknownOperationException" | "UnsupportedOperationException" | "InvalidAction"
                )
        }
        _ => false,
    }
}

/// Error codes that mean the caller's identity or permissions are wrong.
const AUTH_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "IncompleteSignatureException",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "InvalidAccessKeyId",
    "NotAuthorized",
];

/// Error codes that mean "call less often".
const THROTTLE_CODES: &[&str] = &[
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestLimitExceeded",
    "SlowDown",
];

/// What to tell an operator when no credentials could be found at all.
pub const NO_CREDENTIALS_HINT: &str = "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
     or AWS_PROFILE (or `profile` in --config.file), or run with an IAM role \
     (EKS IRSA / pod identity, ECS task role, EC2 instance profile); \
     the identity needs the permission ses:GetAccount";

/// Classifies an SDK error of either API into a [`PollError`], keeping the whole
/// error chain in the message.
pub fn classify_sdk_error<E>(
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
    timeout: Duration,
) -> PollError
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    let detail = || error_chain(err);
    match err {
        SdkError::TimeoutError(_) => PollError::Timeout(timeout),
        SdkError::ServiceError(service) => {
            let e = service.err();
            let status = service.raw().status().as_u16();
            let code = e.code().unwrap_or("");
            let message = match e.message() {
                Some(m) => format!("HTTP {status} {code}: {m}"),
                None => format!("HTTP {status} {code}"),
            };
            if THROTTLE_CODES.contains(&code) || status == 429 {
                PollError::Throttled(message)
            } else if is_clock_skew(code, e.message().unwrap_or("")) {
                PollError::Auth(format!(
                    "{message}; this machine's clock differs from AWS's by more than 5 minutes: synchronise it (NTP)"
                ))
            } else if AUTH_CODES.contains(&code) || status == 401 || status == 403 {
                PollError::Auth(message)
            } else if (500..=599).contains(&status) {
                PollError::Server(message)
            } else if (400..=499).contains(&status) {
                PollError::BadRequest(message)
            } else {
                // A success status whose body the SDK could not read: the SDK's
                // own error chain says what was wrong with it.
                PollError::InvalidResponse(format!("HTTP {status}: {}", detail()))
            }
        }
        SdkError::ResponseError(_) => PollError::InvalidResponse(detail()),
        SdkError::DispatchFailure(d) => {
            if let Some(cred) = find_in_chain::<CredentialsError>(err) {
                credentials_error(cred, detail())
            } else if d.is_timeout() {
                PollError::Timeout(timeout)
            } else if d.is_user() {
                PollError::Other(detail())
            } else {
                // I/O errors, and "other" transport failures such as a connection
                // closed before the answer was complete.
                PollError::Network(detail())
            }
        }
        SdkError::ConstructionFailure(_) => match find_in_chain::<CredentialsError>(err) {
            Some(cred) => credentials_error(cred, detail()),
            None => PollError::Other(detail()),
        },
        _ => PollError::Other(detail()),
    }
}

/// Whether AWS refused a request because its signing time is too far from AWS's
/// clock.
fn is_clock_skew(code: &str, message: &str) -> bool {
    matches!(code, "RequestTimeTooSkewed" | "RequestExpired")
        || message.starts_with("Signature expired")
        || message.starts_with("Signature not yet current")
}

fn credentials_error(cred: &CredentialsError, detail: String) -> PollError {
    match cred {
        CredentialsError::CredentialsNotLoaded(_) => {
            PollError::Auth(format!("{NO_CREDENTIALS_HINT} ({detail})"))
        }
        _ => PollError::Auth(detail),
    }
}

/// The messages of an error and its sources, joined with `: `, each once. (The SDK's
/// own `DisplayErrorContext` appends a `Debug` dump of the whole error, far too
/// long for a log line.)
pub fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

fn find_in_chain<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// Idle connections kept per AWS endpoint. Polls of one region are spread over
/// the interval, so a few cover even a hundred targets; without a bound every
/// connection opened during a burst (all pollers start within a second) stays
/// open: 1,000 pollers against one endpoint held 245 file descriptors, 18 with
/// this bound.
pub const POOL_MAX_IDLE_PER_HOST: usize = 8;

/// One HTTPS client (hyper 1, rustls with aws-lc, proxy settings from the
/// standard `HTTPS_PROXY`/`NO_PROXY` variables) for every SDK client of the
/// process. Without it each (target, region) client builds its own connection
/// pool and TLS configuration, about 175 KiB each.
pub fn shared_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::{ConnectorBuilder, proxy::ProxyConfig, tls};
    // The SDK's default client, built once: connectors are cached per timeout
    // settings inside the shared client, so every SDK client reuses them.
    aws_smithy_http_client::Builder::new().build_with_connector_fn(move |settings, components| {
        let mut builder = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
        builder.set_connector_settings(settings.cloned());
        builder.set_pool_max_idle_per_host(Some(POOL_MAX_IDLE_PER_HOST));
        if let Some(components) = components {
            builder.set_sleep_impl(components.sleep_impl());
        }
        builder.set_proxy_config(Some(ProxyConfig::from_env()));
        builder.build()
    })
}

/// Loads the shared AWS configuration of one target: its credentials (standard
/// chain, named profile, or assumed role), the exporter's timeouts, and no SDK
/// retries. `base` yields the loader to start from; the binary passes
/// `aws_config::defaults`, tests pass one pointed at a local endpoint.
pub async fn load_target_config(
    target: &Target,
    poll: &PollSettings,
    base: &(dyn Fn() -> ConfigLoader + Sync),
    http_client: &aws_smithy_runtime_api::client::http::SharedHttpClient,
) -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .operation_timeout(poll.timeout)
        .connect_timeout(poll.timeout.min(Duration::from_secs(5)))
        .read_timeout(poll.timeout)
        .build();
    let mut loader = base()
        .timeout_config(timeouts)
        .retry_config(RetryConfig::disabled())
        .http_client(http_client.clone());
    let profile = match &target.credentials {
        Credentials::DefaultChain => None,
        Credentials::Profile(p) => Some(p),
        Credentials::AssumeRole { source_profile, .. } => source_profile.as_ref(),
    };
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    let source = loader.load().await;
    match &target.credentials {
        Credentials::AssumeRole {
            role_arn,
            external_id,
            session_name,
            ..
        } => {
            let mut builder = aws_config::sts::AssumeRoleProvider::builder(role_arn)
                .session_name(session_name)
                .configure(&source);
            if let Some(id) = external_id {
                builder = builder.external_id(id);
            }
            // STS needs a region even when the source config has none.
            if let (None, Some(r)) = (source.region(), target.regions.first()) {
                builder = builder.region(Region::new(r.clone()));
            }
            let provider = builder.build().await;
            source
                .into_builder()
                .credentials_provider(SharedCredentialsProvider::new(provider))
                .build()
        }
        _ => source,
    }
}

/// The default base loader: the standard AWS config chain.
pub fn default_loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
}

/// A base loader that sends every call to `endpoint_url`, signed with static
/// credentials: the demo and the tests use it to point the real SDK at the
/// simulator.
pub fn static_loader(
    endpoint_url: String,
    access_key_id: String,
    secret_access_key: String,
) -> impl Fn() -> ConfigLoader + Send + Sync + 'static {
    move || {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint_url.clone())
            .region(Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                access_key_id.clone(),
                secret_access_key.clone(),
                None,
                None,
                "static",
            ))
    }
}

/// The profile whose credentials a target uses, if it names one.
fn named_profile(target: &Target) -> Option<&str> {
    match &target.credentials {
        Credentials::Profile(p)
        | Credentials::AssumeRole {
            source_profile: Some(p),
            ..
        } => Some(p),
        _ => None,
    }
}

/// Fails when a target names a profile (`profile`, or the `source_profile` of an
/// assumed role) that the shared AWS config and credentials files do not define.
/// Without this check the SDK falls through to the rest of the credential chain
/// and the poll fails with "no credentials", never naming the missing profile.
pub async fn check_profiles(targets: &[Target]) -> Result<(), ConfigError> {
    let named: Vec<(&Target, &str)> = targets
        .iter()
        .filter_map(|t| named_profile(t).map(|p| (t, p)))
        .collect();
    let Some(&(first, first_profile)) = named.first() else {
        return Ok(());
    };
    let env = aws_types::os_shim_internal::Env::real();
    let profiles = aws_config::profile::load(
        &aws_types::os_shim_internal::Fs::real(),
        &env,
        &aws_runtime::env_config::file::EnvConfigFiles::default(),
        None,
    )
    .await
    .map_err(|e| ConfigError::ProfileFiles {
        target: first.name.clone(),
        profile: first_profile.to_string(),
        message: e.to_string(),
    })?;
    for (target, profile) in named {
        if profiles.get_profile(profile).is_some() {
            continue;
        }
        let mut defined: Vec<&str> = profiles.profiles().collect();
        defined.sort_unstable();
        let file = |var: &str, default: &str| {
            env.get(var)
                .map(|v| format!("{v} from {var}"))
                .unwrap_or_else(|_| default.to_string())
        };
        return Err(ConfigError::UnknownProfile {
            target: target.name.clone(),
            profile: profile.to_string(),
            files: format!(
                "{}, {}",
                file("AWS_CONFIG_FILE", "~/.aws/config"),
                file("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
            ),
            defined: if defined.is_empty() {
                "none".to_string()
            } else {
                defined.join(", ")
            },
        });
    }
    Ok(())
}

/// Checks the profiles the targets name ([`check_profiles`]), then fills in the
/// regions of targets that list none from the AWS config chain's region
/// (`AWS_REGION`, profile), or fails with a message saying what to set.
pub async fn resolve_regions(
    targets: &mut [Target],
    base: &(dyn Fn() -> ConfigLoader + Sync),
) -> Result<(), ConfigError> {
    check_profiles(targets).await?;
    default_regions(targets, base).await
}

async fn default_regions(
    targets: &mut [Target],
    base: &(dyn Fn() -> ConfigLoader + Sync),
) -> Result<(), ConfigError> {
    for target in targets.iter_mut().filter(|t| t.regions.is_empty()) {
        let mut loader = base();
        if let Some(p) = named_profile(target) {
            loader = loader.profile_name(p);
        }
        let region = loader.load().await.region().map(|r| r.to_string());
        match region {
            Some(r) => target.regions.push(r),
            None => {
                return Err(ConfigError::NoRegion {
                    target: target.name.clone(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_pinpointemail::types::SendQuota;

    #[test]
    fn maps_every_field() {
        let out = GetAccountOutput::builder()
            .send_quota(
                SendQuota::builder()
                    .max24_hour_send(50000.0)
                    .max_send_rate(14.0)
                    .sent_last24_hours(1234.0)
                    .build(),
            )
            .sending_enabled(true)
            .production_access_enabled(false)
            .dedicated_ip_auto_warmup_enabled(true)
            .enforcement_status("PROBATION")
            .build();
        assert_eq!(
            account_from_output(&out).unwrap(),
            Account {
                max_24_hour_send: 50000.0,
                max_send_rate: 14.0,
                sent_last_24_hours: 1234.0,
                sending_enabled: true,
                production_access_enabled: false,
                dedicated_ip_auto_warmup_enabled: true,
                enforcement_status: Some("PROBATION".into()),
                api: Api::PinpointEmail,
                vdm_enabled: None,
                review_status: None,
                suppressed_reasons: None,
            }
        );
    }

    #[test]
    fn impossible_quota_values_are_invalid() {
        assert!(check_quota(-1.0, -1.0, 0.0).is_ok());
        assert!(check_quota(1e300, 1e12, 1e300).is_ok());
        for (max, rate, sent) in [
            (f64::INFINITY, 1.0, 0.0),
            (1.0, f64::NAN, 0.0),
            (1.0, 1.0, -5.0),
            (-2.0, 1.0, 0.0),
            (1.0, 1.0, -1.0),
        ] {
            let err = check_quota(max, rate, sent).unwrap_err();
            assert_eq!(err.reason(), "invalid_response", "{max} {rate} {sent}");
        }
    }

    #[test]
    fn missing_send_quota_is_invalid() {
        let out = GetAccountOutput::builder().sending_enabled(true).build();
        assert_eq!(
            account_from_output(&out).unwrap_err().reason(),
            "invalid_response"
        );
    }
}
