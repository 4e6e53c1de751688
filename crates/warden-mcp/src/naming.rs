//! Client-facing tool (and prompt) names, always matching `^[a-zA-Z0-9_-]{1,64}$`.
//!
//! In the default mode (`always`) a name is `{server}__{tool}`: it depends only on
//! its own server and tool, never on what other upstreams exist, so adding or
//! removing an upstream never renames a tool. `on-clash` and `never` keep the
//! upstream's own name and trade that stability for shorter names ([`assign`]). Server names are
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

pub use warden_core::config::{ToolPrefix, valid_server_name};

/// A name as the upstream gave it, if clients accept it; else sanitised, cut and
/// suffixed with a hash of the original (like [`namespaced`], without a server).
pub fn bare(tool: &str) -> String {
    if (1..=MAX_LEN).contains(&tool.len()) && tool.chars().all(allowed) {
        return tool.to_string();
    }
    let digest = Sha256::digest(tool.as_bytes());
    let suffix = hex::encode(&digest[..4]);
    let mut name: String = tool.chars().map(|c| if allowed(c) { c } else { '_' }).collect();
    name.truncate(MAX_LEN - suffix.len() - 1);
    if !name.is_empty() {
        name.push('_');
    }
    name.push_str(&suffix);
    name
}

/// Several upstreams offer items that would share a client-facing name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    /// What is named: "tool" or "prompt".
    pub kind: &'static str,
    /// The contested name.
    pub name: String,
    /// `(server, name there)` of every claimant, in config order.
    pub claimants: Vec<(String, String)>,
    /// The server that kept the name (`never`); `None` when all were prefixed.
    pub kept_by: Option<String>,
}

