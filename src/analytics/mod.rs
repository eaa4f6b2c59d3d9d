//! Spatial analytics (issue 7): a catalogue of named, parameterised
//! analyses defined as data (`analytics/*.toml` + `.sql`), served as JSON,
//! CSV and GeoJSON, and district-level results as vector tiles.
//!
//! * `catalogue` — reading and checking the TOML files;
//! * `params` — checking request parameters against the declared schema;
//! * `indicators` — the district indicators, composed into one analysis;
//! * `run` — running an analysis (read-only transaction, bound parameters)
//!   and writing its result in each format;
//! * `dbscan` — clusters of the points an analysis selects (`[dbscan]`);
//! * `tiles` — choropleth tiles (`ST_AsMVT`) and their TileJSON;
//! * `cache` — results and tiles kept until the data change (a data
//!   version kept by triggers, migration 0080) or five minutes pass;
//! * `warm` — recomputes the `warm = true` analyses into the cache in the
//!   background after the data change.
//!
//! Appeals are only ever aggregated here: no analysis outputs an appeal's
//! text, author or exact location. Analyses whose rows are features of a
//! layer declare it, and the viewer's readable attributes of that layer
//! bound what they output.

pub mod cache;
pub mod catalogue;
pub mod dbscan;
pub mod indicators;
pub mod params;
pub mod run;
pub mod tiles;
pub mod warm;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::AppError;
use crate::server::AppState;

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error("the analytics catalogue is invalid: {0}")]
    Catalogue(String),
    #[error("no analysis `{0}`")]
    Unknown(String),
    #[error("invalid parameters: {}", .0.join("; "))]
    Params(Vec<String>),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<AnalyticsError> for AppError {
    fn from(e: AnalyticsError) -> AppError {
        match e {
            AnalyticsError::Catalogue(m) => AppError::Internal(anyhow::anyhow!("analytics catalogue: {m}")),
            AnalyticsError::Unknown(_) => AppError::NotFound(e.to_string()),
            AnalyticsError::Params(_) | AnalyticsError::BadRequest(_) => AppError::BadRequest(e.to_string()),
            AnalyticsError::Db(db) => AppError::Database(db),
        }
    }
}

impl IntoResponse for AnalyticsError {
    fn into_response(self) -> Response {
        // Parameter problems also come as a list (`errors`), one per problem.
        if let AnalyticsError::Params(list) = &self {
            let body = serde_json::json!({
                "type": "about:blank",
                "title": "Bad Request",
                "status": 400,
                "detail": self.to_string(),
                "errors": list,
            });
            let mut r = (StatusCode::BAD_REQUEST, body.to_string()).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            );
            return r;
        }
        AppError::from(self).into_response()
    }
}

/// The analytics routes; starts the background warmer of `state`'s
/// database (once per process and database).
pub fn routes(state: &AppState) -> Router<AppState> {
    warm::start(state);
    Router::new()
        .route("/api/analytics", get(run::list))
        .route("/api/analytics/{name}", get(run::run))
        .route("/api/analytics/{name}/tiles.json", get(tiles::tilejson))
        .route("/api/analytics/{name}/tiles/{z}/{x}/{y}", get(tiles::tile))
}
