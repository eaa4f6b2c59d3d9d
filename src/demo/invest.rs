//! Investment sites (for the English investor map) and the development
//! budget's projects on the map.

use super::city::{City, Class, Use};
use super::copy::{Cancelled, GenResult, Sink};
use super::geometry::{self as g, P};
use super::land::LandInfo;
use super::names::company;
use super::property::{PropObj, is_vacant_building};
use super::util::{TODAY, cents, city_phone, date_between, days, edrpou, pick, stamps, stream, weighted, ymd};
use chrono::NaiveDate;
use rand::Rng;
use rand::seq::SliceRandom;
use serde_json::json;

struct Site {
    plot: usize,
    kind: &'static str,
    ring: Vec<P>,
}

pub fn investment_sites(s: &mut Sink, city: &City, land: &LandInfo, props: &[PropObj], seed: u64) -> GenResult {
    let mut rng = stream(seed, 700);
    let mut sites: Vec<Site> = Vec::new();
    for (k, &p) in city.investment_plots.iter().enumerate() {
        let kind = match city.plots[p].kind {
            Use::Brownfield => "brownfield",
            _ if k % 5 == 4 => "ppp",
            _ => "greenfield",
        };
        sites.push(Site {
            plot: p,
            kind,
            ring: city.plots[p].ring.clone(),
        });
    }
    // Vacant municipal buildings offered with their plot.
    let n_prem = (sites.len() / 3).max(2);
    for o in props.iter().filter(|o| is_vacant_building(o)).take(n_prem) {
        if let Some(p) = o.plot {
            sites.push(Site {
                plot: p,
                kind: "premises",
                ring: city.plots[p].ring.clone(),
            });
        }
    }
    s.begin(
        "investment_sites",
        "id, title_uk, title_en, site_type, area_ha, cadastral_number, ownership, purpose_code, zoning, power_kw, gas, \
         water, sewer, heating, offer_type, price_uah, prozorro_sale_id, contact, status, documents, geom, created_at, \
         updated_at",
    )?;
    for (k, site) in sites.iter().enumerate() {
        let id = k as i64 + 1;
        let plot = &city.plots[site.plot];
        let street = &city.streets[plot.street.min(city.streets.len() - 1)];
        let ha = land.declared_ha[site.plot];
        let (uk, en, purpose, zoning) = match site.kind {
            "greenfield" => (
                format!("Вільна земельна ділянка {:.1} га, {}", ha, street.name),
                format!("Greenfield site {:.1} ha, {}", ha, street.name_en),
                *pick(&mut rng, &["11.02", "16.00", "03.07"]),
                *pick(&mut rng, &["В-2", "В-3", "Г-3", "СВ-1"]),
            ),
            "brownfield" => (
                format!("Колишній промисловий майданчик, {}", street.name),
                format!("Former industrial site, {}", street.name_en),
                "11.02",
                "В-2",
            ),
            "ppp" => (
                format!("Ділянка для проєкту державно-приватного партнерства, {}", street.name),
                format!("Public-private partnership site, {}", street.name_en),
                *pick(&mut rng, &["14.01", "11.04", "07.02"]),
                *pick(&mut rng, &["СП-2", "В-2", "Р-3"]),
            ),
            _ => (
                format!("Нежитлова будівля з ділянкою, {}", street.name),
                format!("Vacant municipal building with plot, {}", street.name_en),
                "03.15",
                "Г-1",
            ),
        };
        let offer = if site.kind == "ppp" {
            "ppp"
        } else {
            *weighted(&mut rng, &[("sale", 0.45), ("lease", 0.55)])
        };
        let base = city.price_values[city.price_zone_of(g::centroid(&site.ring))] as f64 / 100.0;
        let normative = ha * 10_000.0 * base;
        let price = match offer {
            "sale" => Some(cents(normative * rng.gen_range(1.1..1.6))),
            "lease" => Some(cents(normative * rng.gen_range(0.06..0.12))),
            _ => None,
        };
        let status = *weighted(&mut rng, &[("available", 0.65), ("negotiating", 0.25), ("taken", 0.1)]);
        let prozorro = if offer != "ppp" && status != "available" || rng.gen_bool(0.3) {
            let d = date_between(&mut rng, ymd(2025, 1, 1), TODAY - days(10));
            Some(format!(
                "UA-PS-{}-{:06}-{}",
                d.format("%Y-%m-%d"),
                rng.gen_range(1..999_999),
                rng.gen_range(1..4)
            ))
        } else {
            None
        };
        let connected = site.kind != "greenfield";
        let base_url = format!("https://example.org/geoportal-demo/invest/{id:03}");
        let mut docs = vec![
            json!({"title": "Витяг з Державного земельного кадастру", "url": format!("{base_url}/extract.pdf")}),
            json!({"title": "Інвестиційний паспорт ділянки", "url": format!("{base_url}/passport.pdf")}),
        ];
        if rng.gen_bool(0.5) {
            docs.push(json!({"title": "Містобудівні умови та обмеження", "url": format!("{base_url}/conditions.pdf")}));
        }
        let (c, u) = stamps(&mut rng);
        s.int(id)
            .text(&uk)
            .text(&en)
            .text(site.kind)
            .fixed((ha * 10_000.0).round() as i64, 4)
            .text(&plot.cadastral)
            .text("communal")
            .text(purpose)
            .text(zoning)
            .fixed((rng.gen_range(50.0..2500.0_f64) * 10.0).round() as i64, 1)
            .bool(connected || rng.gen_bool(0.4))
            .bool(connected || rng.gen_bool(0.5))
            .bool(connected && rng.gen_bool(0.8))
            .bool(site.kind == "premises" || rng.gen_bool(0.2))
            .text(offer)
            .opt_money(price)
            .opt_text(prozorro.as_deref())
            .text(&format!(
                "Управління інвестицій та міжнародного співробітництва, {}, invest@zt-demo.example.org",
                city_phone(&mut rng)
            ))
            .text(status)
            .json(&serde_json::Value::Array(docs))
            .geom(|b| g::multipolygon(b, &[&site.ring]))
            .ts(c)
            .ts(u);
        s.end_row()?;
    }
    s.end()
}

