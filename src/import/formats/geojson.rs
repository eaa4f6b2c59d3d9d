//! GeoJSON: a FeatureCollection (or one Feature). The `crs` member of the
//! 2008 specification is honoured when present; otherwise lon/lat WGS 84.

use serde_json::Value;

use super::Parsed;
use crate::import::{Crs, Geom, ImportError, SourceRow};

pub fn read(bytes: &[u8]) -> Result<Parsed, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let doc: Value =
        serde_json::from_slice(bytes).map_err(|e| ImportError::BadFile(format!("not valid GeoJSON: {e}")))?;
    let features: Vec<Value> = match doc.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => match doc.get("features") {
            Some(Value::Array(f)) => f.clone(),
            _ => {
                return Err(ImportError::BadFile(
                    "a FeatureCollection needs a `features` array".into(),
                ));
            }
        },
        Some("Feature") => vec![doc.clone()],
        _ => {
            return Err(ImportError::BadFile(
                "GeoJSON import needs a FeatureCollection or a Feature".into(),
            ));
        }
    };
    let crs = doc
        .pointer("/crs/properties/name")
        .and_then(Value::as_str)
        .and_then(Crs::parse);
    let mut parsed = Parsed {
        crs,
        ..Parsed::default()
    };
    for (i, f) in features.into_iter().enumerate() {
        let props = match f.get("properties") {
            Some(Value::Object(m)) => m.clone(),
            _ => serde_json::Map::new(),
        };
        for k in props.keys() {
            if !parsed.columns.contains(k) {
                parsed.columns.push(k.clone());
            }
        }
        let geom = match f.get("geometry") {
            Some(Value::Null) | None => None,
            Some(g) => Some(Geom::GeoJson(g.to_string())),
        };
        parsed.rows.push(SourceRow {
            number: i + 1,
            props,
            geom,
            issues: Vec::new(),
        });
    }
    Ok(parsed)
}
