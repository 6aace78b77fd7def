//! STS `AssumeRole` and `GetCallerIdentity` (query protocol: a form body, an
//! XML answer).

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

use crate::sigv4::Secret;
use crate::{Session, State, lock};

/// Answers an STS `AssumeRole` (query protocol: a form body, an XML answer).
pub(crate) fn assume_role(body: &[u8], state: &Mutex<State>) -> Response<Full<Bytes>> {
    let form = parse_form(body);
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if field("Action").as_deref() != Some("AssumeRole") {
        return sts_error(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            "only AssumeRole is simulated",
        );
    }
    let (Some(role_arn), Some(session_name)) = (field("RoleArn"), field("RoleSessionName")) else {
        return sts_error(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            "RoleArn and RoleSessionName are required",
        );
    };
    let external_id = field("ExternalId");
    let mut st = lock(state);
    let member = st
        .organization
        .member_role(&role_arn, external_id.as_deref())
        .map(|m| m.id.clone());
    let allowed = member.is_some()
        || st.roles.iter().any(|r| {
            r.arn == role_arn && (r.external_id.is_none() || r.external_id == external_id)
        });
    if !allowed {
        return sts_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            &format!("User is not authorized to perform: sts:AssumeRole on resource: {role_arn}"),
        );
    }
    let n = st.sessions.len() + 1;
    let access_key = format!("ASIASIMULATOR{n:07}");
    let secret = Secret {
        secret_access_key: format!("simulated-secret-{n}-{}", fastrand::u64(..)),
        session_token: Some(format!("simulated-token-{n}-{}", fastrand::u64(..))),
    };
    st.credentials.insert(access_key.clone(), secret.clone());
    let lasts = st.session_duration.unwrap_or(Duration::from_secs(3600));
    let expires = std::time::SystemTime::now() + lasts;
    if let Some(account) = member {
        st.session_accounts
            .insert(access_key.clone(), (account, expires));
    }
    st.sessions.push(Session {
        role_arn: role_arn.clone(),
        session_name: session_name.clone(),
        external_id,
        access_key: access_key.clone(),
    });
    let expiration = humantime::format_rfc3339_seconds(expires);
    let request_id = crate::request_id();
    let xml = format!(
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
<AssumeRoleResult><Credentials><AccessKeyId>{access_key}</AccessKeyId>\
<SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken>\
<Expiration>{expiration}</Expiration></Credentials>\
<AssumedRoleUser><AssumedRoleId>AROASIMULATOR:{session}</AssumedRoleId>\
<Arn>{role}/{session}</Arn></AssumedRoleUser></AssumeRoleResult>\
<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>\
</AssumeRoleResponse>",
        secret.secret_access_key,
        secret.session_token.unwrap_or_default(),
        session = xml_escape(&session_name),
        role = xml_escape(
            &role_arn
                .replace(":iam::", ":sts::")
                .replace(":role/", ":assumed-role/")
        ),
    );
    xml_answer(StatusCode::OK, xml, &request_id)
}

/// The `Action` of an STS request's form body.
pub(crate) fn action(body: &[u8]) -> Option<String> {
    parse_form(body)
        .into_iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v)
}

/// Answers an STS `GetCallerIdentity` signed with `access_key`: the member's
/// or the role's account for assumed-role credentials, else the simulator's
/// own ([`crate::CALLER_ACCOUNT`] unless set otherwise).
pub(crate) fn get_caller_identity(access_key: &str, state: &Mutex<State>) -> Response<Full<Bytes>> {
    let st = lock(state);
    let assumed = st.sessions.iter().find(|s| s.access_key == access_key);
    let account = st
        .session_accounts
        .get(access_key)
        .map(|(account, _)| account.clone())
        .or_else(|| assumed.and_then(|s| s.role_arn.split(':').nth(4).map(str::to_string)))
        .unwrap_or_else(|| {
            st.caller_account
                .clone()
                .unwrap_or_else(|| crate::CALLER_ACCOUNT.to_string())
        });
    let arn = match assumed {
        Some(s) => {
            s.role_arn
                .replace(":iam::", ":sts::")
                .replace(":role/", ":assumed-role/")
                + "/"
                + &s.session_name
        }
        None => format!("arn:aws:iam::{account}:user/simulator"),
    };
    let request_id = crate::request_id();
    let xml = format!(
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
<GetCallerIdentityResult><Arn>{}</Arn><UserId>AIDASIMULATOR</UserId>\
<Account>{}</Account></GetCallerIdentityResult>\
<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>\
</GetCallerIdentityResponse>",
        xml_escape(&arn),
        xml_escape(&account)
    );
    xml_answer(StatusCode::OK, xml, &request_id)
}

pub(crate) fn sts_error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let request_id = crate::request_id();
    let xml = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
<Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error>\
<RequestId>{request_id}</RequestId></ErrorResponse>",
        xml_escape(code),
        xml_escape(message)
    );
    xml_answer(status, xml, &request_id)
}

/// An STS answer: the XML, and the request id in a header too, as STS sends it.
fn xml_answer(status: StatusCode, xml: String, request_id: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(xml)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-amzn-requestid", id);
    }
    resp
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Decodes an `application/x-www-form-urlencoded` body.
fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
