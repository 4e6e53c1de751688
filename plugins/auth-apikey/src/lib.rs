//! `auth-apikey`: authenticates callers by API key.
//!
//! The key is read from `Authorization: Bearer KEY` or `X-API-Key: KEY`. Keys are
//! configured only as SHA-256 hashes; the presented key is hashed and compared with
//! every configured hash in constant time (no early exit, no position leak). A
//! disabled or expired key is refused. Config:
//! `{ "keys": [ { "id": "alice", "sha256": "<hex>", "project": "p", "scopes": ["..."],
//!   "expires_at": <unix seconds>, "disabled": false } ] }`.

wit_bindgen::generate!({ path: "../../wit", world: "auth-provider" });

use exports::warden::plugin::auth::{AuthError, AuthRequest, Guest as Auth};
use exports::warden::plugin::lifecycle::Guest as Lifecycle;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use warden::plugin::types::{ContentForms, PluginInfo, Principal, Stages};

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

thread_local! {
    static KEYS: RefCell<Vec<Key>> = const { RefCell::new(Vec::new()) };
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

/// Equal in time independent of where the inputs differ.
fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
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

struct Plugin;

impl Lifecycle for Plugin {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "auth-apikey".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "API keys stored as SHA-256 hashes, compared in constant time".into(),
            stages: Stages::empty(),
            content_forms: ContentForms::empty(),
            config_schema: Some(
                r#"{"type":"object","required":["keys"],"properties":{"keys":{"type":"array","items":{"type":"object","required":["id","sha256"],"properties":{"id":{"type":"string"},"sha256":{"type":"string","pattern":"^[0-9a-fA-F]{64}$"},"project":{"type":"string"},"scopes":{"type":"array","items":{"type":"string"}},"expires_at":{"type":"integer"},"disabled":{"type":"boolean"}}}}}}"#.into(),
            ),
        }
    }

    fn configure(config_json: String) -> Result<(), String> {
        let config: Config = serde_json::from_str(&config_json).map_err(|e| format!("invalid config: {e}"))?;
        let mut keys = Vec::with_capacity(config.keys.len());
        for (i, k) in config.keys.into_iter().enumerate() {
            let hash = parse_hex(&k.sha256).ok_or_else(|| format!("keys[{i}].sha256 is not 64 hex digits"))?;
            if k.id.is_empty() {
                return Err(format!("keys[{i}].id is empty"));
            }
            keys.push(Key { hash, config: k });
        }
        KEYS.with(|k| *k.borrow_mut() = keys);
        Ok(())
    }
}

impl Auth for Plugin {
    fn authenticate(request: AuthRequest) -> Result<Principal, AuthError> {
        let Some(key) = presented(&request.headers) else {
            return Err(AuthError::NoCredentials);
        };
        if key.is_empty() {
            return Err(AuthError::Rejected("empty API key".into()));
        }
        // A JWT is another provider's credential (auth-jwt): pass, so its reason
        // (expired, wrong audience) is the one reported, not "unknown API key".
        if looks_like_jwt(key) {
            return Err(AuthError::NoCredentials);
        }
        let hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        KEYS.with(|keys| {
            let keys = keys.borrow();
            // Compare against every key, remembering the match, so the time taken does
            // not depend on which key (if any) matched.
            let mut found = None;
            for (i, k) in keys.iter().enumerate() {
                if ct_eq(&k.hash, &hash) {
                    found = Some(i);
                }
            }
            let key = &keys[found.ok_or_else(|| AuthError::Rejected("unknown API key".into()))?].config;
            if key.disabled {
                return Err(AuthError::Rejected(format!("API key {} is disabled", key.id)));
            }
            if key.expires_at.is_some_and(|t| request.now_unix >= t) {
                return Err(AuthError::Rejected(format!("API key {} has expired", key.id)));
            }
            Ok(Principal {
                id: key.id.clone(),
                project: key.project.clone(),
                scopes: key.scopes.clone(),
                attributes: vec![("auth".into(), "apikey".into())],
            })
        })
    }
}

export!(Plugin);
