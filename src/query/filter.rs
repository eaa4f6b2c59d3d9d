//! CQL2 (text or JSON, parsed by the `cql2` crate) translated to PostgreSQL
//! with bound parameters. Supported: AND/OR/NOT, comparisons, LIKE, IN,
//! BETWEEN, IS NULL, arithmetic, CASEI, the spatial predicates (S_INTERSECTS,
//! S_WITHIN, S_CONTAINS, S_DISJOINT, S_EQUALS, S_TOUCHES, S_OVERLAPS,
//! S_CROSSES, S_DWITHIN in metres) and the basic temporal ones.
//! Properties are checked against the registry: a filter may only name
//! attributes the viewer may read.

use cql2::Expr;
use sqlx::{Postgres, QueryBuilder};

use super::ident;
use crate::registry::{AttrType, Layer, Role};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FilterError {
    #[error("the filter is not valid {lang}: {message}")]
    Parse { lang: &'static str, message: String },
    #[error("unknown filter-lang `{0}` (use cql2-text or cql2-json)")]
    UnknownLanguage(String),
    #[error("`{0}` is not a queryable property of this collection")]
    UnknownProperty(String),
    #[error("the filter uses `{0}`, which is not supported")]
    Unsupported(String),
    #[error("bad value in the filter: {0}")]
    BadValue(String),
}

/// Parses a filter in `cql2-text` (default) or `cql2-json`.
pub fn parse_filter(text: &str, lang: Option<&str>) -> Result<Expr, FilterError> {
    match lang.unwrap_or("cql2-text") {
        "cql2-text" => cql2::parse_text(text).map_err(|e| FilterError::Parse {
            lang: "cql2-text",
            message: e.to_string(),
        }),
        "cql2-json" => cql2::parse_json(text).map_err(|e| FilterError::Parse {
            lang: "cql2-json",
            message: e.to_string(),
        }),
        other => Err(FilterError::UnknownLanguage(other.to_string())),
    }
}

/// What a filter is evaluated against.
pub struct FilterContext<'a> {
    layer: &'a Layer,
    /// Roles whose readable attributes may be named; None = any attribute
    /// (row rules from the layer files, which are trusted).
    roles: Option<&'a [Role]>,
    /// Table alias the columns are qualified with.
    alias: &'a str,
    /// SRID of geometry literals in the filter (`filter-crs`).
    pub filter_srid: i32,
}

impl<'a> FilterContext<'a> {
    pub fn for_viewer(layer: &'a Layer, roles: &'a [Role], alias: &'a str) -> FilterContext<'a> {
        FilterContext {
            layer,
            roles: Some(roles),
            alias,
            filter_srid: 4326,
        }
    }

    pub fn trusted(layer: &'a Layer, alias: &'a str) -> FilterContext<'a> {
        FilterContext {
            layer,
            roles: None,
            alias,
            filter_srid: 4326,
        }
    }

    /// The column for a property name and its type (None for geometry).
    fn column(&self, name: &str) -> Result<(String, Option<AttrType>), FilterError> {
        let qualified = |c: &str| format!("{}.{}", self.alias, ident(c));
        if name == self.layer.geometry.column || name == "geometry" {
            if !self.layer.has_geometry() {
                return Err(FilterError::UnknownProperty(name.to_string()));
            }
            return Ok((qualified(&self.layer.geometry.column), None));
        }
        if name == self.layer.id_column || name == "id" {
            return Ok((qualified(&self.layer.id_column), Some(AttrType::Integer)));
        }
        let attr = self
            .layer
            .attribute(name)
            .filter(|a| self.roles.is_none_or(|roles| a.read.allows(roles)))
            .ok_or_else(|| FilterError::UnknownProperty(name.to_string()))?;
        Ok((qualified(&attr.name), Some(attr.attr_type)))
    }
}

fn cast_for(t: Option<AttrType>) -> &'static str {
    match t {
        Some(AttrType::Date) => "::date",
        Some(AttrType::Datetime) => "::timestamptz",
        Some(AttrType::Integer | AttrType::Number | AttrType::Money) => "::numeric",
        Some(AttrType::Boolean) => "::boolean",
        Some(AttrType::Json) => "::jsonb",
        _ => "::text",
    }
}

