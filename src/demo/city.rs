//! The physical city: outline, river, street grid, blocks, plots, buildings,
//! addresses and the polar partitions (districts, price zones, postcodes).
//!
//! Everything is computed in memory from the seed before any row is written;
//! the registers (land, property, appeals …) are then rendered from it.

use super::geometry::{self as g, Outline, P};
use super::names::{STREET_STEMS, translit};
use super::util::{Rng8, normal, stream, weighted};
use rand::Rng;
use rand::seq::SliceRandom;
use std::f64::consts::TAU;

/// Area of the real city at scale 1, m².
const CITY_AREA_M2: f64 = 61.0e6;
pub const CITY_POPULATION: f64 = 260_000.0;
/// Street spacing: blocks are about 240 m long and 140 m deep.
const DX: f64 = 240.0;
const DY: f64 = 140.0;
/// Smallest area scale of the layout (about 1.2 km², a few dozen blocks).
const MIN_AREA_SCALE: f64 = 0.02;
/// Samples of the polar outline (shared by boundary, districts and zones).
const OUTLINE_SAMPLES: usize = 1440;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Class {
    Primary,
    Secondary,
    Tertiary,
    Residential,
    Rail,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Primary => "primary",
            Class::Secondary => "secondary",
            Class::Tertiary => "tertiary",
            Class::Residential => "residential",
            Class::Rail => "rail",
        }
    }
    /// Half the width of the street corridor between blocks, m.
    fn half_width(self) -> f64 {
        match self {
            Class::Primary => 14.0,
            Class::Secondary => 11.0,
            Class::Tertiary => 9.0,
            Class::Residential => 7.0,
            Class::Rail => 18.0,
        }
    }
    pub fn is_main(self) -> bool {
        matches!(self, Class::Primary | Class::Secondary)
    }
}

pub struct Street {
    pub name: String,
    pub name_en: String,
    pub class: Class,
    /// Runs of consecutive grid nodes.
    pub lines: Vec<Vec<P>>,
    /// Corridor half width (for placing things beside the carriageway).
    pub half_width: f64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Use {
    House,
    Apartment,
    Public,
    Commercial,
    Industrial,
    Garage,
    Park,
    /// Empty land reserved for an investment site.
    Vacant,
    /// Derelict industrial land for an investment site.
    Brownfield,
}

/// Municipal buildings with metered energy use (energy_objects.kind).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Facility {
    School,
    Kindergarten,
    Hospital,
    Administrative,
    Culture,
    Sport,
    Other,
}

impl Facility {
    pub fn as_str(self) -> &'static str {
        match self {
            Facility::School => "school",
            Facility::Kindergarten => "kindergarten",
            Facility::Hospital => "hospital",
            Facility::Administrative => "administrative",
            Facility::Culture => "culture",
            Facility::Sport => "sport",
            Facility::Other => "other",
        }
    }
}

pub struct Block {
    pub i: usize,
    pub j: usize,
    pub quad: [P; 4],
    pub kind: Use,
    pub frac: f64,
    pub zone: u32,
    pub quarter: u32,
}

pub struct Plot {
    pub block: usize,
    /// Row of cells within the block (plots of one row are neighbours).
    pub row: usize,
    pub ring: Vec<P>,
    /// Corners, with v = 0 on the street side.
    pub quad: [P; 4],
    pub street: usize,
    pub kind: Use,
    pub facility: Option<Facility>,
    pub cadastral: String,
    pub building: Option<usize>,
}

pub struct Building {
    pub plot: usize,
    pub quad: [P; 4],
    pub levels: i64,
    pub use_: &'static str,
    pub year: i64,
    pub address: usize,
}

pub struct Address {
    pub street: usize,
    pub number: String,
    pub p: P,
    pub postcode: u32,
    pub building: usize,
}

impl Address {
    pub fn text(&self, city: &City) -> String {
        format!("{}, {}", city.streets[self.street].name, self.number)
    }
}

/// Concentric rings of angular sectors over the outline.
pub struct Partition {
    pub rings: Vec<PRing>,
}

pub struct PRing {
    pub f_in: f64,
    pub f_out: f64,
    pub bounds: Vec<usize>,
    pub first: usize,
}

impl Partition {
    fn new(rng: &mut Rng8, n: usize, fracs: &[f64], counts: &[usize]) -> Partition {
        let mut rings = Vec::new();
        let mut first = 0;
        let mut f_in = 0.0;
        for (&f_out, &s) in fracs.iter().zip(counts) {
            let offset = rng.gen_range(0..n);
            let mut bounds: Vec<usize> = (0..s).map(|t| (offset + (t * n + s / 2) / s) % n).collect();
            bounds.sort_unstable();
            bounds.dedup();
            let cells = bounds.len();
            rings.push(PRing {
                f_in,
                f_out,
                bounds,
                first,
            });
            first += cells;
            f_in = f_out;
        }
        Partition { rings }
    }

    pub fn len(&self) -> usize {
        self.rings.iter().map(|r| r.bounds.len()).sum()
    }

    pub fn cell_of(&self, o: &Outline, p: P) -> usize {
        let f = o.frac(p);
        let ring = self.rings.iter().find(|r| f < r.f_out).or(self.rings.last());
        match ring {
            Some(r) => r.first + o.sector(p, &r.bounds),
            None => 0,
        }
    }

    /// Polygons of all cells, in cell order.
    pub fn cells(&self, o: &Outline) -> Vec<Vec<P>> {
        let n = o.n();
        let mut out = Vec::new();
        for r in &self.rings {
            let m = r.bounds.len();
            if m == 1 && r.f_in <= 0.0 {
                out.push(o.ring(r.f_out));
                continue;
            }
            for s in 0..m {
                let a = r.bounds[s];
                let b = if s + 1 < m { r.bounds[s + 1] } else { r.bounds[0] + n };
                out.push(o.cell(r.f_in, r.f_out, a, b));
            }
        }
        out
    }
}

