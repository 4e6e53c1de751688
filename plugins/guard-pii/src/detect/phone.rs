//! Phone numbers. A candidate is a run of digit groups joined by single
//! separators (space, `-`, `.`, `/`, typographic spaces and hyphens), optionally
//! led by `+` and with one parenthesised group (`(415)`, `(0)`). It is a phone
//! number when its shape says so on its own:
//!
//! - `+` and a valid country calling code, 8-15 digits (E.164): `+44 20 7946 0958`;
//! - `00` and a valid country code, with separators: `0044 20 7946 0958`;
//! - North American `NXX NXX XXXX` with separators or an area code in parentheses;
//! - a national number with trunk prefix `0`, 9-12 digits in groups:
//!   `020 7946 0958`, `01 23 45 67 89`, `03-1234-5678`, `(020) 7946 0958`;
//! - Chinese mobiles `1[3-9]X XXXX XXXX`, Indian mobiles `XXXXX XXXXX`,
//!   `(11) 91234-5678`-style area codes in parentheses;
//!
//! or when a phone word precedes it ("tel", "call", "mobile", "Telefon", "电话",
//! ...) or its JSON field is named like one (`/customer/phone`) and it has 7-15
//! digits. Dates, times, IPs, thousands-grouped numbers, numbers glued to words,
//! prices and numbers after words such as "order", "invoice", "version" or "id"
//! are not phone numbers unless they carry a `+` and a country code.

use super::{Cand, Detected};
use crate::text::{Context, Keyword, Sep, context_before, digit_at, key_has, keyword_after, kw, kw_whole, sep_at};
use crate::text::{is_word, word_before};

const POSITIVE: &[Keyword] = &[
    kw("phone"),
    kw_whole("tel"),
    kw("telephone"),
    kw("mobil"),
    kw_whole("mob"),
    kw("cell"),
    kw_whole("call"),
    kw("calling"),
    kw_whole("fax"),
    kw("whatsapp"),
    kw_whole("sms"),
    kw("text me"),
    kw("contact"),
    kw("reach"),
    kw_whole("dial"),
    kw_whole("ring"),
    kw("hotline"),
    kw("helpline"),
    kw_whole("ph"),
    kw_whole("tlf"),
    kw_whole("tél"),
    kw_whole("cel"),
    kw_whole("tfno"),
    kw_whole("tfn"),
    kw_whole("fone"),
    kw_whole("telp"),
    kw_whole("natel"),
    kw("telefoon"),
    kw("komórka"),
    kw("telefon"),
    kw("teléfono"),
    kw("téléphone"),
    kw("telefone"),
    kw_whole("handy"),
    kw("portable"),
    kw("móvil"),
    kw("movil"),
    kw("celular"),
    kw("cellulare"),
    kw("numéro"),
    kw("número"),
    kw("numero"),
    kw("nummer"),
    kw("rufnummer"),
    kw("电话"),
    kw("手机"),
    kw("電話"),
    kw("携帯"),
    kw("座机"),
    kw("휴대폰"),
    kw("هاتف"),
    kw("전화"),
    kw("연락처"),
    kw("телефон"),
    kw("тел"),
    kw("Телефон"),
    kw("Тел"),
];

