//! Registers without geometry (leases, tariffs, meter readings, deputies,
//! the working-day calendar) are collections like the layers: created,
//! edited with If-Match, kept in history, restricted by role; never tiles.

mod common;
#[path = "editing_support/mod.rs"]
mod editing_support;

use axum::http::{Method, StatusCode};
use common::TestDb;
use editing_support::{send, user};
use geoportal::registry::Role;
use serde_json::{Value, json};

fn feature(props: Value) -> Value {
    json!({"type": "Feature", "geometry": null, "properties": props})
}

/// A merge-patch (`Some(properties)`) or a delete (`None`) of the row at
/// `path` against its current version (its ETag read first).
async fn change_current(
    app: &axum::Router,
    path: &str,
    token: &str,
    properties: Option<Value>,
) -> editing_support::Reply {
    let current = send(app, Method::GET, path, Some(token), &[], None).await;
    let etag = current.etag();
    match properties {
        Some(p) => {
            let headers = [
                ("content-type", "application/merge-patch+json"),
                ("if-match", etag.as_str()),
            ];
            send(
                app,
                Method::PATCH,
                path,
                Some(token),
                &headers,
                Some(&json!({ "properties": p })),
            )
            .await
        }
        None => {
            send(
                app,
                Method::DELETE,
                path,
                Some(token),
                &[("if-match", etag.as_str())],
                None,
            )
            .await
        }
    }
}

