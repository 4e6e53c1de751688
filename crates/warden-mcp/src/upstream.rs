//! Upstream MCP servers: a stdio child process or a Streamable HTTP endpoint, connected
//! and `initialize`d once and kept. A child's stderr goes to the log, line by line. A
//! session that died (child exited, HTTP session lost) is re-established on the next
//! call, no sooner than a backoff that doubles per failed start; a server that failed
//! to start is retried in the background on the same schedule (the gateway re-lists).
//!
//! What an upstream sends is contained to it: stdio framing faults (oversized or
//! malformed messages, invalid UTF-8) are handled in [`crate::upstream_stdio`]; terminal
//! escapes and control characters are removed from everything it says
//! ([`crate::sanitize`]); its notifications are rate-limited and its tool-list changes
//! coalesced, so a flood costs the gateway little; its requests to clients are bounded
//! in number; and its tool list is bounded in size.

use axum::http::{HeaderName, HeaderValue};
use rmcp::ClientHandler;
use rmcp::ErrorData as McpError;
use rmcp::model::{
    CallToolRequest, CancelledNotificationParam, ClientCapabilities, ClientInfo, ClientRequest, ClientResult,
    CreateMessageRequest, CreateMessageRequestParams, CreateMessageResult, ElicitRequest, ElicitRequestParams,
    ElicitResult, Implementation, ListRootsRequest, ListRootsResult, PaginatedRequestParams, ProgressNotificationParam,
    ProgressToken, RequestId, ServerRequest, ServerResult,
};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, CompleteRequestParams, CompleteResult, GetPromptRequestParams,
    GetPromptResult, LoggingMessageNotificationParam, Prompt, ReadResourceRequestParams, ReadResourceResult, Resource,
    ResourceTemplate, ResourceUpdatedNotificationParam, ServerCapabilities, SetLevelRequestParams,
    SubscribeRequestParams, Tool, UnsubscribeRequestParams,
};
use rmcp::service::{InboundStreamOrigin, OriginatingRequestId, PeerRequestOptions, RequestContext, RoleServer};
use rmcp::service::{NotificationContext, Peer, RoleClient, RunningService, ServiceError, ServiceExt};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio::sync::Mutex;
use tokio::sync::mpsc::UnboundedSender;

use crate::upstream_stdio::{ChildTransport, Fault};

/// How to reach one upstream.
#[derive(Clone, PartialEq, Eq)]
pub enum Transport {
    Stdio { command: String, args: Vec<String>, env: Vec<(String, String)> },
    Http { url: String, headers: Vec<(String, String)>, bearer_token: Option<String> },
}

impl std::fmt::Debug for Transport {
    // Headers and tokens are secrets: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Stdio { command, args, .. } => write!(f, "stdio {command} {args:?}"),
            Transport::Http { url, .. } => write!(f, "http {url}"),
        }
    }
}

/// How to start and talk to one upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamSpec {
    pub name: String,
    pub transport: Transport,
    pub call_timeout: Duration,
    /// Longest wait for the server to start and answer `initialize`.
    pub connect_timeout: Duration,
    /// Requests in flight at once; further ones wait (within their timeout).
    pub max_concurrency: u32,
}

/// Prompts and resources of one upstream.
#[derive(Debug, Default, Clone)]
pub struct Extras {
    pub prompts: Vec<Prompt>,
    pub resources: Vec<Resource>,
    pub templates: Vec<ResourceTemplate>,
}

/// Why an upstream could not serve a call.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream {0}: cannot start: {1}")]
    Start(String, String),
    #[error("upstream {0}: restarting after a failure; retry in {1:?}")]
    Backoff(String, Duration),
    #[error("upstream {0}: no answer within {1:?}")]
    Timeout(String, Duration),
    #[error("upstream {0}: {1}")]
    Call(String, String),
}

/// A notification from an upstream that the gateway acts on.
#[derive(Debug)]
pub enum UpstreamEvent {
    /// Its tool list changed: refresh the catalog, tell every client.
    ToolsChanged(usize),
    /// A log message: relayed to clients.
    Log(usize, LoggingMessageNotificationParam),
    /// A subscribed resource changed: relayed to its subscribers.
    ResourceUpdated(usize, ResourceUpdatedNotificationParam),
    /// A request from the upstream (sampling, elicitation, roots) for the client of
    /// one of its calls.
    Request(Box<UpstreamRequest>),
}

/// A request from an upstream for the client of one of its calls: the gateway
/// checks it, relays it, and answers on `reply`.
#[derive(Debug)]
pub struct UpstreamRequest {
    pub upstream: usize,
    pub caller: Caller,
    pub request: ServerRequest,
    pub reply: Reply,
}

