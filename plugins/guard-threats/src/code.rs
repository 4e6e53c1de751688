//! Code and template payloads: eval-style calls, serialized-object markers,
//! server-side template expressions whose contents are more than a variable, SQL
//! tautologies, stacked destructive statements and the other shapes of SQL
//! injection. One Aho-Corasick pass over a lower-case copy finds anchors; each
//! anchor's context is then checked by hand.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};

use crate::walk::Role;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Flagged in every argument, data included.
    Exploit,
    /// An eval-style call (needs a non-identifier byte before it).
    Call,
    /// A dotted call or module use (`os.system(`): no boundary needed.
    Api,
    /// A template opener; the expression up to its closer is judged.
    Template(&'static str),
    /// `<!ENTITY … SYSTEM`: external entity.
    Entity,
    /// SQL functions used for blind/out-of-band injection.
    SqlFunction,
    /// File, process or module access: flagged where the value is evaluated
    /// (expressions, commands, code run by the tool), not in other text.
    ExprCall,
}

const ANCHORS: &[(&str, Kind)] = &[
    ("__subclasses__", Kind::Exploit),
    ("__globals__", Kind::Exploit),
    ("__builtins__", Kind::Exploit),
    ("__mro__", Kind::Exploit),
    ("__base__", Kind::Exploit),
    ("__bases__", Kind::Exploit),
    ("func_globals", Kind::Exploit),
    ("${jndi:", Kind::Exploit),
    ("${${", Kind::Exploit),
    ("${lower:", Kind::Exploit),
    ("${upper:", Kind::Exploit),
    ("${::-", Kind::Exploit),
    ("!!python/", Kind::Exploit),
    ("!python/", Kind::Exploit),
    ("tag:yaml.org,2002:python", Kind::Exploit),
    ("!ruby/object", Kind::Exploit),
    ("!ruby/hash", Kind::Exploit),
    ("!!ruby/", Kind::Exploit),
    ("!!java", Kind::Exploit),
    ("!!com.sun", Kind::Exploit),
    ("!!org.", Kind::Exploit),
    ("_$$nd_func$$_", Kind::Exploit),
    ("runtime.getruntime()", Kind::Api),
    ("java.lang.runtime", Kind::Api),
    ("java.lang.processbuilder", Kind::Api),
    ("t(java.lang", Kind::Exploit),
    ("freemarker.template.utility.execute", Kind::Exploit),
    ("objectdataprovider", Kind::Exploit),
    ("typeconfusedelegate", Kind::Exploit),
    ("com.sun.rowset.jdbcrowsetimpl", Kind::Exploit),
    ("org.apache.commons.collections.functors", Kind::Exploit),
    ("javax.script.scriptenginemanager", Kind::Exploit),
    ("constructor.constructor(", Kind::Exploit),
    ("constructor(\"return process", Kind::Exploit),
    ("constructor('return process", Kind::Exploit),
    ("process.mainmodule", Kind::Exploit),
    ("xp_cmdshell", Kind::Exploit),
    ("cos\nsystem", Kind::Exploit),
    ("cposix\nsystem", Kind::Exploit),
    ("cnt\nsystem", Kind::Exploit),
    ("c__builtin__\n", Kind::Exploit),
    ("cbuiltins\n", Kind::Exploit),
    ("csubprocess\n", Kind::Exploit),
    ("eval(", Kind::Call),
    ("exec(", Kind::Call),
    ("execfile(", Kind::Call),
    ("compile(", Kind::Call),
    ("system(", Kind::Call),
    ("popen(", Kind::Call),
    ("passthru(", Kind::Call),
    ("shell_exec(", Kind::Call),
    ("proc_open(", Kind::Call),
    ("pcntl_exec(", Kind::Call),
    ("__import__(", Kind::Call),
    ("execsync(", Kind::Call),
    ("spawnsync(", Kind::Call),
    ("getattr(", Kind::Call),
    ("<?php", Kind::Api),
    ("{php}", Kind::Exploit),
    ("qx{", Kind::ExprCall),
    ("qx(", Kind::ExprCall),
    ("qx/", Kind::ExprCall),
    ("file.open", Kind::ExprCall),
    ("ctypes.", Kind::ExprCall),
    (".system(", Kind::ExprCall),
    (".popen(", Kind::ExprCall),
    (".spawn(", Kind::ExprCall),
    ("dir.entries", Kind::ExprCall),
    ("file.new", Kind::ExprCall),
    ("<?=", Kind::Api),
    ("function(\"return", Kind::Api),
    ("function('return", Kind::Api),
    ("new function(", Kind::Api),
    ("settimeout(\"", Kind::Api),
    ("settimeout('", Kind::Api),
    ("setinterval(\"", Kind::Api),
    ("setinterval('", Kind::Api),
    ("os.system", Kind::Api),
    ("os.popen", Kind::Api),
    ("os.exec", Kind::Api),
    ("subprocess.", Kind::Api),
    ("pty.spawn", Kind::Api),
    ("child_process", Kind::Api),
    ("vm.runin", Kind::Api),
    ("importlib.import_module", Kind::Api),
    ("pickle.loads", Kind::Api),
    ("yaml.unsafe_load", Kind::Api),
    ("marshal.loads", Kind::Api),
    ("processbuilder(", Kind::Api),
    ("class.forname(", Kind::Api),
    ("{{", Kind::Template("}}")),
    ("${", Kind::Template("}")),
    ("#{", Kind::Template("}")),
    ("*{", Kind::Template("}")),
    ("<%", Kind::Template("%>")),
    ("{%", Kind::Template("%}")),
    ("#set(", Kind::Template(")")),
    ("<#assign", Kind::Template(">")),
    ("@(", Kind::Template(")")),
    ("<!entity", Kind::Entity),
    ("sleep(", Kind::SqlFunction),
    ("pg_sleep(", Kind::SqlFunction),
    ("waitfor delay", Kind::SqlFunction),
    ("benchmark(", Kind::SqlFunction),
    ("load_file(", Kind::SqlFunction),
    ("into outfile", Kind::SqlFunction),
    ("into dumpfile", Kind::SqlFunction),
    ("dbms_pipe.receive_message", Kind::SqlFunction),
    ("utl_http.request", Kind::SqlFunction),
    ("utl_inaddr", Kind::SqlFunction),
    ("extractvalue(", Kind::SqlFunction),
    ("updatexml(", Kind::SqlFunction),
    ("from program", Kind::SqlFunction),
    ("pg_read_file(", Kind::SqlFunction),
    ("pg_ls_dir(", Kind::SqlFunction),
    ("lo_import(", Kind::SqlFunction),
    ("lo_export(", Kind::SqlFunction),
    ("sys_exec(", Kind::SqlFunction),
    ("sys_eval(", Kind::SqlFunction),
    (" soname ", Kind::SqlFunction),
    ("pg_shadow", Kind::SqlFunction),
    ("mysql.user", Kind::SqlFunction),
    ("load data infile", Kind::SqlFunction),
    ("load data local infile", Kind::SqlFunction),
    ("sp_oacreate", Kind::SqlFunction),
    ("openrowset(", Kind::SqlFunction),
    ("to program", Kind::SqlFunction),
    ("\\u005f\\u005f", Kind::Exploit),
    ("\\x5f\\x5f", Kind::Exploit),
    ("system.diagnostics.process", Kind::Exploit),
    ("open(", Kind::ExprCall),
    ("sys.modules", Kind::ExprCall),
    ("process.binding", Kind::ExprCall),
    ("process.env", Kind::ExprCall),
    ("reflect.construct", Kind::ExprCall),
    ("deno.run", Kind::ExprCall),
    ("deno.command", Kind::ExprCall),
    ("kernel.exec", Kind::ExprCall),
    ("kernel.system", Kind::ExprCall),
    ("io.popen", Kind::ExprCall),
    ("assert(", Kind::ExprCall),
    ("call_user_func", Kind::ExprCall),
    ("create_function", Kind::ExprCall),
    ("process.start", Kind::ExprCall),
    ("require(", Kind::ExprCall),
    ("writefilesync", Kind::ExprCall),
    ("readfilesync", Kind::ExprCall),
    ("shutil.rmtree", Kind::ExprCall),
    ("socket.socket", Kind::ExprCall),
    ("import os", Kind::ExprCall),
    ("import subprocess", Kind::ExprCall),
    ("import socket", Kind::ExprCall),
    ("import pty", Kind::ExprCall),
    ("%x(", Kind::ExprCall),
    (".fork(", Kind::ExprCall),
    ("dup2(", Kind::ExprCall),
    ("os.remove", Kind::ExprCall),
    ("os.unlink", Kind::ExprCall),
    ("file.read", Kind::ExprCall),
    ("file_get_contents", Kind::ExprCall),
    ("file_put_contents", Kind::ExprCall),
];

