//! Plugins written in Python and JavaScript, end to end, as a user makes them:
//! scaffold with `warden plugin new`, build with `warden plugin build`
//! (componentize-py / componentize-js), load the component into a running gateway
//! by file path with its sha256 pinned, and see it decide real tool calls on the
//! demo upstream (guardrail), accept or refuse a credential (auth) and receive the
//! audit events (telemetry).
//!
//! Toolchains are installed by `warden plugin build` itself, once, into
//! `$WARDEN_TOOLCHAINS` when set (CI points it at a folder it keeps), else into
//! `target/tmp/toolchains`; after that the tests run offline. They need python3 (with
//! venv) and node + npm on PATH; `WARDEN_SKIP_PLUGIN_LANGS=1` skips them on a machine
//! without. Each plugin is built once per run. Timings (build, cold and warm load)
//! are printed: run with `--nocapture` to see them.

mod common;

use common::{Started, initialize_status, spawn_gateway};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn skipped() -> bool {
    let skip = std::env::var_os("WARDEN_SKIP_PLUGIN_LANGS").is_some_and(|v| !v.is_empty() && v != "0");
    if skip {
        eprintln!("WARDEN_SKIP_PLUGIN_LANGS is set: Python/JavaScript plugin tests skipped");
    }
    skip
}

fn toolchains() -> PathBuf {
    std::env::var_os("WARDEN_TOOLCHAINS")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or(tmp().join("toolchains"))
}

/// A fresh directory under target/tmp for this run.
fn fresh_dir(what: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = tmp().join(format!("langs-{what}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create dir");
    dir
}

fn warden(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
    cmd.args(args).env("WARDEN_TOOLCHAINS", toolchains()).env_remove("WARDEN_CONFIG").env("RUST_LOG", "info");
    cmd
}

/// A plugin built from its template.
struct Built {
    wasm: PathBuf,
    sha256: String,
}

/// The `lang`/`world` template's plugin, scaffolded and built once per run.
fn built(lang: &str, world: &str) -> &'static Built {
    static PY_GUARDRAIL: OnceLock<Built> = OnceLock::new();
    static PY_AUTH: OnceLock<Built> = OnceLock::new();
    static PY_TELEMETRY: OnceLock<Built> = OnceLock::new();
    static JS_GUARDRAIL: OnceLock<Built> = OnceLock::new();
    static JS_AUTH: OnceLock<Built> = OnceLock::new();
    static JS_TELEMETRY: OnceLock<Built> = OnceLock::new();
    let cell = match (lang, world) {
        ("python", "guardrail") => &PY_GUARDRAIL,
        ("python", "auth") => &PY_AUTH,
        ("python", "telemetry") => &PY_TELEMETRY,
        ("javascript", "guardrail") => &JS_GUARDRAIL,
        ("javascript", "auth") => &JS_AUTH,
        ("javascript", "telemetry") => &JS_TELEMETRY,
        _ => panic!("no template {lang}/{world}"),
    };
    cell.get_or_init(|| build(lang, world))
}

fn build(lang: &str, world: &str) -> Built {
    let name = format!("{}-{world}", &lang[..2]);
    let dir = fresh_dir(&name).join(&name);
    let o = warden(&["plugin", "new", "--lang", lang, "--world", world, &name, "--dir"])
        .arg(&dir)
        .output()
        .expect("warden runs");
    assert!(o.status.success(), "plugin new: {}", String::from_utf8_lossy(&o.stderr));
    let source = if lang == "python" { "app.py" } else { "app.js" };
    let code = std::fs::read_to_string(dir.join(source)).expect("template source");
    assert!(
        code.contains(&format!("name: '{name}'")) || code.contains(&format!("name=\"{name}\"")),
        "{{{{name}}}} filled"
    );
    assert!(dir.join(".warden/wit/plugin.wit").exists(), "the scaffold carries the WIT");

    let started = Instant::now();
    let o = warden(&["plugin", "build"]).arg(&dir).output().expect("warden runs");
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "plugin build {name} failed:\n{err}\n{out}");
    let wasm = dir.join(format!("{name}.wasm"));
    let bytes = std::fs::read(&wasm).expect("the build wrote NAME.wasm");
    let sha256 = hex::encode(Sha256::digest(&bytes));
    assert!(out.contains(&format!("sha256: {sha256}")), "the build prints the component's sha256:\n{out}");
    assert!(out.contains("[[plugins]]") && out.contains(&format!("sha256 = \"{sha256}\"")), "{out}");
    eprintln!(
        "[timing] warden plugin build {lang}/{world}: {:.1} s, {:.1} MB",
        started.elapsed().as_secs_f64(),
        bytes.len() as f64 / 1e6
    );
    Built { wasm, sha256 }
}

/// A running gateway; killed on drop. Its stderr is collected.
struct Gateway {
    child: Child,
    url: String,
    log: Arc<Mutex<Vec<String>>>,
    /// From spawn to listening (plugins loaded, upstream listed).
    startup: Duration,
}

