"""A Warden guardrail in Python: blocks tool calls and results containing configured words.

Config (the `config` table of its `[[plugins]]` entry):
    { words = ["drop table", "rm -rf"], action = "block" }   # action: "block" | "warn"

`wit_world` is generated from wit/plugin.wit by componentize-py at build time.
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host
from wit_world.imports.types import (
    CallContext,
    Content,
    ContentForms,
    Finding,
    PluginInfo,
    Span,
    Stages,
    TextEdit,
    Verdict,
    Verdict_Allow,
    Verdict_Block,
    Verdict_Warn,
)

SCHEMA = json.dumps({
    "type": "object",
    "additionalProperties": False,
    "required": ["words"],
    "properties": {
        "words": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "action": {"enum": ["block", "warn"]},
    },
})

# Set by `configure`; one instance serves one plugin config.
WORDS: list[bytes] = []  # ASCII-lowercased UTF-8, so matches are byte offsets
ACTION = "block"


def scan(content: Content) -> Verdict:
    findings = []
    for item in content.texts:
        hay = item.text.encode().lower()  # bytes.lower() folds ASCII only: offsets stay exact
        for i, word in enumerate(WORDS):
            at = hay.find(word)
            while at >= 0:
                findings.append(Finding(
                    detector="wordlist.match",
                    # Name the word by its index: messages never repeat matched text.
                    message=f"matched configured word #{i + 1}",
                    path=item.path,
                    span=Span(start=at, end=at + len(word)),
                    score=1.0,
                ))
                at = hay.find(word, at + len(word))
    if not findings:
        return Verdict_Allow()
    return Verdict_Block(findings) if ACTION == "block" else Verdict_Warn(findings)


class Lifecycle(exports.Lifecycle):
    def describe(self) -> PluginInfo:
        return PluginInfo(
            name="{{name}}",
            version="0.1.0",
            description="Blocks tool calls and results that contain configured words",
            stages=Stages.INPUT | Stages.OUTPUT,
            content_forms=ContentForms.TEXTS,
            config_schema=SCHEMA,
        )

    def configure(self, config_json: str) -> None:
        global WORDS, ACTION
        try:
            config = json.loads(config_json or "{}")
        except ValueError as e:
            raise Err(f"invalid config: {e}")
        words = config.get("words") if isinstance(config, dict) else None
        if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
            raise Err("config: `words` must be a list of non-empty strings")
        action = config.get("action", "block")
        if action not in ("block", "warn"):
            raise Err('config: `action` must be "block" or "warn"')
        WORDS = [w.encode().lower() for w in words]
        ACTION = action
        host.log(host.Level.INFO, f"configured with {len(WORDS)} words, action {ACTION}")

    def shutdown(self) -> None:
        # Called once when the gateway stops: flush or close what the plugin holds.
        pass


class InputGuardrail(exports.InputGuardrail):
    def check_input(self, ctx: CallContext, content: Content) -> Verdict:
        return scan(content)


class OutputGuardrail(exports.OutputGuardrail):
    def check_output(self, ctx: CallContext, content: Content) -> Verdict:
        return scan(content)


# Not in `describe().stages`, so the host never calls these two (hooks left out of
# app.py default to allow / no edits).
class ToolGuardrail(exports.ToolGuardrail):
    def check_tool(self, server: str, content: Content) -> Verdict:
        return Verdict_Allow()


class PiiHandler(exports.PiiHandler):
    def restore(self, ctx: CallContext, restore_state: bytes, content: Content) -> list[TextEdit]:
        return []
