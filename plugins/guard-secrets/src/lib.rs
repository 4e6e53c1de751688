//! `guard-secrets`: detects credentials in tool arguments (input), tool results
//! (output) and tool definitions (tool), and blocks, redacts or flags them.
//!
//! # What it detects
//!
//! Each detector has a config name; findings are reported as `secrets.<name>`.
//!
//! | name | what |
//! |---|---|
//! | `aws-access-key` | `AKIA`/`ASIA`/`ABIA`/`ACCA` + 16 `[A-Z0-9]` |
//! | `aws-secret-key` | 40-char base64 under an AWS-secret-like name, or next to an access key id |
//! | `gcp-api-key` | `AIza` + 35 |
//! | `google-oauth` | `ya29.` access tokens, `1//0` refresh tokens, `GOCSPX-` client secrets |
//! | `azure-storage-key`, `azure-connection-string` | `AccountKey=` / `SharedAccessKey=` values |
//! | `azure-sas-token` | `sig=` SAS signatures |
//! | `azure-client-secret` | Entra ID client secrets (`xxx8Q~…`) |
//! | `github-token` | `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_` |
//! | `gitlab-token` | `glpat-`, `gldt-`, `glrt-`, `glptt-`, `glft-`, `glcbt-`, `gloas-`, `GR1348941` |
//! | `slack-token`, `slack-webhook` | `xoxb-`/`xoxp-`/`xoxa-`/`xoxr-`/`xoxs-`/`xoxe-`/`xapp-`; `hooks.slack.com` URLs |
//! | `stripe-key` | `sk_live_`/`rk_live_` (0.95), `sk_test_`/`rk_test_` (0.6), `whsec_` |
//! | `openai-api-key`, `anthropic-api-key` | `sk-…` (`sk-proj-`, `T3BlbkFJ` marker), `sk-ant-…` |
//! | `twilio-api-key`, `sendgrid-api-key`, `npm-token`, `pypi-token`, `huggingface-token` | `SK`+32 hex, `SG.x.y`, `npm_`, `pypi-`, `hf_` |
//! | `discord-bot-token`, `discord-webhook`, `telegram-bot-token` | id-decoding Discord tokens, webhook URLs, `123456789:AA…` |
//! | `vendor-token` | other well-known shapes: DigitalOcean, Vault, Shopify, Grafana, Sentry, Databricks, Atlassian, Linear, Postman, New Relic, Square, Figma, Doppler, Fly.io, Notion, Pulumi, Dynatrace, Mapbox, Dropbox, Mailgun, Mailchimp, Heroku, Firebase Cloud Messaging, Groq, xAI, Perplexity, Replicate, LangSmith, RubyGems, Teams webhooks, X bearer |
//! | `private-key` | `-----BEGIN … PRIVATE KEY-----` (PKCS#1/#8, EC, OpenSSH, encrypted, PGP) with at least a line of key material (also with JSON-escaped `\n`), base64-encoded PEM keys (kubeconfig `client-key-data`), PuTTY keys, age keys |
//! | `jwt` | `eyJ…` three (or five) base64url segments whose header decodes to JSON with `alg` |
//! | `url-password` | `scheme://user:password@host` |
//! | `connection-string-password` | `Password=…;` / `Pwd=…;` in ADO-style strings |
//! | `basic-auth` | `Basic <base64 of user:password>`, and such base64 under a credential name (Docker `"auth"`) |
//! | `bearer-token` | `Bearer <high-entropy token>` |
//! | `generic-secret` | high-entropy values under credential-like names: `api_key = "…"`, `"secret": "…"`, `token: …`, `X-Api-Key: …`, `FOO_SECRET=…`, `OPENAI_KEY=…`, `--token …`, `<apiKey>…</apiKey>`, `the new API token for X is …`, and JSON members whose name is credential-like (from the finding's JSON Pointer, e.g. `/inputSchema/properties/apiKey/default`) |
//! | `password` | any non-placeholder value under a password-like name (`password`, `DB_PASS`, `pwd`, `<password>`, `.netrc`); unquoted values must not read as code (`password = getpass()`, `password: String`) or as words |
//!
//! Not flagged: UUIDs, hex digests and git SHAs (hex only counts under a clearly
//! secret name such as `client_secret`, never under `sha`/`checksum`/`hash`/`etag`
//! or a bare `key`), `data:` URIs and base64 blobs outside credential-like names,
//! versions, paths, slugs (`db-credentials`), code references (`os.environ[...]`,
//! `getpass()`), password hashes (`$2b$…`), public keys and certificates, Stripe
//! publishable keys, pagination tokens (`nextPageToken`), and placeholders
//! (`your-api-key-here`, `xxxx`, `<TOKEN>`, `sk-...`, `${SECRET}`, `changeme`,
//! `********`, anything containing `example`). The AWS documentation keys
//! `AKIAIOSFODNN7EXAMPLE` / `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY` are
//! therefore placeholders and allowed (so is RFC 7617's `Aladdin:open sesame`).
//! Hand-written filler in generic values (`12345678`, `abcdefgh`, `qwerty`) is
//! treated as an example too, but not inside vendor-prefixed tokens.
//!
//! Known gaps: secrets with no distinctive prefix and no credential-like name
//! next to them (a bare random string on its own line, `admin / P@ssw0rd`,
//! `sshpass -p …`, `mysql -pSECRET`); passwords containing spaces; UUID-shaped
//! API keys (UUIDs are never flagged); vendor checksums (GitHub/npm CRC32) are
//! not verified, so well-shaped fakes are reported.
//!
//! # Config
//!
//! ```json
//! {
//!   "action": "block",
//!   "detectors": { "jwt": { "action": "warn" }, "password": { "enabled": false } },
//!   "custom": [ { "name": "acme-token", "pattern": "acme_[a-z0-9]{32}", "action": "redact", "score": 0.9 } ],
//!   "allow": [ "sk_test_4eC39HqLyjWDarjtT1zdp7dc" ],
//!   "allow_patterns": [ "AKIA[A-Z0-9]{12}TEST" ],
//!   "min_score": 0.0,
//!   "entropy": { "min_length": 16, "min_bits": 3.3 }
//! }
//! ```
//!
//! - `action` (default `block`): `block` | `redact` | `warn`, for every detector
//!   unless overridden per detector. The strongest action among the findings wins.
//! - `detectors`: per built-in detector (names above), `enabled` (default true) and `action`.
//! - `custom`: extra patterns (regex-lite syntax, linear-time) reported as
//!   `secrets.custom.<name>`; `action` defaults to the global one, `score` to 0.9.
//! - `allow`: literal values never reported (known test keys); `allow_patterns`:
//!   regexes that must match a whole detected value for it to be allowed.
//! - `min_score` (default 0): findings with a lower score are dropped (e.g. 0.7
//!   ignores Stripe test keys and values under a bare `key` name).
//! - `entropy`: tunables of the `generic-secret` and `bearer-token` detectors.
//!
//! With `redact`, each secret is replaced by `<SECRET_1>`, `<SECRET_2>`, … (the
//! same value gets the same number within a payload). Secrets are never restored,
//! so the plugin does not join the restore stage. Findings carry the JSON Pointer
//! and byte span of the secret, never the value; at most 256 are listed per call,
//! followed by one `secrets.truncated` finding counting the rest (every secret is
//! still redacted).

