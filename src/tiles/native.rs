//! The Rust tile engine (`tile_engine = "rust"`): PostGIS only finds the
//! rows (the same index-using filter, visible rows and request filter as
//! the SQL engine) and streams their geometry out as EWKB; here each
//! geometry is projected to tile units, clipped to the tile and its buffer,
//! snapped to the 4096 grid, given MVT winding and encoded. It does what
//! `ST_AsMVTGeom(…, 4096, 64, true)` + `ST_AsMVT` do, with the CPU work out
//! of the database (tests/tiles_engines.rs compares the two).
//!
//! Clipping is Sutherland–Hodgman against the buffered tile square, ring by
//! ring: a polygon covering the whole tile becomes the buffered square, a
//! concave one cut in two keeps both parts joined by a zero-width edge on
//! the buffer line. That edge, and rings the snap makes touch or cross
//! themselves, are then mended by `make_valid`, so every polygon is
//! OGC-valid as MVT 2.1 requires.

use std::collections::HashMap;

use futures::TryStreamExt;
use geozero::mvt::{Message, tile};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use super::sql::{TileSpec, push_from_where, tile_attributes_at, value_sql};
use super::{BUFFER, EXTENT, TileError, grid};
use crate::query;
use crate::registry::{AttrType, Attribute, Layer};

type Pt = [f64; 2];

/// One layer's MVT message (empty when no feature is left), built in Rust.
pub async fn layer_tile(
    conn: &mut PgConnection,
    layer: &Layer,
    spec: &TileSpec<'_>,
    drop_subpixel: bool,
) -> Result<Vec<u8>, TileError> {
    let attrs: Vec<&Attribute> = tile_attributes_at(layer, spec.viewer, spec.z).collect();
    let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new(format!(
        "SELECT t.{}::bigint, t.{}",
        query::ident(&layer.id_column),
        super::sql::geom(layer)
    ));
    for a in &attrs {
        qb.push(format!(", {}", value_sql(a)));
    }
    push_from_where(&mut qb, layer, spec)?;
    let frame = Frame::new(spec.z, spec.x, spec.y);
    let mut enc = LayerEncoder::new(&layer.id);
    let mut rows = qb.build().fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        let id: i64 = row.try_get(0)?;
        // The column is PostGIS `geometry`, whose binary form is EWKB.
        let Some(wkb) = row.try_get_unchecked::<Option<&[u8]>, _>(1)? else {
            continue;
        };
        let Some(geom) = parse_ewkb(wkb, &frame) else {
            return Err(TileError::Internal(format!(
                "layer {}: feature {id}: unreadable EWKB",
                layer.id
            )));
        };
        if drop_subpixel && geom.smaller_than(f64::from(EXTENT) / 256.0) {
            continue;
        }
        // `ST_AsMVTGeom` (PostGIS 3.3) only snaps: simplifying too would
        // move outlines off PostGIS's by up to half a unit. Only a tile
        // rebuilt because it was too large is also simplified.
        let geom = if drop_subpixel { geom.simplified() } else { geom };
        let Some((kind, commands)) = geom.clip_and_encode() else {
            continue;
        };
        enc.feature(id, kind, commands, &row, &attrs)?;
    }
    Ok(enc.finish())
}

/// Tile units of one tile: lon/lat → EPSG:3857 → 0..4096 with y down.
struct Frame {
    min_x: f64,
    max_y: f64,
    scale: f64,
}

impl Frame {
    fn new(z: u8, x: u32, y: u32) -> Frame {
        let [min_x, _, _, max_y] = grid::tile_bounds(z, x, y, 0.0);
        Frame {
            min_x,
            max_y,
            scale: f64::from(EXTENT) / grid::tile_width(z),
        }
    }

    fn project(&self, lon: f64, lat: f64) -> Pt {
        let (mx, my) = grid::lonlat_to_mercator(lon, lat);
        [(mx - self.min_x) * self.scale, (self.max_y - my) * self.scale]
    }
}

/// A geometry in (unrounded) tile units.
enum Geom {
    Points(Vec<Pt>),
    Lines(Vec<Vec<Pt>>),
    /// Polygons, each an exterior ring then its holes.
    Polygons(Vec<Vec<Vec<Pt>>>),
}