pub struct River {
    base: f64,
    waves: [(f64, f64, f64); 3],
    pub x0: f64,
    pub x1: f64,
}

impl River {
    pub fn centre(&self, x: f64) -> f64 {
        self.base + self.waves.iter().map(|(a, l, ph)| a * (x / l + ph).sin()).sum::<f64>()
    }
    pub fn half_width(&self, x: f64) -> f64 {
        45.0 + 12.0 * (x / 530.0 + 1.3).sin()
    }
    /// Vertical distance from p to the water's edge (negative inside).
    pub fn gap(&self, p: P) -> f64 {
        (p.y - self.centre(p.x)).abs() - self.half_width(p.x)
    }
    pub fn ring(&self) -> Vec<P> {
        let steps = ((self.x1 - self.x0) / 25.0).ceil().max(2.0) as usize;
        let xs: Vec<f64> = (0..=steps)
            .map(|k| self.x0 + (self.x1 - self.x0) * k as f64 / steps as f64)
            .collect();
        let mut ring: Vec<P> = xs
            .iter()
            .map(|&x| P::new(x, self.centre(x) - self.half_width(x)))
            .collect();
        ring.extend(xs.iter().rev().map(|&x| P::new(x, self.centre(x) + self.half_width(x))));
        ring
    }
}

pub struct City {
    pub scale: f64,
    pub outline: Outline,
    pub river: River,
    pub ponds: Vec<Vec<P>>,
    pub streets: Vec<Street>,
    pub blocks: Vec<Block>,
    pub plots: Vec<Plot>,
    pub buildings: Vec<Building>,
    pub addresses: Vec<Address>,
    pub electoral: Partition,
    pub price: Partition,
    pub price_values: Vec<i64>,
    pub postal: Partition,
    pub postcodes: Vec<u32>,
    /// Admin district sector boundaries (sample indices): sector 0 is
    /// Богунський (north-west), sector 1 Корольовський (south-east).
    pub admin_bounds: Vec<usize>,
    /// Residents per electoral district / admin district.
    pub district_population: Vec<i64>,
    pub admin_population: [i64; 2],
    /// Plots reserved for investment sites (index into plots).
    pub investment_plots: Vec<usize>,
}

impl City {
    pub fn electoral_of(&self, p: P) -> usize {
        self.electoral.cell_of(&self.outline, p)
    }
    pub fn admin_of(&self, p: P) -> usize {
        self.outline.sector(p, &self.admin_bounds)
    }
    pub fn price_zone_of(&self, p: P) -> usize {
        self.price.cell_of(&self.outline, p)
    }
    pub fn building_centroid(&self, b: usize) -> P {
        g::centroid(&self.buildings[b].quad)
    }
    /// Comfortably inside the city limits.
    pub fn inside(&self, p: P) -> bool {
        self.outline.frac(p) < 0.985
    }
    pub fn population(&self) -> i64 {
        self.district_population.iter().sum()
    }
}

/// Street-grid lines: index into the vertical or horizontal family.
#[derive(Clone, Copy)]
enum LineId {
    V(usize),
    H(usize),
}

struct Grid {
    ni: usize,
    nj: usize,
    nodes: Vec<P>,
    vclass: Vec<Class>,
    hclass: Vec<Class>,
}

impl Grid {
    fn node(&self, i: usize, j: usize) -> P {
        self.nodes[j * self.ni + i]
    }
}

