//! `geoportal import --layer ID FILE [--crs EPSG:…] [--encoding …] [--dry-run]`:
//! the same import as the HTTP route, with a progress bar, acting as
//! `cli:<os user>` in history.

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use sqlx::PgPool;

use super::http::ImportParams;
use super::load::{self, Actor};
use super::{ImportError, Report, Target};
use crate::registry::{Registry, Role};

#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// Layer id, or register: accruals, payments, energy_readings.
    #[arg(long)]
    pub layer: String,
    /// The file: .geojson, .csv, .zip (Shapefile), .gpkg, .xml (cadastral exchange file).
    pub file: PathBuf,
    /// CRS of the coordinates (EPSG:6384, or a PROJ string for SK-63).
    #[arg(long)]
    pub crs: Option<String>,
    /// Attribute text encoding (utf-8, cp1251, …).
    #[arg(long)]
    pub encoding: Option<String>,
    /// Check everything, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Format, when the file name does not tell (geojson, csv, shapefile, geopackage, cadastral_xml).
    #[arg(long)]
    pub format: Option<String>,
    /// JSON object mapping file columns to fields.
    #[arg(long)]
    pub mapping: Option<String>,
    /// JSON object of values for fields the file leaves empty.
    #[arg(long)]
    pub defaults: Option<String>,
}

fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

fn print_report(r: &Report) {
    println!(
        "{}: {} rows read, {} {} ({}{})",
        r.target,
        r.rows_read,
        r.rows_imported,
        if r.committed { "imported" } else { "would be imported" },
        r.format,
        r.crs.as_deref().map(|c| format!(", {c}")).unwrap_or_default()
    );
    if !r.ignored_columns.is_empty() {
        println!("ignored columns: {}", r.ignored_columns.join(", "));
    }
    if let Some(b) = r.batch_id {
        println!("import batch {b}");
    }
}

/// Runs the import; an error (with every rejected row printed) when
/// anything was refused.
pub async fn run(pool: &PgPool, registry: &Registry, args: ImportArgs) -> anyhow::Result<()> {
    // The command line acts with the database's rights: every editable field.
    let target = Target::resolve(registry, &args.layer, &Role::ACCOUNT_ROLES)
        .ok_or_else(|| anyhow::anyhow!("no layer or register `{}`", args.layer))?;
    let bytes = std::fs::read(&args.file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file.display()))?;
    let params = ImportParams {
        format: args.format,
        crs: args.crs,
        encoding: args.encoding,
        dry_run: Some(args.dry_run.to_string()),
        mapping: args.mapping,
        defaults: args.defaults,
        filename: args.file.file_name().map(|n| n.to_string_lossy().into_owned()),
    };
    let options = params.options()?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} rows")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let actor = Actor {
        name: format!("cli:{}", os_user()),
        user_id: None,
    };
    let result = load::run(pool, &target, bytes, None, &options, &actor, &bar).await;
    bar.finish_and_clear();
    match result {
        Ok(report) => {
            print_report(&report);
            Ok(())
        }
        Err(ImportError::Rejected(report)) => {
            print_report(&report);
            for r in &report.rejected {
                eprintln!(
                    "row {}: {}{}",
                    r.row,
                    r.field.as_deref().map(|f| format!("{f}: ")).unwrap_or_default(),
                    r.message
                );
            }
            anyhow::bail!("{} rows rejected; nothing was written", report.rejected.len())
        }
        Err(e) => Err(e.into()),
    }
}
