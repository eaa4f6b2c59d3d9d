//! Analytics (issue 7) against a small hand-made city with known answers:
//! four electoral districts side by side (D1 | D2, D3, D4 empty), two
//! administrative districts, appeals including one exactly on the D1/D2
//! border, spam and a deleted one; property, land, ads, energy, budget.
//! Areas are checked against the `geo` crate's geodesic area.

mod common;
mod editing_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use geo::{GeodesicArea, Intersects, Point, Rect};
use geozero::mvt::{Message, Tile};
use serde_json::Value;

use common::TestDb;

/// Lon/lat of the appeals, to check no private location leaks.
const A1: (f64, f64) = (30.009, 50.005);
const A2: (f64, f64) = (30.0093, 50.0052);
const A3: (f64, f64) = (30.01, 50.005); // on the D1/D2 and A1/A2 border
const A4: (f64, f64) = (30.015, 50.005);

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> String {
    format!("ST_GeomFromText('MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))', 4326)")
}

fn point(p: (f64, f64)) -> String {
    format!("ST_SetSRID(ST_MakePoint({}, {}), 4326)", p.0, p.1)
}

fn fixture() -> String {
    let d = |id: i64, x0: f64, x1: f64, pop: i64| {
        format!(
            "INSERT INTO electoral_districts (id, number, name, convocation, valid_from, population, voters, geom) \
             VALUES ({id}, {id}, 'D{id}', 8, '2020-10-25', {pop}, {pop}, {});",
            square(x0, 50.0, x1, 50.01)
        )
    };
    let appeal = |id: i64, p: (f64, f64), category: &str, status: &str, times: &str, extra: &str| {
        format!(
            "INSERT INTO appeals (id, public_number, kind, category, description, status, created_at, registered_at, \
             due_at, resolved_at, executor_id, author_name, phone, is_public, geom{extra_cols}) VALUES \
             ({id}, 'ZH-2025-{id:06}', 'complaint', '{category}', 'SECRET-TEXT-{id}', '{status}', {times}, \
             {exec}, 'Private Person {id}', '+380500000{id:03}', false, {pt}{extra});",
            extra_cols = if extra.is_empty() {
                ""
            } else {
                ", electoral_district_id"
            },
            exec = if id == 4 { 2 } else { 1 },
            pt = point(p),
        )
    };
    let mut s = String::new();
    s += &d(1, 30.00, 30.01, 1000);
    s += &d(2, 30.01, 30.02, 2000);
    s += &d(3, 30.03, 30.04, 500);
    s += &d(4, 30.05, 30.06, 100);
    s += &format!(
        "INSERT INTO admin_districts (id, name, population, geom) VALUES (1, 'A1', 1000, {}), (2, 'A2', 2600, {});",
        square(30.00, 50.0, 30.01, 50.01),
        square(30.01, 50.0, 30.06, 50.01)
    );
    s += "INSERT INTO executors (id, name, kind) VALUES (1, 'E1', 'department'), (2, 'E2', 'enterprise');";
    // a1 answered in 10 days, on time; a2 answered in 40 days, late;
    // a3 on the border, overdue; a4 in D2 but assigned to D3 by the
    // operator, created 22:30 UTC = 00:30 Kyiv the next day; a5 spam; a6 deleted.
    s += &appeal(
        1,
        A1,
        "roads.potholes",
        "answered",
        "'2025-01-01T08:00Z', '2025-01-01T09:00Z', '2025-01-31T09:00Z', '2025-01-11T09:00Z'",
        "",
    );
    s += &appeal(
        2,
        A2,
        "housing",
        "answered",
        "'2025-01-02T08:00Z', '2025-01-02T09:00Z', '2025-02-01T09:00Z', '2025-02-11T09:00Z'",
        "",
    );
    s += &appeal(
        3,
        A3,
        "roads",
        "in_progress",
        "'2025-01-08T08:00Z', '2025-01-08T09:00Z', '2025-01-20T00:00Z', NULL",
        "",
    );
    s += &appeal(
        4,
        A4,
        "housing",
        "registered",
        "'2025-01-08T22:30Z', '2025-01-08T23:00Z', '2099-01-01T00:00Z', NULL",
        ", 3",
    );
    s += &appeal(
        5,
        (30.016, 50.006),
        "waste",
        "spam",
        "'2025-01-03T08:00Z', NULL, NULL, NULL",
        "",
    );
    s += &appeal(
        6,
        (30.017, 50.006),
        "waste",
        "submitted",
        "'2025-01-03T08:00Z', NULL, NULL, NULL",
        "",
    );
    s += "UPDATE appeals SET deleted_at = now() WHERE id = 6;";
    // property: P1 leased (arrears 500), P2 vacant in D1; P3 vacant in D2
    s += &format!(
        "INSERT INTO communal_property (id, inventory_number, name, kind, area_m2, balance_holder_name, use_status, geom) VALUES \
         (1, 'INV-1', 'P1', 'premises', 100, 'Holder A', 'leased', {}), \
         (2, 'INV-2', 'P2', 'premises', 50, 'Holder A', 'vacant', {}), \
         (3, 'INV-3', 'P3', 'building', 70, 'Holder B', 'vacant', {});",
        point((30.002, 50.002)),
        point((30.003, 50.003)),
        point((30.012, 50.003))
    );
    s += "INSERT INTO leases (id, property_id, tenant_name, tenant_category, contract_number, start_date, end_date, \
          leased_area_m2, monthly_rent_uah) VALUES (1, 1, 'Tenant LLC', 'business', 'L-1', '2024-01-01', '2099-12-31', 80, 1000);\
          INSERT INTO accruals (lease_id, period, amount_uah) VALUES (1, '2025-01-01', 1000), (1, '2025-02-01', 1000);\
          INSERT INTO payments (lease_id, paid_on, amount_uah) VALUES (1, '2025-01-10', 1500);";
    // land: LP1 across the D1/D2 border, LP2 overlapping LP1's east end
    // with a foreign KOATUU and a wrong declared area
    s += &format!(
        "INSERT INTO land_plots (id, cadastral_number, area_ha, purpose_code, ownership, use_status, geom) VALUES \
         (1, '1810100000:01:001:0001', 1, '02.01', 'communal', 'in_use', {}), \
         (2, '1810100001:01:001:0002', 1, '03.07', 'private', 'free', {});\
         UPDATE land_plots SET area_ha = round((ST_Area(geom::geography) / 10000)::numeric, 4) WHERE id = 1;",
        square(30.005, 50.0, 30.015, 50.001),
        square(30.014, 50.0, 30.016, 50.001)
    );
    // ads: AD1 and AD2 billboards ~21 m apart, AD2 expired; AD3 unauthorized; AD4 dismantled
    s += &format!(
        "INSERT INTO ad_structures (id, permit_number, distributor_name, type, status, valid_from, valid_to, geom) VALUES \
         (1, 'P-1', 'Ads LLC', 'billboard', 'permitted', '2020-01-01', '2099-01-01', {}), \
         (2, 'P-2', 'Ads LLC', 'billboard', 'permitted', '2015-01-01', '2020-01-01', {}), \
         (3, NULL, 'Rogue', 'citylight', 'unauthorized', NULL, NULL, {}), \
         (4, 'P-4', 'Ads LLC', 'billboard', 'dismantled', '2015-01-01', '2016-01-01', {});",
        point((30.001, 50.001)),
        point((30.0013, 50.001)),
        point((30.004, 50.004)),
        point((30.0012, 50.001))
    );
    // energy: two schools in D1; weather gives 10 heating degree days
    s += &format!(
        "INSERT INTO energy_objects (id, name, kind, heated_area_m2, geom) VALUES \
         (1, 'School A', 'school', 1000, {}), (2, 'School B', 'school', 1000, {});\
         INSERT INTO energy_readings (object_id, resource, reading_date, quantity) VALUES \
         (1, 'heat_gcal', '2025-01-01', 10), (1, 'gas_m3', '2025-01-02', 100), (1, 'electricity_kwh', '2025-01-03', 500), \
         (2, 'heat_gcal', '2025-01-01', 30), (2, 'electricity_kwh', '2025-01-03', 500), (2, 'cold_water_m3', '2025-01-03', 99);\
         INSERT INTO weather_daily (date, mean_temp_c) VALUES ('2025-01-01', 8), ('2025-01-02', 18), ('2025-01-03', 28);",
        point((30.006, 50.006)),
        point((30.007, 50.007))
    );
    s += &format!(
        "INSERT INTO budget_projects (title, year, funding, planned_uah, contracted_uah, paid_uah, status, geom) VALUES \
         ('Road', 2025, 'development_budget', 100, 80, 50, 'in_works', {});\
         INSERT INTO temporary_structures (passport_status, owner_name, type, area_m2, status, geom) VALUES \
         ('issued', 'Kiosk LLC', 'kiosk', 10, 'installed', ST_GeomFromText('POLYGON((30.008 50.008,30.0081 50.008,30.0081 50.0081,30.008 50.0081,30.008 50.008))', 4326));\
         INSERT INTO investment_sites (id, title_uk, title_en, site_type, area_ha, ownership, gas, offer_type, status, geom) VALUES \
         (1, 'Ділянка 1', 'Site 1', 'greenfield', 1.5, 'communal', true, 'sale', 'available', {}), \
         (2, 'Ділянка 2', 'Site 2', 'brownfield', 0.5, 'communal', false, 'lease', 'available', {});\
         INSERT INTO streets (name, class, geom) VALUES ('Main', 'primary', \
         ST_GeomFromText('MULTILINESTRING((30.0 50.0, 30.04 50.0))', 4326));",
        point((30.003, 50.008)),
        square(30.015, 50.007, 30.016, 50.008),
        square(30.002, 50.002, 30.0025, 50.0025)
    );
    s
}

