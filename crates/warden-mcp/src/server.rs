//! The MCP server side: the handler clients talk to, and its transports
//! (Streamable HTTP at `/mcp`, stdio).

use crate::cell::{GatewayCell, shutting_down};
use crate::gateway::Gateway;
use crate::jsonrpc::{Limits, Rejection};
use crate::paging::{PAGE_SIZE, page};
use crate::upstream::Caller;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult, GetPromptRequestParams,
    GetPromptResponse, Implementation, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
    ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities,
    ServerConfig, SetLevelRequestParams, SubscribeRequestParams, UnsubscribeRequestParams,
};
use rmcp::service::{NotificationContext, RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, ServerHandler, ServiceExt};
use std::sync::Arc;
use warden_core::auth::AuthFailure;
use warden_core::{AuthRequest, Principal, Transport};

/// One page of an aggregated list as the rmcp result type `$ty`.
macro_rules! paged {
    ($ty:ty, $items:expr, $request:expr) => {{
        let (items, next) = page(&$items, $request.as_ref(), PAGE_SIZE)?;
        let mut result = <$ty>::with_all_items(items);
        result.next_cursor = next;
        Ok(result)
    }};
}

/// One downstream session's view of the gateway.
#[derive(Clone)]
pub struct GatewayHandler {
    /// The gateway in force, looked up per request: after a reload every session
    /// uses the new configuration from its next request on.
    cell: Arc<GatewayCell>,
    /// The caller of a stdio session (authenticated once, at start). HTTP callers are
    /// authenticated per request by [`require_auth`] and found in the request.
    stdio_principal: Option<Principal>,
    /// This session's number: tells the clients of an upstream apart.
    session: u64,
}

impl GatewayHandler {
    pub fn new(cell: Arc<GatewayCell>) -> Self {
        static SESSIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let session = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        GatewayHandler { cell, stdio_principal: None, session }
    }

    fn gateway(&self) -> Arc<Gateway> {
        self.cell.get()
    }

    /// A gateway-wide request id for logs, audit and traces:
    /// `s{session}-{JSON-RPC id}-{n}` (clients may reuse JSON-RPC ids).
    fn request_id(&self, context: &RequestContext<RoleServer>) -> String {
        static REQUESTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("s{}-{}-{n}", self.session, context.id)
    }

    fn principal(&self, context: &RequestContext<RoleServer>) -> Option<Principal> {
        let from_http = context.extensions.get::<Parts>().and_then(|p| p.extensions.get::<Principal>());
        from_http.or(self.stdio_principal.as_ref()).cloned()
    }
}

