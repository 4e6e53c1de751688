//! The operator's page (`[gateway.admin] enabled = true`): `/admin` (HTML) and
//! `/admin/status.json` on the HTTP listener, read-only, behind an admin key of its
//! own (stored as its SHA-256, compared in constant time).
//!
//! Shown: each upstream's state, tool count and last error; every tool with its pin
//! status, and the tools hidden (poisoned, or changed since pinned and awaiting
//! `warden tools approve`); the latest blocks (time, stage, detectors, server, tool
//! — never payloads) from a bounded ring filled by [`crate::metrics::Metrics`]; per
//! plugin calls, failures, fuel and latency from the snapshot `/metrics` renders.
//!
//! Getting in:
//! - `Authorization: Bearer ADMIN_KEY` on any of the routes (scripts);
//! - a browser: the login form (`POST /admin/login`, field `key`) sets a session
//!   cookie (`HttpOnly; SameSite=Strict; Path=/admin`, 8 hours) and redirects to
//!   `/admin`;
//! - a browser that cannot send headers or fill a form (headless screenshots): a
//!   script holding the key asks `POST /admin/token` for a one-time login link
//!   (`/admin/login?token=…`, valid 60 s, usable once) that sets the same cookie.
//!   The key itself never goes in a URL.
//!
//! Session cookies and login tokens are HMAC-SHA256 tags under a key drawn at process
//! start (so a restart logs everyone out) over their expiry and the admin key's hash
//! (so changing the key does too). Every response is `no-store`, framed by nobody,
//! and under a CSP that allows no script at all; everything shown is HTML-escaped
//! (tool descriptions come from upstreams). The `Host` header must be one of
//! `gateway.allowed_hosts`, as on `/mcp`.

use crate::cell::GatewayCell;
use crate::gateway::Gateway;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ring::hmac;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::fmt::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use warden_core::stats::LATENCY_BUCKETS;

/// Blocks kept for the page.
pub const RECENT_BLOCKS: usize = 100;
/// How long a login cookie lasts.
const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// How long a one-time login link lasts.
const LOGIN_TOKEN_TTL: Duration = Duration::from_secs(60);
const COOKIE: &str = "warden_admin";
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The admin page's settings, from `[gateway.admin]`.
#[derive(Debug, Clone)]
pub struct AdminSettings {
    key_sha256: [u8; 32],
    refresh_secs: u32,
}

impl AdminSettings {
    /// `None` when the page is off (or the hash is malformed, which config
    /// validation reports first).
    pub fn from_config(config: &warden_core::config::AdminConfig) -> Option<AdminSettings> {
        if !config.enabled {
            return None;
        }
        let bytes = hex::decode(config.key_sha256.as_deref()?).ok()?;
        Some(AdminSettings { key_sha256: bytes.try_into().ok()?, refresh_secs: config.refresh_secs })
    }