pub fn build(seed: u64, scale: f64) -> City {
    let mut rng = stream(seed, 1);
    // Below this the city would be too small to hold a few blocks; counts of
    // registers still follow `scale`.
    let area_scale = scale.max(MIN_AREA_SCALE);
    let outline = make_outline(&mut rng, area_scale);
    let r_mean = (CITY_AREA_M2 * area_scale / std::f64::consts::PI).sqrt();
    let r_max = outline.radius.iter().copied().fold(0.0, f64::max);
    let river = make_river(&mut rng, r_mean, r_max);
    let grid = make_grid(&mut rng, r_max, r_mean);

    // Blocks: grid cells inset by half the corridor widths, fully inside the
    // city and clear of the river.
    let mut blocks = Vec::new();
    let (ci, cj) = (grid.ni / 2, grid.nj / 2);
    let industrial_dir = rng.gen_range(4.9..5.6_f64);
    for j in 0..grid.nj - 1 {
        for i in 0..grid.ni - 1 {
            let q = [
                grid.node(i, j),
                grid.node(i + 1, j),
                grid.node(i + 1, j + 1),
                grid.node(i, j + 1),
            ];
            let d = [
                grid.hclass[j].half_width(),
                grid.vclass[i + 1].half_width(),
                grid.hclass[j + 1].half_width(),
                grid.vclass[i].half_width(),
            ];
            let Some(quad) = g::inset_quad(&q, &d) else { continue };
            if quad
                .iter()
                .zip(quad.iter().cycle().skip(1))
                .any(|(a, b)| a.dist(*b) < 25.0)
            {
                continue;
            }
            let samples = edge_samples(&quad);
            if samples.iter().any(|p| outline.frac(*p) > 0.96 || river.gap(*p) < 20.0) {
                continue;
            }
            let c = g::centroid(&quad);
            let frac = outline.frac(c);
            let near_river = samples.iter().map(|p| river.gap(*p)).fold(f64::MAX, f64::min) < 140.0;
            let near_rail = [j, j + 1].iter().any(|&k| grid.hclass[k] == Class::Rail)
                || (j > 0 && grid.hclass[j - 1] == Class::Rail)
                || (j + 2 < grid.nj && grid.hclass[j + 2] == Class::Rail);
            let ang = c.angle();
            let in_industrial_sector = frac > 0.5 && (ang - industrial_dir).abs() < 0.35;
            let kind = block_kind(&mut rng, frac, near_river, near_rail, in_industrial_sector);
            blocks.push(Block {
                i,
                j,
                quad,
                kind,
                frac,
                zone: 0,
                quarter: 0,
            });
        }
    }

    // Investment sites: a few peripheral blocks kept empty or derelict.
    let n_invest = ((14.0 * scale).round() as usize).max(4);
    let mut periph: Vec<usize> = (0..blocks.len())
        .filter(|&b| blocks[b].frac > 0.55 && blocks[b].kind != Use::Park)
        .collect();
    periph.shuffle(&mut rng);
    let mut invest_blocks: Vec<usize> = periph.into_iter().take(n_invest).collect();
    invest_blocks.sort_unstable();
    for (k, &b) in invest_blocks.iter().enumerate() {
        blocks[b].kind = if k % 3 == 1 { Use::Brownfield } else { Use::Vacant };
    }

    // Ponds in a few park blocks (more park blocks if there are too few).
    let n_ponds = ((4.0 * scale.sqrt()).round() as usize).clamp(2, 12);
    let mut parks: Vec<usize> = (0..blocks.len()).filter(|&b| blocks[b].kind == Use::Park).collect();
    if parks.len() < n_ponds {
        let mut others: Vec<usize> = (0..blocks.len())
            .filter(|&b| matches!(blocks[b].kind, Use::House | Use::Garage | Use::Commercial))
            .collect();
        others.shuffle(&mut rng);
        for b in others.into_iter().take(n_ponds - parks.len()) {
            blocks[b].kind = Use::Park;
            parks.push(b);
        }
        parks.sort_unstable();
    }
    parks.shuffle(&mut rng);
    let ponds: Vec<Vec<P>> = parks
        .iter()
        .take(n_ponds)
        .map(|&b| pond(&mut rng, &blocks[b].quad))
        .collect();

    assign_cadastral_quarters(&mut blocks, grid.ni, grid.nj);

    // Streets from grid lines: segments bordering a block, plus the main roads
    // running on to the city limits (primaries bridge the river).
    let mut seg_h = vec![false; grid.ni * grid.nj];
    let mut seg_v = vec![false; grid.ni * grid.nj];
    for b in &blocks {
        seg_h[b.j * grid.ni + b.i] = true;
        seg_h[(b.j + 1) * grid.ni + b.i] = true;
        seg_v[b.j * grid.ni + b.i] = true;
        seg_v[b.j * grid.ni + b.i + 1] = true;
    }
    for j in 0..grid.nj {
        for i in 0..grid.ni {
            let a = grid.node(i, j);
            if i + 1 < grid.ni {
                let b = grid.node(i + 1, j);
                let c = grid.hclass[j];
                if (c.is_main() || c == Class::Rail) && within(&outline, a, b) && segment_ok(&river, a, b, c) {
                    seg_h[j * grid.ni + i] = true;
                }
            }
            if j + 1 < grid.nj {
                let b = grid.node(i, j + 1);
                let c = grid.vclass[i];
                if c.is_main() && within(&outline, a, b) && segment_ok(&river, a, b, c) {
                    seg_v[j * grid.ni + i] = true;
                }
            }
        }
    }
    let mut line_runs: Vec<(LineId, Vec<Vec<P>>)> = Vec::new();
    for i in 0..grid.ni {
        let runs = runs_of(
            grid.nj,
            |j| j + 1 < grid.nj && seg_v[j * grid.ni + i],
            |j| grid.node(i, j),
        );
        if !runs.is_empty() {
            line_runs.push((LineId::V(i), runs));
        }
    }
    for j in 0..grid.nj {
        let runs = runs_of(
            grid.ni,
            |i| i + 1 < grid.ni && seg_h[j * grid.ni + i],
            |i| grid.node(i, j),
        );
        if !runs.is_empty() {
            line_runs.push((LineId::H(j), runs));
        }
    }
    let class_of = |id: LineId| match id {
        LineId::V(i) => grid.vclass[i],
        LineId::H(j) => grid.hclass[j],
    };
    // Names: the most important (and most central) lines get the best-known names.
    let mut order: Vec<usize> = (0..line_runs.len()).collect();
    let rank = |c: Class| match c {
        Class::Rail => 0,
        Class::Primary => 1,
        Class::Secondary => 2,
        Class::Tertiary => 3,
        Class::Residential => 4,
    };
    let dist_of = |id: LineId| match id {
        LineId::V(i) => i.abs_diff(ci),
        LineId::H(j) => j.abs_diff(cj),
    };
    order.sort_by_key(|&k| (rank(class_of(line_runs[k].0)), dist_of(line_runs[k].0), k));
    let mut stems: Vec<&str> = STREET_STEMS[4..].to_vec();
    stems.shuffle(&mut rng);
    let mut stem_list: Vec<&str> = STREET_STEMS[..4].to_vec();
    stem_list.extend(stems);
    let mut names = vec![String::new(); line_runs.len()];
    let mut used = 0usize;
    for &k in &order {
        let class = class_of(line_runs[k].0);
        names[k] = if class == Class::Rail {
            "Залізниця Київ — Житомир — Шепетівка".to_string()
        } else {
            let n = street_name(&stem_list, used, class);
            used += 1;
            n
        };
    }
    let mut streets = Vec::new();
    let mut line_street_v = vec![usize::MAX; grid.ni];
    let mut line_street_h = vec![usize::MAX; grid.nj];
    for (k, (id, runs)) in line_runs.into_iter().enumerate() {
        let class = class_of(id);
        match id {
            LineId::V(i) => line_street_v[i] = streets.len(),
            LineId::H(j) => line_street_h[j] = streets.len(),
        }
        let name = std::mem::take(&mut names[k]);
        streets.push(Street {
            name_en: translit(&name),
            name,
            class,
            lines: runs,
            half_width: class.half_width(),
        });
    }

    // Plots: each block is a grid of cells (shared vertices, no T-junctions),
    // with runs of cells merged into larger plots.
    let mut plots = Vec::new();
    let mut parcel_counter: std::collections::BTreeMap<(u32, u32), u32> = Default::default();
    for (bi, b) in blocks.iter().enumerate() {
        let rail_bottom = grid.hclass[b.j] == Class::Rail;
        let rail_top = grid.hclass[b.j + 1] == Class::Rail;
        let width = (b.quad[0].dist(b.quad[1]) + b.quad[3].dist(b.quad[2])) / 2.0;
        let (mut rows, cols, merge) = subdivision(&mut rng, b.kind, width);
        if rail_bottom || rail_top {
            rows = 1;
        }
        let us = breaks(&mut rng, cols, 0.22);
        let vs: Vec<f64> = if rows == 2 {
            vec![0.0, rng.gen_range(0.42..0.58), 1.0]
        } else {
            vec![0.0, 1.0]
        };
        let v = |r: usize, c: usize| g::bilinear(&b.quad, us[c], vs[r]);
        for r in 0..rows {
            // Facing the street at the bottom (row 0) or the top (last row).
            let front_top = if rows == 2 { r == 1 } else { rail_bottom };
            let street = if front_top {
                line_street_h[b.j + 1]
            } else {
                line_street_h[b.j]
            };
            let mut c = 0;
            while c < cols {
                let mut end = c;
                while end + 1 < cols && rng.gen_bool(merge) {
                    end += 1;
                }
                let mut ring: Vec<P> = (c..=end + 1).map(|k| v(r, k)).collect();
                ring.extend((c..=end + 1).rev().map(|k| v(r + 1, k)));
                let corners = [v(r, c), v(r, end + 1), v(r + 1, end + 1), v(r + 1, c)];
                let quad = if front_top {
                    [corners[2], corners[3], corners[0], corners[1]]
                } else {
                    corners
                };
                let counter = parcel_counter.entry((b.zone, b.quarter)).or_insert(0);
                *counter += 1;
                let cadastral = format!("1810100000:{:02}:{:03}:{:04}", b.zone, b.quarter, *counter);
                plots.push(Plot {
                    block: bi,
                    row: r,
                    ring,
                    quad,
                    street,
                    kind: b.kind,
                    facility: None,
                    cadastral,
                    building: None,
                });
                c = end + 1;
            }
        }
    }
    let investment_plots: Vec<usize> = (0..plots.len())
        .filter(|&p| matches!(plots[p].kind, Use::Vacant | Use::Brownfield))
        .collect();

    assign_facilities(&mut rng, &mut plots, scale);

    // Buildings, one per built plot, fronting the street.
    let mut buildings = Vec::new();
    for (pi, p) in plots.iter_mut().enumerate() {
        if let Some(bld) = building_for(&mut rng, pi, p) {
            p.building = Some(buildings.len());
            buildings.push(bld);
        }
    }

    // Partitions: electoral districts, price zones, postal areas.
    let n_districts = ((21.0 * scale).round() as usize).max(3);
    let people: Vec<(P, f64)> = buildings.iter().map(|b| (g::centroid(&b.quad), dwellers(b))).collect();
    let electoral = electoral_partition(&mut rng, &outline, &people, n_districts);
    let price = Partition::new(&mut rng, OUTLINE_SAMPLES, &[0.22, 0.45, 0.7, 1.0], &[1, 2, 3, 4]);
    let ring_base = [1850.0, 1420.0, 1050.0, 720.0];
    let mut price_values = Vec::new();
    for (k, r) in price.rings.iter().enumerate() {
        for _ in 0..r.bounds.len() {
            price_values.push(super::util::cents(ring_base[k] * rng.gen_range(0.88..1.12)));
        }
    }
    let postal = Partition::new(&mut rng, OUTLINE_SAMPLES, &[0.3, 0.65, 1.0], &[2, 6, 10]);
    let mut postcodes: Vec<u32> = (0..postal.len() as u32).map(|k| 10001 + k).collect();
    postcodes.shuffle(&mut rng);
    let admin_bounds = vec![OUTLINE_SAMPLES * 35 / 360, OUTLINE_SAMPLES * 215 / 360];

    let mut city = City {
        scale,
        outline,
        river,
        ponds,
        streets,
        blocks,
        plots,
        buildings,
        addresses: Vec::new(),
        electoral,
        price,
        price_values,
        postal,
        postcodes,
        admin_bounds,
        district_population: Vec::new(),
        admin_population: [0, 0],
        investment_plots,
    };
    number_addresses(&mut city);
    populate(&mut rng, &mut city);
    city
}

