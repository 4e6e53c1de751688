//! The detectors. Every scan is linear in the text: two forward passes over the
//! bytes, each doing a bounded amount of work per position (token prefixes are
//! dispatched on their first byte, look-backs and look-aheads are capped), and
//! the one unbounded search (the end of a private key block) is cached so it
//! never rescans.

use crate::util::{
    Classes, KeyClass, b64_decode, classify_key_name, classify_phrase, is_alnum, is_b64, is_hex, is_placeholder,
    is_upper_digit, is_url, is_url_dot, is_uuid, is_value_char, is_word, key_words, shannon_entropy,
};

/// A built-in detector (the `secrets.<name>` of a finding), or a custom pattern.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Det {
    AwsAccessKey,
    AwsSecretKey,
    GcpApiKey,
    GoogleOauth,
    AzureStorageKey,
    AzureConnectionString,
    AzureSasToken,
    AzureClientSecret,
    GithubToken,
    GitlabToken,
    SlackToken,
    SlackWebhook,
    StripeKey,
    OpenaiKey,
    AnthropicKey,
    TwilioKey,
    SendgridKey,
    NpmToken,
    PypiToken,
    HuggingfaceToken,
    DiscordToken,
    DiscordWebhook,
    TelegramToken,
    VendorToken,
    PrivateKey,
    Jwt,
    UrlPassword,
    ConnectionString,
    BasicAuth,
    BearerToken,
    GenericSecret,
    Password,
    /// Index into the configured custom patterns.
    Custom(usize),
}

impl Det {
    /// Every built-in detector, in config-name order.
    pub const BUILTIN: [Det; 32] = [
        Det::AwsAccessKey,
        Det::AwsSecretKey,
        Det::GcpApiKey,
        Det::GoogleOauth,
        Det::AzureStorageKey,
        Det::AzureConnectionString,
        Det::AzureSasToken,
        Det::AzureClientSecret,
        Det::GithubToken,
        Det::GitlabToken,
        Det::SlackToken,
        Det::SlackWebhook,
        Det::StripeKey,
        Det::OpenaiKey,
        Det::AnthropicKey,
        Det::TwilioKey,
        Det::SendgridKey,
        Det::NpmToken,
        Det::PypiToken,
        Det::HuggingfaceToken,
        Det::DiscordToken,
        Det::DiscordWebhook,
        Det::TelegramToken,
        Det::VendorToken,
        Det::PrivateKey,
        Det::Jwt,
        Det::UrlPassword,
        Det::ConnectionString,
        Det::BasicAuth,
        Det::BearerToken,
        Det::GenericSecret,
        Det::Password,
    ];

    /// The config name, also the suffix of the finding's `secrets.` detector name.
    pub fn name(self) -> &'static str {
        match self {
            Det::AwsAccessKey => "aws-access-key",
            Det::AwsSecretKey => "aws-secret-key",
            Det::GcpApiKey => "gcp-api-key",
            Det::GoogleOauth => "google-oauth",
            Det::AzureStorageKey => "azure-storage-key",
            Det::AzureConnectionString => "azure-connection-string",
            Det::AzureSasToken => "azure-sas-token",
            Det::AzureClientSecret => "azure-client-secret",
            Det::GithubToken => "github-token",
            Det::GitlabToken => "gitlab-token",
            Det::SlackToken => "slack-token",
            Det::SlackWebhook => "slack-webhook",
            Det::StripeKey => "stripe-key",
            Det::OpenaiKey => "openai-api-key",
            Det::AnthropicKey => "anthropic-api-key",
            Det::TwilioKey => "twilio-api-key",
            Det::SendgridKey => "sendgrid-api-key",
            Det::NpmToken => "npm-token",
            Det::PypiToken => "pypi-token",
            Det::HuggingfaceToken => "huggingface-token",
            Det::DiscordToken => "discord-bot-token",
            Det::DiscordWebhook => "discord-webhook",
            Det::TelegramToken => "telegram-bot-token",
            Det::VendorToken => "vendor-token",
            Det::PrivateKey => "private-key",
            Det::Jwt => "jwt",
            Det::UrlPassword => "url-password",
            Det::ConnectionString => "connection-string-password",
            Det::BasicAuth => "basic-auth",
            Det::BearerToken => "bearer-token",
            Det::GenericSecret => "generic-secret",
            Det::Password => "password",
            Det::Custom(_) => "custom",
        }
    }

    /// Position in [`Det::BUILTIN`] (custom patterns have none).
    pub fn index(self) -> Option<usize> {
        Det::BUILTIN.iter().position(|&d| d == self)
    }
}

/// One detected credential: `text[start..end]` is the secret itself (what a
/// redaction replaces); `what` names it for the finding message.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub det: Det,
    pub what: &'static str,
    pub start: usize,
    pub end: usize,
    pub score: f32,
}

/// Extra validation of a prefixed token's body.
#[derive(Clone, Copy, PartialEq)]
enum Check {
    /// Not a placeholder, at least two of lower/upper/digit.
    Plain,
    /// `sk-…`: OpenAI-style keys.
    OpenAi,
    /// `SG.<22>.<43>`.
    Sendgrid,
    /// Slack tokens carry numeric ids.
    Slack,
    /// PyPI macaroons start with a fixed header.
    Pypi,
    /// Stripe test-mode keys: still secrets, lower score.
    StripeTest,
    /// URL-encoded characters expected (X bearer tokens; plain runs of `A` are base64 zeros).
    Percent,
}

struct Rule {
    prefix: &'static str,
    det: Det,
    what: &'static str,
    /// Characters of the body after the prefix.
    cs: Cs,
    min: usize,
    max: usize,
    score: f32,
    check: Check,
    /// The prefix is a field name (`AccountKey=`): the secret is only the body.
    value_only: bool,
}

const fn rule(prefix: &'static str, det: Det, what: &'static str, cs: Cs, min: usize, max: usize) -> Rule {
    Rule { prefix, det, what, cs, min, max, score: 0.95, check: Check::Plain, value_only: false }
}

fn is_azure_secret(b: u8) -> bool {
    is_url_dot(b) || b == b'~'
}

/// Character sets of token bodies; runs over them are memoized per scan.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cs {
    Alnum,
    Url,
    UrlDot,
    UrlDotEq,
    Word,
    B64,
    B64Pct,
    Hex,
    UpperDigit,
}

impl Cs {
    const COUNT: usize = 9;

    fn test(self, b: u8) -> bool {
        match self {
            Cs::Alnum => is_alnum(b),
            Cs::Url => is_url(b),
            Cs::UrlDot => is_url_dot(b),
            Cs::UrlDotEq => is_url_dot(b) || b == b'=',
            Cs::Word => is_word(b),
            Cs::B64 => is_b64(b),
            Cs::B64Pct => is_b64(b) || b == b'%',
            Cs::Hex => is_hex(b),
            Cs::UpperDigit => is_upper_digit(b),
        }
    }
}

