//! Command injection: shell operators (`;`, `&&`, `||`, `|`, `&`, newlines,
//! backticks, `$( )`, `<( )`, redirections) found by a shell-aware scan, judged by
//! what follows them (a command word, an argument that looks like one) and by how the
//! upstream uses the argument (see [`Role`]).

use crate::decode;
use crate::walk::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Seq,
    And,
    Or,
    Pipe,
    Background,
    Newline,
    Subst,
    Backtick,
    RedirOut,
    RedirIn,
}

impl Op {
    fn what(self) -> &'static str {
        match self {
            Op::Seq => "a `;` command separator",
            Op::And | Op::Or => "a `&&`/`||` command chain",
            Op::Pipe => "a pipe into another command",
            Op::Background => "a `&` command separator",
            Op::Newline => "a newline-separated command",
            Op::Subst => "a command substitution `$( )`",
            Op::Backtick => "a backtick command substitution",
            Op::RedirOut => "an output redirection",
            Op::RedirIn => "an input redirection",
        }
    }
}

/// How strongly a word names a shell command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    None,
    /// An English word too (`cat`, `id`, `find`): needs shell-looking context.
    Ambiguous,
    /// Only ever a command (`whoami`, `wget`, `/bin/sh`).
    Distinct,
}

const DISTINCT: &[&str] = &[
    "whoami",
    "uname",
    "ifconfig",
    "ipconfig",
    "wget",
    "curl",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "bash",
    "sh",
    "zsh",
    "ksh",
    "csh",
    "tcsh",
    "dash",
    "fish",
    "powershell",
    "pwsh",
    "cmd",
    "mkfifo",
    "chmod",
    "chown",
    "chgrp",
    "sudo",
    "nslookup",
    "systeminfo",
    "telnet",
    "python",
    "python2",
    "python3",
    "perl",
    "php",
    "busybox",
    "base64",
    "xxd",
    "certutil",
    "bitsadmin",
    "tftp",
    "crontab",
    "useradd",
    "usermod",
    "userdel",
    "iptables",
    "mkfs",
    "nohup",
    "xargs",
    "printenv",
    "netstat",
    "wmic",
    "regsvr32",
    "rundll32",
    "mshta",
    "cscript",
    "wscript",
    "ls",
    "rm",
    "cp",
    "mv",
    "awk",
    "gawk",
    "sed",
    "grep",
    "egrep",
    "chattr",
    "scp",
    "rsync",
    "nmap",
    "tcpdump",
    "ssh",
    "ftp",
    "lsof",
    "pkill",
    "killall",
    "hostname",
    "getent",
    "icacls",
    "taskkill",
    "tasklist",
    "schtasks",
    "vssadmin",
    "bcdedit",
    "chpasswd",
    "visudo",
    "setsid",
    "strace",
    "gdb",
    "openssl",
    "traceroute",
    "tracert",
    "umount",
    "insmod",
    "modprobe",
    "sysctl",
    "systemctl",
    "yum",
    "dnf",
    "apk",
    "pip3",
    "iex",
    "invoke-expression",
    "invoke-webrequest",
    "invoke-restmethod",
    "start-process",
    "new-object",
    "iwr",
    "irm",
    "get-content",
    "remove-item",
    "npx",
    "gcc",
    "rmdir",
    "mkdir",
    "ln",
    "id",
    "pwd",
    "uptime",
];
const AMBIGUOUS: &[&str] = &[
    "cat", "echo", "find", "head", "tail", "touch", "kill", "set", "net", "ping", "host", "who", "w", "more", "less",
    "sort", "type", "dir", "del", "copy", "move", "shutdown", "reboot", "sleep", "exit", "exec", "eval", "source",
    "export", "open", "start", "call", "test", "read", "wait", "tee", "cut", "file", "time", "date", "which", "locate",
    "node", "ruby", "lua", "java", "tar", "unzip", "zip", "dd", "git", "docker", "kubectl", "su", "passwd", "whois",
    "print", "printf", "ver", "hash", "history", "alias", "unset", "cd", "rem", "wc", "diff", "od", "strings", "nl",
    "rev", "tac", "curl.exe", "halt", "poweroff", "init", "ifup", "ifdown", "tr", "uniq", "yes", "true", "false",
    "make", "service", "route", "mount", "apt", "reg", "dig", "arp", "ps", "env", "pip", "npm", "cc",
];

