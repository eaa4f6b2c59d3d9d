//! Property-based tests (proptest, stable Rust) of the parsers that take
//! hostile input: CQL2 → SQL, GeoJSON feature bodies, tile coordinates, the
//! CSV, GeoJSON and Shapefile import readers. Never a panic: Ok or a clean
//! error. Valid generated CQL2 becomes SQL that PostgreSQL accepts.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestDb;
use geoportal::import::formats;
use geoportal::query::{FilterContext, parse_filter, push_filter};
use geoportal::registry::{AttrType, Layer, Registry, Role};
use http_body_util::BodyExt;
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestRunner};
use serde_json::{Value, json};
use tower::ServiceExt;

fn registry() -> Registry {
    Registry::load_dir(&common::layers_dir()).unwrap()
}

fn layer(registry: &Registry, id: &str) -> Arc<Layer> {
    registry.get(id).unwrap().clone()
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(PtConfig {
        cases,
        failure_persistence: None,
        // Cases here make HTTP requests and queries: a failure must be
        // reported in seconds, not shrunk for an hour.
        max_shrink_iters: 200,
        max_shrink_time: 60_000,
        ..PtConfig::default()
    })
}

/// Translates `text` for `layer` as an admin sees it.
fn translate(layer: &Layer, text: &str, lang: Option<&str>) -> Result<String, String> {
    let expr = parse_filter(text, lang).map_err(|e| e.to_string())?;
    let mut qb = sqlx::QueryBuilder::<sqlx::Postgres>::new("SELECT count(*) FROM ");
    qb.push(geoportal::query::ident(layer.table())).push(" t WHERE ");
    let roles = [Role::Admin];
    push_filter(&mut qb, &expr, &FilterContext::for_viewer(layer, &roles, "t")).map_err(|e| e.to_string())?;
    Ok(qb.into_sql())
}

/// Anything typed into `filter`, from CQL2's own alphabet or not: parsed and
/// translated without a panic.
#[test]
fn cql2_text_and_json_never_panic() {
    let registry = registry();
    let plots = layer(&registry, "land_plots");
    let token = prop_oneof![
        Just("AND ".to_string()),
        Just("OR ".to_string()),
        Just("NOT ".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("= ".to_string()),
        Just("<> ".to_string()),
        Just(">= ".to_string()),
        Just("LIKE ".to_string()),
        Just("IN (".to_string()),
        Just("BETWEEN ".to_string()),
        Just("IS NULL ".to_string()),
        Just("S_INTERSECTS(".to_string()),
        Just("S_DWITHIN(".to_string()),
        Just("T_AFTER(".to_string()),
        Just("CASEI(".to_string()),
        Just("POINT(28.6 50.2)".to_string()),
        Just("BBOX(1,2,3,4)".to_string()),
        Just("DATE('2020-13-45')".to_string()),
        Just("TIMESTAMP('x')".to_string()),
        Just("INTERVAL('..', '2020-01-01')".to_string()),
        Just(", ".to_string()),
        Just("geom ".to_string()),
        Just("id ".to_string()),
        Just("area_ha ".to_string()),
        Just("cadastral_number ".to_string()),
        Just("ownership ".to_string()),
        Just("1e308 ".to_string()),
        Just("-0 ".to_string()),
        Just("NaN ".to_string()),
        "'[^']{0,8}' ".prop_map(String::from),
        "[a-z_]{1,8} ".prop_map(String::from),
        "-?[0-9]{1,20}(\\.[0-9]{0,5})? ".prop_map(String::from),
        any::<String>(),
    ];
    let text = proptest::collection::vec(token, 0..14).prop_map(|v| v.concat());
    runner(600)
        .run(&text, |t| {
            let _ = translate(&plots, &t, None);
            let _ = translate(&plots, &t, Some("cql2-json"));
            Ok(())
        })
        .unwrap();
    // Arbitrary JSON as cql2-json.
    let json_leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-z_]{0,10}".prop_map(Value::from),
        prop_oneof![Just("area_ha"), Just("geom"), Just("nope")].prop_map(|p| json!({"property": p})),
    ];
    let json_expr = json_leaf.prop_recursive(4, 40, 4, |inner| {
        (
            prop_oneof![
                Just("and"),
                Just("or"),
                Just("not"),
                Just("="),
                Just("<"),
                Just("like"),
                Just("in"),
                Just("between"),
                Just("isNull"),
                Just("s_intersects"),
                Just("t_before"),
                Just("casei"),
                Just("+"),
                Just("bbox"),
            ],
            proptest::collection::vec(inner, 0..4),
        )
            .prop_map(|(op, args)| json!({"op": op, "args": args}))
    });
    runner(400)
        .run(&json_expr, |j| {
            let _ = translate(&plots, &j.to_string(), Some("cql2-json"));
            Ok(())
        })
        .unwrap();
}

