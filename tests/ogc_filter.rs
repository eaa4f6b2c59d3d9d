//! OGC API – Features Part 3: `filter` in cql2-text and cql2-json selects
//! exactly the rows the same condition selects in SQL; bad filters are 400s,
//! never 500s.

mod common;
mod ogc_support;

use axum::http::StatusCode;
use ogc_support::*;

const LIVE: &str = "SELECT count(*) FROM land_plots WHERE deleted_at IS NULL";

#[tokio::test(flavor = "multi_thread")]
async fn cql2_text_filters_match_sql() {
    let (db, app) = demo().await;
    let cases = [
        ("ownership = 'communal'", "ownership = 'communal'"),
        (
            "area_ha > 0.1 AND use_status <> 'free'",
            "area_ha > 0.1 AND use_status <> 'free'",
        ),
        (
            "ownership = 'private' OR NOT (area_ha < 0.05)",
            "ownership = 'private' OR NOT (area_ha < 0.05)",
        ),
        (
            "purpose_code IN ('02.01', '02.03')",
            "purpose_code IN ('02.01', '02.03')",
        ),
        ("area_ha BETWEEN 0.05 AND 0.2", "area_ha BETWEEN 0.05 AND 0.2"),
        ("lease_end IS NULL", "lease_end IS NULL"),
        ("lease_end IS NOT NULL", "lease_end IS NOT NULL"),
        (
            "cadastral_number LIKE '1810100000:01:%'",
            "cadastral_number LIKE '1810100000:01:%'",
        ),
        ("CASEI(ownership) = CASEI('COMMUNAL')", "lower(ownership) = 'communal'"),
        ("registered_at >= DATE('2025-01-01')", "registered_at >= '2025-01-01'"),
        (
            "T_INTERSECTS(registered_at, INTERVAL('2024-01-01', '2024-12-31'))",
            "registered_at BETWEEN '2024-01-01' AND '2024-12-31'",
        ),
        (
            "annual_rent_uah > normative_value_uah * 0.01",
            "annual_rent_uah > normative_value_uah * 0.01",
        ),
        (
            "S_INTERSECTS(geometry, BBOX(28.64, 50.24, 28.67, 50.26))",
            "ST_Intersects(geom, ST_MakeEnvelope(28.64, 50.24, 28.67, 50.26, 4326))",
        ),
        (
            "S_WITHIN(geometry, POLYGON((28.6 50.2, 28.7 50.2, 28.7 50.3, 28.6 50.3, 28.6 50.2)))",
            "ST_Within(geom, ST_GeomFromText('POLYGON((28.6 50.2, 28.7 50.2, 28.7 50.3, 28.6 50.3, 28.6 50.2))', 4326))",
        ),
        (
            "S_INTERSECTS(geometry, POINT(28.6587 50.2547))",
            "ST_Intersects(geom, ST_SetSRID(ST_MakePoint(28.6587, 50.2547), 4326))",
        ),
        (
            "S_DWITHIN(geometry, POINT(28.6587 50.2547), 500)",
            "ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(28.6587, 50.2547), 4326)::geography, 500)",
        ),
    ];
    let mut nonzero = 0;
    for (cql, sql) in cases {
        let expected = count(&db, &format!("{LIVE} AND ({sql})")).await;
        nonzero += usize::from(expected > 0);
        let page = ok_json(
            &app,
            &format!(
                "/ogc/collections/land_plots/items?filter-lang=cql2-text&filter={}&limit=1",
                urlencode(cql)
            ),
        )
        .await;
        assert_eq!(page["numberMatched"], expected, "{cql}");
    }
    assert!(nonzero >= 10, "the cases should select something");
}

