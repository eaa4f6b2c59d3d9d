//! The tile cache: in memory, weighted by the bytes it holds (`moka`),
//! keyed by layers, tile, viewer and filter. Invalidation is precise: a
//! change drops exactly the cached tiles whose buffered area the feature's
//! old or new bounding box touches, at every zoom and in every composite
//! that contains the layer.
//!
//! Freshness rules:
//! * every layer has a generation, bumped by each invalidation. A tile is
//!   stored only if the generations of its layers did not move while it was
//!   built, so a tile is never rebuilt from data older than the change that
//!   dropped it (check-and-insert and bump-and-drop exclude each other);
//! * tiles are stored only while the `LISTEN` connection is up (`live`):
//!   changes made outside this process cannot be missed. On connect and on
//!   loss of the connection the whole cache is dropped, since notifications
//!   may have been lost in between.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use axum::http::HeaderValue;
use sqlx::PgPool;

use super::encode::Tile;
use super::grid::{self, Bbox};
use crate::config::Config;
use crate::db::replica::Replicas;
use crate::registry::Registry;

/// `Cache-Control` of tile responses when `Config::tile_cache_control` is
/// not a header value: revalidate every time (cheap with `ETag`/304), so no
/// browser or proxy keeps a tile past a change.
pub const DEFAULT_CACHE_CONTROL: &str = "no-cache";

/// What identifies a cached tile.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileKey {
    /// Layer ids in request order (a composite has several).
    pub layers: Arc<[String]>,
    pub z: u8,
    pub x: u32,
    pub y: u32,
    /// Who asks (roles, own-row links) and the normalised filter.
    pub variant: Arc<str>,
}

impl TileKey {
    fn weight(&self) -> usize {
        self.layers.iter().map(|l| l.len()).sum::<usize>() + self.variant.len() + 64
    }
}

/// The generations of the layers of a tile when its build started.
#[derive(Debug, Clone)]
pub struct Stamp {
    epoch: u64,
    gens: Vec<u64>,
}

#[derive(Default)]
struct Generations {
    /// Bumped when the whole cache is dropped.
    epoch: u64,
    layers: HashMap<String, u64>,
}

struct Inner {
    /// None when the cache is configured to 0 MB.
    cache: Option<moka::sync::Cache<TileKey, Arc<Tile>>>,
    generations: RwLock<Generations>,
    live: AtomicBool,
    listener: OnceLock<()>,
    /// Table name → ids of the layers drawn from it.
    table_layers: HashMap<String, Vec<String>>,
    cache_control: HeaderValue,
    /// The read replicas tiles may be built from (`src/db/replica.rs`).
    replicas: OnceLock<Replicas>,
}

/// Cheap to clone; every clone is the same cache.
#[derive(Clone)]
pub struct TileCache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TileCache")
            .field("entries", &self.entry_count())
            .field("live", &self.is_live())
            .finish()
    }
}

