//! `guard-threats`: attacks carried in tool-call arguments, and tool results that
//! instruct the agent to run commands or fetch internal URLs.
//!
//! Tools run with the upstream server's privileges, so the most damaging attacks
//! arrive as arguments. Every string (nested JSON included), number and array of
//! the arguments is checked; a finding names the argument path
//! (`arguments.items[3].url`) and the reason, never the value.
//!
//! # Detectors (input stage)
//!
//! | detector             | what it finds |
//! |----------------------|---------------|
//! | `threats.command`    | shell operators found by a quote-aware scan (`;`, `&&`, `\|\|`, `\|`, `&`, newlines, backticks, `$( )`, `<( )`, `>( )`, redirections; also percent-encoded) followed by a command word (also obfuscated: `/???/??t`, `$a$b`, `{cat,…}`, ANSI-C `$'\x..'`); `$IFS` tricks; options that run commands (`-oProxyCommand=`, `--upload-pack=`, `--checkpoint-action=`); dangerous commands in themselves: reverse shells, download-and-run, privilege escalation, persistence, exfiltration, shell escapes, destructive commands |
//! | `threats.path`       | `..` traversal (also percent-encoded in up to three rounds, `%c0%af` overlong UTF-8, `%u002e`, backslashes, `....//`, `..;/`), `..` inside absolute paths, well-known secrets locations (SSH keys, cloud credentials, `/etc/shadow`, `.env`, shell histories, ...), `/proc/self` and device paths, UNC paths, NUL bytes, absolute paths outside `allowed_roots` |
//! | `threats.ssrf`       | URLs and hosts whose form reaches loopback, private, link-local, shared, multicast or cloud-metadata ranges (inet_aton forms `2130706433`, `0x7f.1`, `017700000001`, `127.1`; IPv6 incl. `[::ffff:127.0.0.1]`, NAT64, 6to4, `fd00::/8`, `fe80::/10`), localhost and internal names (`*.localhost`, `*.internal`, `metadata.google.internal`, single-label hosts), wildcard-DNS names embedding such addresses (`10.0.0.1.nip.io`, `127-0-0-1.sslip.io`), full-width and percent-encoded hosts, userinfo tricks (`http://a@127.0.0.1`), and `file:`, `gopher:`, `dict:`, `ldap:`, `jar:`, PHP-wrapper schemes |
//! | `threats.code`       | eval-style calls (`eval(`, `os.system`, `child_process`, `__import__('os')`) and file/process access in evaluated arguments, Python dunder escapes (also `\x5f`-escaped), serialized objects (pickle raw, hex or base64; YAML `!!python/object`; Java `rO0AB`; .NET BinaryFormatter; PHP `O:8:"…"`; `$type`/`@type` gadgets), Log4Shell lookups, XXE, template expressions (`{{ }}`, `${ }`, `#{ }`, `<%= %>`, `{% %}`, `@( )`, Smarty, Velocity, Freemarker) whose contents compute or reach objects, SQL tautologies (also `/**/`-spaced, percent-encoded, full-width), stacked destructive statements, `UNION SELECT`, injected subqueries, quote-then-comment, time-based, file and command SQL functions, NoSQL operators where a plain value belongs (`{"$ne": null}`, `$where`), LDAP filter injection, spreadsheet DDE/exfiltrating formulas |
//! | `threats.exhaustion` | numbers in count/limit/size/depth/timeout/retry arguments over the limits (unit-aware: `timeout_ms`, `size_mb`; numeric strings such as `"10GB"`, `"100000x100000"`), negative values there, astronomically large values anywhere, strings longer than `limits.string_bytes`, arrays longer than `limits.array_items`, nesting deeper than `limits.nesting` (also inside a string), catastrophic regexes (nested quantifiers, overlapping alternatives, huge counted repeats) in regex arguments, XML/YAML expansion bombs, fork bombs, endless loops, huge sleeps/allocations/writes and stress tools in commands, huge powers and allocations in expressions, unbounded recursive queries, cartesian joins and huge numbers in SQL |
//!
//! **Argument names weight the detectors.** How the upstream uses a value is read
//! from its argument's name (the nearest object key; for generic names such as
//! `input`, the tool's name):
//! - *executed* (`command`, `cmd`, `script`, `args`; argument vectors are also
//!   checked joined): running commands is the tool's job, so ordinary pipelines and
//!   chains pass; a chained risky command (shells, `nc`, `rm`, `sudo`, `whoami`, ...),
//!   a substituted download, a redirection to a sensitive place, or a dangerous
//!   command in itself (reverse shells, download-and-run, privilege escalation,
//!   persistence, exfiltration, shell escapes, obfuscation, destructive commands) is
//!   flagged;
//! - *resolved* (`path`, `filename`, `url`, `host`, ...): any operator followed by a
//!   word, option flags (`-oProxyCommand=…`, `--upload-pack=…`), any traversal;
//! - *SQL* (`query`, `sql`, `where`): tautologies, stacked destructive statements,
//!   file/command functions;
//! - *expressions* (`expression`, `template`, `predicate`, `condition`, and code for a
//!   tool that runs it, e.g. `code` of `run_python`): eval-style calls, file/process
//!   access, template probes, unbounded loops and allocations;
//! - *data* (`code`, `diff`, `content`, `text`, `message`, ...): high-confidence
//!   patterns only (reverse shells, deserialization, dunder escapes outside comments,
//!   template probes, Markdown images of internal URLs, quoted SQL tautologies in short
//!   single-line values), so code under review and docs pass;
//! - *other* names: a command word with a shell-looking argument after an operator,
//!   options that run commands, fetchable URLs anywhere, path-like values.
//!
//! `allowed_roots` applies to absolute paths unless the tool or argument is about a
//! remote or container path (`http_request`, `docker_run`, `container_path`, `xpath`).
//!
//! # Output stage
//!
//! Strings of a tool result are flagged as `threats.command` when they instruct to
//! run a command: "run/execute/exécutez/ejecuta … `cmd`" (also after a colon, in a
//! fenced block, or directly after the verb) when the command is risky or the text is
//! addressed to the agent or asks for secrecy; a tool call spelled out for the agent
//! (`command="…"`) with a dangerous command; base64 that decodes to one; reverse
//! shells and encoded PowerShell; a download piped into a shell next to a run verb
//! when it comes over plain HTTP, from an address or an internal host (installers
//! from named HTTPS hosts in docs pass); spreadsheet DDE cells. As `threats.ssrf`
//! when they ask to fetch a metadata, loopback, private or internal URL (a fetch verb
//! shortly before it on the same line, not a "listening on" description; a Markdown
//! image, which renders by fetching; a cloud-metadata credentials path always).
//!
//! # Config (all optional; `{}` gives the defaults)
//!
//! ```json
//! {
//!   "detectors": { "command": "block", "path": "block", "ssrf": "block",
//!                  "code": "block", "exhaustion": "block" },
//!   "output": { "command": "block", "ssrf": "block" },
//!   "allowed_roots": ["/srv/data"],
//!   "allowed_hosts": ["*.corp.example.com", "10.1.0.0/16"],
//!   "deny_other_hosts": false,
//!   "limits": { "count": 10000, "bytes": 104857600, "depth": 64, "timeout_seconds": 3600,
//!               "retries": 20, "string_bytes": 1048576, "array_items": 10000, "nesting": 32,
//!               "arguments": { "page_size": 100, "max_*": 500 } },
//!   "rules": [ { "servers": ["fs*"], "tools": ["read_*"], "allowed_roots": ["/srv/data"],
//!                "detectors": { "ssrf": "off" } } ]
//! }
//! ```
//!
//! - `detectors.*`, `output.*`: `"block"` (default), `"warn"` or `"off"`.
//! - `allowed_roots`: absolute paths; when set, an absolute path in a path-named
//!   argument must lie under one of them (after normalisation). Unset: no root check
//!   (traversal and secrets locations are still reported).
//! - `allowed_hosts`: host globs (`*` and `?`, case-insensitive; an address glob also
//!   matches any encoding of that address) or CIDR ranges; a matching host is never
//!   reported as internal. `deny_other_hosts: true` reports every other host.
//! - `limits`: ceilings for numbers by argument name (`count`: count/limit/top/num/...,
//!   `bytes`: size/bytes/length with `_kb`/`_mb`/`_gb` units, `depth`, `timeout_seconds`:
//!   timeout/ttl/delay/duration/interval with `_ms`/`_s`/`_min`/`_h` units, unitless
//!   read as milliseconds, `retries`), `string_bytes`, `array_items`, `nesting`; all at
//!   least 1. `limits.arguments` maps argument-name globs (lower-case) to ceilings and
//!   takes precedence over the classes.
//! - `rules`: each with `servers` and `tools` globs (default `["*"]`; `*`/`?`,
//!   case-sensitive, over the configured server name and the un-namespaced tool name)
//!   and any of the fields above. Every matching rule applies in order on top of the
//!   top level; a field a rule sets replaces the value so far (`detectors`, `output`
//!   and `limits` field by field, `limits.arguments` entries added in front).
//!
//! Errors name the field: `rules[1].allowed_roots[0]: must be an absolute path`.
//!
//! # Verdict and cost
//!
//! One finding per detector and value (at most 32 in all, blocking ones first); the
//! strongest action wins. The first 2000 strings of a payload get every detector,
//! later ones only the size limits (thousands of values are an exhaustion finding of
//! their own); a string over `limits.string_bytes` is reported and not scanned. Strings are prefiltered by byte scans before any parsing;
//! decoding is bounded (three rounds), operator and anchor scans are linear and capped,
//! code anchors use one Aho-Corasick pass. No state is kept between calls.

