//! `warden import enkrypt FILE`: turns the config of Enkrypt AI's Secure MCP Gateway
//! (`~/.enkrypt/enkrypt_mcp_config.json`) into a `warden.toml`, with a report of every
//! mapping and of every setting that has no Warden equivalent.
//!
//! What moves: upstream servers (command, args, env; `tools` allow-lists become
//! `[[gateway.rules]]`), guardrail policies per server (local detectors to the builtin
//! guardrails, Enkrypt-only detectors to `guard-remote` calling Enkrypt's policy API
//! with `${ENKRYPT_API_KEY}`), API keys (hashed here with SHA-256, as `warden keys
//! create` stores them: the plain key is never written, printed or logged), projects
//! and users (a key's principal is its user's email, its project the project's name,
//! its scopes the servers of the project's MCP config), and timeouts that have a
//! counterpart. The input is read as untyped JSON so that every problem can be
//! reported with its path; API keys are named by position, never by value.

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum ImportCommand {
    /// Convert an Enkrypt Secure MCP Gateway config (enkrypt_mcp_config.json) into
    /// warden.toml. API keys are stored as SHA-256 hashes only; the report (stderr, or
    /// --report) lists every mapping and every setting that could not be carried over.
    Enkrypt(EnkryptArgs),
}

#[derive(clap::Args)]
pub struct EnkryptArgs {
    /// The Enkrypt config; default ~/.enkrypt/enkrypt_mcp_config.json.
    file: Option<PathBuf>,
    /// Write warden.toml here (refused if it exists, unless --force); stdout when absent.
    #[arg(long, short, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Write the report to this file instead of stderr.
    #[arg(long, value_name = "PATH")]
    report: Option<PathBuf>,
    /// Overwrite --out (and --report) if they exist.
    #[arg(long)]
    force: bool,
    /// Do not call Enkrypt's API: detectors only it offers (toxicity, nsfw, bias,
    /// topics, policy_violation, ...) are left out and listed in the report.
    #[arg(long)]
    local_only: bool,
}

/// Run `warden import enkrypt`.
pub fn run(command: ImportCommand) -> Result<ExitCode> {
    let ImportCommand::Enkrypt(args) = command;
    let file = match args.file {
        Some(f) => f,
        None => default_enkrypt_config().context("no FILE given and no home directory to find the default in")?,
    };
    for target in [&args.out, &args.report].into_iter().flatten() {
        if target.exists() && !args.force {
            bail!("{} exists; pass --force to overwrite it", target.display());
        }
    }
    let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let json: Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not valid JSON: line {}, column {}", file.display(), e.line(), e.column()))?;
    let options = Options { local_only: args.local_only, source: file.display().to_string() };
    let (toml, report) = convert(&json, &options).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let destination = match &args.out {
        Some(out) => {
            write_private(out, toml.as_bytes())?;
            out.display().to_string()
        }
        None => {
            print!("{toml}");
            "stdout".to_string()
        }
    };
    let report = report.render(&options.source, &destination);
    match &args.report {
        Some(path) => write_private(path, report.as_bytes())?,
        None => eprint!("{report}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `~/.enkrypt/enkrypt_mcp_config.json`.
fn default_enkrypt_config() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".enkrypt/enkrypt_mcp_config.json"))
}

/// Owner-only: the output holds the servers' environment, which may carry tokens.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))
}

pub struct Options {
    pub local_only: bool,
    pub source: String,
}

/// What the import did, for the operator.
#[derive(Default)]
pub struct Report {
    /// `Enkrypt setting → Warden setting`.
    mapped: Vec<(String, String)>,
    /// `Enkrypt setting`, why it is not carried over.
    unmapped: Vec<(String, String)>,
    /// What to do before starting the gateway.
    todo: Vec<String>,
}

impl Report {
    fn map(&mut self, from: impl Into<String>, to: impl Into<String>) {
        self.mapped.push((from.into(), to.into()));
    }
    fn skip(&mut self, from: impl Into<String>, why: impl Into<String>) {
        self.unmapped.push((from.into(), why.into()));
    }

    pub fn render(&self, source: &str, destination: &str) -> String {
        let mut out = format!("Imported {source} into {destination}.\n\nMapped:\n");
        for (from, to) in &self.mapped {
            let _ = writeln!(out, "  {from}\n      -> {to}");
        }
        out.push_str("\nNot carried over:\n");
        if self.unmapped.is_empty() {
            out.push_str("  (nothing)\n");
        }
        for (from, why) in &self.unmapped {
            let _ = writeln!(out, "  {from}\n      {why}");
        }
        if !self.todo.is_empty() {
            out.push_str("\nBefore starting Warden:\n");
            for t in &self.todo {
                let _ = writeln!(out, "  - {t}");
            }
        }
        out
    }
}

/// A problem in the input, at a JSON path.
#[derive(Debug)]
pub struct InputError {
    path: String,
    message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

fn bad(path: impl Into<String>, message: impl Into<String>) -> InputError {
    InputError { path: path.into(), message: message.into() }
}

type R<T> = std::result::Result<T, InputError>;

fn object<'a>(v: &'a Value, path: &str) -> R<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| bad(path, format!("expected an object, found {}", kind(v))))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn opt_str<'a>(m: &'a Map<String, Value>, key: &str, path: &str) -> R<Option<&'a str>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(bad(format!("{path}.{key}"), format!("expected a string, found {}", kind(v)))),
    }
}

fn opt_bool(m: &Map<String, Value>, key: &str, path: &str) -> R<Option<bool>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(bad(format!("{path}.{key}"), format!("expected true or false, found {}", kind(v)))),
    }
}

fn str_list(v: Option<&Value>, path: &str) -> R<Vec<String>> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                item.as_str().map(str::to_string).ok_or_else(|| bad(format!("{path}[{i}]"), "expected a string"))
            })
            .collect(),
        Some(v) => Err(bad(path, format!("expected a list of strings, found {}", kind(v)))),
    }
}

/// Seconds (a number) at `path`, if set.
fn opt_secs(m: &Map<String, Value>, key: &str, path: &str) -> R<Option<f64>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Some)
            .ok_or_else(|| bad(format!("{path}.{key}"), "expected a positive number of seconds")),
        Some(v) => Err(bad(format!("{path}.{key}"), format!("expected a number, found {}", kind(v)))),
    }
}

