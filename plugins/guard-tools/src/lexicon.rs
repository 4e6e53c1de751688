//! Classification of single tokens: sensitive file paths, secret-looking environment
//! variable names, and literal destinations (URLs, addresses) that data could be sent to.

use crate::token::{CAPS, IDENT, Kind, Tok};

/// Substrings of paths and file names that hold credentials or private data, with a label
/// for messages. Matched against lower-case path or word tokens.
const SENSITIVE_PATHS: &[(&str, &str)] = &[
    (".ssh/", "SSH directory"),
    ("id_rsa", "SSH private key"),
    ("id_dsa", "SSH private key"),
    ("id_ecdsa", "SSH private key"),
    ("id_ed25519", "SSH private key"),
    ("authorized_keys", "SSH authorized keys"),
    (".aws/credentials", "AWS credentials file"),
    (".aws/config", "AWS config file"),
    (".azure/", "Azure credentials"),
    ("gcloud/", "Google Cloud credentials"),
    ("application_default_credentials", "Google Cloud credentials"),
    ("service-account", "cloud service-account key"),
    ("service_account", "cloud service-account key"),
    ("credentials.json", "credentials file"),
    ("token.json", "token file"),
    (".git-credentials", "git credentials"),
    (".gitconfig", "git config"),
    (".netrc", "netrc credentials"),
    (".npmrc", "npm credentials"),
    (".pypirc", "PyPI credentials"),
    (".pgpass", "PostgreSQL password file"),
    (".my.cnf", "MySQL credentials"),
    (".docker/config.json", "Docker credentials"),
    (".kube/config", "Kubernetes config"),
    ("kubeconfig", "Kubernetes config"),
    (".vault-token", "Vault token"),
    (".terraformrc", "Terraform credentials"),
    (".gnupg", "GnuPG keyring"),
    ("secring", "GnuPG keyring"),
    ("/etc/shadow", "system password hashes"),
    ("/etc/passwd", "system account list"),
    ("/etc/sudoers", "sudo configuration"),
    ("/proc/self/environ", "process environment"),
    ("_history", "shell history"),
    ("wallet.dat", "crypto wallet"),
    (".electrum", "crypto wallet"),
    ("keychain", "keychain"),
    ("logins.json", "browser saved passwords"),
    ("key4.db", "browser key store"),
    ("key3.db", "browser key store"),
    ("cookies.sqlite", "browser cookies"),
    ("cookies.binarycookies", "browser cookies"),
    ("mcp.json", "MCP client config"),
    ("claude_desktop_config", "MCP client config"),
    (".cursor/", "MCP client config"),
    (".continue/config", "MCP client config"),
    (".codeium/", "MCP client config"),
    (".env", "environment file"),
    (".pem", "key or certificate file"),
    (".p12", "key store"),
    (".pfx", "key store"),
    (".keystore", "key store"),
    (".jks", "key store"),
];

/// Label of the sensitive file a token refers to, if any.
pub fn sensitive_path(t: &Tok) -> Option<&'static str> {
    if !matches!(t.kind, Kind::Path | Kind::Word) {
        return None;
    }
    let w = t.w.as_str();
    // Public keys (`~/.ssh/id_ed25519.pub`) are meant to be shared.
    if w.ends_with(".pub") {
        return None;
    }
    // Every needle below has one of these characters or is one of these words.
    if !w.bytes().any(|b| matches!(b, b'.' | b'/' | b'_' | b'~' | b'\\'))
        && !matches!(w, "keychain" | "kubeconfig" | "secring")
    {
        return None;
    }
    for (dir, label) in [
        (".ssh", "SSH directory"),
        (".aws", "AWS credentials"),
        (".kube", "Kubernetes config"),
        (".gnupg", "GnuPG keyring"),
        (".docker", "Docker credentials"),
    ] {
        if w.ends_with(dir) && (w.len() == dir.len() || w[..w.len() - dir.len()].ends_with('/')) {
            return Some(label);
        }
    }
    if t.kind == Kind::Path
        && ["credential", "secret", "passw", "/.config/gh/", "gh/hosts.yml", "serviceaccount/token"]
            .iter()
            .any(|n| w.contains(n))
    {
        return Some("credentials file");
    }
    for &(needle, label) in SENSITIVE_PATHS {
        if needle == ".env" {
            // ".env", "path/.env", ".env.local" but not "environment" or "foo.environ".
            let hit = w == ".env" || w.ends_with("/.env") || w.contains(".env.") || w.ends_with(":.env");
            if hit {
                return Some(label);
            }
            continue;
        }
        if (needle == ".pem" || needle == ".p12" || needle == ".pfx" || needle == ".jks" || needle == ".keystore")
            && !w.ends_with(needle)
        {
            continue;
        }
        if needle.starts_with("service") && t.kind != Kind::Path {
            continue;
        }
        if needle == "_history" && !(w.starts_with('.') || w.contains("/.")) {
            continue;
        }
        if w.contains(needle) {
            return Some(label);
        }
    }
    None
}

