//! The web configuration file (`--web.config.file`): TLS, basic authentication,
//! response headers and a rate limit, in the format of the Prometheus
//! exporter-toolkit, so a file written for any Prometheus exporter works here.
//!
//! [`load`] reads and validates the file (and the certificate files it names) into
//! a [`WebState`]; [`Watcher`] re-reads them when their content changes, keeping
//! the last good state when a new one is invalid. [`Authenticator`] checks basic
//! auth credentials against the bcrypt hashes, caching successful checks.
//!
//! Secrets (private keys, bcrypt hashes, passwords) are never formatted: the types
//! that hold them implement `Debug` by hand.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use hyper::header::{HeaderName, HeaderValue};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, NamedGroup, RootCertStore, SignatureScheme,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

/// How often the [`Watcher`] looks at the web config file and the files it names.
pub const RECHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Response headers the file may set, as in the exporter-toolkit.
pub const ALLOWED_HEADERS: [&str; 5] = [
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
];

/// A problem with the web config file. The message names the key and what to do.
#[derive(Debug, thiserror::Error)]
#[error("web config file {path}: {message}")]
pub struct WebConfigError {
    /// The file given with `--web.config.file`.
    pub path: PathBuf,
    /// What is wrong and what to do.
    pub message: String,
}

/// The file as written, in the exporter-toolkit's format.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    tls_server_config: Option<TlsFile>,
    http_server_config: Option<HttpFile>,
    basic_auth_users: Option<BTreeMap<String, String>>,
    rate_limit: Option<RateLimitFile>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    client_ca_file: Option<PathBuf>,
    client_auth_type: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RateLimitFile {
    interval: Option<String>,
    burst: Option<u32>,
}

/// Everything the HTTP server needs from the web config file.
#[derive(Default)]
pub struct WebState {
    /// TLS settings; plain HTTP when `None`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Users and their bcrypt hashes; no authentication when empty.
    users: BTreeMap<String, String>,
    /// Headers added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Requests allowed per interval, if limited.
    pub rate_limit: Option<RateLimiter>,
}

impl std::fmt::Debug for WebState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebState")
            .field("tls", &self.tls.is_some())
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("headers", &self.headers)
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

impl WebState {
    /// Whether requests must carry basic auth credentials.
    pub fn requires_auth(&self) -> bool {
        !self.users.is_empty()
    }

    /// A one-line summary for the start-up log: never secrets.
    pub fn summary(&self) -> String {
        format!(
            "tls={} basic_auth_users={} headers={} rate_limit={}",
            self.tls.is_some(),
            self.users.len(),
            self.headers.len(),
            self.rate_limit.is_some()
        )
    }
}

