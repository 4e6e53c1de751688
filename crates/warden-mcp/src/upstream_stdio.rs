//! The stdio transport to an upstream child process, hardened against what a broken or
//! hostile server writes on its stdout (rmcp's own child-process transport is lenient:
//! it drops an oversized line and keeps going, so the call it answered waits for its
//! timeout, and it drops a response it cannot parse the same way).
//!
//! - A message (line) longer than [`MAX_MESSAGE_BYTES`], or output that never ends a
//!   line, ends the session at that limit: memory stays bounded, every call in flight
//!   fails at once with that reason, and the next call restarts the server.
//! - Invalid UTF-8 is replaced by U+FFFD, so one bad byte does not cost a whole answer.
//! - Lines that are not JSON, or JSON that is not JSON-RPC, are ignored (and counted in
//!   the log, never quoted: they may hold anything). A response the gateway cannot read
//!   becomes an error for the request it answers, so that call fails at once instead of
//!   waiting for its timeout; a request it cannot read gets an error back.
//! - When the server exits, its exit status is the reason calls in flight are given.

use rmcp::ErrorData as McpError;
use rmcp::RoleClient;
use rmcp::model::{ClientJsonRpcMessage, RequestId, ServerJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::transport::async_rw::AsyncRwTransport;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

/// Largest message an upstream may send (rmcp's limit for stdio and SSE alike).
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Why the session with an upstream ended, for the calls it leaves unanswered.
pub type Fault = Arc<std::sync::Mutex<Option<String>>>;

/// How long a closing server may take to exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

pub struct ChildTransport {
    name: String,
    child: Option<Child>,
    reader: BufReader<ChildStdout>,
    /// The line being read; kept across calls of `receive`, which rmcp may cancel.
    line: Vec<u8>,
    /// Sends messages (rmcp's framing); its reader is never used.
    writer: AsyncRwTransport<RoleClient, tokio::io::Empty, ChildStdin>,
    fault: Fault,
    /// Lines ignored so far (not JSON, not JSON-RPC), for the log.
    ignored: [u64; 2],
}

enum LineRead {
    Line,
    TooLong,
    Eof,
    Io(std::io::Error),
}

impl ChildTransport {
    /// Start `cmd` with piped stdio; its stderr is returned for the caller to log.
    /// `fault` receives the reason when the session ends.
    pub fn spawn(mut cmd: Command, name: &str, fault: Fault) -> std::io::Result<(Self, Option<ChildStderr>)> {
        use std::process::Stdio;
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = cmd.spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(std::io::Error::other("the child's stdio is not piped"));
        };
        let stderr = child.stderr.take();
        let transport = ChildTransport {
            name: name.to_string(),
            child: Some(child),
            reader: BufReader::new(stdout),
            line: Vec::new(),
            writer: AsyncRwTransport::new(tokio::io::empty(), stdin),
            fault,
            ignored: [0, 0],
        };
        Ok((transport, stderr))
    }

    fn set_fault(&self, reason: String) {
        tracing::warn!(upstream = %self.name, %reason, "upstream session ended");
        if let Ok(mut f) = self.fault.lock() {
            *f = Some(reason);
        }
    }

    /// Read up to the next newline into `self.line`, never holding more than
    /// [`MAX_MESSAGE_BYTES`]. Cancellation-safe: bytes are moved from the reader's
    /// buffer to `self.line` with no await in between.
    async fn read_line(&mut self) -> LineRead {
        loop {
            let (consumed, done) = {
                let available = match self.reader.fill_buf().await {
                    Ok(available) => available,
                    Err(e) => return LineRead::Io(e),
                };
                if available.is_empty() {
                    return LineRead::Eof;
                }
                let newline = available.iter().position(|b| *b == b'\n');
                let take = newline.map_or(available.len(), |i| i + 1);
                if self.line.len() + take > MAX_MESSAGE_BYTES + 1 {
                    return LineRead::TooLong;
                }
                self.line.extend_from_slice(&available[..take]);
                (take, newline.is_some())
            };
            self.reader.consume(consumed);
            if done {
                return LineRead::Line;
            }
        }
    }

    /// Why the server's output ended: its exit status if it exits soon.
    async fn exit_reason(&mut self) -> String {
        let Some(child) = self.child.as_mut() else { return "its output closed".into() };
        match tokio::time::timeout(EXIT_GRACE, child.wait()).await {
            Ok(Ok(status)) => {
                self.child = None;
                format!("the server process exited ({status})")
            }
            _ => "the server closed its output".into(),
        }
    }

    /// A message from one line, or `None` for a line to ignore.
    async fn parse(&mut self, text: &str) -> Option<ServerJsonRpcMessage> {
        let error = match serde_json::from_str::<ServerJsonRpcMessage>(text) {
            Ok(message) => return Some(message),
            Err(e) => e,
        };
        let value = serde_json::from_str::<Value>(text).ok();
        let id = value.as_ref().and_then(|v| v.get("id")).and_then(request_id);
        let has = |k: &str| value.as_ref().is_some_and(|v| v.get(k).is_some());
        match id {
            Some(id) if !has("method") && (has("result") || has("error")) => {
                // Never quote the message: it may hold anything the tool returned.
                let reason = format!("upstream {} sent a malformed response: {error}", self.name);
                tracing::warn!(upstream = %self.name, %error, "malformed response from upstream");
                return Some(ServerJsonRpcMessage::error(McpError::internal_error(reason, None), Some(id)));
            }
            Some(id) if has("method") => {
                let refusal = McpError::invalid_request(format!("Warden cannot read this request: {error}"), None);
                let _ = self.writer.send(ClientJsonRpcMessage::error(refusal, Some(id))).await;
            }
            _ => {}
        }
        let (kind, what) = match value {
            Some(_) => (1, "JSON that is not JSON-RPC"),
            None => (0, "a line that is not JSON"),
        };
        self.ignored[kind] += 1;
        let ignored = self.ignored[kind];
        // The first, then one in a thousand: a server printing garbage must not flood the log.
        if ignored % 1000 == 1 {
            tracing::warn!(upstream = %self.name, ignored, bytes = text.len(), "ignored {what}");
        }
        None
    }
}