fn automaton() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(ANCHORS.iter().map(|(p, _)| *p))
            .unwrap_or_else(|_| AhoCorasick::new([""; 0]).unwrap_or_else(|_| unreachable!()))
    })
}

/// Names inside a template expression that reach objects, code or the process.
const DANGEROUS_IN_TEMPLATE: &[&str] = &[
    "__",
    ".class",
    "getclass",
    "forname",
    "runtime",
    "processbuilder",
    "popen",
    "os.",
    "system(",
    "exec(",
    "eval(",
    "import",
    "getattr",
    "lipsum",
    "cycler",
    "joiner",
    "templatereference",
    "t(java",
    "new(",
    "|attr",
    "?new",
    "execute",
    "spawn",
    "child_process",
    "require(",
    "io.popen",
    "file.read",
    "%x(",
    "`",
    "jndi:",
    "_self",
    "\\x5f",
    "\\u005f",
    "'system'",
    "\"system\"",
    "'exec'",
    "\"exec\"",
    "'passthru'",
    "'shell_exec'",
    "range(",
    "registerundefined",
    "file.open",
    "file.new",
    "dir.entries",
    "dir.glob",
    "dir[",
    "kernel.",
    "open3",
    "const_get",
    ".send(",
    "io.read",
    "file.readlines",
    "file.write",
];
/// Names dangerous in a template outside data (real templates use them).
const SUSPECT_IN_TEMPLATE: &[&str] =
    &["config", "self.", "self[", "request.", "request[", "settings.", "application.", "namespace", "env.", "environ"];

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `7*7`, `7*'7'`, `1337+1`: an arithmetic probe.
fn arithmetic(inner: &[u8]) -> bool {
    let digits = |i: usize| i < inner.len() && inner[i].is_ascii_digit();
    for i in 0..inner.len() {
        if matches!(inner[i], b'*' | b'+' | b'-' | b'/' | b'%') {
            let mut l = i;
            while l > 0 && matches!(inner[l - 1], b' ' | b'\'' | b'"') {
                l -= 1;
            }
            let mut r = i + 1;
            while r < inner.len() && matches!(inner[r], b' ' | b'\'' | b'"') {
                r += 1;
            }
            if l > 0 && inner[l - 1].is_ascii_digit() && digits(r) {
                return true;
            }
        }
    }
    false
}

