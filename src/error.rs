//! One error type for every HTTP handler, rendered as RFC 9457
//! `application/problem+json`. Lower errors convert with `From`, so handlers
//! use `?`; anything unexpected is logged and answered with a generic 500
//! that leaks no internals.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Unavailable(String),
    /// No credentials, or credentials that are not (or no longer) valid.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials whose roles may not do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after_secs: u64 },
    /// `If-Match` names a version that is no longer current.
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A write without `If-Match`.
    #[error("{0}")]
    PreconditionRequired(String),
    /// A write rejected by validation: every failing field at once (422).
    #[error("the data is not valid: {} problem(s)", .0.len())]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// One failing field of a rejected write (`errors` of a 422 problem).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The problem document (RFC 9457).
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: Option<String>) -> Problem {
        Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(self)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            AppError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Database(e) => database_status(e),
            AppError::Internal(e) => match sqlx_source(e) {
                Some(db) if is_transient(db) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }
}

/// Constraint violations are the client's fault; an unreachable, restarting
/// or overloaded database is a passing 503 (with `Retry-After`); the rest is
/// ours.
fn database_status(e: &sqlx::Error) -> StatusCode {
    if is_transient(e) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match e {
        sqlx::Error::RowNotFound => StatusCode::NOT_FOUND,
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // unique_violation, exclusion_violation
            Some("23505") | Some("23P01") => StatusCode::CONFLICT,
            // check, not-null, foreign-key violations
            Some("23514") | Some("23502") | Some("23503") => StatusCode::UNPROCESSABLE_ENTITY,
            // a value the client sent that PostgreSQL cannot read: invalid text
            // representation, datetime format or field, numeric out of range,
            // invalid parameter value (e.g. an unknown SRID)
            Some("22P02") | Some("22007") | Some("22008") | Some("22003") | Some("22023") => StatusCode::BAD_REQUEST,
            // text PostgreSQL cannot hold: a NUL byte, a character the
            // encoding lacks
            Some("22021") | Some("22P05") => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        },
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A database failure that says nothing about the request and may pass by
/// itself: no connection to be had (refused, closed, pool exhausted), the
/// server shutting down or still recovering, too many connections, a
/// statement cut by `statement_timeout`, a serialization failure.
pub fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 57P01–57P05: admin/crash shutdown,
            // cannot connect now (recovery), idle-session timeout; 53300:
            // too many connections; 57014: query canceled (statement
            // timeout); 40001/40P01: serialization failure, deadlock;
            // 55P03: lock not available.
            code.starts_with("08")
                || code.starts_with("57P")
                || ["53300", "57014", "40001", "40P01", "55P03"].contains(&code.as_ref())
        }),
        _ => false,
    }
}

/// The sqlx error behind an `anyhow` error, if that is what it is.
fn sqlx_source(e: &anyhow::Error) -> Option<&sqlx::Error> {
    e.chain().find_map(|c| c.downcast_ref::<sqlx::Error>())
}

/// Seconds a client should wait before retrying after a passing database failure.
const RETRY_AFTER_SECS: u32 = 2;

impl AppError {
    /// A statement cut by `statement_timeout` (SQLSTATE 57014).
    fn is_timeout(&self) -> bool {
        let db = match self {
            AppError::Database(e) => Some(e),
            AppError::Internal(e) => sqlx_source(e),
            _ => None,
        };
        matches!(db, Some(sqlx::Error::Database(d)) if d.code().as_deref() == Some("57014"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let AppError::Invalid(errors) = &self {
            let mut response = (
                status,
                axum::Json(serde_json::json!({
                    "type": "about:blank",
                    "title": "Unprocessable Entity",
                    "status": status.as_u16(),
                    "detail": self.to_string(),
                    "errors": errors,
                })),
            )
                .into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            );
            return response;
        }
        let detail = match &self {
            AppError::Database(sqlx::Error::Database(db)) if status.is_client_error() => Some(format!(
                "the data breaks a rule: {}",
                db.constraint().unwrap_or_else(|| db.message())
            )),
            // Passing: logged without the statement, answered without detail.
            AppError::Database(_) | AppError::Internal(_) if status == StatusCode::SERVICE_UNAVAILABLE => {
                tracing::warn!(error = %self, "database unavailable");
                Some(if self.is_timeout() {
                    "the database took too long to answer; try again later".to_string()
                } else {
                    "the database is not available right now; try again shortly".to_string()
                })
            }
            AppError::Database(_) | AppError::Internal(_) => {
                tracing::error!(error = %self, "request failed");
                None
            }
            other => Some(other.to_string()),
        };
        let mut response = Problem::new(status, detail).into_response();
        match &self {
            AppError::TooManyRequests { retry_after_secs, .. } => {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs.max(&1).to_owned()),
                );
            }
            AppError::Unavailable(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            }
            AppError::Database(_) | AppError::Internal(_) if status == StatusCode::SERVICE_UNAVAILABLE => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            }
            AppError::Unauthorized(_) => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"geoportal\""),
                );
            }
            _ => {}
        }
        response
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        // A body over the limit without a Content-Length is found while reading.
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return AppError::PayloadTooLarge(r.body_text());
        }
        AppError::BadRequest(r.body_text())
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        AppError::BadRequest(r.body_text())
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> Self {
        AppError::BadRequest(r.body_text())
    }
}

pub type AppResult<T> = Result<T, AppError>;
