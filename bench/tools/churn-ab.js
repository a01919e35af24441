#!/usr/bin/env node
'use strict';
/**
 * Server CPU per connect → abrupt-disconnect cycle, several builds of
 * Lifeline and plain ws interleaved in the same run (a loaded machine moves
 * every figure; the ratio to plain ws taken in the same round moves less).
 *
 *   node bench/tools/churn-ab.js [--rounds=3] [--cycles=20000] [--warmup=2000]
 *        [--idle=N] [--heap=DIR] [--profile=DIR]
 *        [name=[server:]path/to/main.js[,KEY=VALUE...] ...]
 *
 * Without name=entry pairs it runs dist/main.js as "lifeline". `server` is a
 * Lifeline server of bench/lib/servers.js (default `lifeline`; e.g.
 * `lifeline-users`: JWT users, sessions, presence), KEY=VALUE pairs add
 * environment (e.g. `nosess=dist/main.js,SESSION_TTL_MS=0`). Each round
 * starts every server afresh (pinned to CPU 0, the bench's probe preloaded),
 * warms it up, then counts the server's own CPU (process.cpuUsage) over the
 * cycles (--cycles=0: no churn, idle only). --idle=N also measures heap and
 * RSS per idle connection (N clients, after gc(), two heartbeats in); --heap
 * writes a heap snapshot before and after the N connects per server and round
 * (diff them with heap-summary.js --vs --per=N). --profile writes a
 * .cpuprofile of the measured cycles per server and round.
 */
const path = require('node:path');
const { LoadGen, ServerProcess, canPin, installExitHooks, pinSelf, sleep } = require('../lib/harness');
const { SERVERS } = require('../lib/servers');
const { lifelineVariants, toolArgs } = require('../lib/tool-args');

const { args, entries } = toolArgs();
const rounds = Number(args.rounds ?? 3);
const cycles = Number(args.cycles ?? 20_000);
const warmup = Number(args.warmup ?? 2_000);
const idleN = Number(args.idle ?? 0);
const profileDir = args.profile;
const heapDir = args.heap;
const hb = { intervalMs: 1_000, timeoutMs: 500 };

const plain = SERVERS.find((s) => s.id === 'plain-ws');
const variants = lifelineVariants(entries);
variants.push(plain);

const addresses = Array.from({ length: 20 }, (_, i) => `127.0.0.${i + 2}`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuUs = (a, b) => b.user - a.user + (b.system - a.system);

async function churnOnce(def, round) {
  const pin = canPin();
  const server = await ServerProcess.start(def, { env: hb, cpu: 0, pin });
  const lg = await LoadGen.start({ workers: 2, kind: 'ws', url: server.wsUrl('ws'), addresses, cpu: 1, pin, auth: def.auth });
  try {
    if (cycles === 0) return await idleOnce(server, lg, def, round);
    await lg.all('churn', (i) => ({ cycles: lg.split(warmup)[i], concurrency: 50 }));
    await server.probe('watch-count', { target: 0, intervalMs: 50, timeoutMs: 15_000 }, 45_000);
    await server.probe('snapshot', { gc: true });
    if (profileDir) await server.probe('cpu-profile-start');
    const c0 = await server.probe('cpu');
    const parts = await lg.all('churn', (i) => ({ cycles: lg.split(cycles)[i], concurrency: 50 }));
    const c1 = await server.probe('cpu');
    if (profileDir) {
      await server.probe('cpu-profile-stop', { path: path.resolve(profileDir, `${def.id}-churn-${round}.cpuprofile`) });
    }
    const completed = parts.reduce((s, p) => s + p.completed, 0);
    const failed = parts.reduce((s, p) => s + p.failed, 0);
    const result = { cpuPerCycleUs: cpuUs(c0, c1) / completed, failed };
    if (idleN > 0) {
      // Keep the churn figure: idleOnce's own cpuPerCycleUs is NaN (it measures no cycles).
      const idle = await idleOnce(server, lg, def, round);
      Object.assign(result, { heapKB: idle.heapKB, rssKB: idle.rssKB, failed: failed + idle.failed });
    }
    return result;
  } finally {
    await lg.stop();
    await server.kill();
  }
}

/** Heap and RSS per idle connection: N clients, two heartbeats, gc(). */
async function idleOnce(server, lg, def, round) {
  await server.probe('watch-count', { target: 0, intervalMs: 50, timeoutMs: 15_000 }, 45_000);
  await sleep(hb.intervalMs + hb.timeoutMs);
  const before = (await server.probe('snapshot', { gc: true })).memory;
  const snapshot = (tag) =>
    heapDir && server.probe('heap-snapshot', { path: path.resolve(heapDir, `${def.id}-idle-${round}-${tag}.heapsnapshot`) }, 300_000);
  await snapshot(0);
  const opened = await lg.all('connect', (i) => ({ count: lg.split(idleN)[i], concurrency: 32 }));
  await sleep(2 * hb.intervalMs + 200);
  // The snapshot is taken after the measurement: writing it grows the heap and RSS.
  const after = (await server.probe('snapshot', { gc: true })).memory;
  await snapshot(idleN);
  const failed = opened.reduce((s, p) => s + (p.failed ?? 0), 0);
  return {
    heapKB: (after.heapUsed - before.heapUsed) / idleN / 1024,
    rssKB: (after.rss - before.rss) / idleN / 1024,
    cpuPerCycleUs: Number.NaN,
    failed,
  };
}

async function main() {
  installExitHooks();
  if (canPin()) pinSelf(1);
  const results = new Map(variants.map((v) => [v.id, []]));
  for (let round = 1; round <= rounds; round++) {
    const line = [];
    for (const def of variants) {
      const r = await churnOnce(def, round);
      results.get(def.id).push(r);
      line.push(`${def.id}${cycles ? ` ${r.cpuPerCycleUs.toFixed(0)} µs` : ''}${r.heapKB ? ` heap ${r.heapKB.toFixed(2)} KB rss ${r.rssKB.toFixed(2)} KB` : ''}${r.failed ? ` (${r.failed} failed)` : ''}`);
      await sleep(300);
    }
    process.stdout.write(`round ${round}: ${line.join(' | ')}\n`);
  }
  const base = results.get(plain.id);
  const ratio = (rs, key) => median(rs.map((r, i) => r[key] / base[i][key]));
  process.stdout.write(`\nmedians over ${rounds} rounds, ${cycles} cycles each (ratio: median of per-round ratios to plain ws)\n`);
  for (const [id, rs] of results) {
    const cpu = median(rs.map((r) => r.cpuPerCycleUs));
    let text = id.padEnd(12);
    if (cycles) text += ` cpu/cycle ${cpu.toFixed(0)} µs (${ratio(rs, 'cpuPerCycleUs').toFixed(2)}×)`;
    if (idleN > 0) {
      text += `  heap/conn ${median(rs.map((r) => r.heapKB)).toFixed(2)} KB (${ratio(rs, 'heapKB').toFixed(2)}×)`;
      text += `  rss/conn ${median(rs.map((r) => r.rssKB)).toFixed(2)} KB (${ratio(rs, 'rssKB').toFixed(2)}×)`;
    }
    process.stdout.write(`${text}\n`);
  }
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
