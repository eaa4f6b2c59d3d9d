//! `POST /api/layers/{id}/import` (a file, raw or multipart) and
//! `POST /api/energy/readings` (a meter system's day of readings, JSON),
//! and the request body limits: the import route takes files up to
//! `import_limit` (200 MiB by default), every other route `json_limit`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use http_body_util::BodyExt;
use indicatif::ProgressBar;
use serde::Deserialize;

use super::formats::Parsed;
use super::load::{self, Actor};
use super::{Crs, Format, ImportError, Options, Report, SourceRow, Target, parse_encoding, registers};
use crate::access::Viewer;
use crate::config::Config;
use crate::error::{AppError, Problem};
use crate::registry::Role;
use crate::server::AppState;
use crate::tiles::Bbox;

pub fn routes() -> Router<AppState> {
    Router::new()
        // The size is checked by the handler against `import_limit`.
        .route(
            "/api/layers/{id}/import",
            post(import).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/energy/readings", post(energy_readings))
}

pub fn is_import_path(method: &Method, path: &str) -> bool {
    method == Method::POST && path.starts_with("/api/layers/") && path.ends_with("/import")
}

fn too_large(limit: usize) -> Response {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        Some(format!("the request body is larger than {limit} bytes")),
    )
    .into_response()
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// The server-wide request body limit: `json_limit` for every route but the
/// import, which reads up to `import_limit` itself.
pub async fn limit_bodies(State(config): State<Arc<Config>>, req: Request, next: Next) -> Response {
    if is_import_path(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    // Appeals with photos (multipart) may be larger than JSON bodies.
    let limit = if req.method() == Method::POST && req.uri().path() == "/api/appeals" {
        crate::appeals::filing::MAX_FILING_BYTES.max(config.json_limit)
    } else {
        config.json_limit
    };
    if content_length(req.headers()).is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    let req = req.map(|b| Body::new(http_body_util::Limited::new(b, limit)));
    let response = next.run(req).await;
    // An extractor that hit the limit while reading answers 413 in plain
    // text; every 413 is a problem document.
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_problem {
        return too_large(limit);
    }
    response
}

/// Query parameters (multipart text fields of the same names also count).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `geojson`, `csv`, `shapefile` (zip), `geopackage` or `cadastral_xml`;
    /// by default from the media type, file name or content.
    pub format: Option<String>,
    /// CRS of the file's coordinates: `EPSG:6384`, an OGC URI, or a PROJ
    /// string (SK-63); by default what the file names, else WGS 84.
    pub crs: Option<String>,
    /// Text encoding of CSV/DBF attributes (`utf-8`, `cp1251`, …); by default
    /// the `.cpg`, else UTF-8 if valid, else Windows-1251.
    pub encoding: Option<String>,
    /// `true`: check everything, write nothing, answer the report.
    pub dry_run: Option<String>,
    /// JSON object mapping file columns to fields, e.g. `{"KADNUM":"cadastral_number"}`.
    pub mapping: Option<String>,
    /// JSON object of values for fields the file leaves empty.
    pub defaults: Option<String>,
    /// Name of the file (for the format and the import record).
    pub filename: Option<String>,
}

impl ImportParams {
    fn set(&mut self, name: &str, value: String) {
        let slot = match name {
            "format" => &mut self.format,
            "crs" => &mut self.crs,
            "encoding" => &mut self.encoding,
            "dry_run" | "dry-run" => &mut self.dry_run,
            "mapping" => &mut self.mapping,
            "defaults" => &mut self.defaults,
            "filename" => &mut self.filename,
            _ => return,
        };
        *slot = Some(value);
    }

    pub fn options(&self) -> Result<Options, ImportError> {
        let format = match &self.format {
            Some(f) => Some(Format::parse(f).ok_or_else(|| {
                ImportError::BadRequest(format!(
                    "unknown format `{f}`; use geojson, csv, shapefile, geopackage or cadastral_xml"
                ))
            })?),
            None => None,
        };
        let crs = match &self.crs {
            Some(c) => Some(
                Crs::parse(c)
                    .ok_or_else(|| ImportError::BadRequest(format!("`{c}` is not EPSG:code or a PROJ string")))?,
            ),
            None => None,
        };
        let encoding = match &self.encoding {
            Some(e) => {
                Some(parse_encoding(e).ok_or_else(|| ImportError::BadRequest(format!("unknown encoding `{e}`")))?)
            }
            None => None,
        };
        let dry_run = match self.dry_run.as_deref().map(str::trim) {
            None | Some("false" | "0" | "no") => false,
            Some("" | "true" | "1" | "yes") => true,
            Some(other) => {
                return Err(ImportError::BadRequest(format!(
                    "dry_run must be true or false, not `{other}`"
                )));
            }
        };
        let object =
            |name: &str, text: &Option<String>| -> Result<serde_json::Map<String, serde_json::Value>, ImportError> {
                match text {
                    None => Ok(serde_json::Map::new()),
                    Some(t) if t.trim().is_empty() => Ok(serde_json::Map::new()),
                    Some(t) => match serde_json::from_str(t) {
                        Ok(serde_json::Value::Object(m)) => Ok(m),
                        _ => Err(ImportError::BadRequest(format!("`{name}` must be a JSON object"))),
                    },
                }
            };
        let mut mapping = BTreeMap::new();
        for (k, v) in object("mapping", &self.mapping)? {
            let field = v
                .as_str()
                .ok_or_else(|| ImportError::BadRequest(format!("mapping of `{k}` must be a field name")))?;
            mapping.insert(k, field.to_string());
        }
        Ok(Options {
            format,
            crs,
            encoding,
            dry_run,
            mapping,
            defaults: object("defaults", &self.defaults)?,
            source_name: self.filename.clone().unwrap_or_else(|| "upload".into()),
        })
    }
}

/// The requester's right to import into `id`, answered before the body is read.
fn authorize(state: &AppState, viewer: &Viewer, id: &str) -> Result<Target, ImportError> {
    let target = Target::resolve(&state.registry, id, &viewer.roles).ok_or_else(|| ImportError::NotFound(id.into()))?;
    if !target.may_import(&viewer.roles) {
        viewer.require_any(&target.edit_roles, &format!("importing into {id}"))?;
        return Err(AppError::Forbidden(format!("importing into {id} needs an editor of the layer")).into());
    }
    Ok(target)
}

fn actor(viewer: &Viewer) -> Actor {
    Actor {
        name: viewer.actor.clone().unwrap_or_else(|| "anonymous".into()),
        user_id: viewer.user_id,
    }
}

/// Imports a file into a layer or a register (`accruals`, `payments`,
/// `energy_readings`), all or nothing.
#[utoipa::path(post, path = "/api/layers/{id}/import", tag = "import",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "Layer id, or register: accruals, payments, energy_readings"), ImportParams),
    request_body(description = "The file, raw (Content-Type names the format: application/geo+json, text/csv, \
        application/zip for a zipped Shapefile, application/geopackage+sqlite3, application/xml for the State Land \
        Cadastre exchange file) or as multipart/form-data with a `file` part and the parameters as text parts",
        content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "Imported (or, with dry_run, checked): the report", content_type = "application/json"),
        (status = 400, description = "Unusable parameters (format, crs, encoding, mapping)", content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", content_type = "application/problem+json"),
        (status = 403, description = "The role may not edit this layer", content_type = "application/problem+json"),
        (status = 404, description = "No such layer or register", content_type = "application/problem+json"),
        (status = 413, description = "Larger than the import limit", content_type = "application/problem+json"),
        (status = 422, description = "Unreadable file, or rows rejected: `report.rejected` lists every row, field \
            and reason; nothing was written", content_type = "application/problem+json"),
    ))]
