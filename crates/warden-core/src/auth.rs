//! The auth chain: ordered providers, the first to accept wins.
//!
//! A provider that finds no credential it understands passes to the next. A
//! rejection is remembered (another provider may still accept, e.g. a JWT after an
//! API-key provider) and reported if nobody accepts. A provider that fails denies
//! the request (`fail_closed`, the default) or is skipped (`fail_open`). There is no
//! anonymous fallback: an empty chain is the only way to run without auth.

use crate::FailureMode;
use crate::provider::{AuthError, AuthProvider, AuthRequest};
use crate::verdict::Principal;
use std::sync::Arc;

/// Why a request was not authenticated. Reasons never contain the credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("missing credentials")]
    Missing,
    #[error("invalid credentials: {0}")]
    Rejected(String),
    #[error("authentication unavailable: {0}")]
    Failed(String),
}

/// One provider of the chain.
#[derive(Clone)]
pub struct AuthEntry {
    pub provider: Arc<dyn AuthProvider>,
    pub failure_mode: FailureMode,
}

/// Ordered auth providers.
#[derive(Clone, Default)]
pub struct AuthChain {
    entries: Vec<AuthEntry>,
}

impl AuthChain {
    pub fn new(entries: Vec<AuthEntry>) -> Self {
        AuthChain { entries }
    }

    /// No providers: the gateway runs without authentication.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub async fn authenticate(&self, request: &AuthRequest) -> Result<Principal, AuthFailure> {
        let mut rejected = None;
        for entry in &self.entries {
            match entry.provider.authenticate(request).await {
                Ok(principal) => return Ok(principal),
                Err(AuthError::NoCredentials) => {}
                Err(AuthError::Rejected(reason)) => {
                    rejected.get_or_insert(reason);
                }
                Err(AuthError::Failed(e)) => match entry.failure_mode {
                    FailureMode::FailClosed => {
                        tracing::error!(error = %e, "auth provider failed; denying (fail_closed)");
                        return Err(AuthFailure::Failed(format!("{} {}", e.plugin, e.kind)));
                    }
                    FailureMode::FailOpen => tracing::warn!(error = %e, "auth provider failed; skipped (fail_open)"),
                },
            }
        }
        Err(rejected.map_or(AuthFailure::Missing, AuthFailure::Rejected))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{FailureKind, PluginInfo, ProviderError, Transport};
    use async_trait::async_trait;

    struct Fixed(PluginInfo, Result<Principal, AuthError>);

    #[async_trait]
    impl AuthProvider for Fixed {
        fn info(&self) -> &PluginInfo {
            &self.0
        }
        async fn authenticate(&self, _: &AuthRequest) -> Result<Principal, AuthError> {
            self.1.clone()
        }
    }

    fn entry(r: Result<Principal, AuthError>, failure_mode: FailureMode) -> AuthEntry {
        AuthEntry { provider: Arc::new(Fixed(PluginInfo::default(), r)), failure_mode }
    }

    fn request() -> AuthRequest {
        AuthRequest { transport: Transport::Http, headers: Vec::new(), client_info: None, now_unix: 0 }
    }

    #[tokio::test]
    async fn first_acceptance_wins_and_rejections_are_reported() {
        let alice = Principal { id: "alice".into(), ..Default::default() };
        let closed = FailureMode::FailClosed;
        let chain = AuthChain::new(vec![
            entry(Err(AuthError::NoCredentials), closed),
            entry(Err(AuthError::Rejected("expired".into())), closed),
            entry(Ok(alice.clone()), closed),
        ]);
        assert_eq!(chain.authenticate(&request()).await, Ok(alice));
        let chain = AuthChain::new(vec![
            entry(Err(AuthError::Rejected("expired".into())), closed),
            entry(Err(AuthError::NoCredentials), closed),
        ]);
        assert_eq!(chain.authenticate(&request()).await, Err(AuthFailure::Rejected("expired".into())));
        let chain = AuthChain::new(vec![entry(Err(AuthError::NoCredentials), closed)]);
        assert_eq!(chain.authenticate(&request()).await, Err(AuthFailure::Missing));
    }

    #[tokio::test]
    async fn a_failed_provider_denies_unless_fail_open() {
        let failed = || Err(AuthError::Failed(ProviderError::new("p", FailureKind::Trap, "boom")));
        let bob = Principal { id: "bob".into(), ..Default::default() };
        let chain = AuthChain::new(vec![
            entry(failed(), FailureMode::FailClosed),
            entry(Ok(bob.clone()), FailureMode::FailClosed),
        ]);
        assert!(matches!(chain.authenticate(&request()).await, Err(AuthFailure::Failed(_))));
        let chain = AuthChain::new(vec![
            entry(failed(), FailureMode::FailOpen),
            entry(Ok(bob.clone()), FailureMode::FailClosed),
        ]);
        assert_eq!(chain.authenticate(&request()).await, Ok(bob));
    }
}
