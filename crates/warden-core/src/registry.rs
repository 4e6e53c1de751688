//! Providers by name, filled at startup from `[[plugins]]` entries.
//!
//! When a configured plugin cannot be loaded (file absent, digest mismatch, refused
//! import, configure error) the registry falls back to the embedded default of the
//! same name (or the entry's `fallback`) and logs an error; the fallback is also
//! listed in [`Registry::fallbacks`] so `warden check` can show it. With no fallback,
//! startup fails: a gateway never runs silently without a guardrail it was given.

use crate::FailureMode;
use crate::plugin_config::{Fallback, PluginKind, PluginSpec, Source};
use crate::provider::{AuthProvider, Guardrail, TelemetrySink};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A loaded provider of any kind.
#[derive(Clone)]
pub enum Provider {
    Auth(Arc<dyn AuthProvider>),
    Guardrail(Arc<dyn Guardrail>),
    Telemetry(Arc<dyn TelemetrySink>),
}

impl Provider {
    pub fn kind(&self) -> PluginKind {
        match self {
            Provider::Auth(_) => PluginKind::Auth,
            Provider::Guardrail(_) => PluginKind::Guardrail,
            Provider::Telemetry(_) => PluginKind::Telemetry,
        }
    }
}

/// Turns a spec and a source into a provider (implemented by the WASM host).
#[async_trait]
pub trait PluginLoader: Send + Sync {
    /// Load `spec` from `source` (which may be the spec's own or its fallback).
    async fn load(&self, spec: &PluginSpec, source: &Source) -> Result<Provider, String>;
    /// Whether the binary embeds a builtin plugin of this name.
    fn has_builtin(&self, name: &str) -> bool;
}

/// A plugin that was replaced by its fallback at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackReport {
    pub plugin: String,
    pub wanted: String,
    pub used: String,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("plugin {plugin}: cannot load {source_desc}: {reason} (no fallback)")]
    Load { plugin: String, source_desc: String, reason: String },
    #[error("plugin {plugin}: fallback {source_desc} also failed: {reason}")]
    Fallback { plugin: String, source_desc: String, reason: String },
    #[error("plugin {plugin}: configured as {expected} but {source_desc} is a {actual} plugin")]
    WrongKind { plugin: String, source_desc: String, expected: PluginKind, actual: PluginKind },
    #[error("no {kind} plugin named {name:?}")]
    Unknown { kind: PluginKind, name: String },
}

/// One registered provider with how it must fail.
#[derive(Clone)]
pub struct Registered {
    pub provider: Provider,
    pub failure_mode: FailureMode,
}

/// Providers by name.
#[derive(Clone, Default)]
pub struct Registry {
    entries: BTreeMap<String, Registered>,
    fallbacks: Vec<FallbackReport>,
}

impl Registry {
    /// Load every spec, falling back where allowed. Specs load one after another:
    /// compiling a component uses every core already.
    pub async fn build(specs: &[PluginSpec], loader: &dyn PluginLoader) -> Result<Registry, RegistryError> {
        let mut reg = Registry::default();
        for spec in specs {
            let provider = match loader.load(spec, &spec.source).await {
                Ok(p) => p,
                Err(reason) => {
                    let fallback = match &spec.fallback {
                        Fallback::Builtin(name) => Some(Source::Builtin(name.clone())),
                        Fallback::Default if loader.has_builtin(&spec.name) => Some(Source::Builtin(spec.name.clone())),
                        Fallback::Default | Fallback::None => None,
                    };
                    // Falling back to the very source that just failed would only fail again.
                    let Some(fallback) = fallback.filter(|f| *f != spec.source) else {
                        return Err(RegistryError::Load {
                            plugin: spec.name.clone(),
                            source_desc: spec.source.to_string(),
                            reason,
                        });
                    };
                    tracing::error!(
                        plugin = %spec.name, wanted = %spec.source, using = %fallback, %reason,
                        "plugin failed to load; using its fallback"
                    );
                    let p = loader.load(spec, &fallback).await.map_err(|r| RegistryError::Fallback {
                        plugin: spec.name.clone(),
                        source_desc: fallback.to_string(),
                        reason: r,
                    })?;
                    reg.fallbacks.push(FallbackReport {
                        plugin: spec.name.clone(),
                        wanted: spec.source.to_string(),
                        used: fallback.to_string(),
                        reason,
                    });
                    p
                }
            };
            if provider.kind() != spec.kind {
                return Err(RegistryError::WrongKind {
                    plugin: spec.name.clone(),
                    source_desc: spec.source.to_string(),
                    expected: spec.kind,
                    actual: provider.kind(),
                });
            }
            reg.entries.insert(spec.name.clone(), Registered { provider, failure_mode: spec.failure_mode });
        }
        Ok(reg)
    }

