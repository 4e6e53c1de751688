//! Plugin config: the `config` table of a `[[plugins]]` entry, as JSON.

use serde::de::DeserializeOwned;

/// Deserialize the config handed to `configure` into `T` (any serde type; add
/// `#[serde(deny_unknown_fields)]` to refuse misspelt keys). An empty string is `{}`.
/// Errors name the offending field, e.g.
/// ``invalid config: words[2]: invalid type: integer `3`, expected a string``.
pub fn parse_config<T: DeserializeOwned>(config_json: &str) -> Result<T, String> {
    let json = if config_json.trim().is_empty() { "{}" } else { config_json };
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // serde_json appends "at line 1 column 17", meaningless for a TOML table.
        let msg = inner.to_string();
        let msg = match msg.rfind(" at line ") {
            Some(i) if inner.line() > 0 => msg[..i].to_string(),
            _ => msg,
        };
        if path == "." { format!("invalid config: {msg}") } else { format!("invalid config: {path}: {msg}") }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Config {
        words: Vec<String>,
        #[serde(default)]
        nested: Nested,
    }

    #[derive(Deserialize, Debug, PartialEq, Default)]
    #[serde(deny_unknown_fields)]
    struct Nested {
        #[serde(default)]
        on: bool,
    }

    #[test]
    fn errors_name_the_field() {
        let ok: Config = parse_config(r#"{"words":["a"]}"#).expect("valid");
        assert_eq!(ok.words, ["a"]);
        let e = parse_config::<Config>(r#"{"words":["a", 3]}"#).unwrap_err();
        assert_eq!(e, "invalid config: words[1]: invalid type: integer `3`, expected a string");
        let e = parse_config::<Config>(r#"{"words":[],"nested":{"on":"yes"}}"#).unwrap_err();
        assert!(e.starts_with("invalid config: nested.on: invalid type"), "{e}");
        let e = parse_config::<Config>(r#"{"words":[],"verbose":true}"#).unwrap_err();
        assert!(e.contains("unknown field `verbose`"), "{e}");
        let e = parse_config::<Config>("").unwrap_err();
        assert_eq!(e, "invalid config: missing field `words`");
        assert!(parse_config::<Config>("{").unwrap_err().starts_with("invalid config: "));
    }
}
