//! The registry's loader: builtin plugins embedded in the binary, and component files
//! pinned by SHA-256.

use crate::plugin::Plugin;
use crate::providers::{WasmAuth, WasmGuardrail, WasmTelemetry};
use crate::{Error, Host};
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use warden_core::registry::{PluginLoader, Provider};
use warden_core::{PluginKind, PluginSpec, Source};

/// A plugin embedded in the binary.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    pub name: &'static str,
    pub bytes: &'static [u8],
}

/// Loads plugins into a [`Host`].
pub struct Loader {
    host: Host,
    builtins: Vec<Builtin>,
}

impl Loader {
    pub fn new(host: Host, builtins: Vec<Builtin>) -> Loader {
        Loader { host, builtins }
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The bytes a source names, with a pinned digest checked.
    pub fn read(&self, plugin: &str, source: &Source) -> crate::Result<Vec<u8>> {
        match source {
            Source::Builtin(name) => {
                self.builtins.iter().find(|b| b.name == name).map(|b| b.bytes.to_vec()).ok_or_else(|| Error::Read {
                    plugin: plugin.to_string(),
                    path: source.to_string(),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such builtin plugin"),
                })
            }
            Source::File { path, sha256 } => {
                let bytes = std::fs::read(path).map_err(|e| Error::Read {
                    plugin: plugin.to_string(),
                    path: path.display().to_string(),
                    source: e,
                })?;
                let found: [u8; 32] = Sha256::digest(&bytes).into();
                match sha256 {
                    Some(expected) if *expected != found => Err(Error::Digest {
                        plugin: plugin.to_string(),
                        path: path.display().to_string(),
                        expected: hex::encode(expected),
                        found: hex::encode(found),
                    }),
                    Some(_) => Ok(bytes),
                    None => {
                        tracing::warn!(plugin, path = %path.display(), sha256 = %hex::encode(found),
                            "plugin file is not pinned; add this sha256 to its [[plugins]] entry");
                        Ok(bytes)
                    }
                }
            }
        }
    }

    /// Load one plugin from `source` as a provider of `spec.kind`.
    pub async fn load_plugin(&self, spec: &PluginSpec, source: &Source) -> crate::Result<Arc<Plugin>> {
        let bytes = self.read(&spec.name, source)?;
        let plugin = Arc::new(Plugin::load(&self.host, spec, &bytes).await?);
        self.host.track(&plugin);
        Ok(plugin)
    }
}

/// Wrap a loaded plugin as the provider of its kind.
pub fn provider(plugin: Arc<Plugin>) -> Provider {
    match plugin.kind() {
        PluginKind::Guardrail => Provider::Guardrail(Arc::new(WasmGuardrail(plugin))),
        PluginKind::Auth => Provider::Auth(Arc::new(WasmAuth(plugin))),
        PluginKind::Telemetry => Provider::Telemetry(Arc::new(WasmTelemetry(plugin))),
    }
}

#[async_trait]
impl PluginLoader for Loader {
    async fn load(&self, spec: &PluginSpec, source: &Source) -> Result<Provider, String> {
        self.load_plugin(spec, source).await.map(provider).map_err(|e| e.to_string())
    }

    fn has_builtin(&self, name: &str) -> bool {
        self.builtins.iter().any(|b| b.name == name)
    }
}
