//! `warden`: the command line of the Warden MCP gateway.

mod builtins;
mod check;
mod import_enkrypt;
mod install;
mod jwks;
mod keys;
mod lifecycle;
mod logging;
mod plugin_build;
mod plugin_cmd;
mod scan;
mod setup;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Every proxied call allocates and frees many small buffers across threads (JSON,
/// HTTP frames, tokio tasks); mimalloc does that faster than glibc and with less
/// lock traffic (BENCHMARKS.md). Built with `no_thp`: where transparent huge pages are
/// on (`madvise` mode included), its eagerly committed arenas were backed by 2 MiB
/// pages and the idle gateway's RSS grew by ~15 MiB over glibc's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Warden: a secure gateway for the Model Context Protocol. Every auth, guardrail and
/// telemetry provider is a sandboxed WebAssembly component.
#[derive(Parser)]
#[command(name = "warden", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (the default command).
    Serve(ServeArgs),
    /// Validate the config, load every plugin and list every upstream's tools; exit 1
    /// on any problem, plugin fallback, unreachable upstream or hidden tool.
    Check(CheckArgs),
    /// Run the configured guardrail chain over JSONL on stdin ({"id","text"} or
    /// {"id","payload"} per line) and write verdicts as JSONL to stdout. No upstream,
    /// no network; exit 1 if a line could not be read.
    Scan(ScanArgs),
    /// Validate the config, then tell the gateway serving on PORT to reload it (SIGHUP).
    /// The gateway builds the new config completely before switching; on any error it
    /// keeps the old one and logs why. Exit 1 if the config is invalid here.
    Reload {
        #[command(flatten)]
        config: ConfigArg,
        /// Port of the gateway to reload (its pid file names it).
        #[arg(long, default_value_t = 8787)]
        port: u16,
        /// Signal this process instead of the one in the pid file.
        #[arg(long)]
        pid: Option<u32>,
    },
    /// Run the built-in demo MCP server on stdio (the default config's upstream).
    DemoServer {
        /// Also offer the `crash` and `hang` tools (for testing failure handling).
        #[arg(long)]
        faults: bool,
    },
    /// API keys for the auth-apikey plugin: create (printed once, only its hash is
    /// stored), list, revoke. A running gateway picks changes up within seconds.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Tool definition pins (rug-pull protection).
    Tools {
        #[command(subcommand)]
        command: ToolsCommand,
    },
    /// Plugins: create a project (new), build it into a component (build), run a
    /// guardrail over test cases (test), show what a component is and asks for (inspect).
    Plugin {
        #[command(subcommand)]
        command: plugin_cmd::PluginCommand,
    },
    /// Convert another gateway's config into warden.toml (`import enkrypt FILE`).
    Import {
        #[command(subcommand)]
        command: import_enkrypt::ImportCommand,
    },
    /// Add Warden to an MCP client's config (Claude Desktop, Cursor, Claude Code, VS
    /// Code), keeping its other entries and backing the file up first.
    Install(install::InstallArgs),
}

#[derive(clap::Args, Default)]
struct ConfigArg {
    /// Path of warden.toml; the built-in default config when absent.
    #[arg(long, short, env = "WARDEN_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ToolsCommand {
    /// Pin the upstreams' current tool definitions, so changed ones are served again.
    /// Without targets, every tool of every upstream.
    Approve {
        #[command(flatten)]
        config: ConfigArg,
        /// SERVER (all its tools) or SERVER/TOOL; repeatable.
        targets: Vec<String>,
    },
}

#[derive(clap::Args)]
struct ScanArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Which chain: input (gateway.input), output (gateway.output) or tool (gateway.tools).
    #[arg(long, value_enum)]
    direction: scan::Direction,
}

#[derive(clap::Args, Default)]
struct CheckArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Name tools under this prefix mode instead of gateway.tool_prefix when
    /// reporting clashes: always, on-clash, never.
    #[arg(long, value_name = "MODE")]
    tool_prefix: Option<warden_core::config::ToolPrefix>,
    /// Do not start the upstreams (config and plugins only).
    #[arg(long)]
    offline: bool,
}

