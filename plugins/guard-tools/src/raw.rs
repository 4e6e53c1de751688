//! Scans over the raw normalised text rather than its tokens: instruction tags and fake
//! role markers, structured instruction keys, shell one-liners (download-and-run,
//! reverse shells, destructive commands, untrusted package indexes), injection payloads,
//! markdown beacons, URL templates filled with the user's data, and promotional language
//! that pushes the model to prefer a tool.

use crate::analyze::{Hit, imperative_factor, sentence_bounds};
use crate::score::Det;
use crate::token::{Kind, TARGET, Tok};
use std::collections::HashMap;

/// The sentence around byte `a` tells the model to run something.
pub(crate) fn told_to_run(toks: &[Tok], a: usize) -> bool {
    let Some(i) = toks.iter().position(|t| t.b > a) else { return true };
    let (s, e) = sentence_bounds(toks, i);
    (s..e).any(|k| {
        let w = toks[k].w.as_str();
        let verb = matches!(
            w,
            "run" | "execute" | "paste" | "type" | "enter" | "invoke" | "launch" | "use" | "add" | "append"
        );
        let actor = matches!(w, "you" | "assistant" | "agent" | "model" | "ai")
            && toks.get(k + 1).is_some_and(|n| {
                matches!(
                    n.w.as_str(),
                    "must" | "should" | "need" | "needs" | "have" | "has" | "will" | "runs" | "run" | "executes"
                )
            });
        (verb && imperative_factor(toks, k) >= 1.0) || actor
    })
}

/// Promotional language that pushes the model to prefer this tool (preference
/// manipulation): rankings, superlatives, social proof, urgency, hype, disparaging
/// alternatives, shouting. Counted by category so one "best" is not enough.
pub(crate) fn promotional(t: &str, toks: &[Tok], lits: &Literals, hits: &mut Vec<Hit>) {
    let found = lits.promo.first_positions(t);
    let mut cat_seen = [false; PROMO_CATS.len()];
    let mut phrases = 0;
    let mut k = 0;
    for (c, cat) in PROMO_CATS.iter().enumerate() {
        for _ in cat.iter() {
            if found[k].is_some() {
                cat_seen[c] = true;
                phrases += 1;
            }
            k += 1;
        }
    }
    let mut cats = cat_seen.iter().filter(|x| **x).count();
    if phrases >= 5 {
        cats += 1;
    }
    let shouting = toks.iter().filter(|t| t.has(crate::token::CAPS) && t.w.len() >= 4 && t.kind == Kind::Word).count();
    let bangs = t.matches('!').count();
    if shouting >= 4 && bangs >= 2 {
        cats += 1;
    }
    let score = match cats {
        0 | 1 => 0.0,
        2 => 0.3,
        3 => 0.5,
        _ => 0.65,
    };
    if score > 0.0 {
        hits.push(Hit {
            det: Det::Shadowing,
            rule: "promotional-manipulation",
            score,
            msg: "promotional language pushing the model to prefer this tool",
            a: 0,
            b: t.len(),
        });
    }
}

/// Hype phrases by category: rankings, superlatives, social proof, urgency, hype,
/// disparaging alternatives.
pub(crate) const PROMO_CATS: &[&[&str]] = &[
    &[
        "#1",
        "number one",
        "no. 1",
        "ranked",
        "top-rated",
        "top rated",
        "5-star",
        "five-star",
        "five star",
        "\u{2b50}\u{2b50}",
        "\u{2605}\u{2605}",
    ],
    &[
        "the best",
        "best tool",
        "most accurate",
        "most powerful",
        "most reliable",
        "superior",
        "outperform",
        "better than",
        "10x",
        "100x",
        "% more",
        "unmatched",
        "unprecedented",
        "unrivaled",
        "unrivalled",
        "world's best",
        "world-class",
        "industry leader",
        "industry-leading",
        "far better",
    ],
    &[
        "trusted by",
        "endorsed by",
        "recommended by",
        "featured in",
        "used by over",
        "million users",
        "million downloads",
        "fortune 500",
        "award",
        "scientifically proven",
        "as seen on",
        "reviews",
    ],
    &[
        "limited time",
        "act now",
        "hurry",
        "left today",
        "expires",
        "don't miss",
        "before it's too late",
        "filling fast",
        "while it lasts",
        "last chance",
    ],
    &[
        "exclusive",
        "vip",
        "elite",
        "game changer",
        "game-changer",
        "breakthrough",
        "revolutionary",
        "guaranteed",
        "mandatory for all",
        "essential",
    ],
    &["inferior", "outdated tools", "competitors", "don't settle", "why settle", "why use", "waste time"],
];