/// Detectors Enkrypt's policy API runs that Warden has no local equivalent for.
const REMOTE_ONLY: &[&str] =
    &["toxicity", "nsfw", "bias", "topic_detector", "policy_violation", "sponge_attack", "keyword_detector"];

/// One upstream as Warden will serve it.
struct Server {
    name: String,
    description: Option<String>,
    command: Option<String>,
    args: Vec<String>,
    env: BTreeMap<String, String>,
    url: Option<String>,
    /// Tool names of a non-empty Enkrypt `tools` map: the only ones served.
    allowed_tools: Vec<String>,
    input: Vec<String>,
    output: Vec<String>,
    tools: Vec<String>,
    /// Comments written above the chains (what was left out and why).
    notes: Vec<String>,
    /// The server's definition as read, to tell a shared server from a name clash.
    fingerprint: String,
}

/// A guard-remote instance: one per Enkrypt policy name and blocking detectors.
struct Remote {
    name: String,
    policy: Option<String>,
    block: Vec<String>,
}

/// Everything the TOML is written from.
#[derive(Default)]
struct Plan {
    servers: Vec<Server>,
    keys: Vec<Key>,
    remotes: Vec<Remote>,
    /// guard-policy rules, as TOML inline tables.
    policy_rules: Vec<String>,
    /// Enkrypt's guardrail API: `scheme://host[:port]` and the host (for the grant).
    api_base: String,
    api_host: String,
    guardrail_timeout_ms: u64,
    call_timeout_ms: Option<u64>,
    connect_timeout_ms: Option<u64>,
    otlp_endpoint: Option<String>,
    used: std::collections::BTreeSet<&'static str>,
}

struct Key {
    id: String,
    sha256: String,
    project: Option<String>,
    scopes: Vec<String>,
    disabled: bool,
    /// Which key of the input, by position (never the key itself).
    origin: String,
}

/// Convert the parsed Enkrypt config: the TOML text and the report.
pub fn convert(json: &Value, options: &Options) -> R<(String, Report)> {
    let mut report = Report::default();
    let mut plan = Plan {
        api_base: "https://api.enkryptai.com".into(),
        api_host: "api.enkryptai.com".into(),
        guardrail_timeout_ms: 15_000,
        ..Plan::default()
    };
    let root = object(json, "(top level)")?;
    if !root.contains_key("mcp_configs") {
        return Err(bad(
            "mcp_configs",
            "missing: this does not look like an Enkrypt gateway config (enkrypt_mcp_config.json)",
        ));
    }
    for key in root.keys() {
        match key.as_str() {
            "common_mcp_gateway_config" | "plugins" | "mcp_configs" | "projects" | "users" | "apikeys" => {}
            "admin_apikey" => report.skip(
                "admin_apikey",
                "Warden has no admin REST API; keys are managed with `warden keys create|list|revoke` (the value is not copied)",
            ),
            other => report.skip(other, "unknown top-level setting"),
        }
    }
    if let Some(common) = root.get("common_mcp_gateway_config") {
        read_common(object(common, "common_mcp_gateway_config")?, &mut plan, &mut report)?;
    }
    let remote_enabled = match root.get("plugins") {
        Some(plugins) => read_plugins(object(plugins, "plugins")?, &mut plan, &mut report, options)?,
        None => !options.local_only,
    };
    let config_servers =
        read_mcp_configs(object(&root["mcp_configs"], "mcp_configs")?, &mut plan, &mut report, remote_enabled)?;
    read_keys(root, &config_servers, &mut plan, &mut report)?;
    if plan.remotes.is_empty() {
        plan.used.remove("remote");
    } else {
        report.todo.push(format!(
            "export ENKRYPT_API_KEY=<your Enkrypt API key>: the {} guard-remote plugin(s) send it to {} (the key in the Enkrypt file is not copied)",
            plan.remotes.len(),
            plan.api_base
        ));
    }
    let toml = render(&plan, options);
    // The output must load; a failure here is a bug in this module, not in the input.
    let any_var = |_: &str| Some("x".to_string());
    if let Err(e) = warden_core::config::Config::parse(&toml, &any_var) {
        return Err(bad("(output)", format!("the generated warden.toml does not validate ({e}); please report this")));
    }
    Ok((toml, report))
}

fn read_common(common: &Map<String, Value>, plan: &mut Plan, report: &mut Report) -> R<()> {
    let path = "common_mcp_gateway_config";
    for (key, value) in common {
        let at = format!("{path}.{key}");
        match key.as_str() {
            "enkrypt_log_level" => {
                let level = value.as_str().unwrap_or("INFO").to_ascii_lowercase();
                let level = match level.as_str() {
                    "critical" => "error".to_string(),
                    "warning" => "warn".to_string(),
                    _ => level,
                };
                report.skip(at, format!("not a config setting in Warden: set RUST_LOG={level} in the gateway's environment"));
            }
            "enkrypt_use_remote_mcp_config" if value.as_bool() == Some(true) => report.skip(
                at,
                "true: your servers were fetched from Enkrypt's platform, so only those in this file were imported; add the rest as [[servers]]",
            ),
            "enkrypt_use_remote_mcp_config" | "enkrypt_remote_mcp_gateway_name" | "enkrypt_remote_mcp_gateway_version" => {
                report.skip(at, "Warden reads its servers from warden.toml only (no remote config service)")
            }
            "enkrypt_mcp_use_external_cache"
            | "enkrypt_cache_host"
            | "enkrypt_cache_port"
            | "enkrypt_cache_db"
            | "enkrypt_tool_cache_expiration"
            | "enkrypt_gateway_cache_expiration" => report.skip(
                at,
                "no cache to configure: Warden keeps one live session per upstream and its tool list in memory, refreshed on tools/list_changed",
            ),
            "enkrypt_cache_password" => report.skip(at, "no cache to configure (the password is not copied)"),
            "enkrypt_async_input_guardrails_enabled" | "enkrypt_async_output_guardrails_enabled" => report.skip(
                at,
                "Warden always runs guardrails before the call proceeds (a guardrail that does not answer in time blocks it); there is no asynchronous mode",
            ),
            "timeout_settings" => read_timeouts(object(value, &at)?, plan, report)?,
            _ => report.skip(at, "unknown setting"),
        }
    }
    Ok(())
}

