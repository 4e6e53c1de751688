//! Tests sign their own tokens with fixed keys (an RSA 2048 key generated once with
//! OpenSSL and embedded here, since generating one in a debug build is slow), and
//! also check tokens signed by OpenSSL itself and the HS256 example of RFC 7515.

use crate::config::{SCHEMA, Verifier};
use crate::keys::{Alg, Jwk, Key, Material, Parsed};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit as _, Mac as _};
use p256::ecdsa::signature::Signer as _;
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::OnceLock;
use warden_plugin_sdk::AuthError;
use warden_plugin_sdk::Principal;

const RSA_N: &str = "opt2w9mskqcKBW8c7QLIOO8smoCPUz95cic582CDX5RLOxfsMAcV-ZL4AIKmpRB5X40dwVqnrNSDy60Tu56RnVw3HdNhc9EtEIxycpV-eQePlzcHxqFMKtCqP5vvcWNIGhezjeTsIqYN3oTMA0PnQsQquifddIuLVip98FMGkASCJJOZKnIilqfJ1vyiowzP8jo1ETMKsjS_rOJCXdrhuSMChM1OsZgz5Gzkr1GFFxFzbCjgFYrAz3L8KaRAtSNRMmjxmplRj_Qqoex410VQBWhaKRYFbnWsAg3BdQ6wSZjvkbTP72X36NIIy1TlqCOamyAYRLQ9Xbxq3Om5dh2AYw";
const RSA_E: &str = "AQAB";
const RSA_D: &str = "PJKG-kvy0ipxPDb44n0_0p2d0uwC9_LULabZGoUgSxF1uMyfigCJug96XM5Of3yUifiKVgWMIoCDm_KcQC7AdYrtaSndyoPoMpru4yo3E6SyY5T3S5G4StayJMHUvztJl5aupzPYlsuerP5w9OJtmlxywiepggmdXPq1MTnsXucGOicDV6peVH9HEA9jVcqCN7wA09R5Rp_a-l35yuAttX2iePFAcGLMrf7eb_qRY2mqR5hsq-SPBAGj5UHgornV6pR0QJgmxntuFlyp2ptgoDusBY-TrQJ1bvppXln8c7EC_vk1ggwty6HglfPT5ylFGfdId6UCdPhb7bJ4lKiWwQ";
const RSA_P: &str = "4gWm9kBnakBJw6RF-dquSSS-K4coA6XjNdkOgP2PnsQ1X-UHEYZrdQmrg8GLPYdAl5yQJOXy5Gp2HBo11PTNbfZh9Ie4EioehiNaDjudQHbhNj-qIe-xjzk5dcFzQlFvSzU9vmIqY752SWIuPWyK5e9wyIWpdow6OEAn9JR2e8M";
const RSA_Q: &str = "uCygmHvbEhx8y55ZjEzdPe5wvNrzmaemQr0yyk_cxcv3KuhMyJjhC3q84tALye_mhsEmUuL9LgC2MvyBjzLp12bUAZ_PdYq-bjr9qs1DrHywDgj9OaIfye2l4_wi90ouVSixSHHAa3huhAdyU8Q1iOtv3Yf5VkUhrFND68tgvuE";
/// A 1024-bit modulus: too small to be accepted.
const RSA1024_N: &str = "uiGJQnGSvqCAKqpv8OawSR3beJSmqlp5s803EI4XQ4PyPNa-2Ph_JLDwob-W5GNHxPjlA8K2_PrzrPGSM7FrxKT69xmU3QP-s5f-TxEi5K0VCRyvQbcZnUj7sb-yRJNYvZwXYvl4XNQCRU7puhg-Razt5OS5_0n7sNG_CIBe5B0";
const EC_D: &str = "acNWc3IKZFnYRdxrh0J-3G2e6LBnJe6ImxjrQ8cq4Fo";
const EC_X: &str = "UgY5nzXXGI5sXmLadYuTRUOGyMxfiAI1vDJvlFfcjxs";
const EC_Y: &str = "8Z8Gyc4LIX2gRcgUSBMAImfcn-VkbrghQoKYhXk0_8Y";
/// A second P-256 key, not in the config.
const EC2_D: &str = "A5w6LZaJ_Vejm9elzaIA1jIrOWKKp5kAXZYZPZK3FpA";
const OCT_K: &str = "c2hhcmVkLXNlY3JldC1mb3ItdGVzdHMtb25seS0zMmJ5dGVzLWxvbmc";
const SECRET: &str = "a-simple-shared-secret-of-40-bytes-or-so";

