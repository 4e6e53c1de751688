//! `warden.toml`: the whole file, `${ENV_VAR}` interpolation, and validation that
//! reports every error with its path. Sections for servers and policies join as the
//! gateway grows; unknown keys are always refused (`deny_unknown_fields`).

use crate::plugin_config::{ConfigError, ConfigErrors, PluginSpec, RawPluginSpec, validate_plugins};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Engine-wide sandbox settings (`[sandbox]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// Largest memory any plugin may be given, in MiB.
    pub max_memory_mib: u32,
    /// Plugin instances alive at once, across all plugins.
    pub max_instances: u32,
    /// Native stack for plugin code, in KiB.
    pub max_wasm_stack_kib: u32,
    /// Keep precompiled plugins on disk (in `cache_dir`, else the user cache dir).
    pub cache: bool,
    pub cache_dir: Option<PathBuf>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig { max_memory_mib: 512, max_instances: 256, max_wasm_stack_kib: 512, cache: true, cache_dir: None }
    }
}

/// The gateway itself (`[gateway]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Address of the Streamable HTTP endpoint (`/mcp`).
    pub listen: String,
    /// Auth providers tried in order (names of `[[plugins]]`); empty = no
    /// authentication, allowed only on loopback addresses.
    pub auth: Vec<String>,
    /// Guardrails run on every call's arguments, in order (names of `[[plugins]]`).
    pub input: Vec<String>,
    /// Guardrails run on every call's result, in order.
    pub output: Vec<String>,
    /// Guardrails run on every upstream tool definition at discovery; a tool they
    /// block is hidden from clients.
    pub tools: Vec<String>,
    /// Telemetry sinks (names of `[[plugins]]` of kind telemetry) receiving an audit
    /// event per stage of every call.
    pub telemetry: Vec<String>,
    /// `Host` header values accepted on `/mcp` (DNS-rebinding protection); add the
    /// public name when listening beyond loopback.
    pub allowed_hosts: Vec<String>,
    /// `Origin` header values accepted (browsers send one); `*` matches any port.
    pub allowed_origins: Vec<String>,
    /// How tool and prompt names are prefixed with their server's name.
    pub tool_prefix: ToolPrefix,
    /// Pin every tool definition by digest when first seen; hide a definition that
    /// later changes until `warden tools approve`.
    pub pin_tools: bool,
    /// Where pins are kept; default `$XDG_STATE_HOME/warden/tool-pins.json` (or
    /// `~/.local/state/warden/tool-pins.json`).
    pub pins_file: Option<PathBuf>,
    /// Authorization rules on top of the principals' scopes (`[[gateway.rules]]`,
    /// see [`crate::scope::Rule`]): applied to lists (hidden) and calls (refused).
    pub rules: Vec<crate::scope::Rule>,
    /// OAuth 2.1 resource-server metadata (MCP authorization spec): when set, the
    /// gateway publishes `/.well-known/oauth-protected-resource` and points to it
    /// from its 401 challenges, so clients can log in with the identity provider.
    pub oauth: Option<OAuthConfig>,
    /// Largest message a client may send (an HTTP body, a stdio line), in bytes;
    /// larger ones get HTTP 413 (stdio: a JSON-RPC error).
    pub max_body_bytes: usize,
    /// Deepest nesting of arrays and objects in a client's message.
    pub max_json_depth: usize,
    /// At shutdown (SIGTERM, Ctrl-C), how long calls in flight may take to finish
    /// while new ones are refused, in milliseconds.
    pub shutdown_grace_ms: u64,
    /// Rate and concurrency limits on tool calls, per principal (`[gateway.limits]`).
    pub limits: LimitsConfig,
    /// Seals the session ids given to clients (32 bytes, hex or base64; env
    /// `WARDEN_SESSION_KEY` when unset). Replicas that share it serve one another's
    /// sessions with no shared store (`warden_mcp::sessions`).
    pub session_key: Option<crate::session_key::SessionKey>,
    /// Earlier keys, still accepted on session ids but never used to seal (rotation).
    pub previous_session_keys: Vec<crate::session_key::SessionKey>,
    /// How long a sealed session id is honoured after `initialize`, in seconds.
    pub session_ttl_secs: u64,
    /// The operator's page at `/admin` (`[gateway.admin]`); off unless enabled.
    pub admin: AdminConfig,
}

