//! Base layers: city boundary, administrative districts, water, price zones,
//! streets, addresses and buildings.

use super::city::City;
use super::copy::{GenResult, Sink};
use super::geometry::{self as g, P};
use super::util::{Rng8, START, days, kyiv_to_utc, stream};
use chrono::NaiveDateTime;
use rand::Rng;

/// Base layers were digitised when the system went live.
fn base_stamp(rng: &mut Rng8) -> (NaiveDateTime, NaiveDateTime) {
    let c = kyiv_to_utc(START.and_time(chrono::NaiveTime::MIN)) + chrono::TimeDelta::hours(9);
    let u = if rng.gen_bool(0.1) {
        c + days(rng.gen_range(30..1000))
    } else {
        c
    };
    (c, u)
}

pub fn city_boundary(s: &mut Sink, city: &City, seed: u64) -> GenResult {
    let mut rng = stream(seed, 100);
    s.begin(
        "city_boundary",
        "id, name, name_en, koatuu, population, geom, created_at, updated_at",
    )?;
    let (c, u) = base_stamp(&mut rng);
    let ring = city.outline.ring(1.0);
    s.int(1)
        .text("Житомир")
        .text("Zhytomyr")
        .text("1810100000")
        .int(city.population())
        .geom(|b| g::multipolygon(b, &[&ring]))
        .ts(c)
        .ts(u);
    s.end_row()?;
    s.end()
}

pub const ADMIN_NAMES: [(&str, &str); 2] = [("Богунський", "Bohunskyi"), ("Корольовський", "Korolovskyi")];

pub fn admin_districts(s: &mut Sink, city: &City, seed: u64) -> GenResult {
    let mut rng = stream(seed, 101);
    s.begin(
        "admin_districts",
        "id, name, name_en, population, area_km2, geom, created_at, updated_at",
    )?;
    let n = city.outline.n();
    let b = &city.admin_bounds;
    let rings = [
        city.outline.cell(0.0, 1.0, b[0], b[1]),
        city.outline.cell(0.0, 1.0, b[1], b[0] + n),
    ];
    for (k, ring) in rings.iter().enumerate() {
        let (c, u) = base_stamp(&mut rng);
        let km2 = g::area(ring) * g::area_factor() / 1e6;
        s.int(k as i64 + 1)
            .text(ADMIN_NAMES[k].0)
            .text(ADMIN_NAMES[k].1)
            .int(city.admin_population[k])
            .fixed((km2 * 1000.0).round() as i64, 3)
            .geom(|buf| g::multipolygon(buf, &[ring]))
            .ts(c)
            .ts(u);
        s.end_row()?;
    }
    s.end()
}

pub fn water(s: &mut Sink, city: &City, seed: u64) -> GenResult {
    let mut rng = stream(seed, 102);
    s.begin("water", "id, name, name_en, kind, geom, created_at, updated_at")?;
    let (c, u) = base_stamp(&mut rng);
    let river = city.river.ring();
    s.int(1)
        .text("Тетерів")
        .text("Teteriv")
        .text("river")
        .geom(|b| g::multipolygon(b, &[&river]))
        .ts(c)
        .ts(u);
    s.end_row()?;
    const POND_NAMES: &[(&str, &str)] = &[
        ("Ставок у Гідропарку", "Hydropark pond"),
        ("Озеро Відпочинок", "Lake Vidpochynok"),
        ("Ставок Лебединий", "Swan pond"),
        ("Ставок на Крошні", "Kroshnia pond"),
        ("Богунський ставок", "Bohunia pond"),
        ("Ставок Тихий", "Quiet pond"),
    ];
    for (k, pond) in city.ponds.iter().enumerate() {
        let (c, u) = base_stamp(&mut rng);
        let (name, en) = POND_NAMES[k % POND_NAMES.len()];
        let suffix = if k >= POND_NAMES.len() {
            format!(" {}", k / POND_NAMES.len() + 1)
        } else {
            String::new()
        };
        s.int(k as i64 + 2)
            .text(&format!("{name}{suffix}"))
            .text(&format!("{en}{suffix}"))
            .text("pond")
            .geom(|b| g::multipolygon(b, &[pond]))
            .ts(c)
            .ts(u);
        s.end_row()?;
    }
    s.end()
}

pub fn price_zones(s: &mut Sink, city: &City, seed: u64) -> GenResult {
    let mut rng = stream(seed, 103);
    s.begin(
        "price_zones",
        "id, zone_number, base_value_uah_m2, geom, created_at, updated_at",
    )?;
    for (k, ring) in city.price.cells(&city.outline).iter().enumerate() {
        let (c, u) = base_stamp(&mut rng);
        s.int(k as i64 + 1)
            .int(k as i64 + 1)
            .money(city.price_values[k])
            .geom(|b| g::multipolygon(b, &[ring]))
            .ts(c)
            .ts(u);
        s.end_row()?;
    }
    s.end()
}

pub fn streets(s: &mut Sink, city: &City, seed: u64) -> GenResult {
    let mut rng = stream(seed, 104);
    s.begin("streets", "id, name, name_en, class, geom, created_at, updated_at")?;
    for (k, st) in city.streets.iter().enumerate() {
        let (c, u) = base_stamp(&mut rng);
        s.int(k as i64 + 1)
            .text(&st.name)
            .text(&st.name_en)
            .text(st.class.as_str())
            .geom(|b| g::multilinestring(b, &st.lines))
            .ts(c)
            .ts(u);
        s.end_row()?;
    }
    s.end()
}

pub fn addresses(s: &mut Sink, city: &City, seed: u64) -> GenResult {
    let mut rng = stream(seed, 105);
    s.begin(
        "addresses",
        "id, street_id, street, housenumber, postcode, geom, created_at, updated_at",
    )?;
    for (k, a) in city.addresses.iter().enumerate() {
        let (c, u) = base_stamp(&mut rng);
        s.int(k as i64 + 1)
            .int(a.street as i64 + 1)
            .text(&city.streets[a.street].name)
            .text(&a.number)
            .text(&a.postcode.to_string())
            .geom(|b| g::point(b, a.p))
            .ts(c)
            .ts(u);
        s.end_row()?;
    }
    s.end()
}

pub fn buildings(s: &mut Sink, city: &City, seed: u64) -> GenResult {
    let mut rng = stream(seed, 106);
    s.begin(
        "buildings",
        "id, address_id, address, levels, use, year_built, geom, created_at, updated_at",
    )?;
    for (k, b) in city.buildings.iter().enumerate() {
        let (c, u) = base_stamp(&mut rng);
        let a = &city.addresses[b.address];
        let quad: &[P] = &b.quad;
        s.int(k as i64 + 1)
            .int(b.address as i64 + 1)
            .text(&a.text(city))
            .int(b.levels)
            .text(b.use_)
            .int(b.year)
            .geom(|buf| g::multipolygon(buf, &[quad]))
            .ts(c)
            .ts(u);
        s.end_row()?;
    }
    s.end()
}
