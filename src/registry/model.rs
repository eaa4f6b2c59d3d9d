//! The layer definition as written in `layers/*.toml`.
//!
//! Unknown keys are refused (`deny_unknown_fields`) so that a typo in a layer
//! file stops start instead of silently changing what is published.

use serde::{Deserialize, Serialize};

/// A text in Ukrainian and English.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct I18n {
    pub uk: String,
    pub en: String,
}

/// Roles of DOMAIN.md section 1. `Everyone` stands for any visitor,
/// signed in or not.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Everyone,
    Resident,
    AppealsOperator,
    Executor,
    LandEditor,
    PropertyEditor,
    EnergyEditor,
    AdsEditor,
    InvestmentEditor,
    BudgetEditor,
    Deputy,
    Investor,
    Admin,
}

impl Role {
    /// Every role a user account may hold (all but `Everyone`).
    pub const ACCOUNT_ROLES: [Role; 12] = [
        Role::Resident,
        Role::AppealsOperator,
        Role::Executor,
        Role::LandEditor,
        Role::PropertyEditor,
        Role::EnergyEditor,
        Role::AdsEditor,
        Role::InvestmentEditor,
        Role::BudgetEditor,
        Role::Deputy,
        Role::Investor,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Everyone => "everyone",
            Role::Resident => "resident",
            Role::AppealsOperator => "appeals_operator",
            Role::Executor => "executor",
            Role::LandEditor => "land_editor",
            Role::PropertyEditor => "property_editor",
            Role::EnergyEditor => "energy_editor",
            Role::AdsEditor => "ads_editor",
            Role::InvestmentEditor => "investment_editor",
            Role::BudgetEditor => "budget_editor",
            Role::Deputy => "deputy",
            Role::Investor => "investor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ACCOUNT_ROLES
            .into_iter()
            .chain([Role::Everyone])
            .find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LayerGroup {
    /// The offline basemap and geocoder (streets, buildings, ...).
    Base,
    /// The city's registers on the map.
    Thematic,
    /// Registers without geometry that belong to the layers (leases,
    /// tariffs, meter readings, reference tables).
    Register,
}

/// Geometry type of a layer; `Geometry` is the generic type of a layer that
/// mixes points, lines and polygons.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
pub enum GeometryType {
    Point,
    MultiPoint,
    LineString,
    MultiLineString,
    Polygon,
    MultiPolygon,
    Geometry,
    /// A register without geometry (leases, tariffs, meter readings…):
    /// served as features with `"geometry": null`, never as tiles.
    None,
}

impl GeometryType {
    /// The name PostGIS uses in `geometry_columns.type`.
    pub fn postgis_name(self) -> &'static str {
        match self {
            GeometryType::Point => "POINT",
            GeometryType::MultiPoint => "MULTIPOINT",
            GeometryType::LineString => "LINESTRING",
            GeometryType::MultiLineString => "MULTILINESTRING",
            GeometryType::Polygon => "POLYGON",
            GeometryType::MultiPolygon => "MULTIPOLYGON",
            GeometryType::Geometry => "GEOMETRY",
            GeometryType::None => "NONE",
        }
    }
}

fn default_geom_column() -> String {
    "geom".into()
}
fn default_srid() -> i32 {
    4326
}
fn default_id_column() -> String {
    "id".into()
}
fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GeometrySpec {
    #[serde(default = "default_geom_column")]
    pub column: String,
    #[serde(rename = "type")]
    pub geometry_type: GeometryType,
    #[serde(default = "default_srid")]
    pub srid: i32,
}

/// Attribute value types, each mapped to the PostgreSQL types that may hold it.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AttrType {
    String,
    Integer,
    Number,
    /// UAH with 2 decimals.
    Money,
    Boolean,
    Date,
    Datetime,
    Json,
    StringList,
}

impl AttrType {
    /// PostgreSQL base type names (`pg_type.typname`, domains resolved) that
    /// can back an attribute of this type.
    pub fn pg_types(self) -> &'static [&'static str] {
        match self {
            AttrType::String => &["text", "varchar", "bpchar"],
            AttrType::Integer => &["int2", "int4", "int8"],
            AttrType::Number => &["numeric", "float4", "float8", "int2", "int4", "int8"],
            AttrType::Money => &["numeric"],
            AttrType::Boolean => &["bool"],
            AttrType::Date => &["date"],
            AttrType::Datetime => &["timestamptz", "timestamp"],
            AttrType::Json => &["jsonb", "json"],
            AttrType::StringList => &["_text", "_varchar"],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Integer => "integer",
            AttrType::Number => "number",
            AttrType::Money => "money",
            AttrType::Boolean => "boolean",
            AttrType::Date => "date",
            AttrType::Datetime => "datetime",
            AttrType::Json => "json",
            AttrType::StringList => "string_list",
        }
    }
}

/// Who may read an attribute: `"everyone"` or a list of roles.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum ReadAccess {
    Keyword(ReadKeyword),
    Roles(Vec<Role>),
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReadKeyword {
    Everyone,
}