/// `[gateway.admin]`: a read-only status page for operators at `/admin` (and
/// `/admin/status.json`) on the HTTP listener, behind a key of its own.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    pub enabled: bool,
    /// SHA-256 (hex) of the admin key; the key itself is never stored.
    pub key_sha256: Option<String>,
    /// How often the page reloads itself, in seconds (0: never).
    pub refresh_secs: u32,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig { enabled: false, key_sha256: None, refresh_secs: 10 }
    }
}

/// `[compat]`: compatibility with other gateways' clients.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompatConfig {
    /// Also offer the Enkrypt Secure MCP Gateway's meta-tools (`enkrypt_list_all_servers`,
    /// `enkrypt_secure_call_tools`, ...), each call going through Warden's pipeline.
    pub enkrypt_tools: bool,
}

/// `[gateway.limits]`: how much one principal (an API key id, a token subject;
/// `anonymous` without auth) may ask of the gateway. A tool call over a limit gets
/// JSON-RPC error -32029 with `data.retry_after_ms` and the upstream is not called.
/// The defaults bound concurrency, not rate: 64 calls in flight per principal (the
/// benchmarks' 64 clients on one key fit), no rate limit until one is set.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// How long a call over a concurrency limit (its principal's `max_concurrent`, its
    /// server's `max_concurrency`) waits for a slot before it is refused, in
    /// milliseconds; 0 refuses at once. At most `max_concurrent` calls of one
    /// principal wait at a time; more are refused at once.
    pub queue_timeout_ms: u64,
    /// Every principal's limits, unless an override matches it.
    pub per_principal: PrincipalLimits,
    /// Limits of particular principals or projects; the first match wins and the
    /// fields it leaves out keep `per_principal`'s.
    pub overrides: Vec<LimitOverride>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig { queue_timeout_ms: 5_000, per_principal: PrincipalLimits::default(), overrides: Vec::new() }
    }
}

/// One principal's limits: a token bucket (`rate`, `burst`) and calls in flight.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrincipalLimits {
    /// Sustained calls allowed: `"50/s"`, `"600/min"`, `"1000/h"`, or `"unlimited"`
    /// (the default).
    pub rate: String,
    /// Calls allowed at once above the sustained rate (the bucket's size); default
    /// the rate's calls per second rounded up (at least 1).
    pub burst: Option<u32>,
    /// Tool calls of one principal in flight at once.
    pub max_concurrent: u32,
}

impl Default for PrincipalLimits {
    fn default() -> Self {
        PrincipalLimits { rate: "unlimited".into(), burst: None, max_concurrent: 64 }
    }
}

/// `[[gateway.limits.overrides]]`: limits for one principal id or one project.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitOverride {
    /// The principal id it applies to (set this or `project`).
    pub principal: Option<String>,
    /// The project it applies to: every principal of that project, each on its own.
    pub project: Option<String>,
    pub rate: Option<String>,
    pub burst: Option<u32>,
    pub max_concurrent: Option<u32>,
}

/// A rate as calls per second: `"N/s"`, `"N/min"` or `"N/h"` (N > 0, decimals
/// allowed); `"unlimited"` is `None`.
pub fn parse_rate(text: &str) -> Result<Option<f64>, String> {
    let text = text.trim();
    if text == "unlimited" {
        return Ok(None);
    }
    let bad = || format!("{text:?} is not a rate such as \"50/s\", \"600/min\", \"1000/h\" or \"unlimited\"");
    let (n, unit) = text.split_once('/').ok_or_else(bad)?;
    let n: f64 = n.trim().parse().map_err(|_| bad())?;
    let seconds = match unit.trim() {
        "s" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        "h" | "hour" => 3600.0,
        _ => return Err(bad()),
    };
    let per_second = n / seconds;
    if !(n.is_finite() && n > 0.0) || per_second > 1_000_000.0 {
        return Err(format!("{text:?}: the rate must be above 0 and at most 1000000/s"));
    }
    Ok(Some(per_second))
}

