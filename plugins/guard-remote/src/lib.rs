//! `guard-remote`: asks a remote HTTP detector API about tool-call arguments and
//! tool results, in the request/response shape of Enkrypt AI's guardrails
//! `detect` endpoint.
//!
//! For each check the plugin joins every string of the payload with newlines (cut
//! at `max_bytes`, on a character boundary), POSTs
//! `{"text": "...", "detectors": {...}}` to `url` as JSON with the configured
//! headers, and reads the answer's `summary` object: every detector whose summary
//! value is truthy (`true`, a number > 0, a non-empty list or object) becomes a
//! finding `remote.<detector>` on the whole payload. Strings and `null` in the
//! summary are not flags. `details` is not read (it may hold the flagged values).
//! A payload with no non-blank text is allowed without asking. Tool definitions
//! (the `tool` stage) are not sent.
//!
//! Config (`config = { ... }` of the plugin's `[[plugins]]` entry):
//!
//! - `url` (required): `http://` or `https://` URL of the detect endpoint, e.g.
//!   `https://api.enkryptai.com/guardrails/detect`. Its host must also be granted:
//!   `grants = { http_hosts = ["api.enkryptai.com"] }` (the host refuses any
//!   other, and refuses to load the plugin with no HTTP grant at all).
//! - `detectors`: object sent as the request's `detectors`; default
//!   `{"injection_attack": {"enabled": true}, "pii": {"enabled": true},
//!   "toxicity": {"enabled": true}}`.
//! - `headers`: extra request headers, e.g. `{ apikey = "${ENKRYPT_API_KEY}" }`
//!   (interpolated by the gateway from its environment). Values are never logged
//!   nor put in error messages.
//! - `timeout_ms` (default 3000): the whole exchange (connect, send, answer). The
//!   plugin's host deadline (`limits.deadline_ms`, 1000 by default) still
//!   applies, so raise that too for a slow API.
//! - `max_bytes` (default 65536): most bytes of text sent per check.
//! - `action`: `"block"` (default) or `"warn"` for flagged detectors.
//! - `block_list`: detector names that block; other flagged detectors only warn.
//!   Absent: every flagged detector takes `action`.
//! - `on_error`: `"fail"` (default; the check fails with a plugin error and the
//!   plugin's `failure_mode` decides) or `"allow"` (an unreachable or broken API
//!   lets the payload through, with a warning in the gateway log).
//!
//! Answers are read up to 1 MiB; anything larger is an error.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use warden_plugin_sdk::*;

/// Largest answer read from the API.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// Most findings reported from one answer.
const MAX_FINDINGS: usize = 64;
/// Longest detector name kept in a finding.
const MAX_DETECTOR_NAME: usize = 64;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    url: Option<String>,
    detectors: Option<Map<String, Value>>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
    #[serde(default = "default_max_bytes")]
    max_bytes: usize,
    #[serde(default)]
    action: Action,
    block_list: Option<Vec<String>>,
    #[serde(default)]
    on_error: OnError,
}

fn default_timeout_ms() -> u64 {
    3000
}

fn default_max_bytes() -> usize {
    64 * 1024
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Debug)]
#[serde(rename_all = "snake_case")]
enum Action {
    #[default]
    Block,
    Warn,
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Debug)]
#[serde(rename_all = "snake_case")]
enum OnError {
    #[default]
    Fail,
    Allow,
}

/// Where requests go.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    https: bool,
    /// `host` or `host:port` (IPv6 literals in brackets).
    authority: String,
    /// Path and query, starting with `/`.
    path_with_query: String,
}

/// The configured guardrail. Deliberately not `Debug`: it holds the API key.
struct Remote {
    target: Target,
    /// Serialized `detectors` object, spliced into every request body.
    detectors: Value,
    headers: Vec<(String, Vec<u8>)>,
    timeout_ms: u64,
    max_bytes: usize,
    action: Action,
    block_list: Option<Vec<String>>,
    on_error: OnError,
}

