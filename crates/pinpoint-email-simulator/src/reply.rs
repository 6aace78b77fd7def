//! The answers every service of the simulator shares: JSON bodies, AWS
//! error answers in the REST-JSON form, and the paging of listings.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

/// A JSON answer with `status`, and a fresh request id.
pub(crate) fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(id) = HeaderValue::from_str(&crate::request_id()) {
        resp.headers_mut().insert("x-amzn-requestid", id);
    }
    resp
}

/// SES's 429 `TooManyRequestsException`.
pub(crate) fn throttled() -> Response<Full<Bytes>> {
    aws_error(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequestsException",
        "Too many requests have been made to the operation.".into(),
    )
}

/// A scripted error answer: `status` (500 if it is none) and `code`.
pub(crate) fn scripted_error(status: u16, code: &str) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    aws_error(status, code, format!("simulated {code}"))
}

/// The `start..end` of a list of `len` items that a listing's `query`
/// (`PageSize`, at most `max_page`, and `NextToken`, the index this API gave
/// as the next) asks for, or why the query is invalid.
pub(crate) fn page_bounds(
    query: &str,
    len: usize,
    max_page: usize,
) -> Result<(usize, usize), String> {
    let mut size = max_page;
    let mut start = 0;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "PageSize" => {
                size = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=max_page).contains(n))
                    .ok_or_else(|| format!("PageSize {value:?} must be from 1 to {max_page}"))?;
            }
            "NextToken" => {
                start =
                    value.parse().ok().filter(|n| *n <= len).ok_or_else(|| {
                        format!("NextToken {value:?} is not a token this API gave")
                    })?;
            }
            _ => {}
        }
    }
    Ok((start, (start + size).min(len)))
}

/// An AWS error answer of the REST-JSON protocols: its code in
/// `x-amzn-ErrorType`, its message in the body.
pub(crate) fn aws_error(status: StatusCode, code: &str, message: String) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut resp = json(status, body);
    if let Ok(v) = HeaderValue::from_str(code) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    resp
}
