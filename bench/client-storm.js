#!/usr/bin/env node
'use strict';
/**
 * Reconnect storm: N lifeline-client SDK clients (default 5,000) on one
 * server, the server restarted (SIGTERM, then a fresh process on the same
 * port, as a deploy does); how hard do the clients hit it coming back, and
 * how long until all are back? Run twice: the SDK's full-jitter backoff
 * (default options) and a fixed 1 s delay (what most hand-written loops do).
 *
 *   npm run build && node bench/client-storm.js [--clients 5000] [--modes jitter,fixed]
 *
 * Not part of npm test or npm run bench. Figures: bench/results/client-storm.json, BENCHMARKS.md.
 *
 * Measured at the clients, from the WebSocket constructor the SDK is given:
 * attempts = connections tried (refused ones included), handshakes = upgrades
 * completed (each one is a full handshake the server had to do), back = the
 * client's state is `open` again (welcomed, subscription restored).
 * Peaks are the most in any one-second window (10 ms steps).
 */
const { spawn, execFileSync } = require('node:child_process');
const { mkdirSync, writeFileSync } = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { WebSocket } = require('ws');

const ROOT = path.resolve(__dirname, '..');
const { LifelineClient } = require(path.join(ROOT, 'client', 'dist', 'cjs', 'index.cjs'));
const { replaceSection } = require('./lib/harness');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const N = Number(arg('clients', 5000));
const MODES = arg('modes', 'jitter,fixed').split(',');
/** Source addresses spread over 127.0.0.2-11, so no address runs out of ephemeral ports. */
const SOURCES = Array.from({ length: 10 }, (_, i) => `127.0.0.${i + 2}`);
const DOC_START = '<!-- client-storm:start -->';
const DOC_END = '<!-- client-storm:end -->';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function startServer(port) {
  // The server on CPU 0, this process (the clients) on CPU 1, when taskset exists.
  let command = process.execPath;
  let args = [path.join(ROOT, 'dist', 'main.js')];
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    args = ['-c', '0', command, ...args];
    command = 'taskset';
  } catch {
    // no taskset: unpinned
  }
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', SHUTDOWN_GRACE_MS: '2000' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { child, exited };
}

async function waitUp(port) {
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200) return Date.now();
    } catch {
      // not yet
    }
    await sleep(20);
  }
}

/** Most events in any window of `windowMs`, from sorted timestamps. */
function peak(times, windowMs = 1000) {
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end] - times[start] >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

