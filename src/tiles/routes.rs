//! The `/tiles` routes and the one path every tile takes: cache, else build
//! (and store if still current), then respond.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;

use super::cache::TileKey;
use super::encode::{self, Tile};
use super::request::{self, TileFilter};
use super::sql::{self, TileSpec};
use super::{TileError, ogc, tilejson};
use crate::access::Viewer;
use crate::error::AppError;
use crate::registry::Layer;
use crate::server::AppState;

/// Every tile route: `/tiles…` and the tile part of OGC API – Tiles.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tiles", get(tilejson::catalogue))
        .route("/tiles/{layers}", get(tilejson::tilejson))
        .route("/tiles/{layers}/{z}/{x}/{y}", get(tile))
        .route("/ogc/tileMatrixSets", get(ogc::tile_matrix_sets))
        .route("/ogc/tileMatrixSets/WebMercatorQuad", get(ogc::web_mercator_quad))
        .route("/ogc/collections/{collection_id}/tiles", get(ogc::tilesets))
        .route(
            "/ogc/collections/{collection_id}/tiles/WebMercatorQuad",
            get(ogc::tileset),
        )
        .route(
            "/ogc/collections/{collection_id}/tiles/WebMercatorQuad/{tile_matrix}/{tile_row}/{tile_col}",
            get(ogc::tile),
        )
}

/// Query parameters as pairs, in order (names may repeat).
pub type Params = Result<Query<Vec<(String, String)>>, QueryRejection>;

pub fn params(p: Params) -> Result<Vec<(String, String)>, AppError> {
    Ok(p?.0)
}

async fn tile(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((layers, z, x, y)): Path<(String, String, String, String)>,
    query: Params,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let params = params(query)?;
    let layers = request::parse_layers(&state.registry, &viewer, &layers)?;
    let (z, x, y) = request::parse_zxy(&z, &x, &y)?;
    Ok(serve_tile(&state, &viewer, layers, (z, x, y), &params, &[], &headers).await?)
}

/// Checks the filter, then answers with the tile (cached or built).
pub(crate) async fn serve_tile(
    state: &AppState,
    viewer: &Viewer,
    layers: Vec<Arc<Layer>>,
    (z, x, y): (u8, u32, u32),
    params: &[(String, String)],
    extra_params: &[&str],
    headers: &HeaderMap,
) -> Result<Response, TileError> {
    let filter = TileFilter::parse(params, &layers, viewer, extra_params)?;
    let key = tile_key(&layers, viewer, (z, x, y), &filter);
    let tile = get_or_build(state, &key, &layers, viewer, filter.expr.as_ref()).await?;
    encode::respond(&tile, headers, state.tiles.cache_control())
}

pub(crate) fn tile_key(layers: &[Arc<Layer>], viewer: &Viewer, (z, x, y): (u8, u32, u32), f: &TileFilter) -> TileKey {
    let params = serde_urlencoded::to_string(&f.normalised).unwrap_or_default();
    TileKey {
        layers: layers.iter().map(|l| l.id.clone()).collect(),
        z,
        x,
        y,
        variant: format!("{}|{params}", request::viewer_variant(layers, viewer)).into(),
    }
}

/// The cached tile, or a freshly built one (stored if no change to its
/// layers happened while it was built).
pub(crate) async fn get_or_build(
    state: &AppState,
    key: &TileKey,
    layers: &[Arc<Layer>],
    viewer: &Viewer,
    filter: Option<&cql2::Expr>,
) -> Result<Arc<Tile>, TileError> {
    state.tiles.start_listener(&state.pool);
    if let Some(tile) = state.tiles.get(key) {
        metrics::counter!("geoportal_tile_cache_hits_total").increment(1);
        return Ok(tile);
    }
    metrics::counter!("geoportal_tile_cache_misses_total").increment(1);
    let stamp = state.tiles.stamp(&key.layers);
    let spec = TileSpec {
        layers,
        z: key.z,
        x: key.x,
        y: key.y,
        viewer,
        filter,
    };
    let raw = sql::build(&state.tile_reader(viewer, &key.layers).await, &spec).await?;
    let Some(stamp) = stamp else {
        return Ok(Arc::new(Tile::uncached(raw)));
    };
    let tile = Arc::new(Tile::new(&raw)?);
    state.tiles.insert(key.clone(), tile.clone(), &stamp);
    Ok(tile)
}
