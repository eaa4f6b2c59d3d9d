//! A feature's history, read from the `history` table the triggers write:
//! `GET …/items/{fid}/versions` (who, when, what changed per attribute)
//! and `GET …/items/{fid}?asOf=<timestamp>` (the feature as it was).
//! Attributes a viewer may not read never appear, in values or in changes.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use sqlx::{PgPool, QueryBuilder, Row};

use super::super::collections::visible_layer;
use super::super::params::Params;
use super::super::{OgcError, base};
use crate::access::Viewer;
use crate::error::{AppError, AppResult};
use crate::query::{ident, push_visible_rows};
use crate::registry::{Layer, Role};
use crate::server::AppState;

/// The row of version `version` of a feature, from its history (the new
/// row of the change that made it, or the old row of the next change —
/// bulk-loaded rows have no entry of their own).
pub async fn version_row(
    pool: &PgPool,
    layer: &Layer,
    fid: i64,
    version: i32,
) -> Result<Option<Map<String, Value>>, sqlx::Error> {
    let row: Option<Value> = sqlx::query_scalar(include_str!("sql/version_row.sql"))
        .bind(layer.table())
        .bind(fid)
        .bind(version)
        .fetch_optional(pool)
        .await?;
    Ok(match row {
        Some(Value::Object(m)) => Some(m),
        _ => None,
    })
}

/// The current version of a live, visible feature (its `ETag`).
pub async fn current_version(pool: &PgPool, layer: &Layer, fid: i64) -> Result<Option<i32>, sqlx::Error> {
    let mut qb = QueryBuilder::new(format!(
        "SELECT version FROM {} WHERE {} = ",
        ident(layer.table()),
        ident(&layer.id_column)
    ));
    qb.push_bind(fid);
    qb.build_query_scalar().fetch_optional(pool).await
}

/// 404 unless the feature exists for the viewer: live and visible, or (on
/// layers without row rules) deleted — its history is still there.
async fn check_feature(pool: &PgPool, layer: &Layer, viewer: &Viewer, fid: i64) -> AppResult<()> {
    let mut qb = QueryBuilder::new("SELECT coalesce((");
    if layer.rows.is_empty() {
        qb.push("TRUE");
    } else {
        push_visible_rows(&mut qb, layer, viewer, "t");
    }
    qb.push(format!(
        "), false) FROM {} t WHERE t.{} = ",
        ident(layer.table()),
        ident(&layer.id_column)
    ));
    qb.push_bind(fid);
    let seen: Option<bool> = qb.build_query_scalar().fetch_optional(pool).await?;
    if seen != Some(true) {
        return Err(OgcError::NoFeature {
            collection: layer.id.clone(),
            feature: fid.to_string(),
        }
        .into());
    }
    Ok(())
}

