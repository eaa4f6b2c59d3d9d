//! OGC API – Features Part 1 against a real PostGIS with the demo city:
//! the checks of the OGC test suite (ets-ogcapi-features10) that apply —
//! landing links, conformance, collection metadata, paging, bbox, datetime,
//! limit bounds, 400s and 404s — plus formats and visibility.

mod common;
mod ogc_support;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::TestDb;
use ogc_support::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn landing_page_links_and_conformance() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let landing = ok_json(&app, "/ogc").await;
    for rel in ["self", "service-desc", "conformance", "data"] {
        assert!(link(&landing, rel).is_some(), "landing page lacks rel={rel}");
    }
    assert!(link(&landing, "service-desc").unwrap().ends_with("/api/openapi.json"));
    assert!(link(&landing, "data").unwrap().ends_with("/ogc/collections"));
    let conformance = ok_json(&app, "/ogc/conformance").await;
    let classes: BTreeSet<&str> = conformance["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for uri in [
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
        "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
        "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    ] {
        assert!(classes.contains(uri), "missing conformance class {uri}");
    }
    // The tiles routes under /ogc declare theirs in the same document.
    for uri in [
        "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
        "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
        "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    ] {
        assert!(classes.contains(uri), "missing tiles conformance class {uri}");
    }
    for uri in geoportal::tiles::TILES_CONFORMANCE {
        assert!(classes.contains(uri), "missing tiles conformance class {uri}");
    }
    // Each class once.
    assert_eq!(classes.len(), conformance["conformsTo"].as_array().unwrap().len());
    // Only what is implemented: the OpenAPI document is 3.1, temporal
    // functions are partial.
    assert!(!classes.iter().any(|c| c.ends_with("/oas30")));
    assert!(!classes.iter().any(|c| c.ends_with("/temporal-functions")));
    // HTML for people, by Accept or f=.
    let (status, headers, body) = request(&app, "/ogc", Some("text/html,*/*;q=0.8")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(String::from_utf8(body).unwrap().contains("/ogc/collections"));
    let (status, headers, _) = request(&app, "/ogc/conformance?f=html", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
}

#[tokio::test(flavor = "multi_thread")]
async fn collections_describe_every_visible_layer_with_live_extents() {
    let (db, app) = demo().await;
    let doc = ok_json(&app, "/ogc/collections").await;
    let registry = common::registry(&db).await;
    let ids: Vec<&str> = doc["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = registry.visible_to(&[]).map(|l| l.id.as_str()).collect();
    assert_eq!(ids, expected);
    for c in doc["collections"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        assert!(c["title"].as_str().is_some_and(|t| !t.is_empty()), "{id}");
        assert_eq!(c["itemType"], "feature");
        assert_eq!(c["storageCrs"], "http://www.opengis.net/def/crs/OGC/1.3/CRS84");
        let crs: Vec<&str> = c["crs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for uri in [
            "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            "http://www.opengis.net/def/crs/EPSG/0/4326",
            "http://www.opengis.net/def/crs/EPSG/0/3857",
            "http://www.opengis.net/def/crs/EPSG/0/32635",
            "http://www.opengis.net/def/crs/EPSG/0/5561",
            "http://www.opengis.net/def/crs/EPSG/0/6384",
            "http://www.opengis.net/def/crs/EPSG/0/9836",
        ] {
            assert!(crs.contains(&uri), "{id} lacks {uri}");
        }
        let items = c["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "items" && l["type"] == "application/geo+json")
            .unwrap_or_else(|| panic!("{id}: no GeoJSON items link"));
        assert!(
            items["href"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/ogc/collections/{id}/items"))
        );
        assert!(
            link(c, "http://www.opengis.net/def/rel/ogc/1.0/queryables").is_some(),
            "{id} lacks queryables"
        );
        // Layers have tiles; registers without geometry do not.
        let register = registry.get(id).is_some_and(|l| !l.has_geometry());
        assert_eq!(
            link(c, "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector").is_none(),
            register,
            "{id}: tiles link"
        );
        // The collection resource says the same as the list.
        let one = ok_json(&app, &format!("/ogc/collections/{id}")).await;
        assert_eq!(&one, c, "{id}");
    }
    // Spatial extent from live rows, in CRS84; temporal from the temporal field.
    let plots = ok_json(&app, "/ogc/collections/land_plots").await;
    let bbox: Vec<f64> = plots["extent"]["spatial"]["bbox"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let (x1, y1, x2, y2): (f64, f64, f64, f64) = sqlx::query_as(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM \
         (SELECT ST_Extent(geom) e FROM land_plots WHERE deleted_at IS NULL) s",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    for (a, b) in bbox.iter().zip([x1, y1, x2, y2]) {
        assert!((a - b).abs() < 1e-9, "{bbox:?} vs {x1} {y1} {x2} {y2}");
    }
    assert!(x1 > 28.0 && x2 < 29.5 && y1 > 50.0 && y2 < 50.6, "lon/lat order");
    let (first, last): (String, String) = sqlx::query_as(
        "SELECT min(registered_at)::text, max(registered_at)::text FROM land_plots WHERE deleted_at IS NULL",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        plots["extent"]["temporal"]["interval"][0],
        serde_json::json!([format!("{first}T00:00:00Z"), format!("{last}T00:00:00Z")])
    );
    problem(&app, "/ogc/collections/no_such_layer", StatusCode::NOT_FOUND).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unpublished_layer_does_not_exist_for_the_public() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(common::layers_dir()).unwrap() {
        let path = entry.unwrap().path();
        let mut text = std::fs::read_to_string(&path).unwrap();
        if path.file_name().unwrap() == "water.toml" {
            text = text.replace("published = true", "published = false");
            assert!(text.contains("published = false"));
        }
        std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
    }
    let registry = geoportal::registry::Registry::load_dir(dir.path()).unwrap();
    let app = common::app_with(&db, registry);
    let doc = ok_json(&app, "/ogc/collections").await;
    let ids: Vec<&str> = doc["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&"water"), "{ids:?}");
    assert!(ids.contains(&"streets"));
    for uri in [
        "/ogc/collections/water",
        "/ogc/collections/water/items",
        "/ogc/collections/water/items/1",
        "/ogc/collections/water/queryables",
    ] {
        problem(&app, uri, StatusCode::NOT_FOUND).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn paging_returns_every_feature_exactly_once() {
    let (db, app) = demo().await;
    let total = count(&db, "SELECT count(*) FROM land_plots WHERE deleted_at IS NULL").await;
    assert!(total > 20, "demo too small: {total} plots");
    let (ids, pages) = all_ids(&app, "/ogc/collections/land_plots/items?limit=7").await;
    let unique: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a feature came twice");
    let expected: Vec<i64> = sqlx::query_scalar("SELECT id FROM land_plots WHERE deleted_at IS NULL ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(ids, expected);
    assert_eq!(pages.len() as i64, (total + 6) / 7);
    for (i, page) in pages.iter().enumerate() {
        assert_eq!(page["type"], "FeatureCollection");
        assert_eq!(page["numberMatched"], total);
        assert_eq!(page["numberReturned"], page["features"].as_array().unwrap().len());
        assert!(page["timeStamp"].as_str().unwrap().ends_with('Z'));
        assert!(link(page, "self").is_some());
        assert_eq!(link(page, "prev").is_some(), i > 0);
    }
    // prev goes back one page.
    let prev = link(&pages[2], "prev").unwrap();
    let back = ok_json(&app, prev.trim_start_matches("http://127.0.0.1:8080")).await;
    assert_eq!(ids_of(&back), ids_of(&pages[1]));
    // Beyond the end: an empty page, no next.
    let past = ok_json(&app, &format!("/ogc/collections/land_plots/items?offset={}", total + 5)).await;
    assert_eq!(past["numberReturned"], 0);
    assert!(link(&past, "next").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn limit_bounds_and_default() {
    let (db, app) = demo().await;
    let total = count(&db, "SELECT count(*) FROM addresses WHERE deleted_at IS NULL").await;
    let page = ok_json(&app, "/ogc/collections/addresses/items").await;
    assert_eq!(page["numberReturned"].as_i64().unwrap(), total.min(100));
    let page = ok_json(&app, "/ogc/collections/addresses/items?limit=10000").await;
    assert_eq!(page["numberReturned"].as_i64().unwrap(), total.min(10000));
    let page = ok_json(&app, "/ogc/collections/addresses/items?limit=1").await;
    assert_eq!(page["numberReturned"], 1);
    for bad in ["0", "10001", "-1", "ten", "1.5"] {
        let p = problem(
            &app,
            &format!("/ogc/collections/addresses/items?limit={bad}"),
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(p["detail"].as_str().unwrap().contains("limit"), "{p}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bbox_selects_what_postgis_intersects() {
    let (db, app) = demo().await;
    let sql = "SELECT count(*) FROM land_plots WHERE deleted_at IS NULL AND \
               ST_Intersects(geom, ST_MakeEnvelope(28.64, 50.24, 28.67, 50.26, 4326))";
    let expected = count(&db, sql).await;
    assert!(expected > 0);
    let page = ok_json(
        &app,
        "/ogc/collections/land_plots/items?bbox=28.64,50.24,28.67,50.26&limit=1",
    )
    .await;
    assert_eq!(page["numberMatched"], expected);
    // Every feature of all pages lies in the box, each once.
    let (ids, _) = all_ids(
        &app,
        "/ogc/collections/land_plots/items?bbox=28.64,50.24,28.67,50.26&limit=5",
    )
    .await;
    assert_eq!(ids.len() as i64, expected);
    // Six numbers: the heights are ignored.
    let page = ok_json(
        &app,
        "/ogc/collections/land_plots/items?bbox=28.64,50.24,-10,28.67,50.26,300&limit=1",
    )
    .await;
    assert_eq!(page["numberMatched"], expected);
    // A box far away matches nothing.
    let page = ok_json(&app, "/ogc/collections/land_plots/items?bbox=10,10,11,11").await;
    assert_eq!(page["numberMatched"], 0);
    for bad in ["1,2,3", "a,b,c,d", "28.67,50.24,28.64,50.26", "0,-95,1,1", "1,2,3,4,5"] {
        problem(
            &app,
            &format!("/ogc/collections/land_plots/items?bbox={bad}"),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn datetime_filters_the_temporal_field() {
    let (db, app) = demo().await;
    let matched = |v: Value| v["numberMatched"].as_i64().unwrap();
    // land_plots: registered_at is a date.
    let cases = [
        (
            "2024-01-01/2024-12-31",
            "registered_at BETWEEN '2024-01-01' AND '2024-12-31'",
        ),
        ("../2024-06-30", "registered_at <= '2024-06-30'"),
        ("2024-06-30/..", "registered_at >= '2024-06-30'"),
        ("2024-06-30/", "registered_at >= '2024-06-30'"),
    ];
    for (dt, sql) in cases {
        let expected = count(
            &db,
            &format!("SELECT count(*) FROM land_plots WHERE deleted_at IS NULL AND {sql}"),
        )
        .await;
        let page = ok_json(
            &app,
            &format!("/ogc/collections/land_plots/items?datetime={dt}&limit=1"),
        )
        .await;
        assert_eq!(matched(page), expected, "{dt}");
    }
    let day: String = sqlx::query_scalar(
        "SELECT registered_at::text FROM land_plots WHERE registered_at IS NOT NULL \
         GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let expected = count(
        &db,
        &format!("SELECT count(*) FROM land_plots WHERE deleted_at IS NULL AND registered_at = '{day}'"),
    )
    .await;
    let page = ok_json(&app, &format!("/ogc/collections/land_plots/items?datetime={day}")).await;
    assert_eq!(matched(page), expected);
    assert!(expected > 0);

    // appeals: created_at is a timestamptz; a date is a day in Kyiv.
    let public = "deleted_at IS NULL AND is_public AND status NOT IN ('submitted', 'spam')";
    let day: String = sqlx::query_scalar(&format!(
        "SELECT ((created_at AT TIME ZONE 'Europe/Kyiv')::date)::text FROM appeals WHERE {public} \
         GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    ))
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let expected = count(
        &db,
        &format!(
            "SELECT count(*) FROM appeals WHERE {public} AND (created_at AT TIME ZONE 'Europe/Kyiv')::date = '{day}'"
        ),
    )
    .await;
    let page = ok_json(&app, &format!("/ogc/collections/appeals/items?datetime={day}")).await;
    assert_eq!(matched(page), expected);
    let expected = count(
        &db,
        &format!(
            "SELECT count(*) FROM appeals WHERE {public} AND \
             created_at BETWEEN '2024-03-01T00:00:00Z' AND '2024-09-01T12:00:00Z'"
        ),
    )
    .await;
    let page = ok_json(
        &app,
        "/ogc/collections/appeals/items?datetime=2024-03-01T00:00:00Z/2024-09-01T12:00:00Z",
    )
    .await;
    assert_eq!(matched(page), expected);
    for bad in [
        "yesterday",
        "2024-02-30",
        "2024-05-02/2024-05-01",
        "..",
        "2024-01-01T10:00",
    ] {
        problem(
            &app,
            &format!("/ogc/collections/appeals/items?datetime={}", urlencode(bad)),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_and_unknown_parameters_are_400_and_missing_things_404() {
    let (_db, app) = demo().await;
    for uri in [
        "/ogc?foo=1",
        "/ogc/conformance?limit=1",
        "/ogc/collections?bbox=1,2,3,4",
        "/ogc/collections/land_plots?x=y",
        "/ogc/collections/land_plots/queryables?limit=1",
        "/ogc/collections/land_plots/items?foo=bar",
        "/ogc/collections/land_plots/items?limit=1&limit=2",
        "/ogc/collections/land_plots/items?f=xml",
        "/ogc/collections/land_plots?f=csv",
        "/ogc/collections/land_plots/items?crs=EPSG:1234",
        "/ogc/collections/land_plots/items?crs=nonsense",
        "/ogc/collections/land_plots/items?bbox-crs=EPSG:4326",
        "/ogc/collections/land_plots/items?offset=-1",
        "/ogc/collections/land_plots/items?properties=nope",
        "/ogc/collections/land_plots/items?sortby=nope",
        "/ogc/collections/land_plots/items?filter=area_ha%20%3E",
        "/ogc/collections/land_plots/items?filter-lang=sql&filter=1=1",
        "/ogc/collections/land_plots/items?area_ha=abc",
        "/ogc/collections/land_plots/items/1?limit=5",
        "/ogc/collections/land_plots/items/1?crs=EPSG:9999",
    ] {
        let p = problem(&app, uri, StatusCode::BAD_REQUEST).await;
        assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()), "{uri}: {p}");
    }
    let p = problem(
        &app,
        "/ogc/collections/land_plots/items?foo=bar",
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("foo"), "{p}");
    for uri in [
        "/ogc/collections/nope",
        "/ogc/collections/nope/items",
        "/ogc/collections/nope/queryables",
        "/ogc/collections/land_plots/items/999999999",
        "/ogc/collections/land_plots/items/not-a-number",
    ] {
        problem(&app, uri, StatusCode::NOT_FOUND).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_input_is_never_a_server_error() {
    let (_db, app) = demo().await;
    for uri in [
        "/ogc/collections/land_plots/items?offset=9223372036854775807&limit=10000",
        "/ogc/collections/land_plots/items?offset=99999999999999999999",
        "/ogc/collections/land_plots/items?bbox=1e300,1e300,1e301,1e301&bbox-crs=EPSG:9836",
        "/ogc/collections/land_plots/items?bbox=-1e308,-1e308,1e308,1e308&bbox-crs=EPSG:3857",
        "/ogc/collections/land_plots/items?filter=S_DWITHIN(geometry,%20POINT(0%201000),%205)",
        "/ogc/collections/land_plots/items?filter=S_INTERSECTS(geometry,%20POLYGON((0%200,%201%201,%200%201,%201%200,%200%200)))",
        "/ogc/collections/land_plots/items?filter=area_ha%20/%200%20%3E%201",
        "/ogc/collections/land_plots/items?filter=registered_at%20%3E%20TIMESTAMP('2024-01-01T00:00:00Z')",
        "/ogc/collections/land_plots/items?datetime=9999-12-31",
        "/ogc/collections/land_plots/items?datetime=0001-01-01/9999-12-31T23:59:59Z",
        "/ogc/collections/land_plots/items?sortby=,,",
        "/ogc/collections/land_plots/items?properties=,,",
        "/ogc/collections/land_plots/items?%ZZ=1",
        "/ogc/collections/land_plots/items/-1",
        "/ogc/collections/land_plots/items/99999999999999999999",
        "/ogc/collections/%3Cscript%3E/items",
    ] {
        let (status, _, body) = request(&app, uri, None).await;
        assert!(
            status.is_success() || status.is_client_error(),
            "{uri}: {status} {}",
            String::from_utf8_lossy(&body)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_feature_by_id() {
    let (db, app) = demo().await;
    let id: i64 = sqlx::query_scalar("SELECT min(id) FROM land_plots WHERE deleted_at IS NULL")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let (status, headers, body) = request(&app, &format!("/ogc/collections/land_plots/items/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/geo+json");
    assert_eq!(headers["content-crs"], "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>");
    let f: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(f["type"], "Feature");
    assert_eq!(f["id"], id);
    assert_eq!(f["geometry"]["type"], "MultiPolygon");
    let cadastral: String = sqlx::query_scalar("SELECT cadastral_number FROM land_plots WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(f["properties"]["cadastral_number"], cadastral);
    assert!(link(&f, "collection").is_some());
    // Valid GeoJSON for a strict parser.
    let parsed: geojson::Feature = serde_json::from_slice(&body).unwrap();
    assert!(parsed.geometry.is_some());
    // A soft-deleted feature no longer exists.
    sqlx::query("UPDATE land_plots SET deleted_at = now() WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    problem(
        &app,
        &format!("/ogc/collections/land_plots/items/{id}"),
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn properties_subset_and_sortby() {
    let (db, app) = demo().await;
    let page = ok_json(
        &app,
        "/ogc/collections/land_plots/items?properties=cadastral_number,area_ha&limit=50",
    )
    .await;
    for f in page["features"].as_array().unwrap() {
        let keys: Vec<&String> = f["properties"].as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!(f["properties"].get("cadastral_number").is_some());
        assert!(f["properties"].get("area_ha").is_some());
    }
    let page = ok_json(&app, "/ogc/collections/land_plots/items?properties=&limit=3").await;
    for f in page["features"].as_array().unwrap() {
        assert_eq!(f["properties"], serde_json::json!({}));
        assert!(f["geometry"].is_object());
    }
    // -area_ha: descending; ties keep id order, so pages stay consistent.
    let page = ok_json(&app, "/ogc/collections/land_plots/items?sortby=-area_ha&limit=10000").await;
    let got: Vec<i64> = ids_of(&page);
    let expected: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM land_plots WHERE deleted_at IS NULL ORDER BY area_ha DESC, id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(got, expected);
    // `+` arrives as a space unless encoded; both sort ascending.
    for sortby in ["+cadastral_number", "%2Bcadastral_number", "cadastral_number"] {
        let page = ok_json(
            &app,
            &format!("/ogc/collections/land_plots/items?sortby={sortby},-id&limit=10000"),
        )
        .await;
        let expected: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM land_plots WHERE deleted_at IS NULL ORDER BY cadastral_number, id DESC")
                .fetch_all(&db.pool)
                .await
                .unwrap();
        assert_eq!(ids_of(&page), expected, "{sortby}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn queryable_equality_parameters() {
    let (db, app) = demo().await;
    let expected = count(
        &db,
        "SELECT count(*) FROM land_plots WHERE deleted_at IS NULL AND ownership = 'communal' AND use_status = 'leased'",
    )
    .await;
    let page = ok_json(
        &app,
        "/ogc/collections/land_plots/items?ownership=communal&use_status=leased&limit=1",
    )
    .await;
    assert_eq!(page["numberMatched"], expected);
    let zone: i32 = sqlx::query_scalar("SELECT price_zone FROM land_plots WHERE price_zone IS NOT NULL LIMIT 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let expected = count(
        &db,
        &format!("SELECT count(*) FROM land_plots WHERE deleted_at IS NULL AND price_zone = {zone}"),
    )
    .await;
    let page = ok_json(
        &app,
        &format!("/ogc/collections/land_plots/items?price_zone={zone}&limit=1"),
    )
    .await;
    assert_eq!(page["numberMatched"], expected);
    problem(
        &app,
        "/ogc/collections/land_plots/items?price_zone=high",
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn queryables_are_a_json_schema_of_readable_attributes() {
    let (_db, app) = demo().await;
    let (status, headers, body) = request(&app, "/ogc/collections/land_plots/queryables", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/schema+json");
    let schema: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(schema["type"], "object");
    let props = schema["properties"].as_object().unwrap();
    assert_eq!(
        props["ownership"]["enum"],
        serde_json::json!(["state", "communal", "private", "unknown"])
    );
    assert_eq!(props["area_ha"]["type"], "number");
    assert_eq!(props["registered_at"]["format"], "date");
    assert_eq!(props["geometry"]["format"], "geometry-multipolygon");
    assert!(!props.contains_key("user_name"), "restricted attribute listed");
    assert!(!props.contains_key("user_edrpou"));
    let appeals = ok_json(&app, "/ogc/collections/appeals/queryables").await;
    let props = appeals["properties"].as_object().unwrap();
    assert_eq!(props["created_at"]["format"], "date-time");
    for personal in ["author_name", "phone", "email", "account_id", "contact_address"] {
        assert!(!props.contains_key(personal), "{personal} is queryable for the public");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_parses_with_one_row_per_feature() {
    let (db, app) = demo().await;
    let total = count(&db, "SELECT count(*) FROM land_plots WHERE deleted_at IS NULL").await;
    for (uri, accept) in [
        ("/ogc/collections/land_plots/items?f=csv&limit=10000", None),
        ("/ogc/collections/land_plots/items?limit=10000", Some("text/csv")),
    ] {
        let (status, headers, body) = request(&app, uri, accept).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
        let mut reader = csv::Reader::from_reader(body.as_slice());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
        assert_eq!(header.first().unwrap(), "id");
        assert_eq!(header.last().unwrap(), "geometry");
        assert!(header.contains(&"cadastral_number".to_string()));
        assert!(!header.contains(&"user_edrpou".to_string()));
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len() as i64, total);
        for r in &rows {
            assert_eq!(r.len(), header.len());
            assert!(r.get(header.len() - 1).unwrap().starts_with("MULTIPOLYGON"), "{r:?}");
        }
    }
    // Dates keep ISO 8601 with their offset in CSV.
    let (_, _, body) = request(
        &app,
        "/ogc/collections/appeals/items?f=csv&properties=created_at&limit=5",
        None,
    )
    .await;
    let mut reader = csv::Reader::from_reader(body.as_slice());
    for r in reader.records() {
        let r = r.unwrap();
        chrono::DateTime::parse_from_rfc3339(r.get(1).unwrap()).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn html_escapes_every_value() {
    let (db, app) = demo().await;
    let id: i64 = sqlx::query_scalar(
        "UPDATE land_plots SET address = '<script>alert(1)</script> & \"x\"' \
         WHERE id = (SELECT min(id) FROM land_plots) RETURNING id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    for uri in [
        "/ogc/collections/land_plots/items?f=html&limit=5".to_string(),
        format!("/ogc/collections/land_plots/items/{id}?f=html"),
    ] {
        let (status, headers, body) = request(&app, &uri, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
        let html = String::from_utf8(body).unwrap();
        assert!(!html.contains("<script>"), "{uri}: unescaped value");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;"),
            "{uri}"
        );
    }
    // A browser's Accept gets HTML too; every collection page renders.
    let (status, headers, _) = request(&app, "/ogc/collections/land_plots/items", Some("text/html")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    for uri in [
        "/ogc/collections?f=html",
        "/ogc/collections/appeals?f=html",
        "/ogc/collections/appeals/queryables?f=html",
    ] {
        let (status, _, _) = request(&app, uri, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn appeal_authors_never_appear_in_public_geojson_csv_or_html() {
    let (db, app) = demo().await;
    let public = count(
        &db,
        "SELECT count(*) FROM appeals WHERE deleted_at IS NULL AND is_public AND status NOT IN ('submitted', 'spam')",
    )
    .await;
    let all = count(&db, "SELECT count(*) FROM appeals WHERE deleted_at IS NULL").await;
    assert!(public > 0 && all > public);
    // The personal data of the authors of the appeals the public sees: the
    // rows that do go out must not carry it.
    let personal: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT author_name, phone, email FROM appeals \
         WHERE deleted_at IS NULL AND is_public AND status NOT IN ('submitted', 'spam')",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    // A sample is enough: a leak would be an exposed attribute, not one row
    // (the attribute check above covers every row).
    let all: BTreeSet<String> = personal
        .into_iter()
        .flat_map(|(a, p, e)| [Some(a), p, e])
        .flatten()
        .filter(|s| s.len() >= 6)
        .collect();
    let step = (all.len() / 100).max(1);
    let needles: Vec<String> = all.into_iter().step_by(step).collect();
    assert!(!needles.is_empty());
    let geojson = ok_json(&app, "/ogc/collections/appeals/items?limit=10000").await;
    assert_eq!(geojson["numberMatched"], public);
    for f in geojson["features"].as_array().unwrap() {
        for key in ["author_name", "phone", "email", "account_id", "contact_address"] {
            assert!(f["properties"].get(key).is_none(), "{key} is public");
        }
    }
    for uri in [
        "/ogc/collections/appeals/items?limit=10000",
        "/ogc/collections/appeals/items?limit=10000&f=csv",
        "/ogc/collections/appeals/items?limit=10000&f=html",
    ] {
        let (status, _, body) = request(&app, uri, None).await;
        assert_eq!(status, StatusCode::OK);
        let text = String::from_utf8(body).unwrap();
        for n in &needles {
            assert!(!text.contains(n.as_str()), "{uri} shows personal data: {n}");
            let escaped = geoportal::ogc::formats::html::esc(n);
            assert!(!text.contains(&escaped), "{uri} shows personal data: {n}");
        }
    }
    // Naming personal attributes anywhere is as if they did not exist.
    for uri in [
        "/ogc/collections/appeals/items?properties=author_name",
        "/ogc/collections/appeals/items?sortby=email",
        "/ogc/collections/appeals/items?phone=123",
        "/ogc/collections/appeals/items?filter=email%20IS%20NOT%20NULL",
    ] {
        problem(&app, uri, StatusCode::BAD_REQUEST).await;
    }
    // A private appeal is not found by id either.
    let private: i64 = sqlx::query_scalar("SELECT id FROM appeals WHERE NOT is_public LIMIT 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    problem(
        &app,
        &format!("/ogc/collections/appeals/items/{private}"),
        StatusCode::NOT_FOUND,
    )
    .await;
}
