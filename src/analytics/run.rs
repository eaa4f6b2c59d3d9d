//! Running an analysis: parameters checked, SQL run in a read-only
//! transaction with the parameters bound, the rows written as JSON, CSV or
//! GeoJSON.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value as Json, json};
use sqlx::postgres::PgArguments;
use sqlx::query::Query as SqlQuery;
use sqlx::{Postgres, Row};

use std::sync::Arc;

use super::AnalyticsError;
use super::cache::{self, Cached, Entry};
use super::catalogue::{self, Analysis, Catalogue, Source};
use super::params::{self, Value};
use crate::access::Viewer;
use crate::server::AppState;

pub type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// Longest an analysis may run.
const STATEMENT_TIMEOUT: &str = "25s";

pub fn load(state: &AppState) -> Result<Catalogue, AnalyticsError> {
    let dir = catalogue::dir(&state.config.layers_dir);
    Catalogue::load(&dir).inspect_err(|e| tracing::error!(error = %e, "analytics catalogue"))
}

/// The analysis and its checked parameter values.
pub struct Request {
    pub analysis: Analysis,
    pub values: Vec<Value>,
    pub catalogue: Catalogue,
}

pub fn prepare(
    state: &AppState,
    name: &str,
    pairs: &[(String, String)],
    extra: &[&str],
) -> Result<Request, AnalyticsError> {
    let catalogue = load(state)?;
    let analysis = catalogue
        .get(name)
        .cloned()
        .ok_or_else(|| AnalyticsError::Unknown(name.to_string()))?;
    let values = params::resolve(&analysis.params, pairs, extra).map_err(AnalyticsError::Params)?;
    Ok(Request {
        analysis,
        values,
        catalogue,
    })
}

/// The analysis's own SQL (a single SELECT taking `$1…$n`).
pub fn inner_sql(req: &Request) -> String {
    match &req.analysis.source {
        Source::Sql(s) => s.trim().trim_end_matches(';').to_string(),
        Source::Indicators => super::indicators::sql(&req.catalogue.indicators),
    }
}

pub fn bind_all<'q>(
    mut q: SqlQuery<'q, Postgres, PgArguments>,
    values: &[Value],
) -> SqlQuery<'q, Postgres, PgArguments> {
    for v in values {
        q = match v.clone() {
            Value::Integer(x) => q.bind(x),
            Value::Number(x) => q.bind(x),
            Value::Date(x) => q.bind(x),
            Value::String(x) => q.bind(x),
            Value::Boolean(x) => q.bind(x),
        };
    }
    q
}

/// A read-only transaction with a time limit: catalogue SQL can neither
/// change data nor hold a connection for long.
/// Repeatable read: the data version read first (`cache::snapshot`)
/// describes exactly the rows the analysis then reads.
pub async fn begin(pool: &sqlx::PgPool) -> Result<sqlx::Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'"))
        .execute(&mut *tx)
        .await?;
    // JIT compilation costs more than it saves on these one-off queries
    // (a second on a loaded machine, for queries that run in 200 ms).
    sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
    Ok(tx)
}

/// One result row: its properties (in column order, `geom` removed) and,
/// for analyses with geometry, the geometry as GeoJSON and WKT and its
/// bounding box (lon/lat: x0, y0, x1, y1).
#[derive(Clone)]
pub struct Row_ {
    pub props: Map<String, Json>,
    pub geojson: Option<String>,
    pub wkt: Option<String>,
    pub bbox: Option<[f64; 4]>,
}

/// Where an answer came from: computed now, or the cache (with its age).
#[derive(Clone, Copy)]
pub struct Provenance {
    pub computed_at: chrono::DateTime<chrono::Utc>,
    pub cached: bool,
    pub age_secs: u64,
    pub data_version: i64,
}

