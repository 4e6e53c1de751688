//! A literal prefilter for `deny_patterns`.
//!
//! regex-lite guarantees linear time but runs a Pike VM over every byte, which
//! costs tens of nanoseconds per byte per pattern. Most deny patterns contain a
//! word that every match must contain (`(?i)\bDELETE\s+FROM\b` needs `delete`).
//! [`required_literal`] finds such a word with a deliberately conservative scan of
//! the pattern's syntax; one Aho-Corasick pass over a string then tells which
//! patterns can possibly match, and only those run. When in doubt the scan gives
//! up (`None`) and the pattern always runs, so the prefilter can only save work,
//! never change a result.
//!
//! What the scan proves: a pattern without a top-level `|` is a concatenation, so
//! every top-level literal character that is not made optional by `?`, `*` or a
//! counted repetition must occur in every match, and adjacent ones occur together
//! (a `+` keeps its character but ends the run, since `ab+c` matches `abbc`).
//! Groups, classes and escapes other than plain characters end the current run.
//! The literal is matched ASCII case-insensitively, a superset of what `(?i)` (which
//! is ASCII-only in regex-lite) can match. Verbose mode (`x`) and escapes the scan
//! does not fully understand make it give up.

use aho_corasick::{AhoCorasick, MatchKind};

/// The longest literal every match of `pattern` (a pattern regex-lite accepted)
/// must contain, or `None` if none could be proven.
pub(crate) fn required_literal(pattern: &str) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut best = String::new();
    let mut run = String::new();
    let mut depth = 0usize;
    let mut i = 0;

    fn flush(run: &mut String, best: &mut String) {
        if run.chars().count() > best.chars().count() {
            best.clone_from(run);
        }
        run.clear();
    }

    while i < chars.len() {
        let c = chars[i];
        // A literal character at the top level, if this token is one.
        let mut literal = None;
        match c {
            '\\' => {
                let next = *chars.get(i + 1)?;
                i += 2;
                if depth > 0 {
                    // Inside a group only the parentheses matter; no escape spans a
                    // parenthesis or bracket that would confuse the depth count.
                    continue;
                }
                literal = match next {
                    'a' => Some('\x07'),
                    'f' => Some('\x0C'),
                    't' => Some('\t'),
                    'n' => Some('\n'),
                    'r' => Some('\r'),
                    'v' => Some('\x0B'),
                    '<' | '>' => None, // word-start / word-end assertions
                    c if c.is_ascii() && !c.is_ascii_alphanumeric() => Some(c),
                    'd' | 'D' | 's' | 'S' | 'w' | 'W' | 'A' | 'z' | 'B' => None,
                    'b' if chars.get(i) != Some(&'{') => None,
                    _ => return None, // \x.. \u.. \b{..} and anything unknown
                };
            }
            '[' => i = skip_class(&chars, i)?,
            '(' => {
                if chars.get(i + 1) == Some(&'?') {
                    let mut j = i + 2;
                    while j < chars.len() && (chars[j].is_ascii_alphabetic() || chars[j] == '-') {
                        j += 1;
                    }
                    if chars[i + 2..j].contains(&'x') {
                        return None; // verbose mode: whitespace and `#` change meaning
                    }
                    if chars.get(j) == Some(&')') {
                        // A flag directive such as `(?i)`: not a group.
                        if depth == 0 {
                            flush(&mut run, &mut best);
                        }
                        i = j + 1;
                        if matches!(chars.get(i), Some('?' | '*' | '+' | '{')) {
                            // `a(?i)?` quantifies `a`: too subtle, give up.
                            return None;
                        }
                        continue;
                    }
                }
                depth += 1;
                i += 1;
                if depth == 1 {
                    flush(&mut run, &mut best);
                }
                continue;
            }
            ')' => {
                depth = depth.checked_sub(1)?;
                i += 1;
            }
            '|' | '?' | '*' | '+' | '{' if depth == 0 => return None, // `|`, or a quantifier with no atom
            '.' | '^' | '$' | '?' | '*' | '+' | '{' | '|' => i += 1,
            c => {
                i += 1;
                literal = Some(c);
            }
        }
        if depth > 0 {
            continue;
        }
        // The token just consumed is a top-level atom; look at the quantifiers
        // that follow it (they may be stacked: `a+{0,2}` is `(a+){0,2}`).
        let (after, chain) = quantifier_chain(&chars, i)?;
        i = after;
        match (literal, chain) {
            (Some(l), Chain::None) => run.push(l),
            (Some(l), Chain::PlusOnly) => {
                // Required, but repetitions break contiguity with what follows.
                run.push(l);
                flush(&mut run, &mut best);
            }
            _ => flush(&mut run, &mut best),
        }
    }
    if depth != 0 {
        return None;
    }
    flush(&mut run, &mut best);
    (!best.is_empty()).then_some(best)
}

