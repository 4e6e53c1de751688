//! The core provider traits over WASM plugins: conversion between core types and the
//! generated bindings, the world's export for each call, and the output-size cap.

use crate::bindings::auth::exports::warden::plugin::auth as wit_auth;
use crate::bindings::telemetry::exports::warden::plugin::telemetry as wit_tel;
use crate::bindings::types;
use crate::plugin::{Bindings, Plugin};
use async_trait::async_trait;
use std::sync::Arc;
use warden_core::{
    AuditEvent, AuthError, AuthProvider, AuthRequest, CallContext, Content, FailureKind, Finding, Guardrail, Outcome,
    PluginInfo, Principal, ProviderError, Redaction, Span, Stage, TelemetrySink, TextEdit, Transport, Verdict,
};

/// Build the future a call runs, with the bindings of the expected world.
macro_rules! call_world {
    ($plugin:expr, $world:ident, |$store:ident, $b:ident| $body:expr) => {
        $plugin
            .call(move |instance| {
                Box::pin(async move {
                    let crate::plugin::Instance { store: $store, bindings } = instance;
                    let Bindings::$world($b) = bindings else {
                        return Err(wasmtime::Error::msg(concat!("not a ", stringify!($world), " plugin")));
                    };
                    $body.await
                })
            })
            .await
    };
}

/// A guardrail plugin.
#[derive(Clone)]
pub struct WasmGuardrail(pub Arc<Plugin>);

#[async_trait]
impl Guardrail for WasmGuardrail {
    fn info(&self) -> &PluginInfo {
        self.0.info()
    }

    fn is_contained(&self) -> bool {
        self.0.is_contained()
    }

    async fn check(&self, stage: Stage, ctx: &CallContext, content: &Content) -> Result<Verdict, ProviderError> {
        let content = to_wit_content(content);
        let verdict = match stage {
            Stage::Input => {
                let ctx = to_wit_ctx(ctx);
                call_world!(self.0, Guardrail, |store, b| b
                    .warden_plugin_input_guardrail()
                    .call_check_input(store, &ctx, &content))
            }
            Stage::Output => {
                let ctx = to_wit_ctx(ctx);
                call_world!(self.0, Guardrail, |store, b| b
                    .warden_plugin_output_guardrail()
                    .call_check_output(store, &ctx, &content))
            }
            Stage::Tool => {
                let server = ctx.server.clone();
                call_world!(self.0, Guardrail, |store, b| b
                    .warden_plugin_tool_guardrail()
                    .call_check_tool(store, &server, &content))
            }
        }?;
        let verdict = verdict.map_err(|e| self.0.error(FailureKind::Reported, e.message))?;
        let verdict = from_wit_verdict(verdict);
        self.0.check_output_size(verdict.approx_size())?;
        Ok(verdict)
    }

    async fn restore(
        &self,
        ctx: &CallContext,
        state: &[u8],
        content: &Content,
    ) -> Result<Vec<TextEdit>, ProviderError> {
        let (ctx, content, state) = (to_wit_ctx(ctx), to_wit_content(content), state.to_vec());
        let edits = call_world!(self.0, Guardrail, |store, b| b
            .warden_plugin_pii_handler()
            .call_restore(store, &ctx, &state, &content))?
        .map_err(|e| self.0.error(FailureKind::Reported, e.message))?;
        self.0.check_output_size(edits.iter().map(|e| e.path.len() + e.text.len()).sum())?;
        Ok(edits.into_iter().map(|e| TextEdit { path: e.path, text: e.text }).collect())
    }
}

/// An auth plugin.
#[derive(Clone)]
pub struct WasmAuth(pub Arc<Plugin>);

#[async_trait]
impl AuthProvider for WasmAuth {
    fn info(&self) -> &PluginInfo {
        self.0.info()
    }

