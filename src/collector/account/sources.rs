//! The `GetAccount` calls of both APIs, and how their answers map to [`Account`].

use std::time::Duration;

use aws_config::{Region, SdkConfig};
use aws_sdk_pinpointemail::operation::get_account::GetAccountOutput;
use aws_sdk_sesv2::operation::get_account::GetAccountOutput as SesV2Output;

use super::Account;
use crate::aws::{classify_sdk_error, operation_gone};
use crate::error::PollError;
use crate::poller::Collector;
use crate::target::Api;

type CallError = (PollError, bool);

/// The SDK clients of one target: one per API, shared by all its regions (each
/// call names its region). A client per (target, region) would cost its own
/// configuration and runtime plugins for every region.
#[derive(Debug, Clone)]
pub struct TargetClients {
    pinpoint: aws_sdk_pinpointemail::Client,
    sesv2: aws_sdk_sesv2::Client,
}

impl TargetClients {
    /// The clients of a target, from its loaded configuration.
    pub fn new(sdk_config: &SdkConfig) -> Self {
        TargetClients {
            pinpoint: aws_sdk_pinpointemail::Client::new(sdk_config),
            sesv2: aws_sdk_sesv2::Client::new(sdk_config),
        }
    }
}

/// [`Collector`] over the Pinpoint Email API of one region.
#[derive(Debug, Clone)]
pub struct PinpointEmailSource {
    client: aws_sdk_pinpointemail::Client,
    region: Region,
    timeout: Duration,
}

impl PinpointEmailSource {
    /// A source for `region` on the target's shared client, so the regions of a
    /// target share its credentials, identity cache and connections.
    pub fn new(clients: &TargetClients, region: &str, timeout: Duration) -> Self {
        PinpointEmailSource {
            client: clients.pinpoint.clone(),
            region: Region::new(region.to_string()),
            timeout,
        }
    }

    /// One call; on failure, also whether the answer says the operation is gone.
    async fn call(&self) -> Result<Account, CallError> {
        let in_region =
            aws_sdk_pinpointemail::config::Builder::default().region(self.region.clone());
        let sent = self
            .client
            .get_account()
            .customize()
            .config_override(in_region)
            .send()
            .await;
        let err = match sent {
            Ok(out) => return account_from_output(&out).map_err(|e| (e, false)),
            Err(err) => err,
        };
        let gone = operation_gone(&err);
        Err(match classify_sdk_error(&err, self.timeout) {
            PollError::BadRequest(m) if gone => (
                PollError::BadRequest(format!(
                    "{m}; the Pinpoint Email API is not served here any more: use --aws.api=sesv2 or auto (or `api:` in --config.file)"
                )),
                true,
            ),
            other => (other, gone),
        })
    }
}

impl Collector for PinpointEmailSource {
    type Output = Account;

    async fn collect(&self) -> Result<Account, PollError> {
        self.call().await.map_err(|(e, _)| e)
    }
}

/// [`Collector`] over the SES v2 API of one region.
#[derive(Debug, Clone)]
pub struct SesV2Source {
    client: aws_sdk_sesv2::Client,
    region: Region,
    timeout: Duration,
}

impl SesV2Source {
    /// A source for `region` on the target's shared client, like
    /// [`PinpointEmailSource::new`].
    pub fn new(clients: &TargetClients, region: &str, timeout: Duration) -> Self {
        SesV2Source {
            client: clients.sesv2.clone(),
            region: Region::new(region.to_string()),
            timeout,
        }
    }
}

impl Collector for SesV2Source {
    type Output = Account;

    async fn collect(&self) -> Result<Account, PollError> {
        let in_region = aws_sdk_sesv2::config::Builder::default().region(self.region.clone());
        let sent = self
            .client
            .get_account()
            .customize()
            .config_override(in_region)
            .send()
            .await;
        match sent {
            Ok(out) => account_from_sesv2(&out),
            Err(err) => Err(classify_sdk_error(&err, self.timeout)),
        }
    }
}

/// [`Collector`] that calls Pinpoint Email until it answers that the
/// operation is gone ([`operation_gone`]), then SES v2 for good.
#[derive(Debug)]
pub struct AutoSource {
    pinpoint: PinpointEmailSource,
    sesv2: SesV2Source,
    switched: std::sync::atomic::AtomicBool,
    target: String,
    region: String,
}

