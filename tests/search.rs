//! `GET /api/search` on the demo city: finds addresses, streets, cadastral
//! numbers (exact and prefix) and public appeal numbers; never a private
//! appeal or an author's name; bad input is a 400 problem document.

mod common;

use axum::http::StatusCode;
use common::TestDb;
use serde_json::Value;

fn enc(s: &str) -> String {
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

async fn search(app: &axum::Router, q: &str) -> Vec<Value> {
    let (status, body) = common::get_json(app, &format!("/api/search?q={}&limit=20", enc(q))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["hits"].as_array().unwrap().clone()
}

fn has(hits: &[Value], layer: &str, matched: &str) -> bool {
    hits.iter().any(|h| h["layer"] == layer && h["matched"] == matched)
}

#[tokio::test(flavor = "multi_thread")]
async fn finds_addresses_streets_plots_and_public_appeals_only() {
    let db = TestDb::new().await.with_demo(0.03, 42).await;
    let app = common::app(&db).await;

    let address: String =
        sqlx::query_scalar("SELECT full_address FROM addresses WHERE deleted_at IS NULL ORDER BY id LIMIT 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let hits = search(&app, &address).await;
    assert!(has(&hits, "addresses", &address), "{hits:?}");
    let first = &hits[0];
    assert_eq!(first["matched"], address.as_str(), "an exact match ranks first");
    assert!(first["lon"].as_f64().unwrap() > 20.0 && first["lat"].as_f64().unwrap() > 40.0);
    assert_eq!(first["bbox"].as_array().unwrap().len(), 4);

    let street: String = sqlx::query_scalar(
        "SELECT name FROM streets WHERE deleted_at IS NULL AND name IS NOT NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(has(&search(&app, &street).await, "streets", &street));

    let cadastral: String =
        sqlx::query_scalar("SELECT cadastral_number FROM land_plots WHERE deleted_at IS NULL ORDER BY id LIMIT 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let exact = search(&app, &cadastral).await;
    assert_eq!(exact[0]["layer"], "land_plots");
    assert_eq!(exact[0]["matched"], cadastral.as_str());
    // Prefix: the number without its parcel part.
    let prefix = &cadastral[..cadastral.len() - 4];
    let hits = search(&app, prefix).await;
    assert!(has(&hits, "land_plots", &cadastral), "{prefix}: {hits:?}");
    // Prefix matches rank above fuzzy ones.
    let is_prefix: Vec<bool> = hits
        .iter()
        .map(|h| h["matched"].as_str().unwrap_or("").starts_with(prefix))
        .collect();
    assert!(is_prefix[0], "{hits:?}");
    assert!(is_prefix.windows(2).all(|w| w[0] || !w[1]), "{hits:?}");

    let public: String = sqlx::query_scalar(
        "SELECT public_number FROM appeals WHERE deleted_at IS NULL AND is_public AND status NOT IN ('submitted', 'spam') ORDER BY id LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let hits = search(&app, &public).await;
    assert_eq!(hits[0]["layer"], "appeals");
    assert_eq!(hits[0]["matched"], public.as_str());

    let (private, author): (String, String) = sqlx::query_as(
        "SELECT public_number, author_name FROM appeals WHERE deleted_at IS NULL AND NOT is_public ORDER BY id LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let hits = search(&app, &private).await;
    assert!(
        !hits
            .iter()
            .any(|h| h["matched"] == private.as_str() || h["label"] == private.as_str()),
        "{hits:?}"
    );
    // Another layer may hold a namesake (a kiosk owner); an appeal hit must
    // never carry its author's name.
    for h in search(&app, &author)
        .await
        .into_iter()
        .filter(|h| h["layer"] == "appeals")
    {
        let text = h.to_string();
        assert!(!text.contains(&author), "an author's name leaked: {text}");
    }
    let spam: Option<String> = sqlx::query_scalar("SELECT public_number FROM appeals WHERE status = 'spam' LIMIT 1")
        .fetch_optional(&db.pool)
        .await
        .unwrap();
    if let Some(spam) = spam {
        assert!(!search(&app, &spam).await.iter().any(|h| h["matched"] == spam.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_a_problem() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    let long = "a".repeat(201);
    for uri in [
        "/api/search".to_string(),
        "/api/search?q=".to_string(),
        "/api/search?q=%20%20".to_string(),
        format!("/api/search?q={long}"),
        "/api/search?q=a&limit=0".to_string(),
        "/api/search?q=a&limit=x".to_string(),
        "/api/search?q=a&bogus=1".to_string(),
        "/api/search?q=a%00b".to_string(),
    ] {
        let (status, content_type, _) = common::get(&app, &uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(content_type, "application/problem+json", "{uri}");
    }
    // Wildcards and quotes are text, not SQL or patterns.
    for q in ["%", "_", "'; DROP TABLE appeals; --", "\\"] {
        let (status, _) = common::get_json(&app, &format!("/api/search?q={}", enc(q))).await;
        assert_eq!(status, StatusCode::OK, "{q}");
    }
}