fn make_outline(rng: &mut Rng8, scale: f64) -> Outline {
    let n = OUTLINE_SAMPLES;
    let harmonics: Vec<(f64, f64, f64)> = [(2.0, 0.09), (3.0, 0.06), (5.0, 0.035), (8.0, 0.02), (13.0, 0.01)]
        .iter()
        .map(|&(k, a)| (k, a * rng.gen_range(0.7..1.3), rng.gen_range(0.0..TAU)))
        .collect();
    // Smoothed noise for a ragged, hand-drawn edge.
    let mut noise = vec![0.0; n];
    let mut acc = 0.0;
    for v in noise.iter_mut() {
        acc = 0.92 * acc + normal(rng, 0.0, 0.004);
        *v = acc;
    }
    let raw: Vec<f64> = (0..n)
        .map(|k| {
            let a = k as f64 * TAU / n as f64;
            // East–west elongation, like the real city.
            let base = 1.0 + 0.12 * (2.0 * a).cos();
            base + harmonics
                .iter()
                .map(|(h, amp, ph)| amp * (h * a + ph).sin())
                .sum::<f64>()
                + noise[k]
        })
        .collect();
    let unit = Outline { radius: raw };
    let area = g::area(&unit.ring(1.0));
    let k = (CITY_AREA_M2 * scale / area).sqrt();
    Outline {
        radius: unit.radius.iter().map(|r| r * k).collect(),
    }
}

