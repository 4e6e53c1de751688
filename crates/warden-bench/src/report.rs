//! Results: one [`Report`] per run, printed as markdown tables (ready for BENCHMARKS.md)
//! and written as JSON.

use crate::RunArgs;
use crate::load::CellRun;
use crate::stats::Summary;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: String,
    pub mem_total_mib: u64,
    /// /proc/loadavg when the run started (other work on the machine).
    pub loadavg_at_start: String,
    pub date_utc: String,
    pub command: String,
    pub warden: String,
    pub warden_version: String,
}

impl Machine {
    pub fn read(warden: &Path) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim()))
            .unwrap_or("unknown")
            .to_string();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_total_mib = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kib| kib / 1024);
        let output = |program: &Path, args: &[&str]| {
            std::process::Command::new(program)
                .args(args)
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default()
        };
        Machine {
            nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model,
            mem_total_mib,
            loadavg_at_start: std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_string(),
            date_utc: output(Path::new("date"), &["-u", "+%Y-%m-%d %H:%M UTC"]),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            warden: warden.display().to_string(),
            warden_version: output(warden, &["--version"]),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub calls: usize,
    pub max_secs: f64,
    pub warmup_secs: f64,
    pub payloads: Vec<usize>,
    pub clients: Vec<usize>,
    pub plugin_clients: Vec<usize>,
    pub quick: bool,
}

impl From<&RunArgs> for Settings {
    fn from(a: &RunArgs) -> Settings {
        Settings {
            calls: a.calls,
            max_secs: a.max_secs,
            warmup_secs: a.warmup_secs,
            payloads: a.payloads.clone(),
            clients: a.clients.clone(),
            plugin_clients: a.plugin_clients.clone(),
            quick: a.quick,
        }
    }
}

/// One scenario cell: a configuration at one payload size and client count.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `direct/http`, or the gateway configuration (`full/http`, `pii/http`, …).
    pub config: String,
    pub payload_bytes: usize,
    pub clients: usize,
    /// Successful measured calls.
    pub calls: usize,
    pub errors: usize,
    pub first_error: Option<String>,
    pub elapsed_secs: f64,
    /// Successful calls per second.
    pub throughput: f64,
    #[serde(flatten)]
    pub summary: Summary,
    /// Gateway rows: p50 and p99 minus the direct row's of the same cell.
    pub added_p50_us: Option<f64>,
    pub added_p99_us: Option<f64>,
    /// Gateway rows: throughput / direct throughput.
    pub throughput_ratio: Option<f64>,
    /// Gateway rows: mean µs per call in each stage (`request` is the whole pipeline in
    /// the gateway; `input`, `call`, `output` its parts), from /metrics.
    pub stages_us: BTreeMap<String, f64>,
    /// Gateway rows: mean µs per call into each plugin's sandbox, from /metrics.
    pub plugins_us: BTreeMap<String, f64>,
    /// Gateway rows: the gateway's peak RSS during the cell.
    pub rss_peak_kib: Option<u64>,
    /// CPU time per successful call during the measured phase, in µs: the load generator
    /// (all clients), the gateway process, and the upstream (HTTP echo server, or the
    /// gateway's stdio children). 10 ms tick resolution, so only meaningful over many calls.
    pub cpu_us_per_call: CpuPerCall,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CpuPerCall {
    pub client: f64,
    pub gateway: Option<f64>,
    pub upstream: Option<f64>,
}

impl Row {
    pub fn new(
        config: &str,
        payload_bytes: usize,
        clients: usize,
        mut run: CellRun,
        base: Option<(Summary, f64)>,
    ) -> Row {
        let summary = Summary::of(&mut run.samples);
        let secs = run.elapsed.as_secs_f64();
        let throughput = if secs > 0.0 { run.samples.len() as f64 / secs } else { 0.0 };
        Row {
            config: config.to_string(),
            payload_bytes,
            clients,
            calls: run.samples.len(),
            errors: run.errors,
            first_error: run.first_error,
            elapsed_secs: secs,
            throughput,
            summary,
            added_p50_us: base.map(|(b, _)| summary.p50_us - b.p50_us),
            added_p99_us: base.map(|(b, _)| summary.p99_us - b.p99_us),
            throughput_ratio: base.and_then(|(_, t)| (t > 0.0).then(|| throughput / t)),
            stages_us: BTreeMap::new(),
            plugins_us: BTreeMap::new(),
            rss_peak_kib: None,
            cpu_us_per_call: CpuPerCall::default(),
        }
    }

