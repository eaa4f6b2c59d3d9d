//! `POST /api/appeals` (JSON, or multipart with photos) and
//! `GET /api/appeals/nearby` (open public appeals of a category around a
//! point, offered before filing so residents can join one instead).

use std::path::PathBuf;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;
use utoipa::ToSchema;

use super::photos::{self, CleanPhoto, MAX_PHOTOS};
use super::routing;
use crate::access::Viewer;
use crate::auth::{ClientIp, secret};
use crate::error::{AppError, AppResult};
use crate::server::AppState;

/// Largest multipart filing: five photos of 10 MB and the text.
pub const MAX_FILING_BYTES: usize = 52 * 1024 * 1024;

pub const KINDS: &[&str] = &["complaint", "proposal", "request", "info_request", "emergency"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/appeals",
            post(file)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_FILING_BYTES))
                .get(super::office::list),
        )
        .route("/api/appeals/nearby", get(nearby))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Postal address for a written answer (private).
    pub address: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAppeal {
    /// complaint, proposal, request, info_request or emergency.
    pub kind: String,
    /// A code of `appeal_categories`, e.g. `roads.potholes`.
    pub category: String,
    pub description: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// An address of the city, geocoded when lon/lat are not given.
    pub address: Option<String>,
    pub addressed_deputy_id: Option<i64>,
    pub related_layer: Option<String>,
    pub related_id: Option<i64>,
    pub contact: Contact,
    /// The author agrees to publish the appeal (never their identity).
    #[serde(default)]
    pub consent_public: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Filed {
    pub id: i64,
    pub public_number: String,
    pub status: String,
    pub due_at: Option<String>,
    /// The author's private link: keep it; it is shown only now.
    pub tracking_url: String,
    #[schema(value_type = Object)]
    pub routing: Value,
}

/// Who filed and how: the API, Open311, the office.
pub struct Channel {
    pub name: &'static str,
    pub client_ip: String,
}

/// Files an appeal (JSON body, or `multipart/form-data` with an `appeal`
/// JSON part and up to five `photos`).
#[utoipa::path(post, path = "/api/appeals", tag = "appeals",
    request_body(content = NewAppeal, description = "JSON, or multipart/form-data: part `appeal` (this JSON) and up to 5 parts `photos` (JPEG, PNG or WebP, ≤ 10 MB each, ≤ 52 MB in all)"),
    responses(
        (status = 201, description = "Filed: public number, deadline, routing and the private tracking link", body = Filed),
        (status = 413, description = "Over 52 MB", content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor multipart", content_type = "application/problem+json"),
        (status = 422, description = "Every failing field: kind, category, description, location (outside the city, unknown address), contact, photos", content_type = "application/problem+json"),
        (status = 429, description = "Too many filings from this address or contact (`Retry-After`)", content_type = "application/problem+json"),
    ))]
pub async fn file(
    State(state): State<AppState>,
    viewer: Viewer,
    ClientIp(ip): ClientIp,
    req: Request,
) -> AppResult<Response> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (input, photos) = if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(req, &state)
            .await
            .map_err(|e| AppError::BadRequest(e.body_text()))?;
        read_multipart(multipart).await?
    } else if content_type.starts_with("application/json") {
        let Json(input) = Json::<NewAppeal>::from_request(req, &state).await?;
        (input, Vec::new())
    } else {
        return Err(AppError::UnsupportedMediaType(
            "send application/json, or multipart/form-data with an `appeal` part".into(),
        ));
    };
    let filed = file_appeal(
        &state,
        &viewer,
        input,
        photos,
        Channel {
            name: "web",
            client_ip: ip,
        },
    )
    .await?;
    let location = format!("/api/appeals/{}", filed.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(filed)).into_response())
}

