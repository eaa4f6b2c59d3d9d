//! `/api/auth/*`: sign-in, sign-out, who am I, resident registration with
//! email confirmation, and password reset by emailed link.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use super::{ClientIp, Message, issue_session, outbox, secret};
use crate::access::Viewer;
use crate::error::{AppError, AppResult};
use crate::registry::Role;
use crate::server::AppState;
use crate::users::{self, UserRow};

/// Hours an emailed link stays valid.
const CONFIRM_LINK_HOURS: f64 = 48.0;
const RESET_LINK_HOURS: f64 = 1.0;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/me", get(me))
        .route("/api/auth/register", post(register))
        .route("/api/auth/confirm", get(confirm))
        .route("/api/auth/password-reset", post(reset_request))
        .route("/api/auth/password-reset/confirm", post(reset_confirm))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// User name or email address.
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub token_type: &'static str,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    #[schema(value_type = Object)]
    pub user: UserRow,
}

const BAD_LOGIN: &str = "wrong user name or password";

/// Signs in: a bearer token for `Authorization: Bearer …`.
#[utoipa::path(post, path = "/api/auth/login", tag = "accounts",
    request_body(content = LoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 401, description = "Wrong user name or password", content_type = "application/problem+json"),
        (status = 403, description = "Account disabled, or email not confirmed yet", content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts for this account or address (`Retry-After`)", content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> AppResult<Json<LoginResponse>> {
    let Json(req) = body?;
    state.auth.login_per_ip.check(&state.pool, &ip).await?;
    let name = req.username.trim().to_lowercase();
    if name.is_empty() || name.len() > 254 {
        return Err(AppError::BadRequest("`username` must be 1–254 characters".into()));
    }
    state.auth.login_per_account.check(&state.pool, &name).await?;

    let row = sqlx::query(
        "SELECT id, password_hash, disabled_at IS NOT NULL AS disabled, \
         ('resident' = ANY(roles) AND email IS NOT NULL AND email_confirmed_at IS NULL) AS unconfirmed \
         FROM users WHERE lower(username) = $1 OR lower(email) = $1 ORDER BY lower(username) = $1 DESC LIMIT 1",
    )
    .bind(&name)
    .fetch_optional(&state.pool)
    .await?;
    // Unknown names cost a hash check too, so timing does not tell which names exist.
    let stored = match &row {
        Some(r) => r.try_get::<String, _>("password_hash")?,
        None => tokio::task::spawn_blocking(dummy_hash)
            .await
            .map_err(|e| AppError::Internal(e.into()))?,
    };
    let password = req.password.clone();
    let ok = tokio::task::spawn_blocking(move || users::verify_password(&password, &stored))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let Some(row) = row.filter(|_| ok) else {
        tracing::info!(%ip, "sign-in refused");
        return Err(AppError::Unauthorized(BAD_LOGIN.into()));
    };
    let id: i64 = row.try_get("id")?;
    if row.try_get::<bool, _>("disabled")? {
        return Err(AppError::Forbidden("this account is disabled".into()));
    }
    if row.try_get::<bool, _>("unconfirmed")? {
        return Err(AppError::Forbidden(
            "confirm your email address first: follow the link we sent you".into(),
        ));
    }
    let (token, expires_at) = issue_session(&state.pool, id, state.auth.session_ttl, Some(&ip)).await?;
    let user = users::get(&state.pool, id)
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .ok_or_else(|| AppError::Unauthorized(BAD_LOGIN.into()))?;
    tracing::info!(user_id = id, "signed in");
    Ok(Json(LoginResponse {
        token,
        token_type: "Bearer",
        expires_at,
        user,
    }))
}

/// An argon2id hash of a random password nobody knows, made once.
fn dummy_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| users::hash_password(&secret::generate("")).unwrap_or_default())
        .clone()
}

/// Signs out: the token stops working at once.
#[utoipa::path(post, path = "/api/auth/logout", tag = "accounts",
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No valid bearer token", content_type = "application/problem+json"),
    ))]
pub async fn logout(State(state): State<AppState>, viewer: Viewer) -> AppResult<StatusCode> {
    let session = viewer
        .session_id
        .ok_or_else(|| AppError::Unauthorized("sign-out needs the bearer token of a session".into()))?;
    sqlx::query("UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
        .bind(session)
        .execute(&state.pool)
        .await?;
    state.auth.forget_credentials();
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub roles: Vec<String>,
    #[schema(value_type = Option<Object>)]
    pub user: Option<UserRow>,
    /// Set when the caller is a machine client with an API key.
    pub api_key_id: Option<i64>,
    pub executor_id: Option<i64>,
}

/// Who the caller is.
#[utoipa::path(get, path = "/api/auth/me", tag = "accounts",
    responses(
        (status = 200, description = "The signed-in user or API client and its roles", body = Me),
        (status = 401, description = "Not signed in", content_type = "application/problem+json"),
    ))]
