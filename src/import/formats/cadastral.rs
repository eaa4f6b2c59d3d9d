//! The State Land Cadastre exchange file (`UkrainianCadastralExchangeFile`,
//! XML). Shape of the parts read here:
//!
//! ```text
//! InfoPart/MetricInfo/PointInfo/Point        UIDP, PN, X (northing), Y (easting)
//! InfoPart/MetricInfo/Polyline/PL            ULID, Points/P (UIDP of each point)
//! InfoPart/MetricInfo/CoordinateSystem/*     SC63 (X|C|P|T), USC2000, SC42, Local, WGS84
//! InfoPart/CadastralZoneInfo                 KOATUU, CadastralZoneNumber,
//!   CadastralQuarters/CadastralQuarterInfo   CadastralQuarterNumber,
//!     Parcels/ParcelInfo                     ParcelMetricInfo (ParcelID, Area/Size,
//!                                            Area/MeasurementUnit,
//!                                            Externals/Boundary/Lines/Line/ULID,
//!                                            Externals/Internals/Boundary/…),
//!                                            CategoryPurposeInfo/Purpose,
//!                                            OwnershipInfo/Code, ParcelLocationInfo
//! ```
//!
//! Each parcel becomes a land_plots row: `cadastral_number`
//! (KOATUU:zone:quarter:parcel), `area_ha`, `purpose_code`, `ownership`
//! (code 100 private, 200 communal, 300 state), `address`, and its polygon
//! chained from the boundary lines. UCS-2000 and SK-42 coordinates name
//! their Gauss-Krüger zone in the easting's millions; SK-63 and local
//! systems have no EPSG code and need `crs` as a PROJ string.

use std::collections::HashMap;

use quick_xml::events::Event;

use super::Parsed;
use crate::import::{Crs, Geom, ImportError, SourceRow};

#[derive(Debug, Default)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }
    fn path(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |n, p| n.child(p))
    }
    fn text_at(&self, path: &[&str]) -> Option<&str> {
        self.path(path).map(|n| n.text.trim()).filter(|t| !t.is_empty())
    }
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn parse_tree(text: &str) -> Result<Node, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Node> = vec![Node::default()];
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        match event {
            Event::Start(e) => stack.push(Node {
                name: e.local_name().as_ref().to_string(),
                ..Node::default()
            }),
            Event::Empty(e) => {
                let node = Node {
                    name: e.local_name().as_ref().to_string(),
                    ..Node::default()
                };
                if let Some(top) = stack.last_mut() {
                    top.children.push(node);
                }
            }
            Event::End(_) => {
                let node = stack.pop().ok_or("unbalanced tags")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Err("unbalanced tags".into()),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => match r.xml10_content().as_ref() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        _ => String::new(),
                    },
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut root = stack.pop().ok_or("empty document")?;
    if !stack.is_empty() {
        return Err("the document ends inside an element".into());
    }
    root.children
        .pop()
        .filter(|_| root.children.is_empty())
        .ok_or_else(|| "no root element".into())
}

/// The text of the file: the encoding its declaration names (often
/// windows-1251), else UTF-8.
fn decode(bytes: &[u8]) -> String {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).to_ascii_lowercase();
    let label = head
        .split("encoding=")
        .nth(1)
        .and_then(|s| s.trim_start_matches(['"', '\'']).split(['"', '\'']).next())
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()));
    super::decode_text(bytes, label)
}

fn number(s: &str) -> Option<f64> {
    s.trim().replace(',', ".").parse::<f64>().ok().filter(|f| f.is_finite())
}

type Pt = (f64, f64);

/// Chains boundary lines end to end into a closed ring (easting, northing).
fn ring(lines: &[Vec<Pt>]) -> Result<Vec<Pt>, String> {
    let mut rest: Vec<Vec<Pt>> = lines.iter().filter(|l| !l.is_empty()).cloned().collect();
    if rest.is_empty() {
        return Err("a boundary without lines".into());
    }
    let mut ring = rest.remove(0);
    while !rest.is_empty() {
        let end = *ring.last().ok_or("empty line")?;
        let next = rest
            .iter()
            .position(|l| l.first() == Some(&end) || l.last() == Some(&end))
            .ok_or("the boundary lines do not join into a ring")?;
        let mut line = rest.remove(next);
        if line.first() != Some(&end) {
            line.reverse();
        }
        ring.extend(line.into_iter().skip(1));
    }
    if ring.first() != ring.last()
        && let Some(first) = ring.first().copied()
    {
        ring.push(first);
    }
    if ring.len() < 4 {
        return Err("a boundary of fewer than three points".into());
    }
    Ok(ring)
}

