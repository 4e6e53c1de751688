//! The sandbox against real hostile components (tests/fixtures/hostile, built from
//! source by warden-fixtures). Each `hostile_*` test checks that the attack is
//! stopped with the right failure kind, that the failure mode decided the outcome,
//! and that the next call on the same plugin succeeds on a fresh instance.

use serde_json::json;
use std::sync::{Arc, OnceLock};
use warden_core::chain::{ChainEntry, PLUGIN_FAILURE};
use warden_core::{
    Action, CallContext, Content, FailureKind, FailureMode, Guardrail, GuardrailChain, Isolation, PluginKind,
    PluginSpec, Source, Stage, Verdict,
};
use warden_fixtures as fx;
use warden_host::providers::WasmGuardrail;
use warden_host::{Error, Host, Plugin, SandboxConfig};

fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache");
        Host::new(SandboxConfig { cache_dir: Some(cache), ..SandboxConfig::default() }).expect("host starts")
    })
}

fn spec(name: &str) -> PluginSpec {
    PluginSpec::new(name, PluginKind::Guardrail, Source::Builtin(name.into()))
}

async fn load(path: &str, spec: &PluginSpec) -> warden_host::Result<Arc<Plugin>> {
    let bytes = std::fs::read(path).expect("fixture built");
    Plugin::load(host(), spec, &bytes).await.map(Arc::new)
}

fn ctx() -> CallContext {
    CallContext { request_id: "r1".into(), server: "srv".into(), tool: "tool".into(), ..Default::default() }
}

/// The attack is contained: the chain outcome follows the failure mode, the error
/// names the expected kind, and the next benign call gets a fresh, working instance.
async fn assert_contained(plugin: Arc<Plugin>, mode: FailureMode, expected: FailureKind) -> String {
    let chain = GuardrailChain::new(vec![ChainEntry {
        guardrail: Arc::new(WasmGuardrail(plugin.clone())),
        failure_mode: mode,
    }]);
    let before = plugin.stats();
    let out = chain.run(Stage::Input, &ctx(), json!({"q": "attack"})).await;
    let error = out.steps[0].error.clone().expect("the attack failed the plugin");
    assert_eq!(error.kind, expected, "{error}");
    let expected_action = if mode == FailureMode::FailClosed { Action::Block } else { Action::Warn };
    assert_eq!(out.action, expected_action);
    assert_eq!(out.findings[0].detector, PLUGIN_FAILURE);

    let out = chain.run(Stage::Input, &ctx(), json!({"q": "hello"})).await;
    assert_eq!(out.action, Action::Allow, "next call works: {:?}", out.steps);
    let after = plugin.stats();
    assert_eq!(after.failures, before.failures + 1);
    assert_eq!(after.instantiations, before.instantiations + 1, "the failed instance was replaced");
    assert_eq!(after.idle, 1, "the fresh instance went back to the pool");
    error.message
}

#[tokio::test]
async fn hostile_infinite_loop_is_stopped_by_fuel() {
    let mut s = spec("hostile-loop");
    s.limits.fuel = 20_000_000;
    s.limits.deadline_ms = 60_000;
    let p = load(fx::HOSTILE_LOOP, &s).await.expect("loads");
    let msg = assert_contained(p, FailureMode::FailClosed, FailureKind::OutOfFuel).await;
    assert!(msg.contains("20000000"), "{msg}");
}

#[tokio::test]
async fn hostile_host_call_spin_is_stopped_by_epoch_deadline() {
    let mut s = spec("hostile-spin");
    s.limits.fuel = u64::MAX / 2;
    s.limits.deadline_ms = 100;
    let p = load(fx::HOSTILE_SPIN, &s).await.expect("loads");
    let msg = assert_contained(p, FailureMode::FailClosed, FailureKind::Deadline).await;
    assert!(msg.contains("still running after 100 ms"), "stopped by the epoch, not the host timeout: {msg}");
}

