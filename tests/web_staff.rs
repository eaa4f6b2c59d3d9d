//! Browser tests of the staff pages (`/editor`, `/office`, `/admin`): the
//! real router on a loopback port over a demo city, Debian's Chromium
//! driven by `web/e2e/staff_*.test.mjs`. Accounts are made here and handed
//! to the browser test through the environment; what the browser did is
//! then checked in the database.

mod common;
mod editing_support;
mod web_support;

use geoportal::registry::Role;

const PASSWORD: &str = editing_support::PASSWORD;

async fn account(db: &common::TestDb, name: &str, roles: &[Role]) -> i64 {
    geoportal::users::add(&db.pool, name, roles, PASSWORD).await.unwrap()
}

/// Sign in, draw a land plot, a 422 shown at its field, save (201), edit
/// again, a conflict (412 explained, reload), the history and a restore,
/// and a dry-run import with its per-row report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editor_edits_a_land_plot_end_to_end() {
    web_support::require_built_portal();
    let db = common::TestDb::new().await.with_demo(0.05, 11).await;
    account(&db, "land.editor", &[Role::LandEditor]).await;
    let square = editing_support::free_squares(&db.pool, 1).await.remove(0);
    let ring = square["coordinates"][0][0].as_array().unwrap().clone();
    let xs: Vec<f64> = ring.iter().map(|p| p[0].as_f64().unwrap()).collect();
    let ys: Vec<f64> = ring.iter().map(|p| p[1].as_f64().unwrap()).collect();
    let lon = (xs.iter().cloned().fold(f64::MAX, f64::min) + xs.iter().cloned().fold(f64::MIN, f64::max)) / 2.0;
    let lat = (ys.iter().cloned().fold(f64::MAX, f64::min) + ys.iter().cloned().fold(f64::MIN, f64::max)) / 2.0;
    let cadastral = "1810100000:01:977:0001";
    let addr = web_support::serve(common::app(&db).await).await;
    web_support::run_e2e(
        "staff_editor.test.mjs",
        addr,
        &[
            ("STAFF_USER", "land.editor".to_string()),
            ("STAFF_PASSWORD", PASSWORD.to_string()),
            ("FREE_LON", lon.to_string()),
            ("FREE_LAT", lat.to_string()),
            ("CADASTRAL", cadastral.to_string()),
        ],
    )
    .await;

    // What the browser did is in the database: created (v1), edited (v2),
    // changed through the API (v3), version 1 restored (v4).
    let (id, version, address, inside): (i64, i32, String, bool) = sqlx::query_as(
        "SELECT p.id, p.version, p.address, ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint($2, $3), 4326)) \
         FROM land_plots p WHERE p.cadastral_number = $1 AND p.deleted_at IS NULL",
    )
    .bind(cadastral)
    .bind(lon)
    .bind(lat)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(version, 4, "created, edited, changed elsewhere, restored");
    assert_eq!(address, "вул. Тестова, 1", "version 1's address is back");
    assert!(inside, "the drawn polygon lies where the browser drew it");
    let actors: Vec<String> =
        sqlx::query_scalar("SELECT actor FROM history WHERE table_name = 'land_plots' AND feature_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(actors.len(), 4, "{actors:?}");
    assert!(actors.iter().all(|a| a == "user:land.editor"), "{actors:?}");
    // Saving attributes only sends the shape back as it came: no geometry change.
    let same_shape: bool = sqlx::query_scalar(
        "SELECT (SELECT new_row->'geom' FROM history WHERE table_name = 'land_plots' AND feature_id = $1 AND version = 1) \
              = (SELECT new_row->'geom' FROM history WHERE table_name = 'land_plots' AND feature_id = $1 AND version = 2)",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(same_shape, "editing the address did not move the plot");
    let imported: i64 =
        sqlx::query_scalar("SELECT count(*) FROM land_plots WHERE cadastral_number LIKE '1810100000:01:978:%'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        imported, 1,
        "the rejected file wrote nothing, the corrected one its one plot"
    );
    let batches: Vec<(String, Option<chrono::DateTime<chrono::Utc>>)> =
        sqlx::query_as("SELECT actor, finished_at FROM import_batches WHERE actor = 'user:land.editor'")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(batches.len(), 1, "one batch, by the editor: {batches:?}");
    assert!(batches[0].1.is_some(), "the batch finished");
}

/// The office: an operator's queue lists new appeals on the map and in the
/// table, deadlines are highlighted, the card shows the author's contact,
/// registering works; an executor answers its own appeal; a deputy sees the
/// queue but not the contact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn office_queues_and_transitions() {
    web_support::require_built_portal();
    let db = common::TestDb::new().await.with_demo(0.05, 11).await;
    account(&db, "office.operator", &[Role::AppealsOperator]).await;
    account(&db, "office.deputy", &[Role::Deputy]).await;
    let executor = account(&db, "office.executor", &[Role::Executor]).await;
    let executor_id: i64 = sqlx::query_scalar(
        "SELECT executor_id FROM appeals WHERE status = 'in_progress' AND deleted_at IS NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE users SET executor_id = $2 WHERE id = $1")
        .bind(executor)
        .bind(executor_id)
        .execute(&db.pool)
        .await
        .unwrap();
    let submitted: i64 = sqlx::query_scalar("SELECT count(*) FROM appeals WHERE status = 'submitted'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(submitted > 0, "the demo city has new appeals to register");
    let addr = web_support::serve(common::app(&db).await).await;
    web_support::run_e2e(
        "staff_office.test.mjs",
        addr,
        &[
            ("OPERATOR_USER", "office.operator".to_string()),
            ("EXECUTOR_USER", "office.executor".to_string()),
            ("DEPUTY_USER", "office.deputy".to_string()),
            ("STAFF_PASSWORD", PASSWORD.to_string()),
        ],
    )
    .await;

    let moves: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT from_status, to_status, comment FROM appeal_transitions t JOIN appeals a ON a.id = t.appeal_id \
         WHERE t.to_status IN ('registered', 'answered') AND t.at > now() - interval '10 minutes' ORDER BY t.id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(
        moves.contains(&(
            "submitted".into(),
            "registered".into(),
            Some("Зареєстровано в тесті".into())
        )),
        "{moves:?}"
    );
    assert!(
        moves.contains(&("in_progress".into(), "answered".into(), Some("Яму засипано".into()))),
        "{moves:?}"
    );
    let answered_by_executor: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM appeals WHERE status = 'answered' AND answer = 'Яму засипано' AND executor_id = $1)",
    )
    .bind(executor_id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(answered_by_executor, "the executor answered its own appeal");
}

