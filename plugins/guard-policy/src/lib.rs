//! `guard-policy`: operator-written policy rules per upstream server and tool.
//!
//! The plugin joins all three guardrail stages (tool-call arguments, tool results,
//! tool definitions at discovery) and reads both content forms: the extracted
//! strings (`texts`, for keyword/regex/allow-list checks with exact paths and spans)
//! and the compact JSON (`json`, for size, depth and value-count limits).
//!
//! # Config
//!
//! ```json
//! { "rules": [
//!     { "name": "no-sql-deletes",
//!       "servers": ["github", "fs*"], "tools": ["*"],
//!       "stages": ["input", "output"],
//!       "deny_keywords": ["drop table"], "case_sensitive": false,
//!       "deny_patterns": ["(?i)\\bDELETE\\s+FROM\\b"],
//!       "allow_patterns": ["^[a-z0-9_/.-]+$"],
//!       "max_payload_bytes": 65536, "max_string_bytes": 8192,
//!       "max_depth": 32, "max_items": 10000,
//!       "action": "block" } ] }
//! ```
//!
//! `{}` means no rules: everything is allowed. Every field of a rule is optional,
//! but a rule needs at least one constraint (a keyword, pattern or limit).
//!
//! - `servers`, `tools` (default `["*"]`): globs over the upstream server name (as
//!   configured in `warden.toml`) and the tool name (un-namespaced; at discovery,
//!   the tool definition's `/name`). `*` matches any run of characters, `?` exactly
//!   one; everything else matches itself, case-sensitively. A rule applies when the
//!   server matches one of `servers` AND the tool matches one of `tools`.
//! - `stages` (default all): any of `"input"`, `"output"`, `"tool"`.
//! - `deny_keywords`: substrings that must not occur in any string value.
//!   `case_sensitive` (default `false`) folds case: ASCII letters plus simple Unicode
//!   lowercase mappings that keep the UTF-8 length (e.g. `É`/`é`, `Ж`/`ж`), so
//!   reported spans stay exact. No whitespace or homoglyph normalization.
//! - `deny_patterns`: regexes (regex-lite syntax: `(?i)` is ASCII-only, `\b`, `\w`,
//!   `\d` are ASCII) that must not match any string value. A pattern matching the
//!   empty string is refused (it would deny everything).
//! - `allow_patterns`: if set, every string value must match at least one of them
//!   (anchor with `^...$` to constrain the whole string; an unanchored pattern
//!   accepts any string containing a match).
//! - `max_payload_bytes`: size of the payload as compact JSON.
//! - `max_string_bytes`: length in UTF-8 bytes of any single string, values and
//!   object keys alike.
//! - `max_depth`: nesting depth of arrays/objects (a scalar is 0, `{"a":1}` is 1).
//! - `max_items`: total number of JSON values (objects, arrays, strings, numbers,
//!   booleans, nulls; keys do not count).
//! - `action` (default `"block"`): `"block"` or `"warn"`.
//! - `name`: shown in findings instead of the rule's index (`rules[3]`).
//!
//! Limits must be at least 1; regexes are compiled once, with a size cap. Any error
//! names the rule and field, e.g. `rules[1].deny_patterns[0]: invalid regex: ...`.
//!
//! # Semantics
//!
//! Every rule that applies is checked; each violation is a finding (`policy.keyword`,
//! `policy.pattern`, `policy.allowlist`, `policy.size` for payload/string/item
//! limits, `policy.depth`) whose message names the rule and the violated constraint
//! (e.g. `deny_keywords[2]`), never the matched content. The strongest action of the
//! violated rules wins (block > warn). Findings of blocking rules come first; the
//! list is capped (16 per rule, 64 in all).
//!
//! Keyword, pattern and allow-list checks read string values only: object keys,
//! numbers and booleans are not matched (keys do count for `max_string_bytes`).
//!
//! # Cost
//!
//! Size, depth and count limits are measured in one forward pass over the JSON
//! bytes with a counter, no recursion and no allocation, so deeply nested or
//! several-MiB payloads are cheap. If a blocking rule's structural limit is
//! exceeded, the string checks are skipped (the call is blocked anyway). Keywords
//! use one Aho-Corasick pass per string. Regexes run on regex-lite's linear-time
//! engine (`O(pattern * text)`, no backtracking blow-ups, but some 50-80 ns per
//! byte in wasm): a deny pattern runs only on strings that contain a literal every
//! match of it needs (`delete` for `(?i)\bDELETE\s+FROM\b`, found by a
//! conservative scan of the pattern, see `prefilter.rs`), so typical deny
//! patterns cost microseconds on 64 KiB; an allow pattern has to scan every string
//! in full, so keep allow-lists to tools whose arguments are short.
//! When the host passes no JSON (e.g. `warden scan` on plain strings), the
//! structure is estimated from the strings and their JSON Pointers.

