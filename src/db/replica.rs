//! Read traffic on PostgreSQL streaming replicas (`DATABASE_REPLICA_URLS`),
//! writes on the primary, and no read older than what its reader must see.
//!
//! * One lazily connected pool per replica. A checker (every 200 ms) reads
//!   each replica's replay position (`pg_last_wal_replay_lsn()`) and the
//!   primary's WAL position; a replica that does not answer, was promoted,
//!   or is more than `GEOPORTAL_REPLICA_MAX_LAG_MS` behind gets no reads.
//! * A read goes round robin to a healthy replica that has replayed the
//!   read's *floor*, else to the primary. The floor is the highest of
//!   - the primary's LSN after the last write of the same actor (user or API
//!     key) through this instance: read-your-writes. The write middleware
//!     (`track`) records it after the handler has committed and sends it
//!     back as the `Geoportal-LSN` header;
//!   - a `Geoportal-Min-LSN` request header: a client that wrote through
//!     another instance sends back the `Geoportal-LSN` it got;
//!   - per table, the primary's LSN when this instance learnt of the
//!     table's last change (the triggers' `NOTIFY`, `src/tiles/notify.rs`);
//!     a read that names no table takes the highest of them.
//!
//!   A replica last seen below the floor is asked afresh once before the
//!   read falls back to the primary.
//! * A trigger cannot know its own commit LSN (the commit record comes after
//!   it), so the listener reads the primary's position when a notification
//!   arrives: after the commit, hence at or past it.
//! * While the change listener is not connected nothing is read from a
//!   replica (changes could go unseen); on (re)connect every floor is raised
//!   to the primary's position at that moment.
//! * A write through our API drops its tiles before its notification is in;
//!   its tables are read from the primary for two seconds (`pin`), so a tile
//!   rebuilt in between never comes from a replica that lacks the write.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

use crate::access::Viewer;
use crate::server::AppState;

/// Sent with every successful write when replicas are configured: the
/// primary's WAL position after the write.
pub const LSN_HEADER: HeaderName = HeaderName::from_static("geoportal-lsn");
/// Sent by a client: read nothing older than this WAL position.
pub const MIN_LSN_HEADER: HeaderName = HeaderName::from_static("geoportal-min-lsn");

const CHECK_EVERY: Duration = Duration::from_millis(200);
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);
/// Asking a replica afresh for one read: a slow replica is not worth more.
const ASK_TIMEOUT: Duration = Duration::from_millis(200);
/// Tables written through our API are read from the primary this long
/// (their change notification with its LSN arrives within milliseconds).
const PIN: Duration = Duration::from_secs(2);
/// Read-your-writes entries are forgotten after this long.
const ACTOR_TTL: Duration = Duration::from_secs(300);

tokio::task_local! {
    /// The `Geoportal-Min-LSN` of the request being handled.
    static REQUEST_FLOOR: u64;
}

/// `16/B374D848`, as PostgreSQL writes a `pg_lsn`.
pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

pub fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.trim().split_once('/')?;
    let hi = u32::from_str_radix(hi, 16).ok()?;
    let lo = u32::from_str_radix(lo, 16).ok()?;
    Some((u64::from(hi) << 32) | u64::from(lo))
}

struct Replica {
    /// host:port/database, for logs and metrics (never the password).
    name: String,
    pool: PgPool,
    healthy: AtomicBool,
    /// Replay position when last asked.
    replay: AtomicU64,
    lag_ms: AtomicU64,
}

struct Inner {
    primary: PgPool,
    replicas: Vec<Replica>,
    max_lag: Duration,
    next: AtomicUsize,
    /// Whether the change listener is connected (else: primary only).
    listening: AtomicBool,
    /// Floor of every read (raised when notifications may have been missed).
    global: AtomicU64,
    tables: Mutex<HashMap<String, u64>>,
    pinned: Mutex<HashMap<String, Instant>>,
    actors: Mutex<HashMap<String, (u64, Instant)>>,
    /// The primary's WAL position over the last seconds, to tell how far
    /// behind in time a replica's replay position is.
    samples: Mutex<VecDeque<(Instant, u64)>>,
    checker: OnceLock<()>,
    on_replica: AtomicU64,
    on_primary: AtomicU64,
}

