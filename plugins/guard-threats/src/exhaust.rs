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
    /// Model tokens: a hundred per count unit.
    Tokens,
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
    if ws.len() == 1
        && matches!(
            ws[0].as_str(),
            "seconds" | "secs" | "minutes" | "mins" | "hours" | "days" | "millis" | "milliseconds" | "ms"
        )
    {
        let unit = match ws[0].as_str() {
            "minutes" | "mins" => 60.0,
            "hours" => 3600.0,
            "days" => 86400.0,
            "millis" | "milliseconds" | "ms" => 0.001,
            _ => 1.0,
        };
        return Some(NumClass::Time(unit));
    }
    if has(&["timeout", "delay", "wait", "sleep", "duration", "interval", "deadline", "timeoutms", "timeoutsec"]) {
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
    if has(&["tokens", "token"]) && has(&["max", "limit", "num", "n", "count"]) {
        return Some(NumClass::Tokens);
    }
    if has(&[
        "width",
        "height",
        "exponent",
        "power",
        "fps",
        "rate",
        "qps",
        "rps",
        "frequency",
        "iterations",
        "pixels",
        "resolution",
        "dimension",
        "dimensions",
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
    let Some(class) = num_class(name) else {
        // Whatever the name, astronomically large values are never a sane argument
        // (ids and timestamps stay far below).
        let idlike = words(name).iter().any(|w| {
            matches!(
                w.as_str(),
                "id" | "ids"
                    | "ts"
                    | "timestamp"
                    | "epoch"
                    | "seed"
                    | "nonce"
                    | "hash"
                    | "phone"
                    | "account"
                    | "number"
                    | "snowflake"
                    | "serial"
                    | "checksum"
            )
        });
        return (!idlike && v.abs() >= 1e15).then(|| "an astronomically large value".to_string());
    };
    if v < 0.0 {
        return Some("a negative value (commonly read as unlimited)".to_string());
    }
    let (value, max, what) = match class {
        NumClass::Count => (v, limits.count as f64, "count"),
        NumClass::Bytes(unit) => (v * unit, limits.bytes as f64, "size in bytes"),
        NumClass::Depth => (v, limits.depth as f64, "depth"),
        NumClass::Time(unit) => (v * unit, limits.timeout_seconds as f64, "duration in seconds"),
        NumClass::Retries => (v, limits.retries as f64, "retry count"),
        NumClass::Tokens => (v, limits.count as f64 * 100.0, "token count"),
    };
    (value > max || !value.is_finite()).then(|| format!("{what} is over the limit ({max})"))
}

/// A numeric string in a count/size/... argument.
pub(crate) fn numeric_string(name: &str, s: &str, limits: &Limits) -> Option<String> {
    if let Some((w, h)) = s.trim().split_once(['x', 'X'])
        && !w.is_empty()
        && !h.is_empty()
        && w.bytes().chain(h.bytes()).all(|c| c.is_ascii_digit())
        && let (Ok(w), Ok(h)) = (w.parse::<f64>(), h.parse::<f64>())
        && (w > limits.count as f64 || h > limits.count as f64)
    {
        return Some(format!("dimensions over the limit ({})", limits.count));
    }
    if s.len() > 40 || !s.trim_start().starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') {
        return None;
    }
    let v = parse_number(s)?;
    number(name, v, limits)
}

/// Regexes that backtrack exponentially or compile to huge automata.
fn regex_bomb(s: &str) -> Option<&'static str> {
    if s.len() > 4096 {
        return None;
    }
    if nested_quantifier(s) {
        return Some("a regex with nested quantifiers (catastrophic backtracking)");
    }
    // `{1000000}`, `{25}` on a group that repeats: counted repetition blow-ups.
    let b = s.as_bytes();
    for (i, _) in s.match_indices('{') {
        let body: String = s[i + 1..].chars().take_while(|c| *c != '}').collect();
        let n = body.split(',').next().and_then(|n| n.trim().parse::<u64>().ok());
        if let Some(n) = n {
            let after_group = i > 0 && b[i - 1] == b')';
            let inner_quantified = after_group && s[..i].rfind('(').is_some_and(|o| s[o..i].contains(['*', '+']));
            if n >= 1000 || n >= 10 && inner_quantified {
                return Some("a regex with a huge counted repetition");
            }
        }
    }
    // `(a|aa)+`, `(a|a?)+`: overlapping alternatives under a repeat.
    let mut from = 0;
    while let Some(p) = s[from..].find(")+").or_else(|| s[from..].find(")*")) {
        let close = from + p;
        from = close + 2;
        if let Some(open) = s[..close].rfind('(') {
            let alts: Vec<&str> = s[open + 1..close].split('|').collect();
            if alts.len() >= 2 {
                let overlap = alts.iter().any(|a| a.is_empty() || a.ends_with('?') || a.ends_with('*'))
                    || alts.iter().enumerate().any(|(i, a)| {
                        alts[i + 1..]
                            .iter()
                            .any(|b| !a.is_empty() && !b.is_empty() && (a.starts_with(b) || b.starts_with(a)))
                    });
                if overlap {
                    return Some("a regex with overlapping alternatives under a repeat");
                }
            }
        }
    }
    None
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
        // Only a literal separates repetitions; `.`, classes and `\w`-style escapes
        // overlap what the repeated atom matches.
        let literal = match c {
            b'.' | b'[' => false,
            b'\\' => b.get(i + 1).is_some_and(|e| !e.is_ascii_alphanumeric()),
            _ => true,
        };
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
            top.fixed |= !rep && !opt && literal;
        }
        i = next.max(atom_end);
    }
    false
}

