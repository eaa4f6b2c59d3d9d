//! Validation of a write before anything is written: the layer file's
//! schema (types, enumerations) checked here, and the table's own rules
//! (NOT NULL, CHECK constraints, domains, foreign keys, unique indexes)
//! read from the PostgreSQL catalogue and evaluated on the candidate row in
//! one query — so every failing field is reported at once, and the database
//! stays the single source of the rules.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sqlx::{PgConnection, QueryBuilder, Row};

use crate::error::{AppError, FieldError};
use crate::query::ident;
use crate::registry::{AttrType, Attribute, Layer};

/// A column of the layer's table, from the catalogue.
#[derive(Debug, Clone)]
pub struct Column {
    pub not_null: bool,
    pub has_default: bool,
    /// The type's own name (a domain's name, e.g. `cadastral_number`).
    pub type_name: String,
    pub base_type: String,
}

pub async fn columns(conn: &mut PgConnection, table: &str) -> Result<BTreeMap<String, Column>, sqlx::Error> {
    let rows: Vec<(String, bool, bool, String, String)> = sqlx::query_as(include_str!("sql/columns.sql"))
        .bind(ident(table))
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(name, not_null, has_default, type_name, base_type)| {
            (
                name,
                Column {
                    not_null,
                    has_default,
                    type_name,
                    base_type,
                },
            )
        })
        .collect())
}

/// Columns that need a value: NOT NULL without a default.
pub fn required(col: &Column) -> bool {
    col.not_null && !col.has_default
}

fn is_cadastral_number(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 4
        && parts
            .iter()
            .zip([10, 2, 3, 4])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_digit()))
}

fn int_range(base_type: &str) -> (i64, i64) {
    match base_type {
        "int2" => (i16::MIN.into(), i16::MAX.into()),
        "int4" => (i32::MIN.into(), i32::MAX.into()),
        _ => (i64::MIN, i64::MAX),
    }
}

