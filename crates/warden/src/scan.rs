//! `warden scan`: the configured guardrail chain over JSONL, with no upstream and no
//! network — how detector quality is measured and how an operator tries a policy.
//!
//! Input, one object per line: `{"id": …, "text": "…"}` (a string payload) or
//! `{"id": …, "payload": <any JSON>}` (e.g. a tool definition or call arguments);
//! optional `"server"` and `"tool"` fill the call context. Output, one line each:
//! `{"id", "verdict": "allow"|"warn"|"redact"|"block", "findings": […],
//! "redacted_text" | "redacted_payload"}` (the latter only for a redaction), or
//! `{"id", "error"}` for a line that could not be read.

use anyhow::Result;
use serde::Deserialize;
use serde_json::{Value, json};
use std::io::{BufRead, Write};
use std::process::ExitCode;
use warden_core::{Action, CallContext, GuardrailChain, Stage};

/// Which chain to run.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Direction {
    /// gateway.input: tool-call arguments.
    Input,
    /// gateway.output: tool results.
    Output,
    /// gateway.tools: tool definitions.
    Tool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(default)]
    id: Value,
    text: Option<String>,
    payload: Option<Value>,
    server: Option<String>,
    tool: Option<String>,
}

/// Scan every line of `input` into `output`; the number of lines that were not
/// valid requests.
pub async fn run(
    chain: &GuardrailChain,
    direction: Direction,
    input: impl BufRead,
    mut output: impl Write,
) -> Result<usize> {
    let stage = match direction {
        Direction::Input => Stage::Input,
        Direction::Output => Stage::Output,
        Direction::Tool => Stage::Tool,
    };
    let mut bad = 0;
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<Line>(&line) {
            Ok(req) => scan_one(chain, stage, req).await,
            Err(e) => Err((Value::Null, format!("line {}: {e}", n + 1))),
        };
        let answer = answer.unwrap_or_else(|(id, error)| {
            bad += 1;
            json!({"id": id, "error": error})
        });
        writeln!(output, "{answer}")?;
    }
    output.flush()?;
    Ok(bad)
}

async fn scan_one(chain: &GuardrailChain, stage: Stage, req: Line) -> Result<Value, (Value, String)> {
    let (payload, is_text) = match (req.text, req.payload) {
        (Some(text), None) => (Value::String(text), true),
        (None, Some(payload)) => (payload, false),
        _ => return Err((req.id, "give exactly one of \"text\" and \"payload\"".into())),
    };
    let ctx = CallContext {
        request_id: match &req.id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
        principal: None,
        server: req.server.unwrap_or_else(|| "scan".into()),
        tool: req.tool.unwrap_or_else(|| "scan".into()),
    };
    let out = chain.run(stage, &ctx, payload).await;
    let verdict = match out.action {
        Action::Allow => "allow",
        Action::Warn => "warn",
        Action::Redact => "redact",
        Action::Block => "block",
    };
    let mut answer = json!({"id": req.id, "verdict": verdict, "findings": out.findings});
    if out.action == Action::Redact {
        let key = if is_text { "redacted_text" } else { "redacted_payload" };
        answer[key] = out.payload;
    }
    Ok(answer)
}

/// `warden scan`: load the config and its plugins, run the chosen chain over stdin.
pub async fn command(config: Option<&std::path::Path>, direction: Direction) -> Result<ExitCode> {
    let config = crate::setup::load_config(config)?;
    let registry = crate::setup::guardrail_registry(&config, crate::setup::host(&config)?).await?;
    let names = match direction {
        Direction::Input => &config.gateway.input,
        Direction::Output => &config.gateway.output,
        Direction::Tool => &config.gateway.tools,
    };
    let chain = registry.chain(names)?;
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    let bad = run(&chain, direction, stdin, stdout).await?;
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
