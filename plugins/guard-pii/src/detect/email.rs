//! Email addresses: `local@domain.tld`, also percent-encoded (`local%40domain.tld`)
//! as found in URLs. The domain must end in a real top-level domain, which keeps
//! `logo@2x.png`, `pkg@1.2.3` and `image@sha256:...` out; URL user info
//! (`https://user@host`) and scp-style remotes (`git@github.com:org/repo`) are
//! not addresses.

use super::{Cand, Detected};
use crate::tld::is_tld;

const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 253;

fn local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-' | b'\'')
}

/// Accented Latin letters (U+00C0-U+024F, without `×` and `÷`) end at `s`: the
/// byte length of that letter. Internationalised local parts (`maría.lópez@`)
/// use them; CJK text around an ASCII address (`邮箱wang@163.com`) must not be
/// swallowed, so other scripts still end the local part.
fn latin_letter_before(b: &[u8], s: usize) -> Option<usize> {
    if s < 2 {
        return None;
    }
    let (lead, cont) = (b[s - 2], b[s - 1]);
    if !(0xC3..=0xC9).contains(&lead) || (cont & 0xC0) != 0x80 {
        return None;
    }
    let cp = (u32::from(lead & 0x1F) << 6) | u32::from(cont & 0x3F);
    ((0xC0..=0x24F).contains(&cp) && cp != 0xD7 && cp != 0xF7).then_some(2)
}

fn domain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'-'
}

pub fn find(text: &str, out: &mut Vec<Cand>) {
    let b = text.as_bytes();
    if !b.iter().any(|c| *c == b'@' || *c == b'%') {
        return;
    }
    let mut i = 0;
    while i < b.len() {
        let at_len = if b[i] == b'@' {
            1
        } else if b[i] == b'%' && b.get(i + 1) == Some(&b'4') && b.get(i + 2) == Some(&b'0') {
            3
        } else {
            i += 1;
            continue;
        };
        if let Some((start, end)) = at(b, i, at_len) {
            out.push(Cand::new(start, end, Detected::Email));
            i = end;
        } else {
            i += at_len;
        }
    }
}

/// The address around the `@` (or `%40`) at `at`, if there is one.
fn at(b: &[u8], at: usize, at_len: usize) -> Option<(usize, usize)> {
    // Local part: walk left over allowed bytes, then drop leading punctuation
    // (quotes and dots that belong to the sentence, not the address).
    let mut s = at;
    while s > 0 && at - s <= MAX_LOCAL {
        if local_byte(b[s - 1]) {
            s -= 1;
        } else if let Some(n) = latin_letter_before(b, s) {
            s -= n;
        } else {
            break;
        }
    }
    if at - s > MAX_LOCAL || (s > 0 && (local_byte(b[s - 1]) || latin_letter_before(b, s).is_some())) {
        return None;
    }
    while s < at && matches!(b[s], b'.' | b'+' | b'-' | b'\'') {
        s += 1;
    }
    // `\nalice@...` in doubly encoded JSON: the `n` is part of the escape.
    if s >= 1 && b[s - 1] == b'\\' && matches!(b[s], b'n' | b'r' | b't') && s + 1 < at {
        s += 1;
    }
    if s == at || b[s..at].windows(2).any(|w| w == b"..") || b[at - 1] == b'.' {
        return None;
    }
    if userinfo(b, s) {
        return None;
    }

    // Domain: labels of letters, digits and inner hyphens, ending in a known TLD.
    let d0 = at + at_len;
    let mut e = d0;
    while e < b.len() && e - d0 <= MAX_DOMAIN && domain_byte(b[e]) {
        e += 1;
    }
    let end = domain_end(&b[d0..e])? + d0;
    // The address must not run on into more word characters (`a@b.com_x`).
    if end < b.len() && (b[end] == b'_' || b[end] == b'@') {
        return None;
    }
    // scp-style `user@host:path` is a remote, not a mailbox.
    if b.get(end) == Some(&b':') && b.get(end + 1).is_some_and(|&c| c.is_ascii_alphabetic() || c == b'/' || c == b'~') {
        return None;
    }
    if placeholder(&b[s..at], &b[d0..end]) {
        return None;
    }
    Some((s, end))
}

