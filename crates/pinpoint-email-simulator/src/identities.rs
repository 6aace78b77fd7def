//! The email identities of both APIs: `ListEmailIdentities` (`GET
//! /v1/email/identities`, Pinpoint Email, with `PageSize` and `NextToken` in
//! the query; SES v2's `POST /v2/email/list-identities` with them in a JSON
//! body, and its older `GET /v2/email/identities`) and `GetEmailIdentity`
//! (`GET /v1/email/identities/{EmailIdentity}`, `GET
//! /v2/email/identities/...`).
//! SES v2 says each identity's verification status, in the listing and in its
//! own answer; Pinpoint Email says only whether it is verified for sending.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde::{Deserialize, Serialize};

use crate::reply::{aws_error, json, page_bounds, scripted_error, throttled};

/// The largest `PageSize` the APIs accept, and the size of a page without one.
pub const MAX_PAGE_SIZE: usize = 1000;

/// The path of both listings; an identity's own path adds `/` and its name,
/// percent-encoded.
pub(crate) const PATHS: [&str; 2] = ["/v1/email/identities", "/v2/email/identities"];

/// SES v2's listing, whose paging is in its JSON body.
pub(crate) const SESV2_LIST_PATH: &str = "/v2/email/list-identities";

/// The `NextToken` of a listing's JSON body, if it has one.
pub(crate) fn token(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("NextToken")?.as_str().map(str::to_string)
}

/// The query of a listing of SES v2 whose paging is in `body`: the same
/// keys as in Pinpoint Email's query.
fn body_query(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let mut query = Vec::new();
    if let Some(size) = v.get("PageSize") {
        query.push(format!("PageSize={size}"));
    }
    if let Some(token) = token(body) {
        query.push(format!("NextToken={token}"));
    }
    query.join("&")
}

/// One email identity (a domain or an address) of an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityState {
    /// `IdentityName`: a domain or an email address.
    pub name: String,
    /// `IdentityType`: `DOMAIN`, `EMAIL_ADDRESS` or `MANAGED_DOMAIN`; a name
    /// with `@` is an address without it.
    #[serde(default)]
    pub identity_type: Option<String>,
    /// `VerificationStatus` (SES v2): `PENDING`, `SUCCESS`, `FAILED`,
    /// `TEMPORARY_FAILURE`, `NOT_STARTED`; `SUCCESS` without it.
    #[serde(default = "success")]
    pub verification_status: String,
    /// `SendingEnabled`; true without it.
    #[serde(default = "yes")]
    pub sending_enabled: bool,
    /// `DkimAttributes.Status`; `NOT_STARTED` without it.
    #[serde(default)]
    pub dkim_status: Option<String>,
    /// `DkimAttributes.SigningAttributesOrigin` (SES v2): `AWS_SES` without
    /// it.
    #[serde(default)]
    pub dkim_origin: Option<String>,
    /// `MailFromAttributes.MailFromDomain`; none without it.
    #[serde(default)]
    pub mail_from_domain: Option<String>,
    /// `MailFromAttributes.MailFromDomainStatus`; `SUCCESS` without it.
    #[serde(default)]
    pub mail_from_status: Option<String>,
    /// `MailFromAttributes.BehaviorOnMxFailure`; `USE_DEFAULT_VALUE` without
    /// it.
    #[serde(default)]
    pub behavior_on_mx_failure: Option<String>,
    /// Listed, but deleted before it is asked for: `GetEmailIdentity`
    /// answers 404 `NotFoundException`.
    #[serde(default)]
    pub deleted: bool,
}

/// The identities of a member account of the organization: its domain and
/// an address of it, verified.
pub(crate) fn of_member(account: &str) -> Vec<IdentityState> {
    let domain = format!("account-{account}.example");
    vec![
        IdentityState::verified(&domain),
        IdentityState::verified(&format!("mail@{domain}")),
    ]
}

fn success() -> String {
    "SUCCESS".into()
}

fn yes() -> bool {
    true
}

