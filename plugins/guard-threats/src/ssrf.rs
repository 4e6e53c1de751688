//! SSRF: URLs and hosts in arguments that reach the gateway's own network —
//! loopback, private, link-local and cloud-metadata addresses in any encoding,
//! localhost and internal names, wildcard-DNS names embedding such addresses — and
//! schemes that read local files or speak raw protocols (`file:`, `gopher:`, `dict:`).

use std::borrow::Cow;

use crate::config::Policy;
use crate::decode;
use crate::net::{self, Url};
use crate::walk::Role;

/// Commands whose next host-like argument is contacted.
const NET_COMMANDS: &[&str] = &[
    "curl",
    "wget",
    "nc",
    "ncat",
    "netcat",
    "telnet",
    "ssh",
    "http",
    "https",
    "fetch",
    "iwr",
    "invoke-webrequest",
    "ftp",
    "nmap",
    "socat",
    "redis-cli",
    "mysql",
    "psql",
];

/// Why `url` is a forbidden target, honouring the allow-list.
pub(crate) fn judge(url: &Url, policy: &Policy, data: bool) -> Option<&'static str> {
    if let Some(r) = net::dangerous_scheme(&url.scheme) {
        if data && !matches!(url.scheme.as_str(), "gopher" | "dict") {
            return None;
        }
        if url.host.is_empty() || !policy.host_allowed(&url.host, None) {
            return Some(r);
        }
    }
    judge_host(&url.host, policy, data)
}

pub(crate) fn judge_host(host: &str, policy: &Policy, data: bool) -> Option<&'static str> {
    judge_host_as(host, policy, data, false)
}

/// `bare`: the host was written without a scheme (`"server": "github"`), where a
/// single-label name is as likely a product or service name as an intranet host.
fn judge_host_as(host: &str, policy: &Policy, data: bool, bare: bool) -> Option<&'static str> {
    if host.is_empty() || host.len() > 255 {
        return None;
    }
    let (reason, ip) = net::classify(host);
    if policy.host_allowed(host, ip) {
        return None;
    }
    match reason {
        Some(r) if bare && r.starts_with("a single-label") => None,
        Some(r) if !data => Some(r),
        Some(_) => None,
        None if policy.deny_other_hosts && !data => Some("a host not in allowed_hosts"),
        None => None,
    }
}

/// URLs with a scheme inside free text (at most `limit`).
pub(crate) fn find_urls(s: &str, limit: usize) -> Vec<Url> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while out.len() < limit {
        let Some(p) = b[from..].iter().position(|&c| c == b':') else { break };
        let colon = from + p;
        from = colon + 1;
        if !matches!(b.get(colon + 1), Some(b'/' | b'\\')) {
            continue;
        }
        // The scheme: at most 32 scheme characters back (bounded work per colon).
        let back = b[..colon]
            .iter()
            .rev()
            .take(32)
            .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')));
        let start = match back {
            Some(n) => colon - n,
            None if colon <= 32 => 0,
            None => continue,
        };
        if start == colon || colon - start > 24 {
            continue;
        }
        if let Some(u) = net::parse_url(&s[start..]) {
            out.push(u);
        }
    }
    out
}

/// Why `s`, used as `role`, targets an internal or forbidden destination, or `None`.
pub(crate) fn check(s: &str, role: Role, policy: &Policy) -> Option<&'static str> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    let data = matches!(role, Role::Data | Role::Sql);
    // Whole-value targets.
    match role {
        Role::Url | Role::Host | Role::Path => {
            let first = t.split_whitespace().next().unwrap_or("");
            if let Some(u) = net::parse_url(first) {
                if let Some(r) = judge(&u, policy, false) {
                    return Some(r);
                }
            } else if role == Role::Path && {
                let head = first.split(['/', ':']).next().unwrap_or("");
                head.matches('.').count() == 3 && net::parse_ip(head).is_some()
            } {
                // `"target": "169.254.169.254"` for a scanner: an address, not a file.
                if let Some(r) = judge_host_as(&net::split_authority(first).0, policy, false, true) {
                    return Some(r);
                }
            } else if role != Role::Path || first.starts_with("//") || first.starts_with("\\\\") {
                let auth = first.trim_start_matches(['/', '\\']);
                let bare = role == Role::Host
                    || first.starts_with("//")
                    || first.starts_with("\\\\")
                    || looks_like_authority(auth);
                if bare && let Some(r) = judge_host_as(&net::split_authority(auth).0, policy, false, true) {
                    return Some(r);
                }
            }
        }
        Role::Exec => {
            let words: Vec<&str> = t.split_whitespace().collect();
            for (i, w) in words.iter().enumerate().take(512) {
                let base = w.rsplit('/').next().unwrap_or(w).to_ascii_lowercase();
                if !NET_COMMANDS.contains(&base.as_str()) {
                    continue;
                }
                for a in words[i + 1..].iter().take(8) {
                    let a = a.trim_matches(['"', '\'']);
                    if a.starts_with('-') || a.contains("://") {
                        continue;
                    }
                    if looks_like_authority(a)
                        && let Some(r) = judge_host_as(&net::split_authority(a).0, policy, false, true)
                    {
                        return Some(r);
                    }
                }
            }
        }
        _ => {}
    }
    // URLs anywhere in the value, also after decoding (`?next=http%3A%2F%2F127.0.0.1`).
    let variants: Vec<Cow<'_, str>> = if t.contains('%') { decode::variants(t, 3) } else { vec![Cow::Borrowed(t)] };
    for v in &variants {
        if !v.contains(":/") && !v.contains(":\\") {
            continue;
        }
        let has_image = data && v.contains("![");
        for u in find_urls(v, 256) {
            // A Markdown image in data is fetched by whatever renders it.
            let image = has_image && v.contains(&format!("]({}:", u.scheme));
            // In free text only fetchable URLs count (not `postgres://…@localhost`).
            let fetchable = matches!(u.scheme.as_str(), "http" | "https" | "ws" | "wss" | "ftp")
                || net::dangerous_scheme(&u.scheme).is_some();
            if !fetchable && !matches!(role, Role::Url | Role::Host) {
                continue;
            }
            if let Some(r) = judge(&u, policy, data && !image) {
                return Some(r);
            }
        }
    }
    None
}

/// `host`, `host:port`, `1.2.3.4/x`, `[::1]:80` — not prose, not a path.
fn looks_like_authority(a: &str) -> bool {
    let head = a.split(['/', '?', '#']).next().unwrap_or("");
    !head.is_empty()
        && !a.starts_with('/')
        && !a.starts_with('.')
        && head
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b':' | b'[' | b']' | b'@' | b'%'))
        && (head.contains('.')
            || head.contains(':')
            || head.starts_with('[')
            || head.bytes().all(|c| c.is_ascii_digit())
            || head.eq_ignore_ascii_case("localhost"))
}
