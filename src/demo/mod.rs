//! Deterministic demo city generator (DOMAIN.md section 7).
//!
//! A realistic city on Zhytomyr's location, generated from a seed: streets,
//! blocks, plots, buildings and addresses, every register layer with three
//! years of dated records, and deliberate data-quality faults for the
//! analyses. The same seed and scale always give byte-identical rows: all
//! dates derive from a fixed "today" (2026-11-01), never from the clock.
//!
//! Layout: `city` (physical layout) → per-layer writers (`base`, `districts`,
//! `land`, `property`, `rent`, `energy`, `street_objects`, `invest`,
//! `appeals`) → `generate` (order) → `copy` (COPY text rows) → `load` (one
//! transaction, import batch, history).

mod appeals;
mod base;
mod city;
mod copy;
mod districts;
mod energy;
mod generate;
mod geometry;
mod invest;
mod land;
mod load;
mod names;
mod orgs;
mod property;
mod rent;
mod street_objects;
mod util;

use sqlx::PgPool;
use std::collections::BTreeMap;

/// Every table the demo fills, in load order.
pub const TABLES: &[&str] = &[
    "city_boundary",
    "admin_districts",
    "water",
    "price_zones",
    "streets",
    "addresses",
    "buildings",
    "electoral_districts",
    "deputies",
    "executors",
    "executor_responsibility",
    "working_calendar",
    "land_plots",
    "communal_property",
    "leases",
    "accruals",
    "payments",
    "energy_objects",
    "tariffs",
    "weather_daily",
    "energy_readings",
    "ad_structures",
    "temporary_structures",
    "investment_sites",
    "budget_projects",
    "appeals",
];

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// 1.0 is the normal demo (~61 km², ~20k plots, ~30k appeals); counts
    /// and area scale with it. Must be finite and in (0, 100].
    pub scale: f64,
    pub seed: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { scale: 1.0, seed: 42 }
    }
}

#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub batch_id: i64,
    /// Rows loaded per table.
    pub rows: BTreeMap<String, u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("invalid scale {0}: must be a finite number in (0, 100]")]
    InvalidScale(f64),
    #[error("table {0} already holds rows: the demo city loads only into an empty database")]
    NotEmpty(String),
    #[error("demo generator failed: {0}")]
    Generator(String),
}

/// Generate the demo city and load it in one transaction (nothing is left
/// behind on error). Refuses with `NotEmpty` if any demo table holds rows.
pub async fn load(pool: &PgPool, opts: &DemoOptions, progress: bool) -> Result<DemoSummary, DemoError> {
    load::run(pool, opts, progress).await
}

/// True when the database has no city yet.
pub async fn is_empty(pool: &PgPool) -> Result<bool, DemoError> {
    let empty: bool =
        sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM city_boundary) AND NOT EXISTS (SELECT 1 FROM land_plots)")
            .fetch_one(pool)
            .await?;
    Ok(empty)
}

/// md5 per demo table over all rows ordered by id (determinism checks).
pub async fn table_checksums(pool: &PgPool) -> Result<BTreeMap<String, String>, DemoError> {
    let mut out = BTreeMap::new();
    for t in TABLES {
        // Table names come from the TABLES constant, never from input.
        let sql = format!("SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM {t} t");
        let sum: String = sqlx::query_scalar(&sql).fetch_one(pool).await?;
        out.insert((*t).to_string(), sum);
    }
    Ok(out)
}
