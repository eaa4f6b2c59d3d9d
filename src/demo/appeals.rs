//! Executors and three years of citizens' appeals following the legal
//! workflow and deadlines (DOMAIN.md section 3), with deliberate duplicates.

use super::city::{City, Class};
use super::copy::{GenResult, Sink};
use super::districts::{DeputyRef, deputy_for};
use super::geometry::P;
use super::names::{person, translit};
use super::street_objects::{Along, Located};
use super::util::{
    Rng8, START, TODAY, add_local_days, add_working_days, city_phone, days, fake_phone, kyiv_to_utc, pick, pick_str,
    stream, sub, utc_to_kyiv, weighted,
};
use chrono::{Datelike, NaiveDateTime, TimeDelta, Weekday};
use rand::Rng;

struct Executor {
    name: &'static str,
    kind: &'static str,
    categories: &'static [&'static str],
    mail: &'static str,
}

const EXECUTORS: &[Executor] = &[
    Executor {
        name: "Диспетчерська служба «1580»",
        kind: "dispatch",
        categories: &[],
        mail: "1580",
    },
    Executor {
        name: "КП «Шляхрембуд» Житомирської міської ради",
        kind: "enterprise",
        categories: &["roads", "roads.potholes", "roads.sidewalks"],
        mail: "shliakhrembud",
    },
    Executor {
        name: "КП «Житомирсвітло» Житомирської міської ради",
        kind: "enterprise",
        categories: &["lighting"],
        mail: "svitlo",
    },
    Executor {
        name: "КП «Автотранспортне підприємство 0628»",
        kind: "enterprise",
        categories: &["waste"],
        mail: "atp0628",
    },
    Executor {
        name: "КП «Зеленбуд» Житомирської міської ради",
        kind: "enterprise",
        categories: &["greenery"],
        mail: "zelenbud",
    },
    Executor {
        name: "КП «Житлосервіс-1» (Корольовський район)",
        kind: "enterprise",
        categories: &["housing"],
        mail: "zhytloservis1",
    },
    Executor {
        name: "КП «Житлосервіс-2» (Богунський район)",
        kind: "enterprise",
        categories: &["housing"],
        mail: "zhytloservis2",
    },
    Executor {
        name: "КП «Житомиртеплокомуненерго» Житомирської міської ради",
        kind: "enterprise",
        categories: &["heating"],
        mail: "teplo",
    },
    Executor {
        name: "КП «Житомирводоканал» Житомирської міської ради",
        kind: "enterprise",
        categories: &["water"],
        mail: "vodokanal",
    },
    Executor {
        name: "Управління транспорту і зв'язку",
        kind: "department",
        categories: &["transport"],
        mail: "transport",
    },
    Executor {
        name: "Управління реклами та тимчасових споруд",
        kind: "department",
        categories: &["advertising", "temporary_structures"],
        mail: "reklama",
    },
    Executor {
        name: "Управління містобудування та архітектури",
        kind: "department",
        categories: &["construction"],
        mail: "arch",
    },
    Executor {
        name: "Управління земельних ресурсів",
        kind: "department",
        categories: &["land"],
        mail: "zemlia",
    },
    Executor {
        name: "Муніципальна варта",
        kind: "department",
        categories: &["safety"],
        mail: "varta",
    },
    Executor {
        name: "Управління по зв'язках з громадськістю",
        kind: "department",
        categories: &["other"],
        mail: "gromada",
    },
    Executor {
        name: "АТ «Житомиробленерго»",
        kind: "external",
        categories: &[],
        mail: "oblenergo",
    },
];

const DISPATCH: i64 = 1;

pub fn executors(s: &mut Sink, seed: u64) -> GenResult {
    let mut rng = stream(seed, 800);
    s.begin(
        "executors",
        "id, name, name_en, kind, categories, email, phone, created_at, updated_at",
    )?;
    let t = kyiv_to_utc(START.and_time(chrono::NaiveTime::MIN)) + TimeDelta::hours(9);
    for (k, e) in EXECUTORS.iter().enumerate() {
        s.int(k as i64 + 1)
            .text(e.name)
            .text(&translit(e.name))
            .text(e.kind)
            .text_array(e.categories)
            .text(&format!("{}@zt-demo.example.org", e.mail))
            .text(&city_phone(&mut rng))
            .ts(t)
            .ts(t);
        s.end_row()?;
    }
    s.end()
}

