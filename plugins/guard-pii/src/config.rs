//! The plugin's config: typed, validated once in `configure`.

use regex_lite::{Regex, RegexBuilder};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashSet;

/// The built-in entity types, in the order used for `Settings::actions`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Entity {
    Email,
    Phone,
    Card,
    Iban,
    Ssn,
    Ip,
}

impl Entity {
    pub const ALL: [Entity; 6] = [Entity::Email, Entity::Phone, Entity::Card, Entity::Iban, Entity::Ssn, Entity::Ip];

    pub fn name(self) -> &'static str {
        match self {
            Entity::Email => "email",
            Entity::Phone => "phone",
            Entity::Card => "card",
            Entity::Iban => "iban",
            Entity::Ssn => "ssn",
            Entity::Ip => "ip",
        }
    }

    fn from_name(s: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.name() == s)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What to do with a finding.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Block,
    Redact,
    Warn,
}

fn parse_action(s: &str, allow_off: bool) -> Result<Option<Action>, String> {
    match s {
        "block" => Ok(Some(Action::Block)),
        "redact" => Ok(Some(Action::Redact)),
        "warn" => Ok(Some(Action::Warn)),
        "off" if allow_off => Ok(None),
        _ => Err(format!(
            "unknown action {s:?} (expected block, redact, warn{})",
            if allow_off { " or off" } else { "" }
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    entities: Option<Value>,
    #[serde(default)]
    custom: Vec<RawCustom>,
    #[serde(default)]
    allow: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCustom {
    name: String,
    pattern: String,
    #[serde(default)]
    action: Option<String>,
}

/// An operator-defined entity.
pub struct Custom {
    /// Lower-case name, used in the detector name `pii.custom.<name>`.
    pub name: String,
    /// Upper-case name, used in placeholders `<NAME_1>`.
    pub label: String,
    pub regex: Regex,
    pub action: Action,
}

/// The validated config.
pub struct Settings {
    /// Action per built-in entity; `None` when the entity is off.
    actions: [Option<Action>; 6],
    pub custom: Vec<Custom>,
    /// Values never reported (lower-cased), e.g. a company's public support address.
    pub allow: HashSet<String>,
}

impl Settings {
    pub fn action(&self, e: Entity) -> Option<Action> {
        self.actions[e.index()]
    }
}

const MAX_CUSTOM: usize = 64;
const MAX_PATTERN: usize = 4096;

pub fn parse(config_json: &str) -> Result<Settings, String> {
    let text = if config_json.trim().is_empty() { "{}" } else { config_json };
    let value: Value = serde_json::from_str(text).map_err(|e| format!("invalid config: {e}"))?;
    if !value.is_object() {
        return Err("invalid config: expected a JSON object".into());
    }
    let raw: Raw = serde_json::from_value(value).map_err(|e| format!("invalid config: {e}"))?;

    let actions = match raw.entities {
        None | Some(Value::Null) => [Some(Action::Redact); 6],
        Some(Value::Array(list)) => {
            // A list selects entities; each selected one is redacted.
            let mut a = [None; 6];
            for (i, v) in list.iter().enumerate() {
                let name = v.as_str().ok_or_else(|| format!("entities[{i}]: expected an entity name"))?;
                let e = Entity::from_name(name).ok_or_else(|| unknown_entity(&format!("entities[{i}]"), name))?;
                a[e.index()] = Some(Action::Redact);
            }
            a
        }
        Some(Value::Object(map)) => {
            // A map sets actions; entities it leaves out keep the default (redact).
            let mut a = [Some(Action::Redact); 6];
            for (name, v) in &map {
                let e = Entity::from_name(name).ok_or_else(|| unknown_entity("entities", name))?;
                let s = v.as_str().ok_or_else(|| format!("entities.{name}: expected block, redact, warn or off"))?;
                a[e.index()] = parse_action(s, true).map_err(|m| format!("entities.{name}: {m}"))?;
            }
            a
        }
        Some(_) => return Err("entities: expected a list of entity names or a map of entity name to action".into()),
    };

    if raw.custom.len() > MAX_CUSTOM {
        return Err(format!("custom: at most {MAX_CUSTOM} entities"));
    }
    let mut custom = Vec::with_capacity(raw.custom.len());
    let mut seen = HashSet::new();
    for (i, c) in raw.custom.into_iter().enumerate() {
        let at = format!("custom[{i}]");
        let valid_name = c.name.len() <= 32
            && c.name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && c.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid_name {
            return Err(format!("{at}.name: {:?} must be 1-32 letters, digits or _, starting with a letter", c.name));
        }
        let name = c.name.to_ascii_lowercase();
        if Entity::from_name(&name).is_some() {
            return Err(format!("{at}.name: {name:?} is a built-in entity; configure it under `entities`"));
        }
        if !seen.insert(name.clone()) {
            return Err(format!("{at}.name: {name:?} is defined twice"));
        }
        if c.pattern.is_empty() || c.pattern.len() > MAX_PATTERN {
            return Err(format!("{at}.pattern: must be 1-{MAX_PATTERN} bytes"));
        }
        let regex = RegexBuilder::new(&c.pattern)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| format!("{at}.pattern: invalid regex: {e}"))?;
        if regex.is_match("") {
            return Err(format!("{at}.pattern: matches the empty string"));
        }
        let action = match c.action.as_deref() {
            None => Action::Redact,
            Some(s) => parse_action(s, false).map_err(|m| format!("{at}.action: {m}"))?.unwrap_or(Action::Redact),
        };
        custom.push(Custom { label: name.to_ascii_uppercase(), name, regex, action });
    }

    let mut allow = HashSet::new();
    for (i, v) in raw.allow.iter().enumerate() {
        let v = v.trim();
        if v.is_empty() {
            return Err(format!("allow[{i}]: empty value"));
        }
        allow.insert(v.to_lowercase());
    }

    Ok(Settings { actions, custom, allow })
}

fn unknown_entity(at: &str, name: &str) -> String {
    let names: Vec<&str> = Entity::ALL.iter().map(|e| e.name()).collect();
    format!("{at}: unknown entity {name:?} (expected one of {})", names.join(", "))
}

pub const SCHEMA: &str = r#"{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "entities": {
      "description": "Which built-in entities to detect and what to do with them. A list selects entities (each redacted, the others off); a map sets an action per entity (the others are redacted). Default: every entity redacted.",
      "oneOf": [
        {"type": "array", "items": {"enum": ["email", "phone", "card", "iban", "ssn", "ip"]}},
        {"type": "object", "additionalProperties": false,
         "properties": {
           "email": {"enum": ["block", "redact", "warn", "off"]},
           "phone": {"enum": ["block", "redact", "warn", "off"]},
           "card": {"enum": ["block", "redact", "warn", "off"]},
           "iban": {"enum": ["block", "redact", "warn", "off"]},
           "ssn": {"enum": ["block", "redact", "warn", "off"]},
           "ip": {"enum": ["block", "redact", "warn", "off"]}}}
      ]
    },
    "custom": {
      "description": "Operator-defined entities: a regex (regex-lite syntax, linear-time) per name. Placeholders are <NAME_1>, findings pii.custom.<name>.",
      "type": "array",
      "maxItems": 64,
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "pattern"],
        "properties": {
          "name": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]{0,31}$", "not": {"enum": ["email", "phone", "card", "iban", "ssn", "ip"]}},
          "pattern": {"type": "string", "minLength": 1, "maxLength": 4096},
          "action": {"enum": ["block", "redact", "warn"], "default": "redact"}
        }
      }
    },
    "allow": {
      "description": "Values never reported (compared case-insensitively), e.g. a public support address.",
      "type": "array",
      "items": {"type": "string", "minLength": 1}
    }
  }
}"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn err(c: &str) -> String {
        match parse(c) {
            Ok(_) => panic!("accepted {c}"),
            Err(e) => e,
        }
    }

    #[test]
    fn defaults_redact_everything() {
        for c in ["{}", "", "  ", r#"{"entities": null}"#] {
            let s = parse(c).expect("valid");
            assert!(Entity::ALL.iter().all(|e| s.action(*e) == Some(Action::Redact)));
            assert!(s.custom.is_empty());
        }
    }

    #[test]
    fn map_sets_actions_and_list_selects() {
        let s = parse(r#"{"entities": {"email": "warn", "card": "block", "ip": "off"}}"#).expect("valid");
        assert_eq!(s.action(Entity::Email), Some(Action::Warn));
        assert_eq!(s.action(Entity::Card), Some(Action::Block));
        assert_eq!(s.action(Entity::Ip), None);
        assert_eq!(s.action(Entity::Phone), Some(Action::Redact));
        let s = parse(r#"{"entities": ["email", "ssn"]}"#).expect("valid");
        assert_eq!(s.action(Entity::Email), Some(Action::Redact));
        assert_eq!(s.action(Entity::Ssn), Some(Action::Redact));
        assert_eq!(s.action(Entity::Phone), None);
    }

    #[test]
    fn custom_entities() {
        let s = parse(r#"{"custom": [{"name": "employee_id", "pattern": "EMP-\\d{6}", "action": "block"}, {"name": "Ticket", "pattern": "T\\d+"}]}"#)
            .expect("valid");
        assert_eq!(s.custom[0].label, "EMPLOYEE_ID");
        assert_eq!(s.custom[0].action, Action::Block);
        assert_eq!(s.custom[1].name, "ticket");
        assert_eq!(s.custom[1].action, Action::Redact);
    }

    #[test]
    fn errors_are_clear() {
        assert!(err(r#"{"entity": {}}"#).contains("unknown field"));
        assert!(err(r#"{"entities": {"mail": "redact"}}"#).contains("unknown entity \"mail\""));
        assert!(err(r#"{"entities": {"email": "drop"}}"#).contains("entities.email: unknown action"));
        assert!(err(r#"{"entities": ["email", 3]}"#).contains("entities[1]"));
        assert!(err(r#"{"entities": "email"}"#).contains("entities: expected"));
        assert!(err(r#"{"custom": [{"name": "x", "pattern": "("}]}"#).contains("custom[0].pattern: invalid regex"));
        assert!(err(r#"{"custom": [{"name": "x", "pattern": "a*"}]}"#).contains("empty string"));
        assert!(err(r#"{"custom": [{"name": "email", "pattern": "a"}]}"#).contains("built-in"));
        assert!(err(r#"{"custom": [{"name": "1x", "pattern": "a"}]}"#).contains("custom[0].name"));
        assert!(err(r#"{"custom": [{"name": "a", "pattern": "a"}, {"name": "A", "pattern": "b"}]}"#).contains("twice"));
        assert!(err(r#"{"custom": [{"name": "a", "pattern": "a", "action": "off"}]}"#).contains("custom[0].action"));
        assert!(err(r#"{"custom": [{"name": "a"}]}"#).contains("pattern"));
        assert!(err(r#"{"allow": [""]}"#).contains("allow[0]"));
        assert!(err("[]").contains("invalid config"));
    }

    #[test]
    fn schema_is_json() {
        let v: Value = serde_json::from_str(SCHEMA).expect("schema parses");
        assert_eq!(v["type"], "object");
    }
}