impl ReadAccess {
    pub fn is_public(&self) -> bool {
        match self {
            ReadAccess::Keyword(ReadKeyword::Everyone) => true,
            ReadAccess::Roles(roles) => roles.contains(&Role::Everyone),
        }
    }

    pub fn allows(&self, roles: &[Role]) -> bool {
        match self {
            ReadAccess::Keyword(ReadKeyword::Everyone) => true,
            ReadAccess::Roles(allowed) => {
                allowed.contains(&Role::Everyone) || roles.iter().any(|r| allowed.contains(r))
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    pub name: String,
    #[serde(rename = "type")]
    pub attr_type: AttrType,
    pub title: I18n,
    #[serde(default)]
    pub description: Option<I18n>,
    pub read: ReadAccess,
    #[serde(default)]
    pub edit: Vec<Role>,
    /// Whether the attribute goes into vector tiles (for those who may read it).
    #[serde(default)]
    pub tile: bool,
    /// With `tile`: the first zoom whose tiles carry the attribute (default:
    /// the layer's minzoom). Long unique texts (numbers, addresses) left out
    /// of the zooms where a tile holds thousands of features keep it under
    /// the size bound; the feature and its id stay.
    #[serde(default)]
    pub tile_minzoom: Option<u8>,
    /// Allowed values, where the column holds a code list (mirrors the
    /// table's CHECK constraint; used for queryables and editor forms).
    #[serde(default)]
    pub values: Option<Vec<String>>,
    /// Unit for display, e.g. "m²", "ha", "UAH".
    #[serde(default)]
    pub unit: Option<String>,
}

/// What the user's account links to, for "own rows" rules.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UserKey {
    /// The account id (a resident's own appeals).
    AccountId,
    /// The executor (department) the account belongs to.
    ExecutorId,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OwnRule {
    pub column: String,
    pub user: UserKey,
}

/// A row rule: the roles it applies to see the live rows matching `filter`
/// (CQL2 text) and, if `own` is set, only rows linked to their account.
/// A user sees the union of the rules that apply to any of their roles; a
/// layer with no rules shows all live rows to everyone who may see it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RowRule {
    pub roles: Vec<Role>,
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default)]
    pub own: Option<OwnRule>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LayerDef {
    pub id: String,
    /// Defaults to the layer id.
    #[serde(default)]
    pub table: Option<String>,
    pub title: I18n,
    pub description: I18n,
    pub group: LayerGroup,
    /// One switch to hide a layer from the public (e.g. critical
    /// infrastructure under martial law). Staff roles in `staff` still see it.
    #[serde(default = "default_true")]
    pub published: bool,
    /// Roles that see the layer even when it is not published.
    #[serde(default)]
    pub staff: Vec<Role>,
    /// An admin's run-time switch (`layer_publication`), which wins over
    /// `published`; never read from or written to the file.
    #[serde(skip)]
    pub publication: PublicationSwitch,
    pub geometry: GeometrySpec,
    #[serde(default = "default_id_column")]
    pub id_column: String,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// Column that places a feature in time (OGC `datetime` filter).
    #[serde(default)]
    pub temporal: Option<String>,
    /// Attribute used as a feature's label in lists and search results.
    #[serde(default)]
    pub label: Option<String>,
    /// Attributes searched by the map's search box.
    #[serde(default)]
    pub search: Vec<String>,
    #[serde(default)]
    pub attribution: Option<String>,
    #[serde(default)]
    pub rows: Vec<RowRule>,
    /// Server-side clustering of a dense point layer in tiles (optional).
    #[serde(default)]
    pub cluster: Option<ClusterSpec>,
    /// Where the layer's tiles are made (default: `crate::tiles::DEFAULT_ENGINE`).
    #[serde(default)]
    pub tile_engine: Option<TileEngine>,
    pub attributes: Vec<Attribute>,
}

/// The run-time publication override of a layer: none (the file's
/// `published` decides), published or hidden. Atomic, so the admin endpoint
/// and the change listener switch it while requests read it.
#[derive(Debug, Default)]
pub struct PublicationSwitch(std::sync::atomic::AtomicU8);

impl PublicationSwitch {
    const NONE: u8 = 0;
    const PUBLISHED: u8 = 1;
    const HIDDEN: u8 = 2;

    /// The override, if any.
    pub fn get(&self) -> Option<bool> {
        match self.0.load(std::sync::atomic::Ordering::SeqCst) {
            Self::PUBLISHED => Some(true),
            Self::HIDDEN => Some(false),
            _ => None,
        }
    }

