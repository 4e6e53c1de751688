//! `warden plugin new`: a plugin project from the templates embedded in the binary
//! (`plugins/templates/LANG/WORLD/`).
//!
//! Every file of the template is copied; in text files `{{name}}` becomes the plugin
//! name and `{{crate_name}}` its snake_case form (for Rust crate and Python module
//! names). A template may carry its own `warden-plugin.toml`; otherwise one is
//! written. Then `.warden/` gets the WIT (and, for Rust, the SDK).

use super::{Lang, MANIFEST_FILE, PluginManifest, World};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The template files for `lang`/`world`: (path inside the project, bytes).
pub fn template(lang: Lang, world: World) -> Vec<(&'static str, &'static [u8])> {
    let prefix = format!("{}/{}/", lang.as_str(), world.as_str());
    crate::builtins::TEMPLATES.iter().filter_map(|&(path, bytes)| Some((path.strip_prefix(&prefix)?, bytes))).collect()
}

/// The (language, world) pairs this binary has templates for.
pub fn available() -> Vec<String> {
    let mut pairs: Vec<String> = crate::builtins::TEMPLATES
        .iter()
        .filter_map(|(path, _)| {
            let mut parts = path.splitn(3, '/');
            let (lang, world) = (parts.next()?, parts.next()?);
            parts.next().map(|_| format!("{lang}/{world}"))
        })
        .collect();
    pairs.dedup();
    pairs
}

/// Create the project `name` in `dir` (which must not exist or be empty). Returns
/// the files written, relative to `dir`.
pub fn new(lang: Lang, world: World, name: &str, dir: &Path) -> Result<Vec<PathBuf>> {
    anyhow::ensure!(
        super::valid_name(name),
        "{name:?} is not a valid plugin name: use a-z, 0-9 and -, starting with a letter (at most 64)"
    );
    let files = template(lang, world);
    anyhow::ensure!(
        !files.is_empty(),
        "this warden has no {} template for the {} world (it has: {})",
        lang.as_str(),
        world.as_str(),
        available().join(", ")
    );
    if let Ok(mut entries) = std::fs::read_dir(dir) {
        anyhow::ensure!(entries.next().is_none(), "{} already exists and is not empty", dir.display());
    }
    let crate_name = name.replace('-', "_");
    let mut written = Vec::new();
    for (rel, bytes) in &files {
        let text;
        let bytes = match std::str::from_utf8(bytes) {
            Ok(s) => {
                text = s.replace("{{name}}", name).replace("{{crate_name}}", &crate_name);
                text.as_bytes()
            }
            Err(_) => bytes,
        };
        let path = dir.join(rel);
        super::write_if_changed(&path, bytes)?;
        written.push(PathBuf::from(rel));
    }
    if !files.iter().any(|(rel, _)| *rel == MANIFEST_FILE) {
        let manifest =
            PluginManifest { name: name.to_string(), lang, world, version: Some("0.1.0".into()), description: None };
        std::fs::write(dir.join(MANIFEST_FILE), manifest.to_toml())
            .with_context(|| format!("cannot write {}", dir.join(MANIFEST_FILE).display()))?;
        written.push(PathBuf::from(MANIFEST_FILE));
    }
    // The written manifest must say what was asked for (a template's own included).
    let manifest = PluginManifest::load(dir)?;
    anyhow::ensure!(
        manifest.lang == lang && manifest.world == world && manifest.name == name,
        "the {} {} template's {MANIFEST_FILE} does not match the project (a bug in the template)",
        lang.as_str(),
        world.as_str()
    );
    super::write_warden_dir(dir, lang)?;
    written.push(PathBuf::from(super::WARDEN_DIR));
    written.sort();
    Ok(written)
}
