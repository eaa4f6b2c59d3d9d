//! Writing an MBTiles 1.3 file (SQLite): gzip-compressed MVT in `tiles`
//! (TMS row order), TileJSON-like `metadata` with `vector_layers`.

use std::path::Path;

use rusqlite::{Connection, params};

use super::TileError;
use super::grid::Bbox;

pub struct Metadata {
    pub name: String,
    pub description: String,
    pub attribution: String,
    pub bounds: Bbox,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// `{"vector_layers": [...]}`.
    pub json: serde_json::Value,
}

pub struct Writer {
    conn: Connection,
}

fn sql_err(e: rusqlite::Error) -> TileError {
    TileError::Internal(format!("MBTiles: {e}"))
}

impl Writer {
    /// Creates `path` afresh (an existing file is replaced).
    pub fn create(path: &Path) -> Result<Writer, TileError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| TileError::Internal(format!("{}: {e}", dir.display())))?;
        }
        if path.exists() {
            std::fs::remove_file(path).map_err(|e| TileError::Internal(format!("{}: {e}", path.display())))?;
        }
        let conn = Connection::open(path).map_err(sql_err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
             CREATE TABLE metadata (name TEXT NOT NULL, value TEXT);
             CREATE TABLE tiles (zoom_level INTEGER NOT NULL, tile_column INTEGER NOT NULL,
                                 tile_row INTEGER NOT NULL, tile_data BLOB NOT NULL);
             CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);
             BEGIN;",
        )
        .map_err(sql_err)?;
        Ok(Writer { conn })
    }

    /// Adds an XYZ tile (`gzip` = the gzip-compressed MVT).
    pub fn add(&self, z: u8, x: u32, y: u32, gzip: &[u8]) -> Result<(), TileError> {
        let tms_row = (1u64 << z) - 1 - u64::from(y);
        self.conn
            .execute(
                "INSERT OR REPLACE INTO tiles (zoom_level, tile_column, tile_row, tile_data) VALUES (?1, ?2, ?3, ?4)",
                params![i64::from(z), i64::from(x), tms_row as i64, gzip],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    pub fn finish(self, m: &Metadata) -> Result<(), TileError> {
        let b = m.bounds;
        let centre_zoom = 13u8.clamp(m.minzoom, m.maxzoom);
        let rows = [
            ("name", m.name.clone()),
            ("description", m.description.clone()),
            ("attribution", m.attribution.clone()),
            ("format", "pbf".to_string()),
            ("type", "overlay".to_string()),
            ("version", "1".to_string()),
            ("bounds", format!("{},{},{},{}", b.min_x, b.min_y, b.max_x, b.max_y)),
            (
                "center",
                format!(
                    "{},{},{centre_zoom}",
                    (b.min_x + b.max_x) / 2.0,
                    (b.min_y + b.max_y) / 2.0
                ),
            ),
            ("minzoom", m.minzoom.to_string()),
            ("maxzoom", m.maxzoom.to_string()),
            ("json", m.json.to_string()),
        ];
        for (name, value) in rows {
            self.conn
                .execute(
                    "INSERT INTO metadata (name, value) VALUES (?1, ?2)",
                    params![name, value],
                )
                .map_err(sql_err)?;
        }
        self.conn.execute_batch("COMMIT;").map_err(sql_err)?;
        Ok(())
    }
}
