//! Layers published or hidden at run time. `published` in `layers/<id>.toml`
//! is the default; an admin's switch (`PUT /api/admin/layers/{id}/publication`,
//! a row of `layer_publication`, migration 0120) wins over it. The registry
//! holds the effective state (`LayerDef::is_published`), which every read
//! path already asks through `visible_to`/`get_visible`: features, tiles,
//! TileJSON, search, `/api/layers`, imports, analytics.
//!
//! Every instance follows every change within a second: the table's trigger
//! sends `geoportal_publication`, and the listener started with the router
//! applies it (a change through psql too). On (re)connecting, the listener
//! reads the whole table again, since notifications may have been lost.

use std::sync::{Arc, Weak};

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::access::Viewer;
use crate::error::{AppError, AppResult};
use crate::registry::{Layer, Registry, Role};
use crate::server::AppState;
use crate::tiles::TileCache;

/// The channel of migration 0120's trigger.
pub const CHANNEL: &str = "geoportal_publication";

#[derive(Debug, thiserror::Error)]
pub enum PublicationError {
    #[error("no layer `{0}`")]
    UnknownLayer(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<PublicationError> for AppError {
    fn from(e: PublicationError) -> Self {
        match e {
            PublicationError::UnknownLayer(_) => AppError::NotFound(e.to_string()),
            PublicationError::Db(e) => AppError::Database(e),
        }
    }
}

/// The routes; also starts this registry's change listener (once), so any
/// router — the server's or a test's — follows changes made elsewhere.
pub fn routes(state: &AppState) -> Router<AppState> {
    start_listener(state);
    Router::new().route("/api/admin/layers", get(list)).route(
        "/api/admin/layers/{id}/publication",
        axum::routing::put(set).delete(clear),
    )
}

#[derive(Debug, sqlx::FromRow)]
struct OverrideRow {
    layer_id: String,
    published: bool,
    changed_by: Option<String>,
    changed_at: chrono::DateTime<chrono::Utc>,
}

/// Applies every stored override to `registry` (and removes the overrides
/// of layers that no longer have a row). Run before serving, and by the
/// listener on every (re)connect.
pub async fn load(registry: &Registry, pool: &PgPool) -> Result<(), sqlx::Error> {
    let rows: Vec<OverrideRow> = sqlx::query_as(include_str!("publication/load.sql"))
        .fetch_all(pool)
        .await?;
    for layer in registry.all() {
        let value = rows.iter().find(|r| r.layer_id == layer.id).map(|r| r.published);
        layer.publication.set(value);
    }
    for row in rows.iter().filter(|r| registry.get(&r.layer_id).is_none()) {
        tracing::warn!(layer = %row.layer_id, "layer_publication names a layer without a file; ignored");
    }
    Ok(())
}

/// One layer as the admin sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LayerPublication {
    pub id: String,
    #[schema(value_type = Object)]
    pub title: serde_json::Value,
    pub group: String,
    /// `published` of the layer file.
    pub file_published: bool,
    /// The admin's switch, if any (it wins over the file).
    pub override_published: Option<bool>,
    /// What the public sees now.
    pub published: bool,
    /// Roles that see the layer even when it is hidden (besides admin).
    pub staff: Vec<String>,
    /// Who set the switch (`user:<name>`, or `db:<role>` from psql), and when.
    pub changed_by: Option<String>,
    pub changed_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn entry(layer: &Layer, row: Option<&OverrideRow>) -> LayerPublication {
    LayerPublication {
        id: layer.id.clone(),
        title: serde_json::to_value(&layer.title).unwrap_or_default(),
        group: serde_json::to_value(layer.group)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        file_published: layer.published,
        override_published: layer.publication.get(),
        published: layer.is_published(),
        staff: layer.staff.iter().map(|r| r.as_str().to_string()).collect(),
        changed_by: row.and_then(|r| r.changed_by.clone()),
        changed_at: row.map(|r| r.changed_at),
    }
}

fn admin_only(viewer: &Viewer) -> AppResult<()> {
    viewer.require_any(&[Role::Admin], "publishing or hiding layers")
}

fn layer_id(path: Result<Path<String>, PathRejection>) -> AppResult<String> {
    Ok(path?.0)
}

/// Every layer with its file default, the admin's override and what the public sees.
#[utoipa::path(get, path = "/api/admin/layers", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every layer: file default, override, effective state, who changed it and when", body = [LayerPublication], content_type = "application/json"),
        (status = 401, description = "Not signed in", content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", content_type = "application/problem+json"),
    ))]
