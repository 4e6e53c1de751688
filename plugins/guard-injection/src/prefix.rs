//! A cheap necessary condition for a rule's regex to match at an anchor hit.
//!
//! Every rule regex runs anchored at each hit of one of its anchors, and most tries fail
//! (ordinary text is full of "show", "new", "system", "report"). A failed try still costs a
//! PikeVM start over the whole leading alternation of the rule, which made regex tries the
//! largest share of a call. This module reads the start of each regex into a few short
//! *prefix patterns* (literal characters, character classes, bounded repetitions of one
//! character or class) such that every match of the regex begins with one of them. A try
//! whose text fits none of them cannot match and is skipped; otherwise the regex runs as
//! before, so detection is unchanged.
//!
//! The reading is conservative: whatever it does not understand (flags, `.`, unbounded or
//! quantified groups, negated classes, ...) ends a pattern there, which only makes the
//! pattern shorter, i.e. more permissive. `\s` is read as any Unicode whitespace, a
//! superset of what the regex accepts.

/// Characters allowed at one position.
#[derive(Clone, Copy, Debug)]
enum Set {
    Char(char),
    /// A class, by its index in the regex's `Classes`.
    Class(u16),
    Space,
}

/// The classes of one regex: ranges, and whether whitespace is also allowed (`\s` inside).
type Classes = Vec<(Vec<(char, char)>, bool)>;

impl Set {
    fn has(self, c: char, classes: &Classes) -> bool {
        match self {
            Set::Char(x) => x == c,
            Set::Class(k) => {
                let (ranges, space) = &classes[k as usize];
                (*space && c.is_whitespace()) || ranges.iter().any(|&(a, b)| a <= c && c <= b)
            }
            Set::Space => c.is_whitespace(),
        }
    }
}

/// The index of a class, added to `classes` unless an equal one is there.
fn intern(classes: &mut Classes, class: (Vec<(char, char)>, bool)) -> u16 {
    match classes.iter().position(|c| *c == class) {
        Some(k) => k as u16,
        None => {
            classes.push(class);
            (classes.len() - 1) as u16
        }
    }
}

/// One position pattern: `set` repeated `min..=max` times.
#[derive(Clone, Copy, Debug)]
struct Atom {
    set: Set,
    min: u32,
    max: u32,
}

/// A prefix pattern, and whether it still stands for the whole of what was read (so what
/// follows in the regex may extend it).
type Entry = (Vec<Atom>, bool);

/// More alternatives than this, or longer patterns, are not worth the bookkeeping.
const MAX_ENTRIES: usize = 1024;
const MAX_ATOMS: usize = 24;
/// Longest repetition followed; a longer one ends the pattern.
const MAX_REPEAT: u32 = 16;

/// One prefix pattern: a literal, then the positions after it.
struct Pattern {
    lit: Box<str>,
    rest: Box<[Atom]>,
}

/// The prefix patterns of a regex and its classes; `None` when nothing useful can be read
/// (the regex must always be tried).
pub struct Prefixes(Option<(Vec<Pattern>, Classes)>);

impl Prefixes {
    pub fn of(re: &str) -> Prefixes {
        let p: Vec<char> = re.chars().collect();
        let mut i = 0;
        let mut classes = Classes::new();
        let Some(entries) = alternation(&p, &mut i, &mut classes) else { return Prefixes(None) };
        if i != p.len() || entries.iter().any(|e| e.0.is_empty()) {
            return Prefixes(None);
        }
        let mut list: Vec<Pattern> = Vec::with_capacity(entries.len());
        for (atoms, _) in entries {
            // The leading single characters become a literal compared in one go.
            let k = atoms.iter().take_while(|a| matches!(a.set, Set::Char(_)) && a.min == 1 && a.max == 1).count();
            let lit: String =
                atoms[..k].iter().filter_map(|a| if let Set::Char(c) = a.set { Some(c) } else { None }).collect();
            list.push(Pattern { lit: lit.into(), rest: atoms[k..].into() });
        }
        Prefixes(Some((list, classes)))
    }