/// Where the gateway sends the answer to an upstream's request.
pub type Reply = tokio::sync::oneshot::Sender<Result<ClientResult, McpError>>;

/// Where a progress notification goes: the client that made the call, under the
/// token it chose (rmcp picks its own token for the upstream request).
type ProgressRoutes = Arc<std::sync::Mutex<HashMap<ProgressToken, ProgressRoute>>>;

#[derive(Clone)]
struct ProgressRoute {
    peer: Peer<RoleServer>,
    token: ProgressToken,
}

/// The client request an upstream call serves. The upstream's own requests during
/// the call (sampling, elicitation, roots) are sent to that client.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The client's session: each downstream connection has its own number.
    pub session: u64,
    pub peer: Peer<RoleServer>,
    pub request_id: RequestId,
    /// The progress token the client chose for this call, if any.
    pub progress: Option<ProgressToken>,
    /// Who the client is (`None` without authentication).
    pub principal: Option<warden_core::Principal>,
}

/// A call in flight on one upstream: its own number, the upstream request id once
/// sent, and its caller.
struct InFlight {
    seq: u64,
    id: Option<RequestId>,
    caller: Caller,
}

/// Calls in flight on one upstream, oldest first.
type Calls = Arc<std::sync::Mutex<Vec<InFlight>>>;

/// Notifications an upstream may send per second (logs, progress, resource updates)
/// once its burst is spent: each costs the gateway work (guardrails over a log message,
/// a write to every client), so beyond this they are dropped and counted.
const NOTIFY_RATE: f64 = 100.0;
const NOTIFY_BURST: f64 = 200.0;

/// Tool-list changes within this window become one re-listing: each costs a listing of
/// every upstream and a notification to every client.
const TOOLS_CHANGED_SETTLE: Duration = Duration::from_millis(250);

/// Requests an upstream may have waiting on clients at once (sampling, elicitation,
/// roots); more are refused at once rather than queued.
const MAX_UPSTREAM_REQUESTS: usize = 8;

/// Most tools (and pages of them) kept from one upstream's listing: a longer list is
/// refused (the last good one stays), so one server cannot make every re-listing slow.
const MAX_TOOLS: usize = 2000;
const MAX_PAGES: usize = 100;

/// A token bucket for an upstream's notifications.
struct Budget {
    tokens: f64,
    refilled: Instant,
    dropped: u64,
}

impl Budget {
    fn new() -> Self {
        Budget { tokens: NOTIFY_BURST, refilled: Instant::now(), dropped: 0 }
    }
}

/// Receives the upstream's notifications and reports them to the gateway, tagged
/// with the upstream's index; progress goes straight to the calling client.
#[derive(Clone)]
struct UpstreamHandler {
    index: usize,
    name: String,
    events: UnboundedSender<UpstreamEvent>,
    progress: ProgressRoutes,
    /// Progress received vs relayed per call, so results wait for their progress.
    ledger: crate::progress::Ledger,
    calls: Calls,
    budget: Arc<std::sync::Mutex<Budget>>,
    /// A tool-list change is waiting to be reported.
    tools_changed: Arc<std::sync::atomic::AtomicBool>,
    /// Slots for requests waiting on a client.
    requests: Arc<tokio::sync::Semaphore>,
}

impl UpstreamHandler {
    /// Whether a notification may pass the upstream's budget; a dropped one is counted
    /// and logged (the first, then one in a thousand).
    fn admit(&self, what: &str) -> bool {
        let Ok(mut budget) = self.budget.lock() else { return false };
        let now = Instant::now();
        let refill = now.duration_since(budget.refilled).as_secs_f64() * NOTIFY_RATE;
        budget.tokens = (budget.tokens + refill).min(NOTIFY_BURST);
        budget.refilled = now;
        if budget.tokens >= 1.0 {
            budget.tokens -= 1.0;
            return true;
        }
        budget.dropped += 1;
        if budget.dropped % 1000 == 1 {
            let dropped = budget.dropped;
            tracing::warn!(upstream = %self.name, what, dropped, "upstream notification flood: notifications dropped");
        }
        false
    }

    /// A slot for one request to a client, or an error for the upstream when all are taken.
    fn request_slot(&self, what: &str) -> Result<tokio::sync::OwnedSemaphorePermit, McpError> {
        self.requests.clone().try_acquire_owned().map_err(|_| {
            tracing::warn!(upstream = %self.name, what, "request refused: too many requests from the upstream in flight");
            McpError::invalid_request(
                format!("Warden refused this {what} request: {} has too many requests in flight", self.name),
                None,
            )
        })
    }

