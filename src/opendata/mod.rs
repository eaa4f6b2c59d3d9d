//! Open data (Cabinet of Ministers resolution No. 835; DOMAIN.md section 5):
//! `GET /opendata` lists the datasets with their structure; `GET
//! /opendata/{dataset}.{csv|json|geojson}` streams one from PostgreSQL, so
//! memory stays constant however many rows; `geoportal export DIR` writes
//! them all. CSV and GeoJSON reuse the OGC writers (`crate::ogc::formats`).

pub mod datasets;

use std::path::Path;

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use futures::{SinkExt, StreamExt};
use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::error::{AppError, AppResult};
use crate::ogc::formats::{self, Column, FeatureWriter, FormatError, Page};
use crate::registry::AttrType;
use crate::server::AppState;
pub use datasets::{DATASETS, Dataset, Field};

/// Bytes buffered before a body chunk is sent.
const CHUNK: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum OpenDataError {
    #[error("no open dataset `{0}`")]
    UnknownDataset(String),
    #[error("dataset `{dataset}` is not published as `{format}` (formats: {allowed})")]
    UnknownFormat {
        dataset: String,
        format: String,
        allowed: String,
    },
    #[error("file name `{0}` must be DATASET.FORMAT")]
    BadName(String),
}

impl From<OpenDataError> for AppError {
    fn from(e: OpenDataError) -> Self {
        AppError::NotFound(e.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    Csv,
    Json,
    GeoJson,
}

impl DataFormat {
    pub fn parse(s: &str) -> Option<DataFormat> {
        match s {
            "csv" => Some(DataFormat::Csv),
            "json" => Some(DataFormat::Json),
            "geojson" => Some(DataFormat::GeoJson),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            DataFormat::Csv => "csv",
            DataFormat::Json => "json",
            DataFormat::GeoJson => "geojson",
        }
    }

    fn media_type(self) -> &'static str {
        match self {
            DataFormat::Csv => "text/csv; charset=utf-8",
            DataFormat::Json => "application/json",
            DataFormat::GeoJson => "application/geo+json",
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/opendata", get(list))
        .route("/opendata/{file}", get(download))
}

#[derive(Debug, Serialize)]
struct FieldDoc {
    name: &'static str,
    #[serde(rename = "type")]
    field_type: &'static str,
    title: Titles,
}

#[derive(Debug, Serialize)]
struct Titles {
    uk: &'static str,
    en: &'static str,
}

#[derive(Debug, Serialize)]
struct DatasetDoc {
    id: &'static str,
    title: Titles,
    formats: &'static [&'static str],
    /// Download links, `{public url}/opendata/{id}.{format}`.
    downloads: Vec<String>,
    /// The structure: every field in file order. CSV adds a last column
    /// `geometry` (WKT, WGS 84) for datasets with geometry.
    fields: Vec<FieldDoc>,
}

/// The open datasets with their structure descriptions.
#[utoipa::path(get, path = "/opendata", tag = "open data",
    responses((status = 200, description = "Every dataset: id, titles, formats, download links and field structure (name, type, title uk/en)", content_type = "application/json")))]
pub async fn list(State(state): State<AppState>) -> Json<serde_json::Value> {
    let base = crate::ogc::base(&state);
    let docs: Vec<DatasetDoc> = DATASETS
        .iter()
        .map(|d| DatasetDoc {
            id: d.id,
            title: Titles {
                uk: d.title_uk,
                en: d.title_en,
            },
            formats: d.formats(),
            downloads: d
                .formats()
                .iter()
                .map(|f| format!("{base}/opendata/{}.{f}", d.id))
                .collect(),
            fields: d
                .fields
                .iter()
                .map(|f| FieldDoc {
                    name: f.name,
                    field_type: f.field_type,
                    title: Titles {
                        uk: f.title_uk,
                        en: f.title_en,
                    },
                })
                .collect(),
        })
        .collect();
    Json(serde_json::json!({ "datasets": docs }))
}

