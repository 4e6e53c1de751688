//! The `[[plugins]]` entries of `warden.toml`: raw serde types, and their validated
//! form. Validation reports every problem at once, each with its path
//! (`plugins[2].limits.memory_mib`), so an operator fixes a config in one pass.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The kind of provider a plugin implements (its WIT world).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginKind {
    Auth,
    Guardrail,
    Telemetry,
}

impl PluginKind {
    /// The WIT world a component of this kind must target.
    pub fn world(self) -> &'static str {
        match self {
            PluginKind::Auth => "auth-provider",
            PluginKind::Guardrail => "guardrail-provider",
            PluginKind::Telemetry => "telemetry-provider",
        }
    }

    /// Auth and guardrails deny when they fail; telemetry must never fail a call.
    pub fn default_failure_mode(self) -> FailureMode {
        match self {
            PluginKind::Auth | PluginKind::Guardrail => FailureMode::FailClosed,
            PluginKind::Telemetry => FailureMode::FailOpen,
        }
    }
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PluginKind::Auth => "auth",
            PluginKind::Guardrail => "guardrail",
            PluginKind::Telemetry => "telemetry",
        })
    }
}

/// What happens to a call when a plugin fails (traps, runs out, returns garbage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureMode {
    /// Deny / block the call.
    FailClosed,
    /// Record the failure and go on as if the plugin had allowed.
    FailOpen,
}

/// Whether instances are reused across calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// A small pool of configured instances, reused; a trapped one is discarded.
    #[default]
    Pooled,
    /// A fresh instance for every call: no state shared between calls or callers.
    PerCall,
}

/// Per-plugin sandbox limits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// WebAssembly fuel per call (about one unit per instruction).
    pub fuel: u64,
    /// Wall-clock deadline per call, in milliseconds.
    pub deadline_ms: u64,
    /// Linear memory per instance, in MiB.
    pub memory_mib: u32,
    /// Largest result (findings, edits, restore state) accepted from one call, in KiB.
    pub max_output_kib: u32,
    /// Most instances alive at once; further calls wait for a free one.
    pub max_instances: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { fuel: 1_000_000_000, deadline_ms: 1_000, memory_mib: 64, max_output_kib: 1024, max_instances: 16 }
    }
}

/// Capabilities granted to a plugin. Nothing is granted by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Grants {
    /// Environment variables of the gateway process the plugin may read, by name.
    pub env: Vec<String>,
    /// Hosts (`name` or `name:port`) the plugin may send HTTP requests to (wasi:http).
    pub http_hosts: Vec<String>,
    /// Access to the wall clock (wasi:clocks/wall-clock). The monotonic clock is always available.
    pub wall_clock: bool,
    /// A file the plugin's standard output is appended to (created 0600 if missing):
    /// how telemetry sinks write audit lines without any filesystem access.
    pub stdout: Option<std::path::PathBuf>,
}

/// A `[[plugins]]` entry as written in `warden.toml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPluginSpec {
    pub name: String,
    pub kind: PluginKind,
    /// `builtin:NAME` or the path of a `.wasm` component.
    pub source: String,
    /// Hex SHA-256 of the component file; checked before loading.
    pub sha256: Option<String>,
    pub failure_mode: Option<FailureMode>,
    #[serde(default)]
    pub isolation: Isolation,
    /// What to load if `source` is absent or fails: `builtin:NAME` or `none`.
    /// Defaults to `builtin:<name>` when such a builtin exists.
    pub fallback: Option<String>,
    /// Handed to the plugin's `configure`, as JSON.
    #[serde(default = "empty_object")]
    pub config: serde_json::Value,
    /// A JSON file merged into `config` when the plugin is loaded (arrays are
    /// appended, e.g. the API keys `warden keys` manages); a missing file adds nothing.
    pub config_file: Option<std::path::PathBuf>,
    /// Auth plugins only: a JWKS URL the host fetches (plugins have no network) and
    /// whose `keys` it merges into `config` like `config_file`'s, refreshing them
    /// periodically and when a token names an unknown key id.
    pub jwks_url: Option<String>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub grants: Grants,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