    /// Sets (`Some`) or removes (`None`) the override.
    pub fn set(&self, value: Option<bool>) {
        let v = match value {
            Some(true) => Self::PUBLISHED,
            Some(false) => Self::HIDDEN,
            None => Self::NONE,
        };
        self.0.store(v, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A copy holds the same override at the time of copying.
impl Clone for PublicationSwitch {
    fn clone(&self) -> Self {
        let copy = PublicationSwitch::default();
        copy.set(self.get());
        copy
    }
}

/// `tile_engine = "postgis"`: `ST_AsMVT` over `ST_AsMVTGeom` in the
/// database; `"rust"`: geometries streamed out as WKB, clipped and encoded
/// here (`src/tiles/native.rs`). Clustered zooms are always made in PostGIS.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TileEngine {
    Postgis,
    Rust,
}

/// `cluster = { below_zoom = 15, dominant = "category" }`: tiles of zoom
/// below `below_zoom` carry one point per cluster with its `count` and the
/// most common value of `dominant` instead of the features.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    pub below_zoom: u8,
    #[serde(default)]
    pub dominant: Option<String>,
}

impl LayerDef {
    /// False for registers without geometry.
    pub fn has_geometry(&self) -> bool {
        self.geometry.geometry_type != GeometryType::None
    }

    /// The geometry as an SQL expression on `alias`; `NULL::geometry` for a
    /// register, so the same queries serve both (null geometry, no extent).
    pub fn geom_sql(&self, alias: &str) -> String {
        if self.has_geometry() {
            format!("{alias}.\"{}\"", self.geometry.column.replace('"', "\"\""))
        } else {
            "NULL::geometry".to_string()
        }
    }

    pub fn table(&self) -> &str {
        self.table.as_deref().unwrap_or(&self.id)
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Whether a user with `roles` may see this layer at all.
    pub fn visible_to(&self, roles: &[Role]) -> bool {
        self.is_published() || roles.contains(&Role::Admin) || roles.iter().any(|r| self.staff.contains(r))
    }

    /// Whether the public sees the layer now: an admin's override, else the file.
    pub fn is_published(&self) -> bool {
        self.publication.get().unwrap_or(self.published)
    }

    /// Problems of the `cluster` key as (key, problem): only point layers
    /// cluster, within their zooms, on a plain attribute.
    pub fn cluster_problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let Some(c) = &self.cluster else {
            return out;
        };
        if !matches!(
            self.geometry.geometry_type,
            GeometryType::Point | GeometryType::MultiPoint
        ) {
            out.push((
                "cluster".into(),
                "only Point and MultiPoint layers can be clustered".into(),
            ));
        }
        if c.below_zoom <= self.minzoom || c.below_zoom > self.maxzoom.saturating_add(1) {
            out.push((
                "cluster.below_zoom".into(),
                format!(
                    "must be in {}..={} (above minzoom, at most maxzoom + 1), got {}",
                    self.minzoom + 1,
                    self.maxzoom.saturating_add(1),
                    c.below_zoom
                ),
            ));
        }
        if let Some(d) = &c.dominant {
            match self.attribute(d) {
                Some(a) if matches!(a.attr_type, AttrType::String | AttrType::Integer | AttrType::Boolean) => {}
                Some(_) => out.push((
                    "cluster.dominant".into(),
                    format!("`{d}` must be a string, integer or boolean attribute"),
                )),
                None => out.push((
                    "cluster.dominant".into(),
                    format!("`{d}` is not an attribute of the layer"),
                )),
            }
        }
        out
    }

    /// Roles listed in the `edit` list of some attribute: the layer's
    /// editors. Admin edits a layer only where a file lists it.
    pub fn editors(&self) -> Vec<Role> {
        let mut roles: Vec<Role> = self.attributes.iter().flat_map(|a| a.edit.iter().copied()).collect();
        roles.sort_unstable();
        roles.dedup();
        roles
    }

    /// Whether a user with `roles` may edit some attribute of the layer.
    pub fn can_edit(&self, roles: &[Role]) -> bool {
        self.attributes.iter().any(|a| a.edit.iter().any(|r| roles.contains(r)))
    }

    /// Attributes a user with `roles` may write, in file order.
    pub fn editable_attributes<'a>(&'a self, roles: &'a [Role]) -> impl Iterator<Item = &'a Attribute> {
        self.attributes
            .iter()
            .filter(move |a| a.edit.iter().any(|r| roles.contains(r)))
    }

    /// The layer's full editors: roles listed on more than half of the
    /// editable attributes. Only they create, delete, restore and move
    /// features; a role that edits a few attributes (an executor's answer,
    /// a resident's rating) only changes those.
    pub fn full_editors(&self) -> Vec<Role> {
        let editable = self.attributes.iter().filter(|a| !a.edit.is_empty()).count();
        self.editors()
            .into_iter()
            .filter(|r| 2 * self.attributes.iter().filter(|a| a.edit.contains(r)).count() > editable)
            .collect()
    }

    /// Whether a user with `roles` is a full editor of the layer.
    pub fn is_full_editor(&self, roles: &[Role]) -> bool {
        self.full_editors().iter().any(|r| roles.contains(r))
    }

    /// Attributes a user with `roles` may read, in file order.
    pub fn readable_attributes<'a>(&'a self, roles: &'a [Role]) -> impl Iterator<Item = &'a Attribute> {
        self.attributes.iter().filter(move |a| a.read.allows(roles))
    }
}
