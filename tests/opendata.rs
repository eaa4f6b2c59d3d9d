//! Open data (resolution 835) on the demo city: `/opendata` lists every
//! dataset with its structure; every download parses (CSV with `csv`,
//! GeoJSON with `geojson`, JSON with serde_json) with the row count of an
//! independent SQL count; no individual's 10-digit tax number or private
//! tenant's name appears anywhere; `geoportal export DIR` writes every file.

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::TestDb;

/// Each dataset and its row count, counted here independently of the module.
const COUNTS: &[(&str, &str)] = &[
    (
        "communal_property",
        "SELECT count(*) FROM communal_property WHERE deleted_at IS NULL",
    ),
    (
        "leased_property",
        "SELECT count(*) FROM leases l JOIN communal_property p ON p.id = l.property_id WHERE l.deleted_at IS NULL AND p.deleted_at IS NULL",
    ),
    (
        "vacant_for_lease",
        "SELECT (SELECT count(*) FROM communal_property WHERE deleted_at IS NULL AND use_status = 'vacant') \
         + (SELECT count(*) FROM land_plots WHERE deleted_at IS NULL AND ownership = 'communal' AND use_status = 'free')",
    ),
    (
        "land_offered_for_building",
        "SELECT count(*) FROM land_plots WHERE deleted_at IS NULL AND use_status = 'offered_for_building'",
    ),
    (
        "communal_land_leased_or_privatised",
        "SELECT count(*) FROM land_plots WHERE deleted_at IS NULL AND (use_status = 'privatized' OR (use_status = 'leased' AND ownership = 'communal'))",
    ),
    (
        "advertising_permits",
        "SELECT count(*) FROM ad_structures WHERE deleted_at IS NULL AND permit_number IS NOT NULL",
    ),
    (
        "temporary_structures",
        "SELECT count(*) FROM temporary_structures WHERE deleted_at IS NULL",
    ),
    ("deputies", "SELECT count(*) FROM deputies WHERE deleted_at IS NULL"),
];

const AD_FIELDS: &[&str] = &[
    "id",
    "issuedDate",
    "distributorName",
    "distributorId",
    "status",
    "validFrom",
    "validThrough",
    "contractNumber",
    "type",
    "planesValue",
    "horizontalSize",
    "verticalSize",
    "area",
    "address",
    "lat",
    "lon",
    "imageUrl",
];

const TEMPORARY_FIELDS: &[&str] = &[
    "title",
    "type",
    "ownerName",
    "ownerCode",
    "passportNumber",
    "passportStatus",
    "passportIssuedDate",
    "passportDateUntil",
    "lat",
    "lon",
];