/// An upper-case identifier naming a secret, e.g. `GITHUB_TOKEN`, `OPENAI_API_KEY`.
pub fn env_secret(t: &Tok) -> bool {
    if t.kind != Kind::Word || !t.has(CAPS) || !t.w.contains('_') {
        return false;
    }
    ["token", "key", "secret", "password", "passwd", "pat", "credential", "credentials", "pwd", "auth"]
        .iter()
        .any(|s| t.w.rsplit('_').next() == Some(s) || t.w.contains(&format!("_{s}_")))
}

/// Host part of a URL token, lower case.
pub fn url_host(w: &str) -> &str {
    let rest = w.split_once("://").map_or(w, |x| x.1);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = host.rsplit('@').next().unwrap_or(host);
    host.split(':').next().unwrap_or(host)
}

/// Hosts that cannot receive anything: the local machine and template placeholders.
/// Documentation domains (example.com, .example, .test) do count: test data and demos
/// use them for the attacker's host, and sentences that merely give an example are
/// dampened where they are scored.
fn is_example_host(h: &str) -> bool {
    let h = h.trim_end_matches('.');
    h.is_empty()
        || h == "localhost"
        || h.starts_with("127.")
        || h.ends_with(".localhost")
        || h.ends_with(".local")
        || h.contains('{')
        || h.contains('<')
        || h.contains('$')
        || h == "your-domain.com"
        || h == "yourdomain.com"
}

/// A literal place outside the conversation that data could be sent to: a URL, e-mail
/// address or IP address that is not a documentation placeholder, or an IBAN.
pub fn is_target(t: &Tok) -> bool {
    match t.kind {
        Kind::Url => !is_example_host(url_host(&t.w)),
        Kind::Email => !is_example_host(t.w.rsplit('@').next().unwrap_or("")),
        Kind::Ip => !t.w.starts_with("127.") && !t.w.starts_with("0.0.0.0"),
        Kind::Word => is_iban(&t.w) || is_phone(&t.w),
        _ => false,
    }
}

fn is_phone(w: &str) -> bool {
    w.strip_prefix('+').is_some_and(|d| {
        d.bytes().filter(u8::is_ascii_digit).count() >= 8
            && d.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b'.')
    })
}

fn is_iban(w: &str) -> bool {
    let b = w.as_bytes();
    (15..=34).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b[1].is_ascii_alphabetic()
        && b[2].is_ascii_digit()
        && b[3].is_ascii_digit()
        && b[4..].iter().all(|c| c.is_ascii_alphanumeric())
        && b[4..].iter().filter(|c| c.is_ascii_digit()).count() >= 8
}

/// Identifier normalised for comparison with tool and parameter names.
pub fn norm_ident(w: &str) -> String {
    w.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// A token naming code (a tool, function or parameter), not an environment variable.
pub fn is_code_ident(t: &Tok) -> bool {
    t.kind == Kind::Word && t.has(IDENT) && !t.has(CAPS) && !t.has(crate::token::SECPATH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(w: &str, kind: Kind, flags: u16) -> Tok {
        Tok { w: w.into(), kind, a: 0, b: 0, flags }
    }

    #[test]
    fn sensitive_paths() {
        assert_eq!(sensitive_path(&tok("~/.ssh/id_rsa", Kind::Path, 0)), Some("SSH directory"));
        assert!(sensitive_path(&tok(".env", Kind::Path, 0)).is_some());
        assert!(sensitive_path(&tok("claude_desktop_config.json", Kind::Path, 0)).is_some());
        assert!(sensitive_path(&tok("environment", Kind::Word, 0)).is_none());
        assert!(sensitive_path(&tok("src/main.rs", Kind::Path, 0)).is_none());
        assert!(sensitive_path(&tok("~/.bash_history", Kind::Path, 0)).is_some());
        assert!(sensitive_path(&tok("chat_history", Kind::Word, IDENT)).is_none());
    }

    #[test]
    fn targets_skip_placeholders() {
        assert!(is_target(&tok("https://collect.evil.io/x", Kind::Url, 0)));
        assert!(!is_target(&tok("http://localhost:8080/x", Kind::Url, 0)));
        assert!(!is_target(&tok("https://{host}/x", Kind::Url, 0)));
        assert!(is_target(&tok("bob@evil.io", Kind::Email, 0)));
        assert!(is_target(&tok("de89370400440532013000", Kind::Word, 0)));
        assert!(!is_target(&tok("1234567890123456", Kind::Word, 0)));
        assert!(is_target(&tok("+13241234123", Kind::Word, 0)));
    }

    #[test]
    fn env_secrets() {
        assert!(env_secret(&tok("github_token", Kind::Word, CAPS | IDENT)));
        assert!(env_secret(&tok("openai_api_key", Kind::Word, CAPS | IDENT)));
        assert!(!env_secret(&tok("next_page", Kind::Word, IDENT)));
        assert!(!env_secret(&tok("max_tokens", Kind::Word, CAPS | IDENT)));
    }
}
