//! User accounts: argon2id password hashes and roles.

use argon2::{Argon2, PasswordHasher};
use sqlx::PgPool;

use crate::registry::Role;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("unknown role `{0}`; known roles: {known}", known = Role::ACCOUNT_ROLES.map(Role::as_str).join(", "))]
    UnknownRole(String),
    #[error("user name must be 2–64 characters of a-z, 0-9, _ . @ -")]
    BadName,
    #[error("the password must be at least 10 characters")]
    WeakPassword,
    #[error("a user named `{0}` already exists")]
    Exists(String),
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub fn parse_roles(list: &[String]) -> Result<Vec<Role>, UserError> {
    list.iter()
        .map(|r| {
            Role::parse(r.trim())
                .filter(|r| *r != Role::Everyone)
                .ok_or_else(|| UserError::UnknownRole(r.clone()))
        })
        .collect()
}

pub fn hash_password(password: &str) -> Result<String, UserError> {
    // Argon2id with the crate's default (OWASP) parameters and a random salt.
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| UserError::Hash(e.to_string()))
}

/// Creates a user; returns its id.
pub async fn add(pool: &PgPool, username: &str, roles: &[Role], password: &str) -> Result<i64, UserError> {
    let username = username.trim().to_lowercase();
    let valid = (2..=64).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.@-".contains(c));
    if !valid {
        return Err(UserError::BadName);
    }
    if password.chars().count() < 10 {
        return Err(UserError::WeakPassword);
    }
    let hash = hash_password(password)?;
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let result = sqlx::query_scalar::<_, i64>(
        "INSERT INTO users (username, password_hash, roles) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(&username)
    .bind(&hash)
    .bind(&roles)
    .fetch_one(pool)
    .await;
    match result {
        Ok(id) => Ok(id),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23505") => Err(UserError::Exists(username)),
        Err(e) => Err(e.into()),
    }
}

/// Checks a password against a stored PHC hash (argon2id); slow by design,
/// so callers run it on a blocking thread.
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::PasswordVerifier;
    match argon2::PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// An account as listed to admins and the CLI (no password hash).
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub roles: Vec<String>,
    pub executor_id: Option<i64>,
    /// The editing perimeter as a GeoJSON geometry, if the user has one.
    pub perimeter: Option<serde_json::Value>,
    pub email_confirmed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub disabled_at: Option<chrono::DateTime<chrono::Utc>>,
}

const USER_COLUMNS: &str = "id, username, display_name, email, roles, executor_id, \
     ST_AsGeoJSON(perimeter)::json AS perimeter, email_confirmed_at, created_at, disabled_at";

pub async fn list(pool: &PgPool) -> Result<Vec<UserRow>, UserError> {
    Ok(
        sqlx::query_as::<_, UserRow>(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
            .fetch_all(pool)
            .await?,
    )
}

pub async fn get(pool: &PgPool, id: i64) -> Result<Option<UserRow>, UserError> {
    Ok(
        sqlx::query_as::<_, UserRow>(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

pub async fn find_by_name(pool: &PgPool, username: &str) -> Result<Option<UserRow>, UserError> {
    Ok(sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE lower(username) = lower($1)"
    ))
    .bind(username.trim())
    .fetch_optional(pool)
    .await?)
}

/// Disables an account and ends its sessions at once.
pub async fn set_disabled(pool: &PgPool, id: i64, disabled: bool) -> Result<bool, UserError> {
    let mut tx = pool.begin().await?;
    let changed = sqlx::query(
        "UPDATE users SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) END, updated_at = now() \
         WHERE id = $1",
    )
    .bind(id)
    .bind(disabled)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if disabled {
        end_sessions(&mut *tx, id).await?;
    }
    tx.commit().await?;
    Ok(changed == 1)
}

/// Sets a new password and ends every session of the account.
pub async fn set_password(pool: &PgPool, id: i64, password: &str) -> Result<bool, UserError> {
    if password.chars().count() < 10 {
        return Err(UserError::WeakPassword);
    }
    let hash = {
        let password = password.to_string();
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| UserError::Hash(e.to_string()))??
    };
    let mut tx = pool.begin().await?;
    let changed = sqlx::query("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(&hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    end_sessions(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(changed == 1)
}

pub async fn end_sessions<'e>(db: impl sqlx::PgExecutor<'e>, user_id: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL")
            .bind(user_id)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
