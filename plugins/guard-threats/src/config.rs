//! The plugin config: top-level defaults plus `rules` matched on server and tool,
//! validated in `configure` with every error naming its field path.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Deserialize;
use warden_plugin_sdk::parse_config;

use crate::net;
use warden_plugin_sdk::glob::Glob;

/// What a detector does when it fires.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Action {
    Off,
    Warn,
    Block,
}

/// The five input detectors, in finding order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Command = 0,
    Path = 1,
    Ssrf = 2,
    Code = 3,
    Exhaustion = 4,
}

impl Class {
    pub(crate) fn detector(self) -> &'static str {
        match self {
            Class::Command => "threats.command",
            Class::Path => "threats.path",
            Class::Ssrf => "threats.ssrf",
            Class::Code => "threats.code",
            Class::Exhaustion => "threats.exhaustion",
        }
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawDetectors {
    command: Option<Action>,
    path: Option<Action>,
    ssrf: Option<Action>,
    code: Option<Action>,
    exhaustion: Option<Action>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    command: Option<Action>,
    ssrf: Option<Action>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    count: Option<u64>,
    bytes: Option<u64>,
    depth: Option<u64>,
    timeout_seconds: Option<u64>,
    retries: Option<u64>,
    string_bytes: Option<u64>,
    array_items: Option<u64>,
    nesting: Option<u64>,
    arguments: Option<BTreeMap<String, f64>>,
}

/// The top level and every rule share one shape (no `serde(flatten)`: it does not
/// combine with `deny_unknown_fields`); `servers`/`tools` are for rules only, `rules`
/// for the top level only.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawScope {
    #[serde(default)]
    detectors: RawDetectors,
    #[serde(default)]
    output: RawOutput,
    allowed_roots: Option<Vec<String>>,
    allowed_hosts: Option<Vec<String>>,
    deny_other_hosts: Option<bool>,
    #[serde(default)]
    limits: RawLimits,
    servers: Option<Vec<String>>,
    tools: Option<Vec<String>>,
    rules: Option<Vec<RawScope>>,
}

/// Numeric ceilings; see the crate docs for the defaults.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub count: u64,
    pub bytes: u64,
    pub depth: u64,
    pub timeout_seconds: u64,
    pub retries: u64,
    pub string_bytes: u64,
    pub array_items: u64,
    pub nesting: u64,
    /// Per-argument ceilings, by argument-name glob (lower-case).
    pub arguments: Vec<(Glob, f64)>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            count: 10_000,
            bytes: 100 * 1024 * 1024,
            depth: 64,
            timeout_seconds: 3600,
            retries: 20,
            string_bytes: 1024 * 1024,
            array_items: 10_000,
            nesting: 32,
            arguments: Vec::new(),
        }
    }
}

/// An `allowed_hosts` entry: a host-name glob or an address range.
#[derive(Debug, Clone)]
pub(crate) enum HostPattern {
    Name(Glob),
    Net(IpAddr, u8),
}

impl HostPattern {
    fn parse(s: &str) -> Result<HostPattern, String> {
        let s = s.trim().to_ascii_lowercase();
        if let Some((addr, bits)) = s.split_once('/') {
            let ip: IpAddr =
                addr.trim_matches(|c| c == '[' || c == ']').parse().map_err(|_| "invalid address range".to_string())?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits: u8 =
                bits.parse().ok().filter(|b| *b <= max).ok_or_else(|| format!("prefix length must be 0..={max}"))?;
            return Ok(HostPattern::Net(ip, bits));
        }
        let s = s.trim_matches(|c| c == '[' || c == ']');
        if s.chars().any(|c| c.is_whitespace() || c == ':' && !s.contains("::") && s.matches(':').count() == 1) {
            return Err("a host name without scheme, port or spaces".to_string());
        }
        Glob::new(s).map(HostPattern::Name)
    }

