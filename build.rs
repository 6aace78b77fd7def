//! Records the source revision for `pinpoint_email_exporter_build_info` and the
//! start-up log: `PINPOINT_EMAIL_EXPORTER_REVISION` when set (the container build
//! passes it, having no `.git`), else the commit of the git checkout being built,
//! else `unknown`. `PINPOINT_EMAIL_EXPORTER_REVISION_SOURCE` says which (`env`,
//! `git` or `unknown`), for the test that checks it.

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
}

/// The checkout's commit, or `None` outside a checkout or without git.
fn git_revision() -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
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
