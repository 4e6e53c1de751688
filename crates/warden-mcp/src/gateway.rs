//! The gateway: one namespaced tool list over every upstream, and the pipeline of
//! DESIGN §1 around every tools/call: input guardrails (a block means the upstream is
//! never called), the upstream call, output guardrails (a block means the content is
//! never returned), then restore of input redactions.

use crate::audit::{Audit, now_ms};
use crate::naming::{Clash, ToolPrefix, assign};
use crate::pins::{PinStatus, Pins};
use crate::upstream::{Caller, Upstream, UpstreamRequest, UpstreamSpec, send_to_client};
use crate::upstream::{Extras, UpstreamEvent};
use rmcp::ErrorData as McpError;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, CompleteRequestParams, CompleteResult, ContentBlock, GetPromptRequestParams,
    GetPromptResult, JsonObject, Prompt, ReadResourceRequestParams, ReadResourceResult, Reference, Resource,
    ResourceTemplate, SetLevelRequestParams, Tool,
};
use rmcp::model::{ClientResult, ServerRequest};
use rmcp::service::{Peer, RoleServer};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::RwLock;
use warden_core::auth::AuthChain;
use warden_core::scope::{Rule, rules_allow};
use warden_core::{Action, AuditEvent, CallContext, Finding, GuardrailChain, Outcome, Principal, Stage, TelemetrySink};

/// The providers applied to every request: auth, then guardrails around each call,
/// and the guardrails every tool definition passes at discovery.
#[derive(Clone, Default)]
pub struct Chains {
    pub auth: AuthChain,
    pub input: GuardrailChain,
    pub output: GuardrailChain,
    pub tools: GuardrailChain,
    /// Telemetry sinks: an audit event per stage of every call.
    pub telemetry: Vec<Arc<dyn TelemetrySink>>,
}

/// Reads the plugin host's per-plugin counters.
pub type PluginMetricsSource = Arc<dyn Fn() -> Vec<warden_core::PluginMetrics> + Send + Sync>;

/// How the gateway names and vets upstream tools.
#[derive(Default)]
pub struct Settings {
    pub prefix: ToolPrefix,
    /// Authorization rules on top of the principals' scopes.
    pub rules: Vec<Rule>,
    /// Export traces, metrics and logs over OTLP/HTTP (from the `OTEL_*` environment).
    pub otlp: Option<crate::otel::OtlpConfig>,
    /// The plugin host's per-plugin counters (calls, failures by kind, fuel, time),
    /// for `/metrics` and the OTLP metrics.
    pub plugin_metrics: Option<PluginMetricsSource>,
    /// Guardrail chains of the servers that set their own (by server name); the
    /// others use the gateway's.
    pub per_server: HashMap<String, Chains>,
    /// Pin tool definitions (trust on first use); `None` disables pinning.
    pub pins: Option<Pins>,
    /// Counters to continue from (a reloaded gateway keeps counting where the old one
    /// was, so `/metrics` stays monotonic); `None` starts from zero.
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
    /// Rate and concurrency limits on tool calls, per principal and per upstream.
    pub limits: crate::limits::LimitSettings,
    /// Also offer Enkrypt's meta-tools ([`crate::compat`]).
    pub compat_enkrypt: bool,
    /// The operator page ([`crate::admin`]); `None`: off.
    pub admin: Option<crate::admin::AdminSettings>,
}

/// A tool kept from clients, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenTool {
    pub server: String,
    pub tool: String,
    pub reason: String,
}

/// Where a namespaced tool or prompt lives: its upstream and its name there.
struct Route {
    upstream: usize,
    name: String,
    /// A tool's input schema: arguments are checked against it before the call.
    schema: Option<Arc<JsonObject>>,
}

/// Everything the upstreams offer, as clients see it. Tools and prompts are
/// namespaced; resource URIs are kept as they are (clients must be able to resolve
/// them), and the first upstream to list a URI owns it.
#[derive(Default)]
struct Catalog {
    tools: Vec<Tool>,
    routes: HashMap<String, Route>,
    prompts: Vec<Prompt>,
    prompt_routes: HashMap<String, Route>,
    resources: Vec<Resource>,
    resource_owners: HashMap<String, usize>,
    templates: Vec<ResourceTemplate>,
    /// Literal prefix of each template (up to its first `{`) and its upstream.
    template_owners: Vec<(String, usize)>,
}

/// Longest wait for a client's answer to a relayed sampling/elicitation/roots request.
const RELAY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// What one upstream listed at its last successful listing: kept when a later
/// listing fails, so an upstream that is down for a moment keeps its tools (a call
/// then gets a clear error) and no name moves (`on-clash`, `never`).
#[derive(Default, Clone)]
struct Listing {
    /// The tools that passed the tool guardrails and their pins.
    tools: Option<Vec<Tool>>,
    hidden: Vec<HiddenTool>,
    extras: Option<Extras>,
    error: Option<String>,
}

/// How each upstream answered at the last refresh, and the name clashes found.
#[derive(Debug, Clone)]
pub struct Report {
    /// `(server, Ok(tool count) | Err(why it could not be listed))`, in config order.
    pub upstreams: Vec<(String, Result<usize, String>)>,
    pub clashes: Vec<Clash>,
    /// Tools hidden by the tool guardrails or because their definition changed.
    pub hidden: Vec<HiddenTool>,
}