/// A token bucket: `burst` requests at once, refilled one per `interval`.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    /// A full bucket.
    pub fn new(interval: Duration, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        RateLimiter {
            interval,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Takes a token if one is left.
    pub fn allow(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(state.1).as_secs_f64() / self.interval.as_secs_f64();
        state.0 = (state.0 + refill).min(self.burst);
        state.1 = now;
        if state.0 >= 1.0 {
            state.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Reads, parses and validates the web config file at `path`, with the
/// certificate and key files it names (relative to the file's directory).
pub fn load(path: &Path) -> Result<WebState, WebConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| WebConfigError {
        path: path.to_path_buf(),
        message: format!("cannot read it: {e}"),
    })?;
    parse(path, &text)
}

/// Parses and validates the text of a web config file; files it names are read
/// relative to the directory of `path`.
pub fn parse(path: &Path, text: &str) -> Result<WebState, WebConfigError> {
    let err = |message: String| WebConfigError {
        path: path.to_path_buf(),
        message,
    };
    let file: FileConfig = if text.trim().is_empty() {
        FileConfig::default()
    } else {
        serde_yaml_ng::from_str::<Option<FileConfig>>(text)
            .map_err(|e| err(crate::parse::redact_yaml_error(&e.to_string())))?
            .unwrap_or_default()
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let tls = match file.tls_server_config {
        Some(tls) => tls_config(tls, dir).map_err(err)?,
        None => None,
    };
    let users = file.basic_auth_users.unwrap_or_default();
    for (user, hash) in &users {
        if user.is_empty() || user.contains(':') {
            return Err(err(format!(
                "basic_auth_users: user name {user:?} must be non-empty and hold no ':'"
            )));
        }
        if hash.parse::<bcrypt::HashParts>().is_err() {
            return Err(err(format!(
                "basic_auth_users: the password of user {user:?} is not a bcrypt hash; \
                 create one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`"
            )));
        }
    }
    let mut headers = Vec::new();
    if let Some(http) = file.http_server_config {
        // `http2` only allows HTTP/2; this server speaks HTTP/1.1, which every
        // Prometheus uses to scrape, so both values are honoured.
        let _ = http.http2;
        for (name, value) in http.headers.unwrap_or_default() {
            headers.push(header(&name, &value).map_err(err)?);
        }
    }
    let rate_limit = match file.rate_limit {
        None => None,
        Some(r) => {
            let interval = match r.interval.as_deref().map(str::trim) {
                None | Some("") | Some("0") | Some("0s") => Duration::ZERO,
                Some(text) => humantime::parse_duration(text).map_err(|e| {
                    err(format!(
                        "rate_limit.interval: {text:?}: {e} (expected a duration such as 1s or 100ms)"
                    ))
                })?,
            };
            if interval.is_zero() {
                None
            } else {
                Some(RateLimiter::new(interval, r.burst.unwrap_or(0)))
            }
        }
    };
    Ok(WebState {
        tls,
        users,
        headers,
        rate_limit,
    })
}

fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), String> {
    let Some(canonical) = ALLOWED_HEADERS
        .iter()
        .find(|h| h.eq_ignore_ascii_case(name))
    else {
        return Err(format!(
            "http_server_config.headers: setting {name:?} is not allowed; allowed headers are {}",
            ALLOWED_HEADERS.join(", ")
        ));
    };
    let allowed: &[&str] = match *canonical {
        "X-Frame-Options" => &["deny", "sameorigin"],
        "X-Content-Type-Options" => &["nosniff"],
        _ => &[],
    };
    if !allowed.is_empty() && !allowed.iter().any(|a| a.eq_ignore_ascii_case(value)) {
        return Err(format!(
            "http_server_config.headers.{canonical}: {value:?} is not allowed; use {}",
            allowed.join(" or ")
        ));
    }
    let value = HeaderValue::from_str(value).map_err(|_| {
        format!("http_server_config.headers.{canonical}: {value:?} is not a valid header value")
    })?;
    Ok((HeaderName::from_static(lower(canonical)), value))
}

fn lower(name: &'static str) -> &'static str {
    match name {
        "Content-Security-Policy" => "content-security-policy",
        "Strict-Transport-Security" => "strict-transport-security",
        "X-Content-Type-Options" => "x-content-type-options",
        "X-Frame-Options" => "x-frame-options",
        _ => "x-xss-protection",
    }
}

/// What the file and the files it names contain, to notice changes.
fn fingerprint(path: &Path) -> [u8; 32] {
    let mut hash = Sha256::new();
    let text = std::fs::read(path).unwrap_or_default();
    hash.update((text.len() as u64).to_le_bytes());
    hash.update(&text);
    if let Ok(Some(file)) = serde_yaml_ng::from_slice::<Option<FileConfig>>(&text) {
        let dir = path.parent().unwrap_or(Path::new("."));
        if let Some(tls) = file.tls_server_config {
            for f in [tls.cert_file, tls.key_file, tls.client_ca_file]
                .into_iter()
                .flatten()
            {
                let content = std::fs::read(dir.join(f)).unwrap_or_default();
                hash.update((content.len() as u64).to_le_bytes());
                hash.update(&content);
            }
        }
    }
    hash.finalize().into()
}

fn tls_config(tls: TlsFile, dir: &Path) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
    if tls.client_allowed_sans.is_some() {
        return Err(
            "tls_server_config.client_allowed_sans is not supported by this exporter; \
             give the allowed clients certificates of their own CA and set client_ca_file"
                .into(),
        );
    }
    let cert = PemSource::of("cert", tls.cert, "cert_file", tls.cert_file)?;
    let key = PemSource::of("key", tls.key, "key_file", tls.key_file)?;
    let client_ca = PemSource::of(
        "client_ca",
        tls.client_ca,
        "client_ca_file",
        tls.client_ca_file,
    )?;
    let (cert_pem, key_pem) = match (cert, key) {
        // As in the exporter-toolkit: no certificate and no key means plain HTTP.
        (None, None) => {
            if client_ca.is_some() || tls.client_auth_type.is_some() {
                return Err(
                    "tls_server_config: client authentication needs TLS; set cert_file and key_file"
                        .into(),
                );
            }
            return Ok(None);
        }
        (Some(_), None) => {
            return Err("tls_server_config: key_file (or key) is missing; set both the certificate and its key".into());
        }
        (None, Some(_)) => {
            return Err("tls_server_config: cert_file (or cert) is missing; set both the certificate and its key".into());
        }
        (Some(c), Some(k)) => (c.read(dir)?, k.read(dir)?),
    };
    let client_ca_pem = client_ca.map(|c| c.read(dir)).transpose()?;
    let certs = CertificateDer::pem_slice_iter(cert_pem.1.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "tls_server_config.{}: not a PEM certificate: {e}",
                cert_pem.0
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "tls_server_config.{}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            cert_pem.0
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.1.as_bytes()).map_err(|_| {
        format!(
            "tls_server_config.{}: holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
            key_pem.0
        )
    })?;

    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if let Some(names) = &tls.cipher_suites {
        provider.cipher_suites = cipher_suites(&provider, names)?;
    }
    if let Some(names) = &tls.curve_preferences {
        provider.kx_groups = curves(&provider, names)?;
    }
    let provider = Arc::new(provider);
    let versions = versions(tls.min_version.as_deref(), tls.max_version.as_deref())?;

    let auth_type = tls.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let roots = match &client_ca_pem {
        None => None,
        Some((field, pem)) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| format!("tls_server_config.{field}: not PEM: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("tls_server_config.{field}: bad CA certificate: {e}"))?;
            }
            if roots.is_empty() {
                return Err(format!(
                    "tls_server_config.{field}: holds no PEM certificate"
                ));
            }
            Some(Arc::new(roots))
        }
    };
    let verifier: Arc<dyn ClientCertVerifier> = match (auth_type, roots) {
        ("NoClientCert", None) => WebPkiClientVerifier::no_client_auth(),
        ("RequestClientCert", None) => Arc::new(AnyClientCert::new(&provider, false)),
        ("RequireAnyClientCert", None) => Arc::new(AnyClientCert::new(&provider, true)),
        ("VerifyClientCertIfGiven", Some(roots)) => {
            WebPkiClientVerifier::builder_with_provider(roots, Arc::clone(&provider))
                .allow_unauthenticated()
                .build()
                .map_err(|e| format!("tls_server_config.client_ca_file: {e}"))?
        }
        ("RequireAndVerifyClientCert", Some(roots)) => {
            WebPkiClientVerifier::builder_with_provider(roots, Arc::clone(&provider))
                .build()
                .map_err(|e| format!("tls_server_config.client_ca_file: {e}"))?
        }
        ("VerifyClientCertIfGiven" | "RequireAndVerifyClientCert", None) => {
            return Err(format!(
                "tls_server_config: client_auth_type {auth_type} needs client_ca_file (or client_ca), the CA that signs client certificates"
            ));
        }
        ("NoClientCert" | "RequestClientCert" | "RequireAnyClientCert", Some(_)) => {
            return Err(format!(
                "tls_server_config: client_ca_file is set but client_auth_type {auth_type} does not verify client certificates; set client_auth_type: RequireAndVerifyClientCert"
            ));
        }
        (other, _) => {
            return Err(format!(
                "tls_server_config.client_auth_type: unknown value {other:?}; use NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"
            ));
        }
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!(
                "tls_server_config: the certificate ({}) and key ({}) do not form a usable pair: {e}",
                cert_pem.0, key_pem.0
            )
        })?;
    config.ignore_client_order = tls.prefer_server_cipher_suites.unwrap_or(true);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Arc::new(config)))
}