/// Signed by OpenSSL (Python `cryptography`) with the RSA and EC keys above; claims
/// `{"iss":"https://issuer.example","aud":"warden","sub":"openssl-user","exp":2000000000,"scope":"mcp:github/* other"}`.
const OPENSSL_RS256: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiYXVkIjoid2FyZGVuIiwic3ViIjoib3BlbnNzbC11c2VyIiwiZXhwIjoyMDAwMDAwMDAwLCJzY29wZSI6Im1jcDpnaXRodWIvKiBvdGhlciJ9.ghekoyS2HYgnWcJ3ZgKXYAbLpAxwnu7KVA-hutI2jwBCqkF-O6Fu7mRsNqhVPSf7vqYriTlBmvER7F_S_wU5TaXsj4_fAOL0QZ3_BpDz-xzTQThPqFgz0dPtaFSAEIkK8qQFjlQjPt_onfry_UaSDGNLIZaDHO8M_wzNFi3qOiImO1A5PdR4LeN0z3C-tHjve7VdC29jr90wyhaDWUyUHXa7-m4BmOccby8ZceFWUjKdlQHXtkxXZz6ZkLJ9OevaA2InWFxEwHZbQ0vJYDef5mN4Q1iDez106-nWA-qEvL6NPPXGgXEE7Y3Z6-JUJ0oXZmL-s95NoyoJM6uE7KE_Ag";
const OPENSSL_ES256: &str = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImVjLTEifQ.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiYXVkIjoid2FyZGVuIiwic3ViIjoib3BlbnNzbC11c2VyIiwiZXhwIjoyMDAwMDAwMDAwLCJzY29wZSI6Im1jcDpnaXRodWIvKiBvdGhlciJ9.2msW-KVRksawEyNnxARb-oofPhpvvqSfLb4puashnetBqVI0-OElHXLMCvhR4QyJToRIo53mYlVTSPYon9weUg";

const NOW: u64 = 1_900_000_000;
const ISS: &str = "https://issuer.example";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).expect("test constant is base64url")
}

fn uint(s: &str) -> rsa::BoxedUint {
    rsa::BoxedUint::from_be_slice_vartime(&unb64(s))
}

fn rsa_private() -> &'static rsa::PrivateKey {
    static KEY: OnceLock<rsa::PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        rsa::PrivateKey::from_components(uint(RSA_N), uint(RSA_E), uint(RSA_D), vec![uint(RSA_P), uint(RSA_Q)])
            .expect("valid RSA test key")
    })
}

fn rsa_jwk() -> Value {
    json!({"kty": "RSA", "kid": "rsa-1", "alg": "RS256", "use": "sig", "n": RSA_N, "e": RSA_E, "x5t": "ignored"})
}

fn ec_jwk() -> Value {
    json!({"kty": "EC", "kid": "ec-1", "crv": "P-256", "x": EC_X, "y": EC_Y})
}

fn oct_jwk() -> Value {
    json!({"kty": "oct", "kid": "hs-1", "k": OCT_K})
}

/// A verifier over every test key (RSA, EC, oct JWKs and `hs256_secret`), merged
/// with `extra` settings.
fn verifier(extra: Value) -> Verifier {
    let mut config = json!({
        "issuer": ISS,
        "audience": "warden",
        "keys": [rsa_jwk(), ec_jwk(), oct_jwk()],
        "hs256_secret": SECRET,
    });
    for (k, v) in extra.as_object().expect("object").clone() {
        config[k] = v;
    }
    Verifier::from_json(&config.to_string()).expect("valid config").0
}

fn config_error(config: Value) -> String {
    match Verifier::from_json(&config.to_string()) {
        Ok(_) => panic!("config accepted: {config}"),
        Err(e) => e,
    }
}

fn claims() -> Value {
    json!({"iss": ISS, "aud": "warden", "sub": "alice", "exp": NOW + 600, "iat": NOW - 10, "scope": "github/* files/read_file"})
}