enum Shape {
    Point(P),
    Points(Vec<P>),
    Line(Vec<P>),
    Polygon(Vec<P>),
}

pub fn budget_projects(
    s: &mut Sink,
    city: &City,
    facility_names: &[(usize, String)],
    seed: u64,
) -> Result<(), Cancelled> {
    let mut rng = stream(seed, 701);
    let n = ((150.0 * city.scale).round() as usize).max(10);
    let roads: Vec<usize> = (0..city.streets.len())
        .filter(|&k| city.streets[k].class != Class::Rail)
        .collect();
    let mut parks: Vec<usize> = (0..city.plots.len())
        .filter(|&p| city.plots[p].kind == Use::Park)
        .collect();
    parks.shuffle(&mut rng);
    s.begin(
        "budget_projects",
        "id, title, year, programme_code, funding, planned_uah, contracted_uah, paid_uah, contractor_name, \
         contractor_edrpou, prozorro_tender_id, status, geom, created_at, updated_at",
    )?;
    for k in 0..n {
        let id = k as i64 + 1;
        let kind = *weighted(
            &mut rng,
            &[
                ("road", 0.35),
                ("building", 0.35),
                ("park", 0.15),
                ("stops", 0.1),
                ("cameras", 0.05),
            ],
        );
        let (title, code, shape): (String, &str, Shape) = match kind {
            "building" if !facility_names.is_empty() => {
                let (plot, name) = pick(&mut rng, facility_names);
                let c = city.plots[*plot]
                    .building
                    .map(|b| city.building_centroid(b))
                    .unwrap_or(g::centroid(&city.plots[*plot].ring));
                let what = *pick(
                    &mut rng,
                    &[
                        "Термомодернізація будівлі",
                        "Капітальний ремонт покрівлі",
                        "Облаштування укриття",
                        "Встановлення сонячної електростанції",
                        "Заміна вікон",
                    ],
                );
                (format!("{what}: {name}"), "0611021", Shape::Point(c))
            }
            "park" if !parks.is_empty() => {
                let p = parks[k % parks.len()];
                let what = *pick(
                    &mut rng,
                    &[
                        "Благоустрій скверу",
                        "Реконструкція парку",
                        "Облаштування дитячого майданчика у сквері",
                        "Облаштування зони відпочинку",
                    ],
                );
                let st = &city.streets[city.plots[p].street.min(city.streets.len() - 1)];
                (
                    format!("{what} ({})", st.name),
                    "1216030",
                    Shape::Polygon(city.plots[p].ring.clone()),
                )
            }
            "stops" | "cameras" if !roads.is_empty() => {
                let st = &city.streets[*pick(&mut rng, &roads)];
                let line = pick(&mut rng, &st.lines);
                let len = g::length(line);
                let cnt = rng.gen_range(2..6);
                let pts: Vec<P> = (0..cnt)
                    .map(|t| {
                        let (p, dir) = g::along(line, len * (t as f64 + 0.5) / cnt as f64);
                        p.add(dir.unit().left().mul(st.half_width - 2.0))
                    })
                    .collect();
                let title = if kind == "stops" {
                    format!("Встановлення зупинкових комплексів, {}", st.name)
                } else {
                    format!("Встановлення камер відеоспостереження, {}", st.name)
                };
                (
                    title,
                    if kind == "stops" { "1217640" } else { "0218110" },
                    Shape::Points(pts),
                )
            }
            _ => {
                let st = &city.streets[*pick(&mut rng, &roads)];
                let line = pick(&mut rng, &st.lines);
                let a = rng.gen_range(0..line.len() - 1);
                let b = (a + rng.gen_range(2..=4)).min(line.len());
                let what = *pick(
                    &mut rng,
                    &[
                        "Капітальний ремонт дорожнього покриття",
                        "Поточний ремонт тротуарів",
                        "Облаштування велодоріжки",
                        "Реконструкція зовнішнього освітлення",
                    ],
                );
                (
                    format!("{what}, {}", st.name),
                    "1217461",
                    Shape::Line(line[a..b].to_vec()),
                )
            }
        };
        let funding = *weighted(
            &mut rng,
            &[
                ("development_budget", 0.6),
                ("participatory", 0.25),
                ("deputy_fund", 0.15),
            ],
        );
        let year: i32 = *weighted(&mut rng, &[(2024, 0.32), (2025, 0.32), (2026, 0.3), (2027, 0.06)]);
        let status = match year {
            2024 => *weighted(&mut rng, &[("completed", 0.85), ("in_works", 0.15)]),
            2025 => *weighted(&mut rng, &[("completed", 0.55), ("in_works", 0.35), ("tender", 0.1)]),
            2026 => *weighted(
                &mut rng,
                &[
                    ("completed", 0.1),
                    ("in_works", 0.35),
                    ("tender", 0.3),
                    ("planned", 0.25),
                ],
            ),
            _ => "planned",
        };
        let planned = match funding {
            "participatory" => rng.gen_range(100_000.0..1_000_000.0),
            "deputy_fund" => rng.gen_range(50_000.0..300_000.0),
            _ => rng.gen_range(800_000.0..30_000_000.0),
        };
        let planned_c = cents((planned / 100.0_f64).round() * 100.0);
        let contracted = matches!(status, "in_works" | "completed")
            .then(|| (planned_c as f64 * rng.gen_range(0.82..1.0)).round() as i64);
        let paid = contracted.map(|c| match status {
            "completed" => (c as f64 * rng.gen_range(0.97..=1.0)).round() as i64,
            _ => (c as f64 * rng.gen_range(0.0..0.7)).round() as i64,
        });
        let contractor = contracted.map(|_| (company(&mut rng), edrpou(&mut rng)));
        let tender = (status != "planned").then(|| {
            let d: NaiveDate = date_between(&mut rng, ymd(year - 1, 11, 1), ymd(year, 9, 30).min(TODAY - days(2)));
            let letter = *pick(&mut rng, &['a', 'b', 'c']);
            format!("UA-{}-{:06}-{letter}", d.format("%Y-%m-%d"), rng.gen_range(1..999_999))
        });
        let (c, u) = stamps(&mut rng);
        s.int(id)
            .text(&title)
            .int(i64::from(year))
            .text(code)
            .text(funding)
            .money(planned_c)
            .opt_money(contracted)
            .opt_money(paid)
            .opt_text(contractor.as_ref().map(|x| x.0.as_str()))
            .opt_text(contractor.as_ref().map(|x| x.1.as_str()))
            .opt_text(tender.as_deref())
            .text(status);
        match &shape {
            Shape::Point(p) => s.geom(|b| g::point(b, *p)),
            Shape::Points(p) => s.geom(|b| g::multipoint(b, p)),
            Shape::Line(l) => s.geom(|b| g::linestring(b, l)),
            Shape::Polygon(r) => s.geom(|b| g::polygon(b, r)),
        };
        s.ts(c).ts(u);
        s.end_row()?;
    }
    s.end()
}