    async fn authenticate(&self, request: &AuthRequest) -> Result<Principal, AuthError> {
        let req = wit_auth::AuthRequest {
            transport: match request.transport {
                Transport::Http => wit_auth::Transport::Http,
                Transport::Stdio => wit_auth::Transport::Stdio,
            },
            headers: request.headers.clone(),
            client_info: request.client_info.clone(),
            now_unix: request.now_unix,
        };
        let result = call_world!(self.0, Auth, |store, b| b.warden_plugin_auth().call_authenticate(store, &req))
            .map_err(AuthError::Failed)?;
        match result {
            Ok(p) => {
                let size = p.id.len()
                    + p.scopes
                        .iter()
                        .chain(p.attributes.iter().flat_map(|(k, v)| [k, v]))
                        .map(String::len)
                        .sum::<usize>();
                self.0.check_output_size(size).map_err(AuthError::Failed)?;
                Ok(Principal { id: p.id, project: p.project, scopes: p.scopes, attributes: p.attributes })
            }
            Err(wit_auth::AuthError::NoCredentials) => Err(AuthError::NoCredentials),
            Err(wit_auth::AuthError::Rejected(reason)) => Err(AuthError::Rejected(cap_message(reason))),
            Err(wit_auth::AuthError::Failed(e)) => {
                Err(AuthError::Failed(self.0.error(FailureKind::Reported, cap_message(e.message))))
            }
        }
    }
}

/// A telemetry plugin.
#[derive(Clone)]
pub struct WasmTelemetry(pub Arc<Plugin>);

#[async_trait]
impl TelemetrySink for WasmTelemetry {
    fn info(&self) -> &PluginInfo {
        self.0.info()
    }

    async fn export(&self, events: &[AuditEvent]) -> Result<(), ProviderError> {
        let events: Vec<wit_tel::Event> = events.iter().map(to_wit_event).collect();
        call_world!(self.0, Telemetry, |store, b| b.warden_plugin_telemetry().call_export_events(store, &events))?
            .map_err(|e| self.0.error(FailureKind::Reported, cap_message(e.message)))
    }
}

/// Plugin-written reasons end up in logs: keep them to one bounded line.
fn cap_message(mut s: String) -> String {
    if let Some(i) = s.find(['\n', '\r']) {
        s.truncate(i);
    }
    if s.len() > 300 {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

fn to_wit_ctx(c: &CallContext) -> types::CallContext {
    types::CallContext {
        request_id: c.request_id.clone(),
        principal: c.principal.as_ref().map(|p| types::Principal {
            id: p.id.clone(),
            project: p.project.clone(),
            scopes: p.scopes.clone(),
            attributes: p.attributes.clone(),
        }),
        server: c.server.clone(),
        tool: c.tool.clone(),
    }
}

fn to_wit_content(c: &Content) -> types::Content {
    types::Content {
        texts: c.texts.iter().map(|t| types::TextItem { path: t.path.clone(), text: t.text.clone() }).collect(),
        json: c.json.clone(),
    }
}

fn from_wit_finding(f: types::Finding) -> Finding {
    Finding {
        detector: f.detector,
        message: f.message,
        path: f.path,
        span: f.span.map(|s| Span { start: s.start, end: s.end }),
        score: if f.score.is_finite() { f.score.clamp(0.0, 1.0) } else { 0.0 },
    }
}

fn from_wit_verdict(v: types::Verdict) -> Verdict {
    let findings = |f: Vec<types::Finding>| f.into_iter().map(from_wit_finding).collect();
    match v {
        types::Verdict::Allow => Verdict::Allow,
        types::Verdict::Warn(f) => Verdict::Warn(findings(f)),
        types::Verdict::Block(f) => Verdict::Block(findings(f)),
        types::Verdict::Redact(r) => Verdict::Redact(Redaction {
            edits: r.edits.into_iter().map(|e| TextEdit { path: e.path, text: e.text }).collect(),
            restore_state: r.restore_state,
            findings: findings(r.findings),
        }),
    }
}

fn to_wit_event(e: &AuditEvent) -> wit_tel::Event {
    wit_tel::Event {
        timestamp_ms: e.timestamp_ms,
        request_id: e.request_id.clone(),
        stage: e.stage.clone(),
        principal_id: e.principal_id.clone(),
        server: e.server.clone(),
        tool: e.tool.clone(),
        outcome: match e.outcome {
            Outcome::Allowed => wit_tel::Outcome::Allowed,
            Outcome::Warned => wit_tel::Outcome::Warned,
            Outcome::Redacted => wit_tel::Outcome::Redacted,
            Outcome::Blocked => wit_tel::Outcome::Blocked,
            Outcome::Denied => wit_tel::Outcome::Denied,
            Outcome::Failed => wit_tel::Outcome::Failed,
        },
        duration_us: e.duration_us,
        findings: e
            .findings
            .iter()
            .map(|f| types::Finding {
                detector: f.detector.clone(),
                message: f.message.clone(),
                path: f.path.clone(),
                span: f.span.map(|s| types::Span { start: s.start, end: s.end }),
                score: f.score,
            })
            .collect(),
    }
}
