//! The upstream under test: an MCP server with one tool, `echo`, that returns its `text`
//! argument as one text block. It does nothing else, so that what a run measures is the MCP
//! transport and the gateway, not the tool. Served over stdio (the gateway starts it as a
//! child) or Streamable HTTP (stateful sessions, rmcp's defaults, as most servers run).

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, ServerHandler, ServiceExt};
use serde_json::{Value, json};
use std::io::Write;

/// The echo tool's name, as the upstream serves it.
pub const TOOL: &str = "echo";

#[derive(Clone, Default)]
pub struct Echo;

fn tool() -> Tool {
    let Value::Object(schema) =
        json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]})
    else {
        unreachable!("a JSON object literal")
    };
    Tool::new(TOOL, "Return the text argument unchanged", schema)
}

impl ServerHandler for Echo {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("warden-bench-echo", env!("CARGO_PKG_VERSION")))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(vec![tool()]))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if request.name != TOOL {
            return Err(McpError::invalid_params(format!("unknown tool {:?}", request.name), None));
        }
        match request.arguments.and_then(|mut args| args.remove("text")) {
            Some(Value::String(text)) => {
                Ok(CallToolResponse::Complete(CallToolResult::success(vec![ContentBlock::text(text)])))
            }
            _ => Err(McpError::invalid_params("missing or invalid argument \"text\"", None)),
        }
    }
}

/// Serve on stdin/stdout until the client goes away.
pub async fn serve_stdio() -> anyhow::Result<()> {
    let service = Echo.serve(rmcp::transport::stdio()).await?;
    service.waiting().await?;
    Ok(())
}

/// Serve Streamable HTTP at `http://ADDR/mcp`; prints `listening on URL` on stdout once
/// bound (port 0 picks a free port).
pub async fn serve_http(addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let service = StreamableHttpService::new(
        || Ok(Echo),
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default(),
    );
    let app = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{}/mcp", listener.local_addr()?)?;
    out.flush()?;
    drop(out);
    // As the gateway's own listener: responses are small writes that must not wait.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}
