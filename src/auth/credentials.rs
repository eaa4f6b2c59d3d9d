//! Resolved credentials (session token or API key → `Viewer`), cached for a
//! short while so tile and feature requests do not each query the sessions
//! table — and never served after a revocation anywhere.
//!
//! A sign-out, a revoked key, a disabled user or changed roles, made on this
//! instance, on another one or in psql, fire the triggers of migration 0130
//! on `geoportal_credentials`; every instance listening drops its whole
//! cache on each notification. Nothing is cached while the listener is not
//! connected (no change can be missed), and a lookup that started before a
//! drop is not stored after it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use sqlx::PgPool;

use crate::access::Viewer;

pub const CHANNEL: &str = "geoportal_credentials";

/// How long a resolved credential is trusted without a notification: the
/// bound on staleness if the listener is connected but a notification is
/// somehow lost.
const TTL: Duration = Duration::from_secs(30);

pub struct Credentials {
    cache: moka::sync::Cache<Vec<u8>, Viewer>,
    /// Bumped by every drop; a lookup stores its answer only if unchanged.
    generation: AtomicU64,
    /// Orders "check the generation, insert" against "bump, drop all".
    guard: Mutex<()>,
    live: AtomicBool,
    listener: OnceLock<()>,
}

/// The generation when a lookup started.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl Credentials {
    pub fn new() -> Arc<Credentials> {
        Arc::new(Credentials {
            cache: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(TTL)
                .build(),
            generation: AtomicU64::new(0),
            guard: Mutex::new(()),
            live: AtomicBool::new(false),
            listener: OnceLock::new(),
        })
    }

    pub fn get(&self, digest: &[u8]) -> Option<Viewer> {
        self.cache.get(digest)
    }

    /// Taken before reading the database for a credential.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.generation.load(Ordering::SeqCst))
    }

    /// Stores what a lookup found, unless the cache was dropped since its
    /// ticket or nobody is listening for revocations.
    pub fn store(&self, digest: Vec<u8>, viewer: Viewer, ticket: Ticket) {
        let _g = self.guard.lock().unwrap_or_else(|e| e.into_inner());
        if self.live.load(Ordering::SeqCst) && self.generation.load(Ordering::SeqCst) == ticket.0 {
            self.cache.insert(digest, viewer);
        }
    }

    /// Forgets every resolved credential.
    pub fn forget(&self) {
        let _g = self.guard.lock().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate_all();
    }

    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::SeqCst)
    }

    fn set_live(&self, live: bool) {
        // Whatever happened while not listening is unknown: start empty.
        self.forget();
        self.live.store(live, Ordering::SeqCst);
    }

    /// Starts the listener once (needs a Tokio runtime; without one nothing
    /// is ever cached).
    pub fn start_listener(self: &Arc<Self>, pool: &PgPool) {
        if tokio::runtime::Handle::try_current().is_err() || self.listener.set(()).is_err() {
            return;
        }
        crate::db::follow::spawn(pool.clone(), CHANNEL, Revocations(Arc::downgrade(self)));
    }
}

/// Every notification drops every cached credential; nothing is cached
/// while not listening.
struct Revocations(Weak<Credentials>);

impl crate::db::follow::Follower for Revocations {
    const WHAT: &'static str = "credential changes";

    async fn caught_up(&mut self) -> Result<bool, String> {
        Ok(self.0.upgrade().map(|c| c.set_live(true)).is_some())
    }

    async fn notified(&mut self, _payloads: Vec<String>) -> Result<bool, String> {
        Ok(self.0.upgrade().map(|c| c.forget()).is_some())
    }

    fn lost(&mut self) {
        if let Some(c) = self.0.upgrade() {
            c.set_live(false);
        }
    }
}
