//! Zipped ESRI Shapefile: `.shp` (+ `.shx`), `.dbf`, optional `.prj` and
//! `.cpg`. Attribute text is decoded with, in order: the caller's
//! `encoding`, the `.cpg` file, UTF-8 if every record is valid UTF-8, else
//! Windows-1251 (Ukrainian GIS files without a `.cpg` usually are).

use std::io::{Cursor, Read};

use ::shapefile::dbase::{self, FieldValue};
use ::shapefile::record::polygon::GenericPolygon;
use ::shapefile::record::polyline::GenericPolyline;
use ::shapefile::record::traits::HasXY;
use ::shapefile::{Shape, ShapeReader};

use super::{Parsed, number};
use crate::import::{Geom, ImportError, SourceRow, parse_encoding};

/// Largest member we unpack, so a zip bomb cannot exhaust memory.
const MAX_MEMBER: u64 = 1 << 30;

#[derive(Default)]
struct Members {
    shp: Option<Vec<u8>>,
    shx: Option<Vec<u8>>,
    dbf: Option<Vec<u8>>,
    prj: Option<Vec<u8>>,
    cpg: Option<Vec<u8>>,
}

fn unzip(bytes: &[u8]) -> Result<Members, ImportError> {
    let bad = |e: zip::result::ZipError| ImportError::BadFile(format!("not a readable zip file: {e}"));
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(bad)?;
    // The first .shp decides the stem; its siblings must share it.
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .map_err(bad)?;
    let shp_name = names
        .iter()
        .find(|n| n.to_ascii_lowercase().ends_with(".shp") && !n.starts_with("__MACOSX"))
        .ok_or_else(|| ImportError::BadFile("the zip file holds no .shp file".into()))?;
    let stem = &shp_name[..shp_name.len() - 4];
    let mut members = Members::default();
    for name in &names {
        let Some((s, ext)) = name.rsplit_once('.') else {
            continue;
        };
        if s != stem {
            continue;
        }
        let slot = match ext.to_ascii_lowercase().as_str() {
            "shp" => &mut members.shp,
            "shx" => &mut members.shx,
            "dbf" => &mut members.dbf,
            "prj" => &mut members.prj,
            "cpg" => &mut members.cpg,
            _ => continue,
        };
        let file = archive.by_name(name).map_err(bad)?;
        let mut buf = Vec::new();
        file.take(MAX_MEMBER)
            .read_to_end(&mut buf)
            .map_err(|e| ImportError::BadFile(format!("cannot unpack {name}: {e}")))?;
        *slot = Some(buf);
    }
    Ok(members)
}

/// The DBF's records are UTF-8 when every byte after the header decodes.
fn dbf_is_utf8(dbf: &[u8]) -> bool {
    let header_len = dbf.get(8..10).map_or(0, |b| u16::from_le_bytes([b[0], b[1]]) as usize);
    dbf.get(header_len..)
        .is_some_and(|rest| std::str::from_utf8(rest).is_ok())
}

fn coords<P: HasXY>(points: &[P]) -> String {
    points
        .iter()
        .map(|p| format!("{} {}", p.x(), p.y()))
        .collect::<Vec<_>>()
        .join(",")
}

fn polyline_wkt<P: HasXY>(l: &GenericPolyline<P>) -> String {
    let parts: Vec<String> = l.parts().iter().map(|p| format!("({})", coords(p))).collect();
    format!("MULTILINESTRING({})", parts.join(","))
}

/// Outer rings each start a polygon; inner rings join the polygon before them.
fn polygon_wkt<P: HasXY>(p: &GenericPolygon<P>) -> String {
    let mut polygons: Vec<Vec<String>> = Vec::new();
    for ring in p.rings() {
        let text = format!("({})", coords(ring.points()));
        match ring {
            ::shapefile::PolygonRing::Outer(_) => polygons.push(vec![text]),
            ::shapefile::PolygonRing::Inner(_) => match polygons.last_mut() {
                Some(last) => last.push(text),
                None => polygons.push(vec![text]),
            },
        }
    }
    let parts: Vec<String> = polygons.iter().map(|rings| format!("({})", rings.join(","))).collect();
    format!("MULTIPOLYGON({})", parts.join(","))
}

