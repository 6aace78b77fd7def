//! The targets file (`--config.file`): its schema and validation.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, TargetDefaults, dedup};
use crate::parse::{parse_duration, redact_yaml_error, validate_region};
use crate::target::{
    Api, Collectors, Credentials, DEFAULT_DISCOVERY_REFRESH, DEFAULT_NAME_TEMPLATE,
    DEFAULT_SESSION_NAME, Discovery, Target,
};

/// What a targets file lists: fixed targets, and discoveries that make
/// targets of an organization's accounts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetsFile {
    /// The targets listed one by one.
    pub targets: Vec<Target>,
    /// The `discover:` entries.
    pub discoveries: Vec<Discovery>,
}

impl TargetsFile {
    /// Fixed targets only.
    pub fn fixed(targets: Vec<Target>) -> Self {
        TargetsFile {
            targets,
            discoveries: Vec::new(),
        }
    }
}

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
    discover: Option<FileDiscover>,
}

/// A target's `discover:`: where its accounts come from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDiscover {
    organizations: FileOrganizations,
}

/// `discover: organizations:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOrganizations {
    role_name: String,
    external_id: Option<String>,
    role_session_name: Option<String>,
    #[serde(default)]
    parents: Vec<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    refresh: Option<String>,
    profile: Option<String>,
    role_arn: Option<String>,
    name_template: Option<String>,
}

/// A target's `collectors:`: each collector's `file_key`, on or off; a key no
/// collector has is refused where it stands, naming the ones there are.
#[derive(Debug, Default)]
struct FileCollectors(BTreeMap<String, bool>);