fn template(lower: &str, start: usize, opener: &str, closer: &str, role: Role) -> Option<&'static str> {
    let body = &lower[start + opener.len()..];
    let window = crate::output::window(body, 0, 512);
    let end = window.find(closer);
    let inner = match end {
        Some(e) => &window[..e],
        None if closer == "}}" || closer == "%>" || closer == "%}" => window,
        None => return None,
    };
    if inner.trim().is_empty() {
        return None;
    }
    let ib = inner.as_bytes();
    if opener == "${" && role == Role::Exec {
        return None; // shell parameter expansion
    }
    if DANGEROUS_IN_TEMPLATE.iter().any(|d| inner.contains(d))
        && (opener != "#set(" || inner.contains("class") || inner.contains("runtime"))
    {
        return Some("a server-side template expression reaching objects or code");
    }
    if opener == "#set(" || opener == "<#assign" {
        return None;
    }
    let probe = arithmetic(ib) && end.is_some() && !inner.contains(',');
    let pure = inner.bytes().all(|c| c.is_ascii_digit() || b" *+-/%'\"()".contains(&c));
    if probe && (opener != "@(" || pure) {
        return Some("a server-side template expression (arithmetic probe)");
    }
    if opener == "{%" && matches!(inner.trim(), "debug" | "load" | "csrf_token debug") {
        return Some("a template tag that dumps the template context");
    }
    if matches!(role, Role::Data | Role::Sql) {
        return None;
    }
    if SUSPECT_IN_TEMPLATE.iter().any(|d| inner.contains(d)) {
        return Some("a server-side template expression reaching the template context");
    }
    if role == Role::Expr {
        return None;
    }
    if opener != "@(" && opener != "${" && inner.contains('(') && end.is_some() {
        return Some("a server-side template expression with a call");
    }
    None
}

