//! OpenTelemetry traces over OTLP/HTTP (JSON encoding), configured by the standard
//! variables: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (full URL) or
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (base; `/v1/traces` is appended),
//! `OTEL_EXPORTER_OTLP_HEADERS` / `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (`k=v,k=v`, e.g.
//! a collector's API key — never logged), `OTEL_SERVICE_NAME` (default `warden`),
//! `OTEL_SDK_DISABLED=true`. Only the `http/json` protocol is spoken; collectors
//! accept it on the OTLP/HTTP port (4318).
//!
//! Each `tools/call` is a trace: a root span `tools/call {server}__{tool}` and a
//! child span per stage (`warden.input`, `warden.call`, `warden.output`, …) with the
//! server, tool, principal id, outcome and detector names as attributes — never
//! payloads or credentials. Spans are built from the same per-stage events as the
//! audit pipeline and exported off the request path through a bounded queue (a full
//! queue drops and counts); an unreachable collector never slows a call.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use warden_core::AuditEvent;

const QUEUE: usize = 4096;
const BATCH: usize = 512;
const FLUSH_EVERY: Duration = Duration::from_millis(500);
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to export.
#[derive(Clone)]
pub struct OtlpConfig {
    pub endpoint: String,
    pub headers: Vec<(String, String)>,
    pub service_name: String,
}

impl std::fmt::Debug for OtlpConfig {
    // Header values are credentials: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpConfig")
            .field("endpoint", &self.endpoint)
            .field("service_name", &self.service_name)
            .finish()
    }
}

impl OtlpConfig {
    /// From the standard `OTEL_*` variables; `None` when no endpoint is set.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Option<OtlpConfig> {
        if var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return None;
        }
        let endpoint = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| {
            var("OTEL_EXPORTER_OTLP_ENDPOINT").map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
        })?;
        if let Some(protocol) = var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"))
            && protocol != "http/json"
        {
            tracing::warn!(%protocol, "OTLP: only http/json is supported; exporting traces as http/json");
        }
        let headers = var("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
            .or_else(|| var("OTEL_EXPORTER_OTLP_HEADERS"))
            .map(|h| parse_headers(&h))
            .unwrap_or_default();
        let service_name = var("OTEL_SERVICE_NAME").unwrap_or_else(|| "warden".into());
        Some(OtlpConfig { endpoint, headers, service_name })
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
    pub spans: AtomicU64,
    pub dropped: AtomicU64,
    pub failures: AtomicU64,
}

/// The sending side.
pub struct Otlp {
    tx: mpsc::Sender<AuditEvent>,
    pub stats: Arc<OtlpStats>,
}

