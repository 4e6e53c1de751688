//! `warden check` and `warden tools approve`: vetting a config before serving it —
//! plugins load, upstreams answer, tool names do not clash, no tool is hidden by
//! the tool guardrails or its pin — and re-pinning changed tool definitions.

use crate::setup;
use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;
use warden_core::config::ToolPrefix;

/// `warden check`: the config, its plugins and (unless `offline`) its upstreams.
pub async fn check(config: Option<&Path>, tool_prefix: Option<ToolPrefix>, offline: bool) -> Result<ExitCode> {
    let mut config = setup::load_config(config)?;
    if let Some(mode) = tool_prefix {
        config.gateway.tool_prefix = mode;
    }
    let jwks = crate::jwks::Jwks::fetch(&config.plugins).await?;
    let registry = setup::registry_with(&config, setup::host(&config)?, &jwks).await?;
    let mut ok = true;
    for name in registry.names() {
        println!("ok       plugin {name}");
    }
    for (name, source) in jwks.sources() {
        println!("ok       jwks {name}: {} key(s) from {}", source.keys().1.len(), source.url());
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
    if !offline {
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
    let gateway = match setup::gateway(config, registry, None, None).await {
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

/// `warden tools approve`: pin the upstreams' current definitions of `targets`
/// (`SERVER` or `SERVER/TOOL`; all when empty).
pub async fn approve(config: Option<&Path>, targets: &[String]) -> Result<ExitCode> {
    let config = setup::load_config(config)?;
    anyhow::ensure!(config.gateway.pin_tools, "gateway.pin_tools is off: there are no pins to approve");
    let pins = setup::pins(&config)?;
    let settings = warden_mcp::Settings { prefix: config.gateway.tool_prefix, ..Default::default() };
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