fn tier(word: &str) -> Tier {
    if word.is_empty() || word.len() > 40 {
        return Tier::None;
    }
    // `/???/??t`, `$'\x69\x64'`, `$a$b`, `${PATH:0:1}…`: obfuscated command names.
    if word.starts_with('/') && word.contains(['?', '*']) {
        return Tier::Distinct;
    }
    if word.starts_with('$')
        && word[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '{' || c == '(' || c == '\\')
    {
        return Tier::Distinct;
    }
    let (base, qualified) = match word.rsplit_once(['/', '\\']) {
        Some((dir, b)) => (b, !dir.is_empty() || word.starts_with('/')),
        None => (word, false),
    };
    let base = base.strip_suffix(".exe").unwrap_or(base);
    let base = base.to_ascii_lowercase();
    if base.is_empty() {
        return Tier::None;
    }
    if DISTINCT.contains(&base.as_str()) {
        return Tier::Distinct;
    }
    // `/usr/bin/anything`, `./payload`
    if qualified
        && (word.starts_with("/bin/")
            || word.starts_with("/usr/")
            || word.starts_with("/sbin/")
            || word.starts_with("./")
            || word.starts_with("/tmp/"))
    {
        return Tier::Distinct;
    }
    if AMBIGUOUS.contains(&base.as_str()) {
        return Tier::Ambiguous;
    }
    Tier::None
}

/// A word after `pos`: leading blanks skipped (`attached` is whether there were
/// none), quotes and backslashes removed (`w'h'o"am"i` → `whoami`).
struct Word {
    text: String,
    attached: bool,
    /// Index just after the word.
    end: usize,
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn word_at(b: &[u8], mut i: usize) -> Word {
    let start = i;
    while i < b.len() && is_blank(b[i]) {
        i += 1;
    }
    let attached = i == start;
    while i < b.len() && matches!(b[i], b'(' | b'{' | b'!') {
        i += 1;
    }
    let mut text = String::new();
    while i < b.len() && text.len() < 64 {
        let c = b[i];
        if c.is_ascii_whitespace() || matches!(c, b';' | b'|' | b'&' | b'<' | b'>' | b'(' | b')' | b'`' | b'}' | b',') {
            break;
        }
        if !matches!(c, b'\'' | b'"' | b'\\') {
            text.push(c as char);
        }
        i += 1;
    }
    // A multi-byte character inside a word: stop at a char boundary.
    while i < b.len() && b[i] & 0xC0 == 0x80 {
        i += 1;
    }
    Word { text, attached, end: i }
}

/// Does what follows a command word look like a shell argument (an option, a
/// path, a URL, a variable, a number) or the end of the command?
fn shell_arg(b: &[u8], end: usize) -> (bool, bool) {
    let next = word_at(b, end);
    let t = next.text.as_str();
    let ended = t.is_empty()
        && b.get(end..).is_none_or(|rest| {
            let rest = rest.iter().skip_while(|&&c| is_blank(c)).copied().next();
            rest.is_none_or(|c| matches!(c, b';' | b'|' | b'&' | b'\n' | b'\r' | b'`' | b')' | b'#' | b'>' | b'<'))
        });
    let opener = b.get(end..).and_then(|rest| rest.iter().copied().find(|&c| !is_blank(c)));
    let argish = matches!(opener, Some(b'(' | b'\'' | b'"' | b'$' | b'{'))
        || t.starts_with('-') && t.len() > 1
        || t.starts_with('/')
        || t.starts_with('~')
        || t.starts_with('.')
        || t.starts_with('$')
        || t.starts_with('%')
        || t.contains("://")
        || t.contains('/')
        || t.contains('\\')
        || t.contains('=')
        || (!t.is_empty() && t.bytes().all(|c| c.is_ascii_digit() || c == b'.'))
        || t.rsplit_once('.').is_some_and(|(a, ext)| {
            !a.is_empty() && (2..=4).contains(&ext.len()) && ext.bytes().all(|c| c.is_ascii_alphanumeric())
        });
    (argish, ended)
}

struct Found {
    op: Op,
    /// Index after the operator.
    at: usize,
    /// For backticks: the index of the opening one.
    open: usize,
}

/// Shell operators in `s`. `quotes`: honour quoting (for values a shell parses as
/// a whole command); otherwise quotes are ordinary characters, as they are when a
/// value is pasted into a command line inside quotes it can close.
fn operators(s: &str, quotes: bool, limit: usize) -> Vec<Found> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let (mut single, mut double) = (false, false);
    let mut i = 0;
    while i < b.len() && out.len() < limit {
        let c = b[i];
        if quotes {
            if single {
                if c == b'\'' {
                    single = false;
                }
                i += 1;
                continue;
            }
            match c {
                b'\\' => {
                    i += 2;
                    continue;
                }
                b'\'' if !double => {
                    single = true;
                    i += 1;
                    continue;
                }
                b'"' => {
                    double = !double;
                    i += 1;
                    continue;
                }
                _ => {}
            }
        }
        let next = b.get(i + 1).copied();
        match c {
            b'`' => {
                let close = b[i + 1..].iter().position(|&x| x == b'`').map_or(b.len(), |p| i + 1 + p);
                out.push(Found { op: Op::Backtick, at: i + 1, open: i });
                i = close + 1;
                continue;
            }
            b'$' if next == Some(b'(') && b.get(i + 2) != Some(&b'(') => {
                out.push(Found { op: Op::Subst, at: i + 2, open: i })
            }
            _ if double => {}
            b'<' if next == Some(b'(') => out.push(Found { op: Op::Subst, at: i + 2, open: i }),
            b';' if next != Some(b';') => out.push(Found { op: Op::Seq, at: i + 1, open: i }),
            b'&' if next == Some(b'&') => {
                out.push(Found { op: Op::And, at: i + 2, open: i });
                i += 2;
                continue;
            }
            b'&' if next != Some(b'>') && i > 0 && b[i - 1] != b'>' && b[i - 1] != b'<' => {
                out.push(Found { op: Op::Background, at: i + 1, open: i })
            }
            b'|' if next == Some(b'|') => {
                out.push(Found { op: Op::Or, at: i + 2, open: i });
                i += 2;
                continue;
            }
            b'|' => out.push(Found { op: Op::Pipe, at: i + 1, open: i }),
            b'\n' | b'\r' => out.push(Found { op: Op::Newline, at: i + 1, open: i }),
            b'>' => {
                let mut j = i + 1;
                if next == Some(b'>') {
                    j += 1;
                }
                if b.get(j) == Some(&b'(') {
                    out.push(Found { op: Op::Subst, at: j + 1, open: i });
                    i = j + 1;
                    continue; // `>(…)` process substitution
                }
                if b.get(j) == Some(&b'&') {
                    i = j + 1;
                    continue; // `2>&1`, `>(…)`
                }
                out.push(Found { op: Op::RedirOut, at: j, open: i });
                i = j;
                continue;
            }
            b'<' if next != Some(b'<') && next != Some(b'=') => out.push(Found { op: Op::RedirIn, at: i + 1, open: i }),
            _ => {}
        }
        i += 1;
    }
    out
}