/// Tokens recognised by a fixed prefix. Within a first byte, longer prefixes
/// are tried first (see [`Engine::new`]).
const RULES: &[Rule] = &[
    // AWS access key ids (long-term AKIA, temporary ASIA, and the rarer credential kinds).
    rule("AKIA", Det::AwsAccessKey, "AWS access key id", Cs::UpperDigit, 16, 16),
    Rule { score: 0.9, ..rule("ASIA", Det::AwsAccessKey, "AWS temporary access key id", Cs::UpperDigit, 16, 16) },
    Rule { score: 0.85, ..rule("ABIA", Det::AwsAccessKey, "AWS STS service bearer token id", Cs::UpperDigit, 16, 16) },
    Rule {
        score: 0.85,
        ..rule("ACCA", Det::AwsAccessKey, "AWS context-specific credential id", Cs::UpperDigit, 16, 16)
    },
    // Google.
    Rule { score: 0.9, ..rule("AIza", Det::GcpApiKey, "Google API key", Cs::Url, 35, 35) },
    rule("GOCSPX-", Det::GoogleOauth, "Google OAuth client secret", Cs::Url, 28, 28),
    Rule { score: 0.9, ..rule("ya29.", Det::GoogleOauth, "Google OAuth access token", Cs::UrlDot, 20, 4096) },
    Rule { score: 0.8, ..rule("1//0", Det::GoogleOauth, "Google OAuth refresh token", Cs::Url, 30, 1024) },
    // Azure connection-string fields.
    Rule {
        value_only: true,
        ..rule("AccountKey=", Det::AzureStorageKey, "Azure storage account key", Cs::B64, 40, 100)
    },
    Rule {
        value_only: true,
        ..rule("SharedAccessKey=", Det::AzureConnectionString, "Azure shared access key", Cs::B64, 40, 100)
    },
    Rule {
        value_only: true,
        score: 0.85,
        ..rule("sig=", Det::AzureSasToken, "Azure SAS token signature", Cs::B64Pct, 30, 200)
    },
    // GitHub.
    rule("ghp_", Det::GithubToken, "GitHub personal access token", Cs::Alnum, 30, 255),
    rule("gho_", Det::GithubToken, "GitHub OAuth token", Cs::Alnum, 30, 255),
    rule("ghu_", Det::GithubToken, "GitHub user-to-server token", Cs::Alnum, 30, 255),
    rule("ghs_", Det::GithubToken, "GitHub server-to-server token", Cs::Alnum, 30, 255),
    rule("ghr_", Det::GithubToken, "GitHub refresh token", Cs::Alnum, 30, 255),
    rule("github_pat_", Det::GithubToken, "GitHub fine-grained personal access token", Cs::Word, 50, 255),
    // GitLab.
    rule("glpat-", Det::GitlabToken, "GitLab personal access token", Cs::UrlDot, 20, 255),
    rule("gldt-", Det::GitlabToken, "GitLab deploy token", Cs::UrlDot, 20, 255),
    rule("glrt-", Det::GitlabToken, "GitLab runner token", Cs::UrlDot, 20, 255),
    rule("glptt-", Det::GitlabToken, "GitLab pipeline trigger token", Cs::UrlDot, 20, 255),
    rule("glft-", Det::GitlabToken, "GitLab feed token", Cs::UrlDot, 20, 255),
    rule("glcbt-", Det::GitlabToken, "GitLab CI/CD job token", Cs::UrlDot, 20, 255),
    rule("gloas-", Det::GitlabToken, "GitLab OAuth application secret", Cs::UrlDot, 20, 255),
    rule("GR1348941", Det::GitlabToken, "GitLab runner registration token", Cs::Url, 20, 255),
    // Slack.
    Rule { check: Check::Slack, ..rule("xoxb-", Det::SlackToken, "Slack bot token", Cs::Url, 20, 255) },
    Rule { check: Check::Slack, ..rule("xoxp-", Det::SlackToken, "Slack user token", Cs::Url, 20, 255) },
    Rule { check: Check::Slack, ..rule("xoxa-", Det::SlackToken, "Slack app token", Cs::Url, 20, 255) },
    Rule { check: Check::Slack, ..rule("xoxr-", Det::SlackToken, "Slack refresh token", Cs::Url, 20, 255) },
    Rule { check: Check::Slack, ..rule("xoxs-", Det::SlackToken, "Slack session token", Cs::Url, 20, 255) },
    Rule { check: Check::Slack, ..rule("xoxe.xoxp-", Det::SlackToken, "Slack user token", Cs::Url, 20, 255) },
    Rule { check: Check::Slack, ..rule("xoxe-", Det::SlackToken, "Slack refresh token", Cs::Url, 20, 255) },
    Rule { check: Check::Slack, ..rule("xapp-", Det::SlackToken, "Slack app-level token", Cs::Url, 20, 255) },
    // Stripe.
    rule("sk_live_", Det::StripeKey, "Stripe live secret key", Cs::Alnum, 10, 255),
    rule("rk_live_", Det::StripeKey, "Stripe live restricted key", Cs::Alnum, 10, 255),
    Rule {
        score: 0.6,
        check: Check::StripeTest,
        ..rule("sk_test_", Det::StripeKey, "Stripe test-mode secret key", Cs::Alnum, 10, 255)
    },
    Rule {
        score: 0.6,
        check: Check::StripeTest,
        ..rule("rk_test_", Det::StripeKey, "Stripe test-mode restricted key", Cs::Alnum, 10, 255)
    },
    Rule { score: 0.9, ..rule("whsec_", Det::StripeKey, "Stripe webhook signing secret", Cs::Alnum, 24, 255) },
    // AI providers (longer prefixes win: sk-ant- before sk-).
    rule("sk-ant-", Det::AnthropicKey, "Anthropic API key", Cs::Url, 32, 255),
    Rule { check: Check::OpenAi, ..rule("sk-", Det::OpenaiKey, "OpenAI-style API key", Cs::Url, 32, 255) },
    Rule { score: 0.9, ..rule("hf_", Det::HuggingfaceToken, "Hugging Face access token", Cs::Alnum, 30, 40) },
    Rule {
        score: 0.85,
        ..rule("api_org_", Det::HuggingfaceToken, "Hugging Face organization token", Cs::Alnum, 30, 40)
    },
    Rule { score: 0.9, ..rule("r8_", Det::VendorToken, "Replicate API token", Cs::Alnum, 37, 40) },
    Rule { score: 0.9, ..rule("gsk_", Det::VendorToken, "Groq API key", Cs::Alnum, 50, 56) },
    Rule { score: 0.9, ..rule("xai-", Det::VendorToken, "xAI API key", Cs::Alnum, 70, 90) },
    Rule { score: 0.9, ..rule("pplx-", Det::VendorToken, "Perplexity API key", Cs::Alnum, 40, 60) },
    Rule { score: 0.9, ..rule("lsv2_pt_", Det::VendorToken, "LangSmith API key", Cs::Word, 40, 80) },
    Rule { score: 0.9, ..rule("lsv2_sk_", Det::VendorToken, "LangSmith service key", Cs::Word, 40, 80) },
    // Messaging and email.
    Rule { score: 0.75, ..rule("SK", Det::TwilioKey, "Twilio API key SID", Cs::Hex, 32, 32) },
    Rule { check: Check::Sendgrid, ..rule("SG.", Det::SendgridKey, "SendGrid API key", Cs::UrlDot, 66, 66) },
    Rule { score: 0.8, ..rule("key-", Det::VendorToken, "Mailgun API key", Cs::Alnum, 32, 32) },
    // Package registries.
    rule("npm_", Det::NpmToken, "npm access token", Cs::Alnum, 36, 36),
    Rule { check: Check::Pypi, ..rule("pypi-", Det::PypiToken, "PyPI API token", Cs::Url, 50, 512) },
    rule("rubygems_", Det::VendorToken, "RubyGems API key", Cs::Hex, 48, 48),
    // Infrastructure and SaaS.
    rule("dop_v1_", Det::VendorToken, "DigitalOcean personal access token", Cs::Hex, 64, 64),
    rule("doo_v1_", Det::VendorToken, "DigitalOcean OAuth token", Cs::Hex, 64, 64),
    rule("dor_v1_", Det::VendorToken, "DigitalOcean refresh token", Cs::Hex, 64, 64),
    Rule { score: 0.9, ..rule("hvs.", Det::VendorToken, "HashiCorp Vault token", Cs::Url, 24, 255) },
    Rule { score: 0.9, ..rule("hvb.", Det::VendorToken, "HashiCorp Vault batch token", Cs::Url, 24, 255) },
    rule("shpat_", Det::VendorToken, "Shopify access token", Cs::Hex, 32, 32),
    rule("shpca_", Det::VendorToken, "Shopify custom app token", Cs::Hex, 32, 32),
    rule("shppa_", Det::VendorToken, "Shopify private app token", Cs::Hex, 32, 32),
    rule("shpss_", Det::VendorToken, "Shopify shared secret", Cs::Hex, 32, 32),
    Rule { score: 0.9, ..rule("glc_", Det::VendorToken, "Grafana Cloud token", Cs::UrlDotEq, 32, 400) },
    Rule { score: 0.9, ..rule("glsa_", Det::VendorToken, "Grafana service account token", Cs::Word, 32, 80) },
    Rule { score: 0.9, ..rule("sntrys_", Det::VendorToken, "Sentry auth token", Cs::UrlDotEq, 50, 400) },
    Rule { score: 0.9, ..rule("sntryu_", Det::VendorToken, "Sentry user token", Cs::Hex, 64, 64) },
    Rule { score: 0.85, ..rule("dapi", Det::VendorToken, "Databricks access token", Cs::Hex, 32, 32) },
    Rule { score: 0.9, ..rule("ATATT3", Det::VendorToken, "Atlassian API token", Cs::UrlDotEq, 100, 300) },
    rule("lin_api_", Det::VendorToken, "Linear API key", Cs::Alnum, 40, 40),
    Rule { score: 0.9, ..rule("PMAK-", Det::VendorToken, "Postman API key", Cs::Url, 59, 64) },
    Rule { score: 0.9, ..rule("NRAK-", Det::VendorToken, "New Relic user API key", Cs::UpperDigit, 27, 27) },
    Rule { score: 0.9, ..rule("sq0atp-", Det::VendorToken, "Square access token", Cs::Url, 22, 22) },
    Rule { score: 0.9, ..rule("sq0csp-", Det::VendorToken, "Square OAuth secret", Cs::Url, 43, 43) },
    Rule { score: 0.9, ..rule("figd_", Det::VendorToken, "Figma personal access token", Cs::Url, 40, 60) },
    Rule { score: 0.99, ..rule("AGE-SECRET-KEY-1", Det::PrivateKey, "age secret key", Cs::UpperDigit, 58, 58) },
    Rule { score: 0.9, ..rule("pscale_pw_", Det::VendorToken, "PlanetScale password", Cs::UrlDot, 32, 64) },
    Rule { score: 0.9, ..rule("pscale_tkn_", Det::VendorToken, "PlanetScale token", Cs::UrlDot, 32, 64) },
    Rule { score: 0.9, ..rule("sbp_", Det::VendorToken, "Supabase access token", Cs::Hex, 40, 40) },
    Rule { score: 0.9, ..rule("dp.pt.", Det::VendorToken, "Doppler token", Cs::Alnum, 40, 44) },
    Rule { score: 0.9, ..rule("dp.st.", Det::VendorToken, "Doppler service token", Cs::UrlDot, 40, 80) },
    Rule { score: 0.9, ..rule("fo1_", Det::VendorToken, "Fly.io token", Cs::Url, 40, 50) },
    Rule { score: 0.9, ..rule("ntn_", Det::VendorToken, "Notion integration token", Cs::Alnum, 40, 50) },
    Rule { score: 0.85, ..rule("secret_", Det::VendorToken, "Notion integration token", Cs::Alnum, 43, 43) },
    Rule { score: 0.9, ..rule("pul-", Det::VendorToken, "Pulumi access token", Cs::Hex, 40, 40) },
    Rule { score: 0.9, ..rule("HRKU-", Det::VendorToken, "Heroku API key", Cs::Url, 30, 80) },
    Rule { score: 0.9, ..rule("dt0c01.", Det::VendorToken, "Dynatrace API token", Cs::UrlDot, 80, 100) },
    Rule { score: 0.9, ..rule("sk.eyJ", Det::VendorToken, "Mapbox secret token", Cs::UrlDot, 60, 400) },
    Rule { score: 0.8, ..rule("sl.", Det::VendorToken, "Dropbox access token", Cs::Url, 130, 1400) },
    Rule {
        score: 0.85,
        check: Check::Percent,
        ..rule("AAAAAAAAAAAAAAAAAAAAA", Det::VendorToken, "Twitter/X bearer token", Cs::B64Pct, 40, 200)
    },
];