/// Why `s`, used as `role`, carries a code, template, serialization or SQL payload.
pub(crate) fn check(s: &str, role: Role) -> Option<&'static str> {
    if let Some(r) = serialized(s) {
        return Some(r);
    }
    if let Some(r) = formula(s) {
        return Some(r);
    }
    // A polyglot probe: several template syntaxes in one short value (`${{<%[%'"}}%\.`).
    if s.len() <= 64 {
        let openers = ["{{", "${", "<%", "#{", "{%", "*{", "[%"].iter().filter(|o| s.contains(*o)).count();
        if openers >= 3 {
            return Some("a template-injection polyglot probe");
        }
    }
    if role == Role::Expr && s.matches('`').count() >= 2 {
        return Some("a backtick shell call in an expression");
    }
    if !matches!(role, Role::Data | Role::Sql)
        && let Some(r) = ldap(s)
    {
        return Some(r);
    }
    if !matches!(role, Role::Data | Role::Sql) {
        // Percent-encoded and full-width forms of quotes and operators.
        let folded: String = s
            .chars()
            .map(|c| match c as u32 {
                0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
                0x2018 | 0x2019 | 0x02BC => '\'',
                _ => c,
            })
            .collect();
        let decoded = crate::decode::percent_rounds(&folded, 3);
        if decoded != s {
            let lower = decoded.to_ascii_lowercase();
            if let Some(r) = sql(&lower, role) {
                return Some(r);
            }
        }
    }
    let lower = s.to_ascii_lowercase();
    let lb = lower.as_bytes();
    let data = matches!(role, Role::Data | Role::Sql);
    let mut hits = 0;
    for m in automaton().find_overlapping_iter(&lower) {
        hits += 1;
        if hits > 4096 {
            break;
        }
        let (pat, kind) = ANCHORS[m.pattern().as_usize()];
        let before = m.start().checked_sub(1).map(|i| lb[i]);
        let found = match kind {
            Kind::Exploit => match pat {
                // `__base__` alone appears in ordinary Python; as a chain it does not.
                "__base__" | "__bases__" => lower[m.end()..]
                    .trim_start()
                    .starts_with(['.', '['])
                    .then_some("a Python object-graph escape (dunder chain)"),
                p if p.starts_with("${") => Some("a Log4Shell-style lookup (${jndi:…})"),
                p if p.starts_with('!') || p.starts_with("tag:") => {
                    // Not when the tag is only mentioned in a comment (`# !!python/… is unsafe`).
                    let line = &lower[lower[..m.start()].rfind('\n').map_or(0, |i| i + 1)..m.start()];
                    let commented = line.contains('#') || line.contains("//");
                    (!commented).then_some("a YAML tag that builds objects (deserialization)")
                }
                p if p.starts_with('c') && p.contains('\n') => Some("a pickle opcode stream (deserialization)"),
                "xp_cmdshell" => Some("an SQL Server xp_cmdshell call"),
                "_$$nd_func$$_" => Some("a node-serialize function marker (deserialization)"),
                p if p.contains("__") || p == "func_globals" => Some("a Python object-graph escape (dunder chain)"),
                _ => Some("a code-execution gadget (runtime / deserialization)"),
            },
            Kind::Call if !data => {
                let bounded = before.is_none_or(|b| !is_ident(b) && b != b'.' && b != b'$' && b != b'>');
                let module = lower[m.end()..].trim_start_matches(['\'', '"', ' ']);
                let exploit = pat == "__import__("
                    && ["os", "subprocess", "pty", "socket", "sys", "builtins", "commands", "posix"]
                        .iter()
                        .any(|m| module.starts_with(m));
                (bounded || exploit).then_some("an eval-style code execution call")
            }
            Kind::Call => {
                let module = lower[m.end()..].trim_start_matches(['\'', '"', ' ']);
                let exploit = pat == "__import__("
                    && ["os'", "os\"", "subprocess", "pty", "socket"].iter().any(|m| module.starts_with(m));
                exploit.then_some("a Python __import__ of a process/network module")
            }
            Kind::Api if !data => Some("an eval-style code execution call"),
            Kind::Api => None,
            Kind::Template(closer) => template(&lower, m.start(), pat, closer, role),
            Kind::Entity => {
                let rest = crate::output::window(&lower, m.end(), m.end() + 300);
                if rest.contains("system") || rest.contains("public") {
                    Some("an XML external entity (XXE)")
                } else {
                    None
                }
            }
            Kind::SqlFunction if role != Role::Data => {
                let bounded = before.is_none_or(|b| !is_ident(b) && b != b'.');
                let arg_ok = !pat.ends_with("sleep(")
                    || lower[m.end()..].trim_start().starts_with(|c: char| c.is_ascii_digit() || c == '(');
                (bounded && arg_ok && sqlish(&lower, m.start(), role))
                    .then_some("an SQL injection function (time-based or out-of-band)")
            }
            Kind::SqlFunction => None,
            Kind::ExprCall => {
                let bounded =
                    !pat.ends_with('(') || pat.contains('.') || before.is_none_or(|b| !is_ident(b) && b != b'.');
                (bounded && matches!(role, Role::Expr | Role::Exec))
                    .then_some("a call reaching files, processes or modules")
            }
        };
        if found.is_some() {
            return found;
        }
    }
    sql(&lower, role)
}

