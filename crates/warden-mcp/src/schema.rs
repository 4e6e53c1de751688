//! Tool arguments checked against the tool's `inputSchema` before the upstream is
//! called, so a malformed call never reaches it.
//!
//! A hand-written validator of the JSON Schema keywords tool schemas use: `type`,
//! `properties`, `required`, `additionalProperties`, `enum`, `const`, `minimum`,
//! `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `minLength`, `maxLength`,
//! `items`, `minItems`, `maxItems`, `allOf`, `anyOf`, `oneOf` (as `anyOf`). Other
//! keywords (`$ref`, `pattern`, `format`, ...) are not evaluated: an upstream still
//! checks its own arguments, and a gateway must never refuse a call its upstream
//! accepts because of a keyword it does not understand. (The `jsonschema` crate
//! would cover all of them but brings a regex engine, a `$ref` resolver and, by
//! default, HTTP/file resolution: too much attack surface for what tools use.)
//!
//! Messages name the path and the rule, never the value (arguments may hold secrets).

use serde_json::{Map, Value};

/// At most this many problems are reported per call.
const MAX_ERRORS: usize = 5;
/// Schemas and values deeper than this are not descended into (the message depth
/// limit already bounds values; this bounds hostile schemas).
const MAX_DEPTH: usize = 64;

/// Check `arguments` against `schema`; each problem as `path: rule`.
pub fn validate(schema: &Map<String, Value>, arguments: &Value) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    check(schema, arguments, "", 0, &mut errors);
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_type(value: &Value, ty: &str) -> bool {
    match ty {
        "integer" => match value {
            Value::Number(n) => n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0),
            _ => false,
        },
        "number" => value.is_number(),
        // An unknown type name is not evaluated (see the module doc).
        other => !matches!(other, "null" | "boolean" | "string" | "array" | "object") || type_name(value) == other,
    }
}

/// A numeric keyword, the test it names, and how a failure reads.
type Bound = (&'static str, fn(f64, f64) -> bool, &'static str);

fn check(schema: &Map<String, Value>, value: &Value, path: &str, depth: usize, errors: &mut Vec<String>) {
    if depth > MAX_DEPTH || errors.len() >= MAX_ERRORS {
        return;
    }
    let mut fail = |rule: String| {
        if errors.len() < MAX_ERRORS {
            errors.push(at(path, &rule));
        }
    };
    match schema.get("type") {
        Some(Value::String(ty)) if !is_type(value, ty) => {
            return fail(format!("expected {ty}, got {}", type_name(value)));
        }
        Some(Value::Array(types)) if !types.iter().filter_map(Value::as_str).any(|t| is_type(value, t)) => {
            let names: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
            return fail(format!("expected one of {}, got {}", names.join("|"), type_name(value)));
        }
        _ => {}
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(value)
    {
        fail("not one of the allowed values".into());
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        fail("not the required constant".into());
    }
    let number = |key: &str| schema.get(key).and_then(Value::as_f64);
    if let Some(x) = value.as_f64() {
        let bounds: [Bound; 4] = [
            ("minimum", |x, b| x >= b, "at least"),
            ("maximum", |x, b| x <= b, "at most"),
            ("exclusiveMinimum", |x, b| x > b, "more than"),
            ("exclusiveMaximum", |x, b| x < b, "less than"),
        ];
        for (key, ok, words) in bounds {
            if let Some(bound) = number(key)
                && !ok(x, bound)
            {
                fail(format!("must be {words} {bound}"));
            }
        }
    }
    if let Value::String(s) = value {
        let chars = s.chars().count() as f64;
        if number("minLength").is_some_and(|min| chars < min) {
            fail(format!("shorter than {} characters", number("minLength").unwrap_or_default()));
        }
        if number("maxLength").is_some_and(|max| chars > max) {
            fail(format!("longer than {} characters", number("maxLength").unwrap_or_default()));
        }
    }
    if let Value::Array(items) = value {
        let len = items.len() as f64;
        if number("minItems").is_some_and(|min| len < min) {
            fail(format!("fewer than {} items", number("minItems").unwrap_or_default()));
        }
        if number("maxItems").is_some_and(|max| len > max) {
            fail(format!("more than {} items", number("maxItems").unwrap_or_default()));
        }
        if let Some(Value::Object(item_schema)) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(item_schema, item, &format!("{path}[{i}]"), depth + 1, errors);
            }
        }
    }
    if let Value::Object(fields) = value {
        object(schema, fields, path, depth, errors);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = schema.get(key) else { continue };
        let branches: Vec<&Map<String, Value>> = branches.iter().filter_map(Value::as_object).collect();
        if branches.is_empty() {
            continue;
        }
        if key == "allOf" {
            for branch in branches {
                check(branch, value, path, depth + 1, errors);
            }
        } else if !branches.iter().any(|b| validate_at(b, value, path, depth + 1)) && errors.len() < MAX_ERRORS {
            errors.push(at(path, &format!("matches none of the {key} alternatives")));
        }
    }
}

