//! The two tile engines make the same tiles: for every layer with geometry,
//! on sampled tiles of several zooms, the Rust engine (WKB clipped and
//! encoded in Rust) and the PostGIS engine (`ST_AsMVT`/`ST_AsMVTGeom`)
//! give the same layers, feature ids and attributes, and geometries alike:
//! bounding boxes within a tile unit inside the visible tile (in the buffer
//! the two clippers may cut differently; it is never drawn), polygon area
//! and line length within what the one-unit simplification both apply can
//! move (half a unit along the outline). Both decoded with geozero.

mod common;
mod tiles_support;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::TestDb;
use geo::{Area, BoundingRect, Euclidean, Length};
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
    bbox: [f64; 4],
    area: f64,
    length: f64,
    perimeter: f64,
    kind: i32,
}

fn shapes(t: &geozero::mvt::Tile, name: &str) -> BTreeMap<u64, (BTreeMap<String, String>, Shape)> {
    let mut out = BTreeMap::new();
    let Some(l) = layer(t, name) else {
        return out;
    };
    for f in &l.features {
        let g = f.to_geo().expect("decodable geometry");
        let r = g.bounding_rect().expect("non-empty geometry");
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
        let visible = |v: f64| v.clamp(0.0, 4096.0);
        let shape = Shape {
            bbox: [
                visible(r.min().x),
                visible(r.min().y),
                visible(r.max().x),
                visible(r.max().y),
            ],
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
    let (mut tiles, mut features) = (0, 0);
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
                    // A part wholly in the buffer clamps to a line of the edge.
                    let shown = |b: &[f64; 4]| b[2] > b[0] && b[3] > b[1] || sa.kind == 1;
                    for k in (0..4).filter(|_| shown(&sa.bbox) || shown(&sb.bbox)) {
                        assert!(
                            (sa.bbox[k] - sb.bbox[k]).abs() <= 1.0,
                            "{at}: {id}: bbox {:?} vs {:?}",
                            sa.bbox,
                            sb.bbox
                        );
                    }
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
                tiles += 1;
                features += fa.len();
            }
        }
    }
    assert!(tiles > 100 && features > 2000, "{tiles} tiles, {features} features");
}
