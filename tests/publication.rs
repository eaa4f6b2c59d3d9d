//! Layers published or hidden at run time (`/api/admin/layers`,
//! `layer_publication`): admin only; hiding stops the public's features,
//! tiles, TileJSON, search and catalogue at once while the layer's staff
//! keep it; a change made with plain SQL reaches a running router through
//! NOTIFY; a restart keeps the switch.

mod common;
mod editing_support;

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use editing_support::{Reply, send, user};
use geoportal::registry::Role;
use serde_json::{Value, json};

const LAYER: &str = "budget_projects";

/// A live budget project: its id, title and the z14 tile holding a point of it.
async fn a_project(db: &common::TestDb) -> (i64, String, (u8, u32, u32)) {
    let (id, title, lon, lat): (i64, String, f64, f64) = sqlx::query_as(
        "SELECT id, title, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM budget_projects \
         WHERE deleted_at IS NULL AND geom IS NOT NULL AND length(title) > 5 ORDER BY id LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let z = 14u8;
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let lat_r = lat.to_radians();
    let y = ((1.0 - (lat_r.tan() + 1.0 / lat_r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    (id, title, (z, x, y))
}

async fn get(app: &axum::Router, uri: &str, token: Option<&str>) -> Reply {
    send(app, Method::GET, uri, token, &[], None).await
}

async fn put(app: &axum::Router, id: &str, token: Option<&str>, body: &str) -> Reply {
    let mut req = axum::http::Request::put(format!("/api/admin/layers/{id}/publication"))
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let response = tower::ServiceExt::oneshot(app.clone(), req.body(axum::body::Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text: String::from_utf8_lossy(&bytes).to_string(),
    }
}

fn is_problem(r: &Reply) -> bool {
    r.headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/problem+json"))
}

async fn catalogue_lists(app: &axum::Router, token: Option<&str>) -> bool {
    let r = get(app, "/api/layers", token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["layers"].as_array().unwrap().iter().any(|l| l["id"] == LAYER)
}

async fn collections_list(app: &axum::Router, token: Option<&str>) -> bool {
    let r = get(app, "/ogc/collections", token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["collections"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == LAYER)
}

async fn tiles_catalogue_lists(app: &axum::Router, token: Option<&str>) -> bool {
    let r = get(app, "/tiles", token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.text.contains(&format!("/tiles/{LAYER}"))
}

async fn search_finds(app: &axum::Router, token: Option<&str>, title: &str) -> bool {
    let q: String = url_escape(title);
    let r = get(app, &format!("/api/search?q={q}&limit=50"), token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("search answer: {}", r.text))
        .iter()
        .any(|h| h["layer"] == LAYER)
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every public read path of the layer answers as `visible` says.
async fn public_view_is(
    app: &axum::Router,
    token: Option<&str>,
    project: &(i64, String, (u8, u32, u32)),
    visible: bool,
) {
    let (fid, title, (z, x, y)) = project;
    let who = token.map_or("anonymous", |_| "signed in");
    assert_eq!(catalogue_lists(app, token).await, visible, "/api/layers, {who}");
    assert_eq!(collections_list(app, token).await, visible, "/ogc/collections, {who}");
    assert_eq!(tiles_catalogue_lists(app, token).await, visible, "/tiles, {who}");
    assert_eq!(search_finds(app, token, title).await, visible, "search, {who}");
    let expect = |ok: StatusCode| if visible { ok } else { StatusCode::NOT_FOUND };
    for (uri, ok) in [
        (format!("/api/layers/{LAYER}"), StatusCode::OK),
        (format!("/ogc/collections/{LAYER}"), StatusCode::OK),
        (format!("/ogc/collections/{LAYER}/items?limit=5"), StatusCode::OK),
        (format!("/ogc/collections/{LAYER}/items/{fid}"), StatusCode::OK),
        (format!("/tiles/{LAYER}"), StatusCode::OK),
        (format!("/tiles/{LAYER}/{z}/{x}/{y}.mvt"), StatusCode::OK),
        (format!("/tiles/streets,{LAYER}/{z}/{x}/{y}.mvt"), StatusCode::OK),
        (
            format!("/ogc/collections/{LAYER}/tiles/WebMercatorQuad/{z}/{y}/{x}"),
            StatusCode::OK,
        ),
    ] {
        let r = get(app, &uri, token).await;
        assert_eq!(r.status, expect(ok), "{uri}, {who}: {}", r.text);
        if !visible {
            assert!(is_problem(&r), "{uri}: a problem document");
        }
    }
}

async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what} did not happen within {limit:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_admin_publishes_or_hides_and_bad_input_is_a_problem() {
    let db = common::TestDb::new().await;
    let app = common::app(&db).await;
    let (_, admin) = user(&db.pool, "city.admin", &[Role::Admin]).await;
    let (_, editor) = user(&db.pool, "budget.editor", &[Role::BudgetEditor]).await;

    let r = get(&app, "/api/admin/layers", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(is_problem(&r));
    let r = get(&app, "/api/admin/layers", Some(&editor)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(is_problem(&r));
    let r = get(&app, "/api/admin/layers", Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let list = r.body.as_array().unwrap();
    let files = std::fs::read_dir(common::layers_dir())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "toml"))
        .count();
    assert_eq!(list.len(), files, "every layer, published or not");
    let leases = list.iter().find(|l| l["id"] == "leases").unwrap();
    assert_eq!(leases["file_published"], false);
    assert_eq!(leases["published"], false);
    assert_eq!(leases["override_published"], Value::Null);
    let projects = list.iter().find(|l| l["id"] == LAYER).unwrap();
    assert_eq!(projects["published"], true);
    assert!(projects["title"]["en"].is_string());
    assert!(projects["staff"].as_array().unwrap().contains(&json!("budget_editor")));

    let body = r#"{"published": false}"#;
    assert_eq!(put(&app, LAYER, None, body).await.status, StatusCode::UNAUTHORIZED);
    let r = put(&app, LAYER, Some(&editor), body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(is_problem(&r));
    let r = put(&app, "no_such_layer", Some(&admin), body).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(is_problem(&r));
    for bad in [
        r#"{"published": "no"}"#,
        r#"{}"#,
        r#"{"published": false, "extra": 1}"#,
        "not json",
        "[true]",
    ] {
        let r = put(&app, LAYER, Some(&admin), bad).await;
        assert!(
            r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {} {}",
            r.status,
            r.text
        );
        assert!(is_problem(&r), "{bad}");
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM layer_publication")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0, "refused requests change nothing");
    assert!(catalogue_lists(&app, None).await);

    // The document describes the endpoints.
    let r = get(&app, "/api/openapi.json", None).await;
    assert!(r.body["paths"]["/api/admin/layers"]["get"].is_object());
    assert!(r.body["paths"]["/api/admin/layers/{id}/publication"]["put"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hiding_a_layer_stops_every_public_read_at_once_and_publishing_brings_it_back() {
    let db = common::TestDb::new().await.with_demo(0.05, 11).await;
    let app = common::app(&db).await;
    let project = a_project(&db).await;
    let (_, admin) = user(&db.pool, "city.admin", &[Role::Admin]).await;
    let (_, staff) = user(&db.pool, "budget.editor", &[Role::BudgetEditor]).await;
    let (_, resident) = user(&db.pool, "some.resident", &[Role::Resident]).await;

    public_view_is(&app, None, &project, true).await;
    // Cached public tiles exist before the switch (the check is before the cache).
    public_view_is(&app, None, &project, true).await;

    let r = put(&app, LAYER, Some(&admin), r#"{"published": false}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["published"], false);
    assert_eq!(r.body["override_published"], false);
    assert_eq!(r.body["file_published"], true);
    assert_eq!(r.body["changed_by"], "user:city.admin");
    assert!(r.body["changed_at"].is_string());

    public_view_is(&app, None, &project, false).await;
    public_view_is(&app, Some(&resident), &project, false).await;
    // The layer's staff and the admin still see it.
    public_view_is(&app, Some(&staff), &project, true).await;
    assert!(catalogue_lists(&app, Some(&admin)).await);

    let (changed_by, published): (String, bool) =
        sqlx::query_as("SELECT changed_by, published FROM layer_publication WHERE layer_id = $1")
            .bind(LAYER)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!((changed_by.as_str(), published), ("user:city.admin", false));
    let history: Vec<(String, String)> =
        sqlx::query_as("SELECT actor, operation FROM history WHERE table_name = 'layer_publication' ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(history, vec![("user:city.admin".to_string(), "insert".to_string())]);

    let r = get(&app, "/api/admin/layers", Some(&admin)).await;
    let entry = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == LAYER)
        .unwrap()
        .clone();
    assert_eq!(entry["published"], false);
    assert_eq!(entry["changed_by"], "user:city.admin");

    let r = put(&app, LAYER, Some(&admin), r#"{"published": true}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["published"], true);
    public_view_is(&app, None, &project, true).await;

    // Hidden again, then the override removed: the file decides (published).
    assert_eq!(
        put(&app, LAYER, Some(&admin), r#"{"published": false}"#).await.status,
        StatusCode::OK
    );
    assert!(!catalogue_lists(&app, None).await);
    let r = send(
        &app,
        Method::DELETE,
        &format!("/api/admin/layers/{LAYER}/publication"),
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["override_published"], Value::Null);
    assert_eq!(r.body["published"], true);
    assert!(catalogue_lists(&app, None).await);
    let ops: Vec<String> =
        sqlx::query_scalar("SELECT operation FROM history WHERE table_name = 'layer_publication' ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(ops, ["insert", "update", "update", "delete"]);

    // An unpublished file layer can be published by the switch.
    assert!(!get(&app, "/api/layers", None).await.text.contains("\"leases\""));
    assert_eq!(
        put(&app, "leases", Some(&admin), r#"{"published": true}"#).await.status,
        StatusCode::OK
    );
    assert_eq!(get(&app, "/api/layers/leases", None).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_reaches_every_instance_by_notify_and_survives_a_restart() {
    let db = common::TestDb::new().await;
    let first = common::app(&db).await;
    let second = common::app(&db).await;
    let (_, admin) = user(&db.pool, "city.admin", &[Role::Admin]).await;
    assert!(catalogue_lists(&second, None).await);

    // Plain SQL, as from psql: both running routers follow.
    sqlx::query("INSERT INTO layer_publication (layer_id, published) VALUES ($1, false)")
        .bind(LAYER)
        .execute(&db.pool)
        .await
        .unwrap();
    for app in [&first, &second] {
        let took = wait_until("hiding by SQL", Duration::from_secs(2), || async {
            !catalogue_lists(app, None).await
        })
        .await;
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
    let by: String = sqlx::query_scalar("SELECT changed_by FROM layer_publication WHERE layer_id = $1")
        .bind(LAYER)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(by.starts_with("db:"), "{by}");

    sqlx::query("UPDATE layer_publication SET published = true WHERE layer_id = $1")
        .bind(LAYER)
        .execute(&db.pool)
        .await
        .unwrap();
    wait_until("publishing by SQL", Duration::from_secs(2), || async {
        catalogue_lists(&second, None).await
    })
    .await;

    // Through one instance's endpoint: the other follows.
    assert_eq!(
        put(&first, LAYER, Some(&admin), r#"{"published": false}"#).await.status,
        StatusCode::OK
    );
    assert!(
        !catalogue_lists(&first, None).await,
        "the instance that switched, at once"
    );
    wait_until("the other instance", Duration::from_secs(2), || async {
        !catalogue_lists(&second, None).await
    })
    .await;

    // TRUNCATE: every instance reads the table again (the file decides).
    sqlx::query("TRUNCATE layer_publication")
        .execute(&db.pool)
        .await
        .unwrap();
    wait_until("truncate", Duration::from_secs(2), || async {
        catalogue_lists(&second, None).await
    })
    .await;
    assert_eq!(
        put(&first, LAYER, Some(&admin), r#"{"published": false}"#).await.status,
        StatusCode::OK
    );

    // A restart: the registry is loaded as `geoportal serve` loads it, and
    // the switch holds from the first request.
    let registry = common::registry(&db).await;
    assert!(registry.get(LAYER).unwrap().is_published(), "the file says published");
    geoportal::api::publication::load(&registry, &db.pool).await.unwrap();
    let restarted = common::app_with(&db, registry);
    assert!(!catalogue_lists(&restarted, None).await);

    // The binary itself (what `serve` runs before serving): `geoportal layers`.
    let url = db.url();
    let out = tokio::task::spawn_blocking(move || {
        let dir = std::env::temp_dir().join(format!("gp-publication-{}", std::process::id()));
        common::binary::command(&url)
            .env("GEOPORTAL_DATA_DIR", &dir)
            .arg("layers")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let line = stdout.lines().find(|l| l.starts_with(&format!("{LAYER} "))).unwrap();
    assert!(line.contains("published=false"), "{line}");
    let line = stdout.lines().find(|l| l.starts_with("streets ")).unwrap();
    assert!(line.contains("published=true"), "{line}");
}
