// A Warden auth provider in JavaScript: static bearer tokens mapped to principals.
//
// Config (the `config` table of its `[[plugins]]` entry; keep tokens out of the file
// with `${ENV_VAR}`):
//   { tokens = [{ token = "${ALICE_TOKEN}", id = "alice", project = "team-a", scopes = ["demo/*"] }] }
//
// `scopes` are SERVER/TOOL globs: everything when absent, nothing when empty.
// A function returning `result<T, E>` returns T, or throws the E value itself
// (here `{ tag: 'rejected', val: reason }`) — not an `Error`, which would trap.
import { log } from 'warden:plugin/host@0.1.0';

let tokens = []; // set by `configure`

// The token of `authorization: Bearer TOKEN` (header names arrive lower-cased).
function bearer(headers) {
  for (const [name, value] of headers) {
    if (name !== 'authorization') continue;
    const m = /^\s*bearer\s+(\S+)\s*$/i.exec(value);
    if (m) return m[1];
  }
  return null;
}

// Compare without stopping at the first difference.
function sameString(a, b) {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  }
  return diff === 0;
}

export const lifecycle = {
  describe() {
    return {
      name: '{{name}}',
      version: '0.1.0',
      description: 'Accepts configured static bearer tokens',
      stages: {},
      contentForms: {},
      configSchema: undefined,
    };
  },

  configure(configJson) {
    let list;
    try {
      list = JSON.parse(configJson || '{}').tokens;
    } catch (e) {
      throw `invalid config: ${e.message}`;
    }
    const ok = (t) => t && typeof t.token === 'string' && typeof t.id === 'string';
    if (!Array.isArray(list) || !list.every(ok)) {
      throw 'config: expected tokens = [{ token, id, project?, scopes? }]';
    }
    if (list.some((t) => t.token.length < 16)) throw 'config: every token must be at least 16 characters';
    tokens = list.map((t) => ({ ...t, scopes: t.scopes ?? ['*'] }));
    log('info', `configured with ${tokens.length} tokens`);
  },

  shutdown() {
    // Called once when the gateway stops: flush or close what the plugin holds.
  },
};

export const auth = {
  authenticate(request) {
    const presented = bearer(request.headers);
    if (presented === null) throw { tag: 'no-credentials' }; // let the next provider try
    let found = null;
    for (const t of tokens) if (sameString(t.token, presented)) found = t; // check every token
    if (found === null) throw { tag: 'rejected', val: 'unknown bearer token' }; // never echo the token
    return { id: found.id, project: found.project, scopes: found.scopes, attributes: [['auth', '{{name}}']] };
  },
};
