//! What residents do with their appeals: the author's private view by the
//! tracking link, "my appeals" with an account, rating a closed appeal, and
//! subscriptions to an area.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;
use utoipa::ToSchema;

use super::{kyiv_times, routing};
use crate::access::Viewer;
use crate::auth::secret;
use crate::error::{AppError, AppResult};
use crate::registry::Role;
use crate::server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/appeals/track/{token}", get(track))
        .route("/api/appeals/track/{token}/rating", post(rate_by_token))
        .route("/api/appeals/track/{token}/withdraw-consent", post(withdraw_consent))
        .route("/api/appeals/mine", get(mine))
        .route("/api/appeals/{id}/rating", post(rate_own))
        .route("/api/appeals/subscriptions", get(subscriptions).post(subscribe))
        .route("/api/appeals/subscriptions/{id}", delete(unsubscribe))
}

/// What the author sees: everything about the appeal but staff names.
const AUTHOR_VIEW: &str = "SELECT a.id, jsonb_build_object('id', a.id, 'public_number', a.public_number, 'kind', a.kind, \
    'category', a.category, 'description', a.description, 'address_text', a.address_text, 'status', a.status, \
    'created_at', a.created_at, 'registered_at', a.registered_at, 'due_at', a.due_at, 'resolved_at', a.resolved_at, \
    'closed_at', a.closed_at, 'answer', a.answer, 'reject_reason', a.reject_reason, 'forwarded_to', a.forwarded_to, \
    'rating', a.rating, 'is_public', a.is_public, 'lon', ST_X(a.geom), 'lat', ST_Y(a.geom), \
    'history', coalesce((SELECT jsonb_agg(jsonb_build_object('status', t.to_status, 'at', t.at) ORDER BY t.at, t.id) \
                          FROM appeal_transitions t WHERE t.appeal_id = a.id), '[]')) AS doc \
    FROM appeals a WHERE a.deleted_at IS NULL AND ";

async fn author_doc(state: &AppState, row: sqlx::postgres::PgRow) -> AppResult<Value> {
    let id: i64 = row.try_get("id")?;
    let mut doc: Value = row.try_get("doc")?;
    if let Value::Object(o) = &mut doc {
        kyiv_times(o);
        if let Some(Value::Array(h)) = o.get_mut("history") {
            for item in h.iter_mut() {
                if let Value::Object(i) = item {
                    kyiv_times(i);
                }
            }
        }
        o.insert("routing".into(), routing(&state.pool, id).await?);
    }
    Ok(doc)
}

async fn by_token(state: &AppState, token: &str) -> AppResult<sqlx::postgres::PgRow> {
    sqlx::query(&format!("{AUTHOR_VIEW} a.tracking_sha256 = $1"))
        .bind(secret::digest(token.trim()))
        .fetch_optional(&state.pool)
        .await?
        .ok_or_else(|| AppError::NotFound("no appeal has this tracking link".into()))
}

/// The author's private view, by the link given at filing.
#[utoipa::path(get, path = "/api/appeals/track/{token}", tag = "appeals",
    params(("token" = String, Path, description = "The token of the private tracking link")),
    responses(
        (status = 200, description = "The appeal with its status history, deadline and answer", content_type = "application/json"),
        (status = 404, description = "Unknown link", content_type = "application/problem+json"),
    ))]
pub async fn track(State(state): State<AppState>, path: Result<Path<String>, PathRejection>) -> AppResult<Json<Value>> {
    let token = path
        .map(|Path(t)| t)
        .map_err(|_| AppError::BadRequest("bad tracking token".into()))?;
    let row = by_token(&state, &token).await?;
    Ok(Json(author_doc(&state, row).await?))
}

/// The author withdraws consent to publish: the appeal leaves every public
/// view at once (features, tiles, Open311, lists).
#[utoipa::path(post, path = "/api/appeals/track/{token}/withdraw-consent", tag = "appeals",
    params(("token" = String, Path, description = "The token of the private tracking link")),
    responses(
        (status = 200, description = "No longer public", content_type = "application/json"),
        (status = 404, description = "Unknown link", content_type = "application/problem+json"),
    ))]
pub async fn withdraw_consent(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> AppResult<Json<Value>> {
    let token = path
        .map(|Path(t)| t)
        .map_err(|_| AppError::BadRequest("bad tracking token".into()))?;
    let row = by_token(&state, &token).await?;
    let id: i64 = row.try_get("id")?;
    let mut tx = state.pool.begin().await?;
    sqlx::query("SELECT set_config('geoportal.actor', 'author:tracking-link', true)")
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE appeals SET is_public = false, consent_public = false WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    // Before answering, so no cached public tile still shows it.
    state.tiles.invalidate_layer(super::LAYER);
    Ok(Json(json!({"id": id, "is_public": false, "consent_public": false})))
}

/// A resident's own appeals.
#[utoipa::path(get, path = "/api/appeals/mine", tag = "appeals",
    responses(
        (status = 200, description = "The signed-in resident's appeals, newest first", content_type = "application/json"),
        (status = 401, description = "Not signed in", content_type = "application/problem+json"),
        (status = 403, description = "Not a resident account", content_type = "application/problem+json"),
    ))]
