//! The analysis of one string: phrase rules on the normalised text, hidden text, URLs,
//! decoded payloads (recursively, bounded), context scoring and score combination.

use crate::decode;
use crate::directive::{self, Directives};
use crate::exfil;
use crate::hidden;
use crate::lexicon::{Cat, Lexicon};
use crate::normalize::normalize;
use crate::prefix::Prefixes;
use crate::rules::{self, BARE, CODE, CTX, DIRECTIVE, END, Kind, LINE, LOGLIKE, NODAMP, RULES, SENT, VALUE};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex_lite::Regex;
use std::sync::OnceLock;

/// The detectors a finding can come from.
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
pub enum Detector {
    Override = 0,
    Role = 1,
    FakeTurn = 2,
    HiddenText = 3,
    Exfiltration = 4,
    Encoded = 5,
    ToolHijack = 6,
    Custom = 7,
}

impl Detector {
    pub fn name(self) -> &'static str {
        match self {
            Detector::Override => "injection.override",
            Detector::Role => "injection.role",
            Detector::FakeTurn => "injection.fake-turn",
            Detector::HiddenText => "injection.hidden-text",
            Detector::Exfiltration => "injection.exfiltration",
            Detector::Encoded => "injection.encoded",
            Detector::ToolHijack => "injection.tool-hijack",
            Detector::Custom => "injection.custom",
        }
    }

    fn of(kind: Kind) -> Option<Detector> {
        Some(match kind {
            Kind::Override => Detector::Override,
            Kind::Role => Detector::Role,
            Kind::FakeTurn => Detector::FakeTurn,
            Kind::Exfiltration => Detector::Exfiltration,
            Kind::ToolHijack => Detector::ToolHijack,
            Kind::Addressing | Kind::Discussion => return None,
        })
    }
}

/// One finding inside one string, in that string's byte offsets.
#[derive(Debug, Clone)]
pub struct Hit {
    pub detector: Detector,
    pub start: usize,
    pub end: usize,
    pub score: f32,
    pub what: String,
}

/// Options that shape the analysis.
pub struct Settings {
    pub enabled: [bool; 8],
    pub max_depth: u32,
    pub educational: bool,
}

struct Rule {
    kind: Kind,
    score: f32,
    flags: u16,
    what: &'static str,
    /// The rule's regex as written (placeholders not yet expanded).
    src: &'static str,
    /// What every match begins with: tries that cannot match skip the regex.
    prefixes: Prefixes,
    /// Compiled on the first try that passes `prefixes`. Most rules never get that far on
    /// ordinary text, and compiling all of them at `configure` took ~4 MiB of linear memory
    /// that a WASM instance never gives back. `None` if it does not compile (a unit test
    /// checks that every rule does).
    re: OnceLock<Option<Regex>>,
}

impl Rule {
    fn regex(&self) -> Option<&Regex> {
        self.re.get_or_init(|| Regex::new(&format!("^(?:{})", expand(self.src))).ok()).as_ref()
    }

    /// The end of the rule's match at the start of `slice`, if any. `among`: the prefix
    /// patterns that fit the anchor `slice` begins with (see `Prefixes::for_anchor`).
    fn find(&self, among: Option<&[u16]>, slice: &str) -> Option<usize> {
        if !self.prefixes.may_match(among, slice) {
            // The filter must never hide a match: the unit tests check every rejection.
            #[cfg(test)]
            assert!(
                self.regex().and_then(|re| re.find(slice)).is_none(),
                "prefix filter of {:?} rejects {slice:?}",
                self.what
            );
            return None;
        }
        self.regex()?.find(slice).map(|m| m.end())
    }
}

/// A rule an anchor begins, with its prefix patterns that fit the anchor (by index; `None`
/// when the rule's regex is always tried).
type AnchorRule = (u16, Option<Box<[u16]>>);

pub struct Engine {
    rules: Vec<Rule>,
    ac: AhoCorasick,
    /// Per anchor: the rules it begins.
    anchor_rules: Vec<Vec<AnchorRule>>,
    anchor_word: Vec<bool>,
    lexicon: Lexicon,
    directives: Directives,
    followup: Regex,
    hidden_directive: Regex,
    own: Regex,
    custom_ac: Option<AhoCorasick>,
    custom_res: Vec<Regex>,
    custom_score: f32,
    pub settings: Settings,
}

/// Separator between words of a phrase: spaces, quotes, brackets, emphasis, commas.
const SEP: &str = r#"[\s"'*~`«»“”„‘’(),:;/-]{1,6}"#;
const WINDOW_BEFORE: usize = 160;
/// Longest phrase match tried from one anchor.
const MAX_MATCH: usize = 400;
/// How far before / after a phrase text addressed to an AI still counts for it.
const ADDRESS_BEFORE: usize = 800;
const ADDRESS_AFTER: usize = 400;
/// How far after text addressed to an AI its directive region reaches (at most a paragraph).
const REGION_AFTER: usize = 500;

fn expand(re: &str) -> String {
    re.replace("{F}", "(?:[a-z']{1,15}{S})").replace("{S}", SEP)
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{2E80}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}' | '\u{F900}'..='\u{FAFF}' | '\u{FF00}'..='\u{FFEF}')
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

