//! `warden-bench`: an end-to-end load generator for Warden (issue 6).
//!
//! It measures MCP `tools/call` latency and throughput against its own tiny echo upstream,
//! once DIRECT (client → echo server over Streamable HTTP) and once THROUGH WARDEN (client →
//! `warden serve` → the same echo server, over HTTP or as a stdio child), side by side in
//! the same run and interleaved cell by cell, so the added latency and the throughput ratio
//! come from one machine state. It also measures cold start (process start to the first
//! successful call, with an empty and a warm plugin cache) and resident memory (idle, under
//! load, per 1,000 open sessions). Output: markdown tables on stdout, JSON with `--json`.
//!
//! It builds nothing: it runs the `warden` binary it is given (`--warden`, by default the one
//! next to this executable, else `target/release/warden`).

mod echo;
mod load;
mod metrics;
mod procs;
mod report;
mod run;
mod stats;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "warden-bench", version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the benchmarks (the default).
    Run(RunArgs),
    /// Serve the echo upstream: one tool, `echo`, returning its `text` argument.
    EchoServer(EchoArgs),
}

#[derive(Args, Debug)]
struct EchoArgs {
    /// MCP over stdin/stdout.
    #[arg(long, conflicts_with = "http")]
    stdio: bool,
    /// Streamable HTTP at http://ADDR/mcp; the address is printed on stdout.
    #[arg(long, value_name = "ADDR")]
    http: Option<std::net::SocketAddr>,
}

/// What to measure and how much.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The gateway binary (default: `warden` next to this executable, else
    /// target/release/warden).
    #[arg(long, value_name = "PATH")]
    pub warden: Option<PathBuf>,
    /// Also write every result as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// A short smoke run: 1 KiB payloads, 1 and 4 clients, few calls, 20 sessions.
    #[arg(long)]
    pub quick: bool,
    /// Measured calls per scenario cell (all clients together).
    #[arg(long, default_value_t = 2000)]
    pub calls: usize,
    /// Longest measured phase per cell, in seconds (whichever of --calls and this comes
    /// first ends it).
    #[arg(long, default_value_t = 3.0)]
    pub max_secs: f64,
    /// Warm-up per cell, in seconds (every client makes at least one call), not measured.
    #[arg(long, default_value_t = 0.3)]
    pub warmup_secs: f64,
    /// Payload sizes in bytes (the `text` argument, echoed back).
    #[arg(long, value_delimiter = ',', default_values_t = [100usize, 1024, 10240, 1048576])]
    pub payloads: Vec<usize>,
    /// Concurrent clients, each with its own MCP session.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 8, 64])]
    pub clients: Vec<usize>,
    /// Client counts for the single-plugin configurations (a subset of --clients keeps the
    /// run short).
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 8])]
    pub plugin_clients: Vec<usize>,
    /// Only these gateway configurations (names as in the tables, e.g. full/http).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Sessions opened for the memory-per-session measurement (0 skips it).
    #[arg(long, default_value_t = 1000)]
    pub sessions: usize,
    /// Cold-start runs with an empty and with a warm plugin cache (0 skips them).
    #[arg(long, default_value_t = 3)]
    pub cold_runs: usize,
    /// Scrape the gateways' /metrics after each cell for a per-stage breakdown.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub stage_metrics: bool,
}

impl RunArgs {
    /// `--quick` overrides the sizes of the run (not the binary or the output file).
    fn effective(mut self) -> RunArgs {
        if self.quick {
            self.calls = 40;
            self.max_secs = 1.0;
            self.warmup_secs = 0.05;
            self.payloads = vec![1024];
            self.clients = vec![1, 4];
            self.plugin_clients = vec![1];
            self.sessions = self.sessions.min(20);
            self.cold_runs = self.cold_runs.min(1);
        }
        self
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Some(Command::EchoServer(args)) => runtime.block_on(async {
            match (args.stdio, args.http) {
                (_, Some(addr)) => echo::serve_http(addr).await,
                (true, None) => echo::serve_stdio().await,
                (false, None) => anyhow::bail!("echo-server needs --stdio or --http ADDR"),
            }
        }),
        Some(Command::Run(args)) => runtime.block_on(run::run(args.effective())),
        None => runtime.block_on(run::run(cli.run.effective())),
    }
}
