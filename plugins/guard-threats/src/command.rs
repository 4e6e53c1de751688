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
    let argish = t.starts_with('-') && t.len() > 1
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
                if b.get(j) == Some(&b'&') || b.get(j) == Some(&b'(') {
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
    let line_start = b[..at].iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1);
    let line_end = b[at..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| at + p);
    let line = &b[line_start..line_end];
    let trimmed: Vec<u8> = line.iter().copied().filter(|c| !c.is_ascii_whitespace()).collect();
    trimmed.first() == Some(&b'|') || trimmed.last() == Some(&b'|') || line.iter().filter(|&&c| c == b'|').count() >= 3
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
                    )
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
    let resolved = role.resolved();
    if resolved {
        let t = s.trim_start();
        if role != Role::Url && t.len() > 1 && t.starts_with('-') && t.as_bytes()[1].is_ascii_alphabetic() {
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
    for f in operators(s, quotes, 4096) {
        let w = word_at(b, f.at);
        let t = tier(&w.text);
        let (argish, ended) = shell_arg(b, w.end);
        let flagged = match role {
            Role::Exec => match f.op {
                Op::Background => t > Tier::None,
                Op::Newline => !w.text.is_empty() && (t > Tier::None || argish),
                Op::RedirOut => !w.text.is_empty() && w.text != "/dev/null" && !w.text.starts_with('&'),
                Op::RedirIn => w.text.starts_with('/') || w.text.starts_with('~') || w.text.starts_with('.'),
                _ => !w.text.is_empty() || matches!(f.op, Op::Subst | Op::Backtick),
            },
            Role::Path | Role::Host | Role::Url => match f.op {
                Op::Subst => !w.text.is_empty(),
                Op::Backtick => t > Tier::None || !w.text.is_empty() && role != Role::Url,
                Op::Seq | Op::Background => t > Tier::None || (role == Role::Host && !w.text.is_empty()),
                Op::Pipe => t > Tier::None || (role != Role::Url && !w.text.is_empty()),
                Op::And | Op::Or | Op::Newline => !w.text.is_empty() && (t > Tier::None || role != Role::Url),
                Op::RedirOut | Op::RedirIn => role != Role::Url && t > Tier::None,
            },
            _ => {
                let strong = t == Tier::Distinct && (ended || argish || w.attached)
                    || t == Tier::Ambiguous && (argish || (w.attached && ended));
                match f.op {
                    Op::Subst => t > Tier::None,
                    Op::Backtick => {
                        let before = f.open.checked_sub(1).map(|p| b[p]);
                        let glued = before
                            .is_some_and(|c| !c.is_ascii_whitespace() && !matches!(c, b'(' | b'"' | b'\'' | b':'));
                        strong && (glued || argish)
                    }
                    Op::Pipe => strong && !table_row(b, f.open),
                    Op::Newline => t > Tier::None && argish,
                    Op::RedirOut | Op::RedirIn => false,
                    _ => strong,
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
