//! Plugin-level tests: verdicts, redaction, restore, spans, and the case file.

use super::*;
use std::collections::BTreeMap;

fn ctx() -> CallContext {
    CallContext { request_id: "r1".into(), principal: None, server: "s".into(), tool: "t".into() }
}

fn content(texts: &[(&str, &str)]) -> Content {
    Content {
        texts: texts.iter().map(|(p, t)| TextItem { path: p.to_string(), text: t.to_string() }).collect(),
        json: String::new(),
    }
}

fn pii(config: &str) -> Pii {
    match Pii::configure(config) {
        Ok(p) => p,
        Err(e) => panic!("config {config}: {e}"),
    }
}

fn input(p: &Pii, texts: &[(&str, &str)]) -> Verdict {
    p.check_input(&ctx(), &content(texts)).expect("check_input")
}

fn redaction(v: Verdict) -> Redaction {
    match v {
        Verdict::Redact(r) => r,
        other => panic!("expected redact, got {}", kind(&other)),
    }
}

fn kind(v: &Verdict) -> &'static str {
    match v {
        Verdict::Allow => "allow",
        Verdict::Warn(_) => "warn",
        Verdict::Redact(_) => "redact",
        Verdict::Block(_) => "block",
    }
}

/// Apply edits to texts the way the host does.
fn apply(texts: &[(&str, &str)], edits: &[TextEdit]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = texts.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect();
    for e in edits {
        let slot = v.iter_mut().find(|(p, _)| *p == e.path).expect("edit path exists");
        slot.1 = e.text.clone();
    }
    v
}

#[test]
fn allow_when_clean() {
    let p = pii("{}");
    assert_eq!(kind(&input(&p, &[("/q", "What is the weather in Paris on 2024-05-01?")])), "allow");
}

#[test]
fn default_config_redacts_every_builtin() {
    let p = pii("{}");
    let t = "mail ann@corp.com, call +44 20 7946 0958, card 4111 1111 1111 1111, \
             iban DE89 3704 0044 0532 0130 00, ssn 536-22-8731, ip 203.0.113.9";
    let r = redaction(input(&p, &[("/msg", t)]));
    assert_eq!(r.edits.len(), 1);
    assert_eq!(r.edits[0].text, "mail <EMAIL_1>, call <PHONE_1>, card <CARD_1>, iban <IBAN_1>, ssn <SSN_1>, ip <IP_1>");
    let detectors: Vec<&str> = r.findings.iter().map(|f| f.detector.as_str()).collect();
    assert_eq!(detectors, ["pii.email", "pii.phone", "pii.card", "pii.iban", "pii.ssn", "pii.ip"]);
}

#[test]
fn spans_are_exact_utf8_byte_offsets() {
    let p = pii("{}");
    let t = "Ünïcødé → é-mail: zoë@exämple.de? no: zoe@example.de ✓ 📞 +33 6 12 34 56 78";
    let v = input(&p, &[("/a/0", t)]);
    let r = redaction(v);
    let found: Vec<&str> = r
        .findings
        .iter()
        .map(|f| {
            let s = f.span.expect("span");
            &t[s.start as usize..s.end as usize]
        })
        .collect();
    assert_eq!(found, ["zoe@example.de", "+33 6 12 34 56 78"]);
    assert!(r.findings.iter().all(|f| f.path == "/a/0"));
}

#[test]
fn values_at_string_boundaries() {
    let p = pii("{}");
    for t in ["bob@x.org", "+14155552671", "4111111111111111", "GB82WEST12345698765432", "536-22-8731", "10.9.8.7"] {
        let r = redaction(input(&p, &[("/v", t)]));
        let s = r.findings[0].span.expect("span");
        assert_eq!((s.start as usize, s.end as usize), (0, t.len()), "{t}");
    }
}

#[test]
fn same_value_same_placeholder_across_strings() {
    let p = pii("{}");
    let texts = [
        ("/to", "ann@corp.com"),
        ("/cc/0", "bob@corp.com"),
        ("/body", "Hi ann@corp.com, bob@corp.com and ann@corp.com again; call 020 7946 0958"),
    ];
    let r = redaction(input(&p, &texts));
    let out = apply(&texts, &r.edits);
    assert_eq!(out[0].1, "<EMAIL_1>");
    assert_eq!(out[1].1, "<EMAIL_2>");
    assert_eq!(out[2].1, "Hi <EMAIL_1>, <EMAIL_2> and <EMAIL_1> again; call <PHONE_1>");
    assert_eq!(r.findings.len(), 6);
}