async fn read_multipart(mut multipart: Multipart) -> AppResult<(NewAppeal, Vec<CleanPhoto>)> {
    let mut input = None;
    let mut photos = Vec::new();
    let mut errors = Vec::new();
    let mut n = 0;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(e)),
        };
        match field.name().unwrap_or("") {
            "appeal" => {
                let bytes = field.bytes().await.map_err(multipart_error)?;
                input = Some(
                    serde_json::from_slice::<NewAppeal>(&bytes)
                        .map_err(|e| AppError::BadRequest(format!("the `appeal` part is not a valid appeal: {e}")))?,
                );
            }
            "photos" | "photo" | "photos[]" => {
                n += 1;
                if n > MAX_PHOTOS {
                    errors.push(format!("photos: at most {MAX_PHOTOS} photos"));
                    continue;
                }
                let bytes = field.bytes().await.map_err(multipart_error)?;
                match photos::clean(n, bytes) {
                    Ok(p) => photos.push(p),
                    Err(e) => errors.push(format!("photos: {e}")),
                }
            }
            other => return Err(AppError::BadRequest(format!("unknown multipart part `{other}`"))),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Unprocessable(errors.join("; ")));
    }
    let input = input.ok_or_else(|| AppError::BadRequest("the multipart body has no `appeal` part".into()))?;
    Ok((input, photos))
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> AppError {
    // The limit may be found under several layers of body wrapping, which
    // `status()` does not look through.
    let over_limit = std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
        .any(|e| e.is::<http_body_util::LengthLimitError>());
    if over_limit || e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge("an appeal with its photos may be at most 52 MB".into())
    } else {
        AppError::BadRequest(e.body_text())
    }
}

fn valid_phone(p: &str) -> bool {
    let digits = p.chars().filter(char::is_ascii_digit).count();
    (7..=15).contains(&digits) && p.chars().all(|c| c.is_ascii_digit() || " +()-".contains(c))
}

