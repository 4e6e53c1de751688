//! Sealed session ids: replicas behind a load balancer serve one another's sessions
//! with no shared store.
//!
//! A downstream session needs no upstream state (upstream sessions belong to the
//! gateway process and are shared by all its clients). What a replica needs to serve
//! a session it did not start is who owns it, what the client sent in `initialize`
//! (protocol version, capabilities, client info) and when it began. With
//! `gateway.session_key` set, the `Mcp-Session-Id` a client gets carries exactly that,
//! encrypted and authenticated (ChaCha20-Poly1305, a random 96-bit nonce per id):
//!
//! ```text
//! w1.base64url(nonce ‖ seal(key, {"sid","sub","prj","iat","init"}))
//! ```
//!
//! - The replica that answered `initialize` keeps its rmcp session under `sid` and
//!   maps the sealed id to it on every request.
//! - A replica that does not know the session opens the id, checks that its owner
//!   is the authenticated caller and that it has not expired, and lets rmcp restore
//!   it: [`TokenStore`] is rmcp's external session store, whose "lookup" is opening
//!   the id itself, and rmcp replays `initialize` + `notifications/initialized` into
//!   a new local session (kept under the sealed id).
//! - An id that does not open (tampered, another key, not sealed at all), belongs to
//!   another principal or has expired is answered like an unknown session: 404.
//!
//! Not carried across replicas: the GET stream (server notifications and requests
//! not tied to a call reach the client only from the replica holding it), resumption
//! by `Last-Event-ID`, and `DELETE` (the replica that gets it ends the session and
//! refuses the id from then on; the others keep serving it to its owner until it
//! expires — a shared list of ended sessions would need a shared store).

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use rmcp::transport::streamable_http_server::session::{SessionState, SessionStore, SessionStoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use warden_core::config::GatewayConfig;
use warden_core::session_key::{SessionKey, base64_decode, base64url_encode};

/// Who a session belongs to: principal id and project.
pub type Owner = (String, Option<String>);

/// Marks the format (and version) of a sealed id.
const PREFIX: &str = "w1.";
/// Bound to every sealed id, so nothing else sealed with the key can pass for one.
const AAD: &[u8] = b"warden/mcp-session-id/1";
/// The largest plaintext sealed: the id travels in a header on every request.
const MAX_CLAIMS: usize = 4096;
const TAG_LEN: usize = 16;

/// Why a presented session id is not honoured (all answered with 404).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("not a sealed session id, or not sealed with this gateway's keys")]
    NotOurs,
    #[error("session expired")]
    Expired,
    #[error("session presented by a principal that does not own it")]
    Foreign,
    #[error("session ended by its client (DELETE)")]
    Ended,
}

/// What a sealed id carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The rmcp session id on the replica that answered `initialize`.
    pub sid: String,
    /// Owner: principal id and project (`None`: no authentication configured).
    pub sub: Option<String>,
    pub prj: Option<String>,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// The client's `initialize` params (protocol version, capabilities, client info).
    pub init: Value,
}

impl Claims {
    pub fn owner(&self) -> Option<Owner> {
        self.sub.clone().map(|s| (s, self.prj.clone()))
    }
}

/// Seals and opens session ids: the first key seals, every key opens.
pub struct Sealer {
    keys: Vec<LessSafeKey>,
    ttl_secs: u64,
    random: SystemRandom,
    /// Sessions their client ended here (`sid` → when its id expires anyway): a
    /// sealed id would otherwise bring them back. Not shared with other replicas.
    ended: std::sync::Mutex<std::collections::HashMap<String, u64>>,
}

/// Ended sessions remembered before expired ones are pruned, and at most.
const ENDED_PRUNE_AT: usize = 1024;
const ENDED_MAX: usize = 65_536;

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer {{ keys: {} (redacted), ttl_secs: {} }}", self.keys.len(), self.ttl_secs)
    }
}

