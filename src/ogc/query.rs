//! The SQL of the items endpoints, built once here on top of the shared
//! query builder (`crate::query`): visible rows, the request's selection
//! (bbox, datetime, CQL2 filter, `name=value`), order, page, and the output
//! columns in the requested CRS. Values are always bound.

use cql2::Expr;
use sqlx::{Postgres, QueryBuilder};

use super::crs::Crs;
use super::params::{BBox, DateTimeFilter, Instant, SortKey, kyiv_date, kyiv_midnight, start_utc};
use super::{OgcError, formats::Format};
use crate::access::Viewer;
use crate::query::{FilterContext, ident, push_filter, push_visible_rows};
use crate::registry::{AttrType, Layer};

/// Which rows a request selects.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub bbox: Option<BBox>,
    pub datetime: Option<DateTimeFilter>,
    pub filter: Option<Expr>,
    /// SRID of geometry literals in `filter` (`filter-crs`).
    pub filter_srid: i32,
    /// `name=value` pairs on queryable attributes.
    pub equals: Vec<(String, String)>,
    pub feature_id: Option<i64>,
}

impl Selection {
    /// Whether the client wrote part of the SQL's conditions (a filter,
    /// typed values, a box to reproject), so that a type or evaluation
    /// error in the database is theirs.
    pub fn has_client_expressions(&self) -> bool {
        self.filter.is_some() || !self.equals.is_empty() || self.bbox.is_some_and(|b| b.srid != 4326)
    }
}

/// How the selected rows are shaped.
#[derive(Debug, Clone)]
pub struct Projection {
    /// Attribute names, in output order.
    pub properties: Vec<String>,
    pub crs: Crs,
    pub format: Format,
}

fn column(name: &str) -> String {
    format!("t.{}", ident(name))
}

/// `FROM <table> t WHERE <visible rows> AND <selection>`.
pub fn push_from_where(
    qb: &mut QueryBuilder<'static, Postgres>,
    layer: &Layer,
    viewer: &Viewer,
    sel: &Selection,
) -> Result<(), OgcError> {
    qb.push(format!(" FROM {} t WHERE ", ident(layer.table())));
    push_visible_rows(qb, layer, viewer, "t");
    if let Some(fid) = sel.feature_id {
        qb.push(format!(" AND {} = ", column(&layer.id_column)));
        qb.push_bind(fid);
    }
    if let Some(b) = sel.bbox {
        if !layer.has_geometry() {
            return Err(OgcError::BadParameter {
                name: "bbox".into(),
                reason: format!("`{}` is a register without geometry", layer.id),
            });
        }
        qb.push(format!(
            " AND ST_Intersects({}, ST_Transform(ST_MakeEnvelope(",
            column(&layer.geometry.column)
        ));
        let mut args = qb.separated(", ");
        args.push_bind(b.min_x);
        args.push_bind(b.min_y);
        args.push_bind(b.max_x);
        args.push_bind(b.max_y);
        args.push_bind(b.srid);
        qb.push("), 4326))");
    }
    // `datetime` applies to the temporal attribute where the viewer may
    // read it; a layer without one has no time to filter on.
    let temporal = layer
        .temporal
        .as_deref()
        .and_then(|name| layer.attribute(name))
        .filter(|a| a.read.allows(&viewer.roles));
    if let (Some(dt), Some(a)) = (sel.datetime, temporal) {
        push_datetime(qb, &column(&a.name), a.attr_type, dt)?;
    }
    let mut ctx = FilterContext::for_viewer(layer, &viewer.roles, "t");
    ctx.filter_srid = sel.filter_srid;
    for (name, value) in &sel.equals {
        let expr = Expr::Operation {
            op: "=".into(),
            args: vec![
                Box::new(Expr::Property { property: name.clone() }),
                Box::new(Expr::Literal(value.clone())),
            ],
        };
        qb.push(" AND ");
        push_filter(qb, &expr, &ctx)?;
    }
    if let Some(filter) = &sel.filter {
        qb.push(" AND ");
        push_filter(qb, filter, &ctx)?;
    }
    Ok(())
}

/// `datetime` on the layer's temporal attribute. A date covers its whole
/// day in Europe/Kyiv; an interval includes both ends.
fn push_datetime(
    qb: &mut QueryBuilder<'static, Postgres>,
    col: &str,
    t: AttrType,
    dt: DateTimeFilter,
) -> Result<(), OgcError> {
    if t == AttrType::Date {
        if dt.instant {
            if let Some(i) = dt.start {
                qb.push(format!(" AND {col} = "));
                qb.push_bind(kyiv_date(i));
            }
            return Ok(());
        }
        if let Some(s) = dt.start {
            qb.push(format!(" AND {col} >= "));
            qb.push_bind(kyiv_date(s));
        }
        if let Some(e) = dt.end {
            qb.push(format!(" AND {col} <= "));
            qb.push_bind(kyiv_date(e));
        }
        return Ok(());
    }
    if let Some(s) = dt.start {
        qb.push(format!(" AND {col} >= "));
        qb.push_bind(start_utc(s)?);
    }
    match dt.end {
        Some(Instant::Date(d)) => {
            let next = d.succ_opt().ok_or_else(|| OgcError::BadParameter {
                name: "datetime".into(),
                reason: "date out of range".into(),
            })?;
            qb.push(format!(" AND {col} < "));
            qb.push_bind(kyiv_midnight(next)?);
        }
        Some(Instant::DateTime(e)) => {
            qb.push(format!(" AND {col} <= "));
            qb.push_bind(e.with_timezone(&chrono::Utc));
        }
        None => {}
    }
    Ok(())
}

