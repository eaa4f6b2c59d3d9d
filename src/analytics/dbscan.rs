//! DBSCAN over points on a grid, for analyses whose SQL selects points and
//! whose answer is their clusters (`[dbscan]` in the analysis file).
//!
//! Why not `ST_ClusterDBSCAN`: over the 300k appeals of the demo city at
//! scale 10 the PostGIS window function alone took 1.2 s of a 2.6 s answer
//! (bench/RESULTS.md); on a grid of cells of side eps/√2 the same clustering
//! takes tens of milliseconds here, because every point of a cell holding
//! `min_points` is a core point and two cells need one close pair, not every
//! pair, to join.
//!
//! Semantics are those of `ST_ClusterDBSCAN`: two points are neighbours when
//! their distance is at most eps; a core point has at least `min_points`
//! neighbours, itself included; core points within eps of each other share
//! a cluster; a point within eps of a core point is a border point of its
//! cluster; every other point is noise. One difference, on purpose: a
//! border point within reach of two clusters joins the one of its nearest
//! core point (ties: the earlier point), where PostGIS picks whichever core
//! point its scan meets first, so its answer depends on the heap order.
//!
//! Distances are those the SQL version used: Web Mercator metres, with eps
//! scaled by 1 / cos(latitude) at the centre of the points' extent.

use std::collections::HashMap;

use geo::{Distance, Geodesic, Point};

/// Earth radius of Web Mercator (EPSG:3857), metres.
const MERCATOR_R: f64 = 6_378_137.0;

/// A point's cluster (numbered from 0 in order of the clusters' first
/// point), or `None` for noise.
pub fn clusters(lon: &[f64], lat: &[f64], eps_m: f64, min_points: usize) -> Vec<Option<u32>> {
    let n = lon.len().min(lat.len());
    if n == 0 || eps_m.is_nan() || eps_m <= 0.0 {
        return vec![None; n];
    }
    let (y0, y1) = lat[..n]
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &y| (a.min(y), b.max(y)));
    let eps = eps_m / ((y0 + y1) / 2.0).to_radians().cos();
    let xy: Vec<[f64; 2]> = (0..n)
        .map(|i| {
            [
                MERCATOR_R * lon[i].to_radians(),
                MERCATOR_R * (std::f64::consts::FRAC_PI_4 + lat[i].to_radians() / 2.0).tan().ln(),
            ]
        })
        .collect();
    Grid::new(&xy, eps).dbscan(min_points.max(1))
}

/// Points sorted into square cells of side just under eps/√2, so that any
/// two points of one cell are neighbours and a neighbour of a point lies in
/// the 5 × 5 cells around its own. Everything works on the sorted points
/// (a cell is a contiguous slice) and maps back to input order at the end.
struct Grid {
    /// The points, sorted by cell.
    xy: Vec<[f64; 2]>,
    /// Input index of each sorted point.
    orig: Vec<usize>,
    eps2: f64,
    /// Per cell: its range in `xy`.
    cells: Vec<std::ops::Range<usize>>,
    /// Per cell: the cells of its 5 × 5 block (itself included), as a range
    /// of `nbr`.
    nbr_of: Vec<std::ops::Range<usize>>,
    nbr: Vec<usize>,
}

impl Grid {
    fn new(points: &[[f64; 2]], eps: f64) -> Self {
        // Slightly under eps/√2: the diagonal of a cell stays below eps even
        // after rounding.
        let side = eps / std::f64::consts::SQRT_2 * (1.0 - 1e-9);
        let key = |p: &[f64; 2]| ((p[0] / side).floor() as i64, (p[1] / side).floor() as i64);
        let mut keyed: Vec<((i64, i64), usize)> = points.iter().enumerate().map(|(i, p)| (key(p), i)).collect();
        keyed.sort_unstable();
        let xy: Vec<[f64; 2]> = keyed.iter().map(|&(_, i)| points[i]).collect();
        let orig: Vec<usize> = keyed.iter().map(|&(_, i)| i).collect();
        let mut keys: Vec<(i64, i64)> = Vec::new();
        let mut cells: Vec<std::ops::Range<usize>> = Vec::new();
        for (pos, (k, _)) in keyed.iter().enumerate() {
            match (keys.last(), cells.last_mut()) {
                (Some(last), Some(range)) if last == k => range.end = pos + 1,
                _ => {
                    keys.push(*k);
                    cells.push(pos..pos + 1);
                }
            }
        }
        // Keys are sorted: the cells of one row of a block are a contiguous
        // run, found by binary search (no hashing per point).
        let mut nbr = Vec::new();
        let mut nbr_of = Vec::with_capacity(keys.len());
        for &(cx, cy) in &keys {
            let start = nbr.len();
            for dx in -2..=2 {
                let from = keys.partition_point(|&k| k < (cx + dx, cy - 2));
                nbr.extend((from..keys.len()).take_while(|&d| keys[d] <= (cx + dx, cy + 2)));
            }
            nbr_of.push(start..nbr.len());
        }
        Grid {
            xy,
            orig,
            eps2: eps * eps,
            cells,
            nbr_of,
            nbr,
        }
    }

