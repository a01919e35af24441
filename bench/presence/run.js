'use strict';
/**
 * Presence benchmark: 3 Lifeline nodes (dist/main.js) on one Redis, the
 * clients held by load-generator processes (bench/cluster/loadgen.js), never
 * by this process.
 *
 *   1. Join storm: MEMBERS users watch one topic (subscribe with presence:
 *      true), spread over the nodes; then STORM new users join within one
 *      second. Reported: diff frames sent (lifeline_presence_diff_frames_total
 *      over the nodes), bytes of presence frames received, server CPU per node
 *      during the storm (utime + stime), and the time from the first join until
 *      every member has seen the last join. Without batching each join would be
 *      one frame to every member: STORM x (MEMBERS + STORM/2) frames (the issue
 *      rounds it to MEMBERS x STORM).
 *   2. Muted users: MUTED users connect and never answer pings (the client's
 *      autoPong off); the time from their last sign of life (the connect) to
 *      their `user offline` log line, p50 / p99, against interval + timeout + grace.
 *
 *   node bench/presence/run.js (after npm run build) [--members=10000] [--storm=1000]
 *     [--muted=100] [--interval=5000] [--timeout=3000] [--grace=1000] [--batch=1000]
 *     [--ttl=10000] [--redis=redis://127.0.0.1:6379] [--run-timeout=600]
 *     [--logs=DIR] (each node's stdout in DIR/<id>.log) [--no-doc] [--report] (only rewrite BENCHMARKS.md from presence-latest.json)
 * Writes bench/results/presence-latest.json and the part of BENCHMARKS.md between
 * <!-- presence:start --> and <!-- presence:end -->. Everything it starts is killed on
 * exit; its Redis keys (a unique prefix) are deleted.
 */
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { Redis } = require('ioredis');
const { killAll, parseArgs, replaceSection, withTimeout } = require('../lib/harness');
const { ClusterNodes, deleteKeys, forkLoadgen, metric, sourceAddresses } = require('../lib/cluster-nodes');

const ROOT = path.join(__dirname, '..', '..');
const RESULTS = path.join(ROOT, 'bench', 'results', 'presence-latest.json');
const DOC = path.join(ROOT, 'BENCHMARKS.md');
const START = '<!-- presence:start -->';
const END = '<!-- presence:end -->';
const args = parseArgs();
const MEMBERS = Number(args.members ?? 10_000);
const STORM = Number(args.storm ?? 1000);
const MUTED = Number(args.muted ?? 100);
const INTERVAL_MS = Number(args.interval ?? 5000);
const TIMEOUT_MS = Number(args.timeout ?? 3000);
const GRACE_MS = Number(args.grace ?? 1000);
const BATCH_MS = Number(args.batch ?? 1000);
const TTL_MS = Number(args.ttl ?? 10_000);
const RUN_TIMEOUT_S = Number(args['run-timeout'] ?? 600);
const REDIS_URL = String(args.redis ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const SECRET = randomBytes(24).toString('hex');
const PREFIX = `lifeline:bench:${randomBytes(4).toString('hex')}:`;
const TOPIC = 'room';
const NODES = 3;
// Member load generators per node: each parses nothing but counts every presence byte it gets.
const MEMBER_LOADGENS_PER_NODE = 2;
// Members' subscribes in flight per load generator while the topic fills (see loadgen.js).
const SETUP_CONCURRENCY = Number(args['setup-concurrency'] ?? 10);
const ADDRESSES = sourceAddresses(50);
const log = (...parts) => console.log(`[presence-bench ${new Date().toISOString().slice(11, 19)}]`, ...parts);

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] : null);
const split = (total, parts) => Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

async function phase(name, boundMs, fn) {
  log(`${name}: start (bound ${Math.round(boundMs / 1000)} s)`);
  const started = Date.now();
  const out = await withTimeout(fn(), boundMs, name);
  log(`${name}: done in ${Date.now() - started} ms`);
  return out;
}

