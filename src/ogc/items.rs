//! `GET /ogc/collections/{collectionId}/items` and `/items/{featureId}`.
//!
//! A page is streamed: a task runs the count and the page query together,
//! answers the handler once both have started (so a bad filter is still a
//! clean 400), then writes rows into the body in 64 KiB chunks through a
//! small channel — server memory stays constant whatever `limit` is.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use sqlx::Row;

use super::collections::visible_layer;
use super::crs::Crs;
use super::formats::{self, CSV, Column, FeatureWriter, Format, GEOJSON, HTML, Lang, Link, Page, html};
use super::params::{self, ITEM, ITEMS, Params};
use super::query::{self, Projection, Selection};
use super::{OgcError, base};
use crate::access::Viewer;
use crate::error::{AppError, AppResult};
use crate::query::parse_filter;
use crate::registry::Layer;
use crate::server::AppState;

/// Body chunks are sent when this much is buffered.
const CHUNK: usize = 64 * 1024;

static CONTENT_CRS: HeaderName = HeaderName::from_static("content-crs");

/// A database error at the start of a request. When the client wrote part
/// of the condition (a filter, typed values), a type or evaluation error
/// is theirs: 400 with PostgreSQL's message (which names no data).
fn db_error(e: sqlx::Error, client_expressions: bool) -> AppError {
    if client_expressions
        && let sqlx::Error::Database(db) = &e
        && let Some(code) = db.code()
        && (code.starts_with("22") || ["42883", "42804", "42846", "XX000"].contains(&code.as_ref()))
    {
        return AppError::BadRequest(format!(
            "the filter cannot be evaluated on this collection: {}",
            db.message()
        ));
    }
    AppError::Database(e)
}

fn media_type(format: Format) -> &'static str {
    match format {
        Format::Json => GEOJSON,
        Format::Html => HTML,
        Format::Csv => CSV,
    }
}

fn content_type(format: Format) -> &'static str {
    match format {
        Format::Json => GEOJSON,
        Format::Html => "text/html; charset=utf-8",
        Format::Csv => "text/csv; charset=utf-8",
    }
}

fn columns(layer: &Layer, names: &[String], lang: Lang) -> Vec<Column> {
    names
        .iter()
        .filter_map(|n| layer.attribute(n))
        .map(|a| Column {
            name: a.name.clone(),
            title: lang.pick(&a.title).to_string(),
            attr_type: a.attr_type,
        })
        .collect()
}

/// The requested properties, or every readable attribute.
fn property_names(params: &Params, layer: &Layer, viewer: &Viewer) -> Result<Vec<String>, OgcError> {
    Ok(match params::properties(params, layer, &viewer.roles)? {
        Some(names) => names,
        None => layer
            .readable_attributes(&viewer.roles)
            .map(|a| a.name.clone())
            .collect(),
    })
}

/// Links of an items page; `next` and `prev` follow offset paging.
struct PageLinks {
    items_url: String,
    params: Params,
    format: Format,
    limit: i64,
    offset: i64,
}

impl PageLinks {
    fn href(&self, set: &[(&str, String)]) -> String {
        let q = self.params.link_query(set, &[]);
        format!("{}?{q}", self.items_url)
    }

    fn links(&self, matched: i64, collection_url: &str) -> Vec<Link> {
        let f = |fmt: Format| ("f", fmt.param().to_string());
        let mut links = vec![Link::new(
            self.href(&[f(self.format)]),
            "self",
            media_type(self.format),
            "Ця сторінка / this page",
        )];
        for other in [Format::Json, Format::Html, Format::Csv] {
            if other != self.format {
                links.push(Link::new(
                    self.href(&[f(other)]),
                    "alternate",
                    media_type(other),
                    other.param(),
                ));
            }
        }
        if self.offset.saturating_add(self.limit) < matched {
            links.push(Link::new(
                self.href(&[
                    f(self.format),
                    ("offset", self.offset.saturating_add(self.limit).to_string()),
                ]),
                "next",
                media_type(self.format),
                "Наступна сторінка / next page",
            ));
        }
        if self.offset > 0 {
            let prev = self.offset.saturating_sub(self.limit).max(0);
            links.push(Link::new(
                self.href(&[f(self.format), ("offset", prev.to_string())]),
                "prev",
                media_type(self.format),
                "Попередня сторінка / previous page",
            ));
        }
        links.push(Link::new(
            collection_url,
            "collection",
            formats::JSON,
            "Шар / collection",
        ));
        links
    }
}

