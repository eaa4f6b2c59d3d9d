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

// The Mapbox glyph protobuf, declared here to read what `/fonts` serves
// (prost decodes the wire format; these are not the server's types).
#[derive(Clone, PartialEq, prost::Message)]
struct GlyphsPbf {
    #[prost(message, repeated, tag = "1")]
    stacks: Vec<StackPbf>,
}
#[derive(Clone, PartialEq, prost::Message)]
struct StackPbf {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "2")]
    range: Option<String>,
    #[prost(message, repeated, tag = "3")]
    glyphs: Vec<GlyphPbf>,
}
#[derive(Clone, PartialEq, prost::Message)]
struct GlyphPbf {
    #[prost(uint32, optional, tag = "1")]
    id: Option<u32>,
    #[prost(bytes = "vec", optional, tag = "2")]
    bitmap: Option<Vec<u8>>,
    #[prost(uint32, optional, tag = "3")]
    width: Option<u32>,
    #[prost(uint32, optional, tag = "4")]
    height: Option<u32>,
    #[prost(sint32, optional, tag = "5")]
    left: Option<i32>,
    #[prost(sint32, optional, tag = "6")]
    top: Option<i32>,
    #[prost(uint32, optional, tag = "7")]
    advance: Option<u32>,
}

/// Map labels need glyphs: Latin and Cyrillic ranges of the DejaVu fonts
/// as signed distance fields, with every metric written, advances equal to
/// the font's own (read with ttf-parser), ink inside the strokes and none
/// around them; bad ranges and unknown fonts are problems.
#[tokio::test]
async fn glyphs_for_map_labels() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let (status, list) = common::get_json(&app, "/fonts").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = list["fonts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for needed in ["DejaVu Sans", "DejaVu Sans Bold", "DejaVu Sans Oblique"] {
        assert!(
            names.contains(&needed),
            "{needed} in {names:?} (styles/basemap.json uses it)"
        );
    }
    let font = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").unwrap();
    let face = ttf_parser::Face::parse(&font, 0).unwrap();
    let em = f32::from(face.units_per_em());
    let glyph = |pbf: &StackPbf, ch: char| pbf.glyphs.iter().find(|g| g.id == Some(ch as u32)).cloned();

    let (status, ctype, body) = common::get(&app, "/fonts/DejaVu%20Sans/0-255.pbf").await;
    assert_eq!((status, ctype.as_str()), (StatusCode::OK, "application/x-protobuf"));
    let doc = <GlyphsPbf as prost::Message>::decode(body.as_slice()).unwrap();
    let stack = &doc.stacks[0];
    assert_eq!(stack.range.as_deref(), Some("0-255"));
    for ch in ['A', 'l', 'o', ' '] {
        let g = glyph(stack, ch).unwrap_or_else(|| panic!("{ch:?} in 0-255"));
        let units = f32::from(face.glyph_hor_advance(face.glyph_index(ch).unwrap()).unwrap());
        assert_eq!(g.advance, Some((units * 24.0 / em).round() as u32), "{ch:?} advance");
        assert!(g.width.is_some() && g.height.is_some() && g.left.is_some() && g.top.is_some());
    }
    let space = glyph(stack, ' ').unwrap();
    assert_eq!(
        (space.width, space.height, space.bitmap.as_ref()),
        (Some(0), Some(0), None)
    );
    // 'l' is one vertical stroke: inside it the field is past the edge value
    // (192), three pixels beside it (in the buffer) far below
    let l = glyph(stack, 'l').unwrap();
    let (w, h) = (l.width.unwrap() as usize, l.height.unwrap() as usize);
    let bitmap = l.bitmap.unwrap();
    assert_eq!(bitmap.len(), (w + 6) * (h + 6), "a 3 px buffer around the glyph");
    assert!(w >= 2 && h >= 15, "{w}×{h}");
    let at = |x: usize, y: usize| bitmap[y * (w + 6) + x];
    assert!(
        at(3 + w / 2, 3 + h / 2) > 192,
        "inside the stroke: {}",
        at(3 + w / 2, 3 + h / 2)
    );
    assert!(at(0, 3 + h / 2) < 150, "beside the stroke: {}", at(0, 3 + h / 2));
    // 'l' rises above 'o': its top is higher (less negative from the ascender)
    let o = glyph(stack, 'o').unwrap();
    assert!(l.top.unwrap() > o.top.unwrap() && l.height > o.height);

    let (status, _, body) = common::get(&app, "/fonts/DejaVu%20Sans%20Bold,Noto%20Sans/1024-1279.pbf").await;
    assert_eq!(status, StatusCode::OK);
    let doc = <GlyphsPbf as prost::Message>::decode(body.as_slice()).unwrap();
    for ch in ['Ж', 'ї', 'є', 'ґ', 'І'] {
        let g = glyph(&doc.stacks[0], ch).unwrap_or_else(|| panic!("{ch:?}: Ukrainian letters in 1024-1279"));
        assert!(g.bitmap.is_some_and(|b| b.iter().any(|&v| v > 192)), "{ch:?} has ink");
    }

    for (uri, expected) in [
        ("/fonts/DejaVu%20Sans/0-254.pbf", StatusCode::BAD_REQUEST),
        ("/fonts/DejaVu%20Sans/65536-65791.pbf", StatusCode::BAD_REQUEST),
        ("/fonts/DejaVu%20Sans/0-255", StatusCode::BAD_REQUEST),
        ("/fonts/Comic%20Sans/0-255.pbf", StatusCode::NOT_FOUND),
    ] {
        let (status, ctype, _) = common::get(&app, uri).await;
        assert_eq!(
            (status, ctype.as_str()),
            (expected, "application/problem+json"),
            "{uri}"
        );
    }
}