/// Where a plugin's component comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Source {
    /// Embedded in the `warden` binary.
    Builtin(String),
    /// A component file, optionally pinned by its SHA-256.
    File { path: PathBuf, sha256: Option<[u8; 32]> },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Builtin(name) => write!(f, "builtin:{name}"),
            Source::File { path, .. } => write!(f, "{}", path.display()),
        }
    }
}

/// What to do when a plugin's source cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Fallback {
    /// Use `builtin:<name>` if the binary has one, else refuse to start.
    Default,
    Builtin(String),
    /// Refuse to start.
    None,
}

/// A validated plugin entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PluginSpec {
    pub name: String,
    pub kind: PluginKind,
    pub source: Source,
    pub failure_mode: FailureMode,
    pub isolation: Isolation,
    pub fallback: Fallback,
    pub config: serde_json::Value,
    /// Merged into `config` at load time (see [`merge_config`]).
    pub config_file: Option<std::path::PathBuf>,
    /// A JWKS whose `keys` are merged into `config` (auth plugins; see [`check_jwks_url`]).
    pub jwks_url: Option<String>,
    pub limits: Limits,
    pub grants: Grants,
}

/// Merge `extra` into `base`: objects key by key, arrays appended, and for any
/// other value `base` (the operator's inline config) wins.
pub fn merge_config(base: &mut serde_json::Value, extra: serde_json::Value) {
    use serde_json::Value;
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                match b.get_mut(&k) {
                    Some(existing) => merge_config(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(b), Value::Array(e)) => b.extend(e),
        _ => {}
    }
}

impl PluginSpec {
    /// A spec with default limits, no grants and an empty config.
    pub fn new(name: impl Into<String>, kind: PluginKind, source: Source) -> Self {
        PluginSpec {
            name: name.into(),
            kind,
            source,
            failure_mode: kind.default_failure_mode(),
            isolation: Isolation::Pooled,
            fallback: Fallback::Default,
            config: empty_object(),
            config_file: None,
            jwks_url: None,
            limits: Limits::default(),
            grants: Grants::default(),
        }
    }
}

/// One problem in a config, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

/// Every problem found in a config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}: {}", e.path, e.message)?;
        }
        Ok(())
    }
}

