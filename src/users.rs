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
