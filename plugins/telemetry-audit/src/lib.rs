//! `telemetry-audit`: a telemetry sink that writes every audit event as one JSON line
//! to its standard output.
//!
//! The plugin has no filesystem access at all: the host connects its stdout
//! (`wasi:cli/stdout`) to the append-only audit file the operator grants
//! (`grants.stdout` in the plugin's `[[plugins]]` entry); without that grant the
//! output is discarded. Each call of `export-events` serializes the whole batch into
//! one buffer and hands it to stdout with a single write and a flush.
//!
//! # Line format (stable)
//!
//! One JSON object per event, keys in this order, terminated by `\n`; strings are
//! JSON-escaped (quotes, backslashes, control characters as `\n`/`\uXXXX`), so a line
//! never contains a raw newline. Non-ASCII text is written as UTF-8.
//!
//! ```text
//! {"ts":"2026-11-26T12:00:00.123Z","ts_ms":1795694400123,"request_id":"r-1","stage":"input",
//!  "principal":"alice"|null,"server":"github","tool":"create_issue","outcome":"blocked",
//!  "duration_us":412,"findings":[{"detector":"pii.email","message":"email address",
//!  "path":"/body","score":0.9,"span":{"start":4,"end":21}|null}],"env":"prod"}
//! ```
//!
//! - `ts`: RFC 3339 UTC time with milliseconds, computed from `ts_ms` (no clock is read).
//!   Years after 9999 are written with more than four digits (then `ts_ms` is the
//!   authoritative value).
//! - `ts_ms`: milliseconds since the Unix epoch, as given by the host.
//! - `principal`: the caller's principal id, `null` when the request was not
//!   authenticated.
//! - `outcome`: one of `allowed`, `warned`, `redacted`, `blocked`, `denied`, `failed`.
//! - `findings`: what the guardrails noticed, never the matched values (the host
//!   guarantees messages hold none; spans are byte offsets only). `score` is `null`
//!   if the guardrail reported a non-finite number.
//! - The configured `static` fields come last, sorted by name.
//!
//! # Config
//!
//! Every key is optional; `{}` logs every event with every field.
//!
//! ```json
//! {
//!   "include_allowed": true,
//!   "stages": ["auth", "input", "call", "output", "tool"],
//!   "fields": { "principal": false },
//!   "static": { "env": "prod", "region": "eu-west-1" }
//! }
//! ```
//!
//! - `include_allowed` (bool, default `true`): `false` drops events whose outcome is
//!   `allowed`, to keep the log small (every other outcome is still written).
//! - `stages` (non-empty list of stage names, default: all): only events of these
//!   stages are written. Names are compared exactly (the host uses `auth`, `input`,
//!   `call`, `output`, `tool`, ...).
//! - `fields` (object of booleans, default all `true`): `false` leaves the field out
//!   of every line, for privacy or size. Omittable: `ts_ms`, `request_id`,
//!   `principal`, `server`, `tool`, `duration_us`, `findings`, `finding_messages`
//!   (drops only the `message` of each finding), `finding_paths` (the JSON Pointer
//!   of each finding, which may name payload keys), `finding_spans`. `ts`, `stage`
//!   and `outcome` are always written.
//! - `static` (object of strings, default none): constant fields added to every
//!   line. Names must be non-empty and must not be one of the line's own keys; values
//!   must be strings.
//!
//! Unknown keys, wrong types, duplicate names and empty lists are refused with a
//! message naming the problem.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use warden_plugin_sdk::{Event, Finding, Outcome, PluginError, PluginInfo, Telemetry, export_telemetry, parse_config};

/// Keys every line may carry; `static` fields may not reuse them.
const RESERVED: &[&str] =
    &["ts", "ts_ms", "request_id", "stage", "principal", "server", "tool", "outcome", "duration_us", "findings"];

