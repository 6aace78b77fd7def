//! The web configuration file (`--web.config.file`): TLS, basic authentication,
//! response headers and a rate limit, in the format of the Prometheus
//! exporter-toolkit, so a file written for any Prometheus exporter works here.
//!
//! [`WebConfig`] reads and validates the file (and the certificate files it names,
//! each read once) into a [`WebState`], and re-reads them when they change,
//! keeping the last good state when a new one is invalid or would loosen what is
//! served ([`Guard`]). [`Authenticator`] checks basic
//! auth credentials against the bcrypt hashes, caching successful checks.
//!
//! Secrets (private keys, bcrypt hashes, passwords) are never formatted: the types
//! that hold them implement `Debug` by hand.

mod auth;
mod guard;
mod peer;
mod rate_limit;
mod snapshot;
mod tls;
mod watcher;

use tls::tls_config;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue};
use serde::Deserialize;

pub use auth::{AuthOutcome, Authenticator};
pub use guard::Guard;
pub use rate_limit::RateLimiter;
pub use watcher::WebConfig;

/// Response headers the file may set, as in the exporter-toolkit.
const ALLOWED_HEADERS: [&str; 5] = [
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
    /// Hashes unknown users are checked against, one per bcrypt cost in use.
    decoys: auth::Decoys,
    /// Headers added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Requests allowed per interval, if limited.
    pub rate_limit: Option<RateLimiter>,
    /// What the file asks for that is left out, for the log.
    pub warnings: Vec<String>,
    /// What a reload may not loosen.
    pub guard: Guard,
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

/// Parses and validates the text of a web config file; files it names are read
/// relative to the directory of `path`.
pub fn parse(path: &Path, text: &str) -> Result<WebState, WebConfigError> {
    let from_disk = |full: &Path| std::fs::read_to_string(full).map_err(|e| e.to_string());
    parse_with(path, text, &from_disk)
}

/// Reads a file the web config names (its full path): its text or why not.
type ReadNamed<'a> = &'a dyn Fn(&Path) -> Result<String, String>;

/// [`parse`], with the files the text names read by `read`.
fn parse_with(path: &Path, text: &str, read: ReadNamed<'_>) -> Result<WebState, WebConfigError> {
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
    let mut guard = file
        .tls_server_config
        .as_ref()
        .map(tls::guard)
        .unwrap_or_default();
    let (tls, mut warnings) = match file.tls_server_config {
        Some(tls) => tls_config(tls, dir, read).map_err(err)?,
        None => (None, Vec::new()),
    };
    if tls.is_none() {
        guard = Guard::default();
    }
    let users = file.basic_auth_users.unwrap_or_default();
    check_users(&users, &mut warnings).map_err(err)?;
    guard.basic_auth = !users.is_empty();
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
        decoys: auth::Decoys::new(&users),
        users,
        headers,
        rate_limit,
        warnings,
        guard,
    })
}

/// Checks each user's name and bcrypt hash, naming the user and never the
/// hash; warns in `warnings` of hashes slow to check.
fn check_users(users: &BTreeMap<String, String>, warnings: &mut Vec<String>) -> Result<(), String> {
    for (user, hash) in users {
        if user.is_empty() || user.contains(':') {
            return Err(format!(
                "basic_auth_users: user name {user:?} must be non-empty and hold no ':'"
            ));
        }
        let cost = check_bcrypt(hash).map_err(|why| {
            format!(
                "basic_auth_users: the password of user {user:?} {why}; \
                 create one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`"
            )
        })?;
        if cost > SLOW_BCRYPT_COST {
            warnings.push(format!(
                "basic_auth_users: the password of user {user:?} has the bcrypt cost {cost}: each check of it, and of unknown users given it as their decoy, takes seconds or more (htpasswd -nBC 10 writes cost 10)"
            ));
        }
    }
    Ok(())
}

/// Above this bcrypt cost a check takes about a second or more: warned about.
const SLOW_BCRYPT_COST: u32 = 14;

/// Whether `hash` is a bcrypt hash the exporter checks: `$2a$`, `$2b$`,
/// `$2x$` or `$2y$`, a cost of 4 to 31 (Go's bounds), then salt and digest. Says what is
/// wrong without repeating the hash (it is a secret); its cost when usable.
fn check_bcrypt(hash: &str) -> Result<u32, String> {
    let parts = hash.parse::<bcrypt::HashParts>().map_err(|e| match e {
        bcrypt::BcryptError::InvalidHash(why) => format!("is not a bcrypt hash ({why})"),
        _ => "is not a bcrypt hash".to_string(),
    })?;
    let cost = parts.get_cost();
    if !(4..=31).contains(&cost) {
        return Err(format!(
            "has the bcrypt cost {cost}, outside bcrypt's 4 to 31, so no password would match"
        ));
    }
    Ok(cost)
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

#[cfg(test)]
mod tests;
