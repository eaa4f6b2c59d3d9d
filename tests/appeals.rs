//! Appeals end to end on a small demo city: filing (JSON and multipart with
//! photos), what the database fills in at insert, nearby duplicates, the
//! transition table and deadlines, the author's link and rating,
//! notifications, subscriptions, "find my deputy", Open311, and that the
//! author's personal data never reaches a public answer.

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use common::TestDb;
use geoportal::registry::Role;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::PgPool;
use tower::ServiceExt;

const PASSWORD: &str = "correct-horse-battery";

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    raw: Vec<u8>,
}

async fn send_raw(app: &axum::Router, mut req: Request<Body>, peer: &str) -> Reply {
    req.extensions_mut()
        .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let raw = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
        raw,
    }
}

async fn send(app: &axum::Router, method: Method, uri: &str, token: Option<&str>, body: Option<Value>) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    send_raw(app, req.body(body).unwrap(), "10.0.0.1:5000").await
}

async fn login(app: &axum::Router, name: &str) -> String {
    let r = send(
        app,
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"username": name, "password": PASSWORD})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["token"].as_str().unwrap().to_string()
}

/// A point well inside an electoral district of the demo city.
async fn inside_point(pool: &PgPool) -> (f64, f64, i64) {
    sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p), id FROM (SELECT id, ST_PointOnSurface(geom) AS p FROM electoral_districts \
         WHERE deleted_at IS NULL ORDER BY number LIMIT 1) d",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

fn appeal(lon: f64, lat: f64, email: &str) -> Value {
    json!({
        "kind": "complaint",
        "category": "roads.potholes",
        "description": "Глибока яма біля зупинки, небезпечно для велосипедистів.",
        "lon": lon, "lat": lat,
        "contact": {"name": "Канарка Тестова", "email": email, "phone": "+380 67 000 11 22"},
        "consent_public": true,
    })
}

async fn setup() -> (TestDb, axum::Router) {
    let db = TestDb::new().await.with_demo(0.05, 11).await;
    let app = common::app(&db).await;
    (db, app)
}

