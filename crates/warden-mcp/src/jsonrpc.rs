//! Screening of every message a client sends, before rmcp parses it (HTTP `/mcp`
//! POST bodies and stdio lines): bounded size and nesting, valid UTF-8 and JSON, one
//! JSON-RPC 2.0 message of the shape MCP allows. rmcp answers most of these faults
//! with a plain-text 415 or not at all (stdio); here each gets the JSON-RPC error the
//! spec names (-32700 parse error, -32600 invalid request, -32602 invalid params),
//! with the request's id when it has a usable one.
//!
//! Batches (a JSON array) are refused: MCP 2025-06-18 removed JSON-RPC batching and
//! rmcp cannot process them, so a clear -32600 beats a silent drop.

use serde_json::{Value, json};

/// Limits on one incoming message.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest message, in bytes (an HTTP body or a stdio line).
    pub max_bytes: usize,
    /// Deepest nesting of arrays and objects.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: DEFAULT_MAX_BYTES, max_depth: DEFAULT_MAX_DEPTH }
    }
}

/// 4 MiB: far above any real tool call, small enough to bound memory per request.
pub const DEFAULT_MAX_BYTES: usize = 4 * 1024 * 1024;
/// Below serde_json's own recursion limit (128), so the depth error is ours and clear.
pub const DEFAULT_MAX_DEPTH: usize = 64;

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const INVALID_PARAMS: i64 = -32602;

/// Why a message was refused, as a JSON-RPC error.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub code: i64,
    pub message: String,
    /// The request's id when it had a valid one; else the error carries `null`.
    pub id: Option<Value>,
}

impl Rejection {
    fn new(code: i64, message: impl Into<String>, id: Option<Value>) -> Self {
        Rejection { code, message: message.into(), id }
    }

    /// The JSON-RPC error response.
    pub fn to_json(&self) -> Value {
        json!({
            "jsonrpc": "2.0",
            "id": self.id.clone().unwrap_or(Value::Null),
            "error": {"code": self.code, "message": self.message},
        })
    }
}

/// A message too large to read (the caller stopped reading at `max_bytes`).
pub fn too_large(max_bytes: usize) -> Rejection {
    Rejection::new(INVALID_REQUEST, format!("message larger than the limit of {max_bytes} bytes"), None)
}

/// The parsed message, if it is one JSON-RPC message MCP can carry.
pub fn screen(bytes: &[u8], limits: Limits) -> Result<Value, Rejection> {
    if bytes.len() > limits.max_bytes {
        return Err(too_large(limits.max_bytes));
    }
    // Depth first, without recursion, so no input can exhaust a stack.
    if nesting(bytes) > limits.max_depth {
        let message = format!("JSON nested deeper than the limit of {}", limits.max_depth);
        return Err(Rejection::new(PARSE_ERROR, message, None));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        let what = if std::str::from_utf8(bytes).is_err() { "invalid UTF-8" } else { "invalid JSON" };
        // serde's message names a position, never the input's content.
        Rejection::new(PARSE_ERROR, format!("parse error: {what} ({e})"), None)
    })?;
    shape(&value)?;
    Ok(value)
}

/// Deepest nesting of `[`/`{` outside strings. Counts brackets only (the parser
/// checks the rest), so it is linear and bounded.
fn nesting(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// One JSON-RPC 2.0 request, notification or response, with MCP's rules: ids are
/// strings or integers, params an object.
fn shape(value: &Value) -> Result<(), Rejection> {
    let object = match value {
        Value::Object(o) => o,
        Value::Array(_) => {
            return Err(Rejection::new(
                INVALID_REQUEST,
                "JSON-RPC batches are not supported (MCP 2025-06-18 removed batching): send one message per request",
                None,
            ));
        }
        _ => return Err(Rejection::new(INVALID_REQUEST, "a JSON-RPC message must be a JSON object", None)),
    };
    let id = match object.get("id") {
        None => None,
        Some(id @ Value::String(_)) => Some(id.clone()),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(Value::Number(n.clone())),
        Some(_) => return Err(Rejection::new(INVALID_REQUEST, "\"id\" must be a string or an integer", None)),
    };
    let invalid = |message: &str| Err(Rejection::new(INVALID_REQUEST, message, id.clone()));
    if object.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return invalid("\"jsonrpc\" must be \"2.0\"");
    }
    match object.get("method") {
        Some(Value::String(method)) => {
            if object.contains_key("result") || object.contains_key("error") {
                return invalid("a request has no \"result\" or \"error\"");
            }
            match object.get("params") {
                None | Some(Value::Object(_)) => {}
                Some(_) => return Err(Rejection::new(INVALID_PARAMS, "\"params\" must be an object", id)),
            }
            method_params(method, object.get("params"), id.as_ref())
        }
        Some(_) => invalid("\"method\" must be a string"),
        None if id.is_none() => invalid("a message needs a \"method\" (request, notification) or an \"id\" (response)"),
        None => match (object.get("result"), object.get("error")) {
            (Some(_), None) => Ok(()),
            (None, Some(Value::Object(e))) if e.get("code").is_some_and(Value::is_i64) => Ok(()),
            _ => invalid("a response needs a \"result\" or an \"error\" with a code, not both"),
        },
    }
}

