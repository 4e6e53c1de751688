//! Limits on tool calls (`[gateway.limits]`, `servers[].rate` / `max_concurrency`):
//! per principal a token bucket and a number of calls in flight, per upstream the same
//! over all principals. A call over a limit is refused with JSON-RPC error [`LIMITED`]
//! (-32029, "429"), `data: {"retry_after_ms", "limit"}`, and the upstream never sees it.
//!
//! Nothing queues without bound. A call over a concurrency limit waits for a slot at
//! most `queue_timeout`; at most as many calls of one principal wait as it may run,
//! so one principal holds at most twice its `max_concurrent` calls in the gateway. A
//! call waiting for an upstream slot holds its principal's slot, so upstream queues are
//! bounded by the principals' limits. Memory: one small entry per principal seen,
//! dropped once idle (no call in flight, bucket full again: indistinguishable from a
//! new one), so rotating principals cannot grow the table without bound.
//!
//! Hot path: one short `std::sync::Mutex` section (a hash lookup by `&str`, no
//! allocation once the principal is known) and an uncontended semaphore per gate;
//! nothing is held across an await but the slots themselves.

use rmcp::ErrorData as McpError;
use rmcp::model::ErrorCode;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use warden_core::Principal;
use warden_core::config::{Config, parse_rate};

/// The JSON-RPC error code of a refusal: in the range JSON-RPC leaves to servers
/// (-32000..-32099), ending in 29 like HTTP 429 Too Many Requests.
pub const LIMITED: i32 = -32029;

/// The key of calls made without authentication (only allowed on loopback).
const ANONYMOUS: &str = "anonymous";

/// Principal entries kept before idle ones are pruned (the threshold then grows
/// with the live ones, so pruning stays amortised O(1) per new principal).
const PRUNE_AT: usize = 1024;

/// A sustained rate and the bucket size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    /// `per_second` with `burst` (default: the rate per second rounded up, at least 1).
    pub fn new(per_second: f64, burst: Option<u32>) -> Rate {
        let burst = burst.map_or_else(|| per_second.ceil().max(1.0), f64::from);
        Rate { per_second, burst }
    }

    /// From a validated config's `rate` and `burst`; `None` when unlimited.
    fn from_config(rate: &str, burst: Option<u32>) -> Option<Rate> {
        parse_rate(rate).ok().flatten().map(|per_second| Rate::new(per_second, burst))
    }
}

/// A token bucket: holds up to `burst` tokens, refilled at `per_second`; a call
/// takes one.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn full(rate: Rate, now: Instant) -> TokenBucket {
        TokenBucket { tokens: rate.burst, last: now }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_second).min(rate.burst);
        self.last = self.last.max(now);
    }

    /// Take a token at `now`, or say how long until one is there.
    pub fn take(&mut self, rate: Rate, now: Instant) -> Result<(), Duration> {
        self.refill(rate, now);
        // The slack absorbs float rounding: a caller that waited the hint it was
        // given (rounded up to a millisecond) must find its token.
        if self.tokens >= 1.0 - 1e-9 {
            self.tokens = (self.tokens - 1.0).max(0.0);
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate.per_second))
        }
    }

    /// Whether it is full again at `now` (then it is the same as a new one).
    pub fn is_full(&self, rate: Rate, now: Instant) -> bool {
        let mut probe = *self;
        probe.refill(rate, now);
        probe.tokens >= rate.burst
    }
}

/// Which limit refused a call (the `limit` of the error's data, the metrics label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    PrincipalRate,
    PrincipalConcurrency,
    UpstreamRate,
    UpstreamConcurrency,
}

impl Limit {
    pub const ALL: [Limit; 4] =
        [Limit::PrincipalRate, Limit::PrincipalConcurrency, Limit::UpstreamRate, Limit::UpstreamConcurrency];

