//! Import of files into layers and non-spatial registers (issue 5, "Import").
//!
//! A file is read into rows of (properties, optional geometry) by one of the
//! readers in [`formats`]; the rows are mapped onto the target's fields,
//! coerced to their types and loaded all or nothing in one transaction
//! ([`load`]). Every rejected row is reported with its number, field and
//! reason; if any row is rejected nothing is written. The same engine serves
//! `POST /api/layers/{id}/import`, `POST /api/energy/readings` ([`http`]) and
//! `geoportal import` (src/main.rs).

pub mod cli;
pub mod formats;
pub mod http;
pub mod load;
pub mod registers;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::AppError;
use crate::registry::model::{AttrType, GeometryType};
use crate::registry::{Registry, Role};

pub use http::{limit_bodies, routes};
pub use load::run;

/// Geometry of one row as the file holds it; PostGIS parses it.
#[derive(Debug, Clone, PartialEq)]
pub enum Geom {
    Wkt(String),
    Wkb(Vec<u8>),
    GeoJson(String),
}

/// One record of the file: `number` is 1-based in file order.
#[derive(Debug, Clone)]
pub struct SourceRow {
    pub number: usize,
    pub props: serde_json::Map<String, serde_json::Value>,
    pub geom: Option<Geom>,
    /// Problems the reader found in this record: (field, message).
    pub issues: Vec<(String, String)>,
}

/// A coordinate reference system named by a file or by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Crs {
    Epsg(i32),
    /// A PROJ string such as SK-63's `+proj=tmerc …` (no EPSG code exists).
    Proj(String),
}

impl Crs {
    /// Reads `EPSG:6384`, `6384`, an OGC URI or URN, or a PROJ string.
    pub fn parse(s: &str) -> Option<Crs> {
        let s = s.trim();
        if s.starts_with("+proj=") || s.starts_with("+init=") {
            return Some(Crs::Proj(s.to_string()));
        }
        if s.eq_ignore_ascii_case("CRS84") || s.ends_with("/OGC/1.3/CRS84") || s.ends_with("OGC:1.3:CRS84") {
            return Some(Crs::Epsg(4326));
        }
        let code = s
            .rsplit(['/', ':'])
            .next()
            .filter(|_| s.to_ascii_uppercase().contains("EPSG") || s.chars().all(|c| c.is_ascii_digit()))?;
        code.parse::<i32>().ok().filter(|c| *c > 0).map(Crs::Epsg)
    }

    pub fn label(&self) -> String {
        match self {
            Crs::Epsg(c) => format!("EPSG:{c}"),
            Crs::Proj(p) => p.clone(),
        }
    }
}

/// Supported file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    GeoJson,
    Csv,
    Shapefile,
    GeoPackage,
    CadastralXml,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "geojson" | "json" => Some(Format::GeoJson),
            "csv" => Some(Format::Csv),
            "shapefile" | "shp" | "zip" => Some(Format::Shapefile),
            "geopackage" | "gpkg" => Some(Format::GeoPackage),
            "xml" | "cadastral_xml" | "cadastral" => Some(Format::CadastralXml),
            _ => None,
        }
    }

    /// From a media type (parameters ignored).
    pub fn from_media_type(ct: &str) -> Option<Format> {
        let ct = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match ct.as_str() {
            "application/geo+json" | "application/json" => Some(Format::GeoJson),
            "text/csv" => Some(Format::Csv),
            "application/zip" | "application/x-zip-compressed" | "application/x-shapefile" => Some(Format::Shapefile),
            "application/geopackage+sqlite3" | "application/x-sqlite3" => Some(Format::GeoPackage),
            "application/xml" | "text/xml" => Some(Format::CadastralXml),
            _ => None,
        }
    }

    /// From a file name's extension.
    pub fn from_file_name(name: &str) -> Option<Format> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "geojson" | "json" => Some(Format::GeoJson),
            "csv" | "txt" => Some(Format::Csv),
            "zip" => Some(Format::Shapefile),
            "gpkg" => Some(Format::GeoPackage),
            "xml" => Some(Format::CadastralXml),
            _ => None,
        }
    }

    /// From the first bytes, when nothing else says.
    pub fn sniff(bytes: &[u8]) -> Format {
        let head: Vec<u8> = bytes
            .iter()
            .skip_while(|b| b.is_ascii_whitespace() || **b == 0xEF || **b == 0xBB || **b == 0xBF)
            .take(16)
            .copied()
            .collect();
        if bytes.starts_with(b"PK\x03\x04") {
            Format::Shapefile
        } else if bytes.starts_with(b"SQLite format 3\0") {
            Format::GeoPackage
        } else if head.first() == Some(&b'{') {
            Format::GeoJson
        } else if head.first() == Some(&b'<') {
            Format::CadastralXml
        } else {
            Format::Csv
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::GeoJson => "geojson",
            Format::Csv => "csv",
            Format::Shapefile => "shapefile",
            Format::GeoPackage => "geopackage",
            Format::CadastralXml => "cadastral_xml",
        }
    }
}