    /// The caller a request from the upstream belongs to. Over Streamable HTTP it
    /// arrives on the response stream of the call it serves, which names the call.
    /// Over stdio nothing does: it goes to the client whose calls are in flight on
    /// this upstream, and is refused when calls from several clients are, rather than
    /// risk showing one client's data to another.
    fn caller(&self, what: &str, context: &RequestContext<RoleClient>) -> Result<Caller, McpError> {
        let calls = self.calls.lock().map_err(|_| McpError::internal_error("call table poisoned", None))?;
        if let Some(InboundStreamOrigin::OutboundRequest(id)) = context.extensions.get::<InboundStreamOrigin>()
            && let Some(call) = calls.iter().find(|c| c.id.as_ref() == Some(id))
        {
            return Ok(call.caller.clone());
        }
        let Some(newest) = calls.last().map(|c| &c.caller) else {
            return Err(McpError::invalid_request(
                format!("Warden relays {what} requests from {} only during a tool call", self.name),
                None,
            ));
        };
        if calls.iter().any(|c| c.caller.session != newest.session) {
            tracing::warn!(upstream = %self.name, what, "request refused: calls from several clients in flight");
            return Err(McpError::invalid_request(
                format!(
                    "Warden cannot tell which client this {what} request is for: {} has calls from several \
                     clients in flight",
                    self.name
                ),
                None,
            ));
        }
        Ok(newest.clone())
    }

    /// Hand an upstream's request for `caller` to the gateway and wait for the answer.
    async fn forward(&self, caller: Caller, request: ServerRequest) -> Result<ClientResult, McpError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let event = UpstreamEvent::Request(Box::new(UpstreamRequest { upstream: self.index, caller, request, reply }));
        self.events.send(event).map_err(|_| McpError::internal_error("the gateway is shutting down", None))?;
        answer.await.map_err(|_| McpError::internal_error("the gateway dropped the request", None))?
    }
}

/// Send a request to the client of `caller`, on the stream of the call it serves,
/// and return the client's answer.
pub async fn send_to_client(caller: &Caller, mut request: ServerRequest) -> Result<ClientResult, McpError> {
    use rmcp::model::GetExtensions;
    request.extensions_mut().insert(OriginatingRequestId(caller.request_id.clone()));
    // A task of its own: rmcp tags requests sent from inside a handler with that
    // handler's request (a task-local) — here the upstream's id, which means nothing
    // to the client's session and would override the tag set above.
    let peer = caller.peer.clone();
    let sent = tokio::spawn(async move { peer.send_request(request).await });
    match sent.await {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(ServiceError::McpError(e))) => Err(e),
        Ok(Err(e)) => Err(McpError::internal_error(format!("client did not answer: {e}"), None)),
        Err(e) => Err(McpError::internal_error(e.to_string(), None)),
    }
}

fn unexpected(what: &str) -> McpError {
    McpError::internal_error(format!("client sent an unexpected answer to {what}"), None)
}

fn unsupported(what: &str) -> McpError {
    McpError::invalid_request(format!("the client does not support {what}"), None)
}

impl ClientHandler for UpstreamHandler {
    /// Warden offers upstreams what a client may offer; whether the calling client
    /// really does is checked per request.
    fn get_info(&self) -> ClientInfo {
        let capabilities = ClientCapabilities::builder().enable_roots().enable_sampling().enable_elicitation().build();
        ClientInfo::new(capabilities, Implementation::new("warden", env!("CARGO_PKG_VERSION")))
    }

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, McpError> {
        let caller = self.caller("sampling", &context)?;
        if caller.peer.peer_info().is_none_or(|i| i.capabilities.sampling.is_none()) {
            return Err(unsupported("sampling"));
        }
        let _slot = self.request_slot("sampling")?;
        let params = crate::sanitize::clean(params, &[]);
        let request = ServerRequest::CreateMessageRequest(CreateMessageRequest::new(params));
        match self.forward(caller, request).await? {
            ClientResult::CreateMessageResult(result) => Ok(*result),
            _ => Err(unexpected("sampling/createMessage")),
        }
    }