const CONFIG_SCHEMA: &str = r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","additionalProperties":false,"properties":{"include_allowed":{"type":"boolean","default":true,"description":"false drops events whose outcome is allowed"},"stages":{"type":"array","minItems":1,"uniqueItems":true,"items":{"type":"string","minLength":1},"description":"only events of these stages are written (default: all)"},"fields":{"type":"object","additionalProperties":false,"description":"false leaves a field out of every line","properties":{"ts_ms":{"type":"boolean","default":true},"request_id":{"type":"boolean","default":true},"principal":{"type":"boolean","default":true},"server":{"type":"boolean","default":true},"tool":{"type":"boolean","default":true},"duration_us":{"type":"boolean","default":true},"findings":{"type":"boolean","default":true},"finding_messages":{"type":"boolean","default":true},"finding_paths":{"type":"boolean","default":true},"finding_spans":{"type":"boolean","default":true}}},"static":{"type":"object","description":"constant string fields added to every line","propertyNames":{"minLength":1,"not":{"enum":["ts","ts_ms","request_id","stage","principal","server","tool","outcome","duration_us","findings"]}},"additionalProperties":{"type":"string"}}}}"#;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    include_allowed: Option<bool>,
    stages: Option<Vec<String>>,
    #[serde(default)]
    fields: Fields,
    #[serde(default, rename = "static", deserialize_with = "unique_string_map")]
    statics: BTreeMap<String, String>,
}

/// Which optional fields each line carries.
#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
struct Fields {
    ts_ms: bool,
    request_id: bool,
    principal: bool,
    server: bool,
    tool: bool,
    duration_us: bool,
    findings: bool,
    finding_messages: bool,
    finding_paths: bool,
    finding_spans: bool,
}

impl Default for Fields {
    fn default() -> Self {
        Fields {
            ts_ms: true,
            request_id: true,
            principal: true,
            server: true,
            tool: true,
            duration_us: true,
            findings: true,
            finding_messages: true,
            finding_paths: true,
            finding_spans: true,
        }
    }
}

/// A JSON object of strings whose names must be unique (serde would otherwise keep
/// the last of two equal names silently).
fn unique_string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = BTreeMap<String, String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of string values")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((k, v)) = map.next_entry::<String, String>()? {
                if out.contains_key(&k) {
                    return Err(serde::de::Error::custom(format!("duplicate static field `{k}`")));
                }
                out.insert(k, v);
            }
            Ok(out)
        }
    }
    d.deserialize_map(V)
}

/// The validated config.
#[derive(Debug, PartialEq)]
struct Settings {
    include_allowed: bool,
    /// `None`: every stage.
    stages: Option<Vec<String>>,
    fields: Fields,
    /// Sorted by name.
    statics: Vec<(String, String)>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { include_allowed: true, stages: None, fields: Fields::default(), statics: Vec::new() }
    }
}

impl Settings {
    fn parse(config_json: &str) -> Result<Settings, String> {
        let config: Config = parse_config(config_json)?;
        if let Some(stages) = &config.stages {
            if stages.is_empty() {
                return Err("stages is empty: leave it out to write events of every stage".into());
            }
            for (i, s) in stages.iter().enumerate() {
                if s.trim().is_empty() {
                    return Err(format!("stages[{i}] is empty"));
                }
                if stages[..i].contains(s) {
                    return Err(format!("stages[{i}]: stage `{s}` is listed twice"));
                }
            }
        }
        for name in config.statics.keys() {
            if name.is_empty() {
                return Err("static: field names must not be empty".into());
            }
            if RESERVED.contains(&name.as_str()) {
                return Err(format!(
                    "static.{name}: `{name}` is a field of every line and cannot be set (reserved: {})",
                    RESERVED.join(", ")
                ));
            }
        }
        Ok(Settings {
            include_allowed: config.include_allowed.unwrap_or(true),
            stages: config.stages,
            fields: config.fields,
            statics: config.statics.into_iter().collect(),
        })
    }

    /// Whether `event` is written at all.
    fn keeps(&self, event: &Event) -> bool {
        if !self.include_allowed && event.outcome == Outcome::Allowed {
            return false;
        }
        match &self.stages {
            Some(stages) => stages.contains(&event.stage),
            None => true,
        }
    }

    /// Append the lines of the kept events of `events` to `out`.
    fn write_batch(&self, events: &[Event], out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        for event in events.iter().filter(|e| self.keeps(e)) {
            serde_json::to_writer(&mut *out, &Line { event, settings: self })?;
            out.push(b'\n');
        }
        Ok(())
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard
/// Hinnant's `civil_from_days`, exact for every `i64` input this crate produces.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = if m <= 2 { y + 1 } else { y };
    // `m` and `d` are in small ranges, the casts cannot truncate.
    (y, m as u32, d as u32)
}

/// Milliseconds since the Unix epoch as RFC 3339 UTC with milliseconds.
fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let millis = ms % 1000;
    // u64::MAX / 86_400_000 < i64::MAX: the conversion never fails.
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let sod = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z", sod / 3600, sod / 60 % 60, sod % 60)
}