mod config;
mod prefilter;
mod shape;

use std::borrow::Cow;

use config::{Action, Rule, Stage};
use shape::Shape;
use warden_plugin_sdk::*;

/// Most findings kept per rule; the verdict is decided before the cap applies.
const PER_RULE_FINDINGS: usize = 16;
/// Most findings returned in one verdict.
const MAX_FINDINGS: usize = 64;

const SCHEMA: &str = r##"{
"$schema": "https://json-schema.org/draft/2020-12/schema",
"title": "guard-policy config",
"type": "object",
"additionalProperties": false,
"properties": {
  "rules": {
    "description": "Policy rules; every rule whose servers, tools and stages match is applied. No rules: allow everything.",
    "type": "array",
    "items": { "$ref": "#/$defs/rule" }
  }
},
"$defs": {
  "glob": {
    "type": "string", "minLength": 1, "pattern": "^[^\\[\\]{}\\\\]+$",
    "description": "Name glob: * matches any run of characters, ? exactly one; case-sensitive."
  },
  "limit": { "type": "integer", "minimum": 1 },
  "rule": {
    "type": "object",
    "additionalProperties": false,
    "anyOf": [
      { "required": ["deny_keywords"] }, { "required": ["deny_patterns"] }, { "required": ["allow_patterns"] },
      { "required": ["max_payload_bytes"] }, { "required": ["max_string_bytes"] },
      { "required": ["max_depth"] }, { "required": ["max_items"] }
    ],
    "properties": {
      "name": { "type": "string", "minLength": 1, "maxLength": 128, "description": "Shown in findings instead of the rule index." },
      "servers": { "type": "array", "minItems": 1, "items": { "$ref": "#/$defs/glob" }, "default": ["*"], "description": "Upstream server names the rule applies to." },
      "tools": { "type": "array", "minItems": 1, "items": { "$ref": "#/$defs/glob" }, "default": ["*"], "description": "Tool names the rule applies to (at discovery: the definition's /name)." },
      "stages": { "type": "array", "minItems": 1, "items": { "enum": ["input", "output", "tool"] }, "default": ["input", "output", "tool"] },
      "deny_keywords": { "type": "array", "items": { "type": "string", "minLength": 1 }, "description": "Substrings no string value may contain." },
      "case_sensitive": { "type": "boolean", "default": false, "description": "For deny_keywords only." },
      "deny_patterns": { "type": "array", "items": { "type": "string", "minLength": 1 }, "description": "Regexes (regex-lite syntax) no string value may match." },
      "allow_patterns": { "type": "array", "items": { "type": "string", "minLength": 1 }, "description": "If set, every string value must match at least one of these regexes." },
      "max_payload_bytes": { "$ref": "#/$defs/limit", "description": "Maximum size of the payload as compact JSON." },
      "max_string_bytes": { "$ref": "#/$defs/limit", "description": "Maximum UTF-8 length of any string value or object key." },
      "max_depth": { "$ref": "#/$defs/limit", "description": "Maximum nesting depth of arrays/objects." },
      "max_items": { "$ref": "#/$defs/limit", "description": "Maximum total number of JSON values." },
      "action": { "enum": ["block", "warn"], "default": "block" }
    }
  }
}
}"##;

/// Lower-case `s` without changing any character's UTF-8 length, so byte offsets
/// into the folded string are offsets into the original: ASCII letters, plus the
/// non-ASCII characters whose simple lowercase has the same encoded length.
pub(crate) fn fold(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        };
    }
    Cow::Owned(s.chars().map(fold_char).collect())
}

fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) if l.len_utf8() == c.len_utf8() => l,
        _ => c,
    }
}

fn span(start: usize, end: usize) -> Option<Span> {
    Some(Span { start: u32::try_from(start).unwrap_or(u32::MAX), end: u32::try_from(end).unwrap_or(u32::MAX) })
}

fn violation(detector: &str, message: String, path: &str, span: Option<Span>) -> Finding {
    Finding { detector: detector.to_string(), message, path: path.to_string(), span, score: 1.0 }
}

