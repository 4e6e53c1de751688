//! IP addresses.
//!
//! IPv4: four dotted decimal octets 0-255 without leading zeros, not glued to
//! further digits or dots (`1.3.6.1.4.1` is an OID, `10.0.19045.3803` a build).
//! A port (`:8080`) or prefix length (`/24`) may follow. Not reported: `0.0.0.0`,
//! `255.255.255.255`, loopback `127/8`, netmasks (`255.255.255.0`), anything
//! preceded by `v` or by a word such as "version", "release", "build",
//! "firmware", "section" or "OID" (four-part version numbers look exactly like
//! addresses; the words around them are the only tell).
//!
//! IPv6: full, compressed (`::`) and IPv4-suffixed forms, with an optional zone
//! (`%eth0`), validated group by group. Not reported: `::`, `::1`, MAC-like runs of
//! eight two-digit groups, and `a::b` forms without any decimal digit (C++/Rust
//! paths such as `std::vec`).

use super::{Cand, Detected};
use crate::text::{Context, Keyword, context_before, digit_at, is_word, kw, kw_whole, word_before};

const VERSION_WORDS: &[Keyword] = &[
    kw("version"),
    kw_whole("ver"),
    kw_whole("v"),
    kw("release"),
    kw("build"),
    kw("firmware"),
    kw_whole("fw"),
    kw("revision"),
    kw_whole("rev"),
    kw_whole("sdk"),
    kw_whole("oid"),
    kw("§"),
    kw("section"),
    kw("chapter"),
    kw("figure"),
    kw_whole("fig"),
    kw("table"),
    kw("paragraph"),
    kw("clause"),
    kw("article"),
    kw("appendix"),
    kw_whole("step"),
    kw_whole("item"),
    kw_whole("rule"),
    kw_whole("page"),
    kw_whole("ch"),
    kw_whole("sec"),
    kw_whole("vol"),
    kw("volume"),
    kw_whole("rfc"),
    kw("since"),
    kw("policy"),
    kw_whole("nmu"),
    kw("bump"),
    kw("update"),
    kw("upgrade"),
    kw("downgrade"),
    kw("changelog"),
];

/// Words that make a dotted quad an address even after a version word.
const IP_WORDS: &[Keyword] = &[
    kw_whole("ip"),
    kw("ipv4"),
    kw("address"),
    kw_whole("addr"),
    kw("host"),
    kw_whole("from"),
    kw("server"),
    kw("client"),
    kw("peer"),
    kw_whole("node"),
    kw("gateway"),
    kw("router"),
    kw_whole("dns"),
    kw("proxy"),
    kw("remote"),
    kw("source"),
    kw_whole("src"),
    kw("destination"),
    kw_whole("dst"),
    kw_whole("ssh"),
    kw_whole("ping"),
    kw("connect"),
    kw("listen"),
    kw_whole("bind"),
    kw("agent"),
    kw("machine"),
    kw("instance"),
    kw("endpoint"),
];

pub fn find(text: &str, out: &mut Vec<Cand>) {
    let b = text.as_bytes();
    if b.contains(&b'.') {
        find_v4(b, out);
    }
    if b.contains(&b':') {
        find_v6(b, out);
    }
}

fn find_v4(b: &[u8], out: &mut Vec<Cand>) {
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || word_before(b, i) || (i > 0 && b[i - 1] == b'.') {
            i += 1;
            continue;
        }
        match v4_at(b, i) {
            Some((end, addr)) => {
                if reportable_v4(addr)
                    && !version_context(b, i)
                    && !version_affixes(b, i, end)
                    && !network_v4(b, end, addr)
                {
                    out.push(Cand { score: 0.85, ..Cand::new(i, end, Detected::Ipv4) });
                }
                i = end;
            }
            None => {
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                    i += 1;
                }
            }
        }
    }
}

/// Four octets at `i`: the end offset and the address.
fn v4_at(b: &[u8], i: usize) -> Option<(usize, [u8; 4])> {
    let mut p = i;
    let mut addr = [0u8; 4];
    for (k, slot) in addr.iter_mut().enumerate() {
        if k > 0 {
            if b.get(p) != Some(&b'.') {
                return None;
            }
            p += 1;
        }
        let s = p;
        while digit_at(b, p) && p - s < 4 {
            p += 1;
        }
        let oct = &b[s..p];
        if oct.is_empty() || oct.len() > 3 || (oct.len() > 1 && oct[0] == b'0') {
            return None;
        }
        let v = oct.iter().fold(0u32, |a, c| a * 10 + u32::from(c - b'0'));
        *slot = u8::try_from(v).ok()?;
    }
    if p < b.len() && (is_word(b[p]) || (b[p] == b'.' && digit_at(b, p + 1))) {
        return None;
    }
    Some((p, addr))
}