/// `[gateway.oauth]`: what clients need to obtain a token for this gateway
/// (RFC 9728 protected resource metadata). Tokens are checked by an auth plugin
/// such as `auth-jwt`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthConfig {
    /// The gateway's public MCP URL, e.g. `https://mcp.example.com/mcp` (the token
    /// audience).
    pub resource: String,
    /// Issuer URLs of the authorization servers that issue tokens for it.
    pub authorization_servers: Vec<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
}

/// How upstream tool (and prompt) names are shown to clients.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ToolPrefix {
    /// `{server}__{tool}` for every tool: a name never changes when upstreams are
    /// added or removed.
    #[default]
    Always,
    /// The upstream's own name, prefixed only when several upstreams offer it.
    OnClash,
    /// The upstream's own name; on a clash the first server (in config order) keeps
    /// it and the others' tool is hidden (`warden check` lists clashes).
    Never,
}

impl std::fmt::Display for ToolPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ToolPrefix::Always => "always",
            ToolPrefix::OnClash => "on-clash",
            ToolPrefix::Never => "never",
        })
    }
}

impl std::str::FromStr for ToolPrefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "always" => Ok(ToolPrefix::Always),
            "on-clash" => Ok(ToolPrefix::OnClash),
            "never" => Ok(ToolPrefix::Never),
            other => Err(format!("unknown tool prefix mode {other:?} (always, on-clash, never)")),
        }
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            listen: "127.0.0.1:8808".into(),
            auth: Vec::new(),
            input: Vec::new(),
            output: Vec::new(),
            tools: Vec::new(),
            telemetry: Vec::new(),
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            allowed_origins: vec!["http://localhost:*".into(), "http://127.0.0.1:*".into(), "http://[::1]:*".into()],
            tool_prefix: ToolPrefix::Always,
            pin_tools: true,
            pins_file: None,
            rules: Vec::new(),
            oauth: None,
            max_body_bytes: 4 * 1024 * 1024,
            max_json_depth: 64,
            shutdown_grace_ms: 10_000,
            limits: LimitsConfig::default(),
            session_key: None,
            previous_session_keys: Vec::new(),
            session_ttl_secs: 86_400,
            admin: AdminConfig::default(),
        }
    }
}

/// An upstream MCP server (`[[servers]]`): a command run over stdio, or a
/// Streamable HTTP `url`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Prefix of its tools (`{name}__{tool}`): letters, digits, `-`, `_`; no `__`.
    pub name: String,
    /// Program to start (stdio transport).
    pub command: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment of the program, on top of the gateway's.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// Streamable HTTP endpoint (`http://` or `https://`).
    pub url: Option<String>,
    /// Headers sent with every HTTP request; use `${ENV_VAR}` for secrets.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Bearer token for the HTTP upstream; use `${ENV_VAR}`.
    pub bearer_token: Option<String>,
    /// Longest wait for one call, in milliseconds.
    #[serde(default = "default_call_timeout_ms")]
    pub call_timeout_ms: u64,
    /// Longest wait for the upstream to start and answer `initialize`, in
    /// milliseconds (generous: `npx` may download the server first).
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Calls in flight to this upstream at once; more wait their turn for at most
    /// `gateway.limits.queue_timeout_ms`, then are refused (-32029).
    #[serde(default = "default_max_concurrency")]
    pub max_concurrency: u32,
    /// Sustained calls sent to this upstream, all principals together: `"20/s"`,
    /// `"600/min"`, ...; unset = no rate limit. Calls over it are refused (-32029).
    pub rate: Option<String>,
    /// Calls allowed at once above `rate` (default: its calls per second, at least 1).
    pub burst: Option<u32>,
    /// This server's own guardrail chains, replacing `gateway.input` / `output` /
    /// `tools` for it (e.g. a stricter policy for a filesystem server).
    pub input: Option<Vec<String>>,
    pub output: Option<Vec<String>>,
    pub tools: Option<Vec<String>>,
}

fn default_call_timeout_ms() -> u64 {
    30_000
}

fn default_connect_timeout_ms() -> u64 {
    60_000
}

fn default_max_concurrency() -> u32 {
    16
}

/// `warden.toml` as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub gateway: GatewayConfig,
    #[serde(default)]
    pub servers: Vec<UpstreamConfig>,
    #[serde(default)]
    pub sandbox: SandboxConfig,
    #[serde(default)]
    pub plugins: Vec<RawPluginSpec>,
    #[serde(default)]
    pub compat: CompatConfig,
}