/// Validates, geocodes, rate-limits and inserts one appeal with its photos;
/// shared by the API and Open311.
pub async fn file_appeal(
    state: &AppState,
    viewer: &Viewer,
    input: NewAppeal,
    photos: Vec<CleanPhoto>,
    channel: Channel,
) -> AppResult<Filed> {
    state.auth.filing_per_ip.check(&state.pool, &channel.client_ip).await?;
    let mut errors: Vec<String> = Vec::new();
    if !KINDS.contains(&input.kind.as_str()) {
        errors.push(format!("kind: must be one of {}", KINDS.join(", ")));
    }
    let category_known: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM appeal_categories WHERE code = $1 AND deleted_at IS NULL)")
            .bind(&input.category)
            .fetch_one(&state.pool)
            .await?;
    if !category_known {
        errors.push(format!(
            "category: `{}` is not a category (see /open311/v2/services.json)",
            input.category
        ));
    }
    let description = input.description.trim();
    if description.is_empty() || description.chars().count() > 10_000 {
        errors.push("description: 1–10000 characters".into());
    }
    let name = input.contact.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(
            "contact.name: required (the law does not consider anonymous appeals), at most 200 characters".into(),
        );
    }
    let email = input
        .contact
        .email
        .as_deref()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty());
    let phone = input
        .contact
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(String::from);
    if email.as_deref().is_some_and(|e| !crate::auth::handlers::valid_email(e)) {
        errors.push("contact.email: not an email address".into());
    }
    if phone.as_deref().is_some_and(|p| !valid_phone(p)) {
        errors.push("contact.phone: 7–15 digits, with + ( ) - and spaces allowed".into());
    }
    if email.is_none() && phone.is_none() && viewer.account_id.is_none() {
        errors.push("contact: an email address or a phone number is required".into());
    }
    let point = match (input.lon, input.lat, input.address.as_deref().map(str::trim)) {
        (Some(lon), Some(lat), _) if lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 90.0 => {
            Some((lon, lat))
        }
        (Some(_), Some(_), _) => {
            errors.push("lon/lat: longitude −180…180 and latitude −90…90, in degrees (WGS 84)".into());
            None
        }
        (None, None, Some(address)) if !address.is_empty() => match geocode(state, address).await? {
            Some(p) => Some(p),
            None => {
                errors.push(format!(
                    "address: `{address}` is not an address of the city; give lon/lat instead"
                ));
                None
            }
        },
        _ => {
            errors.push("location: give lon and lat, or an address".into());
            None
        }
    };
    if let Some((lon, lat)) = point {
        let inside: bool = sqlx::query_scalar(
            "SELECT NOT EXISTS (SELECT 1 FROM city_boundary WHERE deleted_at IS NULL) \
             OR EXISTS (SELECT 1 FROM city_boundary WHERE deleted_at IS NULL \
                        AND ST_Covers(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326)))",
        )
        .bind(lon)
        .bind(lat)
        .fetch_one(&state.pool)
        .await?;
        if !inside {
            errors.push("location: the point is outside the city".into());
        }
    }
    if let Some(deputy) = input.addressed_deputy_id {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM deputies WHERE id = $1 AND deleted_at IS NULL)")
                .bind(deputy)
                .fetch_one(&state.pool)
                .await?;
        if !exists {
            errors.push(format!("addressed_deputy_id: no deputy {deputy}"));
        }
    }
    if input.related_layer.is_some() != input.related_id.is_some() {
        errors.push("related_layer and related_id: give both or neither".into());
    }
    if let Some(layer) = &input.related_layer
        && state.registry.get(layer).is_none()
    {
        errors.push(format!("related_layer: no layer `{layer}`"));
    }
    if !errors.is_empty() {
        return Err(AppError::Unprocessable(errors.join("; ")));
    }
    let Some((lon, lat)) = point else {
        return Err(AppError::Unprocessable("location: missing".into()));
    };
    // Per contact too, so one person cannot flood the office from many addresses.
    let contact_key = email
        .clone()
        .or(phone.clone())
        .unwrap_or_else(|| format!("account:{:?}", viewer.account_id));
    state.auth.filing_per_contact.check(&state.pool, &contact_key).await?;

    let token = secret::generate("");
    let actor = viewer
        .actor
        .clone()
        .unwrap_or_else(|| format!("{}:anonymous", channel.name));
    let mut tx = state.pool.begin().await?;
    sqlx::query("SELECT set_config('geoportal.actor', $1, true)")
        .bind(&actor)
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query(
        "INSERT INTO appeals (kind, category, description, address_text, addressed_deputy_id, related_layer, related_id, \
           is_public, consent_public, author_name, phone, email, account_id, contact_address, geom, tracking_sha256, channel) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, false, $8, $9, $10, $11, $12, $13, ST_SetSRID(ST_MakePoint($14, $15), 4326), $16, $17) \
         RETURNING id, public_number, status, due_at",
    )
    .bind(&input.kind)
    .bind(&input.category)
    .bind(description)
    .bind(input.address.as_deref().map(str::trim))
    .bind(input.addressed_deputy_id)
    .bind(&input.related_layer)
    .bind(input.related_id)
    .bind(input.consent_public)
    .bind(name)
    .bind(&phone)
    .bind(&email)
    .bind(viewer.account_id.filter(|_| viewer.user_id.is_some()))
    .bind(input.contact.address.as_deref().map(str::trim))
    .bind(lon)
    .bind(lat)
    .bind(secret::digest(&token))
    .bind(channel.name)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get("id")?;
    let dir = photo_dir(state, id);
    if let Err(e) = store_photos(&mut tx, &dir, id, &photos).await {
        let _ = tokio::fs::remove_dir_all(&dir).await;
        return Err(e);
    }
    if let Err(e) = tx.commit().await {
        let _ = tokio::fs::remove_dir_all(&dir).await;
        return Err(e.into());
    }
    // Only the number goes to the log: the contact is personal data.
    let public_number: String = row.try_get("public_number")?;
    tracing::info!(appeal = %public_number, channel = channel.name, photos = photos.len(), "appeal filed");
    Ok(Filed {
        id,
        public_number,
        status: row.try_get("status")?,
        due_at: row
            .try_get::<Option<chrono::DateTime<chrono::Utc>>, _>("due_at")?
            .map(super::kyiv),
        tracking_url: format!("{}/api/appeals/track/{token}", state.config.public_url()),
        routing: routing(&state.pool, id).await?,
    })
}

pub fn photo_dir(state: &AppState, id: i64) -> PathBuf {
    state.config.data_dir.join("appeals").join(id.to_string())
}

