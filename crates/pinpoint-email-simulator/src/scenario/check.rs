//! The checks of a scenario's phases.

use super::{Answer, ErrorAnswer, Phase};

/// Checks one phase of a timeline (`last_without_repeat` when it is the last
/// of a timeline that does not repeat, which alone may run forever): the
/// field at fault within the phase and what is wrong, if any.
pub(super) fn check_phase(
    phase: &Phase,
    last_without_repeat: bool,
) -> Result<(), (String, String)> {
    match phase.duration {
        Some(d) if d.is_zero() => {
            return Err(("duration".to_string(), "must be above 0".into()));
        }
        None if !last_without_repeat => {
            return Err((
                "duration".to_string(),
                "is required for every phase but the last of a timeline without repeat".into(),
            ));
        }
        _ => {}
    }
    for (field, rate) in [
        ("reputation.bounce_rate", phase.reputation.bounce_rate),
        ("reputation.complaint_rate", phase.reputation.complaint_rate),
    ] {
        if rate.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
            return Err((
                field.to_string(),
                "must be a ratio from 0 to 1 (0.05 is 5 %)".into(),
            ));
        }
    }
    for (j, ip) in phase.dedicated_ips.iter().flatten().enumerate() {
        if ip.ip.is_empty() || !(-1..=100).contains(&ip.warmup_percentage) {
            return Err((
                format!("dedicated_ips[{j}]"),
                "needs an ip and a warmup_percentage from 0 to 100 (or -1)".into(),
            ));
        }
    }
    for (j, identity) in phase.identities.iter().flatten().enumerate() {
        if identity.name.is_empty() || identity.name.contains('/') {
            return Err((
                format!("identities[{j}].name"),
                "needs a domain or an email address (without /)".into(),
            ));
        }
    }
    if !phase.sent_per_second.is_finite() {
        return Err(("sent_per_second".to_string(), "must be a number".into()));
    }
    let answers = usize::from(phase.answer != Answer::Account)
        + usize::from(phase.error.is_some())
        + usize::from(phase.body.is_some());
    if answers > 1 {
        return Err((
            "answer".to_string(),
            "give only one of answer, error and body".into(),
        ));
    }
    if let Some(ErrorAnswer { status, code }) = &phase.error {
        if !(400..=599).contains(status) {
            return Err((
                "error.status".to_string(),
                format!("{status} is not an HTTP error status (400-599)"),
            ));
        }
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err((
                "error.code".to_string(),
                format!("{code:?} must be an AWS error code such as InternalFailure"),
            ));
        }
    }
    Ok(())
}