fn ms(secs: f64) -> u64 {
    // Clamped to what warden.toml accepts (1 ms ..= 1 h).
    ((secs * 1000.0).round() as u64).clamp(1, 3_600_000)
}

fn read_timeouts(t: &Map<String, Value>, plan: &mut Plan, report: &mut Report) -> R<()> {
    let path = "common_mcp_gateway_config.timeout_settings";
    for key in t.keys() {
        let at = format!("{path}.{key}");
        match key.as_str() {
            "tool_execution_timeout" => {
                if let Some(s) = opt_secs(t, key, path)? {
                    plan.call_timeout_ms = Some(ms(s));
                    report.map(at, format!("servers[].call_timeout_ms = {}", ms(s)));
                }
            }
            "discovery_timeout" => {
                if let Some(s) = opt_secs(t, key, path)? {
                    plan.connect_timeout_ms = Some(ms(s));
                    report.map(at, format!("servers[].connect_timeout_ms = {} (start + initialize)", ms(s)));
                }
            }
            "guardrail_timeout" => {
                if let Some(s) = opt_secs(t, key, path)? {
                    plan.guardrail_timeout_ms = ms(s).min(600_000);
                    report.map(
                        at,
                        format!("guard-remote timeout_ms and limits.deadline_ms = {}", plan.guardrail_timeout_ms),
                    );
                }
            }
            "default_timeout" | "auth_timeout" | "cache_timeout" | "connectivity_timeout" => report.skip(
                at,
                "no counterpart: local plugins run under their own sandbox deadline (limits.deadline_ms, 1 s by default) and there is no cache or connectivity probe",
            ),
            "escalation_policies" => report.skip(at, "no counterpart: a call past its timeout simply fails"),
            _ => report.skip(at, "unknown setting"),
        }
    }
    Ok(())
}

/// `plugins`: auth, guardrails, telemetry providers. Returns whether guard-remote
/// is to be configured for Enkrypt-only detectors.
fn read_plugins(plugins: &Map<String, Value>, plan: &mut Plan, report: &mut Report, options: &Options) -> R<bool> {
    let mut remote = !options.local_only;
    for (kind, entry) in plugins {
        let path = format!("plugins.{kind}");
        let entry = object(entry, &path)?;
        let provider = opt_str(entry, "provider", &path)?.unwrap_or("");
        let config = match entry.get("config") {
            Some(c) if !c.is_null() => Some(object(c, &format!("{path}.config"))?),
            _ => None,
        };
        match (kind.as_str(), provider) {
            ("auth", "local_apikey") => report
                .map(format!("{path}.provider = local_apikey"), "builtin:auth-apikey (gateway.auth = [\"apikey\"])"),
            ("auth", "enkrypt") => {
                report.map(format!("{path}.provider = enkrypt"), "builtin:auth-apikey (gateway.auth = [\"apikey\"])");
                report.skip(
                    format!("{path}.provider = enkrypt"),
                    "Warden checks keys locally; keys that exist only on Enkrypt's platform are not in this file: create them with `warden keys create` (the keys listed under apikeys were imported)",
                );
            }
            ("auth", other) => report.skip(
                format!("{path}.provider = {other}"),
                "unknown auth provider: builtin:auth-apikey is configured instead (or use builtin:auth-jwt)",
            ),
            ("guardrails", "enkrypt") => {
                if let Some(c) = config {
                    if let Some(base) = opt_str(c, "base_url", &format!("{path}.config"))? {
                        let (origin, host) = split_url(base)
                            .ok_or_else(|| bad(format!("{path}.config.base_url"), "not an http:// or https:// URL"))?;
                        plan.api_base = origin;
                        plan.api_host = host;
                    }
                    if c.contains_key("api_key") {
                        report.map(
                            format!("{path}.config.api_key"),
                            "${ENKRYPT_API_KEY} in guard-remote's headers (the value is not copied)",
                        );
                    }
                    for k in c.keys().filter(|k| !["api_key", "base_url"].contains(&k.as_str())) {
                        report.skip(format!("{path}.config.{k}"), "no counterpart in guard-remote");
                    }
                }
                if options.local_only {
                    report.skip(
                        format!("{path}.provider = enkrypt"),
                        "--local-only: Enkrypt's API is not called; its detectors with no local equivalent are left out (see below)",
                    );
                } else {
                    report.map(
                        format!("{path}.provider = enkrypt"),
                        format!(
                            "builtin:guard-remote -> {}/guardrails/policy/detect for detectors only Enkrypt offers; the others run locally",
                            plan.api_base
                        ),
                    );
                }
            }
            ("guardrails", other) => {
                remote = false;
                report.skip(
                    format!("{path}.provider = {other}"),
                    "unknown guardrail provider: only the local builtin guardrails are configured",
                );
            }
            ("telemetry", "opentelemetry") => {
                let enabled = config.map(|c| opt_bool(c, "enabled", &format!("{path}.config"))).transpose()?.flatten();
                let url = config.map(|c| opt_str(c, "url", &format!("{path}.config"))).transpose()?.flatten();
                match (enabled, url) {
                    (Some(false), _) => {
                        report.skip(format!("{path}.config.enabled = false"), "telemetry off: nothing to set")
                    }
                    (_, Some(url)) => {
                        let http = otlp_http_endpoint(url);
                        report.map(
                            format!("{path}.config.url = {url}"),
                            format!("OTEL_EXPORTER_OTLP_ENDPOINT={http} (environment, not warden.toml)"),
                        );
                        if http != url {
                            report.todo.push(format!(
                                "Warden exports OTLP over HTTP (JSON), not gRPC: {url} looks like a gRPC port, so the collector's HTTP receiver {http} was assumed; check it"
                            ));
                        }
                        report.todo.push(format!(
                            "export OTEL_EXPORTER_OTLP_ENDPOINT={http} to send traces, metrics and logs"
                        ));
                        plan.otlp_endpoint = Some(http);
                    }
                    _ => report.skip(format!("{path}.config"), "no url: nothing to export to"),
                }
                if config.is_some_and(|c| c.contains_key("insecure")) {
                    report.skip(
                        format!("{path}.config.insecure"),
                        "no counterpart: the endpoint's scheme decides (http:// is plain text)",
                    );
                }
            }
            ("telemetry", other) => report.skip(
                format!("{path}.provider = {other}"),
                "unknown telemetry provider; Warden has OTLP (environment) and builtin:telemetry-audit",
            ),
            (other, _) => report.skip(path.clone(), format!("unknown plugin kind {other:?}")),
        }
    }
    Ok(remote)
}

