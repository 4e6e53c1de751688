//! Small, allocation-light helpers: entropy, character classes, placeholders,
//! base64 decoding and key-name analysis.

/// Shannon entropy of `s` in bits per byte (0 for an empty slice).
pub fn shannon_entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Counts of the character classes of an ASCII-ish value.
#[derive(Default, Clone, Copy, Debug)]
pub struct Classes {
    pub lower: usize,
    pub upper: usize,
    pub digit: usize,
    pub other: usize,
}

impl Classes {
    pub fn of(s: &[u8]) -> Classes {
        let mut c = Classes::default();
        for &b in s {
            match b {
                b'a'..=b'z' => c.lower += 1,
                b'A'..=b'Z' => c.upper += 1,
                b'0'..=b'9' => c.digit += 1,
                _ => c.other += 1,
            }
        }
        c
    }

    /// How many of lower / upper / digit occur.
    pub fn kinds(&self) -> usize {
        usize::from(self.lower > 0) + usize::from(self.upper > 0) + usize::from(self.digit > 0)
    }

    pub fn letters(&self) -> usize {
        self.lower + self.upper
    }
}

pub fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// `[A-Za-z0-9_-]`: base64url / most token alphabets.
pub fn is_url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// `[A-Za-z0-9_.-]`.
pub fn is_url_dot(b: u8) -> bool {
    is_url(b) || b == b'.'
}

/// `[A-Za-z0-9_]`.
pub fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `[A-Za-z0-9+/=]`: standard base64.
pub fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}

/// `[0-9a-fA-F]`.
pub fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// `[A-Z0-9]`.
pub fn is_upper_digit(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}

/// Characters a secret value written without quotes may contain.
pub fn is_value_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_-.+/=~!@#$%^*?|".contains(&b)
}

/// Length of the longest run of one repeated byte.
fn longest_run(s: &[u8]) -> usize {
    let (mut best, mut run) = (0, 0);
    let mut prev = None;
    for &b in s {
        run = if Some(b) == prev { run + 1 } else { 1 };
        prev = Some(b);
        best = best.max(run);
    }
    best
}

fn distinct(s: &[u8]) -> usize {
    let mut seen = [false; 256];
    let mut n = 0;
    for &b in s {
        if !seen[b as usize] {
            seen[b as usize] = true;
            n += 1;
        }
    }
    n
}

/// Markers of documentation examples and templates rather than real values.
const PLACEHOLDER_MARKERS: &[&str] = &[
    "example",
    "your",
    "placeholder",
    "changeme",
    "change_me",
    "change-me",
    "replace",
    "redacted",
    "dummy",
    "sample",
    "insert",
    "xxxx",
    "****",
    "...",
    "…",
    "<",
    ">",
    "${",
    "{{",
    "}}",
    "%s",
    "fake",
    "_here",
    "-here",
    "todo",
    "foobar",
    "secret_key_here",
    "notarealkey",
    "not-a-real",
    "not_a_real",
    "anonymous",
];

/// Whole values that are placeholders, not credentials.
const PLACEHOLDER_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "key",
    "changeme",
    "none",
    "null",
    "nil",
    "undefined",
    "true",
    "false",
    "string",
    "str",
    "required",
    "optional",
    "hidden",
    "masked",
    "test",
    "testing",
    "admin",
    "root",
    "user",
    "username",
    "default",
    "empty",
    "unset",
    "tbd",
    "mypassword",
    "mysecret",
    "mytoken",
    "yourpassword",
    "secret123",
    "password123",
    "letmein",
    "qwerty",
    "abc123",
    "123456",
    "12345678",
    "1234567890",
    "bearer",
    "basic",
    "token123",
    "secretkey",
    "s3cr3t",
    "p@ssw0rd",
    "p@ssword",
    "passw0rd",
    "disabled",
    "enabled",
    "encrypted",
    "protected",
    "unknown",
    "missing",
    "invalid",
    "expired",
    "changed",
    "removed",
    "sensitive",
    "filtered",
    "omitted",
    "private",
    "present",
    "provided",
    "notset",
    "not_set",
    "not-set",
    "hashed",
    "secure",
    "obfuscated",
    "censored",
    "withheld",
    "guest",
    "anonymous",
    "required",
    "optional",
    "generated",
    "random",
    "sensitive_value",
];

