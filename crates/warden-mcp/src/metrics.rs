//! The gateway's metrics, fed by the same per-stage events as the audit pipeline:
//! calls by stage and outcome, findings by detector, stage latency histograms, the
//! audit queue's counters, and per plugin (from the host) calls, failures by kind
//! (traps, fuel, deadlines…), fuel burnt and time in the sandbox. One [`Snapshot`]
//! is rendered two ways: Prometheus text on `/metrics` ([`Snapshot::prometheus`])
//! and OTLP metrics pushed by [`crate::otel`]. Labels are operator-controlled names
//! only (server, tool, stage, detector, plugin), never payloads.

use crate::limits::Limit;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use warden_core::PluginMetrics;
use warden_core::stats::{Histogram, LATENCY_BUCKETS};

#[derive(Default)]
struct Inner {
    /// (stage, server, tool, outcome) → events.
    events: BTreeMap<(String, String, String, String), u64>,
    /// (stage, detector) → findings.
    findings: BTreeMap<(String, String), u64>,
    /// stage → latency.
    latency: BTreeMap<String, Histogram>,
    /// (server, kind: "timeout" | "error") → failed upstream calls.
    upstream_failures: BTreeMap<(String, &'static str), u64>,
}

/// The gateway's own counters.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    /// Calls refused by each limit, indexed by [`Limit::index`].
    limited: [AtomicU64; 4],
    /// The latest blocks, for the operator page ([`crate::admin`]).
    pub recent_blocks: crate::admin::RecentBlocks,
}

/// The per-plugin counters, exported the same way by both renderings:
/// (Prometheus name, OTLP name, OTLP unit, help, value).
#[allow(clippy::type_complexity)]
pub const PLUGIN_COUNTERS: &[(&str, &str, &str, &str, fn(&PluginMetrics) -> u64)] = &[
    ("warden_plugin_calls_total", "warden.plugin.calls", "{call}", "Calls into each plugin's sandbox.", |p| p.calls),
    (
        "warden_plugin_fuel_consumed_total",
        "warden.plugin.fuel",
        "{fuel}",
        "Fuel (wasm work units) burnt by each plugin.",
        |p| p.fuel_consumed,
    ),
    (
        "warden_plugin_instantiations_total",
        "warden.plugin.instantiations",
        "{instance}",
        "Sandbox instances created per plugin.",
        |p| p.instantiations,
    ),
    (
        "warden_plugin_retirements_total",
        "warden.plugin.retirements",
        "{instance}",
        "Healthy pooled instances retired because their memory neared the limit.",
        |p| p.retirements,
    ),
];

/// Everything exported, read at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// ((stage, server, tool, outcome), count)
    pub events: Vec<((String, String, String, String), u64)>,
    /// ((stage, detector), count)
    pub findings: Vec<((String, String), u64)>,
    /// (stage, latency)
    pub latency: Vec<(String, Histogram)>,
    pub plugins: Vec<PluginMetrics>,
    /// (name, help, value) of the audit pipeline's counters.
    pub audit: Vec<(&'static str, &'static str, u64)>,
    /// (limit label, calls it refused), every limit listed.
    pub limited: Vec<(&'static str, u64)>,
}

impl Metrics {
    /// Count one stage of one request.
    pub fn observe(&self, event: &warden_core::AuditEvent) {
        let Ok(mut m) = self.inner.lock() else { return };
        let outcome = format!("{:?}", event.outcome).to_ascii_lowercase();
        let key = (event.stage.clone(), event.server.clone(), event.tool.clone(), outcome);
        *m.events.entry(key).or_default() += 1;
        for f in &event.findings {
            *m.findings.entry((event.stage.clone(), f.detector.clone())).or_default() += 1;
        }
        m.latency.entry(event.stage.clone()).or_default().observe(event.duration_us as f64 / 1e6);
        if event.stage == "call" && event.outcome == warden_core::Outcome::Failed {
            let timeout = event.findings.iter().any(|f| f.detector == "gateway.upstream-timeout");
            let kind = if timeout { "timeout" } else { "error" };
            *m.upstream_failures.entry((event.server.clone(), kind)).or_default() += 1;
        }
        drop(m);
        if event.outcome == warden_core::Outcome::Blocked {
            self.recent_blocks.push(event);
        }
    }

