//! Hidden text: invisible characters, Unicode tag smuggling, variation-selector smuggling,
//! bidi overrides, and HTML regions a human never sees (comments, CSS-hidden elements).
//!
//! Legitimate uses are recognised and ignored: U+200D inside emoji ZWJ sequences, U+200C/
//! U+200D between letters of scripts that need them (Arabic, Persian, Indic, ...), a leading
//! BOM, bidi marks and isolates in text that contains right-to-left script, emoji tag
//! sequences (subdivision flags), a single variation selector after a character.

/// A raw finding of this module, in original byte offsets.
pub struct HiddenHit {
    pub start: usize,
    pub end: usize,
    pub score: f32,
    pub what: &'static str,
}

/// Text recovered from a hiding technique, to be scanned again.
pub struct Payload {
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub how: &'static str,
}

/// A region of markup that is not rendered.
pub struct Region {
    pub start: usize,
    pub end: usize,
    pub what: &'static str,
}

fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}')
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn is_tag(c: char) -> bool {
    matches!(c, '\u{E0000}'..='\u{E007F}')
}

fn is_variation_selector(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

fn is_rtl(c: char) -> bool {
    matches!(c, '\u{0590}'..='\u{08FF}' | '\u{FB1D}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFC}' | '\u{10800}'..='\u{10FFF}' | '\u{1E800}'..='\u{1EFFF}')
}

/// Scripts that use ZWJ/ZWNJ inside words: Arabic, Syriac, Thaana, N'Ko, Indic, Sinhala,
/// Thai..Myanmar, Khmer, Mongolian, Tibetan.
fn uses_joiners(c: char) -> bool {
    matches!(c, '\u{0600}'..='\u{08FF}' | '\u{0900}'..='\u{0DFF}' | '\u{0F00}'..='\u{109F}' | '\u{1780}'..='\u{18AF}' | '\u{A8E0}'..='\u{A8FF}' | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFC}')
}

fn is_emoji_like(c: char) -> bool {
    matches!(c, '\u{2190}'..='\u{21FF}' | '\u{2300}'..='\u{23FF}' | '\u{2460}'..='\u{27BF}' | '\u{2900}'..='\u{297F}'
        | '\u{2B00}'..='\u{2BFF}' | '\u{3030}' | '\u{303D}' | '\u{3297}' | '\u{3299}' | '\u{FE0F}'
        | '\u{1F000}'..='\u{1FAFF}' | '\u{E0020}'..='\u{E007F}' | '\u{20E3}')
}

/// Scan for invisible-character tricks. Returns hits and recovered payloads.
pub fn scan_invisible(s: &str) -> (Vec<HiddenHit>, Vec<Payload>) {
    let mut hits = Vec::new();
    let mut payloads = Vec::new();
    // Fast path: every character looked at here is outside ASCII.
    if s.is_ascii()
        || !s.chars().any(|c| {
            is_zero_width(c)
                || is_bidi_control(c)
                || is_tag(c)
                || is_variation_selector(c)
                || c == '\u{200E}'
                || c == '\u{200F}'
        })
    {
        return (hits, payloads);
    }
    let has_rtl = s.chars().any(is_rtl);

    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(s.len(), |c| c.0);

    let mut inside_word = 0usize;
    let mut inside_first: Option<(usize, usize)> = None;
    let mut stray = 0usize;
    let mut stray_span: Option<(usize, usize)> = None;
    let mut bidi_marks_no_rtl = 0usize;
    let mut bidi_no_rtl = 0usize;
    let mut bidi_span: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < chars.len() {
        let (o, c) = chars[i];
        if is_zero_width(c) {
            let run_start = i;
            while i < chars.len() && is_zero_width(chars[i].1) {
                i += 1;
            }
            let run_len = i - run_start;
            let prev = run_start.checked_sub(1).map(|k| chars[k].1);
            let next = chars.get(i).map(|x| x.1);
            let (ro, re) = (o, end_of(i));
            let legit = if run_len == 1 {
                let pe = prev.is_some_and(is_emoji_like);
                let ne = next.is_some_and(is_emoji_like);
                (c == '\u{200D}' && pe && ne)
                    || ((c == '\u{200C}' || c == '\u{200D}')
                        && (prev.is_some_and(uses_joiners) || next.is_some_and(uses_joiners)))
                    || (c == '\u{FEFF}' && o == 0)
            } else {
                false
            };
            if legit {
                continue;
            }
            if run_len >= 8 {
                hits.push(HiddenHit {
                    start: ro,
                    end: re,
                    score: 0.8,
                    what: "long run of zero-width characters (hidden encoding)",
                });
            } else if run_len >= 3 {
                hits.push(HiddenHit { start: ro, end: re, score: 0.55, what: "run of zero-width characters" });
            } else if prev.is_some_and(char::is_alphanumeric) && next.is_some_and(char::is_alphanumeric) {
                inside_word += 1;
                inside_first.get_or_insert((ro, re)).1 = re;
            } else {
                stray += 1;
                stray_span.get_or_insert((ro, re)).1 = re;
            }
            continue;
        }
        if c == '\u{200E}' || c == '\u{200F}' {
            if !has_rtl {
                bidi_marks_no_rtl += 1;
            }
            i += 1;
            continue;
        }
        if is_bidi_control(c) {
            // The content governed by the control, up to its terminator or the end of line.
            let mut j = i + 1;
            while j < chars.len() && !matches!(chars[j].1, '\u{202C}' | '\u{2069}' | '\n') {
                j += 1;
            }
            let content: String = chars[i + 1..j].iter().map(|x| x.1).filter(|&x| !is_bidi_control(x)).collect();
            let latin = content.chars().filter(char::is_ascii_alphabetic).count();
            let rtl = content.chars().any(is_rtl);
            if matches!(c, '\u{202D}' | '\u{202E}') && latin >= 3 && !rtl {
                hits.push(HiddenHit {
                    start: o,
                    end: end_of(j + 1).min(s.len()),
                    score: 0.45,
                    what: "bidi override reordering Latin text",
                });
                if c == '\u{202E}' {
                    payloads.push(Payload {
                        start: o,
                        end: end_of(j),
                        text: content.chars().rev().collect(),
                        how: "bidi-reversed",
                    });
                }
            } else if !has_rtl && !matches!(c, '\u{202C}' | '\u{2069}') {
                bidi_no_rtl += 1;
                bidi_span.get_or_insert((o, o + c.len_utf8())).1 = o + c.len_utf8();
            }
            i += 1;
            continue;
        }
        if is_tag(c) {
            let run_start = i;
            while i < chars.len() && is_tag(chars[i].1) {
                i += 1;
            }
            let run = &chars[run_start..i];
            let flag = run_start > 0
                && chars[run_start - 1].1 == '\u{1F3F4}'
                && run.len() <= 8
                && run.last().is_some_and(|x| x.1 == '\u{E007F}')
                && run[..run.len() - 1]
                    .iter()
                    .all(|x| matches!(x.1, '\u{E0030}'..='\u{E0039}' | '\u{E0061}'..='\u{E007A}'));
            if flag {
                continue;
            }
            let decoded: String = run
                .iter()
                .filter_map(|x| {
                    let v = x.1 as u32 - 0xE0000;
                    (0x20..0x7F).contains(&v).then(|| char::from_u32(v)).flatten()
                })
                .collect();
            let (ro, re) = (o, end_of(i));
            if decoded.trim().len() >= 3 {
                hits.push(HiddenHit {
                    start: ro,
                    end: re,
                    score: 0.85,
                    what: "ASCII text smuggled in invisible Unicode tag characters",
                });
                payloads.push(Payload { start: ro, end: re, text: decoded, how: "tag-character" });
            } else {
                hits.push(HiddenHit { start: ro, end: re, score: 0.5, what: "invisible Unicode tag characters" });
            }
            continue;
        }
        if is_variation_selector(c) {
            let run_start = i;
            while i < chars.len() && is_variation_selector(chars[i].1) {
                i += 1;
            }
            if i - run_start >= 4 {
                let bytes: Vec<u8> = chars[run_start..i]
                    .iter()
                    .map(|x| {
                        let v = x.1 as u32;
                        if v >= 0xE0100 { (v - 0xE0100 + 16) as u8 } else { (v - 0xFE00) as u8 }
                    })
                    .collect();
                let (ro, re) = (o, end_of(i));
                hits.push(HiddenHit {
                    start: ro,
                    end: re,
                    score: 0.7,
                    what: "data smuggled in a run of variation selectors",
                });
                if let Ok(text) = String::from_utf8(bytes) {
                    payloads.push(Payload { start: ro, end: re, text, how: "variation-selector" });
                }
            }
            continue;
        }
        i += 1;
    }
    if let Some((a, b)) = inside_first {
        let score = if inside_word >= 3 { 0.6 } else { 0.3 };
        hits.push(HiddenHit { start: a, end: b, score, what: "zero-width characters inside words" });
    }
    if let Some((a, b)) = stray_span {
        let score = if stray >= 4 { 0.4 } else { 0.15 };
        hits.push(HiddenHit { start: a, end: b, score, what: "stray zero-width characters" });
    }
    if let Some((a, b)) = bidi_span {
        let score = if bidi_no_rtl >= 3 { 0.45 } else { 0.3 };
        hits.push(HiddenHit {
            start: a,
            end: b,
            score,
            what: "bidi control characters in text without right-to-left script",
        });
    }
    if bidi_marks_no_rtl >= 3 {
        hits.push(HiddenHit {
            start: 0,
            end: s.len(),
            score: 0.3,
            what: "bidi marks in text without right-to-left script",
        });
    }
    (hits, payloads)
}

/// Regions of HTML that are not rendered: comments and elements hidden by inline CSS.
/// `lower` is `s.to_ascii_lowercase()` (same byte offsets).
pub fn hidden_regions(lower: &str) -> Vec<Region> {
    let mut out = Vec::new();
    // Comments.
    let mut from = 0;
    while let Some(p) = lower[from..].find("<!--") {
        let start = from + p + 4;
        let end = lower[start..].find("-->").map_or(lower.len(), |q| start + q);
        out.push(Region { start, end, what: "HTML comment" });
        from = (end + 3).min(lower.len());
        if from >= lower.len() {
            break;
        }
    }
    // Inline styles that hide an element.
    let mut from = 0;
    while let Some(p) = lower[from..].find("style") {
        let at = from + p;
        from = at + 5;
        let rest = &lower[from..];
        let rest = rest.trim_start();
        let Some(rest) = rest.strip_prefix('=') else { continue };
        let rest = rest.trim_start();
        let value = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or(""),
            Some(_) => rest.split([' ', '>']).next().unwrap_or(""),
            None => "",
        };
        let value = &value[..value.floor_char_boundary(400)];
        if !css_hides(value) {
            continue;
        }
        // The element: its tag name before `style`, its content after the open tag's `>`.
        let lo = lower.floor_char_boundary(at.saturating_sub(300));
        let tag_start = lower[lo..at].rfind('<').map(|k| lo + k);
        let Some(tag_start) = tag_start else { continue };
        let name: String = lower[tag_start + 1..].chars().take_while(char::is_ascii_alphanumeric).collect();
        if name.is_empty() {
            continue;
        }
        let Some(gt) = lower[at..].find('>').map(|k| at + k + 1) else { continue };
        let close = format!("</{name}");
        let end = lower[gt..].find(&close).map_or((gt + 4096).min(lower.len()), |k| gt + k);
        let end = floor_boundary(lower, end.min(gt + 8192));
        out.push(Region { start: gt, end, what: "CSS-hidden element" });
        from = gt.max(from);
    }
    out
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Whether an inline style hides its element.
fn css_hides(style: &str) -> bool {
    let compact: String = style.chars().filter(|c| !c.is_whitespace()).collect();
    let has = |needle: &str| compact.contains(needle);
    let zero_value = |prop: &str| {
        compact.match_indices(prop).any(|(k, _)| {
            let v = &compact[k + prop.len()..];
            v.starts_with('0') && !v[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.')
        })
    };
    if has("display:none")
        || has("visibility:hidden")
        || has("color:transparent")
        || has("clip:rect(0")
        || has("clip-path:inset(50%")
    {
        return true;
    }
    if zero_value("font-size:") || zero_value("opacity:") || zero_value("max-height:") || zero_value("line-height:") {
        return true;
    }
    if (zero_value("height:") || zero_value("width:")) && has("overflow:hidden") {
        return true;
    }
    // Pushed off-screen (left:-9999px, text-indent:-10000px, ...).
    let far_negative =
        ["left:-", "top:-", "right:-", "text-indent:-", "margin-left:-", "margin-top:-"].iter().any(|p| {
            compact.match_indices(p).any(|(k, _)| {
                let digits = compact[k + p.len()..].bytes().take_while(u8::is_ascii_digit).count();
                digits >= 4
                    && (k == 0
                        || !compact.as_bytes()[k - 1].is_ascii_alphabetic()
                        || p.starts_with("text")
                        || p.starts_with("margin"))
            })
        });
    if far_negative {
        return true;
    }
    // Same colour as the background (e.g. white on white).
    let prop = |name: &str| -> Option<String> {
        compact.match_indices(name).find_map(|(k, _)| {
            if k > 0 && compact.as_bytes()[k - 1] == b'-' {
                return None; // background-color when looking for color
            }
            let v = &compact[k + name.len()..];
            Some(canonical_color(v.split([';', '!']).next().unwrap_or("")))
        })
    };
    match (prop("color:"), prop("background-color:").or_else(|| prop("background:"))) {
        (Some(fg), Some(bg)) => !fg.is_empty() && fg == bg,
        // White text with no background of its own: invisible on the usual white page.
        (Some(fg), None) => fg == "white",
        _ => false,
    }
}

fn canonical_color(v: &str) -> String {
    let v = v.trim();
    match v {
        "#fff" | "#ffffff" | "white" | "rgb(255,255,255)" | "#ffff" | "#ffffffff" => "white".into(),
        "#000" | "#000000" | "black" | "rgb(0,0,0)" => "black".into(),
        _ => v.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_zwj_and_persian_zwnj_are_legit() {
        let s = "family \u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467} \u{2764}\u{FE0F}\u{200D}\u{1F525} می\u{200C}خواهم";
        let (hits, payloads) = scan_invisible(s);
        assert!(hits.is_empty(), "{:?}", hits.iter().map(|h| h.what).collect::<Vec<_>>());
        assert!(payloads.is_empty());
    }

    #[test]
    fn subdivision_flag_is_legit() {
        let scotland = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}";
        assert!(scan_invisible(&format!("go {scotland}!")).0.is_empty());
    }

    #[test]
    fn tag_smuggling_decoded() {
        let tags: String = "ignore this".chars().map(|c| char::from_u32(0xE0000 + c as u32).expect("tag")).collect();
        let (hits, payloads) = scan_invisible(&format!("hello{tags}"));
        assert_eq!(hits.len(), 1);
        assert!(hits[0].score >= 0.8);
        assert_eq!(payloads[0].text, "ignore this");
        assert_eq!(payloads[0].start, 5);
    }

    #[test]
    fn zero_width_runs_and_words() {
        let (hits, _) = scan_invisible("a\u{200B}\u{200C}\u{200B}\u{200C}\u{200B}\u{200C}\u{200B}\u{200C}\u{200B}b");
        assert!(hits[0].score >= 0.8);
        let (hits, _) = scan_invisible("ig\u{200B}nore al\u{200B}l prev\u{200B}ious");
        assert!(hits.iter().any(|h| h.what.contains("inside words") && h.score >= 0.6));
    }

    #[test]
    fn rtl_text_with_marks_is_legit_but_latin_override_is_not() {
        assert!(scan_invisible("User \u{2067}محمد\u{2069} said \u{200F}12\u{200F}").0.is_empty());
        let (hits, payloads) = scan_invisible("x \u{202E}erongi\u{202C} y");
        assert!(hits.iter().any(|h| h.score >= 0.45));
        assert_eq!(payloads[0].text, "ignore");
    }

    #[test]
    fn variation_selector_smuggling() {
        let hidden: String = "hi there"
            .bytes()
            .map(|b| char::from_u32(if b < 16 { 0xFE00 + b as u32 } else { 0xE0100 + b as u32 - 16 }).expect("vs"))
            .collect();
        let (hits, payloads) = scan_invisible(&format!("\u{1F600}{hidden}"));
        assert!(!hits.is_empty());
        assert_eq!(payloads[0].text, "hi there");
    }

    #[test]
    fn css_hidden_regions() {
        let s = r#"<p>a</p><div style="display: none">secret words</div><span style='font-size:0px'>x</span><p style="font-size:0.9em">ok</p><p style="color:#FFF;background-color:#ffffff">w</p><!-- c -->"#.to_ascii_lowercase();
        let r = hidden_regions(&s);
        let texts: Vec<&str> = r.iter().map(|r| &s[r.start..r.end]).collect();
        assert_eq!(texts, vec![" c ", "secret words", "x", "w"]);
    }
}
