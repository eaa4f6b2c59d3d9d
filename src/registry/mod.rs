//! The layer registry: `layers/*.toml` loaded once at start and checked
//! against the live database. Tiles, features, editors, exports, analytics
//! and the UI read layers from here and nowhere else.

mod check;
pub mod model;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use check::check_against_database;
pub use model::{AttrType, Attribute, GeometryType, LayerDef, LayerGroup, ReadAccess, Role, TileEngine};

/// One problem in one layer file, named by file and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub key: String,
    pub problem: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: key `{}`: {}", self.file.display(), self.key, self.problem)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot read the layer directory {dir}: {source}")]
    ReadDir { dir: PathBuf, source: std::io::Error },
    #[error("no layer files (*.toml) in {0}")]
    Empty(PathBuf),
    #[error("invalid layer definitions:\n  {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Invalid(Vec<Problem>),
    #[error("cannot check layers against the database: {0}")]
    Db(#[from] sqlx::Error),
}

impl RegistryError {
    pub fn problems(&self) -> &[Problem] {
        match self {
            RegistryError::Invalid(p) => p,
            _ => &[],
        }
    }
}

/// A loaded layer and the file it came from.
#[derive(Debug, Clone)]
pub struct Layer {
    pub def: LayerDef,
    pub file: PathBuf,
    /// `rows[i].filter` parsed once (None where a rule has no filter).
    pub row_filters: Vec<Option<cql2::Expr>>,
}

impl Layer {
    pub fn new(def: LayerDef, file: PathBuf) -> Layer {
        let row_filters = def
            .rows
            .iter()
            .map(|r| r.filter.as_deref().and_then(|f| cql2::parse_text(f).ok()))
            .collect();
        Layer { def, file, row_filters }
    }
}

impl std::ops::Deref for Layer {
    type Target = LayerDef;
    fn deref(&self) -> &LayerDef {
        &self.def
    }
}

/// All layers, in file-name order.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    layers: Vec<Arc<Layer>>,
    by_id: BTreeMap<String, usize>,
    /// Set once the publication listener of this registry runs (src/api/publication.rs).
    publication_listener: std::sync::OnceLock<()>,
}

impl Registry {
    /// Reads and statically validates every `*.toml` in `dir`. Every problem
    /// in every file is reported, not just the first.
    pub fn load_dir(dir: &Path) -> Result<Registry, RegistryError> {
        let entries = std::fs::read_dir(dir).map_err(|source| RegistryError::ReadDir {
            dir: dir.to_path_buf(),
            source,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(RegistryError::Empty(dir.to_path_buf()));
        }
        let mut problems = Vec::new();
        let mut layers = Vec::new();
        for file in files {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(Problem {
                        file,
                        key: "(file)".into(),
                        problem: format!("cannot read: {e}"),
                    });
                    continue;
                }
            };
            match toml::from_str::<LayerDef>(&text) {
                Ok(def) => layers.push(Layer::new(def, file)),
                Err(e) => problems.push(Problem {
                    key: toml_error_key(&e, &text),
                    problem: e.message().to_string(),
                    file,
                }),
            }
        }
        let registry = Registry::from_layers(layers, &mut problems);
        if problems.is_empty() {
            Ok(registry)
        } else {
            Err(RegistryError::Invalid(problems))
        }
    }

    fn from_layers(layers: Vec<Layer>, problems: &mut Vec<Problem>) -> Registry {
        let mut registry = Registry::default();
        for layer in layers {
            validate(&layer, problems);
            if registry.by_id.contains_key(&layer.id) {
                problems.push(Problem {
                    file: layer.file.clone(),
                    key: "id".into(),
                    problem: format!("layer id `{}` is defined in more than one file", layer.id),
                });
                continue;
            }
            registry.by_id.insert(layer.id.clone(), registry.layers.len());
            registry.layers.push(Arc::new(layer));
        }
        registry
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Layer>> {
        self.by_id.get(id).map(|&i| &self.layers[i])
    }

    pub fn all(&self) -> &[Arc<Layer>] {
        &self.layers
    }

    /// The layers a user with `roles` may see (the public passes `&[]`).
    pub fn visible_to<'a>(&'a self, roles: &'a [Role]) -> impl Iterator<Item = &'a Arc<Layer>> {
        self.layers.iter().filter(move |l| l.visible_to(roles))
    }

    /// Sets the run-time publication override of layer `id` (`None`: the
    /// file's `published` decides again). False for an unknown layer.
    pub fn set_publication(&self, id: &str, value: Option<bool>) -> bool {
        match self.get(id) {
            Some(layer) => {
                layer.publication.set(value);
                true
            }
            None => false,
        }
    }

    /// True for the first caller only: one publication listener per registry.
    pub fn claim_publication_listener(&self) -> bool {
        self.publication_listener.set(()).is_ok()
    }

    /// The visible layer with this id, or None — an unpublished layer does not
    /// exist for those who may not see it.
    pub fn get_visible(&self, id: &str, roles: &[Role]) -> Option<&Arc<Layer>> {
        self.get(id).filter(|l| l.visible_to(roles))
    }
}