mod code;
mod command;
mod config;
mod decode;
mod exhaust;
mod net;
mod output;
mod path;
mod ssrf;
mod walk;

use config::{Action, Class, Config, Policy};
use serde_json::Value;
use walk::{Item, Leaf, Role};
use warden_plugin_sdk::*;

/// Strings of one payload that get every detector; later ones only size checks.
const FULL_SCAN: usize = 2000;
/// Most findings returned in one verdict.
const MAX_FINDINGS: usize = 32;

const SCHEMA: &str = r##"{
"$schema": "https://json-schema.org/draft/2020-12/schema",
"title": "guard-threats config",
"type": "object",
"additionalProperties": false,
"$defs": {
  "action": { "enum": ["block", "warn", "off"] },
  "glob": { "type": "string", "minLength": 1, "pattern": "^[^\\[\\]{}\\\\]+$" },
  "limit": { "type": "integer", "minimum": 1 },
  "scope": {
    "detectors": { "type": "object", "additionalProperties": false, "properties": {
      "command": { "$ref": "#/$defs/action" }, "path": { "$ref": "#/$defs/action" }, "ssrf": { "$ref": "#/$defs/action" },
      "code": { "$ref": "#/$defs/action" }, "exhaustion": { "$ref": "#/$defs/action" } } },
    "output": { "type": "object", "additionalProperties": false, "properties": {
      "command": { "$ref": "#/$defs/action" }, "ssrf": { "$ref": "#/$defs/action" } } },
    "allowed_roots": { "type": "array", "items": { "type": "string", "pattern": "^(/|[A-Za-z]:[/\\\\])" } },
    "allowed_hosts": { "type": "array", "items": { "type": "string", "minLength": 1 } },
    "deny_other_hosts": { "type": "boolean" },
    "limits": { "type": "object", "additionalProperties": false, "properties": {
      "count": { "$ref": "#/$defs/limit" }, "bytes": { "$ref": "#/$defs/limit" }, "depth": { "$ref": "#/$defs/limit" },
      "timeout_seconds": { "$ref": "#/$defs/limit" }, "retries": { "$ref": "#/$defs/limit" },
      "string_bytes": { "$ref": "#/$defs/limit" }, "array_items": { "$ref": "#/$defs/limit" }, "nesting": { "$ref": "#/$defs/limit" },
      "arguments": { "type": "object", "additionalProperties": { "type": "number", "minimum": 0 } } } }
  }
},
"properties": {
  "detectors": { "$ref": "#/$defs/scope/detectors" },
  "output": { "$ref": "#/$defs/scope/output" },
  "allowed_roots": { "$ref": "#/$defs/scope/allowed_roots" },
  "allowed_hosts": { "$ref": "#/$defs/scope/allowed_hosts" },
  "deny_other_hosts": { "$ref": "#/$defs/scope/deny_other_hosts" },
  "limits": { "$ref": "#/$defs/scope/limits" },
  "rules": { "type": "array", "items": { "type": "object", "additionalProperties": false, "properties": {
    "servers": { "type": "array", "minItems": 1, "items": { "$ref": "#/$defs/glob" } },
    "tools": { "type": "array", "minItems": 1, "items": { "$ref": "#/$defs/glob" } },
    "detectors": { "$ref": "#/$defs/scope/detectors" },
    "output": { "$ref": "#/$defs/scope/output" },
    "allowed_roots": { "$ref": "#/$defs/scope/allowed_roots" },
    "allowed_hosts": { "$ref": "#/$defs/scope/allowed_hosts" },
    "deny_other_hosts": { "$ref": "#/$defs/scope/deny_other_hosts" },
    "limits": { "$ref": "#/$defs/scope/limits" } } } }
}
}"##;

