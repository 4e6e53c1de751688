//! International Bank Account Numbers: country code, two check digits and the
//! country's BBAN, written bare or in groups separated by single spaces
//! (`GB82 WEST 1234 5698 7654 32`). The length must be the one registered for the
//! country and the whole number must pass the ISO 7064 mod-97 check.

use super::{Cand, Detected};
use crate::text::word_before;

/// IBAN lengths by country (SWIFT IBAN registry).
const LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HN", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

fn country_length(cc: [u8; 2]) -> Option<usize> {
    LENGTHS.iter().find(|(c, _)| **c == cc).map(|(_, l)| *l)
}

pub fn find(text: &str, out: &mut Vec<Cand>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i + 4 <= b.len() {
        // Cheap test first: most positions are not two letters and a digit.
        if !b[i + 2].is_ascii_digit() || !b[i].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        if let Some(end) = at(b, i) {
            out.push(Cand::new(i, end, Detected::Iban));
            i = end;
        } else {
            i += 1;
        }
    }
}

fn at(b: &[u8], i: usize) -> Option<usize> {
    let (c0, c1) = (b[i], b[i + 1]);
    let upper = c0.is_ascii_uppercase() && c1.is_ascii_uppercase();
    let lower = c0.is_ascii_lowercase() && c1.is_ascii_lowercase();
    if !(upper || lower) || !b[i + 2].is_ascii_digit() || !b[i + 3].is_ascii_digit() || word_before(b, i) {
        return None;
    }
    let len = country_length([c0.to_ascii_uppercase(), c1.to_ascii_uppercase()])?;
    // Collect `len` alphanumerics, allowing a single space between groups.
    let mut chars = Vec::with_capacity(len);
    let mut p = i;
    let mut spaced = false;
    while chars.len() < len {
        let c = *b.get(p)?;
        if c.is_ascii_alphanumeric() {
            // Letters keep the case of the country code (no `DE89 3704 abc`).
            if (upper && c.is_ascii_lowercase()) || (lower && c.is_ascii_uppercase()) {
                return None;
            }
            chars.push(c.to_ascii_uppercase());
            p += 1;
        } else if c == b' ' && chars.len() >= 4 && b.get(p + 1).is_some_and(u8::is_ascii_alphanumeric) {
            spaced = true;
            p += 1;
        } else {
            return None;
        }
    }
    if b.get(p).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
        return None;
    }
    // Written in groups, the groups are of four (the last may be shorter).
    if spaced && !groups_of_four(&b[i..p]) {
        return None;
    }
    mod97(&chars).then_some(p)
}

fn groups_of_four(s: &[u8]) -> bool {
    let parts: Vec<&[u8]> = s.split(|c| *c == b' ').collect();
    match parts.split_last() {
        Some((last, rest)) => rest.iter().all(|g| g.len() == 4) && (1..=4).contains(&last.len()),
        None => false,
    }
}

/// ISO 7064 MOD 97-10 over the rearranged IBAN (country code and check digits
/// moved to the end, letters as 10..35): valid when the remainder is 1.
pub fn mod97(iban: &[u8]) -> bool {
    if iban.len() < 5 {
        return false;
    }
    let check = (iban[2] - b'0') * 10 + (iban[3] - b'0');
    if !(2..=98).contains(&check) {
        return false;
    }
    let mut r: u32 = 0;
    for &c in iban[4..].iter().chain(&iban[..4]) {
        let v = if c.is_ascii_digit() { u32::from(c - b'0') } else { u32::from(c - b'A') + 10 };
        r = if v >= 10 { (r * 100 + v) % 97 } else { (r * 10 + v) % 97 };
    }
    r == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ibans(t: &str) -> Vec<&str> {
        let mut v = Vec::new();
        find(t, &mut v);
        v.iter().map(|c| &t[c.start..c.end]).collect()
    }

    #[test]
    fn mod97_checks() {
        assert!(mod97(b"GB82WEST12345698765432"));
        assert!(mod97(b"DE89370400440532013000"));
        assert!(mod97(b"FR1420041010050500013M02606"));
        assert!(!mod97(b"DE89370400440532013001"));
        assert!(!mod97(b"GB00WEST12345698765432"));
    }

    #[test]
    fn finds_ibans() {
        assert_eq!(ibans("to GB82 WEST 1234 5698 7654 32."), ["GB82 WEST 1234 5698 7654 32"]);
        assert_eq!(ibans("iban:DE89370400440532013000"), ["DE89370400440532013000"]);
        assert_eq!(ibans("nl91abna0417164300"), ["nl91abna0417164300"]);
        assert_eq!(ibans("NO9386011117947 and BE68539007547034"), ["NO9386011117947", "BE68539007547034"]);
    }

    #[test]
    fn skips_non_ibans() {
        for t in [
            "DE89 3704 0044 0532 0130 01",
            "DE89370400440532013000X",
            "xDE89370400440532013000",
            "DE89 37040044 0532013000",
            "GB12 ABCD 3456",
            "DE45-2210",
        ] {
            assert!(ibans(t).is_empty(), "{t}");
        }
    }
}
