//! The client side: N concurrent MCP clients over Streamable HTTP (rmcp), each with its own
//! session and its own HTTP connection pool (like N separate agents), calling the echo tool
//! in a closed loop. A cell warms up (not measured), then runs until it has made `calls`
//! calls or `max_secs` have passed, whichever comes first.

use anyhow::{Context, Result};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Longest wait for one call before it counts as an error.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// An MCP endpoint and the tool to call there.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub key: Option<String>,
    pub tool: String,
}

pub type Client = RunningService<RoleClient, ()>;

/// One client with its own session and its own pool of keep-alive connections, as the
/// MCP SDKs' clients have (httpx, undici). rmcp's default client opens a connection
/// per request (pooling off), which would charge every call a TCP handshake on both
/// the direct and the gateway paths.
pub async fn connect(target: &Target) -> Result<Client> {
    let http = reqwest::Client::builder().tcp_nodelay(true).build().context("cannot build an HTTP client")?;
    connect_with(target, Some(http)).await
}

/// One client, over `http` when given (shared connection pool).
pub async fn connect_with(target: &Target, http: Option<reqwest::Client>) -> Result<Client> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(target.url.clone());
    if let Some(key) = &target.key {
        config = config.auth_header(key.clone());
    }
    let client = match http {
        Some(http) => ().serve(StreamableHttpClientTransport::with_client(http, config)).await,
        None => ().serve(StreamableHttpClientTransport::from_config(config)).await,
    };
    client.with_context(|| format!("cannot initialize an MCP session with {}", target.url))
}

/// Benign text of exactly `bytes` bytes: lorem-ipsum words, so no guardrail has a reason to
/// block or rewrite it.
pub fn payload(bytes: usize) -> String {
    const WORDS: &[&str] = &[
        "lorem",
        "ipsum",
        "dolor",
        "sit",
        "amet",
        "consectetur",
        "adipiscing",
        "elit",
        "sed",
        "do",
        "eiusmod",
        "tempor",
        "incididunt",
        "ut",
        "labore",
        "et",
        "dolore",
        "magna",
        "aliqua",
        "enim",
        "ad",
        "minim",
        "veniam",
        "quis",
        "nostrud",
        "exercitation",
        "ullamco",
        "laboris",
        "nisi",
        "aliquip",
        "ex",
        "ea",
        "commodo",
        "consequat",
        "duis",
        "aute",
        "irure",
        "in",
        "reprehenderit",
        "voluptate",
        "velit",
        "esse",
        "cillum",
        "fugiat",
        "nulla",
        "pariatur",
    ];
    let mut text = String::with_capacity(bytes + 16);
    let mut i = 0usize;
    while text.len() < bytes {
        if !text.is_empty() {
            text.push(if i.is_multiple_of(13) { '\n' } else { ' ' });
        }
        // A fixed, irregular walk through the list (no long repeated period).
        text.push_str(WORDS[(i * 7 + i / WORDS.len()) % WORDS.len()]);
        i += 1;
    }
    text.truncate(bytes);
    text
}

/// One client's measured calls.
#[derive(Default)]
struct ClientRun {
    samples: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    finished: Option<Instant>,
}

/// What one cell measured.
#[derive(Debug, Clone, Default)]
pub struct CellRun {
    pub samples: Vec<Duration>,
    pub errors: usize,
    pub first_error: Option<String>,
    /// Start of the measured phase to the end of its last call.
    pub elapsed: Duration,
    /// CPU seconds used during the measured phase by this process (the clients) and by each
    /// watched process.
    pub client_cpu_secs: f64,
    pub watched_cpu_secs: Vec<f64>,
}

/// One call; an error result, a protocol error, a timeout or a changed echo are errors.
async fn call_once(client: &Client, request: &CallToolRequestParams, expect: &str) -> Result<(), String> {
    let response = tokio::time::timeout(CALL_TIMEOUT, client.peer().call_tool(request.clone()))
        .await
        .map_err(|_| format!("no answer within {CALL_TIMEOUT:?}"))?
        .map_err(|e| format!("call failed: {e}"))?;
    let text: String = response.content.iter().filter_map(|c| c.as_text().map(|t| t.text.as_str())).collect();
    if response.is_error == Some(true) {
        return Err(format!("error result: {}", text.chars().take(300).collect::<String>()));
    }
    if text != expect {
        return Err(format!("echo changed: sent {} bytes, got {} back", expect.len(), text.len()));
    }
    Ok(())
}

