//! Result cache of the analyses and their choropleth tiles.
//!
//! An entry is keyed by the database, the analysis's SQL (so a catalogue
//! with another indicator is another entry), its bound parameter values
//! and, for tiles, the tile; it is valid for one *data version*: the sum of
//! the per-table versions in `analytics_data_versions`, which statement
//! triggers bump in the writer's transaction on every change to a table an
//! analysis may read (migration 0080), however the change is made. The
//! version is read in the same repeatable-read snapshot the analysis runs
//! in, so an entry never holds data older than its version.
//!
//! Analyses also depend on the clock (overdue appeals, expired permits), so
//! an entry lives at most [`MAX_AGE`]; answers state their age
//! (`computed_at`, `cached`, the `Age` header).
//!
//! The SQL does not see the viewer: the raw rows are cached once and cut
//! to each viewer's readable attributes afterwards (`run::execute`).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::Postgres;

use super::params::Value;

/// Longest an answer is reused although no data changed.
pub const MAX_AGE: Duration = Duration::from_secs(300);

/// Bytes the cache may hold (results and tiles together).
const CAPACITY_BYTES: u64 = 128 * 1024 * 1024;

pub type Key = [u8; 32];

/// A cached value with its data version and when it was computed.
pub struct Entry<T> {
    pub version: i64,
    pub computed_at: DateTime<Utc>,
    pub stored: Instant,
    pub value: T,
}

impl<T> Entry<T> {
    /// Seconds since the value was computed.
    pub fn age_secs(&self) -> u64 {
        self.stored.elapsed().as_secs()
    }
}

/// What is cached: an analysis's rows or one tile.
#[derive(Clone)]
pub enum Cached {
    Rows(Arc<Entry<Vec<super::run::Row_>>>),
    Tile(Arc<Entry<Vec<u8>>>),
}

impl Cached {
    fn weight(&self) -> u32 {
        let bytes = match self {
            Cached::Rows(e) => e
                .value
                .iter()
                .map(|r| {
                    r.props
                        .iter()
                        .map(|(k, v)| k.len() + v.to_string().len() + 16)
                        .sum::<usize>()
                        + r.geojson.as_ref().map_or(0, String::len)
                        + r.wkt.as_ref().map_or(0, String::len)
                        + 64
                })
                .sum::<usize>(),
            Cached::Tile(e) => e.value.len(),
        };
        u32::try_from(bytes + 128).unwrap_or(u32::MAX)
    }
}

fn cache() -> &'static moka::sync::Cache<Key, Cached> {
    static CACHE: OnceLock<moka::sync::Cache<Key, Cached>> = OnceLock::new();
    CACHE.get_or_init(|| {
        moka::sync::Cache::builder()
            .max_capacity(CAPACITY_BYTES)
            .weigher(|_k: &Key, v: &Cached| v.weight())
            .time_to_live(MAX_AGE)
            .build()
    })
}

