//! `warden`: the command line of the Warden MCP gateway.

mod builtins;
mod keys;
mod plugin_cmd;
mod scan;
mod setup;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

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
        command: KeysCommand,
    },
    /// Tool definition pins (rug-pull protection).
    Tools {
        #[command(subcommand)]
        command: ToolsCommand,
    },
    /// Inspect plugin components.
    Plugin {
        #[command(subcommand)]
        command: plugin_cmd::PluginCommand,
    },
}

#[derive(clap::Args, Default)]
struct ConfigArg {
    /// Path of warden.toml; the built-in default config when absent.
    #[arg(long, short, env = "WARDEN_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key and print it (once).
    Create {
        /// Identifier of the key's holder (the principal id).
        #[arg(long)]
        id: String,
        #[arg(long)]
        project: Option<String>,
        /// What the key may use: SERVER/TOOL globs (repeatable); everything when absent.
        #[arg(long = "scope", value_name = "SERVER/TOOL")]
        scopes: Vec<String>,
        /// Expire the key after this many days.
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u64>,
        #[command(flatten)]
        file: KeysFileArg,
    },
    /// List keys (id, state, project, scopes, expiry; never the key or its hash).
    List {
        #[command(flatten)]
        file: KeysFileArg,
    },
    /// Revoke a key: it stays listed and is refused from now on.
    Revoke {
        /// The key's id.
        id: String,
        #[command(flatten)]
        file: KeysFileArg,
    },
}

#[derive(clap::Args)]
struct KeysFileArg {
    /// The keys file (the default config's auth-apikey reads the same default):
    /// $WARDEN_KEYS_FILE, else $XDG_CONFIG_HOME/warden/keys.json, else
    /// ~/.config/warden/keys.json.
    #[arg(long, value_name = "PATH")]
    keys_file: Option<PathBuf>,
}

