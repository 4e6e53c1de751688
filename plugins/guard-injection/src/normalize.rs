//! Text normalisation for phrase matching, with a map back to the original bytes.
//!
//! The phrase rules run on a folded copy of each string:
//! - invisible characters (zero-width, word joiner, BOM, soft hyphen, bidi controls, Unicode
//!   tag characters, variation selectors) and combining marks are dropped, so
//!   `ig<U+200B>nore` and decomposed accents match like the plain word;
//! - case is folded (Unicode lowercase), common Latin accents are stripped (`é` -> `e`,
//!   `ß` -> `ss`), full-width ASCII, mathematical alphanumerics and circled letters become
//!   ASCII;
//! - inside a word that mixes ASCII letters with Cyrillic/Greek look-alikes, the look-alikes
//!   become their Latin twins (`іgnоre` -> `ignore`), while all-Cyrillic words stay Russian;
//! - inside a word that mixes letters and digits, leet digits become letters
//!   (`1gn0r3` -> `ignore`, `pr3v10us` -> `previous`); pure numbers are untouched;
//! - every run of whitespace becomes one space, or one `\n` when it contained a line break.
//!
//! Every byte of the folded text remembers the byte range of the original character it came
//! from, so findings report exact spans in the original string.

/// A folded copy of a string and the way back to the original's byte offsets.
pub struct Norm {
    /// The folded text.
    pub text: String,
    /// For every byte of `text`, the original byte range of the character it came from.
    map: Vec<(u32, u32)>,
    /// Positions in `text` where an invisible character was dropped between two letters
    /// (sorted): evidence of hidden characters splitting a word.
    pub split_points: Vec<u32>,
    orig_len: usize,
}

impl Norm {
    /// The original byte span of the folded span `start..end`.
    pub fn orig_span(&self, start: usize, end: usize) -> (usize, usize) {
        if self.map.is_empty() {
            return (0, self.orig_len);
        }
        let s = self.map.get(start).map_or(self.orig_len, |m| m.0 as usize);
        let e = if end == 0 { s } else { self.map.get(end - 1).map_or(self.orig_len, |m| m.1 as usize) };
        (s, e.max(s))
    }

    /// Whether an invisible character was dropped strictly inside `start..end`.
    pub fn has_split_inside(&self, start: usize, end: usize) -> bool {
        let i = self.split_points.partition_point(|&p| (p as usize) <= start);
        self.split_points.get(i).is_some_and(|&p| (p as usize) < end)
    }
}

/// Characters that render as nothing (or nearly nothing) and are dropped before matching.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{E0000}'..='\u{E007F}' | '\u{E0100}'..='\u{E01EF}')
}

fn is_combining(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}')
}

/// ASCII for full-width forms, mathematical alphanumerics and circled letters.
fn ascii_variant(c: char) -> Option<char> {
    let cp = c as u32;
    let from = |base: u32, off: u32| char::from_u32(base + off);
    match cp {
        0xFF01..=0xFF5E => char::from_u32(cp - 0xFEE0),
        0x3000 => Some(' '),
        0x1D400..=0x1D6A3 => {
            let i = (cp - 0x1D400) % 52;
            if i < 26 { from('a' as u32, i) } else { from('a' as u32, i - 26) }
        }
        0x1D7CE..=0x1D7FF => from('0' as u32, (cp - 0x1D7CE) % 10),
        0x24B6..=0x24CF => from('a' as u32, cp - 0x24B6),
        0x24D0..=0x24E9 => from('a' as u32, cp - 0x24D0),
        0x1F130..=0x1F149 => from('a' as u32, cp - 0x1F130),
        0x1F150..=0x1F169 => from('a' as u32, cp - 0x1F150),
        0x1F170..=0x1F189 => from('a' as u32, cp - 0x1F170),
        0x1F1E6..=0x1F1FF => None, // regional indicators: flags, leave alone
        _ => None,
    }
}

/// Accent folding for the Latin letters of the European languages the rules cover.
fn fold_latin(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ś' | 'ŝ' | 'ş' | 'š' => "s",
        'ź' | 'ż' | 'ž' => "z",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ł' => "l",
        'ŕ' | 'ř' => "r",
        'ť' | 'ţ' => "t",
        'ß' => "ss",
        'œ' => "oe",
        'æ' => "ae",
        'ɑ' => "a",
        'ɡ' => "g",
        'ℓ' => "l",
        _ => return None,
    })
}