/// Where a PEM value comes from: inline text or a file, with the key naming it.
enum PemSource {
    Inline(&'static str, String),
    File(&'static str, PathBuf),
}

impl PemSource {
    /// The source given by an inline key and a file key (empty values count as
    /// absent); both at once is an error.
    fn of(
        inline_key: &'static str,
        inline: Option<String>,
        file_key: &'static str,
        file: Option<PathBuf>,
    ) -> Result<Option<PemSource>, String> {
        match (
            inline.filter(|s| !s.is_empty()),
            file.filter(|f| !f.as_os_str().is_empty()),
        ) {
            (Some(_), Some(_)) => Err(format!(
                "tls_server_config: set either {inline_key} or {file_key}, not both"
            )),
            (Some(text), None) => Ok(Some(PemSource::Inline(inline_key, text))),
            (None, Some(file)) => Ok(Some(PemSource::File(file_key, file))),
            (None, None) => Ok(None),
        }
    }

    /// What names the value in messages, and the PEM text (files are read
    /// relative to `dir`).
    fn read(self, dir: &Path) -> Result<(String, String), String> {
        match self {
            PemSource::Inline(key, text) => Ok((key.to_string(), text)),
            PemSource::File(key, file) => {
                let full = dir.join(file);
                let text = std::fs::read_to_string(&full).map_err(|e| {
                    format!(
                        "tls_server_config.{key}: cannot read {}: {e}",
                        full.display()
                    )
                })?;
                Ok((format!("{key} {}", full.display()), text))
            }
        }
    }
}

fn versions(
    min: Option<&str>,
    max: Option<&str>,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    let rank = |key: &str, v: &str| match v {
        "TLS12" => Ok(2),
        "TLS13" => Ok(3),
        "TLS10" | "TLS11" => Err(format!(
            "tls_server_config.{key}: {v} is not supported (TLS 1.0 and 1.1 are insecure); use TLS12 or TLS13"
        )),
        other => Err(format!(
            "tls_server_config.{key}: unknown TLS version {other:?}; use TLS12 or TLS13"
        )),
    };
    let lo = min
        .map(|v| rank("min_version", v))
        .transpose()?
        .unwrap_or(2);
    let hi = max
        .map(|v| rank("max_version", v))
        .transpose()?
        .unwrap_or(3);
    if lo > hi {
        return Err(
            "tls_server_config: min_version is above max_version; no TLS version is left".into(),
        );
    }
    let mut out = Vec::new();
    if lo <= 2 {
        out.push(&rustls::version::TLS12);
    }
    if hi >= 3 {
        out.push(&rustls::version::TLS13);
    }
    Ok(out)
}

fn cipher_suites(
    provider: &CryptoProvider,
    names: &[String],
) -> Result<Vec<rustls::SupportedCipherSuite>, String> {
    // As in Go, the list only restricts TLS 1.2; TLS 1.3 suites are always offered.
    let mut out: Vec<rustls::SupportedCipherSuite> = provider
        .cipher_suites
        .iter()
        .filter(|s| s.version() == &rustls::version::TLS13)
        .copied()
        .collect();
    for name in names {
        // Go also accepts the older names of the ChaCha20 suites without _SHA256.
        let wanted = if name.ends_with("_CHACHA20_POLY1305") {
            format!("{name}_SHA256")
        } else {
            name.clone()
        };
        match provider
            .cipher_suites
            .iter()
            .find(|s| format!("{:?}", s.suite()) == wanted)
        {
            Some(s) if s.version() == &rustls::version::TLS13 => {}
            Some(s) => out.push(*s),
            None => {
                let supported: Vec<String> = provider
                    .cipher_suites
                    .iter()
                    .filter(|s| s.version() != &rustls::version::TLS13)
                    .map(|s| format!("{:?}", s.suite()))
                    .collect();
                return Err(format!(
                    "tls_server_config.cipher_suites: {name:?} is not supported; supported are {}",
                    supported.join(", ")
                ));
            }
        }
    }
    Ok(out)
}

fn curves(
    provider: &CryptoProvider,
    names: &[String],
) -> Result<Vec<&'static dyn rustls::crypto::SupportedKxGroup>, String> {
    let mut out = Vec::new();
    for name in names {
        let group = match name.as_str() {
            "CurveP256" => NamedGroup::secp256r1,
            "CurveP384" => NamedGroup::secp384r1,
            "X25519" => NamedGroup::X25519,
            "X25519MLKEM768" => NamedGroup::X25519MLKEM768,
            other => {
                return Err(format!(
                    "tls_server_config.curve_preferences: {other:?} is not supported; use CurveP256, CurveP384, X25519 or X25519MLKEM768"
                ));
            }
        };
        if let Some(g) = provider.kx_groups.iter().find(|g| g.name() == group) {
            out.push(*g);
        }
    }
    if out.is_empty() {
        return Err("tls_server_config.curve_preferences: no usable curve is left".into());
    }
    Ok(out)
}

/// `RequestClientCert` and `RequireAnyClientCert`: ask for a client certificate
/// and check that the client holds its key, but trust any issuer (as Go does).
#[derive(Debug)]
struct AnyClientCert {
    algorithms: WebPkiSupportedAlgorithms,
    mandatory: bool,
}

impl AnyClientCert {
    fn new(provider: &CryptoProvider, mandatory: bool) -> Self {
        AnyClientCert {
            algorithms: provider.signature_verification_algorithms,
            mandatory,
        }
    }
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The current [`WebState`], re-read when the file or a file it names changes.
#[derive(Debug)]
pub struct Watcher {
    path: Option<PathBuf>,
    current: RwLock<Arc<WebState>>,
    seen: Mutex<[u8; 32]>,
}

impl Watcher {
    /// Loads `path` (or serves plain HTTP without authentication when `None`).
    pub fn new(path: Option<PathBuf>) -> Result<Self, WebConfigError> {
        let (state, seen) = match &path {
            None => (WebState::default(), [0; 32]),
            Some(p) => {
                let seen = fingerprint(p);
                (load(p)?, seen)
            }
        };
        Ok(Watcher {
            path,
            current: RwLock::new(Arc::new(state)),
            seen: Mutex::new(seen),
        })
    }

