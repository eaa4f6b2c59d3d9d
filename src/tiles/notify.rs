//! Keeps the tile cache of this instance fresh when data changes by any
//! other way than our API (psql, another tool, another instance): the
//! triggers of `migrations/0010_tiles.sql` send the old and new bounding
//! boxes of every change on the `geoportal_tiles` channel, and this task
//! drops the tiles they touch.
//!
//! While the connection is down nothing is cached (requests go to the
//! database), and the whole cache is dropped on loss and on reconnect,
//! since notifications may have been lost in between.
//!
//! With read replicas (`src/db/replica.rs`) every notification also raises
//! its table's read floor to the primary's WAL position when it arrives
//! (after the commit, so at or past the change) *before* the tiles are
//! dropped: a tile rebuilt after the drop comes from a replica that has
//! replayed the change, or from the primary. The trigger itself cannot
//! send its LSN: its commit record is written after it. Several queued
//! notifications share one position query.

use serde::Deserialize;
use sqlx::PgPool;

use super::cache::WeakTileCache;
use super::grid::Bbox;

pub const CHANNEL: &str = "geoportal_tiles";

/// What the triggers send.
#[derive(Debug, Deserialize)]
pub struct Payload {
    pub table: String,
    #[serde(default)]
    pub old: Vec<[f64; 4]>,
    #[serde(default)]
    pub new: Vec<[f64; 4]>,
    /// TRUNCATE: every tile of the table's layers.
    #[serde(default)]
    pub all: bool,
}

pub(crate) fn spawn(cache: WeakTileCache, pool: PgPool) {
    crate::db::follow::spawn(pool.clone(), CHANNEL, Changes { cache, pool });
}

/// Drops the tiles each change touches while the cache (the application)
/// lives; nothing is cached while not listening.
struct Changes {
    cache: WeakTileCache,
    pool: PgPool,
}

impl crate::db::follow::Follower for Changes {
    const WHAT: &'static str = "tile changes";

    async fn caught_up(&mut self) -> Result<bool, String> {
        let Some(cache) = self.cache.upgrade() else {
            return Ok(false);
        };
        // Changes committed before LISTEN were never notified: reads from
        // here on must see at least the primary's position now.
        if let Some(replicas) = cache.replicas() {
            let lsn = replicas
                .primary_lsn()
                .await
                .map_err(|e| format!("cannot read the primary's WAL position: {e}"))?;
            replicas.note_all(lsn);
        }
        cache.set_live(true);
        tracing::info!(channel = CHANNEL, "tile cache listening for changes");
        warn_untracked(&cache, &self.pool).await;
        Ok(true)
    }

    async fn notified(&mut self, payloads: Vec<String>) -> Result<bool, String> {
        let Some(cache) = self.cache.upgrade() else {
            return Ok(false);
        };
        // Without the position a replica could serve a change's old data:
        // an error starts over (primary only until listening again).
        let lsn = match cache.replicas() {
            None => None,
            Some(replicas) => Some(
                replicas
                    .primary_lsn()
                    .await
                    .map_err(|e| format!("cannot read the primary's WAL position: {e}"))?,
            ),
        };
        for payload in &payloads {
            apply(&cache, payload, lsn);
        }
        Ok(true)
    }

    /// Notifications may have been lost: drop the whole cache.
    fn lost(&mut self) {
        if let Some(cache) = self.cache.upgrade() {
            cache.set_live(false);
        }
    }
}

/// Layer tables without the triggers of `geoportal_tiles_track` (or, for
/// registers without geometry, migration 0110's `changes_notify`) would
/// change unseen by the cache and the replica floors: say so at start.
async fn warn_untracked(cache: &super::TileCache, pool: &PgPool) {
    let tables = cache.tables();
    let untracked: Result<Vec<String>, sqlx::Error> = sqlx::query_scalar(
        "SELECT t FROM unnest($1::text[]) AS t WHERE NOT EXISTS (SELECT 1 FROM pg_trigger g \
         JOIN pg_class c ON c.oid = g.tgrelid WHERE c.relname = t \
         AND g.tgname IN ('tiles_update', 'changes_notify'))",
    )
    .bind(&tables)
    .fetch_all(pool)
    .await;
    match untracked {
        Ok(list) => {
            for table in list {
                tracing::warn!(
                    table,
                    "no tile change triggers: changes made outside this server will not reach cached tiles \
                     (SELECT geoportal_tiles_track('<table>') in a migration)"
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot check the tile change triggers"),
    }
}

/// Drops what one notification touches, after raising the replicas' read
/// floor of its table to `lsn` (the primary's position when it arrived).
/// A payload we cannot read drops the whole cache rather than risk stale
/// tiles. A payload without boxes (a table without geometry, migration
/// 0110) only raises the floor.
pub(crate) fn apply(cache: &super::TileCache, payload: &str, lsn: Option<u64>) {
    let replicas = cache.replicas();
    let p: Payload = match serde_json::from_str(payload) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable tile change notification; dropping the tile cache");
            if let (Some(r), Some(lsn)) = (replicas, lsn) {
                r.note_all(lsn);
            }
            cache.invalidate_all();
            return;
        }
    };
    if let (Some(r), Some(lsn)) = (replicas, lsn) {
        r.note_change(&p.table, lsn);
    }
    if !p.all && p.old.is_empty() && p.new.is_empty() {
        return;
    }
    let boxes: Vec<Bbox> = p
        .old
        .iter()
        .chain(&p.new)
        .filter_map(|b| Bbox::from_array(*b))
        .collect();
    for layer in cache.layers_of_table(&p.table) {
        if p.all || boxes.len() < p.old.len() + p.new.len() {
            cache.drop_layer(layer);
        } else {
            cache.drop_boxes(layer, &boxes);
        }
    }
}
