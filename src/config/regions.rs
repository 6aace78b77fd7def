//! Named profiles and default regions: checked and filled in from the shared
//! AWS config files and the AWS config chain, once the flags and the targets
//! file are read.

use aws_config::ConfigLoader;

use super::ConfigError;
use crate::target::{Credentials, Discovery, Target};

/// The profile whose credentials a target uses, if it names one.
fn named_profile(target: &Target) -> Option<&str> {
    match &target.credentials {
        Credentials::Profile(p)
        | Credentials::AssumeRole {
            source_profile: Some(p),
            ..
        } => Some(p),
        _ => None,
    }
}

/// Fails when a target names a profile (`profile`, or the `source_profile` of an
/// assumed role) that the shared AWS config and credentials files do not define.
/// Without this check the SDK falls through to the rest of the credential chain
/// and the poll fails with "no credentials", never naming the missing profile.
async fn check_profiles(targets: &[Target]) -> Result<(), ConfigError> {
    let named: Vec<(&Target, &str)> = targets
        .iter()
        .filter_map(|t| named_profile(t).map(|p| (t, p)))
        .collect();
    let Some(&(first, first_profile)) = named.first() else {
        return Ok(());
    };
    let env = aws_types::os_shim_internal::Env::real();
    let profiles = aws_config::profile::load(
        &aws_types::os_shim_internal::Fs::real(),
        &env,
        &aws_runtime::env_config::file::EnvConfigFiles::default(),
        None,
    )
    .await
    .map_err(|e| ConfigError::ProfileFiles {
        target: first.name.clone(),
        profile: first_profile.to_string(),
        message: e.to_string(),
    })?;
    for (target, profile) in named {
        if profiles.get_profile(profile).is_some() {
            continue;
        }
        let mut defined: Vec<&str> = profiles.profiles().collect();
        defined.sort_unstable();
        let file = |var: &str, default: &str| {
            env.get(var)
                .map(|v| format!("{v} from {var}"))
                .unwrap_or_else(|_| default.to_string())
        };
        return Err(ConfigError::UnknownProfile {
            target: target.name.clone(),
            profile: profile.to_string(),
            files: format!(
                "{}, {}",
                file("AWS_CONFIG_FILE", "~/.aws/config"),
                file("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
            ),
            defined: if defined.is_empty() {
                "none".to_string()
            } else {
                defined.join(", ")
            },
        });
    }
    Ok(())
}

/// Checks the profiles the targets name ([`check_profiles`]), then fills in the
/// regions of targets that list none from the AWS config chain's region
/// (`AWS_REGION`, profile), or fails with a message saying what to set.
pub async fn resolve_regions(
    targets: &mut [Target],
    base: &(dyn Fn() -> ConfigLoader + Sync),
) -> Result<(), ConfigError> {
    check_profiles(targets).await?;
    default_regions(targets, base).await
}

/// [`resolve_regions`] for discoveries: checks the profile whose credentials
/// call Organizations, and fills in the regions of discoveries that list none
/// from the AWS config chain (of that profile).
pub async fn resolve_discovery_regions(
    discoveries: &mut [Discovery],
    base: &(dyn Fn() -> ConfigLoader + Sync),
) -> Result<(), ConfigError> {
    let mut callers: Vec<Target> = discoveries.iter().map(Discovery::caller).collect();
    resolve_regions(&mut callers, base).await?;
    for (d, caller) in discoveries.iter_mut().zip(callers) {
        d.template.regions = caller.regions;
    }
    Ok(())
}

async fn default_regions(
    targets: &mut [Target],
    base: &(dyn Fn() -> ConfigLoader + Sync),
) -> Result<(), ConfigError> {
    for target in targets.iter_mut().filter(|t| t.regions.is_empty()) {
        let mut loader = base();
        if let Some(p) = named_profile(target) {
            loader = loader.profile_name(p);
        }
        let region = loader.load().await.region().map(|r| r.to_string());
        match region {
            Some(r) => target.regions.push(r),
            None => {
                return Err(ConfigError::NoRegion {
                    target: target.name.clone(),
                });
            }
        }
    }
    Ok(())
}
