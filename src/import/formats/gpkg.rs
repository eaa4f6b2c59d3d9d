//! GeoPackage: the first feature table of `gpkg_contents`, its geometry
//! column from `gpkg_geometry_columns` and its CRS from
//! `gpkg_spatial_ref_sys`. Geometry blobs are the GeoPackage header followed
//! by standard WKB, which PostGIS reads once the header is stripped.

use rusqlite::types::ValueRef;

use super::{Parsed, number};
use crate::import::{Crs, Geom, ImportError, SourceRow};

/// Removes the temporary copy of the upload however reading ends.
struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The WKB inside a GeoPackage geometry blob; None for an empty geometry.
pub fn strip_header(blob: &[u8]) -> Result<Option<&[u8]>, String> {
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return Err("not a GeoPackage geometry (no GP header)".into());
    }
    let flags = blob[3];
    if flags & 0b1_0000 != 0 {
        return Ok(None);
    }
    let envelope = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        n => return Err(format!("unknown envelope indicator {n}")),
    };
    blob.get(8 + envelope..)
        .filter(|w| !w.is_empty())
        .map(Some)
        .ok_or_else(|| "truncated GeoPackage geometry".into())
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub fn read(bytes: &[u8]) -> Result<Parsed, ImportError> {
    let path = std::env::temp_dir().join(format!("geoportal-import-{}.gpkg", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, bytes).map_err(|e| ImportError::BadFile(format!("cannot store the upload: {e}")))?;
    let _guard = TempFile(path.clone());
    let bad = |e: rusqlite::Error| ImportError::BadFile(format!("cannot read the GeoPackage: {e}"));
    let conn = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(bad)?;
    let (table, geom_col, srs_id): (String, String, i64) = conn
        .query_row(
            "SELECT c.table_name, g.column_name, g.srs_id FROM gpkg_contents c \
             JOIN gpkg_geometry_columns g ON g.table_name = c.table_name \
             WHERE c.data_type = 'features' ORDER BY c.table_name LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => ImportError::BadFile("the GeoPackage has no feature table".into()),
            e => bad(e),
        })?;
    let crs = conn
        .query_row(
            "SELECT organization, organization_coordsys_id FROM gpkg_spatial_ref_sys WHERE srs_id = ?1",
            [srs_id],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
        )
        .ok()
        .filter(|(org, _)| org.eq_ignore_ascii_case("EPSG"))
        .and_then(|(_, code)| i32::try_from(code).ok())
        .map(Crs::Epsg);
    let mut stmt = conn.prepare(&format!("SELECT * FROM {}", quote(&table))).map_err(bad)?;
    let names: Vec<String> = stmt.column_names().into_iter().map(str::to_string).collect();
    // The primary key is the GeoPackage's own row id, not an attribute.
    let pk: Option<String> = conn
        .query_row(
            &format!(
                "SELECT name FROM pragma_table_info({}) WHERE pk = 1",
                quote_literal(&table)
            ),
            [],
            |r| r.get(0),
        )
        .ok();
    let mut parsed = Parsed {
        crs,
        columns: names
            .iter()
            .filter(|n| **n != geom_col && Some(*n) != pk.as_ref())
            .cloned()
            .collect(),
        ..Parsed::default()
    };
    let mut rows = stmt.query([]).map_err(bad)?;
    let mut n = 0;
    while let Some(r) = rows.next().map_err(bad)? {
        n += 1;
        let mut row = SourceRow {
            number: n,
            props: serde_json::Map::new(),
            geom: None,
            issues: Vec::new(),
        };
        for (i, name) in names.iter().enumerate() {
            let value = r.get_ref(i).map_err(bad)?;
            if *name == geom_col {
                if let ValueRef::Blob(b) = value {
                    match strip_header(b) {
                        Ok(Some(wkb)) => row.geom = Some(Geom::Wkb(wkb.to_vec())),
                        Ok(None) => {}
                        Err(e) => row.issues.push(("geometry".into(), e)),
                    }
                }
                continue;
            }
            if Some(name) == pk.as_ref() {
                continue;
            }
            let v = match value {
                ValueRef::Null => serde_json::Value::Null,
                ValueRef::Integer(i) => serde_json::Value::from(i),
                ValueRef::Real(f) => number(f),
                ValueRef::Text(t) => serde_json::Value::String(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(_) => serde_json::Value::Null,
            };
            row.props.insert(name.clone(), v);
        }
        parsed.rows.push(row);
    }
    Ok(parsed)
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
