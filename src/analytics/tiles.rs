//! District-level results as Mapbox Vector Tiles, built by PostGIS
//! (`ST_AsMVT`) from the same SQL and parameters as the JSON, so a
//! choropleth carries exactly the values the table shows.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value as Json, json};
use sqlx::Row;

use std::sync::Arc;

use super::AnalyticsError;
use super::cache::{self, Cached, Entry};
use super::run::{self, Pairs};
use crate::access::Viewer;
use crate::server::AppState;

const MAX_ZOOM: u8 = 22;
const EXTENT: i32 = 4096;

fn parse_zxy(z: &str, x: &str, y: &str) -> Result<(i32, i32, i32), AnalyticsError> {
    let bad = || AnalyticsError::BadRequest(format!("bad tile address {z}/{x}/{y}"));
    let y = y.strip_suffix(".mvt").or_else(|| y.strip_suffix(".pbf")).unwrap_or(y);
    let z: u8 = z.parse().map_err(|_| bad())?;
    let x: u32 = x.parse().map_err(|_| bad())?;
    let y: u32 = y.parse().map_err(|_| bad())?;
    if z > MAX_ZOOM || x >= (1u32 << z) || y >= (1u32 << z) {
        return Err(bad());
    }
    Ok((i32::from(z), x as i32, y as i32))
}

/// `GET /api/analytics/{name}/tiles/{z}/{x}/{y}[.mvt]` — one layer named
/// after the analysis; the other query parameters are the analysis's.
#[utoipa::path(get, path = "/api/analytics/{name}/tiles/{z}/{x}/{y}", tag = "analytics",
    params(
        ("name" = String, Path, description = "A district-level analysis"),
        ("z" = u8, Path, description = "Zoom"),
        ("x" = u32, Path, description = "Column"),
        ("y" = String, Path, description = "Row, optionally followed by `.mvt`"),
    ),
    responses(
        (status = 200, description = "A Mapbox Vector Tile: one layer named after the analysis, the JSON row's values as properties", content_type = "application/vnd.mapbox-vector-tile"),
        (status = 400, description = "Bad tile address or parameters", content_type = "application/problem+json"),
        (status = 404, description = "No such analysis, or it has no tiles", content_type = "application/problem+json"),
    ))]
pub async fn tile(
    State(state): State<AppState>,
    _viewer: Viewer,
    Path((name, z, x, y)): Path<(String, String, String, String)>,
    headers: axum::http::HeaderMap,
    query: Pairs,
) -> Result<Response, AnalyticsError> {
    let pairs = query.map_err(|e| AnalyticsError::BadRequest(e.body_text()))?.0;
    let (z, x, y) = parse_zxy(&z, &x, &y)?;
    let req = run::prepare(&state, &name, &pairs, &[])?;
    if !req.analysis.tiles {
        return Err(AnalyticsError::Unknown(format!("{name}/tiles")));
    }
    let n = req.values.len();
    let inner = run::inner_sql(&req);
    // Properties are the row without its geometry, as in the JSON.
    let sql = format!(
        "WITH q AS (\n{inner}\n), env AS (SELECT ST_TileEnvelope(${z}, ${x}, ${y}) AS e) \
         SELECT ST_AsMVT(t.*, ${name}, {EXTENT}, 'mvtgeom') AS mvt FROM ( \
           SELECT ST_AsMVTGeom(ST_Transform(q.geom, 3857), env.e, {EXTENT}, 64, true) AS mvtgeom, \
                  (to_jsonb(q) - 'geom') AS props \
           FROM q, env \
           WHERE q.geom && ST_Transform(ST_TileEnvelope(${z}, ${x}, ${y}, margin => 64.0 / {EXTENT}), 4326) \
         ) t WHERE t.mvtgeom IS NOT NULL",
        z = n + 1,
        x = n + 2,
        y = n + 3,
        name = n + 4,
    );
    // Cached like the rows (see `cache`): the tile SQL does not see the
    // viewer (district-level analyses have no per-role attributes), so one
    // entry serves everyone.
    let mut tx = run::begin(&state.replicas.read_pool(None, None).await).await?;
    let snap = cache::snapshot(&mut tx, &inner).await?;
    let key = cache::key(&snap.db, "tile", &inner, &req.values, &format!("{z}/{x}/{y}"));
    let hit = match (cache::get(&key), snap.version) {
        (Some(Cached::Tile(e)), Some(v)) if !cache::bypass(&headers) && e.version == v => Some(e),
        _ => None,
    };
    let (entry, cached) = match hit {
        Some(e) => {
            tx.commit().await?;
            (e, true)
        }
        None => {
            let bytes: Option<Vec<u8>> = run::bind_all(sqlx::query(&sql), &req.values)
                .bind(z)
                .bind(x)
                .bind(y)
                .bind(&req.analysis.name)
                .fetch_one(&mut *tx)
                .await?
                .try_get("mvt")?;
            tx.commit().await?;
            let e = Arc::new(Entry {
                version: snap.version.unwrap_or(-1),
                computed_at: chrono::Utc::now(),
                stored: std::time::Instant::now(),
                value: bytes.unwrap_or_default(),
            });
            if snap.version.is_some() {
                cache::insert(key, Cached::Tile(e.clone()));
            }
            (e, false)
        }
    };
    let prov = run::Provenance {
        computed_at: entry.computed_at,
        cached,
        age_secs: if cached { entry.age_secs() } else { 0 },
        data_version: entry.version,
    };
    let mut r = entry.value.clone().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::tiles::MVT_CONTENT_TYPE),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    prov.headers(&mut r);
    Ok(r)
}