async fn setup() -> (TestDb, axum::Router) {
    let db = TestDb::new().await;
    sqlx::raw_sql(&fixture()).execute(&db.pool).await.expect("fixture");
    let app = common::app(&db).await;
    (db, app)
}

async fn run(app: &axum::Router, uri: &str) -> Value {
    let (status, body) = common::get_json(app, uri).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    body
}

fn rows(doc: &Value) -> &Vec<Value> {
    doc["rows"].as_array().expect("rows")
}

fn by_id(doc: &Value) -> BTreeMap<i64, Value> {
    rows(doc)
        .iter()
        .map(|r| (r["id"].as_i64().expect("id"), r.clone()))
        .collect()
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

fn rect_area(x0: f64, y0: f64, x1: f64, y1: f64) -> f64 {
    Rect::new((x0, y0), (x1, y1)).to_polygon().geodesic_area_unsigned()
}

#[tokio::test]
async fn catalogue_lists_every_analysis_with_its_parameters() {
    let (_db, app) = setup().await;
    let doc = run(&app, "/api/analytics").await;
    let list = doc["analyses"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|a| a["name"].as_str().unwrap()).collect();
    for n in [
        "district_summary",
        "appeals_by_district",
        "appeals_hexbin",
        "appeals_hotspots",
        "appeals_trend",
        "executor_performance",
        "property_efficiency",
        "vacant_premises",
        "land_quality",
        "land_by_price_zone",
        "energy_intensity",
        "ad_violations",
        "investment_search",
        "budget_by_district",
        "district_indicators",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let summary = list.iter().find(|a| a["name"] == "district_summary").unwrap();
    assert!(summary["title"]["uk"].as_str().unwrap().len() > 3);
    assert!(summary["title"]["en"].as_str().unwrap().len() > 3);
    let p = &summary["params"][0];
    assert_eq!(
        (p["name"].as_str(), p["type"].as_str(), p["required"].as_bool()),
        (Some("district_id"), Some("integer"), Some(true))
    );
    let hex = list.iter().find(|a| a["name"] == "appeals_hexbin").unwrap();
    let size = hex["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "size")
        .unwrap();
    assert_eq!(
        (size["min"].as_f64(), size["default"].as_i64()),
        (Some(100.0), Some(500))
    );
    let ind = list.iter().find(|a| a["name"] == "district_indicators").unwrap();
    assert!(
        ind["indicators"].as_array().unwrap().len() >= 13,
        "the programme's 13 indicators"
    );
    assert!(
        ind["tilejson"]
            .as_str()
            .unwrap()
            .ends_with("/api/analytics/district_indicators/tiles.json")
    );
}

#[tokio::test]
async fn every_analysis_runs_in_every_format() {
    let (_db, app) = setup().await;
    let doc = run(&app, "/api/analytics").await;
    for a in doc["analyses"].as_array().unwrap() {
        let name = a["name"].as_str().unwrap();
        let q = if name == "district_summary" {
            "?district_id=1&"
        } else {
            "?"
        };
        let json = run(&app, &format!("/api/analytics/{name}{q}")).await;
        assert_eq!(json["count"].as_u64().unwrap() as usize, rows(&json).len(), "{name}");
        let (status, ctype, body) = common::get(&app, &format!("/api/analytics/{name}{q}f=csv")).await;
        assert_eq!(status, StatusCode::OK, "{name} csv");
        assert!(ctype.starts_with("text/csv"), "{name}: {ctype}");
        let mut reader = csv::Reader::from_reader(body.as_slice());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        let csv_rows = reader.records().count();
        assert_eq!(csv_rows, rows(&json).len(), "{name}: CSV and JSON rows");
        let columns: Vec<String> = json["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().into())
            .collect();
        assert_eq!(&header[..columns.len()], &columns[..], "{name}: CSV header");
        let (status, ctype, body) = common::get(&app, &format!("/api/analytics/{name}{q}f=geojson")).await;
        if a["geometry"] == true {
            assert_eq!(status, StatusCode::OK, "{name} geojson");
            assert_eq!(ctype, "application/geo+json");
            let fc: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(fc["type"], "FeatureCollection");
            assert_eq!(fc["features"].as_array().unwrap().len(), rows(&json).len(), "{name}");
            for f in fc["features"].as_array().unwrap() {
                assert!(f["geometry"]["type"].is_string(), "{name}: {f}");
                assert!(f["properties"].get("geom").is_none());
            }
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: no geometry, no GeoJSON");
        }
    }
}

#[tokio::test]
async fn appeals_by_district_counts_stored_districts_and_the_border_rule() {
    let (_db, app) = setup().await;
    // Electoral: by the stored district. a3 on the D1/D2 border went to D1
    // (lower id); a4 lies in D2 but was assigned to D3; spam and deleted out.
    let doc = run(&app, "/api/analytics/appeals_by_district").await;
    let r = by_id(&doc);
    let counts: Vec<i64> = (1..=4).map(|i| r[&i]["appeals"].as_i64().unwrap()).collect();
    assert_eq!(counts, vec![3, 0, 1, 0]);
    assert_eq!(num(&r[&1]["per_1000"]), 3.0);
    assert_eq!(num(&r[&3]["per_1000"]), 2.0);
    assert_eq!(num(&r[&4]["per_1000"]), 0.0, "the empty district is listed with zero");
    assert_eq!(
        r[&1]["by_category"],
        serde_json::json!({"housing": 1, "roads": 1, "roads.potholes": 1})
    );
    // Administrative: by the point, the border point to the lower id (A1).
    let doc = run(&app, "/api/analytics/appeals_by_district?kind=admin").await;
    let r = by_id(&doc);
    assert_eq!(
        (r[&1]["appeals"].as_i64(), r[&2]["appeals"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(num(&r[&2]["per_1000"]), 0.385, "1 appeal, 2600 residents");
    // Category with subcategories; period in Kyiv dates: a4 was created on
    // 8 January UTC but 9 January in Kyiv.
    let doc = run(&app, "/api/analytics/appeals_by_district?category=roads").await;
    assert_eq!(by_id(&doc)[&1]["appeals"], 2);
    let doc = run(&app, "/api/analytics/appeals_by_district?from=2025-01-05&to=2025-01-08").await;
    let r = by_id(&doc);
    assert_eq!(
        (r[&1]["appeals"].as_i64(), r[&3]["appeals"].as_i64()),
        (Some(1), Some(0))
    );
    let doc = run(&app, "/api/analytics/appeals_by_district?from=2025-01-09&to=2025-01-09").await;
    assert_eq!(by_id(&doc)[&3]["appeals"], 1);
}

#[tokio::test]
async fn executor_performance_and_weekly_trend() {
    let (_db, app) = setup().await;
    let doc = run(&app, "/api/analytics/executor_performance").await;
    let r = by_id(&doc);
    // E1: a1 (10 days, on time), a2 (40 days, late), a3 (overdue)
    assert_eq!(r[&1]["appeals"], 3);
    assert_eq!(r[&1]["answered"], 2);
    assert_eq!(num(&r[&1]["on_time_pct"]), 33.3);
    assert_eq!(num(&r[&1]["median_days"]), 25.0);
    assert_eq!(r[&1]["overdue"], 1);
    // E2: a4, not yet due
    assert_eq!(
        (r[&2]["appeals"].as_i64(), r[&2]["overdue"].as_i64()),
        (Some(1), Some(0))
    );
    assert!(r[&2]["on_time_pct"].is_null() && r[&2]["median_days"].is_null());

    let doc = run(&app, "/api/analytics/appeals_trend").await;
    let weeks: BTreeMap<String, (i64, i64)> = rows(&doc)
        .iter()
        .map(|w| {
            (
                w["week_start"].as_str().unwrap().to_string(),
                (w["submitted"].as_i64().unwrap(), w["answered"].as_i64().unwrap()),
            )
        })
        .collect();
    assert_eq!(weeks.len(), 7, "30 Dec to 10 Feb, empty weeks included: {weeks:?}");
    assert_eq!(weeks["2024-12-30"], (2, 0));
    assert_eq!(weeks["2025-01-06"], (2, 1));
    assert_eq!(weeks["2025-01-20"], (0, 0));
    assert_eq!(weeks["2025-02-10"], (0, 1));
    let doc = run(&app, "/api/analytics/appeals_trend?district_id=3").await;
    assert_eq!(rows(&doc).len(), 1);
    assert_eq!(rows(&doc)[0]["week_start"], "2025-01-06");
}

#[tokio::test]
async fn hexbin_puts_each_appeal_in_the_cell_that_holds_it() {
    let (_db, app) = setup().await;
    let (status, body) = common::get_json(&app, "/api/analytics/appeals_hexbin?size=100&f=geojson").await;
    assert_eq!(status, StatusCode::OK);
    let points: Vec<Point> = [A1, A2, A3, A4].iter().map(|p| Point::new(p.0, p.1)).collect();
    let mut total = 0;
    for f in body["features"].as_array().unwrap() {
        let ring: Vec<(f64, f64)> = f["geometry"]["coordinates"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (num(&c[0]), num(&c[1])))
            .collect();
        let g = geo::Polygon::new(geo::LineString::from(ring), vec![]);
        let n = f["properties"]["appeals"].as_i64().unwrap();
        let inside = points.iter().filter(|p| g.intersects(*p)).count() as i64;
        assert_eq!(n, inside, "{f}");
        total += n;
        // about 100 m edges: the cell spans about 200 m east-west
        let b = geo::BoundingRect::bounding_rect(&g).unwrap();
        let width = geo::Distance::distance(
            &geo::Geodesic,
            Point::new(b.min().x, 50.005),
            Point::new(b.max().x, 50.005),
        );
        assert!((190.0..210.0).contains(&width), "cell width {width}");
    }
    assert_eq!(total, 4, "every appeal but spam and the deleted one, once");
    let (status, body) = common::get_json(&app, "/api/analytics/appeals_hexbin?size=50").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "cells below 100 m are refused: {body}");
}

#[tokio::test]
async fn hotspots_give_centres_not_members() {
    let (_db, app) = setup().await;
    let doc = run(&app, "/api/analytics/appeals_hotspots?eps=100&min_points=3").await;
    let r = rows(&doc);
    assert_eq!(r.len(), 1, "a1, a2, a3 within 100 m of each other; a4 is noise: {doc}");
    assert_eq!(r[0]["appeals"], 3);
    let lon = (A1.0 + A2.0 + A3.0) / 3.0;
    let lat = (A1.1 + A2.1 + A3.1) / 3.0;
    assert!((num(&r[0]["lon"]) - lon).abs() < 1e-5 && (num(&r[0]["lat"]) - lat).abs() < 1e-5);
    let doc = run(&app, "/api/analytics/appeals_hotspots?eps=100&min_points=4").await;
    assert!(rows(&doc).is_empty());
}

/// The server's DBSCAN (`src/analytics/dbscan.rs`) against PostGIS's
/// `ST_ClusterDBSCAN` in the same metric, over a scatter with dense spots:
/// the same noise, the same clusters of core points, and a border point in
/// a different cluster only where it is within reach of both.
#[tokio::test]
async fn dbscan_agrees_with_postgis() {
    let db = TestDb::new().await;
    let mut seed = 7u64;
    let mut rnd = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut lon, mut lat) = (Vec::new(), Vec::new());
    for s in 0..8 {
        let (cx, cy) = (28.60 + 0.004 * s as f64, 50.24 + 0.002 * (s % 3) as f64);
        for _ in 0..200 {
            lon.push(cx + rnd() * 0.0015);
            lat.push(cy + rnd() * 0.001);
        }
    }
    for _ in 0..400 {
        lon.push(28.60 + rnd() * 0.035);
        lat.push(50.24 + rnd() * 0.006);
    }
    let n = lon.len();
    for (eps, minp) in [(10.0, 5_i32), (25.0, 12), (50.0, 30), (5.0, 3)] {
        let ours = geoportal::analytics::dbscan::clusters(&lon, &lat, eps, minp as usize);
        let theirs: Vec<Option<i32>> = sqlx::query_scalar(
            "WITH p AS (SELECT i, x, y FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS t(x, y, i)), \
             s AS (SELECT $3 / cos(radians((min(y) + max(y)) / 2)) AS eps FROM p) \
             SELECT c FROM (SELECT p.i, ST_ClusterDBSCAN(ST_MakePoint(6378137.0 * radians(x), \
                 6378137.0 * ln(tan(pi() / 4 + radians(y) / 2))), eps => s.eps, minpoints => $4) OVER () AS c \
               FROM p, s) q ORDER BY i",
        )
        .bind(&lon)
        .bind(&lat)
        .bind(eps)
        .bind(minp)
        .fetch_all(&db.pool)
        .await
        .expect("ST_ClusterDBSCAN");
        assert_eq!(theirs.len(), n);
        // core points, by the definition, in the same metric
        let (y0, y1) = lat
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &y| (a.min(y), b.max(y)));
        let e = eps / ((y0 + y1) / 2.0f64).to_radians().cos();
        let m = |i: usize| {
            (
                6378137.0 * lon[i].to_radians(),
                6378137.0 * (std::f64::consts::FRAC_PI_4 + lat[i].to_radians() / 2.0).tan().ln(),
            )
        };
        let xy: Vec<(f64, f64)> = (0..n).map(m).collect();
        let near = |a: usize, b: usize| (xy[a].0 - xy[b].0).powi(2) + (xy[a].1 - xy[b].1).powi(2) <= e * e;
        let core: Vec<bool> = (0..n)
            .map(|i| (0..n).filter(|&j| near(i, j)).count() >= minp as usize)
            .collect();
        // our cluster → theirs, read off the core points: a bijection
        let mut map = BTreeMap::new();
        let mut back = BTreeMap::new();
        for i in (0..n).filter(|&i| core[i]) {
            let (a, b) = (
                ours[i].expect("a core point is clustered"),
                theirs[i].expect("PostGIS clusters it"),
            );
            assert_eq!(
                *map.entry(a).or_insert(b),
                b,
                "eps {eps} min {minp}: our cluster {a} split in PostGIS"
            );
            assert_eq!(
                *back.entry(b).or_insert(a),
                a,
                "eps {eps} min {minp}: PostGIS cluster {b} split by us"
            );
        }
        assert!(map.len() >= 2, "eps {eps} min {minp}: the fixture should give clusters");
        let mut borders_both = 0;
        for i in 0..n {
            assert_eq!(
                ours[i].is_some(),
                theirs[i].is_some(),
                "eps {eps} min {minp}: noise differs at {i}"
            );
            if let (Some(a), Some(b)) = (ours[i], theirs[i])
                && map.get(&a) != Some(&b)
            {
                let reaches = |c: u32| (0..n).any(|j| core[j] && ours[j] == Some(c) && near(i, j));
                assert!(
                    !core[i] && reaches(a) && reaches(back[&b]),
                    "eps {eps} min {minp}: point {i} in our {a}, PostGIS's {b}, not a shared border point"
                );
                borders_both += 1;
            }
        }
        assert!(
            borders_both * 100 <= n,
            "only rare shared border points differ: {borders_both}"
        );
    }
}

#[tokio::test]
async fn district_summary_of_d1() {
    let (_db, app) = setup().await;
    let doc = run(&app, "/api/analytics/district_summary?district_id=1").await;
    let s = &rows(&doc)[0];
    assert_eq!(s["name"], "D1");
    let a = &s["appeals"];
    assert_eq!(a["total"], 3);
    assert_eq!(a["by_status"], serde_json::json!({"answered": 2, "in_progress": 1}));
    assert_eq!(num(&a["on_time_pct"]), 33.3);
    assert_eq!(num(&a["median_days"]), 25.0);
    assert_eq!(a["overdue"], 1);
    let p = &s["property"];
    assert_eq!(
        (p["count"].as_i64(), p["leased"].as_i64(), p["vacant"].as_i64()),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!((num(&p["area_m2"]), num(&p["vacant_area_m2"])), (150.0, 50.0));
    assert_eq!(
        (num(&p["accrued_uah"]), num(&p["paid_uah"]), num(&p["arrears_uah"])),
        (2000.0, 1500.0, 500.0)
    );
    // LP1 clipped to D1: its western half; LP2 lies wholly in D2
    let land = &s["land"];
    let west_half = rect_area(30.005, 50.0, 30.01, 50.001) / 10000.0;
    assert!(close(num(&land["area_ha"]), west_half, 1e-3), "{land} vs {west_half}");
    assert!(close(num(&land["by_ownership_ha"]["communal"]), west_half, 1e-3));
    assert!(land["by_ownership_ha"].get("private").is_none());
    let ads = &s["ads"];
    assert_eq!(ads["count"], 4);
    assert_eq!(
        (
            ads["too_close"].as_i64(),
            ads["expired_standing"].as_i64(),
            ads["without_permit"].as_i64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(s["energy"]["objects"], 2);
    assert!(close(
        num(&s["energy"]["mean_eui_kwh_m2_year"]),
        (13.08 + 35.39) / 2.0,
        1e-3
    ));
    assert_eq!(s["temporary_structures"]["count"], 1);
    assert_eq!(
        (
            s["investment_sites"]["count"].as_i64(),
            s["investment_sites"]["available"].as_i64()
        ),
        (Some(1), Some(1))
    );
    let b = &s["budget"];
    assert_eq!(
        (num(&b["planned_uah"]), num(&b["contracted_uah"]), num(&b["paid_uah"])),
        (100.0, 80.0, 50.0)
    );

    // The empty district: zeros, not errors.
    let doc = run(&app, "/api/analytics/district_summary?district_id=4").await;
    let s = &rows(&doc)[0];
    assert_eq!(
        (
            s["appeals"]["total"].as_i64(),
            s["property"]["count"].as_i64(),
            s["ads"]["count"].as_i64()
        ),
        (Some(0), Some(0), Some(0))
    );
    assert!(s["appeals"]["median_days"].is_null());
    // No such district: no rows.
    let doc = run(&app, "/api/analytics/district_summary?district_id=99").await;
    assert!(rows(&doc).is_empty());
}

#[tokio::test]
async fn energy_ads_land_property_and_investment() {
    let (_db, app) = setup().await;
    // 1 Gcal = 1163 kWh, 1 m³ gas = 9.5 kWh, HDD 10 over the period
    let doc = run(&app, "/api/analytics/energy_intensity?outlier_ratio=1.4").await;
    let r = by_id(&doc);
    assert_eq!(num(&r[&1]["heat_kwh"]), 11630.0);
    assert_eq!(num(&r[&1]["gas_kwh"]), 950.0);
    assert_eq!(num(&r[&1]["hdd"]), 10.0);
    assert_eq!(num(&r[&1]["eui_kwh_m2_year"]), 13.08);
    assert_eq!(num(&r[&2]["eui_kwh_m2_year"]), 35.39);
    assert_eq!(
        (r[&1]["outlier"].as_str(), r[&2]["outlier"].as_str()),
        (Some("low"), Some("high"))
    );
    let doc = run(&app, "/api/analytics/energy_intensity?outlier_ratio=2").await;
    assert!(rows(&doc).iter().all(|r| r["outlier"].is_null()));

    let doc = run(&app, "/api/analytics/ad_violations").await;
    let mut got: Vec<(String, i64, Option<i64>)> = rows(&doc)
        .iter()
        .map(|r| {
            (
                r["violation"].as_str().unwrap().into(),
                r["id"].as_i64().unwrap(),
                r["other_id"].as_i64(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("expired_standing".into(), 2, None),
            ("too_close".into(), 1, Some(2)),
            ("too_close".into(), 2, Some(1)),
            ("without_permit".into(), 3, None)
        ]
    );
    let d = num(&rows(&doc).iter().find(|r| r["violation"] == "too_close").unwrap()["distance_m"]);
    let expected = geo::Distance::distance(&geo::Geodesic, Point::new(30.001, 50.001), Point::new(30.0013, 50.001));
    assert!((d - expected).abs() < 0.2, "{d} vs {expected}");
    let doc = run(&app, "/api/analytics/ad_violations?distance=10").await;
    assert!(rows(&doc).iter().all(|r| r["violation"] != "too_close"));
    // the distributor's tax number is restricted in ad_structures.toml
    assert!(rows(&doc).iter().all(|r| r.get("distributor_edrpou").is_none()));

    let doc = run(&app, "/api/analytics/land_quality").await;
    let issues: Vec<(String, i64)> = rows(&doc)
        .iter()
        .map(|r| (r["issue"].as_str().unwrap().into(), r["id"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        issues,
        vec![
            ("area_mismatch".into(), 2),
            ("foreign_koatuu".into(), 2),
            ("overlap".into(), 1)
        ]
    );
    let overlap = rows(&doc).iter().find(|r| r["issue"] == "overlap").unwrap();
    assert_eq!(overlap["other_id"], 2);
    assert!(close(
        num(&overlap["area_m2"]),
        rect_area(30.014, 50.0, 30.015, 50.001),
        1e-3
    ));

    let doc = run(&app, "/api/analytics/property_efficiency?group_by=balance_holder").await;
    let a = rows(&doc).iter().find(|r| r["group"] == "Holder A").unwrap();
    assert_eq!(
        (a["objects"].as_i64(), num(&a["area_m2"]), num(&a["arrears_uah"])),
        (Some(2), 150.0, 500.0)
    );
    assert_eq!(num(&a["plan_fulfilment_pct"]), 75.0);
    let doc = run(&app, "/api/analytics/vacant_premises").await;
    let ids: Vec<i64> = rows(&doc).iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![3, 2], "largest first");

    let doc = run(&app, "/api/analytics/investment_search?gas=true").await;
    assert_eq!(rows(&doc).len(), 1);
    assert_eq!(rows(&doc)[0]["id"], 1);
    let doc = run(&app, "/api/analytics/investment_search?lon=30.002&lat=50.002").await;
    let ids: Vec<i64> = rows(&doc).iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![2, 1], "nearest first");
    assert_eq!(num(&rows(&doc)[0]["distance_m"]), 0.0);
    let doc = run(&app, "/api/analytics/investment_search?max_road_m=500").await;
    let ids: Vec<i64> = rows(&doc).iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![2], "site 1 is ~780 m from the main road");
}

#[tokio::test]
async fn bad_parameters_are_listed_in_one_400() {
    let (_db, app) = setup().await;
    let (status, ctype, body) = common::get(
        &app,
        "/api/analytics/appeals_by_district?kind=moon&from=2025-13-01&size=3",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(ctype, "application/problem+json");
    let p: Value = serde_json::from_slice(&body).unwrap();
    let errors: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("`kind`") && e.contains("electoral")));
    assert!(errors.iter().any(|e| e.contains("`from`")));
    assert!(errors.iter().any(|e| e.contains("unknown parameter `size`")));
    for uri in [
        "/api/analytics/district_summary",
        "/api/analytics/district_summary?district_id=abc",
        "/api/analytics/district_summary?district_id=0",
        "/api/analytics/appeals_hexbin?size=1e9",
        "/api/analytics/appeals_hotspots?min_points=1.5",
        "/api/analytics/investment_search?gas=maybe",
        "/api/analytics/appeals_trend?f=geojson",
        "/api/analytics/appeals_trend?f=xml",
        "/api/analytics/appeals_trend?from=2025-01-01&from=2025-02-01",
        "/api/analytics/appeals_by_district/tiles/40/0/0.mvt",
    ] {
        let (status, ctype, _) = common::get(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(ctype, "application/problem+json", "{uri}");
    }
    let (status, _, _) = common::get(&app, "/api/analytics/no_such_thing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = common::get(&app, "/api/analytics/appeals_trend/tiles/1/0/0.mvt").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a table without geometry has no tiles");
}

#[tokio::test]
async fn no_private_appeal_text_author_or_location_in_any_output() {
    let (_db, app) = setup().await;
    let doc = run(&app, "/api/analytics").await;
    let private_coords: Vec<String> = [A1, A2, A4]
        .iter()
        .flat_map(|p| [format!("{}", p.0), format!("{}", p.1)])
        .collect();
    for a in doc["analyses"].as_array().unwrap() {
        let name = a["name"].as_str().unwrap();
        let params = match name {
            "district_summary" => "district_id=1&",
            "appeals_hotspots" => "eps=100&min_points=3&",
            "appeals_hexbin" => "size=100&",
            _ => "",
        };
        for f in ["json", "csv", "geojson"] {
            let (status, _, body) = common::get(&app, &format!("/api/analytics/{name}?{params}f={f}")).await;
            if status != StatusCode::OK {
                continue;
            }
            let text = String::from_utf8(body).unwrap();
            for needle in ["SECRET-TEXT", "Private Person", "+380500000"] {
                assert!(!text.contains(needle), "{name} f={f} leaks {needle}");
            }
            if name.starts_with("appeals") || name == "district_summary" || name == "executor_performance" {
                // A3 lies on a district border: its coordinates are also
                // district corners' neighbours, so only A1, A2, A4 are checked.
                for c in &private_coords {
                    let exact = [format!("[{c},"), format!(",{c}]"), format!(" {c} "), format!("({c} ")];
                    assert!(
                        !exact.iter().any(|e| text.contains(e.as_str())),
                        "{name} f={f} shows a private point ({c})"
                    );
                }
            }
        }
    }
}

/// Tile (z, x, y) holding lon/lat.
fn tile_of(lon: f64, lat: f64, z: u32) -> (u32, u32, u32) {
    let n = 2f64.powi(z as i32);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let r = lat.to_radians();
    let y = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    (z, x, y)
}

fn mvt_props(uri: &str, body: &[u8], layer: &str) -> BTreeMap<i64, BTreeMap<String, Value>> {
    let tile = Tile::decode(body).unwrap_or_else(|e| panic!("{uri}: {e}"));
    let l = tile
        .layers
        .iter()
        .find(|l| l.name == layer)
        .unwrap_or_else(|| panic!("{uri}: no layer {layer}"));
    let mut out = BTreeMap::new();
    for f in &l.features {
        let mut props = BTreeMap::new();
        for pair in f.tags.chunks(2) {
            let v = &l.values[pair[1] as usize];
            let value = if let Some(s) = &v.string_value {
                Value::from(s.clone())
            } else if let Some(d) = v.double_value {
                Value::from(d)
            } else if let Some(d) = v.float_value {
                Value::from(d as f64)
            } else if let Some(i) = v.int_value {
                Value::from(i)
            } else if let Some(i) = v.uint_value {
                Value::from(i)
            } else if let Some(i) = v.sint_value {
                Value::from(i)
            } else if let Some(b) = v.bool_value {
                Value::from(b)
            } else {
                Value::Null
            };
            props.insert(l.keys[pair[0] as usize].clone(), value);
        }
        let id = props["id"]
            .as_i64()
            .or_else(|| props["id"].as_f64().map(|f| f as i64))
            .expect("id");
        out.insert(id, props);
    }
    out
}

/// Every scalar of every JSON row equals the tile's value of that feature.
fn assert_same_values(uri: &str, json: &Value, tile: &BTreeMap<i64, BTreeMap<String, Value>>, expect_features: usize) {
    assert_eq!(tile.len(), expect_features, "{uri}: features");
    for row in rows(json) {
        let id = row["id"].as_i64().unwrap();
        let Some(t) = tile.get(&id) else { continue };
        for (k, v) in row.as_object().unwrap() {
            match v {
                Value::Null => assert!(t.get(k).is_none_or(Value::is_null), "{uri} {id}.{k}"),
                Value::Number(n) => {
                    let tv = t
                        .get(k)
                        .and_then(Value::as_f64)
                        .unwrap_or_else(|| panic!("{uri} {id}.{k} missing"));
                    assert!((tv - n.as_f64().unwrap()).abs() < 1e-9, "{uri} {id}.{k}: {tv} vs {n}");
                }
                Value::String(s) => assert_eq!(t.get(k).and_then(Value::as_str), Some(s.as_str()), "{uri} {id}.{k}"),
                _ => {}
            }
        }
    }
}

#[tokio::test]
async fn choropleth_tiles_carry_the_json_values() {
    let (_db, app) = setup().await;
    let (z, x, y) = tile_of(30.0, 50.0, 10);
    assert_eq!(tile_of(30.06, 50.01, 10), (z, x, y), "the fixture fits one tile");
    for (name, q, features) in [
        ("appeals_by_district", "", 4),
        ("appeals_by_district", "?kind=admin&category=roads", 2),
        ("district_indicators", "", 4),
        ("district_indicators", "?kind=admin", 2),
        ("budget_by_district", "", 4),
    ] {
        let json = run(&app, &format!("/api/analytics/{name}{q}")).await;
        let uri = format!("/api/analytics/{name}/tiles/{z}/{x}/{y}.mvt{q}");
        let (status, ctype, body) = common::get(&app, &uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&body));
        assert_eq!(ctype, "application/vnd.mapbox-vector-tile");
        let tile = mvt_props(&uri, &body, name);
        assert_same_values(&uri, &json, &tile, features);
        // TileJSON: the tile URL carries the parameters; fields list the columns
        let tj = run(&app, &format!("/api/analytics/{name}/tiles.json{q}")).await;
        assert_eq!(tj["tilejson"], "3.0.0");
        let url = tj["tiles"][0].as_str().unwrap();
        assert!(
            url.contains(&format!("/api/analytics/{name}/tiles/{{z}}/{{x}}/{{y}}.mvt")),
            "{url}"
        );
        assert!(url.ends_with(q.trim_start_matches('?')), "{url}");
        let fields = tj["vector_layers"][0]["fields"].as_object().unwrap();
        assert!(fields.contains_key("id") && fields.contains_key("name"), "{fields:?}");
        let b: Vec<f64> = tj["bounds"].as_array().unwrap().iter().map(num).collect();
        assert!(close(b[0], 30.0, 1e-9) && close(b[3], 50.01, 1e-9), "{b:?}");
    }
    // A far-away tile is empty.
    let (status, _, body) = common::get(&app, "/api/analytics/appeals_by_district/tiles/10/0/0.mvt").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        Tile::decode(body.as_slice())
            .unwrap()
            .layers
            .iter()
            .all(|l| l.features.is_empty())
    );
}

#[tokio::test]
async fn district_indicators_values_and_an_indicator_added_by_configuration() {
    let (db, app) = setup().await;
    let doc = run(&app, "/api/analytics/district_indicators").await;
    let r = by_id(&doc);
    assert_eq!(num(&r[&1]["appeals_per_1000"]), 3.0);
    assert_eq!(num(&r[&3]["appeals_per_1000"]), 2.0);
    assert_eq!(num(&r[&4]["appeals_per_1000"]), 0.0);
    assert_eq!(num(&r[&1]["appeals_overdue"]), 1.0);
    assert_eq!(num(&r[&1]["appeals_median_days"]), 25.0);
    assert!(
        r[&4]["appeals_median_days"].is_null(),
        "no answers in the empty district"
    );
    assert_eq!(num(&r[&1]["property_vacant_pct"]), 50.0);
    assert_eq!(num(&r[&1]["lease_arrears_uah"]), 500.0);
    assert_eq!(num(&r[&1]["ads_without_permit"]), 1.0);
    assert_eq!(num(&r[&2]["investment_sites_available"]), 1.0);
    assert_eq!(num(&r[&1]["budget_paid_per_resident"]), 0.05);
    assert_eq!(num(&r[&2]["free_land_ha"]), 1.0, "LP2's point on surface is in D2");
    let meta = doc["indicators"].as_array().unwrap();
    assert!(meta.len() >= 13);
    let m = meta.iter().find(|m| m["name"] == "appeals_on_time_pct").unwrap();
    assert_eq!(
        (m["unit"].as_str(), m["direction"].as_str()),
        (Some("%"), Some("higher_is_better"))
    );

    // A copy of the catalogue with one more indicator: it shows up in the
    // JSON and the tiles with no code change.
    let tmp = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("analytics");
    copy_dir(&src, &tmp.path().join("analytics"));
    std::fs::write(
        tmp.path().join("analytics/indicators/kiosks.sql"),
        "SELECT d.id AS district_id, (SELECT count(*) FROM temporary_structures t \
         WHERE ST_Intersects(d.geom, t.geom)) * 7 AS value FROM d",
    )
    .unwrap();
    let mut ind = std::fs::read_to_string(tmp.path().join("analytics/indicators.toml")).unwrap();
    ind.push_str(
        "\n[[indicators]]\nname = \"kiosks_x7\"\ntitle = { uk = \"Кіоски\", en = \"Kiosks\" }\nunit = \"count\"\n\
         direction = \"neutral\"\nsql = \"indicators/kiosks.sql\"\n",
    );
    std::fs::write(tmp.path().join("analytics/indicators.toml"), ind).unwrap();
    let mut config = geoportal::config::Config::defaults();
    config.layers_dir = tmp.path().join("layers");
    let registry = common::registry(&db).await;
    let app2 = geoportal::server::router(geoportal::server::AppState::new(
        db.pool.clone(),
        Arc::new(registry),
        Arc::new(config),
    ));
    let doc = run(&app2, "/api/analytics/district_indicators").await;
    assert_eq!(num(&by_id(&doc)[&1]["kiosks_x7"]), 7.0);
    assert!(
        doc["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "kiosks_x7")
    );
    let (z, x, y) = tile_of(30.0, 50.0, 10);
    let uri = format!("/api/analytics/district_indicators/tiles/{z}/{x}/{y}.mvt");
    let (_, _, body) = common::get(&app2, &uri).await;
    let tile = mvt_props(&uri, &body, "district_indicators");
    assert_eq!(tile[&1]["kiosks_x7"].as_f64(), Some(7.0));
    // A broken catalogue is a 500, not a crash, and names no internals.
    std::fs::write(tmp.path().join("analytics/broken.toml"), "name = 1").unwrap();
    let (status, _, _) = common::get(&app2, "/api/analytics").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[tokio::test]
async fn summaries_follow_changes_to_plots_and_districts() {
    let (db, app) = setup().await;
    // LP2 moves off LP1: the overlap is gone at once (triggers keep the pairs).
    sqlx::query(&format!(
        "UPDATE land_plots SET geom = {} WHERE id = 2",
        square(30.0152, 50.0, 30.016, 50.001)
    ))
    .execute(&db.pool)
    .await
    .unwrap();
    let doc = run(&app, "/api/analytics/land_quality?issue=overlap").await;
    assert!(rows(&doc).is_empty(), "{doc}");
    // ... and back, then LP1 soft-deleted: no overlap with a dead plot.
    sqlx::query(&format!(
        "UPDATE land_plots SET geom = {} WHERE id = 2",
        square(30.014, 50.0, 30.016, 50.001)
    ))
    .execute(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        rows(&run(&app, "/api/analytics/land_quality?issue=overlap").await).len(),
        1
    );
    sqlx::query("UPDATE land_plots SET deleted_at = now() WHERE id = 1")
        .execute(&db.pool)
        .await
        .unwrap();
    assert!(rows(&run(&app, "/api/analytics/land_quality?issue=overlap").await).is_empty());
    // A2 grows over A1: where both hold a point, the lower id (A1) wins.
    sqlx::query(&format!(
        "UPDATE admin_districts SET geom = {} WHERE id = 2",
        square(30.0, 50.0, 30.06, 50.01)
    ))
    .execute(&db.pool)
    .await
    .unwrap();
    let r = by_id(&run(&app, "/api/analytics/appeals_by_district?kind=admin").await);
    assert_eq!(
        (r[&1]["appeals"].as_i64(), r[&2]["appeals"].as_i64()),
        (Some(3), Some(1))
    );
    // A1 deleted: every appeal is A2's.
    sqlx::query("UPDATE admin_districts SET deleted_at = now() WHERE id = 1")
        .execute(&db.pool)
        .await
        .unwrap();
    let doc = run(&app, "/api/analytics/appeals_by_district?kind=admin").await;
    assert_eq!(rows(&doc).len(), 1);
    assert_eq!(rows(&doc)[0]["appeals"], 4);
}

/// A GET with extra headers: (status, headers, JSON body).
async fn get_with(app: &axum::Router, uri: &str, headers: &[(&str, &str)]) -> editing_support::Reply {
    editing_support::send(app, Method::GET, uri, None, headers, None).await
}

#[tokio::test]
async fn cached_answers_state_their_age_and_follow_edits_made_any_way() {
    let (db, app) = setup().await;
    let uri = "/api/analytics/district_indicators";
    let vacant_d1 = |doc: &Value| num(&by_id(doc)[&1]["property_vacant_pct"]);
    let first = get_with(&app, uri, &[]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["cached"], false);
    assert_eq!(vacant_d1(&first.body), 50.0);
    assert!(first.body["computed_at"].is_string() && first.body["age_s"].is_number());
    // The same question again: the same answer, from the cache, with its age.
    let second = get_with(&app, uri, &[]).await;
    assert_eq!(second.body["cached"], true, "{}", second.text);
    assert_eq!(second.body["computed_at"], first.body["computed_at"]);
    assert_eq!(second.body["rows"], first.body["rows"]);
    assert!(second.headers.contains_key("age"), "{:?}", second.headers);
    // `Cache-Control: no-cache` computes afresh.
    let fresh = get_with(&app, uri, &[("cache-control", "no-cache")]).await;
    assert_eq!(fresh.body["cached"], false);
    assert_ne!(fresh.body["computed_at"], first.body["computed_at"]);

    // An edit made in SQL, outside the server: the next answer has it.
    sqlx::query("UPDATE communal_property SET use_status = 'leased' WHERE id = 2")
        .execute(&db.pool)
        .await
        .unwrap();
    let after_sql = get_with(&app, uri, &[]).await;
    assert_eq!(after_sql.body["cached"], false);
    assert_eq!(vacant_d1(&after_sql.body), 0.0);
    // The choropleth tile too (cached before the edit).
    let (z, x, y) = tile_of(30.0, 50.0, 10);
    let tile_uri = format!("/api/analytics/district_indicators/tiles/{z}/{x}/{y}.mvt");
    let tile_vacant =
        |body: &[u8]| mvt_props(&tile_uri, body, "district_indicators")[&1]["property_vacant_pct"].as_f64();
    let t1 = get_with(&app, &tile_uri, &[]).await;
    let t2 = get_with(&app, &tile_uri, &[]).await;
    assert_eq!(
        t2.headers["x-computed-at"], t1.headers["x-computed-at"],
        "the tile is cached"
    );
    let (_, _, bytes) = common::get(&app, &tile_uri).await;
    assert_eq!(tile_vacant(&bytes), Some(0.0));
    sqlx::query("UPDATE communal_property SET use_status = 'vacant' WHERE id = 2")
        .execute(&db.pool)
        .await
        .unwrap();
    let (_, _, bytes) = common::get(&app, &tile_uri).await;
    assert_eq!(tile_vacant(&bytes), Some(50.0), "the tile follows the edit");

    // An edit through the API: P3 (vacant, D2) moves into D1, so D1 holds
    // P1 leased, P2 and P3 vacant; its district comes from the triggers.
    let (_, token) = editing_support::user(&db.pool, "prop_cache", &[geoportal::registry::Role::PropertyEditor]).await;
    let item = "/ogc/collections/communal_property/items/3";
    let etag = editing_support::send(&app, Method::GET, item, Some(&token), &[], None)
        .await
        .etag();
    let r = editing_support::send(
        &app,
        Method::PATCH,
        item,
        Some(&token),
        &[
            ("content-type", "application/merge-patch+json"),
            ("if-match", etag.as_str()),
        ],
        Some(&serde_json::json!({"geometry": {"type": "Point", "coordinates": [30.004, 50.002]}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let after_api = get_with(&app, uri, &[]).await;
    assert_eq!(after_api.body["cached"], false);
    let r1 = &by_id(&after_api.body)[&1];
    assert!(close(num(&r1["property_vacant_pct"]), 200.0 / 3.0, 1e-3), "{r1}");
    assert!(
        by_id(&after_api.body)[&2]["property_vacant_pct"].is_null(),
        "D2 has no property left"
    );
}

#[tokio::test]
async fn stored_places_follow_features_districts_and_zones() {
    let (db, app) = setup().await;
    // Two price zones: Z1 over D1 (x 30.00–30.01), Z2 over the rest.
    sqlx::query(&format!(
        "INSERT INTO price_zones (id, zone_number, base_value_uah_m2, geom) VALUES (1, 1, 100, {}), (2, 2, 50, {})",
        square(30.0, 50.0, 30.01, 50.01),
        square(30.01, 50.0, 30.06, 50.01)
    ))
    .execute(&db.pool)
    .await
    .unwrap();
    let zones = |doc: &Value| -> BTreeMap<i64, i64> {
        rows(doc)
            .iter()
            .map(|r| (r["zone_number"].as_i64().unwrap(), r["plots"].as_i64().unwrap()))
            .collect()
    };
    // LP1 (30.005–30.015) has its point on surface in one zone; LP2 in Z2.
    let (lp1_x,): (f64,) = sqlx::query_as("SELECT ST_X(ST_PointOnSurface(geom)) FROM land_plots WHERE id = 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let z1_expect = i64::from(lp1_x < 30.01);
    let doc = run(&app, "/api/analytics/land_by_price_zone").await;
    assert_eq!(zones(&doc), BTreeMap::from([(1, z1_expect), (2, 2 - z1_expect)]));
    // Z1 grows over everything: where both hold a point, the lower number wins.
    sqlx::query(&format!(
        "UPDATE price_zones SET geom = {} WHERE id = 1",
        square(30.0, 50.0, 30.06, 50.01)
    ))
    .execute(&db.pool)
    .await
    .unwrap();
    let doc = run(&app, "/api/analytics/land_by_price_zone").await;
    assert_eq!(zones(&doc), BTreeMap::from([(1, 2), (2, 0)]));
    // LP2's area follows its geometry (1 ha → a quarter).
    let ha = |doc: &Value| num(&rows(doc)[0]["area_ha"]);
    let before = ha(&doc);
    sqlx::query(&format!(
        "UPDATE land_plots SET geom = {} WHERE id = 2",
        square(30.014, 50.0, 30.015, 50.0005)
    ))
    .execute(&db.pool)
    .await
    .unwrap();
    let after = ha(&run(&app, "/api/analytics/land_by_price_zone").await);
    let lp2_before = rect_area(30.014, 50.0, 30.016, 50.001) / 1e4;
    let lp2_after = rect_area(30.014, 50.0, 30.015, 50.0005) / 1e4;
    assert!(
        close(before - after, lp2_before - lp2_after, 0.01),
        "{before} → {after}"
    );
    // A new appeal in A2, inserted in SQL, counts at once in the admin view;
    // deleting the row removes it.
    let count_a2 = |doc: &Value| by_id(doc)[&2]["appeals"].as_i64().unwrap();
    let a2 = count_a2(&run(&app, "/api/analytics/appeals_by_district?kind=admin").await);
    sqlx::query(&format!(
        "INSERT INTO appeals (id, public_number, kind, category, description, status, author_name, phone, geom) VALUES \
         (77, 'ZH-2025-000077', 'complaint', 'roads', 'x', 'submitted', 'N', '+380500000777', {})",
        point((30.03, 50.005))
    ))
    .execute(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        count_a2(&run(&app, "/api/analytics/appeals_by_district?kind=admin").await),
        a2 + 1
    );
    sqlx::query("DELETE FROM appeals WHERE id = 77")
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        count_a2(&run(&app, "/api/analytics/appeals_by_district?kind=admin").await),
        a2
    );
    let (places,): (i64,) = sqlx::query_as("SELECT count(*) FROM analytics_places WHERE tbl = 'appeals' AND id = 77")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(places, 0);
}

#[tokio::test]
async fn an_analysis_reading_an_untracked_table_is_never_cached() {
    let (db, _) = setup().await;
    // A register with history but without the analytics version triggers
    // (a migration that forgot `analytics_track`): its changes would go unseen.
    sqlx::raw_sql(
        "CREATE TABLE kiosk_counts (id bigint PRIMARY KEY, district_id bigint, n integer); \
         CREATE TRIGGER history AFTER INSERT OR UPDATE OR DELETE ON kiosk_counts \
         FOR EACH ROW EXECUTE FUNCTION geoportal_history(); \
         INSERT INTO kiosk_counts VALUES (1, 1, 5);",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("analytics"),
        &tmp.path().join("analytics"),
    );
    std::fs::write(
        tmp.path().join("analytics/indicators/kiosks.sql"),
        "SELECT k.district_id, sum(k.n) AS value FROM kiosk_counts k GROUP BY 1",
    )
    .unwrap();
    let mut ind = std::fs::read_to_string(tmp.path().join("analytics/indicators.toml")).unwrap();
    ind.push_str(
        "\n[[indicators]]\nname = \"kiosks\"\ntitle = { uk = \"Кіоски\", en = \"Kiosks\" }\nunit = \"count\"\n\
         direction = \"neutral\"\nsql = \"indicators/kiosks.sql\"\n",
    );
    std::fs::write(tmp.path().join("analytics/indicators.toml"), ind).unwrap();
    let mut config = geoportal::config::Config::defaults();
    config.layers_dir = tmp.path().join("layers");
    let app = geoportal::server::router(geoportal::server::AppState::new(
        db.pool.clone(),
        Arc::new(common::registry(&db).await),
        Arc::new(config),
    ));
    let uri = "/api/analytics/district_indicators";
    assert_eq!(num(&by_id(&run(&app, uri).await)[&1]["kiosks"]), 5.0);
    let again = run(&app, uri).await;
    assert_eq!(again["cached"], false, "reads an untracked table");
    sqlx::query("UPDATE kiosk_counts SET n = 6")
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(num(&by_id(&run(&app, uri).await)[&1]["kiosks"]), 6.0);
    // An analysis that does not read it is cached as usual.
    run(&app, "/api/analytics/land_quality").await;
    assert_eq!(run(&app, "/api/analytics/land_quality").await["cached"], true);
}

/// The warmer (src/analytics/warm.rs): after a change made in plain SQL,
/// the `warm = true` analyses are recomputed into the cache for the new
/// data version before anyone asks, so the first caller gets a fresh
/// cached answer.
#[tokio::test]
async fn warm_analyses_are_cached_for_the_new_version_before_anyone_asks() {
    let (db, app) = setup().await;
    let current = || async {
        sqlx::query_scalar::<_, i64>("SELECT coalesce(sum(version), 0)::bigint FROM analytics_data_versions")
            .fetch_one(&db.pool)
            .await
            .unwrap()
    };
    let uri = "/api/analytics/appeals_hotspots";
    // The only request for it: computed at the version before the change.
    let before = run(&app, uri).await;
    let v0 = current().await;
    assert_eq!(before["data_version"], v0);
    sqlx::query("UPDATE appeals SET category = category WHERE id = (SELECT min(id) FROM appeals)")
        .execute(&db.pool)
        .await
        .unwrap();
    let v1 = current().await;
    assert!(v1 > v0, "the change bumps the data version");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while geoportal::analytics::warm::warmed(&db.name) != Some(v1) {
        assert!(std::time::Instant::now() < deadline, "not warmed for version {v1}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let after = run(&app, uri).await;
    assert_eq!(after["cached"], true, "{after}");
    assert_eq!(after["data_version"], v1);
    assert_eq!(current().await, v1);
    assert_ne!(after["computed_at"], before["computed_at"]);
    // Every value of the indicators' `kind` enum, never requested before.
    for kind in ["electoral", "admin"] {
        let doc = run(&app, &format!("/api/analytics/district_indicators?kind={kind}")).await;
        assert_eq!(doc["cached"], true, "{kind}");
        assert_eq!(doc["data_version"], v1, "{kind}");
    }
    // Not marked `warm`: computed by this request.
    let trend = run(&app, "/api/analytics/appeals_trend").await;
    assert_eq!(trend["cached"], false);
}
