//! Hostile input over HTTP: an SQL-injection corpus in every parameter of
//! the read endpoints changes nothing and breaks nothing; bodies over their
//! limits are 413 problems; deeply nested JSON and geometries of a million
//! vertices are refused cleanly.

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestDb;
use geoportal::registry::Role;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

const INJECTIONS: &[&str] = &[
    "'; DROP TABLE land_plots; --",
    "1; DELETE FROM tariffs",
    "' OR '1'='1",
    "1 OR 1=1",
    "1) OR (1=1",
    "\" OR \"\"=\"",
    "'); TRUNCATE history; --",
    "$$; DROP TABLE users; $$",
    "' UNION SELECT password_hash, password_hash FROM users --",
    "1;SELECT pg_sleep(10)",
    "' || pg_sleep(10) || '",
    "id = 1; UPDATE land_plots SET deleted_at = now()",
    "\\'; DROP TABLE sessions; --",
    "x' AND 1=(SELECT count(*) FROM users) AND 'a'='a",
    "S_INTERSECTS(geom, POINT(0 0)) OR 1=1; DROP TABLE users",
    "cadastral_number = '1' OR 1=1 --",
    "%27%3B%20DROP%20TABLE%20users%3B",
    "\0",
];

/// Every place a read endpoint takes a value, `{}` standing for it.
const TEMPLATES: &[&str] = &[
    "/api/layers/{}",
    "/api/search?q={}",
    "/api/search?q=a&limit={}",
    "/ogc/collections/{}",
    "/ogc/collections/{}/items",
    "/ogc/collections/land_plots/queryables?f={}",
    "/ogc/collections/land_plots/items?bbox={}",
    "/ogc/collections/land_plots/items?datetime={}",
    "/ogc/collections/land_plots/items?limit={}",
    "/ogc/collections/land_plots/items?offset={}",
    "/ogc/collections/land_plots/items?properties={}",
    "/ogc/collections/land_plots/items?sortby={}",
    "/ogc/collections/land_plots/items?filter={}",
    "/ogc/collections/land_plots/items?filter-lang={}&filter=id%3D1",
    "/ogc/collections/land_plots/items?crs={}",
    "/ogc/collections/land_plots/items?bbox-crs={}&bbox=1,2,3,4",
    "/ogc/collections/land_plots/items?filter-crs={}&filter=id%3D1",
    "/ogc/collections/land_plots/items?f={}",
    "/ogc/collections/land_plots/items?cadastral_number={}",
    "/ogc/collections/land_plots/items?{}=1",
    "/ogc/collections/land_plots/items/{}",
    "/ogc/collections/land_plots/items/1?asOf={}",
    "/ogc/collections/land_plots/items/{}/versions",
    "/ogc/collections/tariffs/items?resource={}",
    "/tiles/{}",
    "/tiles/{}/14/9496/5538.mvt",
    "/tiles/land_plots/{}/9496/5538.mvt",
    "/tiles/land_plots/14/9496/{}",
    "/tiles/land_plots/14/9496/5538.mvt?filter={}",
    "/tiles/land_plots/14/9496/5538.mvt?ownership={}",
    "/ogc/collections/land_plots/tiles/WebMercatorQuad/{}/5538/9496",
    "/api/analytics/{}",
    "/api/districts/{}",
    "/api/districts/lookup?lon={}&lat=50.25",
    "/api/appeals/nearby?lon=28.66&lat=50.25&category={}",
    "/api/appeals/track/{}",
    "/opendata/{}",
    "/open311/v2/requests.json?service_code={}",
    "/open311/v2/requests/{}",
    "/open311/v2/services/{}",
    "/api/appeals?status={}",
    "/api/appeals?category={}",
    "/api/appeals?executor={}",
    "/api/appeals?limit={}",
    "/api/appeals/{}",
    "/api/appeals/overdue?soon_days={}",
    "/api/districts?date={}",
    "/api/analytics/{}/tiles.json",
    "/api/analytics/district_indicators/tiles/{}/0/0",
    "/fonts/{}/0-255.pbf",
    "/fonts/DejaVu%20Sans/{}",
];

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, String, Vec<u8>) {
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let ct = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    (status, ct, body)
}

