//! `warden import enkrypt`: realistic Enkrypt Secure MCP Gateway configs
//! (tests/fixtures/enkrypt/) become warden.toml files that `warden check` accepts,
//! with keys stored only as SHA-256, per-server chains as mapped, and a report of
//! what was left behind; an imported key works on a real gateway, a disabled one
//! does not.

mod common;

use common::{Started, initialize_status, spawn_gateway};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/enkrypt").join(name)
}

/// A fresh directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("import-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn warden(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .env("XDG_CACHE_HOME", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("import-cache"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("WARDEN_KEYS_FILE", dir.join("keys.json"))
        .env("ENKRYPT_API_KEY", "test-enkrypt-key")
        .env("RUST_LOG", "warn")
        .env_remove("WARDEN_CONFIG")
        .env_remove("WARDEN_API_KEY")
        .output()
        .expect("warden runs")
}

/// What one import produced.
struct Imported {
    toml: String,
    report: String,
    stdout: String,
    stderr: String,
    out: PathBuf,
}

fn import(input: &Path, dir: &Path) -> Imported {
    let out = dir.join("warden.toml");
    let report = dir.join("report.txt");
    let o = warden(
        &[
            "import",
            "enkrypt",
            input.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
            "--report",
            report.to_str().expect("utf-8"),
        ],
        dir,
    );
    let (stdout, stderr) =
        (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned());
    assert!(o.status.success(), "import of {} failed: {stderr}", input.display());
    Imported {
        toml: std::fs::read_to_string(&out).expect("output written"),
        report: std::fs::read_to_string(&report).expect("report written"),
        stdout,
        stderr,
        out,
    }
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("fixture is JSON")
}

fn server<'a>(config: &'a toml::Value, name: &str) -> &'a toml::Value {
    config["servers"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"].as_str() == Some(name)))
        .unwrap_or_else(|| panic!("no server {name} in {config}"))
}

fn chain(server: &toml::Value, stage: &str) -> Vec<String> {
    server[stage].as_array().expect("chain").iter().map(|v| v.as_str().expect("name").to_string()).collect()
}

fn plugin<'a>(config: &'a toml::Value, name: &str) -> &'a toml::Value {
    config["plugins"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"].as_str() == Some(name)))
        .unwrap_or_else(|| panic!("no plugin {name}"))
}

#[test]
fn every_fixture_imports_into_a_config_warden_check_accepts_with_keys_hashed() {
    for name in ["typical.json", "multi.json", "enkrypt-auth.json"] {
        let dir = scratch(name.trim_end_matches(".json"));
        let input = fixture(name);
        let imported = import(&input, &dir);
        let parsed: toml::Value = toml::from_str(&imported.toml).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(parsed.get("servers").is_some(), "{name}");
        let check = warden(&["check", "--offline", "--config", imported.out.to_str().expect("utf-8")], &dir);
        assert!(check.status.success(), "{name}: warden check failed:\n{}", String::from_utf8_lossy(&check.stderr));

        let source = json(&input);
        let everything = [&imported.toml, &imported.report, &imported.stdout, &imported.stderr];
        for key in source["apikeys"].as_object().expect("apikeys").keys() {
            for text in everything {
                assert!(!text.contains(key.as_str()), "{name}: a plain API key leaked");
            }
            let digest = hex_sha256(key);
            assert!(imported.toml.contains(&digest), "{name}: sha256 of a key missing from the output");
        }
        // Other credentials of the Enkrypt file are never copied either.
        let mut secrets = vec![source["admin_apikey"].as_str().expect("admin key").to_string()];
        for kind in ["auth", "guardrails"] {
            if let Some(k) = source["plugins"][kind]["config"]["api_key"].as_str() {
                secrets.push(k.to_string());
            }
        }
        if let Some(p) = source["common_mcp_gateway_config"]["enkrypt_cache_password"].as_str() {
            secrets.push(p.to_string());
        }
        for s in &secrets {
            for text in everything {
                assert!(!text.contains(s.as_str()), "{name}: a credential of the Enkrypt file leaked");
            }
        }
    }
}

