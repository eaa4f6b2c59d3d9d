//! Things placed along streets: advertising structures (with deliberate rule
//! violations) and temporary structures (kiosks, pavilions).

use super::city::{City, Class};
use super::copy::{Cancelled, Sink};
use super::geometry::{self as g, P};
use super::names::sole_proprietor;
use super::util::{Rng8, TODAY, date_between, days, edrpou, pick, pick_str, rnokpp, stamps, stream, weighted, ymd};
use chrono::{Datelike, NaiveDate};
use rand::Rng;

/// A located object other layers (appeals) can refer to.
pub struct Located {
    pub id: i64,
    pub p: P,
    pub street: usize,
}

/// Picks points along streets in proportion to their length, only on
/// segments well inside the city (so things placed beside them stay inside).
pub struct Along {
    segs: Vec<(usize, P, P, f64)>,
    total: f64,
}

impl Along {
    pub fn new(city: &City, keep: impl Fn(Class) -> bool) -> Along {
        let mut segs = Vec::new();
        let mut total = 0.0;
        let inner = |p: P| city.outline.frac(p) <= 0.95;
        for (si, st) in city.streets.iter().enumerate() {
            if !keep(st.class) {
                continue;
            }
            for l in &st.lines {
                for w in l.windows(2) {
                    if inner(w[0]) && inner(w[1]) && inner(w[0].lerp(w[1], 0.5)) {
                        total += w[0].dist(w[1]);
                        segs.push((si, w[0], w[1], total));
                    }
                }
            }
        }
        Along { segs, total }
    }

    /// (street, point on the centre line, direction); None when no street
    /// qualifies (only in degenerate layouts).
    pub fn sample(&self, rng: &mut Rng8) -> Option<(usize, P, P)> {
        if self.segs.is_empty() {
            return None;
        }
        let x = rng.gen_range(0.0..self.total.max(1e-9));
        let k = self.segs.partition_point(|s| s.3 < x).min(self.segs.len() - 1);
        let (si, a, b, cum) = self.segs[k];
        let len = a.dist(b);
        let t = if len > 0.0 {
            ((len - (cum - x)) / len).clamp(0.0, 1.0)
        } else {
            0.0
        };
        Some((si, a.lerp(b, t), b.sub(a)))
    }
}

const AD_BRANDS: &[&str] = &[
    "Бігборд Медіа",
    "Сіті-Лайт Груп",
    "Полісся Медіа",
    "Аутдор-Житомир",
    "Рекламний двір",
    "Медіаплюс",
    "Арт-Реклама",
    "Вектор Медіа",
    "Відеоборд",
    "Зовнішня реклама Полісся",
    "Простір",
    "Меридіан-Реклама",
];

struct Ad {
    kind: &'static str,
    p: P,
    street: usize,
}

