//! One benchmark run: start the echo upstream and every gateway configuration, then for each
//! (payload, clients) cell measure direct and every gateway one after the other, so that each
//! added latency and throughput ratio compares measurements taken seconds apart. Cold start
//! and memory per session are measured first, on gateways of their own.

use crate::RunArgs;
use crate::load::{self, Target};
use crate::metrics;
use crate::procs::{self, API_KEY, GatewayEnv, Proc, TempDir};
use crate::report::{self, ColdStart, GatewayInfo, Report, Row, Sessions};
use crate::stats::median;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How the gateway reaches the echo upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// Streamable HTTP, the same echo server the direct rows call.
    Http,
    /// A stdio child process the gateway starts (`warden-bench echo-server --stdio`).
    Stdio,
}

/// A gateway configuration under test.
#[derive(Debug, Clone)]
pub struct GatewaySpec {
    pub name: String,
    pub upstream: Upstream,
    pub auth: Vec<&'static str>,
    pub input: Vec<&'static str>,
    pub output: Vec<&'static str>,
    pub tools: Vec<&'static str>,
    pub telemetry: Vec<&'static str>,
    /// A single-plugin configuration (run at `--plugin-clients` only).
    pub single: bool,
}

/// The upstream's name in every gateway config: its tool is `bench__echo`.
const SERVER: &str = "bench";

fn specs() -> Vec<GatewaySpec> {
    let spec = |name: &str, upstream, auth, input, output, tools, telemetry, single| GatewaySpec {
        name: name.to_string(),
        upstream,
        auth,
        input,
        output,
        tools,
        telemetry,
        single,
    };
    let full = |name: &str, upstream| {
        spec(
            name,
            upstream,
            vec!["apikey"],
            vec!["threats", "secrets", "pii", "injection", "policy"],
            vec!["secrets", "injection", "threats"],
            vec!["tools"],
            vec!["audit"],
            false,
        )
    };
    let none = |name: &str, upstream| spec(name, upstream, vec![], vec![], vec![], vec![], vec![], false);
    let http = Upstream::Http;
    vec![
        none("none/http", http),
        full("full/http", http),
        none("none/stdio", Upstream::Stdio),
        full("full/stdio", Upstream::Stdio),
        // Each plugin alone, where the full chain has it.
        spec("apikey/http", http, vec!["apikey"], vec![], vec![], vec![], vec![], true),
        spec("secrets/http", http, vec![], vec!["secrets"], vec!["secrets"], vec![], vec![], true),
        spec("pii/http", http, vec![], vec!["pii"], vec![], vec![], vec![], true),
        spec("injection/http", http, vec![], vec!["injection"], vec!["injection"], vec![], vec![], true),
        spec("policy/http", http, vec![], vec!["policy"], vec![], vec![], vec![], true),
        spec("threats/http", http, vec![], vec!["threats"], vec!["threats"], vec![], vec![], true),
        spec("tools/http", http, vec![], vec![], vec![], vec!["tools"], vec![], true),
        spec("audit/http", http, vec![], vec![], vec![], vec![], vec!["audit"], true),
    ]
}

