//! The tile query, built in this one place (martin's template): per layer
//! `ST_AsMVT` over `ST_AsMVTGeom(ST_Transform(geom, 3857),
//! ST_TileEnvelope(z, x, y), 4096, 64, true)`, rows found through the GiST
//! index with `geom && <buffered envelope in 4326>`, visible rows and the
//! request's filter from `crate::query`. A composite tile is the
//! concatenation of the layers' MVT messages in one round trip (MVT layers
//! concatenate). z/x/y and filter values are bound parameters; identifiers
//! come from the registry through `query::ident`.

use std::sync::Arc;

use cql2::Expr;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use super::{BUFFER, EXTENT, TileError, cluster};
use crate::access::Viewer;
use crate::query::{self, FilterContext};
use crate::registry::{AttrType, Attribute, Layer, TileEngine};

/// The largest tile we serve, uncompressed. A tile that comes out larger is
/// built again without the lines and polygons smaller than a pixel (1/256
/// of the tile side) — the only features simplification may drop.
pub const MAX_TILE_BYTES: usize = 500_000;

/// What one tile is made of.
pub struct TileSpec<'a> {
    pub layers: &'a [Arc<Layer>],
    pub z: u8,
    pub x: u32,
    pub y: u32,
    pub viewer: &'a Viewer,
    pub filter: Option<&'a Expr>,
}

/// The layers of `layers` shown at zoom `z`.
pub fn layers_at(layers: &[Arc<Layer>], z: u8) -> impl Iterator<Item = &Arc<Layer>> {
    layers.iter().filter(move |l| (l.minzoom..=l.maxzoom).contains(&z))
}

/// The attributes of `layer` that go into tiles for `viewer`: `tile = true`
/// and readable by them.
pub fn tile_attributes<'a>(layer: &'a Layer, viewer: &'a Viewer) -> impl Iterator<Item = &'a Attribute> {
    layer.readable_attributes(&viewer.roles).filter(|a| a.tile)
}

/// The tile attributes of `layer` for `viewer` that tiles of zoom `z` carry
/// (an attribute's `tile_minzoom` holds it back from lower zooms).
pub fn tile_attributes_at<'a>(layer: &'a Layer, viewer: &'a Viewer, z: u8) -> impl Iterator<Item = &'a Attribute> {
    tile_attributes(layer, viewer).filter(move |a| a.tile_minzoom.is_none_or(|m| z >= m))
}

/// The MVT value type an attribute is encoded as (TileJSON `fields`).
pub fn mvt_type(t: AttrType) -> &'static str {
    match t {
        AttrType::Integer | AttrType::Number | AttrType::Money => "Number",
        AttrType::Boolean => "Boolean",
        _ => "String",
    }
}

/// Builds the tile; an empty Vec when no layer has a feature in it.
pub async fn build(pool: &PgPool, spec: &TileSpec<'_>) -> Result<Vec<u8>, TileError> {
    // One statement per layer part, no transaction: every tile query is
    // kept serial by `geoportal_serial_plan()` in its WHERE clause
    // (push_from_where), so nothing needs setting first.
    let mut conn = pool.acquire().await?;
    build_in(&mut conn, spec).await
}

async fn build_in(conn: &mut PgConnection, spec: &TileSpec<'_>) -> Result<Vec<u8>, TileError> {
    let tile = build_with(&mut *conn, spec, false).await?;
    if tile.len() <= MAX_TILE_BYTES {
        return Ok(tile);
    }
    let smaller = build_with(&mut *conn, spec, true).await?;
    if smaller.len() > MAX_TILE_BYTES {
        tracing::warn!(
            z = spec.z,
            x = spec.x,
            y = spec.y,
            bytes = smaller.len(),
            "tile over the size bound even without sub-pixel features"
        );
    }
    Ok(smaller)
}

