//! The gateway: one namespaced tool list over every upstream, and the pipeline of
//! DESIGN §1 around every tools/call: input guardrails (a block means the upstream is
//! never called), the upstream call, output guardrails (a block means the content is
//! never returned), then restore of input redactions.

use crate::naming::namespaced;
use crate::upstream::{Extras, UpstreamEvent};
use crate::upstream::{Upstream, UpstreamSpec};
use rmcp::ErrorData as McpError;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, CompleteRequestParams, CompleteResult, ContentBlock, GetPromptRequestParams,
    GetPromptResult, JsonObject, ProgressToken, Prompt, ReadResourceRequestParams, ReadResourceResult, Reference,
    Resource, ResourceTemplate, SetLevelRequestParams, Tool,
};
use rmcp::service::{Peer, RoleServer};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::RwLock;
use warden_core::auth::AuthChain;
use warden_core::{Action, CallContext, Finding, GuardrailChain, Principal, Stage};

/// The providers applied to every request: auth, then guardrails around each call.
#[derive(Clone, Default)]
pub struct Chains {
    pub auth: AuthChain,
    pub input: GuardrailChain,
    pub output: GuardrailChain,
}

/// Where a namespaced tool or prompt lives: its upstream and its name there.
struct Route {
    upstream: usize,
    name: String,
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

/// The aggregated upstreams and the guardrail chains.
pub struct Gateway {
    upstreams: Vec<Upstream>,
    chains: Chains,
    catalog: RwLock<Catalog>,
    /// Connected clients, told when the tool list changes and sent upstream logs.
    clients: std::sync::Mutex<Vec<Peer<RoleServer>>>,
    /// Resource URI → clients subscribed to it.
    subscribers: std::sync::Mutex<HashMap<String, Vec<Peer<RoleServer>>>>,
}

impl Gateway {
    /// Start every upstream and build the tool catalog. An upstream that fails to
    /// start is logged and left out; it is retried at the next refresh.
    pub async fn start(specs: Vec<UpstreamSpec>, chains: Chains) -> Arc<Gateway> {
        let (events, mut changed) = tokio::sync::mpsc::unbounded_channel();
        let upstreams = specs.into_iter().enumerate().map(|(i, s)| Upstream::new(s, i, events.clone())).collect();
        let gw = Arc::new(Gateway {
            upstreams,
            chains,
            catalog: RwLock::new(Catalog::default()),
            clients: std::sync::Mutex::new(Vec::new()),
            subscribers: std::sync::Mutex::new(HashMap::new()),
        });
        gw.refresh().await;
        let weak = Arc::downgrade(&gw);
        tokio::spawn(async move {
            while let Some(event) = changed.recv().await {
                let Some(gw) = weak.upgrade() else { return };
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
                for peer in self.live_clients() {
                    let _ = peer.notify_logging_message(params.clone()).await;
                }
            }
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

    async fn resource_owner(&self, uri: &str) -> Result<&Upstream, McpError> {
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
            .ok_or_else(|| McpError::invalid_params(format!("unknown resource: {uri}"), None))
    }

    /// resources/subscribe: forwarded to the owning upstream; its updates reach this client.
    pub async fn subscribe(&self, peer: Peer<RoleServer>, uri: &str) -> Result<(), McpError> {
        let upstream = self.resource_owner(uri).await?;
        upstream.subscribe(uri).await.map_err(|e| McpError::internal_error(e.to_string(), None))?;
        if let Ok(mut subs) = self.subscribers.lock() {
            subs.entry(uri.to_string()).or_default().push(peer);
        }
        Ok(())
    }

    /// resources/unsubscribe: the upstream is unsubscribed when no client is left.
    /// Client handles have no identity to compare, so this drops closed sessions and
    /// one live subscription to the URI.
    pub async fn unsubscribe(&self, uri: &str) -> Result<(), McpError> {
        let upstream = self.resource_owner(uri).await?;
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
    pub async fn complete(&self, mut params: CompleteRequestParams) -> Result<CompleteResult, McpError> {
        let upstream = match &mut params.r#ref {
            Reference::Prompt(p) => {
                let catalog = self.catalog.read().await;
                let route = catalog
                    .prompt_routes
                    .get(&p.name)
                    .ok_or_else(|| McpError::invalid_params(format!("unknown prompt: {}", p.name), None))?;
                p.name = route.name.clone();
                &self.upstreams[route.upstream]
            }
            Reference::Resource(r) => {
                let uri = r.uri.clone();
                self.resource_owner(&uri).await?
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

    /// Remember a connected client for list-changed notifications.
    pub fn register_client(&self, peer: Peer<RoleServer>) {
        if let Ok(mut clients) = self.clients.lock() {
            clients.retain(|p| !p.is_transport_closed());
            clients.push(peer);
        }
    }

    /// Re-list every upstream's tools.
    pub async fn refresh(&self) {
        let mut catalog = Catalog::default();
        for (i, up) in self.upstreams.iter().enumerate() {
            match up.list_tools().await {
                Ok(tools) => {
                    for mut tool in tools {
                        let name = namespaced(up.name(), &tool.name);
                        catalog.routes.insert(name.clone(), Route { upstream: i, name: tool.name.to_string() });
                        tool.name = name.into();
                        catalog.tools.push(tool);
                    }
                }
                Err(e) => tracing::error!(upstream = up.name(), error = %e, "cannot list tools"),
            }
            match up.list_extras().await {
                Ok(extras) => catalog.add_extras(i, up.name(), extras),
                Err(e) => tracing::error!(upstream = up.name(), error = %e, "cannot list prompts/resources"),
            }
        }
        tracing::info!(tools = catalog.tools.len(), upstreams = self.upstreams.len(), "tool catalog built");
        *self.catalog.write().await = catalog;
    }

    /// The upstream and upstream-side name of a namespaced `kind` ("tool", "prompt");
    /// an unknown name is invalid params.
    async fn resolve(
        &self,
        kind: &str,
        name: &str,
        routes: fn(&Catalog) -> &HashMap<String, Route>,
    ) -> Result<(&Upstream, String), McpError> {
        let catalog = self.catalog.read().await;
        let route = routes(&catalog)
            .get(name)
            .ok_or_else(|| McpError::invalid_params(format!("unknown {kind}: {name}"), None))?;
        Ok((&self.upstreams[route.upstream], route.name.clone()))
    }

    /// The auth chain requests must pass.
    pub fn auth(&self) -> &AuthChain {
        &self.chains.auth
    }

    pub async fn tools(&self) -> Vec<Tool> {
        self.catalog.read().await.tools.clone()
    }

    pub async fn prompts(&self) -> Vec<Prompt> {
        self.catalog.read().await.prompts.clone()
    }

    pub async fn resources(&self) -> Vec<Resource> {
        self.catalog.read().await.resources.clone()
    }

    pub async fn resource_templates(&self) -> Vec<ResourceTemplate> {
        self.catalog.read().await.templates.clone()
    }

    /// prompts/get: routed by namespaced name; the messages pass the output chain.
    pub async fn get_prompt(
        &self,
        request_id: String,
        principal: Option<Principal>,
        name: &str,
        arguments: Option<JsonObject>,
    ) -> Result<GetPromptResult, McpError> {
        let (upstream, prompt) = self.resolve("prompt", name, |c| &c.prompt_routes).await?;
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
        let upstream = self.resource_owner(uri).await?;
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
        let output = self.chains.output.run(Stage::Output, ctx, value).await;
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
        progress: Option<(Peer<RoleServer>, ProgressToken)>,
    ) -> Result<CallToolResult, McpError> {
        let (upstream, tool) = self.resolve("tool", name, |c| &c.routes).await?;
        let ctx = CallContext { request_id, principal, server: upstream.name().to_string(), tool: tool.clone() };

        let input = self.chains.input.run(Stage::Input, &ctx, Value::Object(arguments.unwrap_or_default())).await;
        if input.action == Action::Block {
            tracing::info!(server = %ctx.server, tool = %ctx.tool, "input blocked");
            return Ok(refusal("blocked the call", &input.findings));
        }
        let arguments = match input.payload {
            Value::Object(map) => map,
            _ => JsonObject::new(),
        };

        let result =
            match upstream.call_tool(CallToolRequestParams::new(tool).with_arguments(arguments), progress).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "upstream call failed");
                    return Ok(CallToolResult::error(vec![ContentBlock::text(e.to_string())]));
                }
            };

        let value = serde_json::to_value(&result).map_err(|e| McpError::internal_error(e.to_string(), None))?;
        let output = self.chains.output.run(Stage::Output, &ctx, value).await;
        if output.action == Action::Block {
            tracing::info!(server = %ctx.server, tool = %ctx.tool, "output blocked");
            return Ok(refusal("withheld the result", &output.findings));
        }
        let (value, _) = self.chains.input.restore(&ctx, &input.restore, output.payload).await;
        if input.action == Action::Allow && output.action == Action::Allow {
            return Ok(result);
        }
        serde_json::from_value(value)
            .map_err(|e| McpError::internal_error(format!("rewritten result is invalid: {e}"), None))
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
    fn add_extras(&mut self, upstream: usize, server: &str, extras: Extras) {
        for mut prompt in extras.prompts {
            let name = namespaced(server, &prompt.name);
            self.prompt_routes.insert(name.clone(), Route { upstream, name: prompt.name.clone() });
            prompt.name = name;
            self.prompts.push(prompt);
        }
        for resource in extras.resources {
            if self.resource_owners.contains_key(&resource.uri) {
                tracing::warn!(upstream = server, uri = %resource.uri, "resource URI already offered by another upstream; ignored");
                continue;
            }
            self.resource_owners.insert(resource.uri.clone(), upstream);
            self.resources.push(resource);
        }
        for template in extras.templates {
            let prefix = template.uri_template.split('{').next().unwrap_or_default().to_string();
            self.template_owners.push((prefix, upstream));
            self.templates.push(template);
        }
    }
}
