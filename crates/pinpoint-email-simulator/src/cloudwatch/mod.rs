//! CloudWatch `GetMetricData` as `aws-sdk-cloudwatch` 1.x sends it: Smithy RPC
//! v2 CBOR (`POST /service/GraniteServiceVersion20100801/operation/GetMetricData`
//! with `smithy-protocol: rpc-v2-cbor` and CBOR bodies), signed for the
//! `monitoring` service. It serves the account-level SES reputation metrics of
//! each region (`AWS/SES` `Reputation.BounceRate` and `Reputation.ComplaintRate`),
//! written from the protocol's specification, not with the SDK's codec.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use minicbor::data::{IanaTag, Tag, Type};
use serde::{Deserialize, Serialize};

/// The request path of `GetMetricData`.
pub const GET_METRIC_DATA_PATH: &str =
    "/service/GraniteServiceVersion20100801/operation/GetMetricData";

/// The namespace and metric names answered with data.
pub const SES_NAMESPACE: &str = "AWS/SES";
/// The bounce rate metric (a ratio).
pub const BOUNCE_RATE: &str = "Reputation.BounceRate";
/// The complaint rate metric (a ratio).
pub const COMPLAINT_RATE: &str = "Reputation.ComplaintRate";
/// The counts answered, as `Sum`s, beside the rates: `Send`, `Delivery`,
/// `Bounce`, `Complaint`, `Reject`.
pub const VOLUMES: [&str; 5] = ["Send", "Delivery", "Bounce", "Complaint", "Reject"];

/// How deeply nested a request may be.
const MAX_DEPTH: usize = 16;

/// One scripted answer of `GetMetricData`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloudWatchStep {
    /// 200 with the latest datapoint of each rate, `age_secs` old; a rate of
    /// `None` has no datapoint in the window (an account that sends nothing).
    Rates {
        /// `Reputation.BounceRate`.
        bounce_rate: Option<f64>,
        /// `Reputation.ComplaintRate`.
        complaint_rate: Option<f64>,
        /// How old the datapoints are.
        #[serde(default)]
        age_secs: u64,
        /// Messages sent in the window: the `Send` sum; `Bounce` and
        /// `Complaint` are it times the rates, `Reject` is 0.1 % of it and
        /// `Delivery` the rest. `None`: no datapoint of any of them.
        #[serde(default)]
        sends: Option<f64>,
    },
    /// 400 `Throttling`, as CloudWatch throttles.
    Throttle,
    /// An error answer with this status and code.
    Error {
        /// HTTP status, e.g. 500 or 403.
        status: u16,
        /// Error code, e.g. `InternalServiceFault` or `AccessDenied`.
        code: String,
    },
    /// This status with this exact body, not CBOR: what a proxy answers in
    /// CloudWatch's place, or an endpoint that does not speak the protocol.
    Status {
        /// HTTP status, e.g. 403.
        status: u16,
        /// The body, as sent.
        body: String,
    },
}

impl CloudWatchStep {
    /// No datapoint: an account that sends nothing.
    pub fn none() -> Self {
        CloudWatchStep::Rates {
            bounce_rate: None,
            complaint_rate: None,
            age_secs: 0,
            sends: None,
        }
    }

    /// What a healthy account's region answers: low rates, fresh datapoints.
    pub fn healthy() -> Self {
        CloudWatchStep::Rates {
            bounce_rate: Some(0.004),
            complaint_rate: Some(0.0002),
            age_secs: 0,
            sends: Some(20_000.0),
        }
    }
}

/// A CBOR data item, as far as requests need one.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Map(Vec<(String, Item)>),
    Array(Vec<Item>),
    Text(String),
    Number(f64),
    Bool(bool),
    Null,
    Tagged(u64, Box<Item>),
    Other,
}