/// Validate `[[plugins]]` entries, collecting every error.
pub fn validate_plugins(raw: &[RawPluginSpec]) -> Result<Vec<PluginSpec>, ConfigErrors> {
    let mut errors = Vec::new();
    let mut specs = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let mut err = |field: &str, message: String| {
            errors.push(ConfigError { path: format!("plugins[{i}].{field}"), message });
        };
        if !valid_name(&r.name) {
            err("name", format!("{:?} is not a valid plugin name ([a-z0-9][a-z0-9_-]*, at most 64)", r.name));
        }
        if raw[..i].iter().any(|o| o.name == r.name) {
            err("name", format!("duplicate plugin name {:?}", r.name));
        }
        let sha256 = match r.sha256.as_deref().map(parse_sha256) {
            None => None,
            Some(Ok(d)) => Some(d),
            Some(Err(m)) => {
                err("sha256", m);
                None
            }
        };
        let source = match r.source.strip_prefix("builtin:") {
            Some(name) => {
                if sha256.is_some() {
                    err("sha256", "a builtin plugin is part of the binary; sha256 applies to files".into());
                }
                Source::Builtin(name.to_string())
            }
            None if r.source.is_empty() => {
                err("source", "empty; use builtin:NAME or the path of a .wasm file".into());
                Source::Builtin(String::new())
            }
            None => Source::File { path: PathBuf::from(&r.source), sha256 },
        };
        let fallback = match r.fallback.as_deref() {
            None => Fallback::Default,
            Some("none") => Fallback::None,
            Some(f) => match f.strip_prefix("builtin:") {
                Some(name) => Fallback::Builtin(name.to_string()),
                None => {
                    err("fallback", format!("{f:?}: expected builtin:NAME or none"));
                    Fallback::None
                }
            },
        };
        if !r.config.is_object() {
            err("config", "must be a table".into());
        }
        check_limits(&r.limits, &mut |f, m| err(&format!("limits.{f}"), m));
        for (j, v) in r.grants.env.iter().enumerate() {
            if v.is_empty() || v.contains('=') || v.contains('\0') {
                err(&format!("grants.env[{j}]"), format!("{v:?} is not an environment variable name"));
            }
        }
        for (j, h) in r.grants.http_hosts.iter().enumerate() {
            if let Err(m) = check_host(h) {
                err(&format!("grants.http_hosts[{j}]"), m);
            }
        }
        if let Some(url) = &r.jwks_url {
            if r.kind != PluginKind::Auth {
                err("jwks_url", format!("only auth plugins take keys from a JWKS; this is a {} plugin", r.kind));
            }
            if let Err(m) = check_jwks_url(url) {
                err("jwks_url", m);
            }
        }
        specs.push(PluginSpec {
            name: r.name.clone(),
            kind: r.kind,
            source,
            failure_mode: r.failure_mode.unwrap_or(r.kind.default_failure_mode()),
            isolation: r.isolation,
            fallback,
            config: r.config.clone(),
            config_file: r.config_file.clone(),
            jwks_url: r.jwks_url.clone(),
            limits: r.limits.clone(),
            grants: r.grants.clone(),
        });
    }
    if errors.is_empty() { Ok(specs) } else { Err(ConfigErrors(errors)) }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Parse a hex SHA-256 digest.
pub fn parse_sha256(hex: &str) -> Result<[u8; 32], String> {
    let hex = hex.trim();
    let bad = || format!("{hex:?} is not a SHA-256 digest (64 hex digits)");
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

fn check_limits(l: &Limits, err: &mut dyn FnMut(&str, String)) {
    if l.fuel == 0 {
        err("fuel", "must be greater than 0".into());
    }
    if !(1..=600_000).contains(&l.deadline_ms) {
        err("deadline_ms", format!("{} is outside 1..=600000", l.deadline_ms));
    }
    if !(1..=4096).contains(&l.memory_mib) {
        err("memory_mib", format!("{} is outside 1..=4096", l.memory_mib));
    }
    if !(1..=65_536).contains(&l.max_output_kib) {
        err("max_output_kib", format!("{} is outside 1..=65536", l.max_output_kib));
    }
    if !(1..=1024).contains(&l.max_instances) {
        err("max_instances", format!("{} is outside 1..=1024", l.max_instances));
    }
}

fn check_host(h: &str) -> Result<(), String> {
    let (host, port) = match h.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (h, None),
    };
    let host_ok = !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '[' || c == ']' || c == ':');
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok());
    if host_ok && port_ok { Ok(()) } else { Err(format!("{h:?} is not a host or host:port (no scheme, no path)")) }
}

