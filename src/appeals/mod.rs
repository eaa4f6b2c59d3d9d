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

/// One appeal as `viewer` may see it: only visible rows (the layer's row
/// rules), only readable attributes; `None` when it is not visible.
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
        ", 'lon', ST_X(t.geom), 'lat', ST_Y(t.geom), 'version', t.version) AS doc, t.executor_id FROM appeals t WHERE t.id = ",
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
    // The precise point of a non-public appeal is staff-only, as its text is.
    kyiv_times(&mut doc);
    Ok(Some(doc))
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