/// The aggregated upstreams and the guardrail chains.
pub struct Gateway {
    upstreams: Vec<Upstream>,
    chains: Chains,
    /// The auth chain in force; replaced when its configuration is reloaded.
    auth: std::sync::RwLock<AuthChain>,
    audit: Audit,
    otlp: Option<crate::otel::Otlp>,
    metrics: Arc<crate::metrics::Metrics>,
    limits: crate::limits::Limiter,
    plugin_metrics: Option<PluginMetricsSource>,
    prefix: ToolPrefix,
    rules: Vec<Rule>,
    per_server: HashMap<String, Chains>,
    pins: Option<Pins>,
    listings: tokio::sync::Mutex<Vec<Listing>>,
    catalog: RwLock<Catalog>,
    clashes: std::sync::Mutex<Vec<Clash>>,
    /// Connected clients, told when the tool list changes and sent upstream logs.
    clients: std::sync::Mutex<Vec<Peer<RoleServer>>>,
    /// Resource URI → clients subscribed to it.
    subscribers: std::sync::Mutex<HashMap<String, Vec<Peer<RoleServer>>>>,
    compat_enkrypt: bool,
    admin: Option<crate::admin::AdminSettings>,
}

impl Gateway {
    /// Start every upstream and build the tool catalog. An upstream that fails to
    /// start is logged and left out; it is retried at the next refresh.
    pub async fn start(specs: Vec<UpstreamSpec>, chains: Chains, settings: Settings) -> Arc<Gateway> {
        let (events, mut changed) = tokio::sync::mpsc::unbounded_channel();
        let listings = tokio::sync::Mutex::new(vec![Listing::default(); specs.len()]);
        let gates: Vec<(String, u32)> = specs.iter().map(|s| (s.name.clone(), s.max_concurrency)).collect();
        let upstreams = specs.into_iter().enumerate().map(|(i, s)| Upstream::new(s, i, events.clone())).collect();
        let gw = Arc::new(Gateway {
            upstreams,
            auth: std::sync::RwLock::new(chains.auth.clone()),
            audit: Audit::start(chains.telemetry.clone()),
            metrics: settings.metrics.unwrap_or_default(),
            limits: crate::limits::Limiter::new(settings.limits, &gates),
            plugin_metrics: settings.plugin_metrics,
            otlp: settings.otlp.map(crate::otel::Otlp::start),
            chains,
            prefix: settings.prefix,
            rules: settings.rules,
            per_server: settings.per_server,
            pins: settings.pins,
            listings,
            catalog: RwLock::new(Catalog::default()),
            clashes: std::sync::Mutex::new(Vec::new()),
            clients: std::sync::Mutex::new(Vec::new()),
            subscribers: std::sync::Mutex::new(HashMap::new()),
            compat_enkrypt: settings.compat_enkrypt,
            admin: settings.admin,
        });
        if let Some(otlp) = &gw.otlp {
            let weak = Arc::downgrade(&gw);
            otlp.start_metrics(move || weak.upgrade().map(|gw| gw.metrics_snapshot()));
        }
        gw.refresh().await;
        let weak = Arc::downgrade(&gw);
        tokio::spawn(async move {
            while let Some(event) = changed.recv().await {
                let Some(gw) = weak.upgrade() else { return };
                if let UpstreamEvent::Request(r) = event {
                    // May wait on a person (elicitation): never hold up other events.
                    tokio::spawn(async move {
                        let UpstreamRequest { upstream, caller, request, reply } = *r;
                        let _ = reply.send(gw.relay_request(upstream, caller, request).await);
                    });
                    continue;
                }
                gw.on_upstream_event(event).await;
            }
        });
        gw
    }

    async fn on_upstream_event(&self, event: UpstreamEvent) {
        match event {
            UpstreamEvent::ToolsChanged(i) => {
                tracing::info!(upstream = self.upstreams[i].name(), "upstream tool list changed");
                self.refresh().await;
                for peer in self.live_clients() {
                    let _ = peer.notify_tool_list_changed().await;
                }
            }
            UpstreamEvent::Log(i, mut params) => {
                // Say which upstream spoke, unless it named itself.
                params.logger.get_or_insert_with(|| self.upstreams[i].name().to_string());
                // Log data is upstream content like any result: a blocked message is dropped.
                let ctx = CallContext {
                    server: self.upstreams[i].name().to_string(),
                    tool: "log".into(),
                    ..Default::default()
                };
                let Ok(params) = self.guard_output(&ctx, params).await else { return };
                for peer in self.live_clients() {
                    let _ = peer.notify_logging_message(params.clone()).await;
                }
            }
            UpstreamEvent::Request(_) => {}
            UpstreamEvent::ResourceUpdated(_, params) => {
                let peers = match self.subscribers.lock() {
                    Ok(mut subs) => subs
                        .get_mut(&params.uri)
                        .map(|v| {
                            v.retain(|p| !p.is_transport_closed());
                            v.clone()
                        })
                        .unwrap_or_default(),
                    Err(_) => Vec::new(),
                };
                for peer in peers {
                    let _ = peer.notify_resource_updated(params.clone()).await;
                }
            }
        }
    }