impl<'de> Deserialize<'de> for FileCollectors {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = FileCollectors;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of collectors to true or false")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut keys: BTreeMap<String, Option<bool>> = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    super::collectors::check_file_key(&key).map_err(serde::de::Error::custom)?;
                    if keys.contains_key(&key) {
                        return Err(serde::de::Error::custom(format!("duplicate field `{key}`")));
                    }
                    // No value (`reputation: ~`): the flags decide, as for a
                    // key left out.
                    let on = map.next_value::<Option<bool>>()?;
                    keys.insert(key, on);
                }
                Ok(FileCollectors(
                    keys.into_iter()
                        .filter_map(|(key, on)| on.map(|on| (key, on)))
                        .collect(),
                ))
            }
        }
        deserializer.deserialize_map(Keys)
    }
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
) -> Result<TargetsFile, ConfigError> {
    let parse_err = |message: String| ConfigError::Parse {
        path: path.to_path_buf(),
        message,
    };
    let blank = text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    if blank {
        return Err(parse_err(
            "the file is empty; it must contain a `targets:` list (see docs/configuration.md)"
                .into(),
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
    let mut discoveries: Vec<Discovery> = Vec::new();
    for (i, t) in file.targets.into_iter().enumerate() {
        let taken = targets.iter().any(|prev| prev.name == t.name)
            || discoveries.iter().any(|prev| prev.name == t.name);
        match entry(t, defaults, taken)
            .map_err(|(field, m)| invalid(format!("targets[{i}].{field}"), m))?
        {
            Entry::Target(t) => targets.push(t),
            Entry::Discovery(d) => discoveries.push(*d),
        }
    }
    Ok(TargetsFile {
        targets,
        discoveries,
    })
}

/// A target's collectors: its `collectors:`, else the flags'.
fn target_collectors(file: &FileCollectors, defaults: &TargetDefaults) -> Collectors {
    super::collectors::from_file(&file.0, &defaults.collectors)
}

/// One entry of `targets:`, checked.
enum Entry {
    Target(Target),
    Discovery(Box<Discovery>),
}

/// Checks entry `t` of `targets:` (`taken` when an entry before it has its
/// name), with the flags' `defaults`; or the key at fault (within the entry)
/// and what is wrong with it.
fn entry(t: FileTarget, defaults: &TargetDefaults, taken: bool) -> Result<Entry, (String, String)> {
    let at = |field: &str| field.to_string();
    validate_target_name(&t.name).map_err(|m| (at("name"), m))?;
    if taken {
        return Err((
            at("name"),
            format!(
                "duplicate target name {:?}; each name must be unique because it becomes the `account` label",
                t.name
            ),
        ));
    }
    for (j, region) in t.regions.iter().enumerate() {
        validate_region(region).map_err(|m| (format!("regions[{j}]"), m))?;
    }
    let regions = if t.regions.is_empty() {
        defaults.regions.clone()
    } else {
        dedup(t.regions)
    };
    let collectors = target_collectors(&t.collectors, defaults);
    if collectors.is_empty() {
        return Err((
            at("collectors"),
            "every collector is off for this target, so nothing would poll it; turn one on or remove the target".into(),
        ));
    }
    let Some(discover) = t.discover else {
        let credentials = credentials(t.profile, t.role_arn, t.external_id, t.role_session_name)
            .map_err(|(field, m)| (at(field), m))?;
        return Ok(Entry::Target(Target {
            name: t.name,
            regions,
            credentials,
            api: t.api.unwrap_or(defaults.api),
            expect_sandbox: t.expect_sandbox,
            collectors,
            settings: defaults.settings.clone(),
        }));
    };
    for (key, set) in [
        ("profile", t.profile.is_some()),
        ("role_arn", t.role_arn.is_some()),
        ("external_id", t.external_id.is_some()),
        ("role_session_name", t.role_session_name.is_some()),
    ] {
        if set {
            return Err((
                at(key),
                format!(
                    "a discover target takes {key} under discover.organizations (for the member roles or the Organizations calls); move it there"
                ),
            ));
        }
    }
    let template = Target {
        name: t.name.clone(),
        regions,
        credentials: Credentials::DefaultChain,
        api: t.api.unwrap_or(defaults.api),
        expect_sandbox: t.expect_sandbox,
        collectors,
        settings: defaults.settings.clone(),
    };
    let at = |field: &str| format!("discover.organizations.{field}");
    discovery(t.name, template, discover.organizations, &at).map(|d| Entry::Discovery(Box::new(d)))
}

/// A discovery of the file, or the key at fault (as `at` names it) and what
/// is wrong with it.
fn discovery(
    name: String,
    template: Target,
    org: FileOrganizations,
    at: &dyn Fn(&str) -> String,
) -> Result<Discovery, (String, String)> {
    let fail = |field: &str, message: String| (at(field), message);
    validate_role_name(&org.role_name).map_err(|m| fail("role_name", m))?;
    if let Some(id) = &org.external_id {
        validate_external_id(id).map_err(|m| fail("external_id", m))?;
    }
    let session_name = org
        .role_session_name
        .unwrap_or_else(|| DEFAULT_SESSION_NAME.to_string());
    validate_session_name(&session_name).map_err(|m| fail("role_session_name", m))?;
    for (j, parent) in org.parents.iter().enumerate() {
        validate_parent(parent).map_err(|m| fail(&format!("parents[{j}]"), m))?;
    }
    if org.tags.keys().any(|k| k.trim().is_empty()) {
        return Err(fail("tags", "a tag key must not be empty".into()));
    }
    let refresh = match &org.refresh {
        None => DEFAULT_DISCOVERY_REFRESH,
        Some(text) => parse_duration(text).map_err(|m| fail("refresh", m))?,
    };
    if refresh < Duration::from_secs(1) || refresh > super::MAX_WAIT {
        return Err(fail("refresh", "must be from 1s to 24h, e.g. 1h".into()));
    }
    // The Organizations calls use the standard chain, a profile, or a role
    // (in the management or delegated administrator account).
    let credentials =
        credentials(org.profile, org.role_arn, None, None).map_err(|(field, m)| fail(field, m))?;
    let name_template = org
        .name_template
        .unwrap_or_else(|| DEFAULT_NAME_TEMPLATE.to_string());
    validate_name_template(&name_template).map_err(|m| fail("name_template", m))?;
    Ok(Discovery {
        name,
        template,
        role_name: org.role_name,
        external_id: org.external_id,
        session_name,
        parents: dedup(org.parents),
        tags: org.tags,
        refresh,
        credentials,
        name_template,
    })
}

fn validate_role_name(name: &str) -> Result<(), String> {
    // IAM's limits for a role name, with an optional path before it.
    let base = name.rsplit('/').next().unwrap_or("");
    let ok = (1..=64).contains(&base.len())
        && name.len() <= 512
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
        && !name.starts_with('/');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not an IAM role name such as pinpoint-email-exporter (1 to 64 characters of letters, digits and +=,.@_-, optionally after a path)"
        ))
    }
}

fn validate_parent(parent: &str) -> Result<(), String> {
    let rest = parent
        .strip_prefix("ou-")
        .or_else(|| parent.strip_prefix("r-"));
    let ok = rest.is_some_and(|r| {
        !r.is_empty()
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{parent:?} is not an organizational unit id (ou-ab12-cdef3456) or root id (r-ab12)"
        ))
    }
}

fn validate_name_template(template: &str) -> Result<(), String> {
    let rest = template
        .replace("{account_id}", "")
        .replace("{account_name}", "");
    if template.matches("{account_name}").count() > 1 {
        return Err(format!("{template:?} may hold {{account_name}} once"));
    }
    if !template.contains("{account_id}") {
        return Err(format!(
            "{template:?} must contain {{account_id}}, which keeps the names of two accounts apart"
        ));
    }
    let ok = rest
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && template.replace("{account_name}", "").len() - "{account_id}".len() + 12 <= 64;
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{template:?} may hold {{account_id}}, {{account_name}} and letters, digits, '_', '-' and '.', at most 64 characters once filled in"
        ))
    }
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