/// The routing table the database uses at insert (`executor_responsibility`),
/// the same rules as [`route`]: each category to the first executor that
/// lists it, city-wide; housing by administrative district.
pub fn responsibility(s: &mut Sink) -> GenResult {
    s.begin(
        "executor_responsibility",
        "id, category, admin_district_id, executor_id, created_at, updated_at",
    )?;
    let t = kyiv_to_utc(START.and_time(chrono::NaiveTime::MIN)) + TimeDelta::hours(9);
    let mut id = 0;
    let mut seen: Vec<&str> = Vec::new();
    for (k, e) in EXECUTORS.iter().enumerate() {
        for cat in e.categories {
            if seen.contains(cat) {
                continue;
            }
            seen.push(cat);
            let rows: Vec<(Option<i64>, i64)> = if *cat == "housing" {
                vec![(Some(1), 6), (Some(2), 7)]
            } else {
                vec![(None, k as i64 + 1)]
            };
            for (district, executor) in rows {
                id += 1;
                s.int(id).text(cat).opt_int(district).int(executor).ts(t).ts(t);
                s.end_row()?;
            }
        }
    }
    s.end()
}

/// Public holidays of the demo's years: under martial law (since 2022)
/// they are working days, which is why the calendar is data.
pub fn working_calendar(s: &mut Sink) -> GenResult {
    s.begin("working_calendar", "id, day, is_working, note, created_at, updated_at")?;
    let t = kyiv_to_utc(START.and_time(chrono::NaiveTime::MIN)) + TimeDelta::hours(9);
    let holidays: &[(u32, u32, &str)] = &[
        (1, 1, "Новий рік"),
        (3, 8, "Міжнародний жіночий день"),
        (5, 1, "День праці"),
        (6, 28, "День Конституції"),
        (8, 24, "День Незалежності"),
        (10, 1, "День захисників і захисниць"),
        (12, 25, "Різдво Христове"),
    ];
    let mut id = 0;
    for year in START.year()..=START.year() + 3 {
        for (m, d, name) in holidays {
            let Some(day) = chrono::NaiveDate::from_ymd_opt(year, *m, *d) else {
                continue;
            };
            id += 1;
            s.int(id)
                .date(day)
                .bool(true)
                .text(&format!("{name}: робочий день під час воєнного стану"))
                .ts(t)
                .ts(t);
            s.end_row()?;
        }
    }
    s.end()
}

/// Executor by category and place: housing is split by administrative
/// district, emergencies go to the dispatch service.
fn route(city: &City, cat: &str, p: P, emergency: bool) -> i64 {
    if emergency {
        return DISPATCH;
    }
    if cat == "housing" {
        return if city.admin_of(p) == 1 { 6 } else { 7 };
    }
    EXECUTORS
        .iter()
        .position(|e| e.categories.contains(&cat))
        .map(|k| k as i64 + 1)
        .unwrap_or(15)
}

/// (code, weight, may be an emergency)
const CATEGORIES: &[(&str, f64, bool)] = &[
    ("roads", 0.04, true),
    ("roads.potholes", 0.10, false),
    ("roads.sidewalks", 0.05, false),
    ("lighting", 0.09, true),
    ("waste", 0.11, false),
    ("greenery", 0.08, true),
    ("housing", 0.14, true),
    ("heating", 0.08, true),
    ("water", 0.08, true),
    ("transport", 0.06, false),
    ("advertising", 0.02, false),
    ("temporary_structures", 0.02, false),
    ("construction", 0.03, false),
    ("land", 0.03, false),
    ("safety", 0.03, true),
    ("other", 0.04, false),
];