    /// An upstream's request for the client of one of its calls. What the upstream
    /// asks passes the output chain (a sampling prompt is upstream content headed for
    /// the client's model); what the client answers passes the input chain (it goes
    /// to the upstream, like call arguments). A block on either side is an error to
    /// the upstream; the client never sees a blocked request.
    async fn relay_request(
        &self,
        upstream: usize,
        caller: Caller,
        request: ServerRequest,
    ) -> Result<ClientResult, McpError> {
        let what = match &request {
            ServerRequest::CreateMessageRequest(_) => "sampling",
            ServerRequest::ElicitRequest(_) => "elicitation",
            ServerRequest::ListRootsRequest(_) => "roots",
            _ => return Err(McpError::invalid_request("Warden does not relay this request", None)),
        };
        let ctx = CallContext {
            request_id: format!("{:?}", caller.request_id),
            principal: caller.principal.clone(),
            server: self.upstreams[upstream].name().to_string(),
            tool: what.to_string(),
        };
        let request = self.guard_output(&ctx, request).await?;
        // A person may be answering (elicitation), so the bound is generous; it keeps
        // a client that never answers from pinning this task forever.
        let answer = tokio::time::timeout(RELAY_TIMEOUT, send_to_client(&caller, request))
            .await
            .map_err(|_| McpError::internal_error(format!("the client did not answer the {what} request"), None))??;
        let value = serde_json::to_value(&answer).map_err(|e| McpError::internal_error(e.to_string(), None))?;
        let checked = self.chains_for(&ctx.server).input.run(Stage::Input, &ctx, value).await;
        match checked.action {
            Action::Allow | Action::Warn => Ok(answer),
            Action::Block => Err(McpError::invalid_request(
                format!("Warden blocked the client's {what} answer: {}", reasons(&checked.findings)),
                None,
            )),
            Action::Redact => serde_json::from_value(checked.payload)
                .map_err(|e| McpError::internal_error(format!("rewritten answer is invalid: {e}"), None)),
        }
    }

    /// logging/setLevel: applied to every upstream that logs.
    pub async fn set_level(&self, params: SetLevelRequestParams) {
        for up in &self.upstreams {
            if up.capabilities().await.logging.is_some()
                && let Err(e) = up.set_level(params.clone()).await
            {
                tracing::warn!(upstream = up.name(), error = %e, "logging/setLevel failed");
            }
        }
    }

    /// The upstream that serves `uri`, if `principal` may use it.
    async fn resource_owner(&self, principal: Option<&Principal>, uri: &str) -> Result<&Upstream, McpError> {
        let catalog = self.catalog.read().await;
        // Listed URIs first, then template prefixes; with a single upstream, every URI
        // is its (servers may accept URIs they do not list).
        let owner = catalog
            .resource_owners
            .get(uri)
            .copied()
            .or_else(|| {
                catalog.template_owners.iter().find(|(prefix, _)| uri.starts_with(prefix.as_str())).map(|(_, i)| *i)
            })
            .or((self.upstreams.len() == 1).then_some(0));
        owner
            .map(|i| &self.upstreams[i])
            .filter(|up| self.may_use_server(principal, up.name()))
            // Not echoed (see resolve_route): URIs can carry tokens.
            .ok_or_else(|| {
                McpError::invalid_params("unknown resource: no upstream offers this URI to this caller", None)
            })
    }

    /// resources/subscribe: forwarded to the owning upstream; its updates reach this client.
    pub async fn subscribe(
        &self,
        principal: Option<&Principal>,
        peer: Peer<RoleServer>,
        uri: &str,
    ) -> Result<(), McpError> {
        let upstream = self.resource_owner(principal, uri).await?;
        upstream.subscribe(uri).await.map_err(|e| McpError::internal_error(e.to_string(), None))?;
        if let Ok(mut subs) = self.subscribers.lock() {
            subs.entry(uri.to_string()).or_default().push(peer);
        }
        Ok(())
    }

    /// resources/unsubscribe: the upstream is unsubscribed when no client is left.
    /// Client handles have no identity to compare, so this drops closed sessions and
    /// one live subscription to the URI.
    pub async fn unsubscribe(&self, principal: Option<&Principal>, uri: &str) -> Result<(), McpError> {
        let upstream = self.resource_owner(principal, uri).await?;
        let last = match self.subscribers.lock() {
            Ok(mut subs) => {
                let list = subs.entry(uri.to_string()).or_default();
                list.retain(|p| !p.is_transport_closed());
                list.pop();
                list.is_empty()
            }
            Err(_) => true,
        };
        if last {
            upstream.unsubscribe(uri).await.map_err(|e| McpError::internal_error(e.to_string(), None))?;
        }
        Ok(())
    }