impl Provenance {
    /// `computed_at`, `cached`, `age_s` and `data_version` for a JSON answer.
    pub fn insert_into(&self, obj: &mut Map<String, Json>) {
        obj.insert(
            "computed_at".into(),
            json!(self.computed_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
        obj.insert("cached".into(), json!(self.cached));
        obj.insert("age_s".into(), json!(self.age_secs));
        obj.insert("data_version".into(), json!(self.data_version));
    }

    /// `Age` (RFC 9111) and `X-Computed-At` headers.
    pub fn headers(&self, r: &mut Response) {
        if let Ok(v) = HeaderValue::from_str(&self.age_secs.to_string()) {
            r.headers_mut().insert(header::AGE, v);
        }
        if let Ok(v) = HeaderValue::from_str(&self.computed_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)) {
            r.headers_mut().insert("x-computed-at", v);
        }
    }
}

/// The attributes a row-level analysis may output for this viewer.
fn allowed_columns(
    state: &AppState,
    analysis: &Analysis,
    viewer: &Viewer,
) -> Result<Option<Vec<String>>, AnalyticsError> {
    let Some(layer_id) = &analysis.layer else {
        return Ok(None);
    };
    let layer = state
        .registry
        .get_visible(layer_id, &viewer.roles)
        .ok_or_else(|| AnalyticsError::Unknown(analysis.name.clone()))?;
    let mut allowed: Vec<String> = crate::query::readable(layer, viewer)
        .iter()
        .map(|a| a.name.clone())
        .collect();
    allowed.push("id".into());
    allowed.extend(analysis.derived.iter().cloned());
    Ok(Some(allowed))
}

/// The analysis's rows for this viewer: from the cache when they were
/// computed for the current data version (unless `fresh`), else computed
/// now and cached.
pub async fn execute(
    state: &AppState,
    req: &Request,
    viewer: &Viewer,
    fresh: bool,
) -> Result<(Vec<Row_>, Provenance), AnalyticsError> {
    let allowed = allowed_columns(state, &req.analysis, viewer)?;
    let pool = state.reader(viewer).await;
    let (entry, cached) = match rows(&pool, req, fresh, None).await? {
        Outcome::Hit(e) => (e, true),
        Outcome::Computed(e) => (e, false),
        // `rows` skips only when asked for a version, which is not done here.
        Outcome::Skipped => {
            return Err(AnalyticsError::Catalogue(format!(
                "`{}` was skipped",
                req.analysis.name
            )));
        }
    };
    let prov = Provenance {
        computed_at: entry.computed_at,
        cached,
        age_secs: if cached { entry.age_secs() } else { 0 },
        data_version: entry.version,
    };
    Ok((cut(&entry.value, allowed.as_deref()), prov))
}

/// What [`rows`] did.
pub enum Outcome {
    Hit(Arc<Entry<Vec<Row_>>>),
    Computed(Arc<Entry<Vec<Row_>>>),
    /// `only_at` was given and the data are at another version (or the
    /// analysis is not cacheable): nothing was run.
    Skipped,
}

/// The raw rows of `req` (every column): the cached entry of the current
/// data version (unless `fresh`), else computed and cached. With
/// `only_at`, runs only when the data are at that version (the warmer
/// computes nothing for a version it has not seen settle).
pub async fn rows(
    pool: &sqlx::PgPool,
    req: &Request,
    fresh: bool,
    only_at: Option<i64>,
) -> Result<Outcome, AnalyticsError> {
    let inner = inner_sql(req);
    let mut tx = begin(pool).await?;
    let snap = cache::snapshot(&mut tx, &inner).await?;
    if only_at.is_some() && snap.version != only_at {
        tx.commit().await?;
        return Ok(Outcome::Skipped);
    }
    let key = cache::key(&snap.db, "rows", &inner, &req.values, "");
    if let (Some(Cached::Rows(e)), Some(v)) = (cache::get(&key), snap.version)
        && !fresh
        && e.version == v
    {
        tx.commit().await?;
        return Ok(Outcome::Hit(e));
    }
    let rows = compute(req, &inner, &mut tx).await?;
    tx.commit().await?;
    let e = Arc::new(Entry {
        version: snap.version.unwrap_or(-1),
        computed_at: chrono::Utc::now(),
        stored: std::time::Instant::now(),
        value: rows,
    });
    if snap.version.is_some() {
        cache::insert(key, Cached::Rows(e.clone()));
    }
    Ok(Outcome::Computed(e))
}

/// The rows cut to the attributes the viewer may read.
fn cut(rows: &[Row_], allowed: Option<&[String]>) -> Vec<Row_> {
    rows.iter()
        .map(|r| {
            let mut r = r.clone();
            if let Some(allowed) = allowed {
                r.props.retain(|k, _| allowed.iter().any(|a| a == k));
            }
            r
        })
        .collect()
}

async fn compute(
    req: &Request,
    inner: &str,
    tx: &mut sqlx::Transaction<'static, Postgres>,
) -> Result<Vec<Row_>, AnalyticsError> {
    if let Some(spec) = &req.analysis.dbscan {
        return clustered(req, spec, inner, tx).await;
    }
    let sql = if req.analysis.geometry {
        format!(
            "SELECT row_to_json(q)::text AS props, ST_AsGeoJSON(q.geom, 7) AS gj, ST_AsText(q.geom) AS wkt, \
             ST_XMin(q.geom) AS x0, ST_YMin(q.geom) AS y0, ST_XMax(q.geom) AS x1, ST_YMax(q.geom) AS y1 \
             FROM (\n{inner}\n) q"
        )
    } else {
        format!(
            "SELECT row_to_json(q)::text AS props, NULL::text AS gj, NULL::text AS wkt, \
             NULL::float8 AS x0, NULL::float8 AS y0, NULL::float8 AS x1, NULL::float8 AS y1 FROM (\n{inner}\n) q"
        )
    };
    let started = std::time::Instant::now();
    let rows = bind_all(sqlx::query(&sql), &req.values).fetch_all(&mut **tx).await?;
    tracing::debug!(analysis = %req.analysis.name, rows = rows.len(), ms = started.elapsed().as_millis() as u64, "analysis ran");
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let text: String = row.try_get("props")?;
        let mut props: Map<String, Json> =
            serde_json::from_str(&text).map_err(|e| AnalyticsError::Db(sqlx::Error::Decode(Box::new(e))))?;
        props.shift_remove("geom");
        let b: [Option<f64>; 4] = [
            row.try_get("x0")?,
            row.try_get("y0")?,
            row.try_get("x1")?,
            row.try_get("y1")?,
        ];
        let bbox = match b {
            [Some(x0), Some(y0), Some(x1), Some(y1)] => Some([x0, y0, x1, y1]),
            _ => None,
        };
        out.push(Row_ {
            props,
            geojson: row.try_get("gj")?,
            wkt: row.try_get("wkt")?,
            bbox,
        });
    }
    Ok(out)
}

