//! Hardening (issue 7, items 1 and 2), end to end against the real `warden` binary:
//! bad input on every entry point gets a clear JSON-RPC error or HTTP status and the
//! gateway keeps serving; hostile tool names never route anywhere; arguments are
//! checked against the tool's schema before the upstream runs; every bad credential
//! is refused on every method; no secret reaches logs, OTLP, metrics or answers.
//! Property tests cover the message screen, the config parser and tool naming.

mod common;

use common::{Started, b64url, sign_hs256, spawn_gateway};
use proptest::prelude::*;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const API_KEY: &str = "wdn_hardening_key_0123456789";

/// A running `warden serve`; killed on drop; stderr collected.
struct Gateway {
    child: Child,
    url: String,
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

fn temp(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("hardening-{}-{n}-{name}", std::process::id()))
}

impl Gateway {
    fn start(config: Option<&str>, env: &[(&str, &str)]) -> Gateway {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
        cmd.args(["serve", "--listen", "127.0.0.1:0"]);
        if let Some(body) = config {
            let path = temp("warden.toml");
            std::fs::write(&path, body).expect("write config");
            cmd.arg("--config").arg(path);
        }
        cmd.env("XDG_CACHE_HOME", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-cache"))
            .env("XDG_STATE_HOME", temp("state"))
            .env("WARDEN_API_KEY", API_KEY)
            .env("RUST_LOG", "info,rmcp=warn")
            .env_remove("WARDEN_CONFIG")
            .envs(env.iter().copied());
        let Started { child, url, log } =
            spawn_gateway(cmd, Duration::from_secs(60)).unwrap_or_else(|log| panic!("gateway did not start:\n{log}"));
        let addr = url.trim_start_matches("http://").trim_end_matches("/mcp").to_string();
        Gateway { child, url, addr, log }
    }

    async fn client(&self, key: &str) -> RunningService<RoleClient, ()> {
        warden_mcp::install_tls_provider();
        let config = StreamableHttpClientTransportConfig::with_uri(self.url.clone()).auth_header(key);
        ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("client connects")
    }

    fn log(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }

    /// How many times the demo upstream ran `tool` (its log lines).
    fn upstream_calls(&self, tool: &str) -> usize {
        let needle = format!("tool={tool}");
        self.log.lock().expect("log").iter().filter(|l| l.contains("demo tool called") && l.contains(&needle)).count()
    }

    /// A raw HTTP request; (status, head, body). The body is read to the end.
    fn raw(&self, method: &str, path: &str, headers: &str, body: &[u8]) -> (u16, String, String) {
        let mut stream = std::net::TcpStream::connect(&self.addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        stream.write_all(head.as_bytes()).expect("send head");
        // A server may answer (413) before reading a huge body: stop writing then.
        let _ = stream.write_all(body);
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let response = String::from_utf8_lossy(&response).into_owned();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status = head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
        (status, head.to_string(), body.to_string())
    }

    /// POST /mcp with the usual MCP headers, `key` and `extra` header lines.
    fn post(&self, key: &str, extra: &str, body: &[u8]) -> (u16, String, String) {
        let headers = format!(
            "Authorization: Bearer {key}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n{extra}"
        );
        self.raw("POST", "/mcp", &headers, body)
    }

    /// A new MCP session over raw HTTP: its id.
    fn session(&self) -> String {
        self.session_of(API_KEY)
    }

    /// A new MCP session of the caller with `key`.
    fn session_of(&self, key: &str) -> String {
        let (status, head, body) = self.post(key, "", INITIALIZE.as_bytes());
        assert_eq!(status, 200, "{head}\n{body}");
        let id = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("mcp-session-id:").map(|v| v.trim().to_string()))
            .expect("session id");
        let (status, ..) = self.post(key, &format!("Mcp-Session-Id: {id}\r\n"), INITIALIZED.as_bytes());
        assert_eq!(status, 202);
        id
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// The JSON-RPC message in a response body: plain JSON, or the last SSE `data:` line.
fn message(body: &str) -> Value {
    if let Ok(v) = serde_json::from_str(body) {
        return v;
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .next_back()
        .unwrap_or(Value::Null)
}

fn text(r: &CallToolResult) -> String {
    r.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join("\n")
}

fn args(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("arguments must be an object"),
    }
}

async fn echo(client: &rmcp::service::Peer<RoleClient>, message: &str) -> CallToolResult {
    let request = CallToolRequestParams::new("demo__echo").with_arguments(args(json!({"message": message})));
    client.call_tool(request).await.expect("tools/call answered")
}

/// The gateway still serves a normal call.
async fn assert_healthy(client: &rmcp::service::Peer<RoleClient>, after: &str) {
    let r = echo(client, "still here").await;
    assert_eq!((text(&r).as_str(), r.is_error), ("still here", Some(false)), "after {after}");
}

/// (what, body, HTTP status, JSON-RPC code if any, words in the message)
type Case = (&'static str, Vec<u8>, u16, Option<i64>, &'static str);

#[tokio::test]
async fn bad_http_input_gets_a_clear_answer_and_the_gateway_keeps_serving() {
    let gw = Gateway::start(None, &[]);
    let client = gw.client(API_KEY).await;
    let session = gw.session();
    let sid = format!("Mcp-Session-Id: {session}\r\n");
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"x":{}1{}}}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"demo__echo","arguments":{{"message":"{}"}}}}}}"#,
        "a".repeat(5 * 1024 * 1024)
    );
    let cases: Vec<Case> = vec![
        ("invalid JSON", b"{not json".to_vec(), 400, Some(-32700), "parse error"),
        ("empty body", Vec::new(), 400, Some(-32700), "parse error"),
        (
            "invalid UTF-8",
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\xff\xfeng\"}".to_vec(),
            400,
            Some(-32700),
            "UTF-8",
        ),
        ("no id, no method", br#"{"jsonrpc":"2.0"}"#.to_vec(), 400, Some(-32600), "method"),
        ("id without method", br#"{"jsonrpc":"2.0","id":3}"#.to_vec(), 400, Some(-32600), "result"),
        ("wrong jsonrpc", br#"{"jsonrpc":"1.0","id":3,"method":"ping"}"#.to_vec(), 400, Some(-32600), "jsonrpc"),
        ("object id", br#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#.to_vec(), 400, Some(-32600), "id"),
        ("null id", br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#.to_vec(), 400, Some(-32600), "id"),
        ("numeric method", br#"{"jsonrpc":"2.0","id":3,"method":42}"#.to_vec(), 400, Some(-32600), "method"),
        (
            "array params",
            br#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":[1]}"#.to_vec(),
            400,
            Some(-32602),
            "params",
        ),
        (
            "tool name not a string",
            br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":7}}"#.to_vec(),
            400,
            Some(-32602),
            "name",
        ),
        (
            "arguments not an object",
            br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"demo__echo","arguments":"x"}}"#
                .to_vec(),
            400,
            Some(-32602),
            "arguments",
        ),
        ("a batch", br#"[{"jsonrpc":"2.0","id":3,"method":"ping"}]"#.to_vec(), 400, Some(-32600), "batch"),
        ("a scalar", b"42".to_vec(), 400, Some(-32600), "object"),
        (
            "unknown method",
            br#"{"jsonrpc":"2.0","id":3,"method":"tools/destroy"}"#.to_vec(),
            200,
            Some(-32601),
            "method not found: tools/destroy",
        ),
        ("deep nesting", deep.into_bytes(), 400, Some(-32700), "nested deeper"),
        ("huge body", huge.into_bytes(), 413, Some(-32600), "limit"),
    ];
    for (what, body, status, code, words) in cases {
        let (got, head, answer) = gw.post(API_KEY, &sid, &body);
        assert_eq!(got, status, "{what}: {head}\n{answer}");
        let message = message(&answer);
        assert_eq!(message["error"]["code"].as_i64(), code, "{what}: {answer}");
        let text = message["error"]["message"].as_str().unwrap_or_default();
        assert!(text.contains(words), "{what}: {text:?} lacks {words:?}");
        assert!(answer.len() < 1000, "{what}: the answer does not echo the input ({} bytes)", answer.len());
        assert_healthy(&client, what).await;
    }
    // The id of a refused request is kept when it is usable.
    let (_, _, answer) =
        gw.post(API_KEY, &sid, br#"{"jsonrpc":"2.0","id":"req-9","method":"tools/call","params":{"name":[]}}"#);
    assert_eq!(message(&answer)["id"], "req-9");

    // Media types (the Streamable HTTP spec): 415 and 406.
    let post_with = |headers: &str| {
        let headers = format!("Authorization: Bearer {API_KEY}\r\n{sid}{headers}");
        gw.raw("POST", "/mcp", &headers, br#"{"jsonrpc":"2.0","id":5,"method":"ping"}"#).0
    };
    assert_eq!(post_with("Content-Type: text/plain\r\nAccept: application/json, text/event-stream\r\n"), 415);
    assert_eq!(post_with("Accept: application/json, text/event-stream\r\n"), 415, "no Content-Type");
    assert_eq!(post_with("Content-Type: application/json\r\nAccept: application/json\r\n"), 406);
    assert_eq!(post_with("Content-Type: application/json\r\nAccept: text/html\r\n"), 406);
    assert_eq!(post_with("Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"), 200);
    let auth = format!("Authorization: Bearer {API_KEY}\r\n");
    assert_eq!(gw.raw("GET", "/mcp", &format!("{auth}{sid}Accept: text/html\r\n"), b"").0, 406);
    let (status, _, answer) = gw.raw("PUT", "/mcp", &format!("{auth}{sid}"), b"{}");
    assert_eq!((status, message(&answer)["error"]["code"].as_i64()), (405, Some(-32600)), "{answer}");
    // rmcp's own refusals are JSON-RPC errors too.
    let headers = format!("{auth}{sid}Content-Type: text/plain\r\nAccept: application/json, text/event-stream\r\n");
    let (_, head, answer) = gw.raw("POST", "/mcp", &headers, b"{}");
    assert!(
        message(&answer)["error"]["message"].as_str().is_some_and(|m| m.contains("Content-Type")),
        "{head}\n{answer}"
    );

    // Unknown sessions are 404 on every method; so is a session after DELETE.
    let bogus = "Mcp-Session-Id: 00000000-dead-beef-0000-000000000000\r\n";
    let ping = br#"{"jsonrpc":"2.0","id":6,"method":"ping"}"#;
    assert_eq!(gw.post(API_KEY, bogus, ping).0, 404);
    assert_eq!(gw.raw("GET", "/mcp", &format!("{auth}{bogus}Accept: text/event-stream\r\n"), b"").0, 404);
    assert_eq!(gw.raw("DELETE", "/mcp", &format!("{auth}{bogus}"), b"").0, 404, "DELETE of an unknown session");
    let (status, _, answer) = gw.post(API_KEY, bogus, ping);
    assert_eq!((status, message(&answer)["error"]["message"].as_str().is_some()), (404, true), "{answer}");
    let ended = gw.session();
    let ended_header = format!("Mcp-Session-Id: {ended}\r\n");
    assert_eq!(gw.raw("DELETE", "/mcp", &format!("{auth}{ended_header}"), b"").0, 202);
    assert_eq!(gw.post(API_KEY, &ended_header, ping).0, 404, "a terminated session is gone");

    // A call before initialize (no session): 400.
    let list = br#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#;
    let (status, _, answer) = gw.post(API_KEY, "", list);
    assert_eq!((status, message(&answer)["error"]["code"].as_i64()), (400, Some(-32600)), "{answer}");
    assert!(answer.contains("Session ID is required"), "{answer}");
    assert_healthy(&client, "session faults").await;
    // The raw session still works too.
    let call = br#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"demo__echo","arguments":{"message":"raw ok"}}}"#;
    let (status, _, answer) = gw.post(API_KEY, &sid, call);
    assert_eq!((status, message(&answer)["result"]["content"][0]["text"].as_str()), (200, Some("raw ok")), "{answer}");
}

#[tokio::test]
async fn hostile_tool_names_are_unknown_and_never_routed_elsewhere() {
    let gw = Gateway::start(None, &[]);
    let client = gw.client(API_KEY).await;
    let long = format!("demo__{}", "e".repeat(200_000));
    let names = [
        "demo__nope",
        "",
        "../demo__echo",
        "demo__echo/../demo__add",
        "demo__add/../demo__echo",
        "demo%2F%2Fecho",
        "demo__%65cho",
        "demo/echo",
        "demo__echo\0",
        "demo__echo\0demo__add",
        "demo__echo ",
        " demo__echo",
        "DEMO__ECHO",
        "demo__ech\u{043e}",        // Cyrillic o
        "d\u{0435}mo__echo",        // Cyrillic e
        "ｄｅｍｏ__ｅｃｈｏ",       // full width
        "demo__e\u{200b}cho",       // zero-width space
        "demo\u{ff3f}\u{ff3f}echo", // full-width low lines
        "demo_echo",
        "echo",
        "demo__echo\n",
        &long,
    ];
    for name in names {
        let request = CallToolRequestParams::new(name.to_string()).with_arguments(args(json!({"message": "x"})));
        let err = client.call_tool(request).await.expect_err("an unknown tool is a protocol error");
        let message = err.to_string();
        assert!(message.contains("unknown tool"), "{name:?}: {message}");
        assert!(message.len() < 400, "{name:?}: the name is cut in the error ({} bytes)", message.len());
        assert!(!message.contains('\0'), "{name:?}: control characters are escaped");
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(gw.upstream_calls("echo") + gw.upstream_calls("add"), 0, "nothing reached the upstream");
    assert_healthy(&client, "hostile names").await;
}

#[tokio::test]
async fn arguments_that_do_not_fit_the_schema_never_reach_the_upstream() {
    let gw = Gateway::start(None, &[]);
    let client = gw.client(API_KEY).await;
    let call = |tool: &str, arguments: Value| {
        let request = CallToolRequestParams::new(tool.to_string()).with_arguments(args(arguments));
        client.call_tool(request)
    };
    let cases = [
        ("demo__add", json!({"a": "two", "b": 3}), "invalid argument \"a\": expected number, got string"),
        ("demo__add", json!({"a": 1}), "missing required property \"b\""),
        ("demo__add", json!({"a": [1], "b": {"x": 1}}), "invalid argument \"b\": expected number, got object"),
        ("demo__echo", json!({"message": 5}), "invalid argument \"message\": expected string, got integer"),
        ("demo__echo", json!({"message": null}), "expected string, got null"),
        ("demo__echo", json!({}), "missing required property \"message\""),
        // A secret in a wrong-typed argument is not echoed.
        ("demo__add", json!({"a": "AKIAIOSFODNN7EXAMPLE", "b": 1}), "expected number"),
    ];
    for (tool, arguments, expected) in cases {
        let r = call(tool, arguments.clone()).await.expect("an isError result, not a protocol error");
        assert_eq!(r.is_error, Some(true), "{tool} {arguments}");
        assert!(text(&r).contains(expected), "{tool} {arguments}: {}", text(&r));
        assert!(!text(&r).contains("AKIA"), "{}", text(&r));
    }
    // Arguments within the schema but too large for the gateway: refused at the door
    // (raw HTTP: the rmcp client does not give up on a 413).
    let sid = format!("Mcp-Session-Id: {}\r\n", gw.session());
    let body = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": "demo__echo", "arguments": {"message": "b".repeat(5 * 1024 * 1024)}}});
    let (status, _, answer) = gw.post(API_KEY, &sid, body.to_string().as_bytes());
    assert_eq!(status, 413, "{answer}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(gw.upstream_calls("echo") + gw.upstream_calls("add"), 0, "the upstream never ran");
    let r = call("demo__add", json!({"a": 2, "b": 3})).await.expect("answered");
    assert_eq!(text(&r), "5");
    assert_healthy(&client, "schema faults").await;
}

#[tokio::test]
async fn bad_stdio_input_gets_a_clear_answer_and_the_session_keeps_serving() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["serve", "--stdio"])
        .env("XDG_CACHE_HOME", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-cache"))
        .env("XDG_STATE_HOME", temp("state"))
        .env("WARDEN_API_KEY", API_KEY)
        .env("RUST_LOG", "warn")
        .env_remove("WARDEN_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("warden starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(serde_json::from_str(&line).unwrap_or_else(|_| json!({"unparsable": line})));
        }
    });
    let mut send = |line: &[u8]| {
        stdin.write_all(line).expect("write");
        stdin.write_all(b"\n").expect("write");
        stdin.flush().expect("flush");
    };
    let answer = || rx.recv_timeout(Duration::from_secs(30)).expect("an answer line");

    send(br#"{"jsonrpc":"2.0","id":"early","method":"tools/list"}"#);
    let early = answer();
    assert_eq!((early["id"].as_str(), early["error"]["code"].as_i64()), (Some("early"), Some(-32600)), "{early}");
    assert!(early["error"]["message"].as_str().is_some_and(|m| m.contains("initialize")), "{early}");
    send(INITIALIZE.as_bytes());
    assert!(answer()["result"]["serverInfo"].is_object());
    send(INITIALIZED.as_bytes());
    let deep = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    let huge = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"x":"{}"}}}}"#, "z".repeat(5 << 20));
    let cases: Vec<(&str, Vec<u8>, i64)> = vec![
        ("invalid JSON", b"garbage".to_vec(), -32700),
        ("invalid UTF-8", b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xc3\x28\"}".to_vec(), -32700),
        ("missing method", br#"{"jsonrpc":"2.0","id":2}"#.to_vec(), -32600),
        ("a batch", br#"[{"jsonrpc":"2.0","id":3,"method":"ping"}]"#.to_vec(), -32600),
        ("numeric method", br#"{"jsonrpc":"2.0","id":4,"method":4}"#.to_vec(), -32600),
        ("unknown method", br#"{"jsonrpc":"2.0","id":5,"method":"nope/nope"}"#.to_vec(), -32601),
        ("deep nesting", deep.into_bytes(), -32700),
        ("huge line", huge.into_bytes(), -32600),
        ("bad params", br#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":1}}"#.to_vec(), -32602),
    ];
    for (what, line, code) in cases {
        send(&line);
        let got = answer();
        assert_eq!(got["error"]["code"].as_i64(), Some(code), "{what}: {got}");
        send(br#"{"jsonrpc":"2.0","id":"ok","method":"tools/call","params":{"name":"demo__echo","arguments":{"message":"fine"}}}"#);
        let ok = answer();
        assert_eq!(ok["result"]["content"][0]["text"], "fine", "after {what}: {ok}");
    }
    let _ = child.kill();
    let _ = child.wait();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The screen never panics; what it accepts is one JSON-RPC object.
    #[test]
    fn screening_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(v) = warden_mcp::jsonrpc::screen(&bytes, Default::default()) {
            prop_assert!(v.is_object());
            prop_assert_eq!(&v["jsonrpc"], "2.0");
        }
    }

    /// JSON-shaped input (the interesting part of the space): never a panic; refused
    /// ones carry a JSON-RPC code and a usable id or null.
    #[test]
    fn screening_json_shapes(value in json_value(), method in prop_oneof![Just("tools/call".to_string()), Just("ping".to_string()), "[a-z/]{0,12}"]) {
        let mut message = json!({"jsonrpc": "2.0", "id": value.clone(), "method": method, "params": value.clone()});
        for candidate in [value.clone(), message.take()] {
            let bytes = serde_json::to_vec(&candidate).expect("json");
            match warden_mcp::jsonrpc::screen(&bytes, Default::default()) {
                Ok(v) => prop_assert!(v.is_object()),
                Err(r) => {
                    prop_assert!([-32700, -32600, -32602].contains(&r.code));
                    let id = r.to_json()["id"].clone();
                    prop_assert!(id.is_null() || id.is_string() || id.is_i64() || id.is_u64());
                }
            }
        }
    }

    /// Schema checks never panic, whatever an upstream's schema and a caller's
    /// arguments are, and never quote a string value of the arguments.
    #[test]
    fn schema_validation_never_panics(schema in json_value(), value in json_value(), secret in "[A-Z]{12}") {
        let schema = match schema {
            Value::Object(o) => o,
            other => serde_json::Map::from_iter([("items".to_string(), other.clone()), ("enum".to_string(), other)]),
        };
        let value = json!({"k": value, "s": secret});
        if let Err(problems) = warden_mcp::schema::validate(&schema, &value) {
            prop_assert!(!problems.is_empty() && problems.len() <= 5);
            prop_assert!(problems.iter().all(|p| !p.contains(&secret)), "{:?}", problems);
        }
    }

    /// The config parser never panics on TOML-ish text.
    #[test]
    fn config_parsing_never_panics(text in toml_ish()) {
        let _ = warden_core::config::Config::parse(&text, &|_| None);
    }

    /// Namespaced names are valid, stable, and distinct for distinct tools; a
    /// namespaced name never resolves to another server (the prefix is its own).
    #[test]
    fn namespacing_round_trips_without_collisions(
        server in "[a-z][a-z0-9-]{0,15}",
        other in "[a-z][a-z0-9-]{0,15}",
        a in any::<String>(),
        b in any::<String>(),
    ) {
        use warden_mcp::naming::{namespaced, MAX_LEN};
        let valid = |n: &str| (1..=MAX_LEN).contains(&n.len()) && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let na = namespaced(&server, &a);
        prop_assert!(valid(&na), "{:?}", na);
        prop_assert_eq!(&na, &namespaced(&server, &a));
        let prefix = format!("{server}__");
        prop_assert!(na.starts_with(&prefix) || na.len() == MAX_LEN, "{:?}", na);
        if a != b {
            prop_assert_ne!(&na, &namespaced(&server, &b));
        }
        if server != other {
            prop_assert_ne!(&na, &namespaced(&other, &a));
        }
        // A plain name splits back into its server and tool.
        if na == format!("{server}__{a}") {
            prop_assert_eq!(na.split_once("__"), Some((server.as_str(), a.as_str())));
        }
        let lists = vec![(server.as_str(), vec![a.as_str(), b.as_str()]), (other.as_str(), vec![a.as_str()])];
        for mode in [warden_core::config::ToolPrefix::Always, warden_core::config::ToolPrefix::OnClash, warden_core::config::ToolPrefix::Never] {
            let (names, _) = warden_mcp::naming::assign(mode, &lists);
            let all: Vec<&String> = names.iter().flatten().flatten().collect();
            let distinct: std::collections::HashSet<_> = all.iter().collect();
            prop_assert_eq!(distinct.len(), all.len(), "{:?}", all);
            prop_assert!(all.iter().all(|n| valid(n)));
        }
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("jsonrpc".to_string()),
                    Just("id".into()),
                    Just("method".into()),
                    Just("params".into()),
                    Just("name".into()),
                    ".{0,4}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn toml_ish() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("[gateway]".to_string()),
        Just("[[servers]]".to_string()),
        Just("[[plugins]]".to_string()),
        Just("[sandbox]".to_string()),
        Just("[[gateway.rules]]".to_string()),
        "(name|command|url|listen|auth|input|max_body_bytes|max_json_depth|source|kind|config|tools|effect) = (\"[a-z${}:/.]{0,12}\"|[0-9]{1,20}|\\[\"[a-z]{0,5}\"\\]|\\{ [a-z]{1,4} = [0-9] \\}|true)",
        ".{0,30}",
    ];
    proptest::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n"))
}

/// Arbitrary bytes posted to the live endpoint: never a 5xx, never a hang, and the
/// gateway still serves afterwards.
#[tokio::test]
async fn random_bodies_to_the_http_endpoint_never_break_the_gateway() {
    let gw = Gateway::start(None, &[]);
    let client = gw.client(API_KEY).await;
    let sid = format!("Mcp-Session-Id: {}\r\n", gw.session());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases: 120, ..ProptestConfig::default() });
    let strategy = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        json_value().prop_map(|v| serde_json::to_vec(&v).expect("json")),
        json_value().prop_map(|v| serde_json::to_vec(
            &json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo__echo","arguments":v}})
        )
        .expect("json")),
    ];
    let started = Instant::now();
    runner
        .run(&strategy, |body| {
            let (status, head, answer) = gw.post(API_KEY, &sid, &body);
            prop_assert!((200..500).contains(&status), "{head}\n{answer}");
            Ok(())
        })
        .expect("every body answered below 500");
    assert!(started.elapsed() < Duration::from_secs(300));
    assert_healthy(&client, "random bodies").await;
}

// ---------------------------------------------------------------------------------
// Auth

fn sha256_hex(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(s.as_bytes()))
}

const JWT_SECRET: &str = "hardening-hs256-secret-of-32-bytes-or-more";
const KEY_A: &str = "wdn_project_a_key_abcdef0123456789";
const KEY_B: &str = "wdn_project_b_key_abcdef0123456789";
const REVOKED: &str = "wdn_revoked_key_abcdef0123456789";
const EXPIRED: &str = "wdn_expired_key_abcdef0123456789";

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs()
}

fn claims(exp: u64) -> Value {
    json!({"iss": "https://login.example.com", "aud": "https://mcp.example.com/mcp", "sub": "carol",
           "scope": "alpha/* remote/*", "exp": exp, "iat": now()})
}

/// Two upstreams for two projects; keys and rules keep each project to its own.
fn auth_config(extra_server: &str) -> String {
    format!(
        r#"
[gateway]
auth = ["jwt", "apikey"]
input = ["secrets"]
[[gateway.rules]]
effect = "allow"
projects = ["a"]
tools = ["alpha"]
[[gateway.rules]]
effect = "allow"
projects = ["b"]
tools = ["beta"]
[[gateway.rules]]
effect = "allow"
principals = ["carol"]
tools = ["alpha"]
[[gateway.rules]]
effect = "allow"
principals = ["a-user", "carol"]
tools = ["remote"]
[[servers]]
name = "alpha"
command = "${{WARDEN_EXE}}"
args = ["demo-server"]
[[servers]]
name = "beta"
command = "${{WARDEN_EXE}}"
args = ["demo-server"]
{extra_server}
[[plugins]]
name = "jwt"
kind = "auth"
source = "builtin:auth-jwt"
config = {{ issuer = "https://login.example.com", audience = "https://mcp.example.com/mcp", hs256_secret = "{JWT_SECRET}" }}
[[plugins]]
name = "secrets"
kind = "guardrail"
source = "builtin:guard-secrets"
[[plugins]]
name = "apikey"
kind = "auth"
source = "builtin:auth-apikey"
config = {{ keys = [
  {{ id = "a-user", sha256 = "{}", project = "a" }},
  {{ id = "b-user", sha256 = "{}", project = "b" }},
  {{ id = "gone", sha256 = "{}", project = "a", disabled = true }},
  {{ id = "old", sha256 = "{}", project = "a", expires_at = 1000 }},
] }}
"#,
        sha256_hex(KEY_A),
        sha256_hex(KEY_B),
        sha256_hex(REVOKED),
        sha256_hex(EXPIRED),
    )
}

/// Every bad credential, on every method and endpoint, is a 401: with a live
/// session made by a good key too (a session id is not a credential).
#[tokio::test]
async fn every_bad_credential_is_refused_on_every_method() {
    let gw = Gateway::start(Some(&auth_config("")), &[]);
    let secret = JWT_SECRET.as_bytes();
    let hs256 = r#"{"alg":"HS256","typ":"JWT"}"#;
    let mut wrong_aud = claims(now() + 300);
    wrong_aud["aud"] = json!("https://elsewhere.example.com/mcp");
    let alg_none =
        format!("{}.{}.", b64url(br#"{"alg":"none","typ":"JWT"}"#), b64url(claims(now() + 300).to_string().as_bytes()));
    let credentials: Vec<(&str, Option<String>)> = vec![
        ("no credentials", None),
        ("empty bearer", Some(String::new())),
        ("wrong key", Some("wdn_not_a_key_at_all_0123456789".into())),
        ("revoked key", Some(REVOKED.into())),
        ("expired key", Some(EXPIRED.into())),
        ("the server's own environment key", Some(API_KEY.into())),
        ("alg none", Some(alg_none)),
        ("alg none with a signature", Some(sign_hs256(secret, r#"{"alg":"none"}"#, &claims(now() + 300)))),
        (
            "wrong signature",
            Some(sign_hs256(b"some-other-secret-of-the-same-size-xxxxxx", hs256, &claims(now() + 300))),
        ),
        ("wrong audience", Some(sign_hs256(secret, hs256, &wrong_aud))),
        ("expired JWT", Some(sign_hs256(secret, hs256, &claims(now() - 600)))),
        (
            "truncated JWT",
            Some(
                sign_hs256(secret, hs256, &claims(now() + 300))
                    .rsplit_once('.')
                    .map(|(h, _)| format!("{h}."))
                    .expect("dot"),
            ),
        ),
    ];
    // A session made by a good key, to try to ride on.
    let good = gw.client(KEY_A).await;
    let (status, head, _) = gw.post(KEY_A, "", INITIALIZE.as_bytes());
    assert_eq!(status, 200);
    let session = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("mcp-session-id:").map(|v| v.trim().to_string()))
        .expect("session");
    let bodies = [
        INITIALIZE.to_string(),
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#.into(),
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"alpha__echo","arguments":{"message":"x"}}}"#
            .into(),
        r#"{"jsonrpc":"2.0","id":4,"method":"prompts/list"}"#.into(),
        r#"{"jsonrpc":"2.0","id":5,"method":"prompts/get","params":{"name":"alpha__greeting"}}"#.into(),
        r#"{"jsonrpc":"2.0","id":6,"method":"resources/list"}"#.into(),
        r#"{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"demo://readme"}}"#.into(),
        r#"{"jsonrpc":"2.0","id":8,"method":"ping"}"#.into(),
        "not even json".into(),
    ];
    for (what, credential) in &credentials {
        let auth = credential.as_ref().map(|c| format!("Authorization: Bearer {c}\r\n")).unwrap_or_default();
        for with_session in [false, true] {
            let sid = if with_session { format!("Mcp-Session-Id: {session}\r\n") } else { String::new() };
            for body in &bodies {
                let headers = format!(
                    "{auth}{sid}Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
                );
                let (status, head, answer) = gw.raw("POST", "/mcp", &headers, body.as_bytes());
                assert_eq!(status, 401, "{what}, {body}: {head}\n{answer}");
                assert!(head.to_ascii_lowercase().contains("www-authenticate: bearer"), "{what}: {head}");
                if let Some(c) = credential.as_ref().filter(|c| c.len() > 8) {
                    assert!(
                        !answer.contains(c.as_str()) && !head.contains(c.as_str()),
                        "{what}: the credential is echoed"
                    );
                }
            }
            let get = format!("{auth}{sid}Accept: text/event-stream\r\n");
            assert_eq!(gw.raw("GET", "/mcp", &get, b"").0, 401, "{what}: GET /mcp");
            assert_eq!(gw.raw("DELETE", "/mcp", &format!("{auth}{sid}"), b"").0, 401, "{what}: DELETE /mcp");
            assert_eq!(gw.raw("GET", "/metrics", &auth, b"").0, 401, "{what}: /metrics");
        }
        // The X-API-Key header is no way around it either.
        if let Some(c) = credential {
            let headers = format!(
                "X-API-Key: {c}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
            );
            assert_eq!(gw.raw("POST", "/mcp", &headers, INITIALIZE.as_bytes()).0, 401, "{what} as X-API-Key");
        }
    }
    // The good session is untouched, and good credentials still work on every endpoint.
    let r =
        good.call_tool(CallToolRequestParams::new("alpha__echo").with_arguments(args(json!({"message": "ok"})))).await;
    assert_eq!(text(&r.expect("answered")), "ok");
    let token = sign_hs256(secret, hs256, &claims(now() + 300));
    assert_eq!(gw.raw("GET", "/metrics", &format!("Authorization: Bearer {token}\r\n"), b"").0, 200);
    assert_eq!(gw.raw("GET", "/metrics", &format!("Authorization: Bearer {KEY_A}\r\n"), b"").0, 200);
}

/// A key of project A on project B's server: absent from its lists and refused as
/// unknown on every method, and the other way round.
#[tokio::test]
async fn a_key_of_one_project_cannot_use_another_projects_server() {
    let gw = Gateway::start(Some(&auth_config("")), &[]);
    let a = gw.client(KEY_A).await;
    let b = gw.client(KEY_B).await;
    let names = |tools: Vec<rmcp::model::Tool>| {
        let mut n: Vec<String> = tools.into_iter().map(|t| t.name.to_string()).collect();
        n.sort();
        n
    };
    let a_tools = names(a.list_all_tools().await.expect("tools"));
    assert!(!a_tools.is_empty() && a_tools.iter().all(|n| n.starts_with("alpha__")), "{a_tools:?}");
    let b_tools = names(b.list_all_tools().await.expect("tools"));
    assert!(!b_tools.is_empty() && b_tools.iter().all(|n| n.starts_with("beta__")), "{b_tools:?}");
    let a_prompts: Vec<String> = a.list_all_prompts().await.expect("prompts").into_iter().map(|p| p.name).collect();
    assert_eq!(a_prompts, ["alpha__greeting"]);

    let call = |peer: &rmcp::service::Peer<RoleClient>, tool: &str| {
        let request = CallToolRequestParams::new(tool.to_string()).with_arguments(args(json!({"message": "x"})));
        let peer = peer.clone();
        async move { peer.call_tool(request).await }
    };
    let refused = call(&a, "beta__echo").await.expect_err("a's key on b's server");
    assert!(refused.to_string().contains("unknown tool"), "{refused}");
    let refused = call(&b, "alpha__echo").await.expect_err("b's key on a's server");
    assert!(refused.to_string().contains("unknown tool"), "{refused}");
    let prompt = rmcp::model::GetPromptRequestParams::new("beta__greeting");
    assert!(a.get_prompt(prompt).await.is_err(), "a's key gets no prompt of b");
    // Resources are owned by the first server listing a URI (alpha): b's key reads none.
    assert!(b.list_all_resources().await.expect("resources").is_empty());
    let read = b.read_resource(rmcp::model::ReadResourceRequestParams::new("demo://readme")).await;
    assert!(read.is_err(), "b's key reads nothing of a's server");
    assert!(!a.list_all_resources().await.expect("resources").is_empty());
    // A session id is not a credential: b's key cannot ride on a's session (its GET
    // stream carries what the gateway sends a: logs, sampling requests).
    let a_session = format!("Mcp-Session-Id: {}\r\n", gw.session_of(KEY_A));
    let list = br#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;
    assert_eq!(gw.post(KEY_B, &a_session, list).0, 404, "b on a's session");
    let get = |key: &str| format!("Authorization: Bearer {key}\r\n{a_session}Accept: text/event-stream\r\n");
    assert_eq!(gw.raw("GET", "/mcp", &get(KEY_B), b"").0, 404, "b on a's GET stream");
    assert_eq!(gw.raw("DELETE", "/mcp", &format!("Authorization: Bearer {KEY_B}\r\n{a_session}"), b"").0, 404);
    let (status, _, answer) = gw.post(KEY_A, &a_session, list);
    assert!(status == 200 && answer.contains("alpha__echo"), "a's session still works: {answer}");
    assert_eq!(text(&call(&a, "alpha__echo").await.expect("a on a")), "x");
    assert_eq!(text(&call(&b, "beta__echo").await.expect("b on b")), "x");
    std::thread::sleep(Duration::from_millis(300));
    let log = gw.log();
    let calls = log.lines().filter(|l| l.contains("demo tool called")).count();
    assert_eq!(calls, 2, "only the two allowed calls reached an upstream:\n{log}");
}

/// A minimal OTLP/HTTP receiver: every request's head and body.
fn otlp_receiver() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            while let Ok(n) = stream.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:").and_then(|v| v.trim().parse::<usize>().ok()))
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break;
                }
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}");
            sink.lock().expect("lock").push(String::from_utf8_lossy(&buf).into_owned());
        }
    });
    (port, seen)
}

