//! Payment card numbers: 13-19 digits, bare or in groups joined by spaces or
//! dashes (`4111 1111 1111 1111`, `3782-822463-10005`), that pass the Luhn check
//! and start with an issuer prefix of a card network at a length that network
//! issues (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro,
//! Mir, RuPay, Troy). Numbers after "IMEI", "tracking", "ISBN", "order", ...
//! are not cards; masked numbers (`**** 4242`) never match.

use super::{Cand, Detected};
use crate::text::{Context, Keyword, Sep, context_before, digit_at, is_word, kw, kw_whole, sep_at, word_before};

const POSITIVE: &[Keyword] = &[
    kw("card"),
    kw("visa"),
    kw("mastercard"),
    kw("amex"),
    kw("credit"),
    kw("debit"),
    kw_whole("pan"),
    kw_whole("cc"),
    kw("payment"),
    kw_whole("pay"),
    kw("carte"),
    kw("tarjeta"),
    kw("karte"),
    kw("cartão"),
    kw("卡"),
];

const NEGATIVE: &[Keyword] = &[
    kw("imei"),
    kw("imsi"),
    kw("iccid"),
    kw("tracking"),
    kw("isbn"),
    kw_whole("ean"),
    kw_whole("upc"),
    kw("serial"),
    kw("order"),
    kw("invoice"),
    kw("ticket"),
    kw("transaction"),
    kw_whole("txn"),
    kw_whole("id"),
    kw("timestamp"),
    kw("epoch"),
];

pub fn find(text: &str, out: &mut Vec<Cand>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || !left_ok(b, i) {
            i += 1;
            continue;
        }
        let (groups, seps, end) = parse(b, i);
        if let Some((s, e, score)) = best(b, &groups, &seps, end) {
            out.push(Cand { score, ..Cand::new(s, e, Detected::Card) });
        }
        i = end.max(i + 1);
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
        b'+' | b'$' | b'.' | b'@' | b'%' | b'\\' => false,
        b',' | b'/' | b':' | b'-' => !is_word(pp),
        _ => true,
    }
}

type Groups = Vec<(usize, usize)>;

fn parse(b: &[u8], i: usize) -> (Groups, Vec<Sep>, usize) {
    let mut groups = Vec::new();
    let mut seps = Vec::new();
    let mut p = i;
    loop {
        let gs = p;
        while digit_at(b, p) {
            p += 1;
        }
        groups.push((gs, p));
        match sep_at(b, p) {
            // Dots too (some locales group cards with them), but never mixed with
            // other separators; shape_ok keeps IPs and versions out (a dotted card
            // has groups of four).
            Some((s @ (Sep::Space | Sep::Dash | Sep::Dot), l))
                if digit_at(b, p + l)
                    && groups.len() < 12
                    && seps.first().is_none_or(|f| (*f == Sep::Dot) == (s == Sep::Dot)) =>
            {
                seps.push(s);
                p += l;
            }
            _ => break,
        }
    }
    (groups, seps, p)
}

fn right_ok(b: &[u8], j: usize) -> bool {
    if j >= b.len() {
        return true;
    }
    if is_word(b[j]) || matches!(b[j], b'@' | b'%') {
        return false;
    }
    !(matches!(b[j], b'.' | b',' | b'-' | b'/' | b':') && digit_at(b, j + 1))
}

/// The whole run, or (in a short run) a card-shaped window of it split off at spaces.
fn best(b: &[u8], groups: &Groups, seps: &[Sep], end: usize) -> Option<(usize, usize, f32)> {
    let n = groups.len();
    if groups.iter().map(|(a, z)| z - a).sum::<usize>() < 13 {
        return None;
    }
    let windows: Vec<(usize, usize)> = if n <= 6 {
        let mut w = vec![(0, n - 1)];
        for s in 0..n {
            for e in s..n {
                if (s, e) != (0, n - 1)
                    && (s == 0 || seps[s - 1] == Sep::Space)
                    && (e + 1 == n || seps[e] == Sep::Space)
                {
                    w.push((s, e));
                }
            }
        }
        w
    } else {
        vec![(0, n - 1)]
    };
    for (s, e) in windows {
        let (start, stop) = (groups[s].0, groups[e].1);
        if e + 1 == n && !right_ok(b, end) {
            continue;
        }
        let lens: Vec<usize> = groups[s..=e].iter().map(|(a, z)| z - a).collect();
        if !shape_ok(&lens, &seps[s..e]) {
            continue;
        }
        let digits: Vec<u8> = groups[s..=e].iter().flat_map(|&(a, z)| b[a..z].iter().copied()).collect();
        if !(13..=19).contains(&digits.len()) || !luhn(&digits) {
            continue;
        }
        let ctx = context_before(b, start, 32, POSITIVE, NEGATIVE);
        // The issuer table cannot list every network (Maestro, local schemes): a
        // Luhn-valid number the text itself calls a card is one.
        if ctx == Context::Negative || (!issuer(&digits) && ctx != Context::Positive) {
            continue;
        }
        let score = if ctx == Context::Positive || lens.len() > 1 { 0.9 } else { 0.8 };
        return Some((start, stop, score));
    }
    None
}