    pub fn label(self) -> &'static str {
        match self {
            Limit::PrincipalRate => "principal-rate",
            Limit::PrincipalConcurrency => "principal-concurrency",
            Limit::UpstreamRate => "upstream-rate",
            Limit::UpstreamConcurrency => "upstream-concurrency",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A refused call: which limit, whose, and when to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub limit: Limit,
    /// The principal id or the upstream's name (operator-chosen names, no secrets).
    pub who: String,
    /// The concurrency limit, for the message (0 for rates).
    pub max: u32,
    pub retry_after: Duration,
}

impl Refusal {
    /// The hint in whole milliseconds, rounded up (at least 1).
    pub fn retry_after_ms(&self) -> u64 {
        (self.retry_after.as_nanos().div_ceil(1_000_000) as u64).max(1)
    }

    pub fn message(&self) -> String {
        let (who, ms, max) = (&self.who, self.retry_after_ms(), self.max);
        match self.limit {
            Limit::PrincipalRate => format!("rate limit exceeded for principal {who}: retry after {ms} ms"),
            Limit::PrincipalConcurrency => {
                format!("too many calls in flight for principal {who} (limit {max}): retry after {ms} ms")
            }
            Limit::UpstreamRate => format!("rate limit exceeded for upstream {who}: retry after {ms} ms"),
            Limit::UpstreamConcurrency => {
                format!("upstream {who} is busy ({max} calls in flight): retry after {ms} ms")
            }
        }
    }

    /// The JSON-RPC error the caller gets (an HTTP client gets it in a 200 response:
    /// it is an answer to one request of the session, like any JSON-RPC error).
    pub fn to_error(&self) -> McpError {
        let data = serde_json::json!({"retry_after_ms": self.retry_after_ms(), "limit": self.limit.label()});
        McpError::new(ErrorCode(LIMITED), self.message(), Some(data))
    }
}

/// Slots for calls in flight, and a bounded wait for one.
struct Gate {
    slots: Semaphore,
    capacity: u32,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// How long a slot is held, in µs (moving average): the retry hint when full.
    mean_hold_us: AtomicU64,
}

/// A slot in a gate, given back when dropped.
pub struct Slot {
    gate: Arc<Gate>,
    since: Instant,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let held = self.since.elapsed().as_micros() as u64;
        // A racy update loses a sample now and then: fine for a hint.
        let mean = self.gate.mean_hold_us.load(Ordering::Relaxed);
        let mean = if mean == 0 { held } else { mean - mean / 8 + held / 8 };
        self.gate.mean_hold_us.store(mean.max(1), Ordering::Relaxed);
        self.gate.slots.add_permits(1);
    }
}

/// Counts a waiter for as long as it waits (also when its call is dropped).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Gate {
    fn new(capacity: u32, max_waiting: usize) -> Arc<Gate> {
        Arc::new(Gate {
            slots: Semaphore::new(capacity as usize),
            capacity,
            waiting: AtomicUsize::new(0),
            max_waiting,
            mean_hold_us: AtomicU64::new(0),
        })
    }

    /// A slot, waiting at most `wait`; else the retry hint.
    async fn enter(self: &Arc<Gate>, wait: Duration) -> Result<Slot, Duration> {
        let slot = |permit: tokio::sync::SemaphorePermit<'_>| {
            permit.forget();
            Slot { gate: self.clone(), since: Instant::now() }
        };
        if let Ok(permit) = self.slots.try_acquire() {
            return Ok(slot(permit));
        }
        if wait.is_zero() {
            return Err(self.hint());
        }
        let _waiting = Waiting(&self.waiting);
        if self.waiting.fetch_add(1, Ordering::Relaxed) >= self.max_waiting {
            return Err(self.hint());
        }
        match tokio::time::timeout(wait, self.slots.acquire()).await {
            Ok(Ok(permit)) => Ok(slot(permit)),
            _ => Err(self.hint()),
        }
    }

    /// When a slot is likely free again: the mean time one is held (1 ms at least),
    /// or 1 s before any call has ended (nothing known yet; the first calls may be long).
    fn hint(&self) -> Duration {
        match self.mean_hold_us.load(Ordering::Relaxed) {
            0 => Duration::from_secs(1),
            us => Duration::from_micros(us.max(1000)),
        }
    }
}

