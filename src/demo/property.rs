//! Communal property (municipal buildings, premises, structures) and the
//! leases of it.

use super::city::{City, Facility, Use};
use super::copy::{Cancelled, Sink};
use super::geometry::{self as g, P};
use super::names::{company, sole_proprietor};
use super::orgs::{Orgs, id as org};
use super::rent::{RentSubject, Subject};
use super::util::{TODAY, cents, date_between, days, edrpou, pick, rnokpp, stamps, stream, weighted, ymd};
use chrono::{Datelike, NaiveDate};
use rand::Rng;
use rand::seq::SliceRandom;
use std::collections::BTreeMap;

/// A municipal building with metered energy use (also an energy object).
pub struct FacilityInfo {
    pub plot: usize,
    pub kind: Facility,
    pub name: String,
    pub holder: usize,
}

pub enum PropGeom {
    Footprint([P; 4]),
    Point(P),
}

pub struct PropObj {
    pub id: i64,
    pub kind: &'static str,
    pub name: String,
    pub address: String,
    pub area_m2: f64,
    pub use_status: &'static str,
    pub geom: PropGeom,
    pub plot: Option<usize>,
    pub holder: usize,
}

pub fn facilities(city: &City) -> Vec<FacilityInfo> {
    let mut counters: BTreeMap<&'static str, u32> = BTreeMap::new();
    let mut next = |key: &'static str| {
        let c = counters.entry(key).or_insert(0);
        *c += 1;
        *c
    };
    const CULTURE: &[&str] = &["Полісся", "Древляни", "Світанок", "Тетерів", "Мрія", "Оріон"];
    let mut out = Vec::new();
    for (pi, p) in city.plots.iter().enumerate() {
        let Some(kind) = p.facility else { continue };
        let (name, holder) = match kind {
            Facility::School => {
                let k = next("school");
                if k % 3 == 0 {
                    (format!("Житомирська гімназія № {}", next("gym")), org::EDUCATION)
                } else {
                    (format!("Житомирський ліцей № {}", next("lyceum")), org::EDUCATION)
                }
            }
            Facility::Kindergarten => (format!("Заклад дошкільної освіти № {}", next("zdo")), org::EDUCATION),
            Facility::Hospital => match next("hosp") % 3 {
                1 => (format!("КНП «Міська лікарня № {}»", next("hosp1")), org::HEALTH),
                2 => (
                    format!("КНП «Центр первинної медико-санітарної допомоги № {}»", next("hosp2")),
                    org::HEALTH,
                ),
                _ => (format!("КНП «Міська дитяча лікарня № {}»", next("hosp3")), org::HEALTH),
            },
            Facility::Administrative => match next("adm") % 2 {
                1 => (
                    format!("Адміністративна будівля виконавчого комітету № {}", next("adm1")),
                    org::EXECUTIVE,
                ),
                _ => (
                    format!("Центр надання адміністративних послуг, філія № {}", next("adm2")),
                    org::EXECUTIVE,
                ),
            },
            Facility::Culture => match next("cult") % 3 {
                1 => (format!("Бібліотека-філія № {}", next("lib")), org::CULTURE),
                2 => (format!("Дитяча школа мистецтв № {}", next("art")), org::CULTURE),
                _ => {
                    let k = next("house");
                    let w = CULTURE[(k as usize - 1) % CULTURE.len()];
                    (format!("Будинок культури «{w}» № {k}"), org::CULTURE)
                }
            },
            Facility::Sport => match next("sport") % 2 {
                1 => (
                    format!("Дитячо-юнацька спортивна школа № {}", next("dyussh")),
                    org::SPORT,
                ),
                _ => (format!("Спортивний комплекс № {}", next("sk")), org::SPORT),
            },
            Facility::Other => match next("other") % 2 {
                1 => (
                    format!("Територіальний центр соціального обслуговування № {}", next("tc")),
                    org::SOCIAL,
                ),
                _ => (format!("Інклюзивно-ресурсний центр № {}", next("irc")), org::EDUCATION),
            },
        };
        out.push(FacilityInfo {
            plot: pi,
            kind,
            name,
            holder,
        });
    }
    out
}