/// URLs whose query string is a template to be filled with the user's data:
/// `https://host/t.gif?u={user_email}&q=<last message>`.
pub(crate) fn url_templates(toks: &[Tok], hits: &mut Vec<Hit>) {
    const DATA: &[&str] = &[
        "user",
        "message",
        "conversation",
        "email",
        "name",
        "location",
        "history",
        "summary",
        "secret",
        "token",
        "key",
        "password",
        "chat",
        "prompt",
        "question",
        "content",
        "data",
        "file",
        "address",
        "phone",
    ];
    for (k, t) in toks.iter().enumerate() {
        if t.kind != Kind::Url || !t.has(TARGET) {
            continue;
        }
        let query = t.w.split_once('?').map_or("", |q| q.1);
        let mut holes: Vec<&str> = query
            .match_indices(['{', '<', '['])
            .filter_map(|(i, _)| query[i + 1..].split(['}', '>', ']']).next())
            .collect();
        if query.ends_with('=') {
            // "https://x/?loc= followed by the user's address": the hole is in the next words
            let next = toks[k + 1..].iter().take(8).any(|t| DATA.iter().any(|d| t.w.contains(d)));
            if next {
                holes.push("user");
            }
        }
        if holes.iter().any(|h| DATA.iter().any(|d| h.contains(d))) {
            hits.push(Hit {
                det: Det::Exfil,
                rule: "url-template",
                score: 0.55,
                msg: "URL template to be filled with the user's data",
                a: t.a,
                b: t.b,
            });
        }
    }
}

/// Literal patterns searched in one pass per string.
pub struct Literals {
    raw: crate::multi::Multi,
    promo: crate::multi::Multi,
    launchers: crate::multi::Multi,
}

impl Literals {
    pub fn new() -> Literals {
        let raw: Vec<&'static str> = RAW_LITERALS.iter().map(|r| r.0).collect();
        let promo: Vec<&'static str> = PROMO_CATS.iter().flat_map(|c| c.iter().copied()).collect();
        Literals {
            raw: crate::multi::Multi::new(&raw),
            promo: crate::multi::Multi::new(&promo),
            launchers: crate::multi::Multi::new(LAUNCHERS),
        }
    }
}

pub(crate) const LAUNCHERS: &[&str] = &["python -c", "python3 -c", "node -e", "perl -e", "ruby -e"];

