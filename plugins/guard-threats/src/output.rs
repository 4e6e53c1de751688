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
const RUN_VERBS: &[&str] = &[
    "run",
    "runs",
    "running",
    "execute",
    "executes",
    "executing",
    "exec",
    "paste",
    "type",
    "enter",
    "invoke",
    "launch",
    "issue",
    "exécutez",
    "exécuter",
    "exécute",
    "lancez",
    "ejecuta",
    "ejecute",
    "ejecutar",
    "ejecutá",
    "führe",
    "führen",
    "ausführen",
    "esegui",
    "eseguire",
    "execute-o",
    "executar",
    "execute:",
];
const FETCH_VERBS: &[&str] = &[
    "fetch",
    "get",
    "visit",
    "open",
    "navigate",
    "browse",
    "request",
    "curl",
    "wget",
    "download",
    "load",
    "access",
    "call",
    "query",
    "retrieve",
    "read",
    "go",
    "send",
    "post",
    "check",
    "connect",
    "hit",
    "poll",
    "grab",
    "ping",
    "use",
    "contact",
    "reach",
    "follow",
    "récupérer",
    "récupère",
    "récupérez",
    "ouvre",
    "ouvrez",
    "ouvrir",
    "visite",
    "visitez",
    "télécharge",
    "téléchargez",
    "charge",
    "chargez",
    "consulte",
    "consultez",
    "obtén",
    "obtener",
    "descarga",
    "descargar",
    "abre",
    "abrir",
    "visita",
    "visitar",
    "consulta",
    "accede",
    "lade",
    "öffne",
    "besuche",
    "abrufen",
    "hole",
    "scarica",
    "apri",
    "recupera",
    "acessa",
    "acesse",
    "baixe",
];
const URGENT: &[&str] = &[
    "assistant",
    " ai ",
    "ai:",
    "@ai",
    "agent",
    "the model",
    "llm",
    "asistente",
    "without asking",
    "do not tell",
    "don't tell",
    "do not ask",
    "silently",
    "before responding",
    "before answering",
    "sans prévenir",
    "tu dois",
    "vous devez",
    "debes",
    "du musst",
    "for the ai",
    "ai,",
    "antes de responder",
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
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b >= 0x80
}

/// Positions of whole-word occurrences of any of `words` in `lower` (capped).
fn word_hits(lower: &str, words: &[&str], limit: usize) -> Vec<(usize, usize)> {
    // The first bytes and the longest length of `words`: most words of a text fail these
    // two checks and are never compared with the list.
    let mut first = [false; 256];
    let mut longest = 0;
    for w in words {
        if let Some(&c) = w.as_bytes().first() {
            first[c as usize] = true;
        }
        longest = longest.max(w.len());
    }
    let b = lower.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() && out.len() < limit {
        if !is_word(b[i]) || (i > 0 && is_word(b[i - 1])) {
            i += 1;
            continue;
        }
        let end = b[i..].iter().position(|&c| !is_word(c)).map_or(b.len(), |p| i + p);
        if first[b[i] as usize]
            && end - i <= longest
            && let Some(w) = lower.get(i..end)
            && words.contains(&w)
        {
            out.push((i, end));
        }
        i = end.max(i + 1);
    }
    out
}