    async fn create_elicitation(
        &self,
        params: ElicitRequestParams,
        context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, McpError> {
        let caller = self.caller("elicitation", &context)?;
        if caller.peer.peer_info().is_none_or(|i| i.capabilities.elicitation.is_none()) {
            return Err(unsupported("elicitation"));
        }
        let _slot = self.request_slot("elicitation")?;
        let params = crate::sanitize::clean(params, &[]);
        let request = ServerRequest::ElicitRequest(ElicitRequest::new(params));
        match self.forward(caller, request).await? {
            ClientResult::ElicitResult(result) => Ok(result),
            _ => Err(unexpected("elicitation/create")),
        }
    }

    /// Roots belong to one client: relayed during its calls; outside a call (an
    /// upstream is shared by every client) the answer is no roots.
    async fn list_roots(&self, context: RequestContext<RoleClient>) -> Result<ListRootsResult, McpError> {
        let Ok(caller) = self.caller("roots", &context) else {
            return Ok(ListRootsResult::default());
        };
        if caller.peer.peer_info().is_none_or(|i| i.capabilities.roots.is_none()) {
            return Ok(ListRootsResult::default());
        }
        let _slot = self.request_slot("roots")?;
        let request = ServerRequest::ListRootsRequest(ListRootsRequest::default());
        match self.forward(caller, request).await? {
            ClientResult::ListRootsResult(result) => Ok(result),
            _ => Err(unexpected("roots/list")),
        }
    }

    /// Reported [`TOOLS_CHANGED_SETTLE`] after the first change; changes until then
    /// join the same report, so a burst of them is one re-listing.
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.report_tools_changed(TOOLS_CHANGED_SETTLE);
    }

    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        if self.admit("log") {
            let params = crate::sanitize::clean(params, &[]);
            let _ = self.events.send(UpstreamEvent::Log(self.index, params));
        }
    }

    async fn on_progress(&self, mut params: ProgressNotificationParam, _context: NotificationContext<RoleClient>) {
        let upstream_token = params.progress_token.clone();
        let route = self.progress.lock().ok().and_then(|routes| routes.get(&params.progress_token).cloned());
        if let Some(route) = route
            && self.admit("progress")
        {
            params.message = params.message.map(|m| crate::sanitize::clean_str(&m).unwrap_or(m));
            params.progress_token = route.token;
            let _ = route.peer.notify_progress(params).await;
        }
        self.ledger.handled(&upstream_token);
    }

    async fn on_resource_updated(
        &self,
        params: ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        if self.admit("resource update") {
            let _ = self.events.send(UpstreamEvent::ResourceUpdated(self.index, params));
        }
    }
}

impl UpstreamHandler {
    /// Tell the gateway (after `delay`) that this upstream's tools may have changed,
    /// unless a report is already pending.
    fn report_tools_changed(&self, delay: Duration) {
        if self.tools_changed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let (pending, events, index) = (self.tools_changed.clone(), self.events.clone(), self.index);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            pending.store(false, std::sync::atomic::Ordering::SeqCst);
            let _ = events.send(UpstreamEvent::ToolsChanged(index));
        });
    }
}

/// An upstream session's state ([`Upstream::health`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Connected,
    /// Starting, or answering `initialize`.
    Starting,
    /// Failed to start `failures` times in a row; retried in the background.
    Restarting {
        failures: u32,
        retry_in: Duration,
    },
    /// No session: not started yet, or exited; started again at the next request.
    Idle,
}

struct Connection {
    service: Option<RunningService<RoleClient, UpstreamHandler>>,
    /// Failed starts in a row; while above zero a background task retries.
    failures: u32,
    next_attempt: Instant,
}

type Shared = Arc<Mutex<Connection>>;

/// One upstream server.
pub struct Upstream {
    spec: UpstreamSpec,
    handler: UpstreamHandler,
    conn: Shared,
    in_flight: tokio::sync::Semaphore,
    /// Why the stdio session ended, set by its transport (see [`crate::upstream_stdio`]).
    fault: Fault,
}

