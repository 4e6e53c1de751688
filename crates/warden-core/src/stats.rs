//! Counters kept per plugin by the host, and the latency buckets every histogram in
//! Warden shares. The host updates [`PluginCounters`] on each call; the gateway reads
//! [`PluginMetrics`] snapshots for `/metrics` and the OTLP metrics export.

use crate::FailureKind;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the latency buckets, in seconds (Prometheus `le`, OTLP
/// `explicitBounds`): 100 µs to 30 s, so both a sandboxed guardrail and a slow tool
/// call land in a useful bucket.
pub const LATENCY_BUCKETS: &[f64] = &[0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0];

/// Every failure kind, in a fixed order (the index into the failure counters).
pub const FAILURE_KINDS: [FailureKind; 9] = [
    FailureKind::Reported,
    FailureKind::OutOfFuel,
    FailureKind::Deadline,
    FailureKind::ResourceLimit,
    FailureKind::StackOverflow,
    FailureKind::Trap,
    FailureKind::OutputTooLarge,
    FailureKind::InvalidOutput,
    FailureKind::Unavailable,
];

impl FailureKind {
    /// A label value: `out_of_fuel`, `trap`, ...
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::Reported => "reported",
            FailureKind::OutOfFuel => "out_of_fuel",
            FailureKind::Deadline => "deadline",
            FailureKind::ResourceLimit => "resource_limit",
            FailureKind::StackOverflow => "stack_overflow",
            FailureKind::Trap => "trap",
            FailureKind::OutputTooLarge => "output_too_large",
            FailureKind::InvalidOutput => "invalid_output",
            FailureKind::Unavailable => "unavailable",
        }
    }

    fn index(self) -> usize {
        FAILURE_KINDS.iter().position(|k| *k == self).unwrap_or(0)
    }
}

/// The bucket of an observation: the first bound it does not exceed, or the
/// overflow bucket after the last bound.
fn bucket(seconds: f64) -> usize {
    LATENCY_BUCKETS.iter().position(|b| seconds <= *b).unwrap_or(LATENCY_BUCKETS.len())
}

/// A latency histogram over [`LATENCY_BUCKETS`] (per-bucket counts, not cumulative).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// `counts[i]`: observations in `(LATENCY_BUCKETS[i-1], LATENCY_BUCKETS[i]]`; the
    /// last entry counts those above the largest bound.
    pub counts: Vec<u64>,
    pub count: u64,
    pub sum_seconds: f64,
}

impl Histogram {
    pub fn observe(&mut self, seconds: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; LATENCY_BUCKETS.len() + 1];
        }
        self.counts[bucket(seconds)] += 1;
        self.count += 1;
        self.sum_seconds += seconds;
    }

    /// Cumulative counts per bound (Prometheus `_bucket{le=...}`), without `+Inf`.
    pub fn cumulative(&self) -> Vec<u64> {
        let mut total = 0;
        (0..LATENCY_BUCKETS.len())
            .map(|i| {
                total += self.counts.get(i).copied().unwrap_or(0);
                total
            })
            .collect()
    }
}

/// Lock-free counters for one plugin name, shared by every instance and reload of it
/// so that the exported counters only ever grow.
#[derive(Debug, Default)]
pub struct PluginCounters {
    calls: AtomicU64,
    failures: [AtomicU64; FAILURE_KINDS.len()],
    fuel: AtomicU64,
    instantiations: AtomicU64,
    retirements: AtomicU64,
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    busy_ns: AtomicU64,
}

impl PluginCounters {
    /// One call that took `elapsed` and burnt `fuel`, and how it ended.
    pub fn record_call(&self, elapsed: std::time::Duration, fuel: u64, failure: Option<FailureKind>) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.fuel.fetch_add(fuel, Ordering::Relaxed);
        self.buckets[bucket(elapsed.as_secs_f64())].fetch_add(1, Ordering::Relaxed);
        self.busy_ns.fetch_add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
        if let Some(kind) = failure {
            self.record_failure(kind);
        }
    }

    /// A failure outside a timed call (an oversized result found afterwards, an
    /// instance that could not be created).
    pub fn record_failure(&self, kind: FailureKind) {
        self.failures[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_instantiation(&self) {
        self.instantiations.fetch_add(1, Ordering::Relaxed);
    }

    /// A healthy pooled instance dropped because its memory neared the limit.
    pub fn record_retirement(&self) {
        self.retirements.fetch_add(1, Ordering::Relaxed);
    }

    /// A consistent-enough snapshot (each counter is read once; they may be a call
    /// apart from each other, which metrics tolerate).
    pub fn snapshot(&self, plugin: &str) -> PluginMetrics {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
        PluginMetrics {
            plugin: plugin.to_string(),
            calls: self.calls.load(Ordering::Relaxed),
            failures: FAILURE_KINDS
                .iter()
                .zip(&self.failures)
                .map(|(k, n)| (*k, n.load(Ordering::Relaxed)))
                .filter(|(_, n)| *n > 0)
                .collect(),
            fuel_consumed: self.fuel.load(Ordering::Relaxed),
            instantiations: self.instantiations.load(Ordering::Relaxed),
            retirements: self.retirements.load(Ordering::Relaxed),
            latency: Histogram {
                count: counts.iter().sum(),
                counts,
                sum_seconds: self.busy_ns.load(Ordering::Relaxed) as f64 / 1e9,
            },
        }
    }
}

/// What one plugin has done since the gateway started.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginMetrics {
    pub plugin: String,
    pub calls: u64,
    /// Failures by kind (kinds with none are left out).
    pub failures: Vec<(FailureKind, u64)>,
    pub fuel_consumed: u64,
    pub instantiations: u64,
    /// Pooled instances retired near their memory limit.
    pub retirements: u64,
    /// Time per call inside the sandbox.
    pub latency: Histogram,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counters_snapshot_calls_failures_fuel_and_latency() {
        let c = PluginCounters::default();
        c.record_instantiation();
        c.record_call(Duration::from_micros(50), 1_000, None);
        c.record_call(Duration::from_millis(3), 5_000, Some(FailureKind::OutOfFuel));
        c.record_call(Duration::from_secs(60), 0, Some(FailureKind::Deadline));
        c.record_failure(FailureKind::OutputTooLarge);
        let m = c.snapshot("guard-x");
        assert_eq!((m.plugin.as_str(), m.calls, m.fuel_consumed, m.instantiations), ("guard-x", 3, 6_000, 1));
        assert_eq!(
            m.failures,
            [(FailureKind::OutOfFuel, 1), (FailureKind::Deadline, 1), (FailureKind::OutputTooLarge, 1)]
        );
        assert_eq!(m.latency.count, 3);
        assert_eq!(m.latency.counts[0], 1, "50 µs is in the first bucket");
        assert_eq!(m.latency.counts[LATENCY_BUCKETS.len()], 1, "60 s is above every bound");
        assert_eq!(m.latency.cumulative()[3], 2, "two calls took at most 5 ms");
        assert!((m.latency.sum_seconds - 60.00305).abs() < 1e-6);
    }

    #[test]
    fn histogram_observations_land_in_their_bucket() {
        let mut h = Histogram::default();
        h.observe(0.0001);
        h.observe(0.002);
        h.observe(100.0);
        assert_eq!(h.cumulative()[0], 1, "bounds are inclusive");
        assert_eq!(h.cumulative()[3], 2);
        assert_eq!(h.cumulative().last().copied(), Some(2), "100 s is above the largest bound");
        assert_eq!(h.count, 3);
    }
}