/// A CQL2 literal of the attribute's type.
fn literal(t: AttrType) -> BoxedStrategy<String> {
    match t {
        AttrType::Integer => any::<i32>().prop_map(|i| i.to_string()).boxed(),
        AttrType::Number | AttrType::Money => (-1.0e9f64..1.0e9).prop_map(|f| format!("{f:.3}")).boxed(),
        AttrType::Boolean => any::<bool>().prop_map(|b| b.to_string().to_uppercase()).boxed(),
        AttrType::Date => (1900i32..2100, 1u32..13, 1u32..29)
            .prop_map(|(y, m, d)| format!("DATE('{y:04}-{m:02}-{d:02}')"))
            .boxed(),
        AttrType::Datetime => (1970i32..2100, 1u32..13, 1u32..29, 0u32..24)
            .prop_map(|(y, m, d, h)| format!("TIMESTAMP('{y:04}-{m:02}-{d:02}T{h:02}:00:00Z')"))
            .boxed(),
        _ => "[a-zA-Zа-яіїєґ0-9 %_'\\\\;-]{0,12}"
            .prop_map(|s| format!("'{}'", s.replace('\'', "''")))
            .boxed(),
    }
}

/// One valid condition on an attribute of `layer`.
fn condition(layer: &Layer) -> BoxedStrategy<String> {
    let mut options: Vec<BoxedStrategy<String>> = Vec::new();
    for a in layer.attributes.iter().filter(|a| a.read.allows(&[Role::Admin])) {
        let t = a.attr_type;
        if matches!(t, AttrType::Json | AttrType::StringList) {
            options.push(Just(format!("{} IS NULL", a.name)).boxed());
            continue;
        }
        let name = a.name.clone();
        let ops = if matches!(t, AttrType::Boolean) {
            vec!["=", "<>"]
        } else {
            vec!["=", "<>", "<", "<=", ">", ">="]
        };
        let n = name.clone();
        options.push(
            (proptest::sample::select(ops), literal(t))
                .prop_map(move |(op, v)| format!("{n} {op} {v}"))
                .boxed(),
        );
        let n = name.clone();
        options.push(
            any::<bool>()
                .prop_map(move |not| format!("{n} IS {}NULL", if not { "NOT " } else { "" }))
                .boxed(),
        );
        if !matches!(t, AttrType::Boolean) {
            let n = name.clone();
            options.push(
                proptest::collection::vec(literal(t), 1..4)
                    .prop_map(move |v| format!("{n} IN ({})", v.join(", ")))
                    .boxed(),
            );
        }
        match t {
            AttrType::Integer | AttrType::Number | AttrType::Money | AttrType::Date => {
                let n = name.clone();
                options.push(
                    (literal(t), literal(t))
                        .prop_map(move |(a, b)| format!("{n} BETWEEN {a} AND {b}"))
                        .boxed(),
                );
            }
            AttrType::String => {
                let n = name.clone();
                options.push(
                    ("[a-zA-Z0-9%_]{0,6}", any::<bool>())
                        .prop_map(move |(p, ci)| {
                            if ci {
                                format!("CASEI({n}) LIKE CASEI('{p}')")
                            } else {
                                format!("{n} LIKE '{p}'")
                            }
                        })
                        .boxed(),
                );
            }
            _ => {}
        }
    }
    if layer.has_geometry() {
        options.push(
            (28.5f64..28.8, 50.15f64..50.35, 0.0001f64..0.05)
                .prop_map(|(x, y, d)| {
                    format!(
                        "S_INTERSECTS(geom, POLYGON(({x} {y}, {} {y}, {} {}, {x} {}, {x} {y})))",
                        x + d,
                        x + d,
                        y + d,
                        y + d
                    )
                })
                .boxed(),
        );
        options.push(
            (28.5f64..28.8, 50.15f64..50.35, 0.0f64..500.0)
                .prop_map(|(x, y, m)| format!("S_DWITHIN(geom, POINT({x} {y}), {m:.1})"))
                .boxed(),
        );
        options.push(
            (28.5f64..28.8, 50.15f64..50.35)
                .prop_map(|(x, y)| format!("S_WITHIN(geom, BBOX({x},{y},{},{}))", x + 0.01, y + 0.01))
                .boxed(),
        );
    }
    options.push(any::<i32>().prop_map(|i| format!("id > {i}")).boxed());
    proptest::strategy::Union::new(options).boxed()
}

