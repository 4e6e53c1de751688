//! Past one machine (issue 6, item 4): two `warden serve` replicas that share a
//! session key, each with its own demo upstream, serve one client whose requests a
//! round-robin proxy sends to each in turn. The session id a client gets is sealed
//! (crates/warden-mcp/src/sessions.rs): a replica that never saw the `initialize`
//! restores the session from the id itself, for its owner only.

mod common;

use common::{Started, spawn_gateway};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ALICE: &str = "wdn_replica_alice_0123456789abcdef";
const BOB: &str = "wdn_replica_bob_0123456789abcdef";
/// The key the replicas share (hex), one no replica of theirs has, and the key they
/// rotate to (base64).
const SESSION_KEY: &str = "6a1f3c9e0b7d45e2a8c4f1d09e3b7a5c2d8e6f4a1b3c5d7e9f0a2b4c6d8e0f1a";
const OTHER_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const NEW_KEY: &str = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=";

fn sha256_hex(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The replicas' config; `gateway` goes into its `[gateway]` table.
fn config(gateway: &str) -> String {
    format!(
        r#"
[gateway]
auth = ["apikey"]
{gateway}
[[servers]]
name = "demo"
command = "${{WARDEN_EXE}}"
args = ["demo-server"]
[[plugins]]
name = "apikey"
kind = "auth"
source = "builtin:auth-apikey"
config = {{ keys = [{{ id = "alice", sha256 = "{}" }}, {{ id = "bob", sha256 = "{}" }}] }}
"#,
        sha256_hex(ALICE),
        sha256_hex(BOB)
    )
}

/// `[gateway]` lines that seal session ids with `key`.
fn sealed_with(key: &str) -> String {
    format!("session_key = \"{key}\"")
}

/// A `warden serve` replica; killed on drop.
struct Replica {
    child: Child,
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Replica {
    /// A replica whose `[gateway]` table has the `gateway` lines, with
    /// `WARDEN_SESSION_KEY` set to `env_key` if given.
    fn start(gateway: &str, env_key: Option<&str>) -> Replica {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let temp = |name: &str| {
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("replicas-{}-{n}-{name}", std::process::id()))
        };
        let config = temp("warden.toml");
        std::fs::write(&config, self::config(gateway)).expect("write config");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env("XDG_CACHE_HOME", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-cache"))
            .env("XDG_STATE_HOME", temp("state"))
            .env("WARDEN_API_KEY", ALICE)
            .env("RUST_LOG", "info,rmcp=warn")
            .env_remove("WARDEN_CONFIG")
            .env_remove("WARDEN_SESSION_KEY");
        if let Some(key) = env_key {
            cmd.env("WARDEN_SESSION_KEY", key);
        }
        let Started { child, url, log } =
            spawn_gateway(cmd, Duration::from_secs(60)).unwrap_or_else(|log| panic!("replica did not start:\n{log}"));
        let addr = url.trim_start_matches("http://").trim_end_matches("/mcp").to_string();
        Replica { child, addr, log }
    }

    /// How many times this replica's own demo upstream ran `tool` (its log lines,
    /// relayed asynchronously).
    fn upstream_calls(&self, tool: &str) -> usize {
        let needle = format!("tool={tool}");
        let log = self.log.lock().expect("log lock");
        log.iter().filter(|l| l.contains("demo tool called") && l.contains(&needle)).count()
    }

    /// POST /mcp with the MCP headers, `key` and `extra` header lines: (status, head, body).
    fn post(&self, key: &str, extra: &str, body: &str) -> (u16, String, String) {
        self.send("POST", key, extra, body)
    }

    fn send(&self, method: &str, key: &str, extra: &str, body: &str) -> (u16, String, String) {
        let mut stream = std::net::TcpStream::connect(&self.addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        let request = format!(
            "{method} /mcp HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("send");
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let response = String::from_utf8_lossy(&response).into_owned();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status = head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
        (status, head.to_string(), body.to_string())
    }

    /// A new session of the caller with `key`: its id, exactly as sent (case matters).
    fn initialize(&self, key: &str) -> String {
        let (status, head, body) = self.post(key, "", INITIALIZE);
        assert_eq!(status, 200, "{head}\n{body}");
        head.lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("mcp-session-id").then(|| value.trim().to_string())
            })
            .expect("session id")
    }

    /// `tools/list` on session `id` as the caller with `key`: the status, and the tool
    /// names when it succeeded.
    fn list(&self, key: &str, id: &str) -> (u16, Vec<String>) {
        let (status, _, body) = self.post(key, &format!("Mcp-Session-Id: {id}\r\n"), LIST);
        let names = message(&body)["result"]["tools"]
            .as_array()
            .map(|tools| tools.iter().filter_map(|t| t["name"].as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        (status, names)
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"sampling":{}},"clientInfo":{"name":"raw","version":"0"}}}"#;
const LIST: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;

/// The JSON-RPC message in a response body: plain JSON, or the last SSE `data:` line.
fn message(body: &str) -> Value {
    serde_json::from_str(body.trim())
        .ok()
        .or_else(|| body.lines().rev().find_map(|l| serde_json::from_str(l.strip_prefix("data:")?.trim()).ok()))
        .unwrap_or(Value::Null)
}

/// Which replica got each HTTP request: (replica index, HTTP method, JSON-RPC method).
type Routed = Arc<Mutex<Vec<(usize, String, String)>>>;

/// A loopback load balancer with no affinity: each POST goes to the next replica in
/// turn (GETs, the client's notification stream, take turns of their own). It reads
/// one request per connection, so the client must not reuse connections.
async fn round_robin(backends: Vec<String>) -> (String, Routed) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let routed: Routed = Arc::default();
    let log = routed.clone();
    tokio::spawn(async move {
        let (mut posts, mut gets) = (0usize, 0usize);
        while let Ok((mut client, _)) = listener.accept().await {
            // Read the head and the body (Content-Length), to route and to record.
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 8192];
            let head_end = loop {
                if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(i + 4);
                }
                match client.read(&mut chunk).await {
                    Ok(0) | Err(_) => break None,
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            while buffer.len() < head_end + length {
                match client.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                }
            }
            let method = head.split(' ').next().unwrap_or_default().to_string();
            let rpc = serde_json::from_slice::<Value>(&buffer[head_end..])
                .ok()
                .and_then(|m| m["method"].as_str().map(str::to_string))
                .unwrap_or_default();
            let turn = if method == "POST" { &mut posts } else { &mut gets };
            let backend = *turn % backends.len();
            *turn += 1;
            log.lock().expect("routed lock").push((backend, method, rpc));
            let target = backends[backend].clone();
            tokio::spawn(async move {
                let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await else { return };
                if upstream.write_all(&buffer).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    (format!("http://{addr}/mcp"), routed)
}

async fn call(peer: &rmcp::service::Peer<rmcp::service::RoleClient>, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else { panic!("arguments must be an object") };
    peer.call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args)).await.expect("call answered")
}

fn text(r: &CallToolResult) -> String {
    r.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn one_client_served_alternately_by_two_replicas_keeps_its_session() {
    let (a, b) = (Replica::start(&sealed_with(SESSION_KEY), None), Replica::start(&sealed_with(SESSION_KEY), None));
    let (url, routed) = round_robin(vec![a.addr.clone(), b.addr.clone()]).await;
    // One connection per request, so that every request meets the balancer anew.
    warden_mcp::install_tls_provider();
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("http client");
    let config = StreamableHttpClientTransportConfig::with_uri(url).auth_header(ALICE);
    let client = ().serve(StreamableHttpClientTransport::with_client(http, config)).await.expect("initialize");
    let peer = client.peer();

    // POSTs alternate A, B, A, ...: initialize went to A, notifications/initialized to B.
    let mut expected_echoes = 0;
    for round in 0..3 {
        let tools = peer.list_all_tools().await.expect("tools/list");
        assert!(tools.iter().any(|t| t.name == "demo__echo"), "round {round}: {tools:?}");
        let r = call(peer, "demo__echo", json!({"message": format!("round {round}")})).await;
        assert_eq!((text(&r), r.is_error), (format!("round {round}"), Some(false)));
        let r = call(peer, "demo__add", json!({"a": round, "b": 1})).await;
        assert_eq!(text(&r), (round + 1).to_string());
        expected_echoes += 1;
    }
    let routed = routed.lock().expect("routed lock").clone();
    let served_by = |rpc: &str| {
        let mut replicas: Vec<usize> = routed.iter().filter(|(_, _, m)| m == rpc).map(|(r, _, _)| *r).collect();
        replicas.dedup();
        replicas
    };
    assert_eq!(served_by("initialize"), [0], "{routed:?}");
    let lists = served_by("tools/list");
    let calls = served_by("tools/call");
    assert!(lists.contains(&0) && lists.contains(&1), "tools/list served by both replicas: {routed:?}");
    assert!(calls.contains(&0) && calls.contains(&1), "tools/call served by both replicas: {routed:?}");
    // Each replica ran calls on its own upstream: nothing was proxied between them.
    let deadline = Instant::now() + Duration::from_secs(5);
    let (mut on_a, mut on_b) = (0, 0);
    while on_a + on_b < expected_echoes && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        (on_a, on_b) = (a.upstream_calls("echo"), b.upstream_calls("echo"));
    }
    assert_eq!(on_a + on_b, expected_echoes, "every echo ran once, on one upstream or the other");
    assert!(on_a >= 1 && on_b >= 1, "echo ran on A {on_a} times and on B {on_b} times");
    client.cancel().await.expect("client closes");
}

#[tokio::test]
async fn a_sealed_session_is_its_owners_alone_and_only_for_replicas_with_the_key() {
    // A and B have the key in their config; the stranger has another key, from the
    // environment.
    let (a, b) = (Replica::start(&sealed_with(SESSION_KEY), None), Replica::start(&sealed_with(SESSION_KEY), None));
    let stranger = Replica::start("", Some(OTHER_KEY));
    let id = a.initialize(ALICE);
    assert!(id.starts_with("w1.") && !id.contains("alice"), "a sealed id: {id}");

    // Its owner is served by either replica, B restoring what it never saw.
    let (status, tools) = b.list(ALICE, &id);
    assert_eq!(status, 200);
    assert!(tools.contains(&"demo__echo".to_string()), "{tools:?}");
    assert_eq!(a.list(ALICE, &id).0, 200);

    // Another principal presenting it is told it does not exist, on both, whether the
    // session is held in memory there or not.
    let fresh = a.initialize(ALICE);
    for (name, replica) in [("A", &a), ("B", &b)] {
        assert_eq!(replica.list(BOB, &id).0, 404, "bob on alice's session at {name}");
        assert_eq!(replica.list(BOB, &fresh).0, 404, "bob on alice's new session at {name}");
    }
    // A tampered id, or one of a replica with another key, does not open.
    let tampered = {
        let mut bytes = id.clone().into_bytes();
        let i = bytes.len() / 2;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).expect("ascii")
    };
    for (name, replica) in [("A", &a), ("B", &b)] {
        assert_eq!(replica.list(ALICE, &tampered).0, 404, "tampered id at {name}");
        assert_eq!(replica.list(ALICE, "not-a-sealed-id").0, 404, "a plain id at {name}");
    }
    assert_eq!(stranger.list(ALICE, &id).0, 404, "a replica with another key");
    let theirs = stranger.initialize(ALICE);
    assert_eq!(a.list(ALICE, &theirs).0, 404, "the other key's id at A");
    assert_eq!(stranger.list(ALICE, &theirs).0, 200);

    // None of that disturbed the owner's session.
    assert_eq!(b.list(ALICE, &id).0, 200);
    assert_eq!(a.list(ALICE, &fresh).0, 200);

    // DELETE ends a session on the replica it reaches, which refuses the id from then
    // on; bob cannot end alice's. Ended sessions are not shared: B still serves it.
    let delete = |replica: &Replica, key: &str, id: &str| {
        replica.send("DELETE", key, &format!("Mcp-Session-Id: {id}\r\n"), "").0
    };
    assert_eq!(delete(&a, BOB, &fresh), 404, "bob ends alice's session");
    assert_eq!(delete(&a, ALICE, &fresh), 202);
    assert_eq!(a.list(ALICE, &fresh).0, 404, "ended at A");
    assert_eq!(delete(&a, ALICE, &fresh), 404, "already ended");
    assert_eq!(b.list(ALICE, &fresh).0, 200, "B never heard of the DELETE");

    // A replica rotated to a new key still opens ids sealed with the old one, and seals
    // new ones with the new key, which the replicas not yet rotated do not know.
    let rotated =
        Replica::start(&format!("{}\nprevious_session_keys = [\"{SESSION_KEY}\"]", sealed_with(NEW_KEY)), None);
    assert_eq!(rotated.list(ALICE, &id).0, 200, "an id from before the rotation");
    let new = rotated.initialize(ALICE);
    assert_eq!((rotated.list(ALICE, &new).0, a.list(ALICE, &new).0), (200, 404));
    assert!(a.log.lock().expect("log").iter().any(|l| l.contains("does not own")), "the attempt is logged");
    for log in [&a.log, &b.log, &stranger.log, &rotated.log] {
        let log = log.lock().expect("log").join("\n");
        for secret in [SESSION_KEY, OTHER_KEY, NEW_KEY, &id] {
            assert!(!log.contains(secret), "no key or session id in the logs");
        }
    }
}
