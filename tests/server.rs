//! The server skeleton: health, metrics, static files, errors, limits.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestDb;
use geoportal::config::Config;
use geoportal::registry::Registry;
use geoportal::server::{AppState, router};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[tokio::test]
async fn health_is_ok_when_the_database_answers() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let (status, body) = common::get_json(&app, "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn health_is_503_when_the_database_is_gone() {
    let options = sqlx::postgres::PgConnectOptions::new()
        .socket("/nonexistent-geoportal-socket-dir")
        .database("nothing");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(500))
        .connect_lazy_with(options);
    let registry = Registry::load_dir(&common::layers_dir()).unwrap();
    let app = router(AppState::new(pool, Arc::new(registry), Arc::new(Config::defaults())));
    let (status, body) = common::get_json(&app, "/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "unavailable");
}

#[tokio::test]
async fn metrics_count_requests_in_prometheus_format() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    common::get(&app, "/health").await;
    let (status, content_type, body) = common::get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("http_requests_total{"), "{text}");
    assert!(text.contains("route=\"/health\""), "{text}");
}

#[tokio::test]
async fn the_front_page_is_served_from_web() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let (status, content_type, body) = common::get(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(String::from_utf8_lossy(&body).contains("lang=\"uk\""));
}

#[tokio::test]
async fn unknown_paths_are_404_problem_documents() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let (status, content_type, body) = common::get(&app, "/no/such/thing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(content_type, "application/problem+json");
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["status"], 404);
    let (status, content_type, _) = common::get(&app, "/api/layers/no_such_layer").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(content_type, "application/problem+json");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let big = vec![b'x'; 6 * 1024 * 1024];
    let response = app
        .oneshot(
            Request::post("/api/layers")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, big.len())
                .body(Body::from(big))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn responses_are_compressed_and_cors_enabled() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let response = app
        .oneshot(
            Request::get("/api/layers")
                .header(header::ACCEPT_ENCODING, "gzip")
                .header(header::ORIGIN, "https://example.org")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers().get(header::CONTENT_ENCODING).unwrap(), "gzip");
    assert_eq!(
        response.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(),
        "*"
    );
    let _ = response.into_body().collect().await.unwrap();
}

#[tokio::test]
async fn options_reaches_the_handlers_unless_it_is_a_cors_preflight() {
    use tower::ServiceExt;
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let send = |req: axum::http::Request<axum::body::Body>| {
        let app = app.clone();
        async move { app.oneshot(req).await.unwrap() }
    };
    // Plain OPTIONS (OGC API Features Part 4): the handler's Allow.
    let r = send(
        axum::http::Request::options("/ogc/collections/land_plots/items")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert!(r.status().is_success(), "{}", r.status());
    let allow = r
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(allow.contains("POST") && allow.contains("GET"), "Allow: {allow}");
    // A browser's preflight: the CORS layer answers it.
    let r = send(
        axum::http::Request::options("/ogc/collections/land_plots/items")
            .header("origin", "http://example.org")
            .header("access-control-request-method", "POST")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert!(r.status().is_success());
    assert!(r.headers().contains_key("access-control-allow-methods"));
}
