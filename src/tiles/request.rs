//! A tile request checked against the registry: which layers (visible to
//! the viewer), which tile, which filter. Anything wrong is a 400 or 404
//! here, before any SQL runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use cql2::Expr;
use sqlx::{Postgres, QueryBuilder};

use super::{MAX_ZOOM, TileError, grid};
use crate::access::Viewer;
use crate::query::{self, FilterContext};
use crate::registry::model::UserKey;
use crate::registry::{AttrType, Layer, Registry, Role};

/// Query parameters every tile endpoint understands besides attribute
/// shortcuts. `v` is the data version of the TileJSON URL: it only busts
/// browser and CDN caches, the server always answers with current data.
const COMMON_PARAMS: &[&str] = &["filter", "filter-lang", "v"];

/// The checked layers of `/tiles/{layers}/…`: one id or a comma list, each
/// visible to the viewer, none twice.
pub fn parse_layers(registry: &Registry, viewer: &Viewer, list: &str) -> Result<Vec<Arc<Layer>>, TileError> {
    let mut layers: Vec<Arc<Layer>> = Vec::new();
    for id in list.split(',') {
        let id = id.trim();
        if id.is_empty() {
            return Err(TileError::BadRequest(format!("empty layer id in `{list}`")));
        }
        let layer = registry
            .get_visible(id, &viewer.roles)
            .filter(|l| l.has_geometry())
            .ok_or_else(|| TileError::UnknownLayer(id.to_string()))?;
        if layers.iter().any(|l| l.id == layer.id) {
            return Err(TileError::BadRequest(format!("layer `{id}` is listed twice")));
        }
        layers.push(layer.clone());
    }
    Ok(layers)
}

/// z/x/y from the path; `y` may end in `.mvt` (or `.pbf`). Not numbers →
/// 400; outside WebMercatorQuad → 404 (no such tile).
pub fn parse_zxy(z: &str, x: &str, y: &str) -> Result<(u8, u32, u32), TileError> {
    let y = y.strip_suffix(".mvt").or_else(|| y.strip_suffix(".pbf")).unwrap_or(y);
    let num = |name: &str, s: &str| {
        s.parse::<u32>()
            .map_err(|_| TileError::BadRequest(format!("{name} must be a non-negative integer, got `{s}`")))
    };
    let (z, x, y) = (num("z", z)?, num("x", x)?, num("y", y)?);
    if z > u32::from(MAX_ZOOM) {
        return Err(TileError::NotFound(format!("zoom {z} is beyond {MAX_ZOOM}")));
    }
    let z = z as u8;
    if !grid::is_valid(z, x, y) {
        return Err(TileError::NotFound(format!(
            "no tile {z}/{x}/{y}: x and y must be below {}",
            1u64 << z
        )));
    }
    Ok((z, x, y))
}

/// The request's filter: `filter` (CQL2) AND every `attribute=value`
/// shortcut (repeated names mean "any of"), plus the normalised parameters
/// that make the cache key.
#[derive(Debug, Clone, Default)]
pub struct TileFilter {
    pub expr: Option<Expr>,
    /// Sorted `(name, value)` pairs that change the tile (not `v`).
    pub normalised: Vec<(String, String)>,
}

impl TileFilter {
    /// Checks `params` for `layers` as seen by `viewer`. `extra` lists
    /// further parameters the endpoint accepts and ignores (e.g. OGC's `f`).
    pub fn parse(
        params: &[(String, String)],
        layers: &[Arc<Layer>],
        viewer: &Viewer,
        extra: &[&str],
    ) -> Result<TileFilter, TileError> {
        let mut filter_text: Option<&str> = None;
        let mut filter_lang: Option<&str> = None;
        let mut shortcuts: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut normalised = Vec::new();
        for (name, value) in params {
            match name.as_str() {
                "filter" | "filter-lang" => {
                    let slot = if name == "filter" {
                        &mut filter_text
                    } else {
                        &mut filter_lang
                    };
                    if slot.replace(value).is_some() {
                        return Err(TileError::BadRequest(format!("`{name}` is given twice")));
                    }
                    normalised.push((name.clone(), value.clone()));
                }
                n if COMMON_PARAMS.contains(&n) || extra.contains(&n) => {}
                n => {
                    // A shortcut must name an attribute every requested layer
                    // has and the viewer may read.
                    for layer in layers {
                        if layer.attribute(n).is_none_or(|a| !a.read.allows(&viewer.roles)) {
                            return Err(TileError::BadRequest(format!(
                                "unknown parameter `{n}`: not a queryable attribute of layer `{}`",
                                layer.id
                            )));
                        }
                    }
                    shortcuts.entry(n).or_default().push(value);
                    normalised.push((name.clone(), value.clone()));
                }
            }
        }
        normalised.sort();
        if filter_lang.is_some() && filter_text.is_none() {
            return Err(TileError::BadRequest("`filter-lang` without `filter`".into()));
        }
        let mut parts: Vec<Expr> = Vec::new();
        if let Some(text) = filter_text {
            parts.push(query::parse_filter(text, filter_lang)?);
        }
        for (name, values) in &shortcuts {
            // Every layer has the attribute (checked above); the first one types it.
            let attr_type = layers
                .first()
                .and_then(|l| l.attribute(name))
                .map_or(AttrType::String, |a| a.attr_type);
            let literals = values
                .iter()
                .map(|v| shortcut_literal(name, v, attr_type).map(Box::new))
                .collect::<Result<Vec<_>, _>>()?;
            let property = Box::new(Expr::Property {
                property: (*name).to_string(),
            });
            parts.push(Expr::Operation {
                op: "in".into(),
                args: vec![property, Box::new(Expr::Array(literals))],
            });
        }
        let expr = match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(Expr::Operation {
                op: "and".into(),
                args: parts.into_iter().map(Box::new).collect(),
            }),
        };
        // Translate once per layer now, so that a filter naming a property
        // a layer lacks (or the viewer may not read) is a 400, not a 500.
        if let Some(e) = &expr {
            for layer in layers {
                let mut scratch: QueryBuilder<'_, Postgres> = QueryBuilder::new("");
                query::push_filter(&mut scratch, e, &FilterContext::for_viewer(layer, &viewer.roles, "t"))?;
            }
        }
        Ok(TileFilter { expr, normalised })
    }
}