/// TOML string (a JSON string is a valid TOML basic string).
fn q(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn list(items: &[&str]) -> String {
    format!("[{}]", items.iter().map(|i| q(i)).collect::<Vec<_>>().join(", "))
}

/// The `warden.toml` of a configuration: only the plugins it uses are declared.
pub fn config_toml(spec: &GatewaySpec, echo_url: &str, bench_exe: &Path, audit_file: &Path) -> String {
    let mut toml = format!(
        "[gateway]\nauth = {}\ninput = {}\noutput = {}\ntools = {}\ntelemetry = {}\n\n[[servers]]\nname = {}\n",
        list(&spec.auth),
        list(&spec.input),
        list(&spec.output),
        list(&spec.tools),
        list(&spec.telemetry),
        q(SERVER)
    );
    match spec.upstream {
        Upstream::Http => toml.push_str(&format!("url = {}\n", q(echo_url))),
        Upstream::Stdio => toml.push_str(&format!(
            "command = {}\nargs = [\"echo-server\", \"--stdio\"]\n",
            q(&bench_exe.display().to_string())
        )),
    }
    let used: Vec<&str> =
        [&spec.auth, &spec.input, &spec.output, &spec.tools, &spec.telemetry].into_iter().flatten().copied().collect();
    let plugins: [(&str, String); 8] = [
        (
            "apikey",
            "kind = \"auth\"\nsource = \"builtin:auth-apikey\"\nconfig = { keys = [{ id = \"bench\", sha256 = \"${WARDEN_API_KEY_SHA256}\" }] }".into(),
        ),
        ("secrets", "kind = \"guardrail\"\nsource = \"builtin:guard-secrets\"".into()),
        ("pii", "kind = \"guardrail\"\nsource = \"builtin:guard-pii\"\nconfig = {}".into()),
        ("injection", "kind = \"guardrail\"\nsource = \"builtin:guard-injection\"".into()),
        (
            "policy",
            // A typical rule set: a keyword, a regex and structural limits that a 1 MiB
            // payload stays within.
            "kind = \"guardrail\"\nsource = \"builtin:guard-policy\"\nconfig = { rules = [{ name = \"bench\", \
             deny_keywords = [\"drop table\"], deny_patterns = ['(?i)\\bDELETE\\s+FROM\\b'], \
             max_payload_bytes = 4194304, max_depth = 32 }] }"
                .into(),
        ),
        ("tools", "kind = \"guardrail\"\nsource = \"builtin:guard-tools\"".into()),
        ("threats", "kind = \"guardrail\"\nsource = \"builtin:guard-threats\"".into()),
        (
            "audit",
            format!(
                "kind = \"telemetry\"\nsource = \"builtin:telemetry-audit\"\ngrants = {{ stdout = {} }}",
                q(&audit_file.display().to_string())
            ),
        ),
    ];
    for (name, body) in plugins {
        if used.contains(&name) {
            toml.push_str(&format!("\n[[plugins]]\nname = {}\n{body}\n", q(name)));
        }
    }
    toml
}

/// A running gateway under test.
struct Running {
    spec: GatewaySpec,
    proc: Proc,
    target: Target,
    info: GatewayInfo,
}

/// `--warden`, or target/release/warden.
fn locate_warden(arg: Option<PathBuf>) -> Result<PathBuf> {
    let path = arg.unwrap_or_else(|| PathBuf::from("target/release/warden"));
    if !path.is_file() {
        bail!(
            "no warden binary at {} (build it with `cargo build --release -p warden`, or pass --warden PATH)",
            path.display()
        );
    }
    path.canonicalize().with_context(|| format!("cannot resolve {}", path.display()))
}

/// Start a gateway (RSS is measured later, for all of them at once: [`settle`]).
fn start_gateway(spec: &GatewaySpec, warden: &Path, work: &Path, echo_url: &str, env: &GatewayEnv) -> Result<Running> {
    let slug = spec.name.replace('/', "-");
    let config = work.join(format!("{slug}.toml"));
    let bench = std::env::current_exe().context("cannot find this executable")?;
    std::fs::write(&config, config_toml(spec, echo_url, &bench, &work.join(format!("{slug}-audit.jsonl"))))?;
    let (proc, listening) = procs::warden(warden, &config, env)?;
    let target = Target {
        url: proc.url.clone(),
        key: (!spec.auth.is_empty()).then(|| API_KEY.to_string()),
        tool: format!("{SERVER}__{}", crate::echo::TOOL),
    };
    let info = GatewayInfo {
        name: spec.name.clone(),
        listening_ms: ms(listening),
        rss_start_kib: 0,
        rss_idle_kib: 0,
        rss_peak_kib: 0,
    };
    Ok(Running { spec: spec.clone(), proc, target, info })
}

/// RSS of every started gateway, then one call through each, then their idle RSS.
async fn settle(gateways: &mut [Running]) -> Result<()> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    for g in gateways.iter_mut() {
        g.info.rss_start_kib = g.proc.rss_kib().unwrap_or(0);
    }
    for g in gateways.iter() {
        let one =
            load::Cell { clients: 1, payload_bytes: 1024, calls: 1, max_secs: 10.0, warmup_secs: 0.0, watch: &[] };
        let cell = load::run_cell(&g.target, one).await?;
        if cell.errors > 0 {
            bail!("{}: first call failed: {:?}\n{}", g.spec.name, cell.first_error, g.proc.tail());
        }
    }
    // Idle: past the second after which a gateway drops the warm instances of plugins
    // that run only at tool discovery (warden-host's TRIM_AFTER).
    tokio::time::sleep(Duration::from_secs(2)).await;
    for g in gateways.iter_mut() {
        g.info.rss_idle_kib = g.proc.rss_kib().unwrap_or(0);
        g.info.rss_peak_kib = g.info.rss_idle_kib;
    }
    Ok(())
}

