//! OGC API – Features, Parts 1 (core), 2 (CRS) and 3 (filtering), under
//! `/ogc`. Everything is read from the layer registry and filtered through
//! the viewer: unpublished layers, unreadable attributes and invisible rows
//! never appear.

pub mod collections;
pub mod crs;
pub mod edit;
pub mod formats;
pub mod items;
pub mod landing;
pub mod params;
pub mod query;
pub mod queryables;

use std::sync::Arc;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};

use crate::error::AppError;
use crate::query::FilterError;
use crate::server::AppState;
use formats::Format;

#[derive(Debug, thiserror::Error)]
pub enum OgcError {
    #[error("unknown parameter `{name}`; this resource accepts: {known}")]
    UnknownParameter { name: String, known: String },
    #[error("parameter `{0}` is given more than once")]
    Repeated(String),
    #[error("bad `{name}`: {reason}")]
    BadParameter { name: String, reason: String },
    #[error("unsupported format `{value}` (f= takes {allowed})")]
    Format { value: String, allowed: &'static str },
    #[error("bad `filter`: {0}")]
    Filter(#[from] FilterError),
    #[error("no collection `{0}`")]
    NoCollection(String),
    #[error("no feature `{feature}` in collection `{collection}`")]
    NoFeature { collection: String, feature: String },
}

impl From<OgcError> for AppError {
    fn from(e: OgcError) -> Self {
        match e {
            OgcError::NoCollection(_) | OgcError::NoFeature { .. } => AppError::NotFound(e.to_string()),
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

/// The `/ogc` routes. Each router built gets its own extent cache.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ogc", get(landing::landing))
        .route("/ogc/conformance", get(landing::conformance))
        .route("/ogc/collections", get(collections::collections))
        .route("/ogc/collections/{collection_id}", get(collections::collection))
        .route(
            "/ogc/collections/{collection_id}/queryables",
            get(queryables::queryables),
        )
        .route(
            "/ogc/collections/{collection_id}/items",
            get(items::items).post(edit::create).options(edit::options_items),
        )
        .route(
            "/ogc/collections/{collection_id}/items/{feature_id}",
            get(items::item)
                .put(edit::replace)
                .patch(edit::patch)
                .delete(edit::delete)
                .options(edit::options_item),
        )
        .route(
            "/ogc/collections/{collection_id}/items/{feature_id}/versions",
            get(edit::history::versions),
        )
        .route(
            "/ogc/collections/{collection_id}/items/{feature_id}/versions/{version}/restore",
            post(edit::restore),
        )
        .layer(Extension(Arc::new(collections::ExtentCache::default())))
}

/// `{public_url}/ogc`.
pub fn base(state: &AppState) -> String {
    format!("{}/ogc", state.config.public_url())
}

/// A JSON or HTML document with its media type.
pub fn document(
    format: Format,
    json_type: &'static str,
    json: &serde_json::Value,
    html: impl FnOnce() -> String,
) -> Response {
    match format {
        Format::Html => with_type(html(), "text/html; charset=utf-8"),
        Format::Json | Format::Csv => with_type(json.to_string(), json_type),
    }
}

pub fn with_type(body: String, media_type: &'static str) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    response
}
