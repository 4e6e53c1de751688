//! A loaded plugin: its compiled component, pre-linked for its world, and a small
//! pool of configured instances; plus the guarded call path.
//!
//! Every call takes an instance (an idle one, or a fresh one configured with the
//! plugin's config), gives its store the per-call fuel budget and epoch deadline,
//! and runs under a host-side timeout as well (a plugin blocked inside a host call,
//! such as a WASI sleep, runs no wasm and so never sees its epoch deadline). An
//! instance that trapped, ran out or timed out is dropped; the next call gets a
//! fresh one. Pool size is bounded by a semaphore (`limits.max_instances`).

use crate::bindings::{auth, guardrail, telemetry, types};
use crate::capabilities::audit_imports;
use crate::engine::{Host, deadline_ticks};
use crate::state::{HostState, LimitHit};
use crate::{Error, Result};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use warden_core::{FailureKind, Isolation, Limits, PluginCounters, PluginKind, PluginSpec, ProviderError};
use wasmtime::component::Component;
use wasmtime::{Store, Trap};

/// Extra wall-clock time past the epoch deadline before the host-side timeout
/// fires, so that a plugin running wasm is stopped by its epoch (and reported as
/// such) and only one blocked in a host call is stopped by the timeout.
const TIMEOUT_GRACE: Duration = Duration::from_millis(50);

/// How long a plugin off the per-call path (see [`Plugin::on_call_path`]) keeps its
/// idle instances after its last call.
const TRIM_AFTER: Duration = Duration::from_secs(1);

/// The pre-linked component, by world.
#[derive(Clone)]
enum Pre {
    Guardrail(guardrail::GuardrailProviderPre<HostState>),
    Auth(auth::AuthProviderPre<HostState>),
    Telemetry(telemetry::TelemetryProviderPre<HostState>),
}

/// The instantiated exports, by world.
pub(crate) enum Bindings {
    Guardrail(guardrail::GuardrailProvider),
    Auth(auth::AuthProvider),
    Telemetry(telemetry::TelemetryProvider),
}

/// A configured instance and its store.
pub(crate) struct Instance {
    pub(crate) store: Store<HostState>,
    pub(crate) bindings: Bindings,
}

/// Counters for one plugin, for metrics and tests.
#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    failures: AtomicU64,
    instantiations: AtomicU64,
    fuel_consumed: AtomicU64,
}

/// A snapshot of a plugin's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PluginStats {
    pub calls: u64,
    pub failures: u64,
    /// Instances created (a pooled plugin creates one per concurrent caller, plus one
    /// after each failure).
    pub instantiations: u64,
    pub fuel_consumed: u64,
    /// Configured instances waiting in the pool.
    pub idle: usize,
}

/// A loaded, configured plugin.
pub struct Plugin {
    name: Arc<str>,
    kind: PluginKind,
    info: warden_core::PluginInfo,
    digest: [u8; 32],
    spec: PluginSpec,
    config_json: String,
    host: Host,
    pre: Pre,
    idle: Arc<Mutex<Vec<Instance>>>,
    /// Calls that returned an instance to the pool; a trim checks it did not move.
    returns: Arc<AtomicU64>,
    permits: Semaphore,
    counters: Counters,
    /// The same events, summed per plugin name across reloads, for metrics.
    totals: Arc<PluginCounters>,
    /// The granted output file (`grants.stdout`), shared by every instance.
    stdout: Option<wasmtime_wasi::cli::OutputFile>,
}

/// Open the file a plugin's stdout is appended to: created owner-only.
fn open_output(plugin: &str, path: &std::path::Path) -> Result<wasmtime_wasi::cli::OutputFile> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().append(true).create(true).mode(0o600).open(path).map_err(|e| {
        Error::Instantiate { plugin: plugin.to_string(), reason: format!("grants.stdout {}: {e}", path.display()) }
    })?;
    Ok(wasmtime_wasi::cli::OutputFile::new(file))
}

type CallFuture<'a, R> = Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 'a>>;

