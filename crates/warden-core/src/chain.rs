//! Ordered guardrail chains and the rule that combines their verdicts.
//!
//! Guardrails of a chain run in order on the same payload; each sees the payload as
//! rewritten by the redactions before it. The strongest action wins
//! (block > redact > warn > allow). A block ends the chain early: nothing after it
//! can change the outcome, and the payload will not be used. A guardrail that fails
//! counts as a block (`fail_closed`, the default) or as a warning (`fail_open`).

use crate::FailureMode;
use crate::content::{Content, ContentForms, apply_edits};
pub use crate::provider::Stage;
use crate::provider::{FailureKind, Guardrail, ProviderError};
use crate::verdict::{Action, CallContext, Finding, Verdict};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Detector name of the finding recorded when a guardrail fails.
pub const PLUGIN_FAILURE: &str = "warden.plugin-failure";

/// One guardrail in a chain.
#[derive(Clone)]
pub struct ChainEntry {
    pub guardrail: Arc<dyn Guardrail>,
    pub failure_mode: FailureMode,
}

/// An ordered list of guardrails.
#[derive(Clone, Default)]
pub struct GuardrailChain {
    entries: Vec<ChainEntry>,
}

/// What one guardrail did, for telemetry.
#[derive(Debug, Clone)]
pub struct StepReport {
    pub plugin: String,
    pub action: Action,
    pub error: Option<ProviderError>,
    pub elapsed: Duration,
}

/// State kept to undo one guardrail's redaction later.
#[derive(Clone)]
pub struct RestoreToken {
    entry: usize,
    state: Vec<u8>,
}

impl std::fmt::Debug for RestoreToken {
    // The state may hold the redacted values themselves: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RestoreToken {{ entry: {}, state: <{} bytes> }}", self.entry, self.state.len())
    }
}

/// The combined result of a chain over one payload.
#[derive(Debug)]
pub struct ChainOutcome {
    pub action: Action,
    pub findings: Vec<Finding>,
    /// The payload after redactions (unchanged unless `action` is `Redact`).
    pub payload: Value,
    /// For [`GuardrailChain::restore`], in the order the redactions were made.
    pub restore: Vec<RestoreToken>,
    pub steps: Vec<StepReport>,
}

impl GuardrailChain {
    pub fn new(entries: Vec<ChainEntry>) -> Self {
        GuardrailChain { entries }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Run every guardrail that joins `stage` over `payload`.
    ///
    /// The outcome is always the one running them in order gives. When a core is idle
    /// (see [`Concurrency`]) the leading run of contained guardrails
    /// ([`Guardrail::is_contained`]: nothing they see can leave the gateway) runs at
    /// once on one shared snapshot of the payload, and the results are then taken in
    /// chain order: a block still ends the chain (later results are dropped), and a
    /// redaction that rewrote the payload discards the later guardrails' results,
    /// which saw the old payload, and runs them again in order on the new one. Such
    /// guardrails are pure functions of their input, so the only price of a discarded
    /// result is the CPU it took. The rest of the chain runs in order, so a guardrail
    /// that can send data out (a remote API) never sees a payload an earlier one
    /// blocked or redacted.
    pub async fn run(&self, stage: Stage, ctx: &CallContext, payload: Value) -> ChainOutcome {
        let mut out = ChainOutcome {
            action: Action::Allow,
            findings: Vec::new(),
            payload,
            restore: Vec::new(),
            steps: Vec::new(),
        };
        let joined: Vec<usize> =
            (0..self.entries.len()).filter(|&i| self.entries[i].guardrail.info().stages.contains(stage)).collect();
        let forms = joined
            .iter()
            .fold(ContentForms::default(), |f, &i| f.union(self.entries[i].guardrail.info().content_forms));
        let active = Concurrency::enter();
        let mut done = 0;
        let contained = joined.iter().take_while(|&&i| self.entries[i].guardrail.is_contained()).count();
        if contained > 1 && active.has_idle_core() {
            let content = Arc::new(Content::from_value(&out.payload, forms));
            let at_once = &joined[..contained];
            let tasks: Vec<_> = at_once.iter().map(|&i| self.spawn_check(i, stage, ctx, &content)).collect();
            for (task, &i) in tasks.into_iter().zip(at_once) {
                let (result, elapsed) = task.await.unwrap_or_else(|e| {
                    let name = &self.entries[i].guardrail.info().name;
                    (
                        Err(ProviderError::new(name, FailureKind::Trap, format!("guardrail task failed: {e}"))),
                        Duration::ZERO,
                    )
                });
                done += 1;
                match self.apply(i, result, elapsed, &mut out) {
                    Applied::Block => return out,
                    Applied::Rewrote => break,
                    Applied::Kept => {}
                }
            }
        }
        let mut content: Option<Content> = None;
        for &i in &joined[done..] {
            let content_ref = content.get_or_insert_with(|| Content::from_value(&out.payload, forms));
            let started = Instant::now();
            let result = self.entries[i].guardrail.check(stage, ctx, content_ref).await;
            match self.apply(i, result, started.elapsed(), &mut out) {
                Applied::Block => break,
                Applied::Rewrote => content = None, // rebuilt from the rewritten payload
                Applied::Kept => {}
            }
        }
        out
    }

    /// Run entry `i`'s check on its own task, timed there (so a result waiting to be
    /// taken in order is not charged for the wait).
    fn spawn_check(
        &self,
        i: usize,
        stage: Stage,
        ctx: &CallContext,
        content: &Arc<Content>,
    ) -> tokio::task::JoinHandle<(Result<Verdict, ProviderError>, Duration)> {
        let guardrail = self.entries[i].guardrail.clone();
        let (ctx, content) = (ctx.clone(), content.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let result = guardrail.check(stage, &ctx, &content).await;
            (result, started.elapsed())
        })
    }

