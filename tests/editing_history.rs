//! History through the API: every write is a version with who, when and
//! what changed; `asOf` shows a feature as it was; restore brings back an
//! earlier version (also of a deleted feature) as a new version; nothing
//! is ever physically deleted.

mod common;
mod editing_support;

use axum::http::{Method, StatusCode};
use common::TestDb;
use editing_support::*;
use geoportal::registry::Role;
use serde_json::json;

fn patch_headers(etag: &str) -> Vec<(&'static str, &str)> {
    vec![("content-type", "application/merge-patch+json"), ("if-match", etag)]
}

#[tokio::test(flavor = "multi_thread")]
async fn history_is_complete_and_restore_works() {
    let db = TestDb::new().await.with_demo(0.03, 12).await;
    let app = common::app(&db).await;
    let (_, land) = user(&db.pool, "land1", &[Role::LandEditor]).await;
    let squares = free_squares(&db.pool, 2).await;
    let rows_before: i64 = sqlx::query_scalar("SELECT count(*) FROM land_plots")
        .fetch_one(&db.pool)
        .await
        .unwrap();

    // v1: created.
    let created = send(
        &app,
        Method::POST,
        "/ogc/collections/land_plots/items",
        Some(&land),
        &[],
        Some(&plot(&squares[0], 7)),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.etag(), "\"v1\"");
    let id = created.body["id"].as_i64().unwrap();
    let location = created.headers["location"].to_str().unwrap().to_string();
    assert!(
        location.ends_with(&format!("/ogc/collections/land_plots/items/{id}")),
        "{location}"
    );
    let uri = format!("/ogc/collections/land_plots/items/{id}");
    let t1 = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    // v2: patched.
    let r = send(
        &app,
        Method::PATCH,
        &uri,
        Some(&land),
        &patch_headers("\"v1\""),
        Some(&json!({"properties": {"area_ha": 0.06, "user_name": "ТОВ Тест"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.etag(), "\"v2\"");
    let t2 = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    // v3: replaced, moved to the second square.
    let mut replacement = plot(&squares[1], 7);
    replacement["properties"]["address"] = json!("new address");
    let r = send(
        &app,
        Method::PUT,
        &uri,
        Some(&land),
        &[("if-match", "\"v2\"")],
        Some(&replacement),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.etag(), "\"v3\"");
    // PUT clears what it omits.
    assert_eq!(r.body["properties"]["user_name"], json!(null));

    // v4: deleted (soft).
    let r = send(&app, Method::DELETE, &uri, Some(&land), &[("if-match", "\"v3\"")], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let (status, _) = common::get_json(&app, &uri).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let t4 = chrono::Utc::now();

    // The versions: who, when, what.
    let v = send(&app, Method::GET, &format!("{uri}/versions"), Some(&land), &[], None).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text);
    let versions = v.body["versions"].as_array().unwrap();
    let ops: Vec<&str> = versions.iter().map(|e| e["operation"].as_str().unwrap()).collect();
    assert_eq!(ops, ["insert", "update", "update", "soft_delete"]);
    let numbers: Vec<i64> = versions.iter().map(|e| e["version"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
    assert!(versions.iter().all(|e| e["actor"] == "user:land1"), "{}", v.text);
    let area_change = versions[1]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["attribute"] == "area_ha")
        .unwrap();
    assert_eq!(area_change["old"].as_f64(), Some(0.05));
    assert_eq!(area_change["new"].as_f64(), Some(0.06));
    assert_eq!(versions[2]["geometryChanged"], true);
    assert_eq!(versions[1]["geometryChanged"], false);
    // The public sees the history without the restricted user name or the editors' names.
    let public = send(&app, Method::GET, &format!("{uri}/versions"), None, &[], None).await;
    assert!(
        !public.text.contains("ТОВ Тест") && !public.text.contains("user_name"),
        "{}",
        public.text
    );
    assert!(!public.text.contains("land1"), "{}", public.text);

    // asOf: before creation 404, after v1 the first area, after deletion 404.
    let at = |t: chrono::DateTime<chrono::Utc>| {
        t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            .replace('+', "%2B")
    };
    let (status, _) = common::get_json(&app, &format!("{uri}?asOf=2000-01-01T00:00:00Z")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, then) = common::get_json(&app, &format!("{uri}?asOf={}", at(t1))).await;
    assert_eq!(status, StatusCode::OK, "{then}");
    assert_eq!(then["properties"]["area_ha"].as_f64(), Some(0.05));
    assert_eq!(then["geometry"]["type"], "MultiPolygon");
    let (_, then) = common::get_json(&app, &format!("{uri}?asOf={}", at(t2))).await;
    assert_eq!(then["properties"]["area_ha"].as_f64(), Some(0.06));
    assert!(
        then["properties"].get("user_name").is_none(),
        "restricted attribute hidden from the public"
    );
    let (status, _) = common::get_json(&app, &format!("{uri}?asOf={}", at(t4))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = common::get_json(&app, &format!("{uri}?asOf=yesterday")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Restore v2: needs If-Match of the current version (v4), makes v5.
    let restore = format!("{uri}/versions/2/restore");
    let r = send(&app, Method::POST, &restore, Some(&land), &[], None).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED);
    let r = send(
        &app,
        Method::POST,
        &restore,
        Some(&land),
        &[("if-match", "\"v3\"")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    let r = send(
        &app,
        Method::POST,
        &format!("{uri}/versions/9/restore"),
        Some(&land),
        &[("if-match", "\"v4\"")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(
        &app,
        Method::POST,
        &restore,
        Some(&land),
        &[("if-match", "\"v4\"")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.etag(), "\"v5\"");
    let (status, now) = common::get_json(&app, &uri).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(now["properties"]["area_ha"].as_f64(), Some(0.06));
    assert_eq!(now["properties"]["address"], "test street 1");
    let back_home: bool = sqlx::query_scalar(
        "SELECT ST_Equals(geom, ST_SetSRID(ST_GeomFromGeoJSON($2), 4326)) FROM land_plots WHERE id = $1",
    )
    .bind(id)
    .bind(squares[0].to_string())
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(back_home, "the geometry of v2 is back");
    let v = send(&app, Method::GET, &format!("{uri}/versions"), Some(&land), &[], None).await;
    assert_eq!(v.body["versions"].as_array().unwrap().len(), 5);
    assert_eq!(v.body["versions"][4]["operation"], "restore");

    // Nothing was physically deleted.
    let rows_after: i64 = sqlx::query_scalar("SELECT count(*) FROM land_plots")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(rows_after, rows_before + 1);
    let entries: i64 =
        sqlx::query_scalar("SELECT count(*) FROM history WHERE table_name = 'land_plots' AND feature_id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(entries, 5);

    // A resident may not restore.
    let (_, resident) = user(&db.pool, "res9", &[Role::Resident]).await;
    let r = send(
        &app,
        Method::POST,
        &restore,
        Some(&resident),
        &[("if-match", "\"v5\"")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// A bulk-loaded feature (no history rows of its own) gets its first
/// version from the old row of its first change; asOf before that change
/// shows the loaded state.
#[tokio::test(flavor = "multi_thread")]
async fn bulk_loaded_features_keep_their_first_version() {
    let db = TestDb::new().await.with_demo(0.03, 13).await;
    let app = common::app(&db).await;
    let (_, land) = user(&db.pool, "land5", &[Role::LandEditor]).await;
    let (id, address): (i64, Option<String>) =
        sqlx::query_as("SELECT id, address FROM land_plots WHERE deleted_at IS NULL ORDER BY id LIMIT 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let uri = format!("/ogc/collections/land_plots/items/{id}");
    let t0 = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let r = send(
        &app,
        Method::PATCH,
        &uri,
        Some(&land),
        &patch_headers("\"v1\""),
        Some(&json!({"properties": {"address": "changed"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v = send(&app, Method::GET, &format!("{uri}/versions"), Some(&land), &[], None).await;
    let ops: Vec<&str> = v.body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["loaded", "update"]);
    let at = t0.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let (status, then) = common::get_json(&app, &format!("{uri}?asOf={at}")).await;
    assert_eq!(status, StatusCode::OK, "{then}");
    assert_eq!(then["properties"]["address"], json!(address));
    // Restore the loaded version 1.
    let r = send(
        &app,
        Method::POST,
        &format!("{uri}/versions/1/restore"),
        Some(&land),
        &[("if-match", "\"v2\"")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["properties"]["address"], json!(address));
}