impl Plugin {
    /// Compile (or load precompiled), audit imports, link for the spec's world, and
    /// create a first instance: `describe()` then `configure(config)`.
    pub async fn load(host: &Host, spec: &PluginSpec, bytes: &[u8]) -> Result<Plugin> {
        let max = host.config().max_memory_mib;
        if spec.limits.memory_mib > max {
            return Err(Error::Limits {
                plugin: spec.name.clone(),
                reason: format!("limits.memory_mib = {} exceeds the host maximum of {max} MiB", spec.limits.memory_mib),
            });
        }
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        let component = compile(host, &spec.name, &digest, bytes).await?;
        audit_imports(&spec.name, host.engine(), &component, &spec.grants)?;
        let mut plugin = Plugin::unloaded(host, spec, &component, digest)?;
        let mut first = plugin
            .instantiate_unconfigured()
            .await
            .map_err(|e| Error::Instantiate { plugin: spec.name.clone(), reason: e.message })?;
        plugin.info = plugin.describe(&mut first).await?;
        plugin.configure(&mut first).await.map_err(|e| match e.kind {
            FailureKind::Reported => Error::Configure { plugin: spec.name.clone(), reason: e.message },
            _ => Error::Instantiate { plugin: spec.name.clone(), reason: format!("configure: {}", e.message) },
        })?;
        if spec.isolation == Isolation::Pooled {
            plugin.put_back(first);
        }
        Ok(plugin)
    }

    /// Link `component` for `spec`'s world without auditing imports or configuring:
    /// only for [`crate::inspect`], which calls nothing but `describe()`.
    pub(crate) async fn describe_only(
        host: &Host,
        spec: &PluginSpec,
        component: &Component,
    ) -> Result<warden_core::PluginInfo> {
        let plugin = Plugin::unloaded(host, spec, component, [0; 32])?;
        let mut instance = plugin
            .instantiate_unconfigured()
            .await
            .map_err(|e| Error::Instantiate { plugin: spec.name.clone(), reason: e.message })?;
        plugin.describe(&mut instance).await
    }

    fn unloaded(host: &Host, spec: &PluginSpec, component: &Component, digest: [u8; 32]) -> Result<Plugin> {
        Ok(Plugin {
            name: Arc::from(spec.name.as_str()),
            kind: spec.kind,
            info: warden_core::PluginInfo::default(),
            digest,
            spec: spec.clone(),
            config_json: spec.config.to_string(),
            host: host.clone(),
            pre: link(host, spec, component)?,
            idle: Arc::default(),
            returns: Arc::default(),
            permits: Semaphore::new(spec.limits.max_instances as usize),
            counters: Counters::default(),
            totals: host.counters_for(&spec.name),
            stdout: spec.grants.stdout.as_deref().map(|p| open_output(&spec.name, p)).transpose()?,
        })
    }

    /// Create and drop one fresh, unconfigured instance: the bare cost of
    /// instantiation, for benchmarks and health checks.
    pub async fn probe_instantiation(&self) -> std::result::Result<(), ProviderError> {
        self.instantiate_unconfigured().await.map(drop)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> PluginKind {
        self.kind
    }

    /// What the plugin said about itself in `describe()`.
    pub fn info(&self) -> &warden_core::PluginInfo {
        &self.info
    }

    /// Whether nothing the plugin sees can leave the gateway through it: no network
    /// (`grants.http_hosts`) and no output file (`grants.stdout`). Environment reads
    /// and the clock bring data in, not out.
    pub fn is_contained(&self) -> bool {
        self.spec.grants.http_hosts.is_empty() && self.spec.grants.stdout.is_none()
    }

    /// SHA-256 of the component bytes.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    pub fn limits(&self) -> &Limits {
        &self.spec.limits
    }

    pub fn stats(&self) -> PluginStats {
        let c = &self.counters;
        PluginStats {
            calls: c.calls.load(Ordering::Relaxed),
            failures: c.failures.load(Ordering::Relaxed),
            instantiations: c.instantiations.load(Ordering::Relaxed),
            fuel_consumed: c.fuel_consumed.load(Ordering::Relaxed),
            idle: self.idle.lock().map(|v| v.len()).unwrap_or(0),
        }
    }

