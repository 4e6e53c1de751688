//! The gateway: one namespaced tool list over every upstream, and the pipeline of
//! DESIGN §1 around every tools/call: input guardrails (a block means the upstream is
//! never called), the upstream call, output guardrails (a block means the content is
//! never returned), then restore of input redactions.

use crate::naming::namespaced;
use crate::upstream::{Upstream, UpstreamSpec};
use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolRequestParams, CallToolResult, ContentBlock, JsonObject, Tool};
use rmcp::service::{Peer, RoleServer};
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

struct Route {
    upstream: usize,
    tool: String,
}

#[derive(Default)]
struct Catalog {
    tools: Vec<Tool>,
    routes: HashMap<String, Route>,
}

/// The aggregated upstreams and the guardrail chains.
pub struct Gateway {
    upstreams: Vec<Upstream>,
    chains: Chains,
    catalog: RwLock<Catalog>,
    /// Connected clients, told when the tool list changes.
    clients: std::sync::Mutex<Vec<Peer<RoleServer>>>,
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
        });
        gw.refresh().await;
        // An upstream's tools/list_changed: rebuild the catalog, then tell every client.
        let weak = Arc::downgrade(&gw);
        tokio::spawn(async move {
            while let Some(upstream) = changed.recv().await {
                let Some(gw) = weak.upgrade() else { return };
                tracing::info!(upstream = gw.upstreams[upstream].name(), "upstream tool list changed");
                gw.refresh().await;
                gw.notify_tools_changed().await;
            }
        });
        gw
    }

    /// Remember a connected client for list-changed notifications.
    pub fn register_client(&self, peer: Peer<RoleServer>) {
        if let Ok(mut clients) = self.clients.lock() {
            clients.retain(|p| !p.is_transport_closed());
            clients.push(peer);
        }
    }

    async fn notify_tools_changed(&self) {
        let clients: Vec<_> = match self.clients.lock() {
            Ok(mut c) => {
                c.retain(|p| !p.is_transport_closed());
                c.clone()
            }
            Err(_) => return,
        };
        for peer in clients {
            if let Err(e) = peer.notify_tool_list_changed().await {
                tracing::debug!(error = %e, "client gone before tools/list_changed");
            }
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
                        catalog.routes.insert(name.clone(), Route { upstream: i, tool: tool.name.to_string() });
                        tool.name = name.into();
                        catalog.tools.push(tool);
                    }
                }
                Err(e) => tracing::error!(upstream = up.name(), error = %e, "cannot list tools"),
            }
        }
        tracing::info!(tools = catalog.tools.len(), upstreams = self.upstreams.len(), "tool catalog built");
        *self.catalog.write().await = catalog;
    }

    /// The auth chain requests must pass.
    pub fn auth(&self) -> &AuthChain {
        &self.chains.auth
    }

    pub async fn tools(&self) -> Vec<Tool> {
        self.catalog.read().await.tools.clone()
    }

    /// A tools/call through the whole pipeline. Policy outcomes and upstream failures
    /// are `isError` results with a reason; only an unknown tool is a protocol error.
    pub async fn call_tool(
        &self,
        request_id: String,
        principal: Option<Principal>,
        name: &str,
        arguments: Option<JsonObject>,
    ) -> Result<CallToolResult, McpError> {
        let (upstream, tool) = {
            let catalog = self.catalog.read().await;
            let route = catalog
                .routes
                .get(name)
                .ok_or_else(|| McpError::invalid_params(format!("unknown tool: {name}"), None))?;
            (&self.upstreams[route.upstream], route.tool.clone())
        };
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

        let result = match upstream.call_tool(CallToolRequestParams::new(tool).with_arguments(arguments)).await {
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
    let reasons: Vec<String> = findings.iter().map(|f| format!("{}: {}", f.detector, f.message)).collect();
    CallToolResult::error(vec![ContentBlock::text(format!("Warden {what}: {}", reasons.join("; ")))])
}