/// Resolves `DATASET.FORMAT`.
pub fn resolve(file: &str) -> Result<(&'static Dataset, DataFormat), OpenDataError> {
    let (id, ext) = file
        .rsplit_once('.')
        .ok_or_else(|| OpenDataError::BadName(file.to_string()))?;
    let dataset = datasets::get(id).ok_or_else(|| OpenDataError::UnknownDataset(id.to_string()))?;
    match DataFormat::parse(ext) {
        Some(format) if dataset.formats().contains(&format.extension()) => Ok((dataset, format)),
        _ => Err(OpenDataError::UnknownFormat {
            dataset: id.to_string(),
            format: ext.to_string(),
            allowed: dataset.formats().join(", "),
        }),
    }
}

/// One dataset as a file, streamed.
#[utoipa::path(get, path = "/opendata/{file}", tag = "open data",
    params(("file" = String, Path, description = "DATASET.FORMAT, e.g. advertising_permits.csv; formats csv, json, geojson (with geometry)")),
    responses(
        (status = 200, description = "The dataset (CSV UTF-8 with header, JSON array of records, or GeoJSON FeatureCollection)", content(("text/csv"), ("application/json"), ("application/geo+json"))),
        (status = 404, description = "No such dataset or format", content_type = "application/problem+json"),
    ))]
pub async fn download(State(state): State<AppState>, UrlPath(file): UrlPath<String>) -> AppResult<Response> {
    let (dataset, format) = resolve(&file)?;
    let body = spawn_stream(state.replicas.read_pool(None, None).await, dataset, format);
    let mut response = Response::new(Body::from_stream(body));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.media_type()));
    let disposition = format!("attachment; filename=\"{}.{}\"", dataset.id, format.extension());
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// Expands the helpers used in field SQL (see `datasets`): `code8(x)`,
/// `legal_name(name, code)`, `lat(g)`, `lon(g)`.
fn expand(sql: &str) -> String {
    let mut out = sql.to_string();
    for name in ["code8", "legal_name", "lat", "lon"] {
        let open = format!("{name}(");
        while let Some(start) = find_call(&out, &open) {
            let args_start = start + open.len();
            let mut depth = 1;
            let mut end = args_start;
            for (i, c) in out[args_start..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = args_start + i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let args: Vec<&str> = out[args_start..end].split(", ").collect();
            let a = |i: usize| args.get(i).copied().unwrap_or("NULL");
            let replacement = match name {
                // Only an 8-digit EDRPOU (a legal entity) is published.
                "code8" => format!("(CASE WHEN ({0})::text ~ '^[0-9]{{8}}$' THEN ({0})::text END)", a(0)),
                // A name next to a 10-digit tax number is a private person's.
                "legal_name" => format!(
                    "(CASE WHEN coalesce(({1})::text, '') ~ '^[0-9]{{10}}$' THEN NULL ELSE {0} END)",
                    a(0),
                    a(1)
                ),
                "lat" => format!(
                    "round(ST_Y(ST_PointOnSurface(ST_Transform({}, 4326)))::numeric, 7)",
                    a(0)
                ),
                _ => format!(
                    "round(ST_X(ST_PointOnSurface(ST_Transform({}, 4326)))::numeric, 7)",
                    a(0)
                ),
            };
            out.replace_range(start..=end, &replacement);
        }
    }
    out
}

/// The start of a call `open` that is not the tail of a longer name.
fn find_call(sql: &str, open: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = sql[from..].find(open) {
        let at = from + i;
        let prev = sql[..at].chars().next_back();
        if !prev.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Some(at);
        }
        from = at + open.len();
    }
    None
}

/// The fields after `id`, as the writers' columns.
fn columns(dataset: &Dataset) -> Vec<Column> {
    dataset
        .fields
        .iter()
        .skip(1)
        .map(|f| Column {
            name: f.name.to_string(),
            title: f.title_en.to_string(),
            attr_type: AttrType::String,
        })
        .collect()
}

