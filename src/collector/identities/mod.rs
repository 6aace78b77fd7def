//! The `identities` collector: the health of each email identity (domain or
//! address) of the account. `ListEmailIdentities` (every page) gives each
//! identity's type, whether sending from it is enabled and (SES v2) its
//! verification status; one `GetEmailIdentity` per identity gives its DKIM
//! and custom MAIL FROM status. Through SES v2 (`POST
//! /v2/email/list-identities`, `GET /v2/email/identities/{name}`) unless the
//! target uses the Pinpoint Email API (`api: pinpoint-email`, `GET
//! /v1/email/identities`), whose answers lack the verification status.
//!
//! Calls per poll: the listing's pages (1,000 identities a page), then one
//! `GetEmailIdentity` for each identity kept (at most
//! `--collector.identities.max`, and no more than fit in half the interval a
//! second apart; failing ones first, then domains), one at a time, spread
//! evenly over the first half of the interval.

mod api;
#[cfg(test)]
mod tests;

use std::time::Duration;

use aws_config::{Region, SdkConfig};

use super::{Call, Interval, Kind, PerPoll, Poller, Setting, Spec};
use crate::error::PollError;
use crate::metrics::{Gauge, Names, Output, Series, bool_value};
use crate::poller::Collector;
use crate::schedule::PollSettings;
use crate::target::{Api, Target};

/// Verification and DKIM statuses always exported, 0 when not current.
const KNOWN_STATUSES: [&str; 5] = [
    "PENDING",
    "SUCCESS",
    "FAILED",
    "TEMPORARY_FAILURE",
    "NOT_STARTED",
];

/// MAIL FROM domain statuses always exported, 0 when not current.
const KNOWN_MAIL_FROM_STATUSES: [&str; 4] = ["PENDING", "SUCCESS", "FAILED", "TEMPORARY_FAILURE"];

/// The least time between two `GetEmailIdentity` calls of one poll: SES
/// allows its actions other than sending about one call a second per
/// account and region, which `GetAccount` and the other collectors share.
const MIN_GAP: Duration = Duration::from_secs(1);

/// One identity as the listing says it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    name: String,
    identity_type: String,
    sending_enabled: bool,
    /// SES v2 only.
    verification_status: Option<String>,
}

/// What `GetEmailIdentity` says of one identity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Details {
    verified_for_sending: bool,
    /// SES v2 only; fresher than the listing's.
    verification_status: Option<String>,
    /// `NOT_STARTED` when the answer has none.
    dkim_status: String,
    dkim_signing_enabled: bool,
    /// SES v2 only: `AWS_SES`, `EXTERNAL`, ...
    dkim_origin: Option<String>,
    mail_from: Option<MailFrom>,
}

/// A custom MAIL FROM domain and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFrom {
    /// `MailFromDomain`.
    pub domain: String,
    /// `MailFromDomainStatus`.
    pub status: String,
    /// `BehaviorOnMxFailure`: `USE_DEFAULT_VALUE` or `REJECT_MESSAGE`.
    pub behavior_on_mx_failure: String,
}

/// One email identity and its health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `IdentityName`.
    pub name: String,
    /// `IdentityType`: `DOMAIN`, `EMAIL_ADDRESS`, `MANAGED_DOMAIN`.
    pub identity_type: String,
    /// `SendingEnabled`.
    pub sending_enabled: bool,
    /// `VerifiedForSendingStatus`.
    pub verified_for_sending: bool,
    /// `VerificationStatus` (SES v2 only).
    pub verification_status: Option<String>,
    /// `DkimAttributes.Status`.
    pub dkim_status: String,
    /// `DkimAttributes.SigningEnabled`.
    pub dkim_signing_enabled: bool,
    /// `DkimAttributes.SigningAttributesOrigin` (SES v2 only).
    pub dkim_origin: Option<String>,
    /// `MailFromAttributes`, when a custom MAIL FROM domain is set up.
    pub mail_from: Option<MailFrom>,
}

/// The identities of one account in one region: at most the configured
/// number, domains first, and how many more there were.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identities {
    /// The identities exported.
    pub identities: Vec<Identity>,
    /// Identities left out by `--collector.identities.max`.
    pub dropped: usize,
}

