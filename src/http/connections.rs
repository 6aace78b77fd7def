//! The open connections: what each is doing, and which to close when every
//! slot is taken.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::oneshot;

/// What a connection is doing, for choosing which one to close when all slots
/// are taken.
#[derive(Debug)]
pub(super) struct Activity {
    /// A request is being answered.
    pub(super) busy: AtomicBool,
    /// Its last request passed authentication (any request, without basic
    /// auth).
    pub(super) trusted: AtomicBool,
    /// A request on it was refused by authentication.
    pub(super) refused: AtomicBool,
    /// When it last finished answering a request (or was accepted), in
    /// milliseconds since [`Connections::epoch`].
    pub(super) last_active_ms: AtomicU64,
}

impl Activity {
    pub(super) fn touch(&self, epoch: Instant) {
        self.last_active_ms
            .store(epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

/// Each open connection's activity and the sender that asks it to close.
pub(super) type OpenConnections = HashMap<u64, (Arc<Activity>, oneshot::Sender<()>)>;

/// The open connections and how to close each.
#[derive(Debug)]
pub(super) struct Connections {
    pub(super) epoch: Instant,
    pub(super) next_id: AtomicU64,
    pub(super) open: Mutex<OpenConnections>,
}

impl Connections {
    pub(super) fn new() -> Self {
        Connections {
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Registers a new connection: its id, its activity, and what resolves when
    /// it must close.
    pub(super) fn open(&self) -> (u64, Arc<Activity>, oneshot::Receiver<()>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity {
            busy: AtomicBool::new(false),
            trusted: AtomicBool::new(false),
            refused: AtomicBool::new(false),
            last_active_ms: AtomicU64::new(0),
        });
        activity.touch(self.epoch);
        let (tx, rx) = oneshot::channel();
        self.lock().insert(id, (Arc::clone(&activity), tx));
        (id, activity, rx)
    }

    /// Forgets a connection that ended.
    pub(super) fn close(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Asks a connection to close, the one idle the longest of the first of
    /// these that has one: connections that never passed authentication and
    /// were refused (whatever they do now: wait for a password check or their
    /// penalty); that never passed it and are not answering a request (a client
    /// that never finishes its headers); that passed it and are not answering
    /// a request (keep-alive between scrapes); that never passed it and are
    /// having their first password checked. A connection answering an
    /// authorised request is never closed. Returns whether there was one.
    pub(super) fn close_idlest(&self) -> bool {
        let mut open = self.lock();
        let idlest = open
            .iter()
            .filter_map(|(id, (a, _))| {
                let trusted = a.trusted.load(Ordering::Relaxed);
                let busy = a.busy.load(Ordering::Relaxed);
                let class = match (trusted, busy) {
                    (false, _) if a.refused.load(Ordering::Relaxed) => 0,
                    (false, false) => 1,
                    (true, false) => 2,
                    (false, true) => 3,
                    (true, true) => return None,
                };
                Some(((class, a.last_active_ms.load(Ordering::Relaxed)), *id))
            })
            .min()
            .map(|(_, id)| id);
        match idlest.and_then(|id| open.remove(&id)) {
            Some((_, close)) => {
                let _ = close.send(());
                true
            }
            None => false,
        }
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, OpenConnections> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}