/// A validated config.
#[derive(Debug, Clone)]
pub struct Config {
    pub gateway: GatewayConfig,
    pub servers: Vec<UpstreamConfig>,
    pub sandbox: SandboxConfig,
    pub plugins: Vec<PluginSpec>,
    pub compat: CompatConfig,
}

/// Whether `name` can prefix tool names: non-empty, at most 32 of `[A-Za-z0-9_-]`,
/// and no `__` (so `{server}__{tool}` splits back unambiguously).
pub fn valid_server_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !name.contains("__")
}

impl Config {
    /// Parse and validate `text`, replacing `${NAME}` in strings with `env(NAME)`
    /// (`$$` is a literal `$`).
    pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
        let one = |path: &str, message: String| ConfigErrors(vec![ConfigError { path: path.into(), message }]);
        let mut value: toml::Value = toml::from_str(text).map_err(|e| one("warden.toml", e.to_string()))?;
        let mut errors = Vec::new();
        interpolate(&mut value, &mut String::new(), env, &mut errors);
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        let raw = RawConfig::deserialize(value).map_err(|e| one("warden.toml", e.to_string()))?;
        let plugins = validate_plugins(&raw.plugins);
        let mut errors = plugins.as_ref().err().map(|e| e.0.clone()).unwrap_or_default();
        let s = &raw.sandbox;
        if !(1..=4096).contains(&s.max_memory_mib) {
            errors.push(ConfigError {
                path: "sandbox.max_memory_mib".into(),
                message: format!("{} is outside 1..=4096", s.max_memory_mib),
            });
        }
        if !(1..=10_000).contains(&s.max_instances) {
            errors.push(ConfigError {
                path: "sandbox.max_instances".into(),
                message: format!("{} is outside 1..=10000", s.max_instances),
            });
        }
        if !(64..=65_536).contains(&s.max_wasm_stack_kib) {
            errors.push(ConfigError {
                path: "sandbox.max_wasm_stack_kib".into(),
                message: format!("{} is outside 64..=65536", s.max_wasm_stack_kib),
            });
        }
        for (i, p) in raw.plugins.iter().enumerate() {
            if p.limits.memory_mib > s.max_memory_mib {
                errors.push(ConfigError {
                    path: format!("plugins[{i}].limits.memory_mib"),
                    message: format!("{} exceeds sandbox.max_memory_mib = {}", p.limits.memory_mib, s.max_memory_mib),
                });
            }
        }
        check_gateway(&raw, &mut errors);
        match plugins {
            Ok(plugins) if errors.is_empty() => Ok(Config {
                gateway: raw.gateway,
                servers: raw.servers,
                sandbox: raw.sandbox,
                plugins,
                compat: raw.compat,
            }),
            _ => {
                errors.sort_by(|a, b| a.path.cmp(&b.path));
                Err(ConfigErrors(errors))
            }
        }
    }
}