    /// Does the (normalised, lower-case) host, or its canonical address, match?
    pub(crate) fn matches(&self, host: &str, ip: Option<IpAddr>) -> bool {
        match self {
            HostPattern::Name(g) => {
                let name: Vec<char> = host.chars().collect();
                g.matches(&name)
                    || ip.is_some_and(|ip| {
                        let canon: Vec<char> = ip.to_string().chars().collect();
                        g.matches(&canon)
                    })
            }
            HostPattern::Net(net, bits) => ip.is_some_and(|ip| net::in_prefix(ip, *net, *bits)),
        }
    }
}

/// The settings in force for one call.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub actions: [Action; 5],
    pub out_command: Action,
    pub out_ssrf: Action,
    /// Normalised absolute roots (`/srv/data`, `c:/data`), no trailing slash.
    pub roots: Vec<String>,
    pub hosts: Vec<HostPattern>,
    pub deny_other_hosts: bool,
    pub limits: Limits,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            actions: [Action::Block; 5],
            out_command: Action::Block,
            out_ssrf: Action::Block,
            roots: Vec::new(),
            hosts: Vec::new(),
            deny_other_hosts: false,
            limits: Limits::default(),
        }
    }
}

impl Policy {
    pub(crate) fn action(&self, class: Class) -> Action {
        self.actions[class as usize]
    }

    pub(crate) fn host_allowed(&self, host: &str, ip: Option<IpAddr>) -> bool {
        self.hosts.iter().any(|h| h.matches(host, ip))
    }
}

/// One validated scope (the top level or a rule): only the fields it sets.
#[derive(Default)]
struct Scope {
    actions: [Option<Action>; 5],
    out_command: Option<Action>,
    out_ssrf: Option<Action>,
    roots: Option<Vec<String>>,
    hosts: Option<Vec<HostPattern>>,
    deny_other_hosts: Option<bool>,
    limits: [Option<u64>; 8],
    arguments: Option<Vec<(Glob, f64)>>,
}

impl Scope {
    fn apply(&self, p: &mut Policy) {
        for (slot, a) in p.actions.iter_mut().zip(self.actions) {
            if let Some(a) = a {
                *slot = a;
            }
        }
        if let Some(a) = self.out_command {
            p.out_command = a;
        }
        if let Some(a) = self.out_ssrf {
            p.out_ssrf = a;
        }
        if let Some(r) = &self.roots {
            p.roots = r.clone();
        }
        if let Some(h) = &self.hosts {
            p.hosts = h.clone();
        }
        if let Some(d) = self.deny_other_hosts {
            p.deny_other_hosts = d;
        }
        let l = &mut p.limits;
        let slots = [
            &mut l.count,
            &mut l.bytes,
            &mut l.depth,
            &mut l.timeout_seconds,
            &mut l.retries,
            &mut l.string_bytes,
            &mut l.array_items,
            &mut l.nesting,
        ];
        for (slot, v) in slots.into_iter().zip(self.limits) {
            if let Some(v) = v {
                *slot = v;
            }
        }
        if let Some(a) = &self.arguments {
            // Later scopes win: their entries are checked first.
            let mut merged = a.clone();
            merged.extend(l.arguments.iter().cloned());
            l.arguments = merged;
        }
    }
}

struct Rule {
    servers: Vec<Glob>,
    tools: Vec<Glob>,
    scope: Scope,
}

/// The validated config.
pub(crate) struct Config {
    base: Policy,
    rules: Vec<Rule>,
}

impl Config {
    /// The policy for a call on `server`/`tool`: defaults, the top level, then every
    /// matching rule in order (a later rule's fields override earlier ones).
    pub(crate) fn policy(&self, server: &str, tool: &str) -> Policy {
        let mut p = self.base.clone();
        if self.rules.is_empty() {
            return p;
        }
        let server: Vec<char> = server.chars().collect();
        let tool: Vec<char> = tool.chars().collect();
        for r in &self.rules {
            if r.servers.iter().any(|g| g.matches(&server)) && r.tools.iter().any(|g| g.matches(&tool)) {
                r.scope.apply(&mut p);
            }
        }
        p
    }
}

