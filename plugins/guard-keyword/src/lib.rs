//! `guard-keyword`: blocks (or flags) payloads containing configured words or phrases.
//!
//! Config: `{ "words": ["drop table", "rm -rf"], "action": "block" | "warn",
//! "case_sensitive": false }`. Matching is on every string of the payload; case
//! folding is ASCII-only so the reported byte spans stay exact.

use serde::Deserialize;
use warden_plugin_sdk::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    words: Vec<String>,
    #[serde(default)]
    action: Action,
    #[serde(default)]
    case_sensitive: bool,
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Action {
    #[default]
    Block,
    Warn,
}

struct Keyword {
    /// Needles, already folded when matching is case-insensitive.
    words: Vec<String>,
    action: Action,
    case_sensitive: bool,
}

const SCHEMA: &str = concat!(
    r#"{"type":"object","additionalProperties":false,"required":["words"],"properties":{"#,
    r#""words":{"type":"array","items":{"type":"string","minLength":1}},"#,
    r#""action":{"enum":["block","warn"]},"case_sensitive":{"type":"boolean"}}}"#,
);

impl Keyword {
    fn scan(&self, content: &Content) -> Verdict {
        let mut findings = Vec::new();
        for item in &content.texts {
            let folded;
            let hay = if self.case_sensitive {
                item.text.as_str()
            } else {
                folded = item.text.to_ascii_lowercase();
                folded.as_str()
            };
            for (i, word) in self.words.iter().enumerate() {
                for (start, _) in hay.match_indices(word.as_str()) {
                    findings.push(Finding {
                        path: item.path.clone(),
                        span: Some(Span { start: start as u32, end: (start + word.len()) as u32 }),
                        // The word itself is operator config, not caller data, but report
                        // its index anyway so configs with sensitive terms stay private.
                        ..finding("keyword.match", &format!("matched configured word #{}", i + 1))
                    });
                }
            }
        }
        match (findings.is_empty(), self.action) {
            (true, _) => Verdict::Allow,
            (false, Action::Block) => Verdict::Block(findings),
            (false, Action::Warn) => Verdict::Warn(findings),
        }
    }
}

impl Guardrail for Keyword {
    fn describe() -> PluginInfo {
        PluginInfo {
            config_schema: Some(SCHEMA.to_string()),
            ..plugin_info(
                "guard-keyword",
                env!("CARGO_PKG_VERSION"),
                "Blocks or flags configured words and phrases",
                Stages::INPUT | Stages::OUTPUT | Stages::TOOL,
            )
        }
    }

    fn configure(config_json: &str) -> Result<Self, String> {
        let c: Config = serde_json::from_str(config_json).map_err(|e| format!("invalid config: {e}"))?;
        if let Some(i) = c.words.iter().position(|w| w.is_empty()) {
            return Err(format!("words[{i}] is empty"));
        }
        let words = if c.case_sensitive { c.words } else { c.words.iter().map(|w| w.to_ascii_lowercase()).collect() };
        Ok(Keyword { words, action: c.action, case_sensitive: c.case_sensitive })
    }

    fn check_input(&self, _: &CallContext, content: &Content) -> Result<Verdict, PluginError> {
        Ok(self.scan(content))
    }

    fn check_output(&self, _: &CallContext, content: &Content) -> Result<Verdict, PluginError> {
        Ok(self.scan(content))
    }

    fn check_tool(&self, _: &str, content: &Content) -> Result<Verdict, PluginError> {
        Ok(self.scan(content))
    }
}

export_guardrail!(Keyword);
