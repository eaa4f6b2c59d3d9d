//! `GET /ogc/collections` and `/ogc/collections/{collectionId}`: the
//! layers the viewer may see, with extents computed from the rows the
//! viewer may see (cached in memory for a minute), the CRS list and links.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};
use sqlx::{QueryBuilder, Row};

use super::crs::{CRS84_URI, Crs};
use super::formats::{self, CSV, GEOJSON, HTML, JSON, Lang, Link, SCHEMA_JSON, html};
use super::params::{ONLY_F, Params};
use super::{OgcError, base, document};
use crate::access::Viewer;
use crate::error::AppResult;
use crate::query::{ident, push_visible_rows};
use crate::registry::{AttrType, Layer};
use crate::server::AppState;

/// How long a computed extent is served before it is computed again.
const EXTENT_TTL: Duration = Duration::from_secs(60);

/// A collection's extent over the rows a viewer may see.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extent {
    /// min lon, min lat, max lon, max lat (CRS84); None without rows.
    pub bbox: Option<[f64; 4]>,
    /// First and last instant of the temporal attribute (RFC 3339, UTC).
    pub interval: Option<(Option<String>, Option<String>)>,
}

/// Extents per (layer, viewer cache key). Extents depend on row rules, so
/// they are cached per kind of viewer, never shared across them.
#[derive(Debug, Default)]
pub struct ExtentCache {
    entries: Mutex<HashMap<(String, String), (Instant, Extent)>>,
}

impl ExtentCache {
    pub async fn get(&self, state: &AppState, layer: &Layer, viewer: &Viewer) -> AppResult<Extent> {
        let key = (layer.id.clone(), viewer.cache_key());
        if let Ok(entries) = self.entries.lock()
            && let Some((at, extent)) = entries.get(&key)
            && at.elapsed() < EXTENT_TTL
        {
            return Ok(extent.clone());
        }
        let extent = compute_extent(state, layer, viewer).await?;
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(key, (Instant::now(), extent.clone()));
        }
        Ok(extent)
    }
}

async fn compute_extent(state: &AppState, layer: &Layer, viewer: &Viewer) -> AppResult<Extent> {
    let geom = layer.geom_sql("t");
    let mut qb = QueryBuilder::new(format!(
        "SELECT ST_XMin(e)::float8 AS x1, ST_YMin(e)::float8 AS y1, ST_XMax(e)::float8 AS x2, \
         ST_YMax(e)::float8 AS y2, t1, t2 FROM (SELECT ST_Extent({geom}) AS e"
    ));
    let temporal = layer
        .temporal
        .as_deref()
        .and_then(|name| layer.attribute(name))
        .filter(|a| a.read.allows(&viewer.roles));
    match temporal {
        Some(a) if a.attr_type == AttrType::Date => {
            let c = format!("t.{}", ident(&a.name));
            qb.push(format!(
                ", to_char(min({c}), 'YYYY-MM-DD\"T00:00:00Z\"') AS t1, \
                 to_char(max({c}), 'YYYY-MM-DD\"T00:00:00Z\"') AS t2"
            ));
        }
        Some(a) => {
            let c = format!("t.{}", ident(&a.name));
            qb.push(format!(
                ", to_char(min({c}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS t1, \
                 to_char(max({c}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS t2"
            ));
        }
        None => {
            qb.push(", NULL::text AS t1, NULL::text AS t2");
        }
    }
    qb.push(format!(" FROM {} t WHERE ", ident(layer.table())));
    push_visible_rows(&mut qb, layer, viewer, "t");
    qb.push(") s");
    let row = qb
        .build()
        .fetch_one(&state.reader_for(viewer, &[layer.table()]).await)
        .await?;
    let coords: [Option<f64>; 4] = [
        row.try_get("x1")?,
        row.try_get("y1")?,
        row.try_get("x2")?,
        row.try_get("y2")?,
    ];
    let bbox = match coords {
        [Some(a), Some(b), Some(c), Some(d)] => Some([a, b, c, d]),
        _ => None,
    };
    let interval = temporal.map(|_| -> Result<_, sqlx::Error> { Ok((row.try_get("t1")?, row.try_get("t2")?)) });
    Ok(Extent {
        bbox,
        interval: interval.transpose()?,
    })
}

/// The collection document of a layer (Part 1 and Part 2 members).
pub fn collection_doc(state: &AppState, layer: &Layer, lang: Lang, extent: &Extent) -> Value {
    let url = format!("{}/collections/{}", base(state), layer.id);
    let mut links = collection_links(&url);
    if !layer.has_geometry() {
        // A register: no tiles.
        links.retain(|l| !l.rel.contains("tilesets"));
    }
    let mut extent_doc = serde_json::Map::new();
    if let Some(b) = extent.bbox {
        extent_doc.insert("spatial".into(), json!({ "bbox": [b], "crs": CRS84_URI }));
    }
    if let Some((start, end)) = &extent.interval {
        extent_doc.insert(
            "temporal".into(),
            json!({
                "interval": [[start, end]],
                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
            }),
        );
    }
    let mut doc = json!({
        "id": layer.id,
        "title": lang.pick(&layer.title),
        "description": lang.pick(&layer.description),
        "itemType": "feature",
        "crs": Crs::all().map(|c| c.uri()).collect::<Vec<_>>(),
        "storageCrs": CRS84_URI,
        "links": links,
    });
    if !extent_doc.is_empty()
        && let Some(obj) = doc.as_object_mut()
    {
        obj.insert("extent".into(), Value::Object(extent_doc));
    }
    if let (Some(attribution), Some(obj)) = (&layer.attribution, doc.as_object_mut()) {
        obj.insert("attribution".into(), json!(attribution));
    }
    doc
}

