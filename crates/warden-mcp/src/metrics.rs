//! Prometheus metrics (`/metrics`, text exposition format 0.0.4), fed by the same
//! per-stage events as the audit pipeline: calls by stage and outcome, findings by
//! detector, stage latency histograms, and the audit queue's counters. Labels are
//! operator-controlled names only (server, tool, stage, detector), never payloads.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::Ordering;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: &[f64] = &[0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    /// (stage, server, tool, outcome) → events.
    events: BTreeMap<(String, String, String, String), u64>,
    /// (stage, detector) → findings.
    findings: BTreeMap<(String, String), u64>,
    /// stage → latency.
    latency: BTreeMap<String, Histogram>,
}

/// The gateway's metrics.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
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
        let seconds = event.duration_us as f64 / 1e6;
        let h = m.latency.entry(event.stage.clone()).or_default();
        h.count += 1;
        h.sum += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
    }

    /// The exposition text.
    pub fn render(&self, audit: &crate::audit::AuditStats) -> String {
        let mut out = String::new();
        let Ok(m) = self.inner.lock() else { return out };
        out.push_str("# HELP warden_stage_events_total Stages of requests handled, by outcome.\n");
        out.push_str("# TYPE warden_stage_events_total counter\n");
        for ((stage, server, tool, outcome), n) in &m.events {
            let _ = writeln!(
                out,
                "warden_stage_events_total{{stage=\"{}\",server=\"{}\",tool=\"{}\",outcome=\"{}\"}} {n}",
                esc(stage),
                esc(server),
                esc(tool),
                esc(outcome)
            );
        }
        out.push_str("# HELP warden_findings_total Guardrail findings, by detector.\n");
        out.push_str("# TYPE warden_findings_total counter\n");
        for ((stage, detector), n) in &m.findings {
            let _ =
                writeln!(out, "warden_findings_total{{stage=\"{}\",detector=\"{}\"}} {n}", esc(stage), esc(detector));
        }
        out.push_str("# HELP warden_stage_duration_seconds Time spent per stage.\n");
        out.push_str("# TYPE warden_stage_duration_seconds histogram\n");
        for (stage, h) in &m.latency {
            let stage = esc(stage);
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(out, "warden_stage_duration_seconds_bucket{{stage=\"{stage}\",le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "warden_stage_duration_seconds_bucket{{stage=\"{stage}\",le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "warden_stage_duration_seconds_sum{{stage=\"{stage}\"}} {}", h.sum);
            let _ = writeln!(out, "warden_stage_duration_seconds_count{{stage=\"{stage}\"}} {}", h.count);
        }
        for (name, help, value) in [
            ("warden_audit_events_total", "Audit events queued for telemetry sinks.", &audit.recorded),
            ("warden_audit_events_dropped_total", "Audit events dropped because the queue was full.", &audit.dropped),
            (
                "warden_audit_export_failures_total",
                "Batches a telemetry sink failed to export.",
                &audit.export_failures,
            ),
        ] {
            let _ =
                writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", value.load(Ordering::Relaxed));
        }
        out
    }
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
        let text = m.render(&Default::default());
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
    }
}
