'use strict';
/**
 * Child processes of a bench run: servers (each with the probe preloaded,
 * pinned to one core) and load-generator workers (pinned to the other).
 * Every child is tracked and killed when the run ends, fails, times out or is
 * interrupted; a child whose parent vanishes exits by itself (IPC disconnect).
 */
const { spawn, fork, execFileSync } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const BENCH = path.join(ROOT, 'bench');

/** ms of CPU (user + system) a live process has used so far, from /proc; undefined off Linux. */
function procCpuMs(pid) {
  try {
    const stat = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): utime is the 14th field overall.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

/** Busy and total ms of all CPUs since boot, from /proc/stat; undefined off Linux. */
function machineCpuMs() {
  try {
    const line = require('node:fs').readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = v[3] + (v[4] || 0); // idle + iowait
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // without guest (already in user)
    return { busy: ((total - idle) * 1000) / CLOCK_TICKS, total: (total * 1000) / CLOCK_TICKS };
  } catch {
    return undefined;
  }
}

/**
 * CPU the bench's own processes used, so the rest of the machine's busy
 * time can be told apart: another job on the box skews every figure.
 */
const usage = { childrenMs: 0 };
function noteChildCpu(pid) {
  const ms = procCpuMs(pid);
  if (ms !== undefined) usage.childrenMs += ms;
}

/** Every live child, so that exit paths can kill them all. */
const children = new Set();

function killAll(signal = 'SIGKILL') {
  for (const child of children) {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
  children.clear();
}

let exitHooksInstalled = false;
function installExitHooks() {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => killAll());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping every child process\n`);
      killAll();
      process.exit(130);
    });
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `promise`, failing with `what` after ms. */
function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${Math.round(ms)} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

let tasksetOk;
function canPin() {
  if (tasksetOk === undefined) {
    try {
      execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
      tasksetOk = require('node:os').cpus().length >= 2;
    } catch {
      tasksetOk = false;
    }
  }
  return tasksetOk;
}

/** Pins this (runner) process to a core, best effort. */
function pinSelf(cpu) {
  if (!canPin()) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Request/response over a child's IPC channel. */
class Rpc {
  constructor(child, name, envelope = {}) {
    this.child = child;
    this.name = name;
    this.envelope = envelope;
    this.nextId = 1;
    this.pending = new Map();
    this.exited = false;
    child.on('message', (msg) => {
      if (!msg || typeof msg.id !== 'number') return;
      if (envelope.type && msg.type !== envelope.type) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(`${name}: ${msg.error}`));
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`${name} exited (code ${code}, signal ${signal})`));
      this.pending.clear();
    });
  }

  request(cmd, args = {}, timeoutMs = 120_000) {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited`));
    const id = this.nextId++;
    const reply = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.child.send({ ...this.envelope, id, cmd, args });
    return withTimeout(reply, timeoutMs, `${this.name} ${cmd}`).finally(() => this.pending.delete(id));
  }
}

/** Keeps the last bytes of a stream, for error messages. */
function tail(stream, limit = 16_384) {
  const box = { text: '' };
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk) => {
    box.text = (box.text + chunk).slice(-limit);
  });
  return box;
}

/**
 * A benchmarked server: `node --expose-gc -r bench/probe.js <entry>`, pinned
 * to `cpu`, bound to 127.0.0.1 on a free port.
 */