    fn d2(&self, a: usize, b: usize) -> f64 {
        let (p, q) = (self.xy[a], self.xy[b]);
        (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)
    }

    /// The cells that can hold a neighbour of a point of cell `c`.
    fn around(&self, c: usize) -> &[usize] {
        &self.nbr[self.nbr_of[c].clone()]
    }

    fn dbscan(&self, min_points: usize) -> Vec<Option<u32>> {
        let n = self.xy.len();
        // Core points (by sorted position).
        let mut core = vec![false; n];
        for (c, own) in self.cells.iter().enumerate() {
            if own.len() >= min_points {
                core[own.clone()].fill(true);
                continue;
            }
            let reachable: usize = self.around(c).iter().map(|&d| self.cells[d].len()).sum();
            if reachable < min_points {
                continue;
            }
            for i in own.clone() {
                let mut count = 0;
                'cells: for &d in self.around(c) {
                    for j in self.cells[d].clone() {
                        if self.d2(i, j) <= self.eps2 {
                            count += 1;
                            if count >= min_points {
                                break 'cells;
                            }
                        }
                    }
                }
                core[i] = count >= min_points;
            }
        }
        // Cells with a core point; all core points of one cell are within
        // eps of each other, so a cell's core points share a cluster.
        let cores: Vec<Vec<usize>> = self
            .cells
            .iter()
            .map(|r| r.clone().filter(|&i| core[i]).collect())
            .collect();
        // The box of each cell's core points: two cells whose boxes are
        // farther apart than eps cannot join.
        let boxes: Vec<[f64; 4]> = cores
            .iter()
            .map(|cs| {
                cs.iter().fold(
                    [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY],
                    |b, &i| {
                        let p = self.xy[i];
                        [b[0].min(p[0]), b[1].min(p[1]), b[2].max(p[0]), b[3].max(p[1])]
                    },
                )
            })
            .collect();
        let gap2 = |a: &[f64; 4], b: &[f64; 4]| {
            let dx = (a[0] - b[2]).max(b[0] - a[2]).max(0.0);
            let dy = (a[1] - b[3]).max(b[1] - a[3]).max(0.0);
            dx * dx + dy * dy
        };
        let mut sets = UnionFind::new(self.cells.len());
        for c in 0..self.cells.len() {
            if cores[c].is_empty() {
                continue;
            }
            for &d in self.around(c) {
                if d <= c || cores[d].is_empty() || gap2(&boxes[c], &boxes[d]) > self.eps2 {
                    continue;
                }
                if sets.find(c) == sets.find(d) {
                    continue;
                }
                let joined = cores[c]
                    .iter()
                    .any(|&i| cores[d].iter().any(|&j| self.d2(i, j) <= self.eps2));
                if joined {
                    sets.union(c, d);
                }
            }
        }
        // Each input point's clustered cell: its own for a core point, that
        // of its nearest core point for a border point (ties: the earlier
        // point in the input).
        let mut root: Vec<Option<usize>> = vec![None; n];
        for (c, own) in self.cells.iter().enumerate() {
            for i in own.clone() {
                root[self.orig[i]] = if core[i] {
                    Some(sets.find(c))
                } else {
                    let mut best: Option<(f64, usize, usize)> = None;
                    for &d in self.around(c) {
                        for &j in &cores[d] {
                            let d2 = self.d2(i, j);
                            let better = best.is_none_or(|(b2, bj, _)| d2 < b2 || (d2 == b2 && self.orig[j] < bj));
                            if d2 <= self.eps2 && better {
                                best = Some((d2, self.orig[j], d));
                            }
                        }
                    }
                    best.map(|(_, _, d)| sets.find(d))
                };
            }
        }
        // Numbered in order of each cluster's first point.
        let mut number: HashMap<usize, u32> = HashMap::new();
        root.into_iter()
            .map(|r| {
                r.map(|r| {
                    let next = number.len() as u32;
                    *number.entry(r).or_insert(next)
                })
            })
            .collect()
    }
}

struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
        }
    }

    fn find(&mut self, mut a: usize) -> usize {
        while self.parent[a] != a {
            self.parent[a] = self.parent[self.parent[a]];
            a = self.parent[a];
        }
        a
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        // The lower root wins: the result does not depend on union order.
        if ra < rb {
            self.parent[rb] = ra;
        } else if rb < ra {
            self.parent[ra] = rb;
        }
    }
}

/// One cluster as the answer gives it: never its members.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub count: usize,
    /// The mean of the members' coordinates (the centroid of the points).
    pub lon: f64,
    pub lat: f64,
    /// The farthest member from the centre, geodesic metres (WGS 84).
    pub radius_m: f64,
    /// The most common label; ties go to the first in byte order (the
    /// database's C collation, as SQL's `mode()` would choose).
    pub top_label: Option<String>,
}

/// The clusters of [`clusters`], largest first (then west to east, south
/// to north).
pub fn summarise(lon: &[f64], lat: &[f64], labels: &[Option<String>], cluster: &[Option<u32>]) -> Vec<Summary> {
    let k = cluster.iter().flatten().map(|&c| c as usize + 1).max().unwrap_or(0);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, c) in cluster.iter().enumerate() {
        if let Some(c) = c {
            members[*c as usize].push(i);
        }
    }
    let mut out: Vec<Summary> = members
        .iter()
        .filter(|m| !m.is_empty())
        .map(|m| {
            let count = m.len();
            let cx = m.iter().map(|&i| lon[i]).sum::<f64>() / count as f64;
            let cy = m.iter().map(|&i| lat[i]).sum::<f64>() / count as f64;
            // A local plane picks the members that can be the farthest (it is
            // within a few per cent of the geodesic distance at city scale);
            // the geodesic distance is computed for those only.
            let k2 = cy.to_radians().cos().powi(2);
            let plane = |i: usize| (lon[i] - cx).powi(2) * k2 + (lat[i] - cy).powi(2);
            let far = m.iter().map(|&i| plane(i)).fold(0.0, f64::max);
            let centre = Point::new(cx, cy);
            let radius_m = m
                .iter()
                .filter(|&&i| plane(i) >= 0.81 * far)
                .map(|&i| Geodesic.distance(Point::new(lon[i], lat[i]), centre))
                .fold(0.0, f64::max);
            let mut tally: HashMap<&str, usize> = HashMap::new();
            for &i in m {
                if let Some(l) = labels.get(i).and_then(|l| l.as_deref()) {
                    *tally.entry(l).or_default() += 1;
                }
            }
            let top_label = tally
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(l, _)| l.to_string());
            Summary {
                count,
                lon: cx,
                lat: cy,
                radius_m,
                top_label,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.lon.total_cmp(&b.lon))
            .then(a.lat.total_cmp(&b.lat))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Metres east and north of 50.25 N, 28.66 E as lon/lat.
    fn at(east: f64, north: f64) -> (f64, f64) {
        let lat0: f64 = 50.25;
        (
            28.66 + east / (111_320.0 * lat0.to_radians().cos()),
            lat0 + north / 110_574.0,
        )
    }

    fn run(points: &[(f64, f64)], eps: f64, min_points: usize) -> Vec<Option<u32>> {
        let (lon, lat): (Vec<f64>, Vec<f64>) = points.iter().copied().unzip();
        clusters(&lon, &lat, eps, min_points)
    }

    #[test]
    fn two_groups_and_noise() {
        let pts = [
            at(0.0, 0.0),
            at(10.0, 0.0),
            at(0.0, 10.0),
            at(500.0, 500.0),
            at(510.0, 500.0),
            at(500.0, 510.0),
            at(2000.0, 0.0),
        ];
        let c = run(&pts, 20.0, 3);
        assert_eq!(c, vec![Some(0), Some(0), Some(0), Some(1), Some(1), Some(1), None]);
        // min_points counts the point itself: no point has four
        assert_eq!(run(&pts, 20.0, 4), vec![None; 7]);
    }

    #[test]
    fn a_chain_of_core_points_is_one_cluster_across_many_cells() {
        let pts: Vec<(f64, f64)> = (0..200).map(|i| at(i as f64 * 9.0, 0.0)).collect();
        let c = run(&pts, 10.0, 3);
        // every inner point has its two neighbours; the ends are border points
        assert!(c.iter().all(|c| *c == Some(0)), "{c:?}");
    }

    #[test]
    fn a_border_point_joins_its_nearest_core_point() {
        // two chains of points 5 m apart running west and east from a point
        // that is 10 m from the western chain and 11 m from the eastern one:
        // it has three neighbours (itself included), so it is a border point
        // of both clusters
        let mut pts = vec![at(0.0, 0.0)];
        pts.extend((0..6).map(|k| at(-10.0 - 5.0 * k as f64, 0.0)));
        pts.extend((0..6).map(|k| at(11.0 + 5.0 * k as f64, 0.0)));
        let c = run(&pts, 12.0, 4);
        assert!(c[1].is_some() && c[7].is_some() && c[1] != c[7], "{c:?}");
        assert_eq!(c[0], c[1], "{c:?}");
        // and the order of the input does not change that
        let mut rev = pts.clone();
        rev.reverse();
        let r = run(&rev, 12.0, 4);
        let last = rev.len() - 1;
        assert_eq!(r[last], r[last - 1], "{r:?}");
        assert_ne!(r[last], r[last - 7], "{r:?}");
    }

    #[test]
    fn equals_brute_force_on_random_points() {
        // a deterministic scatter with dense spots, against the quadratic
        // textbook definition (core sets and noise)
        let mut seed = 42u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut pts = Vec::new();
        for s in 0..6 {
            let (cx, cy) = (s as f64 * 300.0, (s % 3) as f64 * 200.0);
            for _ in 0..150 {
                pts.push(at(cx + rnd() * 120.0, cy + rnd() * 120.0));
            }
        }
        for _ in 0..300 {
            pts.push(at(rnd() * 2000.0, rnd() * 800.0));
        }
        let (lon, lat): (Vec<f64>, Vec<f64>) = pts.iter().copied().unzip();
        for (eps, minp) in [(10.0, 4), (20.0, 8), (35.0, 20)] {
            let got = clusters(&lon, &lat, eps, minp);
            // brute force in the same projection
            let (y0, y1) = lat
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &y| (a.min(y), b.max(y)));
            let e = eps / ((y0 + y1) / 2.0).to_radians().cos();
            let xy: Vec<[f64; 2]> = (0..lon.len())
                .map(|i| {
                    [
                        MERCATOR_R * lon[i].to_radians(),
                        MERCATOR_R * (std::f64::consts::FRAC_PI_4 + lat[i].to_radians() / 2.0).tan().ln(),
                    ]
                })
                .collect();
            let near = |a: usize, b: usize| (xy[a][0] - xy[b][0]).powi(2) + (xy[a][1] - xy[b][1]).powi(2) <= e * e;
            let n = xy.len();
            let core: Vec<bool> = (0..n).map(|i| (0..n).filter(|&j| near(i, j)).count() >= minp).collect();
            for i in 0..n {
                let reach = (0..n).any(|j| core[j] && near(i, j));
                assert_eq!(got[i].is_some(), reach, "point {i} eps {eps} min {minp}");
                for j in (i + 1)..n {
                    if core[i] && core[j] && near(i, j) {
                        assert_eq!(got[i], got[j], "core neighbours {i} {j}");
                    }
                }
                if let Some(c) = got[i]
                    && !core[i]
                {
                    assert!((0..n).any(|j| core[j] && near(i, j) && got[j] == Some(c)));
                }
            }
            // core points in different clusters are never connected
            let k = got.iter().flatten().max().map_or(0, |m| m + 1);
            assert!(k > 0);
        }
    }

    #[test]
    fn summaries_give_centre_radius_and_most_common_label() {
        let pts = [at(0.0, 0.0), at(10.0, 0.0), at(0.0, 10.0), at(10.0, 10.0)];
        let (lon, lat): (Vec<f64>, Vec<f64>) = pts.iter().copied().unzip();
        let labels = vec![
            Some("roads".to_string()),
            Some("lighting".to_string()),
            Some("roads".to_string()),
            Some("lighting".to_string()),
        ];
        let c = clusters(&lon, &lat, 20.0, 3);
        let s = summarise(&lon, &lat, &labels, &c);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].count, 4);
        let (cx, cy) = at(5.0, 5.0);
        assert!((s[0].lon - cx).abs() < 1e-9 && (s[0].lat - cy).abs() < 1e-9);
        // half the diagonal of a 10 m square
        assert!((s[0].radius_m - 50f64.sqrt()).abs() < 0.05, "{}", s[0].radius_m);
        // a tie goes to the first in byte order
        assert_eq!(s[0].top_label.as_deref(), Some("lighting"));
    }

    #[test]
    fn nothing_in_nothing_out() {
        assert!(clusters(&[], &[], 50.0, 3).is_empty());
        assert!(summarise(&[], &[], &[], &[]).is_empty());
    }
}
