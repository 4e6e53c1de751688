//! Building a Python plugin (componentize-py) into a component.
//!
//! componentize-py (PyPI) bundles CPython and the plugin's modules into one
//! component; it runs from a virtualenv that `warden plugin build` creates once in
//! the toolchains directory ([`toolchains_dir`]). The project's `app.py` defines one
//! class per exported interface (`Lifecycle`, `InputGuardrail`, `Auth`, ...); the
//! `wit_world` bindings package is generated during the build, never committed.
//!
//! The sandbox grants no WASI (files, clocks, sockets and stdio trap), so the build
//! compiles with `--stub-wasi` and enters through `.warden/python/warden_main.py`,
//! which sends `print()` and stderr to the gateway's log, logs the traceback of an
//! exception escaping the app, and fills hooks the app leaves out (allow / no edits).
//! A `requirements.txt` (pure-Python packages only) is installed into
//! `.warden/python/deps` when it changes.

use super::{PluginManifest, WARDEN_DIR, write_if_changed};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The componentize-py release plugins are built with.
pub const COMPONENTIZE_PY: &str = "0.25.1";

/// Build the Python plugin in `dir` into the component `out`.
pub fn build(dir: &Path, manifest: &PluginManifest, out: &Path) -> Result<()> {
    let dir = std::fs::canonicalize(dir).with_context(|| format!("cannot open {}", dir.display()))?;
    let out = std::path::absolute(out).with_context(|| format!("bad output path {}", out.display()))?;
    anyhow::ensure!(
        dir.join("app.py").exists(),
        "{} is a Python plugin but has no app.py (the module defining the exported classes)",
        dir.display()
    );
    let venv = componentize_py()?;
    let shim = dir.join(WARDEN_DIR).join("python");
    write_if_changed(&shim.join("warden_main.py"), MAIN.as_bytes())?;
    let mut cmd = Command::new(venv_bin(&venv, "componentize-py"));
    cmd.arg("-q")
        .arg("-d")
        .arg(dir.join(WARDEN_DIR).join("wit"))
        .args(["-w", manifest.world.wit_world(), "componentize", "--stub-wasi"])
        .arg("-p")
        .arg(&shim)
        .arg("-p")
        .arg(&dir);
    if let Some(deps) = requirements(&dir, &venv)? {
        cmd.arg("-p").arg(deps);
    }
    // Only the paths given above: not whatever virtualenv the caller has active.
    cmd.arg("-o").arg(&out).arg("warden_main").current_dir(&dir).env_remove("VIRTUAL_ENV");
    // Its errors are about the plugin's code: no backtraces of componentize-py itself.
    cmd.env("RUST_BACKTRACE", "0").env("RUST_LIB_BACKTRACE", "0");
    let status = cmd.status().context("cannot run componentize-py")?;
    anyhow::ensure!(status.success(), "componentize-py failed for plugin {} ({status})", manifest.name);
    Ok(())
}

/// Where the Python and JavaScript toolchains are installed: `$WARDEN_TOOLCHAINS`,
/// else `$XDG_CACHE_HOME/warden/toolchains`, else `~/.cache/warden/toolchains`.
pub fn toolchains_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("WARDEN_TOOLCHAINS").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .context("no cache directory for toolchains: set WARDEN_TOOLCHAINS (or HOME)")?;
    Ok(base.join("warden").join("toolchains"))
}

/// Written into a toolchain's directory once its install completed.
pub(crate) const INSTALLED: &str = ".warden-installed";

/// Run `install` into `root` unless a previous run completed there. Concurrent
/// builds (other processes too) wait on a lock file instead of installing twice.
pub(crate) fn install_once(root: &Path, install: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let done = root.join(INSTALLED);
    if done.exists() {
        return Ok(());
    }
    let parent = root.parent().context("toolchain directory has no parent")?;
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let name = root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let lock_path = parent.join(format!(".{name}.lock"));
    let lock = std::fs::File::create(&lock_path).with_context(|| format!("cannot create {}", lock_path.display()))?;
    lock.lock().with_context(|| format!("cannot lock {}", lock_path.display()))?;
    if done.exists() {
        return Ok(()); // installed by whoever held the lock
    }
    if root.exists() {
        // A half-finished install (interrupted): start over.
        std::fs::remove_dir_all(root).with_context(|| format!("cannot remove {}", root.display()))?;
    }
    install(root)?;
    std::fs::write(&done, b"").with_context(|| format!("cannot write {}", done.display()))?;
    Ok(())
}

/// Run `cmd`, failing with `what` and its exit status.
pub(crate) fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd.status().with_context(|| format!("cannot run {what}"))?;
    anyhow::ensure!(status.success(), "{what} failed ({status})");
    Ok(())
}

