//! Accounts at the HTTP edge: sign-in with bearer tokens, self-registration
//! of residents with email confirmation, password reset by emailed link, API
//! keys for machine clients, and the admin's user management. Also the two
//! shared pieces other areas reuse: the rate limiter and the outbox sender.

pub mod admin;
pub mod credentials;
pub mod handlers;
pub mod outbox;
pub mod ratelimit;
pub mod secret;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, header};
use sqlx::{PgPool, Row};

use crate::access::Viewer;
use crate::config::Config;
use crate::error::AppError;
use crate::registry::Role;
use crate::server::AppState;
pub use outbox::{Message, Sender};
pub use ratelimit::RateLimiter;

/// Prefix of session tokens and of API keys: tells them apart at a glance
/// (and lets secret scanners find leaked ones).
pub const SESSION_PREFIX: &str = "gps_";
pub const API_KEY_PREFIX: &str = "gpk_";

/// The accounts side of the application state.
#[derive(Clone)]
pub struct AuthState {
    pub login_per_account: RateLimiter,
    pub login_per_ip: RateLimiter,
    pub register_per_ip: RateLimiter,
    /// Appeal filing (API and Open311), per address and per contact.
    pub filing_per_ip: RateLimiter,
    pub filing_per_contact: RateLimiter,
    pub sender: Arc<dyn Sender>,
    pub session_ttl: Duration,
    pub trust_proxy: bool,
    /// Resolved credentials, dropped on every revocation on any instance
    /// (`credentials.rs`).
    pub credentials: Arc<credentials::Credentials>,
}

impl AuthState {
    pub fn new(config: &Config) -> AuthState {
        let sender = outbox::sender_from_config(config).unwrap_or_else(|e| {
            tracing::error!(error = %e, "mail sender not configured; writing mail to the data directory instead");
            Arc::new(outbox::FileSender::new(config.data_dir.join("outbox.log")))
        });
        AuthState::with_sender(config, sender)
    }

    pub fn with_sender(config: &Config, sender: Arc<dyn Sender>) -> AuthState {
        AuthState {
            // Ten tries in a row, then one a minute per account; an address
            // gets a larger burst because a school or office shares one.
            login_per_account: RateLimiter::new("sign-in/account", "sign-in", 1, 10),
            login_per_ip: RateLimiter::new("sign-in/address", "sign-in", 5, 30),
            register_per_ip: RateLimiter::new("registration/address", "registration", 5, 5),
            filing_per_ip: RateLimiter::new("filing/address", "appeal filing", 10, 20),
            filing_per_contact: RateLimiter::new("filing/contact", "appeal filing", 2, 5),
            sender,
            session_ttl: Duration::from_secs(config.session_hours.max(1) * 3600),
            trust_proxy: config.trust_proxy,
            credentials: credentials::Credentials::new(),
        }
    }

    /// Forgets every resolved credential (after logout, role or password changes).
    pub fn forget_credentials(&self) {
        self.credentials.forget();
    }

