//! Builds the WASM test fixtures once per build of this crate and writes
//! `$OUT_DIR/fixtures.rs` with the path of each component.

use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir.join("../..").canonicalize().expect("workspace root exists");
    let target = warden_wasm_build::outer_target_dir(&root).join("wasm");
    let sdk = root.join("crates/warden-plugin-sdk");
    let wit = root.join("wit");

    let fixtures = root.join("tests/fixtures");
    let plugins = root.join("plugins");
    let mut consts = String::new();
    for (workspace, members) in [(&fixtures, "hostile"), (&plugins, "")] {
        let dir = warden_wasm_build::build_workspace(
            &workspace.join("Cargo.toml"),
            &target,
            &[&workspace.join(members), &workspace.join("Cargo.toml"), &sdk, &wit],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        for name in cdylib_crates(&workspace.join(members)) {
            let path = warden_wasm_build::artifact(&dir, &name);
            assert!(path.exists(), "{} was not built", path.display());
            let ident = name.to_uppercase().replace('-', "_");
            consts.push_str(&format!(
                "/// `{name}`, built from source for wasm32-wasip2.\npub const {ident}: &str = {:?};\n",
                path.display().to_string()
            ));
        }
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("fixtures.rs");
    std::fs::write(out, consts).expect("write fixtures.rs");
}

/// Names of the cdylib crates directly under `dir` (a crate per subdirectory).
fn cdylib_crates(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("fixture dir readable")
        .filter_map(|e| {
            let manifest = std::fs::read_to_string(e.ok()?.path().join("Cargo.toml")).ok()?;
            if !manifest.contains("cdylib") {
                return None;
            }
            let name_line = manifest.lines().find(|l| l.starts_with("name = "))?;
            Some(name_line.trim_start_matches("name = ").trim_matches('"').to_string())
        })
        .collect();
    names.sort();
    names
}