async fn token(db: &TestDb, name: &str, roles: &[Role]) -> String {
    let id = geoportal::users::add(&db.pool, name, roles, "long-password-1")
        .await
        .unwrap();
    geoportal::auth::issue_session(&db.pool, id, Duration::from_secs(3600), None)
        .await
        .unwrap()
        .0
}

/// The analytics' own parameter names, to aim the corpus at them too.
async fn analytics_templates(app: &axum::Router) -> Vec<String> {
    let (_, list) = common::get_json(app, "/api/analytics").await;
    let mut out = Vec::new();
    let items = list
        .as_array()
        .cloned()
        .or_else(|| list["analyses"].as_array().cloned());
    for a in items.unwrap_or_default() {
        let Some(name) = a["name"].as_str().or_else(|| a["id"].as_str()) else {
            continue;
        };
        out.push(format!("/api/analytics/{name}?f={{}}"));
        for p in a["parameters"].as_array().cloned().unwrap_or_default() {
            if let Some(p) = p["name"].as_str() {
                out.push(format!("/api/analytics/{name}?{p}={{}}"));
            }
        }
    }
    out
}

/// The corpus in every parameter, anonymous and as an editor: no 5xx, no
/// slow answer (no `pg_sleep` ran), no password hash in any answer, and
/// not one row of the database changed.
#[tokio::test]
async fn sql_injection_corpus_has_no_effect() {
    let db = TestDb::new().await.with_demo(0.05, 7).await;
    let app = common::app(&db).await;
    let editor = token(&db, "inj_land", &[Role::LandEditor, Role::Admin]).await;
    let before = common::all_table_checksums(&db.pool).await;
    let mut templates: Vec<String> = TEMPLATES.iter().map(|s| s.to_string()).collect();
    templates.extend(analytics_templates(&app).await);
    assert!(templates.len() > TEMPLATES.len(), "no analytics parameters found");
    let mut requests = 0;
    for template in &templates {
        for payload in INJECTIONS {
            let uri = template.replace("{}", &encode(payload));
            for auth in [None, Some(&editor)] {
                let mut req = Request::get(&uri);
                if let Some(t) = auth {
                    req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
                }
                let started = Instant::now();
                let (status, ct, body) = send(&app, req.body(Body::empty()).unwrap()).await;
                requests += 1;
                assert!(
                    !status.is_server_error(),
                    "{uri}: {status} {}",
                    String::from_utf8_lossy(&body)
                );
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "{uri}: took {:?}",
                    started.elapsed()
                );
                let text = String::from_utf8_lossy(&body);
                assert!(!text.contains("$argon2"), "{uri}: a password hash in the answer");
                if status.is_client_error() && !ct.is_empty() {
                    assert!(
                        ct.starts_with("application/problem+json") || ct.starts_with("application/json"),
                        "{uri}: {status} as {ct}"
                    );
                }
            }
        }
    }
    assert!(requests > 1000);
    let after = common::all_table_checksums(&db.pool).await;
    assert_eq!(before, after, "the corpus changed the database");
}