impl KeysFileArg {
    fn path(&self) -> Result<PathBuf> {
        self.keys_file.clone().or_else(keys::default_keys_file).context("no keys file: set --keys-file or HOME")
    }
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
    init_logging();
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
            Command::Check(args) => check(args).await,
            Command::Scan(args) => scan_cmd(args).await,
            Command::Tools { command: ToolsCommand::Approve { config, targets } } => approve(config, targets).await,
            Command::Keys { command } => keys_cmd(command),
            Command::DemoServer { faults } => {
                warden_mcp::demo::serve_stdio(faults).await.map_err(anyhow::Error::msg)?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Plugin { command } => plugin_cmd::run(command).await,
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

/// Logs go to stderr (stdout carries MCP in `--stdio` mode), filtered by `RUST_LOG`.
fn init_logging() {
    use std::io::IsTerminal;
    // rmcp logs every session at info; keep it to warnings unless RUST_LOG asks.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rmcp=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

async fn serve(args: ServeArgs) -> Result<ExitCode> {
    let mut config = setup::load_config(args.config.config.as_deref())?;
    setup::apply_overrides(&mut config, &args.upstreams, args.no_default_upstreams, args.no_auth)?;
    if let Some(mode) = args.tool_prefix {
        config.gateway.tool_prefix = mode;
    }
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
    let registry = setup::registry(&config, host.clone()).await?;
    let gateway = setup::gateway(&config, &registry).await?;
    setup::reload_auth_on_change(config.clone(), host, gateway.clone());
    if args.stdio {
        tracing::info!("serving MCP on stdio");
        // The stdio caller is whoever launched this process; its credential is the
        // local API key from this process's environment.
        let credential = Some(setup::local_api_key().key.clone());
        tokio::select! {
            r = warden_mcp::server::serve_stdio(gateway, credential) => r.map_err(anyhow::Error::msg)?,
            _ = tokio::signal::ctrl_c() => {}
        }
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
    tokio::select! {
        r = warden_mcp::server::serve_http(gateway, listener, warden_mcp::server::HttpPolicy {
            allowed_hosts: config.gateway.allowed_hosts.clone(),
            allowed_origins: config.gateway.allowed_origins.clone(),
            oauth: config.gateway.oauth.clone(),
        }) => r?,
        _ = tokio::signal::ctrl_c() => tracing::info!("shutting down"),
    }
    Ok(ExitCode::SUCCESS)
}

fn keys_cmd(command: KeysCommand) -> Result<ExitCode> {
    match command {
        KeysCommand::Create { id, project, scopes, expires_in_days, file } => {
            let path = file.path()?;
            let key = keys::create(&path, keys::NewKey { id: id.clone(), project, scopes, expires_in_days })?;
            // The key on stdout (for scripts), the explanation on stderr.
            println!("{key}");
            eprintln!(
                "Created key {id:?} in {}. It is shown only now; only its SHA-256 was stored.\nUse it as `Authorization: Bearer <key>` or `X-API-Key: <key>`.",
                path.display()
            );
        }
        KeysCommand::List { file } => {
            for line in keys::list(&file.path()?)? {
                println!("{line}");
            }
        }
        KeysCommand::Revoke { id, file } => {
            let path = file.path()?;
            keys::revoke(&path, &id)?;
            println!("revoked {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn approve(args: ConfigArg, targets: Vec<String>) -> Result<ExitCode> {
    let config = setup::load_config(args.config.as_deref())?;
    anyhow::ensure!(config.gateway.pin_tools, "gateway.pin_tools is off: there are no pins to approve");
    let pins = setup::pins(&config)?;
    let settings = warden_mcp::Settings { prefix: config.gateway.tool_prefix, pins: None };
    let gateway = warden_mcp::Gateway::start(setup::upstream_specs(&config), Default::default(), settings).await;
    let wanted = |server: &str, tool: &str| {
        targets.is_empty() || targets.iter().any(|t| t == server || *t == format!("{server}/{tool}"))
    };
    let (mut ok, mut matched) = (true, 0);
    for (server, tools) in gateway.upstream_tools().await {
        let tools = match tools {
            Ok(t) => t,
            Err(e) => {
                ok = false;
                println!("UPSTREAM {e}");
                continue;
            }
        };
        for tool in tools.iter().filter(|t| wanted(&server, &t.name)) {
            matched += 1;
            let what = if pins.approve(&server, tool) { "approved" } else { "unchanged" };
            println!("{what:<9}{server}/{}", tool.name);
        }
    }
    if matched == 0 && !targets.is_empty() {
        anyhow::bail!("no tool matches {}", targets.join(", "));
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn scan_cmd(args: ScanArgs) -> Result<ExitCode> {
    let config = setup::load_config(args.config.config.as_deref())?;
    let registry = setup::registry(&config, setup::host(&config)?).await?;
    let names = match args.direction {
        scan::Direction::Input => &config.gateway.input,
        scan::Direction::Output => &config.gateway.output,
        scan::Direction::Tool => &config.gateway.tools,
    };
    let chain = registry.chain(names)?;
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    let bad = scan::run(&chain, args.direction, stdin, stdout).await?;
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn check(args: CheckArgs) -> Result<ExitCode> {
    let mut config = setup::load_config(args.config.config.as_deref())?;
    if let Some(mode) = args.tool_prefix {
        config.gateway.tool_prefix = mode;
    }
    let registry = setup::registry(&config, setup::host(&config)?).await?;
    let mut ok = true;
    for name in registry.names() {
        println!("ok       plugin {name}");
    }
    for p in &config.plugins {
        // A telemetry sink's only outputs are the ones granted: without one its
        // events go nowhere.
        if p.kind == warden_core::PluginKind::Telemetry && p.grants.stdout.is_none() && p.grants.http_hosts.is_empty() {
            ok = false;
            println!(
                "NO-OUTPUT telemetry plugin {}: grant an output (grants.stdout = \"FILE\" or grants.http_hosts)",
                p.name
            );
        }
    }
    for f in registry.fallbacks() {
        ok = false;
        println!("FALLBACK {}: wanted {}, using {} ({})", f.plugin, f.wanted, f.used, f.reason);
    }
    if !args.offline {
        ok &= check_upstreams(&config, &registry).await;
    }
    if ok {
        println!("config valid, {} plugin(s) loaded", registry.names().count());
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

/// Start every upstream, list its tools and report name clashes under the config's
/// prefix mode and tools hidden by the tool guardrails or pins. False when an
/// upstream cannot be listed or a tool would be hidden.
async fn check_upstreams(config: &warden_core::config::Config, registry: &warden_core::Registry) -> bool {
    let mode = config.gateway.tool_prefix;
    // The configured chains and pins: a tool they would hide is reported.
    let gateway = match setup::gateway(config, registry).await {
        Ok(g) => g,
        Err(e) => {
            println!("ERROR    {e:#}");
            return false;
        }
    };
    let report = gateway.report().await;
    let mut ok = true;
    for (server, status) in &report.upstreams {
        match status {
            Ok(n) => println!("ok       upstream {server}: {n} tool(s)"),
            Err(e) => {
                ok = false;
                println!("UPSTREAM {e}");
            }
        }
    }
    for clash in &report.clashes {
        let claimants: Vec<String> = clash.claimants.iter().map(|(s, t)| format!("{s}:{t}")).collect();
        let (claimants, kind) = (claimants.join(", "), clash.kind);
        match &clash.kept_by {
            Some(server) => {
                ok = false;
                println!(
                    "CLASH    {kind} {:?} offered by {claimants}: only {server} keeps it, the rest are hidden",
                    clash.name
                );
            }
            None if clash.claimants.len() == 1 => {
                ok = false;
                println!("CLASH    {kind} {:?} ({claimants}) would shadow another {kind}'s name: hidden", clash.name);
            }
            None => println!("clash    {kind} {:?} offered by {claimants}: each prefixed with its server", clash.name),
        }
    }
    if report.clashes.is_empty() {
        println!("ok       no name clashes (tool_prefix = {mode})");
    }
    for hidden in &report.hidden {
        ok = false;
        println!("HIDDEN   tool {}/{}: {}", hidden.server, hidden.tool, hidden.reason);
    }
    ok
}