fn seasonal(cat: &str, month: u32, heating: bool) -> f64 {
    match cat {
        "heating" => {
            if heating {
                3.0
            } else {
                0.2
            }
        }
        "roads.potholes" if matches!(month, 2..=4) => 2.2,
        "greenery" if matches!(month, 4..=8) => 1.6,
        "waste" if matches!(month, 6..=8) => 1.3,
        "lighting" if matches!(month, 11 | 12 | 1) => 1.4,
        "water" if matches!(month, 7 | 8) => 1.3,
        _ => 1.0,
    }
}

/// Description templates; the address is appended by the caller.
fn descriptions(cat: &str) -> &'static [&'static str] {
    match cat {
        "roads" => &[
            "На проїжджій частині провалився асфальт після ремонту мереж. Прошу відновити покриття.",
            "Після розкопок не відновлено дорожнє покриття, автомобілі об'їжджають по тротуару.",
            "Прошу встановити дорожній знак «Діти» та штучну нерівність: водії їздять дуже швидко.",
        ],
        "roads.potholes" => &[
            "Велика яма на дорозі, вже пошкоджено кілька автомобілів. Прошу провести ямковий ремонт.",
            "Після зими на дорозі утворилися глибокі вибоїни, під час дощу їх не видно.",
            "Яма на перехресті наповнюється водою, пішоходи не можуть перейти.",
        ],
        "roads.sidewalks" => &[
            "Тротуар зруйнований, плитка піднялася, люди з візками не можуть пройти.",
            "Прошу облаштувати пониження бордюру на пішохідному переході.",
            "Тротуар заставлений автомобілями, пішоходи йдуть проїжджою частиною.",
        ],
        "lighting" => &[
            "Не працює вуличне освітлення вже тиждень, увечері дуже темно.",
            "Ліхтар світить удень і не світить уночі. Прошу налаштувати.",
            "Нахилилася опора освітлення, є загроза падіння.",
        ],
        "waste" => &[
            "Контейнери не вивозяться кілька днів, сміття розноситься по двору.",
            "Утворилося стихійне сміттєзвалище будівельних відходів.",
            "Прошу встановити додатковий контейнер для роздільного збору.",
        ],
        "greenery" => &[
            "Аварійне дерево нахилилося над дитячим майданчиком. Прошу видалити.",
            "Прошу провести покіс трави та обрізку кущів.",
            "Вітром повалено дерево, воно перекрило прохід.",
        ],
        "housing" => &[
            "Протікає покрівля будинку, квартири на останньому поверсі заливає.",
            "Не працює ліфт у будинку понад тиждень.",
            "У під'їзді не прибирають, розбиті вікна, немає освітлення.",
            "У підвалі будинку стоїть вода, у квартирах з'явилися комарі та вогкість.",
        ],
        "heating" => &[
            "Батареї в квартирі ледь теплі, температура в кімнатах 14 градусів.",
            "Будинок не підключено до опалення, хоча опалювальний сезон розпочався.",
            "Порив тепломережі, з-під землі йде пара.",
        ],
        "water" => &[
            "З люка витікає вода, утворилася велика калюжа.",
            "У будинку немає холодної води з ранку без попередження.",
            "Відкритий каналізаційний люк, небезпечно для пішоходів.",
            "Низький тиск води, на верхні поверхи вода не доходить.",
        ],
        "transport" => &[
            "Автобуси на маршруті ходять з інтервалом понад 40 хвилин.",
            "Прошу облаштувати навіс на зупинці громадського транспорту.",
            "Тролейбус не зупиняється на зупинці у вечірній час.",
        ],
        "advertising" => &[
            "Рекламна конструкція пошкоджена і може впасти на пішоходів.",
            "Встановлено білборд без дозволу, він закриває огляд на перехресті.",
            "Прошу перевірити законність рекламного банера.",
        ],
        "temporary_structures" => &[
            "Кіоск працює цілодобово і продає алкоголь, мешканці скаржаться на шум.",
            "Встановлено новий МАФ просто на тротуарі, пройти неможливо.",
            "Прошу перевірити паспорт прив'язки тимчасової споруди.",
        ],
        "construction" => &[
            "Ведеться будівництво без огорожі та паспорта об'єкта.",
            "Будівельна техніка працює вночі, порушується тиша.",
            "Прошу надати інформацію про дозвіл на будівництво.",
        ],
        "land" => &[
            "Сусід захопив частину земельної ділянки, прошу перевірити межі.",
            "Прошу повідомити, чи вільна земельна ділянка і як її отримати в оренду.",
            "Самовільно встановлено паркан на землях загального користування.",
        ],
        "safety" => &[
            "Збирається компанія, яка вночі порушує громадський порядок.",
            "Прошу встановити камеру відеоспостереження.",
            "Бродячі собаки нападають на перехожих.",
        ],
        _ => &[
            "Прошу надати інформацію про графік прийому громадян у виконкомі.",
            "Пропоную облаштувати велосипедну парковку.",
            "Прошу розглянути можливість встановлення лавок.",
        ],
    }
}

