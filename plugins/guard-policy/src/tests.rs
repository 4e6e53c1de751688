use serde_json::{Value, json};

use super::*;

/// Build the content the host would hand over: every string value with its JSON
/// Pointer (iteratively, like a host that must survive deep input), plus the JSON.
fn content(v: &Value) -> Content {
    let mut texts = Vec::new();
    let mut stack: Vec<(String, &Value)> = vec![(String::new(), v)];
    while let Some((path, v)) = stack.pop() {
        match v {
            Value::String(s) => texts.push(TextItem { path, text: s.clone() }),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate().rev() {
                    stack.push((format!("{path}/{i}"), item));
                }
            }
            Value::Object(map) => {
                let entries: Vec<_> = map.iter().collect();
                for (k, item) in entries.into_iter().rev() {
                    stack.push((format!("{path}/{}", k.replace('~', "~0").replace('/', "~1")), item));
                }
            }
            _ => {}
        }
    }
    Content { texts, json: v.to_string() }
}

fn ctx(server: &str, tool: &str) -> CallContext {
    CallContext { request_id: "req-1".into(), principal: None, server: server.into(), tool: tool.into() }
}

fn policy(config: Value) -> Policy {
    match Policy::configure(&config.to_string()) {
        Ok(p) => p,
        Err(e) => panic!("config rejected: {e}"),
    }
}

fn config_error(config: Value) -> String {
    match Policy::configure(&config.to_string()) {
        Ok(_) => panic!("config accepted: {config}"),
        Err(e) => e,
    }
}

fn input(p: &Policy, server: &str, tool: &str, v: &Value) -> Verdict {
    p.check_input(&ctx(server, tool), &content(v)).expect("check_input")
}

fn output(p: &Policy, server: &str, tool: &str, v: &Value) -> Verdict {
    p.check_output(&ctx(server, tool), &content(v)).expect("check_output")
}

fn findings(v: &Verdict) -> &[Finding] {
    match v {
        Verdict::Allow => &[],
        Verdict::Warn(f) | Verdict::Block(f) => f,
        Verdict::Redact(r) => &r.findings,
    }
}

fn is_block(v: &Verdict) -> bool {
    matches!(v, Verdict::Block(_))
}

fn is_warn(v: &Verdict) -> bool {
    matches!(v, Verdict::Warn(_))
}

fn is_allow(v: &Verdict) -> bool {
    matches!(v, Verdict::Allow)
}

fn detectors(v: &Verdict) -> Vec<&str> {
    findings(v).iter().map(|f| f.detector.as_str()).collect()
}

// ---------------------------------------------------------------- describe / empty

#[test]
fn describe_declares_stages_forms_and_a_valid_schema() {
    let info = Policy::describe();
    assert_eq!(info.name, "guard-policy");
    assert_eq!(info.stages, Stages::INPUT | Stages::OUTPUT | Stages::TOOL);
    assert_eq!(info.content_forms, ContentForms::TEXTS | ContentForms::JSON);
    let schema: Value = serde_json::from_str(info.config_schema.as_deref().expect("schema")).expect("schema is JSON");
    let props = schema["$defs"]["rule"]["properties"].as_object().expect("rule properties");
    for field in config_fields() {
        assert!(props.contains_key(field), "schema lacks {field}");
    }
    assert_eq!(props.len(), config_fields().len());
}

fn config_fields() -> Vec<&'static str> {
    config::RULE_FIELDS.to_vec()
}

#[test]
fn empty_config_allows_everything() {
    for cfg in [json!({}), json!({"rules": []}), json!({"rules": null})] {
        let p = policy(cfg);
        let v = json!({"sql": "DROP TABLE users; DELETE FROM x", "deep": [[[[[[[[]]]]]]]]});
        assert!(is_allow(&input(&p, "github", "x", &v)));
        assert!(is_allow(&output(&p, "github", "x", &v)));
        assert!(is_allow(&p.check_tool("github", &content(&json!({"name": "t"}))).expect("tool")));
    }
}

