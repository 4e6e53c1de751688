//! Bounded decoding of the encodings attackers layer over a payload: percent
//! escapes (a few rounds, so `%252e` is seen as `.`), IIS `%u002e`, and overlong
//! UTF-8 forms of ASCII (`%c0%af` = `/`), which lenient decoders accept.

use std::borrow::Cow;

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// One round of percent-decoding (and `%uXXXX`), with overlong UTF-8 sequences for
/// ASCII folded to the ASCII byte. `None` when nothing changed.
pub(crate) fn percent_once(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if !b.contains(&b'%') {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut changed = false;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let (Some(h), Some(l)) = (b.get(i + 1).and_then(|&c| hex(c)), b.get(i + 2).and_then(|&c| hex(c))) {
                out.push(h << 4 | l);
                i += 3;
                changed = true;
                continue;
            }
            if matches!(b.get(i + 1), Some(b'u' | b'U'))
                && let Some(v) = b
                    .get(i + 2..i + 6)
                    .and_then(|q| q.iter().try_fold(0u32, |acc, &c| Some(acc << 4 | u32::from(hex(c)?))))
                && let Some(c) = char::from_u32(v)
            {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i += 6;
                changed = true;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    if !changed {
        return None;
    }
    Some(fold_overlong(&out))
}

/// Overlong two- and three-byte encodings of ASCII (`C0 AE`, `E0 80 AF`) become
/// the ASCII byte; other invalid UTF-8 is replaced.
fn fold_overlong(b: &[u8]) -> String {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            0xC0 | 0xC1 if b.get(i + 1).is_some_and(|&c| c & 0xC0 == 0x80) => {
                out.push(((b[i] & 0x1F) << 6) | (b[i + 1] & 0x3F));
                i += 2;
            }
            0xE0 if b.get(i + 1) == Some(&0x80) && b.get(i + 2).is_some_and(|&c| c & 0xC0 == 0x80) => {
                out.push(b[i + 2] & 0x3F);
                i += 3;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Up to `rounds` rounds of [`percent_once`]; the last result.
pub(crate) fn percent_rounds(s: &str, rounds: usize) -> Cow<'_, str> {
    let mut cur: Cow<'_, str> = Cow::Borrowed(s);
    for _ in 0..rounds {
        match percent_once(&cur) {
            Some(next) => cur = Cow::Owned(next),
            None => break,
        }
    }
    cur
}

/// `s` and each distinct decoding of it (at most `rounds` more).
pub(crate) fn variants(s: &str, rounds: usize) -> Vec<Cow<'_, str>> {
    let mut out = vec![Cow::Borrowed(s)];
    for _ in 0..rounds {
        let Some(last) = out.last() else { break };
        match percent_once(last) {
            Some(next) => out.push(Cow::Owned(next)),
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_and_overlong() {
        assert_eq!(percent_rounds("%252e%252e%252f", 3), "../");
        assert_eq!(percent_rounds("..%c0%af..%c0%afetc", 3), "../../etc");
        assert_eq!(percent_rounds("%u002e%u002e/", 3), "../");
        assert_eq!(percent_rounds("%e0%80%ae", 3), ".");
        assert_eq!(percent_rounds("100%", 3), "100%");
        assert_eq!(variants("%2541", 4).len(), 3);
    }
}
