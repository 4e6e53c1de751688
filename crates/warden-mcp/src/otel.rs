//! OpenTelemetry over OTLP/HTTP (JSON encoding): traces, metrics and logs,
//! configured by the standard variables —
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (base; `/v1/traces`, `/v1/metrics`, `/v1/logs` are
//! appended) or per signal `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT` (full
//! URLs); `OTEL_EXPORTER_OTLP_HEADERS` / `OTEL_EXPORTER_OTLP_{SIGNAL}_HEADERS`
//! (`k=v,k=v`, e.g. a collector's API key — never logged); `OTEL_{TRACES,METRICS,LOGS}_EXPORTER=none`
//! turns one signal off; `OTEL_METRIC_EXPORT_INTERVAL` (ms, default 60000);
//! `OTEL_SERVICE_NAME` (default `warden`); `OTEL_SDK_DISABLED=true`. Only the
//! `http/json` protocol is spoken; collectors accept it on the OTLP/HTTP port (4318).
//!
//! - Traces: each `tools/call` is a trace — a root span `tools/call {tool}` and a
//!   child span per stage (`warden.input`, `warden.call`, `warden.output`, …) with
//!   the server, tool, principal id, outcome and detector names as attributes.
//! - Logs: every audit event (one per stage of every call) as a log record carrying
//!   the same trace and span ids, plus the gateway's own log lines at the level
//!   `RUST_LOG` lets through (fed by a `tracing` layer through [`emit_log`]).
//! - Metrics: the `/metrics` counters and histograms ([`crate::metrics::Snapshot`]),
//!   cumulative, pushed every export interval.
//!
//! Never payloads or credentials. Everything is exported off the request path
//! through bounded queues (a full queue drops and counts); an unreachable collector
//! never slows a call.

use crate::metrics::Snapshot;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;
use warden_core::stats::{Histogram, LATENCY_BUCKETS};
use warden_core::{AuditEvent, Outcome};

const QUEUE: usize = 4096;
const BATCH: usize = 512;
const FLUSH_EVERY: Duration = Duration::from_millis(500);
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_METRIC_INTERVAL: Duration = Duration::from_secs(60);

/// One signal's destination.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for Endpoint {
    // Header values are credentials: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Endpoint").field("url", &self.url).field("header_names", &names).finish()
    }
}

/// Where and how to export each signal.
#[derive(Clone, Debug)]
pub struct OtlpConfig {
    pub traces: Option<Endpoint>,
    pub metrics: Option<Endpoint>,
    pub logs: Option<Endpoint>,
    pub service_name: String,
    pub metric_interval: Duration,
}

impl OtlpConfig {
    /// From the standard `OTEL_*` variables; `None` when no signal has an endpoint.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Option<OtlpConfig> {
        if var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return None;
        }
        let signal = |name: &str| -> Option<Endpoint> {
            let upper = name.to_ascii_uppercase();
            if var(&format!("OTEL_{upper}_EXPORTER")).is_some_and(|v| v.trim().eq_ignore_ascii_case("none")) {
                return None;
            }
            let url = var(&format!("OTEL_EXPORTER_OTLP_{upper}_ENDPOINT")).or_else(|| {
                var("OTEL_EXPORTER_OTLP_ENDPOINT").map(|base| format!("{}/v1/{name}", base.trim_end_matches('/')))
            })?;
            if let Some(protocol) =
                var(&format!("OTEL_EXPORTER_OTLP_{upper}_PROTOCOL")).or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"))
                && protocol != "http/json"
            {
                tracing::warn!(%protocol, signal = name, "OTLP: only http/json is supported; exporting as http/json");
            }
            let headers = var(&format!("OTEL_EXPORTER_OTLP_{upper}_HEADERS"))
                .or_else(|| var("OTEL_EXPORTER_OTLP_HEADERS"))
                .map(|h| parse_headers(&h))
                .unwrap_or_default();
            Some(Endpoint { url, headers })
        };
        let (traces, metrics, logs) = (signal("traces"), signal("metrics"), signal("logs"));
        if traces.is_none() && metrics.is_none() && logs.is_none() {
            return None;
        }
        let metric_interval = var("OTEL_METRIC_EXPORT_INTERVAL")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_METRIC_INTERVAL);
        let service_name = var("OTEL_SERVICE_NAME").unwrap_or_else(|| "warden".into());
        Some(OtlpConfig { traces, metrics, logs, service_name, metric_interval })
    }
}