/// Variables a stdio upstream inherits from the gateway: the MCP SDKs' default
/// environment for servers they launch, plus the locale.
const INHERITED_ENV: &[&str] = &["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "LC_ALL", "TMPDIR"];

const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

impl Upstream {
    /// An upstream (not yet started); its notifications go to `events`, tagged `index`.
    pub fn new(spec: UpstreamSpec, index: usize, events: UnboundedSender<UpstreamEvent>) -> Upstream {
        let conn = Connection { service: None, failures: 0, next_attempt: Instant::now() };
        let in_flight = tokio::sync::Semaphore::new(spec.max_concurrency.max(1) as usize);
        let handler = UpstreamHandler {
            index,
            name: spec.name.clone(),
            events,
            progress: ProgressRoutes::default(),
            ledger: crate::progress::Ledger::default(),
            calls: Calls::default(),
            budget: Arc::new(std::sync::Mutex::new(Budget::new())),
            tools_changed: Default::default(),
            requests: Arc::new(tokio::sync::Semaphore::new(MAX_UPSTREAM_REQUESTS)),
        };
        Upstream { spec, handler, conn: Arc::new(Mutex::new(conn)), in_flight, fault: Fault::default() }
    }

    /// Why the last session ended (stdio), else `fallback`.
    fn fault_or(&self, fallback: String) -> String {
        fault_or(&self.fault, fallback)
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// How to reach it (its transport holds secrets: show names only).
    pub fn spec(&self) -> &UpstreamSpec {
        &self.spec
    }

    /// The session's state now, for operators; never waits (a start in progress
    /// holds the lock).
    pub fn health(&self) -> Health {
        let Ok(conn) = self.conn.try_lock() else { return Health::Starting };
        match &conn.service {
            Some(s) if !s.is_closed() && !s.peer().is_transport_closed() => Health::Connected,
            _ if conn.failures > 0 => Health::Restarting {
                failures: conn.failures,
                retry_in: conn.next_attempt.saturating_duration_since(Instant::now()),
            },
            _ => Health::Idle,
        }
    }

    /// End the session (a stdio child is killed when its transport is dropped) and
    /// keep it from restarting until the next call. For shutdown.
    pub async fn stop(&self) {
        let service = self.conn.lock().await.service.take();
        if let Some(service) = service {
            let _ = tokio::time::timeout(Duration::from_secs(2), service.cancel()).await;
        }
    }

    /// The live session, starting (or restarting) the child if needed. Only a server
    /// that was up (or never started) is started here, in the caller's time; one that
    /// failed to start is retried in the background ([`Upstream::retry`]) and refused
    /// at once meanwhile, so no call and no re-listing waits on a server that hangs or
    /// crashes at start.
    async fn peer(&self) -> Result<Peer<RoleClient>, UpstreamError> {
        let mut conn = self.conn.lock().await;
        if let Some(s) = &conn.service {
            if !s.is_closed() && !s.peer().is_transport_closed() {
                return Ok(s.peer().clone());
            }
            tracing::warn!(upstream = %self.spec.name, "upstream exited; restarting");
            conn.service = None;
        }
        if conn.failures > 0 {
            let wait = conn.next_attempt.saturating_duration_since(Instant::now());
            return Err(UpstreamError::Backoff(self.spec.name.clone(), wait));
        }
        match start(&self.spec, &self.handler, &self.fault).await {
            Ok(service) => {
                let peer = service.peer().clone();
                conn.service = Some(service);
                Ok(peer)
            }
            Err(e) => {
                failed(&self.spec.name, &mut conn, &e);
                self.retry();
                Err(e)
            }
        }
    }

    /// Restart the server in the background, with a backoff that doubles per failed
    /// start; when it is up, the gateway is told to re-list (its tools come back with
    /// no call or change needed). Ends when the server is up or the upstream dropped.
    fn retry(&self) {
        let conn = Arc::downgrade(&self.conn);
        let (spec, handler, fault) = (self.spec.clone(), self.handler.clone(), self.fault.clone());
        tokio::spawn(async move {
            loop {
                let wait = {
                    let Some(conn) = conn.upgrade() else { return };
                    let guard = conn.lock().await;
                    guard.next_attempt.saturating_duration_since(Instant::now())
                };
                tokio::time::sleep(wait).await;
                // Not locked while starting: callers are refused at once meanwhile.
                let Some(conn) = conn.upgrade() else { return };
                let started = start(&spec, &handler, &fault).await;
                let mut guard = conn.lock().await;
                match started {
                    // Dropped with the upstream (the gateway was replaced) if no one
                    // else holds it: the child is killed with its transport.
                    Ok(_) if Arc::strong_count(&conn) == 1 => return,
                    Ok(service) => {
                        guard.service = Some(service);
                        guard.failures = 0;
                        drop(guard);
                        tracing::info!(upstream = %spec.name, "upstream started after a failure");
                        let _ = handler.events.send(UpstreamEvent::ToolsChanged(handler.index));
                        return;
                    }
                    Err(e) => failed(&spec.name, &mut guard, &e),
                }
            }
        });
    }
}

/// Count a failed start and set the next attempt.
fn failed(name: &str, conn: &mut Connection, error: &UpstreamError) {
    conn.failures += 1;
    let backoff = BACKOFF_START.saturating_mul(1 << conn.failures.min(16)).min(BACKOFF_MAX);
    conn.next_attempt = Instant::now() + backoff;
    tracing::error!(upstream = %name, %error, ?backoff, "upstream failed to start");
}

/// Why the last session ended (stdio), else `fallback`.
fn fault_or(fault: &Fault, fallback: String) -> String {
    fault.lock().ok().and_then(|f| f.clone()).unwrap_or(fallback)
}

/// Start a session with the upstream `spec` describes, within its connect timeout.
async fn start(
    spec: &UpstreamSpec,
    handler: &UpstreamHandler,
    fault: &Fault,
) -> Result<RunningService<RoleClient, UpstreamHandler>, UpstreamError> {
    let fail = |e: String| UpstreamError::Start(spec.name.clone(), e);
    let timeout = spec.connect_timeout;
    let started = match &spec.transport {
        Transport::Stdio { command, args, env } => {
            let mut cmd = tokio::process::Command::new(command);
            // The gateway's environment holds its secrets (API keys, upstream
            // tokens): a child gets only the variables MCP clients pass by
            // convention (the MCP SDKs' default environment) and its own `env`.
            cmd.env_clear();
            for name in INHERITED_ENV {
                if let Some(value) = std::env::var_os(name) {
                    cmd.env(name, value);
                }
            }
            cmd.args(args).envs(env.iter().map(|(k, v)| (k, v)));
            if let Ok(mut f) = fault.lock() {
                *f = None;
            }
            let (transport, stderr) =
                ChildTransport::spawn(cmd, &spec.name, fault.clone()).map_err(|e| fail(e.to_string()))?;
            if let Some(stderr) = stderr {
                let name = spec.name.clone();
                tokio::spawn(async move {
                    let mut lines = tokio::io::BufReader::new(stderr).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        tracing::info!(target: "warden::upstream", upstream = %name, "{line}");
                    }
                });
            }
            let transport = crate::progress::Counted::new(transport, handler.ledger.clone());
            tokio::time::timeout(timeout, handler.clone().serve(transport)).await
        }
        Transport::Http { url, headers, bearer_token } => {
            let mut custom = HashMap::new();
            for (k, v) in headers {
                let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| fail(format!("header {k}: {e}")))?;
                // The value may be a secret: report the header name only.
                let value = HeaderValue::from_str(v).map_err(|_| fail(format!("header {k}: invalid value")))?;
                custom.insert(name, value);
            }
            let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str()).custom_headers(custom);
            if let Some(token) = bearer_token {
                config = config.auth_header(token.clone());
            }
            crate::install_tls_provider();
            let http = upstream_http_client().map_err(|e| fail(format!("HTTP client: {e}")))?;
            let transport = StreamableHttpClientTransport::with_client(http, config);
            let transport = crate::progress::Counted::new(transport, handler.ledger.clone());
            tokio::time::timeout(timeout, handler.clone().serve(transport)).await
        }
    };
    started
        .map_err(|_| fail(format!("no initialize response within {timeout:?}")))?
        .map_err(|e| fail(fault_or(fault, e.to_string())))
}

