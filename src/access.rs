//! Who is asking: the roles a request acts with. Every read path filters
//! layers, attributes and rows through this, so restricted data never
//! reaches a role that may not see it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::registry::Role;

/// The requester. Until accounts exist every request is anonymous; the
/// accounts issue fills this from the bearer token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Viewer {
    pub roles: Vec<Role>,
    pub account_id: Option<i64>,
    pub executor_id: Option<i64>,
}

impl Viewer {
    pub fn anonymous() -> Viewer {
        Viewer::default()
    }

    /// A stable key for caches of role-dependent output (tiles, features):
    /// viewers with the same key see the same attributes and rows.
    pub fn cache_key(&self) -> String {
        if self.roles.is_empty() {
            return "public".into();
        }
        let mut roles: Vec<&str> = self.roles.iter().map(|r| r.as_str()).collect();
        roles.sort_unstable();
        roles.join("+")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Viewer::anonymous())
    }
}