/// Cards are written bare or in groups of 4 (Amex/Diners 4-6-5, 4-6-4), all
/// joined by the same separator.
fn shape_ok(lens: &[usize], seps: &[Sep]) -> bool {
    match lens {
        [_] => true,
        [first, mid @ .., last] => {
            *first == 4
                && mid.iter().all(|l| (3..=6).contains(l))
                && (1..=6).contains(last)
                && seps.windows(2).all(|w| w[0] == w[1])
        }
        [] => false,
    }
}

/// The Luhn (mod 10) check digit test.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (k, &c) in digits.iter().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if k % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// Whether the number starts with an issuer prefix (IIN) of a card network, at a
/// length that network issues.
fn issuer(d: &[u8]) -> bool {
    let p = |k: usize| d[..k].iter().fold(0u32, |a, c| a * 10 + u32::from(c - b'0'));
    let len = d.len();
    let (p1, p2, p3, p4, p6) = (p(1), p(2), p(3), p(4), p(6));
    match p1 {
        4 => matches!(len, 13 | 16 | 19),                      // Visa
        5 if (51..=55).contains(&p2) => len == 16,             // Mastercard
        5 if p2 == 50 || (56..=58).contains(&p2) => len >= 13, // Maestro
        2 if (2221..=2720).contains(&p4) => len == 16,         // Mastercard 2-series
        2 if (2200..=2204).contains(&p4) => len >= 16,         // Mir
        3 if p2 == 34 || p2 == 37 => len == 15,                // Amex
        3 if (3528..=3589).contains(&p4) => len >= 16,         // JCB
        3 if (300..=305).contains(&p3) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39 => len >= 14, // Diners
        6 if p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 => len >= 16, // Discover, RuPay
        6 if p2 == 62 || p2 == 60 || p2 == 63 || p2 == 67 || p2 == 69 => len >= 13, // UnionPay, Maestro, Troy-like
        6 if (622_126..=622_925).contains(&p6) => len >= 16,
        8 if p2 == 81 || p2 == 82 => len == 16, // RuPay / UnionPay 81
        9 if p4 == 9792 => len == 16,           // Troy
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cards(t: &str) -> Vec<&str> {
        let mut v = Vec::new();
        find(t, &mut v);
        v.iter().map(|c| &t[c.start..c.end]).collect()
    }

    #[test]
    fn luhn_checks() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"378282246310005"));
        assert!(luhn(b"79927398713"));
        assert!(!luhn(b"4111111111111112"));
        assert!(!luhn(b"79927398710"));
    }

    #[test]
    fn finds_cards() {
        assert_eq!(cards("card 4111 1111 1111 1111 exp 09/27"), ["4111 1111 1111 1111"]);
        assert_eq!(cards("4111-1111-1111-1111"), ["4111-1111-1111-1111"]);
        assert_eq!(cards("amex 3782 822463 10005."), ["3782 822463 10005"]);
        assert_eq!(cards("pan=5555555555554444&x"), ["5555555555554444"]);
        assert_eq!(cards("Karte\u{a0}4111\u{a0}1111\u{a0}1111\u{a0}1111"), ["4111\u{a0}1111\u{a0}1111\u{a0}1111"]);
        assert_eq!(cards("card 2 4111 1111 1111 1111"), ["4111 1111 1111 1111"]);
    }

    #[test]
    fn skips_non_cards() {
        for t in [
            "4111 1111 1111 1112",
            "**** **** **** 4242",
            "IMEI 490154203237518",
            "4111-1111 1111-1111",
            "1700000000000",
            "41111111111111111111111",
            "v4111111111111111",
            "4111111111111111.5",
            "1234 5678 9012 3456 7890 1234 5678 9012",
        ] {
            assert!(cards(t).is_empty(), "{t}");
        }
    }
}
