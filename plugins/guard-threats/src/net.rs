//! URLs and hosts by form: a WHATWG-style authority parser, the inet_aton IPv4
//! forms (`2130706433`, `0x7f.1`, `017700000001`, `127.1`), IPv6 with embedded IPv4,
//! and the address ranges and names that reach the gateway's own network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::decode;

/// Why a host is internal (the finding's reason), or `None` for a public host.
pub(crate) fn classify(host: &str) -> (Option<&'static str>, Option<IpAddr>) {
    if let Some(ip) = parse_ip(host) {
        return (classify_ip(ip), Some(ip));
    }
    (classify_name(host), None)
}

/// `host` as an IP address in any of the forms resolvers accept.
pub(crate) fn parse_ip(host: &str) -> Option<IpAddr> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']').unwrap_or(inner);
        return parse_ipv6(inner).map(IpAddr::V6);
    }
    if host.contains(':') {
        return parse_ipv6(host).map(IpAddr::V6);
    }
    parse_ipv4(host).map(IpAddr::V4)
}

fn parse_ipv6(s: &str) -> Option<Ipv6Addr> {
    // Zone ids (`fe80::1%eth0`, `%25eth0` in URLs) do not change the range.
    let s = s.split('%').next().unwrap_or(s);
    s.parse().ok()
}

/// The WHATWG / inet_aton IPv4 parser: 1 to 4 dot-separated parts, each decimal,
/// octal (leading `0`) or hex (`0x`); the last part fills the remaining bytes.
pub(crate) fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    let mut parts = [0u64; 4];
    let mut n = 0;
    for part in s.split('.') {
        if n == 4 {
            return None;
        }
        parts[n] = parse_part(part)?;
        n += 1;
    }
    let mut value: u64 = 0;
    for (i, &p) in parts[..n - 1].iter().enumerate() {
        if p > 255 {
            return None;
        }
        value |= p << (8 * (3 - i));
    }
    let last = parts[n - 1];
    let room = 8 * (5 - n as u32);
    if room < 64 && last >= (1u64 << room) {
        return None;
    }
    value |= last;
    u32::try_from(value).ok().map(Ipv4Addr::from)
}

fn parse_part(p: &str) -> Option<u64> {
    if p.is_empty() || p.len() > 40 {
        return None;
    }
    let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
        (h, 16)
    } else if p.len() > 1 && p.starts_with('0') {
        (&p[1..], 8)
    } else {
        (p, 10)
    };
    if digits.is_empty() {
        return if radix == 16 { Some(0) } else { None };
    }
    let v = u64::from_str_radix(digits, radix).ok()?;
    (v <= u64::from(u32::MAX)).then_some(v)
}

pub(crate) fn in_prefix(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - u32::from(bits.min(32))) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - u32::from(bits.min(128))) };
            u128::from(a) & mask == u128::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V4(_)) => embedded_v4(a).is_some_and(|v4| in_prefix(IpAddr::V4(v4), net, bits)),
        _ => false,
    }
}

pub(crate) fn classify_ip(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    let v = u32::from(ip);
    let within = |net: u32, bits: u32| v >> (32 - bits) == net >> (32 - bits);
    Some(match o {
        [169, 254, 169, 254] | [169, 254, 170, 2] | [100, 100, 100, 200] | [168, 63, 129, 16] | [192, 0, 0, 192] => {
            "a cloud metadata address"
        }
        [127, ..] => "a loopback address",
        [0, ..] => "the unspecified address (reaches the local host)",
        [10, ..] => "a private address",
        [172, b, ..] if (16..32).contains(&b) => "a private address",
        [192, 168, ..] => "a private address",
        [169, 254, ..] => "a link-local address",
        [100, b, ..] if (64..128).contains(&b) => "a shared (carrier-grade NAT) address",
        [192, 0, 0, _] => "an IETF special-purpose address",
        [198, 18 | 19, ..] => "a benchmarking-network address",
        [255, 255, 255, 255] => "the broadcast address",
        _ if within(0xE000_0000, 4) => "a multicast address",
        _ if within(0xF000_0000, 4) => "a reserved address",
        _ => return None,
    })
}

