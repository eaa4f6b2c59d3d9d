//! The one place layer reads are built: which rows a viewer may see (live
//! rows, row rules), which attributes they may read, and request filters
//! (CQL2) — always with bound parameters. Features, tiles, exports and
//! analytics build their SQL through this module.

pub mod filter;

use sqlx::{Postgres, QueryBuilder};

use crate::access::Viewer;
use crate::registry::model::UserKey;
use crate::registry::{Attribute, Layer};

pub use filter::{FilterContext, FilterError, parse_filter, push_filter};

/// A quoted SQL identifier. Names come from the registry (validated as
/// lower-case identifiers), quoted all the same.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The attributes `viewer` may read, in file order.
pub fn readable<'a>(layer: &'a Layer, viewer: &'a Viewer) -> Vec<&'a Attribute> {
    layer.readable_attributes(&viewer.roles).collect()
}

/// Pushes `deleted_at IS NULL AND (<row rules for viewer>)`, qualified by
/// `alias` (e.g. `t`).
pub fn push_visible_rows(qb: &mut QueryBuilder<'_, Postgres>, layer: &Layer, viewer: &Viewer, alias: &str) {
    qb.push(format!("{alias}.deleted_at IS NULL"));
    if layer.rows.is_empty() {
        return;
    }
    qb.push(" AND (");
    let mut any = false;
    for (rule, parsed) in layer.rows.iter().zip(&layer.row_filters) {
        let applies = rule
            .roles
            .iter()
            .any(|r| *r == crate::registry::Role::Everyone || viewer.roles.contains(r));
        if !applies {
            continue;
        }
        let own_value = match &rule.own {
            None => None,
            Some(own) => match own.user {
                UserKey::AccountId => Some(viewer.account_id),
                UserKey::ExecutorId => Some(viewer.executor_id),
            },
        };
        // An "own rows" rule for a viewer without that link grants nothing.
        if let Some(None) = own_value {
            continue;
        }
        if any {
            qb.push(" OR ");
        }
        any = true;
        qb.push("(TRUE");
        if let Some(expr) = parsed {
            qb.push(" AND ");
            let ctx = FilterContext::trusted(layer, alias);
            // Row rules were parsed and checked at start; translation of a
            // checked rule cannot fail, but never fall open if it does.
            if push_filter(qb, expr, &ctx).is_err() {
                qb.push("FALSE");
            }
        }
        if let (Some(own), Some(Some(value))) = (&rule.own, own_value) {
            qb.push(format!(" AND {alias}.{} = ", ident(&own.column)));
            qb.push_bind(value);
        }
        qb.push(")");
    }
    if !any {
        qb.push("FALSE");
    }
    qb.push(")");
}
