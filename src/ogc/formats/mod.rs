//! Output formats: which one a request wants (`f=` over `Accept`), the
//! links every document carries, and the writers that turn rows into
//! GeoJSON, CSV or HTML as they stream from PostgreSQL.

pub mod csv;
pub mod geojson;
pub mod html;

use axum::http::{HeaderMap, header};
use serde::Serialize;
use sqlx::postgres::PgRow;

use super::OgcError;
use super::params::Params;
use crate::registry::AttrType;

pub const GEOJSON: &str = "application/geo+json";
pub const JSON: &str = "application/json";
pub const HTML: &str = "text/html";
pub const CSV: &str = "text/csv";
pub const SCHEMA_JSON: &str = "application/schema+json";
pub const OPENAPI_JSON: &str = "application/vnd.oai.openapi+json;version=3.1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Html,
    Csv,
}

impl Format {
    /// The value of `f` that asks for this format.
    pub fn param(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Html => "html",
            Format::Csv => "csv",
        }
    }
}

/// The format of a response: `f` wins; otherwise the best `Accept` match;
/// otherwise JSON. `csv` only where a resource has rows (items).
pub fn negotiate(params: &Params, headers: &HeaderMap, csv: bool) -> Result<Format, OgcError> {
    if let Some(f) = params.get("f") {
        return match f.to_ascii_lowercase().as_str() {
            "json" | "geojson" | JSON | GEOJSON => Ok(Format::Json),
            "html" | HTML => Ok(Format::Html),
            "csv" | CSV if csv => Ok(Format::Csv),
            _ => Err(OgcError::Format {
                value: f.to_string(),
                allowed: if csv { "json, html, csv" } else { "json, html" },
            }),
        };
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut best: Option<(f32, Format)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.strip_prefix("q="))
            .find_map(|v| v.parse::<f32>().ok())
            .unwrap_or(1.0);
        let format = match media.as_str() {
            HTML | "application/xhtml+xml" => Format::Html,
            CSV if csv => Format::Csv,
            GEOJSON | JSON | SCHEMA_JSON | "application/vnd.oai.openapi+json" | "application/*" | "*/*" => Format::Json,
            _ => continue,
        };
        // `*/*` is a fallback, not a preference: it loses ties.
        let q = if media.contains('*') { q - 0.001 } else { q };
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, format));
        }
    }
    Ok(best.map_or(Format::Json, |(_, f)| f))
}

/// The language of titles: Ukrainian unless the client prefers English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Uk,
    En,
}

pub fn lang(headers: &HeaderMap) -> Lang {
    let first = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if first.starts_with("en") { Lang::En } else { Lang::Uk }
}

impl Lang {
    pub fn pick(self, text: &crate::registry::model::I18n) -> &str {
        match self {
            Lang::Uk => &text.uk,
            Lang::En => &text.en,
        }
    }
}

/// A link of an OGC document.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub href: String,
    pub rel: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl Link {
    pub fn new(href: impl Into<String>, rel: &str, media_type: &str, title: &str) -> Link {
        Link {
            href: href.into(),
            rel: rel.into(),
            media_type: Some(media_type.into()),
            title: Some(title.into()),
        }
    }
}

/// A property column of an items page, as the writers need it.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub title: String,
    pub attr_type: AttrType,
}

/// What the writers know about the page before the first row.
#[derive(Debug, Clone)]
pub struct Page {
    pub collection_title: String,
    pub matched: i64,
    pub offset: i64,
    pub time_stamp: String,
    pub links: Vec<Link>,
    pub columns: Vec<Column>,
    /// `{base}/ogc/collections/{id}/items`, for per-feature links.
    pub items_url: String,
    pub crs_uri: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("reading a row: {0}")]
    Row(#[from] sqlx::Error),
    #[error("writing CSV: {0}")]
    Csv(#[from] ::csv::Error),
}

/// A row's `id` column: int8 for layers, text where a dataset mixes
/// sources (open data's `vacant_for_lease`: `property-12`).
pub enum RowId {
    Int(i64),
    Text(String),
}

pub fn id_of(row: &PgRow) -> Result<RowId, FormatError> {
    use sqlx::{Column as _, Row as _, TypeInfo as _};
    let is_text = row
        .columns()
        .iter()
        .find(|c| c.name() == "id")
        .is_some_and(|c| c.type_info().name() == "TEXT");
    Ok(if is_text {
        RowId::Text(row.try_get("id")?)
    } else {
        RowId::Int(row.try_get("id")?)
    })
}

/// The `id` column as text, whichever its type.
pub fn id_text(row: &PgRow) -> Result<String, FormatError> {
    Ok(match id_of(row)? {
        RowId::Int(id) => id.to_string(),
        RowId::Text(id) => id,
    })
}

/// Turns streamed rows into one output format. Each writer buffers what
/// it wrote until the streamer `take`s it as a body chunk.
pub trait FeatureWriter: Send + 'static {
    fn begin(&mut self, page: &Page) -> Result<(), FormatError>;
    fn feature(&mut self, row: &PgRow) -> Result<(), FormatError>;
    fn end(&mut self, page: &Page, returned: i64) -> Result<(), FormatError>;
    /// Bytes buffered so far.
    fn buffered(&self) -> usize;
    fn take(&mut self) -> Result<Vec<u8>, FormatError>;
}

/// The writer for a format.
pub fn writer(format: Format) -> Box<dyn FeatureWriter> {
    match format {
        Format::Json => Box::new(geojson::GeoJsonWriter::default()),
        Format::Csv => Box::new(csv::CsvWriter::new()),
        Format::Html => Box::new(html::HtmlItemsWriter::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, v.parse().unwrap());
        h
    }

    #[test]
    fn f_wins_over_accept() {
        let p = Params::parse(Some("f=csv")).unwrap();
        assert_eq!(negotiate(&p, &accept("text/html"), true).unwrap(), Format::Csv);
        assert!(negotiate(&p, &accept("text/html"), false).is_err());
        let p = Params::parse(Some("f=xml")).unwrap();
        assert!(negotiate(&p, &HeaderMap::new(), true).is_err());
    }

    #[test]
    fn accept_picks_the_preferred_known_type() {
        let none = Params::default();
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert_eq!(negotiate(&none, &accept(browser), true).unwrap(), Format::Html);
        let gdal = "application/geo+json, application/json";
        assert_eq!(negotiate(&none, &accept(gdal), true).unwrap(), Format::Json);
        assert_eq!(negotiate(&none, &accept("text/csv"), true).unwrap(), Format::Csv);
        assert_eq!(negotiate(&none, &accept("text/csv"), false).unwrap(), Format::Json);
        assert_eq!(negotiate(&none, &accept("*/*"), true).unwrap(), Format::Json);
        assert_eq!(negotiate(&none, &HeaderMap::new(), true).unwrap(), Format::Json);
    }
}