impl ServerHandler for GatewayHandler {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_logging()
            .enable_completions()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_prompts()
            .enable_resources()
            .enable_resources_subscribe()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("warden", env!("CARGO_PKG_VERSION")))
            .with_instructions("Warden gateway: tools are named {server}__{tool}.")
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.gateway().register_client(context.peer);
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let gateway = self.gateway();
        let mut tools = gateway.tools(self.principal(&context).as_ref()).await;
        if gateway.compat_enkrypt() {
            crate::compat::add_tools(&mut tools);
        }
        paged!(ListToolsResult, tools, request)
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        paged!(ListPromptsResult, self.gateway().prompts(self.principal(&context).as_ref()).await, request)
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let (id, principal) = (self.request_id(&context), self.principal(&context));
        Ok(self.gateway().get_prompt(id, principal, &request.name, request.arguments).await?.into())
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.gateway().set_level(request).await;
        Ok(())
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.gateway().subscribe(self.principal(&context).as_ref(), context.peer, &request.uri).await
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.gateway().unsubscribe(self.principal(&context).as_ref(), &request.uri).await
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        self.gateway().complete(self.principal(&context).as_ref(), request).await
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        paged!(ListResourcesResult, self.gateway().resources(self.principal(&context).as_ref()).await, request)
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let templates = self.gateway().resource_templates(self.principal(&context).as_ref()).await;
        paged!(ListResourceTemplatesResult, templates, request)
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let (id, principal) = (self.request_id(&context), self.principal(&context));
        Ok(self.gateway().read_resource(id, principal, &request.uri).await?.into())
    }

    /// A method MCP does not define (or one of a capability the gateway does not
    /// offer): rmcp's default answers -32601 with the bare method name as message.
    async fn on_custom_request(
        &self,
        request: rmcp::model::CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CustomResult, McpError> {
        let method = crate::schema::shown(&request.method);
        Err(McpError::new(rmcp::model::ErrorCode::METHOD_NOT_FOUND, format!("method not found: {method}"), None))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        // Counted until the answer is sent, so a shutdown drains it.
        let Some(_in_flight) = self.cell.begin_call() else { return Err(shutting_down()) };
        let request_id = self.request_id(&context);
        let principal = self.principal(&context);
        let caller = Caller {
            session: self.session,
            peer: context.peer.clone(),
            request_id: context.id.clone(),
            progress: context.meta.get_progress_token(),
            principal: principal.clone(),
        };
        let gateway = self.gateway();
        let call = async {
            if gateway.compat_enkrypt() && crate::compat::is_meta_tool(&request.name) {
                crate::compat::call(&gateway, request_id, principal, &request.name, request.arguments, caller).await
            } else {
                gateway.call_tool(request_id, principal, &request.name, request.arguments, caller).await
            }
        };
        // A client's notifications/cancelled drops the call, which cancels it upstream.
        tokio::select! {
            result = call => Ok(CallToolResponse::Complete(result?)),
            _ = context.ct.cancelled() => Err(McpError::internal_error("cancelled by the client", None)),
        }
    }
}

/// Which `Host` and `Origin` headers `/mcp` accepts; anything else gets a 4xx before
/// any MCP processing (DNS-rebinding protection).
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    /// Publish OAuth protected-resource metadata and name it in 401 challenges.
    pub oauth: Option<warden_core::config::OAuthConfig>,
    /// Size and nesting limits on every message clients send.
    pub limits: Limits,
    /// Cancelled at shutdown: stop accepting connections (calls in flight go on).
    pub stop_accepting: tokio_util::sync::CancellationToken,
    /// Cancelled after the drain: end every session and its streams.
    pub end_sessions: tokio_util::sync::CancellationToken,
    /// Seals session ids so that replicas sharing the key serve one another's
    /// sessions ([`crate::sessions`]); `None`: plain ids, known to this process only.
    pub sessions: Option<Arc<crate::sessions::Sealer>>,
}

/// What the auth middleware needs.
#[derive(Clone)]
struct AuthState {
    cell: Arc<GatewayCell>,
    /// URL of the protected-resource metadata, for `WWW-Authenticate`.
    resource_metadata: Option<String>,
}

/// Where RFC 9728 puts the metadata of `resource`: the well-known path inserted
/// between its origin and its path.
fn metadata_url(resource: &str) -> String {
    let (scheme, rest) = resource.split_once("://").unwrap_or(("https", resource));
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let path = path.trim_end_matches('/');
    let suffix = if path.is_empty() { String::new() } else { format!("/{path}") };
    format!("{scheme}://{authority}/.well-known/oauth-protected-resource{suffix}")
}

