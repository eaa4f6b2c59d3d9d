//! CSV: a header row; `,`, `;` or tab as delimiter (sniffed from the header);
//! geometry from a WKT column (`wkt`, `geom`, `geometry`, `the_geom`) or from
//! lon/lat columns (`lon`/`lng`/`longitude`/`x` and `lat`/`latitude`/`y`).
//! Registers' CSV files simply have no geometry columns.

use super::{Parsed, decode_text};
use crate::import::{Geom, ImportError, SourceRow};

const WKT_COLUMNS: &[&str] = &["wkt", "geom", "geometry", "the_geom", "wkt_geom"];
const LON_COLUMNS: &[&str] = &["lon", "lng", "long", "longitude", "x"];
const LAT_COLUMNS: &[&str] = &["lat", "latitude", "y"];

/// The delimiter that splits the header line into the most fields.
fn sniff_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| header.bytes().filter(|b| b == d).count())
        .unwrap_or(b',')
}

fn find(headers: &[String], names: &[&str]) -> Option<usize> {
    headers
        .iter()
        .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
}

/// A coordinate as written in Ukrainian spreadsheets too (`50,25`).
fn coordinate(s: &str) -> Option<f64> {
    s.trim().replace(',', ".").parse::<f64>().ok().filter(|f| f.is_finite())
}

pub fn read(bytes: &[u8], encoding: Option<&'static encoding_rs::Encoding>) -> Result<Parsed, ImportError> {
    let text = decode_text(bytes, encoding);
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(sniff_delimiter(&text))
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| ImportError::BadFile(format!("cannot read the CSV header: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if headers.iter().all(String::is_empty) {
        return Err(ImportError::BadFile("the CSV file has no header row".into()));
    }
    let wkt = find(&headers, WKT_COLUMNS);
    let lonlat = match (find(&headers, LON_COLUMNS), find(&headers, LAT_COLUMNS)) {
        (Some(x), Some(y)) if wkt.is_none() => Some((x, y)),
        _ => None,
    };
    let geometry_columns: Vec<usize> = wkt
        .into_iter()
        .chain(lonlat.into_iter().flat_map(|(x, y)| [x, y]))
        .collect();
    let mut parsed = Parsed {
        columns: headers
            .iter()
            .enumerate()
            .filter(|(i, _)| !geometry_columns.contains(i))
            .map(|(_, h)| h.clone())
            .collect(),
        ..Parsed::default()
    };
    for (i, record) in reader.records().enumerate() {
        let number = i + 1;
        let record = record.map_err(|e| ImportError::BadFile(format!("CSV row {number}: {e}")))?;
        if record.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        let mut row = SourceRow {
            number,
            props: serde_json::Map::new(),
            geom: None,
            issues: Vec::new(),
        };
        for (j, value) in record.iter().enumerate() {
            if geometry_columns.contains(&j) {
                continue;
            }
            let Some(name) = headers.get(j) else {
                row.issues.push((
                    format!("column {}", j + 1),
                    "a value beyond the header's columns".into(),
                ));
                continue;
            };
            let value = value.trim();
            let v = if value.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::Value::String(value.to_string())
            };
            row.props.insert(name.clone(), v);
        }
        if let Some(w) = wkt {
            let text = record.get(w).unwrap_or("").trim();
            if !text.is_empty() {
                row.geom = Some(Geom::Wkt(text.to_string()));
            }
        } else if let Some((x, y)) = lonlat {
            let (xs, ys) = (record.get(x).unwrap_or(""), record.get(y).unwrap_or(""));
            match (coordinate(xs), coordinate(ys)) {
                (Some(x), Some(y)) => row.geom = Some(Geom::Wkt(format!("POINT({x} {y})"))),
                _ if xs.trim().is_empty() && ys.trim().is_empty() => {}
                _ => row.issues.push((
                    "geometry".into(),
                    format!("`{}`, `{}` are not coordinates", xs.trim(), ys.trim()),
                )),
            }
        }
        parsed.rows.push(row);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_and_decimal_commas() {
        let p = read("name;lat;lon\nA;50,25;28,66\n".as_bytes(), None).unwrap();
        assert_eq!(p.columns, vec!["name"]);
        assert_eq!(p.rows[0].geom, Some(Geom::Wkt("POINT(28.66 50.25)".into())));
    }

    #[test]
    fn cp1251_is_recognised() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("назва,wkt\nШкола,POINT(1 2)\n");
        let p = read(&bytes, None).unwrap();
        assert_eq!(p.rows[0].props["назва"], "Школа");
    }
}
