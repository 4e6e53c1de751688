//! Byte-level helpers shared by the detectors: word boundaries, separators and
//! context keywords. Every detector works on UTF-8 bytes and only ever splits at
//! ASCII bytes or at whole multi-byte separators, so spans stay on char boundaries.

/// ASCII letter, digit or underscore.
pub fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether the byte before `i` glues a match to a preceding word. A letter that is
/// the tail of a JSON escape (`\n`, `\t`, `\r`) does not: text holding JSON that was
/// encoded twice reads `...\nAlice@...`, and the `n` belongs to the escape.
pub fn word_before(b: &[u8], i: usize) -> bool {
    if i == 0 || !is_word(b[i - 1]) {
        return false;
    }
    !(i >= 2 && b[i - 2] == b'\\' && matches!(b[i - 1], b'n' | b'r' | b't' | b'b' | b'f'))
}

pub fn digit_at(b: &[u8], i: usize) -> bool {
    i < b.len() && b[i].is_ascii_digit()
}

/// Separator between groups of digits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Sep {
    Space,
    Dash,
    Dot,
    Slash,
}

/// The separator starting at `i`, with its length in bytes. Besides ASCII, the
/// typographic spaces and hyphens that word processors put into phone and card
/// numbers (no-break space, narrow no-break space, thin space, non-breaking hyphen,
/// en dash) count too.
pub fn sep_at(b: &[u8], i: usize) -> Option<(Sep, usize)> {
    match *b.get(i)? {
        b' ' => Some((Sep::Space, 1)),
        b'-' => Some((Sep::Dash, 1)),
        b'.' => Some((Sep::Dot, 1)),
        b'/' => Some((Sep::Slash, 1)),
        0xC2 if b.get(i + 1) == Some(&0xA0) => Some((Sep::Space, 2)),
        0xE2 => match (b.get(i + 1), b.get(i + 2)) {
            (Some(0x80), Some(0xAF | 0x89)) => Some((Sep::Space, 3)),
            (Some(0x80), Some(0x91 | 0x93)) => Some((Sep::Dash, 3)),
            _ => None,
        },
        _ => None,
    }
}

/// A context keyword: ASCII keywords match case-insensitively at the start of a
/// word; short ones (`whole`) must also end at a word end ("tel" is not "hotel",
/// "id" is not "idea").
pub struct Keyword {
    pub word: &'static str,
    pub whole: bool,
}

pub const fn kw(word: &'static str) -> Keyword {
    Keyword { word, whole: false }
}

pub const fn kw_whole(word: &'static str) -> Keyword {
    Keyword { word, whole: true }
}

fn eq_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() == needle.len() && hay.iter().zip(needle).all(|(a, b)| a.to_ascii_lowercase() == *b)
}

/// End offset (exclusive) of the last occurrence of any keyword in `b[from..to]`.
///
/// Only word starts are tried (ASCII keywords must begin a word; others begin
/// at a UTF-8 lead byte), and only keywords with the same first byte, so a
/// window costs a few comparisons per word rather than per keyword and byte.
pub fn last_keyword(b: &[u8], from: usize, to: usize, words: &[Keyword]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for s in from..to {
        let c = b[s].to_ascii_lowercase();
        let candidate = if c.is_ascii_alphabetic() { s == 0 || !b[s - 1].is_ascii_alphabetic() } else { c >= 0xC0 };
        if !candidate {
            continue;
        }
        for k in words {
            let n = k.word.as_bytes();
            if n[0] != c || s + n.len() > to || !eq_ignore_case(&b[s..s + n.len()], n) {
                continue;
            }
            let e = s + n.len();
            if k.whole && e < b.len() && b[e].is_ascii_alphabetic() {
                continue;
            }
            best = Some(best.map_or(e, |x: usize| x.max(e)));
        }
    }
    best
}

/// Which kind of context word sits closest before `start`, within `window` bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Context {
    Positive,
    Negative,
    None,
}

pub fn context_before(b: &[u8], start: usize, window: usize, pos: &[Keyword], neg: &[Keyword]) -> Context {
    let from = floor_char(b, start.saturating_sub(window));
    let p = last_keyword(b, from, start, pos);
    let n = last_keyword(b, from, start, neg);
    match (p, n) {
        (Some(p), Some(n)) if n > p => Context::Negative,
        (Some(_), _) => Context::Positive,
        (None, Some(_)) => Context::Negative,
        (None, None) => Context::None,
    }
}

/// Positive keywords right after a match ("555-0199 (mobile)").
pub fn keyword_after(b: &[u8], end: usize, window: usize, pos: &[Keyword]) -> bool {
    let to = ceil_char(b, (end + window).min(b.len()));
    last_keyword(b, end, to, pos).is_some()
}

fn floor_char(b: &[u8], mut i: usize) -> usize {
    while i > 0 && i < b.len() && (b[i] & 0xC0) == 0x80 {
        i -= 1;
    }
    i
}

fn ceil_char(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i] & 0xC0) == 0x80 {
        i += 1;
    }
    i
}

/// The last segment of a JSON Pointer, lower-cased, with `~1`/`~0` unescaped:
/// the name of the field a string came from is context too (`/customer/phone`).
pub fn path_key(path: &str) -> String {
    let seg = path.rsplit('/').next().unwrap_or("");
    seg.replace("~1", "/").replace("~0", "~").to_ascii_lowercase()
}

/// Whether a field name contains any of `words` (as a substring: `mobile_no`,
/// `customerPhone`, `ssn_last4`).
pub fn key_has(key: &str, words: &[&str]) -> bool {
    words.iter().any(|w| key.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POS: &[Keyword] = &[kw("phone"), kw_whole("tel")];
    const NEG: &[Keyword] = &[kw("order"), kw_whole("id")];

    #[test]
    fn keywords_respect_word_starts_and_ends() {
        let t = b"hotel 12";
        assert_eq!(context_before(t, 6, 32, POS, NEG), Context::None);
        let t = b"Tel: 12";
        assert_eq!(context_before(t, 5, 32, POS, NEG), Context::Positive);
        // Keywords start words: "phone" inside "telephone" does not count.
        let t = b"telephone 12";
        assert_eq!(context_before(t, 10, 32, POS, NEG), Context::None);
        let t = b"phones: 12";
        assert_eq!(context_before(t, 8, 32, POS, NEG), Context::Positive);
        let t = b"valid 12";
        assert_eq!(context_before(t, 6, 32, POS, NEG), Context::None);
    }

    #[test]
    fn nearest_keyword_wins() {
        let t = b"phone for order 12";
        assert_eq!(context_before(t, 16, 32, POS, NEG), Context::Negative);
        let t = b"order: call phone 12";
        assert_eq!(context_before(t, 18, 32, POS, NEG), Context::Positive);
    }

    #[test]
    fn window_is_char_safe() {
        let t = "ééééééééé phone 1".as_bytes();
        assert_eq!(context_before(t, t.len() - 1, 9, POS, NEG), Context::Positive);
        assert_eq!(context_before(t, 3, 2, POS, NEG), Context::None);
    }

    #[test]
    fn escapes_are_not_words() {
        assert!(!word_before(br"\nabc", 2));
        assert!(word_before(b"xnabc", 2));
        assert!(!word_before(b" abc", 1));
    }

    #[test]
    fn path_keys() {
        assert_eq!(path_key("/customer/mobilePhone"), "mobilephone");
        assert_eq!(path_key("/a~1b"), "a/b");
        assert_eq!(path_key(""), "");
    }
}
