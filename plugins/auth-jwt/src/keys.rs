//! Verification keys (from JWKs or the shared secret) and signature checks.
//!
//! A key is typed by its material (HMAC secret, RSA public key, P-256 public key)
//! and verifies only the one algorithm of that type: an RSA key is never used as an
//! HMAC secret, whatever the token's header says (the classic RS256 -> HS256
//! confusion attack).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit as _, Mac as _};
use p256::ecdsa::signature::Verifier as _;
use serde::Deserialize;
use sha2::Sha256;

/// Shortest accepted HMAC key: RFC 7518 §3.2 asks for at least the hash size.
pub const MIN_HMAC_KEY_BYTES: usize = 32;
/// Smallest accepted RSA modulus (RFC 7518 §3.3 asks for 2048 bits or more).
pub const MIN_RSA_BITS: usize = 2048;
/// Largest accepted RSA modulus: bounds the cost of one verification (a 4096-bit
/// check costs about 30 million units of fuel, 8192 bits four times that).
pub const MAX_RSA_BITS: usize = 4096;

/// The signature algorithms this plugin knows; `none` and the rest are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    Hs256,
    Rs256,
    Es256,
}

impl Alg {
    pub const ALL: [Alg; 3] = [Alg::Hs256, Alg::Rs256, Alg::Es256];

    /// The algorithm named exactly `name` (JOSE names are case-sensitive).
    pub fn parse(name: &str) -> Option<Alg> {
        match name {
            "HS256" => Some(Alg::Hs256),
            "RS256" => Some(Alg::Rs256),
            "ES256" => Some(Alg::Es256),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Alg::Hs256 => "HS256",
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        }
    }
}

/// A JSON Web Key (RFC 7517) as found in a JWKS. Unknown members (`x5c`, `x5t`,
/// ...) are ignored, as the RFC asks, so a JWKS published by an identity provider
/// can be used as it is.
#[derive(Deserialize, Default)]
pub struct Jwk {
    #[serde(default)]
    pub kty: String,
    pub kid: Option<String>,
    pub alg: Option<String>,
    #[serde(rename = "use")]
    pub use_: Option<String>,
    pub key_ops: Option<Vec<String>>,
    pub n: Option<String>,
    pub e: Option<String>,
    pub crv: Option<String>,
    pub x: Option<String>,
    pub y: Option<String>,
    pub k: Option<String>,
    pub d: Option<String>,
    pub p: Option<String>,
}

/// What a key verifies with.
pub enum Material {
    Hmac(Vec<u8>),
    Rsa(Box<rsa::PublicKey>),
    Ec(Box<p256::ecdsa::VerifyingKey>),
}

impl Material {
    /// The one algorithm this material verifies.
    pub fn alg(&self) -> Alg {
        match self {
            Material::Hmac(_) => Alg::Hs256,
            Material::Rsa(_) => Alg::Rs256,
            Material::Ec(_) => Alg::Es256,
        }
    }
}

/// A usable verification key.
pub struct Key {
    pub kid: Option<String>,
    pub material: Material,
}

/// The result of reading one JWK.
pub enum Parsed {
    Key(Key),
    /// A well-formed key this plugin does not use (encryption key, other curve or
    /// algorithm), with why; skipped so that a whole JWKS can be configured.
    Skipped(String),
}

/// Decode a base64url JWK member, tolerating the `=` padding some tools add.
fn b64_member(value: Option<&String>, member: &str) -> Result<Vec<u8>, String> {
    let value = value.ok_or_else(|| format!("missing member `{member}`"))?;
    URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')).map_err(|_| format!("member `{member}` is not base64url"))
}

impl Key {
    /// The HMAC key of the `hs256_secret` setting (the string's UTF-8 bytes).
    pub fn hmac_secret(secret: &str) -> Result<Key, String> {
        if secret.len() < MIN_HMAC_KEY_BYTES {
            return Err(format!("hs256_secret must be at least {MIN_HMAC_KEY_BYTES} bytes long"));
        }
        Ok(Key { kid: None, material: Material::Hmac(secret.as_bytes().to_vec()) })
    }

