//! Editing through OGC API – Features Part 4: the role matrix generated
//! from the registry, perimeters, row rules, If-Match (428/412), every kind
//! of invalid input rejected with nothing written, input CRS, geometry
//! repair on request, and tiles invalidated before the write is answered.

mod common;
mod editing_support;
mod tiles_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use common::TestDb;
use editing_support::*;
use geoportal::config::Config;
use geoportal::registry::Role;
use geoportal::server::{self, AppState};
use geoportal::tiles::{Bbox, grid};
use serde_json::{Value, json};

const PATCH: &[(&str, &str)] = &[("content-type", "application/merge-patch+json")];

fn with_if_match(etag: &str) -> Vec<(&'static str, &str)> {
    vec![("content-type", "application/merge-patch+json"), ("if-match", etag)]
}

async fn first_live(pool: &sqlx::PgPool, table: &str) -> Option<i64> {
    sqlx::query_scalar(&format!(
        "SELECT id FROM \"{table}\" WHERE deleted_at IS NULL ORDER BY id LIMIT 1"
    ))
    .fetch_optional(pool)
    .await
    .unwrap()
}

/// Every role (and anonymous) × every layer × read and edit, expected
/// answers derived from the layer files: read 200 where the layer is
/// visible to the role; edit 401 anonymous, 403 without an `edit` entry,
/// 2xx for a role that edits every row, and otherwise only what its row
/// rules give it (403/404 on a row that is not its own).
#[tokio::test(flavor = "multi_thread")]
async fn role_matrix_follows_the_registry() {
    let db = TestDb::new().await.with_demo(0.03, 5).await;
    let registry = common::registry(&db).await;
    let app = common::app_with(&db, registry.clone());
    let mut viewers: Vec<(Option<Role>, Option<String>)> = vec![(None, None)];
    for role in Role::ACCOUNT_ROLES {
        let (_, token) = user(&db.pool, &format!("m_{}", role.as_str()), &[role]).await;
        viewers.push((Some(role), Some(token)));
    }
    let mut checked_edits = 0;
    for layer in registry.all() {
        let fid = first_live(&db.pool, layer.table()).await;
        for (role, token) in &viewers {
            let roles: Vec<Role> = role.iter().copied().collect();
            let who = role.map_or("anonymous", |r| r.as_str());
            let read = send(
                &app,
                Method::GET,
                &format!("/ogc/collections/{}/items?limit=1", layer.id),
                token.as_deref(),
                &[],
                None,
            )
            .await;
            let expected = if layer.visible_to(&roles) {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(read.status, expected, "read {} as {who}", layer.id);
            // Exactly the attributes the role may read.
            if let Some(props) = read.body["features"][0]["properties"].as_object() {
                let shown: Vec<&String> = props.keys().collect();
                let readable: Vec<&String> = layer.readable_attributes(&roles).map(|a| &a.name).collect();
                let mut shown_sorted = shown.clone();
                shown_sorted.sort();
                let mut readable_sorted = readable.clone();
                readable_sorted.sort();
                assert_eq!(shown_sorted, readable_sorted, "attributes of {} for {who}", layer.id);
            }

            let Some(fid) = fid else { continue };
            let uri = format!("/ogc/collections/{}/items/{fid}", layer.id);
            let current: (i32,) = sqlx::query_as(&format!("SELECT version FROM \"{}\" WHERE id = $1", layer.table()))
                .bind(fid)
                .fetch_one(&db.pool)
                .await
                .unwrap();
            let etag = format!("\"v{}\"", current.0);
            let edit = send(
                &app,
                Method::PATCH,
                &uri,
                token.as_deref(),
                &with_if_match(&etag),
                Some(&json!({"properties": {}})),
            )
            .await;
            let context = format!("edit {} as {who}: {}", layer.id, edit.text);
            match role {
                None => assert_eq!(edit.status, StatusCode::UNAUTHORIZED, "{context}"),
                Some(_) if !layer.visible_to(&roles) => assert_eq!(edit.status, StatusCode::NOT_FOUND, "{context}"),
                Some(_) if !layer.can_edit(&roles) => assert_eq!(edit.status, StatusCode::FORBIDDEN, "{context}"),
                Some(r) => {
                    let every_row = layer.rows.is_empty()
                        || layer
                            .rows
                            .iter()
                            .any(|rule| rule.roles.contains(r) && rule.own.is_none() && rule.filter.is_none());
                    if every_row {
                        assert_eq!(edit.status, StatusCode::OK, "{context}");
                        assert_eq!(edit.etag(), format!("\"v{}\"", current.0 + 1), "{context}");
                        checked_edits += 1;
                    } else {
                        assert!(
                            [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&edit.status),
                            "{context}"
                        );
                    }
                }
            }
        }
    }
    assert!(checked_edits >= 8, "successful edits in the matrix: {checked_edits}");
    // Admin edits only where a file lists it: not land plots.
    let admin = &viewers.iter().find(|(r, _)| *r == Some(Role::Admin)).unwrap().1;
    let fid = first_live(&db.pool, "land_plots").await.unwrap();
    let r = send(
        &app,
        Method::DELETE,
        &format!("/ogc/collections/land_plots/items/{fid}"),
        admin.as_deref(),
        &[("if-match", "\"v1\"")],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// Attributes a role may not edit are refused (403) unless sent unchanged;
/// a partial editor (the executor) may not move, create or delete.
#[tokio::test(flavor = "multi_thread")]
async fn attributes_and_rows_limit_what_a_role_writes() {
    let db = TestDb::new().await.with_demo(0.03, 6).await;
    let app = common::app(&db).await;
    let (resident_id, resident) = user(&db.pool, "resident1", &[Role::Resident]).await;
    let (_, operator) = user(&db.pool, "operator1", &[Role::AppealsOperator]).await;
    let (own, other): (i64, i64) = sqlx::query_as(
        "SELECT min(id), max(id) FROM (SELECT id FROM appeals WHERE deleted_at IS NULL AND is_public \
         AND status NOT IN ('submitted', 'spam') AND account_id IS NULL ORDER BY id LIMIT 2) a",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE appeals SET account_id = $1 WHERE id = $2")
        .bind(resident_id)
        .bind(own)
        .execute(&db.pool)
        .await
        .unwrap();
    let get = send(
        &app,
        Method::GET,
        &format!("/ogc/collections/appeals/items/{own}"),
        Some(&resident),
        &[],
        None,
    )
    .await;
    assert_eq!(get.status, StatusCode::OK);
    let etag = get.etag();
    assert!(etag.starts_with("\"v"), "{etag}");
    let uri = format!("/ogc/collections/appeals/items/{own}");

    // The rating of their own appeal: yes. The status: no.
    let other_status = if get.body["properties"]["status"] == "closed" {
        "in_progress"
    } else {
        "closed"
    };
    let r = send(
        &app,
        Method::PATCH,
        &uri,
        Some(&resident),
        &with_if_match(&etag),
        Some(&json!({"properties": {"status": other_status}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("status"), "{}", r.text);
    // Sending a value unchanged is not a write of it.
    let status = get.body["properties"]["status"].clone();
    let r = send(
        &app,
        Method::PATCH,
        &uri,
        Some(&resident),
        &with_if_match(&etag),
        Some(&json!({"properties": {"rating": 5, "status": status}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["properties"]["rating"], 5);
    // PUT of the feature as GET showed it (rounded coordinates, read-only
    // attributes) with only the rating changed: fine for the resident.
    let seen = send(&app, Method::GET, &uri, Some(&resident), &[], None).await;
    let mut whole = seen.body.clone();
    whole["properties"]["rating"] = json!(3);
    let r = send(
        &app,
        Method::PUT,
        &uri,
        Some(&resident),
        &[("if-match", seen.etag().as_str())],
        Some(&whole),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["properties"]["rating"], 3);
    assert_eq!(r.body["properties"]["status"], seen.body["properties"]["status"]);
    // Someone else's appeal, although public: no.
    let other_etag = send(
        &app,
        Method::GET,
        &format!("/ogc/collections/appeals/items/{other}"),
        Some(&resident),
        &[],
        None,
    )
    .await
    .etag();
    let r = send(
        &app,
        Method::PATCH,
        &format!("/ogc/collections/appeals/items/{other}"),
        Some(&resident),
        &with_if_match(&other_etag),
        Some(&json!({"properties": {"rating": 1}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // A resident neither moves nor deletes.
    let etag = r.etag();
    let _ = etag;
    let etag = send(&app, Method::GET, &uri, Some(&resident), &[], None).await.etag();
    let r = send(
        &app,
        Method::PATCH,
        &uri,
        Some(&resident),
        &with_if_match(&etag),
        Some(&json!({"geometry": {"type": "Point", "coordinates": [0.0, 0.0]}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = send(
        &app,
        Method::DELETE,
        &uri,
        Some(&resident),
        &[("if-match", etag.as_str())],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // The operator may not write the resident's rating.
    let r = send(
        &app,
        Method::PATCH,
        &uri,
        Some(&operator),
        &with_if_match(&etag),
        Some(&json!({"properties": {"rating": 2}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = send(
        &app,
        Method::PATCH,
        &uri,
        Some(&operator),
        &with_if_match(&etag),
        Some(&json!({"properties": {"priority": "high"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_perimeter_limits_the_editor() {
    let db = TestDb::new().await.with_demo(0.03, 7).await;
    let app = common::app(&db).await;
    let (uid, token) = user(&db.pool, "land_district", &[Role::LandEditor]).await;
    let squares = free_squares(&db.pool, 2).await;
    // The perimeter: a box around the first free square only.
    sqlx::query(
        "UPDATE users SET perimeter = ST_Multi(ST_Expand(ST_SetSRID(ST_GeomFromGeoJSON($2), 4326), 0.0005)) WHERE id = $1",
    )
    .bind(uid)
    .bind(squares[0].to_string())
    .execute(&db.pool)
    .await
    .unwrap();
    let inside = send(
        &app,
        Method::POST,
        "/ogc/collections/land_plots/items",
        Some(&token),
        &[],
        Some(&plot(&squares[0], 1)),
    )
    .await;
    assert_eq!(inside.status, StatusCode::CREATED, "{}", inside.text);
    let before = common::all_table_checksums(&db.pool).await;
    let outside = send(
        &app,
        Method::POST,
        "/ogc/collections/land_plots/items",
        Some(&token),
        &[],
        Some(&plot(&squares[1], 2)),
    )
    .await;
    assert_eq!(outside.status, StatusCode::FORBIDDEN, "{}", outside.text);
    // Moving the plot out of the perimeter is refused too.
    let location = inside.headers["location"].to_str().unwrap().to_string();
    let path = location.split_once("/ogc/").map(|(_, p)| format!("/ogc/{p}")).unwrap();
    let r = send(
        &app,
        Method::PATCH,
        &path,
        Some(&token),
        &with_if_match(&inside.etag()),
        Some(&json!({"geometry": squares[1]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // And so is a plot that was outside before.
    let far = first_live(&db.pool, "land_plots").await.unwrap();
    let etag = send(
        &app,
        Method::GET,
        &format!("/ogc/collections/land_plots/items/{far}"),
        Some(&token),
        &[],
        None,
    )
    .await
    .etag();
    let r = send(
        &app,
        Method::PATCH,
        &format!("/ogc/collections/land_plots/items/{far}"),
        Some(&token),
        &with_if_match(&etag),
        Some(&json!({"properties": {"address": "moved"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(common::all_table_checksums(&db.pool).await, before, "nothing written");
}

#[tokio::test(flavor = "multi_thread")]
async fn if_match_prevents_a_lost_update() {
    let db = TestDb::new().await.with_demo(0.03, 8).await;
    let app = common::app(&db).await;
    let (_, alice) = user(&db.pool, "alice", &[Role::LandEditor]).await;
    let (_, bob) = user(&db.pool, "bob", &[Role::LandEditor]).await;
    let fid = first_live(&db.pool, "land_plots").await.unwrap();
    let uri = format!("/ogc/collections/land_plots/items/{fid}");
    let seen = send(&app, Method::GET, &uri, None, &[], None).await;
    let etag = seen.etag();
    assert!(!etag.is_empty(), "GET carries an ETag");

    let wrong_type = send(
        &app,
        Method::PATCH,
        &uri,
        Some(&alice),
        &[("content-type", "text/plain"), ("if-match", etag.as_str())],
        Some(&json!({"properties": {"address": "a"}})),
    )
    .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let no_precondition = send(
        &app,
        Method::PATCH,
        &uri,
        Some(&alice),
        PATCH,
        Some(&json!({"properties": {"address": "a"}})),
    )
    .await;
    assert_eq!(no_precondition.status, StatusCode::PRECONDITION_REQUIRED);
    let r = send(&app, Method::DELETE, &uri, Some(&alice), &[], None).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED);

    let first = send(
        &app,
        Method::PATCH,
        &uri,
        Some(&alice),
        &with_if_match(&etag),
        Some(&json!({"properties": {"address": "Alice's"}})),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_ne!(first.etag(), etag);
    // Bob still holds the old version: his write would lose Alice's.
    let second = send(
        &app,
        Method::PATCH,
        &uri,
        Some(&bob),
        &with_if_match(&etag),
        Some(&json!({"properties": {"address": "Bob's"}})),
    )
    .await;
    assert_eq!(second.status, StatusCode::PRECONDITION_FAILED, "{}", second.text);
    let mut put_body = seen.body.clone();
    put_body["properties"]["address"] = json!("Bob's");
    let r = send(
        &app,
        Method::PUT,
        &uri,
        Some(&bob),
        &[("if-match", etag.as_str())],
        Some(&put_body),
    )
    .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    let r = send(
        &app,
        Method::DELETE,
        &uri,
        Some(&bob),
        &[("if-match", etag.as_str())],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    let now = send(&app, Method::GET, &uri, None, &[], None).await;
    assert_eq!(now.body["properties"]["address"], "Alice's");
    assert_eq!(now.etag(), first.etag());
    // With the fresh ETag Bob's PUT goes through.
    let r = send(
        &app,
        Method::PUT,
        &uri,
        Some(&bob),
        &[("if-match", now.etag().as_str())],
        Some(&put_body),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["properties"]["address"], "Bob's");
}

/// Every kind of invalid input: 422 listing the failing fields, nothing written.
#[tokio::test(flavor = "multi_thread")]
async fn invalid_input_is_rejected_with_nothing_written() {
    let db = TestDb::new().await.with_demo(0.03, 9).await;
    let app = common::app(&db).await;
    let (_, land) = user(&db.pool, "land2", &[Role::LandEditor]).await;
    let (_, ads) = user(&db.pool, "ads2", &[Role::AdsEditor]).await;
    let (_, property) = user(&db.pool, "property2", &[Role::PropertyEditor]).await;
    let squares = free_squares(&db.pool, 1).await;
    let (taken_id, taken_number, taken_geom): (i64, String, String) = sqlx::query_as(
        "SELECT id, cadastral_number::text, ST_AsGeoJSON(geom) FROM land_plots WHERE deleted_at IS NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let taken_geom: Value = serde_json::from_str(&taken_geom).unwrap();
    let before = common::all_table_checksums(&db.pool).await;
    let post = |body: Value| {
        let app = app.clone();
        let land = land.clone();
        async move {
            send(
                &app,
                Method::POST,
                "/ogc/collections/land_plots/items",
                Some(&land),
                &[],
                Some(&body),
            )
            .await
        }
    };

    // Many faults in one feature: one answer lists them all.
    let mut bad = plot(&squares[0], 1);
    let p = bad["properties"].as_object_mut().unwrap();
    p.insert("colour".into(), json!("green"));
    p.insert("area_ha".into(), json!("big"));
    p.insert("ownership".into(), json!("nobody"));
    p.insert("cadastral_number".into(), json!("123"));
    p.insert("purpose_code".into(), json!("99.99"));
    p.insert("price_zone".into(), json!(-1));
    p.insert("lease_start".into(), json!("2025-05-01"));
    p.insert("lease_end".into(), json!("2024-05-01"));
    p.insert("registered_at".into(), json!("yesterday"));
    p.remove("use_status");
    let r = post(bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    let fields = r.fields();
    for f in [
        "colour",
        "area_ha",
        "ownership",
        "cadastral_number",
        "purpose_code",
        "price_zone",
        "lease_end",
        "registered_at",
        "use_status",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} missing in {}", r.text);
    }

    // The cadastral number of a live plot, on its very geometry: taken, and overlapping.
    let mut dup = plot(&taken_geom, 2);
    dup["properties"]["cadastral_number"] = json!(taken_number);
    let r = post(dup).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.fields().contains(&"cadastral_number".to_string()), "{}", r.text);
    assert!(
        r.text.contains(&taken_id.to_string()),
        "the overlap names the plot: {}",
        r.text
    );

    // Geometry: a bow-tie (invalid), a point on a polygon layer, far outside the city, none at all, not GeoJSON.
    let [x, y] = first_vertex(&squares[0]);
    let bowtie = json!({"type": "Polygon", "coordinates": [[[x, y], [x + 0.0003, y + 0.0002], [x + 0.0003, y], [x, y + 0.0002], [x, y]]]});
    for (geometry, why) in [
        (bowtie.clone(), "Self-intersection"),
        (json!({"type": "Point", "coordinates": [x, y]}), "MULTIPOLYGON"),
        (
            json!({"type": "Polygon", "coordinates": [[[2.0, 48.0], [2.001, 48.0], [2.001, 48.001], [2.0, 48.0]]]}),
            "city boundary",
        ),
        (Value::Null, "required"),
        (json!({"type": "Polygon", "coordinates": "nowhere"}), "GeoJSON"),
    ] {
        let r = post(plot(&geometry, 3)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {}", r.text);
        assert!(
            r.fields().contains(&"geometry".to_string()) && r.text.contains(why),
            "{why}: {}",
            r.text
        );
    }
    // Not JSON, not a Feature: 400.
    let r = send(
        &app,
        Method::POST,
        "/ogc/collections/land_plots/items",
        Some(&land),
        &[],
        Some(&json!([1, 2])),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Unique permit and inventory numbers among live rows.
    let (a1, a2, permit): (i64, i64, String) = sqlx::query_as(
        "SELECT a.id, b.id, a.permit_number FROM ad_structures a, ad_structures b \
         WHERE a.deleted_at IS NULL AND b.deleted_at IS NULL AND a.permit_number IS NOT NULL AND b.id <> a.id \
         AND b.permit_number IS DISTINCT FROM a.permit_number ORDER BY a.id, b.id LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let _ = a1;
    let uri = format!("/ogc/collections/ad_structures/items/{a2}");
    let etag = send(&app, Method::GET, &uri, Some(&ads), &[], None).await.etag();
    let r = send(
        &app,
        Method::PATCH,
        &uri,
        Some(&ads),
        &with_if_match(&etag),
        Some(&json!({"properties": {"permit_number": permit}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.fields(), vec!["permit_number".to_string()]);
    let (p2, inventory): (i64, String) = sqlx::query_as(
        "SELECT b.id, a.inventory_number FROM communal_property a, communal_property b \
         WHERE a.deleted_at IS NULL AND b.deleted_at IS NULL AND b.id <> a.id ORDER BY a.id, b.id LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let uri = format!("/ogc/collections/communal_property/items/{p2}");
    let etag = send(&app, Method::GET, &uri, Some(&property), &[], None).await.etag();
    let r = send(
        &app,
        Method::PATCH,
        &uri,
        Some(&property),
        &with_if_match(&etag),
        Some(&json!({"properties": {"inventory_number": inventory, "floors": 99}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let fields = r.fields();
    assert!(
        fields.contains(&"inventory_number".to_string()) && fields.contains(&"floors".to_string()),
        "{}",
        r.text
    );
    // A required attribute cleared by a patch.
    let r = send(
        &app,
        Method::PATCH,
        &uri,
        Some(&property),
        &with_if_match(&etag),
        Some(&json!({"properties": {"name": null}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.fields(), vec!["name".to_string()]);

    assert_eq!(
        common::all_table_checksums(&db.pool).await,
        before,
        "nothing was written"
    );

    // With ?repair=true the bow-tie is repaired, and the answer says so.
    let r = send(
        &app,
        Method::POST,
        "/ogc/collections/land_plots/items?repair=true",
        Some(&land),
        &[],
        Some(&plot(&bowtie, 4)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(
        r.headers["geometry-repaired"]
            .to_str()
            .unwrap()
            .contains("ST_MakeValid")
    );
}

fn first_vertex(multipolygon: &Value) -> [f64; 2] {
    let c = &multipolygon["coordinates"][0][0][0];
    [c[0].as_f64().unwrap(), c[1].as_f64().unwrap()]
}

/// Content-Crs: a geometry sent in UTM 35N is stored reprojected.
#[tokio::test(flavor = "multi_thread")]
async fn the_input_crs_is_reprojected() {
    let db = TestDb::new().await.with_demo(0.03, 10).await;
    let app = common::app(&db).await;
    let (_, land) = user(&db.pool, "land3", &[Role::LandEditor]).await;
    let squares = free_squares(&db.pool, 1).await;
    let utm: String =
        sqlx::query_scalar("SELECT ST_AsGeoJSON(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326), 32635), 3)")
            .bind(squares[0].to_string())
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let utm: Value = serde_json::from_str(&utm).unwrap();
    let headers = [("content-crs", "<http://www.opengis.net/def/crs/EPSG/0/32635>")];
    let r = send(
        &app,
        Method::POST,
        "/ogc/collections/land_plots/items",
        Some(&land),
        &headers,
        Some(&plot(&utm, 5)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_i64().unwrap();
    let distance: f64 = sqlx::query_scalar(
        "SELECT ST_HausdorffDistance(geom, ST_SetSRID(ST_GeomFromGeoJSON($2), 4326)) FROM land_plots WHERE id = $1",
    )
    .bind(id)
    .bind(squares[0].to_string())
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(distance < 1e-6, "reprojected geometry off by {distance}°");
    // An unknown CRS is the client's error.
    let headers = [("content-crs", "<http://www.opengis.net/def/crs/EPSG/0/1>")];
    let r = send(
        &app,
        Method::POST,
        "/ogc/collections/land_plots/items",
        Some(&land),
        &headers,
        Some(&plot(&utm, 6)),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn options_and_conformance_declare_part_4() {
    let db = TestDb::new().await;
    let app = common::app(&db).await;
    // The server's CORS layer answers every OPTIONS as a preflight, so the
    // Part 4 OPTIONS handlers are exercised on the /ogc router itself.
    let registry = common::registry(&db).await;
    let state = AppState::new(db.pool.clone(), Arc::new(registry), Arc::new(Config::defaults()));
    let ogc = geoportal::ogc::routes().with_state(state);
    let r = send(
        &ogc,
        Method::OPTIONS,
        "/ogc/collections/land_plots/items",
        None,
        &[],
        None,
    )
    .await;
    assert!(r.status.is_success());
    let allow = r.headers["allow"].to_str().unwrap();
    assert!(allow.contains("POST") && allow.contains("GET"), "{allow}");
    assert!(
        r.headers["accept-post"]
            .to_str()
            .unwrap()
            .contains("application/geo+json")
    );
    let r = send(
        &ogc,
        Method::OPTIONS,
        "/ogc/collections/land_plots/items/1",
        None,
        &[],
        None,
    )
    .await;
    let allow = r.headers["allow"].to_str().unwrap();
    for m in ["PUT", "PATCH", "DELETE"] {
        assert!(allow.contains(m), "{allow}");
    }
    assert_eq!(r.headers["accept-patch"], "application/merge-patch+json");
    let (_, conformance) = common::get_json(&app, "/ogc/conformance").await;
    let classes = conformance["conformsTo"].as_array().unwrap();
    for c in ["create-replace-delete", "update", "features"] {
        let uri = format!("http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/{c}");
        assert!(classes.iter().any(|x| x == &json!(uri)), "{uri}");
    }
    // Anonymous writes: 401 with a challenge.
    let r = send(
        &app,
        Method::POST,
        "/ogc/collections/land_plots/items",
        None,
        &[],
        Some(&json!({"type": "Feature"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers.contains_key("www-authenticate"));
}

/// The write drops the cached tiles it touches before it is answered: the
/// very next tile request shows the change.
#[tokio::test(flavor = "multi_thread")]
async fn a_write_invalidates_its_tiles_before_answering() {
    let db = TestDb::new().await.with_demo(0.03, 11).await;
    let registry = common::registry(&db).await;
    let state = AppState::new(db.pool.clone(), Arc::new(registry), Arc::new(Config::defaults()));
    let app = server::router(state.clone());
    state.tiles.start_listener(&state.pool);
    let start = Instant::now();
    while !state.tiles.is_live() {
        assert!(start.elapsed() < Duration::from_secs(5), "the listener never connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, land) = user(&db.pool, "land4", &[Role::LandEditor]).await;
    let (id, px, py): (i64, f64, f64) = sqlx::query_as(
        "SELECT id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM land_plots \
         WHERE deleted_at IS NULL ORDER BY id LIMIT 1 OFFSET 5",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let (x, y) = grid::tiles_in(&Bbox::new(px, py, px, py), 16).next().unwrap();
    let uri = format!("/tiles/land_plots/16/{x}/{y}.mvt");
    let status_of = |t: &Option<geozero::mvt::Tile>| {
        let t = t.as_ref().unwrap();
        let l = tiles_support::layer(t, "land_plots").unwrap();
        let f = l.features.iter().find(|f| f.id == Some(id as u64)).unwrap();
        tiles_support::props(l, f).get("use_status").cloned()
    };
    let before = status_of(&tiles_support::tile(&app, &uri).await);
    // Served from the cache now.
    assert_eq!(status_of(&tiles_support::tile(&app, &uri).await), before);
    let new_status = if before.as_deref() == Some("leased") {
        "in_use"
    } else {
        "leased"
    };
    let item = format!("/ogc/collections/land_plots/items/{id}");
    let etag = send(&app, Method::GET, &item, None, &[], None).await.etag();
    let r = send(
        &app,
        Method::PATCH,
        &item,
        Some(&land),
        &with_if_match(&etag),
        Some(&json!({"properties": {"use_status": new_status}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        status_of(&tiles_support::tile(&app, &uri).await).as_deref(),
        Some(new_status)
    );
}
