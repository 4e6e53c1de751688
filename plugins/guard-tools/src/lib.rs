//! `guard-tools`: detects poisoned MCP tool definitions at discovery (stage `tool`).
//!
//! The host calls `check_tool(server, content)` once per upstream tool; `content` holds
//! the definition (`name`, `title`, `description`, `inputSchema`, `outputSchema`,
//! `annotations`) both as JSON and as every string with its JSON Pointer. A `block`
//! verdict hides the tool from clients; `warn` lists it but reports the findings.
//!
//! Legitimate descriptions describe the tool's own behaviour and inputs; poisoned ones
//! instruct the model to do something else, hide things from the user, or reach for data
//! outside the tool's purpose. Detectors (finding `detector`, with the JSON Pointer of the
//! string as `path` and the byte span where useful):
//!
//! - `tools.hidden-instructions`: text addressed to the model: `<IMPORTANT>`/`<SYSTEM>`
//!   blocks, fake role markers and instruction keys, secrecy towards the user ("do not
//!   tell the user", "the user must not know", "not something to discuss with the user"),
//!   overrides ("ignore previous instructions"), claims of authority, priority or consent,
//!   threats ("otherwise the app will crash"), deceiving or acting for the user, skipping
//!   confirmations, privilege escalation, and any directive that combines several risks
//!   (sensitive data, other tools, outside destinations, secrecy, destructive actions).
//! - `tools.sensitive-data`: requests to read or pass on credential/private files
//!   (`~/.ssh`, `~/.aws/credentials`, `.env`, `mcp.json`, shell history, browser stores,
//!   wallets), secrets, cookies, environment variables, personal data, the conversation or
//!   system prompt, or data from other tools; "pass its content as 'sidenote'".
//! - `tools.shadowing`: instructions about other tools or the agent's behaviour in
//!   general ("when send_email is used, bcc ...", "route every read through this tool",
//!   "from now on ...", "regardless of what the user asked"), and preference manipulation
//!   ("always choose this tool first", "ignore the other tools", promotional hype).
//! - `tools.exfiltration`: sending data to a literal URL/address/IP/phone number, encoding
//!   data into parameters or URL templates, markdown image/link beacons, and command
//!   execution (download-and-run one-liners, reverse shells, destructive commands,
//!   untrusted package indexes, "run the following in the terminal").
//! - `tools.hidden-text`: zero-width characters, Unicode tag characters (decoded and
//!   analysed), bidi overrides (reversed and analysed), base64-encoded prose (decoded and
//!   analysed), terminal escape sequences, homoglyph words, HTML/markdown comments,
//!   CSS-hidden and collapsed elements, blank padding, instructions deep in long text.
//! - `tools.schema`: parameters whose description or name asks for file contents, the
//!   conversation, credentials, personal data or environment dumps unrelated to the tool's
//!   purpose, parameters the model is told to fill silently, recipient-like parameters with
//!   a hard-coded external default. Every string of the definition is analysed (titles,
//!   annotations, enum values, defaults, output schema), and descriptive parameter names
//!   are analysed as text (full-schema poisoning).
//!
//! Language-independent layer (`xling.rs`, rule ids `x-*`): every string is split into
//! sentences and each sentence gets a set of features from lexicons in English, Chinese,
//! Japanese, Korean, Russian, German, French, Spanish, Portuguese, Italian, Dutch, Polish,
//! Arabic, Hindi and Turkish (credential file paths, read / send-or-put verbs, "parameter /
//! field" words or a parameter name of this tool, secrecy towards the user, literal e-mail
//! addresses and channels, copy/BCC, "always", other tools, environment variables); rules
//! fire on combinations within a window of three sentences: a credential file read into a
//! parameter, credential access or data handling plus secrecy, copies to a hard-coded
//! address, a secret environment variable (`OPENAI_API_KEY`) put into a parameter. The same
//! layer covers English behavioural manipulation without credential words: lying about
//! results ("tell the user it succeeded even if the tool fails"), skipping confirmation,
//! claimed elevated permissions / void safety policies, persisting instructions into the
//! agent's memory, running after every message with open files or history, SQL appended
//! to other tools' queries, payment-recipient swaps, system-prompt extraction, ignoring
//! security warnings. Leetspeak (`r3ad`, `p4ss 1t`, `d0n't t3ll`) is undone on a copy
//! (byte-for-byte, so spans hold) and the whole engine re-runs on it.
//!
//! Knowingly not covered: paraphrases in other languages that use none of the lexicon
//! words (the multilingual layer is keyword co-occurrence, not translation), languages
//! not listed above, meaning carried purely by paraphrase with none of the vocabulary
//! above, lying annotations (`readOnlyHint` on a destructive tool), and changes between two
//! versions of a definition (pinning is the host's job).
//!
//! Scoring: each rule has a confidence; distinct rules combine as independent evidence
//! (noisy-OR), repeated hits of one rule count once. The combined score decides. The
//! default block threshold (0.65) was chosen so that benign definitions (the project case
//! file, an independent red-team set, the GitHub and reference MCP servers' real tool
//! lists) stay below it: the highest-scoring benign definition seen is a login tool that
//! "must be called before any other tool" at about 0.63 (warn).
//!
//! Config (all optional; `{}` gives the defaults):
//!
//! ```json
//! {
//!   "block_threshold": 0.65,         // combined score that blocks (hides) the tool
//!   "warn_threshold": 0.5,           // combined score that warns
//!   "techniques": {                  // detector toggles
//!     "hidden_instructions": true, "sensitive_data": true, "shadowing": true,
//!     "exfiltration": true, "hidden_text": true, "schema": true
//!   },
//!   "extra_patterns": [              // operator regexes (regex-lite: linear time)
//!     {"pattern": "acme-internal", "technique": "exfiltration", "score": 0.9,
//!      "message": "mentions the internal host", "case_sensitive": false}
//!   ],
//!   "allow": ["github/*", "files/read_file"],   // server/tool, either side may be *
//!   "long_description_chars": 3000,  // beyond this, instructions past the middle count as concealed
//!   "max_findings": 20
//! }
//! ```
//!
//! Pinning of definitions by hash (rug-pull detection across time) is done by the host.