/// Serve MCP over Streamable HTTP at `/mcp` on `listener` until `policy.end_sessions`
/// is cancelled (see [`HttpPolicy`] for the order of a shutdown).
pub async fn serve_http(
    cell: Arc<GatewayCell>,
    listener: tokio::net::TcpListener,
    policy: HttpPolicy,
) -> std::io::Result<()> {
    let mut config = StreamableHttpServerConfig::default()
        .with_max_request_body_bytes(policy.limits.max_bytes)
        .with_allowed_hosts(policy.allowed_hosts.clone())
        .with_allowed_origins(policy.allowed_origins)
        .enforce_origin_validation();
    config.cancellation_token = policy.end_sessions.clone();
    let sealer = policy.sessions.clone();
    if let Some(sealer) = &sealer {
        config.session_store = Some(Arc::new(crate::sessions::TokenStore(sealer.clone())));
    }
    let auth =
        AuthState { cell: cell.clone(), resource_metadata: policy.oauth.as_ref().map(|o| metadata_url(&o.resource)) };
    let sessions = Arc::new(LocalSessionManager::default());
    let screening = Screening { limits: policy.limits, sessions: sessions.clone(), owners: Default::default(), sealer };
    let exchanges = cell.clone();
    let service = StreamableHttpService::new(move || Ok(GatewayHandler::new(cell.clone())), sessions, config);
    // Prometheus scrapes /metrics with the same credentials as /mcp (scrape configs
    // take a bearer token): tool names and block counts are not for everyone.
    let metrics_cell = auth.cell.clone();
    let metrics_cell_admin = auth.cell.clone();
    let metrics = move || {
        let body = metrics_cell.get().metrics_text();
        async move { ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body) }
    };
    // Layers run outside in: auth first (an anonymous caller learns nothing about
    // what parses), then the screening of /mcp requests, then rmcp.
    let mut app = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn_with_state(screening, screen_http))
        .layer(axum::middleware::from_fn_with_state(exchanges, count_posts))
        .route("/metrics", axum::routing::get(metrics))
        .layer(axum::middleware::from_fn_with_state(auth, require_auth));
    if let Some(oauth) = policy.oauth {
        // Public by design: clients read it before they have a token.
        let document = serde_json::json!({
            "resource": oauth.resource,
            "authorization_servers": oauth.authorization_servers,
            "scopes_supported": oauth.scopes_supported,
            "bearer_methods_supported": ["header"],
            "resource_name": "Warden MCP gateway",
        });
        let handler = move || {
            let body = document.to_string();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        };
        let path = metadata_url(&oauth.resource).split_once("/.well-known/").map(|(_, p)| format!("/.well-known/{p}"));
        app = app.route("/.well-known/oauth-protected-resource", axum::routing::get(handler.clone()));
        if let Some(path) = path.filter(|p| p != "/.well-known/oauth-protected-resource") {
            app = app.route(&path, axum::routing::get(handler));
        }
    }
    // The operator page has a key of its own (404 unless enabled).
    let admin = crate::admin::AdminState { cell: metrics_cell_admin, allowed_hosts: policy.allowed_hosts };
    app = app.merge(crate::admin::router(admin));
    let stop_accepting = policy.stop_accepting;
    let end_sessions = policy.end_sessions;
    // Without TCP_NODELAY, the second write of an SSE answer (the priming event, then
    // the message) waits for the client's delayed ACK: 40 ms per request on a
    // kept-alive connection (measured with Python's http.client).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let server = axum::serve(listener, app).with_graceful_shutdown(stop_accepting.cancelled_owned());
    // The graceful shutdown waits for open connections, and a client's GET stream
    // stays open until its session ends: once sessions are ended, give the
    // connections a moment to close, then stop regardless.
    tokio::select! {
        r = server => r,
        () = async {
            end_sessions.cancelled().await;
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        } => Ok(()),
    }
}

/// What [`screen_http`] needs.
#[derive(Clone)]
struct Screening {
    limits: Limits,
    sessions: Arc<LocalSessionManager>,
    /// Session id → the principal that initialized it. A session id is not a
    /// credential: another principal presenting it (to read its GET stream, where
    /// sampling requests and logs for its owner go) is told the session does not exist.
    owners: Arc<std::sync::Mutex<std::collections::HashMap<String, Owner>>>,
    /// With a session key: ids are sealed and carry their owner (`owners` unused).
    sealer: Option<Arc<crate::sessions::Sealer>>,
}

/// Who a session belongs to: principal id and project.
type Owner = (String, Option<String>);

/// Sessions kept in [`Screening::owners`] before closed ones are pruned.
const OWNERS_PRUNE_AT: usize = 1024;