    /// Failed upstream calls: ((server, "timeout" | "error"), count).
    pub fn upstream_failures(&self) -> Vec<((String, &'static str), u64)> {
        let Ok(m) = self.inner.lock() else { return Vec::new() };
        m.upstream_failures.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// [`Metrics::upstream_failures`] in the Prometheus text format.
    pub fn upstream_failures_prometheus(&self) -> String {
        let mut out = String::new();
        header(&mut out, "warden_upstream_failures_total", "counter", "Failed upstream calls, by server and kind.");
        for ((server, kind), n) in self.upstream_failures() {
            let _ = writeln!(out, "warden_upstream_failures_total{{server=\"{}\",kind=\"{kind}\"}} {n}", esc(&server));
        }
        out
    }

    /// Count a call refused by `limit`.
    pub fn limited(&self, limit: Limit) {
        self.limited[limit.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now, with the audit pipeline's and the plugins'.
    pub fn snapshot(&self, audit: &crate::audit::AuditStats, plugins: Vec<PluginMetrics>) -> Snapshot {
        let (events, findings, latency) = match self.inner.lock() {
            Ok(m) => (
                m.events.iter().map(|(k, v)| (k.clone(), *v)).collect(),
                m.findings.iter().map(|(k, v)| (k.clone(), *v)).collect(),
                m.latency.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            ),
            Err(_) => Default::default(),
        };
        let audit = vec![
            ("warden_audit_events_total", "Audit events queued for telemetry sinks.", &audit.recorded),
            ("warden_audit_events_dropped_total", "Audit events dropped because the queue was full.", &audit.dropped),
            (
                "warden_audit_export_failures_total",
                "Batches a telemetry sink failed to export.",
                &audit.export_failures,
            ),
        ]
        .into_iter()
        .map(|(name, help, v)| (name, help, v.load(Ordering::Relaxed)))
        .collect();
        let limited = Limit::ALL.iter().map(|l| (l.label(), self.limited[l.index()].load(Ordering::Relaxed))).collect();
        Snapshot { events, findings, latency, plugins, audit, limited }
    }
}

impl Snapshot {
    /// The Prometheus text exposition (format 0.0.4).
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        header(&mut out, "warden_stage_events_total", "counter", "Stages of requests handled, by outcome.");
        for ((stage, server, tool, outcome), n) in &self.events {
            let _ = writeln!(
                out,
                "warden_stage_events_total{{stage=\"{}\",server=\"{}\",tool=\"{}\",outcome=\"{}\"}} {n}",
                esc(stage),
                esc(server),
                esc(tool),
                esc(outcome)
            );
        }
        header(&mut out, "warden_findings_total", "counter", "Guardrail findings, by detector.");
        for ((stage, detector), n) in &self.findings {
            let _ =
                writeln!(out, "warden_findings_total{{stage=\"{}\",detector=\"{}\"}} {n}", esc(stage), esc(detector));
        }
        header(&mut out, "warden_stage_duration_seconds", "histogram", "Time spent per stage.");
        for (stage, h) in &self.latency {
            histogram(&mut out, "warden_stage_duration_seconds", &format!("stage=\"{}\"", esc(stage)), h);
        }
        for (name, help, value) in &self.audit {
            header(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {value}");
        }
        header(
            &mut out,
            "warden_limited_total",
            "counter",
            "Tool calls refused by a rate or concurrency limit (-32029).",
        );
        for (limit, n) in &self.limited {
            let _ = writeln!(out, "warden_limited_total{{limit=\"{limit}\"}} {n}");
        }
        for (name, _, _, help, value) in PLUGIN_COUNTERS {
            header(&mut out, name, "counter", help);
            for p in &self.plugins {
                let _ = writeln!(out, "{name}{{plugin=\"{}\"}} {}", esc(&p.plugin), value(p));
            }
        }
        header(
            &mut out,
            "warden_plugin_failures_total",
            "counter",
            "Failed plugin calls, by kind (trap, out_of_fuel, deadline, resource_limit, ...).",
        );
        for p in &self.plugins {
            for (kind, n) in &p.failures {
                let _ = writeln!(
                    out,
                    "warden_plugin_failures_total{{plugin=\"{}\",kind=\"{}\"}} {n}",
                    esc(&p.plugin),
                    kind.label()
                );
            }
        }
        header(&mut out, "warden_plugin_duration_seconds", "histogram", "Time per call inside each plugin's sandbox.");
        for p in &self.plugins {
            histogram(
                &mut out,
                "warden_plugin_duration_seconds",
                &format!("plugin=\"{}\"", esc(&p.plugin)),
                &p.latency,
            );
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn histogram(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    for (bound, n) in LATENCY_BUCKETS.iter().zip(h.cumulative()) {
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum_seconds);
    let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count);
}

/// Escape a label value (backslash, quote, newline).
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::{AuditEvent, Finding, Outcome};

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        let event = AuditEvent {
            timestamp_ms: 0,
            request_id: "r".into(),
            stage: "input".into(),
            principal_id: None,
            server: "demo".into(),
            tool: "ec\"ho".into(),
            outcome: Outcome::Blocked,
            duration_us: 2_000,
            findings: vec![Finding::new("pii.email", "email address")],
        };
        m.observe(&event);
        m.observe(&event);
        let text = m.snapshot(&Default::default(), Vec::new()).prometheus();
        assert!(
            text.contains(
                r#"warden_stage_events_total{stage="input",server="demo",tool="ec\"ho",outcome="blocked"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"warden_findings_total{stage="input",detector="pii.email"} 2"#));
        assert!(text.contains(r#"warden_stage_duration_seconds_bucket{stage="input",le="0.001"} 0"#));
        assert!(text.contains(r#"warden_stage_duration_seconds_bucket{stage="input",le="0.005"} 2"#));
        assert!(text.contains(r#"warden_stage_duration_seconds_count{stage="input"} 2"#));
        assert!(text.contains("warden_audit_events_dropped_total 0"));
        assert!(text.contains(r#"warden_limited_total{limit="upstream-rate"} 0"#), "{text}");
        m.limited(Limit::PrincipalRate);
        let text = m.snapshot(&Default::default(), Vec::new()).prometheus();
        assert!(text.contains(r#"warden_limited_total{limit="principal-rate"} 1"#), "{text}");
    }
}