/// Whether the `|` at `at` is part of a Markdown table row.
fn table_row(b: &[u8], at: usize) -> bool {
    // Within 512 bytes either side: a table row is a short line.
    let lo = at.saturating_sub(512);
    let hi = b.len().min(at + 512);
    let line_start = b[lo..at].iter().rposition(|&c| c == b'\n').map_or(lo, |p| lo + p + 1);
    let line_end = b[at..hi].iter().position(|&c| c == b'\n').map_or(hi, |p| at + p);
    let line = &b[line_start..line_end];
    let trimmed: Vec<u8> = line.iter().copied().filter(|c| !c.is_ascii_whitespace()).collect();
    trimmed.first() == Some(&b'|') || trimmed.last() == Some(&b'|')
}

/// Reverse shells and similar payloads that are never data.
fn high_confidence(s: &str, role: Role) -> Option<&'static str> {
    if s.contains("/dev/tcp/") || s.contains("/dev/udp/") {
        return Some("a reverse-shell device path (/dev/tcp, /dev/udp)");
    }
    let lower = s.to_ascii_lowercase();
    if let Some(at) = crate::output::pipe_to_shell(&lower) {
        // A download piped into a shell, chained after an operator (data) or anywhere
        // in a value that is not free text.
        let before = lower[..at].trim_end();
        let chained = before.ends_with([';', '|', '&', '`', '(']) || before.ends_with("$(");
        if chained || !matches!(role, Role::Data | Role::Sql) {
            return Some("a download piped into a shell");
        }
    }
    if role == Role::Data || role == Role::Sql {
        return None;
    }
    if s.contains("$'\\") {
        return Some("ANSI-C quoted escapes (an obfuscated command)");
    }
    if s.contains("${IFS") || s.contains("$IFS$") || s.contains("$IFS ") || s.ends_with("$IFS") {
        return Some("an $IFS word-splitting trick");
    }
    for pat in [" -e /bin/", " -e sh", " -e bash", " -e cmd", "exec:'/bin/", "exec:/bin/", "exec:bash", "exec:sh"] {
        if lower.contains(pat)
            && (lower.contains("nc ")
                || lower.contains("ncat ")
                || lower.contains("socat ")
                || lower.contains("netcat "))
        {
            return Some("a reverse shell");
        }
    }
    None
}

