//! The canary, beyond appeals (tests/appeals.rs has theirs): distinctive
//! secrets and personal data pass through every area added since — sign-in,
//! registration, emailed links, password reset, API keys, editing, import,
//! registers, search, appeal tracking, account changes by the admin, area
//! subscriptions, Open311 filing, the office's contact view — on the real binary with its log at
//! `debug` (SQL statements and request spans included). None of them may
//! appear in the log, and the personal data in no public output.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use common::TestDb;
use common::binary::Served;
use geoportal::registry::Role;
use serde_json::{Value, json};

struct Reply {
    status: u16,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    // Chunked bodies: good enough to search in, the chunk sizes aside.
    Reply {
        status,
        body: body.to_string(),
    }
}

/// The first `token=…` in the outbox after `skip` bytes, waiting for the
/// outbox worker to write it.
fn link_token(outbox: &Path, marker: &str) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(outbox).unwrap_or_default();
        if let Some(i) = text.find(marker) {
            let rest = &text[i + marker.len()..];
            let token: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            if !token.is_empty() {
                return token;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no `{marker}` in the outbox: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_or_personal_data_reaches_the_log_or_public_outputs() {
    let db = TestDb::new().await.with_demo(0.05, 21).await;
    let admin_password = "Zzadminpass-Canary-0001";
    geoportal::users::add(&db.pool, "canary_admin", &[Role::Admin], admin_password)
        .await
        .unwrap();
    let property: i64 = sqlx::query_scalar("SELECT min(id) FROM communal_property WHERE deleted_at IS NULL")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let (lon, lat): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(ST_Union(geom)) p FROM city_boundary) c",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();

    // Its stderr goes to `server.log` in its data directory, read at the end.
    let mut server = Served::builder(&db.url()).log_level("debug").start();
    let port = server.port;
    let outbox = server.data_dir().join("outbox.log");
    let mut secrets: Vec<String> = vec![admin_password.into()];

    // Sign-in: a right and a wrong password.
    let wrong = "Zzwrongpass-Canary-0002";
    secrets.push(wrong.into());
    let r = http(
        port,
        "POST",
        "/api/auth/login",
        &[],
        &json!({"username": "canary_admin", "password": wrong}).to_string(),
    );
    assert_eq!(r.status, 401, "{}", r.body);
    let r = http(
        port,
        "POST",
        "/api/auth/login",
        &[],
        &json!({"username": "canary_admin", "password": admin_password}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let admin = r.json()["token"].as_str().unwrap().to_string();
    secrets.push(admin.clone());
    let bearer = format!("Bearer {admin}");
    let auth = [("Authorization", bearer.as_str())];

    // An account made by the admin, signing in.
    let editor_password = "Zzeditorpass-Canary-0003";
    secrets.push(editor_password.into());
    let r = http(
        port,
        "POST",
        "/api/admin/users",
        &auth,
        &json!({"username": "canary_editor", "password": editor_password, "roles": ["property_editor", "energy_editor"],
                "email": "zzcanary.editor@example.org", "display_name": "Zzcanaryeditor Person"})
        .to_string(),
    );
    assert!(r.status == 201 || r.status == 200, "{} {}", r.status, r.body);
    let r = http(
        port,
        "POST",
        "/api/auth/login",
        &[],
        &json!({"username": "canary_editor", "password": editor_password}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let editor = r.json()["token"].as_str().unwrap().to_string();
    secrets.push(editor.clone());
    let editor_bearer = format!("Bearer {editor}");
    let ed = [("Authorization", editor_bearer.as_str())];

    // A resident registers, confirms by the emailed link, resets the password.
    let resident_password = "Zzresidentpass-Canary-0004";
    let new_password = "Zznewpass-Canary-0005";
    secrets.extend([resident_password.to_string(), new_password.to_string()]);
    let r = http(
        port,
        "POST",
        "/api/auth/register",
        &[],
        &json!({"email": "zzcanary.resident@example.org", "password": resident_password, "display_name": "Zzcanaryresident"})
            .to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let confirm = link_token(&outbox, "/api/auth/confirm?token=");
    secrets.push(confirm.clone());
    let r = http(port, "GET", &format!("/api/auth/confirm?token={confirm}"), &[], "");
    assert!(r.status < 400, "{} {}", r.status, r.body);
    let r = http(
        port,
        "POST",
        "/api/auth/password-reset",
        &[],
        &json!({"email": "zzcanary.resident@example.org"}).to_string(),
    );
    assert!(r.status < 300, "{} {}", r.status, r.body);
    let reset = link_token(&outbox, "/reset-password?token=");
    secrets.push(reset.clone());
    let r = http(
        port,
        "POST",
        "/api/auth/password-reset/confirm",
        &[],
        &json!({"token": reset, "password": new_password}).to_string(),
    );
    assert!(r.status < 300, "{} {}", r.status, r.body);
    let r = http(
        port,
        "POST",
        "/api/auth/login",
        &[],
        &json!({"username": "zzcanary.resident@example.org", "password": new_password}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let resident = r.json()["token"].as_str().unwrap().to_string();
    secrets.push(resident.clone());

    // An API key, used by a meter system for a register.
    let issue_key = |name: &str, role: &str| {
        let r = http(
            port,
            "POST",
            "/api/admin/api-keys",
            &auth,
            &json!({"name": name, "roles": [role]}).to_string(),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["key"].as_str().unwrap().to_string()
    };
    let key = issue_key("meters", "energy_editor");
    secrets.push(key.clone());
    let r = http(port, "GET", "/api/auth/me", &[("X-API-Key", key.as_str())], "");
    assert_eq!(r.status, 200, "{}", r.body);

    // Editing a register with personal data: a lease to an individual; a
    // rejected one; a change.
    let personal = [
        "Zzleasecanary",
        "Qqtenantsurname",
        "3987654321",
        "Zzimportcanary",
        "3876543210",
        "zzcanary.editor@",
        "zzcanary.resident@",
        "Zzcanaryeditor",
        "Zzcanaryresident",
    ];
    let lease = |name: &str, code: &str, end: &str| {
        json!({"type": "Feature", "geometry": null, "properties": {
            "property_id": property, "tenant_name": name, "tenant_edrpou": code, "tenant_category": "individual",
            "contract_number": "CAN-1", "start_date": "2025-01-01", "end_date": end,
            "leased_area_m2": 12.5, "monthly_rent_uah": 100}})
        .to_string()
    };
    let r = http(
        port,
        "POST",
        "/ogc/collections/leases/items",
        &ed,
        &lease("Zzleasecanary Qqtenantsurname", "3987654321", "2026-01-01"),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = http(
        port,
        "POST",
        "/ogc/collections/leases/items",
        &ed,
        &lease("Zzleasecanary Qqtenantsurname", "3987654321", "2020-01-01"),
    );
    assert_eq!(r.status, 422, "{}", r.body);

    // Importing leases, accepted and rejected.
    let csv = |end: &str| {
        format!(
            "property_id,tenant_name,tenant_edrpou,tenant_category,contract_number,start_date,end_date,leased_area_m2,monthly_rent_uah\n\
             {property},Zzimportcanary Qqtenantsurname,3876543210,individual,CAN-2,2025-02-01,{end},20,200\n"
        )
    };
    let r = http(
        port,
        "POST",
        "/api/layers/leases/import",
        &[("Authorization", editor_bearer.as_str()), ("Content-Type", "text/csv")],
        &csv("2027-01-01"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = http(
        port,
        "POST",
        "/api/layers/leases/import",
        &[("Authorization", editor_bearer.as_str()), ("Content-Type", "text/csv")],
        &csv("2000-01-01"),
    );
    assert_eq!(r.status, 422, "{}", r.body);

    // Searching for them (the query string carries the name).
    for q in ["Zzleasecanary", "Zzimportcanary", "3987654321"] {
        for h in [&[][..], &ed[..]] {
            let r = http(port, "GET", &format!("/api/search?q={q}"), h, "");
            assert!(r.status < 500, "{}", r.body);
        }
    }

    // An appeal's private tracking link.
    let r = http(
        port,
        "POST",
        "/api/appeals",
        &[],
        &json!({"kind": "complaint", "category": "waste", "description": "Сміття", "lon": lon, "lat": lat,
                "contact": {"name": "Zzappealcanary", "email": "zzappeal@example.org", "phone": "+380 67 111 22 33"}})
        .to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let tracking = r.json()["tracking_url"].as_str().unwrap().to_string();
    let track_token = tracking.rsplit('/').next().unwrap().to_string();
    secrets.push(track_token.clone());
    let r = http(port, "GET", &format!("/api/appeals/track/{track_token}"), &[], "");
    assert_eq!(r.status, 200, "{}", r.body);

    // The admin changes an account's details and mails it a reset link.
    let r = http(port, "GET", "/api/auth/me", &ed, "");
    let editor_id = r.json()["user"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("an id in {}", r.body));
    let r = http(
        port,
        "PATCH",
        &format!("/api/admin/users/{editor_id}"),
        &auth,
        &json!({"email": "zzcanary.patched@example.org", "display_name": "Zzpatchedname"}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = http(
        port,
        "POST",
        &format!("/api/admin/users/{editor_id}/reset-password"),
        &auth,
        "",
    );
    assert!(r.status < 300, "{} {}", r.status, r.body);
    // Every reset token mailed so far; the second is the admin's, written
    // by the outbox worker soon after.
    let started = Instant::now();
    let mails = loop {
        let text = std::fs::read_to_string(&outbox).unwrap_or_default();
        if text.matches("/reset-password?token=").count() >= 2 {
            break text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no second reset mail: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    for part in mails.split("/reset-password?token=").skip(1) {
        let token: String = part
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        if token.len() >= 16 {
            secrets.push(token);
        }
    }

    // A resident subscribes to new appeals around a point (mails go to the
    // account's address).
    let resident_bearer = format!("Bearer {resident}");
    let r = http(
        port,
        "POST",
        "/api/appeals/subscriptions",
        &[("Authorization", resident_bearer.as_str())],
        &json!({"lon": lon, "lat": lat, "radius_m": 500}).to_string(),
    );
    assert!(r.status == 201 || r.status == 200, "{} {}", r.status, r.body);

    // An Open311 client files with the author's name, e-mail and phone.
    let open311_key = issue_key("open311 client", "resident");
    secrets.push(open311_key.clone());
    let form = format!(
        "api_key={open311_key}&service_code=waste&lat={lat}&long={lon}&description=Bins&first_name=Zzopenfirst\
         &last_name=Qqopenlast&email=zzopen311%40example.org&phone=%2B380671234987"
    );
    let r = http(
        port,
        "POST",
        "/open311/v2/requests.json",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form,
    );
    assert!(r.status == 201 || r.status == 200, "{} {}", r.status, r.body);

    // The office: the operator opens the appeals with their contacts.
    let queue = http(port, "GET", "/api/appeals?limit=5", &auth, "").json();
    let appeals = queue["appeals"].as_array().cloned().unwrap_or_default();
    assert!(!appeals.is_empty(), "the office queue lists appeals: {queue}");
    for a in appeals {
        if let Some(id) = a["id"].as_i64() {
            let r = http(port, "GET", &format!("/api/appeals/{id}"), &auth, "");
            assert_eq!(r.status, 200, "{}", r.body);
        }
    }

    // Public outputs: the leases as anyone sees them, every open data file.
    let mut public = vec![
        http(port, "GET", "/ogc/collections/leases/items?limit=1000", &[], "").body,
        http(port, "GET", "/ogc/collections/leases/items?limit=1000&f=csv", &[], "").body,
        // The search answer echoes the query; its hits must not carry it.
        http(port, "GET", "/api/search?q=Zzleasecanary", &[], "").json()["hits"].to_string(),
        http(port, "GET", "/api/search?q=3987654321", &[], "").json()["hits"].to_string(),
    ];
    let listing = http(port, "GET", "/opendata", &[], "").json();
    let mut files = Vec::new();
    collect_links(&listing, &mut files);
    assert!(!files.is_empty(), "no open data files listed: {listing}");
    for f in files {
        public.push(http(port, "GET", &f, &[], "").body);
    }
    for text in &public {
        for p in personal.iter().take(5) {
            assert!(!text.contains(p), "`{p}` in a public output");
        }
    }

    // SIGTERM, so the log is flushed.
    server.sigterm();
    let log = server.log_text();
    assert!(log.contains("DEBUG"), "the log was captured at debug level");
    assert!(log.contains("/api/auth/login"), "requests are logged at all");
    let mut leaks = Vec::new();
    for s in secrets
        .iter()
        .map(String::as_str)
        .chain(personal.iter().copied())
        .chain(["Zzappealcanary", "zzappeal@", "111 22 33"])
        .chain([
            "zzcanary.patched@",
            "Zzpatchedname",
            "Zzopenfirst",
            "Qqopenlast",
            "zzopen311",
            "671234987",
        ])
    {
        for line in log.lines().filter(|l| l.contains(s)) {
            leaks.push(format!("`{s}`: {line}"));
        }
    }
    assert!(
        leaks.is_empty(),
        "the log carries secrets or personal data:\n{}",
        leaks.join("\n")
    );
}

/// Every link to an open data file in the listing (path and query).
fn collect_links(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.contains("/opendata/") => {
            let path = s
                .split_once("://")
                .map_or(s.as_str(), |(_, rest)| &rest[rest.find('/').unwrap_or(0)..]);
            out.push(path.to_string());
        }
        Value::Object(m) => m.values().for_each(|x| collect_links(x, out)),
        Value::Array(a) => a.iter().for_each(|x| collect_links(x, out)),
        _ => {}
    }
}
