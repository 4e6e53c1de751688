//! `auth-jwt`: authenticates callers by JWT bearer token (`Authorization: Bearer JWT`).
//!
//! A bearer value that is not a JWT (three base64url segments, the first a JSON
//! object) is `no-credentials`, so that a provider later in the chain (API keys) can
//! try it. A JWT is accepted when, in this order:
//!
//! 1. it is at most `max_token_bytes`; its `alg` is HS256, RS256 or ES256 and listed
//!    in `algorithms` (`none` is always refused, and so is any `crit` header);
//! 2. its signature verifies with a configured key of that algorithm's type: with a
//!    `kid` in the header, the keys of that id (or, when no key has that id, the keys
//!    without an id, such as `hs256_secret`); without a `kid`, every key of the type
//!    (at most 8 are tried, which bounds the work one token can cause). A key
//!    verifies only its own algorithm (HMAC secret: HS256, RSA: RS256, P-256: ES256),
//!    so an RSA public key can never serve as an HS256 secret;
//! 3. `exp` is present and `exp > now - leeway`; `nbf` and `iat`, when present, are
//!    at most `now + leeway`; `iss` equals `issuer`; `aud` (string or array) holds
//!    one of `audience`.
//!
//! Rejections say why (expired, wrong audience, bad signature, unknown key id, ...)
//! and never include the token. `now` comes from the host (`now-unix`). A token
//! whose `kid` no configured key has (and that no key without an id verifies) is
//! rejected with a reason starting `unknown key id`: a stable signal, on which the
//! host refetches a `jwks_url` (see below).
//!
//! # Config
//!
//! ```json
//! { "issuer": "https://login.example.com/",   // required unless "allow_any_issuer": true
//!   "audience": "warden",                     // required; a string or a list (any of them)
//!   "keys": [                                 // a JWKS `keys` array: public keys only
//!     {"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "n": "...", "e": "AQAB"},
//!     {"kty": "EC", "kid": "k2", "crv": "P-256", "x": "...", "y": "..."},
//!     {"kty": "oct", "kid": "k3", "k": "<base64url, >= 32 bytes>"} ],
//!   "hs256_secret": "${JWT_SECRET}",          // optional HS256 secret, >= 32 bytes
//!   "algorithms": ["RS256"],                  // default: every algorithm with a key
//!   "leeway_seconds": 60,                     // 0..=300
//!   "max_token_bytes": 16384,                 // 1024..=65536
//!   "principal_claim": "sub",                 // principal id (required in the token)
//!   "project_claim": "tenant",                // principal project, optional
//!   "scopes_claim": "scope",                  // default: `scope`, else `scp`
//!   "scope_prefix": "mcp:",                   // keep only scopes with this prefix, stripped
//!   "default_scopes": ["*"],                  // for tokens without a scopes claim
//!   "attribute_claims": ["email", "groups"] } // copied into the principal's attributes
//! ```
//!
//! The `keys` array is exactly a JWKS's, so the plugin entry can name a JWKS
//! instead of listing keys: `jwks_url = "https://idp.example.com/.well-known/jwks.json"`
//! (the host fetches it, since this plugin has no network, merges its `keys` into
//! this config, refreshes them after the response's `max-age` and at once, at most
//! every 30 s, when a token names an unknown key id), or `config_file` naming a JWKS
//! file (`{"keys": [...]}`), merged the same way and reloaded when it changes.
//! Keys from either add to the inline ones. Members other than the ones above
//! (`x5c`, `x5t`, ...) are ignored. Keys with `use` other than `sig`, `key_ops`
//! without `verify`, an unsupported `kty`, curve or `alg` are skipped (and logged),
//! so an identity provider's whole JWKS can be used; a malformed key, an RSA key
//! outside 2048..=4096 bits, an `oct` key under 32 bytes or a private key (`d`) is an
//! error.
//!
//! In a chain with `auth-apikey`, list this provider first: the chain reports the
//! first rejection, and the API-key provider rejects every bearer value it does not
//! know, JWTs included, so its "unknown API key" would hide "token expired".
//!
//! Claim names are top-level claims, or JSON Pointers into nested claims when they
//! start with `/` (e.g. `/realm_access/roles`). Attribute values are strings:
//! arrays are joined by commas, numbers and booleans printed, objects as JSON. The
//! attributes always start with `("auth", "jwt")`.
//!
//! # Scopes
//!
//! Warden's scopes are `SERVER/TOOL` globs (`*` for all, e.g. `github/*`,
//! `files/read_*`); they decide which tools a principal sees and calls, and a
//! principal without scopes sees nothing. The token's scopes claim (a
//! space-separated string, as OAuth's `scope`, or an array, as `scp` often is) gives
//! them. Identity providers usually put other scopes in the same claim (`openid`,
//! `email`, ...): `scope_prefix` (e.g. `"mcp:"`) keeps only the scopes that start
//! with it and removes it, so `"openid mcp:github/* mcp:files/read_file"` gives
//! `["github/*", "files/read_file"]`. `default_scopes` applies only to a token with
//! no scopes claim at all (e.g. `["*"]` for an issuer that mints tokens only for
//! this gateway); a token whose claim holds no matching scope gets none.
//!
//! Knowingly not done: JWE (encrypted tokens), other algorithms (PS256, EdDSA,
//! ES384, ...), `jti` replay tracking, `typ` checks.

mod config;
mod keys;
mod token;
mod verify;

#[cfg(test)]
mod tests;

use config::Verifier;
use warden_plugin_sdk::*;

struct Jwt(Verifier);

impl Auth for Jwt {
    fn describe() -> PluginInfo {
        PluginInfo::provider(
            "auth-jwt",
            env!("CARGO_PKG_VERSION"),
            "JWT bearer tokens (HS256, RS256, ES256) checked against a JWKS: signature, issuer, audience, expiry",
        )
        .with_config_schema(config::SCHEMA)
    }

    fn configure(config_json: &str) -> Result<Self, String> {
        let (verifier, notes) = Verifier::from_json(config_json)?;
        for note in notes {
            log(Level::Warn, &note);
        }
        Ok(Jwt(verifier))
    }

    fn authenticate(&self, request: &AuthRequest) -> Result<Principal, AuthError> {
        self.0.authenticate(&request.headers, request.now_unix)
    }
}

export_auth!(Jwt);