/// Commands that are dangerous whatever surrounds them: chained after an operator in
/// a command argument, they are the attack.
const RISKY: &[&str] = &[
    "sh",
    "bash",
    "zsh",
    "ksh",
    "dash",
    "ash",
    "csh",
    "tcsh",
    "fish",
    "busybox",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "telnet",
    "rm",
    "chmod",
    "chown",
    "sudo",
    "su",
    "mkfifo",
    "base64",
    "xxd",
    "crontab",
    "useradd",
    "usermod",
    "passwd",
    "chpasswd",
    "whoami",
    "id",
    "uname",
    "ifconfig",
    "ipconfig",
    "python",
    "python2",
    "python3",
    "perl",
    "ruby",
    "php",
    "powershell",
    "pwsh",
    "cmd",
    "iex",
    "invoke-expression",
    "certutil",
    "bitsadmin",
    "mshta",
    "regsvr32",
    "rundll32",
    "wmic",
    "net",
    "reg",
    "schtasks",
    "wget",
    "tftp",
    "scp",
    "kill",
    "pkill",
    "killall",
    "shutdown",
    "reboot",
    "halt",
    "poweroff",
    "dd",
    "mkfs",
    "shred",
    "eval",
    "exec",
    "printenv",
    "nslookup",
    "sleep",
    "ping",
    "systemctl",
    "chattr",
    "setcap",
    "nsenter",
    "chroot",
    "insmod",
    "modprobe",
    "iptables",
];

/// Whether `word` names a shell command.
pub(crate) fn is_command_word(word: &str) -> bool {
    tier(word) > Tier::None
}

fn risky_word(word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    let base = word.rsplit(['/', '\\']).next().unwrap_or(word).to_ascii_lowercase();
    let base = base.strip_suffix(".exe").unwrap_or(&base);
    RISKY.contains(&base) || tier(word) == Tier::Distinct && (word.starts_with('$') || word.contains(['?', '*']))
}

/// Options that make a program run commands or write files (`git --upload-pack`,
/// `tar --checkpoint-action`, `pip --index-url`, `ssh -oProxyCommand`): a value of a
/// non-command argument that starts with one was meant to be a name.
fn option_injection(s: &str) -> Option<&'static str> {
    let t = s.trim_start();
    if !t.starts_with('-') || t.len() < 3 {
        return None;
    }
    let opt = t.trim_start_matches('-').split(['=', ' ']).next().unwrap_or("").to_ascii_lowercase();
    let dangerous = [
        "upload-pack",
        "receive-pack",
        "exec",
        "output",
        "output-document",
        "checkpoint-action",
        "checkpoint",
        "index-url",
        "extra-index-url",
        "pre",
        "config",
        "rsh",
        "rsync-path",
        "use-compress-program",
        "to-command",
        "post-file",
        "upload-file",
        "oproxycommand",
        "proxycommand",
        "o",
        "e",
        "c",
        "template",
        "git-dir",
        "work-tree",
        "exec-path",
        "install-option",
        "global-option",
        "eval",
        "require",
        "import",
        "include",
        "load",
        "script",
        "shell",
        "command",
        "run",
        "hooks",
        "hookspath",
        "core.sshcommand",
        "ssh-command",
        "unshallow",
        "local-port",
    ];
    (dangerous.contains(&opt.as_str()) || opt.starts_with("oproxy") || opt.starts_with("c core."))
        .then_some("a value starting with a command-running option (argument injection)")
}

/// Every literal `danger` looks for, sorted (for `binary_search`).
const DANGER_NEEDLES: &[&str] = &[
    " -a",
    " -c",
    " -c ",
    " -e",
    " -e ",
    " -r",
    " -t ",
    " / ",
    " /s",
    " 4755",
    " 6755",
    " c:",
    " c:/",
    " c:\\",
    " sh ",
    "!sh",
    "$(",
    "$(printf",
    "${home:0:1}",
    "${ifs}",
    "${path:0:1}",
    "&& ./",
    "+s ",
    "--checkpoint-action=exec",
    "--data @",
    "--data-binary @",
    "--post-file=",
    "--privileged",
    "--upload-file",
    "--volume /:/",
    "-d @",
    "-delete",
    "-encodedcommand",
    "-exec",
    "-f file=@",
    "-recurse",
    "-tt",
    "-v /:/",
    "/add",
    "/bin/bash",
    "/bin/sh",
    "/bin/sh -p",
    "/dev/tcp/",
    "/dev/udp/",
    "/etc/cron",
    "/etc/sudoers",
    "/i:http",
    "/inet/",
    "/inet/tcp/",
    "/s",
    "/transfer",
    ":!",
    "; ./",
    "=@",
    ">",
    ">>",
    ">> ~/.bash_profile",
    ">> ~/.bashrc",
    ">> ~/.profile",
    ">> ~/.zshrc",
    ">>~/.bashrc",
    "\\currentversion\\run",
    "__import__",
    "`",
    "`printf",
    "authorized_keys",
    "awk",
    "base64 --decode",
    "base64 -d",
    "c:\\",
    "c:\\users",
    "c:\\windows",
    "cap_setuid",
    "chmod +x",
    "chroot /host",
    "connect",
    "core.hookspath",
    "crontab -l",
    "downloadstring",
    "eval",
    "exec",
    "exec(",
    "exec:",
    "fsockopen(",
    "histfile=/dev/null",
    "history -c",
    "histsize=0",
    "http",
    "iex",
    "invoke-expression",
    "invoke-webrequest",
    "irm ",
    "iwr",
    "javascript:",
    "launchctl load",
    "mkfifo",
    "nc ",
    "net localgroup administrators",
    "net user",
    "net.webclient",
    "os.system",
    "powershell -e ",
    "powershell -enc",
    "pty.spawn",
    "pwsh -enc",
    "schtasks /create",
    "sh",
    "sh -p ",
    "socket",
    "socket.socket",
    "subprocess",
    "sudo -i",
    "sudo -s",
    "sudo bash",
    "sudo passwd",
    "sudo sh",
    "sudo su",
    "sudoers",
    "system",
    "system(",
    "system:",
    "systemctl enable",
    "tcpsocket",
    "tee",
    "u+s",
    "unset histfile",
    "urlcache",
    "wget --post-file",
    "xxd -r",
    "| bash",
    "| crontab",
    "| curl",
    "| nc ",
    "| perl",
    "| python",
    "| sh",
    "|bash",
    "|curl",
    "|nc ",
    "|sh",
];