fn hex_sha256(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn typical_config_maps_each_detector_to_its_guardrail() {
    let dir = scratch("typical-chains");
    let imported = import(&fixture("typical.json"), &dir);
    let c: toml::Value = toml::from_str(&imported.toml).expect("toml");
    let github = server(&c, "github");
    // pii_redaction → the redacting "pii"; injection_attack → injection; toxicity and
    // nsfw → Enkrypt's API through guard-remote.
    assert_eq!(chain(github, "input"), ["secrets", "pii", "injection", "enkrypt"]);
    assert_eq!(chain(github, "output"), ["secrets", "pii-block", "injection", "enkrypt"]);
    assert_eq!(chain(github, "tools"), ["tools"]);
    assert_eq!(github["command"].as_str(), Some("npx"));
    assert_eq!(github["call_timeout_ms"].as_integer(), Some(60_000));
    assert_eq!(github["connect_timeout_ms"].as_integer(), Some(20_000));
    assert!(github["env"].get("GITHUB_PERSONAL_ACCESS_TOKEN").is_some());
    let fs = server(&c, "filesystem");
    assert_eq!(chain(fs, "input"), ["secrets", "pii-block", "injection"]);
    assert!(chain(fs, "output").is_empty() && chain(fs, "tools").is_empty());
    assert!(imported.toml.contains("# GitHub MCP server (issues, pull requests)"), "description as a comment");

    let remote = plugin(&c, "enkrypt");
    assert_eq!(remote["source"].as_str(), Some("builtin:guard-remote"));
    assert_eq!(remote["config"]["headers"]["apikey"].as_str(), Some("${ENKRYPT_API_KEY}"));
    assert_eq!(remote["config"]["headers"]["X-Enkrypt-Policy"].as_str(), Some("Sample Airline Guardrail"));
    assert_eq!(remote["config"]["block_list"].as_array().map(Vec::len), Some(2));
    assert_eq!(remote["grants"]["http_hosts"][0].as_str(), Some("api.enkryptai.com"));
    let pii_block = plugin(&c, "pii-block");
    assert_eq!(pii_block["config"]["entities"]["email"].as_str(), Some("block"));

    let keys = plugin(&c, "apikey")["config"]["keys"].as_array().expect("keys").clone();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["id"].as_str(), Some("dev@example.com"));
    assert_eq!(keys[0]["project"].as_str(), Some("default_project"));
    assert_eq!(keys[0]["scopes"].as_array().map(Vec::len), Some(2));

    for unmapped in [
        "admin_apikey",
        "enkrypt_tool_cache_expiration",
        "timeout_settings.auth_timeout",
        "timeout_settings.escalation_policies",
        "enkrypt_async_input_guardrails_enabled",
        "output_guardrails_policy.additional_config.relevancy",
        "enable_server_info_validation",
        "plugins.telemetry.config.insecure",
    ] {
        assert!(imported.report.contains(unmapped), "report lacks {unmapped}:\n{}", imported.report);
    }
    assert!(imported.report.contains("OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318"), "{}", imported.report);
    assert!(imported.report.contains("ENKRYPT_API_KEY"), "{}", imported.report);
}