#[test]
fn restore_round_trip() {
    let p = pii("{}");
    let texts = [
        ("/q", "Email ann@corp.com and call +1 (415) 555-2671 about card 5555 5555 5555 4444."),
        ("/meta/ip", "2001:db8::8a2e:370:7334"),
    ];
    let r = redaction(input(&p, &texts));
    let redacted = apply(&texts, &r.edits);
    assert!(redacted.iter().all(|(_, t)| !t.contains("ann@corp.com") && !t.contains("4444")));
    // The upstream echoes the redacted arguments back, reordered and re-encoded.
    let echoed = [
        ("/content/0/text", redacted[0].1.clone()),
        (
            "/content/1/text",
            format!("{{\"ip\":\"{}\"}}", redacted[1].1.replace('<', "\\u003c").replace('>', "\\u003e")),
        ),
        ("/structuredContent/x", "<EMAIL_7> is not ours".to_string()),
    ];
    let echoed_ref: Vec<(&str, &str)> = echoed.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let edits = p.restore(&ctx(), &r.restore_state, &content(&echoed_ref)).expect("restore");
    let restored = apply(&echoed_ref, &edits);
    assert_eq!(restored[0].1, texts[0].1);
    assert_eq!(restored[1].1, "{\"ip\":\"2001:db8::8a2e:370:7334\"}");
    assert_eq!(restored[2].1, "<EMAIL_7> is not ours");
    assert_eq!(edits.len(), 2);
}

#[test]
fn restore_rejects_foreign_state_and_accepts_empty() {
    let p = pii("{}");
    let c = content(&[("/t", "<EMAIL_1>")]);
    assert!(p.restore(&ctx(), b"garbage", &c).is_err());
    assert!(p.restore(&ctx(), b"", &c).expect("empty state").is_empty());
}

#[test]
fn output_redaction_is_final() {
    let p = pii("{}");
    let v = p.check_output(&ctx(), &content(&[("/content/0/text", "Reach Ann at ann@corp.com")])).expect("output");
    let r = redaction(v);
    assert_eq!(r.edits[0].text, "Reach Ann at [EMAIL_1]");
    assert!(r.restore_state.is_empty());
    // An input placeholder restored later is not confused with the output one.
    let mut values = BTreeMap::new();
    values.insert("<EMAIL_1>", "someone@else.com");
    let state = serde_json::to_vec(&serde_json::json!({"v": 1, "values": values})).expect("json");
    let edits = p.restore(&ctx(), &state, &content(&[("/content/0/text", &r.edits[0].text)])).expect("restore");
    assert!(edits.is_empty());
}