const SCHEMA: &str = concat!(
    r#"{"type":"object","additionalProperties":false,"required":["url"],"properties":{"#,
    r#""url":{"type":"string","pattern":"^[Hh][Tt][Tt][Pp][Ss]?://"},"#,
    r#""detectors":{"type":"object","minProperties":1,"additionalProperties":{"type":"object"}},"#,
    r#""headers":{"type":"object","additionalProperties":{"type":"string"}},"#,
    r#""timeout_ms":{"type":"integer","minimum":1,"maximum":600000},"#,
    r#""max_bytes":{"type":"integer","minimum":1,"maximum":4194304},"#,
    r#""action":{"enum":["block","warn"]},"#,
    r#""block_list":{"type":"array","items":{"type":"string","minLength":1}},"#,
    r#""on_error":{"enum":["fail","allow"]}}}"#,
);

/// Parse an `http(s)://authority[/path][?query][#fragment]` URL.
fn parse_url(url: &str) -> Result<Target, String> {
    let (https, rest) = match url.split_once("://") {
        Some((s, rest)) if s.eq_ignore_ascii_case("http") => (false, rest),
        Some((s, rest)) if s.eq_ignore_ascii_case("https") => (true, rest),
        _ => return Err("url must start with http:// or https://".into()),
    };
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("url must not contain spaces or control characters".into());
    }
    let rest = rest.split('#').next().unwrap_or_default();
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Err("url must not carry credentials (user@host); use headers".into());
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or("url has an unterminated IPv6 address")?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("url has garbage after its IPv6 address")?),
        };
        (h, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("url has no host".into());
    }
    if !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')) {
        return Err("url host has invalid characters".into());
    }
    if let Some(p) = port {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => {}
            _ => return Err("url port must be a number from 1 to 65535".into()),
        }
    }
    let path_with_query = if tail.starts_with('/') { tail.to_string() } else { format!("/{tail}") };
    Ok(Target { https, authority: authority.to_string(), path_with_query })
}

/// Headers the HTTP layer manages itself; setting them is refused.
const RESERVED_HEADERS: &[&str] =
    &["host", "content-length", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"];

fn check_header(name: &str, value: &str) -> Result<(), String> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(format!("headers: {name:?} is not a valid header name"));
    }
    if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!("headers: {name:?} is set by the HTTP layer and cannot be configured"));
    }
    // The value is usually a secret: say what is wrong with it, never what it is.
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!("headers: the value of {name:?} contains control characters"));
    }
    if value.contains("${") {
        return Err(format!("headers: the value of {name:?} holds an uninterpolated ${{...}} reference"));
    }
    Ok(())
}

fn default_detectors() -> Map<String, Value> {
    let mut m = Map::new();
    for d in ["injection_attack", "pii", "toxicity"] {
        m.insert(d.to_string(), json!({"enabled": true}));
    }
    m
}

impl Remote {
    fn from_config(c: Config) -> Result<Self, String> {
        let url = c.url.ok_or("url is required (the remote detect endpoint, http:// or https://)")?;
        let target = parse_url(&url).map_err(|e| format!("url: {e}"))?;
        let detectors = c.detectors.unwrap_or_else(default_detectors);
        if detectors.is_empty() {
            return Err("detectors must name at least one detector".into());
        }
        if let Some((k, _)) = detectors.iter().find(|(_, v)| !v.is_object()) {
            return Err(format!("detectors.{k} must be an object, e.g. {{\"enabled\": true}}"));
        }
        let mut headers = Vec::new();
        for (name, value) in &c.headers {
            check_header(name, value)?;
            headers.push((name.to_ascii_lowercase(), value.as_bytes().to_vec()));
        }
        if !(1..=600_000).contains(&c.timeout_ms) {
            return Err(format!("timeout_ms {} is outside 1..=600000", c.timeout_ms));
        }
        if !(1..=4 * 1024 * 1024).contains(&c.max_bytes) {
            return Err(format!("max_bytes {} is outside 1..=4194304", c.max_bytes));
        }
        if let Some(list) = &c.block_list
            && let Some(i) = list.iter().position(|d| d.is_empty())
        {
            return Err(format!("block_list[{i}] is empty"));
        }
        let block_list = c
            .block_list
            .map(|l| l.into_iter().map(|d| d.strip_prefix("remote.").map(str::to_string).unwrap_or(d)).collect());
        Ok(Remote {
            target,
            detectors: Value::Object(detectors),
            headers,
            timeout_ms: c.timeout_ms,
            max_bytes: c.max_bytes,
            action: c.action,
            block_list,
            on_error: c.on_error,
        })
    }