#[test]
fn multi_project_config_keeps_projects_users_disabled_keys_and_tool_allow_lists() {
    let dir = scratch("multi-chains");
    let imported = import(&fixture("multi.json"), &dir);
    let c: toml::Value = toml::from_str(&imported.toml).expect("toml");
    // "demo" is the same in both configs (served once); "files" differs, so the
    // second becomes files-2.
    let names: Vec<&str> =
        c["servers"].as_array().expect("servers").iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["demo", "files", "files-2"]);
    assert_eq!(chain(server(&c, "demo"), "input"), ["injection"]);
    assert_eq!(chain(server(&c, "demo"), "output"), ["secrets", "pii-block"]);
    assert_eq!(chain(server(&c, "files"), "input"), ["secrets", "pii", "injection"]);
    assert!(chain(server(&c, "files-2"), "input").is_empty());
    assert_eq!(server(&c, "demo")["call_timeout_ms"].as_integer(), Some(45_000));
    // Tool allow-lists become allow rules covering every server.
    let rules: Vec<Vec<String>> = c["gateway"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["tools"].as_array().expect("tools").iter().map(|t| t.as_str().expect("glob").to_string()).collect())
        .collect();
    assert_eq!(rules, [vec!["demo/echo"], vec!["files/list_directory", "files/read_file"], vec!["files-2"]]);
    // No guard-remote: no detector of this file needs Enkrypt's API.
    assert!(!imported.toml.contains("guard-remote"));

    let keys = plugin(&c, "apikey")["config"]["keys"].as_array().expect("keys").clone();
    let summary: Vec<(String, String, Vec<String>, bool)> = keys
        .iter()
        .map(|k| {
            (
                k["id"].as_str().expect("id").to_string(),
                k["project"].as_str().expect("project").to_string(),
                k["scopes"].as_array().expect("scopes").iter().map(|s| s.as_str().expect("s").to_string()).collect(),
                k.get("disabled").and_then(toml::Value::as_bool).unwrap_or(false),
            )
        })
        .collect();
    let has = |id: &str, project: &str, scopes: &[&str], disabled: bool| {
        summary.iter().any(|(i, p, s, d)| i == id && p == project && s == scopes && *d == disabled)
    };
    assert_eq!(summary.len(), 4, "{summary:?}");
    assert!(has("alice@example.com", "support", &["demo", "files-2"], false), "{summary:?}");
    assert!(has("alice@example.com", "finance", &["demo", "files"], false), "{summary:?}");
    assert!(has("bob@example.com", "support", &["demo", "files-2"], true), "`disabled: true`: {summary:?}");
    assert!(has("carol@example.com", "finance", &["demo", "files"], true), "`is_active: false`: {summary:?}");
    assert!(imported.report.contains("enkrypt_log_level"), "{}", imported.report);
    assert!(imported.report.contains("RUST_LOG=debug"), "{}", imported.report);
}

