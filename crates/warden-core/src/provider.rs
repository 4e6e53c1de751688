//! The provider traits. The WASM host implements them for plugins; tests implement
//! them natively. Everything the gateway does with a provider goes through these.

use crate::content::{Content, ContentForms, TextEdit};
use crate::verdict::{CallContext, Finding, Principal, Verdict};
use async_trait::async_trait;
use serde::Serialize;

/// The guardrail hooks a plugin joins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stages {
    pub input: bool,
    pub output: bool,
    pub tool: bool,
    pub restore: bool,
}

/// Where in the request path a guardrail runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Tool-call arguments, before the tool runs.
    Input,
    /// Tool results, before they reach the caller.
    Output,
    /// Tool definitions, at discovery.
    Tool,
}

impl Stages {
    pub fn contains(&self, stage: Stage) -> bool {
        match stage {
            Stage::Input => self.input,
            Stage::Output => self.output,
            Stage::Tool => self.tool,
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Input => "input",
            Stage::Output => "output",
            Stage::Tool => "tool",
        })
    }
}

/// What a plugin says about itself (`describe()`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub description: String,
    pub stages: Stages,
    pub content_forms: ContentForms,
    /// JSON Schema of the plugin's config, when published.
    pub config_schema: Option<String>,
}

/// How a provider call failed. The host maps every trap and limit to one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The plugin returned an error value.
    Reported,
    /// The per-call fuel budget ran out.
    OutOfFuel,
    /// The wall-clock deadline passed.
    Deadline,
    /// The plugin asked for more memory (or tables, instances) than allowed.
    ResourceLimit,
    /// The plugin's call stack overflowed.
    StackOverflow,
    /// Any other trap (panic, unreachable, out-of-bounds access).
    Trap,
    /// The plugin returned more data than the host accepts.
    OutputTooLarge,
    /// The plugin returned something malformed (an edit to a non-string, ...).
    InvalidOutput,
    /// No instance could be created (instantiation or configure failed).
    Unavailable,
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FailureKind::Reported => "plugin error",
            FailureKind::OutOfFuel => "out of fuel",
            FailureKind::Deadline => "deadline exceeded",
            FailureKind::ResourceLimit => "resource limit exceeded",
            FailureKind::StackOverflow => "stack overflow",
            FailureKind::Trap => "trapped",
            FailureKind::OutputTooLarge => "output too large",
            FailureKind::InvalidOutput => "invalid output",
            FailureKind::Unavailable => "unavailable",
        })
    }
}

/// A failed provider call. The message is for operators and never holds payload data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plugin {plugin}: {kind}: {message}")]
pub struct ProviderError {
    pub plugin: String,
    pub kind: FailureKind,
    pub message: String,
}

impl ProviderError {
    pub fn new(plugin: impl Into<String>, kind: FailureKind, message: impl Into<String>) -> Self {
        ProviderError { plugin: plugin.into(), kind, message: message.into() }
    }
}

/// A guardrail provider.
#[async_trait]
pub trait Guardrail: Send + Sync {
    fn info(&self) -> &PluginInfo;

    /// Whether what this guardrail is shown cannot leave the gateway through it (no
    /// network, no output). Only such a guardrail may be shown a payload before the
    /// guardrails ahead of it in its chain have passed it (see
    /// [`crate::chain::GuardrailChain::run`]): one that blocks or redacts it must
    /// keep it from a guardrail that calls a remote service.
    fn is_contained(&self) -> bool {
        false
    }

    /// Check a payload at `stage`. Only called for stages in `info().stages`.
    async fn check(&self, stage: Stage, ctx: &CallContext, content: &Content) -> Result<Verdict, ProviderError>;

    /// Undo this provider's own redaction in a result, from its `restore_state`.
    async fn restore(
        &self,
        ctx: &CallContext,
        restore_state: &[u8],
        content: &Content,
    ) -> Result<Vec<TextEdit>, ProviderError>;
}

/// How the caller reached the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Http,
    Stdio,
}

/// What a caller presented to be authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    pub transport: Transport,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub client_info: Option<String>,
    pub now_unix: u64,
}

/// Why an auth provider did not accept a caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Nothing this provider understands; the next one in the chain is tried.
    #[error("no credentials")]
    NoCredentials,
    /// A credential was presented and refused. The reason never holds the credential.
    #[error("credentials rejected: {0}")]
    Rejected(String),
    #[error(transparent)]
    Failed(ProviderError),
}

/// An authentication provider.
#[async_trait]
pub trait AuthProvider: Send + Sync {
    fn info(&self) -> &PluginInfo;
    async fn authenticate(&self, request: &AuthRequest) -> Result<Principal, AuthError>;
}

/// What happened at one stage of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Allowed,
    Warned,
    Redacted,
    Blocked,
    Denied,
    Failed,
}

/// One audit event, as handed to telemetry sinks. Holds no payload and no secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    pub timestamp_ms: u64,
    pub request_id: String,
    pub stage: String,
    pub principal_id: Option<String>,
    pub server: String,
    pub tool: String,
    pub outcome: Outcome,
    pub duration_us: u64,
    pub findings: Vec<Finding>,
}

/// A telemetry sink. Its failures are counted, never propagated to the call.
#[async_trait]
pub trait TelemetrySink: Send + Sync {
    fn info(&self) -> &PluginInfo;
    async fn export(&self, events: &[AuditEvent]) -> Result<(), ProviderError>;
}