/// The DBSCAN clusters of the points the analysis's SQL selects
/// (`[dbscan]`, see `dbscan.rs`), as rows like any other analysis's.
async fn clustered(
    req: &Request,
    spec: &catalogue::Dbscan,
    inner: &str,
    tx: &mut sqlx::Transaction<'static, Postgres>,
) -> Result<Vec<Row_>, AnalyticsError> {
    use futures::TryStreamExt;
    let param = |name: &str| {
        req.analysis
            .params
            .iter()
            .position(|p| p.name == name)
            .and_then(|i| req.values.get(i))
    };
    let eps = match param(&spec.eps) {
        Some(Value::Number(Some(x))) if *x > 0.0 => *x,
        _ => {
            return Err(AnalyticsError::BadRequest(format!(
                "`{}` must be a positive number",
                spec.eps
            )));
        }
    };
    let min_points = match param(&spec.min_points) {
        Some(Value::Integer(Some(x))) if *x >= 1 => usize::try_from(*x).unwrap_or(usize::MAX),
        _ => {
            return Err(AnalyticsError::BadRequest(format!(
                "`{}` must be a positive integer",
                spec.min_points
            )));
        }
    };
    let sql = format!("SELECT q.x::float8 AS x, q.y::float8 AS y, q.label::text AS label FROM (\n{inner}\n) q");
    let started = std::time::Instant::now();
    let (mut lon, mut lat, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    let mut stream = bind_all(sqlx::query(&sql), &req.values).fetch(&mut **tx);
    while let Some(row) = stream.try_next().await? {
        let (x, y): (Option<f64>, Option<f64>) = (row.try_get("x")?, row.try_get("y")?);
        if let (Some(x), Some(y)) = (x, y) {
            lon.push(x);
            lat.push(y);
            labels.push(row.try_get::<Option<String>, _>("label")?);
        }
    }
    drop(stream);
    let fetched = started.elapsed();
    let clusters = super::dbscan::clusters(&lon, &lat, eps, min_points);
    let summaries = super::dbscan::summarise(&lon, &lat, &labels, &clusters);
    tracing::debug!(analysis = %req.analysis.name, points = lon.len(), clusters = summaries.len(),
        fetch_ms = fetched.as_millis() as u64, ms = started.elapsed().as_millis() as u64, "analysis ran");
    let round = |v: f64, places: i32| {
        let k = 10f64.powi(places);
        (v * k).round() / k
    };
    Ok(summaries
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let mut props = Map::new();
            props.insert("id".into(), json!(i + 1));
            props.insert(spec.count.clone(), json!(c.count));
            props.insert(spec.top_label.clone(), json!(c.top_label));
            props.insert("lat".into(), json!(round(c.lat, 5)));
            props.insert("lon".into(), json!(round(c.lon, 5)));
            props.insert("radius_m".into(), json!(round(c.radius_m, 1)));
            Row_ {
                props,
                geojson: Some(json!({"type": "Point", "coordinates": [round(c.lon, 7), round(c.lat, 7)]}).to_string()),
                wkt: Some(format!("POINT({} {})", c.lon, c.lat)),
                bbox: Some([c.lon, c.lat, c.lon, c.lat]),
            }
        })
        .collect())
}

