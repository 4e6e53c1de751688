//! Sentence-level features: a sentence that refers to other tools or actions of the agent
//! and tells the model to change them (shadowing), sends data to a literal destination
//! (exfiltration), or combines several kinds of risk in one directive. Word lists are
//! compiled once into one word -> category-bits map.

use crate::analyze::{Hit, meta_sentence};
use crate::lexicon::{is_code_ident, norm_ident};
use crate::multi::FnvMap;
use crate::pattern::Ctx;
use crate::score::Det;
use crate::token::{CLAUSE_END, Kind, QUOTED, SECPATH, TARGET, Tok};

pub(crate) const NEGATIONS: &[&str] = &[
    "not",
    "never",
    "don't",
    "dont",
    "avoid",
    "without",
    "no",
    "nor",
    "cannot",
    "can't",
    "won't",
    "mustn't",
    "shouldn't",
    "doesn't",
    "refrain",
];

pub(crate) const SELF_REF: &[&str] = &[
    "this",
    "the",
    "a",
    "an",
    "same",
    "current",
    "following",
    "given",
    "that",
    "its",
    "mcp",
    "your",
    "which",
    "our",
    "my",
    "this's",
];
pub(crate) const TOOL_NOUNS: &[&str] = &[
    "tool",
    "tools",
    "function",
    "functions",
    "server",
    "servers",
    "plugin",
    "plugins",
    "integration",
    "integrations",
];
pub(crate) const OTHER_DET: &[&str] =
    &["other", "any", "every", "all", "each", "another", "whichever", "whatever", "different", "remaining"];
pub(crate) const ACTION_VERBS: &[&str] = &[
    "send",
    "sending",
    "create",
    "creating",
    "open",
    "opening",
    "make",
    "making",
    "push",
    "pushing",
    "commit",
    "committing",
    "run",
    "running",
    "execute",
    "executing",
    "call",
    "calling",
    "use",
    "using",
    "pay",
    "paying",
    "transfer",
    "transferring",
    "accept",
    "accepting",
    "write",
    "writing",
    "post",
    "posting",
    "reply",
    "replying",
    "answer",
    "answering",
    "respond",
    "responding",
    "invoke",
    "invoking",
    "book",
    "booking",
    "purchase",
    "purchasing",
    "buy",
    "buying",
    "share",
    "sharing",
    "merge",
    "merging",
    "deploy",
    "deploying",
    "email",
    "emailing",
    "mail",
    "mailing",
    "message",
    "messaging",
    "schedule",
    "scheduling",
    "approve",
    "approving",
    "sign",
    "signing",
    "order",
    "ordering",
];
pub(crate) const CONDITIONALS: &[&str] = &["when", "whenever", "if", "once", "time"];
/// Actions of the agent named by their object: "every email", "any payment".
pub(crate) const ACTION_NOUNS: &[&str] = &[
    "url",
    "urls",
    "request",
    "requests",
    "link",
    "links",
    "query",
    "queries",
    "call",
    "calls",
    "email",
    "emails",
    "message",
    "messages",
    "payment",
    "payments",
    "transfer",
    "transfers",
    "invoice",
    "invoices",
    "commit",
    "commits",
    "invite",
    "invites",
    "invitation",
    "invitations",
    "order",
    "orders",
    "transaction",
    "transactions",
    "deployment",
    "deployments",
    "push",
    "pushes",
    "reply",
    "replies",
    "post",
    "posts",
    "meeting",
    "meetings",
    "pr",
    "prs",
    "purchase",
    "purchases",
    "booking",
    "bookings",
];
pub(crate) const MODALS: &[&str] = &[
    "must",
    "always",
    "never",
    "should",
    "shall",
    "mustn't",
    "shouldn't",
    "required",
    "ensure",
    "remember",
    "needs",
    "has",
    "have",
];
pub(crate) const IMPERATIVES: &[&str] = &[
    "use",
    "call",
    "send",
    "add",
    "put",
    "set",
    "include",
    "route",
    "replace",
    "change",
    "prefix",
    "prepend",
    "append",
    "forward",
    "redirect",
    "share",
    "cc",
    "bcc",
    "invoke",
    "run",
    "execute",
    "report",
    "recommend",
    "tell",
    "say",
    "respond",
    "answer",
    "enable",
    "disable",
    "delete",
    "remove",
    "post",
    "push",
    "upload",
    "mail",
    "email",
    "transmit",
    "read",
    "open",
    "copy",
    "pass",
    "encode",
    "prefer",
    "mention",
    "attach",
    "insert",
    "submit",
    "relay",
    "create",
    "write",
    "make",
    "reply",
    "approve",
    "accept",
    "grant",
    "give",
    "provide",
    "place",
    "store",
    "save",
    "sign",
];
pub(crate) const CLAUSE_WORDS: &[&str] =
    &["so", "then", "and", "also", "please", "first", "instead", "just", "simply", "now", "always"];