fn header_value(text: &str) -> Result<HeaderValue, AppError> {
    HeaderValue::from_str(text).map_err(|e| AppError::Internal(anyhow::anyhow!("header value: {e}")))
}

/// `Link` header values for next/prev (RFC 8288), for clients of CSV.
fn link_header(links: &[Link]) -> Option<String> {
    let parts: Vec<String> = links
        .iter()
        .filter(|l| l.rel == "next" || l.rel == "prev")
        .map(|l| format!("<{}>; rel=\"{}\"", l.href, l.rel))
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Features of a collection, a page at a time.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/items", tag = "OGC API Features",
    params(
        ("collectionId" = String, Path, description = "Layer id"),
        ("f" = Option<String>, Query, description = "json (GeoJSON, default), html or csv; or use Accept"),
        ("bbox" = Option<String>, Query, description = "4 or 6 numbers: lower and upper corner, in the axis order of bbox-crs"),
        ("bbox-crs" = Option<String>, Query, description = "CRS of bbox (a URI from the collection's crs list); default CRS84"),
        ("datetime" = Option<String>, Query, description = "Instant or interval (`a/b`, open ends `..`) on the layer's temporal attribute; dates are days in Europe/Kyiv"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 10000, description = "Page size, default 100, at most 10000"),
        ("offset" = Option<i64>, Query, minimum = 0, description = "Features skipped (used by next/prev links)"),
        ("properties" = Option<String>, Query, description = "Comma-separated subset of the properties"),
        ("sortby" = Option<String>, Query, description = "Comma-separated keys, `+name` ascending (default), `-name` descending"),
        ("filter" = Option<String>, Query, description = "CQL2 filter"),
        ("filter-lang" = Option<String>, Query, description = "cql2-text (default) or cql2-json"),
        ("filter-crs" = Option<String>, Query, description = "CRS of geometry literals in filter; default CRS84"),
        ("crs" = Option<String>, Query, description = "Output CRS (a URI from the collection's crs list); default CRS84. EPSG:4326 and the Ukrainian systems follow their EPSG axis order"),
    ),
    responses(
        (status = 200, description = "GeoJSON FeatureCollection with numberMatched, numberReturned, timeStamp, links; or CSV (WKT geometry) or HTML. Header Content-Crs names the CRS", content(("application/geo+json"), ("text/csv"), ("text/html"))),
        (status = 400, description = "Unknown parameter; malformed bbox, datetime, limit, filter; unsupported CRS or format", content_type = "application/problem+json"),
        (status = 404, description = "No such collection for this requester", content_type = "application/problem+json"),
    ))]