impl Geom {
    /// Whether a line or polygon is under `size` tile units both ways.
    fn smaller_than(&self, size: f64) -> bool {
        let pts: Box<dyn Iterator<Item = &Pt>> = match self {
            Geom::Points(_) => return false,
            Geom::Lines(ls) => Box::new(ls.iter().flatten()),
            Geom::Polygons(ps) => Box::new(ps.iter().flatten().flatten()),
        };
        let (w, h) = extent_of(pts);
        w < size && h < size
    }

    /// As `ST_AsMVTGeom` (PostGIS 3.3) does before it snaps and clips, at
    /// half a tile unit: vertices closer than that to the previous one go,
    /// then Douglas–Peucker drops those that move the line by less. A ring
    /// that would collapse is kept as it is (snapping decides).
    fn simplified(self) -> Geom {
        match self {
            Geom::Points(p) => Geom::Points(p),
            Geom::Lines(ls) => Geom::Lines(ls.into_iter().map(|l| douglas_peucker(l, 2)).collect()),
            Geom::Polygons(ps) => Geom::Polygons(
                ps.into_iter()
                    .map(|rings| rings.into_iter().map(|r| douglas_peucker(r, 4)).collect())
                    .collect(),
            ),
        }
    }

    /// Clips to the buffered tile, snaps to the grid and encodes the MVT
    /// geometry commands; None when nothing is left (as `ST_AsMVTGeom`
    /// gives NULL).
    fn clip_and_encode(&self) -> Option<(tile::GeomType, Vec<u32>)> {
        let lo = -f64::from(BUFFER);
        let hi = f64::from(EXTENT + BUFFER);
        let inside = |p: &Pt| p[0] >= lo && p[0] <= hi && p[1] >= lo && p[1] <= hi;
        let mut cmd = Commands::default();
        match self {
            Geom::Points(pts) => {
                let kept: Vec<[i64; 2]> = pts.iter().filter(|p| inside(p)).map(snap).collect();
                if kept.is_empty() {
                    return None;
                }
                cmd.command(1, kept.len());
                for p in kept {
                    cmd.point(p);
                }
                Some((tile::GeomType::Point, cmd.out))
            }
            Geom::Lines(lines) => {
                // Lines under half a tile unit both ways vanish, as in PostGIS.
                if extent_of(lines.iter().flatten()).0 < 0.5 && extent_of(lines.iter().flatten()).1 < 0.5 {
                    return None;
                }
                let mut any = false;
                for line in lines {
                    for piece in clip_line(&on_grid(line), lo, hi) {
                        let snapped = dedup(piece.iter().map(snap));
                        if snapped.len() < 2 {
                            continue;
                        }
                        cmd.command(1, 1);
                        cmd.point(snapped[0]);
                        cmd.command(2, snapped.len() - 1);
                        for p in &snapped[1..] {
                            cmd.point(*p);
                        }
                        any = true;
                    }
                }
                any.then_some((tile::GeomType::Linestring, cmd.out))
            }
            Geom::Polygons(polys) => {
                let all = || polys.iter().flatten().flatten();
                let (w, h) = extent_of(all());
                if w < 0.5 && h < 0.5 {
                    return None;
                }
                // Snapped before the clip: where an edge crosses the buffer
                // line then follows from grid vertices, which is closer to
                // what `ST_AsMVTGeom` gives (bench/RESULTS.md: outlines more
                // than 2 units from PostGIS's 464 → 29 of 36,640).
                let clipped: Vec<Vec<Vec<Pt>>> = polys
                    .iter()
                    .map(|poly| poly.iter().map(|ring| clip_ring(&on_grid(ring), lo, hi)).collect())
                    .collect();
                let polys = make_valid(snap_polygons(&clipped));
                for poly in &polys {
                    for r in poly {
                        cmd.command(1, 1);
                        cmd.point(r[0]);
                        cmd.command(2, r.len() - 1);
                        for p in &r[1..] {
                            cmd.point(*p);
                        }
                        cmd.command(7, 1);
                    }
                }
                (!polys.is_empty()).then_some((tile::GeomType::Polygon, cmd.out))
            }
        }
    }
}

/// Polygons on the integer grid: each an exterior ring then its holes.
type GridPolygons = Vec<Vec<Vec<[i64; 2]>>>;