/// What the caller asked for besides the file.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub format: Option<Format>,
    /// Overrides the CRS the file names or implies.
    pub crs: Option<Crs>,
    /// Overrides the text encoding (`utf-8`, `windows-1251`, `cp1251`, …).
    pub encoding: Option<&'static encoding_rs::Encoding>,
    pub dry_run: bool,
    /// File column → field, taking precedence over matching by name.
    pub mapping: BTreeMap<String, String>,
    /// Field → value used where the file has none.
    pub defaults: serde_json::Map<String, serde_json::Value>,
    /// The file's name, recorded in `import_batches.source`.
    pub source_name: String,
}

/// Looks up an encoding label; accepts `cp1251`/`1251` besides WHATWG labels.
pub fn parse_encoding(label: &str) -> Option<&'static encoding_rs::Encoding> {
    let l = label.trim().to_ascii_lowercase();
    let l = l.strip_prefix("ansi ").unwrap_or(&l);
    let l = match l {
        "1251" | "cp1251" | "win1251" | "cp-1251" => "windows-1251",
        "1252" | "cp1252" => "windows-1252",
        "866" | "cp866" => "ibm866",
        "utf8" | "65001" => "utf-8",
        other => other,
    };
    encoding_rs::Encoding::for_label(l.as_bytes())
}

/// One field the import may fill.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ty: AttrType,
    pub required: bool,
    pub values: Option<Vec<String>>,
    /// A month column (`period`): `2025-03` means 2025-03-01.
    pub first_of_month: bool,
}

/// Where the rows go: a layer of the registry or a register of
/// [`registers::REGISTERS`].
#[derive(Debug, Clone)]
pub struct Target {
    pub id: String,
    pub table: String,
    pub fields: Vec<Field>,
    /// Geometry column and type; None for registers.
    pub geometry: Option<(String, GeometryType)>,
    /// Roles that may import here.
    pub edit_roles: Vec<Role>,
    /// Columns resolved to a field through a query, e.g. a lease's contract
    /// number to `lease_id`.
    pub lookups: Vec<registers::Lookup>,
    /// Whether this is a map layer (tiles to invalidate).
    pub is_layer: bool,
}

impl Target {
    /// The target named `id` as seen by `roles`: a layer's fields are the
    /// attributes those roles may edit. None when there is no such layer or
    /// register, or the layer is hidden from `roles`.
    pub fn resolve(registry: &Registry, id: &str, roles: &[Role]) -> Option<Target> {
        if let Some(layer) = registry.get_visible(id, roles) {
            let mut edit_roles: Vec<Role> = layer.attributes.iter().flat_map(|a| a.edit.iter().copied()).collect();
            edit_roles.sort();
            edit_roles.dedup();
            let fields = layer
                .attributes
                .iter()
                .filter(|a| a.edit.iter().any(|r| roles.contains(r)))
                .map(|a| Field {
                    name: a.name.clone(),
                    ty: a.attr_type,
                    required: false,
                    values: a.values.clone(),
                    first_of_month: false,
                })
                .collect();
            let mut target = Target {
                id: layer.id.clone(),
                table: layer.table().to_string(),
                fields,
                geometry: layer
                    .has_geometry()
                    .then(|| (layer.geometry.column.clone(), layer.geometry.geometry_type)),
                edit_roles,
                lookups: Vec::new(),
                is_layer: true,
            };
            // A register layer keeps what its layer file does not say (month
            // columns, natural-key lookups, required columns) in registers.rs.
            if let Some(extra) = registers::target(id) {
                target.refine(&extra);
            }
            return Some(target);
        }
        registers::target(id)
    }