    /// Whether `key` is the admin key: its SHA-256 against the stored one, in
    /// constant time.
    fn accepts(&self, key: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        digest.iter().zip(self.key_sha256.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

/// One blocked stage of a request: names only, never what was blocked.
#[derive(Debug, Clone, Serialize)]
pub struct BlockEvent {
    pub timestamp_ms: u64,
    pub stage: String,
    pub server: String,
    pub tool: String,
    pub detectors: Vec<String>,
}

/// The latest [`RECENT_BLOCKS`] blocks, newest last.
#[derive(Debug, Default)]
pub struct RecentBlocks(Mutex<VecDeque<BlockEvent>>);

impl RecentBlocks {
    /// Keep a blocked stage that names its detectors (the whole-request summary
    /// event, which names none, is left out).
    pub fn push(&self, event: &warden_core::AuditEvent) {
        if event.stage == "request" || event.findings.is_empty() {
            return;
        }
        let mut detectors: Vec<String> = event.findings.iter().map(|f| f.detector.clone()).collect();
        detectors.sort();
        detectors.dedup();
        let Ok(mut ring) = self.0.lock() else { return };
        if ring.len() == RECENT_BLOCKS {
            ring.pop_front();
        }
        ring.push_back(BlockEvent {
            timestamp_ms: event.timestamp_ms,
            stage: event.stage.clone(),
            server: event.server.clone(),
            tool: event.tool.clone(),
            detectors,
        });
    }

    /// Newest first.
    pub fn latest(&self) -> Vec<BlockEvent> {
        self.0.lock().map(|r| r.iter().rev().cloned().collect()).unwrap_or_default()
    }
}

/// What the admin routes need.
#[derive(Clone)]
pub struct AdminState {
    pub cell: Arc<GatewayCell>,
    /// `Host` values accepted (as on `/mcp`).
    pub allowed_hosts: Vec<String>,
}

/// The admin routes, to merge into the HTTP app outside the MCP auth layer.
pub fn router(state: AdminState) -> axum::Router {
    axum::Router::new()
        .route("/admin", axum::routing::any(handle))
        .route("/admin/", axum::routing::any(handle))
        .route("/admin/{*rest}", axum::routing::any(handle))
        .with_state(state)
}

// ---- tokens ---------------------------------------------------------------

/// The process's MAC key, drawn once.
fn mac_key() -> Option<&'static hmac::Key> {
    static KEY: OnceLock<Option<hmac::Key>> = OnceLock::new();
    KEY.get_or_init(|| hmac::Key::generate(hmac::HMAC_SHA256, &ring::rand::SystemRandom::new()).ok()).as_ref()
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn signed(kind: &str, body: &str, settings: &AdminSettings) -> String {
    format!("{kind}|{body}|{}", hex::encode(settings.key_sha256))
}

/// `{expiry}.{nonce}.{tag}`: a session cookie (`kind` "s") or a login token ("l").
fn issue(kind: &str, ttl: Duration, settings: &AdminSettings) -> Option<String> {
    let key = mac_key()?;
    let mut nonce = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce).ok()?;
    let body = format!("{}.{}", now_secs() + ttl.as_secs(), hex::encode(nonce));
    let tag = hmac::sign(key, signed(kind, &body, settings).as_bytes());
    Some(format!("{body}.{}", hex::encode(tag.as_ref())))
}

/// The nonce of a valid, unexpired token of `kind`.
fn verify(kind: &str, token: &str, settings: &AdminSettings) -> Option<String> {
    let key = mac_key()?;
    let (body, tag) = token.rsplit_once('.')?;
    let (expiry, nonce) = body.split_once('.')?;
    hmac::verify(key, signed(kind, body, settings).as_bytes(), &hex::decode(tag).ok()?).ok()?;
    (expiry.parse::<u64>().ok()? > now_secs()).then(|| nonce.to_string())
}

/// Login tokens already used (until they expire): each works once.
fn spend(nonce: &str) -> bool {
    static USED: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());
    let Ok(mut used) = USED.lock() else { return false };
    let now = now_secs();
    used.retain(|(expiry, _)| *expiry > now);
    if used.iter().any(|(_, n)| *n == nonce) || used.len() >= 10_000 {
        return false;
    }
    used.push((now + LOGIN_TOKEN_TTL.as_secs() + 1, nonce.to_string()));
    true
}

// ---- requests -------------------------------------------------------------

/// How the request proved it may see the page.
#[derive(PartialEq)]
enum Access {
    None,
    Bearer,
    Cookie,
}

fn access(headers: &HeaderMap, settings: &AdminSettings) -> Access {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    if bearer.is_some_and(|k| settings.accepts(k.trim())) {
        return Access::Bearer;
    }
    let cookies = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok());
    let session = cookies.flat_map(|c| c.split(';')).find_map(|c| c.trim().strip_prefix(&format!("{COOKIE}=")));
    if session.is_some_and(|s| verify("s", s, settings).is_some()) {
        return Access::Cookie;
    }
    Access::None
}