/// Where `layer`'s tiles at `z` are made: clustered zooms always in PostGIS.
pub fn engine_at(layer: &Layer, z: u8) -> TileEngine {
    if cluster::applies(layer, z) {
        TileEngine::Postgis
    } else {
        layer.tile_engine.unwrap_or(super::DEFAULT_ENGINE)
    }
}

async fn build_with(conn: &mut PgConnection, spec: &TileSpec<'_>, drop_subpixel: bool) -> Result<Vec<u8>, TileError> {
    let shown: Vec<&Arc<Layer>> = layers_at(spec.layers, spec.z).collect();
    if shown.is_empty() {
        return Ok(Vec::new());
    }
    if shown.iter().all(|l| engine_at(l, spec.z) == TileEngine::Postgis) {
        return postgis_tile(&mut *conn, spec, &shown, drop_subpixel).await;
    }
    // Layer by layer, in request order (MVT layers concatenate).
    let mut tile = Vec::new();
    for layer in shown {
        let part = match engine_at(layer, spec.z) {
            TileEngine::Rust => super::native::layer_tile(&mut *conn, layer, spec, drop_subpixel).await?,
            TileEngine::Postgis => postgis_tile(&mut *conn, spec, &[layer], drop_subpixel).await?,
        };
        tile.extend_from_slice(&part);
    }
    Ok(tile)
}

/// The layers' tile in one `ST_AsMVT` query.
async fn postgis_tile(
    conn: &mut PgConnection,
    spec: &TileSpec<'_>,
    shown: &[&Arc<Layer>],
    drop_subpixel: bool,
) -> Result<Vec<u8>, TileError> {
    let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new("SELECT ");
    for (i, layer) in shown.iter().enumerate() {
        if i > 0 {
            qb.push(" || ");
        }
        qb.push("coalesce((");
        if cluster::applies(layer, spec.z) {
            cluster::push_layer(&mut qb, layer, spec)?;
        } else {
            push_layer(&mut qb, layer, spec, drop_subpixel)?;
        }
        qb.push("), ''::bytea)");
    }
    let tile: Option<Vec<u8>> = qb.build_query_scalar().fetch_one(&mut *conn).await?;
    Ok(tile.unwrap_or_default())
}

/// `ST_TileEnvelope(z, x, y)` with bound parameters; `margin` in tile units.
pub fn push_envelope(qb: &mut QueryBuilder<'_, Postgres>, spec: &TileSpec<'_>, margin: bool) {
    qb.push("ST_TileEnvelope(");
    qb.push_bind(i32::from(spec.z));
    qb.push(", ");
    qb.push_bind(spec.x as i32);
    qb.push(", ");
    qb.push_bind(spec.y as i32);
    if margin {
        qb.push(format!(", margin => {})", f64::from(BUFFER) / f64::from(EXTENT)));
    } else {
        qb.push(")");
    }
}

/// The tile and its buffer in EPSG:3857 as bound numbers, cut at the edges
/// of the world. Uncut, the buffer of a tile on the antimeridian reaches past
/// x = ±20,037,508 m, which EPSG:4326 wraps to the other side: the search
/// box of z1/1/0 became lon −177…−2.8 and missed the city at lon 28.
pub fn push_search_box(qb: &mut QueryBuilder<'_, Postgres>, spec: &TileSpec<'_>) {
    let b = super::grid::tile_bounds(spec.z, spec.x, spec.y, f64::from(BUFFER));
    let h = super::grid::HALF_WORLD;
    qb.push("ST_MakeEnvelope(");
    let mut sep = qb.separated(", ");
    for v in b {
        sep.push_bind(v.clamp(-h, h));
    }
    qb.push(", 3857)");
}

