//! `{{name}}`: a Warden guardrail that blocks tool calls whose arguments, and tool
//! results, contain any of the configured words (ASCII case-insensitive by default).
//!
//! Config, the `config` table of its `[[plugins]]` entry:
//! `config = { words = ["forbidden", "top secret"], case_sensitive = false }`

use serde::Deserialize;
use warden_plugin_sdk::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    words: Vec<String>,
    #[serde(default)]
    case_sensitive: bool,
}

struct BlockWords {
    /// Lower-cased unless matching is case-sensitive.
    words: Vec<String>,
    case_sensitive: bool,
}

impl BlockWords {
    fn scan(&self, content: &Content) -> Verdict {
        let mut findings = Vec::new();
        for item in &content.texts {
            // ASCII folding keeps byte offsets exact for the reported span.
            let text = if self.case_sensitive { item.text.clone() } else { item.text.to_ascii_lowercase() };
            for (n, word) in self.words.iter().enumerate() {
                if let Some(start) = text.find(word.as_str()) {
                    // Messages reach the caller: name the word by its position, never echo text.
                    let message = format!("contains configured word #{}", n + 1);
                    findings
                        .push(Finding::new("{{name}}.word", message).at(&item.path).span(start, start + word.len()));
                }
            }
        }
        Verdict::block_if(findings)
    }
}

impl Guardrail for BlockWords {
    fn describe() -> PluginInfo {
        PluginInfo::guardrail(
            "{{name}}",
            env!("CARGO_PKG_VERSION"),
            "Blocks calls and results containing configured words",
            Stages::INPUT | Stages::OUTPUT,
        )
    }

    fn configure(config_json: &str) -> Result<Self, String> {
        let config: Config = parse_config(config_json)?;
        if let Some(i) = config.words.iter().position(|w| w.trim().is_empty()) {
            return Err(format!("words[{i}] is empty"));
        }
        let fold = |w: String| if config.case_sensitive { w } else { w.to_ascii_lowercase() };
        Ok(BlockWords { words: config.words.into_iter().map(fold).collect(), case_sensitive: config.case_sensitive })
    }

    fn check_input(&self, _ctx: &CallContext, content: &Content) -> Result<Verdict, PluginError> {
        Ok(self.scan(content))
    }

    fn check_output(&self, _ctx: &CallContext, content: &Content) -> Result<Verdict, PluginError> {
        Ok(self.scan(content))
    }
}

export_guardrail!(BlockWords);

#[cfg(test)]
mod tests {
    use super::*;

    fn content(text: &str) -> Content {
        Content { texts: vec![TextItem { path: "/message".into(), text: text.into() }], json: String::new() }
    }

    #[test]
    fn blocks_configured_words_only() {
        let g = BlockWords::configure(r#"{"words": ["Forbidden"]}"#).expect("valid config");
        assert!(matches!(g.scan(&content("this is FORBIDDEN")), Verdict::Block(_)));
        assert!(matches!(g.scan(&content("all fine")), Verdict::Allow));
        assert!(BlockWords::configure(r#"{"words": [""]}"#).is_err());
        assert!(BlockWords::configure(r#"{"word": ["x"]}"#).is_err_and(|e| e.contains("unknown field")));
    }
}
