//! Open311 GeoReport v2 under `/open311/v2` (JSON): services are the appeal
//! categories; requests are public appeals. Filing goes through the same
//! path as the API (`filing::file_appeal`), so numbering, routing, deadlines
//! and rate limits are the same. Errors are GeoReport's `[{code, description}]`.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;

use super::filing::{Channel, Contact, NewAppeal, file_appeal};
use super::workflow::open311_status;
use crate::access::Viewer;
use crate::auth::ClientIp;
use crate::error::AppError;
use crate::server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/discovery.json", get(discovery))
        .route("/open311/v2/services.json", get(services))
        .route("/open311/v2/services/{file}", get(service))
        .route("/open311/v2/requests.json", get(requests).post(post_request))
        .route("/open311/v2/requests/{file}", get(request))
}

/// A GeoReport error: the status and `[{code, description}]`.
pub struct GeoReportError(StatusCode, String);

impl IntoResponse for GeoReportError {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(json!([{ "code": self.0.as_u16(), "description": self.1 }])),
        )
            .into_response()
    }
}

impl From<AppError> for GeoReportError {
    fn from(e: AppError) -> Self {
        let status = e.status();
        let text = if status.is_server_error() {
            tracing::error!(error = %e, "open311 request failed");
            "internal error".to_string()
        } else {
            e.to_string()
        };
        GeoReportError(status, text)
    }
}

impl From<sqlx::Error> for GeoReportError {
    fn from(e: sqlx::Error) -> Self {
        AppError::from(e).into()
    }
}

type GeoResult<T> = Result<T, GeoReportError>;

fn json_file(file: &str) -> GeoResult<&str> {
    file.strip_suffix(".json").ok_or_else(|| {
        GeoReportError(
            StatusCode::BAD_REQUEST,
            "only the JSON format is served: end the path with .json".into(),
        )
    })
}

/// Where the endpoint is and what it speaks (GeoReport discovery).
#[utoipa::path(get, path = "/open311/v2/discovery.json", tag = "Open311",
    responses((status = 200, description = "GeoReport v2 discovery document", content_type = "application/json")))]
pub async fn discovery(State(state): State<AppState>) -> Json<Value> {
    let base = format!("{}/open311/v2/", state.config.public_url());
    Json(json!({
        "changeset": "2026-11-23T00:00:00Z",
        "contact": "Геопортал міста: відділ роботи зі зверненнями громадян",
        "key_service": "API keys are issued by the city's IT department (admin, /api/admin/api-keys)",
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": base,
            "changeset": "2026-11-23T00:00:00Z",
            "type": "production",
            "formats": ["application/json"],
        }],
    }))
}

const SERVICE: &str = "jsonb_build_object('service_code', c.code, 'service_name', c.title_uk, \
    'description', c.title_en, 'metadata', true, 'type', 'realtime', \
    'keywords', concat_ws(',', c.code, c.title_en), 'group', coalesce(p.title_uk, c.title_uk))";

/// The services: our appeal categories.
#[utoipa::path(get, path = "/open311/v2/services.json", tag = "Open311",
    responses((status = 200, description = "GeoReport v2 service list", content_type = "application/json")))]
pub async fn services(State(state): State<AppState>) -> GeoResult<Json<Value>> {
    let list: Value = sqlx::query_scalar(&format!(
        "SELECT coalesce(jsonb_agg({SERVICE} ORDER BY c.sort_order, c.code), '[]') \
         FROM appeal_categories c LEFT JOIN appeal_categories p ON p.code = c.parent_code \
         WHERE c.deleted_at IS NULL"
    ))
    .fetch_one(&state.pool)
    .await?;
    Ok(Json(list))
}

/// A service's definition: the attribute `kind` of the appeal.
#[utoipa::path(get, path = "/open311/v2/services/{file}", tag = "Open311",
    params(("file" = String, Path, description = "`{service_code}.json`")),
    responses(
        (status = 200, description = "GeoReport v2 service definition", content_type = "application/json"),
        (status = 404, description = "No such service", content_type = "application/json"),
    ))]
