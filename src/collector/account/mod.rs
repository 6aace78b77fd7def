//! The `account` collector: `GetAccount` of Pinpoint Email or SES v2, the
//! quota, the sending and production access flags and the enforcement status.

mod sources;

use aws_config::SdkConfig;

pub use sources::{Source, TargetClients};

use super::{Kind, Poller};
use crate::config::PollSettings;
use crate::metrics::{Names, Output, Series, Store, bool_value};
use crate::target::{Api, Key, Target};

/// Enforcement statuses always exported, 0 when not current.
pub const KNOWN_STATUSES: [&str; 3] = ["HEALTHY", "PROBATION", "SHUTDOWN"];

/// Production access review statuses always exported (SES v2), 0 when not current.
pub const KNOWN_REVIEW_STATUSES: [&str; 4] = ["PENDING", "FAILED", "GRANTED", "DENIED"];

/// Suppression list reasons always exported (SES v2).
pub const KNOWN_SUPPRESSION_REASONS: [&str; 2] = ["BOUNCE", "COMPLAINT"];

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
    /// The API that answered: [`Api::PinpointEmail`] or [`Api::Sesv2`].
    pub api: Api,
    /// SES v2 only: `VdmAttributes.VdmEnabled` is `ENABLED`.
    pub vdm_enabled: Option<bool>,
    /// SES v2 only: `Details.ReviewDetails.Status` of the production access request
    /// (PENDING, FAILED, GRANTED, DENIED); `None` when no request was made.
    pub review_status: Option<String>,
    /// SES v2 only: `SuppressionAttributes.SuppressedReasons` (BOUNCE, COMPLAINT).
    pub suppressed_reasons: Option<Vec<String>>,
}

/// Builds the account collectors of a target: the target's API in each region.
#[derive(Debug)]
pub struct AccountKind;

impl Kind for AccountKind {
    fn name(&self) -> &'static str {
        "account"
    }

    fn pollers(
        &self,
        target: &Target,
        sdk_config: &SdkConfig,
        store: &Store,
        settings: PollSettings,
    ) -> Vec<Poller> {
        let clients = TargetClients::new(sdk_config);
        target
            .regions
            .iter()
            .map(|region| {
                let source = Source::new(
                    target.api,
                    &clients,
                    region,
                    settings.timeout,
                    target.name.clone(),
                );
                crate::poller::poller(Key::new(&target.name, region), source, store, settings)
            })
            .collect()
    }
}

/// The account series, as they always were: `pinpoint_email_up`, the poll error
/// and duration series, and one gauge per account value.
const NAMES: Names = Names {
    up: (
        "pinpoint_email_up",
        "1 if the last GetAccount call succeeded, 0 if it failed.",
    ),
    last_success: (
        "pinpoint_email_last_success_timestamp_seconds",
        "Unix time of the last successful GetAccount call.",
    ),
    errors: (
        "pinpoint_email_poll_errors_total",
        "GetAccount calls that failed, by reason (throttled, timeout, network, auth, bad_request, server, invalid_response, other).",
    ),
    durations: (
        "pinpoint_email_poll_duration_seconds",
        "Duration of GetAccount calls made by the background pollers, successful or not.",
    ),
    values: &[
        (
            "pinpoint_email_api_info",
            "The API that answered the last successful GetAccount call (label api: pinpoint-email or sesv2); always 1.",
        ),
        (
            "pinpoint_email_dedicated_ip_auto_warmup_enabled",
            "1 if automatic warm-up of dedicated IP addresses is enabled (DedicatedIpAutoWarmupEnabled).",
        ),
        (
            "pinpoint_email_enforcement_status",
            "Reputation enforcement status of the account (EnforcementStatus): 1 for the current status, 0 for the others.",
        ),
        (
            "pinpoint_email_max_24_hour_send",
            "Maximum number of emails the account may send in 24 hours (SendQuota.Max24HourSend); -1 means unlimited.",
        ),
        (
            "pinpoint_email_max_send_rate",
            "Maximum number of emails the account may send per second (SendQuota.MaxSendRate).",
        ),
        (
            "pinpoint_email_production_access_review_status",
            "SES v2 only: status of the account's production access request (Details.ReviewDetails.Status): 1 for the current status, 0 for the others; absent when no request was made.",
        ),
        (
            "pinpoint_email_production_access_enabled",
            "1 if the account has production access, 0 if it is in the sandbox (ProductionAccessEnabled).",
        ),
        (
            "pinpoint_email_send_quota_usage_ratio",
            "Emails sent in the last 24 hours divided by the 24-hour quota; absent when the quota is unlimited or 0.",
        ),
        (
            "pinpoint_email_sending_enabled",
            "1 if email sending is enabled for the account (SendingEnabled).",
        ),
        (
            "pinpoint_email_sent_last_24_hours",
            "Number of emails sent in the last 24 hours (SendQuota.SentLast24Hours).",
        ),
        (
            "pinpoint_email_suppression_reason_enabled",
            "SES v2 only: 1 if the account-level suppression list adds addresses for this reason (SuppressionAttributes.SuppressedReasons), else 0.",
        ),
        (
            "pinpoint_email_vdm_enabled",
            "SES v2 only: 1 if Virtual Deliverability Manager is enabled for the account (VdmAttributes.VdmEnabled).",
        ),
    ],
    // Scrapes read the cache, they never call AWS.
    help_note: " Polled in the background; the value may be up to one --poll.interval old.",
};

