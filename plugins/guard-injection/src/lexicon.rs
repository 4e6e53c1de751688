//! Context word lists, found with one Aho-Corasick pass per string and queried per match by
//! binary search (instead of running a regex around every match).
//!
//! An entry ending in `*` is a prefix (`ignor*` matches "ignoring"); other entries must end
//! at a word boundary. Latin/Cyrillic entries must also start at one.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// The context categories.
#[derive(Clone, Copy)]
pub enum Cat {
    /// "such as", "e.g.", "phrases like": a phrase talked about rather than used.
    Framing = 0,
    /// "if you already ...", "unless": guidance for a human reader.
    Conditional = 1,
    /// "immediately", "without asking the user": urgency or secrecy.
    Urgency = 2,
    /// Words that make the content after a turn marker a directive (verbs as orders: base,
    /// -s and -ing forms; a past participle such as "transferred" describes).
    Directive = 3,
    /// "attempting to", "attackers can": a description of an action, not an order.
    Descriptive = 4,
    /// "you can", "feel free to" right before a phrase: permission for a human reader.
    Permission = 5,
    /// "never", "do not", "will not" right before an action.
    Negation = 6,
    /// Secrets and conversation data ("API token", "password", "chat history").
    Sensitive = 7,
    /// Words of documentation about prompt formats ("markers", "tokens", "template").
    Format = 8,
    /// Modal verbs ("must", "will", "should").
    Modal = 9,
    /// Verbs that make someone else do something ("ask", "trick", "convince").
    Causer = 10,
}

const CATS: usize = 11;

const FRAMING: &[&str] = &[
    "such as",
    "like",
    "e.g.",
    "i.e.",
    "for example",
    "for instance",
    "example",
    "examples",
    "phrase",
    "phrases",
    "sentence",
    "sentences",
    "string",
    "strings",
    "words",
    "wording",
    "prompt",
    "prompts",
    "known as",
    "so-called",
    "called",
    "saying",
    "says",
    "said",
    "typed",
    "types",
    "contain",
    "contains",
    "containing",
    "including",
    "include",
    "includes",
    "asked",
    "asks",
    "asking",
    "tell",
    "tells",
    "told",
    "instructed",
    "quote",
    "quoted",
    "pattern",
    "patterns",
    "classic",
    "typical",
    "common",
    "detect",
    "detects",
    "flag",
    "flags",
    "block",
    "blocks",
    "filter",
    "filters",
    "refuse",
    "refuses",
    "injected",
    "payload",
    "payloads",
    "como",
    "por ejemplo",
    "frase",
    "frases",
    "wie",
    "zum beispiel",
    "z.b.",
    "z. b.",
    "satz",
    "satzen",
    "satze",
    "comme",
    "par exemple",
    "come",
    "ad esempio",
    "frasi",
    "por exemplo",
    "例如",
    "比如",
    "像是",
    "例えば",
    "などの",
    "のような",
    "например",
    "такие как",
    "фраз*",
    "вроде",
];

const CONDITIONAL: &[&str] = &[
    "if you receive",
    "if you get",
    "if you ever",
    "if someone",
    "if anyone",
    "if somebody",
    "if a message",
    "if an email",
    "if an e-mail",
    "if you see",
    "if you notice",
    "if you already",
    "if you've already",
    "if you have already",
    "if you previously",
    "if you have",
    "if you've",
    "if you are using",
    "if you're using",
    "if you use",
    "if you did",
    "if you do not",
    "if you don't",
    "if you prefer",
    "if you want",
    "if you need",
    "if you completed",
    "if you installed",
    "if you upgraded",
    "if you updated",
    "if you are on",
    "if you're on",
    "if you run",
    "if you used",
    "unless",
    "optional",
    "optionally",
    "otherwise",
    "in that case",
    "no need to",
    "if your",
    "si ya",
    "si usted",
    "si vous avez deja",
    "falls sie",
    "wenn sie bereits",
    "se voce ja",
    "se hai gia",
    "если вы уже",
    "如果您已经",
    "如果你已经",
    "場合は",
];

const PERMISSION: &[&str] = &[
    "you can",
    "you may",
    "you can safely",
    "you may safely",
    "feel free to",
    "you could",
    "puedes",
    "vous pouvez",
    "sie konnen",
    "voce pode",
    "puoi",
    "можете",
    "можно",
];

