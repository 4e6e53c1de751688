//! Guest bindings of the `guardrail-provider` world of `wit/plugin.wit`, and the
//! home of the `types` and `host` interfaces every world shares.
//!
//! One crate per world: wit-bindgen names the export macro of an interface after
//! the interface, so two worlds exporting `lifecycle` cannot be generated in one
//! crate with public export macros (bytecodealliance/wit-bindgen#1502). Plugin
//! authors use these through `warden-plugin-sdk`.

#![allow(missing_docs, clippy::all, unsafe_code)]

wit_bindgen::generate!({
    path: "../../../../wit",
    world: "guardrail-provider",
    pub_export_macro: true,
    export_macro_name: "export",
    default_bindings_module: "warden_plugin_world_guardrail",
});

mod helpers;