/// Is `v` an obvious placeholder, template or masked value (`your-api-key-here`,
/// `xxxx`, `<TOKEN>`, `sk-...`, `${SECRET}`, `changeme`, the AWS documentation keys)?
pub fn is_placeholder(v: &[u8]) -> bool {
    if v.is_empty() {
        return true;
    }
    let lower = String::from_utf8_lossy(v).to_ascii_lowercase();
    let trimmed = lower.trim_matches(|c: char| c == '"' || c == '\'' || c == '`');
    if PLACEHOLDER_WORDS.contains(&trimmed) {
        return true;
    }
    if PLACEHOLDER_MARKERS.iter().any(|m| lower.contains(m)) {
        return true;
    }
    // Template variables: $VAR, %VAR%, {name}, [name].
    let b = trimmed.as_bytes();
    if b.first() == Some(&b'$') && b.len() > 1 && b[1..].iter().all(|&c| is_word(c) || c == b'{' || c == b'}') {
        return true;
    }
    if b.len() > 2 && b.first() == Some(&b'%') && b.last() == Some(&b'%') {
        return true;
    }
    if b.len() > 2 && matches!((b[0], b[b.len() - 1]), (b'{', b'}') | (b'[', b']') | (b'(', b')')) {
        return true;
    }
    // Masks and filler: long runs of one character, or very few distinct ones.
    if longest_run(v) >= 5.max(v.len() / 4) {
        return true;
    }
    v.len() >= 8 && distinct(v) < 5
}

/// Decode standard or URL-safe base64, padded or not. `None` if malformed.
pub fn b64_decode(s: &[u8]) -> Option<Vec<u8>> {
    let s = match s.iter().position(|&b| b == b'=') {
        Some(p) => {
            if s[p..].iter().any(|&b| b != b'=') || s.len() - p > 2 {
                return None;
            }
            &s[..p]
        }
        None => s,
    };
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in s {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Is `v` a UUID (8-4-4-4-12 hex digits, optionally in braces)?
pub fn is_uuid(v: &[u8]) -> bool {
    let v = v.strip_prefix(b"{").and_then(|v| v.strip_suffix(b"}")).unwrap_or(v);
    v.len() == 36
        && v.iter().enumerate().all(|(i, &b)| if matches!(i, 8 | 13 | 18 | 23) { b == b'-' } else { is_hex(b) })
}

/// Split a key name (`AWS_SECRET_ACCESS_KEY`, `apiKey`, `X-Api-Key`, `client secret`)
/// into lower-case words, also at camelCase boundaries.
pub fn key_words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    for part in key.split(|c: char| !c.is_ascii_alphanumeric()) {
        let b = part.as_bytes();
        let mut start = 0;
        for i in 1..b.len() {
            let boundary = (b[i].is_ascii_uppercase() && b[i - 1].is_ascii_lowercase())
                || (b[i].is_ascii_uppercase()
                    && b[i - 1].is_ascii_uppercase()
                    && b.get(i + 1).is_some_and(|c| c.is_ascii_lowercase()));
            if boundary {
                words.push(part[start..i].to_ascii_lowercase());
                start = i;
            }
        }
        if start < b.len() {
            words.push(part[start..].to_ascii_lowercase());
        }
    }
    words
}

/// What a key name says about its value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeyClass {
    /// Not a credential name.
    None,
    /// `password`, `DB_PASS`, `pwd`: any non-placeholder value is a credential.
    Password,
    /// `aws_secret_access_key`, `SecretAccessKey`.
    AwsSecret,
    /// `Authorization`: the value starts with a scheme (`Bearer`, `Basic`, ...).
    Authorization,
    /// `api_key`, `client_secret`, `token`, ...: high-entropy values are credentials.
    Secret {
        /// The name clearly says "secret" (not just `key`): hex values count too.
        strong: bool,
    },
}

