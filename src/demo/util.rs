//! Small deterministic helpers: RNG streams, dates, money, identification codes.

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Weekday};
use chrono_tz::Europe::Kyiv;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub type Rng8 = ChaCha8Rng;

/// The demo's fixed "today": every date is derived from it, never from now(),
/// so two loads with the same seed give byte-identical rows.
pub const TODAY: NaiveDate = ymd_const(2026, 11, 1);
/// First day of the three-year window the registers cover.
pub const START: NaiveDate = ymd_const(2023, 11, 1);

/// Compile-time checked date constructor for constants.
pub const fn ymd_const(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("invalid constant date"),
    }
}

/// Date from parts that are valid by construction; falls back to TODAY so a
/// logic slip can never abort a load.
pub fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(TODAY)
}

/// Independent RNG stream per generator part: changing one table's generator
/// does not shift the random numbers of the others.
pub fn stream(seed: u64, tag: u64) -> Rng8 {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(tag);
    r
}

/// RNG for one entity, derived from a stored u64 (lets rows be rendered later
/// in any order without keeping their text in memory).
pub fn sub(seed: u64) -> Rng8 {
    ChaCha8Rng::seed_from_u64(seed)
}

pub fn pick<'a, T>(r: &mut Rng8, items: &'a [T]) -> &'a T {
    &items[r.gen_range(0..items.len())]
}

/// `pick` for string lists (keeps type inference simple at call sites).
pub fn pick_str(r: &mut Rng8, items: &[&'static str]) -> &'static str {
    items[r.gen_range(0..items.len())]
}

/// Weighted choice; weights need not sum to 1.
pub fn weighted<'a, T>(r: &mut Rng8, items: &'a [(T, f64)]) -> &'a T {
    let total: f64 = items.iter().map(|(_, w)| *w).sum();
    let mut x = r.gen_range(0.0..total);
    for (v, w) in items {
        if x < *w {
            return v;
        }
        x -= *w;
    }
    &items[items.len() - 1].0
}