/// `k=v,k2=v2` with percent-decoded values (the OTel spec's format).
fn parse_headers(s: &str) -> Vec<(String, String)> {
    s.split(',')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            let v = v.trim();
            let mut out = Vec::with_capacity(v.len());
            let bytes = v.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                if bytes[i] == b'%'
                    && let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    out.push(b);
                    i += 3;
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            Some((k.trim().to_string(), String::from_utf8_lossy(&out).into_owned()))
        })
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// Counters of the exporter.
#[derive(Debug, Default)]
pub struct OtlpStats {
    /// Items (spans, log records, metric batches) a collector accepted.
    pub spans: AtomicU64,
    pub logs: AtomicU64,
    pub metric_exports: AtomicU64,
    /// Items dropped because a queue was full.
    pub dropped: AtomicU64,
    /// Exports a collector refused or that failed.
    pub failures: AtomicU64,
}

/// Severity of a log record (OTel severity numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Trace = 1,
    Debug = 5,
    Info = 9,
    Warn = 13,
    Error = 17,
}

impl Severity {
    fn text(self) -> &'static str {
        match self {
            Severity::Trace => "TRACE",
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Warn => "WARN",
            Severity::Error => "ERROR",
        }
    }
}

/// One log record to export.
#[derive(Debug, Clone)]
pub struct LogRecord {
    pub time_unix_nano: u128,
    pub severity: Severity,
    pub body: String,
    pub attributes: Vec<(String, String)>,
    /// Trace and span ids (hex) when the record belongs to a traced call.
    pub trace: Option<(String, String)>,
}

/// The log queue of the running exporter, for [`emit_log`] (the tracing layer has
/// no handle on the gateway).
static LOG_QUEUE: RwLock<Option<(mpsc::Sender<LogRecord>, Arc<OtlpStats>)>> = RwLock::new(None);

/// Whether an exporter takes log lines (a cheap check before formatting one).
static LOGS_ON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// True when [`emit_log`] would export: an OTLP logs endpoint is configured.
pub fn logs_enabled() -> bool {
    LOGS_ON.load(Ordering::Relaxed)
}

