//! Planar geometry in the local metric frame (metres east/north of the city
//! centre) and EWKT output in EPSG:4326.
//!
//! Coordinates are written as integers of 1e-7 degree so that a vertex shared
//! by two features is printed identically in both (no slivers between plots).

use std::f64::consts::{PI, TAU};

/// Centre of the demo city (Zhytomyr).
pub const LAT0: f64 = 50.2547;
pub const LON0: f64 = 28.6587;
/// Metres per degree of latitude, as prescribed for the local frame.
const M_PER_DEG_LAT: f64 = 110_574.0;
const M_PER_DEG_LON_EQ: f64 = 111_320.0;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct P {
    pub x: f64,
    pub y: f64,
}

impl P {
    pub const fn new(x: f64, y: f64) -> Self {
        P { x, y }
    }
    pub fn add(self, o: P) -> P {
        P::new(self.x + o.x, self.y + o.y)
    }
    pub fn sub(self, o: P) -> P {
        P::new(self.x - o.x, self.y - o.y)
    }
    pub fn mul(self, k: f64) -> P {
        P::new(self.x * k, self.y * k)
    }
    pub fn len(self) -> f64 {
        self.x.hypot(self.y)
    }
    pub fn dist(self, o: P) -> f64 {
        self.sub(o).len()
    }
    pub fn cross(self, o: P) -> f64 {
        self.x * o.y - self.y * o.x
    }
    pub fn lerp(self, o: P, t: f64) -> P {
        P::new(self.x + (o.x - self.x) * t, self.y + (o.y - self.y) * t)
    }
    pub fn unit(self) -> P {
        let l = self.len();
        if l > 0.0 { self.mul(1.0 / l) } else { P::new(1.0, 0.0) }
    }
    /// Left normal (inward for a CCW ring edge).
    pub fn left(self) -> P {
        P::new(-self.y, self.x)
    }
    pub fn angle(self) -> f64 {
        self.y.atan2(self.x).rem_euclid(TAU)
    }
    pub fn polar(r: f64, a: f64) -> P {
        P::new(r * a.cos(), r * a.sin())
    }
}

fn cos_lat0() -> f64 {
    LAT0.to_radians().cos()
}

/// Local metres → (lon, lat) in 1e-7 degrees.
pub fn e7(p: P) -> (i64, i64) {
    let lon = LON0 + p.x / (M_PER_DEG_LON_EQ * cos_lat0());
    let lat = LAT0 + p.y / M_PER_DEG_LAT;
    ((lon * 1e7).round() as i64, (lat * 1e7).round() as i64)
}

/// Ratio of true (WGS84 ellipsoid) area to local-frame area at the centre:
/// the prescribed frame uses equatorial degree lengths, the ellipsoid at
/// 50° N has slightly longer ones. Declared plot areas use it so they match
/// ST_Area(geography) to well under the 5 % quality tolerance.
pub fn area_factor() -> f64 {
    let a = 6_378_137.0_f64;
    let e2 = 0.006_694_379_990_14_f64;
    let phi = LAT0.to_radians();
    let s2 = 1.0 - e2 * phi.sin().powi(2);
    let m = a * (1.0 - e2) / s2.powf(1.5) * PI / 180.0;
    let n = a / s2.sqrt() * phi.cos() * PI / 180.0;
    (m / M_PER_DEG_LAT) * (n / (M_PER_DEG_LON_EQ * cos_lat0()))
}

/// Signed area (positive when counter-clockwise); ring without closing point.
pub fn signed_area(ring: &[P]) -> f64 {
    let n = ring.len();
    let mut s = 0.0;
    for i in 0..n {
        s += ring[i].cross(ring[(i + 1) % n]);
    }
    s / 2.0
}

pub fn area(ring: &[P]) -> f64 {
    signed_area(ring).abs()
}

/// Area centroid of a simple ring.
pub fn centroid(ring: &[P]) -> P {
    let n = ring.len();
    let a = signed_area(ring);
    if a.abs() < 1e-9 {
        let s = ring.iter().fold(P::new(0.0, 0.0), |acc, p| acc.add(*p));
        return s.mul(1.0 / n.max(1) as f64);
    }
    let (mut cx, mut cy) = (0.0, 0.0);
    for i in 0..n {
        let (p, q) = (ring[i], ring[(i + 1) % n]);
        let c = p.cross(q);
        cx += (p.x + q.x) * c;
        cy += (p.y + q.y) * c;
    }
    P::new(cx / (6.0 * a), cy / (6.0 * a))
}

/// Bilinear point in a quad c0 (u0,v0), c1 (u1,v0), c2 (u1,v1), c3 (u0,v1).
pub fn bilinear(q: &[P; 4], u: f64, v: f64) -> P {
    let b = q[0].lerp(q[1], u);
    let t = q[3].lerp(q[2], u);
    b.lerp(t, v)
}