/// The dotted key a TOML error is about, recovered from its span.
fn toml_error_key(e: &toml::de::Error, text: &str) -> String {
    let Some(span) = e.span() else {
        return "(file)".into();
    };
    let line_start = text[..span.start.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let line_no = text[..line_start].matches('\n').count() + 1;
    let line = text[line_start..].lines().next().unwrap_or("").trim();
    let key = line.split('=').next().unwrap_or(line).trim();
    format!("{key} (line {line_no})")
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= 63
}

/// Static checks that need no database.
fn validate(layer: &Layer, problems: &mut Vec<Problem>) {
    let mut report = |key: String, problem: String| {
        problems.push(Problem {
            file: layer.file.clone(),
            key,
            problem,
        })
    };
    if !is_identifier(&layer.id) {
        report("id".into(), format!("`{}` is not a lower-case identifier", layer.id));
    }
    if let Some(stem) = layer.file.file_stem().and_then(|s| s.to_str())
        && stem != layer.id
    {
        report(
            "id".into(),
            format!("`{}` differs from the file name `{stem}.toml`", layer.id),
        );
    }
    if !is_identifier(layer.table()) {
        report("table".into(), format!("`{}` is not a valid table name", layer.table()));
    }
    if layer.minzoom > layer.maxzoom || layer.maxzoom > 24 {
        report(
            "minzoom/maxzoom".into(),
            format!("need minzoom ≤ maxzoom ≤ 24, got {}..{}", layer.minzoom, layer.maxzoom),
        );
    }
    if layer.geometry.srid != 4326 {
        report("geometry.srid".into(), "layers are stored in EPSG:4326".into());
    }
    let mut seen = BTreeSet::new();
    for (i, a) in layer.attributes.iter().enumerate() {
        let key = format!("attributes[{i}].name");
        if !is_identifier(&a.name) {
            report(key.clone(), format!("`{}` is not a valid column name", a.name));
        }
        if !seen.insert(a.name.as_str()) {
            report(key.clone(), format!("attribute `{}` is listed twice", a.name));
        }
        if a.name == layer.geometry.column || a.name == layer.id_column {
            report(
                key,
                format!("`{}` is the geometry or id column, not an attribute", a.name),
            );
        }
        if let ReadAccess::Roles(roles) = &a.read
            && roles.is_empty()
        {
            report(
                format!("attributes[{i}].read"),
                "an empty role list hides the attribute from everyone".into(),
            );
        }
        if let Some(z) = a.tile_minzoom
            && (!a.tile || !(layer.minzoom..=layer.maxzoom).contains(&z))
        {
            report(
                format!("attributes[{i}].tile_minzoom"),
                format!(
                    "needs `tile = true` and a zoom in {}..={}, got {z}",
                    layer.minzoom, layer.maxzoom
                ),
            );
        }
        if a.edit.contains(&model::Role::Everyone) {
            report(format!("attributes[{i}].edit"), "`everyone` may not edit".into());
        }
    }
    if let Some(t) = &layer.temporal {
        match layer.attribute(t) {
            Some(a) if matches!(a.attr_type, AttrType::Date | AttrType::Datetime) => {}
            Some(_) => report("temporal".into(), format!("`{t}` is not a date or datetime attribute")),
            None => report("temporal".into(), format!("`{t}` is not an attribute of the layer")),
        }
    }
    if let Some(l) = &layer.label
        && layer.attribute(l).is_none()
    {
        report("label".into(), format!("`{l}` is not an attribute of the layer"));
    }
    for (i, s) in layer.search.iter().enumerate() {
        match layer.attribute(s) {
            Some(a) if a.attr_type == AttrType::String => {}
            Some(_) => report(format!("search[{i}]"), format!("`{s}` is not a string attribute")),
            None => report(
                format!("search[{i}]"),
                format!("`{s}` is not an attribute of the layer"),
            ),
        }
    }
    for (key, problem) in layer.cluster_problems() {
        report(key, problem);
    }
    for (i, rule) in layer.rows.iter().enumerate() {
        if rule.roles.is_empty() {
            report(format!("rows[{i}].roles"), "a row rule needs at least one role".into());
        }
        if let Some(filter) = &rule.filter {
            match cql2::parse_text(filter) {
                Ok(expr) => {
                    let mut props = BTreeSet::new();
                    properties(&expr, &mut props);
                    for p in props {
                        if layer.attribute(&p).is_none() {
                            report(
                                format!("rows[{i}].filter"),
                                format!("`{p}` is not an attribute of the layer"),
                            );
                        }
                    }
                }
                Err(e) => report(format!("rows[{i}].filter"), format!("not valid CQL2 text: {e}")),
            }
        }
    }
}

/// Property names a CQL2 expression refers to.
fn properties(expr: &cql2::Expr, out: &mut BTreeSet<String>) {
    use cql2::Expr;
    match expr {
        Expr::Property { property } => {
            out.insert(property.clone());
        }
        Expr::Operation { args, .. } => args.iter().for_each(|a| properties(a, out)),
        Expr::Interval { interval } => interval.iter().for_each(|a| properties(a, out)),
        Expr::Timestamp { timestamp } => properties(timestamp, out),
        Expr::Date { date } => properties(date, out),
        Expr::BBox { bbox } => bbox.iter().for_each(|a| properties(a, out)),
        Expr::Array(items) => items.iter().for_each(|a| properties(a, out)),
        _ => {}
    }
}