    /// The request body for `content`, or `None` when there is no text to send.
    fn request_body(&self, content: &Content) -> Option<Vec<u8>> {
        let mut text = String::new();
        for item in &content.texts {
            if text.len() >= self.max_bytes {
                break;
            }
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&item.text);
        }
        if text.len() > self.max_bytes {
            let mut cut = self.max_bytes;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        if text.trim().is_empty() {
            return None;
        }
        let body = json!({"text": text, "detectors": self.detectors});
        serde_json::to_vec(&body).ok()
    }

    /// The verdict for an answer of the API.
    fn verdict(&self, response: &[u8]) -> Result<Verdict, String> {
        let v: Value = serde_json::from_slice(response).map_err(|e| format!("answer is not JSON: {e}"))?;
        let summary = v.get("summary").and_then(Value::as_object).ok_or("answer has no \"summary\" object")?;
        let mut findings = Vec::new();
        let mut blocks = false;
        for (name, value) in summary {
            let Some(score) = flag_score(value) else { continue };
            if findings.len() == MAX_FINDINGS {
                break;
            }
            let name = sanitize_name(name);
            let blocking = self.action == Action::Block && self.block_list.as_ref().is_none_or(|l| l.contains(&name));
            blocks |= blocking;
            findings.push(Finding {
                score,
                ..finding(&format!("remote.{name}"), &format!("remote detector {name} flagged the text"))
            });
        }
        Ok(match (findings.is_empty(), blocks) {
            (true, _) => Verdict::Allow,
            (false, true) => Verdict::Block(findings),
            (false, false) => Verdict::Warn(findings),
        })
    }

    fn check(&self, content: &Content) -> Result<Verdict, PluginError> {
        let Some(body) = self.request_body(content) else { return Ok(Verdict::Allow) };
        let outcome = http::post(&self.target, &self.headers, &body, self.timeout_ms).and_then(|r| self.verdict(&r));
        match (outcome, self.on_error) {
            (Ok(v), _) => Ok(v),
            (Err(e), OnError::Fail) => Err(error(format!("remote detector API: {e}"))),
            (Err(e), OnError::Allow) => {
                http::log_warn(&format!("remote detector API failed, allowing (on_error = allow): {e}"));
                Ok(Verdict::Allow)
            }
        }
    }
}

/// The confidence a summary value flags its detector with, or `None` if it does not.
fn flag_score(value: &Value) -> Option<f32> {
    match value {
        Value::Bool(true) => Some(1.0),
        Value::Number(n) => match n.as_f64() {
            Some(x) if x > 0.0 && x < 1.0 => Some(x as f32),
            Some(x) if x >= 1.0 => Some(1.0),
            _ => None,
        },
        Value::Array(a) if !a.is_empty() => Some(1.0),
        Value::Object(o) if !o.is_empty() => Some(1.0),
        _ => None,
    }
}

/// A detector name from the answer, made safe for a dotted detector id.
fn sanitize_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') { c.to_ascii_lowercase() } else { '_' })
        .take(MAX_DETECTOR_NAME)
        .collect();
    if s.is_empty() { "unnamed".into() } else { s }
}

