//! `/api/admin/*`: the admin's management of staff accounts and of API keys
//! for machine clients (Open311 apps, meter systems).

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use super::{API_KEY_PREFIX, secret};
use crate::access::Viewer;
use crate::error::{AppError, AppResult};
use crate::registry::Role;
use crate::server::AppState;
use crate::users::{self, UserError, UserRow};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/users", get(list_users).post(create_user))
        .route("/api/admin/users/{id}", get(get_user).patch(update_user))
        .route("/api/admin/users/{id}/reset-password", post(reset_password))
        .route("/api/admin/api-keys", get(list_keys).post(create_key))
        .route("/api/admin/api-keys/{id}", delete(revoke_key))
}

fn admin_only(viewer: &Viewer) -> AppResult<()> {
    viewer.require_any(&[Role::Admin], "managing accounts")
}

impl From<UserError> for AppError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::Exists(_) => AppError::Conflict(e.to_string()),
            UserError::UnknownRole(_) | UserError::BadName | UserError::WeakPassword => {
                AppError::Unprocessable(e.to_string())
            }
            UserError::Hash(_) => AppError::Internal(anyhow::anyhow!(e.to_string())),
            UserError::Db(e) => AppError::Database(e),
        }
    }
}

/// All accounts.
#[utoipa::path(get, path = "/api/admin/users", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every account (no password hashes)", content_type = "application/json"),
        (status = 401, description = "Not signed in", content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", content_type = "application/problem+json"),
    ))]
pub async fn list_users(State(state): State<AppState>, viewer: Viewer) -> AppResult<Json<Vec<UserRow>>> {
    admin_only(&viewer)?;
    Ok(Json(users::list(&state.pool).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub roles: Vec<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub executor_id: Option<i64>,
    /// GeoJSON Polygon or MultiPolygon (CRS84): edits are allowed only inside it.
    #[schema(value_type = Option<Object>)]
    pub perimeter: Option<serde_json::Value>,
}

/// Makes a staff account (residents register themselves).
#[utoipa::path(post, path = "/api/admin/users", tag = "accounts",
    security(("bearer" = [])),
    request_body(content = NewUser, content_type = "application/json"),
    responses(
        (status = 201, description = "The new account", content_type = "application/json"),
        (status = 409, description = "The user name or email is taken", content_type = "application/problem+json"),
        (status = 422, description = "Unknown role, bad name, weak password, bad perimeter", content_type = "application/problem+json"),
    ))]
pub async fn create_user(
    State(state): State<AppState>,
    viewer: Viewer,
    body: Result<Json<NewUser>, JsonRejection>,
) -> AppResult<Response> {
    admin_only(&viewer)?;
    let Json(req) = body?;
    let roles = users::parse_roles(&req.roles)?;
    let perimeter = req.perimeter.as_ref().map(perimeter_json).transpose()?;
    let id = users::add(&state.pool, &req.username, &roles, &req.password).await?;
    // Staff accounts are vouched for by the admin: their email counts as confirmed.
    sqlx::query(
        "UPDATE users SET display_name = $2, email = lower($3), executor_id = $4, email_confirmed_at = now(), \
         perimeter = ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($5), 4326)) WHERE id = $1",
    )
    .bind(id)
    .bind(req.display_name.as_deref())
    .bind(req.email.as_deref().map(str::trim))
    .bind(req.executor_id)
    .bind(perimeter)
    .execute(&state.pool)
    .await
    .map_err(|e| undo_on_error(&state, id, e))?;
    tracing::info!(
        user_id = id,
        by = viewer.actor.as_deref().unwrap_or("?"),
        "account created"
    );
    let user = users::get(&state.pool, id).await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

/// The account row was made; a bad detail must not leave it half-set-up.
fn undo_on_error(state: &AppState, id: i64, e: sqlx::Error) -> AppError {
    let pool = state.pool.clone();
    tokio::spawn(async move {
        let _ = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&pool)
            .await;
    });
    AppError::Database(e)
}

