//! What the exporter polls, as the alert rules need it: the AWS account id of
//! each target, and whether the exporter has all of its targets yet.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus::{IntGauge, IntGaugeVec, Opts, Registry};

use crate::target::Target;

/// `pinpoint_email_account_info` and `pinpoint_email_exporter_targets_complete`.
pub(super) struct Inventory {
    account_info: IntGaugeVec,
    complete: IntGauge,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Each target's name, with what says whose credentials it uses, its
    /// account id once known, and whether that comes from its configuration.
    targets: BTreeMap<String, (String, Option<String>, bool)>,
    /// The account STS gave for each set of credentials: a target renamed,
    /// or another with the same credentials, is the same account.
    learned: BTreeMap<String, String>,
    /// Every discovery has listed its accounts.
    listed: bool,
}

/// Whose credentials a target uses: one account per set of credentials.
fn credentials_of(target: &Target) -> String {
    format!("{:?}", target.credentials)
}

impl Inventory {
    pub(super) fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let account_info = IntGaugeVec::new(
            Opts::new(
                "pinpoint_email_account_info",
                "The 12-digit AWS account id of a target: 1, labelled by the target (account) and its account_id, from the role it assumes (a discovered account's too) or, for other credentials, from STS GetCallerIdentity after its first successful poll. The alert rules identify accounts by it.",
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
            state: Mutex::new(State::default()),
        })
    }

    /// Replaces the targets with `targets` (an id learned for the same
    /// credentials is kept, under whatever name), and records whether every
    /// discovery has listed its accounts.
    pub(super) fn set(&self, targets: &[Target], listed: bool) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut now = BTreeMap::new();
        for target in targets {
            let credentials = credentials_of(target);
            let configured = target.account_id().map(str::to_string);
            let from_config = configured.is_some();
            let id = configured.or_else(|| state.learned.get(&credentials).cloned());
            now.insert(target.name.clone(), (credentials, id, from_config));
        }
        state.targets = now;
        state.listed = listed;
        self.publish(&state);
    }

    /// Records `id`, the account of target `name`'s credentials (as STS
    /// says), for every target with those credentials.
    pub(super) fn learn(&self, name: &str, id: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some((credentials, _, _)) = state.targets.get(name) else {
            return;
        };
        let credentials = credentials.clone();
        state.learned.insert(credentials.clone(), id.to_string());
        // What STS says now replaces what it said before (the account behind
        // a profile may change); what the configuration says stays.
        for (c, known, from_config) in state.targets.values_mut() {
            if *c == credentials && !*from_config {
                *known = Some(id.to_string());
            }
        }
        self.publish(&state);
    }

    fn publish(&self, state: &State) {
        self.account_info.reset();
        for (name, (_, id, _)) in &state.targets {
            if let Some(id) = id {
                self.account_info.with_label_values(&[name, id]).set(1);
            }
        }
        // Not also waiting for unknown account ids: a target whose STS call
        // cannot succeed would keep the rules from ever taking an account
        // as removed.
        self.complete.set(i64::from(state.listed));
    }
}

/// Where the account ids that STS gives are recorded, for
/// `pinpoint_email_account_info`: a handle on the store's, for a collector.
#[derive(Clone)]
pub struct AccountIds {
    pub(super) inventory: Arc<Inventory>,
    pub(super) generation: Arc<AtomicU64>,
}

impl std::fmt::Debug for AccountIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccountIds")
    }
}

impl AccountIds {
    /// Records `id`, the AWS account of the target named `name`.
    pub fn learn(&self, name: &str, id: &str) {
        self.inventory.learn(name, id);
        self.generation.fetch_add(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::{Api, CollectorSettings, Collectors, Credentials};

    fn target(name: &str, credentials: Credentials) -> Target {
        Target {
            name: name.into(),
            regions: vec!["us-east-1".into()],
            credentials,
            api: Api::Auto,
            expect_sandbox: false,
            collectors: Collectors::Only(vec!["account"]),
            settings: CollectorSettings::default(),
        }
    }

    fn role(account: &str) -> Credentials {
        Credentials::AssumeRole {
            role_arn: format!("arn:aws:iam::{account}:role/reader"),
            external_id: None,
            session_name: "s".into(),
            source_profile: None,
        }
    }

    fn text(registry: &Registry) -> String {
        prometheus::TextEncoder::new()
            .encode_to_string(&registry.gather())
            .unwrap_or_default()
    }

    #[test]
    fn ids_from_roles_and_sts_and_complete_once_listed() {
        let registry = Registry::new();
        let inventory = Inventory::new(&registry).unwrap_or_else(|e| panic!("{e}"));
        let targets = [
            target("partner", role("210987654321")),
            target("default", Credentials::DefaultChain),
        ];
        inventory.set(&targets, true);
        let t = text(&registry);
        let partner =
            "pinpoint_email_account_info{account=\"partner\",account_id=\"210987654321\"} 1";
        assert!(t.contains(partner), "{t}");
        // The default chain's account is not known until STS says it; the
        // targets are complete all the same (listed is what counts).
        assert!(!t.contains("account=\"default\""), "{t}");
        assert!(
            t.contains("pinpoint_email_exporter_targets_complete 1"),
            "{t}"
        );
        inventory.learn("default", "123456789012");
        let learned =
            "pinpoint_email_account_info{account=\"default\",account_id=\"123456789012\"} 1";
        assert!(text(&registry).contains(learned));
        // Unchanged, the target keeps what was learned; renamed, with the
        // same credentials, too; with other credentials, it has to be asked
        // again.
        inventory.set(&targets, true);
        assert!(text(&registry).contains(learned));
        inventory.set(&[target("renamed", Credentials::DefaultChain)], true);
        let renamed =
            "pinpoint_email_account_info{account=\"renamed\",account_id=\"123456789012\"} 1";
        assert!(text(&registry).contains(renamed));
        let other = target("default", Credentials::Profile("other".into()));
        inventory.set(&[targets[0].clone(), other], true);
        assert!(!text(&registry).contains("account=\"default\""));
        // STS answering with another account replaces the id.
        inventory.set(&targets, true);
        inventory.learn("default", "222222222222");
        let t = text(&registry);
        assert!(
            t.contains("account=\"default\",account_id=\"222222222222\""),
            "{t}"
        );
        assert!(!t.contains("123456789012"), "{t}");
        // A discovery that has not listed makes it incomplete; an id for a
        // target it no longer has is ignored.
        inventory.set(&targets[..1], false);
        inventory.learn("gone", "111111111111");
        let t = text(&registry);
        assert!(
            t.contains("pinpoint_email_exporter_targets_complete 0"),
            "{t}"
        );
        assert!(!t.contains("111111111111"), "{t}");
    }
}
