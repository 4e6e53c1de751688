//! Path traversal and sensitive paths: every value used as a path is decoded
//! (percent escapes in rounds, overlong UTF-8, `%u` escapes), its backslashes read
//! as separators, and normalised segment by segment; a `..` that climbs above the
//! start, an encoded `..`, a `..` inside an absolute path, a well-known secrets
//! location, a `/proc/self` or device path, a UNC path or a path outside the
//! configured roots is reported.

use crate::decode;
use crate::net;
use crate::walk::Role;

/// Is `n` (normalised, lower-case, `/`-separated) a well-known secrets location?
fn sensitive(n: &str) -> Option<&'static str> {
    const ABSOLUTE: &[&str] = &[
        "/etc/shadow",
        "/etc/gshadow",
        "/etc/passwd",
        "/etc/master.passwd",
        "/etc/sudoers",
        "/etc/security/opasswd",
        "/etc/ssh/",
        "/etc/ssl/private",
        "/etc/krb5.keytab",
        "/etc/kubernetes/",
        "/etc/letsencrypt/",
        "/etc/mysql/debian.cnf",
        "/var/run/secrets/",
        "/run/secrets/",
        "/var/lib/kubelet/",
        "/root",
        "/dev/mem",
        "/dev/kmem",
        "/dev/fd/",
        "/dev/sda",
        "/dev/nvme",
        "/etc/sudoers.d/",
        "/etc/cron",
        "/etc/crontab",
        "/etc/ld.so.preload",
        "/etc/rc.local",
        "/etc/profile",
        "/etc/systemd/",
        "/etc/init.d/",
        "/etc/security/",
        "/etc/pam.d/",
        "/var/spool/cron",
        "/var/lib/docker",
        "/var/run/docker.sock",
        "/run/docker.sock",
        "/var/log/auth.log",
        "/var/log/secure",
        "/boot",
        "/sys/",
        "/proc/",
        "/lib/systemd/",
        "c:/windows/system32",
        "c:/programdata/ssh",
        "c:/inetpub/",
    ];
    for a in ABSOLUTE {
        let prefix_only = matches!(*a, "/etc/cron" | "/etc/sudoers" | "/var/spool/cron");
        if n == a.trim_end_matches('/')
            || n.starts_with(a)
                && (prefix_only || a.ends_with('/') || n[a.len()..].starts_with('/') || n.len() == a.len())
        {
            return Some("a sensitive system file or directory");
        }
    }
    if let Some(rest) = n.strip_prefix("/proc/") {
        let first = rest.split('/').next().unwrap_or("");
        if first == "self" || first == "thread-self" || (!first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()))
        {
            return Some("a /proc process path (environment, memory, symlinked root or cwd)");
        }
    }
    let segs: Vec<&str> = n.split('/').filter(|s| !s.is_empty()).collect();
    let base = segs.last().copied().unwrap_or("");
    for (i, s) in segs.iter().enumerate() {
        let next = segs.get(i + 1).copied();
        let hit = match *s {
            ".ssh" => next.is_none_or(|f| !f.ends_with(".pub")),
            ".aws" => next.is_none_or(|f| f == "credentials" || f == "config"),
            ".azure" | ".gnupg" | ".password-store" | ".terraform.d" => true,
            ".kube" => next.is_none_or(|f| f == "config"),
            ".docker" => next == Some("config.json"),
            "gcloud" => i > 0 && segs[i - 1] == ".config",
            "gh" => i > 0 && segs[i - 1] == ".config" && next == Some("hosts.yml"),
            ".cargo" => next.is_some_and(|f| f.starts_with("credentials")),
            "system32" => {
                next == Some("config") && segs.get(i + 2).is_some_and(|f| matches!(*f, "sam" | "system" | "security"))
            }
            "repair" => next == Some("sam"),
            _ => false,
        };
        if hit {
            return Some("a credentials location");
        }
    }
    let secret_file = matches!(
        base,
        ".netrc"
            | "_netrc"
            | ".pgpass"
            | ".my.cnf"
            | ".git-credentials"
            | ".npmrc"
            | ".pypirc"
            | ".vault-token"
            | ".htpasswd"
            | ".boto"
            | ".s3cfg"
            | "terraform.tfstate"
            | "application_default_credentials.json"
            | "wp-config.php"
            | "ntds.dit"
            | "win.ini"
            | "boot.ini"
            | "privkey.pem"
            | "key.pem"
            | ".bash_history"
            | ".zsh_history"
            | ".mysql_history"
            | ".psql_history"
            | ".python_history"
    ) || ["id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"]
        .iter()
        .any(|k| base.starts_with(k) && !base.ends_with(".pub"))
        || matches!(
            base,
            ".bashrc"
                | ".bash_profile"
                | ".profile"
                | ".zshrc"
                | ".zprofile"
                | ".bash_logout"
                | "login.keychain-db"
                | "login.keychain"
                | "web.config"
                | "ssh_host_rsa_key"
                | "ssh_host_ed25519_key"
                | "sam"
        )
        || n.contains("/library/keychains/")
        || n.contains("/.config/autostart/")
        || n.contains("/.git/hooks/")
        || [".key", ".p12", ".pfx", ".jks", ".keystore", "_key.pem", "-key.pem", ".pem", ".kdbx", ".ovpn", ".ppk"]
            .iter()
            .any(|e| base.len() > e.len() && base.ends_with(e))
        || base == ".env"
        || base
            .strip_prefix(".env.")
            .is_some_and(|v| !matches!(v, "example" | "sample" | "template" | "dist" | "defaults" | "schema" | "tpl"));
    secret_file.then_some("a secrets file (keys, credentials, .env)")
}