const NEGATIVE: &[Keyword] = &[
    kw("order"),
    kw("invoice"),
    kw_whole("inv"),
    kw("ticket"),
    kw_whole("id"),
    kw_whole("ids"),
    kw_whole("ref"),
    kw("reference"),
    kw("account"),
    kw_whole("acct"),
    kw("tracking"),
    kw("serial"),
    kw_whole("sku"),
    kw("isbn"),
    kw("issn"),
    kw("version"),
    kw_whole("ver"),
    kw("build"),
    kw("release"),
    kw_whole("po"),
    kw_whole("case"),
    kw("batch"),
    kw_whole("lot"),
    kw("transaction"),
    kw_whole("txn"),
    kw("confirmation"),
    kw("routing"),
    kw_whole("zip"),
    kw("postal"),
    kw("postcode"),
    kw("amount"),
    kw("total"),
    kw("price"),
    kw("balance"),
    kw_whole("part"),
    kw("model"),
    kw("imei"),
    kw("iban"),
    kw("card"),
    kw_whole("ssn"),
    kw("patent"),
    kw_whole("doi"),
    kw("pmid"),
    kw("checksum"),
    kw("hash"),
    kw("population"),
    kw_whole("code"),
    kw("coupon"),
    kw("voucher"),
    kw("promo"),
    kw_whole("pin"),
    kw_whole("otp"),
    kw("password"),
    kw("passcode"),
    kw("verification"),
    kw("lottery"),
];

const KEY_WORDS: &[&str] = &["phone", "tel", "mobile", "fax", "cell", "msisdn", "whatsapp"];

struct Run {
    /// Offset of the `+` or first digit / `(`.
    start: usize,
    plus: bool,
    /// Byte ranges of the digit groups.
    groups: Vec<(usize, usize)>,
    /// `seps[k]` joins `groups[k]` and `groups[k + 1]`; `None` next to a parenthesis.
    seps: Vec<Option<Sep>>,
    /// Index of the parenthesised group, with the offset just after its `)`.
    paren: Option<(usize, usize)>,
    end: usize,
}

pub fn find(text: &str, key: &str, out: &mut Vec<Cand>) {
    let b = text.as_bytes();
    let key_hint = key_has(key, KEY_WORDS);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let opens = matches!(c, b'+' | b'(' | b'%') && (digit_at(b, i + 1) || plus_len(b, i) > 0);
        if !(opens || c.is_ascii_digit()) || !left_ok(b, i) {
            i += 1;
            continue;
        }
        let Some(run) = parse(b, i) else {
            i += 1;
            continue;
        };
        if let Some((s, e, score)) = best_candidate(b, &run, key_hint) {
            out.push(Cand { score, ..Cand::new(s, e, Detected::Phone) });
        }
        i = run.end.max(i + 1);
    }
}

fn left_ok(b: &[u8], i: usize) -> bool {
    if word_before(b, i) {
        return false;
    }
    if i == 0 {
        return true;
    }
    let p = b[i - 1];
    let pp = if i >= 2 { b[i - 2] } else { b' ' };
    match p {
        b'+' | b'#' | b'$' | b'@' | b'%' | b'&' | b'*' | b'^' | b'~' | b'\\' => false,
        b')' | b']' => false,
        // `12:30`, `1,5`, `v1.`, `path/123`: the number continues something.
        b'.' | b'/' => !is_word(pp),
        b',' | b':' => !pp.is_ascii_digit(),
        b'-' => !is_word(pp),
        // £ (C2 A3), ¥ (C2 A5), € (E2 82 AC), ₹ (E2 82 B9)
        0xA3 | 0xA5 if pp == 0xC2 => false,
        0xAC | 0xB9 if pp == 0x82 => false,
        _ => true,
    }
}

/// Length of an international prefix at `i` followed by a digit: `+`, `%2B`
/// (percent-encoded in a URL), `(+` (as in `(+44) 20 ...`).
fn plus_len(b: &[u8], i: usize) -> usize {
    let n = match b[i] {
        b'+' => 1,
        b'%' if b.get(i + 1) == Some(&b'2') && matches!(b.get(i + 2), Some(b'B' | b'b')) => 3,
        b'(' if b.get(i + 1) == Some(&b'+') => 2,
        _ => 0,
    };
    if n > 0 && digit_at(b, i + n) { n } else { 0 }
}

