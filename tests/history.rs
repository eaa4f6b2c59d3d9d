//! Every change to a layer or register row is recorded by the database.

mod common;

use common::TestDb;
use serde_json::Value;

async fn insert_plot(db: &TestDb) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO land_plots (cadastral_number, area_ha, ownership, use_status, geom) VALUES \
         ('1810100000:02:003:0004', 0.25, 'communal', 'free', \
          ST_Multi(ST_MakeEnvelope(28.60, 50.20, 28.601, 50.201, 4326))) RETURNING id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

type Row = (String, i32, String, String, Option<Value>, Option<Value>);

async fn history(db: &TestDb, id: i64) -> Vec<Row> {
    sqlx::query_as(
        "SELECT operation, version, actor, table_name, old_row, new_row FROM history \
         WHERE table_name = 'land_plots' AND feature_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn history_records_an_update_with_old_and_new_values() {
    let db = TestDb::new().await;
    let id = insert_plot(&db).await;
    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('geoportal.actor', 'land_editor:olena', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE land_plots SET use_status = 'leased', area_ha = 0.3 WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let rows = history(&db, id).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (op, version, actor, table, old, new) = &rows[1];
    assert_eq!(
        (op.as_str(), *version, actor.as_str(), table.as_str()),
        ("update", 2, "land_editor:olena", "land_plots")
    );
    let (old, new) = (old.as_ref().unwrap(), new.as_ref().unwrap());
    assert_eq!(old["use_status"], "free");
    assert_eq!(new["use_status"], "leased");
    assert_eq!(old["area_ha"], 0.25);
    assert_eq!(new["area_ha"], 0.3);
    let version: i32 = sqlx::query_scalar("SELECT version FROM land_plots WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(version, 2);
}

#[tokio::test]
async fn history_records_a_soft_delete_and_the_row_is_kept() {
    let db = TestDb::new().await;
    let id = insert_plot(&db).await;
    sqlx::query("UPDATE land_plots SET deleted_at = now() WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let rows = history(&db, id).await;
    let (op, version, actor, _, old, new) = rows.last().unwrap();
    assert_eq!(op, "soft_delete");
    assert_eq!(*version, 2);
    assert!(
        actor.starts_with("db:"),
        "unattributed changes name the database role: {actor}"
    );
    assert!(old.as_ref().unwrap()["deleted_at"].is_null());
    assert!(!new.as_ref().unwrap()["deleted_at"].is_null());
    let still_there: i64 = sqlx::query_scalar("SELECT count(*) FROM land_plots WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(still_there, 1);
}

#[tokio::test]
async fn history_records_a_hard_delete_with_the_old_row() {
    let db = TestDb::new().await;
    let id = insert_plot(&db).await;
    sqlx::query("DELETE FROM land_plots WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let rows = history(&db, id).await;
    let (op, _, _, _, old, new) = rows.last().unwrap();
    assert_eq!(op, "delete");
    assert_eq!(old.as_ref().unwrap()["cadastral_number"], "1810100000:02:003:0004");
    assert!(new.is_none());
}

#[tokio::test]
async fn clients_cannot_forge_version_or_created_at() {
    let db = TestDb::new().await;
    let id = insert_plot(&db).await;
    let (version, created_moved): (i32, bool) = sqlx::query_as(
        "UPDATE land_plots SET version = 99, created_at = '2000-01-01' WHERE id = $1 \
         RETURNING version, created_at < '2001-01-01'",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(version, 2);
    assert!(!created_moved);
}

#[tokio::test]
async fn a_bulk_load_needs_an_open_batch_and_is_recorded_once() {
    let db = TestDb::new().await;
    let mut tx = db.pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('geoportal.batch_id', '12345', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let err = sqlx::query(
        "INSERT INTO water (name, kind, geom) VALUES ('Тетерів', 'river', ST_Multi(ST_MakeEnvelope(28.6, 50.2, 28.7, 50.21, 4326)))",
    )
    .execute(&mut *tx)
    .await;
    assert!(err.is_err(), "an unknown batch id must not silence history");
}
