//! The account state the simulator answers with, as both APIs spell it.

use serde::{Deserialize, Serialize};

/// The account state a [`Step::Account`] answers with, in the API's field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountState {
    /// `SendQuota.Max24HourSend`.
    pub max_24_hour_send: f64,
    /// `SendQuota.MaxSendRate`.
    pub max_send_rate: f64,
    /// `SendQuota.SentLast24Hours`.
    pub sent_last_24_hours: f64,
    /// `SendingEnabled`.
    pub sending_enabled: bool,
    /// `ProductionAccessEnabled`.
    pub production_access_enabled: bool,
    /// `DedicatedIpAutoWarmupEnabled`.
    pub dedicated_ip_auto_warmup_enabled: bool,
    /// `EnforcementStatus`.
    pub enforcement_status: String,
    /// SES v2: `VdmAttributes.VdmEnabled` is `ENABLED`.
    #[serde(default)]
    pub vdm_enabled: bool,
    /// SES v2: `Details.ReviewDetails.Status`; `None` leaves `Details` out.
    #[serde(default)]
    pub review_status: Option<String>,
    /// SES v2: `SuppressionAttributes.SuppressedReasons`.
    #[serde(default)]
    pub suppressed_reasons: Vec<String>,
    /// SES v2: `VdmAttributes.DashboardAttributes.EngagementMetrics` is
    /// `ENABLED`.
    #[serde(default)]
    pub vdm_engagement_metrics: bool,
    /// SES v2: `VdmAttributes.GuardianAttributes.OptimizedSharedDelivery` is
    /// `ENABLED`.
    #[serde(default)]
    pub vdm_optimized_shared_delivery: bool,
    /// SES v2: `PricingAttributes.CurrentPlan`; `None` leaves
    /// `PricingAttributes` out.
    #[serde(default)]
    pub pricing_plan: Option<String>,
    /// SES v2: `PricingAttributes.NextPlan`, a change scheduled for the next
    /// month.
    #[serde(default)]
    pub next_pricing_plan: Option<String>,
}

impl AccountState {
    /// A healthy production account with a 50,000 per day quota.
    pub fn healthy() -> Self {
        AccountState {
            max_24_hour_send: 50_000.0,
            max_send_rate: 14.0,
            sent_last_24_hours: 0.0,
            sending_enabled: true,
            production_access_enabled: true,
            dedicated_ip_auto_warmup_enabled: true,
            enforcement_status: "HEALTHY".to_string(),
            vdm_enabled: false,
            review_status: Some("GRANTED".to_string()),
            suppressed_reasons: vec!["BOUNCE".to_string(), "COMPLAINT".to_string()],
            vdm_engagement_metrics: false,
            vdm_optimized_shared_delivery: false,
            pricing_plan: Some("ESSENTIALS".to_string()),
            next_pricing_plan: None,
        }
    }

    /// The JSON body SES v2's `GetAccount` answers with: the Pinpoint Email fields
    /// plus `Details`, `SuppressionAttributes` and `VdmAttributes`.
    pub fn to_json_v2(&self) -> String {
        let mut v: serde_json::Value = serde_json::from_str(&self.to_json()).unwrap_or_default();
        v["SuppressionAttributes"] =
            serde_json::json!({ "SuppressedReasons": self.suppressed_reasons });
        let status = |on: bool| if on { "ENABLED" } else { "DISABLED" };
        v["VdmAttributes"] = serde_json::json!({
            "VdmEnabled": status(self.vdm_enabled),
            "DashboardAttributes": { "EngagementMetrics": status(self.vdm_engagement_metrics) },
            "GuardianAttributes": { "OptimizedSharedDelivery": status(self.vdm_optimized_shared_delivery) },
        });
        if let Some(plan) = &self.pricing_plan {
            v["PricingAttributes"] = serde_json::json!({ "CurrentPlan": plan });
            if let Some(next) = &self.next_pricing_plan {
                v["PricingAttributes"]["NextPlan"] = serde_json::json!(next);
            }
        }
        if let Some(status) = &self.review_status {
            v["Details"] = serde_json::json!({
                "MailType": "TRANSACTIONAL",
                "WebsiteURL": "https://example.com",
                "ContactLanguage": "EN",
                "UseCaseDescription": "Order confirmations and password resets.",
                "AdditionalContactEmailAddresses": ["postmaster@example.com"],
                "ReviewDetails": { "Status": status, "CaseId": "0123456789" },
            });
        }
        v.to_string()
    }

    /// The JSON body Pinpoint Email's `GetAccount` answers with.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "SendQuota": {
                "Max24HourSend": self.max_24_hour_send,
                "MaxSendRate": self.max_send_rate,
                "SentLast24Hours": self.sent_last_24_hours,
            },
            "SendingEnabled": self.sending_enabled,
            "DedicatedIpAutoWarmupEnabled": self.dedicated_ip_auto_warmup_enabled,
            "EnforcementStatus": self.enforcement_status,
            "ProductionAccessEnabled": self.production_access_enabled,
        })
        .to_string()
    }
}