/// Checks a perimeter is a GeoJSON (Multi)Polygon before PostGIS sees it.
fn perimeter_json(value: &serde_json::Value) -> AppResult<String> {
    let geometry = serde_json::from_value::<geojson::Geometry>(value.clone())
        .map_err(|e| AppError::Unprocessable(format!("`perimeter` is not a GeoJSON geometry: {e}")))?;
    match geometry.value {
        geojson::GeometryValue::Polygon { .. } | geojson::GeometryValue::MultiPolygon { .. } => Ok(value.to_string()),
        _ => Err(AppError::Unprocessable(
            "`perimeter` must be a Polygon or MultiPolygon".into(),
        )),
    }
}

fn parse_id(path: Result<Path<i64>, PathRejection>) -> AppResult<i64> {
    path.map(|Path(id)| id)
        .map_err(|_| AppError::BadRequest("the id in the path must be a number".into()))
}

/// One account.
#[utoipa::path(get, path = "/api/admin/users/{id}", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Account id")),
    responses(
        (status = 200, description = "The account", content_type = "application/json"),
        (status = 404, description = "No such account", content_type = "application/problem+json"),
    ))]
pub async fn get_user(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<i64>, PathRejection>,
) -> AppResult<Json<UserRow>> {
    admin_only(&viewer)?;
    let id = parse_id(path)?;
    users::get(&state.pool, id)
        .await?
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("no account {id}")))
}

/// Fields absent from the body stay as they are; `null` clears.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    pub roles: Option<Vec<String>>,
    pub disabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub executor_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pub perimeter: Option<Option<serde_json::Value>>,
}

/// Tells a field sent as `null` (`Some(None)`) from one not sent (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Changes roles, details, perimeter, or disables an account (its sessions end).
#[utoipa::path(patch, path = "/api/admin/users/{id}", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Account id")),
    request_body(content = UserChange, content_type = "application/json"),
    responses(
        (status = 200, description = "The account after the change", content_type = "application/json"),
        (status = 404, description = "No such account", content_type = "application/problem+json"),
        (status = 422, description = "Unknown role or bad perimeter", content_type = "application/problem+json"),
    ))]
pub async fn update_user(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<UserChange>, JsonRejection>,
) -> AppResult<Json<UserRow>> {
    admin_only(&viewer)?;
    let id = parse_id(path)?;
    let Json(change) = body?;
    let roles: Option<Vec<String>> = match &change.roles {
        Some(list) => Some(
            users::parse_roles(list)?
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
        ),
        None => None,
    };
    let perimeter = match &change.perimeter {
        Some(Some(v)) => Some(Some(perimeter_json(v)?)),
        Some(None) => Some(None),
        None => None,
    };
    let mut tx = state.pool.begin().await?;
    let found = sqlx::query(
        "UPDATE users SET \
           roles = coalesce($2, roles), \
           display_name = CASE WHEN $3 THEN $4 ELSE display_name END, \
           email = CASE WHEN $5 THEN lower($6) ELSE email END, \
           executor_id = CASE WHEN $7 THEN $8 ELSE executor_id END, \
           perimeter = CASE WHEN $9 THEN ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($10), 4326)) ELSE perimeter END, \
           disabled_at = CASE WHEN $11 IS NULL THEN disabled_at WHEN $11 THEN coalesce(disabled_at, now()) END, \
           updated_at = now() \
         WHERE id = $1 RETURNING id",
    )
    .bind(id)
    .bind(roles)
    .bind(change.display_name.is_some())
    .bind(change.display_name.clone().flatten())
    .bind(change.email.is_some())
    .bind(change.email.clone().flatten())
    .bind(change.executor_id.is_some())
    .bind(change.executor_id.flatten())
    .bind(perimeter.is_some())
    .bind(perimeter.flatten())
    .bind(change.disabled)
    .fetch_optional(&mut *tx)
    .await?;
    if found.is_none() {
        return Err(AppError::NotFound(format!("no account {id}")));
    }
    if change.disabled == Some(true) {
        users::end_sessions(&mut *tx, id).await?;
    }
    tx.commit().await?;
    state.auth.forget_credentials();
    tracing::info!(
        user_id = id,
        by = viewer.actor.as_deref().unwrap_or("?"),
        "account changed"
    );
    users::get(&state.pool, id)
        .await?
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("no account {id}")))
}

/// Emails the account a password reset link.
#[utoipa::path(post, path = "/api/admin/users/{id}/reset-password", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Account id")),
    responses(
        (status = 202, description = "A reset link was queued for the account's email"),
        (status = 404, description = "No such account", content_type = "application/problem+json"),
        (status = 422, description = "The account has no email address", content_type = "application/problem+json"),
    ))]