/// What normalising a path found.
struct Normal {
    /// `/a/b`, `~/a`, `c:/a` or `a/b` (relative), lower-case.
    path: String,
    absolute: bool,
    /// A `..` climbed above the start (or above `/`).
    climbed: bool,
    /// Any `..`-like segment.
    dotdot: bool,
    /// Directories the `..` segments removed.
    pops: usize,
}

/// Look-alike slashes and dots that some decoders and file systems fold:
/// `／` `∕` `⁄` `＼` `．` and the one-dot leader.
fn fold_lookalikes(p: &str) -> String {
    p.chars()
        .map(|c| match c {
            '\u{FF0F}' | '\u{2215}' | '\u{2044}' | '\u{29F8}' => '/',
            '\u{FF3C}' | '\u{29F5}' | '\u{FE68}' => '\\',
            '\u{FF0E}' | '\u{2024}' | '\u{FE52}' => '.',
            _ => c,
        })
        .collect()
}

/// Whether a redirection target or written file is a place no command should write:
/// secrets, system and persistence locations.
pub(crate) fn sensitive_target(t: &str) -> bool {
    let t = t.trim_matches(['"', '\'']);
    if t.is_empty() || t == "/dev/null" || t.starts_with("/dev/std") || t.starts_with('&') {
        return false;
    }
    let n = normalize(t);
    sensitive(&n.path).is_some() || n.path.starts_with("/var/www") || n.path.starts_with("/etc/")
}

fn normalize(p: &str) -> Normal {
    let p = fold_lookalikes(p).replace('\\', "/").to_lowercase();
    let b = p.as_bytes();
    let (prefix, body) = if let Some(rest) = p.strip_prefix('/') {
        ("/", rest)
    } else if p.starts_with("~/") || p == "~" {
        ("~/", p.get(2..).unwrap_or(""))
    } else if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        (&p[..2], p.get(2..).unwrap_or("").trim_start_matches('/'))
    } else {
        ("", p.as_str())
    };
    let mut stack: Vec<&str> = Vec::new();
    let (mut climbed, mut dotdot, mut pops) = (false, false, 0);
    for seg in body.split('/') {
        let seg = seg.trim_end_matches([';', ' ']); // Tomcat `..;/`, Windows trailing blanks
        if seg.is_empty() || seg == "." {
            continue;
        }
        if seg.len() >= 2 && seg.bytes().all(|c| c == b'.') {
            dotdot = true;
            if stack.pop().is_none() {
                climbed = true;
            } else {
                pops += 1;
            }
            continue;
        }
        stack.push(seg);
    }
    let path = match prefix {
        "" => stack.join("/"),
        "/" | "~/" => format!("{prefix}{}", stack.join("/")),
        drive => format!("{drive}/{}", stack.join("/")),
    };
    Normal { path, absolute: !prefix.is_empty(), climbed, dotdot, pops }
}

fn under(path: &str, root: &str) -> bool {
    root == "/" || path == root || path.starts_with(root) && path.as_bytes().get(root.len()) == Some(&b'/')
}

/// How a candidate is judged.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The whole value is a path the upstream opens.
    Path,
    /// A path-like token inside a command or free text.
    Token,
    /// A path-like token inside data: only the clearest attacks.
    Data,
}

fn examine(raw: &str, encoded: bool, mode: Mode, roots: &[String]) -> Option<&'static str> {
    if mode == Mode::Path {
        if raw.contains('\0') {
            return Some("a NUL byte (extension truncation)");
        }
        let slashed = raw.replace('\\', "/");
        if slashed.starts_with("//?/") || slashed.starts_with("//./") {
            return Some("a Windows device path");
        }
        if slashed.starts_with("//") && slashed[2..].bytes().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
            return Some("a UNC network path");
        }
    }
    let n = normalize(raw);
    if n.dotdot && encoded {
        return Some("an encoded `..` traversal");
    }
    if n.climbed && mode != Mode::Data {
        return Some("a `..` traversal out of the base directory");
    }
    let secret = sensitive(&n.path);
    if let Some(r) = secret {
        // In data, only a secrets path reached by climbing is an attack.
        if mode != Mode::Data || n.climbed {
            return Some(r);
        }
    }
    if mode == Mode::Path
        && ["/usr/local/bin/", "/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/", "/usr/lib/", "/lib/"]
            .iter()
            .any(|d| n.path.starts_with(d))
    {
        return Some("a system binary or library location");
    }
    if mode == Mode::Path && n.absolute && n.pops >= 2 {
        return Some("a `..` traversal inside an absolute path");
    }
    if mode == Mode::Path && !roots.is_empty() && n.absolute && !roots.iter().any(|r| under(&n.path, &r.to_lowercase()))
    {
        return Some("an absolute path outside the allowed roots");
    }
    None
}

