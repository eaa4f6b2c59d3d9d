//! Vector tiles (issue 3): Mapbox Vector Tiles 2.1 for every layer of the
//! registry, TileJSON 3.0.0, OGC API – Tiles, an in-memory tile cache with
//! precise invalidation, and seeding into the cache or an MBTiles file.
//!
//! One concern per file:
//! * `routes` — the HTTP handlers of `/tiles…`;
//! * `request` — parsing and checking a tile request (layers, z/x/y, filters);
//! * `sql` — the tile query (`ST_AsMVT` over `ST_AsMVTGeom`), built in one place;
//! * `native` — the Rust engine: rows from PostGIS as EWKB, clipped and encoded here;
//! * `cluster` — server-side clustering of dense point layers;
//! * `cache` — the byte-weighted cache, generations and invalidation;
//! * `encode` — compression, `ETag`, `304` and the response;
//! * `notify` — the `LISTEN/NOTIFY` listener that keeps every instance fresh;
//! * `tilejson`, `ogc` — TileJSON, the catalogue and OGC API – Tiles;
//! * `grid` — WebMercatorQuad arithmetic; `seed`, `mbtiles` — `geoportal seed-tiles`.

pub mod cache;
mod cluster;
pub mod encode;
pub mod grid;
mod mbtiles;
mod native;
pub mod notify;
mod ogc;
mod request;
mod routes;
pub mod seed;
pub mod sql;
mod tilejson;

use crate::error::AppError;
use crate::query::FilterError;

pub use cache::{Stamp, TileCache, TileKey};
pub use encode::Tile;
pub use grid::Bbox;
pub use request::viewer_variant;
pub use routes::routes;

/// MVT extent (tile coordinate units per tile side).
pub const EXTENT: u32 = 4096;
/// MVT buffer around the tile, in tile units.
pub const BUFFER: u32 = 64;
/// Deepest tile matrix served (WebMercatorQuad goes to 24).
pub const MAX_ZOOM: u8 = 24;
/// Where a layer's tiles are made unless its file says `tile_engine`:
/// Rust, as tests/tiles_engines.rs finds it makes the same, valid tiles
/// 1.6–3× faster (bench/RESULTS.md).
pub const DEFAULT_ENGINE: crate::registry::TileEngine = crate::registry::TileEngine::Rust;
/// Media type of a vector tile.
pub const MVT_CONTENT_TYPE: &str = "application/vnd.mapbox-vector-tile";

/// OGC API – Tiles conformance classes implemented here, for the landing
/// page's `/ogc/conformance` (built in `src/ogc`).
pub const TILES_CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
];

#[derive(Debug, thiserror::Error)]
pub enum TileError {
    #[error("no layer `{0}` is published as tiles")]
    UnknownLayer(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

impl From<TileError> for AppError {
    fn from(e: TileError) -> AppError {
        match e {
            TileError::UnknownLayer(_) | TileError::NotFound(_) => AppError::NotFound(e.to_string()),
            TileError::BadRequest(_) | TileError::Filter(_) => AppError::BadRequest(e.to_string()),
            TileError::Db(db) => AppError::Database(db),
            TileError::Internal(m) => AppError::Internal(anyhow::anyhow!(m)),
        }
    }
}