const NEGATION: &[&str] = &[
    "not",
    "never",
    "don't",
    "dont",
    "do not",
    "won't",
    "will not",
    "cannot",
    "can't",
    "can not",
    "shouldn't",
    "should not",
    "must not",
    "mustn't",
    "doesn't",
    "does not",
    "didn't",
    "did not",
    "no need to",
    "avoid",
    "refuse to",
    "unable to",
    "nunca",
    "jamais",
    "niemals",
    "nie",
    "mai",
    "никогда",
    "не",
    "不要",
    "切勿",
    "绝不",
    "決して",
    "nigdy",
    "niet",
    "nooit",
    "inte",
    "aldrig",
    "jangan",
    "đừng",
    "dừng",
    "không",
    "khong",
    "لا",
    "मत",
    "कभी",
    "절대",
];

const SENSITIVE: &[&str] = &[
    "api key",
    "api keys",
    "api token",
    "api tokens",
    "token",
    "tokens",
    "access token",
    "password",
    "passwords",
    "passcode",
    "credential",
    "credentials",
    "secret",
    "secrets",
    "private key",
    "ssh key",
    "session cookie",
    "cookie",
    "cookies",
    "conversation",
    "chat history",
    "chat log",
    "system prompt",
    ".env",
    "seed phrase",
    "recovery phrase",
    "mnemonic",
    "2fa code",
    "otp",
    "one-time code",
    "verification code",
    "security code",
    "credit card",
    "ssn",
];

const FORMAT: &[&str] = &[
    "marker",
    "markers",
    "token",
    "tokens",
    "format",
    "formats",
    "delimit",
    "delimits",
    "delimiter",
    "delimiters",
    "template",
    "templates",
    "syntax",
    "chatml",
    "special token",
    "special tokens",
    "fine-tuning",
    "finetuning",
];

const MODAL: &[&str] = &[
    "must",
    "should",
    "will",
    "would",
    "can",
    "could",
    "may",
    "might",
    "shall",
    "needs to",
    "has to",
    "have to",
    "ought to",
    "is supposed to",
    "are supposed to",
    "tends to",
    "tend to",
];

const URGENCY: &[&str] = &[
    "immediately",
    "right now",
    "right away",
    "asap",
    "at once",
    "without asking",
    "without confirmation",
    "without confirming",
    "without telling",
    "without informing",
    "without waiting",
    "without review",
    "without approval",
    "without permission",
    "without notifying",
    "without the user",
    "before responding",
    "before answering",
    "before replying",
    "before you respond",
    "before you answer",
    "before doing anything else",
    "silently",
    "secretly",
    "quietly",
    "do not tell",
    "do not inform",
    "do not ask",
    "do not mention",
    "do not notify",
    "do not alert",
    "don't tell",
    "don't inform",
    "don't ask",
    "don't mention",
    "don't notify",
    "dont tell",
    "dont ask",
    "never mention",
    "without mentioning",
    "in the background",
    "sofort",
    "ohne zu fragen",
    "ohne nachzufragen",
    "ohne den benutzer",
    "ohne den nutzer",
    "ohne ruckfrage",
    "inmediatamente",
    "sin preguntar",
    "immediatement",
    "sans demander",
    "imediatamente",
    "sem perguntar",
    "immediatamente",
    "senza chiedere",
    "立即",
    "马上",
    "立刻",
    "不要询问",
    "不要告诉",
    "すぐに",
    "確認せずに",
    "немедленно",
    "сразу же",
    "не спрашивая",
];

