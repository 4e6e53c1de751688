//! End to end: the operator page (`[gateway.admin]`) of the real `warden` binary,
//! fronting the demo upstream and a small upstream whose tool description holds a
//! `<script>` tag. After a blocked call, (a) raw HTTP: no page without the key,
//! strict headers, escaping, the login form, one-time login links; (b) headless
//! Chromium (installed by `.ci/run`): the rendered DOM and a screenshot.

mod common;

use common::Gateway;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const API_KEY: &str = "wdn_admin_test_mcp_key_01234";
const ADMIN_KEY: &str = "wdn_admin_page_key_5678_abcdef";
/// A GitHub token: the secrets guardrail blocks it.
const TOKEN: &str = "ghp_4fT9qLm2Xv8ZrB7nK3pW6yH1sD5cJ0eA9uQz";

/// A minimal MCP server on stdio whose one tool's description is hostile HTML.
const EVIL_SERVER: &str = r#"
import sys, json
for line in sys.stdin:
    m = json.loads(line)
    if "id" not in m:
        continue
    method = m.get("method")
    if method == "initialize":
        r = {"protocolVersion": m["params"]["protocolVersion"], "capabilities": {"tools": {}},
             "serverInfo": {"name": "evil", "version": "1"}}
    elif method == "tools/list":
        r = {"tools": [{"name": "shout", "inputSchema": {"type": "object"},
                        "description": "<script>alert('pwned')</script><b onmouseover=x>Shout</b>"}]}
    elif method == "ping":
        r = {}
    else:
        print(json.dumps({"jsonrpc": "2.0", "id": m["id"], "error": {"code": -32601, "message": "no"}}), flush=True)
        continue
    print(json.dumps({"jsonrpc": "2.0", "id": m["id"], "result": r}), flush=True)
"#;

fn hash(k: &str) -> String {
    hex::encode(Sha256::digest(k.as_bytes()))
}

fn start(admin: bool) -> Gateway {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let script = tmp.join(format!("admin-evil-{}-{n}.py", std::process::id()));
    std::fs::write(&script, EVIL_SERVER).expect("write upstream");
    let config = format!(
        r#"
[gateway]
auth = ["apikey"]
input = ["secrets"]
tools = ["tools"]

[gateway.admin]
enabled = {admin}
key_sha256 = "{}"
refresh_secs = 0

[[servers]]
name = "demo"
command = "${{WARDEN_EXE}}"
args = ["demo-server", "--faults"]

[[servers]]
name = "evil"
command = "python3"
args = ["{}"]
tools = []

[[plugins]]
name = "apikey"
kind = "auth"
source = "builtin:auth-apikey"
config = {{ keys = [{{ id = "ops", sha256 = "{}" }}] }}

[[plugins]]
name = "secrets"
kind = "guardrail"
source = "builtin:guard-secrets"

[[plugins]]
name = "tools"
kind = "guardrail"
source = "builtin:guard-tools"
"#,
        hash(ADMIN_KEY),
        script.display(),
        hash(API_KEY)
    );
    Gateway::serve("admin", &config, &[])
}

/// An HTTP/1.1 response: status, headers (names lower-cased), body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// One request on a fresh connection; `Host` is the gateway's address unless given.
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()));
    let mut sock = std::net::TcpStream::connect(addr).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    sock.write_all(head.as_bytes()).expect("send");
    let mut raw = Vec::new();
    let _ = sock.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.get(9..12)).and_then(|c| c.parse().ok()).expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    // Bodies here are small; a chunked one is decoded well enough by dropping the size lines.
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body.split("\r\n").enumerate().filter(|(i, _)| i % 2 == 1).map(|(_, s)| s).collect::<String>()
    } else {
        body.to_string()
    };
    Reply { status, headers, body }
}

fn assert_strict_headers(r: &Reply, what: &str) {
    let csp = r.header("content-security-policy").unwrap_or_else(|| panic!("{what}: no CSP"));
    assert!(csp.contains("default-src 'none'") && !csp.contains("script-src"), "{what}: {csp}");
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{what}");
}

/// A one-time login path, minted with the admin key.
fn login_path(addr: &str) -> String {
    let bearer = format!("Bearer {ADMIN_KEY}");
    let r = http(addr, "POST", "/admin/token", &[("Authorization", &bearer)], "");
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).expect("json");
    v["login_path"].as_str().expect("login_path").to_string()
}