/// Sub-quad of a quad in its bilinear parameters (stays inside a convex quad).
pub fn sub_quad(q: &[P; 4], u0: f64, u1: f64, v0: f64, v1: f64) -> [P; 4] {
    [
        bilinear(q, u0, v0),
        bilinear(q, u1, v0),
        bilinear(q, u1, v1),
        bilinear(q, u0, v1),
    ]
}

/// Intersection of lines p + t·u and q + s·v.
pub fn line_intersection(p: P, u: P, q: P, v: P) -> Option<P> {
    let d = u.cross(v);
    if d.abs() < 1e-9 {
        return None;
    }
    let t = q.sub(p).cross(v) / d;
    Some(p.add(u.mul(t)))
}

/// Strictly convex counter-clockwise ring?
pub fn is_convex_ccw(ring: &[P]) -> bool {
    let n = ring.len();
    (0..n).all(|i| {
        let a = ring[i];
        let b = ring[(i + 1) % n];
        let c = ring[(i + 2) % n];
        b.sub(a).cross(c.sub(b)) > 1e-6
    })
}

/// Inset a convex CCW quad, moving edge k inward by d[k].
pub fn inset_quad(q: &[P; 4], d: &[f64; 4]) -> Option<[P; 4]> {
    let mut out = [P::new(0.0, 0.0); 4];
    for (k, slot) in out.iter_mut().enumerate() {
        let prev = (k + 3) % 4;
        let u_prev = q[k].sub(q[prev]).unit();
        let u_k = q[(k + 1) % 4].sub(q[k]).unit();
        let p_prev = q[prev].add(u_prev.left().mul(d[prev]));
        let p_k = q[k].add(u_k.left().mul(d[k]));
        *slot = line_intersection(p_prev, u_prev, p_k, u_k)?;
    }
    if is_convex_ccw(&out) { Some(out) } else { None }
}

/// Rectangle centred at c, with half-extents along direction `dir`.
pub fn rect(c: P, dir: P, half_len: f64, half_wid: f64) -> [P; 4] {
    let u = dir.unit();
    let n = u.left();
    [
        c.sub(u.mul(half_len)).sub(n.mul(half_wid)),
        c.add(u.mul(half_len)).sub(n.mul(half_wid)),
        c.add(u.mul(half_len)).add(n.mul(half_wid)),
        c.sub(u.mul(half_len)).add(n.mul(half_wid)),
    ]
}

/// Length of a polyline.
pub fn length(line: &[P]) -> f64 {
    line.windows(2).map(|w| w[0].dist(w[1])).sum()
}

/// Point and direction at distance `s` along a polyline.
pub fn along(line: &[P], s: f64) -> (P, P) {
    let mut left = s;
    for w in line.windows(2) {
        let l = w[0].dist(w[1]);
        if left <= l && l > 0.0 {
            return (w[0].lerp(w[1], left / l), w[1].sub(w[0]));
        }
        left -= l;
    }
    let n = line.len();
    if n >= 2 {
        (line[n - 1], line[n - 1].sub(line[n - 2]))
    } else {
        (line.first().copied().unwrap_or(P::new(0.0, 0.0)), P::new(1.0, 0.0))
    }
}

// ---------------------------------------------------------------- EWKT output

const SRID: &[u8] = b"SRID=4326;";

fn push_e7(buf: &mut Vec<u8>, v: i64) {
    crate::demo::copy::push_fixed(buf, v, 7);
}

fn push_coord(buf: &mut Vec<u8>, p: P) {
    let (x, y) = e7(p);
    push_e7(buf, x);
    buf.push(b' ');
    push_e7(buf, y);
}

/// "(x y, x y, …)"; closes the ring when asked.
fn push_seq(buf: &mut Vec<u8>, pts: &[P], close: bool) {
    buf.push(b'(');
    for (i, p) in pts.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        push_coord(buf, *p);
    }
    if close && let Some(p) = pts.first() {
        buf.push(b',');
        push_coord(buf, *p);
    }
    buf.push(b')');
}

pub fn point(buf: &mut Vec<u8>, p: P) {
    buf.extend_from_slice(SRID);
    buf.extend_from_slice(b"POINT(");
    push_coord(buf, p);
    buf.push(b')');
}

pub fn multipoint(buf: &mut Vec<u8>, pts: &[P]) {
    buf.extend_from_slice(SRID);
    buf.extend_from_slice(b"MULTIPOINT(");
    for (i, p) in pts.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.push(b'(');
        push_coord(buf, *p);
        buf.push(b')');
    }
    buf.push(b')');
}

pub fn linestring(buf: &mut Vec<u8>, pts: &[P]) {
    buf.extend_from_slice(SRID);
    buf.extend_from_slice(b"LINESTRING");
    push_seq(buf, pts, false);
}

pub fn multilinestring(buf: &mut Vec<u8>, lines: &[Vec<P>]) {
    buf.extend_from_slice(SRID);
    buf.extend_from_slice(b"MULTILINESTRING(");
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        push_seq(buf, l, false);
    }
    buf.push(b')');
}

