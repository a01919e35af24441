'use strict';
/**
 * Presence benchmark: 3 Lifeline nodes (dist/main.js) on one Redis.
 *
 *   1. Join storm: MEMBERS users watch one topic (subscribe with presence:
 *      true), spread over the nodes; then STORM new users join within one
 *      second. Reported: diff frames sent (lifeline_presence_diff_frames_total
 *      over the nodes), bytes of presence frames received, server CPU during
 *      the storm (utime + stime of the three node processes), and the time
 *      from the first join until every member has seen the last join. Without
 *      batching each join would be one frame to every member:
 *      STORM x (MEMBERS + STORM/2) frames.
 *   2. Muted users: MUTED users connect and never answer pings (autoPong
 *      off); the time from their last sign of life (the connect) to their
 *      `user offline` log line, p50 / p99, against interval + timeout + grace.
 *
 * The clients live in this process (no separate load generators): run it at
 * a scale one process can drive. Defaults are reduced (shared 2-core machine):
 *   node bench/presence/run.js [--members=1500] [--storm=300] [--muted=50]
 *     [--interval=5000] [--timeout=3000] [--grace=1000] [--batch=1000] [--ttl=3000]
 *     [--redis=redis://127.0.0.1:6379]
 * The full scale is --members=10000 --storm=1000 (needs ulimit -n > 25,000).
 * Writes bench/results/presence-latest.json. Everything it starts is killed on
 * exit; its Redis keys (a unique prefix) are deleted.
 */
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { Redis } = require('ioredis');
const { sign } = require('jsonwebtoken');
const { WebSocket } = require('ws');

const ROOT = path.join(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'main.js');
const RESULTS = path.join(ROOT, 'bench', 'results', 'presence-latest.json');
const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v ?? true];
  }),
);
const MEMBERS = Number(args.members ?? 1500);
const STORM = Number(args.storm ?? 300);
const MUTED = Number(args.muted ?? 50);
const INTERVAL_MS = Number(args.interval ?? 5000);
const TIMEOUT_MS = Number(args.timeout ?? 3000);
const GRACE_MS = Number(args.grace ?? 1000);
const BATCH_MS = Number(args.batch ?? 1000);
const TTL_MS = Number(args.ttl ?? 3000);
const REDIS_URL = String(args.redis ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const SECRET = randomBytes(24).toString('hex');
const PREFIX = `lifeline:bench:${randomBytes(4).toString('hex')}:`;
const TOPIC = 'room';
const log = (...parts) => console.log(`[presence-bench ${new Date().toISOString().slice(11, 19)}]`, ...parts);

const children = new Set();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function startNode(label) {
  const port = await freePort();
  const id = `pbench-${label}`;
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      REDIS_URL,
      REDIS_KEY_PREFIX: PREFIX,
      NODE_ID: id,
      NODE_TTL_MS: String(TTL_MS),
      AUTH_MODE: 'jwt',
      AUTH_JWT_SECRET: SECRET,
      HEARTBEAT_INTERVAL_MS: String(INTERVAL_MS),
      HEARTBEAT_TIMEOUT_MS: String(TIMEOUT_MS),
      PRESENCE_GRACE_MS: String(GRACE_MS),
      PRESENCE_BATCH_MS: String(BATCH_MS),
      RATE_LIMIT_BURST: '1000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const offline = new Map(); // userId -> time of the `user offline` line
  let pending = '';
  child.stdout.on('data', (c) => {
    const lines = (pending + c.toString()).split('\n');
    pending = lines.pop();
    for (const line of lines) {
      if (line.includes('"message handler failed"') && !startNode.failureShown) {
        startNode.failureShown = true;
        log('first handler failure', line);
      }
      if (!line.includes('"user offline"')) continue;
      try {
        const entry = JSON.parse(line);
        offline.set(entry.userId, entry.time);
      } catch {
        // not a JSON line
      }
    }
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c.toString()));
  const node = { id, port, child, offline, base: `http://127.0.0.1:${port}`, url: `ws://127.0.0.1:${port}/ws` };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`node ${id} exited: ${stderr.slice(-1000)}`);
    try {
      if ((await fetch(`${node.base}/health`, { signal: AbortSignal.timeout(1000) })).status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`node ${id} did not become healthy`);
    await sleep(100);
  }
  return node;
}

async function metric(node, name) {
  const text = await (await fetch(`${node.base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

/** utime + stime of a process, in ms (Linux /proc). */
function cpuMs(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ = 100
}

/** A member: connects as a user, counts presence frames and bytes, notes when it saw the storm's last join. */
function connect(node, userId, { autoPong = true, onFrame } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${node.url}?access_token=${sign({ sub: userId }, SECRET)}`, { autoPong });
    const client = { ws, userId, frames: 0, bytes: 0, errors: 0, subscribed: undefined };
    ws.on('message', (raw) => {
      const text = raw.toString();
      const frame = JSON.parse(text);
      if (frame.event === 'welcome') return resolve(client);
      if (frame.event === 'subscribed') return client.subscribed?.(frame.data);
      // e.g. internal_error when a Redis call timed out on a starved machine: that subscribe has no reply.
      if (frame.event === 'error') {
        client.errors++;
        if (!connect.errorShown) {
          connect.errorShown = true;
          log('first error frame', JSON.stringify(frame.data));
        }
        return client.subscribed?.(undefined);
      }
      if (frame.event === 'presence') {
        client.frames++;
        client.bytes += Buffer.byteLength(text);
        onFrame?.(client, frame.data);
      }
    });
    ws.on('error', reject);
    setTimeout(() => reject(new Error(`${userId}: no welcome within 20 s`)), 20_000).unref();
  });
}