/// Findings of one call, split by action.
#[derive(Default)]
struct Outcome {
    block: Vec<Finding>,
    warn: Vec<Finding>,
}

impl Outcome {
    fn full(&self) -> bool {
        self.block.len() + self.warn.len() >= MAX_FINDINGS * 4
    }

    fn add(&mut self, action: Action, detector: &str, root: &str, pointer: &str, reason: &str) {
        if action == Action::Off || self.full() {
            return;
        }
        let message = format!("{}: {reason}", walk::display(root, pointer));
        let f = Finding::new(detector, &message).at(pointer);
        match action {
            Action::Block => self.block.push(f),
            _ => self.warn.push(f),
        }
    }

    fn verdict(self) -> Verdict {
        let blocked = !self.block.is_empty();
        let mut findings = self.block;
        findings.extend(self.warn);
        findings.truncate(MAX_FINDINGS);
        match (findings.is_empty(), blocked) {
            (true, _) => Verdict::Allow,
            (false, true) => Verdict::Block(findings),
            (false, false) => Verdict::Warn(findings),
        }
    }
}

/// The payload's values, from the JSON form or else the extracted strings.
enum Parsed {
    Json(Value),
    Texts,
    /// Deeper than serde_json's recursion limit (128).
    TooDeep,
}

fn parse(content: &Content) -> Parsed {
    if content.json.is_empty() {
        return Parsed::Texts;
    }
    match serde_json::from_str::<Value>(&content.json) {
        Ok(v) => Parsed::Json(v),
        Err(e) if e.to_string().contains("recursion limit") => Parsed::TooDeep,
        Err(_) => Parsed::Texts,
    }
}

