//! Building a JavaScript plugin (componentize-js) into a component.
//!
//! componentize-js (npm) embeds the StarlingMonkey engine and a snapshot of the
//! plugin's modules in one component. It is installed once into the toolchains
//! directory ([`super::python::toolchains_dir`]) and driven through its JS API by a
//! small script there: the `jco componentize` CLI cannot read WIT files on every
//! machine. The project's entry module (`main` of its package.json, else `app.js`)
//! exports one object per exported interface, named in camelCase (`lifecycle`,
//! `inputGuardrail`, `auth`, ...); relative imports work, npm packages must be
//! bundled into it first (e.g. `esbuild --bundle --format=esm`).
//!
//! The sandbox grants no wall clock, files or HTTP, so the build disables
//! componentize-js's `http`, `fetch-event`, `stdio` (it imports wasi:filesystem) and
//! `clocks` (the wall clock) features; only `random` is kept. It enters through
//! `.warden/js/main.js`, which sends `console.*` to the gateway's log, logs an `Error`
//! escaping the app before the call fails, and fills guardrail hooks the app leaves
//! out (allow / no edits).

use super::python::{INSTALLED, install_once, run, toolchains_dir};
use super::{PluginManifest, WARDEN_DIR, World, write_if_changed};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The componentize-js release plugins are built with.
pub const COMPONENTIZE_JS: &str = "0.23.0";

/// Oldest Node.js major version componentize-js runs on.
const MIN_NODE: u32 = 18;

/// The WASI features of componentize-js the component is built without.
pub const DISABLED_FEATURES: &[&str] = &["http", "fetch-event", "stdio", "clocks"];

/// Build the JavaScript plugin in `dir` into the component `out`.
pub fn build(dir: &Path, manifest: &PluginManifest, out: &Path) -> Result<()> {
    let dir = std::fs::canonicalize(dir).with_context(|| format!("cannot open {}", dir.display()))?;
    let out = std::path::absolute(out).with_context(|| format!("bad output path {}", out.display()))?;
    let entry = entry(&dir)?;
    let tools = componentize_js()?;
    let script = tools.join("componentize.mjs");
    write_if_changed(&script, SCRIPT.as_bytes())?;
    let shim = dir.join(WARDEN_DIR).join("js");
    write_if_changed(&shim.join("console.js"), CONSOLE.as_bytes())?;
    write_if_changed(&shim.join("main.js"), main_js(&entry, manifest.world).as_bytes())?;
    // componentize-js maps the working directory into the build's view of files,
    // so the entry's relative imports resolve inside the project.
    run(
        Command::new("node")
            .arg(&script)
            .arg(shim.join("main.js"))
            .arg(dir.join(WARDEN_DIR).join("wit"))
            .arg(manifest.world.wit_world())
            .arg(&out)
            .arg(DISABLED_FEATURES.join(","))
            .current_dir(&dir),
        &format!("componentize-js for plugin {}", manifest.name),
    )
}

/// The entry module, relative to `dir`: `main` in package.json, else `app.js`.
fn entry(dir: &Path) -> Result<String> {
    let main = match std::fs::read_to_string(dir.join("package.json")) {
        Ok(text) => {
            let pkg: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", dir.join("package.json").display()))?;
            pkg["main"].as_str().unwrap_or("app.js").trim_start_matches("./").to_string()
        }
        Err(_) => "app.js".to_string(),
    };
    anyhow::ensure!(
        dir.join(&main).is_file(),
        "{} is a JavaScript plugin but has no {main} (its entry module: `main` in package.json, else app.js)",
        dir.display()
    );
    Ok(main)
}

/// The directory holding componentize-js, installed on first use.
fn componentize_js() -> Result<PathBuf> {
    let root = toolchains_dir()?.join(format!("componentize-js-{COMPONENTIZE_JS}"));
    if !root.join("node_modules/@bytecodealliance/componentize-js/package.json").exists() {
        let _ = std::fs::remove_file(root.join(INSTALLED)); // never installed, or damaged
    }
    install_once(&root, |root| {
        check_node()?;
        eprintln!(
            "installing @bytecodealliance/componentize-js {COMPONENTIZE_JS} into {} (once; from npm, about 400 MB)",
            root.display()
        );
        std::fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
        let package = serde_json::json!({
            "name": "warden-componentize-js",
            "private": true,
            "type": "module",
            "dependencies": { "@bytecodealliance/componentize-js": COMPONENTIZE_JS },
        });
        std::fs::write(root.join("package.json"), format!("{package:#}\n"))
            .with_context(|| format!("cannot write {}", root.join("package.json").display()))?;
        let npm = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(root)
            .status();
        match npm {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => anyhow::bail!("npm install @bytecodealliance/componentize-js failed ({s})"),
            Err(_) => anyhow::bail!(
                "npm not found: JavaScript plugins are built with componentize-js, installed with npm \
                 (it comes with Node.js {MIN_NODE} or newer, e.g. apt install nodejs npm)"
            ),
        }
    })?;
    check_node()?;
    Ok(root)
}

