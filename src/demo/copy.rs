//! COPY text-format rows, produced by the (synchronous) generator and handed
//! in row-aligned chunks over a bounded channel to the async loader.
//!
//! The bounded channel is the back-pressure that keeps memory flat: the
//! generator never runs more than a few chunks ahead of the database.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use tokio::sync::mpsc;

/// Chunk size sent per CopyData message.
const CHUNK: usize = 256 * 1024;

pub enum Msg {
    Begin { table: &'static str, columns: &'static str },
    Data { bytes: Vec<u8>, rows: u64 },
    End,
}

/// The receiving side went away (the load failed); the generator stops.
#[derive(Debug)]
pub struct Cancelled;

pub type GenResult<T = ()> = Result<T, Cancelled>;

pub struct Sink {
    tx: mpsc::Sender<Msg>,
    buf: Vec<u8>,
    rows_in_buf: u64,
    first_field: bool,
}

impl Sink {
    pub fn new(tx: mpsc::Sender<Msg>) -> Self {
        Sink {
            tx,
            buf: Vec::with_capacity(CHUNK + 4096),
            rows_in_buf: 0,
            first_field: true,
        }
    }

    fn send(&self, m: Msg) -> GenResult {
        self.tx.blocking_send(m).map_err(|_| Cancelled)
    }

    pub fn begin(&mut self, table: &'static str, columns: &'static str) -> GenResult {
        self.send(Msg::Begin { table, columns })
    }

    pub fn end(&mut self) -> GenResult {
        self.flush()?;
        self.send(Msg::End)
    }

    fn flush(&mut self) -> GenResult {
        if self.rows_in_buf > 0 {
            let bytes = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK + 4096));
            let rows = self.rows_in_buf;
            self.rows_in_buf = 0;
            self.send(Msg::Data { bytes, rows })?;
        }
        Ok(())
    }

    fn sep(&mut self) {
        if !self.first_field {
            self.buf.push(b'\t');
        }
        self.first_field = false;
    }

    pub fn end_row(&mut self) -> GenResult {
        self.buf.push(b'\n');
        self.first_field = true;
        self.rows_in_buf += 1;
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    pub fn null(&mut self) -> &mut Self {
        self.sep();
        self.buf.extend_from_slice(b"\\N");
        self
    }

    pub fn int(&mut self, v: i64) -> &mut Self {
        self.sep();
        push_i64(&mut self.buf, v);
        self
    }

    pub fn opt_int(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.sep();
        self.buf.push(if b { b't' } else { b'f' });
        self
    }

    /// numeric with `decimals` places from an integer of 10^-decimals units.
    pub fn fixed(&mut self, v: i64, decimals: u32) -> &mut Self {
        self.sep();
        push_fixed(&mut self.buf, v, decimals);
        self
    }

    /// Money from kopecks.
    pub fn money(&mut self, cents: i64) -> &mut Self {
        self.fixed(cents, 2)
    }

    pub fn opt_money(&mut self, cents: Option<i64>) -> &mut Self {
        match cents {
            Some(c) => self.money(c),
            None => self.null(),
        }
    }

    pub fn text(&mut self, s: &str) -> &mut Self {
        self.sep();
        escape_into(&mut self.buf, s);
        self
    }

    pub fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    pub fn date(&mut self, d: NaiveDate) -> &mut Self {
        self.sep();
        push_date(&mut self.buf, d);
        self
    }

    pub fn opt_date(&mut self, d: Option<NaiveDate>) -> &mut Self {
        match d {
            Some(d) => self.date(d),
            None => self.null(),
        }
    }

    /// timestamptz from a UTC NaiveDateTime (explicit +00, independent of the
    /// session time zone).
    pub fn ts(&mut self, t: NaiveDateTime) -> &mut Self {
        self.sep();
        push_date(&mut self.buf, t.date());
        self.buf.push(b' ');
        push_2(&mut self.buf, t.hour());
        self.buf.push(b':');
        push_2(&mut self.buf, t.minute());
        self.buf.push(b':');
        push_2(&mut self.buf, t.second());
        self.buf.extend_from_slice(b"+00");
        self
    }

    pub fn opt_ts(&mut self, t: Option<NaiveDateTime>) -> &mut Self {
        match t {
            Some(t) => self.ts(t),
            None => self.null(),
        }
    }

    /// A geometry (EWKT; contains no characters that need escaping).
    pub fn geom(&mut self, f: impl FnOnce(&mut Vec<u8>)) -> &mut Self {
        self.sep();
        f(&mut self.buf);
        self
    }

    /// text[] literal: {"a","b"} with element quoting, then COPY escaping.
    pub fn text_array(&mut self, items: &[&str]) -> &mut Self {
        let mut lit = String::from("{");
        for (i, s) in items.iter().enumerate() {
            if i > 0 {
                lit.push(',');
            }
            lit.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    lit.push('\\');
                }
                lit.push(c);
            }
            lit.push('"');
        }
        lit.push('}');
        self.text(&lit)
    }

    pub fn json(&mut self, v: &serde_json::Value) -> &mut Self {
        let s = v.to_string();
        self.text(&s)
    }
}

/// COPY text format escaping: backslash, tab, newline and carriage return.
pub fn escape_into(buf: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

pub fn push_i64(buf: &mut Vec<u8>, v: i64) {
    if v < 0 {
        buf.push(b'-');
    }
    push_u64(buf, v.unsigned_abs());
}

fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// Integer of 10^-decimals units as a decimal string.
pub fn push_fixed(buf: &mut Vec<u8>, v: i64, decimals: u32) {
    if v < 0 {
        buf.push(b'-');
    }
    let a = v.unsigned_abs();
    let p = 10u64.pow(decimals);
    push_u64(buf, a / p);
    if decimals > 0 {
        buf.push(b'.');
        let frac = a % p;
        let mut digits = [b'0'; 20];
        let mut f = frac;
        for k in (0..decimals as usize).rev() {
            digits[k] = b'0' + (f % 10) as u8;
            f /= 10;
        }
        buf.extend_from_slice(&digits[..decimals as usize]);
    }
}

fn push_2(buf: &mut Vec<u8>, v: u32) {
    buf.push(b'0' + (v / 10 % 10) as u8);
    buf.push(b'0' + (v % 10) as u8);
}

fn push_date(buf: &mut Vec<u8>, d: NaiveDate) {
    push_i64(buf, i64::from(d.year()));
    buf.push(b'-');
    push_2(buf, d.month());
    buf.push(b'-');
    push_2(buf, d.day());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_format() {
        let mut b = Vec::new();
        push_fixed(&mut b, 1234567, 2);
        b.push(b' ');
        push_fixed(&mut b, -5, 3);
        b.push(b' ');
        push_fixed(&mut b, 286_587_000, 7);
        assert_eq!(String::from_utf8_lossy(&b), "12345.67 -0.005 28.6587000");
    }

    #[test]
    fn escaping() {
        let mut b = Vec::new();
        escape_into(&mut b, "a\\b\tc\nd\re");
        assert_eq!(String::from_utf8_lossy(&b), "a\\\\b\\tc\\nd\\re");
    }
}
