//! The AWS side every collector shares: one SDK configuration per target (its
//! credentials, timeouts, no SDK retries), the shared HTTPS client, and how
//! SDK errors map to poll errors
//! ([`classify_sdk_error`]).
//!
//! The SDK is configured with explicit timeouts (it has none by default) and with its
//! own retries disabled: its retry token bucket is shared process-wide and silently
//! stops retrying after sustained failures, so the poller owns the retry policy.

mod errors;
mod paging;

use std::collections::HashMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

pub use errors::{classify_sdk_error, operation_gone};
pub use paging::{BeyondCap, every_page};

use crate::schedule::PollSettings;
use crate::target::{Credentials, Target};

/// Idle connections kept per AWS endpoint. Polls of one region are spread over
/// the interval, so a few cover even a hundred targets; without a bound every
/// connection opened during a burst (all pollers start within a second) stays
/// open: 1,000 pollers against one endpoint held 245 file descriptors, 18 with
/// this bound.
const POOL_MAX_IDLE_PER_HOST: usize = 8;

/// One HTTPS client (hyper 1, rustls with aws-lc, proxy settings from the
/// standard `HTTPS_PROXY`/`NO_PROXY` variables) for every SDK client of the
/// process. Without it each (target, region) client builds its own connection
/// pool and TLS configuration, about 175 KiB each.
pub fn shared_http_client() -> SharedHttpClient {
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

/// How long before expiry an assumed role's credentials are renewed, at
/// most: the SDK renews them at the first call after a random point between
/// half this and this before they expire, so accounts whose calls are spread
/// renew spread too, and never during a call that needs them (a call takes
/// at most --poll.timeout, 10 s by default). A minute: an hour's session is
/// renewed once every 59 minutes or so, 1.02 AssumeRole calls per account
/// and session lifetime.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(60);

/// The AWS configurations that targets start from, loaded once per named
/// profile (`None`: the standard chain) and shared: every target of a
/// profile shares its credential provider and cache, so a thousand
/// assume-role targets make one web identity or IMDS call, not a thousand.
pub struct Sources<'a> {
    base: &'a (dyn Fn() -> ConfigLoader + Sync),
    poll: PollSettings,
    http_client: SharedHttpClient,
    /// Each profile's configuration and its credentials, cached for every
    /// assumed role of the profile.
    loaded: HashMap<Option<String>, (SdkConfig, Option<SharedCredentialsProvider>)>,
}

impl<'a> Sources<'a> {
    /// Sources from `base` with the timeouts of `poll` and the shared
    /// `http_client`; nothing is loaded yet.
    pub fn new(
        base: &'a (dyn Fn() -> ConfigLoader + Sync),
        poll: PollSettings,
        http_client: SharedHttpClient,
    ) -> Self {
        Sources {
            base,
            poll,
            http_client,
            loaded: HashMap::new(),
        }
    }

    /// The configuration of `profile`, loaded on first use, and its
    /// credentials behind one shared cache.
    async fn source(
        &mut self,
        profile: Option<&String>,
    ) -> (SdkConfig, Option<SharedCredentialsProvider>) {
        if let Some(loaded) = self.loaded.get(&profile.cloned()) {
            return loaded.clone();
        }
        let timeouts = TimeoutConfig::builder()
            .operation_timeout(self.poll.timeout)
            .connect_timeout(self.poll.timeout.min(Duration::from_secs(5)))
            .read_timeout(self.poll.timeout)
            .build();
        let mut loader = (self.base)()
            .timeout_config(timeouts)
            .retry_config(RetryConfig::disabled())
            .http_client(self.http_client.clone());
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        let config = loader.load().await;
        let cached = config
            .credentials_provider()
            .map(|inner| SharedCredentialsProvider::new(CachedCredentials::new(inner)));
        self.loaded
            .insert(profile.cloned(), (config.clone(), cached.clone()));
        (config, cached)
    }

