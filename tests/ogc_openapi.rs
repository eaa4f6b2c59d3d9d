//! The OpenAPI document at /api/openapi.json is generated from the code and
//! covers every route the router has: the routes are read from the source
//! (`.route("…")` calls), so a new route without documentation fails here.

mod common;
mod ogc_support;

use std::collections::BTreeSet;
use std::path::Path;

use axum::http::StatusCode;
use common::TestDb;
use ogc_support::*;

/// Every path registered with `.route(` under src/.
fn routes_in_source(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            routes_in_source(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, _) in text.match_indices(".route(") {
                let rest = text[i + ".route(".len()..].trim_start();
                if let Some(literal) = rest.strip_prefix('"') {
                    let end = literal.find('"').unwrap();
                    out.insert(literal[..end].to_string());
                }
            }
        }
    }
}

/// `/a/{x}/b` and `/a/{y}/b` are the same route.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_of_the_router_is_documented() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let (status, headers, body) = request(&app, "/api/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().map(|p| shape(p)).collect();
    let mut routes = BTreeSet::new();
    routes_in_source(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut routes);
    assert!(routes.len() >= 12, "{routes:?}");
    for r in &routes {
        assert!(documented.contains(&shape(r)), "route {r} is not in /api/openapi.json");
    }
    for must in [
        "/health",
        "/metrics",
        "/api/layers",
        "/api/layers/{}",
        "/ogc",
        "/ogc/collections/{}/items",
    ] {
        assert!(documented.contains(must), "{must}");
    }
    // The items parameters are described, limit with its bounds.
    let params = doc["paths"]["/ogc/collections/{collectionId}/items"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let names: BTreeSet<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
    for n in [
        "bbox",
        "bbox-crs",
        "datetime",
        "limit",
        "properties",
        "sortby",
        "filter",
        "filter-lang",
        "filter-crs",
        "crs",
        "f",
    ] {
        assert!(names.contains(n), "items parameter {n} undocumented");
    }
    let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(limit["schema"]["maximum"], 10000);
    // The OpenAPI media type for clients that ask for it.
    let (_, headers, _) = request(&app, "/api/openapi.json", Some("application/vnd.oai.openapi+json")).await;
    assert_eq!(headers["content-type"], "application/vnd.oai.openapi+json;version=3.1");
    // The landing page links to it.
    let landing = ok_json(&app, "/ogc").await;
    assert!(link(&landing, "service-desc").unwrap().ends_with("/api/openapi.json"));
}

#[tokio::test(flavor = "multi_thread")]
async fn documented_ogc_paths_answer() {
    let (db, app) = demo().await;
    let id: i64 = sqlx::query_scalar("SELECT min(id) FROM land_plots WHERE deleted_at IS NULL")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let doc = ok_json(&app, "/api/openapi.json").await;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/ogc") || path.contains("/tiles") || path.contains("tileMatrixSets") {
            continue;
        }
        // Write-only paths (Part 4 restore) have no GET to try.
        if ops.get("get").is_none() {
            continue;
        }
        let uri = path
            .replace("{collectionId}", "land_plots")
            .replace("{featureId}", &id.to_string());
        let (status, _, body) = request(&app, &uri, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&body));
    }
}