/// (literal, detector, rule, score, message) over the lower-case normalised text.
pub(crate) const RAW_LITERALS: &[(&str, Det, &str, f32, &str)] = &[
    ("{{system", Det::Hidden, "role-marker", 0.55, "fake system or role marker"),
    ("{system:", Det::Hidden, "role-marker", 0.55, "fake system or role marker"),
    ("<<sys>>", Det::Hidden, "role-marker", 0.55, "fake system or role marker"),
    ("<|im_start|>", Det::Hidden, "role-marker", 0.55, "fake system or role marker"),
    ("<|system|>", Det::Hidden, "role-marker", 0.55, "fake system or role marker"),
    ("<|assistant|>", Det::Hidden, "role-marker", 0.55, "fake system or role marker"),
    ("[inst]", Det::Hidden, "role-marker", 0.55, "fake system or role marker"),
    ("[/inst]", Det::Hidden, "role-marker", 0.55, "fake system or role marker"),
    ("[system]", Det::Hidden, "role-marker", 0.55, "fake system or role marker"),
    ("[system message]", Det::Hidden, "role-marker", 0.55, "fake system or role marker"),
    ("[admin]", Det::Hidden, "role-marker", 0.55, "fake system or role marker"),
    ("### system", Det::Hidden, "role-marker", 0.55, "fake system or role marker"),
    ("downloadstring(", Det::Exfil, "download-and-execute", 0.7, "command that downloads a script and runs it"),
    ("downloadfile(", Det::Exfil, "download-and-execute", 0.6, "command that downloads a file to run it"),
    ("iex (", Det::Exfil, "download-and-execute", 0.6, "command that evaluates downloaded code"),
    ("iex(", Det::Exfil, "download-and-execute", 0.6, "command that evaluates downloaded code"),
    ("invoke-expression", Det::Exfil, "download-and-execute", 0.6, "command that evaluates downloaded code"),
    ("frombase64string", Det::Exfil, "download-and-execute", 0.5, "command that decodes hidden code"),
    (" -enc ", Det::Exfil, "download-and-execute", 0.6, "PowerShell command with an encoded payload"),
    (" -encodedcommand", Det::Exfil, "download-and-execute", 0.6, "PowerShell command with an encoded payload"),
    ("-w hidden", Det::Exfil, "download-and-execute", 0.5, "command that runs in a hidden window"),
    ("-windowstyle hidden", Det::Exfil, "download-and-execute", 0.5, "command that runs in a hidden window"),
    ("$(curl ", Det::Exfil, "download-and-execute", 0.7, "command that downloads a script and runs it"),
    ("$(wget ", Det::Exfil, "download-and-execute", 0.7, "command that downloads a script and runs it"),
    ("<(curl ", Det::Exfil, "download-and-execute", 0.7, "command that downloads a script and runs it"),
    ("<(wget ", Det::Exfil, "download-and-execute", 0.7, "command that downloads a script and runs it"),
    ("/dev/tcp/", Det::Exfil, "reverse-shell", 0.75, "reverse-shell command"),
    ("nc -e", Det::Exfil, "reverse-shell", 0.75, "reverse-shell command"),
    ("ncat -e", Det::Exfil, "reverse-shell", 0.75, "reverse-shell command"),
    ("nc -c", Det::Exfil, "reverse-shell", 0.7, "reverse-shell command"),
    ("bash -i >", Det::Exfil, "reverse-shell", 0.75, "reverse-shell command"),
    ("mkfifo /tmp", Det::Exfil, "reverse-shell", 0.7, "reverse-shell command"),
    ("socat exec:", Det::Exfil, "reverse-shell", 0.75, "reverse-shell command"),
    ("socat tcp", Det::Exfil, "reverse-shell", 0.6, "reverse-shell command"),
    ("rm -rf ~", Det::Exfil, "destructive-command", 0.5, "destructive shell command"),
    ("rm -rf /", Det::Exfil, "destructive-command", 0.5, "destructive shell command"),
    ("rm -rf $home", Det::Exfil, "destructive-command", 0.5, "destructive shell command"),
    ("rm -rf *", Det::Exfil, "destructive-command", 0.45, "destructive shell command"),
    ("rm -fr ~", Det::Exfil, "destructive-command", 0.5, "destructive shell command"),
    ("--no-preserve-root", Det::Exfil, "destructive-command", 0.6, "destructive shell command"),
    ("chmod -r 777", Det::Exfil, "destructive-command", 0.5, "command that opens up file permissions"),
    ("chmod 777 ~", Det::Exfil, "destructive-command", 0.5, "command that opens up file permissions"),
    ("chmod 777 /", Det::Exfil, "destructive-command", 0.5, "command that opens up file permissions"),
    ("mkfs.", Det::Exfil, "destructive-command", 0.5, "destructive shell command"),
    ("dd if=/dev/zero of=/dev", Det::Exfil, "destructive-command", 0.5, "destructive shell command"),
    (":(){", Det::Exfil, "destructive-command", 0.5, "fork bomb"),
    ("history -c", Det::Exfil, "destructive-command", 0.4, "command that erases shell history"),
    ("format c:", Det::Exfil, "destructive-command", 0.5, "destructive shell command"),
    ("del /f /s /q", Det::Exfil, "destructive-command", 0.5, "destructive shell command"),
    ("ssh-rsa aaaa", Det::Exfil, "key-material", 0.3, "embedded SSH public key"),
    ("ssh-ed25519 aaaa", Det::Exfil, "key-material", 0.3, "embedded SSH public key"),
    (
        "--index-url http",
        Det::Exfil,
        "untrusted-package-source",
        0.5,
        "package installation from an ad-hoc index or URL",
    ),
    (
        "--extra-index-url http",
        Det::Exfil,
        "untrusted-package-source",
        0.5,
        "package installation from an ad-hoc index or URL",
    ),
    ("-i http", Det::Exfil, "untrusted-package-source", 0.5, "package installation from an ad-hoc index or URL"),
    ("registry http", Det::Exfil, "untrusted-package-source", 0.5, "package installation from an ad-hoc index or URL"),
    ("registry=http", Det::Exfil, "untrusted-package-source", 0.5, "package installation from an ad-hoc index or URL"),
    ("index-url=http", Det::Exfil, "untrusted-package-source", 0.5, "package installation from an ad-hoc index or URL"),
    (
        "pip install git+http",
        Det::Exfil,
        "untrusted-package-source",
        0.5,
        "package installation from an ad-hoc index or URL",
    ),
    (
        "pip install http",
        Det::Exfil,
        "untrusted-package-source",
        0.5,
        "package installation from an ad-hoc index or URL",
    ),
    (
        "npm install http",
        Det::Exfil,
        "untrusted-package-source",
        0.5,
        "package installation from an ad-hoc index or URL",
    ),
    ("--trusted-host", Det::Exfil, "untrusted-package-source", 0.5, "package installation from an ad-hoc index or URL"),
    ("'; drop table", Det::Exfil, "injection-payload", 0.55, "SQL injection payload"),
    ("; drop table", Det::Exfil, "injection-payload", 0.5, "SQL injection payload"),
    ("' or 1=1", Det::Exfil, "injection-payload", 0.55, "SQL injection payload"),
    ("' or '1'='1", Det::Exfil, "injection-payload", 0.55, "SQL injection payload"),
    ("exfil", Det::Exfil, "attack-vocabulary", 0.45, "mentions data exfiltration"),
];

