'use strict';
/**
 * Lifeline nodes (dist/main.js) on one Redis, for the multi-node benches
 * (bench/cluster/run.js, bench/presence/run.js): spawn with the env a cluster
 * node needs, wait until /health answers, read its log lines, measure it
 * (the probe is preloaded: gc + memory + CPU over IPC), kill -9 it, and delete
 * the run's Redis keys afterwards. Every node is tracked by the harness, so
 * it dies with the run whichever way the run ends.
 */
const { fork, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { BENCH, ROOT, Rpc, freePort, installExitHooks, procCpuMs, sleep, track } = require('./harness');

const MAIN = path.join(ROOT, 'dist', 'main.js');

/** Open file descriptors of a live process (Linux /proc), or undefined. */
function openFiles(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** GET a node's JSON/text with a short timeout. */
async function get(base, pathname, kind = 'json', timeoutMs = 5_000) {
  const res = await fetch(`${base}${pathname}`, { signal: AbortSignal.timeout(timeoutMs) });
  return kind === 'json' ? res.json() : res.text();
}

class ClusterNodes {
  /**
   * @param {object} o
   * @param {string} o.prefix    REDIS_KEY_PREFIX of the run (unique, deleted by deleteKeys)
   * @param {string} o.redisUrl
   * @param {string} o.idPrefix  NODE_ID = `${idPrefix}-${label}-${n}`
   * @param {object} [o.env]     extra environment of every node
   * @param {string} [o.logLevel] LOG_LEVEL (default warn: a connect is not logged)
   * @param {string} [o.logsDir] keep each node's stdout in logsDir/<id>.log
   * @param {(node: object, line: string) => void} [o.onLine] every stdout line
   * @param {string} [o.main]    the build to run (default dist/main.js): A/B runs
   */
  constructor({ prefix, redisUrl, idPrefix, env = {}, logLevel = 'warn', logsDir, onLine, main = MAIN }) {
    if (!fs.existsSync(main)) throw new Error(`${main} is missing: run "npm run build" first`);
    installExitHooks();
    Object.assign(this, { prefix, redisUrl, idPrefix, env, logLevel, logsDir, onLine, main });
    if (logsDir) fs.mkdirSync(logsDir, { recursive: true });
    this.seq = 0;
    /** Every node started, dead ones included (their log lines stay readable). */
    this.started = [];
  }

  async start(label, { readyTimeoutMs = 30_000, env = {} } = {}) {
    const port = await freePort();
    const id = `${this.idPrefix}-${label}-${++this.seq}`;
    const child = track(
      spawn(process.execPath, ['--expose-gc', '-r', path.join(BENCH, 'probe.js'), this.main], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          PORT: String(port),
          HOST: '127.0.0.1',
          LOG_LEVEL: this.logLevel,
          REDIS_URL: this.redisUrl,
          REDIS_KEY_PREFIX: this.prefix,
          NODE_ID: id,
          BENCH_COUNT_URL: `http://127.0.0.1:${port}/health`,
          ...this.env,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      }),
    );
    const base = `http://127.0.0.1:${port}`;
    const node = {
      label,
      id,
      port,
      child,
      pid: child.pid,
      base,
      url: `ws://127.0.0.1:${port}/ws`,
      rpc: new Rpc(child, `node ${id} probe`, { type: 'probe' }),
      stderr: '',
      /** gc (optional), then process.memoryUsage(), CPU and client count. */
      snapshot: (gc = false) => node.rpc.request('snapshot', { gc }, 60_000),
      cpuMs: () => procCpuMs(child.pid),
      openFiles: () => openFiles(child.pid),
      health: () => get(base, '/health'),
      metricsText: () => get(base, '/metrics', 'text'),
      alive: () => child.exitCode === null && child.signalCode === null,
      kill9: () => {
        if (node.alive()) child.kill('SIGKILL');
      },
    };
    this.started.push(node);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c) => (node.stderr = (node.stderr + c).slice(-4000)));
    const logFile = this.logsDir ? fs.createWriteStream(path.join(this.logsDir, `${id}.log`)) : undefined;
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c) => {
      logFile?.write(c);
      if (!this.onLine) return;
      const lines = (pending + c).split('\n');
      pending = lines.pop();
      for (const line of lines) this.onLine(node, line);
    });
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (!node.alive()) throw new Error(`node ${id} exited: ${node.stderr.slice(-1000)}`);
      try {
        const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) break;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`node ${id} did not become healthy in ${readyTimeoutMs} ms`);
      await sleep(50);
    }
    return node;
  }

  killAll() {
    for (const node of this.started) node.kill9();
  }
}

/** The cluster as one node sees it (GET /health details.cluster), or undefined while it is not up. */
async function clusterView(node) {
  const body = await node.health();
  const cluster = body.details?.cluster;
  return cluster?.status === 'up' ? { nodes: cluster.nodes, clients: cluster.clients } : undefined;
}

/** One sample of a Prometheus metric (labels exactly as given, in order), 0 when absent. */
async function metric(node, name, labels = {}) {
  const text = await node.metricsText();
  const entries = Object.entries(labels);
  const wanted = entries.length ? `${name}{${entries.map(([k, v]) => `${k}="${v}"`).join(',')}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(wanted));
  return line ? Number(line.slice(wanted.length)) : 0;
}

/** Deletes every key under the run's prefix. */
async function deleteKeys(redis, prefix) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

async function usedMemory(redis) {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)[1]);
}

/**
 * A load-generator process (bench/cluster/loadgen.js): the clients never live
 * in the runner's own process, whose event loop must stay free to measure.
 */
function forkLoadgen(index) {
  const child = track(
    fork(path.join(BENCH, 'cluster', 'loadgen.js'), [], {
      cwd: ROOT,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const rpc = new Rpc(child, `load generator ${index}`);
  return { index, child, call: (cmd, args = {}, timeoutMs = 600_000) => rpc.request(cmd, args, timeoutMs) };
}

/** 127.0.0.2 … 127.0.0.(n+1): source addresses, so no address runs out of ephemeral ports. */
const sourceAddresses = (n = 50) => Array.from({ length: n }, (_, i) => `127.0.0.${i + 2}`);

module.exports = { ClusterNodes, MAIN, clusterView, deleteKeys, forkLoadgen, metric, openFiles, sourceAddresses, usedMemory };
