//! The OpenAPI 3.1 document of the whole server at `/api/openapi.json`,
//! generated from the code by `utoipa`: handlers carry `#[utoipa::path]`;
//! routes owned by modules without annotations are described by the stubs
//! below. Every route must appear here (tests/ogc_openapi.rs checks).

use std::sync::OnceLock;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;
use utoipa::OpenApi;

use crate::ogc::formats::{JSON, OPENAPI_JSON};
use crate::ogc::with_type;
use crate::server::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "geoportal",
        description = "Municipal GIS server: layers as OGC API Features (GeoJSON, CSV, HTML), the layer catalogue, health and metrics."
    ),
    paths(
        health,
        crate::server::pages::portal,
        metrics,
        layers,
        layer,
        crate::api::search::search,
        crate::opendata::list,
        crate::opendata::download,
        openapi_json,
        crate::ogc::landing::landing,
        crate::ogc::landing::conformance,
        crate::ogc::collections::collections,
        crate::ogc::collections::collection,
        crate::ogc::queryables::queryables,
        crate::ogc::items::items,
        crate::ogc::items::item,
        crate::ogc::edit::create,
        crate::ogc::edit::replace,
        crate::ogc::edit::patch,
        crate::ogc::edit::delete,
        crate::ogc::edit::restore,
        crate::ogc::edit::options_items,
        crate::ogc::edit::options_item,
        crate::ogc::edit::history::versions,
        tiles_catalogue,
        tiles_tilejson,
        tiles_tile,
        tile_matrix_sets,
        web_mercator_quad,
        collection_tilesets,
        collection_tileset,
        collection_tile,
        crate::auth::handlers::login,
        crate::auth::handlers::logout,
        crate::auth::handlers::me,
        crate::auth::handlers::register,
        crate::auth::handlers::confirm,
        crate::auth::handlers::reset_request,
        crate::auth::handlers::reset_confirm,
        crate::auth::admin::list_users,
        crate::auth::admin::create_user,
        crate::auth::admin::get_user,
        crate::auth::admin::update_user,
        crate::auth::admin::reset_password,
        crate::auth::admin::list_keys,
        crate::auth::admin::create_key,
        crate::auth::admin::revoke_key,
        crate::api::publication::list,
        crate::api::publication::set,
        crate::api::publication::clear,
        crate::appeals::filing::file,
        crate::appeals::filing::nearby,
        crate::appeals::office::one,
        crate::appeals::office::list,
        crate::appeals::office::transition,
        crate::appeals::office::overdue,
        crate::appeals::resident::track,
        crate::appeals::resident::rate_by_token,
        crate::appeals::resident::mine,
        crate::appeals::resident::rate_own,
        crate::appeals::resident::subscriptions,
        crate::appeals::resident::subscribe,
        crate::appeals::resident::unsubscribe,
        crate::appeals::districts::lookup,
        crate::appeals::districts::list,
        crate::appeals::districts::one,
        crate::appeals::resident::withdraw_consent,
        crate::appeals::open311::discovery,
        crate::appeals::open311::services,
        crate::appeals::open311::service,
        crate::appeals::open311::requests,
        crate::appeals::open311::post_request,
        crate::appeals::open311::request,
        crate::import::http::import,
        crate::import::http::energy_readings,
        crate::analytics::run::list,
        crate::analytics::run::run,
        crate::fonts::list,
        crate::fonts::glyphs,
        crate::analytics::tiles::tilejson,
        crate::analytics::tiles::tile,
    ),
    modifiers(&Security),
    tags(
        (name = "OGC API Features", description = "Parts 1 (core), 2 (CRS), 3 (filtering) and 4 (create, replace, update, delete; history)"),
        (name = "server", description = "Health, metrics, this document"),
        (name = "layers", description = "The layer catalogue"),
        (name = "search", description = "Search across layers for the map's search box"),
        (name = "open data", description = "Resolution-835 open datasets: CSV, JSON, GeoJSON"),
        (name = "appeals", description = "The e-reception: filing with photos, nearby duplicates, the workflow and deadlines, the office's queues, the author's tracking link, ratings, area subscriptions, finding one's district and deputies"),
        (name = "Open311", description = "Open311 GeoReport v2 (JSON): categories as services, public appeals as requests"),
        (name = "accounts", description = "Sign-in (bearer tokens), resident registration, password reset, admin of accounts and API keys"),
        (name = "import", description = "Import of files (GeoJSON, CSV, Shapefile, GeoPackage, cadastral XML) into layers and registers, all or nothing; meter readings"),
        (name = "tiles", description = "Vector tiles (Mapbox Vector Tile 2.1), TileJSON 3.0.0, OGC API – Tiles"),
        (name = "analytics", description = "Spatial analyses from the catalogue in analytics/ (JSON, CSV, GeoJSON) and district choropleth tiles"),
    )
)]
pub struct ApiDoc;

/// The two ways to authenticate: a session's bearer token, or an API key.
struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

/// `GET /health` (src/server/health.rs).
#[utoipa::path(get, path = "/health", tag = "server",
    responses(
        (status = 200, description = "`{\"status\":\"ok\"}`: the database answers", content_type = "application/json"),
        (status = 503, description = "The database does not answer", content_type = "application/json"),
    ))]
#[allow(dead_code)]
fn health() {}

/// `GET /metrics` (src/server/metrics.rs).
#[utoipa::path(get, path = "/metrics", tag = "server",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
#[allow(dead_code)]
fn metrics() {}

