//! `warden plugin ...`: commands on plugin components.

use anyhow::{Context, Result};
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use warden_host::{Host, SandboxConfig};

#[derive(Subcommand)]
pub enum PluginCommand {
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
        PluginCommand::Inspect { file, json } => inspect(file, json).await,
    }
}

async fn inspect(file: PathBuf, json: bool) -> Result<ExitCode> {
    let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    // A throwaway host: no cache, a handful of instances.
    let host = Host::new(SandboxConfig { cache: false, max_instances: 4, ..SandboxConfig::default() })?;
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
