//! The MCP server side: the handler clients talk to, and its transports
//! (Streamable HTTP at `/mcp`, stdio).

use crate::gateway::Gateway;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult, PaginatedRequestParams,
    ServerCapabilities, ServerConfig,
};
use rmcp::service::{NotificationContext, RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, ServerHandler, ServiceExt};
use std::sync::Arc;

/// One downstream session's view of the gateway.
#[derive(Clone)]
pub struct GatewayHandler {
    gateway: Arc<Gateway>,
}

impl GatewayHandler {
    pub fn new(gateway: Arc<Gateway>) -> Self {
        GatewayHandler { gateway }
    }
}

impl ServerHandler for GatewayHandler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_tool_list_changed().build())
            .with_server_info(Implementation::new("warden", env!("CARGO_PKG_VERSION")))
            .with_instructions("Warden gateway: tools are named {server}__{tool}.")
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.gateway.register_client(context.peer);
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.gateway.tools().await))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let request_id = format!("{:?}", context.id);
        let result = self.gateway.call_tool(request_id, &request.name, request.arguments).await?;
        Ok(CallToolResponse::Complete(result))
    }
}

/// Which `Host` and `Origin` headers `/mcp` accepts; anything else gets a 4xx before
/// any MCP processing (DNS-rebinding protection).
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
}

/// Serve MCP over Streamable HTTP at `/mcp` on `listener` until the process ends.
pub async fn serve_http(
    gateway: Arc<Gateway>,
    listener: tokio::net::TcpListener,
    policy: HttpPolicy,
) -> std::io::Result<()> {
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(policy.allowed_hosts)
        .with_allowed_origins(policy.allowed_origins)
        .enforce_origin_validation();
    let service = StreamableHttpService::new(
        move || Ok(GatewayHandler::new(gateway.clone())),
        LocalSessionManager::default().into(),
        config,
    );
    let app = axum::Router::new().nest_service("/mcp", service);
    axum::serve(listener, app).await
}

/// Serve MCP over stdin/stdout until the client disconnects.
pub async fn serve_stdio(gateway: Arc<Gateway>) -> Result<(), String> {
    let service = GatewayHandler::new(gateway).serve(rmcp::transport::stdio()).await.map_err(|e| e.to_string())?;
    service.waiting().await.map_err(|e| e.to_string())?;
    Ok(())
}
