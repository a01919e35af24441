'use strict';
/**
 * Cluster benchmark: N Lifeline nodes (dist/main.js) on one Redis, the
 * clients held by load-generator processes (bench/cluster/loadgen.js, at most
 * --per-loadgen sockets each, source addresses spread over 127.0.0.x).
 *
 *   0. Connect every client (paced: --concurrency handshakes in flight per
 *      load generator): wall time, handshake time per client (p50/p99), heap
 *      and RSS per connection on each node (gc'd, before/after), open files.
 *   1. Redis memory per presence entry (MEMORY USAGE of the presence hashes,
 *      and the growth of used_memory), without and with one subscription each.
 *   2. Publish fan-out across nodes: every client subscribes to one topic; a
 *      publisher on node A publishes a burst, then a paced series; deliveries
 *      per second over the whole cluster and publish-to-delivery latency.
 *   3. kill -9 of a node, several rounds: time until the survivors' view is
 *      clean (its clients gone from GET /health details.cluster), until its
 *      presence keys are reaped, and until all its node_lost events were
 *      counted; then the node is restarted and its clients reconnect.
 * Every phase has a time bound; the whole run gives up after --timeout.
 *
 * Usage: npm run bench:cluster (builds first) -- [--nodes=3] [--clients=15000 | max]
 *   [--total=N]  N clients split over the nodes instead of --clients per node
 *   [--clients=max] as many per node as its 20,000 open files allow (measured)
 *   [--kills=5] [--ttl=10000] [--burst=20] [--paced=8] [--gap=2000] [--concurrency=50]
 *   [--per-loadgen=10000] [--timeout=900] [--redis=redis://127.0.0.1:6379]
 *   [--no-fanout] skip phase 2 (and the subscriptions' memory): the 100,000-client runs
 *   [--no-doc]   do not rewrite the Cluster section of BENCHMARKS.md
 *   [--logs=dir] keep each node's (warn-level) log in dir/<node id>.log
 *   [--profile=dir] CPU profile of node A while the clients connect
 *   [--report=a.json,b.json,…] only rewrite the Cluster section from these results
 *
 * Writes bench/results/cluster-<nodes>x<clients>.json and cluster-latest.json, and
 * the part of BENCHMARKS.md between <!-- cluster:start --> and <!-- cluster:end -->
 * (from the results listed in bench/results/cluster-runs.json, this run's replacing
 * the one of the same shape). Everything it starts is killed on exit; its Redis keys
 * (a unique prefix) are deleted.
 */
const { execFileSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
const { Redis } = require('ioredis');
const { WebSocket } = require('ws');
const { killAll, parseArgs, procCpuMs, replaceSection, withTimeout } = require('../lib/harness');
const { ClusterNodes, clusterView, deleteKeys, forkLoadgen, metric, sourceAddresses, usedMemory } = require('../lib/cluster-nodes');

const ROOT = path.join(__dirname, '..', '..');
const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
const RUNS = path.join(RESULTS_DIR, 'cluster-runs.json');
const DOC = path.join(ROOT, 'BENCHMARKS.md');
const START = '<!-- cluster:start -->';
const END = '<!-- cluster:end -->';

const args = parseArgs();
const NODE_COUNT = Number(args.nodes ?? 3);
const KILLS = Number(args.kills ?? 5);
const TTL_MS = Number(args.ttl ?? 10_000);
const REFRESH_MS = Math.floor(TTL_MS / 3);
const BURST = Number(args.burst ?? 20);
const PACED = Number(args.paced ?? 8);
const PACED_GAP_MS = Number(args.gap ?? 2000);
const CONCURRENCY = Number(args.concurrency ?? 50);
const REDIS_URL = String(args.redis ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const TIMEOUT_S = Number(args.timeout ?? 900);
// Sockets per load generator: each process may open 20,000 files; two per node at full scale.
const PER_LOADGEN = Number(args['per-loadgen'] ?? 10_000);
const FD_LIMIT = Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim());
// What a node keeps besides its clients' sockets (measured at start: ~24) plus this much
// headroom for the runner's /health and /metrics requests and the probe's own request.
const FD_HEADROOM = 60;
const ADDRESSES = sourceAddresses(50);
const PREFIX = `lifeline:bench:${randomBytes(4).toString('hex')}:`;
const LABELS = 'abcdefghij'.split('');

const now = () => performance.timeOrigin + performance.now();
const log = (...parts) => console.log(`[cluster-bench ${new Date().toISOString().slice(11, 19)}]`, ...parts);

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
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A phase of the run, bounded in time and logged. */
async function phase(name, boundMs, fn) {
  log(`${name}: start (bound ${fmt(Math.round(boundMs / 1000))} s)`);
  const started = now();
  const out = await withTimeout(fn(), boundMs, name);
  log(`${name}: done in ${fmt(Math.round(now() - started))} ms`);
  return out;
}

/**
 * Redis memory of presence: each client is a field of its node's hash (id -> JSON), each
 * subscription a field `<client id> <topic>` of the node's subscriptions hash.
 */
async function presenceMemory(redis, nodes) {
  let bytes = 0;
  let subscriptionBytes = 0;
  let entries = 0;
  let subscriptions = 0;
  const usage = async (key) => Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
  for (const node of nodes) {
    bytes += await usage(`${PREFIX}node:${node.id}:clients`);
    subscriptionBytes += await usage(`${PREFIX}node:${node.id}:subscriptions`);
    entries += await redis.hlen(`${PREFIX}node:${node.id}:clients`);
    subscriptions += await redis.hlen(`${PREFIX}node:${node.id}:subscriptions`);
  }
  const encoding = await redis.object('ENCODING', `${PREFIX}node:${nodes[0].id}:clients`);
  const sample = await redis.hrandfield(`${PREFIX}node:${nodes[0].id}:clients`, 1, 'WITHVALUES');
  const total = bytes + subscriptionBytes;
  return { entries, subscriptions, bytes: total, clientHashBytes: bytes, subscriptionHashBytes: subscriptionBytes, bytesPerEntry: round(total / entries), encoding, sample: { field: sample[0], value: sample[1] } };
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

async function main() {
  const hardTimer = setTimeout(() => {
    log(`over ${TIMEOUT_S} s: giving up`);
    killAll();
    process.exit(2);
  }, TIMEOUT_S * 1000);
  hardTimer.unref();

  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))[1];
  const reaps = new Map(); // node id -> its "node lost" reports
  const lapses = new Map(); // node id -> count of "lease had expired" lines
  const cluster = new ClusterNodes({
    prefix: PREFIX,
    redisUrl: REDIS_URL,
    idPrefix: 'bench',
    logLevel: 'warn',
    logsDir: args.logs ? String(args.logs) : undefined,
    env: {
      NODE_TTL_MS: String(TTL_MS),
      // The default keeps 100 + 2 % of the open-file limit in reserve (19,500 of 20,000) for
      // whatever else the process opens; here nothing else does, so the file limit decides.
      MAX_CLIENTS: String(FD_LIMIT - FD_HEADROOM),
      // One publisher sends bursts; the per-client rate limit is not what is measured here.
      RATE_LIMIT_PER_SEC: '1000000',
      RATE_LIMIT_BURST: '1000000',
    },
    // Warn-level JSON lines only; keep the reapers' "node lost" reports and lease lapses.
    onLine: (node, line) => {
      if (line.includes('"lease had expired')) lapses.set(node.id, (lapses.get(node.id) ?? 0) + 1);
      if (!line.includes('"node lost"')) return;
      try {
        reaps.set(node.id, [...(reaps.get(node.id) ?? []), JSON.parse(line)]);
      } catch {
        // not a JSON line
      }
    },
  });

  const result = {
    when: new Date().toISOString(),
    environment: {
      node: process.version,
      redis: redisVersion,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGb: round(os.totalmem() / 2 ** 30),
      openFileLimit: FD_LIMIT,
      loadAverageAtStart: os.loadavg().map((x) => round(x, 2)),
    },
  };

  try {
    const memoryBefore = await usedMemory(redis);
    const nodes = await phase('start nodes', 60_000, () => Promise.all(LABELS.slice(0, NODE_COUNT).map((l) => cluster.start(l))));
    const memoryNodesOnly = await usedMemory(redis);

    // Clients per node: fixed, split from a total, or as many as the node's open-file limit allows.
    const baseFiles = Math.max(...nodes.map((n) => n.openFiles() ?? 0));
    const maxPerNode = FD_LIMIT - baseFiles - FD_HEADROOM;
    const perNode = nodes.map((_, n) => {
      if (args.total) return Math.floor(Number(args.total) / NODE_COUNT) + (n < Number(args.total) % NODE_COUNT ? 1 : 0);
      if (args.clients === 'max') return maxPerNode;
      return Number(args.clients ?? 15_000);
    });
    if (Math.max(...perNode) > maxPerNode) throw new Error(`${Math.max(...perNode)} clients per node do not fit in ${FD_LIMIT} open files (at most ${maxPerNode})`);
    const total = perNode.reduce((a, b) => a + b, 0);
    const loadgensPerNode = Math.ceil(Math.max(...perNode) / PER_LOADGEN);
    result.config = {
      nodes: NODE_COUNT,
      clientsPerNode: perNode,
      totalClients: total,
      fdLimitPerProcess: FD_LIMIT,
      nodeOpenFilesAtStart: baseFiles,
      maxClientsPerNode: maxPerNode,
      maxClientsSetting: FD_LIMIT - FD_HEADROOM,
      loadgens: loadgensPerNode * NODE_COUNT,
      concurrencyPerLoadgen: CONCURRENCY,
      nodeTtlMs: TTL_MS,
      refreshMs: REFRESH_MS,
      kills: KILLS,
      burst: BURST,
      paced: PACED,
      pacedGapMs: PACED_GAP_MS,
    };
    log(`prefix ${PREFIX}, ${NODE_COUNT} nodes, clients ${perNode.map(fmt).join(' + ')} = ${fmt(total)}, ${loadgensPerNode} load generators per node, ${baseFiles} files open per idle node (limit ${FD_LIMIT}: at most ${fmt(maxPerNode)} clients), TTL ${TTL_MS} ms`);

    // Load generators: loadgensPerNode per node, each with its own share of the node's clients.
    const groups = nodes.map((_, n) => Array.from({ length: loadgensPerNode }, (_, i) => forkLoadgen(n * loadgensPerNode + i)));
    const allLoadgens = groups.flat();
    const shareOf = (n, i) => Math.floor(perNode[n] / loadgensPerNode) + (i < perNode[n] % loadgensPerNode ? 1 : 0);
    const connectGroup = (n) =>
      Promise.all(groups[n].map((lg, i) => lg.call('connect', { url: nodes[n].url, count: shareOf(n, i), addresses: ADDRESSES, concurrency: CONCURRENCY })));

    // 0. Connect everything, pacing by the handshakes in flight; memory before and after.
    const memBefore = await Promise.all(nodes.map((n) => n.snapshot(true)));
    if (args.profile) await nodes[0].rpc.request('cpu-profile-start', {});
    const cpuBefore = nodes.map((n) => n.cpuMs());
    const loadgenCpuBefore = allLoadgens.map((lg) => procCpuMs(lg.child.pid));
    const started = now();
    const progress = setInterval(() => {
      clusterView(nodes[0])
        .then((v) => log(`  connecting: ${fmt(v?.clients)} of ${fmt(total)} in the cluster view, load ${os.loadavg()[0].toFixed(1)}`))
        .catch(() => undefined);
    }, 10_000);
    let connected;
    try {
      // A handshake costs a few ms of CPU on each side; allow 5 ms per client on top of a minute.
      connected = await phase(`connect ${fmt(total)}`, 60_000 + total * 5, () => Promise.all(nodes.map((_, n) => connectGroup(n))));
    } finally {
      clearInterval(progress);
    }
    const connectMs = now() - started;
    const cpuConnect = nodes.map((n, i) => n.cpuMs() - cpuBefore[i]);
    if (args.profile) {
      const file = path.resolve(String(args.profile), `connect-${nodes[0].id}.cpuprofile`);
      await nodes[0].rpc.request('cpu-profile-stop', { path: file });
      log(`CPU profile of ${nodes[0].id} while connecting: ${file}`);
    }
    const loadgenCpu = allLoadgens.reduce((sum, lg, i) => sum + procCpuMs(lg.child.pid) - loadgenCpuBefore[i], 0);
    await phase('full cluster view', 60_000, () => waitUntil(async () => (await clusterView(nodes[0]))?.clients === total, 'full cluster view', 60_000, 200));
    const handshakes = summary(connected.flat().flatMap((c) => Array.from(c.handshakeMs)));
    const memAfter = await Promise.all(nodes.map((n) => n.snapshot(true)));
    const loadgenStats = await Promise.all(allLoadgens.map((lg) => lg.call('stats')));
    result.connect = {
      clients: total,
      ms: Math.round(connectMs),
      perSecond: Math.round(total / (connectMs / 1000)),
      failedAttempts: connected.flat().reduce((s, c) => s + c.failures, 0),
      // CPU (user + system) per handshake: what the wall time would be on idle cores.
      nodeCpuMsPerClient: nodes.map((_, i) => round(cpuConnect[i] / perNode[i], 3)),
      loadgenCpuMsPerClient: round(loadgenCpu / total, 3),
      handshakeMs: handshakes,
      loadAverage: os.loadavg().map((x) => round(x, 2)),
    };
    result.nodes = nodes.map((n, i) => ({
      id: n.id,
      clients: memAfter[i].count,
      openFiles: n.openFiles(),
      heapBytesPerClient: Math.round((memAfter[i].memory.heapUsed - memBefore[i].memory.heapUsed) / perNode[i]),
      rssBytesPerClient: Math.round((memAfter[i].memory.rss - memBefore[i].memory.rss) / perNode[i]),
      heapUsedMb: round(memAfter[i].memory.heapUsed / 2 ** 20),
      rssMb: round(memAfter[i].memory.rss / 2 ** 20),
      idle: { heapUsedMb: round(memBefore[i].memory.heapUsed / 2 ** 20), rssMb: round(memBefore[i].memory.rss / 2 ** 20) },
    }));
    result.loadgens = {
      maxOpenFiles: Math.max(...loadgenStats.map((s) => s.openFiles)),
      maxRssMb: round(Math.max(...loadgenStats.map((s) => s.rssBytes)) / 2 ** 20),
    };
    log(`${fmt(total)} clients connected in ${fmt(Math.round(connectMs))} ms (${fmt(result.connect.perSecond)}/s); CPU per handshake: nodes ${result.connect.nodeCpuMsPerClient.join(' / ')} ms, load generators ${result.connect.loadgenCpuMsPerClient} ms; handshake p50 ${handshakes.p50} ms, p99 ${handshakes.p99} ms, max ${handshakes.max} ms; ${result.connect.failedAttempts} failed attempts`);
    for (const n of result.nodes) log(`  ${n.id}: ${fmt(n.clients)} clients, ${fmt(n.openFiles)} open files, heap ${fmt(n.heapBytesPerClient)} B/client, RSS ${fmt(n.rssBytesPerClient)} B/client`);

    // 1. Memory per presence entry.
    const bare = await presenceMemory(redis, nodes);
    const memoryConnected = await usedMemory(redis);
    result.memory = {
      withoutSubscriptions: { ...bare, usedMemoryGrowthPerEntry: round((memoryConnected - memoryNodesOnly) / total) },
      usedMemory: { before: memoryBefore, nodesOnly: memoryNodesOnly, connected: memoryConnected },
    };
    log(`presence: ${bare.bytesPerEntry} B/entry (${bare.encoding}); used_memory ${fmt(memoryConnected)} B`);
    // --no-fanout: the subscriptions and the fan-out (minutes at 100,000 on 2 cores) are skipped.
    if (!args['no-fanout']) await subscribeAndFanout();
    async function subscribeAndFanout() {
      await phase('subscribe all', 120_000 + total * 2, () => Promise.all(allLoadgens.map((lg) => lg.call('subscribe', { topic: 'bench' }))));
      await waitUntil(
        async () => (await Promise.all(nodes.map((n) => redis.hlen(`${PREFIX}node:${n.id}:subscriptions`)))).every((x, i) => x === perNode[i]),
        'subscriptions written',
        60_000,
        200,
      );
      await sleep(1000);
      const subscribed = await presenceMemory(redis, nodes);
      const memorySubscribed = await usedMemory(redis);
      result.memory.withOneSubscription = { ...subscribed, usedMemoryGrowthPerEntry: round((memorySubscribed - memoryNodesOnly) / total) };
      result.memory.usedMemory.subscribed = memorySubscribed;
      log(`presence: ${bare.bytesPerEntry} B/entry (${bare.encoding}), ${subscribed.bytesPerEntry} B/entry with one subscription; used_memory ${fmt(memorySubscribed)} B`);

      // 2. Fan-out across nodes: a publisher on node A; every client subscribed on every node.
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
        let lastAt = first;
        let stats = [];
        // Poll the counters without collecting the latencies until everything is in.
        for (;;) {
          stats = await Promise.all(allLoadgens.map((lg) => lg.call('stats')));
          const fan = await Promise.all(allLoadgens.map((lg) => lg.call('count')));
          received = fan.reduce((s, f) => s + f.received, 0);
          if (received > 0) lastAt = Math.max(lastAt, ...fan.map((f) => f.lastAt));
          if (received >= expected || Date.now() > deadline) break;
          await sleep(50);
        }
        const collected = await Promise.all(allLoadgens.map((lg) => lg.call('fanout', { expected: count })));
        const latencies = collected.flatMap((c) => Array.from(c.latencies));
        const perNodeGot = groups.map((g) => g.reduce((s, lg) => s + collected[allLoadgens.indexOf(lg)].received, 0));
        const seconds = (lastAt - first) / 1000;
        return {
          messages: count,
          expectedDeliveries: expected,
          deliveries: received,
          clientsWithEveryMessageOnceInOrder: collected.reduce((sum, c) => sum + c.exact, 0),
          clients: collected.reduce((sum, c) => sum + c.clients, 0),
          perNode: perNodeGot,
          seconds: round(seconds, 3),
          deliveriesPerSecond: Math.round(received / seconds),
          messagesPerSecond: round(count / seconds, 1),
          latencyMs: summary(latencies),
          unexpectedCloses: stats.reduce((s, x) => s + x.unexpectedCloses, 0),
        };
      };
      result.fanout = await phase('fan-out', 300_000, async () => ({ burst: await runFanout(BURST, 0), paced: await runFanout(PACED, PACED_GAP_MS) }));
      log(
        `fan-out burst: ${fmt(result.fanout.burst.deliveriesPerSecond)} deliveries/s, p50 ${result.fanout.burst.latencyMs.p50} ms; paced p50 ${result.fanout.paced.latencyMs.p50} ms, p99 ${result.fanout.paced.latencyMs.p99} ms`,
      );
      publisher.terminate();
    }

    // 3. kill -9 rounds.
    const rounds = [];
    const killTimes = new Map(); // node id -> epoch ms of its kill -9
    const lostOn = async (survivors) =>
      (await Promise.all(survivors.map((s) => metric(s, 'lifeline_disconnections_total', { reason: 'node_lost' })))).reduce((a, b) => a + b, 0);
    for (let k = 0; k < KILLS; k++) {
      const v = k % NODE_COUNT;
      const victim = nodes[v];
      const survivors = nodes.filter((_, i) => i !== v);
      const round_ = await phase(`kill ${k + 1}/${KILLS} (${victim.id})`, TTL_MS * 3 + 60_000 + perNode[v] * 5, async () => {
        const lostBefore = await lostOn(survivors);
        const expectedAfter = total - perNode[v];
        const leaseTtlAtKill = await redis.pttl(`${PREFIX}node:${victim.id}:lease`);

        const killedAt = now();
        killTimes.set(victim.id, Date.now());
        victim.kill9();
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
            if ((await lostOn(survivors)) - lostBefore >= perNode[v]) eventsMs = now() - killedAt;
          }
          await sleep(10);
        }
        const lostAfter = await lostOn(survivors);
        await sleep(200); // the reaper's log line may trail its metric
        // Only reaps after this kill: a stalled node may have been reaped (wrongly) before.
        const reports = survivors.flatMap((s) =>
          (reaps.get(s.id) ?? []).filter((x) => x.node === victim.id && x.time >= killTimes.get(victim.id)).map((x) => ({ ...x, by: s.id })),
        );
        return {
          victim: victim.id,
          clients: perNode[v],
          leaseTtlLeftAtKillMs: leaseTtlAtKill,
          viewCleanMs: round(viewMs),
          reapedMs: round(reapedMs),
          nodeLostEventsDoneMs: round(eventsMs),
          nodeLostEvents: lostAfter - lostBefore,
          reapers: reports.map((x) => ({ by: x.by, clients: x.clients, emitMs: x.emitMs, time: x.time })),
          reaperEmitMs: reports.find((x) => x.clients > 0)?.emitMs ?? null,
        };
      });
      rounds.push(round_);
      log(`  view clean ${fmt(round_.viewCleanMs)} ms, reaped ${fmt(round_.reapedMs)} ms, ${fmt(round_.nodeLostEvents)} node_lost events counted at ${fmt(round_.nodeLostEventsDoneMs)} ms (reapers ${JSON.stringify(round_.reapers)})`);

      // Bring the node back and reconnect its clients (not after the last kill: the run ends).
      if (k === KILLS - 1) break;
      const restartedAt = now();
      await phase(`restart ${victim.label} and reconnect ${fmt(perNode[v])}`, 60_000 + perNode[v] * 10, async () => {
        await Promise.all(groups[v].map((lg) => lg.call('prune')));
        nodes[v] = await cluster.start(victim.label);
        await connectGroup(v);
        await waitUntil(async () => (await clusterView(nodes[(v + 1) % NODE_COUNT]))?.clients === total, 'cluster view after restart', 60_000, 200);
      });
      round_.restartAndReconnectMs = Math.round(now() - restartedAt);
    }
    const pick = (key) => rounds.map((r) => r[key]).filter((x) => x !== null && x !== undefined);
    // A node whose lease lapsed while it was alive (a stall longer than the TTL allows) is
    // reaped like a dead one; count it, as those node_lost events were false alarms.
    result.stalls = {
      spuriousReaps: [...reaps].flatMap(([by, list]) =>
        list.filter((x) => !killTimes.has(x.node) || x.time < killTimes.get(x.node)).map((x) => ({ ...x, by })),
      ),
      leaseLapses: Object.fromEntries(lapses),
    };
    result.kills = {
      rounds,
      viewCleanMs: summary(pick('viewCleanMs')),
      reapedMs: summary(pick('reapedMs')),
      nodeLostEventsDoneMs: summary(pick('nodeLostEventsDoneMs')),
      reaperEmitMs: summary(pick('reaperEmitMs')),
      boundMs: TTL_MS + REFRESH_MS,
    };
    result.loadAverageAtEnd = os.loadavg().map((x) => round(x, 2));
    await Promise.all(allLoadgens.map((lg) => lg.call('closeAll')));
  } finally {
    killAll();
    await deleteKeys(redis, PREFIX).catch(() => undefined);
    await redis.quit().catch(() => undefined);
  }

  const name = `cluster-${NODE_COUNT}x${result.config.clientsPerNode[0]}.json`;
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  for (const file of [name, 'cluster-latest.json']) fs.writeFileSync(path.join(RESULTS_DIR, file), `${JSON.stringify(result, null, 2)}\n`);
  log(`results: bench/results/${name} (and cluster-latest.json)`);
  if (!args['no-doc']) {
    const runs = fs.existsSync(RUNS) ? JSON.parse(fs.readFileSync(RUNS, 'utf8')) : [];
    if (!runs.includes(name)) runs.push(name);
    fs.writeFileSync(RUNS, `${JSON.stringify(runs, null, 2)}\n`);
    writeDoc(runs);
    log(`BENCHMARKS.md: Cluster section updated from ${runs.join(', ')}`);
  }
}

