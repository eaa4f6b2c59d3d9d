//! `GET /ogc` (the landing page) and `GET /ogc/conformance`.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;

use super::formats::{self, HTML, JSON, Link, OPENAPI_JSON, html};
use super::params::{ONLY_F, Params};
use super::{base, document};
use crate::error::AppResult;
use crate::server::AppState;

/// The conformance classes we implement, and only those. (The OpenAPI
/// document is 3.1, so Part 1's `oas30` class is not claimed.)
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
];

/// Every class `/ogc/conformance` declares: Features and CQL2 here, plus
/// the OGC API – Tiles classes of the routes `crate::tiles` serves under
/// `/ogc` (one API, one conformance document).
pub fn conformance_classes() -> impl Iterator<Item = &'static str> {
    CONFORMANCE.iter().chain(crate::tiles::TILES_CONFORMANCE).copied()
}

/// The landing page: what this is and where everything is.
#[utoipa::path(get, path = "/ogc", tag = "OGC API Features",
    params(("f" = Option<String>, Query, description = "json or html")),
    responses(
        (status = 200, description = "Landing page with links self, service-desc, conformance, data", content(("application/json"), ("text/html"))),
        (status = 400, description = "Unknown parameter or format", content_type = "application/problem+json"),
    ))]
pub async fn landing(State(state): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> AppResult<Response> {
    let params = Params::parse(q.as_deref())?;
    params.only(ONLY_F, |_| false)?;
    let format = formats::negotiate(&params, &headers, false)?;
    let base = base(&state);
    let public = state.config.public_url();
    let links = vec![
        Link::new(format!("{base}?f=json"), "self", JSON, "Ця сторінка / this document"),
        Link::new(format!("{base}?f=html"), "alternate", HTML, "HTML"),
        Link::new(
            format!("{public}/api/openapi.json"),
            "service-desc",
            OPENAPI_JSON,
            "Опис API (OpenAPI) / API definition",
        ),
        Link::new(
            format!("{base}/conformance"),
            "conformance",
            JSON,
            "Класи відповідності / conformance classes",
        ),
        Link::new(format!("{base}/collections"), "data", JSON, "Шари / collections"),
    ];
    let title = "Геопортал громади — OGC API Features";
    let description = "Шари геопорталу (земельні ділянки, комунальне майно, звернення, реклама та інші) \
                       для ГІС-клієнтів / The geoportal's layers for GIS clients (QGIS, GDAL, OWSLib).";
    let doc = json!({ "title": title, "description": description, "links": links });
    Ok(document(format, JSON, &doc, || {
        format!(
            "{}<p>{}</p>{}{}",
            html::head(title),
            html::esc(description),
            html::links(&links),
            html::FOOT
        )
    }))
}

/// The conformance classes this server implements.
#[utoipa::path(get, path = "/ogc/conformance", tag = "OGC API Features",
    params(("f" = Option<String>, Query, description = "json or html")),
    responses(
        (status = 200, description = "`conformsTo`: the conformance class URIs (OGC API Features, CQL2 and OGC API Tiles)", content(("application/json"), ("text/html"))),
        (status = 400, description = "Unknown parameter or format", content_type = "application/problem+json"),
    ))]
pub async fn conformance(headers: HeaderMap, RawQuery(q): RawQuery) -> AppResult<Response> {
    let params = Params::parse(q.as_deref())?;
    params.only(ONLY_F, |_| false)?;
    let format = formats::negotiate(&params, &headers, false)?;
    let classes: Vec<&str> = conformance_classes().collect();
    let doc = json!({ "conformsTo": classes });
    Ok(document(format, JSON, &doc, || {
        let mut s = html::head("Класи відповідності / Conformance");
        s.push_str("<ul>");
        for c in &classes {
            s.push_str(&format!("<li>{}</li>", html::esc(c)));
        }
        s.push_str("</ul>");
        s.push_str(html::FOOT);
        s
    }))
}
