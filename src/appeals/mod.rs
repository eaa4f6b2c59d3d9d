//! Appeals (the e-reception): filing with photos and nearby duplicates,
//! the workflow of DOMAIN.md section 3 with its deadlines, the office's
//! queues, the author's private view, ratings, area subscriptions, finding
//! one's district and deputies, and Open311 GeoReport v2. Numbering,
//! district, executor, due date and notifications happen in the database
//! (migrations/0070_appeals.sql), so every way in gets them.

pub mod districts;
pub mod filing;
pub mod office;
pub mod open311;
pub mod photos;
pub mod resident;
pub mod workflow;

use axum::Router;
use serde_json::{Map, Value};
use sqlx::{PgPool, Postgres, QueryBuilder, Row};

use crate::access::Viewer;
use crate::error::{AppError, AppResult};
use crate::query::{ident, push_visible_rows, readable};
use crate::registry::Role;
use crate::server::AppState;

pub const LAYER: &str = "appeals";

pub fn routes() -> Router<AppState> {
    filing::routes()
        .merge(office::routes())
        .merge(resident::routes())
        .merge(districts::routes())
        .merge(open311::routes())
}

/// Timestamps as the city reads them: RFC 3339 in Europe/Kyiv.
pub fn kyiv(ts: chrono::DateTime<chrono::Utc>) -> String {
    ts.with_timezone(&chrono_tz::Europe::Kyiv).to_rfc3339()
}

/// Rewrites every RFC 3339 string value of `object` into Kyiv time.
pub fn kyiv_times(object: &mut Map<String, Value>) {
    for value in object.values_mut() {
        if let Value::String(s) = value
            && s.len() >= 20
            && let Ok(t) = chrono::DateTime::parse_from_rfc3339(s)
        {
            *s = kyiv(t.with_timezone(&chrono::Utc));
        }
    }
}

/// The author's contact details (restricted attributes of the layer).
pub const CONTACT: [&str; 4] = ["author_name", "phone", "email", "contact_address"];

/// One appeal as `viewer` may see it: only visible rows (the layer's row
/// rules), only readable attributes, plus the author's contact for the
/// executor it is assigned to and the deputy it is addressed to (a rule
/// that depends on the row, so it lives here, not in the layer file);
/// `None` when it is not visible. Every view of contact details is logged.
pub async fn view(state: &AppState, viewer: &Viewer, id: i64) -> AppResult<Option<Map<String, Value>>> {
    let layer = state
        .registry
        .get(LAYER)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the appeals layer is not registered")))?;
    let attrs = readable(layer, viewer);
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("SELECT jsonb_build_object('id', t.id");
    for a in &attrs {
        qb.push(format!(", '{}', t.{}", a.name.replace('\'', "''"), ident(&a.name)));
    }
    qb.push(
        ", 'lon', ST_X(t.geom), 'lat', ST_Y(t.geom), 'version', t.version) AS doc, \
         jsonb_build_object('author_name', t.author_name, 'phone', t.phone, 'email', t.email, \
           'contact_address', t.contact_address) AS contact, \
         t.executor_id, t.addressed_deputy_id FROM appeals t WHERE t.id = ",
    );
    qb.push_bind(id);
    qb.push(" AND ");
    push_visible_rows(&mut qb, layer, viewer, "t");
    let Some(row) = qb.build().fetch_optional(&state.pool).await? else {
        return Ok(None);
    };
    let Value::Object(mut doc) = row.try_get::<Value, _>("doc")? else {
        return Ok(None);
    };
    let mut via = attrs
        .iter()
        .any(|a| CONTACT.contains(&a.name.as_str()))
        .then_some("role");
    if via.is_none() {
        let executor: Option<i64> = row.try_get("executor_id")?;
        let deputy: Option<i64> = row.try_get("addressed_deputy_id")?;
        if viewer.has(Role::Executor) && viewer.executor_id.is_some() && viewer.executor_id == executor {
            via = Some("assigned_executor");
        } else if viewer.has(Role::Deputy) && deputy.is_some() {
            let mine: Option<Option<i64>> = sqlx::query_scalar("SELECT deputy_id FROM users WHERE id = $1")
                .bind(viewer.user_id)
                .fetch_optional(&state.pool)
                .await?;
            if mine.flatten().is_some() && mine.flatten() == deputy {
                via = Some("addressed_deputy");
            }
        }
        if via.is_some()
            && let Value::Object(contact) = row.try_get::<Value, _>("contact")?
        {
            doc.extend(contact);
        }
    }
    if let Some(via) = via {
        log_contact_views(&state.pool, viewer, &[id], via).await?;
    }
    kyiv_times(&mut doc);
    Ok(Some(doc))
}

/// Records that `viewer` saw the contact details of `ids`.
pub async fn log_contact_views(pool: &PgPool, viewer: &Viewer, ids: &[i64], via: &str) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query("INSERT INTO appeal_contact_views (appeal_id, actor, via) SELECT unnest($1::bigint[]), $2, $3")
        .bind(ids)
        .bind(viewer.actor.as_deref().unwrap_or("anonymous"))
        .bind(via)
        .execute(pool)
        .await?;
    Ok(())
}

/// The executor's name and the district with its current deputies.
pub async fn routing(pool: &PgPool, id: i64) -> AppResult<Value> {
    let doc: Option<Value> = sqlx::query_scalar(
        "SELECT jsonb_build_object(
            'executor', (SELECT jsonb_build_object('id', e.id, 'name', e.name, 'name_en', e.name_en)
                         FROM executors e WHERE e.id = a.executor_id),
            'electoral_district', (SELECT jsonb_build_object('id', d.id, 'number', d.number, 'name', d.name)
                                   FROM electoral_districts d WHERE d.id = a.electoral_district_id),
            'deputies', coalesce((SELECT jsonb_agg(jsonb_build_object('id', p.id, 'full_name', p.full_name,
                                   'faction', p.faction, 'reception_address', p.reception_address,
                                   'reception_hours', p.reception_hours) ORDER BY p.full_name)
                                  FROM deputies p WHERE p.district_id = a.electoral_district_id
                                   AND p.deleted_at IS NULL AND (p.valid_to IS NULL OR p.valid_to >= current_date)), '[]'))
         FROM appeals a WHERE a.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(doc.unwrap_or(Value::Null))
}

/// Erases contact details of appeals closed more than `days` ago.
pub async fn erase_old_contacts(pool: &PgPool, days: u32) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar("SELECT geoportal_erase_old_contacts(make_interval(days => $1))")
        .bind(days as i32)
        .fetch_one(pool)
        .await
}

/// Runs the contact retention rule at start and then daily.
pub fn spawn_retention(pool: PgPool, days: u32) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(24 * 3600));
        loop {
            tick.tick().await;
            match erase_old_contacts(&pool, days).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(appeals = n, days, "contact details erased after the retention period"),
                Err(e) => tracing::warn!(error = %e, "contact retention did not run"),
            }
        }
    })
}
