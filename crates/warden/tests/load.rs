//! Limits and load, end to end: the real `warden serve` on loopback, real demo
//! upstreams (one failing deterministically part of the time), a guardrail plugin that
//! traps on some inputs, and rmcp clients over Streamable HTTP.
//!
//! - `a_principal_over_its_rate_*`: the -32029 error, its retry hint, and success after
//!   waiting it;
//! - `concurrency_limits_*`: per upstream and per principal, with a bounded wait;
//! - `thousands_of_concurrent_calls_*`: several thousand calls from concurrent clients;
//!   every call gets exactly one answer, each answer is the one its request called for,
//!   and the gateway's `/metrics` count exactly what the clients saw.
//!
//! No timed assertion: time only bounds the whole run (a generous outer timeout).

mod common;

use common::{Started, spawn_gateway};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{Peer, RoleClient, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The API keys of the test principals, by principal id.
const KEYS: &[(&str, &str)] =
    &[("load", "wdn_load_key_0123456789"), ("tight", "wdn_tight_key_0123456789"), ("solo", "wdn_solo_key_0123456789")];

fn key(id: &str) -> &'static str {
    KEYS.iter().find(|(i, _)| *i == id).map(|(_, k)| *k).expect("a test principal")
}

/// `[[plugins]]` entries every test config uses: API keys for [`KEYS`], and the
/// hostile `trap` guardrail (panics when a string argument is exactly "attack"),
/// loaded from its file and pinned by sha256, failing closed.
fn plugins() -> String {
    let keys: Vec<String> = KEYS
        .iter()
        .map(|(id, k)| format!("{{ id = \"{id}\", sha256 = \"{}\" }}", hex::encode(Sha256::digest(k.as_bytes()))))
        .collect();
    let trap = warden_fixtures::HOSTILE_TRAP;
    let sha = hex::encode(Sha256::digest(std::fs::read(trap).expect("trap fixture")));
    format!(
        r#"
[[plugins]]
name = "apikey"
kind = "auth"
source = "builtin:auth-apikey"
config = {{ keys = [{}] }}

[[plugins]]
name = "trap"
kind = "guardrail"
source = {trap:?}
sha256 = "{sha}"
"#,
        keys.join(", ")
    )
}

/// A running gateway; killed on drop.
struct Gateway {
    child: Child,
    url: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Gateway {
    /// `warden serve` with `config` (a `[gateway]` table is added: the API-key auth
    /// and the trap guardrail) and [`plugins`].
    fn start(config: &str) -> Gateway {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let path = dir.join(format!("load-{}-{n}.toml", std::process::id()));
        let body = format!(
            "[gateway]\nauth = [\"apikey\"]\ninput = [\"trap\"]\noutput = []\ntools = []\npin_tools = false\n{config}\n{}",
            plugins()
        );
        std::fs::write(&path, body).expect("write config");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&path)
            .env("XDG_CACHE_HOME", dir.join("e2e-cache"))
            .env("XDG_STATE_HOME", dir.join(format!("load-state-{}-{n}", std::process::id())))
            .env("RUST_LOG", "info,rmcp=warn")
            .env_remove("WARDEN_CONFIG");
        let Started { child, url, log } =
            spawn_gateway(cmd, Duration::from_secs(60)).unwrap_or_else(|log| panic!("gateway did not start:\n{log}"));
        Gateway { child, url, log }
    }

    async fn client(&self, principal: &str) -> RunningService<RoleClient, ()> {
        warden_mcp::install_tls_provider();
        let config = StreamableHttpClientTransportConfig::with_uri(self.url.clone()).auth_header(key(principal));
        ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("client connects")
    }

    /// How many calls of `tool` the demo upstreams ran, from their log lines.
    fn upstream_calls(&self, tool: &str) -> usize {
        let needle = format!("tool={tool}");
        let log = self.log.lock().expect("log lock");
        log.iter().filter(|l| l.contains("demo tool called") && l.contains(&needle)).count()
    }

    /// Wait (a few seconds at most: stderr is relayed asynchronously) until the
    /// upstreams have logged `n` calls of `tool`; returns the count then.
    async fn wait_upstream_calls(&self, tool: &str, n: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.upstream_calls(tool) < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // A little longer: more than `n` would be a bug to see, not to miss.
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.upstream_calls(tool)
    }