/// The attribute type a property side of a comparison has, to type literals.
fn hint(args: &[Box<Expr>], ctx: &FilterContext) -> Option<AttrType> {
    args.iter().find_map(|a| match a.as_ref() {
        Expr::Property { property } => ctx.column(property).ok().and_then(|(_, t)| t),
        Expr::Operation { op, args } if op == "casei" || op == "accenti" => hint(args, ctx),
        _ => None,
    })
}

/// Pushes a boolean SQL expression for `expr`.
pub fn push_filter(qb: &mut QueryBuilder<'_, Postgres>, expr: &Expr, ctx: &FilterContext) -> Result<(), FilterError> {
    match expr {
        Expr::Bool(b) => {
            qb.push(if *b { "TRUE" } else { "FALSE" });
            Ok(())
        }
        Expr::Operation { op, args } => push_predicate(qb, op, args, ctx),
        Expr::Property { .. } => {
            // A bare boolean property.
            push_value(qb, expr, ctx, Some(AttrType::Boolean))
        }
        other => Err(FilterError::Unsupported(format!("{other:?} as a condition"))),
    }
}

fn arity(op: &str, args: &[Box<Expr>], n: usize) -> Result<(), FilterError> {
    if args.len() == n {
        Ok(())
    } else {
        Err(FilterError::BadValue(format!(
            "`{op}` takes {n} arguments, got {}",
            args.len()
        )))
    }
}

fn push_predicate(
    qb: &mut QueryBuilder<'_, Postgres>,
    op: &str,
    args: &[Box<Expr>],
    ctx: &FilterContext,
) -> Result<(), FilterError> {
    // Functions the CQL2 core does not define (S_DWITHIN) keep the case the
    // author wrote; operator names are case-insensitive.
    let lower = op.to_ascii_lowercase();
    let op = lower.as_str();
    match op {
        "and" | "or" => {
            if args.is_empty() {
                return Err(FilterError::BadValue(format!("`{op}` without operands")));
            }
            qb.push("(");
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    qb.push(if op == "and" { " AND " } else { " OR " });
                }
                push_filter(qb, a, ctx)?;
            }
            qb.push(")");
        }
        "not" => {
            arity(op, args, 1)?;
            qb.push("(NOT ");
            push_filter(qb, &args[0], ctx)?;
            qb.push(")");
        }
        "=" | "<>" | "<" | ">" | "<=" | ">=" => {
            arity(op, args, 2)?;
            let t = hint(args, ctx);
            qb.push("(");
            push_value(qb, &args[0], ctx, t)?;
            qb.push(format!(" {op} "));
            push_value(qb, &args[1], ctx, t)?;
            qb.push(")");
        }
        "like" => {
            arity(op, args, 2)?;
            qb.push("(");
            push_value(qb, &args[0], ctx, Some(AttrType::String))?;
            qb.push("::text LIKE ");
            push_value(qb, &args[1], ctx, Some(AttrType::String))?;
            qb.push(")");
        }
        "between" => {
            arity(op, args, 3)?;
            let t = hint(args, ctx);
            qb.push("(");
            push_value(qb, &args[0], ctx, t)?;
            qb.push(" BETWEEN ");
            push_value(qb, &args[1], ctx, t)?;
            qb.push(" AND ");
            push_value(qb, &args[2], ctx, t)?;
            qb.push(")");
        }
        "in" => {
            arity(op, args, 2)?;
            let t = hint(&args[..1], ctx);
            let Expr::Array(items) = args[1].as_ref() else {
                return Err(FilterError::BadValue("IN needs a list".into()));
            };
            if items.is_empty() {
                qb.push("FALSE");
                return Ok(());
            }
            qb.push("(");
            push_value(qb, &args[0], ctx, t)?;
            qb.push(" IN (");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    qb.push(", ");
                }
                push_value(qb, item, ctx, t)?;
            }
            qb.push("))");
        }
        "isnull" => {
            arity(op, args, 1)?;
            qb.push("(");
            push_value(qb, &args[0], ctx, None)?;
            qb.push(" IS NULL)");
        }
        "s_intersects" | "s_within" | "s_contains" | "s_disjoint" | "s_equals" | "s_touches" | "s_overlaps"
        | "s_crosses" => {
            arity(op, args, 2)?;
            let function = format!("ST_{}", &op[2..]);
            qb.push(format!("{function}("));
            push_geometry(qb, &args[0], ctx)?;
            qb.push(", ");
            push_geometry(qb, &args[1], ctx)?;
            qb.push(")");
        }
        "s_dwithin" => {
            // S_DWITHIN(a, b, distance in metres): measured on the spheroid.
            arity(op, args, 3)?;
            let distance = match args[2].as_ref() {
                Expr::Float(d) if d.is_finite() && *d >= 0.0 => *d,
                other => {
                    return Err(FilterError::BadValue(format!(
                        "S_DWITHIN distance must be metres ≥ 0, got {other:?}"
                    )));
                }
            };
            qb.push("ST_DWithin((");
            push_geometry(qb, &args[0], ctx)?;
            qb.push(")::geography, (");
            push_geometry(qb, &args[1], ctx)?;
            qb.push(")::geography, ");
            qb.push_bind(distance);
            qb.push(")");
        }
        "t_before" | "t_after" | "t_equals" | "t_intersects" | "t_during" | "t_disjoint" => {
            arity(op, args, 2)?;
            push_temporal(qb, op, &args[0], &args[1], ctx)?;
        }
        other => return Err(FilterError::Unsupported(other.to_string())),
    }
    Ok(())
}

