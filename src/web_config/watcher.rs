//! Watching the web config file and the files it names for changes.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use super::snapshot::Snapshot;
use super::{WebConfigError, WebState};

/// How often the [`WebConfig`] looks at the web config file and the files it names.
const RECHECK_INTERVAL: Duration = Duration::from_secs(1);

/// How long the file and the files it names must stay unchanged, from their
/// last change, before the change applies.
const SETTLE: Duration = Duration::from_secs(1);

/// What the looks so far have seen.
struct Looks {
    /// The stamp of the last look (it changes with every write).
    stamp: [u8; 32],
    /// When a look first saw that stamp: the files have not changed since.
    since: Instant,
    /// The content last applied or refused.
    decided: [u8; 32],
}

/// The current [`WebState`], re-read when the file or a file it names changes.
///
/// A change applies only once nothing has been written to the files for
/// [`SETTLE`] (so a file being written, or rewritten faster than that, is never
/// taken), is valid (an empty file is not), and keeps or tightens every
/// protection of what is served (see [`super::Guard`]). What is checked is what
/// is loaded: each look reads the files once. A refused change is logged as an
/// error and the previous state kept until the exporter is restarted or the
/// file fixed.
pub struct WebConfig {
    path: Option<PathBuf>,
    /// How often the files are looked at ([`RECHECK_INTERVAL`]).
    look_every: Duration,
    /// How long they must stand still before a change applies ([`SETTLE`]).
    settle: Duration,
    current: RwLock<Arc<WebState>>,
    looks: Mutex<Looks>,
    /// Held through each look, so that two looks (the watcher's and a
    /// SIGHUP's) never check and apply at once.
    looking: Mutex<()>,
    /// Told whether each change was applied.
    on_result: std::sync::OnceLock<Box<dyn Fn(bool) + Send + Sync>>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("path", &self.path)
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

impl WebConfig {
    /// Loads `path` (or serves plain HTTP without authentication when `None`).
    pub fn new(path: Option<PathBuf>) -> Result<Self, WebConfigError> {
        let (state, stamp, content) = match &path {
            None => (WebState::default(), [0; 32], [0; 32]),
            Some(p) => {
                let snapshot = Snapshot::read(p);
                (snapshot.parse()?, snapshot.stamp, snapshot.content)
            }
        };
        Ok(WebConfig {
            path,
            look_every: RECHECK_INTERVAL,
            settle: SETTLE,
            current: RwLock::new(Arc::new(state)),
            looks: Mutex::new(Looks {
                stamp,
                since: Instant::now(),
                decided: content,
            }),
            looking: Mutex::new(()),
            on_result: std::sync::OnceLock::new(),
        })
    }