/// Params rmcp would otherwise misread as an unknown method (-32601): the fields a
/// method cannot do without, with the right types.
fn method_params(method: &str, params: Option<&Value>, id: Option<&Value>) -> Result<(), Rejection> {
    let field = |name: &str| params.and_then(|p| p.get(name));
    let invalid = |message: String| Err(Rejection::new(INVALID_PARAMS, message, id.cloned()));
    let (required, optional_object): (&[&str], &[&str]) = match method {
        "tools/call" | "prompts/get" => (&["name"], &["arguments"]),
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => (&["uri"], &[]),
        _ => return Ok(()),
    };
    for name in required {
        if !field(name).is_some_and(Value::is_string) {
            return invalid(format!("{method}: \"{name}\" must be a string"));
        }
    }
    for name in optional_object {
        if field(name).is_some_and(|v| !v.is_object() && !v.is_null()) {
            return invalid(format!("{method}: \"{name}\" must be an object"));
        }
    }
    Ok(())
}

/// Is this a request other than `initialize`/`ping` from a client that did not
/// initialize? Requests of the stateless 2026 revision (`server/discover`, and any
/// carrying its protocol version in `_meta`) need no initialize.
pub fn needs_initialize(message: &Value) -> bool {
    let Some(method) = message.get("method").and_then(Value::as_str) else { return false };
    if message.get("id").is_none() || matches!(method, "initialize" | "ping" | "server/discover") {
        return false;
    }
    let meta = message.pointer("/params/_meta/io.modelcontextprotocol~1protocolVersion");
    meta.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(bytes: &[u8]) -> Option<i64> {
        screen(bytes, Limits::default()).err().map(|r| r.code)
    }

    #[test]
    fn each_fault_gets_its_code() {
        assert_eq!(code(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#), None);
        assert_eq!(code(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#), None);
        assert_eq!(code(br#"{"jsonrpc":"2.0","id":"a","result":{}}"#), None);
        assert_eq!(code(br#"{"jsonrpc":"2.0","id":"a","error":{"code":-1,"message":"x"}}"#), None);
        assert_eq!(code(b"not json"), Some(PARSE_ERROR));
        assert_eq!(code(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\xffng\"}"), Some(PARSE_ERROR));
        assert_eq!(code(br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#), Some(INVALID_REQUEST));
        assert_eq!(code(br#"{"jsonrpc":"2.0","id":1}"#), Some(INVALID_REQUEST));
        assert_eq!(code(br#"{"jsonrpc":"2.0"}"#), Some(INVALID_REQUEST));
        assert_eq!(code(br#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#), Some(INVALID_REQUEST));
        assert_eq!(code(br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#), Some(INVALID_REQUEST));
        assert_eq!(code(br#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#), Some(INVALID_REQUEST));
        assert_eq!(code(br#"{"jsonrpc":"2.0","id":1,"method":7}"#), Some(INVALID_REQUEST));
        assert_eq!(code(br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}"#), Some(INVALID_PARAMS));
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":5}}"#),
            Some(INVALID_PARAMS)
        );
        let args = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":[1]}}"#;
        assert_eq!(code(args), Some(INVALID_PARAMS));
        assert_eq!(code(b"42"), Some(INVALID_REQUEST));
    }

    #[test]
    fn the_id_is_kept_when_usable() {
        let r = screen(br#"{"jsonrpc":"2.0","id":"x7","method":5}"#, Limits::default()).expect_err("refused");
        assert_eq!(r.to_json()["id"], "x7");
        let r = screen(b"nope", Limits::default()).expect_err("refused");
        assert_eq!(r.to_json()["id"], Value::Null);
    }

    #[test]
    fn depth_and_size_are_bounded_without_recursion() {
        let deep = format!("{}{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
        assert_eq!(code(deep.as_bytes()), Some(PARSE_ERROR));
        // Brackets inside strings do not count.
        let quoted = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"s":"{}"}}}}"#, "[".repeat(500));
        assert_eq!(code(quoted.as_bytes()), None);
        let small = Limits { max_bytes: 10, max_depth: 64 };
        assert_eq!(
            screen(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, small).expect_err("too large").code,
            INVALID_REQUEST
        );
    }

    #[test]
    fn only_uninitialized_requests_need_initialize() {
        assert!(needs_initialize(&json!({"jsonrpc":"2.0","id":1,"method":"tools/list"})));
        assert!(!needs_initialize(&json!({"jsonrpc":"2.0","id":1,"method":"initialize"})));
        assert!(!needs_initialize(&json!({"jsonrpc":"2.0","id":1,"method":"ping"})));
        assert!(!needs_initialize(&json!({"jsonrpc":"2.0","id":1,"method":"server/discover"})));
        assert!(!needs_initialize(&json!({"jsonrpc":"2.0","method":"notifications/initialized"})));
        let stateless = json!({"jsonrpc":"2.0","id":1,"method":"tools/list",
            "params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}});
        assert!(!needs_initialize(&stateless));
    }
}
