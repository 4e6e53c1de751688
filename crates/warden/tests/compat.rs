//! End to end: Enkrypt's meta-tools (`[compat] enkrypt_tools = true`) on the real
//! `warden` binary fronting two demo upstreams, driven by the rmcp client over
//! Streamable HTTP. Every call through `enkrypt_secure_call_tools` must behave like the
//! native `server__tool` call: scopes, input guardrails before the upstream, output
//! guardrails (a withheld result never comes back), audit.

mod common;

use common::Gateway;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{Peer, RoleClient};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::Duration;

const API_KEY: &str = "wdn_compat_admin_0123456789";
const SCOPED_KEY: &str = "wdn_compat_scoped_987654321";
/// A value in the demo server's environment that no answer may contain.
const ENV_SECRET: &str = "env-secret-value-Zq81Wx";
/// A GitHub token: the secrets guardrail blocks it in arguments.
const TOKEN: &str = "ghp_4fT9qLm2Xv8ZrB7nK3pW6yH1sD5cJ0eA9uQz";
/// A word the output guardrail blocks in results.
const BANNED: &str = "launch-codes-7731";

fn hash(k: &str) -> String {
    hex::encode(Sha256::digest(k.as_bytes()))
}

fn config(compat: bool) -> String {
    format!(
        r#"
[gateway]
auth = ["apikey"]
input = ["secrets", "injection"]
output = ["keyword"]

[compat]
enkrypt_tools = {compat}

[[servers]]
name = "demo"
command = "${{WARDEN_EXE}}"
args = ["demo-server", "--faults"]
env = {{ DEMO_API_TOKEN = "{ENV_SECRET}" }}
call_timeout_ms = 1500

[[servers]]
name = "other"
command = "${{WARDEN_EXE}}"
args = ["demo-server"]

[[plugins]]
name = "apikey"
kind = "auth"
source = "builtin:auth-apikey"
config = {{ keys = [{{ id = "admin", sha256 = "{}" }}, {{ id = "scoped", sha256 = "{}", scopes = ["demo/echo", "demo/last_echo"] }}] }}

[[plugins]]
name = "secrets"
kind = "guardrail"
source = "builtin:guard-secrets"

[[plugins]]
name = "injection"
kind = "guardrail"
source = "builtin:guard-injection"

[[plugins]]
name = "keyword"
kind = "guardrail"
source = "builtin:guard-keyword"
config = {{ words = ["{BANNED}"] }}
"#,
        hash(API_KEY),
        hash(SCOPED_KEY)
    )
}

fn start(compat: bool) -> Gateway {
    Gateway::serve("compat", &config(compat), &[])
}

/// Wait (a few seconds at most) until the demo upstreams have logged `n` calls of
/// `tool`: their stderr reaches the gateway's log asynchronously.
fn wait_upstream_calls(gw: &Gateway, tool: &str, n: usize) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while upstream_calls(gw, tool) < n && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    upstream_calls(gw, tool)
}

/// How many times the demo upstreams ran `tool`, from their log lines.
fn upstream_calls(gw: &Gateway, tool: &str) -> usize {
    let needle = format!("tool={tool}");
    let log = gw.log.lock().expect("log lock");
    log.iter().filter(|l| l.contains("demo tool called") && l.contains(&needle)).count()
}

/// `/metrics` of the gateway at `url` (its `/mcp` URL), with the admin's API key.
fn scrape(url: &str) -> String {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://").trim_end_matches("/mcp");
    let mut sock = std::net::TcpStream::connect(addr).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {API_KEY}\r\nConnection: close\r\n\r\n"
    );
    sock.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    let _ = sock.read_to_string(&mut response);
    response
}

async fn call(peer: &Peer<RoleClient>, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else { panic!("arguments must be an object") };
    let request = CallToolRequestParams::new(tool.to_string()).with_arguments(args);
    tokio::time::timeout(Duration::from_secs(30), peer.call_tool(request))
        .await
        .expect("answered in time")
        .expect("call answered")
}

/// A meta-tool's JSON answer (its structured content, also its text).
async fn meta(peer: &Peer<RoleClient>, tool: &str, args: Value) -> (Value, bool) {
    let r = call(peer, tool, args).await;
    let text: String = r.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect();
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{tool}: not JSON ({e}): {text}"));
    assert_eq!(r.structured_content.as_ref(), Some(&value), "structured content and text agree");
    (value, r.is_error == Some(true))
}

async fn tool_names(peer: &Peer<RoleClient>) -> Vec<String> {
    let mut names: Vec<String> =
        peer.list_all_tools().await.expect("tools/list").into_iter().map(|t| t.name.to_string()).collect();
    names.sort();
    names
}

fn secure(server: &str, calls: &Value) -> Value {
    json!({"server_name": server, "tool_calls": calls})
}

