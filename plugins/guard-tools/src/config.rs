//! The plugin's config: typed, validated once in `configure`.

use crate::analyze::{Engine, Extra};
use crate::schema::SchemaRules;
use crate::score::Det;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Config {
    block_threshold: f32,
    warn_threshold: f32,
    techniques: Techniques,
    extra_patterns: Vec<ExtraPattern>,
    allow: Vec<String>,
    long_description_chars: usize,
    max_findings: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            block_threshold: 0.65,
            warn_threshold: 0.5,
            techniques: Techniques::default(),
            extra_patterns: Vec::new(),
            allow: Vec::new(),
            long_description_chars: 3000,
            max_findings: 20,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Techniques {
    hidden_instructions: bool,
    sensitive_data: bool,
    shadowing: bool,
    exfiltration: bool,
    hidden_text: bool,
    schema: bool,
}

impl Default for Techniques {
    fn default() -> Self {
        Techniques {
            hidden_instructions: true,
            sensitive_data: true,
            shadowing: true,
            exfiltration: true,
            hidden_text: true,
            schema: true,
        }
    }
}

fn default_score() -> f32 {
    0.9
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtraPattern {
    pattern: String,
    technique: String,
    #[serde(default = "default_score")]
    score: f32,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    case_sensitive: bool,
}

/// An allow-list entry: `server/tool`, either side may be `*`.
pub struct Allow {
    server: String,
    tool: String,
}

impl Allow {
    pub fn matches(&self, server: &str, tool: &str) -> bool {
        (self.server == "*" || self.server == server) && (self.tool == "*" || self.tool == tool)
    }
}

/// Everything `check_tool` needs, built once.
pub struct Settings {
    pub engine: Engine,
    pub schema: SchemaRules,
    pub block: f32,
    pub warn: f32,
    pub allow: Vec<Allow>,
    pub max_findings: usize,
}

pub const SCHEMA: &str = concat!(
    r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","additionalProperties":false,"properties":{"#,
    r#""block_threshold":{"type":"number","minimum":0,"maximum":1,"default":0.65,"description":"Combined score at or above which the tool is hidden from clients (block)."},"#,
    r#""warn_threshold":{"type":"number","minimum":0,"maximum":1,"default":0.5,"description":"Combined score at or above which the tool is listed but reported (warn)."},"#,
    r#""techniques":{"type":"object","additionalProperties":false,"description":"Turn detectors on or off.","properties":{"#,
    r#""hidden_instructions":{"type":"boolean","default":true},"sensitive_data":{"type":"boolean","default":true},"#,
    r#""shadowing":{"type":"boolean","default":true},"exfiltration":{"type":"boolean","default":true},"#,
    r#""hidden_text":{"type":"boolean","default":true},"schema":{"type":"boolean","default":true}}},"#,
    r#""extra_patterns":{"type":"array","description":"Operator regular expressions (linear-time syntax) checked against every string.","items":{"type":"object","additionalProperties":false,"required":["pattern","technique"],"properties":{"#,
    r#""pattern":{"type":"string","minLength":1},"#,
    r#""technique":{"enum":["hidden_instructions","sensitive_data","shadowing","exfiltration","hidden_text","schema"]},"#,
    r#""score":{"type":"number","minimum":0,"maximum":1,"default":0.9},"message":{"type":"string"},"case_sensitive":{"type":"boolean","default":false}}}},"#,
    r#""allow":{"type":"array","description":"Tools never flagged, as server/tool; either side may be *.","items":{"type":"string","pattern":"^[^/]+/[^/]+$"}},"#,
    r#""long_description_chars":{"type":"integer","minimum":200,"default":3000,"description":"Length beyond which instructions deep in a description count as concealed."},"#,
    r#""max_findings":{"type":"integer","minimum":1,"maximum":100,"default":20}}}"#,
);

/// Parse and validate `config_json`; every error names the offending field.
pub fn parse(config_json: &str) -> Result<Settings, String> {
    let raw = if config_json.trim().is_empty() { "{}" } else { config_json };
    let c: Config = serde_json::from_str(raw).map_err(|e| format!("invalid config: {e}"))?;
    let mut errors = Vec::new();
    for (name, v) in [("block_threshold", c.block_threshold), ("warn_threshold", c.warn_threshold)] {
        if !(0.0..=1.0).contains(&v) || v.is_nan() {
            errors.push(format!("{name} must be between 0 and 1"));
        }
    }
    if c.warn_threshold > c.block_threshold {
        errors.push("warn_threshold must not exceed block_threshold".to_string());
    }
    if c.long_description_chars < 200 {
        errors.push("long_description_chars must be at least 200".to_string());
    }
    if !(1..=100).contains(&c.max_findings) {
        errors.push("max_findings must be between 1 and 100".to_string());
    }
    let mut extra = Vec::new();
    for (i, p) in c.extra_patterns.iter().enumerate() {
        let Some(det) = Det::from_key(&p.technique) else {
            errors.push(format!(
                "extra_patterns[{i}].technique: unknown technique {:?} (expected one of hidden_instructions, sensitive_data, shadowing, exfiltration, hidden_text, schema)",
                p.technique
            ));
            continue;
        };
        if !(0.0..=1.0).contains(&p.score) || p.score.is_nan() {
            errors.push(format!("extra_patterns[{i}].score must be between 0 and 1"));
        }
        if p.pattern.is_empty() {
            errors.push(format!("extra_patterns[{i}].pattern is empty"));
            continue;
        }
        match regex_lite::RegexBuilder::new(&p.pattern).case_insensitive(!p.case_sensitive).size_limit(1 << 20).build()
        {
            Ok(re) => extra.push(Extra {
                re,
                det,
                score: p.score,
                message: p.message.clone().unwrap_or_else(|| format!("matched operator pattern #{}", i + 1)),
            }),
            Err(e) => errors.push(format!("extra_patterns[{i}].pattern: {e}")),
        }
    }
    let mut allow = Vec::new();
    for (i, a) in c.allow.iter().enumerate() {
        match a.split_once('/') {
            Some((s, t)) if !s.is_empty() && !t.is_empty() && !t.contains('/') => {
                allow.push(Allow { server: s.to_string(), tool: t.to_string() })
            }
            _ => errors.push(format!("allow[{i}]: expected \"server/tool\" (either side may be *), got {a:?}")),
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    let t = &c.techniques;
    let enabled = [t.hidden_instructions, t.sensitive_data, t.shadowing, t.exfiltration, t.hidden_text, t.schema];
    Ok(Settings {
        engine: Engine::new(extra, enabled, c.long_description_chars)?,
        schema: SchemaRules::new()?,
        block: c.block_threshold,
        warn: c.warn_threshold,
        allow,
        max_findings: c.max_findings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_has_defaults() {
        let s = parse("{}").expect("valid");
        assert_eq!(s.block, 0.65);
        assert_eq!(s.warn, 0.5);
        assert!(parse("").is_ok());
    }

    #[test]
    fn rejects_bad_values_with_field_names() {
        let e = parse(r#"{"warn_threshold": 0.9, "block_threshold": 0.5}"#).err().expect("invalid");
        assert!(e.contains("warn_threshold"));
        let e = parse(r#"{"extra_patterns": [{"pattern": "(", "technique": "schema"}]}"#).err().expect("invalid");
        assert!(e.contains("extra_patterns[0].pattern"));
        let e = parse(r#"{"extra_patterns": [{"pattern": "x", "technique": "nope"}]}"#).err().expect("invalid");
        assert!(e.contains("extra_patterns[0].technique"));
        let e = parse(r#"{"allow": ["justatool"]}"#).err().expect("invalid");
        assert!(e.contains("allow[0]"));
        assert!(parse(r#"{"bogus": 1}"#).is_err());
        assert!(parse(r#"{"techniques": {"schema": false, "typo": true}}"#).is_err());
    }

    #[test]
    fn schema_is_json() {
        let v: serde_json::Value = serde_json::from_str(SCHEMA).expect("schema parses");
        assert_eq!(v["type"], "object");
    }
}
