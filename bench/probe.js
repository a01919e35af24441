'use strict';
/**
 * Measurement probe, preloaded into every benchmarked server:
 *
 *   node --expose-gc -r ./bench/probe.js <server entry>
 *
 * The same probe runs in all four servers, so their figures come from the
 * same code. It talks to the bench runner over the IPC channel the runner
 * opens (stdio 'ipc') and never touches the server's own code: the only
 * server-specific input is the live client count, read either from a hook
 * the bench server scripts set (`globalThis.__benchClientCount`) or, for
 * Lifeline, from its own GET /health (`BENCH_COUNT_URL`).
 *
 * Requests: { type: 'probe', id, cmd, args }; answers: { type: 'probe', id, ok, result | error }.
 */
const { monitorEventLoopDelay } = require('node:perf_hooks');
const http = require('node:http');
const v8 = require('node:v8');

if (typeof process.send === 'function') install();

function install() {
  const resolution = Math.max(1, Number(process.env.BENCH_ELD_RESOLUTION_MS) || 1);
  // Disabled until asked for: its 1 ms timer costs CPU, which must not be
  // billed to handshakes or heartbeats.
  const eld = monitorEventLoopDelay({ resolution });
  let profiler;

  const handlers = {
    ping: () => ({ pid: process.pid, node: process.version, gc: typeof global.gc === 'function' }),

    /** gc (optional), then memory, CPU, handles and client count in one go. */
    snapshot: async ({ gc = false } = {}) => {
      if (gc) await collectGarbage();
      return {
        t: Date.now(),
        memory: process.memoryUsage(),
        cpu: process.cpuUsage(),
        handles: activeResources(),
        count: await clientCount(),
      };
    },

    cpu: () => process.cpuUsage(),

    /**
     * Active resources by type, the minimum of each type over `samples`
     * readings spread over spanMs: a timer that exists only part of the time
     * (a heartbeat deadline between two sweeps, say) is not a leak, while a
     * leaked handle is there in every reading.
     */
    'handles-min': async ({ samples = 8, spanMs = 1_000 } = {}) => {
      let min;
      for (let i = 0; i < samples; i++) {
        if (i > 0) await sleep(spanMs / (samples - 1));
        const now = activeResources();
        if (!min) min = now;
        else for (const key of new Set([...Object.keys(min), ...Object.keys(now)])) min[key] = Math.min(min[key] || 0, now[key] || 0);
      }
      for (const key of Object.keys(min)) if (min[key] === 0) delete min[key];
      return min;
    },

    count: () => clientCount(),

    'eld-start': () => {
      eld.disable();
      eld.reset();
      eld.enable();
      return { resolution };
    },

    'eld-stop': () => {
      eld.disable();
      const ms = (ns) => ns / 1e6;
      return {
        count: eld.count,
        min: ms(eld.min),
        mean: ms(eld.mean),
        p50: ms(eld.percentile(50)),
        p90: ms(eld.percentile(90)),
        p99: ms(eld.percentile(99)),
        p999: ms(eld.percentile(99.9)),
        max: ms(eld.max),
      };
    },

    /**
     * Polls the client count until it is <= target or the time is up.
     * Returns the changes only: [[epochMs, count], ...], first and last included.
     */
    'watch-count': async ({ target, intervalMs = 20, timeoutMs = 10_000 }) => {
      const samples = [];
      const deadline = Date.now() + timeoutMs;
      let last;
      for (;;) {
        const t = Date.now();
        const count = await clientCount();
        if (count !== last) samples.push([t, count]);
        last = count;
        if (count !== null && count <= target) break;
        if (t >= deadline) {
          samples.push([t, count]);
          break;
        }
        await sleep(intervalMs);
      }
      return samples;
    },

    'heap-snapshot': ({ path }) => {
      return { path: v8.writeHeapSnapshot(path) };
    },

    'cpu-profile-start': async () => {
      const inspector = require('node:inspector');
      profiler = new inspector.Session();
      profiler.connect();
      await post(profiler, 'Profiler.enable');
      await post(profiler, 'Profiler.setSamplingInterval', { interval: 100 });
      await post(profiler, 'Profiler.start');
      return {};
    },

    'cpu-profile-stop': async ({ path }) => {
      if (!profiler) throw new Error('no profile running');
      const { profile } = await post(profiler, 'Profiler.stop');
      profiler.disconnect();
      profiler = undefined;
      require('node:fs').writeFileSync(path, JSON.stringify(profile));
      return { path };
    },

    'fetch-text': ({ path }) => httpGet(path).then((r) => r.body),
  };

  process.on('message', (msg) => {
    if (!msg || msg.type !== 'probe') return;
    const handler = handlers[msg.cmd];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown probe command ${msg.cmd}`);
        return handler(msg.args || {});
      })
      .then(
        (result) => process.send({ type: 'probe', id: msg.id, ok: true, result }),
        (err) => process.send({ type: 'probe', id: msg.id, ok: false, error: String((err && err.stack) || err) }),
      );
  });
  // The runner is gone: so is the reason to live. Never leave an orphan server.
  process.on('disconnect', () => process.exit(0));
}

async function collectGarbage() {
  if (typeof global.gc !== 'function') throw new Error('start the server with --expose-gc');
  // Twice, with turns of the loop between, so weak callbacks and finalizers run.
  global.gc();
  await new Promise((resolve) => setImmediate(resolve));
  await sleep(20);
  global.gc();
}

function activeResources() {
  const counts = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] || 0) + 1;
  return counts;
}

async function clientCount() {
  if (typeof globalThis.__benchClientCount === 'function') return globalThis.__benchClientCount();
  const url = process.env.BENCH_COUNT_URL;
  if (!url) return null;
  const { status, body } = await httpGet(url);
  // /health answers 503 with the same body when the heartbeat is late.
  if (status !== 200 && status !== 503) throw new Error(`GET ${url}: HTTP ${status}`);
  const clients = JSON.parse(body)?.details?.websocket?.clients;
  if (typeof clients !== 'number') throw new Error(`GET ${url}: no details.websocket.clients`);
  return clients;
}

/** One-shot GET (no keep-alive: a pooled socket would show up as a leaked handle). */
function httpGet(urlOrPath) {
  const url = urlOrPath.startsWith('http')
    ? urlOrPath
    : new URL(urlOrPath, process.env.BENCH_BASE_URL || `http://127.0.0.1:${process.env.PORT}`).href;
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
  });
}

function post(session, method, params) {
  return new Promise((resolve, reject) =>
    session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
  );
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
