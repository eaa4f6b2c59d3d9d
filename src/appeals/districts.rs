//! "Find my deputy": the electoral district at a point or an address, with
//! its current deputies and their reception hours.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{AppError, AppResult};
use crate::server::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/districts", get(list))
        .route("/api/districts/lookup", get(lookup))
        .route("/api/districts/{id}", get(one))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    lon: Option<f64>,
    lat: Option<f64>,
    address: Option<String>,
    /// A past day: the district and deputies of the convocation then.
    date: Option<chrono::NaiveDate>,
}

/// Deputies of district `d` valid on the day bound as `$1`, as JSON.
const DEPUTIES: &str = "coalesce((SELECT jsonb_agg(jsonb_build_object('id', p.id, 'full_name', p.full_name, \
    'faction', p.faction, 'commissions', p.commissions, 'reception_address', p.reception_address, \
    'reception_hours', p.reception_hours, 'phone', p.phone, 'email', p.email, 'photo_url', p.photo_url) \
    ORDER BY p.full_name) FROM deputies p WHERE p.district_id = d.id AND p.deleted_at IS NULL \
    AND p.valid_from <= $1 AND (p.valid_to IS NULL OR p.valid_to >= $1)), '[]')";

const DISTRICT: &str = "jsonb_build_object('id', d.id, 'number', d.number, 'name', d.name, \
    'convocation', d.convocation, 'population', d.population, 'voters', d.voters, \
    'valid_from', d.valid_from, 'valid_to', d.valid_to)";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateQuery {
    date: Option<chrono::NaiveDate>,
}

/// Electoral districts valid on a day (today by default), with their deputies.
#[utoipa::path(get, path = "/api/districts", tag = "appeals",
    params(("date" = Option<String>, Query, description = "YYYY-MM-DD; default today")),
    responses(
        (status = 200, description = "`{date, districts:[{district…, deputies}]}`", content_type = "application/json"),
        (status = 400, description = "Bad date", content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<DateQuery>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(q) = query?;
    let date = q
        .date
        .unwrap_or_else(|| chrono::Utc::now().with_timezone(&chrono_tz::Europe::Kyiv).date_naive());
    let list: Value = sqlx::query_scalar(&format!(
        "SELECT coalesce(jsonb_agg({DISTRICT} || jsonb_build_object('deputies', {DEPUTIES}) ORDER BY d.number), '[]') \
         FROM electoral_districts d WHERE d.deleted_at IS NULL \
           AND d.valid_from <= $1 AND (d.valid_to IS NULL OR d.valid_to >= $1)"
    ))
    .bind(date)
    .fetch_one(&state.pool)
    .await?;
    Ok(Json(serde_json::json!({"date": date, "districts": list})))
}

/// One electoral district with its deputies and its outline (GeoJSON).
#[utoipa::path(get, path = "/api/districts/{id}", tag = "appeals",
    params(("id" = i64, Path, description = "District id"), ("date" = Option<String>, Query, description = "Deputies valid on this day; default today")),
    responses(
        (status = 200, description = "The district, its deputies and geometry", content_type = "application/json"),
        (status = 404, description = "No such district", content_type = "application/problem+json"),
    ))]
pub async fn one(
    State(state): State<AppState>,
    path: Result<axum::extract::Path<i64>, axum::extract::rejection::PathRejection>,
    query: Result<Query<DateQuery>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let id = path
        .map(|p| p.0)
        .map_err(|_| AppError::BadRequest("the district id must be a number".into()))?;
    let Query(q) = query?;
    let date = q
        .date
        .unwrap_or_else(|| chrono::Utc::now().with_timezone(&chrono_tz::Europe::Kyiv).date_naive());
    let doc: Option<Value> = sqlx::query_scalar(&format!(
        "SELECT {DISTRICT} || jsonb_build_object('deputies', {DEPUTIES}, 'geometry', ST_AsGeoJSON(d.geom, 7)::jsonb) \
         FROM electoral_districts d WHERE d.id = $2 AND d.deleted_at IS NULL"
    ))
    .bind(date)
    .bind(id)
    .fetch_optional(&state.pool)
    .await?;
    doc.map(Json)
        .ok_or_else(|| AppError::NotFound(format!("no electoral district {id}")))
}

/// The district and deputies at a point or an address.
#[utoipa::path(get, path = "/api/districts/lookup", tag = "appeals",
    params(
        ("lon" = Option<f64>, Query, description = "Longitude, WGS 84"),
        ("lat" = Option<f64>, Query, description = "Latitude, WGS 84"),
        ("address" = Option<String>, Query, description = "An address of the city, instead of lon/lat"),
        ("date" = Option<String>, Query, description = "YYYY-MM-DD: the convocation and deputies of that day; default today"),
    ),
    responses(
        (status = 200, description = "`{district:{id, number, name, convocation}, deputies:[{full_name, faction, reception_address, reception_hours, phone, email, photo_url}], point}`", content_type = "application/json"),
        (status = 400, description = "Neither a point nor an address", content_type = "application/problem+json"),
        (status = 404, description = "The point is in no electoral district, or the address is unknown", content_type = "application/problem+json"),
    ))]
pub async fn lookup(
    State(state): State<AppState>,
    query: Result<Query<LookupQuery>, QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(q) = query?;
    let (lon, lat) = match (q.lon, q.lat, q.address.as_deref().map(str::trim)) {
        (Some(lon), Some(lat), None)
            if lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 90.0 =>
        {
            (lon, lat)
        }
        (None, None, Some(a)) if !a.is_empty() => super::filing::geocode(&state, a)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("`{a}` is not an address of the city")))?,
        _ => {
            return Err(AppError::BadRequest(
                "give lon and lat (degrees of WGS 84), or an address".into(),
            ));
        }
    };
    // The district valid that day; a point on a border between two
    // districts belongs to the one with the lower id, the same rule the
    // database applies when it assigns an appeal (migrations/0004).
    let date = q
        .date
        .unwrap_or_else(|| chrono::Utc::now().with_timezone(&chrono_tz::Europe::Kyiv).date_naive());
    let doc: Option<Value> = sqlx::query_scalar(&format!(
        "SELECT jsonb_build_object('point', jsonb_build_object('lon', $2::float8, 'lat', $3::float8), \
           'date', $1::date, 'district', {DISTRICT}, 'deputies', {DEPUTIES}) \
         FROM electoral_districts d \
         WHERE d.deleted_at IS NULL AND d.valid_from <= $1 AND (d.valid_to IS NULL OR d.valid_to >= $1) \
           AND ST_Intersects(d.geom, ST_SetSRID(ST_MakePoint($2, $3), 4326)) \
         ORDER BY d.convocation DESC, d.id LIMIT 1"
    ))
    .bind(date)
    .bind(lon)
    .bind(lat)
    .fetch_optional(&state.pool)
    .await?;
    doc.map(Json)
        .ok_or_else(|| AppError::NotFound("the point lies in no electoral district of the city".into()))
}
