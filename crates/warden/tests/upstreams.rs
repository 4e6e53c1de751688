//! Hostile and broken upstream servers (issue 7, items 3 and 4): the real `warden`
//! binary with its default guardrail chain (the embedded config/warden.toml), fronting
//! `tests/fixtures/hostile-upstream` in one misbehaving mode per upstream next to the
//! healthy `warden demo-server`, driven by the rmcp client over Streamable HTTP.
//!
//! Every fault must stay with its upstream: the client gets a clear error, the healthy
//! neighbour keeps serving, and the gateway answers later calls. Every attack must meet
//! the outcome its table row names.

mod common;

use common::{Started, spawn_gateway};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{Peer, RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const API_KEY: &str = "wdn_upstreams_test_key_0123456789";

/// The embedded default config: its auth, its guardrail chains, its demo upstream.
const DEFAULT_CONFIG: &str = include_str!("../../../config/warden.toml");

/// The fixture binary: next to `warden` when the workspace was built (`cargo test
/// --workspace`) and it is newer than its source; else built once, into a target
/// directory of this test's own (so no lock is shared with the cargo running us).
fn fixture() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/hostile-upstream");
        let sibling = Path::new(env!("CARGO_BIN_EXE_warden")).with_file_name("hostile-upstream");
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let newest_source = ["src/main.rs", "Cargo.toml"].iter().filter_map(|f| modified(&root.join(f))).max();
        if modified(&sibling).is_some_and(|built| newest_source.is_none_or(|src| built >= src)) {
            return sibling;
        }
        let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile-upstream-target");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "warden-hostile-upstream", "--target-dir"])
            .arg(&target)
            .current_dir(&root)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cannot build the hostile-upstream fixture");
        target.join("debug/hostile-upstream")
    })
    .clone()
}

/// A running gateway with the default config plus some hostile upstreams; killed on drop.
struct Gateway {
    child: Child,
    url: String,
    log: Arc<Mutex<Vec<String>>>,
}

/// One extra `[[servers]]` entry: the fixture in `mode` (with `arg`).
struct Hostile<'a> {
    name: &'a str,
    mode: &'a str,
    arg: Option<String>,
    call_timeout_ms: u64,
    connect_timeout_ms: u64,
}

fn hostile<'a>(name: &'a str, mode: &'a str) -> Hostile<'a> {
    Hostile { name, mode, arg: None, call_timeout_ms: 30_000, connect_timeout_ms: 60_000 }
}