/// The key a test token is signed with.
enum Signer<'a> {
    Hmac(&'a [u8]),
    Rsa,
    Ec(&'a str),
    /// Use this signature segment as it is.
    Raw(&'a str),
}

fn sign(header: &Value, claims: &Value, signer: Signer) -> String {
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let sig = match signer {
        Signer::Hmac(key) => {
            let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).expect("any key length");
            mac.update(input.as_bytes());
            b64(&mac.finalize().into_bytes())
        }
        Signer::Rsa => b64(&rsa_private().pkcs1v15_sign::<Sha256>(input.as_bytes()).expect("RSA signs")),
        Signer::Ec(d) => {
            let key = p256::ecdsa::SigningKey::from_slice(&unb64(d)).expect("valid P-256 scalar");
            let sig: p256::ecdsa::Signature = key.sign(input.as_bytes());
            b64(&sig.to_bytes())
        }
        Signer::Raw(s) => s.to_string(),
    };
    format!("{input}.{sig}")
}

fn hs256(claims: &Value) -> String {
    sign(&json!({"alg": "HS256", "typ": "JWT"}), claims, Signer::Hmac(SECRET.as_bytes()))
}

fn rs256(claims: &Value) -> String {
    sign(&json!({"alg": "RS256", "kid": "rsa-1"}), claims, Signer::Rsa)
}

fn es256(claims: &Value) -> String {
    sign(&json!({"alg": "ES256", "kid": "ec-1"}), claims, Signer::Ec(EC_D))
}

fn bearer(token: &str) -> Vec<(String, String)> {
    vec![("authorization".into(), format!("Bearer {token}"))]
}

fn auth(v: &Verifier, token: &str) -> Result<Principal, AuthError> {
    let result = v.authenticate(&bearer(token), NOW);
    // Whatever the outcome, the reason never repeats the token or its signature.
    if let Err(AuthError::Rejected(why)) = &result {
        for part in token.split('.').filter(|p| p.len() > 8) {
            assert!(!why.contains(part), "rejection {why:?} repeats part of the token");
        }
    }
    result
}

#[track_caller]
fn assert_rejected(result: Result<Principal, AuthError>, expected: &str) {
    match result {
        Err(AuthError::Rejected(why)) => assert!(why.contains(expected), "rejected for {why:?}, expected {expected:?}"),
        Err(AuthError::NoCredentials) => panic!("no-credentials, expected rejection {expected:?}"),
        Err(AuthError::Failed(e)) => panic!("failed: {}, expected rejection {expected:?}", e.message),
        Ok(p) => panic!("accepted as {}, expected rejection {expected:?}", p.id),
    }
}

#[track_caller]
fn assert_no_credentials(result: Result<Principal, AuthError>) {
    match result {
        Err(AuthError::NoCredentials) => {}
        Err(AuthError::Rejected(why)) => panic!("rejected ({why}), expected no-credentials"),
        Err(AuthError::Failed(e)) => panic!("failed ({}), expected no-credentials", e.message),
        Ok(p) => panic!("accepted as {}, expected no-credentials", p.id),
    }
}

fn accepted(result: Result<Principal, AuthError>) -> Principal {
    match result {
        Ok(p) => p,
        Err(AuthError::Rejected(why)) => panic!("rejected: {why}"),
        Err(AuthError::NoCredentials) => panic!("no-credentials"),
        Err(AuthError::Failed(e)) => panic!("failed: {}", e.message),
    }
}

// --- valid tokens -----------------------------------------------------------------

#[test]
fn valid_tokens_of_each_algorithm_are_accepted() {
    let v = verifier(json!({}));
    for token in [hs256(&claims()), rs256(&claims()), es256(&claims())] {
        let p = accepted(auth(&v, &token));
        assert_eq!(p.id, "alice");
        assert_eq!(p.scopes, ["github/*", "files/read_file"]);
        assert_eq!(p.attributes, [("auth".to_string(), "jwt".to_string())]);
        assert_eq!(p.project, None);
    }
    // The oct JWK, by kid.
    let oct = sign(&json!({"alg": "HS256", "kid": "hs-1"}), &claims(), Signer::Hmac(&unb64(OCT_K)));
    accepted(auth(&v, &oct));
    // Without a kid, every key of the algorithm is tried (RSA has one, EC has one).
    accepted(auth(&v, &sign(&json!({"alg": "RS256"}), &claims(), Signer::Rsa)));
    accepted(auth(&v, &sign(&json!({"alg": "ES256"}), &claims(), Signer::Ec(EC_D))));
    accepted(auth(&v, &sign(&json!({"alg": "HS256"}), &claims(), Signer::Hmac(&unb64(OCT_K)))));
}

#[test]
fn tokens_signed_by_openssl_are_accepted() {
    let v = verifier(json!({"scope_prefix": "mcp:"}));
    for token in [OPENSSL_RS256, OPENSSL_ES256] {
        let p = accepted(auth(&v, token));
        assert_eq!(p.id, "openssl-user");
        assert_eq!(p.scopes, ["github/*"]);
    }
}

#[test]
fn rfc7515_hs256_example_verifies() {
    // RFC 7515 appendix A.1: the signature is good; the example has no `aud`, which
    // is checked after the signature.
    let k = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let config = json!({"issuer": "joe", "audience": "warden", "keys": [{"kty": "oct", "k": k}]});
    let (v, _) = Verifier::from_json(&config.to_string()).expect("valid");
    assert_rejected(v.authenticate(&bearer(token), 1_300_819_000), "no audience");
    assert_rejected(v.authenticate(&bearer(token), 1_300_819_000 + 3600), "expired");
    let tampered = token.replace("dBjft", "dBjfu");
    assert_rejected(v.authenticate(&bearer(&tampered), 1_300_819_000), "bad signature");
}

#[test]
fn bearer_scheme_is_case_insensitive_and_other_headers_are_ignored() {
    let v = verifier(json!({}));
    let token = hs256(&claims());
    let headers = vec![
        ("x-api-key".to_string(), "not-this".to_string()),
        ("authorization".to_string(), format!("bearer   {token} ")),
    ];
    accepted(v.authenticate(&headers, NOW));
}

// --- time claims --------------------------------------------------------------------

#[test]
fn expiry_is_required_and_checked_with_leeway() {
    let v = verifier(json!({}));
    let mut c = claims();
    c["exp"] = json!(NOW - 61);
    assert_rejected(auth(&v, &rs256(&c)), "expired");
    c["exp"] = json!(NOW - 30);
    accepted(auth(&v, &hs256(&c)));
    c["exp"] = json!(NOW as f64 + 0.5);
    accepted(auth(&v, &hs256(&c)));
    c["exp"] = json!("tomorrow");
    assert_rejected(auth(&v, &hs256(&c)), "`exp` is not a number");
    c.as_object_mut().expect("object").remove("exp");
    assert_rejected(auth(&v, &es256(&c)), "no expiry");

    let strict = verifier(json!({"leeway_seconds": 0}));
    c["exp"] = json!(NOW);
    assert_rejected(auth(&strict, &hs256(&c)), "expired");
    c["exp"] = json!(NOW + 1);
    accepted(auth(&strict, &hs256(&c)));
}

#[test]
fn not_before_and_issued_at_in_the_future_are_refused() {
    let v = verifier(json!({}));
    let mut c = claims();
    c["nbf"] = json!(NOW + 3600);
    assert_rejected(auth(&v, &es256(&c)), "not yet valid");
    c["nbf"] = json!(NOW + 50);
    accepted(auth(&v, &hs256(&c)));
    let mut c = claims();
    c["iat"] = json!(NOW + 3600);
    assert_rejected(auth(&v, &hs256(&c)), "issued in the future");
    c["iat"] = json!(null);
    assert_rejected(auth(&v, &hs256(&c)), "`iat` is not a number");
}

// --- issuer and audience ----------------------------------------------------------

#[test]
fn audience_must_match() {
    let v = verifier(json!({}));
    let mut c = claims();
    c["aud"] = json!("another-api");
    assert_rejected(auth(&v, &hs256(&c)), "wrong audience");
    c["aud"] = json!(["another-api", "warden"]);
    accepted(auth(&v, &hs256(&c)));
    c["aud"] = json!(["another-api"]);
    assert_rejected(auth(&v, &hs256(&c)), "wrong audience");
    c["aud"] = json!("WARDEN");
    assert_rejected(auth(&v, &hs256(&c)), "wrong audience");
    c["aud"] = json!(7);
    assert_rejected(auth(&v, &hs256(&c)), "`aud` is neither");
    c.as_object_mut().expect("object").remove("aud");
    assert_rejected(auth(&v, &hs256(&c)), "no audience");

    let several = verifier(json!({"audience": ["warden", "https://mcp.example/"]}));
    c["aud"] = json!("https://mcp.example/");
    accepted(auth(&several, &hs256(&c)));
}

#[test]
fn issuer_must_match_unless_any_is_allowed() {
    let v = verifier(json!({}));
    let mut c = claims();
    c["iss"] = json!("https://evil.example");
    assert_rejected(auth(&v, &rs256(&c)), "wrong issuer");
    c["iss"] = json!("https://issuer.example/");
    assert_rejected(auth(&v, &hs256(&c)), "wrong issuer");
    c.as_object_mut().expect("object").remove("iss");
    assert_rejected(auth(&v, &hs256(&c)), "no issuer");

    let mut config = json!({"audience": "warden", "hs256_secret": SECRET, "allow_any_issuer": true});
    let (any, _) = Verifier::from_json(&config.to_string()).expect("valid");
    accepted(auth(&any, &hs256(&c)));
    c["iss"] = json!("https://elsewhere.example");
    accepted(auth(&any, &hs256(&c)));
    config["allow_any_issuer"] = json!(false);
    assert!(config_error(config).contains("issuer is required"));
}

// --- algorithms and keys ----------------------------------------------------------

#[test]
fn alg_none_is_refused() {
    let v = verifier(json!({}));
    for alg in ["none", "None", "NONE"] {
        let unsigned = sign(&json!({"alg": alg}), &claims(), Signer::Raw(""));
        assert_rejected(auth(&v, &unsigned), "alg \"none\"");
        let with_sig = sign(&json!({"alg": alg}), &claims(), Signer::Raw("c2lnbmF0dXJl"));
        assert_rejected(auth(&v, &with_sig), "alg \"none\"");
    }
    let no_alg = sign(&json!({"typ": "JWT"}), &claims(), Signer::Hmac(SECRET.as_bytes()));
    assert_rejected(auth(&v, &no_alg), "no \"alg\"");
    let other = sign(&json!({"alg": "HS512"}), &claims(), Signer::Hmac(SECRET.as_bytes()));
    assert_rejected(auth(&v, &other), "algorithm \"HS512\" is not supported");
    let ps = sign(&json!({"alg": "PS256", "kid": "rsa-1"}), &claims(), Signer::Rsa);
    assert_rejected(auth(&v, &ps), "not supported");
}

#[test]
fn algorithms_not_allowed_by_config_are_refused() {
    let v = verifier(json!({"algorithms": ["RS256", "ES256"]}));
    assert_rejected(auth(&v, &hs256(&claims())), "algorithm HS256 is not allowed");
    accepted(auth(&v, &rs256(&claims())));
    assert!(
        config_error(json!({"audience": "a", "issuer": "i", "hs256_secret": SECRET, "algorithms": ["RS256"]}))
            .contains("no key for it")
    );
    assert!(
        config_error(json!({"audience": "a", "issuer": "i", "hs256_secret": SECRET, "algorithms": ["none"]}))
            .contains("never")
    );
}

#[test]
fn rsa_public_key_is_never_an_hmac_secret() {
    // The classic confusion: the attacker knows the RSA public key and signs an HS256
    // token with some encoding of it as the HMAC secret.
    let n = unb64(RSA_N);
    let jwk_text = rsa_jwk().to_string();
    let secrets: Vec<Vec<u8>> =
        vec![n.clone(), RSA_N.as_bytes().to_vec(), jwk_text.into_bytes(), [n, unb64(RSA_E)].concat()];

    let rsa_only = {
        let config = json!({"issuer": ISS, "audience": "warden", "keys": [rsa_jwk()]});
        Verifier::from_json(&config.to_string()).expect("valid").0
    };
    let all = verifier(json!({}));
    for secret in &secrets {
        let with_kid = sign(&json!({"alg": "HS256", "kid": "rsa-1"}), &claims(), Signer::Hmac(secret));
        let without = sign(&json!({"alg": "HS256"}), &claims(), Signer::Hmac(secret));
        assert_rejected(auth(&rsa_only, &with_kid), "not allowed");
        assert_rejected(auth(&rsa_only, &without), "not allowed");
        // Even with HS256 allowed (other keys are HMAC), the RSA key is not used.
        assert_rejected(auth(&all, &with_kid), "key id does not name a HS256 key");
        assert_rejected(auth(&all, &without), "bad signature");
    }
    // The same with the check on key types alone, should `algorithms` let HS256 by.
    let key = rsa_only.keys.first().expect("one key");
    let input = b"e30.e30";
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&unb64(RSA_N)).expect("any length");
    mac.update(input);
    assert!(!key.verify(Alg::Hs256, input, &mac.finalize().into_bytes()));
    // And an ES256 token naming the RSA key fails too.
    let es = sign(&json!({"alg": "ES256", "kid": "rsa-1"}), &claims(), Signer::Ec(EC_D));
    assert_rejected(auth(&all, &es), "key id does not name a ES256 key");
}

