//! Compatibility with the Enkrypt Secure MCP Gateway's clients (`[compat]
//! enkrypt_tools = true`): its seven meta-tools, with the same names and argument
//! shapes, answered from Warden's own state.
//!
//! - `enkrypt_list_all_servers`, `enkrypt_get_server_info`, `enkrypt_discover_all_tools`
//!   describe the servers and tools the caller may use (scopes and rules apply, as in
//!   `tools/list`); a server's transport is shown with env and header *names* only
//!   and secret-looking arguments masked.
//! - `enkrypt_secure_call_tools` runs each `{name, args}` through
//!   [`Gateway::call_tool_staged`], the pipeline of every native `server__tool` call
//!   (scope check, schema, input guardrails before the upstream, output guardrails,
//!   restore, limits, audit), and stops at the first call that is not a success. A
//!   withheld result is never returned, unlike the reference gateway.
//! - Warden keeps no tool cache with an expiry: each upstream's tool list is held
//!   from its last listing (at start, on `tools/list_changed`, at a reload).
//!   `enkrypt_get_cache_status` reports those lists and the pins;
//!   `enkrypt_clear_cache` re-lists every upstream (at most once per
//!   [`REFRESH_INTERVAL`], gateway-wide), which is what clearing Enkrypt's cache
//!   achieves. The gateway config is not cached either: it is reloaded by SIGHUP.
//! - `enkrypt_get_timeout_metrics` reads the counters `/metrics` exports: upstream
//!   calls per server, failures, timeouts, and each server's configured timeouts.

use crate::gateway::Gateway;
use crate::upstream::{Caller, Health, Transport, Upstream};
use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResult, JsonObject, Tool, ToolAnnotations};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use warden_core::{CallContext, Outcome, Principal};

/// Calls one `enkrypt_secure_call_tools` request may carry.
pub const MAX_BATCH: usize = 32;

/// Least time between two re-listings asked for by `enkrypt_clear_cache`.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(10);

const LIST_SERVERS: &str = "enkrypt_list_all_servers";
const SERVER_INFO: &str = "enkrypt_get_server_info";
const DISCOVER: &str = "enkrypt_discover_all_tools";
const SECURE_CALL: &str = "enkrypt_secure_call_tools";
const CACHE_STATUS: &str = "enkrypt_get_cache_status";
const CLEAR_CACHE: &str = "enkrypt_clear_cache";
const TIMEOUT_METRICS: &str = "enkrypt_get_timeout_metrics";

/// The meta-tools' names.
pub const NAMES: &[&str] =
    &[LIST_SERVERS, SERVER_INFO, DISCOVER, SECURE_CALL, CACHE_STATUS, CLEAR_CACHE, TIMEOUT_METRICS];

/// Whether `name` is one of the meta-tools.
pub fn is_meta_tool(name: &str) -> bool {
    NAMES.contains(&name)
}

fn object(v: Value) -> Arc<JsonObject> {
    match v {
        Value::Object(m) => Arc::new(m),
        _ => Arc::new(JsonObject::new()),
    }
}

/// (read only, destructive, idempotent, open world), as the reference declares them.
fn hints(title: &str, read_only: bool) -> ToolAnnotations {
    ToolAnnotations::with_title(title)
        .read_only(read_only)
        .destructive(!read_only)
        .idempotent(read_only)
        .open_world(!read_only)
}

