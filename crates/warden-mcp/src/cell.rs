//! The gateway in force and the process lifecycle around it.
//!
//! - Reload (`SIGHUP`, `warden reload`): the new configuration is built into a whole new
//!   [`Gateway`] first; only if that succeeds is it swapped in. Every session, old and
//!   new, uses the new one from its next request on (a revoked key or a new block rule
//!   must not wait for clients to reconnect); calls already running finish on the old
//!   one, which closes its upstreams when the last of them ends.
//! - Shutdown (`SIGTERM`, Ctrl-C): new calls are refused with a retryable error while
//!   the calls in flight drain, for at most a grace period.

use crate::gateway::Gateway;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Notify;

/// The gateway in force, and the count of calls in flight across reloads.
pub struct GatewayCell {
    current: RwLock<Arc<Gateway>>,
    in_flight: AtomicUsize,
    draining: AtomicBool,
    idle: Notify,
}

/// Held by a call while it runs, and by an HTTP exchange until its answer is sent;
/// the drain waits for every one to be dropped.
pub struct InFlight(Arc<GatewayCell>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl GatewayCell {
    pub fn new(gateway: Arc<Gateway>) -> Arc<GatewayCell> {
        Arc::new(GatewayCell {
            current: RwLock::new(gateway),
            in_flight: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            idle: Notify::new(),
        })
    }

    /// The gateway new requests use.
    pub fn get(&self) -> Arc<Gateway> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Swap in `next` (already built and started) and return the old gateway. Connected
    /// clients move over and are told that the lists may have changed.
    pub async fn replace(&self, next: Arc<Gateway>) -> Arc<Gateway> {
        let old = {
            let mut current = match self.current.write() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            std::mem::replace(&mut *current, next.clone())
        };
        next.adopt_clients(&old).await;
        old
    }

    /// Count a call in; `None` once shutdown has begun (the caller answers with
    /// [`shutting_down`]).
    pub fn begin_call(self: &Arc<Self>) -> Option<InFlight> {
        let guard = self.track();
        // Checked after counting in, so `drain` never misses a call that got past here.
        if self.draining.load(Ordering::Acquire) { None } else { Some(guard) }
    }

    /// Count something in that the drain must wait for (an HTTP answer still being
    /// sent: a call's result is only delivered once its response stream is written).
    pub fn track(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    /// Calls running now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Refuse new calls from now on.
    pub fn begin_drain(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// Refuse new calls and wait until the running ones end, for at most `grace`.
    /// Returns how many were still running when it gave up (0 = drained).
    pub async fn drain(&self, grace: Duration) -> usize {
        self.begin_drain();
        let wait = async {
            loop {
                let idle = self.idle.notified();
                tokio::pin!(idle);
                // Registered before the check, so a call ending in between still wakes us.
                idle.as_mut().enable();
                if self.in_flight() == 0 {
                    return;
                }
                idle.await;
            }
        };
        let _ = tokio::time::timeout(grace, wait).await;
        self.in_flight()
    }
}

/// The error a call gets once shutdown has begun: clients retry it elsewhere or later.
pub fn shutting_down() -> rmcp::ErrorData {
    rmcp::ErrorData::new(
        rmcp::model::ErrorCode(-32003),
        "Warden is shutting down; retry the call",
        Some(serde_json::json!({"retryable": true})),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::{Chains, Settings};

    #[tokio::test]
    async fn drain_waits_for_running_calls_and_refuses_new_ones() {
        let cell = GatewayCell::new(Gateway::start(Vec::new(), Chains::default(), Settings::default()).await);
        let call = cell.begin_call().expect("not draining yet");
        let drained = {
            let cell = cell.clone();
            tokio::spawn(async move { cell.drain(Duration::from_secs(30)).await })
        };
        while !cell.is_draining() {
            tokio::task::yield_now().await;
        }
        assert!(cell.begin_call().is_none(), "a new call during the drain is refused");
        assert!(!drained.is_finished(), "the drain waits for the running call");
        drop(call);
        assert_eq!(drained.await.expect("drain task"), 0);
    }

    #[tokio::test]
    async fn drain_gives_up_after_the_grace_period() {
        let cell = GatewayCell::new(Gateway::start(Vec::new(), Chains::default(), Settings::default()).await);
        let _stuck = cell.begin_call().expect("not draining yet");
        assert_eq!(cell.drain(Duration::from_millis(20)).await, 1);
    }
}