#[test]
fn unknown_key_id_is_refused() {
    let v = verifier(json!({"hs256_secret": null}));
    let token = sign(&json!({"alg": "RS256", "kid": "rotated-away"}), &claims(), Signer::Rsa);
    assert_rejected(auth(&v, &token), "unknown key id");
    // With a key that has no id (the shared secret), a kid the JWKS does not know
    // falls back to it.
    let v = verifier(json!({}));
    let hs = sign(&json!({"alg": "HS256", "kid": "legacy"}), &claims(), Signer::Hmac(SECRET.as_bytes()));
    accepted(auth(&v, &hs));
    let rs = sign(&json!({"alg": "RS256", "kid": "rotated-away"}), &claims(), Signer::Rsa);
    assert_rejected(auth(&v, &rs), "unknown key id");
    // An unknown kid that the keys without an id do not verify either is still
    // reported as an unknown key id (the host's signal to refetch a JWKS), and a
    // known kid with a wrong signature as a bad signature.
    let forged = sign(&json!({"alg": "HS256", "kid": "new"}), &claims(), Signer::Hmac(&[7; 32]));
    match auth(&v, &forged) {
        Err(AuthError::Rejected(why)) => assert!(why.starts_with(crate::verify::UNKNOWN_KID), "{why}"),
        _ => panic!("expected a rejection"),
    }
    let bad = sign(&json!({"alg": "HS256", "kid": "hs-1"}), &claims(), Signer::Hmac(&[7; 32]));
    assert_rejected(auth(&v, &bad), "bad signature");
}