/// The meta-tools' definitions.
pub fn tools() -> Vec<Tool> {
    let server_name = json!({"type": "string", "description": "A server's name, as enkrypt_list_all_servers shows it"});
    vec![
        Tool::new(
            LIST_SERVERS,
            "List the servers you may use, with their tools and status.",
            object(json!({"type": "object", "properties": {
                "discover_tools": {"type": "boolean", "default": true,
                                   "description": "Accepted for compatibility; tools are always listed"}}})),
        )
        .annotate(hints("List Available Servers", true)),
        Tool::new(
            SERVER_INFO,
            "Describe one server: transport (no secrets), status and tools.",
            object(json!({"type": "object", "properties": {"server_name": server_name}, "required": ["server_name"]})),
        )
        .annotate(hints("Get Server Info", true)),
        Tool::new(
            DISCOVER,
            "The tools of one server, or of every server you may use when server_name is omitted.",
            object(json!({"type": "object", "properties": {"server_name": {"type": ["string", "null"],
                "description": "A server's name; omit for all"}}})),
        )
        .annotate(hints("Discover Server Tools", true)),
        Tool::new(
            SECURE_CALL,
            "Call one or more tools of a server, in order, each through the gateway's guardrails. Pass every call \
             in one list: [{\"name\": TOOL, \"args\": {...}}]. The batch stops at the first call that is blocked \
             or fails. An empty list returns the server's tools.",
            object(json!({"type": "object", "properties": {
                "server_name": server_name,
                "tool_calls": {"type": "array", "description": "The calls to make, in order", "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string", "description": "The tool's name on that server"},
                                   "args": {"type": "object", "description": "Its arguments"}},
                    "required": ["name"]}}},
                "required": ["server_name"]})),
        )
        .annotate(hints("Securely Call Tools", false)),
        Tool::new(
            CACHE_STATUS,
            "What the gateway holds: each server's tool list from its last listing, and tool pins.",
            object(json!({"type": "object", "properties": {}})),
        )
        .annotate(hints("Get Cache Status", true)),
        Tool::new(
            CLEAR_CACHE,
            "Re-list the tools of every server now (the gateway holds tool lists, not a cache with an expiry).",
            object(json!({"type": "object", "properties": {
                "id": {"type": ["string", "null"], "description": "Accepted for compatibility; ignored"},
                "server_name": {"type": ["string", "null"], "description": "Accepted; every server is re-listed"},
                "cache_type": {"type": ["string", "null"],
                               "description": "all, server_config or gateway_config"}}})),
        )
        .annotate(hints("Clear Cache", false)),
        Tool::new(
            TIMEOUT_METRICS,
            "Upstream calls, failures and timeouts per server, with the configured timeouts.",
            object(json!({"type": "object", "properties": {}})),
        )
        .annotate(hints("Get Timeout Metrics", true)),
    ]
}

/// The meta-tools added to a principal's tool list. An upstream tool that would be
/// shown under one of their names (possible with `tool_prefix = "never"`) is left
/// out: the meta-tool answers that name.
pub fn add_tools(list: &mut Vec<Tool>) {
    list.retain(|t| !is_meta_tool(&t.name));
    list.extend(tools());
}

/// One server as a principal may see it.
struct View<'a> {
    upstream: &'a Upstream,
    /// (name upstream, client-facing definition) of the tools it may use.
    tools: Vec<(String, Tool)>,
    /// Tools hidden by the tool guardrails or pins that it could use otherwise.
    hidden: Vec<crate::gateway::HiddenTool>,
    /// The last listing: tool count, or why it failed.
    listed: Result<usize, String>,
}

/// How long an answer waits for a re-listing in progress (it holds the report while
/// upstreams answer, up to their timeouts).
const REPORT_WAIT: Duration = Duration::from_secs(2);

/// The last listing's report, or, while a re-listing takes longer than
/// [`REPORT_WAIT`], one saying so.
pub(crate) async fn report(gw: &Gateway) -> crate::gateway::Report {
    match tokio::time::timeout(REPORT_WAIT, gw.report()).await {
        Ok(report) => report,
        Err(_) => crate::gateway::Report {
            upstreams: gw
                .upstream_list()
                .iter()
                .map(|u| (u.name().to_string(), Err("being re-listed".into())))
                .collect(),
            clashes: Vec::new(),
            hidden: Vec::new(),
        },
    }
}

/// The servers `principal` may see: those it may use whole, or one tool of.
async fn views<'a>(gw: &'a Gateway, principal: Option<&Principal>) -> Vec<View<'a>> {
    let report = report(gw).await;
    let catalog = gw.catalog_tools().await;
    let mut out = Vec::new();
    for (index, upstream) in gw.upstream_list().iter().enumerate() {
        let server = upstream.name();
        let tools: Vec<(String, Tool)> = catalog
            .iter()
            .filter(|(i, name, _)| *i == index && gw.may_use(principal, server, name))
            .map(|(_, name, tool)| (name.clone(), tool.clone()))
            .collect();
        let hidden: Vec<_> = report
            .hidden
            .iter()
            .filter(|h| h.server == server && gw.may_use(principal, server, &h.tool))
            .cloned()
            .collect();
        if tools.is_empty() && hidden.is_empty() && !gw.may_use_server(principal, server) {
            continue;
        }
        let listed = report.upstreams.get(index).map(|(_, r)| r.clone()).unwrap_or(Err("not listed yet".into()));
        out.push(View { upstream, tools, hidden, listed });
    }
    out
}