fn floor_b(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_b(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn is_quote(c: char) -> bool {
    matches!(
        c,
        '"' | '\''
            | '`'
            | '“'
            | '”'
            | '«'
            | '»'
            | '„'
            | '‘'
            | '’'
            | '「'
            | '」'
            | '『'
            | '』'
            | '《'
            | '》'
            | '‹'
            | '›'
    )
}

/// Text since the start of the current sentence.
fn sentence_before(before: &str) -> &str {
    let cut = [". ", "! ", "? ", "\n", "。", "！", "？"]
        .iter()
        .filter_map(|t| before.rfind(t).map(|k| k + t.len()))
        .max()
        .unwrap_or(0);
    &before[cut..]
}

/// Text up to the end of the current sentence.
fn sentence_after(after: &str) -> &str {
    let cut =
        [". ", "! ", "? ", "\n", "。", "！", "？"].iter().filter_map(|t| after.find(t)).min().unwrap_or(after.len());
    &after[..cut]
}

/// Whether the match is the content of a quotation: a quote mark (or `/` for a regex
/// literal, `(` for a gloss) right before it and the closing one soon after, in the same
/// sentence.
fn quoted(before: &str, after: &str) -> bool {
    let trimmed = before.trim_end_matches(' ');
    let Some(open) = trimmed.chars().next_back() else { return false };
    // A JSON string value (`"key":"…"`) or an HTML attribute value is data, not a quotation.
    if open == '"' && trimmed.trim_end_matches('"').trim_end().ends_with([':', '=']) {
        return false;
    }
    if open == '/' {
        return after.starts_with('/');
    }
    if !(is_quote(open) || open == '(') {
        return false;
    }
    let pre = &trimmed[..trimmed.len() - open.len_utf8()];
    let mut prev = ' ';
    let mut it = after.char_indices().enumerate().peekable();
    while let Some((n, (at, c))) = it.next() {
        if n >= 60 || c == '\n' || (c == ' ' && matches!(prev, '.' | '!' | '?')) {
            return false;
        }
        // An apostrophe inside a word ("user's") closes nothing.
        let apostrophe =
            matches!(c, '\'' | '’') && prev.is_alphabetic() && it.peek().is_some_and(|x| x.1.1.is_alphabetic());
        if (open == '(' && c == ')') || (open != '(' && is_quote(c) && !apostrophe) {
            return writer_text(pre, &after[at + c.len_utf8()..]);
        }
        prev = c;
    }
    false
}

/// Whether a quotation is embedded in the writer's own words: some text before its opening
/// mark or after its closing mark on the same line. A string that is nothing but one quoted
/// instruction is not excused as a quotation (wrapping an attack in quotes is free).
fn writer_text(pre: &str, post: &str) -> bool {
    let pre_line = pre.rsplit('\n').next().unwrap_or("");
    let post_line = post.split('\n').next().unwrap_or("");
    let words = |t: &str| t.chars().filter(|c| c.is_alphanumeric()).count() >= 2;
    words(pre_line) || words(post_line)
}

/// Whether `start..end` lies inside a quotation that opened earlier on the same line (or
/// paragraph) and closes later: dialogue in fiction, a jailbreak quoted in a report. A JSON
/// string value (`"key": "…"`) or an HTML attribute value (`alt="…"`) is not a quotation.
fn inside_quote(text: &str, start: usize, end: usize) -> bool {
    // Bounded windows (no scan to the line ends: a 64 KiB single-line text stays linear).
    let lo = floor_b(text, start.saturating_sub(300));
    let from = text[lo..start].rfind('\n').map_or(lo, |k| lo + k + 1);
    let before = &text[from..start];
    let hi = ceil_b(text, end + 300);
    let after = &text[end..text[end..hi].find('\n').map_or(hi, |k| end + k)];
    let is_apostrophe = |prev: Option<char>, next: Option<char>| {
        prev.is_some_and(char::is_alphanumeric) && next.is_some_and(char::is_alphanumeric)
    };
    // The innermost quotation still open at `start`.
    let mut open: Option<char> = None;
    let mut open_at = 0usize;
    let mut json_value = false;
    let chars: Vec<char> = before.chars().collect();
    for (k, &c) in chars.iter().enumerate() {
        let prev = if k > 0 { Some(chars[k - 1]) } else { None };
        let next = chars.get(k + 1).copied();
        match (open, c) {
            (None, '"' | '“' | '«' | '„') => {
                open = Some(c);
                open_at = k;
                json_value = c == '"' && matches!(chars[..k].iter().rev().find(|x| **x != ' '), Some(':' | '='));
            }
            (None, '\'' | '‘') if !is_apostrophe(prev, next) && !prev.is_some_and(char::is_alphanumeric) => {
                open = Some(c);
                open_at = k;
                json_value = false;
            }
            (Some('"'), '"') | (Some('“'), '”') | (Some('«'), '»') | (Some('„'), '“' | '”') => open = None,
            (Some('\'' | '‘'), '\'' | '’') if !is_apostrophe(prev, next) => open = None,
            _ => {}
        }
    }
    let Some(o) = open else { return false };
    if json_value {
        return false;
    }
    let pre: String = chars[..open_at].iter().collect();
    let mut prev: Option<char> = None;
    let mut it = after.char_indices().peekable();
    while let Some((at, c)) = it.next() {
        let next = it.peek().map(|x| x.1);
        let closes = match o {
            '"' => c == '"',
            '“' | '„' => c == '”' || c == '“',
            '«' => c == '»',
            _ => matches!(c, '\'' | '’') && !is_apostrophe(prev, next),
        };
        if closes {
            return writer_text(&pre, &after[at + c.len_utf8()..]);
        }
        prev = Some(c);
    }
    false
}

/// Whether `t` names a concrete exfiltration target: a URL, an e-mail address, a credential
/// file path.
fn concrete_target(t: &str) -> bool {
    if ["http://", "https://", "www.", "~/", "/etc/", ".ssh", "id_rsa", ".env", "ftp://"].iter().any(|p| t.contains(p))
    {
        return true;
    }
    t.match_indices('@').any(|(k, _)| {
        let local = t[..k].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric());
        let domain: &str =
            t[k + 1..].split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-')).next().unwrap_or("");
        let domain = domain.trim_end_matches('.');
        // Documentation domains (RFC 2606) receive nothing.
        let placeholder = ["example.com", "example.org", "example.net", ".example", ".invalid", ".test", ".localhost"]
            .iter()
            .any(|p| domain.ends_with(p));
        local && domain.contains('.') && !placeholder
    })
}

/// Whether an addressing match names only a role that is as often a person ("Agent note:",
/// "Agent instructions:", "bot:"): a support macro for human agents is not text for an AI,
/// so it opens no directive region (it still strengthens the phrases near it).
fn human_role(addressing: &str) -> bool {
    let first = addressing.trim_start_matches(['@', '(', ' ']).split([' ', ':', ',', '-']).next().unwrap_or("");
    matches!(first, "agent" | "agents" | "model" | "models" | "bot" | "bots")
}

/// Whether a line opens with a speaker or key label (`User: …`, `Agent (Luis): …`).
fn speaker_line(line: &str) -> bool {
    line.split_once(": ").is_some_and(|(key, _)| {
        let key = key.trim_start_matches([' ', '>', '-', '*']);
        !key.is_empty()
            && key.len() <= 24
            && key.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '(' | ')' | '.'))
    })
}