/// Whether an SQL function at `at` is in SQL context: in an SQL argument, or after
/// a quote/keyword that breaks out of one.
fn sqlish(lower: &str, at: usize, role: Role) -> bool {
    if role == Role::Sql {
        return true;
    }
    let strong = [
        "into outfile",
        "into dumpfile",
        "load_file(",
        "xp_",
        "pg_read_file(",
        "to program",
        "from program",
        "utl_http",
        "dbms_pipe",
        "waitfor delay",
        "pg_sleep(",
    ];
    if strong.iter().any(|k| lower[at..].starts_with(k)) {
        return true;
    }
    let head = &lower[..at];
    let window = crate::output::window(head, head.len().saturating_sub(48), head.len());
    ["'", "\"", " and ", " or ", "select ", ";", "||", " if(", "(select", "union"].iter().any(|k| window.contains(k))
        || at == 0
}

/// LDAP filter injection: `*)(uid=*))(|(uid=*`, `admin)(&(password=*)`.
fn ldap(s: &str) -> Option<&'static str> {
    if !s.contains(")(") {
        return None;
    }
    let injected = s.contains(")(|") || s.contains(")(&") || s.contains("=*)") || s.contains(")(!");
    injected.then_some("an LDAP filter injection")
}

/// A MongoDB-style operator key: `$where`/`$function` run code anywhere; comparison
/// operators where a plain value (a user name, a password) was expected bypass it.
pub(crate) fn operator(op: &str, pointer: &str) -> Option<&'static str> {
    let op = op.to_ascii_lowercase();
    if matches!(op.as_str(), "$where" | "$function" | "$accumulator") {
        return Some("a NoSQL operator that runs JavaScript");
    }
    let comparison = matches!(
        op.as_str(),
        "$ne"
            | "$gt"
            | "$gte"
            | "$lt"
            | "$lte"
            | "$regex"
            | "$nin"
            | "$exists"
            | "$not"
            | "$in"
            | "$or"
            | "$nor"
            | "$expr"
    );
    if !comparison {
        return None;
    }
    // Inside a query the caller writes (`filter`, `query`, `match`, `pipeline`, ...) operators are normal.
    let query_like = pointer.split('/').any(|seg| {
        crate::walk::words(seg).iter().any(|w| {
            matches!(
                w.as_str(),
                "filter"
                    | "query"
                    | "match"
                    | "pipeline"
                    | "selector"
                    | "criteria"
                    | "where"
                    | "find"
                    | "conditions"
                    | "condition"
                    | "predicate"
                    | "update"
                    | "aggregate"
                    | "sort"
                    | "projection"
            )
        })
    });
    (!query_like).then_some("a NoSQL query operator where a plain value was expected")
}

/// A spreadsheet cell that runs a program when opened: `=cmd|' /C calc'!A0`.
pub(crate) fn formula(s: &str) -> Option<&'static str> {
    let t = s.trim_start();
    if !t.starts_with(['=', '+', '-', '@']) {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    let fetching = [
        "hyperlink(",
        "webservice(",
        "importxml(",
        "importdata(",
        "importhtml(",
        "importfeed(",
        "image(",
        "importrange(",
    ];
    if fetching.iter().any(|f| lower[1..].trim_start().starts_with(f)) && lower.contains("http") && t.contains('&') {
        return Some("a spreadsheet formula sending cell data to a URL (CSV injection)");
    }
    if !t.contains('|') {
        return None;
    }
    let dde =
        ["cmd", "powershell", "mshta", "msexcel", "rundll32", "regsvr32", "certutil", "wscript", "cscript", "dde"]
            .iter()
            .any(|p| lower.contains(p));
    if dde && (t.contains('!') || lower.contains("dde")) {
        return Some("a spreadsheet DDE formula (CSV injection)");
    }
    None
}

/// Serialized-object blobs recognised by their magic (case-sensitive).
fn serialized(s: &str) -> Option<&'static str> {
    if s.contains("rO0AB") || s.contains("aced0005") || s.contains("ACED0005") {
        return Some("a serialized Java object");
    }
    if s.contains("AAEAAAD/////") {
        return Some("a serialized .NET BinaryFormatter object");
    }
    if let Some(r) = encoded_pickle(s) {
        return Some(r);
    }
    let t = s.trim_start();
    if t.starts_with("gASV")
        || t.starts_with("gAJj")
        || t.starts_with("gANj")
        || t.starts_with("gAR") && t.len() > 16 && !t.contains(' ')
    {
        return Some("a base64 pickle (deserialization)");
    }
    if let Some(p) = s.find('\u{80}')
        && s[p + 2..].starts_with(['\u{2}', '\u{3}', '\u{4}', '\u{5}'])
    {
        return Some("a pickle opcode stream (deserialization)");
    }
    // PHP `O:8:"stdClass":1:{…}` / `C:…`.
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(p) = b[i..].iter().position(|&c| c == b':') {
        let at = i + p;
        i = at + 1;
        if at == 0 || !matches!(b[at - 1], b'O' | b'C') || at >= 2 && is_ident(b[at - 2]) {
            continue;
        }
        let digits = b[at + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 && b.get(at + 1 + digits) == Some(&b':') && b.get(at + 2 + digits) == Some(&b'"') {
            let rest = crate::output::window(s, at, at + 200);
            if rest.contains(":{") {
                return Some("a serialized PHP object");
            }
        }
    }
    if (s.contains("\"$type\"") && s.contains("System."))
        || (s.contains("\"@type\"") && (s.contains("com.") || s.contains("java.") || s.contains("org.")))
    {
        return Some("a polymorphic JSON type gadget (deserialization)");
    }
    None
}