// ---------------------------------------------------------------- keywords

#[test]
fn keywords_fold_case_by_default_with_exact_spans() {
    let p = policy(json!({"rules": [{"name": "sql-guard", "deny_keywords": ["drop table", "truncate"]}]}));
    let v = json!({"query": "please DROP Table users", "other": "fine"});
    let verdict = input(&p, "db", "run_sql", &v);
    assert!(is_block(&verdict));
    let f = &findings(&verdict)[0];
    assert_eq!(f.detector, "policy.keyword");
    assert_eq!(f.path, "/query");
    let span = f.span.expect("span");
    assert_eq!(&"please DROP Table users"[span.start as usize..span.end as usize], "DROP Table");
    assert!(f.message.contains("rule \"sql-guard\""), "{}", f.message);
    assert!(f.message.contains("deny_keywords[0]"), "{}", f.message);
    assert!(!f.message.to_lowercase().contains("drop"), "message repeats content: {}", f.message);
    assert_eq!(f.score, 1.0);

    assert!(is_allow(&input(&p, "db", "run_sql", &json!({"query": "SELECT * FROM dropped_tables"}))));
}

#[test]
fn keywords_case_sensitive_when_asked() {
    let p = policy(json!({"rules": [{"deny_keywords": ["SECRET"], "case_sensitive": true}]}));
    assert!(is_block(&input(&p, "s", "t", &json!({"a": "a SECRET b"}))));
    assert!(is_allow(&input(&p, "s", "t", &json!({"a": "a secret b"}))));
}

#[test]
fn keywords_fold_non_ascii_and_keep_offsets() {
    let p = policy(json!({"rules": [{"deny_keywords": ["ÉCOLE", "пароль"]}]}));
    let text = "日本 école; ПАРОЛЬ: x";
    let verdict = input(&p, "s", "t", &json!({"a": text}));
    let spans: Vec<&str> = findings(&verdict)
        .iter()
        .map(|f| {
            let s = f.span.expect("span");
            &text[s.start as usize..s.end as usize]
        })
        .collect();
    assert_eq!(spans, vec!["école", "ПАРОЛЬ"]);
}

#[test]
fn overlapping_keywords_are_all_reported() {
    let p = policy(json!({"rules": [{"deny_keywords": ["drop table", "table"]}]}));
    let verdict = input(&p, "s", "t", &json!({"a": "drop table"}));
    let msgs: Vec<&str> = findings(&verdict).iter().map(|f| f.message.as_str()).collect();
    assert!(msgs.iter().any(|m| m.contains("deny_keywords[0]")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("deny_keywords[1]")), "{msgs:?}");
}

#[test]
fn keys_and_numbers_are_not_content() {
    let p = policy(json!({"rules": [{"deny_keywords": ["drop", "42"]}]}));
    assert!(is_allow(&input(&p, "s", "t", &json!({"drop": 42}))));
}

// ---------------------------------------------------------------- patterns

#[test]
fn deny_patterns_match_with_span_and_index() {
    let p = policy(json!({"rules": [{"deny_patterns": ["^never$", r"(?i)\bDELETE\s+FROM\b"]}]}));
    let text = "ok; delete   from users where 1=1";
    let verdict = input(&p, "db", "q", &json!({"args": [1, {"sql": text}]}));
    assert!(is_block(&verdict));
    let f = &findings(&verdict)[0];
    assert_eq!(f.detector, "policy.pattern");
    assert_eq!(f.path, "/args/1/sql");
    assert!(f.message.contains("deny_patterns[1]") && f.message.contains("rules[0]"), "{}", f.message);
    let s = f.span.expect("span");
    assert_eq!(&text[s.start as usize..s.end as usize], "delete   from");
    assert!(!f.message.contains("delete"));

    assert!(is_allow(&input(&p, "db", "q", &json!({"sql": "SELECT deleted_from FROM t"}))));
}