/// `GET /api/layers` (src/api/layers.rs).
#[utoipa::path(get, path = "/api/layers", tag = "layers",
    responses((status = 200, description = "The layers the requester may see, with the attributes they may read", content_type = "application/json")))]
#[allow(dead_code)]
fn layers() {}

/// `GET /api/layers/{id}` (src/api/layers.rs).
#[utoipa::path(get, path = "/api/layers/{id}", tag = "layers",
    params(("id" = String, Path, description = "Layer id")),
    responses(
        (status = 200, description = "One layer", content_type = "application/json"),
        (status = 404, description = "No such layer for this requester", content_type = "application/problem+json"),
    ))]
#[allow(dead_code)]
fn layer() {}

// The tile routes (src/tiles/routes.rs), described here until the tiles
// module annotates its handlers.

/// `GET /tiles`.
#[utoipa::path(get, path = "/tiles", tag = "tiles",
    responses((status = 200, description = "The tile sets the requester may see", content_type = "application/json")))]
#[allow(dead_code)]
fn tiles_catalogue() {}

/// `GET /tiles/{layers}`.
#[utoipa::path(get, path = "/tiles/{layers}", tag = "tiles",
    params(("layers" = String, Path, description = "Layer id, or several joined by commas")),
    responses(
        (status = 200, description = "TileJSON 3.0.0", content_type = "application/json"),
        (status = 404, description = "No such layer for this requester", content_type = "application/problem+json"),
    ))]
#[allow(dead_code)]
fn tiles_tilejson() {}

/// `GET /tiles/{layers}/{z}/{x}/{y}`.
#[utoipa::path(get, path = "/tiles/{layers}/{z}/{x}/{y}", tag = "tiles",
    params(
        ("layers" = String, Path, description = "Layer id, or several joined by commas"),
        ("z" = u8, Path, description = "Zoom"),
        ("x" = u32, Path, description = "Column"),
        ("y" = u32, Path, description = "Row"),
    ),
    responses(
        (status = 200, description = "A Mapbox Vector Tile", content_type = "application/vnd.mapbox-vector-tile"),
        (status = 400, description = "Bad tile address or parameter", content_type = "application/problem+json"),
        (status = 404, description = "No such layer for this requester", content_type = "application/problem+json"),
    ))]
#[allow(dead_code)]
fn tiles_tile() {}

/// `GET /ogc/tileMatrixSets`.
#[utoipa::path(get, path = "/ogc/tileMatrixSets", tag = "tiles",
    responses((status = 200, description = "The tile matrix sets (WebMercatorQuad)", content_type = "application/json")))]
#[allow(dead_code)]
fn tile_matrix_sets() {}

/// `GET /ogc/tileMatrixSets/WebMercatorQuad`.
#[utoipa::path(get, path = "/ogc/tileMatrixSets/WebMercatorQuad", tag = "tiles",
    responses((status = 200, description = "The WebMercatorQuad tile matrix set", content_type = "application/json")))]
#[allow(dead_code)]
fn web_mercator_quad() {}

/// `GET /ogc/collections/{collectionId}/tiles`.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/tiles", tag = "tiles",
    params(("collectionId" = String, Path, description = "Layer id")),
    responses(
        (status = 200, description = "The collection's vector tile sets", content_type = "application/json"),
        (status = 404, description = "No such collection for this requester", content_type = "application/problem+json"),
    ))]
#[allow(dead_code)]
fn collection_tilesets() {}

/// `GET /ogc/collections/{collectionId}/tiles/WebMercatorQuad`.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/tiles/WebMercatorQuad", tag = "tiles",
    params(("collectionId" = String, Path, description = "Layer id")),
    responses(
        (status = 200, description = "The collection's WebMercatorQuad tile set", content_type = "application/json"),
        (status = 404, description = "No such collection for this requester", content_type = "application/problem+json"),
    ))]
#[allow(dead_code)]
fn collection_tileset() {}

/// `GET /ogc/collections/{collectionId}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}`.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}", tag = "tiles",
    params(
        ("collectionId" = String, Path, description = "Layer id"),
        ("tileMatrix" = u8, Path, description = "Zoom"),
        ("tileRow" = u32, Path, description = "Row"),
        ("tileCol" = u32, Path, description = "Column"),
    ),
    responses(
        (status = 200, description = "A Mapbox Vector Tile", content_type = "application/vnd.mapbox-vector-tile"),
        (status = 400, description = "Bad tile address or parameter", content_type = "application/problem+json"),
        (status = 404, description = "No such collection for this requester", content_type = "application/problem+json"),
    ))]
#[allow(dead_code)]
fn collection_tile() {}

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(openapi_json))
}

/// The generated document, built once.
pub fn document() -> &'static serde_json::Value {
    static DOC: OnceLock<serde_json::Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_value(ApiDoc::openapi()).unwrap_or_default())
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "server",
    responses((status = 200, description = "OpenAPI 3.1 document of every endpoint", content(("application/vnd.oai.openapi+json;version=3.1"), ("application/json")))))]
pub async fn openapi_json(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut doc = document().clone();
    if let Some(obj) = doc.as_object_mut() {
        obj.insert(
            "servers".into(),
            serde_json::json!([{ "url": state.config.public_url() }]),
        );
    }
    // The OpenAPI media type only for clients that ask for it by name
    // without a 3.0 version; GDAL asks for 3.0 or plain JSON.
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let wants_oas31 = accept.split(',').any(|r| {
        let r = r.replace(' ', "");
        r.starts_with("application/vnd.oai.openapi+json") && !r.contains("version=3.0")
    });
    with_type(doc.to_string(), if wants_oas31 { OPENAPI_JSON } else { JSON })
}
