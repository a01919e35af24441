'use strict';
/**
 * Cluster benchmark: 3 Lifeline nodes (dist/main.js) on one Redis, 15,000
 * clients each (45,000 in all) held by load-generator processes.
 *
 *   1. Redis memory per presence entry (MEMORY USAGE of the presence hashes,
 *      and the growth of used_memory), without and with one subscription each.
 *   2. Publish fan-out across nodes: every client subscribes to one topic; a
 *      publisher on node A publishes a burst, then a paced series; deliveries
 *      per second over the whole cluster and publish-to-delivery latency.
 *   3. kill -9 of a node, several rounds: time until the survivors' view is
 *      clean (its clients gone from GET /health details.cluster), until its
 *      presence keys are reaped, and until all its node_lost events were
 *      counted; then the node is restarted and its clients reconnect.
 *
 * Usage: npm run bench:cluster (builds first) -- [--clients=15000]
 *   [--kills=5] [--ttl=10000] [--burst=20] [--paced=8] [--gap=2000] [--redis=redis://127.0.0.1:6379]
 *   [--no-doc]   do not rewrite the Cluster section of BENCHMARKS.md
 *   [--logs=dir] keep each node's (warn-level) log in dir/<node id>.log
 *
 * Writes bench/results/cluster-latest.json and the part of BENCHMARKS.md
 * between <!-- cluster:start --> and <!-- cluster:end -->. Everything it
 * starts is killed on exit (and after --timeout=900 s at the latest); its
 * Redis keys (a unique prefix) are deleted.
 */
const { fork, spawn, execFileSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
const { Redis } = require('ioredis');
const { WebSocket } = require('ws');

const ROOT = path.join(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'main.js');
const RESULTS = path.join(ROOT, 'bench', 'results', 'cluster-latest.json');
const DOC = path.join(ROOT, 'BENCHMARKS.md');
const START = '<!-- cluster:start -->';
const END = '<!-- cluster:end -->';

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v ?? true];
  }),
);
const CLIENTS_PER_NODE = Number(args.clients ?? 15_000);
const KILLS = Number(args.kills ?? 5);
const TTL_MS = Number(args.ttl ?? 10_000);
const REFRESH_MS = Math.floor(TTL_MS / 3);
const BURST = Number(args.burst ?? 20);
const PACED = Number(args.paced ?? 8);
const PACED_GAP_MS = Number(args.gap ?? 2000);
const REDIS_URL = String(args.redis ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const TIMEOUT_S = Number(args.timeout ?? 900);
const PER_LOADGEN = 7_500; // sockets per load generator (fd limit 20,000 per process)
const ADDRESSES = Array.from({ length: 20 }, (_, i) => `127.0.0.${i + 2}`);
const PREFIX = `lifeline:bench:${randomBytes(4).toString('hex')}:`;
const NODE_COUNT = 3;

const now = () => performance.timeOrigin + performance.now();
const log = (...parts) => console.log(`[cluster-bench ${new Date().toISOString().slice(11, 19)}]`, ...parts);

// ---------------------------------------------------------------------------
// Processes: nodes and load generators; all killed on exit.
// ---------------------------------------------------------------------------

const children = new Set();

function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    log(`${signal}: stopping`);
    killAll();
    process.exit(130);
  });
}

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