pub async fn items(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(collection_id): Path<String>,
    RawQuery(q): RawQuery,
) -> AppResult<Response> {
    let layer = visible_layer(&state, &viewer, &collection_id)?;
    let params = Params::parse(q.as_deref())?;
    // Besides the standard parameters: `name=value` on readable attributes.
    params.only(ITEMS, |name| {
        layer.attribute(name).is_some_and(|a| a.read.allows(&viewer.roles))
    })?;
    let format = formats::negotiate(&params, &headers, true)?;
    let lang = formats::lang(&headers);
    let limit = params::limit(&params)?;
    let offset = params::offset(&params)?;
    let crs = params::crs(&params, "crs")?;
    let filter_crs = params::crs(&params, "filter-crs")?;
    let filter_lang = params.get("filter-lang");
    if let Some(l) = filter_lang
        && l != "cql2-text"
        && l != "cql2-json"
    {
        return Err(OgcError::Filter(crate::query::FilterError::UnknownLanguage(l.to_string())).into());
    }
    let filter = params
        .get("filter")
        .map(|f| parse_filter(f, filter_lang))
        .transpose()
        .map_err(OgcError::from)?;
    let mut equals = Vec::new();
    for (name, value) in params.pairs() {
        if ITEMS.contains(&name.as_str()) {
            continue;
        }
        if let Some(a) = layer.attribute(name) {
            if !params::is_scalar(a.attr_type) {
                return Err(OgcError::BadParameter {
                    name: name.clone(),
                    reason: format!(
                        "a {} property cannot be compared with name=value; use filter",
                        a.attr_type.as_str()
                    ),
                }
                .into());
            }
            params::check_value(name, a.attr_type, value)?;
            equals.push((name.clone(), value.clone()));
        }
    }
    let selection = Selection {
        bbox: params::bbox(&params)?,
        datetime: params::datetime(&params)?,
        filter,
        filter_srid: filter_crs.srid,
        equals,
        feature_id: None,
    };
    let properties = property_names(&params, &layer, &viewer)?;
    let sort = params::sortby(&params, &layer, &viewer.roles)?;
    let projection = Projection {
        properties: properties.clone(),
        crs,
        format,
    };
    let page_qb = query::page(&layer, &viewer, &selection, &projection, &sort, limit, offset)?;
    let count_qb = query::count(&layer, &viewer, &selection)?;
    let client_expressions = selection.has_client_expressions();

    let collection_url = format!("{}/collections/{}", base(&state), layer.id);
    let items_url = format!("{collection_url}/items");
    let page_links = PageLinks {
        items_url: items_url.clone(),
        params,
        format,
        limit,
        offset,
    };
    let page_template = Page {
        collection_title: lang.pick(&layer.title).to_string(),
        matched: 0,
        offset,
        time_stamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        links: Vec::new(),
        columns: columns(&layer, &properties, lang),
        items_url,
        crs_uri: crs.uri(),
    };

    let (start_tx, start_rx) = tokio::sync::oneshot::channel::<Result<Page, AppError>>();
    let (body_tx, body_rx) = futures::channel::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let pool = state.reader_for(&viewer, &[layer.table()]).await;
    let writer = formats::writer(format);
    let layer_id = layer.id.clone();
    tokio::spawn(async move {
        stream_page(StreamJob {
            pool,
            page_qb,
            count_qb,
            client_expressions,
            page: page_template,
            page_links,
            collection_url,
            writer,
            start: start_tx,
            body: body_tx,
            layer_id,
        })
        .await;
    });
    let page = start_rx
        .await
        .map_err(|_| AppError::Internal(anyhow::anyhow!("the page task ended before starting")))??;

    let mut response = Response::new(Body::from_stream(body_rx));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(format)));
    h.insert(CONTENT_CRS.clone(), header_value(&format!("<{}>", crs.uri()))?);
    if let Some(link) = link_header(&page.links) {
        h.insert(header::LINK, header_value(&link)?);
    }
    if format == Format::Csv {
        h.insert(
            header::CONTENT_DISPOSITION,
            header_value(&format!("attachment; filename=\"{collection_id}.csv\""))?,
        );
    }
    Ok(response)
}

struct StreamJob {
    pool: sqlx::PgPool,
    page_qb: sqlx::QueryBuilder<'static, sqlx::Postgres>,
    count_qb: sqlx::QueryBuilder<'static, sqlx::Postgres>,
    client_expressions: bool,
    page: Page,
    page_links: PageLinks,
    collection_url: String,
    writer: Box<dyn FeatureWriter>,
    start: tokio::sync::oneshot::Sender<Result<Page, AppError>>,
    body: futures::channel::mpsc::Sender<Result<Bytes, std::io::Error>>,
    layer_id: String,
}

