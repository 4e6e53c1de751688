//! Telemetry sinks: receive audit events. They never slow or fail a call: the host
//! queues events and drops (and counts) them when the queue is full.

use crate::{Event, PluginError, PluginInfo};

/// A telemetry plugin.
pub trait Telemetry: Sized + 'static {
    /// Name, version and description (use [`PluginInfo::provider`]). Must not depend on config.
    fn describe() -> PluginInfo;

    /// Build the sink from its config (JSON of the `config` table in `warden.toml`;
    /// [`parse_config`](crate::parse_config) deserializes it). An error refuses the
    /// plugin at load, with the message shown to the operator.
    fn configure(config_json: &str) -> Result<Self, String>;

    /// The gateway is stopping: flush and close. Called once, after the last call;
    /// the default does nothing.
    fn shutdown(&self) {}

    /// Export a batch of events. A sink has no files or sockets unless granted: write
    /// to stdout (the file of `grants.stdout`) or [`log`](crate::log) to the gateway's log.
    fn export_events(&self, events: &[Event]) -> Result<(), PluginError>;
}

#[doc(hidden)]
pub fn __configure<T: Telemetry>(config_json: &str) -> Result<(), String> {
    crate::__store(T::configure(config_json))
}

#[doc(hidden)]
pub fn __export_events<T: Telemetry>(events: &[Event]) -> Result<(), PluginError> {
    crate::__with_state(|| Err(PluginError::new("plugin used before configure")), |t: &T| t.export_events(events))
}

/// Export a [`Telemetry`] implementation as the component's `telemetry-provider` world.
#[macro_export]
macro_rules! export_telemetry {
    ($ty:ty) => {
        struct __WardenTelemetry;

        impl $crate::__worlds::telemetry::exports::warden::plugin::lifecycle::Guest for __WardenTelemetry {
            fn describe() -> $crate::PluginInfo {
                <$ty as $crate::Telemetry>::describe()
            }
            fn configure(config_json: String) -> Result<(), String> {
                $crate::__telemetry::__configure::<$ty>(&config_json)
            }
            fn shutdown() {
                $crate::__shutdown::<$ty>(<$ty as $crate::Telemetry>::shutdown)
            }
        }

        impl $crate::__worlds::telemetry::exports::warden::plugin::telemetry::Guest for __WardenTelemetry {
            fn export_events(events: Vec<$crate::Event>) -> Result<(), $crate::PluginError> {
                $crate::__telemetry::__export_events::<$ty>(&events)
            }
        }

        $crate::__worlds::telemetry::export!(__WardenTelemetry with_types_in $crate::__worlds::telemetry);
    };
}
