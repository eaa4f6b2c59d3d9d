//! The schema holds the domain rules, whatever client writes to it.

mod common;

use common::TestDb;

const LAYER_TABLES: &[&str] = &[
    "appeals",
    "electoral_districts",
    "communal_property",
    "land_plots",
    "energy_objects",
    "ad_structures",
    "temporary_structures",
    "investment_sites",
    "budget_projects",
    "city_boundary",
    "admin_districts",
    "streets",
    "buildings",
    "addresses",
    "water",
    "price_zones",
];

const REGISTER_TABLES: &[&str] = &[
    "deputies",
    "leases",
    "accruals",
    "payments",
    "energy_readings",
    "tariffs",
    "weather_daily",
    "executors",
];

fn plot_sql(cadastral: &str, wkt: &str) -> String {
    format!(
        "INSERT INTO land_plots (cadastral_number, area_ha, ownership, use_status, geom) \
         VALUES ('{cadastral}', 0.1, 'communal', 'free', ST_GeomFromText('{wkt}', 4326))"
    )
}

const SQUARE: &str = "MULTIPOLYGON(((28.60 50.20, 28.601 50.20, 28.601 50.201, 28.60 50.201, 28.60 50.20)))";

async fn rejected(db: &TestDb, sql: &str) -> String {
    match sqlx::query(sql).execute(&db.pool).await {
        Ok(_) => panic!("the database accepted: {sql}"),
        Err(sqlx::Error::Database(e)) => e.constraint().unwrap_or(e.message()).to_string(),
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database() {
    let db = TestDb::new().await;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(applied as usize, geoportal::db::MIGRATOR.iter().count());
    let postgis: String = sqlx::query_scalar("SELECT postgis_lib_version()")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(postgis.starts_with('3'), "PostGIS 3 expected, got {postgis}");
    // Running them again is a no-op.
    geoportal::db::MIGRATOR.run(&db.pool).await.unwrap();
}

#[tokio::test]
async fn every_table_has_the_bookkeeping_columns_and_history_triggers() {
    let db = TestDb::new().await;
    for table in LAYER_TABLES.iter().chain(REGISTER_TABLES) {
        for column in ["id", "created_at", "updated_at", "version", "deleted_at"] {
            let exists: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND column_name = $2)",
            )
            .bind(table)
            .bind(column)
            .fetch_one(&db.pool)
            .await
            .unwrap();
            assert!(exists, "{table}.{column} is missing");
        }
        let triggers: Vec<String> = sqlx::query_scalar(
            "SELECT tgname::text FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal ORDER BY 1",
        )
        .bind(table)
        .fetch_all(&db.pool)
        .await
        .unwrap();
        assert!(
            triggers.contains(&"history".to_string()),
            "{table} has no history trigger"
        );
        assert!(triggers.contains(&"touch".to_string()), "{table} has no touch trigger");
    }
}

#[tokio::test]
async fn every_layer_geometry_has_a_gist_index() {
    let db = TestDb::new().await;
    for table in LAYER_TABLES {
        let indexed: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE tablename = $1 AND indexdef LIKE '%USING gist (geom)%')",
        )
        .bind(table)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert!(indexed, "{table}.geom has no GiST index");
    }
}

