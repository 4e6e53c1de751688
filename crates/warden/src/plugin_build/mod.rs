//! Plugin projects: the `warden-plugin.toml` manifest, the files Warden keeps in a
//! project's `.warden/` directory, and `warden plugin build` per language.
//!
//! A project is a directory holding `warden-plugin.toml` (name, language, world) and
//! the plugin's sources. `.warden/` is Warden's: `wit/plugin.wit` (the contract, as
//! this binary speaks it) and, for Rust, the SDK crate the project depends on by
//! path (`crates/warden-plugin-sdk`; the SDK is not published, and its bindings read
//! `../../wit`). `plugin new` writes it and `plugin build` refreshes it, so a project
//! always builds against the WIT of the `warden` that runs it.

pub mod javascript;
pub mod python;
mod rust;
pub mod scaffold;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use warden_core::PluginKind;

/// The manifest's file name, at the root of a plugin project.
pub const MANIFEST_FILE: &str = "warden-plugin.toml";

/// Warden's own directory inside a project (generated; not to be edited).
pub const WARDEN_DIR: &str = ".warden";

/// The plugin contract this binary implements.
pub const WIT: &str = include_str!("../../../../wit/plugin.wit");

/// The language a plugin is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Rust, with the Warden plugin SDK (cargo, target wasm32-wasip2).
    Rust,
    /// Python, built with componentize-py.
    Python,
    /// JavaScript, built with componentize-js.
    Javascript,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Javascript => "javascript",
        }
    }
}

/// Which provider a plugin is: the WIT world it targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum World {
    /// Checks tool-call arguments, results and tool definitions (`guardrail-provider`).
    Guardrail,
    /// Authenticates callers (`auth-provider`).
    Auth,
    /// Receives audit events (`telemetry-provider`).
    Telemetry,
}

impl World {
    pub fn as_str(self) -> &'static str {
        match self {
            World::Guardrail => "guardrail",
            World::Auth => "auth",
            World::Telemetry => "telemetry",
        }
    }

    /// The `kind` of its `[[plugins]]` entry.
    pub fn kind(self) -> PluginKind {
        match self {
            World::Guardrail => PluginKind::Guardrail,
            World::Auth => PluginKind::Auth,
            World::Telemetry => PluginKind::Telemetry,
        }
    }

    /// The world's name in `wit/plugin.wit`.
    pub fn wit_world(self) -> &'static str {
        self.kind().world()
    }
}

/// `warden-plugin.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PluginManifest {
    /// The plugin's name: the component is `NAME.wasm`, and the suggested
    /// `[[plugins]]` entry uses it.
    pub name: String,
    pub lang: Lang,
    pub world: World,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl PluginManifest {
    /// Parse a manifest's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<PluginManifest> {
        let m: PluginManifest = toml::from_str(text).with_context(|| format!("{origin} is invalid"))?;
        anyhow::ensure!(
            valid_name(&m.name),
            "{origin}: name {:?} is not a valid plugin name (a-z, 0-9 and -, starting with a letter, at most 64)",
            m.name
        );
        Ok(m)
    }

    /// The manifest of the project in `dir`. Without one, says what the directory
    /// looks like and what to write.
    pub fn load(dir: &Path) -> Result<PluginManifest> {
        let path = dir.join(MANIFEST_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => PluginManifest::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let guess =
                    detect_lang(dir).map(|l| format!(" (it looks like a {} project)", l.as_str())).unwrap_or_default();
                anyhow::bail!(
                    "{} has no {MANIFEST_FILE}{guess}; create a project with `warden plugin new`, or write one:\n\n\
                     name = \"my-plugin\"\nlang = \"rust\"        # rust | python | javascript\n\
                     world = \"guardrail\"   # guardrail | auth | telemetry\n",
                    dir.display()
                )
            }
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// The manifest as TOML, with a comment for readers.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!(
            "# Read by `warden plugin build`. lang: rust | python | javascript; world: guardrail | auth | telemetry\n{body}"
        )
    }
}

/// A plugin name: also a crate, package and file name, so kept plain.
pub fn valid_name(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.ends_with('-')
}

/// The language of the sources in `dir`, from the files it has.
pub fn detect_lang(dir: &Path) -> Option<Lang> {
    let has = |f: &str| dir.join(f).exists();
    if has("Cargo.toml") {
        Some(Lang::Rust)
    } else if has("pyproject.toml") || has("app.py") || has("requirements.txt") {
        Some(Lang::Python)
    } else if has("package.json") {
        Some(Lang::Javascript)
    } else {
        None
    }
}

/// Write `.warden/` into the project at `dir` for `lang`: the WIT always, the SDK
/// for Rust. Files already up to date are not touched (their timestamps decide
/// what cargo rebuilds). Returns the directory holding `plugin.wit`.
pub fn write_warden_dir(dir: &Path, lang: Lang) -> Result<PathBuf> {
    let root = dir.join(WARDEN_DIR);
    write_if_changed(&root.join("README.md"), README.as_bytes())?;
    write_if_changed(&root.join(".gitignore"), b"# Written by warden; regenerate with `warden plugin build`.\n*\n")?;
    let wit = root.join("wit");
    write_if_changed(&wit.join("plugin.wit"), WIT.as_bytes())?;
    if lang == Lang::Rust {
        let sdk = root.join("crates/warden-plugin-sdk");
        for (path, bytes) in crate::builtins::SDK_FILES {
            write_if_changed(&sdk.join(path), bytes)?;
        }
    }
    Ok(wit)
}

const README: &str = "Written by `warden plugin new` and refreshed by `warden plugin build`: the plugin \
contract (wit/plugin.wit) of the warden binary that builds this plugin and, for Rust, the \
warden-plugin-sdk crate. Do not edit; changes are overwritten.\n";

/// Write `bytes` to `path` unless it already holds exactly that.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Build the project in `dir` into `out` with its language's toolchain.
pub fn build(dir: &Path, manifest: &PluginManifest, out: &Path) -> Result<()> {
    write_warden_dir(dir, manifest.lang)?;
    match manifest.lang {
        Lang::Rust => rust::build(dir, manifest, out),
        Lang::Python => python::build(dir, manifest, out),
        Lang::Javascript => javascript::build(dir, manifest, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_parse_and_errors_name_the_problem() {
        let m =
            PluginManifest::parse("name = \"my-guard\"\nlang = \"rust\"\nworld = \"guardrail\"\n", "m").expect("ok");
        assert_eq!((m.name.as_str(), m.lang, m.world), ("my-guard", Lang::Rust, World::Guardrail));
        assert_eq!(PluginManifest::parse(&m.to_toml(), "again").expect("round trip"), m);
        let err = |text: &str| format!("{:#}", PluginManifest::parse(text, "m").expect_err("invalid manifest"));
        let e = err("name = \"x\"\nlang = \"go\"\nworld = \"auth\"\n");
        assert!(e.contains("lang") && e.contains("go"), "{e}");
        let e = err("name = \"x\"\nlang = \"rust\"\n");
        assert!(e.contains("world"), "{e}");
        let e = err("name = \"Bad Name\"\nlang = \"rust\"\nworld = \"auth\"\n");
        assert!(e.contains("not a valid plugin name"), "{e}");
    }

    #[test]
    fn names() {
        for ok in ["a", "my-guard", "guard2", "x-1-y"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "1x", "-x", "x-", "My", "a_b", "a.b", &"a".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
