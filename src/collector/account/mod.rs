//! The `account` collector: `GetAccount` of Pinpoint Email or SES v2, the
//! quota, the sending and production access flags and the enforcement status.

mod sources;

use std::sync::Arc;

use aws_config::SdkConfig;

pub use sources::{Source, TargetClients};

use super::{Call, Kind, PerPoll, Poller, Spec};
use crate::error::PollError;
use crate::metrics::{AccountIds, Gauge, Names, Output, Series, Store, bool_value};
use crate::poller::Collector;
use crate::schedule::PollSettings;
use crate::target::{Api, Target};

/// Enforcement statuses always exported, 0 when not current. `UNKNOWN` is 1 when
/// the answer has no `EnforcementStatus`, so that exactly one status is 1.
const KNOWN_STATUSES: [&str; 4] = ["HEALTHY", "PROBATION", "SHUTDOWN", "UNKNOWN"];

/// How many enforcement statuses beyond [`KNOWN_STATUSES`] an account remembers
/// (to keep exporting them as 0 once they are no longer current).
pub const MAX_EARLIER_STATUSES: usize = 8;

/// Production access review statuses always exported (SES v2), 0 when not current.
const KNOWN_REVIEW_STATUSES: [&str; 4] = ["PENDING", "FAILED", "GRANTED", "DENIED"];

/// Pricing plans always exported (SES v2), 0 when not current.
const KNOWN_PRICING_PLANS: [&str; 4] = ["NONE", "ESSENTIALS", "PRO", "ENTERPRISE"];

/// Suppression list reasons always exported (SES v2).
const KNOWN_SUPPRESSION_REASONS: [&str; 2] = ["BOUNCE", "COMPLAINT"];

/// What `GetAccount` says about one account in one region.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Account {
    /// `SendQuota.Max24HourSend`; -1 means unlimited.
    pub max_24_hour_send: f64,
    /// `SendQuota.MaxSendRate`, emails per second.
    pub max_send_rate: f64,
    /// `SendQuota.SentLast24Hours`.
    pub sent_last_24_hours: f64,
    /// `SendingEnabled`.
    pub sending_enabled: bool,
    /// `ProductionAccessEnabled`; false means the account is in the sandbox.
    pub production_access_enabled: bool,
    /// `DedicatedIpAutoWarmupEnabled`.
    pub dedicated_ip_auto_warmup_enabled: bool,
    /// `EnforcementStatus` as AWS spells it (HEALTHY, PROBATION, SHUTDOWN, or a value
    /// AWS adds later); `None` when the answer had none.
    pub enforcement_status: Option<String>,
    /// Statuses beyond [`KNOWN_STATUSES`] that earlier answers had, oldest first
    /// (at most [`MAX_EARLIER_STATUSES`]): exported as 0 while not current.
    pub earlier_statuses: Vec<String>,
    /// The API that answered: [`Api::PinpointEmail`] or [`Api::Sesv2`].
    pub api: Api,
    /// SES v2 only: `VdmAttributes.VdmEnabled` is `ENABLED`.
    pub vdm_enabled: Option<bool>,
    /// SES v2 only: `Details.ReviewDetails.Status` of the production access request
    /// (PENDING, FAILED, GRANTED, DENIED); `None` when no request was made.
    pub review_status: Option<String>,
    /// SES v2 only: `SuppressionAttributes.SuppressedReasons` (BOUNCE, COMPLAINT).
    pub suppressed_reasons: Option<Vec<String>>,
    /// SES v2 only: VDM's engagement metrics
    /// (`VdmAttributes.DashboardAttributes.EngagementMetrics` is `ENABLED`).
    pub vdm_engagement_metrics_enabled: Option<bool>,
    /// SES v2 only: VDM's optimized shared delivery
    /// (`VdmAttributes.GuardianAttributes.OptimizedSharedDelivery` is `ENABLED`).
    pub vdm_optimized_shared_delivery_enabled: Option<bool>,
    /// SES v2 only: `PricingAttributes.CurrentPlan`.
    pub pricing_plan: Option<String>,
    /// SES v2 only: `PricingAttributes.NextPlan`, a change scheduled for the
    /// next monthly cycle.
    pub next_pricing_plan: Option<String>,
    /// Not from AWS: the target's `expect_sandbox`, so the rules can tell an
    /// account meant to stay in the sandbox.
    pub sandbox_expected: bool,
}

