//! How AWS SDK errors of any service map to [`PollError`]s and their `reason`.

use std::error::Error as StdError;
use std::time::Duration;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_pinpointemail::error::{ProvideErrorMetadata, SdkError};

use crate::error::PollError;

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
const NO_CREDENTIALS_HINT: &str = "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
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
            let message = match (code, e.message()) {
                ("", None) => format!("HTTP {status}"),
                ("", Some(m)) => format!("HTTP {status}: {m}"),
                (code, None) => format!("HTTP {status} {code}"),
                (code, Some(m)) => format!("HTTP {status} {code}: {m}"),
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
        // An answer the SDK could not read: its status still says what
        // happened when it is one of refusal, throttling or a server error.
        SdkError::ResponseError(response) => {
            let status = response.raw().status().as_u16();
            let message = || {
                format!(
                    "HTTP {status}, an answer that could not be read: {}",
                    detail()
                )
            };
            match status {
                401 | 403 => PollError::Auth(message()),
                429 => PollError::Throttled(message()),
                500..=599 => PollError::Server(message()),
                _ => PollError::InvalidResponse(detail()),
            }
        }
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
/// long for a log line.) AWS's error metadata is its code and message: the
/// request id, new with every answer, is left out, so that the same failure
/// twice reads the same (and is logged once).
fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        let text = match e.downcast_ref::<aws_smithy_types::error::ErrorMetadata>() {
            Some(meta) => match (meta.code(), meta.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                (None, Some(message)) => message.to_string(),
                (None, None) => String::new(),
            },
            None => e.to_string(),
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_pinpointemail::operation::get_account::GetAccountError;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;

    /// A response the SDK failed to read (its body cut short, say): counted
    /// by what its status says, `invalid_response` when that says nothing.
    #[test]
    fn an_unread_response_counts_as_its_status_says() {
        for (status, reason) in [
            (401, "auth"),
            (403, "auth"),
            (429, "throttled"),
            (503, "server"),
            (200, "invalid_response"),
            (404, "invalid_response"),
        ] {
            let raw = Response::new(
                StatusCode::try_from(status).unwrap(),
                SdkBody::from("cut sh"),
            );
            let err: SdkError<GetAccountError, Response> =
                SdkError::response_error("unexpected end of body", raw);
            let classified = classify_sdk_error(&err, Duration::from_secs(1));
            assert_eq!(classified.reason(), reason, "{status}: {classified}");
            assert!(
                classified.to_string().contains("unexpected end of body"),
                "{classified}"
            );
        }
    }
}