impl Gateway {
    fn start(servers: &[Hostile<'_>], extra: &[&str]) -> Gateway {
        let mut config = DEFAULT_CONFIG.to_string();
        let exe = fixture();
        for s in servers {
            let args: Vec<String> = std::iter::once(s.mode.to_string()).chain(s.arg.clone()).collect();
            config.push_str(&format!(
                "\n[[servers]]\nname = {:?}\ncommand = {:?}\nargs = {:?}\ncall_timeout_ms = {}\nconnect_timeout_ms = {}\n",
                s.name,
                exe.display().to_string(),
                args,
                s.call_timeout_ms,
                s.connect_timeout_ms
            ));
        }
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let path = tmp.join(format!("upstreams-{}-{n}.toml", std::process::id()));
        std::fs::write(&path, config).expect("write config");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"]).arg(&path).args(extra);
        // Pins and keys in a state dir of this gateway's own.
        let state = tmp.join(format!("upstreams-state-{}-{n}", std::process::id()));
        cmd.env("XDG_CACHE_HOME", tmp.join("e2e-cache"))
            .env("XDG_STATE_HOME", &state)
            .env("XDG_CONFIG_HOME", &state)
            .env("WARDEN_API_KEY", API_KEY)
            .env("RUST_LOG", "info,rmcp=warn")
            .env_remove("WARDEN_CONFIG");
        let Started { child, url, log } =
            spawn_gateway(cmd, Duration::from_secs(90)).unwrap_or_else(|log| panic!("gateway did not start:\n{log}"));
        Gateway { child, url, log }
    }

    async fn client(&self) -> RunningService<RoleClient, ()> {
        self.client_with(()).await
    }

    async fn client_with<H: rmcp::ClientHandler>(&self, handler: H) -> RunningService<RoleClient, H> {
        warden_mcp::install_tls_provider();
        let config = StreamableHttpClientTransportConfig::with_uri(self.url.clone()).auth_header(API_KEY);
        handler.serve(StreamableHttpClientTransport::from_config(config)).await.expect("client connects")
    }

    fn log_text(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }

    /// Wait (bounded) until the gateway's log has a line with every one of `needles`.
    fn wait_log(&self, needles: &[&str]) -> bool {
        self.wait_log_lines(needles, 1)
    }

    /// Wait (bounded) until the gateway's log has `n` lines with every one of `needles`.
    fn wait_log_lines(&self, needles: &[&str], n: usize) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let lines = self.log.lock().expect("log lock");
            let found = lines.iter().filter(|l| needles.iter().all(|needle| l.contains(needle))).count() >= n;
            drop(lines);
            if found || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn call(peer: &Peer<RoleClient>, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else { panic!("arguments must be an object") };
    let params = CallToolRequestParams::new(tool.to_string()).with_arguments(args);
    match tokio::time::timeout(Duration::from_secs(60), peer.call_tool(params)).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => panic!("{tool}: protocol error {e}"),
        Err(_) => panic!("{tool}: no answer within 60 s"),
    }
}

fn text(r: &CallToolResult) -> String {
    r.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join("\n")
}

async fn tools(peer: &Peer<RoleClient>) -> Vec<rmcp::model::Tool> {
    peer.list_all_tools().await.expect("tools/list")
}

async fn tool_names(peer: &Peer<RoleClient>) -> Vec<String> {
    let mut names: Vec<String> = tools(peer).await.into_iter().map(|t| t.name.to_string()).collect();
    names.sort();
    names
}

/// The healthy neighbour answers.
async fn neighbour_serves(peer: &Peer<RoleClient>, message: &str) {
    let r = call(peer, "demo__echo", json!({ "message": message })).await;
    assert_eq!((text(&r).as_str(), r.is_error), (message, Some(false)), "the demo upstream keeps serving");
}

/// Counts what the gateway sends this client unasked.
#[derive(Clone, Default)]
struct Watcher {
    logs: Arc<std::sync::atomic::AtomicUsize>,
    list_changes: Arc<std::sync::atomic::AtomicUsize>,
    changed: Arc<tokio::sync::Notify>,
}

#[allow(deprecated)] // MCP logging (rmcp follows the SEP-2577 draft)
impl rmcp::ClientHandler for Watcher {
    async fn on_tool_list_changed(&self, _context: rmcp::service::NotificationContext<RoleClient>) {
        self.list_changes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.changed.notify_one();
    }