/// Words that make a whole key name non-secret wherever they occur.
const EXCLUDE_ANY: &[&str] = &[
    "public",
    "pub",
    "publishable",
    "primary",
    "foreign",
    "sort",
    "partition",
    "range",
    "cache",
    "idempotency",
    "object",
    "page",
    "next",
    "cursor",
    "continuation",
    "sync",
    "resume",
    "pagination",
    "tokenizer",
    "site",
    "csrf",
    "xsrf",
    "max",
    "min",
    "num",
    "count",
    "total",
    "hash",
    "prompt",
    "completion",
    "i18n",
    "translation",
];

/// Last words that make a key name describe a credential rather than hold one.
const EXCLUDE_LAST: &[&str] = &[
    "name",
    "names",
    "id",
    "ids",
    "ref",
    "arn",
    "path",
    "file",
    "filename",
    "url",
    "uri",
    "endpoint",
    "type",
    "header",
    "env",
    "var",
    "variable",
    "field",
    "length",
    "len",
    "size",
    "ttl",
    "expiry",
    "expires",
    "expiration",
    "expire",
    "rotation",
    "policy",
    "manager",
    "store",
    "version",
    "format",
    "provider",
    "region",
    "mode",
    "prefix",
    "suffix",
    "hint",
    "label",
    "description",
    "desc",
    "enabled",
    "enable",
    "required",
    "digest",
    "checksum",
    "sha",
    "sha1",
    "sha256",
    "md5",
    "fingerprint",
    "limit",
    "timeout",
    "interval",
    "location",
    "dir",
    "folder",
    "source",
    "kind",
    "algorithm",
    "alg",
    "scope",
    "scopes",
    "lifetime",
    "age",
    "created",
    "updated",
    "status",
    "owner",
    "usage",
    "tokens",
    "pattern",
    "regex",
    "placeholder",
    "example",
    "param",
    "parameter",
    "strength",
    "rule",
    "rules",
    "requirements",
    "method",
    "flow",
    "server",
    "host",
    "domain",
    "realm",
    "audience",
    "issuer",
    "user",
    "username",
    "login",
    "email",
    "count",
    "index",
    "idx",
    "set",
    "list",
    "hash",
    "salt",
    "nonce",
    "iv",
    "policy",
    "class",
    "schema",
    "error",
    "message",
    "msg",
    "reset",
    "changed",
    "at",
    "date",
    "time",
    "timestamp",
    "level",
    "length",
    "secrets",
    "keys",
];

/// Password labels, English and the common European ones (`Passwort:`, `senha=`).
const PASSWORD_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "pw",
    "passphrase",
    "passcode",
    "pswd",
    "passwort",
    "kennwort",
    "wachtwoord",
    "senha",
    "contrasena",
    "adgangskode",
    "passord",
    "losenord",
    "salasana",
    "heslo",
    "jelszo",
    "sifre",
];

/// Word endings that mark a credential (`githubtoken`, `APIKEY`, `clientsecret`).
const SECRET_ENDINGS: &[&str] = &[
    "secret",
    "token",
    "apikey",
    "secretkey",
    "accesskey",
    "privatekey",
    "authkey",
    "signingkey",
    "masterkey",
    "encryptionkey",
    "credential",
    "credentials",
];

/// Whole words that mark a credential.
const SECRET_WORDS: &[&str] = &["auth", "bearer", "apitoken", "sessionkey"];