pub async fn me(State(state): State<AppState>, viewer: Viewer) -> AppResult<Json<Me>> {
    if viewer.is_anonymous() {
        return Err(AppError::Unauthorized("not signed in".into()));
    }
    let user = match viewer.user_id {
        Some(id) => users::get(&state.pool, id)
            .await
            .map_err(|e| AppError::Internal(e.into()))?,
        None => None,
    };
    let api_key_id = viewer
        .actor
        .as_deref()
        .and_then(|a| a.strip_prefix("api_key:"))
        .and_then(|id| id.parse().ok());
    Ok(Json(Me {
        roles: viewer.roles.iter().map(|r| r.as_str().to_string()).collect(),
        user,
        api_key_id,
        executor_id: viewer.executor_id,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub email: String,
    pub password: String,
    pub display_name: Option<String>,
}

/// A resident registers; the account works once the emailed link is followed.
#[utoipa::path(post, path = "/api/auth/register", tag = "accounts",
    request_body(content = RegisterRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Account made; a confirmation link was sent", content_type = "application/json"),
        (status = 409, description = "The email address is already registered", content_type = "application/problem+json"),
        (status = 422, description = "Bad email address or weak password", content_type = "application/problem+json"),
        (status = 429, description = "Too many registrations from this address", content_type = "application/problem+json"),
    ))]
pub async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    body: Result<Json<RegisterRequest>, JsonRejection>,
) -> AppResult<Response> {
    let Json(req) = body?;
    state.auth.register_per_ip.check(&state.pool, &ip).await?;
    let email = req.email.trim().to_lowercase();
    let mut problems = Vec::new();
    if !valid_email(&email) {
        problems.push("`email` is not an email address");
    }
    if req.password.chars().count() < 10 {
        problems.push("`password` must be at least 10 characters");
    }
    let display_name = req.display_name.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if display_name.is_some_and(|n| n.chars().count() > 200) {
        problems.push("`display_name` must be at most 200 characters");
    }
    if !problems.is_empty() {
        return Err(AppError::Unprocessable(problems.join("; ")));
    }
    let hash = {
        let password = req.password.clone();
        tokio::task::spawn_blocking(move || users::hash_password(&password))
            .await
            .map_err(|e| AppError::Internal(e.into()))?
            .map_err(|e| AppError::Internal(e.into()))?
    };
    let taken: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = $1)")
        .bind(&email)
        .fetch_one(&state.pool)
        .await?;
    if taken {
        return Err(AppError::Conflict(
            "this email address is already registered; sign in or reset the password".into(),
        ));
    }
    let mut username = username_for(&email);
    let name_taken: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE lower(username) = $1)")
        .bind(&username)
        .fetch_one(&state.pool)
        .await?;
    if name_taken {
        // Two addresses can map to one name (`+` and other characters become `_`).
        username = format!("{}-{}", &username[..username.len().min(55)], &secret::generate("")[..8]);
    }
    let mut tx = state.pool.begin().await?;
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO users (username, password_hash, roles, email, display_name) \
         VALUES ($1, $2, '{resident}', $3, $4) RETURNING id",
    )
    .bind(&username)
    .bind(&hash)
    .bind(&email)
    .bind(display_name)
    .fetch_one(&mut *tx)
    .await;
    let id = match inserted {
        Ok(id) => id,
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23505") => {
            return Err(AppError::Conflict(
                "this email address is already registered; sign in or reset the password".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let token = new_link(&mut tx, id, "confirm_email", CONFIRM_LINK_HOURS).await?;
    let link = format!("{}/api/auth/confirm?token={token}", state.config.public_url());
    outbox::enqueue(
        &mut *tx,
        &Message {
            recipient: email,
            subject: "Підтвердіть адресу / Confirm your email — geoportal".into(),
            body: format!(
                "Щоб завершити реєстрацію на геопорталі, відкрийте посилання (діє 48 годин):\n{link}\n\n\
                 To finish registering on the geoportal, open this link (valid for 48 hours):\n{link}\n"
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"id": id, "status": "confirmation_sent"})),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenQuery {
    token: String,
}

/// The link of the confirmation email.
#[utoipa::path(get, path = "/api/auth/confirm", tag = "accounts",
    params(("token" = String, Query, description = "The token of the emailed link")),
    responses(
        (status = 200, description = "Email confirmed; the account can sign in", content_type = "application/json"),
        (status = 400, description = "Unknown, used or expired link", content_type = "application/problem+json"),
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> AppResult<Json<serde_json::Value>> {
    let Query(q) = query?;
    let mut tx = state.pool.begin().await?;
    let user_id = use_link(&mut tx, &q.token, "confirm_email").await?;
    sqlx::query("UPDATE users SET email_confirmed_at = coalesce(email_confirmed_at, now()) WHERE id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Json(serde_json::json!({"confirmed": true})))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub email: String,
}

/// Sends a password reset link, if the address belongs to an account. The
/// answer is the same either way, so it tells nobody which addresses exist.
#[utoipa::path(post, path = "/api/auth/password-reset", tag = "accounts",
    request_body(content = ResetRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "If the address has an account, a link was sent"),
        (status = 429, description = "Too many requests from this address", content_type = "application/problem+json"),
    ))]
pub async fn reset_request(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    body: Result<Json<ResetRequest>, JsonRejection>,
) -> AppResult<StatusCode> {
    let Json(req) = body?;
    state.auth.register_per_ip.check(&state.pool, &ip).await?;
    let email = req.email.trim().to_lowercase();
    state.auth.login_per_account.check(&state.pool, &email).await?;
    let user: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE lower(email) = $1 AND disabled_at IS NULL")
        .bind(&email)
        .fetch_optional(&state.pool)
        .await?;
    if let Some(id) = user {
        send_reset_link(&state, id, &email).await?;
    }
    Ok(StatusCode::ACCEPTED)
}

/// Queues a reset link for a user (also used by the admin API).
pub async fn send_reset_link(state: &AppState, user_id: i64, email: &str) -> AppResult<()> {
    let mut tx = state.pool.begin().await?;
    let token = new_link(&mut tx, user_id, "reset_password", RESET_LINK_HOURS).await?;
    let link = format!("{}/reset-password?token={token}", state.config.public_url());
    outbox::enqueue(
        &mut *tx,
        &Message {
            recipient: email.to_string(),
            subject: "Відновлення пароля / Password reset — geoportal".into(),
            body: format!(
                "Щоб задати новий пароль, відкрийте посилання (діє 1 годину):\n{link}\n\
                 Якщо ви не просили відновлення, нічого не робіть.\n\n\
                 To set a new password, open this link (valid for 1 hour):\n{link}\n\
                 If you did not ask for it, do nothing.\n"
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    pub token: String,
    pub password: String,
}

/// Sets the new password from a reset link; every session of the account ends.
#[utoipa::path(post, path = "/api/auth/password-reset/confirm", tag = "accounts",
    request_body(content = ResetConfirm, content_type = "application/json"),
    responses(
        (status = 204, description = "Password changed; sign in with it"),
        (status = 400, description = "Unknown, used or expired link", content_type = "application/problem+json"),
        (status = 422, description = "Weak password", content_type = "application/problem+json"),
    ))]
pub async fn reset_confirm(
    State(state): State<AppState>,
    body: Result<Json<ResetConfirm>, JsonRejection>,
) -> AppResult<StatusCode> {
    let Json(req) = body?;
    if req.password.chars().count() < 10 {
        return Err(AppError::Unprocessable(
            "`password` must be at least 10 characters".into(),
        ));
    }
    let mut tx = state.pool.begin().await?;
    let user_id = use_link(&mut tx, &req.token, "reset_password").await?;
    tx.commit().await?;
    users::set_password(&state.pool, user_id, &req.password)
        .await
        .map_err(|e| AppError::Unprocessable(e.to_string()))?;
    state.auth.forget_credentials();
    Ok(StatusCode::NO_CONTENT)
}

async fn new_link(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    user_id: i64,
    purpose: &str,
    hours: f64,
) -> Result<String, sqlx::Error> {
    let token = secret::generate("");
    sqlx::query(
        "INSERT INTO user_links (user_id, purpose, token_sha256, expires_at) \
         VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
    )
    .bind(user_id)
    .bind(purpose)
    .bind(secret::digest(&token))
    .bind(hours * 3600.0)
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

/// Spends a link once; returns its user.
async fn use_link(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>, token: &str, purpose: &str) -> AppResult<i64> {
    sqlx::query_scalar(
        "UPDATE user_links SET used_at = now() WHERE token_sha256 = $1 AND purpose = $2 \
         AND used_at IS NULL AND expires_at > now() RETURNING user_id",
    )
    .bind(secret::digest(token.trim()))
    .bind(purpose)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| AppError::BadRequest("the link is unknown, already used or expired".into()))
}

pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
        && !domain.contains('@')
}

/// Residents sign in with their email; the user name is derived from it.
fn username_for(email: &str) -> String {
    let name: String = email
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || "_.@-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if name.len() < 2 { format!("{name}__") } else { name }
}

/// Role names for error messages.
pub fn role_names(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
}
