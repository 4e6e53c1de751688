//! The payload as a flat list of values with their paths and the name of the
//! argument they belong to, and what that name says about how the upstream uses
//! the value (executed, resolved, or just data).

use serde_json::Value;

/// How the upstream is likely to use a value, from its argument's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Run by a shell or an interpreter: `command`, `cmd`, `args`.
    Exec,
    /// Resolved as a file-system path: `path`, `filename`, `dir`.
    Path,
    /// Fetched as a URL: `url`, `uri`, `webhook`.
    Url,
    /// Resolved as a host: `host`, `hostname`, `ip`.
    Host,
    /// A SQL statement or condition: `sql`, `query`, `where`.
    Sql,
    /// An expression or template evaluated by the upstream: `expression`, `template`.
    Expr,
    /// Free text or code handled as data: `content`, `text`, `code`, `diff`.
    Data,
    /// Anything else (`name`, `id`, `value`, a bare string).
    Neutral,
}

impl Role {
    /// Resolved by the upstream as a location (path, URL or host).
    pub(crate) fn resolved(self) -> bool {
        matches!(self, Role::Path | Role::Url | Role::Host)
    }
}

/// The words of an argument name: `maxResults` → `max`, `results`; `file-path` →
/// `file`, `path`.
pub(crate) fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn word_role(w: &str) -> Option<Role> {
    let w = w.strip_suffix('s').filter(|s| s.len() > 2 && !w.ends_with("ss")).unwrap_or(w);
    Some(match w {
        "command" | "cmd" | "cmdline" | "exec" | "shell" | "bash" | "sh" | "arg" | "argv" | "program"
        | "executable" | "binary" | "entrypoint" | "hook" | "script" | "run" | "invocation" | "cli" | "powershell"
        | "ps" => Role::Exec,
        "path" | "file" | "filename" | "filepath" | "fname" | "dir" | "dirname" | "directory" | "folder" | "dest"
        | "destination" | "cwd" | "workdir" | "root" | "mount" | "volume" | "archive" | "entry" | "member"
        | "symlink" | "attachment" | "location" | "basename" | "output" | "outfile" | "infile" | "logfile" | "src"
        | "source" | "target" | "glob" | "zip" | "tar" | "upload" | "download" | "filespec" => Role::Path,
        "url" | "uri" | "link" | "href" | "webhook" | "callback" | "endpoint" | "redirect" | "feed" | "image"
        | "site" | "website" | "homepage" | "origin" | "referer" | "referrer" | "proxy" | "api" | "remote" | "repo"
        | "repository" | "registry" | "mirror" | "fetch" | "resource" => Role::Url,
        "host" | "hostname" | "domain" | "ip" | "ipaddr" | "addr" | "address" | "server" | "upstream" | "peer"
        | "gateway" | "dns" | "nameserver" | "port" => Role::Host,
        "sql" | "query" | "statement" | "stmt" | "where" | "clause" | "having" => Role::Sql,
        "predicate" | "condition" | "expression" | "expr" | "formula" | "template" | "eval" | "lambda" | "jinja"
        | "tpl" | "calc" | "calculation" | "math" => Role::Expr,
        "code" | "diff" | "patch" | "content" | "text" | "body" | "message" | "msg" | "description" | "desc"
        | "comment" | "note" | "prompt" | "snippet" | "html" | "markdown" | "md" | "data" | "title" | "summary"
        | "question" | "answer" | "doc" | "document" | "readme" | "log" | "review" | "subject" | "example"
        | "sample" | "context" | "instruction" | "chat" | "reply" | "response" | "sentence" | "paragraph"
        | "article" | "post" | "caption" | "notes" | "detail" | "explanation" | "source_code" | "changelog"
        | "commit" | "issue" | "transcript" | "essay" | "story" | "translation" | "topic" | "reason" | "feedback" => {
            Role::Data
        }
        _ => return None,
    })
}