mod analyze;
mod config;
mod lexicon;
mod multi;
mod norm;
mod pattern;
mod raw;
mod rules;
mod schema;
mod score;
mod sentence;
mod token;
mod xling;

use config::Settings;
use score::{Signal, combine, findings};
use serde_json::Value;
use warden_plugin_sdk::*;

struct Tools {
    s: Settings,
    x: xling::Xling,
}

/// Strings that are schema syntax rather than prose (a keyword such as `"string"`, a
/// regex, a parameter name in `required`). Anything longer or with spaces is analysed.
fn skip_path(path: &str, text: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or("");
    let syntax = matches!(
        last,
        "type" | "format" | "pattern" | "$schema" | "$ref" | "$id" | "contentEncoding" | "contentMediaType"
    ) || path.contains("/required/");
    syntax && (last == "pattern" || (text.len() <= 64 && !text.contains(char::is_whitespace)))
}

impl Tools {
    /// Combined score of a definition (tests and calibration).
    #[cfg(test)]
    fn score(&self, content: &Content) -> f32 {
        combine(&self.signals(content).1)
    }

    fn scan(&self, server: &str, content: &Content) -> Verdict {
        let (tool, signals) = self.signals(content);
        if self.s.allow.iter().any(|a| a.matches(server, &tool)) {
            return Verdict::Allow;
        }
        let total = combine(&signals);
        if total < self.s.warn {
            return Verdict::Allow;
        }
        let found = findings(&signals, self.s.max_findings, 0.15);
        if total >= self.s.block { Verdict::Block(found) } else { Verdict::Warn(found) }
    }

