//! OGC API – Features Part 4: creating, replacing, updating (JSON merge
//! patch) and deleting features of `/ogc/collections/{id}/items`, with
//! optimistic locking (`ETag` = the row's version, `If-Match` required),
//! validation before anything is written, history and tile invalidation.
//!
//! Who may write what comes from the registry: a role edits the attributes
//! whose `edit` lists it, on the rows its row rules give it; the layer's
//! full editors (`LayerDef::full_editors`) also create, delete, restore and
//! move features; a perimeter-limited user only touches features whose old
//! and new geometry lie inside the perimeter.

pub mod history;
mod validate;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use sqlx::{PgConnection, QueryBuilder, Row};

use super::collections::visible_layer;
use super::crs::Crs;
use super::params::Params;
use super::{OgcError, base};
use crate::access::Viewer;
use crate::error::{AppError, AppResult, FieldError};
use crate::query::{ident, push_visible_rows};
use crate::registry::{GeometryType, Layer, Role};
use crate::server::AppState;
use crate::tiles::Bbox;

/// Overlap between land plots tolerated as digitising noise, m².
const OVERLAP_TOLERANCE_M2: f64 = 1.0;

pub const ACCEPT_POST: &str = "application/geo+json, application/json";
pub const ACCEPT_PATCH: &str = "application/merge-patch+json";
static GEOMETRY_REPAIRED: HeaderName = HeaderName::from_static("geometry-repaired");

/// The `ETag` of a row version.
pub fn etag(version: i32) -> String {
    format!("\"v{version}\"")
}

/// The version an `If-Match` header names: 428 without one, 412 for a
/// value that names no version (`*` is not accepted: a write must say
/// which version it changes).
fn if_match(headers: &HeaderMap) -> AppResult<i32> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Err(AppError::PreconditionRequired(
            "this write needs If-Match with the feature's ETag (GET the feature first)".into(),
        ));
    };
    let text = value.to_str().unwrap_or("").trim();
    let tag = text.trim_start_matches("W/").trim_matches('"');
    let digits = tag.strip_prefix('v').unwrap_or(tag);
    digits
        .parse::<i32>()
        .map_err(|_| AppError::PreconditionFailed(format!("If-Match `{text}` names no version of this feature")))
}

/// What a request writes.
#[derive(Debug, Default)]
struct Input {
    /// Attribute values as sent (null clears).
    props: Map<String, Value>,
    /// `Some(Null)` removes the geometry, `None` leaves it.
    geometry: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Replace,
    Patch,
    Delete,
    Restore,
}

fn parse_body(body: &Bytes) -> AppResult<Map<String, Value>> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| AppError::BadRequest(format!("the body is not JSON: {e}")))?;
    match value {
        Value::Object(m) => Ok(m),
        _ => Err(AppError::BadRequest("the body must be a GeoJSON Feature object".into())),
    }
}

fn feature_input(body: &Bytes, patch: bool) -> AppResult<Input> {
    let mut m = parse_body(body)?;
    if !patch && m.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err(AppError::BadRequest(
            "the body must be a GeoJSON Feature (\"type\": \"Feature\")".into(),
        ));
    }
    let props = match m.remove("properties") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p,
        Some(_) => return Err(AppError::BadRequest("`properties` must be an object".into())),
    };
    let geometry = m.remove("geometry");
    Ok(Input {
        props,
        geometry: if patch {
            geometry
        } else {
            Some(geometry.unwrap_or(Value::Null))
        },
    })
}

/// The input CRS: `Content-Crs` header or `crs` parameter; CRS84 by default.
fn input_crs(headers: &HeaderMap, params: &Params) -> AppResult<Crs> {
    let header = headers.get("content-crs").map(|v| {
        v.to_str()
            .unwrap_or("")
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string()
    });
    match header.as_deref().or(params.get("crs")) {
        None => Ok(super::crs::CRS84),
        Some(text) => Crs::parse(text).map_err(|e| {
            OgcError::BadParameter {
                name: "Content-Crs".into(),
                reason: e.to_string(),
            }
            .into()
        }),
    }
}

fn repair_param(params: &Params) -> AppResult<bool> {
    match params.get("repair") {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(OgcError::BadParameter {
            name: "repair".into(),
            reason: format!("`{other}` is not true or false"),
        }
        .into()),
    }
}

/// A geometry checked and ready to store (hex EWKB in EPSG:4326).
struct PreparedGeometry {
    hex: String,
    /// Why it was repaired, when `repair=true` had to.
    repaired: Option<String>,
}

/// Most vertices one feature's geometry may have, in an edit or an import:
/// far above any parcel, street or boundary of a city, and low enough that
/// checking validity and containment stays well inside a request's time.
pub const MAX_VERTICES: usize = 200_000;