fn answer(cat: &str, rng: &mut Rng8) -> &'static str {
    let list: &[&str] = match cat {
        "roads" | "roads.potholes" | "roads.sidewalks" => &[
            "Роботи з ремонту покриття виконано КП «Шляхрембуд».",
            "Адресу включено до титульного списку ремонту доріг на поточний рік.",
        ],
        "lighting" => &[
            "Освітлення відновлено, замінено лампу та пускорегулювальну апаратуру.",
            "Опору освітлення замінено.",
        ],
        "waste" => &[
            "Відходи вивезено, графік вивезення посилено.",
            "Стихійне сміттєзвалище ліквідовано.",
        ],
        "greenery" => &[
            "Аварійне дерево видалено.",
            "Покіс та обрізку проведено згідно з графіком.",
        ],
        "heating" => &[
            "Систему опалення будинку розповітрено, параметри теплоносія відповідають нормі.",
            "Пориви усунено, подачу тепла відновлено.",
        ],
        "water" => &[
            "Аварію на мережі усунено, водопостачання відновлено.",
            "Люк закрито, встановлено нову кришку.",
        ],
        _ => &[
            "Звернення розглянуто, вжито заходів відповідно до компетенції.",
            "Надано роз'яснення щодо порядку вирішення питання.",
            "Питання взято на контроль, роботи заплановано.",
        ],
    };
    pick_str(rng, list)
}

const FORWARD_TO: &[&str] = &[
    "АТ «Житомиробленерго»",
    "ГУ Держгеокадастру у Житомирській області",
    "Житомирська обласна військова адміністрація",
    "ГУ Національної поліції в Житомирській області",
    "Служба відновлення та розвитку інфраструктури у Житомирській області",
    "ГУ Держпродспоживслужби в Житомирській області",
];

const REJECT_REASONS: &[&str] = &[
    "Звернення не містить даних, необхідних для розгляду (адреса, суть питання).",
    "Повторне звернення з того самого питання, на яке вже надано відповідь.",
    "Питання не належить до повноважень органів місцевого самоврядування.",
];

#[derive(Clone, Copy)]
enum Place {
    Address(usize),
    Street(usize),
}

/// An appeal before ids are assigned (kept small: text is rendered later
/// from `seed`).
struct Draft {
    created: NaiveDateTime,
    cat: u8,
    kind: u8,
    p: P,
    place: Place,
    related: Option<(&'static str, i64)>,
    dup_of: Option<usize>,
    mark_duplicate: bool,
    original: bool,
    seed: u64,
}

const KINDS: &[(&str, f64)] = &[
    ("complaint", 0.45),
    ("request", 0.30),
    ("proposal", 0.08),
    ("info_request", 0.07),
    ("emergency", 0.10),
];

pub struct Refs<'a> {
    pub deputies: &'a [DeputyRef],
    pub ads: &'a [Located],
    pub temps: &'a [Located],
    pub heating: &'a [bool],
}