/// Make one call the secrets guardrail blocks, so "recent blocks" has an entry.
async fn blocked_call(url: &str) {
    warden_mcp::install_tls_provider();
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_string()).auth_header(API_KEY);
    let client = ().serve(StreamableHttpClientTransport::from_config(config)).await.expect("client connects");
    let Value::Object(args) = json!({"message": format!("deploy with {TOKEN}")}) else { unreachable!() };
    let request = CallToolRequestParams::new("demo__echo").with_arguments(args);
    let r = tokio::time::timeout(Duration::from_secs(30), client.peer().call_tool(request))
        .await
        .expect("in time")
        .expect("answered");
    assert_eq!(r.is_error, Some(true), "the call is blocked");
    client.cancel().await.expect("client closes");
}

#[tokio::test]
async fn the_admin_page_needs_its_key_escapes_upstream_text_and_renders_in_chromium() {
    let gw = start(true);
    blocked_call(&gw.url).await;
    let addr = gw.addr.as_str();
    let bearer = format!("Bearer {ADMIN_KEY}");

    // (a) No key, a wrong key, the MCP key: 401 and a login form, never the page.
    for auth in [None, Some("Bearer wrong-key".to_string()), Some(format!("Bearer {API_KEY}"))] {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        let r = http(addr, "GET", "/admin", &headers, "");
        assert_eq!(r.status, 401, "{auth:?}");
        assert!(r.header("www-authenticate").is_some());
        assert!(r.body.contains("name=\"key\"") && !r.body.contains("demo__echo"), "{}", r.body);
        assert_strict_headers(&r, "401 page");
        let r = http(addr, "GET", "/admin/status.json", &headers, "");
        assert_eq!(r.status, 401);
        assert!(!r.body.contains("demo"));
    }
    // A foreign Host (DNS rebinding) is refused even with the key.
    let r = http(addr, "GET", "/admin", &[("Host", "attacker.example"), ("Authorization", &bearer)], "");
    assert_eq!(r.status, 403);

    // With the key: the page, strict headers, upstream text escaped.
    let r = http(addr, "GET", "/admin", &[("Authorization", &bearer)], "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_strict_headers(&r, "page");
    assert!(r.header("content-type").is_some_and(|c| c.starts_with("text/html")));
    assert!(r.body.contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;"), "escaped: {}", r.body);
    assert!(!r.body.contains("<script") && !r.body.contains("<b onmouseover"), "raw upstream HTML in the page");
    assert!(r.body.contains("demo__echo") && r.body.contains("evil__shout"));
    assert!(!r.body.contains(TOKEN) && !r.body.contains(ADMIN_KEY), "no payloads or keys on the page");

    // The JSON variant.
    let r = http(addr, "GET", "/admin/status.json", &[("Authorization", &bearer)], "");
    assert_eq!(r.status, 200);
    assert_strict_headers(&r, "status.json");
    let status: Value = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body));
    let upstreams: Vec<&str> =
        status["upstreams"].as_array().expect("upstreams").iter().filter_map(|u| u["name"].as_str()).collect();
    assert_eq!(upstreams, ["demo", "evil"]);
    assert_eq!(status["upstreams"][0]["state"], "connected", "{status}");
    assert!(status["upstreams"][0]["tools"].as_u64() > Some(5));
    let block = &status["recent_blocks"][0];
    assert_eq!(
        (block["stage"].as_str(), block["server"].as_str(), block["tool"].as_str()),
        (Some("input"), Some("demo"), Some("echo")),
        "{status}"
    );
    let detector = block["detectors"][0].as_str().expect("a detector").to_string();
    assert!(detector.starts_with("secrets."), "{detector}");
    assert!(
        status["hidden_tools"].as_array().expect("hidden").iter().any(|h| h["tool"] == "weather"),
        "the poisoned demo tool is listed as hidden: {status}"
    );
    let plugins = status["plugins"].as_array().expect("plugins");
    let secrets = plugins.iter().find(|p| p["plugin"] == "secrets").unwrap_or_else(|| panic!("{plugins:?}"));
    assert!(secrets["calls"].as_u64() > Some(0) && secrets["fuel_consumed"].as_u64() > Some(0), "{secrets}");
    assert!(!r.body.contains(TOKEN));

    // The login form sets an HttpOnly, SameSite=Strict cookie; a wrong key does not.
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let r = http(addr, "POST", "/admin/login", &form, "key=nope");
    assert_eq!(r.status, 401);
    assert!(r.header("set-cookie").is_none());
    let r = http(addr, "POST", "/admin/login", &form, &format!("key={ADMIN_KEY}"));
    assert_eq!((r.status, r.header("location")), (303, Some("/admin")));
    let cookie = r.header("set-cookie").expect("a cookie").to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains(ADMIN_KEY), "the cookie is not the key");
    let pair = cookie.split(';').next().expect("name=value").to_string();
    let r = http(addr, "GET", "/admin", &[("Cookie", &pair)], "");
    assert_eq!(r.status, 200);
    let r = http(addr, "GET", "/admin", &[("Cookie", "warden_admin=1.2.3")], "");
    assert_eq!(r.status, 401, "a forged cookie");

    // One-time login links: minted only with the key, usable once.
    let r = http(addr, "POST", "/admin/token", &[("Cookie", &pair)], "");
    assert_eq!(r.status, 401, "a session cannot mint links");
    let link = login_path(addr);
    let r = http(addr, "GET", &link, &[], "");
    assert_eq!((r.status, r.header("location")), (303, Some("/admin")));
    assert!(r.header("set-cookie").is_some_and(|c| c.contains("HttpOnly")));
    assert_eq!(http(addr, "GET", &link, &[], "").status, 401, "a link works once");

    // (b) Chromium: the rendered DOM, then a screenshot.
    let chromium = chromium();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("admin-chromium-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let dom = run_chromium(
        &chromium,
        &dir.join("profile-dom"),
        &["--dump-dom".into()],
        &format!("http://{addr}{}", login_path(addr)),
    );
    for expected in ["demo", "evil", "demo__echo", "evil__shout", detector.as_str(), "Recent blocks"] {
        assert!(dom.contains(expected), "{expected} missing from the rendered page:\n{dom}");
    }
    assert!(!dom.contains("<script"), "no script element in the DOM");
    let png = dir.join("admin.png");
    let args = [format!("--screenshot={}", png.display()), "--window-size=1280,900".to_string()];
    run_chromium(&chromium, &dir.join("profile-shot"), &args, &format!("http://{addr}{}", login_path(addr)));
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", png.display()));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().expect("4 bytes"));
    let height = u32::from_be_bytes(bytes[20..24].try_into().expect("4 bytes"));
    assert_eq!((width, height), (1280, 900));
    // A blank 1280x900 page compresses to a few KB; tables of text do not.
    assert!(bytes.len() > 20_000, "the screenshot looks blank ({} bytes)", bytes.len());
    let log = gw.log.lock().expect("log").join("\n");
    assert!(!log.contains(ADMIN_KEY) && !log.contains(TOKEN) && !log.contains(&link), "a secret reached the log");
    // Kept for a look with WARDEN_KEEP_SCREENSHOT=1.
    if std::env::var_os("WARDEN_KEEP_SCREENSHOT").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test]
