//! The real `warden` binary: `--help` everywhere, `plugin inspect` on a component
//! built from source, `check` on good, bad and fallback configs.

use std::path::PathBuf;
use std::process::{Command, Output};

fn warden(args: &[&str]) -> Output {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-cache");
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .env("XDG_CACHE_HOME", cache)
        .env(
            "XDG_STATE_HOME",
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-state-{}", std::process::id())),
        )
        .env_remove("WARDEN_CONFIG")
        .env("RUST_LOG", "warn")
        .output()
        .expect("warden runs")
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn write_config(name: &str, body: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, body).expect("write config");
    path
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["check", "--help"],
        &["plugin", "--help"],
        &["plugin", "inspect", "--help"],
        &["scan", "--help"],
        &["tools", "approve", "--help"],
        &["reload", "--help"],
        &["import", "--help"],
        &["import", "enkrypt", "--help"],
        &["install", "--help"],
    ] {
        let o = warden(args);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{args:?}: {err}");
        assert!(out.contains("Usage: warden"), "{args:?}: {out}");
    }
}

#[test]
fn plugin_inspect_prints_world_exports_imports_and_describe() {
    let o = warden(&["plugin", "inspect", warden_fixtures::GUARD_KEYWORD]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    for expected in [
        "world:    guardrail-provider",
        "warden:plugin/input-guardrail@0.1.0",
        "wasi:cli/environment@",
        "sandbox:  loads with no grants",
        "name:        guard-keyword",
        "stages:      input, output, tool",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    let bytes = std::fs::read(warden_fixtures::GUARD_KEYWORD).expect("fixture");
    assert!(out.contains(&format!("size:     {} bytes", bytes.len())));

    let o = warden(&["plugin", "inspect", "--json", warden_fixtures::HOSTILE_NET]);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(report["world"], "guardrail-provider");
    assert!(report["refused"].as_str().is_some_and(|r| r.contains("wasi:sockets/")), "{report}");
}

#[test]
fn plugin_inspect_of_a_non_component_fails_cleanly() {
    let path = write_config("not-a-component.wasm", "hello");
    let o = warden(&["plugin", "inspect", path.to_str().expect("utf-8 path")]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("not a valid component"), "{err}");
}

#[test]
fn check_accepts_the_default_config() {
    let o = warden(&["check"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    for plugin in ["apikey", "secrets", "pii", "injection", "tools"] {
        assert!(out.contains(&format!("ok       plugin {plugin}")), "{out}");
    }
    assert!(out.contains("ok       upstream demo: 4 tool(s)"), "{out}");
}

#[test]
fn check_lists_upstreams_and_reports_name_clashes_per_prefix_mode() {
    let exe = env!("CARGO_BIN_EXE_warden");
    let path = write_config(
        "clashes.toml",
        &format!(
            r#"
[[servers]]
name = "a"
command = "{exe}"
args = ["demo-server"]

[[servers]]
name = "b"
command = "{exe}"
args = ["demo-server", "--faults"]
"#
        ),
    );
    let config = path.to_str().expect("utf-8 path");
    // always: server__tool names never clash.
    let o = warden(&["check", "--config", config]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(out.contains("ok       upstream a: 4 tool(s)") && out.contains("no name clashes"), "{out}");
    // on-clash: shared names are prefixed, which is fine.
    let o = warden(&["check", "--config", config, "--tool-prefix", "on-clash"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(out.contains(r#"clash    tool "echo" offered by a:echo, b:echo: each prefixed"#), "{out}");
    // never: b's echo would be hidden, which check fails on.
    let o = warden(&["check", "--config", config, "--tool-prefix", "never"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains(r#"CLASH    tool "echo" offered by a:echo, b:echo: only a keeps it"#), "{out}");
    assert!(out.contains(r#"CLASH    prompt "greeting""#), "{out}");
    assert!(!out.contains(r#""crash""#), "a tool only b offers does not clash: {out}");
    // An upstream that cannot start fails the check; --offline skips upstreams.
    let broken = write_config("broken-upstream.toml", "[[servers]]\nname = \"gone\"\ncommand = \"/nonexistent/mcp\"\n");
    let o = warden(&["check", "--config", broken.to_str().expect("utf-8 path")]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("UPSTREAM upstream gone: cannot start"), "{out}");
    let o = warden(&["check", "--offline", "--config", broken.to_str().expect("utf-8 path")]);
    assert!(o.status.success(), "{}", text(&o).0);
}

#[test]
fn check_reports_every_config_error_with_its_path() {
    let path = write_config(
        "bad.toml",
        r#"
[[plugins]]
name = "kw"
kind = "guardrail"
source = "builtin:guard-keyword"
limits = { deadline_ms = 0, memory_mib = 100000 }
grants = { http_hosts = ["https://x.example/path"] }
"#,
    );
    let o = warden(&["check", "--config", path.to_str().expect("utf-8 path")]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for p in ["plugins[0].limits.deadline_ms", "plugins[0].limits.memory_mib", "plugins[0].grants.http_hosts[0]"] {
        assert!(err.contains(p), "missing {p} in {err}");
    }
}

#[test]
fn check_reports_a_fallback_to_the_builtin_and_fails() {
    let path = write_config(
        "fallback.toml",
        r#"
[[plugins]]
name = "guard-keyword"
kind = "guardrail"
source = "/nonexistent/custom-keyword.wasm"
config = { words = ["x"] }
"#,
    );
    let o = warden(&["check", "--config", path.to_str().expect("utf-8 path")]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        out.contains("FALLBACK guard-keyword: wanted /nonexistent/custom-keyword.wasm, using builtin:guard-keyword"),
        "{out}"
    );
    assert!(err.contains("ERROR") && err.contains("using its fallback"), "the fallback is logged as an error: {err}");
}

#[test]
fn check_reports_a_changed_tool_definition_until_it_is_approved() {
    let exe = env!("CARGO_BIN_EXE_warden");
    let pins = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("pins-{}.json", std::process::id()));
    // A pin for demo/echo that does not match what the server now offers.
    std::fs::write(&pins, r#"{"demo": {"echo": "0000"}}"#).expect("write pins");
    let path = write_config(
        "pinned-tools.toml",
        &format!(
            "[gateway]\npins_file = {:?}\n\n[[servers]]\nname = \"demo\"\ncommand = {exe:?}\nargs = [\"demo-server\"]\n",
            pins.display().to_string()
        ),
    );
    let config = path.to_str().expect("utf-8 path");
    let o = warden(&["check", "--config", config]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("HIDDEN   tool demo/echo: definition changed"), "{out}");
    assert!(out.contains("ok       upstream demo: 3 tool(s)"), "echo is not served: {out}");

    let o = warden(&["tools", "approve", "--config", config, "demo/echo"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert_eq!(out.trim(), "approved demo/echo");
    let o = warden(&["check", "--config", config]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(out.contains("ok       upstream demo: 4 tool(s)"), "{out}");
    let o = warden(&["tools", "approve", "--config", config, "demo/nope"]);
    assert_eq!(o.status.code(), Some(2), "an unknown target is an error");
}

#[test]
fn check_flags_a_telemetry_sink_without_a_granted_output() {
    let path = write_config(
        "sink.toml",
        "[gateway]\ntelemetry = [\"audit\"]\n\n[[plugins]]\nname = \"audit\"\nkind = \"telemetry\"\nsource = \"builtin:telemetry-audit\"\n",
    );
    let o = warden(&["check", "--offline", "--config", path.to_str().expect("utf-8 path")]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("NO-OUTPUT telemetry plugin audit"), "{out}");
}

#[test]
fn check_refuses_a_pinned_plugin_whose_digest_differs() {
    let path = write_config(
        "pinned.toml",
        &format!(
            r#"
[[plugins]]
name = "custom"
kind = "guardrail"
source = "{}"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
config = {{ words = ["x"] }}
"#,
            warden_fixtures::GUARD_KEYWORD
        ),
    );
    let o = warden(&["check", "--config", path.to_str().expect("utf-8 path")]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("sha256 mismatch"), "{err}");
}

#[test]
fn check_reports_a_jwks_url_it_cannot_fetch() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let config = write_config(
        "check-jwks-down.toml",
        &format!(
            r#"
[gateway]
auth = ["jwt"]
[[plugins]]
name = "jwt"
kind = "auth"
source = "builtin:auth-jwt"
jwks_url = "http://{addr}/jwks.json?tenant=secret-tenant"
config = {{ issuer = "https://login.example.com", audience = "warden" }}
"#
        ),
    );
    let o = warden(&["check", "--offline", "--config", config.to_str().expect("utf-8")]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("plugin jwt: cannot fetch its JWKS (jwks_url http://{addr}/jwks.json?…)")), "{err}");
    assert!(!err.contains("secret-tenant"), "the URL's query is not shown: {err}");

    // And plain http to anything but a loopback host is a config error.
    let config = write_config(
        "check-jwks-http.toml",
        "[[plugins]]\nname = \"jwt\"\nkind = \"auth\"\nsource = \"builtin:auth-jwt\"\njwks_url = \"http://idp.example.com/jwks.json\"\n",
    );
    let o = warden(&["check", "--offline", "--config", config.to_str().expect("utf-8")]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("plugins[0].jwks_url: must use https"), "{err}");
}