#[tokio::test]
async fn hostile_long_computation_under_small_fuel_is_stopped_by_epoch_deadline() {
    // Plenty of fuel for a guardrail, far too little time for this loop.
    let mut s = spec("hostile-loop");
    s.limits.fuel = 50_000_000_000;
    s.limits.deadline_ms = 50;
    let p = load(fx::HOSTILE_LOOP, &s).await.expect("loads");
    let msg = assert_contained(p, FailureMode::FailClosed, FailureKind::Deadline).await;
    assert!(msg.contains("still running"), "{msg}");
}

#[tokio::test]
async fn hostile_sleep_in_host_call_is_stopped_by_timeout() {
    let mut s = spec("hostile-sleep");
    s.limits.deadline_ms = 100;
    let p = load(fx::HOSTILE_SLEEP, &s).await.expect("loads");
    let msg = assert_contained(p, FailureMode::FailClosed, FailureKind::Deadline).await;
    assert!(msg.contains("blocked in a host call"), "{msg}");
}

#[tokio::test]
async fn hostile_memory_bomb_is_denied_by_store_limits() {
    let mut s = spec("hostile-memory");
    s.limits.memory_mib = 16;
    let p = load(fx::HOSTILE_MEMORY, &s).await.expect("loads");
    let msg = assert_contained(p, FailureMode::FailClosed, FailureKind::ResourceLimit).await;
    assert!(msg.contains("memory limit of 16 MiB"), "{msg}");
}

#[tokio::test]
async fn a_pooled_instance_that_leaks_is_retired_before_a_call_fails() {
    let mut s = spec("hostile-leak");
    s.limits.memory_mib = 16;
    s.limits.max_instances = 1;
    let p = load(fx::HOSTILE_LEAK, &s).await.expect("loads");
    let g = WasmGuardrail(p.clone());
    // 1 MiB leaked per call: without retirement the 16 MiB limit is hit within 16 calls.
    for i in 0..40 {
        let v = g.check(Stage::Input, &ctx(), &Content::from_texts(["attack"])).await;
        assert_eq!(v.map(|v| v.action()), Ok(Action::Allow), "call {i}");
    }
    let stats = p.stats();
    assert_eq!(stats.failures, 0, "{stats:?}");
    assert!(stats.instantiations >= 3, "instances were retired and replaced: {stats:?}");
    let metrics = host().plugin_metrics();
    let m = metrics.iter().find(|m| m.plugin == "hostile-leak").expect("metrics");
    assert!(m.retirements >= 2 && m.failures.is_empty(), "{m:?}");
}

#[tokio::test]
async fn hostile_unbounded_recursion_overflows_the_stack() {
    let p = load(fx::HOSTILE_RECURSION, &spec("hostile-recursion")).await.expect("loads");
    assert_contained(p, FailureMode::FailClosed, FailureKind::StackOverflow).await;
}

#[tokio::test]
async fn hostile_panic_traps_and_fail_open_only_warns() {
    let p = load(fx::HOSTILE_TRAP, &spec("hostile-trap")).await.expect("loads");
    assert_contained(p.clone(), FailureMode::FailClosed, FailureKind::Trap).await;
    assert_contained(p, FailureMode::FailOpen, FailureKind::Trap).await;
}

#[tokio::test]
async fn hostile_huge_output_is_rejected_by_the_size_cap() {
    let mut s = spec("hostile-output");
    s.limits.max_output_kib = 1024;
    let p = load(fx::HOSTILE_OUTPUT, &s).await.expect("loads");
    let g = WasmGuardrail(p.clone());
    let err = g.check(Stage::Input, &ctx(), &Content::from_texts(["attack"])).await.expect_err("too large");
    assert_eq!(err.kind, FailureKind::OutputTooLarge, "{err}");
    assert!(err.message.contains("1024 KiB allowed"), "{err}");
    let ok = g.check(Stage::Input, &ctx(), &Content::from_texts(["hello"])).await;
    assert_eq!(ok, Ok(Verdict::Allow));
}