/// `GET /api/analytics/{name}/tiles.json` — TileJSON 3.0.0 of the
/// analysis with these parameters (passed on in the tile URL).
#[utoipa::path(get, path = "/api/analytics/{name}/tiles.json", tag = "analytics",
    params(("name" = String, Path, description = "A district-level analysis")),
    responses(
        (status = 200, description = "TileJSON 3.0.0", content_type = "application/json"),
        (status = 400, description = "Invalid parameters", content_type = "application/problem+json"),
        (status = 404, description = "No such analysis, or it has no tiles", content_type = "application/problem+json"),
    ))]
pub async fn tilejson(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
    query: Pairs,
) -> Result<Response, AnalyticsError> {
    let pairs = query.map_err(|e| AnalyticsError::BadRequest(e.body_text()))?.0;
    let req = run::prepare(&state, &name, &pairs, &[])?;
    if !req.analysis.tiles {
        return Err(AnalyticsError::Unknown(format!("{name}/tiles.json")));
    }
    let (rows, prov) = run::execute(&state, &req, &viewer, cache::bypass(&headers)).await?;
    let columns = run::columns(&state, &req, &rows, &viewer).await?;
    let mut fields = Map::new();
    for c in &columns {
        let kind = match rows.iter().find_map(|r| r.props.get(c).filter(|v| !v.is_null())) {
            Some(Json::Number(_)) => "Number",
            Some(Json::Bool(_)) => "Boolean",
            _ => "String",
        };
        fields.insert(c.clone(), json!(kind));
    }
    // The extent of the rows' geometries.
    let bounds = rows
        .iter()
        .filter_map(|r| r.bbox)
        .reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])])
        .map_or_else(|| vec![-180.0, -85.051_129, 180.0, 85.051_129], |b| b.to_vec());
    let query: Vec<(String, String)> = pairs.into_iter().filter(|(n, _)| n != "f").collect();
    let qs = serde_urlencoded::to_string(&query).unwrap_or_default();
    let base = state.config.public_url();
    let url = format!(
        "{base}/api/analytics/{}/tiles/{{z}}/{{x}}/{{y}}.mvt{}{qs}",
        req.analysis.name,
        if qs.is_empty() { "" } else { "?" }
    );
    let doc = json!({
        "tilejson": "3.0.0",
        "name": req.analysis.name,
        "description": req.analysis.description.en,
        "tiles": [url],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0, 11],
        "vector_layers": [{ "id": req.analysis.name, "fields": fields, "minzoom": 0, "maxzoom": MAX_ZOOM }],
    });
    let mut r = doc.to_string().into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    prov.headers(&mut r);
    Ok(r)
}