// ---------------------------------------------------------------------------
// BENCHMARKS.md: only between the cluster markers
// ---------------------------------------------------------------------------

const mb = (bytes) => `${fmt(round(bytes / 2 ** 20))} MB`;
const range = (values) => (values.length ? `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}` : '–');
const pm = (s) => (s && s.n ? `${fmt(s.p50)} / ${fmt(s.max)} ms` : '–');

function column(r) {
  const c = r.config;
  const k = r.kills;
  const m = r.memory;
  const f = r.fanout;
  const one = m.withOneSubscription;
  const nodes = r.nodes ?? [];
  const same = new Set(c.clientsPerNode).size === 1;
  return {
    head: same ? `${c.nodes} nodes × ${fmt(c.clientsPerNode[0])}` : `${c.nodes} nodes × ${fmt(Math.min(...c.clientsPerNode))}–${fmt(Math.max(...c.clientsPerNode))}`,
    rows: [
      ['clients in all', `**${fmt(c.totalClients)}**`],
      ['load generators (clients each, at most)', `${c.loadgens} (${fmt(Math.ceil(Math.max(...c.clientsPerNode) / (c.loadgens / c.nodes)))})`],
      ['connect all: wall time (rate)', `**${fmt(Math.round(r.connect.ms / 100) / 10)} s** (${fmt(r.connect.perSecond)}/s)`],
      ['handshake, socket to `welcome`: p50 / p99 / max', `${fmt(r.connect.handshakeMs.p50)} / ${fmt(r.connect.handshakeMs.p99)} / ${fmt(r.connect.handshakeMs.max)} ms`],
      ['CPU per handshake: each node / load generators', r.connect.nodeCpuMsPerClient ? `${r.connect.nodeCpuMsPerClient.join(' / ')} / ${r.connect.loadgenCpuMsPerClient} ms` : '–'],
      ['failed connect attempts (retried)', fmt(r.connect.failedAttempts)],
      ['open files per node, connected (limit)', `${range(nodes.map((n) => n.openFiles))} (${fmt(c.fdLimitPerProcess)})`],
      ['open files per load generator, max', fmt(r.loadgens.maxOpenFiles)],
      ['heap per connection per node (gc\'d)', `${nodes.map((n) => fmt(n.heapBytesPerClient)).join(' / ')} B`],
      ['RSS per connection per node', `${nodes.map((n) => fmt(n.rssBytesPerClient)).join(' / ')} B`],
      ['node heap / RSS, connected', `${range(nodes.map((n) => n.heapUsedMb))} / ${range(nodes.map((n) => n.rssMb))} MB`],
      ['Redis: presence per client, `MEMORY USAGE` of the hashes (no / one subscription)', `${m.withoutSubscriptions.bytesPerEntry} / ${one ? one.bytesPerEntry : '–'} B`],
      ['Redis: `used_memory` growth per client (no / one subscription)', `${m.withoutSubscriptions.usedMemoryGrowthPerEntry} / ${one ? one.usedMemoryGrowthPerEntry : '–'} B`],
      ['Redis: `used_memory`, all connected', mb(m.usedMemory.connected)],
      [`kill -9 → clean view on every survivor: p50 / max (${k.rounds.length} kills)`, `**${pm(k.viewCleanMs)}**`],
      ['kill -9 → its presence keys reaped: p50 / max', pm(k.reapedMs)],
      ['kill -9 → all its `node_lost` events counted: p50 / max', pm(k.nodeLostEventsDoneMs)],
      ['`node_lost` events per kill (its clients)', k.rounds.map((x) => `${fmt(x.nodeLostEvents)} (${fmt(x.clients ?? c.clientsPerNode[0])})`).join(', ')],
      ['reaper: emitting them, p50 / max', pm(k.reaperEmitMs)],
      ['restart of the killed node + its clients reconnected', k.rounds.filter((x) => x.restartAndReconnectMs).map((x) => `${fmt(Math.round(x.restartAndReconnectMs / 100) / 10)} s`).join(', ') || '–'],
      ['promise: `NODE_TTL_MS` + one refresh', `${fmt(k.boundMs)} ms`],
      ['live nodes wrongly reaped / lease lapses', `${r.stalls.spuriousReaps.length} / ${Object.values(r.stalls.leaseLapses).reduce((a, b) => a + b, 0)}`],
      [`fan-out burst (${f ? f.burst.messages : '–'} messages): deliveries/s`, f ? `${fmt(f.burst.deliveriesPerSecond)} (${fmt(f.burst.deliveries)} / ${fmt(f.burst.expectedDeliveries)})` : 'not run'],
      ['fan-out burst: latency p50 / p99', f ? `${fmt(f.burst.latencyMs.p50)} / ${fmt(f.burst.latencyMs.p99)} ms` : '–'],
      [`fan-out paced (one every ${fmt(c.pacedGapMs)} ms): p50 / p99 / max`, f ? `${fmt(f.paced.latencyMs.p50)} / ${fmt(f.paced.latencyMs.p99)} / ${fmt(f.paced.latencyMs.max)} ms` : '–'],
      ['clients with every message once, in order (burst / paced)', f ? `${fmt(f.burst.clientsWithEveryMessageOnceInOrder)} / ${fmt(f.paced.clientsWithEveryMessageOnceInOrder)} of ${fmt(f.burst.clients)}` : '–'],
      ['load average at start / after connecting / at end', `${r.environment.loadAverageAtStart?.[0] ?? '–'} / ${r.connect.loadAverage?.[0] ?? '–'} / ${r.loadAverageAtEnd?.[0] ?? '–'}`],
      ['run (UTC)', r.when.slice(0, 16).replace('T', ' ')],
    ],
  };
}