/// The primary and its read replicas. Cheap to clone; every clone is the same.
#[derive(Clone)]
pub struct Replicas {
    inner: Arc<Inner>,
}

/// One replica as last checked.
#[derive(Debug, Clone)]
pub struct ReplicaStatus {
    pub name: String,
    pub healthy: bool,
    pub replay_lsn: u64,
    pub lag_ms: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl std::fmt::Debug for Replicas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replicas").field("replicas", &self.status()).finish()
    }
}

impl Replicas {
    /// Pools for `DATABASE_REPLICA_URLS` (connected on first use). A URL
    /// that does not parse is logged and left out (clap checks them at start).
    pub fn from_config(primary: PgPool, config: &crate::config::Config) -> Replicas {
        Replicas::new(
            primary,
            &config.database_replica_urls,
            Duration::from_millis(config.replica_max_lag_ms),
            config,
        )
    }

    /// Like the primary's request pool (`super::request_pool`): its size,
    /// acquire timeout and statement timeout.
    pub fn new(primary: PgPool, urls: &[String], max_lag: Duration, config: &crate::config::Config) -> Replicas {
        let replicas = urls
            .iter()
            .map(|u| u.trim())
            .filter(|u| !u.is_empty())
            .filter_map(|url| match url.parse::<PgConnectOptions>() {
                Ok(options) => {
                    let name = format!(
                        "{}:{}/{}",
                        options.get_host(),
                        options.get_port(),
                        options.get_database().unwrap_or("postgres")
                    );
                    let mut options = super::quiet(options.application_name("geoportal-replica"));
                    if config.statement_timeout_secs > 0 {
                        options =
                            options.options([("statement_timeout", format!("{}s", config.statement_timeout_secs))]);
                    }
                    let pool = sqlx::postgres::PgPoolOptions::new()
                        .max_connections(config.db_pool_size.max(1))
                        .acquire_timeout(Duration::from_millis(config.db_acquire_timeout_ms.max(1)))
                        .connect_lazy_with(options);
                    Some(Replica {
                        name,
                        pool,
                        healthy: AtomicBool::new(false),
                        replay: AtomicU64::new(0),
                        lag_ms: AtomicU64::new(0),
                    })
                }
                Err(e) => {
                    tracing::error!(error = %e, "a DATABASE_REPLICA_URLS entry is not a PostgreSQL URL; left out");
                    None
                }
            })
            .collect();
        Replicas {
            inner: Arc::new(Inner {
                primary,
                replicas,
                max_lag,
                next: AtomicUsize::new(0),
                listening: AtomicBool::new(false),
                global: AtomicU64::new(0),
                tables: Mutex::new(HashMap::new()),
                pinned: Mutex::new(HashMap::new()),
                actors: Mutex::new(HashMap::new()),
                samples: Mutex::new(VecDeque::new()),
                checker: OnceLock::new(),
                on_replica: AtomicU64::new(0),
                on_primary: AtomicU64::new(0),
            }),
        }
    }

    /// No replicas: every read goes to the primary.
    pub fn is_empty(&self) -> bool {
        self.inner.replicas.is_empty()
    }

    pub fn primary(&self) -> &PgPool {
        &self.inner.primary
    }

    /// Starts the health checker once; later calls do nothing. Needs a
    /// Tokio runtime.
    pub fn start(&self) {
        if self.is_empty() {
            return;
        }
        if self.inner.checker.set(()).is_ok() {
            tokio::spawn(check_loop(Arc::downgrade(&self.inner)));
        }
    }