// ---------------------------------------------------------------- allow-list

#[test]
fn allowlist_requires_every_string_to_match_one_pattern() {
    let p =
        policy(json!({"rules": [{"name": "paths", "allow_patterns": ["^[a-z0-9_/.-]+$", "^https://example\\.com/"]}]}));
    assert!(is_allow(&input(
        &p,
        "fs",
        "read",
        &json!({"path": "src/main.rs", "n": 3, "url": "https://example.com/x?y"})
    )));
    let verdict =
        input(&p, "fs", "read", &json!({"path": "src/main.rs", "extra": ["ok", "../../etc/passwd; rm -rf /"]}));
    assert!(is_block(&verdict));
    let f = findings(&verdict);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].detector, "policy.allowlist");
    assert_eq!(f[0].path, "/extra/1");
    assert!(f[0].message.contains("allow_patterns"));
    assert!(!f[0].message.contains("passwd"));
    // An empty string must match too.
    assert!(is_block(&input(&p, "fs", "read", &json!({"path": ""}))));
    // A payload without strings has nothing to violate.
    assert!(is_allow(&input(&p, "fs", "read", &json!({"n": 1, "b": true}))));
}

// ---------------------------------------------------------------- size / depth / items

#[test]
fn payload_size_limit() {
    let p = policy(json!({"rules": [{"max_payload_bytes": 20}]}));
    assert!(is_allow(&input(&p, "s", "t", &json!({"a": "12345"}))));
    let verdict = input(&p, "s", "t", &json!({"a": "this is far more than twenty bytes"}));
    assert_eq!(detectors(&verdict), vec!["policy.size"]);
    let m = &findings(&verdict)[0].message;
    assert!(m.contains("max_payload_bytes (20)") && !m.contains("twenty"), "{m}");
}

#[test]
fn string_size_limit_covers_values_and_keys() {
    let p = policy(json!({"rules": [{"max_string_bytes": 8}]}));
    assert!(is_allow(&input(&p, "s", "t", &json!({"key": "12345678"}))));
    let verdict = input(&p, "s", "t", &json!({"key": ["ok", "123456789"]}));
    let f = findings(&verdict);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].detector.as_str(), f[0].path.as_str()), ("policy.size", "/key/1"));
    assert!(f[0].message.contains("max_string_bytes (8)"));
    // Multi-byte: 3 × "é" = 6 bytes is fine, 5 × "é" = 10 bytes is not.
    assert!(is_allow(&input(&p, "s", "t", &json!({"k": "ééé"}))));
    assert!(is_block(&input(&p, "s", "t", &json!({"k": "ééééé"}))));
    // An over-long key.
    let verdict = input(&p, "s", "t", &json!({"a_very_long_key": 1}));
    assert!(findings(&verdict)[0].message.contains("object key"));
}

#[test]
fn item_limit_counts_every_value() {
    let p = policy(json!({"rules": [{"max_items": 5}]}));
    // object + array + 3 numbers = 5
    assert!(is_allow(&input(&p, "s", "t", &json!({"a": [1, 2, 3]}))));
    let verdict = input(&p, "s", "t", &json!({"a": [1, 2, 3], "b": null}));
    assert_eq!(detectors(&verdict), vec!["policy.size"]);
    assert!(findings(&verdict)[0].message.contains("max_items (5)"));
}

#[test]
fn depth_limit() {
    let p = policy(json!({"rules": [{"max_depth": 3}]}));
    assert!(is_allow(&input(&p, "s", "t", &json!({"a": {"b": ["x"]}}))));
    let verdict = input(&p, "s", "t", &json!({"a": {"b": [["x"]]}}));
    assert_eq!(detectors(&verdict), vec!["policy.depth"]);
    assert!(findings(&verdict)[0].message.contains("depth 4 exceeds max_depth (3)"));
}

