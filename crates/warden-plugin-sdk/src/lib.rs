//! The Rust SDK for Warden plugins.
//!
//! A plugin is a `cdylib` crate built for `wasm32-wasip2` with one type implementing
//! [`Guardrail`], [`Auth`] or [`Telemetry`], exported with [`export_guardrail!`],
//! [`export_auth!`] or [`export_telemetry!`]. A whole guardrail:
//!
//! ```ignore
//! use serde::Deserialize;
//! use warden_plugin_sdk::*;
//!
//! #[derive(Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct NoWords { words: Vec<String> }
//!
//! impl Guardrail for NoWords {
//!     fn describe() -> PluginInfo {
//!         PluginInfo::guardrail("no-words", "0.1.0", "Blocks listed words", Stages::INPUT | Stages::OUTPUT)
//!     }
//!     fn configure(config_json: &str) -> Result<Self, String> {
//!         parse_config(config_json)
//!     }
//!     fn check_input(&self, _ctx: &CallContext, content: &Content) -> Result<Verdict, PluginError> {
//!         let found = content.texts.iter().filter(|t| self.words.iter().any(|w| t.text.contains(w.as_str())));
//!         Ok(Verdict::block_if(found.map(|t| Finding::new("no-words.match", "a listed word").at(&t.path)).collect()))
//!     }
//! }
//! export_guardrail!(NoWords);
//! ```
//!
//! The hooks a plugin does not implement default to "allow" / "no edits";
//! `describe().stages` tells the host which hooks to call at all. `configure` runs
//! once per instance, before any other call except `describe`; the value it returns
//! serves every later call of that instance (instances are single-threaded).

use std::any::Any;
use std::cell::RefCell;

#[doc(hidden)]
#[path = "auth.rs"]
pub mod __auth;
#[doc(hidden)]
#[path = "guardrail.rs"]
pub mod __guardrail;
#[doc(hidden)]
#[path = "telemetry.rs"]
pub mod __telemetry;
mod config;
pub mod glob;

pub use __auth::Auth;
pub use __guardrail::Guardrail;
pub use __telemetry::Telemetry;
pub use config::parse_config;

/// The wit-bindgen output, one crate per world (see `worlds/guardrail`).
#[doc(hidden)]
pub mod __worlds {
    pub use warden_plugin_world_auth as auth;
    pub use warden_plugin_world_guardrail as guardrail;
    pub use warden_plugin_world_telemetry as telemetry;
}

pub use warden_plugin_world_auth::exports::warden::plugin::auth::{AuthError, AuthRequest, Transport};
pub use warden_plugin_world_guardrail::warden::plugin::host::{Level, log};
pub use warden_plugin_world_guardrail::warden::plugin::types::{
    CallContext, Content, ContentForms, Finding, PluginError, PluginInfo, Principal, Redaction, Span, Stages, TextEdit,
    TextItem, Verdict,
};
pub use warden_plugin_world_telemetry::exports::warden::plugin::telemetry::{Event, Outcome};

/// A [`PluginInfo`] for a guardrail, with no config schema (same as
/// [`PluginInfo::guardrail`]).
pub fn plugin_info(name: &str, version: &str, description: &str, stages: Stages) -> PluginInfo {
    PluginInfo::guardrail(name, version, description, stages)
}

/// A [`Finding`] on the whole payload with full confidence (same as [`Finding::new`]).
pub fn finding(detector: &str, message: &str) -> Finding {
    Finding::new(detector, message)
}

/// A [`PluginError`] with the given message.
pub fn error(message: impl Into<String>) -> PluginError {
    PluginError::new(message)
}

/// Whether `a` and `b` are equal, in a time that depends on their lengths only,
/// not on where they differ: for comparing presented credentials with known ones.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

thread_local! {
    // The configured plugin of this instance. WebAssembly instances are single
    // threaded, and the host creates one instance per concurrent call.
    static STATE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

#[doc(hidden)]
pub fn __store<P: 'static>(configured: Result<P, String>) -> Result<(), String> {
    let p = configured?;
    STATE.with(|s| *s.borrow_mut() = Some(Box::new(p)));
    Ok(())
}

/// Run `f` on the configured plugin; `unconfigured` when `configure` has not run.
#[doc(hidden)]
pub fn __with_state<P: 'static, R>(unconfigured: impl FnOnce() -> R, f: impl FnOnce(&P) -> R) -> R {
    STATE.with(|s| match s.borrow().as_ref().and_then(|p| p.downcast_ref::<P>()) {
        Some(p) => f(p),
        None => unconfigured(),
    })
}

/// Run the plugin's `shutdown` and drop its state: nothing is served after it.
#[doc(hidden)]
pub fn __shutdown<P: 'static>(shutdown: fn(&P)) {
    if let Some(state) = STATE.with(|s| s.borrow_mut().take())
        && let Ok(p) = state.downcast::<P>()
    {
        shutdown(&p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders() {
        let f = Finding::new("x.y", "a thing").at("/a/0").span(3, 7).score(1.5);
        assert_eq!((f.path.as_str(), f.score), ("/a/0", 1.0));
        assert!(matches!(f.span, Some(Span { start: 3, end: 7 })));
        assert!(matches!(Verdict::block_if(vec![]), Verdict::Allow));
        assert!(matches!(Verdict::block_if(vec![f.clone()]), Verdict::Block(ref v) if v.len() == 1));
        assert!(matches!(Verdict::warn_if(vec![f.clone()]), Verdict::Warn(_)));
        assert_eq!(Verdict::redact(vec![], vec![1], vec![f]).findings().len(), 1);
        let p = Principal::new("alice").project("p").scopes(["demo/*"]).attribute("team", "red");
        assert_eq!((p.scopes.clone(), p.attributes.len()), (vec!["demo/*".to_string()], 1));
        let info = PluginInfo::provider("a", "1", "d").with_config_schema("{}");
        assert!(info.stages.is_empty() && info.config_schema.is_some());
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn auth_request_helpers() {
        let r = AuthRequest {
            transport: Transport::Http,
            headers: vec![("authorization".into(), "Bearer  tok en ".into()), ("X-Team".into(), "red".into())],
            client_info: None,
            now_unix: 0,
        };
        assert_eq!(r.bearer(), Some("tok en"));
        assert_eq!(r.header("x-team"), Some("red"));
        assert_eq!(r.header("missing"), None);
        assert_eq!(Outcome::Blocked.as_str(), "blocked");
    }
}
