//! Readers: each turns a file's bytes into [`SourceRow`]s plus what the file
//! says about its coordinate system. Readers are synchronous and run on a
//! blocking thread.

pub mod cadastral;
pub mod csv;
pub mod geojson;
pub mod gpkg;
pub mod shapefile;

use super::{Crs, Format, ImportError, Options, SourceRow};

/// A file read into rows.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<SourceRow>,
    /// Property names in file order.
    pub columns: Vec<String>,
    /// The CRS the file names, if it names one by code.
    pub crs: Option<Crs>,
    /// A `.prj` WKT to recognise against `spatial_ref_sys`.
    pub prj: Option<String>,
    /// Why the file's CRS cannot be known without `crs` (e.g. SK-63).
    pub crs_needed: Option<String>,
}

/// Reads `bytes` as `format`.
pub fn read(format: Format, bytes: &[u8], options: &Options) -> Result<Parsed, ImportError> {
    match format {
        Format::GeoJson => geojson::read(bytes),
        Format::Csv => csv::read(bytes, options.encoding),
        Format::Shapefile => shapefile::read(bytes, options.encoding),
        Format::GeoPackage => gpkg::read(bytes),
        Format::CadastralXml => cadastral::read(bytes),
    }
}

/// Text of a file: the encoding asked for, else UTF-8 (BOM stripped) when
/// the bytes are valid UTF-8, else Windows-1251, as Ukrainian files made on
/// Windows usually are.
pub fn decode_text(bytes: &[u8], encoding: Option<&'static encoding_rs::Encoding>) -> String {
    if let Some(enc) = encoding {
        return enc.decode(bytes).0.into_owned();
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1251.decode(bytes).0.into_owned(),
    }
}

/// Whole-number floats as integers, so `12.0` from a DBF maps cleanly.
pub fn number(f: f64) -> serde_json::Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        serde_json::Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}