/// Findings of one rule, capped.
struct RuleFindings<'r> {
    rule: &'r Rule,
    found: Vec<Finding>,
}

impl RuleFindings<'_> {
    fn full(&self) -> bool {
        self.found.len() >= PER_RULE_FINDINGS
    }

    fn push(&mut self, detector: &str, what: String, path: &str, span: Option<Span>) {
        if !self.full() {
            let message = format!("{}: {what}", self.rule.label);
            self.found.push(violation(detector, message, path, span));
        }
    }

    /// Size, depth and count limits.
    fn check_structure(&mut self, shape: &Shape, content: &Content) {
        let rule = self.rule;
        let estimated = if shape.exact { "" } else { " (at least)" };
        if let Some(max) = rule.max_payload_bytes
            && shape.payload_bytes > max
        {
            let what = format!("payload is {}{estimated} bytes, over max_payload_bytes ({max})", shape.payload_bytes);
            self.push("policy.size", what, "", None);
        }
        if let Some(max) = rule.max_depth
            && shape.depth > max
        {
            let what = format!("payload nesting depth {}{estimated} exceeds max_depth ({max})", shape.depth);
            self.push("policy.depth", what, "", None);
        }
        if let Some(max) = rule.max_items
            && shape.items > max
        {
            let what = format!("payload has {}{estimated} values, over max_items ({max})", shape.items);
            self.push("policy.size", what, "", None);
        }
        if let Some(max) = rule.max_string_bytes {
            if shape.max_value_bytes > max {
                let long = content.texts.iter().filter(|t| t.text.len() as u64 > max);
                let mut any = false;
                for item in long {
                    any = true;
                    let what = format!("string is {} bytes, over max_string_bytes ({max})", item.text.len());
                    self.push("policy.size", what, &item.path, None);
                }
                if !any {
                    // Strings measured in the JSON but not handed over as texts.
                    let what = format!("a string is {} bytes, over max_string_bytes ({max})", shape.max_value_bytes);
                    self.push("policy.size", what, "", None);
                }
            }
            if shape.max_key_bytes > max {
                let what = format!("an object key is {} bytes, over max_string_bytes ({max})", shape.max_key_bytes);
                self.push("policy.size", what, "", None);
            }
        }
    }

    /// Keywords, deny patterns and the allow-list over every string value.
    /// `folded[i]` is the case-folded `content.texts[i]` when some rule needs it.
    fn check_strings(&mut self, content: &Content, folded: &[Cow<'_, str>]) -> Result<(), PluginError> {
        let rule = self.rule;
        for (i, item) in content.texts.iter().enumerate() {
            if self.full() {
                break;
            }
            if let Some(kw) = &rule.keywords {
                let hay = match folded.get(i) {
                    Some(f) if !kw.case_sensitive => f.as_ref(),
                    _ => item.text.as_str(),
                };
                let matches = kw
                    .automaton
                    .try_find_overlapping_iter(hay)
                    .map_err(|e| error(format!("keyword search failed: {e}")))?;
                for m in matches {
                    if self.full() {
                        break;
                    }
                    let what = format!("string contains denied keyword deny_keywords[{}]", m.pattern().as_usize());
                    self.push("policy.keyword", what, &item.path, span(m.start(), m.end()));
                }
            }
            let candidates =
                if rule.deny_patterns.is_empty() { Vec::new() } else { rule.deny_prefilter.candidates(&item.text) };
            for (p, re) in rule.deny_patterns.iter().enumerate() {
                if self.full() {
                    break;
                }
                if !candidates.get(p).copied().unwrap_or(true) {
                    continue; // its required literal is absent: it cannot match
                }
                // At most two searches per pattern and string keep matching
                // O(pattern * text); `is_match` skips tracking match bounds, which
                // is markedly cheaper on the common no-match path.
                if re.is_match(&item.text)
                    && let Some(m) = re.find(&item.text)
                {
                    let what = format!("string matches denied pattern deny_patterns[{p}]");
                    self.push("policy.pattern", what, &item.path, span(m.start(), m.end()));
                }
            }
            if !rule.allow_patterns.is_empty() && !rule.allow_patterns.iter().any(|re| re.is_match(&item.text)) {
                self.push("policy.allowlist", "string matches none of allow_patterns".to_string(), &item.path, None);
            }
        }
        Ok(())
    }
}

