//! Background warmer: after the data change, recomputes the answers of the
//! analyses marked `warm = true` (their default parameters, and each value
//! of an `enum` parameter) into the result cache, so that the first caller
//! after a change does not pay the cold cost (`appeals_hotspots` at scale
//! 10 takes seconds).
//!
//! It polls the data version (`analytics_data_versions`, migration 0080; no
//! NOTIFY channel covers every table) every [`POLL`]; a version is warmed
//! once it has been seen unchanged on two polls in a row (a burst of edits
//! is warmed once, at its end) and at most once per [`MIN_GAP`]. Analyses
//! run one at a time, through the same path as requests (`run::rows`),
//! and only when the data are still at the settled version, so the cache's
//! guarantee holds: an entry is only ever served for its own version.
//! One warmer per process and database; it stops when the pool closes.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::run::{self, Outcome};
use crate::access::Viewer;
use crate::server::AppState;

/// How often the data version is read.
const POLL: Duration = Duration::from_secs(2);

/// Shortest time between two warm passes.
const MIN_GAP: Duration = Duration::from_secs(10);

/// Most parameter combinations warmed per analysis (product of its enums).
const MAX_COMBINATIONS: usize = 16;

/// Databases with a running warmer, and the last version each warmed.
fn running() -> &'static Mutex<HashSet<String>> {
    static RUNNING: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    RUNNING.get_or_init(Default::default)
}

fn warmed_versions() -> &'static Mutex<HashMap<String, i64>> {
    static WARMED: OnceLock<Mutex<HashMap<String, i64>>> = OnceLock::new();
    WARMED.get_or_init(Default::default)
}

/// The data version the warmer of `database` (its name) last finished
/// warming, if any.
pub fn warmed(database: &str) -> Option<i64> {
    warmed_versions()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(database)
        .copied()
}

/// Frees the database's slot when the warmer ends (pool closed, or its
/// runtime shut down, as at the end of each test).
struct Slot(String);

impl Drop for Slot {
    fn drop(&mut self) {
        running().lock().unwrap_or_else(|e| e.into_inner()).remove(&self.0);
    }
}

/// Starts the warmer of `state`'s database unless one runs (or there is no
/// Tokio runtime to run it on).
pub fn start(state: &AppState) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        tracing::debug!("no async runtime: analytics warmer not started");
        return;
    };
    let opts = state.pool.connect_options();
    let database = opts.get_database().unwrap_or_default().to_string();
    let slot = format!(
        "{}:{}/{database}",
        opts.get_socket()
            .map_or_else(|| opts.get_host().to_string(), |s| s.display().to_string()),
        opts.get_port()
    );
    if !running().lock().unwrap_or_else(|e| e.into_inner()).insert(slot.clone()) {
        return;
    }
    let slot = Slot(slot);
    let state = state.clone();
    handle.spawn(async move {
        let _slot = slot;
        watch(state, database).await;
    });
}

async fn version(pool: &sqlx::PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT coalesce(sum(version), 0)::bigint FROM analytics_data_versions")
        .fetch_one(pool)
        .await
}

async fn watch(state: AppState, database: String) {
    tracing::debug!(database, "analytics warmer started");
    let mut warmed: Option<i64> = None;
    let mut pending: Option<i64> = None;
    let mut last_pass: Option<Instant> = None;
    loop {
        tokio::time::sleep(POLL).await;
        if state.pool.is_closed() {
            break;
        }
        let v = match version(&state.pool).await {
            Ok(v) => v,
            Err(sqlx::Error::PoolClosed) => break,
            Err(e) => {
                tracing::debug!(error = %e, "analytics warmer: cannot read the data version");
                continue;
            }
        };
        if warmed == Some(v) {
            continue;
        }
        // Debounce: the same version on two polls in a row.
        if pending != Some(v) {
            pending = Some(v);
            continue;
        }
        if last_pass.is_some_and(|t| t.elapsed() < MIN_GAP) {
            continue;
        }
        last_pass = Some(Instant::now());
        if pass(&state, v).await {
            warmed = Some(v);
            warmed_versions()
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(database.clone(), v);
        }
    }
    tracing::debug!(database, "analytics warmer stopped: the pool is closed");
}

/// Parameter sets to warm: the defaults, with every combination of the
/// `enum` parameters' values.
fn combinations(analysis: &super::catalogue::Analysis) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = vec![vec![]];
    for p in analysis.params.iter().filter(|p| !p.values.is_empty()) {
        out = out
            .iter()
            .flat_map(|base| {
                p.values.iter().map(move |v| {
                    let mut next = base.clone();
                    next.push((p.name.clone(), v.clone()));
                    next
                })
            })
            .take(MAX_COMBINATIONS)
            .collect();
    }
    out
}

/// Warms every `warm` analysis at version `v`, one at a time; false when
/// the data moved on meanwhile (the next poll warms the new version).
async fn pass(state: &AppState, v: i64) -> bool {
    let catalogue = match run::load(state) {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(error = %e, "analytics warmer: no catalogue");
            return true;
        }
    };
    let pool = state.reader(&Viewer::anonymous()).await;
    for analysis in catalogue.analyses.iter().filter(|a| a.warm) {
        for pairs in combinations(analysis) {
            let started = Instant::now();
            let req = match run::prepare(state, &analysis.name, &pairs, &[]) {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(analysis = %analysis.name, error = %e, "analytics warmer: cannot prepare");
                    continue;
                }
            };
            match run::rows(&pool, &req, false, Some(v)).await {
                Ok(Outcome::Computed(_)) => tracing::debug!(
                    analysis = %analysis.name, ?pairs, version = v,
                    ms = started.elapsed().as_millis() as u64, "analytics warmer: computed"
                ),
                Ok(Outcome::Hit(_)) => {}
                // The data moved on, or the analysis is not cacheable.
                Ok(Outcome::Skipped) => {
                    if version(&state.pool).await.ok() != Some(v) {
                        tracing::debug!(analysis = %analysis.name, version = v, "analytics warmer: data moved on");
                        return false;
                    }
                }
                Err(e) => {
                    tracing::debug!(analysis = %analysis.name, error = %e, "analytics warmer: failed");
                }
            }
        }
    }
    true
}
