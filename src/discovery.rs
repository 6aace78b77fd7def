//! Organization discovery: the ACTIVE accounts of an AWS Organization (all,
//! or those under given organizational units, recursively, optionally only
//! those carrying given tags), listed with the Organizations API on an
//! interval. The fleet makes one target per account ([`Discovery::target`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use aws_config::{Region, SdkConfig};
use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::Account;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::aws::{BeyondCap, classify_sdk_error};
use crate::error::PollError;
use crate::metrics::{Store, unix_now};
use crate::target::{Discovery, Member};

/// The most organizational units one listing walks; a larger tree is taken
/// for a loop in the answers and fails the listing.
const MAX_UNITS: usize = 10_000;

/// The most pages of one list; more is taken for a token loop.
pub const MAX_PAGES: usize = 10_000;

/// How soon a failed listing is tried again, at most (never later than the
/// discovery's `refresh`).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);

/// The Organizations client of a discovery, from the configuration of its
/// caller. Organizations is a global service: the SDK sends every region's
/// calls to its one endpoint, and a region is only needed to resolve it.
pub fn client(sdk_config: &SdkConfig) -> Client {
    // Unlike the pollers, a listing is many calls in a row against
    // Organizations' low rate limits: a throttled page is retried (with the
    // SDK's backoff) rather than the whole listing thrown away.
    let mut builder = aws_sdk_organizations::config::Builder::from(sdk_config)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(5));
    if sdk_config.region().is_none() {
        builder = builder.region(Region::new("us-east-1"));
    }
    Client::from_conf(builder.build())
}

/// The accounts `discovery` selects, by id: ACTIVE ones, under its parents
/// (every account when it names none), with all of its tags.
pub async fn list_members(
    client: &Client,
    discovery: &Discovery,
    timeout: Duration,
) -> Result<Vec<Member>, PollError> {
    let accounts: Vec<Account> = if discovery.parents.is_empty() {
        every_page("ListAccounts", |token| async move {
            let page = client
                .list_accounts()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify_sdk_error(&e, timeout))?;
            Ok((page.accounts.unwrap_or_default(), page.next_token))
        })
        .await?
    } else {
        under_parents(client, discovery, timeout).await?
    };
    // By id: an account under two listed parents counts once.
    let found: BTreeMap<String, Account> = accounts
        .into_iter()
        .map(|a| (a.id().unwrap_or_default().to_string(), a))
        .collect();
    let mut members = Vec::with_capacity(found.len());
    for (id, account) in found {
        if !is_active(&account) || !valid_account_id(&id) {
            continue;
        }
        if !discovery.tags.is_empty() && !has_tags(client, &id, &discovery.tags, timeout).await? {
            continue;
        }
        let partition = account
            .arn()
            .and_then(|arn| arn.split(':').nth(1))
            .filter(|p| p.starts_with("aws"))
            .unwrap_or("aws")
            .to_string();
        members.push(Member {
            id,
            name: account.name().unwrap_or_default().to_string(),
            partition,
        });
    }
    Ok(members)
}

/// The accounts under `discovery`'s parents, recursively: each parent's
/// accounts, then its organizational units' in turn (each unit once).
async fn under_parents(
    client: &Client,
    discovery: &Discovery,
    timeout: Duration,
) -> Result<Vec<Account>, PollError> {
    let mut accounts = Vec::new();
    let mut queue: VecDeque<String> = discovery.parents.iter().cloned().collect();
    let mut seen: BTreeSet<String> = queue.iter().cloned().collect();
    while let Some(parent) = queue.pop_front() {
        let parent = &parent;
        accounts.extend(
            every_page("ListAccountsForParent", |token| async move {
                let page = client
                    .list_accounts_for_parent()
                    .parent_id(parent)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| classify_sdk_error(&e, timeout))?;
                Ok((page.accounts.unwrap_or_default(), page.next_token))
            })
            .await?,
        );
        let units = every_page("ListOrganizationalUnitsForParent", |token| async move {
            let page = client
                .list_organizational_units_for_parent()
                .parent_id(parent)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify_sdk_error(&e, timeout))?;
            Ok((
                page.organizational_units.unwrap_or_default(),
                page.next_token,
            ))
        })
        .await?;
        for id in units.iter().filter_map(|u| u.id()) {
            if seen.insert(id.to_string()) {
                queue.push_back(id.to_string());
            }
        }
        if seen.len() > MAX_UNITS {
            return Err(PollError::InvalidResponse(format!(
                "more than {MAX_UNITS} organizational units under {:?}",
                discovery.parents
            )));
        }
    }
    Ok(accounts)
}