/// The IPv4 address carried by an IPv6 one (mapped, compatible, NAT64, 6to4).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let o = ip.octets();
    let tail = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) && (s[6] != 0 || s[7] > 1) {
        return Some(tail); // ::ffff:a.b.c.d, ::a.b.c.d
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail); // NAT64
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5])); // 6to4
    }
    None
}

fn classify_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let s = ip.segments();
    Some(match s[0] {
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_unspecified() => "the unspecified address (reaches the local host)",
        0xfd00 if s[1] == 0x0ec2 => "a cloud metadata address",
        x if x & 0xfe00 == 0xfc00 => "a unique-local (private) address",
        x if x & 0xffc0 == 0xfe80 => "a link-local address",
        x if x & 0xffc0 == 0xfec0 => "a site-local address",
        x if x & 0xff00 == 0xff00 => "a multicast address",
        _ => return None,
    })
}

/// Names that resolve to loopback whatever the DNS says, or to an arbitrary
/// address written into the name.
const LOOPBACK_DOMAINS: &[&str] = &[
    "localtest.me",
    "lvh.me",
    "vcap.me",
    "lacolhost.com",
    "fuf.me",
    "localh.st",
    "spoofed.burpcollaborator.net",
    "127.0.0.1.xip.io",
];
/// Wildcard DNS services: `10.0.0.1.nip.io`, `10-0-0-1.sslip.io`, `7f000001.…`.
const IP_IN_NAME_DOMAINS: &[&str] = &["nip.io", "sslip.io", "xip.io", "traefik.me", "1u.ms", "rbndr.us", "nip.direct"];
const METADATA_NAMES: &[&str] = &[
    "metadata.google.internal",
    "metadata",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.azure.internal",
    "kubernetes.default",
    "kubernetes.default.svc",
    "metadata.packet.net",
    "metadata.platformequinix.com",
    "metadata.tencentyun.com",
    "metadata.oraclecloud.com",
];
const INTERNAL_SUFFIXES: &[&str] = &[
    "localhost",
    "localdomain",
    "internal",
    "local",
    "lan",
    "intranet",
    "corp",
    "home",
    "home.arpa",
    "private",
    "svc",
    "cluster.local",
    "consul",
    "in-addr.arpa",
    "ip6.arpa",
];

fn has_suffix(host: &str, domain: &str) -> bool {
    host == domain || host.strip_suffix(domain).is_some_and(|h| h.ends_with('.'))
}

fn classify_name(host: &str) -> Option<&'static str> {
    if host.is_empty() {
        return None;
    }
    if METADATA_NAMES.contains(&host) {
        return Some("a cloud metadata host name");
    }
    if host == "localhost" || has_suffix(host, "localhost") || host.starts_with("ip6-") || host == "loopback" {
        return Some("a localhost name");
    }
    if LOOPBACK_DOMAINS.iter().any(|d| has_suffix(host, d)) {
        return Some("a name that resolves to loopback");
    }
    // An address spelt into the labels (`10.0.0.1.nip.io`, `app-127-0-0-1.example`).
    if let Some(reason) = embedded_address(host) {
        return Some(reason);
    }
    if IP_IN_NAME_DOMAINS.iter().any(|d| has_suffix(host, d)) && !embeds_any_address(host) {
        return Some("a wildcard-DNS name (resolves to an address chosen by the caller)");
    }
    if INTERNAL_SUFFIXES.iter().any(|d| has_suffix(host, d)) {
        return Some("an internal-only domain");
    }
    if !host.contains('.') && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Some("a single-label (intranet) host name");
    }
    None
}