#[test]
fn a_token_without_kid_tries_at_most_eight_keys() {
    let keys: Vec<Value> =
        (0..9).map(|i| json!({"kty": "oct", "k": b64(format!("{SECRET}-{i}").as_bytes())})).collect();
    let config = json!({"issuer": ISS, "audience": "warden", "keys": keys});
    let (v, _) = Verifier::from_json(&config.to_string()).expect("valid");
    let token = sign(&json!({"alg": "HS256"}), &claims(), Signer::Hmac(format!("{SECRET}-8").as_bytes()));
    assert_rejected(auth(&v, &token), "9 HS256 keys could have signed this token");
    let mut config = config;
    config["keys"].as_array_mut().expect("array").truncate(8);
    let (v, _) = Verifier::from_json(&config.to_string()).expect("valid");
    let token = sign(&json!({"alg": "HS256"}), &claims(), Signer::Hmac(format!("{SECRET}-7").as_bytes()));
    accepted(auth(&v, &token));
}

#[test]
fn wrong_key_and_tampering_break_the_signature() {
    let v = verifier(json!({}));
    let other_ec = sign(&json!({"alg": "ES256", "kid": "ec-1"}), &claims(), Signer::Ec(EC2_D));
    assert_rejected(auth(&v, &other_ec), "bad signature");
    let other_secret =
        sign(&json!({"alg": "HS256"}), &claims(), Signer::Hmac(b"another-secret-another-secret-another"));
    assert_rejected(auth(&v, &other_secret), "bad signature");

    for token in [hs256(&claims()), rs256(&claims()), es256(&claims())] {
        let [h, _, s]: [&str; 3] = token.split('.').collect::<Vec<_>>().try_into().expect("three parts");
        let mut c = claims();
        c["sub"] = json!("admin");
        c["scope"] = json!("*");
        let forged = format!("{h}.{}.{s}", b64(c.to_string().as_bytes()));
        assert_rejected(auth(&v, &forged), "bad signature");
        // One flipped signature bit.
        let mut sig = unb64(s);
        sig[5] ^= 1;
        assert_rejected(
            auth(&v, &format!("{}.{}", &token[..token.rfind('.').expect("dot")], b64(&sig))),
            "bad signature",
        );
        // A truncated or empty signature.
        let short = &token[..token.len() - 4];
        assert!(matches!(auth(&v, short), Err(AuthError::Rejected(_))));
        let empty = &token[..token.rfind('.').expect("dot") + 1];
        assert_rejected(auth(&v, empty), "bad signature");
    }
    // An ES256 signature in DER form, as some libraries produce, is not JOSE's r || s.
    let der = sign(&json!({"alg": "ES256", "kid": "ec-1"}), &claims(), Signer::Raw(&b64(&[0x30; 70])));
    assert_rejected(auth(&v, &der), "bad signature");
}

