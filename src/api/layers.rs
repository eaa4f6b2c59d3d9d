//! `GET /api/layers` and `/api/layers/{id}`: the catalogue of the layers the
//! requester may see, with only the attributes they may read. The map's
//! layer list and the editors are built from this.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::access::Viewer;
use crate::error::{AppError, AppResult};
use crate::registry::model::{AttrType, GeometryType, I18n, LayerGroup};
use crate::registry::{Layer, Role};
use crate::server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/layers", get(list))
        .route("/api/layers/{id}", get(one))
}

#[derive(Debug, Serialize)]
pub struct LayerSummary<'a> {
    pub id: &'a str,
    pub title: &'a I18n,
    pub description: &'a I18n,
    pub group: LayerGroup,
    pub geometry_type: GeometryType,
    pub minzoom: u8,
    pub maxzoom: u8,
    pub temporal: Option<&'a str>,
    pub label: Option<&'a str>,
    pub attribution: Option<&'a str>,
    pub attributes: Vec<AttributeSummary<'a>>,
}

#[derive(Debug, Serialize)]
pub struct AttributeSummary<'a> {
    pub name: &'a str,
    #[serde(rename = "type")]
    pub attr_type: AttrType,
    pub title: &'a I18n,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<&'a [String]>,
    pub editable: bool,
}

fn summary<'a>(layer: &'a Layer, roles: &'a [Role]) -> LayerSummary<'a> {
    LayerSummary {
        id: &layer.id,
        title: &layer.title,
        description: &layer.description,
        group: layer.group,
        geometry_type: layer.geometry.geometry_type,
        minzoom: layer.minzoom,
        maxzoom: layer.maxzoom,
        temporal: layer.temporal.as_deref(),
        label: layer.label.as_deref(),
        attribution: layer.attribution.as_deref(),
        attributes: layer
            .readable_attributes(roles)
            .map(|a| AttributeSummary {
                name: &a.name,
                attr_type: a.attr_type,
                title: &a.title,
                unit: a.unit.as_deref(),
                values: a.values.as_deref(),
                editable: roles.iter().any(|r| a.edit.contains(r)),
            })
            .collect(),
    }
}

async fn list(State(state): State<AppState>, viewer: Viewer) -> Json<serde_json::Value> {
    let layers: Vec<LayerSummary> = state
        .registry
        .visible_to(&viewer.roles)
        .map(|l| summary(l, &viewer.roles))
        .collect();
    Json(serde_json::json!({ "layers": layers }))
}

async fn one(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> AppResult<Json<serde_json::Value>> {
    let layer = state
        .registry
        .get_visible(&id, &viewer.roles)
        .ok_or_else(|| AppError::NotFound(format!("no layer `{id}`")))?;
    Ok(Json(serde_json::json!(summary(layer, &viewer.roles))))
}
