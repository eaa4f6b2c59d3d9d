//! Security: headers on every response, bearer tokens only (a cookie never
//! authenticates, nothing sets one), secrets hashed at rest.

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use common::TestDb;
use geoportal::registry::Role;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn assert_security_headers(what: &str, h: &HeaderMap) {
    let get = |n: header::HeaderName| h.get(&n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert_eq!(get(header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{what}");
    assert_eq!(get(header::X_FRAME_OPTIONS), "DENY", "{what}");
    assert_eq!(
        get(header::REFERRER_POLICY),
        "strict-origin-when-cross-origin",
        "{what}"
    );
    let csp = get(header::CONTENT_SECURITY_POLICY);
    let directive = |name: &str| -> Vec<String> {
        csp.split(';')
            .map(str::trim)
            .find(|d| d.split_whitespace().next() == Some(name))
            .map(|d| d.split_whitespace().skip(1).map(str::to_string).collect())
            .unwrap_or_else(|| panic!("{what}: CSP has no {name}: {csp}"))
    };
    assert_eq!(directive("default-src"), ["'self'"], "{what}: {csp}");
    // No inline or eval'd script, from nowhere but our origin.
    assert_eq!(directive("script-src"), ["'self'"], "{what}: {csp}");
    assert_eq!(directive("frame-ancestors"), ["'none'"], "{what}: {csp}");
    assert_eq!(directive("object-src"), ["'none'"], "{what}: {csp}");
    // MapLibre: its workers are blob: URLs, its sprites/markers data: images.
    assert!(directive("worker-src").contains(&"blob:".to_string()), "{what}: {csp}");
    assert!(directive("img-src").contains(&"data:".to_string()), "{what}: {csp}");
    assert!(!csp.contains('*'), "{what}: a wildcard in {csp}");
}

/// Every kind of response carries the headers: pages, JSON, problems, tiles,
/// HTML items, a CORS preflight, a 404 from the static files.
#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let (_, token) = user(&db, "sec_land", &[Role::LandEditor]).await;
    let mut requests: Vec<(&str, Request<Body>)> = Vec::new();
    for uri in [
        "/",
        "/health",
        "/api/layers",
        "/api/openapi.json",
        "/ogc/collections/land_plots/items?f=html",
        "/ogc/collections/land_plots/items?limit=1",
        "/ogc/collections/nope",
        "/tiles/land_plots/14/9496/5538.mvt",
        "/no/such/file.js",
        "/api/search?q=",
    ] {
        requests.push((uri, Request::get(uri).body(Body::empty()).unwrap()));
    }
    requests.push((
        "preflight",
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/ogc/collections/land_plots/items")
            .header(header::ORIGIN, "https://example.org")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .body(Body::empty())
            .unwrap(),
    ));
    requests.push((
        "unauthenticated write",
        Request::post("/ogc/collections/land_plots/items")
            .header(header::CONTENT_TYPE, "application/geo+json")
            .body(Body::from("{}"))
            .unwrap(),
    ));
    requests.push((
        "authenticated me",
        Request::get("/api/auth/me")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    ));
    for (what, req) in requests {
        let (status, headers, _) = send(&app, req).await;
        assert!(!status.is_server_error(), "{what}: {status}");
        assert_security_headers(&format!("{what} ({status})"), &headers);
    }
}

/// The web portal's pages load scripts from files only, so the CSP needs no
/// `'unsafe-inline'` for scripts.
#[test]
fn web_pages_have_no_inline_scripts() {
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let mut pages = Vec::new();
    for dir in [web.clone(), web.join("dist")] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                if e.path().extension().is_some_and(|x| x == "html") {
                    pages.push(e.path());
                }
            }
        }
    }
    assert!(!pages.is_empty(), "no web pages found under {}", web.display());
    for page in pages {
        let html = std::fs::read_to_string(&page).unwrap().to_ascii_lowercase();
        let mut rest = html.as_str();
        while let Some(i) = rest.find("<script") {
            let tag_end = rest[i..].find('>').map_or(rest.len(), |j| i + j);
            let tag = &rest[i..tag_end];
            assert!(tag.contains("src="), "{}: an inline <script>: {tag}", page.display());
            let close = rest[tag_end..].find("</script>").map_or(rest.len(), |j| tag_end + j);
            assert!(
                rest[tag_end + 1..close].trim().is_empty(),
                "{}: a <script src> with inline code",
                page.display()
            );
            rest = &rest[close..];
        }
        for handler in [" onclick=", " onload=", " onerror=", "javascript:"] {
            assert!(
                !html.contains(handler),
                "{}: inline handler `{handler}`",
                page.display()
            );
        }
    }
}