fn b64_value(c: u8) -> Option<u8> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    })
}

/// The first bytes of `s` decoded as hex or base64, when all of `s` is one of them.
pub(crate) fn decode_prefix(s: &str) -> Option<Vec<u8>> {
    let t = s.trim();
    if t.len() < 16 || t.contains(char::is_whitespace) {
        return None;
    }
    let head = &t.as_bytes()[..t.len().min(512)];
    if t.len().is_multiple_of(2) && t.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Some(
            head.chunks(2).filter_map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok()).collect(),
        );
    }
    let body = t.trim_end_matches('=');
    if !body.bytes().all(|c| b64_value(c).is_some()) {
        return None;
    }
    let mut out = Vec::new();
    for chunk in head.chunks(4) {
        let v: Vec<u8> = chunk.iter().filter_map(|&c| b64_value(c)).collect();
        if v.len() < 2 {
            break;
        }
        out.push(v[0] << 2 | v[1] >> 4);
        if v.len() > 2 {
            out.push(v[1] << 4 | v[2] >> 2);
        }
        if v.len() > 3 {
            out.push(v[2] << 6 | v[3]);
        }
    }
    Some(out)
}

/// A pickle written as hex or base64: protocol 2+ header or protocol 0 `c<module>\n`.
fn encoded_pickle(s: &str) -> Option<&'static str> {
    let b = decode_prefix(s)?;
    let header = b.len() > 2 && b[0] == 0x80 && (2..=5).contains(&b[1]);
    let text = String::from_utf8_lossy(&b[..b.len().min(64)]).to_ascii_lowercase();
    let globals = ["cos\n", "cposix\n", "cnt\n", "c__builtin__\n", "cbuiltins\n", "csubprocess\n"];
    (header || globals.iter().any(|g| text.starts_with(g))).then_some("an encoded pickle (deserialization)")
}

/// A comparison that is always true after `or`: `1=1`, `'a'='a'`, `''='`, `2>1`, `true`.
fn tautology(after: &[u8]) -> bool {
    let mut i = 0;
    let skip = |i: &mut usize| {
        while *i < after.len() && (after[*i].is_ascii_whitespace() || after[*i] == b'(') {
            *i += 1;
        }
        if after[*i..].starts_with(b"/*")
            && let Some(e) = after[*i..].windows(2).position(|w| w == b"*/")
        {
            *i += e + 2;
            while *i < after.len() && after[*i].is_ascii_whitespace() {
                *i += 1;
            }
        }
    };
    #[derive(PartialEq)]
    enum Operand {
        Num(f64),
        Str(Vec<u8>),
        Ident(Vec<u8>),
    }
    let operand = |i: &mut usize| -> Option<Operand> {
        let c = *after.get(*i)?;
        if c == b'\'' || c == b'"' {
            let start = *i + 1;
            let end = after[start..].iter().position(|&x| x == c).map_or(after.len(), |p| start + p);
            *i = (end + 1).min(after.len());
            return Some(Operand::Str(after[start..end].to_vec()));
        }
        let start = *i;
        while *i < after.len() && (is_ident(after[*i]) || after[*i] == b'.') {
            *i += 1;
        }
        let tok = &after[start..*i];
        if tok.is_empty() {
            return None;
        }
        let text = std::str::from_utf8(tok).ok()?;
        if let Ok(n) = text.parse::<f64>() {
            return Some(Operand::Num(n));
        }
        Some(Operand::Ident(tok.to_vec()))
    };
    skip(&mut i);
    let Some(a) = operand(&mut i) else { return false };
    let save = i;
    skip(&mut i);
    let ops: [&[u8]; 9] = [b"==", b"<>", b"!=", b">=", b"<=", b"=", b">", b"<", b"like"];
    let Some(op) = ops.iter().find(|o| after[i..].starts_with(o)) else {
        // `or true`, `or 1` followed by the end, a comment or a closing quote.
        let rest: Vec<u8> = after[save..].iter().copied().skip_while(|c| c.is_ascii_whitespace()).take(2).collect();
        let terminal = rest.is_empty()
            || rest.starts_with(b"--")
            || rest.starts_with(b"#")
            || rest.starts_with(b"/*")
            || rest.starts_with(b";")
            || rest.starts_with(b")");
        return terminal && matches!(&a, Operand::Num(n) if *n != 0.0)
            || matches!(&a, Operand::Ident(t) if t == b"true");
    };
    i += op.len();
    skip(&mut i);
    let Some(b) = operand(&mut i) else { return false };
    match (&a, &b) {
        (Operand::Num(x), Operand::Num(y)) => match *op {
            b"=" | b"==" | b"like" => x == y,
            b"<>" | b"!=" => x != y,
            b">" => x > y,
            b"<" => x < y,
            b">=" => x >= y,
            b"<=" => x <= y,
            _ => false,
        },
        (Operand::Str(x), Operand::Str(y)) => match *op {
            b"=" | b"==" | b"like" | b">=" | b"<=" => x == y,
            b"<>" | b"!=" => x != y,
            _ => false,
        },
        (Operand::Ident(x), Operand::Ident(y)) => x == y && matches!(*op, b"=" | b"==" | b"like"),
        _ => false,
    }
}