    /// The state to serve the next request or connection with.
    pub fn current(&self) -> Arc<WebState> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Re-reads the file if it or a file it names changed since the last look.
    /// An invalid new version is logged and the previous state kept. Returns
    /// whether a new state was taken.
    pub fn recheck(&self) -> bool {
        let Some(path) = &self.path else {
            return false;
        };
        let now = fingerprint(path);
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if *seen == now {
                return false;
            }
            *seen = now;
        }
        match load(path) {
            Ok(state) => {
                tracing::info!(file = %path.display(), settings = %state.summary(), "web config reloaded");
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(state);
                true
            }
            Err(err) => {
                tracing::error!(error = %err, "web config not reloaded; keeping the previous one");
                false
            }
        }
    }

    /// Rechecks every [`RECHECK_INTERVAL`] until the task is dropped.
    pub async fn watch(self: Arc<Self>) {
        if self.path.is_none() {
            return;
        }
        let mut tick = tokio::time::interval(RECHECK_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let me = Arc::clone(&self);
            // Reading files and building TLS state is blocking work.
            let _ = tokio::task::spawn_blocking(move || me.recheck()).await;
        }
    }
}

/// The outcome of checking a request's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    /// No authentication configured, or the credentials are right.
    Allowed,
    /// No or malformed `Authorization` header.
    Missing,
    /// Unknown user or wrong password.
    Denied,
}

