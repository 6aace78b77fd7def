//! AWS Organizations, as far as account discovery needs it: `ListAccounts`,
//! `ListAccountsForParent`, `ListOrganizationalUnitsForParent` and
//! `ListTagsForResource`, in the AWS JSON 1.1 protocol the SDK sends
//! (`POST /`, `X-Amz-Target: AWSOrganizationsV20161128.<Operation>`, signed for
//! `organizations`). Each member account has its own `GetAccount` answer,
//! served to requests signed with credentials of a role assumed in it.

use std::collections::BTreeMap;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::AccountState;

/// The `X-Amz-Target` prefix of Organizations operations.
pub const TARGET_PREFIX: &str = "AWSOrganizationsV20161128.";

/// The organization's root, the parent of accounts and units placed nowhere else.
pub const ROOT: &str = "r-sim0";

/// The largest page AWS returns for these operations (`MaxResults` may ask less).
pub const MAX_PAGE: usize = 20;

/// One member account.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The 12-digit account id.
    pub id: String,
    /// The account's name.
    pub name: String,
    /// `State`: ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED, PENDING_ACTIVATION.
    pub state: String,
    /// The root or organizational unit it is placed in.
    pub parent: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// What `GetAccount` answers to its assumed roles, in every region.
    pub account: AccountState,
    /// Whether the organization's role exists in it (false: `AssumeRole` is
    /// denied, as for an account where the role was never deployed).
    pub assumable: bool,
}

impl Member {
    /// An ACTIVE account under the root with a healthy account state.
    pub fn active(id: impl Into<String>, name: impl Into<String>) -> Self {
        Member {
            id: id.into(),
            name: name.into(),
            state: "ACTIVE".into(),
            parent: ROOT.into(),
            tags: BTreeMap::new(),
            account: AccountState::healthy(),
            assumable: true,
        }
    }
}

/// An organization: its accounts, its units, the role every member account
/// lets the exporter assume, and how its API answers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Organization {
    /// Member accounts, in the order `ListAccounts` returns them.
    pub members: Vec<Member>,
    /// Organizational units: (id, parent id).
    pub units: Vec<(String, String)>,
    /// The role name assumable in every ACTIVE member account.
    pub role_name: String,
    /// The external id the role requires, if any.
    pub external_id: Option<String>,
    /// When set, every Organizations call fails with this error code (for
    /// example `AccessDeniedException` or `TooManyRequestsException`).
    pub failing: Option<String>,
    /// Which of its account-regions send mail.
    pub sending: Sending,
}

/// Which account-regions of an organization send: those that do answer
/// `GetAccount` with their member's account (production access, mail sent)
/// and `GetMetricData` with reputation datapoints; the others are idle
/// sandbox regions that sent nothing and have no datapoint.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sending {
    /// The share of account-regions that send, picked by a hash of the
    /// account id and region (the same ones every run); `None`: all.
    pub share: Option<f64>,
    /// The first idle account-region asked for starts sending this long
    /// after that first call.
    pub one_turns_active_after: Option<std::time::Duration>,
}

impl Sending {
    /// Whether `account` sends in `region` now; `turning` is the idle
    /// account-region that starts sending, and when, once one was asked for.
    pub(crate) fn sends(
        &self,
        account: &str,
        region: &str,
        turning: &mut Option<(String, String, Instant)>,
    ) -> bool {
        let Some(share) = self.share else {
            return true;
        };
        if share_point(account, region) < share {
            return true;
        }
        let Some(after) = self.one_turns_active_after else {
            return false;
        };
        match turning {
            None => {
                let at = Instant::now() + after;
                *turning = Some((account.to_string(), region.to_string(), at));
                false
            }
            Some((a, r, at)) if a == account && r == region => Instant::now() >= *at,
            Some(_) => false,
        }
    }
}

/// Seconds from now until `at`; negative once it is past.
pub(crate) fn seconds_until(at: Instant) -> f64 {
    let now = Instant::now();
    if at >= now {
        (at - now).as_secs_f64()
    } else {
        -(now - at).as_secs_f64()
    }
}

