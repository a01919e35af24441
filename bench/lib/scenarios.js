'use strict';
/**
 * The four scenarios. Each runs against one server definition with a fresh
 * server process and fresh load generators, and returns plain figures.
 * `run` provides: cfg, server(heartbeat) -> ServerProcess, loadgen(kind,
 * server, clients) -> LoadGen, log(text), profileDir.
 */
const path = require('node:path');
const { sleep } = require('./harness');
const { concat, cpuMicros, diffCounts, round, summarize } = require('./stats');

const KB = 1024;
const MB = 1024 * 1024;

// ---------------------------------------------------------------------------
// idle
// ---------------------------------------------------------------------------

/**
 * Part A, handshakes: the server runs with a heartbeat interval longer than
 * the phase, so no sweep is billed to the handshakes. Part B, heartbeat: a
 * new server with the short interval; memory per connection after a few
 * sweeps, then a CPU window and an event-loop-delay window (the probe's 1 ms
 * timer runs only in the latter).
 */
async function idle(run, def) {
  const { cfg } = run;
  const n = cfg.n;

  // --- A: handshakes -------------------------------------------------------
  const a = await run.server({ intervalMs: cfg.longIntervalMs, timeoutMs: Math.min(10_000, cfg.longIntervalMs - 1) });
  const lgA = await run.loadgen(def.client, a, n);
  const a0 = await a.probe('snapshot', { gc: true });
  if (run.profile) await a.probe('cpu-profile-start');
  const connA = await connect(lgA, n, cfg);
  const a1 = await a.probe('snapshot', { gc: false });
  if (run.profile) {
    const file = path.join(run.profileDir, `${def.id}-idle-handshakes.cpuprofile`);
    await a.probe('cpu-profile-stop', { path: file });
    run.log(`cpu profile: ${file}`);
  }
  run.log(`handshakes: ${connA.opened}/${n} at ${Math.round(connA.rate)}/s`);
  await sleep(cfg.pauseMs);
  const a2 = await a.probe('snapshot', { gc: true });
  await run.release();

  // --- B: heartbeat ----------------------------------------------------------
  const hb = { intervalMs: cfg.intervalMs, timeoutMs: cfg.timeoutMs };
  const b = await run.server(hb);
  const lgB = await run.loadgen(def.client, b, n);
  const b0 = await b.probe('snapshot', { gc: true });
  if (run.profile) {
    const file = path.join(run.profileDir, `${def.id}-idle-0.heapsnapshot`);
    await b.probe('heap-snapshot', { path: file }, 300_000);
    run.log(`heap snapshot: ${file}`);
  }
  const connB = await connect(lgB, n, cfg);
  await sleep(2 * cfg.intervalMs + cfg.pauseMs);
  const b1 = await b.probe('snapshot', { gc: true });

  const healthBefore = await lgB.all('health');
  if (run.profile) await b.probe('cpu-profile-start');
  const c0 = await b.probe('cpu');
  await sleep(cfg.windowMs);
  const c1 = await b.probe('cpu');
  if (run.profile) {
    const file = path.join(run.profileDir, `${def.id}-idle-heartbeat.cpuprofile`);
    await b.probe('cpu-profile-stop', { path: file });
    run.log(`cpu profile: ${file}`);
  }
  await b.probe('eld-start');
  await sleep(cfg.windowMs);
  const eld = await b.probe('eld-stop');
  const healthAfter = await lgB.all('health');
  const b2 = await b.probe('snapshot', { gc: false });
  if (run.profile) {
    const file = path.join(run.profileDir, `${def.id}-idle-${n}.heapsnapshot`);
    await b.probe('heap-snapshot', { path: file }, 300_000);
    run.log(`heap snapshot: ${file}`);
  }
  const lifeline = def.lifeline ? await lifelineMetrics(b) : undefined;

  const beats = cfg.windowMs / cfg.intervalMs;
  // The server's own count: a heartbeat may have dropped clients on a busy machine.
  const clientsB = b1.count ?? connB.opened;
  const lostDuringWindows = sum(healthAfter, 'unexpectedCloses') - sum(healthBefore, 'unexpectedCloses');
  return {
    n,
    handshake: {
      opened: connA.opened,
      failed: connA.failed,
      errors: connA.errors,
      seconds: round(connA.seconds, 3),
      rate: round(connA.rate, 0),
      latencyMs: roundAll(connA.latency),
      loadgenCpuPercent: round(connA.loadgenCpuPercent, 0),
      serverCpuPercent: round((cpuMicros(a0.cpu, a1.cpu) / 1e6 / connA.seconds) * 100, 0),
      cpuPerHandshakeUs: round(cpuMicros(a0.cpu, a1.cpu) / connA.opened, 1),
      heapPerConnKB: round((a2.memory.heapUsed - a0.memory.heapUsed) / connA.opened / KB, 3),
      rssPerConnKB: round((a2.memory.rss - a0.memory.rss) / connA.opened / KB, 3),
    },
    memory: {
      clients: clientsB,
      baseline: pickMemory(b0.memory),
      loaded: pickMemory(b1.memory),
      heapPerConnKB: round((b1.memory.heapUsed - b0.memory.heapUsed) / clientsB / KB, 3),
      rssPerConnKB: round((b1.memory.rss - b0.memory.rss) / clientsB / KB, 3),
      externalPerConnKB: round(
        (b1.memory.external + b1.memory.arrayBuffers - b0.memory.external - b0.memory.arrayBuffers) / clientsB / KB,
        3,
      ),
    },
    heartbeat: {
      intervalMs: cfg.intervalMs,
      timeoutMs: cfg.timeoutMs,
      windowMs: cfg.windowMs,
      clients: clientsB,
      countAtEnd: b2.count,
      cpuWindowMs: round(cpuMicros(c0, c1) / 1000, 1),
      cpuPercent: round((cpuMicros(c0, c1) / 1000 / cfg.windowMs) * 100, 2),
      cpuPerClientPerBeatUs: round(cpuMicros(c0, c1) / (((clientsB + (b2.count ?? clientsB)) / 2) * beats), 3),
      connectFailed: connB.failed,
      clientsLost: lostDuringWindows,
    },
    eventLoopDelayMs: roundAll(eld, 3),
    ...(lifeline && { lifelineMetrics: lifeline }),
  };
}