fn parse(b: &[u8], i: usize) -> Option<Run> {
    let pl = plus_len(b, i);
    let mut run = Run { start: i, plus: pl > 0, groups: Vec::new(), seps: Vec::new(), paren: None, end: i };
    let mut p = i + pl;
    if b[i] == b'(' && pl > 0 {
        // `(+44)`: the country code is the bracketed group.
        let gs = p;
        while digit_at(b, p) {
            p += 1;
        }
        if b.get(p) != Some(&b')') || p - gs > 3 {
            return None;
        }
        run.groups.push((gs, p));
        p += 1;
        run.paren = Some((0, p));
        let (sep, l) = match sep_at(b, p) {
            Some((s, l)) => (Some(s), l),
            None => (None, 0),
        };
        if !digit_at(b, p + l) {
            return None;
        }
        run.seps.push(sep);
        p += l;
    }
    loop {
        let mut in_paren = false;
        if b.get(p) == Some(&b'(') && digit_at(b, p + 1) {
            if run.paren.is_some() {
                break;
            }
            in_paren = true;
            p += 1;
        }
        let gs = p;
        while digit_at(b, p) {
            p += 1;
        }
        run.groups.push((gs, p));
        if in_paren {
            if b.get(p) != Some(&b')') {
                // `(415-555` : not a phone shape; give up on the whole run.
                return None;
            }
            p += 1;
            run.paren = Some((run.groups.len() - 1, p));
        }
        // Too many groups is a table of numbers, not a phone number.
        if run.groups.len() > 8 {
            run.end = p;
            run.groups.clear();
            return Some(run);
        }
        let mut q = p;
        let mut sep = None;
        if let Some((s, l)) = sep_at(b, q) {
            sep = Some(s);
            q += l;
        }
        let paren_next = b.get(q) == Some(&b'(') && digit_at(b, q + 1) && run.paren.is_none();
        if digit_at(b, q) || paren_next {
            // Without a separator, groups only meet at a parenthesis.
            if sep.is_none() && !paren_next && run.paren.map(|(_, e)| e) != Some(p) {
                break;
            }
            run.seps.push(sep);
            p = q;
            continue;
        }
        break;
    }
    run.end = p;
    Some(run)
}

/// The best phone number inside `run`: the whole run, or the run less up to three
/// trailing groups split off at spaces ("call 415 555 2671 2 times").
fn best_candidate(b: &[u8], run: &Run, key_hint: bool) -> Option<(usize, usize, f32)> {
    let n = run.groups.len();
    if n == 0 {
        return None;
    }
    // The words before a candidate depend only on where it starts.
    let mut ctx_before = None;
    for last in (0..n).rev().take(4) {
        if last + 1 < n && run.seps[last] != Some(Sep::Space) {
            continue;
        }
        let cand = Candidate { b, run, last };
        if let Some(score) = cand.classify(key_hint, &mut ctx_before) {
            return Some((cand.start(), cand.end(), score));
        }
    }
    None
}

struct Candidate<'a> {
    b: &'a [u8],
    run: &'a Run,
    last: usize,
}