    /// Run `f` on an instance under the plugin's limits. Any trap, exhausted limit
    /// or timeout discards the instance and becomes a [`ProviderError`].
    pub(crate) async fn call<R, F>(&self, f: F) -> std::result::Result<R, ProviderError>
    where
        R: Send,
        F: for<'a> FnOnce(&'a mut Instance) -> CallFuture<'a, R>,
    {
        // The semaphore is never closed, so acquire only fails if it were.
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| self.error(FailureKind::Unavailable, "plugin is shutting down"))?;
        self.counters.calls.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let mut instance = match self.take_idle() {
            Some(i) => i,
            None => match self.fresh_instance().await {
                Ok(i) => i,
                Err(e) => {
                    self.counters.failures.fetch_add(1, Ordering::Relaxed);
                    self.totals.record_call(started.elapsed(), 0, Some(e.kind));
                    return Err(e);
                }
            },
        };
        self.arm(&mut instance.store)?;
        let deadline = Duration::from_millis(self.spec.limits.deadline_ms);
        let outcome = tokio::time::timeout(deadline + TIMEOUT_GRACE, f(&mut instance)).await;
        let left = instance.store.get_fuel().unwrap_or(0);
        let fuel = self.spec.limits.fuel.saturating_sub(left);
        self.counters.fuel_consumed.fetch_add(fuel, Ordering::Relaxed);
        let error = match outcome {
            Ok(Ok(r)) => {
                self.totals.record_call(started.elapsed(), fuel, None);
                // An instance whose memory crept past 3/4 of its limit (a guest
                // runtime that leaks a little per call: componentize-js does) is
                // retired now, so no later call fails on it.
                if self.spec.isolation == Isolation::Pooled && !instance.store.data().limiter.nearly_full() {
                    self.put_back(instance);
                } else if self.spec.isolation == Isolation::Pooled {
                    self.totals.record_retirement();
                    tracing::debug!(plugin = %self.name, "instance near its memory limit retired");
                }
                return Ok(r);
            }
            Ok(Err(e)) => self.classify(&e, instance.store.data()),
            Err(_) => self.error(
                FailureKind::Deadline,
                format!("no answer within {} ms (blocked in a host call)", self.spec.limits.deadline_ms),
            ),
        };
        self.counters.failures.fetch_add(1, Ordering::Relaxed);
        self.totals.record_call(started.elapsed(), fuel, Some(error.kind));
        tracing::warn!(plugin = %self.name, error = %error, "plugin call failed; instance discarded");
        Err(error)
    }

    /// Refuse a result larger than `limits.max_output_kib`. (Wasm memory bounds what
    /// a plugin can return at all; this bounds what the gateway passes on.)
    pub(crate) fn check_output_size(&self, size: usize) -> std::result::Result<(), ProviderError> {
        let cap = (self.spec.limits.max_output_kib as usize) << 10;
        if size <= cap {
            return Ok(());
        }
        self.counters.failures.fetch_add(1, Ordering::Relaxed);
        self.totals.record_failure(FailureKind::OutputTooLarge);
        Err(self.error(
            FailureKind::OutputTooLarge,
            format!("returned {} KiB, more than the {} KiB allowed", size >> 10, cap >> 10),
        ))
    }

    /// Give a store its per-call budget.
    fn arm(&self, store: &mut Store<HostState>) -> std::result::Result<(), ProviderError> {
        store.data_mut().begin_call();
        store.set_fuel(self.spec.limits.fuel).map_err(|e| self.error(FailureKind::Unavailable, e.to_string()))?;
        store.set_epoch_deadline(deadline_ticks(Duration::from_millis(self.spec.limits.deadline_ms)));
        Ok(())
    }

    async fn fresh_instance(&self) -> std::result::Result<Instance, ProviderError> {
        let mut instance = self.instantiate_unconfigured().await?;
        self.configure(&mut instance).await?;
        Ok(instance)
    }

    fn take_idle(&self) -> Option<Instance> {
        self.idle.lock().ok()?.pop()
    }

    fn put_back(&self, instance: Instance) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(instance);
        }
        let seen = self.returns.fetch_add(1, Ordering::Relaxed) + 1;
        if !self.on_call_path() {
            // Trim once the burst of calls is over: a plugin that runs only at tool
            // discovery (start, list changes) does not keep its linear memory resident
            // in between. Its next call configures a fresh instance.
            let (idle, returns) = (Arc::downgrade(&self.idle), self.returns.clone());
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    tokio::time::sleep(TRIM_AFTER).await;
                    if returns.load(Ordering::Relaxed) == seen
                        && let Some(idle) = idle.upgrade()
                        && let Ok(mut idle) = idle.lock()
                    {
                        idle.clear();
                    }
                });
            }
        }
    }

    /// Whether the plugin runs for every call (auth, telemetry, input/output/restore
    /// guardrails), so its idle instances are worth keeping warm. A guardrail that
    /// only judges tool definitions runs in bursts at discovery.
    fn on_call_path(&self) -> bool {
        let s = self.info.stages;
        self.kind != PluginKind::Guardrail || s.input || s.output || s.restore
    }

    /// A fresh instance (its start functions run under the per-call limits).
    async fn instantiate_unconfigured(&self) -> std::result::Result<Instance, ProviderError> {
        let state = HostState::new(self.name.clone(), &self.spec.grants, &self.spec.limits, self.stdout.as_ref());
        let mut store = Store::new(self.host.engine(), state);
        store.limiter(|s| &mut s.limiter);
        self.arm(&mut store)?;
        self.counters.instantiations.fetch_add(1, Ordering::Relaxed);
        self.totals.record_instantiation();
        let bindings = match &self.pre {
            Pre::Guardrail(pre) => pre.instantiate_async(&mut store).await.map(Bindings::Guardrail),
            Pre::Auth(pre) => pre.instantiate_async(&mut store).await.map(Bindings::Auth),
            Pre::Telemetry(pre) => pre.instantiate_async(&mut store).await.map(Bindings::Telemetry),
        };
        match bindings {
            Ok(bindings) => Ok(Instance { store, bindings }),
            Err(e) => {
                let err = self.classify(&e, store.data());
                Err(self.error(FailureKind::Unavailable, format!("instantiation failed: {}", err.message)))
            }
        }
    }

    async fn describe(&self, instance: &mut Instance) -> Result<warden_core::PluginInfo> {
        self.arm(&mut instance.store)
            .map_err(|e| Error::Instantiate { plugin: self.name.to_string(), reason: e.message })?;
        let Instance { store, bindings } = instance;
        let info = match bindings {
            Bindings::Guardrail(b) => b.warden_plugin_lifecycle().call_describe(&mut *store).await,
            Bindings::Auth(b) => b.warden_plugin_lifecycle().call_describe(&mut *store).await,
            Bindings::Telemetry(b) => b.warden_plugin_lifecycle().call_describe(&mut *store).await,
        };
        info.map(convert_info).map_err(|e| Error::Instantiate {
            plugin: self.name.to_string(),
            reason: format!("describe() failed: {}", self.classify(&e, store.data()).message),
        })
    }

    async fn configure(&self, instance: &mut Instance) -> std::result::Result<(), ProviderError> {
        self.arm(&mut instance.store)?;
        let Instance { store, bindings } = instance;
        let json = self.config_json.as_str();
        let result = match bindings {
            Bindings::Guardrail(b) => b.warden_plugin_lifecycle().call_configure(&mut *store, json).await,
            Bindings::Auth(b) => b.warden_plugin_lifecycle().call_configure(&mut *store, json).await,
            Bindings::Telemetry(b) => b.warden_plugin_lifecycle().call_configure(&mut *store, json).await,
        };
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(self.error(FailureKind::Reported, reason)),
            Err(e) => Err(self.classify(&e, store.data())),
        }
    }

    /// Call `shutdown` on every configured instance (each under the per-call limits)
    /// and refuse calls from then on. Returns how many instances failed theirs.
    pub async fn shutdown(&self) -> usize {
        self.permits.close();
        let instances = self.idle.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default();
        let mut failed = 0;
        for mut instance in instances {
            if self.arm(&mut instance.store).is_err() {
                failed += 1;
                continue;
            }
            let Instance { store, bindings } = &mut instance;
            let deadline = Duration::from_millis(self.spec.limits.deadline_ms) + TIMEOUT_GRACE;
            let call = async {
                match bindings {
                    Bindings::Guardrail(b) => b.warden_plugin_lifecycle().call_shutdown(&mut *store).await,
                    Bindings::Auth(b) => b.warden_plugin_lifecycle().call_shutdown(&mut *store).await,
                    Bindings::Telemetry(b) => b.warden_plugin_lifecycle().call_shutdown(&mut *store).await,
                }
            };
            let error = match tokio::time::timeout(deadline, call).await {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => self.classify(&e, store.data()),
                Err(_) => self.error(FailureKind::Deadline, "shutdown did not return in time"),
            };
            failed += 1;
            tracing::warn!(plugin = %self.name, error = %error, "plugin shutdown failed");
        }
        failed
    }

    pub(crate) fn error(&self, kind: FailureKind, message: impl Into<String>) -> ProviderError {
        ProviderError::new(&*self.name, kind, message)
    }

    /// Turn a wasmtime error into the failure it stands for.
    fn classify(&self, e: &wasmtime::Error, state: &HostState) -> ProviderError {
        let limits = &self.spec.limits;
        match state.limiter.hit {
            Some(LimitHit::Memory { desired, limit }) => {
                return self.error(
                    FailureKind::ResourceLimit,
                    format!(
                        "memory limit of {} MiB reached (asked for {} MiB)",
                        limit >> 20,
                        desired.div_ceil(1 << 20)
                    ),
                );
            }
            Some(LimitHit::Table) => return self.error(FailureKind::ResourceLimit, "table size limit reached"),
            None => {}
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => {
                self.error(FailureKind::OutOfFuel, format!("used its budget of {} fuel", limits.fuel))
            }
            Some(Trap::Interrupt) => {
                self.error(FailureKind::Deadline, format!("still running after {} ms", limits.deadline_ms))
            }
            Some(Trap::StackOverflow) => self.error(FailureKind::StackOverflow, "call stack exhausted"),
            Some(trap) => self.error(FailureKind::Trap, trap.to_string()),
            None => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                Some(exit) => self.error(FailureKind::Trap, format!("called exit({})", exit.0)),
                None => self.error(FailureKind::Trap, first_line(&format!("{e:#}"))),
            },
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().chars().take(300).collect()
}