impl Item {
    fn get(&self, key: &str) -> Option<&Item> {
        match self {
            Item::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            Item::Text(t) => Some(t),
            _ => None,
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Item::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// Epoch seconds of a timestamp (tag 1 and a number).
    fn timestamp(&self) -> Option<f64> {
        match self {
            Item::Tagged(1, inner) => inner.number(),
            _ => None,
        }
    }
}

/// Decodes one whole CBOR data item; anything left after it is an error.
fn decode(bytes: &[u8]) -> Result<Item, String> {
    let mut d = minicbor::Decoder::new(bytes);
    let item = decode_item(&mut d, 0)?;
    if d.position() != bytes.len() {
        return Err(format!(
            "{} bytes after the CBOR data item",
            bytes.len() - d.position()
        ));
    }
    Ok(item)
}

fn decode_item(d: &mut minicbor::Decoder<'_>, depth: usize) -> Result<Item, String> {
    if depth > MAX_DEPTH {
        return Err("CBOR nested too deeply".into());
    }
    let e = |e: minicbor::decode::Error| e.to_string();
    Ok(match d.datatype().map_err(e)? {
        Type::Map | Type::MapIndef => {
            let len = d.map().map_err(e)?;
            let mut entries = Vec::new();
            let mut n = 0u64;
            loop {
                match len {
                    Some(len) if n == len => break,
                    None if d.datatype().map_err(e)? == Type::Break => {
                        d.skip().map_err(e)?;
                        break;
                    }
                    _ => {}
                }
                let Item::Text(key) = decode_item(d, depth + 1)? else {
                    return Err("a map key that is not text".into());
                };
                entries.push((key, decode_item(d, depth + 1)?));
                n += 1;
            }
            Item::Map(entries)
        }
        Type::Array | Type::ArrayIndef => {
            let len = d.array().map_err(e)?;
            let mut items = Vec::new();
            let mut n = 0u64;
            loop {
                match len {
                    Some(len) if n == len => break,
                    None if d.datatype().map_err(e)? == Type::Break => {
                        d.skip().map_err(e)?;
                        break;
                    }
                    _ => {}
                }
                items.push(decode_item(d, depth + 1)?);
                n += 1;
            }
            Item::Array(items)
        }
        Type::String => Item::Text(d.str().map_err(e)?.to_string()),
        Type::StringIndef => {
            let mut text = String::new();
            for chunk in d.str_iter().map_err(e)? {
                text.push_str(chunk.map_err(e)?);
            }
            Item::Text(text)
        }
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => Item::Number(d.u64().map_err(e)? as f64),
        Type::I8 | Type::I16 | Type::I32 | Type::I64 => Item::Number(d.i64().map_err(e)? as f64),
        Type::F16 | Type::F32 | Type::F64 => Item::Number(d.f64().map_err(e)?),
        Type::Bool => Item::Bool(d.bool().map_err(e)?),
        Type::Null => {
            d.null().map_err(e)?;
            Item::Null
        }
        Type::Tag => {
            let tag = d.tag().map_err(e)?;
            Item::Tagged(tag.as_u64(), Box::new(decode_item(d, depth + 1)?))
        }
        other => {
            d.skip().map_err(|err| format!("{other}: {err}"))?;
            Item::Other
        }
    })
}

/// One query of a request that asks for a metric.
#[derive(Debug, Clone, PartialEq)]
struct Query {
    id: String,
    namespace: String,
    metric: String,
}

/// How many metrics a `GetMetricData` request asks for (what CloudWatch
/// charges by); 0 for a request it cannot read.
pub(crate) fn metrics_requested(body: &[u8]) -> usize {
    queries(body).map_or(0, |q| q.len())
}

/// Reads the queries of a `GetMetricData` request, or why it is invalid (as
/// CloudWatch's `ValidationError` would say).
fn queries(body: &[u8]) -> Result<Vec<Query>, String> {
    let request = decode(body).map_err(|e| format!("the body is not CBOR: {e}"))?;
    if !matches!(request, Item::Map(_)) {
        return Err("the body is not a CBOR map".into());
    }
    let (Some(start), Some(end)) = (
        request.get("StartTime").and_then(Item::timestamp),
        request.get("EndTime").and_then(Item::timestamp),
    ) else {
        return Err("StartTime and EndTime are required timestamps".into());
    };
    if start >= end {
        return Err("The parameter StartTime must be less than the parameter EndTime.".into());
    }
    let Some(Item::Array(list)) = request.get("MetricDataQueries") else {
        return Err("The parameter MetricDataQueries is required.".into());
    };
    let mut queries = Vec::new();
    for query in list {
        let id = query.get("Id").and_then(Item::text).unwrap_or_default();
        let stat = query.get("MetricStat");
        let metric = stat.and_then(|s| s.get("Metric"));
        let (Some(namespace), Some(name)) = (
            metric.and_then(|m| m.get("Namespace")).and_then(Item::text),
            metric
                .and_then(|m| m.get("MetricName"))
                .and_then(Item::text),
        ) else {
            return Err(format!(
                "query {id:?}: MetricStat.Metric needs Namespace and MetricName"
            ));
        };
        let period = stat.and_then(|s| s.get("Period")).and_then(Item::number);
        if !period.is_some_and(|p| p >= 1.0) {
            return Err(format!(
                "query {id:?}: MetricStat.Period must be a positive number"
            ));
        }
        if stat
            .and_then(|s| s.get("Stat"))
            .and_then(Item::text)
            .is_none()
        {
            return Err(format!("query {id:?}: MetricStat.Stat is required"));
        }
        if id.is_empty() || !id.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(format!(
                "query {id:?}: Id must start with a lowercase letter"
            ));
        }
        queries.push(Query {
            id: id.to_string(),
            namespace: namespace.to_string(),
            metric: name.to_string(),
        });
    }
    Ok(queries)
}

/// The `Sum` of the count `metric` (one of [`VOLUMES`]) when `sends` messages
/// went out at these rates; `None` for another metric.
fn volume(metric: &str, sends: f64, bounce: Option<f64>, complaint: Option<f64>) -> Option<f64> {
    let bounces = (sends * bounce.unwrap_or(0.0)).round();
    let rejects = (sends * 0.001).round();
    Some(match metric {
        "Send" => sends,
        "Bounce" => bounces,
        "Complaint" => (sends * complaint.unwrap_or(0.0)).round(),
        "Reject" => rejects,
        "Delivery" => (sends - bounces - rejects).max(0.0),
        _ => return None,
    })
}

/// The answer to a `GetMetricData` request with `body`, by `step`.
pub(crate) fn answer(step: &CloudWatchStep, body: &[u8]) -> Response<Full<Bytes>> {
    let (bounce, complaint, age, sends) = match step {
        CloudWatchStep::Throttle => {
            return error(StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded");
        }
        CloudWatchStep::Error { status, code } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error(status, code, &format!("simulated {code}"));
        }
        CloudWatchStep::Status { status, body } => {
            let mut resp = Response::new(Full::new(Bytes::from(body.clone())));
            *resp.status_mut() =
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            resp.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
            return resp;
        }
        CloudWatchStep::Rates {
            bounce_rate,
            complaint_rate,
            age_secs,
            sends,
        } => (*bounce_rate, *complaint_rate, *age_secs, *sends),
    };
    let queries = match queries(body) {
        Ok(q) => q,
        Err(message) => return error(StatusCode::BAD_REQUEST, "ValidationError", &message),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    // Datapoints at the start of the minute, `age` ago.
    let at = now.saturating_sub(age) / 60 * 60;
    let mut out = minicbor::Encoder::new(Vec::new());
    let written: Result<(), minicbor::encode::Error<std::convert::Infallible>> = (|| {
        out.map(2)?.str("MetricDataResults")?;
        out.array(queries.len() as u64)?;
        for q in &queries {
            let value = match (q.namespace.as_str(), q.metric.as_str()) {
                (SES_NAMESPACE, BOUNCE_RATE) => bounce,
                (SES_NAMESPACE, COMPLAINT_RATE) => complaint,
                (SES_NAMESPACE, metric) => sends.and_then(|s| volume(metric, s, bounce, complaint)),
                _ => None,
            };
            out.map(5)?.str("Id")?.str(&q.id)?;
            out.str("Label")?.str(&q.metric)?;
            out.str("Timestamps")?.array(u64::from(value.is_some()))?;
            if value.is_some() {
                out.tag(Tag::from(IanaTag::Timestamp))?.u64(at)?;
            }
            out.str("Values")?.array(u64::from(value.is_some()))?;
            if let Some(v) = value {
                out.f64(v)?;
            }
            out.str("StatusCode")?.str("Complete")?;
        }
        out.str("Messages")?.array(0)?;
        Ok(())
    })();
    if written.is_err() {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServiceFault",
            "encoding failed",
        );
    }
    cbor(StatusCode::OK, out.into_writer())
}

fn cbor(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/cbor"));
    headers.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    if let Ok(id) = HeaderValue::from_str(&crate::request_id()) {
        headers.insert("x-amzn-requestid", id);
    }
    resp
}

/// An RPC v2 CBOR error: `__type` and `message` in the body, and the query
/// protocol's code in `x-amzn-query-error`, as CloudWatch sends them.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let mut out = minicbor::Encoder::new(Vec::new());
    let _ = out
        .map(2)
        .and_then(|e| e.str("__type"))
        .and_then(|e| e.str(&format!("com.amazonaws.cloudwatch#{code}")))
        .and_then(|e| e.str("message"))
        .and_then(|e| e.str(message));
    let mut resp = cbor(status, out.into_writer());
    let fault = if status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    if let Ok(v) = HeaderValue::from_str(&format!("{code};{fault}")) {
        resp.headers_mut().insert("x-amzn-query-error", v);
    }
    resp
}

#[cfg(test)]
mod tests;