pub async fn mine(State(state): State<AppState>, viewer: Viewer) -> AppResult<Json<Value>> {
    viewer.require_any(&[Role::Resident], "your appeals")?;
    let account = viewer
        .account_id
        .ok_or_else(|| AppError::Forbidden("not a resident account".into()))?;
    let rows = sqlx::query(&format!(
        "{AUTHOR_VIEW} a.account_id = $1 ORDER BY a.created_at DESC, a.id DESC LIMIT 500"
    ))
    .bind(account)
    .fetch_all(&state.pool)
    .await?;
    let mut list = Vec::with_capacity(rows.len());
    for row in rows {
        list.push(author_doc(&state, row).await?);
    }
    Ok(Json(json!({ "appeals": list })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    /// 1 (bad) to 5 (good).
    pub rating: i16,
}

async fn rate(state: &AppState, id: i64, rating: i16, actor: &str) -> AppResult<Json<Value>> {
    if !(1..=5).contains(&rating) {
        return Err(AppError::Unprocessable("rating: 1 to 5".into()));
    }
    let mut tx = state.pool.begin().await?;
    sqlx::query("SELECT set_config('geoportal.actor', $1, true)")
        .bind(actor)
        .execute(&mut *tx)
        .await?;
    let status: String =
        sqlx::query_scalar("SELECT status FROM appeals WHERE id = $1 AND deleted_at IS NULL FOR UPDATE")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    if !matches!(status.as_str(), "answered" | "closed") {
        return Err(AppError::Conflict(format!(
            "an appeal can be rated once it is answered or closed; this one is `{status}`"
        )));
    }
    sqlx::query("UPDATE appeals SET rating = $2 WHERE id = $1")
        .bind(id)
        .bind(rating)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Json(json!({"id": id, "rating": rating})))
}

/// The author rates the answer, by the tracking link.
#[utoipa::path(post, path = "/api/appeals/track/{token}/rating", tag = "appeals",
    params(("token" = String, Path, description = "The token of the private tracking link")),
    request_body(content = Rating, content_type = "application/json"),
    responses(
        (status = 200, description = "Rated", content_type = "application/json"),
        (status = 404, description = "Unknown link", content_type = "application/problem+json"),
        (status = 409, description = "Not answered or closed yet", content_type = "application/problem+json"),
        (status = 422, description = "Rating outside 1–5", content_type = "application/problem+json"),
    ))]
pub async fn rate_by_token(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<Rating>, JsonRejection>,
) -> AppResult<Json<Value>> {
    let token = path
        .map(|Path(t)| t)
        .map_err(|_| AppError::BadRequest("bad tracking token".into()))?;
    let Json(r) = body?;
    let row = by_token(&state, &token).await?;
    let id: i64 = row.try_get("id")?;
    rate(&state, id, r.rating, "author:tracking-link").await
}

/// A resident rates the answer to their own appeal.
#[utoipa::path(post, path = "/api/appeals/{id}/rating", tag = "appeals",
    params(("id" = i64, Path, description = "Appeal id")),
    request_body(content = Rating, content_type = "application/json"),
    responses(
        (status = 200, description = "Rated", content_type = "application/json"),
        (status = 401, description = "Not signed in", content_type = "application/problem+json"),
        (status = 403, description = "Not the author", content_type = "application/problem+json"),
        (status = 409, description = "Not answered or closed yet", content_type = "application/problem+json"),
    ))]
pub async fn rate_own(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<Rating>, JsonRejection>,
) -> AppResult<Json<Value>> {
    viewer.require_any(&[Role::Resident], "rating an appeal")?;
    let id = path
        .map(|Path(i)| i)
        .map_err(|_| AppError::BadRequest("the appeal id must be a number".into()))?;
    let Json(r) = body?;
    let owner: Option<Option<i64>> =
        sqlx::query_scalar("SELECT account_id FROM appeals WHERE id = $1 AND deleted_at IS NULL")
            .bind(id)
            .fetch_optional(&state.pool)
            .await?;
    match owner {
        None => Err(AppError::NotFound(format!("no appeal {id}"))),
        Some(owner) if owner.is_none() || owner != viewer.account_id => {
            Err(AppError::Forbidden("only the author rates an appeal".into()))
        }
        Some(_) => rate(&state, id, r.rating, viewer.actor.as_deref().unwrap_or("resident")).await,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// A GeoJSON Polygon or MultiPolygon (CRS84) …
    #[schema(value_type = Option<Object>)]
    pub area: Option<Value>,
    /// … or a point and a radius (50–5000 m).
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub radius_m: Option<f64>,
    /// Category codes (parents cover children); empty = all.
    #[serde(default)]
    pub categories: Vec<String>,
}

const SUBSCRIPTION_DOC: &str = "jsonb_build_object('id', id, 'categories', categories, 'created_at', created_at, \
    'area', ST_AsGeoJSON(area)::jsonb)";

/// The resident's area subscriptions.
#[utoipa::path(get, path = "/api/appeals/subscriptions", tag = "appeals",
    responses(
        (status = 200, description = "Subscriptions of the signed-in resident", content_type = "application/json"),
        (status = 401, description = "Not signed in", content_type = "application/problem+json"),
    ))]