/// Which of [`DANGER_NEEDLES`] occur in `l`, in one pass.
fn danger_needles(l: &str) -> Vec<bool> {
    static AC: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>> = std::sync::OnceLock::new();
    let mut found = vec![false; DANGER_NEEDLES.len()];
    match AC.get_or_init(|| aho_corasick::AhoCorasick::new(DANGER_NEEDLES).ok()) {
        Some(ac) => {
            for m in ac.find_overlapping_iter(l) {
                found[m.pattern().as_usize()] = true;
            }
        }
        None => {
            for (f, n) in found.iter_mut().zip(DANGER_NEEDLES) {
                *f = l.contains(n);
            }
        }
    }
    found
}

/// Commands dangerous in themselves: reverse shells, download-and-run, privilege
/// escalation, persistence, exfiltration, shell escapes and obfuscated execution.
pub(crate) fn danger(s: &str) -> Option<&'static str> {
    let l = s.to_ascii_lowercase();
    // One Aho-Corasick pass finds every needle below; `has` then looks the answer up.
    let found = danger_needles(&l);
    let has = |k: &str| match DANGER_NEEDLES.binary_search(&k) {
        Ok(i) => found[i],
        Err(_) => l.contains(k),
    };
    let words: std::collections::HashSet<&str> = l
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '|' | '&' | '(' | ')' | '`' | '\'' | '"'))
        .filter(|w| !w.is_empty())
        .map(|w| w.rsplit('/').next().unwrap_or(w))
        .collect();
    let cmd = |c: &str| words.contains(c);
    // Reverse shells.
    if has("/dev/tcp/")
        || has("/dev/udp/")
        || has("/inet/tcp/")
        || has("tcpsocket")
        || has("fsockopen(")
        || has("socket.socket") && has("connect")
        || (cmd("nc") || cmd("ncat") || cmd("netcat"))
            && (has(" -e ")
                || has(" -c ")
                || has("mkfifo")
                || has("/bin/sh")
                || has("/bin/bash")
                || has("| sh")
                || has("|sh"))
        || cmd("socat") && (has("exec:") || has("system:"))
        || cmd("mkfifo") && (has("nc ") || has("sh"))
    {
        return Some("a reverse shell");
    }
    // Download and run.
    if crate::output::pipe_to_shell(&l).is_some()
        || (has("iex") || has("invoke-expression"))
            && (has("downloadstring") || has("iwr") || has("invoke-webrequest") || has("net.webclient") || has("irm "))
        || has("-encodedcommand")
        || has("powershell -enc")
        || has("powershell -e ")
        || has("pwsh -enc")
        || cmd("mshta") && has("http")
        || cmd("regsvr32") && has("/i:http")
        || cmd("certutil") && has("urlcache")
        || cmd("bitsadmin") && has("/transfer")
        || cmd("rundll32") && (has("javascript:") || has("http"))
        || (cmd("curl") || cmd("wget"))
            && (has("chmod +x") || has("&& ./") || has("; ./") || has("| python") || has("| perl"))
    {
        return Some("a download executed on the spot");
    }
    if has("xmrig") || has("stratum+tcp") || has("minerd") || has("cpuminer") || has("ethminer") || has("nicehash") {
        return Some("a cryptocurrency miner");
    }
    if cmd("kill") && (words.contains("-1") || has("-9 -1")) || cmd("killall5") {
        return Some("killing every process");
    }
    if cmd("ssh")
        && l.split_whitespace()
            .any(|w| w.starts_with('-') && !w.starts_with("--") && (w.contains('r') || w.contains('d')))
        || cmd("ngrok")
        || cmd("chisel")
        || cmd("frpc")
        || has("tcp-listen") && cmd("socat")
    {
        return Some("a tunnel exposing the host");
    }
    if has("ld_preload=") || has("dyld_insert_libraries") || has("ld_library_path=/tmp") {
        return Some("a library injection (LD_PRELOAD)");
    }
    if (cmd("invoke-webrequest") || cmd("iwr") || cmd("certutil") || cmd("curl") || cmd("wget"))
        && (has("start-process") || has("invoke-item") || has("& $env:") || has(".exe;") && has("start"))
    {
        return Some("a download executed on the spot");
    }
    // Destructive.
    if let Some(r) = destructive(s) {
        return Some(r);
    }
    if (cmd("remove-item") || cmd("rm") || cmd("rmdir") || cmd("rd"))
        && (has("-recurse") || has(" /s"))
        && (has(" c:\\") || has(" c:/") || has("c:\\users") || has("c:\\windows"))
    {
        return Some("a destructive command");
    }
    if cmd("find") && has(" / ") && has("-delete")
        || cmd("shred")
        || cmd("format") && has(" c:")
        || (cmd("del") || cmd("rd") || cmd("rmdir")) && has("/s") && has("c:\\")
    {
        return Some("a destructive command");
    }
    // Privilege escalation.
    if (cmd("sudo")
        && (has("sudo su")
            || has("sudo -i")
            || has("sudo -s")
            || has("sudo bash")
            || has("sudo sh")
            || has("sudo passwd")
            || has("sudoers")))
        || cmd("chmod") && (has("u+s") || has("+s ") || has(" 4755") || has(" 6755"))
        || has("--privileged")
        || has("-v /:/")
        || has("--volume /:/")
        || cmd("nsenter")
        || cmd("setcap") && has("cap_setuid")
        || cmd("useradd")
        || cmd("usermod") && has(" -a")
        || has("net user") && has("/add")
        || has("net localgroup administrators")
        || has("/etc/sudoers")
        || has("chroot /host")
    {
        return Some("a privilege escalation");
    }
    // Persistence.
    if cmd("crontab") && !has("crontab -l")
        || has("| crontab")
        || has("/etc/cron")
        || has("authorized_keys") && (has(">>") || has(">") || has("tee"))
        || has(">> ~/.bashrc")
        || has(">> ~/.profile")
        || has(">> ~/.zshrc")
        || has(">> ~/.bash_profile")
        || has(">>~/.bashrc")
        || has("schtasks /create")
        || has("\\currentversion\\run")
        || has("systemctl enable")
        || has("launchctl load")
        || has("core.hookspath")
    {
        return Some("a persistence mechanism (cron, shell profile, authorized_keys, scheduled task)");
    }
    // Exfiltration: a secrets file handed to a network tool.
    let network = cmd("curl")
        || cmd("wget")
        || cmd("scp")
        || cmd("rsync")
        || cmd("nc")
        || cmd("ncat")
        || cmd("ftp")
        || cmd("sftp")
        || cmd("socat");
    if network
        && crate::path::check(&l, Role::Exec, &[])
            .is_some_and(|r| r.contains("secret") || r.contains("credential") || r.contains("sensitive"))
    {
        return Some("a secrets file sent out of the host (exfiltration)");
    }
    if cmd("curl") && has("=@") {
        return Some("data sent out of the host (exfiltration)");
    }
    if (cmd("curl")
        && (has("-d @")
            || has("--data @")
            || has("--data-binary @")
            || has("-f file=@")
            || has("--upload-file")
            || has(" -t ")))
        || has("| curl")
        || has("|curl")
        || has("| nc ")
        || has("|nc ")
        || has("wget --post-file")
        || has("--post-file=")
        || (cmd("dig") || cmd("nslookup") || cmd("host") || cmd("ping")) && (has("$(") || has("`"))
    {
        return Some("data sent out of the host (exfiltration)");
    }
    // Shell escapes and obfuscated execution.
    if has("$(printf")
        || has("`printf")
        || has("${path:0:1}")
        || has("${home:0:1}")
        || has("${ifs}")
        || (cmd("perl") || cmd("ruby") || cmd("php") || cmd("lua"))
            && (has(" -e") || has(" -r"))
            && (has("exec") || has("system") || has("/bin/sh") || has("`"))
        || (cmd("python") || cmd("python2") || cmd("python3"))
            && has(" -c")
            && (has("os.system")
                || has("pty.spawn")
                || has("subprocess")
                || has("socket")
                || has("exec(")
                || has("__import__"))
        || (cmd("vim") || cmd("vi")) && has(":!")
        || has("--checkpoint-action=exec")
        || cmd("zip") && has("-tt")
        || cmd("find") && has("-exec") && (has("/bin/sh") || has("/bin/bash") || has(" sh "))
        || has("awk") && (has("system(") || has("/inet/"))
        || (cmd("less") || cmd("more") || cmd("man")) && has("!sh")
        || cmd("env") && has("/bin/sh")
        || (has("base64 -d") || has("base64 --decode") || has("xxd -r"))
            && (has("| sh") || has("|sh") || has("| bash") || has("|bash"))
        || has("/bin/sh -p")
        || has("sh -p ")
        || (has("base64 -d") || has("base64 --decode") || has("xxd -r")) && (has("eval") || has("$(") || has("`"))
        || has("unset histfile")
        || has("history -c")
        || has("histfile=/dev/null")
        || has("histsize=0")
    {
        return Some("an obfuscated or escaped shell");
    }
    None
}

