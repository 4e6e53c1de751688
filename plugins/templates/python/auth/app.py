"""A Warden auth provider in Python: static bearer tokens mapped to principals.

Config (the `config` table of its `[[plugins]]` entry; keep tokens out of the file
with `${ENV_VAR}`):
    { tokens = [{ token = "${ALICE_TOKEN}", id = "alice", project = "team-a", scopes = ["demo/*"] }] }

`scopes` are SERVER/TOOL globs: everything when absent, nothing when empty.
`wit_world` is generated from wit/plugin.wit by componentize-py at build time.
"""

import hmac
import json
from dataclasses import dataclass

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.auth import (
    AuthError_NoCredentials,
    AuthError_Rejected,
    AuthRequest,
)
from wit_world.imports import host
from wit_world.imports.types import ContentForms, PluginInfo, Principal, Stages


@dataclass
class Token:
    secret: bytes
    id: str
    project: str | None
    scopes: list[str]


TOKENS: list[Token] = []  # set by `configure`


def bearer(headers: list[tuple[str, str]]) -> str | None:
    """The token of `authorization: Bearer TOKEN` (header names arrive lower-cased)."""
    for name, value in headers:
        if name == "authorization":
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


class Lifecycle(exports.Lifecycle):
    def describe(self) -> PluginInfo:
        return PluginInfo(
            name="{{name}}",
            version="0.1.0",
            description="Accepts configured static bearer tokens",
            stages=Stages(0),
            content_forms=ContentForms(0),
            config_schema=None,
        )

    def configure(self, config_json: str) -> None:
        global TOKENS
        try:
            config = json.loads(config_json or "{}")
            tokens = [
                Token(
                    secret=t["token"].encode(),
                    id=t["id"],
                    project=t.get("project"),
                    scopes=list(t.get("scopes", ["*"])),
                )
                for t in config["tokens"]
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise Err(f"config: expected tokens = [{{ token, id, project?, scopes? }}] ({e!r})")
        if any(len(t.secret) < 16 for t in tokens):
            raise Err("config: every token must be at least 16 characters")
        TOKENS = tokens
        host.log(host.Level.INFO, f"configured with {len(TOKENS)} tokens")

    def shutdown(self) -> None:
        # Called once when the gateway stops: flush or close what the plugin holds.
        pass


class Auth(exports.Auth):
    def authenticate(self, request: AuthRequest) -> Principal:
        presented = bearer(request.headers)
        if presented is None:
            raise Err(AuthError_NoCredentials())  # let the next provider try
        found = None
        for t in TOKENS:  # compare with every token, in constant time
            if hmac.compare_digest(t.secret, presented.encode()):
                found = t
        if found is None:
            raise Err(AuthError_Rejected("unknown bearer token"))  # never echo the token
        return Principal(id=found.id, project=found.project, scopes=found.scopes, attributes=[("auth", "{{name}}")])
