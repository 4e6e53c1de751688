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
use serde::{Deserialize, Serialize};

/// `[[gateway.rules]]`: operator authorization on top of the principal's scopes.
/// A rule applies to a principal when every condition it sets matches (globs);
/// it covers the items its `tools` globs name (`SERVER/NAME`, as for scopes). An
/// item is usable when the scopes allow it, no `deny` rule covers it, and — if any
/// `allow` rule exists — an `allow` rule covers it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub effect: Effect,
    /// Principal ids (globs); any when empty.
    #[serde(default)]
    pub principals: Vec<String>,
    /// Projects (globs); any when empty. A principal without a project matches none.
    #[serde(default)]
    pub projects: Vec<String>,
    /// Attribute (claim) name → accepted values (globs); all must match. Arrays
    /// arrive joined by commas: each element is tried.
    #[serde(default)]
    pub attributes: std::collections::BTreeMap<String, Vec<String>>,
    /// Items covered: `SERVER/NAME` globs (`SERVER` = all of a server).
    pub tools: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Allow,
    Deny,
}

impl Rule {
    fn applies_to(&self, principal: Option<&Principal>) -> bool {
        let any = |globs: &[String], value: &str| globs.is_empty() || globs.iter().any(|g| glob(g, value));
        let Some(p) = principal else {
            // Without authentication only unconditional rules apply.
            return self.principals.is_empty() && self.projects.is_empty() && self.attributes.is_empty();
        };
        any(&self.principals, &p.id)
            && (self.projects.is_empty() || p.project.as_deref().is_some_and(|proj| any(&self.projects, proj)))
            && self.attributes.iter().all(|(name, globs)| {
                p.attributes
                    .iter()
                    .filter(|(k, _)| k == name)
                    .any(|(_, v)| v.split(',').any(|v| globs.iter().any(|g| glob(g, v.trim()))))
            })
    }

    fn covers(&self, server: &str, item: Option<&str>) -> bool {
        self.tools.iter().any(|t| scope_matches(t, server, item))
    }
}

/// Do the operator's rules let `principal` use `item` of `server` (`None`: the
/// whole server, for resources)?
pub fn rules_allow(rules: &[Rule], principal: Option<&Principal>, server: &str, item: Option<&str>) -> bool {
    let mut allow_rules = false;
    let mut allowed = false;
    for rule in rules {
        let relevant = rule.applies_to(principal) && rule.covers(server, item);
        match rule.effect {
            Effect::Deny if relevant => return false,
            Effect::Deny => {}
            Effect::Allow => {
                allow_rules = true;
                allowed |= relevant;
            }
        }
    }
    !allow_rules || allowed
}

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
    fn rules_deny_first_then_require_an_allow_when_any_exists() {
        let mut p = principal(&["*"]);
        p.project = Some("payments".into());
        p.attributes = vec![("groups".into(), "eng, oncall".into())];
        let deny = |tools: &[&str], principals: &[&str]| Rule {
            effect: Effect::Deny,
            principals: principals.iter().map(|s| s.to_string()).collect(),
            projects: vec![],
            attributes: Default::default(),
            tools: tools.iter().map(|s| s.to_string()).collect(),
        };
        let rules = vec![deny(&["github/delete_*"], &[])];
        assert!(!rules_allow(&rules, Some(&p), "github", Some("delete_repo")));
        assert!(rules_allow(&rules, Some(&p), "github", Some("list_issues")));
        assert!(!rules_allow(&rules, None, "github", Some("delete_repo")), "unconditional rules bind everyone");

        let mut allow = deny(&["payments/*"], &[]);
        allow.effect = Effect::Allow;
        allow.projects = vec!["pay*".into()];
        allow.attributes.insert("groups".into(), vec!["oncall".into()]);
        let rules = vec![allow.clone()];
        assert!(rules_allow(&rules, Some(&p), "payments", Some("refund")));
        assert!(!rules_allow(&rules, Some(&p), "github", Some("list_issues")), "allow rules exist: others are out");
        let mut other = p.clone();
        other.attributes = vec![("groups".into(), "eng".into())];
        assert!(!rules_allow(&rules, Some(&other), "payments", Some("refund")), "claim condition");
        other.project = None;
        assert!(!rules_allow(&rules, Some(&other), "payments", Some("refund")), "no project, no match");
        assert!(!rules_allow(&rules, None, "payments", Some("refund")), "conditional rules never match anonymous");
        // Deny wins over allow.
        let rules = vec![allow, deny(&["payments/refund"], &["*"])];
        assert!(!rules_allow(&rules, Some(&p), "payments", Some("refund")));
        assert!(rules_allow(&rules, Some(&p), "payments", Some("charge")));
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