/// Destructive commands, for values run as commands.
fn destructive(s: &str) -> Option<&'static str> {
    let lower = s.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        let base = w.rsplit('/').next().unwrap_or(w);
        let rest = &words[i + 1..words.len().min(i + 6)];
        match base {
            "rm" => {
                let recursive = rest
                    .iter()
                    .any(|a| a.starts_with('-') && !a.starts_with("--") && (a.contains('r') || a.contains('f')))
                    || rest.contains(&"--recursive");
                let wide = rest.iter().any(|a| {
                    matches!(
                        a.trim_matches(['\'', '"']),
                        "/" | "/*"
                            | "~"
                            | "~/"
                            | "*"
                            | "."
                            | ".."
                            | "$home"
                            | "${home}"
                            | "/home"
                            | "/etc"
                            | "/var"
                            | "/usr"
                            | "/root"
                            | "/boot"
                            | "~/*"
                    ) || {
                        let a = a.trim_matches(['\'', '"']);
                        ["/var/lib", "/etc/", "~/", "/home/", "/usr/", "/srv"].iter().any(|p| a.starts_with(p))
                    }
                });
                if recursive && wide {
                    return Some("a recursive delete of a system or home directory");
                }
            }
            "mkfs" | "wipefs" | "shred" => return Some("a disk-wiping command"),
            _ if base.starts_with("mkfs.") => return Some("a disk-wiping command"),
            "dd" if rest.iter().any(|a| a.starts_with("of=/dev/")) => return Some("a raw write to a device"),
            "chmod"
                if rest.iter().any(|a| *a == "777" || *a == "-r")
                    && rest.iter().any(|a| *a == "/" || a.starts_with("/etc")) =>
            {
                return Some("a permission change on system files");
            }
            _ => {}
        }
    }
    if lower.contains(":(){") || lower.contains(":() {") {
        return Some("a fork bomb");
    }
    None
}