    /// The patterns that can fit a text beginning with `anchor` (the others begin with a
    /// different literal), by index; `None` when the regex must always be tried.
    pub fn for_anchor(&self, anchor: &str) -> Option<Box<[u16]>> {
        let (list, _) = self.0.as_ref()?;
        let fit = |p: &Pattern| p.lit.starts_with(anchor) || anchor.starts_with(&*p.lit);
        Some(list.iter().enumerate().filter(|(_, p)| fit(p)).map(|(k, _)| k as u16).collect())
    }

    /// Whether a match of the regex anchored at the start of `text` is possible, looking
    /// at the patterns `among` (from `for_anchor` for the anchor `text` begins with).
    pub fn may_match(&self, among: Option<&[u16]>, text: &str) -> bool {
        let (Some((list, classes)), Some(among)) = (&self.0, among) else { return true };
        among.iter().any(|&k| {
            let p = &list[k as usize];
            text.starts_with(&*p.lit) && fits(&p.rest, &text[p.lit.len()..], classes)
        })
    }

    #[cfg(test)]
    pub fn is_known(&self) -> bool {
        self.0.is_some()
    }

    /// `may_match` over all patterns, whatever the anchor.
    #[cfg(test)]
    pub fn may_match_any(&self, text: &str) -> bool {
        let all = self.for_anchor("");
        self.may_match(all.as_deref(), text)
    }
}

/// Whether `text` begins with something `atoms` describes (backtracking over the bounded
/// repetitions; patterns are short and repetitions at most `MAX_REPEAT`).
fn fits(atoms: &[Atom], text: &str, classes: &Classes) -> bool {
    let Some((a, rest)) = atoms.split_first() else { return true };
    if a.min == 1 && a.max == 1 {
        // The common case, without the bookkeeping of a repetition.
        return match text.chars().next() {
            Some(c) if a.set.has(c, classes) => fits(rest, &text[c.len_utf8()..], classes),
            _ => false,
        };
    }
    // Byte offsets after 0, 1, ... repetitions (at most MAX_REPEAT).
    let mut ends = [0usize; MAX_REPEAT as usize + 1];
    let mut n = 0usize;
    for (k, c) in text.char_indices() {
        if n == a.max as usize || !a.set.has(c, classes) {
            break;
        }
        n += 1;
        ends[n] = k + c.len_utf8();
    }
    (a.min as usize..=n).rev().any(|r| fits(rest, &text[ends[r]..], classes))
}

/// `a|b|...` up to a closing `)` or the end; `None` when the syntax is not followed.
fn alternation(p: &[char], i: &mut usize, classes: &mut Classes) -> Option<Vec<Entry>> {
    let mut out: Vec<Entry> = Vec::new();
    loop {
        let mut cur: Vec<Entry> = vec![(Vec::new(), true)];
        sequence(p, i, &mut cur, classes)?;
        out.extend(cur);
        if *i < p.len() && p[*i] == '|' {
            *i += 1;
            continue;
        }
        break;
    }
    if out.len() > MAX_ENTRIES {
        // Too many to be cheap: keep what all of them begin with — nothing, in general.
        return Some(vec![(Vec::new(), false)]);
    }
    Some(out)
}

/// Close every entry: nothing after this point extends them.
fn close(cur: &mut [Entry]) {
    for e in cur.iter_mut() {
        e.1 = false;
    }
}