/// An argument shown masked: a secret-looking value, or the value after a
/// secret-looking flag (`--token X`).
fn mask_args(args: &[String]) -> Vec<String> {
    let secret_name = |s: &str| {
        let s = s.to_ascii_lowercase();
        ["token", "secret", "password", "passwd", "key", "auth", "credential", "bearer", "cookie", "session"]
            .iter()
            .any(|w| s.contains(w))
    };
    let mut out = Vec::with_capacity(args.len());
    let mut after_flag = false;
    for arg in args {
        let shown = if after_flag {
            "****".to_string()
        } else if let Some((name, _)) = arg.split_once('=').filter(|(n, _)| secret_name(n)) {
            format!("{name}=****")
        } else if looks_secret(arg) {
            "****".to_string()
        } else {
            arg.clone()
        };
        after_flag = arg.starts_with('-') && !arg.contains('=') && secret_name(arg);
        out.push(shown);
    }
    out
}

/// A value that looks like a credential: a URL with a password, or a long token
/// mixing letters and digits with no path or space in it.
fn looks_secret(v: &str) -> bool {
    if let Some((_, rest)) = v.split_once("://")
        && rest.split('/').next().is_some_and(|authority| authority.contains('@'))
    {
        return true;
    }
    let token_chars = v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.+=".contains(c));
    let letters = v.chars().any(|c| c.is_ascii_alphabetic());
    let digits = v.chars().filter(|c| c.is_ascii_digit()).count();
    v.len() >= 20 && token_chars && letters && digits >= 3 && !v.starts_with('-')
}

/// A URL without credentials or query (both may hold secrets).
fn safe_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let host = authority.rsplit('@').next().unwrap_or_default();
    let query = if url.contains('?') { "?…" } else { "" };
    format!("{scheme}://{host}/{path}{query}")
}

/// A server's transport without secrets.
fn transport(upstream: &Upstream) -> (&'static str, Value) {
    match &upstream.spec().transport {
        Transport::Stdio { command, args, env } => (
            "stdio",
            json!({"command": command, "args": mask_args(args),
                   "env": env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>()}),
        ),
        Transport::Http { url, headers, bearer_token } => (
            "http",
            json!({"url": safe_url(url), "headers": headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
                   "bearer_token": bearer_token.as_ref().map(|_| "set")}),
        ),
    }
}

/// `connected`, `starting`, `restarting`, `failed` (its last listing failed) or
/// `idle` (no session now; started at the next call).
pub(crate) fn state(upstream: &Upstream, listing_failed: bool) -> &'static str {
    match upstream.health() {
        Health::Connected => "connected",
        Health::Starting => "starting",
        Health::Restarting { .. } => "restarting",
        Health::Idle if listing_failed => "failed",
        Health::Idle => "idle",
    }
}

fn tool_json(name: &str, tool: &Tool) -> Value {
    json!({"name": name, "gateway_name": tool.name, "description": tool.description,
           "inputSchema": tool.input_schema, "annotations": tool.annotations})
}

fn server_info(view: &View<'_>) -> Value {
    let (kind, config) = transport(view.upstream);
    json!({
        "server_name": view.upstream.name(),
        "transport": kind,
        "config": config,
        "status": state(view.upstream, view.listed.is_err()),
        "last_error": view.listed.as_ref().err(),
        "call_timeout_ms": view.upstream.spec().call_timeout.as_millis() as u64,
        "tools": view.tools.iter().map(|(n, t)| tool_json(n, t)).collect::<Vec<_>>(),
        "tools_discovered": view.listed.is_ok(),
        "tools_source": "discovery",
        "blocked_tools": view.hidden.iter().map(|h| json!({"name": h.tool, "reason": h.reason})).collect::<Vec<_>>(),
    })
}

