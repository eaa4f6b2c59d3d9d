//! Import of files into layers and registers (issue 5, "Import"): every
//! format, encodings, reprojection, all-or-nothing with a per-row report,
//! dry runs, rights, perimeters, the size limit, tiles, history and the CLI.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestDb;
use geoportal::config::Config;
use geoportal::registry::Role;
use geoportal::server::{self, AppState};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// Zhytomyr's centre, inside the demo city.
const LON: f64 = 28.6587;
const LAT: f64 = 50.2547;

async fn token(db: &TestDb, name: &str, roles: &[Role]) -> String {
    let id = geoportal::users::add(&db.pool, name, roles, "long-password-1")
        .await
        .unwrap();
    let (token, _) = geoportal::auth::issue_session(&db.pool, id, std::time::Duration::from_secs(3600), None)
        .await
        .unwrap();
    token
}

/// POSTs `body` with `content_type`; returns status and JSON body.
async fn post(
    app: &axum::Router,
    uri: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = Request::post(uri).header(header::CONTENT_TYPE, content_type);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let response = app.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A square plot of about 20 m around (lon, lat) as a GeoJSON feature.
fn plot(cadastral: &str, lon: f64, lat: f64, ownership: &str) -> Value {
    let d = 0.0002;
    json!({
        "type": "Feature",
        "properties": {
            "Cadastral_Number": cadastral,
            "area_ha": "0,0400",
            "ownership": ownership,
            "use_status": "in_use",
            "purpose_code": "02.01",
            "note": "not a field"
        },
        "geometry": {"type": "Polygon", "coordinates": [[
            [lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]
        ]]}
    })
}

fn collection(features: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({"type": "FeatureCollection", "features": features})).unwrap()
}

