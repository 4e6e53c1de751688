//! The gateway's log lines: to stderr (stdout carries MCP in `--stdio` mode),
//! filtered by `RUST_LOG`, and — when an OTLP logs endpoint is configured — also
//! exported as OTLP log records through [`warden_mcp::otel::emit_log`].

use std::fmt::Write;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Targets never exported: the exporter's own warnings and the HTTP stack it uses
/// (exporting those would feed the exporter with its own failures).
const NOT_EXPORTED: &[&str] = &["warden_mcp::otel", "reqwest", "hyper", "h2", "rustls"];

/// Install the subscriber: stderr, plus the OTLP logs layer.
pub fn init() {
    use std::io::IsTerminal;
    // rmcp logs every session at info; keep it to warnings unless RUST_LOG asks.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rmcp=warn"));
    let stderr =
        tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
    // rmcp's debug and trace lines carry whole JSON-RPC messages (tool arguments,
    // results, credentials a client put in them): never logged, whatever RUST_LOG says.
    let no_payloads = tracing_subscriber::filter::filter_fn(|meta| {
        !(PAYLOAD_TARGETS.iter().any(|t| meta.target().starts_with(t)) && *meta.level() > tracing::Level::INFO)
    });
    tracing_subscriber::registry().with(filter).with(no_payloads).with(stderr).with(OtlpLogs).init();
}

/// Crates whose logs below info include message payloads.
const PAYLOAD_TARGETS: &[&str] = &["rmcp"];

/// Forwards log events to the OTLP logs exporter (a no-op while none runs).
struct OtlpLogs;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for OtlpLogs {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if !warden_mcp::otel::logs_enabled() {
            return;
        }
        let meta = event.metadata();
        if NOT_EXPORTED.iter().any(|t| meta.target().starts_with(t)) {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        fields.attributes.push(("code.namespace".into(), meta.target().to_string()));
        use warden_mcp::otel::Severity;
        let severity = match *meta.level() {
            tracing::Level::ERROR => Severity::Error,
            tracing::Level::WARN => Severity::Warn,
            tracing::Level::INFO => Severity::Info,
            tracing::Level::DEBUG => Severity::Debug,
            tracing::Level::TRACE => Severity::Trace,
        };
        let time_unix_nano =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        warden_mcp::otel::emit_log(warden_mcp::otel::LogRecord {
            time_unix_nano,
            severity,
            body: fields.message,
            attributes: fields.attributes,
            trace: None,
        });
    }
}

/// The event's message and its other fields as string attributes.
#[derive(Default)]
struct Fields {
    message: String,
    attributes: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.attributes.push((field.name().to_string(), value.to_string()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.attributes.push((field.name().to_string(), format!("{value:?}")));
        }
    }
}
