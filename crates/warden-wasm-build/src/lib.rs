//! Compiles a separate Cargo workspace of plugins (or test fixtures) to
//! `wasm32-wasip2` components from a build script.
//!
//! The outer `cargo` holds the lock on its own target directory, so the inner build
//! gets a directory of its own (`<target>/wasm`), shared by every build script that
//! uses this crate so a plugin is compiled once however many crates embed it. The
//! inner cargo is cleaned of the outer build's flags and wrappers (clippy's wrapper
//! must not lint plugins; host RUSTFLAGS must not reach a wasm build).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The wasm target every plugin is built for.
pub const TARGET: &str = "wasm32-wasip2";

/// Variables of the outer build that must not leak into the inner one.
const SCRUBBED_ENV: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_PKG_NAME",
    "DEBUG",
    "OPT_LEVEL",
    "PROFILE",
    "TARGET",
    "HOST",
];

/// Remove the outer build's flags and wrappers from an inner cargo command.
pub fn scrub(cmd: &mut Command) {
    for var in SCRUBBED_ENV {
        cmd.env_remove(var);
    }
}

/// Where the outer build's target directory is (`CARGO_TARGET_DIR`, else `<root>/target`).
pub fn outer_target_dir(workspace_root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root.join("target"))
}

/// Build every `cdylib` of the workspace at `manifest` in release mode and return the
/// directory holding the resulting `<crate_name>.wasm` files. Emits
/// `rerun-if-changed` for each of `watch`, so unchanged plugins are not rebuilt.
pub fn build_workspace(manifest: &Path, target_dir: &Path, watch: &[&Path]) -> Result<PathBuf, String> {
    for path in watch {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--workspace", "--target", TARGET, "--manifest-path"])
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir);
    scrub(&mut cmd);
    let status = cmd.status().map_err(|e| format!("cannot run cargo for {}: {e}", manifest.display()))?;
    if !status.success() {
        return Err(format!(
            "building {} for {TARGET} failed ({status}); is the target installed? \
             (`rustup target add {TARGET}`)",
            manifest.display()
        ));
    }
    Ok(target_dir.join(TARGET).join("release"))
}

/// The `.wasm` file of crate `name` in `dir` (dashes become underscores).
pub fn artifact(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{}.wasm", name.replace('-', "_")))
}
