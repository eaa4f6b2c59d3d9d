//! GeoJSON (RFC 7946) feature collections. PostgreSQL writes each
//! feature's geometry (`ST_AsGeoJSON`) and properties (`json_build_object`)
//! as JSON text; this writer only frames them, so a page is never parsed
//! or held whole in memory.

use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{FeatureWriter, FormatError, Page};

#[derive(Debug, Default)]
pub struct GeoJsonWriter {
    buf: Vec<u8>,
    first: bool,
}

/// Writes one feature from a row of (id, geometry, properties); an int8 id
/// is written as a number, a text id as a string.
pub fn write_feature(buf: &mut Vec<u8>, row: &PgRow, links: Option<&serde_json::Value>) -> Result<(), FormatError> {
    let geometry: Option<&str> = row.try_get("geometry")?;
    let properties: &str = row.try_get("properties")?;
    buf.extend_from_slice(br#"{"type":"Feature","id":"#);
    match super::id_of(row)? {
        super::RowId::Int(id) => buf.extend_from_slice(id.to_string().as_bytes()),
        super::RowId::Text(id) => buf.extend_from_slice(serde_json::Value::from(id).to_string().as_bytes()),
    }
    buf.extend_from_slice(br#","geometry":"#);
    buf.extend_from_slice(geometry.unwrap_or("null").as_bytes());
    buf.extend_from_slice(br#","properties":"#);
    buf.extend_from_slice(properties.as_bytes());
    if let Some(links) = links {
        buf.extend_from_slice(br#","links":"#);
        buf.extend_from_slice(links.to_string().as_bytes());
    }
    buf.push(b'}');
    Ok(())
}

impl FeatureWriter for GeoJsonWriter {
    fn begin(&mut self, page: &Page) -> Result<(), FormatError> {
        let head = serde_json::json!({
            "numberMatched": page.matched,
            "timeStamp": page.time_stamp,
            "links": page.links,
        });
        // {"type":"FeatureCollection", <head members>, "features":[
        let head = head.to_string();
        self.buf.extend_from_slice(br#"{"type":"FeatureCollection","#);
        self.buf.extend_from_slice(&head.as_bytes()[1..head.len() - 1]);
        self.buf.extend_from_slice(br#","features":["#);
        self.first = true;
        Ok(())
    }

    fn feature(&mut self, row: &PgRow) -> Result<(), FormatError> {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        write_feature(&mut self.buf, row, None)
    }

    fn end(&mut self, _page: &Page, returned: i64) -> Result<(), FormatError> {
        // numberReturned comes last: it is counted while streaming.
        self.buf.extend_from_slice(br#"],"numberReturned":"#);
        self.buf.extend_from_slice(returned.to_string().as_bytes());
        self.buf.extend_from_slice(b"}\n");
        Ok(())
    }

    fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn take(&mut self) -> Result<Vec<u8>, FormatError> {
        Ok(std::mem::take(&mut self.buf))
    }
}
