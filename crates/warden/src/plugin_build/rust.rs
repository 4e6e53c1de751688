//! Building a Rust plugin: `cargo build --release --target wasm32-wasip2`, the
//! component taken from cargo's own report of what it built (so `CARGO_TARGET_DIR`
//! and `.cargo/config.toml` are honoured).

use super::PluginManifest;
use anyhow::{Context, Result};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const TARGET: &str = "wasm32-wasip2";

pub fn build(dir: &Path, manifest: &PluginManifest, out: &Path) -> Result<()> {
    let dir = &std::fs::canonicalize(dir).with_context(|| format!("cannot open {}", dir.display()))?;
    let cargo_toml = dir.join("Cargo.toml");
    anyhow::ensure!(cargo_toml.exists(), "{} is a Rust plugin but has no Cargo.toml", dir.display());
    check_target(dir)?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = Command::new(&cargo)
        .args(["build", "--release", "--target", TARGET, "--message-format=json-render-diagnostics"])
        .arg("--manifest-path")
        .arg(&cargo_toml)
        // rustup picks the toolchain from the working directory (rust-toolchain.toml).
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                anyhow::anyhow!("cargo not found: install Rust (https://rustup.rs) to build Rust plugins")
            }
            _ => anyhow::anyhow!("cannot run cargo: {e}"),
        })?;
    let stdout = child.stdout.take().context("cargo's stdout")?;
    let mut wasm: Option<PathBuf> = None;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.context("reading cargo's output")?;
        if let Some(path) = artifact(&line) {
            wasm = Some(path);
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    anyhow::ensure!(status.success(), "cargo build of plugin {} failed ({status})", manifest.name);
    let wasm = wasm.with_context(|| {
        format!(
            "cargo built no .wasm for {}: is the crate a `cdylib` (`[lib] crate-type = [\"cdylib\"]`)?",
            manifest.name
        )
    })?;
    std::fs::copy(&wasm, out).with_context(|| format!("cannot copy {} to {}", wasm.display(), out.display()))?;
    Ok(())
}

/// The `.wasm` file a `compiler-artifact` message of cargo's JSON output names, if any.
fn artifact(line: &str) -> Option<PathBuf> {
    let msg: serde_json::Value = serde_json::from_str(line).ok()?;
    if msg["reason"] != "compiler-artifact" || !msg["target"]["kind"].as_array()?.iter().any(|k| k == "cdylib") {
        return None;
    }
    msg["filenames"].as_array()?.iter().filter_map(|f| f.as_str()).find(|f| f.ends_with(".wasm")).map(PathBuf::from)
}

/// Fail early, with the fix, when the toolchain has no wasm32-wasip2 standard library.
fn check_target(dir: &Path) -> Result<()> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = match Command::new(rustc).args(["--print", "sysroot"]).current_dir(dir).output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        Ok(_) => return Ok(()), // let cargo report whatever is wrong
        Err(_) => anyhow::bail!("rustc not found: install Rust (https://rustup.rs) to build Rust plugins"),
    };
    let lib = Path::new(&sysroot).join("lib/rustlib").join(TARGET);
    anyhow::ensure!(
        lib.exists(),
        "the Rust target {TARGET} is not installed (no {}); install it with:\n\n    rustup target add {TARGET}\n",
        lib.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cdylib_artifact_is_found_in_cargo_messages() {
        let lib = r#"{"reason":"compiler-artifact","target":{"kind":["lib"]},"filenames":["/t/libserde.rlib"]}"#;
        let plugin = r#"{"reason":"compiler-artifact","target":{"kind":["cdylib"]},"filenames":["/t/wasm32-wasip2/release/my_guard.wasm"]}"#;
        assert_eq!(artifact(lib), None);
        assert_eq!(artifact("not json"), None);
        assert_eq!(artifact(plugin), Some(PathBuf::from("/t/wasm32-wasip2/release/my_guard.wasm")));
    }
}
