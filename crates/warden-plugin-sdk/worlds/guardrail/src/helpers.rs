//! Constructors and builders on the shared WIT types (inherent impls must live in
//! the crate that defines the types). Re-exported by `warden-plugin-sdk`.

use crate::warden::plugin::types::{
    ContentForms, Finding, PluginError, PluginInfo, Principal, Redaction, Span, Stages, TextEdit, Verdict,
};

impl Finding {
    /// A finding on the whole payload with full confidence; refine it with
    /// [`at`](Finding::at), [`span`](Finding::span), [`score`](Finding::score).
    /// `message` is shown to callers: describe what was found, never the value.
    pub fn new(detector: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding { detector: detector.into(), message: message.into(), path: String::new(), span: None, score: 1.0 }
    }

    /// In the string at this JSON Pointer (a [`TextItem`](crate::warden::plugin::types::TextItem)'s `path`).
    pub fn at(mut self, path: impl Into<String>) -> Finding {
        self.path = path.into();
        self
    }

    /// At these UTF-8 byte offsets of that string (`end` exclusive).
    pub fn span(mut self, start: usize, end: usize) -> Finding {
        let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        self.span = Some(Span { start: clamp(start), end: clamp(end) });
        self
    }

    /// With this confidence (clamped to 0.0..=1.0).
    pub fn score(mut self, score: f32) -> Finding {
        self.score = if score.is_nan() { 0.0 } else { score.clamp(0.0, 1.0) };
        self
    }
}

impl Verdict {
    /// Nothing to report.
    pub fn allow() -> Verdict {
        Verdict::Allow
    }

    /// Stop the call; the findings are the reason given to the caller.
    pub fn block(findings: Vec<Finding>) -> Verdict {
        Verdict::Block(findings)
    }

    /// Let the payload through but record the findings.
    pub fn warn(findings: Vec<Finding>) -> Verdict {
        Verdict::Warn(findings)
    }

    /// [`block`](Verdict::block) when there are findings, else allow.
    pub fn block_if(findings: Vec<Finding>) -> Verdict {
        if findings.is_empty() { Verdict::Allow } else { Verdict::Block(findings) }
    }

    /// [`warn`](Verdict::warn) when there are findings, else allow.
    pub fn warn_if(findings: Vec<Finding>) -> Verdict {
        if findings.is_empty() { Verdict::Allow } else { Verdict::Warn(findings) }
    }

    /// Let the payload through rewritten by `edits`; `restore_state` comes back to
    /// this plugin's `restore` for the same call (empty: nothing to restore).
    pub fn redact(edits: Vec<TextEdit>, restore_state: Vec<u8>, findings: Vec<Finding>) -> Verdict {
        Verdict::Redact(Redaction { edits, restore_state, findings })
    }

    /// The verdict's findings (none for allow).
    pub fn findings(&self) -> &[Finding] {
        match self {
            Verdict::Allow => &[],
            Verdict::Warn(f) | Verdict::Block(f) => f,
            Verdict::Redact(r) => &r.findings,
        }
    }
}

impl PluginInfo {
    /// A guardrail joining `stages`, reading the payload's strings (`content.texts`).
    pub fn guardrail(name: &str, version: &str, description: &str, stages: Stages) -> PluginInfo {
        PluginInfo {
            name: name.to_string(),
            version: version.to_string(),
            description: description.to_string(),
            stages,
            content_forms: ContentForms::TEXTS,
            config_schema: None,
        }
    }

    /// An auth or telemetry plugin (no stages, no content).
    pub fn provider(name: &str, version: &str, description: &str) -> PluginInfo {
        PluginInfo {
            stages: Stages::empty(),
            content_forms: ContentForms::empty(),
            ..PluginInfo::guardrail(name, version, description, Stages::empty())
        }
    }

    /// Publish a JSON Schema of the config (shown by `warden plugin inspect`).
    pub fn with_config_schema(mut self, schema: impl Into<String>) -> PluginInfo {
        self.config_schema = Some(schema.into());
        self
    }

    /// Ask for these forms of `content` (`ContentForms::JSON` to see the whole payload).
    pub fn with_content_forms(mut self, forms: ContentForms) -> PluginInfo {
        self.content_forms = forms;
        self
    }
}

impl Principal {
    /// A caller with this id, no project, and the scopes that allow everything (`*`).
    pub fn new(id: impl Into<String>) -> Principal {
        Principal { id: id.into(), project: None, scopes: vec!["*".to_string()], attributes: Vec::new() }
    }

    /// In this project (tenant).
    pub fn project(mut self, project: impl Into<String>) -> Principal {
        self.project = Some(project.into());
        self
    }

    /// Allowed only these `SERVER/TOOL` globs (e.g. `demo/*`).
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Principal {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// With an attribute usable by `[[gateway.rules]]` (never the credential).
    pub fn attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Principal {
        self.attributes.push((name.into(), value.into()));
        self
    }
}

impl PluginError {
    /// An error with this message (shown to operators).
    pub fn new(message: impl Into<String>) -> PluginError {
        PluginError { message: message.into() }
    }
}