/// An internal IPv4 address written into a host name: four decimal labels in a
/// row, a label of four dash-separated octets, or (under a wildcard-DNS service)
/// eight hex digits.
fn embedded_address(host: &str) -> Option<&'static str> {
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() >= 5 {
        for w in labels.windows(4) {
            if w.iter().all(|l| !l.is_empty() && l.len() <= 3 && l.bytes().all(|b| b.is_ascii_digit())) {
                let ip = parse_ipv4(&w.join("."));
                if let Some(r) = ip.and_then(classify_v4) {
                    return Some(leak(r));
                }
            }
        }
    }
    let wildcard = IP_IN_NAME_DOMAINS.iter().any(|d| has_suffix(host, d));
    for label in &labels {
        // `127-0-0-1`, possibly after a prefix: `app-10-0-0-1`.
        let parts: Vec<&str> = label.split('-').collect();
        if parts.len() >= 4 {
            for w in parts.windows(4) {
                if w.iter().all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
                    && let Some(r) = parse_ipv4(&w.join(".")).and_then(classify_v4)
                {
                    return Some(leak(r));
                }
            }
        }
        if wildcard
            && label.len() == 8
            && label.bytes().all(|b| b.is_ascii_hexdigit())
            && let Ok(v) = u32::from_str_radix(label, 16)
            && let Some(r) = classify_v4(Ipv4Addr::from(v))
        {
            return Some(leak(r));
        }
    }
    None
}

