//! Keys for auth plugins from a JWKS URL (`jwks_url` in a `[[plugins]]` entry).
//!
//! Plugins have no network, so the host fetches the JWKS and merges its `keys` into
//! the plugin's config, the way it merges a `config_file`. Only `keys` is taken: the
//! document cannot change any other setting (an `allow_any_issuer` in it is ignored).
//!
//! - Startup: the first fetch must succeed, or `serve` and `check` fail with the
//!   reason. A gateway that started without its keys would refuse every token while
//!   looking healthy; failing loudly is more honest.
//! - Refresh: after the document's `Cache-Control: max-age` (clamped to
//!   [`MIN_MAX_AGE`]..=[`MAX_MAX_AGE`], [`DEFAULT_MAX_AGE`] without one). A failed
//!   fetch, or keys the plugin refuses, keep the last good keys (a warning is
//!   logged, another try follows after [`MIN_MAX_AGE`]).
//! - Rotation: when the plugin rejects a token for an unknown key id (its rejection
//!   starts with [`UNKNOWN_KID`]), the keys are refetched at once, and the token is
//!   checked again if they changed. At most one such refetch per
//!   [`KID_REFETCH_INTERVAL`], so a flood of tokens with made-up key ids cannot
//!   hammer the identity provider.
//!
//! The keys of one plugin ([`JwksSource`]) outlive the auth chains built from them:
//! a reload of the chain (a changed `config_file`) reuses them without a fetch. Logs
//! show the URL without its query (which may hold a secret), never keys or tokens.

use anyhow::{Context, Result};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::time::Instant;
use warden_core::plugin_config::{check_jwks_url, merge_config};
use warden_core::registry::{PluginLoader, Provider};
use warden_core::{AuthError, AuthProvider, AuthRequest, PluginInfo, PluginSpec, Principal, Source};
use warden_host::Loader;

/// Longest wait for a whole fetch (connect, headers, body).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest JWKS accepted: far above any real one (the plugin takes at most 100 keys).
pub const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// Bounds on how long fetched keys are used before the next fetch: a provider
/// saying `max-age=0` is not polled every request, nor one saying a year trusted
/// that long.
pub const MIN_MAX_AGE: Duration = Duration::from_secs(60);
pub const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// Refresh interval when the response has no usable `Cache-Control`.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);
/// Fewest seconds between two refetches caused by unknown key ids.
pub const KID_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// How auth-jwt's rejection of a token whose `kid` no configured key has begins
/// (`UNKNOWN_KID` in plugins/auth-jwt/src/verify.rs, documented there as stable).
pub const UNKNOWN_KID: &str = "unknown key id";
/// Redirects followed, each to a URL `jwks_url` itself could be.
const MAX_REDIRECTS: usize = 3;

/// A JWKS as fetched: its keys, and how long they may be used.
#[derive(Debug)]
pub struct Fetched {
    pub keys: Vec<Value>,
    pub max_age: Duration,
}

/// The HTTP client for JWKS fetches: bounded in time, and redirects only to URLs
/// that pass the same check as `jwks_url` (no downgrade to plain http).
pub fn client() -> Result<reqwest::Client> {
    warden_mcp::install_tls_provider();
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else if check_jwks_url(attempt.url().as_str()).is_err() {
            attempt.error("redirected to a URL that is neither https nor loopback http")
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .redirect(redirects)
        .build()
        .context("cannot build the HTTP client for jwks_url")
}

/// Fetch and read the JWKS at `url`. The error says why, without the URL.
pub async fn fetch(client: &reqwest::Client, url: &str) -> Result<Fetched, String> {
    let mut response = client.get(url).header("accept", "application/json").send().await.map_err(describe)?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP status {status}"));
    }
    let max_age = max_age(response.headers().get("cache-control").and_then(|v| v.to_str().ok()));
    let too_large = || format!("larger than {} KiB", MAX_JWKS_BYTES / 1024);
    if response.content_length().is_some_and(|n| n > MAX_JWKS_BYTES as u64) {
        return Err(too_large());
    }
    // Read in chunks up to the cap: a server that sends no (or a false)
    // Content-Length cannot make the gateway buffer more.
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched { keys: parse(&body)?, max_age })
}

