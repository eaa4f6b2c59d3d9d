//! District-level results as Mapbox Vector Tiles, built by PostGIS
//! (`ST_AsMVT`) from the same SQL and parameters as the JSON, so a
//! choropleth carries exactly the values the table shows.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value as Json, json};
use sqlx::Row;

use super::AnalyticsError;
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
    viewer: Viewer,
    Path((name, z, x, y)): Path<(String, String, String, String)>,
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
    let mut tx = run::begin(&state.pool).await?;
    let bytes: Option<Vec<u8>> = run::bind_all(sqlx::query(&sql), &req.values)
        .bind(z)
        .bind(x)
        .bind(y)
        .bind(&req.analysis.name)
        .fetch_one(&mut *tx)
        .await?
        .try_get("mvt")?;
    tx.commit().await?;
    let _ = viewer;
    let mut r = bytes.unwrap_or_default().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::tiles::MVT_CONTENT_TYPE),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
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
    query: Pairs,
) -> Result<Response, AnalyticsError> {
    let pairs = query.map_err(|e| AnalyticsError::BadRequest(e.body_text()))?.0;
    let req = run::prepare(&state, &name, &pairs, &[])?;
    if !req.analysis.tiles {
        return Err(AnalyticsError::Unknown(format!("{name}/tiles.json")));
    }
    let rows = run::execute(&state, &req, &viewer).await?;
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
    let inner = run::inner_sql(&req);
    let sql = format!(
        "SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1 \
         FROM (SELECT ST_Extent(q.geom) AS e FROM (\n{inner}\n) q) s"
    );
    let mut tx = run::begin(&state.pool).await?;
    let row = run::bind_all(sqlx::query(&sql), &req.values)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    let bounds: Vec<Option<f64>> = ["x0", "y0", "x1", "y1"]
        .iter()
        .map(|c| row.try_get::<Option<f64>, _>(*c).ok().flatten())
        .collect();
    let bounds: Vec<f64> = if bounds.iter().all(Option::is_some) {
        bounds.into_iter().flatten().collect()
    } else {
        vec![-180.0, -85.051_129, 180.0, 85.051_129]
    };
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
    Ok(r)
}
