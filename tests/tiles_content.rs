//! What a tile holds: layers and attributes from the registry (never a
//! restricted one), exactly the visible features of the tile and its buffer,
//! geometries inside extent + buffer, composites, clusters, filters, the
//! size bound, and 4xx for bad requests.

mod common;
mod tiles_support;

use common::TestDb;
use geoportal::tiles::grid;
use std::collections::BTreeSet;
use tiles_support::*;

const PUBLIC_APPEALS: &str = "t.deleted_at IS NULL AND t.is_public AND t.status NOT IN ('submitted', 'spam')";

#[tokio::test(flavor = "multi_thread")]
async fn tiles_hold_exactly_the_visible_features_with_registry_attributes() {
    let db = TestDb::new().await.with_demo(0.05, 7).await;
    let registry = common::registry(&db).await;
    let app = common::app(&db).await;
    let plots = registry.get("land_plots").unwrap();
    let public_tile_attrs: BTreeSet<String> = plots
        .attributes
        .iter()
        .filter(|a| a.tile && a.read.is_public())
        .map(|a| a.name.clone())
        .collect();
    assert!(!public_tile_attrs.is_empty());

    let bbox = extent(&db.pool, "land_plots").await;
    let mut checked = 0;
    let mut features = 0;
    for z in [13u8, 14, 15, 16] {
        for (x, y) in grid::tiles_in(&bbox, z) {
            let (lower, upper) = expected_range(&db.pool, "land_plots", "t.deleted_at IS NULL", z, x, y).await;
            let t = tile(&app, &format!("/tiles/land_plots/{z}/{x}/{y}.mvt")).await;
            let Some(t) = t else {
                assert_eq!(lower, 0, "z{z}/{x}/{y}: 204 but {lower}..={upper} plots");
                continue;
            };
            assert_eq!(t.layers.len(), 1);
            let l = layer(&t, "land_plots").expect("layer named as the registry id");
            assert_eq!(l.version, 2);
            assert_eq!(l.extent, Some(4096));
            let n = l.features.len() as i64;
            assert!(
                (lower..=upper).contains(&n),
                "z{z}/{x}/{y}: {n} features, PostGIS counts {lower}..={upper}"
            );
            let mut ids = BTreeSet::new();
            for f in &l.features {
                let id = f.id.expect("feature id set");
                assert!(ids.insert(id), "feature id {id} twice");
                for (vx, vy) in vertices(f) {
                    assert!(
                        (-64.0..=4160.0).contains(&vx) && (-64.0..=4160.0).contains(&vy),
                        "z{z}/{x}/{y}: vertex ({vx}, {vy}) outside extent + buffer"
                    );
                }
            }
            let keys = keys_used(l);
            assert!(keys.is_subset(&public_tile_attrs), "{keys:?} ⊄ {public_tile_attrs:?}");
            assert!(keys.contains("cadastral_number"));
            // The ids are the rows' ids, with their attributes.
            let f = &l.features[0];
            let cadastral: String = sqlx::query_scalar("SELECT cadastral_number::text FROM land_plots WHERE id = $1")
                .bind(f.id.unwrap() as i64)
                .fetch_one(&db.pool)
                .await
                .unwrap();
            assert_eq!(props(l, f)["cadastral_number"], cadastral);
            checked += 1;
            features += n;
        }
    }
    assert!(
        checked >= 4 && features > 50,
        "checked {checked} tiles, {features} features"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn appeal_authors_never_reach_public_tiles_and_clusters_add_up() {
    let db = TestDb::new().await.with_demo(0.05, 7).await;
    let registry = common::registry(&db).await;
    let app = common::app(&db).await;
    let appeals = registry.get("appeals").unwrap();
    let restricted: Vec<&str> = appeals
        .attributes
        .iter()
        .filter(|a| !a.read.is_public())
        .map(|a| a.name.as_str())
        .collect();
    assert!(restricted.contains(&"author_name") && restricted.contains(&"phone"));
    let below = appeals.cluster.as_ref().expect("appeals are clustered").below_zoom;
    let bbox = extent(&db.pool, "appeals").await;
    let (mut plain, mut clustered) = (0, 0);
    for z in appeals.minzoom..=17 {
        for (x, y) in grid::tiles_in(&bbox, z) {
            let (lower, upper) = expected_range(&db.pool, "appeals", PUBLIC_APPEALS, z, x, y).await;
            let Some(t) = tile(&app, &format!("/tiles/appeals/{z}/{x}/{y}.mvt")).await else {
                assert_eq!(lower, 0, "z{z}/{x}/{y}: 204 but {lower}..={upper} appeals");
                continue;
            };
            let l = layer(&t, "appeals").unwrap();
            let keys = keys_used(l);
            for r in &restricted {
                assert!(!keys.contains(*r), "restricted `{r}` in a public tile");
            }
            // No personal data in any value either.
            let authors: Vec<String> = sqlx::query_scalar("SELECT author_name FROM appeals LIMIT 200")
                .fetch_all(&db.pool)
                .await
                .unwrap();
            for v in &l.values {
                if let Some(s) = &v.string_value {
                    assert!(!authors.contains(s), "an author's name in a tile");
                }
            }
            if z < below {
                assert_eq!(keys, BTreeSet::from(["count".to_string(), "category".to_string()]));
                let total: i64 = l
                    .features
                    .iter()
                    .map(|f| props(l, f)["count"].parse::<i64>().unwrap())
                    .sum();
                assert!(
                    (lower..=upper).contains(&total),
                    "z{z}/{x}/{y}: clusters count {total}, PostGIS {lower}..={upper}"
                );
                // The dominant category of a one-appeal cluster is that appeal's.
                clustered += 1;
            } else {
                let n = l.features.len() as i64;
                assert!(
                    (lower..=upper).contains(&n),
                    "z{z}/{x}/{y}: {n} appeals, PostGIS {lower}..={upper}"
                );
                let allowed: BTreeSet<String> = appeals
                    .attributes
                    .iter()
                    .filter(|a| a.tile && a.read.is_public())
                    .map(|a| a.name.clone())
                    .collect();
                assert!(keys.is_subset(&allowed));
                assert!(keys.contains("category") && keys.contains("status"));
                plain += 1;
            }
        }
    }
    assert!(plain > 0 && clustered > 0, "plain {plain}, clustered {clustered}");
}

#[tokio::test(flavor = "multi_thread")]
async fn composites_filters_size_and_bad_requests() {
    let db = TestDb::new().await.with_demo(0.05, 7).await;
    let app = common::app(&db).await;
    let bbox = extent(&db.pool, "land_plots").await;
    let centre = ((bbox.min_x + bbox.max_x) / 2.0, (bbox.min_y + bbox.max_y) / 2.0);
    let point = geoportal::tiles::Bbox::new(centre.0, centre.1, centre.0, centre.1);
    let (x, y) = grid::tiles_in(&point, 15).next().unwrap();

    // A composite has one layer per requested layer (those in their zooms).
    let t = tile(
        &app,
        &format!("/tiles/land_plots,buildings,streets,appeals/15/{x}/{y}.mvt"),
    )
    .await
    .expect("features in the centre");
    let names: BTreeSet<&str> = t.layers.iter().map(|l| l.name.as_str()).collect();
    for n in ["land_plots", "buildings", "streets"] {
        assert!(names.contains(n), "{n} missing from {names:?}");
    }
    let alone = tile(&app, &format!("/tiles/land_plots/15/{x}/{y}.mvt")).await.unwrap();
    assert_eq!(
        layer(&t, "land_plots").unwrap().features.len(),
        layer(&alone, "land_plots").unwrap().features.len()
    );

    // A filter changes the tile as the same condition changes the SQL count.
    for (query, sql) in [
        ("filter=ownership%20%3D%20'communal'", "t.ownership = 'communal'"),
        ("use_status=leased", "t.use_status = 'leased'"),
        (
            "use_status=leased&use_status=free",
            "t.use_status IN ('leased', 'free')",
        ),
        ("filter=area_ha%20%3E%200.1", "t.area_ha > 0.1"),
    ] {
        let (lower, upper) = expected_range(
            &db.pool,
            "land_plots",
            &format!("t.deleted_at IS NULL AND {sql}"),
            15,
            x,
            y,
        )
        .await;
        let n = tile(&app, &format!("/tiles/land_plots/15/{x}/{y}.mvt?{query}"))
            .await
            .map_or(0, |t| t.layers[0].features.len() as i64);
        assert!(
            (lower..=upper).contains(&n),
            "{query}: {n} features, PostGIS {lower}..={upper}"
        );
        assert!(
            n < layer(&alone, "land_plots").unwrap().features.len() as i64,
            "{query} filters nothing"
        );
    }

    // No tile over 500 KB at any zoom over the city.
    let mut largest = 0;
    for z in 8..=16u8 {
        for (x, y) in grid::tiles_in(&bbox, z) {
            let r = request(
                &app,
                &format!("/tiles/land_plots,buildings,streets,appeals,water,city_boundary,electoral_districts,communal_property,investment_sites/{z}/{x}/{y}.mvt"),
                &[],
            )
            .await;
            assert!(r.status.is_success(), "z{z}: {}", r.status);
            largest = largest.max(r.body.len());
        }
    }
    assert!(largest > 0 && largest < 500 * 1024, "largest tile {largest} bytes");

    // Bad requests: problem+json, 4xx.
    for (uri, status) in [
        ("/tiles/nope/14/1/1.mvt", 404),
        ("/tiles/land_plots,nope/14/1/1.mvt", 404),
        ("/tiles/land_plots,land_plots/14/1/1.mvt", 400),
        ("/tiles/land_plots/14/99999/1.mvt", 404),
        ("/tiles/land_plots/25/0/0.mvt", 404),
        ("/tiles/land_plots/a/0/0.mvt", 400),
        ("/tiles/land_plots/14/1/1.mvt?colour=red", 400),
        ("/tiles/land_plots/14/1/1.mvt?user_edrpou=12345678", 400),
        ("/tiles/land_plots/14/1/1.mvt?filter=ownership%20%3D", 400),
        ("/tiles/land_plots/14/1/1.mvt?filter=nope%20%3D%201", 400),
        ("/tiles/land_plots/14/1/1.mvt?area_ha=big", 400),
        ("/tiles/appeals/14/1/1.mvt?filter=author_name%20%3D%20'x'", 400),
        ("/tiles/nope", 404),
        ("/ogc/collections/nope/tiles", 404),
        ("/ogc/collections/land_plots/tiles/WebMercatorQuad/14/1/99999", 404),
        ("/ogc/collections/land_plots/tiles/WebMercatorQuad/14/1/1?f=png", 400),
    ] {
        let r = request(&app, uri, &[]).await;
        assert_eq!(r.status.as_u16(), status, "{uri}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.headers["content-type"], "application/problem+json", "{uri}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_that_sees_other_rows_gets_its_own_tiles() {
    use geoportal::access::Viewer;
    use geoportal::registry::Role;
    use geoportal::tiles::sql::{TileSpec, build};
    let db = TestDb::new().await.with_demo(0.03, 7).await;
    let registry = common::registry(&db).await;
    let appeals = vec![registry.get("appeals").unwrap().clone()];
    let operator = Viewer {
        roles: vec![Role::AppealsOperator],
        ..Viewer::default()
    };
    let bbox = extent(&db.pool, "appeals").await;
    let (x, y) = grid::tiles_in(&bbox, 15)
        .nth(grid::count_in(&bbox, 15) as usize / 2)
        .unwrap();
    async fn tile_for(
        pool: &sqlx::PgPool,
        layers: &[std::sync::Arc<geoportal::registry::Layer>],
        (x, y): (u32, u32),
        viewer: &Viewer,
    ) -> geozero::mvt::Tile {
        use geozero::mvt::Message;
        let spec = TileSpec {
            layers,
            z: 15,
            x,
            y,
            viewer,
            filter: None,
        };
        let raw = build(pool, &spec).await.unwrap();
        geozero::mvt::Tile::decode(raw.as_slice()).unwrap()
    }
    let public = tile_for(&db.pool, &appeals, (x, y), &Viewer::anonymous()).await;
    let staff = tile_for(&db.pool, &appeals, (x, y), &operator).await;
    let (p, s) = (layer(&public, "appeals"), layer(&staff, "appeals").unwrap());
    // Operators see every live appeal, the public only the consented ones;
    // no appeal attribute is both tile = true and restricted today, so the
    // attribute sets agree.
    assert!(s.features.len() > p.map_or(0, |l| l.features.len()));
    assert!(!keys_used(s).contains("author_name"));
    // And the cache keys differ, so neither is served the other's tile.
    assert_ne!(
        geoportal::tiles::viewer_variant(&appeals, &Viewer::anonymous()),
        geoportal::tiles::viewer_variant(&appeals, &operator)
    );
}