fn discovery(view: &View<'_>) -> Value {
    let server = view.upstream.name();
    let (status, message) = match &view.listed {
        Ok(_) => ("success", format!("Tools discovered for {server}")),
        Err(e) => ("error", format!("Tools of {server} could not be listed: {e}")),
    };
    json!({
        "server_name": server,
        "status": status,
        "message": message,
        "tools": view.tools.iter().map(|(n, t)| tool_json(n, t)).collect::<Vec<_>>(),
        "source": "discovery",
        "blocked_tools": view.hidden.iter().map(|h| h.tool.clone()).collect::<Vec<_>>(),
        "blocked_count": view.hidden.len(),
        "blocked_reasons": view.hidden.iter().map(|h| h.reason.clone()).collect::<Vec<_>>(),
    })
}

/// An error result in the reference's shape. Never echoes the caller's text.
fn error(message: &str) -> CallToolResult {
    CallToolResult::structured_error(json!({"status": "error", "error": message}))
}

const NO_SERVER: &str = "no server by that name for this caller";

/// The `server_name` argument: a string, or `None` when absent or null.
fn server_arg(args: &JsonObject) -> Result<Option<&str>, CallToolResult> {
    match args.get("server_name") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(error("server_name must be a string")),
    }
}

/// Answer a meta-tool call. Every tool call it makes goes through
/// [`Gateway::call_tool_staged`]; the meta-tool call itself is audited as stage
/// `request` of server `warden`.
pub async fn call(
    gw: &Gateway,
    request_id: String,
    principal: Option<Principal>,
    name: &str,
    arguments: Option<JsonObject>,
    caller: Caller,
) -> Result<CallToolResult, McpError> {
    let started = Instant::now();
    let args = arguments.unwrap_or_default();
    let p = principal.as_ref();
    let result = match name {
        LIST_SERVERS => {
            let views = views(gw, p).await;
            let needing: Vec<&str> = views.iter().filter(|v| v.listed.is_err()).map(|v| v.upstream.name()).collect();
            let servers: Map<String, Value> =
                views.iter().map(|v| (v.upstream.name().to_string(), server_info(v))).collect();
            CallToolResult::structured(json!({
                "status": "success",
                "available_servers": servers,
                "servers_needing_discovery": needing,
            }))
        }
        SERVER_INFO => match server_arg(&args) {
            Err(e) => e,
            Ok(None) => error("server_name is required"),
            Ok(Some(server)) => match views(gw, p).await.iter().find(|v| v.upstream.name() == server) {
                Some(v) => CallToolResult::structured(
                    json!({"status": "success", "server_name": server, "server_info": server_info(v)}),
                ),
                None => error(NO_SERVER),
            },
        },
        DISCOVER => match server_arg(&args) {
            Err(e) => e,
            Ok(Some(server)) => match views(gw, p).await.iter().find(|v| v.upstream.name() == server) {
                Some(v) => CallToolResult::structured(discovery(v)),
                None => error(NO_SERVER),
            },
            Ok(None) => {
                let views = views(gw, p).await;
                let (ok, failed): (Vec<&View<'_>>, Vec<&View<'_>>) = views.iter().partition(|v| v.listed.is_ok());
                let names = |vs: &[&View<'_>]| vs.iter().map(|v| v.upstream.name().to_string()).collect::<Vec<_>>();
                let servers: Map<String, Value> =
                    views.iter().map(|v| (v.upstream.name().to_string(), discovery(v))).collect();
                CallToolResult::structured(json!({
                    "status": if failed.is_empty() { "success" } else { "error" },
                    "message": format!("Tools discovered for {} of {} servers", ok.len(), views.len()),
                    "discovery_failed_servers": names(&failed),
                    "discovery_success_servers": names(&ok),
                    "available_servers": servers,
                }))
            }
        },
        SECURE_CALL => secure_call(gw, &request_id, principal.clone(), &args, caller).await,
        CACHE_STATUS => cache_status(gw, p).await,
        CLEAR_CACHE => clear_cache(gw, p, &args).await,
        TIMEOUT_METRICS => timeout_metrics(gw, p).await,
        _ => return Err(McpError::invalid_params("unknown tool: none by that name for this caller", None)),
    };
    let ctx = CallContext { request_id, principal, server: "warden".into(), tool: name.to_string() };
    let outcome = if result.is_error == Some(true) { Outcome::Denied } else { Outcome::Allowed };
    if name != SECURE_CALL {
        // secure_call's tool calls are audited as requests of their own.
        gw.audit(&ctx, "request", outcome, started, &[]);
    }
    Ok(result)
}

/// The text content of a result, joined.
fn text(r: &CallToolResult) -> String {
    r.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join("\n")
}

async fn secure_call(
    gw: &Gateway,
    request_id: &str,
    principal: Option<Principal>,
    args: &JsonObject,
    caller: Caller,
) -> CallToolResult {
    let server = match server_arg(args) {
        Err(e) => return e,
        Ok(None) => return error("server_name is required"),
        Ok(Some(s)) => s,
    };
    let views = views(gw, principal.as_ref()).await;
    let Some(view) = views.iter().find(|v| v.upstream.name() == server) else { return error(NO_SERVER) };
    let calls = match args.get("tool_calls") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(calls)) => calls.clone(),
        // A single call passed as an object, which models do.
        Some(Value::Object(one)) => vec![Value::Object(one.clone())],
        Some(_) => return error("tool_calls must be a list of {\"name\", \"args\"} objects"),
    };
    if calls.is_empty() {
        return CallToolResult::structured(json!({
            "status": "success",
            "message": format!("Tools of {server}"),
            "tools": view.tools.iter().map(|(n, t)| tool_json(n, t)).collect::<Vec<_>>(),
        }));
    }
    if calls.len() > MAX_BATCH {
        return error(&format!("at most {MAX_BATCH} tool calls per request"));
    }
    let chains = gw.chains_for(server);
    let mut results = Vec::new();
    let (mut ok, mut blocked, mut failed) = (0, 0, 0);
    for (i, entry) in calls.iter().enumerate() {
        let data = |tool: Option<&str>| json!({"call_index": i, "server_name": server, "tool_name": tool});
        let outcome = match parse_call(entry) {
            Err(message) => Err((message.to_string(), None)),
            Ok((tool, arguments)) => {
                // Its name on the server, or the client-facing one.
                let found = view.tools.iter().find(|(n, t)| n == tool || t.name == tool);
                match found {
                    None => Err(("no tool by that name on this server for this caller".to_string(), None)),
                    Some((upstream_name, t)) => {
                        let id = format!("{request_id}-{i}");
                        let (result, stopped) =
                            gw.call_tool_staged(id, principal.clone(), &t.name, Some(arguments), caller.clone()).await;
                        Ok((upstream_name.clone(), result, stopped))
                    }
                }
            }
        };
        let entry = match outcome {
            Err((message, tool)) => {
                failed += 1;
                json!({"status": "error", "message": message, "error": message, "response": "",
                       "enkrypt_mcp_data": data(tool)})
            }
            Ok((tool, Err(e), _)) => {
                failed += 1;
                json!({"status": "error", "message": e.message, "error": e.message, "code": e.code.0,
                       "response": "", "enkrypt_mcp_data": data(Some(&tool))})
            }
            Ok((tool, Ok(r), stopped)) if r.is_error == Some(true) => {
                let status = match stopped {
                    Some("input") | Some("validate") => "blocked_input",
                    Some("output") => "blocked_output",
                    _ => "error",
                };
                if status == "error" {
                    failed += 1;
                } else {
                    blocked += 1;
                }
                // A withheld result is not in `r`: the pipeline replaced it with the reasons.
                json!({"status": status, "message": text(&r), "response": "", "enkrypt_mcp_data": data(Some(&tool))})
            }
            Ok((tool, Ok(r), _)) => {
                ok += 1;
                json!({"status": "success", "message": "Request processed successfully", "response": text(&r),
                       "content": r.content, "structured_content": r.structured_content,
                       "enkrypt_mcp_data": data(Some(&tool))})
            }
        };
        let stop = entry["status"] != "success";
        results.push(entry);
        if stop {
            break;
        }
    }
    let value = json!({
        "server_name": server,
        "status": "success",
        "summary": {"total_calls": calls.len(), "successful_calls": ok, "blocked_calls": blocked,
                    "failed_calls": failed},
        "guardrails_applied": {"input_guardrails_enabled": !chains.input.is_empty(),
                               "output_guardrails_enabled": !chains.output.is_empty()},
        "results": results,
    });
    if ok == calls.len() { CallToolResult::structured(value) } else { CallToolResult::structured_error(value) }
}

