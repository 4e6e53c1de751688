//! Guest bindings of the `auth-provider` world of `wit/plugin.wit`. The shared
//! `types` and `host` interfaces are those of `warden-plugin-world-guardrail`, so a
//! `Principal` or `Finding` is one Rust type whatever the world. Plugin authors use
//! these through `warden-plugin-sdk`.

#![allow(missing_docs, clippy::all, unsafe_code)]

wit_bindgen::generate!({
    path: "../../../../wit",
    world: "auth-provider",
    pub_export_macro: true,
    export_macro_name: "export",
    default_bindings_module: "warden_plugin_world_auth",
    with: {
        "warden:plugin/types@0.1.0": warden_plugin_world_guardrail::warden::plugin::types,
        "warden:plugin/host@0.1.0": warden_plugin_world_guardrail::warden::plugin::host,
    },
});

use exports::warden::plugin::auth::{AuthError, AuthRequest};

impl AuthRequest {
    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The token of `Authorization: Bearer TOKEN`, if present.
    pub fn bearer(&self) -> Option<&str> {
        let (scheme, token) = self.header("authorization")?.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }
}

impl AuthError {
    /// A presented credential was refused; `reason` (for logs) must not contain it.
    pub fn rejected(reason: impl Into<String>) -> AuthError {
        AuthError::Rejected(reason.into())
    }
}
