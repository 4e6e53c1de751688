//! What the end-to-end test binaries share: starting a `warden serve` process on an
//! ephemeral port and collecting its stderr ([`spawn_gateway`], for binaries whose
//! gateways need their own environment, and [`Gateway::serve`], a config file with the
//! usual test environment), an MCP client for it, and signing test JWTs.
//! Each binary uses part of this module.
#![allow(dead_code)]

pub mod quality;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A `warden serve` that said where it listens.
pub struct Started {
    pub child: Child,
    /// `http://127.0.0.1:PORT/mcp`.
    pub url: String,
    /// Every stderr line so far (a reader thread keeps appending).
    pub log: Arc<Mutex<Vec<String>>>,
}

/// Spawn `cmd` (a `warden serve --listen 127.0.0.1:0 …` with its environment set)
/// with stderr piped, and wait up to `timeout` for its "Warden listening on" line.
/// On failure the process is killed and its log returned.
pub fn spawn_gateway(mut cmd: Command, timeout: Duration) -> Result<Started, String> {
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("warden starts");
    let stderr = child.stderr.take().expect("piped");
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.split("Warden listening on ").nth(1) {
                let _ = tx.send(url.trim().to_string());
            }
            sink.lock().expect("log lock").push(line);
        }
    });
    match rx.recv_timeout(timeout) {
        Ok(url) => Ok(Started { child, url, log }),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(log.lock().expect("log lock").join("\n"))
        }
    }
}

/// A `warden serve` on `config` with the usual test environment (plugin cache shared
/// by the binaries, its own state directory, no WARDEN_CONFIG or WARDEN_API_KEY from
/// the caller's shell); killed on drop.
pub struct Gateway {
    pub child: Child,
    /// `http://127.0.0.1:PORT/mcp`.
    pub url: String,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Gateway {
    /// Start it on `config` (TOML text), named `tag` in the test tmp dir, with `env`
    /// added; panics with the gateway's log if it does not listen within 90 s.
    pub fn serve(tag: &str, config: &str, env: &[(&str, &str)]) -> Gateway {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let name = format!("{tag}-{}-{n}", std::process::id());
        let path = tmp.join(format!("{name}.toml"));
        std::fs::write(&path, config).expect("write config");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&path)
            .env("XDG_CACHE_HOME", tmp.join("e2e-cache"))
            .env("XDG_STATE_HOME", tmp.join(format!("{name}-state")))
            .env("XDG_CONFIG_HOME", tmp.join(format!("{name}-state")))
            .env("RUST_LOG", "info,rmcp=warn")
            .env_remove("WARDEN_CONFIG")
            .env_remove("WARDEN_API_KEY")
            .envs(env.iter().copied());
        let Started { child, url, log } =
            spawn_gateway(cmd, Duration::from_secs(90)).unwrap_or_else(|log| panic!("gateway did not start:\n{log}"));
        let addr = url.trim_start_matches("http://").trim_end_matches("/mcp").to_string();
        Gateway { child, url, addr, log }
    }

    /// An MCP client with `key` as its bearer token.
    pub async fn client(&self, key: &str) -> rmcp::service::RunningService<rmcp::service::RoleClient, ()> {
        use rmcp::ServiceExt;
        use rmcp::transport::StreamableHttpClientTransport;
        use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
        warden_mcp::install_tls_provider();
        let config = StreamableHttpClientTransportConfig::with_uri(self.url.clone()).auth_header(key);
        let connect = ().serve(StreamableHttpClientTransport::from_config(config));
        tokio::time::timeout(Duration::from_secs(60), connect)
            .await
            .expect("client connects within 60 s")
            .expect("client connects")
    }

    /// Its stderr so far.
    pub fn log_text(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// base64url without padding (JWT segments, JWK members).
pub fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A JWT with header `header` over `claims`, signed HMAC-SHA256 with `secret` (by
/// hand, RFC 2104, so the tests do not trust the code under test to sign).
pub fn sign_hs256(secret: &[u8], header: &str, claims: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    let signing_input = format!("{}.{}", b64url(header.as_bytes()), b64url(claims.to_string().as_bytes()));
    let mut key = [0u8; 64];
    key[..secret.len()].copy_from_slice(secret);
    let pad = |byte: u8| key.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(signing_input.as_bytes()).finalize();
    let mac = Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize();
    format!("{signing_input}.{}", b64url(&mac))
}

/// The HTTP status of a raw MCP `initialize` POST to the gateway at `url`, with the
/// header lines `extra` (each ending in `\r\n`, e.g. an `Authorization` line).
pub fn initialize_status(url: &str, extra: &str) -> u16 {
    let addr = url.trim_start_matches("http://").trim_end_matches("/mcp");
    raw_initialize(url, &format!("Host: {addr}\r\n{extra}")).0
}

/// A raw MCP `initialize` POST to the gateway at `url` with the header lines `headers`
/// (`Host` included, each ending in `\r\n`): the status code and the response head.
pub fn raw_initialize(url: &str, headers: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://").trim_end_matches("/mcp");
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#;
    let request = format!(
        "POST /mcp HTTP/1.1\r\n{headers}Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut sock = std::net::TcpStream::connect(addr).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    sock.write_all(request.as_bytes()).expect("send");
    let mut response = Vec::new();
    let _ = sock.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let head = response.split("\r\n\r\n").next().unwrap_or_default().to_string();
    (response.get(9..12).and_then(|c| c.parse().ok()).expect("status code"), head)
}

/// The open file descriptors of process `pid`.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// The child processes of `pid` as (pid, state) — state `Z` is an unreaped zombie.
pub fn children(pid: u32) -> Vec<(u32, char)> {
    let Ok(procs) = std::fs::read_dir("/proc") else { return Vec::new() };
    procs
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
            let mut rest = stat[stat.rfind(')')? + 1..].split_whitespace();
            let state = rest.next()?.chars().next()?;
            let ppid: u32 = rest.next()?.parse().ok()?;
            (ppid == pid).then_some((p, state))
        })
        .collect()
}
