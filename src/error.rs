//! Why a poll failed, as a type and as a stable metric label.

use std::time::Duration;

/// A failed `GetAccount` call, classified by what the exporter should do about it.
///
/// Each variant maps to one `reason` label value of `pinpoint_email_poll_errors_total`
/// (see [`PollError::reason`]); those values are part of the metrics contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PollError {
    /// AWS answered `TooManyRequestsException` (or another throttling code / HTTP 429).
    #[error("throttled by AWS: {0}")]
    Throttled(String),
    /// No complete answer within `--poll.timeout`.
    #[error("no answer within {0:?} (--poll.timeout)")]
    Timeout(Duration),
    /// The connection could not be made or broke (DNS, refused, reset, TLS).
    #[error("network error: {0}")]
    Network(String),
    /// Missing, invalid or expired credentials, a failed assume-role, or access denied.
    #[error("authentication or authorization failed: {0}")]
    Auth(String),
    /// AWS rejected the request as invalid (`BadRequestException`, other 4xx).
    #[error("request rejected by AWS: {0}")]
    BadRequest(String),
    /// AWS answered with a 5xx error.
    #[error("AWS server error: {0}")]
    Server(String),
    /// The answer could not be parsed or lacked required fields.
    #[error("invalid response from AWS: {0}")]
    InvalidResponse(String),
    /// Anything the SDK reports that fits none of the above.
    #[error("unexpected error: {0}")]
    Other(String),
}

impl PollError {
    /// Every `reason` label value, in the order they are documented.
    pub const REASONS: [&'static str; 8] = [
        "throttled",
        "timeout",
        "network",
        "auth",
        "bad_request",
        "server",
        "invalid_response",
        "other",
    ];

    /// The stable `reason` label of `pinpoint_email_poll_errors_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            PollError::Throttled(_) => "throttled",
            PollError::Timeout(_) => "timeout",
            PollError::Network(_) => "network",
            PollError::Auth(_) => "auth",
            PollError::BadRequest(_) => "bad_request",
            PollError::Server(_) => "server",
            PollError::InvalidResponse(_) => "invalid_response",
            PollError::Other(_) => "other",
        }
    }

    /// Whether calling again sooner could help, so the poller should back off
    /// exponentially. Errors that retrying will not fix (credentials, access,
    /// invalid request) are retried at the normal interval instead: backing off
    /// would only delay noticing that an operator fixed them.
    pub fn backs_off(&self) -> bool {
        !matches!(self, PollError::Auth(_) | PollError::BadRequest(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_listed_once_each() {
        let all = [
            PollError::Throttled(String::new()),
            PollError::Timeout(Duration::ZERO),
            PollError::Network(String::new()),
            PollError::Auth(String::new()),
            PollError::BadRequest(String::new()),
            PollError::Server(String::new()),
            PollError::InvalidResponse(String::new()),
            PollError::Other(String::new()),
        ];
        let reasons: Vec<_> = all.iter().map(PollError::reason).collect();
        assert_eq!(reasons, PollError::REASONS);
    }

    #[test]
    fn only_auth_and_bad_request_skip_backoff() {
        assert!(!PollError::Auth("x".into()).backs_off());
        assert!(!PollError::BadRequest("x".into()).backs_off());
        assert!(PollError::Throttled("x".into()).backs_off());
        assert!(PollError::Timeout(Duration::from_secs(1)).backs_off());
        assert!(PollError::Server("x".into()).backs_off());
    }
}
