//! What the end-to-end test binaries share: starting a `warden serve` process on an
//! ephemeral port and collecting its stderr. Each binary wraps it in a `Gateway` of
//! its own (its config, environment and clients differ).

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