/// Queue one of the gateway's own log lines for export; a no-op unless an OTLP logs
/// endpoint is configured. Never waits.
pub fn emit_log(record: LogRecord) {
    let Ok(queue) = LOG_QUEUE.read() else { return };
    if let Some((tx, stats)) = queue.as_ref()
        && tx.try_send(record).is_err()
    {
        stats.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// The sending side.
pub struct Otlp {
    spans: Option<mpsc::Sender<AuditEvent>>,
    logs: Option<mpsc::Sender<LogRecord>>,
    config: OtlpConfig,
    /// A random salt keeps trace ids unguessable across runs.
    salt: [u8; 16],
    pub stats: Arc<OtlpStats>,
}

impl Otlp {
    /// Start the trace and log exporter tasks (metrics: [`Otlp::start_metrics`]).
    pub fn start(config: OtlpConfig) -> Otlp {
        crate::install_tls_provider();
        let stats = Arc::new(OtlpStats::default());
        let salt: [u8; 16] = rand_bytes();
        let service = config.service_name.clone();
        let spans = config.traces.clone().map(|endpoint| {
            let (tx, rx) = mpsc::channel::<AuditEvent>(QUEUE);
            let counters = stats.clone();
            tokio::spawn(export_batches(
                rx,
                endpoint,
                stats.clone(),
                move |batch: &[AuditEvent]| {
                    counters.spans.fetch_add(batch.len() as u64, Ordering::Relaxed);
                },
                move |batch| traces_request(&service, &salt, batch),
            ));
            tx
        });
        let service = config.service_name.clone();
        let logs = config.logs.clone().map(|endpoint| {
            let (tx, rx) = mpsc::channel::<LogRecord>(QUEUE);
            let counters = stats.clone();
            tokio::spawn(export_batches(
                rx,
                endpoint,
                stats.clone(),
                move |batch: &[LogRecord]| {
                    counters.logs.fetch_add(batch.len() as u64, Ordering::Relaxed);
                },
                move |batch| logs_request(&service, batch),
            ));
            if let Ok(mut queue) = LOG_QUEUE.write() {
                *queue = Some((tx.clone(), stats.clone()));
                LOGS_ON.store(true, Ordering::Relaxed);
            }
            tx
        });
        Otlp { spans, logs, config, salt, stats }
    }

    /// Push metrics every export interval, read from `snapshot` (which returns
    /// `None` once the gateway is gone, ending the task).
    pub fn start_metrics(&self, snapshot: impl Fn() -> Option<Snapshot> + Send + 'static) {
        let Some(endpoint) = self.config.metrics.clone() else { return };
        let (service, interval, stats) =
            (self.config.service_name.clone(), self.config.metric_interval, self.stats.clone());
        let start_ns = now_ns();
        tokio::spawn(async move {
            let Some(client) = http_client() else { return };
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(snapshot) = snapshot() else { return };
                let body = metrics_request(&service, &snapshot, start_ns, now_ns());
                if post(&client, &endpoint, body, &stats).await {
                    stats.metric_exports.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }

    /// Queue a stage (or, with stage `request`, a whole request) as a span and an
    /// audit log record; never waits.
    pub fn record(&self, event: &AuditEvent) {
        if let Some(tx) = &self.spans
            && tx.try_send(event.clone()).is_err()
        {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(tx) = &self.logs
            && tx.try_send(audit_log(&self.salt, event)).is_err()
        {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Otlp {
    fn drop(&mut self) {
        // Stop feeding the gateway's log lines into this exporter's queue.
        if let (Some(ours), Ok(mut queue)) = (&self.logs, LOG_QUEUE.write())
            && queue.as_ref().is_some_and(|(tx, _)| tx.same_channel(ours))
        {
            *queue = None;
            LOGS_ON.store(false, Ordering::Relaxed);
        }
    }
}

fn http_client() -> Option<reqwest::Client> {
    match reqwest::Client::builder().timeout(EXPORT_TIMEOUT).build() {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::error!(error = %e, "OTLP: cannot build the HTTP client; nothing is exported");
            None
        }
    }
}

/// POST one export request; true when the collector accepted it.
async fn post(client: &reqwest::Client, endpoint: &Endpoint, body: Value, stats: &OtlpStats) -> bool {
    let mut request = client.post(&endpoint.url).header("content-type", "application/json").body(body.to_string());
    for (k, v) in &endpoint.headers {
        request = request.header(k.as_str(), v.as_str());
    }
    match request.send().await {
        Ok(r) if r.status().is_success() => true,
        Ok(r) => {
            stats.failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(status = %r.status(), endpoint = %endpoint.url, "OTLP export refused");
            false
        }
        Err(e) => {
            stats.failures.fetch_add(1, Ordering::Relaxed);
            // reqwest errors name the URL, never our headers.
            tracing::warn!(error = %e, "OTLP export failed");
            false
        }
    }
}

/// Gather what arrives within the flush interval (a request's stages come
/// together), up to a batch, and export it; until the sending side is dropped.
async fn export_batches<T: Send + 'static>(
    mut rx: mpsc::Receiver<T>,
    endpoint: Endpoint,
    stats: Arc<OtlpStats>,
    exported: impl Fn(&[T]) + Send,
    encode: impl Fn(&[T]) -> Value + Send,
) {
    let Some(client) = http_client() else { return };
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let Some(first) = rx.recv().await else { return };
        batch.push(first);
        let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(e)) => batch.push(e),
                _ => break,
            }
        }
        if post(&client, &endpoint, encode(&batch), &stats).await {
            exported(&batch);
        }
        batch.clear();
    }
}

fn now_ns() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    use std::io::Read;
    let mut b = [0u8; N];
    if std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)).is_err() {
        // Not secret, only unguessable: fall back on the clock.
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        b.iter_mut().zip(t.to_le_bytes().iter().cycle()).for_each(|(x, y)| *x = *y);
    }
    b
}

