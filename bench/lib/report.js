'use strict';
/** Markdown tables, target checks and BENCHMARKS.md from a results object. */
const { BASELINE, SERVERS } = require('./servers');

const label = (id) => SERVERS.find((s) => s.id === id)?.label ?? id;

function num(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(v)) return 'n/a';
  if (!Number.isFinite(v)) return '∞';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "value (r×)" with the ratio to the baseline server's value. */
function withRatio(value, base, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return 'n/a';
  if (base === null || base === undefined || !Number.isFinite(base) || base === 0 || !Number.isFinite(value)) {
    return num(value, digits);
  }
  return `${num(value, digits)} (${(value / base).toFixed(2)}×)`;
}

function table(headers, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

/** Rows for the servers that produced a result, in run order; failed ones say so. */
function rowsFor(scenario, results, build) {
  const byServer = results.scenarios[scenario];
  if (!byServer) return [];
  const base = byServer[BASELINE]?.result;
  return Object.entries(byServer).map(([id, entry]) =>
    entry.error ? [label(id), `failed: ${String(entry.error).split('\n')[0].slice(0, 120)}`] : [label(id), ...build(entry.result, base, id)],
  );
}

function idleTable(results) {
  const n = firstResult(results, 'idle')?.n;
  const rows = rowsFor('idle', results, (r, b) => [
    withRatio(r.handshake.rate, b?.handshake.rate, 0),
    `${num(r.handshake.serverCpuPercent, 0)}% / ${num(r.handshake.loadgenCpuPercent, 0)}%`,
    `${num(r.handshake.latencyMs.p50, 1)} / ${num(r.handshake.latencyMs.p99, 1)}`,
    withRatio(r.handshake.cpuPerHandshakeUs, b?.handshake.cpuPerHandshakeUs, 0),
    withRatio(r.memory.heapPerConnKB, b?.memory.heapPerConnKB, 2),
    withRatio(r.memory.rssPerConnKB, b?.memory.rssPerConnKB, 2),
    withRatio(r.heartbeat.cpuPerClientPerBeatUs, b?.heartbeat.cpuPerClientPerBeatUs, 2),
    `${num(r.eventLoopDelayMs.p50, 2)} / ${num(r.eventLoopDelayMs.p99, 2)} / ${num(r.eventLoopDelayMs.max, 1)}`,
  ]);
  if (!rows.length) return '';
  const agg = Object.values(results.scenarios.idle).find((e) => e.aggregate)?.aggregate;
  return [
    `### Idle: ${num(n, 0)} connections`,
    '',
    `${agg ? `Every figure is the ${agg} per server, interleaved across servers (each run in the JSON). ` : ''}` +
      'Handshakes: a server whose heartbeat interval outlasts the phase; "CPU server / load gen" is the share of one core each used during the connects (the load generators share one core: near 100% means they, not the server, set the rate). ' +
      'Heap, RSS and heartbeat CPU: a second server with the short heartbeat, after two sweeps.',
    '',
    table(
      [
        'Server',
        'Handshakes/s',
        'CPU server / load gen',
        'Connect p50 / p99 (ms)',
        'Server CPU per handshake (µs)',
        'Heap per conn (KB)',
        'RSS per conn (KB)',
        'Server CPU per client per heartbeat (µs)',
        'Event-loop delay p50 / p99 / max (ms)',
      ],
      rows,
    ),
  ].join('\n');
}

/** How the churn settle treated what Lifeline keeps on purpose (its dropped clients' sessions). */
function retention(results) {
  const r = results.scenarios?.churn?.lifeline?.result;
  if (!r || r.sessionTtlMs === undefined) return '';
  if (!r.sessionTtlMs) return '; Lifeline runs with its default SESSION_TTL_MS, so its figures include the sessions it keeps resumable';
  return `; Lifeline churns with SESSION_TTL_MS=${r.sessionTtlMs} and its settle also waits out what it keeps on purpose (sessions for their TTL, their tombstones for ≥ 10 s, presence graces: ${num(r.retentionWaitMs / 1000, 0)} s)`;
}

function deadTable(results) {
  const first = firstResult(results, 'dead-peers');
  if (!first) return '';
  const times = (v) =>
    v.timesMs.n === 0 ? '—' : `${num(v.timesMs.p50, 0)} / ${num(v.timesMs.p99, 0)} / ${num(v.timesMs.max, 0)}`;
  const rows = rowsFor('dead-peers', results, (r) => [
    r.deadlineMs === null ? 'none' : `${num(r.deadlineMs, 0)} (${r.deadlineText})`,
    `${num(r.mute.reaped, 0)}/${num(r.mute.zombies, 0)} (${num(r.mute.reapedPercent, 1)}%)`,
    times(r.mute),
    r.mute.deathToPingMs?.n ? `${num(r.mute.deathToPingMs.p99, 0)} + ${num(r.mute.pingToCloseMs.p99, 0)}` : '—',
    `${num(r.destroy.reaped, 0)}/${num(r.destroy.zombies, 0)} (${num(r.destroy.reapedPercent, 1)}%)`,
    times(r.destroy),
    num(r.mute.healthyLost + r.destroy.healthyLost, 0),
  ]);
  return [
    `### Dead peers: ${num(first.zombieShare * 100, 0)}% of ${num(first.n, 0)} clients, interval ${first.intervalMs} ms, timeout ${first.timeoutMs} ms`,
    '',
    '"Muted": the peer keeps its TCP connection and keeps reading but never answers a ping again; each dies at a random ' +
      `moment within ${first.mute.spreadMs} ms (one interval), and its time runs from its death until the server closes its ` +
      'connection. "Gone" is the drop of the server\'s own client count. "Destroyed": the TCP socket is destroyed ' +
      'without a WebSocket close frame (the kernel still sends a FIN), all at once; times are the k-th drop of the ' +
      `server's count (polled every ${first.pollMs} ms). Times in ms. The split of the muted time shows which half of a heartbeat ` +
      'took long: waiting for the next ping (the interval) or waiting from the ping to the close (the timeout).',
    '',
    table(
      [
        'Server',
        'Promised by (ms)',
        'Muted: gone',
        'Muted: p50 / p99 / max (ms)',
        'Muted p99: death → ping + ping → close (ms)',
        'Destroyed: gone',
        'Destroyed: p50 / p99 / max (ms)',
        'Healthy clients lost',
      ],
      rows,
    ),
  ].join('\n');
}

function churnTable(results) {
  const first = firstResult(results, 'churn');
  if (!first) return '';
  const handles = (h) => {
    const entries = Object.entries(h).filter(([, d]) => d > 0);
    return entries.length ? entries.map(([k, d]) => `${k} +${d}`).join(', ') : 'none';
  };
  const rows = rowsFor('churn', results, (r, b) => [
    withRatio(r.cyclesPerSec, b?.cyclesPerSec, 0),
    num(r.failed, 0),
    withRatio(r.cpuPerCycleUs, b?.cpuPerCycleUs, 0),
    num(r.clientsLeft, 0),
    `${num(r.heapDeltaKB, 0)} KB (${r.heapDeltaPercent >= 0 ? '+' : ''}${num(r.heapDeltaPercent, 2)}%)`,
    `${r.heapDeltaSecondHalfKB >= 0 ? '+' : ''}${num(r.heapDeltaSecondHalfKB, 0)} KB`,
    `${r.heapDeltaFromFreshPercent >= 0 ? '+' : ''}${num(r.heapDeltaFromFreshPercent, 2)}%`,
    `${r.rssDeltaMB >= 0 ? '+' : ''}${num(r.rssDeltaMB, 1)} MB`,
    handles(r.handlesLeft),
  ]);
  return [
    `### Churn: ${num(first.cycles, 0)} connect → abrupt-disconnect cycles, ${first.concurrency} at a time`,
    '',
    `After the run, gc() and a settle of interval + timeout${retention(results)}. Baseline: after a ${num(first.warmup, 0)}-cycle warm-up and gc(); "vs fresh" compares with the server before its first client; "2nd half" is the growth over the second half of the cycles alone (a leak keeps growing there, a cache does not). Handles: per type, the fewest seen over ${'8'} readings across one interval, before and after.`,
    '',
    table(
      [
        'Server',
        'Cycles/s',
        'Failed',
        'Server CPU per cycle (µs)',
        'Clients left',
        'Heap Δ vs warm start',
        'Heap Δ in 2nd half',
        'Heap Δ vs fresh',
        'RSS Δ',
        'Handles left behind',
      ],
      rows,
    ),
  ].join('\n');
}

function fanoutTable(results) {
  const first = firstResult(results, 'fanout');
  if (!first) return '';
  const rows = rowsFor('fanout', results, (r, b) => [
    withRatio(r.burst.deliveredPerSec, b?.burst.deliveredPerSec, 0),
    withRatio(r.burst.serverCpuPerDeliveryUs, b?.burst.serverCpuPerDeliveryUs, 2),
    `${num(r.paced.latencyMs.p50, 1)} / ${num(r.paced.latencyMs.p99, 1)} / ${num(r.paced.latencyMs.max, 1)}`,
    withRatio(r.paced.latencyMs.p99, b?.paced.latencyMs.p99, 1),
    num(r.paced.lost + r.burst.lost, 0),
    `${num(r.burst.loadgenCpuPercent, 0)}% / ${num(r.paced.loadgenCpuPercent, 0)}%`,
  ]);
  return [
    `### Fan-out: ${num(first.subscribers, 0)} subscribers on one topic`,
    '',
    `Burst: ${first.burst.messages} messages published back to back (throughput). Paced: ${first.paced.messages} messages, one every ${first.paced.paceMs} ms (latency from publish to each delivery). Socket.IO uses a room; plain ws and the Nest gateway loop over a Set of subscribers; Lifeline uses its TopicsService.`,
    '',
    table(
      [
        'Server',
        'Burst: delivered/s',
        'Burst: server CPU per delivery (µs)',
        'Paced: latency p50 / p99 / max (ms)',
        'Paced: p99 vs plain ws',
        'Lost',
        'Load-gen CPU burst / paced',
      ],
      rows,
    ),
  ].join('\n');
}

function firstResult(results, scenario) {
  const byServer = results.scenarios[scenario];
  if (!byServer) return undefined;
  return Object.values(byServer).find((e) => e.result)?.result;
}

/** Checks the targets from the issue; each entry says met / missed / not measured. */
function evaluateTargets(results) {
  const get = (scenario, id) => results.scenarios[scenario]?.[id]?.result;
  const out = [];
  const add = (name, value, limit, met, detail = '') =>
    out.push({ name, value, limit, met: met === undefined ? null : Boolean(met), detail });
  // A ratio of figures that are not both positive is noise (tiny N), not a verdict.
  const ratioMet = (a, b, limit) => (a > 0 && b > 0 ? a / b <= limit : undefined);

  const il = get('idle', 'lifeline');
  const iw = get('idle', 'plain-ws');
  const is = get('idle', 'socketio');
  /** Heap and RSS per idle connection of `a` against `b` (another server's run), as two target rows. */
  const memoryRows = (a, b, against, suffix, heapLimit, rssLimit) => {
    for (const [what, key, limit] of [['Heap', 'heapPerConnKB', heapLimit], ['RSS', 'rssPerConnKB', rssLimit]]) {
      const r = a.memory[key] / b.memory[key];
      add(`${what} per idle connection vs ${against}${suffix}`, `${r.toFixed(2)}× (${a.memory[key]} vs ${b.memory[key]} KB)`, `≤ ${limit}×`, ratioMet(a.memory[key], b.memory[key], Number(limit)));
    }
  };
  if (il && iw) {
    memoryRows(il, iw, 'plain ws', '', '1.15', '1.15');
    const rc = il.handshake.cpuPerHandshakeUs / iw.handshake.cpuPerHandshakeUs;
    add('Server CPU per handshake vs plain ws', `${rc.toFixed(2)}× (${il.handshake.cpuPerHandshakeUs} vs ${iw.handshake.cpuPerHandshakeUs} µs)`, '≤ 1.2×', ratioMet(il.handshake.cpuPerHandshakeUs, iw.handshake.cpuPerHandshakeUs, 1.2));
    const rb = il.heartbeat.cpuPerClientPerBeatUs / iw.heartbeat.cpuPerClientPerBeatUs;
    add('Server CPU per client per heartbeat vs plain ws', `${rb.toFixed(2)}× (${il.heartbeat.cpuPerClientPerBeatUs} vs ${iw.heartbeat.cpuPerClientPerBeatUs} µs)`, '≤ 1.2×', ratioMet(il.heartbeat.cpuPerClientPerBeatUs, iw.heartbeat.cpuPerClientPerBeatUs, 1.2));
  }
  // Issue 14 §2: with users, sessions and presence on, the same connection stays within 1.15× heap and 1.0× RSS.
  const iu = get('idle', 'lifeline-users');
  if (iu && iw) memoryRows(iu, iw, 'plain ws', ' (users, sessions, presence on)', '1.15', '1.0');
  if (il && is) memoryRows(il, is, 'Socket.IO', '', '0.5', '0.5');
  if (il) {
    const e = il.eventLoopDelayMs;
    add(`Event-loop delay max while sweeping ${il.heartbeat.clients.toLocaleString('en-US')} clients`, `${e.max} ms`, '≤ 20 ms', e.max <= 20);
    add(`Event-loop delay p99 while sweeping ${il.heartbeat.clients.toLocaleString('en-US')} clients`, `${e.p99} ms`, '≤ 5 ms', e.p99 <= 5);
  }
  const dl = get('dead-peers', 'lifeline');
  if (dl) {
    const sweepMs = dl.lifelineMetrics?.meanSweepMs ?? 0;
    const limit = dl.intervalMs + dl.timeoutMs + sweepMs;
    for (const mode of ['mute', 'destroy']) {
      const v = dl[mode];
      const what = mode === 'mute' ? 'muted' : 'destroyed';
      add(`Dead peers (${what}) reaped`, `${v.reaped}/${v.zombies}`, '100%', v.reaped === v.zombies);
      add(
        `Dead peers (${what}) p99 time to removal`,
        v.timesMs.p99 === null ? 'n/a' : `${v.timesMs.p99} ms`,
        `≤ ${Math.round(limit)} ms (interval ${dl.intervalMs} + timeout ${dl.timeoutMs} + sweep ${sweepMs})`,
        v.timesMs.p99 !== null && v.timesMs.p99 <= limit && v.reaped === v.zombies,
      );
    }
  }
  const cl = get('churn', 'lifeline');
  if (cl) {
    add('Churn: registry after the run', String(cl.clientsLeft), '0', cl.clientsLeft === 0);
    add('Churn: heap vs start (after warm-up)', `${cl.heapDeltaPercent >= 0 ? '+' : ''}${cl.heapDeltaPercent}%`, 'within ±5%', Math.abs(cl.heapDeltaPercent) <= 5);
    const left = Object.entries(cl.handlesLeft).filter(([, d]) => d > 0);
    add('Churn: handles left behind', left.length ? left.map(([k, d]) => `${k} +${d}`).join(', ') : 'none', 'none', left.length === 0);
  }
  return out;
}

function targetsTable(targets) {
  if (!targets.length) return '';
  const mark = (met) => (met === null ? 'inconclusive' : met ? '**met**' : '**missed**');
  return table(
    ['Target (Lifeline)', 'Measured', 'Limit', 'Result'],
    targets.map((t) => [t.name, t.value, t.limit, mark(t.met)]),
  );
}

function allTables(results) {
  return [idleTable(results), deadTable(results), churnTable(results), fanoutTable(results)].filter(Boolean).join('\n\n');
}

function machineLines(meta) {
  const m = meta.machine;
  return [
    `- CPU: ${m.cpus} × ${m.cpuModel}`,
    `- RAM: ${m.ramGB} GB`,
    `- OS: ${m.os}`,
    `- Node.js ${m.node}; socket.io ${m.versions['socket.io']}, socket.io-client ${m.versions['socket.io-client']}, @nestjs/platform-ws ${m.versions['@nestjs/platform-ws']}, @nestjs/core ${m.versions['@nestjs/core']}`,
    `- The \`ws\` each server runs on: ${Object.entries(m.wsPerServer ?? {})
      .map(([id, v]) => `${label(id)} ${v}`)
      .join(', ')} (Lifeline and the Nest gateway get theirs through \`@nestjs/platform-ws\`)`,
    `- Open files limit per process: ${m.openFilesLimit}`,
    `- Pinning: ${meta.pinning}`,
    `- Other load on the machine: load average ${meta.loadAverageAtStart?.[0] ?? 'n/a'} at the start; at most ${meta.foreignCpuPercentMax ?? 'n/a'}% of all CPU time went to processes outside the bench during any scenario/server run`,
  ].join('\n');
}

function benchmarksMarkdown(results, { chartPath, notes }) {
  const { meta } = results;
  const c = meta.config;
  return `# Benchmarks

Lifeline side by side with a plain \`ws\` server (the heartbeat recipe from the ws README: the floor for Node), Socket.IO 4 (its own heartbeat, websocket transport only) and NestJS's \`WsAdapter\` as shipped (a minimal gateway, no heartbeat). Each server runs as its own process on one core; the load generators run as separate processes on the other core and talk to it over loopback.

This part of the file (down to the Cluster section, which \`npm run bench:cluster\` writes) is generated by \`npm run bench\` from \`bench/results/latest.json\`. Run of ${meta.startedAt} (${Math.round(meta.durationS / 60)} min), Lifeline built from commit ${meta.git?.commit ?? 'n/a'}${meta.git?.srcDirty ? ' with uncommitted changes in src/' : ''}.

## How to run

\`\`\`sh
npm run bench                  # full run, defaults below (builds dist/ first)
npm run bench -- --quick       # N = 2,000, 10,000 churn cycles: a few minutes
npm run bench -- --scenarios=idle,churn --servers=lifeline,plain-ws
BENCH_N=5000 npm run bench     # any figure can be overridden, see bench/run.js --help
npm run bench -- --profile     # also writes CPU profiles / heap snapshots to bench/results/profiles/
npm run bench -- --report      # no run: tables, chart and this file again from latest.json
BENCH_LIFELINE_ENTRY=/path/to/other/dist/main.js npm run bench -- --servers=lifeline,plain-ws   # A/B a change
\`\`\`

Exact command of this run: \`${meta.command}\`

Results: \`bench/results/latest.json\` (and a timestamped copy), chart \`bench/results/chart.svg\`.

## Machine

${machineLines(meta)}

## Settings

- Idle and dead peers: N = ${c.n.toLocaleString('en-US')} clients over ${c.workers.idle} load-generator processes, ${c.addresses} source addresses (127.0.0.2 …), ${c.connectConcurrency} connects in flight per process.
- Heartbeat: interval ${c.intervalMs} ms, timeout ${c.timeoutMs} ms in idle, dead peers and churn; ${c.fanoutIntervalMs} ms / ${c.fanoutTimeoutMs} ms in fan-out (Socket.IO: pingInterval / pingTimeout; plain ws: the interval). Handshake figures come from a separate server started with a ${c.longIntervalMs / 1000} s interval, so no sweep is billed to a handshake.
- Socket.IO load: ${c.socketIoClient ?? 'raw protocol over ws'} (the same frames as socket.io-client, at the client cost of the others; \`--sio-client=official\` for socket.io-client itself).
- Measurement windows: ${c.windowMs / 1000} s of server CPU, then ${c.windowMs / 1000} s of event-loop delay (\`monitorEventLoopDelay\`, 1 ms resolution, enabled only in that window).
- Churn: ${c.churnCycles.toLocaleString('en-US')} cycles, ${c.churnConcurrency * c.churnWorkers} in flight; fan-out: ${c.fanoutN.toLocaleString('en-US')} subscribers.

## Results

${allTables(results)}

## Targets

${targetsTable(results.targets)}

![Memory per connection, handshake rate and heartbeat CPU per server](${chartPath})

## How the figures are taken

- Every server is started as \`node --expose-gc -r bench/probe.js <entry>\`, pinned with \`taskset\`. The probe answers the runner over IPC: \`gc()\`, \`process.memoryUsage()\`, \`process.cpuUsage()\`, \`monitorEventLoopDelay\`, \`process.getActiveResourcesInfo()\` and the client count. The count is the server's own: \`wss.clients.size\` for plain ws and the Nest gateway, \`io.engine.clientsCount\` for Socket.IO, \`details.websocket.clients\` of \`GET /health\` (the registry) for Lifeline. No service code is changed for the bench.
- Per connection: (after − before) / N of \`heapUsed\` and \`rss\`, both after \`gc()\`, with N idle clients that have been through two heartbeats. Socket buffers live in the kernel and are not in RSS.
- Server CPU per handshake: server user + system CPU during the connect phase / connections opened. Connect latency: from \`new WebSocket()\` (or \`io()\`) to the open (Socket.IO: namespace CONNECT ack), with ${c.connectConcurrency} connects in flight per load-generator process, so it includes queueing.
- Server CPU per client per heartbeat: server CPU over the window / (clients × window / interval). Includes everything the server did in the window: pings, pongs, timers. For the Nest WsAdapter (no heartbeat) the figure is the idle background.
- Dead peers, muted: each zombie notes its death, the first ping it sees afterwards and the moment the server closes its connection; the server's own client count must drop by as many. Destroyed: the probe polls the client count and the k-th drop is the k-th zombie gone. "Healthy clients lost" counts live clients the server dropped meanwhile (must be 0).
- Other load: the runner compares the machine's busy time (/proc/stat) with what its own processes used; a run where other processes took more than 5% is flagged in the log and in the JSON (\`foreignCpuPercent\`).
- Fan-out latency: publish time stamped by the publisher, delivery time by each subscriber (both \`performance.timeOrigin + performance.now()\`, same machine). A load-generator CPU near 100% means the generator, not the server, was the limit.
${notes ? `\n## Analysis\n\n${notes.trim()}\n` : ''}`;
}

const DOC_START = '<!-- bench:start -->';
const DOC_END = '<!-- bench:end -->';

/**
 * Writes this suite's part of BENCHMARKS.md between its markers and keeps
 * everything else as it is (bench/cluster/run.js owns the Cluster section,
 * between its own markers). Without markers yet, the part goes on top.
 */
function writeBenchmarksDoc(file, content) {
  const fs = require('node:fs');
  const block = `${DOC_START}\n${content.replace(/\s*$/, '\n')}${DOC_END}`;
  let doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const start = doc.indexOf(DOC_START);
  const end = doc.indexOf(DOC_END);
  if (start >= 0 && end > start) doc = doc.slice(0, start) + block + doc.slice(end + DOC_END.length);
  else doc = doc.trim() ? `${block}\n\n${doc.replace(/^\s*/, '')}` : block;
  fs.writeFileSync(file, doc.replace(/\s*$/, '\n'));
}

module.exports = { allTables, benchmarksMarkdown, evaluateTargets, targetsTable, label, writeBenchmarksDoc };