/// Single-ring polygon; the ring is written counter-clockwise (RFC 7946).
pub fn polygon(buf: &mut Vec<u8>, ring: &[P]) {
    buf.extend_from_slice(SRID);
    buf.extend_from_slice(b"POLYGON(");
    push_ring(buf, ring);
    buf.push(b')');
}

fn push_ring(buf: &mut Vec<u8>, ring: &[P]) {
    if signed_area(ring) < 0.0 {
        let rev: Vec<P> = ring.iter().rev().copied().collect();
        push_seq(buf, &rev, true);
    } else {
        push_seq(buf, ring, true);
    }
}

/// MultiPolygon of single-ring parts.
pub fn multipolygon(buf: &mut Vec<u8>, rings: &[&[P]]) {
    buf.extend_from_slice(SRID);
    buf.extend_from_slice(b"MULTIPOLYGON(");
    for (i, r) in rings.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.push(b'(');
        push_ring(buf, r);
        buf.push(b')');
    }
    buf.push(b')');
}

// ------------------------------------------------------------ polar outline

/// A star-shaped outline around the centre, sampled at `n` equal angles.
/// Zones, districts and the city boundary are all built from scaled copies of
/// it, so their shared edges use exactly the same vertices.
pub struct Outline {
    pub radius: Vec<f64>,
}

impl Outline {
    pub fn n(&self) -> usize {
        self.radius.len()
    }
    pub fn step(&self) -> f64 {
        TAU / self.n() as f64
    }
    /// Sample `k` (taken modulo n) scaled by fraction f.
    pub fn at(&self, k: usize, f: f64) -> P {
        let k = k % self.n();
        P::polar(self.radius[k] * f, k as f64 * self.step())
    }
    /// p's distance from the centre relative to the outline along its ray
    /// (exact for the drawn polygon: chords between samples).
    pub fn frac(&self, p: P) -> f64 {
        let r = p.len();
        if r < 1e-9 {
            return 0.0;
        }
        let a = p.angle();
        let k = ((a / self.step()).floor() as usize) % self.n();
        let (s, e) = (self.at(k, 1.0), self.at(k + 1, 1.0));
        let u = p.mul(1.0 / r);
        match line_intersection(P::new(0.0, 0.0), u, s, e.sub(s)) {
            Some(q) if q.len() > 1e-9 => r / q.len(),
            _ => r / self.radius[k],
        }
    }
    /// Ring of the area between fractions f_in and f_out and sample indices
    /// a..=b (b may exceed n to wrap). f_in = 0 gives a sector from the centre.
    pub fn cell(&self, f_in: f64, f_out: f64, a: usize, b: usize) -> Vec<P> {
        let mut ring: Vec<P> = (a..=b).map(|k| self.at(k, f_out)).collect();
        if f_in <= 0.0 {
            ring.push(P::new(0.0, 0.0));
        } else {
            ring.extend((a..=b).rev().map(|k| self.at(k, f_in)));
        }
        ring
    }
    /// The whole outline scaled by f.
    pub fn ring(&self, f: f64) -> Vec<P> {
        (0..self.n()).map(|k| self.at(k, f)).collect()
    }
    /// Which of the angular sectors (boundaries as sorted sample indices)
    /// contains p: sector s spans boundaries[s]..boundaries[s+1] (cyclic).
    pub fn sector(&self, p: P, boundaries: &[usize]) -> usize {
        let pos = p.angle() / self.step();
        let m = boundaries.len();
        if m <= 1 {
            return 0;
        }
        for s in 0..m {
            let a = boundaries[s] as f64;
            let b = boundaries[(s + 1) % m] as f64;
            let inside = if a < b {
                pos >= a && pos < b
            } else {
                pos >= a || pos < b
            };
            if inside {
                return s;
            }
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inset_square() {
        let q = [
            P::new(0.0, 0.0),
            P::new(10.0, 0.0),
            P::new(10.0, 10.0),
            P::new(0.0, 10.0),
        ];
        let r = inset_quad(&q, &[1.0, 2.0, 1.0, 2.0]).unwrap_or(q);
        assert!((r[0].x - 2.0).abs() < 1e-9 && (r[0].y - 1.0).abs() < 1e-9);
        assert!((area(&r) - 6.0 * 8.0).abs() < 1e-9);
    }

    #[test]
    fn outline_frac() {
        let o = Outline {
            radius: vec![100.0; 360],
        };
        assert!((o.frac(P::new(50.0, 0.0)) - 0.5).abs() < 1e-3);
        assert!(o.frac(P::new(0.0, 99.0)) < 1.0);
        assert_eq!(o.sector(P::new(1.0, 1.0), &[0, 180]), 0);
        assert_eq!(o.sector(P::new(1.0, -1.0), &[0, 180]), 1);
    }

    #[test]
    fn area_factor_is_close_to_one() {
        let f = area_factor();
        assert!(f > 1.0 && f < 1.02, "{f}");
    }
}