/// A normalised absolute root, or why not.
fn root(s: &str) -> Result<String, String> {
    let mut r = s.trim().replace('\\', "/");
    let bytes = r.as_bytes();
    let drive = bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'/';
    if !r.starts_with('/') && !drive {
        return Err("must be an absolute path".to_string());
    }
    if r.split('/').any(|seg| seg == ".." || seg == ".") {
        return Err("must not contain `.` or `..` segments".to_string());
    }
    if drive {
        r = r.to_ascii_lowercase();
    }
    while r.len() > 1 && r.ends_with('/') {
        r.pop();
    }
    Ok(r)
}

fn globs(list: Option<Vec<String>>, field: &str, errors: &mut Vec<String>) -> Vec<Glob> {
    let Some(list) = list else { return vec![Glob::new("*").unwrap_or_else(|_| unreachable!())] };
    if list.is_empty() {
        errors.push(format!("{field}: must not be empty (omit it to match every name)"));
    }
    list.iter()
        .enumerate()
        .filter_map(|(i, g)| Glob::new(g).map_err(|e| errors.push(format!("{field}[{i}]: {e}"))).ok())
        .collect()
}

fn scope(raw: RawScope, at: &str, errors: &mut Vec<String>) -> Scope {
    let d = raw.detectors;
    let roots = raw.allowed_roots.map(|list| {
        list.iter()
            .enumerate()
            .filter_map(|(i, r)| root(r).map_err(|e| errors.push(format!("{at}allowed_roots[{i}]: {e}"))).ok())
            .collect()
    });
    let hosts = raw.allowed_hosts.map(|list| {
        list.iter()
            .enumerate()
            .filter_map(|(i, h)| {
                HostPattern::parse(h).map_err(|e| errors.push(format!("{at}allowed_hosts[{i}]: {e}"))).ok()
            })
            .collect()
    });
    let l = raw.limits;
    let limits = [l.count, l.bytes, l.depth, l.timeout_seconds, l.retries, l.string_bytes, l.array_items, l.nesting];
    let names = ["count", "bytes", "depth", "timeout_seconds", "retries", "string_bytes", "array_items", "nesting"];
    for (v, name) in limits.iter().zip(names) {
        if *v == Some(0) {
            errors.push(format!("{at}limits.{name}: must be at least 1"));
        }
    }
    let arguments = l.arguments.map(|map| {
        map.into_iter()
            .filter_map(|(name, max)| {
                let field = format!("{at}limits.arguments.{name}");
                if !max.is_finite() || max < 0.0 {
                    errors.push(format!("{field}: must be a non-negative number"));
                    return None;
                }
                Glob::new(&name.to_ascii_lowercase())
                    .map(|g| (g, max))
                    .map_err(|e| errors.push(format!("{field}: {e}")))
                    .ok()
            })
            .collect()
    });
    Scope {
        actions: [d.command, d.path, d.ssrf, d.code, d.exhaustion],
        out_command: raw.output.command,
        out_ssrf: raw.output.ssrf,
        roots,
        hosts,
        deny_other_hosts: raw.deny_other_hosts,
        limits,
        arguments,
    }
}

/// Parse and validate; every problem is reported, each with its field path.
pub(crate) fn parse(config_json: &str) -> Result<Config, String> {
    let mut raw: RawScope = parse_config(config_json)?;
    let mut errors = Vec::new();
    if raw.servers.is_some() || raw.tools.is_some() {
        errors.push("servers, tools: only allowed inside rules[]".to_string());
    }
    let raw_rules = raw.rules.take().unwrap_or_default();
    let top = scope(raw, "", &mut errors);
    let mut base = Policy::default();
    top.apply(&mut base);
    let mut rules = Vec::new();
    for (i, mut r) in raw_rules.into_iter().enumerate() {
        let at = format!("rules[{i}].");
        if r.rules.is_some() {
            errors.push(format!("{at}rules: rules do not nest"));
        }
        let servers = globs(r.servers.take(), &format!("{at}servers"), &mut errors);
        let tools = globs(r.tools.take(), &format!("{at}tools"), &mut errors);
        let scope = scope(r, &at, &mut errors);
        rules.push(Rule { servers, tools, scope });
    }
    if errors.is_empty() { Ok(Config { base, rules }) } else { Err(format!("invalid config: {}", errors.join("; "))) }
}