/// RSS after a short pause (lets start-up or a call finish its background work).
async fn settle_rss(proc: &Proc) -> u64 {
    tokio::time::sleep(Duration::from_millis(300)).await;
    proc.rss_kib().unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Process start → first successful `tools/call` (initialize included), with the plugin
/// cache in `cache_home` as it is. Returns (listening, first call) in ms and the process.
async fn first_call(
    spec: &GatewaySpec,
    warden: &Path,
    work: &Path,
    echo_url: &str,
    env: &GatewayEnv,
) -> Result<(f64, f64, Proc)> {
    let slug = spec.name.replace('/', "-");
    let config = work.join(format!("cold-{slug}.toml"));
    let bench = std::env::current_exe().context("cannot find this executable")?;
    std::fs::write(&config, config_toml(spec, echo_url, &bench, &work.join("cold-audit.jsonl")))?;
    let t0 = Instant::now();
    let (proc, listening) = procs::warden(warden, &config, env)?;
    let target = Target { url: proc.url.clone(), key: Some(API_KEY.to_string()), tool: format!("{SERVER}__echo") };
    let client = load::connect(&target).await?;
    let mut args = serde_json::Map::new();
    args.insert("text".into(), "hello".into());
    let request = rmcp::model::CallToolRequestParams::new(target.tool.clone()).with_arguments(args);
    let result = client.peer().call_tool(request).await.context("first call")?;
    let first = t0.elapsed();
    anyhow::ensure!(result.is_error != Some(true), "first call refused: {result:?}");
    let _ = client.cancel().await;
    Ok((ms(listening), ms(first), proc))
}

/// Cold start with an empty plugin cache, then warm (the cache it filled), `runs` times;
/// then memory per session on the last warm gateway.
async fn cold_and_sessions(
    args: &RunArgs,
    warden: &Path,
    work: &Path,
    echo: &Proc,
) -> Result<(Option<ColdStart>, Option<Sessions>, Option<TempDir>)> {
    let full = specs().into_iter().find(|s| s.name == "full/http").context("full/http spec")?;
    let mut cold = ColdStart::default();
    let mut last_warm = None;
    for i in 0..args.cold_runs.max(usize::from(args.sessions > 0)) {
        let cache = TempDir::new(&format!("cold-cache-{i}"))?;
        let state = TempDir::new(&format!("cold-state-{i}"))?;
        let env = GatewayEnv { cache_home: cache.path().to_path_buf(), state_home: state.path().to_path_buf() };
        let (listen, first, proc) = first_call(&full, warden, work, &echo.url, &env).await?;
        drop(proc);
        if i < args.cold_runs {
            cold.empty_cache_listening_ms.push(listen);
            cold.empty_cache_first_call_ms.push(first);
        }
        let (listen, first, proc) = first_call(&full, warden, work, &echo.url, &env).await?;
        if i < args.cold_runs {
            cold.warm_cache_listening_ms.push(listen);
            cold.warm_cache_first_call_ms.push(first);
        }
        last_warm = Some((proc, cache, state));
    }
    cold.runs = args.cold_runs;
    cold.empty_cache_first_call_median_ms = median(&cold.empty_cache_first_call_ms);
    cold.warm_cache_first_call_median_ms = median(&cold.warm_cache_first_call_ms);
    cold.empty_cache_listening_median_ms = median(&cold.empty_cache_listening_ms);
    cold.warm_cache_listening_median_ms = median(&cold.warm_cache_listening_ms);
    let cold = (args.cold_runs > 0).then_some(cold);

    let (sessions, cache) = match last_warm {
        Some((proc, cache, _state)) if args.sessions > 0 => {
            (Some(open_sessions(&proc, echo, args.sessions).await?), Some(cache))
        }
        Some((_, cache, _)) => (None, Some(cache)),
        None => (None, None),
    };
    Ok((cold, sessions, cache))
}

/// Open `n` MCP sessions (initialize + initialized) on the full-chain gateway and keep them
/// open; the RSS delta is the gateway's cost of holding them. The same on the echo server
/// directly gives the cost of an rmcp session without the gateway.
async fn open_sessions(proc: &Proc, echo: &Proc, n: usize) -> Result<Sessions> {
    let echo_before = echo.rss_kib().unwrap_or(0);
    let (opened, failed, rss_before_kib, rss_after_kib) = hold_sessions(proc, Some(API_KEY), n).await;
    let echo_after = echo.rss_kib().unwrap_or(0);
    let (direct_opened, _, direct_before, direct_after) = hold_sessions(echo, None, n).await;
    let per_1000 = |opened: usize, before: u64, after: u64| {
        if opened == 0 { 0.0 } else { after.saturating_sub(before) as f64 * 1000.0 / opened as f64 }
    };
    Ok(Sessions {
        requested: n,
        opened,
        failed,
        rss_before_kib,
        rss_after_kib,
        kib_per_1000: per_1000(opened, rss_before_kib, rss_after_kib),
        upstream_rss_delta_kib: echo_after as i64 - echo_before as i64,
        direct_kib_per_1000: per_1000(direct_opened, direct_before, direct_after),
    })
}

/// Open `n` sessions on `proc`'s endpoint, measure its RSS before and with them open, then
/// close them: (opened, failed, RSS before, RSS after) in KiB.
async fn hold_sessions(proc: &Proc, key: Option<&str>, n: usize) -> (usize, usize, u64, u64) {
    let rss_before_kib = settle_rss(proc).await;
    let target = Target { url: proc.url.clone(), key: key.map(str::to_string), tool: String::new() };
    // One connection pool for all of them: the server sees n sessions, the bench does
    // not need n pools.
    let http = reqwest::Client::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(16));
    let mut opening = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (target, http, limit) = (target.clone(), http.clone(), limit.clone());
        opening.spawn(async move {
            let _permit = limit.acquire_owned().await;
            load::connect_with(&target, Some(http)).await
        });
    }
    let mut clients = Vec::with_capacity(n);
    let mut failed = 0;
    while let Some(joined) = opening.join_next().await {
        match joined {
            Ok(Ok(c)) => clients.push(c),
            _ => failed += 1,
        }
    }
    let rss_after_kib = settle_rss(proc).await.max(settle_rss(proc).await);
    let opened = clients.len();
    for client in clients {
        let _ = client.cancel().await;
    }
    (opened, failed, rss_before_kib, rss_after_kib)
}