async function run(mode, port) {
  const log = { attempts: [], handshakes: [], back: [] };
  let recording = false;
  let source = 0;
  class CountingWebSocket extends WebSocket {
    constructor(url) {
      super(url, { localAddress: SOURCES[source++ % SOURCES.length] });
      if (recording) log.attempts.push(Date.now());
      this.once('upgrade', () => recording && log.handshakes.push(Date.now()));
    }
  }
  let server = startServer(port);
  await waitUp(port);
  const options = { WebSocket: CountingWebSocket, heartbeat: true, connectTimeoutMs: 10_000 };
  if (mode === 'fixed') options.reconnectDelay = () => 1000;

  const clients = [];
  let open = 0;
  const connectStarted = Date.now();
  for (let i = 0; i < N; i++) {
    const client = new LifelineClient(`ws://127.0.0.1:${port}/ws`, options);
    client.subscribe('storm', () => undefined);
    if (process.env.STORM_DEBUG) client.on('state', (state, detail) => state === 'closed' && console.error('closed', detail));
    client.on('state', (state) => {
      if (state === 'open') {
        open++;
        if (recording) log.back.push(Date.now());
      } else if (client.wasOpen) {
        open--;
      }
      client.wasOpen = state === 'open';
    });
    clients.push(client);
    if (i % 250 === 249) await sleep(100); // a gentle ramp: the storm is the restart, not the start
  }
  while (open < N) await sleep(50);
  if (process.env.STORM_DEBUG) console.error('all open', open, Date.now() - connectStarted);
  const connectMs = Date.now() - connectStarted;
  await sleep(2000);

  recording = true;
  const restartAt = Date.now();
  server.child.kill('SIGTERM');
  if (process.env.STORM_DEBUG) console.error('SIGTERM sent to', server.child.pid);
  await server.exited;
  const downAt = Date.now();
  if (process.env.STORM_DEBUG) console.error('exited after', downAt - restartAt);
  server = startServer(port);
  const upAt = await waitUp(port);
  const deadline = Date.now() + 120_000;
  const debug = process.env.STORM_DEBUG
    ? setInterval(() => {
        const h = {};
        for (const c of clients) h[c.state] = (h[c.state] || 0) + 1;
        console.error('states', JSON.stringify(h), 'attempts', log.attempts.length, 'handshakes', log.handshakes.length);
      }, 1000)
    : undefined;
  while (open < N && Date.now() < deadline) await sleep(20);
  if (process.env.STORM_DEBUG) console.error('after restart', open, N);
  const allBackAt = log.back.length ? Math.max(...log.back) : NaN;
  clearInterval(debug);
  recording = false;
  const allBack = open === N;

  for (const client of clients) client.close();
  server.child.kill('SIGTERM');
  await server.exited;
  log.attempts.sort((a, b) => a - b);
  log.handshakes.sort((a, b) => a - b);
  return {
    mode: mode === 'fixed' ? 'fixed 1 s' : 'full jitter (SDK default)',
    clients: N,
    initialConnectMs: connectMs,
    serverDownMs: downAt - restartAt,
    serverRestartMs: upAt - restartAt,
    backAfterRestartMs: allBackAt - restartAt,
    backAfterUpMs: allBackAt - upAt,
    allBack,
    attempts: log.attempts.length,
    handshakes: log.handshakes.length,
    peakAttemptsPerS: peak(log.attempts),
    peakHandshakesPerS: peak(log.handshakes),
    peakHandshakesPer100ms: peak(log.handshakes, 100),
    failedAttempts: log.attempts.length - log.handshakes.length,
  };
}

(async () => {
  const results = [];
  for (const mode of MODES) {
    const port = await freePort();
    process.stderr.write(`client storm: ${N} clients, ${mode} ...\n`);
    results.push(await run(mode, port));
    await sleep(3000); // let TIME_WAIT and the machine settle between runs
  }
  const out = { date: new Date().toISOString(), node: process.version, cpus: require('node:os').cpus().length, results };
  mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'bench', 'results', 'client-storm.json'), `${JSON.stringify(out, null, 2)}\n`);
  const table = [
    '| backoff | peak handshakes/s | peak handshakes in 100 ms | peak attempts/s | attempts (refused included) | server down → up | all back after the restart began | all back after the server was up |',
    '|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.mode} | ${r.peakHandshakesPerS.toLocaleString('en')} | ${r.peakHandshakesPer100ms.toLocaleString('en')} | ${r.peakAttemptsPerS.toLocaleString('en')} | ${r.attempts.toLocaleString('en')} | ${(r.serverRestartMs / 1000).toFixed(2)} s | ${(r.backAfterRestartMs / 1000).toFixed(2)} s | ${(r.backAfterUpMs / 1000).toFixed(2)} s${r.allBack ? '' : ' (not all back)'} |`,
    ),
  ].join('\n');
  console.log(table);
  const section = [
    '## Client SDK: reconnect storm',
    '',
    `\`node bench/client-storm.js\` (${out.date.slice(0, 16).replace('T', ' ')} UTC, Node ${out.node}, ${out.cpus} CPUs shared with other work): ` +
      `${N.toLocaleString('en')} \`lifeline-client\` clients (one process, CPU 1) subscribed to one topic on one server (CPU 0); ` +
      'the server gets SIGTERM (clients receive 1001) and a fresh process starts on the same port as soon as the old one has exited. ' +
      'Measured at the clients: attempts are connections tried (refused ones included), handshakes are upgrades completed, ' +
      '"back" is the state `open` again (welcomed, subscription restored). Peaks: the most in any one-second (or 100 ms) window.',
    '',
    table,
    '',
    '',
  ].join('\n');
  replaceSection(path.join(ROOT, 'BENCHMARKS.md'), DOC_START, DOC_END, section);
  process.exit(0);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
