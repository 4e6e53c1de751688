//! Warden's core: the vocabulary every other crate shares and the logic that needs no I/O.
//!
//! - [`verdict`]: principals, call contexts, findings and verdicts, and the rule that
//!   combines verdicts (block > redact > warn > allow).
//! - [`content`]: the payload handed to guardrails (strings with JSON Pointers) and the
//!   edits they return.
//! - [`provider`]: the provider traits (`AuthProvider`, `Guardrail`, `TelemetrySink`) that
//!   the WASM host and native test doubles both implement.
//! - [`chain`]: ordered guardrail chains and failure modes; [`auth`]: the auth chain.
//! - [`plugin_config`]: the `[[plugins]]` section of `warden.toml`, validated with paths.
//! - [`registry`]: providers by name, with fallback to the embedded defaults.
//!
//! This crate knows nothing of wasmtime, sockets or files.

pub mod auth;
pub mod chain;
pub mod config;
pub mod content;
pub mod plugin_config;
pub mod provider;
pub mod registry;
pub mod scope;
pub mod session_key;
pub mod stats;
pub mod verdict;

pub use chain::{ChainEntry, ChainOutcome, GuardrailChain, RestoreToken};
pub use content::{Content, ContentForms, TextEdit, TextItem};
pub use plugin_config::{FailureMode, Grants, Isolation, Limits, PluginKind, PluginSpec, Source};
pub use provider::{
    AuditEvent, AuthError, AuthProvider, AuthRequest, FailureKind, Guardrail, Outcome, PluginInfo, ProviderError,
    Stage, Stages, TelemetrySink, Transport,
};
pub use registry::{PluginLoader, Provider, Registry, RegistryError};
pub use stats::{PluginCounters, PluginMetrics};
pub use verdict::{Action, CallContext, Finding, Principal, Redaction, Span, Verdict};
