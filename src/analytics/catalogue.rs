//! The catalogue of analyses, read from TOML files at request time so that
//! an analysis or a district indicator added to the folder appears in the
//! API and the tiles without a code change.
//!
//! * `analytics/<name>.toml` + the `.sql` file it names: one analysis. Its
//!   SQL takes the parameters as `$1…$n` in the order they are declared.
//! * `analytics/indicators.toml`: `[[indicators]]`, each an SQL aggregation
//!   per district (see `indicators.rs`), served together as the
//!   `district_indicators` analysis.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::AnalyticsError;
use crate::registry::model::I18n;

/// Where the catalogue lives: `GEOPORTAL_ANALYTICS_DIR`, else the folder
/// `analytics` next to the layers folder (the layer loader never reads it).
pub fn dir(layers_dir: &Path) -> PathBuf {
    if let Ok(d) = std::env::var("GEOPORTAL_ANALYTICS_DIR")
        && !d.is_empty()
    {
        return PathBuf::from(d);
    }
    layers_dir.parent().unwrap_or(Path::new("")).join("analytics")
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    Integer,
    Number,
    Date,
    String,
    Boolean,
}

/// One parameter of an analysis, as declared (and listed by the API).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ParamType,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<toml::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, rename = "enum", skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<I18n>,
}

/// How an analysis gets its SQL.
#[derive(Debug, Clone)]
pub enum Source {
    /// The text of its `.sql` file.
    Sql(String),
    /// Composed from the indicator catalogue.
    Indicators,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalysisFile {
    name: String,
    title: I18n,
    description: I18n,
    sql: String,
    /// The result has a `geom` column (EPSG:4326): GeoJSON is offered.
    #[serde(default)]
    geometry: bool,
    /// District-level result served as choropleth tiles (needs `geometry`).
    #[serde(default)]
    tiles: bool,
    /// Rows are features of this layer: the viewer must see the layer, and
    /// only the attributes the viewer may read (plus `derived`) are output.
    #[serde(default)]
    layer: Option<String>,
    #[serde(default)]
    derived: Vec<String>,
    #[serde(default)]
    params: Vec<ParamSpec>,
    /// Recomputed in the background after data changes (`warm.rs`).
    #[serde(default)]
    warm: bool,
    #[serde(default)]
    dbscan: Option<Dbscan>,
}

/// The SQL selects points (`x`, `y` in lon/lat and a `label`), and the
/// answer is their DBSCAN clusters (`dbscan.rs`): `id`, `<count>`,
/// `<top_label>`, `lat`, `lon`, `radius_m` and the centre as `geom`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dbscan {
    /// The parameter (a number) holding the neighbourhood distance, metres.
    pub eps: String,
    /// The parameter (an integer) holding the fewest points of a cluster.
    pub min_points: String,
    /// Output column: the number of points of a cluster.
    pub count: String,
    /// Output column: the most common label of its points.
    pub top_label: String,
}

impl Dbscan {
    /// The answer's columns, in order (`geom` aside).
    pub fn columns(&self) -> Vec<String> {
        ["id", &self.count, &self.top_label, "lat", "lon", "radius_m"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct Analysis {
    pub name: String,
    pub title: I18n,
    pub description: I18n,
    pub source: Source,
    pub geometry: bool,
    pub tiles: bool,
    pub layer: Option<String>,
    pub derived: Vec<String>,
    pub params: Vec<ParamSpec>,
    /// Its answers for the default parameters (and each `enum` value) are
    /// recomputed in the background when the data change (`warm.rs`).
    pub warm: bool,
    pub dbscan: Option<Dbscan>,
}

/// Whether a higher value of an indicator is better or worse.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsBetter,
    HigherIsWorse,
    Neutral,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    pub name: String,
    pub title: I18n,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<I18n>,
    pub unit: String,
    pub direction: Direction,
    /// The `.sql` file, relative to the catalogue folder.
    #[serde(skip_serializing)]
    pub sql: String,
    #[serde(skip)]
    pub sql_text: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndicatorsFile {
    /// `warm` of the composed `district_indicators` analysis.
    #[serde(default)]
    warm: bool,
    #[serde(default)]
    indicators: Vec<Indicator>,
}

#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub analyses: Vec<Analysis>,
    pub indicators: Vec<Indicator>,
}

pub const INDICATORS: &str = "district_indicators";

impl Catalogue {
    pub fn get(&self, name: &str) -> Option<&Analysis> {
        self.analyses.iter().find(|a| a.name == name)
    }

    /// Reads every `*.toml` of `dir`; every problem of every file is
    /// reported together.
    pub fn load(dir: &Path) -> Result<Catalogue, AnalyticsError> {
        let mut problems = Vec::new();
        let mut analyses = Vec::new();
        let mut indicators = Vec::new();
        let mut indicators_warm = false;
        let entries =
            std::fs::read_dir(dir).map_err(|e| AnalyticsError::Catalogue(format!("{}: {e}", dir.display())))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for path in files {
            let shown = path.display().to_string();
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(format!("{shown}: {e}"));
                    continue;
                }
            };
            if path.file_stem().is_some_and(|s| s == "indicators") {
                match toml::from_str::<IndicatorsFile>(&text) {
                    Ok(f) => {
                        indicators_warm = f.warm;
                        for mut i in f.indicators {
                            match read_sql(dir, &i.sql) {
                                Ok(s) => i.sql_text = s,
                                Err(e) => problems.push(format!("{shown}: indicator `{}`: {e}", i.name)),
                            }
                            indicators.push(i);
                        }
                    }
                    Err(e) => problems.push(format!("{shown}: {e}")),
                }
                continue;
            }
            match toml::from_str::<AnalysisFile>(&text) {
                Ok(f) => match analysis(dir, f) {
                    Ok(a) => analyses.push(a),
                    Err(e) => problems.push(format!("{shown}: {e}")),
                },
                Err(e) => problems.push(format!("{shown}: {e}")),
            }
        }
        let mut seen = HashSet::new();
        for i in &indicators {
            if !is_ident(&i.name) {
                problems.push(format!(
                    "indicator `{}`: the name must be a lower-case identifier",
                    i.name
                ));
            }
            if !seen.insert(i.name.clone()) {
                problems.push(format!("indicator `{}` is declared twice", i.name));
            }
        }
        if !indicators.is_empty() {
            let mut a = super::indicators::analysis();
            a.warm = indicators_warm;
            analyses.push(a);
        }
        let mut names = HashSet::new();
        for a in &analyses {
            if !names.insert(a.name.clone()) {
                problems.push(format!("analysis `{}` is declared twice", a.name));
            }
        }
        if !problems.is_empty() {
            return Err(AnalyticsError::Catalogue(problems.join("; ")));
        }
        analyses.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Catalogue { analyses, indicators })
    }
}