#[test]
fn enkrypt_auth_and_remote_guardrails_are_mapped_and_reported() {
    let dir = scratch("remote");
    let imported = import(&fixture("enkrypt-auth.json"), &dir);
    let c: toml::Value = toml::from_str(&imported.toml).expect("toml");
    let crm = server(&c, "crm-sales");
    assert_eq!(chain(crm, "input"), ["injection", "enkrypt"]);
    assert_eq!(chain(crm, "output"), ["enkrypt-2"]);
    // A `$` in copied data is escaped so warden.toml does not read it as ${VAR}.
    assert!(imported.toml.contains("CRM_TOKEN = \"crm_tok_$$ecret_0000\""), "{}", imported.toml);
    let input_remote = plugin(&c, "enkrypt");
    assert_eq!(
        input_remote["config"]["url"].as_str(),
        Some("https://guardrails.acme.example:8443/guardrails/policy/detect")
    );
    assert_eq!(input_remote["grants"]["http_hosts"][0].as_str(), Some("guardrails.acme.example:8443"));
    assert_eq!(input_remote["limits"]["deadline_ms"].as_integer(), Some(8000));
    let blocks: Vec<&str> =
        input_remote["config"]["block_list"].as_array().expect("list").iter().filter_map(|v| v.as_str()).collect();
    assert_eq!(blocks, ["bias", "keyword_detector", "policy_violation", "sponge_attack", "topic_detector"]);
    for unmapped in [
        "enkrypt_use_remote_mcp_config",
        "enkrypt_cache_password",
        "plugins.auth.provider = enkrypt",
        "oauth_config",
        "additional_config.hallucination",
        "additional_config.adherence",
        "tool_guardrails_policy.block",
    ] {
        assert!(imported.report.contains(unmapped), "report lacks {unmapped}:\n{}", imported.report);
    }
    assert!(
        !imported.toml.contains("oauth-client-secret-Zx81") && !imported.report.contains("oauth-client-secret-Zx81")
    );
    assert!(imported.report.contains("OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector.internal:4318"));

    // Without Enkrypt's API the remote-only detectors are reported, not configured.
    let local = dir.join("local.toml");
    let o = warden(
        &[
            "import",
            "enkrypt",
            fixture("enkrypt-auth.json").to_str().expect("utf-8"),
            "--local-only",
            "--out",
            local.to_str().expect("utf-8"),
        ],
        &dir,
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let text = std::fs::read_to_string(&local).expect("written");
    assert!(!text.contains("guard-remote"), "{text}");
    assert!(text.contains("builtin:guard-policy"), "sponge_attack becomes size limits: {text}");
    assert!(stderr.contains("toxicity") && stderr.contains("not checked"), "{stderr}");
}

#[test]
fn bad_input_is_refused_with_its_path_and_exit_code_2() {
    let dir = scratch("bad");
    let write = |name: &str, body: &str| {
        let p = dir.join(name);
        std::fs::write(&p, body).expect("write");
        p
    };
    let run = |input: &Path| {
        let o = warden(&["import", "enkrypt", input.to_str().expect("utf-8")], &dir);
        (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned(), o.stdout)
    };
    let cases = [
        ("broken.json", "{\"mcp_configs\": {", "not valid JSON: line 1"),
        ("array.json", "[1, 2]", "(top level): expected an object"),
        ("no-servers.json", "{\"projects\": {}}", "mcp_configs: missing"),
        (
            "no-command.json",
            r#"{"mcp_configs": {"c1": {"mcp_config": [{"server_name": "s", "config": {"args": []}}]}}}"#,
            "mcp_configs.c1.mcp_config[0].config.command: missing",
        ),
        (
            "bad-args.json",
            r#"{"mcp_configs": {"c1": {"mcp_config": [{"server_name": "s", "config": {"command": "x", "args": "a b"}}]}}}"#,
            "mcp_configs.c1.mcp_config[0].config.args: expected a list of strings",
        ),
        (
            "bad-project.json",
            r#"{"mcp_configs": {"c1": {"mcp_config": []}}, "projects": {}, "users": {"u": {}}, "apikeys": {"plain-secret-key-123": {"project_id": "nope", "user_id": "u"}}}"#,
            ".project_id: \"nope\" is not in projects",
        ),
    ];
    for (name, body, expected) in cases {
        let (code, stderr, stdout) = run(&write(name, body));
        assert_eq!(code, Some(2), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert!(stdout.is_empty(), "{name}: nothing is written on failure");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert!(!stderr.contains("plain-secret-key-123"), "{name}: the key leaked in an error");
    }
    let (code, stderr, _) = run(&dir.join("absent.json"));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("cannot read"), "{stderr}");

    // An existing --out is kept unless --force.
    let out = write("existing.toml", "# mine\n");
    let args = |force: bool| {
        let mut a = vec!["import", "enkrypt", "--out", out.to_str().expect("utf-8")];
        if force {
            a.push("--force");
        }
        a
    };
    let input = fixture("typical.json");
    let mut a = args(false);
    a.insert(2, input.to_str().expect("utf-8"));
    let o = warden(&a, &dir);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&out).expect("kept"), "# mine\n");
    let mut a = args(true);
    a.insert(2, input.to_str().expect("utf-8"));
    assert!(warden(&a, &dir).status.success());
    assert!(std::fs::read_to_string(&out).expect("replaced").contains("[[servers]]"));
}