/// Snaps rings to the grid, drops repeated points and rings left with
/// fewer than 3 points or no area (a polygon without an exterior goes with
/// its holes), and orients them for MVT: exterior rings positive
/// (clockwise with y down), holes negative.
fn snap_polygons(polys: &[Vec<Vec<Pt>>]) -> GridPolygons {
    let mut out = Vec::with_capacity(polys.len());
    for poly in polys {
        let mut rings = Vec::with_capacity(poly.len());
        for (i, ring) in poly.iter().enumerate() {
            let mut r = dedup(ring.iter().map(snap));
            while r.len() > 1 && r.first() == r.last() {
                r.pop();
            }
            let area = ring_area(&r);
            if r.len() < 3 || area == 0 {
                if i == 0 {
                    break;
                }
                continue;
            }
            if (i == 0) != (area > 0) {
                r.reverse();
            }
            rings.push(r);
        }
        if !rings.is_empty() {
            out.push(rings);
        }
    }
    out
}

/// MVT 2.1 wants OGC-valid polygons, and clipping plus the snap to the
/// grid can break them: a concave polygon cut twice leaves a zero-width
/// edge along the buffer line, a ring can come to touch or cross itself,
/// parts of a multipolygon can come to share an edge. Such a feature is
/// rebuilt by an OGC overlay of its oriented rings under the non-zero rule
/// (as PostGIS makes the snapped geometry valid). geo's validity check is
/// quadratic, so only small features are checked first; larger ones go
/// straight to the overlay (n log n). The overlay's output is valid; only
/// its new crossing points, off the grid, are snapped again, which can
/// (rarely) make a new touch: hence a few rounds.
fn make_valid(mut polys: GridPolygons) -> GridPolygons {
    use geo::Validation;
    use geo::algorithm::bool_ops::{BooleanOps, FillRule, OpType};
    for _ in 0..4 {
        let mp = to_geo(&polys);
        let vertices: usize = polys.iter().flatten().map(Vec::len).sum();
        if vertices <= 256 && polys.len() <= 8 && mp.is_valid() {
            return polys;
        }
        let fixed = mp.boolean_op_with_fill_rule(
            &geo::MultiPolygon::<f64>::new(Vec::new()),
            OpType::Union,
            FillRule::NonZero,
        );
        let on_grid = fixed
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| r.coords())
            .all(|c| c.x.fract() == 0.0 && c.y.fract() == 0.0);
        let rings: Vec<Vec<Vec<Pt>>> = fixed
            .0
            .iter()
            .map(|p| {
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(|r| r.coords().map(|c| [c.x, c.y]).collect())
                    .collect()
            })
            .collect();
        polys = snap_polygons(&rings);
        if on_grid {
            return polys;
        }
    }
    // Still off after the rounds: nothing rather than a polygon renderers
    // may fill wrongly.
    if to_geo(&polys).is_valid() { polys } else { Vec::new() }
}

fn to_geo(polys: &GridPolygons) -> geo::MultiPolygon<f64> {
    let ring =
        |r: &Vec<[i64; 2]>| geo::LineString::from(r.iter().map(|p| (p[0] as f64, p[1] as f64)).collect::<Vec<_>>());
    geo::MultiPolygon::new(
        polys
            .iter()
            .map(|p| geo::Polygon::new(ring(&p[0]), p[1..].iter().map(ring).collect()))
            .collect(),
    )
}

/// Half a tile unit, squared: PostGIS's `res`, half the output resolution.
const HALF_UNIT2: f64 = 0.25;