/// Standard normal via Box–Muller (rand_distr is not a dependency).
pub fn normal(r: &mut Rng8, mean: f64, sd: f64) -> f64 {
    let u1: f64 = r.gen_range(f64::EPSILON..1.0);
    let u2: f64 = r.gen_range(0.0..1.0);
    mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

pub fn days(n: i64) -> TimeDelta {
    TimeDelta::days(n)
}

pub fn date_between(r: &mut Rng8, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days().max(1);
    from + days(r.gen_range(0..span))
}

/// A moment (UTC) on `d` during Kyiv office hours.
pub fn office_time(r: &mut Rng8, d: NaiveDate) -> NaiveDateTime {
    let secs = r.gen_range(8 * 3600..18 * 3600);
    kyiv_to_utc(d.and_time(chrono::NaiveTime::MIN) + TimeDelta::seconds(secs))
}

pub fn kyiv_to_utc(local: NaiveDateTime) -> NaiveDateTime {
    match Kyiv.from_local_datetime(&local).earliest() {
        Some(t) => t.naive_utc(),
        // Inside the spring DST gap: an hour later exists.
        None => Kyiv
            .from_local_datetime(&(local + TimeDelta::hours(1)))
            .earliest()
            .map(|t| t.naive_utc())
            .unwrap_or(local),
    }
}

pub fn utc_to_kyiv(utc: NaiveDateTime) -> NaiveDateTime {
    Kyiv.from_utc_datetime(&utc).naive_local()
}

/// Add calendar days in Kyiv local time (deadlines are counted locally).
pub fn add_local_days(utc: NaiveDateTime, n: i64) -> NaiveDateTime {
    kyiv_to_utc(utc_to_kyiv(utc) + days(n))
}

/// Add working days (Mon–Fri) in Kyiv local time. Under martial law public
/// holidays are working days, so only weekends are skipped.
pub fn add_working_days(utc: NaiveDateTime, n: i64) -> NaiveDateTime {
    let mut local = utc_to_kyiv(utc);
    let mut left = n;
    while left > 0 {
        local += days(1);
        if !matches!(local.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    kyiv_to_utc(local)
}

pub fn first_of_month(d: NaiveDate) -> NaiveDate {
    ymd(d.year(), d.month(), 1)
}

pub fn next_month(d: NaiveDate) -> NaiveDate {
    if d.month() == 12 {
        ymd(d.year() + 1, 1, 1)
    } else {
        ymd(d.year(), d.month() + 1, 1)
    }
}

/// Creation/update timestamps of a register row: created somewhere in the
/// window, updated later but before TODAY.
pub fn stamps(r: &mut Rng8) -> (NaiveDateTime, NaiveDateTime) {
    let day = date_between(r, START, TODAY - days(30));
    let c = office_time(r, day);
    let u = if r.gen_bool(0.6) {
        c
    } else {
        let max = (TODAY.and_time(chrono::NaiveTime::MIN) - c).num_seconds().max(1);
        c + TimeDelta::seconds(r.gen_range(0..max))
    };
    (c, u)
}

/// 8-digit EDRPOU with a valid control digit.
pub fn edrpou(r: &mut Rng8) -> String {
    let base: u32 = r.gen_range(2_000_000..4_500_000);
    let d: Vec<u32> = format!("{base:07}").bytes().map(|b| u32::from(b - b'0')).collect();
    let w1: [u32; 7] = if !(3_000_000..6_000_000).contains(&base) {
        [1, 2, 3, 4, 5, 6, 7]
    } else {
        [7, 1, 2, 3, 4, 5, 6]
    };
    let sum = |w: &[u32; 7], add: u32| -> u32 { d.iter().zip(w).map(|(a, b)| a * (b + add)).sum() };
    let mut c = sum(&w1, 0) % 11;
    if c == 10 {
        c = sum(&w1, 2) % 11;
        if c == 10 {
            c = 0;
        }
    }
    format!("{base:07}{c}")
}

/// 10-digit individual tax number (РНОКПП) with a valid control digit.
pub fn rnokpp(r: &mut Rng8) -> String {
    let birth_days: u32 = r.gen_range(18_000..37_000);
    let serial: u32 = r.gen_range(0..10_000);
    let s = format!("{birth_days:05}{serial:04}");
    let w: [i64; 9] = [-1, 5, 7, 9, 4, 6, 10, 5, 7];
    let sum: i64 = s.bytes().zip(w).map(|(b, w)| i64::from(b - b'0') * w).sum();
    let c = sum.rem_euclid(11) % 10;
    format!("{s}{c}")
}

/// Money amount in kopecks from a float of hryvnias.
pub fn cents(uah: f64) -> i64 {
    (uah * 100.0).round().max(0.0) as i64
}

/// Fictional phone: operator code 00 does not exist in Ukraine.
pub fn fake_phone(r: &mut Rng8) -> String {
    format!(
        "+38000{:03}{:02}{:02}",
        r.gen_range(0..1000),
        r.gen_range(0..100),
        r.gen_range(0..100)
    )
}

/// City (0412) office phone for departments and deputies' receptions.
pub fn city_phone(r: &mut Rng8) -> String {
    format!("+380412{}{:05}", r.gen_range(4..5), r.gen_range(0..100_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_right_length() {
        let mut r = stream(1, 1);
        for _ in 0..100 {
            assert_eq!(edrpou(&mut r).len(), 8);
            assert_eq!(rnokpp(&mut r).len(), 10);
        }
    }

    #[test]
    fn working_days_skip_weekends() {
        // Friday 2025-03-07 10:00 Kyiv + 5 working days = Friday 2025-03-14.
        let t = kyiv_to_utc(ymd(2025, 3, 7).and_hms_opt(10, 0, 0).unwrap_or_default());
        let d = utc_to_kyiv(add_working_days(t, 5));
        assert_eq!(d.date(), ymd(2025, 3, 14));
    }
}