/// Whether the subject of the sentence is a document (a contract, a policy, a release) or
/// the phrase continues a legal list ("supersedes all prior instructions, agreements and
/// understandings"): boilerplate about documents, not an order to a model.
fn document_subject(sentence_before: &str, after: &str) -> bool {
    const DOCS: &[&str] = &[
        "agreement",
        "contract",
        "amendment",
        "addendum",
        "policy",
        "license",
        "licence",
        "terms",
        "document",
        "version",
        "release",
        "update",
        "notice",
        "memo",
        "schedule",
        "appendix",
        "exhibit",
        "procedure",
        "standard",
        "statement of work",
        "order",
        "manual",
        "guide",
        "handbook",
        "edition",
        "revision",
    ];
    const LIST: &[&str] = &[
        "agreements",
        "understandings",
        "representations",
        "warranties",
        "arrangements",
        "communications",
        "proposals",
        "negotiations",
        "contracts",
        "commitments",
        "versions",
        "editions",
        "policies",
    ];
    let sb = sentence_before.trim_end();
    let words: Vec<&str> = sb.split(' ').collect();
    let n = words.len();
    let subject = (n >= 2 && matches!(words[n - 2], "this" | "the" | "these" | "such"))
        || (n >= 3 && matches!(words[n - 3], "this" | "the" | "these" | "such"));
    let doc = subject && DOCS.iter().any(|d| sb.ends_with(d) || sb.ends_with(&format!("{d}s")));
    let rest = after.trim_start_matches([' ', ',']);
    let list = after.trim_start().starts_with(',')
        && LIST.iter().any(|w| rest.starts_with(w) || rest.strip_prefix("and ").is_some_and(|r| r.starts_with(w)));
    doc || list
}

/// Longest stretch searched for the start or end of a line around a match: a single-line
/// text of 64 KiB with many matches must stay linear.
const LINE_REACH: usize = 2000;

/// Start of the line holding `s` and end of the line holding `e`, looked for within
/// `LINE_REACH` bytes.
fn line_bounds(text: &str, s: usize, e: usize) -> (usize, usize) {
    let lo = floor_b(text, s.saturating_sub(LINE_REACH));
    let hi = ceil_b(text, e + LINE_REACH);
    let ls = text[lo..s].rfind('\n').map_or(lo, |k| lo + k + 1);
    let le = text[e..hi].find('\n').map_or(hi, |k| e + k);
    (ls, le)
}

/// Whether the line holding `s` looks like source code (a literal in a list, an assignment,
/// a comment).
fn code_line(text: &str, s: usize) -> bool {
    let (ls, le) = line_bounds(text, s, s);
    let line = text[ls..le].trim();
    line.ends_with([',', ';', '{', '[', '(', ')'])
        || line.starts_with("//")
        || line.starts_with('#')
        || line.starts_with("/*")
        || line.starts_with("--")
        || line.contains(" = ")
        || line.contains("=>")
        || line.contains("==")
}

/// Whether the text after a `key:` marker is a value in source code or data (a quoted
/// string, a number, an object, a line ending with a comma) rather than prose.
fn code_value(after: &str) -> bool {
    let line = after.split('\n').next().unwrap_or("").trim();
    line.is_empty()
        || line.starts_with(['\'', '"', '`', '{', '[', '(', '$', '-', '<', '/', '@'])
        || line.starts_with(|c: char| c.is_ascii_digit())
        || line.ends_with([',', '{', '[', ';'])
        || ["true", "false", "null", "none", "undefined"].iter().any(|w| line.starts_with(w))
}

