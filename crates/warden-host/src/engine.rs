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
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; the granularity of plugin deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Engine-wide settings. Per-plugin limits (fuel, deadline, memory) are in
/// [`warden_core::Limits`] and must fit inside these.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Largest linear memory any plugin may be given, in MiB.
    pub max_memory_mib: u32,
    /// Instances alive at once across all plugins (pool slots).
    pub max_instances: u32,
    /// Native stack for wasm code, in KiB; deeper recursion traps.
    pub max_wasm_stack_kib: u32,
    /// Where precompiled components are kept; `None` compiles on every start.
    pub cache_dir: Option<PathBuf>,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig { max_memory_mib: 512, max_instances: 256, max_wasm_stack_kib: 512, cache_dir: default_cache_dir() }
    }
}

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
    pub(crate) config: HostConfig,
}

impl Host {
    pub fn new(config: HostConfig) -> Result<Host> {
        let engine = Engine::new(&engine_config(&config)?).map_err(|e| Error::Engine(format!("{e:#}")))?;
        let mut linker: Linker<HostState> = Linker::new(&engine);
        let link = |r: wasmtime::Result<()>| r.map_err(|e| Error::Engine(format!("linking: {e:#}")));
        link(wasmtime_wasi::p2::add_to_linker_async(&mut linker))?;
        link(wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker))?;
        link(crate::bindings::host::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s))?;
        let cache = config.cache_dir.as_deref().and_then(|dir| Cache::open(dir, &engine));
        spawn_epoch_ticker(&engine);
        Ok(Host { inner: Arc::new(HostInner { engine, linker, cache, config }) })
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub fn config(&self) -> &HostConfig {
        &self.inner.config
    }
}

fn engine_config(c: &HostConfig) -> Result<Config> {
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