/// `scheme://host[:port]` and `host[:port]` of an http(s) URL.
fn split_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty() && !h.contains('@'))?;
    Some((format!("{}{host}", &url[..url.len() - rest.len()]), host.to_string()))
}

/// Enkrypt's default collector URL is gRPC (4317); Warden speaks OTLP/HTTP (4318).
fn otlp_http_endpoint(url: &str) -> String {
    match split_url(url) {
        Some((origin, _)) if origin.ends_with(":4317") => format!("{}:4318", origin.trim_end_matches(":4317")),
        Some((origin, _)) => origin,
        None => format!("http://{}", url.trim_end_matches('/').replace(":4317", ":4318")),
    }
}

/// A name usable as a Warden server name (prefix of `server__tool`).
fn server_name(raw: &str) -> String {
    let mut name: String =
        raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    while name.contains("__") {
        name = name.replace("__", "_");
    }
    name.truncate(32);
    if name.is_empty() { "server".into() } else { name }
}

/// Servers by MCP config id, in input order (Warden names).
type ConfigServers = BTreeMap<String, Vec<String>>;

fn read_mcp_configs(
    configs: &Map<String, Value>,
    plan: &mut Plan,
    report: &mut Report,
    remote: bool,
) -> R<ConfigServers> {
    let mut by_config = ConfigServers::new();
    for (id, config) in configs {
        let path = format!("mcp_configs.{id}");
        let config = object(config, &path)?;
        let list = match config.get("mcp_config") {
            Some(Value::Array(list)) => list,
            Some(v) => {
                return Err(bad(
                    format!("{path}.mcp_config"),
                    format!("expected a list of servers, found {}", kind(v)),
                ));
            }
            None => return Err(bad(format!("{path}.mcp_config"), "missing (the list of servers)")),
        };
        for k in config
            .keys()
            .filter(|k| !["mcp_config_name", "mcp_config", "created_at", "updated_at"].contains(&k.as_str()))
        {
            report.skip(format!("{path}.{k}"), "unknown setting");
        }
        let mut names = Vec::new();
        for (i, server) in list.iter().enumerate() {
            let spath = format!("{path}.mcp_config[{i}]");
            let server = object(server, &spath)?;
            // The same server in several configs is served once; a different server
            // under a taken name is renamed.
            let fingerprint = serde_json::to_string(server).unwrap_or_default();
            if let Some(same) = plan.servers.iter().find(|s| s.fingerprint == fingerprint) {
                report.map(
                    format!("{spath} (same definition as an earlier one)"),
                    format!("servers.{} (served once)", same.name),
                );
                names.push(same.name.clone());
                continue;
            }
            let raw_name = opt_str(server, "server_name", &spath)?
                .ok_or_else(|| bad(format!("{spath}.server_name"), "missing"))?;
            let base = server_name(raw_name);
            let mut name = base.clone();
            let mut n = 2;
            while plan.servers.iter().any(|s| s.name == name) {
                let suffix = format!("-{n}");
                name = format!("{}{suffix}", &base[..base.len().min(32 - suffix.len())]);
                n += 1;
            }
            if name != base {
                report.map(
                    format!("{spath}.server_name {raw_name:?} (a different server of that name exists)"),
                    format!("servers.{name} (its tools are {name}__TOOL)"),
                );
            }
            let mut server = read_server(server, &spath, &name, plan, report, remote)?;
            server.fingerprint = fingerprint;
            names.push(name);
            plan.servers.push(server);
        }
        by_config.insert(id.clone(), names);
    }
    Ok(by_config)
}