/// Tunables of the context (entropy) detectors.
#[derive(Clone, Copy, Debug)]
pub struct EntropyOpts {
    /// Shortest value considered by the generic detector.
    pub min_length: usize,
    /// Minimum Shannon entropy (bits per character) of a generic secret value;
    /// hex values use this minus 0.5 (their alphabet is smaller).
    pub min_bits: f64,
}

impl Default for EntropyOpts {
    fn default() -> Self {
        EntropyOpts { min_length: 16, min_bits: 3.3 }
    }
}

/// Compiled detector state, built once in `configure`.
pub struct Engine {
    /// Indices into [`RULES`] by the first byte of their prefix, longest prefix first.
    buckets: Vec<Vec<u16>>,
    pub entropy: EntropyOpts,
}

impl Engine {
    pub fn new(entropy: EntropyOpts) -> Engine {
        let mut buckets: Vec<Vec<u16>> = vec![Vec::new(); 256];
        for (i, r) in RULES.iter().enumerate() {
            buckets[r.prefix.as_bytes()[0] as usize].push(i as u16);
        }
        for b in &mut buckets {
            b.sort_by_key(|&i| std::cmp::Reverse(RULES[i as usize].prefix.len()));
        }
        Engine { buckets, entropy }
    }

    /// All credentials in `text`. `key` is the name the text is stored under in
    /// its JSON payload (the last useful segment of its JSON Pointer), if any.
    pub fn scan(&self, text: &str, key: Option<&str>) -> Vec<Hit> {
        let mut s = Scan {
            e: self,
            t: text,
            b: text.as_bytes(),
            hits: Vec::new(),
            end_cache: None,
            b64_40: Vec::new(),
            runs: [[(usize::MAX, 0); RUN_MEMO]; Cs::COUNT],
            discord_context: None,
        };
        s.tokens();
        s.assignments();
        if let Some(key) = key {
            s.whole_value(key);
        }
        s.aws_pairs();
        s.hits
    }
}

struct Scan<'a> {
    e: &'a Engine,
    t: &'a str,
    b: &'a [u8],
    hits: Vec<Hit>,
    /// Position of the next `-----END` at or after some offset (see `private_key`).
    end_cache: Option<(usize, Option<usize>)>,
    /// Standalone 40-character base64 words: AWS secret keys if an access key id is near.
    b64_40: Vec<(usize, usize)>,
    /// Per character set, the last few maximal runs computed: `(from, end)`
    /// means every byte of `from..end` is in the set and `end` is not.
    runs: [[(usize, usize); RUN_MEMO]; Cs::COUNT],
    /// Whether the text mentions Discord, once asked.
    discord_context: Option<bool>,
}

/// Runs remembered per character set: enough for the segments of one token
/// (a JWT has up to five) to be looked up again from later token starts.
const RUN_MEMO: usize = 6;

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == b'\n' || b == b'\r'
}

fn starts_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle)
}

/// Is `i` just after a JSON/C escape such as `\n` or `\t` (text that is itself
/// serialized JSON keeps them as two characters)?
fn escape_before(b: &[u8], i: usize) -> bool {
    i >= 2 && b[i - 2] == b'\\' && matches!(b[i - 1], b'n' | b't' | b'r') && (i < 3 || b[i - 3] != b'\\')
}

/// Can a token start at `i` (not in the middle of a word)?
fn boundary_before(b: &[u8], i: usize) -> bool {
    i == 0 || !is_alnum(b[i - 1]) || escape_before(b, i)
}

/// Span of `[start, …)` over bytes satisfying `f`, at most `max` long.
fn run(b: &[u8], start: usize, max: usize, f: impl Fn(u8) -> bool) -> usize {
    let mut e = start;
    while e < b.len() && e - start < max && f(b[e]) {
        e += 1;
    }
    e
}

/// Number of switches between upper and lower case letters.
fn case_switches(v: &[u8]) -> usize {
    let mut n = 0;
    let mut prev: Option<bool> = None;
    for &c in v {
        if c.is_ascii_alphabetic() {
            let up = c.is_ascii_uppercase();
            if prev.is_some_and(|p| p != up) {
                n += 1;
            }
            prev = Some(up);
        }
    }
    n
}

/// `db-credentials`, `PROD_API_KEY`, `my.app.secret`: names, not secrets.
fn is_slug(v: &[u8]) -> bool {
    let parts: Vec<&[u8]> = v.split(|&c| c == b'-' || c == b'_' || c == b'.').filter(|p| !p.is_empty()).collect();
    if parts.len() < 2 {
        return false;
    }
    // Parts that read as words, numbers or constant names (`TLS13`, `SHA256`).
    let wordy = |p: &[u8]| {
        let c = Classes::of(p);
        let vowels = p.iter().filter(|c| b"aeiouyAEIOUY".contains(c)).count();
        (p.iter().all(u8::is_ascii_lowercase) && (p.len() <= 12 || vowels * 4 >= p.len()))
            || p.iter().all(u8::is_ascii_digit)
            || (p.len() <= 10 && p.iter().all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit()) && c.upper >= c.digit)
            || (p.len() <= 12 && p[0].is_ascii_uppercase() && p[1..].iter().all(u8::is_ascii_lowercase))
            || (p.len() <= 3 && c.upper == 0)
    };
    let wordy_len: usize = parts.iter().filter(|p| wordy(p)).map(|p| p.len()).sum();
    let total: usize = parts.iter().map(|p| p.len()).sum();
    wordy_len * 10 >= total * 6
}