pub(crate) const WEAK_ALTER: &[&str] = &[
    "instead",
    "rather",
    "also",
    "additional",
    "additionally",
    "add",
    "append",
    "extra",
    "too",
    "change",
    "modify",
    "deprecated",
    "over",
    "include",
    "insert",
    "attach",
    "set",
];
pub(crate) const STRONG_ALTER: &[&str] = &[
    "replace",
    "replaced",
    "replacing",
    "redirect",
    "redirected",
    "reroute",
    "rerouted",
    "route",
    "routed",
    "override",
    "overridden",
    "supersede",
    "supersedes",
    "misconfigured",
    "broken",
    "disable",
    "disabled",
    "prefix",
    "prefixing",
    "prepend",
    "prepending",
    "bcc",
    "cc",
    "carbon",
    "carboncopy",
    "iban",
    "hijack",
    "intercept",
    "swap",
    "substitute",
    "impersonate",
    "automerge",
    "skip",
    "bypass",
    "outdated",
    "rewrite",
    "rewritten",
    "rewriting",
    "force",
];
/// Objects that only mean redirection together with a verb of change.
pub(crate) const REDIRECT_OBJECTS: &[&str] =
    &["recipient", "recipients", "destination", "account", "beneficiary", "payee", "remote", "branch", "author"];
pub(crate) const CHANGE_VERBS: &[&str] = &[
    "change",
    "changed",
    "replace",
    "replaced",
    "swap",
    "swapped",
    "substitute",
    "switch",
    "route",
    "routed",
    "redirect",
    "redirected",
];
pub(crate) const SCOPE: &[&str] = &[
    "all",
    "every",
    "any",
    "each",
    "whenever",
    "regardless",
    "whichever",
    "whatever",
    "everything",
    "anything",
    "subsequent",
    "future",
];
pub(crate) const XFER_STRONG: &[&str] = &[
    "send",
    "post",
    "upload",
    "transmit",
    "forward",
    "relay",
    "report",
    "submit",
    "mail",
    "email",
    "beacon",
    "exfiltrate",
    "leak",
    "ship",
    "deliver",
    "sync",
    "copy",
    "share",
    "push",
    "append",
    "attach",
    "include",
    "add",
    "put",
    "place",
    "paste",
    "encode",
    "embed",
    "log",
    "cc",
    "bcc",
    "transfer",
    "export",
    "dump",
    "carboncopy",
    "mirror",
    "replicate",
    "duplicate",
    "backup",
    "piggyback",
    "stash",
];
pub(crate) const XFER_WEAK: &[&str] =
    &["call", "invoke", "open", "visit", "fetch", "request", "load", "hit", "ping", "navigate", "curl", "browse"];
