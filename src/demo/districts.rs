//! Electoral districts (convocation 8, elected 2020) and their deputies.

use super::city::City;
use super::copy::{GenResult, Sink};
use super::geometry as g;
use super::names::{COMMISSIONS, FACTIONS, person};
use super::util::{Rng8, date_between, days, kyiv_to_utc, pick, pick_str, stream, ymd, ymd_const};
use chrono::{NaiveDate, NaiveDateTime};
use rand::Rng;

pub const CONVOCATION: i64 = 8;
pub const TERM_START: NaiveDate = ymd_const(2020, 11, 1);

pub struct DeputyRef {
    pub id: i64,
    pub district: usize,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

fn term_stamp() -> NaiveDateTime {
    kyiv_to_utc(TERM_START.and_time(chrono::NaiveTime::MIN)) + chrono::TimeDelta::hours(10)
}

pub fn electoral_districts(s: &mut Sink, city: &City, seed: u64) -> GenResult {
    let mut rng = stream(seed, 200);
    s.begin(
        "electoral_districts",
        "id, number, name, convocation, valid_from, population, voters, geom, created_at, updated_at",
    )?;
    for (k, ring) in city.electoral.cells(&city.outline).iter().enumerate() {
        let pop = city.district_population[k];
        let voters = (pop as f64 * rng.gen_range(0.76..0.84)).round() as i64;
        let n = k as i64 + 1;
        s.int(n)
            .int(n)
            .text(&format!("Територіальний виборчий округ № {n}"))
            .int(CONVOCATION)
            .date(TERM_START)
            .int(pop)
            .int(voters.min(pop))
            .geom(|b| g::multipolygon(b, &[ring]))
            .ts(term_stamp())
            .ts(term_stamp());
        s.end_row()?;
    }
    s.end()
}

const HOURS: &[&str] = &[
    "Щопонеділка 10:00–12:00",
    "Щовівторка 15:00–17:00",
    "Щосереди 14:00–16:00",
    "Щочетверга 10:00–13:00",
    "Перша та третя п'ятниця місяця 11:00–13:00",
    "Друга субота місяця 10:00–12:00",
];

pub fn deputies(s: &mut Sink, city: &City, seed: u64) -> Result<Vec<DeputyRef>, super::copy::Cancelled> {
    let mut rng = stream(seed, 201);
    s.begin(
        "deputies",
        "id, full_name, faction, commissions, district_id, convocation, reception_address, reception_hours, \
         phone, email, photo_url, valid_from, valid_to, created_at, updated_at",
    )?;
    let nd = city.electoral.len();
    // Reception rooms are in public buildings of the district where possible.
    let mut public_addr: Vec<Vec<usize>> = vec![Vec::new(); nd];
    let mut any_addr: Vec<Vec<usize>> = vec![Vec::new(); nd];
    for (k, a) in city.addresses.iter().enumerate() {
        let d = city.electoral_of(a.p);
        any_addr[d].push(k);
        if city.buildings[a.building].use_ == "public" {
            public_addr[d].push(k);
        }
    }
    let mut out = Vec::new();
    let mut id = 0i64;
    for d in 0..nd {
        let seats = if d % 4 == 3 { 3 } else { 2 };
        for seat in 0..seats {
            // One seat in a few districts changed hands mid-term.
            let replaced = seat == 0 && rng.gen_bool(0.08);
            let terms: Vec<(NaiveDate, Option<NaiveDate>)> = if replaced {
                let left = date_between(&mut rng, ymd(2022, 3, 1), ymd(2025, 6, 1));
                vec![(TERM_START, Some(left)), (left + days(rng.gen_range(20..60)), None)]
            } else {
                vec![(TERM_START, None)]
            };
            for (from, to) in terms {
                id += 1;
                let p = person(&mut rng);
                let faction: Option<&str> = if rng.gen_bool(0.1) {
                    None
                } else {
                    Some(pick_str(&mut rng, FACTIONS))
                };
                let mut comms = vec![*pick(&mut rng, COMMISSIONS)];
                if rng.gen_bool(0.3) {
                    let c2 = *pick(&mut rng, COMMISSIONS);
                    if c2 != comms[0] {
                        comms.push(c2);
                    }
                }
                let list = if public_addr[d].is_empty() {
                    &any_addr[d]
                } else {
                    &public_addr[d]
                };
                let reception = if list.is_empty() {
                    "вулиця Київська, 1 (міська рада)".to_string()
                } else {
                    city.addresses[*pick(&mut rng, list)].text(city)
                };
                let created = kyiv_to_utc(from.and_time(chrono::NaiveTime::MIN)) + chrono::TimeDelta::hours(10);
                let updated = match to {
                    Some(t) => kyiv_to_utc(t.and_time(chrono::NaiveTime::MIN)) + chrono::TimeDelta::hours(11),
                    None => created,
                };
                s.int(id)
                    .text(&p.full())
                    .opt_text(faction)
                    .text_array(&comms)
                    .int(d as i64 + 1)
                    .int(CONVOCATION)
                    .text(&reception)
                    .text(pick_str(&mut rng, HOURS))
                    .text(&super::util::city_phone(&mut rng))
                    .text(&format!("{}@rada.example.org", p.handle()))
                    .text(&format!("https://example.org/geoportal-demo/deputies/{id:03}.jpg"))
                    .date(from)
                    .opt_date(to)
                    .ts(created)
                    .ts(updated);
                s.end_row()?;
                out.push(DeputyRef {
                    id,
                    district: d,
                    valid_from: from,
                    valid_to: to,
                });
            }
        }
    }
    s.end()?;
    Ok(out)
}

/// Deputy of district `d` in office on `day`, if any (deterministic pick).
pub fn deputy_for(deps: &[DeputyRef], d: usize, day: NaiveDate, rng: &mut Rng8) -> Option<i64> {
    let list: Vec<&DeputyRef> = deps
        .iter()
        .filter(|x| x.district == d && x.valid_from <= day && x.valid_to.is_none_or(|t| t >= day))
        .collect();
    if list.is_empty() {
        None
    } else {
        Some(list[rng.gen_range(0..list.len())].id)
    }
}