/// Refused and accepted calls carrying an API key, a JWT, an AWS key in the
/// arguments and an upstream bearer token, with debug logs and OTLP on: none of
/// the secrets appears in anything captured.
#[tokio::test]
async fn secrets_never_reach_logs_spans_metrics_or_answers() {
    const UPSTREAM_TOKEN: &str = "upstream_bearer_secret_7f3a9c1e5b";
    const AWS_KEY: &str = "AKIAZ7QX3MNR5TWP2KVD";
    const AWS_SECRET: &str = "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";
    // The upstream: another gateway whose key is the upstream bearer token.
    let upstream = Gateway::start(
        Some("[[servers]]\nname = \"demo\"\ncommand = \"${WARDEN_EXE}\"\nargs = [\"demo-server\"]\n"),
        &[("WARDEN_API_KEY", UPSTREAM_TOKEN)],
    );
    let (port, otlp) = otlp_receiver();
    let endpoint = format!("http://127.0.0.1:{port}");
    let remote =
        format!("[[servers]]\nname = \"remote\"\nurl = \"{}\"\nbearer_token = \"${{UPSTREAM_TOKEN}}\"\n", upstream.url);
    let gw = Gateway::start(
        Some(&auth_config(&remote)),
        &[
            ("RUST_LOG", "debug"),
            ("UPSTREAM_TOKEN", UPSTREAM_TOKEN),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_METRIC_EXPORT_INTERVAL", "300"),
        ],
    );
    let token = sign_hs256(JWT_SECRET.as_bytes(), r#"{"alg":"HS256","typ":"JWT"}"#, &claims(now() + 300));
    let expired = sign_hs256(JWT_SECRET.as_bytes(), r#"{"alg":"HS256","typ":"JWT"}"#, &claims(now() - 600));
    let mut captured: Vec<String> = Vec::new();

    // Refused: bad credentials (their values are secrets too).
    for bad in [REVOKED, EXPIRED, expired.as_str(), "wdn_guessed_key_5555555555555"] {
        let (_, head, body) = gw.post(bad, "", INITIALIZE.as_bytes());
        captured.extend([head, body]);
    }
    // Accepted: an API key and a JWT, calls with a secret in the arguments (blocked)
    // and clean ones, locally and through the remote upstream (its bearer token).
    for credential in [KEY_A, token.as_str()] {
        let client = gw.client(credential).await;
        let tools: Vec<String> =
            client.list_all_tools().await.expect("tools").into_iter().map(|t| t.name.to_string()).collect();
        assert!(tools.contains(&"remote__demo__echo".to_string()), "the remote upstream is reached: {tools:?}");
        captured.push(tools.join(","));
        for tool in ["alpha__echo", "remote__demo__echo"] {
            for message in [format!("deploy with {AWS_KEY} and {AWS_SECRET}"), "hello".to_string()] {
                let request = CallToolRequestParams::new(tool).with_arguments(args(json!({"message": message})));
                match client.call_tool(request).await {
                    Ok(r) => captured.push(serde_json::to_string(&r).expect("json")),
                    Err(e) => captured.push(e.to_string()),
                }
            }
        }
        // A wrong-typed secret (schema refusal) and an unknown tool named after a secret.
        let request = CallToolRequestParams::new("alpha__add").with_arguments(args(json!({"a": AWS_SECRET, "b": 1})));
        captured.push(format!("{:?}", client.call_tool(request).await));
        let request = CallToolRequestParams::new(format!("alpha__{AWS_KEY}")).with_arguments(args(json!({})));
        // An unknown tool named like a secret: not echoed (rmcp logs error answers).
        let unknown = client.call_tool(request).await.expect_err("unknown");
        captured.push(unknown.to_string());
    }
    // The remote calls happened, and the secret-bearing ones were blocked.
    assert!(captured.iter().any(|c| c.contains("hello")), "clean calls answered: {captured:?}");
    assert!(captured.iter().filter(|c| c.contains("secrets.")).count() >= 4, "secret calls blocked: {captured:?}");
    for credential in [KEY_A, token.as_str()] {
        let (status, _, metrics) = gw.raw("GET", "/metrics", &format!("Authorization: Bearer {credential}\r\n"), b"");
        assert_eq!(status, 200);
        captured.push(metrics);
    }
    // Let the OTLP exports (spans, logs, metrics) arrive.
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        let bodies = otlp.lock().expect("lock").join("\n");
        if bodies.contains("/v1/traces") && bodies.contains("/v1/logs") && bodies.contains("/v1/metrics") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(500));
    let otlp = otlp.lock().expect("lock").join("\n");
    assert!(otlp.contains("/v1/traces") && otlp.contains("/v1/logs"), "OTLP received: {}", otlp.len());
    let log = gw.log();
    assert!(log.contains("DEBUG"), "debug logging is on");
    let everything = [("stderr", log), ("OTLP", otlp), ("answers", captured.join("\n"))];
    let secrets = [
        ("API key", KEY_A.to_string()),
        ("revoked key", REVOKED.to_string()),
        ("expired key", EXPIRED.to_string()),
        ("guessed key", "wdn_guessed_key_5555555555555".to_string()),
        ("JWT", token.clone()),
        ("JWT signature", token.rsplit('.').next().expect("sig").to_string()),
        ("expired JWT", expired.clone()),
        ("JWT secret", JWT_SECRET.to_string()),
        ("AWS key id", AWS_KEY.to_string()),
        ("AWS secret", AWS_SECRET.to_string()),
        ("upstream token", UPSTREAM_TOKEN.to_string()),
        ("environment key", API_KEY.to_string()),
    ];
    let mut leaks = Vec::new();
    for (where_, text) in &everything {
        for (what, secret) in &secrets {
            if let Some(at) = text.find(secret.as_str()) {
                let line = text[..at].rsplit('\n').next().unwrap_or_default();
                leaks.push(format!("{what} in {where_}: …{}", &line[line.len().saturating_sub(200)..]));
            }
        }
    }
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}

/// Over stdio the caller is authenticated once, from the environment's key: a key the
/// config does not accept (unknown, revoked, expired) gets no session at all.
#[test]
fn a_stdio_session_with_a_refused_key_serves_nothing() {
    let config = temp("stdio-auth.toml");
    std::fs::write(&config, auth_config("")).expect("config");
    for key in ["wdn_unknown_key_000000000000", REVOKED, EXPIRED, ""] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(["serve", "--stdio", "--config"])
            .arg(&config)
            .env("XDG_CACHE_HOME", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-cache"))
            .env("XDG_STATE_HOME", temp("state"))
            .env("WARDEN_API_KEY", key)
            .env("RUST_LOG", "warn")
            .env_remove("WARDEN_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("warden starts");
        let mut stdin = child.stdin.take().expect("stdin");
        let _ = stdin.write_all(format!("{INITIALIZE}\n").as_bytes());
        let _ = stdin.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}\n");
        drop(stdin);
        let out = child.wait_with_output().expect("exits");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{key:?}: refused, the process fails: {stderr}");
        assert!(!stdout.contains("\"result\""), "{key:?}: nothing served: {stdout}");
        assert!(stderr.contains("refused"), "{key:?}: {stderr}");
        assert!(key.len() < 8 || !stderr.contains(key), "{key:?}: the key is not logged");
    }
}