    /// completion/complete: a prompt reference is renamed back to the upstream's
    /// name; a resource reference is routed by URI.
    pub async fn complete(
        &self,
        principal: Option<&Principal>,
        mut params: CompleteRequestParams,
    ) -> Result<CompleteResult, McpError> {
        let upstream = match &mut params.r#ref {
            Reference::Prompt(p) => {
                let (upstream, name) = self.resolve(principal, "prompt", &p.name, |c| &c.prompt_routes).await?;
                p.name = name;
                upstream
            }
            Reference::Resource(r) => {
                let uri = r.uri.clone();
                self.resource_owner(principal, &uri).await?
            }
            _ => return Err(McpError::invalid_params("unsupported completion reference", None)),
        };
        upstream.complete(params).await.map_err(|e| McpError::internal_error(e.to_string(), None))
    }

    fn live_clients(&self) -> Vec<Peer<RoleServer>> {
        match self.clients.lock() {
            Ok(mut c) => {
                c.retain(|p| !p.is_transport_closed());
                c.clone()
            }
            Err(_) => Vec::new(),
        }
    }

    /// Take over the connected clients and resource subscriptions of `old` (the
    /// gateway this one replaces at a reload) and tell the clients that every list may
    /// have changed. A subscription whose URI no upstream offers any more is dropped.
    pub async fn adopt_clients(&self, old: &Gateway) {
        let peers = old.live_clients();
        if let Ok(mut clients) = self.clients.lock() {
            clients.extend(peers.iter().cloned());
        }
        let subscriptions = old.subscribers.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default();
        for (uri, peers) in subscriptions {
            let peers: Vec<_> = peers.into_iter().filter(|p| !p.is_transport_closed()).collect();
            if peers.is_empty() {
                continue;
            }
            let owner = self.catalog.read().await.resource_owners.get(&uri).copied();
            let Some(upstream) = owner.map(|i| &self.upstreams[i]) else { continue };
            if upstream.subscribe(&uri).await.is_ok()
                && let Ok(mut subs) = self.subscribers.lock()
            {
                subs.entry(uri).or_default().extend(peers);
            }
        }
        for peer in peers {
            let _ = peer.notify_tool_list_changed().await;
            let _ = peer.notify_prompt_list_changed().await;
            let _ = peer.notify_resource_list_changed().await;
        }
    }

    /// Stop every upstream (stdio children are killed and reaped). For shutdown; a
    /// gateway replaced at a reload stops its upstreams when its last call ends.
    pub async fn close(&self) {
        for up in &self.upstreams {
            up.stop().await;
        }
    }

    /// The counters, to hand to the gateway that replaces this one.
    pub fn metrics_handle(&self) -> Arc<crate::metrics::Metrics> {
        self.metrics.clone()
    }

    /// Whether Enkrypt's meta-tools are offered ([`crate::compat`]).
    pub fn compat_enkrypt(&self) -> bool {
        self.compat_enkrypt
    }

    /// The operator page's settings, if it is on.
    pub fn admin(&self) -> Option<&crate::admin::AdminSettings> {
        self.admin.as_ref()
    }

    /// The upstreams, in config order.
    pub(crate) fn upstream_list(&self) -> &[Upstream] {
        &self.upstreams
    }

    /// Whether tool definitions are pinned.
    pub(crate) fn pinning(&self) -> bool {
        self.pins.is_some()
    }

    /// Every tool clients may be shown, whoever asks: (upstream index, its name
    /// upstream, the definition under its client-facing name).
    pub(crate) async fn catalog_tools(&self) -> Vec<(usize, String, Tool)> {
        let catalog = self.catalog.read().await;
        let route = |t: &Tool| catalog.routes.get(t.name.as_ref()).map(|r| (r.upstream, r.name.clone(), t.clone()));
        catalog.tools.iter().filter_map(route).collect()
    }

    /// At shutdown: hand the audit events still queued to the telemetry sinks, for at
    /// most `timeout`. Returns whether everything queued was handed over.
    pub async fn flush(&self, timeout: std::time::Duration) -> bool {
        self.audit.flush(timeout).await
    }

    /// Remember a connected client for list-changed notifications.
    pub fn register_client(&self, peer: Peer<RoleServer>) {
        if let Ok(mut clients) = self.clients.lock() {
            clients.retain(|p| !p.is_transport_closed());
            clients.push(peer);
        }
    }

    /// Re-list every upstream and rebuild the catalog. An upstream that cannot be
    /// listed keeps what it listed last.
    pub async fn refresh(&self) {
        // One refresh at a time: the lock is held across the listing so two refreshes
        // cannot finish out of order.
        let mut listings = self.listings.lock().await;
        for (up, listing) in self.upstreams.iter().zip(listings.iter_mut()) {
            listing.error = None;
            match up.list_tools().await {
                Ok(tools) => {
                    let (kept, hidden) = self.screen(up.name(), tools).await;
                    listing.tools = Some(kept);
                    listing.hidden = hidden;
                }
                Err(e) => {
                    tracing::error!(upstream = up.name(), error = %e, "cannot list tools");
                    listing.error = Some(e.to_string());
                }
            }
            match up.list_extras().await {
                Ok(extras) => listing.extras = Some(extras),
                Err(e) => {
                    tracing::error!(upstream = up.name(), error = %e, "cannot list prompts/resources");
                    listing.error.get_or_insert(e.to_string());
                }
            }
        }
        let (catalog, clashes) = self.build_catalog(&listings);
        for clash in &clashes {
            let claimants: Vec<String> = clash.claimants.iter().map(|(s, t)| format!("{s}:{t}")).collect();
            let (kind, name) = (clash.kind, &clash.name);
            match &clash.kept_by {
                Some(server) => {
                    tracing::warn!(kind, %name, kept_by = %server, ?claimants, "name clash: the others are hidden")
                }
                None => tracing::info!(kind, %name, ?claimants, "name clash: prefixed with the server name"),
            }
        }
        tracing::info!(tools = catalog.tools.len(), upstreams = self.upstreams.len(), "tool catalog built");
        *self.catalog.write().await = catalog;
        if let Ok(mut c) = self.clashes.lock() {
            *c = clashes;
        }
    }

    /// Pass each definition through the tool guardrails (a block hides it; a
    /// redaction rewrites it), then compare it with its pin (a changed one is hidden).
    /// Only definitions the guardrails let through are pinned.
    async fn screen(&self, server: &str, tools: Vec<Tool>) -> (Vec<Tool>, Vec<HiddenTool>) {
        let (mut kept, mut hidden) = (Vec::with_capacity(tools.len()), Vec::new());
        let mut hide = |tool: &Tool, reason: String| {
            tracing::warn!(server, tool = %tool.name, %reason, "tool hidden from clients");
            hidden.push(HiddenTool { server: server.to_string(), tool: tool.name.to_string(), reason });
        };
        for tool in tools {
            let chains = self.chains_for(server);
            let tool = if chains.tools.is_empty() {
                tool
            } else {
                let ctx = CallContext { server: server.to_string(), tool: tool.name.to_string(), ..Default::default() };
                let value = serde_json::to_value(&tool).unwrap_or(Value::Null);
                let started = Instant::now();
                let checked = chains.tools.run(Stage::Tool, &ctx, value).await;
                self.audit(&ctx, "tool", outcome(checked.action), started, &checked.findings);
                match checked.action {
                    Action::Block => {
                        hide(&tool, format!("tool guardrails: {}", reasons(&checked.findings)));
                        continue;
                    }
                    Action::Warn => {
                        tracing::warn!(server, tool = %tool.name, findings = %reasons(&checked.findings), "tool definition flagged");
                        tool
                    }
                    Action::Redact => match serde_json::from_value::<Tool>(checked.payload) {
                        Ok(rewritten) if rewritten.name == tool.name => rewritten,
                        _ => {
                            hide(&tool, "tool guardrails rewrote the definition into an invalid one".into());
                            continue;
                        }
                    },
                    Action::Allow => tool,
                }
            };
            if let Some(pins) = &self.pins
                && pins.check(server, &tool) == PinStatus::Changed
            {
                hide(&tool, "definition changed since it was approved (warden tools approve)".into());
                continue;
            }
            kept.push(tool);
        }
        (kept, hidden)
    }

    /// Every upstream's tools as it lists them now, before guardrails and pins (for
    /// `warden tools approve`).
    pub async fn upstream_tools(&self) -> Vec<(String, Result<Vec<Tool>, String>)> {
        let mut all = Vec::new();
        for up in &self.upstreams {
            all.push((up.name().to_string(), up.list_tools().await.map_err(|e| e.to_string())));
        }
        all
    }

    fn build_catalog(&self, listings: &[Listing]) -> (Catalog, Vec<Clash>) {
        let mut catalog = Catalog::default();
        let servers: Vec<&str> = self.upstreams.iter().map(|u| u.name()).collect();
        let tools: Vec<&[Tool]> = listings.iter().map(|l| l.tools.as_deref().unwrap_or_default()).collect();
        let tool_names: Vec<(&str, Vec<&str>)> =
            servers.iter().zip(&tools).map(|(s, t)| (*s, t.iter().map(|t| t.name.as_ref()).collect())).collect();
        let (names, mut clashes) = assign(self.prefix, &tool_names);
        for (i, (row, tools)) in names.into_iter().zip(&tools).enumerate() {
            for (name, tool) in row.into_iter().zip(tools.iter()) {
                let Some(name) = name else { continue };
                let schema = Some(tool.input_schema.clone());
                catalog.routes.insert(name.clone(), Route { upstream: i, name: tool.name.to_string(), schema });
                let mut tool = tool.clone();
                tool.name = name.into();
                catalog.tools.push(tool);
            }
        }
        let prompts: Vec<&[Prompt]> =
            listings.iter().map(|l| l.extras.as_ref().map(|e| e.prompts.as_slice()).unwrap_or_default()).collect();
        let prompt_names: Vec<(&str, Vec<&str>)> =
            servers.iter().zip(&prompts).map(|(s, p)| (*s, p.iter().map(|p| p.name.as_str()).collect())).collect();
        let (names, prompt_clashes) = assign(self.prefix, &prompt_names);
        clashes.extend(prompt_clashes.into_iter().map(|c| Clash { kind: "prompt", ..c }));
        for (i, (row, prompts)) in names.into_iter().zip(&prompts).enumerate() {
            for (name, prompt) in row.into_iter().zip(prompts.iter()) {
                let Some(name) = name else { continue };
                catalog
                    .prompt_routes
                    .insert(name.clone(), Route { upstream: i, name: prompt.name.clone(), schema: None });
                let mut prompt = prompt.clone();
                prompt.name = name;
                catalog.prompts.push(prompt);
            }
        }
        for (i, listing) in listings.iter().enumerate() {
            if let Some(extras) = &listing.extras {
                catalog.add_resources(i, servers[i], extras);
            }
        }
        (catalog, clashes)
    }

    /// How each upstream answered at the last refresh, and the clashes found.
    pub async fn report(&self) -> Report {
        let listings = self.listings.lock().await;
        let upstreams = self
            .upstreams
            .iter()
            .zip(listings.iter())
            .map(|(up, l)| {
                let status = match (&l.error, &l.tools) {
                    (Some(e), _) => Err(e.clone()),
                    (None, Some(tools)) => Ok(tools.len()),
                    (None, None) => Err("not listed yet".to_string()),
                };
                (up.name().to_string(), status)
            })
            .collect();
        let clashes = self.clashes.lock().map(|c| c.clone()).unwrap_or_default();
        let hidden = listings.iter().flat_map(|l| l.hidden.iter().cloned()).collect();
        Report { upstreams, clashes, hidden }
    }

    /// The upstream and upstream-side name of a client-facing `kind` ("tool",
    /// "prompt"). A name unknown, or outside the principal's scopes, is invalid params.
    async fn resolve(
        &self,
        principal: Option<&Principal>,
        kind: &str,
        name: &str,
        routes: fn(&Catalog) -> &HashMap<String, Route>,
    ) -> Result<(&Upstream, String), McpError> {
        self.resolve_route(principal, kind, name, routes).await.map(|(up, name, _)| (up, name))
    }

    /// [`Gateway::resolve`], with the item's input schema. Only exact names resolve:
    /// no normalisation (case, Unicode, path segments), so a look-alike name is unknown.
    async fn resolve_route(
        &self,
        principal: Option<&Principal>,
        kind: &str,
        name: &str,
        routes: fn(&Catalog) -> &HashMap<String, Route>,
    ) -> Result<(&Upstream, String, Option<Arc<JsonObject>>), McpError> {
        let catalog = self.catalog.read().await;
        let route = routes(&catalog)
            .get(name)
            .filter(|r| self.may_use(principal, self.upstreams[r.upstream].name(), &r.name))
            // The name is not echoed: it is the caller's text (anything, a credential
            // pasted by mistake included), and rmcp logs every error response.
            .ok_or_else(|| {
                McpError::invalid_params(format!("unknown {kind}: none by that name for this caller"), None)
            })?;
        Ok((&self.upstreams[route.upstream], route.name.clone(), route.schema.clone()))
    }

    /// Count one stage of a request in the metrics and hand it to the telemetry sinks.
    pub fn audit(&self, ctx: &CallContext, stage: &str, outcome: Outcome, started: Instant, findings: &[Finding]) {
        let event = AuditEvent {
            timestamp_ms: now_ms(),
            request_id: ctx.request_id.clone(),
            stage: stage.to_string(),
            principal_id: ctx.principal.as_ref().map(|p| p.id.clone()),
            server: ctx.server.clone(),
            tool: ctx.tool.clone(),
            outcome,
            duration_us: started.elapsed().as_micros() as u64,
            findings: findings.to_vec(),
        };
        self.metrics.observe(&event);
        if let Some(otlp) = &self.otlp {
            otlp.record(&event);
        }
        if self.audit.enabled() {
            self.audit.record(event);
        }
    }

    /// The gateway's and the plugins' counters now.
    pub fn metrics_snapshot(&self) -> crate::metrics::Snapshot {
        let plugins = self.plugin_metrics.as_ref().map(|read| read()).unwrap_or_default();
        self.metrics.snapshot(&self.audit.stats, plugins)
    }

    /// Prometheus exposition of the gateway's metrics.
    pub fn metrics_text(&self) -> String {
        self.metrics_snapshot().prometheus() + &self.metrics.upstream_failures_prometheus()
    }

    /// The audit pipeline's counters.
    pub fn audit_stats(&self) -> &crate::audit::AuditStats {
        &self.audit.stats
    }

    /// The guardrail chains of `server`: its own, else the gateway's.
    pub(crate) fn chains_for(&self, server: &str) -> &Chains {
        self.per_server.get(server).unwrap_or(&self.chains)
    }

    /// May `principal` use tool or prompt `item` of `server`: its scopes and the
    /// operator's rules both allow it.
    pub(crate) fn may_use(&self, principal: Option<&Principal>, server: &str, item: &str) -> bool {
        warden_core::scope::may_use(principal, server, item) && rules_allow(&self.rules, principal, server, Some(item))
    }

    /// May `principal` use all of `server` (its resources)?
    pub(crate) fn may_use_server(&self, principal: Option<&Principal>, server: &str) -> bool {
        warden_core::scope::may_use_server(principal, server) && rules_allow(&self.rules, principal, server, None)
    }

    /// The auth chain requests must pass (a cheap clone of the one in force).
    pub fn auth(&self) -> AuthChain {
        // Never an empty (open) chain, even if a writer panicked.
        self.auth.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Put a new auth chain in force (e.g. keys reloaded); requests in flight finish
    /// with the old one.
    pub fn set_auth(&self, chain: AuthChain) {
        *self.auth.write().unwrap_or_else(|e| e.into_inner()) = chain;
    }

    /// The tools `principal` may call.
    pub async fn tools(&self, principal: Option<&Principal>) -> Vec<Tool> {
        let catalog = self.catalog.read().await;
        let allowed = |t: &&Tool| {
            let route = catalog.routes.get(t.name.as_ref());
            route.is_some_and(|r| self.may_use(principal, self.upstreams[r.upstream].name(), &r.name))
        };
        catalog.tools.iter().filter(allowed).cloned().collect()
    }

    /// The prompts `principal` may get.
    pub async fn prompts(&self, principal: Option<&Principal>) -> Vec<Prompt> {
        let catalog = self.catalog.read().await;
        let allowed = |p: &&Prompt| {
            let route = catalog.prompt_routes.get(&p.name);
            route.is_some_and(|r| self.may_use(principal, self.upstreams[r.upstream].name(), &r.name))
        };
        catalog.prompts.iter().filter(allowed).cloned().collect()
    }

    /// The resources of the servers `principal` may use whole.
    pub async fn resources(&self, principal: Option<&Principal>) -> Vec<Resource> {
        let catalog = self.catalog.read().await;
        let allowed = |r: &&Resource| {
            let owner = catalog.resource_owners.get(&r.uri);
            owner.is_some_and(|&i| self.may_use_server(principal, self.upstreams[i].name()))
        };
        catalog.resources.iter().filter(allowed).cloned().collect()
    }

    /// The resource templates of the servers `principal` may use whole.
    pub async fn resource_templates(&self, principal: Option<&Principal>) -> Vec<ResourceTemplate> {
        let catalog = self.catalog.read().await;
        let owners = catalog.template_owners.iter().map(|(_, i)| *i);
        let allowed = |(t, i): (&ResourceTemplate, usize)| {
            self.may_use_server(principal, self.upstreams[i].name()).then(|| t.clone())
        };
        catalog.templates.iter().zip(owners).filter_map(allowed).collect()
    }

    /// prompts/get: routed by namespaced name; the messages pass the output chain.
    pub async fn get_prompt(
        &self,
        request_id: String,
        principal: Option<Principal>,
        name: &str,
        arguments: Option<JsonObject>,
    ) -> Result<GetPromptResult, McpError> {
        let (upstream, prompt) = self.resolve(principal.as_ref(), "prompt", name, |c| &c.prompt_routes).await?;
        let mut params = GetPromptRequestParams::new(prompt.clone());
        params.arguments = arguments;
        let result = upstream.get_prompt(params).await.map_err(|e| McpError::internal_error(e.to_string(), None))?;
        let ctx = CallContext {
            request_id,
            principal,
            server: upstream.name().to_string(),
            tool: format!("prompt:{prompt}"),
        };
        self.guard_output(&ctx, result).await
    }

    /// resources/read: routed by URI (listed resources first, then templates); the
    /// contents pass the output chain.
    pub async fn read_resource(
        &self,
        request_id: String,
        principal: Option<Principal>,
        uri: &str,
    ) -> Result<ReadResourceResult, McpError> {
        let upstream = self.resource_owner(principal.as_ref(), uri).await?;
        let result = upstream
            .read_resource(ReadResourceRequestParams::new(uri.to_string()))
            .await
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        let ctx =
            CallContext { request_id, principal, server: upstream.name().to_string(), tool: format!("resource:{uri}") };
        self.guard_output(&ctx, result).await
    }

    /// Run the output chain over any result: a block becomes a JSON-RPC error (these
    /// results have no `isError`), a redaction rewrites it.
    async fn guard_output<T: Serialize + DeserializeOwned>(&self, ctx: &CallContext, result: T) -> Result<T, McpError> {
        let value = serde_json::to_value(&result).map_err(|e| McpError::internal_error(e.to_string(), None))?;
        let output = self.chains_for(&ctx.server).output.run(Stage::Output, ctx, value).await;
        match output.action {
            Action::Allow | Action::Warn => Ok(result),
            Action::Block => {
                tracing::info!(server = %ctx.server, item = %ctx.tool, "output blocked");
                Err(McpError::invalid_request(
                    format!("Warden withheld the result: {}", reasons(&output.findings)),
                    None,
                ))
            }
            Action::Redact => serde_json::from_value(output.payload)
                .map_err(|e| McpError::internal_error(format!("rewritten result is invalid: {e}"), None)),
        }
    }

    /// A tools/call through the whole pipeline. Policy outcomes and upstream failures
    /// are `isError` results with a reason; only an unknown tool is a protocol error.
    pub async fn call_tool(
        &self,
        request_id: String,
        principal: Option<Principal>,
        name: &str,
        arguments: Option<JsonObject>,
        caller: Caller,
    ) -> Result<CallToolResult, McpError> {
        self.call_tool_staged(request_id, principal, name, arguments, caller).await.0
    }

    /// [`Gateway::call_tool`], also saying which stage stopped the call, if one did
    /// (`validate`, `input`, `call`, `output`): for callers that report outcomes in
    /// their own shape ([`crate::compat`]).
    pub(crate) async fn call_tool_staged(
        &self,
        request_id: String,
        principal: Option<Principal>,
        name: &str,
        arguments: Option<JsonObject>,
        caller: Caller,
    ) -> (Result<CallToolResult, McpError>, Option<&'static str>) {
        let started = Instant::now();
        let mut ctx = CallContext { request_id, principal, tool: name.to_string(), ..Default::default() };
        let mut stopped = None;
        let result = self.run_call(&mut ctx, arguments, caller, &mut stopped).await;
        // The whole request, for traces: the parent of the stages' spans.
        let outcome = match &result {
            Ok(r) if r.is_error != Some(true) => Outcome::Allowed,
            Ok(_) => Outcome::Blocked,
            Err(_) => Outcome::Denied,
        };
        self.audit(&ctx, "request", outcome, started, &[]);
        (result, stopped)
    }

    /// A call refused by a limit after waiting since `since`: audited (stage `limit`,
    /// finding `limit.KIND`), counted, and answered with the -32029 error.
    fn limited(&self, ctx: &CallContext, refusal: &crate::limits::Refusal, since: Instant) -> McpError {
        let (label, retry_after_ms) = (refusal.limit.label(), refusal.retry_after_ms());
        // Debug: a client hammering a limit must not flood the log (it is counted).
        tracing::debug!(server = %ctx.server, tool = %ctx.tool, limit = label, retry_after_ms, "call refused by a limit");
        self.metrics.limited(refusal.limit);
        let finding = Finding::new(format!("limit.{label}"), refusal.message());
        self.audit(ctx, "limit", Outcome::Denied, since, &[finding]);
        refusal.to_error()
    }

    /// The pipeline of [`Gateway::call_tool`]; fills in `ctx` as the call resolves.
    async fn run_call(
        &self,
        ctx: &mut CallContext,
        arguments: Option<JsonObject>,
        caller: Caller,
        stopped: &mut Option<&'static str>,
    ) -> Result<CallToolResult, McpError> {
        let started = Instant::now();
        let found = self.resolve_route(ctx.principal.as_ref(), "tool", &ctx.tool, |c| &c.routes).await;
        let (upstream, tool, schema) = match found {
            Ok(found) => found,
            Err(e) => {
                // The requested name is the caller's text: never a metrics label (one
                // series per name sent) nor a span attribute (it may hold anything).
                ctx.tool = "(unknown)".into();
                let finding = Finding::new("gateway.unknown-tool", "no such tool for this caller");
                self.audit(ctx, "resolve", Outcome::Denied, started, &[finding]);
                return Err(e);
            }
        };
        ctx.server = upstream.name().to_string();
        ctx.tool = tool.clone();
        let ctx: &CallContext = ctx;
        // Held for the whole call (guardrails included): it bounds the gateway's work
        // per principal. After resolve, so the metrics labels are known names.
        let admitted = self.limits.admit(ctx.principal.as_ref()).await;
        let _principal_slot = admitted.map_err(|r| self.limited(ctx, &r, started))?;

        // Arguments that do not fit the tool's schema never reach the guardrails or the
        // upstream. An `isError` result (not a protocol error), so a model can correct
        // the call (MCP 2025-11-25, SEP-1303).
        let arguments = Value::Object(arguments.unwrap_or_default());
        if let Some(schema) = &schema
            && let Err(problems) = crate::schema::validate(schema, &arguments)
        {
            let finding = Finding::new("gateway.schema", "arguments do not match the tool's input schema");
            self.audit(ctx, "validate", Outcome::Blocked, started, &[finding]);
            let text = format!("Warden refused the call: {}", problems.join("; "));
            *stopped = Some("validate");
            return Ok(CallToolResult::error(vec![ContentBlock::text(text)]));
        }

        let stage = Instant::now();
        let chains = self.chains_for(&ctx.server);
        let input = chains.input.run(Stage::Input, ctx, arguments).await;
        self.audit(ctx, "input", outcome(input.action), stage, &input.findings);
        if input.action == Action::Block {
            tracing::info!(server = %ctx.server, tool = %ctx.tool, "input blocked");
            *stopped = Some("input");
            return Ok(refusal("blocked the call", &input.findings));
        }
        let arguments = match input.payload {
            Value::Object(map) => map,
            _ => JsonObject::new(),
        };

        let stage = Instant::now();
        // After the input chain: only calls that would reach the upstream count against
        // its limits, and the slot is held for the upstream call alone.
        let index = self.upstreams.iter().position(|u| std::ptr::eq(u, upstream)).unwrap_or(usize::MAX);
        let upstream_slot = self.limits.admit_upstream(index).await.map_err(|r| self.limited(ctx, &r, stage))?;
        let called = upstream.call_tool(CallToolRequestParams::new(tool).with_arguments(arguments), caller).await;
        drop(upstream_slot);
        let result = match called {
            Ok(r) => {
                self.audit(ctx, "call", Outcome::Allowed, stage, &[]);
                r
            }
            Err(e) => {
                tracing::warn!(error = %e, "upstream call failed");
                *stopped = Some("call");
                // Timeouts apart: they are counted per upstream (crate::metrics).
                let detector = match e {
                    crate::upstream::UpstreamError::Timeout(..) => "gateway.upstream-timeout",
                    _ => "gateway.upstream",
                };
                self.audit(ctx, "call", Outcome::Failed, stage, &[Finding::new(detector, e.to_string())]);
                return Ok(CallToolResult::error(vec![ContentBlock::text(e.to_string())]));
            }
        };

        let stage = Instant::now();
        // Nothing reads the result and nothing is to be restored in it: forward it as
        // it came (no copy into a JSON tree and back; a 1 MiB result is 1 MiB copied).
        if chains.output.is_empty() && input.restore.is_empty() {
            self.audit(ctx, "output", Outcome::Allowed, stage, &[]);
            return Ok(result);
        }
        let value = serde_json::to_value(&result).map_err(|e| McpError::internal_error(e.to_string(), None))?;
        let output = chains.output.run(Stage::Output, ctx, value).await;
        self.audit(ctx, "output", outcome(output.action), stage, &output.findings);
        if output.action == Action::Block {
            tracing::info!(server = %ctx.server, tool = %ctx.tool, "output blocked");
            *stopped = Some("output");
            return Ok(refusal("withheld the result", &output.findings));
        }
        let (value, _) = chains.input.restore(ctx, &input.restore, output.payload).await;
        if input.action == Action::Allow && output.action == Action::Allow {
            return Ok(result);
        }
        serde_json::from_value(value)
            .map_err(|e| McpError::internal_error(format!("rewritten result is invalid: {e}"), None))
    }
}