/// One event as a line, with the settings' field choices applied.
struct Line<'a> {
    event: &'a Event,
    settings: &'a Settings,
}

impl Serialize for Line<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.event;
        let f = &self.settings.fields;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("ts", &rfc3339(e.timestamp_ms))?;
        if f.ts_ms {
            map.serialize_entry("ts_ms", &e.timestamp_ms)?;
        }
        if f.request_id {
            map.serialize_entry("request_id", &e.request_id)?;
        }
        map.serialize_entry("stage", &e.stage)?;
        if f.principal {
            map.serialize_entry("principal", &e.principal_id)?;
        }
        if f.server {
            map.serialize_entry("server", &e.server)?;
        }
        if f.tool {
            map.serialize_entry("tool", &e.tool)?;
        }
        map.serialize_entry("outcome", e.outcome.as_str())?;
        if f.duration_us {
            map.serialize_entry("duration_us", &e.duration_us)?;
        }
        if f.findings {
            map.serialize_entry("findings", &Findings { findings: &e.findings, fields: f })?;
        }
        for (k, v) in &self.settings.statics {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

struct Findings<'a> {
    findings: &'a [Finding],
    fields: &'a Fields,
}

impl Serialize for Findings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.findings.iter().map(|finding| FindingOut { finding, fields: self.fields }))
    }
}

struct FindingOut<'a> {
    finding: &'a Finding,
    fields: &'a Fields,
}