    /// This web config looking at its files every `look_every` and applying
    /// a change once they stood still for `settle`, instead of
    /// [`RECHECK_INTERVAL`] and [`SETTLE`]: for tests, which need not wait
    /// seconds for a change.
    pub fn with_timing(mut self, look_every: Duration, settle: Duration) -> Self {
        self.look_every = look_every;
        self.settle = settle;
        self
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

    /// Looks at the files now: see [`WebConfig::recheck_at`].
    pub fn recheck(&self) -> bool {
        self.look(Instant::now)
    }

    /// Looks at the file and the files it names at `now`: a change that has
    /// stood still for [`SETTLE`] is checked and applied (see [`WebConfig`]); a
    /// refused one is logged as an error and the previous state kept. Returns
    /// whether a new state was taken.
    #[cfg(test)]
    fn recheck_at(&self, now: Instant) -> bool {
        self.look(|| now)
    }

    /// A look at the time `now` tells, read once no other look runs.
    fn look(&self, now: impl FnOnce() -> Instant) -> bool {
        let Some(path) = &self.path else {
            return false;
        };
        let _one_at_a_time = self.looking.lock().unwrap_or_else(|p| p.into_inner());
        let now = now();
        let snapshot = Snapshot::read(path);
        {
            let mut looks = self.looks.lock().unwrap_or_else(|p| p.into_inner());
            if looks.stamp != snapshot.stamp {
                looks.stamp = snapshot.stamp;
                looks.since = now;
                return false;
            }
            if looks.decided == snapshot.content
                || now.saturating_duration_since(looks.since) < self.settle
            {
                return false;
            }
            looks.decided = snapshot.content;
        }
        let refused = |why: String| {
            tracing::error!(file = %path.display(), error = %why, "web config not reloaded; keeping the previous one");
            self.report(false);
            false
        };
        if snapshot.is_blank() {
            return refused(
                "the file is empty; a web config file in use can only be changed, not emptied (restart the exporter to serve without it)".into(),
            );
        }
        let state = match snapshot.parse() {
            Ok(state) => state,
            Err(err) => return refused(err.message),
        };
        let loosened = self.current().guard.loosened_by(&state.guard);
        if !loosened.is_empty() {
            return refused(format!(
                "the new version {}, which a reload never does; restart the exporter to apply it",
                loosened.join("; ")
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

    /// Looks every [`RECHECK_INTERVAL`] (or the interval of
    /// [`WebConfig::with_timing`]) until the task is dropped.
    pub async fn watch(self: Arc<Self>) {
        if self.path.is_none() {
            return;
        }
        let mut tick = tokio::time::interval(self.look_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let me = Arc::clone(&self);
            // Reading files and building TLS state is blocking work; the clock
            // is read there, just before the files.
            let _ = tokio::task::spawn_blocking(move || me.recheck()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

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

    /// A watcher of `file`, the results it reported, and a clock: `look(s)`
    /// looks `s` seconds after the watcher started.
    struct Watched {
        watcher: WebConfig,
        results: Arc<Mutex<Vec<bool>>>,
        start: Instant,
    }

    impl Watched {
        fn new(file: &Path) -> Watched {
            let watcher = WebConfig::new(Some(file.to_path_buf())).unwrap();
            let results = Arc::new(Mutex::new(Vec::new()));
            let into = Arc::clone(&results);
            watcher.report_to(move |applied| into.lock().unwrap().push(applied));
            Watched {
                watcher,
                results,
                start: Instant::now(),
            }
        }

        fn look(&self, seconds: f64) -> bool {
            self.watcher
                .recheck_at(self.start + Duration::from_secs_f64(seconds))
        }

        fn results(&self) -> Vec<bool> {
            self.results.lock().unwrap().clone()
        }
    }

    /// Writes `text` in place, after long enough that the kernel's timestamp
    /// of the write differs from the previous one's (its clock ticks at least
    /// every 10 ms).
    fn write_in_place(file: &Path, text: &str) {
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(file, text).unwrap();
    }

    #[test]
    fn a_change_applies_once_it_has_stood_still_for_the_settle_time() {
        let dir = dir_with_certificate("settle");
        let file = dir.join("web.yml");
        std::fs::write(&file, format!("{TLS}{}", users("old"))).unwrap();
        let w = Watched::new(&file);
        assert!(!w.look(1.0), "nothing changed");
        write_in_place(&file, &format!("{TLS}{}", users("new")));
        assert!(!w.look(2.0), "seen: the settle time starts");
        assert!(!w.look(2.5), "unchanged for less than the settle time");
        assert!(w.look(3.0), "unchanged for the settle time: applied");
        assert!(!w.look(4.0), "applied once");
        assert_eq!(w.results(), [true]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A writer alternating between the file in force and a valid other one
    /// (one of two users removed) faster than the settle time: two looks a
    /// second apart may find the same text, but never the same file, so the
    /// other one never applies; once the writer stops, what it left applies.
    #[test]
    fn a_file_rewritten_faster_than_the_settle_time_never_applies() {
        let dir = dir_with_certificate("alternating");
        let file = dir.join("web.yml");
        let hash = |p: &str| bcrypt::hash(p, 4).unwrap();
        let both = format!(
            "{TLS}basic_auth_users:\n  prometheus: '{}'\n  other: '{}'\n",
            hash("a"),
            hash("b")
        );
        let one = format!("{TLS}basic_auth_users:\n  prometheus: '{}'\n", hash("a"));
        std::fs::write(&file, &both).unwrap();
        let w = Watched::new(&file);
        // Writes every 0.45 s, looks every second, for 15 s, ending on the
        // one-user file: in place, and
        // through a new file renamed over it (the old one kept, so that no
        // inode is reused).
        let mut next_look = 1.0;
        for step in 0..35 {
            let at = f64::from(step) * 0.45;
            while next_look <= at {
                assert!(!w.look(next_look), "applied at {next_look} s");
                next_look += 1.0;
            }
            let text = if step % 2 == 0 { &one } else { &both };
            if step < 17 {
                write_in_place(&file, text);
            } else {
                let new = dir.join(format!("web.yml.{step}"));
                std::fs::write(&new, text).unwrap();
                std::fs::hard_link(&file, dir.join(format!("web.yml.old.{step}"))).unwrap();
                std::fs::rename(&new, &file).unwrap();
            }
        }
        assert!(w.results().is_empty(), "{:?}", w.results());
        assert_eq!(w.watcher.current().users.len(), 2);
        // The writer stopped on the one-user file: it applies after the settle
        // time.
        assert!(!w.look(next_look));
        assert!(w.look(next_look + 1.0));
        assert_eq!(w.watcher.current().users.len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn emptying_or_weakening_the_file_is_refused_until_a_restart() {
        let dir = dir_with_certificate("weaken");
        let file = dir.join("web.yml");
        let good = format!("{TLS}{}", users("secret"));
        std::fs::write(&file, &good).unwrap();
        let w = Watched::new(&file);
        let mut at = 0.0;
        for (what, text) in [
            ("empty", String::new()),
            ("blank", "  \n".to_string()),
            ("TLS without users", TLS.to_string()),
            ("users without TLS", users("secret")),
            (
                "unparsable",
                "tls_server_config:\n  cert_file: [".to_string(),
            ),
            (
                "an impossible bcrypt cost",
                format!(
                    "{TLS}basic_auth_users:\n  prometheus: '$2y$99${}'\n",
                    &bcrypt::hash("x", 4).unwrap()[7..]
                ),
            ),
        ] {
            write_in_place(&file, &text);
            at += 1.0;
            assert!(!w.look(at), "{what}: settling");
            at += 1.0;
            assert!(!w.look(at), "{what}: refused");
            let current = w.watcher.current();
            assert!(current.tls.is_some(), "{what}: TLS kept");
            assert!(current.requires_auth(), "{what}: users kept");
        }
        assert_eq!(w.results(), [false; 6]);
        // Back to a good version: applied, and reported so.
        write_in_place(&file, &good);
        assert!(!w.look(at + 1.0));
        assert!(w.look(at + 2.0));
        assert_eq!(w.results().last(), Some(&true));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn loosening_client_certificates_is_refused_and_tightening_applies() {
        let dir = dir_with_certificate("mtls");
        let file = dir.join("web.yml");
        std::fs::copy(dir.join("server.pem"), dir.join("ca.pem")).unwrap();
        let mtls = |auth: &str, ca: bool, sans: Option<&str>| {
            let mut text = format!("{TLS}  client_auth_type: {auth}\n");
            if ca {
                text.push_str("  client_ca_file: ca.pem\n");
            }
            if let Some(sans) = sans {
                text.push_str(&format!("  client_allowed_sans: [{sans}]\n"));
            }
            text.push_str("  min_version: TLS12\n");
            text
        };
        let strict = mtls("RequireAndVerifyClientCert", true, Some("scraper.example"));
        std::fs::write(&file, &strict).unwrap();
        let w = Watched::new(&file);
        let mut at = 0.0;
        // Writes `text` to `name` in the directory, then looks twice, the
        // settle time apart: whether the second look applied a change.
        let mut look_twice = |name: &str, text: &str| {
            write_in_place(&dir.join(name), text);
            at += 1.0;
            assert!(!w.look(at));
            at += 1.0;
            w.look(at)
        };
        let sans = Some("scraper.example");
        for (what, text) in [
            ("no client certificate", TLS.to_string()),
            (
                "RequireAnyClientCert",
                mtls("RequireAnyClientCert", true, sans),
            ),
            ("RequireClientCert", mtls("RequireClientCert", true, sans)),
            (
                "VerifyClientCertIfGiven",
                mtls("VerifyClientCertIfGiven", true, None),
            ),
            (
                "without client_allowed_sans",
                mtls("RequireAndVerifyClientCert", true, None),
            ),
            (
                "cut before client_allowed_sans",
                strict[..strict.find("  client_allowed_sans").unwrap()].to_string(),
            ),
            (
                "another allowed name",
                mtls(
                    "RequireAndVerifyClientCert",
                    true,
                    Some("scraper.example, intruder.example"),
                ),
            ),
            (
                "the system's CAs",
                mtls("RequireAndVerifyClientCert", false, sans),
            ),
        ] {
            assert!(!look_twice("web.yml", &text), "{what}: applied");
            let guard = &w.watcher.current().guard;
            assert_eq!(
                guard.client_auth_type, "RequireAndVerifyClientCert",
                "{what}"
            );
            assert!(guard.own_client_cas, "{what}");
            assert_eq!(
                guard.allowed_sans,
                Some(["scraper.example".to_string()].into()),
                "{what}"
            );
        }
        assert_eq!(w.results(), [false; 8]);
        // Back to the strict file; then a CA rotation (the CA file's content
        // changes) and a tighter list of names apply.
        assert!(look_twice("web.yml", &strict));
        let other_ca = dir_with_certificate("mtls-other-ca");
        let rotated = std::fs::read_to_string(other_ca.join("server.pem")).unwrap();
        assert!(look_twice("ca.pem", &rotated));
        assert!(look_twice(
            "web.yml",
            &mtls("RequireAndVerifyClientCert", true, Some(""))
        ));
        assert_eq!(
            w.watcher.current().guard.allowed_sans,
            Some(Default::default())
        );
        assert_eq!(w.results()[8..], [true, true, true]);
        let _ = std::fs::remove_dir_all(&other_ca);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