fn shape_wkt(shape: &Shape) -> Option<String> {
    Some(match shape {
        Shape::NullShape => return None,
        Shape::Point(p) => format!("POINT({} {})", p.x, p.y),
        Shape::PointM(p) => format!("POINT({} {})", p.x, p.y),
        Shape::PointZ(p) => format!("POINT({} {})", p.x, p.y),
        Shape::Polyline(l) => polyline_wkt(l),
        Shape::PolylineM(l) => polyline_wkt(l),
        Shape::PolylineZ(l) => polyline_wkt(l),
        Shape::Polygon(p) => polygon_wkt(p),
        Shape::PolygonM(p) => polygon_wkt(p),
        Shape::PolygonZ(p) => polygon_wkt(p),
        Shape::Multipoint(m) => format!("MULTIPOINT({})", coords(m.points())),
        Shape::MultipointM(m) => format!("MULTIPOINT({})", coords(m.points())),
        Shape::MultipointZ(m) => format!("MULTIPOINT({})", coords(m.points())),
        Shape::Multipatch(_) => return Some(String::new()),
    })
}

fn field_value(v: FieldValue) -> serde_json::Value {
    use serde_json::Value;
    match v {
        FieldValue::Character(Some(s)) | FieldValue::Memo(s) => {
            let s = s.trim();
            if s.is_empty() {
                Value::Null
            } else {
                Value::String(s.to_string())
            }
        }
        FieldValue::Numeric(Some(f)) | FieldValue::Double(f) | FieldValue::Currency(f) => number(f),
        FieldValue::Float(Some(f)) => number(f64::from(f)),
        FieldValue::Integer(i) => Value::from(i),
        FieldValue::Logical(Some(b)) => Value::Bool(b),
        FieldValue::Date(Some(d)) => Value::String(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())),
        FieldValue::DateTime(dt) => {
            let (d, t) = (dt.date(), dt.time());
            Value::String(format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                d.year(),
                d.month(),
                d.day(),
                t.hours(),
                t.minutes(),
                t.seconds()
            ))
        }
        _ => Value::Null,
    }
}

pub fn read(bytes: &[u8], encoding: Option<&'static encoding_rs::Encoding>) -> Result<Parsed, ImportError> {
    let members = unzip(bytes)?;
    let shp = members
        .shp
        .ok_or_else(|| ImportError::BadFile("no .shp in the zip".into()))?;
    let dbf = members
        .dbf
        .ok_or_else(|| ImportError::BadFile("the Shapefile has no .dbf (attributes)".into()))?;
    let cpg = members
        .cpg
        .as_deref()
        .map(|c| String::from_utf8_lossy(c).trim().to_string());
    let encoding = match (encoding, cpg) {
        (Some(e), _) => e,
        (None, Some(label)) => parse_encoding(&label)
            .ok_or_else(|| ImportError::BadFile(format!("the .cpg names an unknown encoding `{label}`")))?,
        (None, None) if dbf_is_utf8(&dbf) => encoding_rs::UTF_8,
        (None, None) => encoding_rs::WINDOWS_1251,
    };
    let bad = |e: ::shapefile::Error| ImportError::BadFile(format!("cannot read the Shapefile: {e}"));
    let shapes = match members.shx {
        Some(shx) => ShapeReader::with_shx(Cursor::new(shp), Cursor::new(shx)),
        None => ShapeReader::new(Cursor::new(shp)),
    }
    .map_err(bad)?;
    let table = dbase::ReaderBuilder::new()
        .with_encoding(dbase::encoding::EncodingRs::from(encoding))
        .build(Cursor::new(dbf))
        .map_err(|e| ImportError::BadFile(format!("cannot read the .dbf: {e}")))?;
    let columns: Vec<String> = table.fields().iter().map(|f| f.name().to_string()).collect();
    let mut reader = ::shapefile::Reader::new(shapes, table);
    let mut parsed = Parsed {
        columns: columns.clone(),
        prj: members.prj.map(|p| String::from_utf8_lossy(&p).trim().to_string()),
        ..Parsed::default()
    };
    for (i, item) in reader.iter_shapes_and_records().enumerate() {
        let (shape, record) = item.map_err(bad)?;
        let mut props = serde_json::Map::new();
        let mut record: std::collections::HashMap<String, FieldValue> = record.into();
        for c in &columns {
            if let Some(v) = record.remove(c) {
                props.insert(c.clone(), field_value(v));
            }
        }
        let mut row = SourceRow {
            number: i + 1,
            props,
            geom: None,
            issues: Vec::new(),
        };
        match shape_wkt(&shape) {
            Some(w) if w.is_empty() => row
                .issues
                .push(("geometry".into(), "Multipatch shapes are not supported".into())),
            Some(w) => row.geom = Some(Geom::Wkt(w)),
            None => {}
        }
        parsed.rows.push(row);
    }
    Ok(parsed)
}