#[test]
fn hundred_thousand_nested_arrays_do_not_overflow() {
    let n = 100_000;
    let json_text = format!("{}\"drop table\"{}", "[".repeat(n), "]".repeat(n));
    let deep =
        Content { texts: vec![TextItem { path: "/0".repeat(n), text: "drop table".into() }], json: json_text.clone() };
    // Depth limit: blocked on structure, string checks skipped.
    let p = policy(json!({"rules": [{"max_depth": 32}, {"deny_keywords": ["drop table"], "action": "warn"}]}));
    let verdict = p.check_input(&ctx("s", "t"), &deep).expect("check");
    assert!(is_block(&verdict));
    assert_eq!(detectors(&verdict), vec!["policy.depth"]);
    // Without a depth limit the keyword is still found.
    let p = policy(json!({"rules": [{"deny_keywords": ["drop table"]}, {"max_items": 1_000_000}]}));
    assert_eq!(detectors(&p.check_output(&ctx("s", "t"), &deep).expect("check")), vec!["policy.keyword"]);
    // JSON only (no texts): the tool name lookup must not recurse either.
    let json_only = Content { texts: vec![], json: json_text };
    let p = policy(json!({"rules": [{"max_depth": 100, "stages": ["tool"]}]}));
    let verdict = p.check_tool("s", &json_only).expect("check");
    assert_eq!(detectors(&verdict), vec!["policy.depth"]);
    // Estimated from the pointers when the host sent no JSON.
    let texts_only = Content { texts: deep.texts.clone(), json: String::new() };
    let verdict = p.check_tool("s", &texts_only).expect("check");
    assert!(findings(&verdict)[0].message.contains("(at least)"));
}

#[test]
fn large_payload_is_handled_linearly() {
    // ~4 MiB of strings against every kind of constraint.
    let chunk = "The quick brown fox jumps over the lazy dog; select name from users where id = 7. ";
    let big: Vec<String> = (0..512).map(|i| format!("{i}: {}", chunk.repeat(100))).collect();
    let v = json!({"rows": big});
    let p = policy(json!({"rules": [{
        "deny_keywords": ["drop table", "truncate", "grant all"],
        "deny_patterns": [r"(?i)\bDELETE\s+FROM\b", r"\b\d{3}-\d{2}-\d{4}\b"],
        "allow_patterns": ["^[\\x20-\\x7e]*$"],
        "max_payload_bytes": 16_777_216, "max_string_bytes": 1_048_576, "max_depth": 32, "max_items": 100_000
    }]}));
    let c = content(&v);
    assert!(c.json.len() > 4_000_000);
    let start = std::time::Instant::now();
    let verdict = p.check_input(&ctx("s", "t"), &c).expect("check");
    eprintln!("4 MiB checked in {:?}", start.elapsed());
    assert!(is_allow(&verdict), "{:?}", detectors(&verdict));
}

// ---------------------------------------------------------------- scoping

#[test]
fn server_and_tool_globs_select_rules() {
    let p = policy(json!({"rules": [{
        "servers": ["github", "fs*"], "tools": ["delete_*", "rm?"], "deny_keywords": ["x"]
    }]}));
    let v = json!({"a": "x"});
    assert!(is_block(&input(&p, "github", "delete_repo", &v)));
    assert!(is_block(&input(&p, "fs", "rm1", &v)));
    assert!(is_block(&input(&p, "fs-local", "delete_", &v)));
    assert!(is_allow(&input(&p, "github", "create_repo", &v)), "tool does not match");
    assert!(is_allow(&input(&p, "gitlab", "delete_repo", &v)), "server does not match");
    assert!(is_allow(&input(&p, "GitHub", "delete_repo", &v)), "case-sensitive");
    assert!(is_allow(&input(&p, "fs", "rm", &v)), "? needs one character");
    assert!(is_allow(&input(&p, "my-fs", "rm1", &v)), "globs are anchored");
}