function section(results) {
  const cols = results.map(column);
  const env = results[0].environment;
  const fd = results.map((r) => r.config).find((c) => c.maxClientsPerNode) ?? results[0].config;
  const table = [
    `| | ${cols.map((c) => c.head).join(' | ')} |`,
    `|---|${cols.map(() => '---:').join('|')}|`,
    ...cols[0].rows.map((row, i) => `| ${row[0]} | ${cols.map((c) => c.rows[i][1]).join(' | ')} |`),
  ].join('\n');
  return `## Cluster (up to 100,000 clients on one Redis)

\`npm run bench:cluster -- …\` (bench/cluster/run.js; it builds first): Lifeline nodes (\`dist/main.js\`,
\`LOG_LEVEL=warn\`, \`NODE_TTL_MS=${fmt(results[0].config.nodeTtlMs)}\`: lease renewed and dead nodes looked for every ${fmt(results[0].config.refreshMs)} ms)
on one Redis, the clients held by load-generator processes (two per node, source addresses spread
over 127.0.0.2–51), ${env.cpus} × ${env.cpuModel ?? 'CPU'}, ${env.memoryGb} GB, Node ${env.node}, Redis ${env.redis}: nodes, load
generators, Redis and the runner share the ${env.cpus} CPUs, so every phase is CPU-bound on this machine.
Each run was taken under \`flock /work/bench.lock\` (nothing else heavy at the same time).
Raw figures: ${results.map((r) => `\`bench/results/cluster-${r.config.nodes}x${r.config.clientsPerNode[0]}.json\``).join(', ')}.