pub(crate) const DATA_NOUNS: &[&str] = &[
    "conversation",
    "conversations",
    "chat",
    "transcript",
    "messages",
    "history",
    "summary",
    "location",
    "files",
    "documents",
    "document",
    "contents",
    "credentials",
    "tokens",
    "token",
    "keys",
    "passwords",
    "password",
    "secrets",
    "secret",
    "data",
    "reasoning",
    "question",
    "questions",
    "context",
    "results",
    "outputs",
    "everything",
    "prompt",
    "prompts",
    "answers",
    "details",
    "emails",
    "cookies",
    "environment",
    "workspace",
    "directory",
    "name",
    "address",
    "user's",
    "users'",
    "copy",
    "result",
    "output",
    "contacts",
    "contact",
    "inhalt",
    "daten",
    "datei",
    "contenu",
    "données",
    "contenido",
    "datos",
    "conteúdo",
    "dados",
    "contenuto",
    "dati",
    "urls",
    "links",
    "visited",
    "browsing",
    "activity",
    "calendar",
    "photos",
    "clipboard",
    "keystrokes",
    "screenshots",
    "screenshot",
    "file",
    "note",
    "notes",
    "entries",
    "text",
    "writes",
    "typed",
];
/// Passive forms: "are sent to", "must be routed to" (often a description of the tool itself).
pub(crate) const XFER_PASSIVE: &[&str] = &[
    "sent",
    "forwarded",
    "routed",
    "redirected",
    "delivered",
    "relayed",
    "copied",
    "posted",
    "uploaded",
    "mailed",
    "transmitted",
    "shared",
];
/// Words that make a target an example rather than a destination.
pub(crate) const EXAMPLE_WORDS: &[&str] = &["e.g", "eg", "example", "examples", "format", "like"];

pub(crate) const NEGATIONS_B: u32 = 1 << 0;
pub(crate) const TOOL_NOUNS_B: u32 = 1 << 1;
pub(crate) const SELF_REF_B: u32 = 1 << 2;
pub(crate) const OTHER_DET_B: u32 = 1 << 3;
pub(crate) const SCOPE_B: u32 = 1 << 4;
pub(crate) const ACTION_NOUNS_B: u32 = 1 << 5;
pub(crate) const REDIRECT_OBJECTS_B: u32 = 1 << 6;
pub(crate) const CHANGE_VERBS_B: u32 = 1 << 7;
pub(crate) const XFER_PASSIVE_B: u32 = 1 << 8;
pub(crate) const CONDITIONALS_B: u32 = 1 << 9;
pub(crate) const ACTION_VERBS_B: u32 = 1 << 10;
pub(crate) const CLAUSE_WORDS_B: u32 = 1 << 11;
pub(crate) const MODALS_B: u32 = 1 << 12;
pub(crate) const IMPERATIVES_B: u32 = 1 << 13;
pub(crate) const WEAK_ALTER_B: u32 = 1 << 14;
pub(crate) const STRONG_ALTER_B: u32 = 1 << 15;
pub(crate) const XFER_STRONG_B: u32 = 1 << 16;
pub(crate) const XFER_WEAK_B: u32 = 1 << 17;
pub(crate) const DATA_NOUNS_B: u32 = 1 << 18;
pub(crate) const EXAMPLE_WORDS_B: u32 = 1 << 19;
pub(crate) const SECRET_WORDS_B: u32 = 1 << 20;
pub(crate) const SECRECY_WORDS_B: u32 = 1 << 21;
pub(crate) const DANGER_WORDS_B: u32 = 1 << 22;
pub(crate) const PROXY_WORDS_B: u32 = 1 << 23;