/// Where `account` in `region` falls in `[0, 1)`: a sending share picks the
/// account-regions below it.
pub(crate) fn share_point(account: &str, region: &str) -> f64 {
    // FNV-1a: stable across runs and platforms.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in account.bytes().chain([b'/']).chain(region.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // The upper 53 bits: FNV's low bits mix least.
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

impl Organization {
    /// The ACTIVE member whose role `role_arn` names, if the role is this
    /// organization's role and `external_id` is what it requires.
    pub(crate) fn member_role(&self, role_arn: &str, external_id: Option<&str>) -> Option<&Member> {
        let rest = role_arn.strip_prefix("arn:aws:iam::")?;
        let (account, role) = rest.split_once(":role/")?;
        if role != self.role_name || self.role_name.is_empty() {
            return None;
        }
        if self.external_id.is_some() && self.external_id.as_deref() != external_id {
            return None;
        }
        self.members
            .iter()
            .find(|m| m.id == account && m.state == "ACTIVE" && m.assumable)
    }

    /// The member `id`.
    pub(crate) fn member(&self, id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }
}

/// Answers the Organizations operation `operation` with request `body`.
pub(crate) fn answer(org: &Organization, operation: &str, body: &[u8]) -> Response<Full<Bytes>> {
    if let Some(code) = &org.failing {
        // AWS JSON services answer client errors, throttling included, with
        // 400; their own failures with 500.
        let status = if code == "ServiceException" {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::BAD_REQUEST
        };
        return error(status, code, "simulated failure");
    }
    let Ok(input) = serde_json::from_slice::<Value>(body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            "the body is not JSON",
        );
    };
    let field = |name: &str| input.get(name).and_then(Value::as_str).unwrap_or("");
    let start = match field("NextToken") {
        "" => 0,
        token => match token.strip_prefix("page-").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidInputException",
                    "the NextToken is not one this service issued",
                );
            }
        },
    };
    let max = input
        .get("MaxResults")
        .and_then(Value::as_u64)
        .map_or(MAX_PAGE, |m| (m as usize).clamp(1, MAX_PAGE));
    let (key, items) = match listed(org, operation, &input) {
        Ok(listed) => listed,
        Err(answer) => return *answer,
    };
    let page: Vec<Value> = items.iter().skip(start).take(max).cloned().collect();
    let mut out = serde_json::Map::new();
    out.insert(key.into(), Value::Array(page));
    if start + max < items.len() {
        out.insert("NextToken".into(), json!(format!("page-{}", start + max)));
    }
    respond(StatusCode::OK, Value::Object(out).to_string(), None)
}

/// An answer to a request.
type Answer = Response<Full<Bytes>>;

/// The items `operation` lists with the request `input` (under the key of
/// its answer), or the error it answers.
fn listed(
    org: &Organization,
    operation: &str,
    input: &Value,
) -> Result<(&'static str, Vec<Value>), Box<Answer>> {
    let field = |name: &str| input.get(name).and_then(Value::as_str).unwrap_or("");
    let parent = field("ParentId");
    let known_parent = parent == ROOT || org.units.iter().any(|(id, _)| id == parent);
    let listed = match operation {
        "ListAccounts" => (
            "Accounts",
            org.members.iter().map(account_json).collect::<Vec<_>>(),
        ),
        "ListAccountsForParent" | "ListOrganizationalUnitsForParent" if !known_parent => {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                "ParentNotFoundException",
                "We can't find a root or OU with the ParentId that you specified.",
            )));
        }
        "ListAccountsForParent" => (
            "Accounts",
            org.members
                .iter()
                .filter(|m| m.parent == parent)
                .map(account_json)
                .collect(),
        ),
        "ListOrganizationalUnitsForParent" => (
            "OrganizationalUnits",
            org.units
                .iter()
                .filter(|(_, p)| p == parent)
                .map(|(id, _)| {
                    json!({
                        "Id": id,
                        "Arn": format!("arn:aws:organizations::000000000000:ou/o-sim0/{id}"),
                        "Name": id,
                    })
                })
                .collect(),
        ),
        "ListTagsForResource" => match org.member(field("ResourceId")) {
            Some(m) => (
                "Tags",
                m.tags
                    .iter()
                    .map(|(k, v)| json!({"Key": k, "Value": v}))
                    .collect(),
            ),
            None => {
                return Err(Box::new(error(
                    StatusCode::BAD_REQUEST,
                    "TargetNotFoundException",
                    "We can't find a resource that matches the ResourceId that you specified.",
                )));
            }
        },
        _ => {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                "UnknownOperationException",
                &format!("{operation} is not simulated"),
            )));
        }
    };
    Ok(listed)
}