/// Client-facing names for every upstream's items (`lists[i]` = `(server, names)`
/// in config order), under `mode`. `names[i][j]` is `None` for an item hidden by a
/// clash (`never` mode). Every `Some` name is distinct.
pub fn assign(mode: ToolPrefix, lists: &[(&str, Vec<&str>)]) -> (Vec<Vec<Option<String>>>, Vec<Clash>) {
    use std::collections::HashMap;
    let candidate = |server: &str, item: &str| match mode {
        ToolPrefix::Always => namespaced(server, item),
        ToolPrefix::OnClash | ToolPrefix::Never => bare(item),
    };
    // Who claims each candidate name.
    let mut claims: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
    for (i, (server, items)) in lists.iter().enumerate() {
        for (j, item) in items.iter().enumerate() {
            claims.entry(candidate(server, item)).or_default().push((i, j));
        }
    }
    let mut names: Vec<Vec<Option<String>>> = lists.iter().map(|(_, items)| vec![None; items.len()]).collect();
    let mut clashes = Vec::new();
    let mut sorted: Vec<_> = claims.into_iter().collect();
    sorted.sort();
    for (name, claimants) in sorted {
        let servers: std::collections::BTreeSet<usize> = claimants.iter().map(|(i, _)| *i).collect();
        let clash = claimants.len() > 1;
        if clash {
            clashes.push(Clash {
                kind: "tool",
                name: name.clone(),
                claimants: claimants
                    .iter()
                    .map(|&(i, j)| (lists[i].0.to_string(), lists[i].1[j].to_string()))
                    .collect(),
                kept_by: (mode != ToolPrefix::OnClash || servers.len() == 1)
                    .then(|| lists[claimants[0].0].0.to_string()),
            });
        }
        for (k, &(i, j)) in claimants.iter().enumerate() {
            names[i][j] = match mode {
                // A clash here means one server listed the same name twice, or two
                // hashed names collided: the first keeps it.
                ToolPrefix::Always | ToolPrefix::Never => (k == 0).then(|| name.clone()),
                ToolPrefix::OnClash if !clash => Some(name.clone()),
                ToolPrefix::OnClash => (servers.len() > 1).then(|| namespaced(lists[i].0, lists[i].1[j])),
            };
        }
        // on-clash: a server listing one name twice keeps the first.
        if mode == ToolPrefix::OnClash && clash && servers.len() == 1 {
            names[claimants[0].0][claimants[0].1] = Some(name.clone());
        }
    }
    // A prefixed name (on-clash) may equal another upstream's bare name: the bare
    // one was there first under the mode's promise, so the prefixed one is hidden.
    let mut seen = std::collections::HashSet::new();
    let mut order: Vec<(usize, usize)> = Vec::new();
    for (i, row) in names.iter().enumerate() {
        for (j, n) in row.iter().enumerate() {
            if let Some(n) = n {
                let prefixed = mode == ToolPrefix::OnClash && *n != bare(lists[i].1[j]);
                if prefixed {
                    order.push((i, j));
                } else {
                    seen.insert(n.clone());
                }
            }
        }
    }
    for (i, j) in order {
        if let Some(n) = names[i][j].clone()
            && !seen.insert(n.clone())
        {
            clashes.push(Clash {
                kind: "tool",
                name: n,
                claimants: vec![(lists[i].0.to_string(), lists[i].1[j].to_string())],
                kept_by: None,
            });
            names[i][j] = None;
        }
    }
    (names, clashes)
}

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

    fn lists<'a>(l: &'a [(&'a str, &'a [&'a str])]) -> Vec<(&'a str, Vec<&'a str>)> {
        l.iter().map(|(s, t)| (*s, t.to_vec())).collect()
    }

    #[test]
    fn always_prefixes_every_name_and_names_do_not_depend_on_other_upstreams() {
        let one = lists(&[("a", &["x", "y"])]);
        let two = lists(&[("b", &["x"]), ("a", &["x", "y"])]);
        let (n1, c1) = assign(ToolPrefix::Always, &one);
        let (n2, c2) = assign(ToolPrefix::Always, &two);
        assert_eq!(n1[0], vec![Some("a__x".to_string()), Some("a__y".to_string())]);
        assert_eq!(n2[1], n1[0], "adding an upstream renamed nothing");
        assert!(c1.is_empty() && c2.is_empty());
    }

    #[test]
    fn on_clash_prefixes_only_contested_names() {
        let (names, clashes) = assign(ToolPrefix::OnClash, &lists(&[("a", &["x", "y"]), ("b", &["x", "z"])]));
        assert_eq!(names[0], vec![Some("a__x".to_string()), Some("y".to_string())]);
        assert_eq!(names[1], vec![Some("b__x".to_string()), Some("z".to_string())]);
        assert_eq!(clashes.len(), 1);
        assert_eq!(clashes[0].name, "x");
        assert_eq!(clashes[0].kept_by, None);
    }

    #[test]
    fn on_clash_never_lets_a_prefixed_name_shadow_a_bare_one() {
        // Server c offers a tool literally named "a__x", which is what a's clashing
        // "x" would become.
        let (names, clashes) = assign(ToolPrefix::OnClash, &lists(&[("a", &["x"]), ("b", &["x"]), ("c", &["a__x"])]));
        assert_eq!(names[2], vec![Some("a__x".to_string())]);
        assert_eq!(names[0], vec![None]);
        assert_eq!(names[1], vec![Some("b__x".to_string())]);
        assert_eq!(clashes.len(), 2);
    }

    #[test]
    fn never_keeps_the_first_server_and_reports_the_rest() {
        let (names, clashes) = assign(ToolPrefix::Never, &lists(&[("a", &["x", "get.file"]), ("b", &["x", "w"])]));
        assert_eq!(names[0][0].as_deref(), Some("x"));
        assert!(names[0][1].as_deref().is_some_and(|n| n.starts_with("get_file_") && valid(n)));
        assert_eq!(names[1], vec![None, Some("w".to_string())]);
        assert_eq!(
            clashes,
            vec![Clash {
                kind: "tool",
                name: "x".into(),
                claimants: vec![("a".into(), "x".into()), ("b".into(), "x".into())],
                kept_by: Some("a".into()),
            }]
        );
    }

    #[test]
    fn every_assigned_name_is_valid_and_distinct() {
        let odd = ["", "x", "x", "a__x", &"t".repeat(90), "ツール", "get.file", "get_file"];
        for mode in [ToolPrefix::Always, ToolPrefix::OnClash, ToolPrefix::Never] {
            let table: [(&str, &[&str]); 3] = [("a", &odd), ("b", &odd), ("c", &["x"])];
            let (names, _) = assign(mode, &lists(&table));
            let all: Vec<&String> = names.iter().flatten().flatten().collect();
            assert!(all.iter().all(|n| valid(n)), "{mode:?}: {all:?}");
            let set: std::collections::HashSet<_> = all.iter().collect();
            assert_eq!(set.len(), all.len(), "{mode:?}: duplicates in {all:?}");
        }
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