/// Whether the line at `s` sits among `Key: value` lines whose keys are not conversation
/// roles (a metadata listing such as `System: Linux` / `Uptime: 3 days`).
fn key_value_block(text: &str, s: usize) -> bool {
    const ROLES: &[&str] = &["system", "user", "assistant", "human", "ai", "developer", "admin", "model", "bot", "sys"];
    let (ls, le) = line_bounds(text, s, s);
    let prev = if ls == 0 || text.as_bytes()[ls - 1] != b'\n' {
        ""
    } else {
        let (pls, _) = line_bounds(text, ls - 1, ls - 1);
        &text[pls..ls - 1]
    };
    let next = if le >= text.len() || text.as_bytes()[le] != b'\n' {
        ""
    } else {
        let (_, nle) = line_bounds(text, le + 1, le + 1);
        &text[le + 1..nle]
    };
    [prev, next].iter().any(|line| {
        let line = line.trim_start_matches([' ', '>', '-', '*']);
        match line.split_once(": ") {
            Some((key, value)) => {
                !key.is_empty()
                    && key.len() <= 24
                    && key.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '(' | ')' | '.'))
                    && !ROLES.contains(&key.split(" (").next().unwrap_or(key).trim())
                    && !value.trim().is_empty()
            }
            None => false,
        }
    })
}

/// "asked the model to", "tricks it into": someone makes the model do the phrase.
fn caused(found: &crate::lexicon::Found, text: &str, lo: usize, lead: usize) -> bool {
    const OBJECTS: &[&str] = &[
        "the model",
        "the ai",
        "the llm",
        "the assistant",
        "the agent",
        "the chatbot",
        "the bot",
        "the system",
        "an llm",
        "a model",
        "an ai",
        "it",
        "them",
        "models",
        "llms",
        "agents",
        "chatgpt",
        "claude",
    ];
    found.ends_within(Cat::Causer, lo, lead).any(|end| {
        let gap = text[end..lead].trim();
        let Some(object) = gap.strip_suffix(" to").or_else(|| gap.strip_suffix(" into")) else { return false };
        OBJECTS.contains(&object.trim())
    })
}

/// For `[INST]`-like tokens: upper case in the original, and not indexing an identifier.
fn bare_upper(raw: &str, norm: &crate::normalize::Norm, text: &str, s: usize, e: usize) -> bool {
    let (os, oe) = norm.orig_span(s, e);
    let glued = text[..s].chars().next_back().is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | ']' | ')'));
    !glued && !raw[os..oe].bytes().any(|b| b.is_ascii_lowercase())
}

fn at_sentence_start(text: &str, s: usize) -> bool {
    let t = text[..s].trim_end_matches([' ', '*', '_', '"', '\'']);
    // An opening quote also starts an attribute value (`alt="…`) or a CSV cell (`,"…`).
    let opened = t.len() < text[..s].trim_end_matches(' ').len();
    t.is_empty()
        || t.ends_with(['.', '!', '?', '\n', '>', ':', ';', '。', '！', '？', '(', '[', '{', '|', '—'])
        || (opened && t.ends_with(['=', ',']))
}

fn at_line_start(text: &str, s: usize) -> bool {
    let t0 = text[floor_b(text, s.saturating_sub(LINE_REACH))..s].trim_end_matches(' ');
    if t0.ends_with('>')
        && !t0.ends_with(['-', '='])
        && !t0.ends_with("->")
        && !t0.ends_with("=>")
        && !t0.ends_with(">>")
    {
        // First words of an HTML element (`<p>System: ...`) or a quoted line (`> System:`).
        let line = &t0[t0.rfind('\n').map_or(0, |k| k + 1)..];
        if line.trim_start() == ">" || line.contains('<') {
            return true;
        }
    }
    let t = text[..s].trim_end_matches([' ', '>', '*', '-', '#', '\t', '|', '_', '<', '!', '[', '=', '%', '(', '{']);
    t.is_empty() || t.ends_with('\n')
}

/// Combined score of a set of hits: per detector the best hit plus half of the second,
/// then the detectors combined as a noisy-OR where all but the strongest count at 60%.
pub fn combine(hits: &[Hit]) -> f32 {
    let mut per = [(0.0f32, 0.0f32); 8];
    for h in hits {
        let p = &mut per[h.detector as usize];
        if h.score > p.0 {
            p.1 = p.0;
            p.0 = h.score;
        } else if h.score > p.1 {
            p.1 = h.score;
        }
    }
    let mut ks: Vec<f32> = per.iter().map(|&(a, b)| (a + (1.0 - a) * b * 0.5).min(1.0)).filter(|&k| k > 0.0).collect();
    ks.sort_by(|a, b| b.total_cmp(a));
    let mut rest = 1.0;
    for (i, k) in ks.iter().enumerate() {
        rest *= 1.0 - if i == 0 { *k } else { 0.6 * k };
    }
    (1.0 - rest).clamp(0.0, 1.0)
}