#[test]
fn stages_filter_rules() {
    let p = policy(json!({"rules": [
        {"name": "in", "stages": ["input"], "deny_keywords": ["alpha"]},
        {"name": "out", "stages": ["output"], "deny_keywords": ["beta"]},
        {"name": "tool", "stages": ["tool"], "deny_keywords": ["gamma"]}
    ]}));
    let all = json!({"name": "t", "description": "alpha beta gamma"});
    let msgs = |v: &Verdict| findings(v).iter().map(|f| f.message.clone()).collect::<Vec<_>>();
    let v = input(&p, "s", "t", &all);
    assert!(msgs(&v).iter().all(|m| m.starts_with("rule \"in\"")), "{:?}", msgs(&v));
    let v = output(&p, "s", "t", &all);
    assert!(msgs(&v).iter().all(|m| m.starts_with("rule \"out\"")), "{:?}", msgs(&v));
    let v = p.check_tool("s", &content(&all)).expect("tool");
    assert_eq!(findings(&v).len(), 1);
    assert!(findings(&v)[0].message.starts_with("rule \"tool\""));
}

#[test]
fn tool_stage_uses_the_definition_name() {
    let p = policy(json!({"rules": [{
        "servers": ["fs*"], "tools": ["delete_*"], "stages": ["tool"], "deny_keywords": ["recursive"]
    }]}));
    let tool = json!({"name": "delete_tree", "description": "Recursive delete", "inputSchema": {"type": "object"}});
    assert!(is_block(&p.check_tool("fs", &content(&tool)).expect("tool")));
    assert!(is_allow(&p.check_tool("github", &content(&tool)).expect("tool")));
    let other = json!({"name": "read_tree", "description": "Recursive read"});
    assert!(is_allow(&p.check_tool("fs", &content(&other)).expect("tool")));
    // Name from the JSON when texts are missing.
    let json_only = Content { texts: vec![], json: tool.to_string() };
    let p = policy(json!({"rules": [{"tools": ["delete_*"], "max_payload_bytes": 10}]}));
    assert!(is_block(&p.check_tool("fs", &json_only).expect("tool")));
    let json_only = Content { texts: vec![], json: other.to_string() };
    assert!(is_allow(&p.check_tool("fs", &json_only).expect("tool")));
}

// ---------------------------------------------------------------- actions

#[test]
fn strongest_action_wins_and_block_findings_come_first() {
    let p = policy(json!({"rules": [
        {"name": "w", "action": "warn", "deny_keywords": ["foo"]},
        {"name": "b", "action": "block", "deny_keywords": ["bar"]}
    ]}));
    let v = input(&p, "s", "t", &json!({"a": "foo bar"}));
    assert!(is_block(&v));
    let f = findings(&v);
    assert_eq!(f.len(), 2);
    assert!(f[0].message.starts_with("rule \"b\""));
    assert!(f[1].message.starts_with("rule \"w\""));
    assert!(is_warn(&input(&p, "s", "t", &json!({"a": "foo"}))));
    assert!(is_block(&input(&p, "s", "t", &json!({"a": "bar"}))));
    assert!(is_allow(&input(&p, "s", "t", &json!({"a": "baz"}))));
}

#[test]
fn warn_structural_violation_still_runs_string_checks() {
    let p = policy(json!({"rules": [
        {"action": "warn", "max_payload_bytes": 5},
        {"deny_keywords": ["bad"]}
    ]}));
    let v = input(&p, "s", "t", &json!({"a": "bad"}));
    assert!(is_block(&v));
    assert_eq!(detectors(&v), vec!["policy.keyword", "policy.size"]);
    assert!(is_warn(&input(&p, "s", "t", &json!({"a": "good"}))));
}

