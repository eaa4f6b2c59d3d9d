//! `GET /ogc/collections/{collectionId}/queryables`: the properties a
//! viewer may filter on, as a JSON Schema (2020-12) built from the registry:
//! the readable attributes with their types and code lists, the id and the
//! geometry.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::collections::visible_layer;
use super::formats::{self, Lang, SCHEMA_JSON, html};
use super::params::{ONLY_F, Params};
use super::{base, document};
use crate::access::Viewer;
use crate::error::AppResult;
use crate::registry::{AttrType, Attribute, GeometryType, Layer};
use crate::server::AppState;

fn attribute_schema(a: &Attribute, lang: Lang, temporal: bool) -> Value {
    let mut s = match a.attr_type {
        AttrType::String => json!({ "type": "string" }),
        AttrType::Integer => json!({ "type": "integer" }),
        AttrType::Number | AttrType::Money => json!({ "type": "number" }),
        AttrType::Boolean => json!({ "type": "boolean" }),
        AttrType::Date => json!({ "type": "string", "format": "date" }),
        AttrType::Datetime => json!({ "type": "string", "format": "date-time" }),
        AttrType::StringList => json!({ "type": "array", "items": { "type": "string" } }),
        AttrType::Json => json!({}),
    };
    if let Some(obj) = s.as_object_mut() {
        obj.insert("title".into(), json!(lang.pick(&a.title)));
        if let Some(d) = &a.description {
            obj.insert("description".into(), json!(lang.pick(d)));
        }
        if let Some(values) = &a.values {
            obj.insert("enum".into(), json!(values));
        }
        if let Some(unit) = &a.unit {
            obj.insert("x-unit".into(), json!(unit));
        }
        if temporal {
            obj.insert("x-ogc-role".into(), json!("primary-instant"));
        }
    }
    s
}

fn geometry_format(t: GeometryType) -> &'static str {
    match t {
        GeometryType::Point => "geometry-point",
        GeometryType::MultiPoint => "geometry-multipoint",
        GeometryType::LineString => "geometry-linestring",
        GeometryType::MultiLineString => "geometry-multilinestring",
        GeometryType::Polygon => "geometry-polygon",
        GeometryType::MultiPolygon => "geometry-multipolygon",
        GeometryType::Geometry | GeometryType::None => "geometry-any",
    }
}

/// The queryables schema of a layer for a viewer.
pub fn schema(state: &AppState, layer: &Layer, viewer: &Viewer, lang: Lang) -> Value {
    let mut props = Map::new();
    props.insert(
        "id".into(),
        json!({ "type": "integer", "title": "Ідентифікатор / id", "x-ogc-role": "id" }),
    );
    if layer.has_geometry() {
        props.insert(
            "geometry".into(),
            json!({
                "title": "Геометрія / geometry",
                "format": geometry_format(layer.geometry.geometry_type),
                "x-ogc-role": "primary-geometry",
            }),
        );
    }
    for a in layer.readable_attributes(&viewer.roles) {
        let temporal = layer.temporal.as_deref() == Some(a.name.as_str());
        props.insert(a.name.clone(), attribute_schema(a, lang, temporal));
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("{}/collections/{}/queryables", base(state), layer.id),
        "type": "object",
        "title": lang.pick(&layer.title),
        "properties": props,
        "additionalProperties": false,
    })
}

/// The queryable properties of a layer.
#[utoipa::path(get, path = "/ogc/collections/{collectionId}/queryables", tag = "OGC API Features",
    params(
        ("collectionId" = String, Path, description = "Layer id"),
        ("f" = Option<String>, Query, description = "json or html"),
    ),
    responses(
        (status = 200, description = "JSON Schema of the properties usable in `filter`, `sortby` and `name=value`", content(("application/schema+json"), ("text/html"))),
        (status = 400, description = "Unknown parameter or format", content_type = "application/problem+json"),
        (status = 404, description = "No such collection for this requester", content_type = "application/problem+json"),
    ))]
pub async fn queryables(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(collection_id): Path<String>,
    RawQuery(q): RawQuery,
) -> AppResult<Response> {
    let layer = visible_layer(&state, &viewer, &collection_id)?;
    let params = Params::parse(q.as_deref())?;
    params.only(ONLY_F, |_| false)?;
    let format = formats::negotiate(&params, &headers, false)?;
    let lang = formats::lang(&headers);
    let doc = schema(&state, &layer, &viewer, lang);
    Ok(document(format, SCHEMA_JSON, &doc, || {
        let mut s = html::head(&format!("{} — queryables", lang.pick(&layer.title)));
        s.push_str("<table><tr><th>name</th><th>title</th><th>schema</th></tr>");
        if let Some(props) = doc.get("properties").and_then(Value::as_object) {
            for (name, p) in props {
                let title = p.get("title").and_then(Value::as_str).unwrap_or("");
                s.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                    html::esc(name),
                    html::esc(title),
                    html::esc(&p.to_string())
                ));
            }
        }
        s.push_str("</table>");
        s.push_str(html::FOOT);
        s
    }))
}