/// The role of a value from its argument name, falling back on the tool's name
/// for generic argument names (`input`, `value`, a bare string).
pub(crate) fn role(name: &str, tool: &str) -> Role {
    let ws = words(name);
    let tw = words(tool);
    if let Some(r) = ws.iter().rev().find_map(|w| word_role(w)) {
        // Code handed to a tool that runs it is not data.
        let code =
            ws.iter().any(|w| matches!(w.as_str(), "code" | "script" | "source" | "snippet" | "program" | "src"));
        let runs = tw.iter().any(|w| {
            matches!(
                w.as_str(),
                "run"
                    | "exec"
                    | "execute"
                    | "eval"
                    | "evaluate"
                    | "interpret"
                    | "interpreter"
                    | "python"
                    | "node"
                    | "js"
                    | "javascript"
                    | "repl"
                    | "sandbox"
                    | "notebook"
                    | "jupyter"
                    | "ruby"
                    | "php"
            )
        });
        if r == Role::Data && code && runs {
            return Role::Expr;
        }
        return r;
    }
    // "filename" written as one word with a prefix: `srcpath`, `targetfile`.
    let lower = name.to_ascii_lowercase();
    if matches!(lower.as_str(), "xpath" | "jsonpath" | "keypath" | "objectpath") {
        return Role::Neutral;
    }
    for (suffix, r) in [
        ("path", Role::Path),
        ("file", Role::Path),
        ("url", Role::Url),
        ("host", Role::Host),
        ("cmd", Role::Exec),
        ("command", Role::Exec),
    ] {
        if lower.len() > suffix.len() && lower.ends_with(suffix) {
            return r;
        }
    }
    let tool_role = tw.iter().rev().find_map(|w| match w.as_str() {
        "exec" | "shell" | "bash" | "command" | "cmd" | "terminal" | "powershell" => Some(Role::Exec),
        "fetch" | "curl" | "http" | "url" | "browse" | "scrape" | "crawl" | "webhook" | "download" => Some(Role::Url),
        "ping" | "dns" | "lookup" | "resolve" | "traceroute" | "nslookup" | "whois" => Some(Role::Host),
        "sql" | "query" | "db" | "database" => Some(Role::Sql),
        "eval" | "calc" | "calculate" | "render" | "template" => Some(Role::Expr),
        _ => None,
    });
    match (tool_role, ws.is_empty() || generic(&ws)) {
        (Some(r), true) => r,
        _ => Role::Neutral,
    }
}

fn generic(ws: &[String]) -> bool {
    ws.iter().all(|w| {
        matches!(
            w.as_str(),
            "input"
                | "value"
                | "arg"
                | "param"
                | "params"
                | "parameter"
                | "x"
                | "s"
                | "str"
                | "string"
                | "val"
                | "item"
                | "items"
                | "0"
                | "1"
                | "2"
                | "3"
                | "4"
                | "5"
                | "6"
                | "7"
                | "8"
                | "9"
        )
    })
}

/// Whether `allowed_roots` applies to an absolute path in argument `name` of this
/// call: it does, unless the tool talks to a remote API or a container (whose paths
/// are URL paths or paths inside the container) or the argument names such a path.
pub(crate) fn roots_apply(server: &str, tool: &str, name: &str) -> bool {
    let remote = |w: &String| {
        matches!(
            w.as_str(),
            "request"
                | "http"
                | "https"
                | "api"
                | "fetch"
                | "curl"
                | "rest"
                | "graphql"
                | "url"
                | "web"
                | "browse"
                | "scrape"
                | "crawl"
                | "webhook"
                | "docker"
                | "container"
                | "containers"
                | "k8s"
                | "kube"
                | "kubectl"
                | "pod"
                | "deploy"
                | "route"
                | "router"
                | "endpoint"
                | "remote"
                | "uri"
                | "s3"
                | "bucket"
                | "xpath"
                | "jsonpath"
                | "selector"
                | "sftp"
                | "ssh"
                | "scp"
        )
    };
    let tool_words: Vec<String> = words(server).into_iter().chain(words(tool)).collect();
    let run_container = tool_words.iter().any(|w| w == "run") && tool_words.len() <= 2 && server.is_empty();
    !(tool_words.iter().any(remote) || words(name).iter().any(remote) || run_container)
}

