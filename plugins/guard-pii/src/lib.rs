//! `guard-pii`: finds personal data in tool arguments and results and blocks,
//! flags or redacts it; redactions made on the way in are undone in the result.
//!
//! # Entities
//!
//! | entity  | detector    | placeholder | what                                                        |
//! |---------|-------------|-------------|-------------------------------------------------------------|
//! | `email` | `pii.email` | `<EMAIL_n>` | addresses with a real TLD, also `%40`-encoded in URLs        |
//! | `phone` | `pii.phone` | `<PHONE_n>` | E.164 / international, North American, national formats     |
//! | `card`  | `pii.card`  | `<CARD_n>`  | 13-19 digits, Luhn-valid, known issuer prefix and length    |
//! | `iban`  | `pii.iban`  | `<IBAN_n>`  | country length table and mod-97 check, spaced or bare       |
//! | `ssn`   | `pii.ssn`   | `<SSN_n>`   | US SSN `AAA-GG-SSSS` (unissued ranges excluded)              |
//! | `ip`    | `pii.ip`    | `<IP_n>`    | IPv4 and IPv6 (loopback, unspecified, netmasks excluded)     |
//!
//! Each detector's module documents what it deliberately does not match.
//!
//! # Config
//!
//! ```json
//! {
//!   "entities": {"email": "redact", "card": "block", "phone": "warn", "ip": "off"},
//!   "custom": [{"name": "employee_id", "pattern": "\\bEMP-\\d{6}\\b", "action": "block"}],
//!   "allow": ["support@example.com"]
//! }
//! ```
//!
//! - `entities`: a map from entity to `block` | `redact` | `warn` | `off` (entities
//!   left out are redacted), or a list of entities to redact (the others are off).
//!   Absent: every entity is redacted, so `{}` redacts all of them.
//! - `custom`: extra entities, each a regex (regex-lite syntax: linear time, no
//!   look-around or back-references) with a name (`[A-Za-z][A-Za-z0-9_]*`, not a
//!   built-in name) and an action (default `redact`). Detector
//!   `pii.custom.<name>`, placeholder `<NAME_n>`.
//! - `allow`: values never reported, compared case-insensitively.
//!
//! # Verdicts
//!
//! Any finding whose action is `block` blocks (with every finding); otherwise any
//! `redact` finding redacts (the edits replace only the redact-action values, the
//! findings list all); otherwise `warn`. Redaction gives one `text-edit` per
//! changed string. On input the placeholders are `<EMAIL_1>`, ... and the
//! `restore-state` (JSON) maps them back; `restore` then puts the values back
//! wherever the placeholders appear in the result, also JSON-escaped
//! (`\u003cEMAIL_1\u003e`), HTML-escaped or percent-encoded. On output the
//! placeholders are `[EMAIL_1]`, ... and are final: the gateway restores input
//! placeholders *after* the output guardrails ran, so an output placeholder in
//! the `<EMAIL_1>` form could be "restored" to a different input value.
//!
//! The same value gets the same placeholder everywhere in the payload; numbers
//! count per entity in order of first appearance and skip placeholders already
//! written in the payload. Findings carry the string's JSON Pointer and exact
//! UTF-8 byte span, never the value; past 200 findings the rest is summarised
//! in one `pii.more` finding (the redaction still covers every value). Every
//! detector runs even for entities that are `off`, so a disabled entity's span
//! is never misread by a looser detector (an IBAN's digits as a phone number).
//!
//! Detection is context-aware where formats are ambiguous: a JSON field named
//! like `phone`/`ssn` or a nearby word ("tel", "Telefon", "电话", "SSN") admits
//! bare digit strings; words such as "order", "invoice", "version" veto
//! look-alikes. Every scan is linear in the payload.

mod config;
mod detect;
mod redact;
mod text;
mod tld;

use config::{Action, Settings};
use detect::{Cand, Detected};
use warden_plugin_sdk::*;

/// More findings than this in one verdict are summarised in a last finding; the
/// redaction still covers every value.
const MAX_FINDINGS: usize = 200;

pub struct Pii {
    cfg: Settings,
}

/// One finding in the payload.
struct Hit {
    item: usize,
    cand: Cand,
    action: Action,
}

impl Pii {
    fn detect(&self, path: &str, text: &str) -> Vec<Cand> {
        let key = text::path_key(path);
        let mut cands = Vec::new();
        detect::email::find(text, &mut cands);
        detect::phone::find(text, &key, &mut cands);
        detect::card::find(text, &mut cands);
        detect::iban::find(text, &mut cands);
        detect::ssn::find(text, &key, &mut cands);
        detect::ip::find(text, &mut cands);
        for (k, c) in self.cfg.custom.iter().enumerate() {
            for m in c.regex.find_iter(text) {
                if !m.is_empty() {
                    cands.push(Cand { score: 0.9, ..Cand::new(m.start(), m.end(), Detected::Custom(k)) });
                }
            }
        }
        // Every detector runs, even for entities that are off, so a disabled
        // entity still keeps its span from being misread by a looser detector.
        detect::resolve(cands)
    }

