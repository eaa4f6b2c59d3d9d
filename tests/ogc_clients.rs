//! Real clients against the real server binary: GDAL's OAPIF driver
//! (`ogrinfo`, `ogr2ogr`) and OWSLib's OGC API Features client. Skipped,
//! with a note, where the client is not installed (`make deps` installs
//! gdal-bin and python3-owslib).

mod common;
mod ogc_support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};

use common::TestDb;
use common::binary::Served;
use ogc_support::{SCALE, SEED};

/// `geoportal serve` on a free port, stopped when dropped; its errors show
/// in the test's output.
fn serve(db: &TestDb) -> Served {
    Served::builder(&db.url())
        .env_remove("GEOPORTAL_PUBLIC_URL")
        .stderr(Stdio::inherit())
        .start()
}

fn installed(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{cmd:?} failed\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Feature counts the public sees, per layer, by SQL.
async fn public_counts(db: &TestDb) -> BTreeMap<String, i64> {
    let registry = common::registry(db).await;
    let mut out = BTreeMap::new();
    for layer in registry.visible_to(&[]) {
        let mut qb = sqlx::QueryBuilder::new(format!(
            "SELECT count(*) FROM {} t WHERE ",
            geoportal::query::ident(layer.table())
        ));
        geoportal::query::push_visible_rows(&mut qb, layer, &geoportal::access::Viewer::anonymous(), "t");
        let n: i64 = qb.build_query_scalar().fetch_one(&db.pool).await.unwrap();
        out.insert(layer.id.clone(), n);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn gdal_lists_every_collection_and_downloads_all_land_plots_once() {
    if !installed("ogrinfo", "--version") {
        eprintln!("SKIPPED: ogrinfo not installed (apt-get install gdal-bin)");
        return;
    }
    let db = TestDb::new().await.with_demo(SCALE, SEED).await;
    let expected = public_counts(&db).await;
    let server = serve(&db);
    let url = format!("OAPIF:{}/ogc", server.base_url());

    // Every collection with its true feature count (numberMatched). The
    // summary's extent of a register without geometry is found by reading
    // every row: pages of 1,000 rather than GDAL's default 10 keep that to
    // seconds (a client's choice; paging itself is checked below).
    let summary = run(Command::new("ogrinfo").args(["-ro", "-so", "-al", "-oo", "PAGE_SIZE=1000", &url]));
    let mut counts = BTreeMap::new();
    let mut layer = None;
    for line in summary.lines() {
        if let Some(name) = line.strip_prefix("Layer name: ") {
            layer = Some(name.trim().to_string());
        }
        if let (Some(n), Some(l)) = (line.strip_prefix("Feature Count: "), &layer) {
            counts.insert(l.clone(), n.trim().parse::<i64>().unwrap());
        }
    }
    assert_eq!(counts, expected, "ogrinfo:\n{summary}");

    // ogr2ogr pages through all of land_plots: every plot exactly once.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("land_plots.json");
    run(Command::new("ogr2ogr").args(["-f", "GeoJSON", out.to_str().unwrap(), &url, "land_plots"]));
    let fc: geojson::FeatureCollection = std::fs::read_to_string(&out)
        .unwrap()
        .parse::<geojson::GeoJson>()
        .unwrap()
        .try_into()
        .unwrap();
    let numbers: Vec<String> = fc
        .features
        .iter()
        .map(|f| f.property("cadastral_number").unwrap().as_str().unwrap().to_string())
        .collect();
    let unique: BTreeSet<&String> = numbers.iter().collect();
    assert_eq!(unique.len(), numbers.len(), "a plot came twice");
    let sql: BTreeSet<String> = sqlx::query_scalar("SELECT cadastral_number FROM land_plots WHERE deleted_at IS NULL")
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(numbers.len(), sql.len());
    assert_eq!(unique.into_iter().cloned().collect::<BTreeSet<_>>(), sql);
    assert!(fc.features.iter().all(|f| f.geometry.is_some()));
}

#[tokio::test(flavor = "multi_thread")]
async fn owslib_reads_items_with_bbox_and_a_cql2_filter() {
    let python = "/usr/bin/python3";
    let probe = Command::new(python)
        .args(["-c", "import owslib.ogcapi.features"])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: OWSLib not installed (apt-get install python3-owslib)");
        return;
    }
    let db = TestDb::new().await.with_demo(SCALE, SEED).await;
    let server = serve(&db);
    let script = r#"
import json, sys
from owslib.ogcapi.features import Features
w = Features(sys.argv[1])
collections = [c["id"] for c in w.collections()["collections"]]
box = w.collection_items("land_plots", bbox=[28.64, 50.24, 28.67, 50.26], limit=10000)
flt = w.collection_items("land_plots", filter="ownership = 'communal' AND area_ha > 0.05",
                         limit=10000, **{"filter-lang": "cql2-text"})
print(json.dumps({
    "collections": collections,
    "bbox_matched": box["numberMatched"], "bbox_returned": len(box["features"]),
    "filter_matched": flt["numberMatched"], "filter_returned": len(flt["features"]),
    "conforms": w.conformance()["conformsTo"],
}))
"#;
    let out = run(Command::new(python).args(["-c", script, &format!("{}/ogc", server.base_url())]));
    let got: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let bbox: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM land_plots WHERE deleted_at IS NULL AND \
         ST_Intersects(geom, ST_MakeEnvelope(28.64, 50.24, 28.67, 50.26, 4326))",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let filtered: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM land_plots WHERE deleted_at IS NULL AND ownership = 'communal' AND area_ha > 0.05",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(bbox > 0 && filtered > 0);
    assert_eq!(got["bbox_matched"], bbox);
    assert_eq!(got["bbox_returned"], bbox);
    assert_eq!(got["filter_matched"], filtered);
    assert_eq!(got["filter_returned"], filtered);
    assert!(got["collections"].as_array().unwrap().iter().any(|c| c == "land_plots"));
    assert!(
        got["conforms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter")
    );
}