/// `gnutls-3.6.7.1`, `alsa-lib (1.1.3.5-1)`: a package name before or a Debian
/// revision after make a dotted quad a version. (`10.0.0.1-10.0.0.9`, a range of
/// addresses, is still addresses.)
fn version_affixes(b: &[u8], start: usize, end: usize) -> bool {
    let name_before = start >= 2 && b[start - 1] == b'-' && b[start - 2].is_ascii_alphabetic();
    let revision_after = b.get(end) == Some(&b'-') && {
        let mut k = end + 1;
        while digit_at(b, k) {
            k += 1;
        }
        k > end + 1 && b.get(k) != Some(&b'.')
    };
    name_before || revision_after
}

/// `10.1.1.0/24`: a network (host bits zero under its prefix), not a host.
fn network_v4(b: &[u8], end: usize, a: [u8; 4]) -> bool {
    if b.get(end) != Some(&b'/') {
        return false;
    }
    let mut k = end + 1;
    let mut prefix = 0u32;
    while digit_at(b, k) && k - end <= 2 {
        prefix = prefix * 10 + u32::from(b[k] - b'0');
        k += 1;
    }
    if k == end + 1 || prefix > 32 || digit_at(b, k) {
        return false;
    }
    let host_mask = if prefix == 32 { 0 } else { u32::MAX >> prefix };
    u32::from_be_bytes(a) & host_mask == 0 && prefix < 32
}

fn reportable_v4(a: [u8; 4]) -> bool {
    let netmask = {
        let v = u32::from_be_bytes(a);
        a[0] == 255 && v.leading_ones() + v.trailing_zeros() == 32
    };
    !(a == [0, 0, 0, 0] || a[0] == 0 || a[0] == 127 || netmask)
}

/// `v1.2.3.4`, "version 2.4.1.0", "section 4.2.1.3": a version, not an address,
/// unless an address word ("IP", "host", "from") is nearer.
fn version_context(b: &[u8], i: usize) -> bool {
    if i > 0 && (b[i - 1] == b'v' || b[i - 1] == b'V') {
        return true;
    }
    // Version constraints: `zlib >= 1.2.3.4`, `pkg == 2.0.0.1`, `gem ~> 1.2.0.3`.
    let before = b[..i].trim_ascii_end();
    if [&b">="[..], b"<=", b"==", b"~>", b"~=", b"!="].iter().any(|op| before.ends_with(op)) {
        return true;
    }
    context_before(b, i, 24, IP_WORDS, VERSION_WORDS) == Context::Negative
}

fn find_v6(b: &[u8], out: &mut Vec<Cand>) {
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let starts = c.is_ascii_hexdigit() || (c == b':' && b.get(i + 1) == Some(&b':'));
        if !starts || (i > 0 && (is_word(b[i - 1]) || b[i - 1] == b':' || b[i - 1] == b'.')) {
            i += 1;
            continue;
        }
        let mut e = i;
        while e < b.len() && e - i < 64 && (b[e].is_ascii_hexdigit() || b[e] == b':' || b[e] == b'.') {
            e += 1;
        }
        if e - i < 2 || !b[i..e].contains(&b':') {
            // Not even a candidate: skip the hex word so we do not restart inside it.
            i = e.max(i + 1);
            continue;
        }
        // A sentence may end right after the address; a lone `:` after it is a
        // label separator ("fe80::1: up").
        let mut end = e;
        while end > i && b[end - 1] == b'.' {
            end -= 1;
        }
        if end > i + 1 && b[end - 1] == b':' && b[end - 2] != b':' {
            end -= 1;
        }
        let glued = end < b.len() && (is_word(b[end]) && b[end] != b'%' || b[end] == b':');
        // `2001:db8::/32` is a network prefix, not a host.
        let network = b[i..end].ends_with(b"::") && b.get(end) == Some(&b'/') && digit_at(b, end + 1);
        if !glued && !network && valid_v6(&b[i..end]) {
            let mut stop = end;
            // Zone index: `%eth0`, `%25eth0` in URLs.
            if b.get(stop) == Some(&b'%') {
                let z = stop + 1;
                let mut k = z;
                while k < b.len() && k - z < 16 && (b[k].is_ascii_alphanumeric() || b[k] == b'_' || b[k] == b'.') {
                    k += 1;
                }
                if k > z {
                    stop = k;
                }
            }
            out.push(Cand { score: 0.85, ..Cand::new(i, stop, Detected::Ipv6) });
            i = stop;
        } else {
            i = e.max(i + 1);
        }
    }
}