/// A temporal predicate between a property (an instant) and an instant or
/// an interval (open ends as '..').
fn push_temporal(
    qb: &mut QueryBuilder<'_, Postgres>,
    op: &str,
    left: &Expr,
    right: &Expr,
    ctx: &FilterContext,
) -> Result<(), FilterError> {
    let t = match left {
        Expr::Property { property } => ctx.column(property)?.1,
        _ => None,
    };
    if !matches!(t, Some(AttrType::Date | AttrType::Datetime)) {
        return Err(FilterError::BadValue(format!(
            "`{op}` needs a date or datetime property on the left"
        )));
    }
    let (start, end) = match right {
        Expr::Interval { interval } if interval.len() == 2 => (open_end(&interval[0]), open_end(&interval[1])),
        Expr::Interval { .. } => return Err(FilterError::BadValue("an interval has two ends".into())),
        instant => (Some(instant), Some(instant)),
    };
    let bound = |qb: &mut QueryBuilder<'_, Postgres>, sql_op: &str, e: &Expr| -> Result<(), FilterError> {
        push_value(qb, left, ctx, t)?;
        qb.push(format!(" {sql_op} "));
        push_value(qb, e, ctx, t)
    };
    qb.push("(");
    match op {
        "t_before" => match start {
            Some(s) => bound(qb, "<", s)?,
            None => {
                qb.push("FALSE");
            }
        },
        "t_after" => match end {
            Some(e) => bound(qb, ">", e)?,
            None => {
                qb.push("FALSE");
            }
        },
        "t_equals" => match (start, end) {
            (Some(s), Some(_)) if !matches!(right, Expr::Interval { .. }) => bound(qb, "=", s)?,
            _ => {
                qb.push("FALSE");
            }
        },
        _ => {
            // intersects / during / disjoint: inside [start, end] (during: strictly).
            let (lo, hi) = if op == "t_during" { (">", "<") } else { (">=", "<=") };
            if op == "t_disjoint" {
                qb.push("NOT (");
            }
            qb.push("TRUE");
            if let Some(s) = start {
                qb.push(" AND ");
                bound(qb, lo, s)?;
            }
            if let Some(e) = end {
                qb.push(" AND ");
                bound(qb, hi, e)?;
            }
            if op == "t_disjoint" {
                qb.push(")");
            }
        }
    }
    qb.push(")");
    Ok(())
}

fn open_end(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::Literal(s) if s == ".." => None,
        other => Some(other),
    }
}