    /// `/metrics` as series (`name{labels}`) → value, read with `principal`'s key.
    fn metrics(&self, principal: &str) -> BTreeMap<String, f64> {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://").trim_end_matches("/mcp");
        let mut sock = std::net::TcpStream::connect(addr).expect("connect");
        sock.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        let request = format!(
            "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            key(principal)
        );
        sock.write_all(request.as_bytes()).expect("send");
        let mut response = String::new();
        sock.read_to_string(&mut response).expect("read");
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        let body = response.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
        body.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once(' ').and_then(|(series, v)| Some((series.to_string(), v.parse().ok()?))))
            .collect()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sum of the series of `name` whose labels include every one of `labels`
/// (each `key="value"`).
fn sum(metrics: &BTreeMap<String, f64>, name: &str, labels: &[&str]) -> u64 {
    let total: f64 = metrics
        .iter()
        .filter(|(series, _)| series.split_once('{').map_or(series.as_str(), |(n, _)| n) == name)
        .filter(|(series, _)| labels.iter().all(|l| series.contains(l)))
        .map(|(_, v)| v)
        .sum();
    total as u64
}

async fn try_call(peer: &Peer<RoleClient>, tool: &str, args: Value) -> Result<CallToolResult, ServiceError> {
    let Value::Object(args) = args else { panic!("arguments must be an object") };
    peer.call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args)).await
}

fn text(r: &CallToolResult) -> String {
    r.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join("\n")
}

/// A -32029 refusal: (limit, retry_after_ms, message).
fn refusal(result: &Result<CallToolResult, ServiceError>) -> Option<(String, u64, String)> {
    let Err(ServiceError::McpError(e)) = result else { return None };
    if e.code.0 != warden_mcp::limits::LIMITED {
        return None;
    }
    let data = e.data.as_ref()?;
    Some((data["limit"].as_str()?.to_string(), data["retry_after_ms"].as_u64()?, e.message.to_string()))
}

