//! The shared query builder: row rules and CQL2 filters become SQL with
//! bound parameters, and give the same rows as the condition written in SQL.

mod common;

use common::TestDb;
use geoportal::access::Viewer;
use geoportal::query::{self, FilterContext, FilterError};
use geoportal::registry::Role;
use sqlx::QueryBuilder;

async fn count_visible(db: &TestDb, layer: &str, viewer: &Viewer, filter: Option<&str>) -> Result<i64, FilterError> {
    let registry = common::registry(db).await;
    let layer = registry.get(layer).unwrap();
    let mut qb = QueryBuilder::new(format!("SELECT count(*) FROM {} t WHERE ", query::ident(layer.table())));
    query::push_visible_rows(&mut qb, layer, viewer, "t");
    if let Some(f) = filter {
        let expr = query::parse_filter(f, None)?;
        qb.push(" AND ");
        query::push_filter(&mut qb, &expr, &FilterContext::for_viewer(layer, &viewer.roles, "t"))?;
    }
    Ok(qb.build_query_scalar::<i64>().fetch_one(&db.pool).await.unwrap())
}

async fn count_sql(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&db.pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_public_sees_only_consented_non_spam_appeals() {
    let db = TestDb::new().await.with_demo(0.03, 5).await;
    let public = count_visible(&db, "appeals", &Viewer::anonymous(), None).await.unwrap();
    let expected = count_sql(
        &db,
        "SELECT count(*) FROM appeals WHERE deleted_at IS NULL AND is_public AND status NOT IN ('submitted', 'spam')",
    )
    .await;
    assert_eq!(public, expected);
    assert!(public > 0);
    let operator = Viewer {
        roles: vec![Role::AppealsOperator],
        ..Viewer::default()
    };
    let all = count_visible(&db, "appeals", &operator, None).await.unwrap();
    assert_eq!(
        all,
        count_sql(&db, "SELECT count(*) FROM appeals WHERE deleted_at IS NULL").await
    );
    assert!(all > public);
    // An executor sees its own appeals (plus what the public sees).
    let executor = Viewer {
        roles: vec![Role::Executor],
        executor_id: Some(1),
        ..Viewer::default()
    };
    let own = count_visible(&db, "appeals", &executor, None).await.unwrap();
    let expected = count_sql(
        &db,
        "SELECT count(*) FROM appeals WHERE deleted_at IS NULL AND \
         ((is_public AND status NOT IN ('submitted', 'spam')) OR executor_id = 1)",
    )
    .await;
    assert_eq!(own, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn cql2_filters_select_the_same_rows_as_sql() {
    let db = TestDb::new().await.with_demo(0.03, 5).await;
    let admin = Viewer {
        roles: vec![Role::Admin, Role::LandEditor],
        ..Viewer::default()
    };
    let cases = [
        ("ownership = 'communal'", "ownership = 'communal'"),
        (
            "area_ha > 0.1 AND use_status <> 'free'",
            "area_ha > 0.1 AND use_status <> 'free'",
        ),
        (
            "purpose_code IN ('02.01', '02.03')",
            "purpose_code IN ('02.01', '02.03')",
        ),
        ("area_ha BETWEEN 0.05 AND 0.2", "area_ha BETWEEN 0.05 AND 0.2"),
        ("lease_end IS NULL", "lease_end IS NULL"),
        ("NOT (lease_end IS NULL)", "lease_end IS NOT NULL"),
        (
            "cadastral_number LIKE '1810100000:01:%'",
            "cadastral_number LIKE '1810100000:01:%'",
        ),
        ("registered_at >= DATE('2025-01-01')", "registered_at >= '2025-01-01'"),
        (
            "T_INTERSECTS(registered_at, INTERVAL('2024-01-01', '2024-12-31'))",
            "registered_at BETWEEN '2024-01-01' AND '2024-12-31'",
        ),
        (
            "S_INTERSECTS(geom, BBOX(28.64, 50.24, 28.67, 50.26))",
            "ST_Intersects(geom, ST_MakeEnvelope(28.64, 50.24, 28.67, 50.26, 4326))",
        ),
        (
            "S_DWITHIN(geom, POINT(28.6587 50.2547), 500)",
            "ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(28.6587, 50.2547), 4326)::geography, 500)",
        ),
    ];
    for (cql, sql) in cases {
        let ours = count_visible(&db, "land_plots", &admin, Some(cql)).await.unwrap();
        let theirs = count_sql(
            &db,
            &format!("SELECT count(*) FROM land_plots WHERE deleted_at IS NULL AND ({sql})"),
        )
        .await;
        assert_eq!(ours, theirs, "{cql}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_filter_may_not_name_a_restricted_or_unknown_attribute() {
    let db = TestDb::new().await;
    let public = Viewer::anonymous();
    let err = count_visible(&db, "appeals", &public, Some("email = 'a@example.org'"))
        .await
        .unwrap_err();
    assert_eq!(err, FilterError::UnknownProperty("email".into()));
    let err = count_visible(&db, "land_plots", &public, Some("nonsense > 1"))
        .await
        .unwrap_err();
    assert_eq!(err, FilterError::UnknownProperty("nonsense".into()));
    assert!(matches!(
        count_visible(&db, "land_plots", &public, Some("area_ha >")).await,
        Err(FilterError::Parse { .. })
    ));
    // Values are bound, never spliced: an injection attempt is just a string.
    let n = count_visible(
        &db,
        "land_plots",
        &public,
        Some("address = 'x''; DROP TABLE land_plots; --'"),
    )
    .await
    .unwrap();
    assert_eq!(n, 0);
    assert!(count_sql(&db, "SELECT count(*) FROM land_plots").await >= 0);
}
