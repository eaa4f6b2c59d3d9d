//! OGC API – Features Part 2 (CRS): output in every offered CRS matches
//! PostGIS's ST_Transform and PROJ's own `cs2cs`, in the EPSG axis order
//! (CRS84 lon/lat; EPSG:4326 and the Ukrainian systems north first);
//! `bbox-crs` and `filter-crs` select the same features as SQL.

mod common;
mod ogc_support;

use std::process::Command;

use axum::http::StatusCode;
use common::TestDb;
use ogc_support::*;
use serde_json::Value;

/// A point feature of the demo city and its lon/lat.
async fn a_point(db: &TestDb) -> (i64, f64, f64) {
    sqlx::query_as("SELECT id, ST_X(geom), ST_Y(geom) FROM addresses WHERE deleted_at IS NULL ORDER BY id LIMIT 1")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

async fn point_in(app: &axum::Router, id: i64, crs: &str) -> (Vec<f64>, String) {
    let (status, headers, body) = request(
        app,
        &format!("/ogc/collections/addresses/items/{id}?crs={}", urlencode(crs)),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{crs}: {}", String::from_utf8_lossy(&body));
    let f: Value = serde_json::from_slice(&body).unwrap();
    let coords = f["geometry"]["coordinates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    (coords, headers["content-crs"].to_str().unwrap().to_string())
}

/// PROJ's answer for lon/lat, in the target CRS's EPSG axis order.
fn cs2cs(lon: f64, lat: f64, epsg: i32) -> Option<(f64, f64)> {
    let mut child = Command::new("cs2cs")
        .args(["-d", "9", "EPSG:4326", &format!("EPSG:{epsg}")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    use std::io::Write;
    // EPSG:4326 input is latitude first.
    writeln!(child.stdin.take()?, "{lat} {lon}").ok()?;
    let out = child.wait_with_output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let mut nums = text.split_whitespace().map(|s| s.parse::<f64>());
    Some((nums.next()?.ok()?, nums.next()?.ok()?))
}

#[tokio::test(flavor = "multi_thread")]
async fn output_crs_matches_postgis_and_proj_in_epsg_axis_order() {
    let db = TestDb::new().await.with_demo(SCALE, SEED).await;
    let app = common::app(&db).await;
    let (id, lon, lat) = a_point(&db).await;

    // CRS84: lon, lat.
    let (c, crs) = point_in(&app, id, "http://www.opengis.net/def/crs/OGC/1.3/CRS84").await;
    assert_eq!(crs, "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>");
    assert!((c[0] - lon).abs() < 1e-7 && (c[1] - lat).abs() < 1e-7, "{c:?}");
    // EPSG:4326 and UCS-2000 geographic: lat, lon.
    for epsg in [4326, 5561] {
        let (c, crs) = point_in(&app, id, &format!("http://www.opengis.net/def/crs/EPSG/0/{epsg}")).await;
        assert_eq!(crs, format!("<http://www.opengis.net/def/crs/EPSG/0/{epsg}>"));
        assert!(
            c[0] > 49.0 && c[0] < 51.5 && c[1] > 27.5 && c[1] < 30.0,
            "{epsg}: {c:?} is not lat,lon"
        );
    }
    let (c, _) = point_in(&app, id, "EPSG:4326").await;
    assert!((c[0] - lat).abs() < 1e-7 && (c[1] - lon).abs() < 1e-7);

    let proj_available = cs2cs(28.6587, 50.2547, 9836).is_some();
    if !proj_available {
        eprintln!("cs2cs (proj-bin) not installed: comparing with PostGIS only");
    }
    // (epsg, north first)
    for (epsg, north_first) in [
        (3857, false),
        (32635, false),
        (5561, true),
        (5563, true),
        (6384, true),
        (9821, true),
        (9836, true),
        (9865, true),
    ] {
        let (x, y): (f64, f64) = sqlx::query_as(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(geom, $2) p FROM addresses WHERE id = $1) s",
        )
        .bind(id)
        .bind(epsg)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        let (c, crs) = point_in(&app, id, &format!("http://www.opengis.net/def/crs/EPSG/0/{epsg}")).await;
        assert_eq!(crs, format!("<http://www.opengis.net/def/crs/EPSG/0/{epsg}>"));
        let (first, second) = if north_first { (y, x) } else { (x, y) };
        let tolerance = if epsg == 5561 { 1e-7 } else { 2e-3 };
        assert!(
            (c[0] - first).abs() < tolerance && (c[1] - second).abs() < tolerance,
            "EPSG:{epsg}: {c:?} vs PostGIS ({first}, {second})"
        );
        if proj_available {
            let (a, b) = cs2cs(lon, lat, epsg).unwrap();
            assert!(
                (c[0] - a).abs() < tolerance && (c[1] - b).abs() < tolerance,
                "EPSG:{epsg}: {c:?} vs PROJ ({a}, {b})"
            );
        }
    }
    // Zhytomyr's local system: centre of the city near its central meridian
    // (28.5°E): easting close to the false easting of 300 km.
    let (c, _) = point_in(&app, id, "EPSG:9836").await;
    assert!((c[1] - 300_000.0).abs() < 30_000.0, "{c:?}");
    assert!(c[0] > 5_500_000.0, "{c:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_in_another_crs_keep_their_features_and_say_so() {
    let (db, app) = demo().await;
    let total = count(&db, "SELECT count(*) FROM land_plots WHERE deleted_at IS NULL").await;
    let (status, headers, body) = request(
        &app,
        "/ogc/collections/land_plots/items?crs=http://www.opengis.net/def/crs/EPSG/0/4326&limit=3",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-crs"], "<http://www.opengis.net/def/crs/EPSG/0/4326>");
    let page: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page["numberMatched"], total);
    let first = &page["features"][0];
    let (lat, lon): (f64, f64) = sqlx::query_as(
        "SELECT ST_Y(p), ST_X(p) FROM (SELECT ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1) p \
         FROM land_plots WHERE id = $1) s",
    )
    .bind(first["id"].as_i64().unwrap())
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let c = &first["geometry"]["coordinates"][0][0][0];
    assert!((c[0].as_f64().unwrap() - lat).abs() < 1e-7, "{c} vs lat {lat}");
    assert!((c[1].as_f64().unwrap() - lon).abs() < 1e-7, "{c} vs lon {lon}");
    // The next link keeps the crs.
    assert!(link(&page, "next").unwrap().contains("crs="));
    // CSV and HTML carry the header too; CSV's WKT is in metres for 9836.
    let (status, headers, body) = request(
        &app,
        "/ogc/collections/land_plots/items?f=csv&crs=EPSG:9836&limit=2",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-crs"], "<http://www.opengis.net/def/crs/EPSG/0/9836>");
    let mut reader = csv::Reader::from_reader(body.as_slice());
    let row = reader.records().next().unwrap().unwrap();
    let wkt = row.get(row.len() - 1).unwrap();
    assert!(wkt.starts_with("MULTIPOLYGON(((55"), "{wkt}");
    let (_, headers, _) = request(
        &app,
        "/ogc/collections/land_plots/items?f=html&crs=EPSG:3857&limit=2",
        None,
    )
    .await;
    assert_eq!(headers["content-crs"], "<http://www.opengis.net/def/crs/EPSG/0/3857>");
    // Default: CRS84 on every items response.
    let (_, headers, _) = request(&app, "/ogc/collections/land_plots/items?limit=1", None).await;
    assert_eq!(headers["content-crs"], "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>");
}

#[tokio::test(flavor = "multi_thread")]
async fn bbox_crs_and_filter_crs_select_like_sql() {
    let (db, app) = demo().await;
    let in_crs84 = count(
        &db,
        "SELECT count(*) FROM land_plots WHERE deleted_at IS NULL AND \
         ST_Intersects(geom, ST_MakeEnvelope(28.64, 50.24, 28.67, 50.26, 4326))",
    )
    .await;
    assert!(in_crs84 > 0);
    // The same box in EPSG:4326 is written lat,lon.
    let page = ok_json(
        &app,
        "/ogc/collections/land_plots/items?bbox=50.24,28.64,50.26,28.67&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326&limit=1",
    )
    .await;
    assert_eq!(page["numberMatched"], in_crs84);
    // A box in Zhytomyr's LCS (north, east order), against PostGIS.
    let (n1, e1, n2, e2) = (5_566_000.0, 309_000.0, 5_570_000.0, 313_000.0);
    let expected = count(
        &db,
        &format!(
            "SELECT count(*) FROM land_plots WHERE deleted_at IS NULL AND \
             ST_Intersects(geom, ST_Transform(ST_MakeEnvelope({e1}, {n1}, {e2}, {n2}, 9836), 4326))"
        ),
    )
    .await;
    assert!(expected > 0, "the LCS box misses the demo city");
    let page = ok_json(
        &app,
        &format!("/ogc/collections/land_plots/items?bbox={n1},{e1},{n2},{e2}&bbox-crs=EPSG:9836&limit=1"),
    )
    .await;
    assert_eq!(page["numberMatched"], expected);
    // filter-crs: a polygon in UTM 35N.
    let (x, y): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(28.6587, 50.2547), 4326), 32635) p) s",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let poly = format!(
        "POLYGON(({a} {b}, {c} {b}, {c} {d}, {a} {d}, {a} {b}))",
        a = x - 800.0,
        b = y - 800.0,
        c = x + 800.0,
        d = y + 800.0
    );
    let expected = count(
        &db,
        &format!(
            "SELECT count(*) FROM land_plots WHERE deleted_at IS NULL AND \
             ST_Intersects(geom, ST_Transform(ST_GeomFromText('{poly}', 32635), 4326))"
        ),
    )
    .await;
    assert!(expected > 0);
    let filter = urlencode(&format!("S_INTERSECTS(geometry, {poly})"));
    let page = ok_json(
        &app,
        &format!("/ogc/collections/land_plots/items?filter={filter}&filter-crs=EPSG:32635&limit=1"),
    )
    .await;
    assert_eq!(page["numberMatched"], expected);
    for uri in [
        "/ogc/collections/land_plots/items?crs=EPSG:9842",
        "/ogc/collections/land_plots/items?bbox=1,2,3,4&bbox-crs=EPSG:2000",
        "/ogc/collections/land_plots/items?filter=TRUE&filter-crs=EPSG:2000",
        "/ogc/collections/land_plots/items?crs=http://www.opengis.net/def/crs/EPSG/0/999999",
    ] {
        problem(&app, uri, StatusCode::BAD_REQUEST).await;
    }
}