/// Whether the `Host` header names an allowed host (any port).
fn host_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    // An empty list turns the check off, as on `/mcp`.
    if allowed.is_empty() {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else { return false };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    allowed.iter().any(|a| a.eq_ignore_ascii_case(name) || a.eq_ignore_ascii_case(host))
}

/// The headers every admin response carries.
fn harden(mut response: Response) -> Response {
    let h = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn html(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

fn unauthorized(message: &str) -> Response {
    let mut r = html(StatusCode::UNAUTHORIZED, login_page(message));
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"warden-admin\""));
    r
}

fn redirect(to: &'static str, cookie: Option<String>) -> Response {
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r
}

fn session_cookie(settings: &AdminSettings) -> Option<String> {
    let token = issue("s", SESSION_TTL, settings)?;
    Some(format!("{COOKIE}={token}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}", SESSION_TTL.as_secs()))
}

/// A value of an `application/x-www-form-urlencoded` body or query.
fn form_value(form: &str, name: &str) -> Option<String> {
    form.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn handle(State(state): State<AdminState>, request: Request) -> Response {
    harden(route(state, request).await)
}

async fn route(state: AdminState, request: Request) -> Response {
    let gateway = state.cell.get();
    // Off: as if the routes did not exist.
    let Some(settings) = gateway.admin().cloned() else { return StatusCode::NOT_FOUND.into_response() };
    if !host_allowed(request.headers(), &state.allowed_hosts) {
        return (StatusCode::FORBIDDEN, "Forbidden: Host header is not allowed").into_response();
    }
    let path = request.uri().path().trim_end_matches('/').to_string();
    let method = request.method().clone();
    let access = access(request.headers(), &settings);
    match (method, path.as_str()) {
        (Method::GET, "/admin") => {
            if access == Access::None {
                return unauthorized("");
            }
            html(StatusCode::OK, page(&status(&gateway).await, settings.refresh_secs))
        }
        (Method::GET, "/admin/status.json") => {
            if access == Access::None {
                let body = r#"{"error":"unauthorized"}"#;
                let mut r =
                    (StatusCode::UNAUTHORIZED, [(header::CONTENT_TYPE, "application/json")], body).into_response();
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"warden-admin\""));
                return r;
            }
            let body = serde_json::to_string(&status(&gateway).await).unwrap_or_else(|_| "{}".into());
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        (Method::GET, "/admin/login") => {
            let token = request.uri().query().and_then(|q| form_value(q, "token"));
            match token {
                None if access != Access::None => redirect("/admin", None),
                None => html(StatusCode::OK, login_page("")),
                Some(token) => match verify("l", &token, &settings) {
                    Some(nonce) if spend(&nonce) => redirect("/admin", session_cookie(&settings)),
                    _ => unauthorized("That login link is invalid, expired or already used."),
                },
            }
        }
        (Method::POST, "/admin/login") => {
            let body = axum::body::to_bytes(request.into_body(), 8 * 1024).await.unwrap_or_default();
            let form = String::from_utf8_lossy(&body);
            match form_value(&form, "key") {
                Some(key) if settings.accepts(&key) => redirect("/admin", session_cookie(&settings)),
                _ => {
                    tracing::info!("admin login refused");
                    unauthorized("Wrong key.")
                }
            }
        }
        (Method::POST, "/admin/token") => {
            // Only the key itself may mint a link (not a session: a stolen cookie must
            // not outlive itself).
            if access != Access::Bearer {
                return unauthorized("");
            }
            match issue("l", LOGIN_TOKEN_TTL, &settings) {
                Some(token) => {
                    let body = serde_json::json!({"login_path": format!("/admin/login?token={token}"),
                                                  "expires_in_secs": LOGIN_TOKEN_TTL.as_secs()});
                    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
                }
                None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            }
        }
        (Method::POST, "/admin/logout") => {
            let expired = format!("{COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0");
            redirect("/admin/login", Some(expired))
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

// ---- the status -----------------------------------------------------------

#[derive(Serialize)]
struct Status {
    version: &'static str,
    generated_at_ms: u64,
    upstreams: Vec<UpstreamRow>,
    tools: Vec<ToolRow>,
    hidden_tools: Vec<HiddenRow>,
    recent_blocks: Vec<BlockEvent>,
    /// (stage, detector, findings since start), from `warden_findings_total`.
    findings: Vec<(String, String, u64)>,
    plugins: Vec<PluginRow>,
}

#[derive(Serialize)]
struct UpstreamRow {
    name: String,
    transport: &'static str,
    state: &'static str,
    tools: usize,
    hidden: usize,
    last_error: Option<String>,
    calls: u64,
    failed_calls: u64,
    timeouts: u64,
}

#[derive(Serialize)]
struct ToolRow {
    name: String,
    server: String,
    tool: String,
    description: String,
    pin: &'static str,
}

#[derive(Serialize)]
struct HiddenRow {
    server: String,
    tool: String,
    reason: String,
    awaiting_approval: bool,
}

#[derive(Serialize)]
struct PluginRow {
    plugin: String,
    calls: u64,
    failures: Vec<(&'static str, u64)>,
    fuel_consumed: u64,
    fuel_per_call: u64,
    mean_ms: f64,
    /// Upper bound of the histogram bucket holding the 95th percentile.
    p95_ms_at_most: Option<f64>,
}

async fn status(gw: &Gateway) -> Status {
    let report = crate::compat::report(gw).await;
    let snapshot = gw.metrics_snapshot();
    let metrics = gw.metrics_handle();
    let failures = metrics.upstream_failures();
    let catalog = gw.catalog_tools().await;
    let upstreams = gw
        .upstream_list()
        .iter()
        .enumerate()
        .map(|(i, up)| {
            let name = up.name().to_string();
            let listed = report.upstreams.get(i).map(|(_, r)| r.clone()).unwrap_or(Err("not listed yet".into()));
            let calls = snapshot.events.iter().filter(|((stage, s, _, _), _)| stage == "call" && *s == name);
            let (mut n, mut failed) = (0, 0);
            for ((_, _, _, outcome), count) in calls {
                n += count;
                if outcome == "failed" {
                    failed += count;
                }
            }
            let timeouts = failures.iter().filter(|((s, k), _)| *s == name && *k == "timeout").map(|(_, c)| c).sum();
            UpstreamRow {
                transport: match up.spec().transport {
                    crate::upstream::Transport::Stdio { .. } => "stdio",
                    crate::upstream::Transport::Http { .. } => "http",
                },
                state: crate::compat::state(up, listed.is_err()),
                tools: catalog.iter().filter(|(u, _, _)| *u == i).count(),
                hidden: report.hidden.iter().filter(|h| h.server == name).count(),
                last_error: listed.err(),
                calls: n,
                failed_calls: failed,
                timeouts,
                name,
            }
        })
        .collect();
    let pin = if gw.pinning() { "pinned" } else { "pinning off" };
    let tools = catalog
        .into_iter()
        .map(|(i, tool, t)| ToolRow {
            name: t.name.to_string(),
            server: gw.upstream_list()[i].name().to_string(),
            tool,
            description: t.description.as_deref().unwrap_or_default().chars().take(300).collect(),
            pin,
        })
        .collect();
    let hidden_tools = report
        .hidden
        .iter()
        .map(|h| HiddenRow {
            server: h.server.clone(),
            tool: h.tool.clone(),
            reason: h.reason.clone(),
            awaiting_approval: h.reason.starts_with("definition changed"),
        })
        .collect();
    let plugins = snapshot
        .plugins
        .iter()
        .map(|p| {
            let h = &p.latency;
            let p95 = (h.count > 0)
                .then(|| {
                    let goal = (h.count as f64 * 0.95).ceil() as u64;
                    h.cumulative().iter().position(|c| *c >= goal).map(|i| LATENCY_BUCKETS[i] * 1000.0)
                })
                .flatten();
            PluginRow {
                plugin: p.plugin.clone(),
                calls: p.calls,
                failures: p.failures.iter().map(|(k, n)| (k.label(), *n)).collect(),
                fuel_consumed: p.fuel_consumed,
                fuel_per_call: p.fuel_consumed.checked_div(p.calls).unwrap_or(0),
                mean_ms: if h.count == 0 { 0.0 } else { h.sum_seconds * 1000.0 / h.count as f64 },
                p95_ms_at_most: p95,
            }
        })
        .collect();
    Status {
        version: env!("CARGO_PKG_VERSION"),
        generated_at_ms: crate::audit::now_ms(),
        upstreams,
        tools,
        hidden_tools,
        recent_blocks: metrics.recent_blocks.latest(),
        findings: snapshot.findings.iter().map(|((stage, d), n)| (stage.clone(), d.clone(), *n)).collect(),
        plugins,
    }
}

// ---- HTML -----------------------------------------------------------------

/// Escape for HTML text and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1f24;background:#fafafa}\
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}\
table{border-collapse:collapse;width:100%;background:#fff}th,td{border:1px solid #d0d7de;padding:4px 8px;\
text-align:left;vertical-align:top}th{background:#eef1f4}.muted{color:#656d76}\
.connected{color:#1a7f37}.restarting,.starting{color:#9a6700}.failed{color:#cf222e}.idle{color:#656d76}\
code{font-size:13px}form{display:inline}";

fn shell(title: &str, refresh: u32, body: &str) -> String {
    let meta = if refresh > 0 { format!("<meta http-equiv=\"refresh\" content=\"{refresh}\">") } else { String::new() };
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">{meta}<title>{}</title>\
         <style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    )
}

fn login_page(message: &str) -> String {
    let message =
        if message.is_empty() { String::new() } else { format!("<p class=\"failed\">{}</p>", escape(message)) };
    shell(
        "Warden admin: sign in",
        0,
        &format!(
            "<h1>Warden admin</h1>{message}<form method=\"post\" action=\"/admin/login\">\
             <label>Admin key <input type=\"password\" name=\"key\" autocomplete=\"current-password\"></label> \
             <button type=\"submit\">Sign in</button></form>"
        ),
    )
}

fn time(ms: u64) -> String {
    // Civil date from days since the epoch (H. Hinnant's algorithm), UTC.
    let secs = ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn page(s: &Status, refresh: u32) -> String {
    let mut b = String::new();
    let e = escape;
    let _ = write!(
        b,
        "<h1>Warden admin</h1><p class=\"muted\">version {} · generated {} · \
         <a href=\"/admin/status.json\">status.json</a> · \
         <form method=\"post\" action=\"/admin/logout\"><button type=\"submit\">Sign out</button></form></p>",
        e(s.version),
        time(s.generated_at_ms)
    );
    b.push_str(
        "<h2>Upstreams</h2><table><tr><th>server</th><th>transport</th><th>state</th><th>tools</th>\
         <th>hidden</th><th>calls</th><th>failed</th><th>timeouts</th><th>last error</th></tr>",
    );
    for u in &s.upstreams {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td></tr>",
            e(&u.name),
            u.transport,
            u.state,
            u.state,
            u.tools,
            u.hidden,
            u.calls,
            u.failed_calls,
            u.timeouts,
            e(u.last_error.as_deref().unwrap_or("—"))
        );
    }
    b.push_str("</table>");

    b.push_str("<h2>Recent blocks</h2>");
    if s.recent_blocks.is_empty() {
        b.push_str("<p class=\"muted\">None since the gateway started.</p>");
    } else {
        b.push_str("<table><tr><th>time (UTC)</th><th>stage</th><th>detector</th><th>server</th><th>tool</th></tr>");
        for x in &s.recent_blocks {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                time(x.timestamp_ms),
                e(&x.stage),
                e(&x.detectors.join(", ")),
                e(&x.server),
                e(&x.tool)
            );
        }
        b.push_str("</table>");
    }
    if !s.findings.is_empty() {
        b.push_str(
            "<h2>Findings by detector (since start)</h2><table><tr><th>stage</th><th>detector</th><th>count</th></tr>",
        );
        for (stage, detector, n) in &s.findings {
            let _ = write!(b, "<tr><td>{}</td><td><code>{}</code></td><td>{n}</td></tr>", e(stage), e(detector));
        }
        b.push_str("</table>");
    }

    b.push_str("<h2>Tools</h2><table><tr><th>name</th><th>server</th><th>pin</th><th>description</th></tr>");
    for t in &s.tools {
        let _ = write!(
            b,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e(&t.name),
            e(&t.server),
            t.pin,
            e(&t.description)
        );
    }
    b.push_str("</table>");
    if !s.hidden_tools.is_empty() {
        b.push_str("<h2>Hidden tools</h2><table><tr><th>server</th><th>tool</th><th>why</th><th>to show it</th></tr>");
        for h in &s.hidden_tools {
            let fix = if h.awaiting_approval {
                format!("<code>warden tools approve {}/{}</code>", e(&h.server), e(&h.tool))
            } else {
                "fix the upstream's definition".into()
            };
            let _ = write!(
                b,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{fix}</td></tr>",
                e(&h.server),
                e(&h.tool),
                e(&h.reason)
            );
        }
        b.push_str("</table>");
    }

    b.push_str(
        "<h2>Plugins</h2><table><tr><th>plugin</th><th>calls</th><th>failures</th><th>fuel (total)</th>\
         <th>fuel per call</th><th>mean ms</th><th>p95 ms ≤</th></tr>",
    );
    for p in &s.plugins {
        let failures: Vec<String> = p.failures.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td></tr>",
            e(&p.plugin),
            p.calls,
            e(&failures.join(", ")),
            p.fuel_consumed,
            p.fuel_per_call,
            p.mean_ms,
            p.p95_ms_at_most.map(|v| format!("{v}")).unwrap_or_else(|| "—".into())
        );
    }
    b.push_str("</table>");
    shell("Warden admin", refresh, &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(key: &str) -> AdminSettings {
        AdminSettings { key_sha256: Sha256::digest(key.as_bytes()).into(), refresh_secs: 0 }
    }

    #[test]
    fn keys_tokens_and_cookies() {
        let s = settings("admin-key-1");
        assert!(s.accepts("admin-key-1"));
        assert!(!s.accepts("admin-key-2") && !s.accepts(""));
        let token = issue("l", LOGIN_TOKEN_TTL, &s).expect("token");
        let nonce = verify("l", &token, &s).expect("valid");
        assert!(verify("s", &token, &s).is_none(), "a login token is not a session");
        assert!(verify("l", &token, &settings("other")).is_none(), "bound to the key");
        assert!(spend(&nonce) && !spend(&nonce), "usable once");
        let mut forged = token.clone();
        forged.replace_range(0..1, if token.starts_with('9') { "8" } else { "9" });
        assert!(verify("l", &forged, &s).is_none(), "expiry is covered by the tag");
    }

    #[test]
    fn escaping_and_forms() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(form_value("a=1&key=a%2Bb+c%3D", "key").as_deref(), Some("a+b c="));
        assert_eq!(form_value("key=%", "key").as_deref(), Some("%"));
        assert_eq!(time(0), "1970-01-01 00:00:00Z");
        assert_eq!(time(1_700_000_000_000), "2023-11-14 22:13:20Z");
    }

    #[test]
    fn hosts() {
        let mut h = HeaderMap::new();
        let allowed = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
        for (host, ok) in [("127.0.0.1:8808", true), ("[::1]:80", true), ("evil.example:8808", false)] {
            h.insert(header::HOST, HeaderValue::from_static(host));
            assert_eq!(host_allowed(&h, &allowed), ok, "{host}");
        }
    }
}
