//! Municipal buildings' energy: objects, tariffs, daily weather and daily
//! meter readings driven by it (heat only in the heating season), with one
//! deliberately wasteful building (about 3× its peers).

use super::city::{City, Facility};
use super::copy::{Cancelled, GenResult, Sink};
use super::geometry as g;
use super::orgs::Orgs;
use super::property::{FacilityInfo, PropGeom, PropObj};
use super::util::{Rng8, START, TODAY, days, normal, office_time, stream, sub, ymd};
use chrono::{Datelike, NaiveDate, NaiveTime, TimeDelta, Weekday};
use rand::Rng;
use std::collections::BTreeMap;

pub struct EnergyObj {
    pub id: i64,
    pub kind: Facility,
    pub area: f64,
    pub class_factor: f64,
    pub gas_heating: bool,
    pub outlier: bool,
    pub seed: u64,
}

const CLASSES: &[(&str, f64)] = &[
    ("A", 0.45),
    ("B", 0.6),
    ("C", 0.75),
    ("D", 0.9),
    ("E", 1.05),
    ("F", 1.25),
    ("G", 1.5),
];

pub fn energy_objects(
    s: &mut Sink,
    city: &City,
    orgs: &Orgs,
    facilities: &[FacilityInfo],
    props: &[PropObj],
    seed: u64,
) -> Result<Vec<EnergyObj>, Cancelled> {
    let mut rng = stream(seed, 500);
    s.begin(
        "energy_objects",
        "id, name, kind, address, heated_area_m2, year_built, energy_class, balance_holder_name, property_id, geom, \
         created_at, updated_at",
    )?;
    let prop_of: BTreeMap<usize, i64> = props
        .iter()
        .filter(|o| matches!(o.geom, PropGeom::Footprint(_)))
        .filter_map(|o| o.plot.map(|p| (p, o.id)))
        .collect();
    // The wasteful building: one school (there are always at least three).
    let schools: Vec<usize> = (0..facilities.len())
        .filter(|&k| facilities[k].kind == Facility::School)
        .collect();
    let outlier = if schools.is_empty() {
        0
    } else {
        schools[rng.gen_range(0..schools.len())]
    };
    let mut out = Vec::new();
    for (k, f) in facilities.iter().enumerate() {
        let plot = &city.plots[f.plot];
        let Some(b) = plot.building else { continue };
        let bld = &city.buildings[b];
        let area = g::area(&bld.quad) * bld.levels as f64 * rng.gen_range(0.75..0.9);
        // Older buildings have worse classes; a few were thermally modernised.
        let class_idx = if rng.gen_bool(0.12) {
            rng.gen_range(1..=2)
        } else if bld.year > 2005 {
            rng.gen_range(1..=3)
        } else {
            rng.gen_range(3..=6)
        };
        let (class, factor) = CLASSES[class_idx];
        let id = out.len() as i64 + 1;
        let (c, u) = super::util::stamps(&mut rng);
        s.int(id)
            .text(&f.name)
            .text(f.kind.as_str())
            .text(&city.addresses[bld.address].text(city))
            .fixed((area * 10.0).round() as i64, 1)
            .int(bld.year)
            .text(class)
            .text(orgs.get(f.holder).name)
            .opt_int(prop_of.get(&f.plot).copied())
            .geom(|buf| g::polygon(buf, &bld.quad))
            .ts(c)
            .ts(u);
        s.end_row()?;
        out.push(EnergyObj {
            id,
            kind: f.kind,
            area,
            class_factor: factor,
            gas_heating: f.kind != Facility::Hospital && rng.gen_bool(0.15),
            outlier: k == outlier,
            seed: rng.r#gen(),
        });
    }
    s.end()?;
    Ok(out)
}

