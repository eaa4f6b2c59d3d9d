//! `geoportal backup FILE` / `restore FILE`: the whole database (schema,
//! data, history, users) through pg_dump's custom format, embedded cluster or
//! not.

use std::path::Path;
use std::process::Command;

use crate::db::Database;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("cannot run {program}: {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("{program} failed: {stderr}")]
    Failed { program: String, stderr: String },
    #[error("{0} does not exist")]
    Missing(String),
}

fn run(db: &Database, program: &str, args: &[&str]) -> Result<(), BackupError> {
    let exe = db.bin(program);
    let output = Command::new(&exe)
        .args(args)
        .output()
        .map_err(|source| BackupError::Spawn {
            program: exe.display().to_string(),
            source,
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(BackupError::Failed {
            program: program.into(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

/// Writes the whole database to `file`.
pub fn backup(db: &Database, url: &str, file: &Path) -> Result<(), BackupError> {
    let file = file.to_string_lossy();
    run(
        db,
        "pg_dump",
        &["--format=custom", "--no-owner", "--file", &file, "--dbname", url],
    )
}

/// Replaces the database's contents with `file`, in one transaction: if
/// anything fails, the database is left as it was.
pub fn restore(db: &Database, url: &str, file: &Path) -> Result<(), BackupError> {
    if !file.exists() {
        return Err(BackupError::Missing(file.display().to_string()));
    }
    let file = file.to_string_lossy();
    run(
        db,
        "pg_restore",
        &[
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            url,
            &file,
        ],
    )
}
