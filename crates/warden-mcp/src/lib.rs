//! Warden's MCP layer.
//!
//! - [`cell`]: the gateway in force (swapped at reload) and the drain at shutdown;
//! - [`server`]: the handler MCP clients talk to, over Streamable HTTP (`/mcp`) and stdio;
//! - [`sessions`]: sealed session ids, so replicas serve one another's sessions;
//! - [`gateway`]: aggregation of upstream tools and the guardrail pipeline per call;
//! - [`upstream`]: upstream servers (stdio child processes, Streamable HTTP), kept and re-established;
//!   `upstream_stdio` (the hardened stdio transport) and `sanitize` (control characters and
//!   terminal escapes out of what upstreams send) serve it;
//! - [`naming`]: namespaced tool names; [`paging`]: cursors for the aggregated lists;
//! - [`pins`]: tool definitions pinned by digest (trust on first use);
//! - [`limits`]: rate and concurrency limits per principal and per upstream;
//! - [`jsonrpc`]: screening of incoming messages; [`schema`]: tool arguments vs their input schema;
//! - [`compat`]: the Enkrypt gateway's meta-tools; [`admin`]: the operator page at `/admin`;
//! - [`demo`]: the built-in demo upstream (`warden demo-server`).

// rmcp marks logging and resources/unsubscribe deprecated (SEP-2577, a draft
// revision); the clients and servers in use today still speak them, so the gateway
// must forward them.
#![allow(deprecated)]

pub mod admin;
pub mod audit;
pub mod cell;
pub mod compat;
pub mod demo;
pub mod gateway;
pub mod jsonrpc;
pub mod limits;
pub mod metrics;
pub mod naming;
pub mod otel;
pub mod paging;
pub mod pins;
mod progress;
mod sanitize;
pub mod schema;
pub mod server;
pub mod sessions;
pub mod upstream;
mod upstream_stdio;

pub use cell::GatewayCell;
pub use gateway::{Chains, Gateway, PluginMetricsSource, Settings};
pub use upstream::{Transport, UpstreamSpec};

/// Make ring the process-wide TLS crypto provider (HTTPS upstreams). Call once at
/// start-up; later calls are no-ops.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