#[tokio::test]
async fn a_principal_over_its_rate_gets_a_429_error_with_a_retry_hint_and_succeeds_after_waiting_it() {
    // One call per 5 s for `load`, no burst beyond it; `solo` is not rate limited.
    let gw = Gateway::start(
        r#"
[gateway.limits]
per_principal = { rate = "12/min", burst = 1 }
overrides = [{ principal = "solo", rate = "unlimited" }]
[[servers]]
name = "demo"
command = "${WARDEN_EXE}"
args = ["demo-server"]
"#,
    );
    let load = gw.client("load").await;
    let echo = |m: &str| json!({"message": m});
    let first = try_call(load.peer(), "demo__echo", echo("one")).await.expect("admitted");
    assert_eq!(text(&first), "one");

    let second = try_call(load.peer(), "demo__echo", echo("two")).await;
    let (limit, retry_after_ms, message) = refusal(&second).unwrap_or_else(|| panic!("not a -32029: {second:?}"));
    assert_eq!(limit, "principal-rate");
    assert!((1..=5000).contains(&retry_after_ms), "{retry_after_ms}");
    assert_eq!(message, format!("rate limit exceeded for principal load: retry after {retry_after_ms} ms"));
    // Other principals have buckets of their own.
    let solo = gw.client("solo").await;
    for i in 0..5 {
        let r = try_call(solo.peer(), "demo__echo", echo(&format!("solo {i}"))).await.expect("not limited");
        assert_eq!(r.is_error, Some(false));
    }

    // The hint is enough: waited, the call goes through.
    tokio::time::sleep(Duration::from_millis(retry_after_ms)).await;
    let third = try_call(load.peer(), "demo__echo", echo("three")).await.expect("admitted after the hint");
    assert_eq!(text(&third), "three");

    // The refused call never reached the upstream; it is counted and audited.
    assert_eq!(gw.wait_upstream_calls("echo", 7).await, 7, "1 + 5 + 1 calls admitted");
    let m = gw.metrics("solo");
    assert_eq!(sum(&m, "warden_limited_total", &[r#"limit="principal-rate""#]), 1);
    assert_eq!(sum(&m, "warden_limited_total", &[]), 1);
    assert_eq!(sum(&m, "warden_findings_total", &[r#"stage="limit""#, r#"detector="limit.principal-rate""#]), 1);
    assert_eq!(sum(&m, "warden_stage_events_total", &[r#"stage="request""#, r#"outcome="denied""#]), 1);
    assert_eq!(sum(&m, "warden_stage_events_total", &[r#"stage="request""#, r#"outcome="allowed""#]), 7);
}

#[tokio::test]
async fn concurrency_limits_refuse_after_a_bounded_wait_per_upstream_and_per_principal() {
    let gw = Gateway::start(
        r#"
[gateway.limits]
queue_timeout_ms = 200
overrides = [{ principal = "solo", max_concurrent = 1 }]
[[servers]]
name = "narrow"
command = "${WARDEN_EXE}"
args = ["demo-server", "--faults"]
max_concurrency = 1
[[servers]]
name = "wide"
command = "${WARDEN_EXE}"
args = ["demo-server", "--faults"]
"#,
    );
    let load = gw.client("load").await;
    let slow = |n: u64| json!({"n": n, "fail_every": 0, "ms": 3000});
    let quick = |n: u64| json!({"n": n, "fail_every": 0});

    // `narrow` runs one call at a time: while a slow one holds its slot, another call
    // waits 200 ms, then is refused, and the upstream never sees it.
    let peer = load.peer().clone();
    let holder = tokio::spawn(async move { try_call(&peer, "narrow__flaky", slow(1)).await });
    assert_eq!(gw.wait_upstream_calls("flaky", 1).await, 1, "the slow call is running");
    let refused = try_call(load.peer(), "narrow__flaky", quick(2)).await;
    let (limit, retry_after_ms, message) = refusal(&refused).unwrap_or_else(|| panic!("not a -32029: {refused:?}"));
    assert_eq!(limit, "upstream-concurrency");
    assert!(retry_after_ms >= 1);
    assert_eq!(message, format!("upstream narrow is busy (1 calls in flight): retry after {retry_after_ms} ms"));
    // Other upstreams are not affected; once the slot is free, calls go through.
    assert_eq!(text(&try_call(load.peer(), "wide__flaky", quick(3)).await.expect("wide is free")), "ok 3");
    assert_eq!(text(&holder.await.expect("joined").expect("the slow call ends")), "ok 1");
    assert_eq!(text(&try_call(load.peer(), "narrow__flaky", quick(4)).await.expect("free again")), "ok 4");

    // `solo` may have one call in flight, whatever the upstream.
    let solo = gw.client("solo").await;
    let peer = solo.peer().clone();
    let holder = tokio::spawn(async move { try_call(&peer, "wide__flaky", slow(5)).await });
    assert_eq!(gw.wait_upstream_calls("flaky", 4).await, 4, "solo's slow call is running");
    let refused = try_call(solo.peer(), "wide__flaky", quick(6)).await;
    let (limit, _, message) = refusal(&refused).unwrap_or_else(|| panic!("not a -32029: {refused:?}"));
    assert_eq!(limit, "principal-concurrency");
    assert!(message.starts_with("too many calls in flight for principal solo (limit 1): retry after "), "{message}");
    // Another principal on the same upstream is not held up by solo's limit.
    assert_eq!(text(&try_call(load.peer(), "wide__flaky", quick(7)).await.expect("load is free")), "ok 7");
    assert_eq!(text(&holder.await.expect("joined").expect("the slow call ends")), "ok 5");

    assert_eq!(gw.wait_upstream_calls("flaky", 5).await, 5, "refused calls never reached an upstream");
    let m = gw.metrics("load");
    assert_eq!(sum(&m, "warden_limited_total", &[r#"limit="upstream-concurrency""#]), 1);
    assert_eq!(sum(&m, "warden_limited_total", &[r#"limit="principal-concurrency""#]), 1);
    assert_eq!(
        sum(&m, "warden_stage_events_total", &[r#"stage="limit""#, r#"server="narrow""#, r#"outcome="denied""#]),
        1
    );
}

/// How one call was answered.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Answer {
    /// The result the call asked for.
    Ok,
    /// The upstream failed it (an `isError` result naming the upstream's error).
    UpstreamFailed,
    /// The guardrail trapped and failed closed (an `isError` result).
    Blocked,
    /// Refused by a limit (-32029), by which one.
    Limited(String),
    /// Anything else: a bug.
    Unexpected(String),
}

/// One call of the load: the tool, its arguments, and what it may be answered.
struct Planned {
    tool: &'static str,
    args: Value,
    /// The text a success carries.
    ok_text: String,
    /// The upstream fails it (`n` is a multiple of `fail_every`).
    fails: bool,
    /// The trap guardrail blocks it.
    trapped: bool,
}

const FAIL_EVERY: u64 = 7;

fn plan(client: usize, i: usize) -> Planned {
    let n = (client * 1000 + i) as u64;
    let flaky = |ms: u64| Planned {
        tool: "flaky__flaky",
        args: json!({"n": n, "fail_every": FAIL_EVERY, "ms": ms}),
        ok_text: format!("ok {n}"),
        fails: n.is_multiple_of(FAIL_EVERY),
        trapped: false,
    };
    match i % 10 {
        0..=3 => flaky(0),
        // Holds an upstream slot a while: calls queue behind it.
        4 => flaky(30),
        5 => Planned {
            tool: "steady__echo",
            args: json!({"message": "attack"}),
            ok_text: String::new(),
            fails: false,
            trapped: true,
        },
        _ => {
            let message = format!("message {client}-{i}");
            Planned {
                tool: "steady__echo",
                args: json!({"message": message}),
                ok_text: message,
                fails: false,
                trapped: false,
            }
        }
    }
}

fn classify(planned: &Planned, result: &Result<CallToolResult, ServiceError>) -> Answer {
    if let Some((limit, retry_after_ms, _)) = refusal(result) {
        return match retry_after_ms {
            0 => Answer::Unexpected(format!("no retry hint: {result:?}")),
            _ => Answer::Limited(limit),
        };
    }
    let r = match result {
        Ok(r) => r,
        Err(e) => return Answer::Unexpected(format!("{e}")),
    };
    let t = text(r);
    match (r.is_error, planned) {
        (Some(false) | None, p) if !p.fails && !p.trapped && t == p.ok_text => Answer::Ok,
        (Some(true), p) if p.fails && t.contains("upstream flaky") && t.contains("flaky failure on call") => {
            Answer::UpstreamFailed
        }
        (Some(true), p) if p.trapped && t.contains("guardrail trap failed") => Answer::Blocked,
        _ => Answer::Unexpected(format!("{} answered {r:?}", planned.tool)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_concurrent_calls_each_get_one_answer_and_the_metrics_agree() {
    const CLIENTS: usize = 8;
    const CALLS: usize = 400;
    /// Calls each client keeps in flight.
    const DEPTH: usize = 4;
    // `load` (7 clients, 28 calls in flight) may run 12 calls at once, 12 more wait up
    // to 20 ms; `tight` (1 client) gets 10 calls a second. `flaky` fails every 7th
    // call and runs 4 at a time; `steady` takes 150 calls a second from everyone.
    let gw = Gateway::start(
        r#"
[gateway.limits]
queue_timeout_ms = 20
per_principal = { max_concurrent = 12 }
overrides = [{ principal = "tight", rate = "10/s", burst = 5 }]
[[servers]]
name = "flaky"
command = "${WARDEN_EXE}"
args = ["demo-server", "--faults"]
max_concurrency = 4
[[servers]]
name = "steady"
command = "${WARDEN_EXE}"
args = ["demo-server"]
rate = "150/s"
burst = 20
"#,
    );
    let run = async {
        let mut clients = Vec::new();
        for c in 0..CLIENTS {
            clients.push(gw.client(if c == CLIENTS - 1 { "tight" } else { "load" }).await);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (c, client) in clients.iter().enumerate() {
            let peer = client.peer().clone();
            tasks.spawn(async move {
                let mut answers = Vec::with_capacity(CALLS);
                let mut in_flight = tokio::task::JoinSet::new();
                for i in 0..CALLS {
                    if in_flight.len() == DEPTH {
                        answers.push(in_flight.join_next().await.expect("a call in flight").expect("joined"));
                    }
                    let peer = peer.clone();
                    in_flight.spawn(async move {
                        let planned = plan(c, i);
                        let result = try_call(&peer, planned.tool, planned.args.clone()).await;
                        (c, i, classify(&planned, &result))
                    });
                }
                while let Some(answer) = in_flight.join_next().await {
                    answers.push(answer.expect("joined"));
                }
                answers
            });
        }
        let mut answers = Vec::new();
        while let Some(a) = tasks.join_next().await {
            answers.extend(a.expect("client task"));
        }
        for client in clients {
            let _ = client.cancel().await;
        }
        answers
    };
    let answers = tokio::time::timeout(Duration::from_secs(600), run).await.expect("the load finished in bounded time");

    // Exactly one answer per call, each the kind its request allows.
    assert_eq!(answers.len(), CLIENTS * CALLS);
    let mut seen = std::collections::BTreeSet::new();
    for (c, i, _) in &answers {
        assert!(seen.insert((*c, *i)), "call {c}/{i} answered twice");
    }
    let unexpected: Vec<_> = answers.iter().filter(|(_, _, a)| matches!(a, Answer::Unexpected(_))).collect();
    assert!(
        unexpected.is_empty(),
        "{} unexpected answers, e.g. {:?}",
        unexpected.len(),
        &unexpected[..3.min(unexpected.len())]
    );
    let mut counts: BTreeMap<Answer, u64> = BTreeMap::new();
    for (_, _, a) in &answers {
        *counts.entry(a.clone()).or_default() += 1;
    }
    eprintln!("answers: {counts:?}");
    let count = |a: Answer| counts.get(&a).copied().unwrap_or(0);
    let limited = |l: &str| count(Answer::Limited(l.into()));
    let (ok, failed, blocked) = (count(Answer::Ok), count(Answer::UpstreamFailed), count(Answer::Blocked));
    assert!(ok > 0 && failed > 0 && blocked > 0, "{counts:?}");
    assert!(limited("principal-rate") > 0, "the tight principal was limited: {counts:?}");
    // Only the tight principal has a rate; only `steady` has one.
    for (c, i, a) in &answers {
        match a {
            Answer::Limited(l) if l == "principal-rate" => assert_eq!(*c, CLIENTS - 1, "call {c}/{i}"),
            Answer::Limited(l) if l == "upstream-rate" => assert_eq!(plan(*c, *i).tool, "steady__echo"),
            Answer::Limited(l) if l == "upstream-concurrency" => assert_eq!(plan(*c, *i).tool, "flaky__flaky"),
            _ => {}
        }
    }

    // The gateway counted the same.
    let m = gw.metrics("load");
    let events = |stage: &str, outcome: &str| {
        sum(&m, "warden_stage_events_total", &[&format!("stage=\"{stage}\""), &format!("outcome=\"{outcome}\"")])
    };
    assert_eq!(
        sum(&m, "warden_stage_events_total", &[r#"stage="request""#]),
        (CLIENTS * CALLS) as u64,
        "one request each"
    );
    assert_eq!(events("request", "allowed"), ok);
    assert_eq!(events("request", "blocked"), failed + blocked, "isError results: upstream failures and blocks");
    let all_limited: u64 = counts.iter().filter(|(a, _)| matches!(a, Answer::Limited(_))).map(|(_, n)| n).sum();
    assert_eq!(events("request", "denied"), all_limited);
    assert_eq!(events("limit", "denied"), all_limited);
    for limit in ["principal-rate", "principal-concurrency", "upstream-rate", "upstream-concurrency"] {
        let label = format!("limit=\"{limit}\"");
        assert_eq!(sum(&m, "warden_limited_total", &[&label]), limited(limit), "{limit}");
    }
    assert_eq!(events("call", "failed"), failed, "upstream failures");
    assert_eq!(events("call", "allowed"), ok, "every success was an upstream call");
    assert_eq!(events("input", "blocked"), blocked);
    assert_eq!(sum(&m, "warden_plugin_failures_total", &[r#"plugin="trap""#, r#"kind="trap""#]), blocked);

    // And the upstreams ran exactly the calls that were neither refused nor blocked.
    let flaky_ran = answers
        .iter()
        .filter(|(c, i, a)| plan(*c, *i).tool == "flaky__flaky" && matches!(a, Answer::Ok | Answer::UpstreamFailed))
        .count();
    let echo_ran = answers.iter().filter(|(c, i, a)| plan(*c, *i).tool == "steady__echo" && *a == Answer::Ok).count();
    assert_eq!(gw.wait_upstream_calls("flaky", flaky_ran).await, flaky_ran);
    assert_eq!(gw.wait_upstream_calls("echo", echo_ran).await, echo_ran);
}
