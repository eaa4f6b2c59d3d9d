//! Helpers shared by the OGC API tests (tests/ogc_*.rs).
#![allow(dead_code)]

use axum::http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::common::{self, TestDb};

/// A demo city small enough for fast tests.
pub const SCALE: f64 = 0.03;
pub const SEED: u64 = 7;

pub async fn demo() -> (TestDb, axum::Router) {
    let db = TestDb::new().await.with_demo(SCALE, SEED).await;
    let app = common::app(&db).await;
    (db, app)
}

/// GET with optional Accept; status, headers and body.
pub async fn request(app: &axum::Router, uri: &str, accept: Option<&str>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = axum::http::Request::get(uri);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let response = app
        .clone()
        .oneshot(req.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, body)
}

/// GET that must answer 200 with JSON.
pub async fn ok_json(app: &axum::Router, uri: &str) -> Value {
    let (status, headers, body) = request(app, uri, None).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&body));
    let ct = headers.get("content-type").unwrap().to_str().unwrap();
    assert!(ct.contains("json"), "{uri}: content type {ct}");
    serde_json::from_slice(&body).unwrap()
}

/// GET that must fail with `status` and a problem document.
pub async fn problem(app: &axum::Router, uri: &str, status: StatusCode) -> Value {
    let (got, headers, body) = request(app, uri, None).await;
    assert_eq!(got, status, "{uri}: {}", String::from_utf8_lossy(&body));
    assert_eq!(
        headers.get("content-type").unwrap(),
        "application/problem+json",
        "{uri}"
    );
    serde_json::from_slice(&body).unwrap()
}

pub async fn count(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&db.pool).await.unwrap()
}

/// Ids of every feature, following `next` links from `uri` to the end.
pub async fn all_ids(app: &axum::Router, uri: &str) -> (Vec<i64>, Vec<Value>) {
    let mut ids = Vec::new();
    let mut pages = Vec::new();
    let mut next = Some(uri.to_string());
    while let Some(url) = next.take() {
        let path = url.trim_start_matches("http://127.0.0.1:8080");
        let page = ok_json(app, path).await;
        for f in page["features"].as_array().unwrap() {
            ids.push(f["id"].as_i64().unwrap());
        }
        next = link(&page, "next");
        pages.push(page);
        assert!(pages.len() < 10_000, "paging does not end");
    }
    (ids, pages)
}

pub fn link(doc: &Value, rel: &str) -> Option<String> {
    doc["links"]
        .as_array()?
        .iter()
        .find(|l| l["rel"] == rel)
        .and_then(|l| l["href"].as_str())
        .map(str::to_string)
}

pub fn ids_of(page: &Value) -> Vec<i64> {
    page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect()
}

pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap()[2..].to_string()
}
