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
    /// What a healthy account's region answers: low rates, fresh datapoints.
    pub fn healthy() -> Self {
        CloudWatchStep::Rates {
            bounce_rate: Some(0.004),
            complaint_rate: Some(0.0002),
            age_secs: 0,
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

/// The answer to a `GetMetricData` request with `body`, by `step`.
pub(crate) fn answer(step: &CloudWatchStep, body: &[u8]) -> Response<Full<Bytes>> {
    let (bounce, complaint, age) = match step {
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
        } => (*bounce_rate, *complaint_rate, *age_secs),
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
mod tests {
    use super::*;

    fn request(queries: &[(&str, &str, &str)]) -> Vec<u8> {
        let mut e = minicbor::Encoder::new(Vec::new());
        e.begin_map().unwrap();
        e.str("MetricDataQueries")
            .unwrap()
            .array(queries.len() as u64)
            .unwrap();
        for (id, ns, name) in queries {
            e.begin_map().unwrap();
            e.str("Id").unwrap().str(id).unwrap();
            e.str("MetricStat").unwrap().begin_map().unwrap();
            e.str("Metric").unwrap().begin_map().unwrap();
            e.str("Namespace").unwrap().str(ns).unwrap();
            e.str("MetricName").unwrap().str(name).unwrap();
            e.end().unwrap();
            e.str("Period").unwrap().u32(300).unwrap();
            e.str("Stat").unwrap().str("Average").unwrap();
            e.end().unwrap();
            e.end().unwrap();
        }
        e.str("StartTime")
            .unwrap()
            .tag(Tag::from(IanaTag::Timestamp))
            .unwrap()
            .f64(1.0e9)
            .unwrap();
        e.str("EndTime")
            .unwrap()
            .tag(Tag::from(IanaTag::Timestamp))
            .unwrap()
            .f64(1.1e9)
            .unwrap();
        e.end().unwrap();
        e.into_writer()
    }

    #[test]
    fn reads_queries_with_indefinite_maps() {
        let q = queries(&request(&[("bounce", SES_NAMESPACE, BOUNCE_RATE)])).unwrap();
        assert_eq!(
            q,
            [Query {
                id: "bounce".into(),
                namespace: SES_NAMESPACE.into(),
                metric: BOUNCE_RATE.into()
            }]
        );
    }

    #[test]
    fn indefinite_length_text_is_text() {
        let mut e = minicbor::Encoder::new(Vec::new());
        e.begin_map().unwrap();
        e.begin_str().unwrap().str("Id").unwrap().end().unwrap();
        e.begin_str()
            .unwrap()
            .str("boun")
            .unwrap()
            .str("ce")
            .unwrap()
            .end()
            .unwrap();
        e.end().unwrap();
        let item = decode(&e.into_writer()).unwrap();
        assert_eq!(item.get("Id").and_then(Item::text), Some("bounce"));
    }

    #[test]
    fn refuses_what_cloudwatch_refuses() {
        assert!(queries(b"\xff").is_err());
        assert!(queries(&[0xa0]).unwrap_err().contains("StartTime"));
        let mut trailing = request(&[]);
        trailing.push(0);
        assert!(queries(&trailing).is_err());
        assert!(queries(&request(&[("Bad", SES_NAMESPACE, BOUNCE_RATE)])).is_err());
        // Nesting far beyond what a request needs.
        let deep: Vec<u8> = std::iter::repeat_n(0x81, 100).chain([0x00]).collect();
        assert!(decode(&deep).unwrap_err().contains("deeply"));
    }

    #[test]
    fn answers_each_query_in_order_with_the_rate_it_asks_for() {
        let body = request(&[
            ("complaint", SES_NAMESPACE, COMPLAINT_RATE),
            ("other", "AWS/EC2", "CPUUtilization"),
            ("bounce", SES_NAMESPACE, BOUNCE_RATE),
        ]);
        let step = CloudWatchStep::Rates {
            bounce_rate: Some(0.03),
            complaint_rate: None,
            age_secs: 0,
        };
        let resp = answer(&step, &body);
        assert_eq!(resp.status(), 200);
        let bytes = futures_body(resp);
        let item = decode(&bytes).unwrap();
        let Some(Item::Array(results)) = item.get("MetricDataResults") else {
            panic!("{item:?}");
        };
        let ids: Vec<&str> = results.iter().filter_map(|r| r.get("Id")?.text()).collect();
        assert_eq!(ids, ["complaint", "other", "bounce"]);
        assert_eq!(results[0].get("Values"), Some(&Item::Array(vec![])));
        assert_eq!(
            results[2].get("Values"),
            Some(&Item::Array(vec![Item::Number(0.03)]))
        );
    }

    fn futures_body(resp: Response<Full<Bytes>>) -> Vec<u8> {
        use http_body_util::BodyExt as _;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(resp.into_body().collect())
            .unwrap()
            .to_bytes()
            .to_vec()
    }
}
