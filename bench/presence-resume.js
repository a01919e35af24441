#!/usr/bin/env node
'use strict';
/**
 * Presence across a reconnect storm: N anonymous lifeline-client SDK clients
 * watch one topic's presence (subscribe with presence: true) through a TCP
 * relay; every relayed connection is cut at once (no close frame, as a
 * network drop), and the clients come back with the SDK's default backoff.
 * A watcher connected directly (not cut) counts what it is shown.
 *
 *   npm run build && node bench/presence-resume.js [--clients 1000] [--modes resume,fresh]
 *
 * Modes, same server settings (PRESENCE_GRACE_MS 5000, PRESENCE_BATCH_MS 1000):
 *   resume  the SDK resumes its session (the default): each client is the
 *           same member again, within the grace
 *   fresh   the SDK does not resume (`resume: false`): each client is a new
 *           anonymous member, as every client was before issue 13's fix
 *
 * Not part of npm test or npm run bench. Figures: bench/results/presence-resume-<clients>.json, BENCHMARKS.md
 * (hand-written section). Run it under `flock /work/bench.lock` on the shared machine.
 */
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { mkdirSync, writeFileSync } = require('node:fs');
const { WebSocket } = require('ws');
const { ROOT, ServerProcess, killAll, installExitHooks, sleep } = require('./lib/harness');
const { SERVERS } = require('./lib/servers');
const { percentile } = require('./lib/stats');

const { LifelineClient } = require(path.join(ROOT, 'client', 'dist', 'cjs', 'index.cjs'));

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const N = Number(arg('clients', 1000));
const MODES = arg('modes', 'resume,fresh').split(',');
const GRACE_MS = 5000;
const BATCH_MS = 1000;
const TOPIC = 'room';

const LIFELINE = SERVERS.find((s) => s.id === 'lifeline');
const def = {
  ...LIFELINE,
  env: (heartbeat) => ({ ...LIFELINE.env(heartbeat), PRESENCE_GRACE_MS: String(GRACE_MS), PRESENCE_BATCH_MS: String(BATCH_MS) }),
};

/** A TCP relay whose connections can all be cut at once (both sides destroyed, no close frame). */
function relay(port) {
  const pairs = new Set();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(port, '127.0.0.1');
    const pair = [inbound, outbound];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    for (const socket of pair) socket.on('error', drop).on('close', drop);
    inbound.pipe(outbound).pipe(inbound);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `ws://127.0.0.1:${server.address().port}/ws`,
        cut: () => {
          for (const [inbound, outbound] of [...pairs]) {
            inbound.destroy();
            outbound.destroy();
          }
        },
        close: () => new Promise((done) => server.close(done)),
      }),
    ),
  );
}

/** The server's Prometheus counters and gauges, by name + labels. */
async function metrics(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const values = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values[line.slice(0, space)] = Number(line.slice(space + 1));
  }
  return values;
}

/** A raw ws watcher of the topic's presence: every diff it is shown. */
async function watcher(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const seen = { members: new Set(), joins: [], leaves: [], frames: 0, recording: false };
  const key = (m) => (m.userId === null ? `c:${m.clientId}` : `u:${m.userId}`);
  ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString());
    if (frame.event === 'subscribed' && frame.data.presence) for (const m of frame.data.presence.members) seen.members.add(key(m));
    if (frame.event !== 'presence') return;
    for (const m of frame.data.joins) seen.members.add(key(m));
    for (const m of frame.data.leaves) seen.members.delete(key(m));
    if (!seen.recording) return;
    seen.frames++;
    seen.joins.push(...frame.data.joins.map(key));
    seen.leaves.push(...frame.data.leaves.map(key));
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ event: 'subscribe', data: { topic: TOPIC, presence: true } }));
  return { ws, seen };
}

async function waitFor(check, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

async function run(mode) {
  const server = await ServerProcess.start(def, { env: { intervalMs: 25_000, timeoutMs: 10_000 } });
  const tcp = await relay(server.port);
  const watch = await watcher(server.port);
  const clients = [];
  let open = 0;
  const backAt = [];
  let cutAt = 0;
  for (let i = 0; i < N; i++) {
    const client = new LifelineClient(tcp.url, { resume: mode === 'resume', connectTimeoutMs: 15_000 });
    client.subscribe(TOPIC, () => undefined, { presence: true });
    client.on('state', (state) => {
      if (state === 'open') {
        open++;
        if (cutAt) backAt.push(Date.now() - cutAt);
      } else if (state === 'reconnecting') {
        open--;
      }
    });
    clients.push(client);
    if (i % 250 === 249) await sleep(100); // a gentle ramp: the storm is the cut, not the start
  }
  await waitFor(() => open === N && watch.seen.members.size === N + 1, 'all open and seen', 120_000);
  await sleep(BATCH_MS + 500);
  const before = await metrics(server.port);
  watch.seen.recording = true;

  const cpu = async () => {
    const { user, system } = await server.probe('cpu', {}, 5000);
    return (user + system) / 1000;
  };
  const cpuBefore = await cpu();
  cutAt = Date.now();
  tcp.cut();
  await waitFor(() => backAt.length === N, 'all back', 120_000);
  const allBackMs = Math.max(...backAt);
  const serverCpuMs = (await cpu()) - cpuBefore;
  // Every grace that could end has ended, and its batch is flushed.
  await sleep(GRACE_MS + BATCH_MS + 1500);
  const after = await metrics(server.port);
  const delta = (name) => (after[name] ?? 0) - (before[name] ?? 0);
  const sdkRight = clients.filter((c) => c.presence(TOPIC).length === N + 1).length;
  const sorted = [...backAt].sort((a, b) => a - b);
  const result = {
    mode,
    clients: N,
    cutToAllBackMs: allBackMs,
    backP50Ms: percentile(sorted, 50),
    backP99Ms: percentile(sorted, 99),
    serverCpuMsCutToAllBack: Math.round(serverCpuMs),
    watcherLeaves: watch.seen.leaves.length,
    watcherJoins: watch.seen.joins.length,
    watcherDiffFrames: watch.seen.frames,
    membersAfter: watch.seen.members.size,
    offlineEvents: delta('lifeline_presence_transitions_total{to="offline"}'),
    onlineEvents: delta('lifeline_presence_transitions_total{to="online"}'),
    diffFramesSent: delta('lifeline_presence_diff_frames_total'),
    resumes: delta('lifeline_resumes_total{result="recovered"}') + delta('lifeline_resumes_total{result="partial"}'),
    sdkMapsRight: sdkRight,
  };
  for (const client of clients) client.close();
  watch.ws.terminate();
  await tcp.close();
  await server.kill();
  return result;
}

(async () => {
  installExitHooks();
  const results = [];
  for (const mode of MODES) {
    process.stderr.write(`presence resume storm: ${N} clients, ${mode} ...\n`);
    results.push(await run(mode));
    await sleep(2000);
  }
  const out = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, load: os.loadavg(), results };
  mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'bench', 'results', `presence-resume-${N}.json`), `${JSON.stringify(out, null, 2)}\n`);
  console.log(JSON.stringify(out, null, 2));
  process.exit(0);
})().catch((err) => {
  console.error(err);
  killAll();
  process.exit(1);
});