    /// Plugins replaced by a fallback at startup.
    pub fn fallbacks(&self) -> &[FallbackReport] {
        &self.fallbacks
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    pub fn get(&self, name: &str) -> Option<&Registered> {
        self.entries.get(name)
    }

    /// The guardrail `name` as a chain entry.
    pub fn guardrail(&self, name: &str) -> Result<crate::chain::ChainEntry, RegistryError> {
        match self.entries.get(name) {
            Some(Registered { provider: Provider::Guardrail(g), failure_mode }) => {
                Ok(crate::chain::ChainEntry { guardrail: g.clone(), failure_mode: *failure_mode })
            }
            _ => Err(RegistryError::Unknown { kind: PluginKind::Guardrail, name: name.to_string() }),
        }
    }

    /// The auth provider `name`.
    pub fn auth(&self, name: &str) -> Result<Arc<dyn AuthProvider>, RegistryError> {
        match self.entries.get(name) {
            Some(Registered { provider: Provider::Auth(a), .. }) => Ok(a.clone()),
            _ => Err(RegistryError::Unknown { kind: PluginKind::Auth, name: name.to_string() }),
        }
    }

    /// An auth chain of the named providers, in order.
    pub fn auth_chain<S: AsRef<str>>(&self, names: &[S]) -> Result<crate::auth::AuthChain, RegistryError> {
        let mut entries = Vec::with_capacity(names.len());
        for name in names {
            let name = name.as_ref();
            match self.entries.get(name) {
                Some(Registered { provider: Provider::Auth(a), failure_mode }) => {
                    entries.push(crate::auth::AuthEntry { provider: a.clone(), failure_mode: *failure_mode })
                }
                _ => return Err(RegistryError::Unknown { kind: PluginKind::Auth, name: name.to_string() }),
            }
        }
        Ok(crate::auth::AuthChain::new(entries))
    }

    /// The telemetry sink `name`.
    pub fn telemetry(&self, name: &str) -> Result<Arc<dyn TelemetrySink>, RegistryError> {
        match self.entries.get(name) {
            Some(Registered { provider: Provider::Telemetry(t), .. }) => Ok(t.clone()),
            _ => Err(RegistryError::Unknown { kind: PluginKind::Telemetry, name: name.to_string() }),
        }
    }

    /// A chain of the named guardrails, in order.
    pub fn chain<S: AsRef<str>>(&self, names: &[S]) -> Result<crate::chain::GuardrailChain, RegistryError> {
        let entries = names.iter().map(|n| self.guardrail(n.as_ref())).collect::<Result<_, _>>()?;
        Ok(crate::chain::GuardrailChain::new(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::Stage;
    use crate::content::{Content, TextEdit};
    use crate::provider::{PluginInfo, ProviderError};
    use crate::verdict::{CallContext, Verdict};
    use std::path::PathBuf;

    struct Named(PluginInfo);

    #[async_trait]
    impl Guardrail for Named {
        fn info(&self) -> &PluginInfo {
            &self.0
        }
        async fn check(&self, _: Stage, _: &CallContext, _: &Content) -> Result<Verdict, ProviderError> {
            Ok(Verdict::Allow)
        }
        async fn restore(&self, _: &CallContext, _: &[u8], _: &Content) -> Result<Vec<TextEdit>, ProviderError> {
            Ok(Vec::new())
        }
    }

    /// Knows one builtin, `guard-pii`; every file source fails to load.
    struct Loader;

    #[async_trait]
    impl PluginLoader for Loader {
        async fn load(&self, _: &PluginSpec, source: &Source) -> Result<Provider, String> {
            match source {
                Source::Builtin(n) if n == "guard-pii" => {
                    let info = PluginInfo { name: n.clone(), ..Default::default() };
                    Ok(Provider::Guardrail(Arc::new(Named(info))))
                }
                Source::Builtin(n) => Err(format!("no builtin {n}")),
                Source::File { path, .. } => Err(format!("{} not found", path.display())),
            }
        }
        fn has_builtin(&self, name: &str) -> bool {
            name == "guard-pii"
        }
    }

    fn file_spec(name: &str) -> PluginSpec {
        let source = Source::File { path: PathBuf::from("/nonexistent/custom.wasm"), sha256: None };
        PluginSpec::new(name, PluginKind::Guardrail, source)
    }

    #[tokio::test]
    async fn absent_plugin_falls_back_to_builtin_and_is_reported() {
        let reg = Registry::build(&[file_spec("guard-pii")], &Loader).await.expect("fallback used");
        assert_eq!(reg.fallbacks().len(), 1);
        assert_eq!(reg.fallbacks()[0].used, "builtin:guard-pii");
        assert!(reg.fallbacks()[0].reason.contains("not found"));
        assert_eq!(reg.guardrail("guard-pii").map(|e| e.guardrail.info().name.clone()).ok(), Some("guard-pii".into()));
    }

    #[tokio::test]
    async fn no_fallback_means_startup_fails() {
        assert!(matches!(Registry::build(&[file_spec("custom")], &Loader).await, Err(RegistryError::Load { .. })));
        let mut spec = file_spec("guard-pii");
        spec.fallback = Fallback::None;
        assert!(matches!(Registry::build(&[spec], &Loader).await, Err(RegistryError::Load { .. })));
    }

    #[tokio::test]
    async fn kind_mismatch_is_refused() {
        let spec = PluginSpec::new("guard-pii", PluginKind::Auth, Source::Builtin("guard-pii".into()));
        assert!(matches!(Registry::build(&[spec], &Loader).await, Err(RegistryError::WrongKind { .. })));
    }
}
