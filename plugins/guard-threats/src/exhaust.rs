//! Resource exhaustion: numbers in count / size / depth / timeout / retry arguments
//! above the configured ceilings (or negative, which APIs often read as
//! "unlimited"), strings and arrays beyond the configured lengths, nesting depth,
//! catastrophic regexes in regex arguments, entity/alias expansion bombs and huge
//! exponents in expressions. The gateway already enforces the tool's own
//! `inputSchema` bounds; these are the operator's defaults and per-tool limits.

use crate::config::Limits;
use crate::walk::{Role, words};

#[derive(Debug, Clone, Copy, PartialEq)]
enum NumClass {
    Count,
    Bytes(f64),
    Depth,
    /// Seconds per unit of the value.
    Time(f64),
    Retries,
}

fn num_class(name: &str) -> Option<NumClass> {
    let ws = words(name);
    let has = |list: &[&str]| ws.iter().any(|w| list.contains(&w.as_str()));
    if has(&["retries", "retry", "attempts", "attempt", "tries", "redirects"]) {
        return Some(NumClass::Retries);
    }
    if has(&["depth", "level", "levels", "recursion", "nesting", "hops", "maxdepth"]) {
        return Some(NumClass::Depth);
    }
    if has(&["timeout", "ttl", "delay", "wait", "sleep", "duration", "interval", "deadline", "timeoutms", "timeoutsec"])
    {
        let unit = if has(&["ms", "millis", "milliseconds", "msec", "timeoutms"]) {
            0.001
        } else if has(&["us", "micros", "microseconds"]) {
            0.000_001
        } else if has(&["ns", "nanos", "nanoseconds"]) {
            0.000_000_001
        } else if has(&["s", "sec", "secs", "seconds", "second", "timeoutsec"]) {
            1.0
        } else if has(&["min", "mins", "minute", "minutes"]) {
            60.0
        } else if has(&["h", "hr", "hrs", "hour", "hours"]) {
            3600.0
        } else if has(&["d", "day", "days"]) {
            86400.0
        } else {
            0.001 // unitless: read as milliseconds, the most common convention
        };
        return Some(NumClass::Time(unit));
    }
    let counted = has(&["page", "batch", "sample", "pool", "queue", "buffer", "result", "results", "items"]);
    if !counted && has(&["bytes", "byte", "size", "length", "len", "kb", "mb", "gb", "kib", "mib", "gib"]) {
        let unit = if has(&["kb", "kib"]) {
            1024.0
        } else if has(&["mb", "mib"]) {
            1024.0 * 1024.0
        } else if has(&["gb", "gib"]) {
            1024.0 * 1024.0 * 1024.0
        } else {
            1.0
        };
        return Some(NumClass::Bytes(unit));
    }
    if has(&[
        "count",
        "limit",
        "num",
        "number",
        "n",
        "top",
        "k",
        "batch",
        "rows",
        "results",
        "items",
        "quantity",
        "repeat",
        "repetitions",
        "iterations",
        "times",
        "workers",
        "threads",
        "concurrency",
        "parallel",
        "parallelism",
        "replicas",
        "instances",
        "copies",
        "pages",
        "size",
        "max",
        "records",
        "entries",
        "lines",
        "tokens",
        "samples",
        "per",
    ]) {
        return Some(NumClass::Count);
    }
    None
}

/// `10GB`, `1e9`, `5 MiB`, `"123"` as a number (sizes in bytes).
fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() || t.len() > 40 {
        return None;
    }
    if let Ok(v) = t.parse::<f64>() {
        return Some(v);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == '_' || c == ','))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num.replace(['_', ','], "").parse().ok()?;
    let m = match unit.trim().to_ascii_lowercase().as_str() {
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0_f64.powi(4),
        _ => return None,
    };
    Some(v * m)
}

/// Why the number `v` in argument `name` is too large, or `None`.
pub(crate) fn number(name: &str, v: f64, limits: &Limits) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    if let Some((_, max)) = limits.arguments.iter().find(|(g, _)| g.matches(&chars)) {
        return (v > *max || v.is_nan()).then(|| format!("value is over the limit for this argument ({max})"));
    }
    let class = num_class(name)?;
    if v < 0.0 {
        return Some("a negative value (commonly read as unlimited)".to_string());
    }
    let (value, max, what) = match class {
        NumClass::Count => (v, limits.count as f64, "count"),
        NumClass::Bytes(unit) => (v * unit, limits.bytes as f64, "size in bytes"),
        NumClass::Depth => (v, limits.depth as f64, "depth"),
        NumClass::Time(unit) => (v * unit, limits.timeout_seconds as f64, "duration in seconds"),
        NumClass::Retries => (v, limits.retries as f64, "retry count"),
    };
    (value > max || !value.is_finite()).then(|| format!("{what} is over the limit ({max})"))
}

/// A numeric string in a count/size/... argument.
pub(crate) fn numeric_string(name: &str, s: &str, limits: &Limits) -> Option<String> {
    if s.len() > 40 || !s.trim_start().starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') {
        return None;
    }
    let v = parse_number(s)?;
    number(name, v, limits)
}

fn regex_name(name: &str) -> bool {
    words(name).iter().any(|w| matches!(w.as_str(), "regex" | "regexp" | "re" | "pattern" | "patterns" | "regexes"))
}