/// Positions in a GeoJSON geometry (nested arrays ending in numbers), the
/// members of a collection included; counting stops past `limit`.
fn positions(v: &Value, limit: usize) -> usize {
    fn walk(v: &Value, n: &mut usize, limit: usize) {
        if *n > limit {
            return;
        }
        match v {
            Value::Array(items) if items.first().is_some_and(Value::is_number) => *n += 1,
            Value::Array(items) => items.iter().for_each(|i| walk(i, n, limit)),
            Value::Object(o) => {
                if let Some(c) = o.get("coordinates") {
                    walk(c, n, limit);
                }
                if let Some(Value::Array(gs)) = o.get("geometries") {
                    gs.iter().for_each(|g| walk(g, n, limit));
                }
            }
            _ => {}
        }
    }
    let mut n = 0;
    walk(v, &mut n, limit);
    n
}

/// A geometry query's answer: its value; or none, with a field error
/// saying what PostGIS's message means (`what`), when PostGIS refused the
/// geometry itself (its readers raise data exceptions or XX000). A
/// connection failure, a lack of resources, a timeout or a lock (classes
/// 08, 53, 57, 40, 55) stays a server-side error.
fn refused<T>(
    answer: Result<T, sqlx::Error>,
    errors: &mut Vec<FieldError>,
    what: impl FnOnce(&str) -> String,
) -> AppResult<Option<T>> {
    const PASSING: [&str; 5] = ["08", "53", "57", "40", "55"];
    match answer {
        Ok(v) => Ok(Some(v)),
        Err(sqlx::Error::Database(db)) if !db.code().is_some_and(|c| PASSING.iter().any(|p| c.starts_with(p))) => {
            errors.push(FieldError::new("geometry", what(db.message())));
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Parses, reprojects and checks a GeoJSON geometry: type, validity
/// (repaired only on request, and said so), inside the city.
async fn prepare_geometry(
    state: &AppState,
    layer: &Layer,
    geometry: &Value,
    crs: Crs,
    repair: bool,
    errors: &mut Vec<FieldError>,
) -> AppResult<Option<PreparedGeometry>> {
    if positions(geometry, MAX_VERTICES) > MAX_VERTICES {
        errors.push(FieldError::new(
            "geometry",
            format!("too many vertices (more than {MAX_VERTICES} per feature)"),
        ));
        return Ok(None);
    }
    let parsed: Result<String, sqlx::Error> = sqlx::query_scalar(include_str!("sql/parse_geometry.sql"))
        .bind(geometry.to_string())
        .bind(crs.srid)
        .bind(crs.north_first)
        .fetch_one(&state.pool)
        .await;
    let Some(hex) = refused(parsed, errors, |m| {
        format!("not a GeoJSON geometry in {}: {m}", crs.uri())
    })?
    else {
        return Ok(None);
    };
    let target = layer.geometry.geometry_type;
    let multi = matches!(
        target,
        GeometryType::MultiPoint | GeometryType::MultiLineString | GeometryType::MultiPolygon
    );
    let dimension: i32 = match target {
        GeometryType::Point | GeometryType::MultiPoint => 1,
        GeometryType::LineString | GeometryType::MultiLineString => 2,
        GeometryType::Polygon | GeometryType::MultiPolygon => 3,
        GeometryType::Geometry | GeometryType::None => 0,
    };
    let checked = sqlx::query(include_str!("sql/check_geometry.sql"))
        .bind(&hex)
        .bind(repair)
        .bind(multi)
        .bind(dimension)
        .fetch_one(&state.pool)
        .await;
    // ST_GeomFromGeoJSON accepts shapes its own EWKB reader then refuses,
    // such as a LineString of one position.
    let Some(row) = refused(checked, errors, |m| format!("not a valid geometry: {m}"))? else {
        return Ok(None);
    };
    let was_valid: bool = row.try_get(0)?;
    let reason: String = row.try_get(1)?;
    let kind: String = row.try_get(2)?;
    let valid: bool = row.try_get(3)?;
    let empty: bool = row.try_get(4)?;
    let hex: String = row.try_get(5)?;
    let in_city: Option<bool> = row.try_get(6)?;
    let before = errors.len();
    if !was_valid && !repair {
        errors.push(FieldError::new(
            "geometry",
            format!("not valid: {reason} (repair=true applies ST_MakeValid)"),
        ));
    } else if !valid || empty {
        errors.push(FieldError::new(
            "geometry",
            format!("not valid even after repair: {reason}"),
        ));
    }
    if target != GeometryType::Geometry && kind != target.postgis_name() && !empty {
        errors.push(FieldError::new(
            "geometry",
            format!("is a {kind}; this layer holds {}", target.postgis_name()),
        ));
    }
    if in_city == Some(false) {
        errors.push(FieldError::new("geometry", "does not lie within the city boundary"));
    }
    if errors.len() > before {
        return Ok(None);
    }
    Ok(Some(PreparedGeometry {
        hex,
        repaired: (!was_valid).then_some(reason),
    }))
}

/// Whether two JSON values mean the same attribute value (numbers by
/// value, timestamps by instant).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => {
            x == y
                || matches!(
                    (chrono::DateTime::parse_from_rfc3339(x), chrono::DateTime::parse_from_rfc3339(y)),
                    (Ok(p), Ok(q)) if p == q
                )
                || matches!((x.parse::<f64>(), y.parse::<f64>()), (Ok(p), Ok(q)) if p == q)
        }
        (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s)) => {
            s.parse::<f64>().ok() == n.as_f64()
        }
        _ => a == b,
    }
}