/// Keyboard-mash filler of hand-written examples: `12345678`, `abcdefgh`, `qwertyui`.
fn has_sequence(v: &[u8]) -> bool {
    let mut run = 1;
    for w in v.windows(2) {
        run = if w[1] == w[0].wrapping_add(1) && w[1].is_ascii_alphanumeric() { run + 1 } else { 1 };
        if run >= 8 {
            return true;
        }
    }
    let lower = v.to_ascii_lowercase();
    lower.windows(6).any(|w| w == b"qwerty" || w == b"asdfgh")
}

/// Value-shaped things that are not secrets whatever their name says.
fn is_benign_shape(v: &[u8]) -> bool {
    let lower = String::from_utf8_lossy(v).to_ascii_lowercase();
    const PREFIXES: &[&str] = &[
        "data:",
        "ssh-",
        "ecdsa-",
        "sha1-",
        "sha256-",
        "sha384-",
        "sha512-",
        "sha1:",
        "sha256:",
        "sha512:",
        "md5:",
        "md5-",
        "./",
        "../",
        "~/",
        "$2a$",
        "$2b$",
        "$2y$",
        "$argon2",
        "$1$",
        "$5$",
        "$6$",
        "pbkdf2",
        "bcrypt",
        "scrypt",
        "http:",
        "https:",
        "file:",
        "arn:",
        "projects/",
        "vault:",
        "env:",
        "secret:",
        "ref+",
    ];
    if PREFIXES.iter().any(|p| lower.starts_with(p)) || lower.contains("://") || lower.contains('\\') {
        return true;
    }
    if is_uuid(v) {
        return true;
    }
    // Absolute paths (a random base64 value may also start with a slash).
    if v.first() == Some(&b'/') && (v.contains(&b'.') || Classes::of(v).kinds() < 3) {
        return true;
    }
    // Dotted paths and file names with a slash.
    if v.contains(&b'/') && v.contains(&b'.') {
        return true;
    }
    // Versions: 1.2.3, v2.0.1-beta.4+build.5.
    let digits_start = v.strip_prefix(b"v").unwrap_or(v);
    if digits_start.first().is_some_and(u8::is_ascii_digit) {
        let head = run(digits_start, 0, 64, |c| c.is_ascii_digit() || c == b'.');
        let dots = digits_start[..head].iter().filter(|&&c| c == b'.').count();
        let rest = &digits_start[head..];
        if dots >= 1 && head > 2 && (rest.is_empty() || matches!(rest[0], b'-' | b'+' | b'_')) {
            return true;
        }
    }
    false
}

