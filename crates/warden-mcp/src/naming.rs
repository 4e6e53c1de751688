//! Namespaced tool names: `{server}__{tool}`, always matching `^[a-zA-Z0-9_-]{1,64}$`.
//!
//! A name depends only on its own server and tool, never on what other upstreams
//! exist, so adding or removing an upstream never renames a tool. Server names are
//! validated to the allowed characters without `__`, so a plain name splits back
//! unambiguously. A tool name that would not fit (too long, or characters outside
//! the set) is sanitised, cut, and given a stable 8-hex-digit hash suffix of the
//! original pair, which keeps distinct tools distinct.

use sha2::{Digest, Sha256};

/// Longest tool name clients accept.
pub const MAX_LEN: usize = 64;
const SEPARATOR: &str = "__";

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

pub use warden_core::config::valid_server_name;

/// The namespaced name of `tool` on `server` (a valid server name).
pub fn namespaced(server: &str, tool: &str) -> String {
    let plain = format!("{server}{SEPARATOR}{tool}");
    if plain.len() <= MAX_LEN && tool.chars().all(allowed) && !tool.is_empty() {
        return plain;
    }
    let digest = Sha256::digest(format!("{server}\0{tool}").as_bytes());
    let suffix = hex::encode(&digest[..4]);
    let mut name: String = plain.chars().map(|c| if allowed(c) { c } else { '_' }).collect();
    name.truncate(MAX_LEN - suffix.len() - 1);
    name.push('_');
    name.push_str(&suffix);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(name: &str) -> bool {
        (1..=MAX_LEN).contains(&name.len()) && name.chars().all(allowed)
    }

    #[test]
    fn plain_names_are_prefixed_only() {
        assert_eq!(namespaced("github", "create_issue"), "github__create_issue");
        assert_eq!(namespaced("a-b", "x-y_z"), "a-b__x-y_z");
    }

    #[test]
    fn odd_or_long_names_get_a_stable_hash_and_stay_distinct() {
        let a = namespaced("srv", "get.file");
        let b = namespaced("srv", "get_file");
        let c = namespaced("srv", "get/file");
        assert!(valid(&a) && valid(&c), "{a} {c}");
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, namespaced("srv", "get.file"), "stable");
        let long = "t".repeat(100);
        let n = namespaced("server", &long);
        assert!(valid(&n), "{n}");
        assert_ne!(n, namespaced("server", &"t".repeat(101)));
        assert!(valid(&namespaced("s", "")));
        assert!(valid(&namespaced("s", "ツール")));
    }

    #[test]
    fn server_names_cannot_make_prefixes_ambiguous() {
        assert!(valid_server_name("github"));
        assert!(valid_server_name("my-server_2"));
        for bad in ["", "a__b", "a.b", "a b", &"x".repeat(33)] {
            assert!(!valid_server_name(bad), "{bad:?}");
        }
    }
}
