//! Compiles the default plugins (`plugins/*`) to wasm32-wasip2 components and
//! writes `$OUT_DIR/builtins.rs`, which embeds them with `include_bytes!` so the
//! binary needs no plugin files.

use std::path::PathBuf;

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
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("builtins.rs");
    std::fs::write(out, src).expect("write builtins.rs");
}
