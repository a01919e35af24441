#!/usr/bin/env node
'use strict';
/**
 * A frame storm on one cluster node: N clients connected, then every one
 * sends `subscribe` at once (a reconnect storm re-subscribing). Measures
 * how long the node's event loop went without running a timer, which is
 * what decides whether its lease renewal (every NODE_TTL_MS / 3) and its
 * Redis command timeouts fire on time.
 *
 *   node bench/tools/frame-storm.js [--clients=15000] [--runs=3] [--threshold=20]
 *        [--out=bench/results/frame-storm.json] [name=path/to/main.js ...]
 *
 * Per run and build (interleaved; default the one build dist/main.js): one
 * node on Redis (a unique key prefix, deleted after), two load generators
 * connect the clients, then this file, preloaded into the node
 * (`-r bench/tools/frame-storm.js`), times every turn of a 1 ms interval
 * timer and keeps each gap over --threshold ms with the GCs (over 5 ms) it
 * saw. Reports per build: storm time (first subscribe sent → last
 * `subscribed`), the longest gap, gaps over 100 ms, the node's CPU per connect and per
 * subscribe, and the node's
 * "Command timed out" log lines during the storm.
 */

if (require.main !== module) {
  if (process.env.FRAME_STORM_OUT) installRecorder(process.env.FRAME_STORM_OUT, Number(process.env.FRAME_STORM_THRESHOLD ?? 20));
} else {
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  });
}

/** In the node: gaps between 1 ms timer turns, and GCs, written to `file` when asked (SIGUSR2) and each second. */
function installRecorder(file, thresholdMs) {
  const fs = require('node:fs');
  const { performance, PerformanceObserver } = require('node:perf_hooks');
  const gaps = [];
  const gcs = [];
  let last = performance.now();
  setInterval(() => {
    const t = performance.now();
    if (t - last > thresholdMs) gaps.push({ at: Math.round(last), ms: Math.round(t - last) });
    last = t;
  }, 1).unref();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.duration > 5) gcs.push({ at: Math.round(e.startTime), ms: Math.round(e.duration) });
  }).observe({ entryTypes: ['gc'] });
  // Written aside and renamed: the bench never reads half a file.
  const write = () => {
    fs.writeFileSync(`${file}.tmp`, JSON.stringify({ now: Math.round(performance.now()), gaps, gcs }));
    fs.renameSync(`${file}.tmp`, file);
  };
  setInterval(write, 1000).unref();
  process.on('SIGUSR2', write);
}