#[tokio::test]
async fn meta_tools_go_through_the_whole_pipeline() {
    let gw = start(true);
    let admin = gw.client(API_KEY).await;
    let peer = admin.peer();

    let names = tool_names(peer).await;
    for meta in [
        "enkrypt_list_all_servers",
        "enkrypt_get_server_info",
        "enkrypt_discover_all_tools",
        "enkrypt_secure_call_tools",
        "enkrypt_get_cache_status",
        "enkrypt_clear_cache",
        "enkrypt_get_timeout_metrics",
    ] {
        assert!(names.contains(&meta.to_string()), "{meta} missing from {names:?}");
    }
    assert!(names.contains(&"demo__echo".to_string()), "native tools stay: {names:?}");

    // Servers and their tools.
    let (servers, _) = meta(peer, "enkrypt_list_all_servers", json!({})).await;
    assert_eq!(servers["status"], "success");
    let available = servers["available_servers"].as_object().expect("servers");
    assert!(available.contains_key("demo") && available.contains_key("other"), "{servers}");
    let demo_tools: Vec<&str> =
        available["demo"]["tools"].as_array().expect("tools").iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(demo_tools.contains(&"echo") && demo_tools.contains(&"last_echo"), "{demo_tools:?}");

    // Server info: the env variable's name, never its value.
    let (info, is_error) = meta(peer, "enkrypt_get_server_info", json!({"server_name": "demo"})).await;
    assert!(!is_error, "{info}");
    assert_eq!(info["server_info"]["transport"], "stdio");
    assert_eq!(info["server_info"]["config"]["env"], json!(["DEMO_API_TOKEN"]), "{info}");
    assert_eq!(info["server_info"]["status"], "connected", "{info}");
    assert!(!info.to_string().contains(ENV_SECRET) && !servers.to_string().contains(ENV_SECRET));

    // Discovery, for one server and for all.
    let (one, _) = meta(peer, "enkrypt_discover_all_tools", json!({"server_name": "other"})).await;
    assert_eq!((one["status"].as_str(), one["source"].as_str()), (Some("success"), Some("discovery")), "{one}");
    assert!(one["tools"].as_array().expect("tools").iter().any(|t| t["gateway_name"] == "other__add"), "{one}");
    let (all, _) = meta(peer, "enkrypt_discover_all_tools", json!({})).await;
    assert_eq!(all["discovery_success_servers"], json!(["demo", "other"]), "{all}");

    // An allowed call, then one whose input the secrets guardrail blocks: the
    // upstream never sees it.
    let (r, is_error) = meta(
        peer,
        "enkrypt_secure_call_tools",
        secure("demo", &json!([{"name": "echo", "args": {"message": "hello compat"}}])),
    )
    .await;
    assert!(!is_error, "{r}");
    assert_eq!(r["summary"]["successful_calls"], 1, "{r}");
    assert_eq!(r["results"][0]["status"], "success");
    assert_eq!(r["results"][0]["response"], "hello compat");
    let echoes = wait_upstream_calls(&gw, "echo", 1);
    let (r, is_error) = meta(
        peer,
        "enkrypt_secure_call_tools",
        secure(
            "demo",
            &json!([{"name": "echo", "args": {"message": format!("deploy with {TOKEN}")}}, {"name": "add", "args": {"a": 1, "b": 2}}]),
        ),
    )
    .await;
    assert!(is_error, "a blocked call is an error result: {r}");
    assert_eq!(r["results"][0]["status"], "blocked_input", "{r}");
    assert!(r["results"][0]["message"].as_str().unwrap_or_default().contains("secrets."), "{r}");
    assert_eq!(r["results"].as_array().map(Vec::len), Some(1), "the batch stops at the block: {r}");
    assert!(!r.to_string().contains(TOKEN), "the refusal does not echo the secret");
    let (seen, _) = meta(peer, "enkrypt_secure_call_tools", secure("demo", &json!([{"name": "last_echo"}]))).await;
    assert_eq!(seen["results"][0]["response"], "hello compat", "the upstream never saw the blocked call: {seen}");
    assert_eq!(upstream_calls(&gw, "echo"), echoes, "no further echo reached the upstream");
    assert_eq!(upstream_calls(&gw, "add"), 0, "the call after the block did not run");

    // A result the output guardrail blocks: the upstream ran, the caller never gets it.
    let (r, is_error) = meta(
        peer,
        "enkrypt_secure_call_tools",
        secure("demo", &json!([{"name": "echo", "args": {"message": format!("the {BANNED} are here")}}])),
    )
    .await;
    assert!(is_error);
    assert_eq!(r["results"][0]["status"], "blocked_output", "{r}");
    assert_eq!(r["results"][0]["response"], "");
    assert!(!r.to_string().contains(BANNED), "withheld content came back: {r}");
    let (seen, _) = meta(peer, "enkrypt_secure_call_tools", secure("demo", &json!([{"name": "last_echo"}]))).await;
    assert_eq!(seen["results"][0]["status"], "blocked_output", "last_echo holds the banned word too: {seen}");

    // Unknown tools and servers: errors that do not echo the caller's text.
    let (r, is_error) = meta(peer, "enkrypt_secure_call_tools", secure("demo", &json!([{"name": "nope"}]))).await;
    assert!(is_error && r["results"][0]["status"] == "error", "{r}");
    let (r, is_error) = meta(peer, "enkrypt_get_server_info", json!({"server_name": "nowhere-xyz"})).await;
    assert!(is_error && !r.to_string().contains("nowhere-xyz"), "{r}");

    // A timeout is counted per upstream.
    let (r, _) = meta(peer, "enkrypt_secure_call_tools", secure("demo", &json!([{"name": "hang"}]))).await;
    assert_eq!(r["results"][0]["status"], "error", "{r}");
    let (m, _) = meta(peer, "enkrypt_get_timeout_metrics", json!({})).await;
    assert_eq!(m["servers"]["demo"]["timeout_operations"], 1, "{m}");
    assert!(m["timeout_metrics"]["total_operations"].as_u64() >= Some(4), "{m}");
    assert_eq!(m["servers"]["demo"]["call_timeout_ms"], 1500);
    let metrics = scrape(&gw.url);
    assert!(metrics.contains("warden_upstream_failures_total{server=\"demo\",kind=\"timeout\"} 1"), "{metrics}");

    // Cache: the tool lists held; clearing re-lists them, at most so often.
    let (c, _) = meta(peer, "enkrypt_get_cache_status", json!({})).await;
    assert!(c["cache_status"]["servers"]["demo"]["tool_count"].as_u64() > Some(5), "{c}");
    let (c, _) = meta(peer, "enkrypt_clear_cache", json!({})).await;
    assert_eq!(c["status"], "success", "{c}");
    assert!(c["servers"]["other"]["tool_count"].as_u64() > Some(0), "{c}");
    let (c, _) = meta(peer, "enkrypt_clear_cache", json!({})).await;
    assert_eq!(c["status"], "info", "a second refresh right away is refused: {c}");

    // The meta-tool calls were audited and counted like any request.
    let log = gw.log.lock().expect("log lock").join("\n");
    assert!(!log.contains(TOKEN) && !log.contains(ENV_SECRET), "a secret reached the log");
    admin.cancel().await.expect("client closes");
}