/// Findings of all violated rules, split by action.
#[derive(Default)]
struct Outcome {
    block: Vec<Finding>,
    warn: Vec<Finding>,
}

impl Outcome {
    fn add(&mut self, f: RuleFindings<'_>) {
        match f.rule.action {
            Action::Block => self.block.extend(f.found),
            Action::Warn => self.warn.extend(f.found),
        }
    }

    fn verdict(self) -> Verdict {
        let blocked = !self.block.is_empty();
        let mut findings = self.block;
        findings.extend(self.warn);
        findings.truncate(MAX_FINDINGS);
        match (findings.is_empty(), blocked) {
            (true, _) => Verdict::Allow,
            (false, true) => Verdict::Block(findings),
            (false, false) => Verdict::Warn(findings),
        }
    }
}

struct Policy {
    rules: Vec<Rule>,
}

impl Policy {
    fn check(&self, stage: Stage, server: &str, tool: &str, content: &Content) -> Result<Verdict, PluginError> {
        let server: Vec<char> = server.chars().collect();
        let tool: Vec<char> = tool.chars().collect();
        let rules: Vec<&Rule> = self.rules.iter().filter(|r| r.applies(stage, &server, &tool)).collect();
        if rules.is_empty() {
            return Ok(Verdict::Allow);
        }
        let mut outcome = Outcome::default();

        // 1. Structural limits: one cheap pass, and a blocking violation ends the check.
        let structural: Vec<&Rule> = rules.iter().copied().filter(|r| r.has_structural_limits()).collect();
        if !structural.is_empty() {
            let shape = Shape::of(content);
            for &rule in &structural {
                let mut f = RuleFindings { rule, found: Vec::new() };
                f.check_structure(&shape, content);
                outcome.add(f);
            }
            if !outcome.block.is_empty() {
                return Ok(outcome.verdict());
            }
        }

        // 2. String checks.
        let needs_fold =
            rules.iter().any(|r| r.keywords.as_ref().is_some_and(|k| !k.case_sensitive)) && !content.texts.is_empty();
        let folded: Vec<Cow<'_, str>> =
            if needs_fold { content.texts.iter().map(|t| fold(&t.text)).collect() } else { Vec::new() };
        for rule in rules.into_iter().filter(|r| r.has_content_checks()) {
            let mut f = RuleFindings { rule, found: Vec::new() };
            f.check_strings(content, &folded)?;
            outcome.add(f);
        }
        Ok(outcome.verdict())
    }
}

/// The tool name of a tool definition: its `/name` string.
fn tool_name(content: &Content) -> Cow<'_, str> {
    if let Some(item) = content.texts.iter().find(|t| t.path == "/name") {
        return Cow::Borrowed(&item.text);
    }
    #[derive(serde::Deserialize)]
    struct Named {
        name: Option<String>,
    }
    // serde_json's recursion limit bounds the stack on deeply nested input.
    match serde_json::from_str::<Named>(&content.json) {
        Ok(Named { name: Some(name) }) => Cow::Owned(name),
        _ => Cow::Borrowed(""),
    }
}

impl Guardrail for Policy {
    fn describe() -> PluginInfo {
        PluginInfo {
            content_forms: ContentForms::TEXTS | ContentForms::JSON,
            config_schema: Some(SCHEMA.to_string()),
            ..plugin_info(
                "guard-policy",
                env!("CARGO_PKG_VERSION"),
                "Applies operator policy rules (denied keywords and regexes, allow-lists, size and depth limits) per upstream server and tool",
                Stages::INPUT | Stages::OUTPUT | Stages::TOOL,
            )
        }
    }

    fn configure(config_json: &str) -> Result<Self, String> {
        Ok(Policy { rules: config::parse(config_json)? })
    }

    fn check_input(&self, ctx: &CallContext, content: &Content) -> Result<Verdict, PluginError> {
        self.check(Stage::Input, &ctx.server, &ctx.tool, content)
    }

    fn check_output(&self, ctx: &CallContext, content: &Content) -> Result<Verdict, PluginError> {
        self.check(Stage::Output, &ctx.server, &ctx.tool, content)
    }

    fn check_tool(&self, server: &str, content: &Content) -> Result<Verdict, PluginError> {
        let tool = tool_name(content);
        self.check(Stage::Tool, server, &tool, content)
    }
}

export_guardrail!(Policy);

#[cfg(test)]
mod tests;
