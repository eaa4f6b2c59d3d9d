//! The appeals office: one appeal as the caller may see it, the queues,
//! status transitions, and overdue / soon-due appeals per executor.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::{Postgres, QueryBuilder, Row};
use utoipa::ToSchema;

use super::workflow::{self, Refusal, STATUSES};
use super::{LAYER, kyiv_times, routing, view};
use crate::access::Viewer;
use crate::error::{AppError, AppResult};
use crate::query::{ident, push_visible_rows, readable};
use crate::registry::Role;
use crate::server::AppState;

const STAFF: &[Role] = &[Role::AppealsOperator, Role::Executor, Role::Deputy, Role::Admin];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/appeals/overdue", get(overdue))
        .route("/api/appeals/{id}", get(one))
        .route("/api/appeals/{id}/transitions", post(transition))
}

fn parse_id(path: Result<Path<i64>, PathRejection>) -> AppResult<i64> {
    path.map(|Path(id)| id)
        .map_err(|_| AppError::BadRequest("the appeal id must be a number".into()))
}

/// One appeal with what the caller may see; staff also get the transitions.
#[utoipa::path(get, path = "/api/appeals/{id}", tag = "appeals",
    params(("id" = i64, Path, description = "Appeal id")),
    responses(
        (status = 200, description = "The appeal's readable attributes, routing (executor, district, deputies), photos, and for staff the transitions", content_type = "application/json"),
        (status = 404, description = "No such appeal, or not visible to the caller", content_type = "application/problem+json"),
    ))]
pub async fn one(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<i64>, PathRejection>,
) -> AppResult<Json<Value>> {
    let id = parse_id(path)?;
    let mut doc = view(&state, &viewer, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no appeal {id} visible to you")))?;
    doc.insert("routing".into(), routing(&state.pool, id).await?);
    doc.insert("photos".into(), photos(&state, id).await?);
    if STAFF.iter().any(|r| viewer.has(*r)) {
        doc.insert("transitions".into(), transitions(&state, id).await?);
    }
    Ok(Json(Value::Object(doc)))
}

pub async fn photos(state: &AppState, id: i64) -> AppResult<Value> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(jsonb_agg(jsonb_build_object('file', file_name, 'media_type', media_type, 'bytes', bytes, \
         'role', role) ORDER BY id), '[]') FROM appeal_photos WHERE appeal_id = $1",
    )
    .bind(id)
    .fetch_one(&state.pool)
    .await?)
}

