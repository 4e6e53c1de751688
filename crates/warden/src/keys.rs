//! `warden keys`: API keys for the `auth-apikey` plugin, kept in a JSON keys file
//! (`{"keys": [{"id", "sha256", "project"?, "scopes"?, "expires_at"?, "disabled"?}]}`)
//! that the plugin's `config_file` merges into its config. A key is printed once, at
//! creation; only its SHA-256 is written. A running gateway reloads the file when it
//! changes, so a revoked key is refused within a couple of seconds.

use anyhow::{Context, Result};
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    #[serde(default)]
    keys: Vec<KeyEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    id: String,
    sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    disabled: bool,
}

/// The keys file: `WARDEN_KEYS_FILE`, else `$XDG_CONFIG_HOME/warden/keys.json`, else
/// `~/.config/warden/keys.json`, else (no home at all) `warden-keys.json` here.
pub fn default_keys_file() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("WARDEN_KEYS_FILE")
        .or_else(|| var("XDG_CONFIG_HOME").map(|d| d.join("warden/keys.json")))
        .or_else(|| var("HOME").map(|h| h.join(".config/warden/keys.json")))
        .unwrap_or_else(|| PathBuf::from("warden-keys.json"))
}

fn load(path: &Path) -> Result<KeysFile> {
    match std::fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).with_context(|| format!("{} is not a valid keys file", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KeysFile::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Write atomically, readable by the owner only.
fn save(path: &Path, file: &KeysFile) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(&serde_json::to_vec_pretty(file)?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

/// What `keys create` asks for.
pub struct NewKey {
    pub id: String,
    pub project: Option<String>,
    pub scopes: Vec<String>,
    pub expires_in_days: Option<u64>,
}

/// Create a key, write its hash, and return the key itself (shown once).
pub fn create(path: &Path, new: NewKey) -> Result<String> {
    anyhow::ensure!(
        !new.id.is_empty()
            && new.id.len() <= 64
            && new.id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c)),
        "key id {:?}: use 1-64 of A-Z a-z 0-9 - _ . @",
        new.id
    );
    let mut file = load(path)?;
    anyhow::ensure!(!file.keys.iter().any(|k| k.id == new.id), "a key with id {:?} already exists", new.id);
    let key = crate::setup::generate_key();
    anyhow::ensure!(!key.is_empty(), "no random source to make a key from");
    file.keys.push(KeyEntry {
        id: new.id,
        sha256: hex::encode(Sha256::digest(key.as_bytes())),
        project: new.project,
        scopes: (!new.scopes.is_empty()).then_some(new.scopes),
        expires_at: new.expires_in_days.map(|d| warden_mcp::server::now_unix() + d * 86_400),
        disabled: false,
    });
    save(path, &file)?;
    Ok(key)
}

/// Disable the key `id` (kept in the file, refused from now on).
pub fn revoke(path: &Path, id: &str) -> Result<()> {
    let mut file = load(path)?;
    let key = file.keys.iter_mut().find(|k| k.id == id).with_context(|| format!("no key with id {id:?}"))?;
    key.disabled = true;
    save(path, &file)
}

/// One line per key: id, state, project, scopes, expiry. Never the hash.
pub fn list(path: &Path) -> Result<Vec<String>> {
    let now = warden_mcp::server::now_unix();
    Ok(load(path)?
        .keys
        .iter()
        .map(|k| {
            let state = match (k.disabled, k.expires_at) {
                (true, _) => "revoked",
                (false, Some(t)) if t <= now => "expired",
                _ => "active",
            };
            let scopes = k.scopes.as_ref().map_or("*".to_string(), |s| s.join(","));
            let expires = k.expires_at.map_or("never".to_string(), |t| format!("{t} (unix)"));
            format!(
                "{:<20} {state:<8} project={} scopes={scopes} expires={expires}",
                k.id,
                k.project.as_deref().unwrap_or("-")
            )
        })
        .collect())
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it (once).
    Create {
        /// Identifier of the key's holder (the principal id).
        #[arg(long)]
        id: String,
        #[arg(long)]
        project: Option<String>,
        /// What the key may use: SERVER/TOOL globs (repeatable); everything when absent.
        #[arg(long = "scope", value_name = "SERVER/TOOL")]
        scopes: Vec<String>,
        /// Expire the key after this many days.
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u64>,
        #[command(flatten)]
        file: KeysFileArg,
    },
    /// List keys (id, state, project, scopes, expiry; never the key or its hash).
    List {
        #[command(flatten)]
        file: KeysFileArg,
    },
    /// Revoke a key: it stays listed and is refused from now on.
    Revoke {
        /// The key's id.
        id: String,
        #[command(flatten)]
        file: KeysFileArg,
    },
}

#[derive(clap::Args)]
pub struct KeysFileArg {
    /// The keys file (the default config's auth-apikey reads the same default):
    /// $WARDEN_KEYS_FILE, else $XDG_CONFIG_HOME/warden/keys.json, else
    /// ~/.config/warden/keys.json.
    #[arg(long, value_name = "PATH")]
    keys_file: Option<PathBuf>,
}

impl KeysFileArg {
    fn path(&self) -> PathBuf {
        self.keys_file.clone().unwrap_or_else(default_keys_file)
    }
}

/// Run a `warden keys` subcommand.
pub fn run(command: KeysCommand) -> Result<ExitCode> {
    match command {
        KeysCommand::Create { id, project, scopes, expires_in_days, file } => {
            let path = file.path();
            let key = create(&path, NewKey { id: id.clone(), project, scopes, expires_in_days })?;
            // The key on stdout (for scripts), the explanation on stderr.
            println!("{key}");
            eprintln!(
                "Created key {id:?} in {}. It is shown only now; only its SHA-256 was stored.\nUse it as `Authorization: Bearer <key>` or `X-API-Key: <key>`.",
                path.display()
            );
        }
        KeysCommand::List { file } => {
            for line in list(&file.path())? {
                println!("{line}");
            }
        }
        KeysCommand::Revoke { id, file } => {
            let path = file.path();
            revoke(&path, &id)?;
            println!("revoked {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