#[tokio::test]
async fn database_rejects_a_malformed_cadastral_number() {
    let db = TestDb::new().await;
    for bad in [
        "181010000:01:001:0001",
        "1810100000:1:001:0001",
        "1810100000-01-001-0001",
        "abc",
    ] {
        let c = rejected(&db, &plot_sql(bad, SQUARE)).await;
        assert!(c.contains("cadastral_number"), "{bad}: {c}");
    }
    sqlx::query(&plot_sql("1810100000:01:001:0001", SQUARE))
        .execute(&db.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn database_rejects_a_duplicate_live_cadastral_number() {
    let db = TestDb::new().await;
    sqlx::query(&plot_sql("1810100000:01:001:0001", SQUARE))
        .execute(&db.pool)
        .await
        .unwrap();
    let c = rejected(&db, &plot_sql("1810100000:01:001:0001", SQUARE)).await;
    assert_eq!(c, "land_plots_cadastral_live");
    // Once the first is soft-deleted the number may be reused.
    sqlx::query("UPDATE land_plots SET deleted_at = now()")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query(&plot_sql("1810100000:01:001:0001", SQUARE))
        .execute(&db.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn database_rejects_a_self_intersecting_polygon() {
    let db = TestDb::new().await;
    let bowtie = "MULTIPOLYGON(((28.60 50.20, 28.61 50.21, 28.61 50.20, 28.60 50.21, 28.60 50.20)))";
    let c = rejected(&db, &plot_sql("1810100000:01:001:0002", bowtie)).await;
    assert_eq!(c, "land_plots_geom_check");
    let c = rejected(
        &db,
        "INSERT INTO budget_projects (title, year, funding, planned_uah, status, geom) VALUES \
         ('x', 2025, 'participatory', 1, 'planned', ST_GeomFromText('POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))', 4326))",
    )
    .await;
    assert_eq!(c, "budget_projects_geom_check");
}

#[tokio::test]
async fn database_holds_money_status_and_date_rules() {
    let db = TestDb::new().await;
    let cases = [
        // negative money
        "INSERT INTO budget_projects (title, year, funding, planned_uah, status, geom) VALUES \
         ('x', 2025, 'participatory', -1, 'planned', ST_SetSRID(ST_MakePoint(28.6, 50.2), 4326))",
        // unknown status
        "INSERT INTO budget_projects (title, year, funding, planned_uah, status, geom) VALUES \
         ('x', 2025, 'participatory', 1, 'dreaming', ST_SetSRID(ST_MakePoint(28.6, 50.2), 4326))",
        // paid more than contracted
        "INSERT INTO budget_projects (title, year, funding, planned_uah, contracted_uah, paid_uah, status, geom) VALUES \
         ('x', 2025, 'participatory', 10, 5, 6, 'in_works', ST_SetSRID(ST_MakePoint(28.6, 50.2), 4326))",
        // malformed Prozorro id
        "INSERT INTO budget_projects (title, year, funding, planned_uah, prozorro_tender_id, status, geom) VALUES \
         ('x', 2025, 'participatory', 10, 'UA-2025-1-1', 'tender', ST_SetSRID(ST_MakePoint(28.6, 50.2), 4326))",
        // lease ends before it starts
        "INSERT INTO land_plots (cadastral_number, area_ha, ownership, use_status, lease_start, lease_end, geom) VALUES \
         ('1810100000:01:001:0009', 1, 'communal', 'leased', '2025-01-01', '2024-01-01', \
          ST_GeomFromText('MULTIPOLYGON(((28.60 50.20, 28.601 50.20, 28.601 50.201, 28.60 50.20)))', 4326))",
        // negative area
        "INSERT INTO land_plots (cadastral_number, area_ha, ownership, use_status, geom) VALUES \
         ('1810100000:01:001:0010', -1, 'communal', 'free', \
          ST_GeomFromText('MULTIPOLYGON(((28.60 50.20, 28.601 50.20, 28.601 50.201, 28.60 50.20)))', 4326))",
        // a point where a polygon belongs
        "INSERT INTO land_plots (cadastral_number, area_ha, ownership, use_status, geom) VALUES \
         ('1810100000:01:001:0011', 1, 'communal', 'free', ST_SetSRID(ST_MakePoint(28.6, 50.2), 4326))",
        // a duplicate appeal without its original
        "INSERT INTO appeals (public_number, kind, category, description, status, author_name, email, geom) VALUES \
         ('ZH-2026-000001', 'complaint', 'roads', 'pothole', 'duplicate', 'A', 'a@example.org', \
          ST_SetSRID(ST_MakePoint(28.6, 50.2), 4326))",
        // an appeal without any contact
        "INSERT INTO appeals (public_number, kind, category, description, author_name, geom) VALUES \
         ('ZH-2026-000002', 'complaint', 'roads', 'pothole', 'A', ST_SetSRID(ST_MakePoint(28.6, 50.2), 4326))",
    ];
    for sql in cases {
        rejected(&db, sql).await;
    }
}

#[tokio::test]
async fn an_appeal_gets_its_electoral_district_by_point_in_polygon() {
    let db = TestDb::new().await;
    sqlx::query(
        "INSERT INTO electoral_districts (id, number, name, convocation, valid_from, geom) VALUES \
         (7, 7, 'Округ 7', 8, '2020-11-01', ST_Multi(ST_MakeEnvelope(28.6, 50.2, 28.7, 50.3, 4326)))",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let district: Option<i64> = sqlx::query_scalar(
        "INSERT INTO appeals (public_number, kind, category, description, author_name, email, geom) VALUES \
         ('ZH-2026-000003', 'complaint', 'roads', 'pothole', 'A', 'a@example.org', \
          ST_SetSRID(ST_MakePoint(28.65, 50.25), 4326)) RETURNING electoral_district_id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(district, Some(7));
    let outside: Option<i64> = sqlx::query_scalar(
        "UPDATE appeals SET geom = ST_SetSRID(ST_MakePoint(30.5, 50.45), 4326) RETURNING electoral_district_id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(outside, None, "moving the point out of the district clears it");
}
