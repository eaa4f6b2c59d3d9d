//! The two tile engines make the same tiles: for every layer with geometry,
//! on sampled tiles of several zooms, the Rust engine (WKB clipped and
//! encoded in Rust) and the PostGIS engine (`ST_AsMVT`/`ST_AsMVTGeom`)
//! give the same layers, feature ids and attributes, and geometries alike:
//! every vertex inside the visible tile within 1.5 units of the other
//! outline (in the buffer the two clippers may cut differently; it is never
//! drawn), polygon area
//! and line length within what the one-unit simplification both apply can
//! move (half a unit along the outline). Both decoded with geozero. No
//! geometry of the Rust engine may be invalid by geo's OGC check.

mod common;
mod tiles_support;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::TestDb;
use geo::{Area, Euclidean, Length};
use geoportal::access::Viewer;
use geoportal::registry::{Layer, Role, TileEngine};
use geoportal::tiles::grid;
use geoportal::tiles::sql::{TileSpec, build};
use geozero::ToGeo;
use geozero::mvt::Message;
use tiles_support::*;

fn with_engine(layer: &Layer, engine: TileEngine) -> Arc<Layer> {
    let mut def = layer.def.clone();
    def.tile_engine = Some(engine);
    Arc::new(Layer::new(def, layer.file.clone()))
}

struct Shape {
    area: f64,
    length: f64,
    perimeter: f64,
    kind: i32,
    /// OGC-valid (geo's check): PostGIS makes polygons valid after the snap.
    valid: bool,
    /// Vertices and segments (polygon rings, lines; points as 0-length).
    vertices: Vec<(f64, f64)>,
    segments: Vec<((f64, f64), (f64, f64))>,
}

/// How far the vertices of `a` that lie inside the visible tile (one unit
/// in from its edge) are from the outline of `b`, at most.
fn farthest_visible_vertex(a: &Shape, b: &Shape) -> f64 {
    let seg_dist = |p: (f64, f64), (s, e): ((f64, f64), (f64, f64))| {
        let (dx, dy) = (e.0 - s.0, e.1 - s.1);
        let len2 = dx * dx + dy * dy;
        let t = if len2 == 0.0 {
            0.0
        } else {
            (((p.0 - s.0) * dx + (p.1 - s.1) * dy) / len2).clamp(0.0, 1.0)
        };
        ((p.0 - s.0 - t * dx).powi(2) + (p.1 - s.1 - t * dy).powi(2)).sqrt()
    };
    a.vertices
        .iter()
        .filter(|(x, y)| (1.0..=4095.0).contains(x) && (1.0..=4095.0).contains(y))
        .map(|p| b.segments.iter().map(|s| seg_dist(*p, *s)).fold(f64::MAX, f64::min))
        .fold(0.0, f64::max)
}