    /// Fold entry `i`'s result into `out`: apply its edits, keep its restore state,
    /// record the step and the findings.
    fn apply(
        &self,
        i: usize,
        result: Result<Verdict, ProviderError>,
        elapsed: Duration,
        out: &mut ChainOutcome,
    ) -> Applied {
        let entry = &self.entries[i];
        let name = entry.guardrail.info().name.clone();
        let mut rewrote = false;
        let (verdict, error) = match result {
            Ok(Verdict::Redact(r)) => match apply_edits(&mut out.payload, &r.edits) {
                Ok(()) => {
                    rewrote = !r.edits.is_empty();
                    if !r.restore_state.is_empty() {
                        out.restore.push(RestoreToken { entry: i, state: r.restore_state.clone() });
                    }
                    (Verdict::Redact(r), None)
                }
                Err(e) => failed(entry, ProviderError::new(&name, FailureKind::InvalidOutput, e.to_string())),
            },
            Ok(v) => (v, None),
            Err(e) => failed(entry, e),
        };
        let action = verdict.action();
        out.action = out.action.max(action);
        out.steps.push(StepReport { plugin: name, action, error, elapsed });
        out.findings.extend(match verdict {
            Verdict::Allow => Vec::new(),
            Verdict::Warn(f) | Verdict::Block(f) => f,
            Verdict::Redact(r) => r.findings,
        });
        if action == Action::Block {
            Applied::Block
        } else if rewrote {
            Applied::Rewrote
        } else {
            Applied::Kept
        }
    }

    /// Undo redactions in a result, newest first. A restore that fails leaves the
    /// placeholders in place (nothing leaks) and is reported in the steps.
    pub async fn restore(
        &self,
        ctx: &CallContext,
        tokens: &[RestoreToken],
        mut payload: Value,
    ) -> (Value, Vec<StepReport>) {
        let mut steps = Vec::new();
        for token in tokens.iter().rev() {
            let Some(entry) = self.entries.get(token.entry) else { continue };
            let info = entry.guardrail.info();
            if !info.stages.restore {
                continue;
            }
            let started = Instant::now();
            let content = Content::from_value(&payload, info.content_forms);
            let result = match entry.guardrail.restore(ctx, &token.state, &content).await {
                Ok(edits) => apply_edits(&mut payload, &edits)
                    .map_err(|e| ProviderError::new(&info.name, FailureKind::InvalidOutput, e.to_string())),
                Err(e) => Err(e),
            };
            let error = result.err();
            if let Some(e) = &error {
                tracing::error!(plugin = %info.name, error = %e, "restore failed; placeholders left in the result");
            }
            steps.push(StepReport {
                plugin: info.name.clone(),
                action: Action::Redact,
                error,
                elapsed: started.elapsed(),
            });
        }
        (payload, steps)
    }
}