async fn stream_page(job: StreamJob) {
    let StreamJob {
        pool,
        mut page_qb,
        mut count_qb,
        client_expressions,
        mut page,
        page_links,
        collection_url,
        mut writer,
        start,
        mut body,
        layer_id,
    } = job;
    let count = count_qb.build_query_scalar::<i64>().fetch_one(&pool);
    let mut rows = page_qb.build().fetch(&pool);
    let (count, first) = tokio::join!(count, rows.next());
    let matched = match count {
        Ok(n) => n,
        Err(e) => {
            let _ = start.send(Err(db_error(e, client_expressions)));
            return;
        }
    };
    let first = match first {
        Some(Err(e)) => {
            let _ = start.send(Err(db_error(e, client_expressions)));
            return;
        }
        Some(Ok(row)) => Some(row),
        None => None,
    };
    page.matched = matched;
    page.links = page_links.links(matched, &collection_url);
    if start.send(Ok(page.clone())).is_err() {
        return;
    }
    let mut returned: i64 = 0;
    let result: Result<(), Stop> = async {
        writer.begin(&page)?;
        if let Some(row) = first {
            writer.feature(&row)?;
            returned += 1;
        }
        while let Some(row) = rows.next().await {
            writer.feature(&row.map_err(formats::FormatError::from)?)?;
            returned += 1;
            if writer.buffered() >= CHUNK {
                let chunk = writer.take()?;
                body.send(Ok(Bytes::from(chunk))).await.map_err(|_| Stop::ClientGone)?;
            }
        }
        writer.end(&page, returned)?;
        let chunk = writer.take()?;
        body.send(Ok(Bytes::from(chunk))).await.map_err(|_| Stop::ClientGone)?;
        Ok(())
    }
    .await;
    if let Err(Stop::Failed(e)) = result {
        // After the status line the only honest signal is a broken body.
        tracing::error!(layer = %layer_id, error = %e, "items stream failed");
        let _ = body.send(Err(std::io::Error::other("stream failed"))).await;
    }
}

/// Why a stream stopped early.
enum Stop {
    /// The client closed the connection: nothing to report.
    ClientGone,
    Failed(formats::FormatError),
}

impl From<formats::FormatError> for Stop {
    fn from(e: formats::FormatError) -> Self {
        Stop::Failed(e)
    }
}

/// One feature.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/items/{featureId}", tag = "OGC API Features",
    params(
        ("collectionId" = String, Path, description = "Layer id"),
        ("featureId" = i64, Path, description = "Feature id"),
        ("f" = Option<String>, Query, description = "json (GeoJSON, default), html or csv"),
        ("crs" = Option<String>, Query, description = "Output CRS; default CRS84"),
        ("properties" = Option<String>, Query, description = "Comma-separated subset of the properties"),
        ("asOf" = Option<String>, Query, description = "RFC 3339 timestamp: the feature as it was then (GeoJSON, CRS84; 404 if it did not exist)"),
    ),
    responses(
        (status = 200, description = "GeoJSON Feature (or HTML, CSV); headers Content-Crs and ETag (the version, for If-Match)", content(("application/geo+json"), ("text/html"), ("text/csv"))),
        (status = 400, description = "Unknown parameter, unsupported CRS or format", content_type = "application/problem+json"),
        (status = 404, description = "No such collection or feature for this requester", content_type = "application/problem+json"),
    ))]