async fn compile(host: &Host, plugin: &str, digest: &[u8; 32], bytes: &[u8]) -> Result<Component> {
    let cache = host.inner.cache.clone();
    if let Some(component) = cache.as_ref().and_then(|c| c.load(host.engine(), digest)) {
        return Ok(component);
    }
    let engine = host.engine().clone();
    let bytes = bytes.to_vec();
    let digest = *digest;
    // Cranelift takes from milliseconds to seconds: keep it off the async workers.
    let compiled = tokio::task::spawn_blocking(move || {
        let component = Component::new(&engine, &bytes)?;
        if let Some(cache) = &cache {
            cache.store(&digest, &component);
        }
        Ok::<_, wasmtime::Error>(component)
    })
    .await;
    match compiled {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(Error::Compile { plugin: plugin.to_string(), reason: first_line(&format!("{e:#}")) }),
        Err(e) => Err(Error::Compile { plugin: plugin.to_string(), reason: format!("compiler task failed: {e}") }),
    }
}

fn link(host: &Host, spec: &PluginSpec, component: &Component) -> Result<Pre> {
    let wrong = |e: wasmtime::Error| Error::WrongWorld {
        plugin: spec.name.clone(),
        expected: spec.kind.world(),
        reason: first_line(&format!("{e:#}")),
    };
    let pre = host.inner.linker.instantiate_pre(component).map_err(wrong)?;
    Ok(match spec.kind {
        PluginKind::Guardrail => Pre::Guardrail(guardrail::GuardrailProviderPre::new(pre).map_err(wrong)?),
        PluginKind::Auth => Pre::Auth(auth::AuthProviderPre::new(pre).map_err(wrong)?),
        PluginKind::Telemetry => Pre::Telemetry(telemetry::TelemetryProviderPre::new(pre).map_err(wrong)?),
    })
}

pub(crate) fn convert_info(i: types::PluginInfo) -> warden_core::PluginInfo {
    use types::{ContentForms, Stages};
    warden_core::PluginInfo {
        name: i.name,
        version: i.version,
        description: i.description,
        stages: warden_core::Stages {
            input: i.stages.contains(Stages::INPUT),
            output: i.stages.contains(Stages::OUTPUT),
            tool: i.stages.contains(Stages::TOOL),
            restore: i.stages.contains(Stages::RESTORE),
        },
        content_forms: warden_core::ContentForms {
            texts: i.content_forms.contains(ContentForms::TEXTS),
            json: i.content_forms.contains(ContentForms::JSON),
        },
        config_schema: i.config_schema,
    }
}