pub async fn list(State(state): State<AppState>, viewer: Viewer) -> AppResult<Json<Vec<LayerPublication>>> {
    admin_only(&viewer)?;
    let rows: Vec<OverrideRow> = sqlx::query_as(include_str!("publication/load.sql"))
        .fetch_all(&state.pool)
        .await
        .map_err(PublicationError::from)?;
    let list = state
        .registry
        .all()
        .iter()
        .map(|l| entry(l, rows.iter().find(|r| r.layer_id == l.id)))
        .collect();
    Ok(Json(list))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicationChange {
    /// true: the public sees the layer; false: only admin and the layer's staff roles.
    pub published: bool,
}

/// The body as `{"published": true|false}` and nothing else (serde would
/// also take `[true]` for the struct).
fn change(body: serde_json::Value) -> AppResult<PublicationChange> {
    if !body.is_object() {
        return Err(AppError::Unprocessable(
            "the body must be a JSON object {\"published\": true|false}".into(),
        ));
    }
    serde_json::from_value(body).map_err(|e| AppError::Unprocessable(format!("the body is not valid: {e}")))
}

/// Publishes or hides a layer now, on every instance; the file stays as it is.
#[utoipa::path(put, path = "/api/admin/layers/{id}/publication", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Layer id")),
    request_body(content = PublicationChange, content_type = "application/json"),
    responses(
        (status = 200, description = "The layer after the change", body = LayerPublication, content_type = "application/json"),
        (status = 400, description = "Not JSON", content_type = "application/problem+json"),
        (status = 422, description = "Not an object with a boolean `published` and nothing else", content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", content_type = "application/problem+json"),
        (status = 404, description = "No such layer", content_type = "application/problem+json"),
    ))]
pub async fn set(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> AppResult<Json<LayerPublication>> {
    admin_only(&viewer)?;
    let id = layer_id(path)?;
    let layer = state
        .registry
        .get(&id)
        .cloned()
        .ok_or(PublicationError::UnknownLayer(id))?;
    let change = change(body?.0)?;
    let actor = viewer.actor.clone().unwrap_or_default();
    let mut tx = state.pool.begin().await.map_err(PublicationError::from)?;
    sqlx::query(include_str!("publication/actor.sql"))
        .bind(&actor)
        .execute(&mut *tx)
        .await
        .map_err(PublicationError::from)?;
    let row: OverrideRow = sqlx::query_as(include_str!("publication/set.sql"))
        .bind(&layer.id)
        .bind(change.published)
        .fetch_one(&mut *tx)
        .await
        .map_err(PublicationError::from)?;
    tx.commit().await.map_err(PublicationError::from)?;
    // This instance at once; the others through the notification.
    apply(&state.registry, &state.tiles, &layer.id, Some(change.published));
    tracing::info!(layer = %layer.id, published = change.published, by = %actor, "layer publication changed");
    Ok(Json(entry(&layer, Some(&row))))
}

/// Removes the admin's switch: the layer file's `published` decides again.
#[utoipa::path(delete, path = "/api/admin/layers/{id}/publication", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Layer id")),
    responses(
        (status = 200, description = "The layer after the change", body = LayerPublication, content_type = "application/json"),
        (status = 401, description = "Not signed in", content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", content_type = "application/problem+json"),
        (status = 404, description = "No such layer", content_type = "application/problem+json"),
    ))]