fn expression(layer: &Layer) -> BoxedStrategy<String> {
    condition(layer)
        .prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) AND ({b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) OR ({b})")),
                inner.prop_map(|a| format!("NOT ({a})")),
            ]
        })
        .boxed()
}

/// Valid CQL2 over the layers' real attributes and types always translates,
/// and PostgreSQL runs every translation (on the demo city's rows).
#[test]
fn generated_cql2_becomes_sql_postgres_accepts() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(async { TestDb::new().await.with_demo(0.02, 5).await });
    let registry = registry();
    for id in ["land_plots", "communal_property", "appeals", "tariffs"] {
        let Some(layer) = registry.get(id).cloned() else {
            continue;
        };
        let checked = std::cell::Cell::new(0u32);
        runner(40)
            .run(&expression(&layer), |text| {
                let sql = translate(&layer, &text, None).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
                // The translation, with its bound parameters, through the real code path.
                let expr = parse_filter(&text, None).unwrap();
                let result = rt.block_on(async {
                    let mut qb = sqlx::QueryBuilder::<sqlx::Postgres>::new("SELECT count(*) FROM ");
                    qb.push(geoportal::query::ident(layer.table())).push(" t WHERE ");
                    let roles = [Role::Admin];
                    push_filter(&mut qb, &expr, &FilterContext::for_viewer(&layer, &roles, "t")).unwrap();
                    qb.build_query_scalar::<i64>().fetch_one(&db.pool).await
                });
                checked.set(checked.get() + 1);
                result
                    .map(|_| ())
                    .map_err(|e| TestCaseError::fail(format!("{id}: {text}\nSQL: {sql}\nPostgreSQL: {e}")))
            })
            .unwrap();
        assert!(checked.get() >= 40, "{id}");
    }
}