    /// Read one JWK.
    pub fn from_jwk(jwk: &Jwk) -> Result<Parsed, String> {
        if let Some(u) = jwk.use_.as_deref().filter(|u| *u != "sig") {
            return Ok(Parsed::Skipped(format!("\"use\": \"{}\" is not \"sig\"", short(u))));
        }
        if jwk.key_ops.as_ref().is_some_and(|ops| !ops.iter().any(|o| o == "verify")) {
            return Ok(Parsed::Skipped("\"key_ops\" does not include \"verify\"".into()));
        }
        let declared = match jwk.alg.as_deref() {
            None => None,
            Some(name) => match Alg::parse(name) {
                Some(alg) => Some(alg),
                None => return Ok(Parsed::Skipped(format!("algorithm \"{}\" is not supported", short(name)))),
            },
        };
        let material = match jwk.kty.as_str() {
            "oct" => {
                let k = b64_member(jwk.k.as_ref(), "k")?;
                if k.len() < MIN_HMAC_KEY_BYTES {
                    return Err(format!("oct key shorter than {MIN_HMAC_KEY_BYTES} bytes"));
                }
                Material::Hmac(k)
            }
            "RSA" => {
                if jwk.d.is_some() || jwk.p.is_some() {
                    return Err("holds an RSA private key: configure the public key (n, e) only".into());
                }
                let n = b64_member(jwk.n.as_ref(), "n")?;
                let e = b64_member(jwk.e.as_ref(), "e")?;
                let n = rsa::BoxedUint::from_be_slice_vartime(&n);
                let e = rsa::BoxedUint::from_be_slice_vartime(&e);
                let bits = n.bit_width_vartime() as usize;
                if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                    return Err(format!("RSA key of {bits} bits: {MIN_RSA_BITS} to {MAX_RSA_BITS} are accepted"));
                }
                let key = rsa::PublicKey::new_with_size_limits(n, e, MIN_RSA_BITS..=MAX_RSA_BITS)
                    .map_err(|e| format!("invalid RSA public key: {e}"))?;
                Material::Rsa(Box::new(key))
            }
            "EC" => {
                if jwk.d.is_some() {
                    return Err("holds an EC private key: configure the public key (x, y) only".into());
                }
                match jwk.crv.as_deref() {
                    Some("P-256") => {}
                    Some(other) => return Ok(Parsed::Skipped(format!("curve \"{}\" is not supported", short(other)))),
                    None => return Err("EC key without \"crv\"".into()),
                }
                let (x, y) = (b64_member(jwk.x.as_ref(), "x")?, b64_member(jwk.y.as_ref(), "y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err("P-256 coordinates x and y must be 32 bytes each".into());
                }
                let mut sec1 = Vec::with_capacity(65);
                sec1.push(0x04);
                sec1.extend_from_slice(&x);
                sec1.extend_from_slice(&y);
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                    .map_err(|_| "the point (x, y) is not on the P-256 curve".to_string())?;
                Material::Ec(Box::new(key))
            }
            "" => return Err("missing member `kty`".into()),
            other => return Ok(Parsed::Skipped(format!("key type \"{}\" is not supported", short(other)))),
        };
        if let Some(alg) = declared
            && alg != material.alg()
        {
            return Err(format!("\"alg\": \"{}\" does not fit key type \"{}\"", alg.name(), jwk.kty));
        }
        Ok(Parsed::Key(Key { kid: jwk.kid.clone(), material }))
    }

    /// Does the signature verify `signing_input` under `alg` with this key? Always
    /// false when `alg` is not this key's algorithm.
    pub fn verify(&self, alg: Alg, signing_input: &[u8], signature: &[u8]) -> bool {
        match (&self.material, alg) {
            (Material::Hmac(secret), Alg::Hs256) => {
                let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(secret) else {
                    return false;
                };
                mac.update(signing_input);
                // Constant time, and false on a tag of the wrong length.
                mac.verify_slice(signature).is_ok()
            }
            (Material::Rsa(key), Alg::Rs256) => key.pkcs1v15_verify::<Sha256>(signing_input, signature).is_ok(),
            (Material::Ec(key), Alg::Es256) => {
                // JOSE signatures are r || s, 32 bytes each (RFC 7518 §3.4), not DER.
                if signature.len() != 64 {
                    return false;
                }
                let Ok(sig) = p256::ecdsa::Signature::from_slice(signature) else {
                    return false;
                };
                key.verify(signing_input, &sig).is_ok()
            }
            _ => false,
        }
    }
}

/// An operator-supplied name cut short for an error message.
pub fn short(s: &str) -> String {
    s.chars().take(40).collect()
}
