// A Warden guardrail in JavaScript: blocks tool calls and results containing configured words.
//
// Config (the `config` table of its `[[plugins]]` entry):
//   { words = ["drop table", "rm -rf"], action = "block" }   # action: "block" | "warn"
//
// Each exported interface of wit/plugin.wit is an exported object named in camelCase.
// A function returning `result<T, E>` returns T, or throws the E value itself
// (a string, `{ message }`, ...) — not an `Error`, which would trap.
import { log } from 'warden:plugin/host@0.1.0';

const SCHEMA = JSON.stringify({
  type: 'object',
  additionalProperties: false,
  required: ['words'],
  properties: {
    words: { type: 'array', items: { type: 'string', minLength: 1 } },
    action: { enum: ['block', 'warn'] },
  },
});

// Set by `configure`; one instance serves one plugin config.
let words = []; // ASCII-lowercased
let action = 'block';

const asciiLower = (s) => s.replace(/[A-Z]+/g, (c) => c.toLowerCase());
const utf8 = new TextEncoder();
const byteLen = (s) => utf8.encode(s).length;

function scan(content) {
  const findings = [];
  for (const { path, text } of content.texts) {
    const hay = asciiLower(text); // same length as `text`: indices stay valid
    words.forEach((word, i) => {
      for (let at = hay.indexOf(word); at >= 0; at = hay.indexOf(word, at + word.length)) {
        const start = byteLen(text.slice(0, at)); // spans are UTF-8 byte offsets
        findings.push({
          detector: 'wordlist.match',
          // Name the word by its index: messages never repeat matched text.
          message: `matched configured word #${i + 1}`,
          path,
          span: { start, end: start + byteLen(text.slice(at, at + word.length)) },
          score: 1.0,
        });
      }
    });
  }
  if (findings.length === 0) return { tag: 'allow' };
  return { tag: action, val: findings };
}

export const lifecycle = {
  describe() {
    return {
      name: '{{name}}',
      version: '0.1.0',
      description: 'Blocks tool calls and results that contain configured words',
      stages: { input: true, output: true },
      contentForms: { texts: true },
      configSchema: SCHEMA,
    };
  },

  configure(configJson) {
    let config;
    try {
      config = JSON.parse(configJson || '{}');
    } catch (e) {
      throw `invalid config: ${e.message}`;
    }
    const w = config?.words;
    if (!Array.isArray(w) || !w.every((x) => typeof x === 'string' && x.length > 0)) {
      throw 'config: `words` must be a list of non-empty strings';
    }
    const a = config.action ?? 'block';
    if (a !== 'block' && a !== 'warn') throw 'config: `action` must be "block" or "warn"';
    words = w.map(asciiLower);
    action = a;
    log('info', `configured with ${words.length} words, action ${action}`);
  },

  shutdown() {
    // Called once when the gateway stops: flush or close what the plugin holds.
  },
};

export const inputGuardrail = {
  checkInput: (ctx, content) => scan(content),
};

export const outputGuardrail = {
  checkOutput: (ctx, content) => scan(content),
};

// Not in `describe().stages`, so the host never calls these two (hooks left out of
// app.js default to allow / no edits).
export const toolGuardrail = {
  checkTool: (server, content) => ({ tag: 'allow' }),
};

export const piiHandler = {
  restore: (ctx, restoreState, content) => [],
};