fn make_river(rng: &mut Rng8, r_mean: f64, r_max: f64) -> River {
    let l = r_mean.max(800.0);
    River {
        base: -0.62 * r_mean,
        waves: [
            (0.05 * r_mean, l * 0.55, rng.gen_range(0.0..TAU)),
            (0.025 * r_mean, l * 0.21, rng.gen_range(0.0..TAU)),
            (12.0, 173.0, rng.gen_range(0.0..TAU)),
        ],
        x0: -1.25 * r_max,
        x1: 1.25 * r_max,
    }
}

fn make_grid(rng: &mut Rng8, r_max: f64, r_mean: f64) -> Grid {
    let half_i = (1.2 * r_max / DX).ceil() as usize + 1;
    let half_j = (1.2 * r_max / DY).ceil() as usize + 1;
    let (ni, nj) = (2 * half_i + 1, 2 * half_j + 1);
    let rot: f64 = rng.gen_range(-0.22..0.22);
    let (s, c) = rot.sin_cos();
    let xs: Vec<f64> = (0..ni)
        .map(|i| (i as f64 - half_i as f64) * DX + rng.gen_range(-20.0..20.0))
        .collect();
    let ys: Vec<f64> = (0..nj)
        .map(|j| (j as f64 - half_j as f64) * DY + rng.gen_range(-12.0..12.0))
        .collect();
    let (p1, p2) = (rng.gen_range(0.0..TAU), rng.gen_range(0.0..TAU));
    let mut nodes = Vec::with_capacity(ni * nj);
    for &y in &ys {
        for &x in &xs {
            // Gentle warp so streets curve a little.
            let wx = x + 35.0 * (y / 700.0 + p1).sin() + rng.gen_range(-8.0..8.0);
            let wy = y + 22.0 * (x / 900.0 + p2).sin() + rng.gen_range(-6.0..6.0);
            nodes.push(P::new(wx * c - wy * s, wx * s + wy * c));
        }
    }
    let class = |d: i64, major: i64| {
        if d % (2 * major) == 0 {
            Class::Primary
        } else if d % major == 0 {
            Class::Secondary
        } else if d % 2 == 0 {
            Class::Tertiary
        } else {
            Class::Residential
        }
    };
    let vclass: Vec<Class> = (0..ni).map(|i| class(i as i64 - half_i as i64, 4)).collect();
    let mut hclass: Vec<Class> = (0..nj).map(|j| class(j as i64 - half_j as i64, 6)).collect();
    let j_rail = half_j + (0.42 * r_mean / DY).round() as usize;
    if j_rail + 1 < nj {
        hclass[j_rail] = Class::Rail;
    }
    Grid {
        ni,
        nj,
        nodes,
        vclass,
        hclass,
    }
}

fn edge_samples(q: &[P; 4]) -> Vec<P> {
    let mut out = Vec::with_capacity(40);
    for k in 0..4 {
        let (a, b) = (q[k], q[(k + 1) % 4]);
        let n = (a.dist(b) / 20.0).ceil().max(1.0) as usize;
        out.extend((0..n).map(|t| a.lerp(b, t as f64 / n as f64)));
    }
    out.push(g::centroid(q));
    out
}

/// A segment running to the city limits but not beyond them.
fn within(o: &Outline, a: P, b: P) -> bool {
    (0..=8).all(|t| o.frac(a.lerp(b, f64::from(t) / 8.0)) <= 0.99)
}

fn segment_ok(river: &River, a: P, b: P, class: Class) -> bool {
    if river.gap(a) < 5.0 || river.gap(b) < 5.0 {
        return false;
    }
    if matches!(class, Class::Primary | Class::Rail) {
        return true;
    }
    (1..10).all(|t| river.gap(a.lerp(b, t as f64 / 10.0)) > 5.0)
}

/// Maximal runs of consecutive included segments along one grid line.
fn runs_of(n: usize, seg: impl Fn(usize) -> bool, node: impl Fn(usize) -> P) -> Vec<Vec<P>> {
    let mut runs = Vec::new();
    let mut cur: Vec<P> = Vec::new();
    for k in 0..n {
        if seg(k) {
            if cur.is_empty() {
                cur.push(node(k));
            }
            cur.push(node(k + 1));
        } else if !cur.is_empty() {
            runs.push(std::mem::take(&mut cur));
        }
    }
    if cur.len() >= 2 {
        runs.push(cur);
    }
    runs
}

fn street_name(stems: &[&str], k: usize, class: Class) -> String {
    let stem = stems[k % stems.len()];
    let round = k / stems.len();
    if round == 0 {
        let kind = match (class, k) {
            (_, 1) => "проспект",
            (Class::Primary, 5) | (Class::Secondary, 9) => "бульвар",
            _ => "вулиця",
        };
        return format!("{kind} {stem}");
    }
    // Further streets with a used stem, the way cities number them.
    let n = round + 1;
    if !stem.contains(' ') && stem.ends_with('а') {
        format!("{n}-а {stem} вулиця")
    } else {
        format!("{n}-й провулок {stem}")
    }
}