/// What folding one guardrail's result did to the chain.
enum Applied {
    /// Blocked: the chain ends.
    Block,
    /// Rewrote the payload: later guardrails must see the new one.
    Rewrote,
    Kept,
}

/// Chains running right now in this process, to decide whether running a chain's
/// guardrails at once pays: it does when a worker thread would otherwise sit idle
/// (a lone call gets its guardrails done in about the time of the slowest one); under
/// load every core is busy with other calls already, and splitting a call only adds
/// task hand-offs.
static ACTIVE_CHAINS: AtomicUsize = AtomicUsize::new(0);

/// This chain's place in [`ACTIVE_CHAINS`], released on drop.
struct Concurrency {
    active: usize,
}

impl Concurrency {
    fn enter() -> Concurrency {
        Concurrency { active: ACTIVE_CHAINS.fetch_add(1, Ordering::Relaxed) + 1 }
    }

    /// True on a multi-threaded tokio runtime with at least two workers per running
    /// chain (this one included). A current-thread runtime (tests, `warden scan`)
    /// runs chains in order.
    fn has_idle_core(&self) -> bool {
        let Ok(handle) = tokio::runtime::Handle::try_current() else { return false };
        handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
            && self.active.saturating_mul(2) <= handle.metrics().num_workers()
    }
}

