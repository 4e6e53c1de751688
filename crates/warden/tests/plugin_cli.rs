//! The plugin author's path, end to end with the real `warden` binary: `plugin new`
//! scaffolds a Rust guardrail, auth provider and telemetry sink from the embedded
//! templates, `plugin build` compiles them (cargo, wasm32-wasip2; once per test run,
//! all sharing one target directory), `plugin inspect` shows their world, and a running
//! gateway loads them from the `[[plugins]]` entry `build` printed (sha256 pinned)
//! and uses them on real tool calls to the demo upstream. Hostile components loaded
//! the same way are contained, and a wrong pin refuses to start.

mod common;

use common::{Started, initialize_status, spawn_gateway};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

fn tmp(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// `warden ARGS` with a cache and state of this test binary's own; the inner cargo
/// of `plugin build` gets a clean environment and the shared target directory.
fn warden(args: &[&str]) -> Output {
    warden_stdin(args, "")
}

fn warden_stdin(args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
    warden_wasm_build::scrub(&mut cmd);
    let mut child = cmd
        .args(args)
        .env("XDG_CACHE_HOME", tmp("plugin-cli-cache"))
        .env("XDG_STATE_HOME", tmp(&format!("plugin-cli-state-{}", std::process::id())))
        .env("CARGO_TARGET_DIR", tmp("plugin-cli-target"))
        .env_remove("WARDEN_CONFIG")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("warden runs");
    child.stdin.take().expect("piped").write_all(stdin.as_bytes()).expect("stdin");
    child.wait_with_output().expect("warden finishes")
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// A plugin scaffolded and built by the CLI.
struct Built {
    wasm: PathBuf,
    sha256: String,
    /// The `[[plugins]]` entry `plugin build` printed.
    entry: String,
    build_time: Duration,
}

/// Scaffold `name` (`world`) with `plugin new` and build it with `plugin build`.
fn scaffold_and_build(world: &str, name: &str) -> Built {
    let dir = tmp("plugin-cli").join(name);
    // A fresh project each run (`plugin new` refuses a non-empty directory); the
    // shared target directory keeps the compiled dependencies.
    let _ = std::fs::remove_dir_all(&dir);
    let dir_s = dir.to_str().expect("utf-8 path");
    let o = warden(&["plugin", "new", "--lang", "rust", "--world", world, name, "--dir", dir_s]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "plugin new failed:\n{out}\n{err}");
    for f in ["Cargo.toml", "src/lib.rs", "README.md", "warden-plugin.toml", ".warden/wit/plugin.wit"] {
        assert!(dir.join(f).exists(), "{f} not written:\n{out}");
    }
    assert!(dir.join(".warden/crates/warden-plugin-sdk/src/lib.rs").exists(), "the SDK is vendored");
    let manifest = std::fs::read_to_string(dir.join("warden-plugin.toml")).expect("manifest");
    assert!(manifest.contains(&format!("name = \"{name}\"")) && manifest.contains("lang = \"rust\""), "{manifest}");

    let started = Instant::now();
    let o = warden(&["plugin", "build", dir_s]);
    let build_time = started.elapsed();
    let (out, err) = text(&o);
    assert!(o.status.success(), "plugin build failed:\n{out}\n{err}");
    println!("plugin build of {name} ({world}): {:.1} s", build_time.as_secs_f64());
    let wasm = dir.join(format!("{name}.wasm"));
    let bytes = std::fs::read(&wasm).expect("NAME.wasm written");
    let sha256 = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    assert!(out.contains(&format!("sha256: {sha256}")), "the printed sha256 is the file's:\n{out}");
    let entry = out[out.find("[[plugins]]").expect("a [[plugins]] entry is printed")..].to_string();
    assert!(entry.contains(&format!("sha256 = \"{sha256}\"")), "{entry}");
    Built { wasm, sha256, entry, build_time }
}

/// The scaffolded plugins, built once per run of this test binary.
struct Plugins {
    guard: Built,
    auth: Built,
    sink: Built,
}

fn built() -> &'static Plugins {
    static BUILT: OnceLock<Plugins> = OnceLock::new();
    BUILT.get_or_init(|| {
        let guard = scaffold_and_build("guardrail", "no-forbidden");
        let auth = scaffold_and_build("auth", "team-auth");
        let sink = scaffold_and_build("telemetry", "event-lines");
        // One shared target dir: only the first build of a fresh one compiles the dependencies.
        println!(
            "scaffold builds: guardrail {:.1} s, auth {:.1} s, telemetry {:.1} s",
            guard.build_time.as_secs_f64(),
            auth.build_time.as_secs_f64(),
            sink.build_time.as_secs_f64()
        );
        Plugins { guard, auth, sink }
    })
}

/// A running `warden serve` on 127.0.0.1:0; killed on drop.
struct Gateway {
    child: Child,
    url: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Gateway {
    fn start(config: &str, env: &[(&str, &str)]) -> Gateway {
        Gateway::try_start(config, env).unwrap_or_else(|log| panic!("gateway did not start:\n{log}"))
    }

    /// Start, or the log of a gateway that exited or did not come up.
    fn try_start(config: &str, env: &[(&str, &str)]) -> Result<Gateway, String> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = tmp(&format!("plugin-cli-{}-{n}.toml", std::process::id()));
        std::fs::write(&path, config).expect("write config");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&path)
            .env("XDG_CACHE_HOME", tmp("plugin-cli-cache"))
            .env("XDG_STATE_HOME", tmp(&format!("plugin-cli-state-{}-{n}", std::process::id())))
            .env("RUST_LOG", "info,rmcp=warn")
            .env_remove("WARDEN_CONFIG")
            .envs(env.iter().copied());
        let Started { child, url, log } = spawn_gateway(cmd, Duration::from_secs(60))?;
        Ok(Gateway { child, url, log })
    }

    async fn client(&self, token: &str) -> rmcp::service::RunningService<rmcp::service::RoleClient, ()> {
        warden_mcp::install_tls_provider();
        let config = StreamableHttpClientTransportConfig::with_uri(self.url.clone()).auth_header(token);
        ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("client connects")
    }

    fn log(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }

    /// The HTTP status of an MCP initialize POST with `Authorization: Bearer token`.
    fn status_with_token(&self, token: &str) -> u16 {
        initialize_status(&self.url, &format!("Authorization: Bearer {token}\r\n"))
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn call(peer: &rmcp::service::Peer<rmcp::service::RoleClient>, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else { panic!("arguments must be an object") };
    peer.call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args)).await.expect("call answered")
}

