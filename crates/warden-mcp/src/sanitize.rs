//! Terminal escape sequences and control characters out of what upstreams send.
//!
//! Text from an upstream ends up in a terminal (CLI agents print tool results and
//! descriptions) and in a model's context. ANSI/VT escape sequences there can recolour
//! or hide text (`ESC[8m`), clear the screen, move the cursor to overwrite what was
//! shown, retitle the window or plant hyperlinks (OSC 8) whose target differs from their
//! text; other control characters (NUL, backspace, bell) garble or hide text. None of it
//! belongs in a tool result or a tool definition, so the gateway removes it at the
//! boundary, before the guardrails look (they then see what the client will see, with a
//! concealed instruction uncovered): whole escape sequences (CSI, OSC/DCS/SOS/PM/APC
//! strings, two-character escapes, and their 8-bit C1 forms) and every C0/C1 control
//! character except tab, line feed and carriage return. This is neutralising, not
//! detection: nothing is blocked for it, and no guardrail needs to know about it.
//!
//! Names and URIs that route requests back to the upstream are left as they are (a
//! rewritten one would no longer reach its tool); clients see tool and prompt names only
//! through [`crate::naming`], which allows `[A-Za-z0-9_-]` alone.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::iter::Peekable;
use std::str::Chars;

/// Removed characters: C0 controls but tab, LF and CR; DEL; C1 controls.
fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// `s` without escape sequences and control characters; `None` when it has none.
pub fn clean_str(s: &str) -> Option<String> {
    if !s.chars().any(is_control) {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // 8-bit CSI; 8-bit DCS, SOS, OSC, PM, APC.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if is_control(c) => {}
            c => out.push(c),
        }
    }
    Some(out)
}

/// After ESC: a CSI (`[`), a string command (`]`, `P`, `X`, `^`, `_`), or a short
/// escape (intermediate bytes, then one final byte, as in `ESC ( B` or `ESC c`).
fn skip_escape(chars: &mut Peekable<Chars<'_>>) {
    match chars.peek().copied() {
        Some('[') => {
            chars.next();
            skip_csi(chars);
        }
        Some(']' | 'P' | 'X' | '^' | '_') => {
            chars.next();
            skip_string(chars);
        }
        Some(' '..='/') => {
            while chars.next_if(|c| (' '..='/').contains(c)).is_some() {}
            chars.next_if(|c| ('0'..='~').contains(c));
        }
        Some('0'..='~') => {
            chars.next();
        }
        _ => {}
    }
}

/// A control sequence: parameter and intermediate bytes, then one final byte.
fn skip_csi(chars: &mut Peekable<Chars<'_>>) {
    while chars.next_if(|c| (' '..='?').contains(c)).is_some() {}
    chars.next_if(|c| ('@'..='~').contains(c));
}

/// A string command (OSC, DCS, ...): everything up to BEL or ST (`ESC \`, U+009C). An
/// unterminated one runs to the end of the text, as a terminal would swallow it.
fn skip_string(chars: &mut Peekable<Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

/// Clean every string in `value` (object keys included), except the values of the
/// top-level members named in `keep`. Returns whether anything changed.
fn clean_value(value: &mut Value, keep: &[&str]) -> bool {
    match value {
        Value::String(s) => match clean_str(s) {
            Some(clean) => {
                *s = clean;
                true
            }
            None => false,
        },
        Value::Array(items) => items.iter_mut().fold(false, |changed, v| clean_value(v, &[]) | changed),
        Value::Object(map) => {
            let mut changed = false;
            if map.keys().any(|k| clean_str(k).is_some()) {
                let entries = std::mem::take(map);
                for (k, v) in entries {
                    map.insert(clean_str(&k).unwrap_or(k), v);
                }
                changed = true;
            }
            for (k, v) in map.iter_mut() {
                if !keep.contains(&k.as_str()) {
                    changed |= clean_value(v, &[]);
                }
            }
            changed
        }
        _ => false,
    }
}

/// `item` with escape sequences and control characters removed from its strings, but
/// for its top-level members named in `keep`. An item that cannot be rewritten (it
/// does not survive a JSON round trip) is returned as it was, with a warning.
pub fn clean<T: Serialize + DeserializeOwned>(item: T, keep: &[&str]) -> T {
    let Ok(mut value) = serde_json::to_value(&item) else { return item };
    if !clean_value(&mut value, keep) {
        return item;
    }
    match serde_json::from_value(value) {
        Ok(clean) => clean,
        Err(e) => {
            tracing::warn!(error = %e, "cannot remove control characters from an upstream message");
            item
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        clean_str(s).unwrap_or_else(|| s.to_string())
    }

    #[test]
    fn escape_sequences_and_controls_are_removed_whole() {
        assert_eq!(c("\u{1b}[31mred\u{1b}[0m"), "red");
        assert_eq!(c("\u{1b}[1;31;48;5;200mx"), "x");
        assert_eq!(c("a\u{1b}]8;;https://evil.example/\u{7}link\u{1b}]8;;\u{1b}\\b"), "alinkb");
        assert_eq!(c("\u{1b}]0;new title\u{7}text"), "text");
        assert_eq!(c("\u{1b}[2J\u{1b}[1;1Hcleared"), "cleared");
        assert_eq!(c("\u{9b}31mc1\u{9b}0m"), "c1");
        assert_eq!(c("\u{1b}(Bx\u{1b}cy\u{1b}7z"), "xyz");
        assert_eq!(c("nul\u{0}bs\u{8}bell\u{7}del\u{7f}"), "nulbsbelldel");
        assert_eq!(c("\u{1b}Pq#0;2;0;0;0\u{1b}\\after"), "after");
        assert_eq!(c("trailing escape \u{1b}"), "trailing escape ");
        assert_eq!(c("\u{1b}]unterminated osc"), "");
    }

    #[test]
    fn text_without_controls_is_untouched() {
        for s in ["plain", "tab\tnew\nline\r\n", "émoji 🎉 ünïcode ∑", "[31m not an escape", ""] {
            assert_eq!(clean_str(s), None, "{s:?}");
        }
    }

    #[test]
    fn values_are_cleaned_except_the_kept_members() {
        let tool = serde_json::json!({
            "name": "x\u{1b}[2J",
            "description": "Show \u{1b}[1mbold\u{1b}[0m",
            "inputSchema": {"type": "object", "properties": {"p\u{7}": {"description": "\u{0}d"}}},
        });
        let clean: Value = clean(tool, &["name"]);
        assert_eq!(clean["name"], "x\u{1b}[2J");
        assert_eq!(clean["description"], "Show bold");
        assert_eq!(clean["inputSchema"]["properties"]["p"]["description"], "d");
    }
}
