//! `warden install --client …`: each client's entry shape, merging into an existing
//! file (other entries and unknown keys kept, a byte-identical backup first),
//! `--print` writing nothing, and a file that is not JSON left untouched. Every run
//! uses a temporary HOME and working directory.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("install-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("home")).expect("scratch dir");
    std::fs::create_dir_all(dir.join("work")).expect("scratch dir");
    dir
}

/// `warden install ARGS` with HOME = DIR/home, working directory DIR/work.
fn install(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("install")
        .args(args)
        .current_dir(dir.join("work"))
        .env("HOME", dir.join("home"))
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("WARDEN_CONFIG")
        .env("WARDEN_API_KEY", "wdn_install_test_secret_key")
        .env("RUST_LOG", "warn")
        .output()
        .expect("warden runs")
}

fn ok(o: &Output) -> String {
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "install failed: {stderr}");
    assert!(!stderr.contains("wdn_install_test_secret_key"), "the key leaked: {stderr}");
    stderr
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("written")).expect("valid JSON")
}

fn backups(path: &Path) -> Vec<PathBuf> {
    let name = path.file_name().and_then(|n| n.to_str()).expect("name").to_string();
    let mut found: Vec<PathBuf> = std::fs::read_dir(path.parent().expect("dir"))
        .expect("list")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&format!("{name}.bak-"))))
        .collect();
    found.sort();
    found
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn exe() -> String {
    std::fs::canonicalize(env!("CARGO_BIN_EXE_warden")).expect("exe").display().to_string()
}

#[test]
fn each_client_gets_its_own_shape_at_its_default_location() {
    let dir = scratch("shapes");
    let home = dir.join("home");

    ok(&install(&dir, &["--client", "claude-desktop"]));
    let c = read_json(&home.join(".config/Claude/claude_desktop_config.json"));
    let entry = &c["mcpServers"]["warden"];
    assert_eq!(entry["args"], json!(["serve", "--stdio"]), "{c}");
    assert!(entry.get("type").is_none(), "{c}");
    let command = entry["command"].as_str().expect("command");
    assert!(Path::new(command).is_absolute(), "{command}");
    assert_eq!(std::fs::canonicalize(command).expect("exists").display().to_string(), exe());

    ok(&install(&dir, &["--client", "cursor", "--transport", "http", "--url", "http://127.0.0.1:9000/mcp"]));
    let c = read_json(&home.join(".cursor/mcp.json"));
    assert_eq!(
        c["mcpServers"]["warden"],
        json!({"url": "http://127.0.0.1:9000/mcp", "headers": {"Authorization": "Bearer ${env:WARDEN_API_KEY}"}})
    );

    ok(&install(&dir, &["--client", "claude-code", "--transport", "http", "--api-key-env", "TEAM_KEY"]));
    let c = read_json(&home.join(".claude.json"));
    assert_eq!(
        c["mcpServers"]["warden"],
        json!({"type": "http", "url": "http://127.0.0.1:8808/mcp", "headers": {"Authorization": "Bearer ${TEAM_KEY}"}})
    );

    ok(&install(&dir, &["--client", "vscode", "--transport", "http"]));
    let c = read_json(&dir.join("work/.vscode/mcp.json"));
    assert_eq!(c["servers"]["warden"]["type"], "http");
    assert_eq!(c["servers"]["warden"]["headers"]["Authorization"], "Bearer ${input:warden-api-key}");
    assert_eq!(
        c["inputs"],
        json!([{"type": "promptString", "id": "warden-api-key", "description": "Warden API key", "password": true}])
    );
    // Again, as stdio under another name: the input is not duplicated.
    ok(&install(&dir, &["--client", "vscode", "--name", "warden-local"]));
    let c = read_json(&dir.join("work/.vscode/mcp.json"));
    assert_eq!(c["servers"]["warden-local"]["type"], "stdio");
    assert_eq!(c["servers"]["warden"]["type"], "http");
    assert_eq!(c["inputs"].as_array().map(Vec::len), Some(1));

    // No key is ever written into a client's file.
    for f in files(&dir) {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        assert!(!text.contains("wdn_install_test_secret_key"), "{}", f.display());
    }
}