    fn action(&self, what: Detected) -> Option<Action> {
        match what.entity() {
            Some(e) => self.cfg.action(e),
            None => match what {
                Detected::Custom(k) => self.cfg.custom.get(k).map(|c| c.action),
                _ => None,
            },
        }
    }

    fn scan(&self, content: &Content) -> Vec<Hit> {
        let mut hits = Vec::new();
        for (item, t) in content.texts.iter().enumerate() {
            for cand in self.detect(&t.path, &t.text) {
                let Some(action) = self.action(cand.what) else { continue };
                if !self.cfg.allow.is_empty() && self.cfg.allow.contains(&t.text[cand.start..cand.end].to_lowercase()) {
                    continue;
                }
                hits.push(Hit { item, cand, action });
            }
        }
        hits
    }

    fn label(&self, what: Detected) -> &str {
        match what {
            Detected::Email => "EMAIL",
            Detected::Phone => "PHONE",
            Detected::Card => "CARD",
            Detected::Iban => "IBAN",
            Detected::Ssn => "SSN",
            Detected::Ipv4 | Detected::Ipv6 => "IP",
            Detected::Custom(k) => self.cfg.custom.get(k).map_or("CUSTOM", |c| c.label.as_str()),
        }
    }

    fn finding(&self, content: &Content, h: &Hit) -> Finding {
        let (detector, message) = match h.cand.what {
            Detected::Email => ("pii.email".to_string(), "email address".to_string()),
            Detected::Phone => ("pii.phone".into(), "phone number".into()),
            Detected::Card => ("pii.card".into(), "payment card number".into()),
            Detected::Iban => ("pii.iban".into(), "IBAN (bank account number)".into()),
            Detected::Ssn => ("pii.ssn".into(), "US social security number".into()),
            Detected::Ipv4 => ("pii.ip".into(), "IPv4 address".into()),
            Detected::Ipv6 => ("pii.ip".into(), "IPv6 address".into()),
            Detected::Custom(k) => {
                let name = self.cfg.custom.get(k).map_or("custom", |c| c.name.as_str());
                (format!("pii.custom.{name}"), format!("custom entity '{name}'"))
            }
        };
        Finding {
            detector,
            message,
            path: content.texts[h.item].path.clone(),
            span: Some(Span { start: h.cand.start as u32, end: h.cand.end as u32 }),
            score: h.cand.score,
        }
    }

    fn findings(&self, content: &Content, hits: &[Hit]) -> Vec<Finding> {
        let mut out: Vec<Finding> = hits.iter().take(MAX_FINDINGS).map(|h| self.finding(content, h)).collect();
        if hits.len() > MAX_FINDINGS {
            out.push(Finding {
                span: None,
                ..finding("pii.more", &format!("{} more personal data findings not listed", hits.len() - MAX_FINDINGS))
            });
        }
        out
    }

    fn check(&self, content: &Content, style: redact::Style) -> Verdict {
        let hits = self.scan(content);
        if hits.is_empty() {
            return Verdict::Allow;
        }
        let findings = self.findings(content, &hits);
        if hits.iter().any(|h| h.action == Action::Block) {
            return Verdict::Block(findings);
        }
        if !hits.iter().any(|h| h.action == Action::Redact) {
            return Verdict::Warn(findings);
        }
        let spans: Vec<redact::Span> = hits
            .iter()
            .filter(|h| h.action == Action::Redact)
            .map(|h| redact::Span {
                item: h.item,
                start: h.cand.start,
                end: h.cand.end,
                label: self.label(h.cand.what),
            })
            .collect();
        let (edits, state) = redact::redact(&content.texts, &spans, style);
        let restore_state = match style {
            redact::Style::Input => redact::encode_state(&state),
            redact::Style::Output => Vec::new(),
        };
        Verdict::Redact(Redaction { edits, restore_state, findings })
    }
}

impl Guardrail for Pii {
    fn describe() -> PluginInfo {
        PluginInfo {
            config_schema: Some(config::SCHEMA.to_string()),
            ..plugin_info(
                "guard-pii",
                env!("CARGO_PKG_VERSION"),
                "Detects emails, phone numbers, payment cards, IBANs, US SSNs, IP addresses and custom patterns; \
                 blocks, flags or redacts them and restores redacted values in results",
                Stages::INPUT | Stages::OUTPUT | Stages::RESTORE,
            )
        }
    }

    fn configure(config_json: &str) -> Result<Self, String> {
        Ok(Pii { cfg: config::parse(config_json)? })
    }

    fn check_input(&self, _: &CallContext, content: &Content) -> Result<Verdict, PluginError> {
        Ok(self.check(content, redact::Style::Input))
    }

    fn check_output(&self, _: &CallContext, content: &Content) -> Result<Verdict, PluginError> {
        Ok(self.check(content, redact::Style::Output))
    }

    fn restore(&self, _: &CallContext, restore_state: &[u8], content: &Content) -> Result<Vec<TextEdit>, PluginError> {
        let state = redact::decode_state(restore_state).map_err(error)?;
        Ok(redact::restore(&state, &content.texts))
    }
}

export_guardrail!(Pii);

#[cfg(test)]
mod tests;