/// Tile addresses: any text in z, x, y is a 400 or 404, never a 5xx; every
/// address inside the grid is a tile (200/204); every one outside is 404.
#[test]
fn tile_coordinates_are_checked() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (db, app) = rt.block_on(async {
        let db = TestDb::new().await;
        let app = common::app(&db).await;
        (db, app)
    });
    let part = prop_oneof![
        "[0-9]{1,12}",
        "-[0-9]{1,3}",
        any::<String>(),
        "[0-9]{1,3}\\.(mvt|pbf|png|json)",
        Just("%00".to_string()),
        Just("..".to_string()),
        Just("1e3".to_string()),
    ];
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    runner(250)
        .run(&(part.clone(), part.clone(), part), |(z, x, y)| {
            let uri = format!("/tiles/land_plots/{}/{}/{}", enc(&z), enc(&x), enc(&y));
            let (status, _, _) = rt.block_on(common::get(&app, &uri));
            prop_assert!(!status.is_server_error(), "{uri}: {status}");
            Ok(())
        })
        .unwrap();
    let coords = (0u8..=30).prop_flat_map(|z| {
        let side = 1u64 << z.min(24);
        (Just(z), 0u64..side * 2, 0u64..side * 2)
    });
    runner(150)
        .run(&coords, |(z, x, y)| {
            let uri = format!("/tiles/land_plots/{z}/{x}/{y}.mvt");
            let (status, _, _) = rt.block_on(common::get(&app, &uri));
            let inside = z <= geoportal::tiles::MAX_ZOOM && x < (1u64 << z) && y < (1u64 << z);
            prop_assert_eq!(
                inside,
                x <= u64::from(u32::MAX)
                    && y <= u64::from(u32::MAX)
                    && geoportal::tiles::grid::is_valid(z, x as u32, y as u32)
            );
            if inside {
                prop_assert!(
                    status == StatusCode::OK || status == StatusCode::NO_CONTENT,
                    "{uri}: {status}"
                );
            } else {
                prop_assert_eq!(status, StatusCode::NOT_FOUND, "{}", uri);
            }
            Ok(())
        })
        .unwrap();
    drop(app);
    rt.block_on(db.pool.close());
}

