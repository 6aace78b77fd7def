//! `GetDedicatedIps` of both APIs (`GET /v1/email/dedicated-ips`, Pinpoint
//! Email, and `GET /v2/email/dedicated-ips`, SES v2), with their paging
//! (`PageSize`, `NextToken`).

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde::{Deserialize, Serialize};

use crate::reply::{aws_error, json, page_bounds, scripted_error, throttled};

/// The largest `PageSize` the APIs accept, and the size of a page without one.
pub const MAX_PAGE_SIZE: usize = 100;

/// One dedicated IP address of an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedicatedIpState {
    /// `Ip`, an IPv4 address.
    pub ip: String,
    /// `PoolName`; `None` leaves it out.
    #[serde(default)]
    pub pool: Option<String>,
    /// `WarmupPercentage`: 0 to 100, or -1 for managed pools.
    pub warmup_percentage: i32,
    /// `WarmupStatus`: `IN_PROGRESS`, `DONE`, or (SES v2) `NOT_APPLICABLE`.
    pub warmup_status: String,
}

/// One scripted answer of `GetDedicatedIps`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DedicatedIpsStep {
    /// 200 with these addresses, a page at a time.
    Ips(Vec<DedicatedIpState>),
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

/// The answer of a `GetDedicatedIps` step, a page of `query`'s.
pub(crate) fn answer(step: DedicatedIpsStep, query: &str) -> Response<Full<Bytes>> {
    match step {
        DedicatedIpsStep::Ips(ips) => match page(&ips, query) {
            Ok(body) => json(StatusCode::OK, body),
            Err(message) => aws_error(StatusCode::BAD_REQUEST, "BadRequestException", message),
        },
        DedicatedIpsStep::Throttle => throttled(),
        DedicatedIpsStep::Error { status, code } => scripted_error(status, &code),
    }
}

/// The page of `ips` that a request with `query` (the URL's query string)
/// asks for, as the JSON body, or why the query is invalid.
pub(crate) fn page(ips: &[DedicatedIpState], query: &str) -> Result<String, String> {
    let (start, end) = page_bounds(query, ips.len(), MAX_PAGE_SIZE)?;
    let list: Vec<serde_json::Value> = ips[start..end]
        .iter()
        .map(|ip| {
            let mut v = serde_json::json!({
                "Ip": ip.ip,
                "WarmupStatus": ip.warmup_status,
                "WarmupPercentage": ip.warmup_percentage,
            });
            if let Some(pool) = &ip.pool {
                v["PoolName"] = serde_json::json!(pool);
            }
            v
        })
        .collect();
    let mut body = serde_json::json!({ "DedicatedIps": list });
    if end < ips.len() {
        body["NextToken"] = serde_json::json!(end.to_string());
    }
    Ok(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(n: usize) -> Vec<DedicatedIpState> {
        (0..n)
            .map(|i| DedicatedIpState {
                ip: format!("198.51.100.{i}"),
                pool: Some("p".into()),
                warmup_percentage: 50,
                warmup_status: "IN_PROGRESS".into(),
            })
            .collect()
    }

    #[test]
    fn pages_follow_the_token() {
        let all = ips(5);
        let first: serde_json::Value =
            serde_json::from_str(&page(&all, "PageSize=2").unwrap()).unwrap();
        assert_eq!(first["DedicatedIps"].as_array().unwrap().len(), 2);
        assert_eq!(first["NextToken"], "2");
        let last: serde_json::Value =
            serde_json::from_str(&page(&all, "NextToken=4&PageSize=2").unwrap()).unwrap();
        assert_eq!(last["DedicatedIps"][0]["Ip"], "198.51.100.4");
        assert!(last.get("NextToken").is_none());
        assert!(page(&all, "PageSize=500").is_err());
        assert!(page(&all, "NextToken=9").is_err());
    }
}