impl Engine {
    pub fn new(
        settings: Settings,
        extra_phrases: &[String],
        extra_patterns: &[String],
        custom_score: f32,
    ) -> Result<Engine, String> {
        let mut rules = Vec::with_capacity(RULES.len());
        let mut anchors: Vec<String> = Vec::new();
        let mut anchor_rules: Vec<Vec<AnchorRule>> = Vec::new();
        for (i, def) in RULES.iter().enumerate() {
            rules.push(Rule {
                kind: def.kind,
                score: def.score,
                flags: def.flags,
                what: def.what,
                src: def.re,
                prefixes: Prefixes::of(&expand(def.re)),
                re: OnceLock::new(),
            });
            for a in def.anchors {
                let k = match anchors.iter().position(|x| x == a) {
                    Some(k) => k,
                    None => {
                        anchors.push((*a).to_string());
                        anchor_rules.push(Vec::new());
                        anchors.len() - 1
                    }
                };
                anchor_rules[k].push((i as u16, rules[i].prefixes.for_anchor(a)));
            }
        }
        let anchor_word = anchors.iter().map(|a| a.chars().next().is_some_and(is_word_char)).collect();
        // A contiguous NFA, not a DFA: for these ~700 anchors the DFA's transition table
        // was ~7 MiB of linear memory per instance (WASM memory never shrinks), the NFA is
        // a few hundred KiB and the scan stays a small part of a call.
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&anchors)
            .map_err(|e| format!("internal anchors: {e}"))?;
        let re = |s: &str| Regex::new(s).map_err(|e| format!("internal regex: {e}"));