/// The HTTP client of one HTTP upstream.
///
/// rmcp's default client turns connection pooling off (`pool_max_idle_per_host(0)`,
/// against stalls when a response body was left unread), so every request to the
/// upstream opened a new TCP (and TLS) connection: a third of the gateway's own
/// latency on a fast upstream. rmcp now reads each POST's SSE stream to its end
/// before dropping it, so a connection goes back to the pool only when it is clean,
/// and one that is not is closed, not reused. Redirects as rmcp's default: only
/// same-origin 307/308 (which keep method and body), at most 10; anything else is
/// returned as the response, so the session id and headers never go to another host.
fn upstream_http_client() -> reqwest::Result<reqwest::Client> {
    const MAX_REDIRECTS: usize = 10;
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        let status = attempt.status().as_u16();
        let same_origin = attempt.previous().last().is_some_and(|from| from.origin() == attempt.url().origin());
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else if (status == 307 || status == 308) && same_origin {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    reqwest::Client::builder()
        .redirect(policy)
        .tcp_nodelay(true)
        // Below the usual servers' keep-alive timeouts (uvicorn's and Node's 5 s), so
        // an idle connection is dropped here before the server closes it, not reused
        // in the instant it does (a request written into a closing connection fails).
        .pool_idle_timeout(Duration::from_secs(4))
        .build()
}

impl Upstream {
    /// Every tool the upstream offers (all pages, at most [`MAX_TOOLS`]), without
    /// control characters in their definitions (names aside: see [`crate::sanitize`]).
    pub async fn list_tools(&self) -> Result<Vec<Tool>, UpstreamError> {
        let peer = self.peer().await?;
        let pages = async {
            let mut tools = Vec::new();
            let mut cursor = None;
            for _ in 0..MAX_PAGES {
                let page = peer.list_tools(Some(PaginatedRequestParams::default().with_cursor(cursor))).await?;
                tools.extend(page.tools);
                if tools.len() > MAX_TOOLS {
                    break;
                }
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => return Ok(Some(tools)),
                }
            }
            Ok(None)
        };
        let Some(tools) = self.bounded(pages).await? else {
            let why = format!("listed more than {MAX_TOOLS} tools or {MAX_PAGES} pages; listing refused");
            return Err(UpstreamError::Call(self.spec.name.clone(), why));
        };
        Ok(tools.into_iter().map(|t| crate::sanitize::clean(t, &["name"])).collect())
    }

    /// Every prompt, resource and resource template the upstream offers; `None` for
    /// kinds its capabilities do not include.
    pub async fn list_extras(&self) -> Result<Extras, UpstreamError> {
        let peer = self.peer().await?;
        let caps = peer.peer_info().map(|i| i.capabilities.clone()).unwrap_or_default();
        let mut extras = Extras::default();
        if caps.prompts.is_some() {
            let prompts = self.bounded(peer.list_all_prompts()).await?;
            extras.prompts = prompts.into_iter().map(|p| crate::sanitize::clean(p, &["name"])).collect();
        }
        if caps.resources.is_some() {
            let resources = self.bounded(peer.list_all_resources()).await?;
            extras.resources = resources.into_iter().map(|r| crate::sanitize::clean(r, &["uri"])).collect();
            let templates = self.bounded(peer.list_all_resource_templates()).await?;
            extras.templates = templates.into_iter().map(|t| crate::sanitize::clean(t, &["uriTemplate"])).collect();
        }
        Ok(extras)
    }

    pub async fn get_prompt(&self, params: GetPromptRequestParams) -> Result<GetPromptResult, UpstreamError> {
        let peer = self.peer().await?;
        self.bounded(peer.get_prompt(params)).await.map(|r| crate::sanitize::clean(r, &[]))
    }

    pub async fn read_resource(&self, params: ReadResourceRequestParams) -> Result<ReadResourceResult, UpstreamError> {
        let peer = self.peer().await?;
        self.bounded(peer.read_resource(params)).await.map(|r| crate::sanitize::clean(r, &[]))
    }

    /// What the live session's server declared (empty when not connected).
    pub async fn capabilities(&self) -> ServerCapabilities {
        let conn = self.conn.lock().await;
        let info = conn.service.as_ref().and_then(|s| s.peer().peer_info());
        info.map(|i| i.capabilities.clone()).unwrap_or_default()
    }

    pub async fn set_level(&self, params: SetLevelRequestParams) -> Result<(), UpstreamError> {
        let peer = self.peer().await?;
        self.bounded(peer.set_level(params)).await
    }

    pub async fn subscribe(&self, uri: &str) -> Result<(), UpstreamError> {
        let peer = self.peer().await?;
        self.bounded(peer.subscribe(SubscribeRequestParams::new(uri))).await
    }

    pub async fn unsubscribe(&self, uri: &str) -> Result<(), UpstreamError> {
        let peer = self.peer().await?;
        self.bounded(peer.unsubscribe(UnsubscribeRequestParams::new(uri))).await
    }

    pub async fn complete(&self, params: CompleteRequestParams) -> Result<CompleteResult, UpstreamError> {
        let peer = self.peer().await?;
        self.bounded(peer.complete(params)).await.map(|r| crate::sanitize::clean(r, &[]))
    }

    /// Call a tool for `caller`, bounded by the call timeout. The upstream's progress
    /// notifications for this call reach the caller under its token, and its requests
    /// during the call (sampling, elicitation, roots) are relayed to the caller.
    /// Dropping the future (timeout, client cancelled) cancels the upstream request
    /// too (notifications/cancelled).
    pub async fn call_tool(
        &self,
        params: CallToolRequestParams,
        caller: Caller,
    ) -> Result<CallToolResult, UpstreamError> {
        let peer = self.peer().await?;
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
        let name = self.spec.name.clone();
        let call = async {
            // In the table before the request leaves: the upstream may ask the
            // client something before the send returns.
            let mut in_flight = CallGuard::new(&self.handler.calls, caller.clone());
            let handle = peer.send_request_with_option(request, PeerRequestOptions::no_options()).await?;
            in_flight.sent_as(handle.id.clone());
            // (Progress the upstream sends before these two lines run is neither
            // relayed nor waited for: it would have to answer within the few
            // instructions between the send and here.)
            let tracked = caller.progress.is_some().then(|| self.handler.ledger.track(handle.progress_token.clone()));
            let _route = caller.progress.clone().map(|token| {
                let to = ProgressRoute { peer: caller.peer.clone(), token };
                RouteGuard::new(&self.handler.progress, handle.progress_token.clone(), to)
            });
            let (id, upstream_peer) = (handle.id.clone(), handle.peer.clone());
            let cancel_on_drop = CancelOnDrop(Some((upstream_peer, id)));
            let response = handle.await_response().await;
            cancel_on_drop.disarm();
            if let Some(tracked) = &tracked {
                tracked.settle().await;
            }
            response
        };
        match self.bounded(call).await? {
            ServerResult::CallToolResult(result) => Ok(crate::sanitize::clean(result, &[])),
            _ => Err(UpstreamError::Call(name, "unexpected response to tools/call".into())),
        }
    }

    /// Await an upstream request under the call timeout. A closed transport drops
    /// the session at once, so the next call restarts the child instead of waiting
    /// for the session task to notice.
    async fn bounded<T>(&self, request: impl Future<Output = Result<T, ServiceError>>) -> Result<T, UpstreamError> {
        let timeout = self.spec.call_timeout;
        // Waiting for a slot counts against the same timeout as the call itself.
        let guarded = async {
            let _slot = self.in_flight.acquire().await;
            request.await
        };
        match tokio::time::timeout(timeout, guarded).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                if matches!(e, ServiceError::TransportClosed | ServiceError::TransportSend(_)) {
                    self.conn.lock().await.service = None;
                    return Err(UpstreamError::Call(self.spec.name.clone(), self.fault_or(e.to_string())));
                }
                // The message may be the upstream's own text (a JSON-RPC error), which
                // reaches the client: no escape sequences in it either.
                let message = e.to_string();
                Err(UpstreamError::Call(
                    self.spec.name.clone(),
                    crate::sanitize::clean_str(&message).unwrap_or(message),
                ))
            }
            Err(_) => Err(UpstreamError::Timeout(self.spec.name.clone(), timeout)),
        }
    }
}