/// A JSON-RPC error as an HTTP response (the Streamable HTTP spec lets an error
/// status carry a JSON-RPC error with no id; one with the request's id is clearer).
fn rejection_response(status: StatusCode, rejection: &Rejection) -> Response {
    let body = rejection.to_json().to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Bad input on `/mcp`, answered before rmcp sees it: an unknown session on any
/// method is 404 (rmcp accepts a DELETE of any id with 202); a POST body must fit
/// the size limit (413) and be one well-formed JSON-RPC message (400 with -32700,
/// -32600 or -32602). Content-Type and Accept (415, 406) are rmcp's checks, left
/// to run first so that a wrong media type is reported as such.
async fn screen_http(State(state): State<Screening>, request: Request, next: Next) -> Response {
    json_errors(screen(state, request, next).await).await
}

/// Counts each POST in until its answer has been written out (its body dropped): a
/// call's result travels on its POST's response stream, so a shutdown that ended the
/// sessions as soon as the call returned would lose it. GET streams stay open for
/// the session's life and are not counted.
async fn count_posts(State(cell): State<Arc<GatewayCell>>, request: Request, next: Next) -> Response {
    if request.method() != axum::http::Method::POST {
        return next.run(request).await;
    }
    let guard = cell.track();
    let (parts, body) = next.run(request).await.into_parts();
    Response::from_parts(parts, axum::body::Body::new(Counted { body, _guard: guard }))
}

/// A response body that holds an [`InFlight`](crate::cell::InFlight) until it is dropped.
struct Counted {
    body: axum::body::Body,
    _guard: crate::cell::InFlight,
}

impl http_body::Body for Counted {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// rmcp's own refusals (400 without a session, 405, 406, 415) are plain text: the
/// same message as a JSON-RPC error body, so clients parse every refusal one way.
async fn json_errors(response: Response) -> Response {
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let plain = content_type.is_none_or(|v| v.starts_with("text/plain"));
    if !response.status().is_client_error() || !plain {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).into_owned());
    let code = if parts.status == StatusCode::NOT_FOUND { -32001 } else { crate::jsonrpc::INVALID_REQUEST };
    let message = text.ok().filter(|t| !t.is_empty()).unwrap_or_else(|| parts.status.to_string());
    let body = Rejection { code, message, id: None }.to_json().to_string();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

async fn screen(state: Screening, mut request: Request, next: Next) -> Response {
    use rmcp::transport::streamable_http_server::session::SessionManager;
    let session = request.headers().get("mcp-session-id").map(|v| v.to_str().unwrap_or_default().to_string());
    let caller: Option<Owner> = request.extensions().get::<Principal>().map(|p| (p.id.clone(), p.project.clone()));
    if let (Some(sealer), Some(token)) = (&state.sealer, &session) {
        // rmcp sees the local id, or the sealed one for a session to restore here.
        match resolve_sealed(sealer, &state.sessions, token, caller.as_ref()).await {
            Ok((local, claims)) => {
                if let Ok(value) = HeaderValue::from_str(&local) {
                    request.headers_mut().insert("mcp-session-id", value);
                }
                if request.method() == axum::http::Method::DELETE {
                    let response = next.run(request).await;
                    if response.status().is_success() {
                        sealer.end(&claims, now_unix());
                    }
                    return response;
                }
            }
            Err(refusal) => {
                match refusal {
                    crate::sessions::Refusal::Foreign => {
                        tracing::warn!(principal = ?caller.as_ref().map(|c| &c.0), "{refusal}")
                    }
                    _ => tracing::debug!(reason = %refusal, "session id refused"),
                }
                let rejection = Rejection {
                    code: -32001,
                    message: "session not found (unknown or expired): initialize again".into(),
                    id: None,
                };
                return rejection_response(StatusCode::NOT_FOUND, &rejection);
            }
        }
    } else if let Some(id) = &session {
        let known = state.sessions.has_session(&id.clone().into()).await.unwrap_or(false);
        let owners = state.owners.lock().map(|mut o| {
            if !known {
                o.remove(id);
            }
            o.get(id).cloned()
        });
        let foreign = match owners {
            Ok(Some(owner)) => caller.as_ref() != Some(&owner),
            Ok(None) => false,
            // A poisoned map cannot vouch for anyone.
            Err(_) => true,
        };
        if !known || foreign {
            if foreign {
                tracing::warn!(principal = ?caller.as_ref().map(|c| &c.0), "session presented by a principal that does not own it");
            }
            let rejection = Rejection {
                code: -32001,
                message: "session not found (unknown or expired): initialize again".into(),
                id: None,
            };
            return rejection_response(StatusCode::NOT_FOUND, &rejection);
        }
    }
    if request.method() != axum::http::Method::POST {
        return next.run(request).await;
    }
    // In a block: a borrow of the (non-Sync) body must not live across an await.
    let media_ok = {
        let headers = request.headers();
        let media = |name: header::HeaderName, what: &str| {
            headers.get_all(name).iter().any(|v| v.to_str().is_ok_and(|v| v.to_ascii_lowercase().contains(what)))
        };
        media(header::CONTENT_TYPE, "application/json")
            && media(header::ACCEPT, "application/json")
            && media(header::ACCEPT, "text/event-stream")
    };
    if !media_ok {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let limit = state.limits.max_bytes;
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return rejection_response(StatusCode::PAYLOAD_TOO_LARGE, &crate::jsonrpc::too_large(limit));
    };
    let message = match crate::jsonrpc::screen(&bytes, state.limits) {
        Ok(message) => message,
        Err(rejection) => {
            tracing::debug!(code = rejection.code, reason = %rejection.message, "malformed message refused");
            return rejection_response(StatusCode::BAD_REQUEST, &rejection);
        }
    };
    let initialized = message.get("method").and_then(serde_json::Value::as_str) == Some("notifications/initialized");
    if state.sealer.is_some() && session.is_some() && initialized {
        // With sealed ids every replica completes the handshake itself (at
        // `initialize`, or when it restores the session): the client's own
        // notification would be a second one wherever it lands.
        return StatusCode::ACCEPTED.into_response();
    }
    let response = next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await;
    if let (Some(sealer), None) = (&state.sealer, &session) {
        return seal_new_session(sealer, &state.sessions, response, caller, &message).await;
    }
    // A new session (initialize): remember whose it is.
    let created = response.headers().get("mcp-session-id").and_then(|v| v.to_str().ok());
    if let (None, Some(id), Some(owner)) = (session, created, caller) {
        let live: Option<std::collections::HashSet<String>> =
            if state.owners.lock().is_ok_and(|o| o.len() >= OWNERS_PRUNE_AT) {
                Some(state.sessions.sessions.read().await.keys().map(|k| k.to_string()).collect())
            } else {
                None
            };
        if let Ok(mut owners) = state.owners.lock() {
            if let Some(live) = live {
                owners.retain(|k, _| live.contains(k));
            }
            owners.insert(id.to_string(), owner);
        }
    }
    response
}

/// The rmcp session id a sealed `token` stands for on this replica: the id it was
/// created under if this replica answered its `initialize` and still holds it, else
/// the token itself (a session rmcp restores, or has restored, through
/// [`crate::sessions::TokenStore`]) — and what the token carries. Refused unless
/// `caller` owns it.
async fn resolve_sealed(
    sealer: &crate::sessions::Sealer,
    sessions: &LocalSessionManager,
    token: &str,
    caller: Option<&Owner>,
) -> Result<(String, crate::sessions::Claims), crate::sessions::Refusal> {
    use rmcp::transport::streamable_http_server::session::SessionManager;
    let claims = sealer.open(token, now_unix())?;
    if claims.owner().as_ref() != caller {
        return Err(crate::sessions::Refusal::Foreign);
    }
    let local = sessions.has_session(&claims.sid.clone().into()).await.unwrap_or(false);
    Ok((if local { claims.sid.clone() } else { token.to_string() }, claims))
}

/// The answer to an `initialize` with a sealed session id in place of rmcp's, and the
/// handshake completed here (see `screen`). A session whose id cannot be sealed (the
/// client's capabilities are too large to carry) is closed and refused.
async fn seal_new_session(
    sealer: &crate::sessions::Sealer,
    sessions: &LocalSessionManager,
    mut response: Response,
    owner: Option<Owner>,
    message: &serde_json::Value,
) -> Response {
    use rmcp::model::{ClientJsonRpcMessage, ClientNotification, InitializedNotification};
    use rmcp::transport::streamable_http_server::session::SessionManager;
    let created = response.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    let Some(local) = created.filter(|_| response.status().is_success()) else { return response };
    let claims = crate::sessions::Sealer::claims(&local, owner, message, now_unix());
    let Some(value) = sealer.seal(&claims).and_then(|t| HeaderValue::from_str(&t).ok()) else {
        let _ = sessions.close_session(&local.into()).await;
        let rejection = Rejection {
            code: crate::jsonrpc::INVALID_PARAMS,
            message: "initialize: the client's capabilities are too large to carry in a session id".into(),
            id: message.get("id").cloned(),
        };
        return rejection_response(StatusCode::BAD_REQUEST, &rejection);
    };
    let initialized = ClientJsonRpcMessage::notification(ClientNotification::InitializedNotification(
        InitializedNotification::default(),
    ));
    if let Err(e) = sessions.accept_message(&local.into(), initialized).await {
        tracing::debug!(error = %e, "could not complete the handshake of a new session");
    }
    response.headers_mut().insert("mcp-session-id", value);
    response
}

/// Seconds since the Unix epoch (what auth plugins get as `now-unix`).
pub fn now_unix() -> u64 {
    crate::audit::now_ms() / 1000
}

/// Every HTTP request (initialize, ping, tools/list included) must pass the auth
/// chain; the principal rides along in the request's extensions. Failures are a 401
/// with `WWW-Authenticate`, before any MCP processing.
async fn require_auth(State(state): State<AuthState>, mut request: Request, next: Next) -> Response {
    let gateway = &state.cell.get();
    let started = std::time::Instant::now();
    if gateway.auth().is_empty() {
        return next.run(request).await;
    }
    let headers = request
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_string())))
        .collect();
    let auth = AuthRequest { transport: Transport::Http, headers, client_info: None, now_unix: now_unix() };
    match gateway.auth().authenticate(&auth).await {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(failure) => {
            tracing::info!(reason = %failure, "request refused: not authenticated");
            let outcome = match &failure {
                AuthFailure::Failed(_) => warden_core::Outcome::Failed,
                _ => warden_core::Outcome::Denied,
            };
            let ctx = warden_core::CallContext { request_id: "http".into(), ..Default::default() };
            let finding = warden_core::Finding::new("auth", failure.to_string());
            gateway.audit(&ctx, "auth", outcome, started, &[finding]);
            let (status, error) = match &failure {
                AuthFailure::Failed(_) => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
                _ => (StatusCode::UNAUTHORIZED, "invalid_token"),
            };
            let mut challenge = format!("Bearer realm=\"warden\", error=\"{error}\"");
            if let Some(url) = &state.resource_metadata {
                challenge.push_str(&format!(", resource_metadata=\"{url}\""));
            }
            let body = serde_json::json!({"error": error, "error_description": failure.to_string()}).to_string();
            let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            response
        }
    }
}

