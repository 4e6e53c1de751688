//! Smoke test: `warden-bench --quick` against the debug `warden` binary. It checks that the
//! tool works end to end — every call succeeded, every expected row is in the JSON — and
//! nothing about timings (the machines are shared and noisy; numbers belong in
//! BENCHMARKS.md, not in assertions).
//!
//! The gateway binary is a different package's, so `CARGO_BIN_EXE_warden` is not available
//! here. `cargo test --workspace` builds it (crates/warden has integration tests) into the
//! same profile directory as this test's executable (`target/debug/deps/smoke-…` →
//! `target/debug/warden`); `WARDEN_BIN` overrides that.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn warden_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("WARDEN_BIN") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("test executable");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps/<test>");
    profile_dir.join(format!("warden{}", std::env::consts::EXE_SUFFIX))
}

#[test]
fn quick_run_makes_every_call_and_reports_every_row() {
    let warden = warden_binary();
    assert!(
        warden.is_file(),
        "no warden binary at {}: run `cargo test --workspace` (which builds it), or `cargo build -p warden` first, \
         or set WARDEN_BIN",
        warden.display()
    );
    let json = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-smoke-{}.json", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_warden-bench"))
        .arg("--quick")
        .arg("--warden")
        .arg(&warden)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("warden-bench runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "warden-bench --quick failed:\n{stderr}");
    let markdown = String::from_utf8_lossy(&out.stdout);
    assert!(markdown.contains("| full/http | 1 |"), "markdown table missing:\n{markdown}");

    let report: Value = serde_json::from_slice(&std::fs::read(&json).expect("JSON written")).expect("valid JSON");
    let _ = std::fs::remove_file(&json);
    let rows = report["rows"].as_array().expect("rows");
    let has = |config: &str, clients: u64| {
        rows.iter().any(|r| r["config"] == config && r["clients"] == clients && r["payload_bytes"] == 1024)
    };
    // --quick: 1 KiB, 1 and 4 clients; single-plugin configurations at 1 client only.
    for config in ["direct/http", "none/http", "full/http", "none/stdio", "full/stdio"] {
        for clients in [1, 4] {
            assert!(has(config, clients), "no row for {config} at {clients} clients");
        }
    }
    for plugin in ["apikey", "secrets", "pii", "injection", "policy", "tools", "audit"] {
        assert!(has(&format!("{plugin}/http"), 1), "no row for {plugin}/http");
    }
    for r in rows {
        assert_eq!(r["errors"], 0, "a call failed: {r}");
        assert!(r["calls"].as_u64().unwrap_or(0) > 0, "no calls measured: {r}");
        if r["config"] != "direct/http" {
            assert!(r["throughput_ratio"].is_number() && r["added_p50_us"].is_number(), "no comparison: {r}");
        }
    }
    // The full chain's stages and plugins appear in the breakdown from /metrics.
    let full = rows.iter().find(|r| r["config"] == "full/http").expect("full/http row");
    for stage in ["request", "input", "call", "output"] {
        assert!(full["stages_us"][stage].is_number(), "stage {stage} missing: {full}");
    }
    for plugin in ["apikey", "secrets", "pii", "injection", "policy", "audit"] {
        assert!(full["plugins_us"][plugin].is_number(), "plugin {plugin} missing: {full}");
    }
    let cold = &report["cold_start"];
    assert_eq!(cold["empty_cache_first_call_ms"].as_array().map(Vec::len), Some(1), "{cold}");
    assert_eq!(cold["warm_cache_first_call_ms"].as_array().map(Vec::len), Some(1), "{cold}");
    let sessions = &report["sessions"];
    assert_eq!(sessions["opened"], sessions["requested"], "{sessions}");
    assert!(report["gateways"].as_array().is_some_and(|g| g.iter().all(|g| g["rss_idle_kib"].as_u64() > Some(0))));
}
