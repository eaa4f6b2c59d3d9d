//! Checks the registry against the live database: every table, column,
//! type and geometry a layer file names must exist as declared.

use std::collections::BTreeMap;

use sqlx::PgPool;

use super::{AttrType, Problem, Registry, RegistryError};

struct Column {
    base_type: String,
    geometry_type: Option<String>,
    srid: Option<i32>,
}

/// Returns `RegistryError::Invalid` listing every mismatch, naming the file
/// and the key.
pub async fn check_against_database(registry: &Registry, pool: &PgPool) -> Result<(), RegistryError> {
    let mut problems = Vec::new();
    for layer in registry.all() {
        let rows: Vec<(String, String, Option<String>, Option<i32>)> = sqlx::query_as(include_str!("sql/columns.sql"))
            .bind(layer.table())
            .fetch_all(pool)
            .await?;
        let mut report = |key: String, problem: String| {
            problems.push(Problem {
                file: layer.file.clone(),
                key,
                problem,
            })
        };
        if rows.is_empty() {
            report("table".into(), format!("table `{}` does not exist", layer.table()));
            continue;
        }
        let columns: BTreeMap<String, Column> = rows
            .into_iter()
            .map(|(name, base_type, geometry_type, srid)| {
                (
                    name,
                    Column {
                        base_type,
                        geometry_type,
                        srid,
                    },
                )
            })
            .collect();
        let table = layer.table();

        match columns.get(&layer.id_column) {
            Some(c) if AttrType::Integer.pg_types().contains(&c.base_type.as_str()) => {}
            Some(c) => report(
                "id_column".into(),
                format!("`{table}.{}` is {}, not an integer", layer.id_column, c.base_type),
            ),
            None => report(
                "id_column".into(),
                format!("table `{table}` has no column `{}`", layer.id_column),
            ),
        }
        for required in ["deleted_at", "created_at", "updated_at", "version"] {
            if !columns.contains_key(required) {
                report(
                    "table".into(),
                    format!("table `{table}` lacks the `{required}` column every layer row has"),
                );
            }
        }
        let g = &layer.geometry;
        match columns.get(&g.column) {
            // A register without geometry: nothing to check.
            _ if !layer.has_geometry() => {}
            None => report(
                "geometry.column".into(),
                format!("table `{table}` has no column `{}`", g.column),
            ),
            Some(c) if c.base_type != "geometry" => report(
                "geometry.column".into(),
                format!("`{table}.{}` is {}, not geometry", g.column, c.base_type),
            ),
            Some(c) => {
                let declared = g.geometry_type.postgis_name();
                if c.geometry_type.as_deref() != Some(declared) {
                    report(
                        "geometry.type".into(),
                        format!(
                            "declared {declared} but `{table}.{}` holds {}",
                            g.column,
                            c.geometry_type.as_deref().unwrap_or("an untyped geometry")
                        ),
                    );
                }
                if c.srid != Some(g.srid) {
                    report(
                        "geometry.srid".into(),
                        format!("declared {} but `{table}.{}` has SRID {:?}", g.srid, g.column, c.srid),
                    );
                }
            }
        }
        for (i, a) in layer.attributes.iter().enumerate() {
            match columns.get(&a.name) {
                None => report(
                    format!("attributes[{i}].name"),
                    format!("table `{table}` has no column `{}`", a.name),
                ),
                Some(c) if !a.attr_type.pg_types().contains(&c.base_type.as_str()) => report(
                    format!("attributes[{i}].type"),
                    format!(
                        "`{}` is declared {} but `{table}.{}` is {}",
                        a.name,
                        a.attr_type.as_str(),
                        a.name,
                        c.base_type
                    ),
                ),
                Some(_) => {}
            }
        }
        for (i, rule) in layer.rows.iter().enumerate() {
            if let Some(own) = &rule.own
                && !columns.contains_key(&own.column)
            {
                report(
                    format!("rows[{i}].own.column"),
                    format!("table `{table}` has no column `{}`", own.column),
                );
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(RegistryError::Invalid(problems))
    }
}