/// `a ** b` (or `pow(a, b)`), evaluated as a power of ten.
fn huge_power(s: &str) -> bool {
    let b = s.as_bytes();
    let powers = s.matches("**").count();
    if powers == 0 {
        return s.matches("pow(").count() >= 2;
    }
    // A big number alone is a value; a big number that sizes an allocation,
    // a loop or a bignum computation is the attack.
    let context = [
        "range(",
        "factorial",
        "repeat(",
        "array(",
        "[0]",
        "] *",
        "]*",
        "' *",
        "\" *",
        "join(",
        "fill(",
        "zeros(",
        "ones(",
        "list(",
        "sum(",
        "* (",
        "*(",
    ]
    .iter()
    .any(|c| s.contains(c));
    let mut from = 0;
    let mut seen = 0;
    while let Some(p) = s[from..].find("**") {
        let at = from + p;
        from = at + 2;
        seen += 1;
        if seen > 256 {
            break;
        }
        let base: String = s[..at]
            .trim_end()
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == 'e')
            .collect::<String>()
            .chars()
            .rev()
            .collect();
        let exp: String = s[at + 2..]
            .trim_start()
            .trim_start_matches('(')
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == 'e')
            .collect();
        if let (Ok(x), Ok(y)) = (base.parse::<f64>(), exp.parse::<f64>())
            && x > 1.0
            && (y * x.log10() >= 9.0 && context || y * x.log10() >= 1000.0)
        {
            return true;
        }
        if powers >= 2
            && !base.is_empty()
            && s[at + 2..].trim_start().starts_with(|c: char| c.is_ascii_digit() || c == '(')
        {
            return true; // a tower: `9**9**9`
        }
    }
    let _ = b;
    s.matches("pow(").count() >= 2
}

/// The largest number literal in `s` (decimal, `1e9`, `10**12` counted separately).
fn largest_literal(s: &str) -> f64 {
    let b = s.as_bytes();
    let mut best = 0.0f64;
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit()
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'.'))
        {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'_') {
                i += 1;
            }
            if i < b.len()
                && (b[i] == b'e' || b[i] == b'E')
                && b.get(i + 1).is_some_and(|c| c.is_ascii_digit() || *c == b'+')
            {
                i += 2;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < b.len() && b[i].is_ascii_alphabetic() {
                continue; // `5f3c9a1`, `1h`, `v2`
            }
            if let Ok(v) = s[start..i].replace('_', "").parse::<f64>() {
                best = best.max(v);
            }
            continue;
        }
        i += 1;
    }
    best
}