/// A GeoJSON-like value, mostly of the right shape, with hostile leaves.
fn geojson_value() -> impl Strategy<Value = Value> {
    let number = prop_oneof![
        any::<f64>().prop_map(|f| json!(f)),
        (28.5f64..28.8).prop_map(|f| json!(f)),
        (50.15f64..50.35).prop_map(|f| json!(f)),
        Just(json!(1e308)),
        Just(json!(-1e308)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        number.clone(),
        ".{0,12}".prop_map(Value::from),
        Just(json!("1810100000:01:001:0001")),
        Just(json!("2024-02-30")),
        Just(json!("NaN")),
        Just(json!("communal")),
    ];
    let position = proptest::collection::vec(number, 0..4).prop_map(Value::from);
    let ring = proptest::collection::vec(position.clone(), 0..6).prop_map(Value::from);
    let coordinates = prop_oneof![
        position.clone(),
        ring.clone(),
        proptest::collection::vec(ring.clone(), 0..3).prop_map(Value::from),
        proptest::collection::vec(proptest::collection::vec(ring, 0..2), 0..2).prop_map(Value::from),
        leaf.clone(),
    ];
    let geometry = (
        prop_oneof![
            Just("Point"),
            Just("LineString"),
            Just("Polygon"),
            Just("MultiPolygon"),
            Just("MultiPoint"),
            Just("GeometryCollection"),
            Just("Feature"),
            Just("Circle"),
        ],
        coordinates,
    )
        .prop_map(|(t, c)| json!({"type": t, "coordinates": c}));
    let names = prop_oneof![
        Just("cadastral_number"),
        Just("area_ha"),
        Just("ownership"),
        Just("purpose_code"),
        Just("use_status"),
        Just("valid_from"),
        Just("id"),
        Just("version"),
        Just("deleted_at"),
        Just("geom"),
        Just("'; DROP TABLE x; --"),
    ]
    .prop_map(String::from);
    let properties =
        proptest::collection::btree_map(names, leaf.clone(), 0..6).prop_map(|m| Value::Object(m.into_iter().collect()));
    (
        prop_oneof![Just(json!("Feature")), Just(json!("FeatureCollection")), leaf.clone()],
        prop_oneof![geometry.prop_map(Some), Just(None), leaf.clone().prop_map(Some)],
        prop_oneof![properties, leaf],
    )
        .prop_map(|(t, g, p)| {
            let mut m = serde_json::Map::new();
            m.insert("type".into(), t);
            if let Some(g) = g {
                m.insert("geometry".into(), g);
            }
            m.insert("properties".into(), p);
            Value::Object(m)
        })
}

/// Feature bodies for create, replace and merge-patch: a 2xx or a 4xx
/// problem, never a 5xx.
#[test]
fn geojson_feature_bodies_never_fail_the_server() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (db, app, token, fid) = rt.block_on(async {
        let db = TestDb::new().await.with_demo(0.02, 9).await;
        let app = common::app(&db).await;
        let id = geoportal::users::add(
            &db.pool,
            "prop_admin",
            &[Role::Admin, Role::LandEditor],
            "long-password-1",
        )
        .await
        .unwrap();
        let token = geoportal::auth::issue_session(&db.pool, id, Duration::from_secs(3600), None)
            .await
            .unwrap()
            .0;
        let fid: i64 = sqlx::query_scalar("SELECT min(id) FROM land_plots WHERE deleted_at IS NULL")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        (db, app, token, fid)
    });
    let send = |method: &str, uri: String, ct: &str, body: Vec<u8>, if_match: Option<String>| {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, ct);
        if let Some(m) = if_match {
            req = req.header(header::IF_MATCH, m);
        }
        let response = rt
            .block_on(app.clone().oneshot(req.body(Body::from(body)).unwrap()))
            .unwrap();
        let status = response.status();
        let text = rt
            .block_on(response.into_body().collect())
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).to_string())
            .unwrap_or_default();
        (status, text)
    };
    let etag = |fid: i64| {
        let (_, headers) = rt.block_on(async {
            let r = app
                .clone()
                .oneshot(
                    Request::get(format!("/ogc/collections/land_plots/items/{fid}"))
                        .header(header::AUTHORIZATION, format!("Bearer {token}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            (r.status(), r.headers().clone())
        });
        headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let case = |body: &Value, how: u8| {
        let bytes = body.to_string().into_bytes();
        match how {
            0 => send(
                "POST",
                "/ogc/collections/land_plots/items".into(),
                "application/geo+json",
                bytes,
                None,
            ),
            1 => send(
                "PUT",
                format!("/ogc/collections/land_plots/items/{fid}"),
                "application/geo+json",
                bytes,
                etag(fid),
            ),
            2 => send(
                "PATCH",
                format!("/ogc/collections/land_plots/items/{fid}"),
                "application/merge-patch+json",
                bytes,
                etag(fid),
            ),
            _ => {
                // Raw bytes that are almost JSON.
                let mut raw = body.to_string().into_bytes();
                let cut = raw.len() / 2;
                raw.truncate(cut);
                send(
                    "POST",
                    "/ogc/collections/land_plots/items".into(),
                    "application/geo+json",
                    raw,
                    None,
                )
            }
        }
    };
    // Cases that once failed, kept as fixed regressions (the runner keeps
    // no failure file).
    let regressions = [
        // A LineString with one position made of two empty arrays: a 500
        // in a CI run (2026-11-24).
        (
            json!({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[[], []]]}, "properties": {}}),
            0,
        ),
    ];
    for (body, how) in regressions {
        for how in [how, 1, 2] {
            let (status, text) = case(&body, how);
            assert!(!status.is_server_error(), "{how}: {status} {text}\nbody: {body}");
        }
    }
    runner(60)
        .run(&(geojson_value(), 0u8..4), |(body, how)| {
            let (status, text) = case(&body, how);
            prop_assert!(!status.is_server_error(), "{how}: {status} {text}\nbody: {body}");
            Ok(())
        })
        .unwrap();
    drop(app);
    rt.block_on(db.pool.close());
}

/// The import readers on arbitrary bytes, CSV-shaped text and damaged
/// copies of valid files: Ok or a clean error, never a panic.
#[test]
fn import_readers_never_panic() {
    // Arbitrary bytes in every reader.
    runner(300)
        .run(&proptest::collection::vec(any::<u8>(), 0..600), |bytes| {
            let _ = formats::csv::read(&bytes, None);
            let _ = formats::csv::read(&bytes, Some(encoding_rs::WINDOWS_1251));
            let _ = formats::geojson::read(&bytes);
            let _ = formats::shapefile::read(&bytes, None);
            let _ = formats::cadastral::read(&bytes);
            Ok(())
        })
        .unwrap();
    // CSV-shaped text: delimiters, quotes, WKT and lon/lat columns.
    let cell = prop_oneof![
        "[a-zA-Zа-яі0-9 .,;\"\\t-]{0,10}",
        Just("POINT(28.6 50.2)".to_string()),
        Just("POLYGON((0 0, 1 0, 1 1, 0 0))".to_string()),
        Just("POINT(".to_string()),
        Just("\"unterminated".to_string()),
        Just("1e400".to_string()),
        Just("NaN".to_string()),
        Just("".to_string()),
    ];
    let header = proptest::collection::vec(
        prop_oneof![
            Just("wkt".to_string()),
            Just("lon".to_string()),
            Just("lat".to_string()),
            Just("geom".to_string()),
            "[a-z_]{1,8}",
            Just("".to_string()),
        ],
        0..6,
    );
    let rows = proptest::collection::vec(proptest::collection::vec(cell, 0..7), 0..6);
    let delimiter = prop_oneof![Just(","), Just(";"), Just("\t"), Just("|")];
    runner(300)
        .run(&(header, rows, delimiter), |(header, rows, d)| {
            let mut text = header.join(d);
            for r in rows {
                text.push('\n');
                text.push_str(&r.join(d));
            }
            let _ = formats::csv::read(text.as_bytes(), None);
            Ok(())
        })
        .unwrap();
    // A valid zipped Shapefile, damaged byte by byte.
    let valid = shapefile_zip();
    assert!(
        formats::shapefile::read(&valid, None).is_ok(),
        "the undamaged file reads"
    );
    let damage = proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8);
    runner(200)
        .run(&damage, |edits| {
            let mut bytes = valid.clone();
            for (i, b) in edits {
                let i = i.index(bytes.len());
                bytes[i] = b;
            }
            let _ = formats::shapefile::read(&bytes, None);
            Ok(())
        })
        .unwrap();
    // Valid zip containers around damaged members (the zip itself intact).
    let members = shapefile_members();
    runner(200)
        .run(
            &(
                0usize..3,
                proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..10),
                0usize..200,
            ),
            |(which, edits, cut)| {
                let mut members = members.clone();
                let data = &mut members[which].1;
                for (i, b) in edits {
                    let i = i.index(data.len());
                    data[i] = b;
                }
                if cut % 4 == 0 {
                    let keep = data.len().saturating_sub(cut);
                    data.truncate(keep);
                }
                let _ = formats::shapefile::read(&zip(&members), None);
                Ok(())
            },
        )
        .unwrap();
}

