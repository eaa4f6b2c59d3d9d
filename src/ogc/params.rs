//! Query parameters of the OGC routes: parsed strictly, so that anything
//! unknown or malformed is a 400 that says what was wrong.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

use super::OgcError;
use super::crs::{CRS84, Crs};
use crate::registry::{AttrType, Layer, Role};

/// The default and the largest page.
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 10_000;

/// Parameters of the resources that take none but `f`.
pub const ONLY_F: &[&str] = &["f"];

/// Standard parameters of `/items`; queryable properties come on top.
pub const ITEMS: &[&str] = &[
    "f",
    "bbox",
    "bbox-crs",
    "datetime",
    "limit",
    "offset",
    "properties",
    "sortby",
    "filter",
    "filter-lang",
    "filter-crs",
    "crs",
];

/// Parameters of `/items/{featureId}`.
pub const ITEM: &[&str] = &["f", "crs", "properties"];

/// The decoded query string, each name at most once, in request order.
#[derive(Debug, Default, Clone)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub fn parse(raw: Option<&str>) -> Result<Params, OgcError> {
        let pairs: Vec<(String, String)> = match raw {
            None | Some("") => Vec::new(),
            Some(q) => serde_urlencoded::from_str(q).map_err(|e| OgcError::BadParameter {
                name: "query string".into(),
                reason: e.to_string(),
            })?,
        };
        let mut seen = BTreeMap::new();
        for (k, _) in &pairs {
            if seen.insert(k.as_str(), ()).is_some() {
                return Err(OgcError::Repeated(k.clone()));
            }
        }
        Ok(Params { pairs })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Refuses any parameter not in `known` and not accepted by `extra`.
    pub fn only(&self, known: &[&str], extra: impl Fn(&str) -> bool) -> Result<(), OgcError> {
        match self
            .pairs
            .iter()
            .find(|(k, _)| !known.contains(&k.as_str()) && !extra(k))
        {
            Some((k, _)) => Err(OgcError::UnknownParameter {
                name: k.clone(),
                known: known.join(", "),
            }),
            None => Ok(()),
        }
    }

    /// The query string for a link: these parameters with `set` replacing
    /// (or adding) some and `drop` removed.
    pub fn link_query(&self, set: &[(&str, String)], drop: &[&str]) -> String {
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(k, _)| !drop.contains(&k.as_str()) && !set.iter().any(|(s, _)| s == k))
            .cloned()
            .collect();
        pairs.extend(set.iter().map(|(k, v)| (k.to_string(), v.clone())));
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }
}

fn bad(name: &str, reason: impl Into<String>) -> OgcError {
    OgcError::BadParameter {
        name: name.into(),
        reason: reason.into(),
    }
}

/// `limit`: 1 to 10,000; anything else is refused rather than clamped.
pub fn limit(params: &Params) -> Result<i64, OgcError> {
    match params.get("limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(bad("limit", format!("`{v}` is not an integer from 1 to {MAX_LIMIT}"))),
        },
    }
}

/// `offset`: the number of features skipped (our paging links use it).
pub fn offset(params: &Params) -> Result<i64, OgcError> {
    match params.get("offset") {
        None => Ok(0),
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= 0 => Ok(n),
            _ => Err(bad("offset", format!("`{v}` is not a non-negative integer"))),
        },
    }
}

/// A CRS parameter (`crs`, `bbox-crs`, `filter-crs`), CRS84 when absent.
pub fn crs(params: &Params, name: &str) -> Result<Crs, OgcError> {
    match params.get(name) {
        None => Ok(CRS84),
        Some(v) => Crs::parse(v).map_err(|e| bad(name, e.to_string())),
    }
}

/// A bounding box in PostGIS (east, north) order, in `srid`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub min_x: f64,
    pub min_y: f64,
    pub max_x: f64,
    pub max_y: f64,
    pub srid: i32,
}