// ---------------------------------------------------------------------------
// dead peers
// ---------------------------------------------------------------------------

/**
 * 5% of N clients turn into zombies, in two separate rounds:
 *
 * - muted: they never answer a ping again but keep reading. Each dies at a
 *   random moment within one interval (a sweep-based heartbeat is judged
 *   over every phase, not one lucky one), and sees the server close its
 *   connection: that time minus its death is its time to removal. The
 *   server's own client count must drop by as many.
 * - destroyed: their TCP sockets are destroyed without a close frame, all
 *   at once; the probe polls the server's count and the k-th drop is the
 *   k-th zombie gone.
 */
async function deadPeers(run, def) {
  const { cfg } = run;
  const n = cfg.n;
  const hb = { intervalMs: cfg.intervalMs, timeoutMs: cfg.timeoutMs };
  const server = await run.server(hb);
  const lg = await run.loadgen(def.zombieClient, server, n);
  const conn = await connect(lg, n, cfg);
  await sleep(Math.round(1.5 * cfg.intervalMs));
  const zombies = Math.max(1, Math.round(n * cfg.zombieShare));
  const split = lg.split(zombies);
  const deadline = def.deadline(hb);
  const worstBound = Math.max(2 * cfg.intervalMs, cfg.intervalMs + cfg.timeoutMs);

  // --- muted ---------------------------------------------------------------
  const spreadMs = cfg.intervalMs;
  const muteWindowMs = Math.round(spreadMs + 2 * worstBound + cfg.deadSlackMs);
  const before = await server.probe('count');
  const h0 = await lg.all('health');
  // Times come from the zombies themselves; the count is only confirmed, so
  // poll it gently (Lifeline answers it over HTTP, which costs it CPU).
  const watching = server.probe(
    'watch-count',
    { target: before - zombies, intervalMs: Math.max(cfg.pollMs, 200), timeoutMs: muteWindowMs },
    muteWindowMs + 30_000,
  );
  const muted = await lg.all('zombify', (i) => ({ count: split[i], mode: 'mute', spreadMs }));
  const samples = await watching;
  // The server may close a connection a moment after dropping it from its count.
  await sleep(cfg.pollMs * 5);
  const reports = await lg.all('zombie-report', { mode: 'mute' });
  const h1 = await lg.all('health');
  const countAfter = samples[samples.length - 1][1];
  const closedTimes = concat(reports.map((r) => r.times));
  const mute = {
    zombies: sum(muted, 'zombified'),
    spreadMs,
    reaped: Math.min(zombies, before - countAfter),
    closedByServer: closedTimes.length,
    stillOpen: sum(reports, 'open'),
    waitedMs: muteWindowMs,
    timesMs: roundAll(summarize(closedTimes), 1),
    // The two halves: death -> first ping the zombie saw, that ping -> close.
    deathToPingMs: roundAll(summarize(concat(reports.map((r) => r.toPing))), 1),
    pingToCloseMs: roundAll(summarize(concat(reports.map((r) => r.pingToClose))), 1),
    healthyLost: sum(h1, 'unexpectedCloses') - sum(h0, 'unexpectedCloses'),
    countBefore: before,
    countAfter,
  };
  mute.reapedPercent = round((mute.reaped / zombies) * 100, 1);
  mute.stayed = zombies - mute.reaped;
  run.log(`muted: ${mute.reaped}/${zombies} gone from the count, p99 ${mute.timesMs.p99} ms, max ${mute.timesMs.max} ms`);

  // Bury the zombies the server kept, so the next round starts clean.
  await lg.all('bury-zombies');
  await server.probe('watch-count', { target: before - zombies, intervalMs: 50, timeoutMs: 10_000 }, 40_000);
  await sleep(cfg.pauseMs);

  // --- destroyed -----------------------------------------------------------
  const destroyWindowMs = Math.round(2 * worstBound + cfg.deadSlackMs);
  const before2 = await server.probe('count');
  const h2 = await lg.all('health');
  const watching2 = server.probe(
    'watch-count',
    { target: before2 - zombies, intervalMs: cfg.pollMs, timeoutMs: destroyWindowMs },
    destroyWindowMs + 30_000,
  );
  await sleep(cfg.pollMs * 2);
  const destroyed = await lg.all('zombify', (i) => ({ count: split[i], mode: 'destroy' }));
  const t0 = Math.min(...destroyed.map((d) => d.at));
  const samples2 = await watching2;
  const h3 = await lg.all('health');
  const countAfter2 = samples2[samples2.length - 1][1];
  const destroy = {
    zombies: sum(destroyed, 'zombified'),
    reaped: Math.min(zombies, before2 - countAfter2),
    waitedMs: destroyWindowMs,
    timesMs: roundAll(summarize(removalTimes(samples2, before2, zombies, t0)), 1),
    healthyLost: sum(h3, 'unexpectedCloses') - sum(h2, 'unexpectedCloses'),
    countBefore: before2,
    countAfter: countAfter2,
  };
  destroy.reapedPercent = round((destroy.reaped / zombies) * 100, 1);
  destroy.stayed = zombies - destroy.reaped;
  run.log(`destroyed: ${destroy.reaped}/${zombies} gone, p99 ${destroy.timesMs.p99} ms`);

  const lifeline = def.lifeline ? await lifelineMetrics(server) : undefined;
  return {
    n,
    opened: conn.opened,
    zombieShare: cfg.zombieShare,
    intervalMs: cfg.intervalMs,
    timeoutMs: cfg.timeoutMs,
    deadlineMs: Number.isFinite(deadline) ? deadline : null,
    deadlineText: def.deadlineText,
    pollMs: cfg.pollMs,
    mute,
    destroy,
    ...(lifeline && { lifelineMetrics: lifeline }),
  };
}