/// Documentation placeholders: a generic mailbox (`user`, `name`, `your.email`,
/// ...) at a reserved or generic example domain (`example.com`, `domain.com`,
/// `example.co.uk`). Real-looking names at `example.com` are still reported:
/// test data and tutorials put real-looking people there too.
fn placeholder(local: &[u8], domain: &[u8]) -> bool {
    const LOCALS: &[&str] = &[
        "user",
        "username",
        "name",
        "yourname",
        "your.name",
        "your_name",
        "youremail",
        "your.email",
        "your_email",
        "email",
        "e-mail",
        "mail",
        "you",
        "me",
        "someone",
        "somebody",
        "anyone",
        "firstname.lastname",
        "first.last",
        "firstname",
        "lastname",
        "foo",
        "bar",
        "foo.bar",
        "test",
        "example",
        "sample",
        "xxx",
        "abc",
        "address",
        "user.name",
        "user_name",
        "info",
        "contact",
    ];
    const DOMAINS: &[&str] = &["example", "domain", "yourdomain", "yourcompany", "company", "email", "mail", "website"];
    let l = local.to_ascii_lowercase();
    let d = domain.to_ascii_lowercase();
    let first_label = d.split(|c| *c == b'.').next().unwrap_or_default();
    let dots = d.iter().filter(|c| **c == b'.').count();
    // (`*.test`, `*.example`, `*.invalid` never get this far: they are not TLDs.)
    let generic_domain =
        first_label == b"example" || (dots == 1 && DOMAINS.iter().any(|x| x.as_bytes() == first_label));
    generic_domain && LOCALS.iter().any(|x| x.as_bytes() == l.as_slice())
}

/// Length of the longest prefix of `d` that is a valid domain name ending in a
/// known TLD (at least two labels).
fn domain_end(d: &[u8]) -> Option<usize> {
    // Label boundaries: positions of dots.
    let mut best = None;
    let mut label_start = 0;
    let mut labels = 0;
    let mut i = 0;
    while i <= d.len() {
        if i == d.len() || d[i] == b'.' {
            let label = &d[label_start..i];
            if label.is_empty() || label.len() > 63 || label[0] == b'-' || label[label.len() - 1] == b'-' {
                // A label that is empty or badly formed ends the name here. A
                // trailing hyphen run (`a@b.com-`) is trimmed instead.
                let trimmed = trim_hyphens(label);
                if labels >= 1 && !trimmed.is_empty() && label[0] != b'-' && is_tld(trimmed) {
                    best = Some(label_start + trimmed.len());
                }
                break;
            }
            labels += 1;
            if labels >= 2 && is_tld(label) {
                best = Some(i);
            }
            label_start = i + 1;
        }
        i += 1;
    }
    best
}

fn trim_hyphens(l: &[u8]) -> &[u8] {
    let mut n = l.len();
    while n > 0 && l[n - 1] == b'-' {
        n -= 1;
    }
    &l[..n]
}

/// Whether the local part starting at `s` is the user info of a URL
/// (`scheme://user@host`, `scheme://user:secret@host`).
fn userinfo(b: &[u8], s: usize) -> bool {
    let mut k = s;
    let lower = s.saturating_sub(256);
    while k > lower {
        let c = b[k - 1];
        if c == b'/' {
            return k >= 2 && b[k - 2] == b'/';
        }
        if c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b'<' | b'>' | b'?' | b'&' | b'=' | b'@') {
            return false;
        }
        k -= 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emails(t: &str) -> Vec<&str> {
        let mut v = Vec::new();
        find(t, &mut v);
        v.iter().map(|c| &t[c.start..c.end]).collect()
    }

    #[test]
    fn finds_addresses() {
        assert_eq!(emails("mail john.doe+x@mail.example.co.uk."), ["john.doe+x@mail.example.co.uk"]);
        assert_eq!(emails("<a@b.io>, 'c_d@e.org'"), ["a@b.io", "c_d@e.org"]);
        assert_eq!(emails("请联系wangwei88@163.com获取"), ["wangwei88@163.com"]);
        assert_eq!(emails("?email=dev.ops%40startup.io&x=1"), ["dev.ops%40startup.io"]);
        assert_eq!(emails("x@y.com.Thanks"), ["x@y.com"]);
        assert_eq!(emails(r#"{\"e\":\"k@l.fr\"}"#), ["k@l.fr"]);
        assert_eq!(emails(r"line\nbob@x.de"), ["bob@x.de"]);
        assert_eq!(emails("o'brien@eircom.net"), ["o'brien@eircom.net"]);
        assert_eq!(emails("à maría.lópez@correo.es"), ["maría.lópez@correo.es"]);
        assert_eq!(emails("邮箱wang@163.com"), ["wang@163.com"]);
        assert_eq!(emails("éric@x.fr, 'ö@x.de'"), ["éric@x.fr", "ö@x.de"]);
        assert_eq!(emails("https://x.com/u?to=al@x.com"), ["al@x.com"]);
    }

    #[test]
    fn skips_look_alikes() {
        assert!(emails("logo@2x.png @scope/pkg pkg@1.2.3 name@domain").is_empty());
        assert!(emails("nginx@sha256:abc user@localhost").is_empty());
        assert!(emails("git clone git@github.com:org/repo.git").is_empty());
        assert!(emails("https://user:pw@host.com/ and ftp://anon@ftp.net").is_empty());
        assert!(emails("a..b@x.com a.@x.com").is_empty());
        assert!(emails("user@example.com, your.email@domain.com, name@company.com, you@yourdomain.org").is_empty());
        assert_eq!(emails("jane.doe@example.com user@gmail.com"), ["jane.doe@example.com", "user@gmail.com"]);
        assert!(emails("@@ @ x@ @y.com").is_empty());
    }
}
