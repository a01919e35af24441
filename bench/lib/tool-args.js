'use strict';
/**
 * Command lines of the A/B tools in bench/tools: `--key=value` options and
 * `name=[server:]path/to/main.js[,KEY=VALUE...]` entries, each entry one
 * Lifeline build or setting to run beside the others.
 */
const path = require('node:path');
const { ROOT } = require('./harness');
const { SERVERS } = require('./servers');

/** `--key=value` options as an object, and the `name=…` entries as given. */
function toolArgs(argv = process.argv.slice(2)) {
  const args = Object.fromEntries(argv.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')));
  const entries = argv.filter((a) => !a.startsWith('--') && a.includes('='));
  return { args, entries };
}

/**
 * One entry as a server definition: `server` names a Lifeline server of
 * servers.js (default `lifeline`), KEY=VALUE pairs add environment after
 * `fixedEnv` (so an entry may override what the tool sets). No entries: dist/main.js as "lifeline".
 */
function lifelineVariants(entries, fixedEnv = {}) {
  const pairs = entries.length ? entries : [`lifeline=${path.join(ROOT, 'dist', 'main.js')}`];
  return pairs.map((pair) => {
    const name = pair.slice(0, pair.indexOf('='));
    const [target, ...env] = pair.slice(name.length + 1).split(',');
    const colon = target.indexOf(':');
    const serverId = colon > 0 ? target.slice(0, colon) : 'lifeline';
    const base = SERVERS.find((s) => s.id === serverId && s.lifeline);
    if (!base) throw new Error(`${serverId} is not a Lifeline server of bench/lib/servers.js`);
    const extra = Object.fromEntries(env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const entry = path.resolve(colon > 0 ? target.slice(colon + 1) : target);
    return { ...base, id: name, label: name, entry, env: (h) => ({ ...base.env(h), ...fixedEnv, ...extra }) };
  });
}

module.exports = { lifelineVariants, toolArgs };