/// Whether an account is ACTIVE: its `State`, or the older `Status` when an
/// answer has no `State`.
fn is_active(account: &Account) -> bool {
    match (account.state(), account.status()) {
        (Some(state), _) => state.as_str() == "ACTIVE",
        (None, Some(status)) => status.as_str() == "ACTIVE",
        (None, None) => false,
    }
}

fn valid_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

/// Whether account `id` carries every one of `wanted`.
async fn has_tags(
    client: &Client,
    id: &str,
    wanted: &BTreeMap<String, String>,
    timeout: Duration,
) -> Result<bool, PollError> {
    let tags: BTreeMap<String, String> = every_page("ListTagsForResource", |token| async move {
        let page = client
            .list_tags_for_resource()
            .resource_id(id)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| classify_sdk_error(&e, timeout))?;
        Ok((page.tags.unwrap_or_default(), page.next_token))
    })
    .await?
    .into_iter()
    .map(|tag| (tag.key, tag.value))
    .collect();
    Ok(wanted.iter().all(|(k, v)| tags.get(k) == Some(v)))
}

/// Every item of an Organizations list, page by page ([`every_page`]).
async fn every_page<T, F, Fut>(operation: &str, page: F) -> Result<Vec<T>, PollError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), PollError>>,
{
    crate::aws::every_page(operation, (MAX_PAGES, BeyondCap::Fail), page, |e| e).await
}

/// What a discovery reports to the fleet: its name, the generation of the
/// task (a reload that changes a discovery starts a new one, and listings of
/// the old one still in flight are dropped), and the accounts of its last
/// successful listing.
pub type Found = (String, u64, Vec<Member>);

/// Lists the accounts of `discovery` now and then every `refresh`, sending
/// each successful listing to `found` and recording every outcome in
/// `store`. A failed listing keeps the last good one (nothing is sent) and
/// is tried again after [`RETRY_AFTER_FAILURE`]. Runs until aborted or until
/// `found` is closed.
pub async fn run(
    discovery: Discovery,
    generation: u64,
    client: Client,
    timeout: Duration,
    store: std::sync::Arc<Store>,
    found: mpsc::Sender<Found>,
) {
    let mut last_error: Option<PollError> = None;
    loop {
        let started = Instant::now();
        let outcome = list_members(&client, &discovery, timeout).await;
        let delay = match outcome {
            Ok(members) => {
                store.record_discovery(&discovery.name, Ok(members.len()), unix_now());
                if last_error.take().is_some() {
                    tracing::info!(discovery = %discovery.name, accounts = members.len(), "discovery recovered");
                } else {
                    tracing::debug!(discovery = %discovery.name, accounts = members.len(), "discovery listed the accounts");
                }
                if found
                    .send((discovery.name.clone(), generation, members))
                    .await
                    .is_err()
                {
                    return;
                }
                discovery.refresh
            }
            Err(err) => {
                store.record_discovery(&discovery.name, Err(&err), unix_now());
                let delay = discovery.refresh.min(RETRY_AFTER_FAILURE);
                if last_error.as_ref() != Some(&err) {
                    tracing::warn!(
                        discovery = %discovery.name, reason = err.reason(), error = %err,
                        retry_in = ?delay,
                        "discovery failed; keeping the accounts of the last successful listing"
                    );
                }
                last_error = Some(err);
                delay
            }
        };
        tokio::time::sleep_until(started + delay).await;
    }
}