struct Threats {
    config: Config,
}

impl Threats {
    /// All five detectors on one string of the arguments.
    #[allow(clippy::too_many_arguments)]
    fn input_string(
        &self,
        p: &Policy,
        out: &mut Outcome,
        pointer: &str,
        name: &str,
        ctx: &CallContext,
        s: &str,
        full: bool,
    ) {
        let role = walk::role(name, &ctx.tool);
        let limits = &p.limits;
        let ex = p.action(Class::Exhaustion);
        if ex != Action::Off {
            if s.len() as u64 > limits.string_bytes {
                let reason = format!("string of {} bytes is over the limit ({})", s.len(), limits.string_bytes);
                out.add(ex, Class::Exhaustion.detector(), "arguments", pointer, &reason);
                return; // blocked for its size; not worth scanning
            } else if let Some(r) = exhaust::numeric_string(name, s, limits) {
                out.add(ex, Class::Exhaustion.detector(), "arguments", pointer, &r);
            } else if !full {
            } else if let Some(r) = exhaust::content(name, s, role) {
                out.add(ex, Class::Exhaustion.detector(), "arguments", pointer, r);
            }
        }
        if !full {
            return;
        }
        let roots: &[String] = if walk::roots_apply(&ctx.server, &ctx.tool, name) { &p.roots } else { &[] };
        let checks: [(Class, &dyn Fn() -> Option<&'static str>); 4] = [
            (Class::Command, &|| command::check(s, role)),
            (Class::Path, &|| path::check(s, role, roots)),
            (Class::Ssrf, &|| ssrf::check(s, role, p)),
            (Class::Code, &|| code::check(s, role)),
        ];
        for (class, check) in checks {
            let action = p.action(class);
            if action == Action::Off {
                continue;
            }
            if let Some(reason) = check() {
                let reason = format!("{reason} in {} argument", role_name(role));
                out.add(action, class.detector(), "arguments", pointer, &reason);
            }
        }
    }

    fn input(&self, ctx: &CallContext, content: &Content) -> Verdict {
        let p = self.config.policy(&ctx.server, &ctx.tool);
        let mut out = Outcome::default();
        let ex = p.action(Class::Exhaustion);
        let mut strings = 0usize;
        match parse(content) {
            Parsed::Json(v) => {
                let depth = walk::walk(&v, &mut |item: Item<'_>| {
                    if out.full() {
                        return;
                    }
                    match item.leaf {
                        Leaf::Str(s) => {
                            // Past FULL_SCAN strings only sizes are checked: thousands of
                            // values are an exhaustion finding of their own.
                            strings += 1;
                            let full = strings <= FULL_SCAN;
                            self.input_string(&p, &mut out, &item.pointer, item.name, ctx, s, full)
                        }
                        Leaf::Operator(op) => {
                            let action = p.action(Class::Code);
                            if action != Action::Off
                                && let Some(r) = code::operator(op, &item.pointer)
                            {
                                out.add(action, Class::Code.detector(), "arguments", &item.pointer, r);
                            }
                        }
                        Leaf::Num(n) => {
                            if ex != Action::Off
                                && let Some(v) = n.as_f64()
                                && let Some(r) = exhaust::number(item.name, v, &p.limits)
                            {
                                out.add(ex, Class::Exhaustion.detector(), "arguments", &item.pointer, &r);
                            }
                        }
                        Leaf::Array(len) => {
                            if ex != Action::Off && len as u64 > p.limits.array_items {
                                let r = format!("array of {len} items is over the limit ({})", p.limits.array_items);
                                out.add(ex, Class::Exhaustion.detector(), "arguments", &item.pointer, &r);
                            }
                        }
                    }
                });
                let action = p.action(Class::Command);
                if action != Action::Off {
                    exec_arrays(&v, "", &mut String::new(), &ctx.tool, &mut |pointer, reason| {
                        out.add(action, Class::Command.detector(), "arguments", pointer, reason);
                    });
                }
                if depth as u64 > p.limits.nesting {
                    let r = format!("nesting depth {depth} is over the limit ({})", p.limits.nesting);
                    out.add(ex, Class::Exhaustion.detector(), "arguments", "", &r);
                }
            }
            Parsed::TooDeep => {
                let r = format!("nesting depth over 128 is over the limit ({})", p.limits.nesting);
                out.add(ex, Class::Exhaustion.detector(), "arguments", "", &r);
            }
            Parsed::Texts => {
                for t in &content.texts {
                    if out.full() {
                        break;
                    }
                    let name = walk::name_of(&t.path);
                    strings += 1;
                    self.input_string(&p, &mut out, &t.path, &name, ctx, &t.text, strings <= FULL_SCAN);
                }
            }
        }
        out.verdict()
    }

