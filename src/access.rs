//! Who is asking: the roles a request acts with. Every read path filters
//! layers, attributes and rows through this, so restricted data never
//! reaches a role that may not see it. The extractor resolves the
//! `Authorization: Bearer …` session token or the `X-API-Key` of a machine
//! client (src/auth); no credentials means anonymous.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::AppError;
use crate::registry::Role;
use crate::server::AppState;

/// The requester.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Viewer {
    pub roles: Vec<Role>,
    /// The resident account (appeals' `account_id` rows rules).
    pub account_id: Option<i64>,
    /// The executor organisation a user or key acts for.
    pub executor_id: Option<i64>,
    /// The signed-in user, if any (staff and residents alike).
    pub user_id: Option<i64>,
    /// Who to name in history: `user:<name>` or `api_key:<id>`.
    pub actor: Option<String>,
    /// The session a bearer token belongs to (logout revokes it).
    pub session_id: Option<i64>,
}

impl Viewer {
    pub fn anonymous() -> Viewer {
        Viewer::default()
    }

    pub fn is_anonymous(&self) -> bool {
        self.actor.is_none()
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// 401 for anonymous callers, 403 for callers without any of `roles`.
    pub fn require_any(&self, roles: &[Role], what: &str) -> Result<(), AppError> {
        if self.is_anonymous() {
            return Err(AppError::Unauthorized(format!("{what} needs you to sign in")));
        }
        if roles.iter().any(|r| self.has(*r)) {
            return Ok(());
        }
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(AppError::Forbidden(format!(
            "{what} needs one of the roles: {}",
            names.join(", ")
        )))
    }

    /// A stable key for caches of role-dependent output (tiles, features):
    /// viewers with the same key see the same attributes and rows.
    pub fn cache_key(&self) -> String {
        if self.roles.is_empty() {
            return "public".into();
        }
        let mut roles: Vec<&str> = self.roles.iter().map(|r| r.as_str()).collect();
        roles.sort_unstable();
        roles.dedup();
        roles.join("+")
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(viewer) = parts.extensions.get::<Viewer>() {
            return Ok(viewer.clone());
        }
        let viewer = state.auth.resolve(&state.pool, &parts.headers).await?;
        parts.extensions.insert(viewer.clone());
        Ok(viewer)
    }
}
