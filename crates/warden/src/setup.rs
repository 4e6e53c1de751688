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
    Config::parse(&text, &|name| std::env::var(name).ok())
        .map_err(|errors| anyhow::anyhow!("{origin} is invalid:\n{errors}"))
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