impl Sealer {
    pub fn new(keys: &[[u8; 32]], ttl_secs: u64) -> Option<Sealer> {
        let keys: Option<Vec<_>> =
            keys.iter().map(|k| UnboundKey::new(&CHACHA20_POLY1305, k).ok().map(LessSafeKey::new)).collect();
        let keys = keys.filter(|k| !k.is_empty())?;
        Some(Sealer { keys, ttl_secs, random: SystemRandom::new(), ended: Default::default() })
    }

    /// From `gateway.session_key` (or `env_key`, the value of `WARDEN_SESSION_KEY`,
    /// when the config has none) and `gateway.previous_session_keys`. `None`: sealed
    /// sessions are off (one replica; session ids are plain and local).
    pub fn from_config(gateway: &GatewayConfig, env_key: Option<String>) -> Result<Option<Sealer>, String> {
        let current = match (&gateway.session_key, env_key.filter(|k| !k.trim().is_empty())) {
            (Some(key), _) => key.clone(),
            (None, Some(env)) => SessionKey::new(env),
            (None, None) => return Ok(None),
        };
        let mut keys = vec![current.bytes().map_err(|e| format!("gateway.session_key (or WARDEN_SESSION_KEY) {e}"))?];
        for (i, key) in gateway.previous_session_keys.iter().enumerate() {
            keys.push(key.bytes().map_err(|e| format!("gateway.previous_session_keys[{i}] {e}"))?);
        }
        Ok(Sealer::new(&keys, gateway.session_ttl_secs))
    }

    /// The sealed id for `claims`; `None` if the claims are too large to carry or the
    /// system's random source failed.
    pub fn seal(&self, claims: &Claims) -> Option<String> {
        let mut plain = serde_json::to_vec(claims).ok()?;
        if plain.len() > MAX_CLAIMS {
            return None;
        }
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).ok()?;
        self.keys[0].seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(AAD), &mut plain).ok()?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&plain);
        Some(format!("{PREFIX}{}", base64url_encode(&sealed)))
    }

    /// The claims of `token` if one of the keys sealed it and it has not expired at `now`.
    pub fn open(&self, token: &str, now: u64) -> Result<Claims, Refusal> {
        let body = token.strip_prefix(PREFIX).ok_or(Refusal::NotOurs)?;
        let sealed = base64_decode(body).filter(|s| s.len() > NONCE_LEN + TAG_LEN).ok_or(Refusal::NotOurs)?;
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let claims = self.keys.iter().find_map(|key| {
            let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
            let mut buffer = ciphertext.to_vec();
            let plain = key.open_in_place(nonce, Aad::from(AAD), &mut buffer).ok()?;
            serde_json::from_slice::<Claims>(plain).ok()
        });
        let claims = claims.ok_or(Refusal::NotOurs)?;
        if claims.iat.saturating_add(self.ttl_secs) < now {
            return Err(Refusal::Expired);
        }
        if self.ended.lock().map_or(true, |ended| ended.contains_key(&claims.sid)) {
            return Err(Refusal::Ended);
        }
        Ok(claims)
    }

    /// Refuse the session of `claims` from now on (its client sent DELETE here).
    pub fn end(&self, claims: &Claims, now: u64) {
        let Ok(mut ended) = self.ended.lock() else { return };
        if ended.len() >= ENDED_PRUNE_AT {
            ended.retain(|_, until| *until >= now);
        }
        // Bounded even against a client ending sessions as fast as it can open them:
        // past the cap an ended id may come back to life (until it expires).
        if ended.len() >= ENDED_MAX {
            let Some(oldest) = ended.iter().min_by_key(|(_, until)| **until).map(|(sid, _)| sid.clone()) else {
                return;
            };
            ended.remove(&oldest);
        }
        ended.insert(claims.sid.clone(), claims.iat.saturating_add(self.ttl_secs));
    }

    /// The claims of a new session: `sid` (rmcp's id), its owner, now, and what the
    /// client sent in `initialize` (`message`, the whole request) — trimmed to what a
    /// replica needs, and trimmed further if it would make the id too long.
    pub fn claims(sid: &str, owner: Option<Owner>, message: &Value, now: u64) -> Claims {
        let params = message.get("params");
        let field = |name: &str| params.and_then(|p| p.get(name)).cloned();
        let mut init = serde_json::json!({
            "protocolVersion": field("protocolVersion").unwrap_or(Value::Null),
            "capabilities": field("capabilities").unwrap_or_else(|| serde_json::json!({})),
            "clientInfo": field("clientInfo").unwrap_or_else(|| serde_json::json!({"name": "", "version": ""})),
        });
        if init.to_string().len() > MAX_CLAIMS / 2 {
            // Icons and descriptions of the client, vendor extensions: not needed to
            // serve it, and a replica restoring without them only loses cosmetics.
            if let Some(info) = init.get_mut("clientInfo").and_then(Value::as_object_mut) {
                info.retain(|k, _| matches!(k.as_str(), "name" | "version" | "title"));
            }
            if let Some(caps) = init.get_mut("capabilities").and_then(Value::as_object_mut) {
                caps.remove("experimental");
                caps.remove("extensions");
            }
        }
        let (sub, prj) = owner.map_or((None, None), |(s, p)| (Some(s), p));
        Claims { sid: sid.to_string(), sub, prj, iat: now, init }
    }
}