pub async fn import(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(mut params): Query<ImportParams>,
    request: Request,
) -> Result<Response, ImportError> {
    let target = authorize(&state, &viewer, &id)?;
    let limit = state.config.import_limit;
    let (parts, body) = request.into_parts();
    if content_length(&parts.headers).is_some_and(|n| n > limit as u64) {
        return Err(ImportError::TooLarge(limit));
    }
    let bytes: Bytes = match http_body_util::Limited::new(body, limit).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            return Err(ImportError::TooLarge(limit));
        }
        Err(e) => return Err(ImportError::BadRequest(format!("cannot read the request body: {e}"))),
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (bytes, content_type) = if content_type
        .as_deref()
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("multipart/form-data"))
    {
        let request = Request::from_parts(parts, Body::from(bytes));
        read_multipart(request, &state, &mut params).await?
    } else {
        (bytes.to_vec(), content_type)
    };
    if bytes.is_empty() {
        return Err(ImportError::BadRequest("the request holds no file".into()));
    }
    let options = params.options()?;
    let report = load::run(
        &state.pool,
        &target,
        bytes,
        content_type.as_deref(),
        &options,
        &actor(&viewer),
        &ProgressBar::hidden(),
    )
    .await?;
    invalidate_tiles(&state, &target, &report);
    Ok(Json(report).into_response())
}