async fn count(db: &TestDb, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// Web Mercator tile of a point.
fn tile_of(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = 2f64.powi(z as i32);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let lat = lat.to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    (x, y)
}

#[tokio::test]
async fn geojson_import_writes_one_batch_history_entry_and_refreshes_tiles() {
    let db = TestDb::new().await;
    let registry = common::registry(&db).await;
    let state = AppState::new(db.pool.clone(), Arc::new(registry), Arc::new(Config::defaults()));
    // Tiles are cached only while the change listener is connected.
    state.tiles.start_listener(&state.pool);
    let start = std::time::Instant::now();
    while !state.tiles.is_live() {
        assert!(start.elapsed().as_secs() < 5, "the tile listener never connected");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let app = server::router(state.clone());
    let land = token(&db, "land1", &[Role::LandEditor]).await;
    let (x, y) = tile_of(LON + 0.0001, LAT + 0.0001, 16);
    let tile_uri = format!("/tiles/land_plots/16/{x}/{y}.mvt");
    let (_, _, before) = common::get(&app, &tile_uri).await;
    let cached = |state: &AppState| state.tiles.keys().iter().any(|k| (k.z, k.x, k.y) == (16, x, y));
    assert!(cached(&state));

    let body = collection(vec![
        plot("1810100000:01:001:0001", LON, LAT, "communal"),
        plot("1810100000:01:001:0002", LON + 0.001, LAT, "private"),
    ]);
    let response = app
        .clone()
        .oneshot(
            Request::post("/api/layers/land_plots/import?filename=plots.geojson")
                .header(header::CONTENT_TYPE, "application/geo+json")
                .header(header::AUTHORIZATION, format!("Bearer {land}"))
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    // Dropped by the import itself before it answered, not later by NOTIFY.
    assert!(!cached(&state));
    let status = response.status();
    let report: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["committed"], true);
    assert_eq!(report["rows_read"], 2);
    assert_eq!(report["rows_imported"], 2);
    assert_eq!(report["columns"]["Cadastral_Number"], "cadastral_number");
    assert_eq!(report["ignored_columns"], json!(["note"]));
    assert_eq!(count(&db, "land_plots").await, 2);
    let area: f64 =
        sqlx::query_scalar("SELECT area_ha::float8 FROM land_plots WHERE cadastral_number = '1810100000:01:001:0001'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(area, 0.04);

    // One import batch, finished, with the file's checksum and row counts.
    let batch_id = report["batch_id"].as_i64().unwrap();
    let (actor, source, sha, counts, finished): (String, String, String, Value, bool) = sqlx::query_as(
        "SELECT actor, source, source_sha256, row_counts, finished_at IS NOT NULL FROM import_batches WHERE id = $1",
    )
    .bind(batch_id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(actor, "user:land1");
    assert_eq!(source, "land_plots:plots.geojson");
    assert_eq!(sha, report["sha256"].as_str().unwrap());
    assert_eq!(counts, json!({"land_plots": 2}));
    assert!(finished);
    // History: one bulk_load entry for the batch, no per-row entries.
    let entries: Vec<(String, String, Option<i64>)> =
        sqlx::query_as("SELECT operation, actor, batch_id FROM history WHERE table_name = 'land_plots'")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        entries,
        vec![("bulk_load".to_string(), "user:land1".to_string(), Some(batch_id))]
    );

    // The cached tile was dropped before the answer: the new plot shows.
    let (_, _, after) = common::get(&app, &tile_uri).await;
    assert_ne!(before, after);
    assert!(after.len() > before.len());
}

#[tokio::test]
async fn one_bad_row_writes_nothing_and_is_reported_alone() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let land = token(&db, "land1", &[Role::LandEditor]).await;
    let before = common::all_table_checksums(&db.pool).await;

    // Row 3 repeats row 1's cadastral number: only the database's unique
    // index can tell, inside that row's savepoint.
    let body = collection(vec![
        plot("1810100000:01:001:0001", LON, LAT, "communal"),
        plot("1810100000:01:001:0002", LON + 0.001, LAT, "private"),
        plot("1810100000:01:001:0001", LON + 0.002, LAT, "state"),
    ]);
    let (status, problem) = post(
        &app,
        "/api/layers/land_plots/import",
        Some(&land),
        "application/geo+json",
        body,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let rejected = problem["report"]["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{problem}");
    assert_eq!(rejected[0]["row"], 3);
    assert_eq!(rejected[0]["field"], "cadastral_number");
    assert_eq!(problem["report"]["committed"], false);
    assert_eq!(common::all_table_checksums(&db.pool).await, before);

    // A value outside the code list is caught before the database, with the
    // allowed values named.
    let body = collection(vec![
        plot("1810100000:01:001:0001", LON, LAT, "communal"),
        plot("1810100000:01:001:0002", LON + 0.001, LAT, "municipal"),
    ]);
    let (status, problem) = post(
        &app,
        "/api/layers/land_plots/import",
        Some(&land),
        "application/geo+json",
        body,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        problem["report"]["rejected"],
        json!([{"row": 2, "field": "ownership", "message": "`municipal` is not one of: state, communal, private, unknown"}])
    );
    assert_eq!(common::all_table_checksums(&db.pool).await, before);
}

#[tokio::test]
async fn dry_run_reports_and_writes_nothing() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let land = token(&db, "land1", &[Role::LandEditor]).await;
    let before = common::all_table_checksums(&db.pool).await;
    let body = collection(vec![plot("1810100000:01:001:0001", LON, LAT, "communal")]);
    let (status, report) = post(
        &app,
        "/api/layers/land_plots/import?dry_run=true",
        Some(&land),
        "application/geo+json",
        body,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["committed"], false);
    assert_eq!(report["rows_imported"], 1);
    assert_eq!(common::all_table_checksums(&db.pool).await, before);

    // Projected coordinates without their crs cannot pass as lon/lat.
    let body = collection(vec![plot("1810100000:01:001:0001", 330_000.0, 5_570_000.0, "communal")]);
    let (status, problem) = post(
        &app,
        "/api/layers/land_plots/import?dry_run=1",
        Some(&land),
        "application/geo+json",
        body,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = problem["report"]["rejected"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("do not become longitude/latitude from EPSG:4326"),
        "{message}"
    );
    assert_eq!(common::all_table_checksums(&db.pool).await, before);
}

#[tokio::test]
async fn rights_are_checked_before_the_file_is_read() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let ads = token(&db, "ads1", &[Role::AdsEditor]).await;
    let body = collection(vec![plot("1810100000:01:001:0001", LON, LAT, "communal")]);
    let uri = "/api/layers/land_plots/import";
    let (status, _) = post(&app, uri, None, "application/geo+json", body.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post(&app, uri, Some(&ads), "application/geo+json", body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = post(
        &app,
        "/api/layers/no_such/import",
        Some(&ads),
        "application/geo+json",
        body.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Registers follow their own table of roles.
    let (status, _) = post(
        &app,
        "/api/layers/energy_readings/import",
        Some(&ads),
        "text/csv",
        b"a\n1\n".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(count(&db, "land_plots").await, 0);
}

#[tokio::test]
async fn a_perimeter_limited_editor_imports_only_inside_it() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let land = token(&db, "land2", &[Role::LandEditor]).await;
    sqlx::query(
        "UPDATE users SET perimeter = ST_Multi(ST_MakeEnvelope($1 - 0.001, $2 - 0.001, $1 + 0.001, $2 + 0.001, 4326)) \
         WHERE username = 'land2'",
    )
    .bind(LON)
    .bind(LAT)
    .execute(&db.pool)
    .await
    .unwrap();
    let body = collection(vec![
        plot("1810100000:01:001:0001", LON, LAT, "communal"),
        plot("1810100000:01:001:0002", LON + 0.01, LAT, "communal"),
    ]);
    let (status, problem) = post(
        &app,
        "/api/layers/land_plots/import",
        Some(&land),
        "application/geo+json",
        body,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        problem["report"]["rejected"],
        json!([{"row": 2, "field": "geom", "message": "outside your editing perimeter"}])
    );
    let body = collection(vec![plot("1810100000:01:001:0001", LON, LAT, "communal")]);
    let (status, _) = post(
        &app,
        "/api/layers/land_plots/import",
        Some(&land),
        "application/geo+json",
        body,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn files_over_the_import_limit_get_413() {
    let db = TestDb::new().await;
    let mut config = Config::defaults();
    config.import_limit = 2_000;
    let registry = common::registry(&db).await;
    let app = server::router(AppState::new(db.pool.clone(), Arc::new(registry), Arc::new(config)));
    let land = token(&db, "land1", &[Role::LandEditor]).await;
    let features = (1..=20)
        .map(|i| {
            plot(
                &format!("1810100000:01:001:{i:04}"),
                LON + 0.001 * f64::from(i),
                LAT,
                "communal",
            )
        })
        .collect();
    let body = collection(features);
    assert!(body.len() > 2_000);
    let (status, problem) = post(
        &app,
        "/api/layers/land_plots/import",
        Some(&land),
        "application/geo+json",
        body,
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
    // Beyond the JSON limit but within the import limit is fine for imports.
    let db2 = TestDb::new().await;
    let app2 = common::app(&db2).await;
    let land2 = token(&db2, "land1", &[Role::LandEditor]).await;
    let mut big = plot("1810100000:01:001:0001", LON, LAT, "communal");
    big["properties"]["padding"] = json!("x".repeat(6 * 1024 * 1024));
    let (status, report) = post(
        &app2,
        "/api/layers/land_plots/import",
        Some(&land2),
        "application/geo+json",
        collection(vec![big]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
}

#[tokio::test]
async fn csv_with_semicolons_lon_lat_and_cp1251_text() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let ads = token(&db, "ads1", &[Role::AdsEditor]).await;
    let text = format!(
        "distributor_name;type;status;lighting;planes;lat;lon\n\
         ТОВ \"Реклама-Житомир\";billboard;permitted;так;2;{};{}\n",
        LAT.to_string().replace('.', ","),
        LON.to_string().replace('.', ",")
    );
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&text);
    // Permitted structures need a permit number: give it as a default.
    let uri = "/api/layers/ad_structures/import?defaults=%7B%22permit_number%22%3A%22P-1%22%7D";
    let (status, report) = post(&app, uri, Some(&ads), "text/csv", bytes.into_owned()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let (name, lighting, planes, lon, lat): (String, bool, i16, f64, f64) =
        sqlx::query_as("SELECT distributor_name, lighting, planes, ST_X(geom), ST_Y(geom) FROM ad_structures")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(name, "ТОВ \"Реклама-Житомир\"");
    assert!(lighting);
    assert_eq!(planes, 2);
    assert!((lon - LON).abs() < 1e-9 && (lat - LAT).abs() < 1e-9);
}

/// Coordinates of (lon, lat) in `srid`, from PostGIS.
async fn project(db: &TestDb, lon: f64, lat: f64, srid: i32) -> (f64, f64) {
    sqlx::query_as("SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 4326), $3) p")
        .bind(lon)
        .bind(lat)
        .bind(srid)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

fn zip(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in files {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// The members of a Shapefile of one plot in UCS-2000 / Ukraine TM zone 10
/// (EPSG:6384) with CP1251 attributes and no .cpg.
async fn shapefile_members(db: &TestDb, dir: &std::path::Path) -> Vec<(&'static str, Vec<u8>)> {
    use shapefile::dbase::{self, FieldValue};
    let d = 0.0003;
    let mut ring = Vec::new();
    for (lon, lat) in [
        (LON, LAT),
        (LON, LAT + d),
        (LON + d, LAT + d),
        (LON + d, LAT),
        (LON, LAT),
    ] {
        let (x, y) = project(db, lon, lat, 6384).await;
        ring.push(shapefile::Point::new(x, y));
    }
    let polygon = shapefile::Polygon::new(shapefile::PolygonRing::Outer(ring));
    let path = dir.join("plots.shp");
    let builder =
        dbase::TableWriterBuilder::with_encoding(dbase::encoding::EncodingRs::from(encoding_rs::WINDOWS_1251))
            .add_character_field("KADNUM".try_into().unwrap(), 30)
            .add_character_field("USER_NAME".try_into().unwrap(), 60)
            .add_numeric_field("AREA_HA".try_into().unwrap(), 12, 4)
            .add_character_field("OWNERSHIP".try_into().unwrap(), 20)
            .add_character_field("USE_STATUS".try_into().unwrap(), 20);
    {
        let mut writer = shapefile::Writer::from_path(&path, builder).unwrap();
        let mut record = dbase::Record::default();
        record.insert(
            "KADNUM".into(),
            FieldValue::Character(Some("1810100000:02:003:0004".into())),
        );
        record.insert(
            "USER_NAME".into(),
            FieldValue::Character(Some("Іваненко Ґражина Євгенівна".into())),
        );
        record.insert("AREA_HA".into(), FieldValue::Numeric(Some(0.0625)));
        record.insert("OWNERSHIP".into(), FieldValue::Character(Some("private".into())));
        record.insert("USE_STATUS".into(), FieldValue::Character(Some("privatized".into())));
        writer.write_shape_and_record(&polygon, &record).unwrap();
    }
    let read = |ext: &str| std::fs::read(path.with_extension(ext)).unwrap();
    let prj = "PROJCS[\"UCS-2000_Ukraine_TM_zone_10\",GEOGCS[\"GCS_UCS_2000\",DATUM[\"D_Ukraine_2000\",\
               SPHEROID[\"Krasovsky_1940\",6378245.0,298.3]],PRIMEM[\"Greenwich\",0.0],UNIT[\"Degree\",0.0174532925199433]],\
               PROJECTION[\"Transverse_Mercator\"],PARAMETER[\"False_Easting\",500000.0],PARAMETER[\"Central_Meridian\",30.0],\
               UNIT[\"Meter\",1.0]]";
    vec![
        ("plots.shp", read("shp")),
        ("plots.shx", read("shx")),
        ("plots.dbf", read("dbf")),
        ("plots.prj", prj.as_bytes().to_vec()),
    ]
}

#[tokio::test]
async fn zipped_shapefile_in_ucs2000_tm10_with_cp1251_attributes() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let land = token(&db, "land1", &[Role::LandEditor]).await;
    let dir = tempfile::tempdir().unwrap();
    let members = shapefile_members(&db, dir.path()).await;
    let body = zip(&members);
    // DBF names are short: KADNUM is mapped explicitly, the rest by name.
    let uri = "/api/layers/land_plots/import?filename=plots.zip&mapping=%7B%22KADNUM%22%3A%22cadastral_number%22%7D";
    let (status, report) = post(&app, uri, Some(&land), "application/zip", body).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["crs"], "EPSG:6384");
    assert_eq!(report["source"], "plots.zip");
    assert_eq!(report["format"], "shapefile");
    let (user, cad, dx, dy, gtype): (String, String, f64, f64, String) = sqlx::query_as(
        "SELECT user_name, cadastral_number::text, abs(ST_XMin(geom) - $1), abs(ST_YMin(geom) - $2), GeometryType(geom) \
         FROM land_plots",
    )
    .bind(LON)
    .bind(LAT)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(user, "Іваненко Ґражина Євгенівна");
    assert_eq!(cad, "1810100000:02:003:0004");
    assert_eq!(gtype, "MULTIPOLYGON");
    assert!(
        dx < 1e-7 && dy < 1e-7,
        "reprojected back within a centimetre: {dx} {dy}"
    );

    // A .cpg is honoured, and `encoding` overrides it.
    let mut with_cpg = members.clone();
    with_cpg.push(("plots.cpg", b"UTF-8".to_vec()));
    let base = "/api/layers/land_plots/import?mapping=%7B%22KADNUM%22%3A%22cadastral_number%22%7D";
    let name = import_user_name(&app, &db, &land, base, zip(&with_cpg)).await;
    assert!(name.contains('\u{fffd}'), "decoded as UTF-8 per the .cpg: {name}");
    let uri = format!("{base}&encoding=cp1251");
    let name = import_user_name(&app, &db, &land, &uri, zip(&with_cpg)).await;
    assert_eq!(name, "Іваненко Ґражина Євгенівна");
    let uri = format!("{base}&encoding=latin1");
    let name = import_user_name(&app, &db, &land, &uri, zip(&members)).await;
    assert_ne!(name, "Іваненко Ґражина Євгенівна");
}

/// Empties land_plots, imports `body` and answers the plot's user_name.
async fn import_user_name(app: &axum::Router, db: &TestDb, token: &str, uri: &str, body: Vec<u8>) -> String {
    sqlx::query("DELETE FROM land_plots").execute(&db.pool).await.unwrap();
    let (status, report) = post(app, uri, Some(token), "application/zip", body).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    sqlx::query_scalar("SELECT user_name FROM land_plots")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// A GeoPackage geometry blob: header (little-endian, no envelope) + WKB.
fn gpkg_point(x: f64, y: f64, srs: i32) -> Vec<u8> {
    let mut b = vec![b'G', b'P', 0, 0b0000_0001];
    b.extend_from_slice(&srs.to_le_bytes());
    b.push(1);
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&x.to_le_bytes());
    b.extend_from_slice(&y.to_le_bytes());
    b
}

#[tokio::test]
async fn geopackage_points_via_multipart() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let ads = token(&db, "ads1", &[Role::AdsEditor]).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ads.gpkg");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, \
               organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
             INSERT INTO gpkg_spatial_ref_sys VALUES ('UCS-2000 / Ukraine TM zone 10', 6384, 'EPSG', 6384, 'undefined', NULL);
             CREATE TABLE gpkg_contents (table_name TEXT PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT, \
               description TEXT DEFAULT '', last_change DATETIME, min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER);
             INSERT INTO gpkg_contents (table_name, data_type, srs_id) VALUES ('billboards', 'features', 6384);
             CREATE TABLE gpkg_geometry_columns (table_name TEXT, column_name TEXT, geometry_type_name TEXT, \
               srs_id INTEGER, z TINYINT, m TINYINT);
             INSERT INTO gpkg_geometry_columns VALUES ('billboards', 'shape', 'POINT', 6384, 0, 0);
             CREATE TABLE billboards (fid INTEGER PRIMARY KEY AUTOINCREMENT, shape BLOB, owner TEXT, type TEXT, \
               status TEXT, width_m REAL);",
        )
        .unwrap();
        for (i, (lon, lat)) in [(LON, LAT), (LON + 0.001, LAT)].into_iter().enumerate() {
            let (x, y) = project(&db, lon, lat, 6384).await;
            conn.execute(
                "INSERT INTO billboards (shape, owner, type, status, width_m) VALUES (?1, ?2, 'citylight', 'applied', 1.2)",
                rusqlite::params![gpkg_point(x, y, 6384), format!("ФОП Коваль {i}")],
            )
            .unwrap();
        }
    }
    let file = std::fs::read(&path).unwrap();
    let boundary = "XyZ-boundary-42";
    let mut body = Vec::new();
    let text_part = |name: &str, value: &str| {
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").into_bytes()
    };
    body.extend(text_part("mapping", r#"{"owner":"distributor_name"}"#));
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ads.gpkg\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes(),
    );
    body.extend(file);
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let (status, report) = post(
        &app,
        "/api/layers/ad_structures/import",
        Some(&ads),
        &format!("multipart/form-data; boundary={boundary}"),
        body,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["format"], "geopackage");
    assert_eq!(report["crs"], "EPSG:6384");
    assert_eq!(report["source"], "ads.gpkg");
    let rows: Vec<(String, f64, f64)> =
        sqlx::query_as("SELECT distributor_name, ST_X(geom), ST_Y(geom) FROM ad_structures ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, "ФОП Коваль 0");
    assert!(
        (rows[0].1 - LON).abs() < 1e-7 && (rows[0].2 - LAT).abs() < 1e-7,
        "{rows:?}"
    );
}

/// A State Land Cadastre exchange file of one parcel with UCS-2000
/// Gauss-Krüger zone 5 coordinates (X north, Y east), two boundary lines
/// (the second written backwards), in windows-1251.
async fn cadastral_xml(db: &TestDb) -> Vec<u8> {
    let d = 0.0004;
    let mut points = String::new();
    for (i, (lon, lat)) in [(LON, LAT), (LON + d, LAT), (LON + d, LAT + d), (LON, LAT + d)]
        .into_iter()
        .enumerate()
    {
        let (east, north) = project(db, lon, lat, 5563).await;
        points.push_str(&format!(
            "<Point><UIDP>{}</UIDP><PN>{}</PN><X>{north:.3}</X><Y>{east:.3}</Y></Point>",
            i + 1,
            i + 1
        ));
    }
    let xml = format!(
        r#"<?xml version="1.0" encoding="windows-1251"?>
<UkrainianCadastralExchangeFile>
  <AdditionalPart><ServiceInfo><FormatVersion>1.0</FormatVersion></ServiceInfo></AdditionalPart>
  <InfoPart>
    <MetricInfo>
      <PointInfo>{points}</PointInfo>
      <Polyline>
        <PL><ULID>1</ULID><Points><P>1</P><P>2</P><P>3</P></Points></PL>
        <PL><ULID>2</ULID><Points><P>1</P><P>4</P><P>3</P></Points></PL>
      </Polyline>
      <CoordinateSystem><USC2000/></CoordinateSystem>
    </MetricInfo>
    <CadastralZoneInfo>
      <KOATUU>1810100000</KOATUU>
      <CadastralZoneNumber>05</CadastralZoneNumber>
      <CadastralQuarters>
        <CadastralQuarterInfo>
          <CadastralQuarterNumber>012</CadastralQuarterNumber>
          <Parcels>
            <ParcelInfo>
              <ParcelMetricInfo>
                <ParcelID>0034</ParcelID>
                <Area><MeasurementUnit>кв.м</MeasurementUnit><Size>1250</Size></Area>
                <Externals><Boundary><Lines><Line><ULID>1</ULID></Line><Line><ULID>2</ULID></Line></Lines></Boundary></Externals>
              </ParcelMetricInfo>
              <CategoryPurposeInfo><Purpose>02.01</Purpose></CategoryPurposeInfo>
              <OwnershipInfo><Code>200</Code></OwnershipInfo>
              <ParcelLocationInfo><ParcelAddress><StreetType>вулиця</StreetType><StreetName>Київська</StreetName><Building>7</Building></ParcelAddress></ParcelLocationInfo>
            </ParcelInfo>
          </Parcels>
        </CadastralQuarterInfo>
      </CadastralQuarters>
    </CadastralZoneInfo>
  </InfoPart>
</UkrainianCadastralExchangeFile>"#
    );
    encoding_rs::WINDOWS_1251.encode(&xml).0.into_owned()
}

#[tokio::test]
async fn cadastral_exchange_file_becomes_a_land_plot() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let land = token(&db, "land1", &[Role::LandEditor]).await;
    let body = cadastral_xml(&db).await;
    let uri = "/api/layers/land_plots/import?defaults=%7B%22use_status%22%3A%22in_use%22%7D";
    let (status, report) = post(&app, uri, Some(&land), "application/xml", body).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["crs"], "EPSG:5563");
    let (cad, area, ownership, address, purpose, dx, dy): (String, f64, String, String, String, f64, f64) =
        sqlx::query_as(
            "SELECT cadastral_number::text, area_ha::float8, ownership, address, purpose_code, \
                    abs(ST_XMin(geom) - $1), abs(ST_YMin(geom) - $2) FROM land_plots",
        )
        .bind(LON)
        .bind(LAT)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(cad, "1810100000:05:012:0034");
    assert_eq!(area, 0.125);
    assert_eq!(ownership, "communal");
    assert_eq!(address, "вулиця Київська 7");
    assert_eq!(purpose, "02.01");
    assert!(dx < 1e-6 && dy < 1e-6, "{dx} {dy}");

    // SK-63 has no EPSG code: without crs the file cannot be placed.
    let xml = encoding_rs::WINDOWS_1251
        .decode(&cadastral_xml(&db).await)
        .0
        .replace("<USC2000/>", "<SC63><C/></SC63>");
    let (status, problem) = post(&app, uri, Some(&land), "application/xml", xml.into_bytes()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(problem["detail"].as_str().unwrap().contains("SK-63"), "{problem}");
}

#[tokio::test]
async fn geometry_outside_the_city_is_refused() {
    let db = TestDb::new().await.with_demo(0.03, 7).await;
    let app = common::app(&db).await;
    let land = token(&db, "land1", &[Role::LandEditor]).await;
    let before = common::all_table_checksums(&db.pool).await;
    // Kyiv is not Zhytomyr.
    let body = collection(vec![plot("1810100000:77:001:0001", 30.52, 50.45, "communal")]);
    let (status, problem) = post(
        &app,
        "/api/layers/land_plots/import",
        Some(&land),
        "application/geo+json",
        body,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = problem["report"]["rejected"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("outside the city boundary"), "{message}");
    assert_eq!(common::all_table_checksums(&db.pool).await, before);
}

#[tokio::test]
async fn registers_accruals_payments_and_meter_readings() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let property = token(&db, "prop1", &[Role::PropertyEditor]).await;
    let lease_id: i64 = sqlx::query_scalar(
        "WITH p AS (INSERT INTO communal_property (inventory_number, name, kind, balance_holder_name, use_status, geom) \
                    VALUES ('INV-1', 'School', 'building', 'City', 'leased', ST_SetSRID(ST_MakePoint($1, $2), 4326)) RETURNING id) \
         INSERT INTO leases (property_id, tenant_name, tenant_category, contract_number, start_date, end_date, \
                             leased_area_m2, monthly_rent_uah) \
         SELECT id, 'Cafe', 'business', 'L-2024/17', '2024-01-01', '2026-12-31', 40, 5000 FROM p RETURNING id",
    )
    .bind(LON)
    .bind(LAT)
    .fetch_one(&db.pool)
    .await
    .unwrap();

    // The accounting interface file names leases by contract number.
    let csv = "contract_number;period;amount_uah\nL-2024/17;2025-01;5000,00\nL-2024/17;2025-02;5000,00\n";
    let (status, report) = post(
        &app,
        "/api/layers/accruals/import",
        Some(&property),
        "text/csv",
        csv.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let periods: Vec<String> =
        sqlx::query_scalar("SELECT period::text FROM accruals WHERE lease_id = $1 ORDER BY period")
            .bind(lease_id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(periods, vec!["2025-01-01", "2025-02-01"]);

    // An unknown contract and a negative amount: both rows reported, nothing written.
    let before = common::all_table_checksums(&db.pool).await;
    let csv = "contract_number,paid_on,amount_uah,document_number\nL-2024/17,05.02.2025,5000,PP-1\nL-9,06.02.2025,10,PP-2\nL-2024/17,07.02.2025,-3,PP-3\n";
    let (status, problem) = post(
        &app,
        "/api/layers/payments/import",
        Some(&property),
        "text/csv",
        csv.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let rejected = &problem["report"]["rejected"];
    assert_eq!(rejected.as_array().unwrap().len(), 2, "{problem}");
    assert_eq!(rejected[0]["row"], 2);
    assert_eq!(rejected[0]["field"], "contract_number");
    assert_eq!(rejected[1]["row"], 3);
    assert_eq!(rejected[1]["field"], "amount_uah");
    assert_eq!(common::all_table_checksums(&db.pool).await, before);

    // Meter readings: a CSV by an energy editor, then a meter system's day by API key.
    let energy = token(&db, "energy1", &[Role::EnergyEditor]).await;
    let object_id: i64 = sqlx::query_scalar(
        "INSERT INTO energy_objects (name, kind, heated_area_m2, geom) \
         VALUES ('School 1', 'school', 1500, ST_SetSRID(ST_MakePoint($1, $2), 4326)) RETURNING id",
    )
    .bind(LON)
    .bind(LAT)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let csv = format!("object_id,resource,reading_date,quantity\n{object_id},heat_gcal,2025-01-10,1.25\n");
    let (status, report) = post(
        &app,
        "/api/layers/energy_readings/import",
        Some(&energy),
        "text/csv",
        csv.into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");

    let key = geoportal::auth::secret::generate("gpk_");
    sqlx::query(
        "INSERT INTO api_keys (name, prefix, key_sha256, roles) VALUES ('meters', 'gpk_', $1, '{energy_editor}')",
    )
    .bind(geoportal::auth::secret::digest(&key))
    .execute(&db.pool)
    .await
    .unwrap();
    let day = json!({"date": "2025-01-11", "readings": [
        {"object_id": object_id, "resource": "heat_gcal", "quantity": 1.5, "meter_number": "M-7"},
        {"object_id": object_id, "resource": "electricity_kwh", "quantity": 320}
    ]});
    let send = |body: Value, key: Option<String>| {
        let app = app.clone();
        async move {
            let mut req = Request::post("/api/energy/readings").header(header::CONTENT_TYPE, "application/json");
            if let Some(k) = key {
                req = req.header("X-API-Key", k);
            }
            let response = app
                .oneshot(req.body(Body::from(body.to_string())).unwrap())
                .await
                .unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null))
        }
    };
    let (status, _) = send(day.clone(), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, report) = send(day.clone(), Some(key.clone())).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["rows_imported"], 2);
    let actor: String = sqlx::query_scalar("SELECT actor FROM import_batches ORDER BY id DESC LIMIT 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(actor.starts_with("api_key:"), "{actor}");
    // The same day again breaks "one reading per object, resource and day".
    let (status, problem) = send(day, Some(key)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["report"]["rejected"].as_array().unwrap().len(), 2);
    assert_eq!(count(&db, "energy_readings").await, 3);
}

#[tokio::test]
async fn cli_imports_with_a_dry_run_first() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let file: PathBuf = dir.path().join("plots.geojson");
    std::fs::write(
        &file,
        collection(vec![
            plot("1810100000:01:001:0001", LON, LAT, "communal"),
            plot("1810100000:01:001:0002", LON + 0.001, LAT, "private"),
        ]),
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut cmd = common::binary::command(&db.url());
        cmd.env("GEOPORTAL_DATA_DIR", dir.path())
            .env("USER", "clerk")
            .args(["import", "--layer", "land_plots"])
            .args(extra)
            .arg(&file);
        cmd.output().unwrap()
    };
    let out = run(&["--dry-run"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 would be imported"));
    assert_eq!(count(&db, "land_plots").await, 0);
    let out = run(&["--crs", "EPSG:4326"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&db, "land_plots").await, 2);
    let actor: String = sqlx::query_scalar("SELECT actor FROM history WHERE table_name = 'land_plots'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(actor, "cli:clerk");
    // Again: every row now breaks the unique cadastral number; exit status says so.
    let out = run(&[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("row 1: cadastral_number") && stderr.contains("row 2: cadastral_number"),
        "{stderr}"
    );
    assert_eq!(count(&db, "land_plots").await, 2);
}

#[tokio::test]
async fn csv_wkt_in_sk63_given_as_a_proj_string() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let ads = token(&db, "ads1", &[Role::AdsEditor]).await;
    // SK-63 has no EPSG code; a zone is named by its PROJ string.
    let sk63 = "+proj=tmerc +lat_0=-0.1 +lon_0=29.05 +k=1 +x_0=2250000 +y_0=-9214.69 +ellps=krass \
                +towgs84=23.92,-141.27,-80.9,0,0.35,0.82,-0.12 +units=m +no_defs";
    let (x, y): (f64, f64) =
        sqlx::query_as("SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 4326), $3::text) p")
            .bind(LON)
            .bind(LAT)
            .bind(sk63)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let csv = format!("distributor_name,type,status,wkt\nA,sign,applied,POINT({x} {y})\n");
    let uri = format!("/api/layers/ad_structures/import?crs={}", urlencode(sk63));
    let (status, report) = post(&app, &uri, Some(&ads), "text/csv", csv.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let (lon, lat): (f64, f64) = sqlx::query_as("SELECT ST_X(geom), ST_Y(geom) FROM ad_structures")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!((lon - LON).abs() < 1e-7 && (lat - LAT).abs() < 1e-7, "{lon} {lat}");
    // A PROJ string PROJ cannot use is the caller's mistake.
    let (status, _) = post(
        &app,
        "/api/layers/ad_structures/import?crs=%2Bproj%3Dnonsense",
        Some(&ads),
        "text/csv",
        b"distributor_name,type,status,wkt\nA,sign,applied,POINT(1 2)\n".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