fn valid_v6(s: &[u8]) -> bool {
    let text = match std::str::from_utf8(s) {
        Ok(t) => t,
        Err(_) => return false,
    };
    if !text.bytes().any(|c| c.is_ascii_digit()) {
        return false;
    }
    let (head, tail, compressed) = match text.find("::") {
        Some(k) => {
            if text[k + 2..].contains("::") {
                return false;
            }
            (&text[..k], &text[k + 2..], true)
        }
        None => (text, "", false),
    };
    let mut groups = 0;
    let mut two_digit = 0;
    let parts: Vec<&str> = head.split(':').chain(tail.split(':')).filter(|p| !p.is_empty()).collect();
    // An empty piece inside `head` or `tail` (`1::2:` or `:1:2`) is malformed.
    let empties = |s: &str| !s.is_empty() && s.split(':').any(str::is_empty);
    if empties(head) || empties(tail) {
        return false;
    }
    for (k, p) in parts.iter().enumerate() {
        if p.contains('.') {
            // An embedded IPv4 address may only be the last piece.
            if k + 1 != parts.len() || v4_at(p.as_bytes(), 0).is_none_or(|(end, _)| end != p.len()) {
                return false;
            }
            groups += 2;
        } else {
            if p.is_empty() || p.len() > 4 || !p.bytes().all(|c| c.is_ascii_hexdigit()) {
                return false;
            }
            if p.len() == 2 {
                two_digit += 1;
            }
            groups += 1;
        }
    }
    if compressed {
        // `::` and `::1` are the unspecified and loopback addresses.
        groups < 8 && !(groups == 0 || (groups == 1 && head.is_empty() && tail == "1"))
    } else {
        groups == 8 && two_digit < 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(t: &str) -> Vec<&str> {
        let mut v = Vec::new();
        find(t, &mut v);
        // `::ffff:192.0.2.1` also holds an IPv4 match; the longer one wins.
        super::super::resolve(v).iter().map(|c| &t[c.start..c.end]).collect()
    }

    #[test]
    fn v4() {
        assert_eq!(ips("from 203.0.113.42 at"), ["203.0.113.42"]);
        assert_eq!(ips("http://172.16.254.1:8080/x"), ["172.16.254.1"]);
        assert_eq!(ips("10.0.0.1/8,8.8.8.8."), ["10.0.0.1", "8.8.8.8"]);
        assert_eq!(ips("10.0.0.1-10.0.0.9"), ["10.0.0.1", "10.0.0.9"]);
        assert_eq!(ips("host 10.1.2.3/32"), ["10.1.2.3"]);
        assert_eq!(ips("IP of build server 10.1.2.3"), ["10.1.2.3"]);
        for t in [
            "1.2.3",
            "1.2.3.4.5",
            "v1.2.3.4",
            "version 2.4.1.0",
            "256.1.1.1",
            "01.2.3.4",
            "127.0.0.1",
            "0.0.0.0",
            "255.255.255.0",
            "x1.2.3.4",
            "1.3.6.1.4.1.311",
        ] {
            assert!(ips(t).is_empty(), "{t}: {:?}", ips(t));
        }
    }

    #[test]
    fn v6() {
        assert_eq!(ips("peer 2001:db8:85a3::8a2e:370:7334 up"), ["2001:db8:85a3::8a2e:370:7334"]);
        assert_eq!(ips("fe80::1ff:fe23:4567:890a%eth0 is"), ["fe80::1ff:fe23:4567:890a%eth0"]);
        assert_eq!(ips("[2606:4700:4700::1111]:443"), ["2606:4700:4700::1111"]);
        assert_eq!(ips("2001:0db8:0000:0000:0000:ff00:0042:8329."), ["2001:0db8:0000:0000:0000:ff00:0042:8329"]);
        assert_eq!(ips("::ffff:192.0.2.1"), ["::ffff:192.0.2.1"]);
        for t in [
            "::1",
            "::",
            "12:30:45",
            "00:1A:2B:3C:4D:5E",
            "std::vector",
            "dead::beef",
            "a:b:c",
            "1::2::3",
            "de:ad:be:ef:00:11:22:33",
        ] {
            assert!(ips(t).is_empty(), "{t}: {:?}", ips(t));
        }
    }
}
