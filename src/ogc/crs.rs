//! Coordinate reference systems of OGC API Features Part 2: the ones we
//! offer for output (`crs`) and accept for input (`bbox-crs`,
//! `filter-crs`). Reprojection happens in PostGIS (`ST_Transform`, which
//! asks PROJ for the EPSG definition; migration 0020 adds the LCS systems
//! PostGIS's spatial_ref_sys lacks).

/// One supported CRS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crs {
    /// The SRID in spatial_ref_sys (CRS84 is 4326 with lon/lat order).
    pub srid: i32,
    /// Whether this is OGC's CRS84 (lon/lat) rather than an EPSG code.
    pub crs84: bool,
    /// The EPSG axis order puts northing/latitude first: coordinates are
    /// swapped on output and on input (bbox) — PostGIS works east-first.
    pub north_first: bool,
    /// Degrees (geographic) rather than metres: decides output precision.
    pub geographic: bool,
}

pub const CRS84_URI: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const EPSG_PREFIX: &str = "http://www.opengis.net/def/crs/EPSG/0/";

pub const CRS84: Crs = Crs {
    srid: 4326,
    crs84: true,
    north_first: false,
    geographic: true,
};

/// EPSG codes we offer, with their axis order (checked against PROJ with
/// `projinfo EPSG:n`): WGS 84, Web Mercator, UTM 35N, UCS-2000 geographic,
/// UCS-2000 / Gauss-Kruger zones 4–7, UCS-2000 / Ukraine TM zones 7–13, and
/// the UCS-2000 local systems LCS-xx. (EPSG 9842–9850 are French RGF93 CC
/// zones, not Ukrainian: not offered.)
const EPSG: &[(i32, bool, bool)] = &[
    // (code, north_first, geographic)
    (4326, true, true),
    (3857, false, false),
    (32635, false, false),
    (5561, true, true),
    (5562, true, false),
    (5563, true, false),
    (5564, true, false),
    (5565, true, false),
    (6381, true, false),
    (6382, true, false),
    (6383, true, false),
    (6384, true, false),
    (6385, true, false),
    (6386, true, false),
    (6387, true, false),
    (9821, true, false),
    (9831, true, false),
    (9832, true, false),
    (9833, true, false),
    (9834, true, false),
    (9835, true, false),
    (9836, true, false),
    (9837, true, false),
    (9838, true, false),
    (9839, true, false),
    (9840, true, false),
    (9841, true, false),
    (9851, true, false),
    (9852, true, false),
    (9853, true, false),
    (9854, true, false),
    (9855, true, false),
    (9856, true, false),
    (9857, true, false),
    (9858, true, false),
    (9859, true, false),
    (9860, true, false),
    (9861, true, false),
    (9862, true, false),
    (9863, true, false),
    (9864, true, false),
    (9865, true, false),
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unsupported CRS `{0}`: use one of the URIs listed in the collection's `crs`")]
pub struct UnsupportedCrs(pub String);

impl Crs {
    fn epsg(code: i32) -> Option<Crs> {
        EPSG.iter()
            .find(|(c, ..)| *c == code)
            .map(|&(srid, north_first, geographic)| Crs {
                srid,
                crs84: false,
                north_first,
                geographic,
            })
    }

    /// Every supported CRS, CRS84 first.
    pub fn all() -> impl Iterator<Item = Crs> {
        std::iter::once(CRS84).chain(EPSG.iter().filter_map(|(c, ..)| Crs::epsg(*c)))
    }

    /// Parses a CRS URI (`http://www.opengis.net/def/crs/EPSG/0/4326`), a
    /// safe CURIE (`[EPSG:4326]`) or a plain CURIE (`EPSG:4326`, `OGC:CRS84`).
    pub fn parse(text: &str) -> Result<Crs, UnsupportedCrs> {
        let unsupported = || UnsupportedCrs(text.to_string());
        let t = text.trim();
        let t = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(t);
        let t = t
            .strip_prefix("https://")
            .map_or_else(|| t.to_string(), |rest| format!("http://{rest}"));
        if t == CRS84_URI || t.eq_ignore_ascii_case("OGC:CRS84") || t.eq_ignore_ascii_case("CRS84") {
            return Ok(CRS84);
        }
        let code = t
            .strip_prefix(EPSG_PREFIX)
            .or_else(|| t.strip_prefix("EPSG:"))
            .or_else(|| t.strip_prefix("epsg:"))
            .ok_or_else(unsupported)?;
        let code: i32 = code.parse().map_err(|_| unsupported())?;
        Crs::epsg(code).ok_or_else(unsupported)
    }

    pub fn uri(&self) -> String {
        if self.crs84 {
            CRS84_URI.to_string()
        } else {
            format!("{EPSG_PREFIX}{}", self.srid)
        }
    }

    /// Decimal digits of output coordinates: about a millimetre either way.
    pub fn digits(&self) -> i32 {
        if self.geographic { 8 } else { 3 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uris_and_curies() {
        assert_eq!(Crs::parse(CRS84_URI), Ok(CRS84));
        assert_eq!(Crs::parse("OGC:CRS84"), Ok(CRS84));
        let wgs84 = Crs::parse("http://www.opengis.net/def/crs/EPSG/0/4326").unwrap();
        assert!(!wgs84.crs84 && wgs84.north_first);
        assert_eq!(Crs::parse("[EPSG:9836]").unwrap().srid, 9836);
        assert!(!Crs::parse("EPSG:32635").unwrap().north_first);
        assert!(Crs::parse("EPSG:9842").is_err());
        assert!(Crs::parse("EPSG:abc").is_err());
        assert!(Crs::parse("urn:nonsense").is_err());
        assert_eq!(Crs::all().count(), 43);
    }
}
