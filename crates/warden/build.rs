//! Compiles the default plugins (`plugins/*`) to wasm32-wasip2 components and
//! writes `$OUT_DIR/builtins.rs`, which embeds them with `include_bytes!` so the
//! binary needs no plugin files. Also embeds what `warden plugin new` writes: every
//! file under `plugins/templates/` and the sources of `crates/warden-plugin-sdk`.

use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir.join("../..").canonicalize().expect("workspace root exists");
    let plugins = root.join("plugins");
    let target = warden_wasm_build::outer_target_dir(&root).join("wasm");
    let dir = warden_wasm_build::build_workspace(
        &plugins.join("Cargo.toml"),
        &target,
        &[&plugins, &root.join("crates/warden-plugin-sdk"), &root.join("wit")],
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let mut names: Vec<String> = std::fs::read_dir(&plugins)
        .expect("plugins/ readable")
        .filter_map(|e| {
            let e = e.ok()?;
            let manifest = std::fs::read_to_string(e.path().join("Cargo.toml")).ok()?;
            manifest.contains("cdylib").then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    let mut src =
        String::from("/// The plugins embedded in this binary, by name.\npub const BUILTINS: &[(&str, &[u8])] = &[\n");
    for name in names {
        let path = warden_wasm_build::artifact(&dir, &name);
        assert!(path.exists(), "{} was not built", path.display());
        src.push_str(&format!("    ({name:?}, include_bytes!({:?})),\n", path.display().to_string()));
    }
    src.push_str("];\n");
    let templates = plugins.join("templates");
    embed(&mut src, "TEMPLATES", "Files of `plugins/templates/`, by path under it.", &templates, &tree(&templates));
    let sdk = root.join("crates/warden-plugin-sdk");
    embed(
        &mut src,
        "SDK_FILES",
        "Sources of `crates/warden-plugin-sdk` (and its world crates), by path under it.",
        &sdk,
        &tree(&sdk),
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("builtins.rs");
    std::fs::write(out, src).expect("write builtins.rs");
}

/// Every file under `dir` except build output and dependency caches, sorted.
fn tree(dir: &Path) -> Vec<PathBuf> {
    const SKIP: &[&str] = &["target", "node_modules", "__pycache__", ".venv", "venv", "dist", ".warden"];
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return files };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !SKIP.contains(&name.as_str()) {
                files.extend(tree(&path));
            }
        } else if !name.ends_with(".wasm") && !name.ends_with(".pyc") && name != "Cargo.lock" {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// `pub const NAME: &[(&str, &[u8])]`: each file's path relative to `base` and bytes.
fn embed(src: &mut String, name: &str, doc: &str, base: &Path, files: &[PathBuf]) {
    src.push_str(&format!("/// {doc}\npub const {name}: &[(&str, &[u8])] = &[\n"));
    for file in files {
        let rel = file.strip_prefix(base).expect("under base").to_string_lossy().replace('\\', "/");
        src.push_str(&format!("    ({rel:?}, include_bytes!({:?})),\n", file.display().to_string()));
    }
    src.push_str("];\n");
}
