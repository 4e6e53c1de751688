//! Placeholders, redaction edits, the restore state and restore.
//!
//! On input, a value becomes `<LABEL_n>`: the same value gets the same
//! placeholder everywhere in the payload, `n` counts per label in order of first
//! appearance, and numbers already present in the payload as literal text are
//! skipped so a placeholder never means two things. The restore state maps each
//! placeholder to its value.
//!
//! On output the placeholders are `[LABEL_n]` and there is no state: the host
//! restores input placeholders in the result *after* the output guardrails ran,
//! so an output placeholder in the angle-bracket form could be mistaken for an
//! input one and "restored" to another value.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use warden_plugin_sdk::{TextEdit, TextItem};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Style {
    /// `<LABEL_n>`, restorable.
    Input,
    /// `[LABEL_n]`, final.
    Output,
}

impl Style {
    fn brackets(self) -> (&'static str, &'static str) {
        match self {
            Style::Input => ("<", ">"),
            Style::Output => ("[", "]"),
        }
    }
}

/// One span to replace: item index, byte range, placeholder label.
pub struct Span<'a> {
    pub item: usize,
    pub start: usize,
    pub end: usize,
    pub label: &'a str,
}

/// The restore state: placeholder -> original value.
#[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
pub struct State {
    v: u32,
    values: BTreeMap<String, String>,
}

/// Replace `spans` (sorted by item, then start; non-overlapping) and return one
/// edit per changed string plus the placeholder map.
pub fn redact(texts: &[TextItem], spans: &[Span], style: Style) -> (Vec<TextEdit>, State) {
    let (open, close) = style.brackets();
    let taken = existing_placeholders(texts, style);
    let mut counters: HashMap<&str, u32> = HashMap::new();
    let mut assigned: HashMap<(&str, &str), String> = HashMap::new();
    let mut state = State { v: 1, values: BTreeMap::new() };
    let mut edits = Vec::new();

    let mut k = 0;
    while k < spans.len() {
        let item = spans[k].item;
        let text = texts[item].text.as_str();
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        while k < spans.len() && spans[k].item == item {
            let s = &spans[k];
            let value = &text[s.start..s.end];
            let ph = assigned
                .entry((s.label, value))
                .or_insert_with(|| {
                    let n = counters.entry(s.label).or_insert(0);
                    loop {
                        *n += 1;
                        let ph = format!("{open}{}_{n}{close}", s.label);
                        if !taken.contains(&ph) {
                            break ph;
                        }
                    }
                })
                .clone();
            state.values.entry(ph.clone()).or_insert_with(|| value.to_string());
            out.push_str(&text[pos..s.start]);
            out.push_str(&ph);
            pos = s.end;
            k += 1;
        }
        out.push_str(&text[pos..]);
        edits.push(TextEdit { path: texts[item].path.clone(), text: out });
    }
    (edits, state)
}

/// Placeholders already written in the payload (`<EMAIL_1>` typed by a user, or
/// echoed back by an upstream).
fn existing_placeholders(texts: &[TextItem], style: Style) -> HashSet<String> {
    let mut set = HashSet::new();
    for t in texts {
        for p in find_placeholders(&t.text, style) {
            set.insert(t.text[p.start..p.end].to_string());
        }
    }
    set
}

/// How a placeholder is written where it was found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Form {
    Raw,
    /// JSON inside a string, with `<`/`>` escaped (`\u003cEMAIL_1\u003e`, as Go's
    /// encoder writes them).
    JsonEscaped,
    /// HTML (`&lt;EMAIL_1&gt;`).
    Html,
    /// A URL (`%3CEMAIL_1%3E`).
    Url,
}

struct Found {
    start: usize,
    end: usize,
    /// The placeholder in its canonical `<LABEL_n>` form.
    key_start: usize,
    key_end: usize,
    form: Form,
}

const FORMS: &[(Form, &str, &str)] = &[
    (Form::JsonEscaped, "\\u003c", "\\u003e"),
    (Form::JsonEscaped, "\\u003C", "\\u003E"),
    (Form::Html, "&lt;", "&gt;"),
    (Form::Url, "%3C", "%3E"),
    (Form::Url, "%3c", "%3e"),
];

