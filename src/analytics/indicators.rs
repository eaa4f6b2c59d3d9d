//! District indicators as data: each entry of `analytics/indicators.toml`
//! is an SQL query over the districts `d` and their appeals `ap` (see
//! `sql/districts.sql`) returning `(district_id, value)`. All of them are
//! joined into one row per district, the `district_indicators` analysis —
//! so a new entry appears in its JSON, CSV, GeoJSON and tiles at once.

use super::catalogue::{Analysis, Indicator, ParamSpec, ParamType, Source};
use crate::registry::model::I18n;

const DISTRICTS: &str = include_str!("sql/districts.sql");

fn i18n(uk: &str, en: &str) -> I18n {
    I18n {
        uk: uk.into(),
        en: en.into(),
    }
}

fn param(name: &str, kind: ParamType, uk: &str, en: &str) -> ParamSpec {
    ParamSpec {
        name: name.into(),
        kind,
        required: false,
        default: None,
        min: None,
        max: None,
        values: vec![],
        description: Some(i18n(uk, en)),
    }
}

/// The `district_indicators` analysis (its SQL is composed per request).
pub fn analysis() -> Analysis {
    let mut kind = param(
        "kind",
        ParamType::String,
        "Вид округів: виборчі або адміністративні райони",
        "Kind of district: electoral or administrative",
    );
    kind.values = vec!["electoral".into(), "admin".into()];
    kind.default = Some(toml::Value::String("electoral".into()));
    Analysis {
        name: super::catalogue::INDICATORS.into(),
        title: i18n("Показники міського середовища за округами", "District indicators"),
        description: i18n(
            "Показники з каталогу analytics/indicators.toml для кожного виборчого округу або адміністративного району, з одиницями та напрямом (більше — краще чи гірше).",
            "Every indicator of the catalogue analytics/indicators.toml for each electoral or administrative district, with its unit and direction (higher is better or worse).",
        ),
        source: Source::Indicators,
        geometry: true,
        tiles: true,
        layer: None,
        derived: vec![],
        warm: false,
        dbscan: None,
        params: vec![
            kind,
            param(
                "from",
                ParamType::Date,
                "Звернення з дати (включно)",
                "Appeals from (inclusive)",
            ),
            param(
                "to",
                ParamType::Date,
                "Звернення до дати (включно)",
                "Appeals to (inclusive)",
            ),
        ],
    }
}

fn strip(sql: &str) -> &str {
    sql.trim().trim_end_matches(';').trim_end()
}

/// One query: a row per district with a column per indicator.
pub fn sql(indicators: &[Indicator]) -> String {
    let mut s = String::from("WITH ");
    s.push_str(DISTRICTS);
    for (i, ind) in indicators.iter().enumerate() {
        s.push_str(&format!(",\ni{i} AS MATERIALIZED (\n{}\n)", strip(&ind.sql_text)));
    }
    s.push_str("\nSELECT d.id, d.kind, d.number, d.name, d.population, round(d.area_km2::numeric, 3) AS area_km2");
    for (i, ind) in indicators.iter().enumerate() {
        // Names are checked identifiers; NaN/infinity become NULL.
        s.push_str(&format!(
            ",\n (SELECT CASE WHEN v.value::float8 IN ('NaN', 'Infinity', '-Infinity') THEN NULL \
             ELSE round(v.value::numeric, 4) END FROM i{i} v WHERE v.district_id = d.id LIMIT 1) AS \"{}\"",
            ind.name
        ));
    }
    s.push_str(",\n d.geom\nFROM d ORDER BY d.number NULLS LAST, d.id");
    s
}