/// Why `s`, used as `role`, carries an injected command, or `None`.
pub(crate) fn check(s: &str, role: Role) -> Option<&'static str> {
    if let Some(r) = high_confidence(s, role) {
        return Some(r);
    }
    match role {
        Role::Data | Role::Sql => return None,
        Role::Exec => {
            if let Some(r) = destructive(s) {
                return Some(r);
            }
        }
        _ => {}
    }
    if s.trim_start().starts_with("data:") {
        return None; // a data: URI (`data:image/png;base64,…`) is not parsed by a shell
    }
    if let Some(r) = danger(s) {
        return Some(r);
    }
    let resolved = role.resolved();
    if !resolved
        && role != Role::Exec
        && let Some(r) = option_injection(s)
    {
        return Some(r);
    }
    if resolved {
        let t = s.trim_start();
        if t.len() > 1 && t.starts_with('-') && t.as_bytes()[1].is_ascii_alphabetic() {
            return Some("a value starting with an option flag (argument injection)");
        }
        // `https://host/repo --upload-pack=…`: options smuggled after the value.
        let smuggled = t.split_whitespace().skip(1).any(|w| {
            let b = w.as_bytes();
            b.len() > 2
                && b[0] == b'-'
                && (b[1] == b'-' && b[2].is_ascii_alphabetic() || role != Role::Path && b[1].is_ascii_alphabetic())
        });
        if smuggled {
            return Some("an option flag after the value (argument injection)");
        }
    }
    let rounds = if role == Role::Exec { 0 } else { 3 };
    for v in decode::variants(s, rounds) {
        if let Some(r) = scan(&v, role) {
            return Some(r);
        }
        if let Some(r) = high_confidence(&v, role) {
            return Some(r);
        }
    }
    None
}