/// A JSON-RPC id (a number or a string).
fn request_id(value: &Value) -> Option<RequestId> {
    serde_json::from_value(value.clone()).ok()
}

impl Transport<RoleClient> for ChildTransport {
    type Error = std::io::Error;

    fn send(&mut self, item: ClientJsonRpcMessage) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.writer.send(item)
    }

    async fn receive(&mut self) -> Option<ServerJsonRpcMessage> {
        loop {
            match self.read_line().await {
                LineRead::Line => {}
                LineRead::TooLong => {
                    self.line = Vec::new();
                    let limit = MAX_MESSAGE_BYTES / (1024 * 1024);
                    self.set_fault(format!("sent a message larger than {limit} MiB (the limit); disconnected"));
                    return None;
                }
                LineRead::Eof => {
                    let reason = self.exit_reason().await;
                    self.set_fault(reason);
                    return None;
                }
                LineRead::Io(e) => {
                    self.set_fault(format!("cannot read its output: {e}"));
                    return None;
                }
            }
            let line = std::mem::take(&mut self.line);
            let mut bytes = line.as_slice();
            while let [rest @ .., b'\n' | b'\r'] = bytes {
                bytes = rest;
            }
            let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let text = String::from_utf8_lossy(bytes);
            if let std::borrow::Cow::Owned(_) = text {
                tracing::warn!(upstream = %self.name, "invalid UTF-8 from upstream replaced with U+FFFD");
            }
            let text = text.into_owned();
            if let Some(message) = self.parse(&text).await {
                return Some(message);
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        // MCP's stdio shutdown: close the server's input, let it exit, then kill it.
        self.writer.close().await?;
        if let Some(mut child) = self.child.take()
            && tokio::time::timeout(EXIT_GRACE, child.wait()).await.is_err()
        {
            child.kill().await?;
        }
        Ok(())
    }
}

impl Drop for ChildTransport {
    fn drop(&mut self) {
        // kill_on_drop only signals; killing here also reaps, so no zombie is left.
        if let Some(mut child) = self.child.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = child.kill().await;
            });
        }
    }
}