/// One principal's limits.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PrincipalRule {
    pub rate: Option<Rate>,
    pub max_concurrent: Option<u32>,
}

/// Who an override applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Principal(String),
    Project(String),
}

/// What the limiter enforces. The default limits nothing but the upstreams'
/// `max_concurrency` (waits of at most 5 s).
#[derive(Debug, Clone)]
pub struct LimitSettings {
    pub queue_timeout: Duration,
    pub per_principal: PrincipalRule,
    /// First match wins.
    pub overrides: Vec<(Who, PrincipalRule)>,
    /// Upstream name → its rate (all principals together).
    pub upstream_rates: HashMap<String, Rate>,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            queue_timeout: Duration::from_secs(5),
            per_principal: PrincipalRule::default(),
            overrides: Vec::new(),
            upstream_rates: HashMap::new(),
        }
    }
}

impl LimitSettings {
    /// From a validated config.
    pub fn from_config(config: &Config) -> LimitSettings {
        let l = &config.gateway.limits;
        let p = &l.per_principal;
        let base = PrincipalRule { rate: Rate::from_config(&p.rate, p.burst), max_concurrent: Some(p.max_concurrent) };
        let overrides = l
            .overrides
            .iter()
            .filter_map(|o| {
                let who = match (&o.principal, &o.project) {
                    (Some(id), _) => Who::Principal(id.clone()),
                    (None, Some(project)) => Who::Project(project.clone()),
                    (None, None) => return None,
                };
                let rate = match (&o.rate, o.burst) {
                    (Some(rate), burst) => Rate::from_config(rate, burst),
                    (None, Some(burst)) => base.rate.map(|r| Rate::new(r.per_second, Some(burst))),
                    (None, None) => base.rate,
                };
                Some((who, PrincipalRule { rate, max_concurrent: o.max_concurrent.or(base.max_concurrent) }))
            })
            .collect();
        let upstream_rates = config
            .servers
            .iter()
            .filter_map(|s| Some((s.name.clone(), Rate::from_config(s.rate.as_deref()?, s.burst)?)))
            .collect();
        LimitSettings {
            queue_timeout: Duration::from_millis(l.queue_timeout_ms),
            per_principal: base,
            overrides,
            upstream_rates,
        }
    }

    /// The limits of `principal` (`None`: unauthenticated).
    fn rule_for(&self, principal: Option<&Principal>) -> PrincipalRule {
        let Some(p) = principal else { return self.per_principal };
        let matches = |who: &Who| match who {
            Who::Principal(id) => *id == p.id,
            Who::Project(project) => p.project.as_deref() == Some(project.as_str()),
        };
        self.overrides.iter().find(|(who, _)| matches(who)).map_or(self.per_principal, |(_, rule)| *rule)
    }
}

/// What the limiter keeps per principal.
struct Entry {
    /// The project the rule was chosen for (a principal id seen with another project
    /// gets its rule chosen again).
    project: Option<Box<str>>,
    rule: PrincipalRule,
    bucket: Option<TokenBucket>,
    gate: Option<Arc<Gate>>,
}

impl Entry {
    /// Nothing in flight or waiting and a full bucket: dropping it changes nothing.
    fn idle(&self, now: Instant) -> bool {
        let gate_idle = self.gate.as_ref().is_none_or(|g| Arc::strong_count(g) == 1);
        let bucket_full = match (self.bucket, self.rule.rate) {
            (Some(b), Some(rate)) => b.is_full(rate, now),
            _ => true,
        };
        gate_idle && bucket_full
    }
}

struct Principals {
    entries: HashMap<Box<str>, Entry>,
    prune_at: usize,
}