/** Time of the k-th drop of the count below `before`, relative to t0, for k = 1..zombies. */
function removalTimes(samples, before, zombies, t0) {
  const times = [];
  let k = 1;
  for (const [t, count] of samples) {
    while (k <= zombies && count <= before - k) {
      times.push(Math.max(0, t - t0));
      k++;
    }
  }
  return times;
}

// ---------------------------------------------------------------------------
// churn
// ---------------------------------------------------------------------------

/** The default presence grace, which the churn settle waits out with the sessions. */
const PRESENCE_GRACE_MS = 5_000;

/**
 * Connect -> welcome -> abrupt disconnect (no close frame; TCP FIN and RST
 * alternately), many times over at bounded concurrency, with the short
 * heartbeat running. Memory and handles are compared after gc() with a
 * snapshot taken after a warm-up (JIT, lazy module state), and with the fresh
 * start.
 */
async function churn(run, def) {
  const { cfg } = run;
  // A dropped client's session stays resumable for SESSION_TTL_MS (120 s by default), then its
  // tombstone for one more TTL (at least 10 s): state kept on purpose, which a heap check taken
  // within it reads as a leak (+79 % after 100,000 cycles with the default TTL). So Lifeline churns
  // with a short TTL (cfg.churnSessionTtlMs, 2 s), and every snapshot waits its sessions, tombstones
  // and presence graces out.
  const ttl = def.lifeline ? cfg.churnSessionTtlMs : 0;
  const hb = { intervalMs: cfg.intervalMs, timeoutMs: cfg.timeoutMs, ...(ttl > 0 && { sessionTtlMs: ttl }) };
  const retentionMs = ttl > 0 ? Math.max(ttl + Math.max(ttl, 10_000), PRESENCE_GRACE_MS) + 1_000 : 0;
  const server = await run.server(hb);
  const lg = await run.loadgen(def.client, server, cfg.churnConcurrency * cfg.churnWorkers, cfg.churnWorkers);
  const settle = async () => {
    await server.probe('watch-count', { target: 0, intervalMs: 50, timeoutMs: 15_000 }, 45_000);
    await sleep(cfg.intervalMs + cfg.timeoutMs + cfg.pauseMs + retentionMs);
  };
  // Timers that come and go (a heartbeat deadline between sweeps) are not leaks.
  const handles = () => server.probe('handles-min', { samples: 8, spanMs: 1.25 * cfg.intervalMs }, 60_000);

  const fresh = await server.probe('snapshot', { gc: true });
  const warmSplit = lg.split(cfg.churnWarmup);
  await lg.all('churn', (i) => ({ cycles: warmSplit[i], concurrency: cfg.churnConcurrency }));
  await settle();
  const s0 = await server.probe('snapshot', { gc: true });
  const handles0 = await handles();

  // Two halves with a gc'd snapshot between: a leak keeps growing in the
  // second half, a cache or a JIT artefact does not.
  const halves = [Math.ceil(cfg.churnCycles / 2), Math.floor(cfg.churnCycles / 2)];
  const results = [];
  let cpuUs = 0;
  let wallMs = 0;
  let mid;
  for (const [h, cycles] of halves.entries()) {
    const split = lg.split(cycles);
    const c0 = await server.probe('cpu');
    const part = await lg.all('churn', (i) => ({ cycles: split[i], concurrency: cfg.churnConcurrency }));
    cpuUs += cpuMicros(c0, await server.probe('cpu'));
    wallMs += Math.max(...part.map((r) => r.ms));
    results.push(...part);
    if (h === 0) {
      await settle();
      mid = await server.probe('snapshot', { gc: true });
    }
  }
  await settle();
  const s1 = await server.probe('snapshot', { gc: true });
  const handles1 = await handles();
  if (run.profile) {
    const file = path.join(run.profileDir, `${def.id}-after-churn.heapsnapshot`);
    await server.probe('heap-snapshot', { path: file }, 300_000);
    run.log(`heap snapshot: ${file}`);
  }
  const completed = sum(results, 'completed');
  const failed = sum(results, 'failed');
  run.log(`${completed} cycles in ${Math.round(wallMs)} ms, ${failed} failed, ${s1.count} clients left`);
  return {
    cycles: cfg.churnCycles,
    completed,
    failed,
    errors: mergeErrors(results),
    concurrency: cfg.churnConcurrency * cfg.churnWorkers,
    warmup: cfg.churnWarmup,
    sessionTtlMs: ttl,
    retentionWaitMs: retentionMs,
    cyclesPerSec: round(completed / (wallMs / 1000), 0),
    cpuPerCycleUs: round(cpuUs / Math.max(1, completed), 1),
    clientsLeft: s1.count,
    start: { fresh: pickMemory(fresh.memory), afterWarmup: pickMemory(s0.memory) },
    middle: pickMemory(mid.memory),
    end: pickMemory(s1.memory),
    heapDeltaKB: round((s1.memory.heapUsed - s0.memory.heapUsed) / KB, 1),
    heapDeltaPercent: round(((s1.memory.heapUsed - s0.memory.heapUsed) / s0.memory.heapUsed) * 100, 2),
    heapDeltaSecondHalfKB: round((s1.memory.heapUsed - mid.memory.heapUsed) / KB, 1),
    heapDeltaFromFreshPercent: round(((s1.memory.heapUsed - fresh.memory.heapUsed) / fresh.memory.heapUsed) * 100, 2),
    rssDeltaMB: round((s1.memory.rss - s0.memory.rss) / MB, 2),
    handlesStart: handles0,
    handlesEnd: handles1,
    handlesLeft: diffCounts(handles0, handles1),
  };
}