/// A JWKS URL Warden may fetch: `https://`, or plain `http://` to a loopback host
/// only (local identity providers, tests), since keys fetched in clear text over a
/// network could be swapped on the way and would then admit forged tokens. No
/// credentials in the URL. Errors never repeat the URL (its query may hold a secret).
pub fn check_jwks_url(url: &str) -> Result<(), String> {
    let (scheme, rest) = url.split_once("://").ok_or("is not a URL (expected https://HOST/PATH)")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("credentials in the URL are not supported".into());
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(h, _)| h),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    if host.is_empty() {
        return Err("has no host".into());
    }
    let loopback =
        host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err("must use https (plain http only to a loopback host such as 127.0.0.1)".into()),
        _ => Err(format!("unsupported scheme {:?}: use https", scheme.chars().take(16).collect::<String>())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_src: &str) -> Vec<RawPluginSpec> {
        #[derive(Deserialize)]
        struct F {
            plugins: Vec<RawPluginSpec>,
        }
        toml::from_str::<F>(toml_src).expect("valid toml").plugins
    }

    #[test]
    fn valid_entry_gets_kind_defaults() {
        let specs = validate_plugins(&parse(
            r#"
            [[plugins]]
            name = "kw"
            kind = "guardrail"
            source = "builtin:guard-keyword"
            config = { words = ["x"] }
            [[plugins]]
            name = "audit"
            kind = "telemetry"
            source = "plugins/audit.wasm"
            sha256 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
            grants = { env = ["AUDIT_TOKEN"], http_hosts = ["collector.local:4318"] }
            "#,
        ))
        .expect("valid");
        assert_eq!(specs[0].source, Source::Builtin("guard-keyword".into()));
        assert_eq!(specs[0].failure_mode, FailureMode::FailClosed);
        assert_eq!(specs[1].failure_mode, FailureMode::FailOpen);
        assert!(matches!(&specs[1].source, Source::File { sha256: Some(d), .. } if d[1] == 0x11));
    }

    #[test]
    fn every_error_is_reported_with_its_path() {
        let err = validate_plugins(&parse(
            r#"
            [[plugins]]
            name = "Bad Name"
            kind = "guardrail"
            source = "x.wasm"
            sha256 = "zz"
            limits = { memory_mib = 0, deadline_ms = 0 }
            grants = { http_hosts = ["https://x/y"], env = ["A=B"] }
            fallback = "somewhere"
            [[plugins]]
            name = "dup"
            kind = "auth"
            source = "builtin:auth-apikey"
            [[plugins]]
            name = "dup"
            kind = "auth"
            source = ""
            "#,
        ))
        .expect_err("invalid");
        let paths: Vec<_> = err.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "plugins[0].name",
                "plugins[0].sha256",
                "plugins[0].fallback",
                "plugins[0].limits.deadline_ms",
                "plugins[0].limits.memory_mib",
                "plugins[0].grants.env[0]",
                "plugins[0].grants.http_hosts[0]",
                "plugins[2].name",
                "plugins[2].source",
            ]
        );
    }

    #[test]
    fn jwks_url_is_https_or_loopback_http_and_only_for_auth() {
        for ok in [
            "https://idp.example.com/.well-known/jwks.json",
            "HTTPS://idp.example.com:8443/keys?tenant=a",
            "http://127.0.0.1:8080/jwks.json",
            "http://localhost/jwks",
            "http://[::1]:9000/jwks",
        ] {
            assert_eq!(check_jwks_url(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("http://idp.example.com/jwks.json", "must use https"),
            ("http://127.0.0.1.evil.example/jwks", "must use https"),
            ("ftp://idp.example.com/jwks", "unsupported scheme"),
            ("idp.example.com/jwks", "not a URL"),
            ("https:///jwks", "no host"),
            ("https://user:secret@idp.example.com/jwks", "credentials"),
        ] {
            let e = check_jwks_url(bad).expect_err(bad);
            assert!(e.contains(why) && !e.contains("secret"), "{bad}: {e}");
        }
        let err = validate_plugins(&parse(
            r#"
            [[plugins]]
            name = "jwt"
            kind = "auth"
            source = "builtin:auth-jwt"
            jwks_url = "https://idp.example.com/jwks.json"
            [[plugins]]
            name = "kw"
            kind = "guardrail"
            source = "builtin:guard-keyword"
            jwks_url = "http://idp.example.com/jwks.json"
            "#,
        ))
        .expect_err("invalid");
        let found: Vec<_> = err.0.iter().map(|e| (e.path.as_str(), e.message.contains("only auth"))).collect();
        assert_eq!(found, [("plugins[1].jwks_url", true), ("plugins[1].jwks_url", false)]);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let r: Result<RawPluginSpec, _> =
            toml::from_str("name = \"a\"\nkind = \"auth\"\nsource = \"builtin:a\"\nsurprise = 1\n");
        assert!(r.expect_err("unknown field").to_string().contains("surprise"));
    }
}