/// The listing sorted (identities whose verification fails, then domains,
/// then addresses, each by name: a failing identity keeps its series, and
/// its alert, whatever the cap) and cut to `max`; and how many were cut.
fn kept(mut listed: Vec<Listed>, max: usize) -> (Vec<Listed>, usize) {
    let rank = |l: &Listed| {
        let failing = matches!(
            l.verification_status.as_deref(),
            Some("FAILED" | "TEMPORARY_FAILURE")
        );
        match (failing, l.identity_type == "EMAIL_ADDRESS") {
            (true, _) => 0,
            (false, false) => 1,
            (false, true) => 2,
        }
    };
    listed.sort_by(|a, b| (rank(a), &a.name).cmp(&(rank(b), &b.name)));
    listed.dedup_by(|a, b| a.name == b.name);
    let dropped = listed.len().saturating_sub(max);
    listed.truncate(max);
    (listed, dropped)
}

/// The wait before the next `GetEmailIdentity` call when `calls_left` calls
/// (it included) must fit in `left` of the poll's window: an even share of
/// it, at least [`MIN_GAP`].
fn gap(left: Duration, calls_left: usize) -> Duration {
    let calls_left = u32::try_from(calls_left.max(1)).unwrap_or(u32::MAX);
    (left / calls_left).max(MIN_GAP)
}

/// Builds the identity collectors of a target: one per region.
#[derive(Debug)]
pub struct IdentitiesKind;

impl Kind for IdentitiesKind {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn pollers(
        &self,
        target: &Target,
        sdk_config: &SdkConfig,
        store: &crate::metrics::Store,
        settings: PollSettings,
    ) -> Vec<Poller> {
        let pinpoint = aws_sdk_pinpointemail::Client::new(sdk_config);
        let sesv2 = aws_sdk_sesv2::Client::new(sdk_config);
        super::per_region(&SPEC, target, store, settings, |region| IdentitiesSource {
            api: if target.api == Api::PinpointEmail {
                api::Client::PinpointEmail(pinpoint.clone())
            } else {
                api::Client::Sesv2(sesv2.clone())
            },
            region: Region::new(region.to_string()),
            timeout: settings.timeout,
            interval: settings.interval,
            max: SPEC.setting(target, &MAX),
        })
    }
}

/// [`Collector`] over the identities of one region.
#[derive(Debug)]
struct IdentitiesSource {
    api: api::Client,
    region: Region,
    timeout: Duration,
    interval: Duration,
    max: usize,
}

impl Collector for IdentitiesSource {
    type Output = Identities;

    async fn collect(&self) -> Result<Identities, PollError> {
        let listed = self.api.list(&self.region, self.timeout).await?;
        let (listed, dropped) = kept(listed, super::paced(self.interval, self.max));
        // The calls spread evenly over the first half of the interval, from
        // now; slow answers make the later gaps shorter, down to MIN_GAP.
        let window_ends = tokio::time::Instant::now() + self.interval / 2;
        let n = listed.len();
        let mut identities = Vec::with_capacity(n);
        for (i, listed) in listed.into_iter().enumerate() {
            if i > 0 {
                let left = window_ends.saturating_duration_since(tokio::time::Instant::now());
                tokio::time::sleep(gap(left, n - i)).await;
            }
            // An identity deleted since the listing is left out.
            let Some(details) = self
                .api
                .get(&self.region, &listed.name, self.timeout)
                .await?
            else {
                continue;
            };
            identities.push(Identity {
                name: listed.name,
                identity_type: listed.identity_type,
                sending_enabled: listed.sending_enabled,
                verified_for_sending: details.verified_for_sending,
                verification_status: details.verification_status.or(listed.verification_status),
                dkim_status: details.dkim_status,
                dkim_signing_enabled: details.dkim_signing_enabled,
                dkim_origin: details.dkim_origin,
                mail_from: details.mail_from,
            });
        }
        Ok(Identities {
            identities,
            dropped,
        })
    }

    /// The whole interval: the paced calls take its first half, their
    /// answers may take the rest; a poll never runs into the next.
    fn time_limit(&self, _timeout: Duration) -> Duration {
        self.interval
    }
}