/// rmcp's external session store, with nothing stored: the session id is the state.
/// rmcp asks it to `load` a session it does not hold; by then the screening has
/// checked that the caller owns it.
pub struct TokenStore(pub std::sync::Arc<Sealer>);

#[async_trait::async_trait]
impl SessionStore for TokenStore {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        let Ok(claims) = self.0.open(session_id, crate::server::now_unix()) else { return Ok(None) };
        match serde_json::from_value(claims.init) {
            Ok(params) => Ok(Some(SessionState::new(params))),
            Err(e) => {
                tracing::warn!(error = %e, "a sealed session's initialize params do not parse");
                Ok(None)
            }
        }
    }

    async fn store(&self, _session_id: &str, _state: &SessionState) -> Result<(), SessionStoreError> {
        Ok(())
    }

    async fn delete(&self, _session_id: &str) -> Result<(), SessionStoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(key: u8, ttl: u64) -> Sealer {
        Sealer::new(&[[key; 32]], ttl).expect("sealer")
    }

    fn initialize() -> Value {
        serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {"sampling": {}, "roots": {"listChanged": true}},
            "clientInfo": {"name": "test-client", "version": "1.0"},
            "_meta": {"progressToken": 7},
        }})
    }

    fn claims() -> Claims {
        Sealer::claims("local-1", Some(("alice".into(), Some("p1".into()))), &initialize(), 1_000)
    }

    #[test]
    fn a_sealed_id_opens_to_its_claims_and_hides_them() {
        let s = sealer(1, 3600);
        let token = s.seal(&claims()).expect("sealed");
        assert!(token.starts_with("w1.") && token.bytes().all(|b| (0x21..=0x7e).contains(&b)), "{token}");
        assert!(!token.contains("alice") && !token.contains("test-client"));
        let opened = s.open(&token, 1_000 + 3600).expect("opens");
        assert_eq!(opened, claims());
        assert_eq!(opened.owner(), Some(("alice".into(), Some("p1".into()))));
        assert_eq!(opened.init["capabilities"]["sampling"], serde_json::json!({}));
        assert!(opened.init.get("_meta").is_none());
        // The restored initialize parses as rmcp's params.
        let params: rmcp::model::InitializeRequestParams = serde_json::from_value(opened.init).expect("params");
        assert_eq!(params.client_info.name, "test-client");
        // A fresh nonce each time: two seals of the same claims differ.
        assert_ne!(s.seal(&claims()), Some(token));
    }

    #[test]
    fn tampered_foreign_or_expired_ids_are_refused() {
        let s = sealer(1, 3600);
        let token = s.seal(&claims()).expect("sealed");
        assert_eq!(s.open(&token, 1_000 + 3601), Err(Refusal::Expired));
        assert_eq!(sealer(2, 3600).open(&token, 1_000), Err(Refusal::NotOurs), "another key");
        // Every single-character change is caught.
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for i in PREFIX.len()..token.len() {
            let mut bytes = token.clone().into_bytes();
            let c = bytes[i] as char;
            bytes[i] = alphabet.chars().find(|&a| a != c).expect("another") as u8;
            let tampered = String::from_utf8(bytes).expect("ascii");
            // The last character may only carry padding bits; a change there that
            // decodes to the same bytes is not a change.
            if base64_decode(&tampered[PREFIX.len()..]) == base64_decode(&token[PREFIX.len()..]) {
                continue;
            }
            assert_eq!(s.open(&tampered, 1_000), Err(Refusal::NotOurs), "position {i}");
        }
        for junk in ["", "w1.", "w1.AAAA", "local-1", "w2.", &token[PREFIX.len()..], &token[..token.len() - 4]] {
            assert_eq!(s.open(junk, 1_000), Err(Refusal::NotOurs), "{junk:?}");
        }
    }

    #[test]
    fn an_ended_session_stays_ended() {
        let s = sealer(1, 3600);
        let token = s.seal(&claims()).expect("sealed");
        let other = s.seal(&Sealer::claims("local-2", None, &initialize(), 1_000)).expect("sealed");
        s.end(&claims(), 1_000);
        assert_eq!(s.open(&token, 1_000), Err(Refusal::Ended));
        assert!(s.open(&other, 1_000).is_ok(), "other sessions are untouched");
        // Another replica (same key) never heard of the DELETE.
        assert!(sealer(1, 3600).open(&token, 1_000).is_ok());
    }

    #[test]
    fn old_keys_open_but_only_the_first_seals() {
        let old = sealer(1, 3600);
        let rotated = Sealer::new(&[[2; 32], [1; 32]], 3600).expect("sealer");
        let before = old.seal(&claims()).expect("sealed");
        assert_eq!(rotated.open(&before, 1_000), Ok(claims()), "an id from before the rotation still opens");
        let after = rotated.seal(&claims()).expect("sealed");
        assert_eq!(old.open(&after, 1_000), Err(Refusal::NotOurs), "new ids use the new key");
        assert!(sealer(2, 3600).open(&after, 1_000).is_ok());
    }

    #[test]
    fn oversized_client_info_is_trimmed_to_fit() {
        let mut message = initialize();
        message["params"]["clientInfo"]["description"] = Value::String("x".repeat(10_000));
        message["params"]["capabilities"]["experimental"] = serde_json::json!({"big": "y".repeat(10_000)});
        let claims = Sealer::claims("local-1", None, &message, 1_000);
        assert_eq!(claims.init["clientInfo"], serde_json::json!({"name": "test-client", "version": "1.0"}));
        assert!(claims.init["capabilities"].get("experimental").is_none());
        assert!(claims.init["capabilities"].get("sampling").is_some());
        let s = sealer(1, 3600);
        assert_eq!(s.open(&s.seal(&claims).expect("fits"), 1_000).map(|c| c.owner()), Ok(None));
        // Huge standard capabilities still do not make a huge header: sealing refuses.
        message["params"]["capabilities"]["roots"] = serde_json::json!({"x": "z".repeat(10_000)});
        assert_eq!(s.seal(&Sealer::claims("local-1", None, &message, 1_000)), None);
    }

    #[test]
    fn keys_come_from_the_config_or_the_environment() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff".to_string();
        let mut gateway = GatewayConfig::default();
        assert!(Sealer::from_config(&gateway, None).expect("ok").is_none(), "off by default");
        assert!(Sealer::from_config(&gateway, Some(" ".into())).expect("ok").is_none());
        let from_env = Sealer::from_config(&gateway, Some(hex.clone())).expect("ok").expect("on");
        gateway.session_key = Some(SessionKey::new(hex.clone()));
        let from_config = Sealer::from_config(&gateway, Some("ignored".into())).expect("ok").expect("on");
        let token = from_env.seal(&claims()).expect("sealed");
        assert!(from_config.open(&token, 1_000).is_ok());
        gateway.previous_session_keys = vec![SessionKey::new("nope")];
        let err = Sealer::from_config(&gateway, None).expect_err("bad key");
        assert!(err.starts_with("gateway.previous_session_keys[0]") && !err.contains(&hex), "{err}");
        assert!(!format!("{from_config:?}").contains("0011"));
    }
}