fn result_text(r: &CallToolResult) -> String {
    r.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join("\n")
}

const DEMO: &str = "[[servers]]\nname = \"demo\"\ncommand = \"${WARDEN_EXE}\"\nargs = [\"demo-server\"]\n";

/// The key the guardrail gateways require (the default `apikey` auth is not
/// configured there, so any bearer passes; a key keeps the client honest).
const ANY_KEY: &str = "wdn_plugin_cli_key";

#[tokio::test]
async fn scaffolded_rust_guardrail_and_telemetry_plugins_work_on_real_tool_calls() {
    let Plugins { guard, sink, .. } = built();
    // The entries exactly as `plugin build` printed them, with a config and a grant.
    let entry = guard.entry.replace("config = {}", "config = { words = [\"forbidden\"] }");
    let events = tmp(&format!("plugin-cli-events-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&events);
    let sink_entry = sink.entry.replace("/var/log/warden/audit.jsonl", events.to_str().expect("utf-8 path"));
    let config = format!(
        "[gateway]\ninput = [\"no-forbidden\"]\noutput = [\"no-forbidden\"]\ntools = []\ntelemetry = [\"event-lines\"]\n\n\
         {DEMO}\n{entry}\n{sink_entry}"
    );
    let gw = Gateway::start(&config, &[]);
    let client = gw.client(ANY_KEY).await;

    let r = call(client.peer(), "demo__echo", json!({"message": "hello"})).await;
    assert_eq!((result_text(&r).as_str(), r.is_error), ("hello", Some(false)), "{}", gw.log());

    let r = call(client.peer(), "demo__echo", json!({"message": "a Forbidden plan"})).await;
    assert_eq!(r.is_error, Some(true), "blocked: {}", result_text(&r));
    let reason = result_text(&r);
    assert!(reason.contains("no-forbidden.word") && reason.contains("configured word #1"), "{reason}");
    assert!(!reason.to_lowercase().contains("forbidden plan"), "the refusal does not echo the payload: {reason}");
    assert!(!gw.log().contains("not pinned"), "the printed entries pin the sha256");
    client.cancel().await.expect("client closes");

    // The telemetry sink wrote a line per stage to its granted stdout file.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lines = String::new();
    while Instant::now() < deadline && !lines.contains("outcome=blocked") {
        std::thread::sleep(Duration::from_millis(100));
        lines = std::fs::read_to_string(&events).unwrap_or_default();
    }
    assert!(lines.contains("stage=input") && lines.contains("tool=demo/echo"), "{lines}\n{}", gw.log());
    assert!(lines.contains("outcome=blocked") && lines.contains("findings=[no-forbidden.word]"), "{lines}");
    assert!(!lines.to_lowercase().contains("forbidden plan"), "no payload in telemetry: {lines}");
}

#[tokio::test]
async fn a_scaffolded_rust_auth_plugin_accepts_the_right_token_and_refuses_others() {
    let auth = &built().auth;
    let entry = auth.entry.replace(
        "config = {}",
        "config = { tokens = [{ token = \"${TEAM_TOKEN}\", principal = \"team\", scopes = [\"demo/echo\"] }] }",
    );
    let config = format!("[gateway]\nauth = [\"team-auth\"]\ninput = []\noutput = []\ntools = []\n\n{DEMO}\n{entry}");
    let token = "team-token-3f9a1c";
    let gw = Gateway::start(&config, &[("TEAM_TOKEN", token)]);

    assert_eq!(gw.status_with_token("team-token-wrong"), 401, "a wrong token is refused");
    assert_eq!(gw.status_with_token(""), 401, "no token is refused");
    let client = gw.client(token).await;
    let r = call(client.peer(), "demo__echo", json!({"message": "hi team"})).await;
    assert_eq!((result_text(&r).as_str(), r.is_error), ("hi team", Some(false)));
    // The principal's scopes come from the plugin: demo/echo only.
    let tools: Vec<String> =
        client.peer().list_all_tools().await.expect("tools/list").into_iter().map(|t| t.name.to_string()).collect();
    assert_eq!(tools, ["demo__echo"]);
    client.cancel().await.expect("client closes");
    let log = gw.log();
    assert!(!log.contains(token) && !log.contains("team-token-wrong"), "a token reached the log:\n{log}");
}

#[test]
fn inspect_shows_the_world_of_built_plugins() {
    let p = built();
    for (b, world, name) in [
        (&p.guard, "guardrail-provider", "no-forbidden"),
        (&p.auth, "auth-provider", "team-auth"),
        (&p.sink, "telemetry-provider", "event-lines"),
    ] {
        let o = warden(&["plugin", "inspect", b.wasm.to_str().expect("utf-8 path")]);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{err}");
        for expected in [
            format!("world:    {world}"),
            format!("name:        {name}"),
            format!("sha256:   {}", b.sha256),
            "sandbox:  loads with no grants".to_string(),
        ] {
            assert!(out.contains(&expected), "missing {expected:?} in:\n{out}");
        }
    }
}

#[test]
fn plugin_test_runs_a_built_guardrail_over_jsonl() {
    let guard = &built().guard;
    let cases = "{\"id\":1,\"text\":\"nothing to see\"}\n{\"id\":2,\"text\":\"FORBIDDEN words\"}\n";
    let wasm = guard.wasm.to_str().expect("utf-8 path");
    let o = warden_stdin(&["plugin", "test", wasm, "--input", "-", "--config", r#"{"words":["forbidden"]}"#], cases);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).expect("JSONL")).collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!((lines[0]["id"].clone(), lines[0]["verdict"].clone()), (json!(1), json!("allow")));
    assert_eq!((lines[1]["id"].clone(), lines[1]["verdict"].clone()), (json!(2), json!("block")));
    assert_eq!(lines[1]["findings"][0]["detector"], "no-forbidden.word");

    // A config the plugin refuses: a clear error naming the field, exit 2.
    let o = warden_stdin(&["plugin", "test", wasm, "--input", "-", "--config", r#"{"words":"forbidden"}"#], cases);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("words") && err.contains("invalid type"), "{err}");
}

#[test]
fn hostile_plugins_through_plugin_test_are_contained() {
    // Spins forever once triggered: stopped by fuel, the call fails closed, and the
    // next case runs on a fresh instance.
    let cases = "{\"id\":\"a\",\"text\":\"attack\"}\n{\"id\":\"b\",\"text\":\"benign\"}\n";
    let o = warden_stdin(&["plugin", "test", warden_fixtures::HOSTILE_LOOP, "--input", "-"], cases);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).expect("JSONL")).collect();
    assert_eq!(lines[0]["verdict"], "block", "{out}");
    assert_eq!(lines[0]["findings"][0]["detector"], "warden.plugin-failure");
    assert!(lines[0]["findings"][0]["message"].as_str().is_some_and(|m| m.contains("out of fuel")), "{out}");
    assert_eq!(lines[1]["verdict"], "allow", "{out}");

    // Asks for sockets, which nothing grants: refused at load, naming the import.
    let o = warden_stdin(&["plugin", "test", warden_fixtures::HOSTILE_NET, "--input", "-"], cases);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}\n{err}");
    assert!(err.contains("wasi:sockets/"), "{err}");
}

#[tokio::test]
async fn hostile_plugin_in_a_gateway_fails_closed_and_the_gateway_keeps_serving() {
    let sha256 = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(std::fs::read(warden_fixtures::HOSTILE_MEMORY).expect("fixture")))
    };
    let config = format!(
        "[gateway]\ninput = [\"bomb\"]\noutput = []\ntools = []\n\n{DEMO}\n[[plugins]]\nname = \"bomb\"\nkind = \"guardrail\"\nsource = {:?}\nsha256 = \"{sha256}\"\nlimits = {{ memory_mib = 16 }}\n",
        warden_fixtures::HOSTILE_MEMORY
    );
    let gw = Gateway::start(&config, &[]);
    let client = gw.client(ANY_KEY).await;
    let r = call(client.peer(), "demo__echo", json!({"message": "attack"})).await;
    assert_eq!(r.is_error, Some(true));
    let reason = result_text(&r);
    assert!(reason.contains("warden.plugin-failure") && reason.contains("guardrail bomb failed"), "{reason}");
    // Still serving, on a fresh instance.
    let r = call(client.peer(), "demo__echo", json!({"message": "after the bomb"})).await;
    assert_eq!((result_text(&r).as_str(), r.is_error), ("after the bomb", Some(false)), "{}", gw.log());
    client.cancel().await.expect("client closes");
}

#[test]
fn a_plugin_whose_sha256_differs_from_its_pin_refuses_to_start_and_an_unpinned_one_is_warned_about() {
    let source = warden_fixtures::GUARD_KEYWORD;
    let wrong = "0".repeat(64);
    let plugin = |pin: &str| {
        format!(
            "[gateway]\ninput = [\"custom\"]\noutput = []\ntools = []\n\n{DEMO}\n[[plugins]]\nname = \"custom\"\nkind = \"guardrail\"\nsource = {source:?}\n{pin}config = {{ words = [\"x\"] }}\n"
        )
    };
    let log = match Gateway::try_start(&plugin(&format!("sha256 = \"{wrong}\"\n")), &[]) {
        Ok(gw) => panic!("a gateway started with a wrong pin:\n{}", gw.log()),
        Err(log) => log,
    };
    assert!(log.contains("sha256 mismatch") && log.contains(&wrong) && log.contains(source), "{log}");

    let gw = Gateway::start(&plugin(""), &[]);
    std::thread::sleep(Duration::from_millis(100));
    let log = gw.log();
    assert!(log.contains("plugin file is not pinned; add this sha256"), "{log}");
}

#[test]
fn plugin_new_refuses_bad_names_missing_templates_and_existing_projects() {
    let dir = tmp(&format!("plugin-cli-new-{}", std::process::id()));
    let d = dir.to_str().expect("utf-8 path");
    let o = warden(&["plugin", "new", "--lang", "rust", "--world", "guardrail", "Bad_Name", "--dir", d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("not a valid plugin name"), "{}", text(&o).1);

    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("keep.txt"), "mine").expect("write");
    let o = warden(&["plugin", "new", "--lang", "rust", "--world", "telemetry", "sink", "--dir", d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("not empty"), "{}", text(&o).1);
    assert_eq!(std::fs::read_to_string(dir.join("keep.txt")).expect("kept"), "mine");

    // A project without a manifest: build says what to write.
    let o = warden(&["plugin", "build", d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("has no warden-plugin.toml"), "{}", text(&o).1);
}

#[test]
fn every_plugin_command_has_help() {
    for args in [
        &["plugin", "--help"][..],
        &["plugin", "new", "--help"],
        &["plugin", "build", "--help"],
        &["plugin", "test", "--help"],
        &["plugin", "inspect", "--help"],
    ] {
        let o = warden(args);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{args:?}: {err}");
        assert!(out.contains("Usage: warden plugin"), "{args:?}: {out}");
    }
    let (out, _) = text(&warden(&["plugin", "new", "--help"]));
    for word in ["--lang", "rust", "python", "javascript", "--world", "guardrail", "auth", "telemetry", "--dir"] {
        assert!(out.contains(word), "{word} missing from plugin new --help:\n{out}");
    }
}
