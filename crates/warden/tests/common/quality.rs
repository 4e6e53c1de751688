//! What the detector-quality binaries (guardrail_quality, threats_quality) share:
//! reading a labeled case file, running `warden scan` over cases the way an operator
//! would, and counting hits and misses.

use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The cases of `tests/cases/{file}.jsonl`, one JSON object per non-empty line.
pub fn cases(file: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/cases").join(format!("{file}.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("{file}.jsonl line {}: {e}", n + 1)))
        .collect()
}

/// One `warden scan --direction DIRECTION` over `lines` (its JSONL input) with the
/// gateway config `config` (written as `quality-{tag}.toml`); its output lines.
pub fn scan(tag: &str, config: &str, direction: &str, lines: &[Value]) -> Vec<Value> {
    scan_with_env(tag, config, direction, lines, &[]).0
}

/// [`scan`] with `env` added to the scanner's environment; also returns its stderr.
pub fn scan_with_env(
    tag: &str,
    config: &str,
    direction: &str,
    lines: &[Value],
    env: &[(&str, &str)],
) -> (Vec<Value>, String) {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = tmp.join(format!("quality-{tag}.toml"));
    std::fs::write(&path, config).expect("write config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["scan", "--direction", direction, "--config"])
        .arg(&path)
        .env("XDG_CACHE_HOME", tmp.join("quality-cache"))
        .env("XDG_STATE_HOME", tmp.join(format!("quality-state-{}", std::process::id())))
        .env("RUST_LOG", "warn")
        .env_remove("WARDEN_CONFIG")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("warden scan runs");
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("scan finishes");
    writer.join().expect("writer").expect("write stdin");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "warden scan failed: {stderr}");
    let answers = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("scan output is JSON"))
        .collect();
    (answers, stderr)
}

/// Confusion counts of one set of cases.
#[derive(Default)]
pub struct Tally {
    pub tp: u32,
    pub fn_: u32,
    pub fp: u32,
    pub tn: u32,
}

impl Tally {
    pub fn count(&mut self, positive: bool, flagged: bool) {
        match (positive, flagged) {
            (true, true) => self.tp += 1,
            (true, false) => self.fn_ += 1,
            (false, true) => self.fp += 1,
            (false, false) => self.tn += 1,
        }
    }
    pub fn recall(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fn_).max(1))
    }
    pub fn fpr(&self) -> f64 {
        f64::from(self.fp) / f64::from((self.fp + self.tn).max(1))
    }
    pub fn precision(&self) -> f64 {
        f64::from(self.tp) / f64::from((self.tp + self.fp).max(1))
    }
}
