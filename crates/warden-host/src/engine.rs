//! The one wasmtime engine of the gateway and its epoch ticker.
//!
//! Fuel bounds the work of a call; epochs bound its wall-clock time while wasm runs
//! (the ticker bumps the epoch every [`EPOCH_TICK`]); the pooling allocator makes a
//! fresh instance cost microseconds. All plugins share one [`Linker`] holding WASI,
//! wasi:http and Warden's `host` interface; what a plugin may actually import is
//! decided per plugin by [`crate::capabilities`] before it is instantiated.

use crate::cache::Cache;
use crate::state::HostState;
use crate::{Error, Result};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use warden_core::config::SandboxConfig;
use warden_core::{PluginCounters, PluginMetrics};
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; the granularity of plugin deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// `$XDG_CACHE_HOME/warden/components`, else `~/.cache/warden/components`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("warden").join("components"))
}

/// The plugin host: engine, linker and component cache. Cheap to clone.
#[derive(Clone)]
pub struct Host {
    pub(crate) inner: Arc<HostInner>,
}

pub(crate) struct HostInner {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<HostState>,
    pub(crate) cache: Option<Cache>,
    pub(crate) config: SandboxConfig,
    /// Per plugin name, the counters every instance and reload of it adds to.
    pub(crate) counters: std::sync::Mutex<std::collections::BTreeMap<String, Arc<PluginCounters>>>,
    /// Every plugin loaded, for the `shutdown` call at exit (weak: a plugin dropped at
    /// a reload is not kept alive by this list).
    pub(crate) loaded: std::sync::Mutex<Vec<std::sync::Weak<crate::Plugin>>>,
}

impl Host {
    /// The host for a `[sandbox]` config (per-plugin limits must fit inside it).
    pub fn new(config: SandboxConfig) -> Result<Host> {
        let engine = Engine::new(&engine_config(&config)?).map_err(|e| Error::Engine(format!("{e:#}")))?;
        let mut linker: Linker<HostState> = Linker::new(&engine);
        let link = |r: wasmtime::Result<()>| r.map_err(|e| Error::Engine(format!("linking: {e:#}")));
        link(wasmtime_wasi::p2::add_to_linker_async(&mut linker))?;
        link(wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker))?;
        link(crate::bindings::host::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s))?;
        let cache_dir = config.cache.then(|| config.cache_dir.clone().or_else(default_cache_dir)).flatten();
        let cache = cache_dir.as_deref().and_then(|dir| Cache::open(dir, &engine));
        spawn_epoch_ticker(&engine);
        Ok(Host {
            inner: Arc::new(HostInner {
                engine,
                linker,
                cache,
                config,
                counters: Default::default(),
                loaded: Default::default(),
            }),
        })
    }

    pub(crate) fn track(&self, plugin: &Arc<crate::Plugin>) {
        if let Ok(mut loaded) = self.inner.loaded.lock() {
            loaded.retain(|p| p.strong_count() > 0);
            loaded.push(Arc::downgrade(plugin));
        }
    }

    /// At exit: call `shutdown` on every instance of every plugin still loaded, then
    /// refuse further calls to them. Returns how many shutdown calls failed.
    pub async fn shutdown(&self) -> usize {
        let plugins: Vec<_> = match self.inner.loaded.lock() {
            Ok(mut loaded) => loaded.drain(..).filter_map(|p| p.upgrade()).collect(),
            Err(_) => Vec::new(),
        };
        let mut failed = 0;
        for plugin in plugins {
            failed += plugin.shutdown().await;
        }
        failed
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    /// The counters of the plugin called `name` (created on first use). Plugins
    /// loaded again under the same name (an auth reload) keep adding to them.
    pub(crate) fn counters_for(&self, name: &str) -> Arc<PluginCounters> {
        let mut all = self.inner.counters.lock().unwrap_or_else(|p| p.into_inner());
        all.entry(name.to_string()).or_default().clone()
    }

    /// What every plugin loaded in this host has done, by name: calls, failures by
    /// kind (traps, fuel, deadlines…), fuel burnt and time inside the sandbox.
    pub fn plugin_metrics(&self) -> Vec<PluginMetrics> {
        let all = self.inner.counters.lock().unwrap_or_else(|p| p.into_inner());
        all.iter().map(|(name, c)| c.snapshot(name)).collect()
    }

    /// Where precompiled components are kept, if the cache is in use.
    pub fn cache_dir(&self) -> Option<&std::path::Path> {
        self.inner.cache.as_ref().map(Cache::dir)
    }
}

fn engine_config(c: &SandboxConfig) -> Result<Config> {
    let mut pool = PoolingAllocationConfig::default();
    let instances = c.max_instances.max(1);
    // Interpreted guests (componentize-py, componentize-js) bring many core
    // instances, memories and large tables per component; these values fit them.
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(8))
        .max_core_instances_per_component(64)
        .total_memories(instances.saturating_mul(2))
        .max_memories_per_component(16)
        .total_tables(instances.saturating_mul(4))
        .max_tables_per_component(32)
        .table_elements(200_000)
        .total_stacks(instances)
        .total_gc_heaps(instances)
        .max_memory_size((c.max_memory_mib as usize) << 20)
        .max_component_instance_size(4 << 20)
        .max_core_instance_size(4 << 20)
        .max_unused_warm_slots(16);
    let mut config = Config::new();
    config
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack((c.max_wasm_stack_kib as usize) << 10)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Ok(config)
}

/// One thread per engine bumps the epoch; it ends when the engine is dropped.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new().name("warden-epoch".into()).spawn(move || {
        loop {
            std::thread::sleep(EPOCH_TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => return,
            }
        }
    });
    if let Err(e) = spawned {
        // Without the ticker, deadlines still hold through the host-side timeout;
        // only wasm-side interruption is lost. Say so loudly.
        tracing::error!(error = %e, "cannot start the epoch ticker; plugin deadlines rely on timeouts only");
    }
}

/// Epoch ticks for a deadline, rounded up, at least one.
pub(crate) fn deadline_ticks(deadline: Duration) -> u64 {
    let tick = EPOCH_TICK.as_micros().max(1);
    (deadline.as_micros().div_ceil(tick) as u64).max(1)
}