let nodeSeq = 0;
/** Every node started, for the reaps and lease lapses they reported. */
const allNodes = [];
async function startNode(label) {
  const port = await freePort();
  const id = `bench-${label}-${++nodeSeq}`;
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      REDIS_URL,
      REDIS_KEY_PREFIX: PREFIX,
      NODE_ID: id,
      NODE_TTL_MS: String(TTL_MS),
      // One publisher sends bursts; the per-client rate limit is not what is measured here.
      RATE_LIMIT_PER_SEC: '1000000',
      RATE_LIMIT_BURST: '1000000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c.toString()));
  // Warn-level JSON lines only (LOG_LEVEL=warn); keep the reapers' "node lost" reports.
  const reaps = [];
  const lapses = [];
  let pending = '';
  const logFile = args.logs ? fs.createWriteStream(path.join(String(args.logs), `${id}.log`)) : undefined;
  child.stdout.on('data', (c) => {
    logFile?.write(c);
    const lines = (pending + c.toString()).split('\n');
    pending = lines.pop();
    for (const line of lines) {
      if (line.includes('"lease had expired')) lapses.push(line);
      if (!line.includes('"node lost"')) continue;
      try {
        reaps.push(JSON.parse(line));
      } catch {
        // not a JSON line
      }
    }
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const node = { label, id, port, child, reaps, lapses, url: `ws://127.0.0.1:${port}/ws`, base: `http://127.0.0.1:${port}` };
  allNodes.push(node);
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`node ${id} exited: ${stderr.slice(-1000)}`);
    try {
      const res = await fetch(`${node.base}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`node ${id} did not become healthy`);
    await sleep(50);
  }
  return node;
}

async function clusterView(node) {
  const res = await fetch(`${node.base}/health`, { signal: AbortSignal.timeout(2000) });
  const body = await res.json();
  const cluster = body.details?.cluster;
  return cluster?.status === 'up' ? { nodes: cluster.nodes, clients: cluster.clients } : undefined;
}

async function metric(node, name, labels) {
  const res = await fetch(`${node.base}/metrics`, { signal: AbortSignal.timeout(2000) });
  const text = await res.text();
  const wanted = `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}} `;
  const line = text.split('\n').find((l) => l.startsWith(wanted));
  return line ? Number(line.slice(wanted.length)) : 0;
}

class Loadgen {
  constructor(index) {
    this.index = index;
    this.seq = 0;
    this.pending = new Map();
    this.child = fork(path.join(__dirname, 'loadgen.js'), [], { serialization: 'advanced', stdio: 'inherit' });
    children.add(this.child);
    this.child.on('exit', () => children.delete(this.child));
    this.child.on('message', ({ id, ok, result, error }) => {
      const p = this.pending.get(id);
      this.pending.delete(id);
      if (ok) p.resolve(result);
      else p.reject(new Error(`loadgen ${this.index}: ${error}`));
    });
  }

  call(cmd, callArgs) {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, cmd, args: callArgs });
    });
  }
}

// ---------------------------------------------------------------------------
// Statistics and formatting
// ---------------------------------------------------------------------------

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
function summary(values) {
  const sorted = Float64Array.from(values).sort();
  return {
    n: sorted.length,
    min: round(sorted.length ? sorted[0] : null),
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.length ? sorted[sorted.length - 1] : null),
  };
}
const round = (v, digits = 1) => (v === null || v === undefined ? null : Math.round(v * 10 ** digits) / 10 ** digits);
const fmt = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'));

async function waitUntil(condition, what, timeoutMs, everyMs = 20) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function deleteKeys(redis) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    if (keys.length) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

async function usedMemory(redis) {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)[1]);
}

async function presenceMemory(redis, nodes) {
  let bytes = 0;
  let entries = 0;
  for (const node of nodes) {
    const key = `${PREFIX}node:${node.id}:clients`;
    bytes += Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    entries += await redis.hlen(key);
  }
  const encoding = await redis.object('ENCODING', `${PREFIX}node:${nodes[0].id}:clients`);
  const sample = await redis.hrandfield(`${PREFIX}node:${nodes[0].id}:clients`, 1, 'WITHVALUES');
  return { entries, bytes, bytesPerEntry: round(bytes / entries), encoding, sample: { field: sample[0], value: sample[1] } };
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

async function main() {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`);
  const hardTimer = setTimeout(() => {
    log(`over ${TIMEOUT_S} s: giving up`);
    killAll();
    process.exit(2);
  }, TIMEOUT_S * 1000);
  hardTimer.unref();

  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))[1];
  const loadgensPerNode = Math.ceil(CLIENTS_PER_NODE / PER_LOADGEN);
  const total = CLIENTS_PER_NODE * NODE_COUNT;
  log(`prefix ${PREFIX}, ${NODE_COUNT} nodes x ${fmt(CLIENTS_PER_NODE)} clients, ${loadgensPerNode} load generators per node, TTL ${TTL_MS} ms`);

  const result = {
    when: new Date().toISOString(),
    environment: {
      node: process.version,
      redis: redisVersion,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGb: round(os.totalmem() / 2 ** 30),
      openFileLimit: execFileSync('sh', ['-c', 'ulimit -n']).toString().trim(),
    },
    config: { nodes: NODE_COUNT, clientsPerNode: CLIENTS_PER_NODE, totalClients: total, nodeTtlMs: TTL_MS, refreshMs: REFRESH_MS, kills: KILLS, burst: BURST, paced: PACED, pacedGapMs: PACED_GAP_MS },
  };

  try {
    const memoryBefore = await usedMemory(redis);
    const labels = ['a', 'b', 'c'];
    const nodes = await Promise.all(labels.map((l) => startNode(l)));
    const memoryNodesOnly = await usedMemory(redis);

    // Load generators: loadgensPerNode per node, each with its own share of the node's clients.
    const groups = nodes.map((_, n) =>
      Array.from({ length: loadgensPerNode }, (_, i) => new Loadgen(n * loadgensPerNode + i)),
    );
    const shareOf = (i) => Math.floor(CLIENTS_PER_NODE / loadgensPerNode) + (i < CLIENTS_PER_NODE % loadgensPerNode ? 1 : 0);
    const connectGroup = (n) =>
      Promise.all(
        groups[n].map((lg, i) =>
          lg.call('connect', { url: nodes[n].url, count: shareOf(i), addresses: ADDRESSES, concurrency: 100 }),
        ),
      );

    let started = now();
    for (let n = 0; n < NODE_COUNT; n++) await connectGroup(n);
    const connectMs = now() - started;
    log(`${fmt(total)} clients connected in ${fmt(Math.round(connectMs))} ms`);
    await waitUntil(async () => (await clusterView(nodes[0]))?.clients === total, 'full cluster view', 30_000, 100);
    result.connect = { clients: total, ms: Math.round(connectMs), perSecond: Math.round(total / (connectMs / 1000)) };

    // 1. Memory per presence entry.
    const bare = await presenceMemory(redis, nodes);
    const memoryConnected = await usedMemory(redis);
    const allLoadgens = groups.flat();
    await Promise.all(allLoadgens.map((lg) => lg.call('subscribe', { topic: 'bench' })));
    await waitUntil(
      async () => (await redis.hget(`${PREFIX}node:${nodes[2].id}:clients`, (await redis.hrandfield(`${PREFIX}node:${nodes[2].id}:clients`)) ?? '')).includes('bench'),
      'subscriptions written',
      10_000,
    );
    await sleep(500);
    const subscribed = await presenceMemory(redis, nodes);
    const memorySubscribed = await usedMemory(redis);
    result.memory = {
      withoutSubscriptions: { ...bare, usedMemoryGrowthPerEntry: round((memoryConnected - memoryNodesOnly) / total) },
      withOneSubscription: { ...subscribed, usedMemoryGrowthPerEntry: round((memorySubscribed - memoryNodesOnly) / total) },
      usedMemory: { before: memoryBefore, nodesOnly: memoryNodesOnly, connected: memoryConnected, subscribed: memorySubscribed },
    };
    log(`presence: ${bare.bytesPerEntry} B/entry (${bare.encoding}), ${subscribed.bytesPerEntry} B/entry with one subscription`);

    // 2. Fan-out across nodes: a publisher on node A; 45,000 subscribers on A, B and C.
    const publisher = await new Promise((resolve, reject) => {
      const ws = new WebSocket(nodes[0].url, { perMessageDeflate: false });
      ws.on('message', (raw) => {
        if (JSON.parse(raw.toString()).event === 'welcome') resolve(ws);
      });
      ws.on('error', reject);
    });
    const runFanout = async (count, gapMs) => {
      await Promise.all(allLoadgens.map((lg) => lg.call('arm')));
      const first = now();
      for (let seq = 0; seq < count; seq++) {
        publisher.send(JSON.stringify({ event: 'publish', data: { topic: 'bench', data: { seq, t: now() } } }));
        if (gapMs > 0) await sleep(gapMs);
      }
      const expected = count * total;
      let received = 0;
      const deadline = Date.now() + 120_000;
      let last = first;
      let stats = [];
      // Poll the counters without collecting the latencies until everything is in.
      for (;;) {
        stats = await Promise.all(allLoadgens.map((lg) => lg.call('stats')));
        const fan = await Promise.all(allLoadgens.map((lg) => lg.call('count')));
        received = fan.reduce((s, f) => s + f.received, 0);
        if (received > 0) last = Math.max(last, ...fan.map((f) => f.lastAt));
        if (received >= expected || Date.now() > deadline) break;
        await sleep(50);
      }
      const collected = await Promise.all(allLoadgens.map((lg) => lg.call('fanout', { expected: count })));
      const latencies = collected.flatMap((c) => Array.from(c.latencies));
      const perNode = groups.map((g) => g.reduce((s, lg) => s + collected[allLoadgens.indexOf(lg)].received, 0));
      const seconds = (last - first) / 1000;
      return {
        messages: count,
        expectedDeliveries: expected,
        deliveries: received,
        clientsWithEveryMessageOnceInOrder: collected.reduce((sum, c) => sum + c.exact, 0),
        clients: collected.reduce((sum, c) => sum + c.clients, 0),
        perNode,
        seconds: round(seconds, 3),
        deliveriesPerSecond: Math.round(received / seconds),
        messagesPerSecond: round(count / seconds, 1),
        latencyMs: summary(latencies),
        unexpectedCloses: stats.reduce((s, x) => s + x.unexpectedCloses, 0),
      };
    };
    result.fanout = { burst: await runFanout(BURST, 0), paced: await runFanout(PACED, PACED_GAP_MS) };
    log(
      `fan-out burst: ${fmt(result.fanout.burst.deliveriesPerSecond)} deliveries/s, p50 ${result.fanout.burst.latencyMs.p50} ms; paced p50 ${result.fanout.paced.latencyMs.p50} ms, p99 ${result.fanout.paced.latencyMs.p99} ms`,
    );
    publisher.terminate();

    // 3. kill -9 rounds.
    const rounds = [];
    for (let k = 0; k < KILLS; k++) {
      const v = k % NODE_COUNT;
      const victim = nodes[v];
      const survivors = nodes.filter((_, i) => i !== v);
      const lostBefore = (await Promise.all(survivors.map((s) => metric(s, 'lifeline_disconnections_total', { reason: 'node_lost' })))).reduce((a, b) => a + b, 0);
      const expectedAfter = total - CLIENTS_PER_NODE;
      const leaseTtlAtKill = await redis.pttl(`${PREFIX}node:${victim.id}:lease`);

      const killedAt = now();
      victim.child.kill('SIGKILL');
      let viewMs;
      let reapedMs;
      let eventsMs;
      const deadline = Date.now() + TTL_MS * 3 + 10_000;
      while ((viewMs === undefined || reapedMs === undefined || eventsMs === undefined) && Date.now() < deadline) {
        const [views, exists, member] = await Promise.all([
          viewMs === undefined ? Promise.all(survivors.map((s) => clusterView(s).catch(() => undefined))) : null,
          reapedMs === undefined ? redis.exists(`${PREFIX}node:${victim.id}:clients`) : 0,
          reapedMs === undefined ? redis.sismember(`${PREFIX}nodes`, victim.id) : 0,
        ]);
        const t = now() - killedAt;
        if (views && views.every((x) => x && x.nodes === NODE_COUNT - 1 && x.clients === expectedAfter)) viewMs = t;
        if (reapedMs === undefined && exists === 0 && member === 0) reapedMs = t;
        if (reapedMs !== undefined && eventsMs === undefined) {
          const lost = (await Promise.all(survivors.map((s) => metric(s, 'lifeline_disconnections_total', { reason: 'node_lost' })))).reduce((a, b) => a + b, 0);
          if (lost - lostBefore >= CLIENTS_PER_NODE) eventsMs = now() - killedAt;
        }
        await sleep(10);
      }
      const lostAfter = (await Promise.all(survivors.map((s) => metric(s, 'lifeline_disconnections_total', { reason: 'node_lost' })))).reduce((a, b) => a + b, 0);
      await sleep(200); // the reaper's log line may trail its metric
      const reports = survivors.flatMap((s) => s.reaps.filter((x) => x.node === victim.id).map((x) => ({ ...x, by: s.id })));
      const round_ = {
        victim: victim.id,
        leaseTtlLeftAtKillMs: leaseTtlAtKill,
        viewCleanMs: round(viewMs),
        reapedMs: round(reapedMs),
        nodeLostEventsDoneMs: round(eventsMs),
        nodeLostEvents: lostAfter - lostBefore,
        reapers: reports.map((x) => ({ by: x.by, clients: x.clients, emitMs: x.emitMs, time: x.time })),
        reaperEmitMs: reports.find((x) => x.clients > 0)?.emitMs ?? null,
      };
      rounds.push(round_);
      log(`kill ${k + 1}/${KILLS} ${victim.id}: view clean ${fmt(round_.viewCleanMs)} ms, reaped ${fmt(round_.reapedMs)} ms, ${fmt(round_.nodeLostEvents)} node_lost events counted at ${fmt(round_.nodeLostEventsDoneMs)} ms (reapers ${JSON.stringify(round_.reapers)})`);

      // Bring the node back and reconnect its clients.
      await Promise.all(groups[v].map((lg) => lg.call('prune')));
      nodes[v] = await startNode(victim.label);
      await connectGroup(v);
      await waitUntil(async () => (await clusterView(nodes[(v + 1) % NODE_COUNT]))?.clients === total, 'cluster view after restart', 30_000, 100);
    }
    const pick = (key) => rounds.map((r) => r[key]).filter((x) => x !== null && x !== undefined);
    // A node whose lease lapsed while it was alive (a stall longer than the TTL allows) is
    // reaped like a dead one; count it, as those node_lost events were false alarms.
    const victims = new Set(rounds.map((x) => x.victim));
    result.stalls = {
      spuriousReaps: allNodes.flatMap((n) => n.reaps.filter((x) => !victims.has(x.node)).map((x) => ({ ...x, by: n.id }))),
      leaseLapses: Object.fromEntries(allNodes.filter((n) => n.lapses.length > 0).map((n) => [n.id, n.lapses.length])),
    };
    result.kills = {
      rounds,
      viewCleanMs: summary(pick('viewCleanMs')),
      reapedMs: summary(pick('reapedMs')),
      nodeLostEventsDoneMs: summary(pick('nodeLostEventsDoneMs')),
      reaperEmitMs: summary(pick('reaperEmitMs')),
      boundMs: TTL_MS + REFRESH_MS,
    };

    await Promise.all(allLoadgens.map((lg) => lg.call('closeAll')));
  } finally {
    killAll();
    await deleteKeys(redis).catch(() => undefined);
    await redis.quit().catch(() => undefined);
  }

  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
  log(`results: ${path.relative(ROOT, RESULTS)}`);
  if (!args['no-doc']) {
    writeDoc(result);
    log(`BENCHMARKS.md: Cluster section updated`);
  }
}