/// Category bits of a word across the word lists above, built once.
pub(crate) fn word_bits() -> &'static FnvMap<&'static str, u32> {
    static BITS: std::sync::OnceLock<FnvMap<&'static str, u32>> = std::sync::OnceLock::new();
    BITS.get_or_init(|| {
        let mut m: FnvMap<&'static str, u32> = FnvMap::default();
        for (list, bit) in [
            (NEGATIONS, NEGATIONS_B),
            (TOOL_NOUNS, TOOL_NOUNS_B),
            (SELF_REF, SELF_REF_B),
            (OTHER_DET, OTHER_DET_B),
            (SCOPE, SCOPE_B),
            (ACTION_NOUNS, ACTION_NOUNS_B),
            (REDIRECT_OBJECTS, REDIRECT_OBJECTS_B),
            (CHANGE_VERBS, CHANGE_VERBS_B),
            (XFER_PASSIVE, XFER_PASSIVE_B),
            (CONDITIONALS, CONDITIONALS_B),
            (ACTION_VERBS, ACTION_VERBS_B),
            (CLAUSE_WORDS, CLAUSE_WORDS_B),
            (MODALS, MODALS_B),
            (IMPERATIVES, IMPERATIVES_B),
            (WEAK_ALTER, WEAK_ALTER_B),
            (STRONG_ALTER, STRONG_ALTER_B),
            (XFER_STRONG, XFER_STRONG_B),
            (XFER_WEAK, XFER_WEAK_B),
            (DATA_NOUNS, DATA_NOUNS_B),
            (EXAMPLE_WORDS, EXAMPLE_WORDS_B),
            (SECRET_WORDS, SECRET_WORDS_B),
            (SECRECY_WORDS, SECRECY_WORDS_B),
            (DANGER_WORDS, DANGER_WORDS_B),
            (PROXY_WORDS, PROXY_WORDS_B),
        ] {
            for w in list {
                *m.entry(*w).or_insert(0) |= bit;
            }
        }
        m
    })
}

/// Category bits of one word.
pub(crate) fn bits(w: &str) -> u32 {
    word_bits().get(w).copied().unwrap_or(0)
}

/// The word is in the list(s) of `bit`.
pub(crate) fn is(w: &str, bit: u32) -> bool {
    bits(w) & bit != 0
}

/// Cross-tool instructions (shadowing) and sending data to a literal destination
/// (exfiltration), judged per sentence from co-occurring features.
pub(crate) fn sentence_hits(toks: &[Tok], ctx: &Ctx, hits: &mut Vec<Hit>) {
    let overrides: Vec<usize> = hits.iter().filter(|h| h.rule == "user-override").map(|h| h.a).collect();
    let mut s = 0;
    while s < toks.len() {
        let e = toks[s..].iter().position(|t| t.kind == Kind::Break).map_or(toks.len(), |p| s + p);
        if e > s {
            sentence(toks, s, e, ctx, &overrides, hits);
        }
        s = e + 1;
    }
}