/// A bcrypt hash of cost 10 that no password matches in practice; unknown users
/// are checked against it so that they take as long as known ones.
const DECOY_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

/// The most successful checks remembered; beyond it the cache starts over.
const AUTH_CACHE_SIZE: usize = 256;

/// Checks basic auth credentials. bcrypt is slow on purpose (tens of
/// milliseconds), so checks run on the blocking pool, at most
/// [`Authenticator::MAX_CONCURRENT`] at once, and successful ones are remembered
/// (as a SHA-256 of user, hash and password) so a scraper pays once.
#[derive(Debug)]
pub struct Authenticator {
    cache: Mutex<HashSet<[u8; 32]>>,
    limit: Semaphore,
}

impl Default for Authenticator {
    fn default() -> Self {
        Authenticator {
            cache: Mutex::new(HashSet::new()),
            limit: Semaphore::new(Self::MAX_CONCURRENT),
        }
    }
}

impl Authenticator {
    /// bcrypt checks running at once; more wait, so wrong passwords cannot take
    /// every core.
    pub const MAX_CONCURRENT: usize = 2;

    /// Checks the `Authorization` header of a request against `state`.
    pub async fn check(
        &self,
        state: &WebState,
        authorization: Option<&HeaderValue>,
    ) -> AuthOutcome {
        if !state.requires_auth() {
            return AuthOutcome::Allowed;
        }
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return AuthOutcome::Missing;
        };
        let known = state.users.get(&user);
        let hash = known.cloned().unwrap_or_else(|| DECOY_HASH.to_string());
        let key: [u8; 32] = Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0])
            .chain_update(hash.as_bytes())
            .chain_update([0])
            .chain_update(password.as_bytes())
            .finalize()
            .into();
        if known.is_some() && self.cached(&key) {
            return AuthOutcome::Allowed;
        }
        let Ok(_permit) = self.limit.acquire().await else {
            return AuthOutcome::Denied;
        };
        let matches = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false);
        if matches && known.is_some() {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() >= AUTH_CACHE_SIZE {
                cache.clear();
            }
            cache.insert(key);
            AuthOutcome::Allowed
        } else {
            AuthOutcome::Denied
        }
    }

    fn cached(&self, key: &[u8; 32]) -> bool {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(key)
    }
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
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<WebState, String> {
        parse(Path::new("/nonexistent/web.yml"), text).map_err(|e| e.message)
    }

    #[test]
    fn empty_file_means_plain_http_without_auth() {
        let state = parse_text("").unwrap();
        assert!(state.tls.is_none());
        assert!(!state.requires_auth());
        let state = parse_text("tls_server_config: {}\n").unwrap();
        assert!(state.tls.is_none());
    }

    #[test]
    fn unknown_and_unsupported_keys_are_named() {
        let err = parse_text("tls_server_config:\n  cert_fille: x\n").unwrap_err();
        assert!(err.contains("unknown field `cert_fille`"), "{err}");
        let err = parse_text("basic_auth_user:\n  a: b\n").unwrap_err();
        assert!(err.contains("unknown field `basic_auth_user`"), "{err}");
        let err = parse_text("tls_server_config:\n  client_allowed_sans: [a]\n").unwrap_err();
        assert!(
            err.contains("client_allowed_sans is not supported"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_get_clear_errors() {
        let cases = [
            (
                "basic_auth_users:\n  alice: secret\n",
                "the password of user \"alice\" is not a bcrypt hash",
            ),
            (
                "http_server_config:\n  headers:\n    Server: x\n",
                "setting \"Server\" is not allowed",
            ),
            (
                "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
                "X-Frame-Options: \"allow\" is not allowed; use deny or sameorigin",
            ),
            (
                "tls_server_config:\n  cert_file: a.pem\n",
                "key_file (or key) is missing",
            ),
            (
                "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n",
                "tls_server_config.cert_file: cannot read /nonexistent/cert.pem",
            ),
            (
                "tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n",
                "client authentication needs TLS",
            ),
            (
                "rate_limit:\n  interval: fast\n",
                "rate_limit.interval: \"fast\"",
            ),
        ];
        for (text, want) in cases {
            let err = parse_text(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn headers_are_canonical_and_checked() {
        let state = parse_text(
            "http_server_config:\n  http2: false\n  headers:\n    x-content-type-options: nosniff\n    Strict-Transport-Security: max-age=31536000\n",
        )
        .unwrap();
        let names: Vec<&str> = state.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["strict-transport-security", "x-content-type-options"]
        );
    }

    #[test]
    fn versions_and_their_order() {
        assert_eq!(versions(None, None).unwrap().len(), 2);
        assert_eq!(versions(Some("TLS13"), None).unwrap().len(), 1);
        assert!(
            versions(Some("TLS10"), None)
                .unwrap_err()
                .contains("not supported")
        );
        assert!(
            versions(Some("TLS13"), Some("TLS12"))
                .unwrap_err()
                .contains("above")
        );
        assert!(
            versions(None, Some("TLS14"))
                .unwrap_err()
                .contains("unknown TLS version")
        );
    }

    #[test]
    fn cipher_suites_and_curves_map_go_names() {
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let suites = cipher_suites(
            &provider,
            &["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305".to_string()],
        )
        .unwrap();
        assert!(
            suites.iter().any(
                |s| format!("{:?}", s.suite()) == "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
            )
        );
        let err = cipher_suites(&provider, &["TLS_RSA_WITH_RC4_128_SHA".to_string()]).unwrap_err();
        assert!(
            err.contains("\"TLS_RSA_WITH_RC4_128_SHA\" is not supported"),
            "{err}"
        );
        assert_eq!(curves(&provider, &["X25519".to_string()]).unwrap().len(), 1);
        assert!(curves(&provider, &["CurveP521".to_string()]).is_err());
    }

    #[test]
    fn basic_header_parsing() {
        let v = HeaderValue::from_static("Basic YWxpY2U6czNjcjM6dA==");
        assert_eq!(
            parse_basic(&v),
            Some(("alice".to_string(), "s3cr3:t".to_string()))
        );
        assert_eq!(parse_basic(&HeaderValue::from_static("Bearer abc")), None);
        assert_eq!(parse_basic(&HeaderValue::from_static("Basic !!!")), None);
        assert_eq!(parse_basic(&HeaderValue::from_static("Basic")), None);
    }

    #[tokio::test]
    async fn authenticator_checks_and_caches() {
        let hash = bcrypt::hash("right", 4).unwrap();
        let state = parse_text(&format!("basic_auth_users:\n  alice: '{hash}'\n")).unwrap();
        let auth = Authenticator::default();
        let basic = |u: &str, p: &str| {
            HeaderValue::from_str(&format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            ))
            .unwrap()
        };
        assert_eq!(auth.check(&state, None).await, AuthOutcome::Missing);
        assert_eq!(
            auth.check(&state, Some(&basic("alice", "wrong"))).await,
            AuthOutcome::Denied
        );
        assert_eq!(
            auth.check(&state, Some(&basic("bob", "right"))).await,
            AuthOutcome::Denied
        );
        assert_eq!(
            auth.check(&state, Some(&basic("alice", "right"))).await,
            AuthOutcome::Allowed
        );
        assert_eq!(auth.cache.lock().unwrap().len(), 1);
        assert_eq!(
            auth.check(&state, Some(&basic("alice", "right"))).await,
            AuthOutcome::Allowed
        );
        // Debug output never shows the hash.
        assert!(!format!("{state:?}").contains(&hash));
    }

    #[test]
    fn decoy_hash_is_a_valid_bcrypt_hash() {
        assert!(DECOY_HASH.parse::<bcrypt::HashParts>().is_ok());
        assert_eq!(bcrypt::verify("", DECOY_HASH).ok(), Some(false));
    }

    #[test]
    fn rate_limiter_allows_a_burst_then_refuses() {
        let limiter = RateLimiter::new(Duration::from_secs(3600), 3);
        assert_eq!((0..5).filter(|_| limiter.allow()).count(), 3);
    }
}
