//! `warden plugin inspect`: what a component is, what it asks for, what it says.

use crate::plugin::Plugin;
use crate::{Error, Host};
use serde::Serialize;
use sha2::{Digest, Sha256};
use warden_core::{Grants, PluginKind, PluginSpec, Source};
use wasmtime::component::Component;

/// Everything `warden plugin inspect` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub size: usize,
    pub sha256: String,
    /// The Warden world the exports match, if any.
    pub world: Option<&'static str>,
    pub exports: Vec<String>,
    /// The interfaces it imports: the capabilities it asks for.
    pub imports: Vec<String>,
    /// What a default-sandboxed load would refuse, if anything.
    pub refused: Option<String>,
    /// `describe()`, run in the sandbox with nothing reachable (no files, env,
    /// sockets or HTTP hosts), even when `refused` is set.
    pub info: Option<warden_core::PluginInfo>,
    pub describe_error: Option<String>,
}

/// Inspect a component's bytes.
pub async fn inspect(host: &Host, bytes: &[u8]) -> crate::Result<Report> {
    let sha256 = hex::encode(Sha256::digest(bytes));
    let component = Component::new(host.engine(), bytes).map_err(|e| Error::Compile {
        plugin: "inspected".into(),
        reason: format!("{e:#}").lines().next().unwrap_or_default().to_string(),
    })?;
    let ty = component.component_type();
    let engine = host.engine();
    let imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_string()).collect();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
    let has = |iface: &str| exports.iter().any(|e| e.starts_with(&format!("warden:plugin/{iface}@")));
    let world = if has("input-guardrail") {
        Some(PluginKind::Guardrail)
    } else if has("auth") {
        Some(PluginKind::Auth)
    } else if has("telemetry") {
        Some(PluginKind::Telemetry)
    } else {
        None
    };
    let refused = crate::capabilities::audit_imports("inspected", engine, &component, &Grants::default())
        .err()
        .map(|e| e.to_string());
    let (mut info, mut describe_error) = (None, None);
    if let Some(kind) = world {
        // describe_only links without the import audit, so describe() runs even for a
        // component that would be refused; with no grants it reaches nothing (no
        // variables, no preopened directory, sockets off, every HTTP host denied).
        let mut spec = PluginSpec::new("inspected", kind, Source::Builtin("inspected".into()));
        spec.limits.max_instances = 1;
        match Plugin::describe_only(host, &spec, &component).await {
            Ok(i) => info = Some(i),
            Err(e) => describe_error = Some(e.to_string()),
        }
    }
    Ok(Report {
        size: bytes.len(),
        sha256,
        world: world.map(PluginKind::world),
        exports,
        imports,
        refused,
        info,
        describe_error,
    })
}
