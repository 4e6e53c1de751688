//! What a principal may use: its `scopes` are glob patterns over upstream items.
//!
//! - `SERVER/NAME`: the tool or prompt `NAME` of server `SERVER` (upstream-side names,
//!   so a scope does not depend on the gateway's prefix mode);
//! - `SERVER` (or `SERVER/*`): everything that server offers, its resources included;
//! - `*`: everything.
//!
//! Both parts take `*` (any run of characters) and `?` (one character). A principal
//! with no scopes may use nothing; authentication without a principal (no auth
//! configured) may use everything. Items outside a principal's scopes are left out of
//! its lists and refused as unknown when named, so their existence does not leak.

use crate::Principal;

/// May `principal` use the tool or prompt `item` of `server`?
pub fn may_use(principal: Option<&Principal>, server: &str, item: &str) -> bool {
    principal.is_none_or(|p| p.scopes.iter().any(|s| scope_matches(s, server, Some(item))))
}

/// May `principal` use everything of `server` (its resources)?
pub fn may_use_server(principal: Option<&Principal>, server: &str) -> bool {
    principal.is_none_or(|p| p.scopes.iter().any(|s| scope_matches(s, server, None)))
}

/// Does `scope` cover `item` of `server` (`None`: the whole server)?
fn scope_matches(scope: &str, server: &str, item: Option<&str>) -> bool {
    let (server_glob, item_glob) = scope.split_once('/').unwrap_or((scope, "*"));
    if !glob(server_glob, server) {
        return false;
    }
    match item {
        Some(item) => glob(item_glob, item),
        None => item_glob == "*",
    }
}

/// `*` and `?` glob match over characters, without backtracking blow-up.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // Position of the last `*` and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(scopes: &[&str]) -> Principal {
        Principal { id: "p".into(), scopes: scopes.iter().map(|s| s.to_string()).collect(), ..Default::default() }
    }

    #[test]
    fn globs() {
        for (p, t) in
            [("*", ""), ("*", "abc"), ("a*c", "abbbc"), ("a?c", "abc"), ("*_issue", "create_issue"), ("**", "x")]
        {
            assert!(glob(p, t), "{p} ~ {t}");
        }
        for (p, t) in [("a", "b"), ("a?c", "ac"), ("a*c", "abd"), ("", "x"), ("list_*", "delete_x")] {
            assert!(!glob(p, t), "{p} !~ {t}");
        }
        // Pathological patterns stay linear-ish.
        assert!(!glob(&"*a".repeat(30), &"a".repeat(29)));
    }

    #[test]
    fn scopes_select_servers_and_items() {
        let p = principal(&["github/list_*", "demo", "fs/*"]);
        assert!(may_use(Some(&p), "github", "list_issues"));
        assert!(!may_use(Some(&p), "github", "delete_repo"));
        assert!(may_use(Some(&p), "demo", "anything"));
        assert!(may_use(Some(&p), "fs", "read"));
        assert!(!may_use(Some(&p), "other", "read"));
        assert!(may_use_server(Some(&p), "demo") && may_use_server(Some(&p), "fs"));
        assert!(!may_use_server(Some(&p), "github"), "a tool scope does not open the server's resources");
    }

    #[test]
    fn no_scopes_means_nothing_and_no_principal_means_everything() {
        assert!(!may_use(Some(&principal(&[])), "demo", "echo"));
        assert!(!may_use_server(Some(&principal(&[])), "demo"));
        assert!(may_use(None, "demo", "echo"));
        assert!(may_use(Some(&principal(&["*"])), "demo", "echo"));
        assert!(may_use_server(Some(&principal(&["*"])), "demo"));
    }
}