#[tokio::test]
async fn hostile_filesystem_import_is_refused_at_load() {
    // Even with every grant there is: filesystem access is never granted.
    let mut s = spec("hostile-fs");
    s.grants.wall_clock = true;
    s.grants.http_hosts = vec!["example.com".into()];
    match load(fx::HOSTILE_FS, &s).await {
        Err(e @ Error::ForbiddenImport { .. }) => {
            let Error::ForbiddenImport { imports, .. } = &e else { unreachable!() };
            assert!(imports.iter().all(|i| i.starts_with("wasi:filesystem/")), "{imports:?}");
            assert!(e.to_string().contains("plugins never get filesystem access"), "{e}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a filesystem-importing plugin loaded"),
    }
}

#[tokio::test]
async fn hostile_socket_import_is_refused_at_load() {
    let err = load(fx::HOSTILE_NET, &spec("hostile-net")).await.err().expect("refused");
    let text = err.to_string();
    let Error::ForbiddenImport { imports, .. } = &err else { panic!("wrong error: {text}") };
    assert!(imports.iter().any(|i| i.starts_with("wasi:sockets/tcp")), "{imports:?}");
    assert!(text.contains("plugins never get sockets"), "{text}");
}

#[tokio::test]
async fn hostile_env_reader_sees_only_granted_variables() {
    // SAFETY of set_var: this is the only test touching these variables, and the
    // plugin host reads the environment only while building a store.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("WARDEN_TEST_GRANTED", "visible");
        std::env::set_var("WARDEN_TEST_SECRET", "must-not-leak");
    }
    let seen = |v: Verdict| -> Vec<String> { v.findings().iter().map(|f| f.message.clone()).collect() };
    let input = Content::from_texts(["attack"]);

    let p = load(fx::HOSTILE_ENV, &spec("hostile-env")).await.expect("loads");
    let v = WasmGuardrail(p).check(Stage::Input, &ctx(), &input).await.expect("runs");
    assert_eq!(seen(v), Vec::<String>::new(), "no grant, no environment");

    let mut s = spec("hostile-env");
    s.grants.env = vec!["WARDEN_TEST_GRANTED".into(), "WARDEN_TEST_UNSET".into()];
    let p = load(fx::HOSTILE_ENV, &s).await.expect("loads");
    let v = WasmGuardrail(p).check(Stage::Input, &ctx(), &input).await.expect("runs");
    assert_eq!(seen(v), ["WARDEN_TEST_GRANTED=visible"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_through_one_pooled_plugin_are_all_correct() {
    let mut s = spec("guard-keyword");
    s.config = json!({"words": ["forbidden"]});
    s.limits.max_instances = 8;
    let g = WasmGuardrail(load(fx::GUARD_KEYWORD, &s).await.expect("loads"));
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let g = g.clone();
            tokio::spawn(async move {
                let text = if i % 2 == 0 { format!("call {i} is FORBIDDEN") } else { format!("call {i} is fine") };
                let v = g.check(Stage::Input, &ctx(), &Content::from_texts([text])).await.expect("no failure");
                (i, v)
            })
        })
        .collect();
    for t in tasks {
        let (i, v) = t.await.expect("task ran");
        if i % 2 == 0 {
            let Verdict::Block(f) = &v else { panic!("call {i}: {v:?}") };
            let span = f[0].span.expect("span");
            let text = format!("call {i} is FORBIDDEN");
            assert_eq!(&text[span.start as usize..span.end as usize], "FORBIDDEN");
        } else {
            assert_eq!(v, Verdict::Allow, "call {i}");
        }
    }
    let stats = g.0.stats();
    assert_eq!(stats.calls, 64);
    assert_eq!(stats.failures, 0);
    assert!(stats.instantiations <= 8, "pool bounded by max_instances: {stats:?}");
}

#[tokio::test]
async fn per_call_isolation_uses_a_fresh_instance_every_time() {
    let mut s = spec("guard-keyword");
    s.config = json!({"words": ["x"], "action": "warn"});
    s.isolation = Isolation::PerCall;
    let p = load(fx::GUARD_KEYWORD, &s).await.expect("loads");
    let g = WasmGuardrail(p.clone());
    for _ in 0..3 {
        let v = g.check(Stage::Output, &ctx(), &Content::from_texts(["x marks"])).await.expect("runs");
        assert_eq!(v.action(), Action::Warn);
    }
    let stats = p.stats();
    assert_eq!((stats.instantiations, stats.idle), (4, 0), "{stats:?}");
}

#[tokio::test]
async fn invalid_config_is_refused_at_load_with_the_plugins_reason() {
    let mut s = spec("guard-keyword");
    s.config = json!({"words": "not a list"});
    match load(fx::GUARD_KEYWORD, &s).await {
        Err(Error::Configure { reason, .. }) => assert!(reason.contains("invalid config"), "{reason}"),
        other => panic!("expected a configure error, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn a_component_of_another_world_is_refused() {
    let s = PluginSpec::new("kw", PluginKind::Auth, Source::Builtin("kw".into()));
    let err = load(fx::GUARD_KEYWORD, &s).await.err().expect("refused");
    assert!(matches!(err, Error::WrongWorld { expected: "auth-provider", .. }), "{err}");
}

#[tokio::test]
async fn plugin_describes_itself() {
    let mut s = spec("guard-keyword");
    s.config = json!({"words": ["x"]});
    let p = load(fx::GUARD_KEYWORD, &s).await.expect("loads");
    let info = p.info();
    assert_eq!(info.name, "guard-keyword");
    assert!(info.stages.input && info.stages.output && info.stages.tool && !info.stages.restore);
    assert!(info.content_forms.texts && !info.content_forms.json);
    assert!(info.config_schema.as_deref().is_some_and(|s| s.contains("\"words\"")));
}

#[tokio::test]
async fn compiled_components_are_cached_on_disk() {
    let mut s = spec("guard-keyword");
    s.config = json!({"words": ["x"]});
    let p = load(fx::GUARD_KEYWORD, &s).await.expect("loads");
    let dir = host().cache_dir().expect("cache in use");
    let prefix = hex::encode(p.digest());
    let cached = std::fs::read_dir(dir)
        .expect("cache dir")
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().starts_with(&prefix));
    assert!(cached, "no {prefix}-*.cwasm in {}", dir.display());
    // Loading again uses the cached code and behaves the same.
    let again = load(fx::GUARD_KEYWORD, &s).await.expect("loads from cache");
    assert_eq!(again.info(), p.info());
}

/// A tiny HTTP server answering 200 to every request, counting connections.
async fn http_server() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
            });
        }
    });
    (port, hits)
}