    /// The AWS configuration of one target: its credentials (standard chain,
    /// named profile, or an assumed role with its own credential cache), the
    /// exporter's timeouts, and no SDK retries.
    pub async fn target_config(&mut self, target: &Target) -> SdkConfig {
        let profile = match &target.credentials {
            Credentials::DefaultChain => None,
            Credentials::Profile(p) => Some(p),
            Credentials::AssumeRole { source_profile, .. } => source_profile.as_ref(),
        };
        let (source, cached) = self.source(profile).await;
        let Credentials::AssumeRole {
            role_arn,
            external_id,
            session_name,
            ..
        } = &target.credentials
        else {
            return source;
        };
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
        // The SDK's AssumeRole provider resolves its source credentials on
        // every call to STS (it turns the source's cache off); one cache per
        // profile makes a thousand roles one source lookup.
        let provider = match cached {
            Some(cached) => builder.build_from_provider(cached).await,
            None => builder.build().await,
        };
        source
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .identity_cache(
                aws_config::identity::IdentityCache::lazy()
                    .buffer_time(RENEW_BEFORE_EXPIRY)
                    .build(),
            )
            .build()
    }
}

/// Credentials of a source, shared by every role assumed with them: loaded
/// once and again only when they come within [`RENEW_BEFORE_EXPIRY`] of
/// expiring (never for credentials without an expiry, such as keys); one
/// load at a time, the other callers waiting for its result.
#[derive(Debug)]
struct CachedCredentials {
    inner: SharedCredentialsProvider,
    cached: tokio::sync::Mutex<Option<aws_credential_types::Credentials>>,
}

impl CachedCredentials {
    fn new(inner: SharedCredentialsProvider) -> Self {
        CachedCredentials {
            inner,
            cached: tokio::sync::Mutex::new(None),
        }
    }
}

impl aws_credential_types::provider::ProvideCredentials for CachedCredentials {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::new(async move {
            let mut cached = self.cached.lock().await;
            if let Some(credentials) = cached.as_ref() {
                let renew_at = std::time::SystemTime::now() + RENEW_BEFORE_EXPIRY;
                if credentials.expiry().is_none_or(|expiry| expiry > renew_at) {
                    return Ok(credentials.clone());
                }
            }
            let credentials = self.inner.provide_credentials().await?;
            *cached = Some(credentials.clone());
            Ok(credentials)
        })
    }
}

/// Loads the AWS configuration of one target on its own (see
/// [`Sources::target_config`]). `base` yields the loader to start from; the
/// binary passes `aws_config::defaults`, tests pass one pointed at a local
/// endpoint.
pub async fn load_target_config(
    target: &Target,
    poll: &PollSettings,
    base: &(dyn Fn() -> ConfigLoader + Sync),
    http_client: &SharedHttpClient,
) -> SdkConfig {
    Sources::new(base, *poll, http_client.clone())
        .target_config(target)
        .await
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::SystemTime;

    use aws_credential_types::provider::{ProvideCredentials, future};

    use super::*;

    /// Counts its loads; its credentials expire `lasts` after each.
    #[derive(Debug)]
    struct Counting {
        loads: Arc<AtomicU32>,
        lasts: Option<Duration>,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.loads.fetch_add(1, Ordering::SeqCst);
            let expiry = self.lasts.map(|d| SystemTime::now() + d);
            future::ProvideCredentials::ready(Ok(aws_credential_types::Credentials::new(
                format!("AKID{n}"),
                "secret",
                None,
                expiry,
                "counting",
            )))
        }
    }

    async fn loads_after_calls(lasts: Option<Duration>, calls: usize) -> u32 {
        let loads = Arc::new(AtomicU32::new(0));
        let cached = CachedCredentials::new(SharedCredentialsProvider::new(Counting {
            loads: Arc::clone(&loads),
            lasts,
        }));
        for _ in 0..calls {
            cached.provide_credentials().await.unwrap();
        }
        loads.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn source_credentials_load_once_until_they_near_expiry() {
        assert_eq!(loads_after_calls(None, 500).await, 1, "keys never expire");
        assert_eq!(
            loads_after_calls(Some(Duration::from_secs(3600)), 500).await,
            1,
            "an hour's session serves every role"
        );
        assert_eq!(
            loads_after_calls(Some(RENEW_BEFORE_EXPIRY / 2), 3).await,
            3,
            "credentials about to expire are loaded again"
        );
    }
}
