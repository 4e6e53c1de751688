//! Guest bindings of the `telemetry-provider` world of `wit/plugin.wit`. The shared
//! `types` and `host` interfaces are those of `warden-plugin-world-guardrail`, so a
//! `Principal` or `Finding` is one Rust type whatever the world. Plugin authors use
//! these through `warden-plugin-sdk`.

#![allow(missing_docs, clippy::all, unsafe_code)]

wit_bindgen::generate!({
    path: "../../../../wit",
    world: "telemetry-provider",
    pub_export_macro: true,
    export_macro_name: "export",
    default_bindings_module: "warden_plugin_world_telemetry",
    with: {
        "warden:plugin/types@0.1.0": warden_plugin_world_guardrail::warden::plugin::types,
        "warden:plugin/host@0.1.0": warden_plugin_world_guardrail::warden::plugin::host,
    },
});

use exports::warden::plugin::telemetry::Outcome;

impl Outcome {
    /// The outcome's name: `allowed`, `warned`, `redacted`, `blocked`, `denied`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Warned => "warned",
            Outcome::Redacted => "redacted",
            Outcome::Blocked => "blocked",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}