/// `FROM <table> t WHERE t.geom && <buffered envelope> AND <visible rows>
/// [AND <filter>]`, shared by plain and clustered layers.
pub fn push_from_where(
    qb: &mut QueryBuilder<'_, Postgres>,
    layer: &Layer,
    spec: &TileSpec<'_>,
) -> Result<(), TileError> {
    qb.push(format!(
        " FROM {} t WHERE t.{} && ST_Transform(",
        query::ident(layer.table()),
        geom(layer)
    ));
    push_search_box(qb, spec);
    // No parallel workers for a tile (migration 0134): the generic plan
    // cannot see how few rows the bound box selects, plans a parallel scan,
    // and starting workers costs more than the tile — measured at scale 10,
    // 1.4× (PostGIS engine) and 2× (Rust engine) the tiles/s at 8 clients
    // without them (bench/RESULTS.md).
    qb.push(format!(", {}) AND geoportal_serial_plan() AND ", layer.geometry.srid));
    query::push_visible_rows(qb, layer, spec.viewer, "t");
    if let Some(filter) = spec.filter {
        qb.push(" AND ");
        query::push_filter(qb, filter, &FilterContext::for_viewer(layer, &spec.viewer.roles, "t"))?;
    }
    Ok(())
}

pub fn geom(layer: &Layer) -> String {
    query::ident(&layer.geometry.column)
}

/// One layer's MVT message: features with their id and tile attributes.
fn push_layer(
    qb: &mut QueryBuilder<'_, Postgres>,
    layer: &Layer,
    spec: &TileSpec<'_>,
    drop_subpixel: bool,
) -> Result<(), TileError> {
    qb.push("SELECT ST_AsMVT(q, ");
    qb.push_bind(layer.id.clone());
    qb.push(format!(
        ", {EXTENT}, '__geom', '__id') FROM (SELECT t.{}::bigint AS __id, ",
        query::ident(&layer.id_column)
    ));
    push_geometry(qb, layer, spec);
    qb.push(" AS __geom");
    for a in tile_attributes_at(layer, spec.viewer, spec.z) {
        qb.push(format!(", {} AS {}", value_sql(a), query::ident(&a.name)));
    }
    push_from_where(qb, layer, spec)?;
    if drop_subpixel {
        // Points are never dropped; a line or polygon goes only if its box
        // is under a pixel both ways.
        let px = super::grid::tile_width(spec.z) / 256.0;
        qb.push(format!(
            " AND (GeometryType(t.{g}) LIKE '%POINT' OR (SELECT ST_XMax(b) - ST_XMin(b) >= {px} \
             OR ST_YMax(b) - ST_YMin(b) >= {px} FROM ST_Transform(ST_Envelope(t.{g}), 3857) AS b))",
            g = geom(layer)
        ));
    }
    qb.push(") q WHERE q.__geom IS NOT NULL");
    Ok(())
}

/// `ST_AsMVTGeom` clips to the buffer, snaps to the 4096 grid, drops what
/// collapses below one tile unit and fixes winding and validity.
fn push_geometry(qb: &mut QueryBuilder<'_, Postgres>, layer: &Layer, spec: &TileSpec<'_>) {
    qb.push(format!("ST_AsMVTGeom(ST_Transform(t.{}, 3857), ", geom(layer)));
    push_envelope(qb, spec, false);
    qb.push(format!(", {EXTENT}, {BUFFER}, true)"));
}

/// An attribute as an MVT value: numbers as doubles, dates and times as
/// ISO 8601 text, lists joined with commas.
pub(super) fn value_sql(a: &Attribute) -> String {
    let c = format!("t.{}", query::ident(&a.name));
    match a.attr_type {
        AttrType::String | AttrType::Boolean => c,
        AttrType::Integer => format!("{c}::bigint"),
        AttrType::Number | AttrType::Money => format!("{c}::float8"),
        AttrType::Date => format!("to_char({c}, 'YYYY-MM-DD')"),
        AttrType::Datetime => format!("to_char({c}::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"),
        AttrType::Json => format!("{c}::text"),
        AttrType::StringList => format!("array_to_string({c}, ',')"),
    }
}
