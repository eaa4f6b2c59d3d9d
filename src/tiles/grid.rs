//! WebMercatorQuad arithmetic: tile bounds, the tiles a bounding box
//! touches, and the conversions between EPSG:4326 and EPSG:3857.

use serde::{Deserialize, Serialize};

use super::{BUFFER, EXTENT, MAX_ZOOM};

/// Half the width of the Web Mercator world, in metres.
pub const HALF_WORLD: f64 = 20_037_508.342_789_244;
/// Web Mercator stops here (the square world).
pub const MAX_LAT: f64 = 85.051_128_779_806_6;

/// A bounding box in EPSG:4326 (lon/lat), `[minx, miny, maxx, maxy]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bbox {
    pub min_x: f64,
    pub min_y: f64,
    pub max_x: f64,
    pub max_y: f64,
}

impl Bbox {
    pub fn new(min_x: f64, min_y: f64, max_x: f64, max_y: f64) -> Bbox {
        Bbox {
            min_x,
            min_y,
            max_x,
            max_y,
        }
    }

    /// From `[minx, miny, maxx, maxy]`; None unless finite and ordered.
    pub fn from_array(a: [f64; 4]) -> Option<Bbox> {
        let b = Bbox::new(a[0], a[1], a[2], a[3]);
        (a.iter().all(|v| v.is_finite()) && b.min_x <= b.max_x && b.min_y <= b.max_y).then_some(b)
    }

    /// Parses `minx,miny,maxx,maxy` (lon/lat).
    pub fn parse(s: &str) -> Option<Bbox> {
        let v: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .ok()?;
        match v.as_slice() {
            [a, b, c, d] => Bbox::from_array([*a, *b, *c, *d]),
            _ => None,
        }
    }

    pub fn to_array(self) -> [f64; 4] {
        [self.min_x, self.min_y, self.max_x, self.max_y]
    }

    /// The box in EPSG:3857 metres.
    pub fn to_mercator(self) -> [f64; 4] {
        let (x1, y1) = lonlat_to_mercator(self.min_x, self.min_y);
        let (x2, y2) = lonlat_to_mercator(self.max_x, self.max_y);
        [x1, y1, x2, y2]
    }
}

pub fn lonlat_to_mercator(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-MAX_LAT, MAX_LAT);
    let x = lon.clamp(-180.0, 180.0) * HALF_WORLD / 180.0;
    let y = (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0).tan().ln() * HALF_WORLD / std::f64::consts::PI;
    (x, y)
}

pub fn mercator_to_lonlat(x: f64, y: f64) -> (f64, f64) {
    let lon = x / HALF_WORLD * 180.0;
    let lat = (2.0 * (y / HALF_WORLD * std::f64::consts::PI).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees();
    (lon, lat)
}

/// Width of a tile at `z`, in metres.
pub fn tile_width(z: u8) -> f64 {
    2.0 * HALF_WORLD / f64::from(1u32 << z)
}

/// Whether z/x/y names a tile of WebMercatorQuad.
pub fn is_valid(z: u8, x: u32, y: u32) -> bool {
    z <= MAX_ZOOM && u64::from(x) < (1u64 << z) && u64::from(y) < (1u64 << z)
}

/// Tile bounds in EPSG:3857, `[minx, miny, maxx, maxy]`, widened by
/// `margin` tile units (of `EXTENT`) on each side.
pub fn tile_bounds(z: u8, x: u32, y: u32, margin: f64) -> [f64; 4] {
    let w = tile_width(z);
    let m = w * margin / f64::from(EXTENT);
    let min_x = -HALF_WORLD + f64::from(x) * w;
    let max_y = HALF_WORLD - f64::from(y) * w;
    [min_x - m, max_y - w - m, min_x + w + m, max_y + m]
}

/// Tile bounds in lon/lat.
pub fn tile_bbox(z: u8, x: u32, y: u32) -> Bbox {
    let [x1, y1, x2, y2] = tile_bounds(z, x, y, 0.0);
    let (lon1, lat1) = mercator_to_lonlat(x1, y1);
    let (lon2, lat2) = mercator_to_lonlat(x2, y2);
    Bbox::new(lon1, lat1, lon2, lat2)
}

/// Whether a box in EPSG:3857 touches the tile with its buffer (the area
/// whose features the tile holds). Touching edges count.
pub fn tile_touches(z: u8, x: u32, y: u32, merc: &[f64; 4]) -> bool {
    let t = tile_bounds(z, x, y, f64::from(BUFFER));
    merc[0] <= t[2] && merc[2] >= t[0] && merc[1] <= t[3] && merc[3] >= t[1]
}

/// The x and y ranges of the tiles at `z` whose buffered area touches `bbox`.
pub fn tile_range(bbox: &Bbox, z: u8) -> (std::ops::RangeInclusive<u32>, std::ops::RangeInclusive<u32>) {
    let [x1, y1, x2, y2] = bbox.to_mercator();
    let w = tile_width(z);
    let b = w * f64::from(BUFFER) / f64::from(EXTENT);
    let n = (1u64 << z) as f64;
    let col = |x: f64| (((x + HALF_WORLD) / w).floor()).clamp(0.0, n - 1.0) as u32;
    let row = |y: f64| (((HALF_WORLD - y) / w).floor()).clamp(0.0, n - 1.0) as u32;
    (col(x1 - b)..=col(x2 + b), row(y2 + b)..=row(y1 - b))
}

/// Every tile at `z` touching `bbox`.
pub fn tiles_in(bbox: &Bbox, z: u8) -> impl Iterator<Item = (u32, u32)> {
    let (xs, ys) = tile_range(bbox, z);
    xs.flat_map(move |x| ys.clone().map(move |y| (x, y)))
}

/// How many tiles `tiles_in` yields.
pub fn count_in(bbox: &Bbox, z: u8) -> u64 {
    let (xs, ys) = tile_range(bbox, z);
    (u64::from(*xs.end()) - u64::from(*xs.start()) + 1) * (u64::from(*ys.end()) - u64::from(*ys.start()) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_bounds_cover_the_world_at_zoom_zero() {
        let b = tile_bounds(0, 0, 0, 0.0);
        assert!((b[0] + HALF_WORLD).abs() < 1e-6 && (b[3] - HALF_WORLD).abs() < 1e-6);
    }

    #[test]
    fn mercator_round_trips() {
        let (x, y) = lonlat_to_mercator(28.6587, 50.2547);
        let (lon, lat) = mercator_to_lonlat(x, y);
        assert!((lon - 28.6587).abs() < 1e-9 && (lat - 50.2547).abs() < 1e-9);
    }

    #[test]
    fn a_point_touches_its_tile_and_the_neighbours_buffer() {
        let b = Bbox::new(28.6587, 50.2547, 28.6587, 50.2547);
        for z in 0..=18 {
            let tiles: Vec<_> = tiles_in(&b, z).collect();
            assert!(!tiles.is_empty() && tiles.len() <= 4, "z{z}: {tiles:?}");
            for (x, y) in tiles {
                assert!(tile_touches(z, x, y, &b.to_mercator()));
            }
        }
    }
}
