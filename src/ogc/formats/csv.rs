//! CSV (UTF-8, header row, geometry as WKT in a last `geometry` column,
//! which data without geometry does not get) written with the `csv` crate,
//! which quotes every value that needs it.

use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{FeatureWriter, FormatError, Page};

pub struct CsvWriter {
    out: csv::Writer<Vec<u8>>,
    columns: usize,
    geometry: bool,
}

impl CsvWriter {
    /// Rows of (id, geometry, columns…) → `id, columns…, geometry`.
    pub fn new() -> CsvWriter {
        CsvWriter {
            out: csv::Writer::from_writer(Vec::new()),
            columns: 0,
            geometry: true,
        }
    }

    /// For data without geometry: no `geometry` column at all, rather than
    /// an always-empty one. Rows still carry the (null) `geometry` column.
    pub fn without_geometry() -> CsvWriter {
        CsvWriter {
            geometry: false,
            ..CsvWriter::new()
        }
    }
}

impl Default for CsvWriter {
    fn default() -> Self {
        CsvWriter::new()
    }
}

impl FeatureWriter for CsvWriter {
    fn begin(&mut self, page: &Page) -> Result<(), FormatError> {
        self.columns = page.columns.len();
        let header = std::iter::once("id")
            .chain(page.columns.iter().map(|c| c.name.as_str()))
            .chain(self.geometry.then_some("geometry"));
        self.out.write_record(header)?;
        Ok(())
    }

    /// A row of (id — int8 or text, geometry as WKT, every column as text).
    fn feature(&mut self, row: &PgRow) -> Result<(), FormatError> {
        self.out.write_field(super::id_text(row)?)?;
        for i in 0..self.columns {
            let value: Option<String> = row.try_get(i + 2)?;
            self.out.write_field(value.unwrap_or_default())?;
        }
        if self.geometry {
            let geometry: Option<String> = row.try_get("geometry")?;
            self.out.write_field(geometry.unwrap_or_default())?;
        }
        self.out.write_record(None::<&[u8]>)?;
        Ok(())
    }

    fn end(&mut self, _page: &Page, _returned: i64) -> Result<(), FormatError> {
        Ok(())
    }

    fn buffered(&self) -> usize {
        self.out.get_ref().len()
    }

    fn take(&mut self) -> Result<Vec<u8>, FormatError> {
        self.out.flush().map_err(csv::Error::from)?;
        let full = std::mem::replace(&mut self.out, csv::Writer::from_writer(Vec::new()));
        full.into_inner()
            .map_err(|e| FormatError::Csv(csv::Error::from(e.into_error())))
    }
}