    /// Who sent these headers: a session's user, an API key's client, or
    /// anonymous. Credentials that are present but not valid are a 401,
    /// never silently anonymous.
    pub async fn resolve(&self, pool: &PgPool, headers: &HeaderMap) -> Result<Viewer, AppError> {
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let value = value
                .to_str()
                .map_err(|_| AppError::Unauthorized("the Authorization header is not readable".into()))?;
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .map(str::trim)
                .ok_or_else(|| AppError::Unauthorized("use `Authorization: Bearer <token>`".into()))?;
            return self.resolve_session(pool, token).await;
        }
        if let Some(value) = headers.get("x-api-key") {
            let key = value
                .to_str()
                .map_err(|_| AppError::Unauthorized("the X-API-Key header is not readable".into()))?;
            return self.resolve_api_key(pool, key.trim()).await;
        }
        Ok(Viewer::anonymous())
    }

    async fn resolve_session(&self, pool: &PgPool, token: &str) -> Result<Viewer, AppError> {
        let digest = secret::digest(token);
        if let Some(v) = self.credentials.get(&digest) {
            return Ok(v);
        }
        self.credentials.start_listener(pool);
        let ticket = self.credentials.ticket();
        let row = sqlx::query(
            "SELECT s.id AS session_id, u.id, u.username, u.roles, u.executor_id FROM sessions s \
             JOIN users u ON u.id = s.user_id \
             WHERE s.token_sha256 = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND u.disabled_at IS NULL",
        )
        .bind(&digest)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| AppError::Unauthorized("the token is unknown, expired or signed out; sign in again".into()))?;
        let user_id: i64 = row.try_get("id")?;
        let username: String = row.try_get("username")?;
        let viewer = Viewer {
            roles: parse_roles(&row.try_get::<Vec<String>, _>("roles")?),
            account_id: Some(user_id),
            executor_id: row.try_get("executor_id")?,
            user_id: Some(user_id),
            actor: Some(format!("user:{username}")),
            session_id: Some(row.try_get("session_id")?),
        };
        self.credentials.store(digest, viewer.clone(), ticket);
        Ok(viewer)
    }

    async fn resolve_api_key(&self, pool: &PgPool, key: &str) -> Result<Viewer, AppError> {
        let digest = secret::digest(key);
        if let Some(v) = self.credentials.get(&digest) {
            return Ok(v);
        }
        self.credentials.start_listener(pool);
        let ticket = self.credentials.ticket();
        let row = sqlx::query(
            "UPDATE api_keys SET last_used_at = now() WHERE key_sha256 = $1 AND revoked_at IS NULL \
             RETURNING id, roles, executor_id",
        )
        .bind(&digest)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| AppError::Unauthorized("the API key is unknown or revoked".into()))?;
        let id: i64 = row.try_get("id")?;
        let viewer = Viewer {
            roles: parse_roles(&row.try_get::<Vec<String>, _>("roles")?),
            account_id: None,
            executor_id: row.try_get("executor_id")?,
            user_id: None,
            actor: Some(format!("api_key:{id}")),
            session_id: None,
        };
        self.credentials.store(digest, viewer.clone(), ticket);
        Ok(viewer)
    }
}

pub fn parse_roles(names: &[String]) -> Vec<Role> {
    names.iter().filter_map(|n| Role::parse(n)).collect()
}

/// The client's address (see [`client_ip`]) as an extractor.
pub struct ClientIp(pub String);

impl axum::extract::FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let connect = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Ok(ClientIp(client_ip(&parts.headers, connect, state.auth.trust_proxy)))
    }
}

/// The client's address for rate limits: the socket peer, or the first
/// `X-Forwarded-For` hop when the server is configured to trust its proxy.
pub fn client_ip(headers: &HeaderMap, connect: Option<&ConnectInfo<SocketAddr>>, trust_proxy: bool) -> String {
    if trust_proxy
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
    {
        return ip.to_string();
    }
    connect.map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string())
}

/// Issues a session token for a user (sign-in; tests use it directly).
pub async fn issue_session(
    pool: &PgPool,
    user_id: i64,
    ttl: Duration,
    client_ip: Option<&str>,
) -> Result<(String, chrono::DateTime<chrono::Utc>), sqlx::Error> {
    let token = secret::generate(SESSION_PREFIX);
    let ip: Option<IpAddr> = client_ip.and_then(|ip| ip.parse().ok());
    let expires: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
        "INSERT INTO sessions (user_id, token_sha256, expires_at, client_ip) \
         VALUES ($1, $2, now() + make_interval(secs => $3), $4::inet) RETURNING expires_at",
    )
    .bind(user_id)
    .bind(secret::digest(&token))
    .bind(ttl.as_secs_f64())
    .bind(ip.map(|ip| ip.to_string()))
    .fetch_one(pool)
    .await?;
    Ok((token, expires))
}

pub fn routes() -> Router<AppState> {
    handlers::routes().merge(admin::routes())
}
