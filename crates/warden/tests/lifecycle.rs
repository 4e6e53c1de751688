//! The gateway process's lifecycle, end to end with the real binary: a reload
//! (`SIGHUP`, `warden reload`) that builds the new config before switching and keeps
//! the old one on error, and a shutdown (`SIGTERM`) that lets running calls finish,
//! refuses new ones, exports queued audit events, stops the upstreams and calls
//! every plugin's `shutdown`.

mod common;

use common::{Started, children, spawn_gateway};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A gateway on a config file the test rewrites; killed on drop.
struct Gateway {
    child: Child,
    url: String,
    log: Arc<Mutex<Vec<String>>>,
    config: PathBuf,
    state: PathBuf,
}

impl Gateway {
    fn start(name: &str, config: &str) -> Gateway {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("lifecycle-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("test dir");
        let path = dir.join("warden.toml");
        std::fs::write(&path, config).expect("write config");
        let state = dir.join("state");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&path)
            .env("XDG_CACHE_HOME", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-cache"))
            .env("XDG_STATE_HOME", &state)
            .env("RUST_LOG", "info,rmcp=warn")
            .env_remove("WARDEN_CONFIG")
            .env_remove("WARDEN_API_KEY");
        let Started { child, url, log } =
            spawn_gateway(cmd, Duration::from_secs(60)).unwrap_or_else(|log| panic!("gateway did not start:\n{log}"));
        Gateway { child, url, log, config: path, state }
    }

    async fn client(&self) -> RunningService<RoleClient, ()> {
        warden_mcp::install_tls_provider();
        ().serve(StreamableHttpClientTransport::from_uri(self.url.clone())).await.expect("client connects")
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill").args([signal, &self.child.id().to_string()]).status().expect("kill");
        assert!(status.success());
    }

    fn log_count(&self, needle: &str) -> usize {
        self.log.lock().expect("log").iter().filter(|l| l.contains(needle)).count()
    }

    /// Wait (bounded) until the log holds `n` lines containing `needle`.
    fn wait_log(&self, needle: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.log_count(needle) < n {
            assert!(Instant::now() < deadline, "no {n}× {needle:?} in the log:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_text(&self) -> String {
        self.log.lock().expect("log").join("\n")
    }

    /// `warden reload` for this gateway, with `config`; (exit code, stdout + stderr).
    fn reload_command(&self, config: &Path, by_pid: bool) -> (i32, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
        cmd.args(["reload", "--config"]).arg(config).env("XDG_STATE_HOME", &self.state);
        if by_pid {
            cmd.args(["--pid", &self.child.id().to_string()]);
        } else {
            let port = self.url.rsplit(':').next().and_then(|p| p.split('/').next()).expect("port");
            cmd.args(["--port", port]);
        }
        let out = cmd.env("XDG_CACHE_HOME", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-cache")).output();
        let out = out.expect("warden reload runs");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.code().unwrap_or(-1), text)
    }

    /// Wait (bounded) for the process to exit; its exit code.
    fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(Instant::now() < deadline, "the gateway did not exit:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server(name: &str, faults: bool) -> String {
    let args = if faults { r#"["demo-server", "--faults"]"# } else { r#"["demo-server"]"# };
    format!("[[servers]]\nname = \"{name}\"\ncommand = \"${{WARDEN_EXE}}\"\nargs = {args}\n")
}

async fn call(client: &RunningService<RoleClient, ()>, tool: &str, args: Value) -> Result<CallToolResult, String> {
    let Value::Object(args) = args else { panic!("arguments must be an object") };
    let params = CallToolRequestParams::new(tool.to_string()).with_arguments(args);
    client.peer().call_tool(params).await.map_err(|e| e.to_string())
}

fn text(r: &CallToolResult) -> String {
    r.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.clone()).collect()
}

async fn tool_names(client: &RunningService<RoleClient, ()>) -> Vec<String> {
    let tools = client.peer().list_all_tools().await.expect("tools/list");
    tools.into_iter().map(|t| t.name.to_string()).collect()
}

/// A process's state letter (`Z` zombie), `None` once it is gone.
fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].split_whitespace().next()?.chars().next()
}

#[tokio::test]
async fn a_reload_applies_to_open_sessions_and_a_bad_config_changes_nothing() {
    let gw = Gateway::start("reload", &server("alpha", false));
    let pid = gw.child.id();
    let client = gw.client().await;
    assert!(tool_names(&client).await.contains(&"alpha__echo".to_string()));
    let first = children(pid);
    assert_eq!(first.len(), 1, "one upstream: {first:?}");

    // A new config: the open session sees the new upstream on its next request,
    // without reconnecting, and the replaced upstream's process ends.
    let next = gw.config.with_file_name("next.toml");
    std::fs::write(&next, server("beta", false)).expect("write");
    std::fs::copy(&next, &gw.config).expect("replace config");
    let (code, out) = gw.reload_command(&next, false);
    assert_eq!(code, 0, "{out}");
    gw.wait_log("configuration reloaded", 1);
    let names = tool_names(&client).await;
    assert!(names.contains(&"beta__echo".to_string()) && !names.iter().any(|n| n.starts_with("alpha__")), "{names:?}");
    let r = call(&client, "beta__echo", json!({"message": "after reload"})).await.expect("call");
    assert_eq!(text(&r), "after reload");
    let deadline = Instant::now() + Duration::from_secs(30);
    while state(first[0].0).is_some_and(|s| s != 'Z') || children(pid).len() != 1 {
        assert!(Instant::now() < deadline, "old upstream still running: {:?}", children(pid));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A broken config is refused by `warden reload` (exit 1, nothing signalled)...
    std::fs::write(&gw.config, "[gateway]\nlisten = 7\n").expect("write");
    let (code, out) = gw.reload_command(&gw.config, true);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not reloaded"), "{out}");
    // ...and by the gateway itself on a bare SIGHUP: the old config stays in force.
    gw.signal("-HUP");
    gw.wait_log("configuration not reloaded", 1);
    let r = call(&client, "beta__echo", json!({"message": "still served"})).await.expect("call");
    assert_eq!(text(&r), "still served");
    // A plugin that cannot load is caught before the switch too.
    std::fs::write(
        &gw.config,
        format!(
            "{}[gateway]\ninput = [\"missing\"]\n[[plugins]]\nname = \"missing\"\nkind = \"guardrail\"\nsource = \"builtin:no-such-plugin\"\n",
            server("gamma", false)
        ),
    )
    .expect("write");
    gw.signal("-HUP");
    gw.wait_log("configuration not reloaded", 2);
    assert!(tool_names(&client).await.contains(&"beta__echo".to_string()));
    assert_eq!(gw.log_count("configuration reloaded"), 1, "{}", gw.log_text());
    client.cancel().await.expect("client closes");
}

// Multi-threaded: the running call's task must progress while the test blocks on the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_running_calls_finish_refuses_new_ones_and_stops_the_upstreams() {
    let audit =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("lifecycle-audit-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&audit);
    let config = format!(
        "{}[gateway]\ntelemetry = [\"audit\"]\n[[plugins]]\nname = \"audit\"\nkind = \"telemetry\"\nsource = \"builtin:telemetry-audit\"\ngrants = {{ stdout = {:?} }}\n",
        server("demo", true),
        audit.display().to_string()
    );
    let mut gw = Gateway::start("term", &config);
    let pid = gw.child.id();
    let client = Arc::new(gw.client().await);
    assert_eq!(text(&call(&client, "demo__echo", json!({"message": "up"})).await.expect("call")), "up");
    let upstream = children(pid);
    assert_eq!(upstream.len(), 1, "{upstream:?}");

    // A call is running when the signal arrives...
    let running = {
        let client = client.clone();
        tokio::spawn(async move { call(&client, "demo__slow", json!({"ms": 1500})).await })
    };
    gw.wait_log("tool=slow", 1);
    gw.signal("-TERM");
    gw.wait_log("shutting down", 1);
    // ...a new one is refused (by the drain, or because the listener is closed)...
    let refused =
        tokio::time::timeout(Duration::from_secs(30), call(&client, "demo__echo", json!({"message": "late"})))
            .await
            .unwrap_or_else(|_| panic!("a call after SIGTERM got no answer:\n{}", gw.log_text()));
    assert!(refused.is_err(), "a call after SIGTERM was served: {refused:?}");
    // ...the running one completes with its real answer.
    let finished = tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .unwrap_or_else(|_| panic!("the running call got no answer:\n{}", gw.log_text()))
        .expect("task")
        .expect("the running call is answered");
    assert_eq!(text(&finished), "slept");
    assert_eq!(gw.wait_exit(), Some(0), "{}", gw.log_text());
    // Each plugin's `shutdown` ran, after the last events reached it.
    assert!(gw.log_count("audit sink closed after") >= 1, "{}", gw.log_text());
    // The upstream was stopped, not orphaned.
    let deadline = Instant::now() + Duration::from_secs(10);
    while state(upstream[0].0).is_some_and(|s| s != 'Z') {
        assert!(Instant::now() < deadline, "upstream {} outlived the gateway", upstream[0].0);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Audit events queued at the signal were exported before exit: both calls'
    // upstream stages are in the file.
    let lines = std::fs::read_to_string(&audit).expect("audit file");
    let slow = lines.lines().filter(|l| l.contains("\"slow\"")).count();
    assert!(slow >= 1, "the running call's audit events were lost:\n{lines}");
}