fn block_kind(rng: &mut Rng8, frac: f64, near_river: bool, near_rail: bool, industrial: bool) -> Use {
    use Use::*;
    if near_river && rng.gen_bool(0.35) {
        return Park;
    }
    if (near_rail && rng.gen_bool(0.45)) || (industrial && rng.gen_bool(0.55)) {
        return Industrial;
    }
    let table: &[(Use, f64)] = if frac < 0.25 {
        &[
            (Apartment, 0.42),
            (Public, 0.25),
            (Commercial, 0.25),
            (Park, 0.05),
            (House, 0.03),
        ]
    } else if frac < 0.6 {
        &[
            (Apartment, 0.33),
            (House, 0.36),
            (Public, 0.12),
            (Commercial, 0.08),
            (Garage, 0.04),
            (Park, 0.04),
            (Industrial, 0.03),
        ]
    } else {
        &[
            (House, 0.62),
            (Apartment, 0.1),
            (Industrial, 0.1),
            (Garage, 0.06),
            (Public, 0.05),
            (Park, 0.04),
            (Commercial, 0.03),
        ]
    };
    *weighted(rng, table)
}

/// (rows, cols, probability of merging the next cell into a plot).
fn subdivision(rng: &mut Rng8, kind: Use, width: f64) -> (usize, usize, f64) {
    use Use::*;
    match kind {
        House => (2, ((width / rng.gen_range(14.0..19.5)).round() as usize).max(2), 0.12),
        Apartment => (rng.gen_range(1..=2), rng.gen_range(1..=3), 0.05),
        Public => (2, rng.gen_range(2..=4), 0.1),
        Commercial => (2, rng.gen_range(3..=7), 0.15),
        Industrial => (rng.gen_range(1..=2), rng.gen_range(1..=3), 0.1),
        Garage => (2, rng.gen_range(3..=6), 0.0),
        Park | Vacant | Brownfield => (1, 1, 0.0),
    }
}

/// 0 = b0 < b1 < … < bn = 1 with jittered spacing.
fn breaks(rng: &mut Rng8, n: usize, jitter: f64) -> Vec<f64> {
    let w: Vec<f64> = (0..n).map(|_| 1.0 + rng.gen_range(-jitter..jitter)).collect();
    let total: f64 = w.iter().sum();
    let mut out = Vec::with_capacity(n + 1);
    let mut acc = 0.0;
    out.push(0.0);
    for x in w.iter().take(n - 1) {
        acc += x / total;
        out.push(acc);
    }
    out.push(1.0);
    out
}

fn pond(rng: &mut Rng8, q: &[P; 4]) -> Vec<P> {
    let c = g::centroid(q);
    // Largest circle around the centroid that stays inside the block.
    let d_min = (0..4)
        .map(|k| {
            let (a, b) = (q[k], q[(k + 1) % 4]);
            (b.sub(a).cross(c.sub(a)) / a.dist(b)).abs()
        })
        .fold(f64::MAX, f64::min);
    let r0 = 0.7 * d_min;
    let (k1, k2) = (rng.gen_range(0.0..TAU), rng.gen_range(0.0..TAU));
    (0..32)
        .map(|t| {
            let a = t as f64 * TAU / 32.0;
            let r = r0 * (1.0 + 0.12 * (2.0 * a + k1).sin() + 0.06 * (3.0 * a + k2).sin());
            c.add(P::polar(r, a))
        })
        .collect()
}

/// Cadastral zones are coarse cells of the grid (at most 99 in use), quarters
/// are groups of blocks within a zone (at most 999 per zone).
fn assign_cadastral_quarters(blocks: &mut [Block], ni: usize, nj: usize) {
    let zsi = ni.div_ceil(9).max(1);
    let zsj = nj.div_ceil(11).max(1);
    let nzi = ni.div_ceil(zsi);
    let coarse = |b: &Block| (b.j / zsj) * nzi + b.i / zsi;
    let mut used: Vec<usize> = blocks.iter().map(coarse).collect();
    used.sort_unstable();
    used.dedup();
    let zone_of = |c: usize| used.binary_search(&c).map(|k| k as u32 + 1).unwrap_or(1);
    let mut per_zone: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
    for (k, b) in blocks.iter().enumerate() {
        per_zone.entry(zone_of(coarse(b))).or_default().push(k);
    }
    for (zone, list) in per_zone {
        let per_quarter = list.len().div_ceil(999).max(1);
        for (n, &k) in list.iter().enumerate() {
            blocks[k].zone = zone;
            blocks[k].quarter = (n / per_quarter) as u32 + 1;
        }
    }
}