impl Account {
    /// `Max24HourSend`, with AWS's -1 (unlimited) as +Inf.
    fn max_emails(&self) -> f64 {
        if self.max_24_hour_send < 0.0 {
            f64::INFINITY
        } else {
            self.max_24_hour_send
        }
    }

    /// `MaxSendRate`, with a negative (unlimited) rate as +Inf.
    fn max_emails_per_second(&self) -> f64 {
        if self.max_send_rate < 0.0 {
            f64::INFINITY
        } else {
            self.max_send_rate
        }
    }

    /// The share of the 24-hour quota used: 0 for an unlimited quota, 1 for a
    /// quota of 0 (nothing can be sent), above 1 when AWS let the account overshoot.
    fn used_ratio(&self) -> f64 {
        let max = self.max_emails();
        if max == 0.0 {
            1.0
        } else {
            self.sent_last_24_hours / max
        }
    }
}

/// Builds the account collectors of a target: the target's API in each region.
#[derive(Debug)]
pub struct AccountKind;

impl Kind for AccountKind {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn pollers(
        &self,
        target: &Target,
        sdk_config: &SdkConfig,
        store: &Store,
        settings: PollSettings,
    ) -> Vec<Poller> {
        let clients = TargetClients::new(sdk_config);
        // Whose account the credentials are, when the configuration does not
        // say: asked once for the target, whichever region polls first.
        let caller = target.account_id().is_none().then(|| {
            Arc::new(Caller::new(
                sdk_config,
                target,
                settings.timeout,
                store.account_ids(),
            ))
        });
        super::per_region(&SPEC, target, store, settings, |region| Configured {
            source: Source::new(
                target.api,
                &clients,
                region,
                settings.timeout,
                target.name.clone(),
            ),
            sandbox_expected: target.expect_sandbox,
            caller: caller.clone(),
        })
    }
}

/// A target's source with what the target's configuration adds to its answers.
#[derive(Debug)]
struct Configured {
    source: Source,
    sandbox_expected: bool,
    /// For a target whose configuration does not name its account.
    caller: Option<Arc<Caller>>,
}

impl Collector for Configured {
    type Output = Account;

    async fn collect(&self) -> Result<Account, PollError> {
        let mut account = self.source.collect().await?;
        account.sandbox_expected = self.sandbox_expected;
        if let Some(caller) = &self.caller {
            caller.resolve().await;
        }
        Ok(account)
    }
}

/// The AWS account of a target's credentials, asked of STS
/// (`GetCallerIdentity`, which needs no permission) after its first
/// successful poll, once: the alert rules identify accounts by it
/// (`pinpoint_email_account_info`). A failed call is tried again after the
/// next successful poll; it never fails a poll.
#[derive(Debug)]
struct Caller {
    client: aws_sdk_sts::Client,
    target: String,
    timeout: std::time::Duration,
    known: tokio::sync::OnceCell<String>,
    ids: AccountIds,
}

impl Caller {
    fn new(
        sdk_config: &SdkConfig,
        target: &Target,
        timeout: std::time::Duration,
        ids: AccountIds,
    ) -> Self {
        // STS is regional: the target's first region, else the default one.
        let mut config = aws_sdk_sts::config::Builder::from(sdk_config);
        if let Some(region) = target.regions.first() {
            config = config.region(aws_config::Region::new(region.clone()));
        }
        Caller {
            client: aws_sdk_sts::Client::from_conf(config.build()),
            target: target.name.clone(),
            timeout,
            known: tokio::sync::OnceCell::new(),
            ids,
        }
    }