#[test]
fn stdio_entry_names_the_warden_config_by_absolute_path() {
    let dir = scratch("config");
    std::fs::write(dir.join("work/warden.toml"), "").expect("config");
    let o = install(&dir, &["--client", "claude-code", "--config", "warden.toml", "--print"]);
    ok(&o);
    let printed: Value = serde_json::from_slice(&o.stdout).expect("json");
    let expected = dir.join("work/warden.toml").display().to_string();
    assert_eq!(printed["mcpServers"]["warden"]["args"], json!(["serve", "--stdio", "--config", expected]));
    let o = install(&dir, &["--client", "claude-code", "--config", "missing.toml", "--print"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such file"));
}

#[test]
fn merging_keeps_other_servers_and_unknown_keys_after_a_byte_identical_backup() {
    let dir = scratch("merge");
    let file = dir.join("work/mcp.json");
    // Hand-formatted, so a rewrite would not be byte-identical by chance.
    let original = "{\n  \"mcpServers\": {\n    \"github\": {\"command\": \"npx\", \"args\": [\"-y\", \"@modelcontextprotocol/server-github\"], \"env\": {\"GITHUB_TOKEN\": \"ghp_x\"}},\n    \"warden\": {\"command\": \"/old/warden\"}\n  },\n  \"globalShortcut\": \"Ctrl+Space\",\n  \"experimental\": {\"flags\": [1, 2, 3]}\n}\n";
    std::fs::write(&file, original).expect("write");
    let stderr = ok(&install(&dir, &["--client", "cursor", "--config-file", file.to_str().expect("utf-8")]));
    let c = read_json(&file);
    assert_eq!(
        c["mcpServers"]["github"],
        json!({"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"], "env": {"GITHUB_TOKEN": "ghp_x"}})
    );
    assert_eq!(c["globalShortcut"], "Ctrl+Space");
    assert_eq!(c["experimental"], json!({"flags": [1, 2, 3]}));
    assert_eq!(c["mcpServers"]["warden"]["args"], json!(["serve", "--stdio"]), "the old entry is replaced");
    let found = backups(&file);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(std::fs::read(&found[0]).expect("backup"), original.as_bytes());
    assert!(stderr.contains(&found[0].display().to_string()), "{stderr}");

    // A second run backs up the first result under another name.
    let first = std::fs::read(&file).expect("first");
    ok(&install(&dir, &["--client", "cursor", "--transport", "http", "--config-file", file.to_str().expect("utf-8")]));
    let found = backups(&file);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().any(|b| std::fs::read(b).expect("backup") == first));

    // Parent directories are created for a new file, and there is nothing to back up.
    let nested = dir.join("work/a/b/claude_desktop_config.json");
    ok(&install(&dir, &["--client", "claude-desktop", "--config-file", nested.to_str().expect("utf-8")]));
    assert!(read_json(&nested)["mcpServers"]["warden"]["command"].is_string());
    assert!(backups(&nested).is_empty());
}

#[test]
fn print_writes_nothing() {
    let dir = scratch("print");
    for client in ["claude-desktop", "cursor", "claude-code", "vscode"] {
        let o = install(&dir, &["--client", client, "--print"]);
        ok(&o);
        let printed: Value = serde_json::from_slice(&o.stdout).expect("json on stdout");
        let section = if client == "vscode" { "servers" } else { "mcpServers" };
        assert!(printed[section]["warden"].is_object(), "{client}: {printed}");
    }
    let o = install(&dir, &["--client", "cursor", "--transport", "http", "--print"]);
    ok(&o);
    assert!(files(&dir).is_empty(), "--print wrote {:?}", files(&dir));
}

#[test]
fn a_file_that_is_not_json_is_refused_and_left_untouched() {
    let dir = scratch("invalid");
    for (name, body) in [
        ("broken.json", "{\"mcpServers\": {\"a\": "),
        ("list.json", "[1, 2]"),
        ("servers-list.json", "{\"mcpServers\": []}"),
    ] {
        let file = dir.join("work").join(name);
        std::fs::write(&file, body).expect("write");
        let o = install(&dir, &["--client", "cursor", "--config-file", file.to_str().expect("utf-8")]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("left untouched") && stderr.contains(name), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(std::fs::read_to_string(&file).expect("kept"), body, "{name}");
        assert!(backups(&file).is_empty(), "{name}: nothing written, no backup");
    }
}

#[test]
fn claude_desktop_over_http_and_bad_names_are_refused() {
    let dir = scratch("refused");
    let o = install(&dir, &["--client", "claude-desktop", "--transport", "http"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--transport stdio"));
    let o = install(&dir, &["--client", "cursor", "--transport", "http", "--api-key-env", "NOT A VAR"]);
    assert_eq!(o.status.code(), Some(2));
    let o = install(&dir, &["--client", "cursor", "--transport", "http", "--url", "ftp://x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(files(&dir).is_empty());
}