    /// CPU per call from a cell's readings; `gateway` and `upstream` index the cell's
    /// watched processes (the upstream is the sum of every watched process from there on).
    pub fn set_cpu(&mut self, run: &CellRun, gateway: Option<usize>, upstream: Option<usize>) {
        let n = self.calls.max(1) as f64;
        self.cpu_us_per_call = CpuPerCall {
            client: run.client_cpu_secs * 1e6 / n,
            gateway: gateway.and_then(|i| run.watched_cpu_secs.get(i)).map(|s| s * 1e6 / n),
            upstream: upstream
                .filter(|i| *i < run.watched_cpu_secs.len())
                .map(|i| run.watched_cpu_secs[i..].iter().sum::<f64>() * 1e6 / n),
        };
    }
}

/// A gateway process under test.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayInfo {
    pub name: String,
    /// Spawn to "listening" (plugin cache warm).
    pub listening_ms: f64,
    /// Right after start.
    pub rss_start_kib: u64,
    /// After one call, idle.
    pub rss_idle_kib: u64,
    /// Highest RSS seen during the cells.
    pub rss_peak_kib: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ColdStart {
    pub runs: usize,
    pub empty_cache_listening_ms: Vec<f64>,
    pub empty_cache_first_call_ms: Vec<f64>,
    pub warm_cache_listening_ms: Vec<f64>,
    pub warm_cache_first_call_ms: Vec<f64>,
    pub empty_cache_listening_median_ms: f64,
    pub empty_cache_first_call_median_ms: f64,
    pub warm_cache_listening_median_ms: f64,
    pub warm_cache_first_call_median_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sessions {
    pub requested: usize,
    pub opened: usize,
    pub failed: usize,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub kib_per_1000: f64,
    /// The echo upstream's RSS change meanwhile (does the gateway open upstream sessions
    /// per client session?).
    pub upstream_rss_delta_kib: i64,
    /// The same number of sessions opened on the echo server directly: its RSS growth per
    /// 1,000 (what an rmcp Streamable HTTP session costs without the gateway).
    pub direct_kib_per_1000: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub settings: Settings,
    pub wall_secs: f64,
    pub rows: Vec<Row>,
    pub gateways: Vec<GatewayInfo>,
    pub cold_start: Option<ColdStart>,
    pub sessions: Option<Sessions>,
    /// The `warden.toml` of each gateway configuration (upstream URL and paths elided).
    pub configs: BTreeMap<String, String>,
}

/// Milliseconds from microseconds, with precision that suits the size.
fn ms(us: f64) -> String {
    let v = us / 1000.0;
    if v.abs() < 10.0 {
        format!("{v:.3}")
    } else if v.abs() < 1000.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

fn signed_ms(us: f64) -> String {
    let s = ms(us);
    if us >= 0.0 { format!("+{s}") } else { s }
}

fn size(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1024 && b % 1024 == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

impl Report {
    fn row(&self, config: &str, payload: usize, clients: usize) -> Option<&Row> {
        self.rows.iter().find(|r| r.config == config && r.payload_bytes == payload && r.clients == clients)
    }

    /// Issue 6's targets (full default chain, 1 KiB, HTTP upstream) against this run.
    fn targets(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "### Targets (issue 6: full default chain, 1 KiB payload, HTTP upstream)\n");
        let _ = writeln!(out, "| target | measured | met |");
        let _ = writeln!(out, "|---|---:|---|");
        let verdict = |ok: bool| if ok { "yes" } else { "**no**" };
        let mut line = |target: &str, measured: Option<(String, bool)>| {
            let (value, met) = measured.map_or(("not measured".to_string(), "–"), |(v, ok)| (v, verdict(ok)));
            let _ = writeln!(out, "| {target} | {value} | {met} |");
        };
        let one = self.row("full/http", 1024, 1);
        line(
            "added p50 ≤ 0.5 ms at 1 client",
            one.and_then(|r| r.added_p50_us).map(|us| (format!("{} ms", signed_ms(us)), us <= 500.0)),
        );
        line(
            "added p99 ≤ 2 ms at 1 client",
            one.and_then(|r| r.added_p99_us).map(|us| (format!("{} ms", signed_ms(us)), us <= 2000.0)),
        );
        line(
            "throughput ≥ 60% of direct at 8 clients",
            self.row("full/http", 1024, 8)
                .and_then(|r| r.throughput_ratio)
                .map(|x| (format!("{:.0}%", x * 100.0), x >= 0.6)),
        );
        line(
            "cold start ≤ 150 ms with the plugin cache",
            self.cold_start.as_ref().map(|c| {
                (format!("{:.0} ms", c.warm_cache_first_call_median_ms), c.warm_cache_first_call_median_ms <= 150.0)
            }),
        );
        line(
            "idle RSS ≤ 40 MiB",
            self.gateways
                .iter()
                .find(|g| g.name == "full/http")
                .map(|g| (format!("{} MiB", mib(g.rss_idle_kib)), g.rss_idle_kib <= 40 * 1024)),
        );
        let _ = writeln!(out);
        out
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let _ = writeln!(out, "## Run\n");
        let _ = writeln!(out, "- date: {}", m.date_utc);
        let _ = writeln!(
            out,
            "- machine: {} × {}, {} MiB RAM; load average at start: {}",
            m.nproc, m.cpu_model, m.mem_total_mib, m.loadavg_at_start
        );
        let _ = writeln!(out, "- command: `{}` ({:.0} s)", m.command, self.wall_secs);
        let _ = writeln!(out, "- gateway: `{}` ({})", m.warden, m.warden_version);
        let s = &self.settings;
        let _ = writeln!(
            out,
            "- per cell: {:.1} s warm-up, then {} calls or {:.1} s, whichever first; latencies in ms\n",
            s.warmup_secs, s.calls, s.max_secs
        );

        out.push_str(&self.targets());

        for &payload in &s.payloads {
            let _ = writeln!(out, "### {} payload\n", size(payload));
            let _ = writeln!(
                out,
                "| config | clients | calls | errors | p50 | p95 | p99 | max | calls/s | added p50 | added p99 | throughput vs direct |"
            );
            let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            for r in self.rows.iter().filter(|r| r.payload_bytes == payload) {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {} | {} | {} |",
                    r.config,
                    r.clients,
                    r.calls,
                    r.errors,
                    ms(r.summary.p50_us),
                    ms(r.summary.p95_us),
                    ms(r.summary.p99_us),
                    ms(r.summary.max_us),
                    r.throughput,
                    r.added_p50_us.map(signed_ms).unwrap_or_default(),
                    r.added_p99_us.map(signed_ms).unwrap_or_default(),
                    r.throughput_ratio.map(|x| format!("{:.0}%", x * 100.0)).unwrap_or_default(),
                );
            }
            let _ = writeln!(out);
        }

        let with_stages: Vec<&Row> = self.rows.iter().filter(|r| !r.stages_us.is_empty()).collect();
        if !with_stages.is_empty() {
            let clients = with_stages.iter().map(|r| r.clients).min().unwrap_or(1);
            let _ = writeln!(
                out,
                "### Where the time goes ({clients} client{}; gateway /metrics, mean ms per call)\n",
                if clients == 1 { "" } else { "s" }
            );
            let _ = writeln!(
                out,
                "`request` is the gateway's pipeline (resolve + input + call + output); the rest of the added \
                 latency is HTTP, JSON-RPC and session handling in front of it, and auth. Plugin times are per \
                 call into the sandbox (`secrets`, `injection` and `threats` run twice per tool call: input and output).\n"
            );
            let _ = writeln!(out, "| config | payload | added p50 | request | input | call | output | plugins |");
            let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---|");
            for r in with_stages.iter().filter(|r| r.clients == clients) {
                let stage = |k: &str| r.stages_us.get(k).map(|v| ms(*v)).unwrap_or_else(|| "–".into());
                let plugins =
                    r.plugins_us.iter().map(|(p, v)| format!("{p} {}", ms(*v))).collect::<Vec<_>>().join(", ");
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} |",
                    r.config,
                    size(r.payload_bytes),
                    r.added_p50_us.map(signed_ms).unwrap_or_default(),
                    stage("request"),
                    stage("input"),
                    stage("call"),
                    stage("output"),
                    plugins
                );
            }
            let _ = writeln!(out);
        }

        // CPU per call explains the throughput ratios: with every process on the same cores,
        // throughput is bounded by the CPU a call costs all of them together.
        let cpu_clients = if s.clients.contains(&8) { 8 } else { s.clients.iter().copied().max().unwrap_or(1) };
        let _ = writeln!(
            out,
            "### CPU per call ({cpu_clients} clients; µs of CPU time per successful call, from /proc/PID/stat)\n"
        );
        let _ = writeln!(out, "| config | payload | load generator | gateway | upstream | total |");
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|");
        for r in self.rows.iter().filter(|r| r.clients == cpu_clients) {
            let c = &r.cpu_us_per_call;
            let total = c.client + c.gateway.unwrap_or(0.0) + c.upstream.unwrap_or(0.0);
            let fmt = |v: Option<f64>| v.map(|v| format!("{v:.0}")).unwrap_or_else(|| "–".into());
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {} | {} | {total:.0} |",
                r.config,
                size(r.payload_bytes),
                c.client,
                fmt(c.gateway),
                fmt(c.upstream)
            );
        }
        let _ = writeln!(out);

        if let Some(c) = &self.cold_start {
            let _ = writeln!(
                out,
                "### Cold start (full/http: spawn → first successful tools/call, median of {})\n",
                c.runs
            );
            let _ = writeln!(out, "| plugin cache | listening | first call | runs (first call) |");
            let _ = writeln!(out, "|---|---:|---:|---|");
            let runs = |v: &[f64]| v.iter().map(|x| format!("{x:.0}")).collect::<Vec<_>>().join(", ");
            let _ = writeln!(
                out,
                "| empty | {:.0} ms | {:.0} ms | {} |",
                c.empty_cache_listening_median_ms,
                c.empty_cache_first_call_median_ms,
                runs(&c.empty_cache_first_call_ms)
            );
            let _ = writeln!(
                out,
                "| warm | {:.0} ms | {:.0} ms | {} |\n",
                c.warm_cache_listening_median_ms,
                c.warm_cache_first_call_median_ms,
                runs(&c.warm_cache_first_call_ms)
            );
        }

        let _ = writeln!(out, "### Memory (RSS of the warden process, MiB)\n");
        let _ =
            writeln!(out, "| config | after start | idle after a call | peak, payloads ≤ 10 KiB | peak, any payload |");
        let _ = writeln!(out, "|---|---:|---:|---:|---:|");
        for g in &self.gateways {
            let peak = |small: bool| {
                self.rows
                    .iter()
                    .filter(|r| r.config == g.name && (!small || r.payload_bytes <= 10240))
                    .filter_map(|r| r.rss_peak_kib)
                    .max()
                    .map(mib)
                    .unwrap_or_else(|| "–".into())
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                g.name,
                mib(g.rss_start_kib),
                mib(g.rss_idle_kib),
                peak(true),
                peak(false)
            );
        }
        if let Some(s) = &self.sessions {
            let _ = writeln!(
                out,
                "\nOpen sessions (full/http, initialize + initialized, kept open): {} of {} opened, RSS {} → {} \
                 MiB, **{:.1} MiB per 1,000 sessions** (the HTTP echo upstream's RSS changed by {:+.1} MiB \
                 meanwhile). The same sessions opened on the echo server directly (rmcp alone): {:.1} MiB per \
                 1,000.",
                s.opened,
                s.requested,
                mib(s.rss_before_kib),
                mib(s.rss_after_kib),
                s.kib_per_1000 / 1024.0,
                s.upstream_rss_delta_kib as f64 / 1024.0,
                s.direct_kib_per_1000 / 1024.0
            );
        }
        out
    }
}
