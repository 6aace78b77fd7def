//! Watching the web config file and the files it names for changes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{FileConfig, WebConfigError, WebState, load};

/// How often the [`Watcher`] looks at the web config file and the files it names.
pub const RECHECK_INTERVAL: Duration = Duration::from_secs(1);

/// How `new` would weaken what `old` serves, if it would.
fn weakens(old: &WebState, new: &WebState) -> Option<&'static str> {
    if old.tls.is_some() && new.tls.is_none() {
        Some("drops TLS (the port would serve plain HTTP)")
    } else if old.requires_auth() && !new.requires_auth() {
        Some("removes every basic auth user (every client would get in)")
    } else if old.client_certificate_required && !new.client_certificate_required {
        Some("stops requiring client certificates")
    } else {
        None
    }
}

/// What the file and the files it names contain, to notice changes.
fn fingerprint(path: &Path) -> [u8; 32] {
    let mut hash = Sha256::new();
    let text = std::fs::read(path).unwrap_or_default();
    hash.update((text.len() as u64).to_le_bytes());
    hash.update(&text);
    if let Ok(Some(file)) = serde_yaml_ng::from_slice::<Option<FileConfig>>(&text) {
        let dir = path.parent().unwrap_or(Path::new("."));
        if let Some(tls) = file.tls_server_config {
            for f in [tls.cert_file, tls.key_file, tls.client_ca_file]
                .into_iter()
                .flatten()
            {
                let content = std::fs::read(dir.join(f)).unwrap_or_default();
                hash.update((content.len() as u64).to_le_bytes());
                hash.update(&content);
            }
        }
    }
    hash.finalize().into()
}

/// The current [`WebState`], re-read when the file or a file it names changes.
///
/// A change is applied only when it holds still (the same content at two looks
/// in a row, a [`RECHECK_INTERVAL`] apart, so a file being written is not read
/// half-way), is valid (an empty file is not), and does not weaken what is
/// served: a running exporter never drops TLS, every basic auth user or a
/// required client certificate. Such a change is refused with an error log
/// until the exporter is restarted.
pub struct Watcher {
    path: Option<PathBuf>,
    current: RwLock<Arc<WebState>>,
    seen: Mutex<[u8; 32]>,
    /// A new content seen once, applied if the next look finds it again.
    settling: Mutex<Option<[u8; 32]>>,
    /// Told whether each change was applied.
    on_result: std::sync::OnceLock<Box<dyn Fn(bool) + Send + Sync>>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("path", &self.path)
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

impl Watcher {
    /// Loads `path` (or serves plain HTTP without authentication when `None`).
    pub fn new(path: Option<PathBuf>) -> Result<Self, WebConfigError> {
        let (state, seen) = match &path {
            None => (WebState::default(), [0; 32]),
            Some(p) => {
                let seen = fingerprint(p);
                (load(p)?, seen)
            }
        };
        Ok(Watcher {
            path,
            current: RwLock::new(Arc::new(state)),
            seen: Mutex::new(seen),
            settling: Mutex::new(None),
            on_result: std::sync::OnceLock::new(),
        })
    }

    /// Calls `report` with whether each change of the file was applied (for
    /// the `..._web_config_last_reload_successful` gauge). Set once.
    pub fn report_to(&self, report: impl Fn(bool) + Send + Sync + 'static) {
        let _ = self.on_result.set(Box::new(report));
    }

    fn report(&self, applied: bool) {
        if let Some(report) = self.on_result.get() {
            report(applied);
        }
    }

    /// The state to serve the next request or connection with.
    pub fn current(&self) -> Arc<WebState> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Looks at the file and the files it names: a change seen at the previous
    /// look too is read, checked and applied (see [`Watcher`]); a refused one
    /// is logged as an error and the previous state kept. Returns whether a new
    /// state was taken.
    pub fn recheck(&self) -> bool {
        let Some(path) = &self.path else {
            return false;
        };
        let now = fingerprint(path);
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            let mut settling = self.settling.lock().unwrap_or_else(|p| p.into_inner());
            if *seen == now {
                *settling = None;
                return false;
            }
            if *settling != Some(now) {
                *settling = Some(now);
                return false;
            }
            *settling = None;
            *seen = now;
        }
        let refused = |why: String| {
            tracing::error!(file = %path.display(), error = %why, "web config not reloaded; keeping the previous one");
            self.report(false);
            false
        };
        let blank = std::fs::read_to_string(path).is_ok_and(|t| t.trim().is_empty());
        if blank {
            return refused(
                "the file is empty; a web config file in use can only be changed, not emptied (restart the exporter to serve without it)".into(),
            );
        }
        let state = match load(path) {
            Ok(state) => state,
            Err(err) => return refused(err.to_string()),
        };
        if let Some(weaker) = weakens(&self.current(), &state) {
            return refused(format!(
                "the new version {weaker}, which a running exporter never does; restart the exporter to apply it"
            ));
        }
        tracing::info!(file = %path.display(), settings = %state.summary(), "web config reloaded");
        for warning in &state.warnings {
            tracing::warn!(file = %path.display(), warning = %warning, "web config");
        }
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(state);
        self.report(true);
        true
    }