async function main() {
  const hardTimer = setTimeout(() => {
    log(`over ${RUN_TIMEOUT_S} s: giving up`);
    killAll();
    process.exit(2);
  }, RUN_TIMEOUT_S * 1000);
  hardTimer.unref();
  log(`members ${MEMBERS}, storm ${STORM}, muted ${MUTED}; interval ${INTERVAL_MS} timeout ${TIMEOUT_MS} grace ${GRACE_MS} batch ${BATCH_MS} ms; load ${os.loadavg()[0].toFixed(1)}`);
  const offline = new Map(); // userId -> time of its `user offline` line
  let failureShown = false;
  const cluster = new ClusterNodes({
    prefix: PREFIX,
    redisUrl: REDIS_URL,
    idPrefix: 'pbench',
    // info: the `user offline` line is what the muted users' figure is read from.
    logLevel: 'info',
    // --logs=DIR keeps each node's stdout (to read why a join failed after the run).
    logsDir: typeof args.logs === 'string' ? args.logs : undefined,
    env: {
      NODE_TTL_MS: String(TTL_MS),
      AUTH_MODE: 'jwt',
      AUTH_JWT_SECRET: SECRET,
      HEARTBEAT_INTERVAL_MS: String(INTERVAL_MS),
      HEARTBEAT_TIMEOUT_MS: String(TIMEOUT_MS),
      PRESENCE_GRACE_MS: String(GRACE_MS),
      PRESENCE_BATCH_MS: String(BATCH_MS),
      RATE_LIMIT_BURST: '1000',
    },
    onLine: (_node, line) => {
      if (!failureShown && line.includes('"message handler failed"')) {
        failureShown = true;
        log('first handler failure', line);
      }
      if (!line.includes('"user offline"')) return;
      try {
        const entry = JSON.parse(line);
        offline.set(entry.userId, entry.time);
      } catch {
        // not a JSON line
      }
    },
  });
  const redis = new Redis(REDIS_URL);
  try {
    const nodes = await phase('start nodes', 60_000, () => Promise.all(['a', 'b', 'c'].map((l) => cluster.start(l))));
    let lgIndex = 0;
    const members = nodes.map(() => Array.from({ length: MEMBER_LOADGENS_PER_NODE }, () => forkLoadgen(lgIndex++)));
    const joiners = nodes.map(() => forkLoadgen(lgIndex++));
    const muted = nodes.map(() => forkLoadgen(lgIndex++));
    const memberLoadgens = members.flat();

    // Members: user ids member-0 … member-(MEMBERS-1), a share per node and load generator.
    const perNode = split(MEMBERS, NODES);
    let from = 0;
    const connects = [];
    for (let n = 0; n < NODES; n++) {
      for (const [i, count] of split(perNode[n], MEMBER_LOADGENS_PER_NODE).entries()) {
        connects.push(members[n][i].call('connect', { url: nodes[n].url, count, addresses: ADDRESSES, users: { prefix: 'member-', from, secret: SECRET } }));
        from += count;
      }
    }
    await phase(`connect ${MEMBERS} members`, 60_000 + MEMBERS * 10, () => Promise.all(connects));
    // Every member learns every other one (snapshot or diffs): O(members²) bytes once, inherent to presence.
    const setup = await phase(`${MEMBERS} members subscribe with presence`, 120_000 + MEMBERS * 20, () =>
      Promise.all(memberLoadgens.map((lg) => lg.call('subscribe', { topic: TOPIC, presence: true, timeoutMs: 120_000, concurrency: SETUP_CONCURRENCY }))),
    );
    log(`  subscribed ${sum(setup.map((s) => s.subscribed))}, errors ${sum(setup.map((s) => s.errors))}, timed out ${sum(setup.map((s) => s.timedOut))}`);
    // The setup's own diffs (10,000 joins to up to 10,000 watchers, GBs in all) trail the last
    // subscribe reply by seconds on a loaded machine: wait until no presence byte has arrived
    // for three batch periods, or the storm would be measured together with the setup's tail.
    const quiet = await phase('setup diffs drained', 180_000, async () => {
      let last = -1;
      let stableSince = Date.now();
      for (;;) {
        const bytes = sum((await Promise.all(memberLoadgens.map((lg) => lg.call('presence')))).map((x) => x.bytes));
        if (bytes !== last) {
          last = bytes;
          stableSince = Date.now();
        } else if (Date.now() - stableSince >= BATCH_MS * 3) {
          return bytes;
        }
        await sleep(250);
      }
    });
    log(`  setup delivered ${(quiet / 2 ** 20).toFixed(0)} MB of presence diffs to the members (snapshots not counted)`);

    // The storm: STORM users connect first, then all join within one second.
    const stormPerNode = split(STORM, NODES);
    let stormFrom = 0;
    await phase(`connect ${STORM} joiners`, 60_000, () =>
      Promise.all(
        joiners.map((lg, n) => {
          const call = lg.call('connect', { url: nodes[n].url, count: stormPerNode[n], addresses: ADDRESSES, users: { prefix: 'storm-', from: stormFrom, secret: SECRET } });
          stormFrom += stormPerNode[n];
          return call;
        }),
      ),
    );
    // The needle: the last joiner's id, quoted, so storm-999 does not match storm-9990.
    const needle = `"storm-${STORM - 1}"`;
    await Promise.all([...memberLoadgens, ...joiners].map((lg) => lg.call('watch', { needle })));
    const framesBefore = sum(await Promise.all(nodes.map((n) => metric(n, 'lifeline_presence_diff_frames_total'))));
    const cpuBefore = nodes.map((n) => n.cpuMs());
    const stormAt = Date.now();
    const joined = await phase('storm', 60_000, () =>
      Promise.all(joiners.map((lg) => lg.call('subscribe', { topic: TOPIC, presence: true, spreadMs: 1000, timeoutMs: 30_000 }))),
    );
    const joinedMs = Date.now() - stormAt;
    const watchers = [...memberLoadgens, ...joiners];
    let stats;
    await phase('until everyone saw the last join', 60_000, async () => {
      for (;;) {
        stats = await Promise.all(watchers.map((lg) => lg.call('presence')));
        if (sum(stats.map((s) => s.saw)) >= sum(stats.map((s) => s.clients))) return;
        await sleep(50);
      }
    });
    const lastSeenAt = Math.max(...stats.map((s) => s.lastSawAt ?? 0));
    await sleep(BATCH_MS + 500); // the storm's last batches and their sends
    const cpu = nodes.map((n, i) => Math.round(n.cpuMs() - cpuBefore[i]));
    const framesAfter = sum(await Promise.all(nodes.map((n) => metric(n, 'lifeline_presence_diff_frames_total'))));
    stats = await Promise.all(watchers.map((lg) => lg.call('presence')));
    const clients = sum(stats.map((s) => s.clients));
    const storm = {
      members: MEMBERS,
      joins: STORM,
      joinedWithinMs: joinedMs,
      subscribeErrors: sum(joined.map((j) => j.errors)),
      subscribeTimeouts: sum(joined.map((j) => j.timedOut)),
      diffFrames: framesAfter - framesBefore,
      framesReceived: sum(stats.map((s) => s.frames)),
      bytes: sum(stats.map((s) => s.bytes)),
      seenBy: sum(stats.map((s) => s.saw)),
      ofClients: clients,
      lastJoinSeenByAllMs: lastSeenAt - stormAt,
      serverCpuMs: cpu,
      framesWithoutBatching: Math.round(STORM * (MEMBERS + STORM / 2)),
      framesWithoutBatchingIssue: STORM * MEMBERS,
    };
    log('storm', JSON.stringify(storm));
    await Promise.all([...memberLoadgens, ...joiners].map((lg) => lg.call('closeAll')));
    // Let the members' offline transitions pass before the muted users' figure is taken.
    await sleep(GRACE_MS + BATCH_MS + 2000);

    // Muted users: their connect is their last sign of life.
    const mutedPerNode = split(MUTED, NODES);
    let mutedFrom = 0;
    const connected = await phase(`connect ${MUTED} muted users`, 60_000, () =>
      Promise.all(
        muted.map((lg, n) => {
          const call = lg.call('connect', { url: nodes[n].url, count: mutedPerNode[n], addresses: ADDRESSES, autoPong: false, concurrency: 10, users: { prefix: 'muted-', from: mutedFrom, secret: SECRET } });
          mutedFrom += mutedPerNode[n];
          return call;
        }),
      ),
    );
    const connectedAt = new Map(connected.flatMap((c) => c.connectedAt));
    const bound = INTERVAL_MS + TIMEOUT_MS + GRACE_MS;
    const mutedOffline = () => [...offline].filter(([u]) => u.startsWith('muted-'));
    await phase('muted users offline', bound + 20_000, async () => {
      while (mutedOffline().length < MUTED) await sleep(50);
    });
    const times = mutedOffline()
      .map(([u, t]) => t - connectedAt.get(u))
      .sort((a, b) => a - b);
    const mutedResult = { users: MUTED, offline: times.length, minMs: times[0], p50Ms: pct(times, 50), p99Ms: pct(times, 99), maxMs: times[times.length - 1], boundMs: bound };
    log('muted', JSON.stringify(mutedResult));
    const result = {
      at: new Date().toISOString(),
      scale: `${MEMBERS} members + ${STORM} joins over ${NODES} nodes, clients in ${lgIndex} load-generator processes`,
      loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
      settings: { INTERVAL_MS, TIMEOUT_MS, GRACE_MS, BATCH_MS, TTL_MS },
      setup: { diffBytes: quiet, subscribed: sum(setup.map((s) => s.subscribed)), errors: sum(setup.map((s) => s.errors)), timedOut: sum(setup.map((s) => s.timedOut)), ms: Math.round(Math.max(...setup.map((s) => s.ms))) },
      storm,
      muted: mutedResult,
    };
    fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
    fs.writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
    log(`wrote ${path.relative(ROOT, RESULTS)}`);
    if (!args['no-doc']) writeDoc(result);
  } finally {
    killAll();
    await deleteKeys(redis, PREFIX).catch(() => undefined);
    await redis.quit().catch(() => undefined);
  }
}