pub async fn transitions(state: &AppState, id: i64) -> AppResult<Value> {
    let mut list: Value = sqlx::query_scalar(
        "SELECT coalesce(jsonb_agg(jsonb_build_object('from', from_status, 'to', to_status, 'comment', comment, \
         'actor', actor, 'at', at) ORDER BY at, id), '[]') FROM appeal_transitions WHERE appeal_id = $1",
    )
    .bind(id)
    .fetch_one(&state.pool)
    .await?;
    if let Value::Array(items) = &mut list {
        for i in items.iter_mut() {
            if let Value::Object(o) = i {
                kyiv_times(o);
            }
        }
    }
    Ok(list)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    executor: Option<i64>,
    overdue: Option<bool>,
    category: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// The office's queues: appeals the caller may see, oldest deadline first.
#[utoipa::path(get, path = "/api/appeals", tag = "appeals",
    params(
        ("status" = Option<String>, Query, description = "Comma list of statuses"),
        ("executor" = Option<i64>, Query, description = "Executor id"),
        ("overdue" = Option<bool>, Query, description = "Only open appeals past their deadline"),
        ("category" = Option<String>, Query, description = "Category code (its children included)"),
        ("limit" = Option<i64>, Query, description = "1–1000, default 100"),
        ("offset" = Option<i64>, Query, description = "Skip this many"),
    ),
    responses(
        (status = 200, description = "`{numberMatched, appeals:[…]}` with readable attributes only", content_type = "application/json"),
        (status = 400, description = "Bad parameter", content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", content_type = "application/problem+json"),
        (status = 403, description = "Not staff of the appeals office, an executor or a deputy", content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> AppResult<Json<Value>> {
    viewer.require_any(STAFF, "the appeals queues")?;
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::BadRequest("limit must be 1–1000".into()));
    }
    let offset = q.offset.unwrap_or(0).max(0);
    let statuses: Option<Vec<String>> = q
        .status
        .as_deref()
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    if let Some(list) = &statuses
        && let Some(bad) = list.iter().find(|s| !STATUSES.contains(&s.as_str()))
    {
        return Err(AppError::BadRequest(format!(
            "unknown status `{bad}`; statuses: {}",
            STATUSES.join(", ")
        )));
    }
    let layer = state
        .registry
        .get(LAYER)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the appeals layer is not registered")))?;
    let attrs = readable(layer, &viewer);
    let mut qb: QueryBuilder<Postgres> =
        QueryBuilder::new("SELECT count(*) OVER () AS matched, jsonb_build_object('id', t.id");
    for a in &attrs {
        qb.push(format!(", '{}', t.{}", a.name.replace('\'', "''"), ident(&a.name)));
    }
    qb.push(", 'lon', ST_X(t.geom), 'lat', ST_Y(t.geom), 'overdue', t.due_at < now() AND t.status IN ('registered', 'in_progress', 'extended')) AS doc FROM appeals t WHERE ");
    push_visible_rows(&mut qb, layer, &viewer, "t");
    if let Some(list) = statuses {
        qb.push(" AND t.status = ANY(");
        qb.push_bind(list);
        qb.push(")");
    }
    if let Some(e) = q.executor {
        qb.push(" AND t.executor_id = ");
        qb.push_bind(e);
    }
    if let Some(c) = q.category {
        qb.push(" AND (t.category = ");
        qb.push_bind(c.clone());
        qb.push(" OR t.category IN (SELECT code FROM appeal_categories WHERE parent_code = ");
        qb.push_bind(c);
        qb.push("))");
    }
    if q.overdue == Some(true) {
        qb.push(" AND t.due_at < now() AND t.status IN ('registered', 'in_progress', 'extended')");
    }
    qb.push(" ORDER BY t.due_at NULLS LAST, t.id LIMIT ");
    qb.push_bind(limit);
    qb.push(" OFFSET ");
    qb.push_bind(offset);
    let rows = qb.build().fetch_all(&state.pool).await?;
    if attrs.iter().any(|a| super::CONTACT.contains(&a.name.as_str())) {
        let ids = rows
            .iter()
            .map(|r| {
                r.try_get::<Value, _>("doc")
                    .map(|d| d["id"].as_i64().unwrap_or_default())
            })
            .collect::<Result<Vec<i64>, _>>()?;
        super::log_contact_views(&state.pool, &viewer, &ids, "queue").await?;
    }
    let mut matched = 0i64;
    let mut appeals = Vec::with_capacity(rows.len());
    for row in rows {
        matched = row.try_get("matched")?;
        let mut doc: Value = row.try_get("doc")?;
        if let Value::Object(o) = &mut doc {
            kyiv_times(o);
        }
        appeals.push(doc);
    }
    Ok(Json(
        json!({"numberMatched": matched, "numberReturned": appeals.len(), "appeals": appeals}),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// The new status.
    pub to: String,
    pub comment: Option<String>,
    /// For `extended`: the new deadline (at most 45 days — 20 working days for information requests — from registration).
    pub due_at: Option<DateTime<Utc>>,
    /// For `registered`: the executor (otherwise the routed one stays).
    pub executor_id: Option<i64>,
    /// For `registered`: no extra study needed (15-day period).
    pub no_extra_study: Option<bool>,
    /// For `duplicate`: the original appeal.
    pub duplicate_of: Option<i64>,
    /// For `forwarded`: the receiving body.
    pub forwarded_to: Option<String>,
    /// Publish a registered appeal (only if the author consented).
    pub is_public: Option<bool>,
}

/// Moves an appeal along the transition table of DOMAIN.md.
#[utoipa::path(post, path = "/api/appeals/{id}/transitions", tag = "appeals",
    params(("id" = i64, Path, description = "Appeal id")),
    request_body(content = TransitionRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The appeal after the move", content_type = "application/json"),
        (status = 401, description = "Not signed in", content_type = "application/problem+json"),
        (status = 403, description = "The table allows the move, but not for the caller's role", content_type = "application/problem+json"),
        (status = 404, description = "No such appeal visible to the caller", content_type = "application/problem+json"),
        (status = 409, description = "The table does not allow this move from the current status", content_type = "application/problem+json"),
        (status = 422, description = "A required detail is missing or wrong (answer text, reason, duplicate_of, due_at beyond the legal maximum)", content_type = "application/problem+json"),
    ))]
pub async fn transition(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<TransitionRequest>, JsonRejection>,
) -> AppResult<Json<Value>> {
    let id = parse_id(path)?;
    viewer.require_any(&[Role::AppealsOperator, Role::Executor], "moving an appeal")?;
    let Json(req) = body?;
    if !STATUSES.contains(&req.to.as_str()) {
        return Err(AppError::BadRequest(format!("unknown status `{}`", req.to)));
    }
    // The caller must see the appeal at all.
    if view(&state, &viewer, id).await?.is_none() {
        return Err(AppError::NotFound(format!("no appeal {id} visible to you")));
    }
    let comment = req.comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let mut tx = state.pool.begin().await?;
    sqlx::query("SELECT set_config('geoportal.actor', $1, true)")
        .bind(viewer.actor.as_deref().unwrap_or("unknown"))
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query(
        "SELECT status, executor_id, kind, registered_at, due_at, consent_public FROM appeals \
         WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::NotFound(format!("no appeal {id}")))?;
    let from: String = row.try_get("status")?;
    let executor_id: Option<i64> = row.try_get("executor_id")?;
    let kind: String = row.try_get("kind")?;
    match workflow::check(&from, &req.to, &viewer, executor_id) {
        Ok(()) => {}
        Err(Refusal::NotAllowed { from, to, allowed }) => {
            return Err(AppError::Conflict(format!(
                "an appeal that is `{from}` cannot become `{to}`; from `{from}` it may become: {}",
                if allowed.is_empty() {
                    "nothing (final)".to_string()
                } else {
                    allowed.join(", ")
                }
            )));
        }
        Err(Refusal::Forbidden(why)) => return Err(AppError::Forbidden(why.into())),
    }

    let mut errors = Vec::new();
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("UPDATE appeals SET status = ");
    qb.push_bind(req.to.clone());
    match req.to.as_str() {
        "registered" => {
            let no_study = req.no_extra_study.unwrap_or(false);
            qb.push(", registered_at = now(), no_extra_study = ");
            qb.push_bind(no_study);
            qb.push(", due_at = geoportal_appeal_due(kind, now(), ");
            qb.push_bind(no_study);
            qb.push(")");
            if let Some(e) = req.executor_id {
                let exists: bool =
                    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM executors WHERE id = $1 AND deleted_at IS NULL)")
                        .bind(e)
                        .fetch_one(&mut *tx)
                        .await?;
                if !exists {
                    errors.push(format!("executor_id: no executor {e}"));
                }
                qb.push(", executor_id = ");
                qb.push_bind(e);
            }
            if let Some(public) = req.is_public {
                let consent: bool = row.try_get("consent_public")?;
                if public && !consent {
                    errors.push("is_public: the author did not consent to publication".into());
                }
                qb.push(", is_public = ");
                qb.push_bind(public);
            }
        }
        "duplicate" => match req.duplicate_of {
            Some(d) if d != id => {
                qb.push(", duplicate_of = ");
                qb.push_bind(d);
            }
            _ => errors.push("duplicate_of: the original appeal's id is required".into()),
        },
        "forwarded" => match req
            .forwarded_to
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .or(comment)
        {
            Some(to) => {
                qb.push(", forwarded_to = ");
                qb.push_bind(to.to_string());
            }
            None => errors.push("forwarded_to: the receiving body is required".into()),
        },
        "extended" => {
            let registered_at: Option<DateTime<Utc>> = row.try_get("registered_at")?;
            let current: Option<DateTime<Utc>> = row.try_get("due_at")?;
            match (req.due_at, registered_at) {
                (Some(due), Some(reg)) => {
                    let max: Option<DateTime<Utc>> = sqlx::query_scalar("SELECT geoportal_appeal_max_due($1, $2)")
                        .bind(&kind)
                        .bind(reg)
                        .fetch_one(&mut *tx)
                        .await?;
                    if current.is_some_and(|c| due <= c) {
                        errors.push("due_at: an extension must move the deadline later".into());
                    }
                    if max.is_some_and(|m| due > m) {
                        errors.push(format!(
                            "due_at: at most {} (the legal maximum from registration)",
                            max.map(super::kyiv).unwrap_or_default()
                        ));
                    }
                    qb.push(", due_at = ");
                    qb.push_bind(due);
                }
                (None, _) => errors.push("due_at: the new deadline is required".into()),
                (_, None) => errors.push("due_at: the appeal has no registration date".into()),
            }
        }
        "answered" => match comment {
            Some(answer) => {
                qb.push(", answer = ");
                qb.push_bind(answer.to_string());
                qb.push(", resolved_at = now()");
            }
            None => errors.push("comment: the answer text is required".into()),
        },
        "rejected" => match comment {
            Some(reason) => {
                qb.push(", reject_reason = ");
                qb.push_bind(reason.to_string());
            }
            None => errors.push("comment: the reason is required".into()),
        },
        "closed" => {
            qb.push(", closed_at = now()");
        }
        _ => {}
    }
    if !errors.is_empty() {
        return Err(AppError::Unprocessable(errors.join("; ")));
    }
    qb.push(" WHERE id = ");
    qb.push_bind(id);
    qb.build().execute(&mut *tx).await?;
    sqlx::query("INSERT INTO appeal_transitions (appeal_id, from_status, to_status, comment) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(&from)
        .bind(&req.to)
        .bind(comment)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    state.tiles.invalidate_layer(LAYER);
    tracing::info!(appeal_id = id, from = %from, to = %req.to, "appeal moved");
    let mut doc = view(&state, &viewer, id).await?.unwrap_or_default();
    doc.insert("transitions".into(), transitions(&state, id).await?);
    Ok(Json(Value::Object(doc)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverdueQuery {
    /// Days ahead that count as "soon due" (default 3).
    soon_days: Option<i32>,
}

/// Overdue and soon-due open appeals per executor.
#[utoipa::path(get, path = "/api/appeals/overdue", tag = "appeals",
    params(("soon_days" = Option<i32>, Query, description = "Days ahead counted as soon due (1–30, default 3)")),
    responses(
        (status = 200, description = "Per executor: open, overdue and soon-due counts and the overdue appeals' numbers and deadlines", content_type = "application/json"),
        (status = 401, description = "Not signed in", content_type = "application/problem+json"),
        (status = 403, description = "Not staff", content_type = "application/problem+json"),
    ))]
pub async fn overdue(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<OverdueQuery>, QueryRejection>,
) -> AppResult<Json<Value>> {
    viewer.require_any(STAFF, "the overdue report")?;
    let Query(q) = query?;
    let soon = q.soon_days.unwrap_or(3);
    if !(1..=30).contains(&soon) {
        return Err(AppError::BadRequest("soon_days must be 1–30".into()));
    }
    let layer = state
        .registry
        .get(LAYER)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the appeals layer is not registered")))?;
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT coalesce(jsonb_agg(x ORDER BY x->>'overdue' DESC), '[]') FROM (SELECT jsonb_build_object(\
           'executor_id', e.id, 'executor', e.name, \
           'open', count(*), \
           'overdue', count(*) FILTER (WHERE t.due_at < now()), \
           'soon_due', count(*) FILTER (WHERE t.due_at >= now() AND t.due_at < now() + make_interval(days => ",
    );
    qb.push_bind(soon);
    qb.push(
        ")), 'overdue_appeals', coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'public_number', t.public_number, \
           'due_at', t.due_at) ORDER BY t.due_at) FILTER (WHERE t.due_at < now()), '[]')) AS x \
         FROM appeals t LEFT JOIN executors e ON e.id = t.executor_id \
         WHERE t.status IN ('registered', 'in_progress', 'extended') AND ",
    );
    push_visible_rows(&mut qb, layer, &viewer, "t");
    qb.push(" GROUP BY e.id, e.name) s");
    let report: Value = qb.build_query_scalar().fetch_one(&state.pool).await?;
    Ok(Json(json!({"soon_days": soon, "executors": report})))
}
