//! The default plugins, compiled from `plugins/` by build.rs and embedded here.

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// The embedded plugins as the host's loader wants them.
pub fn all() -> Vec<warden_host::Builtin> {
    BUILTINS.iter().map(|&(name, bytes)| warden_host::Builtin { name, bytes }).collect()
}

/// The embedded default configuration (`config/warden.toml`).
pub const DEFAULT_CONFIG: &str = include_str!("../../../config/warden.toml");
