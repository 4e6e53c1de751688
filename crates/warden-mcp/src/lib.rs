//! Warden's MCP layer.
//!
//! - [`server`]: the handler MCP clients talk to, over Streamable HTTP (`/mcp`) and stdio;
//! - [`gateway`]: aggregation of upstream tools and the guardrail pipeline per call;
//! - [`upstream`]: upstream servers (stdio child processes, kept and restarted);
//! - [`naming`]: namespaced tool names;
//! - [`demo`]: the built-in demo upstream (`warden demo-server`).

pub mod demo;
pub mod gateway;
pub mod naming;
pub mod server;
pub mod upstream;

pub use gateway::{Chains, Gateway};
pub use upstream::UpstreamSpec;