/// Column names of the result, from the rows or (when there are none) from
/// the statement's description.
pub async fn columns(
    state: &AppState,
    req: &Request,
    rows: &[Row_],
    viewer: &Viewer,
) -> Result<Vec<String>, AnalyticsError> {
    if let Some(first) = rows.first() {
        return Ok(first.props.keys().cloned().collect());
    }
    if let Some(spec) = &req.analysis.dbscan {
        return Ok(spec.columns());
    }
    use sqlx::{Column, Executor};
    let allowed = allowed_columns(state, &req.analysis, viewer)?;
    let inner = inner_sql(req);
    let described = (&state.pool).describe(&inner).await?;
    Ok(described
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .filter(|c| c != "geom")
        .filter(|c| allowed.as_ref().is_none_or(|a| a.contains(c)))
        .collect())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
    GeoJson,
}

fn format(pairs: &[(String, String)], analysis: &Analysis) -> Result<Format, AnalyticsError> {
    let f = pairs
        .iter()
        .find(|(n, _)| n == "f")
        .map(|(_, v)| v.to_ascii_lowercase());
    match f.as_deref() {
        None | Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some("geojson") if analysis.geometry => Ok(Format::GeoJson),
        Some("geojson") => Err(AnalyticsError::BadRequest(format!(
            "`{}` has no geometry: f=json or f=csv",
            analysis.name
        ))),
        Some(other) => Err(AnalyticsError::BadRequest(format!(
            "unknown format f={other}: json, csv{}",
            if analysis.geometry { ", geojson" } else { "" }
        ))),
    }
}

fn params_json(req: &Request) -> Map<String, Json> {
    req.analysis
        .params
        .iter()
        .zip(&req.values)
        .map(|(p, v)| (p.name.clone(), v.to_json()))
        .collect()
}

fn with_type(body: Vec<u8>, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A value as CSV text: strings as they are, nested values as JSON.
fn csv_text(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `GET /api/analytics/{name}`.
#[utoipa::path(get, path = "/api/analytics/{name}", tag = "analytics",
    params(
        ("name" = String, Path, description = "Analysis name (see `/api/analytics`)"),
        ("f" = Option<String>, Query, description = "`json` (default), `csv`, or `geojson` for analyses with geometry"),
    ),
    responses(
        (status = 200, description = "The result: JSON (`rows`, `columns`, `params`; `computed_at`, `cached`, `age_s`, `data_version`: results are cached until the data change, at most 5 minutes), CSV or GeoJSON; the `Age` header states the age. `Cache-Control: no-cache` computes afresh", content(("application/json"), ("text/csv"), ("application/geo+json"))),
        (status = 400, description = "Invalid parameters, each listed in `errors`", content_type = "application/problem+json"),
        (status = 404, description = "No such analysis", content_type = "application/problem+json"),
    ))]
pub async fn run(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
    query: Pairs,
) -> Result<Response, AnalyticsError> {
    let pairs = query.map_err(|e| AnalyticsError::BadRequest(e.body_text()))?.0;
    let req = prepare(&state, &name, &pairs, &[])?;
    let format = format(&pairs, &req.analysis)?;
    let (rows, prov) = execute(&state, &req, &viewer, cache::bypass(&headers)).await?;
    let mut resp = answer(&state, &req, &viewer, format, rows, prov).await?;
    prov.headers(&mut resp);
    Ok(resp)
}

