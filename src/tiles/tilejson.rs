//! TileJSON 3.0.0 for one layer or a composite, and the `/tiles` catalogue.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::grid::{Bbox, MAX_LAT};
use super::request::{self, TileFilter};
use super::routes::{Params, params};
use super::sql::{mvt_type, tile_attributes};
use super::{TileError, cluster};
use crate::access::Viewer;
use crate::error::AppError;
use crate::query::{self, FilterContext};
use crate::registry::Layer;
use crate::server::AppState;

/// `GET /tiles/{layers}`.
pub async fn tilejson(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(list): Path<String>,
    query: Params,
) -> Result<Json<Value>, AppError> {
    let params = params(query)?;
    let layers = request::parse_layers(&state.registry, &viewer, &list)?;
    let filter = TileFilter::parse(&params, &layers, &viewer, &[])?;
    let reader = state
        .reader_for(&viewer, &layers.iter().map(|l| l.table()).collect::<Vec<_>>())
        .await;
    let bounds = bounds(&reader, &layers, &viewer, filter.expr.as_ref()).await?;
    let version = data_version(&reader, &layers).await?;
    let ids: Vec<&str> = layers.iter().map(|l| l.id.as_str()).collect();
    let mut query_pairs = filter.normalised.clone();
    query_pairs.push(("v".into(), version.clone()));
    let query_string = serde_urlencoded::to_string(&query_pairs).map_err(|e| TileError::Internal(e.to_string()))?;
    let url = format!(
        "{}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt?{query_string}",
        state.config.public_url(),
        ids.join(",")
    );
    let minzoom = layers.iter().map(|l| l.minzoom).min().unwrap_or(0);
    let maxzoom = layers.iter().map(|l| l.maxzoom).max().unwrap_or(0);
    let b = bounds.unwrap_or(Bbox::new(-180.0, -MAX_LAT, 180.0, MAX_LAT));
    let centre_zoom = 13u8.clamp(minzoom, maxzoom);
    let (name, description) = match layers.as_slice() {
        [one] => (one.title.en.clone(), one.description.en.clone()),
        many => (
            many.iter().map(|l| l.title.en.as_str()).collect::<Vec<_>>().join(", "),
            "Composite tile".to_string(),
        ),
    };
    let attribution: Vec<&str> = layers.iter().filter_map(|l| l.attribution.as_deref()).collect();
    Ok(Json(json!({
        "tilejson": "3.0.0",
        "name": name,
        "description": description,
        "version": "1.0.0",
        "attribution": attribution.join("; "),
        "scheme": "xyz",
        "tiles": [url],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": b.to_array(),
        "center": [(b.min_x + b.max_x) / 2.0, (b.min_y + b.max_y) / 2.0, centre_zoom],
        "data_version": version,
        "vector_layers": layers.iter().map(|l| vector_layer(l, &viewer)).collect::<Vec<_>>(),
    })))
}

/// A `vector_layers` entry: the fields are the attributes this viewer gets
/// in tiles, as MVT value types.
pub fn vector_layer(layer: &Layer, viewer: &Viewer) -> Value {
    let mut fields = serde_json::Map::new();
    for a in tile_attributes(layer, viewer) {
        fields.insert(a.name.clone(), json!(mvt_type(a.attr_type)));
    }
    let mut entry = json!({
        "id": layer.id,
        "description": layer.title.en,
        "minzoom": layer.minzoom,
        "maxzoom": layer.maxzoom,
        "fields": fields,
    });
    // Fields held back from the layer's first zooms (`tile_minzoom`): the
    // zoom each first appears at.
    let late: serde_json::Map<String, Value> = tile_attributes(layer, viewer)
        .filter_map(|a| {
            a.tile_minzoom
                .filter(|z| *z > layer.minzoom)
                .map(|z| (a.name.clone(), json!(z)))
        })
        .collect();
    if !late.is_empty() {
        entry["fields_minzoom"] = Value::Object(late);
    }
    if let Some(c) = &layer.cluster {
        // Below `cluster_below_zoom` features are clusters: `count` and the
        // dominant attribute only.
        entry["cluster_below_zoom"] = json!(c.below_zoom);
        entry["cluster_fields"] = match cluster::dominant(layer, &viewer.roles) {
            Some(d) => json!({"count": "Number", d: "String"}),
            None => json!({"count": "Number"}),
        };
    }
    entry
}

/// The extent of what the viewer sees of `layers` (with the filter), in lon/lat.
pub(crate) async fn bounds(
    pool: &PgPool,
    layers: &[Arc<Layer>],
    viewer: &Viewer,
    filter: Option<&cql2::Expr>,
) -> Result<Option<Bbox>, TileError> {
    let mut out: Option<Bbox> = None;
    for layer in layers {
        let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new(format!(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(t.{}) AS e FROM {} t WHERE ",
            query::ident(&layer.geometry.column),
            query::ident(layer.table())
        ));
        query::push_visible_rows(&mut qb, layer, viewer, "t");
        if let Some(f) = filter {
            qb.push(" AND ");
            query::push_filter(&mut qb, f, &FilterContext::for_viewer(layer, &viewer.roles, "t"))?;
        }
        qb.push(") x");
        let row: (Option<f64>, Option<f64>, Option<f64>, Option<f64>) = qb.build_query_as().fetch_one(pool).await?;
        if let (Some(a), Some(b), Some(c), Some(d)) = row {
            out = Some(match out {
                None => Bbox::new(a, b, c, d),
                Some(o) => Bbox::new(o.min_x.min(a), o.min_y.min(b), o.max_x.max(c), o.max_y.max(d)),
            });
        }
    }
    Ok(out)
}

/// A short version of the data of `layers` that changes whenever any of
/// their tables changes (kept by the triggers in `tile_data_versions`, so
/// every instance gives the same value).
pub async fn data_version(pool: &PgPool, layers: &[Arc<Layer>]) -> Result<String, TileError> {
    let tables: Vec<String> = layers.iter().map(|l| l.table().to_string()).collect();
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT table_name, version FROM tile_data_versions WHERE table_name = ANY($1)")
            .bind(&tables)
            .fetch_all(pool)
            .await?;
    let mut h = Sha256::new();
    for t in &tables {
        let v = rows.iter().find(|(name, _)| name == t).map_or(0, |(_, v)| *v);
        h.update(format!("{t}:{v};").as_bytes());
    }
    Ok(hex::encode(&h.finalize()[..6]))
}

/// `GET /tiles`: every layer the viewer may see, with its TileJSON and tile URLs.
pub async fn catalogue(State(state): State<AppState>, viewer: Viewer) -> Json<Value> {
    let base = state.config.public_url();
    let layers: Vec<Value> = state
        .registry
        .visible_to(&viewer.roles)
        .filter(|l| l.has_geometry())
        .map(|l| {
            let mut entry = json!({
                "id": l.id,
                "title": l.title,
                "description": l.description,
                "geometry": l.geometry.geometry_type.postgis_name(),
                "minzoom": l.minzoom,
                "maxzoom": l.maxzoom,
                "tilejson": format!("{base}/tiles/{}", l.id),
                "tiles": format!("{base}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt", l.id),
            });
            if let Some(c) = &l.cluster {
                entry["cluster_below_zoom"] = json!(c.below_zoom);
            }
            entry
        })
        .collect();
    Json(json!({
        "layers": layers,
        "links": [
            {"rel": "self", "type": "application/json", "href": format!("{base}/tiles")},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", "type": "application/json",
             "href": format!("{base}/ogc/tileMatrixSets")},
        ],
    }))
}
