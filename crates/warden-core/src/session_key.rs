//! `gateway.session_key`: the secret that replicas share to seal session ids (see
//! `warden_mcp::sessions`). Written as 32 bytes in hex (`openssl rand -hex 32`) or
//! base64 (`openssl rand -base64 32`); never shown by `Debug`.

use serde::{Deserialize, Serialize};

/// A session-sealing key as written in the config. `Debug` redacts it; the bytes
/// come from [`SessionKey::bytes`].
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct SessionKey(String);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

impl SessionKey {
    pub fn new(text: impl Into<String>) -> SessionKey {
        SessionKey(text.into())
    }

    /// The 32 key bytes; the error says what is wrong without showing the key.
    pub fn bytes(&self) -> Result<[u8; 32], String> {
        let text = self.0.trim();
        let decoded = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            decode_hex(text)
        } else {
            base64_decode(text)
        };
        let bytes = decoded.ok_or("is neither hex nor base64 (generate one with `openssl rand -hex 32`)")?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| format!("must be 32 bytes (64 hex digits or 44 base64 characters), not {}", bytes.len()))
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let digit = |b: u8| (b as char).to_digit(16);
    text.as_bytes().chunks(2).map(|p| Some((digit(p[0])? << 4 | digit(*p.get(1)?)?) as u8)).collect()
}

/// Standard or URL-safe base64, padded or not; `None` on any other character.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    Some(out)
}

/// URL-safe base64 without padding (fits an HTTP header as is).
pub fn base64url_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_from_hex_or_base64_and_never_shown() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let bytes = SessionKey::new(hex).bytes().expect("hex");
        assert_eq!(bytes[1], 0x11);
        let b64 = "ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8=";
        assert_eq!(SessionKey::new(b64).bytes().expect("base64"), bytes);
        assert_eq!(SessionKey::new(b64.replace('/', "_").trim_end_matches('=')).bytes().expect("base64url"), bytes);
        assert!(SessionKey::new("short").bytes().is_err());
        assert!(SessionKey::new(&hex[2..]).bytes().expect_err("31 bytes").contains("32 bytes"));
        assert!(!format!("{:?}", SessionKey::new(hex)).contains("0011"));
    }

    #[test]
    fn the_config_checks_session_keys_and_names_them_by_path() {
        let env = |name: &str| (name == "KEY").then(|| "ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8=".to_string());
        let text = "[gateway]\nsession_key = \"${KEY}\"\nprevious_session_keys = [\"${KEY}\"]\nsession_ttl_secs = 60\n";
        let config = crate::config::Config::parse(text, &env).expect("valid");
        let bytes = config.gateway.session_key.expect("set").bytes().expect("32 bytes");
        assert_eq!((bytes[0], bytes[1], bytes[31]), (0x00, 0x11, 0xff));
        assert_eq!(config.gateway.previous_session_keys.len(), 1);
        let text =
            "[gateway]\nsession_key = \"secret-but-short\"\nprevious_session_keys = [\"abc\"]\nsession_ttl_secs = 1\n";
        let errors = crate::config::Config::parse(text, &env).expect_err("invalid").0;
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["gateway.previous_session_keys[0]", "gateway.session_key", "gateway.session_ttl_secs"]);
        assert!(errors.iter().all(|e| !e.message.contains("secret-but-short")), "{errors:?}");
    }

    #[test]
    fn base64_round_trips() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(base64_decode(&base64url_encode(&bytes)).as_deref(), Some(bytes.as_slice()), "{len}");
        }
        assert_eq!(base64_decode("a"), None);
        assert_eq!(base64_decode("ab.c"), None);
    }
}
