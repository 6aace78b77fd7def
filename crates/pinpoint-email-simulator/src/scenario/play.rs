//! Playing a scenario: which phase of a timeline is on at a time, and what
//! it answers.

use std::time::Duration;

use super::{AccountPatch, Answer, CallAnswer, Phase, ReputationPatch, Timeline};
use crate::{AccountState, CloudWatchStep, DedicatedIpsStep, IdentitiesStep, Step};

impl AccountPatch {
    fn apply(&self, s: &mut AccountState) {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = &self.$f { s.$f = v.clone(); } )* };
        }
        set!(
            max_24_hour_send,
            max_send_rate,
            sent_last_24_hours,
            sending_enabled,
            production_access_enabled,
            dedicated_ip_auto_warmup_enabled,
            enforcement_status,
            vdm_enabled,
            suppressed_reasons,
            vdm_engagement_metrics,
            vdm_optimized_shared_delivery
        );
        if let Some(plan) = &self.pricing_plan {
            s.pricing_plan = Some(plan.clone());
        }
        if let Some(plan) = &self.next_pricing_plan {
            s.next_pricing_plan = Some(plan.clone());
        }
        if let Some(status) = &self.review_status {
            s.review_status = Some(status.clone());
        }
    }
}

impl Timeline {
    /// What the region answers `elapsed` after the scenario was loaded.
    pub fn step_at(&self, elapsed: Duration) -> Step {
        let (state, _, phase) = self.at(elapsed);
        match phase {
            Some(phase) => phase.step(state),
            None => Step::Account(state),
        }
    }

    /// What CloudWatch `GetMetricData` answers `elapsed` after the scenario was
    /// loaded.
    pub fn cloudwatch_at(&self, elapsed: Duration) -> CloudWatchStep {
        let (_, rates, phase) = self.at(elapsed);
        let CloudWatchStep::Rates {
            bounce_rate,
            complaint_rate,
            age_secs,
            sends,
        } = rates
        else {
            return rates;
        };
        match phase.map_or(CallAnswer::Data, |p| p.cloudwatch) {
            CallAnswer::Data => CloudWatchStep::Rates {
                bounce_rate,
                complaint_rate,
                age_secs,
                sends,
            },
            CallAnswer::Missing => CloudWatchStep::Rates {
                bounce_rate: None,
                complaint_rate: None,
                age_secs,
                sends: None,
            },
            CallAnswer::Throttle => CloudWatchStep::Throttle,
            CallAnswer::ServerError => CloudWatchStep::Error {
                status: 500,
                code: "InternalServiceFault".into(),
            },
            CallAnswer::AccessDenied => CloudWatchStep::Error {
                status: 403,
                code: "AccessDenied".into(),
            },
        }
    }

    /// What `GetDedicatedIps` answers `elapsed` after the scenario was loaded.
    pub fn dedicated_ips_at(&self, elapsed: Duration) -> DedicatedIpsStep {
        let Some((ips, answer)) =
            self.listing_at(elapsed, |p| &p.dedicated_ips, |p| p.dedicated_ips_answer)
        else {
            return DedicatedIpsStep::Ips(Vec::new());
        };
        match answer {
            CallAnswer::Data => DedicatedIpsStep::Ips(ips),
            CallAnswer::Missing => DedicatedIpsStep::Ips(Vec::new()),
            CallAnswer::Throttle => DedicatedIpsStep::Throttle,
            CallAnswer::ServerError => DedicatedIpsStep::Error {
                status: 500,
                code: "InternalFailure".into(),
            },
            CallAnswer::AccessDenied => DedicatedIpsStep::Error {
                status: 403,
                code: "AccessDeniedException".into(),
            },
        }
    }