fn read_server(
    s: &Map<String, Value>,
    path: &str,
    name: &str,
    plan: &mut Plan,
    report: &mut Report,
    remote: bool,
) -> R<Server> {
    let raw_name = opt_str(s, "server_name", path)?.unwrap_or(name);
    let name = name.to_string();
    let cpath = format!("{path}.config");
    let config = object(s.get("config").ok_or_else(|| bad(&cpath, "missing (command, args, env)"))?, &cpath)?;
    let command = opt_str(config, "command", &cpath)?.map(str::to_string);
    let url = opt_str(config, "url", &cpath)?.map(str::to_string);
    match (&command, &url) {
        (Some(c), None) if !c.is_empty() => {}
        (None, Some(u)) if u.starts_with("http://") || u.starts_with("https://") => {}
        (None, Some(_)) => return Err(bad(format!("{cpath}.url"), "not an http:// or https:// URL")),
        _ => return Err(bad(format!("{cpath}.command"), "missing: a server needs a command (or a url)")),
    }
    let args = str_list(config.get("args"), &format!("{cpath}.args"))?;
    let mut env = BTreeMap::new();
    if let Some(e) = config.get("env").filter(|e| !e.is_null()) {
        for (k, v) in object(e, &format!("{cpath}.env"))? {
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return Err(bad(format!("{cpath}.env.{k}"), "expected a string")),
            };
            env.insert(k.clone(), value);
        }
    }
    for k in config.keys().filter(|k| !["command", "args", "env", "url"].contains(&k.as_str())) {
        report.skip(format!("{cpath}.{k}"), "unknown server setting");
    }
    let allowed_tools: Vec<String> = match s.get("tools") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(tools)) => tools.keys().cloned().collect(),
        Some(Value::Array(tools)) => tools
            .iter()
            .enumerate()
            .map(|(i, t)| match t {
                Value::String(n) => Ok(n.clone()),
                Value::Object(o) => o
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| bad(format!("{path}.tools[{i}].name"), "missing")),
                v => Err(bad(format!("{path}.tools[{i}]"), format!("expected a tool, found {}", kind(v)))),
            })
            .collect::<R<_>>()?,
        Some(v) => return Err(bad(format!("{path}.tools"), format!("expected an object of tools, found {}", kind(v)))),
    };
    let mut server = Server {
        name: name.clone(),
        description: opt_str(s, "description", path)?.map(str::to_string),
        fingerprint: String::new(),
        command,
        args,
        env,
        url,
        allowed_tools,
        input: Vec::new(),
        output: Vec::new(),
        tools: Vec::new(),
        notes: Vec::new(),
    };
    let target = if server_name(raw_name) == raw_name {
        format!("servers.{name}")
    } else {
        format!("servers.{name} (renamed: letters, digits, - and _ only, no \"__\", at most 32)")
    };
    let what = match (&server.command, &server.url) {
        (Some(c), _) => format!("{target}: command {c:?}, {} args", server.args.len()),
        (_, Some(u)) => format!("{target}: url {u}"),
        _ => target,
    };
    report.map(format!("{path} ({raw_name})"), what);
    if !server.env.is_empty() {
        let names: Vec<&str> = server.env.keys().map(String::as_str).collect();
        report.map(
            format!("{cpath}.env"),
            format!(
                "servers.{name}.env, values copied as they were ({}); consider \"${{VAR}}\" references for secrets",
                names.join(", ")
            ),
        );
    }
    if !server.allowed_tools.is_empty() {
        report.map(
            format!("{path}.tools ({} tools)", server.allowed_tools.len()),
            format!(
                "[[gateway.rules]] allow {name}/{{{}}}: every other tool, and the server's prompts and resources (Enkrypt served tools only), is hidden and refused",
                server.allowed_tools.join(",")
            ),
        );
    }
    for k in s.keys() {
        let at = format!("{path}.{k}");
        match k.as_str() {
            "server_name" | "description" | "config" | "tools" | "created_at" | "updated_at" => {}
            "input_guardrails_policy" => {
                let p = object(&s[k], &at)?;
                server.input = policy_chain(p, &at, Stage::Input, &mut server.notes, &name, plan, report, remote)?;
            }
            "output_guardrails_policy" => {
                let p = object(&s[k], &at)?;
                server.output = policy_chain(p, &at, Stage::Output, &mut server.notes, &name, plan, report, remote)?;
            }
            "tool_guardrails_policy" => {
                let p = object(&s[k], &at)?;
                if opt_bool(p, "enabled", &at)?.unwrap_or(false) {
                    server.tools = vec!["tools".into()];
                    plan.used.insert("tools");
                    report.map(format!("{at} (enabled)"), format!("servers.{name}.tools = [\"tools\"] (guard-tools: poisoning, hidden instructions, shadowing; definitions pinned)"));
                    let block = str_list(p.get("block"), &format!("{at}.block"))?;
                    if !block.is_empty() {
                        report.skip(
                            format!("{at}.block"),
                            "per-detector checks of tool definitions are Enkrypt's; guard-tools screens definitions locally and guard-remote does not send them",
                        );
                    }
                } else {
                    server.notes.push("tool definitions are not screened (Enkrypt's tool_guardrails_policy was off); Warden's default is tools = [\"tools\"]".into());
                    report.map(format!("{at} (disabled)"), format!("servers.{name}.tools = []"));
                }
            }
            "oauth_config" => {
                let enabled = s[k].get("enabled").and_then(Value::as_bool).unwrap_or(false);
                if enabled {
                    report.skip(
                        at,
                        "enabled, but Warden does not run OAuth flows to upstreams: for an HTTP upstream put a token in bearer_token = \"${TOKEN}\" (no secret was copied)",
                    );
                } else {
                    report.skip(at, "disabled: nothing to carry (no secret was copied)");
                }
            }
            "enable_server_info_validation" => report.skip(
                at,
                "Enkrypt's server registration check has no counterpart; guard-tools screens each tool definition and pins it",
            ),
            _ => report.skip(at, "unknown server setting"),
        }
    }
    for (key, stage) in [
        ("input_guardrails_policy", "input"),
        ("output_guardrails_policy", "output"),
        ("tool_guardrails_policy", "tools"),
    ] {
        if !s.contains_key(key) {
            server.notes.push(format!("no {key} in Enkrypt: {stage} = [] (no guardrails), as there"));
            report.map(format!("{path}.{key} (absent)"), format!("servers.{name}.{stage} = []"));
        }
    }
    Ok(server)
}

#[derive(Clone, Copy, PartialEq)]
enum Stage {
    Input,
    Output,
}

