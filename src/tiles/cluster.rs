//! Server-side clustering of dense point layers (`cluster` in the layer
//! file): below `below_zoom` a tile carries one point per grid cell instead
//! of the features, with `count` and the most common value of the
//! `dominant` attribute (when the viewer may read it).
//!
//! Cells are `CELLS_PER_TILE` to a tile side, aligned to the world grid, so
//! a point falls in the same cell in every tile that holds it. A cluster
//! sits at the mean of its points and counts the points inside the tile and
//! its buffer, so the counts of a tile add up to the visible features it
//! covers, like an unclustered tile.

use sqlx::{Postgres, QueryBuilder};

use super::sql::{TileSpec, push_envelope, push_from_where};
use super::{EXTENT, TileError, grid};
use crate::query;
use crate::registry::Layer;

/// Grid cells per tile side (a cell is 256 tile units, 32 px on a 512 px tile).
pub const CELLS_PER_TILE: u32 = 16;

/// Whether `layer` is clustered at zoom `z`.
pub fn applies(layer: &Layer, z: u8) -> bool {
    layer.cluster.as_ref().is_some_and(|c| z < c.below_zoom)
}

/// The attribute clusters carry the dominant value of, if the viewer may read it.
pub fn dominant<'a>(layer: &'a Layer, roles: &[crate::registry::Role]) -> Option<&'a str> {
    let name = layer.cluster.as_ref()?.dominant.as_deref()?;
    layer
        .attribute(name)
        .filter(|a| a.read.allows(roles))
        .map(|a| a.name.as_str())
}

pub fn push_layer(qb: &mut QueryBuilder<'_, Postgres>, layer: &Layer, spec: &TileSpec<'_>) -> Result<(), TileError> {
    let cell = grid::tile_width(spec.z) / f64::from(CELLS_PER_TILE);
    let dominant = dominant(layer, &spec.viewer.roles);
    qb.push("SELECT ST_AsMVT(c, ");
    qb.push_bind(layer.id.clone());
    qb.push(format!(
        ", {EXTENT}, '__geom', '__id') FROM (SELECT (row_number() OVER (ORDER BY cx, cy))::bigint AS __id, \
         count::bigint AS count"
    ));
    if let Some(d) = dominant {
        qb.push(format!(", dominant AS {}", query::ident(d)));
    }
    qb.push(", ST_AsMVTGeom(centre, ");
    push_envelope(qb, spec, false);
    qb.push(format!(", {EXTENT}, {}, true) AS __geom FROM (", super::BUFFER));
    // cells: count, mean position and dominant value per grid cell
    qb.push("SELECT cx, cy, count(*) AS count, ST_Centroid(ST_Collect(g)) AS centre");
    if dominant.is_some() {
        qb.push(", mode() WITHIN GROUP (ORDER BY dom) AS dominant");
    }
    qb.push(" FROM (SELECT g, floor((ST_X(ST_Centroid(g)) + ");
    qb.push_bind(grid::HALF_WORLD);
    qb.push(") / ");
    qb.push_bind(cell);
    qb.push(") AS cx, floor((ST_Y(ST_Centroid(g)) + ");
    qb.push_bind(grid::HALF_WORLD);
    qb.push(") / ");
    qb.push_bind(cell);
    qb.push(") AS cy");
    if dominant.is_some() {
        qb.push(", dom");
    }
    qb.push(format!(
        " FROM (SELECT ST_Transform(t.{}, 3857) AS g",
        super::sql::geom(layer)
    ));
    if let Some(d) = dominant {
        qb.push(format!(", t.{} AS dom", query::ident(d)));
    }
    push_from_where(qb, layer, spec)?;
    qb.push(") pts WHERE ST_Intersects(g, ");
    push_envelope(qb, spec, true);
    qb.push(")) p GROUP BY cx, cy) cells) c WHERE c.__geom IS NOT NULL");
    Ok(())
}