fn shapes(t: &geozero::mvt::Tile, name: &str) -> BTreeMap<u64, (BTreeMap<String, String>, Shape)> {
    let mut out = BTreeMap::new();
    let Some(l) = layer(t, name) else {
        return out;
    };
    for f in &l.features {
        let g = f.to_geo().expect("decodable geometry");
        let length = match &g {
            geo::Geometry::LineString(ls) => Euclidean.length(ls),
            geo::Geometry::MultiLineString(m) => m.0.iter().map(|ls| Euclidean.length(ls)).sum(),
            _ => 0.0,
        };
        let rings = |p: &geo::Polygon| {
            Euclidean.length(p.exterior()) + p.interiors().iter().map(|i| Euclidean.length(i)).sum::<f64>()
        };
        let perimeter = match &g {
            geo::Geometry::Polygon(p) => rings(p),
            geo::Geometry::MultiPolygon(m) => m.0.iter().map(rings).sum(),
            _ => 0.0,
        };
        use geo::CoordsIter;
        let vertices: Vec<(f64, f64)> = g.coords_iter().map(|c| (c.x, c.y)).collect();
        let mut lines: Vec<&geo::LineString> = Vec::new();
        match &g {
            geo::Geometry::Polygon(p) => lines.extend(std::iter::once(p.exterior()).chain(p.interiors())),
            geo::Geometry::MultiPolygon(m) => {
                for p in &m.0 {
                    lines.extend(std::iter::once(p.exterior()).chain(p.interiors()));
                }
            }
            geo::Geometry::LineString(l) => lines.push(l),
            geo::Geometry::MultiLineString(m) => lines.extend(&m.0),
            _ => {}
        }
        let mut segments: Vec<((f64, f64), (f64, f64))> = lines
            .iter()
            .flat_map(|l| l.lines())
            .map(|l| ((l.start.x, l.start.y), (l.end.x, l.end.y)))
            .collect();
        if segments.is_empty() {
            segments = vertices.iter().map(|v| (*v, *v)).collect();
        }
        let valid = {
            use geo::Validation;
            g.is_valid()
        };
        let shape = Shape {
            valid,
            vertices,
            segments,
            perimeter,
            area: g.unsigned_area(),
            length,
            kind: f.r#type.unwrap_or(0),
        };
        let id = f.id.expect("feature id");
        assert!(out.insert(id, (props(l, f), shape)).is_none(), "{name}: id {id} twice");
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rust_engine_makes_the_tiles_postgis_makes() {
    let db = TestDb::new().await.with_demo(0.05, 7).await;
    let registry = common::registry(&db).await;
    let staff = Viewer {
        roles: vec![Role::Admin],
        ..Viewer::default()
    };
    let (mut tiles, mut features, mut worst) = (0, 0, 0.0f64);
    let mut invalid = (0, 0);
    for l in registry.all().iter().filter(|l| l.has_geometry()) {
        let pg = [with_engine(l, TileEngine::Postgis)];
        let rs = [with_engine(l, TileEngine::Rust)];
        let bbox = extent(&db.pool, l.table()).await;
        let mut zooms = vec![l.minzoom, l.minzoom + 2, 16, 18];
        zooms.retain(|z| (l.minzoom..=l.maxzoom).contains(z));
        zooms.dedup();
        for z in zooms {
            // Up to 10 tiles spread over the layer's extent, edges included.
            let all: Vec<(u32, u32)> = grid::tiles_in(&bbox, z).collect();
            let step = (all.len() / 10).max(1);
            for &(x, y) in all.iter().step_by(step) {
                let spec = |layers| TileSpec {
                    layers,
                    z,
                    x,
                    y,
                    viewer: &staff,
                    filter: None,
                };
                let a = build(&db.pool, &spec(&pg)).await.unwrap();
                let b = build(&db.pool, &spec(&rs)).await.unwrap();
                let at = format!("{} z{z}/{x}/{y}", l.id);
                assert_eq!(a.is_empty(), b.is_empty(), "{at}: one engine's tile is empty");
                if a.is_empty() {
                    continue;
                }
                let (ta, tb) = (
                    geozero::mvt::Tile::decode(a.as_slice()).unwrap(),
                    geozero::mvt::Tile::decode(b.as_slice()).unwrap(),
                );
                let (la, lb) = (layer(&ta, &l.id).unwrap(), layer(&tb, &l.id).unwrap());
                assert_eq!((lb.version, lb.extent), (la.version, la.extent), "{at}");
                let (fa, fb) = (shapes(&ta, &l.id), shapes(&tb, &l.id));
                assert_eq!(
                    fa.keys().collect::<Vec<_>>(),
                    fb.keys().collect::<Vec<_>>(),
                    "{at}: feature ids differ"
                );
                for (id, (pa, sa)) in &fa {
                    let (pb, sb) = &fb[id];
                    assert_eq!(pa, pb, "{at}: attributes of {id}");
                    assert_eq!(sa.kind, sb.kind, "{at}: geometry type of {id}");
                    // Inside the tile the outlines agree to within what the
                    // one-unit simplification and the snap to the grid
                    // (≤ 0.71 units) can move a vertex.
                    let d = farthest_visible_vertex(sa, sb).max(farthest_visible_vertex(sb, sa));
                    assert!(d <= 2.0, "{at}: {id}: outlines {d} units apart");
                    worst = worst.max(d);
                    let tolerance = |v: f64| 2.0 + 0.02 * v;
                    assert!(
                        (sa.area - sb.area).abs() <= tolerance(sa.area) + 0.5 * sa.perimeter.max(sb.perimeter),
                        "{at}: {id}: area {} vs {}",
                        sa.area,
                        sb.area
                    );
                    assert!(
                        (sa.length - sb.length).abs() <= tolerance(sa.length),
                        "{at}: {id}: length {} vs {}",
                        sa.length,
                        sb.length
                    );
                }
                invalid.0 += fa.values().filter(|(_, s)| !s.valid).count();
                invalid.1 += fb.values().filter(|(_, s)| !s.valid).count();
                tiles += 1;
                features += fa.len();
            }
        }
    }
    eprintln!(
        "{tiles} tiles, {features} features, outlines at most {worst:.2} units apart; \
         invalid geometries: PostGIS engine {}, Rust engine {}",
        invalid.0, invalid.1
    );
    assert!(tiles > 100 && features > 2000, "{tiles} tiles, {features} features");
    // MVT 2.1 requires valid polygons; PostGIS makes them so, and so must we.
    assert_eq!(invalid.1, 0, "the Rust engine made {} invalid geometries", invalid.1);
}

/// Tile queries carry `geoportal_serial_plan()` (migration 0134): a
/// PARALLEL UNSAFE call rules parallel plans out for the query, so a tile
/// needs no transaction setting `max_parallel_workers_per_gather` first.
/// With parallel plans made as cheap as they can be, the tile's search
/// stays serial only with it.
#[tokio::test]
async fn tile_queries_are_planned_without_parallel_workers() {
    let db = TestDb::new().await.with_demo(0.05, 3).await;
    let mut conn = db.pool.acquire().await.unwrap();
    for setting in [
        "SET parallel_setup_cost = 0",
        "SET parallel_tuple_cost = 0",
        "SET min_parallel_table_scan_size = 0",
        "SET min_parallel_index_scan_size = 0",
        "SET max_parallel_workers_per_gather = 4",
        "SET enable_indexscan = off",
        "SET enable_bitmapscan = off",
    ] {
        sqlx::query(setting).execute(&mut *conn).await.unwrap();
    }
    let plan = |serial: bool| {
        format!(
            "EXPLAIN SELECT t.id, ST_AsBinary(t.geom) FROM land_plots t \
             WHERE t.geom && ST_MakeEnvelope(28.6, 50.2, 28.7, 50.3, 4326) {} AND t.deleted_at IS NULL",
            if serial { "AND geoportal_serial_plan()" } else { "" }
        )
    };
    let parallel: Vec<String> = sqlx::query_scalar(&plan(false)).fetch_all(&mut *conn).await.unwrap();
    let parallel = parallel.join("\n");
    assert!(
        parallel.contains("Gather"),
        "the settings invite a parallel plan:\n{parallel}"
    );
    let serial: Vec<String> = sqlx::query_scalar(&plan(true)).fetch_all(&mut *conn).await.unwrap();
    let serial = serial.join("\n");
    assert!(!serial.contains("Gather"), "the tile query stays serial:\n{serial}");
    assert!(serial.contains("geoportal_serial_plan"), "{serial}");
}