/// `--collector.identities.max`.
const MAX: Setting = Setting {
    key: "max",
    help: "The most email identities exported (and asked GetEmailIdentity for) per target and region, failing ones first, then domains; no more than fit in half of --collector.identities.interval a second apart (300 at 10m); the rest are counted in pinpoint_email_identities_dropped",
    default: 100,
    min: 1,
};

/// Its `..._idle` gauge: it follows its region's activity.
const IDLE: Gauge = Gauge {
    name: "pinpoint_email_identities_idle",
    help: "1 while the region is idle (its account shows no production access, nothing sent in 24 hours and no recent reputation datapoint), so the identities of this target and region are polled at --collector.idle-interval; 0 while polled at --collector.identities.interval.",
};

/// The collector's name, in its [`Spec`] and its series' [`Names`].
const SPEC_NAME: &str = "identities";

/// The identities collector: `ListEmailIdentities` and `GetEmailIdentity`,
/// off by default.
pub const SPEC: Spec = Spec {
    name: SPEC_NAME,
    file_key: "identities",
    about: "the verification, DKIM and MAIL FROM status of each email identity",
    default_on: false,
    interval: Some(Interval {
        default: Duration::from_secs(600),
        help: "Time between two polls of the identities of one target and region (ListEmailIdentities, every page, then one GetEmailIdentity per identity, spread over the first half of it)",
    }),
    settings: &[MAX],
    calls: &[
        Call {
            action: "ses:ListEmailIdentities",
            per_poll: PerPoll::One,
            metrics: 0,
        },
        Call {
            action: "ses:GetEmailIdentity",
            per_poll: PerPoll::Paced(&MAX),
            metrics: 0,
        },
    ],
    idle: Some(IDLE),
};

// The gauges of its answers, each declared once.
const IDENTITY_VERIFICATION_STATUS: Gauge = Gauge {
    name: "pinpoint_email_identity_verification_status",
    help: "Verification status of the email identity (VerificationStatus, SES v2 only): 1 for the current status, 0 for the others (PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE, NOT_STARTED, and any other AWS sends), labels identity and identity_type.",
};

const IDENTITY_VERIFIED_FOR_SENDING: Gauge = Gauge {
    name: "pinpoint_email_identity_verified_for_sending",
    help: "1 if the email identity is verified for sending (VerifiedForSendingStatus), 0 if not; labels identity and identity_type.",
};

const IDENTITY_SENDING_ENABLED: Gauge = Gauge {
    name: "pinpoint_email_identity_sending_enabled",
    help: "1 if sending from the email identity is enabled (SendingEnabled), 0 if not; labels identity and identity_type.",
};

const IDENTITY_DKIM_STATUS: Gauge = Gauge {
    name: "pinpoint_email_identity_dkim_status",
    help: "DKIM status of the email identity (DkimAttributes.Status): 1 for the current status, 0 for the others (PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE, NOT_STARTED, and any other AWS sends), labels identity and identity_type.",
};

const IDENTITY_DKIM_SIGNING_ENABLED: Gauge = Gauge {
    name: "pinpoint_email_identity_dkim_signing_enabled",
    help: "1 if SES signs the email identity's mail with DKIM (DkimAttributes.SigningEnabled), 0 if not; labels identity, identity_type and origin (SigningAttributesOrigin, SES v2 only: AWS_SES for Easy DKIM, EXTERNAL for your own keys).",
};

const IDENTITY_MAIL_FROM_STATUS: Gauge = Gauge {
    name: "pinpoint_email_identity_mail_from_status",
    help: "Status of the email identity's custom MAIL FROM domain (MailFromAttributes.MailFromDomainStatus): 1 for the current status, 0 for the others (PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE, and any other AWS sends), labels identity, identity_type, mail_from_domain and behavior_on_mx_failure (REJECT_MESSAGE: mail is refused while the domain fails); absent without a custom MAIL FROM domain.",
};

const IDENTITIES: Gauge = Gauge {
    name: "pinpoint_email_identities",
    help: "Email identities of the account in the region, exported or not.",
};

const IDENTITIES_DROPPED: Gauge = Gauge {
    name: "pinpoint_email_identities_dropped",
    help: "Email identities of the last listing left out by --collector.identities.max.",
};