/// One `{name, args}` entry (`tool_name`/`tool` and `arguments` accepted too).
fn parse_call(entry: &Value) -> Result<(&str, JsonObject), &'static str> {
    let Value::Object(entry) = entry else { return Err("each tool call must be an object {\"name\", \"args\"}") };
    let name = ["name", "tool_name", "tool"].iter().find_map(|k| entry.get(*k).and_then(Value::as_str));
    let Some(name) = name else { return Err("a tool call has no name") };
    let args = match entry.get("args").or_else(|| entry.get("arguments")) {
        None | Some(Value::Null) => JsonObject::new(),
        Some(Value::Object(a)) => a.clone(),
        Some(_) => return Err("a tool call's args must be an object"),
    };
    // Enkrypt's shape allows `env`; Warden never changes an upstream's environment per call.
    if entry.get("env").is_some_and(|e| e.as_object().is_none_or(|m| !m.is_empty())) {
        return Err("env is not supported: an upstream's environment is set in the gateway's config");
    }
    Ok((name, args))
}

async fn cache_status(gw: &Gateway, principal: Option<&Principal>) -> CallToolResult {
    let views = views(gw, principal).await;
    let servers: Map<String, Value> = views
        .iter()
        .map(|v| {
            let value = json!({
                "tool_count": v.tools.len(),
                "hidden_count": v.hidden.len(),
                "listed": v.listed.is_ok(),
                "error": v.listed.as_ref().err(),
                "needs_discovery": v.listed.is_err(),
                "are_tools_explicitly_defined": false,
                "status": state(v.upstream, v.listed.is_err()),
            });
            (v.upstream.name().to_string(), value)
        })
        .collect();
    let last = last_refresh().map(|t| t.elapsed().as_secs());
    CallToolResult::structured(json!({
        "status": "success",
        "cache_status": {
            "cache_type": "warden-tool-lists",
            "note": "Warden holds each server's tool list from its last listing (at start, when the server announces \
                     a change, at a reload); there is no expiry. enkrypt_clear_cache re-lists now.",
            "servers": servers,
            "server_count": servers.len(),
            "tool_pinning": gw.pinning(),
            "seconds_since_requested_refresh": last,
        },
    }))
}

