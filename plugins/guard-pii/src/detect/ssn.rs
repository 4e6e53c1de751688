//! US Social Security numbers: `AAA-GG-SSSS` on its own; `AAA GG SSSS` and bare
//! `AAAGGSSSS` only next to words such as "SSN" or "social security" (or in a
//! field named like `ssn`). Numbers that the SSA never issues are not SSNs: area
//! 000, 666 or 900-999 (ITINs and advertising numbers), group 00, serial 0000.

use super::{Cand, Detected};
use crate::text::{Context, Keyword, context_before, digit_at, is_word, key_has, kw, kw_whole, word_before};

const POSITIVE: &[Keyword] = &[
    kw_whole("ssn"),
    kw_whole("ssns"),
    kw("social security"),
    kw("social-security"),
    kw("soc sec"),
    kw_whole("ss#"),
    kw("ss no"),
    kw_whole("ssa"),
    kw("taxpayer"),
    kw_whole("tin"),
];

const NEGATIVE: &[Keyword] = &[
    kw_whole("part"),
    kw("model"),
    kw_whole("lot"),
    kw("order"),
    kw("invoice"),
    kw("ticket"),
    kw_whole("case"),
    kw_whole("ref"),
    kw("tracking"),
    kw("serial"),
    kw_whole("sku"),
    kw("phone"),
    kw_whole("tel"),
    kw_whole("fax"),
];

const KEY_WORDS: &[&str] = &["ssn", "social", "socsec"];

pub fn find(text: &str, key: &str, out: &mut Vec<Cand>) {
    let b = text.as_bytes();
    let key_hint = key_has(key, KEY_WORDS);
    let mut i = 0;
    while i + 9 <= b.len() {
        if !b[i].is_ascii_digit() || !left_ok(b, i) {
            i += 1;
            continue;
        }
        match at(b, i, key_hint) {
            Some((end, score)) => {
                out.push(Cand { score, ..Cand::new(i, end, Detected::Ssn) });
                i = end;
            }
            None => {
                // Skip the rest of this digit run: an SSN never starts inside one.
                while digit_at(b, i) {
                    i += 1;
                }
            }
        }
    }
}

fn left_ok(b: &[u8], i: usize) -> bool {
    if word_before(b, i) {
        return false;
    }
    if i == 0 {
        return true;
    }
    let pp = if i >= 2 { b[i - 2] } else { b' ' };
    match b[i - 1] {
        b'+' | b'$' | b'@' | b'%' | b'\\' | b'.' => false,
        b'-' | b'/' | b',' => !is_word(pp),
        b':' => !pp.is_ascii_digit(),
        _ => true,
    }
}

fn at(b: &[u8], i: usize, key_hint: bool) -> Option<(usize, f32)> {
    let digits = |from: usize, n: usize| (from..from + n).all(|k| digit_at(b, k));
    if !digits(i, 3) {
        return None;
    }
    let sep = b.get(i + 3).copied()?;
    let (end, dashed) = match sep {
        b'-' | b' ' if digits(i + 4, 2) && b.get(i + 6) == Some(&sep) && digits(i + 7, 4) => (i + 11, sep == b'-'),
        _ if digits(i, 9) => (i + 9, false),
        _ => return None,
    };
    if end < b.len() && (is_word(b[end]) || (matches!(b[end], b'-' | b'.' | b'/' | b',') && digit_at(b, end + 1))) {
        return None;
    }
    let d: Vec<u8> = b[i..end].iter().copied().filter(u8::is_ascii_digit).collect();
    if !valid(&d) {
        return None;
    }
    let ctx = context_before(b, i, 40, POSITIVE, NEGATIVE);
    let ctx = if ctx == Context::None && key_hint { Context::Positive } else { ctx };
    match (dashed, ctx) {
        (_, Context::Negative) => None,
        (_, Context::Positive) => Some((end, 0.95)),
        (true, Context::None) => Some((end, 0.8)),
        (false, Context::None) => None,
    }
}

/// Whether nine digits are an SSN the SSA could have issued.
pub fn valid(d: &[u8]) -> bool {
    if d.len() != 9 {
        return false;
    }
    let area = &d[0..3];
    area != b"000" && area != b"666" && area[0] != b'9' && &d[3..5] != b"00" && &d[5..9] != b"0000"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssns_in<'a>(t: &'a str, key: &str) -> Vec<&'a str> {
        let mut v = Vec::new();
        find(t, key, &mut v);
        v.iter().map(|c| &t[c.start..c.end]).collect()
    }

    fn ssns(t: &str) -> Vec<&str> {
        ssns_in(t, "")
    }

    #[test]
    fn ranges() {
        assert!(valid(b"536228731"));
        assert!(valid(b"078051120"));
        for bad in ["000123456", "666456789", "987654321", "900112222", "123004567", "123450000"] {
            assert!(!valid(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn finds_ssns() {
        assert_eq!(ssns("SSN: 536-22-8731"), ["536-22-8731"]);
        assert_eq!(ssns("536-22-8731"), ["536-22-8731"]);
        assert_eq!(ssns("ssn 536 22 8731"), ["536 22 8731"]);
        assert_eq!(ssns("ssn=536228731"), ["536228731"]);
        assert_eq!(ssns("SSN#536-22-8731"), ["536-22-8731"]);
        assert_eq!(ssns_in("536228731", "/employee/ssn"), ["536228731"]);
    }

    #[test]
    fn skips_non_ssns() {
        for t in [
            "536 22 8731",
            "536228731",
            "000-12-3456",
            "987-65-4321",
            "123-45-678",
            "1536-22-8731",
            "536-22-87311",
            "part 536-22-8731",
            "2023-536-22-8731",
        ] {
            assert!(ssns(t).is_empty(), "{t}");
        }
    }
}
