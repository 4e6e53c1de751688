//! `warden install --client NAME`: adds (or replaces) a `warden` entry in an MCP
//! client's JSON config, keeping every other entry and key of the file.
//!
//! The formats, per client:
//! - Claude Desktop, `claude_desktop_config.json` (`~/.config/Claude/` on Linux,
//!   `~/Library/Application Support/Claude/` on macOS): `mcpServers.NAME =
//!   {command, args, env}`; it launches commands only, so stdio only.
//! - Cursor, `~/.cursor/mcp.json`: `mcpServers.NAME = {command, args, env}` or
//!   `{url, headers}`; `${env:VAR}` is expanded in headers.
//! - Claude Code, `~/.claude.json` (user scope; `.mcp.json` for a project, via
//!   `--config-file`): `mcpServers.NAME = {type: "stdio", command, args, env}` or
//!   `{type: "http", url, headers}`; `${VAR}` is expanded.
//! - VS Code, `.vscode/mcp.json` of the workspace: `servers.NAME = {type: "stdio",
//!   command, args}` or `{type: "http", url, headers}`, with `inputs` for secrets
//!   (`${input:ID}` prompts once and keeps the answer in VS Code's secret storage).
//!
//! A key is never written: the stdio entry needs none (the gateway it launches
//! authenticates its own caller), and the HTTP entry's `Authorization` header refers
//! to an environment variable (`--api-key-env`, default `WARDEN_API_KEY`) or, in VS
//! Code, to a prompted input. The file is backed up byte for byte
//! (`FILE.bak-YYYYMMDDTHHMMSSZ`) before it is replaced, and replaced atomically; a
//! file that is not a JSON object is refused and left untouched.

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Client {
    ClaudeDesktop,
    Cursor,
    ClaudeCode,
    Vscode,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// The client launches `warden serve --stdio` itself.
    Stdio,
    /// The client connects to a running gateway's Streamable HTTP endpoint.
    Http,
}

#[derive(clap::Args)]
pub struct InstallArgs {
    /// Which client's config to write.
    #[arg(long, value_enum)]
    client: Client,
    /// stdio (the client starts Warden; the default) or http (a running gateway).
    #[arg(long, value_enum, default_value = "stdio")]
    transport: Transport,
    /// The gateway's MCP endpoint, for --transport http.
    #[arg(long, default_value = "http://127.0.0.1:8808/mcp")]
    url: String,
    /// The client config file to edit, instead of the client's default location.
    #[arg(long, value_name = "PATH")]
    config_file: Option<PathBuf>,
    /// warden.toml for the stdio entry (`serve --stdio --config PATH`); the built-in
    /// default config when absent.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Name of the entry in the client's config.
    #[arg(long, default_value = "warden")]
    name: String,
    /// Environment variable the client reads the API key from, for --transport http
    /// (the key itself is never written). VS Code prompts for it instead unless this
    /// is given.
    #[arg(long, value_name = "VAR")]
    api_key_env: Option<String>,
    /// Print the entry instead of writing the file.
    #[arg(long)]
    print: bool,
}

/// Run `warden install`.
pub fn run(args: &InstallArgs) -> Result<ExitCode> {
    if args.name.is_empty() || !args.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        bail!("--name {:?}: use letters, digits, -, _ and .", args.name);
    }
    if let Some(var) = &args.api_key_env
        && (var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        bail!("--api-key-env {var:?} is not an environment variable name");
    }
    let entry = entry(args)?;
    if args.print {
        println!("{}", serde_json::to_string_pretty(&entry).context("render the entry")?);
        return Ok(ExitCode::SUCCESS);
    }
    let path = match &args.config_file {
        Some(p) => p.clone(),
        None => default_file(args.client)?,
    };
    let backup = merge_into(&path, &entry)?;
    match backup {
        Some(b) => {
            eprintln!("Added {:?} to {} (the previous file is kept as {}).", args.name, path.display(), b.display())
        }
        None => eprintln!("Created {} with {:?}.", path.display(), args.name),
    }
    if args.transport == Transport::Http {
        match (args.client, &args.api_key_env) {
            (Client::Vscode, None) => {
                eprintln!("VS Code asks for the Warden API key once and keeps it in its secret storage.")
            }
            (_, var) => eprintln!(
                "The client reads the key from ${}: set it in the environment the client starts in (`warden keys create` makes one).",
                var.as_deref().unwrap_or("WARDEN_API_KEY")
            ),
        }
    }
    eprintln!("Restart the client (or reload its MCP servers) to connect.");
    Ok(ExitCode::SUCCESS)
}