// ---------------------------------------------------------------------------
// fan-out
// ---------------------------------------------------------------------------

/**
 * F clients subscribe to one topic; one more client publishes M messages
 * stamped with their send time. Paced: one every paceMs (latency under a
 * steady load). Burst: back to back (throughput). Load-generator CPU is
 * reported so a saturated generator is visible.
 */
async function fanout(run, def) {
  const { cfg } = run;
  // A relaxed heartbeat: under a fan-out burst a 500 ms pong deadline drops
  // healthy clients (Socket.IO's did), which is not what this scenario measures.
  const hb = { intervalMs: cfg.fanoutIntervalMs, timeoutMs: cfg.fanoutTimeoutMs };
  const server = await run.server(hb);
  const lg = await run.loadgen(def.client, server, cfg.fanoutN);
  const conn = await connect(lg, cfg.fanoutN, cfg);
  await lg.one(0, 'open-publisher', {});
  const subs = await lg.all('subscribe', { topic: 'bench' });
  const subscribers = sum(subs, 'subscribed');
  run.log(`${subscribers} subscribers`);

  const phases = {};
  for (const phase of [
    { name: 'paced', messages: cfg.fanoutMessages, paceMs: cfg.fanoutPaceMs },
    { name: 'burst', messages: cfg.fanoutBurst, paceMs: 0 },
  ]) {
    await lg.all('fanout-arm');
    const h0 = await lg.all('health');
    const cpu0 = await server.probe('cpu');
    const started = Date.now();
    const published = await lg.one(0, 'publish', { topic: 'bench', messages: phase.messages, paceMs: phase.paceMs });
    const expected = subscribers * phase.messages;
    // Wait for every delivery, or for progress to stop.
    let received = 0;
    let lastProgress = Date.now();
    while (received < expected && Date.now() - lastProgress < cfg.fanoutStallMs) {
      await sleep(50);
      const status = await lg.all('fanout-status');
      const now = sum(status, 'received');
      if (now > received) lastProgress = Date.now();
      received = now;
    }
    const cpu1 = await server.probe('cpu');
    const collected = await lg.all('fanout-collect');
    const h1 = await lg.all('health');
    const latencies = summarize(concat(collected.map((c) => c.latencies)));
    const lastAt = Math.max(...collected.map((c) => c.lastAt));
    const seconds = (lastAt - published.firstAt) / 1000;
    const wallSeconds = (Date.now() - started) / 1000;
    const lgCpuUs = h1.reduce((acc, h, i) => acc + cpuMicros(h0[i].cpu, h.cpu), 0);
    phases[phase.name] = {
      messages: phase.messages,
      paceMs: phase.paceMs,
      expected,
      delivered: sum(collected, 'received'),
      lost: expected - sum(collected, 'received'),
      deliveredPerSec: round(sum(collected, 'received') / seconds, 0),
      seconds: round(seconds, 3),
      latencyMs: roundAll(latencies, 2),
      serverCpuPerDeliveryUs: round(cpuMicros(cpu0, cpu1) / Math.max(1, sum(collected, 'received')), 3),
      serverCpuPercent: round((cpuMicros(cpu0, cpu1) / 1e6 / wallSeconds) * 100, 1),
      loadgenCpuPercent: round((lgCpuUs / 1e6 / wallSeconds) * 100, 1),
    };
    run.log(
      `${phase.name}: ${phases[phase.name].delivered}/${expected} delivered, ${phases[phase.name].deliveredPerSec}/s, p99 ${phases[phase.name].latencyMs.p99} ms`,
    );
  }
  return { subscribers, opened: conn.opened, ...hb, paced: phases.paced, burst: phases.burst };
}

