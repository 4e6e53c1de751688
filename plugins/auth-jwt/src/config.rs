//! The plugin's config: parsed, validated and turned into a [`Verifier`].

use crate::keys::{Alg, Jwk, Key, Parsed, short};
use serde::Deserialize;

/// Default and largest clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
const DEFAULT_LEEWAY: u64 = 60;
const MAX_LEEWAY: u64 = 300;
/// Default and largest accepted token size, in bytes.
const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;
const MAX_MAX_TOKEN_BYTES: usize = 64 * 1024;
/// Most keys a config may hold (each may be tried for a token without `kid`).
const MAX_KEYS: usize = 100;

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    issuer: Option<String>,
    #[serde(default)]
    allow_any_issuer: bool,
    audience: Option<OneOrMany>,
    algorithms: Option<Vec<String>>,
    #[serde(default)]
    keys: Vec<Jwk>,
    hs256_secret: Option<String>,
    leeway_seconds: Option<u64>,
    max_token_bytes: Option<usize>,
    principal_claim: Option<String>,
    project_claim: Option<String>,
    scopes_claim: Option<String>,
    scope_prefix: Option<String>,
    default_scopes: Option<Vec<String>>,
    #[serde(default)]
    attribute_claims: Vec<String>,
}

/// A validated config, ready to check tokens.
pub struct Verifier {
    pub issuer: Option<String>,
    pub audiences: Vec<String>,
    pub algorithms: Vec<Alg>,
    pub keys: Vec<Key>,
    pub leeway: u64,
    pub max_token_bytes: usize,
    pub principal_claim: String,
    pub project_claim: Option<String>,
    /// `None`: `scope`, else `scp`.
    pub scopes_claim: Option<String>,
    pub scope_prefix: Option<String>,
    pub default_scopes: Vec<String>,
    pub attribute_claims: Vec<String>,
}

/// A claim name: a top-level name, or a JSON Pointer (starting with `/`) into
/// nested claims.
fn check_claim_name(setting: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("{setting} is empty"));
    }
    Ok(())
}

impl Verifier {
    /// Parse and validate `config_json`. Also returns notes for the operator's log
    /// (keys of the JWKS that were skipped, and why).
    pub fn from_json(config_json: &str) -> Result<(Verifier, Vec<String>), String> {
        let config: Config = serde_json::from_str(config_json).map_err(|e| format!("invalid config: {e}"))?;
        let mut notes = Vec::new();

        let issuer = match (config.issuer, config.allow_any_issuer) {
            (Some(iss), _) if iss.is_empty() => return Err("issuer is empty".into()),
            (Some(iss), _) => Some(iss),
            (None, true) => None,
            (None, false) => {
                return Err("issuer is required (the `iss` every token must carry); \
                            set allow_any_issuer = true to accept tokens of any issuer the keys trust"
                    .into());
            }
        };
        let audiences = match config.audience {
            None => return Err("audience is required (the `aud` value that tokens for this gateway carry)".into()),
            Some(OneOrMany::One(a)) => vec![a],
            Some(OneOrMany::Many(a)) => a,
        };
        if audiences.is_empty() || audiences.iter().any(String::is_empty) {
            return Err("audience must be a non-empty string or a list of them".into());
        }

        let mut keys = Vec::new();
        if let Some(secret) = &config.hs256_secret {
            keys.push(Key::hmac_secret(secret)?);
        }
        if config.keys.len() > MAX_KEYS {
            return Err(format!("keys: at most {MAX_KEYS} keys are accepted"));
        }
        for (i, jwk) in config.keys.iter().enumerate() {
            let name = match &jwk.kid {
                Some(kid) => format!("keys[{i}] (kid \"{}\")", short(kid)),
                None => format!("keys[{i}]"),
            };
            match Key::from_jwk(jwk).map_err(|e| format!("{name}: {e}"))? {
                Parsed::Key(key) => keys.push(key),
                Parsed::Skipped(why) => notes.push(format!("{name} skipped: {why}")),
            }
        }
        if keys.is_empty() {
            return Err("no verification key: configure `keys` (a JWKS) or `hs256_secret`".into());
        }

        let with_keys: Vec<Alg> =
            Alg::ALL.into_iter().filter(|a| keys.iter().any(|k| k.material.alg() == *a)).collect();
        let algorithms = match config.algorithms {
            None => with_keys,
            Some(names) => {
                let mut algs = Vec::new();
                for name in &names {
                    let alg = Alg::parse(name).ok_or_else(|| match name.to_ascii_lowercase().as_str() {
                        "none" => "algorithms: \"none\" (unsigned tokens) is never accepted".to_string(),
                        _ => format!("algorithms: \"{}\" is not supported (HS256, RS256, ES256)", short(name)),
                    })?;
                    if !with_keys.contains(&alg) {
                        return Err(format!("algorithms: {} is allowed but no key for it is configured", alg.name()));
                    }
                    if !algs.contains(&alg) {
                        algs.push(alg);
                    }
                }
                if algs.is_empty() {
                    return Err("algorithms is empty: no token could ever be accepted".into());
                }
                algs
            }
        };

        let leeway = config.leeway_seconds.unwrap_or(DEFAULT_LEEWAY);
        if leeway > MAX_LEEWAY {
            return Err(format!("leeway_seconds must be at most {MAX_LEEWAY}"));
        }
        let max_token_bytes = config.max_token_bytes.unwrap_or(DEFAULT_MAX_TOKEN_BYTES);
        if !(1024..=MAX_MAX_TOKEN_BYTES).contains(&max_token_bytes) {
            return Err(format!("max_token_bytes must be between 1024 and {MAX_MAX_TOKEN_BYTES}"));
        }

        let principal_claim = config.principal_claim.unwrap_or_else(|| "sub".into());
        check_claim_name("principal_claim", &principal_claim)?;
        for (setting, name) in [("project_claim", &config.project_claim), ("scopes_claim", &config.scopes_claim)] {
            if let Some(name) = name {
                check_claim_name(setting, name)?;
            }
        }
        for name in &config.attribute_claims {
            check_claim_name("attribute_claims[]", name)?;
        }
        if config.scope_prefix.as_deref() == Some("") {
            return Err("scope_prefix is empty (leave it out to use every scope)".into());
        }
        let default_scopes = config.default_scopes.unwrap_or_default();
        if default_scopes.iter().any(String::is_empty) {
            return Err("default_scopes holds an empty scope".into());
        }

        Ok((
            Verifier {
                issuer,
                audiences,
                algorithms,
                keys,
                leeway,
                max_token_bytes,
                principal_claim,
                project_claim: config.project_claim,
                scopes_claim: config.scopes_claim,
                scope_prefix: config.scope_prefix,
                default_scopes,
                attribute_claims: config.attribute_claims,
            },
            notes,
        ))
    }
}