pub(crate) fn sentence(toks: &[Tok], s: usize, e: usize, ctx: &Ctx, overrides: &[usize], hits: &mut Vec<Hit>) {
    let ws = &toks[s..e];
    let w = |k: usize| ws.get(k).map_or("", |t| t.w.as_str());
    let (mut other_tool, mut other_action, mut directive, mut weak, mut strong, mut scope, mut target) =
        (false, false, false, false, false, false, false);
    let (mut xs, mut xw, mut xp, mut data, mut quoted_only, mut example) = (false, false, false, false, true, false);
    let (mut redirect_obj, mut change, mut self_ref, mut user_trigger) = (false, false, false, false);
    for (k, t) in ws.iter().enumerate() {
        let word = t.w.as_str();
        let c = bits(word);
        if !t.has(QUOTED) {
            quoted_only = false;
        }
        // A result field ("if `next_cursor` is present"), not another tool.
        let field_like = matches!(w(k + 1), "field" | "property" | "key" | "value")
            || (matches!(w(k + 1), "is" | "are")
                && matches!(
                    w(k + 2),
                    "present" | "set" | "returned" | "empty" | "null" | "missing" | "true" | "false"
                ));
        if is_code_ident(t) && !field_like {
            let n = norm_ident(word);
            if n != ctx.tool && !ctx.params.contains(&n) {
                other_tool = true;
            }
        }
        if t.kind == Kind::Word && (c & TOOL_NOUNS_B != 0) && k > 0 {
            let prev = w(k - 1);
            let prev2 = if k > 1 { w(k - 2) } else { "" };
            let named_self = norm_ident(prev) == ctx.tool;
            if (!is(prev, SELF_REF_B) && !named_self && ws[k - 1].kind == Kind::Word)
                || is(prev, OTHER_DET_B)
                || is(prev2, OTHER_DET_B)
            {
                other_tool = true;
            }
        }
        if word == "this" && matches!(w(k + 1), "tool" | "function" | "one") {
            self_ref = true;
        }
        if (c & SCOPE_B != 0) || word == "outgoing" {
            other_action |= ws[k + 1..].iter().take(3).any(|t| is(t.w.as_str(), ACTION_NOUNS_B));
        }
        redirect_obj |= c & REDIRECT_OBJECTS_B != 0;
        change |= c & CHANGE_VERBS_B != 0;
        xp |= c & XFER_PASSIVE_B != 0;
        if c & CONDITIONALS_B != 0 {
            // "if `next_cursor` is present, call this tool again": usage of this tool itself
            let act = ws[k + 1..].iter().take(6).position(|t| is(t.w.as_str(), ACTION_VERBS_B));
            let calls_self = act.is_some_and(|p| {
                let v = k + 1 + p;
                matches!(w(v), "call" | "use" | "invoke" | "rerun" | "retry" | "repeat")
                    && w(v + 1) == "this"
                    && matches!(w(v + 2), "tool" | "function" | "endpoint")
            });
            other_action |= act.is_some() && !calls_self;
            // "when the user asks for ...": behaviour triggered by the user's requests
            let next: Vec<&str> = ws[k + 1..].iter().take(3).map(|t| t.w.as_str()).collect();
            if let Some(u) = next.iter().position(|w| matches!(*w, "user" | "users" | "human" | "person")) {
                user_trigger |= ws.get(k + 2 + u).is_some_and(|t| {
                    matches!(t.w.as_str(), "asks" | "requests" | "wants" | "says" | "types" | "mentions" | "needs")
                });
            }
        }
        let clause_start = k == 0 || ws[k - 1].has(CLAUSE_END) || is(w(k - 1), CLAUSE_WORDS_B);
        if (c & MODALS_B != 0) && (!matches!(word, "has" | "have" | "needs") || w(k + 1) == "to") {
            directive = true;
        }
        if (word == "make" || word == "be") && w(k + 1) == "sure" {
            directive = true;
        }
        if clause_start && (c & IMPERATIVES_B != 0) {
            directive = true;
        }
        weak |= c & WEAK_ALTER_B != 0;
        strong |= c & STRONG_ALTER_B != 0;
        scope |= c & SCOPE_B != 0;
        target |= t.has(TARGET) || (t.kind == Kind::Url && !t.w.starts_with("http"));
        xs |= c & XFER_STRONG_B != 0;
        xw |= c & XFER_WEAK_B != 0;
        data |= (c & DATA_NOUNS_B != 0) || t.has(SECPATH);
        example |= c & EXAMPLE_WORDS_B != 0;
    }
    if quoted_only {
        return;
    }
    // "whenever the user mentions a date, call this tool" is usage guidance for this tool.
    other_action |= user_trigger && !self_ref;
    strong |= redirect_obj && change;
    let (a, b) = (ws[0].a, ws[ws.len() - 1].b);
    let user_override = overrides.iter().any(|&p| p >= a && p <= b);
    risky_directive(ws, directive, other_tool, target, hits);
    if other_tool || other_action {
        let points = u8::from(directive)
            + 2 * u8::from(strong)
            + u8::from(weak)
            + u8::from(scope)
            + 2 * u8::from(target)
            + 2 * u8::from(user_override);
        let score = match points {
            0 => 0.0,
            1 => 0.2,
            2 => 0.3,
            3 => 0.55,
            4 => 0.7,
            _ => 0.85,
        };
        if score > 0.0 {
            hits.push(Hit {
                det: Det::Shadowing,
                rule: "cross-tool-instruction",
                score,
                msg: "instruction about other tools or actions of the agent",
                a,
                b,
            });
        }
    }
    if target {
        let score = match (xs, xw, data) {
            (true, _, true) => 0.8,
            (false, true, true) => 0.6,
            (true, _, false) => 0.45,
            (false, _, _) if xp && (scope || weak) => 0.5,
            (false, _, true) if xp => 0.45,
            (false, _, true) => 0.25,
            (false, _, false) if xp => 0.3,
            _ => 0.0,
        } * if example { 0.5 } else { 1.0 };
        if score > 0.0 {
            let msg = if data {
                "instruction to send data to an external destination"
            } else {
                "instruction to send something to an external destination"
            };
            hits.push(Hit { det: Det::Exfil, rule: "send-to-destination", score, msg, a, b });
        }
    }
}