// ---------------------------------------------------------------------------

async function connect(lg, n, cfg) {
  const split = lg.split(n);
  const h0 = await lg.all('health');
  const results = await lg.all('connect', (i) => ({ count: split[i], concurrency: cfg.connectConcurrency }));
  const h1 = await lg.all('health');
  const lgCpuUs = h1.reduce((acc, h, i) => acc + cpuMicros(h0[i].cpu, h.cpu), 0);
  const opened = sum(results, 'opened');
  const startedAt = Math.min(...results.map((r) => r.startedAt));
  const endedAt = Math.max(...results.map((r) => r.endedAt));
  const seconds = Math.max(0.001, (endedAt - startedAt) / 1000);
  return {
    opened,
    failed: sum(results, 'failed'),
    errors: mergeErrors(results),
    seconds,
    rate: opened / seconds,
    latency: summarize(concat(results.map((r) => r.latencies))),
    loadgenCpuPercent: (lgCpuUs / 1e6 / seconds) * 100,
  };
}

/** Lifeline's own view of its sweeps, from GET /metrics. */
async function lifelineMetrics(server) {
  const text = await server.probe('fetch-text', { path: '/metrics' });
  const value = (name) => {
    const m = text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm'));
    return m ? Number(m[1]) : null;
  };
  const sweeps = value('lifeline_heartbeat_sweep_duration_seconds_count');
  const sweepSum = value('lifeline_heartbeat_sweep_duration_seconds_sum');
  return {
    sweeps,
    meanSweepMs: sweeps ? round((sweepSum / sweeps) * 1000, 2) : null,
    longestSliceLastSweepMs: round(value('lifeline_heartbeat_longest_slice_seconds') * 1000, 2),
    pingsToClosed: value('lifeline_pings_to_closed_total'),
    connections: value('lifeline_connections_total'),
    // Members online (grace included): one per client in the users variant, and per anonymous client.
    presenceUsers: value('lifeline_presence_users'),
  };
}

function pickMemory(m) {
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
}

function roundAll(obj, digits = 2) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) out[k] = typeof v === 'number' ? round(v, digits) : v;
  return out;
}

function sum(list, key) {
  return list.reduce((acc, x) => acc + (x[key] || 0), 0);
}

function mergeErrors(results) {
  const out = {};
  for (const r of results) for (const [k, v] of Object.entries(r.errors || {})) out[k] = (out[k] || 0) + v;
  return out;
}

module.exports = {
  idle,
  'dead-peers': deadPeers,
  churn,
  fanout,
};