/// Electoral districts: rings of sectors whose boundaries are placed at
/// population quantiles, so districts have roughly equal numbers of voters
/// (as the electoral code requires) whatever the housing density.
fn electoral_partition(rng: &mut Rng8, o: &Outline, people: &[(P, f64)], n: usize) -> Partition {
    let samples = o.n();
    let m = ((n as f64 / 2.33).sqrt().round() as usize).max(1);
    let mut counts: Vec<usize> = (0..m)
        .map(|k| {
            let ideal = (n as f64 * (2 * k + 1) as f64 / (m * m) as f64).round() as usize;
            ideal.max(if k == 0 { 1 } else { 2 })
        })
        .collect();
    if m == 1 {
        counts[0] = n;
    } else {
        let others: usize = counts[..m - 1].iter().sum();
        counts[m - 1] = n.saturating_sub(others).max(2);
    }
    let total_n: usize = counts.iter().sum();
    // (frac, angular position in samples, weight)
    let mut pts: Vec<(f64, f64, f64)> = people
        .iter()
        .filter(|x| x.1 > 0.0)
        .map(|(p, w)| (o.frac(*p), p.angle() / o.step(), *w))
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = pts.iter().map(|x| x.2).sum();
    // Ring radii at cumulative population shares.
    let mut fracs = Vec::with_capacity(m);
    let (mut acc, mut idx, mut share) = (0.0, 0usize, 0usize);
    for (k, &c) in counts.iter().enumerate() {
        share += c;
        if k + 1 == m {
            fracs.push(1.0);
            break;
        }
        let target = total * share as f64 / total_n as f64;
        while idx < pts.len() && acc + pts[idx].2 < target {
            acc += pts[idx].2;
            idx += 1;
        }
        let equal = (k + 1) as f64 / m as f64;
        let f = pts.get(idx).map(|p| p.0).unwrap_or(equal);
        let prev = fracs.last().copied().unwrap_or(0.0);
        fracs.push(f.clamp(prev + 0.05, 0.95));
    }
    let mut rings = Vec::with_capacity(m);
    let mut f_in = 0.0;
    let mut first = 0;
    for (k, (&f_out, &s)) in fracs.iter().zip(&counts).enumerate() {
        let offset = rng.gen_range(0..samples);
        let equal: Vec<usize> = (0..s).map(|t| (offset + (t * samples + s / 2) / s) % samples).collect();
        let mut ring_pts: Vec<(f64, f64)> = pts
            .iter()
            .filter(|p| p.0 >= f_in && (p.0 < f_out || k + 1 == m))
            .map(|p| ((p.1 - offset as f64).rem_euclid(samples as f64), p.2))
            .collect();
        ring_pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let ring_total: f64 = ring_pts.iter().map(|x| x.1).sum();
        let mut bounds = vec![offset];
        if s > 1 && ring_pts.len() >= 4 * s {
            let (mut acc, mut t) = (0.0, 1usize);
            for (pos, w) in &ring_pts {
                if t >= s {
                    break;
                }
                acc += w;
                if acc >= ring_total * t as f64 / s as f64 {
                    bounds.push((offset + pos.round() as usize) % samples);
                    t += 1;
                }
            }
        }
        bounds.sort_unstable();
        bounds.dedup();
        if bounds.len() != s {
            // Too few dwellings to balance (tiny scales): equal angles.
            bounds = equal;
            bounds.sort_unstable();
            bounds.dedup();
        }
        let cells = bounds.len();
        rings.push(PRing {
            f_in,
            f_out,
            bounds,
            first,
        });
        first += cells;
        f_in = f_out;
    }
    Partition { rings }
}

/// Residents of a building (for district populations).
fn dwellers(b: &Building) -> f64 {
    match b.use_ {
        "residential" => 3.1,
        "apartments" => g::area(&b.quad) * b.levels as f64 * 0.8 / 62.0 * 2.3,
        _ => 0.0,
    }
}

fn assign_facilities(rng: &mut Rng8, plots: &mut [Plot], scale: f64) {
    use Facility::*;
    let n = ((170.0 * scale).round() as usize).max(12);
    let mut public: Vec<usize> = (0..plots.len()).filter(|&p| plots[p].kind == Use::Public).collect();
    let mut housing: Vec<usize> = (0..plots.len()).filter(|&p| plots[p].kind == Use::Apartment).collect();
    let mut rest: Vec<usize> = (0..plots.len())
        .filter(|&p| matches!(plots[p].kind, Use::House | Use::Commercial))
        .collect();
    public.shuffle(rng);
    housing.shuffle(rng);
    rest.shuffle(rng);
    let mut pool = public.into_iter().chain(housing).chain(rest);
    // A fixed minimum of each kind, so every kind has peers to compare with.
    let mut kinds: Vec<Facility> = Vec::with_capacity(n);
    let base = [
        School,
        School,
        School,
        Kindergarten,
        Kindergarten,
        Kindergarten,
        Hospital,
        Administrative,
        Culture,
        Sport,
        Other,
    ];
    kinds.extend(base.iter().copied().take(n));
    let table = [
        (School, 0.26),
        (Kindergarten, 0.32),
        (Hospital, 0.06),
        (Administrative, 0.1),
        (Culture, 0.12),
        (Sport, 0.06),
        (Other, 0.08),
    ];
    while kinds.len() < n {
        kinds.push(*weighted(rng, &table));
    }
    for k in kinds {
        match pool.next() {
            Some(p) => plots[p].facility = Some(k),
            None => break,
        }
    }
}

