//! Audit events to telemetry sinks, off the request path: events go into a bounded
//! queue (a full queue drops the event and counts it) and one task hands them to
//! every sink in batches. A slow or failing sink never delays or fails a call; its
//! failures are counted and logged.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use warden_core::{AuditEvent, TelemetrySink};

/// Events waiting for the sinks; beyond this, new events are dropped.
const QUEUE: usize = 4096;
/// Largest batch handed to a sink at once.
const BATCH: usize = 256;
/// Longest a sink may take per batch before the batch counts as failed for it.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Counters of the audit pipeline.
#[derive(Debug, Default)]
pub struct AuditStats {
    pub recorded: AtomicU64,
    pub dropped: AtomicU64,
    pub export_failures: AtomicU64,
    /// Events handed to every sink (or given up on): `recorded - handled` are queued.
    pub handled: AtomicU64,
}

/// The sending side; cheap to call from any request.
#[derive(Default)]
pub struct Audit {
    tx: Option<mpsc::Sender<AuditEvent>>,
    pub stats: Arc<AuditStats>,
}

impl Audit {
    /// Start the exporter for `sinks` (none: events are not even built).
    pub fn start(sinks: Vec<Arc<dyn TelemetrySink>>) -> Audit {
        let stats = Arc::new(AuditStats::default());
        if sinks.is_empty() {
            return Audit { tx: None, stats };
        }
        let (tx, mut rx) = mpsc::channel::<AuditEvent>(QUEUE);
        let counters = stats.clone();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while let Some(first) = rx.recv().await {
                batch.push(first);
                while batch.len() < BATCH {
                    match rx.try_recv() {
                        Ok(e) => batch.push(e),
                        Err(_) => break,
                    }
                }
                for sink in &sinks {
                    let failed = match tokio::time::timeout(EXPORT_TIMEOUT, sink.export(&batch)).await {
                        Ok(Ok(())) => None,
                        Ok(Err(e)) => Some(e.to_string()),
                        Err(_) => Some(format!("no answer within {EXPORT_TIMEOUT:?}")),
                    };
                    if let Some(reason) = failed {
                        counters.export_failures.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(sink = %sink.info().name, events = batch.len(), %reason, "audit export failed");
                    }
                }
                counters.handled.fetch_add(batch.len() as u64, Ordering::Release);
                batch.clear();
            }
        });
        Audit { tx: Some(tx), stats }
    }

    /// Whether any sink listens (callers may skip building events otherwise).
    pub fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// Wait until every event recorded so far has been handed to the sinks, for at
    /// most `timeout` (shutdown: nothing recorded is lost to an exit).
    pub async fn flush(&self, timeout: Duration) -> bool {
        let target = self.stats.recorded.load(Ordering::Acquire);
        let done = async {
            while self.stats.handled.load(Ordering::Acquire) < target {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(timeout, done).await.is_ok()
    }

    /// Queue an event; never waits.
    pub fn record(&self, event: AuditEvent) {
        let Some(tx) = &self.tx else { return };
        match tx.try_send(event) {
            Ok(()) => {
                self.stats.recorded.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                let dropped = self.stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if dropped.is_power_of_two() {
                    tracing::warn!(dropped, "audit queue full: events dropped");
                }
            }
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
