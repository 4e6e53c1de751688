//! Tool results that instruct the agent: to run commands (a download piped into a
//! shell, a reverse shell, an encoded PowerShell, or "run/execute the following
//! command" followed by a risky command) or to fetch internal URLs (cloud metadata,
//! loopback, private and internal hosts).

use crate::config::Policy;
use crate::net;
use crate::ssrf;
use crate::walk::Role;

pub(crate) const DOWNLOADERS: &[&str] =
    &["curl", "wget", "iwr", "invoke-webrequest", "irm", "invoke-restmethod", "fetch"];
const SHELLS: &[&str] = &[
    "sh",
    "bash",
    "zsh",
    "ksh",
    "dash",
    "python",
    "python3",
    "perl",
    "ruby",
    "node",
    "iex",
    "invoke-expression",
    "pwsh",
    "powershell",
    "source",
];
const RUN_VERBS: &[&str] = &["run", "execute", "exec", "paste", "type", "enter", "invoke", "launch", "issue"];
const FETCH_VERBS: &[&str] = &[
    "fetch", "get", "visit", "open", "navigate", "browse", "request", "curl", "wget", "download", "load", "access",
    "call", "query", "retrieve", "read", "go", "send", "post", "check", "connect", "hit", "poll", "grab", "ping",
    "use", "contact", "reach", "follow",
];
const URGENT: &[&str] = &[
    "assistant",
    " ai ",
    "agent",
    "you must",
    "immediately",
    "without asking",
    "do not tell",
    "don't tell",
    "silently",
    "automatically",
    "before responding",
    "before answering",
    "to continue",
    "required",
    "mandatory",
    "must be run",
];
const DESCRIPTIVE: &[&str] = &[
    "listening",
    "running on",
    "running at",
    "available at",
    "serving",
    "started",
    "bound to",
    "is up at",
    "was",
    "example",
    "e.g.",
    "default",
];

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Positions of whole-word occurrences of any of `words` in `lower` (capped).
fn word_hits(lower: &str, words: &[&str], limit: usize) -> Vec<(usize, usize)> {
    let b = lower.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() && out.len() < limit {
        if !is_word(b[i]) || (i > 0 && is_word(b[i - 1])) {
            i += 1;
            continue;
        }
        let end = b[i..].iter().position(|&c| !is_word(c)).map_or(b.len(), |p| i + p);
        if let Some(w) = lower.get(i..end)
            && words.contains(&w)
        {
            out.push((i, end));
        }
        i = end.max(i + 1);
    }
    out
}

fn window(s: &str, from: usize, to: usize) -> &str {
    let mut a = from.min(s.len());
    while !s.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = to.min(s.len());
    while !s.is_char_boundary(b) {
        b += 1;
    }
    &s[a..b]
}

/// A download piped into an interpreter: `curl … | sh`, `bash <(curl …)`,
/// `iex (iwr …)`, `sh -c "$(wget …)"`.
pub(crate) fn pipe_to_shell(lower: &str) -> Option<usize> {
    for (start, end) in word_hits(lower, DOWNLOADERS, 256) {
        let line_end = lower[end..].find('\n').map_or(lower.len(), |p| end + p);
        let line = window(lower, end, line_end.min(end + 600));
        for (k, _) in line.match_indices('|') {
            let rest = line[k + 1..].trim_start();
            let mut words = rest.split_whitespace().filter(|w| *w != "sudo" && !w.starts_with('-') && !w.contains('='));
            let w = words.next().unwrap_or("");
            let w: String =
                w.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '/' || *c == '.').collect();
            let base = w.rsplit('/').next().unwrap_or(&w);
            if SHELLS.contains(&base) {
                return Some(start);
            }
        }
        let before = window(lower, start.saturating_sub(12), start);
        if before.contains("<(") || before.contains("$(") || before.contains("iex") || before.contains("iex(") {
            let head = window(lower, start.saturating_sub(30), start);
            if SHELLS.iter().any(|s| head.contains(s)) || head.contains("iex") {
                return Some(start);
            }
        }
    }
    None
}

fn always_dangerous(lower: &str) -> Option<&'static str> {
    if lower.contains("/dev/tcp/") || lower.contains("/dev/udp/") {
        return Some("a reverse shell");
    }
    for p in ["powershell -enc", "powershell -e ", "powershell.exe -enc", "-encodedcommand", "pwsh -enc"] {
        if lower.contains(p) {
            return Some("an encoded PowerShell command");
        }
    }
    for (k, _) in lower.match_indices("base64 -d").chain(lower.match_indices("base64 --decode")) {
        let rest = window(lower, k, k + 80);
        if SHELLS.iter().any(|s| rest.contains(&format!("| {s}")) || rest.contains(&format!("|{s}"))) {
            return Some("a base64-decoded payload piped into a shell");
        }
    }
    None
}

/// Whether the text near `at` is addressed to an agent or urgent.
fn urgent(lower: &str, at: usize) -> bool {
    let w = window(lower, at.saturating_sub(300), at + 300);
    URGENT.iter().any(|u| w.contains(u))
}