impl Otlp {
    /// Start the exporter task.
    pub fn start(config: OtlpConfig) -> Otlp {
        crate::install_tls_provider();
        let stats = Arc::new(OtlpStats::default());
        let (tx, mut rx) = mpsc::channel::<AuditEvent>(QUEUE);
        let counters = stats.clone();
        // A random salt keeps trace ids unguessable across runs.
        let salt: [u8; 16] = rand_bytes();
        tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(EXPORT_TIMEOUT).build();
            let Ok(client) = client else {
                tracing::error!("OTLP: cannot build the HTTP client; traces are not exported");
                return;
            };
            let mut batch = Vec::with_capacity(BATCH);
            loop {
                let Some(first) = rx.recv().await else { return };
                batch.push(first);
                // Gather what arrives within the flush interval (a request's stages
                // come together), up to a batch.
                let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
                while batch.len() < BATCH {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(e)) => batch.push(e),
                        _ => break,
                    }
                }
                let body = export_request(&config.service_name, &salt, &batch).to_string();
                let mut request = client.post(&config.endpoint).header("content-type", "application/json").body(body);
                for (k, v) in &config.headers {
                    request = request.header(k.as_str(), v.as_str());
                }
                match request.send().await {
                    Ok(r) if r.status().is_success() => {
                        counters.spans.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    }
                    Ok(r) => {
                        counters.failures.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(status = %r.status(), endpoint = %config.endpoint, "OTLP export refused");
                    }
                    Err(e) => {
                        counters.failures.fetch_add(1, Ordering::Relaxed);
                        // reqwest errors name the URL, never our headers.
                        tracing::warn!(error = %e, "OTLP export failed");
                    }
                }
                batch.clear();
            }
        });
        Otlp { tx, stats }
    }

    /// Queue a stage (or, with stage `request`, a whole request); never waits.
    pub fn record(&self, event: &AuditEvent) {
        if self.tx.try_send(event.clone()).is_err() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
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

/// An OTLP `ExportTraceServiceRequest` (JSON mapping) for `events`.
fn export_request(service: &str, salt: &[u8], events: &[AuditEvent]) -> Value {
    let spans: Vec<Value> = events
        .iter()
        .map(|e| {
            let trace_id = id(salt, &[&e.request_id], 16);
            let root = id(salt, &[&e.request_id, "root"], 8);
            let end_ns = u128::from(e.timestamp_ms) * 1_000_000;
            let start_ns = end_ns.saturating_sub(u128::from(e.duration_us) * 1_000);
            let mut attributes = vec![
                attr("warden.request_id", &e.request_id),
                attr("warden.outcome", &format!("{:?}", e.outcome).to_ascii_lowercase()),
            ];
            if !e.server.is_empty() {
                attributes.push(attr("warden.server", &e.server));
            }
            if !e.tool.is_empty() {
                attributes.push(attr("warden.tool", &e.tool));
            }
            if let Some(p) = &e.principal_id {
                attributes.push(attr("enduser.id", p));
            }
            if !e.findings.is_empty() {
                let detectors: Vec<&str> = e.findings.iter().map(|f| f.detector.as_str()).collect();
                attributes.push(attr("warden.detectors", &detectors.join(",")));
            }
            let failed = matches!(e.outcome, warden_core::Outcome::Failed);
            let (span_id, parent, name) = if e.stage == "request" {
                (root, String::new(), format!("tools/call {}", e.tool))
            } else {
                (id(salt, &[&e.request_id, &e.stage], 8), root, format!("warden.{}", e.stage))
            };
            json!({
                "traceId": trace_id,
                "spanId": span_id,
                "parentSpanId": parent,
                "name": name,
                "kind": if e.stage == "request" { 2 } else { 1 },
                "startTimeUnixNano": start_ns.to_string(),
                "endTimeUnixNano": end_ns.to_string(),
                "attributes": attributes,
                "status": {"code": if failed { 2 } else { 0 }},
            })
        })
        .collect();
    json!({"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", service), attr("service.version", env!("CARGO_PKG_VERSION"))]},
        "scopeSpans": [{"scope": {"name": "warden", "version": env!("CARGO_PKG_VERSION")}, "spans": spans}],
    }]})
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
        assert_eq!(c.endpoint, "http://c:4318/v1/traces");
        assert_eq!(c.headers, [("api-key".to_string(), "s=cret".to_string()), ("x".to_string(), "1".to_string())]);
        assert!(!format!("{c:?}").contains("s=cret"), "headers are never printed");
        let c = OtlpConfig::from_env(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b/t"),
            ("OTEL_SERVICE_NAME", "gw"),
        ]))
        .expect("configured");
        assert_eq!((c.endpoint.as_str(), c.service_name.as_str()), ("http://b/t", "gw"));
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
        let v = export_request("warden", b"salt", &[event("input"), event("request")]);
        let spans = &v["resourceSpans"][0]["scopeSpans"][0]["spans"];
        assert_eq!(spans[0]["traceId"], spans[1]["traceId"]);
        assert_eq!(spans[0]["parentSpanId"], spans[1]["spanId"]);
        assert_eq!(spans[1]["parentSpanId"], "");
        assert_eq!(spans[0]["name"], "warden.input");
        assert_eq!(spans[0]["startTimeUnixNano"], "1699999999998500000");
        assert_eq!(spans[0]["traceId"].as_str().map(str::len), Some(32));
    }
}