fn looks_like_path(t: &str) -> bool {
    // One pass over the bytes: this runs on every token of every string.
    t.starts_with('~')
        || t.starts_with(".env")
        || t.as_bytes().windows(2).any(|w| matches!(w[0], b'/' | b'\\') || w == b"..")
        || t.ends_with(['/', '\\'])
}

/// Why `s`, used as `role`, is a traversal or sensitive path, or `None`.
pub(crate) fn check(s: &str, role: Role, roots: &[String]) -> Option<&'static str> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    match role {
        Role::Path | Role::Url | Role::Host => {
            if let Some(url) = net::parse_url(t) {
                if url.scheme == "file" {
                    let p = if url.host.is_empty() || url.host == "localhost" {
                        url.rest.clone()
                    } else {
                        format!("//{}{}", url.host, url.rest)
                    };
                    return whole(&p, Mode::Path, roots);
                }
                let path = url.rest.split(['?', '#']).next().unwrap_or("");
                return whole(path, Mode::Token, &[]);
            }
            if role == Role::Host && !t.starts_with(['/', '\\', '~', '.']) {
                return None;
            }
            whole(t, Mode::Path, roots)
        }
        Role::Exec => tokens(t, Mode::Token),
        Role::Neutral | Role::Expr => {
            if !t.contains(char::is_whitespace) && looks_like_path(t) && !t.contains("://") {
                return whole(t, Mode::Token, &[]);
            }
            tokens(t, Mode::Token)
        }
        Role::Data | Role::Sql => {
            if !t.contains("..") && !t.contains('%') {
                return None;
            }
            tokens(t, Mode::Data)
        }
    }
}

fn whole(p: &str, mode: Mode, roots: &[String]) -> Option<&'static str> {
    for (i, v) in decode::variants(p, 3).iter().enumerate() {
        if let Some(r) = examine(v, i > 0, mode, roots) {
            return Some(r);
        }
    }
    None
}

/// Path-like tokens of free text or a command line.
fn tokens(s: &str, mode: Mode) -> Option<&'static str> {
    // No token can look like a path without one of these (see `looks_like_path`); most
    // prose has none of them.
    if !s.as_bytes().iter().any(|&b| matches!(b, b'/' | b'\\' | b'~')) && !s.contains("..") && !s.contains(".env") {
        return None;
    }
    let mut checked = 0;
    for tok in s.split(|c: char| {
        c.is_whitespace()
            || matches!(c, '"' | '\'' | '`' | '(' | ')' | '<' | '>' | '|' | ';' | ',' | '=' | '[' | ']' | '{' | '}')
    }) {
        if tok.len() < 3 || !looks_like_path(tok) || tok.contains("://") {
            continue;
        }
        checked += 1;
        if checked > 2048 {
            break;
        }
        let tok = tok.trim_end_matches(['.', ',', ':', '!', '?']);
        for (i, v) in decode::variants(tok, 3).iter().enumerate() {
            if mode == Mode::Data && i == 0 && !v.contains("../") && !v.contains("..\\") {
                continue;
            }
            if let Some(r) = examine(v, i > 0, mode, &[]) {
                // A lone `../x` in prose or a command is common; flag climbing only
                // when it reaches a secret or climbs repeatedly.
                if r == "a `..` traversal out of the base directory"
                    && v.matches("..").count() < 2
                    && sensitive(&normalize(v).path).is_none()
                {
                    continue;
                }
                return Some(r);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_forms() {
        let roots: Vec<String> = Vec::new();
        for p in [
            "../../etc/passwd",
            "..%2f..%2fetc/hosts",
            "%252e%252e%252fsecret",
            "..%c0%af..%c0%afx",
            "..\\..\\windows\\win.ini",
            "....//....//etc/x",
            "/var/www/../../etc/hosts",
            "~/.ssh/id_rsa",
            "/proc/self/environ",
            ".env",
            "\\\\attacker\\share\\x",
        ] {
            assert!(check(p, Role::Path, &roots).is_some(), "{p}");
        }
        for p in ["docs/readme.md", "src/../README.md", "/tmp/out.txt", ".env.example", "notes/2024/plan.txt"] {
            assert!(check(p, Role::Path, &roots).is_none(), "{p}");
        }
        let roots = vec!["/srv/data".to_string()];
        assert!(check("/srv/data/a.txt", Role::Path, &roots).is_none());
        assert!(check("/srv/database/a.txt", Role::Path, &roots).is_some());
        assert!(check("/home/u/a.txt", Role::Path, &roots).is_some());
    }
}
