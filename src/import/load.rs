//! Mapping, coercion and the all-or-nothing load.
//!
//! Every row is checked in Rust first (types, code lists, required fields),
//! then inside its own SAVEPOINT by PostGIS (geometry parse, reprojection,
//! validity, type, city boundary, the editor's perimeter) and by the
//! table's own constraints on insert. A failing row is rolled back to its
//! savepoint and reported; at the end the transaction commits only if no
//! row failed and this is not a dry run. The rows are registered as one
//! import batch: the history trigger skips per-row entries and one
//! `bulk_load` history entry names the batch instead (as the demo loader).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeZone};
use indicatif::ProgressBar;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgDatabaseError;
use sqlx::{PgConnection, PgPool, Row};

use super::formats::{self, Parsed};
use super::{Crs, Field, Format, Geom, ImportError, Options, Rejection, Report, Target};
use crate::registry::model::{AttrType, GeometryType};

/// Who imports: the actor named in history and the user whose perimeter
/// applies (None for API keys and the CLI).
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub user_id: Option<i64>,
}

/// The format of `bytes`: asked for, else by media type, file name, content.
pub fn detect_format(options: &Options, content_type: Option<&str>, bytes: &[u8]) -> Format {
    options
        .format
        .or_else(|| content_type.and_then(Format::from_media_type))
        .or_else(|| Format::from_file_name(&options.source_name))
        .unwrap_or_else(|| Format::sniff(bytes))
}

/// Reads, checks and loads `bytes` into `target`. `Ok` means the rows were
/// written (or, in a dry run, would be); any rejected row gives
/// `Err(ImportError::Rejected)` with the full report and writes nothing.
pub async fn run(
    pool: &PgPool,
    target: &Target,
    bytes: Vec<u8>,
    content_type: Option<&str>,
    options: &Options,
    actor: &Actor,
    progress: &ProgressBar,
) -> Result<Report, ImportError> {
    let format = detect_format(options, content_type, &bytes);
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let parsed = {
        let options = options.clone();
        tokio::task::spawn_blocking(move || formats::read(format, &bytes, &options))
            .await
            .map_err(|e| ImportError::BadFile(format!("the reader stopped: {e}")))??
    };
    let rows = parsed_rows(parsed, target, format, &sha256, options, pool, actor, progress).await?;
    Ok(rows)
}

/// Loads rows that came from somewhere other than a file (the meter API).
pub async fn run_rows(
    pool: &PgPool,
    target: &Target,
    parsed: Parsed,
    options: &Options,
    actor: &Actor,
) -> Result<Report, ImportError> {
    let body = serde_json::to_vec(&parsed.rows.iter().map(|r| &r.props).collect::<Vec<_>>()).unwrap_or_default();
    let sha256 = hex::encode(Sha256::digest(&body));
    parsed_rows(
        parsed,
        target,
        Format::GeoJson,
        &sha256,
        options,
        pool,
        actor,
        &ProgressBar::hidden(),
    )
    .await
    .map(|mut r| {
        r.format = "json".into();
        r
    })
}