impl Candidate<'_> {
    fn start(&self) -> usize {
        self.run.start
    }

    fn end(&self) -> usize {
        let g = self.run.groups[self.last].1;
        match self.run.paren {
            Some((k, e)) if k == self.last => e,
            _ => g,
        }
    }

    fn lens(&self) -> Vec<usize> {
        self.run.groups[..=self.last].iter().map(|(s, e)| e - s).collect()
    }

    fn digits(&self) -> Vec<u8> {
        let mut d = Vec::with_capacity(16);
        for &(s, e) in &self.run.groups[..=self.last] {
            d.extend_from_slice(&self.b[s..e]);
        }
        d
    }

    fn seps(&self) -> &[Option<Sep>] {
        &self.run.seps[..self.last]
    }

    fn paren(&self) -> Option<usize> {
        self.run.paren.and_then(|(k, _)| (k <= self.last).then_some(k))
    }

    /// What follows the number must not continue it (`2671.5`, `2671-3`, `12:30`,
    /// `2671@sms.net`, `50%`, `2671abc`).
    fn right_ok(&self) -> bool {
        let b = self.b;
        let j = self.end();
        if j >= b.len() {
            return true;
        }
        if is_word(b[j]) || matches!(b[j], b'@' | b'%') {
            return false;
        }
        if matches!(b[j], b'.' | b',' | b':' | b'-' | b'/' | b'+') && digit_at(b, j + 1) {
            return false;
        }
        true
    }

    /// `UPS 1Z 999 AA1 01 2345 6784`: a number right after a code that ends in
    /// a digit continues that code.
    fn after_code(&self) -> bool {
        let s = self.start();
        s >= 2 && self.b[s - 1] == b' ' && self.b[s - 2].is_ascii_digit()
    }

    fn context(&self, key_hint: bool, cache: &mut Option<Context>) -> Context {
        let ctx = *cache.get_or_insert_with(|| context_before(self.b, self.start(), 40, POSITIVE, NEGATIVE));
        if ctx == Context::None && (key_hint || keyword_after(self.b, self.end(), 14, POSITIVE)) {
            return Context::Positive;
        }
        ctx
    }

    fn classify(&self, key_hint: bool, cache: &mut Option<Context>) -> Option<f32> {
        let d = self.digits();
        let n = d.len();
        if !(7..=15).contains(&n) || !self.right_ok() {
            return None;
        }
        let lens = self.lens();
        let seps = self.seps();
        let sep = !seps.is_empty();
        if is_date(&d, &lens, seps)
            || is_dotted_quad(&lens, seps)
            || (!self.run.plus && is_range_or_decimal(&d, &lens, seps))
        {
            return None;
        }
        let paren = self.paren();
        if self.run.plus {
            let bare_ok = sep || n >= 10;
            // `+44 (0)20 ...`: the bracketed trunk zero is not dialled from abroad.
            let d = match paren {
                Some(k) if lens[k] == 1 && d[lens[..k].iter().sum::<usize>()] == b'0' => {
                    let at = lens[..k].iter().sum::<usize>();
                    [&d[..at], &d[at + 1..]].concat()
                }
                _ => d,
            };
            let ok = international(&d) && !placeholder(&d[country_code_len(&d).unwrap_or(0)..]);
            if ok && (bare_ok || self.context(key_hint, cache) == Context::Positive) {
                return Some(0.9);
            }
            return None;
        }
        if placeholder(&d) || self.after_code() {
            return None;
        }
        let ctx = self.context(key_hint, cache);
        if ctx == Context::Negative {
            return None;
        }
        // Apart from the leading `1` of a North American number, single digits
        // are not phone groups ("1 0 0 1", "3.2.1").
        // ... nor of the `8` trunk prefix of Russian numbers (`8 (495) 123-45-67`).
        let small_groups =
            lens.iter().enumerate().any(|(k, &l)| l < 2 && !(k == 0 && (d[0] == b'1' || (d[0] == b'8' && n == 11))));
        let mixed_dots = seps.contains(&Some(Sep::Dot)) && seps.iter().any(|s| *s != Some(Sep::Dot));
        let structural = sep && !small_groups && !mixed_dots;

        // International access code `00` + country code, with separators, the
        // country code written as a group of its own (`0044 20 ...`, `00 44 20 ...`).
        if structural && n >= 10 && d[0] == b'0' && d[1] == b'0' && intl_prefix_group(&d, &lens) {
            return Some(0.75);
        }
        if structural && nanp(&d, &lens, paren) {
            return Some(0.85);
        }
        if structural && trunk_zero(&d, &lens, seps, paren) {
            return Some(0.75);
        }
        if structural && mobile_or_area(&d, &lens, seps, paren) {
            return Some(0.7);
        }
        if ctx == Context::Positive && !small_groups && (!sep || lens.iter().all(|&l| l >= 2)) {
            return Some(0.7);
        }
        None
    }
}

