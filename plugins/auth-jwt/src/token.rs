//! Finding the token in the request and taking it apart (JWS compact form).

use crate::keys::{Alg, short};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// The bearer token of `Authorization: Bearer TOKEN`, if any (first such header).
pub fn bearer(headers: &[(String, String)]) -> Option<&str> {
    headers.iter().find_map(|(name, value)| {
        if name != "authorization" {
            return None;
        }
        let (scheme, rest) = value.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
    })
}

fn is_b64url(segment: &str) -> bool {
    segment.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The three segments of `token` when it looks like a JWS in compact form: three
/// base64url segments (the signature may be empty, as in `alg: none` tokens, so that
/// those are refused here rather than handed to the next provider) whose header
/// decodes to a JSON object. Anything else is not a JWT, and perhaps an API key.
pub fn split(token: &str) -> Option<[&str; 3]> {
    let mut parts = token.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || h.is_empty() || p.is_empty() || ![h, p, s].iter().all(|x| is_b64url(x)) {
        return None;
    }
    // A JSON object starts with `{`, which base64url-encodes to `ey` (no leading
    // whitespace in practice). Decoding the first 4 characters (3 bytes) suffices.
    let start = URL_SAFE_NO_PAD.decode(h.get(..4)?).ok()?;
    let first = start.iter().find(|b| !b.is_ascii_whitespace())?;
    (*first == b'{').then_some([h, p, s])
}

/// Decode a segment that must hold a JSON object with at most `max_members`.
pub fn json_object(segment: &str, what: &str, max_members: usize) -> Result<Map<String, Value>, String> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).map_err(|_| format!("malformed token: {what} is not base64url"))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) if map.len() <= max_members => Ok(map),
        Ok(Value::Object(_)) => Err(format!("token {what} has more than {max_members} members")),
        _ => Err(format!("malformed token: {what} is not a JSON object")),
    }
}

/// The protected header, as far as verification needs it.
pub struct Header {
    pub alg: Alg,
    pub kid: Option<String>,
}

/// Read the header's `alg` and `kid`, refusing what this plugin must not accept.
pub fn header(map: &Map<String, Value>) -> Result<Header, String> {
    let alg = match map.get("alg") {
        Some(Value::String(name)) => name,
        Some(_) => return Err("malformed token: \"alg\" is not a string".into()),
        None => return Err("malformed token: no \"alg\" in the header".into()),
    };
    if alg.eq_ignore_ascii_case("none") {
        return Err("unsigned token (alg \"none\") refused".into());
    }
    let alg = Alg::parse(alg).ok_or_else(|| format!("algorithm \"{}\" is not supported", printable(alg)))?;
    // RFC 7515 §4.1.11: extensions listed in `crit` must be understood; this plugin
    // understands none (this also refuses the unencoded payloads of RFC 7797).
    if map.contains_key("crit") {
        return Err("token header has critical extensions (\"crit\"), none of which are supported".into());
    }
    let kid = match map.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err("malformed token: \"kid\" is not a string".into()),
    };
    Ok(Header { alg, kid })
}

/// `s` shortened and stripped of control characters, for a log message.
fn printable(s: &str) -> String {
    short(s).chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// Decode the signature segment.
pub fn signature(segment: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD.decode(segment).map_err(|_| "malformed token: signature is not base64url".to_string())
}
