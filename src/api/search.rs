//! `GET /api/search?q=…&limit=…`: the map's search box. One ranked list
//! across every layer the viewer may see, over each layer's registry
//! `search` attributes that the viewer may read, on the rows the viewer may
//! see — so addresses, streets, cadastral numbers, public appeal numbers and
//! named features all come from the same place, and nothing restricted can.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, QueryBuilder, Row};

use crate::access::Viewer;
use crate::error::{AppError, AppResult};
use crate::query::{ident, push_visible_rows};
use crate::registry::{AttrType, Layer};
use crate::server::AppState;

/// Longest accepted query, in characters: the search box, not a document.
pub const MAX_QUERY_CHARS: usize = 200;
pub const DEFAULT_LIMIT: i64 = 10;
pub const MAX_LIMIT: i64 = 100;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("`q` is required and must not be blank")]
    EmptyQuery,
    #[error("`q` is longer than {MAX_QUERY_CHARS} characters")]
    QueryTooLong,
    #[error("`q` must not contain control characters")]
    ControlCharacter,
    #[error("`limit` must be between 1 and {MAX_LIMIT}")]
    Limit,
}

impl From<SearchError> for AppError {
    fn from(e: SearchError) -> Self {
        AppError::BadRequest(e.to_string())
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/search", get(search))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    pub q: Option<String>,
    pub limit: Option<i64>,
}

/// One hit: enough to label it in the list and zoom the map to it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Hit {
    pub layer: String,
    /// The feature id (as text: `/ogc/collections/{layer}/items/{id}`).
    pub id: String,
    pub label: Option<String>,
    /// The attribute that matched and its value.
    pub matched_attribute: String,
    pub matched: Option<String>,
    pub score: f64,
    /// A point on the feature, lon/lat (WGS 84).
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// `[minlon, minlat, maxlon, maxlat]`.
    pub bbox: Option<[f64; 4]>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchResult {
    pub query: String,
    pub hits: Vec<Hit>,
}

/// Validated search input.
#[derive(Debug)]
pub struct SearchQuery {
    pub q: String,
    pub limit: i64,
}

impl SearchQuery {
    pub fn parse(params: SearchParams) -> Result<SearchQuery, SearchError> {
        let q = params.q.unwrap_or_default();
        let q = q.trim();
        if q.is_empty() {
            return Err(SearchError::EmptyQuery);
        }
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(SearchError::QueryTooLong);
        }
        // PostgreSQL refuses NUL in text; a 400 rather than a database error.
        if q.chars().any(char::is_control) {
            return Err(SearchError::ControlCharacter);
        }
        let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(SearchError::Limit);
        }
        Ok(SearchQuery {
            q: q.to_string(),
            limit,
        })
    }
}

/// Search addresses, streets, cadastral numbers, appeal numbers and
/// features by name, ranked.
#[utoipa::path(get, path = "/api/search", tag = "search",
    params(
        ("q" = String, Query, description = "Text to find (1–200 characters)"),
        ("limit" = Option<i64>, Query, description = "Most hits to return (1–100, default 10)"),
    ),
    responses(
        (status = 200, description = "Ranked hits: exact, then prefix, then trigram similarity", body = SearchResult, content_type = "application/json"),
        (status = 400, description = "Missing, blank or over-long `q`, bad `limit`, unknown parameter", content_type = "application/problem+json"),
    ))]
pub async fn search(
    State(state): State<AppState>,
    viewer: Viewer,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> AppResult<Json<SearchResult>> {
    let Query(params) = params?;
    let query = SearchQuery::parse(params)?;
    // Registers without geometry have no place to show on the map.
    let layers: Vec<&Layer> = state
        .registry
        .visible_to(&viewer.roles)
        .filter(|l| l.has_geometry())
        .map(|l| l.as_ref())
        .collect();
    let hits = run(&state.reader(&viewer).await, &layers, &viewer, &query).await?;
    Ok(Json(SearchResult { query: query.q, hits }))
}

/// `%` and `_` in the user's text are literals, not patterns.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The (layer, attribute) pairs searched for this viewer: the layer's
/// `search` attributes that are readable text.
fn searchable<'a>(layer: &'a Layer, viewer: &Viewer) -> Vec<&'a str> {
    layer
        .search
        .iter()
        .filter_map(|name| layer.attribute(name))
        .filter(|a| a.attr_type == AttrType::String && a.read.allows(&viewer.roles))
        .map(|a| a.name.as_str())
        .collect()
}