mod detect;
mod util;

use detect::{Det, EntropyOpts, Hit};
use regex_lite::{Regex, RegexBuilder};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use warden_plugin_sdk::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    action: Action,
    #[serde(default)]
    detectors: BTreeMap<String, DetectorConfig>,
    #[serde(default)]
    custom: Vec<CustomConfig>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    allow_patterns: Vec<String>,
    #[serde(default)]
    min_score: f32,
    #[serde(default)]
    entropy: EntropyConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DetectorConfig {
    #[serde(default = "yes")]
    enabled: bool,
    action: Option<Action>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomConfig {
    name: String,
    pattern: String,
    action: Option<Action>,
    score: Option<f32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct EntropyConfig {
    min_length: Option<usize>,
    min_bits: Option<f64>,
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
#[serde(rename_all = "snake_case")]
enum Action {
    Warn,
    Redact,
    #[default]
    Block,
}

struct Custom {
    name: String,
    regex: Regex,
    action: Action,
    score: f32,
}

/// The configured guardrail.
struct Secrets {
    engine: detect::Engine,
    /// Per built-in detector (index of [`Det::BUILTIN`]): `None` when disabled.
    actions: Vec<Option<Action>>,
    custom: Vec<Custom>,
    allow: Vec<String>,
    allow_patterns: Vec<Regex>,
    min_score: f32,
}

const SCHEMA: &str = concat!(
    r##"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","additionalProperties":false,"##,
    r##""$defs":{"action":{"enum":["block","redact","warn"]}},"properties":{"##,
    r##""action":{"$ref":"#/$defs/action","default":"block"},"##,
    r##""detectors":{"type":"object","propertyNames":{"enum":["aws-access-key","aws-secret-key","gcp-api-key","##,
    r##""google-oauth","azure-storage-key","azure-connection-string","azure-sas-token","azure-client-secret","##,
    r##""github-token","gitlab-token","slack-token","slack-webhook","stripe-key","openai-api-key","##,
    r##""anthropic-api-key","twilio-api-key","sendgrid-api-key","npm-token","pypi-token","huggingface-token","##,
    r##""discord-bot-token","discord-webhook","telegram-bot-token","vendor-token","private-key","jwt","##,
    r##""url-password","connection-string-password","basic-auth","bearer-token","generic-secret","password"]},"##,
    r##""additionalProperties":{"type":"object","additionalProperties":false,"properties":{"##,
    r##""enabled":{"type":"boolean","default":true},"action":{"$ref":"#/$defs/action"}}}},"##,
    r##""custom":{"type":"array","items":{"type":"object","additionalProperties":false,"required":["name","pattern"],"##,
    r##""properties":{"name":{"type":"string","pattern":"^[a-z0-9][a-z0-9_-]*$"},"pattern":{"type":"string","minLength":1},"##,
    r##""action":{"$ref":"#/$defs/action"},"score":{"type":"number","minimum":0,"maximum":1}}}},"##,
    r##""allow":{"type":"array","items":{"type":"string","minLength":1}},"##,
    r##""allow_patterns":{"type":"array","items":{"type":"string","minLength":1}},"##,
    r##""min_score":{"type":"number","minimum":0,"maximum":1,"default":0},"##,
    r##""entropy":{"type":"object","additionalProperties":false,"properties":{"##,
    r##""min_length":{"type":"integer","minimum":8,"maximum":256,"default":16},"##,
    r##""min_bits":{"type":"number","minimum":1,"maximum":6,"default":3.3}}}}}"##,
);

/// Findings listed per call; the rest are counted in one summary finding, so a
/// payload full of secrets cannot push the result past the host's output cap.
const MAX_FINDINGS: usize = 256;

/// Compiled-program size cap for operator regexes (regex-lite counts bytes of its program).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).build().map_err(|e| e.to_string())
}

impl Secrets {
    fn from_config(c: Config) -> Result<Secrets, String> {
        let mut actions: Vec<Option<Action>> = vec![Some(c.action); Det::BUILTIN.len()];
        for (name, dc) in &c.detectors {
            let Some(i) = Det::BUILTIN.iter().position(|d| d.name() == name) else {
                let known: Vec<&str> = Det::BUILTIN.iter().map(|d| d.name()).collect();
                return Err(format!("detectors.{name}: unknown detector (known: {})", known.join(", ")));
            };
            actions[i] = dc.enabled.then(|| dc.action.unwrap_or(c.action));
        }
        let mut custom = Vec::with_capacity(c.custom.len());
        for (i, cc) in c.custom.into_iter().enumerate() {
            let valid_name = cc.name.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && cc.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
            if !valid_name {
                return Err(format!("custom[{i}].name: must match ^[a-z0-9][a-z0-9_-]*$"));
            }
            if custom.iter().any(|o: &Custom| o.name == cc.name) {
                return Err(format!("custom[{i}].name: duplicate name {:?}", cc.name));
            }
            if cc.pattern.is_empty() {
                return Err(format!("custom[{i}].pattern: empty"));
            }
            let regex = compile(&cc.pattern).map_err(|e| format!("custom[{i}].pattern: invalid regex: {e}"))?;
            if regex.is_match("") {
                return Err(format!("custom[{i}].pattern: matches the empty string"));
            }
            let score = cc.score.unwrap_or(0.9);
            if !(0.0..=1.0).contains(&score) {
                return Err(format!("custom[{i}].score: must be between 0 and 1"));
            }
            custom.push(Custom { name: cc.name, regex, action: cc.action.unwrap_or(c.action), score });
        }
        if let Some(i) = c.allow.iter().position(String::is_empty) {
            return Err(format!("allow[{i}]: empty"));
        }
        let mut allow_patterns = Vec::with_capacity(c.allow_patterns.len());
        for (i, p) in c.allow_patterns.iter().enumerate() {
            if p.is_empty() {
                return Err(format!("allow_patterns[{i}]: empty"));
            }
            let anchored =
                compile(&format!("^(?:{p})$")).map_err(|e| format!("allow_patterns[{i}]: invalid regex: {e}"))?;
            allow_patterns.push(anchored);
        }
        if !(0.0..=1.0).contains(&c.min_score) {
            return Err("min_score: must be between 0 and 1".into());
        }
        let mut entropy = EntropyOpts::default();
        if let Some(l) = c.entropy.min_length {
            if !(8..=256).contains(&l) {
                return Err("entropy.min_length: must be between 8 and 256".into());
            }
            entropy.min_length = l;
        }
        if let Some(b) = c.entropy.min_bits {
            if !(1.0..=6.0).contains(&b) {
                return Err("entropy.min_bits: must be between 1 and 6".into());
            }
            entropy.min_bits = b;
        }
        Ok(Secrets {
            engine: detect::Engine::new(entropy),
            actions,
            custom,
            allow: c.allow,
            allow_patterns,
            min_score: c.min_score,
        })
    }

    fn action_of(&self, det: Det) -> Option<Action> {
        match det {
            Det::Custom(i) => self.custom.get(i).map(|c| c.action),
            d => d.index().and_then(|i| self.actions[i]),
        }
    }

    fn allowed(&self, value: &str) -> bool {
        self.allow.iter().any(|a| a == value) || self.allow_patterns.iter().any(|r| r.is_match(value))
    }

    /// Findings in one string, filtered by config and with overlaps merged.
    fn hits(&self, text: &str, key: Option<&str>) -> Vec<(Hit, Action)> {
        let mut hits = self.engine.scan(text, key);
        for (i, c) in self.custom.iter().enumerate() {
            for m in c.regex.find_iter(text) {
                if !m.as_str().is_empty() {
                    hits.push(Hit { det: Det::Custom(i), what: "", start: m.start(), end: m.end(), score: c.score });
                }
            }
        }
        let mut hits: Vec<(Hit, Action)> = hits
            .into_iter()
            .filter(|h| h.score >= self.min_score)
            .filter_map(|h| self.action_of(h.det).map(|a| (h, a)))
            .filter(|(h, _)| text.get(h.start..h.end).is_some_and(|v| !self.allowed(v)))
            .collect();
        hits.sort_by(|a, b| a.0.start.cmp(&b.0.start).then(b.0.end.cmp(&a.0.end)));
        let mut merged: Vec<(Hit, Action)> = Vec::with_capacity(hits.len());
        for (h, a) in hits {
            match merged.last_mut() {
                Some((last, la)) if h.start < last.end => {
                    last.end = last.end.max(h.end);
                    *la = (*la).max(a);
                    if h.score > last.score {
                        last.det = h.det;
                        last.what = h.what;
                        last.score = h.score;
                    }
                }
                _ => merged.push((h, a)),
            }
        }
        merged
    }

    fn finding(&self, h: &Hit, path: &str) -> Finding {
        let (detector, message) = match h.det {
            Det::Custom(i) => {
                let name = self.custom.get(i).map_or("?", |c| c.name.as_str());
                (format!("secrets.custom.{name}"), format!("value matching custom secret pattern {name:?}"))
            }
            d => (format!("secrets.{}", d.name()), format!("{} detected", h.what)),
        };
        Finding {
            detector,
            message,
            path: path.to_string(),
            span: Some(Span { start: h.start as u32, end: h.end as u32 }),
            score: h.score,
        }
    }

    fn check(&self, content: &Content) -> Verdict {
        let mut findings = Vec::new();
        let mut strongest = None;
        let mut edits = Vec::new();
        let mut numbers: HashMap<&str, usize> = HashMap::new();
        for item in &content.texts {
            let hits = self.hits(&item.text, key_of(&item.path).as_deref());
            if hits.is_empty() {
                continue;
            }
            let mut redacted = String::with_capacity(item.text.len());
            let mut pos = 0;
            let mut any_redacted = false;
            for (h, a) in &hits {
                findings.push(self.finding(h, &item.path));
                strongest = strongest.max(Some(*a));
                if *a == Action::Redact {
                    let value = &item.text[h.start..h.end];
                    let next = numbers.len() + 1;
                    let n = *numbers.entry(value).or_insert(next);
                    redacted.push_str(&item.text[pos..h.start]);
                    redacted.push_str(&format!("<SECRET_{n}>"));
                    pos = h.end;
                    any_redacted = true;
                }
            }
            if any_redacted {
                redacted.push_str(&item.text[pos..]);
                edits.push(TextEdit { path: item.path.clone(), text: redacted });
            }
        }
        if findings.len() > MAX_FINDINGS {
            let more = findings.len() - MAX_FINDINGS;
            let score = findings.iter().map(|f| f.score).fold(0.0, f32::max);
            findings.truncate(MAX_FINDINGS);
            findings.push(Finding {
                score,
                ..finding("secrets.truncated", &format!("{more} more secrets found and not listed"))
            });
        }
        match strongest {
            None => Verdict::Allow,
            Some(Action::Block) => Verdict::Block(findings),
            Some(Action::Redact) => Verdict::Redact(Redaction { edits, restore_state: Vec::new(), findings }),
            Some(Action::Warn) => Verdict::Warn(findings),
        }
    }
}

/// The member name a string is stored under, from its JSON Pointer: the last
/// segment, or its parent for array items and schema keywords (`default`,
/// `example`, ...), so `/inputSchema/properties/apiKey/default` gives `apiKey`.
fn key_of(path: &str) -> Option<String> {
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    let skip = |s: &str| {
        s.is_empty()
            || s.bytes().all(|b| b.is_ascii_digit())
            || matches!(s, "default" | "value" | "const" | "example" | "examples" | "enum" | "values")
    };
    let seg = segs.iter().rev().find(|s| !skip(s))?;
    Some(seg.replace("~1", "/").replace("~0", "~"))
}

impl Guardrail for Secrets {
    fn describe() -> PluginInfo {
        PluginInfo {
            config_schema: Some(SCHEMA.to_string()),
            ..plugin_info(
                "guard-secrets",
                env!("CARGO_PKG_VERSION"),
                "Detects credentials (cloud keys, API tokens, private keys, JWTs, passwords, high-entropy secrets) and blocks, redacts or flags them",
                Stages::INPUT | Stages::OUTPUT | Stages::TOOL,
            )
        }
    }

    fn configure(config_json: &str) -> Result<Self, String> {
        let json = if config_json.trim().is_empty() { "{}" } else { config_json };
        let c: Config = serde_json::from_str(json).map_err(|e| format!("invalid config: {e}"))?;
        Secrets::from_config(c)
    }

    fn check_input(&self, _: &CallContext, content: &Content) -> Result<Verdict, PluginError> {
        Ok(self.check(content))
    }

    fn check_output(&self, _: &CallContext, content: &Content) -> Result<Verdict, PluginError> {
        Ok(self.check(content))
    }

    fn check_tool(&self, _: &str, content: &Content) -> Result<Verdict, PluginError> {
        Ok(self.check(content))
    }
}

export_guardrail!(Secrets);

#[cfg(test)]
mod tests;