/// The geometry in the output CRS and axis order.
fn push_geometry(qb: &mut QueryBuilder<'static, Postgres>, layer: &Layer, crs: Crs) {
    if !layer.has_geometry() {
        qb.push("NULL::geometry");
        return;
    }
    let col = column(&layer.geometry.column);
    if crs.north_first {
        qb.push("ST_FlipCoordinates(");
    }
    if crs.srid == 4326 {
        qb.push(col);
    } else {
        qb.push(format!("ST_Transform({col}, "));
        qb.push_bind(crs.srid);
        qb.push(")");
    }
    if crs.north_first {
        qb.push(")");
    }
}

/// `SELECT id, geometry, <properties>`: for JSON the properties as one
/// JSON object; for CSV and HTML each as text (ISO 8601 dates, exact
/// numbers) so the writers need not parse JSON.
fn push_select(qb: &mut QueryBuilder<'static, Postgres>, layer: &Layer, proj: &Projection) {
    qb.push(format!("SELECT {}::int8 AS id, ", column(&layer.id_column)));
    let digits = proj.crs.digits();
    match proj.format {
        Format::Json => {
            // options 0: no "crs" member inside the geometry.
            qb.push("ST_AsGeoJSON(");
            push_geometry(qb, layer, proj.crs);
            qb.push(", ");
            qb.push_bind(digits);
            qb.push(", 0) AS geometry, ");
            // json_build_object keeps the layer file's attribute order but
            // takes at most 100 arguments; beyond 50 pairs jsonb is merged.
            let function = if proj.properties.len() <= 50 {
                "json_build_object("
            } else {
                "jsonb_build_object("
            };
            qb.push("(");
            if proj.properties.is_empty() {
                qb.push(function);
                qb.push(")");
            }
            for (i, chunk) in proj.properties.chunks(50).enumerate() {
                if i > 0 {
                    qb.push(" || ");
                }
                qb.push(function);
                for (j, name) in chunk.iter().enumerate() {
                    if j > 0 {
                        qb.push(", ");
                    }
                    qb.push_bind(name.clone());
                    qb.push("::text, ");
                    qb.push(column(name));
                }
                qb.push(")");
            }
            qb.push(")");
            qb.push("::text AS properties");
        }
        Format::Csv | Format::Html => {
            qb.push("ST_AsText(");
            push_geometry(qb, layer, proj.crs);
            qb.push(", ");
            qb.push_bind(digits);
            qb.push(") AS geometry");
            for name in &proj.properties {
                qb.push(format!(", to_json({})#>>'{{}}'", column(name)));
            }
        }
    }
}

/// The page query: selected rows in a stable order (sort keys, then id,
/// so offset paging returns every feature exactly once).
pub fn page(
    layer: &Layer,
    viewer: &Viewer,
    sel: &Selection,
    proj: &Projection,
    sort: &[SortKey],
    limit: i64,
    offset: i64,
) -> Result<QueryBuilder<'static, Postgres>, OgcError> {
    let mut qb = QueryBuilder::new("");
    push_select(&mut qb, layer, proj);
    push_from_where(&mut qb, layer, viewer, sel)?;
    qb.push(" ORDER BY ");
    for k in sort {
        qb.push(format!(
            "{} {}, ",
            column(&k.column),
            if k.descending { "DESC" } else { "ASC" }
        ));
    }
    qb.push(format!("{} ASC LIMIT ", column(&layer.id_column)));
    qb.push_bind(limit);
    qb.push(" OFFSET ");
    qb.push_bind(offset);
    Ok(qb)
}

/// The number of selected rows (`numberMatched`).
pub fn count(layer: &Layer, viewer: &Viewer, sel: &Selection) -> Result<QueryBuilder<'static, Postgres>, OgcError> {
    let mut qb = QueryBuilder::new("SELECT count(*)");
    push_from_where(&mut qb, layer, viewer, sel)?;
    Ok(qb)
}

/// One feature by id (visible rows only).
pub fn one(
    layer: &Layer,
    viewer: &Viewer,
    sel: &Selection,
    proj: &Projection,
) -> Result<QueryBuilder<'static, Postgres>, OgcError> {
    let mut qb = QueryBuilder::new("");
    push_select(&mut qb, layer, proj);
    push_from_where(&mut qb, layer, viewer, sel)?;
    Ok(qb)
}
