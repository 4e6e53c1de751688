use super::*;

fn guard(config: &str) -> Secrets {
    match Secrets::configure(config) {
        Ok(g) => g,
        Err(e) => panic!("configure failed: {e}"),
    }
}

fn text_content(text: &str) -> Content {
    Content { texts: vec![TextItem { path: String::new(), text: text.to_string() }], json: String::new() }
}

/// Strings of a JSON value with their JSON Pointers, in document order (as the host does).
fn collect(v: &serde_json::Value, path: String, out: &mut Vec<TextItem>) {
    match v {
        serde_json::Value::String(s) => out.push(TextItem { path, text: s.clone() }),
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                collect(x, format!("{path}/{i}"), out);
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                collect(x, format!("{path}/{}", k.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        _ => {}
    }
}

fn json_content(v: &serde_json::Value) -> Content {
    let mut texts = Vec::new();
    collect(v, String::new(), &mut texts);
    Content { texts, json: String::new() }
}

fn findings(v: &Verdict) -> &[Finding] {
    match v {
        Verdict::Allow => &[],
        Verdict::Warn(f) | Verdict::Block(f) => f,
        Verdict::Redact(r) => &r.findings,
    }
}

/// Detector names found in `text` with the default config.
fn detect(text: &str) -> Vec<String> {
    let g = guard("{}");
    findings(&g.check(&text_content(text))).iter().map(|f| f.detector.clone()).collect()
}

#[track_caller]
fn assert_detects(text: &str, detector: &str) {
    let found = detect(text);
    assert!(
        found.iter().any(|d| d == &format!("secrets.{detector}")),
        "expected {detector} in {text:?}, got {found:?}"
    );
}

#[track_caller]
fn assert_clean(text: &str) {
    let found = detect(text);
    assert!(found.is_empty(), "expected nothing in {text:?}, got {found:?}");
}

// Random-looking material assembled at run time so the source holds no
// credential-shaped literals.
const R62: &str = "q7ZkP2vW9xLm4TnB8cRj3HsYd6FgA1uEo5ViKt0NpXbMwQ2rJe7SfUyGh9DaL3kC";

fn rnd(n: usize, salt: usize) -> String {
    R62.chars().cycle().skip(salt * 7 % R62.len()).step_by(3).take(n).collect()
}

fn hex(n: usize, salt: usize) -> String {
    "3f9a0c7e51b2d86a4e07f3c9b1d25e68".chars().cycle().skip(salt).step_by(5).take(n).collect()
}

#[test]
fn cloud_keys() {
    assert_detects(&format!("aws_access_key_id = AKIA{}", "Q2WXZ7RT4LMNB3VK"), "aws-access-key");
    assert_detects(&format!("AccessKeyId: ASIA{}", "Q2WXZ7RT4LMNB3VK"), "aws-access-key");
    assert_detects(&format!("AWS_SECRET_ACCESS_KEY={}", rnd(36, 1) + "k/+9"), "aws-secret-key");
    assert_detects(&format!("AKIA{} {}", "Q2WXZ7RT4LMNB3VK", rnd(37, 2) + "a/9"), "aws-secret-key");
    assert_detects(&format!("key=AIza{}", rnd(35, 3)), "gcp-api-key");
    assert_detects(
        &format!("AccountName=x;AccountKey={}==;EndpointSuffix=core.windows.net", rnd(86, 4)),
        "azure-storage-key",
    );
    assert_detects(&format!("SharedAccessKey={}=", rnd(43, 5)), "azure-connection-string");
    assert_detects(&format!("secret: abc8Q~{}", rnd(34, 6)), "azure-client-secret");
    // Look-alikes: wrong length, lower case, the AWS documentation example, role ids.
    assert_clean(&format!("AKIA{}", "Q2WXZ7RT4LMNB3V"));
    assert_clean(&format!("akia{}", "q2wxz7rt4lmnb3vk"));
    assert_clean("aws_access_key_id = AKIAIOSFODNN7EXAMPLE");
    assert_clean("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    assert_clean(&format!("RoleId AROA{}", "Q2WXZ7RT4LMNB3VKX"));
    assert_clean(&format!("AIza{}", rnd(30, 3)));
}

#[test]
fn tokens() {
    assert_detects(&format!("token ghp_{}", rnd(36, 1)), "github-token");
    assert_detects(&format!("github_pat_11{}_{}", rnd(20, 2).to_uppercase(), rnd(59, 3)), "github-token");
    assert_detects(&format!("glpat-{}", rnd(20, 4)), "gitlab-token");
    assert_detects(&format!("xoxb-123456789012-1234567890123-{}", rnd(24, 5)), "slack-token");
    assert_detects(
        &format!("https://hooks.slack.com/services/T{}/B{}/{}", "0A1B2C3D4", "9Z8Y7X6W5V", rnd(24, 6)),
        "slack-webhook",
    );
    assert_detects(&format!("sk_live_{}", rnd(24, 7)), "stripe-key");
    assert_detects(&format!("ya29.a0{}", rnd(80, 8)), "google-oauth");
    assert_detects(&format!("sk-proj-{}", rnd(60, 9)), "openai-api-key");
    assert_detects(&format!("sk-{}", rnd(48, 10)), "openai-api-key");
    assert_detects(&format!("sk-ant-api03-{}AA", rnd(93, 11)), "anthropic-api-key");
    assert_detects(&format!("SK{}", hex(32, 1)), "twilio-api-key");
    assert_detects(&format!("SG.{}.{}", rnd(22, 12), rnd(43, 13)), "sendgrid-api-key");
    assert_detects(&format!("npm_{}", rnd(36, 14)), "npm-token");
    assert_detects(&format!("pypi-AgEIcHlwaS5vcmc{}", rnd(60, 15)), "pypi-token");
    assert_detects(&format!("hf_{}", rnd(34, 16)), "huggingface-token");
    assert_detects(
        "bot.run('MTA5ODc2NTQzMjEwOTg3NjU0Mw.GhIjKl.Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0LzXc')",
        "discord-bot-token",
    );
    assert_detects(&format!("https://api.telegram.org/bot123456789:AA{}/getMe", rnd(33, 17)), "telegram-bot-token");
    assert_detects(&format!("dop_v1_{}", hex(64, 2)), "vendor-token");
}

#[test]
fn token_look_alikes() {
    assert_clean("export GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    assert_clean("GitHub tokens start with ghp_, gho_ or github_pat_.");
    assert_clean("pip install scikit-learn; import sk-learn-contrib");
    assert_clean(&format!("pk_live_{}", rnd(24, 7)));
    assert_clean("hf_hub_download(repo_id='bert-base-uncased')");
    assert_clean("ANTHROPIC_API_KEY=sk-ant-...");
    assert_clean("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX");
    // Discord shape whose first segment does not decode to a numeric id, without Discord context.
    assert_clean(&format!("N{}.{}.{}", rnd(23, 1), rnd(6, 2), rnd(27, 3)));
}

#[test]
fn stripe_test_keys_score_lower() {
    let g = guard("{}");
    let v = g.check(&text_content(&format!("sk_test_{}", rnd(24, 1))));
    let f = findings(&v);
    assert_eq!(f.len(), 1);
    assert!(f[0].score < 0.7);
    let g = guard(r#"{"min_score": 0.7}"#);
    assert!(matches!(g.check(&text_content(&format!("sk_test_{}", rnd(24, 1)))), Verdict::Allow));
}

#[test]
fn private_keys() {
    let body: String = (0..6).map(|i| rnd(64, i) + "\n").collect();
    for label in ["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY"] {
        assert_detects(&format!("-----BEGIN {label}-----\n{body}-----END {label}-----\n"), "private-key");
    }
    assert_detects(
        &format!("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{body}-----END PGP PRIVATE KEY BLOCK-----"),
        "private-key",
    );
    // JSON-escaped newlines (a service-account file shown as text).
    let escaped = body.replace('\n', "\\n");
    assert_detects(
        &format!(r#""private_key": "-----BEGIN PRIVATE KEY-----\n{escaped}-----END PRIVATE KEY-----\n""#),
        "private-key",
    );
    // Truncated block without END.
    assert_detects(&format!("-----BEGIN RSA PRIVATE KEY-----\n{body}"), "private-key");
    // Prose, templates, public keys and certificates.
    assert_clean("Keys start with -----BEGIN RSA PRIVATE KEY----- and end with the END line.");
    assert_clean("-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----");
    assert_clean(&format!("-----BEGIN PUBLIC KEY-----\n{body}-----END PUBLIC KEY-----"));
    assert_clean(&format!("-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----"));
}

#[test]
fn private_key_span_covers_block() {
    let body = rnd(64, 1) + "\n" + &rnd(64, 2);
    let text = format!("key:\n-----BEGIN EC PRIVATE KEY-----\n{body}\n-----END EC PRIVATE KEY-----\nbye");
    let g = guard(r#"{"action":"redact"}"#);
    match g.check(&text_content(&text)) {
        Verdict::Redact(r) => assert_eq!(r.edits[0].text, "key:\n<SECRET_1>\nbye"),
        other => panic!("expected redact, got {other:?}"),
    }
}

fn b64url(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &c)| acc | (u32::from(c) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

#[test]
fn jwts() {
    let h = b64url(r#"{"alg":"HS256","typ":"JWT"}"#);
    let p = b64url(r#"{"sub":"42","exp":1718000000}"#);
    let sig = rnd(43, 1);
    assert_detects(&format!("Authorization: Bearer {h}.{p}.{sig}"), "jwt");
    assert_detects(&format!("id_token={h}.{p}.{sig}"), "jwt");
    // Header without alg, or not JSON at all.
    let no_alg = b64url(r#"{"typ":"JWT","kid":"k1"}"#);
    assert_clean(&format!("{no_alg}.{p}.{sig}"));
    assert_clean(&format!("eyJ{}.{}.{}", rnd(20, 1), rnd(20, 2), rnd(20, 3)));
    assert_clean("eyJhbGciOi...");
}

#[test]
fn passwords_in_urls_and_connection_strings() {
    assert_detects("postgres://app:Xk29vLq8Wp@db.internal:5432/orders", "url-password");
    assert_detects("mongodb+srv://admin:p4ss%40W0rd@cluster0.mongodb.net/db", "url-password");
    assert_detects("https://deploy:Zq8xW2vLp9Tn@pypi.corp.net/simple", "url-password");
    assert_detects("Server=db;Database=crm;User ID=app;Password=Qv7#pLm2x!9Rt;", "connection-string-password");
    assert_detects("Data Source=10.1.1.5;Uid=sa;Pwd=Winter2024!;", "connection-string-password");
    assert_clean("postgres://user:password@localhost:5432/mydb");
    assert_clean("postgresql://<user>:<password>@<host>:5432/<db>");
    assert_clean("postgres://reporting@db.internal:5432/analytics");
    assert_clean("git@github.com:acme/warden.git");
    assert_clean("Server=db;Database=crm;User ID=app;Password=${DB_PASSWORD};");
    // Unencoded `#`, `?` or `/` inside the password (common in DATABASE_URL values).
    assert_detects("DATABASE_URL=postgresql://app_user:Xk9#mQ2vL7pR@db-prod.internal:5432/orders", "url-password");
    assert_detects("redis://default:aB3?kL9/xQ2w@cache.local:6379/0", "url-password");
    assert_clean("https://example.com/docs#section:intro@top");
    assert_clean("see https://host/a:b#frag and mail bob@corp");
}

#[test]
fn key_value_context() {
    assert_detects(&format!("api_key = \"{}\"", rnd(32, 1)), "generic-secret");
    assert_detects(&format!("\"client_secret\": \"{}\"", rnd(40, 2)), "generic-secret");
    assert_detects(&format!("X-API-Key: {}", rnd(40, 3)), "generic-secret");
    assert_detects(&format!("JWT_SECRET={}", rnd(48, 4)), "generic-secret");
    assert_detects(&format!("client_secret: {}", hex(40, 3)), "generic-secret");
    assert_detects(&format!("--token {}", rnd(40, 5)), "generic-secret");
    assert_detects(&format!("Your API key is {}", rnd(32, 6)), "generic-secret");
    assert_detects(&format!("Authorization: Bearer {}", rnd(40, 7)), "bearer-token");
    assert_detects("Authorization: Basic ZGVwbG95OlhrMjl2THE4V3A=", "basic-auth");
    assert_detects(r#"{"username": "ops", "password": "Hx9!mK2#vQ7pLw"}"#, "password");
    assert_detects("DB_PASSWORD=Winter2024", "password");
    assert_detects("mysql -h db.internal -uroot -pS3cretPa55w0rd! shop < dump.sql", "password");
    assert_detects("sshpass -p 'Q7v!mZ2x9Lq' ssh admin@10.0.0.5", "password");
    assert_detects("Passwort: Sommer2024!xK9", "password");
    for benign in ["mkdir -p /tmp/build/out", "mysql -p shop", "cp -p a.txt b.txt", "ssh -p 2222 host"] {
        assert_clean(benign);
    }
    // Escaped JSON inside a string.
    assert_detects(&format!(r#"{{\"api_key\": \"{}\"}}"#, rnd(32, 8)), "generic-secret");
}

#[test]
fn key_value_negatives() {
    for t in [
        "api_key = os.environ[\"OPENAI_API_KEY\"]",
        "const token = process.env.GITHUB_TOKEN;",
        "password = getpass.getpass('Password: ')",
        "password: string",
        "password: ${DB_PASSWORD}",
        "token: {{ secrets.SLACK_TOKEN }}",
        "SECRET_KEY=changeme",
        "api_key: <YOUR_API_KEY>",
        "client_secret: \"********\"",
        "secretName: db-credentials",
        "max_tokens: 4096",
        "token_type=bearer&expires_in=3600",
        "The password is required.",
        "Authorization: Bearer <TOKEN>",
        "password=[REDACTED]",
        "tokenizer_name: bert-base-multilingual-cased",
    ] {
        assert_clean(t);
    }
    // Hex under hash-like or bare names, UUIDs, base64 images.
    assert_clean(&format!("checksum: {}", hex(64, 1)));
    assert_clean(&format!("{{\"key\": \"{}\"}}", hex(40, 2)));
    assert_clean(&format!("commit {}", hex(40, 3)));
    assert_clean("api_key: 3f1c9c2e-8d4b-4a7e-9f0a-2b6c1d5e7a90");
    assert_clean(&format!("token: data:image/png;base64,{}", rnd(200, 1)));
    assert_clean(&format!("nextPageToken: {}", rnd(60, 1)));
    assert_clean("password_hash: $2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW");
}

#[test]
fn json_member_names_give_context() {
    let g = guard("{}");
    let payload = serde_json::json!({
        "name": "weather",
        "inputSchema": {"type": "object", "properties": {"apiKey": {"type": "string", "default": hex(32, 4)}}}
    });
    let v = g.check(&json_content(&payload));
    let f = findings(&v);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].path, "/inputSchema/properties/apiKey/default");
    assert_eq!(f[0].detector, "secrets.generic-secret");
    let payload = serde_json::json!({"password": "Tr0ub4dor&3", "user": "bob", "checksum": hex(64, 1)});
    let f: Vec<String> = findings(&g.check(&json_content(&payload))).iter().map(|f| f.path.clone()).collect();
    assert_eq!(f, ["/password"]);
}

#[test]
fn messages_never_contain_the_value() {
    let secret = format!("ghp_{}", rnd(36, 1));
    let g = guard("{}");
    let v = g.check(&text_content(&format!("token={secret}")));
    let f = findings(&v);
    assert_eq!(f.len(), 1);
    assert!(!f[0].message.contains(&secret[4..]));
    assert_eq!(f[0].detector, "secrets.github-token");
    let span = f[0].span.expect("span");
    assert_eq!(&format!("token={secret}")[span.start as usize..span.end as usize], secret);
}

#[test]
fn actions_and_redaction() {
    let a = format!("ghp_{}", rnd(36, 1));
    let b = format!("AKIA{}", "Q2WXZ7RT4LMNB3VK");
    let text = format!("first {a} then {b} and {a} again");
    assert!(matches!(guard("{}").check(&text_content(&text)), Verdict::Block(_)));
    assert!(matches!(guard(r#"{"action":"warn"}"#).check(&text_content(&text)), Verdict::Warn(_)));
    match guard(r#"{"action":"redact"}"#).check(&text_content(&text)) {
        Verdict::Redact(r) => {
            assert_eq!(r.edits.len(), 1);
            assert_eq!(r.edits[0].text, "first <SECRET_1> then <SECRET_2> and <SECRET_1> again");
            assert!(r.restore_state.is_empty());
            assert_eq!(r.findings.len(), 3);
        }
        other => panic!("expected redact, got {other:?}"),
    }
    // Per-detector action: the strongest wins; warn-only findings are not redacted.
    let cfg = r#"{"action":"redact","detectors":{"aws-access-key":{"action":"warn"}}}"#;
    match guard(cfg).check(&text_content(&text)) {
        Verdict::Redact(r) => assert_eq!(r.edits[0].text, format!("first <SECRET_1> then {b} and <SECRET_1> again")),
        other => panic!("expected redact, got {other:?}"),
    }
    let cfg = r#"{"action":"warn","detectors":{"github-token":{"action":"block"}}}"#;
    assert!(matches!(guard(cfg).check(&text_content(&text)), Verdict::Block(_)));
    // Disabled detectors.
    let cfg = r#"{"detectors":{"github-token":{"enabled":false},"aws-access-key":{"enabled":false}}}"#;
    assert!(matches!(guard(cfg).check(&text_content(&text)), Verdict::Allow));
}

#[test]
fn custom_patterns_and_allow_list() {
    let cfg = r#"{"custom":[{"name":"acme","pattern":"acme_[a-z0-9]{16}","action":"warn","score":0.7}]}"#;
    let g = guard(cfg);
    match g.check(&text_content("use acme_0123456789abcdef here")) {
        Verdict::Warn(f) => {
            assert_eq!(f[0].detector, "secrets.custom.acme");
            assert_eq!(f[0].score, 0.7);
            assert!(!f[0].message.contains("0123456789abcdef"));
        }
        other => panic!("expected warn, got {other:?}"),
    }
    let key = format!("sk_live_{}", rnd(24, 2));
    let g = guard(&format!(r#"{{"allow":["{key}"]}}"#));
    assert!(matches!(g.check(&text_content(&format!("k={key}"))), Verdict::Allow));
    let g = guard(r#"{"allow_patterns":["ghp_[A-Za-z0-9]+"]}"#);
    assert!(matches!(g.check(&text_content(&format!("ghp_{}", rnd(36, 3)))), Verdict::Allow));
}

#[test]
fn config_errors() {
    for (cfg, needle) in [
        (r#"{"action":"explode"}"#, "invalid config"),
        (r#"{"unknown":1}"#, "unknown field"),
        (r#"{"detectors":{"nope":{}}}"#, "detectors.nope: unknown detector"),
        (r#"{"detectors":{"jwt":{"enabled":false,"colour":"red"}}}"#, "unknown field"),
        (r#"{"custom":[{"name":"Bad Name","pattern":"x"}]}"#, "custom[0].name"),
        (r#"{"custom":[{"name":"a","pattern":"("}]}"#, "custom[0].pattern: invalid regex"),
        (r#"{"custom":[{"name":"a","pattern":"x*"}]}"#, "matches the empty string"),
        (r#"{"custom":[{"name":"a","pattern":"x"},{"name":"a","pattern":"y"}]}"#, "duplicate"),
        (r#"{"custom":[{"name":"a","pattern":"x","score":2}]}"#, "custom[0].score"),
        (r#"{"allow":[""]}"#, "allow[0]"),
        (r#"{"allow_patterns":["["]}"#, "allow_patterns[0]"),
        (r#"{"min_score":1.5}"#, "min_score"),
        (r#"{"entropy":{"min_length":2}}"#, "entropy.min_length"),
        (r#"{"entropy":{"min_bits":9}}"#, "entropy.min_bits"),
        ("not json", "invalid config"),
    ] {
        match Secrets::configure(cfg) {
            Ok(_) => panic!("{cfg} should be refused"),
            Err(e) => assert!(e.contains(needle), "{cfg}: {e}"),
        }
    }
    assert!(Secrets::configure("{}").is_ok());
    assert!(Secrets::configure("").is_ok());
}

#[test]
fn schema_is_json_and_lists_every_detector() {
    let info = Secrets::describe();
    let schema: serde_json::Value = serde_json::from_str(info.config_schema.as_deref().expect("schema")).expect("json");
    let names = &schema["properties"]["detectors"]["propertyNames"]["enum"];
    let names: Vec<&str> = names.as_array().expect("enum").iter().filter_map(|v| v.as_str()).collect();
    let builtin: Vec<&str> = Det::BUILTIN.iter().map(|d| d.name()).collect();
    assert_eq!(names, builtin);
    assert!(info.stages.contains(Stages::INPUT | Stages::OUTPUT | Stages::TOOL));
    assert!(!info.stages.contains(Stages::RESTORE));
}

#[test]
fn large_payloads_are_linear() {
    // Adversarial shapes: many operators, many BEGIN lines without END, long tokens.
    let g = guard("{}");
    let inputs = [
        "a=".repeat(32 * 1024),
        "-----BEGIN PRIVATE KEY-----\n".repeat(2400),
        "ghp_".repeat(16 * 1024),
        format!("{}:", "k".repeat(64)).repeat(1000),
        "eyJ.".repeat(16 * 1024),
        rnd(64 * 1024, 1),
        "token: ".repeat(9000),
        "https://a:".repeat(6500),
        "token=".repeat(11000),
        "eyJ-".repeat(16 * 1024) + "." + &rnd(60 * 1024, 2),
        "ya29.".repeat(13000),
        format!("{}=", "\"api_key\": \"".repeat(5000)),
        format!("N{}.{}.{} ", rnd(23, 1), rnd(6, 2), rnd(27, 3)).repeat(1100),
        "<token>".repeat(9000),
        "Bearer ".repeat(9000),
        "machine x login y password ".repeat(2400),
    ];
    for input in &inputs {
        let t = std::time::Instant::now();
        let _ = g.check(&text_content(input));
        let el = t.elapsed();
        eprintln!("{} bytes {:?} took {el:?}", input.len(), &input[..12]);
        assert!(el.as_millis() < 500, "{} bytes took {el:?}", input.len());
    }
}

/// Measures the case file (tests/cases/secrets.jsonl): prints recall and
/// false-positive rate per kind, and holds them to floors.
#[test]
fn case_file() {
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/cases/secrets.jsonl");
    let path = std::env::var("SECRETS_CASES").unwrap_or_else(|_| default.to_string());
    let Ok(data) = std::fs::read_to_string(&path) else {
        eprintln!("no case file at {path}");
        return;
    };
    let g = guard("{}");
    let mut per_kind: BTreeMap<(i64, String), (usize, usize)> = BTreeMap::new();
    let (mut tp, mut pos, mut fp, mut neg) = (0, 0, 0, 0);
    for line in data.lines().filter(|l| !l.trim().is_empty()) {
        let case: serde_json::Value = serde_json::from_str(line).expect("case json");
        let content = match (&case["text"], &case["payload"]) {
            (serde_json::Value::String(t), _) => text_content(t),
            (_, p) => json_content(p),
        };
        let label = case["label"].as_i64().expect("label");
        let kind = case["kind"].as_str().unwrap_or("?").to_string();
        let v = g.check(&content);
        let flagged = !matches!(v, Verdict::Allow);
        let e = per_kind.entry((label, kind)).or_default();
        e.1 += 1;
        if flagged {
            e.0 += 1;
        }
        if label == 1 {
            pos += 1;
            tp += usize::from(flagged);
            if !flagged {
                eprintln!("MISS {}", case["id"]);
            }
        } else {
            neg += 1;
            fp += usize::from(flagged);
            if flagged {
                let f: Vec<&str> = findings(&v).iter().map(|f| f.detector.as_str()).collect();
                eprintln!("FALSE POSITIVE {} {f:?}", case["id"]);
            }
        }
    }
    for ((label, kind), (flagged, total)) in &per_kind {
        let what = if *label == 1 { "recall" } else { "flagged" };
        eprintln!("{:>5} {kind:<28} {what} {flagged}/{total}", if *label == 1 { "pos" } else { "neg" });
    }
    let recall = tp as f64 / pos.max(1) as f64;
    let fpr = fp as f64 / neg.max(1) as f64;
    eprintln!("recall {recall:.3} ({tp}/{pos}), false positives {fpr:.3} ({fp}/{neg})");
    assert!(recall >= 0.9, "recall {recall:.3}");
    assert!(fpr <= 0.05, "false-positive rate {fpr:.3}");
}

/// Manual review aid: `SECRETS_SCAN_DIR=/some/dir cargo test -p guard-secrets -- --ignored scan_dir --nocapture`
/// prints every finding in the text files under the directory, with context.
#[test]
#[ignore]
fn scan_dir() {
    let Ok(dir) = std::env::var("SECRETS_SCAN_DIR") else { return };
    let g = guard("{}");
    let mut stack = vec![std::path::PathBuf::from(dir)];
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut files = 0;
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.filter_map(|e| e.ok()).map(|e| e.path()));
            }
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&p) else { continue };
        if text.len() > 2_000_000 {
            continue;
        }
        files += 1;
        for (h, _) in g.hits(&text, None) {
            *counts.entry(h.det.name().to_string()).or_default() += 1;
            let lo = text.floor_char_boundary(h.start.saturating_sub(50));
            let hi = text.ceil_char_boundary((h.end + 30).min(text.len()));
            let ctx = text[lo..hi].replace('\n', "⏎");
            eprintln!("{} | {} | {}", h.det.name(), p.display(), ctx.chars().take(220).collect::<String>());
        }
    }
    eprintln!("{files} files: {counts:?}");
}

#[test]
fn findings_are_capped_but_all_secrets_redacted() {
    let text: String = (0..400).map(|i| format!("k{i}=ghp_{} ", rnd(36, i))).collect();
    match guard(r#"{"action":"redact"}"#).check(&text_content(&text)) {
        Verdict::Redact(r) => {
            assert_eq!(r.findings.len(), MAX_FINDINGS + 1);
            assert_eq!(r.findings[MAX_FINDINGS].detector, "secrets.truncated");
            assert!(!r.edits[0].text.contains("ghp_"));
        }
        other => panic!("expected redact, got {other:?}"),
    }
}

#[test]
fn formats_without_an_assignment_operator() {
    assert_detects(&format!("<configuration><apiKey>{}</apiKey></configuration>", rnd(32, 1)), "generic-secret");
    assert_detects("<password>Xq9!vL2#mP</password>", "password");
    assert_clean("<password>********</password>");
    assert_clean("<passwordPolicy>strict</passwordPolicy>");
    assert_detects("machine api.example.net\n  login me@example.net\n  password Zt7qXk29LmWp", "password");
    assert_clean("machine github.com login octocat password $GITHUB_TOKEN");
    assert_detects(
        &format!("Your new API key: {}-{}", rnd(24, 2).to_uppercase(), rnd(24, 3).to_uppercase()),
        "generic-secret",
    );
    assert_detects(&format!("The new API token for the service is {}", rnd(40, 4)), "generic-secret");
    assert_clean("The access token is valid for 3600 seconds and the refresh token for 30 days.");
}

#[test]
fn env_style_key_names_and_encodings() {
    assert_detects(&format!("$env:AZURE_OPENAI_KEY = \"{}\"", hex(32, 1)), "generic-secret");
    assert_clean(&format!("{{\"cache_key\": \"{}\"}}", hex(32, 1)));
    let auth = "cm9ib3QkY2k6WnE4eFcydkxwOVRuUjNr"; // base64 of a user:password pair
    assert_detects(&format!(r#"{{"auths": {{"registry.io": {{"auth": "{auth}"}}}}}}"#), "basic-auth");
    assert_clean("Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    let pem = format!("-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n", rnd(256, 5));
    let encoded: String = {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        pem.as_bytes()
            .chunks(3)
            .flat_map(|c| {
                let n = c.iter().enumerate().fold(0u32, |a, (i, &x)| a | (u32::from(x) << (16 - 8 * i)));
                (0..4).map(move |i| if i <= c.len() { A[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' })
            })
            .collect()
    };
    assert_detects(&format!("client-key-data: {encoded}"), "private-key");
    assert_detects(&format!("MAILCHIMP={}-us14", hex(32, 3)), "vendor-token");
}

#[test]
fn json_escaped_text() {
    // Tool results often carry serialized JSON as text: `\n` stays two characters.
    let body: String = (0..5).map(|i| rnd(64, i) + "\\n").collect();
    assert_detects(
        &format!(r#"{{"text": "id_rsa:\n-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----"}}"#),
        "private-key",
    );
    assert_detects(&format!(r#"{{"text": "keys:\nAKIA{}\n"}}"#, "Q2WXZ7RT4LMNB3VK"), "aws-access-key");
    assert_detects(&format!(r#"{{"text": "a: 1\ntoken: {}\n"}}"#, rnd(40, 9)), "generic-secret");
}

#[test]
fn generic_value_shapes() {
    for v in [
        "0123456789abcdef0123456789abcdef".to_string(), // hand-written filler
        "OPENAI_API_KEY".to_string(),                   // an env var name
        "project-cache-v7-linux".to_string(),           // a slug
        "/var/lib/app/secrets/token.txt".to_string(),   // a path
        "2.14.0-rc.1+build.5678".to_string(),           // a version
        "[0-9A-Fa-f]{1,4}".to_string(),                 // a regex
    ] {
        assert_clean(&format!("api_token = \"{v}\""));
    }
    assert_detects(&format!("api_token = \"/{}\"", rnd(39, 3)), "generic-secret");
    assert_detects(&format!("api_token = \"{}\"", rnd(24, 4) + "(-_=+)"), "generic-secret");
}

#[test]
fn authorization_member_with_scheme() {
    let g = guard("{}");
    let payload = serde_json::json!({"headers": {"Authorization": format!("token {}", hex(40, 2))}});
    let f: Vec<String> = findings(&g.check(&json_content(&payload))).iter().map(|f| f.detector.clone()).collect();
    assert_eq!(f, ["secrets.generic-secret"]);
    let payload = serde_json::json!({"headers": {"Authorization": "Bearer <TOKEN>"}});
    assert!(matches!(g.check(&json_content(&payload)), Verdict::Allow));
}