/// A group repeated by `+`, `*` or `{n,}` whose body is itself only repeated or
/// optional atoms (`(a+)+`, `(\w+\s?)*`, `(.*){2,}`): exponential backtracking.
/// A body with a fixed atom (`(\.[a-z]+)*`) is unambiguous enough and passes.
fn nested_quantifier(re: &str) -> bool {
    let b = re.as_bytes();
    #[derive(Default, Clone, Copy)]
    struct Group {
        quantified: bool,
        fixed: bool,
    }
    // What follows an atom ending before `i`: (repeated without bound, optional).
    let quantifier = |i: usize| -> (bool, bool, usize) {
        match b.get(i) {
            Some(b'+') | Some(b'*') => (true, b[i] == b'*', i + 1),
            Some(b'?') => (false, true, i + 1),
            Some(b'{') => {
                let body = re[i + 1..].split('}').next().unwrap_or("");
                let unbounded = body.ends_with(',')
                    || body.split(',').nth(1).is_some_and(|m| m.trim().parse::<u32>().is_ok_and(|m| m > 10));
                let optional = body.starts_with('0');
                (unbounded, optional, i + 2 + body.len())
            }
            _ => (false, false, i),
        }
    };
    let mut stack: Vec<Group> = vec![Group::default()];
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let atom_end = match c {
            b'\\' => i + 2,
            b'[' => {
                let mut j = i + 1;
                if b.get(j) == Some(&b']') {
                    j += 1;
                }
                while j < b.len() && b[j] != b']' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                j + 1
            }
            b'(' => {
                if stack.len() > 64 {
                    return false;
                }
                stack.push(Group::default());
                i += 1;
                if b.get(i) == Some(&b'?') {
                    i = (i + 2).min(b.len()); // `(?:`, `(?=`
                }
                continue;
            }
            b')' => {
                let inner = if stack.len() > 1 { stack.pop().unwrap_or_default() } else { Group::default() };
                let (rep, opt, next) = quantifier(i + 1);
                if rep && inner.quantified && !inner.fixed {
                    return true;
                }
                if let Some(top) = stack.last_mut() {
                    top.quantified |= rep || inner.quantified;
                    top.fixed |= inner.fixed && !opt && !rep;
                }
                i = next;
                continue;
            }
            b'|' | b'^' | b'$' => {
                i += 1;
                continue;
            }
            _ => i + 1,
        };
        let (rep, opt, next) = quantifier(atom_end.min(b.len()));
        if let Some(top) = stack.last_mut() {
            top.quantified |= rep;
            top.fixed |= !rep && !opt;
        }
        i = next.max(atom_end);
    }
    false
}

/// Expansion bombs and the like in a string value.
pub(crate) fn content(name: &str, s: &str, role: Role) -> Option<&'static str> {
    if regex_name(name) && s.len() < 4096 && nested_quantifier(s) {
        return Some("a regex with nested quantifiers (catastrophic backtracking)");
    }
    let b = s.as_bytes();
    if b.contains(&b'<') && b.contains(&b'&') {
        let lower = s.to_ascii_lowercase();
        if lower.matches("<!entity").count() >= 2 && lower.matches('&').count() >= 4 {
            return Some("XML entity expansion (billion laughs)");
        }
    }
    if b.contains(&b'&') && b.contains(&b'*') {
        let anchors = s.matches(": &").count() + s.matches("- &").count();
        let aliases = s.matches('*').count();
        if anchors >= 3 && aliases >= 9 {
            return Some("YAML alias expansion (billion laughs)");
        }
    }
    if role == Role::Expr || role == Role::Neutral && s.len() < 256 {
        let mut from = 0;
        while let Some(p) = s[from..].find("**") {
            let at = from + p;
            from = at + 2;
            let exp: String = s[at + 2..].trim_start().chars().take_while(|c| c.is_ascii_digit()).collect();
            let nested = s[at + 2..].contains("**");
            if exp.parse::<u64>().map_or(exp.len() > 6, |e| e >= 10_000)
                || nested
                    && !exp.is_empty()
                    && (role == Role::Expr || s[..at].trim_end().ends_with(|c: char| c.is_ascii_digit()))
            {
                return Some("a huge exponent");
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_by_name() {
        let l = Limits::default();
        assert!(number("count", 1e9, &l).is_some());
        assert!(number("count", 50.0, &l).is_none());
        assert!(number("timeout_ms", 86_400_000.0, &l).is_some());
        assert!(number("timeout_seconds", 30.0, &l).is_none());
        assert!(number("max_retries", 1000.0, &l).is_some());
        assert!(number("page_size", 100.0, &l).is_none());
        assert!(number("depth", 1e6, &l).is_some());
        assert!(number("limit", -1.0, &l).is_some());
        assert!(number("price", 1e9, &l).is_none());
        assert!(numeric_string("size", "10GB", &l).is_some());
    }

    #[test]
    fn regexes() {
        assert!(nested_quantifier("(a+)+$"));
        assert!(nested_quantifier("^(\\w+\\s?)*$"));
        assert!(!nested_quantifier("^[a-z]+(\\.[a-z]+)*$"));
        assert!(!nested_quantifier("a+b*"));
    }
}