    fn output_string(&self, p: &Policy, out: &mut Outcome, pointer: &str, s: &str) {
        if s.len() < 8 {
            return;
        }
        if p.out_command != Action::Off
            && let Some(r) = output::command(s)
        {
            out.add(p.out_command, Class::Command.detector(), "result", pointer, r);
        }
        if p.out_ssrf != Action::Off
            && let Some(r) = output::fetch(s, p)
        {
            let reason = format!("an instruction to fetch {r}");
            out.add(p.out_ssrf, Class::Ssrf.detector(), "result", pointer, &reason);
        }
    }

    fn output(&self, ctx: &CallContext, content: &Content) -> Verdict {
        let p = self.config.policy(&ctx.server, &ctx.tool);
        let mut out = Outcome::default();
        match parse(content) {
            Parsed::Json(v) => {
                let mut strings = 0usize;
                walk::walk(&v, &mut |item: Item<'_>| {
                    if let Leaf::Str(s) = item.leaf
                        && !out.full()
                        && {
                            strings += 1;
                            strings <= FULL_SCAN
                        }
                    {
                        self.output_string(&p, &mut out, &item.pointer, s);
                    }
                });
            }
            _ => {
                for t in &content.texts {
                    self.output_string(&p, &mut out, &t.path, &t.text);
                }
            }
        }
        out.verdict()
    }
}

