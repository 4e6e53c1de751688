//! Turning a config into a running plugin host and registry; shared by `serve` and
//! `check`.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::OnceLock;
use warden_core::config::Config;
use warden_core::{PluginSpec, Registry};
use warden_host::{Host, Loader};

use crate::jwks::{Jwks, JwksLoader};

/// Read and validate the config at `path`, or the embedded default.
pub fn load_config(path: Option<&Path>) -> Result<Config> {
    let (text, origin) = match path {
        Some(p) => (
            std::fs::read_to_string(p).with_context(|| format!("cannot read config {}", p.display()))?,
            p.display().to_string(),
        ),
        None => (crate::builtins::DEFAULT_CONFIG.to_string(), "built-in default config".to_string()),
    };
    // Two variables the gateway provides itself: ${WARDEN_EXE}, this binary (so the
    // default config can start `warden demo-server`), and ${WARDEN_API_KEY_SHA256}, the
    // hash of the local API key (so the default config can require it).
    let exe = std::env::current_exe().ok().map(|p| p.display().to_string());
    let env = |name: &str| match name {
        "WARDEN_EXE" => exe.clone(),
        // No key (no randomness to make one): the variable is unset, so a config that
        // uses it fails to load instead of accepting the hash of an empty key.
        "WARDEN_API_KEY_SHA256" => {
            let key = &local_api_key().key;
            (!key.is_empty()).then(|| hex::encode(Sha256::digest(key.as_bytes())))
        }
        // Where `warden keys` keeps API keys (see keys.rs).
        "WARDEN_KEYS_FILE" => Some(crate::keys::default_keys_file().display().to_string()),
        _ => std::env::var(name).ok(),
    };
    Config::parse(&text, &env).map_err(|errors| anyhow::anyhow!("{origin} is invalid:\n{errors}"))
}

/// The plugin host for a config's `[sandbox]` section.
pub fn host(config: &Config) -> Result<Host> {
    Host::new(config.sandbox.clone()).context("cannot start the plugin host")
}

/// Load every configured plugin (falling back to builtins where allowed), those
/// with a `jwks_url` with the keys `jwks` holds and refreshes (`Jwks::fetch` first:
/// a JWKS that cannot be fetched is an error there).
pub async fn registry_with(config: &Config, host: Host, jwks: &Jwks) -> Result<Registry> {
    let loader = JwksLoader::new(Loader::new(host, crate::builtins::all()), jwks);
    Registry::build(&with_config_files(&config.plugins)?, &loader).await.context("cannot load plugins")
}

/// Load the guardrail and telemetry plugins only: all `warden scan` needs, and no
/// auth plugin means no JWKS to fetch (scan runs without a network).
pub async fn guardrail_registry(config: &Config, host: Host) -> Result<Registry> {
    let specs: Vec<PluginSpec> =
        config.plugins.iter().filter(|p| p.kind != warden_core::PluginKind::Auth).cloned().collect();
    let loader = Loader::new(host, crate::builtins::all());
    Registry::build(&with_config_files(&specs)?, &loader).await.context("cannot load plugins")
}

/// The specs with each `config_file` merged into `config` (a missing file adds
/// nothing; an unreadable or invalid one is an error).
pub fn with_config_files(specs: &[PluginSpec]) -> Result<Vec<PluginSpec>> {
    let mut specs = specs.to_vec();
    for spec in &mut specs {
        let Some(path) = &spec.config_file else { continue };
        let extra: serde_json::Value = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("plugin {}: config_file {} is not valid JSON", spec.name, path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("plugin {}: cannot read {}", spec.name, path.display())),
        };
        warden_core::plugin_config::merge_config(&mut spec.config, extra);
    }
    Ok(specs)
}

