//! The payload a guardrail inspects, and the edits it may return.
//!
//! The gateway parses a payload once per stage; every guardrail then gets the same
//! list of strings, each with its JSON Pointer (RFC 6901), so text scanners need no
//! JSON parser of their own. Plugins that need the structure ask for the JSON too.

use serde::Serialize;
use serde_json::Value;

/// One string value found in a payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextItem {
    /// JSON Pointer to the string.
    pub path: String,
    pub text: String,
}

/// Replace the string at `path` with `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextEdit {
    pub path: String,
    pub text: String,
}

/// Which forms of [`Content`] a plugin reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ContentForms {
    pub texts: bool,
    pub json: bool,
}

impl ContentForms {
    pub const TEXTS: ContentForms = ContentForms { texts: true, json: false };

    pub fn union(self, other: ContentForms) -> ContentForms {
        ContentForms { texts: self.texts || other.texts, json: self.json || other.json }
    }
}

/// A payload in the forms requested.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Content {
    pub texts: Vec<TextItem>,
    pub json: String,
}

impl Content {
    /// Build the forms `forms` asks for from a parsed payload.
    pub fn from_value(value: &Value, forms: ContentForms) -> Content {
        let mut content = Content::default();
        if forms.texts {
            let mut path = String::new();
            collect_texts(value, &mut path, &mut content.texts);
        }
        if forms.json {
            content.json = value.to_string();
        }
        content
    }

    /// Content holding only the given strings (for `warden scan` and tests).
    pub fn from_texts<I, S>(texts: I) -> Content
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let texts =
            texts.into_iter().enumerate().map(|(i, t)| TextItem { path: format!("/{i}"), text: t.into() }).collect();
        Content { texts, json: String::new() }
    }

    /// Total bytes of text, for size caps.
    pub fn byte_len(&self) -> usize {
        self.json.len() + self.texts.iter().map(|t| t.path.len() + t.text.len()).sum::<usize>()
    }
}

fn collect_texts(value: &Value, path: &mut String, out: &mut Vec<TextItem>) {
    match value {
        Value::String(s) => out.push(TextItem { path: path.clone(), text: s.clone() }),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                collect_texts(item, path, out);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                path.push('/');
                push_escaped(path, key);
                collect_texts(item, path, out);
                path.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// RFC 6901: `~` becomes `~0` and `/` becomes `~1` inside a reference token.
fn push_escaped(path: &mut String, key: &str) {
    for c in key.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

/// Why a plugin's edits could not be applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EditError {
    #[error("edit path {0:?} does not name a value in the payload")]
    NoSuchPath(String),
    #[error("edit path {0:?} names a value that is not a string")]
    NotAString(String),
}

/// Apply edits in order. Every edit must name an existing string; otherwise nothing
/// after the bad edit is applied and the caller treats the plugin as failed.
pub fn apply_edits(value: &mut Value, edits: &[TextEdit]) -> Result<(), EditError> {
    for edit in edits {
        match value.pointer_mut(&edit.path) {
            Some(Value::String(s)) => s.clone_from(&edit.text),
            Some(_) => return Err(EditError::NotAString(edit.path.clone())),
            None => return Err(EditError::NoSuchPath(edit.path.clone())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn texts_carry_json_pointers_including_escapes() {
        let v = json!({"a": ["x", 1, {"b/c": "y", "d~e": "z"}], "n": null, "s": "top"});
        let c = Content::from_value(&v, ContentForms::TEXTS);
        let paths: Vec<_> = c.texts.iter().map(|t| (t.path.as_str(), t.text.as_str())).collect();
        assert_eq!(paths, [("/a/0", "x"), ("/a/2/b~1c", "y"), ("/a/2/d~0e", "z"), ("/s", "top")]);
        assert!(c.json.is_empty());
        for t in &c.texts {
            assert_eq!(v.pointer(&t.path).and_then(Value::as_str), Some(t.text.as_str()));
        }
    }

    #[test]
    fn json_form_only_when_asked() {
        let v = json!({"k": "v"});
        let c = Content::from_value(&v, ContentForms { texts: false, json: true });
        assert!(c.texts.is_empty());
        assert_eq!(c.json, r#"{"k":"v"}"#);
    }

    #[test]
    fn edits_replace_strings_and_refuse_other_targets() {
        let mut v = json!({"to": "a@b.c", "n": 3});
        let edit = |p: &str| TextEdit { path: p.into(), text: "<EMAIL_1>".into() };
        apply_edits(&mut v, &[edit("/to")]).expect("edit applies");
        assert_eq!(v, json!({"to": "<EMAIL_1>", "n": 3}));
        assert_eq!(apply_edits(&mut v, &[edit("/n")]), Err(EditError::NotAString("/n".into())));
        assert_eq!(apply_edits(&mut v, &[edit("/x")]), Err(EditError::NoSuchPath("/x".into())));
    }
}