impl Gateway {
    fn start(config: &str, cache: &Path, env: &[(&str, &str)]) -> Gateway {
        let dir = fresh_dir("gw");
        std::fs::write(dir.join("warden.toml"), config).expect("write config");
        let started = Instant::now();
        let mut cmd = warden(&["serve", "--listen", "127.0.0.1:0", "--config"]);
        cmd.arg(dir.join("warden.toml"))
            .env("XDG_CACHE_HOME", cache)
            .env("XDG_STATE_HOME", dir.join("state"))
            .env("RUST_LOG", "info,rmcp=warn")
            .envs(env.iter().copied());
        // A cold start compiles a 12-19 MB component: seconds, more on a busy machine.
        let Started { child, url, log } =
            spawn_gateway(cmd, Duration::from_secs(300)).unwrap_or_else(|log| panic!("gateway did not start:\n{log}"));
        Gateway { child, url, log, startup: started.elapsed() }
    }

    fn log_text(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }

    /// Wait (a few seconds at most) for a log line containing every one of `needles`.
    fn wait_log(&self, needles: &[&str]) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self.log.lock().expect("log lock").iter().any(|l| needles.iter().all(|n| l.contains(n)));
            if found || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn upstream_calls(&self, tool: &str) -> usize {
        let needle = format!("tool={tool}");
        self.log
            .lock()
            .expect("log lock")
            .iter()
            .filter(|l| l.contains("demo tool called") && l.contains(&needle))
            .count()
    }

    async fn client(&self, bearer: Option<&str>) -> RunningService<RoleClient, ()> {
        warden_mcp::install_tls_provider();
        let mut config = StreamableHttpClientTransportConfig::with_uri(self.url.clone());
        if let Some(token) = bearer {
            config = config.auth_header(token);
        }
        ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("client connects")
    }

    /// The status of a raw initialize POST with `extra` header lines.
    fn initialize_status(&self, extra: &str) -> u16 {
        initialize_status(&self.url, extra)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn call(client: &rmcp::service::Peer<RoleClient>, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else { panic!("arguments must be an object") };
    client.call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args)).await.expect("call answered")
}

fn text(r: &CallToolResult) -> String {
    r.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join("\n")
}

const DEMO: &str = "[[servers]]\nname = \"demo\"\ncommand = \"${WARDEN_EXE}\"\nargs = [\"demo-server\"]\n";