/// The `keys` of a JWKS document (`{"keys": [{...}, ...]}`).
fn parse(body: &[u8]) -> Result<Vec<Value>, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON ({e})"))?;
    match doc.get("keys") {
        Some(Value::Array(keys)) => match keys.iter().position(|k| !k.is_object()) {
            Some(i) => Err(format!("not a JWKS: keys[{i}] is not an object")),
            None => Ok(keys.clone()),
        },
        _ => Err("not a JWKS: expected an object {\"keys\": [...]}".into()),
    }
}

/// A reqwest error with its causes (the top one alone says little, e.g. "error
/// sending request"), without the URL.
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("no complete answer within {} s", FETCH_TIMEOUT.as_secs());
    }
    let e = e.without_url();
    let mut message = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = c.source();
    }
    message
}

/// How long keys may be used, from a `Cache-Control` header: its `max-age`
/// clamped to [`MIN_MAX_AGE`]..=[`MAX_MAX_AGE`]; the minimum for `no-cache` and
/// `no-store`; [`DEFAULT_MAX_AGE`] when there is neither.
pub fn max_age(cache_control: Option<&str>) -> Duration {
    let mut age = None;
    for directive in cache_control.unwrap_or_default().split(',') {
        let (name, value) = match directive.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (directive.trim(), None),
        };
        if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
            return MIN_MAX_AGE;
        }
        if name.eq_ignore_ascii_case("max-age") {
            // RFC 9111 §1.2.2: a number too large to represent means "very long".
            age = value
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .map(|v| v.parse().unwrap_or(u64::MAX));
        }
    }
    age.map_or(DEFAULT_MAX_AGE, |secs| Duration::from_secs(secs).clamp(MIN_MAX_AGE, MAX_MAX_AGE))
}

/// `url` without its query and fragment, for logs and errors.
pub fn shown(url: &str) -> String {
    match url.find(['?', '#']) {
        Some(i) => format!("{}?…", &url[..i]),
        None => url.to_string(),
    }
}

/// One plugin's JWKS: the last good keys and when to fetch again.
pub struct JwksSource {
    plugin: String,
    url: String,
    client: reqwest::Client,
    state: Mutex<State>,
    /// Held for the whole of a fetch (and the plugin rebuild it leads to), so
    /// fetches of one URL never overlap.
    fetching: tokio::sync::Mutex<()>,
}

struct State {
    /// Counts changes of `keys`; a provider built from older keys catches up.
    generation: u64,
    keys: Arc<Vec<Value>>,
    next_refresh: Instant,
    last_kid_refetch: Option<Instant>,
}