impl Scan<'_> {
    fn push(&mut self, det: Det, what: &'static str, start: usize, end: usize, score: f32) {
        if end > start {
            self.hits.push(Hit { det, what, start, end, score });
        }
    }

    /// End of the maximal run of `cs` bytes starting at `from`. Memoized, so
    /// that token starts inside a long run (`eyJ-eyJ-…`) do not rescan it.
    fn run_cs(&mut self, from: usize, cs: Cs) -> usize {
        let memo = &mut self.runs[cs as usize];
        if let Some(&(_, end)) = memo.iter().find(|&&(f, e)| f <= from && from <= e && f != usize::MAX) {
            return end;
        }
        let end = run(self.b, from, usize::MAX, |c| cs.test(c));
        memo.rotate_right(1);
        memo[0] = (from, end);
        end
    }

    /// Pass 1: recognisers anchored at the start of a token.
    fn tokens(&mut self) {
        let b = self.b;
        let n = b.len();
        let mut i = 0;
        while i < n {
            let c = b[i];
            let start_of_token =
                if c == b'-' { i == 0 || b[i - 1] != b'-' } else { c.is_ascii_alphanumeric() && boundary_before(b, i) };
            if !start_of_token {
                i += 1;
                continue;
            }
            let next = match c {
                b'-' => self.private_key(i),
                _ => self
                    .prefixed(i)
                    .or_else(|| self.jwt(i))
                    .or_else(|| self.url(i))
                    .or_else(|| self.telegram(i))
                    .or_else(|| self.auth_scheme(i))
                    .or_else(|| self.discord(i))
                    .or_else(|| self.azure_client_secret(i))
                    .or_else(|| self.putty(i))
                    .or_else(|| self.b64_pem(i))
                    .or_else(|| self.mailchimp(i))
                    .or_else(|| self.fcm(i)),
            };
            if next.is_none() && (c.is_ascii_alphanumeric() || c == b'+' || c == b'/') {
                self.b64_candidate(i);
            }
            i = match next {
                Some(e) if e > i => e,
                _ => i + 1,
            };
        }
    }

    /// Prefix-table tokens.
    fn prefixed(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        for &ri in &self.e.buckets[b[i] as usize] {
            let r = &RULES[ri as usize];
            if !b[i..].starts_with(r.prefix.as_bytes()) {
                continue;
            }
            let bs = i + r.prefix.len();
            let mut e = self.run_cs(bs, r.cs);
            // A sentence-ending dot or dash is not part of the token.
            while e > bs && (b[e - 1] == b'.' || b[e - 1] == b'-') && r.cs.test(b'.') {
                e -= 1;
            }
            let len = e - bs;
            if len < r.min || len > r.max || (e < b.len() && is_alnum(b[e])) {
                continue;
            }
            let body = &b[bs..e];
            let cls = Classes::of(body);
            if is_placeholder(body) || cls.kinds() < 2 {
                continue;
            }
            let mut score = r.score;
            let mut what = r.what;
            match r.check {
                Check::Plain | Check::StripeTest => {}
                Check::OpenAi => {
                    let marked = body.windows(8).any(|w| w == b"T3BlbkFJ")
                        || ["proj-", "svcacct-", "admin-", "or-v1-"].iter().any(|p| body.starts_with(p.as_bytes()));
                    if marked {
                        if body.starts_with(b"or-v1-") {
                            what = "OpenRouter API key";
                        }
                    } else if cls.digit == 0 || is_slug(body) || body.contains(&b'_') && body.contains(&b'-') {
                        continue;
                    } else {
                        score = 0.8;
                    }
                }
                Check::Sendgrid => {
                    if body.get(22) != Some(&b'.') || body.iter().filter(|&&c| c == b'.').count() != 1 {
                        continue;
                    }
                }
                Check::Slack => {
                    if body.iter().filter(|c| c.is_ascii_digit()).count() < 4 {
                        continue;
                    }
                }
                Check::Percent => {
                    if !body.contains(&b'%') {
                        continue;
                    }
                }
                Check::Pypi => {
                    if !body.starts_with(b"AgE") {
                        score = 0.8;
                    }
                }
            }
            let start = if r.value_only { bs } else { i };
            self.push(r.det, what, start, e, score);
            return Some(e);
        }
        None
    }

    /// `eyJ…` JSON Web Tokens (and JWE): the header must decode to JSON with `alg`.
    fn jwt(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        if !b[i..].starts_with(b"eyJ") {
            return None;
        }
        // Up to five base64url segments separated by single dots.
        let mut bounds = vec![(i, self.run_cs(i, Cs::Url))];
        while bounds.len() < 6 {
            let (_, last_end) = bounds[bounds.len() - 1];
            if b.get(last_end) != Some(&b'.') {
                break;
            }
            let next_end = self.run_cs(last_end + 1, Cs::Url);
            bounds.push((last_end + 1, next_end));
        }
        // A trailing sentence dot leaves an empty last segment.
        if bounds.len() > 3 && bounds[bounds.len() - 1].0 == bounds[bounds.len() - 1].1 {
            bounds.pop();
        }
        let e = bounds[bounds.len() - 1].1;
        let parts: Vec<&[u8]> = bounds.iter().map(|&(s, e)| &b[s..e]).collect();
        if !(parts.len() == 3 || parts.len() == 5)
            || parts[0].len() < 10
            || parts[0].len() > 4096
            || parts[1].len() < 4
            || parts[1].len() > 65536
        {
            return None;
        }
        let header = b64_decode(parts[0])?;
        let header: serde_json::Value = serde_json::from_slice(&header).ok()?;
        header.get("alg").and_then(|a| a.as_str())?;
        let body_ok = parts.len() == 5
            || b64_decode(parts[1]).is_some_and(|p| serde_json::from_slice::<serde_json::Value>(&p).is_ok());
        let signed = parts[parts.len() - 1].len() >= 16;
        let score = match (body_ok, signed) {
            (true, true) => 0.9,
            (true, false) => 0.75,
            _ => 0.6,
        };
        self.push(Det::Jwt, "JSON Web Token", i, e, score);
        Some(e)
    }

    /// `-----BEGIN … PRIVATE KEY-----` blocks (PKCS#1/#8, EC, DSA, OpenSSH, PGP),
    /// with at least a line's worth of key material (so prose naming the header,
    /// and templates with `...` bodies, are not findings).
    fn private_key(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        const BEGIN: &[u8] = b"-----BEGIN ";
        if !b[i..].starts_with(BEGIN) {
            return None;
        }
        let ls = i + BEGIN.len();
        let le = run(b, ls, 48, |c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b' ');
        let label = &b[ls..le];
        if !(label.ends_with(b"PRIVATE KEY") || label.ends_with(b"PRIVATE KEY BLOCK")) || !b[le..].starts_with(b"-----")
        {
            return None;
        }
        let body_start = le + 5;
        // The END line of this block, if it is near enough to be its own.
        let end_marker = self.next_end(body_start).filter(|&m| m - body_start <= 32 * 1024);
        let body_end = end_marker.unwrap_or_else(|| (body_start + 16384).min(b.len()));
        // Count key material: base64 runs of line length (prose words are
        // shorter), skipping whitespace, literal `\n` escapes and armor headers.
        let mut k = body_start;
        let mut material = 0;
        let mut run_len = 0;
        let mut last = body_start;
        while k < body_end {
            let c = b[k];
            if is_b64(c) {
                run_len += 1;
                k += 1;
                continue;
            }
            if run_len >= 20 {
                material += run_len;
                last = k;
            }
            run_len = 0;
            if c == b'\\' && matches!(b.get(k + 1), Some(b'n' | b'r')) {
                k += 2;
                continue;
            }
            // Another armor line (a second BEGIN): this block ends here.
            if b[k..].starts_with(b"-----") {
                break;
            }
            if !is_space(c) && !matches!(c, b':' | b',' | b'-' | b'"') && end_marker.is_none() {
                break;
            }
            k += 1;
        }
        if run_len >= 20 {
            material += run_len;
            last = k;
        }
        if material < 64 {
            return Some(body_start);
        }
        let end = match end_marker {
            Some(m) => {
                let after = run(b, m + 8, 60, |c| c != b'\n' && c != b'\\' && c != b'"');
                let close = self.t[m + 8..after].find("-----").map_or(after, |p| m + 8 + p + 5);
                close.max(m + 8)
            }
            None => last,
        };
        let what = if label.starts_with(b"PGP") {
            "PGP private key block"
        } else if label.starts_with(b"OPENSSH") {
            "OpenSSH private key"
        } else if label.starts_with(b"ENCRYPTED") {
            "encrypted private key"
        } else {
            "private key"
        };
        self.push(Det::PrivateKey, what, i, end, 0.99);
        Some(end)
    }

    /// Position of the first `-----END` at or after `from`, cached so a text
    /// with many BEGIN lines is still searched once.
    fn next_end(&mut self, from: usize) -> Option<usize> {
        if let Some((searched_from, found)) = self.end_cache
            && from >= searched_from
            && found.is_none_or(|f| f >= from)
        {
            return found;
        }
        let found = self.t.get(from..).and_then(|s| s.find("-----END")).map(|p| p + from);
        self.end_cache = Some((from, found));
        found
    }

    /// PuTTY private key files.
    fn putty(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        if !b[i..].starts_with(b"PuTTY-User-Key-File-") {
            return None;
        }
        let window = self.t.get(i..(i + 8192).min(b.len()))?;
        let p = window.find("Private-Lines:")? + i + 14;
        let mut e = p;
        let mut material = 0;
        while e < b.len() && e - p < 8192 && (is_b64(b[e]) || is_space(b[e])) {
            material += usize::from(is_b64(b[e]));
            e += 1;
        }
        if material < 64 {
            return None;
        }
        self.push(Det::PrivateKey, "PuTTY private key", i, e, 0.95);
        Some(e)
    }

    /// A base64-encoded PEM private key (kubeconfig `client-key-data`, CI variables).
    fn b64_pem(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        if !b[i..].starts_with(b"LS0tLS1CRUdJTi") {
            return None;
        }
        let e = self.run_cs(i, Cs::B64);
        let head = &b[i..e.min(i + 120)];
        let head = &head[..head.len() / 4 * 4];
        let decoded = b64_decode(head)?;
        if e - i < 200 || !decoded.windows(11).any(|w| w == b"PRIVATE KEY") {
            return None;
        }
        self.push(Det::PrivateKey, "base64-encoded private key", i, e, 0.95);
        Some(e)
    }

    /// Mailchimp API keys: 32 hex digits and a `-us<N>` data-center suffix.
    fn mailchimp(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        if !is_hex(b[i]) {
            return None;
        }
        let h = run(b, i, 33, is_hex);
        if h - i != 32 || !b[h..].starts_with(b"-us") {
            return None;
        }
        let e = run(b, h + 3, 3, |c| c.is_ascii_digit());
        if e == h + 3 || b.get(e).is_some_and(|&c| is_alnum(c)) || Classes::of(&b[i..h]).kinds() < 2 {
            return None;
        }
        self.push(Det::VendorToken, "Mailchimp API key", i, e, 0.9);
        Some(e)
    }

    /// Firebase Cloud Messaging legacy server keys: `AAAA…:APA91b…`.
    fn fcm(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        if !b[i..].starts_with(b"AAAA") {
            return None;
        }
        let c = run(b, i, 12, is_url);
        if c - i != 11 || !b[c..].starts_with(b":APA91b") {
            return None;
        }
        let e = run(b, c + 7, 200, is_url);
        if e - c - 7 < 100 {
            return None;
        }
        self.push(Det::VendorToken, "Firebase Cloud Messaging server key", i, e, 0.9);
        Some(e)
    }

    /// `scheme://user:password@host`, and webhook URLs whose path is the secret.
    fn url(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        if !b[i].is_ascii_alphabetic() {
            return None;
        }
        let se = run(b, i, 24, |c| c.is_ascii_alphanumeric() || c == b'+' || c == b'.' || c == b'-');
        if !b[se..].starts_with(b"://") {
            return None;
        }
        let scheme = self.t[i..se].to_ascii_lowercase();
        let auth = se + 3;
        let mut k = auth;
        let mut at = None;
        while k < b.len() && k - auth < 512 {
            match b[k] {
                // A password with an unencoded `#`, `?` or `/` (common in DATABASE_URL values):
                // `user:pa#ss@host` still has its `@` and a host name ahead.
                b'/' | b'?' | b'#' if at.is_none() && b[auth..k].contains(&b':') => match later_at(b, k) {
                    Some(a) => {
                        at = Some(a);
                        k = a + 1;
                        continue;
                    }
                    None => break,
                },
                b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>' | b'`' | b'\\' | b'(' | b')' | b'[' | b']' | b'{'
                | b'}' | b',' | b';' => break,
                c if is_space(c) => break,
                b'@' => at = Some(k),
                _ => {}
            }
            k += 1;
        }
        let host_start = at.map_or(auth, |a| a + 1);
        if let Some(at) = at {
            let userinfo = &b[auth..at];
            if let Some(colon) = userinfo.iter().position(|&c| c == b':') {
                let pass = &userinfo[colon + 1..];
                let user = &userinfo[..colon];
                if pass.len() >= 4 && !pass.contains(&b':') && !is_placeholder(pass) && !user.starts_with(b"<") {
                    let score = match scheme.as_str() {
                        "http" | "https" | "ws" | "wss" => 0.85,
                        "git" | "ssh" | "svn" => 0.85,
                        _ => 0.9,
                    };
                    self.push(Det::UrlPassword, "password in a URL", auth + colon + 1, at, score);
                }
            }
        }
        // Webhook URLs: the path is the credential.
        let host = self.t[host_start..k].to_ascii_lowercase();
        let webhook_host = host == "hooks.slack.com"
            || host.ends_with("discord.com")
            || host.ends_with("discordapp.com")
            || host == "outlook.office.com"
            || host.ends_with(".webhook.office.com");
        if !webhook_host {
            return None;
        }
        let path_end = run(b, k, 1024, |c| is_url(c) || c == b'/');
        let path = &b[k..path_end];
        let segs: Vec<&[u8]> = path.split(|&c| c == b'/').filter(|s| !s.is_empty()).collect();
        let last_ok = |min: usize| segs.last().is_some_and(|s| s.len() >= min && !is_placeholder(s));
        if host == "hooks.slack.com"
            && segs.len() >= 3
            && matches!(segs[0], b"services" | b"workflows" | b"triggers")
            && last_ok(20)
            && !segs.iter().any(|s| is_placeholder(s))
        {
            self.push(Det::SlackWebhook, "Slack webhook URL", i, path_end, 0.9);
            return Some(path_end);
        }
        if (host.ends_with("discord.com") || host.ends_with("discordapp.com"))
            && segs.len() >= 4
            && segs[0] == b"api"
            && segs[1] == b"webhooks"
            && segs[2].iter().all(u8::is_ascii_digit)
            && last_ok(50)
        {
            self.push(Det::DiscordWebhook, "Discord webhook URL", i, path_end, 0.9);
            return Some(path_end);
        }
        if (host == "outlook.office.com" || host.ends_with(".webhook.office.com"))
            && segs.first().is_some_and(|s| s.starts_with(b"webhook"))
            && last_ok(20)
        {
            self.push(Det::VendorToken, "Microsoft Teams webhook URL", i, path_end, 0.85);
            return Some(path_end);
        }
        None
    }

    /// Telegram bot tokens: `123456789:AA…` (35 characters after the colon),
    /// also inside `api.telegram.org/bot<token>/` URLs.
    fn telegram(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        let s = if b[i..].starts_with(b"bot") && b.get(i + 3).is_some_and(u8::is_ascii_digit) {
            i + 3
        } else if b[i].is_ascii_digit() {
            i
        } else {
            return None;
        };
        let d = run(b, s, 11, |c| c.is_ascii_digit());
        if !(8..=10).contains(&(d - s)) || b.get(d) != Some(&b':') {
            return None;
        }
        let e = run(b, d + 1, 36, is_url);
        if e - d - 1 != 35 || b.get(e).is_some_and(|&c| is_url(c)) {
            return None;
        }
        let secret = &b[d + 1..e];
        let cls = Classes::of(secret);
        if is_placeholder(secret) || cls.kinds() < 2 {
            return None;
        }
        let score = if secret.starts_with(b"AA") {
            0.9
        } else if cls.kinds() == 3 {
            0.8
        } else {
            return None;
        };
        self.push(Det::TelegramToken, "Telegram bot token", s, e, score);
        Some(e)
    }

    /// `Bearer <token>` and `Basic <base64 user:password>` wherever they appear.
    fn auth_scheme(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        let basic = if starts_with_ci(&b[i..], b"bearer ") {
            false
        } else if starts_with_ci(&b[i..], b"basic ") {
            true
        } else {
            return None;
        };
        let vs = run(b, i + if basic { 6 } else { 7 }, 8, |c| c == b' ');
        let mut ve = run(b, vs, 4096, |c| is_url_dot(c) || matches!(c, b'~' | b'+' | b'/' | b'='));
        while ve > vs && b[ve - 1] == b'.' {
            ve -= 1;
        }
        let v = &b[vs..ve];
        if basic {
            if !basic_credentials(v) {
                return None;
            }
            self.push(Det::BasicAuth, "HTTP Basic credentials", vs, ve, 0.85);
            return Some(ve);
        }
        if v.starts_with(b"eyJ") {
            return None; // the JWT recogniser reports it
        }
        if self.secretish(v, true) {
            self.push(Det::BearerToken, "bearer token", vs, ve, 0.85);
            return Some(ve);
        }
        None
    }

    /// Discord bot tokens: base64 of a numeric user id, a timestamp and an HMAC.
    fn discord(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        if !matches!(b[i], b'M' | b'N' | b'O') {
            return None;
        }
        let s1 = run(b, i, 30, is_url);
        if !(23..=28).contains(&(s1 - i)) || b.get(s1) != Some(&b'.') {
            return None;
        }
        let s2 = run(b, s1 + 1, 8, is_url);
        if !(6..=7).contains(&(s2 - s1 - 1)) || b.get(s2) != Some(&b'.') {
            return None;
        }
        let s3 = run(b, s2 + 1, 41, is_url);
        if !(27..=40).contains(&(s3 - s2 - 1)) || b.get(s3).is_some_and(|&c| is_url(c)) {
            return None;
        }
        let id_ok = b64_decode(&b[i..s1]).is_some_and(|id| id.len() >= 15 && id.iter().all(u8::is_ascii_digit));
        let score = if id_ok {
            0.9
        } else if self.mentions_discord() && Classes::of(&b[s2 + 1..s3]).kinds() == 3 {
            0.7
        } else {
            return None;
        };
        self.push(Det::DiscordToken, "Discord bot token", i, s3, score);
        Some(s3)
    }

    /// Does the text mention Discord anywhere (computed once per text)?
    fn mentions_discord(&mut self) -> bool {
        let t = self.t;
        *self.discord_context.get_or_insert_with(|| t.as_bytes().windows(7).any(|w| w.eq_ignore_ascii_case(b"discord")))
    }

    /// Azure AD (Entra ID) client secrets: `xxx8Q~` + 31-34 characters.
    fn azure_client_secret(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        if b.len() < i + 6
            || !b[i + 3].is_ascii_digit()
            || b[i + 4] != b'Q'
            || b[i + 5] != b'~'
            || !b[i..i + 3].iter().all(|&c| is_azure_secret(c))
        {
            return None;
        }
        let e = run(b, i + 6, 35, is_azure_secret);
        if !(31..=34).contains(&(e - i - 6)) || b.get(e).is_some_and(|&c| is_azure_secret(c)) {
            return None;
        }
        if is_placeholder(&b[i + 6..e]) || Classes::of(&b[i + 6..e]).kinds() < 2 {
            return None;
        }
        self.push(Det::AzureClientSecret, "Azure AD client secret", i, e, 0.9);
        Some(e)
    }

    /// Remember standalone 40-character base64 words (AWS secret access key shape).
    fn b64_candidate(&mut self, i: usize) {
        let b = self.b;
        if i > 0 && is_b64(b[i - 1]) && !escape_before(b, i) {
            return;
        }
        let e = run(b, i, 41, |c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/');
        if e - i != 40 || b.get(e).is_some_and(|&c| is_b64(c)) {
            return;
        }
        let v = &b[i..e];
        if Classes::of(v).kinds() == 3 && !is_placeholder(v) && shannon_entropy(v) >= 4.0 {
            self.b64_40.push((i, e));
        }
    }

    /// 40-character base64 words within 2 KiB of an AWS access key id.
    fn aws_pairs(&mut self) {
        if self.b64_40.is_empty() {
            return;
        }
        // Bounded: a text with thousands of both is reported through its ids alone.
        let ids: Vec<usize> =
            self.hits.iter().filter(|h| h.det == Det::AwsAccessKey).map(|h| h.start).take(256).collect();
        if ids.is_empty() {
            return;
        }
        let candidates: Vec<(usize, usize)> = self.b64_40.iter().copied().take(256).collect();
        for (s, e) in candidates {
            if ids.iter().any(|&p| p.abs_diff(s) <= 2048) && !self.hits.iter().any(|h| h.start < e && s < h.end) {
                self.push(Det::AwsSecretKey, "AWS secret access key", s, e, 0.8);
            }
        }
    }

    /// Pass 2: `key = value`, `key: value`, `"key": "value"`, `--flag value`,
    /// `the token is value`, with the key naming a credential.
    fn assignments(&mut self) {
        let b = self.b;
        let n = b.len();
        let mut i = 0;
        while i < n {
            let c = b[i];
            let (op_start, op_len, phrase) = match c {
                b'=' | b':' => {
                    if c == b':' && b[i + 1..].starts_with(b"//") {
                        i += 3;
                        continue;
                    }
                    // `Path::to::item` is code, not an assignment.
                    if c == b':' && (b.get(i + 1) == Some(&b':') || i > 0 && b[i - 1] == b':') {
                        i += 1;
                        continue;
                    }
                    let two = matches!(b.get(i + 1), Some(b'=' | b'>')) || (c == b':' && b.get(i + 1) == Some(&b'='));
                    (i, if two { 2 } else { 1 }, false)
                }
                b'i' if b[i..].starts_with(b"is ") && i > 0 && b[i - 1] == b' ' => (i, 2, true),
                b'w' if b[i..].starts_with(b"was ") && i > 0 && b[i - 1] == b' ' => (i, 3, true),
                b'>' => {
                    i = self.xml_element(i).unwrap_or(i + 1).max(i + 1);
                    continue;
                }
                // .netrc: `machine host login user password secret`.
                b'p' if b[i..].starts_with(b"password ")
                    && (i == 0 || is_space(b[i - 1]))
                    && b[i.saturating_sub(200)..i].windows(6).any(|w| w == b"login ") =>
                {
                    i = self.value_after(i + 9, KeyClass::Password, false, false).unwrap_or(i + 9).max(i + 9);
                    continue;
                }
                b'-' if b[i..].starts_with(b"--") && (i == 0 || is_space(b[i - 1])) => {
                    self.flag(i);
                    i += 2;
                    continue;
                }
                b'-' if b[i..].starts_with(b"-p") && (i == 0 || is_space(b[i - 1])) => {
                    self.short_password_flag(i);
                    i += 2;
                    continue;
                }
                _ => {
                    i += 1;
                    continue;
                }
            };
            i = op_start + op_len;
            let max_words = if phrase {
                7
            } else if c == b':' {
                3
            } else {
                1
            };
            let Some((ks, ke)) = self.key_before(op_start, max_words) else { continue };
            let key = &self.t[ks..ke];
            if !maybe_secret_key(key) {
                continue;
            }
            let class = if phrase { classify_phrase(&key_words(key)) } else { classify_key_name(key) };
            if class == KeyClass::None {
                continue;
            }
            let mut vs = op_start + op_len;
            if phrase {
                vs = run(b, vs, 4, |c| c == b' ' || c == b':');
            }
            let after_semicolon = ks > 0 && b[ks - 1] == b';';
            if let Some(end) = self.value_after(vs, class, c == b'=' && !phrase, after_semicolon) {
                i = i.max(end);
            }
        }
    }

    /// `--api-key VALUE` / `--password VALUE` (the `=` form is an assignment).
    fn flag(&mut self, i: usize) {
        let b = self.b;
        let ke = run(b, i + 2, 64, is_url);
        if ke == i + 2 || b.get(ke) != Some(&b' ') || b.get(ke + 1).is_none_or(|&c| c == b'-') {
            return;
        }
        let key = &self.t[i + 2..ke];
        if !maybe_secret_key(key) {
            return;
        }
        let class = classify_key_name(key);
        if class != KeyClass::None {
            self.value_after(ke + 1, class, false, false);
        }
    }

    /// `mysql -uroot -pSECRET`, `sshpass -p 'SECRET' ssh …`: the short password flag
    /// of the command-line tools that take one, only after such a command on the
    /// same line (elsewhere `-p` means port, parents, print…).
    fn short_password_flag(&mut self, i: usize) {
        const TOOLS: &[&[u8]] = &[b"mysql", b"mysqldump", b"mysqladmin", b"mariadb", b"sshpass", b"mysqlimport"];
        let b = self.b;
        let line_start = b[..i].iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1);
        let line = &b[line_start..i];
        let sshpass = line.split(|c| is_space(*c)).any(|w| w.ends_with(b"sshpass"));
        if !line.split(|c| is_space(*c)).any(|w| TOOLS.iter().any(|t| w.ends_with(t))) {
            return;
        }
        match b.get(i + 2) {
            // `-pSECRET` (mysql family: no space allowed).
            Some(&c) if !is_space(c) => {
                self.value_after(i + 2, KeyClass::Password, false, false);
            }
            // `-p SECRET` (sshpass); for mysql a space means "prompt", and the next
            // word is the database.
            Some(_) if sshpass => {
                self.value_after(i + 3, KeyClass::Password, false, false);
            }
            _ => {}
        }
    }

    /// The key name ending just before an operator at `op`: skips spaces and
    /// quotes (also JSON-escaped ones), then `[A-Za-z0-9_.-]`, up to `max_words`
    /// space-separated words (`Client Secret:`, `the new API token for X is`).
    fn key_before(&self, op: usize, max_words: usize) -> Option<(usize, usize)> {
        let b = self.b;
        let mut k = op;
        let mut skipped = 0;
        while k > 0 && skipped < 4 && matches!(b[k - 1], b' ' | b'\t' | b'"' | b'\'' | b'\\' | b'`' | b']') {
            k -= 1;
            skipped += 1;
        }
        let ke = k;
        let mut words = 1;
        while k > 0 && ke - k < 64 {
            let c = b[k - 1];
            if escape_before(b, k) {
                break;
            }
            if is_url_dot(c) {
                k -= 1;
            } else if c == b' ' && words < max_words && k >= 2 && is_alnum(b[k - 2]) && ke - k > 0 {
                words += 1;
                k -= 1;
            } else {
                break;
            }
        }
        // `export FOO=`, `$env:FOO =`, `set FOO=`: the key is the last word only.
        let ks = k + run(&b[k..ke], 0, 64, |c| c == b'-' || c == b'.');
        // `Enum::Variant =>`, `module::CONST =`: code paths, not keys.
        if ks >= 2 && &b[ks - 2..ks] == b"::" {
            return None;
        }
        (ke > ks).then_some((ks, ke))
    }

    /// Evaluate the value starting at `vs` (after spaces and an optional quote)
    /// for a key of class `class`. Returns where the value ends, hit or not, so
    /// the caller does not look for keys inside it.
    fn value_after(&mut self, vs: usize, class: KeyClass, eq: bool, after_semicolon: bool) -> Option<usize> {
        let b = self.b;
        let mut s = run(b, vs, 8, |c| c == b' ' || c == b'\t');
        if b.get(s) == Some(&b'\\') && matches!(b.get(s + 1), Some(b'"' | b'\'')) {
            s += 1;
        }
        let quote = match b.get(s) {
            Some(&q @ (b'"' | b'\'' | b'`')) => {
                s += 1;
                Some(q)
            }
            _ => None,
        };
        if class == KeyClass::Authorization {
            // `Authorization: Bearer x` is the bearer recogniser's; `token x`, `Bot x`, bare values are ours.
            let w = run(b, s, 16, |c| c.is_ascii_alphabetic());
            let scheme = self.t[s..w].to_ascii_lowercase();
            if matches!(scheme.as_str(), "bearer" | "basic") {
                return None;
            }
            if b.get(w) == Some(&b' ') && w > s {
                s = run(b, w, 4, |c| c == b' ');
            }
        }
        let stop = |c: u8| match quote {
            Some(q) => c == q || c == b'\\' || is_space(c),
            None => !(is_value_char(c) || matches!(c, b'(' | b'[' | b':' | b'{')) || c == b'\\',
        };
        let mut e = s;
        while e < b.len() && e - s < 1024 && !stop(b[e]) {
            e += 1;
        }
        if quote.is_none() {
            // A trailing sentence dot is not part of the value.
            while e > s && matches!(b[e - 1], b'.' | b':') {
                e -= 1;
            }
        }
        let v = &b[s..e];
        let closed = quote.is_none_or(|q| b.get(e) == Some(&q) || b.get(e) == Some(&b'\\'));
        if v.is_empty() || !closed {
            return None;
        }
        let code_like = quote.is_none() && is_code_reference(&b[s..], v);
        if !code_like {
            let conn = eq && (after_semicolon || b.get(e) == Some(&b';'));
            self.judge(class, s, e, quote.is_some(), conn);
        }
        Some(e)
    }

    /// Report `text[s..e]` if it is a credential for a key of class `class`.
    /// `quoted`: the value was delimited (quotes, an XML element, a whole JSON
    /// string), so bare words count; `conn`: inside a `k=v;` connection string.
    fn judge(&mut self, class: KeyClass, s: usize, e: usize, quoted: bool, conn: bool) {
        let v = &self.b[s..e];
        match class {
            KeyClass::None => {}
            KeyClass::Password => {
                if !password_value(v, !quoted) {
                } else if conn {
                    self.push(Det::ConnectionString, "password in a connection string", s, e, 0.85);
                } else {
                    self.push(Det::Password, "password value", s, e, 0.75);
                }
            }
            KeyClass::AwsSecret if v.len() == 40 && v.iter().all(|&c| is_b64(c) && c != b'=') => {
                if !is_placeholder(v) && Classes::of(v).kinds() == 3 && shannon_entropy(v) >= 3.5 {
                    self.push(Det::AwsSecretKey, "AWS secret access key", s, e, 0.9);
                }
            }
            KeyClass::AwsSecret | KeyClass::Authorization | KeyClass::Secret { .. } => {
                let strong = !matches!(class, KeyClass::Secret { strong: false });
                if strong && basic_credentials(v) {
                    // Docker `"auth": "<base64 user:password>"`.
                    self.push(Det::BasicAuth, "base64-encoded credentials", s, e, 0.8);
                } else if self.secretish(v, strong) {
                    self.push(Det::GenericSecret, "high-entropy secret value", s, e, if strong { 0.8 } else { 0.65 });
                }
            }
        }
    }

    /// The text is the value of a JSON member whose name is `key` (from the path).
    fn whole_value(&mut self, key: &str) {
        let class = classify_key_name(key);
        if class == KeyClass::None {
            return;
        }
        let t = self.t.trim();
        let mut s = self.t.len() - self.t.trim_start().len();
        let e = s + t.len();
        // `"Authorization": "token abc…"`: the credential follows the scheme.
        if class == KeyClass::Authorization
            && let Some((scheme, _)) = t.split_once(' ')
            && scheme.bytes().all(|c| c.is_ascii_alphabetic())
        {
            s += scheme.len() + 1;
        }
        let t = &self.t[s..e];
        if t.is_empty() || t.len() > 8192 || t.bytes().any(is_space) {
            return;
        }
        if self.hits.iter().any(|h| h.start < e && s < h.end) {
            return;
        }
        self.judge(class, s, e, true, false);
    }

    /// `<password>value</password>`, `<apiKey>value</apiKey>`: XML/HTML elements
    /// named like credentials. `i` is the `>` closing the start tag.
    fn xml_element(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        let mut k = i;
        while k > 0 && i - k < 64 && (is_url_dot(b[k - 1]) || b[k - 1] == b':') {
            k -= 1;
        }
        if k == i || k == 0 || b[k - 1] != b'<' {
            return None;
        }
        let key = &self.t[k..i];
        if !maybe_secret_key(key) {
            return None;
        }
        let class = classify_key_name(key);
        if class == KeyClass::None {
            return None;
        }
        let s = i + 1;
        let e = run(b, s, 1024, |c| c != b'<' && !is_space(c));
        if e == s || !b[e..].starts_with(b"</") {
            return None;
        }
        self.judge(class, s, e, true, false);
        Some(e)
    }

    /// Does `v` look like a random credential (rather than a word, a name, an id,
    /// a hash in a hash-like field, a path, a version, a placeholder)?
    fn secretish(&self, v: &[u8], strong: bool) -> bool {
        let opts = self.e.entropy;
        if v.len() < opts.min_length || v.len() > 4096 || is_placeholder(v) || is_benign_shape(v) || is_slug(v) {
            return false;
        }
        let cls = Classes::of(v);
        if cls.letters() == 0 || has_sequence(v) {
            return false;
        }
        // Regexes, templates, expressions and lists are not tokens.
        if v.iter().any(|c| b"[]{}<>\\'\"` ".contains(c)) {
            return false;
        }
        let h = shannon_entropy(v);
        if v.iter().all(|&c| is_hex(c)) {
            // Hex: only where the name clearly says secret (not `key`, often a digest).
            return strong && v.len() >= 24 && cls.digit > 0 && h >= opts.min_bits - 0.5;
        }
        if cls.digit == 0 {
            // Letters only: random strings switch case constantly, words and camelCase do not.
            if v.len() < 30 || case_switches(v) * 4 < v.len() {
                return false;
            }
        }
        let min_bits = if v.len() >= 24 { opts.min_bits + 0.3 } else { opts.min_bits };
        h >= min_bits
    }
}