fn check_gateway(raw: &RawConfig, errors: &mut Vec<ConfigError>) {
    let mut err = |path: String, message: String| errors.push(ConfigError { path, message });
    if raw.gateway.max_body_bytes < 1024 {
        err("gateway.max_body_bytes".into(), "must be at least 1024 (an initialize request)".into());
    }
    // serde_json stops at 128 levels; the gateway's limit must be the one that applies.
    if raw.gateway.shutdown_grace_ms > 600_000 {
        err("gateway.shutdown_grace_ms".into(), "must be at most 600000 (10 minutes)".into());
    }
    if !(8..=128).contains(&raw.gateway.max_json_depth) {
        err("gateway.max_json_depth".into(), "must be between 8 and 128".into());
    }
    let keys = raw.gateway.session_key.iter().map(|k| ("gateway.session_key".to_string(), k));
    let previous = raw.gateway.previous_session_keys.iter().enumerate();
    for (path, key) in keys.chain(previous.map(|(i, k)| (format!("gateway.previous_session_keys[{i}]"), k))) {
        if let Err(message) = key.bytes() {
            err(path, message);
        }
    }
    if !(60..=30 * 86_400).contains(&raw.gateway.session_ttl_secs) {
        err("gateway.session_ttl_secs".into(), "must be between 60 and 2592000 (30 days)".into());
    }
    check_limits(&raw.gateway.limits, &mut err);
    let admin = &raw.gateway.admin;
    let hex_digest = |h: &str| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit());
    match &admin.key_sha256 {
        Some(h) if !hex_digest(h) => {
            err("gateway.admin.key_sha256".into(), "must be the SHA-256 of the admin key, 64 hex digits".into())
        }
        None if admin.enabled => {
            err("gateway.admin.key_sha256".into(), "required when the admin page is enabled".into())
        }
        _ => {}
    }
    if admin.refresh_secs > 3600 {
        err("gateway.admin.refresh_secs".into(), "must be at most 3600 (0: no auto-refresh)".into());
    }
    if raw.gateway.listen.parse::<std::net::SocketAddr>().is_err() {
        err("gateway.listen".into(), format!("{:?} is not an address such as 127.0.0.1:8808", raw.gateway.listen));
    }
    use crate::PluginKind::{Guardrail, Telemetry};
    let lists = [
        ("input", &raw.gateway.input, Guardrail),
        ("output", &raw.gateway.output, Guardrail),
        ("tools", &raw.gateway.tools, Guardrail),
        ("telemetry", &raw.gateway.telemetry, Telemetry),
    ];
    let per_server: Vec<(String, &Vec<String>)> = raw
        .servers
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            [("input", &s.input), ("output", &s.output), ("tools", &s.tools)]
                .into_iter()
                .filter_map(move |(stage, list)| list.as_ref().map(|l| (format!("servers[{i}].{stage}"), l)))
        })
        .collect();
    let lists = lists
        .into_iter()
        .map(|(list, names, kind)| (format!("gateway.{list}"), names, kind))
        .chain(per_server.into_iter().map(|(path, names)| (path, names, Guardrail)));
    for (list, names, kind) in lists {
        for (i, name) in names.iter().enumerate() {
            match raw.plugins.iter().find(|p| &p.name == name) {
                None => err(format!("{list}[{i}]"), format!("no [[plugins]] entry named {name:?}")),
                Some(p) if p.kind != kind => {
                    err(format!("{list}[{i}]"), format!("plugin {name:?} is a {} plugin, not a {kind} plugin", p.kind))
                }
                Some(_) => {}
            }
        }
    }
    for (i, rule) in raw.gateway.rules.iter().enumerate() {
        if rule.tools.is_empty() || rule.tools.iter().any(|t| t.is_empty()) {
            err(format!("gateway.rules[{i}].tools"), "name the tools covered (SERVER/TOOL globs)".into());
        }
    }
    if let Some(o) = &raw.gateway.oauth {
        let url = |u: &str| {
            u.starts_with("https://") || u.starts_with("http://localhost") || u.starts_with("http://127.0.0.1")
        };
        if !url(&o.resource) {
            err("gateway.oauth.resource".into(), format!("{:?} is not an https:// URL", o.resource));
        }
        if o.authorization_servers.is_empty() {
            err("gateway.oauth.authorization_servers".into(), "name at least one issuer".into());
        }
        for (i, a) in o.authorization_servers.iter().enumerate() {
            if !url(a) {
                err(format!("gateway.oauth.authorization_servers[{i}]"), format!("{a:?} is not an https:// URL"));
            }
        }
    }
    for (i, s) in raw.servers.iter().enumerate() {
        if !valid_server_name(&s.name) {
            err(format!("servers[{i}].name"), format!("{:?}: use 1-32 of A-Z a-z 0-9 - _ without \"__\"", s.name));
        }
        if raw.servers[..i].iter().any(|o| o.name == s.name) {
            err(format!("servers[{i}].name"), format!("duplicate server name {:?}", s.name));
        }
        match (&s.command, &s.url) {
            (Some(c), None) if c.is_empty() => err(format!("servers[{i}].command"), "empty".into()),
            (Some(_), None) => {
                if !s.headers.is_empty() || s.bearer_token.is_some() {
                    err(format!("servers[{i}].headers"), "headers and bearer_token apply to url upstreams".into());
                }
            }
            (None, Some(u)) => {
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    err(format!("servers[{i}].url"), format!("{u:?} is not an http:// or https:// URL"));
                }
                if !s.args.is_empty() || !s.env.is_empty() {
                    err(format!("servers[{i}].args"), "args and env apply to command upstreams".into());
                }
            }
            _ => err(format!("servers[{i}]"), "set exactly one of command (stdio) or url (Streamable HTTP)".into()),
        }
        for name in s.headers.keys() {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)) {
                err(format!("servers[{i}].headers"), format!("{name:?} is not a header name"));
            }
        }
        if !(1..=10_000).contains(&s.max_concurrency) {
            err(format!("servers[{i}].max_concurrency"), format!("{} is outside 1..=10000", s.max_concurrency));
        }
        check_rate(&format!("servers[{i}]"), s.rate.as_deref(), s.burst, &mut err);
        if !(1..=3_600_000).contains(&s.call_timeout_ms) {
            err(format!("servers[{i}].call_timeout_ms"), format!("{} is outside 1..=3600000", s.call_timeout_ms));
        }
        if !(1..=3_600_000).contains(&s.connect_timeout_ms) {
            err(format!("servers[{i}].connect_timeout_ms"), format!("{} is outside 1..=3600000", s.connect_timeout_ms));
        }
    }
}