/// `2024-01-15`, `15/01/2024`, `03.04.25`, `2024-01-15 12`: the first three
/// groups read as a date and nothing but a time (after a space) follows.
fn is_date(d: &[u8], lens: &[usize], seps: &[Option<Sep>]) -> bool {
    if lens.len() < 3 || seps[0] != seps[1] || !matches!(seps[0], Some(Sep::Dash | Sep::Dot | Sep::Slash)) {
        return false;
    }
    if lens.len() > 3 && seps[2] != Some(Sep::Space) {
        return false;
    }
    let num = |from: usize, len: usize| d[from..from + len].iter().fold(0u32, |a, c| a * 10 + u32::from(c - b'0'));
    let (a, b, c) = (num(0, lens[0]), num(lens[0], lens[1]), num(lens[0] + lens[1], lens[2]));
    match (lens[0], lens[1], lens[2]) {
        (4, 1..=2, 1..=2) => (1900..=2100).contains(&a) && (1..=12).contains(&b) && (1..=31).contains(&c),
        (1..=2, 1..=2, 2 | 4) => {
            (1..=31).contains(&a)
                && (1..=31).contains(&b)
                && (a <= 12 || b <= 12)
                && (lens[2] == 2 || (1900..=2100).contains(&c))
        }
        _ => false,
    }
}

/// `64000-64999` (a range: two equal-length groups, the second larger) and
/// `1234567.89` (a decimal: one dot).
fn is_range_or_decimal(d: &[u8], lens: &[usize], seps: &[Option<Sep>]) -> bool {
    match (lens, seps) {
        ([a, b], [Some(Sep::Dash)]) => a == b && d[*a..] > d[..*a],
        (_, [Some(Sep::Dot)]) => true,
        _ => false,
    }
}

/// `192.168.1.20`: four short dotted groups are an IPv4 address or a version.
fn is_dotted_quad(lens: &[usize], seps: &[Option<Sep>]) -> bool {
    lens.len() == 4 && lens.iter().all(|&l| l <= 3) && seps.iter().all(|s| *s == Some(Sep::Dot))
}

/// North American Numbering Plan: `NXX NXX XXXX`, optionally led by `1`.
fn nanp(d: &[u8], lens: &[usize], paren: Option<usize>) -> bool {
    let core = match (d.len(), d[0]) {
        (10, _) => d,
        (11, b'1') => &d[1..],
        _ => return false,
    };
    // The exchange is not checked: fictional numbers (`555-123-4567`) are
    // written as phone numbers all the time, and `NXX-NXX-XXXX` with
    // separators has no other common reading.
    let area_ok = core[0] >= b'2' && !(core[1] == b'1' && core[2] == b'1');
    let shape = matches!(lens, [3, 3, 4] | [1, 3, 3, 4] | [3, 7] | [1, 3, 7]);
    let paren_ok = match paren {
        None => !matches!(lens, [3, 7] | [1, 3, 7]),
        Some(k) => lens[k] == 3,
    };
    area_ok && shape && paren_ok
}

/// A national number dialled with trunk prefix `0` (most of Europe, UK,
/// Australia, Japan, ...): 9-12 digits in groups of 2-8, the first of 2-5.
fn trunk_zero(d: &[u8], lens: &[usize], seps: &[Option<Sep>], paren: Option<usize>) -> bool {
    if d[0] != b'0' || d[1] == b'0' || !(9..=12).contains(&d.len()) {
        return false;
    }
    if paren.is_some_and(|k| k != 0) {
        return false;
    }
    // `078-05-1120` is the shape of a US social security number, `02134-1234`
    // of a ZIP+4 code.
    if (lens == [3, 2, 4] || lens == [5, 4]) && seps.iter().all(|s| *s == Some(Sep::Dash)) {
        return false;
    }
    (2..=5).contains(&lens[0]) && lens[1..].iter().all(|l| (2..=8).contains(l))
}