#[test]
fn critical_header_extensions_are_refused() {
    let v = verifier(json!({}));
    let token =
        sign(&json!({"alg": "HS256", "crit": ["b64"], "b64": false}), &claims(), Signer::Hmac(SECRET.as_bytes()));
    assert_rejected(auth(&v, &token), "crit");
}

// --- malformed tokens -------------------------------------------------------------

#[test]
fn what_is_not_a_jwt_is_left_to_the_next_provider() {
    let v = verifier(json!({}));
    let token = hs256(&claims());
    let [h, p, s]: [&str; 3] = token.split('.').collect::<Vec<_>>().try_into().expect("three parts");
    for value in [
        "wdn_live_abcdefghijklmnopqrstuvwxyz012345".to_string(),
        "sk.live.abcdef".to_string(),
        "a.b.c".to_string(),
        format!("{h}.{p}"),
        format!("{h}.{p}.{s}.{s}"),
        format!("{h}.{p}.{s}."),
        format!("{h}.{p}.{s}=="),
        format!("{h}..{s}"),
        format!(".{p}.{s}"),
        format!("{h}.{p}+x.{s}"),
        "".to_string(),
    ] {
        assert_no_credentials(v.authenticate(&bearer(&value), NOW));
    }
    for headers in [
        vec![],
        vec![("authorization".to_string(), format!("Basic {token}"))],
        vec![("authorization".to_string(), token.clone())],
        vec![("x-api-key".to_string(), token.clone())],
        vec![("cookie".to_string(), format!("token={token}"))],
    ] {
        assert_no_credentials(v.authenticate(&headers, NOW));
    }
}