/// Suspicious tag names used to mark instruction blocks (also as parts: `<model_instructions>`).
pub(crate) const TAG_PARTS: &[&str] = &[
    "instruction",
    "system",
    "prompt",
    "important",
    "secret",
    "hidden",
    "admin",
    "override",
    "directive",
    "confidential",
];
pub(crate) const TAGS: &[&str] = &[
    "important",
    "system",
    "instructions",
    "instruction",
    "secret",
    "hidden",
    "admin",
    "administrator",
    "assistant",
    "ai",
    "directive",
    "directives",
    "priority",
    "critical",
    "mandatory",
    "sys",
    "system_prompt",
    "system-prompt",
    "systemprompt",
    "override",
    "rules",
    "note_to_ai",
    "ai_instructions",
    "hidden_instructions",
    "internal",
    "confidential",
    "system_message",
    "developer",
    "model",
];

/// At most `len` bytes of `t` from `from`, cut at a character boundary.
pub(crate) fn window(t: &str, from: usize, len: usize) -> &str {
    let from = from.min(t.len());
    let mut end = (from + len).min(t.len());
    while !t.is_char_boundary(end) {
        end -= 1;
    }
    &t[from..end.max(from)]
}

pub(crate) fn floor_boundary(t: &str, mut i: usize) -> usize {
    while i > 0 && !t.is_char_boundary(i) {
        i -= 1;
    }
    i
}

pub(crate) fn find_char(t: &str, c: char) -> impl Iterator<Item = usize> + '_ {
    t.match_indices(c).map(|(i, _)| i)
}

pub(crate) fn find_all<'a>(t: &'a str, pat: &'a str) -> impl Iterator<Item = usize> + 'a {
    t.match_indices(pat).map(|(i, _)| i)
}