static LAST_REFRESH: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);

fn last_refresh() -> Option<Instant> {
    LAST_REFRESH.lock().ok().and_then(|g| *g)
}

async fn clear_cache(gw: &Gateway, principal: Option<&Principal>, args: &JsonObject) -> CallToolResult {
    let cache_type = args.get("cache_type").and_then(Value::as_str).unwrap_or("all");
    match cache_type {
        "all" | "server_config" | "servers" | "tools" => {}
        "gateway_config" => {
            return CallToolResult::structured(json!({"status": "info",
                "message": "Warden does not cache its config: it is reloaded with SIGHUP or `warden reload`"}));
        }
        _ => return error("cache_type must be all, server_config or gateway_config"),
    }
    if views(gw, principal).await.is_empty() {
        return error("this caller may use no server");
    }
    // Re-listing asks every upstream: bounded gateway-wide, whoever asks.
    let wait = {
        let Ok(mut last) = LAST_REFRESH.lock() else { return error("refresh state unavailable") };
        match *last {
            Some(t) if t.elapsed() < REFRESH_INTERVAL => Some(REFRESH_INTERVAL - t.elapsed()),
            _ => {
                *last = Some(Instant::now());
                None
            }
        }
    };
    if let Some(wait) = wait {
        return CallToolResult::structured(json!({"status": "info",
            "message": format!("tool lists were re-listed moments ago; try again in {} s", wait.as_secs() + 1)}));
    }
    gw.refresh().await;
    let views = views(gw, principal).await;
    let counts: Map<String, Value> = views
        .iter()
        .map(|v| {
            let value = match &v.listed {
                Ok(_) => json!({"status": "success", "tool_count": v.tools.len()}),
                Err(e) => json!({"status": "error", "error": e}),
            };
            (v.upstream.name().to_string(), value)
        })
        .collect();
    CallToolResult::structured(json!({
        "status": "success",
        "message": format!("Re-listed the tools of {} servers", views.len()),
        "servers": counts,
    }))
}