#[tokio::test]
async fn a_lease_a_tariff_and_a_day_of_readings_are_edited_like_features() {
    let db = TestDb::new().await.with_demo(0.05, 5).await;
    let app = common::app(&db).await;
    let (_, property) = user(&db.pool, "property1", &[Role::PropertyEditor]).await;
    let (_, energy) = user(&db.pool, "energy1", &[Role::EnergyEditor]).await;
    let (_, deputy) = user(&db.pool, "deputy1", &[Role::Deputy]).await;
    let (_, land) = user(&db.pool, "land1", &[Role::LandEditor]).await;
    let object: i64 =
        sqlx::query_scalar("SELECT id FROM communal_property WHERE deleted_at IS NULL ORDER BY id LIMIT 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let lease = feature(json!({
        "property_id": object, "tenant_name": "ТОВ «Тест»", "tenant_edrpou": "12345678",
        "tenant_category": "business", "contract_number": "Т-1/2026", "start_date": "2026-01-01",
        "end_date": "2028-12-31", "leased_area_m2": 42.5, "monthly_rent_uah": 8150.00,
    }));
    let items = "/ogc/collections/leases/items";
    let json_ct = [("content-type", "application/geo+json")];
    // Anonymous 401; a deputy reads leases but may not write 403; for the
    // land department the unpublished register does not exist (404).
    assert_eq!(
        send(&app, Method::POST, items, None, &json_ct, Some(&lease))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&app, Method::POST, items, Some(&deputy), &json_ct, Some(&lease))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&app, Method::POST, items, Some(&land), &json_ct, Some(&lease))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let created = send(&app, Method::POST, items, Some(&property), &json_ct, Some(&lease)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let location = created.headers["location"].to_str().unwrap().to_string();
    let path = &location[location.find("/ogc/").unwrap()..];
    let etag = created.etag();
    // A register's feature has no geometry; sending one is refused.
    let got = send(&app, Method::GET, path, Some(&property), &[], None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["geometry"], Value::Null);
    assert_eq!(got.body["properties"]["contract_number"], "Т-1/2026");
    let mut with_point = lease.clone();
    with_point["geometry"] = json!({"type": "Point", "coordinates": [28.66, 50.25]});
    let r = send(&app, Method::POST, items, Some(&property), &json_ct, Some(&with_point)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.fields().contains(&"geometry".to_string()));
    // Validation lists every failing field; nothing is written.
    let before = common::all_table_checksums(&db.pool).await;
    let bad = feature(
        json!({"property_id": object, "tenant_name": "", "tenant_category": "alien",
        "contract_number": "X", "start_date": "2027-01-01", "end_date": "2026-01-01", "leased_area_m2": -3, "monthly_rent_uah": 1}),
    );
    let r = send(&app, Method::POST, items, Some(&property), &json_ct, Some(&bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    for f in ["tenant_category", "leased_area_m2"] {
        assert!(r.fields().contains(&f.to_string()), "{f} in {:?}", r.fields());
    }
    assert_eq!(before, common::all_table_checksums(&db.pool).await);

    // If-Match: missing 428, stale 412, current 200.
    let patch_ct = [("content-type", "application/merge-patch+json")];
    let change = json!({"properties": {"monthly_rent_uah": 9000.00}});
    assert_eq!(
        send(&app, Method::PATCH, path, Some(&property), &patch_ct, Some(&change))
            .await
            .status,
        StatusCode::PRECONDITION_REQUIRED
    );
    let ok = send(
        &app,
        Method::PATCH,
        path,
        Some(&property),
        &[patch_ct[0], ("if-match", &etag)],
        Some(&change),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let stale = send(
        &app,
        Method::PATCH,
        path,
        Some(&property),
        &[patch_ct[0], ("if-match", &etag)],
        Some(&json!({"properties": {"monthly_rent_uah": 1.0}})),
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    // History: two versions, the rent's old and new value.
    let versions = send(
        &app,
        Method::GET,
        &format!("{path}/versions"),
        Some(&property),
        &[],
        None,
    )
    .await;
    assert_eq!(versions.status, StatusCode::OK, "{}", versions.text);
    let text = versions.text.clone();
    assert!(
        text.contains("monthly_rent_uah") && text.contains("8150") && text.contains("9000"),
        "{text}"
    );

    // Not public: the register is hidden from anonymous callers; no tiles.
    assert_eq!(
        send(&app, Method::GET, items, None, &[], None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(
            &app,
            Method::GET,
            "/tiles/leases/14/9400/5500.mvt",
            Some(&property),
            &[],
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let r = send(
        &app,
        Method::GET,
        &format!("{items}?bbox=28,50,29,51"),
        Some(&property),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // A tariff (public) and a day of meter readings by the energy department.
    let tariff = feature(json!({"resource": "heat_gcal", "valid_from": "2026-10-01", "price_uah": 3540.12}));
    let r = send(
        &app,
        Method::POST,
        "/ogc/collections/tariffs/items",
        Some(&energy),
        &json_ct,
        Some(&tariff),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let public = send(
        &app,
        Method::GET,
        "/ogc/collections/tariffs/items?valid_from=2026-10-01",
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(public.status, StatusCode::OK, "{}", public.text);
    assert!(
        public.body["features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["properties"]["price_uah"] == json!(3540.12))
    );
    let building: i64 =
        sqlx::query_scalar("SELECT id FROM energy_objects WHERE deleted_at IS NULL ORDER BY id LIMIT 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    for (resource, q) in [("heat_gcal", 1.25), ("electricity_kwh", 312.0), ("cold_water_m3", 4.5)] {
        let reading = feature(
            json!({"object_id": building, "resource": resource, "reading_date": "2026-11-20", "quantity": q, "meter_number": "M-1"}),
        );
        let r = send(
            &app,
            Method::POST,
            "/ogc/collections/energy_readings/items",
            Some(&energy),
            &json_ct,
            Some(&reading),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let day: i64 = sqlx::query_scalar("SELECT count(*) FROM energy_readings WHERE object_id = $1 AND reading_date = '2026-11-20' AND deleted_at IS NULL")
        .bind(building)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(day, 3);
    let actors: i64 = sqlx::query_scalar("SELECT count(*) FROM history WHERE table_name = 'energy_readings' AND actor = 'user:energy1' AND operation = 'insert'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(actors, 3);
    // The meter number is staff-only.
    let r = send(
        &app,
        Method::GET,
        &format!("/ogc/collections/energy_readings/items?object_id={building}&limit=5"),
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.body["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["properties"].get("meter_number").is_none())
    );
}

#[tokio::test]
async fn deputies_and_the_calendar_are_kept_by_their_owners() {
    let db = TestDb::new().await.with_demo(0.05, 5).await;
    let app = common::app(&db).await;
    let (_, admin) = user(&db.pool, "root", &[Role::Admin]).await;
    let (_, operator) = user(&db.pool, "operator", &[Role::AppealsOperator]).await;
    let json_ct = [("content-type", "application/geo+json")];
    let district: i64 = sqlx::query_scalar("SELECT id FROM electoral_districts ORDER BY id LIMIT 1")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let deputy = feature(
        json!({"full_name": "Тестовий Депутат", "district_id": district, "convocation": 8,
        "reception_hours": "Пн 10:00–12:00", "valid_from": "2020-11-01", "commissions": ["бюджет"]}),
    );
    assert_eq!(
        send(
            &app,
            Method::POST,
            "/ogc/collections/deputies/items",
            Some(&operator),
            &json_ct,
            Some(&deputy)
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let r = send(
        &app,
        Method::POST,
        "/ogc/collections/deputies/items",
        Some(&admin),
        &json_ct,
        Some(&deputy),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // The new deputy is found by "find my deputy" at once.
    let (lon, lat): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM electoral_districts WHERE id = $1) s",
    )
    .bind(district)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let found = send(
        &app,
        Method::GET,
        &format!("/api/districts/lookup?lon={lon}&lat={lat}"),
        None,
        &[],
        None,
    )
    .await;
    assert!(found.text.contains("Тестовий Депутат"), "{}", found.text);

    // A holiday in the calendar moves information-request deadlines.
    let day = feature(json!({"day": "2026-12-30", "is_working": false, "note": "Додатковий вихідний"}));
    let r = send(
        &app,
        Method::POST,
        "/ogc/collections/working_calendar/items",
        Some(&operator),
        &json_ct,
        Some(&day),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let working: bool = sqlx::query_scalar("SELECT geoportal_is_working_day('2026-12-30')")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(!working);
    // The same day twice is a conflict on the unique day.
    let r = send(
        &app,
        Method::POST,
        "/ogc/collections/working_calendar/items",
        Some(&operator),
        &json_ct,
        Some(&day),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
}

/// The administration adds, renames and retires appeal categories through
/// the register: a new category is an Open311 service residents can file
/// under; a retired one is offered no more and refused at filing, while the
/// appeals filed under it keep it. Codes in use cannot be renamed.
#[tokio::test]
async fn appeal_categories_are_managed_as_a_register() {
    let db = TestDb::new().await.with_demo(0.05, 5).await;
    let app = common::app(&db).await;
    let (_, admin) = user(&db.pool, "cat_admin", &[Role::Admin]).await;
    let (_, operator) = user(&db.pool, "cat_operator", &[Role::AppealsOperator]).await;
    let items = "/ogc/collections/appeal_categories/items";
    let json_ct = [("content-type", "application/geo+json")];
    let snow = feature(json!({
        "code": "snow", "parent_code": null, "title_uk": "Прибирання снігу", "title_en": "Snow clearing",
        "radius_m": 300, "sort_order": 30,
    }));
    // Only the administration writes; everyone reads.
    let r = send(&app, Method::POST, items, Some(&operator), &json_ct, Some(&snow)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let created = send(&app, Method::POST, items, Some(&admin), &json_ct, Some(&snow)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let location = created.headers["location"].to_str().unwrap().to_string();
    let path = location
        .split_once("://")
        .map_or(location.as_str(), |(_, rest)| &rest[rest.find('/').unwrap_or(0)..])
        .to_string();
    let services = |app: axum::Router| async move {
        let r = send(&app, Method::GET, "/open311/v2/services.json", None, &[], None).await;
        r.body.as_array().cloned().unwrap_or_default()
    };
    let listed = services(app.clone()).await;
    let service = listed
        .iter()
        .find(|s| s["service_code"] == "snow")
        .unwrap_or_else(|| panic!("the new category is a service: {listed:?}"));
    assert_eq!(service["service_name"], "Прибирання снігу");

    // A resident files under it.
    let (lon, lat): (f64, f64) = sqlx::query_as(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(ST_Union(geom)) p FROM city_boundary) c",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let filing = |category: &str, email: &str| {
        json!({"kind": "complaint", "category": category, "description": "Не прибрано сніг на зупинці",
               "lon": lon, "lat": lat,
               "contact": {"name": "Мешканка", "email": email}})
    };
    let filed = send(
        &app,
        Method::POST,
        "/api/appeals",
        None,
        &[("content-type", "application/json")],
        Some(&filing("snow", "one@example.org")),
    )
    .await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.text);
    let appeal_id = filed.body["id"].as_i64().unwrap();

    // Renamed: the new title is what the services list says.
    let renamed = change_current(
        &app,
        &path,
        &admin,
        Some(json!({"title_uk": "Прибирання снігу і льоду"})),
    )
    .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    let listed = services(app.clone()).await;
    assert!(
        listed
            .iter()
            .any(|s| s["service_code"] == "snow" && s["service_name"] == "Прибирання снігу і льоду"),
        "{listed:?}"
    );
    // Its code is in use by the appeal: renaming the code is refused, nothing changes.
    let recoded = change_current(&app, &path, &admin, Some(json!({"code": "snow_ice"}))).await;
    assert!(recoded.status.is_client_error(), "{} {}", recoded.status, recoded.text);
    // An empty title is refused.
    let blank = change_current(&app, &path, &admin, Some(json!({"title_en": " "}))).await;
    assert!(blank.status.is_client_error(), "{} {}", blank.status, blank.text);

    // Retired: no longer a service, refused at filing; the appeal keeps it.
    let retired = change_current(&app, &path, &admin, None).await;
    assert!(retired.status.is_success(), "{} {}", retired.status, retired.text);
    assert!(!services(app.clone()).await.iter().any(|s| s["service_code"] == "snow"));
    let r = send(&app, Method::GET, "/open311/v2/services/snow.json", None, &[], None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let refused = send(
        &app,
        Method::POST,
        "/api/appeals",
        None,
        &[("content-type", "application/json")],
        Some(&filing("snow", "two@example.org")),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text);
    assert!(refused.text.contains("category"), "{}", refused.text);
    let kept: String = sqlx::query_scalar("SELECT category FROM appeals WHERE id = $1")
        .bind(appeal_id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(kept, "snow");
    // A parent is retired only after its children; nothing goes under a retired parent.
    let roads: Value = send(
        &app,
        Method::GET,
        &format!("{items}?code=roads"),
        Some(&admin),
        &[],
        None,
    )
    .await
    .body;
    let roads_id = roads["features"][0]["id"].as_i64().expect("the roads category");
    let roads_path = format!("{items}/{roads_id}");
    let refused = change_current(&app, &roads_path, &admin, None).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text);
    assert!(refused.text.contains("subcategories"), "{}", refused.text);
    let under_retired = feature(json!({
        "code": "snow.ice", "parent_code": "snow", "title_uk": "Ожеледь", "title_en": "Ice",
        "radius_m": 100, "sort_order": 31,
    }));
    let r = send(&app, Method::POST, items, Some(&admin), &json_ct, Some(&under_retired)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("parent_code"), "{}", r.text);

    // Every change is in the history: created, renamed, retired.
    let ops: Vec<String> = sqlx::query_scalar(
        "SELECT operation FROM history WHERE table_name = 'appeal_categories' \
         AND new_row->>'code' = 'snow' ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(ops, ["insert", "update", "soft_delete"]);
}
