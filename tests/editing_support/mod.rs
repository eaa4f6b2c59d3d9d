//! Helpers of the editing tests: requests with a bearer token and headers,
//! users per role, and places in the demo city to put test plots.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use geoportal::registry::Role;
use http_body_util::BodyExt;
use serde_json::Value;
use sqlx::PgPool;
use tower::ServiceExt;

pub const PASSWORD: &str = "long-password-1";

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn etag(&self) -> String {
        self.headers
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    /// The `field`s of a 422's `errors`.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub async fn send(
    app: &axum::Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = match body {
        Some(v) => {
            if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
                req = req.header("content-type", "application/geo+json");
            }
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let response = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).to_string();
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text,
    }
}

/// A user with `roles` and a bearer token for it.
pub async fn user(pool: &PgPool, name: &str, roles: &[Role]) -> (i64, String) {
    let id = geoportal::users::add(pool, name, roles, PASSWORD).await.unwrap();
    let (token, _) = geoportal::auth::issue_session(pool, id, std::time::Duration::from_secs(3600), None)
        .await
        .unwrap();
    (id, token)
}

/// `n` squares (MultiPolygon GeoJSON, about 25 × 20 m) inside the city,
/// clear of live land plots and at least ~300 m apart.
pub async fn free_squares(pool: &PgPool, n: usize) -> Vec<Value> {
    let rows: Vec<(String, f64, f64)> = sqlx::query_as(
        "WITH c AS (SELECT ST_Union(geom) AS g FROM city_boundary WHERE deleted_at IS NULL), \
         cand AS (SELECT ST_Multi(ST_MakeEnvelope(x, y, x + 0.0003, y + 0.0002, 4326)) AS sq, x, y, i, j \
                  FROM c, generate_series(1, 59) i, generate_series(1, 59) j, \
                  LATERAL (SELECT ST_XMin(c.g) + (ST_XMax(c.g) - ST_XMin(c.g)) * i / 60.0 AS x, \
                                  ST_YMin(c.g) + (ST_YMax(c.g) - ST_YMin(c.g)) * j / 60.0 AS y) p) \
         SELECT ST_AsGeoJSON(sq), x, y FROM cand, c \
         WHERE ST_CoveredBy(sq, c.g) \
           AND NOT EXISTS (SELECT 1 FROM land_plots l WHERE l.deleted_at IS NULL AND ST_DWithin(l.geom, sq, 0.0002)) \
         ORDER BY i, j",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut chosen: Vec<(Value, f64, f64)> = Vec::new();
    for (g, x, y) in rows {
        if chosen.len() == n {
            break;
        }
        if chosen
            .iter()
            .all(|(_, cx, cy)| (cx - x).abs() > 0.004 || (cy - y).abs() > 0.003)
        {
            chosen.push((serde_json::from_str(&g).unwrap(), x, y));
        }
    }
    assert_eq!(chosen.len(), n, "the demo city has room for test plots");
    chosen.into_iter().map(|(g, _, _)| g).collect()
}

/// A land plot feature on `geometry` with a fresh cadastral number.
pub fn plot(geometry: &Value, n: u32) -> Value {
    serde_json::json!({
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "cadastral_number": format!("1810100000:01:{:03}:{:04}", 900 + n / 10000, n % 10000),
            "area_ha": 0.05,
            "purpose_code": "02.01",
            "ownership": "communal",
            "use_status": "free",
            "address": "test street 1",
        }
    })
}
