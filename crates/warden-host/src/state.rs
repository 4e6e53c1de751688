//! What each plugin store holds: its WASI context (built from its grants), resource
//! limits that remember being hit, the outbound-HTTP allow-list, and the `host`
//! interface (logging, budgeted per call).

use crate::bindings::host::{self, Level};
use crate::capabilities::{granted_env, http_host_allowed};
use std::sync::Arc;
use warden_core::{Grants, Limits};
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

/// Lines a plugin may log per call; more are dropped (and counted).
const LOG_LINES_PER_CALL: u32 = 64;
/// Longest log line kept, in bytes.
const LOG_LINE_MAX: usize = 1024;

pub struct HostState {
    pub(crate) plugin: Arc<str>,
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: HttpHooks,
    pub(crate) limiter: Limiter,
    log_budget: u32,
    pub(crate) logs_dropped: u64,
}

impl HostState {
    /// `stdout`: the granted output file, opened once per plugin (see
    /// [`Grants::stdout`]); without it the plugin's output is discarded.
    pub(crate) fn new(
        plugin: Arc<str>,
        grants: &Grants,
        limits: &Limits,
        stdout: Option<&wasmtime_wasi::cli::OutputFile>,
    ) -> HostState {
        let mut builder = WasiCtxBuilder::new();
        builder.envs(&granted_env(grants)).allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
        if let Some(out) = stdout {
            builder.stdout(out.clone());
        }
        let wasi = builder.build();
        let store_limits = StoreLimitsBuilder::new()
            .memory_size((limits.memory_mib as usize) << 20)
            .table_elements(200_000)
            .instances(64)
            .tables(64)
            .memories(16)
            // A refused grow traps at once instead of returning -1, so a runaway
            // allocation ends here and is reported as a limit, not as whatever the
            // guest's allocator does next.
            .trap_on_grow_failure(true)
            .build();
        HostState {
            plugin,
            wasi,
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks: HttpHooks { allowed: grants.http_hosts.clone() },
            limiter: Limiter {
                inner: store_limits,
                memory_limit: (limits.memory_mib as usize) << 20,
                hit: None,
                largest_memory: 0,
            },
            log_budget: LOG_LINES_PER_CALL,
            logs_dropped: 0,
        }
    }

    /// Reset per-call accounting before a call.
    pub(crate) fn begin_call(&mut self) {
        self.log_budget = LOG_LINES_PER_CALL;
        self.limiter.hit = None;
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

impl host::Host for HostState {
    fn log(&mut self, level: Level, mut message: String) {
        if self.log_budget == 0 {
            self.logs_dropped += 1;
            return;
        }
        self.log_budget -= 1;
        if message.len() > LOG_LINE_MAX {
            let mut cut = LOG_LINE_MAX;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        let plugin = &*self.plugin;
        match level {
            Level::Trace => tracing::trace!(target: "warden::plugin", plugin, "{message}"),
            Level::Debug => tracing::debug!(target: "warden::plugin", plugin, "{message}"),
            Level::Info => tracing::info!(target: "warden::plugin", plugin, "{message}"),
            Level::Warn => tracing::warn!(target: "warden::plugin", plugin, "{message}"),
            Level::Error => tracing::error!(target: "warden::plugin", plugin, "{message}"),
        }
    }
}

/// Which resource limit a plugin ran into during the current call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitHit {
    Memory { desired: usize, limit: usize },
    Table,
}

/// [`StoreLimits`] that remember which limit refused a request, so the error
/// reported for the resulting trap names it.
pub(crate) struct Limiter {
    inner: StoreLimits,
    memory_limit: usize,
    pub(crate) hit: Option<LimitHit>,
    /// The largest size any of the instance's memories has grown to (memories
    /// never shrink), so a pooled instance that creeps towards its limit can be
    /// retired before a call fails on it.
    pub(crate) largest_memory: usize,
}

impl Limiter {
    /// Whether the instance has used more than three quarters of its memory limit.
    pub(crate) fn nearly_full(&self) -> bool {
        self.largest_memory > self.memory_limit / 4 * 3
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let result = self.inner.memory_growing(current, desired, maximum);
        if matches!(result, Ok(true)) {
            self.largest_memory = self.largest_memory.max(desired);
        } else {
            self.hit = Some(LimitHit::Memory { desired, limit: self.memory_limit });
        }
        result
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let result = self.inner.table_growing(current, desired, maximum);
        if !matches!(result, Ok(true)) {
            self.hit = Some(LimitHit::Table);
        }
        result
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// Outbound HTTP: only to the granted hosts; everything else is denied before any
/// connection is made.
struct HttpHooks {
    allowed: Vec<String>,
}

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<wasmtime_wasi_http::WasiBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                )>,
            > + Send,
    > {
        let _ = fut;
        let uri = request.uri();
        let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
        let port = uri.port_u16();
        if !http_host_allowed(&self.allowed, &host, port) {
            tracing::warn!(target: "warden::plugin", %host, "plugin HTTP request denied: host not granted");
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as Box<dyn Future<Output = _> + Send>))
        })
    }
}