impl AutoSource {
    /// An auto source for `region` of the target named `target` (for the log).
    pub fn new(clients: &TargetClients, region: &str, timeout: Duration, target: String) -> Self {
        AutoSource {
            pinpoint: PinpointEmailSource::new(clients, region, timeout),
            sesv2: SesV2Source::new(clients, region, timeout),
            switched: std::sync::atomic::AtomicBool::new(false),
            target,
            region: region.to_string(),
        }
    }
}

impl Collector for AutoSource {
    type Output = Account;

    async fn collect(&self) -> Result<Account, PollError> {
        use std::sync::atomic::Ordering;
        if self.switched.load(Ordering::Relaxed) {
            return self.sesv2.collect().await;
        }
        match self.pinpoint.call().await {
            Err((err, true)) => {
                // Logged once: the flag never goes back.
                if !self.switched.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        account = %self.target,
                        aws_region = %self.region,
                        answer = %err,
                        "the Pinpoint Email API answered that GetAccount is gone; switching to SES v2 for good"
                    );
                }
                self.sesv2.collect().await
            }
            other => other.map_err(|(e, _)| e),
        }
    }
}

/// The source of one (target, region), for whichever API the target uses.
#[derive(Debug)]
pub enum Source {
    /// Pinpoint Email only.
    PinpointEmail(PinpointEmailSource),
    /// SES v2 only.
    Sesv2(SesV2Source),
    /// Pinpoint Email, then SES v2 once Pinpoint Email is gone.
    Auto(AutoSource),
}

impl Source {
    /// The source of `api` for `region`.
    pub fn new(
        api: Api,
        clients: &TargetClients,
        region: &str,
        timeout: Duration,
        target: String,
    ) -> Self {
        match api {
            Api::PinpointEmail => {
                Source::PinpointEmail(PinpointEmailSource::new(clients, region, timeout))
            }
            Api::Sesv2 => Source::Sesv2(SesV2Source::new(clients, region, timeout)),
            Api::Auto => Source::Auto(AutoSource::new(clients, region, timeout, target)),
        }
    }
}

impl Collector for Source {
    type Output = Account;

    async fn collect(&self) -> Result<Account, PollError> {
        match self {
            Source::PinpointEmail(s) => s.collect().await,
            Source::Sesv2(s) => s.collect().await,
            Source::Auto(s) => s.collect().await,
        }
    }
}

/// Maps a successful Pinpoint Email answer to an [`Account`]. An answer without
/// `SendQuota` is rejected: reporting a quota of 0 would page people for nothing.
fn account_from_output(out: &GetAccountOutput) -> Result<Account, PollError> {
    let quota = out.send_quota().ok_or_else(missing_quota)?;
    checked(Account {
        max_24_hour_send: quota.max24_hour_send(),
        max_send_rate: quota.max_send_rate(),
        sent_last_24_hours: quota.sent_last24_hours(),
        sending_enabled: out.sending_enabled(),
        production_access_enabled: out.production_access_enabled(),
        dedicated_ip_auto_warmup_enabled: out.dedicated_ip_auto_warmup_enabled(),
        enforcement_status: out.enforcement_status().map(str::to_string),
        api: Api::PinpointEmail,
        vdm_enabled: None,
        review_status: None,
        suppressed_reasons: None,
        ..Account::default()
    })
}