**Why 5 × ${fmt(fd.maxClientsPerNode)} and not 5 × 20,000.** Every process here may open ${fmt(fd.fdLimitPerProcess)} files, and a
node's clients are one socket each. An idle node already holds ${fd.nodeOpenFilesAtStart} descriptors (stdio, the probe's IPC,
epoll/eventfd pairs of the event loop and its threads, the listening socket, its Redis connections,
the HTTP connections of /health and /metrics); the runner keeps ${FD_HEADROOM} more free for its own requests, so a
node can hold ${fmt(fd.fdLimitPerProcess)} − ${fd.nodeOpenFilesAtStart} − ${FD_HEADROOM} = **${fmt(fd.maxClientsPerNode)}** clients, and 5 nodes **${fmt(fd.maxClientsPerNode * 5)}**.
100,000 over 5 nodes is 20,000 per node, more than a process may open: the run with 100,000 uses 6
nodes (16,667 / 16,666 each). Both are below: \`--nodes=5 --clients=max\` and \`--nodes=6 --total=100000\`.
Lifeline's default \`MAX_CLIENTS\` (open-file limit − (100 + 2 %) = ${fmt(fd.fdLimitPerProcess - 100 - Math.ceil(fd.fdLimitPerProcess * 0.02))} here) would stop each node
at that and answer 503 to the rest (${fmt((fd.fdLimitPerProcess - 100 - Math.ceil(fd.fdLimitPerProcess * 0.02)) * 5)} on 5 nodes): that reserve is for whatever else an
application opens; these nodes open nothing else, so the bench sets \`MAX_CLIENTS=${fmt(fd.maxClientsSetting ?? fd.fdLimitPerProcess - FD_HEADROOM)}\`
and the file limit decides.

${table}

How to read it. *Handshake* is per client, from \`new WebSocket\` in the load generator to Lifeline's
\`welcome\` frame (upgrade, auth, registration, presence \`HSET\` on Redis); with ${results[0].config.concurrencyPerLoadgen} handshakes in flight
per load generator and both CPUs saturated, it is mostly queueing: the wall time divided by the
clients is the real cost. *Heap/RSS per connection* are each node's \`process.memoryUsage()\` after a
forced gc, connected minus idle, divided by its clients (the load generators' side is not included).
*kill -9 → clean view*: a node is \`kill -9\`ed with its clients connected; the survivors' \`/health\`
(\`details.cluster\`) is polled until none of them counts it or its clients; *reaped* is when its hash
and its membership of the node set are gone from Redis (one survivor removes them atomically and
emits one \`node_lost\` disconnect per client, counted in the survivors' \`/metrics\`). The node is
restarted and its clients reconnect between kills (a different node each time). The fan-out rows
send every message to every client (one \`PUBLISH\` per message, each node delivers to its own).
`;
}

function writeDoc(runs) {
  const results = runs.map((file) => JSON.parse(fs.readFileSync(path.join(RESULTS_DIR, file), 'utf8')));
  replaceSection(DOC, START, END, section(results));
}

if (args.report) {
  const runs = String(args.report).split(',');
  writeDoc(runs);
  log(`BENCHMARKS.md: Cluster section rebuilt from ${runs.join(', ')}`);
  process.exit(0);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    killAll();
    process.exit(1);
  },
);