/// Node.js is on PATH and recent enough.
fn check_node() -> Result<()> {
    let Ok(o) = Command::new("node").arg("--version").output() else {
        anyhow::bail!(
            "node not found: JavaScript plugins are built with componentize-js, which needs Node.js {MIN_NODE} \
             or newer (e.g. apt install nodejs npm)"
        )
    };
    let version = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let major = version.trim_start_matches('v').split('.').next().and_then(|m| m.parse::<u32>().ok());
    anyhow::ensure!(
        major.is_some_and(|m| m >= MIN_NODE),
        "node {version} is too old: componentize-js needs Node.js {MIN_NODE} or newer"
    );
    Ok(())
}

/// The interfaces a world exports, as componentize-js names them.
fn exports(world: World) -> &'static [&'static str] {
    match world {
        World::Guardrail => &["lifecycle", "inputGuardrail", "outputGuardrail", "toolGuardrail", "piiHandler"],
        World::Auth => &["lifecycle", "auth"],
        World::Telemetry => &["lifecycle", "telemetry"],
    }
}

/// `.warden/js/main.js`: the component's entry module, re-exporting the app's hooks.
fn main_js(entry: &str, world: World) -> String {
    let mut src = String::from(MAIN_HEAD).replace("{{entry}}", entry);
    for name in exports(world) {
        src.push_str(&format!("export const {name} = hooks('{name}');\n"));
    }
    src
}

const MAIN_HEAD: &str = r#"// Written by `warden plugin build`; do not edit. The component's entry module.
//
// Plugins get no WASI, so console output goes to the gateway's log, an Error escaping
// the app is logged with its stack before the call fails (a thrown non-Error value is
// the function's error result), and guardrail hooks the app leaves out allow everything.
import './console.js';
import * as app from '../../{{entry}}';
import { log } from 'warden:plugin/host@0.1.0';

const DEFAULTS = {
  inputGuardrail: { checkInput: () => ({ tag: 'allow' }) },
  outputGuardrail: { checkOutput: () => ({ tag: 'allow' }) },
  toolGuardrail: { checkTool: () => ({ tag: 'allow' }) },
  piiHandler: { restore: () => [] },
};

function hooks(name) {
  const impl = app[name] ?? DEFAULTS[name];
  if (impl === undefined) throw new Error(`{{entry}} must export \`${name}\``);
  return new Proxy(impl, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (typeof value !== 'function') return value;
      return (...args) => {
        try {
          return value.apply(target, args);
        } catch (e) {
          if (e instanceof Error) log('error', `${name}.${String(key)} failed: ${e}\n${e.stack ?? ''}`);
          throw e;
        }
      };
    },
  });
}

"#;

const CONSOLE: &str = r#"// Written by `warden plugin build`; do not edit. console.* to the gateway's log.
import { log } from 'warden:plugin/host@0.1.0';

function show(value) {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return `${value}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

const to = (level) => (...args) => log(level, args.map(show).join(' '));
const methods = { log: to('info'), info: to('info'), debug: to('debug'), trace: to('trace'), warn: to('warn'), error: to('error') };
globalThis.console = Object.assign(globalThis.console ?? {}, methods);
"#;

/// The build script, run by node from the toolchain directory (so its imports
/// resolve to the componentize-js installed there).
const SCRIPT: &str = r#"// Written by warden: componentize one plugin through the componentize-js API.
// Usage: node componentize.mjs SOURCE WIT_DIR WORLD OUT DISABLED_FEATURES
import { componentize } from '@bytecodealliance/componentize-js';
import { writeFile } from 'node:fs/promises';

const [sourcePath, witPath, worldName, out, disabled] = process.argv.slice(2);
try {
  const { component } = await componentize({
    sourcePath,
    witPath,
    worldName,
    disableFeatures: disabled ? disabled.split(',') : [],
  });
  await writeFile(out, component);
} catch (e) {
  console.error(`componentize-js: ${e?.message ?? e}`);
  process.exit(1);
}
"#;