    async fn on_logging_message(
        &self,
        _params: rmcp::model::LoggingMessageNotificationParam,
        _context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        self.logs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The gateway's child processes still running (not zombies).
fn live_children(pid: u32) -> usize {
    children(pid).iter().filter(|(_, state)| state != "Z").count()
}

/// The gateway's child processes in state `Z` (exited, never reaped).
fn zombies(pid: u32) -> Vec<u32> {
    children(pid).into_iter().filter(|(_, state)| state == "Z").map(|(p, _)| p).collect()
}

/// The gateway's child processes as (pid, state).
fn children(pid: u32) -> Vec<(u32, String)> {
    let Ok(procs) = std::fs::read_dir("/proc") else { return Vec::new() };
    procs
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
            let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
            let state = fields.next()?.to_string();
            let ppid = fields.next()?.parse::<u32>().ok()?;
            (ppid == pid).then_some((p, state))
        })
        .collect()
}

// ---- Item 3: upstream faults --------------------------------------------------------

#[tokio::test]
async fn an_upstream_that_crashes_at_start_is_left_out_and_retried_with_backoff() {
    let marker = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("late-start-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let late = Hostile { arg: Some(marker.display().to_string()), ..hostile("late", "crash-at-start-once") };
    let gw = Gateway::start(&[hostile("broken", "crash-at-start"), late], &[]);
    let watcher = Watcher::default();
    let client = gw.client_with(watcher.clone()).await;

    // The gateway serves without them, and says why they are missing.
    neighbour_serves(client.peer(), "up without them").await;
    assert!(gw.wait_log(&["upstream failed to start", "broken", "exited"]), "{}", gw.log_text());
    assert!(!tool_names(client.peer()).await.iter().any(|t| t.starts_with("broken__")));

    // `late` starts at its first retry (after a backoff, with no call or change needed):
    // its tools appear and clients are told.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !tool_names(client.peer()).await.contains(&"late__echo".to_string()) {
        assert!(Instant::now() < deadline, "late__echo never appeared:\n{}", gw.log_text());
        let _ = tokio::time::timeout(Duration::from_millis(500), watcher.changed.notified()).await;
    }
    let r = call(client.peer(), "late__echo", json!({"message": "second start"})).await;
    assert_eq!(text(&r), "second start");

    // `broken` keeps failing and keeps being retried, each time later; it never
    // takes the gateway down and leaves no zombie.
    assert!(gw.wait_log_lines(&["upstream failed to start", "broken", "backoff"], 3), "{}", gw.log_text());
    neighbour_serves(client.peer(), "still up").await;
    let pid = gw.child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !zombies(pid).is_empty() {
        assert!(Instant::now() < deadline, "unreaped upstreams: {:?}", zombies(pid));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.cancel().await.expect("client closes");
}

#[tokio::test]
async fn an_upstream_that_hangs_at_start_holds_up_nothing_after_its_connect_timeout() {
    let stuck = Hostile { connect_timeout_ms: 1500, ..hostile("stuck", "hang-at-start") };
    let gw = Gateway::start(&[stuck, hostile("shifty", "listchange")], &[]);
    let watcher = Watcher::default();
    let client = gw.client_with(watcher.clone()).await;
    let peer = client.peer();
    assert!(
        gw.wait_log(&["upstream failed to start", "stuck", "no initialize response within 1.5s"]),
        "{}",
        gw.log_text()
    );
    neighbour_serves(peer, "up without it").await;

    // It is retried in the background, each attempt waiting out its connect timeout;
    // meanwhile the other upstreams' tool-list changes still reach clients.
    assert!(gw.wait_log_lines(&["upstream failed to start", "stuck"], 2), "{}", gw.log_text());
    assert_eq!(text(&call(peer, "shifty__turn", json!({})).await), "turned");
    tokio::time::timeout(Duration::from_secs(15), watcher.changed.notified())
        .await
        .expect("tools/list_changed relayed");
    let names = tool_names(peer).await;
    assert!(
        names.contains(&"shifty__fresh".to_string()) && !names.iter().any(|n| n.starts_with("stuck__")),
        "{names:?}"
    );
    neighbour_serves(peer, "still up").await;

    // Each abandoned attempt's process is killed and reaped: demo, shifty and at most
    // one stuck server are alive, and no zombie is left.
    let pid = gw.child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    while live_children(pid) > 3 || !zombies(pid).is_empty() {
        assert!(Instant::now() < deadline, "children of the gateway: {:?}", children(pid));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.cancel().await.expect("client closes");
}

#[tokio::test]
async fn malformed_json_rpc_from_an_upstream_is_contained() {
    let bad = Hostile { call_timeout_ms: 3000, ..hostile("bad", "malformed") };
    let gw = Gateway::start(&[bad], &[]);
    let client = gw.client().await;
    let peer = client.peer();

    // Non-JSON lines, JSON that is not JSON-RPC, a response to an id never sent, an
    // unknown notification and invalid UTF-8 before the answer: all skipped; the
    // answer's own invalid UTF-8 becomes U+FFFD.
    let r = call(peer, "bad__garbage", json!({})).await;
    assert_eq!(text(&r), "survived \u{fffd}\u{fffd} the garbage");
    assert_ne!(r.is_error, Some(true));

    // Answers of the wrong shape fail their call at once, naming the upstream.
    for tool in ["bad__bad_shape", "bad__bad_error"] {
        let r = call(peer, tool, json!({})).await;
        assert_eq!(r.is_error, Some(true), "{tool}: {}", text(&r));
        assert!(text(&r).contains("upstream bad"), "{tool}: {}", text(&r));
        assert!(!text(&r).contains("no answer within"), "{tool} failed at once: {}", text(&r));
    }
    assert!(text(&call(peer, "bad__bad_error", json!({})).await).contains("malformed response"));

    // An answer under an id never sent answers nothing: the call ends at its timeout.
    let r = call(peer, "bad__wrong_id", json!({})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("no answer within"), "{}", text(&r));

    // The same session, the neighbour and the gateway all keep serving.
    assert_eq!(text(&call(peer, "bad__echo", json!({"message": "still talking"})).await), "still talking");
    neighbour_serves(peer, "unaffected").await;
    let log = gw.log_text();
    assert!(
        log.contains("ignored a line that is not JSON") && log.contains("ignored JSON that is not JSON-RPC"),
        "{log}"
    );
    assert!(!log.contains("this line is not JSON at all"), "ignored lines are never quoted in the log");
    client.cancel().await.expect("client closes");
}

#[tokio::test]
async fn enormous_output_is_cut_at_the_message_limit_with_a_clear_error() {
    let gw = Gateway::start(&[hostile("big", "enormous")], &[]);
    let client = gw.client().await;
    let peer = client.peer();

    // A 50 MiB answer, then a line that never ends: each is cut at 16 MiB (memory stays
    // bounded), the call fails at once with the reason, and the upstream is restarted.
    for tool in ["big__huge", "big__endless"] {
        let r = call(peer, tool, json!({})).await;
        assert_eq!(r.is_error, Some(true), "{tool}");
        assert!(text(&r).contains("upstream big") && text(&r).contains("larger than 16 MiB"), "{tool}: {}", text(&r));
        assert_eq!(text(&call(peer, "big__echo", json!({"message": "restarted"})).await), "restarted", "after {tool}");
        neighbour_serves(peer, "unaffected").await;
    }
    client.cancel().await.expect("client closes");
}

#[tokio::test]
async fn a_notification_flood_is_throttled_and_other_upstreams_keep_serving() {
    // Under guard-threats' default ceiling for count-like arguments (10,000), which the
    // default chain applies to the flood tool's own `count`.
    const COUNT: usize = 9_000;
    let gw = Gateway::start(&[hostile("noisy", "flood")], &[]);
    let watcher = Watcher::default();
    let client = gw.client_with(watcher.clone()).await;
    let flooder = client.peer().clone();
    let flood = tokio::spawn(async move { call(&flooder, "noisy__flood", json!({"count": COUNT})).await });

    // While the flood runs: the neighbour answers.
    for i in 0..5 {
        neighbour_serves(client.peer(), &format!("during the flood {i}")).await;
    }
    let r = flood.await.expect("flood task");
    assert_eq!(text(&r), format!("flooded {COUNT}"));

    // COUNT log messages, COUNT progress reports for nobody's tokens and COUNT / 10
    // tool-list changes reached this client as a trickle; the rest was dropped, counted
    // and reported once per thousand.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (logs, changes) = (
        watcher.logs.load(std::sync::atomic::Ordering::SeqCst),
        watcher.list_changes.load(std::sync::atomic::Ordering::SeqCst),
    );
    assert!(logs < COUNT / 2, "{logs} of {COUNT} log messages relayed");
    assert!(changes < COUNT / 10 / 10, "{changes} of {} tool-list changes relayed", COUNT / 10);
    assert!(gw.wait_log(&["notification flood", "noisy"]), "{}", gw.log_text());

    // Afterwards the flooding upstream itself serves normally.
    assert_eq!(text(&call(client.peer(), "noisy__echo", json!({"message": "calm"})).await), "calm");
    neighbour_serves(client.peer(), "after the flood").await;
    client.cancel().await.expect("client closes");
}

#[tokio::test]
async fn an_endless_tool_list_is_refused_and_the_rest_keeps_serving() {
    let gw = Gateway::start(&[hostile("bloat", "bloat")], &[]);
    let client = gw.client().await;
    // Listing stops at the cap: nothing of it is served, the operator is told why.
    assert!(gw.wait_log(&["cannot list tools", "bloat", "listed more than 2000 tools"]), "{}", gw.log_text());
    let names = tool_names(client.peer()).await;
    assert!(!names.iter().any(|n| n.starts_with("bloat__")), "{} bloat tools listed", names.len());
    neighbour_serves(client.peer(), "unaffected").await;
    client.cancel().await.expect("client closes");
}

#[tokio::test]
async fn requests_an_upstream_may_not_make_are_refused_without_hanging_the_call() {
    let gw = Gateway::start(&[hostile("asker", "requests")], &[]);
    // This client declares no sampling, elicitation or roots capability.
    let client = gw.client().await;
    let peer = client.peer();

    let r = call(peer, "asker__ask_all", json!({})).await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let got: Value = serde_json::from_str(&text(&r)).expect("the fixture's summary");
    let refused =
        |what: &str| got[what].as_str().is_some_and(|o| o.starts_with("error") && o.contains("does not support"));
    assert!(refused("sampling") && refused("elicitation"), "{got}");
    assert_eq!(got["roots"], json!({"empty": 200, "other": 0}), "roots/list spam gets no roots, at once");
    assert!(got["unknown"].as_str().is_some_and(|o| o.starts_with("error")), "{got}");

    // Sampling asked right after start, outside any call, had no client to go to
    // (refused by rmcp's session, SEP-2260, or by the gateway's relay).
    let r = call(peer, "asker__early", json!({})).await;
    let early = text(&r);
    let no_call = early.contains("in-flight client request") || early.contains("only during a tool call");
    assert!(early.starts_with("error") && no_call, "{early}");
    neighbour_serves(peer, "unaffected").await;
    client.cancel().await.expect("client closes");
}

#[tokio::test]
async fn a_tool_list_turning_malicious_mid_session_is_screened_again() {
    let gw = Gateway::start(&[hostile("shifty", "listchange")], &[]);
    let watcher = Watcher::default();
    let client = gw.client_with(watcher.clone()).await;
    let peer = client.peer();
    let before = tool_names(peer).await;
    assert!(before.contains(&"shifty__echo".to_string()), "{before:?}");

    assert_eq!(text(&call(peer, "shifty__turn", json!({})).await), "turned");
    tokio::time::timeout(Duration::from_secs(15), watcher.changed.notified())
        .await
        .expect("tools/list_changed relayed");
    let after = tools(peer).await;
    let names: Vec<&str> = after.iter().map(|t| t.name.as_ref()).collect();
    // The benign newcomer is served; the rewritten echo (a rug pull, now poisoned) and
    // the poisoned newcomer are hidden and reported.
    assert!(names.contains(&"shifty__fresh") && names.contains(&"shifty__turn"), "{names:?}");
    assert!(!names.contains(&"shifty__echo") && !names.contains(&"shifty__helper"), "{names:?}");
    assert!(gw.wait_log(&["tool hidden from clients", "helper"]), "{}", gw.log_text());
    assert!(gw.wait_log(&["tool hidden from clients", "echo"]), "{}", gw.log_text());
    // The name with an escape sequence is served under a safe name; no definition holds
    // a control character.
    for tool in &after {
        assert!(tool.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'), "{:?}", tool.name);
        let definition = serde_json::to_string(tool).expect("json");
        assert!(!definition.contains("\\u001b"), "{definition}");
    }
    let Value::Object(args) = json!({"message": "x"}) else { unreachable!() };
    assert!(peer.call_tool(CallToolRequestParams::new("shifty__echo").with_arguments(args)).await.is_err());
    assert_eq!(text(&call(peer, "shifty__fresh", json!({})).await), "hello");
    neighbour_serves(peer, "unaffected").await;
    client.cancel().await.expect("client closes");
}

// ---- Item 4: adversarial upstreams against the default guardrail chain ---------------

/// What the default chain must do with one attack.
#[derive(Debug)]
enum Outcome {
    /// The tool is missing from tools/list, cannot be called, and the gateway logs why.
    HiddenAndReported { tool: &'static str, reason: &'static str },
    /// Served until `trigger` changes its definition; then hidden and reported.
    HiddenOnceChanged { tool: &'static str, trigger: &'static str },
    /// The call returns `isError` naming the detector, without the withheld content.
    Withheld { tool: &'static str, detector: &'static str, never_shown: &'static str },
    /// The call succeeds with exactly this text (the attack neutralised).
    Neutralised { tool: &'static str, text: &'static str },
    /// The tool's description reaches clients without control characters.
    CleanDescription { tool: &'static str, description: &'static str },
    /// Each server's tool answers for that server alone.
    RoutedToItsOwn { tool: &'static str, answer: &'static str },
    /// `isError` with a reason containing `reason`.
    Refused { tool: &'static str, args: &'static str, reason: &'static str },
}

/// (server, fixture mode, attack, expected outcome).
const TABLE: &[(&str, &str, &str, Outcome)] = &[
    (
        "poisoned",
        "poisoned",
        "hidden instructions in a tool description",
        Outcome::HiddenAndReported { tool: "weather_lookup", reason: "tools.hidden-instructions" },
    ),
    (
        "poisoned",
        "poisoned",
        "description shadowing another server's tool",
        Outcome::HiddenAndReported { tool: "save_note", reason: "tools.shadowing" },
    ),
    (
        "poisoned",
        "poisoned",
        "credential grab in a parameter description",
        Outcome::HiddenAndReported { tool: "convert", reason: "tools.sensitive-data" },
    ),
    (
        "rugpull",
        "rugpull",
        "definition changed after approval (rug pull)",
        Outcome::HiddenOnceChanged { tool: "echo", trigger: "pull" },
    ),
    (
        "shadow-a",
        "shadow-a",
        "two servers both offer read_file",
        Outcome::RoutedToItsOwn { tool: "read_file", answer: "served by A: /etc/hosts" },
    ),
    (
        "shadow-b",
        "shadow-b",
        "two servers both offer read_file",
        Outcome::RoutedToItsOwn { tool: "read_file", answer: "served by B: /etc/hosts" },
    ),
    (
        "inject",
        "injection",
        "prompt injection in a result",
        Outcome::Withheld { tool: "fetch_page", detector: "injection.", never_shown: "203.0.113.9" },
    ),
    (
        "exfil",
        "exfil",
        "credential-exfiltration prompt in a result",
        Outcome::Withheld { tool: "summarize", detector: "injection.exfiltration", never_shown: "collect.example.net" },
    ),
    (
        "binary",
        "binary",
        "control bytes (binary) in result text",
        Outcome::Neutralised { tool: "download", text: "PNG header end" },
    ),
    (
        "ansi",
        "ansi",
        "ANSI/OSC terminal escapes in result text",
        Outcome::Neutralised { tool: "colors", text: "red alert, click here cleared c1" },
    ),
    (
        "ansi",
        "ansi",
        "ANSI escapes in a tool description",
        Outcome::CleanDescription { tool: "colors", description: "Show coloured text in the terminal" },
    ),
    (
        "ansi",
        "ansi",
        "ANSI escapes in a JSON-RPC error message",
        Outcome::Refused { tool: "fail", args: "{}", reason: "disk on fire" },
    ),
    (
        "oversized",
        "enormous",
        "4 MiB result (beyond what the guardrails can inspect)",
        Outcome::Withheld { tool: "big", detector: "warden.plugin-failure", never_shown: "lorem" },
    ),
    (
        "oversized",
        "enormous",
        "50 MiB result (beyond the message limit)",
        Outcome::Refused { tool: "huge", args: "{}", reason: "larger than 16 MiB" },
    ),
];

/// Arguments for a table row's call.
fn args_for(server: &str, tool: &str) -> Value {
    match (server, tool) {
        ("oversized", "big") => json!({"bytes": 4 << 20}),
        (_, "read_file") => json!({"path": "/etc/hosts"}),
        _ => json!({}),
    }
}

/// Check one row; `Err` says how it failed.
async fn check(gw: &Gateway, peer: &Peer<RoleClient>, server: &str, outcome: &Outcome) -> Result<(), String> {
    let full = |tool: &str| format!("{server}__{tool}");
    let listed = |tools: &[rmcp::model::Tool], tool: &str| tools.iter().any(|t| t.name == full(tool));
    match outcome {
        Outcome::HiddenAndReported { tool, reason } => {
            if listed(&tools(peer).await, tool) {
                return Err("still listed".into());
            }
            let Value::Object(args) = json!({}) else { unreachable!() };
            if peer.call_tool(CallToolRequestParams::new(full(tool)).with_arguments(args)).await.is_ok() {
                return Err("still callable".into());
            }
            if !gw.wait_log(&["tool hidden from clients", tool, reason]) {
                return Err(format!("no report naming {reason}"));
            }
        }
        Outcome::HiddenOnceChanged { tool, trigger } => {
            if !listed(&tools(peer).await, tool) {
                return Err("hidden before it changed".into());
            }
            let r = call(peer, &full(trigger), json!({})).await;
            if text(&r) != "turned" {
                return Err(format!("{trigger} answered {:?}", text(&r)));
            }
            let deadline = Instant::now() + Duration::from_secs(15);
            while listed(&tools(peer).await, tool) {
                if Instant::now() > deadline {
                    return Err("still listed after the change".into());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if !gw.wait_log(&["tool hidden from clients", tool, "definition changed"]) {
                return Err("no report of the changed definition".into());
            }
        }
        Outcome::Withheld { tool, detector, never_shown } => {
            let r = call(peer, &full(tool), args_for(server, tool)).await;
            let t = text(&r);
            if r.is_error != Some(true) || !t.contains("withheld the result") || !t.contains(detector) {
                return Err(format!("answered {:?}", t.chars().take(300).collect::<String>()));
            }
            if t.contains(never_shown) {
                return Err("the withheld content was shown".into());
            }
        }
        Outcome::Neutralised { tool, text: expected } => {
            let r = call(peer, &full(tool), args_for(server, tool)).await;
            if r.is_error == Some(true) || text(&r) != *expected {
                return Err(format!("answered {:?} (isError {:?})", text(&r), r.is_error));
            }
            let json = serde_json::to_string(&r).expect("json");
            if json.contains("\\u00") || json.chars().any(|c| ('\u{7f}'..='\u{9f}').contains(&c)) {
                return Err(format!("control characters left in {json}"));
            }
        }
        Outcome::CleanDescription { tool, description } => {
            let all = tools(peer).await;
            let found = all.iter().find(|t| t.name == full(tool)).ok_or("not listed")?;
            if found.description.as_deref() != Some(*description) {
                return Err(format!("description {:?}", found.description));
            }
        }
        Outcome::RoutedToItsOwn { tool, answer } => {
            let r = call(peer, &full(tool), args_for(server, tool)).await;
            if text(&r) != *answer {
                return Err(format!("answered {:?}", text(&r)));
            }
        }
        Outcome::Refused { tool, args, reason } => {
            let args: Value = serde_json::from_str(args).expect("args");
            let r = call(peer, &full(tool), args).await;
            if r.is_error != Some(true) || !text(&r).contains(reason) {
                return Err(format!("answered {:?}", text(&r).chars().take(300).collect::<String>()));
            }
            if text(&r).contains(['\u{1b}', '\u{7}']) {
                return Err(format!("control characters left in {:?}", text(&r)));
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn adversarial_upstreams_meet_the_expected_outcome_under_the_default_chain() {
    let mut servers: Vec<(&str, &str)> = TABLE.iter().map(|(s, m, _, _)| (*s, *m)).collect();
    servers.dedup();
    let gw = Gateway::start(&servers.iter().map(|(s, m)| hostile(s, m)).collect::<Vec<_>>(), &[]);
    let client = gw.client().await;
    let peer = client.peer();
    let mut failures = Vec::new();
    for (server, _, attack, outcome) in TABLE {
        if let Err(why) = check(&gw, peer, server, outcome).await {
            failures.push(format!("{server}: {attack}: expected {outcome:?}: {why}"));
        }
    }
    // Whatever the hostile servers did, the healthy one serves and the gateway is up.
    neighbour_serves(peer, "after every attack").await;
    assert!(failures.is_empty(), "{}\n--- gateway log ---\n{}", failures.join("\n"), gw.log_text());
    client.cancel().await.expect("client closes");
}

#[tokio::test]
async fn a_shadowed_tool_name_never_reaches_the_other_server() {
    let servers = [hostile("shadow-a", "shadow-a"), hostile("shadow-b", "shadow-b")];
    // Unprefixed names: the first server (in config order) keeps `read_file`; the
    // other's is hidden and the clash reported, never silently swapped in.
    let gw = Gateway::start(&servers, &["--tool-prefix", "never"]);
    let client = gw.client().await;
    let names = tool_names(client.peer()).await;
    assert_eq!(names.iter().filter(|n| n.contains("read_file")).collect::<Vec<_>>(), ["read_file"], "{names:?}");
    for _ in 0..3 {
        let r = call(client.peer(), "read_file", json!({"path": "/etc/hosts"})).await;
        assert_eq!(text(&r), "served by A: /etc/hosts");
    }
    assert!(gw.wait_log(&["name clash: the others are hidden", "read_file", "shadow-a"]), "{}", gw.log_text());
    client.cancel().await.expect("client closes");

    // Prefixed on clash: both are served, each under its server's name.
    let gw = Gateway::start(&servers, &["--tool-prefix", "on-clash"]);
    let client = gw.client().await;
    let names = tool_names(client.peer()).await;
    assert!(!names.contains(&"read_file".to_string()), "{names:?}");
    for (tool, answer) in [("shadow-a__read_file", "A"), ("shadow-b__read_file", "B")] {
        let r = call(client.peer(), tool, json!({"path": "/x"})).await;
        assert_eq!(text(&r), format!("served by {answer}: /x"));
    }
    client.cancel().await.expect("client closes");
}