/// Argument vectors (`"args": ["status", ";", "rm", "-rf", "/"]`) of command
/// arguments, checked joined as the command line a tool would build from them.
fn exec_arrays(v: &Value, name: &str, pointer: &mut String, tool: &str, f: &mut dyn FnMut(&str, &'static str)) {
    match v {
        Value::Array(items) => {
            if items.len() >= 2 && items.len() <= 4096 && walk::role(name, tool) == Role::Exec {
                let words: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                if words.len() == items.len()
                    && let Some(r) = command::check(&words.join(" "), Role::Exec)
                {
                    f(pointer, r);
                }
            }
            for (i, x) in items.iter().enumerate().take(4096) {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                exec_arrays(x, name, pointer, tool, f);
                pointer.truncate(len);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
                exec_arrays(x, k, pointer, tool, f);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Exec => "a command",
        Role::Path => "a path",
        Role::Url => "a URL",
        Role::Host => "a host",
        Role::Sql => "an SQL",
        Role::Expr => "an expression",
        Role::Data => "a data",
        Role::Neutral => "an",
    }
}

impl Guardrail for Threats {
    fn describe() -> PluginInfo {
        PluginInfo {
            content_forms: ContentForms::JSON,
            config_schema: Some(SCHEMA.to_string()),
            ..plugin_info(
                "guard-threats",
                env!("CARGO_PKG_VERSION"),
                "Blocks attacks in tool arguments (command injection, path traversal, SSRF, code/template/SQL payloads, resource exhaustion) and results that instruct to run commands or fetch internal URLs",
                Stages::INPUT | Stages::OUTPUT,
            )
        }
    }

    fn configure(config_json: &str) -> Result<Self, String> {
        Ok(Threats { config: config::parse(config_json)? })
    }

    fn check_input(&self, ctx: &CallContext, content: &Content) -> Result<Verdict, PluginError> {
        Ok(self.input(ctx, content))
    }

    fn check_output(&self, ctx: &CallContext, content: &Content) -> Result<Verdict, PluginError> {
        Ok(self.output(ctx, content))
    }
}

export_guardrail!(Threats);

#[cfg(test)]
mod tests;