/// The virtualenv holding componentize-py, created on first use.
fn componentize_py() -> Result<PathBuf> {
    let venv = toolchains_dir()?.join(format!("componentize-py-{COMPONENTIZE_PY}"));
    if !venv_bin(&venv, "python").exists() {
        // Never installed, or the Python it was made from is gone: (re)install.
        let _ = std::fs::remove_file(venv.join(INSTALLED));
    }
    install_once(&venv, |venv| {
        let python = python()?;
        eprintln!("installing componentize-py {COMPONENTIZE_PY} into {} (once; from PyPI)", venv.display());
        let venv_ok = Command::new(&python).arg("-m").arg("venv").arg(venv).status();
        anyhow::ensure!(
            venv_ok.is_ok_and(|s| s.success()),
            "`{python} -m venv` failed: Python's venv module is needed (on Debian/Ubuntu: apt install python3-venv)"
        );
        run(
            Command::new(venv_bin(venv, "python")).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                &format!("componentize-py=={COMPONENTIZE_PY}"),
            ]),
            "pip install componentize-py",
        )
    })?;
    Ok(venv)
}

/// The Python that creates the virtualenv: `$WARDEN_PYTHON`, else python3, else python.
fn python() -> Result<String> {
    let candidates = match std::env::var("WARDEN_PYTHON") {
        Ok(p) if !p.is_empty() => vec![p],
        _ => vec!["python3".to_string(), "python".to_string()],
    };
    for p in &candidates {
        if let Ok(o) = Command::new(p).arg("--version").output()
            && o.status.success()
        {
            return Ok(p.clone());
        }
    }
    anyhow::bail!(
        "Python not found ({} is not on PATH): Python plugins are built with componentize-py, which needs \
         Python 3.9 or newer with pip and venv. Install it (e.g. apt install python3 python3-venv), \
         or point WARDEN_PYTHON at one.",
        candidates.join(", ")
    )
}

fn venv_bin(venv: &Path, exe: &str) -> PathBuf {
    if cfg!(windows) { venv.join("Scripts").join(format!("{exe}.exe")) } else { venv.join("bin").join(exe) }
}

/// `requirements.txt`, installed into `.warden/python/deps` when it changed since
/// the last build; the directory to add to the module path, if any.
fn requirements(dir: &Path, venv: &Path) -> Result<Option<PathBuf>> {
    let Ok(wanted) = std::fs::read(dir.join("requirements.txt")) else { return Ok(None) };
    let deps = dir.join(WARDEN_DIR).join("python").join("deps");
    let stamp = deps.join(".requirements.txt");
    if std::fs::read(&stamp).is_ok_and(|had| had == wanted) {
        return Ok(Some(deps));
    }
    if deps.exists() {
        std::fs::remove_dir_all(&deps).with_context(|| format!("cannot remove {}", deps.display()))?;
    }
    eprintln!("installing requirements.txt into {}", deps.display());
    run(
        Command::new(venv_bin(venv, "python"))
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile", "--target"])
            .arg(&deps)
            .arg("-r")
            .arg(dir.join("requirements.txt")),
        "pip install -r requirements.txt",
    )?;
    std::fs::write(&stamp, wanted).with_context(|| format!("cannot write {}", stamp.display()))?;
    Ok(Some(deps))
}

/// The component's entry module, written to `.warden/python/warden_main.py`.
const MAIN: &str = r#""""Written by `warden plugin build`; do not edit. The component's entry module.

Plugins get no WASI: files, clocks, sockets and stdio trap. So print() and stderr go
to the gateway's log, an exception escaping the app is logged with its traceback
before the call fails, and guardrail hooks the app leaves out allow everything.
"""

import functools
import sys
import traceback

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host, types


class _LogStream:
    def __init__(self, level):
        self.level = level
        self.pending = ""

    def write(self, text):
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            if line.strip():
                host.log(self.level, line)
        return len(text)

    def flush(self):
        if self.pending.strip():
            host.log(self.level, self.pending)
        self.pending = ""


sys.stdout = _LogStream(host.Level.INFO)
sys.stderr = _LogStream(host.Level.WARN)

import app  # noqa: E402  (the plugin: app.py)


def _logged(name, fn):
    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Err:
            raise  # an error result, part of the contract
        except BaseException as e:
            # Frames without source lines: reading the .py files would need WASI.
            frames = "".join(
                f"\n  {f.f_code.co_filename}:{line} in {f.f_code.co_name}" for f, line in traceback.walk_tb(e.__traceback__.tb_next)
            )
            host.log(host.Level.ERROR, f"{name} failed: {type(e).__name__}: {e}{frames}")
            raise

    return call


_DEFAULTS = {
    "InputGuardrail": {"check_input": lambda self, ctx, content: types.Verdict_Allow()},
    "OutputGuardrail": {"check_output": lambda self, ctx, content: types.Verdict_Allow()},
    "ToolGuardrail": {"check_tool": lambda self, server, content: types.Verdict_Allow()},
    "PiiHandler": {"restore": lambda self, ctx, restore_state, content: []},
}

for _name, _protocol in list(vars(exports).items()):
    if not isinstance(_protocol, type) or _protocol.__module__ != exports.__name__:
        continue
    _cls = getattr(app, _name, None)
    if _cls is None:
        if _name not in _DEFAULTS:
            raise ImportError(f"app.py must define `class {_name}(exports.{_name})`")
        _cls = type(_name, (_protocol,), dict(_DEFAULTS[_name]))
    else:
        for _attr, _fn in list(vars(_cls).items()):
            if callable(_fn) and not _attr.startswith("_"):
                setattr(_cls, _attr, _logged(f"{_name}.{_attr}", _fn))
    globals()[_name] = _cls
"#;
