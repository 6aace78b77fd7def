//! Records what `--version`, `pinpoint_email_exporter_build_info` and the
//! start-up log say of the build:
//!
//! - the source revision: `PINPOINT_EMAIL_EXPORTER_REVISION` when set (the
//!   container build passes it, having no `.git`), else the commit of the git
//!   checkout being built, else `unknown`; `PINPOINT_EMAIL_EXPORTER_REVISION_SOURCE`
//!   says which (`env`, `git` or `unknown`), for the test that checks it;
//! - the branch: `PINPOINT_EMAIL_EXPORTER_BRANCH`, else the checkout's (`HEAD`
//!   when detached, as Prometheus projects show it), else `unknown`;
//! - the build date, UTC, as `YYYYMMDD-HH:MM:SS`: of `SOURCE_DATE_EPOCH` when
//!   set (reproducible builds), else now;
//! - the version of the rustc that builds it.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=PINPOINT_EMAIL_EXPORTER_REVISION");
    let from_env = std::env::var("PINPOINT_EMAIL_EXPORTER_REVISION")
        .ok()
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    let (revision, source) = match from_env {
        Some(r) => (r, "env"),
        None => match git_revision() {
            Some(r) => (r, "git"),
            None => ("unknown".to_string(), "unknown"),
        },
    };
    println!("cargo:rustc-env=PINPOINT_EMAIL_EXPORTER_REVISION={revision}");
    println!("cargo:rustc-env=PINPOINT_EMAIL_EXPORTER_REVISION_SOURCE={source}");

    println!("cargo:rerun-if-env-changed=PINPOINT_EMAIL_EXPORTER_BRANCH");
    let branch = std::env::var("PINPOINT_EMAIL_EXPORTER_BRANCH")
        .ok()
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
        .or_else(|| git(&["rev-parse", "--abbrev-ref", "HEAD"]))
        .filter(|b| !b.is_empty() && !b.contains(char::is_whitespace))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=PINPOINT_EMAIL_EXPORTER_BRANCH={branch}");

    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    println!(
        "cargo:rustc-env=PINPOINT_EMAIL_EXPORTER_BUILD_DATE={}",
        build_date(epoch)
    );

    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    // "rustc 1.95.0 (59807616e 2026-...)": the version is the second word.
    let rustc_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .nth(1)
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=PINPOINT_EMAIL_EXPORTER_RUSTC_VERSION={rustc_version}");
}

/// Runs git with `args`: its trimmed output, or `None` when it fails.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Unix time `epoch` (UTC) as `YYYYMMDD-HH:MM:SS`, as Prometheus projects
/// print their build date.
fn build_date(epoch: u64) -> String {
    let (days, secs) = (epoch / 86_400, epoch % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The checkout's commit, or `None` outside a checkout or without git.
fn git_revision() -> Option<String> {
    // Run again when HEAD moves, not on every build: the reflog of HEAD changes
    // with every commit, checkout and reset, whether refs are loose or packed.
    // (Only files that exist: cargo runs the script on every build for a missing one.)
    let watch = |file: &Path| {
        if file.exists() {
            println!("cargo:rerun-if-changed={}", file.display());
        }
    };
    let git_dir = git(&["rev-parse", "--absolute-git-dir"])?;
    let git_dir = Path::new(&git_dir);
    watch(&git_dir.join("HEAD"));
    watch(&git_dir.join("logs/HEAD"));
    if let Some(common) = git(&["rev-parse", "--git-common-dir"]) {
        let common = git_dir.join(common);
        watch(&common.join("packed-refs"));
        if let Some(head_ref) =
            git(&["rev-parse", "--symbolic-full-name", "HEAD"]).filter(|r| r.starts_with("refs/"))
        {
            watch(&common.join(head_ref));
        }
    }
    let revision = git(&["rev-parse", "HEAD"])?;
    // SHA-1 or SHA-256 object names.
    (matches!(revision.len(), 40 | 64) && revision.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(revision)
}