/// JSON Schema of the config, published by `describe`.
pub const SCHEMA: &str = r##"{
  "type": "object",
  "additionalProperties": false,
  "required": ["audience"],
  "properties": {
    "issuer": {"type": "string", "minLength": 1, "description": "Required `iss` of every token (required unless allow_any_issuer)."},
    "allow_any_issuer": {"type": "boolean", "default": false, "description": "Accept tokens of any issuer that the configured keys trust."},
    "audience": {"description": "Accepted `aud`: the token's audience must contain one of these.",
      "oneOf": [{"type": "string", "minLength": 1}, {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}]},
    "algorithms": {"type": "array", "minItems": 1, "items": {"enum": ["HS256", "RS256", "ES256"]},
      "description": "Accepted `alg` values; default: every algorithm that has a key."},
    "keys": {"type": "array", "maxItems": 100, "description": "A JWKS `keys` array (public keys only; `use` other than `sig` and unsupported key types are skipped).",
      "items": {"type": "object", "required": ["kty"], "properties": {
        "kty": {"type": "string", "description": "RSA, EC (crv P-256) or oct; other types are skipped"}, "kid": {"type": "string"}, "alg": {"type": "string"}, "use": {"type": "string"},
        "n": {"type": "string"}, "e": {"type": "string"}, "crv": {"type": "string"}, "x": {"type": "string"}, "y": {"type": "string"},
        "k": {"type": "string", "description": "base64url HMAC key, at least 32 bytes"}}}},
    "hs256_secret": {"type": "string", "minLength": 32, "description": "Shared HS256 secret (its UTF-8 bytes), at least 32 bytes."},
    "leeway_seconds": {"type": "integer", "minimum": 0, "maximum": 300, "default": 60, "description": "Clock skew tolerated on exp, nbf and iat."},
    "max_token_bytes": {"type": "integer", "minimum": 1024, "maximum": 65536, "default": 16384},
    "principal_claim": {"type": "string", "minLength": 1, "default": "sub", "description": "Claim that names the principal (a name, or a JSON Pointer such as /user/id)."},
    "project_claim": {"type": "string", "minLength": 1, "description": "Claim that names the principal's project or tenant."},
    "scopes_claim": {"type": "string", "minLength": 1, "description": "Claim holding the scopes (space-separated string or array); default: `scope`, else `scp`."},
    "scope_prefix": {"type": "string", "minLength": 1, "description": "Use only the scopes starting with this prefix (e.g. `mcp:`), prefix removed."},
    "default_scopes": {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "Scopes of a token that has no scopes claim at all (default: none, so it may use nothing)."},
    "attribute_claims": {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "Claims copied into the principal's attributes (arrays joined by commas)."}
  }
}"##;