/// Commands that run forever, fill the disk or saturate CPU, memory or network.
pub(crate) fn command(s: &str) -> Option<&'static str> {
    let lower = s.to_ascii_lowercase();
    let l = lower.as_str();
    let compact: String = l.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.contains(":(){:|:&};:") || compact.contains("%0|%0") || fork_bomb(&compact) {
        return Some("a fork bomb");
    }
    if l.contains("fork while")
        || l.contains("while true") && l.contains("fork")
        || l.contains(".fork()") && l.contains("while")
    {
        return Some("a fork loop");
    }
    let forever = [
        "while true",
        "while :",
        "while(true)",
        "while (true)",
        "while(1)",
        "while (1)",
        "while 1",
        "for((;;))",
        "for(;;)",
        "for (;;)",
        "(0,0,1)",
        "sleep infinity",
        "loop {",
        "until false",
        "while [ 1 ]",
        "while [ true ]",
    ];
    if forever.iter().any(|f| l.contains(f)) {
        return Some("an endless loop");
    }
    if (l.contains("/dev/zero") || l.contains("/dev/urandom") || l.contains("/dev/random"))
        && (l.contains("cat ")
            || l.contains("tail ")
            || l.contains("head -c")
            || l.contains("dd ")
            || l.contains("system \"")
            || l.contains("entity"))
    {
        let small = l.contains("count=")
            && largest_literal(l.split("count=").nth(1).unwrap_or("")) < 10_000.0
            && !l.contains("bs=1g");
        if !small {
            return Some("an endless or huge read from /dev/zero or /dev/urandom");
        }
    }
    let words: Vec<&str> = l.split_whitespace().collect();
    let first = |w: &str| words.iter().any(|x| x.rsplit('/').next() == Some(w));
    if first("yes") && l.contains('>')
        || first("stress")
        || first("stress-ng")
        || l.contains("openssl speed")
        || first("ping") && words.contains(&"-f")
        || first("hping3") && l.contains("--flood")
    {
        return Some("a CPU, memory or network stress command");
    }
    if (first("fallocate") || first("truncate") && l.contains("-s")) && sizes(l) >= 1024.0 * 1024.0 * 1024.0 * 10.0 {
        return Some("a huge file allocation");
    }
    if (first("head") || first("dd") || first("base64")) && sizes(l) >= 1024.0 * 1024.0 * 1024.0 * 10.0 {
        return Some("a huge write");
    }
    if first("dd") && l.contains("count=") && largest_literal(l.split("count=").nth(1).unwrap_or("")) >= 100_000.0 {
        return Some("a huge dd copy");
    }
    if (first("sleep") || first("seq") || first("timeout")) && largest_literal(l) >= 1e7 {
        return Some("a huge sleep or sequence");
    }
    if first("find")
        && words.get(words.iter().position(|w| *w == "find").unwrap_or(0) + 1) == Some(&"/")
        && (l.contains("-exec") || l.contains("xargs"))
    {
        return Some("a command over the whole file system");
    }
    if huge_power(l)
        || (l.contains("python") || l.contains("node") || l.contains("perl") || l.contains("ruby"))
            && largest_literal(l) >= 1e9
    {
        return Some("a huge allocation or computation");
    }
    None
}

/// `name(){ name|name& }; name` with any name.
fn fork_bomb(compact: &str) -> bool {
    let Some(p) = compact.find("(){") else { return false };
    let name: String = compact[..p]
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect::<String>()
        .chars()
        .rev()
        .collect();
    !name.is_empty() && compact[p..].contains(&format!("{name}|{name}&"))
}

/// The largest size with a unit (`10T`, `100G`, `8G`, `1g`) in bytes.
fn sizes(l: &str) -> f64 {
    let mut best = 0.0f64;
    for tok in l.split(|c: char| c.is_whitespace() || c == '=') {
        if let Some(v) = parse_number(tok) {
            best = best.max(v);
        }
    }
    best
}

