//! From an AWS answer to `/metrics`: the first byte picks the API, the second
//! the HTTP status, the rest is the body. The real SDK client reads it (through
//! an in-memory HTTP client), the exporter maps the outcome into its store, and
//! the exposition must stay well formed: every sample a finite number or one
//! Prometheus can read, `up` 0 or 1, and nothing panics.

#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use libfuzzer_sys::fuzz_target;
use pinpoint_email_exporter::Api;
use pinpoint_email_exporter::Key;
use pinpoint_email_exporter::collector::Collector;
use pinpoint_email_exporter::collector::account::{Account, Source, TargetClients};
use pinpoint_email_exporter::{BuildInfo, Store};

const STATUSES: [u16; 8] = [200, 200, 200, 400, 403, 404, 429, 500];

/// Gives every request the same answer: the SDK's client reads it as it reads
/// AWS's, with no socket in between.
#[derive(Debug, Clone)]
struct Canned {
    status: u16,
    body: Vec<u8>,
}

impl HttpConnector for Canned {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        let status = StatusCode::try_from(self.status).expect("an HTTP status");
        let mut response = HttpResponse::new(status, SdkBody::from(self.body.clone()));
        response
            .headers_mut()
            .insert("content-type", "application/json");
        HttpConnectorFuture::ready(Ok(response))
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let [api, status, body @ ..] = data else {
        return;
    };
    let api = if api % 2 == 0 {
        Api::PinpointEmail
    } else {
        Api::Sesv2
    };
    let status = STATUSES[usize::from(*status) % STATUSES.len()];
    let canned = Canned {
        status,
        body: body.to_vec(),
    };
    let http =
        http_client_fn(move |_settings, _components| SharedHttpConnector::new(canned.clone()));
    let config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDFUZZ",
            "fuzz-secret",
            None,
            None,
            "fuzz",
        )))
        .http_client(http)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let key = Key::new("t", "us-east-1");
    let store = Arc::new(
        Store::new(
            vec![key.clone()],
            Duration::from_secs(3600),
            &BuildInfo::current(),
            false,
        )
        .expect("store"),
    );
    runtime().block_on(async {
        let clients = TargetClients::new(&config);
        let source = Source::new(
            api,
            &clients,
            "us-east-1",
            Duration::from_secs(5),
            "t/us-east-1".into(),
        );
        let outcome = source.collect().await;
        store
            .section::<Account>()
            .record(&key, &outcome, Duration::from_millis(1), 1.0);
    });
    let text = String::from_utf8(store.encode().to_vec()).expect("UTF-8 exposition");
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().expect("a value");
        let v: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("unreadable value in {line:?}"));
        assert!(!v.is_nan(), "NaN in {line:?}");
        if line.starts_with("pinpoint_email_up{") {
            assert!(v == 0.0 || v == 1.0, "{line}");
        }
        // +Inf is an unlimited quota, or a count beyond a tiny one.
        if line.starts_with("pinpoint_email_send_quota_") {
            assert!(v >= 0.0, "{line}");
        }
    }
    assert!(text.contains("pinpoint_email_up{"), "{text}");
});
