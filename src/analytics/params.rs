//! Parameter checking: every value is parsed and range-checked before any
//! SQL runs, and every problem is reported in one 400.

use chrono::NaiveDate;
use serde_json::Value as Json;

use super::catalogue::{ParamSpec, ParamType};

/// A checked value, bound to the SQL as a typed parameter (NULL when absent).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Integer(Option<i64>),
    Number(Option<f64>),
    Date(Option<NaiveDate>),
    String(Option<String>),
    Boolean(Option<bool>),
}

impl Value {
    pub fn to_json(&self) -> Json {
        match self {
            Value::Integer(v) => v.map_or(Json::Null, Json::from),
            Value::Number(v) => v.map_or(Json::Null, Json::from),
            Value::Date(v) => v.map_or(Json::Null, |d| Json::from(d.to_string())),
            Value::String(v) => v.clone().map_or(Json::Null, Json::from),
            Value::Boolean(v) => v.map_or(Json::Null, Json::from),
        }
    }

    fn null(kind: ParamType) -> Value {
        match kind {
            ParamType::Integer => Value::Integer(None),
            ParamType::Number => Value::Number(None),
            ParamType::Date => Value::Date(None),
            ParamType::String => Value::String(None),
            ParamType::Boolean => Value::Boolean(None),
        }
    }
}

/// Parses one value given as text.
pub fn parse(spec: &ParamSpec, raw: &str) -> Result<Value, String> {
    let raw = raw.trim();
    let value = match spec.kind {
        ParamType::Integer => Value::Integer(Some(
            raw.parse::<i64>().map_err(|_| format!("`{raw}` is not an integer"))?,
        )),
        ParamType::Number => {
            let n = raw.parse::<f64>().map_err(|_| format!("`{raw}` is not a number"))?;
            if !n.is_finite() {
                return Err(format!("`{raw}` is not a finite number"));
            }
            Value::Number(Some(n))
        }
        ParamType::Date => Value::Date(Some(
            NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| format!("`{raw}` is not a date (YYYY-MM-DD)"))?,
        )),
        ParamType::Boolean => Value::Boolean(Some(match raw {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => return Err(format!("`{raw}` is not true or false")),
        })),
        ParamType::String => {
            if !spec.values.is_empty() && !spec.values.iter().any(|v| v == raw) {
                return Err(format!("`{raw}` is not one of {}", spec.values.join(", ")));
            }
            if raw.len() > 200 {
                return Err("longer than 200 characters".into());
            }
            Value::String(Some(raw.to_string()))
        }
    };
    check_range(spec, &value)?;
    Ok(value)
}

fn check_range(spec: &ParamSpec, value: &Value) -> Result<(), String> {
    let n = match value {
        Value::Integer(Some(i)) => *i as f64,
        Value::Number(Some(n)) => *n,
        _ => return Ok(()),
    };
    if let Some(min) = spec.min
        && n < min
    {
        return Err(format!("{n} is below the minimum {min}"));
    }
    if let Some(max) = spec.max
        && n > max
    {
        return Err(format!("{n} is above the maximum {max}"));
    }
    Ok(())
}

fn default_text(d: &toml::Value) -> String {
    match d {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A declared default must itself be a valid value (checked at load).
pub fn check_default(spec: &ParamSpec, d: &toml::Value) -> Result<(), String> {
    parse(spec, &default_text(d)).map(|_| ())
}

/// The values of `specs` from the query pairs, in declared order. Unknown
/// names (other than `f` and `extra`), repeats, missing required values and
/// bad values are all collected.
pub fn resolve(specs: &[ParamSpec], pairs: &[(String, String)], extra: &[&str]) -> Result<Vec<Value>, Vec<String>> {
    let mut problems = Vec::new();
    for (i, (name, _)) in pairs.iter().enumerate() {
        if name == "f" || extra.contains(&name.as_str()) {
            continue;
        }
        if !specs.iter().any(|s| &s.name == name) {
            let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            problems.push(format!(
                "unknown parameter `{name}` (known: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ));
        } else if pairs[..i].iter().any(|(n, _)| n == name) {
            problems.push(format!("parameter `{name}` is given more than once"));
        }
    }
    let mut values = Vec::with_capacity(specs.len());
    for spec in specs {
        let given = pairs.iter().find(|(n, v)| *n == spec.name && !v.trim().is_empty());
        let value = match (given, &spec.default) {
            (Some((_, raw)), _) => parse(spec, raw).map_err(|e| format!("parameter `{}`: {e}", spec.name)),
            (None, Some(d)) => parse(spec, &default_text(d)).map_err(|e| format!("parameter `{}`: {e}", spec.name)),
            (None, None) if spec.required => Err(format!("parameter `{}` is required", spec.name)),
            (None, None) => Ok(Value::null(spec.kind)),
        };
        match value {
            Ok(v) => values.push(v),
            Err(e) => problems.push(e),
        }
    }
    if problems.is_empty() { Ok(values) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, kind: ParamType) -> ParamSpec {
        ParamSpec {
            name: name.into(),
            kind,
            required: false,
            default: None,
            min: None,
            max: None,
            values: vec![],
            description: None,
        }
    }

    #[test]
    fn collects_every_problem() {
        let mut size = spec("size", ParamType::Number);
        size.min = Some(100.0);
        let mut kind = spec("kind", ParamType::String);
        kind.values = vec!["admin".into(), "electoral".into()];
        let mut id = spec("id", ParamType::Integer);
        id.required = true;
        let specs = vec![size, kind, id, spec("from", ParamType::Date)];
        let pairs: Vec<(String, String)> = [("size", "5"), ("kind", "x"), ("from", "2024-13-01"), ("zzz", "1")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let errs = resolve(&specs, &pairs, &[]).unwrap_err();
        assert_eq!(errs.len(), 5, "{errs:?}");
        let ok: Vec<(String, String)> = vec![("id".into(), "7".into()), ("f".into(), "csv".into())];
        let vals = resolve(&specs, &ok, &[]).unwrap();
        assert_eq!(vals[2], Value::Integer(Some(7)));
        assert_eq!(vals[0], Value::Number(None));
    }
}