/// Serve MCP over stdin/stdout until the client disconnects. The session's caller
/// is authenticated once, from `credential` (the gateway's own environment).
pub async fn serve_stdio(cell: Arc<GatewayCell>, credential: Option<String>, limits: Limits) -> Result<(), String> {
    let gateway = cell.get();
    let mut handler = GatewayHandler::new(cell);
    if !gateway.auth().is_empty() {
        let headers =
            credential.map(|key| vec![("authorization".to_string(), format!("Bearer {key}"))]).unwrap_or_default();
        let auth = AuthRequest { transport: Transport::Stdio, headers, client_info: None, now_unix: now_unix() };
        let principal = gateway.auth().authenticate(&auth).await.map_err(|e| format!("stdio session refused: {e}"))?;
        handler.stdio_principal = Some(principal);
    }
    let transport = screened_stdio(tokio::io::stdin(), tokio::io::stdout(), limits);
    let service = handler.serve(transport).await.map_err(|e| e.to_string())?;
    service.waiting().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// A stdio transport whose incoming lines pass [`crate::jsonrpc::screen`] first:
/// rmcp drops some malformed lines silently and misreports others, so the client gets
/// the proper JSON-RPC error here and rmcp only ever sees well-formed messages.
/// Requests before `initialize` are refused here too (rmcp answers them with a
/// confusing error about the 2026 revision's `_meta`). Both directions go through
/// one writer task, so an error line never interleaves with rmcp's output.
fn screened_stdio<R, W>(input: R, output: W, limits: Limits) -> (tokio::io::DuplexStream, tokio::io::DuplexStream)
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let (to_rmcp, rmcp_in) = tokio::io::duplex(64 * 1024);
    let (rmcp_out, from_rmcp) = tokio::io::duplex(64 * 1024);
    let (lines, mut outgoing) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    // Writer: rmcp's output and our errors, whole lines each.
    tokio::spawn(async move {
        let mut output = output;
        while let Some(mut line) = outgoing.recv().await {
            line.push(b'\n');
            if output.write_all(&line).await.is_err() || output.flush().await.is_err() {
                return;
            }
        }
    });
    let errors = lines.clone();
    tokio::spawn(async move {
        let mut from_rmcp = tokio::io::BufReader::new(from_rmcp);
        let mut line = Vec::new();
        while from_rmcp.read_until(b'\n', &mut line).await.is_ok_and(|n| n > 0) {
            let text = line.strip_suffix(b"\n").unwrap_or(&line).to_vec();
            if lines.send(text).await.is_err() {
                return;
            }
            line.clear();
        }
    });
    tokio::spawn(async move {
        let mut input = tokio::io::BufReader::new(input);
        let mut to_rmcp = to_rmcp;
        let mut initialized = false;
        loop {
            // End of input (or a read error): rmcp sees its input close and ends.
            let Ok(Some(line)) = read_line_bounded(&mut input, limits.max_bytes).await else { return };
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let rejection = match line.len() > limits.max_bytes {
                true => Err(crate::jsonrpc::too_large(limits.max_bytes)),
                false => crate::jsonrpc::screen(line, limits),
            }
            .and_then(|message| {
                if !initialized && crate::jsonrpc::needs_initialize(&message) {
                    let id = message.get("id").cloned();
                    let text = "the session is not initialized: send initialize first";
                    return Err(Rejection { code: crate::jsonrpc::INVALID_REQUEST, message: text.into(), id });
                }
                initialized |= message.get("method").and_then(serde_json::Value::as_str) == Some("initialize");
                Ok(())
            });
            match rejection {
                Ok(()) => {
                    if to_rmcp.write_all(line).await.is_err() || to_rmcp.write_all(b"\n").await.is_err() {
                        return;
                    }
                }
                Err(rejection) => {
                    tracing::debug!(code = rejection.code, reason = %rejection.message, "malformed message refused");
                    // Answered even when it looks like a notification: a message that
                    // fails screening is not a valid one (JSON-RPC: error, id null).
                    if errors.send(rejection.to_json().to_string().into_bytes()).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    (rmcp_in, rmcp_out)
}

/// One line of `input` without its `\n`; a line longer than `max` is read to its
/// end but only `max + 1` bytes are kept (enough to tell it is too long).
async fn read_line_bounded<R: tokio::io::AsyncBufRead + Unpin>(
    input: &mut R,
    max: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    use tokio::io::AsyncBufReadExt;
    let mut line = Vec::new();
    loop {
        let buffer = input.fill_buf().await?;
        if buffer.is_empty() {
            return Ok((!line.is_empty()).then_some(line));
        }
        let (chunk, done) = match buffer.iter().position(|&b| b == b'\n') {
            Some(i) => (&buffer[..i], i + 1),
            None => (buffer, buffer.len()),
        };
        let room = (max + 1).saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let newline = chunk.len() < done;
        input.consume(done);
        if newline {
            return Ok(Some(line));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn metadata_urls_follow_rfc_9728() {
        use super::metadata_url;
        assert_eq!(
            metadata_url("https://gw.example.com/mcp"),
            "https://gw.example.com/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            metadata_url("https://gw.example.com"),
            "https://gw.example.com/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            metadata_url("https://gw.example.com:8443/a/b/"),
            "https://gw.example.com:8443/.well-known/oauth-protected-resource/a/b"
        );
    }
}