impl IdentityState {
    /// A verified identity named `name`, with nothing else set up.
    pub fn verified(name: &str) -> Self {
        IdentityState {
            name: name.into(),
            identity_type: None,
            verification_status: success(),
            sending_enabled: true,
            dkim_status: None,
            dkim_origin: None,
            mail_from_domain: None,
            mail_from_status: None,
            behavior_on_mx_failure: None,
            deleted: false,
        }
    }

    fn identity_type(&self) -> &str {
        match &self.identity_type {
            Some(t) => t,
            None if self.name.contains('@') => "EMAIL_ADDRESS",
            None => "DOMAIN",
        }
    }

    /// Its entry in a listing.
    fn listed(&self, v2: bool) -> serde_json::Value {
        let mut v = serde_json::json!({
            "IdentityType": self.identity_type(),
            "IdentityName": self.name,
            "SendingEnabled": self.sending_enabled,
        });
        if v2 {
            v["VerificationStatus"] = serde_json::json!(self.verification_status);
        }
        v
    }

    /// Its own answer (`GetEmailIdentity`).
    fn answer(&self, v2: bool) -> serde_json::Value {
        let mut dkim = serde_json::json!({
            "SigningEnabled": self.dkim_status.as_deref() == Some("SUCCESS"),
            "Status": self.dkim_status.as_deref().unwrap_or("NOT_STARTED"),
            "Tokens": [],
        });
        let mut v = serde_json::json!({
            "IdentityType": self.identity_type(),
            "FeedbackForwardingStatus": true,
            "VerifiedForSendingStatus": self.verification_status == "SUCCESS",
            "DkimAttributes": dkim.clone(),
            "Tags": [],
        });
        if let Some(domain) = &self.mail_from_domain {
            v["MailFromAttributes"] = serde_json::json!({
                "MailFromDomain": domain,
                "MailFromDomainStatus": self.mail_from_status.as_deref().unwrap_or("SUCCESS"),
                "BehaviorOnMxFailure": self.behavior_on_mx_failure.as_deref().unwrap_or("USE_DEFAULT_VALUE"),
            });
        }
        if v2 {
            dkim["SigningAttributesOrigin"] =
                serde_json::json!(self.dkim_origin.as_deref().unwrap_or("AWS_SES"));
            v["DkimAttributes"] = dkim;
            v["VerificationStatus"] = serde_json::json!(self.verification_status);
            v["Policies"] = serde_json::json!({});
        }
        v
    }
}

/// One scripted answer of the identity operations: a call of
/// `ListEmailIdentities` (its first page) takes the next step, its further
/// pages and the `GetEmailIdentity` calls after it take the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentitiesStep {
    /// 200 with these identities.
    Identities(Vec<IdentityState>),
    /// 429 `TooManyRequestsException`.
    Throttle,
    /// An error answer with this status and code.
    Error {
        /// HTTP status.
        status: u16,
        /// Error code (`x-amzn-ErrorType`).
        code: String,
    },
}

/// The answer of `step` to a request of `path` with `query`: a page of the
/// listing, or one identity (404 `NotFoundException` for one there is not).
pub(crate) fn answer(
    step: IdentitiesStep,
    path: &str,
    query: &str,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let v2 = path.starts_with("/v2/");
    let identities = match step {
        IdentitiesStep::Identities(identities) => identities,
        IdentitiesStep::Throttle => return throttled(),
        IdentitiesStep::Error { status, code } => return scripted_error(status, &code),
    };
    if path == SESV2_LIST_PATH {
        return listing(&identities, &body_query(body), true);
    }
    let Some(name) = PATHS.iter().find_map(|p| path.strip_prefix(p)) else {
        return aws_error(
            StatusCode::NOT_FOUND,
            "NotFoundException",
            format!("no operation at {path}"),
        );
    };
    match name.strip_prefix('/').map(percent_decoded) {
        None => listing(&identities, query, v2),
        Some(name) => match identities.iter().find(|i| i.name == name && !i.deleted) {
            Some(identity) => json(StatusCode::OK, identity.answer(v2).to_string()),
            None => aws_error(
                StatusCode::NOT_FOUND,
                "NotFoundException",
                format!("Email identity {name} does not exist."),
            ),
        },
    }
}

