//! Watching the web config file and the files it names for changes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{FileConfig, WebConfigError, WebState, load};

/// How often the [`Watcher`] looks at the web config file and the files it names.
pub const RECHECK_INTERVAL: Duration = Duration::from_secs(1);

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
#[derive(Debug)]
pub struct Watcher {
    path: Option<PathBuf>,
    current: RwLock<Arc<WebState>>,
    seen: Mutex<[u8; 32]>,
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
        })
    }

    /// The state to serve the next request or connection with.
    pub fn current(&self) -> Arc<WebState> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Re-reads the file if it or a file it names changed since the last look.
    /// An invalid new version is logged and the previous state kept. Returns
    /// whether a new state was taken.
    pub fn recheck(&self) -> bool {
        let Some(path) = &self.path else {
            return false;
        };
        let now = fingerprint(path);
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if *seen == now {
                return false;
            }
            *seen = now;
        }
        match load(path) {
            Ok(state) => {
                tracing::info!(file = %path.display(), settings = %state.summary(), "web config reloaded");
                for warning in &state.warnings {
                    tracing::warn!(file = %path.display(), warning = %warning, "web config");
                }
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(state);
                true
            }
            Err(err) => {
                tracing::error!(error = %err, "web config not reloaded; keeping the previous one");
                false
            }
        }
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
