//! Host-side bindings for the three worlds of `wit/plugin.wit`.
//!
//! The guardrail world is generated first; the other worlds reuse its `types` and
//! `host` interfaces (`with`), so a `Principal` or `Finding` is one Rust type
//! whatever the plugin kind. Exports are async: calls run on wasmtime fibers so a
//! plugin blocked in a host call (a WASI sleep, an HTTP request) never blocks a
//! gateway thread and can be abandoned at its deadline.

pub mod guardrail {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "guardrail-provider",
        exports: { default: async },
    });
}

pub mod auth {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "auth-provider",
        exports: { default: async },
        with: {
            "warden:plugin/types": super::guardrail::warden::plugin::types,
            "warden:plugin/host": super::guardrail::warden::plugin::host,
        },
    });
}

pub mod telemetry {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "telemetry-provider",
        exports: { default: async },
        with: {
            "warden:plugin/types": super::guardrail::warden::plugin::types,
            "warden:plugin/host": super::guardrail::warden::plugin::host,
        },
    });
}

pub use guardrail::warden::plugin::{host, types};