async fn user(db: &TestDb, name: &str, roles: &[Role]) -> (i64, String) {
    let id = geoportal::users::add(&db.pool, name, roles, "long-password-1")
        .await
        .unwrap();
    let (token, _) = geoportal::auth::issue_session(&db.pool, id, std::time::Duration::from_secs(3600), None)
        .await
        .unwrap();
    (id, token)
}

/// Bearer tokens only: a session token or API key carried in a cookie (under
/// any usual name) authenticates nothing, so a forged cross-site request —
/// which can carry cookies but not an `Authorization` header — is anonymous.
/// No response sets a cookie, signing in included.
#[tokio::test]
async fn a_cookie_never_authenticates_and_none_is_set() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let (_, token) = user(&db, "sec_admin", &[Role::Admin]).await;
    let (status, headers, body) = send(
        &app,
        Request::post("/api/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"username": "sec_admin", "password": "long-password-1"}).to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(headers.get(header::SET_COOKIE).is_none(), "login sets a cookie");
    let login_token = body["token"].as_str().unwrap().to_string();

    // The same token works as a bearer…
    let (status, _, _) = send(
        &app,
        Request::get("/api/auth/me")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // …and never as a cookie.
    let cookie = format!(
        "token={token}; session={token}; auth={token}; geoportal={token}; Authorization=Bearer%20{token}; \
         access_token={login_token}; api_key={token}"
    );
    for (method, uri, body) in [
        (Method::GET, "/api/auth/me", None),
        (Method::GET, "/api/admin/users", None),
        (
            Method::POST,
            "/api/admin/api-keys",
            Some(json!({"name": "csrf", "roles": ["admin"]})),
        ),
        (
            Method::POST,
            "/ogc/collections/tariffs/items",
            Some(json!({"type": "Feature", "geometry": null,
                        "properties": {"resource": "gas_m3", "valid_from": "2099-01-01", "price_uah": 1}})),
        ),
    ] {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(header::COOKIE, &cookie)
            .header(header::ORIGIN, "https://evil.example");
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let (status, headers, _) = send(&app, req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri} with a cookie");
        assert!(headers.get(header::SET_COOKIE).is_none());
    }
    let written: i64 = sqlx::query_scalar("SELECT count(*) FROM tariffs")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(written, 0);
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(keys, 0);
}

/// Counts the rows of every table whose text holds `needle`.
async fn tables_holding(db: &TestDb, needle: &str) -> Vec<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'spatial_ref_sys'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let mut found = Vec::new();
    for t in tables {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{t}\" x WHERE strpos(x::text, $1) > 0"))
            .bind(needle)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        if n > 0 {
            found.push(t);
        }
    }
    found
}

/// Session tokens, API keys and passwords are nowhere in the database in
/// the clear: every table's rows are searched for them.
#[tokio::test]
async fn no_raw_secret_is_stored() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    user(&db, "sec_root", &[Role::Admin]).await;
    let password = "Zq-very-distinct-password-77";
    let (status, _, body) = send(
        &app,
        Request::post("/api/auth/register")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"email": "sec@example.org", "password": password, "display_name": "Sec"}).to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert!(status.is_success(), "{status} {body}");
    let (status, _, body) = send(
        &app,
        Request::post("/api/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"username": "sec_root", "password": "long-password-1"}).to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().unwrap().to_string();
    let (status, _, body) = send(
        &app,
        Request::post("/api/admin/api-keys")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"name": "meters", "roles": ["energy_editor"]}).to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let key = body["key"].as_str().unwrap().to_string();
    // Both work…
    for (name, value) in [("authorization", format!("Bearer {token}")), ("x-api-key", key.clone())] {
        let (status, _, _) = send(
            &app,
            Request::get("/api/auth/me")
                .header(name, value)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{name}");
    }
    // …and neither they, their secret parts, nor the passwords are stored.
    for (what, secret) in [
        ("session token", token.as_str()),
        ("session token's secret part", &token[token.len() - 16..]),
        ("API key", key.as_str()),
        ("API key's secret part", &key[key.len() - 16..]),
        ("password", password),
        ("password", "long-password-1"),
    ] {
        let found = tables_holding(&db, secret).await;
        assert!(found.is_empty(), "a raw {what} is stored in {found:?}");
    }
}