/// Whether a wildcard-DNS name spells some (public) address.
fn embeds_any_address(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    let octet = |l: &str| !l.is_empty() && l.len() <= 3 && l.bytes().all(|b| b.is_ascii_digit());
    labels.windows(4).any(|w| w.iter().all(|l| octet(l)))
        || labels.iter().any(|l| {
            let parts: Vec<&str> = l.split('-').collect();
            parts.windows(4).any(|w| w.iter().all(|p| octet(p)))
                || l.len() == 8 && l.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

fn leak(_reason: &'static str) -> &'static str {
    "a host name that embeds an internal address"
}

/// Schemes that reach local files or speak raw protocols to internal services.
pub(crate) fn dangerous_scheme(scheme: &str) -> Option<&'static str> {
    Some(match scheme {
        "file" => "a file: URL (local file access)",
        "gopher" => "a gopher: URL (raw TCP to any service)",
        "dict" => "a dict: URL (raw TCP to any service)",
        "ldap" | "ldaps" | "ldapi" => "an ldap: URL",
        "tftp" => "a tftp: URL",
        "jar" | "netdoc" => "a jar:/netdoc: URL (local resource access)",
        "php" | "phar" | "expect" | "glob" | "zip" | "compress.zlib" | "data+file" => "a PHP stream wrapper URL",
        "smb" | "cifs" => "an smb: URL (network share, credential leak)",
        "sftp" | "telnet" | "ssh" | "redis" | "mysql" | "postgres" | "postgresql" | "mongodb" | "memcache"
        | "memcached" | "jdbc" => return None,
        _ => return None,
    })
}

/// A URL's parts, borrowed or decoded.
#[derive(Debug, Default)]
pub(crate) struct Url {
    pub scheme: String,
    /// Normalised host: decoded, lower-case, without brackets' zone or trailing dot.
    pub host: String,
    /// Path + query as written (for traversal checks).
    pub rest: String,
}

/// Parse `s` as a URL with a scheme (`http://…`, `file:/…`, `http:\\…`), or `None`.
pub(crate) fn parse_url(s: &str) -> Option<Url> {
    let colon = s.find(':')?;
    let scheme = &s[..colon];
    if scheme.len() < 2
        || scheme.len() > 24
        || !scheme.as_bytes()[0].is_ascii_alphabetic()
        || !scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let after = &s[colon + 1..];
    let slashes = after.bytes().take_while(|&b| b == b'/' || b == b'\\').count();
    if slashes == 0 {
        // `file:etc/passwd`, `jar:http://…`: opaque; only a few schemes matter.
        if dangerous_scheme(&scheme).is_some() && !after.is_empty() {
            return Some(Url { scheme, host: String::new(), rest: after.to_string() });
        }
        return None;
    }
    if scheme == "file" && slashes != 2 {
        let rest = format!("/{}", after[slashes..].trim_start_matches(['/', '\\']));
        return Some(Url { scheme, host: String::new(), rest });
    }
    let (host, rest) = split_authority(&after[slashes..]);
    Some(Url { scheme, host, rest: rest.to_string() })
}

/// Host and the rest of `s` = `[userinfo@]host[:port][/path…]`.
pub(crate) fn split_authority(s: &str) -> (String, &str) {
    let end = s.find(['/', '\\', '?', '#', ' ', '\t', '\n', '\r', '"', '\'', '<', '>', '`']).unwrap_or(s.len());
    let authority = &s[..end];
    let rest = &s[end..];
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    (normalize_host(hostport), rest)
}

/// Decode, map full-width and enclosed forms, lower-case, strip the port and a
/// trailing dot; keep IPv6 brackets.
pub(crate) fn normalize_host(hostport: &str) -> String {
    let decoded = decode::percent_rounds(hostport, 3);
    let mapped: String = decoded.chars().filter_map(fold_host_char).collect();
    let mut h = mapped.to_ascii_lowercase();
    if h.starts_with('[') {
        if let Some(end) = h.find(']') {
            h.truncate(end + 1);
        }
        return h;
    }
    // More than one colon without brackets: a bare IPv6 address, no port.
    if h.matches(':').count() == 1
        && let Some((host, _port)) = h.split_once(':')
    {
        h = host.to_string();
    }
    while h.ends_with('.') && h.len() > 1 {
        h.pop();
    }
    h
}

/// Full-width ASCII, ideographic full stops and circled digits as resolvers'
/// IDNA mapping sees them; invisible characters dropped.
fn fold_host_char(c: char) -> Option<char> {
    let u = c as u32;
    Some(match u {
        0xFF01..=0xFF5E => char::from_u32(u - 0xFF01 + 0x21).unwrap_or(c),
        0x3002 | 0xFF61 => '.',
        0x2460..=0x2468 => char::from_u32(u - 0x2460 + u32::from(b'1')).unwrap_or(c),
        0x24EA => '0',
        0x24B6..=0x24CF => char::from_u32(u - 0x24B6 + u32::from(b'a')).unwrap_or(c),
        0x24D0..=0x24E9 => char::from_u32(u - 0x24D0 + u32::from(b'a')).unwrap_or(c),
        0x2070 => '0',
        0x2080..=0x2089 => char::from_u32(u - 0x2080 + u32::from(b'0')).unwrap_or(c),
        0x200B..=0x200D | 0x2060 | 0xFEFF | 0xAD => return None,
        _ => c,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn internal(h: &str) -> bool {
        classify(&normalize_host(h)).0.is_some()
    }

    #[test]
    fn ipv4_forms() {
        for h in [
            "127.0.0.1",
            "2130706433",
            "0x7f.1",
            "017700000001",
            "127.1",
            "0x7f000001",
            "0177.0.0.01",
            "0",
            "0.0.0.0",
            "169.254.169.254",
            "[::ffff:127.0.0.1]",
            "[::1]",
            "[fd00::1]",
            "[fe80::1%25eth0]",
            "10.1.2.3:8080",
            "192.168.0.1.",
            "[::ffff:a9fe:a9fe]",
            "①②⑦.0.0.1",
            "ｌｏｃａｌｈｏｓｔ",
            "%31%32%37.0.0.1",
        ] {
            assert!(internal(h), "{h}");
        }
        for h in ["8.8.8.8", "example.com", "1.2.3.4:443", "[2606:4700::1111]", "api.github.com", "172.32.0.1"] {
            assert!(!internal(h), "{h}");
        }
    }

    #[test]
    fn names() {
        for h in [
            "localhost",
            "api.localhost",
            "metadata.google.internal",
            "127.0.0.1.nip.io",
            "10-0-0-1.sslip.io",
            "7f000001.c0a80001.rbndr.us",
            "foo.localtest.me",
            "db.svc.cluster.local",
            "redis",
        ] {
            assert!(internal(h), "{h}");
        }
        assert!(!internal("8.8.8.8.nip.io"));
        assert!(!internal("v1.2.3.4.example.com"));
    }

    #[test]
    fn urls() {
        let u = parse_url("http://evil.com@127.0.0.1:80/x").expect("url");
        assert_eq!(u.host, "127.0.0.1");
        let u = parse_url("http:\\\\127.0.0.1\\x").expect("url");
        assert_eq!(u.host, "127.0.0.1");
        let u = parse_url("file:///etc/passwd").expect("url");
        assert_eq!((u.scheme.as_str(), u.host.as_str(), u.rest.as_str()), ("file", "", "/etc/passwd"));
        assert!(parse_url("note: hello").is_none());
    }
}