fn account_json(m: &Member) -> Value {
    // `Status` is the older field AWS still sends beside `State`: ACTIVE,
    // SUSPENDED or PENDING_CLOSURE.
    let status = match m.state.as_str() {
        "ACTIVE" | "PENDING_ACTIVATION" => "ACTIVE",
        "PENDING_CLOSURE" => "PENDING_CLOSURE",
        _ => "SUSPENDED",
    };
    json!({
        "Id": m.id,
        "Arn": format!("arn:aws:organizations::000000000000:account/o-sim0/{}", m.id),
        "Email": format!("aws+{}@example.com", m.id),
        "Name": m.name,
        "Status": status,
        "State": m.state,
        "JoinedMethod": "CREATED",
        "JoinedTimestamp": 1.7e9,
    })
}

/// An AWS JSON 1.1 error answer.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = json!({"__type": code, "Message": message}).to_string();
    respond(status, body, Some(code))
}

fn respond(status: StatusCode, body: String, code: Option<&str>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Some(v) = code.and_then(|c| HeaderValue::from_str(c).ok()) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn org(n: usize) -> Organization {
        Organization {
            members: (0..n)
                .map(|i| Member::active(format!("{:012}", 100_000 + i), format!("team-{i}")))
                .collect(),
            units: vec![("ou-a".into(), ROOT.into()), ("ou-b".into(), "ou-a".into())],
            role_name: "exporter".into(),
            ..Organization::default()
        }
    }

    async fn call(org: &Organization, op: &str, body: Value) -> (StatusCode, Value) {
        let resp = answer(org, op, body.to_string().as_bytes());
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn list_accounts_pages_by_twenty_and_the_token_continues() {
        let org = org(45);
        let (_, first) = call(&org, "ListAccounts", json!({})).await;
        assert_eq!(first["Accounts"].as_array().unwrap().len(), 20);
        assert_eq!(first["NextToken"], "page-20");
        let (_, last) = call(&org, "ListAccounts", json!({"NextToken": "page-40"})).await;
        assert_eq!(last["Accounts"].as_array().unwrap().len(), 5);
        assert!(last.get("NextToken").is_none());
        assert_eq!(last["Accounts"][4]["Id"], "000000100044");
        let (status, bad) = call(&org, "ListAccounts", json!({"NextToken": "x"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(bad["__type"], "InvalidInputException");
    }

    #[tokio::test]
    async fn parents_units_and_tags() {
        let mut org = org(3);
        org.members[1].parent = "ou-b".into();
        org.members[2].tags.insert("ses".into(), "true".into());
        let (_, units) = call(
            &org,
            "ListOrganizationalUnitsForParent",
            json!({"ParentId": "ou-a"}),
        )
        .await;
        assert_eq!(units["OrganizationalUnits"][0]["Id"], "ou-b");
        let (_, in_b) = call(&org, "ListAccountsForParent", json!({"ParentId": "ou-b"})).await;
        assert_eq!(in_b["Accounts"][0]["Name"], "team-1");
        let (status, _) = call(&org, "ListAccountsForParent", json!({"ParentId": "ou-x"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (_, tags) = call(
            &org,
            "ListTagsForResource",
            json!({"ResourceId": "000000100002"}),
        )
        .await;
        assert_eq!(tags["Tags"], json!([{"Key": "ses", "Value": "true"}]));
    }

    #[test]
    fn only_active_members_roles_with_the_external_id_are_assumable() {
        let mut org = org(2);
        org.external_id = Some("ext-1".into());
        org.members[1].state = "SUSPENDED".into();
        let arn = |id: &str| format!("arn:aws:iam::{id}:role/exporter");
        assert!(
            org.member_role(&arn("000000100000"), Some("ext-1"))
                .is_some()
        );
        assert!(org.member_role(&arn("000000100000"), None).is_none());
        assert!(
            org.member_role(&arn("000000100001"), Some("ext-1"))
                .is_none()
        );
        assert!(
            org.member_role("arn:aws:iam::000000100000:role/other", Some("ext-1"))
                .is_none()
        );
    }
}