#[allow(clippy::too_many_arguments)]
async fn parsed_rows(
    parsed: Parsed,
    target: &Target,
    format: Format,
    sha256: &str,
    options: &Options,
    pool: &PgPool,
    actor: &Actor,
    progress: &ProgressBar,
) -> Result<Report, ImportError> {
    let mut report = Report {
        target: target.id.clone(),
        format: format.as_str().into(),
        source: options.source_name.clone(),
        sha256: sha256.to_string(),
        dry_run: options.dry_run,
        rows_read: parsed.rows.len(),
        ..Report::default()
    };
    let crs = if target.geometry.is_some() {
        let crs = resolve_crs(pool, options, &parsed).await?;
        report.crs = Some(crs.label());
        Some(crs)
    } else {
        None
    };
    let plan = Plan::new(target, &parsed.columns, options)?;
    report.columns = plan.columns.clone();
    report.ignored_columns = plan.ignored.clone();
    if parsed.rows.is_empty() {
        return Err(ImportError::BadFile("the file holds no rows".into()));
    }

    let mut tx = pool.begin().await?;
    // An import is bounded by its size, not by the request pool's statement_timeout.
    sqlx::query("SELECT set_config('geoportal.actor', $1, true), set_config('statement_timeout', '0', true)")
        .bind(&actor.name)
        .execute(&mut *tx)
        .await?;
    let required: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 AND is_nullable = 'NO' AND column_default IS NULL",
    )
    .bind(&target.table)
    .fetch_all(&mut *tx)
    .await?;
    let batch_id: i64 = sqlx::query_scalar(
        "INSERT INTO import_batches (actor, source, source_sha256) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(&actor.name)
    .bind(format!("{}:{}", target.id, options.source_name))
    .bind(sha256)
    .fetch_one(&mut *tx)
    .await?;
    // Transaction-local: the history trigger skips per-row entries for this batch.
    sqlx::query("SELECT set_config('geoportal.batch_id', $1, true)")
        .bind(batch_id.to_string())
        .execute(&mut *tx)
        .await?;
    let city_known: bool = if target.geometry.is_some() {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM city_boundary WHERE deleted_at IS NULL)")
            .fetch_one(&mut *tx)
            .await?
    } else {
        false
    };

    progress.set_length(parsed.rows.len() as u64);
    let mut bbox: Option<[f64; 4]> = None;
    let mut imported = 0usize;
    for row in parsed.rows {
        progress.inc(1);
        // Readers call the geometry "geometry"; the report names the column.
        let mut rejections: Vec<Rejection> = row
            .issues
            .iter()
            .map(|(f, m)| Rejection {
                row: row.number,
                field: Some(match &target.geometry {
                    Some((col, _)) if f == "geometry" => col.clone(),
                    _ => f.clone(),
                }),
                message: m.clone(),
            })
            .collect();
        let mut values = plan.values(&row.props, row.number, &mut rejections);
        resolve_lookups(
            &mut tx,
            target,
            &plan,
            &row.props,
            &mut values,
            row.number,
            &mut rejections,
        )
        .await?;
        for name in &required {
            let is_geom = target.geometry.as_ref().is_some_and(|(c, _)| c == name);
            let missing = if is_geom {
                row.geom.is_none()
            } else {
                !values.contains_key(name)
            };
            let already = rejections.iter().any(|r| r.field.as_deref() == Some(name.as_str()));
            if missing && !already && (is_geom || target.fields.iter().any(|f| &f.name == name)) {
                rejections.push(Rejection {
                    row: row.number,
                    field: Some(name.clone()),
                    message: "required".into(),
                });
            }
        }
        if !rejections.is_empty() {
            report.rejected.extend(rejections);
            continue;
        }
        sqlx::query("SAVEPOINT import_row").execute(&mut *tx).await?;
        let outcome = insert_row(
            &mut tx,
            target,
            crs.as_ref(),
            city_known,
            actor.user_id,
            &values,
            row.geom.as_ref(),
        )
        .await;
        match outcome {
            Ok(Ok(extent)) => {
                sqlx::query("RELEASE SAVEPOINT import_row").execute(&mut *tx).await?;
                imported += 1;
                if let Some(e) = extent {
                    bbox = Some(match bbox {
                        None => e,
                        Some(b) => [b[0].min(e[0]), b[1].min(e[1]), b[2].max(e[2]), b[3].max(e[3])],
                    });
                }
            }
            Ok(Err((field, message))) => {
                sqlx::query("ROLLBACK TO SAVEPOINT import_row")
                    .execute(&mut *tx)
                    .await?;
                report.rejected.push(Rejection {
                    row: row.number,
                    field,
                    message,
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    report.rows_imported = imported;
    report.bbox = bbox;
    if !report.rejected.is_empty() {
        tx.rollback().await?;
        return Err(ImportError::Rejected(Box::new(report)));
    }
    if options.dry_run {
        tx.rollback().await?;
        return Ok(report);
    }
    sqlx::query(
        "INSERT INTO history (table_name, actor, operation, new_row, batch_id) \
         VALUES ($1, $2, 'bulk_load', jsonb_build_object('rows', $3::bigint, 'source', $4::text, \
         'sha256', $5::text, 'format', $6::text), $7)",
    )
    .bind(&target.table)
    .bind(&actor.name)
    .bind(imported as i64)
    .bind(&options.source_name)
    .bind(sha256)
    .bind(format.as_str())
    .bind(batch_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE import_batches SET finished_at = clock_timestamp(), row_counts = jsonb_build_object($2::text, $3::bigint) \
         WHERE id = $1",
    )
    .bind(batch_id)
    .bind(&target.table)
    .bind(imported as i64)
    .execute(&mut *tx)
    .await?;
    sqlx::query("SELECT set_config('geoportal.batch_id', '', true)")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    report.committed = true;
    report.batch_id = Some(batch_id);
    tracing::info!(
        target = %target.id,
        batch_id,
        rows = imported,
        actor = %actor.name,
        "import committed"
    );
    Ok(report)
}

/// The CRS of the file's coordinates: asked for, named by the file, or
/// recognised from a `.prj`; lon/lat WGS 84 otherwise.
async fn resolve_crs(pool: &PgPool, options: &Options, parsed: &Parsed) -> Result<Crs, ImportError> {
    let crs = match (&options.crs, &parsed.crs, &parsed.prj) {
        (Some(c), _, _) => c.clone(),
        (None, Some(c), _) => c.clone(),
        (None, None, Some(prj)) => recognise_prj(pool, prj).await?.ok_or_else(|| {
            ImportError::BadRequest(format!(
                "the .prj names a coordinate system that is not recognised ({}); give crs=EPSG:…",
                prj_name(prj).unwrap_or("no name")
            ))
        })?,
        (None, None, None) => match &parsed.crs_needed {
            Some(why) => return Err(ImportError::BadRequest(why.clone())),
            None => Crs::Epsg(4326),
        },
    };
    match &crs {
        Crs::Epsg(code) => {
            let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM spatial_ref_sys WHERE srid = $1)")
                .bind(code)
                .fetch_one(pool)
                .await?;
            if !known {
                return Err(ImportError::BadRequest(format!(
                    "EPSG:{code} is not a known coordinate system"
                )));
            }
        }
        Crs::Proj(text) => {
            let ok = sqlx::query("SELECT ST_Transform(ST_MakePoint(300000, 5500000), $1::text, 4326)")
                .bind(text)
                .execute(pool)
                .await;
            if let Err(e) = ok {
                return Err(ImportError::BadRequest(format!(
                    "PROJ cannot use crs `{text}`: {}",
                    db_message(&e)
                )));
            }
        }
    }
    Ok(crs)
}

/// `PROJCS["UCS-2000 / Ukraine TM zone 10",…` → the quoted name.
fn prj_name(prj: &str) -> Option<&str> {
    let start = prj.find("[\"")? + 2;
    let len = prj[start..].find('"')?;
    Some(&prj[start..start + len])
}

/// Matches a `.prj`'s name against `spatial_ref_sys`, ignoring punctuation
/// (ESRI writes `UCS-2000_Ukraine_TM_zone_10` for EPSG's
/// `UCS-2000 / Ukraine TM zone 10`).
async fn recognise_prj(pool: &PgPool, prj: &str) -> Result<Option<Crs>, ImportError> {
    let Some(name) = prj_name(prj) else {
        return Ok(None);
    };
    let norm = |s: &str| -> String {
        s.to_ascii_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("_")
    };
    let key = norm(name);
    if prj.trim_start().starts_with("GEOGCS") && (key == "gcs_wgs_1984" || key == "wgs_84") {
        return Ok(Some(Crs::Epsg(4326)));
    }
    let srid: Option<i32> = sqlx::query_scalar(
        "SELECT srid FROM spatial_ref_sys WHERE auth_name = 'EPSG' AND \
         trim(both '_' from regexp_replace(lower(substring(srtext from '^[A-Z]+\\[\"([^\"]+)\"')), '[^a-z0-9]+', '_', 'g')) = $1 \
         ORDER BY srid LIMIT 1",
    )
    .bind(&key)
    .fetch_optional(pool)
    .await?;
    Ok(srid.map(Crs::Epsg))
}

/// How file columns become fields.
struct Plan<'a> {
    target: &'a Target,
    /// File column → field (or lookup column).
    columns: BTreeMap<String, String>,
    ignored: Vec<String>,
    defaults: serde_json::Map<String, Value>,
}

impl<'a> Plan<'a> {
    fn new(target: &'a Target, file_columns: &[String], options: &Options) -> Result<Plan<'a>, ImportError> {
        let known = |name: &str| -> Option<String> {
            target
                .fields
                .iter()
                .map(|f| f.name.as_str())
                .chain(target.lookups.iter().map(|l| l.column))
                .find(|f| f.eq_ignore_ascii_case(name.trim()))
                .map(str::to_string)
        };
        let mut columns = BTreeMap::new();
        let mut ignored = Vec::new();
        for (file_col, field) in &options.mapping {
            let f = known(field).ok_or_else(|| {
                ImportError::BadRequest(format!(
                    "the mapping sends `{file_col}` to `{field}`, which is not a field you may import into {} \
                     (fields: {})",
                    target.id,
                    field_list(target)
                ))
            })?;
            if !file_columns.iter().any(|c| c == file_col) {
                return Err(ImportError::BadRequest(format!(
                    "the mapping names the column `{file_col}`, which the file does not have"
                )));
            }
            columns.insert(file_col.clone(), f);
        }
        for c in file_columns {
            if columns.contains_key(c) {
                continue;
            }
            match known(c) {
                Some(f) if !options.mapping.values().any(|v| v.eq_ignore_ascii_case(&f)) => {
                    columns.insert(c.clone(), f);
                }
                _ => ignored.push(c.clone()),
            }
        }
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (c, f) in &columns {
            if let Some(other) = seen.insert(f.as_str(), c.as_str()) {
                return Err(ImportError::BadRequest(format!(
                    "both `{other}` and `{c}` map to `{f}`; map one of them elsewhere"
                )));
            }
        }
        let mut defaults = serde_json::Map::new();
        for (k, v) in &options.defaults {
            let f = known(k).ok_or_else(|| {
                ImportError::BadRequest(format!(
                    "`defaults` names `{k}`, which is not a field you may import into {} (fields: {})",
                    target.id,
                    field_list(target)
                ))
            })?;
            defaults.insert(f, v.clone());
        }
        if columns.is_empty() && defaults.is_empty() && target.geometry.is_none() {
            return Err(ImportError::BadRequest(format!(
                "no column of the file matches a field of {} (fields: {}); send a mapping",
                target.id,
                field_list(target)
            )));
        }
        Ok(Plan {
            target,
            columns,
            ignored,
            defaults,
        })
    }

    /// The row's coerced values by field (nulls left out); problems go to
    /// `rejections`.
    fn values(
        &self,
        props: &serde_json::Map<String, Value>,
        row: usize,
        rejections: &mut Vec<Rejection>,
    ) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        let mut raw: BTreeMap<&str, &Value> = BTreeMap::new();
        for (c, f) in &self.columns {
            if let Some(v) = props.get(c).filter(|v| !v.is_null()) {
                raw.insert(f.as_str(), v);
            }
        }
        for (f, v) in &self.defaults {
            raw.entry(f.as_str()).or_insert(v);
        }
        for field in &self.target.fields {
            let Some(v) = raw.get(field.name.as_str()) else {
                if field.required && !self.target.lookups.iter().any(|l| l.field == field.name) {
                    rejections.push(Rejection {
                        row,
                        field: Some(field.name.clone()),
                        message: "required".into(),
                    });
                }
                continue;
            };
            match coerce(field, v) {
                Ok(Value::Null) if field.required => rejections.push(Rejection {
                    row,
                    field: Some(field.name.clone()),
                    message: "required".into(),
                }),
                Ok(Value::Null) => {}
                Ok(v) => {
                    out.insert(field.name.clone(), v);
                }
                Err(message) => rejections.push(Rejection {
                    row,
                    field: Some(field.name.clone()),
                    message,
                }),
            }
        }
        out
    }
}

fn field_list(target: &Target) -> String {
    target
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .chain(target.lookups.iter().map(|l| l.column))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Resolves lookup columns (a lease's contract number → `lease_id`) for
/// fields the row does not set directly.
async fn resolve_lookups(
    conn: &mut PgConnection,
    target: &Target,
    plan: &Plan<'_>,
    props: &serde_json::Map<String, Value>,
    values: &mut BTreeMap<String, Value>,
    row: usize,
    rejections: &mut Vec<Rejection>,
) -> Result<(), ImportError> {
    for lookup in &target.lookups {
        let key = plan
            .columns
            .iter()
            .find(|(_, f)| f.as_str() == lookup.column)
            .and_then(|(c, _)| props.get(c))
            .or_else(|| plan.defaults.get(lookup.column))
            .and_then(|v| match v {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty());
        let Some(key) = key else { continue };
        if values.contains_key(lookup.field) {
            continue;
        }
        let ids: Vec<i64> = sqlx::query_scalar(lookup.sql).bind(&key).fetch_all(&mut *conn).await?;
        match ids.as_slice() {
            [id] => {
                values.insert(lookup.field.to_string(), Value::from(*id));
            }
            [] => rejections.push(Rejection {
                row,
                field: Some(lookup.column.to_string()),
                message: format!("no live {} `{key}`", lookup.what),
            }),
            _ => rejections.push(Rejection {
                row,
                field: Some(lookup.column.to_string()),
                message: format!("more than one live {} `{key}`", lookup.what),
            }),
        }
    }
    Ok(())
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// One row's (field, message) when the database refuses it.
type RowRefusal = (Option<String>, String);

/// Prepares the geometry and inserts the row inside the caller's savepoint.
/// The outer `Err` is a failure of the connection, not of the row.
#[allow(clippy::too_many_arguments)]
async fn insert_row(
    conn: &mut PgConnection,
    target: &Target,
    crs: Option<&Crs>,
    city_known: bool,
    user_id: Option<i64>,
    values: &BTreeMap<String, Value>,
    geom: Option<&Geom>,
) -> Result<Result<Option<[f64; 4]>, RowRefusal>, sqlx::Error> {
    let mut ewkb: Option<Vec<u8>> = None;
    let mut extent = None;
    if let (Some((geom_col, gtype)), Some(g), Some(crs)) = (&target.geometry, geom, crs) {
        match prepare_geometry(conn, g, crs, *gtype, city_known, user_id).await {
            Ok(Ok((bytes, e))) => {
                ewkb = Some(bytes);
                extent = Some(e);
            }
            Ok(Err(message)) => return Ok(Err((Some(geom_col.clone()), message))),
            Err(e) if is_row_error(&e) => return Ok(Err((Some(geom_col.clone()), db_message(&e)))),
            Err(e) => return Err(e),
        }
    }
    let mut columns: Vec<String> = values.keys().map(|k| quote_ident(k)).collect();
    let mut select: Vec<String> = values.keys().map(|k| format!("r.{}", quote_ident(k))).collect();
    if let (Some((geom_col, _)), Some(_)) = (&target.geometry, &ewkb) {
        columns.push(quote_ident(geom_col));
        select.push("ST_GeomFromEWKB($2)".into());
    }
    let table = quote_ident(&target.table);
    let sql = format!(
        "INSERT INTO {table} ({}) SELECT {} FROM jsonb_populate_record(NULL::{table}, $1) r",
        columns.join(", "),
        select.join(", ")
    );
    let record = Value::Object(values.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    let result = sqlx::query(&sql).bind(&record).bind(ewkb).execute(&mut *conn).await;
    match result {
        Ok(_) => Ok(Ok(extent)),
        Err(e) if is_row_error(&e) => Ok(Err((field_of(&e, target), db_message(&e)))),
        Err(e) => Err(e),
    }
}

/// Parses, reprojects and checks one geometry; returns its EWKB in
/// EPSG:4326 and its extent, or why it is refused.
async fn prepare_geometry(
    conn: &mut PgConnection,
    geom: &Geom,
    crs: &Crs,
    gtype: GeometryType,
    city_known: bool,
    user_id: Option<i64>,
) -> Result<Result<(Vec<u8>, [f64; 4]), String>, sqlx::Error> {
    let transform = match crs {
        Crs::Epsg(4326) => "ST_SetSRID(g0, 4326)",
        Crs::Epsg(_) => "ST_Transform(ST_SetSRID(g0, $7::integer), 4326)",
        Crs::Proj(_) => "ST_Transform(ST_SetSRID(g0, 0), $7::text, 4326)",
    };
    let shape = match gtype {
        GeometryType::MultiPoint | GeometryType::MultiLineString | GeometryType::MultiPolygon => "multi",
        GeometryType::Geometry => "any",
        _ => "single",
    };
    let sql = format!(
        "WITH src AS ( \
           SELECT ST_Force2D({transform}) AS g FROM ( \
             SELECT coalesce(ST_GeomFromEWKT($1), ST_GeomFromWKB($2), ST_GeomFromGeoJSON($3)) AS g0) s), \
         shaped AS ( \
           SELECT CASE WHEN $4 = 'multi' THEN ST_Multi(g) \
                       WHEN $4 = 'single' AND GeometryType(g) LIKE 'MULTI%' AND ST_NumGeometries(g) = 1 \
                            THEN ST_GeometryN(g, 1) \
                       ELSE g END AS g FROM src), \
         sized AS (SELECT g, ST_NPoints(g) AS npoints FROM shaped) \
         SELECT s.npoints, c.* FROM sized s LEFT JOIN LATERAL ( \
         SELECT ST_AsEWKB(g) AS ewkb, ST_IsValid(g) AS valid, ST_IsValidReason(g) AS reason, \
                GeometryType(g) AS gtype, \
                (NOT $5 OR EXISTS (SELECT 1 FROM city_boundary b WHERE b.deleted_at IS NULL AND ST_CoveredBy(g, b.geom))) AS in_city, \
                ($6::bigint IS NULL OR coalesce((SELECT u.perimeter IS NULL OR ST_CoveredBy(g, u.perimeter) \
                                                 FROM users u WHERE u.id = $6), true)) AS in_perimeter, \
                ST_XMin(g) AS x0, ST_YMin(g) AS y0, ST_XMax(g) AS x1, ST_YMax(g) AS y1 \
         WHERE s.npoints <= {max} \
         ) c ON true",
        // a one-time filter: an oversized geometry is refused before any
        // validity or containment test spends time on it
        max = crate::ogc::edit::MAX_VERTICES
    );
    let (wkt, wkb, json) = match geom {
        Geom::Wkt(t) => (Some(t.as_str()), None, None),
        Geom::Wkb(b) => (None, Some(b.as_slice()), None),
        Geom::GeoJson(j) => (None, None, Some(j.as_str())),
    };
    let q = sqlx::query(&sql)
        .bind(wkt)
        .bind(wkb)
        .bind(json)
        .bind(shape)
        .bind(city_known)
        .bind(user_id);
    let q = match crs {
        Crs::Epsg(4326) => q,
        Crs::Epsg(c) => q.bind(*c),
        Crs::Proj(p) => q.bind(p.as_str()),
    };
    let row = q.fetch_one(&mut *conn).await?;
    let npoints: Option<i32> = row.try_get("npoints")?;
    if let Some(n) = npoints
        && n as usize > crate::ogc::edit::MAX_VERTICES
    {
        return Ok(Err(format!(
            "too many vertices: {n} (at most {} per feature)",
            crate::ogc::edit::MAX_VERTICES
        )));
    }
    let ewkb: Option<Vec<u8>> = row.try_get("ewkb")?;
    let Some(ewkb) = ewkb else {
        return Ok(Err("no geometry could be read".into()));
    };
    if !row.try_get::<bool, _>("valid")? {
        let reason: Option<String> = row.try_get("reason")?;
        return Ok(Err(format!("invalid geometry: {}", reason.unwrap_or_default())));
    }
    let found: String = row.try_get("gtype")?;
    let expected = gtype.postgis_name();
    if gtype != GeometryType::Geometry && found != expected {
        return Ok(Err(format!("a {found} where the layer holds {expected}")));
    }
    let extent: [f64; 4] = [
        row.try_get("x0")?,
        row.try_get("y0")?,
        row.try_get("x1")?,
        row.try_get("y1")?,
    ];
    if extent[0] < -180.0 || extent[2] > 180.0 || extent[1] < -90.0 || extent[3] > 90.0 {
        return Ok(Err(format!(
            "the coordinates do not become longitude/latitude from {} (is the coordinate system right? give crs=EPSG:…)",
            crs.label()
        )));
    }
    if !row.try_get::<bool, _>("in_city")? {
        return Ok(Err(
            "outside the city boundary (is the coordinate system right? give crs=EPSG:…)".into(),
        ));
    }
    if !row.try_get::<bool, _>("in_perimeter")? {
        return Ok(Err("outside your editing perimeter".into()));
    }
    Ok(Ok((ewkb, extent)))
}

/// Errors that belong to the row (bad data), not to the server.
fn is_row_error(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            // integrity violations, data exceptions, PostGIS's XX000 parse errors
            c.starts_with("23") || c.starts_with("22") || c == "XX000"
        }),
        _ => false,
    }
}

fn db_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => {
            let detail = db
                .try_downcast_ref::<PgDatabaseError>()
                .and_then(|p| p.detail())
                .unwrap_or("");
            if detail.is_empty() {
                db.message().to_string()
            } else {
                format!("{} ({detail})", db.message())
            }
        }
        other => other.to_string(),
    }
}

/// The field a constraint violation is about: the column PostgreSQL names,
/// else the longest field name within the constraint's name.
fn field_of(e: &sqlx::Error, target: &Target) -> Option<String> {
    let sqlx::Error::Database(db) = e else { return None };
    if let Some(col) = db.try_downcast_ref::<PgDatabaseError>().and_then(|p| p.column()) {
        return Some(col.to_string());
    }
    let constraint = db.constraint().unwrap_or("");
    let detail = db
        .try_downcast_ref::<PgDatabaseError>()
        .and_then(|p| p.detail())
        .unwrap_or("");
    let text = format!("{constraint} {} {detail}", db.message());
    target
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .filter(|f| text.contains(f))
        .max_by_key(|f| f.len())
        .map(str::to_string)
}

/// Coerces a file value to the field's type; Null for an empty value.
pub fn coerce(field: &Field, v: &Value) -> Result<Value, String> {
    let text = match v {
        Value::Null => return Ok(Value::Null),
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                return Ok(Value::Null);
            }
            Some(s.to_string())
        }
        _ => None,
    };
    let shown = text.clone().unwrap_or_else(|| v.to_string());
    let out = match field.ty {
        AttrType::String => Value::String(text.unwrap_or_else(|| match v {
            Value::Number(n) => n.to_string(),
            other => other.to_string(),
        })),
        AttrType::Integer => {
            let n = match v {
                Value::Number(n) => n
                    .as_i64()
                    .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
                _ => text
                    .as_deref()
                    .and_then(|t| t.replace([' ', '\u{a0}'], "").parse::<i64>().ok()),
            };
            Value::from(n.ok_or_else(|| format!("`{shown}` is not a whole number"))?)
        }
        AttrType::Number | AttrType::Money => {
            let n = match v {
                Value::Number(n) => n.as_f64(),
                _ => text
                    .as_deref()
                    .and_then(|t| t.replace([' ', '\u{a0}'], "").replace(',', ".").parse::<f64>().ok()),
            }
            .filter(|f| f.is_finite())
            .ok_or_else(|| format!("`{shown}` is not a number"))?;
            if field.ty == AttrType::Money && n < 0.0 {
                return Err(format!("`{shown}` is a negative amount"));
            }
            // Text keeps the decimals exactly as written for numeric columns.
            match text {
                Some(t) => Value::String(t.replace([' ', '\u{a0}'], "").replace(',', ".")),
                None => v.clone(),
            }
        }
        AttrType::Boolean => {
            let b = match v {
                Value::Bool(b) => Some(*b),
                Value::Number(n) => n.as_i64().map(|i| i != 0),
                _ => match text.as_deref().map(str::to_lowercase).as_deref() {
                    Some("true" | "t" | "yes" | "y" | "1" | "так" | "т" | "+") => Some(true),
                    Some("false" | "f" | "no" | "n" | "0" | "ні" | "н" | "-") => Some(false),
                    _ => None,
                },
            };
            Value::Bool(b.ok_or_else(|| format!("`{shown}` is not yes/no"))?)
        }
        AttrType::Date => {
            let d = parse_date(&shown, field.first_of_month)
                .ok_or_else(|| format!("`{shown}` is not a date (YYYY-MM-DD or DD.MM.YYYY)"))?;
            if field.first_of_month && d.day() != 1 {
                return Err(format!("`{shown}` is not the first day of a month"));
            }
            Value::String(d.format("%Y-%m-%d").to_string())
        }
        AttrType::Datetime => {
            Value::String(parse_datetime(&shown).ok_or_else(|| format!("`{shown}` is not a date and time (ISO 8601)"))?)
        }
        AttrType::Json => match text {
            Some(t) => serde_json::from_str(&t).map_err(|e| format!("not valid JSON: {e}"))?,
            None => v.clone(),
        },
        AttrType::StringList => match v {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| Value::String(i.as_str().map_or_else(|| i.to_string(), str::to_string)))
                    .collect(),
            ),
            _ => Value::Array(
                shown
                    .split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            ),
        },
    };
    if let (Some(allowed), Value::String(s)) = (&field.values, &out)
        && !allowed.iter().any(|a| a == s)
    {
        return Err(format!("`{s}` is not one of: {}", allowed.join(", ")));
    }
    Ok(out)
}