/// The answer to a listing of `identities` with `query`.
fn listing(identities: &[IdentityState], query: &str, v2: bool) -> Response<Full<Bytes>> {
    match page(identities, query, v2) {
        Ok(body) => json(StatusCode::OK, body),
        Err(message) => aws_error(StatusCode::BAD_REQUEST, "BadRequestException", message),
    }
}

/// The page of `identities` that a listing with `query` asks for, as the
/// JSON body, or why the query is invalid.
fn page(identities: &[IdentityState], query: &str, v2: bool) -> Result<String, String> {
    let (start, end) = page_bounds(query, identities.len(), MAX_PAGE_SIZE)?;
    let list: Vec<serde_json::Value> = identities[start..end]
        .iter()
        .map(|i| i.listed(v2))
        .collect();
    let mut body = serde_json::json!({ "EmailIdentities": list });
    if end < identities.len() {
        body["NextToken"] = serde_json::json!(end.to_string());
    }
    Ok(body.to_string())
}

/// `text` with its `%XX` escapes decoded (an escape that is not one is kept).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: Response<Full<Bytes>>) -> (u16, serde_json::Value) {
        use http_body_util::BodyExt;
        let status = r.status().as_u16();
        let bytes = block_on(r.into_body().collect()).unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn listings_page_and_say_the_status_in_ses_v2_only() {
        let all: Vec<IdentityState> = ["a.example", "b@a.example", "c.example"]
            .into_iter()
            .map(IdentityState::verified)
            .collect();
        let step = || IdentitiesStep::Identities(all.clone());
        let (status, first) = body(answer(step(), SESV2_LIST_PATH, "", br#"{"PageSize":2}"#));
        assert_eq!(status, 200);
        assert_eq!(first["EmailIdentities"][1]["IdentityType"], "EMAIL_ADDRESS");
        assert_eq!(first["EmailIdentities"][0]["VerificationStatus"], "SUCCESS");
        assert_eq!(first["NextToken"], "2");
        let (_, last) = body(answer(step(), "/v1/email/identities", "NextToken=2", b""));
        assert_eq!(last["EmailIdentities"][0]["IdentityName"], "c.example");
        assert!(
            last["EmailIdentities"][0]
                .get("VerificationStatus")
                .is_none()
        );
        assert!(last.get("NextToken").is_none());
        let (status, _) = body(answer(step(), "/v2/email/identities", "PageSize=1001", b""));
        assert_eq!(status, 400);
    }

    #[test]
    fn an_identity_is_found_by_its_encoded_name() {
        let mut domain = IdentityState::verified("a.example");
        domain.dkim_status = Some("FAILED".into());
        domain.mail_from_domain = Some("bounce.a.example".into());
        let step = || {
            IdentitiesStep::Identities(vec![domain.clone(), IdentityState::verified("b@a.example")])
        };
        let (status, v2) = body(answer(step(), "/v2/email/identities/a.example", "", b""));
        assert_eq!(status, 200);
        assert_eq!(v2["DkimAttributes"]["Status"], "FAILED");
        assert_eq!(v2["DkimAttributes"]["SigningAttributesOrigin"], "AWS_SES");
        assert_eq!(v2["MailFromAttributes"]["MailFromDomainStatus"], "SUCCESS");
        let (_, v1) = body(answer(
            step(),
            "/v1/email/identities/b%40a.example",
            "",
            b"",
        ));
        assert_eq!(v1["VerifiedForSendingStatus"], true);
        assert!(
            v1["DkimAttributes"]
                .get("SigningAttributesOrigin")
                .is_none()
        );
        assert!(v1.get("MailFromAttributes").is_none());
        let (status, _) = body(answer(step(), "/v2/email/identities/gone.example", "", b""));
        assert_eq!(status, 404);
    }
}