        let custom_ac = if extra_phrases.is_empty() {
            None
        } else {
            let folded: Vec<String> = extra_phrases.iter().map(|p| normalize(p).text.trim().to_string()).collect();
            if let Some(i) = folded.iter().position(String::is_empty) {
                return Err(format!("extra_phrases[{i}] is empty after normalisation"));
            }
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&folded)
                    .map_err(|e| format!("extra_phrases: {e}"))?,
            )
        };
        let mut custom_res = Vec::new();
        for (i, p) in extra_patterns.iter().enumerate() {
            if p.is_empty() {
                return Err(format!("extra_patterns[{i}] is empty"));
            }
            let r = Regex::new(p).map_err(|e| format!("extra_patterns[{i}] is not a valid regex: {e}"))?;
            if r.is_match("") {
                return Err(format!("extra_patterns[{i}] matches the empty string"));
            }
            custom_res.push(r);
        }

        Ok(Engine {
            rules,
            ac,
            anchor_rules,
            anchor_word,
            lexicon: Lexicon::new()?,
            directives: Directives::new()?,
            followup: re(rules::FOLLOWUP)?,
            hidden_directive: re(rules::HIDDEN_DIRECTIVE)?,
            own: re(rules::OWN)?,
            custom_ac,
            custom_res,
            custom_score,
            settings,
        })
    }

    fn on(&self, d: Detector) -> bool {
        self.settings.enabled[d as usize]
    }

    /// "the parser must ignore ...", "it will forget ...": a modal verb with a subject other
    /// than "you" right before the phrase describes behaviour instead of giving an order.
    fn modal_statement(&self, found: &crate::lexicon::Found, text: &str, lo: usize, lead: usize) -> bool {
        let Some(start) = found.start_ending_at(Cat::Modal, lo, lead) else { return false };
        let subject = text[..start].trim_end();
        let last_word = subject.rsplit(|c: char| !c.is_alphanumeric() && c != '\'').next().unwrap_or("");
        !subject.is_empty()
            && !matches!(
                last_word,
                "you" | "now" | "and" | "then" | "also" | "assistant" | "ai" | "model" | "agent" | "bot"
            )
            && !subject.ends_with(['.', ':', '!', '?', '\n'])
    }

    /// Analyse one string. `budget` bounds the bytes of decoded text scanned again.
    pub fn analyze(&self, raw: &str, depth: u32, budget: &mut usize) -> Vec<Hit> {
        self.analyze_with(raw, depth, budget, true)
    }

    /// `urls`: whether to look at URL structure (not for text that was itself a URL).
    fn analyze_with(&self, raw: &str, depth: u32, budget: &mut usize, urls: bool) -> Vec<Hit> {
        let mut hits: Vec<Hit> = Vec::new();
        let norm = normalize(raw);
        let text = norm.text.as_str();

        // 1. Anchor hits -> anchored attempts of the rules that start with that anchor.
        let mut matches: Vec<(usize, usize, usize)> = Vec::new();
        let mut tried_at: Vec<usize> = Vec::new();
        let mut covered_to: Vec<usize> = Vec::new();
        for m in self.ac.find_overlapping_iter(text) {
            if tried_at.is_empty() {
                tried_at = vec![usize::MAX; self.rules.len()];
                covered_to = vec![0usize; self.rules.len()];
            }
            let pid = m.pattern().as_usize();
            let s = m.start();
            if self.anchor_word[pid] && text[..s].chars().next_back().is_some_and(is_word_char) {
                continue;
            }
            let slice = &text[s..ceil_b(text, s + MAX_MATCH)];
            for (r, among) in &self.anchor_rules[pid] {
                let r = *r as usize;
                if tried_at[r] == s || s < covered_to[r] {
                    continue;
                }
                tried_at[r] = s;
                let rule = &self.rules[r];
                let Some(found) = rule.find(among.as_deref(), slice) else { continue };
                let e = s + found;
                if e == s
                    || (rule.flags & LINE != 0 && !at_line_start(text, s))
                    || (rule.flags & SENT != 0 && !at_sentence_start(text, s))
                    || (rule.flags & END != 0 && !text[e..].trim().is_empty())
                    || (rule.flags & BARE != 0 && !bare_upper(raw, &norm, text, s, e))
                {
                    continue;
                }
                covered_to[r] = e;
                matches.push((r, s, e));
            }
        }
        let mut addressed_at: Vec<(usize, usize)> =
            matches.iter().filter(|m| self.rules[m.0].kind == Kind::Addressing).map(|m| (m.1, m.2)).collect();
        addressed_at.sort_unstable();
        // Text addressed to an AI counts for the phrases near it (the same paragraph or so),
        // not for the whole of a long document.
        let addressed_near = |s: usize, e: usize| {
            let k = addressed_at.partition_point(|a| a.0 + ADDRESS_BEFORE < s);
            addressed_at.get(k).is_some_and(|a| a.0 <= e + ADDRESS_AFTER)
        };
        let discussion = matches.iter().any(|m| self.rules[m.0].kind == Kind::Discussion);
        let fences: Vec<usize> = text.match_indices("```").map(|x| x.0).collect();

        // 1b. What text addressed to an AI asks for, up to the end of its paragraph: no fixed
        // phrase needed, the kinds of request are scored (see `directive`).
        if self.on(Detector::ToolHijack) || self.on(Detector::Override) {
            let mut regions: Vec<(usize, usize)> = Vec::new();
            for &(s, e) in &addressed_at {
                if human_role(&text[s..e]) {
                    continue;
                }
                // "Attention assistant managers:": a job title, not a model.
                if text[..e].ends_with("assistant")
                    && text[e..].strip_prefix(' ').is_some_and(|t| {
                        let w = t.split([':', ',']).next().unwrap_or("");
                        !w.is_empty()
                            && w.len() < t.len()
                            && w.chars().all(|c| c.is_alphabetic())
                            && !matches!(w, "model" | "agent" | "bot" | "ai")
                    })
                {
                    continue;
                }
                // The rest of the line and the next one (the normalised text has no blank
                // lines), at most REGION_AFTER bytes.
                let hi = ceil_b(text, e + REGION_AFTER);
                let mut end = text[e..hi].match_indices('\n').nth(1).map_or(hi, |(k, _)| e + k);
                // Another speaker's turn ("User: …") is not part of what was addressed.
                if let Some(k) = text[e..end].find('\n')
                    && speaker_line(&text[e + k + 1..end])
                {
                    end = e + k;
                }
                match regions.last_mut() {
                    Some(r) if s <= r.1 => r.1 = r.1.max(end),
                    _ => regions.push((s, end)),
                }
            }
            for (s, end) in regions {
                let (features, target) = self.directives.features(text, s, end, concrete_target);
                let mut score = directive::score(features, target);
                if score < 0.4 {
                    continue;
                }
                // An addressed example quoted in text about attacks.
                let lo = floor_b(text, s.saturating_sub(WINDOW_BEFORE));
                let quoted_here =
                    quoted(&text[lo..s], &text[s..ceil_b(text, s + 200)]) || inside_quote(text, s, ceil_b(text, s + 1));
                let fenced = fences.partition_point(|&f| f < s) % 2 == 1;
                if self.settings.educational && discussion && (quoted_here || fenced) {
                    score *= 0.4;
                }
                let det = if directive::acts(features) { Detector::ToolHijack } else { Detector::Override };
                let (os, oe) = norm.orig_span(s, end);
                hits.push(Hit {
                    detector: det,
                    start: os,
                    end: oe,
                    score,
                    what: "directive addressed to an AI".into(),
                });
            }
        }

        // 2. Score the detector matches in context.
        let found = if matches.iter().any(|m| Detector::of(self.rules[m.0].kind).is_some()) {
            Some(self.lexicon.scan(text))
        } else {
            None
        };
        let mut phrase_hits: Vec<(Hit, usize, usize)> = Vec::new();
        for &(ri, s, e) in &matches {
            let rule = &self.rules[ri];
            let Some(det) = Detector::of(rule.kind) else { continue };
            let Some(found) = &found else { continue };
            let before = &text[floor_b(text, s.saturating_sub(WINDOW_BEFORE))..s];
            let after = &text[e..ceil_b(text, e + 200)];
            let mut score = rule.score;
            let strong_ctx = matches!(rule.kind, Kind::ToolHijack | Kind::Exfiltration);
            let addressed = addressed_near(s, e);
            if rule.flags & CTX != 0 {
                let sb = sentence_before(before);
                let sa = sentence_after(after);
                let (sb_start, sa_end) = (s - sb.len(), e + sa.len());
                // End of the words right before the match (spaces and opening quotes skipped).
                let lead = text[..s].trim_end_matches([' ', '"', '\'', '`', '“', '«', '‘', '(', '*']).len();
                if self.followup.is_match(after) {
                    score += 0.1;
                }
                if found.any(Cat::Urgency, sb_start, sa_end) {
                    score += if strong_ctx { 0.2 } else { 0.05 };
                }
                // A secret named near exfiltration, or near a tool call that also names where to
                // send it (an address, a URL, a credential path).
                if (rule.kind == Kind::Exfiltration
                    || (rule.kind == Kind::ToolHijack && concrete_target(&text[sb_start..sa_end])))
                    && found.any(Cat::Sensitive, sb_start, sa_end)
                {
                    score += 0.15;
                }
                if addressed {
                    score += if strong_ctx { 0.35 } else { 0.2 };
                } else if self.settings.educational {
                    // Commands and URLs are quoted as a matter of course; only phrases of
                    // override and role hijack count as quotations.
                    let quoted = !strong_ctx && (quoted(before, after) || inside_quote(text, s, e));
                    // A concrete target (URL, e-mail address, credential path) in the same
                    // sentence makes the phrase operational: framing and discussion elsewhere
                    // in the text no longer excuse it; a quotation of it keeps 45% at least.
                    let concrete = concrete_target(&text[sb_start..sa_end]);
                    let framing = found.any(Cat::Framing, sb_start.max(s.saturating_sub(100)), s)
                        || (quoted && code_line(text, s));
                    let lo = sb_start.max(s.saturating_sub(80));
                    if found.ends_at(Cat::Descriptive, lo, lead)
                        || self.modal_statement(found, text, lo, lead)
                        || caused(found, text, lo, lead)
                    {
                        score *= 0.5;
                    }
                    let factor: f32 = match (quoted, framing, discussion) {
                        (true, true, _) | (true, _, true) => 0.3,
                        (true, false, false) => 0.6,
                        (false, true, true) => 0.65,
                        (false, false, true) => 0.65,
                        (false, true, false) => 0.9,
                        (false, false, false) => 1.0,
                    };
                    score *= match (rule.flags & NODAMP != 0 || concrete, quoted) {
                        (true, false) => 1.0,
                        (true, true) => factor.max(0.45),
                        (false, _) => factor,
                    };
                }
                if !addressed
                    && (found.any(Cat::Conditional, sb_start, sa_end) || found.ends_at(Cat::Permission, sb_start, lead))
                {
                    score *= 0.5;
                }
                if !addressed && rule.kind == Kind::Override && document_subject(sb, after) {
                    score *= 0.4;
                }
                // A negated action ("never send your password to ...", "clients will not send").
                if found.ends_at(Cat::Negation, sb_start.max(s.saturating_sub(40)), lead) {
                    score *= 0.3;
                }
                // The writer's own earlier instructions ("disregard the previous instructions
                // I sent", "ignore my previous instructions"): a correction, not an attack.
                if !addressed && (self.own.is_match(after) || text[s..e].contains(" my ")) {
                    score *= 0.5;
                }
            } else {
                let directive = if rule.flags & DIRECTIVE != 0 {
                    let span: usize = after.split('\n').take(3).map(|l| l.len() + 1).sum();
                    found.distinct(Cat::Directive, e, (e + span).min(text.len()), 2)
                } else {
                    0
                };
                score += 0.15 * directive as f32;
                if rule.flags & CODE != 0 {
                    let (line_start, _) = line_bounds(text, s, s);
                    let ticks = text[line_start..s].matches('`').count();
                    let fenced = fences.partition_point(|&f| f < s) % 2 == 1;
                    if ticks % 2 == 1 || fenced {
                        score *= 0.3;
                    }
                }
                if rule.flags & LOGLIKE != 0 && after.trim_start().starts_with(|c: char| c.is_ascii_digit()) {
                    score *= 0.3;
                }
                if rule.flags & VALUE != 0 && (code_value(after) || (directive == 0 && key_value_block(text, s))) {
                    score *= 0.2;
                }
                if rule.flags & LINE != 0 {
                    // Documentation about the markers themselves ("these markers delimit turns").
                    let (ls, le) = line_bounds(text, s, e);
                    if found.any(Cat::Format, ls, le) {
                        score *= 0.4;
                    }
                }
                if discussion && !addressed && self.settings.educational {
                    score *= 0.65;
                }
            }
            let (os, oe) = norm.orig_span(s, e);
            let hit =
                Hit { detector: det, start: os, end: oe, score: score.clamp(0.0, 1.0), what: rule.what.to_string() };
            phrase_hits.push((hit, s, e));
        }

        // 3. Words split by invisible characters.
        if self.on(Detector::HiddenText) {
            for (h, s, e) in &phrase_hits {
                if h.score >= 0.3 && norm.has_split_inside(*s, *e) {
                    hits.push(Hit {
                        detector: Detector::HiddenText,
                        start: h.start,
                        end: h.end,
                        score: h.score.max(0.8),
                        what: format!("{} disguised with zero-width characters", h.what),
                    });
                }
            }
        }

        // 4. Instructions inside HTML regions a human never sees.
        // Markup and URLs need a `<` or a `//`; most short strings have neither.
        let markup = raw.contains('<') || raw.contains("//");
        let lower = if markup { raw.to_ascii_lowercase() } else { String::new() };
        if markup && self.on(Detector::HiddenText) && (lower.contains("<!--") || lower.contains("style")) {
            for r in hidden::hidden_regions(&lower) {
                let comment = r.what == "HTML comment";
                let mut found = false;
                for (h, _, _) in phrase_hits.iter_mut() {
                    if h.start >= r.start && h.end <= r.end && h.score >= 0.2 {
                        h.score = (h.score + 0.1).min(1.0);
                        if !found {
                            hits.push(Hit {
                                detector: Detector::HiddenText,
                                start: r.start,
                                end: r.end,
                                score: h.score.max(0.7),
                                what: format!(
                                    "{} inside {}",
                                    h.what,
                                    if comment { "an HTML comment" } else { "a CSS-hidden element" }
                                ),
                            });
                            found = true;
                        }
                    }
                }
                if found {
                    continue;
                }
                let addressed_inside = addressed_at.iter().any(|&(s, e)| {
                    let (os, oe) = norm.orig_span(s, e);
                    os >= r.start && oe <= r.end
                });
                let region_text = normalize(&raw[r.start..r.end]).text;
                let directive =
                    region_text.split_whitespace().count() >= 4 && self.hidden_directive.is_match(&region_text);
                if addressed_inside || directive {
                    let base = if addressed_inside { 0.6 } else { 0.5 };
                    hits.push(Hit {
                        detector: Detector::HiddenText,
                        start: r.start,
                        end: r.end,
                        score: if comment { base - 0.1 } else { base },
                        what: if comment {
                            "directive for an AI inside an HTML comment".into()
                        } else {
                            "directive for an AI inside a CSS-hidden element".into()
                        },
                    });
                }
            }
        }
        hits.extend(phrase_hits.into_iter().map(|x| x.0));

        // 5. Invisible characters, tag smuggling, bidi tricks.
        if self.on(Detector::HiddenText) {
            let (hidden_hits, payloads) = hidden::scan_invisible(raw);
            for h in hidden_hits {
                hits.push(Hit {
                    detector: Detector::HiddenText,
                    start: h.start,
                    end: h.end,
                    score: h.score,
                    what: h.what.to_string(),
                });
            }
            for p in payloads {
                if depth > self.settings.max_depth + 1 || p.text.len() > *budget {
                    continue;
                }
                *budget -= p.text.len();
                let inner = self.analyze(&p.text, depth + 1, budget);
                if let Some(h) = wrap(&inner, Detector::HiddenText, p.start, p.end, p.how) {
                    hits.push(h);
                }
            }
        }

        // 6. URLs that carry data out.
        if urls && markup && self.on(Detector::Exfiltration) && lower.contains("//") {
            for u in exfil::scan_urls(raw, &lower) {
                hits.push(Hit {
                    detector: Detector::Exfiltration,
                    start: u.start,
                    end: u.end,
                    score: u.score,
                    what: u.what.to_string(),
                });
            }
        }

        // 7. Encoded payloads, decoded and scanned again.
        if self.on(Detector::Encoded) && depth < self.settings.max_depth {
            for d in decode::find_encoded(raw, budget) {
                let inner = self.analyze_with(&d.text, depth + 1, budget, d.how != "URL-encoded");
                if let Some(h) = wrap(&inner, Detector::Encoded, d.start, d.end, d.how) {
                    hits.push(h);
                }
            }
        }

        // 8. Operator-supplied phrases and patterns.
        if self.on(Detector::Custom) {
            if let Some(ac) = &self.custom_ac {
                for m in ac.find_iter(text) {
                    let (os, oe) = norm.orig_span(m.start(), m.end());
                    hits.push(Hit {
                        detector: Detector::Custom,
                        start: os,
                        end: oe,
                        score: self.custom_score,
                        what: format!("configured phrase #{}", m.pattern().as_usize() + 1),
                    });
                }
            }
            for (i, r) in self.custom_res.iter().enumerate() {
                for m in r.find_iter(text) {
                    let (os, oe) = norm.orig_span(m.start(), m.end());
                    hits.push(Hit {
                        detector: Detector::Custom,
                        start: os,
                        end: oe,
                        score: self.custom_score,
                        what: format!("configured pattern #{}", i + 1),
                    });
                }
            }
        }

        hits.retain(|h| self.on(h.detector) && h.score > 0.0);
        hits
    }
}