fn push_geometry(qb: &mut QueryBuilder<'_, Postgres>, expr: &Expr, ctx: &FilterContext) -> Result<(), FilterError> {
    match expr {
        Expr::Property { property } => {
            let (column, t) = ctx.column(property)?;
            if t.is_some() {
                return Err(FilterError::BadValue(format!("`{property}` is not a geometry")));
            }
            qb.push(column);
        }
        Expr::Geometry(g) => {
            let wkt = g
                .to_wkt()
                .map_err(|e| FilterError::BadValue(format!("geometry: {e}")))?;
            qb.push("ST_Transform(ST_GeomFromText(");
            qb.push_bind(wkt);
            qb.push(", ");
            qb.push_bind(ctx.filter_srid);
            qb.push("), 4326)");
        }
        Expr::BBox { bbox } => {
            let nums: Vec<f64> = bbox
                .iter()
                .map(|b| match b.as_ref() {
                    Expr::Float(f) if f.is_finite() => Ok(*f),
                    other => Err(FilterError::BadValue(format!("BBOX takes numbers, got {other:?}"))),
                })
                .collect::<Result<_, _>>()?;
            let (x1, y1, x2, y2) = match nums.as_slice() {
                [a, b, c, d] => (*a, *b, *c, *d),
                [a, b, _, d, e, _] => (*a, *b, *d, *e),
                _ => return Err(FilterError::BadValue("BBOX takes 4 or 6 numbers".into())),
            };
            qb.push("ST_Transform(ST_MakeEnvelope(");
            let mut sep = qb.separated(", ");
            sep.push_bind(x1);
            sep.push_bind(y1);
            sep.push_bind(x2);
            sep.push_bind(y2);
            sep.push_bind(ctx.filter_srid);
            qb.push("), 4326)");
        }
        other => return Err(FilterError::BadValue(format!("expected a geometry, got {other:?}"))),
    }
    Ok(())
}

/// Pushes a scalar: a property, a literal (typed by `t`), or arithmetic.
fn push_value(
    qb: &mut QueryBuilder<'_, Postgres>,
    expr: &Expr,
    ctx: &FilterContext,
    t: Option<AttrType>,
) -> Result<(), FilterError> {
    match expr {
        Expr::Property { property } => {
            let (column, _) = ctx.column(property)?;
            qb.push(column);
        }
        Expr::Literal(s) => {
            qb.push_bind(s.clone());
            qb.push(cast_for(t));
        }
        Expr::Float(f) => {
            if !f.is_finite() {
                return Err(FilterError::BadValue("numbers must be finite".into()));
            }
            qb.push_bind(*f);
            qb.push("::numeric");
        }
        Expr::Bool(b) => {
            qb.push_bind(*b);
        }
        Expr::Null => {
            qb.push("NULL");
        }
        Expr::Date { date } => {
            let Expr::Literal(s) = date.as_ref() else {
                return Err(FilterError::BadValue("DATE takes a string".into()));
            };
            qb.push_bind(s.clone());
            qb.push("::date");
        }
        Expr::Timestamp { timestamp } => {
            let Expr::Literal(s) = timestamp.as_ref() else {
                return Err(FilterError::BadValue("TIMESTAMP takes a string".into()));
            };
            qb.push_bind(s.clone());
            qb.push("::timestamptz");
        }
        Expr::Operation { op, args } if op == "casei" => {
            arity(op, args, 1)?;
            qb.push("lower(");
            push_value(qb, &args[0], ctx, t)?;
            qb.push("::text)");
        }
        Expr::Operation { op, args } if ["+", "-", "*", "/", "%"].contains(&op.as_str()) => {
            if args.len() < 2 {
                return Err(FilterError::BadValue(format!("`{op}` needs two operands")));
            }
            qb.push("(");
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    qb.push(format!(" {op} "));
                }
                push_value(qb, a, ctx, Some(AttrType::Number))?;
            }
            qb.push(")");
        }
        other => return Err(FilterError::Unsupported(format!("{other:?} as a value"))),
    }
    Ok(())
}