/// `warden plugin test` over two cases with a fresh component cache, twice: the
/// first run compiles the component (and caches it), the second loads it
/// precompiled. Returns both wall times.
fn cold_and_warm(guard: &Built, cache: &Path) -> (Duration, Duration) {
    let cases = "{\"id\":1,\"text\":\"hello there\"}\n{\"id\":2,\"payload\":{\"cmd\":\"sudo RM -RF /\"}}\n";
    let mut times = Vec::new();
    for _ in 0..2 {
        let started = Instant::now();
        let mut child = warden(&["plugin", "test", "--input", "-", "--config", r#"{"words":["rm -rf"]}"#])
            .arg(&guard.wasm)
            .env("XDG_CACHE_HOME", cache)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("warden runs");
        child.stdin.take().expect("stdin").write_all(cases.as_bytes()).expect("write cases");
        let o = child.wait_with_output().expect("warden ends");
        times.push(started.elapsed());
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "plugin test: {}", String::from_utf8_lossy(&o.stderr));
        let verdicts: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
        assert_eq!(verdicts.len(), 2, "{out}");
        assert_eq!(verdicts[0]["verdict"], "allow", "{out}");
        assert_eq!(verdicts[1]["verdict"], "block", "{out}");
        assert_eq!(verdicts[1]["findings"][0]["detector"], "wordlist.match", "{out}");
        // "sudo RM -RF /": the match is at bytes 5..11 of the string at /cmd.
        assert_eq!(verdicts[1]["findings"][0]["path"], "/cmd", "{out}");
        assert_eq!(verdicts[1]["findings"][0]["span"], json!({"start": 5, "end": 11}), "{out}");
    }
    (times[0], times[1])
}

/// The guardrail template blocks a call naming a configured word before it reaches
/// the upstream and lets others through; the telemetry template of the same
/// language receives the audit events and logs its counts.
async fn guardrail_and_telemetry(lang: &str) {
    if skipped() {
        return;
    }
    let guard = built(lang, "guardrail");
    let sink = built(lang, "telemetry");
    let cache = fresh_dir("cache");
    let (cold, warm) = cold_and_warm(guard, &cache);
    eprintln!(
        "[timing] {lang} guardrail via `warden plugin test`: cold (compile + cache) {:.2} s, warm (precompiled) {:.2} s",
        cold.as_secs_f64(),
        warm.as_secs_f64()
    );

    let config = format!(
        "[gateway]\ninput = [\"guard\"]\noutput = [\"guard\"]\ntelemetry = [\"sink\"]\n{DEMO}\n\
         [[plugins]]\nname = \"guard\"\nkind = \"guardrail\"\nsource = {:?}\nsha256 = \"{}\"\n\
         config = {{ words = [\"rm -rf\", \"DROP TABLE\"] }}\n\n\
         [[plugins]]\nname = \"sink\"\nkind = \"telemetry\"\nsource = {:?}\nsha256 = \"{}\"\nconfig = {{ every = 1 }}\n",
        guard.wasm, guard.sha256, sink.wasm, sink.sha256
    );
    for round in ["cold", "warm"] {
        let gw = Gateway::start(&config, &cache, &[]);
        eprintln!(
            "[timing] {lang} gateway start with guardrail + telemetry, {round} sink: {:.2} s",
            gw.startup.as_secs_f64()
        );
        if round == "cold" {
            continue; // the sink got compiled and cached; the calls run on the warm start
        }
        assert!(gw.wait_log(&["configured with 2 words", "plugin=\"guard\""]), "host log import: {}", gw.log_text());
        let client = gw.client(None).await;
        let r = call(client.peer(), "demo__echo", json!({"message": "hello from a harmless call"})).await;
        assert_eq!((text(&r).as_str(), r.is_error), ("hello from a harmless call", Some(false)));
        let r = call(client.peer(), "demo__echo", json!({"message": "please drop table users"})).await;
        assert_eq!(r.is_error, Some(true), "{}", text(&r));
        assert!(text(&r).contains("wordlist.match"), "the refusal names the detector: {}", text(&r));
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(gw.upstream_calls("echo"), 1, "the blocked call never reached the upstream:\n{}", gw.log_text());
        assert!(
            gw.wait_log(&["events; outcomes", "blocked", "wordlist.match", "plugin=\"sink\""]),
            "{}",
            gw.log_text()
        );
        client.cancel().await.expect("client closes");
    }
}

/// The auth template accepts its configured token as the configured principal
/// (whose scopes limit the tools it sees) and refuses other tokens and none.
async fn auth(lang: &str) {
    if skipped() {
        return;
    }
    let plugin = built(lang, "auth");
    let token = "tok-alice-0123456789abcdef";
    let config = |sha256: &str| {
        format!(
            "[gateway]\nauth = [\"tokens\"]\n{DEMO}\n[[plugins]]\nname = \"tokens\"\nkind = \"auth\"\nsource = {:?}\n\
             sha256 = \"{sha256}\"\nconfig = {{ tokens = [{{ token = \"${{ALICE_TOKEN}}\", id = \"alice\", scopes = [\"demo/echo\"] }}] }}\n",
            plugin.wasm
        )
    };
    let cache = fresh_dir("cache");
    let gw = Gateway::start(&config(&plugin.sha256), &cache, &[("ALICE_TOKEN", token)]);
    eprintln!("[timing] {lang} gateway start with the auth plugin, cold: {:.2} s", gw.startup.as_secs_f64());
    assert_eq!(gw.initialize_status(&format!("Authorization: Bearer {token}\r\n")), 200);
    assert_eq!(gw.initialize_status("Authorization: Bearer tok-mallory-0123456789abcdef\r\n"), 401);
    assert_eq!(gw.initialize_status("Authorization: Basic YWxpY2U6cHc=\r\n"), 401, "not a bearer token");
    assert_eq!(gw.initialize_status(""), 401, "no credential");
    assert!(!gw.log_text().contains(token), "the token is never logged");

    let client = gw.client(Some(token)).await;
    let tools: Vec<String> =
        client.peer().list_all_tools().await.expect("tools/list").into_iter().map(|t| t.name.to_string()).collect();
    assert_eq!(tools, ["demo__echo"], "alice's scopes allow demo/echo only");
    let r = call(client.peer(), "demo__echo", json!({"message": "hi, it is alice"})).await;
    assert_eq!((text(&r).as_str(), r.is_error), ("hi, it is alice", Some(false)));
    client.cancel().await.expect("client closes");
    drop(gw);

    // The same component under another digest pin is refused at start.
    let wrong = "0".repeat(64);
    let dir = fresh_dir("pin");
    std::fs::write(dir.join("warden.toml"), config(&wrong)).expect("write config");
    let o = warden(&["check", "--offline", "--config"])
        .arg(dir.join("warden.toml"))
        .env("XDG_CACHE_HOME", &cache)
        .env("ALICE_TOKEN", token)
        .output()
        .expect("warden runs");
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(!o.status.success() && out.contains("sha256 mismatch"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn python_guardrail_blocks_a_tool_call_and_telemetry_gets_the_events() {
    guardrail_and_telemetry("python").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn javascript_guardrail_blocks_a_tool_call_and_telemetry_gets_the_events() {
    guardrail_and_telemetry("javascript").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn python_auth_accepts_its_token_and_refuses_others() {
    auth("python").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn javascript_auth_accepts_its_token_and_refuses_others() {
    auth("javascript").await;
}