/// `SELECT count(*)` of the dataset.
pub fn count_sql(dataset: &Dataset) -> String {
    format!("SELECT count(*) {}", dataset.from_sql)
}

/// The rows in the shape the writers read: `id`, `geometry`, then either
/// `properties` (JSON text) or every field as text (CSV).
pub fn select_sql(dataset: &Dataset, format: DataFormat) -> String {
    let fields = &dataset.fields[1..];
    let id_type = if dataset.fields[0].field_type == "string" {
        "text"
    } else {
        "int8"
    };
    let mut sql = format!("SELECT ({})::{id_type} AS id, ", dataset.id_sql);
    match (format, dataset.geometry_sql) {
        (DataFormat::Csv, Some(g)) => sql.push_str(&format!("ST_AsText(ST_Transform({g}, 4326)) AS geometry")),
        (_, Some(g)) => sql.push_str(&format!("ST_AsGeoJSON(ST_Transform({g}, 4326), 7, 0) AS geometry")),
        (_, None) => sql.push_str("NULL::text AS geometry"),
    }
    match format {
        DataFormat::Csv => {
            for f in fields {
                sql.push_str(&format!(", ({})::text AS \"{}\"", f.sql, f.name));
            }
        }
        DataFormat::Json | DataFormat::GeoJson => {
            // json_build_object takes at most 100 arguments: 50 fields.
            sql.push_str(", json_build_object(");
            if format == DataFormat::Json {
                sql.push_str("'id', ");
                sql.push_str(dataset.id_sql);
                if !fields.is_empty() {
                    sql.push_str(", ");
                }
            }
            let pairs: Vec<String> = fields.iter().map(|f| format!("'{}', {}", f.name, f.sql)).collect();
            sql.push_str(&pairs.join(", "));
            sql.push_str(")::text AS properties");
        }
    }
    sql.push(' ');
    sql.push_str(dataset.from_sql);
    sql.push_str(" ORDER BY 1");
    expand(&sql)
}

/// A JSON array of records (the `properties` of each row, which include
/// `id`), framed as they stream.
#[derive(Default)]
struct JsonArrayWriter {
    buf: Vec<u8>,
    first: bool,
}

impl FeatureWriter for JsonArrayWriter {
    fn begin(&mut self, _page: &Page) -> Result<(), FormatError> {
        self.buf.push(b'[');
        self.first = true;
        Ok(())
    }
    fn feature(&mut self, row: &PgRow) -> Result<(), FormatError> {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        let properties: &str = row.try_get("properties")?;
        self.buf.extend_from_slice(properties.as_bytes());
        self.buf.push(b'\n');
        Ok(())
    }
    fn end(&mut self, _page: &Page, _returned: i64) -> Result<(), FormatError> {
        self.buf.extend_from_slice(b"]\n");
        Ok(())
    }
    fn buffered(&self) -> usize {
        self.buf.len()
    }
    fn take(&mut self) -> Result<Vec<u8>, FormatError> {
        Ok(std::mem::take(&mut self.buf))
    }
}

fn writer(dataset: &Dataset, format: DataFormat) -> Box<dyn FeatureWriter> {
    match format {
        DataFormat::Csv if dataset.has_geometry() => Box::new(formats::csv::CsvWriter::new()),
        DataFormat::Csv => Box::new(formats::csv::CsvWriter::without_geometry()),
        DataFormat::GeoJson => Box::new(formats::geojson::GeoJsonWriter::default()),
        DataFormat::Json => Box::new(JsonArrayWriter::default()),
    }
}

type BodyRx = futures::channel::mpsc::Receiver<Result<Bytes, std::io::Error>>;