pub async fn item(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path((collection_id, feature_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> AppResult<Response> {
    let layer = visible_layer(&state, &viewer, &collection_id)?;
    let not_found = || OgcError::NoFeature {
        collection: collection_id.clone(),
        feature: feature_id.clone(),
    };
    let fid: i64 = feature_id.parse().map_err(|_| not_found())?;
    let params = Params::parse(q.as_deref())?;
    params.only(ITEM, |name| name == "asOf")?;
    if let Some(at) = params.get("asOf") {
        return super::edit::history::as_of(&state, &viewer, &layer, fid, at, &params).await;
    }
    let format = formats::negotiate(&params, &headers, true)?;
    let lang = formats::lang(&headers);
    let crs: Crs = params::crs(&params, "crs")?;
    let properties = property_names(&params, &layer, &viewer)?;
    let selection = Selection {
        feature_id: Some(fid),
        filter_srid: 4326,
        ..Selection::default()
    };
    let projection = Projection {
        properties: properties.clone(),
        crs,
        format,
    };
    let mut qb = query::one(&layer, &viewer, &selection, &projection)?;
    let reader = state.reader_for(&viewer, &[layer.table()]).await;
    let row = qb.build().fetch_optional(&reader).await?.ok_or_else(not_found)?;
    let collection_url = format!("{}/collections/{}", base(&state), layer.id);
    let url = format!("{collection_url}/items/{fid}");
    let crs_param = params
        .get("crs")
        .map(|c| format!("&crs={}", urlencode(c)))
        .unwrap_or_default();
    let links = vec![
        Link::new(
            format!("{url}?f=json{crs_param}"),
            "self",
            GEOJSON,
            "Цей об'єкт / this feature",
        ),
        Link::new(format!("{url}?f=html{crs_param}"), "alternate", HTML, "HTML"),
        Link::new(collection_url.clone(), "collection", formats::JSON, "Шар / collection"),
    ];
    let body = match format {
        Format::Json => {
            let mut buf = Vec::new();
            formats::geojson::write_feature(&mut buf, &row, Some(&serde_json::json!(links)))
                .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
            buf
        }
        Format::Csv => {
            let mut w = formats::csv::CsvWriter::new();
            let page = Page {
                collection_title: String::new(),
                matched: 1,
                offset: 0,
                time_stamp: String::new(),
                links: Vec::new(),
                columns: columns(&layer, &properties, lang),
                items_url: String::new(),
                crs_uri: crs.uri(),
            };
            w.begin(&page)
                .and_then(|_| w.feature(&row))
                .and_then(|_| w.take())
                .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?
        }
        Format::Html => item_html(&layer, lang, fid, &row, &links, &columns(&layer, &properties, lang))?.into_bytes(),
    };
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(format)));
    h.insert(CONTENT_CRS.clone(), header_value(&format!("<{}>", crs.uri()))?);
    // The version, for If-Match on writes (OGC API Features Part 4).
    if let Some(v) = super::edit::history::current_version(&reader, &layer, fid).await? {
        h.insert(header::ETAG, header_value(&super::edit::etag(v))?);
    }
    Ok(response)
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("x", text)])
        .map(|s| s.trim_start_matches("x=").to_string())
        .unwrap_or_default()
}

fn item_html(
    layer: &Arc<Layer>,
    lang: Lang,
    fid: i64,
    row: &sqlx::postgres::PgRow,
    links: &[Link],
    columns: &[Column],
) -> Result<String, AppError> {
    let mut s = html::head(&format!("{} — {fid}", lang.pick(&layer.title)));
    s.push_str(&html::links(links));
    s.push_str("<table>");
    for (i, c) in columns.iter().enumerate() {
        let value: Option<String> = row.try_get(i + 2)?;
        let shown = value.map(|v| html::display(c.attr_type, &v)).unwrap_or_default();
        s.push_str(&format!(
            "<tr><th title=\"{}\">{}</th><td>{}</td></tr>",
            html::esc(&c.name),
            html::esc(&c.title),
            html::esc(&shown)
        ));
    }
    let geometry: Option<String> = row.try_get("geometry")?;
    s.push_str(&format!(
        "</table><details><summary>WKT</summary><code>{}</code></details>",
        html::esc(&geometry.unwrap_or_default())
    ));
    s.push_str(html::FOOT);
    Ok(s)
}