/// Risky content in a command the text asks to run.
fn risky(cmd: &str) -> bool {
    let c = cmd;
    [
        "rm -",
        "chmod",
        "chown",
        "sudo",
        "| ",
        "|sh",
        "; ",
        "&&",
        "> ",
        "/etc/",
        "~/.",
        ".ssh",
        ".aws",
        ".env",
        "printenv",
        "env |",
        "base64",
        "nc ",
        "curl ",
        "wget ",
        "http://",
        "https://",
        "mkfifo",
        "eval",
        "export ",
        "crontab",
        "id_rsa",
        "passwd",
        "shadow",
        "powershell",
        "certutil",
        "invoke-",
        "iex",
    ]
    .iter()
    .any(|k| c.contains(k))
        || crate::path::check(cmd, Role::Exec, &[]).is_some()
}

/// The command a "run …" phrase points at: the first code span or fenced block,
/// or the text after a colon up to the end of its line.
fn command_text(after_verb: &str) -> Option<&str> {
    let tick = after_verb.find('`');
    let colon = after_verb.find(':');
    match (tick, colon) {
        (Some(t), c) if c.is_none_or(|c| t < c + 8) => {
            let rest = after_verb[t..].trim_start_matches('`');
            let rest = rest.strip_prefix("sh\n").or_else(|| rest.strip_prefix("bash\n")).unwrap_or(rest);
            let end = rest.find('`').unwrap_or(rest.len().min(300));
            Some(&rest[..end])
        }
        (_, Some(c)) if c < 80 => {
            let rest = after_verb[c + 1..].trim_start_matches([' ', '\n']);
            let rest = rest.strip_prefix("$ ").unwrap_or(rest);
            let end = rest.find('\n').unwrap_or(rest.len());
            Some(&rest[..end])
        }
        _ => None,
    }
}

/// Why a result's string instructs to run a command, or `None`.
pub(crate) fn command(s: &str) -> Option<&'static str> {
    let lower = s.to_ascii_lowercase();
    if let Some(r) = always_dangerous(&lower) {
        return Some(r);
    }
    let verbs = word_hits(&lower, RUN_VERBS, 512);
    if verbs.is_empty() {
        return None;
    }
    if let Some(at) = pipe_to_shell(&lower) {
        let near = verbs.iter().any(|&(v, _)| v < at + 200 && at < v + 300);
        if near || urgent(&lower, at) {
            return Some("an instruction to pipe a download into a shell");
        }
    }
    for &(v, e) in &verbs {
        let object = window(&lower, e, e + 60);
        let names_command =
            ["command", "script", "following", "this", "these", "terminal", "shell", "console", "`", "$ ", ":"]
                .iter()
                .any(|o| object.contains(o));
        if !names_command {
            continue;
        }
        let Some(body) = command_text(window(&lower, e, e + 600)) else { continue };
        let verb = &lower[v..e];
        if risky(body) || urgent(&lower, v) || (matches!(verb, "execute" | "exec") && object.contains("command")) {
            return Some("an instruction to run a command");
        }
    }
    None
}

/// Why a result's string instructs to fetch an internal URL, or `None`.
pub(crate) fn fetch(s: &str, policy: &Policy) -> Option<&'static str> {
    if !s.contains("://") && !s.contains("169.254.") && !s.contains("metadata") {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let verbs = word_hits(&lower, FETCH_VERBS, 1024);
    let mut targets: Vec<(usize, &'static str, bool)> = Vec::new();
    let mut from = 0;
    while let Some(p) = lower[from..].find("://") {
        let colon = from + p;
        from = colon + 3;
        let start = lower[..colon]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |q| q + 1);
        if start == colon || targets.len() > 256 {
            continue;
        }
        let Some(url) = net::parse_url(&lower[start..]) else { continue };
        if let Some(r) = ssrf::judge(&url, policy, false) {
            let credential_path = [
                "/latest/meta-data",
                "/latest/api/token",
                "/computemetadata",
                "/metadata/identity",
                "/metadata/instance",
                "/latest/user-data",
                "/opc/v",
            ]
            .iter()
            .any(|p| url.rest.starts_with(p));
            targets.push((start, r, credential_path));
        }
    }
    for ip in ["169.254.169.254", "metadata.google.internal", "100.100.100.200", "fd00:ec2::254"] {
        for (at, _) in lower.match_indices(ip).take(16) {
            targets.push((at, "a cloud metadata address", false));
        }
    }
    for (at, reason, credential_path) in targets {
        let metadata = reason.contains("metadata");
        if credential_path {
            return Some(reason);
        }
        let reach = if metadata { 160 } else { 80 };
        let line_start = lower[..at].rfind(['\n', '.']).map_or(0, |p| p + 1);
        let before = window(&lower, at.saturating_sub(reach).max(line_start), at);
        if DESCRIPTIVE.iter().any(|d| before.contains(d)) && !urgent(&lower, at) {
            continue;
        }
        let asked = verbs.iter().any(|&(v, _)| v < at && at - v <= reach && v >= line_start);
        if asked {
            return Some(reason);
        }
    }
    None
}
