//! Precompiled components on disk, so a restart does not recompile (Cranelift takes
//! 40 ms for a small Rust plugin and 7-10 s for a Python or JavaScript one; loading a
//! precompiled file takes about a millisecond).
//!
//! Files are named by the SHA-256 of the component and a hash of the engine's
//! compatibility data (wasmtime version and every setting affecting code), so a
//! changed plugin or engine never loads stale code. The directory is private to
//! the user (0700): precompiled code is native code, and the cache is only used if
//! nobody else can write into it.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

#[derive(Debug, Clone)]
pub(crate) struct Cache {
    dir: PathBuf,
    engine_key: u64,
}

impl Cache {
    /// Open (creating) the cache directory; `None`, with a warning, if unusable.
    pub(crate) fn open(dir: &Path, engine: &Engine) -> Option<Cache> {
        if let Err(e) = create_private_dir(dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "component cache disabled");
            return None;
        }
        if let Err(reason) = check_private(dir) {
            tracing::warn!(dir = %dir.display(), %reason, "component cache disabled");
            return None;
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        Some(Cache { dir: dir.to_path_buf(), engine_key: h.finish() })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, digest: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}-{:016x}.cwasm", hex::encode(digest), self.engine_key))
    }

    /// The precompiled component for `digest`, if cached and loadable.
    pub(crate) fn load(&self, engine: &Engine, digest: &[u8; 32]) -> Option<Component> {
        let path = self.path(digest);
        if !path.exists() {
            return None;
        }
        match deserialize(engine, &path) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring unusable cached component");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Store a compiled component; failures only cost a recompile next time.
    pub(crate) fn store(&self, digest: &[u8; 32], component: &Component) {
        let path = self.path(digest);
        let result = component.serialize().map_err(|e| e.to_string()).and_then(|bytes| {
            // Write then rename, so a concurrent reader never sees half a file.
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, &path)).map_err(|e| e.to_string())
        });
        if let Err(e) = result {
            tracing::warn!(path = %path.display(), error = %e, "cannot cache compiled component");
        }
    }
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: `deserialize_file` trusts the file to be wasmtime's own output. It is:
    // the file lives in a directory only this user can write (checked in `open`),
    // was written by `store` above, and is named by the digest of the component and
    // the engine's compatibility hash; wasmtime also checks its header (version and
    // engine settings) before use.
    unsafe { Component::deserialize_file(engine, path) }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn check_private(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir).map_err(|e| e.to_string())?;
    // Our own uid, read off a file we create (std has no getuid).
    let probe = dir.join(".owner-probe");
    std::fs::write(&probe, b"").map_err(|e| e.to_string())?;
    let me = std::fs::metadata(&probe).map_err(|e| e.to_string())?.uid();
    let _ = std::fs::remove_file(&probe);
    if meta.uid() != me {
        return Err(format!("owned by uid {}, not by this user", meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!("writable by others (mode {:o})", meta.mode() & 0o777));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_dir: &Path) -> Result<(), String> {
    Ok(())
}
