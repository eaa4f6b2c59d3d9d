//! Non-spatial registers that files are imported into. Where the register
//! is a layer (`layers/accruals.toml` …, geometry type None) the layer file
//! decides who may import which column, and this table only adds what a
//! layer file cannot say: month columns, natural-key lookups and required
//! columns. Without a layer file the table is the whole description.
//!
//! | register | file | roles |
//! | --- | --- | --- |
//! | `accruals` | the lease "interface file" of accruals: `lease_id` or `contract_number` (property lease), or `land_plot_id` or `cadastral_number` (land lease); `period` (`2025-03` or a date on the 1st); `amount_uah` | property_editor, land_editor |
//! | `payments` | the interface file of payments: the same subject columns; `paid_on`, `amount_uah`, `document_number` | property_editor, land_editor |
//! | `energy_readings` | daily meter readings: `object_id`, `resource`, `reading_date`, `quantity`, `meter_number` | energy_editor |
//!
//! Column names mirror migrations/0004_layers.sql; the database's own
//! constraints (one subject per row, money ≥ 0, one reading per object,
//! resource and day) are enforced on load and reported per row.

use super::{Field, Target};
use crate::registry::Role;
use crate::registry::model::AttrType;

/// A file column that names a row of another table by a natural key; the
/// import resolves it to `field` with `sql` (one bound parameter, live rows).
#[derive(Debug, Clone)]
pub struct Lookup {
    pub column: &'static str,
    pub field: &'static str,
    pub sql: &'static str,
    /// For messages: "lease with contract number".
    pub what: &'static str,
}

struct Col {
    name: &'static str,
    ty: AttrType,
    required: bool,
    values: &'static [&'static str],
    first_of_month: bool,
}

const fn col(name: &'static str, ty: AttrType, required: bool) -> Col {
    Col {
        name,
        ty,
        required,
        values: &[],
        first_of_month: false,
    }
}

struct Register {
    id: &'static str,
    columns: &'static [Col],
    roles: &'static [Role],
    lookups: &'static [(&'static str, &'static str, &'static str, &'static str)],
}

const RESOURCES: &[&str] = &[
    "heat_gcal",
    "electricity_kwh",
    "gas_m3",
    "cold_water_m3",
    "hot_water_m3",
];

const SUBJECT_LOOKUPS: &[(&str, &str, &str, &str)] = &[
    (
        "contract_number",
        "lease_id",
        "SELECT id FROM leases WHERE contract_number = $1 AND deleted_at IS NULL",
        "lease with contract number",
    ),
    (
        "cadastral_number",
        "land_plot_id",
        "SELECT id FROM land_plots WHERE cadastral_number::text = $1 AND deleted_at IS NULL",
        "land plot with cadastral number",
    ),
];

const REGISTERS: &[Register] = &[
    Register {
        id: "accruals",
        columns: &[
            col("lease_id", AttrType::Integer, false),
            col("land_plot_id", AttrType::Integer, false),
            Col {
                name: "period",
                ty: AttrType::Date,
                required: true,
                values: &[],
                first_of_month: true,
            },
            col("amount_uah", AttrType::Money, true),
        ],
        roles: &[Role::PropertyEditor, Role::LandEditor],
        lookups: SUBJECT_LOOKUPS,
    },
    Register {
        id: "payments",
        columns: &[
            col("lease_id", AttrType::Integer, false),
            col("land_plot_id", AttrType::Integer, false),
            col("paid_on", AttrType::Date, true),
            col("amount_uah", AttrType::Money, true),
            col("document_number", AttrType::String, false),
        ],
        roles: &[Role::PropertyEditor, Role::LandEditor],
        lookups: SUBJECT_LOOKUPS,
    },
    Register {
        id: "energy_readings",
        columns: &[
            col("object_id", AttrType::Integer, true),
            Col {
                name: "resource",
                ty: AttrType::String,
                required: true,
                values: RESOURCES,
                first_of_month: false,
            },
            col("reading_date", AttrType::Date, true),
            col("quantity", AttrType::Number, true),
            col("meter_number", AttrType::String, false),
        ],
        roles: &[Role::EnergyEditor],
        lookups: &[],
    },
];

/// The ids of the registers files can be imported into.
pub fn ids() -> impl Iterator<Item = &'static str> {
    REGISTERS.iter().map(|r| r.id)
}

/// The register `id` as an import target.
pub fn target(id: &str) -> Option<Target> {
    let r = REGISTERS.iter().find(|r| r.id == id)?;
    Some(Target {
        id: r.id.to_string(),
        table: r.id.to_string(),
        fields: r
            .columns
            .iter()
            .map(|c| Field {
                name: c.name.to_string(),
                ty: c.ty,
                required: c.required,
                values: (!c.values.is_empty()).then(|| c.values.iter().map(|v| v.to_string()).collect()),
                first_of_month: c.first_of_month,
            })
            .collect(),
        geometry: None,
        edit_roles: r.roles.to_vec(),
        lookups: r
            .lookups
            .iter()
            .map(|&(column, field, sql, what)| Lookup {
                column,
                field,
                sql,
                what,
            })
            .collect(),
        is_layer: false,
    })
}