pub fn tariffs(s: &mut Sink, seed: u64) -> GenResult {
    let mut rng = stream(seed, 501);
    s.begin("tariffs", "id, resource, valid_from, price_uah, created_at, updated_at")?;
    let table: &[(&str, &[(NaiveDate, f64)])] = &[
        (
            "heat_gcal",
            &[
                (ymd(2023, 1, 1), 2900.0),
                (ymd(2024, 10, 1), 3310.0),
                (ymd(2025, 10, 1), 3650.0),
            ],
        ),
        (
            "electricity_kwh",
            &[
                (ymd(2023, 1, 1), 7.2),
                (ymd(2024, 6, 1), 8.1),
                (ymd(2025, 1, 1), 8.6),
                (ymd(2026, 1, 1), 9.1),
            ],
        ),
        (
            "gas_m3",
            &[
                (ymd(2023, 1, 1), 16.5),
                (ymd(2024, 11, 1), 17.9),
                (ymd(2026, 1, 1), 18.4),
            ],
        ),
        (
            "cold_water_m3",
            &[
                (ymd(2023, 1, 1), 29.4),
                (ymd(2024, 7, 1), 34.2),
                (ymd(2026, 1, 1), 38.7),
            ],
        ),
        ("hot_water_m3", &[(ymd(2023, 1, 1), 105.3), (ymd(2025, 7, 1), 118.6)]),
    ];
    let mut id = 0;
    for (res, steps) in table {
        for (from, price) in steps.iter() {
            id += 1;
            let p = price * rng.gen_range(0.97..1.03);
            let lead = days(rng.gen_range(5..25));
            let t = office_time(&mut rng, *from - lead);
            s.int(id)
                .text(res)
                .date(*from)
                .fixed((p * 10_000.0).round() as i64, 4)
                .ts(t)
                .ts(t);
            s.end_row()?;
        }
    }
    s.end()
}

/// Daily mean temperatures, START..TODAY (exclusive).
pub struct Weather {
    pub temps: Vec<f64>,
    pub heating: Vec<bool>,
}

impl Weather {
    fn date(k: usize) -> NaiveDate {
        START + days(k as i64)
    }
}

pub fn weather_daily(s: &mut Sink, seed: u64) -> Result<Weather, Cancelled> {
    let mut rng = stream(seed, 502);
    let n = (TODAY - START).num_days() as usize;
    let mut temps = Vec::with_capacity(n);
    let mut noise = 0.0;
    for k in 0..n {
        let d = Weather::date(k);
        let doy = f64::from(d.ordinal());
        // Zhytomyr: annual mean ≈ 7.6 °C, coldest mid-January ≈ −4 °C, warmest July ≈ 19 °C.
        let season = 7.6 + 11.6 * (std::f64::consts::TAU * (doy - 106.0) / 365.25).sin();
        let sd = if season < 5.0 { 2.6 } else { 1.8 };
        noise = 0.8 * noise + normal(&mut rng, 0.0, sd);
        temps.push(((season + noise) * 100.0).round() / 100.0);
    }
    // Heating season: switched on after three days below +8 °C in autumn,
    // off after three days above +8 °C in spring (with administrative limits).
    let mut heating = Vec::with_capacity(n);
    let mut on = true; // the window starts on 1 November
    for k in 0..n {
        let d = Weather::date(k);
        let avg3 = if k >= 2 {
            (temps[k] + temps[k - 1] + temps[k - 2]) / 3.0
        } else {
            temps[k]
        };
        let (m, day) = (d.month(), d.day());
        if !on && (m == 11 || (m == 10 && (avg3 < 8.0 || day >= 25))) {
            on = true;
        } else if on && ((m == 3 && day >= 20) || m == 4) && (avg3 > 8.0 || (m == 4 && day >= 20)) {
            on = false;
        }
        heating.push(on);
    }
    s.begin("weather_daily", "id, date, mean_temp_c, created_at, updated_at")?;
    for (k, t) in temps.iter().enumerate() {
        let d = Weather::date(k);
        let ts = (d + days(1)).and_time(NaiveTime::MIN) + TimeDelta::hours(5);
        s.int(k as i64 + 1)
            .date(d)
            .fixed((t * 100.0).round() as i64, 2)
            .ts(ts)
            .ts(ts);
        s.end_row()?;
    }
    s.end()?;
    Ok(Weather { temps, heating })
}

#[derive(Clone, Copy)]
enum Res {
    Heat,
    Electricity,
    Gas,
    ColdWater,
    HotWater,
}

