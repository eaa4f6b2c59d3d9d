//! Land plots: attributes by land use, leases, and the deliberate quality
//! faults (overlapping plots, declared area off by more than 5 %).

use super::city::{City, Facility, Use};
use super::copy::{Cancelled, Sink};
use super::geometry::{self as g, P};
use super::names::company;
use super::orgs::{Orgs, id as org};
use super::rent::{RentSubject, Subject};
use super::util::{Rng8, TODAY, date_between, days, pick, stamps, stream, weighted, ymd};
use chrono::NaiveDate;
use rand::Rng;
use rand::seq::SliceRandom;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Own {
    State,
    Communal,
    Private,
    Unknown,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Free,
    Offered,
    Leased,
    InUse,
    Privatized,
}

/// What the other layers need to know about the plots.
pub struct LandInfo {
    /// Leased plots, for accruals and payments.
    pub rent: Vec<RentSubject>,
    /// Declared area (ha) per plot, indexed like `City::plots`.
    pub declared_ha: Vec<f64>,
}

pub fn land_plots(s: &mut Sink, city: &City, orgs: &Orgs, seed: u64) -> Result<LandInfo, Cancelled> {
    let mut rng = stream(seed, 300);
    s.begin(
        "land_plots",
        "id, cadastral_number, area_ha, purpose_code, ownership, use_status, price_zone, normative_value_uah, \
         user_name, user_edrpou, lease_contract_number, lease_start, lease_end, annual_rent_uah, registered_at, \
         address, geom, created_at, updated_at",
    )?;
    let n = city.plots.len();
    // Deliberate faults, chosen up front in a fixed order.
    let n_overlap = ((6.0 * city.scale).round() as usize).max(2);
    let n_area = ((8.0 * city.scale).round() as usize).max(2);
    let mut candidates: Vec<usize> = (0..n.saturating_sub(1))
        .filter(|&p| {
            let (a, b) = (&city.plots[p], &city.plots[p + 1]);
            a.block == b.block && a.row == b.row && a.kind == Use::House && a.facility.is_none()
        })
        .collect();
    candidates.shuffle(&mut rng);
    let mut enlarged: BTreeSet<usize> = BTreeSet::new();
    for c in candidates {
        // Neighbours of an enlarged plot stay untouched so each fault is a clean pair.
        if enlarged.range(c.saturating_sub(2)..=c + 2).next().is_none() {
            enlarged.insert(c);
        }
        if enlarged.len() == n_overlap {
            break;
        }
    }
    let mut shuffled: Vec<usize> = (0..n).filter(|p| !enlarged.contains(p)).collect();
    shuffled.shuffle(&mut rng);
    let wrong_area: BTreeSet<usize> = shuffled.into_iter().take(n_area).collect();

    let af = g::area_factor();
    let mut rent = Vec::new();
    let mut declared_ha = Vec::with_capacity(n);
    let mut contract_seq: BTreeMap<i32, u32> = BTreeMap::new();
    let coop_names: Vec<String> = (0..40).map(|k| format!("ГК «{}»", garage_name(k))).collect();
    for (pi, plot) in city.plots.iter().enumerate() {
        let id = pi as i64 + 1;
        let ring: Vec<P> = if enlarged.contains(&pi) {
            enlarge(&plot.ring, &city.plots[pi + 1].ring, plot.row == 1)
        } else {
            plot.ring.clone()
        };
        let true_ha = g::area(&ring) * af / 10_000.0;
        let mut ha = true_ha;
        if wrong_area.contains(&pi) {
            ha *= if rng.gen_bool(0.5) {
                rng.gen_range(1.07..1.3)
            } else {
                rng.gen_range(0.72..0.93)
            };
        }
        let ha_units = ((ha * 10_000.0).round() as i64).max(1); // numeric(14,4)
        declared_ha.push(ha_units as f64 / 10_000.0);
        let c = g::centroid(&plot.ring);
        let zone = city.price_zone_of(c);
        let base = city.price_values[zone];
        let normative = (ha_units as f64 / 10_000.0 * 10_000.0 * base as f64).round() as i64;

        let (purpose, own, status) = classify(&mut rng, plot.kind, plot.facility);
        let mut user: Option<String> = None;
        let mut user_code: Option<String> = None;
        let mut lease: Option<(String, NaiveDate, NaiveDate, i64)> = None;
        match status {
            Status::Leased => {
                // Land lessees are legal entities (8-digit EDRPOU).
                let name = if plot.kind == Use::Garage {
                    pick(&mut rng, &coop_names).clone()
                } else {
                    company(&mut rng)
                };
                let code = super::util::edrpou(&mut rng);
                let start = date_between(&mut rng, ymd(2006, 1, 1), TODAY - days(20));
                let years = *weighted(&mut rng, &[(5, 0.3), (10, 0.35), (15, 0.1), (25, 0.15), (49, 0.1)]);
                let mut end = start + days(365 * years - 1);
                // A few leases ran out and were not renewed (still marked leased).
                if end < TODAY && rng.gen_bool(0.75) {
                    end = start + days(365 * (years + 10) - 1);
                }
                let rate = rng.gen_range(0.03..0.12);
                let annual = (normative as f64 * rate).round() as i64;
                let seq = contract_seq.entry(chrono::Datelike::year(&start)).or_insert(0);
                *seq += 1;
                let contract = format!("ДОЗ-{}/{:04}", chrono::Datelike::year(&start), seq);
                user = Some(name);
                user_code = Some(code);
                lease = Some((contract, start, end, annual));
                rent.push(RentSubject {
                    subject: Subject::Land(id),
                    start,
                    end,
                    monthly_cents: annual / 12,
                    seed: rng.r#gen(),
                });
            }
            Status::InUse if own != Own::Private => {
                let holder = match plot.facility {
                    Some(Facility::School | Facility::Kindergarten) => org::EDUCATION,
                    Some(Facility::Hospital) => org::HEALTH,
                    Some(Facility::Culture) => org::CULTURE,
                    Some(Facility::Sport) => org::SPORT,
                    Some(_) => org::EXECUTIVE,
                    None => match plot.kind {
                        Use::Park => org::GREEN,
                        Use::Apartment => usize::MAX,
                        Use::Industrial => *pick(&mut rng, &[org::WATER, org::HEAT, org::TRANSPORT, org::ROADS]),
                        Use::Commercial => org::MARKETS,
                        _ => *pick(&mut rng, &[org::EXECUTIVE, org::SOCIAL, org::HOUSING]),
                    },
                };
                if holder == usize::MAX {
                    // Apartment blocks are used by their co-owners' association.
                    user = Some(format!("ОСББ «{}»", osbb_name(&mut rng)));
                    user_code = Some(super::util::edrpou(&mut rng));
                } else if plot.kind != Use::House {
                    let o = orgs.get(holder);
                    user = Some(o.name.to_string());
                    user_code = Some(o.edrpou.clone());
                }
            }
            _ => {}
        }
        let registered = if own == Own::Unknown && rng.gen_bool(0.6) {
            None
        } else {
            let latest = lease.as_ref().map(|l| l.1).unwrap_or(TODAY - days(1));
            Some(date_between(&mut rng, ymd(2004, 1, 1), latest.max(ymd(2004, 2, 1))))
        };
        let address = plot
            .building
            .map(|b| city.addresses[city.buildings[b].address].text(city));
        let (created, updated) = stamps(&mut rng);

        s.int(id)
            .text(&plot.cadastral)
            .fixed(ha_units, 4)
            .text(purpose)
            .text(match own {
                Own::State => "state",
                Own::Communal => "communal",
                Own::Private => "private",
                Own::Unknown => "unknown",
            })
            .text(match status {
                Status::Free => "free",
                Status::Offered => "offered_for_building",
                Status::Leased => "leased",
                Status::InUse => "in_use",
                Status::Privatized => "privatized",
            })
            .int(zone as i64 + 1)
            .money(normative)
            .opt_text(user.as_deref())
            .opt_text(user_code.as_deref());
        match &lease {
            Some((contract, start, end, annual)) => {
                s.text(contract).date(*start).date(*end).money(*annual);
            }
            None => {
                s.null().null().null().null();
            }
        }
        s.opt_date(registered)
            .opt_text(address.as_deref())
            .geom(|b| g::multipolygon(b, &[&ring]))
            .ts(created)
            .ts(updated);
        s.end_row()?;
    }
    s.end()?;
    Ok(LandInfo { rent, declared_ha })
}