/// Scans over the raw normalised text: instruction tags and fake role markers, shell
/// one-liners that download-and-run or open reverse shells, destructive commands, and
/// markdown images that carry data in their URL.
pub(crate) fn raw_hits(t: &str, lits: &Literals, hits: &mut Vec<Hit>) {
    let mut push = |det, rule, score, msg, a: usize, b: usize| hits.push(Hit { det, rule, score, msg, a, b });
    // <tag> ... </tag>
    let mut opened: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut paired: Vec<(usize, usize)> = Vec::new();
    for i in find_char(t, '<') {
        let rest = window(t, i + 1, 64);
        let Some(close) = rest.find('>') else { continue };
        if close > 40 {
            continue;
        }
        let inner = rest[..close].trim();
        let (closing, name) = match inner.strip_prefix('/') {
            Some(n) => (true, n.trim()),
            None => (false, inner),
        };
        let name = name.split_whitespace().next().unwrap_or("");
        let known = TAGS.iter().find(|&&x| x == name).copied().or_else(|| {
            let valid = !name.is_empty()
                && name.len() <= 32
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            (valid && TAG_PARTS.iter().any(|p| name.contains(p))).then_some(name)
        });
        if let Some(tag) = known {
            if closing {
                if let Some(&(a, _)) = opened.get(tag) {
                    paired.push((a, i + close + 2));
                }
            } else {
                opened.entry(tag).or_insert((i, i + close + 2));
            }
        }
    }
    if let Some(&(a, b)) = paired.first() {
        push(
            Det::Hidden,
            "instruction-tag",
            0.55,
            "instruction block wrapped in a tag such as <IMPORTANT> or <SYSTEM>",
            a,
            b,
        );
    } else if let Some(&(a, b)) = opened.values().min() {
        push(Det::Hidden, "instruction-tag", 0.25, "tag such as <IMPORTANT> or <SYSTEM>", a, b);
    }
    // Literal markers, commands and payloads, found in one pass.
    let found = lits.raw.first_positions(t);
    for (k, pos) in found.iter().enumerate() {
        if let Some(i) = *pos {
            let (pat, det, rule, score, msg) = RAW_LITERALS[k];
            push(det, rule, score, msg, i, i + pat.len());
        }
    }
    // [instructions for the AI], [note to assistant]
    for i in find_char(t, '[') {
        let rest = window(t, i + 1, 200);
        let Some(close) = rest.find(']') else { continue };
        if close > 160 {
            continue;
        }
        let inner = &rest[..close];
        // the marker is at the start: "[SYSTEM INSTRUCTION: ...]", "[[priority instructions]]"
        let words: Vec<&str> = inner.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).take(4).collect();
        let aiish = words
            .iter()
            .any(|w| matches!(*w, "ai" | "assistant" | "model" | "llm" | "agent" | "agents" | "claude" | "system"));
        let instr = words.iter().any(|w| {
            matches!(
                *w,
                "instructions" | "instruction" | "note" | "important" | "directive" | "admin" | "override" | "notice"
            )
        });
        let urgent = words.iter().any(|w| {
            matches!(
                *w,
                "priority"
                    | "urgent"
                    | "critical"
                    | "mandatory"
                    | "secret"
                    | "hidden"
                    | "confidential"
                    | "admin"
                    | "override"
            )
        });
        if instr && (aiish || urgent) {
            push(Det::Hidden, "role-marker", 0.5, "bracketed note of instructions for the AI model", i, i + close + 2);
            break;
        }
    }
    // JSON-looking keys that carry instructions: {"_system_injection": "...", "ai_directive": ...}
    for i in find_char(t, '"') {
        let rest = window(t, i + 1, 48);
        let Some(close) = rest.find('"') else { continue };
        let key = &rest[..close];
        if close == 0 || close > 40 || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            continue;
        }
        if !rest[close + 1..].trim_start().starts_with(':') {
            continue;
        }
        if ["system", "instruction", "injection", "override", "prompt", "directive", "hidden", "ai_note", "ai_"]
            .iter()
            .any(|p| key.contains(p))
        {
            push(
                Det::Hidden,
                "instruction-key",
                0.45,
                "structured field carrying instructions for the model",
                i,
                i + close + 2,
            );
            break;
        }
    }
    // Markdown headers that announce instructions: "### ADMIN OVERRIDE", "# SYSTEM".
    for line_start in std::iter::once(0).chain(find_char(t, '\n').map(|i| i + 1)) {
        let line = &t[line_start..t[line_start..].find('\n').map_or(t.len(), |j| line_start + j)];
        let trimmed = line.trim_start_matches(['#', '=', '*', ' ']);
        if trimmed.len() < line.len().saturating_sub(1) && line.starts_with(['#', '=']) {
            let first = trimmed.split_whitespace().next().unwrap_or("");
            let score = match first {
                "admin" | "system" | "override" | "secret" | "hidden" => 0.35,
                "instructions" | "important" => 0.15,
                _ => 0.0,
            };
            if score > 0.0 {
                push(
                    Det::Hidden,
                    "role-marker",
                    score,
                    "header announcing instructions for the model",
                    line_start,
                    line_start + line.len(),
                );
                break;
            }
        }
    }

    // Download, then execute the downloaded file; netcat with a shell attached.
    for line in t.split('\n') {
        let base = line.as_ptr() as usize - t.as_ptr() as usize;
        let downloads = ["curl ", "wget ", "iwr ", "invoke-webrequest"].iter().any(|d| line.contains(d));
        let runs = [
            "&& bash",
            "&& sh ",
            "; bash ",
            "; sh ",
            "&& chmod +x",
            "&& ./",
            "; ./",
            "| bash",
            "&& python",
            "&& source ",
        ]
        .iter()
        .any(|r| line.contains(r));
        if downloads && runs {
            push(
                Det::Exfil,
                "download-and-execute",
                0.7,
                "command that downloads a script and runs it",
                base,
                base + line.len(),
            );
        }
        let netcat = ["nc ", "ncat ", "netcat "].iter().any(|n| line.contains(n));
        if netcat
            && [" -e ", " -c "].iter().any(|f| line.contains(f))
            && ["/bin/", "cmd.exe", "powershell"].iter().any(|s| line.contains(s))
        {
            push(Det::Exfil, "reverse-shell", 0.75, "reverse-shell command", base, base + line.len());
        }
    }
    // Download-and-execute: a downloader or decoder piped into an interpreter.
    for line in t.split('\n') {
        let base = line.as_ptr() as usize - t.as_ptr() as usize;
        for (p, _) in line.match_indices('|') {
            let after = line[p + 1..].trim_start();
            let after = after.strip_prefix("sudo ").unwrap_or(after);
            let interp = after.split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-')).next().unwrap_or("");
            let is_interp = matches!(
                interp,
                "sh" | "bash"
                    | "zsh"
                    | "dash"
                    | "ksh"
                    | "fish"
                    | "python"
                    | "python3"
                    | "perl"
                    | "ruby"
                    | "node"
                    | "iex"
                    | "powershell"
                    | "pwsh"
                    | "invoke-expression"
            );
            let before = &line[floor_boundary(line, p.saturating_sub(300))..p];
            let fetches = [
                "curl",
                "wget",
                "iwr",
                "irm",
                "invoke-webrequest",
                "invoke-restmethod",
                "base64 -d",
                "base64 --decode",
                "base64 -d",
                "xxd -r",
                "openssl enc -d",
                "fetch(",
            ]
            .iter()
            .any(|f| before.contains(f));
            if is_interp && fetches {
                push(
                    Det::Exfil,
                    "download-and-execute",
                    0.7,
                    "command that downloads or decodes a script and runs it",
                    base,
                    base + line.len(),
                );
                break;
            }
        }
    }
    // Inline interpreters running system commands: python -c "import os;os.system(...)".
    let launchers = lits.launchers.first_positions(t);
    for (k, launcher) in LAUNCHERS.iter().enumerate() {
        if let Some(i) = launchers[k] {
            let window = &t[i..t.len().min(i + 300)];
            if ["os.system", "subprocess", "exec(", "child_process", "eval(", "popen", "system("]
                .iter()
                .any(|x| window.contains(x))
            {
                push(
                    Det::Exfil,
                    "inline-exec",
                    0.55,
                    "inline interpreter running system commands",
                    i,
                    i + launcher.len(),
                );
                break;
            }
        }
    }
    // Markdown link or image whose URL carries a placeholder for data:
    // [more](https://host/r?c=<conversation>), ![x](https://host/p.png?d={summary})
    for i in find_all(t, "](http") {
        let rest = &t[i + 2..t.len().min(i + 600)];
        let url = &rest[..rest.find([')', '\n']).unwrap_or(rest.len())];
        let query = url.split_once('?').map_or("", |q| q.1);
        let placeholder = query.contains(['<', '{', '$', '['])
            || ["conversation", "summary", "history", "message", "base64", "secret", "token", "user"]
                .iter()
                .any(|w| query.contains(w));
        if placeholder {
            push(
                Det::Exfil,
                "markdown-link-exfil",
                0.6,
                "markdown link or image whose URL is to be filled with data",
                i,
                i + 2 + url.len(),
            );
            break;
        }
    }
    // Markdown image whose URL carries data: ![x](https://host/p.png?d=...)
    for i in find_all(t, "![") {
        let rest = &t[i..t.len().min(i + 600)];
        if let Some(p) = rest.find("](") {
            let url = &rest[p + 2..];
            let url = &url[..url.find([')', ' ', '\n']).unwrap_or(url.len())];
            if url.starts_with("http") && url.contains('?') && url.contains('=') {
                push(
                    Det::Exfil,
                    "markdown-image-exfil",
                    0.5,
                    "markdown image whose URL carries data",
                    i,
                    i + p + 2 + url.len(),
                );
                break;
            }
        }
    }
}