/// Rebuild the auth chain whenever a `config_file` of one of its plugins changes
/// (e.g. `warden keys revoke`), so key changes apply without a restart. Polls
/// modification times every second. Plugins with a `jwks_url` keep the keys `jwks`
/// holds (they refresh those themselves).
/// Returns the watcher (`None`: nothing to watch), to stop when the whole config is
/// reloaded.
pub fn reload_auth_on_change(
    config: Config,
    host: Host,
    cell: std::sync::Arc<warden_mcp::GatewayCell>,
    jwks: Jwks,
) -> Option<tokio::task::JoinHandle<()>> {
    let auth: Vec<PluginSpec> =
        config.plugins.iter().filter(|p| config.gateway.auth.contains(&p.name)).cloned().collect();
    let files: Vec<std::path::PathBuf> = auth.iter().filter_map(|p| p.config_file.clone()).collect();
    if files.is_empty() {
        return None;
    }
    let stamp = move || files.iter().map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok()).collect::<Vec<_>>();
    Some(tokio::spawn(async move {
        let mut seen = stamp();
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            let now = stamp();
            if now == seen {
                continue;
            }
            seen = now;
            let rebuilt = async {
                let loader = JwksLoader::new(Loader::new(host.clone(), crate::builtins::all()), &jwks);
                let registry = Registry::build(&with_config_files(&auth)?, &loader).await?;
                anyhow::Ok(registry.auth_chain(&config.gateway.auth)?)
            };
            match rebuilt.await {
                Ok(chain) => {
                    cell.get().set_auth(chain);
                    tracing::info!("auth configuration reloaded");
                }
                // Keep the previous chain: a half-written or broken file must not
                // lock everyone out, nor let anyone in.
                Err(e) => tracing::error!(error = %format!("{e:#}"), "auth configuration not reloaded"),
            }
        }
    }))
}

/// Start the upstreams and build the gateway with the configured chains; `host`
/// (the one the plugins were loaded in) feeds the per-plugin metrics. At a reload,
/// `previous` is the gateway being replaced: its counters carry on.
pub async fn gateway(
    config: &Config,
    registry: &Registry,
    host: Option<&Host>,
    previous: Option<&warden_mcp::Gateway>,
) -> Result<std::sync::Arc<warden_mcp::Gateway>> {
    let chains = warden_mcp::Chains {
        auth: registry.auth_chain(&config.gateway.auth)?,
        input: registry.chain(&config.gateway.input)?,
        output: registry.chain(&config.gateway.output)?,
        tools: registry.chain(&config.gateway.tools)?,
        telemetry: config.gateway.telemetry.iter().map(|n| registry.telemetry(n)).collect::<Result<_, _>>()?,
    };
    let pins = if config.gateway.pin_tools { Some(pins(config)?) } else { None };
    // Servers with chains of their own; the rest use the gateway's.
    let mut per_server = std::collections::HashMap::new();
    for s in config.servers.iter().filter(|s| s.input.is_some() || s.output.is_some() || s.tools.is_some()) {
        let own = |list: &Option<Vec<String>>, default: &Vec<String>| registry.chain(list.as_ref().unwrap_or(default));
        let server_chains = warden_mcp::Chains {
            auth: Default::default(),
            input: own(&s.input, &config.gateway.input)?,
            output: own(&s.output, &config.gateway.output)?,
            tools: own(&s.tools, &config.gateway.tools)?,
            telemetry: Vec::new(),
        };
        per_server.insert(s.name.clone(), server_chains);
    }
    let settings = warden_mcp::Settings {
        prefix: config.gateway.tool_prefix,
        rules: config.gateway.rules.clone(),
        pins,
        otlp: warden_mcp::otel::OtlpConfig::from_env(|k| std::env::var(k).ok()),
        plugin_metrics: host
            .cloned()
            .map(|host| -> warden_mcp::PluginMetricsSource { std::sync::Arc::new(move || host.plugin_metrics()) }),
        metrics: previous.map(warden_mcp::Gateway::metrics_handle),
        limits: warden_mcp::limits::LimitSettings::from_config(config),
        per_server,
        compat_enkrypt: config.compat.enkrypt_tools,
        admin: warden_mcp::admin::AdminSettings::from_config(&config.gateway.admin),
    };
    Ok(warden_mcp::Gateway::start(upstream_specs(config), chains, settings).await)
}