/// Drops the cached tiles the import touched, before the answer goes out.
fn invalidate_tiles(state: &AppState, target: &Target, report: &Report) {
    if !(report.committed && target.is_layer && target.geometry.is_some()) {
        return;
    }
    match report.bbox {
        Some([x0, y0, x1, y1]) => state.tiles.invalidate_boxes(&target.id, &[Bbox::new(x0, y0, x1, y1)]),
        None => state.tiles.invalidate_layer(&target.id),
    }
}

/// The `file` part (or the first part with a file name) and text parameters.
async fn read_multipart(
    request: Request,
    state: &AppState,
    params: &mut ImportParams,
) -> Result<(Vec<u8>, Option<String>), ImportError> {
    let mut multipart = axum::extract::Multipart::from_request(request, state)
        .await
        .map_err(|e| ImportError::BadRequest(e.body_text()))?;
    let mut file: Option<(Vec<u8>, Option<String>)> = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ImportError::BadRequest(format!("unreadable multipart body: {}", e.body_text())))?
    {
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(str::to_string);
        let data = field
            .bytes()
            .await
            .map_err(|e| ImportError::BadRequest(format!("unreadable multipart body: {}", e.body_text())))?;
        if name == "file" || (file_name.is_some() && file.is_none()) {
            if let Some(f) = file_name
                && params.filename.is_none()
            {
                params.filename = Some(f);
            }
            let content_type = content_type.filter(|c| c != "application/octet-stream");
            file = Some((data.to_vec(), content_type));
        } else {
            params.set(&name, String::from_utf8_lossy(&data).into_owned());
        }
    }
    file.ok_or_else(|| ImportError::BadRequest("the multipart body has no `file` part".into()))
}

/// A meter system's readings of one day.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DayReadings {
    /// The day the readings are for (YYYY-MM-DD).
    pub date: String,
    pub readings: Vec<Reading>,
    /// `true`: check only.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Reading {
    pub object_id: serde_json::Value,
    /// heat_gcal, electricity_kwh, gas_m3, cold_water_m3 or hot_water_m3.
    pub resource: serde_json::Value,
    pub quantity: serde_json::Value,
    #[serde(default)]
    pub meter_number: Option<String>,
}

/// Records a day of energy meter readings, all or nothing (role energy_editor, usually an API key).
#[utoipa::path(post, path = "/api/energy/readings", tag = "import",
    security(("api_key" = []), ("bearer" = [])),
    request_body(content = DayReadings, content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded (or, with dry_run, checked): the report", content_type = "application/json"),
        (status = 401, description = "No credentials", content_type = "application/problem+json"),
        (status = 403, description = "Not an energy editor", content_type = "application/problem+json"),
        (status = 422, description = "Readings rejected (every one listed); nothing was written", content_type = "application/problem+json"),
    ))]
pub async fn energy_readings(
    State(state): State<AppState>,
    viewer: Viewer,
    body: Result<Json<DayReadings>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ImportError> {
    viewer.require_any(&[Role::EnergyEditor], "sending meter readings")?;
    let Json(day) = body.map_err(AppError::from)?;
    let target = registers::target("energy_readings").ok_or_else(|| ImportError::NotFound("energy_readings".into()))?;
    let rows = day
        .readings
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut props = serde_json::Map::new();
            props.insert("object_id".into(), r.object_id.clone());
            props.insert("resource".into(), r.resource.clone());
            props.insert("reading_date".into(), day.date.clone().into());
            props.insert("quantity".into(), r.quantity.clone());
            if let Some(m) = &r.meter_number {
                props.insert("meter_number".into(), m.clone().into());
            }
            SourceRow {
                number: i + 1,
                props,
                geom: None,
                issues: Vec::new(),
            }
        })
        .collect();
    let parsed = Parsed {
        rows,
        columns: ["object_id", "resource", "reading_date", "quantity", "meter_number"]
            .map(String::from)
            .to_vec(),
        ..Parsed::default()
    };
    let options = Options {
        dry_run: day.dry_run,
        source_name: format!("meter readings {}", day.date),
        ..Options::default()
    };
    let report = load::run_rows(&state.pool, &target, parsed, &options, &actor(&viewer)).await?;
    Ok(Json(report).into_response())
}
