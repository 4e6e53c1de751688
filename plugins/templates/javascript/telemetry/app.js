// A Warden telemetry sink in JavaScript: counts audit events and logs a summary.
//
// Config (the `config` table of its `[[plugins]]` entry):
//   { every = 100 }   # log the counts every N events (default 100)
//
// The summary goes to the gateway's log through the host `log` import; a sink that
// needs to ship events elsewhere asks for grants (e.g. grants.http_hosts).
import { log } from 'warden:plugin/host@0.1.0';

let every = 100;
let seen = 0;
const outcomes = {};
const detectors = {};
const bump = (counts, key) => (counts[key] = (counts[key] ?? 0) + 1);

export const lifecycle = {
  describe() {
    return {
      name: '{{name}}',
      version: '0.1.0',
      description: 'Counts audit events by outcome and detector, and logs the counts',
      stages: {},
      contentForms: {},
      configSchema: undefined,
    };
  },

  configure(configJson) {
    let n;
    try {
      n = JSON.parse(configJson || '{}').every ?? 100;
    } catch (e) {
      throw `invalid config: ${e.message}`;
    }
    if (!Number.isInteger(n) || n < 1) throw 'config: `every` must be a positive integer';
    every = n;
  },

  shutdown() {
    // Called once when the gateway stops: flush or close what the plugin holds.
  },
};

export const telemetry = {
  exportEvents(events) {
    for (const e of events) {
      seen++;
      bump(outcomes, e.outcome); // 'allowed', 'blocked', ...
      for (const f of e.findings) bump(detectors, f.detector);
      if (seen % every === 0) {
        log('info', `${seen} events; outcomes ${JSON.stringify(outcomes)}; findings ${JSON.stringify(detectors)}`);
      }
    }
  },
};
