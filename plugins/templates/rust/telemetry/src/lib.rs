//! `{{name}}`: a Warden telemetry sink that writes one line per audit event to its
//! stdout, which the gateway appends to the file the operator grants
//! (`grants.stdout`); with `log = true` the lines go to the gateway's log instead.
//! Events never carry payloads or credentials.
//!
//! Config, the `config` table of its `[[plugins]]` entry:
//! `config = { only_problems = false, log = false }`

use serde::Deserialize;
use std::io::Write;
use warden_plugin_sdk::*;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Skip events whose outcome is `allowed`.
    #[serde(default)]
    only_problems: bool,
    /// Send lines to the gateway's log (info level) instead of stdout.
    #[serde(default)]
    log: bool,
}

struct EventLines(Config);

fn line(e: &Event) -> String {
    let detectors: Vec<&str> = e.findings.iter().map(|f| f.detector.as_str()).collect();
    format!(
        "{} request={} stage={} principal={} tool={}/{} outcome={} duration_us={} findings=[{}]",
        e.timestamp_ms,
        e.request_id,
        e.stage,
        e.principal_id.as_deref().unwrap_or("-"),
        e.server,
        e.tool,
        e.outcome.as_str(),
        e.duration_us,
        detectors.join(",")
    )
}

impl Telemetry for EventLines {
    fn describe() -> PluginInfo {
        PluginInfo::provider("{{name}}", env!("CARGO_PKG_VERSION"), "One line per audit event, to stdout or the log")
    }

    fn configure(config_json: &str) -> Result<Self, String> {
        parse_config(config_json).map(EventLines)
    }

    fn export_events(&self, events: &[Event]) -> Result<(), PluginError> {
        let lines = events.iter().filter(|e| !(self.0.only_problems && e.outcome == Outcome::Allowed)).map(line);
        if self.0.log {
            lines.for_each(|l| log(Level::Info, &l));
            return Ok(());
        }
        // One write per batch; without a grant the host discards stdout.
        let text: String = lines.map(|l| l + "\n").collect();
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(|e| PluginError::new(format!("stdout: {e}")))
    }
}

export_telemetry!(EventLines);