fn ring_wkt(r: &[Pt]) -> String {
    let pts: Vec<String> = r.iter().map(|(x, y)| format!("{x} {y}")).collect();
    format!("({})", pts.join(","))
}

/// The EPSG code of the file's system, where it has one.
fn detect_crs(metric: &Node, sample_easting: Option<f64>) -> Option<Crs> {
    let system = metric.child("CoordinateSystem")?.children.first()?;
    let zone = sample_easting.map(|y| (y / 1_000_000.0).floor() as i32);
    match system.name.as_str() {
        // UCS-2000 / Gauss-Kruger zones 4-7 (EPSG:5562-5565).
        "USC2000" | "UCS2000" => zone.filter(|z| (4..=7).contains(z)).map(|z| Crs::Epsg(5558 + z)),
        // Pulkovo 1942 / Gauss-Kruger zones (EPSG:28404-28407).
        "SC42" => zone.filter(|z| (4..=7).contains(z)).map(|z| Crs::Epsg(28400 + z)),
        "WGS84" => Some(Crs::Epsg(4326)),
        _ => None,
    }
}

pub fn read(bytes: &[u8]) -> Result<Parsed, ImportError> {
    let text = decode(bytes);
    let root = parse_tree(&text).map_err(|e| ImportError::BadFile(format!("not readable XML: {e}")))?;
    if root.name != "UkrainianCadastralExchangeFile" {
        return Err(ImportError::BadFile(format!(
            "expected a UkrainianCadastralExchangeFile, found <{}>",
            root.name
        )));
    }
    let info = root
        .child("InfoPart")
        .ok_or_else(|| ImportError::BadFile("the exchange file has no InfoPart".into()))?;
    let metric = info
        .child("MetricInfo")
        .ok_or_else(|| ImportError::BadFile("the exchange file has no MetricInfo".into()))?;
    let mut points: HashMap<String, Pt> = HashMap::new();
    let mut sample_easting = None;
    for p in metric.path(&["PointInfo"]).into_iter().flat_map(|n| n.all("Point")) {
        let (Some(x), Some(y)) = (p.text_at(&["X"]).and_then(number), p.text_at(&["Y"]).and_then(number)) else {
            continue;
        };
        sample_easting.get_or_insert(y);
        // X is the northing and Y the easting in Ukrainian surveying.
        for key in [p.text_at(&["UIDP"]), p.text_at(&["PN"])].into_iter().flatten() {
            points.entry(key.to_string()).or_insert((y, x));
        }
    }
    let mut lines: HashMap<String, Result<Vec<Pt>, String>> = HashMap::new();
    for pl in metric.path(&["Polyline"]).into_iter().flat_map(|n| n.all("PL")) {
        let Some(id) = pl.text_at(&["ULID"]) else { continue };
        let pts: Result<Vec<Pt>, String> = pl
            .path(&["Points"])
            .into_iter()
            .flat_map(|n| n.all("P"))
            .map(|p| {
                points
                    .get(p.text.trim())
                    .copied()
                    .ok_or_else(|| format!("line {id} names an unknown point {}", p.text.trim()))
            })
            .collect();
        lines.insert(id.to_string(), pts);
    }
    let boundary = |b: &Node| -> Result<Vec<Pt>, String> {
        let parts: Result<Vec<Vec<Pt>>, String> = b
            .path(&["Lines"])
            .into_iter()
            .flat_map(|n| n.all("Line"))
            .map(|l| {
                let id = l.text_at(&["ULID"]).unwrap_or("");
                lines
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| Err(format!("the boundary names an unknown line {id}")))
            })
            .collect();
        ring(&parts?)
    };

    let zone = info
        .child("CadastralZoneInfo")
        .ok_or_else(|| ImportError::BadFile("the exchange file has no CadastralZoneInfo".into()))?;
    let koatuu = zone.text_at(&["KOATUU"]).unwrap_or("");
    let zone_no = zone.text_at(&["CadastralZoneNumber"]).unwrap_or("");
    let system = metric
        .child("CoordinateSystem")
        .and_then(|c| c.children.first())
        .map(|s| s.name.clone());
    let crs = detect_crs(metric, sample_easting);
    let crs_needed = match (&crs, system.as_deref()) {
        (Some(_), _) => None,
        (None, Some("SC63")) => Some(
            "the exchange file's coordinates are in SK-63, which has no EPSG code: give crs as the zone's PROJ string"
                .to_string(),
        ),
        (None, Some(other)) => Some(format!(
            "the exchange file's coordinate system ({other}) cannot be told from the file: give crs=EPSG:… or a PROJ string"
        )),
        (None, None) => Some("the exchange file names no CoordinateSystem: give crs=EPSG:…".to_string()),
    };
    let mut parsed = Parsed {
        crs,
        crs_needed,
        columns: ["cadastral_number", "area_ha", "purpose_code", "ownership", "address"]
            .map(String::from)
            .to_vec(),
        ..Parsed::default()
    };
    let quarters = zone
        .path(&["CadastralQuarters"])
        .into_iter()
        .flat_map(|n| n.all("CadastralQuarterInfo"));
    for quarter in quarters {
        let quarter_no = quarter.text_at(&["CadastralQuarterNumber"]).unwrap_or("");
        for parcel in quarter.path(&["Parcels"]).into_iter().flat_map(|n| n.all("ParcelInfo")) {
            let mut row = SourceRow {
                number: parsed.rows.len() + 1,
                props: serde_json::Map::new(),
                geom: None,
                issues: Vec::new(),
            };
            let m = parcel.child("ParcelMetricInfo");
            let parcel_id = m.and_then(|m| m.text_at(&["ParcelID"])).unwrap_or("");
            row.props.insert(
                "cadastral_number".into(),
                format!("{koatuu}:{zone_no}:{quarter_no}:{parcel_id}").into(),
            );
            let size = m.and_then(|m| m.text_at(&["Area", "Size"])).and_then(number);
            let unit = m
                .and_then(|m| m.text_at(&["Area", "MeasurementUnit"]))
                .unwrap_or("га")
                .to_lowercase();
            if let Some(size) = size {
                // Areas come in hectares or square metres.
                let ha = if unit.contains('м') || unit.contains('m') {
                    size / 10_000.0
                } else {
                    size
                };
                row.props.insert("area_ha".into(), super::number(ha));
            }
            if let Some(p) = parcel.text_at(&["CategoryPurposeInfo", "Purpose"]) {
                row.props.insert("purpose_code".into(), p.into());
            }
            let ownership = match parcel.text_at(&["OwnershipInfo", "Code"]) {
                Some("100") => Some("private"),
                Some("200") => Some("communal"),
                Some("300") => Some("state"),
                Some(_) => Some("unknown"),
                None => None,
            };
            if let Some(o) = ownership {
                row.props.insert("ownership".into(), o.into());
            }
            let address: Vec<&str> = ["StreetType", "StreetName", "Building"]
                .iter()
                .filter_map(|k| parcel.text_at(&["ParcelLocationInfo", "ParcelAddress", k]))
                .collect();
            if !address.is_empty() {
                row.props.insert("address".into(), address.join(" ").into());
            }
            let externals = m.and_then(|m| m.child("Externals"));
            match externals.and_then(|e| e.child("Boundary")).map(boundary) {
                Some(Ok(outer)) => {
                    let mut rings = vec![ring_wkt(&outer)];
                    let holes = externals
                        .and_then(|e| e.child("Internals"))
                        .into_iter()
                        .flat_map(|i| i.all("Boundary"));
                    for h in holes {
                        match boundary(h) {
                            Ok(r) => rings.push(ring_wkt(&r)),
                            Err(e) => row.issues.push(("geometry".into(), e)),
                        }
                    }
                    row.geom = Some(Geom::Wkt(format!("POLYGON({})", rings.join(","))));
                }
                Some(Err(e)) => row.issues.push(("geometry".into(), e)),
                None => row
                    .issues
                    .push(("geometry".into(), "the parcel has no Externals/Boundary".into())),
            }
            parsed.rows.push(row);
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_chain_reversed_lines() {
        let r = ring(&[
            vec![(0.0, 0.0), (1.0, 0.0)],
            vec![(1.0, 1.0), (1.0, 0.0)],
            vec![(1.0, 1.0), (0.0, 0.0)],
        ])
        .unwrap();
        assert_eq!(r, vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]);
        assert!(ring(&[vec![(0.0, 0.0), (1.0, 0.0)], vec![(5.0, 5.0), (6.0, 6.0)]]).is_err());
    }
}