/// Administration: make a user, issue an API key (shown once, and it
/// works), change who answers a category, add a calendar day; the layers'
/// publication is listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_manages_users_keys_registers() {
    web_support::require_built_portal();
    let db = common::TestDb::new().await.with_demo(0.05, 11).await;
    account(&db, "city.admin", &[Role::Admin, Role::AppealsOperator]).await;
    let addr = web_support::serve(common::app(&db).await).await;
    web_support::run_e2e(
        "staff_admin.test.mjs",
        addr,
        &[
            ("ADMIN_USER", "city.admin".to_string()),
            ("STAFF_PASSWORD", PASSWORD.to_string()),
        ],
    )
    .await;

    let roles: Vec<String> = sqlx::query_scalar("SELECT roles FROM users WHERE username = 'new.clerk'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(roles, vec!["land_editor".to_string()]);
    let (key_roles, used): (Vec<String>, bool) =
        sqlx::query_as("SELECT roles, last_used_at IS NOT NULL FROM api_keys WHERE name = 'Open311 app'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(key_roles, vec!["appeals_operator".to_string()]);
    assert!(used, "the key shown once was used by the test");
    let day: (bool, Option<String>) =
        sqlx::query_as("SELECT is_working, note FROM working_calendar WHERE day = '2031-01-07' AND deleted_at IS NULL")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(day, (false, Some("Різдво (тест)".to_string())));
    let actor: String = sqlx::query_scalar(
        "SELECT actor FROM history WHERE table_name = 'executor_responsibility' AND operation = 'update' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(actor, "user:city.admin");
    // The category added in the browser: renamed, then retired, by the admin.
    let (parent, title, radius, retired): (Option<String>, String, i32, bool) = sqlx::query_as(
        "SELECT parent_code, title_uk, radius_m, deleted_at IS NOT NULL FROM appeal_categories WHERE code = 'roads.snow'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        (parent.as_deref(), title.as_str(), radius, retired),
        (Some("roads"), "Сніг і ожеледь на дорозі", 120, true)
    );
    let ops: Vec<(String, String)> = sqlx::query_as(
        "SELECT operation, actor FROM history WHERE table_name = 'appeal_categories' \
         AND coalesce(new_row, old_row)->>'code' = 'roads.snow' ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let expected = ["insert", "update", "soft_delete"].map(|op| (op.to_string(), "user:city.admin".to_string()));
    assert_eq!(ops, expected);
    let bad: i64 = sqlx::query_scalar("SELECT count(*) FROM appeal_categories WHERE code = 'Bad Code'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(bad, 0);
}
