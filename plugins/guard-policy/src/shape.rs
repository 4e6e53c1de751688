//! Cheap structural measurements of a JSON payload: nesting depth, number of values,
//! longest object key and longest string value.
//!
//! One forward pass over the bytes with a depth counter and no stack and no
//! allocation, so a several-MiB payload or 100k nested arrays cost the same as any
//! other payload of that size, and nothing recurses. The scanner is tolerant: it
//! never fails on malformed JSON, it just measures what it sees (the host hands us
//! JSON it serialized itself, so in practice the input is well formed).

use warden_plugin_sdk::Content;

/// What the structural limits compare against.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Size of the payload in bytes (compact JSON).
    pub payload_bytes: u64,
    /// Deepest nesting of arrays/objects: a scalar is 0, `[]` and `{"a":1}` are 1,
    /// `[[1]]` is 2.
    pub depth: u64,
    /// Number of values: every object, array, string, number, boolean and null
    /// (object keys are not values).
    pub items: u64,
    /// Longest object key, in UTF-8 bytes after unescaping.
    pub max_key_bytes: u64,
    /// Longest string value, in UTF-8 bytes after unescaping.
    pub max_value_bytes: u64,
    /// Whether the numbers above came from the JSON form (exact) or were estimated
    /// from the extracted strings only (lower bounds; keys unknown).
    pub exact: bool,
}

impl Shape {
    /// Measure `content`: from its JSON when the host filled it, else estimated from
    /// the strings and their JSON Pointers (depth = number of pointer tokens).
    pub(crate) fn of(content: &Content) -> Shape {
        if !content.json.is_empty() {
            return measure(&content.json);
        }
        let mut shape = Shape { items: content.texts.len() as u64, ..Shape::default() };
        for item in &content.texts {
            let len = item.text.len() as u64;
            shape.payload_bytes = shape.payload_bytes.saturating_add(len);
            shape.max_value_bytes = shape.max_value_bytes.max(len);
            let tokens = item.path.bytes().filter(|&b| b == b'/').count() as u64;
            shape.depth = shape.depth.max(tokens);
        }
        shape
    }
}

/// Measure a JSON document in one pass.
pub(crate) fn measure(json: &str) -> Shape {
    let b = json.as_bytes();
    let n = b.len();
    let mut shape = Shape { payload_bytes: n as u64, exact: true, ..Shape::default() };
    let mut depth: u64 = 0;
    let mut i = 0;
    while i < n {
        match b[i] {
            b'{' | b'[' => {
                shape.items += 1;
                depth += 1;
                shape.depth = shape.depth.max(depth);
                i += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'"' => {
                let (len, next) = string_len(b, i + 1);
                i = next;
                let mut j = i;
                while j < n && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < n && b[j] == b':' {
                    shape.max_key_bytes = shape.max_key_bytes.max(len);
                } else {
                    shape.items += 1;
                    shape.max_value_bytes = shape.max_value_bytes.max(len);
                }
            }
            b'-' | b'0'..=b'9' => {
                shape.items += 1;
                i += 1;
                while i < n && matches!(b[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                    i += 1;
                }
            }
            b't' | b'f' | b'n' => {
                shape.items += 1;
                i += 1;
                while i < n && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
            }
            // `,`, `:`, whitespace, and anything malformed.
            _ => i += 1,
        }
    }
    shape
}

/// Length in UTF-8 bytes of the decoded string whose body starts at `start` (just
/// after the opening quote), and the index just past the closing quote.
fn string_len(b: &[u8], start: usize) -> (u64, usize) {
    let n = b.len();
    let mut len: u64 = 0;
    let mut i = start;
    while i < n {
        match b[i] {
            b'"' => return (len, i + 1),
            b'\\' if i + 1 < n && b[i + 1] == b'u' => {
                len += match hex4(b, i + 2) {
                    Some(c) if c < 0x80 => 1,
                    Some(c) if c < 0x800 => 2,
                    // Each half of a surrogate pair counts 2: the pair decodes to 4 bytes.
                    Some(c) if (0xD800..0xE000).contains(&c) => 2,
                    Some(_) => 3,
                    None => 1,
                };
                i += 6;
            }
            b'\\' => {
                len += 1;
                i += 2;
            }
            _ => {
                len += 1;
                i += 1;
            }
        }
    }
    (len, n)
}

fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let digits = b.get(at..at + 4)?;
    digits.iter().try_fold(0u32, |acc, &d| Some(acc * 16 + char::from(d).to_digit(16)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(v: &serde_json::Value) -> Shape {
        measure(&v.to_string())
    }

    #[test]
    fn scalars_and_containers() {
        let s = measure("3");
        assert_eq!((s.depth, s.items), (0, 1));
        let s = measure("[]");
        assert_eq!((s.depth, s.items), (1, 1));
        let s = shape(&serde_json::json!({"a": [1, "x", null, true, {"b": [[-2.5e3]]}]}));
        // object, array, 1, "x", null, true, object, array, array, -2.5e3
        assert_eq!(s.items, 10);
        assert_eq!(s.depth, 5);
        assert_eq!(s.max_key_bytes, 1);
        assert_eq!(s.max_value_bytes, 1);
    }

    #[test]
    fn string_lengths_are_decoded_lengths() {
        let v = serde_json::json!({"kéy\"\\": "a\nb\u{1}é€😀", "k": "\u{7f}"});
        let s = shape(&v);
        assert_eq!(s.max_key_bytes, "kéy\"\\".len() as u64);
        assert_eq!(s.max_value_bytes, "a\nb\u{1}é€😀".len() as u64);
        // Escaped forms as another serializer might write them.
        let s = measure(r#"["\u00e9\u20ac\ud83d\ude00\/"]"#);
        assert_eq!(s.max_value_bytes, "é€😀/".len() as u64);
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let s = measure(r#"{"a":"[[[[{{{{","b\"[":"]]]"}"#);
        assert_eq!(s.depth, 1);
        assert_eq!(s.items, 3);
    }

    #[test]
    fn deep_nesting_is_iterative() {
        let n = 100_000;
        let json = format!("{}{}", "[".repeat(n), "]".repeat(n));
        let s = measure(&json);
        assert_eq!(s.depth, n as u64);
        assert_eq!(s.items, n as u64);
    }

    #[test]
    fn malformed_input_does_not_panic() {
        for j in ["\"", "\"\\", "\"\\u12", "]]]", "[{\"a\":", "tru", "-", "\"abc\\u00\"", "{\"a\" "] {
            let _ = measure(j);
        }
    }

    #[test]
    fn estimate_from_texts() {
        use warden_plugin_sdk::TextItem;
        let content = Content {
            texts: vec![
                TextItem { path: "/a/0/b".into(), text: "hello".into() },
                TextItem { path: "/c".into(), text: "hi".into() },
            ],
            json: String::new(),
        };
        let s = Shape::of(&content);
        assert_eq!((s.depth, s.items, s.max_value_bytes, s.payload_bytes, s.exact), (3, 2, 5, 7, false));
    }
}