fn validate_at(schema: &Map<String, Value>, value: &Value, path: &str, depth: usize) -> bool {
    let mut errors = Vec::new();
    check(schema, value, path, depth, &mut errors);
    errors.is_empty()
}

fn object(
    schema: &Map<String, Value>,
    fields: &Map<String, Value>,
    path: &str,
    depth: usize,
    errors: &mut Vec<String>,
) {
    let properties = schema.get("properties").and_then(Value::as_object);
    if let Some(Value::Array(required)) = schema.get("required") {
        for name in required.iter().filter_map(Value::as_str) {
            if !fields.contains_key(name) && errors.len() < MAX_ERRORS {
                errors.push(at(path, &format!("missing required property \"{}\"", shown(name))));
            }
        }
    }
    for (name, field) in fields {
        let here = if path.is_empty() { shown(name) } else { format!("{path}.{}", shown(name)) };
        match properties.and_then(|p| p.get(name)) {
            Some(Value::Object(property)) => check(property, field, &here, depth + 1, errors),
            Some(_) => {}
            None => match schema.get("additionalProperties") {
                Some(Value::Bool(false)) if errors.len() < MAX_ERRORS => {
                    errors.push(at(&here, "property not allowed"));
                }
                Some(Value::Object(extra)) => check(extra, field, &here, depth + 1, errors),
                _ => {}
            },
        }
    }
}

/// One problem: `invalid argument "path": rule`, or `arguments: rule` at the root.
fn at(path: &str, rule: &str) -> String {
    if path.is_empty() { format!("arguments: {rule}") } else { format!("invalid argument \"{path}\": {rule}") }
}

/// A property name as it may appear in a message: printable and short (a caller's
/// key could be anything).
pub fn shown(name: &str) -> String {
    let mut out: String = name.chars().take(64).flat_map(char::escape_debug).collect();
    if name.chars().count() > 64 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(schema: Value, value: Value) -> Vec<String> {
        let Value::Object(schema) = schema else { panic!("object") };
        validate(&schema, &{ value }).err().unwrap_or_default()
    }

    #[test]
    fn common_keywords_are_checked() {
        let schema = json!({"type": "object", "required": ["a"], "additionalProperties": false, "properties": {
            "a": {"type": "string", "minLength": 2, "maxLength": 4},
            "n": {"type": "integer", "minimum": 0, "maximum": 10},
            "e": {"enum": ["x", "y"]},
            "l": {"type": "array", "maxItems": 2, "items": {"type": "number"}},
        }});
        assert!(errors(schema.clone(), json!({"a": "abc", "n": 3, "e": "x", "l": [1, 2.5]})).is_empty());
        assert_eq!(errors(schema.clone(), json!({})), ["arguments: missing required property \"a\""]);
        assert_eq!(errors(schema.clone(), json!({"a": 5})), ["invalid argument \"a\": expected string, got integer"]);
        assert_eq!(
            errors(schema.clone(), json!({"a": "abcdef"})),
            ["invalid argument \"a\": longer than 4 characters"]
        );
        assert_eq!(errors(schema.clone(), json!({"a": "ab", "n": 11})), ["invalid argument \"n\": must be at most 10"]);
        assert_eq!(
            errors(schema.clone(), json!({"a": "ab", "n": 1.5})),
            ["invalid argument \"n\": expected integer, got number"]
        );
        assert_eq!(
            errors(schema.clone(), json!({"a": "ab", "e": "z"})),
            ["invalid argument \"e\": not one of the allowed values"]
        );
        assert_eq!(
            errors(schema.clone(), json!({"a": "ab", "l": [1, 2, 3]})),
            ["invalid argument \"l\": more than 2 items"]
        );
        assert_eq!(
            errors(schema.clone(), json!({"a": "ab", "l": ["s"]})),
            ["invalid argument \"l[0]\": expected number, got string"]
        );
        assert_eq!(errors(schema, json!({"a": "ab", "zz": 1})), ["invalid argument \"zz\": property not allowed"]);
    }

    #[test]
    fn values_never_appear_in_messages_and_unknown_keywords_pass() {
        let schema = json!({"type": "object", "properties": {"k": {"type": "integer", "enum": [1]}}});
        let e = errors(schema, json!({"k": "AKIAIOSFODNN7EXAMPLE"}));
        assert!(!e.concat().contains("AKIA"), "{e:?}");
        let lenient = json!({"type": "object", "properties": {"r": {"$ref": "#/defs/x", "pattern": "^a$"}}});
        assert!(errors(lenient, json!({"r": "b"})).is_empty());
        assert!(errors(json!({"anyOf": [{"type": "string"}, {"type": "integer"}]}), json!(3)).is_empty());
        assert_eq!(errors(json!({"anyOf": [{"type": "string"}]}), json!(3)).len(), 1);
    }
}
