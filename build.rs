//! Records the source revision for `pinpoint_email_exporter_build_info` and the
//! start-up log: `PINPOINT_EMAIL_EXPORTER_REVISION` when set (the container build
//! passes it, having no `.git`), else the commit of the git checkout being built,
//! else `unknown`.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=PINPOINT_EMAIL_EXPORTER_REVISION");
    let revision = std::env::var("PINPOINT_EMAIL_EXPORTER_REVISION")
        .ok()
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .or_else(git_revision)
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=PINPOINT_EMAIL_EXPORTER_REVISION={revision}");
}

/// The checkout's commit, or `None` outside a checkout or without git.
fn git_revision() -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    // Run again when HEAD moves (a commit, a checkout), not on every build.
    let git_dir = git(&["rev-parse", "--absolute-git-dir"])?;
    // (Only files that exist: cargo runs the script on every build for a missing one.)
    let watch = |file: String| {
        if std::path::Path::new(&file).exists() {
            println!("cargo:rerun-if-changed={file}");
        }
    };
    watch(format!("{git_dir}/HEAD"));
    watch(format!("{git_dir}/packed-refs"));
    if let Some(head_ref) =
        git(&["rev-parse", "--symbolic-full-name", "HEAD"]).filter(|r| r.starts_with("refs/"))
    {
        watch(format!("{git_dir}/{head_ref}"));
    }
    let revision = git(&["rev-parse", "HEAD"])?;
    (revision.len() == 40 && revision.bytes().all(|b| b.is_ascii_hexdigit())).then_some(revision)
}