/// Latin twin of a (lowercase) Cyrillic or Greek look-alike.
fn confusable(c: char) -> Option<char> {
    Some(match c {
        'а' | 'α' => 'a',
        'в' | 'β' => 'b',
        'е' | 'ё' | 'ε' => 'e',
        'к' | 'κ' => 'k',
        'м' => 'm',
        'н' | 'η' => 'n',
        'о' | 'ο' | 'σ' => 'o',
        'р' | 'ρ' => 'p',
        'с' | 'ϲ' => 'c',
        'т' | 'τ' => 't',
        'у' | 'γ' => 'y',
        'х' | 'χ' => 'x',
        'ѕ' => 's',
        'і' | 'ї' | 'ι' => 'i',
        'ј' => 'j',
        'ԁ' => 'd',
        'һ' => 'h',
        'ԛ' => 'q',
        'ԝ' | 'ω' => 'w',
        'ν' => 'v',
        'υ' => 'u',
        'ɩ' => 'i',
        _ => return None,
    })
}

fn leet(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' => 'i',
        '3' => 'e',
        '4' => 'a',
        '5' => 's',
        '7' => 't',
        _ => return None,
    })
}

/// Fold one character of the input into `chars` (see `normalize`).
fn push_folded(chars: &mut Vec<(char, u32, u32)>, dropped_after: &mut Vec<u32>, c: char, o: u32, e: u32) {
    if c.is_ascii_graphic() {
        chars.push((c.to_ascii_lowercase(), o, e));
        return;
    }
    if is_invisible(c) || is_combining(c) {
        if is_invisible(c) && dropped_after.last() != Some(&(chars.len() as u32)) {
            dropped_after.push(chars.len() as u32);
        }
        return;
    }
    if c.is_whitespace() || c == '\u{3000}' {
        let nl = matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{85}');
        match chars.last_mut() {
            Some(last) if last.0 == ' ' || last.0 == '\n' => {
                if nl {
                    last.0 = '\n';
                }
                last.2 = e;
            }
            _ => chars.push((if nl { '\n' } else { ' ' }, o, e)),
        }
        return;
    }
    let c = ascii_variant(c).unwrap_or(c);
    if c.is_ascii() {
        chars.push((c.to_ascii_lowercase(), o, e));
        return;
    }
    for lc in c.to_lowercase() {
        match fold_latin(lc) {
            Some(f) => chars.extend(f.chars().map(|fc| (fc, o, e))),
            None => chars.push((lc, o, e)),
        }
    }
}

/// Inline formatting tags that can sit inside a word without separating it.
const INLINE_TAGS: &[&str] = &[
    "span", "b", "i", "u", "s", "em", "strong", "font", "mark", "small", "sub", "sup", "del", "ins", "strike", "tt",
    "wbr", "abbr", "q", "bdi", "bdo", "big", "kbd", "samp", "var", "cite", "dfn", "a", "code",
];

/// Byte length of an inline formatting tag (`<span ...>`, `</b>`) at the start of `b`.
fn inline_tag_len(b: &[u8]) -> Option<usize> {
    let mut k = 1;
    if b.get(k) == Some(&b'/') {
        k += 1;
    }
    let name_start = k;
    while k < b.len() && b[k].is_ascii_alphabetic() && k - name_start < 8 {
        k += 1;
    }
    let name = std::str::from_utf8(&b[name_start..k]).ok()?.to_ascii_lowercase();
    if !INLINE_TAGS.contains(&name.as_str()) {
        return None;
    }
    match b.get(k) {
        Some(b'>') => Some(k + 1),
        Some(b' ' | b'/' | b'\t') => {
            let end = b[k..].iter().take(300).position(|&x| x == b'>' || x == b'<')?;
            (b[k + end] == b'>').then_some(k + end + 1)
        }
        _ => None,
    }
}

