#!/usr/bin/env node
// What open status pages cost the server: the built service (dist/main.js)
// as a child process, with idle WebSocket clients, measured twice for the
// same wall time: with no status page open, then with N feeds open (each read
// like the page reads it: fetch() with a bearer token, text/event-stream).
// The cost is the difference in the server's CPU time (/proc/<pid>/stat,
// user + system) divided by the wall time.
//
//   npm run bench:status                      # 50 feeds, 30 s per phase, 1,000 idle clients
//   node bench/status/run.js --viewers 50 --seconds 30 --clients 1000
'use strict';
const { spawn } = require('node:child_process');
const { readdirSync, readFileSync, writeFileSync, mkdirSync } = require('node:fs');
const { createServer } = require('node:net');
const { join } = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const WebSocket = require('ws');

const root = join(__dirname, '..', '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const VIEWERS = arg('viewers', 50);
const SECONDS = arg('seconds', 30);
const CLIENTS = arg('clients', 1000);
// A page reloads GET /status/clients only while a search is shown (every 5 s);
// its unfiltered list comes with the feed. --list-every-ms 5000 models every page searching.
const LIST_EVERY_MS = arg('list-every-ms', 0);
const TOKEN = 'bench-status-admin-token-0123456789';
// Phases alternate (idle, watched, idle, watched, ...) so drift on a shared machine hits both alike.
const ROUNDS = arg('rounds', 3);

/**
 * CPU time of every thread of the process (main, libuv pool, V8 helpers), in
 * seconds, from /proc/<pid>/task/<tid>/schedstat (nanoseconds; /proc/<pid>/stat
 * counts 10 ms ticks, too coarse for a fraction of a percent).
 */
function cpuSeconds(pid) {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns / 1e9;
}

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function measure(pid, seconds) {
  const cpu0 = cpuSeconds(pid);
  const t0 = process.hrtime.bigint();
  await sleep(seconds * 1000);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  return { cpuSeconds: cpuSeconds(pid) - cpu0, wallSeconds: wall };
}

/** One status page: its feed (fetch + stream reader, counting events and bytes) and its client list reloads. */
function openFeed(base, stats) {
  const abort = new AbortController();
  const list = async () => {
    const res = await fetch(`${base}/status/clients?limit=100&q=`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    if (res.status !== 200) throw new Error(`client list answered ${res.status}`);
    stats.listBytes += (await res.arrayBuffer()).byteLength;
    stats.lists++;
  };
  let timer;
  if (LIST_EVERY_MS > 0) {
    // Pages opened at random moments: spread the reloads.
    setTimeout(() => {
      void list();
      timer = setInterval(() => void list(), LIST_EVERY_MS);
    }, Math.random() * LIST_EVERY_MS);
  }
  abort.signal.addEventListener('abort', () => clearInterval(timer));
  const done = (async () => {
    const res = await fetch(`${base}/status/feed`, { headers: { Authorization: `Bearer ${TOKEN}` }, signal: abort.signal });
    if (res.status !== 200) throw new Error(`feed answered ${res.status}`);
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      stats.bytes += chunk.length;
      stats.samples += (decoder.decode(chunk, { stream: true }).match(/event: sample\n/g) ?? []).length;
    }
  })().catch((err) => {
    if (err.name !== 'AbortError') throw err;
  });
  return { close: () => abort.abort(), done };
}

async function main() {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [join(root, 'dist', 'main.js')], {
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const stop = () => child.kill('SIGKILL');
  process.on('exit', stop);
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${base}/health/ready`)).status === 200) break;
      } catch {
        // not up yet
      }
      if (i > 200) throw new Error('service did not start');
      await sleep(50);
    }
    const sockets = [];
    for (let i = 0; i < CLIENTS; i++) {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      sockets.push(socket);
    }
    await sleep(2000); // let start-up work settle

    const phase = SECONDS / ROUNDS;
    const idle = { cpuSeconds: 0, wallSeconds: 0 };
    const watched = { cpuSeconds: 0, wallSeconds: 0 };
    const add = (total, m) => {
      total.cpuSeconds += m.cpuSeconds;
      total.wallSeconds += m.wallSeconds;
    };
    let bytes = 0;
    let samples = 0;
    let lists = 0;
    let viewersGauge = Number.NaN;
    for (let round = 1; round <= ROUNDS; round++) {
      process.stderr.write(`status bench: round ${round}/${ROUNDS}: ${CLIENTS} clients, no status page, ${phase} s ...\n`);
      add(idle, await measure(child.pid, phase));

      const stats = { bytes: 0, samples: 0, lists: 0, listBytes: 0 };
      const feeds = Array.from({ length: VIEWERS }, () => openFeed(base, stats));
      await sleep(2000);
      viewersGauge = Number(/^lifeline_status_viewers (\d+)/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1]);
      process.stderr.write(`status bench: round ${round}/${ROUNDS}: ${VIEWERS} status feeds open (gauge says ${viewersGauge}), ${phase} s ...\n`);
      const before = { ...stats };
      add(watched, await measure(child.pid, phase));
      bytes += stats.bytes - before.bytes;
      samples += stats.samples - before.samples;
      lists += stats.lists - before.lists;
      for (const feed of feeds) feed.close();
      await Promise.all(feeds.map((f) => f.done));
      await sleep(1000);
    }
    for (const socket of sockets) socket.terminate();

    const pct = (m) => (100 * m.cpuSeconds) / m.wallSeconds;
    const result = {
      at: new Date().toISOString(),
      node: process.version,
      cpus: require('node:os').cpus().length,
      loadavg: require('node:os').loadavg(),
      clients: CLIENTS,
      viewers: VIEWERS,
      viewersGauge,
      seconds: SECONDS,
      rounds: ROUNDS,
      idle: { ...idle, cpuPercentOfCore: pct(idle) },
      watched: { ...watched, cpuPercentOfCore: pct(watched) },
      costPercentOfCore: pct(watched) - pct(idle),
      samplesPerViewerPerSecond: samples / VIEWERS / watched.wallSeconds,
      bytesPerViewerPerSecond: bytes / VIEWERS / watched.wallSeconds,
      listEveryMs: LIST_EVERY_MS,
      clientListRequestsPerSecond: lists / watched.wallSeconds,
    };
    mkdirSync(join(root, 'bench', 'results'), { recursive: true });
    writeFileSync(join(root, 'bench', 'results', 'status-feed-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    const verdict = result.costPercentOfCore < 1 ? 'met' : 'MISSED';
    process.stdout.write(
      `\n${VIEWERS} status feeds: ${result.costPercentOfCore.toFixed(2)} % of a core (idle ${pct(idle).toFixed(2)} %, watched ${pct(watched).toFixed(2)} %); target < 1 %: ${verdict}\n`,
    );
  } finally {
    stop();
  }
}

main().catch((err) => {
  process.stderr.write(`status bench failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