impl Res {
    fn name(self) -> &'static str {
        match self {
            Res::Heat => "heat_gcal",
            Res::Electricity => "electricity_kwh",
            Res::Gas => "gas_m3",
            Res::ColdWater => "cold_water_m3",
            Res::HotWater => "hot_water_m3",
        }
    }
    fn meter_prefix(self) -> &'static str {
        match self {
            Res::Heat => "ТЛ",
            Res::Electricity => "ЕЛ",
            Res::Gas => "ГЗ",
            Res::ColdWater => "ХВ",
            Res::HotWater => "ГВ",
        }
    }
}

/// Annual intensities per m²: (electricity kWh, cold water m³, hot water m³),
/// heat multiplier, and whether the building is used on weekends.
fn profile(kind: Facility) -> (f64, f64, f64, f64, bool) {
    match kind {
        Facility::School => (25.0, 0.5, 0.0, 1.0, false),
        Facility::Kindergarten => (35.0, 1.2, 0.35, 1.15, false),
        Facility::Hospital => (70.0, 2.5, 0.9, 1.3, true),
        Facility::Administrative => (45.0, 0.3, 0.0, 0.9, false),
        Facility::Culture => (30.0, 0.2, 0.0, 0.9, true),
        Facility::Sport => (50.0, 1.5, 0.6, 1.1, true),
        Facility::Other => (30.0, 0.6, 0.0, 1.0, true),
    }
}

/// Gcal per m² per degree-day (base 18 °C) of an average building.
const HEAT_PER_M2_DD: f64 = 3.9e-5;
/// m³ of natural gas per Gcal of useful heat (8 000 kcal/m³, 90 % boiler).
const GAS_PER_GCAL: f64 = 139.0;

pub fn energy_readings(s: &mut Sink, objs: &[EnergyObj], w: &Weather) -> GenResult {
    s.begin(
        "energy_readings",
        "id, object_id, resource, reading_date, quantity, meter_number, created_at, updated_at",
    )?;
    let mut id = 0i64;
    for o in objs {
        let mut rng: Rng8 = sub(o.seed);
        let (el, cw, hw, heat_k, weekends) = profile(o.kind);
        let waste = if o.outlier { 3.0 } else { 1.0 };
        let own = rng.gen_range(0.85..1.15) * waste;
        let mut resources = vec![Res::Electricity, Res::ColdWater];
        resources.insert(0, if o.gas_heating { Res::Gas } else { Res::Heat });
        if hw > 0.0 {
            resources.push(Res::HotWater);
        }
        for res in resources {
            let meter = format!("{}-{:08}", res.meter_prefix(), rng.gen_range(0..100_000_000));
            for (k, &t) in w.temps.iter().enumerate() {
                let d = Weather::date(k);
                let weekend = matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
                let occupancy = if weekend && !weekends { 0.35 } else { 1.0 };
                let summer_break = o.kind == Facility::School && matches!(d.month(), 7 | 8);
                let heat_need = (18.0 - t).max(0.0) * o.area * HEAT_PER_M2_DD * heat_k * o.class_factor * own;
                let q = match res {
                    Res::Heat => {
                        if !w.heating[k] {
                            continue;
                        }
                        heat_need * if weekend && !weekends { 0.85 } else { 1.0 }
                    }
                    Res::Gas => {
                        let base = o.area * 0.002 * occupancy;
                        base + if w.heating[k] { heat_need * GAS_PER_GCAL } else { 0.0 }
                    }
                    Res::Electricity => {
                        let season =
                            1.0 + 0.15 * (std::f64::consts::TAU * (f64::from(d.ordinal()) - 355.0) / 365.25).cos();
                        let brk = if summer_break { 0.4 } else { 1.0 };
                        o.area * el / 365.0 * occupancy * season * brk * own
                    }
                    Res::ColdWater => {
                        let brk = if summer_break { 0.3 } else { 1.0 };
                        o.area * cw / 365.0 * occupancy * brk * own
                    }
                    Res::HotWater => o.area * hw / 365.0 * occupancy * own,
                };
                let q = (q * rng.gen_range(0.9..1.1)).max(0.0);
                id += 1;
                let ts = (d + days(1)).and_time(NaiveTime::MIN) + TimeDelta::hours(4);
                s.int(id)
                    .int(o.id)
                    .text(res.name())
                    .date(d)
                    .fixed((q * 1000.0).round() as i64, 3)
                    .text(&meter)
                    .ts(ts)
                    .ts(ts);
                s.end_row()?;
            }
        }
    }
    s.end()
}