fn parse_date(s: &str, month_only: bool) -> Option<NaiveDate> {
    let s = s.trim();
    let head = s.get(..10).unwrap_or(s);
    if let Ok(d) = NaiveDate::parse_from_str(head, "%Y-%m-%d") {
        return Some(d);
    }
    if let Ok(d) = NaiveDate::parse_from_str(head, "%d.%m.%Y") {
        return Some(d);
    }
    if month_only {
        for fmt in ["%Y-%m-%d", "%d.%m.%Y"] {
            let filled = if fmt.starts_with("%Y") {
                format!("{s}-01")
            } else {
                format!("01.{s}")
            };
            if let Ok(d) = NaiveDate::parse_from_str(&filled, fmt) {
                return Some(d);
            }
        }
    }
    None
}

/// ISO 8601 with an offset, or a local Kyiv time without one; stored UTC.
fn parse_datetime(s: &str) -> Option<String> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&chrono::Utc).to_rfc3339());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%d.%m.%Y %H:%M:%S",
        "%d.%m.%Y %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
            return chrono_tz::Europe::Kyiv
                .from_local_datetime(&naive)
                .earliest()
                .map(|t| t.with_timezone(&chrono::Utc).to_rfc3339());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(ty: AttrType) -> Field {
        Field {
            name: "f".into(),
            ty,
            required: false,
            values: None,
            first_of_month: false,
        }
    }

    #[test]
    fn coercions() {
        assert_eq!(coerce(&field(AttrType::Integer), &"12".into()), Ok(Value::from(12)));
        assert!(coerce(&field(AttrType::Integer), &"12.5".into()).is_err());
        assert_eq!(
            coerce(&field(AttrType::Money), &"1 234,50".into()),
            Ok("1234.50".into())
        );
        assert!(coerce(&field(AttrType::Money), &"-1".into()).is_err());
        assert_eq!(
            coerce(&field(AttrType::Date), &"05.03.2024".into()),
            Ok("2024-03-05".into())
        );
        assert_eq!(coerce(&field(AttrType::Boolean), &"так".into()), Ok(Value::Bool(true)));
        assert_eq!(coerce(&field(AttrType::String), &"  ".into()), Ok(Value::Null));
        let mut month = field(AttrType::Date);
        month.first_of_month = true;
        assert_eq!(coerce(&month, &"2025-03".into()), Ok("2025-03-01".into()));
        assert!(coerce(&month, &"2025-03-05".into()).is_err());
        let mut listed = field(AttrType::String);
        listed.values = Some(vec!["a".into(), "b".into()]);
        assert!(coerce(&listed, &"c".into()).unwrap_err().contains("a, b"));
        assert_eq!(
            coerce(&field(AttrType::Datetime), &"2025-01-01 12:00".into()),
            Ok("2025-01-01T10:00:00+00:00".into())
        );
    }

    #[test]
    fn prj_names() {
        assert_eq!(
            prj_name("PROJCS[\"UCS-2000_Ukraine_TM_zone_10\",GEOGCS[…]]"),
            Some("UCS-2000_Ukraine_TM_zone_10")
        );
    }
}