/// Shapes common without a trunk prefix: Chinese mobiles (`138 1234 5678`),
/// Indian mobiles (`98765 43210`), area codes in parentheses (`(11) 91234-5678`).
fn mobile_or_area(d: &[u8], lens: &[usize], seps: &[Option<Sep>], paren: Option<usize>) -> bool {
    let china = d.len() == 11 && d[0] == b'1' && (b'3'..=b'9').contains(&d[1]) && lens == [3, 4, 4];
    let india = d.len() == 10 && (b'6'..=b'9').contains(&d[0]) && lens == [5, 5] && seps == [Some(Sep::Space)];
    let area = paren == Some(0) && (2..=4).contains(&lens[0]) && (9..=11).contains(&d.len());
    let russia = d.len() == 11 && d[0] == b'8' && paren == Some(1) && lens[0] == 1 && lens[1] == 3;
    china || india || area || russia
}

/// `00` followed by a country code that fills the rest of its group
/// (`0044`, or `00` then `44`).
fn intl_prefix_group(d: &[u8], lens: &[usize]) -> bool {
    let Some(cc) = country_code_len(&d[2..]) else { return false };
    match lens {
        [2, next, ..] => *next == cc,
        [first, ..] => *first == 2 + cc,
        [] => false,
    }
}

/// Whether `d` (without the `+`) is a plausible international number: an
/// assigned country code and, for countries with a fixed numbering length, that
/// length (`+1` is always 11 digits with a valid area code).
fn international(d: &[u8]) -> bool {
    let Some(cc) = country_code_len(d) else { return false };
    let n = d.len();
    let code = d[..cc].iter().fold(0u32, |a, c| a * 10 + u32::from(c - b'0'));
    let range = match code {
        1 => return n == 11 && d[1] >= b'2',
        7 | 27 | 31 | 33 | 34 | 40 | 41 | 61 => 11..=11,
        20 | 44 | 81 => 11..=12,
        30 | 90 | 91 => 12..=12,
        32 | 36 => 10..=11,
        45 | 47 | 65 => 10..=10,
        48 => 11..=11,
        52 | 55 | 86 => 12..=13,
        82 => 10..=12,
        39 => 9..=13,
        46 => 8..=12,
        _ => 8..=15,
    };
    range.contains(&n)
}

/// Placeholder digits: `555-555-5555`, `000 0000`, `(999) 999-9999` (at most two
/// distinct digits), `123-456-7890`, and a subscriber part that is a filler after a real
/// looking prefix (`+1 (555) 010-0000`: the last seven digits of two kinds, ending `0000`).
fn placeholder(d: &[u8]) -> bool {
    let distinct = |d: &[u8]| {
        let mut seen = [false; 10];
        for c in d {
            seen[usize::from(c - b'0')] = true;
        }
        seen.iter().filter(|x| **x).count()
    };
    distinct(d) <= 2
        || d.ends_with(b"1234567890")
        || (d.len() >= 10 && d.ends_with(b"0000") && distinct(&d[d.len() - 7..]) <= 2)
}