fn scan(s: &str, role: Role) -> Option<&'static str> {
    let b = s.as_bytes();
    if !b.iter().any(|&c| matches!(c, b';' | b'|' | b'&' | b'`' | b'$' | b'\n' | b'\r' | b'<' | b'>')) {
        return None;
    }
    let quotes = role == Role::Exec;
    // Index of the first non-blank byte: a backtick there opens the whole value.
    let first_text = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    for f in operators(s, quotes, 4096) {
        if role == Role::Expr && f.op == Op::Pipe {
            continue; // a template filter (`{{ x | date('%b') }}`), not a shell pipe
        }
        let w = word_at(b, f.at);
        let t = tier(&w.text);
        let (argish, ended) = shell_arg(b, w.end);
        let flagged = match role {
            // A command argument is run by design: pipelines and chains of ordinary
            // commands are its normal use; a chained risky command or a write to a
            // sensitive place is the attack.
            Role::Exec => match f.op {
                Op::RedirOut | Op::RedirIn => {
                    let target = w.text.trim_start_matches('>');
                    crate::path::sensitive_target(target)
                }
                _ => {
                    // The chained command itself, up to the next operator.
                    // Bounded, so thousands of operators stay linear.
                    let limit = b.len().min(f.at + 256);
                    let mut seg_end = b[f.at..limit]
                        .iter()
                        .position(|&c| matches!(c, b';' | b'|' | b'&' | b'\n'))
                        .map_or(limit, |p| f.at + p);
                    while !s.is_char_boundary(seg_end) {
                        seg_end -= 1;
                    }
                    let seg = &s[f.at..seg_end];
                    let fetches = matches!(f.op, Op::Subst | Op::Backtick)
                        && matches!(
                            w.text.rsplit('/').next().unwrap_or(""),
                            "curl" | "wget" | "fetch" | "iwr" | "irm" | "nc" | "ncat"
                        );
                    fetches || risky_word(&w.text) || crate::path::check(seg, Role::Exec, &[]).is_some()
                }
            },
            Role::Path | Role::Host | Role::Url => match f.op {
                Op::Subst => !w.text.is_empty(),
                Op::Backtick => t > Tier::None || !w.text.is_empty() && role != Role::Url,
                Op::Seq | Op::Background => t > Tier::None || (role == Role::Host && !w.text.is_empty()),
                Op::Pipe => t > Tier::None || (role != Role::Url && !w.text.is_empty()),
                Op::And | Op::Or | Op::Newline => !w.text.is_empty() && (t > Tier::None || role != Role::Url),
                Op::RedirOut | Op::RedirIn => {
                    role != Role::Url && (t > Tier::None || w.text.starts_with('/') || w.text.starts_with('~'))
                }
            },
            _ => {
                // What follows the word: `,` continues brace expansion `{cat,/etc/passwd}`
                // (after a `{`) but a media type elsewhere (`;base64,`); `=` makes the
                // word an assignment (`$x = …`), not a command.
                let next = b.get(w.end..).and_then(|r| r.iter().copied().find(|&c| !is_blank(c)));
                let braced = b.get(f.at..).is_some_and(|r| r.iter().copied().find(|&c| !is_blank(c)) == Some(b'{'));
                let argish = argish || braced && next == Some(b',');
                let data_uri = !braced && next == Some(b',');
                let assignment = next == Some(b'=');
                let strong = !data_uri
                    && !assignment
                    && (t == Tier::Distinct && (ended || argish || w.attached)
                        || t == Tier::Ambiguous && (argish || (w.attached && ended)));
                match f.op {
                    Op::Subst => t > Tier::None,
                    Op::Backtick => {
                        let before = f.open.checked_sub(1).map(|p| b[p]);
                        let glued = before
                            .is_some_and(|c| !c.is_ascii_whitespace() && !matches!(c, b'(' | b'"' | b'\'' | b':'))
                            || f.open <= first_text;
                        (strong || t > Tier::None && glued) && (glued || argish)
                    }
                    Op::Pipe => strong && !table_row(b, f.open),
                    Op::Newline => strong,
                    Op::And | Op::Or => strong || risky_word(&w.text),
                    Op::RedirOut | Op::RedirIn => {
                        let target = w.text.as_str();
                        (target.starts_with('/') || target.starts_with('~'))
                            && target.len() > 2
                            && target[1..].contains(['/', '.'])
                    }
                    _ => strong || !data_uri && !assignment && t == Tier::Distinct && risky_word(&w.text),
                }
            }
        };
        if flagged {
            return Some(f.op.what());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn danger_needles_are_sorted_and_unique() {
        assert!(DANGER_NEEDLES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn tiers() {
        assert_eq!(tier("whoami"), Tier::Distinct);
        assert_eq!(tier("/bin/sh"), Tier::Distinct);
        assert_eq!(tier("cat"), Tier::Ambiguous);
        assert_eq!(tier("then"), Tier::None);
    }

    #[test]
    fn operators_respect_quotes() {
        assert_eq!(operators("git commit -m \"a; b\"", true, 10).len(), 0);
        assert_eq!(operators("echo 'x | y'", true, 10).len(), 0);
        assert_eq!(operators("echo \"$(id)\"", true, 10).len(), 1);
        assert_eq!(operators("x' ; id #", false, 10).len(), 1);
        assert_eq!(operators("make 2>&1", true, 10).len(), 0);
    }
}
