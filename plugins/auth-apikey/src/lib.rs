//! `auth-apikey`: authenticates callers by API key.
//!
//! The key is read from `Authorization: Bearer KEY` or `X-API-Key: KEY`. Keys are
//! configured only as SHA-256 hashes; the presented key is hashed and compared with
//! every configured hash in constant time (no early exit, no position leak). A
//! disabled or expired key is refused. Config:
//! `{ "keys": [ { "id": "alice", "sha256": "<hex>", "project": "p", "scopes": ["..."],
//!   "expires_at": <unix seconds>, "disabled": false } ] }`.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use warden_plugin_sdk::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    keys: Vec<KeyConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyConfig {
    id: String,
    sha256: String,
    project: Option<String>,
    /// What the key may use (`SERVER/TOOL` globs, see warden-core's scope module);
    /// everything when absent, nothing when empty.
    #[serde(default = "everything")]
    scopes: Vec<String>,
    expires_at: Option<u64>,
    #[serde(default)]
    disabled: bool,
}

fn everything() -> Vec<String> {
    vec!["*".to_string()]
}

struct Key {
    hash: [u8; 32],
    config: KeyConfig,
}

struct ApiKeys {
    keys: Vec<Key>,
}

fn parse_hex(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The presented key, if any: `Authorization: Bearer KEY` or `X-API-Key: KEY`.
fn presented(headers: &[(String, String)]) -> Option<&str> {
    headers.iter().find_map(|(name, value)| match name.as_str() {
        "authorization" => {
            let (scheme, rest) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        }
        "x-api-key" => Some(value.trim()),
        _ => None,
    })
}

/// Three base64url segments, the first a JSON object (`eyJ` is base64 of `{"`).
fn looks_like_jwt(value: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    parts.len() == 3
        && value.starts_with("eyJ")
        && parts[..2].iter().all(|p| !p.is_empty())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl Auth for ApiKeys {
    fn describe() -> PluginInfo {
        PluginInfo::provider(
            "auth-apikey",
            env!("CARGO_PKG_VERSION"),
            "API keys stored as SHA-256 hashes, compared in constant time",
        )
        .with_config_schema(
            r#"{"type":"object","required":["keys"],"properties":{"keys":{"type":"array","items":{"type":"object","required":["id","sha256"],"properties":{"id":{"type":"string"},"sha256":{"type":"string","pattern":"^[0-9a-fA-F]{64}$"},"project":{"type":"string"},"scopes":{"type":"array","items":{"type":"string"}},"expires_at":{"type":"integer"},"disabled":{"type":"boolean"}}}}}}"#,
        )
    }

    fn configure(config_json: &str) -> Result<Self, String> {
        let config: Config = parse_config(config_json)?;
        let mut keys = Vec::with_capacity(config.keys.len());
        for (i, k) in config.keys.into_iter().enumerate() {
            let hash = parse_hex(&k.sha256).ok_or_else(|| format!("keys[{i}].sha256 is not 64 hex digits"))?;
            if k.id.is_empty() {
                return Err(format!("keys[{i}].id is empty"));
            }
            keys.push(Key { hash, config: k });
        }
        Ok(ApiKeys { keys })
    }

    fn authenticate(&self, request: &AuthRequest) -> Result<Principal, AuthError> {
        let Some(key) = presented(&request.headers) else {
            return Err(AuthError::NoCredentials);
        };
        if key.is_empty() {
            return Err(AuthError::rejected("empty API key"));
        }
        // A JWT is another provider's credential (auth-jwt): pass, so its reason
        // (expired, wrong audience) is the one reported, not "unknown API key".
        if looks_like_jwt(key) {
            return Err(AuthError::NoCredentials);
        }
        let hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        // Compare against every key, remembering the match, so the time taken does
        // not depend on which key (if any) matched.
        let mut found = None;
        for (i, k) in self.keys.iter().enumerate() {
            if constant_time_eq(&k.hash, &hash) {
                found = Some(i);
            }
        }
        let key = &self.keys[found.ok_or_else(|| AuthError::rejected("unknown API key"))?].config;
        if key.disabled {
            return Err(AuthError::rejected(format!("API key {} is disabled", key.id)));
        }
        if key.expires_at.is_some_and(|t| request.now_unix >= t) {
            return Err(AuthError::rejected(format!("API key {} has expired", key.id)));
        }
        Ok(Principal {
            id: key.id.clone(),
            project: key.project.clone(),
            scopes: key.scopes.clone(),
            attributes: vec![("auth".into(), "apikey".into())],
        })
    }
}

export_auth!(ApiKeys);