pub async fn subscriptions(State(state): State<AppState>, viewer: Viewer) -> AppResult<Json<Value>> {
    viewer.require_any(&[Role::Resident], "subscriptions")?;
    let list: Value = sqlx::query_scalar(&format!(
        "SELECT coalesce(jsonb_agg({SUBSCRIPTION_DOC} ORDER BY id), '[]') FROM appeal_subscriptions \
         WHERE account_id = $1 AND deleted_at IS NULL"
    ))
    .bind(viewer.account_id)
    .fetch_one(&state.pool)
    .await?;
    Ok(Json(json!({ "subscriptions": list })))
}

/// Subscribes to new public appeals in an area (mailed to the account's address).
#[utoipa::path(post, path = "/api/appeals/subscriptions", tag = "appeals",
    request_body(content = NewSubscription, content_type = "application/json"),
    responses(
        (status = 201, description = "The subscription", content_type = "application/json"),
        (status = 401, description = "Not signed in", content_type = "application/problem+json"),
        (status = 422, description = "No area, both kinds of area, bad polygon, radius or category", content_type = "application/problem+json"),
    ))]
pub async fn subscribe(
    State(state): State<AppState>,
    viewer: Viewer,
    body: Result<Json<NewSubscription>, JsonRejection>,
) -> AppResult<Response> {
    viewer.require_any(&[Role::Resident], "subscriptions")?;
    let Json(req) = body?;
    let mut errors = Vec::new();
    let unknown: Vec<String> = sqlx::query_scalar(
        "SELECT c FROM unnest($1::text[]) c WHERE NOT EXISTS (SELECT 1 FROM appeal_categories WHERE code = c AND deleted_at IS NULL)",
    )
    .bind(&req.categories)
    .fetch_all(&state.pool)
    .await?;
    if !unknown.is_empty() {
        errors.push(format!("categories: unknown {}", unknown.join(", ")));
    }
    let area_sql = match (&req.area, req.lon, req.lat, req.radius_m) {
        (Some(area), None, None, None) => {
            match serde_json::from_value::<geojson::Geometry>(area.clone()).map(|g| g.value) {
                Ok(geojson::GeometryValue::Polygon { .. } | geojson::GeometryValue::MultiPolygon { .. }) => Some((
                    "ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($2), 4326))",
                    area.to_string(),
                    0.0,
                    0.0,
                    0.0,
                )),
                _ => {
                    errors.push("area: a GeoJSON Polygon or MultiPolygon".into());
                    None
                }
            }
        }
        (None, Some(lon), Some(lat), Some(r)) => {
            if !(50.0..=5000.0).contains(&r)
                || !lon.is_finite()
                || !lat.is_finite()
                || lon.abs() > 180.0
                || lat.abs() > 90.0
            {
                errors.push("lon/lat/radius_m: degrees of WGS 84 and a radius of 50–5000 m".into());
                None
            } else {
                Some((
                    "ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint($3, $4), 4326)::geography, $5)::geometry)",
                    String::new(),
                    lon,
                    lat,
                    r,
                ))
            }
        }
        _ => {
            errors.push("area: give `area` (a polygon), or `lon`, `lat` and `radius_m`".into());
            None
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Unprocessable(errors.join("; ")));
    }
    let Some((expr, json, lon, lat, r)) = area_sql else {
        return Err(AppError::Unprocessable("area: missing".into()));
    };
    let doc: Value = sqlx::query_scalar(&format!(
        "INSERT INTO appeal_subscriptions (account_id, area, categories) \
         SELECT $1, {expr}, $6 WHERE $2 IS NOT NULL AND $3 IS NOT NULL AND $4 IS NOT NULL AND $5 IS NOT NULL \
         RETURNING {SUBSCRIPTION_DOC}"
    ))
    .bind(viewer.account_id)
    .bind(json)
    .bind(lon)
    .bind(lat)
    .bind(r)
    .bind(&req.categories)
    .fetch_one(&state.pool)
    .await?;
    Ok((StatusCode::CREATED, Json(doc)).into_response())
}

/// Ends a subscription.
#[utoipa::path(delete, path = "/api/appeals/subscriptions/{id}", tag = "appeals",
    params(("id" = i64, Path, description = "Subscription id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, description = "No such subscription of yours", content_type = "application/problem+json"),
    ))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<i64>, PathRejection>,
) -> AppResult<StatusCode> {
    viewer.require_any(&[Role::Resident], "subscriptions")?;
    let id = path
        .map(|Path(i)| i)
        .map_err(|_| AppError::BadRequest("the id must be a number".into()))?;
    let done = sqlx::query(
        "UPDATE appeal_subscriptions SET deleted_at = now() WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(viewer.account_id)
    .execute(&state.pool)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(AppError::NotFound(format!("no subscription {id} of yours")));
    }
    Ok(StatusCode::NO_CONTENT)
}