pub fn appeals(s: &mut Sink, city: &City, refs: &Refs, seed: u64) -> GenResult {
    let mut rng = stream(seed, 801);
    let target = (30_000.0 * city.scale).round().max(60.0);
    let n_days = (TODAY - START).num_days() as usize;
    let day_weight = |k: usize| {
        let d = START + days(k as i64);
        let wk = if matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            0.6
        } else {
            1.1
        };
        wk * if refs.heating.get(k).copied().unwrap_or(false) {
            1.25
        } else {
            1.0
        }
    };
    let total_w: f64 = (0..n_days).map(day_weight).sum();
    let streets = Along::new(city, |c| c != Class::Rail);
    // Chronic problem spots: the same trouble reported again and again.
    let hot: Vec<(P, u8, Place)> = (0..((12.0 * city.scale.sqrt()).round() as usize).max(3))
        .map(|_| {
            let a = rng.gen_range(0..city.addresses.len());
            let cat = *pick(&mut rng, &[3u8, 6, 7, 8, 1]);
            (city.addresses[a].p, cat, Place::Address(a))
        })
        .collect();

    let mut drafts: Vec<Draft> = Vec::with_capacity(target as usize + target as usize / 20);
    for k in 0..n_days {
        let d = START + days(k as i64);
        let expect = target * day_weight(k) / total_w;
        let count = expect.floor() as usize + usize::from(rng.gen_bool(expect.fract()));
        let heating = refs.heating.get(k).copied().unwrap_or(false);
        let cat_w: Vec<(u8, f64)> = CATEGORIES
            .iter()
            .enumerate()
            .map(|(i, (c, w, _))| (i as u8, w * seasonal(c, d.month(), heating)))
            .collect();
        for _ in 0..count {
            // Mostly daytime, Kyiv time.
            let secs = (rng.gen_range(7.0..23.0_f64) * 3600.0) as i64;
            let created = kyiv_to_utc(d.and_time(chrono::NaiveTime::MIN) + TimeDelta::seconds(secs));
            let mut cat = *weighted(&mut rng, &cat_w);
            let code = CATEGORIES[cat as usize].0;
            let mut related = None;
            let (p, place) = if rng.gen_bool(0.03) {
                let (hp, hc, hpl) = *pick(&mut rng, &hot);
                cat = hc;
                (jitter(&mut rng, hp, 30.0), hpl)
            } else if code == "advertising" && !refs.ads.is_empty() && rng.gen_bool(0.7) {
                let ad = pick(&mut rng, refs.ads);
                related = Some(("ad_structures", ad.id));
                (jitter(&mut rng, ad.p, 5.0), Place::Street(ad.street))
            } else if code == "temporary_structures" && !refs.temps.is_empty() && rng.gen_bool(0.7) {
                let t = pick(&mut rng, refs.temps);
                related = Some(("temporary_structures", t.id));
                (jitter(&mut rng, t.p, 5.0), Place::Street(t.street))
            } else if code == "land" && rng.gen_bool(0.6) {
                let pi = rng.gen_range(0..city.plots.len());
                related = Some(("land_plots", pi as i64 + 1));
                let c = super::geometry::centroid(&city.plots[pi].ring);
                let place = match city.plots[pi].building {
                    Some(b) => Place::Address(city.buildings[b].address),
                    None => Place::Street(city.plots[pi].street.min(city.streets.len() - 1)),
                };
                (c, place)
            } else if let Some((st, p, dir)) = street_point(&mut rng, code, &streets) {
                (
                    p.add(dir.unit().left().mul(rng.gen_range(-4.0..4.0))),
                    Place::Street(st),
                )
            } else {
                let a = rng.gen_range(0..city.addresses.len());
                (jitter(&mut rng, city.addresses[a].p, 15.0), Place::Address(a))
            };
            let may_emerg = CATEGORIES[cat as usize].2;
            let mut kind = weighted_index(&mut rng, KINDS) as u8;
            if kind == 4 && !may_emerg {
                kind = 0;
            }
            drafts.push(Draft {
                created,
                cat,
                kind,
                p,
                place,
                related,
                dup_of: None,
                mark_duplicate: false,
                original: false,
                seed: rng.r#gen(),
            });
        }
    }
    // Deliberate duplicates: follow-ups of the same category within ~100 m.
    let n_base = drafts.len();
    let now = kyiv_to_utc(TODAY.and_time(chrono::NaiveTime::MIN));
    for o in 0..n_base {
        if !rng.gen_bool(0.015) {
            continue;
        }
        drafts[o].original = true;
        for _ in 0..rng.gen_range(1..=4) {
            let created = drafts[o].created + TimeDelta::minutes(rng.gen_range(120..15 * 24 * 60));
            if created >= now - TimeDelta::hours(1) {
                continue;
            }
            let ang = rng.gen_range(0.0..std::f64::consts::TAU);
            let mut p = drafts[o].p.add(P::polar(rng.gen_range(5.0..90.0), ang));
            if !city.inside(p) {
                // Near the city limits: stay close to the original instead.
                p = drafts[o].p.add(P::polar(5.0, ang));
            }
            let d = Draft {
                created,
                cat: drafts[o].cat,
                kind: drafts[o].kind,
                p,
                place: drafts[o].place,
                related: drafts[o].related,
                dup_of: Some(o),
                mark_duplicate: rng.gen_bool(0.55),
                original: false,
                seed: rng.r#gen(),
            };
            drafts.push(d);
        }
    }
    // Ids follow creation time, so an original always has the smaller id.
    let mut order: Vec<usize> = (0..drafts.len()).collect();
    order.sort_by(|&a, &b| drafts[a].created.cmp(&drafts[b].created).then(a.cmp(&b)));
    let mut id_of = vec![0i64; drafts.len()];
    for (pos, &k) in order.iter().enumerate() {
        id_of[k] = pos as i64 + 1;
    }

    s.begin(
        "appeals",
        "id, public_number, kind, category, description, address_text, status, registered_at, due_at, resolved_at, \
         closed_at, executor_id, forwarded_to, no_extra_study, related_layer, related_id, addressed_deputy_id, \
         duplicate_of, priority, is_public, answer, reject_reason, rating, author_name, phone, email, contact_address, \
         geom, created_at, updated_at",
    )?;
    let mut year_seq: std::collections::BTreeMap<i32, u32> = Default::default();
    for &k in &order {
        let d = &drafts[k];
        let id = id_of[k];
        let mut r = sub(d.seed);
        let cat = CATEGORIES[d.cat as usize].0;
        let kind = KINDS[d.kind as usize].0;
        let emergency = kind == "emergency";
        let year = utc_to_kyiv(d.created).year();
        let seq = year_seq.entry(year).or_insert(0);
        *seq += 1;
        let number = format!("ZH-{year}-{:06}", *seq);
        let addr_text = match d.place {
            Place::Address(a) => city.addresses[a].text(city),
            Place::Street(st) => city.streets[st].name.clone(),
        };
        let greeting = if r.gen_bool(0.3) { "Добрий день! " } else { "" };
        let thanks = if r.gen_bool(0.25) { " Дякую." } else { "" };
        let text = format!(
            "{greeting}{} Адреса: {addr_text}.{thanks}",
            pick(&mut r, descriptions(cat))
        );
        let life = lifecycle(
            &mut r,
            city,
            d,
            cat,
            kind,
            now,
            id_of.get(d.dup_of.unwrap_or(usize::MAX)).copied(),
        );
        let deputy = if r.gen_bool(0.04) {
            deputy_for(refs.deputies, city.electoral_of(d.p), d.created.date(), &mut r)
        } else {
            None
        };
        let priority = if emergency {
            *weighted(&mut r, &[("urgent", 0.7), ("high", 0.3)])
        } else {
            *weighted(&mut r, &[("low", 0.1), ("normal", 0.75), ("high", 0.15)])
        };
        let is_public = life.status != "spam" && r.gen_bool(0.82);
        let author = person(&mut r);
        let has_phone = r.gen_bool(0.8);
        let phone = has_phone.then(|| fake_phone(&mut r));
        let email = (!has_phone || r.gen_bool(0.5)).then(|| {
            format!(
                "{}{}@example.com",
                author.handle().replace('.', "_"),
                r.gen_range(1..999)
            )
        });
        let contact = r.gen_bool(0.35).then(|| match d.place {
            Place::Address(a) => format!("{}, кв. {}", city.addresses[a].text(city), r.gen_range(1..150)),
            Place::Street(_) => addr_text.clone(),
        });
        let updated = [Some(d.created), life.registered, life.resolved, life.closed]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(d.created);
        s.int(id)
            .text(&number)
            .text(kind)
            .text(cat)
            .text(&text)
            .text(&addr_text)
            .text(life.status)
            .opt_ts(life.registered)
            .opt_ts(life.due)
            .opt_ts(life.resolved)
            .opt_ts(life.closed)
            .opt_int(life.executor)
            .opt_text(life.forwarded_to)
            .bool(life.no_extra_study)
            .opt_text(d.related.map(|x| x.0))
            .opt_int(d.related.map(|x| x.1))
            .opt_int(deputy)
            .opt_int(life.duplicate_of)
            .text(priority)
            .bool(is_public)
            .opt_text(life.answer)
            .opt_text(life.reject_reason)
            .opt_int(life.rating)
            .text(&author.first_last())
            .opt_text(phone.as_deref())
            .opt_text(email.as_deref())
            .opt_text(contact.as_deref())
            .geom(|b| super::geometry::point(b, d.p))
            .ts(d.created)
            .ts(updated);
        s.end_row()?;
    }
    s.end()
}

