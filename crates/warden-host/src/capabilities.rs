//! What a plugin may touch. Nothing is granted by default:
//!
//! - always available, because every guest toolchain imports them and they reach
//!   nothing outside the sandbox: `wasi:io`, `wasi:cli` (an empty environment, no
//!   arguments, empty stdin, stdout/stderr discarded), the monotonic clock,
//!   randomness, and Warden's own `host` interface;
//! - granted by config: named environment variables (their values are copied in;
//!   the import itself is always available), the wall clock, and outbound HTTP
//!   (`wasi:http`) to listed hosts only;
//! - never: filesystem and sockets, and any interface the host does not know.
//!
//! The check runs on the component's import list before it is instantiated, so a
//! component asking for more than it was granted fails to load with an error naming
//! the import, instead of failing later in the middle of a call.

use crate::{Error, Result};
use warden_core::Grants;
use wasmtime::Engine;
use wasmtime::component::Component;

/// Interfaces any plugin may import (version suffix ignored).
const ALWAYS: &[&str] = &[
    "warden:plugin/types",
    "warden:plugin/host",
    "wasi:io/poll",
    "wasi:io/error",
    "wasi:io/streams",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/monotonic-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
];

/// Check every import of `component` against `grants`.
pub fn audit_imports(plugin: &str, engine: &Engine, component: &Component, grants: &Grants) -> Result<()> {
    let mut refused = Vec::new();
    for (name, _) in component.component_type().imports(engine) {
        let base = name.split('@').next().unwrap_or(name);
        let allowed = ALWAYS.contains(&base)
            || (grants.wall_clock && base == "wasi:clocks/wall-clock")
            || (!grants.http_hosts.is_empty() && matches!(base, "wasi:http/types" | "wasi:http/outgoing-handler"));
        if !allowed {
            refused.push((name.to_string(), hint(base)));
        }
    }
    if refused.is_empty() {
        return Ok(());
    }
    let detail = refused.iter().map(|(n, h)| format!("{n}{h}")).collect::<Vec<_>>().join(", ");
    Err(Error::ForbiddenImport {
        plugin: plugin.to_string(),
        imports: refused.into_iter().map(|(n, _)| n).collect(),
        detail,
    })
}

fn hint(base: &str) -> &'static str {
    if base.starts_with("wasi:filesystem/") {
        " (plugins never get filesystem access)"
    } else if base.starts_with("wasi:sockets/") {
        " (plugins never get sockets; grant outbound HTTP with grants.http_hosts)"
    } else if base.starts_with("wasi:http/") {
        " (grant it with grants.http_hosts = [\"host\"])"
    } else if base == "wasi:clocks/wall-clock" {
        " (grant it with grants.wall_clock = true)"
    } else {
        " (unknown interface)"
    }
}

/// The granted environment: only the named variables that are set in the gateway's
/// own environment.
pub fn granted_env(grants: &Grants) -> Vec<(String, String)> {
    grants.env.iter().filter_map(|k| std::env::var(k).ok().map(|v| (k.clone(), v))).collect()
}

/// Whether `host` (with `port`, if the URI had one) is in the allow-list. An entry
/// `name` allows every port of `name`; `name:port` allows that port only.
pub fn http_host_allowed(allowed: &[String], host: &str, port: Option<u16>) -> bool {
    allowed.iter().any(|entry| match entry.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => h.eq_ignore_ascii_case(host) && p.parse::<u16>().ok() == port,
        _ => entry.eq_ignore_ascii_case(host),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_allow_list_matches_host_and_optional_port() {
        let allowed = vec!["api.example.com".to_string(), "127.0.0.1:8080".to_string()];
        assert!(http_host_allowed(&allowed, "api.example.com", Some(443)));
        assert!(http_host_allowed(&allowed, "API.example.com", None));
        assert!(http_host_allowed(&allowed, "127.0.0.1", Some(8080)));
        assert!(!http_host_allowed(&allowed, "127.0.0.1", Some(8081)));
        assert!(!http_host_allowed(&allowed, "evil.example.com", None));
        assert!(!http_host_allowed(&allowed, "api.example.com.evil", None));
    }
}