/// One upstream's limits.
struct UpstreamLimits {
    name: String,
    rate: Option<(Rate, std::sync::Mutex<TokenBucket>)>,
    gate: Arc<Gate>,
}

/// Enforces the limits; one per gateway.
pub struct Limiter {
    settings: LimitSettings,
    /// Whether any principal limit exists (else admission is free).
    principal_limits: bool,
    principals: std::sync::Mutex<Principals>,
    upstreams: Vec<UpstreamLimits>,
}

impl Limiter {
    /// `upstreams`: each upstream's name and `max_concurrency`, in the gateway's order.
    pub fn new(settings: LimitSettings, upstreams: &[(String, u32)]) -> Limiter {
        let now = Instant::now();
        let upstreams = upstreams
            .iter()
            .map(|(name, max)| UpstreamLimits {
                name: name.clone(),
                rate: settings
                    .upstream_rates
                    .get(name)
                    .map(|r| (*r, std::sync::Mutex::new(TokenBucket::full(*r, now)))),
                // Its waiters each hold a principal slot: bounded there.
                gate: Gate::new((*max).max(1), usize::MAX),
            })
            .collect();
        let limited = |r: &PrincipalRule| r.rate.is_some() || r.max_concurrent.is_some();
        let principal_limits = limited(&settings.per_principal) || settings.overrides.iter().any(|(_, r)| limited(r));
        let principals = Principals { entries: HashMap::new(), prune_at: PRUNE_AT };
        Limiter { settings, principal_limits, principals: std::sync::Mutex::new(principals), upstreams }
    }

    /// Admit a call of `principal`: a token from its bucket, then a slot (held until
    /// the returned value is dropped: the whole call).
    pub async fn admit(&self, principal: Option<&Principal>) -> Result<Option<Slot>, Refusal> {
        if !self.principal_limits {
            return Ok(None);
        }
        let id = principal.map_or(ANONYMOUS, |p| p.id.as_str());
        let refusal = |limit, max, retry_after| Refusal { limit, who: id.to_string(), max, retry_after };
        let (gate, max) = {
            // Poisoned (a panic mid-update) leaves at worst one stale bucket: go on.
            let mut principals = self.principals.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let entry = self.entry(&mut principals, id, principal, now);
            if let (Some(bucket), Some(rate)) = (entry.bucket.as_mut(), entry.rule.rate) {
                bucket.take(rate, now).map_err(|wait| refusal(Limit::PrincipalRate, 0, wait))?;
            }
            (entry.gate.clone(), entry.rule.max_concurrent.unwrap_or(0))
        };
        let Some(gate) = gate else { return Ok(None) };
        match gate.enter(self.settings.queue_timeout).await {
            Ok(slot) => Ok(Some(slot)),
            Err(wait) => Err(refusal(Limit::PrincipalConcurrency, max, wait)),
        }
    }