#[test]
fn findings_are_capped_but_the_verdict_is_not() {
    let many: Vec<String> = (0..500).map(|i| format!("bad {i}")).collect();
    let p = policy(json!({"rules": [
        {"action": "warn", "deny_keywords": ["bad"]},
        {"action": "warn", "deny_patterns": ["bad"]},
        {"action": "warn", "allow_patterns": ["^ok$"]},
        {"action": "warn", "deny_keywords": ["b"]},
        {"action": "warn", "deny_keywords": ["a"]},
        {"action": "block", "deny_keywords": ["499"]}
    ]}));
    let v = input(&p, "s", "t", &json!(many));
    assert!(is_block(&v));
    let f = findings(&v);
    assert_eq!(f.len(), MAX_FINDINGS);
    assert!(f[0].message.contains("rules[5]"), "{}", f[0].message);
    assert_eq!(f.iter().filter(|x| x.message.starts_with("rules[0]")).count(), PER_RULE_FINDINGS);
}

// ---------------------------------------------------------------- config errors

#[test]
fn config_errors_name_rule_and_field() {
    let cases: Vec<(Value, &str)> = vec![
        (json!([]), "JSON object"),
        (json!({"rule": []}), "unknown field \"rule\""),
        (json!({"rules": {}}), "rules: expected an array"),
        (json!({"rules": [1]}), "rules[0]: expected an object"),
        (
            json!({"rules": [{"deny_keywords": ["x"], "deny_keyword": ["y"]}]}),
            "rules[0]: unknown field \"deny_keyword\"",
        ),
        (json!({"rules": [{"deny_keywords": ["x"]}, {}]}), "rules[1]: the rule has no constraint"),
        (json!({"rules": [{"deny_keywords": ["x"], "servers": []}]}), "rules[0].servers: must not be empty"),
        (json!({"rules": [{"deny_keywords": ["x"], "servers": [""]}]}), "rules[0].servers[0]: empty glob"),
        (
            json!({"rules": [{"deny_keywords": ["x"], "tools": ["ok", "fs[0-9]"]}]}),
            "rules[0].tools[1]: unsupported character",
        ),
        (json!({"rules": [{"deny_keywords": ["x"], "tools": "read_*"}]}), "rules[0].tools: "),
        (json!({"rules": [{"deny_keywords": ["x"], "stages": []}]}), "rules[0].stages: must not be empty"),
        (json!({"rules": [{"deny_keywords": ["x"], "stages": ["restore"]}]}), "rules[0].stages: unknown variant"),
        (json!({"rules": [{"deny_keywords": ["x", ""]}]}), "rules[0].deny_keywords[1]: must not be empty"),
        (json!({"rules": [{"deny_keywords": "x"}]}), "rules[0].deny_keywords: "),
        (json!({"rules": [{"deny_keywords": ["x"], "case_sensitive": "yes"}]}), "rules[0].case_sensitive: "),
        (json!({"rules": [{"deny_patterns": ["ok", "(unclosed"]}]}), "rules[0].deny_patterns[1]: invalid regex"),
        (json!({"rules": [{"deny_patterns": ["a|"]}]}), "rules[0].deny_patterns[0]: matches the empty string"),
        (json!({"rules": [{"deny_patterns": [".*"]}]}), "rules[0].deny_patterns[0]: matches the empty string"),
        (json!({"rules": [{"deny_patterns": [""]}]}), "rules[0].deny_patterns[0]: must not be empty"),
        (json!({"rules": [{"allow_patterns": ["[z-a]"]}]}), "rules[0].allow_patterns[0]: invalid regex"),
        (json!({"rules": [{"deny_patterns": ["a{100000}"]}]}), "rules[0].deny_patterns[0]: invalid regex"),
        (json!({"rules": [{"max_depth": 0}]}), "rules[0].max_depth: must be at least 1"),
        (json!({"rules": [{"max_items": 0}]}), "rules[0].max_items: must be at least 1"),
        (json!({"rules": [{"max_payload_bytes": -5}]}), "rules[0].max_payload_bytes: expected a positive integer"),
        (json!({"rules": [{"max_string_bytes": 1.5}]}), "rules[0].max_string_bytes: expected a positive integer"),
        (json!({"rules": [{"max_string_bytes": "8k"}]}), "rules[0].max_string_bytes: expected a positive integer"),
        (json!({"rules": [{"max_depth": 3, "action": "deny"}]}), "rules[0].action: unknown variant"),
        (json!({"rules": [{"max_depth": 3, "name": ""}]}), "rules[0].name: must not be empty"),
        (json!({"rules": [{"max_depth": 3, "name": "a\nb"}]}), "rules[0].name: must not contain control"),
        (json!({"rules": [{"max_depth": 3, "name": "x".repeat(200)}]}), "rules[0].name: longer than"),
    ];
    for (cfg, want) in cases {
        let err = config_error(cfg.clone());
        assert!(err.contains(want), "config {cfg}: error {err:?} does not contain {want:?}");
        assert!(!err.contains('\n'), "multi-line error: {err:?}");
    }
    assert!(Policy::configure("not json").is_err());
    // Every broken rule is reported at once.
    let err = config_error(json!({"rules": [{"max_depth": 0}, {"max_items": 3}, {"tools": ["["], "max_items": 3}]}));
    assert!(err.contains("rules[0].max_depth") && err.contains("rules[2].tools[0]"), "{err}");
    assert!(!err.contains("rules[1]"), "{err}");
}