/// `bbox` (4 or 6 numbers) in the axis order of `bbox-crs`.
pub fn bbox(params: &Params) -> Result<Option<BBox>, OgcError> {
    let Some(text) = params.get("bbox") else {
        if params.get("bbox-crs").is_some() {
            return Err(bad("bbox-crs", "given without `bbox`"));
        }
        return Ok(None);
    };
    let crs = crs(params, "bbox-crs")?;
    let nums = text
        .split(',')
        .map(|s| s.trim().parse::<f64>().ok().filter(|f| f.is_finite()))
        .collect::<Option<Vec<f64>>>()
        .ok_or_else(|| bad("bbox", format!("`{text}` is not a list of numbers")))?;
    let (a1, a2, b1, b2) = match nums.as_slice() {
        [a1, a2, b1, b2] => (*a1, *a2, *b1, *b2),
        // lower corner with its height, upper corner with its height
        [a1, a2, _, b1, b2, _] => (*a1, *a2, *b1, *b2),
        _ => return Err(bad("bbox", format!("takes 4 or 6 numbers, got {}", nums.len()))),
    };
    let (min_x, min_y, max_x, max_y) = if crs.north_first {
        (a2, a1, b2, b1)
    } else {
        (a1, a2, b1, b2)
    };
    if min_y > max_y {
        return Err(bad("bbox", "the lower corner is north of the upper corner"));
    }
    if min_x > max_x {
        return Err(bad(
            "bbox",
            "the lower corner is east of the upper corner (boxes across the antimeridian are not supported)",
        ));
    }
    if crs.geographic && (min_y < -90.0 || max_y > 90.0 || min_x < -180.0 || max_x > 180.0) {
        return Err(bad("bbox", "latitude or longitude out of range"));
    }
    Ok(Some(BBox {
        min_x,
        min_y,
        max_x,
        max_y,
        srid: crs.srid,
    }))
}

/// One end of a `datetime` interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instant {
    Date(NaiveDate),
    DateTime(DateTime<FixedOffset>),
}

/// `datetime`: an instant, or an interval with open ends (`..` or empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTimeFilter {
    pub start: Option<Instant>,
    pub end: Option<Instant>,
    pub instant: bool,
}

fn instant(text: &str) -> Result<Instant, OgcError> {
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Instant::Date(d));
    }
    DateTime::parse_from_rfc3339(text).map(Instant::DateTime).map_err(|_| {
        bad(
            "datetime",
            format!("`{text}` is neither a date (2024-05-01) nor an RFC 3339 date-time (2024-05-01T10:00:00Z)"),
        )
    })
}

pub fn datetime(params: &Params) -> Result<Option<DateTimeFilter>, OgcError> {
    let Some(text) = params.get("datetime") else {
        return Ok(None);
    };
    let text = text.trim();
    let open = |s: &str| s.is_empty() || s == "..";
    let filter = match text.split_once('/') {
        None if open(text) => return Err(bad("datetime", "an instant cannot be open (`..`)")),
        None => {
            let i = instant(text)?;
            DateTimeFilter {
                start: Some(i),
                end: Some(i),
                instant: true,
            }
        }
        Some((s, e)) => DateTimeFilter {
            start: if open(s) { None } else { Some(instant(s)?) },
            end: if open(e) { None } else { Some(instant(e)?) },
            instant: false,
        },
    };
    if let (Some(s), Some(e)) = (filter.start, filter.end)
        && start_utc(s)? > start_utc(e)?
    {
        return Err(bad("datetime", "the interval ends before it starts"));
    }
    Ok(Some(filter))
}

/// Midnight of a date in the city's time zone, as an instant.
pub fn kyiv_midnight(d: NaiveDate) -> Result<DateTime<Utc>, OgcError> {
    let naive = d.and_hms_opt(0, 0, 0).ok_or_else(|| bad("datetime", "invalid date"))?;
    chrono_tz::Europe::Kyiv
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| bad("datetime", format!("{d} has no midnight in Europe/Kyiv")))
}

/// The first moment an instant covers.
pub fn start_utc(i: Instant) -> Result<DateTime<Utc>, OgcError> {
    match i {
        Instant::Date(d) => kyiv_midnight(d),
        Instant::DateTime(t) => Ok(t.with_timezone(&Utc)),
    }
}

/// The date an instant falls on in the city's time zone.
pub fn kyiv_date(i: Instant) -> NaiveDate {
    match i {
        Instant::Date(d) => d,
        Instant::DateTime(t) => t.with_timezone(&chrono_tz::Europe::Kyiv).date_naive(),
    }
}

/// `properties`: a subset of the readable attributes, in the order given.
/// None = all of them.
pub fn properties(params: &Params, layer: &Layer, roles: &[Role]) -> Result<Option<Vec<String>>, OgcError> {
    let Some(text) = params.get("properties") else {
        return Ok(None);
    };
    let mut out: Vec<String> = Vec::new();
    for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !readable(layer, roles, name) {
            return Err(bad(
                "properties",
                format!("`{name}` is not a property of this collection"),
            ));
        }
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    Ok(Some(out))
}

fn readable(layer: &Layer, roles: &[Role], name: &str) -> bool {
    layer.attribute(name).is_some_and(|a| a.read.allows(roles))
}

/// One `sortby` key: an attribute (or the id column) and its direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub column: String,
    pub descending: bool,
}

