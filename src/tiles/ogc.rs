//! OGC API – Tiles: the WebMercatorQuad tile matrix set and each
//! collection's (layer's) vector tileset. The rest of `/ogc` (landing page,
//! conformance, collections) lives in `src/ogc`; the conformance classes of
//! these routes are [`super::TILES_CONFORMANCE`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::grid::HALF_WORLD;
use super::request;
use super::routes::{Params, params, serve_tile};
use super::sql::{mvt_type, tile_attributes};
use super::{MAX_ZOOM, MVT_CONTENT_TYPE, TileError};
use crate::access::Viewer;
use crate::error::AppError;
use crate::registry::{GeometryType, Layer};
use crate::server::AppState;

const TMS_URI: &str = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";
const CRS_3857: &str = "http://www.opengis.net/def/crs/EPSG/0/3857";

/// `GET /ogc/tileMatrixSets`.
pub async fn tile_matrix_sets(State(state): State<AppState>) -> Json<Value> {
    let base = state.config.public_url();
    Json(json!({
        "tileMatrixSets": [{
            "id": "WebMercatorQuad",
            "title": "Google Maps Compatible for the World",
            "uri": TMS_URI,
            "crs": CRS_3857,
            "links": [{"rel": "self", "type": "application/json",
                       "href": format!("{base}/ogc/tileMatrixSets/WebMercatorQuad")}],
        }],
        "links": [{"rel": "self", "type": "application/json", "href": format!("{base}/ogc/tileMatrixSets")}],
    }))
}

/// `GET /ogc/tileMatrixSets/WebMercatorQuad` (OGC 2D TMS 2.0, JSON).
pub async fn web_mercator_quad(State(state): State<AppState>) -> Json<Value> {
    let base = state.config.public_url();
    let matrices: Vec<Value> = (0..=MAX_ZOOM)
        .map(|z| {
            let n = 1u64 << z;
            json!({
                "id": z.to_string(),
                "scaleDenominator": 559_082_264.028_717_8 / n as f64,
                "cellSize": 156_543.033_928_041 / n as f64,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-HALF_WORLD, HALF_WORLD],
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": n,
                "matrixHeight": n,
            })
        })
        .collect();
    Json(json!({
        "id": "WebMercatorQuad",
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": CRS_3857,
        "orderedAxes": ["E", "N"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
        "links": [{"rel": "self", "type": "application/json",
                   "href": format!("{base}/ogc/tileMatrixSets/WebMercatorQuad")}],
    }))
}

fn collection(state: &AppState, viewer: &Viewer, id: &str) -> Result<std::sync::Arc<Layer>, TileError> {
    state
        .registry
        .get_visible(id, &viewer.roles)
        .filter(|l| l.has_geometry())
        .cloned()
        .ok_or_else(|| TileError::UnknownLayer(id.to_string()))
}

fn tileset_links(base: &str, id: &str) -> Value {
    json!([
        {"rel": "self", "type": "application/json",
         "href": format!("{base}/ogc/collections/{id}/tiles/WebMercatorQuad")},
        {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "type": "application/json",
         "href": format!("{base}/ogc/tileMatrixSets/WebMercatorQuad")},
        {"rel": "item", "type": MVT_CONTENT_TYPE, "templated": true,
         "href": format!("{base}/ogc/collections/{id}/tiles/WebMercatorQuad/{{tileMatrix}}/{{tileRow}}/{{tileCol}}")},
    ])
}

/// `GET /ogc/collections/{id}/tiles`: the collection's tilesets (one).
pub async fn tilesets(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let layer = collection(&state, &viewer, &id)?;
    let base = state.config.public_url();
    Ok(Json(json!({
        "links": [
            {"rel": "self", "type": "application/json", "href": format!("{base}/ogc/collections/{id}/tiles")},
            {"rel": "collection", "type": "application/json", "href": format!("{base}/ogc/collections/{id}")},
        ],
        "tilesets": [{
            "title": layer.title.en,
            "dataType": "vector",
            "crs": CRS_3857,
            "tileMatrixSetURI": TMS_URI,
            "links": tileset_links(&base, &layer.id),
        }],
    })))
}

/// `GET /ogc/collections/{id}/tiles/WebMercatorQuad`: the tileset metadata.
pub async fn tileset(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let layer = collection(&state, &viewer, &id)?;
    let base = state.config.public_url();
    let dimension = match layer.geometry.geometry_type {
        GeometryType::Point | GeometryType::MultiPoint => json!(0),
        GeometryType::LineString | GeometryType::MultiLineString => json!(1),
        GeometryType::Polygon | GeometryType::MultiPolygon => json!(2),
        GeometryType::Geometry | GeometryType::None => Value::Null,
    };
    let mut properties = serde_json::Map::new();
    for a in tile_attributes(&layer, &viewer) {
        let t = match mvt_type(a.attr_type) {
            "Number" => "number",
            "Boolean" => "boolean",
            _ => "string",
        };
        properties.insert(a.name.clone(), json!({"type": t, "title": a.title.en}));
    }
    Ok(Json(json!({
        "title": layer.title.en,
        "description": layer.description.en,
        "dataType": "vector",
        "crs": CRS_3857,
        "tileMatrixSetURI": TMS_URI,
        "layers": [{
            "id": layer.id,
            "dataType": "vector",
            "geometryDimension": dimension,
            "minTileMatrix": layer.minzoom.to_string(),
            "maxTileMatrix": layer.maxzoom.to_string(),
            "propertiesSchema": {"type": "object", "properties": properties},
        }],
        "links": tileset_links(&base, &layer.id),
    })))
}

/// `GET /ogc/collections/{id}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}`:
/// the same tile as `/tiles/{id}/{z}/{x}/{y}.mvt` (row = y, col = x).
pub async fn tile(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, tile_matrix, tile_row, tile_col)): Path<(String, String, String, String)>,
    query: Params,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let params = params(query)?;
    if let Some((_, f)) = params.iter().find(|(k, _)| k == "f")
        && f != "mvt"
    {
        return Err(AppError::BadRequest(format!("unsupported f=`{f}`: tiles are only mvt")));
    }
    let layer = collection(&state, &viewer, &id)?;
    let (z, x, y) = request::parse_zxy(&tile_matrix, &tile_col, &tile_row)?;
    Ok(serve_tile(&state, &viewer, vec![layer], (z, x, y), &params, &["f"], &headers).await?)
}
