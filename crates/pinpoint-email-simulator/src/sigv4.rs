//! SigV4 verification, written from the published algorithm rather than with the
//! SDK's signer, so that a signing bug in the SDK would be caught, not mirrored.

use std::collections::HashMap;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// A secret key, and the session token that must come with it for temporary
/// credentials. `Debug` shows neither.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token of temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Why a request's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    /// The region of the credential scope, when it could be read.
    pub region: String,
    /// The AWS error code.
    pub code: &'static str,
    /// The message AWS would give.
    pub message: String,
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so the error branch is never taken.
    let Ok(mut mac) = <HmacSha256 as KeyInit>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Who signed a request that passed [`verify_sigv4`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The region of the credential scope.
    pub region: String,
    /// The access key id.
    pub access_key: String,
}

/// Checks the SigV4 `Authorization` header of a request with head `parts` and
/// `body`, signed for `service`, and returns who signed it for which region.
pub fn verify_sigv4(
    parts: &hyper::http::request::Parts,
    body: &[u8],
    credentials: &HashMap<String, Secret>,
    service_expected: &str,
) -> Result<Signed, AuthError> {
    let auth = Authorization::parse(parts)?;
    let fail = |code, message: &str| AuthError::new(auth.region, code, message);
    if auth.service != service_expected {
        return Err(fail(
            "InvalidSignatureException",
            &format!(
                "Credential should be scoped to correct service: '{service_expected}', not '{}'.",
                auth.service
            ),
        ));
    }
    let Some(Secret {
        secret_access_key: secret,
        session_token,
    }) = credentials.get(auth.access_key)
    else {
        return Err(fail(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    };
    let Some(amz_date) = parts
        .headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
    else {
        return Err(fail(
            "IncompleteSignatureException",
            "x-amz-date header is missing",
        ));
    };
    if !amz_date.starts_with(auth.date) {
        return Err(fail(
            "InvalidSignatureException",
            "Date in Credential scope does not match x-amz-date",
        ));
    }
    let names: Vec<&str> = auth.signed_headers.split(';').collect();
    if !names.contains(&"host") {
        return Err(fail(
            "InvalidSignatureException",
            "'Host' must be a signed header",
        ));
    }
    let canonical = canonical_request(parts, body, &names, auth.signed_headers)
        .map_err(|(code, message)| fail(code, message))?;
    if let Some(token) = session_token {
        let sent = parts
            .headers
            .get("x-amz-security-token")
            .map(|v| v.as_bytes());
        if sent != Some(token.as_bytes()) || !names.contains(&"x-amz-security-token") {
            return Err(fail(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ));
        }
    }
    if signature(secret, &auth, amz_date, &canonical) != auth.signature {
        return Err(fail(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
        ));
    }
    Ok(Signed {
        region: auth.region.to_string(),
        access_key: auth.access_key.to_string(),
    })
}

impl AuthError {
    fn new(region: &str, code: &'static str, message: &str) -> Self {
        AuthError {
            region: region.to_string(),
            code,
            message: message.to_string(),
        }
    }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
struct Authorization<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

impl<'a> Authorization<'a> {
    /// Reads the header and its credential scope, refusing what AWS refuses.
    fn parse(parts: &'a hyper::http::request::Parts) -> Result<Self, AuthError> {
        let incomplete = |region: &str, message: &str| {
            AuthError::new(region, "IncompleteSignatureException", message)
        };
        let Some(auth) = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
        else {
            return Err(AuthError::new(
                "",
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            ));
        };
        let Some(rest) = auth.strip_prefix("AWS4-HMAC-SHA256 ") else {
            return Err(incomplete(
                "",
                "Authorization header is not AWS4-HMAC-SHA256",
            ));
        };
        let field = |name: &str| {
            // The last one counts when a field repeats.
            rest.split(',')
                .map(str::trim)
                .rev()
                .find_map(|part| part.strip_prefix(name))
        };
        let (Some(credential), Some(signed_headers), Some(signature)) = (
            field("Credential="),
            field("SignedHeaders="),
            field("Signature="),
        ) else {
            return Err(incomplete(
                "",
                "Authorization header requires Credential, SignedHeaders and Signature",
            ));
        };
        let scope: Vec<&str> = credential.split('/').collect();
        let [access_key, date, region, service, terminator] = scope[..] else {
            return Err(incomplete(
                "",
                "Credential must be KEY/DATE/REGION/SERVICE/aws4_request",
            ));
        };
        if terminator != "aws4_request" {
            return Err(incomplete(region, "Credential must end with aws4_request"));
        }
        Ok(Authorization {
            access_key,
            date,
            region,
            service,
            signed_headers,
            signature,
        })
    }
}

/// The canonical request of SigV4, or the error code and message of a body
/// whose `x-amz-content-sha256` is not its hash.
fn canonical_request(
    parts: &hyper::http::request::Parts,
    body: &[u8],
    names: &[&str],
    signed_headers: &str,
) -> Result<String, (&'static str, &'static str)> {
    let mut canonical_headers = String::new();
    for name in names {
        let values: Vec<String> = parts
            .headers
            .get_all(*name)
            .iter()
            .map(|v| collapse_spaces(&String::from_utf8_lossy(v.as_bytes())))
            .collect();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let mut query: Vec<&str> = parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .collect();
    query.sort_unstable();
    let payload_hash = hex::encode(Sha256::digest(body));
    let claimed = parts.headers.get("x-amz-content-sha256");
    if claimed.is_some_and(|c| c.as_bytes() != payload_hash.as_bytes()) {
        return Err((
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ));
    }
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        parts.method,
        canonical_uri(parts.uri.path()),
        query.join("&"),
        canonical_headers,
        signed_headers,
        payload_hash
    ))
}

/// The canonical URI of `path` as AWS services other than S3 make it: the
/// path as sent (already percent-encoded once by the client) encoded again,
/// so `/v2/email/identities/a%40b.example` signs as `.../a%2540b.example`.
fn canonical_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The signature SigV4 gives `canonical_request` with `secret`.
fn signature(secret: &str, auth: &Authorization<'_>, amz_date: &str, canonical: &str) -> String {
    let (date, region, service) = (auth.date, auth.region, auth.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    hex::encode(hmac(&k_signing, string_to_sign.as_bytes()))
}

fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::Request;
    use sha2::{Digest, Sha256};

    /// The example request of the SigV4 documentation (GET with a query, IAM
    /// service), with the scope's service changed to `ses` and re-signed by hand.
    fn signed_request(secret: &str, service: &str) -> hyper::http::request::Parts {
        let date = "20150830T123600Z";
        let host = "email.us-east-1.amazonaws.com";
        let canonical = format!(
            "GET\n/v1/email/account\n\nhost:{host}\nx-amz-date:{date}\n\nhost;x-amz-date\n{}",
            hex::encode(Sha256::digest(b""))
        );
        let sts = format!(
            "AWS4-HMAC-SHA256\n{date}\n20150830/us-east-1/{service}/aws4_request\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let k = hmac(format!("AWS4{secret}").as_bytes(), b"20150830");
        let k = hmac(&k, b"us-east-1");
        let k = hmac(&k, service.as_bytes());
        let k = hmac(&k, b"aws4_request");
        let sig = hex::encode(hmac(&k, sts.as_bytes()));
        Request::get("/v1/email/account")
            .header("host", host)
            .header("x-amz-date", date)
            .header(
                "authorization",
                format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature={sig}"),
            )
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    fn secret(s: &str) -> Secret {
        Secret {
            secret_access_key: s.to_string(),
            session_token: None,
        }
    }

    fn creds() -> HashMap<String, Secret> {
        HashMap::from([(
            "AKIDEXAMPLE".to_string(),
            secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        )])
    }

    fn verify(
        parts: &hyper::http::request::Parts,
        creds: &HashMap<String, Secret>,
    ) -> Result<Signed, AuthError> {
        verify_sigv4(parts, b"", creds, "ses")
    }

    #[test]
    fn accepts_a_valid_signature_and_reads_the_region() {
        let req = signed_request("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "ses");
        assert_eq!(
            verify(&req, &creds()).map(|s| s.region),
            Ok("us-east-1".to_string())
        );
    }

    #[test]
    fn rejects_wrong_secret_service_key_and_missing_header() {
        let req = signed_request("wrong", "ses");
        assert_eq!(
            verify(&req, &creds()).unwrap_err().code,
            "InvalidSignatureException"
        );
        let req = signed_request("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "email");
        let err = verify(&req, &creds()).unwrap_err();
        assert!(err.message.contains("'ses'"), "{err:?}");
        let other = HashMap::from([("OTHER".to_string(), secret("x"))]);
        let req = signed_request("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "ses");
        assert_eq!(
            verify(&req, &other).unwrap_err().code,
            "UnrecognizedClientException"
        );
        let req = Request::get("/v1/email/account")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        assert_eq!(
            verify(&req, &creds()).unwrap_err().code,
            "MissingAuthenticationTokenException"
        );
    }
}