pub fn ad_structures(s: &mut Sink, city: &City, seed: u64) -> Result<Vec<Located>, Cancelled> {
    let mut rng = stream(seed, 600);
    let distributors: Vec<(String, String)> = AD_BRANDS
        .iter()
        .map(|b| (format!("ТОВ «{b}»"), edrpou(&mut rng)))
        .collect();
    let along = Along::new(city, Class::is_main);
    let n = ((400.0 * city.scale).round() as usize).max(20);
    let mut ads: Vec<Ad> = Vec::with_capacity(n + 16);
    for _ in 0..n {
        let Some((street, p, dir)) = along.sample(&mut rng) else {
            break;
        };
        let hw = city.streets[street].half_width;
        let side = if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
        let kind = *weighted(
            &mut rng,
            &[
                ("billboard", 0.35),
                ("citylight", 0.3),
                ("scroll", 0.08),
                ("banner", 0.07),
                ("roof", 0.03),
                ("sign", 0.12),
                ("other", 0.05),
            ],
        );
        ads.push(Ad {
            kind,
            p: p.add(dir.unit().left().mul(side * rng.gen_range(6.0..hw - 1.0))),
            street,
        });
    }
    // Deliberate violations of the minimum distance: a second structure of
    // the same type 15–40 m further along the street.
    let pairs = ((6.0 * city.scale).round() as usize).max(2);
    let mut twins = Vec::new();
    for k in 0..pairs.min(ads.len()) {
        let a = &ads[k * (ads.len() / pairs).max(1)];
        let ang = rng.gen_range(0.0..std::f64::consts::TAU);
        twins.push(Ad {
            kind: a.kind,
            p: a.p.add(P::polar(rng.gen_range(15.0..40.0), ang)),
            street: a.street,
        });
    }
    ads.extend(twins);

    s.begin(
        "ad_structures",
        "id, permit_number, distributor_name, distributor_edrpou, type, planes, width_m, height_m, area_m2, lighting, \
         permit_issued, valid_from, valid_to, status, contract_number, address, photo_url, geom, created_at, updated_at",
    )?;
    let mut out = Vec::with_capacity(ads.len());
    let n_total = ads.len();
    for (k, a) in ads.iter().enumerate() {
        let id = k as i64 + 1;
        let (w, h, planes): (f64, f64, i64) = match a.kind {
            "billboard" => (6.0, 3.0, if rng.gen_bool(0.7) { 2 } else { 1 }),
            "citylight" => (1.2, 1.8, 2),
            "scroll" => (3.2, 2.4, 2),
            "banner" => (
                rng.gen_range(3.0..12.0_f64).round(),
                rng.gen_range(1.0..3.0_f64).round(),
                1,
            ),
            "roof" => (
                rng.gen_range(4.0..20.0_f64).round(),
                rng.gen_range(1.0..3.0_f64).round(),
                1,
            ),
            "sign" => (
                (rng.gen_range(1.0..4.0_f64) * 10.0).round() / 10.0,
                (rng.gen_range(0.5..1.5_f64) * 10.0).round() / 10.0,
                rng.gen_range(1..=2),
            ),
            _ => (
                rng.gen_range(1.0..3.0_f64).round(),
                rng.gen_range(1.0..3.0_f64).round(),
                1,
            ),
        };
        let lighting = matches!(a.kind, "citylight" | "scroll") || rng.gen_bool(0.45);
        // The last twin structures are the unauthorised copies.
        let twin = k >= n_total - pairs.min(n_total);
        let status = if twin {
            "unauthorized"
        } else {
            *weighted(
                &mut rng,
                &[
                    ("permitted", 0.58),
                    ("expired", 0.08),
                    ("applied", 0.05),
                    ("priority", 0.05),
                    ("cancelled", 0.06),
                    ("unauthorized", 0.1),
                    ("dismantled", 0.08),
                ],
            )
        };
        // Some "permitted" structures have a permit that ran out: still standing.
        let stale = status == "permitted" && rng.gen_bool(0.08);
        let (issued, to): (Option<NaiveDate>, Option<NaiveDate>) = match status {
            "permitted" if !stale => {
                let i = date_between(&mut rng, TODAY - days(5 * 365 - 30), TODAY - days(10));
                (Some(i), Some(i + days(5 * 365)))
            }
            "permitted" | "expired" | "cancelled" | "dismantled" => {
                let i = date_between(&mut rng, ymd(2016, 1, 1), TODAY - days(5 * 365 + 20));
                (Some(i), Some(i + days(5 * 365)))
            }
            "priority" => {
                let i = date_between(&mut rng, TODAY - days(150), TODAY - days(5));
                (None, Some(i + days(180)))
            }
            _ => (None, None),
        };
        let permit = issued.map(|d| format!("Р-{}-{:04}", d.year(), rng.gen_range(1..3000)));
        let (dist, code) = if status == "unauthorized" && rng.gen_bool(0.5) {
            ("Невстановлений розповсюджувач".to_string(), None)
        } else {
            let (n, c) = pick(&mut rng, &distributors);
            (n.clone(), Some(c.clone()))
        };
        let contract = if permit.is_some() && rng.gen_bool(0.8) {
            Some(format!("ДР-{:05}", rng.gen_range(1..20_000)))
        } else {
            None
        };
        let (c, u) = stamps(&mut rng);
        s.int(id)
            .opt_text(permit.as_deref())
            .text(&dist)
            .opt_text(code.as_deref())
            .text(a.kind)
            .int(planes)
            .fixed((w * 100.0).round() as i64, 2)
            .fixed((h * 100.0).round() as i64, 2)
            .fixed((w * h * planes as f64 * 100.0).round() as i64, 2)
            .bool(lighting)
            .opt_date(issued)
            .opt_date(issued)
            .opt_date(to)
            .text(status)
            .opt_text(contract.as_deref())
            .text(&city.streets[a.street].name)
            .text(&format!("https://example.org/geoportal-demo/ads/{id:05}.jpg"))
            .geom(|b| g::point(b, a.p))
            .ts(c)
            .ts(u);
        s.end_row()?;
        out.push(Located {
            id,
            p: a.p,
            street: a.street,
        });
    }
    s.end()?;
    Ok(out)
}