pub async fn service(State(state): State<AppState>, Path(file): Path<String>) -> GeoResult<Json<Value>> {
    let code = json_file(&file)?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM appeal_categories WHERE code = $1 AND deleted_at IS NULL)")
            .bind(code)
            .fetch_one(&state.pool)
            .await?;
    if !exists {
        return Err(GeoReportError(StatusCode::NOT_FOUND, format!("no service `{code}`")));
    }
    let values: Vec<Value> = super::filing::KINDS
        .iter()
        .map(|k| json!({"key": k, "name": k}))
        .collect();
    Ok(Json(json!({
        "service_code": code,
        "attributes": [{
            "variable": true, "code": "kind", "datatype": "singlevaluelist", "required": false,
            "datatype_description": "complaint (default), proposal, request, info_request or emergency",
            "order": 1, "description": "Kind of appeal", "values": values,
        }],
    })))
}

fn form_value<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// Files a request (form-encoded, as GeoReport v2 says). Needs an API key
/// (`api_key` field or `X-API-Key`); a contact (email or phone) is required
/// because the law does not consider anonymous appeals.
#[utoipa::path(post, path = "/open311/v2/requests.json", tag = "Open311",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "api_key, service_code, lat, long or address_string, description, email, first_name, last_name, phone, attribute[kind]"),
    responses(
        (status = 200, description = "`[{service_request_id, service_notice}]`", content_type = "application/json"),
        (status = 400, description = "Missing or bad fields", content_type = "application/json"),
        (status = 403, description = "Missing or invalid api_key", content_type = "application/json"),
        (status = 429, description = "Too many requests", content_type = "application/json"),
    ))]