/// A character reference (`&nbsp;`, `&#73;`, `&#x49;`) at the start of `s`: the character and
/// the reference's byte length. `&lt;`/`&gt;` stay escaped (markup shown as text).
fn html_entity(s: &str) -> Option<(char, usize)> {
    let end = s.as_bytes().iter().take(12).position(|&b| b == b';')?;
    let body = &s[1..end];
    let c = if let Some(num) = body.strip_prefix('#') {
        let v = match num.strip_prefix(['x', 'X']) {
            Some(h) => u32::from_str_radix(h, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        let c = char::from_u32(v)?;
        if c == '<' || c == '>' || c.is_control() && !c.is_whitespace() {
            return None;
        }
        c
    } else {
        match body {
            "nbsp" | "ensp" | "emsp" | "thinsp" => ' ',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            "shy" => '\u{AD}',
            "zwsp" | "ZeroWidthSpace" | "zwnj" | "zwj" => '\u{200B}',
            "lsquo" | "rsquo" => '\'',
            "ldquo" | "rdquo" => '"',
            _ => return None,
        }
    };
    Some((c, end + 1))
}

/// A JSON/JavaScript `\uXXXX` escape at the start of `b` (not a surrogate, not a control).
fn unicode_escape(b: &[u8]) -> Option<char> {
    if b.len() < 6 || b[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&b[2..6]).ok()?;
    let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
    (!c.is_control() || c.is_whitespace()).then_some(c)
}

/// Join runs of at least three single letters separated by one space or one hyphen each
/// (`i g n o r e`, `I-g-n-o-r-e`); a wider gap separates words.
fn collapse_spaced_letters(chars: &mut Vec<(char, u32, u32)>, dropped_after: &mut [u32]) {
    let n = chars.len();
    let single = |k: usize| {
        chars[k].0.is_alphabetic()
            && (k == 0 || !chars[k - 1].0.is_alphanumeric())
            && (k + 1 == n || !chars[k + 1].0.is_alphanumeric())
    };
    let sep_ok = |k: usize, sep: char| chars[k].0 == sep && (sep == '-' || chars[k].2 - chars[k].1 == 1);
    // Allocated at the first run found: most texts have none.
    let mut remove: Vec<bool> = Vec::new();
    let mut any = false;
    let mut k = 0;
    while k < n {
        // The separator test first: it is the cheap one and rules out most positions.
        if k + 2 >= n || !matches!(chars[k + 1].0, ' ' | '-') || !single(k) {
            k += 1;
            continue;
        }
        let sep = chars[k + 1].0;
        let mut end = k; // last letter of the run
        while end + 2 < n && sep_ok(end + 1, sep) && single(end + 2) {
            end += 2;
        }
        if (end - k) / 2 + 1 >= 3 {
            if remove.is_empty() {
                remove = vec![false; n];
            }
            let mut j = k + 1;
            while j < end {
                remove[j] = true;
                j += 2;
            }
            any = true;
        }
        k = end + 1;
    }
    if !any {
        return;
    }
    let mut removed_before = vec![0u32; n + 1];
    for j in 0..n {
        removed_before[j + 1] = removed_before[j] + u32::from(remove[j]);
    }
    for d in dropped_after.iter_mut() {
        *d -= removed_before[*d as usize];
    }
    let mut j = 0;
    chars.retain(|_| {
        j += 1;
        !remove[j - 1]
    });
}

/// Fold `s` for phrase matching (see the module doc).
pub fn normalize(s: &str) -> Norm {
    // Pass 1: drop invisibles and inline formatting tags, decode character escapes, fold
    // case/width/accents, collapse whitespace.
    let mut chars: Vec<(char, u32, u32)> = Vec::with_capacity(s.len());
    let mut dropped_after: Vec<u32> = Vec::new(); // index into `chars` before which something was dropped
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < s.len() {
        // ASCII without decoding (most text); other characters decoded from UTF-8.
        let c = if bytes[i] < 0x80 {
            bytes[i] as char
        } else {
            let Some(c) = s[i..].chars().next() else { break };
            c
        };
        let o = i;
        if c == '<'
            && let Some(n) = inline_tag_len(&bytes[i..])
        {
            i += n; // `Ig<span>nore</span>` reads as `Ignore`
            continue;
        }
        if c == '&'
            && let Some((d, n)) = html_entity(&s[i..])
        {
            push_folded(&mut chars, &mut dropped_after, d, o as u32, (o + n) as u32);
            i += n;
            continue;
        }
        if c == '\\'
            && let Some(d) = unicode_escape(&bytes[i..])
        {
            push_folded(&mut chars, &mut dropped_after, d, o as u32, (o + 6) as u32);
            i += 6;
            continue;
        }
        i += c.len_utf8();
        push_folded(&mut chars, &mut dropped_after, c, o as u32, i as u32);
    }

    // Letter-spaced words (`i g n o r e`, `I-g-n-o-r-e`) are joined.
    collapse_spaced_letters(&mut chars, &mut dropped_after);

    // Markdown emphasis with underscores (`_all_`) separates words; `snake_case` does not.
    for k in 0..chars.len() {
        if chars[k].0 == '_' {
            let before = k == 0 || matches!(chars[k - 1].0, ' ' | '\n' | '_');
            let after = k + 1 == chars.len() || matches!(chars[k + 1].0, ' ' | '\n' | '_');
            if before || after {
                chars[k].0 = ' ';
            }
        }
    }

    // Pass 2: per word, undo homoglyph and leet disguises.
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].0.is_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        let mut plain = true;
        while i < chars.len() && chars[i].0.is_alphanumeric() {
            plain &= chars[i].0.is_ascii_lowercase();
            i += 1;
        }
        if plain {
            continue; // nothing to undo in a word of plain ASCII letters
        }
        let word = &chars[start..i];
        let ascii_letters = word.iter().filter(|w| w.0.is_ascii_lowercase()).count();
        let confusables = word.iter().filter(|w| confusable(w.0).is_some()).count();
        let digits = word.iter().filter(|w| w.0.is_ascii_digit()).count();
        let other = word.len() - ascii_letters - confusables - digits;
        let mixed_script = ascii_letters > 0 && confusables > 0 && other == 0;
        // Leet only where a digit sits between letters ("pr3v10us") or opens an otherwise
        // alphabetic word ("4ll", "1gnore"); "base64", "rot13", "sha256", "mp3" stay as they are.
        let letter = |c: char| c.is_ascii_lowercase() || confusable(c).is_some();
        let interior = word.windows(3).any(|w| letter(w[0].0) && w[1].0.is_ascii_digit() && letter(w[2].0))
            || word
                .windows(4)
                .any(|w| letter(w[0].0) && w[1].0.is_ascii_digit() && w[2].0.is_ascii_digit() && letter(w[3].0));
        let opening = word.len() >= 3 && leet(word[0].0).is_some() && word[1..].iter().all(|w| letter(w.0));
        let leet_word = digits > 0 && (interior || opening) && other == 0;
        if mixed_script || leet_word {
            for w in &mut chars[start..i] {
                if mixed_script && let Some(l) = confusable(w.0) {
                    w.0 = l;
                }
                if leet_word && let Some(l) = leet(w.0) {
                    w.0 = l;
                }
            }
        }
    }

    // Pass 3: encode.
    let mut text = String::with_capacity(chars.len());
    let mut map = Vec::with_capacity(chars.len());
    let mut char_pos = Vec::with_capacity(chars.len() + 1);
    for &(c, o, e) in &chars {
        char_pos.push(text.len() as u32);
        text.push(c);
        map.extend(std::iter::repeat_n((o, e), c.len_utf8()));
    }
    char_pos.push(text.len() as u32);
    let split_points = dropped_after
        .into_iter()
        .filter(|&k| {
            let k = k as usize;
            k > 0 && k < chars.len() && chars[k - 1].0.is_alphabetic() && chars[k].0.is_alphabetic()
        })
        .map(|k| char_pos[k as usize])
        .collect();
    Norm { text, map, split_points, orig_len: s.len() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_space_accents_and_invisibles() {
        let n = normalize("  IG\u{200B}NORE\t\tPréc\u{0065}\u{0301}dentes\n\n X");
        assert_eq!(n.text, " ignore precedentes\nx");
        assert_eq!(n.split_points.len(), 1);
        assert!(n.has_split_inside(1, 7));
    }

    #[test]
    fn homoglyphs_only_in_mixed_words() {
        assert_eq!(normalize("\u{0399}gnore \u{0430}ll").text, "ignore all");
        assert_eq!(normalize("Игнорируй все").text, "игнорируй все");
    }

    #[test]
    fn leet_only_in_mixed_words() {
        assert_eq!(normalize("1gn0r3 4ll pr3v10us 2024").text, "ignore all previous 2024");
        assert_eq!(normalize("base64 rot13 sha256 mp3 v2").text, "base64 rot13 sha256 mp3 v2");
    }

    #[test]
    fn fullwidth_and_math_letters() {
        assert_eq!(normalize("ＩＧＮＯＲＥ 𝐚𝐥𝐥").text, "ignore all");
    }

    #[test]
    fn spans_map_back() {
        let s = "ab  Ç\u{200B}d";
        let n = normalize(s);
        assert_eq!(n.text, "ab cd");
        let (a, b) = n.orig_span(3, 5);
        assert_eq!(&s[a..b], "Ç\u{200B}d");
        let (a, b) = n.orig_span(0, 2);
        assert_eq!(&s[a..b], "ab");
    }
}