#[tokio::test]
async fn filing_fills_in_number_district_executor_deadline_and_tracks_privately() {
    let (db, app) = setup().await;
    let (lon, lat, district) = inside_point(&db.pool).await;
    let r = send(
        &app,
        Method::POST,
        "/api/appeals",
        None,
        Some(appeal(lon, lat, "author@example.org")),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    let number = r.body["public_number"].as_str().unwrap();
    let year = chrono::Utc::now().format("%Y").to_string();
    assert!(
        number.starts_with(&format!("ZH-{year}-")) && number.len() == 14,
        "{number}"
    );
    assert_eq!(r.body["status"], "submitted");
    assert_eq!(r.body["routing"]["electoral_district"]["id"], district);
    assert!(
        r.body["routing"]["executor"]["id"].is_i64(),
        "routed to an executor: {}",
        r.body
    );
    assert!(r.body["routing"]["deputies"].is_array());
    // 30 calendar days, shown in Kyiv time (+02:00 or +03:00).
    let due = chrono::DateTime::parse_from_rfc3339(r.body["due_at"].as_str().unwrap()).unwrap();
    assert!(matches!(due.offset().local_minus_utc(), 7200 | 10800));
    let days = (due.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.5..=31.1).contains(&days), "due in {days} days");
    assert_eq!(r.headers["location"], format!("/api/appeals/{id}"));

    // Numbers are consecutive.
    let r2 = send(
        &app,
        Method::POST,
        "/api/appeals",
        None,
        Some(appeal(lon, lat, "second@example.org")),
    )
    .await;
    let n1: i64 = number[8..].parse().unwrap();
    let n2: i64 = r2.body["public_number"].as_str().unwrap()[8..].parse().unwrap();
    assert_eq!(n2, n1 + 1);

    // Not public until registered: the public does not see it at all.
    assert_eq!(
        send(&app, Method::GET, &format!("/api/appeals/{id}"), None, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The author's private link shows it, without anybody's personal data.
    let url = r.body["tracking_url"].as_str().unwrap();
    let path = &url[url.find("/api/").unwrap()..];
    let t = send(&app, Method::GET, path, None, None).await;
    assert_eq!(t.status, StatusCode::OK);
    assert_eq!(t.body["public_number"], number);
    assert!(t.body.get("email").is_none() && t.body.get("phone").is_none());
    assert_eq!(
        send(&app, Method::GET, "/api/appeals/track/0123abcd", None, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The token is stored only hashed.
    let token = &path["/api/appeals/track/".len()..];
    let stored: Vec<u8> = sqlx::query_scalar("SELECT tracking_sha256 FROM appeals WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 32);
    assert!(!String::from_utf8_lossy(&stored).contains(token));
    // History knows who filed it.
    let actor: String = sqlx::query_scalar(
        "SELECT actor FROM history WHERE table_name = 'appeals' AND row_id = $1::text AND op = 'insert'",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|_| "web:anonymous".into());
    assert_eq!(actor, "web:anonymous");
}

#[tokio::test]
async fn bad_filings_are_refused_with_every_problem_and_nothing_written() {
    let (db, app) = setup().await;
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM appeals")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let r = send(
        &app,
        Method::POST,
        "/api/appeals",
        None,
        Some(
            json!({"kind": "rant", "category": "nope", "description": "", "lon": 28.6, "lat": 50.25,
                    "contact": {"name": "", "email": "not-mail"}}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let detail = r.body["detail"].as_str().unwrap();
    for field in ["kind", "category", "description", "contact.name", "contact.email"] {
        assert!(detail.contains(field), "{field} missing in {detail}");
    }
    // Outside the city; no contact at all; an unknown address; no location.
    for (body, needle) in [
        (appeal(30.52, 50.45, "a@b.example"), "outside the city"),
        (
            json!({"kind": "complaint", "category": "waste", "description": "x", "lon": 28.66, "lat": 50.25, "contact": {"name": "Іван"}}),
            "email address or a phone",
        ),
        (
            json!({"kind": "complaint", "category": "waste", "description": "x", "address": "вулиця Неіснуюча, 999", "contact": {"name": "Іван", "phone": "0670001122"}}),
            "not an address",
        ),
        (
            json!({"kind": "complaint", "category": "waste", "description": "x", "contact": {"name": "Іван", "phone": "0670001122"}}),
            "give lon and lat",
        ),
    ] {
        let r = send(&app, Method::POST, "/api/appeals", None, Some(body)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body["detail"].as_str().unwrap().contains(needle), "{}", r.body);
    }
    // Unknown fields and wrong types are 400; a non-JSON body 415.
    let r = send(
        &app,
        Method::POST,
        "/api/appeals",
        None,
        Some(json!({"kind": "complaint", "sneaky": 1})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let req = Request::post("/api/appeals")
        .header("content-type", "text/plain")
        .body(Body::from("hi"))
        .unwrap();
    assert_eq!(
        send_raw(&app, req, "10.0.0.2:1").await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM appeals")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(before, after);

    // An address of the city is geocoded.
    let address: String =
        sqlx::query_scalar("SELECT full_address FROM addresses WHERE deleted_at IS NULL ORDER BY id LIMIT 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let r = send(
        &app,
        Method::POST,
        "/api/appeals",
        None,
        Some(
            json!({"kind": "request", "category": "lighting", "description": "Не світить ліхтар", "address": address,
                    "contact": {"name": "Іван", "phone": "0670001122"}}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let same: bool = sqlx::query_scalar(
        "SELECT ST_Equals(a.geom, d.geom) FROM appeals a, addresses d WHERE a.id = $1 AND d.full_address = $2 LIMIT 1",
    )
    .bind(r.body["id"].as_i64().unwrap())
    .bind(&address)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(same);
}

#[tokio::test]
async fn filing_is_rate_limited_per_contact() {
    let (db, app) = setup().await;
    let (lon, lat, _) = inside_point(&db.pool).await;
    let mut statuses = Vec::new();
    for i in 0..7 {
        let peer = format!("10.3.0.{i}:1");
        let req = Request::post("/api/appeals")
            .header("content-type", "application/json")
            .body(Body::from(appeal(lon, lat, "flood@example.org").to_string()))
            .unwrap();
        let r = send_raw(&app, req, &peer).await;
        statuses.push(r.status);
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers.contains_key("retry-after"));
        }
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::CREATED).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS));
}

fn jpeg_with_gps() -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8];
    let exif = b"Exif\0\0MM\0*\0\0\0\x08GPSLatitude=50.2547;Model=PhoneX";
    v.extend_from_slice(&[0xFF, 0xE1]);
    v.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    v.extend_from_slice(exif);
    v.extend_from_slice(&[
        0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x00, 0xFF, 0xD9,
    ]);
    v
}

fn multipart(parts: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "geoportal-test-boundary";
    let mut body = Vec::new();
    for (name, file, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        if file.is_empty() {
            body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes());
        } else {
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: image/jpeg\r\n\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn photos_are_checked_by_content_and_stripped_of_exif() {
    let db = TestDb::new().await.with_demo(0.05, 11).await;
    let dir = tempfile::tempdir().unwrap();
    let registry = common::registry(&db).await;
    let mut config = geoportal::config::Config::defaults();
    config.data_dir = dir.path().to_path_buf();
    let app = geoportal::server::router(geoportal::server::AppState::new(
        db.pool.clone(),
        std::sync::Arc::new(registry),
        std::sync::Arc::new(config),
    ));
    let (lon, lat, _) = inside_point(&db.pool).await;
    let json = appeal(lon, lat, "photo@example.org").to_string();
    let photo = jpeg_with_gps();
    let (ct, body) = multipart(&[("appeal", "", json.as_bytes()), ("photos", "pit.jpg", &photo)]);
    let req = Request::post("/api/appeals")
        .header("content-type", ct)
        .body(Body::from(body))
        .unwrap();
    let r = send_raw(&app, req, "10.4.0.1:1").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.raw));
    let id = r.body["id"].as_i64().unwrap();
    let stored = std::fs::read(dir.path().join(format!("appeals/{id}/1.jpg"))).unwrap();
    assert!(stored.starts_with(&[0xFF, 0xD8]));
    for secret in [&b"GPSLatitude"[..], b"PhoneX", b"Exif"] {
        assert!(
            !stored.windows(secret.len()).any(|w| w == secret),
            "metadata left in the photo"
        );
    }
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM appeal_photos WHERE appeal_id = $1 AND media_type = 'image/jpeg'")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(rows, 1);

    // A GIF named .jpg, and six photos, are refused; nothing is written.
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM appeals")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
    let (ct, body) = multipart(&[("appeal", "", json.as_bytes()), ("photos", "x.jpg", &gif)]);
    let req = Request::post("/api/appeals")
        .header("content-type", ct)
        .body(Body::from(body))
        .unwrap();
    let r = send_raw(&app, req, "10.4.0.2:1").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["detail"].as_str().unwrap().contains("not a JPEG, PNG or WebP"));
    let six: Vec<(&str, &str, &[u8])> = std::iter::once(("appeal", "", json.as_bytes()))
        .chain((0..6).map(|_| ("photos", "p.jpg", photo.as_slice())))
        .collect();
    let (ct, body) = multipart(&six);
    let req = Request::post("/api/appeals")
        .header("content-type", ct)
        .body(Body::from(body))
        .unwrap();
    assert_eq!(
        send_raw(&app, req, "10.4.0.3:1").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM appeals")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(before, after);
}

async fn user(db: &TestDb, name: &str, roles: &[Role], executor: Option<i64>) {
    let id = geoportal::users::add(&db.pool, name, roles, PASSWORD).await.unwrap();
    sqlx::query("UPDATE users SET executor_id = $2, email = $3, email_confirmed_at = now() WHERE id = $1")
        .bind(id)
        .bind(executor)
        .bind(format!("{name}@city.example"))
        .execute(&db.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_workflow_follows_the_table_with_deadlines_notifications_and_rating() {
    let (db, app) = setup().await;
    let (lon, lat, _) = inside_point(&db.pool).await;
    let r = send(
        &app,
        Method::POST,
        "/api/appeals",
        None,
        Some(appeal(lon, lat, "author@example.org")),
    )
    .await;
    let id = r.body["id"].as_i64().unwrap();
    let executor = r.body["routing"]["executor"]["id"].as_i64().unwrap();
    let tracking = r.body["tracking_url"].as_str().unwrap().to_string();
    let track_path = tracking[tracking.find("/api/").unwrap()..].to_string();
    user(&db, "operator", &[Role::AppealsOperator], None).await;
    user(&db, "roads", &[Role::Executor], Some(executor)).await;
    let other: i64 = sqlx::query_scalar("SELECT id FROM executors WHERE id <> $1 ORDER BY id LIMIT 1")
        .bind(executor)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    user(&db, "parks", &[Role::Executor], Some(other)).await;
    let op = login(&app, "operator").await;
    let ex = login(&app, "roads").await;
    let parks = login(&app, "parks").await;
    let go = |token: String, body: Value| {
        let app = app.clone();
        async move {
            send(
                &app,
                Method::POST,
                &format!("/api/appeals/{id}/transitions"),
                Some(&token),
                Some(body),
            )
            .await
        }
    };

    // Anonymous 401; a move the table lacks 409; a role that may not, 403.
    assert_eq!(
        send(
            &app,
            Method::POST,
            &format!("/api/appeals/{id}/transitions"),
            None,
            Some(json!({"to": "registered"}))
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    let r = go(op.clone(), json!({"to": "closed"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("registered"));
    // The executor cannot even see a submitted appeal of its own? It can (own rows); it may not register it.
    assert_eq!(
        go(ex.clone(), json!({"to": "registered"})).await.status,
        StatusCode::FORBIDDEN
    );

    // Registered without extra study: 15 days from now; published with consent.
    let r = go(
        op.clone(),
        json!({"to": "registered", "no_extra_study": true, "is_public": true, "comment": "Прийнято"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let due = chrono::DateTime::parse_from_rfc3339(r.body["due_at"].as_str().unwrap()).unwrap();
    let days = (due.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((14.5..=16.1).contains(&days), "{days}");
    // Now the public sees it, without personal data.
    let public = send(&app, Method::GET, &format!("/api/appeals/{id}"), None, None).await;
    assert_eq!(public.status, StatusCode::OK);
    assert!(public.body.get("email").is_none() && public.body.get("author_name").is_none());

    // Another executor may not take it; the assigned one may.
    // (It is public now, so the other executor sees it, but may not move it.)
    assert_eq!(
        go(parks.clone(), json!({"to": "in_progress"})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        go(ex.clone(), json!({"to": "in_progress"})).await.status,
        StatusCode::OK
    );
    // Extension: beyond 45 days from registration is refused; within is fine.
    let too_late = (chrono::Utc::now() + chrono::Duration::days(60)).to_rfc3339();
    let r = go(op.clone(), json!({"to": "extended", "due_at": too_late})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let ok = (chrono::Utc::now() + chrono::Duration::days(40)).to_rfc3339();
    assert_eq!(
        go(op.clone(), json!({"to": "extended", "due_at": ok})).await.status,
        StatusCode::OK
    );
    // The answer needs its text and comes from the assigned executor only.
    assert_eq!(
        go(ex.clone(), json!({"to": "answered"})).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        go(op.clone(), json!({"to": "answered", "comment": "Яму залатано"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        go(ex.clone(), json!({"to": "answered", "comment": "Яму залатано 20.11"}))
            .await
            .status,
        StatusCode::OK
    );
    // Rating before closing is allowed once answered; outside 1..5 is 422.
    let r = send(
        &app,
        Method::POST,
        &format!("{track_path}/rating"),
        None,
        Some(json!({"rating": 9})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = go(op.clone(), json!({"to": "closed"})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["transitions"].as_array().unwrap().len(), 5);
    let r = send(
        &app,
        Method::POST,
        &format!("{track_path}/rating"),
        None,
        Some(json!({"rating": 5})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Final: nothing moves a closed appeal.
    assert_eq!(
        go(op.clone(), json!({"to": "in_progress"})).await.status,
        StatusCode::CONFLICT
    );

    // The author was told of every status change, with the answer.
    let mail: Vec<String> =
        sqlx::query_scalar("SELECT subject FROM outbox WHERE recipient = 'author@example.org' ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(mail.len(), 5, "{mail:?}");
    let answer: bool = sqlx::query_scalar(
        "SELECT bool_or(body LIKE '%Яму залатано 20.11%') FROM outbox WHERE recipient = 'author@example.org'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(answer);
    // The author's view has the whole history.
    let t = send(&app, Method::GET, &track_path, None, None).await;
    assert_eq!(t.body["status"], "closed");
    assert_eq!(t.body["rating"], 5);
    assert_eq!(t.body["history"].as_array().unwrap().len(), 5);

    // Queues and the overdue report are staff-only and respect row rules.
    assert_eq!(
        send(&app, Method::GET, "/api/appeals?status=closed", None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let q = send(
        &app,
        Method::GET,
        "/api/appeals?status=closed&limit=1000",
        Some(&ex),
        None,
    )
    .await;
    assert_eq!(q.status, StatusCode::OK);
    // Its own appeals, and public ones (everyone sees those).
    assert!(
        q.body["appeals"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["executor_id"] == executor || a["is_public"] == true)
    );
    let q = send(
        &app,
        Method::GET,
        &format!("/api/appeals?status=closed&executor={executor}&limit=1000"),
        Some(&ex),
        None,
    )
    .await;
    assert!(q.body["numberMatched"].as_i64().unwrap() <= 1000);
    assert!(q.body["appeals"].as_array().unwrap().iter().any(|a| a["id"] == id));
    assert!(
        q.body["appeals"][0].get("email").is_none(),
        "an executor does not see the author's contact"
    );
    let q = send(
        &app,
        Method::GET,
        &format!("/api/appeals?status=closed&executor={executor}&limit=1000"),
        Some(&op),
        None,
    )
    .await;
    assert!(
        q.body["appeals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == id && a["email"] == "author@example.org")
    );
    assert_eq!(
        send(&app, Method::GET, "/api/appeals?status=nonsense", Some(&op), None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let o = send(&app, Method::GET, "/api/appeals/overdue", Some(&op), None).await;
    assert_eq!(o.status, StatusCode::OK);
    let overdue_total: i64 = o.body["executors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["overdue"].as_i64().unwrap())
        .sum();
    let expected: i64 = sqlx::query_scalar("SELECT count(*) FROM appeals WHERE deleted_at IS NULL AND due_at < now() AND status IN ('registered','in_progress','extended')")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(overdue_total, expected);
}

#[tokio::test]
async fn information_requests_count_working_days_from_the_calendar() {
    let db = TestDb::new().await;
    // Friday 2026-12-04 10:00 Kyiv; Monday 7th is made a day off, Saturday 12th a working day.
    sqlx::query("INSERT INTO working_calendar (day, is_working, note) VALUES ('2026-12-07', false, 'holiday'), ('2026-12-12', true, 'working Saturday')")
        .execute(&db.pool)
        .await
        .unwrap();
    let due: String = sqlx::query_scalar(
        "SELECT to_char(geoportal_appeal_due('info_request', '2026-12-04 10:00 Europe/Kyiv', false) AT TIME ZONE 'Europe/Kyiv', 'YYYY-MM-DD HH24:MI')",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    // Working days: 8, 9, 10, 11, 12 (Sat) → due at the end of the 12th.
    assert_eq!(due, "2026-12-13 00:00");
    let due: String = sqlx::query_scalar(
        "SELECT to_char(geoportal_appeal_due('complaint', '2026-12-04 10:00 Europe/Kyiv', true) AT TIME ZONE 'Europe/Kyiv', 'YYYY-MM-DD HH24:MI')",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(due, "2026-12-20 00:00");
}

#[tokio::test]
async fn nearby_offers_public_open_appeals_and_counts_the_rest() {
    let (db, app) = setup().await;
    let (lon, lat, _) = inside_point(&db.pool).await;
    // Two appeals at the point: one registered and public, one not public.
    let mut ids = Vec::new();
    for email in ["n1@example.org", "n2@example.org"] {
        let r = send(&app, Method::POST, "/api/appeals", None, Some(appeal(lon, lat, email))).await;
        ids.push(r.body["id"].as_i64().unwrap());
    }
    sqlx::query(
        "UPDATE appeals SET status = 'registered', registered_at = now(), is_public = (id = $1) WHERE id = ANY($2)",
    )
    .bind(ids[0])
    .bind(&ids)
    .execute(&db.pool)
    .await
    .unwrap();
    let r = send(
        &app,
        Method::GET,
        &format!("/api/appeals/nearby?lon={lon}&lat={lat}&category=roads.potholes"),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["radius_m"], 100);
    let list = r.body["appeals"].as_array().unwrap();
    assert!(
        list.iter()
            .any(|a| a["id"] == ids[0] && a["distance_m"].as_f64().unwrap() < 1.0)
    );
    assert!(!list.iter().any(|a| a["id"] == ids[1]));
    // Just outside the category's 100 m radius: not offered.
    let (lon2, lat2): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Project(ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, 130, 0)::geometry p) s",
    )
    .bind(lon)
    .bind(lat)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let far = send(
        &app,
        Method::GET,
        &format!("/api/appeals/nearby?lon={lon2}&lat={lat2}&category=roads.potholes"),
        None,
        None,
    )
    .await;
    assert!(
        !far.body["appeals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == ids[0]),
        "130 m is outside 100 m"
    );
    let hidden: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM appeals WHERE deleted_at IS NULL AND NOT is_public AND category = 'roads.potholes' \
         AND status IN ('registered','in_progress','extended') AND ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint($1,$2),4326)::geography, 100)",
    )
    .bind(lon)
    .bind(lat)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(hidden >= 1);
    assert_eq!(r.body["non_public_count"], hidden);
    assert!(
        !r.raw.windows(7).any(|w| w == b"example"),
        "no contact in the nearby list"
    );
    assert_eq!(
        send(
            &app,
            Method::GET,
            "/api/appeals/nearby?lon=28&lat=50&category=nope",
            None,
            None
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        send(&app, Method::GET, "/api/appeals/nearby?lon=28", None, None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn find_my_deputy_by_point_or_address() {
    let (db, app) = setup().await;
    let (lon, lat, district) = inside_point(&db.pool).await;
    let r = send(
        &app,
        Method::GET,
        &format!("/api/districts/lookup?lon={lon}&lat={lat}"),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["district"]["id"], district);
    let deputies: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM deputies WHERE district_id = $1 AND deleted_at IS NULL AND valid_from <= current_date \
         AND (valid_to IS NULL OR valid_to >= current_date)",
    )
    .bind(district)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(r.body["deputies"].as_array().unwrap().len() as i64, deputies);
    let address: String = sqlx::query_scalar("SELECT full_address FROM addresses ORDER BY id LIMIT 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let r = send(
        &app,
        Method::GET,
        &format!("/api/districts/lookup?address={}", urlencode(&address)),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        send(
            &app,
            Method::GET,
            "/api/districts/lookup?lon=30.5&lat=50.45",
            None,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&app, Method::GET, "/api/districts/lookup", None, None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn subscribers_hear_of_new_public_appeals_in_their_area() {
    let (db, app) = setup().await;
    let (lon, lat, _) = inside_point(&db.pool).await;
    user(&db, "resident1", &[Role::Resident], None).await;
    user(&db, "operator", &[Role::AppealsOperator], None).await;
    let res = login(&app, "resident1").await;
    let op = login(&app, "operator").await;
    assert_eq!(
        send(&app, Method::POST, "/api/appeals/subscriptions", None, Some(json!({})))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let r = send(
        &app,
        Method::POST,
        "/api/appeals/subscriptions",
        Some(&res),
        Some(json!({"lon": lon, "lat": lat, "radius_m": 20000, "categories": ["x"]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = send(
        &app,
        Method::POST,
        "/api/appeals/subscriptions",
        Some(&res),
        Some(json!({"lon": lon, "lat": lat, "radius_m": 300, "categories": ["roads"]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = send(
        &app,
        Method::POST,
        "/api/appeals",
        None,
        Some(appeal(lon, lat, "someone@example.org")),
    )
    .await;
    let id = r.body["id"].as_i64().unwrap();
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox WHERE recipient = 'resident1@city.example'")
            .fetch_one(&db.pool)
            .await
            .unwrap()
    };
    assert_eq!(count().await, 0, "not public yet");
    let r = send(
        &app,
        Method::POST,
        &format!("/api/appeals/{id}/transitions"),
        Some(&op),
        Some(json!({"to": "registered", "is_public": true})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(count().await, 1);
    let body: String = sqlx::query_scalar("SELECT body FROM outbox WHERE recipient = 'resident1@city.example'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(!body.contains("someone@example.org") && !body.contains("Канарка"));
    let list = send(&app, Method::GET, "/api/appeals/subscriptions", Some(&res), None).await;
    let sid = list.body["subscriptions"][0]["id"].as_i64().unwrap();
    assert_eq!(
        send(
            &app,
            Method::DELETE,
            &format!("/api/appeals/subscriptions/{sid}"),
            Some(&res),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn open311_lists_services_files_requests_and_lists_only_public_ones() {
    let (db, app) = setup().await;
    let (lon, lat, _) = inside_point(&db.pool).await;
    let r = send(&app, Method::GET, "/open311/v2/services.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let services = r.body.as_array().unwrap();
    assert!(
        services
            .iter()
            .any(|s| s["service_code"] == "roads.potholes" && s["group"] == "Дороги і тротуари")
    );
    let r = send(
        &app,
        Method::GET,
        "/open311/v2/services/roads.potholes.json",
        None,
        None,
    )
    .await;
    assert_eq!(r.body["attributes"][0]["code"], "kind");
    let r = send(&app, Method::GET, "/open311/v2/services/nope.json", None, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body[0]["code"], 404);

    let form = |key: Option<&str>, extra: &str| {
        let mut s = format!(
            "service_code=roads.potholes&lat={lat}&long={lon}&description=Yama&first_name=Canary&last_name=Open311&email=o311%40example.org{extra}"
        );
        if let Some(k) = key {
            s.push_str(&format!("&api_key={k}"));
        }
        Request::post("/open311/v2/requests.json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(s))
            .unwrap()
    };
    let r = send_raw(&app, form(None, ""), "10.5.0.1:1").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body[0]["code"], 403);
    assert_eq!(
        send_raw(&app, form(Some("gpk_wrong"), ""), "10.5.0.1:1").await.status,
        StatusCode::FORBIDDEN
    );
    user(&db, "root", &[Role::Admin], None).await;
    user(&db, "operator", &[Role::AppealsOperator], None).await;
    let admin = login(&app, "root").await;
    let op = login(&app, "operator").await;
    let key = send(
        &app,
        Method::POST,
        "/api/admin/api-keys",
        Some(&admin),
        Some(json!({"name": "city app", "roles": []})),
    )
    .await;
    let key = key.body["key"].as_str().unwrap().to_string();
    let r = send_raw(&app, form(Some(&key), "&attribute%5Bkind%5D=nonsense"), "10.5.0.1:1").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body[0]["description"].as_str().unwrap().contains("kind"));
    let r = send_raw(&app, form(Some(&key), ""), "10.5.0.1:1").await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.raw));
    let number = r.body[0]["service_request_id"].as_str().unwrap().to_string();
    let channel: String = sqlx::query_scalar("SELECT channel FROM appeals WHERE public_number = $1")
        .bind(&number)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(channel, "open311");

    // Not listed until registered and public.
    let uri = format!("/open311/v2/requests.json?service_request_id={number}");
    assert_eq!(send(&app, Method::GET, &uri, None, None).await.body, json!([]));
    assert_eq!(
        send(
            &app,
            Method::GET,
            &format!("/open311/v2/requests/{number}.json"),
            None,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let id: i64 = sqlx::query_scalar("SELECT id FROM appeals WHERE public_number = $1")
        .bind(&number)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE appeals SET consent_public = true WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    send(
        &app,
        Method::POST,
        &format!("/api/appeals/{id}/transitions"),
        Some(&op),
        Some(json!({"to": "registered", "is_public": true})),
    )
    .await;
    let r = send(
        &app,
        Method::GET,
        &format!("/open311/v2/requests/{number}.json"),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body[0]["status"], "open");
    assert_eq!(r.body[0]["service_code"], "roads.potholes");
    assert!(r.body[0]["expected_datetime"].is_string());
    // Every field of GeoReport v2's request, with its type.
    let req = &r.body[0];
    for key in [
        "service_request_id",
        "status",
        "service_name",
        "service_code",
        "description",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
    ] {
        assert!(req[key].is_string(), "{key} is a string: {req}");
    }
    for key in ["lat", "long"] {
        assert!(req[key].is_f64(), "{key} is a number: {req}");
    }
    for key in [
        "status_notes",
        "agency_responsible",
        "service_notice",
        "address",
        "address_id",
        "zipcode",
        "media_url",
    ] {
        assert!(req.get(key).is_some(), "{key} is present: {req}");
    }
    for key in ["requested_datetime", "updated_datetime", "expected_datetime"] {
        assert!(
            chrono::DateTime::parse_from_rfc3339(req[key].as_str().unwrap()).is_ok(),
            "{key} is W3C datetime"
        );
    }
    for s in services {
        for key in [
            "service_code",
            "service_name",
            "description",
            "type",
            "keywords",
            "group",
        ] {
            assert!(s[key].is_string(), "service {key}: {s}");
        }
        assert!(s["metadata"].is_boolean());
    }
    let text = String::from_utf8_lossy(&r.raw);
    assert!(
        !text.contains("Canary") && !text.contains("o311@"),
        "personal data in Open311: {text}"
    );
    // status filter and spam never listed.
    let r = send(&app, Method::GET, "/open311/v2/requests.json?status=closed", None, None).await;
    assert!(r.body.as_array().unwrap().iter().all(|x| x["status"] == "closed"));
    assert_eq!(
        send(&app, Method::GET, "/open311/v2/requests.json?status=maybe", None, None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let spam_listed: i64 = {
        let all = send(
            &app,
            Method::GET,
            "/open311/v2/requests.json?start_date=2000-01-01T00:00:00Z",
            None,
            None,
        )
        .await;
        let numbers: Vec<String> = all
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["service_request_id"].as_str().unwrap().to_string())
            .collect();
        sqlx::query_scalar("SELECT count(*) FROM appeals WHERE status = 'spam' AND public_number = ANY($1)")
            .bind(&numbers)
            .fetch_one(&db.pool)
            .await
            .unwrap()
    };
    assert_eq!(spam_listed, 0);
}

/// The canary: an appeal made public with distinctive personal data; no
/// public answer anywhere may contain any of it.
#[tokio::test]
async fn personal_data_of_authors_never_appears_in_public_answers() {
    let (db, app) = setup().await;
    let (lon, lat, _) = inside_point(&db.pool).await;
    let canary = json!({
        "kind": "complaint", "category": "waste", "description": "Переповнені контейнери",
        "lon": lon, "lat": lat, "consent_public": true,
        "contact": {"name": "Zzcanaryname Qqsurname", "email": "zzcanary@example.org", "phone": "+380 99 123 45 67", "address": "Zzcanarystreet 1"},
    });
    let r = send(&app, Method::POST, "/api/appeals", None, Some(canary)).await;
    let id = r.body["id"].as_i64().unwrap();
    let number = r.body["public_number"].as_str().unwrap().to_string();
    user(&db, "operator", &[Role::AppealsOperator], None).await;
    let op = login(&app, "operator").await;
    let r = send(
        &app,
        Method::POST,
        &format!("/api/appeals/{id}/transitions"),
        Some(&op),
        Some(json!({"to": "registered", "is_public": true})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let z = 15u32;
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let y = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    let uris = [
        format!("/api/appeals/{id}"),
        "/ogc/collections/appeals/items?limit=10000".to_string(),
        "/ogc/collections/appeals/items?limit=10000&f=csv".to_string(),
        "/ogc/collections/appeals/items?limit=10000&f=html".to_string(),
        format!("/ogc/collections/appeals/items/{id}"),
        format!("/tiles/appeals/{z}/{x}/{y}.mvt"),
        format!("/api/appeals/nearby?lon={lon}&lat={lat}&category=waste"),
        format!("/open311/v2/requests/{number}.json"),
        "/open311/v2/requests.json".to_string(),
        format!("/api/search?q={number}"),
        "/api/search?q=Zzcanaryname".to_string(),
        "/api/search?q=zzcanary".to_string(),
        format!("/api/districts/lookup?lon={lon}&lat={lat}"),
    ];
    let mut seen = 0;
    for uri in &uris {
        let r = send(&app, Method::GET, uri, None, None).await;
        assert!(r.status.is_success(), "{uri}: {}", r.status);
        // The search answer echoes the caller's own query; look at the hits.
        let text = if uri.starts_with("/api/search") {
            r.body["hits"].to_string().to_lowercase()
        } else {
            String::from_utf8_lossy(&r.raw).to_lowercase()
        };
        for secret in ["zzcanaryname", "qqsurname", "zzcanary@", "123 45 67", "zzcanarystreet"] {
            assert!(!text.contains(secret), "{uri} leaks {secret}");
        }
        if text.contains(&number.to_lowercase()) || !r.raw.is_empty() {
            seen += 1;
        }
    }
    assert!(seen >= 8, "the public answers do show the appeal itself");
    // Every analysis of the catalogue, in every format, with its defaults.
    let catalogue = send(&app, Method::GET, "/api/analytics", None, None).await;
    assert_eq!(catalogue.status, StatusCode::OK);
    let names: Vec<String> = catalogue.body["analyses"]
        .as_array()
        .or_else(|| catalogue.body.as_array())
        .expect("a list of analyses")
        .iter()
        .filter_map(|a| a["name"].as_str().map(str::to_string))
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    let district: i64 = sqlx::query_scalar("SELECT electoral_district_id FROM appeals WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let mut answered = std::collections::BTreeSet::new();
    for name in &names {
        for f in ["json", "csv", "geojson"] {
            for extra in ["", &format!("&district_id={district}")] {
                let r = send(
                    &app,
                    Method::GET,
                    &format!("/api/analytics/{name}?f={f}{extra}"),
                    None,
                    None,
                )
                .await;
                if !r.status.is_success() {
                    continue;
                }
                answered.insert(name.clone());
                let text = String::from_utf8_lossy(&r.raw).to_lowercase();
                for secret in ["zzcanaryname", "qqsurname", "zzcanary@", "123 45 67", "zzcanarystreet"] {
                    assert!(!text.contains(secret), "analytics {name} ({f}) leaks {secret}");
                }
            }
        }
    }
    assert!(
        answered.len() * 5 >= names.len() * 4,
        "most analyses answered: {answered:?} of {names:?}"
    );
    // The appeal is in the public features (so the check above looked at it).
    let r = send(
        &app,
        Method::GET,
        &format!("/ogc/collections/appeals/items/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(r.body["properties"]["public_number"], number);
}

#[tokio::test]
async fn contacts_show_to_the_assigned_executor_and_addressed_deputy_and_every_view_is_logged() {
    let (db, app) = setup().await;
    let (lon, lat, district) = inside_point(&db.pool).await;
    let deputy: i64 = sqlx::query_scalar("SELECT id FROM deputies WHERE deleted_at IS NULL ORDER BY id LIMIT 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let mut body = appeal(lon, lat, "private@example.org");
    body["addressed_deputy_id"] = json!(deputy);
    body["consent_public"] = json!(false);
    let r = send(&app, Method::POST, "/api/appeals", None, Some(body)).await;
    let id = r.body["id"].as_i64().unwrap();
    let executor = r.body["routing"]["executor"]["id"].as_i64().unwrap();
    let other: i64 = sqlx::query_scalar("SELECT id FROM executors WHERE id <> $1 ORDER BY id LIMIT 1")
        .bind(executor)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    user(&db, "roads", &[Role::Executor], Some(executor)).await;
    user(&db, "parks", &[Role::Executor], Some(other)).await;
    user(&db, "mydeputy", &[Role::Deputy], None).await;
    user(&db, "otherdeputy", &[Role::Deputy], None).await;
    user(&db, "operator", &[Role::AppealsOperator], None).await;
    sqlx::query("UPDATE users SET deputy_id = $1 WHERE username = 'mydeputy'")
        .bind(deputy)
        .execute(&db.pool)
        .await
        .unwrap();
    let uri = format!("/api/appeals/{id}");
    let mut seen = Vec::new();
    for (name, sees_row, sees_contact) in [
        ("roads", true, true),
        ("parks", false, false),
        ("mydeputy", true, true),
        ("otherdeputy", true, false),
        ("operator", true, true),
    ] {
        let token = login(&app, name).await;
        let r = send(&app, Method::GET, &uri, Some(&token), None).await;
        if !sees_row {
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{name}");
            continue;
        }
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.body);
        assert_eq!(r.body.get("email").is_some(), sees_contact, "{name}: {}", r.body);
        if sees_contact {
            assert_eq!(r.body["email"], "private@example.org");
            seen.push(format!("user:{name}"));
        }
    }
    let _ = district;
    let logged: Vec<String> =
        sqlx::query_scalar("SELECT actor FROM appeal_contact_views WHERE appeal_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(logged, seen);
}

#[tokio::test]
async fn withdrawn_consent_and_erased_contacts() {
    let (db, app) = setup().await;
    let (lon, lat, _) = inside_point(&db.pool).await;
    let r = send(
        &app,
        Method::POST,
        "/api/appeals",
        None,
        Some(appeal(lon, lat, "withdraw@example.org")),
    )
    .await;
    let id = r.body["id"].as_i64().unwrap();
    let number = r.body["public_number"].as_str().unwrap().to_string();
    let url = r.body["tracking_url"].as_str().unwrap();
    let track = url[url.find("/api/").unwrap()..].to_string();
    user(&db, "operator", &[Role::AppealsOperator], None).await;
    let op = login(&app, "operator").await;
    send(
        &app,
        Method::POST,
        &format!("/api/appeals/{id}/transitions"),
        Some(&op),
        Some(json!({"to": "registered", "is_public": true})),
    )
    .await;
    assert_eq!(
        send(
            &app,
            Method::GET,
            &format!("/ogc/collections/appeals/items/{id}"),
            None,
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    let r = send(&app, Method::POST, &format!("{track}/withdraw-consent"), None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        send(
            &app,
            Method::GET,
            &format!("/ogc/collections/appeals/items/{id}"),
            None,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(
            &app,
            Method::GET,
            &format!("/open311/v2/requests/{number}.json"),
            None,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // Publishing again without consent is refused.
    let r = send(&app, Method::GET, &format!("/api/appeals/{id}"), Some(&op), None).await;
    assert_eq!(r.body["is_public"], false);

    // Retention: contacts of appeals closed long ago are erased, history too.
    // (created_at is kept by the bookkeeping trigger, so the test closes it
    // now and asks for a zero-day retention instead of waiting five years.)
    sqlx::query("UPDATE appeals SET status = 'closed', closed_at = now() WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let kept: Option<String> = {
        geoportal::appeals::erase_old_contacts(&db.pool, 1826).await.unwrap();
        sqlx::query_scalar("SELECT email FROM appeals WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap()
    };
    assert_eq!(kept.as_deref(), Some("withdraw@example.org"), "recently closed: kept");
    // The status mails to the author were sent (a waiting one is kept).
    sqlx::query("UPDATE outbox SET sent_at = now() WHERE recipient = 'withdraw@example.org'")
        .execute(&db.pool)
        .await
        .unwrap();
    let mailed: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE recipient = 'withdraw@example.org'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(mailed > 0, "the author was mailed about the changes");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let erased = geoportal::appeals::erase_old_contacts(&db.pool, 0).await.unwrap();
    assert!(erased >= 1);
    let mailed: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE recipient = 'withdraw@example.org'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(mailed, 0, "the mails sent to an erased contact go with it");
    let (name, email, phone): (String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT author_name, email, phone FROM appeals WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!((name.as_str(), email, phone), ("—", None, None));
    let leaks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM history WHERE table_name = 'appeals' AND feature_id = $1 \
         AND (coalesce(old_row::text, '') LIKE '%withdraw@example.org%' OR coalesce(new_row::text, '') LIKE '%withdraw@example.org%')",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(leaks, 0);
}

#[tokio::test]
async fn districts_match_an_independent_point_in_polygon_and_the_border_rule() {
    let (db, app) = setup().await;
    // Independent: the geo crate on the districts' polygons.
    let districts: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, ST_AsGeoJSON(geom) FROM electoral_districts WHERE deleted_at IS NULL ORDER BY convocation DESC, id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let polygons: Vec<(i64, geo::Geometry<f64>)> = districts
        .into_iter()
        .map(|(id, gj)| {
            let g: geojson::Geometry = serde_json::from_str(&gj).unwrap();
            (id, geo::Geometry::<f64>::try_from(g).unwrap())
        })
        .collect();
    let appeals: Vec<(i64, f64, f64, Option<i64>)> =
        sqlx::query_as("SELECT id, ST_X(geom), ST_Y(geom), electoral_district_id FROM appeals ORDER BY id LIMIT 200")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    use geo::Intersects;
    for (id, lon, lat, stored) in appeals {
        let p = geo::Point::new(lon, lat);
        let expected = polygons.iter().find(|(_, g)| g.intersects(&p)).map(|(i, _)| *i);
        assert_eq!(stored, expected, "appeal {id}");
    }
    // A point exactly on a border shared by two districts: the lower id,
    // in the database at insert and in the lookup alike.
    let border: Option<(f64, f64, i64)> = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p), least(a.id, b.id) FROM electoral_districts a JOIN electoral_districts b ON a.id < b.id \
         AND ST_Intersects(a.geom, b.geom), \
         LATERAL (SELECT ST_LineInterpolatePoint(ST_GeometryN(ST_LineMerge(ST_CollectionExtract(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)), 2)), 1), 0.5) AS p) x \
         WHERE NOT ST_IsEmpty(ST_CollectionExtract(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)), 2)) LIMIT 1",
    )
    .fetch_optional(&db.pool)
    .await
    .unwrap();
    let (lon, lat, lower) = border.expect("the demo city has neighbouring districts");
    let r = send(
        &app,
        Method::GET,
        &format!("/api/districts/lookup?lon={lon}&lat={lat}"),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["district"]["id"], lower);
    let filed = send(
        &app,
        Method::POST,
        "/api/appeals",
        None,
        Some(appeal(lon, lat, "border@example.org")),
    )
    .await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    assert_eq!(filed.body["routing"]["electoral_district"]["id"], lower);

    // The list and one district; a past date has no deputies of today.
    let r = send(&app, Method::GET, "/api/districts", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.body["districts"].as_array().unwrap().is_empty());
    let r = send(&app, Method::GET, &format!("/api/districts/{lower}"), None, None).await;
    assert_eq!(r.body["geometry"]["type"], "MultiPolygon");
    assert_eq!(
        send(&app, Method::GET, "/api/districts/999999", None, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&app, Method::GET, "/api/districts?date=yesterday", None, None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn executors_are_routed_by_category_and_area() {
    let (db, app) = setup().await;
    let (lon, lat, _) = inside_point(&db.pool).await;
    let area: i64 = sqlx::query_scalar("SELECT id FROM admin_districts WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326)) ORDER BY id LIMIT 1")
        .bind(lon)
        .bind(lat)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM executors ORDER BY id LIMIT 3")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    // The demo's own table first routes by the first executor of a category;
    // replace it. City-wide for the parent, area-specific for the child: the
    // most specific wins.
    sqlx::query("UPDATE executor_responsibility SET deleted_at = now()")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO executor_responsibility (category, admin_district_id, executor_id) VALUES ('roads', NULL, $1), ('roads.potholes', $2, $3), ('roads.potholes', NULL, $4)")
        .bind(ids[0])
        .bind(area)
        .bind(ids[1])
        .bind(ids[2])
        .execute(&db.pool)
        .await
        .unwrap();
    let r = send(
        &app,
        Method::POST,
        "/api/appeals",
        None,
        Some(appeal(lon, lat, "route1@example.org")),
    )
    .await;
    assert_eq!(r.body["routing"]["executor"]["id"], ids[1]);
    let mut sidewalk = appeal(lon, lat, "route2@example.org");
    sidewalk["category"] = json!("roads.sidewalks");
    let r = send(&app, Method::POST, "/api/appeals", None, Some(sidewalk)).await;
    assert_eq!(
        r.body["routing"]["executor"]["id"], ids[0],
        "the parent category's row covers its children"
    );
    let mut emergency = appeal(lon, lat, "route3@example.org");
    emergency["kind"] = json!("emergency");
    let r = send(&app, Method::POST, "/api/appeals", None, Some(emergency)).await;
    let dispatch: i64 = sqlx::query_scalar("SELECT id FROM executors WHERE kind = 'dispatch' ORDER BY id LIMIT 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(r.body["routing"]["executor"]["id"], dispatch);
    let hours = (chrono::DateTime::parse_from_rfc3339(r.body["due_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc)
        - chrono::Utc::now())
    .num_hours();
    assert!(
        (0..=48).contains(&hours),
        "an emergency is due by the end of the next day: {hours} h"
    );

    // Open311 extensions: discovery, pages, a circle.
    let d = send(&app, Method::GET, "/open311/v2/discovery.json", None, None).await;
    assert!(
        d.body["endpoints"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/open311/v2/")
    );
    let page = send(
        &app,
        Method::GET,
        "/open311/v2/requests.json?page_size=2&start_date=2000-01-01T00:00:00Z",
        None,
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.as_array().unwrap().len() <= 2);
    let near = send(
        &app,
        Method::GET,
        &format!("/open311/v2/requests.json?lat={lat}&long={lon}&radius=500&start_date=2000-01-01T00:00:00Z"),
        None,
        None,
    )
    .await;
    for r in near.body.as_array().unwrap() {
        let (rl, rn) = (r["lat"].as_f64().unwrap(), r["long"].as_f64().unwrap());
        let dy = (rl - lat) * 111_320.0;
        let dx = (rn - lon) * 111_320.0 * lat.to_radians().cos();
        assert!((dx * dx + dy * dy).sqrt() < 510.0);
    }
    assert_eq!(
        send(
            &app,
            Method::GET,
            "/open311/v2/requests.json?lat=50&radius=5",
            None,
            None
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
}

/// The canary in the server's own log: run the real binary, file an appeal
/// over HTTP with distinctive contact data, and read every log line.
#[tokio::test]
async fn no_log_line_carries_an_authors_contact() {
    use std::io::{Read, Write};
    let db = TestDb::new().await.with_demo(0.05, 11).await;
    let (lon, lat, _) = inside_point(&db.pool).await;
    let mut server = common::binary::Served::builder(&db.url())
        .log_level("debug")
        .stderr(std::process::Stdio::piped())
        .start();
    let port = server.port;
    let http = |method: &str, path: &str, body: &str| -> Option<String> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    };
    let canary = json!({
        "kind": "complaint", "category": "waste", "description": "Контейнери", "lon": lon, "lat": lat,
        "contact": {"name": "Logcanary Surname", "email": "logcanary@example.org", "phone": "+380 93 765 43 21", "address": "Logcanarystreet 9"},
    });
    let answer = http("POST", "/api/appeals", &canary.to_string()).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    // A bad filing too: the error path must not echo the contact either.
    let mut bad = canary.clone();
    bad["kind"] = json!("rant");
    let answer = http("POST", "/api/appeals", &bad.to_string()).unwrap();
    assert!(answer.starts_with("HTTP/1.1 422"), "{answer}");
    http(
        "GET",
        &format!("/api/appeals/nearby?lon={lon}&lat={lat}&category=waste"),
        "",
    );
    // SIGTERM: the server shuts down gracefully and flushes its log.
    server.sigterm();
    let mut log = String::new();
    server.child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(log.contains("appeal filed"), "the log was captured: {log}");
    for secret in ["logcanary", "Logcanary", "765 43 21", "Logcanarystreet"] {
        assert!(!log.contains(secret), "a log line carries `{secret}`");
    }
}