/// The corpus in request bodies: sign-in fields, an appeal's category and
/// a plot's address. Sign-in and filing refuse it (4xx, never 5xx); the
/// address is stored as the very text sent (or refused at its field). No
/// table changes but the plot, its history, the rate-limit buckets and the
/// data versions that caches key on.
#[tokio::test]
async fn sql_injection_in_bodies_is_only_data() {
    let db = TestDb::new().await.with_demo(0.05, 7).await;
    let app = common::app(&db).await;
    let editor = token(&db, "inj_body", &[Role::LandEditor, Role::Admin]).await;
    let fid: i64 = sqlx::query_scalar("SELECT min(id) FROM land_plots WHERE deleted_at IS NULL")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let before = common::all_table_checksums(&db.pool).await;
    let json = |method: &str, uri: &str, body: serde_json::Value| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-forwarded-for", "203.0.113.7")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let item = format!("/ogc/collections/land_plots/items/{fid}");
    for payload in INJECTIONS {
        let (status, _, body) = send(
            &app,
            json(
                "POST",
                "/api/auth/login",
                serde_json::json!({"username": payload, "password": payload}),
            ),
        )
        .await;
        assert!(
            status.is_client_error(),
            "login {payload:?}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        let filing = serde_json::json!({
            "kind": "complaint", "category": payload, "description": payload,
            "lon": 28.66, "lat": 50.25,
            "contact": {"name": payload, "email": "a@example.org"},
        });
        let (status, _, body) = send(&app, json("POST", "/api/appeals", filing)).await;
        assert!(
            status.is_client_error(),
            "filing {payload:?}: {status} {}",
            String::from_utf8_lossy(&body)
        );

        let get = || {
            Request::get(&item)
                .header(header::AUTHORIZATION, format!("Bearer {editor}"))
                .body(Body::empty())
                .unwrap()
        };
        let response = app.clone().oneshot(get()).await.unwrap();
        let etag = response.headers().get(header::ETAG).cloned().expect("an ETag");
        let patch = Request::patch(&item)
            .header(header::AUTHORIZATION, format!("Bearer {editor}"))
            .header(header::CONTENT_TYPE, "application/merge-patch+json")
            .header(header::IF_MATCH, etag)
            .body(Body::from(
                serde_json::json!({"properties": {"address": payload}}).to_string(),
            ))
            .unwrap();
        let (status, _, body) = send(&app, patch).await;
        let text = String::from_utf8_lossy(&body);
        if payload.contains('\0') {
            // PostgreSQL text holds no NUL: refused as data.
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{payload:?}: {text}");
            continue;
        }
        assert!(status.is_success(), "patch {payload:?}: {status} {text}");
        let (_, _, body) = send(&app, get()).await;
        let feature: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(feature["properties"]["address"], *payload, "stored as sent");
    }
    let after = common::all_table_checksums(&db.pool).await;
    let changed: Vec<&String> = before.keys().filter(|t| before.get(*t) != after.get(*t)).collect();
    for t in &changed {
        assert!(
            ["land_plots", "history", "rate_limits", "tile_data_versions"].contains(&t.as_str())
                || t.starts_with("analytics_"),
            "the body corpus changed {t} (changed: {changed:?})"
        );
    }
    assert!(changed.iter().any(|t| *t == "land_plots"), "the addresses were written");
}

fn problem(status: StatusCode, ct: &str, body: &[u8], expected: StatusCode, what: &str) {
    assert_eq!(
        status,
        expected,
        "{what}: {}",
        String::from_utf8_lossy(&body[..body.len().min(500)])
    );
    assert!(ct.starts_with("application/problem+json"), "{what}: {ct}");
}

/// A body that streams `total` bytes of `fill` without a Content-Length.
fn chunked(total: usize, fill: u8) -> Body {
    let chunk = bytes::Bytes::from(vec![fill; 1 << 20]);
    let n = total.div_ceil(1 << 20);
    Body::from_stream(futures::stream::iter(
        (0..n).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
    ))
}