/// `[gateway.limits]`: rates parse, bursts and concurrency are in range, each
/// override names exactly one principal or project.
fn check_limits(limits: &LimitsConfig, err: &mut impl FnMut(String, String)) {
    if limits.queue_timeout_ms > 600_000 {
        err("gateway.limits.queue_timeout_ms".into(), "must be at most 600000 (10 minutes)".into());
    }
    let p = &limits.per_principal;
    check_rate("gateway.limits.per_principal", Some(&p.rate), p.burst, err);
    if !(1..=10_000).contains(&p.max_concurrent) {
        err("gateway.limits.per_principal.max_concurrent".into(), format!("{} is outside 1..=10000", p.max_concurrent));
    }
    for (i, o) in limits.overrides.iter().enumerate() {
        let path = format!("gateway.limits.overrides[{i}]");
        match (&o.principal, &o.project) {
            (Some(id), None) | (None, Some(id)) if !id.is_empty() => {}
            _ => err(path.clone(), "set exactly one of principal or project (non-empty)".into()),
        }
        // An override without a rate keeps per_principal's, so its burst applies to that
        // (unless that one is invalid: reported above).
        match &o.rate {
            Some(rate) => check_rate(&path, Some(rate), o.burst, err),
            None if parse_rate(&p.rate).is_ok() => check_rate(&path, Some(&p.rate), o.burst, err),
            None => {}
        }
        if let Some(n) = o.max_concurrent
            && !(1..=10_000).contains(&n)
        {
            err(format!("{path}.max_concurrent"), format!("{n} is outside 1..=10000"));
        }
    }
}

/// A `rate` (absent = unlimited) and its `burst`, at `path`.
fn check_rate(path: &str, rate: Option<&str>, burst: Option<u32>, err: &mut impl FnMut(String, String)) {
    let rate = match rate.map(parse_rate) {
        Some(Err(message)) => return err(format!("{path}.rate"), message),
        Some(Ok(rate)) => rate,
        None => None,
    };
    match (rate, burst) {
        (None, Some(_)) => err(format!("{path}.burst"), "applies to a rate; set rate too".into()),
        (Some(_), Some(b)) if !(1..=1_000_000).contains(&b) => {
            err(format!("{path}.burst"), format!("{b} is outside 1..=1000000"))
        }
        _ => {}
    }
}