/// The chain for one Enkrypt guardrail policy.
#[allow(clippy::too_many_arguments)]
fn policy_chain(
    p: &Map<String, Value>,
    path: &str,
    stage: Stage,
    notes: &mut Vec<String>,
    server: &str,
    plan: &mut Plan,
    report: &mut Report,
    remote: bool,
) -> R<Vec<String>> {
    let stage_name = if stage == Stage::Input { "input" } else { "output" };
    if !opt_bool(p, "enabled", path)?.unwrap_or(false) {
        report.map(format!("{path} (disabled)"), format!("servers.{server}.{stage_name} = []"));
        notes.push(format!("{stage_name} guardrails off, as in Enkrypt"));
        return Ok(Vec::new());
    }
    let policy_name = opt_str(p, "policy_name", path)?.map(str::to_string);
    let block = str_list(p.get("block"), &format!("{path}.block"))?;
    let extra = match p.get("additional_config") {
        Some(v) if !v.is_null() => Some(object(v, &format!("{path}.additional_config"))?),
        _ => None,
    };
    let flag = |k: &str| extra.and_then(|e| e.get(k)).and_then(Value::as_bool).unwrap_or(false);
    let mut chain: Vec<String> = Vec::new();
    let push = |chain: &mut Vec<String>, name: &'static str, plan: &mut Plan| {
        plan.used.insert(name);
        if !chain.iter().any(|c| c == name) {
            chain.push(name.to_string());
        }
    };
    let redact = stage == Stage::Input && flag("pii_redaction");
    if redact {
        push(&mut chain, "secrets", plan);
        push(&mut chain, "pii", plan);
        report.map(
            format!("{path}.additional_config.pii_redaction = true"),
            format!("servers.{server}.input: \"pii\" (guard-pii redacts to <EMAIL_1>-style placeholders, restored in the result) + \"secrets\""),
        );
    }
    let mut remote_block = Vec::new();
    for d in &block {
        let at = format!("{path}.block: {d}");
        match d.as_str() {
            "pii" if redact => {}
            "pii" => {
                push(&mut chain, "secrets", plan);
                push(&mut chain, "pii-block", plan);
                report.map(at, format!("servers.{server}.{stage_name}: \"pii-block\" (guard-pii, every entity blocks) + \"secrets\" (credentials)"));
            }
            "injection_attack" => {
                push(&mut chain, "injection", plan);
                report.map(at, format!("servers.{server}.{stage_name}: \"injection\" (guard-injection)"));
            }
            d if REMOTE_ONLY.contains(&d) => {
                if remote {
                    remote_block.push(d.to_string());
                } else if d == "sponge_attack" {
                    let rule = format!(
                        "{{ name = {}, servers = [{}], stages = [\"{stage_name}\"], max_payload_bytes = 262144, max_string_bytes = 65536, max_items = 10000, action = \"block\" }}",
                        toml_str(&format!("{server}-{stage_name}-sponge")),
                        toml_str(server)
                    );
                    plan.policy_rules.push(rule);
                    push(&mut chain, "policy", plan);
                    report.map(at, format!("servers.{server}.{stage_name}: \"policy\" (guard-policy size limits: 256 KiB payload, 64 KiB per string, 10000 values) — an approximation"));
                } else {
                    report.skip(
                        at,
                        "no local equivalent and --local-only (or no Enkrypt guardrail provider): not checked",
                    );
                    notes.push(format!("{d} ({stage_name}) not checked: only Enkrypt's API offers it"));
                }
            }
            other => report.skip(at, format!("unknown detector {other:?}: not checked")),
        }
    }
    if let Some(words) = extra
        .map(|e| str_list(e.get("banned_keywords"), &format!("{path}.additional_config.banned_keywords")))
        .transpose()?
        && !words.is_empty()
    {
        let list: Vec<String> = words.iter().map(|w| toml_str(w)).collect();
        plan.policy_rules.push(format!(
            "{{ name = {}, servers = [{}], stages = [\"{stage_name}\"], deny_keywords = [{}], action = \"block\" }}",
            toml_str(&format!("{server}-{stage_name}-keywords")),
            toml_str(server),
            list.join(", ")
        ));
        push(&mut chain, "policy", plan);
        report.map(
            format!("{path}.additional_config.banned_keywords"),
            format!("servers.{server}.{stage_name}: \"policy\" (guard-policy deny_keywords, {} words)", words.len()),
        );
    }
    if !remote_block.is_empty() {
        remote_block.sort();
        let existing =
            plan.remotes.iter().find(|r| r.policy == policy_name && r.block == remote_block).map(|r| r.name.clone());
        let name = existing.unwrap_or_else(|| {
            let name = if plan.remotes.is_empty() {
                "enkrypt".to_string()
            } else {
                format!("enkrypt-{}", plan.remotes.len() + 1)
            };
            plan.remotes.push(Remote { name: name.clone(), policy: policy_name.clone(), block: remote_block.clone() });
            name
        });
        plan.used.insert("remote");
        chain.push(name.clone());
        report.map(
            format!("{path}.block: {}", remote_block.join(", ")),
            format!(
                "servers.{server}.{stage_name}: \"{name}\" (guard-remote, Enkrypt policy {:?} via Enkrypt's API)",
                policy_name.as_deref().unwrap_or("(none)")
            ),
        );
    }
    if let Some(extra) = extra {
        for (k, v) in extra {
            let at = format!("{path}.additional_config.{k}");
            match k.as_str() {
                "pii_redaction" if stage == Stage::Input => {}
                "banned_keywords" => {}
                "relevancy" | "adherence" | "hallucination" if v.as_bool() == Some(true) => report.skip(
                    at,
                    "true, but not carried: Enkrypt checks it against the request and the answer together on a dedicated endpoint; guard-remote sends one text",
                ),
                "relevancy" | "adherence" | "hallucination" | "pii_redaction" if v.as_bool() == Some(false) => {}
                _ => report.skip(at, "no counterpart"),
            }
        }
    }
    for k in p.keys().filter(|k| !["enabled", "policy_name", "block", "additional_config"].contains(&k.as_str())) {
        report.skip(format!("{path}.{k}"), "unknown guardrail setting");
    }
    if chain.is_empty() {
        notes.push(format!("{stage_name} policy was on but blocked nothing Warden can check"));
    }
    // Local guardrails first, credentials before personal data (as in Warden's
    // default chain): they are cheap, and a local block spares the API call.
    let rank = |name: &str| {
        ["secrets", "pii", "pii-block", "injection", "policy"].iter().position(|n| *n == name).unwrap_or(9)
    };
    chain.sort_by_key(|name| rank(name));
    Ok(chain)
}

