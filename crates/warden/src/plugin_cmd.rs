//! `warden plugin ...`: create, build, test and inspect plugin components.

use crate::plugin_build::{self, Lang, PluginManifest, World};
use anyhow::{Context, Result};
use clap::Subcommand;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use warden_core::plugin_config::Fallback;
use warden_core::{PluginKind, PluginSpec, Registry, Source};
use warden_host::{Host, Loader, SandboxConfig};

#[derive(Subcommand)]
pub enum PluginCommand {
    /// Create a plugin project from the templates built into warden: a working
    /// plugin, its warden-plugin.toml, and (in .warden/) the WIT contract and, for
    /// Rust, the SDK. Build it with `warden plugin build`.
    New {
        /// Language of the plugin.
        #[arg(long, value_enum)]
        lang: Lang,
        /// What the plugin provides: guardrail (checks arguments, results, tool
        /// definitions), auth (authenticates callers), telemetry (receives audit events).
        #[arg(long, value_enum)]
        world: World,
        /// Plugin name (a-z, 0-9, -): the project, crate and component name.
        name: String,
        /// Directory to create (default: ./NAME). Must not exist or be empty.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Build the plugin project in DIR (default: the current directory) into a
    /// component with its language's toolchain (Rust: cargo and the wasm32-wasip2
    /// target; Python: componentize-py; JavaScript: componentize-js), then print
    /// its sha256 and a ready-to-paste [[plugins]] entry for warden.toml.
    Build {
        /// The project directory, holding warden-plugin.toml.
        dir: Option<PathBuf>,
        /// Where to write the component (default: DIR/NAME.wasm).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run a guardrail component alone over JSONL cases, like `warden scan` runs the
    /// configured chain: each line {"id","text"} or {"id","payload"} gets a verdict
    /// line {"id","verdict","findings",...} on stdout. The plugin runs in the same
    /// sandbox as in the gateway (default limits, no grants, fail-closed).
    Test {
        /// The .wasm component (a guardrail).
        file: PathBuf,
        /// The cases, one JSON object per line; `-` for stdin.
        #[arg(long, value_name = "JSONL")]
        input: PathBuf,
        /// Which hook to run: input (check-input on arguments), output (check-output
        /// on results), tool (check-tool on tool definitions).
        #[arg(long, value_enum, default_value = "input")]
        direction: crate::scan::Direction,
        /// The plugin's config, as a JSON object (what the `config` table of its
        /// [[plugins]] entry would be).
        #[arg(long, value_name = "JSON", default_value = "{}")]
        config: String,
    },
    /// Show a component's world, exports, imports (requested capabilities), size,
    /// sha256 and what its describe() says.
    Inspect {
        /// The .wasm component.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: PluginCommand) -> Result<ExitCode> {
    match command {
        PluginCommand::New { lang, world, name, dir } => new(lang, world, &name, dir),
        PluginCommand::Build { dir, out } => build(dir, out),
        PluginCommand::Test { file, input, direction, config } => test(&file, &input, direction, &config).await,
        PluginCommand::Inspect { file, json } => inspect(file, json).await,
    }
}

fn new(lang: Lang, world: World, name: &str, dir: Option<PathBuf>) -> Result<ExitCode> {
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    let files = plugin_build::scaffold::new(lang, world, name, &dir)?;
    println!("created {} plugin {name} (world {}) in {}", lang.as_str(), world.wit_world(), dir.display());
    for f in files {
        println!("  {}", f.display());
    }
    println!("\nbuild it with:\n\n    warden plugin build {}\n", dir.display());
    Ok(ExitCode::SUCCESS)
}

fn build(dir: Option<PathBuf>, out: Option<PathBuf>) -> Result<ExitCode> {
    let dir = dir.unwrap_or_else(|| PathBuf::from("."));
    let manifest = PluginManifest::load(&dir)?;
    let out = out.unwrap_or_else(|| dir.join(format!("{}.wasm", manifest.name)));
    eprintln!("building {} plugin {} ({})", manifest.lang.as_str(), manifest.name, manifest.world.as_str());
    plugin_build::build(&dir, &manifest, &out)?;
    let bytes = std::fs::read(&out).with_context(|| format!("cannot read the built {}", out.display()))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let source = std::fs::canonicalize(&out).unwrap_or(out);
    eprintln!("built {} ({} bytes)", source.display(), bytes.len());
    println!("sha256: {sha256}\n");
    println!("{}", plugins_entry(&manifest, &source, &sha256));
    Ok(ExitCode::SUCCESS)
}

/// A `[[plugins]]` entry for a built component, with where to list it.
fn plugins_entry(manifest: &PluginManifest, source: &Path, sha256: &str) -> String {
    let kind = manifest.world.kind();
    let (name, src) = (&manifest.name, source.display().to_string());
    let (config, grants, hint) = match kind {
        PluginKind::Guardrail => {
            ("config = {}", "", format!("then list it in [gateway] input, output and/or tools: input = [\"{name}\"]"))
        }
        PluginKind::Auth => ("config = {}", "", format!("then list it in [gateway] auth: auth = [\"{name}\"]")),
        PluginKind::Telemetry => (
            "config = {}",
            "grants = { stdout = \"/var/log/warden/audit.jsonl\" }   # where its stdout goes, if it writes any\n",
            format!("then list it in [gateway] telemetry: telemetry = [\"{name}\"]"),
        ),
    };
    format!(
        "# Add to warden.toml; {hint}\n[[plugins]]\nname = {name:?}\nkind = \"{kind}\"\nsource = {src:?}\nsha256 = \"{sha256}\"\n{config}\n{grants}"
    )
}

/// `warden plugin test`: the component as the only guardrail of a chain, over JSONL.
async fn test(file: &Path, input: &Path, direction: crate::scan::Direction, config: &str) -> Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let config: serde_json::Value = serde_json::from_str(config)
        .context("--config is not valid JSON (expected an object, e.g. '{\"words\": [\"x\"]}')")?;
    anyhow::ensure!(config.is_object(), "--config must be a JSON object");
    let name = file
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase().replace('_', "-"))
        .filter(|n| plugin_build::valid_name(n))
        .unwrap_or_else(|| "plugin".into());
    // Pinned to the bytes just read, so the load checks exactly what was read; no
    // fallback, so a plugin named like a builtin is never swapped for it.
    let mut spec = PluginSpec::new(
        &name,
        PluginKind::Guardrail,
        Source::File { path: file.to_path_buf(), sha256: Some(Sha256::digest(&bytes).into()) },
    );
    spec.fallback = Fallback::None;
    spec.config = config;
    let host = Host::new(SandboxConfig::default()).context("cannot start the plugin host")?;
    let registry = Registry::build(&[spec], &Loader::new(host, Vec::new())).await.context("cannot load the plugin")?;
    let chain = registry.chain(&[name])?;
    let out = std::io::stdout().lock();
    let bad = if input == Path::new("-") {
        crate::scan::run(&chain, direction, std::io::stdin().lock(), out).await?
    } else {
        let f = std::fs::File::open(input).with_context(|| format!("cannot read {}", input.display()))?;
        crate::scan::run(&chain, direction, std::io::BufReader::new(f), out).await?
    };
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn inspect(file: PathBuf, json: bool) -> Result<ExitCode> {
    let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    // A throwaway host: no cache, a handful of instances. Eight, not fewer: the pool
    // allows 8 core instances per component instance, and an interpreted guest
    // (componentize-py) brings 33-40 of them.
    let host = Host::new(SandboxConfig { cache: false, max_instances: 8, ..SandboxConfig::default() })?;
    let r = warden_host::inspect::inspect(&host, &bytes).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("file:     {}", file.display());
    println!("size:     {} bytes", r.size);
    println!("sha256:   {}", r.sha256);
    println!("world:    {}", r.world.unwrap_or("none (not a Warden plugin)"));
    println!("exports:");
    for e in &r.exports {
        println!("  {e}");
    }
    println!("imports:");
    for i in &r.imports {
        println!("  {i}");
    }
    match &r.refused {
        None => println!("sandbox:  loads with no grants"),
        Some(reason) => println!("sandbox:  refused without grants: {reason}"),
    }
    if let Some(info) = &r.info {
        let s = &info.stages;
        let stages: Vec<&str> = [(s.input, "input"), (s.output, "output"), (s.tool, "tool"), (s.restore, "restore")]
            .into_iter()
            .filter_map(|(on, n)| on.then_some(n))
            .collect();
        println!("describe:");
        println!("  name:        {}", info.name);
        println!("  version:     {}", info.version);
        println!("  description: {}", info.description);
        println!("  stages:      {}", stages.join(", "));
        println!("  config:      {}", info.config_schema.as_deref().unwrap_or("(no schema)"));
    }
    if let Some(e) = &r.describe_error {
        println!("describe: failed: {e}");
    }
    Ok(ExitCode::SUCCESS)
}