/// The audit outcome of a guardrail stage.
fn outcome(action: Action) -> Outcome {
    match action {
        Action::Allow => Outcome::Allowed,
        Action::Warn => Outcome::Warned,
        Action::Redact => Outcome::Redacted,
        Action::Block => Outcome::Blocked,
    }
}

/// An `isError` result naming each detector and its reason (never matched values:
/// finding messages are written not to contain them).
fn refusal(what: &str, findings: &[Finding]) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(format!("Warden {what}: {}", reasons(findings)))])
}

/// `detector: message; …` for the caller.
fn reasons(findings: &[Finding]) -> String {
    findings.iter().map(|f| format!("{}: {}", f.detector, f.message)).collect::<Vec<_>>().join("; ")
}

impl Catalog {
    fn add_resources(&mut self, upstream: usize, server: &str, extras: &Extras) {
        for resource in extras.resources.iter().cloned() {
            if self.resource_owners.contains_key(&resource.uri) {
                tracing::warn!(upstream = server, uri = %resource.uri, "resource URI already offered by another upstream; ignored");
                continue;
            }
            self.resource_owners.insert(resource.uri.clone(), upstream);
            self.resources.push(resource);
        }
        for template in extras.templates.iter().cloned() {
            let prefix = template.uri_template.split('{').next().unwrap_or_default().to_string();
            self.template_owners.push((prefix, upstream));
            self.templates.push(template);
        }
    }
}