impl Output for Account {
    const NAMES: &'static Names = &NAMES;

    /// The API that answered stays while the values are stale; the values go.
    fn write(&self, series: &mut Series<'_>, stale: bool) {
        series.labelled("pinpoint_email_api_info", ("api", self.api.as_str()), 1.0);
        if stale {
            return;
        }
        series.gauge("pinpoint_email_max_24_hour_send", self.max_24_hour_send);
        series.gauge("pinpoint_email_max_send_rate", self.max_send_rate);
        series.gauge("pinpoint_email_sent_last_24_hours", self.sent_last_24_hours);
        if self.max_24_hour_send > 0.0 {
            series.gauge(
                "pinpoint_email_send_quota_usage_ratio",
                self.sent_last_24_hours / self.max_24_hour_send,
            );
        }
        series.gauge(
            "pinpoint_email_sending_enabled",
            bool_value(self.sending_enabled),
        );
        series.gauge(
            "pinpoint_email_production_access_enabled",
            bool_value(self.production_access_enabled),
        );
        series.gauge(
            "pinpoint_email_dedicated_ip_auto_warmup_enabled",
            bool_value(self.dedicated_ip_auto_warmup_enabled),
        );
        let status = self.enforcement_status.as_deref();
        series.state_set(
            "pinpoint_email_enforcement_status",
            "status",
            &KNOWN_STATUSES,
            |s| status == Some(s),
            status.into_iter(),
        );
        if let Some(vdm) = self.vdm_enabled {
            series.gauge("pinpoint_email_vdm_enabled", bool_value(vdm));
        }
        if let Some(review) = self.review_status.as_deref() {
            series.state_set(
                "pinpoint_email_production_access_review_status",
                "status",
                &KNOWN_REVIEW_STATUSES,
                |s| s == review,
                std::iter::once(review),
            );
        }
        if let Some(reasons) = &self.suppressed_reasons {
            series.state_set(
                "pinpoint_email_suppression_reason_enabled",
                "reason",
                &KNOWN_SUPPRESSION_REASONS,
                |r| reasons.iter().any(|x| x == r),
                reasons.iter().map(String::as_str),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::metrics::BuildInfo;

    fn account(status: &str, sent: f64, max: f64) -> Account {
        Account {
            max_24_hour_send: max,
            max_send_rate: 14.0,
            sent_last_24_hours: sent,
            sending_enabled: true,
            production_access_enabled: true,
            dedicated_ip_auto_warmup_enabled: false,
            enforcement_status: Some(status.to_string()),
            api: Api::PinpointEmail,
            vdm_enabled: None,
            review_status: None,
            suppressed_reasons: None,
        }
    }

    /// The exposition of a store whose one (target, region) answered `account`.
    fn exposition(account: Account, stale_after: Duration) -> (Store, String) {
        let key = Key::new("t", "us-east-1");
        let store = Store::new(
            vec![key.clone()],
            stale_after,
            &BuildInfo {
                version: "v".into(),
                revision: "r".into(),
            },
            false,
        )
        .unwrap();
        store
            .section::<Account>()
            .record(&key, &Ok(account), Duration::ZERO, 1.0);
        let text = String::from_utf8(store.encode().to_vec()).unwrap();
        (store, text)
    }

    #[tokio::test]
    async fn unknown_status_gets_its_own_series_and_known_ones_stay() {
        let (_, t) = exposition(account("UNDER_REVIEW", 0.0, 200.0), Duration::from_secs(60));
        for (status, v) in [
            ("HEALTHY", 0),
            ("PROBATION", 0),
            ("SHUTDOWN", 0),
            ("UNDER_REVIEW", 1),
        ] {
            let line = format!(
                "pinpoint_email_enforcement_status{{aws_region=\"us-east-1\",status=\"{status}\",target=\"t\"}} {v}\n"
            );
            assert!(t.contains(&line), "missing {line} in {t}");
        }
    }

    #[tokio::test]
    async fn usage_ratio_absent_for_unlimited_and_zero_quota() {
        for max in [-1.0, 0.0] {
            let (_, t) = exposition(account("HEALTHY", 5.0, max), Duration::from_secs(60));
            assert!(
                !t.contains("pinpoint_email_send_quota_usage_ratio{"),
                "max {max}: {t}"
            );
            assert!(t.contains(&format!("pinpoint_email_max_24_hour_send{{aws_region=\"us-east-1\",target=\"t\"}} {max}\n")), "{t}");
        }
        let (_, t) = exposition(account("HEALTHY", 10.0, 100.0), Duration::from_secs(60));
        assert!(t.contains(
            "pinpoint_email_send_quota_usage_ratio{aws_region=\"us-east-1\",target=\"t\"} 0.1\n"
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn stale_values_go_while_up_the_timestamp_and_the_api_stay() {
        let stale = Duration::from_secs(60);
        let (store, _) = exposition(account("HEALTHY", 1.0, 10.0), stale);
        tokio::time::advance(stale + crate::metrics::ENCODE_CACHE_TTL + Duration::from_millis(1))
            .await;
        let t = String::from_utf8(store.encode().to_vec()).unwrap();
        let families: Vec<&str> = t
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE pinpoint_email_"))
            .filter(|f| !f.starts_with("exporter_"))
            .collect();
        assert_eq!(
            families,
            [
                "api_info gauge",
                "last_success_timestamp_seconds gauge",
                "poll_duration_seconds histogram",
                "poll_errors_total counter",
                "up gauge"
            ],
            "{t}"
        );
    }
}