    /// Takes over `extra`'s knowledge of the same table: per-field flags and
    /// the lookups whose field this target may fill.
    fn refine(&mut self, extra: &Target) {
        for f in &mut self.fields {
            if let Some(e) = extra.fields.iter().find(|e| e.name == f.name) {
                f.first_of_month |= e.first_of_month;
                f.required |= e.required;
                if f.values.is_none() {
                    f.values.clone_from(&e.values);
                }
            }
        }
        let fields: Vec<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
        self.lookups = extra
            .lookups
            .iter()
            .filter(|l| fields.contains(&l.field))
            .cloned()
            .collect();
    }

    pub fn may_import(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.edit_roles.contains(r))
    }
}

/// Why one row was rejected.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rejection {
    /// 1-based record number in the file (for CSV: data rows after the header).
    pub row: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

/// The answer of an import, dry run or not.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    pub target: String,
    pub format: String,
    pub source: String,
    pub sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crs: Option<String>,
    pub dry_run: bool,
    /// Whether the rows were written.
    pub committed: bool,
    pub rows_read: usize,
    /// Rows written (or, in a dry run or a rejected import, that would be).
    pub rows_imported: usize,
    /// File column → field.
    pub columns: BTreeMap<String, String>,
    pub ignored_columns: Vec<String>,
    pub rejected: Vec<Rejection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<i64>,
    /// Extent of the imported geometries, lon/lat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bbox: Option<[f64; 4]>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Parameters the server cannot use.
    #[error("{0}")]
    BadRequest(String),
    /// A file that cannot be read as the format it claims.
    #[error("{0}")]
    BadFile(String),
    #[error("no layer or register `{0}` to import into")]
    NotFound(String),
    #[error("the file is larger than the import limit of {0} bytes")]
    TooLarge(usize),
    #[error("{} of {} rows rejected; nothing was written", .0.rejected.len(), .0.rows_read)]
    Rejected(Box<Report>),
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl ImportError {
    pub fn status(&self) -> StatusCode {
        match self {
            ImportError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ImportError::BadFile(_) | ImportError::Rejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ImportError::NotFound(_) => StatusCode::NOT_FOUND,
            ImportError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ImportError::App(e) => e.status(),
            ImportError::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ImportError {
    fn into_response(self) -> Response {
        match self {
            ImportError::App(e) => e.into_response(),
            ImportError::Db(e) => AppError::Database(e).into_response(),
            ImportError::Rejected(report) => {
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                let body = serde_json::json!({
                    "type": "about:blank",
                    "title": "Unprocessable Entity",
                    "status": status.as_u16(),
                    "detail": format!("{} of {} rows rejected; nothing was written",
                        report.rejected.len(), report.rows_read),
                    "report": report,
                });
                let mut response = (status, axum::Json(body)).into_response();
                response.headers_mut().insert(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/problem+json"),
                );
                response
            }
            other => {
                let status = other.status();
                crate::error::Problem::new(status, Some(other.to_string())).into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crs_forms() {
        assert_eq!(Crs::parse("EPSG:6384"), Some(Crs::Epsg(6384)));
        assert_eq!(Crs::parse("urn:ogc:def:crs:EPSG::5563"), Some(Crs::Epsg(5563)));
        assert_eq!(
            Crs::parse("http://www.opengis.net/def/crs/EPSG/0/9836"),
            Some(Crs::Epsg(9836))
        );
        assert_eq!(Crs::parse("urn:ogc:def:crs:OGC:1.3:CRS84"), Some(Crs::Epsg(4326)));
        assert!(matches!(Crs::parse("+proj=tmerc +lon_0=27"), Some(Crs::Proj(_))));
        assert_eq!(Crs::parse("nonsense"), None);
    }

    #[test]
    fn encodings() {
        assert_eq!(parse_encoding("CP1251"), Some(encoding_rs::WINDOWS_1251));
        assert_eq!(parse_encoding("ANSI 1251"), Some(encoding_rs::WINDOWS_1251));
        assert_eq!(parse_encoding("UTF-8"), Some(encoding_rs::UTF_8));
        assert_eq!(parse_encoding("klingon"), None);
    }
}