/// Over the limit → 413 problem, with or without a Content-Length: 5 MiB
/// of JSON, 52 MiB of appeal multipart, 200 MiB of import. Nothing written.
#[tokio::test]
async fn bodies_over_their_limits_are_413() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let energy = token(&db, "lim_energy", &[Role::EnergyEditor]).await;
    let before = common::all_table_checksums(&db.pool).await;
    let mb = 1024 * 1024;

    // JSON: declared, and streamed.
    let big_json = format!(
        "{{\"type\":\"Feature\",\"properties\":{{\"x\":\"{}\"}}}}",
        "a".repeat(5 * mb + 10)
    );
    for (what, uri) in [
        ("feature", "/ogc/collections/tariffs/items"),
        ("appeal json", "/api/appeals"),
        ("login", "/api/auth/login"),
        ("readings", "/api/energy/readings"),
    ] {
        let limit_mb = if uri == "/api/appeals" { 52 } else { 5 };
        let body = if limit_mb == 5 {
            big_json.clone()
        } else {
            "a".repeat(53 * mb)
        };
        let req = Request::post(uri)
            .header(header::AUTHORIZATION, format!("Bearer {energy}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, body.len())
            .body(Body::from(body))
            .unwrap();
        let (status, ct, body) = send(&app, req).await;
        problem(
            status,
            &ct,
            &body,
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("{what}, declared"),
        );
        let req = Request::post(uri)
            .header(header::AUTHORIZATION, format!("Bearer {energy}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(chunked((limit_mb + 1) * mb, b' '))
            .unwrap();
        let (status, ct, body) = send(&app, req).await;
        problem(
            status,
            &ct,
            &body,
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("{what}, streamed"),
        );
    }

    // An appeal with a 53 MiB photo (multipart), declared and streamed.
    let boundary = "XyZzyBoundary";
    let mut multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"appeal\"\r\nContent-Type: application/json\r\n\r\n{{}}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    multipart.extend(std::iter::repeat_n(0xFFu8, 53 * mb));
    multipart.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let ct = format!("multipart/form-data; boundary={boundary}");
    let req = Request::post("/api/appeals")
        .header(header::CONTENT_TYPE, &ct)
        .header(header::CONTENT_LENGTH, multipart.len())
        .body(Body::from(multipart.clone()))
        .unwrap();
    let (status, rct, body) = send(&app, req).await;
    problem(
        status,
        &rct,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "appeal multipart, declared",
    );
    let stream = futures::stream::iter(
        multipart
            .chunks(1 << 20)
            .map(|c| Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    );
    let req = Request::post("/api/appeals")
        .header(header::CONTENT_TYPE, &ct)
        .body(Body::from_stream(stream))
        .unwrap();
    let (status, rct, body) = send(&app, req).await;
    problem(
        status,
        &rct,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "appeal multipart, streamed",
    );

    // Import: a declared length over 200 MiB is refused before reading; a
    // streamed one when the 200 MiB are passed.
    let req = Request::post("/api/layers/tariffs/import")
        .header(header::AUTHORIZATION, format!("Bearer {energy}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .header(header::CONTENT_LENGTH, 201 * mb)
        .body(chunked(mb, b'a'))
        .unwrap();
    let (status, ct, body) = send(&app, req).await;
    problem(status, &ct, &body, StatusCode::PAYLOAD_TOO_LARGE, "import, declared");
    let req = Request::post("/api/layers/tariffs/import")
        .header(header::AUTHORIZATION, format!("Bearer {energy}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(chunked(201 * mb, b'a'))
        .unwrap();
    let (status, ct, body) = send(&app, req).await;
    problem(status, &ct, &body, StatusCode::PAYLOAD_TOO_LARGE, "import, streamed");

    assert_eq!(before, common::all_table_checksums(&db.pool).await);
}

fn nested(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

/// JSON nested 100,000 deep (in properties, in coordinates, as an import
/// file, as an appeal) is a 4xx, quickly, and the server lives on.
#[tokio::test]
async fn deeply_nested_json_is_refused() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let editor = token(&db, "deep_land", &[Role::LandEditor, Role::EnergyEditor]).await;
    let deep = nested(100_000);
    let bodies = [
        (
            "/ogc/collections/tariffs/items",
            "application/geo+json",
            format!("{{\"type\":\"Feature\",\"geometry\":null,\"properties\":{{\"resource\":{deep}}}}}"),
        ),
        (
            "/ogc/collections/land_plots/items",
            "application/geo+json",
            format!(
                "{{\"type\":\"Feature\",\"geometry\":{{\"type\":\"Polygon\",\"coordinates\":{deep}}},\"properties\":{{}}}}"
            ),
        ),
        (
            "/ogc/collections/land_plots/items",
            "application/geo+json",
            deep.clone(),
        ),
        ("/api/appeals", "application/json", format!("{{\"kind\":{deep}}}")),
        (
            "/api/auth/login",
            "application/json",
            format!("{{\"username\":{deep}}}"),
        ),
        (
            "/api/layers/land_plots/import",
            "application/geo+json",
            format!(
                "{{\"type\":\"FeatureCollection\",\"features\":[{{\"type\":\"Feature\",\"geometry\":{{\"type\":\"Point\",\"coordinates\":{deep}}},\"properties\":{{}}}}]}}"
            ),
        ),
    ];
    for (uri, ct, body) in bodies {
        let started = Instant::now();
        let req = Request::post(uri)
            .header(header::AUTHORIZATION, format!("Bearer {editor}"))
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(body))
            .unwrap();
        let (status, rct, body) = send(&app, req).await;
        assert!(
            status.is_client_error(),
            "{uri}: {status} {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
        assert!(rct.starts_with("application/problem+json"), "{uri}: {rct}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{uri}: {:?}",
            started.elapsed()
        );
    }
    let (status, _) = common::get_json(&app, "/health").await;
    assert_eq!(status, StatusCode::OK);
}

/// A ring of `n` vertices around the demo city's centre (a valid polygon).
fn ring(n: usize) -> Vec<[f64; 2]> {
    let mut ring: Vec<[f64; 2]> = (0..n)
        .map(|i| {
            let a = i as f64 / n as f64 * std::f64::consts::TAU;
            [28.6587 + 0.0008 * a.cos(), 50.2547 + 0.0005 * a.sin()]
        })
        .collect();
    ring.push(ring[0]);
    ring
}

/// Short coordinates pack 300,000 vertices into an edit under the 5 MB
/// limit: refused at the geometry field before PostGIS parses it.
#[tokio::test]
async fn an_edit_with_too_many_vertices_is_refused_at_its_field() {
    let db = TestDb::new().await.with_demo(0.05, 3).await;
    let app = common::app(&db).await;
    let editor = token(&db, "many_vertices", &[Role::LandEditor]).await;
    let before = common::all_table_checksums(&db.pool).await;
    let ring: Vec<[i32; 2]> = (0..300_000).map(|i| [30 + i % 2, 50]).collect();
    let feature = json!({
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"cadastral_number": "1810100000:01:001:0002", "area_ha": 0.5, "ownership": "communal",
                        "purpose_code": "02.01", "use_status": "free"}
    });
    let body = feature.to_string();
    assert!(body.len() < 5 * 1024 * 1024, "within the JSON limit: {}", body.len());
    let started = Instant::now();
    let req = Request::post("/ogc/collections/land_plots/items")
        .header(header::AUTHORIZATION, format!("Bearer {editor}"))
        .header(header::CONTENT_TYPE, "application/geo+json")
        .body(Body::from(body))
        .unwrap();
    let (status, ct, body) = send(&app, req).await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    assert!(ct.starts_with("application/problem+json"), "{ct}");
    assert!(
        text.contains("too many vertices") && text.contains("geometry"),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(before, common::all_table_checksums(&db.pool).await);
}

/// A million vertices: over the JSON limit for an edit (413); as an import
/// file (within its limit) refused with a 4xx in bounded time, nothing written.
#[tokio::test]
async fn a_million_vertices_are_refused_cleanly() {
    let db = TestDb::new().await.with_demo(0.05, 3).await;
    let app = common::app(&db).await;
    let editor = token(&db, "big_land", &[Role::LandEditor]).await;
    let before = common::all_table_checksums(&db.pool).await;
    let polygon = json!({"type": "Polygon", "coordinates": [ring(1_000_000)]});
    let feature = json!({
        "type": "Feature",
        "geometry": polygon,
        "properties": {"cadastral_number": "1810100000:01:001:0001", "area_ha": 0.5, "ownership": "communal",
                        "purpose_code": "02.01", "use_status": "free"}
    });
    let body = feature.to_string();
    let started = Instant::now();
    let req = Request::post("/ogc/collections/land_plots/items")
        .header(header::AUTHORIZATION, format!("Bearer {editor}"))
        .header(header::CONTENT_TYPE, "application/geo+json")
        .body(Body::from(body))
        .unwrap();
    let (status, ct, body) = send(&app, req).await;
    problem(status, &ct, &body, StatusCode::PAYLOAD_TOO_LARGE, "edit");
    assert!(started.elapsed() < Duration::from_secs(10));

    let file = json!({"type": "FeatureCollection", "features": [feature]}).to_string();
    let started = Instant::now();
    let req = Request::post("/api/layers/land_plots/import")
        .header(header::AUTHORIZATION, format!("Bearer {editor}"))
        .header(header::CONTENT_TYPE, "application/geo+json")
        .body(Body::from(file))
        .unwrap();
    let (status, ct, body) = send(&app, req).await;
    let elapsed = started.elapsed();
    eprintln!(
        "a million vertices as an import: {status} in {elapsed:?}: {}",
        String::from_utf8_lossy(&body[..body.len().min(300)])
    );
    assert!(
        status.is_client_error(),
        "import: {status} {}",
        String::from_utf8_lossy(&body[..body.len().min(500)])
    );
    assert!(ct.starts_with("application/problem+json"), "import: {ct}");
    assert!(
        String::from_utf8_lossy(&body).contains("too many vertices"),
        "the import report says why: {}",
        String::from_utf8_lossy(&body)
            .split("\"rejected\"")
            .nth(1)
            .unwrap_or_default()
    );
    assert!(
        elapsed < Duration::from_secs(30),
        "import refused only after {elapsed:?}"
    );
    assert_eq!(before, common::all_table_checksums(&db.pool).await);
}