const DESTRUCTIVE: &[(&str, &[&str])] = &[
    ("drop", &["table", "database", "schema", "user", "view", "index", "procedure", "function", "login", "role"]),
    ("delete", &["from"]),
    ("truncate", &[]),
    ("alter", &["table", "user", "database", "role", "login"]),
    ("grant", &[]),
    ("revoke", &[]),
    ("shutdown", &[]),
    ("exec", &["xp_", "sp_", "master"]),
    ("execute", &["xp_", "sp_", "master", "immediate"]),
    ("insert", &["into"]),
    ("update", &[]),
    ("create", &["user", "login", "role", "trigger", "function"]),
    ("rename", &["table"]),
];

fn next_word(b: &[u8], mut i: usize) -> (&[u8], usize) {
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b[i..].starts_with(b"/*")
            && let Some(e) = b[i..].windows(2).position(|w| w == b"*/")
        {
            i += e + 2;
            continue;
        }
        break;
    }
    let start = i;
    while i < b.len() && (is_ident(b[i]) || b[i] == b'.') {
        i += 1;
    }
    (&b[start..i], i)
}

/// SQL injection shapes in `lower`.
fn sql(lower: &str, role: Role) -> Option<&'static str> {
    let b = lower.as_bytes();
    let quoted_only = role == Role::Data;
    // Code under review quotes injection strings in tests and docs: in data, only a
    // short single-line value (a form field) is judged.
    if quoted_only {
        return None;
    }
    // Tautologies after `or` / `||`.
    let mut from = 0;
    let mut seen = 0;
    while let Some(p) = lower[from..].find("or") {
        let at = from + p;
        from = at + 2;
        seen += 1;
        if seen > 2048 {
            break;
        }
        let left_ok = at == 0 || !is_ident(b[at - 1]);
        let right_ok = b.get(at + 2).is_none_or(|&c| !is_ident(c));
        if !left_ok || !right_ok {
            continue;
        }
        let before = lower[..at].trim_end();
        let quote_before = before.ends_with(['\'', '"', ')']) || before.ends_with("*/");
        if quoted_only && !before.ends_with(['\'', '"']) {
            continue;
        }
        if tautology(&b[at + 2..b.len().min(at + 200)])
            && (quote_before
                || role != Role::Neutral
                || before.is_empty()
                || before.ends_with(|c: char| c.is_ascii_digit()))
        {
            return Some("an SQL tautology (`OR 1=1`)");
        }
    }
    // JavaScript-style `|| '1'=='1'`.
    for (at, _) in lower.match_indices("||").take(256) {
        let before = lower[..at].trim_end();
        if before.ends_with(['\'', '"']) && tautology(&b[at + 2..b.len().min(at + 200)]) {
            return Some("an SQL/NoSQL tautology (`|| '1'=='1'`)");
        }
    }
    // An SQL argument whose statement destroys data: `DROP TABLE …`, `TRUNCATE …`,
    // `DELETE FROM t` without a WHERE.
    if role == Role::Sql {
        let (w, end) = next_word(b, 0);
        let (w2, _) = next_word(b, end);
        let destroys = matches!(w, b"drop" | b"truncate") && !w2.is_empty() && !matches!(w2, b"index" | b"view")
            || w == b"delete" && !lower.contains(" where ");
        if destroys {
            return Some("a destructive SQL statement");
        }
    }
    // Stacked destructive statements after `;`.
    let mut from = 0;
    let mut seen = 0;
    while let Some(p) = lower[from..].find(';') {
        let at = from + p;
        from = at + 1;
        seen += 1;
        if seen > 2048 {
            break;
        }
        let (w, end) = next_word(b, at + 1);
        let Some((_, objects)) = DESTRUCTIVE.iter().find(|(k, _)| k.as_bytes() == w) else { continue };
        let (w2, _) = next_word(b, end);
        let ok = if objects.is_empty() {
            !w2.is_empty() || matches!(w, b"shutdown")
        } else {
            objects.iter().any(|o| w2.starts_with(o.as_bytes()))
        };
        if ok && (!quoted_only || lower[..at].trim_end().ends_with(['\'', '"', ')'])) {
            if w == b"update" && !crate::output::window(lower, end, end + 200).contains(" set ") {
                continue;
            }
            return Some("a stacked destructive SQL statement");
        }
    }
    if matches!(role, Role::Data | Role::Sql) {
        return None;
    }
    // A subquery where a plain value belongs: `'||(SELECT …)||'`, `1 AND 1=CONVERT(int,(SELECT …))`.
    if let Some(p) = lower.find("(select ") {
        let head = &lower[..p];
        if head.contains(['\'', '"'])
            || head.contains(" and ")
            || head.contains(" or ")
            || head.contains("||")
            || head.contains('=')
        {
            return Some("a subquery injected into a value");
        }
    }
    // `union [all] select`.
    let mut from = 0;
    while let Some(p) = lower[from..].find("union") {
        let at = from + p;
        from = at + 5;
        if at > 0 && is_ident(b[at - 1]) {
            continue;
        }
        let (mut w, mut end) = next_word(b, at + 5);
        if w == b"all" || w == b"distinct" {
            (w, end) = next_word(b, end);
        }
        let _ = end;
        if w == b"select" {
            return Some("a UNION SELECT injection");
        }
    }
    // A quote, SQL after it, and the rest commented out: `1' ORDER BY 3-- -`.
    let trimmed = lower.trim_end();
    let commented = trimmed.ends_with("--")
        || trimmed.ends_with("-- -")
        || trimmed.ends_with("--+")
        || trimmed.ends_with('#')
        || trimmed.ends_with("/*");
    if commented && let Some(q) = lower.find(['\'', '"']) {
        let between = &lower[q..];
        let keywords = [
            " and ", " or ", "order by", "group by", "having", "select", "union", "insert", "update", "delete", "drop",
            "exec", "sleep", "waitfor",
        ];
        if keywords.iter().any(|k| between.contains(k)) {
            return Some("a quote breaking out of an SQL string, with the rest commented out");
        }
    }
    // A quote closed and the rest commented out: `admin'--`, `1' #`.
    let mut from = 0;
    while let Some(p) = lower[from..].find(['\'', '"']) {
        let at = from + p;
        from = at + 1;
        let rest = lower[at + 1..].trim_start_matches(')').trim_start();
        if rest.starts_with("--") && rest[2..].chars().next().is_none_or(|c| c.is_whitespace() || c == '-')
            || rest.starts_with('#') && rest[1..].len() < 64 && rest[1..].trim().is_empty()
            || rest.starts_with("/*")
        {
            return Some("a quote followed by an SQL comment");
        }
        if rest.starts_with(';') && !rest[1..].trim_start().is_empty() && next_word(rest.as_bytes(), 1).0 == b"select" {
            return Some("a stacked SQL statement");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tautologies() {
        assert!(tautology(b" 1=1--"));
        assert!(tautology(b" '1'='1"));
        assert!(tautology(b" ''='"));
        assert!(tautology(b" 2>1"));
        assert!(tautology(b" true--"));
        assert!(!tautology(b" 1=2"));
        assert!(!tautology(b" worse"));
    }

    #[test]
    fn templates_and_sql() {
        assert!(check("{{7*7}}", Role::Neutral).is_some());
        assert!(check("{{ user.name }}", Role::Neutral).is_none());
        assert!(check("Hello {{ name }}", Role::Expr).is_none());
        assert!(check("SELECT * FROM users WHERE id = 5", Role::Sql).is_none());
        assert!(check("SELECT * FROM t; DROP TABLE users", Role::Sql).is_some());
        assert!(check("admin' OR '1'='1", Role::Neutral).is_some());
        assert!(check("it's this or that", Role::Neutral).is_none());
    }
}