#[cfg(target_arch = "wasm32")]
mod http {
    //! One POST over wasi:http, with a deadline on the whole exchange.
    use super::{MAX_RESPONSE_BYTES, Target};
    use wasi::clocks::monotonic_clock;
    use wasi::http::outgoing_handler;
    use wasi::http::types::{ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme};
    use wasi::io::poll::{Pollable, poll};
    use wasi::io::streams::{OutputStream, StreamError};

    pub fn log_warn(message: &str) {
        warden_plugin_sdk::log(warden_plugin_sdk::Level::Warn, message);
    }

    /// Wait for `p`, or fail once `deadline` is ready.
    fn wait(p: &Pollable, deadline: &Pollable, timeout_ms: u64) -> Result<(), String> {
        if poll(&[p, deadline]).contains(&0) { Ok(()) } else { Err(format!("no answer within {timeout_ms} ms")) }
    }

    /// The host's own timeouts (set to the same deadline above) race ours; either
    /// way the caller sees one message for "the API did not answer in time".
    fn failed(e: &ErrorCode, timeout_ms: u64) -> String {
        match e {
            ErrorCode::ConnectionTimeout
            | ErrorCode::ConnectionReadTimeout
            | ErrorCode::ConnectionWriteTimeout
            | ErrorCode::HttpResponseTimeout => format!("no answer within {timeout_ms} ms"),
            e => format!("request failed: {e:?}"),
        }
    }

    fn stream_error(e: StreamError) -> String {
        match e {
            StreamError::Closed => "connection closed".into(),
            StreamError::LastOperationFailed(e) => e.to_debug_string(),
        }
    }

    /// Write and flush `body`; the outer error is the deadline, the inner one the stream's.
    fn send(
        stream: &OutputStream,
        body: &[u8],
        deadline: &Pollable,
        timeout_ms: u64,
    ) -> Result<Result<(), StreamError>, String> {
        let mut rest = body;
        while !rest.is_empty() {
            let n = match stream.check_write() {
                Ok(n) => n,
                Err(e) => return Ok(Err(e)),
            };
            if n == 0 {
                wait(&stream.subscribe(), deadline, timeout_ms)?;
                continue;
            }
            let k = rest.len().min(usize::try_from(n).unwrap_or(usize::MAX));
            if let Err(e) = stream.write(&rest[..k]) {
                return Ok(Err(e));
            }
            rest = &rest[k..];
        }
        if let Err(e) = stream.flush() {
            return Ok(Err(e));
        }
        loop {
            // Ready once the flush is done (or the stream failed).
            wait(&stream.subscribe(), deadline, timeout_ms)?;
            match stream.check_write() {
                Ok(0) => {}
                Ok(_) => return Ok(Ok(())),
                Err(e) => return Ok(Err(e)),
            }
        }
    }