/// Well-known documentation credentials (RFC 7617's Aladdin, `user:pass`).
fn is_example_credentials(decoded: &str) -> bool {
    let lower = decoded.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "aladdin:opensesame"
            | "aladdin:open sesame"
            | "user:pass"
            | "user:password"
            | "username:password"
            | "admin:admin"
    )
}

/// Base64 of printable `user:password`.
fn basic_credentials(v: &[u8]) -> bool {
    if v.len() < 12 {
        return false;
    }
    let Some(decoded) = b64_decode(v) else { return false };
    let Ok(decoded) = std::str::from_utf8(&decoded) else { return false };
    let Some((user, pass)) = decoded.split_once(':') else { return false };
    !user.is_empty()
        && pass.len() >= 4
        && !decoded.chars().any(char::is_control)
        && !is_placeholder(pass.as_bytes())
        && !is_example_credentials(decoded)
}

/// Cheap pre-filter before splitting a key into words.
fn maybe_secret_key(key: &str) -> bool {
    if key.len() > 64 {
        return false;
    }
    let mut buf = [0u8; 64];
    let k = &mut buf[..key.len()];
    k.copy_from_slice(key.as_bytes());
    k.make_ascii_lowercase();
    let k: &[u8] = k;
    ["pass", "pwd", "pw", "secret", "token", "key", "auth", "cred", "pat", "bearer", "pswd"]
        .iter()
        .any(|w| k.windows(w.len()).any(|x| x == w.as_bytes()))
}

