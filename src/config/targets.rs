//! The targets file (`--config.file`): its schema and validation.

use std::path::Path;

use serde::Deserialize;

use super::{ConfigError, TargetDefaults, dedup};
use crate::parse::{redact_yaml_error, validate_region};
use crate::target::{Api, Collectors, Credentials, DEFAULT_SESSION_NAME, Target};

/// The targets file, as written by the user.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    targets: Vec<FileTarget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTarget {
    name: String,
    #[serde(default)]
    regions: Vec<String>,
    profile: Option<String>,
    role_arn: Option<String>,
    external_id: Option<String>,
    role_session_name: Option<String>,
    api: Option<Api>,
    #[serde(default)]
    expect_sandbox: bool,
    #[serde(default)]
    collectors: FileCollectors,
}

/// A target's `collectors:`, overriding the `--collector.*` flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCollectors {
    account: Option<bool>,
    reputation: Option<bool>,
    dedicated_ips: Option<bool>,
}

/// How a target of the file gets credentials, or the key at fault and what is
/// wrong with it.
fn credentials(
    profile: Option<String>,
    role_arn: Option<String>,
    external_id: Option<String>,
    role_session_name: Option<String>,
) -> Result<Credentials, (&'static str, String)> {
    if profile.as_ref().is_some_and(|p| p.trim().is_empty()) {
        return Err((
            "profile",
            "must not be empty; remove the key to use the default credential chain".into(),
        ));
    }
    let Some(role_arn) = role_arn else {
        if external_id.is_some() {
            return Err((
                "external_id",
                "is only used with role_arn; add role_arn or remove external_id".into(),
            ));
        }
        if role_session_name.is_some() {
            return Err((
                "role_session_name",
                "is only used with role_arn; add role_arn or remove role_session_name".into(),
            ));
        }
        return Ok(profile.map_or(Credentials::DefaultChain, Credentials::Profile));
    };
    validate_role_arn(&role_arn).map_err(|m| ("role_arn", m))?;
    if let Some(id) = &external_id {
        validate_external_id(id).map_err(|m| ("external_id", m))?;
    }
    let session_name = role_session_name.unwrap_or_else(|| DEFAULT_SESSION_NAME.to_string());
    validate_session_name(&session_name).map_err(|m| ("role_session_name", m))?;
    Ok(Credentials::AssumeRole {
        role_arn,
        external_id,
        session_name,
        source_profile: profile,
    })
}

/// Parses and validates the text of a targets file. `defaults` (from the
/// flags) fill in what a target leaves out: its regions, `api` and collectors.
pub fn parse_targets(
    path: &Path,
    text: &str,
    defaults: &TargetDefaults,
) -> Result<Vec<Target>, ConfigError> {
    let parse_err = |message: String| ConfigError::Parse {
        path: path.to_path_buf(),
        message,
    };
    let blank = text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    if blank {
        return Err(parse_err(
            "the file is empty; it must contain a `targets:` list (see the README)".into(),
        ));
    }
    let file: FileConfig =
        serde_yaml_ng::from_str(text).map_err(|e| parse_err(redact_yaml_error(&e.to_string())))?;
    let invalid = |field: String, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        field,
        message,
    };
    if file.targets.is_empty() {
        return Err(invalid(
            "targets".into(),
            "the list is empty; add at least one target".into(),
        ));
    }

    let mut targets: Vec<Target> = Vec::with_capacity(file.targets.len());
    for (i, t) in file.targets.into_iter().enumerate() {
        let at = |field: &str| format!("targets[{i}].{field}");
        validate_target_name(&t.name).map_err(|m| invalid(at("name"), m))?;
        if targets.iter().any(|prev| prev.name == t.name) {
            return Err(invalid(
                at("name"),
                format!(
                    "duplicate target name {:?}; each name must be unique because it becomes the `account` label",
                    t.name
                ),
            ));
        }
        for (j, region) in t.regions.iter().enumerate() {
            validate_region(region).map_err(|m| invalid(at(&format!("regions[{j}]")), m))?;
        }
        let regions = if t.regions.is_empty() {
            defaults.regions.clone()
        } else {
            dedup(t.regions)
        };
        let credentials = credentials(t.profile, t.role_arn, t.external_id, t.role_session_name)
            .map_err(|(field, m)| invalid(at(field), m))?;
        let collectors = Collectors {
            account: t.collectors.account.unwrap_or(defaults.collectors.account),
            reputation: t
                .collectors
                .reputation
                .unwrap_or(defaults.collectors.reputation),
            dedicated_ips: t
                .collectors
                .dedicated_ips
                .unwrap_or(defaults.collectors.dedicated_ips),
        };
        if collectors.list().is_empty() {
            return Err(invalid(
                at("collectors"),
                "every collector is off for this target, so nothing would poll it; turn one on or remove the target".into(),
            ));
        }
        targets.push(Target {
            name: t.name,
            regions,
            credentials,
            api: t.api.unwrap_or(defaults.api),
            expect_sandbox: t.expect_sandbox,
            collectors,
            max_dedicated_ips: defaults.max_dedicated_ips,
        });
    }
    Ok(targets)
}

fn validate_target_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} must be 1 to 64 characters of letters, digits, '_', '-' and '.'"
        ))
    }
}

fn validate_role_arn(arn: &str) -> Result<(), String> {
    // arn:PARTITION:iam::ACCOUNT:role/PATH/NAME
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].starts_with("role/")
        && parts[5].len() > "role/".len();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{arn:?} is not an IAM role ARN such as arn:aws:iam::111122223333:role/pinpoint-email-exporter"
        ))
    }
}

fn validate_external_id(id: &str) -> Result<(), String> {
    // The limits STS documents for ExternalId.
    let ok = (2..=1224).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@:/-_".contains(&b));
    if ok {
        Ok(())
    } else {
        Err("must be 2 to 1224 characters of letters, digits and +=,.@:/-_".into())
    }
}

fn validate_session_name(name: &str) -> Result<(), String> {
    // The limits STS documents for RoleSessionName.
    let ok = (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@-_".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} must be 2 to 64 characters of letters, digits and +=,.@-_"
        ))
    }
}