async fn answer(
    state: &AppState,
    req: &Request,
    viewer: &Viewer,
    format: Format,
    rows: Vec<Row_>,
    prov: Provenance,
) -> Result<Response, AnalyticsError> {
    match format {
        Format::Json => {
            let columns = columns(state, req, &rows, viewer).await?;
            let mut doc = json!({
                "name": req.analysis.name,
                "title": req.analysis.title,
                "params": params_json(req),
                "columns": columns,
                "count": rows.len(),
            });
            if let Some(obj) = doc.as_object_mut() {
                prov.insert_into(obj);
            }
            if matches!(req.analysis.source, Source::Indicators)
                && let Some(obj) = doc.as_object_mut()
            {
                obj.insert("indicators".into(), json!(req.catalogue.indicators));
            }
            let list: Vec<Json> = rows.into_iter().map(|r| Json::Object(r.props)).collect();
            if let Some(obj) = doc.as_object_mut() {
                obj.insert("rows".into(), Json::Array(list));
            }
            Ok(with_type(doc.to_string().into_bytes(), "application/json"))
        }
        Format::GeoJson => {
            let mut features = Vec::with_capacity(rows.len());
            for r in rows {
                let geometry: Json = match &r.geojson {
                    Some(g) => {
                        serde_json::from_str(g).map_err(|e| AnalyticsError::Db(sqlx::Error::Decode(Box::new(e))))?
                    }
                    None => Json::Null,
                };
                let mut f =
                    json!({"type": "Feature", "geometry": geometry, "properties": Json::Object(r.props.clone())});
                if let (Some(id), Some(obj)) = (r.props.get("id"), f.as_object_mut()) {
                    obj.insert("id".into(), id.clone());
                }
                features.push(f);
            }
            let mut doc = json!({
                "type": "FeatureCollection",
                "name": req.analysis.name,
                "params": params_json(req),
                "features": features,
            });
            if let Some(obj) = doc.as_object_mut() {
                prov.insert_into(obj);
            }
            Ok(with_type(doc.to_string().into_bytes(), "application/geo+json"))
        }
        Format::Csv => {
            let columns = columns(state, req, &rows, viewer).await?;
            let mut w = csv::Writer::from_writer(Vec::new());
            let bad = |e: csv::Error| AnalyticsError::BadRequest(format!("cannot write CSV: {e}"));
            let mut header: Vec<&str> = columns.iter().map(String::as_str).collect();
            if req.analysis.geometry {
                header.push("geometry");
            }
            w.write_record(&header).map_err(bad)?;
            for r in &rows {
                let mut rec: Vec<String> = columns
                    .iter()
                    .map(|c| r.props.get(c).map(csv_text).unwrap_or_default())
                    .collect();
                if req.analysis.geometry {
                    rec.push(r.wkt.clone().unwrap_or_default());
                }
                w.write_record(&rec).map_err(bad)?;
            }
            let body = w
                .into_inner()
                .map_err(|e| AnalyticsError::BadRequest(format!("cannot write CSV: {e}")))?;
            let mut resp = with_type(body, "text/csv; charset=utf-8");
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}.csv\"", req.analysis.name)) {
                resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            Ok(resp)
        }
    }
}

/// `GET /api/analytics`: the catalogue with each parameter schema.
#[utoipa::path(get, path = "/api/analytics", tag = "analytics",
    responses((status = 200, description = "Every analysis: name, title (uk, en), description, parameter schema (name, type, required, default, min, max, enum), formats, TileJSON link; the district indicators", content_type = "application/json")))]
pub async fn list(State(state): State<AppState>) -> Result<Response, AnalyticsError> {
    let catalogue = load(&state)?;
    let base = state.config.public_url();
    let analyses: Vec<Json> = catalogue
        .analyses
        .iter()
        .map(|a| {
            let mut formats = vec!["json", "csv"];
            if a.geometry {
                formats.push("geojson");
            }
            let mut v = json!({
                "name": a.name,
                "title": a.title,
                "description": a.description,
                "params": a.params,
                "formats": formats,
                "geometry": a.geometry,
                "href": format!("{base}/api/analytics/{}", a.name),
            });
            if let Some(obj) = v.as_object_mut() {
                if a.tiles {
                    obj.insert(
                        "tilejson".into(),
                        json!(format!("{base}/api/analytics/{}/tiles.json", a.name)),
                    );
                }
                if let Some(l) = &a.layer {
                    obj.insert("layer".into(), json!(l));
                }
                if matches!(a.source, Source::Indicators) {
                    obj.insert("indicators".into(), json!(catalogue.indicators));
                }
            }
            v
        })
        .collect();
    let doc = json!({ "analyses": analyses });
    Ok(with_type(doc.to_string().into_bytes(), "application/json"))
}