pub async fn post_request(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> GeoResult<Json<Value>> {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|e| GeoReportError(StatusCode::BAD_REQUEST, format!("the body is not form-encoded: {e}")))?;
    let key = form_value(&form, "api_key")
        .map(String::from)
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(String::from))
        .ok_or_else(|| GeoReportError(StatusCode::FORBIDDEN, "api_key is required".into()))?;
    let mut key_headers = HeaderMap::new();
    key_headers.insert(
        "x-api-key",
        key.parse()
            .map_err(|_| GeoReportError(StatusCode::FORBIDDEN, "invalid api_key".into()))?,
    );
    let viewer: Viewer = state
        .auth
        .resolve(&state.pool, &key_headers)
        .await
        .map_err(|_| GeoReportError(StatusCode::FORBIDDEN, "invalid api_key".into()))?;
    let number = |k: &str| -> GeoResult<Option<f64>> {
        form_value(&form, k)
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| GeoReportError(StatusCode::BAD_REQUEST, format!("{k} must be a number")))
            })
            .transpose()
    };
    let service_code = form_value(&form, "service_code")
        .ok_or_else(|| GeoReportError(StatusCode::BAD_REQUEST, "service_code is required".into()))?;
    let name = [form_value(&form, "first_name"), form_value(&form, "last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let input = NewAppeal {
        kind: form_value(&form, "attribute[kind]").unwrap_or("complaint").to_string(),
        category: service_code.to_string(),
        description: form_value(&form, "description").unwrap_or("").to_string(),
        lon: number("long")?,
        lat: number("lat")?,
        address: form_value(&form, "address_string").map(String::from),
        addressed_deputy_id: None,
        related_layer: None,
        related_id: None,
        contact: Contact {
            name,
            email: form_value(&form, "email").map(String::from),
            phone: form_value(&form, "phone").map(String::from),
            address: None,
        },
        consent_public: false,
    };
    // The client app files on the resident's behalf: not as itself.
    let author = Viewer::default();
    let filed = file_appeal(
        &state,
        &author,
        input,
        Vec::new(),
        Channel {
            name: "open311",
            client_ip: ip,
        },
    )
    .await
    .map_err(|e| match e {
        AppError::Unprocessable(d) => GeoReportError(StatusCode::BAD_REQUEST, d),
        other => other.into(),
    })?;
    tracing::info!(client = viewer.actor.as_deref().unwrap_or("?"), "open311 request filed");
    Ok(Json(json!([{
        "service_request_id": filed.public_number,
        "service_notice": "Звернення прийнято; відповідь — у строки Закону «Про звернення громадян». Accepted.",
        "account_id": null,
    }])))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestsQuery {
    service_request_id: Option<String>,
    service_code: Option<String>,
    start_date: Option<DateTime<Utc>>,
    end_date: Option<DateTime<Utc>>,
    status: Option<String>,
    jurisdiction_id: Option<String>,
    /// Common extensions: pages, and a circle around a point.
    page: Option<i64>,
    page_size: Option<i64>,
    lat: Option<f64>,
    long: Option<f64>,
    radius: Option<f64>,
}

/// The public requests: public appeals past registration, never spam.
const REQUEST_SQL: &str = "SELECT a.public_number, a.status, a.category, c.title_uk AS service_name, a.description, \
    e.name AS agency, a.created_at, a.updated_at, a.due_at, a.address_text, ST_Y(a.geom) AS lat, ST_X(a.geom) AS lon, \
    coalesce(a.answer, a.reject_reason, a.forwarded_to) AS notes \
    FROM appeals a JOIN appeal_categories c ON c.code = a.category LEFT JOIN executors e ON e.id = a.executor_id \
    WHERE a.deleted_at IS NULL AND a.is_public AND a.status NOT IN ('submitted', 'spam') ";

fn request_doc(row: &sqlx::postgres::PgRow) -> Result<Value, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let time = |k: &str| -> Result<Option<String>, sqlx::Error> {
        Ok(row.try_get::<Option<DateTime<Utc>>, _>(k)?.map(super::kyiv))
    };
    Ok(json!({
        "service_request_id": row.try_get::<String, _>("public_number")?,
        "status": open311_status(&status),
        "status_notes": row.try_get::<Option<String>, _>("notes")?,
        "service_name": row.try_get::<String, _>("service_name")?,
        "service_code": row.try_get::<String, _>("category")?,
        "description": row.try_get::<String, _>("description")?,
        "agency_responsible": row.try_get::<Option<String>, _>("agency")?,
        "service_notice": null,
        "requested_datetime": time("created_at")?,
        "updated_datetime": time("updated_at")?,
        "expected_datetime": time("due_at")?,
        "address": row.try_get::<Option<String>, _>("address_text")?,
        "address_id": null,
        "zipcode": null,
        "lat": row.try_get::<f64, _>("lat")?,
        "long": row.try_get::<f64, _>("lon")?,
        "media_url": null,
    }))
}

/// Public requests, newest first (default: the last 90 days; at most 1000).
#[utoipa::path(get, path = "/open311/v2/requests.json", tag = "Open311",
    params(
        ("service_request_id" = Option<String>, Query, description = "Comma list of request ids (public numbers); other filters are then ignored"),
        ("service_code" = Option<String>, Query, description = "Category code"),
        ("start_date" = Option<String>, Query, description = "RFC 3339"),
        ("end_date" = Option<String>, Query, description = "RFC 3339"),
        ("status" = Option<String>, Query, description = "open or closed"),
        ("page" = Option<i64>, Query, description = "1-based page (extension)"),
        ("page_size" = Option<i64>, Query, description = "1–1000, default 1000 (extension)"),
        ("lat" = Option<f64>, Query, description = "With long and radius: only requests within radius metres (extension)"),
        ("long" = Option<f64>, Query, description = "See lat"),
        ("radius" = Option<f64>, Query, description = "Metres, 1–50000 (extension)"),
    ),
    responses(
        (status = 200, description = "GeoReport v2 requests", content_type = "application/json"),
        (status = 400, description = "Bad parameter", content_type = "application/json"),
    ))]