#[tokio::test(flavor = "multi_thread")]
async fn every_dataset_is_listed_downloads_parse_and_no_private_data() {
    let db = TestDb::new().await.with_demo(0.03, 42).await;
    let app = common::app(&db).await;

    let (status, list) = common::get_json(&app, "/opendata").await;
    assert_eq!(status, StatusCode::OK);
    let datasets = list["datasets"].as_array().unwrap();
    let ids: BTreeSet<&str> = datasets.iter().map(|d| d["id"].as_str().unwrap()).collect();
    let expected: BTreeSet<&str> = COUNTS.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, expected);
    let field_names = |id: &str| -> Vec<String> {
        let d = datasets.iter().find(|d| d["id"] == id).unwrap();
        d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                assert!(f["type"].is_string() && f["title"]["uk"].is_string() && f["title"]["en"].is_string());
                f["name"].as_str().unwrap().to_string()
            })
            .collect()
    };
    assert_eq!(field_names("advertising_permits"), AD_FIELDS);
    assert_eq!(field_names("temporary_structures")[1..], *TEMPORARY_FIELDS);

    // Every 10-digit code and every private tenant's name in the database:
    // none may be published.
    let codes: Vec<String> = sqlx::query_scalar(
        "SELECT c FROM (SELECT tenant_edrpou::text AS c FROM leases UNION SELECT user_edrpou FROM land_plots \
         UNION SELECT owner_edrpou FROM temporary_structures UNION SELECT distributor_edrpou FROM ad_structures \
         UNION SELECT balance_holder_edrpou FROM communal_property) x WHERE c ~ '^[0-9]{10}$'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(
        !codes.is_empty(),
        "the demo city should hold individuals' tax numbers to test against"
    );
    let private_names: Vec<String> = sqlx::query_scalar(
        "SELECT tenant_name FROM leases WHERE tenant_category = 'individual' \
         UNION SELECT user_name FROM land_plots WHERE user_edrpou ~ '^[0-9]{10}$'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();

    for (id, count_sql) in COUNTS {
        let expected: i64 = sqlx::query_scalar(count_sql).fetch_one(&db.pool).await.unwrap();
        assert!(expected > 0, "the demo city should fill {id}");
        let formats: Vec<String> = datasets.iter().find(|d| d["id"] == *id).unwrap()["formats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_string())
            .collect();
        assert!(formats.contains(&"csv".to_string()) && formats.contains(&"json".to_string()));
        for format in &formats {
            let (status, content_type, body) = common::get(&app, &format!("/opendata/{id}.{format}")).await;
            assert_eq!(status, StatusCode::OK, "{id}.{format}");
            let text = String::from_utf8(body).expect("UTF-8");
            let rows = match format.as_str() {
                "csv" => {
                    assert!(content_type.starts_with("text/csv"));
                    let mut reader = csv::Reader::from_reader(text.as_bytes());
                    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
                    assert_eq!(header[0], "id");
                    // A geometry column only where there is geometry.
                    let with_geometry = formats.contains(&"geojson".to_string());
                    assert_eq!(
                        header.last().map(String::as_str) == Some("geometry"),
                        with_geometry,
                        "{id}.csv header {header:?}"
                    );
                    assert_eq!(
                        header.iter().filter(|h| *h == "geometry").count(),
                        usize::from(with_geometry)
                    );
                    let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().unwrap();
                    assert!(records.iter().all(|r| r.len() == header.len()), "{id}.csv");
                    records.len() as i64
                }
                "json" => {
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                    v.as_array().unwrap().len() as i64
                }
                "geojson" => {
                    let fc = match text.parse::<geojson::GeoJson>().unwrap() {
                        geojson::GeoJson::FeatureCollection(fc) => fc,
                        other => panic!("{id}: not a FeatureCollection: {other:?}"),
                    };
                    assert!(fc.features.iter().all(|f| f.geometry.is_some()));
                    fc.features.len() as i64
                }
                other => panic!("unexpected format {other}"),
            };
            assert_eq!(rows, expected, "{id}.{format}");
            for code in &codes {
                assert!(!text.contains(code.as_str()), "{id}.{format} publishes a 10-digit code");
            }
            for name in &private_names {
                assert!(
                    !text.contains(name.as_str()),
                    "{id}.{format} publishes a private person's name"
                );
            }
        }
    }

    // Deputies have no geometry: their CSV has exactly the listed fields.
    let (_, _, body) = common::get(&app, "/opendata/deputies.csv").await;
    let mut reader = csv::Reader::from_reader(body.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, field_names("deputies"));

    // vacant_for_lease mixes two tables: its id is `<objectType>-<objectId>`,
    // unique, and stays put when another row leaves the dataset.
    let vacant_ids = |json: serde_json::Value| -> Vec<String> {
        json.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let id = r["id"].as_str().expect("a text id").to_string();
                let expected = format!("{}-{}", r["objectType"].as_str().unwrap(), r["objectId"]);
                assert_eq!(id, expected);
                id
            })
            .collect()
    };
    // One of each kind for certain, whatever the tiny demo city holds.
    for sql in [
        "UPDATE communal_property SET use_status = 'vacant' \
         WHERE id = (SELECT max(id) FROM communal_property WHERE deleted_at IS NULL)",
        "UPDATE land_plots SET ownership = 'communal', use_status = 'free' \
         WHERE id = (SELECT max(id) FROM land_plots WHERE deleted_at IS NULL)",
    ] {
        sqlx::query(sql).execute(&db.pool).await.unwrap();
    }
    let (_, json) = common::get_json(&app, "/opendata/vacant_for_lease.json").await;
    let before = vacant_ids(json);
    assert_eq!(
        before.iter().collect::<BTreeSet<_>>().len(),
        before.len(),
        "ids are unique"
    );
    assert!(before.iter().any(|i| i.starts_with("property-")) && before.iter().any(|i| i.starts_with("land_plot-")));
    let (_, json) = common::get_json(&app, "/opendata/vacant_for_lease.geojson").await;
    let geo_ids: Vec<String> = json["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().expect("a text feature id").to_string())
        .collect();
    assert_eq!(geo_ids, before);
    // Soft-delete the first vacant property: every other id is unchanged.
    let first: i64 =
        sqlx::query_scalar("SELECT min(id) FROM communal_property WHERE deleted_at IS NULL AND use_status = 'vacant'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    sqlx::query("UPDATE communal_property SET deleted_at = now() WHERE id = $1")
        .bind(first)
        .execute(&db.pool)
        .await
        .unwrap();
    let (_, json) = common::get_json(&app, "/opendata/vacant_for_lease.json").await;
    let after = vacant_ids(json);
    let gone = format!("property-{first}");
    let expected: Vec<String> = before.iter().filter(|i| **i != gone).cloned().collect();
    assert_eq!(after, expected);

    // Advertising permits carry legal entities' codes, exactly as published.
    let (_, ads) = common::get_json(&app, "/opendata/advertising_permits.json").await;
    if let Some(first) = ads.as_array().and_then(|a| a.first()) {
        let keys: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
        for f in AD_FIELDS {
            assert!(keys.contains(f), "advertising_permits.json lacks {f}");
        }
    }

    for uri in [
        "/opendata/nope.csv",
        "/opendata/deputies.geojson",
        "/opendata/deputies.xml",
        "/opendata/deputies",
    ] {
        let (status, content_type, _) = common::get(&app, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(content_type, "application/problem+json");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn export_writes_every_dataset_in_every_format() {
    let db = TestDb::new().await.with_demo(0.03, 42).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("open");
    let output = common::binary::command(&db.url())
        .env("GEOPORTAL_DATA_DIR", dir.path().join("data"))
        .arg("export")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let mut expected = BTreeSet::new();
    for d in geoportal::opendata::DATASETS {
        for f in d.formats() {
            expected.insert(format!("{}.{f}", d.id));
        }
    }
    let written: BTreeSet<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(written, expected);
    for name in &written {
        let text = std::fs::read_to_string(out.join(name)).unwrap();
        assert!(!text.is_empty(), "{name} is empty");
        if name.ends_with(".geojson") {
            text.parse::<geojson::GeoJson>().unwrap();
        }
    }
}
