//! Server and tool name globs for plugin configs (rules scoped to `servers` / `tools`):
//! `*` (any run of characters, possibly empty) and `?` (exactly one character).
//! Everything else matches itself, case-sensitively. Shared so that every plugin reads
//! a glob the same way.

/// A validated glob.
#[derive(Debug, Clone)]
pub struct Glob {
    pattern: Vec<char>,
    /// `*` alone: matches every name, including the empty one.
    any: bool,
}

/// Characters a glob may not contain: they look like glob syntax we do not support
/// (character classes, alternatives, escapes), so accepting them would surprise.
const RESERVED: &[char] = &['[', ']', '{', '}', '\\'];

impl Glob {
    /// Parse a glob; the error says what is wrong (the caller adds where).
    pub fn new(pattern: &str) -> Result<Glob, String> {
        if pattern.is_empty() {
            return Err("empty glob (use \"*\" to match every name)".to_string());
        }
        if let Some(c) = pattern.chars().find(|c| RESERVED.contains(c)) {
            return Err(format!("unsupported character {c:?} in glob (only `*` and `?` are wildcards)"));
        }
        if pattern.chars().any(char::is_control) {
            return Err("control character in glob".to_string());
        }
        let pattern: Vec<char> = pattern.chars().collect();
        let any = pattern.iter().all(|&c| c == '*');
        Ok(Glob { pattern, any })
    }

    /// Does `name` (already split into chars) match? Linear in practice: the classic
    /// wildcard matcher that only backtracks to the most recent `*`, so the worst case
    /// is `O(len(pattern) * len(name))`, and both are short names.
    pub fn matches(&self, name: &[char]) -> bool {
        if self.any {
            return true;
        }
        let p = &self.pattern;
        let (mut pi, mut ni) = (0, 0);
        // (index of the last `*` seen, name index it is currently assumed to end at)
        let mut star: Option<(usize, usize)> = None;
        while ni < name.len() {
            if pi < p.len() && p[pi] == '*' {
                star = Some((pi, ni));
                pi += 1;
            } else if pi < p.len() && (p[pi] == '?' || p[pi] == name[ni]) {
                pi += 1;
                ni += 1;
            } else if let Some((sp, sn)) = star {
                // Let the last `*` swallow one more character and retry.
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    fn m(pattern: &str, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        Glob::new(pattern).expect("valid glob").matches(&name)
    }

    #[test]
    fn literal_and_wildcards() {
        assert!(m("github", "github"));
        assert!(!m("github", "github2"));
        assert!(!m("github", "GitHub"), "matching is case-sensitive");
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("fs*", "fs"));
        assert!(m("fs*", "fs-local"));
        assert!(!m("fs*", "xfs"));
        assert!(m("*_file", "read_file"));
        assert!(m("*_file", "_file"));
        assert!(!m("*_file", "read_files"));
        assert!(m("read_*_v?", "read_big_file_v2"));
        assert!(!m("read_*_v?", "read_big_file_v"));
        assert!(!m("read_*_v?", "read_big_file_v22"));
        assert!(m("?", "é"), "? matches one character, not one byte");
        assert!(!m("?", ""));
        assert!(m("a*b*c", "aXXbYYbZc"));
        assert!(!m("a*b*c", "aXXbYYbZ"));
        assert!(m("**", "x"));
        assert!(m("*a*", "bab"));
    }

    #[test]
    fn pathological_glob_is_fast() {
        let name: Vec<char> = "a".repeat(2000).chars().collect();
        assert!(!Glob::new("*a*a*a*a*a*a*a*b").expect("valid").matches(&name));
    }

    #[test]
    fn rejects_bad_globs() {
        assert!(Glob::new("").is_err());
        assert!(Glob::new("fs[0-9]").is_err());
        assert!(Glob::new("{a,b}").is_err());
        assert!(Glob::new("a\\*").is_err());
        assert!(Glob::new("a\nb").is_err());
    }
}