    async fn resolve(&self) {
        let _ = self
            .known
            .get_or_try_init(|| async {
                let call = self.client.get_caller_identity().send();
                let answer = match tokio::time::timeout(self.timeout, call).await {
                    Ok(Ok(answer)) => answer,
                    Ok(Err(err)) => {
                        let reason = crate::aws::classify_sdk_error(&err, self.timeout);
                        tracing::debug!(account = %self.target, error = %reason, "GetCallerIdentity failed; asked again after the next successful poll");
                        return Err(());
                    }
                    Err(_) => {
                        tracing::debug!(account = %self.target, "GetCallerIdentity timed out; asked again after the next successful poll");
                        return Err(());
                    }
                };
                let id = answer
                    .account()
                    .filter(|id| id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| {
                        tracing::debug!(account = %self.target, "GetCallerIdentity answered without a 12-digit account");
                    })?
                    .to_string();
                self.ids.learn(&self.target, &id);
                Ok::<String, ()>(id)
            })
            .await;
    }
}

/// The collector's name, in its [`Spec`] and its series' [`Names`].
const SPEC_NAME: &str = "account";

/// The account collector: `GetAccount`, on by default, at `--poll.interval`.
pub const SPEC: Spec = Spec {
    name: SPEC_NAME,
    file_key: "account",
    about: "GetAccount (quota, send rate, sending, production access and warm-up flags, enforcement status)",
    default_on: true,
    interval: None,
    settings: &[],
    calls: &[Call {
        action: "ses:GetAccount",
        per_poll: PerPoll::One,
        metrics: 0,
    }],
    idle: None,
};

// The gauges of its answers, each declared once.
const API_INFO: Gauge = Gauge {
    name: "pinpoint_email_api_info",
    help: "The API that answered the last successful GetAccount call (label api: pinpoint-email or sesv2); always 1.",
};

const DEDICATED_IP_AUTO_WARMUP_ENABLED: Gauge = Gauge {
    name: "pinpoint_email_dedicated_ip_auto_warmup_enabled",
    help: "1 if automatic warm-up of dedicated IP addresses is enabled (DedicatedIpAutoWarmupEnabled).",
};

const ENFORCEMENT_STATUS: Gauge = Gauge {
    name: "pinpoint_email_enforcement_status",
    help: "Reputation enforcement status of the account (EnforcementStatus): 1 for the current status, 0 for the others; UNKNOWN when AWS sent none.",
};

const PRODUCTION_ACCESS_ENABLED: Gauge = Gauge {
    name: "pinpoint_email_production_access_enabled",
    help: "1 if the account has production access, 0 if it is in the sandbox (ProductionAccessEnabled).",
};

const PRODUCTION_ACCESS_REVIEW_STATUS: Gauge = Gauge {
    name: "pinpoint_email_production_access_review_status",
    help: "SES v2 only: status of the account's production access request (Details.ReviewDetails.Status): 1 for the current status, 0 for the others; absent when no request was made.",
};

const SANDBOX_EXPECTED: Gauge = Gauge {
    name: "pinpoint_email_sandbox_expected",
    help: "1 if the target sets expect_sandbox in --config.file (the account is meant to stay in the sandbox, and the InSandbox alert ignores it), else 0; served with the account values.",
};

const SEND_QUOTA_MAX_EMAILS: Gauge = Gauge {
    name: "pinpoint_email_send_quota_max_emails",
    help: "Maximum number of emails the account may send in 24 hours (SendQuota.Max24HourSend); +Inf when unlimited.",
};

const SEND_QUOTA_MAX_EMAILS_PER_SECOND: Gauge = Gauge {
    name: "pinpoint_email_send_quota_max_emails_per_second",
    help: "Maximum number of emails the account may send per second (SendQuota.MaxSendRate); +Inf when unlimited.",
};

const SEND_QUOTA_SENT_EMAILS: Gauge = Gauge {
    name: "pinpoint_email_send_quota_sent_emails",
    help: "Number of emails the account sent in the last 24 hours (SendQuota.SentLast24Hours).",
};

const SEND_QUOTA_USED_RATIO: Gauge = Gauge {
    name: "pinpoint_email_send_quota_used_ratio",
    help: "Emails sent in the last 24 hours divided by the 24-hour quota: 0 when the quota is unlimited, 1 when it is 0.",
};

