//! The HTTP side of tiles: TileJSON 3.0.0 with a data version that follows
//! the data, the catalogue, OGC API – Tiles, ETag/304, content codings and
//! the empty tile.

mod common;
mod tiles_support;

use std::io::Read;

use common::TestDb;
use geoportal::tiles::grid;
use tiles_support::*;

#[tokio::test(flavor = "multi_thread")]
async fn tilejson_catalogue_and_ogc_describe_the_registry() {
    let db = TestDb::new().await.with_demo(0.03, 3).await;
    let registry = common::registry(&db).await;
    let app = common::app(&db).await;

    let (status, tj) = common::get_json(&app, "/tiles/land_plots,appeals?use_status=leased").await;
    assert_eq!(status, 400, "appeals have no use_status: {tj}");
    let (status, tj) = common::get_json(&app, "/tiles/land_plots,appeals").await;
    assert_eq!(status, 200, "{tj}");
    assert_eq!(tj["tilejson"], "3.0.0");
    assert_eq!(tj["minzoom"], 11);
    assert_eq!(tj["maxzoom"], 22);
    let url = tj["tiles"][0].as_str().unwrap();
    assert!(url.contains("/tiles/land_plots,appeals/{z}/{x}/{y}.mvt?v="), "{url}");
    let b: Vec<f64> = serde_json::from_value(tj["bounds"].clone()).unwrap();
    let ext = extent(&db.pool, "land_plots").await;
    assert!(b[0] <= ext.min_x && b[2] >= ext.max_x && b[1] <= ext.min_y && b[3] >= ext.max_y);
    assert!(tj["center"][0].as_f64().unwrap() > b[0] && tj["center"][0].as_f64().unwrap() < b[2]);
    assert!(tj["attribution"].as_str().unwrap().contains("земельних"));
    assert!(!tj["name"].as_str().unwrap().is_empty());
    for (i, id) in ["land_plots", "appeals"].iter().enumerate() {
        let vl = &tj["vector_layers"][i];
        let layer = registry.get(id).unwrap();
        assert_eq!(vl["id"], *id);
        assert_eq!(vl["minzoom"], layer.minzoom);
        let fields: Vec<&String> = vl["fields"].as_object().unwrap().keys().collect();
        let expected: Vec<&String> = layer
            .attributes
            .iter()
            .filter(|a| a.tile && a.read.is_public())
            .map(|a| &a.name)
            .collect();
        let mut f = fields.clone();
        f.sort();
        let mut e = expected.clone();
        e.sort();
        assert_eq!(f, e, "{id}");
    }
    assert_eq!(tj["vector_layers"][1]["cluster_below_zoom"], 15);

    // The data version follows the data.
    let v1 = tj["data_version"].as_str().unwrap().to_string();
    let (_, again) = common::get_json(&app, "/tiles/land_plots,appeals").await;
    assert_eq!(again["data_version"], v1.as_str());
    sqlx::query("UPDATE land_plots SET area_ha = area_ha WHERE id = (SELECT min(id) FROM land_plots)")
        .execute(&db.pool)
        .await
        .unwrap();
    let (_, after) = common::get_json(&app, "/tiles/land_plots,appeals").await;
    assert_ne!(after["data_version"], v1.as_str());
    let (_, buildings) = common::get_json(&app, "/tiles/buildings").await;
    sqlx::query("UPDATE appeals SET priority = priority WHERE id = (SELECT min(id) FROM appeals)")
        .execute(&db.pool)
        .await
        .unwrap();
    let (_, buildings2) = common::get_json(&app, "/tiles/buildings").await;
    assert_eq!(
        buildings["data_version"], buildings2["data_version"],
        "another table's change"
    );

    // A filter is carried into the tile URL.
    let (status, f) = common::get_json(&app, "/tiles/land_plots?ownership=communal").await;
    assert_eq!(status, 200);
    assert!(f["tiles"][0].as_str().unwrap().contains("ownership=communal"));

    // Catalogue.
    let (status, cat) = common::get_json(&app, "/tiles").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = cat["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    // Every published layer with geometry (registers have no tiles).
    let published: Vec<&str> = registry
        .visible_to(&[])
        .filter(|l| l.has_geometry())
        .map(|l| l.id.as_str())
        .collect();
    assert_eq!(ids, published);

    // OGC API – Tiles.
    let (status, tms) = common::get_json(&app, "/ogc/tileMatrixSets").await;
    assert_eq!(status, 200);
    assert_eq!(tms["tileMatrixSets"][0]["id"], "WebMercatorQuad");
    let (_, wmq) = common::get_json(&app, "/ogc/tileMatrixSets/WebMercatorQuad").await;
    assert_eq!(wmq["tileMatrices"].as_array().unwrap().len(), 25);
    assert_eq!(wmq["tileMatrices"][14]["matrixWidth"], 16384);
    let (status, sets) = common::get_json(&app, "/ogc/collections/land_plots/tiles").await;
    assert_eq!(status, 200);
    assert_eq!(sets["tilesets"][0]["dataType"], "vector");
    let (status, set) = common::get_json(&app, "/ogc/collections/land_plots/tiles/WebMercatorQuad").await;
    assert_eq!(status, 200);
    assert!(set["layers"][0]["propertiesSchema"]["properties"]["cadastral_number"].is_object());
    assert!(set["layers"][0]["propertiesSchema"]["properties"]["user_edrpou"].is_null());
    assert!(geoportal::tiles::TILES_CONFORMANCE.contains(&"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core"));

    // The OGC tile is the /tiles tile (row = y, col = x).
    let centre = geoportal::tiles::Bbox::new(
        (ext.min_x + ext.max_x) / 2.0,
        (ext.min_y + ext.max_y) / 2.0,
        (ext.min_x + ext.max_x) / 2.0,
        (ext.min_y + ext.max_y) / 2.0,
    );
    let (x, y) = grid::tiles_in(&centre, 15).next().unwrap();
    let a = request(&app, &format!("/tiles/land_plots/15/{x}/{y}.mvt"), &[]).await;
    let b = request(
        &app,
        &format!("/ogc/collections/land_plots/tiles/WebMercatorQuad/15/{y}/{x}?f=mvt"),
        &[],
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, b.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn etag_304_codings_and_the_empty_tile() {
    let db = TestDb::new().await.with_demo(0.03, 3).await;
    let app = common::app(&db).await;
    let ext = extent(&db.pool, "land_plots").await;
    let centre = geoportal::tiles::Bbox::new(
        (ext.min_x + ext.max_x) / 2.0,
        (ext.min_y + ext.max_y) / 2.0,
        (ext.min_x + ext.max_x) / 2.0,
        (ext.min_y + ext.max_y) / 2.0,
    );
    let (x, y) = grid::tiles_in(&centre, 15).next().unwrap();
    let uri = format!("/tiles/land_plots/15/{x}/{y}.mvt");
    let plain = request(&app, &uri, &[]).await;
    assert_eq!(plain.status, 200);
    assert!(plain.headers.get("content-encoding").is_none());
    assert_eq!(plain.headers["cache-control"], "no-cache");
    let etag = plain.headers["etag"].to_str().unwrap().to_string();

    let not_modified = request(&app, &uri, &[("if-none-match", &etag)]).await;
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());
    assert_eq!(not_modified.headers["etag"], etag.as_str());
    let other = request(&app, &uri, &[("if-none-match", "W/\"something-else\"")]).await;
    assert_eq!(other.status, 200);

    let gz = request(&app, &uri, &[("accept-encoding", "gzip")]).await;
    assert_eq!(gz.headers["content-encoding"], "gzip");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gz.body.as_slice())
        .read_to_end(&mut raw)
        .unwrap();
    assert_eq!(raw, plain.body);
    let br = request(&app, &uri, &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(br.headers["content-encoding"], "br");
    let mut raw = Vec::new();
    brotli::Decompressor::new(br.body.as_slice(), 4096)
        .read_to_end(&mut raw)
        .unwrap();
    assert_eq!(raw, plain.body);
    assert_eq!(br.headers["etag"], etag.as_str());

    // Empty: 204, no body. Far from the city, and outside a layer's zooms.
    for uri in [
        "/tiles/land_plots/16/0/0.mvt",
        &format!("/tiles/land_plots/5/{}/{}.mvt", x >> 10, y >> 10),
    ] {
        let empty = request(&app, uri, &[]).await;
        assert_eq!(empty.status, 204, "{uri}");
        assert!(empty.body.is_empty());
    }
}
