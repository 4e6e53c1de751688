//! Turning a config into a running plugin host and registry; shared by `serve` and
//! `check`.

use anyhow::{Context, Result};
use std::path::Path;
use warden_core::Registry;
use warden_core::config::Config;
use warden_host::{Host, Loader};

/// Read and validate the config at `path`, or the embedded default.
pub fn load_config(path: Option<&Path>) -> Result<Config> {
    let (text, origin) = match path {
        Some(p) => (
            std::fs::read_to_string(p).with_context(|| format!("cannot read config {}", p.display()))?,
            p.display().to_string(),
        ),
        None => (crate::builtins::DEFAULT_CONFIG.to_string(), "built-in default config".to_string()),
    };
    // ${WARDEN_EXE} is this binary, so the default config can start `warden demo-server`.
    let exe = std::env::current_exe().ok().map(|p| p.display().to_string());
    let env = |name: &str| if name == "WARDEN_EXE" { exe.clone() } else { std::env::var(name).ok() };
    Config::parse(&text, &env).map_err(|errors| anyhow::anyhow!("{origin} is invalid:\n{errors}"))
}

/// The plugin host for a config's `[sandbox]` section.
pub fn host(config: &Config) -> Result<Host> {
    Host::new(config.sandbox.clone()).context("cannot start the plugin host")
}

/// Load every configured plugin (falling back to builtins where allowed).
pub async fn registry(config: &Config, host: Host) -> Result<Registry> {
    let loader = Loader::new(host, crate::builtins::all());
    Registry::build(&config.plugins, &loader).await.context("cannot load plugins")
}

/// Start the upstreams and build the gateway with the configured chains.
pub async fn gateway(config: &Config, registry: &Registry) -> Result<std::sync::Arc<warden_mcp::Gateway>> {
    let chains = warden_mcp::Chains {
        input: registry.chain(&config.gateway.input)?,
        output: registry.chain(&config.gateway.output)?,
    };
    let upstreams = config
        .servers
        .iter()
        .map(|s| warden_mcp::UpstreamSpec {
            name: s.name.clone(),
            transport: match (&s.command, &s.url) {
                (_, Some(url)) => warden_mcp::Transport::Http {
                    url: url.clone(),
                    headers: s.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                    bearer_token: s.bearer_token.clone(),
                },
                (command, None) => warden_mcp::Transport::Stdio {
                    command: command.clone().unwrap_or_default(),
                    args: s.args.clone(),
                    env: s.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                },
            },
            call_timeout: std::time::Duration::from_millis(s.call_timeout_ms),
        })
        .collect();
    Ok(warden_mcp::Gateway::start(upstreams, chains).await)
}