/// The identity series, with their own health, error and duration series.
const NAMES: Names = Names {
    collector: SPEC_NAME,
    up: Gauge {
        name: "pinpoint_email_identities_up",
        help: "1 if the last poll of the email identities (ListEmailIdentities and each GetEmailIdentity) succeeded, 0 if it failed.",
    },
    last_success: Gauge {
        name: "pinpoint_email_identities_last_success_timestamp_seconds",
        help: "Unix time of the last successful poll of the email identities.",
    },
    calls: (
        "pinpoint_email_identities_polls_total",
        "Polls of the email identities (a listing, every page, and a GetEmailIdentity per identity count once) made by the background pollers, successful or not.",
    ),
    errors: (
        "pinpoint_email_identities_poll_errors_total",
        "Polls of the email identities that failed, by reason (throttled, timeout, network, auth, bad_request, server, invalid_response, other).",
    ),
    durations: (
        "pinpoint_email_identities_poll_duration_seconds",
        "Duration of polls of the email identities, the paced GetEmailIdentity calls included, successful or not, of every target of the region (of each target with --metrics.poll-duration-per-target).",
    ),
    idle: SPEC.idle,
    values: &[
        IDENTITY_VERIFICATION_STATUS,
        IDENTITY_VERIFIED_FOR_SENDING,
        IDENTITY_SENDING_ENABLED,
        IDENTITY_DKIM_STATUS,
        IDENTITY_DKIM_SIGNING_ENABLED,
        IDENTITY_MAIL_FROM_STATUS,
        IDENTITIES,
        IDENTITIES_DROPPED,
    ],
    help_note: " Polled in the background (--collector.identities.interval): the answer of the last successful poll, at most {stale_after} old (twice --collector.idle-interval while the region is idle).",
    from_config: &[],
};

/// One sample per status of `known` and `current` (if another), 1 for
/// `current`: a state set with the identity's labels.
fn state_set(
    series: &mut Series<'_>,
    gauge: Gauge,
    labels: &[(&'static str, &str)],
    known: &[&str],
    current: &str,
) {
    let mut statuses = known.to_vec();
    if !statuses.contains(&current) {
        statuses.push(current);
    }
    for status in statuses {
        let mut all = labels.to_vec();
        all.push(("status", status));
        series.with_labels(gauge, &all, bool_value(status == current));
    }
}

impl Output for Identities {
    const NAMES: &'static Names = &NAMES;

    fn write(&self, series: &mut Series<'_>) {
        series.gauge(IDENTITIES, (self.identities.len() + self.dropped) as f64);
        series.gauge(IDENTITIES_DROPPED, self.dropped as f64);
        for id in &self.identities {
            let labels = [
                ("identity", id.name.as_str()),
                ("identity_type", id.identity_type.as_str()),
            ];
            if let Some(status) = &id.verification_status {
                state_set(
                    series,
                    IDENTITY_VERIFICATION_STATUS,
                    &labels,
                    &KNOWN_STATUSES,
                    status,
                );
            }
            let verified = bool_value(id.verified_for_sending);
            series.with_labels(IDENTITY_VERIFIED_FOR_SENDING, &labels, verified);
            let enabled = bool_value(id.sending_enabled);
            series.with_labels(IDENTITY_SENDING_ENABLED, &labels, enabled);
            let dkim = &id.dkim_status;
            state_set(series, IDENTITY_DKIM_STATUS, &labels, &KNOWN_STATUSES, dkim);
            let signing = bool_value(id.dkim_signing_enabled);
            match id.dkim_origin.as_deref() {
                Some(origin) => series.with_labels(
                    IDENTITY_DKIM_SIGNING_ENABLED,
                    &[labels[0], labels[1], ("origin", origin)],
                    signing,
                ),
                None => series.with_labels(IDENTITY_DKIM_SIGNING_ENABLED, &labels, signing),
            }
            if let Some(mail_from) = &id.mail_from {
                let labels = [
                    labels[0],
                    labels[1],
                    ("mail_from_domain", mail_from.domain.as_str()),
                    ("behavior_on_mx_failure", &mail_from.behavior_on_mx_failure),
                ];
                state_set(
                    series,
                    IDENTITY_MAIL_FROM_STATUS,
                    &labels,
                    &KNOWN_MAIL_FROM_STATUSES,
                    &mail_from.status,
                );
            }
        }
    }
}