/// Words that, before a final `pat`, make it a personal access token.
const PAT_OWNERS: &[&str] = &[
    "github",
    "gh",
    "gitlab",
    "gl",
    "ado",
    "azure",
    "devops",
    "bitbucket",
    "figma",
    "airtable",
    "hf",
    "personal",
    "access",
    "git",
    "my",
    "user",
    "api",
];

/// Words that, before a final `key`, make it a credential name.
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "access",
    "private",
    "secret",
    "auth",
    "signing",
    "encryption",
    "master",
    "client",
    "app",
    "account",
    "shared",
    "subscription",
    "license",
    "session",
    "consumer",
    "storage",
    "service",
    "admin",
    "write",
    "read",
    "server",
    "webhook",
    "hmac",
    "jwt",
    "crypt",
    "cipher",
    "aes",
];

/// Classify a key name split into [`key_words`].
pub fn classify_key(words: &[String]) -> KeyClass {
    let Some(last) = words.last() else { return KeyClass::None };
    let last = last.as_str();
    if words.iter().any(|w| EXCLUDE_ANY.contains(&w.as_str())) {
        return KeyClass::None;
    }
    if last == "authorization" {
        return KeyClass::Authorization;
    }
    if EXCLUDE_LAST.contains(&last) {
        return KeyClass::None;
    }
    if PASSWORD_WORDS.contains(&last)
        || ["password", "passwd", "passphrase"].iter().any(|e| last.ends_with(e))
        || (last == "secret" && words.iter().any(|w| w == "db" || w == "database"))
    {
        return KeyClass::Password;
    }
    let has = |w: &str| words.iter().any(|x| x == w);
    if has("secret") && (has("aws") || has("access")) || words.iter().any(|w| w == "secretaccesskey") {
        return KeyClass::AwsSecret;
    }
    // `GITHUB_PAT`, `ado_pat`: a personal access token (but `HEX_PAT` is a pattern).
    let pat = last == "pat" && words.len() >= 2 && PAT_OWNERS.contains(&words[words.len() - 2].as_str());
    let strong = pat
        || words.iter().any(|w| SECRET_ENDINGS.iter().any(|e| w.ends_with(e)) || SECRET_WORDS.contains(&w.as_str()));
    if strong {
        return KeyClass::Secret { strong: true };
    }
    if last == "key" || last == "apikey" {
        let qualified = words.len() >= 2 && KEY_QUALIFIERS.contains(&words[words.len() - 2].as_str());
        return KeyClass::Secret { strong: qualified };
    }
    KeyClass::None
}

/// Classify a key name as written. An environment-variable style name ending in
/// `KEY` (`AZURE_OPENAI_KEY`, `MAPBOX_KEY`) names a credential as clearly as
/// `api_key` does.
pub fn classify_key_name(key: &str) -> KeyClass {
    let words = key_words(key);
    let class = classify_key(&words);
    let screaming = words.len() >= 2
        && key.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && key.bytes().any(|b| b == b'_');
    if class == (KeyClass::Secret { strong: false }) && screaming {
        return KeyClass::Secret { strong: true };
    }
    class
}