pub async fn clear(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<String>, PathRejection>,
) -> AppResult<Json<LayerPublication>> {
    admin_only(&viewer)?;
    let id = layer_id(path)?;
    let layer = state
        .registry
        .get(&id)
        .cloned()
        .ok_or(PublicationError::UnknownLayer(id))?;
    let actor = viewer.actor.clone().unwrap_or_default();
    let mut tx = state.pool.begin().await.map_err(PublicationError::from)?;
    sqlx::query(include_str!("publication/actor.sql"))
        .bind(&actor)
        .execute(&mut *tx)
        .await
        .map_err(PublicationError::from)?;
    sqlx::query(include_str!("publication/clear.sql"))
        .bind(&layer.id)
        .execute(&mut *tx)
        .await
        .map_err(PublicationError::from)?;
    tx.commit().await.map_err(PublicationError::from)?;
    apply(&state.registry, &state.tiles, &layer.id, None);
    tracing::info!(layer = %layer.id, by = %actor, "layer publication override removed");
    Ok(Json(entry(&layer, None)))
}

/// Switches one layer and drops its cached tiles (a hidden layer's are
/// refused before the cache anyway; this frees them and leaves nothing
/// built under the other state).
fn apply(registry: &Registry, tiles: &TileCache, id: &str, value: Option<bool>) {
    let before = registry.get(id).map(|l| l.is_published());
    if registry.set_publication(id, value) {
        if before != registry.get(id).map(|l| l.is_published()) {
            tiles.invalidate_layer(id);
        }
    } else {
        tracing::warn!(layer = id, "publication change for a layer without a file; ignored");
    }
}

/// What the trigger sends (`published` too, but the row is read again).
#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(default)]
    layer_id: Option<String>,
    /// TRUNCATE: read the whole table again.
    #[serde(default)]
    all: bool,
}

fn start_listener(state: &AppState) {
    if tokio::runtime::Handle::try_current().is_err() || !state.registry.claim_publication_listener() {
        return;
    }
    let follower = Publication {
        registry: Arc::downgrade(&state.registry),
        tiles: state.tiles.clone(),
        pool: state.pool.clone(),
    };
    crate::db::follow::spawn(state.pool.clone(), CHANNEL, follower);
}

/// Follows `geoportal_publication` until the registry (the application) is gone.
struct Publication {
    registry: Weak<Registry>,
    tiles: TileCache,
    pool: PgPool,
}

impl crate::db::follow::Follower for Publication {
    const WHAT: &'static str = "layer publication";

    /// Listening first, then reading the table: no change can fall between.
    async fn caught_up(&mut self) -> Result<bool, String> {
        let Some(registry) = self.registry.upgrade() else {
            return Ok(false);
        };
        reload(&registry, &self.tiles, &self.pool)
            .await
            .map_err(|e| e.to_string())?;
        Ok(true)
    }

    async fn notified(&mut self, payloads: Vec<String>) -> Result<bool, String> {
        let Some(registry) = self.registry.upgrade() else {
            return Ok(false);
        };
        for payload in payloads {
            let result = match serde_json::from_str::<Payload>(&payload) {
                Ok(Payload {
                    layer_id: Some(id),
                    all: false,
                    ..
                }) => follow(&registry, &self.tiles, &self.pool, &id).await,
                Ok(_) => reload(&registry, &self.tiles, &self.pool).await,
                Err(e) => {
                    tracing::warn!(error = %e, "unreadable publication notification; reading the table");
                    reload(&registry, &self.tiles, &self.pool).await
                }
            };
            result.map_err(|e| format!("cannot read layer publication: {e}"))?;
        }
        Ok(true)
    }

    /// The table is read again on reconnecting.
    fn lost(&mut self) {}
}

/// One layer's switch as committed now, not as the notification says: a
/// notification that arrives late (after a newer change applied by this
/// instance's endpoint) cannot turn the layer back.
async fn follow(registry: &Registry, tiles: &TileCache, pool: &PgPool, id: &str) -> Result<(), sqlx::Error> {
    let value: Option<bool> = sqlx::query_scalar(include_str!("publication/one.sql"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    apply(registry, tiles, id, value);
    Ok(())
}

/// The whole table again; tiles of every layer whose state moved are dropped.
async fn reload(registry: &Registry, tiles: &TileCache, pool: &PgPool) -> Result<(), sqlx::Error> {
    let before: Vec<bool> = registry.all().iter().map(|l| l.is_published()).collect();
    load(registry, pool).await?;
    for (layer, was) in registry.all().iter().zip(before) {
        if layer.is_published() != was {
            tiles.invalidate_layer(&layer.id);
        }
    }
    Ok(())
}