/// One branch: items until `|`, `)` or the end, extending the open entries of `cur`.
fn sequence(p: &[char], i: &mut usize, cur: &mut Vec<Entry>, classes: &mut Classes) -> Option<()> {
    while *i < p.len() && p[*i] != '|' && p[*i] != ')' {
        let item: Option<Vec<Entry>> = match p[*i] {
            '\\' => {
                let n = *p.get(*i + 1)?;
                *i += 2;
                match n {
                    'b' | 'B' => continue, // zero-width: constrains nothing we read
                    's' => Some(vec![(vec![Atom { set: Set::Space, min: 1, max: 1 }], true)]),
                    'd' => Some(single(Set::Class(intern(classes, (vec![('0', '9')], false))))),
                    'n' => Some(single(Set::Char('\n'))),
                    't' => Some(single(Set::Char('\t'))),
                    'x' => {
                        skip_hex(p, i)?;
                        None
                    }
                    c if c.is_ascii_alphanumeric() => None,
                    c => Some(single(Set::Char(c))),
                }
            }
            '[' => {
                *i += 1;
                class(p, i, classes)?.map(single)
            }
            '(' => {
                *i += 1;
                if p.get(*i) == Some(&'?') {
                    if p.get(*i + 1) != Some(&':') {
                        // Flags (`(?i)`, `(?s:`) change how the rest reads: not followed.
                        return None;
                    }
                    *i += 2;
                }
                let inner = alternation(p, i, classes)?;
                if p.get(*i) != Some(&')') {
                    return None;
                }
                *i += 1;
                Some(inner)
            }
            '.' | '^' | '$' => {
                *i += 1;
                None
            }
            '*' | '+' | '?' | '{' => return None, // a quantifier with nothing before it
            c => {
                *i += 1;
                Some(single(Set::Char(c)))
            }
        };
        let (min, max) = quantifier(p, i)?;
        let Some(mut item) = item else {
            close(cur);
            continue;
        };
        if (min, max) != (1, 1) {
            let one =
                item.len() == 1 && item[0].0.len() == 1 && item[0].1 && item[0].0[0].min == 1 && item[0].0[0].max == 1;
            if one && max <= MAX_REPEAT {
                // A repetition of one position is kept as such.
                let a = &mut item[0].0[0];
                a.min = min;
                a.max = max;
            } else if max <= MAX_GROUP_REPEAT {
                // A short optional or repeated group (`(?:system{S})?`): every count.
                item = repeat(&item, min, max);
            } else if min >= 1 {
                // At least one occurrence is certain; what follows is not read.
                close(&mut item);
            } else {
                close(cur);
                continue;
            }
        }
        extend(cur, &item);
    }
    Some(())
}

/// Most repetitions of a group followed (`(?:x){0,3}`); more end the read.
const MAX_GROUP_REPEAT: u32 = 3;

/// `item` repeated `min..=max` times, as the alternatives of each count.
fn repeat(item: &[Entry], min: u32, max: u32) -> Vec<Entry> {
    let mut acc: Vec<Entry> = vec![(Vec::new(), true)];
    let mut out: Vec<Entry> = Vec::new();
    for k in 0..=max {
        if k >= min {
            out.extend(acc.iter().cloned());
        }
        if k < max {
            extend(&mut acc, item);
        }
    }
    out
}

/// Append `item` to every open entry of `cur` (all combinations); past the limits the
/// entries are closed where they are instead.
fn extend(cur: &mut Vec<Entry>, item: &[Entry]) {
    if let [(atoms, open)] = item {
        // One alternative (a literal character, a class): in place.
        if cur.iter().any(|e| e.1 && e.0.len() + atoms.len() > MAX_ATOMS) {
            close(cur);
            return;
        }
        for e in cur.iter_mut().filter(|e| e.1) {
            e.0.extend_from_slice(atoms);
            e.1 = *open;
        }
        return;
    }
    let mut next: Vec<Entry> = Vec::new();
    for e in cur.iter() {
        if !e.1 {
            next.push(e.clone());
            continue;
        }
        for (atoms, open) in item {
            let mut v = e.0.clone();
            v.extend_from_slice(atoms);
            next.push((v, *open));
        }
    }
    if next.len() > MAX_ENTRIES || next.iter().any(|e| e.0.len() > MAX_ATOMS) {
        close(cur);
    } else {
        *cur = next;
    }
}

fn single(set: Set) -> Vec<Entry> {
    vec![(vec![Atom { set, min: 1, max: 1 }], true)]
}

/// `\x41` or `\x{41}` after the `\x` just read.
fn skip_hex(p: &[char], i: &mut usize) -> Option<()> {
    if p.get(*i) == Some(&'{') {
        while *i < p.len() && p[*i] != '}' {
            *i += 1;
        }
        *i += 1;
    } else {
        *i += 2;
    }
    (*i <= p.len()).then_some(())
}

