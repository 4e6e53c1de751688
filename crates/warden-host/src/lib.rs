//! The sandboxed WebAssembly plugin host.
//!
//! - [`engine`]: one wasmtime `Engine` (pooling allocator, fuel, epochs) and its
//!   epoch ticker; [`cache`]: precompiled components on disk.
//! - [`capabilities`]: the import audit (nothing is granted unless configured) and the
//!   per-store WASI context built from a plugin's grants.
//! - [`state`]: what a store holds (WASI, limits, the `host` interface).
//! - [`plugin`]: a loaded plugin, its instance pool and the guarded call path that
//!   turns every trap and limit into a [`warden_core::ProviderError`].
//! - [`providers`]: the core provider traits implemented over plugins;
//!   [`loader`]: the registry's loader with the embedded builtins.
//! - [`inspect`]: what `warden plugin inspect` prints.

pub mod bindings;
pub mod cache;
pub mod capabilities;
pub mod engine;
pub mod inspect;
pub mod loader;
pub mod plugin;
pub mod providers;
pub mod state;

pub use engine::Host;
pub use loader::{Builtin, Loader};
pub use plugin::{Plugin, PluginStats};
pub use warden_core::config::SandboxConfig;

/// Errors of the plugin host.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("plugin {plugin}: cannot read {path}: {source}")]
    Read { plugin: String, path: String, source: std::io::Error },
    #[error("plugin {plugin}: sha256 mismatch for {path}: expected {expected}, found {found}")]
    Digest { plugin: String, path: String, expected: String, found: String },
    #[error("plugin {plugin}: not a valid component: {reason}")]
    Compile { plugin: String, reason: String },
    /// Every import that is not granted, each with how to grant it (if it can be).
    #[error("plugin {plugin}: imports not granted: {detail}")]
    ForbiddenImport { plugin: String, imports: Vec<String>, detail: String },
    #[error("plugin {plugin}: does not implement the {expected} world: {reason}")]
    WrongWorld { plugin: String, expected: &'static str, reason: String },
    #[error("plugin {plugin}: {reason}")]
    Instantiate { plugin: String, reason: String },
    #[error("plugin {plugin}: configure rejected the config: {reason}")]
    Configure { plugin: String, reason: String },
    #[error("plugin {plugin}: {reason}")]
    Limits { plugin: String, reason: String },
    #[error("wasmtime engine: {0}")]
    Engine(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
