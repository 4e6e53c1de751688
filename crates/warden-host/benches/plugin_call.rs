//! `plugin_call`: the cost of one guardrail call through the sandbox.
//!
//! - `pooled`: a configured instance from the pool (the default path);
//! - `per_call`: a fresh instance per call (`isolation = "per-call"`): instantiate,
//!   configure, call;
//! - `instantiate`: creating (and dropping) an unconfigured instance alone.
//!
//! The plugin is guard-keyword built from source (warden-fixtures); the payload is
//! one short string. Run with `cargo bench -p warden-host --bench plugin_call`.

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use std::sync::Arc;
use warden_core::{CallContext, Content, Guardrail, Isolation, PluginKind, PluginSpec, Source, Stage};
use warden_host::providers::WasmGuardrail;
use warden_host::{Host, Plugin, SandboxConfig};

fn load(rt: &tokio::runtime::Runtime, host: &Host, isolation: Isolation) -> Arc<Plugin> {
    let mut spec = PluginSpec::new("keyword", PluginKind::Guardrail, Source::Builtin("keyword".into()));
    spec.config = json!({"words": ["ignore previous instructions", "rm -rf /"]});
    spec.isolation = isolation;
    let bytes = std::fs::read(warden_fixtures::GUARD_KEYWORD).expect("fixture built");
    Arc::new(rt.block_on(Plugin::load(host, &spec, &bytes)).expect("plugin loads"))
}

fn plugin_call(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let cache = std::env::temp_dir().join("warden-bench-cache");
    let host = Host::new(SandboxConfig { cache_dir: Some(cache), ..SandboxConfig::default() }).expect("host");
    let pooled = load(&rt, &host, Isolation::Pooled);
    let per_call = load(&rt, &host, Isolation::PerCall);
    let ctx = CallContext { request_id: "bench".into(), server: "s".into(), tool: "t".into(), ..Default::default() };
    let content = Content::from_texts(["please summarise the quarterly report for the team"]);

    let mut group = c.benchmark_group("plugin_call");
    let g = WasmGuardrail(pooled.clone());
    group.bench_function("pooled", |b| {
        b.to_async(&rt).iter(|| async { g.check(Stage::Input, &ctx, &content).await.expect("allowed") })
    });
    let g = WasmGuardrail(per_call);
    group.bench_function("per_call", |b| {
        b.to_async(&rt).iter(|| async { g.check(Stage::Input, &ctx, &content).await.expect("allowed") })
    });
    group.bench_function("instantiate", |b| {
        b.to_async(&rt).iter(|| async { pooled.probe_instantiation().await.expect("instantiates") })
    });
    group.finish();
}

criterion_group!(benches, plugin_call);
criterion_main!(benches);