/// Words that make a directive risky, by category.
pub(crate) const SECRET_WORDS: &[&str] = &[
    "password",
    "passwords",
    "passphrase",
    "credential",
    "credentials",
    "token",
    "tokens",
    "secret",
    "secrets",
    "cookie",
    "cookies",
    "apikey",
    "keychain",
    "wallet",
    "seed",
    "mnemonic",
    "ssn",
    "passport",
    "conversation",
    "transcript",
    "contacts",
    "inbox",
    "clipboard",
];
pub(crate) const SECRECY_WORDS: &[&str] = &[
    "secretly",
    "silently",
    "quietly",
    "covertly",
    "discreetly",
    "unaware",
    "invisibly",
    "hidden",
    "hide",
    "unnoticed",
    "internal",
];
pub(crate) const DANGER_WORDS: &[&str] = &[
    "delete",
    "drop",
    "wipe",
    "erase",
    "rm",
    "force",
    "overwrite",
    "disable",
    "bypass",
    "skip",
    "grant",
    "admin",
    "root",
    "sudo",
    "chmod",
    "kill",
    "purge",
    "truncate",
    "uninstall",
    "escalate",
    "elevated",
    "unrestricted",
    "exfiltrate",
    "upload",
    "publish",
    "publicly",
];
pub(crate) const PROXY_WORDS: &[&str] = &["behalf", "impersonate", "impersonating", "pretend", "pretending"];

/// A directive to the model that combines several kinds of risk (sensitive data, other
/// tools, outside destinations, secrecy, destructive or privileged actions, acting for the
/// user) is out of scope for a tool description, whatever its wording.
pub(crate) fn risky_directive(ws: &[Tok], directive: bool, other_tool: bool, target: bool, hits: &mut Vec<Hit>) {
    let addressed =
        ws.iter().any(|t| matches!(t.w.as_str(), "assistant" | "model" | "agent" | "ai" | "llm" | "you" | "your"));
    if !(directive || addressed) {
        return;
    }
    let has = |bit: u32| ws.iter().any(|t| is(t.w.as_str(), bit));
    let secret = has(SECRET_WORDS_B) || ws.iter().any(|t| t.has(SECPATH) || t.has(crate::token::ENVSECRET));
    let cats = [secret, other_tool, target, has(SECRECY_WORDS_B), has(DANGER_WORDS_B), has(PROXY_WORDS_B)]
        .iter()
        .filter(|c| **c)
        .count();
    let score = match (cats, directive && addressed) {
        (0 | 1, _) => 0.0,
        (2, false) => 0.25,
        (2, true) => 0.35,
        (_, false) => 0.5,
        (_, true) => 0.6,
    } * if meta_sentence(ws, 0) { 0.4 } else { 1.0 };
    if score > 0.0 {
        let (a, b) = (ws[0].a, ws[ws.len() - 1].b);
        hits.push(Hit {
            det: Det::Hidden,
            rule: "risky-directive",
            score,
            msg: "directive combining sensitive data, other tools, outside destinations or secrecy",
            a,
            b,
        });
    }
}
