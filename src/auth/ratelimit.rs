//! The rate limiter shared by every endpoint that needs one (sign-in,
//! registration, appeal filing): token buckets kept in PostgreSQL
//! (migration 0132), so the limits hold for the whole service however many
//! instances serve it. The key (an address, an account, a contact) is
//! stored only as its SHA-256.

use crate::error::AppError;

/// Allows `burst` requests per key at once, refilled at `per_minute`.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    /// The bucket's name in the table (what and per what).
    bucket: &'static str,
    /// What is limited, for the 429 message.
    what: &'static str,
    per_minute: u32,
    burst: u32,
}

impl RateLimiter {
    pub fn new(bucket: &'static str, what: &'static str, per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            bucket,
            what,
            per_minute: per_minute.max(1),
            burst: burst.max(1),
        }
    }

    /// Takes one request for `key`, or answers 429 with `Retry-After`.
    pub async fn check(&self, pool: &sqlx::PgPool, key: &str) -> Result<(), AppError> {
        let wait: f64 = sqlx::query_scalar("SELECT geoportal_take_token($1, $2, $3, $4)")
            .bind(self.bucket)
            .bind(super::secret::digest(key))
            .bind(f64::from(self.per_minute))
            .bind(f64::from(self.burst))
            .fetch_one(pool)
            .await?;
        if wait <= 0.0 {
            return Ok(());
        }
        // Whole seconds, rounded up, at least one (Retry-After is integral).
        let secs = (wait.ceil() as u64).max(1);
        Err(AppError::TooManyRequests {
            detail: format!("too many {} attempts; try again in {secs} s", self.what),
            retry_after_secs: secs,
        })
    }
}