impl TileCache {
    /// A cache of `config.tile_cache_mb` megabytes for the layers of `registry`.
    pub fn new(config: &Config, registry: &Registry) -> TileCache {
        let bytes = config.tile_cache_mb.saturating_mul(1024 * 1024);
        let cache = (bytes > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(bytes)
                .weigher(|k: &TileKey, v: &Arc<Tile>| u32::try_from(k.weight() + v.weight()).unwrap_or(u32::MAX))
                .support_invalidation_closures()
                .build()
        });
        let mut table_layers: HashMap<String, Vec<String>> = HashMap::new();
        for layer in registry.all() {
            table_layers
                .entry(layer.table().to_string())
                .or_default()
                .push(layer.id.clone());
        }
        // Clap checks the value at start; a `Config` built in code may not have.
        let cache_control = HeaderValue::from_str(config.tile_cache_control.trim()).unwrap_or_else(|_| {
            tracing::warn!(value = %config.tile_cache_control, "tile Cache-Control is not a header value; using the default");
            HeaderValue::from_static(DEFAULT_CACHE_CONTROL)
        });
        TileCache {
            inner: Arc::new(Inner {
                cache,
                generations: RwLock::new(Generations::default()),
                live: AtomicBool::new(false),
                listener: OnceLock::new(),
                table_layers,
                cache_control,
                replicas: OnceLock::new(),
            }),
        }
    }

    /// Connects the cache to the read replicas: the change listener keeps
    /// their per-table floors, and an invalidation through our API reads
    /// the layer's table from the primary until its change's LSN is known.
    /// The first call wins.
    pub fn attach_replicas(&self, replicas: Replicas) {
        let _ = self.inner.replicas.set(replicas);
    }

    /// The replicas, when any are configured.
    pub(crate) fn replicas(&self) -> Option<&Replicas> {
        self.inner.replicas.get().filter(|r| !r.is_empty())
    }

    /// A change to `layer_id` committed whose LSN is not known yet.
    fn pin(&self, layer_id: &str) {
        let Some(replicas) = self.replicas() else {
            return;
        };
        for (table, layers) in &self.inner.table_layers {
            if layers.iter().any(|l| l == layer_id) {
                replicas.pin(table);
            }
        }
    }

    pub fn cache_control(&self) -> &HeaderValue {
        &self.inner.cache_control
    }

    pub fn get(&self, key: &TileKey) -> Option<Arc<Tile>> {
        self.inner.cache.as_ref()?.get(key)
    }

    /// The generations of `layers` now, or None when tiles must not be
    /// stored (no cache, or the listener is not connected).
    pub fn stamp(&self, layers: &[String]) -> Option<Stamp> {
        self.inner.cache.as_ref()?;
        if !self.is_live() {
            return None;
        }
        let g = self.inner.generations.read().unwrap_or_else(|e| e.into_inner());
        Some(Stamp {
            epoch: g.epoch,
            gens: layers.iter().map(|l| g.layers.get(l).copied().unwrap_or(0)).collect(),
        })
    }

    /// Stores a tile built under `stamp`, unless one of its layers changed
    /// since (then the tile may hold data older than the change). Returns
    /// whether it was stored.
    pub fn insert(&self, key: TileKey, tile: Arc<Tile>, stamp: &Stamp) -> bool {
        let Some(cache) = &self.inner.cache else {
            return false;
        };
        // The read lock excludes invalidate(): no change can slip between
        // the check and the insert.
        let g = self.inner.generations.read().unwrap_or_else(|e| e.into_inner());
        let current = g.epoch == stamp.epoch
            && key
                .layers
                .iter()
                .zip(&stamp.gens)
                .all(|(l, gen_at_start)| g.layers.get(l).copied().unwrap_or(0) == *gen_at_start)
            && self.is_live();
        if current {
            cache.insert(key, tile);
        }
        current
    }

    /// Drops the cached tiles of `layer_id` (alone or in any composite)
    /// that the feature's old or new bounding box touches, at every zoom.
    /// For writes through our API: call it after the commit and before the
    /// write is acknowledged. `None` for the old box of an insert or the new
    /// box of a delete.
    pub fn invalidate(&self, layer_id: &str, old_bbox: Option<Bbox>, new_bbox: Option<Bbox>) {
        let boxes: Vec<Bbox> = old_bbox.into_iter().chain(new_bbox).collect();
        self.invalidate_boxes(layer_id, &boxes);
    }

    /// Drops the tiles of `layer_id` touched by any of `boxes` (lon/lat).
    pub fn invalidate_boxes(&self, layer_id: &str, boxes: &[Bbox]) {
        self.pin(layer_id);
        self.drop_boxes(layer_id, boxes);
    }

    /// `invalidate_boxes` for a change whose LSN the replicas already know.
    pub(crate) fn drop_boxes(&self, layer_id: &str, boxes: &[Bbox]) {
        let merc: Vec<[f64; 4]> = boxes.iter().map(|b| b.to_mercator()).collect();
        let layer = layer_id.to_string();
        self.drop_where(layer_id, move |k: &TileKey| {
            k.layers.contains(&layer) && merc.iter().any(|m| grid::tile_touches(k.z, k.x, k.y, m))
        });
    }

    /// Drops every cached tile containing `layer_id`.
    pub fn invalidate_layer(&self, layer_id: &str) {
        self.pin(layer_id);
        self.drop_layer(layer_id);
    }

    /// `invalidate_layer` for a change whose LSN the replicas already know.
    pub(crate) fn drop_layer(&self, layer_id: &str) {
        let layer = layer_id.to_string();
        self.drop_where(layer_id, move |k: &TileKey| k.layers.contains(&layer));
    }

    /// Drops everything (e.g. notifications may have been lost).
    pub fn invalidate_all(&self) {
        let mut g = self.inner.generations.write().unwrap_or_else(|e| e.into_inner());
        g.epoch += 1;
        if let Some(cache) = &self.inner.cache {
            cache.invalidate_all();
        }
    }

    fn drop_where(&self, layer_id: &str, predicate: impl Fn(&TileKey) -> bool + Send + Sync + 'static) {
        let mut g = self.inner.generations.write().unwrap_or_else(|e| e.into_inner());
        *g.layers.entry(layer_id.to_string()).or_insert(0) += 1;
        if let Some(cache) = &self.inner.cache
            && cache.invalidate_entries_if(move |k, _| predicate(k)).is_err()
        {
            // Closures are enabled at build time, so this cannot happen;
            // never keep stale tiles if it does.
            cache.invalidate_all();
        }
    }

    /// Every table a layer is drawn from.
    pub fn tables(&self) -> Vec<String> {
        self.inner.table_layers.keys().cloned().collect()
    }

    /// The layer ids drawn from `table`.
    pub fn layers_of_table(&self, table: &str) -> &[String] {
        self.inner.table_layers.get(table).map_or(&[], |v| v.as_slice())
    }

    /// The keys of every cached tile (diagnostics and tests).
    pub fn keys(&self) -> Vec<TileKey> {
        self.inner.cache.as_ref().map_or_else(Vec::new, |c| {
            c.run_pending_tasks();
            c.iter().map(|(k, _)| (*k).clone()).collect()
        })
    }

    /// Cached tiles (after pending maintenance).
    pub fn entry_count(&self) -> u64 {
        self.inner.cache.as_ref().map_or(0, |c| {
            c.run_pending_tasks();
            c.entry_count()
        })
    }

    /// Bytes the cache holds, as weighed.
    pub fn weighted_size(&self) -> u64 {
        self.inner.cache.as_ref().map_or(0, |c| {
            c.run_pending_tasks();
            c.weighted_size()
        })
    }

    /// Whether the `LISTEN` connection is up (tiles are stored only then).
    pub fn is_live(&self) -> bool {
        self.inner.live.load(Ordering::SeqCst)
    }

    pub(crate) fn set_live(&self, live: bool) {
        if !live {
            self.inner.live.store(false, Ordering::SeqCst);
            if let Some(r) = self.replicas() {
                r.set_listening(false);
            }
            self.invalidate_all();
        } else {
            self.invalidate_all();
            self.inner.live.store(true, Ordering::SeqCst);
            if let Some(r) = self.replicas() {
                r.set_listening(true);
            }
        }
    }

    /// Starts the `LISTEN/NOTIFY` listener for this cache once; later calls
    /// do nothing. Needs a Tokio runtime.
    pub fn start_listener(&self, pool: &PgPool) {
        // Without a cache the listener still keeps the replicas' floors.
        if self.inner.cache.is_none() && self.replicas().is_none() {
            return;
        }
        if self.inner.listener.set(()).is_ok() {
            super::notify::spawn(
                WeakTileCache {
                    inner: Arc::downgrade(&self.inner),
                },
                pool.clone(),
            );
        }
    }
}

