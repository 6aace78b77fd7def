//! Prometheus exporter for the sending status of Amazon Pinpoint Email / SES accounts.
//!
//! # Layout
//!
//! Layers that only point down: each module imports (outside its tests) only
//! modules listed before it here, in [`LAYERS`]'s order, which a unit test
//! checks against the `crate::` paths of every file.
//!
//! - `target`: what to poll: a target's name, regions, credentials and API,
//!   and the (target, region) `target::Key` of every series.
//! - `parse`: durations, region codes, YAML error messages without values.
//! - `error`: the poll error type and its `reason` label.
//! - `schedule`: each collector's poll settings, the spread of a fleet's
//!   first calls, the source of jitter.
//! - `state`: the last listing of each discovery, kept in `--state.directory`
//!   across restarts.
//! - `aws`: the AWS configuration of a target (credentials, timeouts, no SDK
//!   retries), the shared HTTPS client, and how SDK errors map to stable error
//!   reasons.
//! - `metrics`: the store the pollers write and the `/metrics` exposition that
//!   reads it, one section per collector; the exporter's own metrics live in a
//!   separate registry.
//! - `poller`: one background task per (collector, target, region): the
//!   fixed-rate schedule, the jittered exponential backoff, and logging once per
//!   change of error.
//! - `collector`: the AWS calls, one module each, registered in
//!   `collector::KINDS`; `collector::account` is `GetAccount`.
//! - `config`: command-line flags and the YAML targets file, validated once into a
//!   typed `config::Config` (the collectors' flags and keys from their
//!   registry), named profiles and default regions; every problem is a
//!   `config::ConfigError` (exit code 2).
//! - `discovery`: the accounts of an AWS Organization, listed on a schedule.
//! - `listen`: the sockets: addresses bound, or systemd's.
//! - `web_config`: the exporter-toolkit web config file (TLS, users, headers, rate limit),
//!   validated, watched for changes, and the basic auth checks.
//! - `http`: the hyper listener, TLS, basic auth, routes, connection limits and
//!   graceful shutdown.
//! - `demo` (feature `demo`, on by default): `--demo`, the exporter against an
//!   in-process simulator of the AWS API, from the `pinpoint-email-simulator`
//!   crate (`crates/pinpoint-email-simulator`), which depends on nothing here.
//! - `app`: wires the pieces together and applies reloads of the targets file;
//!   `main.rs` only parses flags, turns signals into events and calls it.

mod app;
mod aws;
pub mod collector;
mod config;
#[cfg(feature = "demo")]
pub mod demo;
mod discovery;
mod error;
mod http;
mod listen;
mod metrics;
mod parse;
mod poller;
mod schedule;
mod state;
mod target;
mod web_config;

// What the binary, the fuzz targets, the examples and the tests use.
pub use app::{cost_of, describe, discover_once, keys, owned_targets, poller_count, run};
pub use aws::{default_loader, static_loader};
pub use config::{
    Cli, Config, LogFormat, LogLevel, TargetDefaults, TargetsFile, parse_targets,
    resolve_discovery_regions, resolve_regions,
};
pub use error::PollError;
pub use http::{MAX_HEADER_BYTES, MAX_HEADER_FIELDS};
pub use listen::{bind_all, systemd_sockets};
pub use metrics::{BuildInfo, Format, Store, unix_now};
pub use parse::validate_region;
pub use schedule::Jitter;
pub use target::{Api, Credentials, Discovery, Key, Member, Shard, Target};
pub use web_config::{WebConfig, parse as parse_web_config};

/// The modules from the bottom up: each may import only those before it.
#[cfg(test)]
const LAYERS: [&str; 16] = [
    "target",
    "parse",
    "error",
    "schedule",
    "state",
    "aws",
    "metrics",
    "poller",
    "collector",
    "config",
    "discovery",
    "listen",
    "web_config",
    "http",
    "demo",
    "app",
];

/// Reading the crate's own source files, for tests that check its layout.
#[cfg(test)]
mod source_files {
    use std::path::{Path, PathBuf};

