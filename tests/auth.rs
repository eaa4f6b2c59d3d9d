//! Accounts end to end: sign-in with bearer tokens, rate limits, sign-out,
//! resident registration with the emailed confirmation link, password
//! reset, the admin's users and API keys, the outbox's retries, and
//! restricted attributes appearing exactly for the roles that may see them.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use common::TestDb;
use futures::future::BoxFuture;
use geoportal::auth::outbox::{self, Message, Sender};
use geoportal::registry::Role;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const PASSWORD: &str = "correct-horse-battery";

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

async fn send(app: &axum::Router, method: Method, uri: &str, token: Option<&str>, body: Option<Value>) -> Reply {
    send_from(app, method, uri, token, body, "10.0.0.1:5000").await
}

async fn send_from(
    app: &axum::Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
    peer: &str,
) -> Reply {
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
    let mut req = req.body(body).unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

async fn staff(db: &TestDb, name: &str, roles: &[Role]) -> i64 {
    geoportal::users::add(&db.pool, name, roles, PASSWORD).await.unwrap()
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

/// The token of the newest link in the newest message to `recipient`.
async fn link_token(db: &TestDb, recipient: &str) -> String {
    let body: String = sqlx::query_scalar("SELECT body FROM outbox WHERE recipient = $1 ORDER BY id DESC LIMIT 1")
        .bind(recipient)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let start = body.find("token=").expect("a link with a token") + "token=".len();
    body[start..].chars().take_while(|c| c.is_ascii_hexdigit()).collect()
}

#[tokio::test]
async fn sign_in_me_and_sign_out() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let id = staff(&db, "land1", &[Role::LandEditor, Role::Deputy]).await;

    // Anonymous: /me is 401 with a Bearer challenge.
    let r = send(&app, Method::GET, "/api/auth/me", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers.get("www-authenticate").is_some());
    assert_eq!(r.headers["content-type"], "application/problem+json");

    // Wrong password and unknown user give the same answer.
    for (name, pw) in [("land1", "wrong-password-x"), ("nobody", PASSWORD)] {
        let r = send(
            &app,
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": name, "password": pw})),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.body["detail"], "wrong user name or password");
    }

    let token = login(&app, "LAND1").await;
    assert!(token.starts_with("gps_"));
    // Only the hash is stored.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE user_id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);
    let plain: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sessions WHERE encode(token_sha256, 'escape') LIKE '%' || $1 || '%')",
    )
    .bind(&token[4..20])
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(!plain);

    let r = send(&app, Method::GET, "/api/auth/me", Some(&token), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["user"]["username"], "land1");
    assert_eq!(r.body["roles"], json!(["land_editor", "deputy"]));
    assert!(r.body["user"].get("password_hash").is_none());

    // A made-up token is 401, not anonymous.
    let r = send(&app, Method::GET, "/api/layers", Some("gps_0000"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let r = send(&app, Method::POST, "/api/auth/logout", Some(&token), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = send(&app, Method::GET, "/api/auth/me", Some(&token), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // An expired session no longer works.
    let token = login(&app, "land1").await;
    sqlx::query("UPDATE sessions SET created_at = now() - interval '2 days', expires_at = now() - interval '1 second'")
        .execute(&db.pool)
        .await
        .unwrap();
    let app = common::app(&db).await; // a fresh process: nothing cached
    let r = send(&app, Method::GET, "/api/auth/me", Some(&token), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // A disabled account cannot sign in, and its sessions end.
    let token = login(&app, "land1").await;
    geoportal::users::set_disabled(&db.pool, id, true).await.unwrap();
    let app = common::app(&db).await;
    assert_eq!(
        send(&app, Method::GET, "/api/auth/me", Some(&token), None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = send(
        &app,
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"username": "land1", "password": PASSWORD})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_account_and_per_address() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    staff(&db, "target", &[Role::PropertyEditor]).await;
    staff(&db, "other", &[Role::PropertyEditor]).await;
    let attempt = |name: &'static str, peer: String| {
        let app = app.clone();
        async move {
            send_from(
                &app,
                Method::POST,
                "/api/auth/login",
                None,
                Some(json!({"username": name, "password": "wrong-password-x"})),
                &peer,
            )
            .await
        }
    };
    // Per account: guesses from many addresses still hit the account's limit.
    let mut limited = None;
    for i in 0..12 {
        let r = attempt("target", format!("10.1.0.{i}:4000")).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((i, r));
            break;
        }
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let (i, r) = limited.expect("the account's attempts are limited");
    assert_eq!(i, 10);
    assert!(r.headers["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    // Even the right password is refused while limited.
    let r = send_from(
        &app,
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"username": "target", "password": PASSWORD})),
        "10.1.1.1:4000",
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Another server instance over the same database shares the limit.
    let second = common::app(&db).await;
    let r = send_from(
        &second,
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"username": "target", "password": PASSWORD})),
        "10.1.1.2:4000",
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the limit holds on every instance"
    );
    // Keys (account names, addresses) are kept only as hashes.
    let plain: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM rate_limits WHERE octet_length(key_sha256) <> 32 \
         OR position('target'::bytea IN key_sha256) > 0",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(plain, 0);
    // Another account is not affected.
    let r = send_from(
        &app,
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"username": "other", "password": PASSWORD})),
        "10.1.1.1:4000",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);

    // Per address: one address guessing many accounts is limited too.
    let mut limited_at = None;
    for i in 0..40 {
        let name: &'static str = Box::leak(format!("user{i}").into_boxed_str());
        let r = attempt(name, "10.9.9.9:1".into()).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited_at = Some(i);
            break;
        }
    }
    assert_eq!(limited_at, Some(30));
}