    /// Rechecks every [`RECHECK_INTERVAL`] until the task is dropped.
    pub async fn watch(self: Arc<Self>) {
        if self.path.is_none() {
            return;
        }
        let mut tick = tokio::time::interval(RECHECK_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let me = Arc::clone(&self);
            // Reading files and building TLS state is blocking work.
            let _ = tokio::task::spawn_blocking(move || me.recheck()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory with a self-signed server certificate and key.
    fn dir_with_certificate(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "pinpoint-email-exporter-watcher-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.join("server.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
        dir
    }

    const TLS: &str = "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n";

    fn users(password: &str) -> String {
        format!(
            "basic_auth_users:\n  prometheus: '{}'\n",
            bcrypt::hash(password, 4).unwrap()
        )
    }

    /// A watcher of `file` reporting each result into the returned list.
    fn watch(file: &Path) -> (Watcher, Arc<Mutex<Vec<bool>>>) {
        let watcher = Watcher::new(Some(file.to_path_buf())).unwrap();
        let results = Arc::new(Mutex::new(Vec::new()));
        let into = Arc::clone(&results);
        watcher.report_to(move |applied| into.lock().unwrap().push(applied));
        (watcher, results)
    }

    #[test]
    fn a_change_applies_once_it_holds_still() {
        let dir = dir_with_certificate("settle");
        let file = dir.join("web.yml");
        std::fs::write(&file, format!("{TLS}{}", users("old"))).unwrap();
        let (watcher, results) = watch(&file);
        assert!(!watcher.recheck(), "nothing changed");
        std::fs::write(&file, format!("{TLS}{}", users("new"))).unwrap();
        assert!(!watcher.recheck(), "seen once: not applied yet");
        assert!(watcher.recheck(), "the same at the next look: applied");
        assert!(!watcher.recheck(), "applied once");
        assert_eq!(*results.lock().unwrap(), [true]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn emptying_or_weakening_the_file_is_refused_until_a_restart() {
        let dir = dir_with_certificate("weaken");
        let file = dir.join("web.yml");
        let good = format!("{TLS}{}", users("secret"));
        std::fs::write(&file, &good).unwrap();
        let (watcher, results) = watch(&file);
        for (what, text) in [
            ("empty", String::new()),
            ("blank", "  \n".to_string()),
            ("TLS without users", TLS.to_string()),
            ("users without TLS", users("secret")),
            (
                "unparsable",
                "tls_server_config:\n  cert_file: [".to_string(),
            ),
        ] {
            std::fs::write(&file, &text).unwrap();
            assert!(!watcher.recheck(), "{what}: settling");
            assert!(!watcher.recheck(), "{what}: refused");
            let current = watcher.current();
            assert!(current.tls.is_some(), "{what}: TLS kept");
            assert!(current.requires_auth(), "{what}: users kept");
        }
        assert_eq!(*results.lock().unwrap(), [false; 5]);
        // Back to a good version: applied, and reported so.
        std::fs::write(&file, &good).unwrap();
        assert!(!watcher.recheck());
        assert!(watcher.recheck());
        assert_eq!(results.lock().unwrap().last(), Some(&true));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn dropping_a_required_client_certificate_is_refused() {
        let dir = dir_with_certificate("mtls");
        let file = dir.join("web.yml");
        std::fs::copy(dir.join("server.pem"), dir.join("ca.pem")).unwrap();
        let mtls = format!(
            "{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n"
        );
        std::fs::write(&file, &mtls).unwrap();
        let (watcher, results) = watch(&file);
        assert!(watcher.current().client_certificate_required);
        std::fs::write(&file, TLS).unwrap();
        assert!(!watcher.recheck());
        assert!(!watcher.recheck());
        assert!(watcher.current().client_certificate_required);
        assert_eq!(*results.lock().unwrap(), [false]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
