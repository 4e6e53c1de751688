//! Parsing and validation of the plugin config into compiled [`Rule`]s.
//!
//! Fields are read one by one (instead of deriving `Deserialize` for the whole rule)
//! so that every error names the rule index and the field, e.g.
//! `rules[2].deny_patterns[0]: invalid regex: ...`.

use aho_corasick::{AhoCorasick, MatchKind};
use regex_lite::{Regex, RegexBuilder};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::prefilter::Prefilter;
use warden_plugin_sdk::glob::Glob;

/// Upper bound on the compiled size of one regex (bytes of NFA). Matching is
/// `O(size * text)`, so this keeps one pattern from eating the call's fuel budget.
const REGEX_SIZE_LIMIT: usize = 256 * 1024;
/// Longest accepted rule name (it is echoed in every finding).
const MAX_NAME_BYTES: usize = 128;

const TOP_FIELDS: &[&str] = &["rules"];
pub(crate) const RULE_FIELDS: &[&str] = &[
    "name",
    "servers",
    "tools",
    "stages",
    "deny_keywords",
    "case_sensitive",
    "deny_patterns",
    "allow_patterns",
    "max_payload_bytes",
    "max_string_bytes",
    "max_depth",
    "max_items",
    "action",
];

/// What to do when a rule is violated.
#[derive(Deserialize, Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Action {
    Warn,
    #[default]
    Block,
}

/// The hook a payload comes from.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Stage {
    Input,
    Output,
    Tool,
}

impl Stage {
    fn bit(self) -> u8 {
        match self {
            Stage::Input => 1,
            Stage::Output => 2,
            Stage::Tool => 4,
        }
    }
}

/// Compiled `deny_keywords`.
pub(crate) struct Keywords {
    /// Automaton over the keywords (folded when matching ignores case), reporting
    /// overlapping matches so no keyword hides another.
    pub automaton: AhoCorasick,
    pub case_sensitive: bool,
}

/// One validated, compiled rule.
pub(crate) struct Rule {
    /// How findings name the rule: `rule "name"` or `rules[3]`.
    pub label: String,
    servers: Vec<Glob>,
    tools: Vec<Glob>,
    stages: u8,
    pub keywords: Option<Keywords>,
    pub deny_patterns: Vec<Regex>,
    /// Which deny patterns can match a given string (see [`crate::prefilter`]).
    pub deny_prefilter: Prefilter,
    pub allow_patterns: Vec<Regex>,
    pub max_payload_bytes: Option<u64>,
    pub max_string_bytes: Option<u64>,
    pub max_depth: Option<u64>,
    pub max_items: Option<u64>,
    pub action: Action,
}

impl Rule {
    /// Does the rule apply to this stage, server and tool?
    pub(crate) fn applies(&self, stage: Stage, server: &[char], tool: &[char]) -> bool {
        self.stages & stage.bit() != 0
            && self.servers.iter().any(|g| g.matches(server))
            && self.tools.iter().any(|g| g.matches(tool))
    }

    /// Does the rule have a limit that needs the payload's [`Shape`](crate::shape::Shape)?
    pub(crate) fn has_structural_limits(&self) -> bool {
        self.max_payload_bytes.is_some()
            || self.max_string_bytes.is_some()
            || self.max_depth.is_some()
            || self.max_items.is_some()
    }

    /// Does the rule look at the strings themselves?
    pub(crate) fn has_content_checks(&self) -> bool {
        self.keywords.is_some() || !self.deny_patterns.is_empty() || !self.allow_patterns.is_empty()
    }
}

/// Parse the whole config. `{}` (or `{"rules": []}`) gives no rules.
pub(crate) fn parse(config_json: &str) -> Result<Vec<Rule>, String> {
    let top: Value = serde_json::from_str(config_json).map_err(|e| format!("invalid config JSON: {e}"))?;
    let Value::Object(top) = top else {
        return Err("config must be a JSON object such as {\"rules\": [...]}".to_string());
    };
    check_fields(&top, TOP_FIELDS, "config")?;
    let rules = match top.get("rules") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(rules)) => rules,
        Some(_) => return Err("rules: expected an array of rule objects".to_string()),
    };
    // Report the first problem of every rule at once, so one `warden check` run
    // shows them all.
    let mut parsed = Vec::with_capacity(rules.len());
    let mut errors = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        match parse_rule(i, rule) {
            Ok(rule) => parsed.push(rule),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() { Ok(parsed) } else { Err(errors.join("; ")) }
}