/// The quantifiers following an atom.
enum Chain {
    /// None: the atom occurs exactly once.
    None,
    /// Only `+`: the atom occurs at least once.
    PlusOnly,
    /// Anything with `?`, `*` or a counted repetition: treated as optional (a lazy
    /// `+?` counts as optional too, which is merely conservative).
    Other,
}

/// Skip the quantifiers starting at `chars[i]`; index after them and their kind.
fn quantifier_chain(chars: &[char], mut i: usize) -> Option<(usize, Chain)> {
    let mut chain = Chain::None;
    while let Some(&c) = chars.get(i) {
        match c {
            '+' => {
                if matches!(chain, Chain::None) {
                    chain = Chain::PlusOnly;
                }
                i += 1;
            }
            '?' | '*' => {
                chain = Chain::Other;
                i += 1;
            }
            '{' => {
                chain = Chain::Other;
                while chars.get(i).is_some_and(|&ch| ch != '}') {
                    i += 1;
                }
                if i >= chars.len() {
                    return None;
                }
                i += 1;
            }
            _ => break,
        }
    }
    Some((i, chain))
}

/// Index just past the class starting at `chars[start] == '['`, or `None` for
/// classes the scan does not handle (nested classes, POSIX classes).
fn skip_class(chars: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if chars.get(i) == Some(&'^') {
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        i += 1; // a leading `]` is a literal
    }
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '[' => return None,
            ']' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Which of a rule's deny patterns may match a string.
pub(crate) struct Prefilter {
    /// Over the distinct required literals, ASCII case-insensitive.
    automaton: Option<AhoCorasick>,
    /// Per pattern: index of its literal in the automaton, or `None` (always run).
    literal_of: Vec<Option<usize>>,
    literals: usize,
}

impl Prefilter {
    pub(crate) fn new(patterns: &[String]) -> Result<Prefilter, String> {
        let mut literals: Vec<String> = Vec::new();
        let mut literal_of = Vec::with_capacity(patterns.len());
        for p in patterns {
            literal_of.push(required_literal(p).map(|lit| {
                let folded = lit.to_ascii_lowercase();
                match literals.iter().position(|l| *l == folded) {
                    Some(k) => k,
                    None => {
                        literals.push(folded);
                        literals.len() - 1
                    }
                }
            }));
        }
        let automaton = if literals.is_empty() {
            None
        } else {
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(true)
                .build(&literals)
                .map_err(|e| e.to_string())?;
            Some(ac)
        };
        Ok(Prefilter { automaton, literal_of, literals: literals.len() })
    }

    /// For each pattern, whether it has to run on `text`.
    pub(crate) fn candidates(&self, text: &str) -> Vec<bool> {
        let Some(ac) = &self.automaton else {
            return vec![true; self.literal_of.len()];
        };
        let mut present = vec![false; self.literals];
        let mut seen = 0;
        // Overlapping search so that no literal hides another; stop early once
        // every literal has been seen.
        match ac.try_find_overlapping_iter(text) {
            Ok(matches) => {
                for m in matches {
                    let k = m.pattern().as_usize();
                    if !present[k] {
                        present[k] = true;
                        seen += 1;
                        if seen == self.literals {
                            break;
                        }
                    }
                }
            }
            // Cannot happen with a Standard automaton; be safe and run everything.
            Err(_) => present.iter_mut().for_each(|p| *p = true),
        }
        self.literal_of.iter().map(|lit| lit.is_none_or(|k| present[k])).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(p: &str) -> Option<String> {
        regex_lite::Regex::new(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        required_literal(p)
    }

    #[test]
    fn extracts_required_literals() {
        let cases: &[(&str, Option<&str>)] = &[
            (r"(?i)\bDELETE\s+FROM\b", Some("DELETE")),
            (r"drop table", Some("drop table")),
            (r"rm\s+-rf", Some("-rf")),
            (r"ab?c", Some("a")),
            (r"abcd*e", Some("abc")),
            (r"ab+cd", Some("ab")),
            (r"abc{2}de", Some("ab")),
            (r"x(foo|bar)yz", Some("yz")),
            (r"\.env\b", Some(".env")),
            (r"\d{3}-\d{2}-\d{4}", Some("-")),
            (r"api[_-]?key\s*=", Some("api")),
            (r"password\x3d", None),
            (r"foo|bar", None),
            (r"(?x) a b c", None),
            (r"[[:alpha:]]+secret", None),
            (r"^\d+$", None),
            (r"\<word\>", Some("word")),
            (r"a\tb", Some("a\tb")),
            (r"[]a]bc", Some("bc")),
            (r"(?P<n>a)bcd", Some("bcd")),
            (r"(?i:ab)cd", Some("cd")),
            (r"a}b]c", Some("a}b]c")),
            (r"日本語?", Some("日本")),
            (r"ab+?c", Some("a")), // lazy `+?` is treated as optional (conservative)
            (r"x*?yz", Some("yz")),
            (r"ab+{0,2}cd", Some("cd")),
            (r"abc(?i)?d", None),
            (r"abc(?i)de", Some("abc")),
            (r"abc+?de", Some("ab")),
            (r"(ab(c)d)+efg", Some("efg")),
        ];
        for (p, want) in cases {
            assert_eq!(lit(p).as_deref(), *want, "pattern {p}");
        }
    }

    /// The property the prefilter relies on: whenever a pattern matches a string,
    /// the string contains its required literal (ASCII case-insensitively). Checked
    /// on random patterns built from regex syntax fragments and random strings.
    #[test]
    fn required_literals_hold_on_random_patterns() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let frags = [
            "a", "b", "c", "ab", "A", "B", " ", "-", "\\.", "\\-", "\\ ", "?", "*", "+", "{2}", "{0,2}", "{1,}", "??",
            "+?", "(", ")", "(?i)", "(?-i)", "(?i:", "(?:", "|", "[ab]", "[^a]", "[]b]", "\\b", "\\B", "\\s", "\\w",
            "\\d", ".", "^", "$", "\\<", "\\>", "\\t", "é", "}", "]",
        ];
        let alphabet = ['a', 'b', 'c', 'A', 'B', ' ', '-', '.', '\t', 'é', '}', ']', '1'];
        let mut checked = 0;
        for _ in 0..100_000 {
            let n = 1 + (next() % 8) as usize;
            let pattern: String = (0..n).map(|_| frags[(next() % frags.len() as u64) as usize]).collect();
            let Ok(re) = regex_lite::Regex::new(&pattern) else { continue };
            let Some(literal) = required_literal(&pattern) else { continue };
            let literal = literal.to_ascii_lowercase();
            for _ in 0..30 {
                let len = (next() % 10) as usize;
                let text: String = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
                if re.is_match(&text) {
                    checked += 1;
                    assert!(
                        text.to_ascii_lowercase().contains(&literal),
                        "pattern {pattern:?} matched {text:?} without its literal {literal:?}"
                    );
                }
            }
        }
        assert!(checked > 1000, "too few matches exercised: {checked}");
    }

    #[test]
    fn candidates_select_patterns() {
        let patterns: Vec<String> = [r"(?i)\bDELETE\s+FROM\b", r"^\d+$", r"drop\s+table", r"(?i)delete"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let pf = Prefilter::new(&patterns).expect("prefilter");
        assert_eq!(pf.candidates("nothing here"), vec![false, true, false, false]);
        assert_eq!(pf.candidates("Delete it; DROP"), vec![true, true, false, true]);
        assert_eq!(pf.candidates("drop TABLE"), vec![false, true, true, false]);
    }
}