async fn timeout_metrics(gw: &Gateway, principal: Option<&Principal>) -> CallToolResult {
    let views = views(gw, principal).await;
    let snapshot = gw.metrics_snapshot();
    let failures = gw.metrics_handle().upstream_failures();
    let mut per_server = Map::new();
    let (mut total, mut succeeded, mut timeouts, mut errors) = (0u64, 0u64, 0u64, 0u64);
    for v in &views {
        let server = v.upstream.name();
        let calls = snapshot.events.iter().filter(|((stage, s, _, _), _)| stage == "call" && s == server);
        let (mut n, mut ok) = (0, 0);
        for ((_, _, _, outcome), count) in calls {
            n += count;
            if outcome == "allowed" {
                ok += count;
            }
        }
        let failed =
            |kind: &str| failures.iter().filter(|((s, k), _)| s == server && *k == kind).map(|(_, c)| *c).sum::<u64>();
        let (t, e) = (failed("timeout"), failed("error"));
        let spec = v.upstream.spec();
        per_server.insert(
            server.to_string(),
            json!({"total_operations": n, "successful_operations": ok, "timeout_operations": t,
                   "failed_operations": e, "call_timeout_ms": spec.call_timeout.as_millis() as u64,
                   "connect_timeout_ms": spec.connect_timeout.as_millis() as u64}),
        );
        (total, succeeded, timeouts, errors) = (total + n, succeeded + ok, timeouts + t, errors + e);
    }
    let rate = if total == 0 { 0.0 } else { succeeded as f64 / total as f64 };
    CallToolResult::structured(json!({
        "timeout_metrics": {
            "total_operations": total,
            "successful_operations": succeeded,
            "timeout_operations": timeouts,
            "failed_operations": errors,
            "cancelled_operations": 0,
            "success_rate": rate,
        },
        "servers": per_server,
        "timeout_config": {
            "tool_execution_timeout_ms": views.iter()
                .map(|v| (v.upstream.name().to_string(), json!(v.upstream.spec().call_timeout.as_millis() as u64)))
                .collect::<Map<String, Value>>(),
        },
        "source": "the counters /metrics exports (warden_stage_events_total{stage=\"call\"}) since the gateway started",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_arguments_are_masked() {
        let args: Vec<String> = [
            "-y",
            "@modelcontextprotocol/server-github",
            "--token",
            "abc",
            "--api-key=sk-live-123",
            "ghp_A1b2C3d4E5f6G7h8I9j0K1l2",
            "postgres://user:pw@db:5432/app",
            "/home/me/projects",
            "PASSWORD=hunter2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let shown = mask_args(&args);
        assert_eq!(
            shown,
            [
                "-y",
                "@modelcontextprotocol/server-github",
                "--token",
                "****",
                "--api-key=****",
                "****",
                "****",
                "/home/me/projects",
                "PASSWORD=****"
            ]
        );
    }

    #[test]
    fn urls_lose_credentials_and_queries() {
        assert_eq!(safe_url("https://u:p@mcp.example.com/mcp?token=x"), "https://mcp.example.com/mcp?…");
        assert_eq!(safe_url("http://127.0.0.1:9/mcp"), "http://127.0.0.1:9/mcp");
    }

    #[test]
    fn calls_parse_in_the_reference_shapes() {
        let entry = json!({"name": "echo", "args": {"message": "hi"}});
        let (name, args) = parse_call(&entry).expect("parses");
        assert_eq!((name, args.len()), ("echo", 1));
        assert_eq!(parse_call(&json!({"tool_name": "add"})).expect("alias").0, "add");
        assert!(parse_call(&json!({"name": "echo", "env": {"PATH": "/tmp"}})).is_err());
        assert!(parse_call(&json!({"name": "echo", "env": {}})).is_ok());
        assert!(parse_call(&json!({"args": {}})).is_err());
        assert!(parse_call(&json!("echo")).is_err());
        let names: Vec<String> = tools().iter().map(|t| t.name.to_string()).collect();
        assert_eq!(names, NAMES);
    }
}