/// The line without repeated vertices (closer than half a unit to the last
/// kept one; the last vertex stays) and then without the vertices closer
/// than half a unit to the simplified line; unchanged if fewer than `min`
/// vertices would be left.
fn douglas_peucker(line: Vec<Pt>, min: usize) -> Vec<Pt> {
    let mut line = line;
    if line.len() > 2 {
        let last = line[line.len() - 1];
        let mut kept: Vec<Pt> = Vec::with_capacity(line.len());
        for (i, p) in line.iter().enumerate() {
            let repeated = kept
                .last()
                .is_some_and(|q: &Pt| (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) <= HALF_UNIT2);
            if i == 0 || (!repeated && i < line.len() - 1) {
                kept.push(*p);
            }
        }
        kept.push(last);
        if kept.len() >= min {
            line = kept;
        }
    }
    let n = line.len();
    if n <= 2 {
        return line;
    }
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[n - 1] = true;
    let mut stack = vec![(0usize, n - 1)];
    while let Some((a, b)) = stack.pop() {
        let (pa, pb) = (line[a], line[b]);
        let (dx, dy) = (pb[0] - pa[0], pb[1] - pa[1]);
        let len2 = dx * dx + dy * dy;
        let mut far = (0.0f64, 0usize);
        for (i, p) in line.iter().enumerate().take(b).skip(a + 1) {
            // Squared distance from p to the segment a–b.
            let d2 = if len2 == 0.0 {
                (p[0] - pa[0]).powi(2) + (p[1] - pa[1]).powi(2)
            } else {
                let t = (((p[0] - pa[0]) * dx + (p[1] - pa[1]) * dy) / len2).clamp(0.0, 1.0);
                (p[0] - pa[0] - t * dx).powi(2) + (p[1] - pa[1] - t * dy).powi(2)
            };
            if d2 > far.0 {
                far = (d2, i);
            }
        }
        if far.0 > HALF_UNIT2 {
            keep[far.1] = true;
            stack.push((a, far.1));
            stack.push((far.1, b));
        }
    }
    if keep.iter().filter(|k| **k).count() < min {
        return line;
    }
    line.into_iter().zip(keep).filter_map(|(p, k)| k.then_some(p)).collect()
}

fn extent_of<'a>(pts: impl Iterator<Item = &'a Pt>) -> (f64, f64) {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in pts {
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        y0 = y0.min(p[1]);
        y1 = y1.max(p[1]);
    }
    ((x1 - x0).max(0.0), (y1 - y0).max(0.0))
}

/// The vertices rounded to the grid (still as floats, for the clip).
fn on_grid(pts: &[Pt]) -> Vec<Pt> {
    pts.iter().map(|p| [p[0].round(), p[1].round()]).collect()
}

fn snap(p: &Pt) -> [i64; 2] {
    [p[0].round() as i64, p[1].round() as i64]
}

fn dedup(pts: impl Iterator<Item = [i64; 2]>) -> Vec<[i64; 2]> {
    let mut out: Vec<[i64; 2]> = Vec::new();
    for p in pts {
        if out.last() != Some(&p) {
            out.push(p);
        }
    }
    out
}