impl Serialize for FindingOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let x = self.finding;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("detector", &x.detector)?;
        if self.fields.finding_messages {
            map.serialize_entry("message", &x.message)?;
        }
        if self.fields.finding_paths {
            map.serialize_entry("path", &x.path)?;
        }
        // serde_json writes a non-finite float as null; say so explicitly.
        let score = x.score.is_finite().then_some(x.score);
        map.serialize_entry("score", &score)?;
        if self.fields.finding_spans {
            map.serialize_entry("span", &x.span.map(|sp| SpanOut { start: sp.start, end: sp.end }))?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct SpanOut {
    start: u32,
    end: u32,
}

/// The configured sink, and how many events this instance wrote (for its goodbye).
struct Audit(Settings, std::cell::Cell<u64>);

impl Telemetry for Audit {
    fn describe() -> PluginInfo {
        PluginInfo::provider(
            "telemetry-audit",
            env!("CARGO_PKG_VERSION"),
            "Writes every audit event as one JSON line to stdout (the granted audit file)",
        )
        .with_config_schema(CONFIG_SCHEMA)
    }

    fn configure(config_json: &str) -> Result<Self, String> {
        Settings::parse(config_json).map(|s| Audit(s, std::cell::Cell::new(0)))
    }

    fn export_events(&self, events: &[Event]) -> Result<(), PluginError> {
        let mut buf = Vec::with_capacity(events.len() * 320);
        self.0.write_batch(events, &mut buf).map_err(|e| PluginError::new(format!("serializing audit events: {e}")))?;
        if buf.is_empty() {
            return Ok(());
        }
        let mut out = std::io::stdout().lock();
        out.write_all(&buf)
            .and_then(|()| out.flush())
            .map_err(|e| PluginError::new(format!("writing audit lines to stdout: {e}")))?;
        self.1.set(self.1.get() + events.len() as u64);
        Ok(())
    }

    /// Every line is flushed as it is written; say how many this instance wrote, so
    /// the operator's log shows the sink closed cleanly.
    fn shutdown(&self) {
        warden_plugin_sdk::log(
            warden_plugin_sdk::Level::Info,
            &format!("audit sink closed after {} events", self.1.get()),
        );
    }
}

export_telemetry!(Audit);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use warden_plugin_sdk::Span;

    fn event(stage: &str, outcome: Outcome) -> Event {
        Event {
            timestamp_ms: 1_795_694_400_123,
            request_id: "req-1".into(),
            stage: stage.into(),
            principal_id: Some("alice".into()),
            server: "github".into(),
            tool: "create_issue".into(),
            outcome,
            duration_us: 412,
            findings: vec![Finding {
                detector: "pii.email".into(),
                message: "email address".into(),
                path: "/body".into(),
                span: Some(Span { start: 4, end: 21 }),
                score: 0.9,
            }],
        }
    }

    fn lines(settings: &Settings, events: &[Event]) -> Vec<Value> {
        let mut buf = Vec::new();
        settings.write_batch(events, &mut buf).expect("serializes");
        let text = String::from_utf8(buf).expect("utf-8");
        assert!(text.is_empty() || text.ends_with('\n'));
        text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect()
    }

    fn parse(json: &str) -> Settings {
        Settings::parse(json).expect("valid config")
    }

    fn err(json: &str) -> String {
        Settings::parse(json).expect_err("invalid config")
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(999), "1970-01-01T00:00:00.999Z");
        assert_eq!(rfc3339(86_399_999), "1970-01-01T23:59:59.999Z");
        assert_eq!(rfc3339(1_795_694_400_123), "2026-11-26T12:00:00.123Z");
        // 2000 is a leap year (divisible by 400).
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(951_868_799_999), "2000-02-29T23:59:59.999Z");
        assert_eq!(rfc3339(951_868_800_000), "2000-03-01T00:00:00.000Z");
        // 1972 leap, 2100 not.
        assert_eq!(rfc3339(68_169_600_000), "1972-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
        assert_eq!(rfc3339(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
        assert_eq!(rfc3339(1_709_164_800_000), "2024-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_704_067_199_999), "2023-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(1_704_067_200_000), "2024-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(2_147_483_647_000), "2038-01-19T03:14:07.000Z");
        // Far future: last millisecond of year 9999, then wider years.
        assert_eq!(rfc3339(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(253_402_300_800_000), "10000-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(u64::MAX), "584556019-04-03T14:25:51.615Z");
    }

    #[test]
    fn timestamps_agree_with_a_day_by_day_walk() {
        // Walk the calendar one day at a time from 1970 to 2404 and compare.
        let (mut y, mut m, mut d) = (1970i64, 1u32, 1u32);
        for days in 0..(435 * 366) {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn default_line() {
        let out = lines(&parse("{}"), &[event("input", Outcome::Blocked)]);
        assert_eq!(
            out,
            vec![json!({
                "ts": "2026-11-26T12:00:00.123Z", "ts_ms": 1_795_694_400_123u64, "request_id": "req-1",
                "stage": "input", "principal": "alice", "server": "github", "tool": "create_issue",
                "outcome": "blocked", "duration_us": 412,
                "findings": [{"detector": "pii.email", "message": "email address", "path": "/body",
                              "score": 0.9, "span": {"start": 4, "end": 21}}]
            })]
        );
    }

    #[test]
    fn exact_bytes_and_key_order() {
        let mut e = event("auth", Outcome::Denied);
        e.principal_id = None;
        e.findings.clear();
        let mut buf = Vec::new();
        parse(r#"{"static":{"region":"eu","env":"prod"}}"#).write_batch(&[e], &mut buf).expect("serializes");
        assert_eq!(
            String::from_utf8(buf).expect("utf-8"),
            "{\"ts\":\"2026-11-26T12:00:00.123Z\",\"ts_ms\":1795694400123,\"request_id\":\"req-1\",\
             \"stage\":\"auth\",\"principal\":null,\"server\":\"github\",\"tool\":\"create_issue\",\
             \"outcome\":\"denied\",\"duration_us\":412,\"findings\":[],\"env\":\"prod\",\"region\":\"eu\"}\n"
        );
    }

    #[test]
    fn every_outcome_is_named() {
        let all =
            [Outcome::Allowed, Outcome::Warned, Outcome::Redacted, Outcome::Blocked, Outcome::Denied, Outcome::Failed];
        let events: Vec<_> = all.iter().map(|o| event("call", *o)).collect();
        let names: Vec<_> = lines(&Settings::default(), &events).iter().map(|l| l["outcome"].clone()).collect();
        assert_eq!(names, ["allowed", "warned", "redacted", "blocked", "denied", "failed"]);
    }

    #[test]
    fn filtering() {
        let events = [
            event("auth", Outcome::Allowed),
            event("input", Outcome::Allowed),
            event("input", Outcome::Warned),
            event("output", Outcome::Redacted),
            event("tool", Outcome::Blocked),
            event("call", Outcome::Failed),
        ];
        let pick = |s: &Settings| -> Vec<(String, String)> {
            lines(s, &events)
                .iter()
                .map(|l| (l["stage"].as_str().unwrap_or("").into(), l["outcome"].as_str().unwrap_or("").into()))
                .collect()
        };
        assert_eq!(pick(&parse("{}")).len(), 6);
        assert_eq!(pick(&parse(r#"{"include_allowed":true}"#)).len(), 6);
        let no_allowed = pick(&parse(r#"{"include_allowed":false}"#));
        assert_eq!(no_allowed.len(), 4);
        assert!(no_allowed.iter().all(|(_, o)| o != "allowed"));
        assert_eq!(
            pick(&parse(r#"{"stages":["input","tool"]}"#)),
            [("input".into(), "allowed".into()), ("input".into(), "warned".into()), ("tool".into(), "blocked".into())]
        );
        assert_eq!(
            pick(&parse(r#"{"stages":["input","tool"],"include_allowed":false}"#)),
            [("input".into(), "warned".into()), ("tool".into(), "blocked".into())]
        );
        // Exact names: no case folding or prefix matching.
        assert!(pick(&parse(r#"{"stages":["Input","in"]}"#)).is_empty());
        // A batch with nothing kept writes nothing at all.
        let mut buf = Vec::new();
        parse(r#"{"stages":["restore"]}"#).write_batch(&events, &mut buf).expect("serializes");
        assert!(buf.is_empty());
    }

    #[test]
    fn field_omission() {
        let e = event("input", Outcome::Warned);
        let l = &lines(&parse(r#"{"fields":{"principal":false}}"#), std::slice::from_ref(&e))[0];
        assert!(l.get("principal").is_none());
        assert_eq!(l["request_id"], "req-1");
        // Omitted, not null, also when there is no principal.
        let mut anon = e.clone();
        anon.principal_id = None;
        let l = &lines(&parse(r#"{"fields":{"principal":false}}"#), &[anon])[0];
        assert!(l.get("principal").is_none());

        let all_off = r#"{"fields":{"ts_ms":false,"request_id":false,"principal":false,"server":false,
            "tool":false,"duration_us":false,"findings":false}}"#;
        let l = &lines(&parse(all_off), std::slice::from_ref(&e))[0];
        assert_eq!(l, &json!({"ts": "2026-11-26T12:00:00.123Z", "stage": "input", "outcome": "warned"}));

        let l = &lines(
            &parse(r#"{"fields":{"finding_messages":false,"finding_paths":false,"finding_spans":false}}"#),
            std::slice::from_ref(&e),
        )[0];
        assert_eq!(l["findings"], json!([{"detector": "pii.email", "score": 0.9}]));
        assert_eq!(l["principal"], "alice");
    }

    #[test]
    fn finding_edge_values() {
        let mut e = event("output", Outcome::Warned);
        e.findings[0].span = None;
        e.findings[0].score = f32::NAN;
        e.findings.push(Finding {
            detector: "secrets.aws".into(),
            message: "AWS access key id".into(),
            path: "".into(),
            span: Some(Span { start: 0, end: u32::MAX }),
            score: 1.0,
        });
        let l = &lines(&Settings::default(), &[e])[0];
        assert_eq!(l["findings"][0]["span"], Value::Null);
        assert_eq!(l["findings"][0]["score"], Value::Null);
        assert_eq!(l["findings"][1]["span"], json!({"start": 0, "end": u32::MAX}));
        assert_eq!(l["findings"][1]["score"], 1.0);
        assert_eq!(l["findings"][1]["path"], "");
    }

    #[test]
    fn odd_strings_are_escaped_and_stay_on_one_line() {
        let odd = [
            "quote \" and backslash \\ and slash /",
            "new\nline\r\nand\ttab",
            "controls \u{0}\u{1}\u{1b}[31m\u{7f}\u{1f}",
            "non-ASCII: Grüße, 東京, emoji 🦀, RTL \u{202e}",
            "line separators \u{2028}\u{2029} and NEL \u{85}",
            "{\"injected\":\"json\"}\n{\"fake\":\"line\"}",
            "",
        ];
        let events: Vec<Event> = odd
            .iter()
            .map(|s| {
                let mut e = event(s, Outcome::Warned);
                e.request_id = (*s).into();
                e.principal_id = Some((*s).into());
                e.server = (*s).into();
                e.tool = (*s).into();
                e.findings[0].message = (*s).into();
                e.findings[0].path = (*s).into();
                e.findings[0].detector = (*s).into();
                e
            })
            .collect();
        let settings = parse(r#"{"static":{"note":"a\"b\nc\u0000"}}"#);
        let mut buf = Vec::new();
        settings.write_batch(&events, &mut buf).expect("serializes");
        let text = String::from_utf8(buf).expect("utf-8");
        // Exactly one `\n` per event, at the end of each line, and no other control byte.
        assert_eq!(text.matches('\n').count(), odd.len());
        assert!(!text.bytes().any(|b| b < 0x20 && b != b'\n'));
        for (line, s) in text.lines().zip(odd) {
            let v: Value = serde_json::from_str(line).expect("each line is JSON");
            for key in ["request_id", "stage", "principal", "server", "tool"] {
                assert_eq!(v[key], *s, "{key}");
            }
            assert_eq!(v["findings"][0]["message"], *s);
            assert_eq!(v["findings"][0]["path"], *s);
            assert_eq!(v["findings"][0]["detector"], *s);
            assert_eq!(v["note"], "a\"b\nc\u{0}");
        }
        assert!(text.contains("东京") || text.contains("東京"), "non-ASCII is written as UTF-8");
    }

    #[test]
    fn static_fields() {
        let s = parse(r#"{"static":{"env":"prod","zone":"b","app":"warden"}}"#);
        assert_eq!(
            s.statics,
            [("app".into(), "warden".into()), ("env".into(), "prod".into()), ("zone".into(), "b".into())]
        );
        let l = &lines(&s, &[event("call", Outcome::Allowed)])[0];
        assert_eq!(l["env"], "prod");
        assert_eq!(l["app"], "warden");
        // Static fields come after the event's own, in name order.
        let keys: Vec<_> = l.as_object().expect("object").keys().cloned().collect();
        assert_eq!(keys.len(), 13);
    }

    #[test]
    fn config_validation() {
        assert_eq!(parse("{}"), Settings::default());
        assert_eq!(parse(""), Settings::default());
        assert!(err(r#"{"include_allowed":"no"}"#).contains("invalid type"));
        assert!(err(r#"{"verbose":true}"#).contains("unknown field `verbose`"));
        assert!(err(r#"{"stages":[]}"#).contains("stages is empty"));
        assert!(err(r#"{"stages":["input",""]}"#).contains("stages[1] is empty"));
        assert!(err(r#"{"stages":["input","input"]}"#).contains("listed twice"));
        assert!(err(r#"{"stages":"input"}"#).contains("invalid type"));
        assert!(err(r#"{"fields":{"principle":false}}"#).contains("unknown field `principle`"));
        assert!(err(r#"{"fields":{"ts":false}}"#).contains("unknown field `ts`"));
        assert!(err(r#"{"fields":{"outcome":false}}"#).contains("unknown field `outcome`"));
        assert!(err(r#"{"fields":{"principal":"no"}}"#).contains("invalid type"));
        assert!(err(r#"{"static":{"env":1}}"#).contains("invalid type"));
        assert!(err(r#"{"static":{"env":null}}"#).contains("invalid type"));
        assert!(err(r#"{"static":["env"]}"#).contains("invalid type"));
        assert!(err(r#"{"static":{"":"x"}}"#).contains("must not be empty"));
        assert!(err(r#"{"static":{"env":"a","env":"b"}}"#).contains("duplicate static field `env`"));
        for reserved in RESERVED {
            let e = err(&format!(r#"{{"static":{{"{reserved}":"x"}}}}"#));
            assert!(e.contains("reserved"), "{e}");
        }
        assert!(err("[]").contains("invalid"));
        assert!(err("{").contains("invalid config"));
    }

    #[test]
    fn schema_is_json_and_matches_the_config() {
        let schema: Value = serde_json::from_str(CONFIG_SCHEMA).expect("schema is JSON");
        let props: Vec<_> = schema["properties"].as_object().expect("properties").keys().cloned().collect();
        assert_eq!(props, ["fields", "include_allowed", "stages", "static"]);
        // Every field the schema lists is accepted, and vice versa.
        let fields = schema["properties"]["fields"]["properties"].as_object().expect("fields");
        let all_false: serde_json::Map<String, Value> = fields.keys().map(|k| (k.clone(), json!(false))).collect();
        let s = parse(&json!({ "fields": all_false }).to_string());
        assert_eq!(
            s.fields,
            Fields {
                ts_ms: false,
                request_id: false,
                principal: false,
                server: false,
                tool: false,
                duration_us: false,
                findings: false,
                finding_messages: false,
                finding_paths: false,
                finding_spans: false,
            }
        );
        let reserved: Vec<_> = schema["properties"]["static"]["propertyNames"]["not"]["enum"]
            .as_array()
            .expect("enum")
            .iter()
            .map(|v| v.as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(reserved, RESERVED);
    }

    #[test]
    fn describe_is_cheap_and_complete() {
        let info = <Audit as Telemetry>::describe();
        assert_eq!(info.name, "telemetry-audit");
        assert!(info.config_schema.is_some());
        assert!(info.stages.is_empty());
    }
}