const SENDING_ENABLED: Gauge = Gauge {
    name: "pinpoint_email_sending_enabled",
    help: "1 if email sending is enabled for the account (SendingEnabled).",
};

const SUPPRESSION_REASON_ENABLED: Gauge = Gauge {
    name: "pinpoint_email_suppression_reason_enabled",
    help: "SES v2 only: 1 if the account-level suppression list adds addresses for this reason (SuppressionAttributes.SuppressedReasons), else 0.",
};

const PRICING_PLAN: Gauge = Gauge {
    name: "pinpoint_email_pricing_plan",
    help: "SES v2 only: the account's pricing plan (PricingAttributes.CurrentPlan): 1 for the current plan, 0 for the others; absent when AWS sends none.",
};

const PRICING_PLAN_NEXT: Gauge = Gauge {
    name: "pinpoint_email_pricing_plan_next",
    help: "SES v2 only: 1 for the plan a scheduled change switches to at the next monthly cycle (PricingAttributes.NextPlan); absent when no change is scheduled.",
};

const VDM_ENGAGEMENT_METRICS_ENABLED: Gauge = Gauge {
    name: "pinpoint_email_vdm_engagement_metrics_enabled",
    help: "SES v2 only: 1 if Virtual Deliverability Manager's engagement metrics (opens and clicks) are enabled (VdmAttributes.DashboardAttributes.EngagementMetrics).",
};

const VDM_OPTIMIZED_SHARED_DELIVERY_ENABLED: Gauge = Gauge {
    name: "pinpoint_email_vdm_optimized_shared_delivery_enabled",
    help: "SES v2 only: 1 if Virtual Deliverability Manager's optimized shared delivery is enabled (VdmAttributes.GuardianAttributes.OptimizedSharedDelivery).",
};

const VDM_ENABLED: Gauge = Gauge {
    name: "pinpoint_email_vdm_enabled",
    help: "SES v2 only: 1 if Virtual Deliverability Manager is enabled for the account (VdmAttributes.VdmEnabled).",
};

/// The account series: `pinpoint_email_up`, the poll error and duration series,
/// and one gauge per account value.
const NAMES: Names = Names {
    collector: SPEC_NAME,
    up: Gauge {
        name: "pinpoint_email_up",
        help: "1 if the last GetAccount call succeeded, 0 if it failed.",
    },
    last_success: Gauge {
        name: "pinpoint_email_last_success_timestamp_seconds",
        help: "Unix time of the last successful GetAccount call.",
    },
    calls: (
        "pinpoint_email_polls_total",
        "GetAccount calls made by the background pollers, successful or not.",
    ),
    errors: (
        "pinpoint_email_poll_errors_total",
        "GetAccount calls that failed, by reason (throttled, timeout, network, auth, bad_request, server, invalid_response, other).",
    ),
    durations: (
        "pinpoint_email_poll_duration_seconds",
        "Duration of GetAccount calls made by the background pollers, successful or not, of every target of the region (of each target with --metrics.poll-duration-per-target).",
    ),
    idle: None,
    values: &[
        API_INFO,
        DEDICATED_IP_AUTO_WARMUP_ENABLED,
        ENFORCEMENT_STATUS,
        PRODUCTION_ACCESS_ENABLED,
        PRODUCTION_ACCESS_REVIEW_STATUS,
        SANDBOX_EXPECTED,
        SEND_QUOTA_MAX_EMAILS,
        SEND_QUOTA_MAX_EMAILS_PER_SECOND,
        SEND_QUOTA_SENT_EMAILS,
        SEND_QUOTA_USED_RATIO,
        SENDING_ENABLED,
        SUPPRESSION_REASON_ENABLED,
        PRICING_PLAN,
        PRICING_PLAN_NEXT,
        VDM_ENGAGEMENT_METRICS_ENABLED,
        VDM_OPTIMIZED_SHARED_DELIVERY_ENABLED,
        VDM_ENABLED,
    ],
    // Scrapes read the cache, they never call AWS.
    help_note: " Polled in the background: the value of the last successful call, at most {stale_after} old (--poll.stale-after); pinpoint_email_last_success_timestamp_seconds tells when it was fetched.",
    from_config: &[SANDBOX_EXPECTED.name],
};