/// Twice the signed area by the surveyor's formula (positive = clockwise
/// with y down, an MVT exterior ring).
fn ring_area(r: &[[i64; 2]]) -> i64 {
    let n = r.len();
    (0..n)
        .map(|i| {
            let (a, b) = (r[i], r[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum()
}

/// Sutherland–Hodgman: the ring clipped by the square lo..hi on both axes.
fn clip_ring(ring: &[Pt], lo: f64, hi: f64) -> Vec<Pt> {
    let (w, h) = extent_of(ring.iter());
    let (x0, y0) = ring
        .iter()
        .fold((f64::MAX, f64::MAX), |(a, b), p| (a.min(p[0]), b.min(p[1])));
    if x0 >= lo && y0 >= lo && x0 + w <= hi && y0 + h <= hi {
        return ring.to_vec();
    }
    let mut pts = ring.to_vec();
    // (axis, bound, keep below?)
    for (axis, bound, below) in [(0, lo, false), (0, hi, true), (1, lo, false), (1, hi, true)] {
        if pts.is_empty() {
            break;
        }
        let keep = |p: &Pt| if below { p[axis] <= bound } else { p[axis] >= bound };
        let mut out = Vec::with_capacity(pts.len() + 4);
        let n = pts.len();
        for i in 0..n {
            let cur = pts[i];
            let prev = pts[(i + n - 1) % n];
            let (ci, pi) = (keep(&cur), keep(&prev));
            if ci != pi {
                // Where the outline meets the buffer line, truncated to the
                // grid, as PostGIS's clipper (wagyu) places it.
                let mut p = cross(prev, cur, axis, bound);
                p[1 - axis] = p[1 - axis].trunc();
                out.push(p);
            }
            if ci {
                out.push(cur);
            }
        }
        pts = out;
    }
    pts
}

/// Where segment a→b crosses `axis = bound`.
fn cross(a: Pt, b: Pt, axis: usize, bound: f64) -> Pt {
    let t = (bound - a[axis]) / (b[axis] - a[axis]);
    let other = 1 - axis;
    let mut p = [0.0; 2];
    p[axis] = bound;
    p[other] = a[other] + t * (b[other] - a[other]);
    p
}

/// A line clipped by the square lo..hi: the pieces inside (Liang–Barsky
/// per segment, joined where they meet).
fn clip_line(line: &[Pt], lo: f64, hi: f64) -> Vec<Vec<Pt>> {
    let mut pieces: Vec<Vec<Pt>> = Vec::new();
    let mut current: Vec<Pt> = Vec::new();
    for seg in line.windows(2) {
        let (a, b) = (seg[0], seg[1]);
        match clip_segment(a, b, lo, hi) {
            Some((p, q, a_in, b_in)) => {
                if current.is_empty() || !a_in {
                    if !current.is_empty() {
                        pieces.push(std::mem::take(&mut current));
                    }
                    current.push(p);
                }
                current.push(q);
                if !b_in {
                    pieces.push(std::mem::take(&mut current));
                }
            }
            None => {
                if !current.is_empty() {
                    pieces.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// The part of a→b inside the square, and whether each end was inside.
fn clip_segment(a: Pt, b: Pt, lo: f64, hi: f64) -> Option<(Pt, Pt, bool, bool)> {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [(-dx, a[0] - lo), (dx, hi - a[0]), (-dy, a[1] - lo), (dy, hi - a[1])] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| [a[0] + t * dx, a[1] + t * dy];
    Some((at(t0), at(t1), t0 == 0.0, t1 == 1.0))
}

/// MVT geometry commands with zig-zag deltas from a running cursor.
#[derive(Default)]
struct Commands {
    out: Vec<u32>,
    cursor: [i64; 2],
}

impl Commands {
    fn command(&mut self, id: u32, count: usize) {
        self.out.push((id & 0x7) | ((count as u32) << 3));
    }

    fn point(&mut self, p: [i64; 2]) {
        for (v, c) in p.iter().zip(self.cursor.iter_mut()) {
            let d = v - *c;
            self.out.push(((d << 1) ^ (d >> 63)) as u32);
            *c = *v;
        }
    }
}

/// A value as a hashable key for the layer's value table.
#[derive(PartialEq, Eq, Hash)]
enum ValueKey {
    Str(String),
    Double(u64),
    Uint(u64),
    Sint(i64),
    Bool(bool),
}

struct LayerEncoder {
    layer: tile::Layer,
    keys: HashMap<String, u32>,
    values: HashMap<ValueKey, u32>,
}

impl LayerEncoder {
    fn new(name: &str) -> LayerEncoder {
        LayerEncoder {
            layer: tile::Layer {
                version: 2,
                name: name.to_string(),
                extent: Some(EXTENT),
                ..Default::default()
            },
            keys: HashMap::new(),
            values: HashMap::new(),
        }
    }

    fn feature(
        &mut self,
        id: i64,
        kind: tile::GeomType,
        geometry: Vec<u32>,
        row: &PgRow,
        attrs: &[&Attribute],
    ) -> Result<(), TileError> {
        let mut tags = Vec::with_capacity(attrs.len() * 2);
        for (i, a) in attrs.iter().enumerate() {
            let col = i + 2;
            // The types `value_sql` casts to; NULLs get no tag, as in ST_AsMVT.
            let value = match a.attr_type {
                AttrType::Integer => row.try_get::<Option<i64>, _>(col)?.map(|v| {
                    if v >= 0 {
                        ValueKey::Uint(v as u64)
                    } else {
                        ValueKey::Sint(v)
                    }
                }),
                AttrType::Number | AttrType::Money => row
                    .try_get::<Option<f64>, _>(col)?
                    .map(|v| ValueKey::Double(v.to_bits())),
                AttrType::Boolean => row.try_get::<Option<bool>, _>(col)?.map(ValueKey::Bool),
                _ => row.try_get::<Option<String>, _>(col)?.map(ValueKey::Str),
            };
            let Some(value) = value else {
                continue;
            };
            let k = match self.keys.get(&a.name) {
                Some(k) => *k,
                None => {
                    let k = self.layer.keys.len() as u32;
                    self.layer.keys.push(a.name.clone());
                    self.keys.insert(a.name.clone(), k);
                    k
                }
            };
            let n = self.values.len() as u32;
            let v = match self.values.get(&value) {
                Some(v) => *v,
                None => {
                    self.layer.values.push(match &value {
                        ValueKey::Str(s) => tile::Value {
                            string_value: Some(s.clone()),
                            ..Default::default()
                        },
                        ValueKey::Double(b) => tile::Value {
                            double_value: Some(f64::from_bits(*b)),
                            ..Default::default()
                        },
                        ValueKey::Uint(u) => tile::Value {
                            uint_value: Some(*u),
                            ..Default::default()
                        },
                        ValueKey::Sint(s) => tile::Value {
                            sint_value: Some(*s),
                            ..Default::default()
                        },
                        ValueKey::Bool(b) => tile::Value {
                            bool_value: Some(*b),
                            ..Default::default()
                        },
                    });
                    self.values.insert(value, n);
                    n
                }
            };
            tags.push(k);
            tags.push(v);
        }
        self.layer.features.push(tile::Feature {
            id: u64::try_from(id).ok(),
            tags,
            r#type: Some(kind as i32),
            geometry,
        });
        Ok(())
    }

    fn finish(self) -> Vec<u8> {
        if self.layer.features.is_empty() {
            return Vec::new();
        }
        geozero::mvt::Tile {
            layers: vec![self.layer],
        }
        .encode_to_vec()
    }
}

/// Reads (E)WKB, little- or big-endian, with or without SRID, Z or M,
/// straight into tile units. None when malformed.
fn parse_ewkb(wkb: &[u8], frame: &Frame) -> Option<Geom> {
    let mut r = Reader {
        buf: wkb,
        pos: 0,
        le: true,
    };
    let mut points = Vec::new();
    let mut lines = Vec::new();
    let mut polys = Vec::new();
    r.geometry(frame, &mut points, &mut lines, &mut polys, 0)?;
    // A layer has one geometry kind; a collection keeps its highest
    // dimension, as `ST_AsMVTGeom` does.
    Some(if !polys.is_empty() {
        Geom::Polygons(polys)
    } else if !lines.is_empty() {
        Geom::Lines(lines)
    } else {
        Geom::Points(points)
    })
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    le: bool,
}

impl Reader<'_> {
    fn bytes<const N: usize>(&mut self) -> Option<[u8; N]> {
        let b: [u8; N] = self.buf.get(self.pos..self.pos + N)?.try_into().ok()?;
        self.pos += N;
        Some(b)
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.bytes::<4>()?;
        Some(if self.le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn f64(&mut self) -> Option<f64> {
        let b = self.bytes::<8>()?;
        Some(if self.le {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    }

    fn coords(&mut self, dims: usize, frame: &Frame) -> Option<Vec<Pt>> {
        let n = self.u32()? as usize;
        // Never trust a count beyond what the buffer can hold.
        if n > (self.buf.len() - self.pos) / (8 * dims) {
            return None;
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let (x, y) = (self.f64()?, self.f64()?);
            for _ in 2..dims {
                self.f64()?;
            }
            out.push(frame.project(x, y));
        }
        Some(out)
    }

    fn geometry(
        &mut self,
        frame: &Frame,
        points: &mut Vec<Pt>,
        lines: &mut Vec<Vec<Pt>>,
        polys: &mut Vec<Vec<Vec<Pt>>>,
        depth: u8,
    ) -> Option<()> {
        if depth > 8 {
            return None;
        }
        self.le = self.bytes::<1>()?[0] == 1;
        let raw = self.u32()?;
        let mut dims = 2;
        if raw & 0x8000_0000 != 0 {
            dims += 1;
        }
        if raw & 0x4000_0000 != 0 {
            dims += 1;
        }
        if raw & 0x2000_0000 != 0 {
            self.u32()?; // SRID
        }
        // ISO WKB codes dimensions as thousands (1001 = Point Z).
        let code = raw & 0x0fff_ffff;
        let (kind, iso) = (code % 1000, code / 1000);
        dims += match iso {
            1 | 2 => 1,
            3 => 2,
            _ => 0,
        };
        match kind {
            1 => {
                let (x, y) = (self.f64()?, self.f64()?);
                for _ in 2..dims {
                    self.f64()?;
                }
                // POINT EMPTY is NaN, NaN.
                if x.is_finite() && y.is_finite() {
                    points.push(frame.project(x, y));
                }
            }
            2 => lines.push(self.coords(dims, frame)?),
            3 => {
                let n = self.u32()?;
                let mut rings = Vec::new();
                for _ in 0..n {
                    rings.push(self.coords(dims, frame)?);
                }
                if !rings.is_empty() {
                    polys.push(rings);
                }
            }
            4..=7 => {
                let n = self.u32()?;
                for _ in 0..n {
                    self.geometry(frame, points, lines, polys, depth + 1)?;
                }
            }
            _ => return None,
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(a: f64, b: f64) -> Vec<Pt> {
        vec![[a, a], [b, a], [b, b], [a, b], [a, a]]
    }

    /// MVT geometry commands back to rings of grid points.
    fn decode(c: &[u32]) -> Vec<Vec<[i64; 2]>> {
        let mut cur = [0i64; 2];
        let mut rings = Vec::new();
        let mut i = 0;
        let mut ring = Vec::new();
        while i < c.len() {
            let (id, count) = (c[i] & 7, (c[i] >> 3) as usize);
            i += 1;
            if id == 7 {
                rings.push(std::mem::take(&mut ring));
                continue;
            }
            for _ in 0..count {
                for (k, v) in cur.iter_mut().enumerate() {
                    let z = c[i + k] as i64;
                    *v += (z >> 1) ^ -(z & 1);
                }
                ring.push(cur);
                i += 2;
            }
        }
        rings
    }

    /// Decoded polygon rings grouped as MVT readers do: a positive ring
    /// starts a polygon, negative ones are its holes.
    fn polygons(cmds: &[u32]) -> GridPolygons {
        let mut out: GridPolygons = Vec::new();
        for r in decode(cmds) {
            match out.last_mut() {
                Some(p) if ring_area(&r) < 0 => p.push(r),
                _ => out.push(vec![r]),
            }
        }
        out
    }

    fn assert_valid(cmds: &[u32]) -> GridPolygons {
        use geo::Validation;
        let polys = polygons(cmds);
        assert!(polys.iter().all(|p| ring_area(&p[0]) > 0), "{polys:?}");
        let g = to_geo(&polys);
        assert!(g.is_valid(), "invalid: {:?}", g.validation_errors());
        polys
    }

    #[test]
    fn a_concave_polygon_cut_twice_by_the_buffer_line_stays_valid() {
        // A U lying on its side, its base beyond the buffer line x = 4160:
        // the clip leaves both arms, once joined by a zero-width edge
        // doubling back along x = 4160.
        let u = vec![
            [4000.0, 100.0],
            [5000.0, 100.0],
            [5000.0, 700.0],
            [4000.0, 700.0],
            [4000.0, 500.0],
            [4500.0, 500.0],
            [4500.0, 300.0],
            [4000.0, 300.0],
            [4000.0, 100.0],
        ];
        let (_, cmds) = Geom::Polygons(vec![vec![u]]).clip_and_encode().unwrap();
        let polys = assert_valid(&cmds);
        assert_eq!(polys.len(), 2, "two arms: {polys:?}");
        let area: i64 = polys.iter().map(|p| ring_area(&p[0])).sum();
        assert_eq!(area, 2 * 2 * 160 * 200);
    }

    #[test]
    fn a_ring_touching_itself_after_the_snap_is_split() {
        // Two notches whose tips are half a unit apart: valid as given,
        // both tips snap to (50, 50) and the ring would touch itself.
        let ring = vec![
            [10.0, 10.0],
            [50.3, 50.0],
            [90.0, 10.0],
            [90.0, 90.0],
            [49.8, 50.4],
            [10.0, 90.0],
            [10.0, 10.0],
        ];
        {
            use geo::Validation;
            let before = geo::Polygon::new(
                geo::LineString::from(ring.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>()),
                vec![],
            );
            assert!(before.is_valid());
        }
        let (_, cmds) = Geom::Polygons(vec![vec![ring]]).clip_and_encode().unwrap();
        let polys = assert_valid(&cmds);
        assert_eq!(polys.len(), 2, "split at the touch: {polys:?}");
        let area: i64 = polys.iter().map(|p| ring_area(&p[0])).sum();
        // Two triangles with base 80 and height 40.
        assert_eq!(area, 2 * 2 * 80 * 40 / 2);
    }

    #[test]
    fn a_large_polygon_goes_through_the_overlay_unchanged() {
        // 400 vertices: past the size checked first, so always overlaid.
        let circle: Vec<Pt> = (0..=400)
            .map(|i| {
                let a = f64::from(i) * std::f64::consts::TAU / 400.0;
                [2000.0 + 1500.0 * a.cos(), 2000.0 + 1500.0 * a.sin()]
            })
            .collect();
        let g = Geom::Polygons(vec![vec![circle.clone(), square(1900.0, 2100.0)]]);
        let (_, cmds) = g.clip_and_encode().unwrap();
        let polys = assert_valid(&cmds);
        assert_eq!(polys.len(), 1);
        assert_eq!(polys[0].len(), 2, "the hole is kept");
        let snapped = snap_polygons(&[vec![circle, square(1900.0, 2100.0)]]);
        let area = |p: &GridPolygons| p.iter().flatten().map(|r| ring_area(r)).sum::<i64>();
        assert_eq!(area(&polys), area(&snapped));
    }

    #[test]
    fn a_back_tracking_spike_is_removed() {
        let ring = vec![
            [100.0, 100.0],
            [200.0, 100.0],
            [200.0, 150.0],
            [260.0, 150.2],
            [200.0, 150.4],
            [200.0, 200.0],
            [100.0, 200.0],
            [100.0, 100.0],
        ];
        let (_, cmds) = Geom::Polygons(vec![vec![ring]]).clip_and_encode().unwrap();
        let polys = assert_valid(&cmds);
        assert_eq!(polys.len(), 1);
        assert_eq!(ring_area(&polys[0][0]), 2 * 100 * 100);
    }

    #[test]
    fn a_polygon_covering_the_tile_becomes_the_buffered_square() {
        let g = Geom::Polygons(vec![vec![square(-10_000.0, 20_000.0)]]);
        let (kind, cmds) = g.clip_and_encode().unwrap();
        assert_eq!(kind, tile::GeomType::Polygon);
        // MoveTo(1), 2 params, LineTo(3), 6 params, ClosePath.
        assert_eq!(cmds.len(), 1 + 2 + 1 + 6 + 1);
        let mut r = dedup(clip_ring(&square(-10_000.0, 20_000.0), -64.0, 4160.0).iter().map(snap));
        if r.first() == r.last() {
            r.pop();
        }
        assert_eq!(r.len(), 4);
        assert_eq!(ring_area(&r).abs(), 2 * 4224 * 4224);
    }

    #[test]
    fn exterior_rings_are_positive_and_holes_negative() {
        // Counter-clockwise in y-down units, with a clockwise hole: both flipped.
        let outer: Vec<Pt> = square(100.0, 200.0).into_iter().rev().collect();
        let hole = square(120.0, 180.0);
        let g = Geom::Polygons(vec![vec![outer, hole]]);
        let (_, cmds) = g.clip_and_encode().unwrap();
        let rings = decode(&cmds);
        assert_eq!(rings.len(), 2);
        assert!(ring_area(&rings[0]) > 0 && ring_area(&rings[1]) < 0);
    }

    #[test]
    fn lines_are_cut_at_the_buffer_and_tiny_features_vanish() {
        let pieces = clip_line(&[[-500.0, 10.0], [100.0, 10.0], [100.0, 9000.0]], -64.0, 4160.0);
        assert_eq!(pieces, vec![vec![[-64.0, 10.0], [100.0, 10.0], [100.0, 4160.0]]]);
        let two = clip_line(
            &[[10.0, 10.0], [10.0, 9000.0], [20.0, 9000.0], [20.0, 10.0]],
            -64.0,
            4160.0,
        );
        assert_eq!(two.len(), 2);
        assert!(
            Geom::Polygons(vec![vec![square(10.0, 10.3)]])
                .clip_and_encode()
                .is_none()
        );
        assert!(Geom::Points(vec![[5000.0, 5.0]]).clip_and_encode().is_none());
    }
}
