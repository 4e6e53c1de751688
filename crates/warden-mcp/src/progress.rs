//! Progress an upstream sent before its result reaches the client before the result.
//!
//! rmcp reads an upstream's messages in order but hands each notification to a task
//! of its own, while a response goes straight to the waiting call. So a
//! `notifications/progress` sent just before a result can be relayed just after it,
//! and once the client's request stream has closed, the client never sees it (the
//! MCP conformance suite's `tools-call-with-progress` caught this on a busy machine;
//! a fixed settle delay only made it rarer).
//!
//! The [`Ledger`] restores the order without a delay: [`Counted`] wraps the upstream
//! transport and counts, per progress token of a call in flight, the progress
//! notifications it receives — in wire order, before rmcp sees them. The handler
//! marks each one handled once relayed (or dropped). A call that got its response
//! waits until every progress notification received before it is handled, which is
//! at once in the common case, and at most [`SETTLE_LIMIT`] if a client is slow.

use rmcp::model::{JsonRpcMessage, ProgressToken, ServerNotification};
use rmcp::service::{RoleClient, RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Longest a result waits for the progress relayed before it (a client that reads
/// its stream slowly must not hold the call's answer for long).
pub const SETTLE_LIMIT: Duration = Duration::from_secs(1);

/// Progress notifications received and handled, per token of a call in flight.
#[derive(Clone, Default)]
pub struct Ledger {
    inner: Arc<LedgerInner>,
}

#[derive(Default)]
struct LedgerInner {
    /// Only tokens of calls in flight are counted, so a hostile upstream inventing
    /// tokens cannot grow this map.
    counts: Mutex<HashMap<ProgressToken, Counts>>,
    handled: Notify,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    received: u64,
    handled: u64,
}

impl Ledger {
    /// Start counting for a call; the returned guard stops when dropped.
    pub fn track(&self, token: ProgressToken) -> Tracked {
        if let Ok(mut counts) = self.inner.counts.lock() {
            counts.insert(token.clone(), Counts::default());
        }
        Tracked { ledger: self.clone(), token }
    }

    fn received(&self, token: &ProgressToken) {
        if let Ok(mut counts) = self.inner.counts.lock()
            && let Some(c) = counts.get_mut(token)
        {
            c.received += 1;
        }
    }

    /// A progress notification with `token` was relayed or dropped.
    pub fn handled(&self, token: &ProgressToken) {
        if let Ok(mut counts) = self.inner.counts.lock()
            && let Some(c) = counts.get_mut(token)
        {
            c.handled += 1;
        }
        self.inner.handled.notify_waiters();
    }

    fn pending(&self, token: &ProgressToken) -> bool {
        self.inner.counts.lock().ok().and_then(|c| c.get(token).copied()).is_some_and(|c| c.handled < c.received)
    }
}

/// Counting for one call's progress token.
pub struct Tracked {
    ledger: Ledger,
    token: ProgressToken,
}

impl Tracked {
    /// Wait until every progress notification received so far for this call has
    /// been handled, for at most [`SETTLE_LIMIT`].
    pub async fn settle(&self) {
        let wait = async {
            loop {
                let notified = self.ledger.inner.handled.notified();
                tokio::pin!(notified);
                // Registered before the check, so a notification handled in between
                // still wakes us.
                notified.as_mut().enable();
                if !self.ledger.pending(&self.token) {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(SETTLE_LIMIT, wait).await;
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.ledger.inner.counts.lock() {
            counts.remove(&self.token);
        }
    }
}

/// An upstream transport that reports progress notifications to a [`Ledger`] as
/// they are read.
pub struct Counted<T> {
    inner: T,
    ledger: Ledger,
}

impl<T> Counted<T> {
    pub fn new(inner: T, ledger: Ledger) -> Self {
        Counted { inner, ledger }
    }
}

impl<T: Transport<RoleClient>> Transport<RoleClient> for Counted<T> {
    type Error = T::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        let message = self.inner.receive().await;
        if let Some(JsonRpcMessage::Notification(n)) = &message
            && let ServerNotification::ProgressNotification(p) = &n.notification
        {
            self.ledger.received(&p.params.progress_token);
        }
        message
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::NumberOrString;

    fn token(n: i64) -> ProgressToken {
        ProgressToken(NumberOrString::Number(n))
    }

    #[tokio::test]
    async fn settle_waits_for_what_was_received_and_ignores_untracked_tokens() {
        let ledger = Ledger::default();
        let call = ledger.track(token(1));
        // Untracked tokens are neither counted nor kept.
        ledger.received(&token(2));
        ledger.handled(&token(2));
        assert!(ledger.inner.counts.lock().expect("lock").get(&token(2)).is_none());

        ledger.received(&token(1));
        ledger.received(&token(1));
        assert!(ledger.pending(&token(1)));
        let relay = {
            let ledger = ledger.clone();
            tokio::spawn(async move {
                tokio::task::yield_now().await;
                ledger.handled(&token(1));
                tokio::task::yield_now().await;
                ledger.handled(&token(1));
            })
        };
        tokio::time::timeout(Duration::from_secs(5), call.settle()).await.expect("settled before the limit");
        assert!(!ledger.pending(&token(1)));
        relay.await.expect("relay task");
        drop(call);
        assert!(ledger.inner.counts.lock().expect("lock").is_empty());
    }
}