/// Expressions and queries that compute forever or allocate without bound.
pub(crate) fn expression(s: &str, role: Role) -> Option<&'static str> {
    let lower = s.to_ascii_lowercase();
    let l = lower.as_str();
    if huge_power(l) {
        return Some("a huge power");
    }
    let forever =
        ["while(true)", "while (true)", "while true", "while(1)", "while 1:", "for(;;)", "for (;;)", "loop {"];
    if forever.iter().any(|f| l.contains(f)) {
        return Some("an endless loop");
    }
    // `(function f(){ f(); })()`: a function calling itself unconditionally.
    if let Some(p) = l.find("function ") {
        let name: String = l[p + 9..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !name.is_empty()
            && l[p + 9 + name.len()..].contains(&format!("{name}()"))
            && !l.contains("if")
            && !l.contains('?')
        {
            return Some("unbounded recursion");
        }
    }
    let big = largest_literal(l);
    if role == Role::Sql {
        if big >= 1e9 {
            return Some("a huge number in a query (rows, repeats, offsets)");
        }
        if l.contains("with recursive") && !l.contains("limit") && !l.contains(" where ") {
            return Some("a recursive query without a bound");
        }
        if let Some(from) = l.find(" from ") {
            let tail = &l[from + 6..];
            let end = [" where ", " group ", " order ", " limit ", ";"]
                .iter()
                .filter_map(|k| tail.find(k))
                .min()
                .unwrap_or(tail.len());
            let tables = &tail[..end];
            if !tables.contains('(') && !tables.contains(" join ") && tables.matches(',').count() >= 3 {
                return Some("a cartesian join of many tables");
            }
        }
        let sleeps = ["pg_sleep(", "sleep(", "benchmark(", "waitfor delay"];
        if sleeps.iter().any(|k| l.contains(k))
            && (big >= 300.0 || l.contains("waitfor delay '") && !l.contains("'00:00:"))
        {
            return Some("a long sleep or benchmark in a query");
        }
        return None;
    }
    // `1 << 40`, `factorial(99999999)`, `[1] * 10**10`.
    let shift =
        l.match_indices("<<").take(64).any(|(i, _)| largest_literal(crate::output::window(l, i + 2, i + 12)) >= 30.0);
    if shift && (l.contains('*') || l.contains("range(") || l.contains("repeat(") || l.contains("array(")) {
        return Some("a huge allocation (bit shift)");
    }
    if l.contains("factorial(") && big >= 100_000.0 {
        return Some("a huge factorial");
    }
    if big >= 1e9
        && (l.contains("range(")
            || l.contains("array(")
            || l.contains("repeat(")
            || l.contains('*')
            || l.contains("factorial")
            || l.contains("fill(")
            || l.contains("join(")
            || l.contains("zeros(")
            || l.contains("ones("))
    {
        return Some("a huge allocation or computation");
    }
    None
}

/// Expansion bombs and the like in a string value.
pub(crate) fn content(name: &str, s: &str, role: Role) -> Option<&'static str> {
    match role {
        Role::Exec => {
            if let Some(r) = command(s) {
                return Some(r);
            }
        }
        Role::Expr | Role::Sql => {
            if let Some(r) = expression(s, role) {
                return Some(r);
            }
        }
        _ => {
            if (s.contains("{{") || s.contains("{%"))
                && let Some(r) = expression(s, Role::Expr)
            {
                return Some(r);
            }
        }
    }
    if regex_name(name)
        && let Some(r) = regex_bomb(s)
    {
        return Some(r);
    }
    // A JSON or expression string nested far deeper than any real document.
    let mut depth = 0i32;
    let mut max = 0i32;
    for c in s.bytes() {
        match c {
            b'[' | b'{' | b'(' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' | b')' => depth -= 1,
            _ => {}
        }
    }
    if max >= 64 {
        return Some("a string nesting brackets far too deep");
    }
    if s.contains("<!ENTITY") || s.contains("<!entity") {
        let lower = s.to_ascii_lowercase();
        if lower.contains("/dev/zero") || lower.contains("/dev/urandom") || lower.contains("/dev/random") {
            return Some("an XML entity reading an endless device");
        }
    }

    let b = s.as_bytes();
    if b.contains(&b'<') && b.contains(&b'&') {
        let lower = s.to_ascii_lowercase();
        let entities = lower.matches("<!entity").count();
        let refs = lower.matches('&').count();
        if entities >= 2 && refs >= 4 || entities >= 1 && refs >= 50 {
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