/// What one cell runs: `clients` concurrent sessions, `payload_bytes` per call, `calls` or
/// `max_secs` (whichever first) after `warmup_secs`; the CPU time of the `watch` processes
/// (gateway, upstream) is read at the start and end of the measured phase.
#[derive(Debug, Clone, Copy)]
pub struct Cell<'a> {
    pub clients: usize,
    pub payload_bytes: usize,
    pub calls: usize,
    pub max_secs: f64,
    pub warmup_secs: f64,
    pub watch: &'a [u32],
}

fn cpu_of(pids: &[u32]) -> Vec<f64> {
    pids.iter().map(|p| crate::procs::cpu_secs(*p).unwrap_or(0.0)).collect()
}

/// Run one cell against `target`.
pub async fn run_cell(target: &Target, cell: Cell<'_>) -> Result<CellRun> {
    let Cell { clients, payload_bytes, calls, max_secs, warmup_secs, watch } = cell;
    let text: Arc<str> = payload(payload_bytes).into();
    let mut args = Map::new();
    args.insert("text".into(), Value::String(text.to_string()));
    let request = CallToolRequestParams::new(target.tool.clone()).with_arguments(args);

    // Connect every client before anything is measured.
    let mut connecting = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let target = target.clone();
        connecting.spawn(async move { connect(&target).await });
    }
    let mut sessions = Vec::with_capacity(clients);
    while let Some(joined) = connecting.join_next().await {
        sessions.push(joined.context("connect task")??);
    }

    // Warm-up (every client, at least one call), then a common start for the measured phase.
    let barrier = Arc::new(tokio::sync::Barrier::new(clients + 1));
    let remaining = Arc::new(AtomicUsize::new(calls.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for client in sessions {
        let (barrier, remaining, request, text) = (barrier.clone(), remaining.clone(), request.clone(), text.clone());
        tasks.spawn(async move {
            let mut run = ClientRun::default();
            let warm_until = Instant::now() + Duration::from_secs_f64(warmup_secs);
            loop {
                if let Err(e) = call_once(&client, &request, &text).await {
                    run.errors += 1;
                    run.first_error.get_or_insert(format!("warm-up: {e}"));
                }
                if Instant::now() >= warm_until {
                    break;
                }
            }
            barrier.wait().await;
            // Every client is released at the same moment: this is the cell's start.
            let deadline = Instant::now() + Duration::from_secs_f64(max_secs);
            // Take a call from the shared budget; stop when it is spent or time is up.
            while remaining.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok()
                && Instant::now() < deadline
            {
                let t0 = Instant::now();
                let outcome = call_once(&client, &request, &text).await;
                let took = t0.elapsed();
                match outcome {
                    Ok(()) => run.samples.push(took),
                    Err(e) => {
                        run.errors += 1;
                        run.first_error.get_or_insert(e);
                    }
                }
            }
            run.finished = Some(Instant::now());
            (run, client)
        });
    }
    // All clients are warm when they all reach the barrier; the clock starts then.
    barrier.wait().await;
    let started = Instant::now();
    let me = std::process::id();
    let cpu_before = cpu_of(watch);
    let self_before = crate::procs::cpu_secs(me).unwrap_or(0.0);

    let mut cell = CellRun::default();
    let mut last = started;
    let mut done = Vec::with_capacity(clients);
    while let Some(joined) = tasks.join_next().await {
        let (run, client) = joined.context("client task")?;
        done.push(client);
        cell.samples.extend(run.samples);
        cell.errors += run.errors;
        if cell.first_error.is_none() {
            cell.first_error = run.first_error;
        }
        last = last.max(run.finished.unwrap_or(started));
    }
    cell.elapsed = last.saturating_duration_since(started);
    cell.client_cpu_secs = crate::procs::cpu_secs(me).unwrap_or(0.0) - self_before;
    cell.watched_cpu_secs = cpu_of(watch).iter().zip(&cpu_before).map(|(a, b)| a - b).collect();
    for client in done {
        let _ = client.cancel().await;
    }
    Ok(cell)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_have_the_exact_size_and_plain_words() {
        for n in [0, 1, 100, 1024, 10240] {
            assert_eq!(payload(n).len(), n);
        }
        assert!(payload(4096).chars().all(|c| c.is_ascii_lowercase() || c == ' ' || c == '\n'));
    }
}
