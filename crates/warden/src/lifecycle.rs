//! The running gateway's lifecycle: configuration reload on `SIGHUP` (or `warden
//! reload`), and the orderly shutdown on `SIGTERM` / Ctrl-C.
//!
//! Reload builds everything from the new configuration (plugins, chains, upstreams)
//! before anything changes: a config that does not parse, a plugin that does not load
//! or a JWKS URL that cannot be fetched leaves the running gateway exactly as it was,
//! with the reason logged. What cannot change without a restart (the listen address,
//! the `[sandbox]` limits the plugin host was built with) is reported and kept.

use crate::{jwks, setup};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use warden_core::config::Config;
use warden_host::Host;
use warden_mcp::GatewayCell;

/// Loads the configuration the way `serve` did at start (file, then command-line
/// overrides), so a reload sees the same sources.
pub type Load = Box<dyn Fn() -> Result<Config> + Send + Sync>;

/// What a reload replaces, and what it must keep.
pub struct Reloader {
    pub load: Load,
    pub config: Config,
    pub host: Host,
    pub cell: Arc<GatewayCell>,
    /// The auth-file watcher of the configuration in force.
    pub auth_watch: Option<tokio::task::JoinHandle<()>>,
}

impl Reloader {
    /// Reload on every `SIGHUP` until the process ends.
    pub fn spawn(mut self) -> Result<()> {
        let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("cannot listen for SIGHUP")?;
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the configuration");
                match self.reload().await {
                    Ok(()) => tracing::info!("configuration reloaded"),
                    Err(e) => tracing::error!(
                        error = %format!("{e:#}"),
                        "configuration not reloaded; the previous one stays in force"
                    ),
                }
            }
        });
        Ok(())
    }

    async fn reload(&mut self) -> Result<()> {
        let config = (self.load)()?;
        if config.gateway.listen != self.config.gateway.listen {
            tracing::warn!("gateway.listen changed: the new address applies after a restart");
        }
        if config.sandbox != self.config.sandbox {
            tracing::warn!("[sandbox] changed: the plugin host's limits apply after a restart");
        }
        let jwks = jwks::Jwks::fetch(&config.plugins).await?;
        let registry = setup::registry_with(&config, self.host.clone(), &jwks).await?;
        let previous = self.cell.get();
        let next = setup::gateway(&config, &registry, Some(&self.host), Some(&previous)).await?;
        drop(previous);
        let old = self.cell.replace(next).await;
        if let Some(watch) = self.auth_watch.take() {
            watch.abort();
        }
        self.auth_watch = setup::reload_auth_on_change(config.clone(), self.host.clone(), self.cell.clone(), jwks);
        self.config = config;
        // Calls still running on the old gateway finish there; then its upstreams stop.
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
            while Arc::strong_count(&old) > 1 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            old.close().await;
        });
        Ok(())
    }
}

/// Resolves at `SIGTERM` or Ctrl-C (`SIGINT`).
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

/// The orderly end: refuse new calls and let the running ones finish (at most
/// `grace`), then hand queued audit events to the sinks and stop the upstreams.
pub async fn drain_and_stop(cell: &GatewayCell, grace: Duration) {
    cell.begin_drain();
    let running = cell.in_flight();
    tracing::info!(running, ?grace, "shutting down: new calls are refused, running calls may finish");
    let left = cell.drain(grace).await;
    if left > 0 {
        tracing::warn!(left, "shutdown grace period over: calls still running are abandoned");
    }
}

/// After the server stopped: flush telemetry, stop the upstreams, then call every
/// plugin's `shutdown` (telemetry sinks last saw the flushed events).
pub async fn close(cell: &GatewayCell, host: &Host) {
    let gateway = cell.get();
    if !gateway.flush(Duration::from_secs(5)).await {
        tracing::warn!("audit events still queued at exit were not all exported");
    }
    gateway.close().await;
    let failed = host.shutdown().await;
    if failed > 0 {
        tracing::warn!(failed, "some plugin instances failed their shutdown");
    }
    tracing::info!("stopped");
}

/// Where `serve` records its process id for `warden reload`: the state dir (as the
/// tool pins), one file per listening port.
pub fn pid_file(port: u16) -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("warden").join(format!("serve-{port}.pid")))
}

/// Removes the pid file when `serve` ends.
pub struct PidFile(PathBuf);

impl PidFile {
    pub fn write(port: u16) -> Option<PidFile> {
        let path = pid_file(port)?;
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, format!("{}\n", std::process::id())));
        match written {
            Ok(()) => Some(PidFile(path)),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot write the pid file; `warden reload` needs --pid");
                None
            }
        }
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `warden reload`: validate the configuration here first (so a mistake is reported
/// to the person who made it, with exit 1), then signal the running gateway.
pub async fn reload_command(config_path: Option<&Path>, pid: Option<u32>, port: u16) -> Result<std::process::ExitCode> {
    let config = match setup::load_config(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("not reloaded: {e:#}");
            return Ok(std::process::ExitCode::from(1));
        }
    };
    let loaded = async {
        let jwks = jwks::Jwks::fetch(&config.plugins).await?;
        setup::registry_with(&config, setup::host(&config)?, &jwks).await
    };
    if let Err(e) = loaded.await {
        eprintln!("not reloaded: {e:#}");
        return Ok(std::process::ExitCode::from(1));
    }
    let pid = match pid {
        Some(p) => p,
        None => {
            let path = pid_file(port).context("no HOME or XDG_STATE_HOME: pass --pid")?;
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!("no gateway is serving on port {port} ({} not found); pass --pid or --port", path.display())
            })?;
            text.trim().parse().with_context(|| format!("{} does not hold a process id", path.display()))?
        }
    };
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .context("cannot run `kill` to signal the gateway")?;
    anyhow::ensure!(status.success(), "cannot signal process {pid} (is the gateway running?)");
    println!("config valid; asked gateway (pid {pid}) to reload; its log says whether it did");
    Ok(std::process::ExitCode::SUCCESS)
}