/// Streams a dataset from a task: rows go through the writer in chunks of
/// about `CHUNK` bytes into a bounded channel, so memory stays constant.
pub fn spawn_stream(pool: PgPool, dataset: &'static Dataset, format: DataFormat) -> BodyRx {
    let (mut tx, rx) = futures::channel::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        if let Err(e) = stream(&pool, dataset, format, &mut tx).await
            && !matches!(e, StreamError::ClientGone)
        {
            tracing::error!(dataset = dataset.id, error = %e, "open data stream failed");
            // After the status line the only honest signal is a broken body.
            let _ = tx.send(Err(std::io::Error::other("stream failed"))).await;
        }
    });
    rx
}

#[derive(Debug, thiserror::Error)]
enum StreamError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("the client went away")]
    ClientGone,
}

async fn stream(
    pool: &PgPool,
    dataset: &'static Dataset,
    format: DataFormat,
    tx: &mut futures::channel::mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), StreamError> {
    let matched: i64 = sqlx::query_scalar(&count_sql(dataset)).fetch_one(pool).await?;
    let page = Page {
        collection_title: dataset.title_en.to_string(),
        matched,
        offset: 0,
        time_stamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        links: Vec::new(),
        columns: columns(dataset),
        items_url: String::new(),
        crs_uri: "http://www.opengis.net/def/crs/OGC/1.3/CRS84".into(),
    };
    let mut writer = writer(dataset, format);
    let sql = select_sql(dataset, format);
    let mut rows = sqlx::query(&sql).fetch(pool);
    writer.begin(&page)?;
    let mut returned = 0i64;
    while let Some(row) = rows.next().await {
        writer.feature(&row?)?;
        returned += 1;
        if writer.buffered() >= CHUNK {
            let chunk = writer.take()?;
            tx.send(Ok(Bytes::from(chunk)))
                .await
                .map_err(|_| StreamError::ClientGone)?;
        }
    }
    writer.end(&page, returned)?;
    let chunk = writer.take()?;
    tx.send(Ok(Bytes::from(chunk)))
        .await
        .map_err(|_| StreamError::ClientGone)?;
    Ok(())
}

/// `geoportal export DIR`: every dataset in every format, with a progress
/// bar. Returns the files written.
pub async fn export(pool: &PgPool, dir: &Path, progress: bool) -> anyhow::Result<Vec<std::path::PathBuf>> {
    use tokio::io::AsyncWriteExt;
    tokio::fs::create_dir_all(dir).await?;
    let jobs: Vec<(&'static Dataset, DataFormat)> = DATASETS
        .iter()
        .flat_map(|d| {
            d.formats()
                .iter()
                .filter_map(move |f| DataFormat::parse(f).map(|f| (d, f)))
        })
        .collect();
    let bar = if progress {
        indicatif::ProgressBar::new(jobs.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut written = Vec::new();
    for (dataset, format) in jobs {
        let name = format!("{}.{}", dataset.id, format.extension());
        bar.set_message(name.clone());
        let path = dir.join(&name);
        let mut file = tokio::io::BufWriter::new(tokio::fs::File::create(&path).await?);
        let mut rx = spawn_stream(pool.clone(), dataset, format);
        while let Some(chunk) = rx.next().await {
            file.write_all(&chunk?).await?;
        }
        file.flush().await?;
        written.push(path);
        bar.inc(1);
    }
    bar.finish_with_message("done");
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_helpers() {
        let s = expand("code8(a.x), legal_name(a.n, a.c), lat(a.geom)");
        assert!(s.contains("'^[0-9]{8}$'") && s.contains("'^[0-9]{10}$'") && s.contains("ST_Y("));
        assert!(!s.contains("code8(") && !s.contains("legal_name("));
    }

    #[test]
    fn resolves_names() {
        assert!(resolve("deputies.csv").is_ok());
        assert!(resolve("deputies.geojson").is_err());
        assert!(resolve("nope.csv").is_err());
        assert!(resolve("deputies").is_err());
    }
}
