//! Guardrails: check tool-call arguments, results and tool definitions.

use crate::{CallContext, Content, PluginError, PluginInfo, TextEdit, Verdict};

/// A guardrail plugin. Only [`describe`](Guardrail::describe) and
/// [`configure`](Guardrail::configure) are required; the hooks default to allow.
pub trait Guardrail: Sized + 'static {
    /// Name, version, stages joined and content forms read. Must not depend on config.
    fn describe() -> PluginInfo;

    /// Build the guardrail from its config (JSON of the `config` table in `warden.toml`;
    /// [`parse_config`](crate::parse_config) deserializes it). An error refuses the
    /// plugin at load, with the message shown to the operator.
    fn configure(config_json: &str) -> Result<Self, String>;

    /// The gateway is stopping: flush and close. Called once, after the last call;
    /// the default does nothing.
    fn shutdown(&self) {}

    /// Check tool-call arguments (stage `INPUT`).
    fn check_input(&self, _ctx: &CallContext, _content: &Content) -> Result<Verdict, PluginError> {
        Ok(Verdict::Allow)
    }

    /// Check a tool result (stage `OUTPUT`).
    fn check_output(&self, _ctx: &CallContext, _content: &Content) -> Result<Verdict, PluginError> {
        Ok(Verdict::Allow)
    }

    /// Check a tool definition at discovery (stage `TOOL`).
    fn check_tool(&self, _server: &str, _content: &Content) -> Result<Verdict, PluginError> {
        Ok(Verdict::Allow)
    }

    /// Undo this plugin's own redaction in a result (stage `RESTORE`).
    fn restore(
        &self,
        _ctx: &CallContext,
        _restore_state: &[u8],
        _content: &Content,
    ) -> Result<Vec<TextEdit>, PluginError> {
        Ok(Vec::new())
    }
}

#[doc(hidden)]
pub fn __configure<G: Guardrail>(config_json: &str) -> Result<(), String> {
    crate::__store(G::configure(config_json))
}

#[doc(hidden)]
pub fn __with<G: Guardrail, R>(f: impl FnOnce(&G) -> Result<R, PluginError>) -> Result<R, PluginError> {
    crate::__with_state(|| Err(PluginError::new("plugin used before configure")), f)
}

/// Export a [`Guardrail`] implementation as the component's `guardrail-provider` world.
#[macro_export]
macro_rules! export_guardrail {
    ($ty:ty) => {
        struct __WardenGuardrail;

        impl $crate::__worlds::guardrail::exports::warden::plugin::lifecycle::Guest for __WardenGuardrail {
            fn describe() -> $crate::PluginInfo {
                <$ty as $crate::Guardrail>::describe()
            }
            fn configure(config_json: String) -> Result<(), String> {
                $crate::__guardrail::__configure::<$ty>(&config_json)
            }
            fn shutdown() {
                $crate::__shutdown::<$ty>(<$ty as $crate::Guardrail>::shutdown)
            }
        }

        impl $crate::__worlds::guardrail::exports::warden::plugin::input_guardrail::Guest for __WardenGuardrail {
            fn check_input(
                ctx: $crate::CallContext,
                content: $crate::Content,
            ) -> Result<$crate::Verdict, $crate::PluginError> {
                $crate::__guardrail::__with::<$ty, _>(|g| $crate::Guardrail::check_input(g, &ctx, &content))
            }
        }

        impl $crate::__worlds::guardrail::exports::warden::plugin::output_guardrail::Guest for __WardenGuardrail {
            fn check_output(
                ctx: $crate::CallContext,
                content: $crate::Content,
            ) -> Result<$crate::Verdict, $crate::PluginError> {
                $crate::__guardrail::__with::<$ty, _>(|g| $crate::Guardrail::check_output(g, &ctx, &content))
            }
        }

        impl $crate::__worlds::guardrail::exports::warden::plugin::tool_guardrail::Guest for __WardenGuardrail {
            fn check_tool(
                server: String,
                content: $crate::Content,
            ) -> Result<$crate::Verdict, $crate::PluginError> {
                $crate::__guardrail::__with::<$ty, _>(|g| $crate::Guardrail::check_tool(g, &server, &content))
            }
        }

        impl $crate::__worlds::guardrail::exports::warden::plugin::pii_handler::Guest for __WardenGuardrail {
            fn restore(
                ctx: $crate::CallContext,
                restore_state: Vec<u8>,
                content: $crate::Content,
            ) -> Result<Vec<$crate::TextEdit>, $crate::PluginError> {
                $crate::__guardrail::__with::<$ty, _>(|g| {
                    $crate::Guardrail::restore(g, &ctx, &restore_state, &content)
                })
            }
        }

        $crate::__worlds::guardrail::export!(__WardenGuardrail with_types_in $crate::__worlds::guardrail);
    };
}