/// A leaf of the payload.
pub(crate) enum Leaf<'a> {
    Str(&'a str),
    Num(&'a serde_json::Number),
    /// An array and its length (also visited for its items).
    Array(usize),
    /// An object key starting with `$` (a query operator such as `$where`, `$ne`).
    Operator(&'a str),
}

/// One value with where it is.
pub(crate) struct Item<'a> {
    /// JSON Pointer (`/items/3/url`).
    pub pointer: String,
    /// The nearest object key above the value ("" at the root).
    pub name: &'a str,
    pub leaf: Leaf<'a>,
}

/// Visit every string, number and array of `v`, depth-first in document order.
/// Returns the nesting depth (a scalar is 0). Recursion is bounded by serde_json's
/// own parse limit (128 levels).
pub(crate) fn walk<'a>(v: &'a Value, f: &mut dyn FnMut(Item<'a>)) -> usize {
    fn go<'a>(v: &'a Value, pointer: &mut String, name: &'a str, f: &mut dyn FnMut(Item<'a>)) -> usize {
        match v {
            Value::String(s) => {
                f(Item { pointer: pointer.clone(), name, leaf: Leaf::Str(s) });
                0
            }
            Value::Number(n) => {
                f(Item { pointer: pointer.clone(), name, leaf: Leaf::Num(n) });
                0
            }
            Value::Array(a) => {
                f(Item { pointer: pointer.clone(), name, leaf: Leaf::Array(a.len()) });
                let mut depth = 0;
                for (i, x) in a.iter().enumerate() {
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&i.to_string());
                    depth = depth.max(go(x, pointer, name, f));
                    pointer.truncate(len);
                }
                depth + 1
            }
            Value::Object(o) => {
                let mut depth = 0;
                for (k, x) in o {
                    if k.starts_with('$') {
                        f(Item { pointer: pointer.clone(), name, leaf: Leaf::Operator(k) });
                    }
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    depth = depth.max(go(x, pointer, k, f));
                    pointer.truncate(len);
                }
                depth + 1
            }
            _ => 0,
        }
    }
    go(v, &mut String::new(), "", f)
}

/// The argument's name from a JSON Pointer: its last segment that is not an index.
pub(crate) fn name_of(pointer: &str) -> String {
    pointer
        .rsplit('/')
        .find(|seg| !seg.is_empty() && !seg.bytes().all(|b| b.is_ascii_digit()))
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .unwrap_or_default()
}

/// `arguments.items[3].url` from `/items/3/url` (keys that are not identifiers are
/// quoted: `arguments["a b"]`).
pub(crate) fn display(root: &str, pointer: &str) -> String {
    let mut out = root.to_string();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.len() < 10 && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(&seg);
            out.push(']');
        } else if !seg.is_empty()
            && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            && !seg.as_bytes()[0].is_ascii_digit()
        {
            out.push('.');
            out.push_str(&seg);
        } else {
            let short: String = seg.chars().take(48).collect();
            out.push_str(&format!("[{short:?}]"));
        }
        if out.len() > 200 {
            out.push('…');
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_from_names() {
        assert_eq!(role("command", ""), Role::Exec);
        assert_eq!(role("filePath", ""), Role::Path);
        assert_eq!(role("callback_url", ""), Role::Url);
        assert_eq!(role("target_host", ""), Role::Host);
        assert_eq!(role("code", ""), Role::Data);
        assert_eq!(role("file_content", ""), Role::Data);
        assert_eq!(role("name", ""), Role::Neutral);
        assert_eq!(role("input", "run_shell"), Role::Exec);
        assert_eq!(role("", "fetch_url"), Role::Url);
        assert_eq!(role("srcpath", ""), Role::Path);
    }

    #[test]
    fn display_paths() {
        assert_eq!(display("arguments", "/items/3/url"), "arguments.items[3].url");
        assert_eq!(display("arguments", "/a b"), "arguments[\"a b\"]");
        assert_eq!(display("arguments", ""), "arguments");
        assert_eq!(name_of("/items/3"), "items");
    }
}