impl Drop for Concurrency {
    fn drop(&mut self) {
        ACTIVE_CHAINS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The verdict standing in for a failed guardrail, by its failure mode.
fn failed(entry: &ChainEntry, error: ProviderError) -> (Verdict, Option<ProviderError>) {
    let finding = Finding::new(PLUGIN_FAILURE, format!("guardrail {} failed: {}", error.plugin, error.kind));
    let verdict = match entry.failure_mode {
        FailureMode::FailClosed => {
            tracing::error!(plugin = %error.plugin, error = %error, "guardrail failed; blocking (fail_closed)");
            Verdict::Block(vec![finding])
        }
        FailureMode::FailOpen => {
            tracing::warn!(plugin = %error.plugin, error = %error, "guardrail failed; allowing (fail_open)");
            Verdict::Warn(vec![finding])
        }
    };
    (verdict, Some(error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::TextEdit;
    use crate::provider::{PluginInfo, Stages};
    use crate::verdict::Redaction;
    use async_trait::async_trait;
    use serde_json::json;

    /// A native guardrail whose behaviour is a function of the payload.
    struct Native {
        info: PluginInfo,
        decide: fn(&Content) -> Result<Verdict, ProviderError>,
    }

    fn native(name: &str, decide: fn(&Content) -> Result<Verdict, ProviderError>) -> ChainEntry {
        let stages = Stages { input: true, output: true, tool: false, restore: true };
        let info = PluginInfo { name: name.into(), stages, content_forms: ContentForms::TEXTS, ..Default::default() };
        ChainEntry { guardrail: Arc::new(Native { info, decide }), failure_mode: FailureMode::FailClosed }
    }

    #[async_trait]
    impl Guardrail for Native {
        fn info(&self) -> &PluginInfo {
            &self.info
        }
        async fn check(&self, _: Stage, _: &CallContext, c: &Content) -> Result<Verdict, ProviderError> {
            (self.decide)(c)
        }
        async fn restore(&self, _: &CallContext, state: &[u8], c: &Content) -> Result<Vec<TextEdit>, ProviderError> {
            let original = String::from_utf8_lossy(state).into_owned();
            Ok(c.texts
                .iter()
                .filter(|t| t.text == "<X>")
                .map(|t| TextEdit { path: t.path.clone(), text: original.clone() })
                .collect())
        }
    }

    fn redact_secret(c: &Content) -> Result<Verdict, ProviderError> {
        let edits: Vec<_> = c
            .texts
            .iter()
            .filter(|t| t.text == "secret")
            .map(|t| TextEdit { path: t.path.clone(), text: "<X>".into() })
            .collect();
        if edits.is_empty() {
            return Ok(Verdict::Allow);
        }
        Ok(Verdict::Redact(Redaction {
            edits,
            restore_state: b"secret".to_vec(),
            findings: vec![Finding::new("t.secret", "redacted")],
        }))
    }
    fn warn_always(_: &Content) -> Result<Verdict, ProviderError> {
        Ok(Verdict::Warn(vec![Finding::new("t.warn", "noted")]))
    }
    fn block_on_x(c: &Content) -> Result<Verdict, ProviderError> {
        Ok(if c.texts.iter().any(|t| t.text.contains("<X>")) {
            Verdict::Block(vec![Finding::new("t.block", "saw X")])
        } else {
            Verdict::Allow
        })
    }
    fn fail(_: &Content) -> Result<Verdict, ProviderError> {
        Err(ProviderError::new("failing", FailureKind::Trap, "boom"))
    }

    #[tokio::test]
    async fn strongest_action_wins_and_later_guardrails_see_redactions() {
        let ctx = CallContext::default();
        let chain = GuardrailChain::new(vec![native("warn", warn_always), native("redact", redact_secret)]);
        let out = chain.run(Stage::Input, &ctx, json!({"a": "secret", "b": "ok"})).await;
        assert_eq!(out.action, Action::Redact);
        assert_eq!(out.payload, json!({"a": "<X>", "b": "ok"}));
        assert_eq!(out.findings.len(), 2);

        let (restored, steps) = chain.restore(&ctx, &out.restore, json!({"r": "<X> and <X>", "s": "<X>"})).await;
        assert_eq!(restored, json!({"r": "<X> and <X>", "s": "secret"}));
        assert!(steps.iter().all(|s| s.error.is_none()));

        // A guardrail after the redaction sees the placeholder, and its block wins.
        let chain = GuardrailChain::new(vec![
            native("redact", redact_secret),
            native("block", block_on_x),
            native("warn", warn_always),
        ]);
        let out = chain.run(Stage::Input, &ctx, json!(["secret"])).await;
        assert_eq!(out.action, Action::Block);
        assert_eq!(out.steps.len(), 2, "a block ends the chain");
    }

    #[tokio::test]
    async fn failure_mode_decides_a_failed_guardrail() {
        let ctx = CallContext::default();
        let mut entry = native("failing", fail);
        let out = GuardrailChain::new(vec![entry.clone()]).run(Stage::Output, &ctx, json!("x")).await;
        assert_eq!(out.action, Action::Block);
        assert_eq!(out.findings[0].detector, PLUGIN_FAILURE);
        assert_eq!(out.steps[0].error.as_ref().map(|e| e.kind), Some(FailureKind::Trap));

        entry.failure_mode = FailureMode::FailOpen;
        let out = GuardrailChain::new(vec![entry]).run(Stage::Output, &ctx, json!("x")).await;
        assert_eq!(out.action, Action::Warn);
    }

    #[tokio::test]
    async fn a_bad_edit_is_a_plugin_failure() {
        fn bad_edit(_: &Content) -> Result<Verdict, ProviderError> {
            Ok(Verdict::Redact(Redaction {
                edits: vec![TextEdit { path: "/nope".into(), text: "".into() }],
                ..Default::default()
            }))
        }
        let out = GuardrailChain::new(vec![native("bad", bad_edit)])
            .run(Stage::Input, &CallContext::default(), json!({}))
            .await;
        assert_eq!(out.action, Action::Block);
        assert_eq!(out.steps[0].error.as_ref().map(|e| e.kind), Some(FailureKind::InvalidOutput));
    }

    /// A guardrail that holds its thread for a while and records how many of its kind
    /// were running at once and how often it was called.
    struct Slow {
        info: PluginInfo,
        running: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
        calls: Arc<AtomicUsize>,
        decide: fn(&Content) -> Result<Verdict, ProviderError>,
    }

    #[async_trait]
    impl Guardrail for Slow {
        fn info(&self) -> &PluginInfo {
            &self.info
        }
        fn is_contained(&self) -> bool {
            !self.info.name.starts_with("remote")
        }
        async fn check(&self, _: Stage, _: &CallContext, c: &Content) -> Result<Verdict, ProviderError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            // Blocks the worker like a plugin running wasm does.
            std::thread::sleep(Duration::from_millis(30));
            self.running.fetch_sub(1, Ordering::SeqCst);
            (self.decide)(c)
        }
        async fn restore(&self, _: &CallContext, _: &[u8], _: &Content) -> Result<Vec<TextEdit>, ProviderError> {
            Ok(Vec::new())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 8)]
    async fn guardrails_run_at_once_with_the_in_order_outcome() {
        let (running, most, calls) = (Arc::default(), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let slow = |name: &str, decide: fn(&Content) -> Result<Verdict, ProviderError>| {
            let stages = Stages { input: true, output: true, tool: false, restore: true };
            let info =
                PluginInfo { name: name.into(), stages, content_forms: ContentForms::TEXTS, ..Default::default() };
            let guardrail =
                Slow { info, running: Arc::clone(&running), most: most.clone(), calls: calls.clone(), decide };
            ChainEntry { guardrail: Arc::new(guardrail), failure_mode: FailureMode::FailClosed }
        };
        let ctx = CallContext::default();

        // Nothing to rewrite: all four ran at once, each once, in chain order in the steps.
        let chain = GuardrailChain::new(vec![
            slow("a", warn_always),
            slow("b", redact_secret),
            slow("c", block_on_x),
            slow("d", warn_always),
        ]);
        let out = chain.run(Stage::Input, &ctx, json!({"q": "fine"})).await;
        assert_eq!(out.action, Action::Warn);
        assert_eq!(out.steps.iter().map(|s| s.plugin.as_str()).collect::<Vec<_>>(), ["a", "b", "c", "d"]);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        assert!(most.load(Ordering::SeqCst) > 1, "the guardrails never overlapped");

        // "b" rewrites the payload: "c" and "d" ran on the old one, so they run again on
        // the new one, and "c" now sees the placeholder and blocks, as in order.
        calls.store(0, Ordering::SeqCst);
        let out = chain.run(Stage::Input, &ctx, json!({"q": "secret"})).await;
        assert_eq!(out.action, Action::Block);
        assert_eq!(out.payload, json!({"q": "<X>"}));
        assert_eq!(out.steps.iter().map(|s| s.plugin.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(
            out.findings.iter().map(|f| f.detector.as_str()).collect::<Vec<_>>(),
            ["t.warn", "t.secret", "t.block"]
        );
        assert_eq!(out.restore.len(), 1);
        assert_eq!(calls.load(Ordering::SeqCst), 4 + 1, "c ran twice; d's second run never came (blocked before)");

        // A guardrail that could send data out waits for the ones ahead of it: "remote"
        // is never shown the payload "x" blocks, nor the one "b" redacts.
        calls.store(0, Ordering::SeqCst);
        let chain = GuardrailChain::new(vec![slow("x", block_on_x), slow("remote", warn_always)]);
        let out = chain.run(Stage::Input, &ctx, json!(["<X>"])).await;
        assert_eq!((out.action, out.steps.len(), calls.load(Ordering::SeqCst)), (Action::Block, 1, 1));
        calls.store(0, Ordering::SeqCst);
        let chain =
            GuardrailChain::new(vec![slow("b", redact_secret), slow("c", block_on_x), slow("remote", warn_always)]);
        let out = chain.run(Stage::Input, &ctx, json!({"q": "secret"})).await;
        assert_eq!((out.action, out.steps.len()), (Action::Block, 2));
        assert_eq!(calls.load(Ordering::SeqCst), 3, "b, c (speculative), c again; remote never");

        // A block ends the chain: later results are dropped, the outcome is the block's.
        let chain = GuardrailChain::new(vec![slow("x", block_on_x), slow("w", warn_always)]);
        let out = chain.run(Stage::Output, &ctx, json!(["<X>"])).await;
        assert_eq!(out.action, Action::Block);
        assert_eq!(out.steps.len(), 1);
        assert_eq!(out.findings.len(), 1);
    }

    #[tokio::test]
    async fn guardrails_not_joining_the_stage_are_skipped() {
        let out = GuardrailChain::new(vec![native("block", block_on_x)])
            .run(Stage::Tool, &CallContext::default(), json!("<X>"))
            .await;
        assert_eq!(out.action, Action::Allow);
        assert!(out.steps.is_empty());
    }
}