#[tokio::test]
async fn http_is_refused_without_a_grant_and_limited_to_granted_hosts() {
    let err = load(fx::HOSTILE_HTTP, &spec("hostile-http")).await.err().expect("refused without a grant");
    assert!(err.to_string().contains("wasi:http/outgoing-handler"), "{err}");
    assert!(err.to_string().contains("grants.http_hosts"), "{err}");

    let (allowed_port, allowed_hits) = http_server().await;
    let (other_port, other_hits) = http_server().await;
    let mut s = spec("hostile-http");
    s.grants.http_hosts = vec![format!("127.0.0.1:{allowed_port}")];
    let g = WasmGuardrail(load(fx::HOSTILE_HTTP, &s).await.expect("loads with the grant"));
    let urls = [format!("http://127.0.0.1:{allowed_port}/x"), format!("http://127.0.0.1:{other_port}/x")];
    let v = g.check(Stage::Input, &ctx(), &Content::from_texts(urls)).await.expect("runs");
    let seen: Vec<_> = v.findings().iter().map(|f| f.message.as_str()).collect();
    assert_eq!(seen[0], "status=200");
    assert!(seen[1].starts_with("error=") && seen[1].contains("HttpRequestDenied"), "{seen:?}");
    assert_eq!(allowed_hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(other_hits.load(std::sync::atomic::Ordering::SeqCst), 0, "a denied host is never contacted");
}

#[tokio::test]
async fn auth_apikey_checks_hashes_expiry_and_disabled_keys() {
    use sha2::{Digest, Sha256};
    use warden_core::{AuthError, AuthProvider, AuthRequest, Transport};
    let hash = |k: &str| hex::encode(Sha256::digest(k.as_bytes()));
    let mut s = PluginSpec::new("apikey", PluginKind::Auth, Source::Builtin("apikey".into()));
    s.config = json!({"keys": [
        {"id": "alice", "sha256": hash("key-alice"), "project": "red", "scopes": ["tools:call"]},
        {"id": "old", "sha256": hash("key-old"), "expires_at": 1000},
        {"id": "off", "sha256": hash("key-off"), "disabled": true},
    ]});
    let auth = warden_host::providers::WasmAuth(load(fx::AUTH_APIKEY, &s).await.expect("loads"));
    let req = |headers: &[(&str, &str)]| AuthRequest {
        transport: Transport::Http,
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        client_info: None,
        now_unix: 2000,
    };
    let alice = auth.authenticate(&req(&[("authorization", "Bearer key-alice")])).await.expect("accepted");
    assert_eq!((alice.id.as_str(), alice.project.as_deref()), ("alice", Some("red")));
    assert_eq!(auth.authenticate(&req(&[("x-api-key", "key-alice")])).await.map(|p| p.id), Ok("alice".into()));
    assert_eq!(auth.authenticate(&req(&[])).await, Err(AuthError::NoCredentials));
    assert_eq!(
        auth.authenticate(&req(&[("authorization", "Basic a2V5LWFsaWNl")])).await,
        Err(AuthError::NoCredentials)
    );
    assert_eq!(
        auth.authenticate(&req(&[("authorization", "Bearer ")])).await,
        Err(AuthError::Rejected("empty API key".into()))
    );
    for (key, reason) in [("key-wrong", "unknown API key"), ("key-old", "expired"), ("key-off", "disabled")] {
        match auth.authenticate(&req(&[("authorization", &format!("Bearer {key}"))])).await {
            Err(AuthError::Rejected(r)) => {
                assert!(r.contains(reason), "{key}: {r}");
                assert!(!r.contains(key), "the reason never repeats the key");
            }
            other => panic!("{key}: {other:?}"),
        }
    }
    // A config with a malformed hash is refused at load.
    s.config = json!({"keys": [{"id": "x", "sha256": "nothex"}]});
    assert!(matches!(load(fx::AUTH_APIKEY, &s).await, Err(Error::Configure { .. })));
}

#[tokio::test]
async fn shutdown_reaches_every_instance_and_later_calls_are_refused() {
    use sha2::{Digest, Sha256};
    use warden_core::{AuthProvider, AuthRequest, Transport};
    let mut s = PluginSpec::new("apikey-stop", PluginKind::Auth, Source::Builtin("apikey".into()));
    s.config = json!({"keys": [{"id": "alice", "sha256": hex::encode(Sha256::digest(b"key-alice"))}]});
    let plugin = load(fx::AUTH_APIKEY, &s).await.expect("loads");
    let auth = warden_host::providers::WasmAuth(plugin.clone());
    let req = AuthRequest {
        transport: Transport::Http,
        headers: vec![("authorization".into(), "Bearer key-alice".into())],
        client_info: None,
        now_unix: 2000,
    };
    assert!(auth.authenticate(&req).await.is_ok());
    assert!(plugin.stats().idle >= 1, "a configured instance waits in the pool");
    assert_eq!(plugin.shutdown().await, 0, "every instance's shutdown returned");
    assert_eq!(plugin.stats().idle, 0, "the pool is empty after shutdown");
    assert!(auth.authenticate(&req).await.is_err(), "no call is served after shutdown");
}
