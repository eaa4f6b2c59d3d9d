//! A plain HTML view for people following links: every value escaped,
//! date-times shown in Europe/Kyiv.

use std::fmt::Write;

use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{Column, FeatureWriter, FormatError, Link, Page};
use crate::registry::AttrType;

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The start of a page, up to and including `<body>` and the title.
pub fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"uk\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>body{{font-family:sans-serif;margin:1em 2em}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px;vertical-align:top}}\
         </style></head><body><h1>{t}</h1>\n",
        t = esc(title)
    )
}

pub const FOOT: &str = "</body></html>\n";

/// A list of links as HTML.
pub fn links(links: &[Link]) -> String {
    let mut out = String::from("<ul class=\"links\">");
    for l in links {
        let label = l.title.as_deref().unwrap_or(&l.rel);
        let _ = write!(
            out,
            "<li><a href=\"{}\" rel=\"{}\">{}</a> ({})</li>",
            esc(&l.href),
            esc(&l.rel),
            esc(label),
            esc(l.media_type.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</ul>\n");
    out
}

/// A value as shown to a person: date-times in the city's time zone.
pub fn display(t: AttrType, value: &str) -> String {
    if t == AttrType::Datetime
        && let Ok(dt) = chrono::DateTime::parse_from_rfc3339(value)
    {
        return dt
            .with_timezone(&chrono_tz::Europe::Kyiv)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
    }
    value.to_string()
}

#[derive(Debug, Default)]
pub struct HtmlItemsWriter {
    buf: Vec<u8>,
    columns: Vec<Column>,
    items_url: String,
}

impl FeatureWriter for HtmlItemsWriter {
    fn begin(&mut self, page: &Page) -> Result<(), FormatError> {
        self.columns = page.columns.clone();
        self.items_url = page.items_url.clone();
        let mut s = head(&page.collection_title);
        let _ = writeln!(
            s,
            "<p>Знайдено / matched: {}. Час / time (Europe/Kyiv). CRS: {}</p>",
            page.matched,
            esc(&page.crs_uri)
        );
        s.push_str(&links(&page.links));
        s.push_str("<table><thead><tr><th>id</th>");
        for c in &self.columns {
            let _ = write!(s, "<th title=\"{}\">{}</th>", esc(&c.name), esc(&c.title));
        }
        s.push_str("</tr></thead><tbody>\n");
        self.buf.extend_from_slice(s.as_bytes());
        Ok(())
    }

    /// A row of (id, geometry as WKT, every column as text).
    fn feature(&mut self, row: &PgRow) -> Result<(), FormatError> {
        let id: i64 = row.try_get("id")?;
        let mut s = format!("<tr><td><a href=\"{}/{id}?f=html\">{id}</a></td>", esc(&self.items_url));
        for (i, c) in self.columns.iter().enumerate() {
            let value: Option<String> = row.try_get(i + 2)?;
            let shown = value.map(|v| display(c.attr_type, &v)).unwrap_or_default();
            let _ = write!(s, "<td>{}</td>", esc(&shown));
        }
        s.push_str("</tr>\n");
        self.buf.extend_from_slice(s.as_bytes());
        Ok(())
    }

    fn end(&mut self, _page: &Page, returned: i64) -> Result<(), FormatError> {
        let s = format!("</tbody></table><p>Показано / returned: {returned}</p>\n{FOOT}");
        self.buf.extend_from_slice(s.as_bytes());
        Ok(())
    }

    fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn take(&mut self) -> Result<Vec<u8>, FormatError> {
        Ok(std::mem::take(&mut self.buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_shows_kyiv_time() {
        assert_eq!(esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(
            display(AttrType::Datetime, "2024-07-01T09:00:00+00:00"),
            "2024-07-01 12:00:00"
        );
        assert_eq!(display(AttrType::Date, "2024-07-01"), "2024-07-01");
    }
}