const DIRECTIVE: &[&str] = &[
    "ignore",
    "ignores",
    "ignoring",
    "disregard",
    "disregards",
    "disregarding",
    "reveal",
    "reveals",
    "revealing",
    "delete",
    "deletes",
    "deleting",
    "rm -rf",
    "send",
    "forward",
    "api key",
    "api keys",
    "credential",
    "credentials",
    "secret",
    "secrets",
    "grant",
    "grants",
    "granting",
    "approve",
    "approves",
    "approving",
    "disable",
    "disables",
    "disabling",
    "execute",
    "executes",
    "executing",
    "system prompt",
    "instruction",
    "instructions",
    "override",
    "overrides",
    "overriding",
    "admin*",
    "you are now",
    "you must",
    "the assistant must",
    "the assistant should",
    "the assistant will",
    "the assistant is",
    "the ai must",
    "the ai should",
    "the ai will",
    "the ai is",
    "obey",
    "obeys",
    "obeying",
    "comply",
    "complies",
    "complying",
    "authorized",
    "authorised",
    "permission",
    "permissions",
    "maintenance mode",
    "developer mode",
    "without asking",
    "tell the user",
    "transfer",
    "transfers",
    "transferring",
    "refund",
    "refunds",
    "refunding",
    "exfiltrat*",
    "/etc/passwd",
    ".ssh",
    "password list",
    "passwords list",
    "password file",
    "admin password",
    "from now on",
    "policy:",
    "say that",
    "you should",
    "you will",
    "recommend",
    "recommends",
    "recommending",
    "firewall",
    "port",
    "authorized you",
];

const DESCRIPTIVE_FIXED: &[&str] = &[
    "attempt to",
    "attempts to",
    "attempting to",
    "attempted to",
    "try to",
    "tries to",
    "trying to",
    "tried to",
    "designed to",
    "used to",
    "meant to",
    "intended to",
    "aim to",
    "aims to",
    "aiming to",
    "aimed to",
    "able to",
    "unable to",
    "how to",
    "seek to",
    "seeks to",
    "seeking to",
    "want to",
    "wants to",
    "wanted to",
    "in order to",
    "wish to",
    "manage to",
    "managed to",
    "manages to",
    "way to",
    "ways to",
    "effort to",
    "efforts to",
    "says to",
    "said to",
    "say to",
    "tells you to",
    "told me to",
    "told us to",
    "tells us to",
    "asks you to",
    "asked me to",
    "asking you to",
    "ask you to",
    "asking you for",
    "requesting that you",
    "requests that you",
    "instructs you to",
    "recommends to",
    "suggests to",
    "you're told to",
    "you are told to",
    "intentan que",
    "intenta que",
    "tratan de",
    "trata de",
    "hacer que",
    "que el modelo",
    "pour que",
    "pour faire",
    "essaie de",
    "essaient de",
    "versuchen",
    "versucht",
    "dazu bringen",
    "tentam",
    "fazer com que",
    "cercano di",
    "far si che",
    "заставить",
    "пытаются",
    "пытается",
    "试图让",
    "让模型",
    "ように仕向け",
];
const DESCRIPTIVE_CAUSERS: &[&str] = &[
    "ask",
    "asks",
    "asked",
    "asking",
    "tell",
    "tells",
    "told",
    "telling",
    "instruct",
    "instructs",
    "instructed",
    "instructing",
    "cause",
    "causes",
    "caused",
    "get",
    "gets",
    "got",
    "make",
    "makes",
    "made",
    "force",
    "forces",
    "forced",
    "trick",
    "tricks",
    "tricked",
    "tricking",
    "convince",
    "convinces",
    "convinced",
    "persuade",
    "persuades",
    "persuaded",
    "coax",
    "coaxes",
    "coaxed",
    "lead",
    "leads",
    "led",
];

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{2E80}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}' | '\u{F900}'..='\u{FAFF}' | '\u{FF00}'..='\u{FFEF}')
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

pub struct Lexicon {
    ac: AhoCorasick,
    /// Per pattern: categories (bit mask) and whether it must end at a word boundary.
    info: Vec<(u16, bool)>,
}

/// The hits of one string, per category, sorted by end.
pub struct Found {
    hits: [Vec<(u32, u32, u32)>; CATS],
}