/// The multi-project fixture with every server pointed at the built-in demo server
/// (the fixture's commands are not installed here).
fn runnable_multi(dir: &Path) -> PathBuf {
    let mut config = json(&fixture("multi.json"));
    for (_, c) in config["mcp_configs"].as_object_mut().expect("configs") {
        for s in c["mcp_config"].as_array_mut().expect("servers") {
            s["config"]["command"] = Value::String(env!("CARGO_BIN_EXE_warden").into());
            s["config"]["args"] = serde_json::json!(["demo-server"]);
        }
    }
    let path = dir.join("multi-runnable.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&config).expect("json")).expect("write");
    path
}

fn key_of(source: &Value, user_id: &str, project_id: &str) -> String {
    source["apikeys"]
        .as_object()
        .expect("apikeys")
        .iter()
        .find(|(_, v)| v["user_id"] == user_id && v["project_id"] == project_id)
        .map(|(k, _)| k.clone())
        .expect("key in fixture")
}

struct Gateway(Started);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.child.kill();
        let _ = self.0.child.wait();
    }
}

#[tokio::test]
async fn an_imported_key_authenticates_on_a_running_gateway_and_a_disabled_one_is_refused() {
    let dir = scratch("e2e");
    let input = runnable_multi(&dir);
    let imported = import(&input, &dir);
    let check = warden(&["check", "--config", imported.out.to_str().expect("utf-8")], &dir);
    assert!(check.status.success(), "warden check (upstreams started):\n{}", String::from_utf8_lossy(&check.stderr));

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&imported.out)
        .env("XDG_CACHE_HOME", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("import-cache"))
        .env("XDG_STATE_HOME", dir.join("state-serve"))
        .env("WARDEN_KEYS_FILE", dir.join("keys.json"))
        .env("RUST_LOG", "info,rmcp=warn")
        .env_remove("WARDEN_CONFIG")
        .env_remove("WARDEN_API_KEY");
    let gw = Gateway(
        spawn_gateway(cmd, Duration::from_secs(60)).unwrap_or_else(|log| panic!("gateway did not start:\n{log}")),
    );
    let url = gw.0.url.clone();

    let source = json(&input);
    let alice = key_of(&source, "user-alice", "proj-support");
    warden_mcp::install_tls_provider();
    let config = StreamableHttpClientTransportConfig::with_uri(url.clone()).auth_header(alice.clone());
    let client = ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("alice connects");
    let mut tools: Vec<String> =
        client.peer().list_all_tools().await.expect("tools/list").into_iter().map(|t| t.name.to_string()).collect();
    tools.sort();
    // demo allows only echo; files-2 (support's drive) has no allow-list; finance's
    // "files" is outside alice's support key.
    assert!(tools.contains(&"demo__echo".to_string()), "{tools:?}");
    assert!(!tools.contains(&"demo__add".to_string()), "{tools:?}");
    assert!(tools.contains(&"files-2__add".to_string()), "{tools:?}");
    assert!(!tools.iter().any(|t| t.starts_with("files__")), "{tools:?}");
    let args = serde_json::json!({"message": "hello from an imported key"});
    let Value::Object(args) = args else { unreachable!("a literal object") };
    let r = client
        .peer()
        .call_tool(CallToolRequestParams::new("demo__echo".to_string()).with_arguments(args))
        .await
        .expect("call answered");
    assert_eq!(r.is_error, Some(false), "{r:?}");
    let text: String = r.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect();
    assert_eq!(text, "hello from an imported key");
    let _ = client.cancel().await;

    let bearer = |key: &str| format!("Authorization: Bearer {key}\r\n");
    assert_eq!(initialize_status(&url, &bearer(&alice)), 200);
    for (user, project, why) in
        [("user-bob", "proj-support", "disabled: true"), ("user-carol", "proj-finance", "is_active: false")]
    {
        let key = key_of(&source, user, project);
        assert_eq!(initialize_status(&url, &bearer(&key)), 401, "{why}");
    }
    assert_eq!(initialize_status(&url, &bearer("not-an-imported-key")), 401);
    let log = gw.0.log.lock().expect("log").join("\n");
    for key in source["apikeys"].as_object().expect("keys").keys() {
        assert!(!log.contains(key.as_str()), "a key reached the gateway's log");
    }
}
