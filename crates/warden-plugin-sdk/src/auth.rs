//! Auth providers: establish who is calling from the request's credentials.

use crate::{AuthError, AuthRequest, PluginError, PluginInfo, Principal};

/// An authentication plugin. In a chain, the first provider that returns a
/// principal wins; [`AuthError::NoCredentials`] passes to the next one.
pub trait Auth: Sized + 'static {
    /// Name, version and description (use [`PluginInfo::provider`]). Must not depend on config.
    fn describe() -> PluginInfo;

    /// Build the provider from its config (JSON of the `config` table in `warden.toml`;
    /// [`parse_config`](crate::parse_config) deserializes it). An error refuses the
    /// plugin at load, with the message shown to the operator.
    fn configure(config_json: &str) -> Result<Self, String>;

    /// The gateway is stopping: flush and close. Called once, after the last call;
    /// the default does nothing.
    fn shutdown(&self) {}

    /// Who is calling: a principal, `NoCredentials` (nothing this provider
    /// understands), `Rejected` (a credential it refuses; the reason must not contain
    /// it) or `Failed` (the provider itself failed; the failure mode applies).
    fn authenticate(&self, request: &AuthRequest) -> Result<Principal, AuthError>;
}

#[doc(hidden)]
pub fn __configure<A: Auth>(config_json: &str) -> Result<(), String> {
    crate::__store(A::configure(config_json))
}

#[doc(hidden)]
pub fn __authenticate<A: Auth>(request: &AuthRequest) -> Result<Principal, AuthError> {
    crate::__with_state(
        || Err(AuthError::Failed(PluginError::new("plugin used before configure"))),
        |a: &A| a.authenticate(request),
    )
}

/// Export an [`Auth`] implementation as the component's `auth-provider` world.
#[macro_export]
macro_rules! export_auth {
    ($ty:ty) => {
        struct __WardenAuth;

        impl $crate::__worlds::auth::exports::warden::plugin::lifecycle::Guest for __WardenAuth {
            fn describe() -> $crate::PluginInfo {
                <$ty as $crate::Auth>::describe()
            }
            fn configure(config_json: String) -> Result<(), String> {
                $crate::__auth::__configure::<$ty>(&config_json)
            }
            fn shutdown() {
                $crate::__shutdown::<$ty>(<$ty as $crate::Auth>::shutdown)
            }
        }

        impl $crate::__worlds::auth::exports::warden::plugin::auth::Guest for __WardenAuth {
            fn authenticate(request: $crate::AuthRequest) -> Result<$crate::Principal, $crate::AuthError> {
                $crate::__auth::__authenticate::<$ty>(&request)
            }
        }

        $crate::__worlds::auth::export!(__WardenAuth with_types_in $crate::__worlds::auth);
    };
}