fn collection_links(url: &str) -> Vec<Link> {
    vec![
        Link::new(format!("{url}?f=json"), "self", JSON, "Цей шар / this collection"),
        Link::new(format!("{url}?f=html"), "alternate", HTML, "HTML"),
        Link::new(format!("{url}/items"), "items", GEOJSON, "Об'єкти (GeoJSON) / features"),
        Link::new(
            format!("{url}/items?f=html"),
            "items",
            HTML,
            "Об'єкти (HTML) / features",
        ),
        Link::new(format!("{url}/items?f=csv"), "items", CSV, "Об'єкти (CSV) / features"),
        Link::new(
            format!("{url}/queryables"),
            "http://www.opengis.net/def/rel/ogc/1.0/queryables",
            SCHEMA_JSON,
            "Поля для фільтрів / queryables",
        ),
        Link::new(
            format!("{url}/tiles"),
            "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
            JSON,
            "Векторні тайли / vector tiles",
        ),
    ]
}

fn collection_html(doc: &Value) -> String {
    let text = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let links: Vec<Link> = doc
        .get("links")
        .and_then(|l| serde_json::from_value::<Vec<LinkIn>>(l.clone()).ok())
        .unwrap_or_default()
        .into_iter()
        .map(LinkIn::into_link)
        .collect();
    let mut s = format!(
        "<h2>{}</h2><p>{}</p>",
        html::esc(&text("title")),
        html::esc(&text("description"))
    );
    if let Some(b) = doc.pointer("/extent/spatial/bbox/0") {
        s.push_str(&format!("<p>bbox (CRS84): {}</p>", html::esc(&b.to_string())));
    }
    if let Some(i) = doc.pointer("/extent/temporal/interval/0") {
        s.push_str(&format!("<p>Час / time: {}</p>", html::esc(&i.to_string())));
    }
    s.push_str(&html::links(&links));
    s
}

#[derive(serde::Deserialize)]
struct LinkIn {
    href: String,
    rel: String,
    #[serde(rename = "type")]
    media_type: Option<String>,
    title: Option<String>,
}

impl LinkIn {
    fn into_link(self) -> Link {
        Link {
            href: self.href,
            rel: self.rel,
            media_type: self.media_type,
            title: self.title,
        }
    }
}

/// The layers the viewer may see.
#[utoipa::path(get, path = "/ogc/collections", tag = "OGC API Features",
    params(("f" = Option<String>, Query, description = "json or html")),
    responses(
        (status = 200, description = "The collections (layers) visible to the requester", content(("application/json"), ("text/html"))),
        (status = 400, description = "Unknown parameter or format", content_type = "application/problem+json"),
    ))]
pub async fn collections(
    State(state): State<AppState>,
    Extension(cache): Extension<Arc<ExtentCache>>,
    viewer: Viewer,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> AppResult<Response> {
    let params = Params::parse(q.as_deref())?;
    params.only(ONLY_F, |_| false)?;
    let format = formats::negotiate(&params, &headers, false)?;
    let lang = formats::lang(&headers);
    let layers: Vec<_> = state.registry.visible_to(&viewer.roles).cloned().collect();
    let extents = futures::future::try_join_all(layers.iter().map(|l| cache.get(&state, l, &viewer))).await?;
    let docs: Vec<Value> = layers
        .iter()
        .zip(&extents)
        .map(|(l, e)| collection_doc(&state, l, lang, e))
        .collect();
    let url = format!("{}/collections", base(&state));
    let links = vec![
        Link::new(format!("{url}?f=json"), "self", JSON, "Шари / collections"),
        Link::new(format!("{url}?f=html"), "alternate", HTML, "HTML"),
    ];
    let doc = json!({ "links": links, "collections": docs });
    Ok(document(format, JSON, &doc, || {
        let mut s = html::head("Шари / Collections");
        s.push_str(&html::links(&links));
        for d in &docs {
            s.push_str(&collection_html(d));
        }
        s.push_str(html::FOOT);
        s
    }))
}

/// One layer's metadata.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}", tag = "OGC API Features",
    params(
        ("collectionId" = String, Path, description = "Layer id, e.g. land_plots"),
        ("f" = Option<String>, Query, description = "json or html"),
    ),
    responses(
        (status = 200, description = "Collection: extent (CRS84 bbox, temporal), crs, storageCrs, links to items, queryables, tiles", content(("application/json"), ("text/html"))),
        (status = 400, description = "Unknown parameter or format", content_type = "application/problem+json"),
        (status = 404, description = "No such collection for this requester", content_type = "application/problem+json"),
    ))]
pub async fn collection(
    State(state): State<AppState>,
    Extension(cache): Extension<Arc<ExtentCache>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(collection_id): Path<String>,
    RawQuery(q): RawQuery,
) -> AppResult<Response> {
    let layer = visible_layer(&state, &viewer, &collection_id)?;
    let params = Params::parse(q.as_deref())?;
    params.only(ONLY_F, |_| false)?;
    let format = formats::negotiate(&params, &headers, false)?;
    let extent = cache.get(&state, &layer, &viewer).await?;
    let doc = collection_doc(&state, &layer, formats::lang(&headers), &extent);
    Ok(document(format, JSON, &doc, || {
        let mut s = html::head(formats::lang(&headers).pick(&layer.title));
        s.push_str(&collection_html(&doc));
        s.push_str(html::FOOT);
        s
    }))
}

/// The layer if the viewer may see it; otherwise it does not exist.
pub fn visible_layer(state: &AppState, viewer: &Viewer, id: &str) -> Result<Arc<Layer>, OgcError> {
    state
        .registry
        .get_visible(id, &viewer.roles)
        .cloned()
        .ok_or_else(|| OgcError::NoCollection(id.to_string()))
}
