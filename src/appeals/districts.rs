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
    Router::new().route("/api/districts/lookup", get(lookup))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    lon: Option<f64>,
    lat: Option<f64>,
    address: Option<String>,
}

/// The district and deputies at a point or an address.
#[utoipa::path(get, path = "/api/districts/lookup", tag = "appeals",
    params(
        ("lon" = Option<f64>, Query, description = "Longitude, WGS 84"),
        ("lat" = Option<f64>, Query, description = "Latitude, WGS 84"),
        ("address" = Option<String>, Query, description = "An address of the city, instead of lon/lat"),
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
    // The newest convocation's district; deputies valid today. A point on a
    // border belongs to the district with the lower number (one answer only).
    let doc: Option<Value> = sqlx::query_scalar(
        "SELECT jsonb_build_object(
            'point', jsonb_build_object('lon', $1::float8, 'lat', $2::float8),
            'district', jsonb_build_object('id', d.id, 'number', d.number, 'name', d.name, 'convocation', d.convocation),
            'deputies', coalesce((SELECT jsonb_agg(jsonb_build_object('id', p.id, 'full_name', p.full_name,
                'faction', p.faction, 'reception_address', p.reception_address, 'reception_hours', p.reception_hours,
                'phone', p.phone, 'email', p.email, 'photo_url', p.photo_url) ORDER BY p.full_name)
              FROM deputies p WHERE p.district_id = d.id AND p.deleted_at IS NULL
                AND p.valid_from <= current_date AND (p.valid_to IS NULL OR p.valid_to >= current_date)), '[]'))
         FROM electoral_districts d
         WHERE d.deleted_at IS NULL AND (d.valid_to IS NULL OR d.valid_to >= current_date)
           AND ST_Covers(d.geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))
         ORDER BY d.convocation DESC, d.number LIMIT 1",
    )
    .bind(lon)
    .bind(lat)
    .fetch_optional(&state.pool)
    .await?;
    doc.map(Json)
        .ok_or_else(|| AppError::NotFound("the point lies in no electoral district of the city".into()))
}