#[tokio::test]
async fn residents_register_confirm_by_email_and_reset_passwords() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let email = "Olena.K+map@example.org";
    let r = send(
        &app,
        Method::POST,
        "/api/auth/register",
        None,
        Some(json!({"email": email, "password": PASSWORD, "display_name": "Олена"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let lower = email.to_lowercase();

    // Not confirmed yet: sign-in is refused with the reason.
    let r = send(
        &app,
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"username": email, "password": PASSWORD})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body["detail"].as_str().unwrap().contains("confirm"));

    // The same address again is a conflict; bad input is 422 with every problem.
    let r = send(
        &app,
        Method::POST,
        "/api/auth/register",
        None,
        Some(json!({"email": email, "password": PASSWORD})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = send(
        &app,
        Method::POST,
        "/api/auth/register",
        None,
        Some(json!({"email": "not-an-address", "password": "short"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("email") && detail.contains("password"), "{detail}");
    let r = send(
        &app,
        Method::POST,
        "/api/auth/register",
        None,
        Some(json!({"email": "a@b.cd", "password": PASSWORD, "role": "admin"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "unknown fields are refused");

    // The confirmation link came through the outbox; following it confirms.
    let token = link_token(&db, &lower).await;
    let r = send(
        &app,
        Method::GET,
        &format!("/api/auth/confirm?token={token}"),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = send(
        &app,
        Method::GET,
        &format!("/api/auth/confirm?token={token}"),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a link works once");
    let session = {
        let r = send(
            &app,
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": email, "password": PASSWORD})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["user"]["roles"], json!(["resident"]));
        r.body["token"].as_str().unwrap().to_string()
    };

    // Password reset: the same answer for known and unknown addresses.
    for addr in [lower.as_str(), "nobody@example.org"] {
        let r = send(
            &app,
            Method::POST,
            "/api/auth/password-reset",
            None,
            Some(json!({"email": addr})),
        )
        .await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
    }
    let unknown: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE recipient = 'nobody@example.org'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(unknown, 0);
    let token = link_token(&db, &lower).await;
    let r = send(
        &app,
        Method::POST,
        "/api/auth/password-reset/confirm",
        None,
        Some(json!({"token": token, "password": "short"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = send(
        &app,
        Method::POST,
        "/api/auth/password-reset/confirm",
        None,
        Some(json!({"token": token, "password": "a-brand-new-password"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // The old password and the old session are gone; the new password works.
    let r = send(
        &app,
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"username": email, "password": PASSWORD})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        send(&app, Method::GET, "/api/auth/me", Some(&session), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let r = send(
        &app,
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"username": email, "password": "a-brand-new-password"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn admin_manages_users_and_api_keys() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    staff(&db, "root", &[Role::Admin]).await;
    staff(&db, "clerk", &[Role::AppealsOperator]).await;
    let admin = login(&app, "root").await;
    let clerk = login(&app, "clerk").await;

    // 401 anonymous, 403 for other roles.
    assert_eq!(
        send(&app, Method::GET, "/api/admin/users", None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&app, Method::GET, "/api/admin/users", Some(&clerk), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&app, Method::GET, "/api/admin/api-keys", Some(&clerk), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let perimeter = json!({"type": "Polygon", "coordinates": [[[28.6, 50.2], [28.7, 50.2], [28.7, 50.3], [28.6, 50.3], [28.6, 50.2]]]});
    let r = send(
        &app,
        Method::POST,
        "/api/admin/users",
        Some(&admin),
        Some(json!({"username": "land2", "password": PASSWORD, "roles": ["land_editor"], "email": "land2@city.example", "perimeter": perimeter})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["perimeter"]["type"], "MultiPolygon");
    for bad in [
        json!({"username": "x1", "password": PASSWORD, "roles": ["wizard"]}),
        json!({"username": "Bad Name!", "password": PASSWORD, "roles": ["admin"]}),
        json!({"username": "x2", "password": "short", "roles": ["admin"]}),
        json!({"username": "x3", "password": PASSWORD, "roles": ["admin"], "perimeter": {"type": "Point", "coordinates": [28.6, 50.2]}}),
    ] {
        let r = send(&app, Method::POST, "/api/admin/users", Some(&admin), Some(bad.clone())).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad} → {}", r.body);
    }
    let r = send(
        &app,
        Method::POST,
        "/api/admin/users",
        Some(&admin),
        Some(json!({"username": "land2", "password": PASSWORD, "roles": []})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(count, 3, "refused accounts left nothing behind");

    // Roles change; disabling ends the sessions at once.
    let land2 = login(&app, "land2").await;
    let r = send(
        &app,
        Method::PATCH,
        &format!("/api/admin/users/{id}"),
        Some(&admin),
        Some(json!({"roles": ["land_editor", "investment_editor"], "perimeter": null})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["perimeter"], Value::Null);
    let r = send(&app, Method::GET, "/api/auth/me", Some(&land2), None).await;
    assert_eq!(r.body["roles"], json!(["land_editor", "investment_editor"]));
    let r = send(
        &app,
        Method::PATCH,
        &format!("/api/admin/users/{id}"),
        Some(&admin),
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        send(&app, Method::GET, "/api/auth/me", Some(&land2), None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(
            &app,
            Method::PATCH,
            "/api/admin/users/99999",
            Some(&admin),
            Some(json!({"disabled": true}))
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(
            &app,
            Method::PATCH,
            "/api/admin/users/abc",
            Some(&admin),
            Some(json!({}))
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );

    // Reset link by the admin goes to the account's address.
    let r = send(
        &app,
        Method::POST,
        &format!("/api/admin/users/{id}/reset-password"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE recipient = 'land2@city.example'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(queued, 1);

    // API keys: shown once, stored hashed, work as X-API-Key, revocable.
    let r = send(
        &app,
        Method::POST,
        "/api/admin/api-keys",
        Some(&admin),
        Some(json!({"name": "meters", "roles": ["energy_editor"]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let key = r.body["key"].as_str().unwrap().to_string();
    let key_id = r.body["id"].as_i64().unwrap();
    assert!(key.starts_with("gpk_"));
    let r = send(&app, Method::GET, "/api/admin/api-keys", Some(&admin), None).await;
    assert!(r.body[0].get("key").is_none());
    assert_eq!(r.body[0]["prefix"], &key[..12]);
    let with_key = |k: &str| {
        Request::get("/api/auth/me")
            .header("x-api-key", k)
            .body(Body::empty())
            .unwrap()
    };
    let response = app.clone().oneshot(with_key(&key)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(me["roles"], json!(["energy_editor"]));
    assert_eq!(me["api_key_id"], key_id);
    let r = send(
        &app,
        Method::DELETE,
        &format!("/api/admin/api-keys/{key_id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let response = app.clone().oneshot(with_key(&key)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = app.clone().oneshot(with_key("gpk_madeup")).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// Fails the first `fail` sends, then delivers into a list.
struct Flaky {
    fail: usize,
    calls: AtomicUsize,
    delivered: std::sync::Mutex<Vec<Message>>,
}

impl Sender for Flaky {
    fn send<'a>(&'a self, m: &'a Message) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if n < self.fail {
                return Err("421 mail server busy".into());
            }
            self.delivered.lock().unwrap().push(m.clone());
            Ok(())
        })
    }
}

#[tokio::test]
async fn outbox_retries_failed_sends_with_backoff_and_gives_up_at_the_limit() {
    let db = TestDb::new().await;
    let message = Message {
        recipient: "someone@example.org".into(),
        subject: "Статус звернення".into(),
        body: "Ваше звернення зареєстровано.".into(),
    };
    let id = outbox::enqueue(&db.pool, &message).await.unwrap();
    let flaky = Flaky {
        fail: 2,
        calls: AtomicUsize::new(0),
        delivered: Default::default(),
    };
    let d = outbox::deliver_due(&db.pool, &flaky, 10).await.unwrap();
    assert_eq!((d.sent, d.retrying), (0, 1));
    // Not due again until the back-off has passed.
    let d = outbox::deliver_due(&db.pool, &flaky, 10).await.unwrap();
    assert_eq!(d, outbox::Delivery::default());
    let (attempts, error, wait): (i32, Option<String>, f64) = sqlx::query_as(
        "SELECT attempts, last_error, extract(epoch FROM next_attempt_at - now())::float8 FROM outbox WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(attempts, 1);
    assert_eq!(error.as_deref(), Some("421 mail server busy"));
    assert!((20.0..=31.0).contains(&wait), "first back-off ~30 s, got {wait}");
    for expected in [(0, 1), (1, 0)] {
        sqlx::query("UPDATE outbox SET next_attempt_at = now()")
            .execute(&db.pool)
            .await
            .unwrap();
        let d = outbox::deliver_due(&db.pool, &flaky, 10).await.unwrap();
        assert_eq!((d.sent, d.retrying), expected);
    }
    assert_eq!(
        flaky.delivered.lock().unwrap().as_slice(),
        std::slice::from_ref(&message)
    );
    let sent: bool = sqlx::query_scalar("SELECT sent_at IS NOT NULL FROM outbox WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(sent);
    // Once sent it is never sent again.
    sqlx::query("UPDATE outbox SET next_attempt_at = now()")
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        outbox::deliver_due(&db.pool, &flaky, 10).await.unwrap(),
        outbox::Delivery::default()
    );

    // A message that always fails is given up after max_attempts.
    let always = Flaky {
        fail: usize::MAX,
        calls: AtomicUsize::new(0),
        delivered: Default::default(),
    };
    let id = outbox::enqueue(&db.pool, &message).await.unwrap();
    sqlx::query("UPDATE outbox SET max_attempts = 3 WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let mut given_up = 0;
    for _ in 0..5 {
        sqlx::query("UPDATE outbox SET next_attempt_at = now()")
            .execute(&db.pool)
            .await
            .unwrap();
        given_up += outbox::deliver_due(&db.pool, &always, 10).await.unwrap().given_up;
    }
    assert_eq!(given_up, 1);
    assert_eq!(always.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn the_file_sender_writes_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let sender = outbox::FileSender::new(dir.path().join("mail/outbox.log"));
    let m = Message {
        recipient: "a@b.example".into(),
        subject: "s".into(),
        body: "посилання https://x/confirm?token=abc".into(),
    };
    sender.send(&m).await.unwrap();
    sender.send(&m).await.unwrap();
    let text = std::fs::read_to_string(dir.path().join("mail/outbox.log")).unwrap();
    assert_eq!(text.matches("To: a@b.example").count(), 2);
    assert!(text.contains("token=abc"));
}

#[tokio::test]
async fn restricted_attributes_appear_exactly_for_roles_that_may_read_them() {
    let db = TestDb::new().await.with_demo(0.05, 7).await;
    let app = common::app(&db).await;
    staff(&db, "operator", &[Role::AppealsOperator]).await;
    staff(&db, "deputy", &[Role::Deputy]).await;
    let operator = login(&app, "operator").await;
    let deputy = login(&app, "deputy").await;
    // A public appeal, so every role sees the row.
    let id: i64 = sqlx::query_scalar(
        "SELECT id FROM appeals WHERE is_public AND status NOT IN ('submitted', 'spam') AND phone IS NOT NULL \
         AND deleted_at IS NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let uri = format!("/ogc/collections/appeals/items/{id}");
    let public = send(&app, Method::GET, &uri, None, None).await;
    let op = send(&app, Method::GET, &uri, Some(&operator), None).await;
    let dep = send(&app, Method::GET, &uri, Some(&deputy), None).await;
    for r in [&public, &op, &dep] {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    for field in ["phone", "email", "author_name"] {
        assert!(public.body["properties"].get(field).is_none(), "public sees {field}");
        assert!(dep.body["properties"].get(field).is_none(), "deputy sees {field}");
        assert!(op.body["properties"].get(field).is_some(), "operator misses {field}");
    }
    // A non-public appeal is invisible to the public and visible to the operator.
    let hidden: i64 =
        sqlx::query_scalar("SELECT id FROM appeals WHERE NOT is_public AND deleted_at IS NULL ORDER BY id LIMIT 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let uri = format!("/ogc/collections/appeals/items/{hidden}");
    assert_eq!(
        send(&app, Method::GET, &uri, None, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&app, Method::GET, &uri, Some(&operator), None).await.status,
        StatusCode::OK
    );

    // Tiles: the operator's tile carries the restricted attributes, the public one not.
    let (lon, lat): (f64, f64) = sqlx::query_as("SELECT ST_X(geom), ST_Y(geom) FROM appeals WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let z = 16u32;
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let y = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    let tile = |token: Option<String>| {
        let app = app.clone();
        async move {
            let mut req = Request::get(format!("/tiles/appeals/{z}/{x}/{y}.mvt"));
            if let Some(t) = token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            let response = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.into_body().collect().await.unwrap().to_bytes().to_vec()
        }
    };
    let public_tile = tile(None).await;
    let operator_tile = tile(Some(operator.clone())).await;
    let phone: String = sqlx::query_scalar("SELECT phone FROM appeals WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let contains = |hay: &[u8], needle: &str| hay.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!contains(&public_tile, &phone), "the public tile leaks a phone number");
    let tile_attrs: bool = {
        let registry = common::registry(&db).await;
        let layer = registry.get("appeals").unwrap();
        layer.attribute("phone").is_some_and(|a| a.tile)
    };
    if tile_attrs {
        assert!(contains(&operator_tile, &phone), "the operator's tile misses the phone");
    }
    assert_ne!(public_tile, operator_tile);
}

#[tokio::test]
async fn user_cli_lists_disables_and_resets_passwords() {
    use std::io::Write;
    use std::process::Stdio;
    let db = TestDb::new().await;
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut cmd = common::binary::command(&db.url());
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
        drop(input);
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, out, err) = run(
        &[
            "user",
            "add",
            "energy1",
            "--roles",
            "energy_editor",
            "--email",
            "e1@city.example",
        ],
        Some("first-password-1\n"),
    );
    assert!(ok, "{out}{err}");
    let (ok, out, _) = run(&["user", "list"], None);
    assert!(ok);
    let line = out.lines().find(|l| l.contains("energy1")).expect("listed");
    assert!(
        line.contains("active") && line.contains("energy_editor") && line.contains("e1@city.example"),
        "{line}"
    );

    let app = common::app(&db).await;
    let token = {
        let r = send(
            &app,
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": "energy1", "password": "first-password-1"})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        r.body["token"].as_str().unwrap().to_string()
    };
    let (ok, _, err) = run(&["user", "reset-password", "energy1"], Some("second-password-2\n"));
    assert!(ok, "{err}");
    let app = common::app(&db).await;
    assert_eq!(
        send(&app, Method::GET, "/api/auth/me", Some(&token), None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = send(
        &app,
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"username": "energy1", "password": "second-password-2"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);

    let (ok, _, _) = run(&["user", "disable", "energy1"], None);
    assert!(ok);
    let (_, out, _) = run(&["user", "list"], None);
    assert!(out.lines().any(|l| l.contains("energy1") && l.contains("disabled")));
    let (ok, _, err) = run(&["user", "disable", "nobody"], None);
    assert!(!ok && err.contains("no user named"), "{err}");
    let (ok, _, err) = run(&["user", "reset-password", "energy1"], Some("short\n"));
    assert!(!ok && err.contains("10 characters"), "{err}");
}

/// Two server instances over one database each cache resolved credentials.
/// A sign-out on one, and a key revoked or a user disabled straight in the
/// database, are refused by the other within a second (migration 0130's
/// triggers → NOTIFY → every cache dropped), not after the cache's 30 s.
#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_anywhere_reaches_every_instance_within_a_second() {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    let db = TestDb::new().await;
    staff(&db, "two.instances", &[Role::LandEditor]).await;
    let instance = || async {
        let state = geoportal::server::AppState::new(
            db.pool.clone(),
            Arc::new(common::registry(&db).await),
            Arc::new(geoportal::config::Config::defaults()),
        );
        (state.clone(), geoportal::server::router(state))
    };
    let (_, a) = instance().await;
    let (b_state, b) = instance().await;

    // B knows the token and has it cached (its listener is up).
    let token = login(&a, "two.instances").await;
    let start = Instant::now();
    loop {
        assert_eq!(
            send(&b, Method::GET, "/api/auth/me", Some(&token), None).await.status,
            StatusCode::OK
        );
        if b_state.auth.credentials.is_live()
            && b_state
                .auth
                .credentials
                .get(&geoportal::auth::secret::digest(&token))
                .is_some()
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "instance B never cached the token"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused_within_a_second = |app: axum::Router, header: (&'static str, String)| async move {
        let start = Instant::now();
        loop {
            let req = Request::get("/api/auth/me")
                .header(header.0, header.1.clone())
                .body(Body::empty())
                .unwrap();
            let status = app.clone().oneshot(req).await.unwrap().status();
            if status == StatusCode::UNAUTHORIZED {
                return start.elapsed();
            }
            assert_eq!(status, StatusCode::OK);
            assert!(
                start.elapsed() < Duration::from_secs(1),
                "still accepted a second after the revocation"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };

    // Signed out on A.
    assert_eq!(
        send(&a, Method::POST, "/api/auth/logout", Some(&token), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    refused_within_a_second(b.clone(), ("authorization", format!("Bearer {token}"))).await;

    // An API key revoked in psql.
    let key = "gpk_revoked_in_psql_0123456789abcdef";
    sqlx::query(
        "INSERT INTO api_keys (name, prefix, key_sha256, roles) VALUES ('sensor', 'gpk_revo', $1, '{energy_editor}')",
    )
    .bind(geoportal::auth::secret::digest(key))
    .execute(&db.pool)
    .await
    .unwrap();
    let with_key = || {
        Request::get("/api/auth/me")
            .header("x-api-key", key)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(b.clone().oneshot(with_key()).await.unwrap().status(), StatusCode::OK);
    assert!(
        b_state
            .auth
            .credentials
            .get(&geoportal::auth::secret::digest(key))
            .is_some(),
        "the key is cached"
    );
    sqlx::query("UPDATE api_keys SET revoked_at = now()")
        .execute(&db.pool)
        .await
        .unwrap();
    refused_within_a_second(b.clone(), ("x-api-key", key.to_string())).await;

    // A user disabled in psql: a fresh session of theirs stops working on B.
    let token = login(&a, "two.instances").await;
    let start = Instant::now();
    while b_state
        .auth
        .credentials
        .get(&geoportal::auth::secret::digest(&token))
        .is_none()
    {
        assert_eq!(
            send(&b, Method::GET, "/api/auth/me", Some(&token), None).await.status,
            StatusCode::OK
        );
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "instance B never cached the new token"
        );
    }
    sqlx::query("UPDATE users SET disabled_at = now() WHERE username = 'two.instances'")
        .execute(&db.pool)
        .await
        .unwrap();
    refused_within_a_second(b.clone(), ("authorization", format!("Bearer {token}"))).await;

    // Using a key (last_used_at) is not a revocation: the cache survives it.
    let key2 = "gpk_still_valid_0123456789abcdef";
    sqlx::query(
        "INSERT INTO api_keys (name, prefix, key_sha256, roles) VALUES ('sensor 2', 'gpk_stil', $1, '{energy_editor}')",
    )
    .bind(geoportal::auth::secret::digest(key2))
    .execute(&db.pool)
    .await
    .unwrap();
    let with_key2 = || {
        Request::get("/api/auth/me")
            .header("x-api-key", key2)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(b.clone().oneshot(with_key2()).await.unwrap().status(), StatusCode::OK);
    assert!(
        b_state
            .auth
            .credentials
            .get(&geoportal::auth::secret::digest(key2))
            .is_some()
    );
    sqlx::query("UPDATE api_keys SET last_used_at = now()")
        .execute(&db.pool)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        b_state
            .auth
            .credentials
            .get(&geoportal::auth::secret::digest(key2))
            .is_some(),
        "a key's use must not drop every instance's cache"
    );
}

/// A mailed link's secret stays in the outbox only until the message is
/// sent or given up: afterwards a database reader cannot use it.
#[tokio::test]
async fn sent_and_given_up_messages_keep_no_link_secret() {
    let db = TestDb::new().await;
    let secret = "0123456789abcdef0123456789abcdef";
    let message = |to: &str| Message {
        recipient: to.into(),
        subject: "Відновлення пароля".into(),
        body: format!("https://geoportal.example/reset-password?token={secret}\n"),
    };
    let sent = outbox::enqueue(&db.pool, &message("a@example.org")).await.unwrap();
    let ok = Flaky {
        fail: 0,
        calls: AtomicUsize::new(0),
        delivered: Default::default(),
    };
    assert_eq!(outbox::deliver_due(&db.pool, &ok, 10).await.unwrap().sent, 1);
    // The recipient got the secret.
    assert!(ok.delivered.lock().unwrap()[0].body.contains(secret));

    let failed = outbox::enqueue(&db.pool, &message("b@example.org")).await.unwrap();
    sqlx::query("UPDATE outbox SET max_attempts = 2 WHERE id = $1")
        .bind(failed)
        .execute(&db.pool)
        .await
        .unwrap();
    let never = Flaky {
        fail: usize::MAX,
        calls: AtomicUsize::new(0),
        delivered: Default::default(),
    };
    // Still retrying: the secret is needed for the next attempt.
    outbox::deliver_due(&db.pool, &never, 10).await.unwrap();
    let body = |id: i64| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT body FROM outbox WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert!(body(failed).await.contains(secret));
    sqlx::query("UPDATE outbox SET next_attempt_at = now()")
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(outbox::deliver_due(&db.pool, &never, 10).await.unwrap().given_up, 1);
    for id in [sent, failed] {
        let b = body(id).await;
        assert!(!b.contains(secret), "message {id} still holds the link's secret: {b}");
        assert!(b.contains("reset-password?token=(removed-after-sending)"), "{b}");
    }
}