/// Roles of the viewer that edit some attribute of the layer.
fn editing_roles(layer: &Layer, viewer: &Viewer) -> Vec<Role> {
    viewer.roles.iter().copied().filter(|r| layer.can_edit(&[*r])).collect()
}

/// `<rows the viewer may edit>`: the row rules that name one of the viewer's
/// editing roles (a resident's own appeals, an executor's assigned ones);
/// where no rule names them, the rows they see.
fn push_editable_rows(qb: &mut QueryBuilder<'static, sqlx::Postgres>, layer: &Layer, viewer: &Viewer) {
    let roles = editing_roles(layer, viewer);
    let named: Vec<_> = layer
        .rows
        .iter()
        .filter(|rule| rule.roles.iter().any(|r| *r != Role::Everyone && roles.contains(r)))
        .cloned()
        .collect();
    if named.is_empty() {
        push_visible_rows(qb, layer, viewer, "t");
        return;
    }
    let mut def = layer.def.clone();
    def.rows = named;
    let restricted = Layer::new(def, layer.file.clone());
    let editor = Viewer {
        roles,
        ..viewer.clone()
    };
    push_visible_rows(qb, &restricted, &editor, "t");
}

/// The row as stored, locked for this transaction.
struct Current {
    row: Map<String, Value>,
    geometry_hex: Option<String>,
    bbox: Option<Bbox>,
    version: i32,
}