/// Length of the ITU country calling code `d` starts with.
fn country_code_len(d: &[u8]) -> Option<usize> {
    if d.len() < 3 {
        return None;
    }
    let two = (d[0] - b'0') * 10 + (d[1] - b'0');
    match d[0] {
        b'1' | b'7' => Some(1),
        b'0' => None,
        _ if matches!(
            two,
            20 | 27 | 30..=34 | 36 | 39 | 40 | 41 | 43..=49 | 51..=58 | 60..=66 | 81 | 82 | 84 | 86 | 90..=95 | 98
        ) =>
        {
            Some(2)
        }
        _ if matches!(two, 21..=26 | 29 | 35 | 37 | 38 | 42 | 50 | 59 | 67..=69 | 80 | 85 | 87 | 88 | 96 | 97 | 99) => {
            Some(3)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phones_in(t: &str, key: &str) -> Vec<String> {
        let mut v = Vec::new();
        find(t, key, &mut v);
        v.iter().map(|c| t[c.start..c.end].to_string()).collect()
    }

    fn phones(t: &str) -> Vec<String> {
        phones_in(t, "")
    }

    #[test]
    fn international() {
        assert_eq!(phones("Call +44 20 7946 0958."), ["+44 20 7946 0958"]);
        assert_eq!(phones("+1 (415) 555-2671"), ["+1 (415) 555-2671"]);
        assert_eq!(phones("+44 (0)20 7946 0958"), ["+44 (0)20 7946 0958"]);
        assert_eq!(phones("tel:+14155552671"), ["+14155552671"]);
        assert_eq!(phones("0044 20 7946 0958"), ["0044 20 7946 0958"]);
        assert_eq!(phones("(+44) 20 7946 0958"), ["(+44) 20 7946 0958"]);
        assert_eq!(phones("?to=%2B442079460958&x=1"), ["%2B442079460958"]);
        assert_eq!(
            phones("+33\u{a0}6\u{a0}12\u{a0}34\u{a0}56\u{a0}78"),
            ["+33\u{a0}6\u{a0}12\u{a0}34\u{a0}56\u{a0}78"]
        );
    }

    #[test]
    fn national() {
        assert_eq!(phones("(212) 555-0147."), ["(212) 555-0147"]);
        assert_eq!(phones("at 415.555.2671"), ["415.555.2671"]);
        assert_eq!(phones("1-800-555-0199"), ["1-800-555-0199"]);
        assert_eq!(phones("555-123-4567"), ["555-123-4567"]);
        // A filler subscriber part is a placeholder; a real main line ending 0000 is not.
        assert!(phones("Phone: +1 (555) 010-0000, replace with yours").is_empty());
        assert_eq!(phones("+1 650-253-0000"), ["+1 650-253-0000"]);
        assert_eq!(phones("020 7946 0958"), ["020 7946 0958"]);
        assert_eq!(phones("call 020 7946 0958 2 times"), ["020 7946 0958"]);
        assert_eq!(phones("8 (495) 123-45-67"), ["8 (495) 123-45-67"]);
        assert_eq!(phones("01 23 45 67 89"), ["01 23 45 67 89"]);
        assert_eq!(phones("03-1234-5678（平日）"), ["03-1234-5678"]);
        assert_eq!(phones("(11) 91234-5678"), ["(11) 91234-5678"]);
        assert_eq!(phones("06.12.34.56.78"), ["06.12.34.56.78"]);
    }

    #[test]
    fn context_needed() {
        assert!(phones("4155552671").is_empty());
        assert_eq!(phones("Phone number: 4155552671"), ["4155552671"]);
        assert_eq!(phones_in("4155552671", "/customer/phone"), ["4155552671"]);
        assert_eq!(phones("call 555-1234"), ["555-1234"]);
        assert!(phones("hotel 555-1234").is_empty());
    }

    #[test]
    fn not_phones() {
        for t in [
            "2024-01-15 12:30",
            "15/01/2024",
            "10.0.19045.3803",
            "192.168.1.20",
            "12 + 34 = 46",
            "1 234 567",
            "ISBN 978-3-16-148410-0",
            "$415-555-2671",
            "order 415-555-2671",
            "v020 7946 0958",
            "12:30:45",
            "0.25 0.5",
            "3.14159265358",
            "id 020 7946 0958",
            "4111 1111 1111 1111",
            "1 0 0 0 1 0 0 0 1",
            "078-05-1120",
            "03.04.2025 10",
            "2+2=4 +5",
            "UPS 1Z 999 AA1 01 2345 6784",
            "+1 555 0100",
            "555-555-5555",
            "(999) 999-9999",
            "coupon 0800 1234 5678",
            "Boston, MA 02134-1234",
            "gid 64040-64044",
            "mobile 197001010000.00",
            "de ad be ef 00 11 22 33 44 55 66 77",
        ] {
            assert!(phones(t).is_empty(), "{t}: {:?}", phones(t));
        }
    }
}