/// Hex id of `len` bytes derived from the salt and parts.
fn id(salt: &[u8], parts: &[&str], len: usize) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..len])
}

fn attr(key: &str, value: &str) -> Value {
    json!({"key": key, "value": {"stringValue": value}})
}

/// The resource every export names: this service.
fn resource(service: &str) -> Value {
    json!({"attributes": [attr("service.name", service), attr("service.version", env!("CARGO_PKG_VERSION"))]})
}

fn scope() -> Value {
    json!({"name": "warden", "version": env!("CARGO_PKG_VERSION")})
}

/// Trace id, span id and parent span id of an event's span: the trace is the
/// request, the root span is stage `request`, every other stage its child.
fn span_ids(salt: &[u8], e: &AuditEvent) -> (String, String, String) {
    let trace_id = id(salt, &[&e.request_id], 16);
    let root = id(salt, &[&e.request_id, "root"], 8);
    if e.stage == "request" {
        (trace_id, root, String::new())
    } else {
        (trace_id, id(salt, &[&e.request_id, &e.stage], 8), root)
    }
}

/// The attributes an event's span and log record carry: names and outcomes only.
fn event_attributes(e: &AuditEvent) -> Vec<(String, String)> {
    let mut a = vec![
        ("warden.request_id".to_string(), e.request_id.clone()),
        ("warden.outcome".to_string(), format!("{:?}", e.outcome).to_ascii_lowercase()),
    ];
    if !e.server.is_empty() {
        a.push(("warden.server".into(), e.server.clone()));
    }
    if !e.tool.is_empty() {
        a.push(("warden.tool".into(), e.tool.clone()));
    }
    if let Some(p) = &e.principal_id {
        a.push(("enduser.id".into(), p.clone()));
    }
    if !e.findings.is_empty() {
        let detectors: Vec<&str> = e.findings.iter().map(|f| f.detector.as_str()).collect();
        a.push(("warden.detectors".into(), detectors.join(",")));
    }
    a
}

fn attrs(pairs: &[(String, String)]) -> Vec<Value> {
    pairs.iter().map(|(k, v)| attr(k, v)).collect()
}

/// An OTLP `ExportTraceServiceRequest` (JSON mapping) for `events`.
fn traces_request(service: &str, salt: &[u8], events: &[AuditEvent]) -> Value {
    let spans: Vec<Value> = events
        .iter()
        .map(|e| {
            let (trace_id, span_id, parent) = span_ids(salt, e);
            let end_ns = u128::from(e.timestamp_ms) * 1_000_000;
            let start_ns = end_ns.saturating_sub(u128::from(e.duration_us) * 1_000);
            let failed = matches!(e.outcome, Outcome::Failed);
            let name =
                if e.stage == "request" { format!("tools/call {}", e.tool) } else { format!("warden.{}", e.stage) };
            json!({
                "traceId": trace_id,
                "spanId": span_id,
                "parentSpanId": parent,
                "name": name,
                "kind": if e.stage == "request" { 2 } else { 1 },
                "startTimeUnixNano": start_ns.to_string(),
                "endTimeUnixNano": end_ns.to_string(),
                "attributes": attrs(&event_attributes(e)),
                "status": {"code": if failed { 2 } else { 0 }},
            })
        })
        .collect();
    json!({"resourceSpans": [{"resource": resource(service), "scopeSpans": [{"scope": scope(), "spans": spans}]}]})
}