#[tokio::test(flavor = "multi_thread")]
async fn cql2_json_filters_match_sql() {
    let (db, app) = demo().await;
    let cases = [
        (
            r#"{"op":"=","args":[{"property":"ownership"},"communal"]}"#,
            "ownership = 'communal'",
        ),
        (
            r#"{"op":"and","args":[{"op":">","args":[{"property":"area_ha"},0.1]},{"op":"in","args":[{"property":"use_status"},["leased","in_use"]]}]}"#,
            "area_ha > 0.1 AND use_status IN ('leased', 'in_use')",
        ),
        (
            r#"{"op":"like","args":[{"property":"cadastral_number"},"1810100000:01:%"]}"#,
            "cadastral_number LIKE '1810100000:01:%'",
        ),
        (
            r#"{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[28.64,50.24,28.67,50.26]}]}"#,
            "ST_Intersects(geom, ST_MakeEnvelope(28.64, 50.24, 28.67, 50.26, 4326))",
        ),
        (
            r#"{"op":"s_intersects","args":[{"property":"geometry"},{"type":"Polygon","coordinates":[[[28.6,50.2],[28.7,50.2],[28.7,50.3],[28.6,50.3],[28.6,50.2]]]}]}"#,
            "ST_Intersects(geom, ST_GeomFromText('POLYGON((28.6 50.2, 28.7 50.2, 28.7 50.3, 28.6 50.3, 28.6 50.2))', 4326))",
        ),
        (
            r#"{"op":"t_after","args":[{"property":"registered_at"},{"date":"2024-06-30"}]}"#,
            "registered_at > '2024-06-30'",
        ),
        (
            r#"{"op":"isNull","args":[{"property":"lease_end"}]}"#,
            "lease_end IS NULL",
        ),
    ];
    for (cql, sql) in cases {
        let expected = count(&db, &format!("{LIVE} AND ({sql})")).await;
        let page = ok_json(
            &app,
            &format!(
                "/ogc/collections/land_plots/items?filter-lang=cql2-json&filter={}&limit=1",
                urlencode(cql)
            ),
        )
        .await;
        assert_eq!(page["numberMatched"], expected, "{cql}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_combine_with_bbox_datetime_queryables_and_paging() {
    let (db, app) = demo().await;
    let expected: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM land_plots WHERE deleted_at IS NULL AND area_ha > 0.02 AND ownership = 'communal' \
         AND registered_at >= '2023-01-01' \
         AND ST_Intersects(geom, ST_MakeEnvelope(28.60, 50.20, 28.72, 50.30, 4326)) ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(expected.len() > 3, "too few rows for paging: {}", expected.len());
    let (ids, pages) = all_ids(
        &app,
        &format!(
            "/ogc/collections/land_plots/items?filter={}&ownership=communal&datetime=2023-01-01/..&bbox=28.60,50.20,28.72,50.30&limit=2",
            urlencode("area_ha > 0.02")
        ),
    )
    .await;
    assert_eq!(ids, expected);
    assert!(pages.len() > 1);
    // The public sees appeals through the row rules even when filtering.
    let public = "deleted_at IS NULL AND is_public AND status NOT IN ('submitted', 'spam')";
    let expected = count(
        &db,
        &format!("SELECT count(*) FROM appeals WHERE {public} AND kind = 'complaint'"),
    )
    .await;
    let page = ok_json(
        &app,
        &format!(
            "/ogc/collections/appeals/items?filter={}&limit=1",
            urlencode("kind = 'complaint'")
        ),
    )
    .await;
    assert_eq!(page["numberMatched"], expected);
    // Asking for the rows the rules hide finds none.
    let page = ok_json(
        &app,
        &format!(
            "/ogc/collections/appeals/items?filter={}&limit=1",
            urlencode("status = 'spam'")
        ),
    )
    .await;
    assert_eq!(page["numberMatched"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_filters_are_400_with_a_reason() {
    let (_db, app) = demo().await;
    for (filter, lang) in [
        ("area_ha >", "cql2-text"),
        ("nope = 1", "cql2-text"),
        ("user_edrpou = '12345678'", "cql2-text"),
        ("cadastral_number = 5", "cql2-text"),
        ("area_ha = 'abc'", "cql2-text"),
        ("registered_at = DATE('2024-02-30')", "cql2-text"),
        ("FOO(area_ha) = 1", "cql2-text"),
        ("S_INTERSECTS(area_ha, POINT(0 0))", "cql2-text"),
        ("ownership = 'communal'", "cql2-json"),
        (r#"{"op":"=","args":[{"property":"nope"},1]}"#, "cql2-json"),
    ] {
        let p = problem(
            &app,
            &format!(
                "/ogc/collections/land_plots/items?filter={}&filter-lang={lang}",
                urlencode(filter)
            ),
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()), "{filter}: {p}");
    }
}