/// The schema checks of one attribute value (null is checked by `required`).
pub fn check_value(a: &Attribute, col: Option<&Column>, v: &Value, errors: &mut Vec<FieldError>) {
    let field = a.name.as_str();
    let mut fail = |m: String| errors.push(FieldError::new(field, m));
    if v.is_null() {
        return;
    }
    match a.attr_type {
        AttrType::String => {
            let Some(s) = v.as_str() else {
                return fail("must be a string".into());
            };
            if let Some(values) = &a.values
                && !values.iter().any(|x| x == s)
            {
                return fail(format!("`{s}` is not one of: {}", values.join(", ")));
            }
            match col.map(|c| c.type_name.as_str()) {
                Some("cadastral_number") if !is_cadastral_number(s) => {
                    fail(format!("`{s}` is not a cadastral number (NNNNNNNNNN:NN:NNN:NNNN)"))
                }
                Some("edrpou") if !(s.len() == 8 || s.len() == 10) || !s.bytes().all(|b| b.is_ascii_digit()) => {
                    fail("must be 8 digits (EDRPOU) or 10 digits (tax number)".into())
                }
                _ => {}
            }
        }
        AttrType::Integer => {
            let Some(n) = v.as_i64() else {
                return fail("must be an integer".into());
            };
            let (lo, hi) = int_range(col.map_or("int8", |c| c.base_type.as_str()));
            if n < lo || n > hi {
                fail(format!("must be between {lo} and {hi}"));
            }
            if let Some(values) = &a.values
                && !values.contains(&n.to_string())
            {
                fail(format!("`{n}` is not one of: {}", values.join(", ")));
            }
        }
        AttrType::Number | AttrType::Money => {
            let Some(n) = v.as_f64() else {
                return fail("must be a number".into());
            };
            if !n.is_finite() || n.abs() >= 1e12 {
                return fail("is out of range".into());
            }
            let non_negative = a.attr_type == AttrType::Money
                || matches!(col.map(|c| c.type_name.as_str()), Some("money_uah" | "positive_area"));
            if non_negative && n < 0.0 {
                fail("must not be negative".into());
            }
            if col.is_some_and(|c| c.base_type.starts_with("int")) && n.fract() != 0.0 {
                fail("must be a whole number".into());
            }
        }
        AttrType::Boolean => {
            if !v.is_boolean() {
                fail("must be true or false".into());
            }
        }
        AttrType::Date => match v.as_str() {
            Some(s) if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() => {}
            _ => fail("must be a date YYYY-MM-DD".into()),
        },
        AttrType::Datetime => match v.as_str() {
            Some(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => {}
            _ => fail("must be an RFC 3339 timestamp with a time zone".into()),
        },
        AttrType::Json => {}
        AttrType::StringList => {
            if !v.as_array().is_some_and(|items| items.iter().all(Value::is_string)) {
                fail("must be an array of strings".into());
            }
        }
    }
}

/// Values the product keeps unique among live rows although no index
/// enforces it (the register's history has duplicates the product must not
/// add to): permit and passport numbers. Checked only when they change.
const UNIQUE_NUMBERS: &[(&str, &str)] = &[
    ("ad_structures", "permit_number"),
    ("temporary_structures", "passport_number"),
    ("communal_property", "inventory_number"),
];

enum Rule {
    Check {
        name: String,
        expr: String,
        columns: Vec<String>,
    },
    ForeignKey {
        column: String,
        table: String,
    },
    Unique {
        columns: Vec<String>,
    },
}

/// Evaluates the table's CHECK constraints, single-column foreign keys and
/// unique indexes on `candidate` (the whole row as JSON, geometry as hex
/// EWKB), the row being `id` (None for a new one). `changed` names the
/// columns the request writes, used to name the field of a rule over
/// several columns. The expressions come from the catalogue, the values
/// are bound.
pub async fn table_rules(
    conn: &mut PgConnection,
    layer: &Layer,
    candidate: &Value,
    id: Option<i64>,
    changed: &BTreeSet<String>,
) -> Result<Vec<FieldError>, AppError> {
    let table = layer.table();
    let mut rules = Vec::new();
    let checks: Vec<(String, String, Vec<String>)> = sqlx::query_as(include_str!("sql/checks.sql"))
        .bind(ident(table))
        .fetch_all(&mut *conn)
        .await?;
    for (name, expr, columns) in checks {
        rules.push(Rule::Check { name, expr, columns });
    }
    let fks: Vec<(String, String, String, String, bool)> = sqlx::query_as(include_str!("sql/foreign_keys.sql"))
        .bind(ident(table))
        .fetch_all(&mut *conn)
        .await?;
    let mut fk_sql = Vec::new();
    // Keys and uniqueness only for what changes: the stored row already
    // passed them (and may point at a row deleted since).
    for (_, column, ref_table, ref_column, live) in fks.into_iter().filter(|f| changed.contains(&f.1)) {
        fk_sql.push(format!(
            "r.{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {ref_table} f WHERE f.{rc} = r.{c}{live})",
            c = ident(&column),
            rc = ident(&ref_column),
            live = if live { " AND f.deleted_at IS NULL" } else { "" }
        ));
        rules.push(Rule::ForeignKey {
            column,
            table: ref_table,
        });
    }
    let uniques: Vec<(String, Vec<String>, Option<String>)> = sqlx::query_as(include_str!("sql/uniques.sql"))
        .bind(ident(table))
        .fetch_all(&mut *conn)
        .await?;
    let mut unique_sets: Vec<(Vec<String>, Option<String>)> = uniques
        .into_iter()
        .filter(|(_, cols, _)| cols.iter().any(|c| changed.contains(c)))
        .map(|(_, c, p)| (c, p))
        .collect();
    for (t, c) in UNIQUE_NUMBERS {
        if *t == table && changed.contains(*c) && !unique_sets.iter().any(|(cols, _)| cols == &[c.to_string()]) {
            unique_sets.push((vec![c.to_string()], Some("deleted_at IS NULL".into())));
        }
    }

    let mut qb = QueryBuilder::new("SELECT array_remove(ARRAY[");
    let mut n = 0usize;
    let mut push_case = |qb: &mut QueryBuilder<'_, sqlx::Postgres>, cond: &str| {
        if n > 0 {
            qb.push(", ");
        }
        qb.push(format!("CASE WHEN {cond} THEN {n} END"));
        n += 1;
    };
    for r in &rules {
        if let Rule::Check { expr, .. } = r {
            push_case(&mut qb, &format!("({expr}) IS FALSE"));
        }
    }
    for sql in &fk_sql {
        push_case(&mut qb, sql);
    }
    for (cols, pred) in &unique_sets {
        let not_null: Vec<String> = cols.iter().map(|c| format!("r.{} IS NOT NULL", ident(c))).collect();
        let equal: Vec<String> = cols.iter().map(|c| format!("o.{c} = r.{c}", c = ident(c))).collect();
        push_case(
            &mut qb,
            &format!(
                "{} AND EXISTS (SELECT 1 FROM {} o WHERE {} AND o.{} IS DISTINCT FROM r.{}{})",
                not_null.join(" AND "),
                ident(table),
                equal.join(" AND "),
                ident(&layer.id_column),
                ident(&layer.id_column),
                pred.as_ref().map(|p| format!(" AND ({p})")).unwrap_or_default()
            ),
        );
        rules.push(Rule::Unique { columns: cols.clone() });
    }
    // Keep the rule list in the order the CASEs were pushed: checks, keys, uniques.
    let mut ordered: Vec<&Rule> = rules.iter().filter(|r| matches!(r, Rule::Check { .. })).collect();
    ordered.extend(rules.iter().filter(|r| matches!(r, Rule::ForeignKey { .. })));
    ordered.extend(rules.iter().filter(|r| matches!(r, Rule::Unique { .. })));
    if ordered.is_empty() {
        return Ok(Vec::new());
    }
    qb.push(format!(
        "]::int[], NULL) FROM jsonb_populate_record(NULL::{}, ",
        ident(table)
    ));
    let mut candidate = candidate.clone();
    if let (Some(id), Some(obj)) = (id, candidate.as_object_mut()) {
        obj.insert(layer.id_column.clone(), Value::from(id));
    }
    qb.push_bind(candidate.clone());
    qb.push(") AS r");
    let failed: Vec<i32> = match qb.build().fetch_one(&mut *conn).await {
        Ok(row) => row.try_get(0)?,
        Err(e) => return Err(value_error(e)),
    };
    let mut errors = Vec::new();
    for i in failed {
        let Some(rule) = usize::try_from(i).ok().and_then(|i| ordered.get(i)) else {
            continue;
        };
        match rule {
            Rule::Check { name, expr, columns } => {
                let field = columns
                    .iter()
                    .find(|c| changed.contains(*c))
                    .or(columns.first())
                    .cloned()
                    .unwrap_or_else(|| "(feature)".into());
                errors.push(FieldError::new(field, format!("breaks the rule `{name}`: {expr}")));
            }
            Rule::ForeignKey { column, table } => {
                let value = candidate_text(&candidate, column);
                errors.push(FieldError::new(
                    column.clone(),
                    format!("`{value}` is not in the register `{table}`"),
                ));
            }
            Rule::Unique { columns } => {
                for c in columns {
                    errors.push(FieldError::new(
                        c.clone(),
                        format!(
                            "`{}` is already used by another live feature",
                            candidate_text(&candidate, c)
                        ),
                    ));
                }
            }
        }
    }
    Ok(errors)
}

fn candidate_text(candidate: &Value, column: &str) -> String {
    match candidate.get(column) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

/// A database error about a value the client sent (out of range, a domain
/// rule, a constraint) as a 422 naming the column where PostgreSQL says
/// which; anything else stays a server error.
pub fn value_error(e: sqlx::Error) -> AppError {
    if let sqlx::Error::Database(db) = &e
        && let Some(code) = db.code()
        && (code.starts_with("22") || code.starts_with("23"))
    {
        let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
        let field = pg
            .and_then(|p| p.column())
            .map(str::to_string)
            .or_else(|| db.constraint().map(|c| format!("({c})")))
            .unwrap_or_else(|| "(feature)".into());
        return AppError::Invalid(vec![FieldError::new(field, db.message().to_string())]);
    }
    AppError::Database(e)
}