/// Push the plot's street-side corner 40 % into its right-hand neighbour: a
/// valid polygon overlapping the neighbour (a typical survey error). Only the
/// corner on the block edge moves, so the plots of the other row stay clear.
fn enlarge(ring: &[P], next: &[P], top_row: bool) -> Vec<P> {
    let m = ring.len() / 2 - 1; // bottom vertices are 0..=m, top ones m+1..
    let mut out = ring.to_vec();
    let nl = next.len();
    if nl >= 4 && ring.len() >= 4 {
        if top_row {
            out[m + 1] = ring[m + 1].lerp(next[nl - 2], 0.4);
        } else {
            out[m] = ring[m].lerp(next[1], 0.4);
        }
    }
    out
}

fn classify(rng: &mut Rng8, kind: Use, facility: Option<Facility>) -> (&'static str, Own, Status) {
    use Own::*;
    use Status::*;
    if let Some(f) = facility {
        let purpose = match f {
            Facility::School | Facility::Kindergarten => "03.02",
            Facility::Hospital => "03.03",
            Facility::Administrative => "03.01",
            Facility::Sport => "07.02",
            Facility::Culture | Facility::Other => "03.15",
        };
        return (purpose, Communal, InUse);
    }
    let communal = |rng: &mut Rng8, table: &[(Status, f64)]| (Communal, *weighted(rng, table));
    match kind {
        Use::House => {
            let purpose = *weighted(rng, &[("02.01", 0.93), ("01.05", 0.04), ("02.07", 0.03)]);
            let (o, s) = match rng.gen_range(0..100) {
                0..78 => (Private, Privatized),
                78..95 => communal(rng, &[(Leased, 0.35), (InUse, 0.4), (Free, 0.25)]),
                _ => (Unknown, InUse),
            };
            (purpose, o, s)
        }
        Use::Apartment => {
            let (o, s) = match rng.gen_range(0..100) {
                0..82 => communal(rng, &[(InUse, 0.78), (Leased, 0.14), (Free, 0.08)]),
                82..94 => (Private, Privatized),
                _ => (State, InUse),
            };
            ("02.03", o, s)
        }
        Use::Public => {
            let purpose = *weighted(
                rng,
                &[
                    ("03.02", 0.3),
                    ("03.03", 0.15),
                    ("03.01", 0.15),
                    ("03.15", 0.25),
                    ("07.02", 0.1),
                    ("08.01", 0.05),
                ],
            );
            let (o, s) = if rng.gen_bool(0.8) {
                communal(rng, &[(InUse, 0.85), (Leased, 0.15)])
            } else {
                (State, InUse)
            };
            (purpose, o, s)
        }
        Use::Commercial => {
            let purpose = *weighted(
                rng,
                &[
                    ("03.07", 0.45),
                    ("03.08", 0.2),
                    ("03.10", 0.1),
                    ("03.15", 0.15),
                    ("12.04", 0.1),
                ],
            );
            let (o, s) = if rng.gen_bool(0.6) {
                communal(rng, &[(Leased, 0.7), (Free, 0.12), (Offered, 0.1), (InUse, 0.08)])
            } else {
                (Private, Privatized)
            };
            (purpose, o, s)
        }
        Use::Industrial => {
            let purpose = *weighted(
                rng,
                &[
                    ("11.02", 0.55),
                    ("11.04", 0.2),
                    ("14.02", 0.1),
                    ("13.01", 0.05),
                    ("12.04", 0.1),
                ],
            );
            let (o, s) = match rng.gen_range(0..100) {
                0..45 => (Private, Privatized),
                45..80 => communal(rng, &[(Leased, 0.7), (Free, 0.2), (Offered, 0.1)]),
                _ => (State, *weighted(rng, &[(InUse, 0.6), (Leased, 0.4)])),
            };
            (purpose, o, s)
        }
        Use::Garage => {
            if rng.gen_bool(0.65) {
                ("02.05", Communal, Leased)
            } else {
                ("02.05", Private, Privatized)
            }
        }
        Use::Park => (*weighted(rng, &[("07.08", 0.8), ("06.02", 0.2)]), Communal, InUse),
        Use::Vacant => (
            *weighted(rng, &[("16.00", 0.5), ("11.02", 0.3), ("02.07", 0.2)]),
            Communal,
            *weighted(rng, &[(Offered, 0.6), (Free, 0.4)]),
        ),
        Use::Brownfield => ("11.02", Communal, *weighted(rng, &[(Offered, 0.5), (Free, 0.5)])),
    }
}

fn garage_name(k: usize) -> String {
    const W: &[&str] = &[
        "Автомобіліст",
        "Мотор",
        "Жигулі",
        "Полісся",
        "Схід",
        "Захід",
        "Гараж",
        "Колесо",
        "Дорога",
        "Водій",
    ];
    format!("{}-{}", W[k % W.len()], k / W.len() + 1)
}

fn osbb_name(rng: &mut Rng8) -> String {
    const W: &[&str] = &[
        "Затишок",
        "Наш дім",
        "Злагода",
        "Світанок",
        "Комфорт",
        "Надія",
        "Каштан",
        "Добробут",
        "Оберіг",
        "Родина",
    ];
    format!("{} {}", pick(rng, W), rng.gen_range(1..60))
}
