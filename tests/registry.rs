//! The layer files: loaded once, checked against the database, and the
//! single source of what the public sees.

mod common;

use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use common::TestDb;
use geoportal::registry::{Registry, Role, check_against_database};

/// A copy of the repository's layer files with one file edited.
fn layers_with(file: &str, edit: impl FnOnce(String) -> String) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(common::layers_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let target = dir.path().join(file);
    let text = std::fs::read_to_string(&target).unwrap();
    std::fs::write(&target, edit(text)).unwrap();
    let path = dir.path().to_path_buf();
    (dir, path)
}

async fn db_problems(db: &TestDb, dir: &Path) -> String {
    let registry = Registry::load_dir(dir).expect("the file itself is well-formed");
    check_against_database(&registry, &db.pool)
        .await
        .expect_err("the check must fail")
        .to_string()
}

#[tokio::test]
async fn every_layer_file_loads_and_matches_its_table() {
    let db = TestDb::new().await;
    let registry = common::registry(&db).await;
    let ids: Vec<&str> = registry.all().iter().map(|l| l.id.as_str()).collect();
    for expected in [
        "appeals",
        "electoral_districts",
        "communal_property",
        "land_plots",
        "energy_objects",
        "ad_structures",
        "temporary_structures",
        "investment_sites",
        "budget_projects",
        "city_boundary",
        "admin_districts",
        "streets",
        "buildings",
        "addresses",
        "water",
    ] {
        assert!(ids.contains(&expected), "no layer file for {expected}");
        assert_eq!(
            registry.get(expected).unwrap().table(),
            expected,
            "the table is named as the layer id"
        );
    }
}

#[test]
fn an_unknown_key_stops_start_naming_file_and_key() {
    let (_tmp, dir) = layers_with("land_plots.toml", |t| {
        t.replace("minzoom = 13", "minzoom = 13\ncolour = \"red\"")
    });
    let err = Registry::load_dir(&dir).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("land_plots.toml"), "{msg}");
    assert!(msg.contains("colour"), "{msg}");
    assert_eq!(err.problems().len(), 1);
}

#[test]
fn an_unknown_key_inside_an_attribute_is_refused() {
    let (_tmp, dir) = layers_with("appeals.toml", |t| {
        t.replacen("tile = true", "tile = true\npublik = true", 1)
    });
    let msg = Registry::load_dir(&dir).unwrap_err().to_string();
    assert!(msg.contains("appeals.toml") && msg.contains("publik"), "{msg}");
}

#[test]
fn an_unknown_role_is_refused() {
    let (_tmp, dir) = layers_with("land_plots.toml", |t| {
        t.replace("edit = [\"land_editor\"]", "edit = [\"mayor\"]")
    });
    let msg = Registry::load_dir(&dir).unwrap_err().to_string();
    assert!(msg.contains("land_plots.toml") && msg.contains("mayor"), "{msg}");
}

#[test]
fn a_row_rule_on_an_unknown_attribute_is_refused() {
    let (_tmp, dir) = layers_with("appeals.toml", |t| {
        t.replacen("is_public = true", "is_published = true", 1)
    });
    let msg = Registry::load_dir(&dir).unwrap_err().to_string();
    assert!(
        msg.contains("appeals.toml") && msg.contains("rows[0].filter") && msg.contains("is_published"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_missing_column_names_file_and_key() {
    let db = TestDb::new().await;
    let (_tmp, dir) = layers_with("land_plots.toml", |t| {
        t.replace("name = \"price_zone\"", "name = \"price_zone_no\"")
    });
    let msg = db_problems(&db, &dir).await;
    assert!(msg.contains("land_plots.toml"), "{msg}");
    assert!(
        msg.contains("attributes[5].name") && msg.contains("price_zone_no"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_wrong_attribute_type_names_file_and_key() {
    let db = TestDb::new().await;
    let (_tmp, dir) = layers_with("land_plots.toml", |t| {
        t.replacen(
            "name = \"price_zone\"\ntype = \"integer\"",
            "name = \"price_zone\"\ntype = \"date\"",
            1,
        )
    });
    let msg = db_problems(&db, &dir).await;
    assert!(
        msg.contains("land_plots.toml") && msg.contains("attributes[5].type") && msg.contains("int4"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_wrong_geometry_type_names_file_and_key() {
    let db = TestDb::new().await;
    let (_tmp, dir) = layers_with("land_plots.toml", |t| {
        t.replace("type = \"MultiPolygon\"", "type = \"Point\"")
    });
    let msg = db_problems(&db, &dir).await;
    assert!(
        msg.contains("land_plots.toml") && msg.contains("geometry.type") && msg.contains("MULTIPOLYGON"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_missing_table_names_file_and_key() {
    let db = TestDb::new().await;
    let (_tmp, dir) = layers_with("water.toml", |t| {
        t.replace("id = \"water\"", "id = \"water\"\ntable = \"rivers\"")
    });
    let msg = db_problems(&db, &dir).await;
    assert!(
        msg.contains("water.toml") && msg.contains("`table`") && msg.contains("rivers"),
        "{msg}"
    );
}

#[tokio::test]
async fn an_unpublished_layer_disappears_from_the_public() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let (status, body) = common::get_json(&app, "/api/layers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["layers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["id"] == "land_plots")
    );

    let (_tmp, dir) = layers_with("land_plots.toml", |t| {
        t.replace("published = true", "published = false")
    });
    let registry = Registry::load_dir(&dir).unwrap();
    assert!(
        registry.get_visible("land_plots", &[Role::LandEditor]).is_some(),
        "staff still see it"
    );
    let app = common::app_with(&db, registry);
    let (status, body) = common::get_json(&app, "/api/layers").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = body["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["id"].as_str())
        .collect();
    assert!(!ids.contains(&"land_plots"), "{ids:?}");
    assert!(ids.contains(&"appeals"));
    let (status, _) = common::get_json(&app, "/api/layers/land_plots").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn appellants_personal_data_is_not_in_the_public_catalogue() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let (status, body) = common::get_json(&app, "/api/layers/appeals").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert!(
        names.contains(&"public_number") && names.contains(&"status"),
        "{names:?}"
    );
    for private in ["author_name", "phone", "email", "account_id", "contact_address"] {
        assert!(!names.contains(&private), "{private} is public");
    }
    // And the registry never sends personal data to tiles.
    let registry = common::registry(&db).await;
    let appeals = registry.get("appeals").unwrap();
    for a in &appeals.attributes {
        if a.tile {
            assert!(a.read.is_public(), "{} goes into tiles but is restricted", a.name);
        }
    }
}