/// A shortcut value as a typed CQL2 literal.
fn shortcut_literal(name: &str, value: &str, t: AttrType) -> Result<Expr, TileError> {
    let bad = |what: &str| TileError::BadRequest(format!("`{name}` must be {what}, got `{value}`"));
    Ok(match t {
        AttrType::Integer | AttrType::Number | AttrType::Money => {
            let f: f64 = value.parse().map_err(|_| bad("a number"))?;
            if !f.is_finite() {
                return Err(bad("a finite number"));
            }
            Expr::Float(f)
        }
        AttrType::Boolean => Expr::Bool(value.parse().map_err(|_| bad("true or false"))?),
        AttrType::Date => {
            chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| bad("a date YYYY-MM-DD"))?;
            Expr::Literal(value.to_string())
        }
        AttrType::Datetime => {
            chrono::DateTime::parse_from_rfc3339(value).map_err(|_| bad("an RFC 3339 timestamp"))?;
            Expr::Literal(value.to_string())
        }
        AttrType::Json | AttrType::StringList => {
            return Err(TileError::BadRequest(format!(
                "`{name}` cannot be filtered with a shortcut; use `filter`"
            )));
        }
        AttrType::String => Expr::Literal(value.to_string()),
    })
}

/// The part of the cache key that depends on who asks: the viewer's role
/// key, plus their account or executor where an "own rows" rule of one of
/// the layers applies to them (two residents see different rows).
pub fn viewer_variant(layers: &[Arc<Layer>], viewer: &Viewer) -> String {
    let mut key = viewer.cache_key();
    let applies = |roles: &[Role]| roles.iter().any(|r| *r == Role::Everyone || viewer.roles.contains(r));
    let mut account = false;
    let mut executor = false;
    for layer in layers {
        for rule in &layer.rows {
            if let Some(own) = &rule.own
                && applies(&rule.roles)
            {
                match own.user {
                    UserKey::AccountId => account = true,
                    UserKey::ExecutorId => executor = true,
                }
            }
        }
    }
    if account {
        key.push_str(&format!(";account={}", viewer.account_id.unwrap_or(-1)));
    }
    if executor {
        key.push_str(&format!(";executor={}", viewer.executor_id.unwrap_or(-1)));
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layers(ids: &[&str]) -> Vec<Arc<Layer>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("layers");
        let registry = Registry::load_dir(&dir).unwrap();
        ids.iter().map(|id| registry.get(id).unwrap().clone()).collect()
    }

    #[test]
    fn the_cache_key_separates_whoever_sees_other_rows_or_attributes() {
        let appeals = layers(&["appeals"]);
        let public = viewer_variant(&appeals, &Viewer::anonymous());
        let operator = Viewer {
            roles: vec![Role::AppealsOperator],
            ..Viewer::default()
        };
        let resident = |id| Viewer {
            roles: vec![Role::Resident],
            account_id: Some(id),
            ..Viewer::default()
        };
        assert_ne!(public, viewer_variant(&appeals, &operator));
        // Residents see their own appeals: one key each.
        assert_ne!(
            viewer_variant(&appeals, &resident(1)),
            viewer_variant(&appeals, &resident(2))
        );
        // Land plots have no own-row rule: residents share a key.
        let plots = layers(&["land_plots"]);
        assert_eq!(
            viewer_variant(&plots, &resident(1)),
            viewer_variant(&plots, &resident(2))
        );
    }

    #[test]
    fn zxy_parsing() {
        assert_eq!(parse_zxy("3", "1", "2.mvt").unwrap(), (3, 1, 2));
        assert!(matches!(parse_zxy("3", "8", "2.mvt"), Err(TileError::NotFound(_))));
        assert!(matches!(parse_zxy("25", "0", "0"), Err(TileError::NotFound(_))));
        assert!(matches!(parse_zxy("a", "0", "0"), Err(TileError::BadRequest(_))));
        assert!(matches!(parse_zxy("1", "-1", "0"), Err(TileError::BadRequest(_))));
    }
}