pub async fn requests(
    State(state): State<AppState>,
    query: Result<Query<RequestsQuery>, QueryRejection>,
) -> GeoResult<Json<Value>> {
    let Query(q) = query.map_err(|e| GeoReportError(StatusCode::BAD_REQUEST, e.body_text()))?;
    let _ = q.jurisdiction_id;
    let rows = if let Some(ids) = q.service_request_id {
        let ids: Vec<String> = ids.split(',').map(|s| s.trim().to_string()).collect();
        sqlx::query(&format!(
            "{REQUEST_SQL} AND a.public_number = ANY($1) ORDER BY a.created_at DESC"
        ))
        .bind(ids)
        .fetch_all(&state.pool)
        .await?
    } else {
        let statuses: Option<Vec<&str>> = match q.status.as_deref() {
            None => None,
            Some("open") => Some(vec!["registered", "in_progress", "extended"]),
            Some("closed") => Some(vec!["answered", "closed", "forwarded", "duplicate", "rejected"]),
            Some(other) => {
                return Err(GeoReportError(
                    StatusCode::BAD_REQUEST,
                    format!("status `{other}`: open or closed"),
                ));
            }
        };
        let page = q.page.unwrap_or(1);
        let page_size = q.page_size.unwrap_or(1000);
        if page < 1 || !(1..=1000).contains(&page_size) {
            return Err(GeoReportError(
                StatusCode::BAD_REQUEST,
                "page ≥ 1 and page_size 1–1000".into(),
            ));
        }
        let circle = match (q.lat, q.long, q.radius) {
            (None, None, None) => None,
            (Some(lat), Some(lon), Some(r))
                if lat.abs() <= 90.0 && lon.abs() <= 180.0 && (1.0..=50_000.0).contains(&r) =>
            {
                Some((lon, lat, r))
            }
            _ => {
                return Err(GeoReportError(
                    StatusCode::BAD_REQUEST,
                    "lat, long and radius (1–50000 m) go together".into(),
                ));
            }
        };
        let end = q.end_date.unwrap_or_else(Utc::now);
        let start = q.start_date.unwrap_or(end - chrono::Duration::days(90));
        if start > end {
            return Err(GeoReportError(
                StatusCode::BAD_REQUEST,
                "start_date is after end_date".into(),
            ));
        }
        sqlx::query(&format!(
            "{REQUEST_SQL} AND a.created_at BETWEEN $1 AND $2 AND ($3::text IS NULL OR a.category = $3) \
             AND ($4::text[] IS NULL OR a.status = ANY($4)) \
             AND ($5::float8 IS NULL OR ST_DWithin(a.geom::geography, ST_SetSRID(ST_MakePoint($5, $6), 4326)::geography, $7)) \
             ORDER BY a.created_at DESC, a.id DESC LIMIT $8 OFFSET $9"
        ))
        .bind(start)
        .bind(end)
        .bind(q.service_code)
        .bind(statuses.map(|s| s.iter().map(|x| x.to_string()).collect::<Vec<_>>()))
        .bind(circle.map(|c| c.0))
        .bind(circle.map(|c| c.1))
        .bind(circle.map(|c| c.2))
        .bind(page_size)
        .bind((page - 1) * page_size)
        .fetch_all(&state.pool)
        .await?
    };
    let list = rows.iter().map(request_doc).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(Value::Array(list)))
}

/// One public request.
#[utoipa::path(get, path = "/open311/v2/requests/{file}", tag = "Open311",
    params(("file" = String, Path, description = "`{service_request_id}.json`")),
    responses(
        (status = 200, description = "`[request]`", content_type = "application/json"),
        (status = 404, description = "No such public request", content_type = "application/json"),
    ))]
pub async fn request(State(state): State<AppState>, Path(file): Path<String>) -> GeoResult<Json<Value>> {
    let id = json_file(&file)?;
    let row = sqlx::query(&format!("{REQUEST_SQL} AND a.public_number = $1"))
        .bind(id)
        .fetch_optional(&state.pool)
        .await?
        .ok_or_else(|| GeoReportError(StatusCode::NOT_FOUND, format!("no public request `{id}`")))?;
    Ok(Json(Value::Array(vec![request_doc(&row)?])))
}
