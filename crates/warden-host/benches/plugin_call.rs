//! `plugin_call`: the cost of one guardrail call through the sandbox.
//!
//! - `pooled`: a configured instance from the pool (the default path);
//! - `per_call`: a fresh instance per call (`isolation = "per-call"`): instantiate,
//!   configure, call;
//! - `instantiate`: creating (and dropping) an unconfigured instance alone.
//!
//! The plugin is guard-keyword built from source (warden-fixtures); the payload is
//! one short string. Run with `cargo bench -p warden-host --bench plugin_call`.
//!
//! `python_*` and `javascript_*`: the same three on the word-list guardrail of the
//! Python and JavaScript templates (same config, same payload), when their built
//! components are in `$WARDEN_BENCH_PLUGINS` (default `target/bench-plugins`) as
//! `python-guardrail.wasm` and `javascript-guardrail.wasm`; skipped with a message
//! otherwise. Build them with (componentize-py / componentize-js are installed once):
//!
//! ```sh
//! for lang in python javascript; do
//!   cargo run -p warden -- plugin new --lang $lang --world guardrail $lang-guardrail --dir target/bench-plugins/$lang-guardrail
//!   cargo run -p warden -- plugin build target/bench-plugins/$lang-guardrail --out target/bench-plugins/$lang-guardrail.wasm
//! done
//! ```

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use std::sync::Arc;
use warden_core::{CallContext, Content, Guardrail, Isolation, PluginKind, PluginSpec, Source, Stage};
use warden_host::providers::WasmGuardrail;
use warden_host::{Host, Plugin, SandboxConfig};

fn load(rt: &tokio::runtime::Runtime, host: &Host, isolation: Isolation) -> Arc<Plugin> {
    let bytes = std::fs::read(warden_fixtures::GUARD_KEYWORD).expect("fixture built");
    load_bytes(rt, host, isolation, &bytes)
}

fn load_bytes(rt: &tokio::runtime::Runtime, host: &Host, isolation: Isolation, bytes: &[u8]) -> Arc<Plugin> {
    let mut spec = PluginSpec::new("keyword", PluginKind::Guardrail, Source::Builtin("keyword".into()));
    spec.config = json!({"words": ["ignore previous instructions", "rm -rf /"]});
    spec.isolation = isolation;
    // componentize-js 0.23 components leak a few hundred bytes of guest memory per
    // call (upstream ComponentizeJS#350): at the default 64 MiB a pooled instance
    // fails after ~100k calls, fewer than a benchmark makes. Room for millions.
    spec.limits.memory_mib = 512;
    Arc::new(rt.block_on(Plugin::load(host, &spec, bytes)).expect("plugin loads"))
}

/// The built Python or JavaScript template guardrail, if present.
fn lang_component(lang: &str) -> Option<Vec<u8>> {
    let dir = std::env::var_os("WARDEN_BENCH_PLUGINS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-plugins"));
    let path = dir.join(format!("{lang}-guardrail.wasm"));
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            eprintln!("plugin_call: {lang}_* skipped: no {} (see this bench's doc to build it)", path.display());
            None
        }
    }
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
    for lang in ["python", "javascript"] {
        let Some(bytes) = lang_component(lang) else { continue };
        // The first load compiles (seconds) and caches; the second loads precompiled.
        let pooled = load_bytes(&rt, &host, Isolation::Pooled, &bytes);
        let g = WasmGuardrail(pooled.clone());
        group.bench_function(format!("{lang}_pooled"), |b| {
            b.to_async(&rt).iter(|| async { g.check(Stage::Input, &ctx, &content).await.expect("allowed") })
        });
        let g = WasmGuardrail(load_bytes(&rt, &host, Isolation::PerCall, &bytes));
        group.bench_function(format!("{lang}_per_call"), |b| {
            b.to_async(&rt).iter(|| async { g.check(Stage::Input, &ctx, &content).await.expect("allowed") })
        });
        group.bench_function(format!("{lang}_instantiate"), |b| {
            b.to_async(&rt).iter(|| async { pooled.probe_instantiation().await.expect("instantiates") })
        });
    }
    group.finish();
}

criterion_group!(benches, plugin_call);
criterion_main!(benches);