/// Placeholders `LABEL_n` between brackets of `style` in any of the forms.
/// Linear: each position is tried once against a handful of openers, and a
/// label is at most 64 bytes.
fn find_placeholders(text: &str, style: Style) -> Vec<Found> {
    let b = text.as_bytes();
    let (open, close) = style.brackets();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let mut hit = None;
        if b[i] == open.as_bytes()[0] {
            hit = Some((Form::Raw, 1, close));
        } else if style == Style::Input && matches!(b[i], b'\\' | b'&' | b'%') {
            for (form, o, c) in FORMS {
                if b[i..].starts_with(o.as_bytes()) {
                    hit = Some((*form, o.len(), *c));
                    break;
                }
            }
        }
        if let Some((form, olen, c)) = hit {
            let ks = i + olen;
            let mut k = ks;
            while k < b.len() && k - ks <= 64 && (b[k].is_ascii_uppercase() || b[k].is_ascii_digit() || b[k] == b'_') {
                k += 1;
            }
            let label_ok = k > ks && b[ks].is_ascii_uppercase() && well_formed(&b[ks..k]);
            if label_ok && b[k..].starts_with(c.as_bytes()) {
                let end = k + c.len();
                out.push(Found { start: i, end, key_start: ks, key_end: k, form });
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// `LABEL_n`: ends in `_` and decimal digits.
fn well_formed(s: &[u8]) -> bool {
    match s.iter().rposition(|c| *c == b'_') {
        Some(u) => u > 0 && u + 1 < s.len() && s[u + 1..].iter().all(u8::is_ascii_digit),
        None => false,
    }
}

pub fn encode_state(state: &State) -> Vec<u8> {
    // Serializing a map of strings cannot fail.
    serde_json::to_vec(state).unwrap_or_default()
}

pub fn decode_state(bytes: &[u8]) -> Result<State, String> {
    if bytes.is_empty() {
        return Ok(State::default());
    }
    let s: State = serde_json::from_slice(bytes).map_err(|e| format!("restore state is not valid: {e}"))?;
    if s.v != 1 {
        return Err(format!("restore state version {} is not supported", s.v));
    }
    Ok(s)
}

/// The edits that put original values back wherever a placeholder of `state`
/// appears. Placeholders the state does not know are left alone.
pub fn restore(state: &State, texts: &[TextItem]) -> Vec<TextEdit> {
    let mut edits = Vec::new();
    if state.values.is_empty() {
        return edits;
    }
    for t in texts {
        let text = t.text.as_str();
        let mut out = String::new();
        let mut pos = 0;
        let mut changed = false;
        for f in find_placeholders(text, Style::Input) {
            let key = format!("<{}>", &text[f.key_start..f.key_end]);
            let Some(value) = state.values.get(&key) else { continue };
            out.push_str(&text[pos..f.start]);
            match f.form {
                Form::Raw => out.push_str(value),
                Form::JsonEscaped => json_escape(value, &mut out),
                Form::Html => html_escape(value, &mut out),
                Form::Url => percent_encode(value, &mut out),
            }
            pos = f.end;
            changed = true;
        }
        if changed {
            out.push_str(&text[pos..]);
            edits.push(TextEdit { path: t.path.clone(), text: out });
        }
    }
    edits
}

fn json_escape(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
}

fn html_escape(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

fn percent_encode(v: &str, out: &mut String) {
    for &b in v.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(texts: &[&str]) -> Vec<TextItem> {
        texts.iter().enumerate().map(|(i, t)| TextItem { path: format!("/{i}"), text: t.to_string() }).collect()
    }

    #[test]
    fn placeholders_are_stable_and_numbered_per_label() {
        let t = items(&["a@x.com b@y.com a@x.com", "call 555 and a@x.com"]);
        let spans = [
            Span { item: 0, start: 0, end: 7, label: "EMAIL" },
            Span { item: 0, start: 8, end: 15, label: "EMAIL" },
            Span { item: 0, start: 16, end: 23, label: "EMAIL" },
            Span { item: 1, start: 5, end: 8, label: "PHONE" },
            Span { item: 1, start: 13, end: 20, label: "EMAIL" },
        ];
        let (edits, state) = redact(&t, &spans, Style::Input);
        assert_eq!(edits[0].text, "<EMAIL_1> <EMAIL_2> <EMAIL_1>");
        assert_eq!(edits[1].text, "call <PHONE_1> and <EMAIL_1>");
        assert_eq!(state.values.len(), 3);
        assert_eq!(state.values["<EMAIL_2>"], "b@y.com");
    }

    #[test]
    fn literal_placeholders_in_the_payload_are_not_reused() {
        let t = items(&["<EMAIL_1> wrote to a@x.com"]);
        let spans = [Span { item: 0, start: 19, end: 26, label: "EMAIL" }];
        let (edits, state) = redact(&t, &spans, Style::Input);
        assert_eq!(edits[0].text, "<EMAIL_1> wrote to <EMAIL_2>");
        // Restoring leaves the user's own `<EMAIL_1>` alone.
        let back = restore(&state, &items(&[&edits[0].text]));
        assert_eq!(back[0].text, "<EMAIL_1> wrote to a@x.com");
    }

    #[test]
    fn output_style() {
        let t = items(&["mail a@x.com"]);
        let (edits, _) = redact(&t, &[Span { item: 0, start: 5, end: 12, label: "EMAIL" }], Style::Output);
        assert_eq!(edits[0].text, "mail [EMAIL_1]");
    }

    #[test]
    fn restore_forms_and_unknowns() {
        let mut state = State { v: 1, values: BTreeMap::new() };
        state.values.insert("<EMAIL_1>".into(), "a+b@x.com".into());
        state.values.insert("<CUSTOM_ID_2>".into(), "say \"hi\"".into());
        let t = items(&[
            "to <EMAIL_1>, not <EMAIL_9> or <email_1> or <EMAIL_>",
            r#"{"to":"\u003cEMAIL_1\u003e","c":"\u003cCUSTOM_ID_2\u003e"}"#,
            "&lt;EMAIL_1&gt; and ?q=%3CEMAIL_1%3E",
            "nothing here <",
        ]);
        let e = restore(&state, &t);
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].text, "to a+b@x.com, not <EMAIL_9> or <email_1> or <EMAIL_>");
        assert_eq!(e[1].text, r#"{"to":"a+b@x.com","c":"say \"hi\""}"#);
        assert_eq!(e[2].text, "a+b@x.com and ?q=a%2Bb%40x.com");
    }

    #[test]
    fn state_round_trip_and_errors() {
        let mut state = State { v: 1, values: BTreeMap::new() };
        state.values.insert("<IP_1>".into(), "10.1.2.3".into());
        let bytes = encode_state(&state);
        assert_eq!(decode_state(&bytes).expect("decodes"), state);
        assert_eq!(decode_state(b"").expect("empty is no state"), State::default());
        assert!(decode_state(b"not json").is_err());
        assert!(decode_state(br#"{"v":2,"values":{}}"#).is_err());
    }
}
