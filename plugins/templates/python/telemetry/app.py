"""A Warden telemetry sink in Python: counts audit events and logs a summary.

Config (the `config` table of its `[[plugins]]` entry):
    { every = 100 }   # log the counts every N events (default 100)

The summary goes to the gateway's log through the host `log` import; a sink that
needs to ship events elsewhere asks for grants (e.g. grants.http_hosts).
`wit_world` is generated from wit/plugin.wit by componentize-py at build time.
"""

import json
from collections import Counter

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.telemetry import Event
from wit_world.imports import host
from wit_world.imports.types import ContentForms, PluginInfo, Stages

EVERY = 100
SEEN = 0
OUTCOMES: Counter[str] = Counter()
DETECTORS: Counter[str] = Counter()


class Lifecycle(exports.Lifecycle):
    def describe(self) -> PluginInfo:
        return PluginInfo(
            name="{{name}}",
            version="0.1.0",
            description="Counts audit events by outcome and detector, and logs the counts",
            stages=Stages(0),
            content_forms=ContentForms(0),
            config_schema=None,
        )

    def configure(self, config_json: str) -> None:
        global EVERY
        try:
            every = json.loads(config_json or "{}").get("every", 100)
        except (ValueError, AttributeError) as e:
            raise Err(f"invalid config: {e}")
        if not isinstance(every, int) or every < 1:
            raise Err("config: `every` must be a positive integer")
        EVERY = every

    def shutdown(self) -> None:
        # Called once when the gateway stops: flush or close what the plugin holds.
        pass


class Telemetry(exports.Telemetry):
    def export_events(self, events: list[Event]) -> None:
        global SEEN
        for e in events:
            SEEN += 1
            OUTCOMES[e.outcome.name.lower()] += 1
            DETECTORS.update(f.detector for f in e.findings)
            if SEEN % EVERY == 0:
                host.log(host.Level.INFO, f"{SEEN} events; outcomes {dict(OUTCOMES)}; findings {dict(DETECTORS)}")