/// Runs the search over `layers`; public so other areas (a geocoder, the
/// CLI) can reuse it.
pub async fn run(pool: &sqlx::PgPool, layers: &[&Layer], viewer: &Viewer, query: &SearchQuery) -> AppResult<Vec<Hit>> {
    let escaped = like_escape(&query.q);
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("WITH q AS (SELECT ");
    qb.push_bind(query.q.clone());
    qb.push("::text AS q, ");
    qb.push_bind(format!("{escaped}%"));
    qb.push("::text AS prefix, ");
    qb.push_bind(format!("%{escaped}%"));
    qb.push("::text AS infix) ");
    qb.push(
        "SELECT layer, id, label, attr, matched, score, ST_X(p) AS lon, ST_Y(p) AS lat, \
         ST_XMin(b) AS xmin, ST_YMin(b) AS ymin, ST_XMax(b) AS xmax, ST_YMax(b) AS ymax \
         FROM (SELECT DISTINCT ON (layer, id) * FROM (",
    );
    let mut any = false;
    for layer in layers {
        let label = layer
            .label
            .as_deref()
            .filter(|l| layer.attribute(l).is_some_and(|a| a.read.allows(&viewer.roles)));
        for attr in searchable(layer, viewer) {
            if any {
                qb.push(" UNION ALL ");
            }
            any = true;
            let col = format!("t.{}", ident(attr));
            let geom = format!("ST_Transform(t.{}, 4326)", ident(&layer.geometry.column));
            let label_sql = match label {
                Some(l) => format!("t.{}::text", ident(l)),
                None => format!("{col}::text"),
            };
            // Exact beats prefix beats fuzzy; trigram similarity orders
            // within each band.
            let score = format!(
                "(CASE WHEN lower({col}) = lower(q.q) THEN 2 WHEN {col} ILIKE q.prefix THEN 1 ELSE 0 END \
                 + greatest(similarity({col}, q.q), word_similarity(q.q, {col})))::float8"
            );
            qb.push(format!(
                "(SELECT {layer_id}::text AS layer, t.{id}::text AS id, {label_sql} AS label, \
                 {attr_lit}::text AS attr, {col}::text AS matched, {score} AS score, \
                 ST_PointOnSurface({geom}) AS p, Box2D({geom}) AS b \
                 FROM {table} t, q WHERE ",
                layer_id = sql_literal(&layer.id),
                id = ident(&layer.id_column),
                attr_lit = sql_literal(attr),
                table = ident(layer.table()),
            ));
            push_visible_rows(&mut qb, layer, viewer, "t");
            qb.push(format!(
                " AND ({col} ILIKE q.infix OR q.q <% {col}) ORDER BY score DESC LIMIT "
            ));
            qb.push_bind(query.limit);
            qb.push(")");
        }
    }
    if !any {
        return Ok(Vec::new());
    }
    qb.push(") u ORDER BY layer, id, score DESC) d ORDER BY score DESC, label, layer, id LIMIT ");
    qb.push_bind(query.limit);

    let rows = qb.build().fetch_all(pool).await?;
    let mut hits = Vec::with_capacity(rows.len());
    for row in rows {
        let bbox = match (
            row.try_get::<Option<f64>, _>("xmin")?,
            row.try_get::<Option<f64>, _>("ymin")?,
            row.try_get::<Option<f64>, _>("xmax")?,
            row.try_get::<Option<f64>, _>("ymax")?,
        ) {
            (Some(a), Some(b), Some(c), Some(d)) => Some([a, b, c, d]),
            _ => None,
        };
        hits.push(Hit {
            layer: row.try_get("layer")?,
            id: row.try_get("id")?,
            label: row.try_get("label")?,
            matched_attribute: row.try_get("attr")?,
            matched: row.try_get("matched")?,
            score: row.try_get("score")?,
            lon: row.try_get("lon")?,
            lat: row.try_get("lat")?,
            bbox,
        });
    }
    Ok(hits)
}

/// A string literal for names from the registry (validated identifiers);
/// user input is always bound, never passed here.
fn sql_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_wildcards() {
        assert_eq!(like_escape(r"50%_a\b"), r"50\%\_a\\b");
    }

    #[test]
    fn validates_input() {
        let p = |q: Option<&str>, limit| SearchParams {
            q: q.map(String::from),
            limit,
        };
        assert!(matches!(
            SearchQuery::parse(p(None, None)),
            Err(SearchError::EmptyQuery)
        ));
        assert!(matches!(
            SearchQuery::parse(p(Some("  "), None)),
            Err(SearchError::EmptyQuery)
        ));
        let long = "я".repeat(MAX_QUERY_CHARS + 1);
        assert!(matches!(
            SearchQuery::parse(p(Some(&long), None)),
            Err(SearchError::QueryTooLong)
        ));
        assert!(matches!(
            SearchQuery::parse(p(Some("a"), Some(0))),
            Err(SearchError::Limit)
        ));
        assert_eq!(SearchQuery::parse(p(Some(" вул "), None)).unwrap().q, "вул");
    }
}