/// The tool pin store the config names (or the default one in the user's state dir).
pub fn pins(config: &Config) -> Result<warden_mcp::pins::Pins> {
    let path = match &config.gateway.pins_file {
        Some(p) => p.clone(),
        None => {
            let state = std::env::var_os("XDG_STATE_HOME")
                .filter(|v| !v.is_empty())
                .map(std::path::PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".local/state")));
            match state {
                Some(dir) => dir.join("warden/tool-pins.json"),
                None => {
                    tracing::warn!("no HOME or XDG_STATE_HOME: tool pins are kept in memory for this run only");
                    return Ok(warden_mcp::pins::Pins::in_memory());
                }
            }
        }
    };
    warden_mcp::pins::Pins::load(&path).map_err(anyhow::Error::msg)
}

/// How to reach each configured upstream.
pub fn upstream_specs(config: &Config) -> Vec<warden_mcp::UpstreamSpec> {
    config
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
            connect_timeout: std::time::Duration::from_millis(s.connect_timeout_ms),
            max_concurrency: s.max_concurrency,
        })
        .collect()
}

/// The local API key: `WARDEN_API_KEY` from the environment, or one generated for
/// this run (the same value for the whole process).
pub struct LocalKey {
    pub key: String,
    pub generated: bool,
}

pub fn local_api_key() -> &'static LocalKey {
    static KEY: OnceLock<LocalKey> = OnceLock::new();
    KEY.get_or_init(|| match std::env::var("WARDEN_API_KEY") {
        Ok(key) if !key.is_empty() => LocalKey { key, generated: false },
        _ => LocalKey { key: generate_key(), generated: true },
    })
}

/// A fresh random key, `wdn_` + 48 hex digits from the OS's random source.
pub fn generate_key() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 24];
    if let Err(e) = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)) {
        // Without randomness there is no safe key; an empty one makes the config
        // that needs it fail to load (see load_config) rather than let anyone in.
        tracing::error!(error = %e, "cannot read /dev/urandom; set WARDEN_API_KEY");
        return String::new();
    }
    format!("wdn_{}", hex::encode(bytes))
}

/// Apply `serve`'s command-line overrides to a validated config.
pub fn apply_overrides(config: &mut Config, upstreams: &[String], no_defaults: bool, no_auth: bool) -> Result<()> {
    if no_defaults {
        config.servers.clear();
    }
    for spec in upstreams {
        let server = parse_upstream(spec)?;
        anyhow::ensure!(
            !config.servers.iter().any(|s| s.name == server.name),
            "--upstream {spec}: an upstream named {:?} already exists",
            server.name
        );
        config.servers.push(server);
    }
    if no_auth {
        tracing::warn!("--no-auth: authentication is OFF; any local process can call every tool");
        config.gateway.auth.clear();
    }
    Ok(())
}

/// `NAME=https://host/path` or `NAME=stdio:COMMAND ARG…`.
fn parse_upstream(spec: &str) -> Result<warden_core::config::UpstreamConfig> {
    let (name, target) = spec.split_once('=').with_context(|| format!("--upstream {spec:?}: expected NAME=TARGET"))?;
    anyhow::ensure!(
        warden_core::config::valid_server_name(name),
        "--upstream {spec:?}: {name:?} is not a valid name (1-32 of A-Z a-z 0-9 - _, no \"__\")"
    );
    let mut server = warden_core::config::UpstreamConfig {
        name: name.to_string(),
        command: None,
        args: Vec::new(),
        env: Default::default(),
        url: None,
        headers: Default::default(),
        bearer_token: None,
        call_timeout_ms: 30_000,
        connect_timeout_ms: 60_000,
        input: None,
        output: None,
        tools: None,
        max_concurrency: 16,
        rate: None,
        burst: None,
    };
    if let Some(cmdline) = target.strip_prefix("stdio:") {
        let mut words = cmdline.split_whitespace().map(str::to_string);
        server.command = Some(words.next().with_context(|| format!("--upstream {spec:?}: empty command"))?);
        server.args = words.collect();
    } else if target.starts_with("http://") || target.starts_with("https://") {
        server.url = Some(target.to_string());
    } else {
        anyhow::bail!("--upstream {spec:?}: TARGET must be http(s)://… or stdio:COMMAND");
    }
    Ok(server)
}