/// Maps a successful SES v2 answer to an [`Account`], with its SES v2 only values.
fn account_from_sesv2(out: &SesV2Output) -> Result<Account, PollError> {
    let quota = out.send_quota().ok_or_else(missing_quota)?;
    checked(Account {
        max_24_hour_send: quota.max24_hour_send(),
        max_send_rate: quota.max_send_rate(),
        sent_last_24_hours: quota.sent_last24_hours(),
        sending_enabled: out.sending_enabled(),
        production_access_enabled: out.production_access_enabled(),
        dedicated_ip_auto_warmup_enabled: out.dedicated_ip_auto_warmup_enabled(),
        enforcement_status: out.enforcement_status().map(str::to_string),
        api: Api::Sesv2,
        vdm_enabled: out
            .vdm_attributes()
            .map(|v| v.vdm_enabled().as_str() == "ENABLED"),
        review_status: out
            .details()
            .and_then(|d| d.review_details())
            .and_then(|r| r.status())
            .map(|s| s.as_str().to_string()),
        suppressed_reasons: out.suppression_attributes().map(|s| {
            s.suppressed_reasons()
                .iter()
                .map(|r| r.as_str().to_string())
                .collect()
        }),
        vdm_engagement_metrics_enabled: out
            .vdm_attributes()
            .and_then(|v| v.dashboard_attributes())
            .and_then(|d| d.engagement_metrics())
            .map(|s| s.as_str() == "ENABLED"),
        vdm_optimized_shared_delivery_enabled: out
            .vdm_attributes()
            .and_then(|v| v.guardian_attributes())
            .and_then(|g| g.optimized_shared_delivery())
            .map(|s| s.as_str() == "ENABLED"),
        pricing_plan: out
            .pricing_attributes()
            .and_then(|p| p.current_plan())
            .map(|p| p.as_str().to_string()),
        next_pricing_plan: out
            .pricing_attributes()
            .and_then(|p| p.next_plan())
            .map(|p| p.as_str().to_string()),
        // Left out on purpose: Details' website, use case and contact
        // addresses (free text and personal data).
        ..Account::default()
    })
}

/// `account` if its quota values pass [`check_quota`].
fn checked(account: Account) -> Result<Account, PollError> {
    check_quota(
        account.max_24_hour_send,
        account.max_send_rate,
        account.sent_last_24_hours,
    )?;
    Ok(account)
}

/// Rejects quota values no account can have: not finite (a JSON number beyond
/// f64's range), a negative count sent, or negative limits other than -1
/// (unlimited). Exporting them would draw nonsense usage ratios; marking the poll
/// `invalid_response` keeps the last good values and says what is wrong.
fn check_quota(max_24_hour_send: f64, max_send_rate: f64, sent: f64) -> Result<(), PollError> {
    for (field, value, unlimited_ok) in [
        ("SendQuota.Max24HourSend", max_24_hour_send, true),
        ("SendQuota.MaxSendRate", max_send_rate, true),
        ("SendQuota.SentLast24Hours", sent, false),
    ] {
        let valid = value.is_finite() && (value >= 0.0 || (unlimited_ok && value == -1.0));
        if !valid {
            return Err(PollError::InvalidResponse(format!(
                "{field} is {value}, which no account can have"
            )));
        }
    }
    Ok(())
}

fn missing_quota() -> PollError {
    PollError::InvalidResponse("the answer has no SendQuota object".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_pinpointemail::types::SendQuota;

    #[test]
    fn maps_every_field() {
        let out = GetAccountOutput::builder()
            .send_quota(
                SendQuota::builder()
                    .max24_hour_send(50000.0)
                    .max_send_rate(14.0)
                    .sent_last24_hours(1234.0)
                    .build(),
            )
            .sending_enabled(true)
            .production_access_enabled(false)
            .dedicated_ip_auto_warmup_enabled(true)
            .enforcement_status("PROBATION")
            .build();
        assert_eq!(
            account_from_output(&out).unwrap(),
            Account {
                max_24_hour_send: 50000.0,
                max_send_rate: 14.0,
                sent_last_24_hours: 1234.0,
                sending_enabled: true,
                production_access_enabled: false,
                dedicated_ip_auto_warmup_enabled: true,
                enforcement_status: Some("PROBATION".into()),
                api: Api::PinpointEmail,
                vdm_enabled: None,
                review_status: None,
                suppressed_reasons: None,
                ..Account::default()
            }
        );
    }

    #[test]
    fn impossible_quota_values_are_invalid() {
        assert!(check_quota(-1.0, -1.0, 0.0).is_ok());
        assert!(check_quota(1e300, 1e12, 1e300).is_ok());
        for (max, rate, sent) in [
            (f64::INFINITY, 1.0, 0.0),
            (1.0, f64::NAN, 0.0),
            (1.0, 1.0, -5.0),
            (-2.0, 1.0, 0.0),
            (1.0, 1.0, -1.0),
        ] {
            let err = check_quota(max, rate, sent).unwrap_err();
            assert_eq!(err.reason(), "invalid_response", "{max} {rate} {sent}");
        }
    }

    #[test]
    fn missing_send_quota_is_invalid() {
        let out = GetAccountOutput::builder().sending_enabled(true).build();
        assert_eq!(
            account_from_output(&out).unwrap_err().reason(),
            "invalid_response"
        );
    }
}
