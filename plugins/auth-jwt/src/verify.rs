//! Checking one token: signature first, then the registered claims, then the
//! mapping of claims to a principal.

use crate::config::Verifier;
use crate::keys::Key;
use crate::token;
use serde_json::Value;
use warden_plugin_sdk::AuthError;
use warden_plugin_sdk::Principal;

/// Most members in the header, and claims in the payload.
const MAX_HEADER_MEMBERS: usize = 32;
const MAX_CLAIMS: usize = 256;
/// Most entries of an array claim read (`aud`, scopes) and the longest principal id.
const MAX_ARRAY: usize = 256;
const MAX_ID_BYTES: usize = 1024;
/// Most keys tried for one token. A 4096-bit RS256 check costs about 30 million
/// units of fuel (ES256: 16 million) of the default 1e9 per call.
const MAX_TRIED: usize = 8;

/// How every rejection for a `kid` that no configured key has begins. A stable
/// signal: the host refetches a `jwks_url` when it sees it (the identity provider
/// may have rotated its keys), so do not reword it.
pub const UNKNOWN_KID: &str = "unknown key id";

fn rejected(why: impl Into<String>) -> AuthError {
    AuthError::Rejected(why.into())
}

/// The claim `name`: a top-level claim, or a JSON Pointer (RFC 6901) into nested
/// ones, such as `/realm_access/roles`.
fn claim<'a>(claims: &'a Value, name: &str) -> Option<&'a Value> {
    if name.starts_with('/') { claims.pointer(name) } else { claims.get(name) }
}

/// A NumericDate claim (RFC 7519 §2: seconds, possibly fractional).
fn date(claims: &Value, name: &str) -> Result<Option<f64>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or_else(|| rejected(format!("claim `{name}` is not a number"))),
    }
}

/// A claim value as an attribute string: strings as they are, numbers and booleans
/// printed, arrays of those joined by commas, anything else as compact JSON.
fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .take(MAX_ARRAY)
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

/// The scopes of a space-separated string or an array of strings.
fn scope_list(name: &str, value: &Value) -> Result<Vec<String>, AuthError> {
    let bad = || rejected(format!("claim `{name}` is neither a space-separated string nor an array of strings"));
    match value {
        Value::String(s) => Ok(s.split_ascii_whitespace().take(MAX_ARRAY).map(str::to_string).collect()),
        Value::Array(items) => {
            items.iter().take(MAX_ARRAY).map(|v| v.as_str().map(|s| s.trim().to_string()).ok_or_else(bad)).collect()
        }
        _ => Err(bad()),
    }
}

impl Verifier {
    /// Establish the principal from the request's bearer token.
    pub fn authenticate(&self, headers: &[(String, String)], now: u64) -> Result<Principal, AuthError> {
        let token = token::bearer(headers).ok_or(AuthError::NoCredentials)?;
        let [h, p, s] = token::split(token).ok_or(AuthError::NoCredentials)?;
        if token.len() > self.max_token_bytes {
            return Err(rejected(format!("token larger than {} bytes", self.max_token_bytes)));
        }
        let header = token::json_object(h, "header", MAX_HEADER_MEMBERS).map_err(rejected)?;
        let header = token::header(&header).map_err(rejected)?;
        if !self.algorithms.contains(&header.alg) {
            return Err(rejected(format!("algorithm {} is not allowed", header.alg.name())));
        }
        let (candidates, kid_known) = self.candidates(header.kid.as_deref(), header.alg)?;
        let signature = token::signature(s).map_err(rejected)?;
        // The signing input is the token up to the second dot, as it was sent.
        let signing_input = &token.as_bytes()[..h.len() + 1 + p.len()];
        // Try every candidate (no early exit), so timing does not tell which matched.
        let verified = candidates.iter().fold(false, |ok, key| key.verify(header.alg, signing_input, &signature) | ok);
        if !verified {
            // A kid that fell back to the keys without an id and failed there too is
            // still a key this config does not have: say so, so a JWKS gets refetched.
            return Err(rejected(if kid_known {
                "bad signature".to_string()
            } else {
                format!("{UNKNOWN_KID}: no key without an id verifies the token either")
            }));
        }

        let claims = Value::Object(token::json_object(p, "payload", MAX_CLAIMS).map_err(rejected)?);
        self.check_claims(&claims, now)?;
        self.principal(&claims)
    }

