//! The default plugins' own unit tests (detector logic, checksums, config errors),
//! run on the host target. `plugins/` is a workspace of its own, so the root
//! `cargo test --workspace` would not reach them: this test runs them, with a
//! target directory of their own (the outer cargo holds the lock on its own).

use std::path::PathBuf;
use std::process::Command;

#[test]
fn default_plugins_pass_their_unit_tests() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = warden_wasm_build::outer_target_dir(&root).join("plugin-unit-tests");
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(["test", "--workspace", "--quiet", "--manifest-path"])
        .arg(root.join("plugins/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target);
    warden_wasm_build::scrub(&mut cmd);
    let out = cmd.output().expect("cargo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "plugin unit tests failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let passed: u32 = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test result: ok. "))
        .filter_map(|l| l.split(' ').next()?.parse::<u32>().ok())
        .sum();
    println!("{passed} plugin unit tests passed");
    assert!(passed >= 50, "too few plugin tests ran:\n{stdout}");
}