#[test]
fn actions_combine() {
    let texts = [("/a", "ann@corp.com 4111 1111 1111 1111 10.1.2.3")];
    let p = pii(r#"{"entities": {"card": "block"}}"#);
    match input(&p, &texts) {
        Verdict::Block(f) => assert_eq!(f.len(), 3),
        v => panic!("expected block, got {}", kind(&v)),
    }
    let p = pii(r#"{"entities": {"email": "warn", "card": "warn", "ip": "warn"}}"#);
    match input(&p, &texts) {
        Verdict::Warn(f) => assert_eq!(f.len(), 3),
        v => panic!("expected warn, got {}", kind(&v)),
    }
    let p = pii(r#"{"entities": {"email": "warn", "ip": "off"}}"#);
    let r = redaction(input(&p, &texts));
    assert_eq!(r.edits[0].text, "ann@corp.com <CARD_1> 10.1.2.3");
    assert_eq!(r.findings.len(), 2);
    let p = pii(r#"{"entities": ["ip"]}"#);
    assert_eq!(redaction(input(&p, &texts)).edits[0].text, "ann@corp.com 4111 1111 1111 1111 <IP_1>");
    let p = pii(r#"{"entities": []}"#);
    assert_eq!(kind(&input(&p, &texts)), "allow");
}

#[test]
fn custom_entities_and_allow_list() {
    let p = pii(r#"{"custom": [{"name": "employee_id", "pattern": "\\bEMP-\\d{6}\\b"},
                      {"name": "project", "pattern": "(?i)project\\s+falcon", "action": "warn"}],
            "allow": ["Support@Acme.com"]}"#);
    let texts = [("/q", "EMP-123456 asked support@acme.com about Project Falcon; EMP-123456 again, EMP-654321 too")];
    let r = redaction(input(&p, &texts));
    assert_eq!(
        r.edits[0].text,
        "<EMPLOYEE_ID_1> asked support@acme.com about Project Falcon; <EMPLOYEE_ID_1> again, <EMPLOYEE_ID_2> too"
    );
    let detectors: Vec<&str> = r.findings.iter().map(|f| f.detector.as_str()).collect();
    assert_eq!(
        detectors,
        ["pii.custom.employee_id", "pii.custom.project", "pii.custom.employee_id", "pii.custom.employee_id"]
    );
    let p = pii(r#"{"custom": [{"name": "secret_code", "pattern": "SC-\\d+", "action": "block"}]}"#);
    assert_eq!(kind(&input(&p, &[("/x", "code SC-42")])), "block");
}

#[test]
fn messages_never_contain_values() {
    let p = pii(r#"{"custom": [{"name": "tag", "pattern": "TAG\\d+"}]}"#);
    let t = "ann@corp.com +44 20 7946 0958 4111111111111111 GB82WEST12345698765432 536-22-8731 10.1.2.3 TAG77";
    let r = redaction(input(&p, &[("/x", t)]));
    assert_eq!(r.findings.len(), 7);
    for f in &r.findings {
        let s = f.span.expect("span");
        let value = &t[s.start as usize..s.end as usize];
        assert!(!f.message.contains(value), "{} leaks", f.message);
        assert!((0.0..=1.0).contains(&f.score));
    }
}

#[test]
fn path_names_are_context() {
    let p = pii("{}");
    assert_eq!(kind(&input(&p, &[("/notes", "4155552671")])), "allow");
    assert_eq!(kind(&input(&p, &[("/customer/phone", "4155552671")])), "redact");
    assert_eq!(kind(&input(&p, &[("/employee/ssn", "536228731")])), "redact");
}

#[test]
fn many_findings_are_summarised() {
    let p = pii("{}");
    let t: String = (0..300).map(|i| format!("user{i}@corp.com ")).collect();
    let r = redaction(input(&p, &[("/x", &t)]));
    assert_eq!(r.findings.len(), MAX_FINDINGS + 1);
    assert!(!r.edits[0].text.contains('@'));
    assert!(r.edits[0].text.contains("<EMAIL_300>"));
}

#[test]
fn describe_publishes_schema() {
    let info = Pii::describe();
    assert_eq!(info.name, "guard-pii");
    assert!(info.stages.contains(Stages::INPUT | Stages::OUTPUT | Stages::RESTORE));
    assert!(!info.stages.contains(Stages::TOOL));
    let schema: serde_json::Value = serde_json::from_str(info.config_schema.as_deref().expect("schema")).expect("json");
    assert!(schema["properties"]["entities"].is_object());
}

/// Large payloads stay linear: a 64 KiB mix of look-alikes is scanned quickly
/// even in an unoptimised test build (the sandbox budget is checked with the
/// release build; this only guards against accidental quadratic behaviour).
#[test]
fn large_payloads_are_linear() {
    let p = pii(r#"{"custom": [{"name": "x", "pattern": "X\\d{3,}"}]}"#);
    let unit = "a@b 1.2.3.4.5 +1 2 3 4 5 6 7 8 9 0 1 2 3 4111 1111 2024-01-01 12:30:45 ::: DE89 ab@cd.e 0 0 0 ";
    let mut t = String::new();
    while t.len() < 64 * 1024 {
        t.push_str(unit);
    }
    let digits: String = "1234567 ".repeat(8 * 1024);
    let ats: String = "@".repeat(64 * 1024);
    let emails: String = "a@b.io ".repeat(64 * 1024 / 7);
    let colons: String = "a:b::c:1:2::3 fe80:: 12:34:56 ".repeat(64 * 1024 / 30);
    let started = std::time::Instant::now();
    for payload in [&t, &digits, &ats, &emails, &colons] {
        let one = std::time::Instant::now();
        let _ = input(&p, &[("/x", payload)]);
        eprintln!("{} KiB: {:?}", payload.len() / 1024, one.elapsed());
    }
    // Generous: a quadratic scan of 64 KiB would take many seconds.
    assert!(started.elapsed().as_secs() < 5, "took {:?}", started.elapsed());
}

/// Runs the detector over `tests/cases/pii.jsonl` and prints recall and the
/// false-positive rate per kind. Floors are the project's targets.
#[test]
fn case_file() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/cases/pii.jsonl");
    let Ok(data) = std::fs::read_to_string(path) else {
        eprintln!("no case file at {path}");
        return;
    };
    let p = pii("{}");
    let mut per_kind: BTreeMap<String, [u32; 4]> = BTreeMap::new(); // tp, fn, fp, tn
    let mut misses = Vec::new();
    for line in data.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("case line is JSON");
        let text = v["text"].as_str().unwrap_or_default();
        let label = v["label"].as_i64().unwrap_or(0);
        let c = content(&[("/text", text)]);
        let verdict = match v["direction"].as_str() {
            Some("output") => p.check_output(&ctx(), &c),
            _ => p.check_input(&ctx(), &c),
        }
        .expect("check");
        let flagged = !matches!(verdict, Verdict::Allow);
        let e = per_kind.entry(v["kind"].as_str().unwrap_or("?").to_string()).or_default();
        match (label == 1, flagged) {
            (true, true) => e[0] += 1,
            (true, false) => {
                e[1] += 1;
                misses.push(format!("MISS {} {text}", v["id"]));
            }
            (false, true) => {
                e[2] += 1;
                misses.push(format!("FP   {} {text}", v["id"]));
            }
            (false, false) => e[3] += 1,
        }
    }
    let mut tot = [0u32; 4];
    for (k, e) in &per_kind {
        eprintln!("{k:8} recall {}/{}  false positives {}/{}", e[0], e[0] + e[1], e[2], e[2] + e[3]);
        for i in 0..4 {
            tot[i] += e[i];
        }
    }
    for m in &misses {
        eprintln!("{m}");
    }
    let recall = f64::from(tot[0]) / f64::from((tot[0] + tot[1]).max(1));
    let fpr = f64::from(tot[2]) / f64::from((tot[2] + tot[3]).max(1));
    eprintln!(
        "TOTAL recall {recall:.3} ({}/{}), false-positive rate {fpr:.3} ({}/{})",
        tot[0],
        tot[0] + tot[1],
        tot[2],
        tot[2] + tot[3]
    );
    assert!(recall >= 0.95, "recall {recall:.3} below 0.95");
    assert!(fpr <= 0.02, "false-positive rate {fpr:.3} above 0.02");
}

/// Developer aid: `PII_PROBE=lines.txt cargo test -p guard-pii probe -- --nocapture`
/// prints the verdict and the redacted text for each line of a file (lines
/// starting with `1 ` are expected to be flagged, `0 ` not).
#[test]
fn probe() {
    let Ok(file) = std::env::var("PII_PROBE") else { return };
    let p = pii(&std::env::var("PII_CONFIG").unwrap_or_else(|_| "{}".into()));
    let data = std::fs::read_to_string(file).expect("probe file");
    for line in data.lines().filter(|l| !l.trim().is_empty()) {
        let (want, text) = match line.split_once(' ') {
            Some((w @ ("0" | "1"), t)) => (Some(w == "1"), t),
            _ => (None, line),
        };
        let text = text.replace("\\n", "\n");
        let v = input(&p, &[("/text", &text)]);
        let got = !matches!(v, Verdict::Allow);
        let mark = match want {
            Some(w) if w != got => {
                if w {
                    "MISS"
                } else {
                    "FP  "
                }
            }
            _ => "    ",
        };
        let shown = match &v {
            Verdict::Redact(r) => r.edits.first().map_or(text.clone(), |e| e.text.clone()),
            _ => text.clone(),
        };
        eprintln!("{mark} {:6} {shown}", kind(&v));
    }
}

/// Random mixes of multi-byte characters, separators and PII fragments: every
/// span must fall on character boundaries and redaction must never panic.
#[test]
fn spans_fall_on_char_boundaries() {
    let pieces = [
        "é",
        "ü",
        "中",
        "📞",
        "\u{a0}",
        "\u{202f}",
        "\u{2011}",
        "\u{2013}",
        "@",
        "%40",
        ".",
        "-",
        " ",
        "+",
        "(",
        ")",
        ":",
        "::",
        "/",
        "\\n",
        "a",
        "Z",
        "0",
        "1",
        "4",
        "9",
        "44",
        "020",
        "4111",
        "1111",
        "DE89",
        "3704",
        "x.com",
        "bob",
        "ssn",
        "tel",
        "<EMAIL_1>",
        "maría",
        "ç",
        "255",
        "fe80",
    ];
    let p = pii(r#"{"custom": [{"name": "c", "pattern": "[é中]\\d"}]}"#);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..3000 {
        let mut t = String::new();
        for _ in 0..24 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            t.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
        }
        for c in p.detect("/x", &t) {
            assert!(t.is_char_boundary(c.start) && t.is_char_boundary(c.end) && c.start < c.end, "{t:?} {c:?}");
        }
        let _ = input(&p, &[("/x", &t)]);
    }
}