/// An unquoted value that is code, not data: `os.environ[...]`, `getpass()`,
/// `self.password`, `Option<String>`, `password` (a variable).
fn is_code_reference(rest: &[u8], v: &[u8]) -> bool {
    if v.windows(2).any(|w| w == b"::" || w == b"->") || matches!(v, [b'*' | b'&', c, ..] if c.is_ascii_alphabetic()) {
        return true;
    }
    if matches!(v.first(), Some(b'(' | b'[' | b'{' | b':')) {
        return true;
    }
    // Variables (`$this->x`, `$self{...}`), calls and indexing anywhere, member access.
    if matches!(v, [b'$', c, ..] if c.is_ascii_alphabetic() || *c == b'_' || *c == b'{')
        || v.contains(&b'(')
        || v.contains(&b'[')
        || v.windows(3).any(|w| {
            (w[0].is_ascii_lowercase() || w[0] == b'_') && w[1] == b'.' && (w[2].is_ascii_lowercase() || w[2] == b'_')
        }) && !v.iter().any(|c| b"!@#%^&*".contains(c))
    {
        return true;
    }
    let mut ident = run(rest, 0, 256, |c| is_word(c) || c == b'.');
    while ident > 0 && rest[ident - 1] == b'.' {
        ident -= 1;
    }
    let head = &rest[..ident];
    if head.is_empty() {
        return false;
    }
    let followed_by_call =
        matches!(rest.get(ident), Some(b'(' | b'[' | b'<' | b'{')) || rest[ident..].starts_with(b"::");
    let all_ident = ident == v.len() || followed_by_call;
    let no_digits = !head.iter().any(u8::is_ascii_digit);
    let dotted_lower = head.contains(&b'.') && head.iter().any(u8::is_ascii_lowercase);
    all_ident && (followed_by_call || no_digits || dotted_lower) && (head[0].is_ascii_alphabetic() || head[0] == b'_')
}