    /// The entry of principal `id`, made (and idle ones pruned) if needed.
    fn entry<'a>(
        &self,
        principals: &'a mut Principals,
        id: &str,
        principal: Option<&Principal>,
        now: Instant,
    ) -> &'a mut Entry {
        let project = principal.and_then(|p| p.project.as_deref());
        let known = principals.entries.get(id).is_some_and(|e| e.project.as_deref() == project);
        if !known {
            if principals.entries.len() >= principals.prune_at {
                principals.entries.retain(|_, e| !e.idle(now));
                principals.prune_at = (principals.entries.len() * 2).max(PRUNE_AT);
            }
            let rule = self.settings.rule_for(principal);
            let entry = Entry {
                project: project.map(Box::from),
                rule,
                bucket: rule.rate.map(|r| TokenBucket::full(r, now)),
                gate: rule.max_concurrent.map(|n| Gate::new(n, n as usize)),
            };
            principals.entries.insert(Box::from(id), entry);
        }
        // Just found or inserted.
        principals.entries.get_mut(id).unwrap_or_else(|| unreachable!("entry for {id} was just ensured"))
    }

    /// Admit a call to upstream `index`: a token from its bucket, then a slot (held
    /// until the returned value is dropped: the upstream call).
    pub async fn admit_upstream(&self, index: usize) -> Result<Option<Slot>, Refusal> {
        let Some(up) = self.upstreams.get(index) else { return Ok(None) };
        let refusal = |limit, max, retry_after| Refusal { limit, who: up.name.clone(), max, retry_after };
        if let Some((rate, bucket)) = &up.rate {
            let mut bucket = bucket.lock().unwrap_or_else(|e| e.into_inner());
            bucket.take(*rate, Instant::now()).map_err(|wait| refusal(Limit::UpstreamRate, 0, wait))?;
        }
        match up.gate.enter(self.settings.queue_timeout).await {
            Ok(slot) => Ok(Some(slot)),
            Err(wait) => Err(refusal(Limit::UpstreamConcurrency, up.gate.capacity, wait)),
        }
    }

    /// Principals tracked now (for tests of the pruning).
    pub fn tracked_principals(&self) -> usize {
        self.principals.lock().map(|p| p.entries.len()).unwrap_or(0)
    }

    /// Calls of principal `id` waiting for a slot now.
    #[cfg(test)]
    fn waiting(&self, id: &str) -> usize {
        let principals = self.principals.lock().expect("not poisoned");
        let gate = principals.entries.get(id).and_then(|e| e.gate.as_ref());
        gate.map_or(0, |g| g.waiting.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(id: &str, project: Option<&str>) -> Principal {
        Principal { id: id.into(), project: project.map(Into::into), ..Default::default() }
    }

    #[test]
    fn a_bucket_allows_its_burst_then_one_call_per_interval() {
        let rate = Rate::new(10.0, Some(3));
        let t0 = Instant::now();
        let mut b = TokenBucket::full(rate, t0);
        for _ in 0..3 {
            assert_eq!(b.take(rate, t0), Ok(()));
        }
        let wait = b.take(rate, t0).expect_err("empty");
        assert_eq!(wait, Duration::from_millis(100));
        assert!(b.take(rate, t0 + Duration::from_millis(99)).is_err());
        assert_eq!(b.take(rate, t0 + Duration::from_millis(100)), Ok(()));
        assert!(!b.is_full(rate, t0 + Duration::from_millis(200)));
        assert!(b.is_full(rate, t0 + Duration::from_millis(400)));
    }

    /// Over many generated schedules of calls (a fixed-seed xorshift: warden-mcp has no
    /// proptest, and a seed replays), a bucket never admits more than burst + rate ×
    /// elapsed, and a caller that waits the hint it got (rounded up to a millisecond,
    /// as the error says) is admitted.
    #[test]
    fn a_bucket_admits_at_most_burst_plus_rate_times_time() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |below: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % below
        };
        for _ in 0..500 {
            let per_second = 0.1 + next(5_000_000) as f64 / 1000.0;
            let burst = 1 + next(200) as u32;
            let rate = Rate::new(per_second, Some(burst));
            let t0 = Instant::now();
            let mut b = TokenBucket::full(rate, t0);
            let (mut now, mut admitted) = (t0, 0u64);
            for _ in 0..1 + next(300) {
                now += Duration::from_micros(next(50_000));
                match b.take(rate, now) {
                    Ok(()) => admitted += 1,
                    Err(wait) => {
                        let hint =
                            Refusal { limit: Limit::PrincipalRate, who: String::new(), max: 0, retry_after: wait };
                        let later = now + Duration::from_millis(hint.retry_after_ms());
                        let mut probe = b;
                        assert!(probe.take(rate, later).is_ok(), "{rate:?}: waited {wait:?} and still refused");
                    }
                }
                let bound = f64::from(burst) + per_second * (now - t0).as_secs_f64();
                assert!(admitted as f64 <= bound + 1e-6, "{rate:?}: {admitted} > {bound}");
            }
        }
    }

    #[test]
    fn overrides_match_principals_then_projects_and_inherit_the_rest() {
        let base = PrincipalRule { rate: Some(Rate::new(50.0, None)), max_concurrent: Some(64) };
        let ci = PrincipalRule { rate: Some(Rate::new(1.0, None)), max_concurrent: Some(64) };
        let batch = PrincipalRule { rate: base.rate, max_concurrent: Some(2) };
        let s = LimitSettings {
            per_principal: base,
            overrides: vec![(Who::Principal("ci".into()), ci), (Who::Project("batch".into()), batch)],
            ..Default::default()
        };
        assert_eq!(s.rule_for(Some(&principal("ci", Some("batch")))), ci);
        assert_eq!(s.rule_for(Some(&principal("job", Some("batch")))), batch);
        assert_eq!(s.rule_for(Some(&principal("alice", None))), base);
        assert_eq!(s.rule_for(None), base);
    }

    #[test]
    fn overrides_come_from_the_config_with_inherited_fields() {
        let text = r#"
            [gateway.limits]
            per_principal = { rate = "10/s", max_concurrent = 8 }
            overrides = [{ principal = "ci", burst = 2 }, { project = "p", rate = "unlimited", max_concurrent = 1 }]
            [[servers]]
            name = "a"
            command = "x"
            rate = "120/min"
        "#;
        let config = Config::parse(text, &|_| None).expect("valid");
        let s = LimitSettings::from_config(&config);
        assert_eq!(s.per_principal, PrincipalRule { rate: Some(Rate::new(10.0, None)), max_concurrent: Some(8) });
        assert_eq!(s.overrides[0].1, PrincipalRule { rate: Some(Rate::new(10.0, Some(2))), max_concurrent: Some(8) });
        assert_eq!(s.overrides[1].1, PrincipalRule { rate: None, max_concurrent: Some(1) });
        assert_eq!(s.upstream_rates["a"], Rate { per_second: 2.0, burst: 2.0 });
    }

    #[tokio::test]
    async fn a_principal_over_its_rate_is_refused_with_a_hint_and_others_are_not() {
        let rule = PrincipalRule { rate: Some(Rate::new(2.0, Some(1))), max_concurrent: None };
        let limiter = Limiter::new(LimitSettings { per_principal: rule, ..Default::default() }, &[]);
        let alice = principal("alice", None);
        assert!(limiter.admit(Some(&alice)).await.is_ok());
        let refusal = limiter.admit(Some(&alice)).await.err().expect("refused");
        assert_eq!(refusal.limit, Limit::PrincipalRate);
        assert!((1..=500).contains(&refusal.retry_after_ms()), "{refusal:?}");
        assert_eq!(
            refusal.message(),
            format!("rate limit exceeded for principal alice: retry after {} ms", refusal.retry_after_ms())
        );
        let error = refusal.to_error();
        assert_eq!(error.code.0, LIMITED);
        assert_eq!(error.data.as_ref().map(|d| d["limit"].clone()), Some("principal-rate".into()));
        assert!(limiter.admit(Some(&principal("bob", None))).await.is_ok(), "buckets are per principal");
        assert!(limiter.admit(None).await.is_ok(), "anonymous has its own");
    }

    #[tokio::test]
    async fn concurrency_waits_at_most_the_queue_timeout_and_queues_are_bounded() {
        let rule = PrincipalRule { rate: None, max_concurrent: Some(1) };
        let settings =
            LimitSettings { per_principal: rule, queue_timeout: Duration::from_millis(50), ..Default::default() };
        let limiter = Arc::new(Limiter::new(settings, &[("up".into(), 1)]));
        let alice = principal("alice", None);
        let held = limiter.admit(Some(&alice)).await.expect("first").expect("a slot");
        let refusal = limiter.admit(Some(&alice)).await.err().expect("times out");
        assert_eq!((refusal.limit, refusal.max), (Limit::PrincipalConcurrency, 1));
        // A slot freed while a call waits goes to it.
        let settings =
            LimitSettings { per_principal: rule, queue_timeout: Duration::from_secs(60), ..Default::default() };
        let patient = Arc::new(Limiter::new(settings, &[]));
        let first = patient.admit(Some(&alice)).await.expect("first").expect("a slot");
        let (l, a) = (patient.clone(), alice.clone());
        let waiter = tokio::spawn(async move { l.admit(Some(&a)).await.map(|s| s.is_some()) });
        while patient.waiting("alice") == 0 {
            tokio::task::yield_now().await;
        }
        drop(first);
        assert_eq!(waiter.await.expect("joined"), Ok(true));
        drop(held);

        // Upstream gates: the same, per upstream.
        let slot = limiter.admit_upstream(0).await.expect("free").expect("a slot");
        let refusal = limiter.admit_upstream(0).await.err().expect("busy");
        assert_eq!(refusal.limit, Limit::UpstreamConcurrency);
        assert_eq!(
            refusal.message(),
            format!("upstream up is busy (1 calls in flight): retry after {} ms", refusal.retry_after_ms())
        );
        drop(slot);
        assert!(limiter.admit_upstream(0).await.is_ok());
    }

    #[tokio::test]
    async fn no_more_calls_wait_than_the_principal_may_run() {
        let rule = PrincipalRule { rate: None, max_concurrent: Some(2) };
        let settings =
            LimitSettings { per_principal: rule, queue_timeout: Duration::from_secs(60), ..Default::default() };
        let limiter = Arc::new(Limiter::new(settings, &[]));
        let alice = principal("alice", None);
        let _a = limiter.admit(Some(&alice)).await.expect("1");
        let _b = limiter.admit(Some(&alice)).await.expect("2");
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let (l, a) = (limiter.clone(), alice.clone());
                tokio::spawn(async move { l.admit(Some(&a)).await.map(|_| ()) })
            })
            .collect();
        while limiter.waiting("alice") < 2 {
            tokio::task::yield_now().await;
        }
        // Two run, two wait: the fifth is refused at once, not after a minute.
        let refusal = limiter.admit(Some(&alice)).await.err().expect("queue full");
        assert_eq!(refusal.limit, Limit::PrincipalConcurrency);
        for w in waiters {
            w.abort();
        }
    }

    #[tokio::test]
    async fn idle_principals_are_pruned_so_rotation_cannot_grow_the_table() {
        let rule = PrincipalRule { rate: Some(Rate::new(1000.0, Some(1))), max_concurrent: Some(4) };
        let limiter = Limiter::new(LimitSettings { per_principal: rule, ..Default::default() }, &[]);
        for i in 0..(PRUNE_AT * 5) {
            let _ = limiter.admit(Some(&principal(&format!("p{i}"), None))).await;
            if i % 256 == 0 {
                // Let the buckets refill: those principals are idle from then on.
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        assert!(limiter.tracked_principals() <= 2 * PRUNE_AT, "{}", limiter.tracked_principals());
    }

    #[tokio::test]
    async fn upstream_rates_are_shared_by_all_principals() {
        let settings = LimitSettings {
            upstream_rates: HashMap::from([("up".to_string(), Rate::new(1.0, Some(2)))]),
            ..Default::default()
        };
        let limiter = Limiter::new(settings, &[("up".into(), 16), ("other".into(), 16)]);
        assert!(limiter.admit_upstream(0).await.is_ok());
        assert!(limiter.admit_upstream(0).await.is_ok());
        let refusal = limiter.admit_upstream(0).await.err().expect("over rate");
        assert_eq!(refusal.limit, Limit::UpstreamRate);
        assert!(limiter.admit_upstream(1).await.is_ok(), "other upstreams are not limited");
        assert!(limiter.admit(Some(&principal("x", None))).await.expect("no principal limits").is_none());
    }
}
