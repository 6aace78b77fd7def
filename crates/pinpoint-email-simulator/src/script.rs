//! What a region answers: a request-by-request script of steps, or a
//! scenario's timeline.

use tokio::time::Instant;

use crate::{CloudWatchStep, DedicatedIpsStep, IdentitiesStep, Step, Timeline};

/// How a region answers: a request-by-request script, or a timeline.
#[derive(Debug, Clone)]
pub(crate) enum Script {
    /// Each request takes the next step (the index); the last one repeats.
    Steps(Vec<Step>, usize),
    /// Answers depend on the time since `start`.
    Timeline(Timeline, Instant),
}

impl Script {
    /// What `GetDedicatedIps` answers in this region now.
    pub(crate) fn dedicated_ips(&self) -> DedicatedIpsStep {
        match self {
            Script::Timeline(timeline, start) => timeline.dedicated_ips_at(start.elapsed()),
            Script::Steps(..) => DedicatedIpsStep::Ips(Vec::new()),
        }
    }

    /// What the identity operations answer in this region now.
    pub(crate) fn identities(&self) -> IdentitiesStep {
        match self {
            Script::Timeline(timeline, start) => timeline.identities_at(start.elapsed()),
            Script::Steps(..) => IdentitiesStep::Identities(Vec::new()),
        }
    }

    /// What `GetMetricData` answers in this region now: a timeline's current
    /// phase, else a healthy account's rates.
    pub(crate) fn cloudwatch(&self) -> CloudWatchStep {
        match self {
            Script::Timeline(timeline, start) => timeline.cloudwatch_at(start.elapsed()),
            Script::Steps(..) => CloudWatchStep::healthy(),
        }
    }

    pub(crate) fn next(&mut self) -> Step {
        match self {
            Script::Steps(steps, next) => {
                let step = steps[(*next).min(steps.len() - 1)].clone();
                *next = (*next + 1).min(steps.len() - 1);
                step
            }
            Script::Timeline(timeline, start) => timeline.step_at(start.elapsed()),
        }
    }
}

/// A new script of `steps` (`otherwise` alone when there are none), at its
/// first step.
pub(crate) fn start<T>(steps: Vec<T>, otherwise: T) -> (Vec<T>, usize) {
    if steps.is_empty() {
        (vec![otherwise], 0)
    } else {
        (steps, 0)
    }
}

/// The step of a paged script (`steps`, `next` the one after the current):
/// the next one for a call's first page, the current one for its further
/// pages. The last step repeats.
pub(crate) fn next_step<T: Clone>(steps: &[T], next: &mut usize, first_page: bool) -> T {
    if !first_page {
        return steps[next.saturating_sub(1).min(steps.len() - 1)].clone();
    }
    let step = steps[(*next).min(steps.len() - 1)].clone();
    *next = (*next + 1).min(steps.len());
    step
}