/// `sortby=+a,-b,c`. A `+` arrives decoded as a space; both mean ascending.
pub fn sortby(params: &Params, layer: &Layer, roles: &[Role]) -> Result<Vec<SortKey>, OgcError> {
    let Some(text) = params.get("sortby") else {
        return Ok(Vec::new());
    };
    let mut keys: Vec<SortKey> = Vec::new();
    for item in text.split(',') {
        let item = item.trim_end();
        let (descending, name) = match item.chars().next() {
            Some('-') => (true, &item[1..]),
            Some('+') | Some(' ') => (false, item[1..].trim_start()),
            _ => (false, item),
        };
        if name.is_empty() {
            return Err(bad("sortby", "an empty sort key"));
        }
        let column = if name == "id" || name == layer.id_column {
            layer.id_column.clone()
        } else if readable(layer, roles, name) {
            name.to_string()
        } else {
            return Err(bad(
                "sortby",
                format!("`{name}` is not a sortable property of this collection"),
            ));
        };
        if keys.iter().any(|k| k.column == column) {
            return Err(bad("sortby", format!("`{name}` is given twice")));
        }
        keys.push(SortKey { column, descending });
    }
    Ok(keys)
}

/// Attribute types that `name=value` may compare.
pub fn is_scalar(t: AttrType) -> bool {
    !matches!(t, AttrType::Json | AttrType::StringList)
}

/// Checks a `name=value` value against the attribute type, so that a bad
/// value is a 400 with a message rather than a database cast error.
pub fn check_value(name: &str, t: AttrType, value: &str) -> Result<(), OgcError> {
    let ok = match t {
        AttrType::Integer => value.trim().parse::<i64>().is_ok(),
        AttrType::Number | AttrType::Money => value.trim().parse::<f64>().is_ok_and(f64::is_finite),
        AttrType::Boolean => matches!(value, "true" | "false"),
        AttrType::Date => NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok(),
        AttrType::Datetime => DateTime::parse_from_rfc3339(value).is_ok(),
        AttrType::String => true,
        AttrType::Json | AttrType::StringList => false,
    };
    if ok {
        Ok(())
    } else {
        Err(bad(name, format!("`{value}` is not a valid {}", t.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &str) -> Params {
        Params::parse(Some(q)).unwrap()
    }

    #[test]
    fn bbox_follows_the_axis_order_of_bbox_crs() {
        let b = bbox(&p("bbox=28.6,50.2,28.7,50.3")).unwrap().unwrap();
        assert_eq!((b.min_x, b.min_y, b.srid), (28.6, 50.2, 4326));
        let b = bbox(&p("bbox=50.2,28.6,50.3,28.7&bbox-crs=EPSG:4326"))
            .unwrap()
            .unwrap();
        assert_eq!((b.min_x, b.min_y, b.max_x, b.max_y), (28.6, 50.2, 28.7, 50.3));
        let b = bbox(&p("bbox=28.6,50.2,0,28.7,50.3,100")).unwrap().unwrap();
        assert_eq!((b.max_x, b.max_y), (28.7, 50.3));
        for q in [
            "bbox=1,2,3",
            "bbox=a,b,c,d",
            "bbox=28.7,50.2,28.6,50.3",
            "bbox=0,-91,1,1",
            "bbox-crs=EPSG:4326",
            "bbox=1,2,3,4&bbox-crs=EPSG:1",
        ] {
            assert!(bbox(&p(q)).is_err(), "{q}");
        }
    }

    #[test]
    fn datetime_instants_and_intervals() {
        let d = datetime(&p("datetime=2024-05-01")).unwrap().unwrap();
        assert!(d.instant);
        let d = datetime(&p("datetime=../2024-05-01T10:00:00Z")).unwrap().unwrap();
        assert_eq!(d.start, None);
        let d = datetime(&p("datetime=2024-01-01/")).unwrap().unwrap();
        assert_eq!(d.end, None);
        for q in [
            "datetime=yesterday",
            "datetime=2024-05-02/2024-05-01",
            "datetime=..",
            "datetime=2024-13-01",
        ] {
            assert!(datetime(&p(q)).is_err(), "{q}");
        }
    }

    #[test]
    fn limits_and_repeats() {
        assert_eq!(limit(&p("")).unwrap(), 100);
        assert_eq!(limit(&p("limit=10000")).unwrap(), 10000);
        for q in ["limit=0", "limit=10001", "limit=-1", "limit=ten"] {
            assert!(limit(&p(q)).is_err(), "{q}");
        }
        assert!(Params::parse(Some("limit=1&limit=2")).is_err());
        assert!(p("a=1").only(&["f"], |_| false).is_err());
    }
}
