//! Who is calling, what they call, and what guardrails decide about it.

use crate::content::TextEdit;
use serde::Serialize;

/// The authenticated caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub id: String,
    pub project: Option<String>,
    pub scopes: Vec<String>,
    /// Extra attributes (claims, key labels); never the credential.
    pub attributes: Vec<(String, String)>,
}

/// The tool call a guardrail is asked about.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CallContext {
    pub request_id: String,
    pub principal: Option<Principal>,
    /// Upstream server name from the config.
    pub server: String,
    /// Tool name on that server (not the namespaced one).
    pub tool: String,
}

/// Byte range in one string of the payload, `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

/// Something a guardrail noticed. `message` never holds the matched value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Dotted detector name, e.g. `pii.email`.
    pub detector: String,
    pub message: String,
    /// JSON Pointer to the string the finding is in; empty for the whole payload.
    pub path: String,
    pub span: Option<Span>,
    pub score: f32,
}

impl Finding {
    /// A finding about the whole payload with full confidence.
    pub fn new(detector: impl Into<String>, message: impl Into<String>) -> Self {
        Finding { detector: detector.into(), message: message.into(), path: String::new(), span: None, score: 1.0 }
    }
}

/// Edits to a payload plus the opaque state the same plugin needs to undo them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Redaction {
    pub edits: Vec<TextEdit>,
    /// Never logged or shown; handed back only to the plugin that produced it.
    #[serde(skip)]
    pub restore_state: Vec<u8>,
    pub findings: Vec<Finding>,
}

/// A guardrail's decision about one payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", content = "detail", rename_all = "snake_case")]
pub enum Verdict {
    Allow,
    Warn(Vec<Finding>),
    Redact(Redaction),
    Block(Vec<Finding>),
}

/// The strength of a verdict, ordered so that `max` picks the winner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Allow,
    Warn,
    Redact,
    Block,
}

impl Verdict {
    pub fn action(&self) -> Action {
        match self {
            Verdict::Allow => Action::Allow,
            Verdict::Warn(_) => Action::Warn,
            Verdict::Redact(_) => Action::Redact,
            Verdict::Block(_) => Action::Block,
        }
    }

    pub fn findings(&self) -> &[Finding] {
        match self {
            Verdict::Allow => &[],
            Verdict::Warn(f) | Verdict::Block(f) => f,
            Verdict::Redact(r) => &r.findings,
        }
    }

    /// Total bytes of caller-visible text, for the host's output-size cap.
    pub fn approx_size(&self) -> usize {
        let findings: usize =
            self.findings().iter().map(|f| f.detector.len() + f.message.len() + f.path.len() + 16).sum();
        let edits = match self {
            Verdict::Redact(r) => {
                r.restore_state.len() + r.edits.iter().map(|e| e.path.len() + e.text.len()).sum::<usize>()
            }
            _ => 0,
        };
        findings + edits
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Action::Allow => "allow",
            Action::Warn => "warn",
            Action::Redact => "redact",
            Action::Block => "block",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_order_block_over_redact_over_warn_over_allow() {
        let mut all = [Action::Warn, Action::Block, Action::Allow, Action::Redact];
        all.sort();
        assert_eq!(all, [Action::Allow, Action::Warn, Action::Redact, Action::Block]);
    }
}