const fmt = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'));
const mb = (bytes) => `${fmt(Math.round(bytes / 2 ** 20))} MB`;

function section(r) {
  const s = r.storm;
  const m = r.muted;
  const t = r.settings;
  const perClient = s.framesReceived / s.ofClients;
  return `## Presence (3 nodes on one Redis, 10,000 members)

\`node bench/presence/run.js\` (after \`npm run build\`; about 2½ minutes of both cores, so not part of
\`npm run bench\`; taken under \`flock /work/bench.lock\`, load average ${r.loadAverage?.[0] ?? '–'} at the end). Three Lifeline
nodes, the clients in ${r.scale.match(/(\d+) load-generator/)?.[1] ?? 'several'} load-generator processes (bench/cluster/loadgen.js; none in the runner).
Settings: heartbeat ${fmt(t.INTERVAL_MS)} / ${fmt(t.TIMEOUT_MS)} ms, grace ${fmt(t.GRACE_MS)} ms, batch ${fmt(t.BATCH_MS)} ms, \`NODE_TTL_MS\` ${fmt(t.TTL_MS)}.
Raw figures: \`bench/results/presence-latest.json\`. Run ${r.at.slice(0, 16).replace('T', ' ')} UTC.

**Setup** (not the measured part): ${fmt(s.members)} users connect (JWT \`sub\`), a third per node, and subscribe to one
topic with \`presence: true\` (${fmt(r.setup.subscribed)} subscribed, ${r.setup.errors} errors, ${r.setup.timedOut} timed out, in ${fmt(Math.round(r.setup.ms / 1000))} s, 20 replies in flight per
load generator). Every member must learn every other one, by snapshot or diff: O(members²) bytes,
inherent to presence with member lists (${mb(r.setup.diffBytes)} of diffs alone here, snapshots of up to ~500 KB each
on top). The storm starts once no presence byte has arrived for three batch periods.

**Join storm**: ${fmt(s.joins)} new users, already connected, subscribe with \`presence: true\` spread evenly over one
second (round-robin over the nodes).

| figure | value |
|---|---|
| presence diff frames sent (3 nodes, \`lifeline_presence_diff_frames_total\`) | **${fmt(s.diffFrames)}** (${perClient.toFixed(1)} per client; ${fmt(s.framesReceived)} received) |
| without batching (one frame per join per member) | ${fmt(s.framesWithoutBatching)} (${fmt(s.joins)} × (${fmt(s.members)} + ${fmt(s.joins / 2)})); the issue's round figure: ${fmt(s.framesWithoutBatchingIssue)} |
| bytes of presence frames received | ${mb(s.bytes)} (${fmt(Math.round(s.bytes / s.framesReceived))} B per frame) |
| server CPU during the storm, per node (user + system) | ${s.serverCpuMs.map(fmt).join(' / ')} ms |
| joins answered (\`subscribed\`) within | ${fmt(s.joinedWithinMs)} ms of the first (${s.subscribeErrors} errors, ${s.subscribeTimeouts} timeouts) |
| time from the first join until every client (${fmt(s.ofClients)}) has seen the last join | **${fmt(Math.round(s.lastJoinSeenByAllMs))} ms** (seen by ${fmt(s.seenBy)}) |

**Muted users**: ${fmt(m.users)} users connect and never answer a ping (the client's \`autoPong\` off). From their connect
(their last sign of life) to their \`user offline\` log line: min ${fmt(m.minMs)}, **p50 ${fmt(m.p50Ms)}, p99 ${fmt(m.p99Ms)}**, max ${fmt(m.maxMs)} ms,
against interval + timeout + grace = ${fmt(m.boundMs)} ms (${m.offline} of ${m.users} offline; the first ping comes at the next sweep, up
to one interval after the connect, hence the spread below the bound).
`;
}

function writeDoc(result) {
  replaceSection(DOC, START, END, section(result));
  log('BENCHMARKS.md: Presence section updated');
}

if (args.report) {
  writeDoc(JSON.parse(fs.readFileSync(RESULTS, 'utf8')));
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