const SPECIALIZATIONS: &[&str] = &[
    "продовольчі товари",
    "квіти",
    "кава та напої",
    "преса",
    "хлібобулочні вироби",
    "ремонт взуття",
    "овочі та фрукти",
    "морозиво",
    "мобільний зв'язок",
    "шаурма та фастфуд",
    "аптечні товари",
    "ключі та дрібний ремонт",
];

pub fn temporary_structures(s: &mut Sink, city: &City, seed: u64) -> Result<Vec<Located>, Cancelled> {
    let mut rng = stream(seed, 601);
    let along = Along::new(city, |c| {
        matches!(c, Class::Primary | Class::Secondary | Class::Tertiary)
    });
    let n = ((250.0 * city.scale).round() as usize).max(10);
    s.begin(
        "temporary_structures",
        "id, passport_number, passport_status, issued_at, valid_until, owner_name, owner_edrpou, type, specialization, \
         area_m2, address, status, geom, created_at, updated_at",
    )?;
    let mut out = Vec::with_capacity(n);
    let af = g::area_factor();
    for k in 0..n {
        let id = k as i64 + 1;
        let Some((street, p, dir)) = along.sample(&mut rng) else {
            break;
        };
        let hw = city.streets[street].half_width;
        let kind = *weighted(
            &mut rng,
            &[("kiosk", 0.55), ("pavilion", 0.25), ("seasonal", 0.12), ("other", 0.08)],
        );
        let (len, depth) = match kind {
            "kiosk" => (rng.gen_range(2.5..4.0), rng.gen_range(2.0..2.8)),
            "pavilion" => (rng.gen_range(5.0..8.0), rng.gen_range(3.5..4.5)),
            "seasonal" => (rng.gen_range(3.0..6.0), rng.gen_range(2.0..3.0)),
            _ => (rng.gen_range(1.5..3.0), rng.gen_range(1.5..2.0)),
        };
        let side = if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
        // On the pavement, inside the street corridor.
        let off = (hw - depth / 2.0 - 0.8).max(depth / 2.0 + 0.5);
        let c = p.add(dir.unit().left().mul(side * off));
        let ring = g::rect(c, dir, len / 2.0, depth / 2.0);
        let (status, passport_status) = *weighted(
            &mut rng,
            &[
                (("installed", "issued"), 0.6),
                (("installed", "expired"), 0.12),
                (("unauthorized", "draft"), 0.1),
                (("removed", "cancelled"), 0.1),
                (("planned", "draft"), 0.08),
            ],
        );
        let (number, issued, until) = match passport_status {
            "issued" => {
                let i = date_between(&mut rng, TODAY - days(3 * 365), TODAY - days(5));
                let u = i + days(365 * rng.gen_range(1..=5));
                (Some(i), Some(i), Some(u.max(TODAY + days(10))))
            }
            "expired" | "cancelled" => {
                let i = date_between(&mut rng, ymd(2017, 1, 1), TODAY - days(2 * 365));
                let u = (i + days(365 * rng.gen_range(1..=3))).min(TODAY - days(1));
                (Some(i), Some(i), Some(u.max(i)))
            }
            _ => (None, None, None),
        };
        let number = number.map(|d: NaiveDate| format!("ПП-{}-{:04}", d.year(), rng.gen_range(1..2000)));
        let (owner, code) = if rng.gen_bool(0.6) {
            (sole_proprietor(&mut rng), rnokpp(&mut rng))
        } else {
            (super::names::company(&mut rng), edrpou(&mut rng))
        };
        let (cr, up) = stamps(&mut rng);
        s.int(id)
            .opt_text(number.as_deref())
            .text(passport_status)
            .opt_date(issued)
            .opt_date(until)
            .text(&owner)
            .text(&code)
            .text(kind)
            .text(pick_str(&mut rng, SPECIALIZATIONS))
            .fixed((g::area(&ring) * af * 100.0).round() as i64, 2)
            .text(&city.streets[street].name)
            .text(status)
            .geom(|b| g::polygon(b, &ring))
            .ts(cr)
            .ts(up);
        s.end_row()?;
        out.push(Located { id, p: c, street });
    }
    s.end()?;
    Ok(out)
}