    pub fn post(
        target: &Target,
        headers: &[(String, Vec<u8>)],
        body: &[u8],
        timeout_ms: u64,
    ) -> Result<Vec<u8>, String> {
        let timeout_ns = timeout_ms.saturating_mul(1_000_000);
        let deadline = monotonic_clock::subscribe_duration(timeout_ns);
        let mut list: Vec<(String, Vec<u8>)> = headers.to_vec();
        if !list.iter().any(|(n, _)| n == "content-type") {
            list.push(("content-type".into(), b"application/json".to_vec()));
        }
        if !list.iter().any(|(n, _)| n == "accept") {
            list.push(("accept".into(), b"application/json".to_vec()));
        }
        list.push(("content-length".into(), body.len().to_string().into_bytes()));
        // Header errors name no value: the values may be API keys.
        let fields = Fields::from_list(&list).map_err(|e| format!("a configured header was refused ({e:?})"))?;
        let req = OutgoingRequest::new(fields);
        req.set_method(&Method::Post).map_err(|()| "cannot set method")?;
        req.set_scheme(Some(if target.https { &Scheme::Https } else { &Scheme::Http }))
            .map_err(|()| "cannot set scheme")?;
        req.set_authority(Some(&target.authority)).map_err(|()| "invalid url authority")?;
        req.set_path_with_query(Some(&target.path_with_query)).map_err(|()| "invalid url path")?;
        let options = RequestOptions::new();
        // Best effort: a host may not support some of these; the deadline above holds anyway.
        let _ = options.set_connect_timeout(Some(timeout_ns));
        let _ = options.set_first_byte_timeout(Some(timeout_ns));
        let _ = options.set_between_bytes_timeout(Some(timeout_ns));
        let out_body = req.body().map_err(|()| "request body unavailable")?;
        let pending = outgoing_handler::handle(req, Some(options)).map_err(|e| format!("request refused: {e:?}"))?;

        // Send the body. `Closed` means the host stopped reading it: the server
        // answered already (or the connection failed), which the answer will tell.
        let closed = {
            let stream = out_body.write().map_err(|()| "request body stream unavailable")?;
            match send(&stream, body, &deadline, timeout_ms)? {
                Ok(()) => false,
                Err(StreamError::Closed) => true,
                Err(e) => return Err(stream_error(e)),
            }
        };
        if let Err(e) = OutgoingBody::finish(out_body, None)
            && !closed
        {
            return Err(format!("request body not accepted: {e:?}"));
        }

        // The answer.
        wait(&pending.subscribe(), &deadline, timeout_ms)?;
        let response = pending
            .get()
            .ok_or("no answer")?
            .map_err(|()| "answer already taken")?
            .map_err(|e| failed(&e, timeout_ms))?;
        let status = response.status();
        let in_body = response.consume().map_err(|()| "answer body unavailable")?;
        let mut data = Vec::new();
        {
            let stream = in_body.stream().map_err(|()| "answer body stream unavailable")?;
            loop {
                match stream.read(64 * 1024) {
                    Ok(chunk) if chunk.is_empty() => wait(&stream.subscribe(), &deadline, timeout_ms)?,
                    Ok(chunk) => {
                        if data.len() + chunk.len() > MAX_RESPONSE_BYTES {
                            return Err(format!("answer larger than {MAX_RESPONSE_BYTES} bytes"));
                        }
                        data.extend_from_slice(&chunk);
                    }
                    Err(StreamError::Closed) => break,
                    Err(e) => return Err(stream_error(e)),
                }
            }
        }
        drop(in_body);
        if !(200..300).contains(&status) {
            return Err(format!("HTTP status {status}"));
        }
        Ok(data)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod http {
    //! Host-target stand-in so unit tests build; the plugin only runs on wasm32.
    use super::Target;

    pub fn log_warn(_message: &str) {}

    pub fn post(_: &Target, _: &[(String, Vec<u8>)], _: &[u8], _: u64) -> Result<Vec<u8>, String> {
        Err("wasi:http is only available in the wasm32-wasip2 build".into())
    }
}

impl Guardrail for Remote {
    fn describe() -> PluginInfo {
        PluginInfo {
            config_schema: Some(SCHEMA.to_string()),
            ..plugin_info(
                "guard-remote",
                env!("CARGO_PKG_VERSION"),
                "Asks a remote detector API (Enkrypt AI guardrails-compatible) about tool arguments and results",
                Stages::INPUT | Stages::OUTPUT,
            )
        }
    }

    fn configure(config_json: &str) -> Result<Self, String> {
        let c: Config = serde_json::from_str(config_json).map_err(|e| format!("invalid config: {e}"))?;
        Remote::from_config(c)
    }

    fn check_input(&self, _: &CallContext, content: &Content) -> Result<Verdict, PluginError> {
        self.check(content)
    }

    fn check_output(&self, _: &CallContext, content: &Content) -> Result<Verdict, PluginError> {
        self.check(content)
    }
}

export_guardrail!(Remote);

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(config: Value) -> Result<Remote, String> {
        Remote::configure(&config.to_string())
    }

    fn content(texts: &[&str]) -> Content {
        Content {
            texts: texts
                .iter()
                .enumerate()
                .map(|(i, t)| TextItem { path: format!("/{i}"), text: t.to_string() })
                .collect(),
            json: String::new(),
        }
    }

    fn detectors(v: &Verdict) -> Vec<String> {
        match v {
            Verdict::Allow => vec![],
            Verdict::Warn(f) | Verdict::Block(f) => f.iter().map(|f| f.detector.clone()).collect(),
            Verdict::Redact(r) => r.findings.iter().map(|f| f.detector.clone()).collect(),
        }
    }

    #[test]
    fn url_is_required_and_checked() {
        assert!(remote(json!({})).err().is_some_and(|e| e.contains("url is required")));
        for bad in [
            "ftp://x/y",
            "api.example.com/detect",
            "http:///detect",
            "http://user:pw@host/x",
            "http://host:99999/x",
            "http://host:0/x",
            "http://ho st/x",
            "http://[::1/x",
        ] {
            assert!(remote(json!({"url": bad})).is_err(), "{bad} accepted");
        }
        let t = parse_url("https://api.enkryptai.com/guardrails/detect").expect("valid");
        assert_eq!(
            t,
            Target { https: true, authority: "api.enkryptai.com".into(), path_with_query: "/guardrails/detect".into() }
        );
        let t = parse_url("HTTP://127.0.0.1:8080?x=1#frag").expect("valid");
        assert_eq!(t, Target { https: false, authority: "127.0.0.1:8080".into(), path_with_query: "/?x=1".into() });
        let t = parse_url("http://[::1]:9000/d").expect("valid");
        assert_eq!(t.authority, "[::1]:9000");
    }

    #[test]
    fn config_is_validated() {
        let ok = json!({"url": "http://127.0.0.1:1/detect"});
        assert!(remote(ok.clone()).is_ok());
        let with = |k: &str, v: Value| {
            let mut c = ok.clone();
            c[k] = v;
            remote(c)
        };
        assert!(with("detectors", json!({})).is_err());
        assert!(with("detectors", json!({"pii": true})).is_err());
        assert!(with("timeout_ms", json!(0)).is_err());
        assert!(with("max_bytes", json!(0)).is_err());
        assert!(with("action", json!("redact")).is_err());
        assert!(with("on_error", json!("ignore")).is_err());
        assert!(with("block_list", json!([""])).is_err());
        assert!(with("bogus", json!(1)).is_err());
        assert!(with("headers", json!({"host": "x"})).is_err());
        assert!(with("headers", json!({"bad name": "x"})).is_err());
        let e = with("headers", json!({"apikey": "sk-secret\r\nx: y"})).err().expect("refused");
        assert!(!e.contains("sk-secret"), "error leaks the header value: {e}");
        let e = with("headers", json!({"apikey": "${ENKRYPT_KEY}"})).err().expect("refused");
        assert!(e.contains("uninterpolated"));
        assert!(with("headers", json!({"apikey": "k", "X-Trace": "1"})).is_ok());
    }

    #[test]
    fn request_body_joins_texts_and_caps_them() {
        let r = remote(json!({"url": "http://h/d", "max_bytes": 10})).expect("config");
        let body: Value =
            serde_json::from_slice(&r.request_body(&content(&["héllo", "world!"])).expect("body")).expect("json");
        // "héllo\nworld!" is 13 bytes; cut to 10 on a character boundary.
        assert_eq!(body["text"], "héllo\nwor");
        assert_eq!(body["detectors"], Value::Object(default_detectors()));
        let r = remote(json!({"url": "http://h/d", "max_bytes": 2})).expect("config");
        let body: Value = serde_json::from_slice(&r.request_body(&content(&["é", "x"])).expect("body")).expect("json");
        assert_eq!(body["text"], "é");
        assert!(r.request_body(&content(&[])).is_none());
        assert!(r.request_body(&content(&["  ", ""])).is_none());
        let r =
            remote(json!({"url": "http://h/d", "detectors": {"nsfw": {"enabled": true, "x": [1]}}})).expect("config");
        let body: Value = serde_json::from_slice(&r.request_body(&content(&["a"])).expect("body")).expect("json");
        assert_eq!(body["detectors"], json!({"nsfw": {"enabled": true, "x": [1]}}));
    }

    #[test]
    fn summary_values_map_to_findings() {
        let r = remote(json!({"url": "http://h/d"})).expect("config");
        let answer = json!({
            "summary": {"injection_attack": 1, "pii": 0, "toxicity": [], "nsfw": false, "bias": null,
                        "policy_violation": {"x": 1}, "keyword_detected": ["kw"], "on_topic": "yes", "sponge": 0.4},
            "details": {"pii": {"email": "a@b.c"}}
        });
        let v = r.verdict(answer.to_string().as_bytes()).expect("verdict");
        assert!(matches!(v, Verdict::Block(_)));
        assert_eq!(
            detectors(&v),
            ["remote.injection_attack", "remote.keyword_detected", "remote.policy_violation", "remote.sponge"]
        );
        if let Verdict::Block(f) = &v {
            assert_eq!(f[0].message, "remote detector injection_attack flagged the text");
            assert!((f[3].score - 0.4).abs() < 1e-6);
        }
        let clean = json!({"summary": {"injection_attack": 0, "pii": 0, "toxicity": []}, "details": {}});
        assert!(matches!(r.verdict(clean.to_string().as_bytes()), Ok(Verdict::Allow)));
        assert!(r.verdict(b"not json").is_err());
        assert!(r.verdict(br#"{"details": {}}"#).is_err());
        // Remote names are sanitized.
        let odd = json!({"summary": {"Weird Name/../x\n": 1}});
        assert_eq!(detectors(&r.verdict(odd.to_string().as_bytes()).expect("verdict")), ["remote.weird_name_.._x_"]);
    }

    #[test]
    fn action_and_block_list_choose_block_or_warn() {
        let answer = json!({"summary": {"injection_attack": 1, "toxicity": ["insult"]}}).to_string();
        let warn = remote(json!({"url": "http://h/d", "action": "warn"})).expect("config");
        assert!(matches!(warn.verdict(answer.as_bytes()), Ok(Verdict::Warn(f)) if f.len() == 2));
        let listed = remote(json!({"url": "http://h/d", "block_list": ["remote.injection_attack"]})).expect("config");
        assert!(matches!(listed.verdict(answer.as_bytes()), Ok(Verdict::Block(f)) if f.len() == 2));
        let only_pii = remote(json!({"url": "http://h/d", "block_list": ["pii"]})).expect("config");
        assert!(matches!(only_pii.verdict(answer.as_bytes()), Ok(Verdict::Warn(f)) if f.len() == 2));
    }

    #[test]
    fn on_error_decides_a_failed_call() {
        // On the host target every call fails (no wasi:http), which exercises on_error.
        let fail = remote(json!({"url": "http://h/d"})).expect("config");
        assert!(fail.check(&content(&["hello"])).is_err());
        assert!(matches!(fail.check(&content(&[""])), Ok(Verdict::Allow)), "nothing to send, nothing to ask");
        let allow = remote(json!({"url": "http://h/d", "on_error": "allow"})).expect("config");
        assert!(matches!(allow.check(&content(&["hello"])), Ok(Verdict::Allow)));
    }

    #[test]
    fn schema_is_json() {
        let s: Value = serde_json::from_str(SCHEMA).expect("schema parses");
        assert_eq!(s["required"], json!(["url"]));
    }
}