fn zip(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in files {
        writer
            .start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// The .shp, .shx and .dbf of two polygons with text and number attributes.
fn shapefile_members() -> Vec<(String, Vec<u8>)> {
    use shapefile::dbase::{self, FieldValue};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plots.shp");
    let builder = dbase::TableWriterBuilder::new()
        .add_character_field("KADNUM".try_into().unwrap(), 30)
        .add_numeric_field("AREA_HA".try_into().unwrap(), 12, 4);
    {
        let mut writer = shapefile::Writer::from_path(&path, builder).unwrap();
        for k in 0..2 {
            let (x, y) = (28.65 + f64::from(k) * 0.001, 50.25);
            let ring: Vec<shapefile::Point> = [
                (x, y),
                (x, y + 0.0003),
                (x + 0.0003, y + 0.0003),
                (x + 0.0003, y),
                (x, y),
            ]
            .iter()
            .map(|&(a, b)| shapefile::Point::new(a, b))
            .collect();
            let polygon = shapefile::Polygon::new(shapefile::PolygonRing::Outer(ring));
            let mut record = dbase::Record::default();
            record.insert(
                "KADNUM".into(),
                FieldValue::Character(Some(format!("1810100000:01:001:000{k}"))),
            );
            record.insert("AREA_HA".into(), FieldValue::Numeric(Some(0.01)));
            writer.write_shape_and_record(&polygon, &record).unwrap();
        }
    }
    ["shp", "shx", "dbf"]
        .iter()
        .map(|ext| (format!("plots.{ext}"), std::fs::read(path.with_extension(ext)).unwrap()))
        .collect()
}

fn shapefile_zip() -> Vec<u8> {
    zip(&shapefile_members())
}