fn interpolate(
    v: &mut toml::Value,
    path: &mut String,
    env: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<ConfigError>,
) {
    match v {
        toml::Value::String(s) if s.contains('$') => match substitute(s, env) {
            Ok(new) => *s = new,
            Err(message) => errors.push(ConfigError { path: path.clone(), message }),
        },
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                interpolate(item, path, env, errors);
                path.truncate(len);
            }
        }
        toml::Value::Table(t) => {
            for (k, item) in t.iter_mut() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                interpolate(item, path, env, errors);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Replace `${NAME}` with the variable's value; `$$` is a literal `$`. The error
/// names the variable, never a value.
fn substitute(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if let Some(r) = rest.strip_prefix("$$") {
            out.push('$');
            rest = r;
        } else if let Some(r) = rest.strip_prefix("${") {
            let end = r.find('}').ok_or_else(|| "unterminated ${ in string".to_string())?;
            let name = &r[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("${{{name}}} is not a valid variable reference"));
            }
            out.push_str(&env(name).ok_or_else(|| format!("environment variable {name} is not set"))?);
            rest = &r[end + 1..];
        } else {
            out.push('$');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "TOKEN").then(|| "s3cret".to_string())
    }

    #[test]
    fn env_vars_are_interpolated_in_strings() {
        let c = Config::parse(
            "[[plugins]]\nname = \"a\"\nkind = \"guardrail\"\nsource = \"builtin:a\"\nconfig = { key = \"${TOKEN}\", price = \"$$5\" }\n",
            &env,
        )
        .expect("valid");
        assert_eq!(c.plugins[0].config["key"], "s3cret");
        assert_eq!(c.plugins[0].config["price"], "$5");
    }

    #[test]
    fn missing_env_var_is_an_error_at_its_path_without_values() {
        let err = Config::parse(
            "[[plugins]]\nname = \"a\"\nkind = \"auth\"\nsource = \"builtin:a\"\nconfig = { k = \"${NOPE}\" }\n",
            &env,
        )
        .expect_err("missing var");
        assert_eq!(err.to_string(), "plugins[0].config.k: environment variable NOPE is not set");
    }

    #[test]
    fn sandbox_and_plugin_errors_are_reported_together() {
        let err = Config::parse(
            "[sandbox]\nmax_memory_mib = 32\n[[plugins]]\nname = \"a\"\nkind = \"auth\"\nsource = \"builtin:a\"\nlimits = { memory_mib = 64, fuel = 0 }\n",
            &env,
        )
        .expect_err("invalid");
        let paths: Vec<_> = err.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["plugins[0].limits.fuel", "plugins[0].limits.memory_mib"]);
    }

    #[test]
    fn message_limits_are_bounded() {
        let ok = Config::parse("[gateway]\nmax_body_bytes = 65536\nmax_json_depth = 32\n", &env).expect("valid");
        assert_eq!((ok.gateway.max_body_bytes, ok.gateway.max_json_depth), (65536, 32));
        let err = Config::parse("[gateway]\nmax_body_bytes = 10\nmax_json_depth = 1000\n", &env).expect_err("invalid");
        let paths: Vec<_> = err.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["gateway.max_body_bytes", "gateway.max_json_depth"]);
    }

    #[test]
    fn gateway_and_servers_are_validated() {
        let err = Config::parse(
            r#"
            [gateway]
            listen = "nowhere"
            input = ["missing", "audit"]
            [[servers]]
            name = "a__b"
            command = ""
            [[servers]]
            name = "both"
            command = "x"
            url = "http://x"
            [[servers]]
            name = "web"
            url = "ftp://x"
            [[servers]]
            name = "ok"
            command = "x"
            [[servers]]
            name = "ok"
            command = "y"
            output = ["audit"]
            [[gateway.rules]]
            effect = "deny"
            tools = []
            [[plugins]]
            name = "audit"
            kind = "telemetry"
            source = "builtin:telemetry-audit"
            "#,
            &env,
        )
        .expect_err("invalid");
        let paths: Vec<_> = err.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "gateway.input[0]",
                "gateway.input[1]",
                "gateway.listen",
                "gateway.rules[0].tools",
                "servers[0].command",
                "servers[0].name",
                "servers[1]",
                "servers[2].url",
                "servers[4].name",
                "servers[4].output[0]"
            ]
        );
    }

    #[test]
    fn shipped_examples_are_valid() {
        let env = |name: &str| Some(format!("<{name}>"));
        for (name, text) in [
            ("everything.toml", include_str!("../../../config/examples/everything.toml")),
            ("two-upstreams.toml", include_str!("../../../config/examples/two-upstreams.toml")),
        ] {
            let c = Config::parse(text, &env).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!c.servers.is_empty(), "{name}");
        }
    }

    #[test]
    fn admin_page_and_compat_are_off_by_default_and_validated() {
        let c = Config::parse("", &env).expect("valid");
        assert!(!c.gateway.admin.enabled && !c.compat.enkrypt_tools);
        let c = Config::parse("[compat]\nenkrypt_tools = true", &env).expect("valid");
        assert!(c.compat.enkrypt_tools);
        let e = Config::parse("[gateway.admin]\nenabled = true", &env).expect_err("no key");
        assert_eq!(e.0[0].path, "gateway.admin.key_sha256");
        let e = Config::parse("[gateway.admin]\nenabled = true\nkey_sha256 = \"abc\"\nrefresh_secs = 9999", &env)
            .expect_err("bad");
        let paths: Vec<&str> = e.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["gateway.admin.key_sha256", "gateway.admin.refresh_secs"]);
        assert!(Config::parse("[compat]\nother = 1", &env).is_err(), "unknown keys are refused");
    }

    #[test]
    fn rates_read_per_second_minute_or_hour() {
        assert_eq!(parse_rate("50/s"), Ok(Some(50.0)));
        assert_eq!(parse_rate("600/min"), Ok(Some(10.0)));
        assert_eq!(parse_rate(" 1800 / h "), Ok(Some(0.5)));
        assert_eq!(parse_rate("unlimited"), Ok(None));
        for bad in ["50", "50/day", "-1/s", "0/s", "nan/s", "inf/s", "x/s", "2000000/s"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_default_to_bounded_concurrency_and_are_validated() {
        let c = Config::parse("", &env).expect("valid");
        let l = &c.gateway.limits;
        assert_eq!(
            (l.per_principal.rate.as_str(), l.per_principal.max_concurrent, l.queue_timeout_ms),
            ("unlimited", 64, 5000)
        );
        let ok = Config::parse(
            r#"
            [gateway.limits]
            queue_timeout_ms = 0
            per_principal = { rate = "50/s", burst = 100, max_concurrent = 16 }
            overrides = [{ principal = "ci", rate = "5/min" }, { project = "batch", max_concurrent = 2 }]
            [[servers]]
            name = "a"
            command = "x"
            rate = "20/s"
            burst = 40
            "#,
            &env,
        )
        .expect("valid");
        assert_eq!(ok.gateway.limits.overrides[1].max_concurrent, Some(2));
        assert_eq!(ok.servers[0].rate.as_deref(), Some("20/s"));
        let err = Config::parse(
            r#"
            [gateway.limits]
            queue_timeout_ms = 9999999
            per_principal = { rate = "fast", max_concurrent = 0 }
            overrides = [{ rate = "1/s" }, { principal = "x", project = "y", burst = 0 }, { principal = "z", max_concurrent = 20000 }, { principal = "w", rate = "1/s", burst = 0 }]
            [[servers]]
            name = "a"
            command = "x"
            burst = 4
            "#,
            &env,
        )
        .expect_err("invalid");
        let paths: Vec<_> = err.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "gateway.limits.overrides[0]",
                "gateway.limits.overrides[1]",
                "gateway.limits.overrides[2].max_concurrent",
                "gateway.limits.overrides[3].burst",
                "gateway.limits.per_principal.max_concurrent",
                "gateway.limits.per_principal.rate",
                "gateway.limits.queue_timeout_ms",
                "servers[0].burst"
            ]
        );
        assert!(err.to_string().contains("\"fast\" is not a rate such as \"50/s\""), "{err}");
    }

    #[test]
    fn unknown_sections_are_refused() {
        let err = Config::parse("[sandboxx]\n", &env).expect_err("unknown");
        assert!(err.to_string().contains("sandboxx"), "{err}");
    }

    #[test]
    fn the_shipped_default_config_is_valid() {
        let text = include_str!("../../../config/warden.toml");
        let exe = |name: &str| match name {
            "WARDEN_EXE" => Some("/usr/bin/warden".to_string()),
            "WARDEN_API_KEY_SHA256" => Some("ab".repeat(32)),
            "WARDEN_KEYS_FILE" => Some("/home/u/.config/warden/keys.json".to_string()),
            _ => None,
        };
        let c = Config::parse(text, &exe).expect("default config valid");
        assert!(!c.plugins.is_empty());
        assert_eq!(c.servers[0].command.as_deref(), Some("/usr/bin/warden"));
    }
}