/// The key of `sql` with `values` (and `extra`, e.g. the tile) on the
/// database `db` (see [`snapshot`]).
pub fn key(db: &str, kind: &str, sql: &str, values: &[Value], extra: &str) -> Key {
    let mut h = Sha256::new();
    for part in [db, kind, sql, &format!("{values:?}"), extra] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

pub fn get(key: &Key) -> Option<Cached> {
    cache().get(key)
}

pub fn insert(key: Key, value: Cached) {
    cache().insert(key, value);
}

/// What the open transaction sees: which database (a cache entry of one
/// database never answers for another, e.g. the tests' many) and its data
/// version; `None` when nothing may be cached there.
pub struct Snapshot {
    pub db: String,
    pub version: Option<i64>,
}

/// Reads the snapshot for the analysis `sql`; call first in a
/// repeatable-read transaction.
pub async fn snapshot(tx: &mut sqlx::Transaction<'static, Postgres>, sql: &str) -> Result<Snapshot, sqlx::Error> {
    let (db, version): (String, i64) = sqlx::query_as(
        "SELECT current_database() || '/' || d.oid::text || '/' || pg_postmaster_start_time()::text, \
                (SELECT coalesce(sum(version), 0)::bigint FROM analytics_data_versions) \
         FROM pg_database d WHERE d.datname = current_database()",
    )
    .fetch_one(&mut **tx)
    .await?;
    let info = untracked(&db, tx).await?;
    let cacheable = !info
        .tables
        .iter()
        .any(|t| mentions(sql, t) || mentions(&info.functions, t));
    Ok(Snapshot {
        db,
        version: cacheable.then_some(version),
    })
}

/// Layer and register tables (those with history triggers) that do not
/// bump the data version (no `analytics_track`, migration 0080), and the
/// source of the `analytics_*` functions. An analysis whose SQL, or a
/// function it may call, names such a table could miss its changes, so it
/// is not cached. Read once per database and process (tables come with
/// migrations, which run at start).
struct Untracked {
    tables: Vec<String>,
    functions: String,
}

async fn untracked(db: &str, tx: &mut sqlx::Transaction<'static, Postgres>) -> Result<Arc<Untracked>, sqlx::Error> {
    type Known = std::sync::Mutex<std::collections::HashMap<String, Arc<Untracked>>>;
    static KNOWN: OnceLock<Known> = OnceLock::new();
    let known = KNOWN.get_or_init(Default::default);
    if let Some(info) = known.lock().unwrap_or_else(|e| e.into_inner()).get(db) {
        return Ok(info.clone());
    }
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind = 'r' \
           AND EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'history') \
           AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'analytics_version_upd') \
         ORDER BY 1",
    )
    .fetch_all(&mut **tx)
    .await?;
    let functions: String = sqlx::query_scalar(
        "SELECT coalesce(string_agg(p.prosrc, ' '), '') FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname = current_schema() AND p.proname LIKE 'analytics\\_%'",
    )
    .fetch_one(&mut **tx)
    .await?;
    for table in &tables {
        tracing::info!(
            table,
            "no analytics version triggers: analyses naming this table are not cached \
             (SELECT analytics_track('<table>') in a migration)"
        );
    }
    let info = Arc::new(Untracked { tables, functions });
    known
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(db.to_string(), info.clone());
    Ok(info)
}

/// Whether `text` names `table` as a whole word (case-insensitive).
fn mentions(text: &str, table: &str) -> bool {
    let text = text.to_ascii_lowercase();
    let table = table.to_ascii_lowercase();
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    text.match_indices(&table)
        .any(|(i, _)| !ident(text[..i].chars().next_back()) && !ident(text[i + table.len()..].chars().next()))
}

/// Whether the request asks for a fresh computation (`Cache-Control:
/// no-cache` or `no-store`, as a browser's hard reload sends).
pub fn bypass(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|d| matches!(d.trim().to_ascii_lowercase().as_str(), "no-cache" | "no-store"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_every_part() {
        let v = [Value::Integer(Some(1))];
        let base = key("db", "rows", "SELECT 1", &v, "");
        assert_ne!(base, key("db2", "rows", "SELECT 1", &v, ""));
        assert_ne!(base, key("db", "tile", "SELECT 1", &v, ""));
        assert_ne!(base, key("db", "rows", "SELECT 2", &v, ""));
        assert_ne!(base, key("db", "rows", "SELECT 1", &[Value::Integer(Some(2))], ""));
        assert_ne!(base, key("db", "rows", "SELECT 1", &v, "1/0/0"));
        assert_eq!(base, key("db", "rows", "SELECT 1", &v, ""));
    }

    #[test]
    fn mentions_whole_words_only() {
        assert!(mentions("SELECT * FROM Land_Plots p", "land_plots"));
        assert!(mentions("x JOIN land_plots\n", "land_plots"));
        assert!(!mentions("SELECT * FROM land_plots_history", "land_plots"));
        assert!(!mentions("analytics_land_plots", "land_plots"));
    }

    #[test]
    fn bypass_on_no_cache() {
        let mut h = axum::http::HeaderMap::new();
        assert!(!bypass(&h));
        h.insert(
            axum::http::header::CACHE_CONTROL,
            "max-age=0, No-Cache".parse().unwrap(),
        );
        assert!(bypass(&h));
    }
}