fn building_for(rng: &mut Rng8, pi: usize, p: &Plot) -> Option<Building> {
    let q = &p.quad;
    let w = (q[0].dist(q[1]) + q[3].dist(q[2])) / 2.0;
    let d = (q[0].dist(q[3]) + q[1].dist(q[2])) / 2.0;
    // (width m, depth m, setback m, levels, use, year)
    let (bw, bd, setback, levels, use_, year): (f64, f64, f64, i64, &'static str, i64) = if let Some(f) = p.facility {
        let (levels, year) = match f {
            Facility::Hospital => (rng.gen_range(4..=9), rng.gen_range(1965..=1995)),
            Facility::Kindergarten => (2, rng.gen_range(1960..=1992)),
            Facility::School => (rng.gen_range(3..=4), rng.gen_range(1955..=2015)),
            _ => (rng.gen_range(2..=5), rng.gen_range(1900..=2010)),
        };
        let width = match f {
            Facility::Kindergarten => rng.gen_range(28.0..45.0),
            Facility::Hospital | Facility::School => rng.gen_range(45.0..80.0),
            _ => rng.gen_range(20.0..50.0),
        };
        (
            width,
            rng.gen_range(14.0..20.0),
            rng.gen_range(8.0..20.0),
            levels,
            "public",
            year,
        )
    } else {
        match p.kind {
            Use::Park | Use::Vacant => return None,
            Use::House => {
                if rng.gen_bool(0.04) {
                    return None; // unbuilt plot
                }
                let levels = *weighted(rng, &[(1, 0.55), (2, 0.4), (3, 0.05)]);
                (
                    rng.gen_range(8.0..13.0),
                    rng.gen_range(8.0..12.0),
                    rng.gen_range(3.0..8.0),
                    levels,
                    "residential",
                    rng.gen_range(1950..=2025),
                )
            }
            Use::Apartment => {
                let levels = *weighted(rng, &[(5, 0.4), (9, 0.32), (12, 0.1), (16, 0.1), (4, 0.05), (24, 0.03)]);
                let year = if levels >= 12 && rng.gen_bool(0.5) {
                    rng.gen_range(2005..=2025)
                } else {
                    rng.gen_range(1958..=1992)
                };
                (
                    rng.gen_range(40.0..110.0),
                    rng.gen_range(12.0..15.0),
                    rng.gen_range(6.0..15.0),
                    levels,
                    "apartments",
                    year,
                )
            }
            Use::Public => (
                rng.gen_range(20.0..55.0),
                rng.gen_range(12.0..20.0),
                rng.gen_range(5.0..15.0),
                rng.gen_range(2..=4),
                "public",
                rng.gen_range(1900..=2015),
            ),
            Use::Commercial => (
                rng.gen_range(12.0..40.0),
                rng.gen_range(10.0..25.0),
                rng.gen_range(2.0..8.0),
                rng.gen_range(1..=5),
                "commercial",
                rng.gen_range(1960..=2025),
            ),
            Use::Industrial | Use::Brownfield => (
                rng.gen_range(30.0..120.0),
                rng.gen_range(20.0..50.0),
                rng.gen_range(10.0..25.0),
                rng.gen_range(1..=3),
                "industrial",
                rng.gen_range(1950..=1995),
            ),
            Use::Garage => (w * 0.85, 6.5, 3.0, 1, "garage", rng.gen_range(1970..=2010)),
        }
    };
    // Fit into the plot (in bilinear fractions), centred along the street.
    let fu = (bw / w).clamp(0.2, 0.9);
    let fd = (bd / d).clamp(0.15, 0.6);
    let v0 = (setback / d).clamp(0.04, 0.95 - fd);
    let u0 = ((1.0 - fu) / 2.0 + rng.gen_range(-0.05..0.05)).clamp(0.04, 0.96 - fu);
    let quad = g::sub_quad(q, u0, u0 + fu, v0, v0 + fd);
    Some(Building {
        plot: pi,
        quad,
        levels,
        use_,
        year,
        address: 0,
    })
}

/// House numbers per street: odd on one side, even on the other, increasing
/// along the street's direction.
fn number_addresses(city: &mut City) {
    let mut per_street: Vec<Vec<(bool, f64, usize)>> = vec![Vec::new(); city.streets.len()];
    for (bi, b) in city.buildings.iter().enumerate() {
        let plot = &city.plots[b.plot];
        let street = plot.street;
        if street == usize::MAX {
            continue;
        }
        let front = plot.quad[0].lerp(plot.quad[1], 0.5);
        let c = g::centroid(&plot.quad);
        // Side: is the plot north of its street (odd numbers) or south (even)?
        let north = c.sub(front).y > 0.0;
        let dir = plot.quad[1].sub(plot.quad[0]);
        // Position along the street: x of the front midpoint in the street's direction.
        let pos = if dir.x.abs() > 1e-9 { front.x } else { front.y };
        per_street[street].push((north, pos, bi));
    }
    let mut addrs = Vec::with_capacity(city.buildings.len());
    for (s, list) in per_street.iter_mut().enumerate() {
        list.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.2.cmp(&b.2)));
        let (mut odd, mut even) = (1u32, 2u32);
        for &(north, _, bi) in list.iter() {
            let n = if north {
                let n = odd;
                odd += 2;
                n
            } else {
                let n = even;
                even += 2;
                n
            };
            let p = g::centroid(&city.buildings[bi].quad);
            let pc = city.postal.cell_of(&city.outline, p);
            city.buildings[bi].address = addrs.len();
            addrs.push(Address {
                street: s,
                number: n.to_string(),
                p,
                postcode: city.postcodes[pc],
                building: bi,
            });
        }
    }
    city.addresses = addrs;
}

/// Residents from dwellings, normalised to the city's population.
fn populate(rng: &mut Rng8, city: &mut City) {
    let n = city.electoral.len();
    let mut weight = vec![0.0; n];
    let mut admin = [0.0; 2];
    for b in &city.buildings {
        let w = dwellers(b);
        let c = g::centroid(&b.quad);
        weight[city.electoral_of(c)] += w;
        admin[city.admin_of(c)] += w;
    }
    let total: f64 = weight.iter().sum::<f64>().max(1.0);
    let target = CITY_POPULATION * city.scale;
    city.district_population = weight
        .iter()
        .map(|w| (w / total * target * rng.gen_range(0.97..1.03)).round() as i64)
        .collect();
    // Districts without housing still have a few residents (dormitories etc.).
    for p in city.district_population.iter_mut() {
        if *p < 50 {
            *p = rng.gen_range(50..400);
        }
    }
    let sum: i64 = city.district_population.iter().sum();
    let a0 = (admin[0] / admin.iter().sum::<f64>().max(1.0) * sum as f64).round() as i64;
    city.admin_population = [a0, sum - a0];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_usable_at_every_scale() {
        for seed in 0..4 {
            for scale in [1e-6, 0.01, 0.05, 0.3] {
                let c = build(seed, scale);
                assert!(!c.plots.is_empty() && !c.addresses.is_empty() && !c.streets.is_empty());
                assert!(c.streets.iter().any(|s| s.class.is_main()), "seed {seed} scale {scale}");
                let mut cad: Vec<&str> = c.plots.iter().map(|p| p.cadastral.as_str()).collect();
                cad.sort_unstable();
                cad.dedup();
                assert_eq!(cad.len(), c.plots.len());
                assert!(c.plots.iter().all(|p| p.ring.iter().all(|v| c.outline.frac(*v) < 0.97)));
                assert!(c.plots.iter().all(|p| g::signed_area(&p.ring) > 50.0));
                assert_eq!(c.district_population.len(), c.electoral.len());
            }
        }
    }
}
