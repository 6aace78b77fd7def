//! What is wrong with a configuration, and what to do: exit code 2.

use std::path::PathBuf;

/// A configuration problem. Its message names the problem and what to do; the
/// binary prints it and exits with code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A flag value is out of range or inconsistent with another.
    #[error("invalid flag {flag}: {message}")]
    Flag {
        /// The flag, e.g. `--poll.interval`.
        flag: std::borrow::Cow<'static, str>,
        /// What is wrong and what to do.
        message: String,
    },
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file given with `--config.file`.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid YAML of the expected shape.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file given with `--config.file`.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value in the config file is invalid.
    #[error("config file {path}: {field}: {message}")]
    Invalid {
        /// The file given with `--config.file` (or `flags` for flag-only targets).
        path: PathBuf,
        /// Where in the file, e.g. `targets[1].regions[0]`.
        field: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A target names a profile that the shared AWS config files do not define.
    #[error(
        "target {target:?}: AWS profile {profile:?} is not defined in the shared AWS config files ({files}); defined: {defined}. Add [profile {profile}] to ~/.aws/config (or [{profile}] to ~/.aws/credentials), or correct `profile` in --config.file"
    )]
    UnknownProfile {
        /// The target's name.
        target: String,
        /// The profile it names.
        profile: String,
        /// Where profiles were looked for.
        files: String,
        /// The profiles that are defined, or `none`.
        defined: String,
    },
    /// The shared AWS config files exist but cannot be read or parsed.
    #[error(
        "target {target:?} names AWS profile {profile:?}, but the shared AWS config files cannot be read: {message}"
    )]
    ProfileFiles {
        /// The target's name.
        target: String,
        /// The profile it names.
        profile: String,
        /// The reader's message.
        message: String,
    },
    /// No region was configured for a target and the AWS config chain has none.
    #[error(
        "no AWS region for target {target:?}: pass --aws.regions (e.g. --aws.regions=us-east-1), list regions for the target in --config.file, or set AWS_REGION"
    )]
    NoRegion {
        /// The target's name.
        target: String,
    },
}