    /// Every `.rs` file under `src/` but test modules (`tests.rs`), with its
    /// path relative to `src/`.
    pub fn all() -> Vec<(PathBuf, String)> {
        under(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
    }

    /// Every `.rs` file under `dir` but test modules, with its path relative
    /// to `dir`.
    pub fn under(src: &Path) -> Vec<(PathBuf, String)> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("tests.rs")
                {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(src, &mut files);
        files.sort();
        files
            .into_iter()
            .map(|f| {
                let text = std::fs::read_to_string(&f).unwrap();
                (f.strip_prefix(src).unwrap().to_path_buf(), text)
            })
            .collect()
    }

    /// The code of a file outside its tests (what follows its first
    /// `#[cfg(test)]`) and comments.
    pub fn code(text: &str) -> String {
        text.split("#[cfg(test)]")
            .next()
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod layers {
    use super::LAYERS;
    use std::collections::BTreeSet;

    /// The modules of the crate named in `text` by `crate::NAME` paths.
    fn imports(text: &str) -> BTreeSet<String> {
        text.match_indices("crate::")
            .map(|(at, _)| {
                text[at + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .filter(|name| !name.is_empty())
            .collect()
    }

    /// Every edge between modules, outside tests, points down [`LAYERS`], and
    /// every module is in it.
    #[test]
    fn modules_import_only_the_layers_below_them() {
        let rank = |name: &str| LAYERS.iter().position(|l| *l == name);
        let mut climbing = Vec::new();
        let mut modules = BTreeSet::new();
        for (relative, text) in super::source_files::all() {
            let first = relative.components().next().unwrap().as_os_str();
            let module = first.to_str().unwrap().trim_end_matches(".rs").to_string();
            if module == "lib" || module == "main" {
                continue;
            }
            modules.insert(module.clone());
            let Some(own) = rank(&module) else {
                continue;
            };
            // What tests import does not count: they may build on anything.
            for import in imports(&super::source_files::code(&text)) {
                if import == module {
                    continue;
                }
                match rank(&import) {
                    Some(other) if other < own => {}
                    _ => climbing.push(format!("{} imports crate::{import}", relative.display())),
                }
            }
        }
        let unlisted: Vec<&String> = modules.iter().filter(|m| rank(m).is_none()).collect();
        assert!(
            unlisted.is_empty(),
            "modules missing from LAYERS: {unlisted:?}"
        );
        assert!(
            climbing.is_empty(),
            "edges that climb (each module may import only those before it in LAYERS):\n{}",
            climbing.join("\n")
        );
        assert_eq!(
            modules.len(),
            LAYERS.len(),
            "LAYERS names a module that is gone"
        );
    }
}

#[cfg(test)]
mod sizes {
    use std::path::Path;

    /// The most lines of a source file, and of a function.
    const MAX_FILE_LINES: usize = 500;
    const MAX_FN_LINES: usize = 80;

    /// Each function of `text` outside its tests (as rustfmt lays it out:
    /// the body closes at the indentation of `fn`), with its line count.
    fn functions(text: &str) -> Vec<(String, usize)> {
        let lines: Vec<&str> = text.lines().collect();
        let end = lines
            .iter()
            .position(|l| l.trim() == "#[cfg(test)]")
            .unwrap_or(lines.len());
        let mut out = Vec::new();
        for (i, line) in lines[..end].iter().enumerate() {
            let trimmed = line.trim_start();
            let signature = trimmed
                .trim_start_matches("pub(crate) ")
                .trim_start_matches("pub(super) ")
                .trim_start_matches("pub ")
                .trim_start_matches("const ")
                .trim_start_matches("async ");
            let Some(rest) = signature.strip_prefix("fn ") else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            // A declaration without a body ends with `;` before any `{`.
            let opens = lines[i..end]
                .iter()
                .position(|l| l.trim_end().ends_with('{') || l.trim_end().ends_with(';'));
            let Some(opens) = opens.filter(|o| lines[i + o].trim_end().ends_with('{')) else {
                continue;
            };
            let indent = &line[..line.len() - trimmed.len()];
            let close = format!("{indent}}}");
            if let Some(length) = lines[i + opens..]
                .iter()
                .position(|l| l.trim_end() == close)
            {
                out.push((name, opens + length + 1));
            }
        }
        out
    }

    /// No source file of `src/` and `crates/` has over 500 lines, and no
    /// function over 80 (test modules, in `tests.rs` files, aside).
    #[test]
    fn no_file_over_500_lines_and_no_function_over_80() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = super::source_files::under(&root.join("src"));
        for entry in std::fs::read_dir(root.join("crates")).unwrap() {
            let src = entry.unwrap().path().join("src");
            files.extend(
                super::source_files::under(&src)
                    .into_iter()
                    .map(|(f, t)| (src.join(f), t)),
            );
        }
        assert!(files.len() > 40, "{} files", files.len());
        let mut over = Vec::new();
        for (file, text) in &files {
            let lines = text.lines().count();
            if lines > MAX_FILE_LINES {
                over.push(format!("{}: {lines} lines", file.display()));
            }
            for (name, length) in functions(text) {
                if length > MAX_FN_LINES {
                    over.push(format!("{}: fn {name}: {length} lines", file.display()));
                }
            }
        }
        assert!(over.is_empty(), "too long:\n{}", over.join("\n"));
        let sample =
            "fn a() {\n    x;\n}\n\nfn b(\n    y: u8,\n) -> u8 {\n    y\n}\n    fn c(&self);\n";
        assert_eq!(
            functions(sample),
            [("a".to_string(), 3), ("b".to_string(), 5)]
        );
    }
}