impl JwksSource {
    /// Fetch the JWKS for the first time: its failure is the caller's error.
    pub async fn start(plugin: &str, url: &str, client: reqwest::Client) -> Result<Arc<JwksSource>> {
        let fetched = fetch(&client, url)
            .await
            .map_err(|e| anyhow::anyhow!("plugin {plugin}: cannot fetch its JWKS (jwks_url {}): {e}", shown(url)))?;
        tracing::info!(plugin, url = %shown(url), keys = fetched.keys.len(), "JWKS fetched");
        Ok(Arc::new(JwksSource {
            plugin: plugin.to_string(),
            url: url.to_string(),
            client,
            state: Mutex::new(State {
                generation: 0,
                keys: Arc::new(fetched.keys),
                next_refresh: Instant::now() + fetched.max_age,
                last_kid_refetch: None,
            }),
            fetching: tokio::sync::Mutex::new(()),
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update leaves the state consistent: a panic elsewhere cannot poison it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current keys and their generation.
    pub fn keys(&self) -> (u64, Arc<Vec<Value>>) {
        let s = self.state();
        (s.generation, s.keys.clone())
    }

    pub fn url(&self) -> String {
        shown(&self.url)
    }

    /// Claim the one refetch for unknown key ids allowed per interval.
    fn take_kid_refetch(&self, now: Instant) -> bool {
        let mut s = self.state();
        if s.last_kid_refetch.is_some_and(|t| now.duration_since(t) < KID_REFETCH_INTERVAL) {
            return false;
        }
        s.last_kid_refetch = Some(now);
        true
    }
}

/// The JWKS sources of a config's plugins, by plugin name.
#[derive(Clone, Default)]
pub struct Jwks(HashMap<String, Arc<JwksSource>>);

impl Jwks {
    /// Fetch the JWKS of every plugin with a `jwks_url`; any failure is an error.
    pub async fn fetch(specs: &[PluginSpec]) -> Result<Jwks> {
        let mut sources = HashMap::new();
        let mut client = None;
        for spec in specs {
            let Some(url) = &spec.jwks_url else { continue };
            let client = match &client {
                Some(c) => c,
                None => client.insert(self::client()?),
            };
            sources.insert(spec.name.clone(), JwksSource::start(&spec.name, url, client.clone()).await?);
        }
        Ok(Jwks(sources))
    }

    /// Plugin names and their sources, sorted by name.
    pub fn sources(&self) -> Vec<(&str, &Arc<JwksSource>)> {
        let mut all: Vec<_> = self.0.iter().map(|(n, s)| (n.as_str(), s)).collect();
        all.sort_by_key(|(n, _)| *n);
        all
    }
}

/// The registry's loader, giving plugins with a `jwks_url` their keys and wrapping
/// them in a [`JwksAuth`]; every other plugin loads as usual.
pub struct JwksLoader<'a> {
    inner: Arc<Loader>,
    jwks: &'a Jwks,
}

impl<'a> JwksLoader<'a> {
    pub fn new(inner: Loader, jwks: &'a Jwks) -> Self {
        JwksLoader { inner: Arc::new(inner), jwks }
    }
}

#[async_trait]
impl PluginLoader for JwksLoader<'_> {
    async fn load(&self, spec: &PluginSpec, source: &Source) -> Result<Provider, String> {
        if spec.jwks_url.is_none() {
            return self.inner.load(spec, source).await;
        }
        let jwks = self.jwks.0.get(&spec.name).ok_or("its jwks_url was not fetched")?;
        let auth = JwksAuth::load(jwks.clone(), self.inner.clone(), spec.clone(), source.clone()).await?;
        Ok(Provider::Auth(auth))
    }

    fn has_builtin(&self, name: &str) -> bool {
        self.inner.has_builtin(name)
    }
}

/// An auth plugin whose keys come from a JWKS URL: the plugin configured with the
/// current keys, rebuilt when they change.
pub struct JwksAuth {
    info: PluginInfo,
    source: Arc<JwksSource>,
    loader: Arc<Loader>,
    /// The plugin's spec before the JWKS keys are merged in.
    spec: PluginSpec,
    component: Source,
    /// The provider in force, with the generation of the keys it was built from.
    current: Mutex<(u64, Arc<dyn AuthProvider>)>,
    /// Held while catching up with newer keys, so concurrent requests build once.
    rebuilding: tokio::sync::Mutex<()>,
}

/// `spec` configured with `keys`, loaded from `component`.
async fn build(
    loader: &Loader,
    spec: &PluginSpec,
    component: &Source,
    keys: &[Value],
) -> Result<Arc<dyn AuthProvider>, String> {
    let mut spec = spec.clone();
    merge_config(&mut spec.config, json!({ "keys": keys }));
    match loader.load(&spec, component).await? {
        Provider::Auth(auth) => Ok(auth),
        other => Err(format!("{component} is a {} plugin; jwks_url is for auth plugins", other.kind())),
    }
}

impl JwksAuth {
    /// Load the plugin with the source's keys and start refreshing them.
    async fn load(
        source: Arc<JwksSource>,
        loader: Arc<Loader>,
        spec: PluginSpec,
        component: Source,
    ) -> Result<Arc<JwksAuth>, String> {
        let (generation, keys) = source.keys();
        let provider = build(&loader, &spec, &component, &keys).await?;
        let auth = Arc::new(JwksAuth {
            info: provider.info().clone(),
            source,
            loader,
            spec,
            component,
            current: Mutex::new((generation, provider)),
            rebuilding: tokio::sync::Mutex::new(()),
        });
        refresh_periodically(Arc::downgrade(&auth));
        Ok(auth)
    }

    fn current(&self) -> (u64, Arc<dyn AuthProvider>) {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Put `provider` in force unless one built from newer keys already is.
    fn install(&self, generation: u64, provider: Arc<dyn AuthProvider>) -> (u64, Arc<dyn AuthProvider>) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if generation > current.0 {
            *current = (generation, provider);
        }
        current.clone()
    }

    /// The provider for the source's current keys, rebuilt first if another chain
    /// of the same plugin (or this one's refresher) has fetched newer ones.
    async fn up_to_date(&self) -> (u64, Arc<dyn AuthProvider>) {
        let current = self.current();
        let (generation, keys) = self.source.keys();
        if current.0 >= generation {
            return current;
        }
        let _one = self.rebuilding.lock().await;
        let current = self.current();
        if current.0 >= generation {
            return current;
        }
        match build(&self.loader, &self.spec, &self.component, &keys).await {
            Ok(provider) => self.install(generation, provider),
            Err(e) => {
                // Keep the previous provider, and do not retry for these keys on every request.
                tracing::error!(plugin = %self.source.plugin, error = %e, "new JWKS keys not applied; keeping the previous ones");
                self.install(generation, current.1)
            }
        }
    }

    /// Fetch the JWKS now (the caller holds `source.fetching`); when its keys differ
    /// and the plugin accepts them, make them the source's and this provider's.
    /// Whether the keys changed.
    async fn fetch_and_apply(&self) -> bool {
        let source = &self.source;
        let (plugin, url) = (&source.plugin, shown(&source.url));
        let result = fetch(&source.client, &source.url).await;
        let now = Instant::now();
        let fetched = {
            let mut s = source.state();
            match result {
                Ok(fetched) => {
                    s.next_refresh = now + fetched.max_age;
                    fetched
                }
                Err(e) => {
                    s.next_refresh = now + MIN_MAX_AGE;
                    drop(s);
                    tracing::warn!(plugin, %url, error = %e, "JWKS refresh failed; keeping the last good keys");
                    return false;
                }
            }
        };
        let (_, keys) = source.keys();
        if *keys == fetched.keys {
            tracing::debug!(plugin, %url, "JWKS unchanged");
            return false;
        }
        match build(&self.loader, &self.spec, &self.component, &fetched.keys).await {
            Ok(provider) => {
                let count = fetched.keys.len();
                let generation = {
                    let mut s = source.state();
                    s.generation += 1;
                    s.keys = Arc::new(fetched.keys);
                    s.generation
                };
                self.install(generation, provider);
                tracing::info!(plugin, %url, keys = count, "JWKS keys updated");
                true
            }
            Err(e) => {
                tracing::warn!(plugin, %url, error = %e, "fetched JWKS refused by the plugin; keeping the last good keys");
                false
            }
        }
    }

    /// After a token named an unknown key id: refetch unless one was done within
    /// [`KID_REFETCH_INTERVAL`]. Whether keys newer than `seen` are now in force.
    async fn refetch_for_unknown_kid(&self, seen: u64) -> bool {
        let _one = self.source.fetching.lock().await;
        // Requests that waited for another's refetch use its result.
        if self.source.keys().0 > seen {
            return true;
        }
        if !self.source.take_kid_refetch(Instant::now()) {
            tracing::debug!(plugin = %self.source.plugin, "unknown key id: JWKS refetched recently, not again yet");
            return false;
        }
        tracing::info!(plugin = %self.source.plugin, url = %shown(&self.source.url), "unknown key id: refetching the JWKS");
        self.fetch_and_apply().await
    }

    /// The scheduled refresh: fetch if due (another chain of the same plugin may
    /// have just done it), then catch up with the keys in force.
    async fn refresh_if_due(&self) {
        {
            let _one = self.source.fetching.lock().await;
            if Instant::now() >= self.source.state().next_refresh {
                self.fetch_and_apply().await;
            }
        }
        self.up_to_date().await;
    }
}

/// Refresh `auth`'s keys when they are due, for as long as `auth` is in use.
fn refresh_periodically(auth: Weak<JwksAuth>) {
    tokio::spawn(async move {
        loop {
            let Some(a) = auth.upgrade() else { return };
            let due = a.source.state().next_refresh;
            // Hold no strong reference while asleep: a chain replaced meanwhile ends this task.
            drop(a);
            tokio::time::sleep_until(due).await;
            let Some(a) = auth.upgrade() else { return };
            a.refresh_if_due().await;
        }
    });
}

#[async_trait]
impl AuthProvider for JwksAuth {
    fn info(&self) -> &PluginInfo {
        &self.info
    }

    async fn authenticate(&self, request: &AuthRequest) -> Result<Principal, AuthError> {
        let (generation, provider) = self.up_to_date().await;
        let result = provider.authenticate(request).await;
        let unknown_kid = matches!(&result, Err(AuthError::Rejected(why)) if why.starts_with(UNKNOWN_KID));
        if !unknown_kid || !self.refetch_for_unknown_kid(generation).await {
            return result;
        }
        // The keys changed: check the token once more, with them.
        let (now, provider) = self.up_to_date().await;
        if now == generation {
            return result;
        }
        provider.authenticate(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn max_age_is_read_from_cache_control_and_clamped() {
        let secs = |h: Option<&str>| max_age(h).as_secs();
        assert_eq!(secs(None), 600);
        assert_eq!(secs(Some("public, max-age=3600, must-revalidate")), 3600);
        assert_eq!(secs(Some("Max-Age=\"120\"")), 120);
        assert_eq!(secs(Some("max-age=5")), 60, "clamped up");
        assert_eq!(secs(Some("max-age=0")), 60);
        assert_eq!(secs(Some("max-age=31536000")), 86_400, "clamped down");
        assert_eq!(secs(Some("max-age=99999999999999999999999")), 86_400, "overflow means very long");
        assert_eq!(secs(Some("max-age=-1")), 600, "invalid: the default");
        assert_eq!(secs(Some("max-age=")), 600);
        assert_eq!(secs(Some("public")), 600);
        assert_eq!(secs(Some("no-cache, max-age=3600")), 60);
        assert_eq!(secs(Some("max-age=3600, no-store")), 60);
    }

    #[test]
    fn urls_are_shown_without_their_query() {
        assert_eq!(shown("https://idp.example.com/jwks?key=s3cret"), "https://idp.example.com/jwks?…");
        assert_eq!(shown("https://idp.example.com/jwks#x"), "https://idp.example.com/jwks?…");
        assert_eq!(shown("https://idp.example.com/jwks"), "https://idp.example.com/jwks");
    }

    #[test]
    fn only_a_keys_array_of_objects_is_a_jwks() {
        assert_eq!(parse(br#"{"keys": [{"kty": "oct"}], "other": 1}"#).map(|k| k.len()), Ok(1));
        assert_eq!(parse(br#"{"keys": []}"#).map(|k| k.len()), Ok(0));
        for bad in [&br#"[{"kty": "oct"}]"#[..], br#"{"keys": {"kty": "oct"}}"#, br#"{"keys": ["x"]}"#, b"<html>"] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    /// A one-response-per-connection HTTP server answering every request with
    /// `head` (status line and headers, without the blank line) and `body`.
    async fn serve(head: String, body: Vec<u8>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(format!("{head}\r\nconnection: close\r\n\r\n").as_bytes()).await;
                let _ = stream.write_all(&body).await;
            }
        });
        format!("http://{addr}/jwks.json?token=s3cret")
    }

    #[tokio::test]
    async fn fetch_reads_keys_and_max_age_and_refuses_what_is_not_a_jwks() {
        let client = client().expect("client");
        let body = br#"{"keys": [{"kty": "oct", "kid": "a", "k": "x"}]}"#.to_vec();
        let head = format!("HTTP/1.1 200 OK\r\ncache-control: public, max-age=120\r\ncontent-length: {}", body.len());
        let url = serve(head, body).await;
        let fetched = fetch(&client, &url).await.expect("fetched");
        assert_eq!((fetched.keys.len(), fetched.max_age.as_secs()), (1, 120));

        let url = serve("HTTP/1.1 404 Not Found\r\ncontent-length: 0".into(), Vec::new()).await;
        assert_eq!(fetch(&client, &url).await.expect_err("404"), "HTTP status 404 Not Found");

        let url = serve("HTTP/1.1 200 OK\r\ncontent-length: 6".into(), b"<html>".to_vec()).await;
        assert!(fetch(&client, &url).await.expect_err("not JSON").starts_with("not JSON"));

        // Too large, whether announced or not.
        let url = serve("HTTP/1.1 200 OK\r\ncontent-length: 2000000".into(), Vec::new()).await;
        assert_eq!(fetch(&client, &url).await.expect_err("announced"), "larger than 1024 KiB");
        let url = serve("HTTP/1.1 200 OK".into(), vec![b' '; MAX_JWKS_BYTES + 1]).await;
        assert_eq!(fetch(&client, &url).await.expect_err("streamed"), "larger than 1024 KiB");

        // Nothing listening: the reason, without the URL or its query.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/jwks.json?token=s3cret", closed.local_addr().expect("addr"));
        drop(closed);
        let e = fetch(&client, &url).await.expect_err("refused");
        assert!(!e.contains("s3cret") && !e.contains("jwks.json"), "{e}");
        let e = JwksSource::start("jwt", &url, client.clone()).await.err().expect("no start").to_string();
        assert!(e.starts_with("plugin jwt: cannot fetch its JWKS (jwks_url http://127.0.0.1:"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[tokio::test]
    async fn redirects_to_plain_http_elsewhere_are_refused() {
        let client = client().expect("client");
        let head = "HTTP/1.1 302 Found\r\nlocation: http://idp.example.com/jwks.json\r\ncontent-length: 0";
        let url = serve(head.into(), Vec::new()).await;
        let e = fetch(&client, &url).await.expect_err("downgrade");
        assert!(e.contains("neither https nor loopback http"), "{e}");
    }

    #[tokio::test]
    async fn unknown_kid_refetches_are_rate_limited() {
        let body = br#"{"keys": []}"#.to_vec();
        let url = serve(format!("HTTP/1.1 200 OK\r\ncontent-length: {}", body.len()), body).await;
        let source = JwksSource::start("jwt", &url, client().expect("client")).await.expect("fetched");
        let t0 = Instant::now();
        assert!(source.take_kid_refetch(t0));
        assert!(!source.take_kid_refetch(t0 + Duration::from_secs(29)));
        assert!(source.take_kid_refetch(t0 + KID_REFETCH_INTERVAL));
        assert!(!source.take_kid_refetch(t0 + KID_REFETCH_INTERVAL + Duration::from_secs(1)));
    }
}
