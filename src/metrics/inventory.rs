//! What the exporter polls, as the alert rules need it: the AWS account id of
//! each target, and whether the exporter has all of its targets yet.

use prometheus::{IntGauge, IntGaugeVec, Opts, Registry};

use crate::target::Target;

/// `pinpoint_email_account_info` and `pinpoint_email_exporter_targets_complete`.
pub(super) struct Inventory {
    account_info: IntGaugeVec,
    complete: IntGauge,
}

impl Inventory {
    pub(super) fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let account_info = IntGaugeVec::new(
            Opts::new(
                "pinpoint_email_account_info",
                "The AWS account id of a target whose configuration names it (a role to assume, a discovered account): 1, labelled by the target (account) and the 12-digit account_id. The alert rules identify accounts by it.",
            ),
            &["account", "account_id"],
        )?;
        registry.register(Box::new(account_info.clone()))?;
        let complete = IntGauge::new(
            "pinpoint_email_exporter_targets_complete",
            "1 when the exporter polls every target its configuration gives it; 0 while a discovery has not listed its accounts since start-up. While 0, the alert rules do not take an account missing from this exporter as removed.",
        )?;
        registry.register(Box::new(complete.clone()))?;
        Ok(Inventory {
            account_info,
            complete,
        })
    }

    /// Replaces the account ids with those of `targets`, and records whether
    /// they are all the targets the exporter should poll.
    pub(super) fn set(&self, targets: &[Target], complete: bool) {
        self.account_info.reset();
        for target in targets {
            if let Some(id) = target.account_id() {
                self.account_info
                    .with_label_values(&[target.name.as_str(), id])
                    .set(1);
            }
        }
        self.complete.set(i64::from(complete));
    }
}