/// A quantifier at `i` (consumed) as `(min, max)`; `(1, 1)` when there is none.
fn quantifier(p: &[char], i: &mut usize) -> Option<(u32, u32)> {
    let q = match p.get(*i) {
        Some('?') => (0, 1),
        Some('*') => (0, u32::MAX),
        Some('+') => (1, u32::MAX),
        Some('{') => {
            let close = p[*i..].iter().position(|&c| c == '}')? + *i;
            let body: String = p[*i + 1..close].iter().collect();
            let (a, b) = match body.split_once(',') {
                Some((a, "")) => (a.trim().parse().ok()?, u32::MAX),
                Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
                None => {
                    let n = body.trim().parse().ok()?;
                    (n, n)
                }
            };
            *i = close;
            (a, b)
        }
        _ => return Some((1, 1)),
    };
    *i += 1;
    if p.get(*i) == Some(&'?') {
        *i += 1; // lazy: same set of possible matches
    }
    Some(q)
}

/// A class after its `[`, up to and including `]`; `Some(None)` for one not followed
/// (negated, nested, unknown escapes).
fn class(p: &[char], i: &mut usize, classes: &mut Classes) -> Option<Option<Set>> {
    let mut ranges: Vec<(char, char)> = Vec::new();
    let mut space = false;
    let mut known = true;
    if p.get(*i) == Some(&'^') {
        known = false;
        *i += 1;
    }
    let mut first = true;
    loop {
        let c = *p.get(*i)?;
        if c == ']' && !first {
            *i += 1;
            break;
        }
        first = false;
        let lo = match c {
            '\\' => {
                let n = *p.get(*i + 1)?;
                *i += 2;
                match n {
                    's' => {
                        space = true;
                        continue;
                    }
                    'd' => {
                        ranges.push(('0', '9'));
                        continue;
                    }
                    'n' => '\n',
                    't' => '\t',
                    'x' => {
                        skip_hex(p, i)?;
                        known = false;
                        continue;
                    }
                    n if n.is_ascii_alphanumeric() => {
                        known = false;
                        continue;
                    }
                    n => n,
                }
            }
            '[' => {
                // Nested classes and `[:alpha:]`: not followed; find the matching `]`.
                known = false;
                let mut depth = 0;
                while let Some(&x) = p.get(*i) {
                    *i += 1;
                    if x == '[' {
                        depth += 1;
                    } else if x == ']' {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                }
                continue;
            }
            c => {
                *i += 1;
                c
            }
        };
        if p.get(*i) == Some(&'-') && p.get(*i + 1).is_some_and(|&x| x != ']') {
            let hi = p[*i + 1];
            if hi == '\\' || hi == '[' {
                known = false;
                *i += 1;
                continue;
            }
            *i += 2;
            ranges.push((lo, hi));
        } else {
            ranges.push((lo, lo));
        }
    }
    Some(known.then(|| Set::Class(intern(classes, (ranges, space)))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_literals_classes_and_repetitions() {
        let p = Prefixes::of(r#"\b(?:ignore|disregard)[\s"'*]{1,6}(?:all|any)\b"#);
        assert!(p.is_known());
        assert!(p.may_match_any("ignore  all of it"));
        assert!(p.may_match_any("disregard \"any"));
        assert!(!p.may_match_any("ignored all"));
        assert!(!p.may_match_any("ignore the"));
        assert!(!p.may_match_any("ignore"));
        // Optional parts and groups after the prefix.
        let p = Prefixes::of(r"news? (?:instructions|rules)(?:ly)?:");
        assert!(p.may_match_any("new rules:"));
        assert!(p.may_match_any("news instructions:"));
        assert!(!p.may_match_any("new order"));
        assert!(!p.may_match_any("newsy rules"));
        // Flags end the read: the regex is always tried.
        assert!(Prefixes::of(r"(?i)ignore").may_match_any("IGNORE"));
        assert!(Prefixes::of(r"x{2}y").may_match_any("xxy"));
        assert!(!Prefixes::of(r"[^a]b").is_known());
        // Short repeated groups: every count.
        let p = Prefixes::of(r"new (?:system )?(?:instructions?|task)\s?:");
        assert!(p.may_match_any("new instruction:"));
        assert!(p.may_match_any("new system task :"));
        assert!(!p.may_match_any("new system prompt"));
        let p = Prefixes::of(r"a(?:b|c){1,2}d");
        assert!(p.may_match_any("abd") && p.may_match_any("acbd"));
        assert!(!p.may_match_any("ad") && !p.may_match_any("abbbd"));
    }
}