#[derive(clap::Args, Default)]
struct ServeArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Serve MCP over stdin/stdout (for clients that launch a command).
    #[arg(long)]
    stdio: bool,
    /// Listen address of the Streamable HTTP endpoint, overriding gateway.listen.
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Add an upstream: NAME=https://host/path (Streamable HTTP) or
    /// 'NAME=stdio:COMMAND ARG…' (repeatable).
    #[arg(long = "upstream", value_name = "NAME=TARGET")]
    upstreams: Vec<String>,
    /// Drop the config's upstreams (use only --upstream ones).
    #[arg(long)]
    no_default_upstreams: bool,
    /// How tool and prompt names carry their server's name, overriding
    /// gateway.tool_prefix: always (server__tool), on-clash, never.
    #[arg(long, value_name = "MODE")]
    tool_prefix: Option<warden_core::config::ToolPrefix>,
    /// Run without authentication (local development only: refused unless listening
    /// on a loopback address).
    #[arg(long)]
    no_auth: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
            Command::Serve(args) => serve(args).await,
            Command::Check(args) => check::check(args.config.config.as_deref(), args.tool_prefix, args.offline).await,
            Command::Scan(args) => scan::command(args.config.config.as_deref(), args.direction).await,
            Command::Tools { command: ToolsCommand::Approve { config, targets } } => {
                check::approve(config.config.as_deref(), &targets).await
            }
            Command::Keys { command } => keys::run(command),
            Command::Reload { config, port, pid } => {
                lifecycle::reload_command(config.config.as_deref(), pid, port).await
            }
            Command::DemoServer { faults } => {
                warden_mcp::demo::serve_stdio(faults).await.map_err(anyhow::Error::msg)?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Plugin { command } => plugin_cmd::run(command).await,
            Command::Import { command } => import_enkrypt::run(command),
            Command::Install(args) => install::run(&args),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn serve(args: ServeArgs) -> Result<ExitCode> {
    // Kept for reloads, which must read the same sources with the same overrides.
    let load: lifecycle::Load = {
        let (path, upstreams, no_defaults, no_auth, prefix) = (
            args.config.config.clone(),
            args.upstreams.clone(),
            args.no_default_upstreams,
            args.no_auth,
            args.tool_prefix,
        );
        Box::new(move || {
            let mut config = setup::load_config(path.as_deref())?;
            setup::apply_overrides(&mut config, &upstreams, no_defaults, no_auth)?;
            if let Some(mode) = prefix {
                config.gateway.tool_prefix = mode;
            }
            Ok(config)
        })
    };
    let config = load()?;
    let addr: std::net::SocketAddr = match args.listen {
        Some(a) => a,
        None => config.gateway.listen.parse().context("gateway.listen")?,
    };
    if config.gateway.auth.is_empty() && !args.stdio {
        anyhow::ensure!(
            addr.ip().is_loopback(),
            "refusing to serve {addr} without authentication: set gateway.auth, or listen on a loopback address"
        );
        tracing::warn!("no authentication configured (gateway.auth is empty): any local process can call tools");
    }
    let host = setup::host(&config)?;
    // Fetched once here and shared with every reload of the auth chain.
    let jwks = jwks::Jwks::fetch(&config.plugins).await?;
    let registry = setup::registry_with(&config, host.clone(), &jwks).await?;
    let gateway = setup::gateway(&config, &registry, Some(&host), None).await?;
    let cell = warden_mcp::GatewayCell::new(gateway);
    let auth_watch = setup::reload_auth_on_change(config.clone(), host.clone(), cell.clone(), jwks);
    lifecycle::Reloader { load, config: config.clone(), host: host.clone(), cell: cell.clone(), auth_watch }.spawn()?;
    let grace = std::time::Duration::from_millis(config.gateway.shutdown_grace_ms);
    let limits = warden_mcp::jsonrpc::Limits {
        max_bytes: config.gateway.max_body_bytes,
        max_depth: config.gateway.max_json_depth,
    };
    if args.stdio {
        tracing::info!("serving MCP on stdio");
        // The stdio caller is whoever launched this process; its credential is the
        // local API key from this process's environment.
        let credential = Some(setup::local_api_key().key.clone());
        tokio::select! {
            r = warden_mcp::server::serve_stdio(cell.clone(), credential, limits) => r.map_err(anyhow::Error::msg)?,
            () = lifecycle::shutdown_signal() => lifecycle::drain_and_stop(&cell, grace).await,
        }
        lifecycle::close(&cell, &host).await;
        return Ok(ExitCode::SUCCESS);
    }
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    // Tests and scripts read this line to find the port when listening on :0.
    tracing::info!("Warden listening on http://{local}/mcp");
    let key = setup::local_api_key();
    if key.generated && !config.gateway.auth.is_empty() {
        // Shown once, on the terminal, so a first run works without setup; never logged.
        eprintln!(
            "\nNo WARDEN_API_KEY set: generated a key for this run.\n  URL:    http://{local}/mcp\n  Header: Authorization: Bearer {}\n  Client: {{\"mcpServers\": {{\"warden\": {{\"url\": \"http://{local}/mcp\", \"headers\": {{\"Authorization\": \"Bearer {}\"}}}}}}}}\n",
            key.key, key.key
        );
    }
    let _pid_file = lifecycle::PidFile::write(local.port());
    let stop_accepting = tokio_util::sync::CancellationToken::new();
    let end_sessions = tokio_util::sync::CancellationToken::new();
    let policy = warden_mcp::server::HttpPolicy {
        allowed_hosts: config.gateway.allowed_hosts.clone(),
        allowed_origins: config.gateway.allowed_origins.clone(),
        oauth: config.gateway.oauth.clone(),
        limits,
        stop_accepting: stop_accepting.clone(),
        end_sessions: end_sessions.clone(),
        sessions: warden_mcp::sessions::Sealer::from_config(&config.gateway, std::env::var("WARDEN_SESSION_KEY").ok())
            .map_err(anyhow::Error::msg)?
            .map(std::sync::Arc::new),
    };
    let mut server = tokio::spawn(warden_mcp::server::serve_http(cell.clone(), listener, policy));
    tokio::select! {
        r = &mut server => {
            r.context("the HTTP server failed")??;
            return Ok(ExitCode::SUCCESS);
        }
        () = lifecycle::shutdown_signal() => {}
    }
    // No new connections; calls in flight finish (their answers go out on their
    // streams) while new calls on open connections are refused; then sessions end.
    stop_accepting.cancel();
    lifecycle::drain_and_stop(&cell, grace).await;
    end_sessions.cancel();
    if let Ok(Err(e)) = server.await {
        tracing::warn!(error = %e, "HTTP server error at shutdown");
    }
    lifecycle::close(&cell, &host).await;
    Ok(ExitCode::SUCCESS)
}