const STRUCTURES: &[(&str, usize)] = &[
    ("Котельня", org::HEAT),
    ("Центральний тепловий пункт", org::HEAT),
    ("Каналізаційна насосна станція", org::WATER),
    ("Водопровідна насосна станція", org::WATER),
    ("Зупинковий комплекс", org::TRANSPORT),
    ("Тягова підстанція", org::TRANSPORT),
    ("Фонтан", org::GREEN),
    ("Пам'ятний знак", org::CULTURE),
    ("Громадська вбиральня", org::HOUSING),
    ("Шафа керування вуличним освітленням", org::LIGHT),
];

const OLD_BUILDINGS: &[&str] = &[
    "Нежитлова будівля (колишній магазин)",
    "Адміністративна будівля",
    "Будівля колишнього кінотеатру",
    "Нежитлова будівля (колишня їдальня)",
    "Будівля колишнього дитячого садка",
    "Нежитлова будівля (майстерні)",
    "Будівля колишньої лазні",
    "Складська будівля",
];

pub fn communal_property(
    s: &mut Sink,
    city: &City,
    orgs: &Orgs,
    facilities: &[FacilityInfo],
    seed: u64,
) -> Result<Vec<PropObj>, Cancelled> {
    let mut rng = stream(seed, 400);
    let sc = city.scale;
    let mut objs: Vec<PropObj> = Vec::new();
    let building_area = |b: usize| g::area(&city.buildings[b].quad) * city.buildings[b].levels as f64 * 0.85;

    for f in facilities {
        let plot = &city.plots[f.plot];
        let Some(b) = plot.building else { continue };
        let status = if rng.gen_bool(0.08) {
            "under_repair"
        } else {
            "holder_use"
        };
        objs.push(PropObj {
            id: 0,
            kind: "building",
            name: f.name.clone(),
            address: city.addresses[city.buildings[b].address].text(city),
            area_m2: building_area(b),
            use_status: status,
            geom: PropGeom::Footprint(city.buildings[b].quad),
            plot: Some(f.plot),
            holder: f.holder,
        });
    }
    // Other municipal buildings: the ones leased out, vacant or for sale.
    let mut cands: Vec<usize> = (0..city.plots.len())
        .filter(|&p| {
            let pl = &city.plots[p];
            pl.facility.is_none() && pl.building.is_some() && matches!(pl.kind, Use::Public | Use::Commercial)
        })
        .collect();
    cands.shuffle(&mut rng);
    let n_bld = ((70.0 * sc).round() as usize).max(6);
    for &p in cands.iter().take(n_bld) {
        let Some(b) = city.plots[p].building else { continue };
        let status = *weighted(
            &mut rng,
            &[
                ("leased", 0.35),
                ("vacant", 0.22),
                ("holder_use", 0.23),
                ("under_repair", 0.08),
                ("for_privatization", 0.07),
                ("privatized", 0.05),
            ],
        );
        objs.push(PropObj {
            id: 0,
            kind: "building",
            name: pick(&mut rng, OLD_BUILDINGS).to_string(),
            address: city.addresses[city.buildings[b].address].text(city),
            area_m2: building_area(b),
            use_status: status,
            geom: PropGeom::Footprint(city.buildings[b].quad),
            plot: Some(p),
            holder: *pick(&mut rng, &[org::PROPERTY, org::PROPERTY, org::EXECUTIVE, org::MARKETS]),
        });
    }
    // Non-residential premises on the ground floors of apartment blocks.
    let mut flats: Vec<usize> = (0..city.buildings.len())
        .filter(|&b| city.buildings[b].use_ == "apartments")
        .collect();
    flats.shuffle(&mut rng);
    let n_prem = ((330.0 * sc).round() as usize).max(12);
    for &b in flats.iter().take(n_prem) {
        let a = &city.addresses[city.buildings[b].address];
        let status = *weighted(
            &mut rng,
            &[
                ("leased", 0.45),
                ("vacant", 0.22),
                ("holder_use", 0.12),
                ("for_privatization", 0.08),
                ("privatized", 0.08),
                ("under_repair", 0.05),
            ],
        );
        let basement = rng.gen_bool(0.2);
        objs.push(PropObj {
            id: 0,
            kind: "premises",
            name: if basement {
                "Нежитлове приміщення (підвал)".into()
            } else {
                "Нежитлове приміщення".into()
            },
            address: format!("{}, прим. {}", a.text(city), rng.gen_range(1..120)),
            area_m2: rng.gen_range(18.0..450.0),
            use_status: status,
            geom: PropGeom::Point(a.p),
            plot: Some(city.buildings[b].plot),
            holder: org::PROPERTY,
        });
    }
    // Engineering structures beside streets.
    let n_str = ((60.0 * sc).round() as usize).max(5);
    for _ in 0..n_str {
        let st = &city.streets[rng.gen_range(0..city.streets.len())];
        let line = pick(&mut rng, &st.lines);
        let len = g::length(line);
        let (p, dir) = g::along(line, rng.gen_range(0.0..len.max(1.0)));
        let side = if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
        let pt = p.add(dir.unit().left().mul(side * (st.half_width - 2.0).max(1.0)));
        let (name, holder) = *pick(&mut rng, STRUCTURES);
        let status = *weighted(&mut rng, &[("holder_use", 0.8), ("under_repair", 0.1), ("vacant", 0.1)]);
        objs.push(PropObj {
            id: 0,
            kind: "structure",
            name: name.to_string(),
            address: st.name.clone(),
            area_m2: rng.gen_range(4.0..180.0),
            use_status: status,
            geom: PropGeom::Point(pt),
            plot: None,
            holder,
        });
    }

    s.begin(
        "communal_property",
        "id, inventory_number, name, kind, address, area_m2, floors, year_built, balance_holder_name, \
         balance_holder_edrpou, use_status, condition, geom, created_at, updated_at",
    )?;
    for (k, o) in objs.iter_mut().enumerate() {
        o.id = k as i64 + 1;
        let holder = orgs.get(o.holder);
        let (floors, year) = match (&o.geom, o.plot.and_then(|p| city.plots[p].building)) {
            (PropGeom::Footprint(_), Some(b)) => (Some(city.buildings[b].levels), Some(city.buildings[b].year)),
            (PropGeom::Point(_), Some(b)) => (
                Some(if o.name.contains("підвал") { 0 } else { 1 }),
                Some(city.buildings[b].year),
            ),
            _ => (None, Some(rng.gen_range(1960..=2020))),
        };
        let condition = match o.use_status {
            "vacant" | "for_privatization" => {
                *weighted(&mut rng, &[("satisfactory", 0.35), ("poor", 0.45), ("emergency", 0.2)])
            }
            "under_repair" => *weighted(&mut rng, &[("poor", 0.6), ("emergency", 0.4)]),
            _ => *weighted(
                &mut rng,
                &[
                    ("good", 0.4),
                    ("satisfactory", 0.45),
                    ("poor", 0.12),
                    ("emergency", 0.03),
                ],
            ),
        };
        let (c, u) = stamps(&mut rng);
        s.int(o.id)
            .text(&format!("1013{:02}{:06}", o.holder, o.id))
            .text(&o.name)
            .text(o.kind)
            .text(&o.address)
            .fixed((o.area_m2 * 10.0).round() as i64, 1)
            .opt_int(floors)
            .opt_int(year)
            .text(holder.name)
            .text(&holder.edrpou)
            .text(o.use_status)
            .text(condition);
        match &o.geom {
            PropGeom::Footprint(q) => s.geom(|b| g::polygon(b, q)),
            PropGeom::Point(p) => s.geom(|b| g::point(b, *p)),
        };
        s.ts(c).ts(u);
        s.end_row()?;
    }
    s.end()?;
    Ok(objs)
}