fn readable(layer: &Layer, roles: &[Role], row: Option<&Value>) -> Map<String, Value> {
    layer
        .readable_attributes(roles)
        .map(|a| {
            (
                a.name.clone(),
                row.and_then(|r| r.get(&a.name)).cloned().unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// Who changed a feature, when, and per attribute what.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/items/{featureId}/versions", tag = "OGC API Features",
    params(
        ("collectionId" = String, Path, description = "Layer id"),
        ("featureId" = i64, Path, description = "Feature id"),
    ),
    responses(
        (status = 200, description = "`versions`: version, at (UTC), actor (for the layer's editors), operation, `changes` [{attribute, old, new}] over the attributes you may read, geometryChanged", content_type = "application/json"),
        (status = 404, description = "No such feature for this requester", content_type = "application/problem+json"),
    ))]
pub async fn versions(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((collection_id, feature_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> AppResult<Response> {
    let layer = visible_layer(&state, &viewer, &collection_id)?;
    let params = Params::parse(q.as_deref())?;
    params.only(&["f"], |_| false)?;
    if params.get("f").is_some_and(|f| f != "json") {
        return Err(OgcError::Format {
            value: params.get("f").unwrap_or("").to_string(),
            allowed: "json",
        }
        .into());
    }
    let fid: i64 = feature_id.parse().map_err(|_| OgcError::NoFeature {
        collection: collection_id.clone(),
        feature: feature_id.clone(),
    })?;
    check_feature(&state.pool, &layer, &viewer, fid).await?;
    let show_actor = layer.can_edit(&viewer.roles) || viewer.has(Role::Admin);
    let rows = sqlx::query(include_str!("sql/versions.sql"))
        .bind(layer.table())
        .bind(fid)
        .fetch_all(&state.pool)
        .await?;
    let geom = layer.geometry.column.as_str();
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let version: Option<i32> = row.try_get("version")?;
        let at: chrono::DateTime<chrono::Utc> = row.try_get("at")?;
        let actor: String = row.try_get("actor")?;
        let operation: String = row.try_get("operation")?;
        let old: Option<Value> = row.try_get("old_row")?;
        let new: Option<Value> = row.try_get("new_row")?;
        // A bulk-loaded feature's first state is the old row of its first change.
        if i == 0
            && let Some(o) = &old
        {
            out.push(json!({
                "version": o.get("version"),
                "at": o.get("updated_at"),
                "actor": Value::Null,
                "operation": "loaded",
                "changes": [],
                "geometryChanged": false,
            }));
        }
        let before = readable(&layer, &viewer.roles, old.as_ref());
        let after = readable(&layer, &viewer.roles, new.as_ref());
        let changes: Vec<Value> = after
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(*v))
            .map(|(k, v)| json!({"attribute": k, "old": before.get(k), "new": v}))
            .collect();
        let geometry_changed = old.as_ref().and_then(|o| o.get(geom)) != new.as_ref().and_then(|n| n.get(geom));
        out.push(json!({
            "version": version,
            "at": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "actor": if show_actor { Value::String(actor) } else { Value::Null },
            "operation": operation,
            "changes": changes,
            "geometryChanged": geometry_changed,
        }));
    }
    let url = format!("{}/collections/{}/items/{fid}", base(&state), layer.id);
    let body = json!({
        "featureId": fid,
        "versions": out,
        "links": [
            {"href": format!("{url}/versions"), "rel": "self", "type": "application/json"},
            {"href": url, "rel": "item", "type": "application/geo+json"},
        ],
    });
    Ok(axum::Json(body).into_response())
}

/// `GET …/items/{fid}?asOf=T`: the feature as it was at T (GeoJSON, CRS84);
/// 404 if it did not exist then (not yet created, or deleted).
pub async fn as_of(
    state: &AppState,
    viewer: &Viewer,
    layer: &Layer,
    fid: i64,
    at: &str,
    params: &Params,
) -> AppResult<Response> {
    if params.get("f").is_some_and(|f| f != "json") || params.get("crs").is_some() {
        return Err(AppError::BadRequest(
            "asOf answers GeoJSON in CRS84 only (no f= other than json, no crs)".into(),
        ));
    }
    let t = chrono::DateTime::parse_from_rfc3339(at)
        .map_err(|e| OgcError::BadParameter {
            name: "asOf".into(),
            reason: format!("not an RFC 3339 timestamp: {e}"),
        })?
        .with_timezone(&chrono::Utc);
    check_feature(&state.pool, layer, viewer, fid).await?;
    let not_then = || AppError::NotFound(format!("feature {fid} of `{}` did not exist at {at}", layer.id));
    let from_history: Option<Option<Value>> = sqlx::query_scalar(include_str!("sql/as_of.sql"))
        .bind(layer.table())
        .bind(fid)
        .bind(t)
        .fetch_optional(&state.pool)
        .await?;
    let row = match from_history {
        Some(row) => row,
        // Never changed since: the row as it is.
        None => {
            let mut qb = QueryBuilder::new(format!(
                "SELECT to_jsonb(t) FROM {} t WHERE t.{} = ",
                ident(layer.table()),
                ident(&layer.id_column)
            ));
            qb.push_bind(fid);
            qb.build_query_scalar().fetch_optional(&state.pool).await?
        }
    };
    let row = row.ok_or_else(not_then)?;
    let stamp = |name: &str| {
        row.get(name)
            .and_then(Value::as_str)
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&chrono::Utc))
    };
    let created_later = stamp("created_at").is_some_and(|c| c > t);
    let deleted_then = stamp("deleted_at").is_some_and(|d| d <= t);
    if created_later || deleted_then {
        return Err(not_then());
    }
    let url = format!("{}/collections/{}/items/{fid}", base(state), layer.id);
    let body = json!({
        "type": "Feature",
        "id": fid,
        "geometry": row.get(&layer.geometry.column).cloned().unwrap_or(Value::Null),
        "properties": readable(layer, &viewer.roles, Some(&row)),
        "version": row.get("version"),
        "asOf": t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "links": [{"href": url, "rel": "latest-version", "type": "application/geo+json"}],
    });
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/geo+json"));
    Ok(response)
}