/** Resolves with the reply, or undefined after 20 s (a client reaped on a starved machine never gets one). */
function subscribe(client) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 20_000);
    client.subscribed = (data) => {
      clearTimeout(timer);
      resolve(data);
    };
    if (client.ws.readyState === WebSocket.OPEN) {
      client.ws.send(JSON.stringify({ event: 'subscribe', data: { topic: TOPIC, presence: true } }));
    }
  });
}

async function inBatches(items, size, fn) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function main() {
  log(`members ${MEMBERS}, storm ${STORM}, muted ${MUTED}; interval ${INTERVAL_MS} timeout ${TIMEOUT_MS} grace ${GRACE_MS} batch ${BATCH_MS} ms`);
  const nodes = [];
  for (const label of ['a', 'b', 'c']) nodes.push(await startNode(label));
  const redis = new Redis(REDIS_URL);
  try {
    // Members, round-robin over the nodes.
    const lastJoin = `storm-${STORM - 1}`;
    const sawLast = new Map();
    const onFrame = (client, data) => {
      if (!sawLast.has(client.userId) && data.joins.some((j) => j.userId === lastJoin)) sawLast.set(client.userId, Date.now());
    };
    const members = await inBatches(Array.from({ length: MEMBERS }, (_, i) => i), 100, async (i) => {
      const client = await connect(nodes[i % 3], `member-${i}`, { onFrame });
      await subscribe(client);
      return client;
    });
    log(`${members.length} members watching`);
    await sleep(BATCH_MS * 2 + 500);
    const framesBefore = (await Promise.all(nodes.map((n) => metric(n, 'lifeline_presence_diff_frames_total')))).reduce((a, b) => a + b, 0);
    for (const m of members) {
      m.frames = 0;
      m.bytes = 0;
    }
    // The storm: STORM users connect first, then all join within one second.
    const joiners = await inBatches(Array.from({ length: STORM }, (_, i) => i), 100, (i) =>
      connect(nodes[i % 3], `storm-${i}`, { onFrame }),
    );
    const cpuBefore = nodes.map((n) => cpuMs(n.child.pid));
    const stormAt = Date.now();
    const gap = 1000 / STORM;
    await Promise.all(
      joiners.map(async (j, i) => {
        await sleep(i * gap);
        await subscribe(j);
      }),
    );
    const joinedMs = Date.now() - stormAt;
    const errorFrames = joiners.reduce((sum, j) => sum + j.errors, 0);
    const everyone = [...members, ...joiners].filter((c) => c.ws.readyState === WebSocket.OPEN);
    const deadline = Date.now() + 30_000;
    while (sawLast.size < everyone.length && Date.now() < deadline) await sleep(20);
    const allSeenMs = Math.max(...sawLast.values()) - stormAt;
    await sleep(BATCH_MS + 200);
    const cpu = nodes.map((n, i) => cpuMs(n.child.pid) - cpuBefore[i]);
    const framesAfter = (await Promise.all(nodes.map((n) => metric(n, 'lifeline_presence_diff_frames_total')))).reduce((a, b) => a + b, 0);
    const bytes = everyone.reduce((sum, c) => sum + c.bytes, 0);
    const storm = {
      members: MEMBERS,
      joins: STORM,
      joinedWithinMs: joinedMs,
      subscribeErrors: errorFrames,
      diffFrames: framesAfter - framesBefore,
      bytes,
      seenBy: sawLast.size,
      ofClients: everyone.length,
      lastJoinSeenByAllMs: allSeenMs,
      serverCpuMs: cpu.map(Math.round),
      framesWithoutBatching: Math.round(STORM * (MEMBERS + STORM / 2)),
    };
    log('storm', JSON.stringify(storm));
    for (const c of everyone) c.ws.terminate();

    // Muted users: their connect is their last sign of life.
    const connectedAt = new Map();
    await inBatches(Array.from({ length: MUTED }, (_, i) => i), 25, async (i) => {
      const c = await connect(nodes[i % 3], `muted-${i}`, { autoPong: false });
      connectedAt.set(c.userId, Date.now());
      return c;
    });
    const bound = INTERVAL_MS + TIMEOUT_MS + GRACE_MS;
    const mutedDeadline = Date.now() + bound + 10_000;
    const offlineAt = () => {
      const all = new Map();
      for (const n of nodes) for (const [u, t] of n.offline) if (u.startsWith('muted-')) all.set(u, t);
      return all;
    };
    while (offlineAt().size < MUTED && Date.now() < mutedDeadline) await sleep(50);
    const times = [...offlineAt()].map(([u, t]) => t - connectedAt.get(u)).sort((a, b) => a - b);
    const muted = {
      users: MUTED,
      offline: times.length,
      p50Ms: pct(times, 50),
      p99Ms: pct(times, 99),
      maxMs: times[times.length - 1],
      boundMs: bound,
    };
    log('muted', JSON.stringify(muted));
    const result = {
      at: new Date().toISOString(),
      scale: 'reduced (shared 2-core machine)',
      settings: { INTERVAL_MS, TIMEOUT_MS, GRACE_MS, BATCH_MS, TTL_MS },
      storm,
      muted,
    };
    fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
    fs.writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
    log(`wrote ${path.relative(ROOT, RESULTS)}`);
  } finally {
    for (const n of nodes) n.child.kill('SIGKILL');
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