    /// The keys that may have signed a token with this `kid` and `alg`: with a
    /// `kid`, the keys of that id (or, when none has it, the keys without an id, such
    /// as `hs256_secret`); without one, every key. Only keys of `alg`'s type. Also
    /// whether the token's `kid`, if any, named a configured key.
    fn candidates(&self, kid: Option<&str>, alg: crate::keys::Alg) -> Result<(Vec<&Key>, bool), AuthError> {
        let of_alg = || self.keys.iter().filter(move |k| k.material.alg() == alg);
        let (keys, kid_known): (Vec<&Key>, bool) = match kid {
            Some(kid) => {
                let named: Vec<&Key> = self.keys.iter().filter(|k| k.kid.as_deref() == Some(kid)).collect();
                if named.is_empty() {
                    let anonymous: Vec<&Key> = of_alg().filter(|k| k.kid.is_none()).collect();
                    if anonymous.is_empty() {
                        return Err(rejected(UNKNOWN_KID));
                    }
                    (anonymous, false)
                } else {
                    let fitting: Vec<&Key> = named.into_iter().filter(|k| k.material.alg() == alg).collect();
                    if fitting.is_empty() {
                        return Err(rejected(format!("key id does not name a {} key", alg.name())));
                    }
                    (fitting, true)
                }
            }
            None => (of_alg().collect(), true),
        };
        if keys.is_empty() {
            return Err(rejected(format!("no {} key configured", alg.name())));
        }
        if keys.len() > MAX_TRIED {
            return Err(rejected(format!(
                "{} {} keys could have signed this token; give it a key id (`kid`): at most {MAX_TRIED} keys are tried",
                keys.len(),
                alg.name()
            )));
        }
        Ok((keys, kid_known))
    }

    fn check_claims(&self, claims: &Value, now: u64) -> Result<(), AuthError> {
        let (now, leeway) = (now as f64, self.leeway as f64);
        match date(claims, "exp")? {
            None => return Err(rejected("token has no expiry (`exp`)")),
            Some(exp) if exp + leeway <= now => return Err(rejected("token expired")),
            Some(_) => {}
        }
        if date(claims, "nbf")?.is_some_and(|nbf| nbf > now + leeway) {
            return Err(rejected("token not yet valid (`nbf` in the future)"));
        }
        if date(claims, "iat")?.is_some_and(|iat| iat > now + leeway) {
            return Err(rejected("token issued in the future (`iat`)"));
        }
        if let Some(issuer) = &self.issuer {
            match claims.get("iss") {
                Some(Value::String(iss)) if iss == issuer => {}
                Some(_) => return Err(rejected("wrong issuer")),
                None => return Err(rejected("token has no issuer (`iss`)")),
            }
        }
        let accepted = |a: &str| self.audiences.iter().any(|x| x == a);
        let audience_ok = match claims.get("aud") {
            None => return Err(rejected("token has no audience (`aud`)")),
            Some(Value::String(aud)) => accepted(aud),
            Some(Value::Array(auds)) => auds.iter().take(MAX_ARRAY).any(|a| a.as_str().is_some_and(accepted)),
            Some(_) => return Err(rejected("claim `aud` is neither a string nor an array")),
        };
        if !audience_ok {
            return Err(rejected("wrong audience"));
        }
        Ok(())
    }

    fn principal(&self, claims: &Value) -> Result<Principal, AuthError> {
        let name = &self.principal_claim;
        let id = match claim(claims, name) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => return Err(rejected(format!("claim `{name}` is not a non-empty string"))),
            None => return Err(rejected(format!("token has no `{name}` claim to identify the principal"))),
        };
        if id.len() > MAX_ID_BYTES {
            return Err(rejected(format!("claim `{name}` is longer than {MAX_ID_BYTES} bytes")));
        }
        let project =
            self.project_claim.as_deref().and_then(|c| claim(claims, c)).map(as_text).filter(|p| !p.is_empty());

        let raw = match &self.scopes_claim {
            Some(c) => claim(claims, c).map(|v| (c.as_str(), v)),
            None => claims.get("scope").map(|v| ("scope", v)).or_else(|| claims.get("scp").map(|v| ("scp", v))),
        };
        let scopes = match raw {
            None => self.default_scopes.clone(),
            Some((name, value)) => {
                let list = scope_list(name, value)?;
                match &self.scope_prefix {
                    None => list.into_iter().filter(|s| !s.is_empty()).collect(),
                    Some(prefix) => list
                        .into_iter()
                        .filter_map(|s| s.strip_prefix(prefix.as_str()).map(str::to_string))
                        .filter(|s| !s.is_empty())
                        .collect(),
                }
            }
        };

        let mut attributes = vec![("auth".to_string(), "jwt".to_string())];
        for name in &self.attribute_claims {
            if let Some(value) = claim(claims, name) {
                attributes.push((name.clone(), as_text(value)));
            }
        }
        Ok(Principal { id, project, scopes, attributes })
    }
}