    /// The tool's name and every signal found in its definition.
    fn signals(&self, content: &Content) -> (String, Vec<Signal>) {
        let texts: Vec<(String, String)> = content.texts.iter().map(|t| (t.path.clone(), t.text.clone())).collect();
        let def = match serde_json::from_str::<Value>(&content.json) {
            Ok(v) if v.is_object() => v,
            _ => schema::rebuild(&texts),
        };
        let tool = def.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        let ctx = schema::context(&def);
        let mut signals: Vec<Signal> = Vec::new();
        for (path, text) in &texts {
            if !skip_path(path, text) {
                // An identifier-like value (`ignore_previous_instructions`, an enum value or a
                // default) is read as the words it is made of, like a parameter name.
                if !text.contains(char::is_whitespace) {
                    let phrase = schema::name_phrase(text);
                    if phrase.split(' ').count() >= 4 {
                        let from = signals.len();
                        self.s.engine.analyze(path, &phrase, &ctx, &mut signals);
                        let mut extra = Vec::new();
                        self.x.analyze(path, &phrase, &ctx, &mut extra);
                        signals.extend(extra.into_iter().filter(|s| self.s.engine.on(s.det)));
                        for s in &mut signals[from..] {
                            s.span = None;
                        }
                    }
                }
                self.s.engine.analyze(path, text, &ctx, &mut signals);
                let mut extra = Vec::new();
                self.x.analyze(path, text, &ctx, &mut extra);
                signals.extend(extra.into_iter().filter(|s| self.s.engine.on(s.det)));
                // Leetspeak: analyse a de-leeted copy too (same length, so spans hold).
                if let Some(plain) = xling::deleet(text) {
                    let from = signals.len();
                    self.s.engine.analyze(path, &plain, &ctx, &mut signals);
                    if signals[from..].iter().any(|s| s.score >= 0.5) && self.s.engine.on(score::Det::HiddenText) {
                        signals.push(Signal {
                            det: score::Det::HiddenText,
                            rule: "leetspeak".to_string(),
                            score: 0.5,
                            message: "instructions obfuscated with digits for letters (leetspeak)".to_string(),
                            path: path.clone(),
                            span: None,
                        });
                    }
                }
            }
        }
        // Parameter names are object keys, not strings: analyse descriptive ones as text.
        for (ptr, name) in schema::param_names(&def) {
            if self.s.engine.on(score::Det::Schema) && schema::sensitive_name(&name) {
                signals.push(Signal {
                    det: score::Det::Schema,
                    rule: format!("name{ptr}"),
                    score: 0.6,
                    message: "parameter name refers to a credential or private file".to_string(),
                    path: ptr.clone(),
                    span: None,
                });
            }
            let phrase = schema::name_phrase(&name);
            if phrase.split(' ').count() >= 4 {
                let from = signals.len();
                self.s.engine.analyze(&ptr, &phrase, &ctx, &mut signals);
                for s in &mut signals[from..] {
                    s.span = None;
                }
            }
        }
        if self.s.engine.on(score::Det::Schema) {
            schema::analyze(&self.s.schema, &def, &ctx, &mut signals);
        }
        (tool, signals)
    }
}

impl Guardrail for Tools {
    fn describe() -> PluginInfo {
        PluginInfo {
            content_forms: ContentForms::TEXTS | ContentForms::JSON,
            config_schema: Some(config::SCHEMA.to_string()),
            ..plugin_info(
                "guard-tools",
                env!("CARGO_PKG_VERSION"),
                "Detects poisoned tool definitions: hidden instructions, credential grabs, cross-tool shadowing, exfiltration, hidden text and suspicious schemas",
                Stages::TOOL,
            )
        }
    }

    fn configure(config_json: &str) -> Result<Self, String> {
        Ok(Tools { s: config::parse(config_json)?, x: xling::Xling::new() })
    }

    fn check_tool(&self, server: &str, content: &Content) -> Result<Verdict, PluginError> {
        Ok(self.scan(server, content))
    }
}

export_guardrail!(Tools);

#[cfg(test)]
mod tests;