    /// The pool for a read by `actor` (`Viewer::actor`) of `tables` (None:
    /// any table): a healthy replica that has replayed everything the read
    /// must see, else the primary.
    pub async fn read_pool(&self, actor: Option<&str>, tables: Option<&[&str]>) -> PgPool {
        let inner = &self.inner;
        if inner.replicas.is_empty() {
            return inner.primary.clone();
        }
        self.start();
        if let Some(floor) = self.floor(actor, tables)
            && let Some(pool) = self.replica_past(floor).await
        {
            inner.on_replica.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("geoportal_db_reads_total", "target" => "replica").increment(1);
            return pool;
        }
        inner.on_primary.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("geoportal_db_reads_total", "target" => "primary").increment(1);
        inner.primary.clone()
    }

    /// The WAL position a replica must have replayed for this read, or None
    /// when only the primary will do.
    fn floor(&self, actor: Option<&str>, tables: Option<&[&str]>) -> Option<u64> {
        let inner = &self.inner;
        if !inner.listening.load(Ordering::SeqCst) {
            return None;
        }
        let now = Instant::now();
        {
            let pinned = lock(&inner.pinned);
            let pinned_now = match tables {
                Some(ts) => ts.iter().any(|t| pinned.get(*t).is_some_and(|until| *until > now)),
                None => pinned.values().any(|until| *until > now),
            };
            if pinned_now {
                return None;
            }
        }
        let mut floor = inner.global.load(Ordering::SeqCst);
        floor = floor.max(REQUEST_FLOOR.try_with(|f| *f).unwrap_or(0));
        if let Some(actor) = actor
            && let Some((lsn, _)) = lock(&inner.actors).get(actor)
        {
            floor = floor.max(*lsn);
        }
        let known = lock(&inner.tables);
        let table_floor = match tables {
            Some(ts) => ts.iter().filter_map(|t| known.get(*t)).copied().max(),
            None => known.values().copied().max(),
        };
        Some(floor.max(table_floor.unwrap_or(0)))
    }

    /// A healthy replica known (or, asked now, found) to have replayed `floor`.
    async fn replica_past(&self, floor: u64) -> Option<PgPool> {
        let replicas = &self.inner.replicas;
        let n = replicas.len();
        let start = self.inner.next.fetch_add(1, Ordering::Relaxed) % n;
        let order = || {
            (0..n)
                .map(|i| &replicas[(start + i) % n])
                .filter(|r| r.healthy.load(Ordering::SeqCst))
        };
        if let Some(r) = order().find(|r| r.replay.load(Ordering::SeqCst) >= floor) {
            return Some(r.pool.clone());
        }
        for r in order() {
            if let Ok(Ok((true, Some(replay)))) = tokio::time::timeout(ASK_TIMEOUT, ask(&r.pool)).await {
                r.replay.fetch_max(replay, Ordering::SeqCst);
                if replay >= floor {
                    return Some(r.pool.clone());
                }
            }
        }
        None
    }

    /// The primary's WAL position now: at or past every commit so far.
    pub async fn primary_lsn(&self) -> Result<u64, sqlx::Error> {
        primary_lsn(&self.inner.primary).await
    }

    /// A write by `actor` committed at or before `lsn`.
    pub fn note_write(&self, actor: &str, lsn: u64) {
        let mut actors = lock(&self.inner.actors);
        let entry = actors.entry(actor.to_string()).or_insert((0, Instant::now()));
        *entry = (entry.0.max(lsn), Instant::now());
    }

    /// A change to `table` committed at or before `lsn`.
    pub fn note_change(&self, table: &str, lsn: u64) {
        let mut tables = lock(&self.inner.tables);
        let entry = tables.entry(table.to_string()).or_insert(0);
        *entry = (*entry).max(lsn);
    }

    /// Changes to any table may have committed up to `lsn` unseen.
    pub fn note_all(&self, lsn: u64) {
        self.inner.global.fetch_max(lsn, Ordering::SeqCst);
    }

    /// Reads `table` from the primary for a while: a change to it committed
    /// whose LSN is not known here yet.
    pub fn pin(&self, table: &str) {
        if self.is_empty() {
            return;
        }
        lock(&self.inner.pinned).insert(table.to_string(), Instant::now() + PIN);
    }

