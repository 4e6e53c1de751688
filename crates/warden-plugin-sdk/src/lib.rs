//! The Rust SDK for Warden plugins.
//!
//! A guardrail is a type implementing [`Guardrail`], exported with
//! [`export_guardrail!`] from a `cdylib` crate built for `wasm32-wasip2`:
//!
//! ```ignore
//! use warden_plugin_sdk::*;
//!
//! struct Deny;
//! impl Guardrail for Deny {
//!     fn describe() -> PluginInfo { plugin_info("deny", "0.1.0", "Blocks everything", Stages::INPUT) }
//!     fn configure(_config: &str) -> Result<Self, String> { Ok(Deny) }
//!     fn check_input(&self, _: &CallContext, _: &Content) -> Result<Verdict, PluginError> {
//!         Ok(Verdict::Block(vec![finding("deny", "everything is denied")]))
//!     }
//! }
//! export_guardrail!(Deny);
//! ```
//!
//! The hooks a guardrail does not implement default to "allow" / "no edits";
//! `describe().stages` tells the host which hooks to call at all.

use std::any::Any;
use std::cell::RefCell;

/// Bindings generated from `wit/plugin.wit` (world `guardrail-provider`).
#[allow(missing_docs, clippy::all, unsafe_code)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "guardrail-provider",
        pub_export_macro: true,
        export_macro_name: "__export_guardrail_provider",
        default_bindings_module: "warden_plugin_sdk::bindings",
    });
}

pub use bindings::warden::plugin::host::{Level, log};
pub use bindings::warden::plugin::types::{
    CallContext, Content, ContentForms, Finding, PluginError, PluginInfo, Principal, Redaction, Span, Stages, TextEdit,
    TextItem, Verdict,
};

/// A guardrail plugin. Only [`describe`](Guardrail::describe) and
/// [`configure`](Guardrail::configure) are required.
pub trait Guardrail: Sized + 'static {
    /// Name, version, stages joined and content forms read. Must not depend on config.
    fn describe() -> PluginInfo;

    /// Build the guardrail from its config (JSON of the `config` table in `warden.toml`).
    /// An error refuses the plugin at load, with the message shown to the operator.
    fn configure(config_json: &str) -> Result<Self, String>;

    /// Check tool-call arguments.
    fn check_input(&self, _ctx: &CallContext, _content: &Content) -> Result<Verdict, PluginError> {
        Ok(Verdict::Allow)
    }

    /// Check a tool result.
    fn check_output(&self, _ctx: &CallContext, _content: &Content) -> Result<Verdict, PluginError> {
        Ok(Verdict::Allow)
    }

    /// Check a tool definition at discovery.
    fn check_tool(&self, _server: &str, _content: &Content) -> Result<Verdict, PluginError> {
        Ok(Verdict::Allow)
    }

    /// Undo this plugin's own redaction in a result.
    fn restore(
        &self,
        _ctx: &CallContext,
        _restore_state: &[u8],
        _content: &Content,
    ) -> Result<Vec<TextEdit>, PluginError> {
        Ok(Vec::new())
    }
}

/// A [`PluginInfo`] with no config schema.
pub fn plugin_info(name: &str, version: &str, description: &str, stages: Stages) -> PluginInfo {
    PluginInfo {
        name: name.to_string(),
        version: version.to_string(),
        description: description.to_string(),
        stages,
        content_forms: ContentForms::TEXTS,
        config_schema: None,
    }
}

/// A [`Finding`] on the whole payload with full confidence; set `path`/`span` as needed.
pub fn finding(detector: &str, message: &str) -> Finding {
    Finding {
        detector: detector.to_string(),
        message: message.to_string(),
        path: String::new(),
        span: None,
        score: 1.0,
    }
}

/// A [`PluginError`] with the given message.
pub fn error(message: impl Into<String>) -> PluginError {
    PluginError { message: message.into() }
}

thread_local! {
    // One configured guardrail per instance. WebAssembly instances are single
    // threaded, and the host creates one instance per concurrent call.
    static STATE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

#[doc(hidden)]
pub fn __configure<G: Guardrail>(config_json: &str) -> Result<(), String> {
    let g = G::configure(config_json)?;
    STATE.with(|s| *s.borrow_mut() = Some(Box::new(g)));
    Ok(())
}

#[doc(hidden)]
pub fn __with<G: Guardrail, R>(f: impl FnOnce(&G) -> Result<R, PluginError>) -> Result<R, PluginError> {
    STATE.with(|s| match s.borrow().as_ref().and_then(|g| g.downcast_ref::<G>()) {
        Some(g) => f(g),
        None => Err(error("plugin used before configure")),
    })
}

/// Export a [`Guardrail`] implementation as the component's `guardrail-provider` world.
#[macro_export]
macro_rules! export_guardrail {
    ($ty:ty) => {
        struct __WardenGuardrail;

        impl $crate::bindings::exports::warden::plugin::lifecycle::Guest for __WardenGuardrail {
            fn describe() -> $crate::PluginInfo {
                <$ty as $crate::Guardrail>::describe()
            }
            fn configure(config_json: String) -> Result<(), String> {
                $crate::__configure::<$ty>(&config_json)
            }
        }

        impl $crate::bindings::exports::warden::plugin::input_guardrail::Guest for __WardenGuardrail {
            fn check_input(
                ctx: $crate::CallContext,
                content: $crate::Content,
            ) -> Result<$crate::Verdict, $crate::PluginError> {
                $crate::__with::<$ty, _>(|g| $crate::Guardrail::check_input(g, &ctx, &content))
            }
        }

        impl $crate::bindings::exports::warden::plugin::output_guardrail::Guest for __WardenGuardrail {
            fn check_output(
                ctx: $crate::CallContext,
                content: $crate::Content,
            ) -> Result<$crate::Verdict, $crate::PluginError> {
                $crate::__with::<$ty, _>(|g| $crate::Guardrail::check_output(g, &ctx, &content))
            }
        }

        impl $crate::bindings::exports::warden::plugin::tool_guardrail::Guest for __WardenGuardrail {
            fn check_tool(
                server: String,
                content: $crate::Content,
            ) -> Result<$crate::Verdict, $crate::PluginError> {
                $crate::__with::<$ty, _>(|g| $crate::Guardrail::check_tool(g, &server, &content))
            }
        }

        impl $crate::bindings::exports::warden::plugin::pii_handler::Guest for __WardenGuardrail {
            fn restore(
                ctx: $crate::CallContext,
                restore_state: Vec<u8>,
                content: $crate::Content,
            ) -> Result<Vec<$crate::TextEdit>, $crate::PluginError> {
                $crate::__with::<$ty, _>(|g| {
                    $crate::Guardrail::restore(g, &ctx, &restore_state, &content)
                })
            }
        }

        $crate::bindings::__export_guardrail_provider!(__WardenGuardrail with_types_in $crate::bindings);
    };
}