/// Most road, lighting and transport problems are reported on the street
/// itself rather than at a house.
fn street_point(r: &mut Rng8, code: &str, streets: &Along) -> Option<(usize, P, P)> {
    let on_street = matches!(code, "roads" | "roads.potholes" | "lighting" | "transport") && r.gen_bool(0.6);
    if on_street { streets.sample(r) } else { None }
}

fn jitter(r: &mut Rng8, p: P, max: f64) -> P {
    p.add(P::polar(r.gen_range(0.0..max), r.gen_range(0.0..std::f64::consts::TAU)))
}

fn weighted_index(r: &mut Rng8, items: &[(&str, f64)]) -> usize {
    let total: f64 = items.iter().map(|x| x.1).sum();
    let mut x = r.gen_range(0.0..total);
    for (k, (_, w)) in items.iter().enumerate() {
        if x < *w {
            return k;
        }
        x -= w;
    }
    items.len() - 1
}

#[derive(Default)]
struct Life {
    status: &'static str,
    registered: Option<NaiveDateTime>,
    due: Option<NaiveDateTime>,
    resolved: Option<NaiveDateTime>,
    closed: Option<NaiveDateTime>,
    executor: Option<i64>,
    forwarded_to: Option<&'static str>,
    no_extra_study: bool,
    duplicate_of: Option<i64>,
    answer: Option<&'static str>,
    reject_reason: Option<&'static str>,
    rating: Option<i64>,
}

