#!/usr/bin/env node
'use strict';
/**
 * Server CPU per MB of frames received, several builds or settings of
 * Lifeline interleaved in the same run: what a change on the read path costs
 * when clients send (the heartbeat bench only ever reads pongs).
 *
 *   node bench/tools/inbound-bytes.js [--rounds=3] [--mb=200]
 *        [--sizes=1024,16384,102400,921600]
 *        [name=[server:]path/to/main.js[,KEY=VALUE...] ...]
 *
 * Without name=entry pairs it runs dist/main.js as "lifeline". Per round,
 * size and entry: a fresh server (pinned to CPU 0, the bench's probe
 * preloaded, rate limit lifted), one client on CPU 1 publishes frames of that
 * data size to a topic nobody subscribes to, a tenth of --mb to warm up, then
 * --mb measured; a subscribe answered marks the end of the measured frames
 * (frames of one client are handled in order). Prints ms of server CPU per MB
 * received, per round, and the medians.
 */
const { ServerProcess, canPin, installExitHooks, pinSelf } = require('../lib/harness');
const { lifelineVariants, toolArgs } = require('../lib/tool-args');
const WebSocket = require('ws');

const { args, entries } = toolArgs();
const rounds = Number(args.rounds ?? 3);
const measuredBytes = Number(args.mb ?? 200) * 1024 * 1024;
const sizes = (args.sizes ?? '1024,16384,102400,921600').split(',').map(Number);
const hb = { intervalMs: 25_000, timeoutMs: 10_000 };
// Lifted so that one client may send as fast as the server reads.
const limits = { RATE_LIMIT_PER_SEC: '1000000', RATE_LIMIT_BURST: '1000000', MAX_PAYLOAD_BYTES: String(2 * 1024 * 1024) };
const variants = lifelineVariants(entries, limits);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Resolves with the first frame whose text passes `match`. */
function frame(ws, match) {
  return new Promise((resolve) => {
    const onMessage = (data) => {
      if (!match(String(data))) return;
      ws.off('message', onMessage);
      resolve();
    };
    ws.on('message', onMessage);
  });
}

async function once(def, size) {
  const server = await ServerProcess.start(def, { env: hb, cpu: 0, pin: canPin() });
  const ws = new WebSocket(server.wsUrl('ws'));
  try {
    await frame(ws, (t) => t.includes('"welcome"'));
    const text = JSON.stringify({ event: 'publish', data: { topic: 'inbound', data: 'a'.repeat(size) } });
    const send = async (bytes) => {
      for (let sent = 0; sent < bytes; sent += text.length) {
        ws.send(text);
        // Bounded: the client never holds more than 8 MB unsent.
        while (ws.bufferedAmount > 8 * 1024 * 1024) await new Promise((r) => setTimeout(r, 1));
      }
    };
    const mark = async (topic) => {
      ws.send(JSON.stringify({ event: 'subscribe', data: { topic } }));
      await frame(ws, (t) => t.includes('"subscribed"') && t.includes(`"${topic}"`));
    };
    await send(measuredBytes / 10);
    await mark('warm');
    const c0 = await server.probe('cpu');
    await send(measuredBytes);
    await mark('done');
    const c1 = await server.probe('cpu');
    const ms = (c1.user - c0.user + (c1.system - c0.system)) / 1000;
    return ms / (Math.ceil(measuredBytes / text.length) * text.length / 1048576);
  } finally {
    ws.terminate();
    await server.kill();
  }
}

async function main() {
  installExitHooks();
  if (canPin()) pinSelf(1);
  const results = new Map();
  for (let round = 1; round <= rounds; round++) {
    for (const size of sizes) {
      const line = [];
      for (const def of variants) {
        const v = await once(def, size);
        const key = `${size}\t${def.id}`;
        results.set(key, [...(results.get(key) ?? []), v]);
        line.push(`${def.id} ${v.toFixed(2)}`);
      }
      process.stdout.write(`round ${round}, ${size} B frames: ${line.join(' | ')} ms/MB\n`);
    }
  }
  process.stdout.write(`\nmedians over ${rounds} rounds, ${measuredBytes / 1048576} MB each (server CPU ms per MB received)\n`);
  for (const size of sizes) {
    const cells = variants.map((def) => `${def.id} ${median(results.get(`${size}\t${def.id}`)).toFixed(2)}`);
    process.stdout.write(`${String(size).padStart(8)} B  ${cells.join('  ')}\n`);
  }
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