/// Turn the hits found in decoded text into one hit on the encoded span.
fn wrap(inner: &[Hit], det: Detector, start: usize, end: usize, how: &str) -> Option<Hit> {
    let inner_score = combine(inner);
    if inner_score < 0.25 {
        return None;
    }
    let top = inner.iter().max_by(|a, b| a.score.total_cmp(&b.score))?;
    let base = if det == Detector::HiddenText { 0.85 } else { 0.0 };
    Some(Hit {
        detector: det,
        start,
        end,
        score: (inner_score + 0.15).min(1.0).max(base),
        what: format!("{how} text containing {}", top.what),
    })
}

#[cfg(test)]
impl Engine {
    /// Every rule match (detectors and context) with its text, for debugging.
    pub fn explain(&self, raw: &str) -> Vec<String> {
        let norm = normalize(raw);
        let text = norm.text.as_str();
        let mut out = Vec::new();
        for m in self.ac.find_overlapping_iter(text) {
            let pid = m.pattern().as_usize();
            let s = m.start();
            if self.anchor_word[pid] && text[..s].chars().next_back().is_some_and(is_word_char) {
                continue;
            }
            let slice = &text[s..ceil_b(text, s + MAX_MATCH)];
            for (r, among) in &self.anchor_rules[pid] {
                let r = *r;
                if let Some(end) = self.rules[r as usize].find(among.as_deref(), slice) {
                    out.push(format!(
                        "{:?} {} [{}]",
                        self.rules[r as usize].kind,
                        self.rules[r as usize].what,
                        &slice[..end]
                    ));
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Whether every rule's regex compiles (they are compiled lazily).
    pub fn check_rules(&self) -> Result<(), String> {
        for (i, r) in self.rules.iter().enumerate() {
            Regex::new(&format!("^(?:{})", expand(r.src)))
                .map_err(|e| format!("internal rule {i} ({}): {e}", r.what))?;
        }
        Ok(())
    }

    /// How many rules the prefix filter reads something for.
    pub fn prefiltered_rules(&self) -> (usize, usize) {
        (self.rules.iter().filter(|r| r.prefixes.is_known()).count(), self.rules.len())
    }
}
