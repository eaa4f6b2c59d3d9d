//! The rate limiter shared by every endpoint that needs one (sign-in,
//! registration, appeal filing): keyed token buckets from `governor`, held
//! in memory per process.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::AppError;

/// Allows `burst` requests per key at once, refilled at `per_minute`.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<DefaultKeyedRateLimiter<String>>,
    what: &'static str,
}

impl RateLimiter {
    pub fn new(what: &'static str, per_minute: u32, burst: u32) -> RateLimiter {
        let per_minute = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        RateLimiter {
            inner: Arc::new(governor::RateLimiter::keyed(quota)),
            what,
        }
    }

    /// Takes one request for `key`, or answers 429 with `Retry-After`.
    pub fn check(&self, key: &str) -> Result<(), AppError> {
        match self.inner.check_key(&key.to_string()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait: Duration = not_until.wait_time_from(DefaultClock::default().now());
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Err(AppError::TooManyRequests {
                    detail: format!("too many {} attempts; try again in {secs} s", self.what),
                    retry_after_secs: secs.max(1),
                })
            }
        }
    }

    /// Drops keys whose buckets are full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.inner.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refused_per_key() {
        let limiter = RateLimiter::new("sign-in", 1, 3);
        for _ in 0..3 {
            assert!(limiter.check("a").is_ok());
        }
        match limiter.check("a") {
            Err(AppError::TooManyRequests { retry_after_secs, .. }) => assert!(retry_after_secs >= 1),
            other => panic!("expected 429, got {other:?}"),
        }
        // another key has its own bucket
        assert!(limiter.check("b").is_ok());
    }
}