/// An audit event as a log record, in the trace of its request.
fn audit_log(salt: &[u8], e: &AuditEvent) -> LogRecord {
    let severity = match e.outcome {
        Outcome::Allowed | Outcome::Redacted => Severity::Info,
        Outcome::Warned | Outcome::Blocked | Outcome::Denied => Severity::Warn,
        Outcome::Failed => Severity::Error,
    };
    let outcome = format!("{:?}", e.outcome).to_ascii_lowercase();
    let target = if e.tool.is_empty() { e.server.clone() } else { format!("{}/{}", e.server, e.tool) };
    let mut attributes = event_attributes(e);
    attributes.push(("event.name".into(), "warden.audit".into()));
    attributes.push(("warden.stage".into(), e.stage.clone()));
    attributes.push(("warden.duration_us".into(), e.duration_us.to_string()));
    let (trace_id, span_id, _) = span_ids(salt, e);
    LogRecord {
        time_unix_nano: u128::from(e.timestamp_ms) * 1_000_000,
        severity,
        body: format!("{} {target}: {outcome}", e.stage),
        attributes,
        trace: Some((trace_id, span_id)),
    }
}

/// An OTLP `ExportLogsServiceRequest` for `records`.
fn logs_request(service: &str, records: &[LogRecord]) -> Value {
    let observed = now_ns().to_string();
    let records: Vec<Value> = records
        .iter()
        .map(|r| {
            let mut v = json!({
                "timeUnixNano": r.time_unix_nano.to_string(),
                "observedTimeUnixNano": observed,
                "severityNumber": r.severity as i32,
                "severityText": r.severity.text(),
                "body": {"stringValue": r.body},
                "attributes": attrs(&r.attributes),
            });
            if let Some((trace_id, span_id)) = &r.trace {
                v["traceId"] = json!(trace_id);
                v["spanId"] = json!(span_id);
            }
            v
        })
        .collect();
    json!({"resourceLogs": [{"resource": resource(service), "scopeLogs": [{"scope": scope(), "logRecords": records}]}]})
}