async fn the_admin_page_is_off_unless_enabled() {
    let gw = start(false);
    let r = http(&gw.addr, "GET", "/admin", &[("Authorization", &format!("Bearer {ADMIN_KEY}"))], "");
    assert_eq!(r.status, 404);
    assert_eq!(http(&gw.addr, "GET", "/admin/status.json", &[], "").status, 404);
}

/// The Chromium binary. `.ci/run` installs Debian's `chromium`; its absence is a
/// failure, not a skip.
fn chromium() -> PathBuf {
    let candidates = ["chromium", "chromium-browser", "google-chrome"];
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in candidates {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "Chromium is not installed (looked for {candidates:?} on PATH): run `apt-get install -y chromium` (.ci/run does)"
    );
}

/// Run headless Chromium on `url` with a fresh profile; its stdout. Bounded in
/// time; the whole process group (renderers, crash handler) is killed afterwards.
fn run_chromium(chromium: &Path, profile: &Path, extra: &[String], url: &str) -> String {
    use std::os::unix::process::CommandExt;
    std::fs::create_dir_all(profile).expect("profile dir");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("chromium starts");
    let group = child.id();
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Our own process group only: chromium and what it spawned.
    let _ = Command::new("kill").args(["-KILL", "--", &format!("-{group}")]).stderr(Stdio::null()).status();
    let _ = child.wait();
    let status = status.unwrap_or_else(|| panic!("chromium did not finish within 90 s"));
    let out = reader.join().unwrap_or_default();
    assert!(status.success(), "chromium failed: {status}");
    out
}
