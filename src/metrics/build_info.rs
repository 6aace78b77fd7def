//! What the binary was built from: `--version` and
//! `pinpoint_email_exporter_build_info`.

/// Build information: `--version`, and the labels of
/// `pinpoint_email_exporter_build_info`.
#[derive(Debug, Clone, Default)]
pub struct BuildInfo {
    /// Crate version.
    pub version: String,
    /// Source revision (git commit), or `unknown`.
    pub revision: String,
    /// Git branch built (`HEAD` when detached), or `unknown`.
    pub branch: String,
    /// Build date, UTC, `YYYYMMDD-HH:MM:SS`.
    pub build_date: String,
    /// Version of the rustc that built it.
    pub rust_version: String,
}

impl BuildInfo {
    /// The build information of this binary, as `build.rs` found it: the git
    /// commit and branch it was built from (or `PINPOINT_EMAIL_EXPORTER_REVISION`
    /// and `..._BRANCH` given at build time), the build date (of
    /// `SOURCE_DATE_EPOCH` when given) and the rustc version.
    pub fn current() -> Self {
        BuildInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            revision: env!("PINPOINT_EMAIL_EXPORTER_REVISION").to_string(),
            branch: env!("PINPOINT_EMAIL_EXPORTER_BRANCH").to_string(),
            build_date: env!("PINPOINT_EMAIL_EXPORTER_BUILD_DATE").to_string(),
            rust_version: env!("PINPOINT_EMAIL_EXPORTER_RUSTC_VERSION").to_string(),
        }
    }

    /// What `--version` prints, in the layout of Prometheus projects.
    pub fn version_text(&self) -> String {
        format!(
            "pinpoint-email-exporter, version {} (branch: {}, revision: {})\n  build date:       {}\n  rustc version:    {}\n  platform:         {}/{}\n",
            self.version,
            self.branch,
            self.revision,
            self.build_date,
            self.rust_version,
            std::env::consts::OS,
            std::env::consts::ARCH,
        )
    }
}