/// Classify the words before "is"/"was" in prose ("the new API token for the
/// service is …"): the last credential noun decides, with what follows it
/// allowed to be a short qualifier ("for the service").
pub fn classify_phrase(words: &[String]) -> KeyClass {
    let noun = |w: &str| {
        PASSWORD_WORDS.contains(&w)
            || w.ends_with("password")
            || SECRET_ENDINGS.iter().any(|e| w.ends_with(e))
            || w == "key"
            || w == "apikey"
    };
    let Some(idx) = words.iter().rposition(|w| noun(w)) else { return KeyClass::None };
    let tail = &words[idx + 1..];
    if tail.len() > 3 || !tail.is_empty() && !matches!(tail[0].as_str(), "for" | "of" | "to" | "on" | "in" | "from") {
        return KeyClass::None;
    }
    classify_key(&words[..=idx])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(k: &str) -> KeyClass {
        classify_key(&key_words(k))
    }

    #[test]
    fn entropy() {
        assert_eq!(shannon_entropy(b""), 0.0);
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abab") - 1.0).abs() < 1e-9);
        assert!((shannon_entropy(b"abcdefgh") - 3.0).abs() < 1e-9);
        assert!(shannon_entropy(b"Zk3Qp9LmW2xR7vTb8nYc4HsD") > 4.0);
        assert!(shannon_entropy(b"passwordpassword") < 3.0);
    }

    #[test]
    fn placeholders() {
        for p in [
            "your-api-key-here",
            "xxxxxxxxxxxxxxxx",
            "<TOKEN>",
            "sk-...",
            "${SECRET}",
            "changeme",
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "********",
            "$DB_PASSWORD",
            "%API_KEY%",
            "{api_key}",
            "REPLACE_ME",
            "password",
            "000000000000",
            "abababababab",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p}");
        }
        for s in ["Zk3Qp9LmW2xR7vTb8nYc4HsD", "hunter2", "Qv7#pLm2x!9Rt", "a1b2c3d4e5f6a7b8"] {
            assert!(!is_placeholder(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn base64() {
        assert_eq!(b64_decode(b"aGVsbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(b64_decode(b"aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(b64_decode(b"-_-_").as_deref(), Some(&[0xfb, 0xff, 0xbf][..]));
        assert_eq!(b64_decode(b"a"), None);
        assert_eq!(b64_decode(b"ab=c"), None);
        assert_eq!(b64_decode(b"a!bc"), None);
    }

    #[test]
    fn uuids() {
        assert!(is_uuid(b"3f1c9c2e-8d4b-4a7e-9f0a-2b6c1d5e7a90"));
        assert!(is_uuid(b"{3F1C9C2E-8D4B-4A7E-9F0A-2B6C1D5E7A90}"));
        assert!(!is_uuid(b"3f1c9c2e-8d4b-4a7e-9f0a-2b6c1d5e7a9"));
        assert!(!is_uuid(b"3f1c9c2e8d4b4a7e9f0a2b6c1d5e7a90"));
    }

    #[test]
    fn words() {
        assert_eq!(key_words("AWS_SECRET_ACCESS_KEY"), ["aws", "secret", "access", "key"]);
        assert_eq!(key_words("apiKey"), ["api", "key"]);
        assert_eq!(key_words("X-API-Key"), ["x", "api", "key"]);
        assert_eq!(key_words("APIKey"), ["api", "key"]);
        assert_eq!(key_words("nextPageToken"), ["next", "page", "token"]);
    }

    #[test]
    fn key_classes() {
        assert_eq!(class("password"), KeyClass::Password);
        assert_eq!(class("DB_PASS"), KeyClass::Password);
        assert_eq!(class("userPassword"), KeyClass::Password);
        assert_eq!(class("aws_secret_access_key"), KeyClass::AwsSecret);
        assert_eq!(class("SecretAccessKey"), KeyClass::AwsSecret);
        assert_eq!(class("Authorization"), KeyClass::Authorization);
        assert_eq!(class("api_key"), KeyClass::Secret { strong: true });
        assert_eq!(class("client_secret"), KeyClass::Secret { strong: true });
        assert_eq!(class("GITHUB_TOKEN"), KeyClass::Secret { strong: true });
        assert_eq!(class("key"), KeyClass::Secret { strong: false });
        assert_eq!(class("STRIPE_KEY"), KeyClass::Secret { strong: false });
        for k in [
            "nextPageToken",
            "page_token",
            "max_tokens",
            "prompt_tokens",
            "token_type",
            "secretName",
            "secretKeyRef",
            "public_key",
            "password_hash",
            "tokenizer_name",
            "access_key_id",
            "cache_key",
            "checksum",
            "secretary",
            "monkey",
            "api_version",
            "password_policy",
        ] {
            assert_eq!(class(k), KeyClass::None, "{k}");
        }
    }
}