/// An OTLP `ExportMetricsServiceRequest`: every counter as a cumulative monotonic
/// sum, every latency as a cumulative explicit-bucket histogram (seconds).
fn metrics_request(service: &str, s: &Snapshot, start_ns: u128, now_ns: u128) -> Value {
    let (start, now) = (start_ns.to_string(), now_ns.to_string());
    let point = |labels: &[(&str, &str)], value: u64| {
        let labels: Vec<Value> = labels.iter().map(|(k, v)| attr(k, v)).collect();
        json!({"attributes": labels, "startTimeUnixNano": start, "timeUnixNano": now, "asInt": value.to_string()})
    };
    let hist_point = |labels: &[(&str, &str)], h: &Histogram| {
        let labels: Vec<Value> = labels.iter().map(|(k, v)| attr(k, v)).collect();
        let mut counts: Vec<String> = h.counts.iter().map(u64::to_string).collect();
        counts.resize(LATENCY_BUCKETS.len() + 1, "0".into());
        json!({"attributes": labels, "startTimeUnixNano": start, "timeUnixNano": now,
               "count": h.count.to_string(), "sum": h.sum_seconds, "bucketCounts": counts,
               "explicitBounds": LATENCY_BUCKETS})
    };
    let sum = |name: &str, unit: &str, description: &str, points: Vec<Value>| {
        json!({"name": name, "unit": unit, "description": description,
               "sum": {"dataPoints": points, "aggregationTemporality": 2, "isMonotonic": true}})
    };
    let histogram = |name: &str, description: &str, points: Vec<Value>| {
        json!({"name": name, "unit": "s", "description": description,
               "histogram": {"dataPoints": points, "aggregationTemporality": 2}})
    };
    let mut metrics = vec![
        sum(
            "warden.stage.events",
            "{event}",
            "Stages of requests handled, by outcome.",
            s.events
                .iter()
                .map(|((stage, server, tool, outcome), n)| {
                    point(
                        &[
                            ("warden.stage", stage),
                            ("warden.server", server),
                            ("warden.tool", tool),
                            ("warden.outcome", outcome),
                        ],
                        *n,
                    )
                })
                .collect(),
        ),
        sum(
            "warden.findings",
            "{finding}",
            "Guardrail findings, by detector.",
            s.findings
                .iter()
                .map(|((stage, det), n)| point(&[("warden.stage", stage), ("warden.detector", det)], *n))
                .collect(),
        ),
        histogram(
            "warden.stage.duration",
            "Time spent per stage.",
            s.latency.iter().map(|(stage, h)| hist_point(&[("warden.stage", stage)], h)).collect(),
        ),
        sum(
            "warden.plugin.failures",
            "{call}",
            "Failed plugin calls, by kind (trap, out_of_fuel, deadline, ...).",
            s.plugins
                .iter()
                .flat_map(|p| {
                    p.failures
                        .iter()
                        .map(|(k, n)| point(&[("warden.plugin", &p.plugin), ("warden.failure", k.label())], *n))
                })
                .collect(),
        ),
        histogram(
            "warden.plugin.duration",
            "Time per call inside each plugin's sandbox.",
            s.plugins.iter().map(|p| hist_point(&[("warden.plugin", &p.plugin)], &p.latency)).collect(),
        ),
    ];
    metrics.push(sum(
        "warden.limited",
        "{call}",
        "Tool calls refused by a rate or concurrency limit (-32029).",
        s.limited.iter().map(|(limit, n)| point(&[("warden.limit", limit)], *n)).collect(),
    ));
    for (_, name, unit, help, value) in crate::metrics::PLUGIN_COUNTERS {
        let points = s.plugins.iter().map(|p| point(&[("warden.plugin", &p.plugin)], value(p))).collect();
        metrics.push(sum(name, unit, help, points));
    }
    for (name, help, value) in &s.audit {
        // warden_audit_events_dropped_total -> warden.audit.events_dropped
        let name = name.trim_end_matches("_total").replacen('_', ".", 2);
        metrics.push(sum(&name, "{event}", help, vec![point(&[], *value)]));
    }
    json!({"resourceMetrics": [{"resource": resource(service), "scopeMetrics": [{"scope": scope(), "metrics": metrics}]}]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_follows_the_otel_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert!(OtlpConfig::from_env(env(&[])).is_none());
        let c = OtlpConfig::from_env(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s%3Dcret, x=1"),
        ]))
        .expect("configured");
        let traces = c.traces.as_ref().expect("traces on");
        assert_eq!(traces.url, "http://c:4318/v1/traces");
        assert_eq!(c.metrics.as_ref().map(|e| e.url.as_str()), Some("http://c:4318/v1/metrics"));
        assert_eq!(c.logs.as_ref().map(|e| e.url.as_str()), Some("http://c:4318/v1/logs"));
        assert_eq!(traces.headers, [("api-key".to_string(), "s=cret".to_string()), ("x".to_string(), "1".to_string())]);
        assert!(!format!("{c:?}").contains("s=cret"), "headers are never printed");
        assert_eq!(c.metric_interval, Duration::from_secs(60));
        let c = OtlpConfig::from_env(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b/t"),
            ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "k=v"),
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1500"),
            ("OTEL_SERVICE_NAME", "gw"),
        ]))
        .expect("configured");
        assert_eq!((c.traces.as_ref().map(|e| e.url.as_str()), c.service_name.as_str()), (Some("http://b/t"), "gw"));
        assert!(c.metrics.is_none(), "OTEL_METRICS_EXPORTER=none");
        assert_eq!(c.logs.as_ref().map(|e| e.headers.len()), Some(1));
        assert!(c.traces.as_ref().is_some_and(|e| e.headers.is_empty()), "signal headers stay with their signal");
        assert_eq!(c.metric_interval, Duration::from_millis(1500));
        let only_logs = OtlpConfig::from_env(env(&[("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://l/v1/logs")]));
        assert!(only_logs.is_some_and(|c| c.traces.is_none() && c.metrics.is_none() && c.logs.is_some()));
        assert!(
            OtlpConfig::from_env(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a"), ("OTEL_SDK_DISABLED", "true")]))
                .is_none()
        );
    }

    #[test]
    fn stages_are_children_of_the_request_span() {
        let event = |stage: &str| AuditEvent {
            timestamp_ms: 1_700_000_000_000,
            request_id: "s1-7-3".into(),
            stage: stage.into(),
            principal_id: Some("alice".into()),
            server: "demo".into(),
            tool: "echo".into(),
            outcome: warden_core::Outcome::Allowed,
            duration_us: 1500,
            findings: vec![],
        };
        let v = traces_request("warden", b"salt", &[event("input"), event("request")]);
        let spans = &v["resourceSpans"][0]["scopeSpans"][0]["spans"];
        assert_eq!(spans[0]["traceId"], spans[1]["traceId"]);
        assert_eq!(spans[0]["parentSpanId"], spans[1]["spanId"]);
        assert_eq!(spans[1]["parentSpanId"], "");
        assert_eq!(spans[0]["name"], "warden.input");
        assert_eq!(spans[0]["startTimeUnixNano"], "1699999999998500000");
        assert_eq!(spans[0]["traceId"].as_str().map(str::len), Some(32));
    }

    #[test]
    fn audit_logs_share_the_span_of_their_stage() {
        let e = AuditEvent {
            timestamp_ms: 1_700_000_000_000,
            request_id: "s1-7-3".into(),
            stage: "output".into(),
            principal_id: None,
            server: "demo".into(),
            tool: "echo".into(),
            outcome: Outcome::Blocked,
            duration_us: 10,
            findings: vec![warden_core::Finding::new("injection.override", "instruction override")],
        };
        let log = audit_log(b"salt", &e);
        let spans = traces_request("warden", b"salt", std::slice::from_ref(&e));
        let span = &spans["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        let v = logs_request("warden", &[log]);
        let record = &v["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
        assert_eq!(record["traceId"], span["traceId"]);
        assert_eq!(record["spanId"], span["spanId"]);
        assert_eq!(record["severityText"], "WARN");
        assert_eq!(record["body"]["stringValue"], "output demo/echo: blocked");
        assert!(record["attributes"].to_string().contains("injection.override"));
    }

    #[test]
    fn metrics_are_cumulative_sums_and_histograms() {
        let counters = warden_core::PluginCounters::default();
        counters.record_call(Duration::from_micros(300), 42, Some(warden_core::FailureKind::OutOfFuel));
        let mut latency = Histogram::default();
        latency.observe(0.002);
        let snapshot = Snapshot {
            events: vec![(("input".into(), "demo".into(), "echo".into(), "allowed".into()), 3)],
            findings: vec![],
            latency: vec![("input".into(), latency)],
            plugins: vec![counters.snapshot("guard-pii")],
            audit: vec![("warden_audit_events_dropped_total", "dropped", 0)],
            limited: vec![("principal-rate", 2)],
        };
        let v = metrics_request("warden", &snapshot, 1, 2);
        let metrics = v["resourceMetrics"][0]["scopeMetrics"][0]["metrics"].as_array().expect("metrics").clone();
        let named =
            |n: &str| metrics.iter().find(|m| m["name"] == n).unwrap_or_else(|| panic!("{n}: {metrics:?}")).clone();
        let events = named("warden.stage.events");
        assert_eq!(events["sum"]["aggregationTemporality"], 2);
        assert_eq!(events["sum"]["dataPoints"][0]["asInt"], "3");
        let fuel = named("warden.plugin.fuel");
        assert_eq!(fuel["sum"]["dataPoints"][0]["asInt"], "42");
        let failures = named("warden.plugin.failures")["sum"]["dataPoints"][0].to_string();
        assert!(failures.contains("out_of_fuel") && failures.contains("guard-pii"), "{failures}");
        let h = &named("warden.plugin.duration")["histogram"]["dataPoints"][0];
        assert_eq!(h["bucketCounts"].as_array().map(Vec::len), Some(LATENCY_BUCKETS.len() + 1));
        assert_eq!(h["bucketCounts"][1], "1", "300 µs is in the 0.5 ms bucket");
        assert_eq!(named("warden.stage.duration")["histogram"]["dataPoints"][0]["count"], "1");
        named("warden.audit.events_dropped");
        let limited = named("warden.limited")["sum"]["dataPoints"][0].to_string();
        assert!(limited.contains("principal-rate") && limited.contains(r#""asInt":"2""#), "{limited}");
    }
}