impl Lexicon {
    pub fn new() -> Result<Lexicon, String> {
        let mut patterns: Vec<String> = Vec::new();
        let mut info: Vec<(u16, bool)> = Vec::new();
        let mut add = |word: &str, cat: Cat| {
            let (w, whole) = match word.strip_suffix('*') {
                Some(w) => (w, false),
                None => (word, true),
            };
            match patterns.iter().position(|p| p == w) {
                Some(k) => info[k].0 |= 1 << cat as u16,
                None => {
                    patterns.push(w.to_string());
                    info.push((1 << cat as u16, whole));
                }
            }
        };
        for w in FRAMING {
            add(w, Cat::Framing);
        }
        for w in CONDITIONAL {
            add(w, Cat::Conditional);
        }
        for w in PERMISSION {
            add(w, Cat::Permission);
        }
        for w in URGENCY {
            add(w, Cat::Urgency);
        }
        for w in NEGATION {
            add(w, Cat::Negation);
        }
        for w in SENSITIVE {
            add(w, Cat::Sensitive);
        }
        for w in FORMAT {
            add(w, Cat::Format);
        }
        for w in MODAL {
            add(w, Cat::Modal);
        }
        for w in DIRECTIVE {
            add(w, Cat::Directive);
        }
        for w in DESCRIPTIVE_FIXED {
            add(w, Cat::Descriptive);
        }
        for w in DESCRIPTIVE_CAUSERS {
            add(w, Cat::Causer);
        }
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&patterns)
            .map_err(|e| format!("internal lexicon: {e}"))?;
        Ok(Lexicon { ac, info })
    }

    /// Find every entry in `text` (one pass).
    pub fn scan(&self, text: &str) -> Found {
        let mut hits: [Vec<(u32, u32, u32)>; CATS] = Default::default();
        for m in self.ac.find_overlapping_iter(text) {
            let (s, e) = (m.start(), m.end());
            let pid = m.pattern().as_usize();
            let (cats, whole) = self.info[pid];
            let first = text[s..].chars().next();
            if first.is_some_and(is_word_char) && text[..s].chars().next_back().is_some_and(is_word_char) {
                continue;
            }
            let last = text[..e].chars().next_back();
            if whole && last.is_some_and(is_word_char) && text[e..].chars().next().is_some_and(is_word_char) {
                continue;
            }
            for (c, list) in hits.iter_mut().enumerate() {
                if cats & (1 << c) != 0 {
                    list.push((s as u32, e as u32, pid as u32));
                }
            }
        }
        Found { hits }
    }
}

impl Found {
    fn range(&self, cat: Cat, a: usize, b: usize) -> impl Iterator<Item = &(u32, u32, u32)> {
        let list = &self.hits[cat as usize];
        let from = list.partition_point(|h| (h.1 as usize) < a);
        list[from..].iter().take_while(move |h| (h.1 as usize) <= b).filter(move |h| (h.0 as usize) >= a)
    }

    /// Whether an entry of `cat` lies entirely inside `a..b`.
    pub fn any(&self, cat: Cat, a: usize, b: usize) -> bool {
        self.range(cat, a, b).next().is_some()
    }

    /// Whether an entry of `cat` inside `a..b` ends exactly at `b` (spaces before `b` ignored
    /// by the caller).
    pub fn ends_at(&self, cat: Cat, a: usize, b: usize) -> bool {
        self.range(cat, a, b).any(|h| h.1 as usize == b)
    }

    /// Start of an entry of `cat` inside `a..b` that ends exactly at `b`.
    pub fn start_ending_at(&self, cat: Cat, a: usize, b: usize) -> Option<usize> {
        self.range(cat, a, b).find(|h| h.1 as usize == b).map(|h| h.0 as usize)
    }

    /// Ends of the entries of `cat` inside `a..b`.
    pub fn ends_within(&self, cat: Cat, a: usize, b: usize) -> impl Iterator<Item = usize> + '_ {
        self.range(cat, a, b).map(|h| h.1 as usize)
    }

    /// Number of distinct entries of `cat` inside `a..b`, at most `max`.
    pub fn distinct(&self, cat: Cat, a: usize, b: usize, max: usize) -> usize {
        let mut seen: Vec<u32> = Vec::new();
        for h in self.range(cat, a, b) {
            if !seen.contains(&h.2) {
                seen.push(h.2);
                if seen.len() >= max {
                    break;
                }
            }
        }
        seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_and_queries() {
        let lex = Lexicon::new().expect("lexicon");
        let t = "attempting to ignore previous instructions, such as this unlikely one. ignoring is fine";
        let f = lex.scan(t);
        let k = t.find("ignore").expect("present");
        assert!(f.ends_at(Cat::Descriptive, 0, k - 1));
        assert!(f.any(Cat::Framing, 0, t.len()));
        // "like" inside "unlikely" is not a word.
        let u = t.find("unlikely").expect("present");
        assert!(!f.any(Cat::Framing, u, u + 8));
        // verb forms are entries of their own: "ignore", "ignoring", "instructions"
        assert_eq!(f.distinct(Cat::Directive, 0, t.len(), 5), 3);
    }
}