    /// Set by the change listener: replicas are read only while it listens.
    pub fn set_listening(&self, listening: bool) {
        self.inner.listening.store(listening, Ordering::SeqCst);
    }

    pub fn is_listening(&self) -> bool {
        self.inner.listening.load(Ordering::SeqCst)
    }

    /// The floor of reads of `table` (diagnostics and tests).
    pub fn table_floor(&self, table: &str) -> u64 {
        let table_floor = lock(&self.inner.tables).get(table).copied().unwrap_or(0);
        table_floor.max(self.inner.global.load(Ordering::SeqCst))
    }

    /// Reads sent to (replicas, the primary) so far.
    pub fn reads(&self) -> (u64, u64) {
        (
            self.inner.on_replica.load(Ordering::Relaxed),
            self.inner.on_primary.load(Ordering::Relaxed),
        )
    }

    pub fn status(&self) -> Vec<ReplicaStatus> {
        self.inner
            .replicas
            .iter()
            .map(|r| ReplicaStatus {
                name: r.name.clone(),
                healthy: r.healthy.load(Ordering::SeqCst),
                replay_lsn: r.replay.load(Ordering::SeqCst),
                lag_ms: r.lag_ms.load(Ordering::SeqCst),
            })
            .collect()
    }
}

async fn primary_lsn(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let lsn: i64 = sqlx::query_scalar(include_str!("sql/primary_lsn.sql"))
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(lsn).unwrap_or(0))
}

/// (still a replica, replay position).
async fn ask(pool: &PgPool) -> Result<(bool, Option<u64>), sqlx::Error> {
    let (recovering, lsn): (bool, Option<i64>) = sqlx::query_as(include_str!("sql/replay_lsn.sql"))
        .fetch_one(pool)
        .await?;
    Ok((recovering, lsn.and_then(|l| u64::try_from(l).ok())))
}

async fn check_loop(weak: Weak<Inner>) {
    let mut ticker = tokio::time::interval(CHECK_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(inner) = weak.upgrade() else {
            return;
        };
        check_once(&inner).await;
    }
}

async fn check_once(inner: &Inner) {
    let now = Instant::now();
    // A primary that does not answer adds no sample: the replicas are
    // judged against the last positions it gave.
    if let Ok(Ok(lsn)) = tokio::time::timeout(CHECK_TIMEOUT, primary_lsn(&inner.primary)).await {
        let mut samples = lock(&inner.samples);
        samples.push_back((now, lsn));
        let keep = inner.max_lag + Duration::from_secs(2);
        while samples.len() > 1 && samples.front().is_some_and(|(t, _)| now.duration_since(*t) > keep) {
            samples.pop_front();
        }
    }
    for r in &inner.replicas {
        let healthy = match tokio::time::timeout(CHECK_TIMEOUT, ask(&r.pool)).await {
            Ok(Ok((true, Some(replay)))) => {
                r.replay.store(replay, Ordering::SeqCst);
                let lag = staleness(&lock(&inner.samples), replay, now);
                r.lag_ms
                    .store(u64::try_from(lag.as_millis()).unwrap_or(u64::MAX), Ordering::SeqCst);
                metrics::gauge!("geoportal_replica_lag_seconds", "replica" => r.name.clone()).set(lag.as_secs_f64());
                lag <= inner.max_lag
            }
            Ok(Ok(_)) => {
                tracing::warn!(replica = %r.name, "not a replica in recovery (promoted?): no reads go to it");
                false
            }
            Ok(Err(e)) => {
                tracing::debug!(replica = %r.name, error = %e, "replica check failed");
                false
            }
            Err(_) => false,
        };
        metrics::gauge!("geoportal_replica_healthy", "replica" => r.name.clone()).set(if healthy { 1.0 } else { 0.0 });
        if r.healthy.swap(healthy, Ordering::SeqCst) != healthy {
            if healthy {
                tracing::info!(replica = %r.name, "replica takes reads");
            } else {
                tracing::warn!(replica = %r.name, lag_ms = r.lag_ms.load(Ordering::SeqCst), "replica down or lagging: reads go to the primary");
            }
        }
    }
    let lowest_replay = inner
        .replicas
        .iter()
        .map(|r| r.replay.load(Ordering::SeqCst))
        .min()
        .unwrap_or(0);
    lock(&inner.actors).retain(|_, (lsn, at)| *lsn > lowest_replay && now.duration_since(*at) < ACTOR_TTL);
    lock(&inner.pinned).retain(|_, until| *until > now);
}