#[test]
fn malformed_jwts_are_rejected() {
    let v = verifier(json!({}));
    let p = b64(claims().to_string().as_bytes());
    // Header that looks like JSON but is not.
    let bad_json = format!("{}.{p}.c2ln", b64(b"{\"alg\":\"HS256\""));
    assert_rejected(auth(&v, &bad_json), "header is not a JSON object");
    // Header with a bad base64 length (5 characters cannot be base64url).
    let bad_len = format!("eyJhbGciOiJIUzI1NiJ9x.{p}.c2ln");
    assert_rejected(auth(&v, &bad_len), "not base64url");
    // Signature that is not valid base64url.
    let bad_sig = format!("{}.{p}.c", b64(br#"{"alg":"HS256"}"#));
    assert_rejected(auth(&v, &bad_sig), "signature is not base64url");
    // A kid that is not a string.
    let bad_kid = sign(&json!({"alg": "HS256", "kid": 7}), &claims(), Signer::Hmac(SECRET.as_bytes()));
    assert_rejected(auth(&v, &bad_kid), "\"kid\" is not a string");
    // Correctly signed payloads that are not a JSON object.
    let header = b64(br#"{"alg":"HS256"}"#);
    for payload in [b"not json".as_slice(), b"[1,2]", b"\"alice\""] {
        let input = format!("{header}.{}", b64(payload));
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any length");
        mac.update(input.as_bytes());
        let token = format!("{input}.{}", b64(&mac.finalize().into_bytes()));
        assert_rejected(auth(&v, &token), "payload is not a JSON object");
    }
    // Too many claims.
    let mut c = claims();
    for i in 0..300 {
        c[format!("c{i}")] = json!(i);
    }
    assert_rejected(auth(&v, &hs256(&c)), "more than 256 members");
}

#[test]
fn oversized_tokens_are_rejected_before_any_work() {
    let v = verifier(json!({}));
    let mut c = claims();
    c["padding"] = json!("x".repeat(20_000));
    assert_rejected(auth(&v, &hs256(&c)), "larger than 16384 bytes");
    let roomy = verifier(json!({"max_token_bytes": 65536}));
    accepted(auth(&roomy, &hs256(&c)));
}

// --- mapping claims to the principal ----------------------------------------------

#[test]
fn scopes_come_from_scope_or_scp() {
    let v = verifier(json!({}));
    let mut c = claims();
    c["scope"] = json!("  github/*   files/read_file  ");
    assert_eq!(accepted(auth(&v, &hs256(&c))).scopes, ["github/*", "files/read_file"]);
    c.as_object_mut().expect("object").remove("scope");
    c["scp"] = json!(["db/query", "web/*"]);
    assert_eq!(accepted(auth(&v, &hs256(&c))).scopes, ["db/query", "web/*"]);
    c["scp"] = json!("db/query web/*");
    assert_eq!(accepted(auth(&v, &hs256(&c))).scopes, ["db/query", "web/*"]);
    // No claim at all: no scopes (the principal sees nothing) ...
    c.as_object_mut().expect("object").remove("scp");
    assert!(accepted(auth(&v, &hs256(&c))).scopes.is_empty());
    // ... unless the config gives defaults.
    let defaults = verifier(json!({"default_scopes": ["*"]}));
    assert_eq!(accepted(auth(&defaults, &hs256(&c))).scopes, ["*"]);
    // Defaults do not apply to a token that states its scopes, even none.
    c["scope"] = json!("");
    assert!(accepted(auth(&defaults, &hs256(&c))).scopes.is_empty());
    c["scope"] = json!({"not": "scopes"});
    assert_rejected(auth(&v, &hs256(&c)), "claim `scope` is neither");
    c["scope"] = json!(["ok", 3]);
    assert_rejected(auth(&v, &hs256(&c)), "claim `scope` is neither");
}

#[test]
fn scope_prefix_and_custom_claim() {
    let v = verifier(json!({"scope_prefix": "mcp:", "default_scopes": ["*"]}));
    let mut c = claims();
    c["scope"] = json!("openid email mcp:github/* mcp:files/read_file mcp: xmcp:db/*");
    assert_eq!(accepted(auth(&v, &hs256(&c))).scopes, ["github/*", "files/read_file"]);
    // Only unrelated scopes: none, not the defaults.
    c["scope"] = json!("openid profile");
    assert!(accepted(auth(&v, &hs256(&c))).scopes.is_empty());

    let custom = verifier(json!({"scopes_claim": "/realm_access/roles", "scope_prefix": "mcp:"}));
    let mut c = claims();
    c["realm_access"] = json!({"roles": ["offline_access", "mcp:github/*"]});
    assert_eq!(accepted(auth(&custom, &hs256(&c))).scopes, ["github/*"]);
    // The `scope` claim is not read when another claim is configured.
    c.as_object_mut().expect("object").remove("realm_access");
    assert!(accepted(auth(&custom, &hs256(&c))).scopes.is_empty());
}

#[test]
fn principal_project_and_attributes() {
    let v = verifier(json!({
        "principal_claim": "email",
        "project_claim": "/org/id",
        "attribute_claims": ["email", "groups", "email_verified", "org", "missing", "https://example.com/roles"],
    }));
    let mut c = claims();
    c["email"] = json!("alice@example.com");
    c["groups"] = json!(["admins", "dev"]);
    c["email_verified"] = json!(true);
    c["org"] = json!({"id": "acme"});
    c["https://example.com/roles"] = json!(["reader"]);
    let p = accepted(auth(&v, &es256(&c)));
    assert_eq!(p.id, "alice@example.com");
    assert_eq!(p.project.as_deref(), Some("acme"));
    let attrs: Vec<(&str, &str)> = p.attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        attrs,
        [
            ("auth", "jwt"),
            ("email", "alice@example.com"),
            ("groups", "admins,dev"),
            ("email_verified", "true"),
            ("org", r#"{"id":"acme"}"#),
            ("https://example.com/roles", "reader"),
        ]
    );
    c.as_object_mut().expect("object").remove("email");
    assert_rejected(auth(&v, &es256(&c)), "no `email` claim");
    let v = verifier(json!({}));
    let mut c = claims();
    c["sub"] = json!("");
    assert_rejected(auth(&v, &hs256(&c)), "not a non-empty string");
    c["sub"] = json!(12345);
    assert_eq!(accepted(auth(&v, &hs256(&c))).id, "12345");
    c.as_object_mut().expect("object").remove("sub");
    assert_rejected(auth(&v, &hs256(&c)), "no `sub` claim");
}

// --- config -----------------------------------------------------------------------

#[test]
fn config_errors_are_clear() {
    let base = || json!({"issuer": ISS, "audience": "warden", "hs256_secret": SECRET});
    let with = |k: &str, v: Value| {
        let mut c = base();
        c[k] = v;
        config_error(c)
    };
    assert!(config_error(json!({})).contains("issuer is required"));
    assert!(config_error(json!({"issuer": ISS, "hs256_secret": SECRET})).contains("audience is required"));
    assert!(config_error(json!({"issuer": ISS, "audience": "warden"})).contains("no verification key"));
    assert!(with("hs256_secret", json!("too-short")).contains("at least 32 bytes"));
    assert!(with("audience", json!([])).contains("audience must be"));
    assert!(with("leeway_seconds", json!(301)).contains("at most 300"));
    assert!(with("max_token_bytes", json!(10)).contains("max_token_bytes"));
    assert!(with("scope_prefix", json!("")).contains("scope_prefix"));
    assert!(with("principal_claim", json!("")).contains("principal_claim"));
    assert!(with("algorithm", json!(["RS256"])).contains("unknown field"));
    assert!(with("algorithms", json!([])).contains("algorithms is empty"));
    assert!(with("algorithms", json!(["HS384"])).contains("not supported"));

    let small = json!({"kty": "RSA", "kid": "old", "n": RSA1024_N, "e": "AQAB"});
    assert!(with("keys", json!([small])).contains("keys[0] (kid \"old\"): RSA key of 1024 bits"));
    let huge = json!({"kty": "RSA", "n": b64(&[0xff; 1024]), "e": "AQAB"});
    assert!(with("keys", json!([huge])).contains("RSA key of 8192 bits: 2048 to 4096 are accepted"));
    let private = json!({"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y, "d": EC_D});
    assert!(with("keys", json!([private])).contains("private key"));
    let rsa_private = json!({"kty": "RSA", "n": RSA_N, "e": RSA_E, "d": RSA_D});
    assert!(with("keys", json!([rsa_private])).contains("private key"));
    let mismatch = json!({"kty": "RSA", "alg": "HS256", "n": RSA_N, "e": RSA_E});
    assert!(with("keys", json!([mismatch])).contains("does not fit key type"));
    let short_oct = json!({"kty": "oct", "k": b64(b"short")});
    assert!(with("keys", json!([short_oct])).contains("shorter than 32 bytes"));
    let off_curve = json!({"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_X});
    assert!(with("keys", json!([off_curve])).contains("not on the P-256 curve"));
    let bad_b64 = json!({"kty": "RSA", "n": "!!!", "e": "AQAB"});
    assert!(with("keys", json!([bad_b64])).contains("member `n` is not base64url"));
    let no_kty = json!({"n": RSA_N, "e": RSA_E});
    assert!(with("keys", json!([no_kty])).contains("missing member `kty`"));
}

#[test]
fn a_whole_jwks_loads_with_unusable_keys_skipped() {
    let jwks = json!([
        rsa_jwk(),
        {"kty": "RSA", "kid": "enc", "use": "enc", "n": RSA_N, "e": RSA_E},
        {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {"kty": "EC", "kid": "p384", "crv": "P-384", "x": "AA", "y": "AA"},
        {"kty": "RSA", "kid": "ps", "alg": "PS256", "n": RSA_N, "e": RSA_E},
        {"kty": "RSA", "kid": "ops", "key_ops": ["encrypt"], "n": RSA_N, "e": RSA_E},
    ]);
    let config = json!({"issuer": ISS, "audience": "warden", "keys": jwks});
    let (v, notes) = Verifier::from_json(&config.to_string()).expect("valid");
    assert_eq!(v.keys.len(), 1);
    assert_eq!(v.algorithms, [Alg::Rs256]);
    assert_eq!(notes.len(), 5, "{notes:?}");
    assert!(notes.iter().all(|n| n.contains("skipped")));
    accepted(auth(&v, &rs256(&claims())));
    // Padded base64 in a JWK is tolerated.
    let padded = json!({"kty": "EC", "crv": "P-256", "x": format!("{EC_X}="), "y": format!("{EC_Y}=")});
    assert!(matches!(Key::from_jwk(&serde_json::from_value::<Jwk>(padded).expect("jwk")), Ok(Parsed::Key(_))));
}

#[test]
fn jwks_only_config_file_merged_in_works() {
    // What the host produces from an inline config plus a `config_file` JWKS.
    let mut config = json!({"issuer": ISS, "audience": "warden", "keys": []});
    let file = json!({"keys": [ec_jwk()]});
    config["keys"].as_array_mut().expect("array").extend(file["keys"].as_array().expect("array").clone());
    let (v, _) = Verifier::from_json(&config.to_string()).expect("valid");
    assert!(matches!(v.keys[0].material, Material::Ec(_)));
    accepted(auth(&v, &es256(&claims())));
}

#[test]
fn schema_is_json_and_lists_every_setting() {
    let schema: Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
    let mut names: Vec<&str> =
        schema["properties"].as_object().expect("properties").keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut expected = vec![
        "issuer",
        "allow_any_issuer",
        "audience",
        "algorithms",
        "keys",
        "hs256_secret",
        "leeway_seconds",
        "max_token_bytes",
        "principal_claim",
        "project_claim",
        "scopes_claim",
        "scope_prefix",
        "default_scopes",
        "attribute_claims",
    ];
    expected.sort_unstable();
    assert_eq!(names, expected);
    // Every one of them is accepted by the parser (deny_unknown_fields would say).
    let config = json!({
        "issuer": ISS, "allow_any_issuer": false, "audience": "a", "algorithms": ["HS256"], "keys": [],
        "hs256_secret": SECRET, "leeway_seconds": 0, "max_token_bytes": 2048, "principal_claim": "sub",
        "project_claim": "p", "scopes_claim": "s", "scope_prefix": "x", "default_scopes": [], "attribute_claims": [],
    });
    Verifier::from_json(&config.to_string()).expect("every documented setting parses");
}
