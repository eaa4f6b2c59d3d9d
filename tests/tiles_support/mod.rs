//! Helpers shared by the tile tests: requests with headers, tiles decoded
//! with geozero's MVT reader (prost), counts straight from PostGIS.
#![allow(dead_code)]

use axum::http::{HeaderMap, Request, StatusCode};
use geozero::ToGeo;
use geozero::mvt::{Message, Tile, tile};
use http_body_util::BodyExt;
use std::collections::{BTreeMap, BTreeSet};
use tower::ServiceExt;

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

pub async fn request(app: &axum::Router, uri: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = app
        .clone()
        .oneshot(req.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply { status, headers, body }
}

/// GET a tile (identity coding); None for 204.
pub async fn tile(app: &axum::Router, uri: &str) -> Option<Tile> {
    let r = request(app, uri, &[]).await;
    match r.status {
        StatusCode::NO_CONTENT => None,
        StatusCode::OK => {
            assert_eq!(r.headers["content-type"], "application/vnd.mapbox-vector-tile", "{uri}");
            Some(Tile::decode(r.body.as_slice()).expect("a valid MVT"))
        }
        other => panic!("{uri}: HTTP {other}: {}", String::from_utf8_lossy(&r.body)),
    }
}

pub fn layer<'a>(t: &'a Tile, name: &str) -> Option<&'a tile::Layer> {
    t.layers.iter().find(|l| l.name == name)
}

/// Property names of every feature of a layer.
pub fn keys_used(l: &tile::Layer) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in &l.features {
        for pair in f.tags.chunks(2) {
            out.insert(l.keys[pair[0] as usize].clone());
        }
    }
    out
}

/// One feature's properties as strings.
pub fn props(l: &tile::Layer, f: &tile::Feature) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for pair in f.tags.chunks(2) {
        let v = &l.values[pair[1] as usize];
        let value = if let Some(s) = &v.string_value {
            s.clone()
        } else if let Some(d) = v.double_value {
            d.to_string()
        } else if let Some(d) = v.float_value {
            d.to_string()
        } else if let Some(i) = v.int_value {
            i.to_string()
        } else if let Some(i) = v.uint_value {
            i.to_string()
        } else if let Some(i) = v.sint_value {
            i.to_string()
        } else if let Some(b) = v.bool_value {
            b.to_string()
        } else {
            String::new()
        };
        out.insert(l.keys[pair[0] as usize].clone(), value);
    }
    out
}

/// Every vertex of a feature, in tile coordinates.
pub fn vertices(f: &tile::Feature) -> Vec<(f64, f64)> {
    use geo::CoordsIter;
    let g = f.to_geo().expect("decodable geometry");
    g.coords_iter().map(|c| (c.x, c.y)).collect()
}

pub async fn count(pool: &sqlx::PgPool, sql: &str, z: u8, x: u32, y: u32) -> i64 {
    sqlx::query_scalar(sql)
        .bind(i32::from(z))
        .bind(x as i32)
        .bind(y as i32)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// `ST_Intersects(<geom in 3857>, <tile envelope with its 64/4096 buffer>)`
/// for a table aliased `t`, with z/x/y as $1..$3.
pub const IN_TILE: &str =
    "ST_Intersects(ST_Transform(t.geom, 3857), ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096))";

/// The range a tile's feature count must fall in, counted by PostGIS from
/// `table t WHERE <cond>`: at most the features intersecting the tile and
/// its buffer (half a tile unit wider, for the snap to the 4096 grid), at
/// least those intersecting it half a unit narrower, less the lines and
/// polygons whose part there is smaller than a pixel (1/256 of the tile).
pub async fn expected_range(pool: &sqlx::PgPool, table: &str, cond: &str, z: u8, x: u32, y: u32) -> (i64, i64) {
    let env = |m: f64| format!("ST_TileEnvelope($1, $2, $3, margin => {m} / 4096.0)");
    let upper = count(
        pool,
        &format!(
            "SELECT count(*) FROM {table} t WHERE {cond} AND ST_Intersects(ST_Transform(t.geom, 3857), {})",
            env(64.5)
        ),
        z,
        x,
        y,
    )
    .await;
    let px = geoportal::tiles::grid::tile_width(z) / 256.0;
    let lower = count(
        pool,
        &format!(
            "SELECT count(*) FROM (SELECT ST_Intersection(ST_Transform(t.geom, 3857), {e}) AS part, t.geom \
             FROM {table} t WHERE {cond} AND ST_Intersects(ST_Transform(t.geom, 3857), {e})) p \
             WHERE GeometryType(p.geom) LIKE '%POINT' \
                OR ST_XMax(p.part) - ST_XMin(p.part) >= {px} OR ST_YMax(p.part) - ST_YMin(p.part) >= {px}",
            e = env(63.5)
        ),
        z,
        x,
        y,
    )
    .await;
    (lower, upper)
}

/// The extent of a table's live rows as a bbox.
pub async fn extent(pool: &sqlx::PgPool, table: &str) -> geoportal::tiles::Bbox {
    let (a, b, c, d): (f64, f64, f64, f64) = sqlx::query_as(&format!(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM {table} WHERE deleted_at IS NULL) x"
    ))
    .fetch_one(pool)
    .await
    .unwrap();
    geoportal::tiles::Bbox::new(a, b, c, d)
}