/// Removes a progress route when the call ends, however it ends — a little later,
/// because rmcp handles notifications concurrently with responses, so progress sent
/// just before the result may be processed just after it.
struct RouteGuard {
    routes: ProgressRoutes,
    token: ProgressToken,
}

const PROGRESS_GRACE: Duration = Duration::from_secs(2);

impl RouteGuard {
    fn new(routes: &ProgressRoutes, token: ProgressToken, to: ProgressRoute) -> Self {
        if let Ok(mut r) = routes.lock() {
            r.insert(token.clone(), to);
        }
        RouteGuard { routes: routes.clone(), token }
    }
}

impl Drop for RouteGuard {
    fn drop(&mut self) {
        let (routes, token) = (self.routes.clone(), self.token.clone());
        tokio::spawn(async move {
            tokio::time::sleep(PROGRESS_GRACE).await;
            if let Ok(mut r) = routes.lock() {
                r.remove(&token);
            }
        });
    }
}

/// Keeps a call in its upstream's table of calls in flight until it ends.
struct CallGuard {
    calls: Calls,
    seq: u64,
}

impl CallGuard {
    fn new(calls: &Calls, caller: Caller) -> Self {
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut c) = calls.lock() {
            c.push(InFlight { seq, id: None, caller });
        }
        CallGuard { calls: calls.clone(), seq }
    }

    /// Record the upstream request id the call was sent under.
    fn sent_as(&mut self, id: RequestId) {
        if let Ok(mut c) = self.calls.lock()
            && let Some(call) = c.iter_mut().find(|c| c.seq == self.seq)
        {
            call.id = Some(id);
        }
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if let Ok(mut c) = self.calls.lock() {
            c.retain(|c| c.seq != self.seq);
        }
    }
}

/// Tells the upstream a request was abandoned (timeout, or the client cancelled)
/// when dropped before [`CancelOnDrop::disarm`].
struct CancelOnDrop(Option<(Peer<RoleClient>, RequestId)>);

impl CancelOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some((peer, id)) = self.0.take() {
            let params = CancelledNotificationParam::new(Some(id), Some("abandoned by the gateway".into()));
            // Drop cannot await; the session task sends it.
            tokio::spawn(async move {
                let _ = peer.notify_cancelled(params).await;
            });
        }
    }
}