// ---------------------------------------------------------------------------
// BENCHMARKS.md: only between the cluster markers
// ---------------------------------------------------------------------------

function section(r) {
  const k = r.kills;
  const m = r.memory;
  const f = r.fanout;
  const env = r.environment;
  return `## Cluster (3 nodes on one Redis)

\`npm run bench:cluster\` (bench/cluster/run.js; it builds first): ${r.config.nodes} Lifeline nodes
(\`dist/main.js\`, \`LOG_LEVEL=warn\`) on one Redis, ${fmt(r.config.clientsPerNode)} WebSocket clients each,
${fmt(r.config.totalClients)} in all, held by ${Math.ceil(r.config.clientsPerNode / 7500) * r.config.nodes} load-generator processes on 127.0.0.x. \`NODE_TTL_MS=${r.config.nodeTtlMs}\`
(lease renewed and dead nodes looked for every ${r.config.refreshMs} ms). Run ${r.when.slice(0, 16).replace('T', ' ')} UTC on
${env.cpus} × ${env.cpuModel ?? 'CPU'}, ${env.memoryGb} GB, Node ${env.node}, Redis ${env.redis}: nodes, load
generators and Redis share the ${env.cpus} CPUs. Raw figures: \`bench/results/cluster-latest.json\`.

**kill -9 of a node holding ${fmt(r.config.clientsPerNode)} clients** (${k.rounds.length} kills, a different node in turn,
restarted and its clients reconnected between kills). Promise: within \`NODE_TTL_MS\` + one refresh
= ${fmt(k.boundMs)} ms.

| from kill -9 to | p50 | max |
|---|---:|---:|
| clean view on every survivor (\`/health\` \`details.cluster\` without its clients) | ${fmt(k.viewCleanMs.p50)} ms | ${fmt(k.viewCleanMs.max)} ms |
| its presence reaped (hash and membership gone, by one survivor) | ${fmt(k.reapedMs.p50)} ms | ${fmt(k.reapedMs.max)} ms |
| all its \`node_lost\` events counted in the survivors' \`/metrics\` (polled, so a little late) | ${fmt(k.nodeLostEventsDoneMs.p50)} ms | ${fmt(k.nodeLostEventsDoneMs.max)} ms |

The reaping survivor emitted the ${fmt(r.config.clientsPerNode)} \`node_lost\` events in ${fmt(k.reaperEmitMs.p50)} ms (p50; max ${fmt(k.reaperEmitMs.max)} ms),
by its own clock, after the atomic removal. Survivors that reaped, per kill: ${k.rounds.map((x) => x.reapers.filter((y) => y.clients > 0).length).join(', ')}.

Live nodes wrongly declared lost during the whole run: ${r.stalls.spuriousReaps.length}${r.stalls.spuriousReaps.length ? ` (${r.stalls.spuriousReaps.map((x) => `${x.node} by ${x.by}`).join(', ')})` : ''}; lease lapses noticed by
live nodes themselves: ${Object.keys(r.stalls.leaseLapses).length ? JSON.stringify(r.stalls.leaseLapses) : 'none'}. A node that cannot renew its lease for
\`NODE_TTL_MS\` (a stall: its own synchronous fan-out of a burst, or no CPU) is indistinguishable from a
dead one and is reaped; it re-registers at its next renewal. Keep \`NODE_TTL_MS\` well above the
longest stall you expect.

**Redis memory per presence entry** (a field of the node's hash, encoding \`${m.withoutSubscriptions.encoding}\`;
value e.g. \`${m.withOneSubscription.sample.value}\`):

| | \`MEMORY USAGE\` of the hashes / entries | growth of \`used_memory\` / clients |
|---|---:|---:|
| no subscription | ${m.withoutSubscriptions.bytesPerEntry} B | ${m.withoutSubscriptions.usedMemoryGrowthPerEntry} B |
| one subscription | ${m.withOneSubscription.bytesPerEntry} B | ${m.withOneSubscription.usedMemoryGrowthPerEntry} B |

${fmt(r.config.totalClients)} clients: ${fmt(Math.round(m.withOneSubscription.bytes / 1024 / 1024 * 10) / 10)} MB of presence. A field is the client id (36 bytes) and a JSON value
of about 60-70 bytes; the rest is the hash table's entry and the allocator's rounding (a short
subscription list often fits the same allocation class, hence equal figures).
Leases, the node set and the channels are a few hundred bytes per node.

**Publish fan-out across nodes**: one publisher on node A, every client subscribed to the topic
(${fmt(r.config.totalClients)} subscribers, two thirds of them on other nodes; one Redis \`PUBLISH\` per message,
each node delivers to its own subscribers, the origin skips its echo).

| | messages | deliveries (got / expected) | deliveries/s | latency min | p50 | p99 | max |
|---|---:|---:|---:|---:|---:|---:|---:|
| burst, back to back | ${f.burst.messages} | ${fmt(f.burst.deliveries)} / ${fmt(f.burst.expectedDeliveries)} | **${fmt(f.burst.deliveriesPerSecond)}** | ${f.burst.latencyMs.min} ms | ${f.burst.latencyMs.p50} ms | ${f.burst.latencyMs.p99} ms | ${f.burst.latencyMs.max} ms |
| paced, one every ${fmt(r.config.pacedGapMs)} ms | ${f.paced.messages} | ${fmt(f.paced.deliveries)} / ${fmt(f.paced.expectedDeliveries)} | – | ${f.paced.latencyMs.min} ms | ${f.paced.latencyMs.p50} ms | ${f.paced.latencyMs.p99} ms | ${f.paced.latencyMs.max} ms |

The burst gives the throughput: ${fmt(f.burst.deliveriesPerSecond)} deliveries/s over the three nodes (per node A, B, C:
${f.burst.perNode.map(fmt).join(', ')}; ${fmt(f.burst.clientsWithEveryMessageOnceInOrder)} of ${fmt(f.burst.clients)} clients got every message exactly once and in order,
${fmt(f.paced.clientsWithEveryMessageOnceInOrder)} of ${fmt(f.paced.clients)} in the paced series; ${f.burst.unexpectedCloses} unexpected closes); its latencies are
mostly queueing behind ${fmt(f.burst.expectedDeliveries)} sends. The paced series shows one message on an idle
cluster: its max is the time until the last of the ${fmt(r.config.totalClients)} subscribers has it. Latency is publish
to receipt at the client, with the load generators on the same ${env.cpus} CPUs as the nodes: the figures
are CPU-bound on this machine, not Redis-bound (one \`PUBLISH\` per message whatever the audience).
Connecting the ${fmt(r.connect.clients)} clients took ${fmt(r.connect.ms)} ms (${fmt(r.connect.perSecond)}/s, presence written on each connect).
`;
}

function writeDoc(result) {
  const block = `${START}\n${section(result)}${END}`;
  let doc = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : '';
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start >= 0 && end > start) {
    doc = doc.slice(0, start) + block + doc.slice(end + END.length);
  } else {
    doc = `${doc.replace(/\s*$/, '')}${doc.trim() ? '\n\n' : ''}${block}\n`;
  }
  fs.writeFileSync(DOC, doc);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    killAll();
    process.exit(1);
  },
);