/// A handle that does not keep the cache alive: the listener stops once
/// the cache (the application) is gone.
#[derive(Clone)]
pub(crate) struct WeakTileCache {
    inner: std::sync::Weak<Inner>,
}

impl WeakTileCache {
    pub(crate) fn upgrade(&self) -> Option<TileCache> {
        self.inner.upgrade().map(|inner| TileCache { inner })
    }
}

#[cfg(test)]
mod cache_control_tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: Config,
    }

    fn registry() -> Registry {
        Registry::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("layers")).unwrap()
    }

    #[test]
    fn cache_control_comes_from_the_configuration() {
        let cli = Cli::try_parse_from(["geoportal"]).unwrap();
        assert_eq!(cli.config.tile_cache_control, "no-cache");
        let cli = Cli::try_parse_from(["geoportal", "--tile-cache-control", " public, max-age=60 "]).unwrap();
        assert_eq!(cli.config.tile_cache_control, "public, max-age=60");
        let cache = TileCache::new(&cli.config, &registry());
        assert_eq!(cache.cache_control(), "public, max-age=60");
        // Not a header value: refused at start, with the flag named.
        let err = Cli::try_parse_from(["geoportal", "--tile-cache-control", "a\nb"])
            .err()
            .unwrap();
        assert!(err.to_string().contains("tile-cache-control"), "{err}");
    }
}