fn parse_rule(index: usize, rule: &Value) -> Result<Rule, String> {
    let at = format!("rules[{index}]");
    let Value::Object(map) = rule else {
        return Err(format!("{at}: expected an object"));
    };
    check_fields(map, RULE_FIELDS, &at)?;

    let name: Option<String> = field(map, &at, "name")?;
    if let Some(name) = &name {
        if name.trim().is_empty() {
            return Err(format!("{at}.name: must not be empty"));
        }
        if name.len() > MAX_NAME_BYTES {
            return Err(format!("{at}.name: longer than {MAX_NAME_BYTES} bytes"));
        }
        if name.chars().any(char::is_control) {
            return Err(format!("{at}.name: must not contain control characters"));
        }
    }
    let label = match &name {
        Some(name) => format!("rule {name:?}"),
        None => at.clone(),
    };

    let servers = globs(map, &at, "servers")?;
    let tools = globs(map, &at, "tools")?;

    let stages = match field::<Vec<Stage>>(map, &at, "stages")? {
        None => Stage::Input.bit() | Stage::Output.bit() | Stage::Tool.bit(),
        Some(list) if list.is_empty() => {
            return Err(format!("{at}.stages: must not be empty (omit it for all stages)"));
        }
        Some(list) => list.iter().fold(0, |acc, s| acc | s.bit()),
    };

    let case_sensitive = field::<bool>(map, &at, "case_sensitive")?.unwrap_or(false);
    let words: Vec<String> = field(map, &at, "deny_keywords")?.unwrap_or_default();
    if let Some(i) = words.iter().position(|w| w.is_empty()) {
        return Err(format!("{at}.deny_keywords[{i}]: must not be empty"));
    }
    let keywords = if words.is_empty() {
        None
    } else {
        let needles: Vec<String> =
            if case_sensitive { words } else { words.iter().map(|w| crate::fold(w).into_owned()).collect() };
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&needles)
            .map_err(|e| format!("{at}.deny_keywords: {e}"))?;
        Some(Keywords { automaton, case_sensitive })
    };

    let deny_sources: Vec<String> = field(map, &at, "deny_patterns")?.unwrap_or_default();
    let deny_patterns = regexes(&deny_sources, &at, "deny_patterns")?;
    let deny_prefilter = Prefilter::new(&deny_sources).map_err(|e| format!("{at}.deny_patterns: {e}"))?;
    for (i, re) in deny_patterns.iter().enumerate() {
        // A deny pattern that matches the empty string matches (at offset 0 of) every
        // string: almost surely a mistake such as a trailing `|` or a `*` too many.
        if re.is_match("") && re.is_match("\u{1}") {
            return Err(format!("{at}.deny_patterns[{i}]: matches the empty string, so it would deny every string"));
        }
    }
    let allow_sources: Vec<String> = field(map, &at, "allow_patterns")?.unwrap_or_default();
    let allow_patterns = regexes(&allow_sources, &at, "allow_patterns")?;

    let max_payload_bytes = limit(map, &at, "max_payload_bytes")?;
    let max_string_bytes = limit(map, &at, "max_string_bytes")?;
    let max_depth = limit(map, &at, "max_depth")?;
    let max_items = limit(map, &at, "max_items")?;

    let action = field::<Action>(map, &at, "action")?.unwrap_or_default();

    let rule = Rule {
        label,
        servers,
        tools,
        stages,
        keywords,
        deny_patterns,
        deny_prefilter,
        allow_patterns,
        max_payload_bytes,
        max_string_bytes,
        max_depth,
        max_items,
        action,
    };
    if !rule.has_structural_limits() && !rule.has_content_checks() {
        return Err(format!(
            "{at}: the rule has no constraint (set deny_keywords, deny_patterns, allow_patterns, \
             max_payload_bytes, max_string_bytes, max_depth or max_items)"
        ));
    }
    Ok(rule)
}

/// Reject unknown fields, naming the first one and the accepted ones.
fn check_fields(map: &Map<String, Value>, known: &[&str], at: &str) -> Result<(), String> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!("{at}: unknown field {k:?} (expected one of: {})", known.join(", "))),
        None => Ok(()),
    }
}

/// Read an optional field; `null` counts as absent. Errors name the field.
fn field<T: DeserializeOwned>(map: &Map<String, Value>, at: &str, key: &str) -> Result<Option<T>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => T::deserialize(v).map(Some).map_err(|e| format!("{at}.{key}: {e}")),
    }
}

fn globs(map: &Map<String, Value>, at: &str, key: &str) -> Result<Vec<Glob>, String> {
    match field::<Vec<String>>(map, at, key)? {
        None => Ok(vec![Glob::new("*").map_err(|e| format!("{at}.{key}: {e}"))?]),
        Some(list) if list.is_empty() => {
            Err(format!("{at}.{key}: must not be empty (omit it or use [\"*\"] to match every name)"))
        }
        Some(list) => {
            list.iter().enumerate().map(|(i, g)| Glob::new(g).map_err(|e| format!("{at}.{key}[{i}]: {e}"))).collect()
        }
    }
}

fn regexes(list: &[String], at: &str, key: &str) -> Result<Vec<Regex>, String> {
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            if p.is_empty() {
                return Err(format!("{at}.{key}[{i}]: must not be empty"));
            }
            RegexBuilder::new(p)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| format!("{at}.{key}[{i}]: invalid regex: {}", one_line(&e.to_string())))
        })
        .collect()
}

fn limit(map: &Map<String, Value>, at: &str, key: &str) -> Result<Option<u64>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(0) => Err(format!("{at}.{key}: must be at least 1 (omit the field for no limit)")),
            Some(n) => Ok(Some(n)),
            None => Err(format!("{at}.{key}: expected a positive integer")),
        },
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