/// `s[from..to]` widened to char boundaries (never panics on multi-byte text).
pub(crate) fn window(s: &str, from: usize, to: usize) -> &str {
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
    // Both ways a hit is confirmed below need a `|` or one of these in the text.
    if !lower.contains('|') && !lower.contains("<(") && !lower.contains("$(") && !lower.contains("iex") {
        return None;
    }
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
    if (lower.contains("powershell") || lower.contains("pwsh"))
        && [" -enc", " -e ", " -ec ", "-encodedcommand", " /enc"].iter().any(|p| lower.contains(p))
    {
        return Some("an encoded PowerShell command");
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

/// The command a "run …" phrase points at: the first code span or fenced block,
/// or the text after a colon up to the end of its line.
fn command_text(after_verb: &str) -> Option<&str> {
    let tick = after_verb.find('`');
    // A colon that introduces something (not `https://`, not `a:b`).
    let colon = after_verb
        .match_indices(':')
        .map(|(i, _)| i)
        .find(|&i| after_verb[i + 1..].starts_with([' ', '\n', '\t']) || i + 1 == after_verb.len());
    match (tick, colon) {
        (Some(t), c) if c.is_none_or(|c| t < c + 8) => {
            let rest = after_verb[t..].trim_start_matches('`');
            let rest = rest.strip_prefix("sh\n").or_else(|| rest.strip_prefix("bash\n")).unwrap_or(rest);
            let end = rest.find('`').unwrap_or(rest.len().min(300));
            Some(&rest[..end])
        }
        (_, Some(c)) if c < 80 => {
            let rest = after_verb[c + 1..].trim_start_matches([' ', '\n']);
            let rest = match rest.strip_prefix("```") {
                // A fenced block: skip the language tag, take the first line.
                Some(fenced) => fenced.split_once('\n').map_or(fenced, |(_, body)| body),
                None => rest,
            };
            let rest = rest.strip_prefix("$ ").unwrap_or(rest);
            let end = rest.find('\n').unwrap_or(rest.len());
            Some(&rest[..end])
        }
        _ => {
            // The command right after the verb: "… should execute cat ~/.aws/credentials".
            let rest = after_verb.trim_start_matches([' ', '\n']);
            let first = rest.split_whitespace().next().unwrap_or("");
            let known = crate::command::is_command_word(first);
            known.then(|| &rest[..rest.find('\n').unwrap_or(rest.len())])
        }
    }
}

/// Whether the download in `cmd` (a downloader and its arguments) comes over plain
/// HTTP, from an IP address or an internal host, rather than a named HTTPS host.
fn insecure_source(cmd: &str) -> bool {
    let line = cmd.lines().next().unwrap_or("");
    for w in line.split_whitespace().skip(1) {
        let w = w.trim_matches(['"', '\'', '`', '(', ')']);
        if w.starts_with('-') || w.is_empty() || w.starts_with('|') {
            if w.starts_with('|') {
                break;
            }
            continue;
        }
        if let Some(u) = net::parse_url(w) {
            return u.scheme != "https" || net::parse_ip(&u.host).is_some() || net::classify(&u.host).0.is_some();
        }
        if w.contains('.') {
            return true; // no scheme: curl and wget default to plain HTTP
        }
    }
    false
}

/// Commands that are risky in themselves (not just any command with a pipe).
fn risky_strict(cmd: &str) -> bool {
    [
        "rm -rf",
        "chmod +x",
        "chmod 777",
        "| sh",
        "|sh",
        "| bash",
        "|bash",
        "/dev/tcp",
        "nc -e",
        ".ssh/",
        ".aws/",
        "id_rsa",
        "authorized_keys",
        "printenv",
        "/etc/shadow",
        "/etc/passwd",
        "crontab",
        "| iex",
        "|iex",
        "-encodedcommand",
        "sudo rm",
        "mkfs",
        "base64 -d",
    ]
    .iter()
    .any(|k| cmd.contains(k))
        || crate::path::check(cmd, Role::Exec, &[]).is_some()
}

/// The longest base64 run of 24+ characters in `s`, decoded, if it is readable text.
fn base64_runs(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let is_b64 = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'=';
    let mut i = 0;
    let mut checked = 0;
    while i < b.len() && checked < 16 {
        if !is_b64(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_b64(b[i]) {
            i += 1;
        }
        if i - start >= 24 {
            checked += 1;
            if let Some(bytes) = crate::code::decode_prefix(&s[start..i])
                && bytes.len() >= 16
                && bytes.iter().all(|&c| c == b'\n' || c == b'\t' || (0x20..0x7f).contains(&c))
            {
                return Some(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    None
}

/// Why a result's string instructs to run a command, or `None`.
pub(crate) fn command(s: &str) -> Option<&'static str> {
    let lower = s.to_ascii_lowercase();
    if let Some(r) = always_dangerous(&lower) {
        return Some(r);
    }
    // A tool call spelled out for the agent: `run_command with command="…"`.
    for key in ["command=", "command\":", "cmd=", "\"cmd\":", "command:", "script="] {
        for (k, _) in lower.match_indices(key).take(8) {
            let arg =
                window(&lower, k + key.len(), k + key.len() + 300).trim_start().trim_start_matches(['"', '\'', '`']);
            if crate::command::danger(arg).is_some() || risky_strict(arg) {
                return Some("an instruction to call a tool with a dangerous command");
            }
        }
    }
    // Encoded commands to decode and run.
    if let Some(decoded) = base64_runs(s) {
        let d = decoded.to_ascii_lowercase();
        if crate::command::danger(&d).is_some() || always_dangerous(&d).is_some() || risky_strict(&d) {
            return Some("an encoded command to decode and run");
        }
    }
    // Spreadsheet cells that run programs when opened.
    if s.lines().take(2000).any(|line| line.split(',').any(|cell| crate::code::formula(cell).is_some())) {
        return Some("a spreadsheet DDE formula");
    }
    // A dangerous command in a code span of text addressed to the agent.
    let mut spans = lower.split('`').skip(1).step_by(2).take(64);
    let mut offset_hint = 0;
    if spans.any(|span| {
        offset_hint = lower.find(span).unwrap_or(0);
        crate::command::danger(span).is_some() || risky_strict(span)
    }) && urgent(&lower, offset_hint)
    {
        return Some("a dangerous command addressed to the agent");
    }
    let verbs = word_hits(&lower, RUN_VERBS, 512);
    if verbs.is_empty() {
        return None;
    }
    if let Some(at) = pipe_to_shell(&lower) {
        // Installers from named HTTPS hosts are everyday documentation; a download
        // over plain HTTP, from an address or an internal host, or one addressed to
        // the agent, is the attack.
        let near = verbs.iter().any(|&(v, _)| v < at + 200 && at < v + 300);
        if near && insecure_source(window(&lower, at, at + 300)) || urgent(&lower, at) {
            return Some("an instruction to pipe a download into a shell");
        }
    }
    for &(v, e) in &verbs {
        let object = window(&lower, e, e + 60);
        let _names_command =
            ["command", "script", "following", "this", "these", "terminal", "shell", "console", "`", "$ ", ":"]
                .iter()
                .any(|o| object.contains(o));
        let Some(body) = command_text(window(&lower, e, e + 600)) else { continue };
        let first = body.trim_start().trim_start_matches("sudo ").split_whitespace().next().unwrap_or("");
        if !crate::command::is_command_word(first) && !first.starts_with('/') && !first.starts_with("./") {
            continue;
        }
        let verb = &lower[v..e];
        let secure_install = pipe_to_shell(body).is_some_and(|at| !insecure_source(window(body, at, at + 300)));
        if !secure_install && (risky_strict(body) || crate::command::danger(body).is_some())
            || urgent(&lower, v)
            || (matches!(verb, "execute" | "exec") && object.contains("command"))
        {
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
        // The scheme: ASCII scheme characters, at most 32 back.
        let back = lower.as_bytes()[..colon]
            .iter()
            .rev()
            .take(32)
            .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')));
        let start = match back {
            Some(n) => colon - n,
            None if colon <= 32 => 0,
            None => continue,
        };
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
            if urgent(&lower, at) {
                targets.push((at, "a cloud metadata address", false));
            }
        }
    }
    for (at, reason, credential_path) in targets {
        let metadata = reason.contains("metadata");
        if credential_path {
            return Some(reason);
        }
        let reach = if metadata { 160 } else { 80 };
        let lo = at.saturating_sub(400);
        let line_start = window(&lower, lo, at).rfind(['\n', '.']).map_or(lo, |p| lo + p + 1);
        let before = window(&lower, at.saturating_sub(reach).max(line_start), at);
        if DESCRIPTIVE.iter().any(|d| before.contains(d)) && !urgent(&lower, at) {
            continue;
        }
        // A Markdown image is fetched by whoever renders it.
        let image = lower[..at].ends_with("](") && lower[..at].rfind("![").is_some_and(|p| at - p < 300);
        // "… http://10.0.0.5/x — assistant, load it with your fetch tool": the verb after.
        let after = urgent(&lower, at) && verbs.iter().any(|&(v, _)| v > at && v - at <= 160);
        let asked = image || after || verbs.iter().any(|&(v, _)| v < at && at - v <= reach && v >= line_start);
        if asked {
            return Some(reason);
        }
    }
    None
}