pub async fn reset_password(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<i64>, PathRejection>,
) -> AppResult<StatusCode> {
    admin_only(&viewer)?;
    let id = parse_id(path)?;
    let user = users::get(&state.pool, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no account {id}")))?;
    let email = user
        .email
        .ok_or_else(|| AppError::Unprocessable("the account has no email address to send the link to".into()))?;
    super::handlers::send_reset_link(&state, id, &email).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyInfo {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub roles: Vec<String>,
    pub executor_id: Option<i64>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The key itself: only in the answer that creates it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

fn key_info(row: &sqlx::postgres::PgRow) -> Result<ApiKeyInfo, sqlx::Error> {
    Ok(ApiKeyInfo {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        roles: row.try_get("roles")?,
        executor_id: row.try_get("executor_id")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
        last_used_at: row.try_get("last_used_at")?,
        key: None,
    })
}

const KEY_COLUMNS: &str = "id, name, prefix, roles, executor_id, created_at, revoked_at, last_used_at";

/// API keys (never the keys themselves).
#[utoipa::path(get, path = "/api/admin/api-keys", tag = "accounts",
    security(("bearer" = [])),
    responses((status = 200, description = "Every API key, revoked ones included", body = [ApiKeyInfo])))]
pub async fn list_keys(State(state): State<AppState>, viewer: Viewer) -> AppResult<Json<Vec<ApiKeyInfo>>> {
    admin_only(&viewer)?;
    let rows = sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY id"))
        .fetch_all(&state.pool)
        .await?;
    Ok(Json(rows.iter().map(key_info).collect::<Result<_, _>>()?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub name: String,
    pub roles: Vec<String>,
    pub executor_id: Option<i64>,
}

/// Issues an API key; the answer is the only time the key is shown.
#[utoipa::path(post, path = "/api/admin/api-keys", tag = "accounts",
    security(("bearer" = [])),
    request_body(content = NewApiKey, content_type = "application/json"),
    responses(
        (status = 201, description = "The key, shown once (send it as `X-API-Key`)", body = ApiKeyInfo),
        (status = 422, description = "Unknown role or empty name", content_type = "application/problem+json"),
    ))]
pub async fn create_key(
    State(state): State<AppState>,
    viewer: Viewer,
    body: Result<Json<NewApiKey>, JsonRejection>,
) -> AppResult<Response> {
    admin_only(&viewer)?;
    let Json(req) = body?;
    let roles: Vec<String> = users::parse_roles(&req.roles)?
        .iter()
        .map(|r| r.as_str().to_string())
        .collect();
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::Unprocessable("`name` must be 1–200 characters".into()));
    }
    let key = secret::generate(API_KEY_PREFIX);
    let row = sqlx::query(&format!(
        "INSERT INTO api_keys (name, prefix, key_sha256, roles, executor_id, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {KEY_COLUMNS}"
    ))
    .bind(name)
    .bind(&key[..API_KEY_PREFIX.len() + 8])
    .bind(secret::digest(&key))
    .bind(&roles)
    .bind(req.executor_id)
    .bind(viewer.user_id)
    .fetch_one(&state.pool)
    .await?;
    let mut info = key_info(&row)?;
    info.key = Some(key);
    tracing::info!(
        api_key_id = info.id,
        by = viewer.actor.as_deref().unwrap_or("?"),
        "API key issued"
    );
    Ok((StatusCode::CREATED, Json(info)).into_response())
}

/// Revokes an API key at once.
#[utoipa::path(delete, path = "/api/admin/api-keys/{id}", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "API key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such key", content_type = "application/problem+json"),
    ))]
pub async fn revoke_key(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<i64>, PathRejection>,
) -> AppResult<StatusCode> {
    admin_only(&viewer)?;
    let id = parse_id(path)?;
    let done = sqlx::query("UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1")
        .bind(id)
        .execute(&state.pool)
        .await?
        .rows_affected();
    if done == 0 {
        return Err(AppError::NotFound(format!("no API key {id}")));
    }
    state.auth.forget_credentials();
    Ok(StatusCode::NO_CONTENT)
}