/// Sample a process's RSS every 50 ms until stopped; returns the peak.
fn sample_rss(pid: u32) -> (Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
    let peak = Arc::new(AtomicU64::new(0));
    let out = peak.clone();
    let handle = tokio::spawn(async move {
        loop {
            if let Some(kib) = procs::rss_kib(pid) {
                peak.fetch_max(kib, Ordering::Relaxed);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    (out, handle)
}

/// A measured cell of this run.
fn cell<'a>(args: &RunArgs, clients: usize, payload_bytes: usize, watch: &'a [u32]) -> load::Cell<'a> {
    load::Cell {
        clients,
        payload_bytes,
        calls: args.calls,
        max_secs: args.max_secs,
        warmup_secs: args.warmup_secs,
        watch,
    }
}

pub async fn run(args: RunArgs) -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let started = Instant::now();
    let warden = locate_warden(args.warden.clone())?;
    let machine = report::Machine::read(&warden);
    let work = TempDir::new("run")?;
    let echo = procs::echo_http()?;
    eprintln!("warden-bench: {} against echo upstream {}", warden.display(), echo.url);

    let (cold, sessions, warm_cache) = cold_and_sessions(&args, &warden, work.path(), &echo).await?;
    if let Some(c) = &cold {
        eprintln!(
            "cold start: {:.0} ms (empty cache), {:.0} ms (warm)",
            c.empty_cache_first_call_median_ms, c.warm_cache_first_call_median_ms
        );
    }

    // The gateways under test share one plugin cache, already filled (by the cold-start
    // runs, else by a start of its own), so no gateway's RSS includes compiling plugins.
    let cache_home = match &warm_cache {
        Some(dir) => dir.path().to_path_buf(),
        None => work.path().join("cache"),
    };
    let env = GatewayEnv { cache_home, state_home: work.path().join("state") };
    if warm_cache.is_none() {
        let full = specs().into_iter().find(|s| s.name == "full/http").context("full/http spec")?;
        drop(first_call(&full, &warden, work.path(), &echo.url, &env).await?);
    }
    let mut gateways = Vec::new();
    for spec in specs().into_iter().filter(|s| args.only.is_empty() || args.only.contains(&s.name)) {
        eprintln!("starting gateway {}", spec.name);
        gateways.push(start_gateway(&spec, &warden, work.path(), &echo.url, &env)?);
    }
    settle(&mut gateways).await?;

    let direct = Target { url: echo.url.clone(), key: None, tool: crate::echo::TOOL.to_string() };
    let http = reqwest::Client::new();
    let mut rows = Vec::new();
    for &payload in &args.payloads {
        for &clients in &args.clients {
            eprintln!("cell: {payload} B, {clients} clients");

            let run = load::run_cell(&direct, cell(&args, clients, payload, &[echo.pid()])).await?;
            let mut base = Row::new("direct/http", payload, clients, run.clone(), None);
            base.set_cpu(&run, None, Some(0));
            let base_summary = base.summary;
            let base_tput = base.throughput;
            rows.push(base);
            for gw in &mut gateways {
                if gw.spec.single && !args.plugin_clients.contains(&clients) {
                    continue;
                }
                let before =
                    if args.stage_metrics { metrics::scrape(&http, gw.proc.authority()).await.ok() } else { None };
                let (peak, sampler) = sample_rss(gw.proc.pid());
                // The gateway, then its upstream: the HTTP echo server or its stdio children.
                let mut watch = vec![gw.proc.pid()];
                match gw.spec.upstream {
                    Upstream::Http => watch.push(echo.pid()),
                    Upstream::Stdio => watch.extend(procs::children(gw.proc.pid())),
                }
                let run = load::run_cell(&gw.target, cell(&args, clients, payload, &watch))
                    .await
                    .with_context(|| format!("{}: {}", gw.spec.name, gw.proc.tail()))?;
                sampler.abort();
                let peak = peak.load(Ordering::Relaxed);
                gw.info.rss_peak_kib = gw.info.rss_peak_kib.max(peak);
                let after =
                    if before.is_some() { metrics::scrape(&http, gw.proc.authority()).await.ok() } else { None };
                let breakdown = before.zip(after).map(|(b, a)| metrics::diff(&b, &a));
                let mut row = Row::new(&gw.spec.name, payload, clients, run.clone(), Some((base_summary, base_tput)));
                row.set_cpu(&run, Some(0), Some(1));
                row.rss_peak_kib = Some(peak);
                if let Some((stages, plugins)) = breakdown {
                    row.stages_us = stages;
                    row.plugins_us = plugins;
                }
                if row.errors > 0 {
                    eprintln!("  {}: {} errors, first: {:?}", row.config, row.errors, row.first_error);
                }
                rows.push(row);
            }
        }
    }

    let report = Report {
        machine,
        settings: report::Settings::from(&args),
        wall_secs: started.elapsed().as_secs_f64(),
        rows,
        gateways: gateways.iter().map(|g| g.info.clone()).collect(),
        cold_start: cold,
        sessions,
        configs: gateways
            .iter()
            .map(|g| {
                (
                    g.spec.name.clone(),
                    config_toml(&g.spec, "http://ECHO/mcp", Path::new("warden-bench"), Path::new("AUDIT")),
                )
            })
            .collect(),
    };
    print!("{}", report.markdown());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