impl Output for Account {
    const NAMES: &'static Names = &NAMES;

    /// Production access, or mail sent in the last 24 hours, makes the
    /// region active.
    fn activity(&self) -> Option<crate::metrics::Evidence> {
        Some(crate::metrics::Evidence::Account {
            active: self.production_access_enabled || self.sent_last_24_hours > 0.0,
        })
    }

    fn write(&self, series: &mut Series<'_>) {
        series.labelled(API_INFO, ("api", self.api.as_str()), 1.0);
        series.gauge(SEND_QUOTA_MAX_EMAILS, self.max_emails());
        series.gauge(
            SEND_QUOTA_MAX_EMAILS_PER_SECOND,
            self.max_emails_per_second(),
        );
        series.gauge(SEND_QUOTA_SENT_EMAILS, self.sent_last_24_hours);
        series.gauge(SEND_QUOTA_USED_RATIO, self.used_ratio());
        series.gauge(SENDING_ENABLED, bool_value(self.sending_enabled));
        series.gauge(
            PRODUCTION_ACCESS_ENABLED,
            bool_value(self.production_access_enabled),
        );
        series.gauge(SANDBOX_EXPECTED, bool_value(self.sandbox_expected));
        series.gauge(
            DEDICATED_IP_AUTO_WARMUP_ENABLED,
            bool_value(self.dedicated_ip_auto_warmup_enabled),
        );
        let status = self.enforcement_status.as_deref().unwrap_or("UNKNOWN");
        series.state_set(
            ENFORCEMENT_STATUS,
            "status",
            &KNOWN_STATUSES,
            |s| s == status,
            self.earlier_statuses
                .iter()
                .map(String::as_str)
                .chain(std::iter::once(status)),
        );
        if let Some(vdm) = self.vdm_enabled {
            series.gauge(VDM_ENABLED, bool_value(vdm));
        }
        if let Some(on) = self.vdm_engagement_metrics_enabled {
            series.gauge(VDM_ENGAGEMENT_METRICS_ENABLED, bool_value(on));
        }
        if let Some(on) = self.vdm_optimized_shared_delivery_enabled {
            series.gauge(VDM_OPTIMIZED_SHARED_DELIVERY_ENABLED, bool_value(on));
        }
        if let Some(plan) = self.pricing_plan.as_deref() {
            series.state_set(
                PRICING_PLAN,
                "plan",
                &KNOWN_PRICING_PLANS,
                |p| p == plan,
                std::iter::once(plan),
            );
        }
        if let Some(next) = self.next_pricing_plan.as_deref() {
            series.labelled(PRICING_PLAN_NEXT, ("plan", next), 1.0);
        }
        if let Some(review) = self.review_status.as_deref() {
            series.state_set(
                PRODUCTION_ACCESS_REVIEW_STATUS,
                "status",
                &KNOWN_REVIEW_STATUSES,
                |s| s == review,
                std::iter::once(review),
            );
        }
        if let Some(reasons) = &self.suppressed_reasons {
            series.state_set(
                SUPPRESSION_REASON_ENABLED,
                "reason",
                &KNOWN_SUPPRESSION_REASONS,
                |r| reasons.iter().any(|x| x == r),
                reasons.iter().map(String::as_str),
            );
        }
    }

    /// Statuses AWS added that earlier answers had stay, as 0, so that a status
    /// series never vanishes while the account is polled: rules that hold the
    /// last value of a series would hold a vanished one at 1.
    fn carry_from(&mut self, previous: &Self) {
        let earlier = previous
            .earlier_statuses
            .iter()
            .chain(previous.enforcement_status.as_ref());
        for status in earlier {
            let known = KNOWN_STATUSES.contains(&status.as_str());
            if known || self.earlier_statuses.contains(status) {
                continue;
            }
            if self.earlier_statuses.len() == MAX_EARLIER_STATUSES {
                self.earlier_statuses.remove(0);
            }
            self.earlier_statuses.push(status.clone());
        }
    }
}

#[cfg(test)]
mod tests;