    /// What the identity operations answer `elapsed` after the scenario was
    /// loaded.
    pub fn identities_at(&self, elapsed: Duration) -> IdentitiesStep {
        let Some((identities, answer)) =
            self.listing_at(elapsed, |p| &p.identities, |p| p.identities_answer)
        else {
            return IdentitiesStep::Identities(Vec::new());
        };
        match answer {
            CallAnswer::Data => IdentitiesStep::Identities(identities),
            CallAnswer::Missing => IdentitiesStep::Identities(Vec::new()),
            CallAnswer::Throttle => IdentitiesStep::Throttle,
            CallAnswer::ServerError => IdentitiesStep::Error {
                status: 500,
                code: "InternalFailure".into(),
            },
            CallAnswer::AccessDenied => IdentitiesStep::Error {
                status: 403,
                code: "AccessDeniedException".into(),
            },
        }
    }

    /// The list `list` of the latest phase up to the one of `elapsed` that
    /// gives one (empty before any does), and what that phase answers.
    fn listing_at<T: Clone>(
        &self,
        elapsed: Duration,
        list: impl Fn(&Phase) -> &Option<Vec<T>>,
        answer: impl Fn(&Phase) -> CallAnswer,
    ) -> Option<(Vec<T>, CallAnswer)> {
        let (_, _, phase) = self.at(elapsed);
        let phase = phase?;
        let at = self
            .phases
            .iter()
            .position(|p| std::ptr::eq(p, phase))
            .unwrap_or(0);
        let items = self.phases[..=at]
            .iter()
            .rev()
            .find_map(|p| list(p).clone())
            .unwrap_or_default();
        Some((items, answer(phase)))
    }

    /// The account state and reputation rates `elapsed` after the scenario was
    /// loaded, and the phase then.
    fn at(&self, elapsed: Duration) -> (AccountState, CloudWatchStep, Option<&Phase>) {
        let mut t = elapsed;
        if self.repeat {
            let total: Duration = self.phases.iter().filter_map(|p| p.duration).sum();
            if !total.is_zero() {
                t = Duration::from_nanos((t.as_nanos() % total.as_nanos()) as u64);
            }
        }
        let mut state = AccountState::healthy();
        let mut rates = CloudWatchStep::healthy();
        let last = self.phases.len().saturating_sub(1);
        for (i, phase) in self.phases.iter().enumerate() {
            phase.account.apply(&mut state);
            phase.reputation.apply(&mut rates);
            let within = match phase.duration {
                Some(d) if i != last && t >= d => None,
                _ => Some(t),
            };
            let spent = within.unwrap_or_else(|| phase.duration.unwrap_or_default());
            state.sent_last_24_hours += phase.sent_per_second * spent.as_secs_f64();
            state.sent_last_24_hours = state.sent_last_24_hours.max(0.0);
            if state.max_24_hour_send > 0.0 {
                state.sent_last_24_hours = state.sent_last_24_hours.min(state.max_24_hour_send);
            }
            if within.is_some() {
                // Emails are counted whole.
                state.sent_last_24_hours = state.sent_last_24_hours.floor();
                return (state, rates, Some(phase));
            }
            t -= spent;
        }
        (state, rates, None)
    }
}

impl ReputationPatch {
    fn apply(&self, rates: &mut CloudWatchStep) {
        if let CloudWatchStep::Rates {
            bounce_rate,
            complaint_rate,
            age_secs,
            ..
        } = rates
        {
            if let Some(v) = self.bounce_rate {
                *bounce_rate = Some(v);
            }
            if let Some(v) = self.complaint_rate {
                *complaint_rate = Some(v);
            }
            if let Some(age) = self.age {
                *age_secs = age.as_secs();
            }
        }
    }
}

impl Phase {
    fn step(&self, state: AccountState) -> Step {
        let step = match (&self.error, &self.body, self.answer) {
            (Some(e), _, _) => Step::Error {
                status: e.status,
                code: e.code.clone(),
            },
            (None, Some(b), _) => Step::Body(b.clone()),
            (None, None, Answer::Account) => Step::Account(state),
            (None, None, Answer::Throttle) => Step::Throttle,
            (None, None, Answer::Drop) => Step::Drop,
            (None, None, Answer::Reset) => Step::Reset,
        };
        match self.delay {
            Some(d) => Step::Delay {
                millis: d.as_millis() as u64,
                then: Box::new(step),
            },
            None => step,
        }
    }
}