fn read_keys(root: &Map<String, Value>, config_servers: &ConfigServers, plan: &mut Plan, report: &mut Report) -> R<()> {
    let empty = Map::new();
    let projects = match root.get("projects") {
        Some(p) => object(p, "projects")?,
        None => &empty,
    };
    let users = match root.get("users") {
        Some(u) => object(u, "users")?,
        None => &empty,
    };
    for (pid, project) in projects {
        let path = format!("projects.{pid}");
        let project = object(project, &path)?;
        if let Some(cid) = opt_str(project, "mcp_config_id", &path)?
            && !config_servers.contains_key(cid)
        {
            return Err(bad(format!("{path}.mcp_config_id"), format!("{cid:?} is not in mcp_configs")));
        }
    }
    for (uid, user) in users {
        object(user, &format!("users.{uid}"))?;
    }
    let Some(keys) = root.get("apikeys") else {
        report.skip("apikeys", "absent: no keys imported; create them with `warden keys create`");
        return Ok(());
    };
    // Named by the start of their hash: the key itself is the map's key and must
    // never be shown.
    for (key, entry) in object(keys, "apikeys")? {
        let sha256 = hex::encode(Sha256::digest(key.as_bytes()));
        let origin = format!("apikeys[sha256 {}…]", &sha256[..12]);
        let entry = object(entry, &origin)?;
        let project_id =
            opt_str(entry, "project_id", &origin)?.ok_or_else(|| bad(format!("{origin}.project_id"), "missing"))?;
        let project = projects
            .get(project_id)
            .and_then(Value::as_object)
            .ok_or_else(|| bad(format!("{origin}.project_id"), format!("{project_id:?} is not in projects")))?;
        let user_id = opt_str(entry, "user_id", &origin)?.ok_or_else(|| bad(format!("{origin}.user_id"), "missing"))?;
        let user = users
            .get(user_id)
            .and_then(Value::as_object)
            .ok_or_else(|| bad(format!("{origin}.user_id"), format!("{user_id:?} is not in users")))?;
        if key.trim().is_empty() {
            return Err(bad(origin, "the key is empty"));
        }
        let id = user.get("email").and_then(Value::as_str).filter(|e| !e.is_empty()).unwrap_or(user_id).to_string();
        let project_name =
            project.get("project_name").and_then(Value::as_str).filter(|p| !p.is_empty()).unwrap_or(project_id);
        let scopes = project
            .get("mcp_config_id")
            .and_then(Value::as_str)
            .and_then(|cid| config_servers.get(cid))
            .cloned()
            .unwrap_or_default();
        let disabled = opt_bool(entry, "disabled", &origin)?.unwrap_or(false)
            || opt_bool(entry, "is_active", &origin)? == Some(false)
            || user.get("disabled").and_then(Value::as_bool) == Some(true)
            || user.get("is_active").and_then(Value::as_bool) == Some(false);
        if !project.get("users").and_then(Value::as_array).is_none_or(|u| u.iter().any(|u| u.as_str() == Some(user_id)))
        {
            report.skip(
                format!("{origin} (user {id}, project {project_name})"),
                "the user is not listed in the project's users; imported anyway, as Enkrypt accepts it",
            );
        }
        for k in entry.keys().filter(|k| {
            !["project_id", "user_id", "created_at", "disabled", "disabled_at", "is_active"].contains(&k.as_str())
        }) {
            report.skip(format!("{origin}.{k}"), "unknown key setting");
        }
        let scope_text =
            if scopes.is_empty() { "none (the project has no MCP config)".to_string() } else { scopes.join(", ") };
        report.map(
            format!("{origin} (user {id}, project {project_name}{})", if disabled { ", disabled" } else { "" }),
            format!("apikey key id {id:?}, sha256 only, project {project_name:?}, servers: {scope_text}"),
        );
        plan.keys.push(Key { id, sha256, project: Some(project_name.to_string()), scopes, disabled, origin });
    }
    if plan.keys.is_empty() {
        report.todo.push("no API keys were imported: create one with `warden keys create --id NAME`".into());
    }
    Ok(())
}

/// A TOML string for data (a `$` is doubled, so warden.toml does not read `${...}`
/// in it as an environment reference).
fn toml_str(s: &str) -> String {
    toml::Value::String(s.replace('$', "$$")).to_string()
}

/// A TOML key: bare when it can be.
fn toml_key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        k.to_string()
    } else {
        toml::Value::String(k.to_string()).to_string()
    }
}

fn toml_list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|i| toml_str(i)).collect::<Vec<_>>().join(", "))
}

/// Lines of `# ` comment, control characters removed.
fn comment(out: &mut String, text: &str) {
    for line in text.lines() {
        let clean: String = line.chars().filter(|c| !c.is_control()).collect();
        let _ = writeln!(out, "# {}", clean.trim_end());
    }
}

