//! `guardrails`: µs per check of each default guardrail inside the sandbox, on a
//! 1 KiB and a 64 KiB payload of ordinary text (prose with numbers, dates, URLs,
//! an e-mail address and code: the detectors have work to do but nothing to block).
//! Pooled instances, the default path. Run with
//! `cargo bench -p warden-host --bench guardrails`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::sync::Arc;
use warden_core::{CallContext, Content, ContentForms, Guardrail, PluginKind, PluginSpec, Source, Stage};
use warden_host::providers::WasmGuardrail;
use warden_host::{Host, Plugin, SandboxConfig};

/// Realistic filler: the same sentences a tool result might hold, repeated to `len`.
fn payload(len: usize) -> String {
    const SENTENCES: &[&str] = &[
        "The quarterly report shows revenue of $4.2M, up 3.1% from Q2 2026. ",
        "Contact the billing team at billing@example.com before 2026-12-01. ",
        "See https://docs.example.com/guides/setup?lang=en for the setup guide, version 1.4.2. ",
        "fn main() { let total: u64 = items.iter().map(|i| i.price).sum(); println!(\"{total}\"); } ",
        "Order 7731-2290 shipped on 12/11/2026 to Berlin; tracking id 1Z999AA10123456784. ",
        "The meeting notes mention the new system prompt guidelines for the support assistant. ",
        "Build 5f3c9a1 passed 1,204 tests in 38.6 s on runner ubuntu-24.04. ",
    ];
    let mut s = String::with_capacity(len + 128);
    let mut i = 0;
    while s.len() < len {
        s.push_str(SENTENCES[i % SENTENCES.len()]);
        i += 1;
    }
    s.truncate(len);
    s
}

fn guardrails(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let cache = std::env::temp_dir().join("warden-bench-cache");
    let host = Host::new(SandboxConfig { cache_dir: Some(cache), ..SandboxConfig::default() }).expect("host");
    let policy = json!({"rules": [{"deny_keywords": ["drop table", "rm -rf /"],
        "deny_patterns": ["(?i)\\bdelete\\s+from\\b"], "max_string_bytes": 1048576}]});
    let plugins: &[(&str, &str, Stage, Value)] = &[
        ("guard-keyword", warden_fixtures::GUARD_KEYWORD, Stage::Input, json!({"words": ["rm -rf /"]})),
        ("guard-pii", warden_fixtures::GUARD_PII, Stage::Input, json!({})),
        ("guard-secrets", warden_fixtures::GUARD_SECRETS, Stage::Input, json!({})),
        ("guard-injection", warden_fixtures::GUARD_INJECTION, Stage::Output, json!({})),
        ("guard-policy", warden_fixtures::GUARD_POLICY, Stage::Input, policy),
        ("guard-tools", warden_fixtures::GUARD_TOOLS, Stage::Tool, json!({})),
        ("guard-threats", warden_fixtures::GUARD_THREATS, Stage::Input, json!({})),
    ];
    let ctx = CallContext { request_id: "bench".into(), server: "s".into(), tool: "t".into(), ..Default::default() };
    let mut group = c.benchmark_group("guardrails");
    for &(name, path, stage, ref config) in plugins {
        let mut spec = PluginSpec::new(name, PluginKind::Guardrail, Source::Builtin(name.into()));
        spec.config = config.clone();
        let bytes = std::fs::read(path).expect("plugin built");
        let plugin = Arc::new(rt.block_on(Plugin::load(&host, &spec, &bytes)).expect("plugin loads"));
        let g = WasmGuardrail(plugin);
        for size in [1024, 64 * 1024] {
            let text = payload(size);
            let value = match stage {
                Stage::Tool => json!({"name": "report", "description": text, "inputSchema": {"type": "object"}}),
                _ => json!({"text": text}),
            };
            let content = Content::from_value(&value, ContentForms { texts: true, json: true });
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_with_input(BenchmarkId::new(name, format!("{}KiB", size / 1024)), &content, |b, content| {
                b.to_async(&rt).iter(|| async { g.check(stage, &ctx, content).await.expect("checked") })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, guardrails);
criterion_main!(benches);
