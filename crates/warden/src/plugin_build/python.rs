//! Building a Python plugin (componentize-py) into a component.

use super::PluginManifest;
use std::path::Path;

/// Build the Python plugin in `dir` into the component `out`.
pub fn build(dir: &Path, manifest: &PluginManifest, out: &Path) -> anyhow::Result<()> {
    let _ = (dir, out);
    anyhow::bail!("plugin {}: building Python plugins is not implemented yet", manifest.name)
}
