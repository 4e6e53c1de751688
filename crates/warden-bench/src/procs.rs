//! The processes a run starts: the HTTP echo upstream and `warden serve` instances. Each is
//! killed when dropped; their stderr is drained (a full pipe would stall them) and the last
//! lines kept for error messages.

use anyhow::{Context, Result, bail};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The API key every gateway with the `apikey` plugin accepts (`WARDEN_API_KEY`).
pub const API_KEY: &str = "wdn_bench_0123456789abcdef";

/// A child process, killed on drop.
pub struct Proc {
    child: Child,
    /// The MCP endpoint it announced.
    pub url: String,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now, in KiB (VmRSS from /proc/PID/status).
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid())
    }

    /// The last lines it wrote to stderr.
    pub fn tail(&self) -> String {
        self.log.lock().map(|l| l.iter().cloned().collect::<Vec<_>>().join("\n")).unwrap_or_default()
    }

    /// `host:port` of its endpoint.
    pub fn authority(&self) -> &str {
        self.url.trim_start_matches("http://").trim_end_matches("/mcp")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// VmRSS of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Start `command`, drain `stream` (its stdout or stderr) line by line, and wait for the
/// line containing `marker`; the URL is what follows it. Returns the process and the time
/// from spawn to that line.
fn spawn_announcing(
    mut command: Command,
    from_stdout: bool,
    marker: &str,
    timeout: Duration,
) -> Result<(Proc, Duration)> {
    let (stdout, stderr) =
        if from_stdout { (Stdio::piped(), Stdio::inherit()) } else { (Stdio::null(), Stdio::piped()) };
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("cannot start {:?}", command.get_program()))?;
    let stream: Box<dyn std::io::Read + Send> = if from_stdout {
        Box::new(child.stdout.take().context("piped stdout")?)
    } else {
        Box::new(child.stderr.take().context("piped stderr")?)
    };
    let log = Arc::new(Mutex::new(VecDeque::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = log.clone();
    let marker = marker.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let Some(url) = line.split(&marker).nth(1) {
                let _ = tx.send((url.trim().to_string(), started.elapsed()));
            }
            if let Ok(mut l) = sink.lock() {
                if l.len() == 50 {
                    l.pop_front();
                }
                l.push_back(line);
            }
        }
    });
    let mut proc = Proc { child, url: String::new(), log };
    match rx.recv_timeout(timeout) {
        Ok((url, elapsed)) => {
            proc.url = url;
            Ok((proc, elapsed))
        }
        Err(_) => bail!("{:?} did not start within {timeout:?}:\n{}", command.get_program(), proc.tail()),
    }
}

/// Start this executable's HTTP echo server on a free loopback port.
pub fn echo_http() -> Result<Proc> {
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let mut command = Command::new(exe);
    command.args(["echo-server", "--http", "127.0.0.1:0"]);
    Ok(spawn_announcing(command, true, "listening on ", Duration::from_secs(30))?.0)
}

/// CPU time (user + system) process `pid` has used so far, in seconds.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces, inside parentheses):
    // state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / clock_ticks())
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The child processes of `pid` (every thread's), e.g. a gateway's stdio upstream.
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|c| c.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<u32>>())
        .collect()
}

/// Where a gateway keeps its state: the plugin cache (`XDG_CACHE_HOME`) and tool pins
/// (`XDG_STATE_HOME`).
pub struct GatewayEnv {
    pub cache_home: PathBuf,
    pub state_home: PathBuf,
}

/// Start `warden serve --config CONFIG` on a free loopback port. Returns the process and
/// the time from spawn to its "listening" line.
pub fn warden(warden: &Path, config: &Path, env: &GatewayEnv) -> Result<(Proc, Duration)> {
    let mut command = Command::new(warden);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .env("XDG_CACHE_HOME", &env.cache_home)
        .env("XDG_STATE_HOME", &env.state_home)
        .env("WARDEN_API_KEY", API_KEY)
        // The gateway's default log filter, written out so a caller's RUST_LOG does not
        // change what is measured.
        .env("RUST_LOG", "info,rmcp=warn")
        .env_remove("WARDEN_CONFIG")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT");
    spawn_announcing(command, false, "Warden listening on ", Duration::from_secs(300))
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Result<TempDir> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("warden-bench-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(TempDir(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