/// A plausible password: any value that is not a placeholder, a hash, a path
/// or (when `strict`, for unquoted values and prose) a slug of words.
fn password_value(v: &[u8], strict: bool) -> bool {
    if !(6..=128).contains(&v.len()) || is_placeholder(v) || is_benign_shape(v) || strict && is_slug(v) {
        return false;
    }
    // `challengePassword`, `user_password`, `proxypass`: names of fields, not their values.
    let lower = v.to_ascii_lowercase();
    let digits = v.iter().any(u8::is_ascii_digit);
    if ["pass", "pwd"].iter().any(|w| lower.windows(w.len()).any(|x| x == w.as_bytes())) && !digits {
        return false;
    }
    // `user@site`: the anonymous-FTP convention of an e-mail address as password.
    if v.contains(&b'@') && !digits && v.iter().all(|&c| c.is_ascii_lowercase() || b"@.-_".contains(&c)) {
        return false;
    }
    // Short all-digit values are more often PINs, ports or counts than passwords.
    !v.iter().all(u8::is_ascii_digit) || v.len() >= 8
}

/// The `@` that ends a password holding `#`, `?` or `/`: within 64 bytes of `from`, before
/// any space or quote, and followed by a host name (`db.internal`, `localhost`, `10.0.0.1`).
fn later_at(b: &[u8], from: usize) -> Option<usize> {
    let mut k = from;
    while k < b.len() && k - from < 64 {
        match b[k] {
            c if is_space(c) => return None,
            b'"' | b'\'' | b'<' | b'>' | b'`' => return None,
            b'@' => {
                let h = &b[k + 1..];
                let n = h.iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'.' || **c == b'-').count();
                let host = &h[..n];
                let ends = h.get(n).is_none_or(|c| matches!(c, b':' | b'/' | b'?') || is_space(*c));
                return (n >= 3 && ends && (host.contains(&b'.') || host == b"localhost")).then_some(k);
            }
            _ => {}
        }
        k += 1;
    }
    None
}