class ServerProcess {
  static async start(def, { env, cpu, pin, readyTimeoutMs = 30_000, nodeArgs = [] }) {
    const port = await freePort();
    const serverEnv = {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      WS_PATH: '/ws',
      ...def.env(env),
      ...(def.countFromHealth && { BENCH_COUNT_URL: `http://127.0.0.1:${port}/health` }),
    };
    const args = ['--expose-gc', '-r', path.join(BENCH, 'probe.js'), ...nodeArgs, path.resolve(ROOT, def.entry)];
    const [cmd, argv] = pin ? ['taskset', ['-c', String(cpu), process.execPath, ...args]] : [process.execPath, args];
    const child = spawn(cmd, argv, { cwd: ROOT, env: serverEnv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    children.add(child);
    const server = new ServerProcess(def, child, port);
    try {
      await server.waitReady(readyTimeoutMs);
    } catch (err) {
      server.kill();
      throw new Error(`${def.label} did not start: ${err.message}\n${server.output()}`);
    }
    return server;
  }

  constructor(def, child, port) {
    this.def = def;
    this.child = child;
    this.port = port;
    this.stdout = tail(child.stdout);
    this.stderr = tail(child.stderr);
    // BENCH_SERVER_STDOUT=file keeps the server's whole stdout (e.g. --trace-gc-nvp lines), appended.
    if (process.env.BENCH_SERVER_STDOUT) {
      const file = require('node:fs').createWriteStream(process.env.BENCH_SERVER_STDOUT, { flags: 'a' });
      child.stdout?.on('data', (chunk) => file.write(chunk));
      child.on('exit', () => file.end());
    }
    this.rpc = new Rpc(child, `${def.label} probe`, { type: 'probe' });
    this.exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    this.exit.then(() => children.delete(child));
  }

  output() {
    const parts = [];
    if (this.stderr.text.trim()) parts.push(`--- stderr (tail)\n${this.stderr.text.trim()}`);
    if (this.stdout.text.trim()) parts.push(`--- stdout (tail)\n${this.stdout.text.trim().slice(-4000)}`);
    return parts.join('\n');
  }

  async waitReady(timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    await this.rpc.request('ping', {}, timeoutMs);
    for (;;) {
      if (this.rpc.exited) throw new Error('exited during start-up');
      if (await canConnect(this.port)) break;
      if (Date.now() > deadline) throw new Error(`port ${this.port} not listening after ${timeoutMs} ms`);
      await sleep(50);
    }
    // Listening may come a moment before the count source is; wait for both.
    for (;;) {
      try {
        const count = await this.rpc.request('count', {}, 5_000);
        if (typeof count === 'number') return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) throw new Error('no client count');
      await sleep(50);
    }
  }

  probe(cmd, args, timeoutMs) {
    return this.rpc.request(cmd, args, timeoutMs);
  }

  wsUrl(kind) {
    return this.def.url(this.port, kind);
  }

  kill() {
    if (this.child.exitCode === null && this.child.signalCode === null) noteChildCpu(this.child.pid);
    try {
      this.child.kill('SIGKILL');
    } catch {
      // gone
    }
    children.delete(this.child);
    return this.exit;
  }
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Load-generator processes sharing the work of one scenario. */
class LoadGen {
  static async start({ workers, kind, url, addresses, cpu, pin, auth }) {
    const lg = new LoadGen();
    for (let index = 0; index < workers; index++) {
      const child = fork(path.join(BENCH, 'loadgen-worker.js'), [], {
        cwd: ROOT,
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        // fork() runs execPath with execArgv before the module: taskset -c N node <worker>
        ...(pin && { execPath: 'taskset', execArgv: ['-c', String(cpu), process.execPath] }),
      });
      children.add(child);
      child.on('exit', () => children.delete(child));
      const rpc = new Rpc(child, `load generator ${index}`);
      lg.workers.push({ child, rpc });
      await rpc.request('init', { kind, url, addresses, index, auth }, 15_000);
    }
    return lg;
  }

  constructor() {
    this.workers = [];
  }

  /** Splits `total` over the workers as evenly as possible. */
  split(total) {
    const n = this.workers.length;
    return this.workers.map((_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
  }

  /** Sends cmd to every worker; args may be a function of the worker index. */
  all(cmd, args = {}, timeoutMs = 600_000) {
    return Promise.all(
      this.workers.map((w, i) => w.rpc.request(cmd, typeof args === 'function' ? args(i) : args, timeoutMs)),
    );
  }

  one(index, cmd, args = {}, timeoutMs = 600_000) {
    return this.workers[index].rpc.request(cmd, args, timeoutMs);
  }

  async stop() {
    await Promise.all(
      this.workers.map(async ({ child, rpc }) => {
        if (child.exitCode === null && child.signalCode === null) noteChildCpu(child.pid);
        const gone = new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
        await rpc.request('exit', {}, 2_000).catch(() => undefined);
        await withTimeout(gone, 3_000, 'worker exit').catch(() => child.kill('SIGKILL'));
        children.delete(child);
      }),
    );
  }
}

/** A bench script's options: `--key=value`, and a bare `--flag` as true. */
function parseArgs(argv = process.argv.slice(2)) {
  return Object.fromEntries(
    argv.map((a) => {
      const [k, v] = a.replace(/^--/, '').split('=');
      return [k, v ?? true];
    }),
  );
}

/**
 * Writes `body` between the `start` and `end` markers of a Markdown file,
 * keeping everything else; without the markers yet, the block is appended.
 */
function replaceSection(file, start, end, body) {
  const fs = require('node:fs');
  const block = `${start}\n${body}${end}`;
  const doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  const next =
    from >= 0 && to > from
      ? doc.slice(0, from) + block + doc.slice(to + end.length)
      : `${doc.replace(/\s*$/, '')}${doc.trim() ? '\n\n' : ''}${block}\n`;
  fs.writeFileSync(file, next);
}

/** Tracks a child started elsewhere (bench/lib/cluster-nodes.js) so every exit path kills it too. */
function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

module.exports = {
  Rpc,
  parseArgs,
  replaceSection,
  freePort,
  procCpuMs,
  track,
  machineCpuMs,
  usage,
  ROOT,
  BENCH,
  LoadGen,
  ServerProcess,
  canPin,
  installExitHooks,
  killAll,
  pinSelf,
  sleep,
  withTimeout,
};