const NGOS: &[&str] = &[
    "ГО «Ветерани війни Житомирщини»",
    "ГО «Громадська ініціатива Полісся»",
    "ГО «Шаховий клуб «Гамбіт»»",
    "ГО «Спілка пенсіонерів міста»",
    "ГО «Молодь Житомира»",
    "БФ «Допомога поруч»",
    "ГО «Клуб туристів «Тетерів»»",
    "ГО «Товариство захисту тварин»",
];

const STATE_BODIES: &[&str] = &[
    "ГУ Пенсійного фонду України в Житомирській області",
    "Житомирське районне управління поліції ГУНП в Житомирській області",
    "ГУ ДПС у Житомирській області",
    "Житомирський міськрайонний центр зайнятості",
    "Управління ДМС у Житомирській області",
];

const BUDGET_INSTITUTIONS: &[&str] = &[
    "КНП «Обласний центр екстреної медичної допомоги»",
    "КУ «Центр професійного розвитку педагогічних працівників»",
    "КУ «Трудовий архів міста»",
    "Житомирський обласний центр зайнятості молоді",
    "КЗ «Обласна бібліотека для дітей»",
];

pub fn leases(s: &mut Sink, objs: &[PropObj], seed: u64) -> Result<Vec<RentSubject>, Cancelled> {
    let mut rng = stream(seed, 401);
    s.begin(
        "leases",
        "id, property_id, tenant_name, tenant_edrpou, tenant_category, contract_number, start_date, end_date, \
         leased_area_m2, monthly_rent_uah, prozorro_sale_id, created_at, updated_at",
    )?;
    let mut rent = Vec::new();
    let mut id = 0i64;
    let mut seq: BTreeMap<i32, u32> = BTreeMap::new();
    for o in objs {
        // (start, end) of the contracts on this object, oldest first.
        let mut terms: Vec<(NaiveDate, NaiveDate)> = Vec::new();
        let partial = o.use_status == "holder_use" && rng.gen_bool(0.08);
        if o.use_status == "leased" || partial {
            let start = date_between(&mut rng, ymd(2019, 6, 1), TODAY - days(30));
            let years = rng.gen_range(2..=5);
            let mut end = start + days(365 * years - 1);
            if end < TODAY + days(30) {
                end = TODAY + days(rng.gen_range(60..900));
            }
            if rng.gen_bool(0.4) {
                let pend = start - days(rng.gen_range(1..60));
                terms.push((pend - days(365 * rng.gen_range(2..=5)), pend));
            }
            terms.push((start, end));
        } else if o.use_status == "vacant" && rng.gen_bool(0.3) {
            let end = date_between(&mut rng, ymd(2023, 1, 1), TODAY - days(40));
            terms.push((end - days(365 * rng.gen_range(2..=5)), end));
        }
        for (start, end) in terms {
            id += 1;
            let cat = *weighted(
                &mut rng,
                &[
                    ("business", 0.55),
                    ("ngo", 0.12),
                    ("state_body", 0.07),
                    ("budget_institution", 0.14),
                    ("individual", 0.12),
                ],
            );
            let (name, code) = match cat {
                "business" => (company(&mut rng), edrpou(&mut rng)),
                "ngo" => (pick(&mut rng, NGOS).to_string(), edrpou(&mut rng)),
                "state_body" => (pick(&mut rng, STATE_BODIES).to_string(), edrpou(&mut rng)),
                "budget_institution" => (pick(&mut rng, BUDGET_INSTITUTIONS).to_string(), edrpou(&mut rng)),
                _ => (sole_proprietor(&mut rng), rnokpp(&mut rng)),
            };
            let area = if partial || o.kind == "building" && rng.gen_bool(0.6) {
                (o.area_m2 * rng.gen_range(0.05..0.5)).max(8.0)
            } else {
                o.area_m2
            };
            // Budget institutions and state bodies pay the symbolic 1 UAH a year.
            let monthly = match cat {
                "business" | "individual" => cents(area * rng.gen_range(60.0..260.0)),
                "ngo" => cents(area * rng.gen_range(5.0..25.0)),
                _ => 8,
            };
            let n = seq.entry(start.year()).or_insert(0);
            *n += 1;
            let contract = format!("{}/{:02}-ОР", n, start.year() % 100);
            let prozorro = if matches!(cat, "business" | "individual") && start >= ymd(2020, 2, 1) && rng.gen_bool(0.75)
            {
                let d = start - days(rng.gen_range(20..60));
                Some(format!(
                    "UA-PS-{}-{:06}-{}",
                    d.format("%Y-%m-%d"),
                    rng.gen_range(1..999_999),
                    rng.gen_range(1..4)
                ))
            } else {
                None
            };
            let created = super::util::office_time(&mut rng, start.min(TODAY - days(1)));
            let updated = if end < TODAY {
                super::util::office_time(&mut rng, end)
            } else {
                created
            };
            s.int(id)
                .int(o.id)
                .text(&name)
                .text(&code)
                .text(cat)
                .text(&contract)
                .date(start)
                .date(end)
                .fixed((area * 10.0).round() as i64, 1)
                .money(monthly)
                .opt_text(prozorro.as_deref())
                .ts(created)
                .ts(updated.max(created));
            s.end_row()?;
            rent.push(RentSubject {
                subject: Subject::Lease(id),
                start,
                end,
                monthly_cents: monthly,
                seed: rng.r#gen(),
            });
        }
    }
    s.end()?;
    Ok(rent)
}

pub fn is_vacant_building(o: &PropObj) -> bool {
    o.kind == "building" && o.use_status == "vacant"
}