async fn store_photos(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    dir: &std::path::Path,
    id: i64,
    photos: &[CleanPhoto],
) -> AppResult<()> {
    if photos.is_empty() {
        return Ok(());
    }
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot store photos: {e}")))?;
    for (i, p) in photos.iter().enumerate() {
        let file_name = format!("{}.{}", i + 1, p.extension);
        tokio::fs::write(dir.join(&file_name), &p.bytes)
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot store a photo: {e}")))?;
        sqlx::query(
            "INSERT INTO appeal_photos (appeal_id, file_name, media_type, bytes, sha256) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(&file_name)
        .bind(p.media_type)
        .bind(p.bytes.len() as i32)
        .bind(hex::encode(secret::digest_bytes(&p.bytes)))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// An address of the city to a point: exact, then the most similar.
pub async fn geocode(state: &AppState, address: &str) -> AppResult<Option<(f64, f64)>> {
    let row = sqlx::query(
        "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM addresses \
         WHERE deleted_at IS NULL AND (lower(full_address) = lower($1) OR similarity(full_address, $1) > 0.45) \
         ORDER BY lower(full_address) = lower($1) DESC, similarity(full_address, $1) DESC, id LIMIT 1",
    )
    .bind(address)
    .fetch_optional(&state.pool)
    .await?;
    match row {
        Some(r) => Ok(Some((r.try_get("lon")?, r.try_get("lat")?))),
        None => Ok(None),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NearbyQuery {
    lon: f64,
    lat: f64,
    category: String,
}

/// Open public appeals of a category within its radius, and how many
/// non-public ones there are (as a count only).
#[utoipa::path(get, path = "/api/appeals/nearby", tag = "appeals",
    params(
        ("lon" = f64, Query, description = "Longitude, WGS 84"),
        ("lat" = f64, Query, description = "Latitude, WGS 84"),
        ("category" = String, Query, description = "Category code; its `radius_m` sets the search radius"),
    ),
    responses(
        (status = 200, description = "`{radius_m, appeals:[…public open appeals, nearest first], non_public_count}`", content_type = "application/json"),
        (status = 400, description = "Missing or bad parameter, unknown category", content_type = "application/problem+json"),
    ))]
pub async fn nearby(
    State(state): State<AppState>,
    query: Result<Query<NearbyQuery>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(q) = query?;
    if !(q.lon.is_finite() && q.lat.is_finite() && q.lon.abs() <= 180.0 && q.lat.abs() <= 90.0) {
        return Err(AppError::BadRequest("lon/lat must be degrees of WGS 84".into()));
    }
    let radius: Option<i32> = sqlx::query_scalar("SELECT radius_m FROM appeal_categories WHERE code = $1")
        .bind(&q.category)
        .fetch_optional(&state.pool)
        .await?;
    let radius = radius.ok_or_else(|| AppError::BadRequest(format!("no category `{}`", q.category)))?;
    let row = sqlx::query(
        "WITH p AS (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography AS g), \
         near AS (SELECT a.*, ST_Distance(a.geom::geography, p.g) AS distance_m FROM appeals a, p \
                  WHERE a.deleted_at IS NULL AND a.category = $3 \
                    AND a.status IN ('registered', 'in_progress', 'extended') \
                    AND ST_DWithin(a.geom::geography, p.g, $4)) \
         SELECT coalesce((SELECT jsonb_agg(jsonb_build_object('id', id, 'public_number', public_number, \
                   'description', description, 'status', status, 'created_at', created_at, 'lon', ST_X(geom), \
                   'lat', ST_Y(geom), 'distance_m', round(distance_m::numeric, 1)) ORDER BY distance_m) \
                   FROM near WHERE is_public), '[]') AS public, \
                (SELECT count(*) FROM near WHERE NOT is_public) AS hidden",
    )
    .bind(q.lon)
    .bind(q.lat)
    .bind(&q.category)
    .bind(f64::from(radius))
    .fetch_one(&state.pool)
    .await?;
    let mut appeals: Value = row.try_get("public")?;
    if let Value::Array(list) = &mut appeals {
        for a in list.iter_mut() {
            if let Value::Object(o) = a {
                super::kyiv_times(o);
            }
        }
    }
    Ok(Json(json!({
        "category": q.category,
        "radius_m": radius,
        "appeals": appeals,
        "non_public_count": row.try_get::<i64, _>("hidden")?,
    })))
}