fn read_sql(dir: &Path, file: &str) -> Result<String, String> {
    // Only plain file names below the catalogue folder.
    if file.contains("..") || file.starts_with('/') || !file.ends_with(".sql") {
        return Err(format!(
            "`{file}` must be a relative `.sql` path inside the catalogue folder"
        ));
    }
    std::fs::read_to_string(dir.join(file)).map_err(|e| format!("{file}: {e}"))
}

pub fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= 63
}

fn analysis(dir: &Path, f: AnalysisFile) -> Result<Analysis, String> {
    if !is_ident(&f.name) {
        return Err(format!("name `{}` must be a lower-case identifier", f.name));
    }
    if f.name == INDICATORS {
        return Err(format!("`{INDICATORS}` is built from indicators.toml"));
    }
    if f.tiles && !f.geometry {
        return Err("`tiles = true` needs `geometry = true`".into());
    }
    // Tiles carry every column: only district-level (aggregate) results.
    if f.tiles && f.layer.is_some() {
        return Err("`tiles = true` is for aggregate results, not row-level `layer` ones".into());
    }
    let mut seen = HashSet::new();
    for p in &f.params {
        if !is_ident(&p.name) || p.name == "f" {
            return Err(format!(
                "parameter `{}`: a lower-case identifier other than `f`",
                p.name
            ));
        }
        if !seen.insert(&p.name) {
            return Err(format!("parameter `{}` is declared twice", p.name));
        }
        if !p.values.is_empty() && p.kind != ParamType::String {
            return Err(format!("parameter `{}`: `enum` is for strings", p.name));
        }
        if let Some(d) = &p.default {
            super::params::check_default(p, d).map_err(|e| format!("parameter `{}`: default {e}", p.name))?;
        }
    }
    if let Some(d) = &f.dbscan {
        if !f.geometry || f.tiles || f.layer.is_some() {
            return Err("`[dbscan]` answers clusters: `geometry = true`, no `tiles`, no `layer`".into());
        }
        for (name, kind) in [(&d.eps, ParamType::Number), (&d.min_points, ParamType::Integer)] {
            let ok = f
                .params
                .iter()
                .any(|p| &p.name == name && p.kind == kind && (p.default.is_some() || p.required));
            if !ok {
                return Err(format!(
                    "`[dbscan]` names `{name}`: a parameter of type {kind:?} with a default or required"
                ));
            }
        }
        for c in [&d.count, &d.top_label] {
            if !is_ident(c) || ["id", "lat", "lon", "radius_m", "geom"].contains(&c.as_str()) {
                return Err(format!("`[dbscan]` column `{c}`: a new lower-case identifier"));
            }
        }
    }
    let sql = read_sql(dir, &f.sql)?;
    Ok(Analysis {
        name: f.name,
        title: f.title,
        description: f.description,
        source: Source::Sql(sql),
        geometry: f.geometry,
        tiles: f.tiles,
        layer: f.layer,
        derived: f.derived,
        params: f.params,
        warm: f.warm,
        dbscan: f.dbscan,
    })
}
