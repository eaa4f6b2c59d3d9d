//! The demo city: deterministic, complete, and carrying the faults the
//! analyses must find.

mod common;

use common::TestDb;
use geoportal::demo::{self, DemoOptions};

const SCALE: f64 = 0.03;

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_is_deterministic_and_fills_every_table() {
    let (a, b, c) = tokio::join!(TestDb::new(), TestDb::new(), TestDb::new());
    let opts = DemoOptions { scale: SCALE, seed: 42 };
    let (ra, rb, rc) = tokio::join!(
        demo::load(&a.pool, &opts, false),
        demo::load(&b.pool, &opts, false),
        demo::load(&c.pool, &DemoOptions { scale: SCALE, seed: 43 }, false),
    );
    let (summary, _, _) = (ra.unwrap(), rb.unwrap(), rc.unwrap());

    let (sa, sb, sc) = (
        demo::table_checksums(&a.pool).await.unwrap(),
        demo::table_checksums(&b.pool).await.unwrap(),
        demo::table_checksums(&c.pool).await.unwrap(),
    );
    assert_eq!(sa, sb, "same seed, same city");
    assert_ne!(sa, sc, "another seed, another city");
    assert_eq!(sa.len(), demo::TABLES.len());

    for table in demo::TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&a.pool)
            .await
            .unwrap();
        assert!(n > 0, "{table} is empty");
        assert_eq!(summary.rows.get(*table).copied(), Some(n as u64), "{table}");
    }
    // Every layer table the registry publishes is filled too.
    let registry = common::registry(&a).await;
    for layer in registry.all() {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}", layer.table()))
            .fetch_one(&a.pool)
            .await
            .unwrap();
        assert!(n > 0, "layer {} is empty", layer.id);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_is_one_history_entry_per_table_and_refuses_a_second_load() {
    let db = TestDb::new().await.with_demo(SCALE, 1).await;
    let (entries, tables): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT table_name) FROM history WHERE operation = 'bulk_load'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(entries, tables);
    assert_eq!(entries as usize, demo::TABLES.len());
    let per_row: i64 = sqlx::query_scalar("SELECT count(*) FROM history WHERE operation <> 'bulk_load'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(per_row, 0);
    let batch: (String, Option<String>, bool) =
        sqlx::query_as("SELECT actor, source_sha256, finished_at IS NOT NULL FROM import_batches")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(batch.0, "demo");
    assert!(batch.1.is_some_and(|h| h.len() == 64));
    assert!(batch.2);

    assert!(!demo::is_empty(&db.pool).await.unwrap());
    assert!(
        demo::load(&db.pool, &DemoOptions { scale: SCALE, seed: 1 }, false)
            .await
            .is_err()
    );
    assert!(
        demo::load(&TestDb::new().await.pool, &DemoOptions { scale: -1.0, seed: 1 }, false)
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_is_valid_and_carries_deliberate_faults() {
    let db = TestDb::new().await.with_demo(0.05, 42).await;
    let q = |sql: &'static str| {
        let pool = db.pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
    };
    assert_eq!(q("SELECT count(*) FROM land_plots WHERE NOT ST_IsValid(geom)").await, 0);
    assert_eq!(
        q("SELECT count(*) FROM land_plots WHERE cadastral_number NOT LIKE '1810100000:%'").await,
        0,
        "the city's KOATUU"
    );
    assert!(
        q(
            "SELECT count(*) FROM land_plots a JOIN land_plots b ON a.id < b.id AND a.geom && b.geom \
           AND ST_Overlaps(a.geom, b.geom) AND ST_Area(ST_Intersection(a.geom, b.geom)::geography) > 1"
        )
        .await
            > 0,
        "overlapping plots"
    );
    assert!(
        q("SELECT count(*) FROM ad_structures WHERE status = 'permitted' AND valid_to < DATE '2026-11-01'").await > 0,
        "expired permits still standing"
    );
    assert!(q("SELECT count(*) FROM appeals WHERE status = 'duplicate' AND duplicate_of IS NOT NULL").await > 0);
    assert!(
        q("SELECT count(*) FROM appeals WHERE electoral_district_id IS NULL").await
            < q("SELECT count(*) FROM appeals").await / 10,
        "appeals fall inside electoral districts"
    );
    assert!(
        q("SELECT count(*) FROM energy_readings").await > 1000,
        "daily readings over three years"
    );
    assert!(
        q("SELECT count(*) FROM deputies GROUP BY district_id ORDER BY 1 LIMIT 1").await >= 2,
        "several deputies per district"
    );
}