/// The client's config file in the user's home (VS Code: this workspace's).
fn default_file(client: Client) -> Result<PathBuf> {
    let home = || {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .context("HOME is not set: pass --config-file")
    };
    Ok(match client {
        Client::ClaudeDesktop if cfg!(target_os = "macos") => {
            home()?.join("Library/Application Support/Claude/claude_desktop_config.json")
        }
        Client::ClaudeDesktop => std::env::var_os("XDG_CONFIG_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .map_or_else(|| home().map(|h| h.join(".config")), Ok)?
            .join("Claude/claude_desktop_config.json"),
        Client::Cursor => home()?.join(".cursor/mcp.json"),
        Client::ClaudeCode => home()?.join(".claude.json"),
        Client::Vscode => PathBuf::from(".vscode/mcp.json"),
    })
}

/// The document to merge: `{"mcpServers": {NAME: {...}}}` (VS Code: `{"servers":
/// {...}, "inputs": [...]}`).
fn entry(args: &InstallArgs) -> Result<Value> {
    const INPUT_ID: &str = "warden-api-key";
    let server = match args.transport {
        Transport::Stdio => {
            let exe = std::env::current_exe().context("cannot find this warden binary's path")?;
            let mut argv = vec!["serve".to_string(), "--stdio".to_string()];
            if let Some(config) = &args.config {
                let abs = std::path::absolute(config).with_context(|| format!("{}", config.display()))?;
                anyhow::ensure!(abs.is_file(), "--config {}: no such file", abs.display());
                argv.push("--config".into());
                argv.push(abs.display().to_string());
            }
            let mut s = Map::new();
            if matches!(args.client, Client::ClaudeCode | Client::Vscode) {
                s.insert("type".into(), json!("stdio"));
            }
            s.insert("command".into(), json!(exe.display().to_string()));
            s.insert("args".into(), json!(argv));
            s.insert("env".into(), json!({}));
            Value::Object(s)
        }
        Transport::Http => {
            anyhow::ensure!(
                args.url.starts_with("http://") || args.url.starts_with("https://"),
                "--url {:?} is not an http:// or https:// URL",
                args.url
            );
            let var = args.api_key_env.as_deref().unwrap_or("WARDEN_API_KEY");
            let reference = match args.client {
                Client::ClaudeDesktop => bail!(
                    "Claude Desktop's config file only launches commands: use --transport stdio (or add the URL as a custom connector in its settings)"
                ),
                Client::Cursor => format!("${{env:{var}}}"),
                Client::ClaudeCode => format!("${{{var}}}"),
                Client::Vscode if args.api_key_env.is_none() => format!("${{input:{INPUT_ID}}}"),
                Client::Vscode => format!("${{env:{var}}}"),
            };
            let mut s = Map::new();
            if matches!(args.client, Client::ClaudeCode | Client::Vscode) {
                s.insert("type".into(), json!("http"));
            }
            s.insert("url".into(), json!(args.url));
            s.insert("headers".into(), json!({ "Authorization": format!("Bearer {reference}") }));
            Value::Object(s)
        }
    };
    Ok(match args.client {
        Client::Vscode => {
            let mut doc = json!({ "servers": { args.name.clone(): server } });
            if args.transport == Transport::Http && args.api_key_env.is_none() {
                doc["inputs"] = json!([{
                    "type": "promptString",
                    "id": INPUT_ID,
                    "description": "Warden API key",
                    "password": true
                }]);
            }
            doc
        }
        _ => json!({ "mcpServers": { args.name.clone(): server } }),
    })
}

/// Merge `doc` into the JSON object in `path` (created if absent): each server
/// entry replaces the one of the same name, inputs are added unless one with the
/// same id exists, everything else is kept. Returns the backup's path.
fn merge_into(path: &Path, doc: &Value) -> Result<Option<PathBuf>> {
    let original = match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut current = match &original {
        // An empty file is treated as a new one (editors create them).
        Some(bytes) if !bytes.iter().all(u8::is_ascii_whitespace) => {
            let value: Value = serde_json::from_slice(bytes).map_err(|e| {
                anyhow::anyhow!(
                    "{} is not valid JSON (line {}, column {}); it was left untouched",
                    path.display(),
                    e.line(),
                    e.column()
                )
            })?;
            anyhow::ensure!(value.is_object(), "{} is not a JSON object; it was left untouched", path.display());
            value
        }
        _ => json!({}),
    };
    let Some(target) = current.as_object_mut() else {
        bail!("{} is not a JSON object; it was left untouched", path.display());
    };
    for (section, value) in doc.as_object().into_iter().flatten() {
        match (section.as_str(), value) {
            ("inputs", Value::Array(new)) => {
                let inputs = target.entry("inputs").or_insert_with(|| json!([]));
                let Some(list) = inputs.as_array_mut() else {
                    bail!("{}: \"inputs\" is not a list; the file was left untouched", path.display());
                };
                for input in new {
                    if !list.iter().any(|i| i.get("id") == input.get("id")) {
                        list.push(input.clone());
                    }
                }
            }
            (_, Value::Object(entries)) => {
                let servers = target.entry(section.clone()).or_insert_with(|| json!({}));
                let Some(servers) = servers.as_object_mut() else {
                    bail!("{}: {section:?} is not an object; the file was left untouched", path.display());
                };
                for (name, server) in entries {
                    servers.insert(name.clone(), server.clone());
                }
            }
            _ => {}
        }
    }
    let mut text = serde_json::to_string_pretty(&current).context("render the config")?;
    text.push('\n');
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let backup = match &original {
        Some(bytes) => Some(write_backup(path, bytes)?),
        None => None,
    };
    write_atomic(path, text.as_bytes())?;
    Ok(backup)
}

/// `FILE.bak-YYYYMMDDTHHMMSSZ` (`-2`, `-3`, ... if taken), with the original bytes.
fn write_backup(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    use std::io::Write;
    let stamp = utc_stamp(std::time::SystemTime::now());
    for n in 1..1000 {
        let suffix = if n == 1 { stamp.clone() } else { format!("{stamp}-{n}") };
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".bak-{suffix}"));
        let backup = PathBuf::from(name);
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&backup) {
            Ok(mut f) => {
                if let Ok(meta) = std::fs::metadata(path) {
                    let _ = f.set_permissions(meta.permissions());
                }
                f.write_all(bytes)
                    .and_then(|()| f.sync_all())
                    .with_context(|| format!("cannot write {}", backup.display()))?;
                return Ok(backup);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot write the backup {}", backup.display())),
        }
    }
    bail!("cannot name a backup of {}: too many backups this second", path.display())
}

/// Write through a temporary file in the same directory, keeping the permissions of
/// the file it replaces (owner-only for a new one).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp_name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    let mode = std::fs::metadata(path).map(|m| m.permissions().mode()).unwrap_or(0o600);
    let written = f
        .write_all(bytes)
        .and_then(|()| f.set_permissions(std::fs::Permissions::from_mode(mode)))
        .and_then(|()| f.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot replace {}", path.display()));
    }
    Ok(())
}

/// `YYYYMMDDTHHMMSSZ` for `t` (UTC; civil-from-days, Howard Hinnant's algorithm).
fn utc_stamp(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_calendar_dates() {
        let at = |s: u64| utc_stamp(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(at(0), "19700101T000000Z");
        assert_eq!(at(951_782_400), "20000229T000000Z");
        assert_eq!(at(1_798_761_599), "20261231T235959Z");
    }
}