/// Where the appeal stands on TODAY, with timestamps consistent with the
/// workflow and the deadline rules.
fn lifecycle(
    r: &mut Rng8,
    city: &City,
    d: &Draft,
    cat: &str,
    kind: &str,
    now: NaiveDateTime,
    original_id: Option<i64>,
) -> Life {
    let created = d.created;
    let before_now = |t: NaiveDateTime| t < now;
    // Marked as a duplicate by the operator straight from "submitted".
    if d.mark_duplicate
        && let Some(orig) = original_id
    {
        let marked = created + TimeDelta::minutes(r.gen_range(30..2 * 24 * 60));
        if before_now(marked) {
            let closed = marked + TimeDelta::hours(r.gen_range(2..120));
            let closed = (before_now(closed) && r.gen_bool(0.5)).then_some(closed);
            return Life {
                status: if closed.is_some() { "closed" } else { "duplicate" },
                resolved: Some(marked),
                closed,
                duplicate_of: Some(orig),
                ..Life::default()
            };
        }
    }
    if !d.original && r.gen_bool(0.015) {
        return Life {
            status: "spam",
            ..Life::default()
        };
    }
    let emergency = kind == "emergency";
    let reg_delay = if emergency {
        TimeDelta::minutes(r.gen_range(3..60))
    } else {
        TimeDelta::minutes((r.gen_range(0.0..1.0_f64).powi(2) * 3.0 * 24.0 * 60.0) as i64 + 20)
    };
    let registered = created + reg_delay;
    if !before_now(registered) {
        return Life {
            status: "submitted",
            ..Life::default()
        };
    }
    let executor = route(city, cat, d.p, emergency);
    let no_extra = matches!(kind, "complaint" | "proposal" | "request") && r.gen_bool(0.2);
    let due = match kind {
        "emergency" => add_local_days(registered, 1),
        "info_request" => add_working_days(registered, 5),
        _ if no_extra => add_local_days(registered, 15),
        _ => add_local_days(registered, 30),
    };
    let base = Life {
        status: "registered",
        registered: Some(registered),
        due: Some(due),
        executor: Some(executor),
        no_extra_study: no_extra,
        // Follow-ups the operator did not catch stay unlinked: the analyses
        // are meant to find them.
        ..Life::default()
    };
    let roll = r.gen_range(0.0..1.0);
    if !emergency && roll < 0.03 {
        // Out of competence: forwarded within 5 days (a few late).
        let limit = if r.gen_bool(0.9) { 5 * 24 } else { 8 * 24 };
        let at = registered + TimeDelta::hours(r.gen_range(2..limit));
        if before_now(at) {
            let closed = at + TimeDelta::hours(r.gen_range(4..72));
            let closed = (before_now(closed) && r.gen_bool(0.6)).then_some(closed);
            return Life {
                status: if closed.is_some() { "closed" } else { "forwarded" },
                resolved: Some(at),
                closed,
                executor: None,
                forwarded_to: Some(pick_str(r, FORWARD_TO)),
                ..base
            };
        }
        return base;
    }
    if !emergency && roll < 0.055 {
        let at = registered + TimeDelta::hours(r.gen_range(24..20 * 24));
        if before_now(at) {
            let closed = at + TimeDelta::hours(r.gen_range(4..96));
            let closed = (before_now(closed) && r.gen_bool(0.6)).then_some(closed);
            return Life {
                status: if closed.is_some() { "closed" } else { "rejected" },
                resolved: Some(at),
                closed,
                reject_reason: Some(pick_str(r, REJECT_REASONS)),
                ..base
            };
        }
        return Life {
            status: "in_progress",
            ..base
        };
    }
    let extended = !emergency && r.gen_bool(0.08);
    let due = if extended {
        if kind == "info_request" {
            add_working_days(registered, 20)
        } else {
            add_local_days(registered, 45)
        }
    } else {
        due
    };
    // A few appeals are simply forgotten: open and overdue on TODAY.
    if r.gen_bool(0.015) {
        let status = if extended {
            "extended"
        } else {
            *pick(r, &["registered", "in_progress", "in_progress"])
        };
        return Life {
            status,
            due: Some(due),
            ..base
        };
    }
    let late = r.gen_bool(0.12);
    let span = (due - registered).num_minutes().max(60);
    let answer_after = if late {
        span + r.gen_range(60..20 * 24 * 60)
    } else if emergency {
        r.gen_range(60..span.max(61))
    } else {
        // Most answers come in the second half of the period.
        (span as f64 * r.gen_range(0.1..1.0_f64).sqrt()) as i64
    };
    let answered = registered + TimeDelta::minutes(answer_after);
    if !before_now(answered) {
        let status = if extended && before_now(registered + TimeDelta::days(15)) {
            "extended"
        } else if before_now(registered + TimeDelta::days(1)) || r.gen_bool(0.3) {
            "in_progress"
        } else {
            "registered"
        };
        return Life {
            status,
            due: Some(due),
            ..base
        };
    }
    let closed = answered + TimeDelta::hours(r.gen_range(12..240));
    let closed = (before_now(closed) && r.gen_bool(0.85)).then_some(closed);
    let rating = r.gen_bool(0.55).then(|| {
        if answered <= due {
            *weighted(r, &[(5, 0.45), (4, 0.3), (3, 0.15), (2, 0.05), (1, 0.05)])
        } else {
            *weighted(r, &[(5, 0.05), (4, 0.1), (3, 0.25), (2, 0.3), (1, 0.3)])
        }
    });
    Life {
        status: if closed.is_some() { "closed" } else { "answered" },
        due: Some(due),
        resolved: Some(answered),
        closed,
        answer: Some(answer(cat, r)),
        rating,
        ..base
    }
}