async function main() {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const { setTimeout: sleep } = require('node:timers/promises');
  const { Redis } = require('ioredis');
  const { ClusterNodes, MAIN, deleteKeys, forkLoadgen, sourceAddresses } = require('../lib/cluster-nodes');
  const { killAll, parseArgs } = require('../lib/harness');

  const args = parseArgs();
  const clients = Number(args.clients ?? 15_000);
  const runs = Number(args.runs ?? 3);
  const threshold = Number(args.threshold ?? 20);
  const out = path.resolve(String(args.out ?? path.join(__dirname, '..', 'results', 'frame-storm.json')));
  const builds = Object.entries(args)
    .filter(([k, v]) => !k.startsWith('-') && typeof v === 'string' && v.endsWith('.js') && !['out'].includes(k))
    .map(([name, main]) => ({ name, main: path.resolve(main) }));
  if (builds.length === 0) builds.push({ name: 'lifeline', main: MAIN });
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(redisUrl);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'frame-storm-'));
  const log = (msg) => process.stdout.write(`[frame-storm ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
  const results = [];

  try {
    for (let run = 1; run <= runs; run++) {
      for (const build of builds) {
        const prefix = `lifeline:bench:storm:${process.pid}:${run}:${build.name}:`;
        const file = path.join(tmp, `${build.name}-${run}.json`);
        const lines = [];
        const cluster = new ClusterNodes({
          prefix,
          redisUrl,
          idPrefix: 'storm',
          main: build.main,
          env: {
            NODE_OPTIONS: `-r ${__filename}`,
            FRAME_STORM_OUT: file,
            FRAME_STORM_THRESHOLD: String(threshold),
            MAX_CLIENTS: String(clients + 100),
          },
          onLine: (_node, line) => lines.push(line),
        });
        const node = await cluster.start('a');
        const lgs = [forkLoadgen(0), forkLoadgen(1)];
        const addresses = sourceAddresses(50);
        try {
          const cpuAtStart = node.cpuMs();
          await Promise.all(
            lgs.map((lg, i) =>
              lg.call('connect', { url: node.url, count: clients / 2, addresses: addresses.slice(i * 25, i * 25 + 25), concurrency: 50, timeoutMs: 180_000 }),
            ),
          );
          const connectCpuMs = node.cpuMs() - cpuAtStart;
          await sleep(3000); // two heartbeats: the connect's own work is over
          const read = () => JSON.parse(fs.readFileSync(file, 'utf8'));
          node.child.kill('SIGUSR2');
          await sleep(100);
          const from = read().now;
          const linesBefore = lines.length;
          const cpuBeforeStorm = node.cpuMs();
          const started = Date.now();
          const replies = await Promise.all(lgs.map((lg) => lg.call('subscribe', { topic: 'storm', timeoutMs: 120_000 })));
          const stormMs = Date.now() - started;
          const stormCpuMs = node.cpuMs() - cpuBeforeStorm;
          await sleep(1500);
          node.child.kill('SIGUSR2');
          await sleep(100);
          const rec = read();
          const gaps = rec.gaps.filter((g) => g.at >= from);
          const longest = gaps.reduce((m, g) => Math.max(m, g.ms), 0);
          const result = {
            run,
            build: build.name,
            clients,
            subscribed: replies.reduce((a, r) => a + r.subscribed, 0),
            errors: replies.reduce((a, r) => a + r.errors + r.timedOut, 0),
            stormMs,
            connectCpuUsPerClient: Math.round((connectCpuMs * 1000) / clients),
            stormCpuUsPerFrame: Math.round((stormCpuMs * 1000) / clients),
            longestGapMs: longest,
            gapsOver100: gaps.filter((g) => g.ms > 100).length,
            gapsOver50: gaps.filter((g) => g.ms > 50).length,
            gcOver20: rec.gcs.filter((g) => g.at >= from && g.ms > 20).length,
            commandTimeouts: lines.slice(linesBefore).filter((l) => l.includes('Command timed out')).length,
            gaps,
          };
          results.push(result);
          log(
            `run ${run} ${build.name}: ${result.subscribed}/${clients} subscribed in ${stormMs} ms; longest gap ${longest} ms, ` +
              `${result.gapsOver100} over 100 ms, ${result.gapsOver50} over 50 ms; ${result.commandTimeouts} command timeouts; ` +
              `node CPU ${result.connectCpuUsPerClient} µs per connect, ${result.stormCpuUsPerFrame} µs per subscribe; load ${os.loadavg()[0].toFixed(1)}`,
          );
        } finally {
          await Promise.all(lgs.map((lg) => lg.call('closeAll', {}, 30_000).catch(() => undefined)));
          for (const lg of lgs) lg.child.kill('SIGKILL');
          cluster.killAll();
          await deleteKeys(redis, prefix);
        }
      }
    }
  } finally {
    redis.disconnect();
    killAll();
  }

  const summary = builds.map(({ name }) => {
    const mine = results.filter((r) => r.build === name);
    const list = (key) => mine.map((r) => r[key]).join(', ');
    return {
      name,
      stormMs: list('stormMs'),
      longestGapMs: list('longestGapMs'),
      gapsOver100: list('gapsOver100'),
      commandTimeouts: list('commandTimeouts'),
      connectCpu: list('connectCpuUsPerClient'),
      stormCpu: list('stormCpuUsPerFrame'),
    };
  });
  process.stdout.write(
    `\n| build | storm (ms) | longest gap (ms) | gaps > 100 ms | command timeouts | node CPU per connect (µs) | node CPU per subscribe (µs) |\n| --- | --- | --- | --- | --- | --- | --- |\n` +
      summary
        .map((s) => `| ${s.name} | ${s.stormMs} | ${s.longestGapMs} | ${s.gapsOver100} | ${s.commandTimeouts} | ${s.connectCpu} | ${s.stormCpu} |`)
        .join('\n') +
      '\n',
  );
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ clients, runs, threshold, builds, loadAverage: os.loadavg(), results }, null, 2));
  log(`results: ${path.relative(process.cwd(), out)}`);
  process.exit(0);
}