async fn lock_current(conn: &mut PgConnection, layer: &Layer, viewer: &Viewer, fid: i64, op: Op) -> AppResult<Current> {
    let g = layer.geom_sql("t");
    let mut qb = QueryBuilder::new(format!(
        "SELECT to_jsonb(t) - {col}, encode(ST_AsEWKB({g}), 'hex'), ST_XMin({g}), ST_YMin({g}), ST_XMax({g}), \
         ST_YMax({g}), t.version, t.deleted_at IS NOT NULL, coalesce((",
        col = sql_text(&layer.geometry.column),
    ));
    push_visible_rows(&mut qb, layer, viewer, "t");
    // Row rules compare nullable columns: unknown is "no".
    qb.push("), false), coalesce((");
    push_editable_rows(&mut qb, layer, viewer);
    qb.push(format!(
        "), false) FROM {} t WHERE t.{} = ",
        ident(layer.table()),
        ident(&layer.id_column)
    ));
    qb.push_bind(fid);
    qb.push(" FOR UPDATE");
    let not_found = || {
        AppError::from(OgcError::NoFeature {
            collection: layer.id.clone(),
            feature: fid.to_string(),
        })
    };
    let row = qb.build().fetch_optional(&mut *conn).await?.ok_or_else(not_found)?;
    let json: Value = row.try_get(0)?;
    let deleted: bool = row.try_get(7)?;
    let visible: bool = row.try_get(8)?;
    let editable: bool = row.try_get(9)?;
    // A deleted feature exists only for a restore, and only on layers
    // without row rules (whose rules speak of live rows).
    let restorable = op == Op::Restore && deleted && layer.rows.is_empty();
    if !(visible || restorable) {
        return Err(not_found());
    }
    if !(editable || restorable) {
        return Err(AppError::Forbidden(format!(
            "feature {fid} of `{}` is not one your roles may edit",
            layer.id
        )));
    }
    let bbox = match (
        row.try_get::<Option<f64>, _>(2)?,
        row.try_get::<Option<f64>, _>(3)?,
        row.try_get::<Option<f64>, _>(4)?,
        row.try_get::<Option<f64>, _>(5)?,
    ) {
        (Some(a), Some(b), Some(c), Some(d)) => Some(Bbox::new(a, b, c, d)),
        _ => None,
    };
    Ok(Current {
        row: match json {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        geometry_hex: row.try_get(1)?,
        bbox,
        version: row.try_get(6)?,
    })
}

/// A string literal for SQL text built from registry names (identifiers).
fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// What a successful write answers with.
struct Written {
    id: i64,
    version: i32,
    repaired: Option<String>,
}

/// One write, from authorisation to tile invalidation.
#[allow(clippy::too_many_arguments)]
async fn write(
    state: &AppState,
    viewer: &Viewer,
    layer: &Arc<Layer>,
    op: Op,
    fid: Option<i64>,
    headers: &HeaderMap,
    params: &Params,
    mut input: Input,
) -> AppResult<Written> {
    let roles = &viewer.roles;
    if !layer.can_edit(roles) {
        return Err(AppError::Forbidden(format!(
            "your roles may not edit `{}` (editors: {})",
            layer.id,
            layer
                .editors()
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let full = layer.is_full_editor(roles);
    if matches!(op, Op::Create | Op::Delete | Op::Restore) && !full {
        return Err(AppError::Forbidden(format!(
            "creating, deleting and restoring features of `{}` needs one of the roles: {}",
            layer.id,
            layer
                .full_editors()
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let expected = if op == Op::Create {
        None
    } else {
        Some(if_match(headers)?)
    };
    // History keeps geometries in CRS84 whatever the request's headers say.
    let crs = if op == Op::Restore {
        super::crs::CRS84
    } else {
        input_crs(headers, params)?
    };
    let repair = repair_param(params)?;

    let mut errors = Vec::new();
    let mut pool_conn = state.pool.acquire().await?;
    let columns = validate::columns(&mut pool_conn, layer.table()).await?;
    drop(pool_conn);

    // Schema checks of what was sent.
    for (name, value) in &input.props {
        match layer.attribute(name) {
            None => errors.push(FieldError::new(name.clone(), "is not an attribute of this layer")),
            Some(a) => validate::check_value(a, columns.get(name), value, &mut errors),
        }
    }
    if !layer.has_geometry() {
        // A register: its features have no geometry.
        if input.geometry.as_ref().is_some_and(|g| !g.is_null()) {
            errors.push(FieldError::new("geometry", "this register has no geometry: send null"));
        }
        input.geometry = None;
    }
    let mut prepared = None;
    if let Some(g) = &input.geometry {
        if g.is_null() {
            if op != Op::Delete && columns.get(&layer.geometry.column).is_some_and(validate::required) {
                errors.push(FieldError::new("geometry", "is required"));
            }
        } else {
            prepared = prepare_geometry(state, layer, g, crs, repair, &mut errors).await?;
        }
    }

    let mut tx = state.pool.begin().await?;
    sqlx::query("SELECT set_config('geoportal.actor', $1, true)")
        .bind(viewer.actor.clone().unwrap_or_else(|| "anonymous".into()))
        .execute(&mut *tx)
        .await?;
    let current = match fid {
        Some(fid) => Some(lock_current(&mut tx, layer, viewer, fid, op).await?),
        None => None,
    };
    if let (Some(c), Some(v)) = (&current, expected)
        && c.version != v
    {
        return Err(AppError::PreconditionFailed(format!(
            "the feature is at version {} ({}), not {}: someone changed it; GET it again",
            c.version,
            etag(c.version),
            etag(v)
        )));
    }

    // PUT replaces every attribute the viewer may edit; the others keep
    // their value unless the body changes them (then 403 below).
    if op == Op::Replace {
        for a in layer.editable_attributes(roles) {
            input.props.entry(a.name.clone()).or_insert(Value::Null);
        }
    }
    // Attributes the viewer may not write: sending them unchanged is fine.
    let mut forbidden = Vec::new();
    input.props.retain(|name, value| {
        let Some(a) = layer.attribute(name) else {
            return true;
        };
        if a.edit.iter().any(|r| roles.contains(r)) {
            return true;
        }
        let old = current.as_ref().and_then(|c| c.row.get(name)).unwrap_or(&Value::Null);
        if same_value(old, value) {
            return false;
        }
        forbidden.push(name.clone());
        true
    });
    if !forbidden.is_empty() {
        return Err(AppError::Forbidden(format!(
            "your roles may not edit: {}",
            forbidden.join(", ")
        )));
    }
    // Moving a feature is for full editors.
    if !full && let Some(g) = &input.geometry {
        let old = current.as_ref().and_then(|c| c.geometry_hex.clone());
        let same = match (&prepared, &old, g.is_null()) {
            (Some(p), Some(o), _) => {
                sqlx::query_scalar::<_, bool>(include_str!("sql/same_geometry.sql"))
                    .bind(&p.hex)
                    .bind(o)
                    .fetch_one(&mut *tx)
                    .await?
            }
            (None, None, true) => true,
            _ => false,
        };
        if same {
            input.geometry = None;
            prepared = None;
        } else {
            return Err(AppError::Forbidden(format!(
                "moving features of `{}` needs one of the roles: {}",
                layer.id,
                layer
                    .full_editors()
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    if let Some(uid) = viewer.user_id {
        let mut shapes: Vec<String> = Vec::new();
        if let Some(o) = current.as_ref().and_then(|c| c.geometry_hex.clone()) {
            shapes.push(o);
        }
        if let Some(p) = &prepared {
            shapes.push(p.hex.clone());
        }
        let inside: bool = sqlx::query_scalar(include_str!("sql/perimeter.sql"))
            .bind(uid)
            .bind(&shapes)
            .fetch_one(&mut *tx)
            .await?;
        if !inside {
            return Err(AppError::Forbidden(
                "the feature (before or after the change) lies outside your perimeter".into(),
            ));
        }
    }

    if op != Op::Delete {
        // Required attributes: absent on a new feature, or cleared.
        for a in &layer.attributes {
            let Some(col) = columns.get(&a.name) else { continue };
            if !validate::required(col) {
                continue;
            }
            let missing = match input.props.get(&a.name) {
                Some(v) => v.is_null(),
                None => op == Op::Create,
            };
            if missing && !errors.iter().any(|e| e.field == a.name) {
                errors.push(FieldError::new(a.name.clone(), "is required"));
            }
        }
        if op == Op::Create
            && input.geometry.as_ref().is_none_or(Value::is_null)
            && columns.get(&layer.geometry.column).is_some_and(validate::required)
            && !errors.iter().any(|e| e.field == "geometry")
        {
            errors.push(FieldError::new("geometry", "is required"));
        }
        // The table's rules on the row as it would be, leaving out values
        // already found wrong (so one answer lists every failing field).
        {
            let bad: BTreeSet<String> = errors.iter().map(|e| e.field.clone()).collect();
            let mut candidate = current.as_ref().map(|c| c.row.clone()).unwrap_or_default();
            for (k, v) in &input.props {
                if !bad.contains(k) && layer.attribute(k).is_some() {
                    candidate.insert(k.clone(), v.clone());
                }
            }
            let geometry_hex = match &prepared {
                Some(p) => Some(p.hex.clone()),
                None if input.geometry.is_some() => None,
                None => current.as_ref().and_then(|c| c.geometry_hex.clone()),
            };
            if layer.has_geometry() {
                candidate.insert(
                    layer.geometry.column.clone(),
                    geometry_hex.map(Value::String).unwrap_or(Value::Null),
                );
            }
            let mut changed: BTreeSet<String> = input.props.keys().filter(|k| !bad.contains(*k)).cloned().collect();
            if input.geometry.is_some() {
                changed.insert(layer.geometry.column.clone());
            }
            let candidate = Value::Object(candidate);
            errors.extend(validate::table_rules(&mut tx, layer, &candidate, fid, &changed).await?);
            if layer.table() == "land_plots"
                && let Some(p) = &prepared
            {
                let ids: Vec<i64> = sqlx::query_scalar(include_str!("sql/overlap.sql"))
                    .bind(&p.hex)
                    .bind(fid)
                    .bind(OVERLAP_TOLERANCE_M2)
                    .fetch_all(&mut *tx)
                    .await?;
                if !ids.is_empty() {
                    errors.push(FieldError::new(
                        "geometry",
                        format!(
                            "overlaps live land plots by more than {OVERLAP_TOLERANCE_M2} m²: {}",
                            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }

    // The write itself, on the version just checked.
    let g = if layer.has_geometry() {
        ident(&layer.geometry.column)
    } else {
        "NULL::geometry".to_string()
    };
    let returning = format!(
        " RETURNING {}::int8, version, ST_XMin({g}), ST_YMin({g}), ST_XMax({g}), ST_YMax({g})",
        ident(&layer.id_column)
    );
    let mut set_columns: Vec<String> = input.props.keys().cloned().collect();
    let mut record = input.props.clone();
    if input.geometry.is_some() {
        set_columns.push(layer.geometry.column.clone());
        record.insert(
            layer.geometry.column.clone(),
            prepared
                .as_ref()
                .map(|p| Value::String(p.hex.clone()))
                .unwrap_or(Value::Null),
        );
    }
    let quoted: Vec<String> = set_columns.iter().map(|c| ident(c)).collect();
    let selected: Vec<String> = set_columns.iter().map(|c| format!("r.{}", ident(c))).collect();
    let mut qb = QueryBuilder::new("");
    match (op, &current) {
        (Op::Create, _) => {
            qb.push(format!(
                "INSERT INTO {} ({}) SELECT {} FROM jsonb_populate_record(NULL::{}, ",
                ident(layer.table()),
                quoted.join(", "),
                selected.join(", "),
                ident(layer.table())
            ));
            qb.push_bind(Value::Object(record.clone()));
            qb.push(") AS r");
        }
        (_, Some(_)) => {
            qb.push(format!("UPDATE {} t SET ", ident(layer.table())));
            let mut parts = Vec::new();
            if !set_columns.is_empty() {
                parts.push(format!(
                    "({}) = (SELECT {} FROM jsonb_populate_record(NULL::{}, $1) AS r)",
                    quoted.join(", "),
                    selected.join(", "),
                    ident(layer.table())
                ));
            }
            match op {
                Op::Delete => parts.push("deleted_at = now()".into()),
                Op::Restore => parts.push("deleted_at = NULL".into()),
                // An empty change still makes a version (the client asked).
                _ if set_columns.is_empty() => parts.push("updated_at = now()".into()),
                _ => {}
            }
            qb.push(parts.join(", "));
            // $1 (the record) is bound even when unused: placeholders stay fixed.
            qb.push(format!(" WHERE t.{} = $2 AND t.version = $3", ident(&layer.id_column)));
        }
        (_, None) => return Err(AppError::Internal(anyhow::anyhow!("a write without a feature"))),
    }
    qb.push(returning);
    let mut query = qb.build();
    if op != Op::Create {
        query = query
            .bind(Value::Object(record))
            .bind(fid)
            .bind(current.as_ref().map(|c| c.version));
    }
    let row = match query.fetch_optional(&mut *tx).await {
        Ok(Some(row)) => row,
        Ok(None) => {
            return Err(AppError::PreconditionFailed(
                "the feature changed while this write ran; GET it again".into(),
            ));
        }
        Err(e) => return Err(validate::value_error(e)),
    };
    let id: i64 = row.try_get(0)?;
    let version: i32 = row.try_get(1)?;
    let new_bbox = match (
        row.try_get::<Option<f64>, _>(2)?,
        row.try_get::<Option<f64>, _>(3)?,
        row.try_get::<Option<f64>, _>(4)?,
        row.try_get::<Option<f64>, _>(5)?,
    ) {
        (Some(a), Some(b), Some(c), Some(d)) => Some(Bbox::new(a, b, c, d)),
        _ => None,
    };
    tx.commit().await.map_err(validate::value_error)?;
    // Before answering: a client that reloads tiles after the 2xx sees the change.
    let old_bbox = current.as_ref().and_then(|c| c.bbox);
    state.tiles.invalidate(&layer.id, old_bbox, new_bbox);
    tracing::info!(layer = %layer.id, id, version, op = ?op, actor = viewer.actor.as_deref().unwrap_or(""), "feature written");
    Ok(Written {
        id,
        version,
        repaired: prepared.and_then(|p| p.repaired),
    })
}

/// The feature as `GET` shows it to the viewer, with status, `ETag` and
/// (after a repair) `Geometry-Repaired`.
async fn answer(
    state: AppState,
    viewer: Viewer,
    layer: &Layer,
    written: Written,
    status: StatusCode,
) -> AppResult<Response> {
    let url = format!("{}/collections/{}/items/{}", base(&state), layer.id, written.id);
    let shown = super::items::item(
        State(state),
        viewer,
        HeaderMap::new(),
        Path((layer.id.clone(), written.id.to_string())),
        RawQuery(None),
    )
    .await;
    let mut response = match shown {
        Ok(r) => r,
        // Written but not visible to its writer (row rules): no body.
        Err(_) => StatusCode::NO_CONTENT.into_response(),
    };
    if response.status() == StatusCode::OK {
        *response.status_mut() = status;
    }
    let h = response.headers_mut();
    h.insert(header::ETAG, header_value(&etag(written.version))?);
    if status == StatusCode::CREATED {
        h.insert(header::LOCATION, header_value(&url)?);
    }
    if let Some(reason) = &written.repaired {
        h.insert(
            GEOMETRY_REPAIRED.clone(),
            header_value(&format!("ST_MakeValid: {}", reason.replace(['\r', '\n'], " ")))?,
        );
    }
    Ok(response)
}

fn header_value(text: &str) -> AppResult<HeaderValue> {
    HeaderValue::from_str(text).map_err(|e| AppError::Internal(anyhow::anyhow!("header value: {e}")))
}

fn parse_fid(collection: &str, feature: &str) -> AppResult<i64> {
    feature.parse().map_err(|_| {
        OgcError::NoFeature {
            collection: collection.to_string(),
            feature: feature.to_string(),
        }
        .into()
    })
}

/// 401 before anything else for anonymous writers, then the layer.
fn editable_layer(state: &AppState, viewer: &Viewer, collection_id: &str) -> AppResult<Arc<Layer>> {
    if viewer.is_anonymous() {
        return Err(AppError::Unauthorized("editing needs you to sign in".into()));
    }
    Ok(visible_layer(state, viewer, collection_id)?)
}

/// 415 for a body in a media type we do not read; a missing type is taken
/// as JSON.
fn check_media_type(headers: &HeaderMap, accepted: &[&str]) -> Option<Response> {
    let given = headers.get(header::CONTENT_TYPE)?.to_str().unwrap_or("");
    let essence = given.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if accepted.contains(&essence.as_str()) {
        return None;
    }
    Some(
        crate::error::Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some(format!("send {} (got `{given}`)", accepted.join(" or "))),
        )
        .into_response(),
    )
}

const FEATURE_TYPES: &[&str] = &["application/geo+json", "application/json"];
const PATCH_TYPES: &[&str] = &["application/merge-patch+json", "application/json"];

fn write_params(q: Option<&str>) -> AppResult<Params> {
    let params = Params::parse(q)?;
    params.only(&["crs", "repair"], |_| false)?;
    Ok(params)
}

/// Create a feature.
#[utoipa::path(post, path = "/ogc/collections/{collectionId}/items", tag = "OGC API Features",
    params(
        ("collectionId" = String, Path, description = "Layer id"),
        ("crs" = Option<String>, Query, description = "CRS of the body's geometry (or header Content-Crs); default CRS84"),
        ("repair" = Option<bool>, Query, description = "true: repair an invalid geometry with ST_MakeValid (said in header Geometry-Repaired)"),
    ),
    request_body(content = String, content_type = "application/geo+json", description = "A GeoJSON Feature"),
    responses(
        (status = 201, description = "Created: Location and ETag headers, the feature as stored", content_type = "application/geo+json"),
        (status = 400, description = "Not a GeoJSON Feature, unknown parameter or CRS", content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", content_type = "application/problem+json"),
        (status = 403, description = "The roles may not create features here or write these attributes; outside the perimeter", content_type = "application/problem+json"),
        (status = 422, description = "Invalid: `errors` lists every failing field", content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(collection_id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> AppResult<Response> {
    let layer = editable_layer(&state, &viewer, &collection_id)?;
    let params = write_params(q.as_deref())?;
    if let Some(refusal) = check_media_type(&headers, FEATURE_TYPES) {
        return Ok(refusal);
    }
    let input = feature_input(&body, false)?;
    let written = write(&state, &viewer, &layer, Op::Create, None, &headers, &params, input).await?;
    answer(state, viewer, &layer, written, StatusCode::CREATED).await
}

/// Replace a feature.
#[utoipa::path(put, path = "/ogc/collections/{collectionId}/items/{featureId}", tag = "OGC API Features",
    params(
        ("collectionId" = String, Path, description = "Layer id"),
        ("featureId" = i64, Path, description = "Feature id"),
        ("If-Match" = String, Header, description = "The ETag of the version being replaced"),
        ("crs" = Option<String>, Query, description = "CRS of the body's geometry (or header Content-Crs); default CRS84"),
        ("repair" = Option<bool>, Query, description = "true: repair an invalid geometry with ST_MakeValid"),
    ),
    request_body(content = String, content_type = "application/geo+json", description = "A GeoJSON Feature: the attributes you may edit that it omits are cleared"),
    responses(
        (status = 200, description = "Replaced: the new ETag and the feature", content_type = "application/geo+json"),
        (status = 401, description = "Not signed in", content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", content_type = "application/problem+json"),
        (status = 404, description = "No such feature", content_type = "application/problem+json"),
        (status = 412, description = "If-Match names an older version", content_type = "application/problem+json"),
        (status = 422, description = "Invalid: `errors` lists every failing field", content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", content_type = "application/problem+json"),
    ))]
pub async fn replace(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((collection_id, feature_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> AppResult<Response> {
    let layer = editable_layer(&state, &viewer, &collection_id)?;
    let fid = parse_fid(&collection_id, &feature_id)?;
    let params = write_params(q.as_deref())?;
    if let Some(refusal) = check_media_type(&headers, FEATURE_TYPES) {
        return Ok(refusal);
    }
    let input = feature_input(&body, false)?;
    let written = write(
        &state,
        &viewer,
        &layer,
        Op::Replace,
        Some(fid),
        &headers,
        &params,
        input,
    )
    .await?;
    answer(state, viewer, &layer, written, StatusCode::OK).await
}

/// Update a feature with a JSON merge patch (RFC 7396).
#[utoipa::path(patch, path = "/ogc/collections/{collectionId}/items/{featureId}", tag = "OGC API Features",
    params(
        ("collectionId" = String, Path, description = "Layer id"),
        ("featureId" = i64, Path, description = "Feature id"),
        ("If-Match" = String, Header, description = "The ETag of the version being changed"),
        ("crs" = Option<String>, Query, description = "CRS of a geometry in the patch; default CRS84"),
        ("repair" = Option<bool>, Query, description = "true: repair an invalid geometry with ST_MakeValid"),
    ),
    request_body(content = String, content_type = "application/merge-patch+json", description = "`properties` to set (null clears) and optionally a new `geometry`"),
    responses(
        (status = 200, description = "Updated: the new ETag and the feature", content_type = "application/geo+json"),
        (status = 401, description = "Not signed in", content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", content_type = "application/problem+json"),
        (status = 404, description = "No such feature", content_type = "application/problem+json"),
        (status = 412, description = "If-Match names an older version", content_type = "application/problem+json"),
        (status = 422, description = "Invalid: `errors` lists every failing field", content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", content_type = "application/problem+json"),
    ))]
pub async fn patch(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((collection_id, feature_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> AppResult<Response> {
    let layer = editable_layer(&state, &viewer, &collection_id)?;
    let fid = parse_fid(&collection_id, &feature_id)?;
    let params = write_params(q.as_deref())?;
    if let Some(refusal) = check_media_type(&headers, PATCH_TYPES) {
        return Ok(refusal);
    }
    let input = feature_input(&body, true)?;
    let written = write(&state, &viewer, &layer, Op::Patch, Some(fid), &headers, &params, input).await?;
    answer(state, viewer, &layer, written, StatusCode::OK).await
}

/// Delete a feature (soft: it stays in history and can be restored).
#[utoipa::path(delete, path = "/ogc/collections/{collectionId}/items/{featureId}", tag = "OGC API Features",
    params(
        ("collectionId" = String, Path, description = "Layer id"),
        ("featureId" = i64, Path, description = "Feature id"),
        ("If-Match" = String, Header, description = "The ETag of the version being deleted"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", content_type = "application/problem+json"),
        (status = 404, description = "No such feature", content_type = "application/problem+json"),
        (status = 412, description = "If-Match names an older version", content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((collection_id, feature_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> AppResult<Response> {
    let layer = editable_layer(&state, &viewer, &collection_id)?;
    let fid = parse_fid(&collection_id, &feature_id)?;
    let params = Params::parse(q.as_deref())?;
    params.only(&[], |_| false)?;
    write(
        &state,
        &viewer,
        &layer,
        Op::Delete,
        Some(fid),
        &headers,
        &params,
        Input::default(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Restore an earlier version of a feature (itself a new version; also
/// brings back a deleted feature).
#[utoipa::path(post, path = "/ogc/collections/{collectionId}/items/{featureId}/versions/{version}/restore", tag = "OGC API Features",
    params(
        ("collectionId" = String, Path, description = "Layer id"),
        ("featureId" = i64, Path, description = "Feature id"),
        ("version" = i32, Path, description = "The version to bring back"),
        ("If-Match" = String, Header, description = "The ETag of the current version"),
    ),
    responses(
        (status = 200, description = "Restored as a new version: the new ETag and the feature", content_type = "application/geo+json"),
        (status = 401, description = "Not signed in", content_type = "application/problem+json"),
        (status = 403, description = "Not a full editor of the layer", content_type = "application/problem+json"),
        (status = 404, description = "No such feature or version", content_type = "application/problem+json"),
        (status = 412, description = "If-Match names an older version", content_type = "application/problem+json"),
        (status = 422, description = "The old version breaks today's rules (e.g. its number is taken)", content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", content_type = "application/problem+json"),
    ))]
pub async fn restore(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((collection_id, feature_id, version)): Path<(String, String, i32)>,
) -> AppResult<Response> {
    let layer = editable_layer(&state, &viewer, &collection_id)?;
    let fid = parse_fid(&collection_id, &feature_id)?;
    let old = history::version_row(&state.pool, &layer, fid, version)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("feature {fid} of `{collection_id}` has no version {version}")))?;
    // What the viewer may edit comes back; geometry too (full editors only).
    let props: Map<String, Value> = layer
        .editable_attributes(&viewer.roles)
        .map(|a| (a.name.clone(), old.get(&a.name).cloned().unwrap_or(Value::Null)))
        .collect();
    let input = Input {
        props,
        geometry: Some(old.get(&layer.geometry.column).cloned().unwrap_or(Value::Null)),
    };
    let params = Params::default();
    let written = write(
        &state,
        &viewer,
        &layer,
        Op::Restore,
        Some(fid),
        &headers,
        &params,
        input,
    )
    .await?;
    answer(state, viewer, &layer, written, StatusCode::OK).await
}

fn allow(methods: &str, extra: &[(HeaderName, &'static str)]) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(
        header::ALLOW,
        HeaderValue::from_str(methods).unwrap_or(HeaderValue::from_static("GET")),
    );
    for (name, value) in extra {
        h.insert(name.clone(), HeaderValue::from_static(value));
    }
    response
}

/// The methods of the items resource.
#[utoipa::path(options, path = "/ogc/collections/{collectionId}/items", tag = "OGC API Features",
    params(("collectionId" = String, Path, description = "Layer id")),
    responses((status = 204, description = "Headers Allow and Accept-Post")))]
pub async fn options_items(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(collection_id): Path<String>,
) -> AppResult<Response> {
    let layer = visible_layer(&state, &viewer, &collection_id)?;
    Ok(if layer.editors().is_empty() {
        allow("GET, HEAD, OPTIONS", &[])
    } else {
        allow(
            "GET, HEAD, POST, OPTIONS",
            &[(HeaderName::from_static("accept-post"), ACCEPT_POST)],
        )
    })
}

/// The methods of one feature.
#[utoipa::path(options, path = "/ogc/collections/{collectionId}/items/{featureId}", tag = "OGC API Features",
    params(
        ("collectionId" = String, Path, description = "Layer id"),
        ("featureId" = i64, Path, description = "Feature id"),
    ),
    responses((status = 204, description = "Headers Allow and Accept-Patch")))]
pub async fn options_item(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((collection_id, _feature_id)): Path<(String, String)>,
) -> AppResult<Response> {
    let layer = visible_layer(&state, &viewer, &collection_id)?;
    Ok(if layer.editors().is_empty() {
        allow("GET, HEAD, OPTIONS", &[])
    } else {
        allow(
            "GET, HEAD, PUT, PATCH, DELETE, OPTIONS",
            &[(HeaderName::from_static("accept-patch"), ACCEPT_PATCH)],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn positions_are_counted_in_every_geometry_type() {
        assert_eq!(positions(&json!({"type": "Point", "coordinates": [1, 2]}), 10), 1);
        let square = json!([[0, 0], [1, 0], [1, 1], [0, 0]]);
        assert_eq!(
            positions(&json!({"type": "Polygon", "coordinates": [square, square]}), 100),
            8
        );
        assert_eq!(
            positions(
                &json!({"type": "MultiPolygon", "coordinates": [[square], [square, square]]}),
                100
            ),
            12
        );
        let gc = json!({"type": "GeometryCollection", "geometries": [
            {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
            {"type": "Point", "coordinates": [0, 0]}]});
        assert_eq!(positions(&gc, 100), 3);
        // counting stops soon after the limit
        let long: Vec<Value> = (0..1000).map(|i| json!([i, i])).collect();
        let n = positions(&json!({"type": "LineString", "coordinates": long}), 10);
        assert!(n > 10 && n <= 1000);
    }
}