/// How far behind in time a replica at `replay` is: the age of the newest
/// primary sample it has replayed past (every commit before that sample is
/// on the replica). None replayed: at least the oldest sample's age.
fn staleness(samples: &VecDeque<(Instant, u64)>, replay: u64, now: Instant) -> Duration {
    match samples.iter().rev().find(|(_, lsn)| *lsn <= replay) {
        Some((t, _)) => now.duration_since(*t),
        None => samples
            .front()
            .map_or(Duration::ZERO, |(t, _)| now.duration_since(*t) + CHECK_EVERY),
    }
}

/// Middleware: takes a request's `Geoportal-Min-LSN` into its reads, and
/// after a successful write records the primary's WAL position for the
/// writer (read-your-writes) and sends it as `Geoportal-LSN`. Does nothing
/// without replicas.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let replicas = state.replicas.clone();
    if replicas.is_empty() {
        return next.run(request).await;
    }
    let floor = request
        .headers()
        .get(&MIN_LSN_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_lsn)
        .unwrap_or(0);
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return REQUEST_FLOOR.scope(floor, next.run(request)).await;
    }
    // The handler reuses the viewer resolved here (request extensions); a
    // refusal is the handler's to answer.
    let (mut parts, body) = request.into_parts();
    let actor = Viewer::from_request_parts(&mut parts, &state)
        .await
        .ok()
        .and_then(|v| v.actor);
    let mut response = REQUEST_FLOOR
        .scope(floor, next.run(Request::from_parts(parts, body)))
        .await;
    if response.status().is_success() {
        match replicas.primary_lsn().await {
            Ok(lsn) => {
                if let Some(actor) = &actor {
                    replicas.note_write(actor, lsn);
                }
                if let Ok(v) = HeaderValue::from_str(&format_lsn(lsn)) {
                    response.headers_mut().insert(LSN_HEADER, v);
                }
            }
            Err(e) => {
                // Without the position the writer's next reads might come
                // from a replica that lacks the write: keep them on the
                // primary for a while.
                tracing::warn!(error = %e, "cannot read the primary's WAL position after a write");
                if let Some(actor) = &actor {
                    replicas.note_write(actor, u64::MAX);
                }
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_text_round_trips() {
        assert_eq!(parse_lsn("16/B374D848"), Some((0x16 << 32) | 0xB374_D848));
        assert_eq!(format_lsn((0x16 << 32) | 0xB374_D848), "16/B374D848");
        assert_eq!(parse_lsn("0/0"), Some(0));
        assert_eq!(parse_lsn(" 1/2 "), Some((1 << 32) | 2));
        for bad in ["", "16", "x/1", "1/", "/1", "1/2/3", "100000000/0"] {
            assert_eq!(parse_lsn(bad), None, "{bad}");
        }
    }

    #[test]
    fn staleness_is_the_age_of_the_newest_sample_replayed() {
        let now = Instant::now();
        let s: VecDeque<(Instant, u64)> = [
            (now - Duration::from_secs(3), 100),
            (now - Duration::from_secs(2), 200),
            (now - Duration::from_secs(1), 300),
        ]
        .into_iter()
        .collect();
        assert_eq!(staleness(&s, 300, now), Duration::from_secs(1));
        assert_eq!(staleness(&s, 250, now), Duration::from_secs(2));
        assert!(staleness(&s, 50, now) > Duration::from_secs(3));
        assert_eq!(staleness(&VecDeque::new(), 0, now), Duration::ZERO);
    }
}