#[tokio::test]
async fn a_scoped_key_sees_and_calls_only_its_tools_through_the_meta_tools() {
    let gw = start(true);
    let scoped = gw.client(SCOPED_KEY).await;
    let peer = scoped.peer();
    let (servers, _) = meta(peer, "enkrypt_list_all_servers", json!({})).await;
    let available = servers["available_servers"].as_object().expect("servers");
    assert_eq!(available.keys().collect::<Vec<_>>(), ["demo"], "{servers}");
    let mut tools: Vec<&str> =
        available["demo"]["tools"].as_array().expect("tools").iter().filter_map(|t| t["name"].as_str()).collect();
    tools.sort();
    assert_eq!(tools, ["echo", "last_echo"]);

    let (r, is_error) = meta(peer, "enkrypt_get_server_info", json!({"server_name": "other"})).await;
    assert!(is_error && r["status"] == "error", "another server is unknown to this key: {r}");
    let (r, is_error) = meta(peer, "enkrypt_secure_call_tools", secure("other", &json!([{"name": "echo"}]))).await;
    assert!(is_error && r["status"] == "error", "{r}");
    let (r, is_error) =
        meta(peer, "enkrypt_secure_call_tools", secure("demo", &json!([{"name": "add", "args": {"a": 1, "b": 2}}])))
            .await;
    assert!(is_error && r["results"][0]["status"] == "error", "{r}");
    let (r, _) = meta(peer, "enkrypt_discover_all_tools", json!({})).await;
    assert_eq!(r["discovery_success_servers"], json!(["demo"]), "{r}");
    let (r, is_error) = meta(
        peer,
        "enkrypt_secure_call_tools",
        secure("demo", &json!([{"name": "echo", "args": {"message": "scoped"}}])),
    )
    .await;
    assert!(!is_error && r["results"][0]["response"] == "scoped", "{r}");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(upstream_calls(&gw, "add"), 0, "an out-of-scope tool never ran");
    let (m, _) = meta(peer, "enkrypt_get_timeout_metrics", json!({})).await;
    assert!(m["servers"].get("other").is_none(), "{m}");
    scoped.cancel().await.expect("client closes");
}

#[tokio::test]
async fn without_compat_the_meta_tools_do_not_exist() {
    let gw = start(false);
    let client = gw.client(API_KEY).await;
    let names = tool_names(client.peer()).await;
    assert!(names.iter().all(|n| !n.starts_with("enkrypt_")), "{names:?}");
    assert!(names.contains(&"demo__echo".to_string()));
    let Value::Object(args) = json!({}) else { unreachable!() };
    let err =
        client.peer().call_tool(CallToolRequestParams::new("enkrypt_list_all_servers").with_arguments(args)).await;
    assert!(err.is_err(), "an unknown tool: {err:?}");
    client.cancel().await.expect("client closes");
}