fn render(plan: &Plan, options: &Options) -> String {
    let mut out = String::new();
    comment(
        &mut out,
        &format!(
            "Imported from Enkrypt's Secure MCP Gateway config {} by `warden import enkrypt`.\nThe import report lists every mapping and what was not carried over.",
            options.source
        ),
    );
    if let Some(endpoint) = &plan.otlp_endpoint {
        comment(
            &mut out,
            &format!("Telemetry (OTLP/HTTP) is set in the environment: OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}"),
        );
    }
    if !plan.remotes.is_empty() {
        comment(&mut out, "The guard-remote plugins below need ENKRYPT_API_KEY in the gateway's environment.");
    }
    out.push_str("\n[gateway]\nlisten = \"127.0.0.1:8808\"\nauth = [\"apikey\"]\n");
    comment(&mut out, "Every server has its own chains below (as its Enkrypt policies were).");
    out.push_str("input = []\noutput = []\ntools = []\n");
    if plan.servers.iter().any(|s| !s.allowed_tools.is_empty()) {
        out.push('\n');
        comment(
            &mut out,
            "Tool allow-lists (Enkrypt's per-server `tools`): with allow rules, only what a rule covers is served.",
        );
        for s in &plan.servers {
            let tools: Vec<String> = if s.allowed_tools.is_empty() {
                vec![s.name.clone()]
            } else {
                s.allowed_tools.iter().map(|t| format!("{}/{t}", s.name)).collect()
            };
            let _ = writeln!(out, "[[gateway.rules]]\neffect = \"allow\"\ntools = {}", toml_list(&tools));
        }
    }
    for s in &plan.servers {
        out.push('\n');
        if let Some(d) = &s.description {
            comment(&mut out, d);
        }
        for n in &s.notes {
            comment(&mut out, &format!("Note: {n}."));
        }
        let _ = writeln!(out, "[[servers]]\nname = {}", toml_str(&s.name));
        if let Some(c) = &s.command {
            let _ = writeln!(out, "command = {}\nargs = {}", toml_str(c), toml_list(&s.args));
            if !s.env.is_empty() {
                let pairs: Vec<String> =
                    s.env.iter().map(|(k, v)| format!("{} = {}", toml_key(k), toml_str(v))).collect();
                let _ = writeln!(out, "env = {{ {} }}", pairs.join(", "));
            }
        }
        if let Some(u) = &s.url {
            let _ = writeln!(out, "url = {}", toml_str(u));
        }
        if let Some(t) = plan.call_timeout_ms {
            let _ = writeln!(out, "call_timeout_ms = {t}");
        }
        if let Some(t) = plan.connect_timeout_ms {
            let _ = writeln!(out, "connect_timeout_ms = {t}");
        }
        let _ = writeln!(
            out,
            "input = {}\noutput = {}\ntools = {}",
            toml_list(&s.input),
            toml_list(&s.output),
            toml_list(&s.tools)
        );
    }
    out.push_str("\n[[plugins]]\nname = \"apikey\"\nkind = \"auth\"\nsource = \"builtin:auth-apikey\"\n");
    comment(
        &mut out,
        "Imported keys, SHA-256 only (the keys themselves were not copied). `scopes` are the servers of the key's project.",
    );
    out.push_str("config = { keys = [\n");
    for k in &plan.keys {
        let _ = write!(out, "  {{ id = {}, sha256 = \"{}\"", toml_str(&k.id), k.sha256);
        if let Some(p) = &k.project {
            let _ = write!(out, ", project = {}", toml_str(p));
        }
        let _ = write!(out, ", scopes = {}", toml_list(&k.scopes));
        if k.disabled {
            out.push_str(", disabled = true");
        }
        let _ = writeln!(out, " }}, # {}", k.origin);
    }
    out.push_str("] }\n");
    comment(&mut out, "Keys made by `warden keys create` (reloaded while running).");
    out.push_str("config_file = \"${WARDEN_KEYS_FILE}\"\n");
    let simple: [(&str, &str, &str); 4] = [
        ("secrets", "builtin:guard-secrets", ""),
        ("pii", "builtin:guard-pii", "Redacts every entity; restored in the result.\nconfig = {}"),
        ("injection", "builtin:guard-injection", ""),
        ("tools", "builtin:guard-tools", ""),
    ];
    for (name, source, extra) in simple {
        if plan.used.contains(name) {
            let _ = writeln!(out, "\n[[plugins]]\nname = \"{name}\"\nkind = \"guardrail\"\nsource = \"{source}\"");
            if let Some((note, config)) = extra.split_once('\n') {
                comment(&mut out, note);
                let _ = writeln!(out, "{config}");
            }
        }
    }
    if plan.used.contains("pii-block") {
        out.push_str("\n[[plugins]]\nname = \"pii-block\"\nkind = \"guardrail\"\nsource = \"builtin:guard-pii\"\n");
        out.push_str("config = { entities = { email = \"block\", phone = \"block\", card = \"block\", iban = \"block\", ssn = \"block\", ip = \"block\" } }\n");
    }
    if plan.used.contains("policy") {
        out.push_str("\n[[plugins]]\nname = \"policy\"\nkind = \"guardrail\"\nsource = \"builtin:guard-policy\"\nconfig = { rules = [\n");
        for r in &plan.policy_rules {
            let _ = writeln!(out, "  {r},");
        }
        out.push_str("] }\n");
    }
    for r in &plan.remotes {
        out.push('\n');
        comment(
            &mut out,
            &format!(
                "Enkrypt's policy {:?}: detectors with no local equivalent, checked by Enkrypt's API.",
                r.policy.as_deref().unwrap_or("(none)")
            ),
        );
        let mut headers = vec!["apikey = \"${ENKRYPT_API_KEY}\"".to_string()];
        let url = match &r.policy {
            Some(p) => {
                headers.push(format!("X-Enkrypt-Policy = {}", toml_str(p)));
                format!("{}/guardrails/policy/detect", plan.api_base)
            }
            None => format!("{}/guardrails/detect", plan.api_base),
        };
        let detectors: Vec<String> =
            r.block.iter().map(|d| format!("{} = {{ enabled = true }}", toml_key(d))).collect();
        let _ = writeln!(
            out,
            "[[plugins]]\nname = {}\nkind = \"guardrail\"\nsource = \"builtin:guard-remote\"\ngrants = {{ http_hosts = [{}] }}\nlimits = {{ deadline_ms = {} }}",
            toml_str(&r.name),
            toml_str(&plan.api_host),
            plan.guardrail_timeout_ms
        );
        let _ = writeln!(
            out,
            "config = {{ url = {}, headers = {{ {} }}, detectors = {{ {} }}, block_list = {}, timeout_ms = {} }}",
            toml_str(&url),
            headers.join(", "),
            detectors.join(", "),
            toml_list(&r.block),
            plan.guardrail_timeout_ms
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_are_made_valid() {
        assert_eq!(server_name("echo_server"), "echo_server");
        assert_eq!(server_name("my server.v2"), "my-server-v2");
        assert_eq!(server_name("a__b"), "a_b");
        assert_eq!(server_name(""), "server");
        assert_eq!(server_name(&"x".repeat(40)).len(), 32);
    }

    #[test]
    fn otlp_grpc_port_becomes_http() {
        assert_eq!(otlp_http_endpoint("http://localhost:4317"), "http://localhost:4318");
        assert_eq!(otlp_http_endpoint("https://otel.example.com"), "https://otel.example.com");
        assert_eq!(
            split_url("https://api.x.com:8443/a"),
            Some(("https://api.x.com:8443".into(), "api.x.com:8443".into()))
        );
    }

    #[test]
    fn banned_keywords_become_a_policy_rule_and_sponge_attack_size_limits_when_local() {
        let input = serde_json::json!({"mcp_configs": {"c": {"mcp_config": [{
            "server_name": "db", "config": {"command": "db-mcp"},
            "input_guardrails_policy": {"enabled": true, "block": ["keyword_detector", "sponge_attack", "mystery"],
                "additional_config": {"banned_keywords": ["drop table", "${HOME}"]}}
        }]}}});
        let options = Options { local_only: true, source: "test".into() };
        let (toml, report) = convert(&input, &options).expect("converts");
        assert!(toml.contains("deny_keywords = [\"drop table\", \"$${HOME}\"]"), "{toml}");
        assert!(toml.contains("max_payload_bytes = 262144"), "{toml}");
        assert!(toml.contains("input = [\"policy\"]"), "{toml}");
        let text = report.render("in", "out");
        assert!(text.contains("unknown detector \"mystery\""), "{text}");
        assert!(text.contains("keyword_detector\n      no local equivalent"), "{text}");
    }

    #[test]
    fn dollars_in_data_are_escaped() {
        assert_eq!(toml_str("a$b"), "\"a$$b\"");
    }
}