#[test]
fn valid_full_rule_is_accepted() {
    let p = policy(json!({"rules": [{
        "name": "no-sql-deletes",
        "servers": ["github", "fs*"], "tools": ["*"],
        "stages": ["input", "output"],
        "deny_keywords": ["drop table"], "case_sensitive": false,
        "deny_patterns": ["(?i)\\bDELETE\\s+FROM\\b", "^$"],
        "allow_patterns": ["^[a-z0-9_/.-]+$"],
        "max_payload_bytes": 65536, "max_string_bytes": 8192,
        "max_depth": 32, "max_items": 10000,
        "action": "warn"
    }]}));
    assert_eq!(p.rules.len(), 1);
    assert!(is_warn(&input(&p, "fs1", "t", &json!({"p": "Has Capitals"}))));
    assert!(is_allow(&input(&p, "fs1", "t", &json!({"p": "src/lib.rs"}))));
}

#[test]
fn fold_preserves_byte_lengths() {
    for s in ["ABC", "Straße ẞ", "İstanbul", "KELVIN \u{212A}", "ΣΑΣ", "Ǆ", "日本語", "😀A"] {
        let f = fold(s);
        assert_eq!(f.len(), s.len(), "{s}");
        let a: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
        let b: Vec<usize> = f.char_indices().map(|(i, _)| i).collect();
        assert_eq!(a, b, "{s}");
    }
    assert_eq!(fold("ÉCOLE Ж"), "école ж");
}

#[test]
#[ignore = "timing only; run with --release --ignored --nocapture"]
fn bench_constraints() {
    let chunk = "The quick brown fox jumps over the lazy dog; select name from users where id = 7. ";
    let big: Vec<String> = (0..8).map(|i| format!("{i}: {}", chunk.repeat(100))).collect();
    let c = content(&json!({"rows": big}));
    eprintln!("payload {} bytes", c.json.len());
    for rule in [
        json!({"deny_keywords": ["drop table", "truncate", "grant all"]}),
        json!({"deny_patterns": [r"(?i)\bDELETE\s+FROM\b"]}),
        json!({"deny_patterns": [r"\b\d{3}-\d{2}-\d{4}\b"]}),
        json!({"deny_patterns": [r"drop table"]}),
        json!({"allow_patterns": ["^[\\x20-\\x7e]*$"]}),
        json!({"max_payload_bytes": 16_777_216, "max_string_bytes": 1_048_576, "max_depth": 32, "max_items": 100_000}),
    ] {
        let p = policy(json!({"rules": [rule.clone()]}));
        let start = std::time::Instant::now();
        for _ in 0..10 {
            let _ = p.check_input(&ctx("s", "t"), &c).expect("check");
        }
        eprintln!("{:?} per check: {rule}", start.elapsed() / 10);
    }
}
