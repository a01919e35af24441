#!/usr/bin/env node
'use strict';
/**
 * Event-loop delay while the heartbeat sweeps N idle clients, and what each
 * long pause was.
 *
 *   node bench/tools/sweep-delay.js [--n=19000] [--runs=5] [--seconds=60]
 *        [--servers=lifeline,plain-ws] [--interval=1000] [--timeout=500]
 *        [--threshold=5] [--profile] [--alloc] [--out=bench/results/sweep-delay.json]
 *        [name=path/to/main.js[,--node-flag...][,VAR=value...] ...]
 *
 * Per run and server (interleaved, a fresh server each time, pinned to CPU 0
 * with the bench probe; three load generators on CPU 1): N clients connect,
 * two heartbeats and 3 s pass, then for --seconds this file, preloaded into the
 * server (`-r bench/tools/sweep-delay.js`), times every turn of a 1 ms
 * interval timer (the same measure as monitorEventLoopDelay with a 1 ms
 * resolution, but with a timestamp per pause), records every GC with its
 * kind and duration (PerformanceObserver 'gc'), and the slices of Lifeline's
 * sweep (its yields through node:timers/promises setImmediate), each with
 * the run-queue wait inside it. Each pause
 * over --threshold ms is listed with the GCs and sweep slices inside it,
 * the process's CPU (and the kernel's share of it) and the main thread's
 * own CPU and run-queue wait, the socket reads (pongs) and writes (pings) in
 * it, and the hypervisor's steal on CPU 0 (/proc/stat; this VM's vCPU can be
 * taken away for tens of ms, and neither the process's CPU nor its run-queue
 * wait shows that: "own" less steal is the third measure; the fourth, the
 * process's CPU in a turn, also counts the main thread's waits behind its own
 * GC helpers on the pinned core, which "own" takes for another process's);
 * --profile adds a CPU profile (100 µs sampling, which itself costs time)
 * and names the functions sampled inside each pause; --alloc samples
 * allocations (V8's sampling heap profiler, garbage included) and lists the
 * sites that allocate most.
 *
 * Prints a table (p50 / p99 / max of the per-second max, p99 of all turns,
 * per server over all runs) and writes the whole record as JSON.
 * BENCH_LIFELINE_NODE_ARGS adds node options to Lifeline's server only
 * (flags after a comma in name=path,--flag add to one entry only);
 * BENCH_SERVER_STDOUT=file keeps the servers' stdout (e.g. --trace-gc-nvp);
 * SWEEP_DELAY_KEEP_PROFILE=1 keeps --profile's .cpuprofile files;
 * SWEEP_DELAY_KEEP_TIMES=1 keeps each pause's monotonic-clock bounds (µs,
 * hrFromUs/hrToUs) to line up with `perf record -k CLOCK_MONOTONIC`.
 */

if (require.main !== module) {
  if (typeof process.send === 'function') installRecorder();
} else {
  main().catch((err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  });
}

// ---------------------------------------------------------------------------
// The recorder, inside the server
// ---------------------------------------------------------------------------

function installRecorder() {
  const { constants, performance, PerformanceObserver } = require('node:perf_hooks');
  const timersPromises = require('node:timers/promises');
  const TICK_MS = 1;
  let state;

  // Node's names for the kinds (V8's GCType bits): 4 is a full mark-compact, 8 a step of incremental
  // marking. (Until 2026-12-01 this table named 4 "incremental" and 8 "weak-callbacks".)
  const gcKinds = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks',
  };
  const gcObserver = new PerformanceObserver((list) => {
    if (!state) return;
    for (const e of list.getEntries()) {
      const kind = e.detail?.kind ?? e.kind;
      state.gcs.push({ start: e.startTime, ms: e.duration, kind: gcKinds[kind] ?? String(kind) });
    }
  });

  // Lifeline's sweep yields between slices through this function; a slice is
  // the time from one resume to the next yield.
  const originalSetImmediate = timersPromises.setImmediate;
  timersPromises.setImmediate = function timedYield(...args) {
    if (state) {
      // No timer runs inside a slice: a tick since the last resume means this
      // is a sweep's first slice, which began after that tick at the earliest.
      const first = Number.isNaN(state.resumedAt);
      // With the run-queue wait inside the slice: a slice stretched by another process is told from a long one.
      const waitMs = runQueueWaitMs();
      state.slices.push([first ? state.last : state.resumedAt, performance.now(), waitMs - (first ? state.lastWaitMs : state.resumedWaitMs)]);
    }
    return originalSetImmediate.apply(this, args).then((value) => {
      if (state) {
        state.resumedAt = performance.now();
        state.resumedWaitMs = runQueueWaitMs();
      }
      return value;
    });
  };

  // Run-queue wait of the main thread (ns, /proc/<pid>/task/<pid>/schedstat):
  // time the thread was runnable but another process had the core.
  const fs = require('node:fs');
  let schedFd;
  try {
    schedFd = fs.openSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'r');
  } catch {
    schedFd = undefined;
  }
  const schedBuf = Buffer.alloc(128);
  // The same file's first field: time the main thread ran. Process CPU minus
  // this is the other threads' (GC helpers, the profiler): pinned to the same
  // core, their CPU is run-queue wait for the main thread.
  let mainCpuMs = NaN;
  function runQueueWaitMs() {
    if (schedFd === undefined) return NaN;
    const len = fs.readSync(schedFd, schedBuf, 0, schedBuf.length, 0);
    const fields = schedBuf.toString('latin1', 0, len).split(' ');
    mainCpuMs = Number(fields[0]) / 1e6;
    return Number(fields[1]) / 1e6;
  }

  // Socket reads (each pong is one) and writes (each ping is one) per pause: a
  // turn that handles a backlog of reads is told from one that runs long code.
  // Every read reaches its stream through push() (stream_base_commons onStreamRead).
  const net = require('node:net');
  let reads = 0;
  let writes = 0;
  const push = net.Socket.prototype.push;
  net.Socket.prototype.push = function countedPush(chunk, encoding) {
    if (chunk !== null) reads++;
    return push.call(this, chunk, encoding);
  };
  const write = net.Socket.prototype.write;
  net.Socket.prototype.write = function countedWrite(...args) {
    writes++;
    return write.apply(this, args);
  };

  // Time the hypervisor took CPU 0 (where the bench pins the server) from this
  // VM: /proc/stat's steal column, in USER_HZ (10 ms) units. A vCPU taken away
  // stops the clock for nobody: the pause grows while neither the main thread
  // nor any other task ran, so neither its CPU nor its run-queue wait shows it.
  let statFd;
  try {
    statFd = fs.openSync('/proc/stat', 'r');
  } catch {
    statFd = undefined;
  }
  const statBuf = Buffer.alloc(512);
  const CPU_LINE = '\ncpu0 ';
  function stealMs() {
    if (statFd === undefined) return NaN;
    const text = statBuf.toString('latin1', 0, fs.readSync(statFd, statBuf, 0, statBuf.length, 0));
    const at = text.indexOf(CPU_LINE);
    if (at < 0) return NaN;
    // cpuN user nice system idle iowait irq softirq steal ...
    return Number(text.slice(at + CPU_LINE.length, text.indexOf('\n', at + 1)).split(' ')[7]) * 10;
  }

  function doubled(array) {
    const bigger = new Float64Array(array.length * 2);
    bigger.set(array);
    return bigger;
  }

  let timer;
  function tick() {
    const now = performance.now();
    const delay = Math.max(0, now - state.last - TICK_MS);
    const cpu = process.cpuUsage();
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const systemMs = cpu.system / 1000;
    const waitMs = runQueueWaitMs();
    const mainMs = mainCpuMs;
    const steal = stealMs();
    // What the turn held, as differences since the last tick.
    const cpuDelta = cpuMs - state.lastCpuMs;
    const waitDelta = waitMs - state.lastWaitMs;
    const mainDelta = mainMs - state.lastMainCpuMs;
    // The same turn without the time another process held the core: what the server itself took.
    const own = Number.isNaN(waitMs) ? delay : Math.max(0, delay - waitDelta);
    // And without the time the hypervisor held the vCPU, when the kernel counted
    // steal in the turn: the part of the turn in which the main thread neither
    // ran nor waited for the core, less what the process's other threads ran
    // (the main thread may have been waiting for them, e.g. a GC helper), at
    // most the steal counted (+10 ms: /proc/stat has 10 ms units).
    // (Main thread's CPU plus the other threads' is the process's CPU.)
    const stolenMs = steal > state.lastStealMs ? Math.min(steal - state.lastStealMs + 10, Math.max(0, delay - waitDelta - cpuDelta)) : 0;
    const ownLessSteal = Math.max(0, own - stolenMs);
    // The strictest: the CPU the process's own threads took in the turn, at most the turn. On a
    // pinned core the main thread also waits in the run queue behind its own GC helpers, which
    // "own" above subtracts as if another process held the core; this counts them.
    const processMs = Math.min(delay, cpuDelta);
    if (delay >= state.thresholdMs) {
      state.pauses.push({
        from: state.last,
        to: now,
        ms: delay,
        cpuMs: cpuDelta,
        // Of that, in the kernel (process-wide; the kernel splits user/system by tick samples, so
        // this is coarse): socket writes on loopback carry the receiver's TCP work too.
        systemMs: systemMs - state.lastSystemMs,
        runQueueMs: waitDelta,
        mainCpuMs: mainDelta,
        stealMs: steal - state.lastStealMs,
        stolenMs,
        reads: reads - state.lastReads,
        writes: writes - state.lastWrites,
      });
    }
    state.lastStealMs = steal;
    state.lastReads = reads;
    state.lastWrites = writes;
    state.last = now;
    state.lastCpuMs = cpuMs;
    state.lastSystemMs = systemMs;
    state.lastWaitMs = waitMs;
    state.lastMainCpuMs = mainMs;
    state.resumedAt = NaN;
    if (state.n === state.delays.length) {
      state.delays = doubled(state.delays);
      state.ownDelays = doubled(state.ownDelays);
      state.ownLessStealDelays = doubled(state.ownLessStealDelays);
    }
    state.ownDelays[state.n] = own;
    state.ownLessStealDelays[state.n] = ownLessSteal;
    if (processMs > state.processMax) state.processMax = processMs;
    state.delays[state.n++] = delay;
    const second = Math.floor((now - state.t0) / 1000);
    if (second < state.perSecondMax.length) {
      if (delay > state.perSecondMax[second]) state.perSecondMax[second] = delay;
      if (own > state.perSecondOwnMax[second]) state.perSecondOwnMax[second] = own;
      if (ownLessSteal > state.perSecondOwnLessStealMax[second]) state.perSecondOwnLessStealMax[second] = ownLessSteal;
      if (processMs > state.perSecondProcessMax[second]) state.perSecondProcessMax[second] = processMs;
    }
  }

  const handlers = {
    async start({ seconds, thresholdMs, alloc }) {
      if (alloc) await startAllocationSampling();
      const t0 = performance.now();
      state = {
        t0,
        last: t0,
        thresholdMs,
        delays: new Float64Array(1 << 16),
        ownDelays: new Float64Array(1 << 16),
        ownLessStealDelays: new Float64Array(1 << 16),
        perSecondOwnMax: new Array(seconds).fill(0),
        perSecondOwnLessStealMax: new Array(seconds).fill(0),
        perSecondProcessMax: new Array(seconds).fill(0),
        processMax: 0,
        n: 0,
        perSecondMax: new Array(seconds).fill(0),
        pauses: [],
        gcs: [],
        slices: [],
        resumedAt: NaN,
        resumedWaitMs: NaN,
        lastCpuMs: 0,
        lastMainCpuMs: 0,
        lastWaitMs: 0,
        lastReads: reads,
        lastWrites: writes,
        startReads: reads,
        startWrites: writes,
        // performance.now() + this = µs of the monotonic clock V8's profiler stamps samples with.
        hrOffsetUs: Number(process.hrtime.bigint() / 1000n) - t0 * 1000,
      };
      gcObserver.observe({ entryTypes: ['gc'] });
      const cpu = process.cpuUsage();
      state.lastCpuMs = (cpu.user + cpu.system) / 1000;
      state.lastSystemMs = cpu.system / 1000;
      state.lastWaitMs = runQueueWaitMs();
      state.lastMainCpuMs = mainCpuMs;
      state.lastStealMs = stealMs();
      state.startStealMs = state.lastStealMs;
      state.startWaitMs = state.lastWaitMs;
      timer = setInterval(tick, TICK_MS);
      return { t0 };
    },
    async stop() {
      clearInterval(timer);
      gcObserver.disconnect();
      const allocation = session ? await stopAllocationSampling() : undefined;
      const s = state;
      state = undefined;
      const delays = s.delays.slice(0, s.n).sort();
      const ownDelays = s.ownDelays.slice(0, s.n).sort();
      const ownLessStealDelays = s.ownLessStealDelays.slice(0, s.n).sort();
      const pct = (p, a = delays) => a[Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1))];
      const rel = (t) => Math.round((t - s.t0) * 1000) / 1000;
      const slices = s.slices.filter(([a, b]) => b >= s.t0 && !Number.isNaN(a));
      const sliceMs = slices.map(([a, b]) => b - a).sort((a, b) => a - b);
      const sliceOwnMs = slices.map(([a, b, w]) => Math.max(0, b - a - w)).sort((a, b) => a - b);
      return {
        turns: s.n,
        p50: pct(50),
        p99: pct(99),
        p999: pct(99.9),
        max: delays[delays.length - 1] ?? 0,
        perSecondMax: s.perSecondMax,
        // Without the run-queue wait (another process on the core): what the server's own work took.
        own: { p99: pct(99, ownDelays), max: ownDelays[ownDelays.length - 1] ?? 0, perSecondMax: s.perSecondOwnMax },
        // Also without the hypervisor's steal (see tick()); NaN-free only where /proc/stat exists.
        ownLessSteal: {
          p99: pct(99, ownLessStealDelays),
          max: ownLessStealDelays[ownLessStealDelays.length - 1] ?? 0,
          perSecondMax: s.perSecondOwnLessStealMax,
        },
        stealMs: round3(stealMs() - s.startStealMs),
        // The CPU of the process's own threads in a turn, at most the turn (see tick()).
        process: { max: round3(s.processMax), perSecondMax: s.perSecondProcessMax },
        runQueueMs: round3(runQueueWaitMs() - s.startWaitMs),
        reads: reads - s.startReads,
        writes: writes - s.startWrites,
        slices: {
          n: sliceMs.length,
          p50: sliceMs[Math.floor(sliceMs.length / 2)] ?? null,
          max: sliceMs[sliceMs.length - 1] ?? null,
          // Each slice without the run-queue wait inside it.
          own: {
            p99: sliceOwnMs[Math.min(sliceOwnMs.length - 1, Math.ceil(0.99 * sliceOwnMs.length) - 1)] ?? null,
            max: sliceOwnMs[sliceOwnMs.length - 1] ?? null,
          },
        },
        gc: summarizeGcs(s.gcs),
        ...(allocation && { allocation }),
        pauses: s.pauses.map((p) => ({
          at: rel(p.from),
          ms: round3(p.ms),
          // CPU of the whole process (GC threads included) and run-queue wait of the main thread during the gap.
          cpuMs: round3(p.cpuMs),
          systemMs: round3(p.systemMs),
          mainCpuMs: round3(p.mainCpuMs),
          runQueueMs: round3(p.runQueueMs),
          stealMs: p.stealMs,
          stolenMs: round3(p.stolenMs),
          reads: p.reads,
          writes: p.writes,
          hrFromUs: p.from * 1000 + s.hrOffsetUs,
          hrToUs: p.to * 1000 + s.hrOffsetUs,
          gcs: s.gcs
            .filter((g) => g.start < p.to && g.start + g.ms > p.from)
            .map((g) => `${g.kind} ${g.ms.toFixed(1)}`),
          slices: slices.filter(([a, b]) => a < p.to && b > p.from).map(([a, b]) => round3(b - a)),
          sliceRunQueueMs: slices.filter(([a, b]) => a < p.to && b > p.from).map(([, , w]) => round3(w)),
        })),
      };
    },
  };

  // Sampling heap profiler: who allocates, including what scavenges collect.
  let session;
  function post(method, params) {
    return new Promise((resolve, reject) => session.post(method, params, (err, r) => (err ? reject(err) : resolve(r))));
  }
  async function startAllocationSampling() {
    const inspector = require('node:inspector');
    session = new inspector.Session();
    session.connect();
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', {
      samplingInterval: 16_384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  async function stopAllocationSampling() {
    const { profile } = await post('HeapProfiler.stopSampling');
    session.disconnect();
    session = undefined;
    const bySite = new Map();
    let total = 0;
    const walk = (node, parent) => {
      const f = node.callFrame;
      const name = `${f.functionName || '(anonymous)'} ${f.url ? `${require('node:path').basename(f.url)}:${f.lineNumber + 1}` : ''}`;
      // Self size per function, with its caller: a Buffer allocated by ws's sender is told from one by the receiver.
      const key = `${name} <- ${parent}`;
      if (node.selfSize > 0) {
        bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
        total += node.selfSize;
      }
      for (const child of node.children) walk(child, name);
    };
    walk(profile.head, '');
    return {
      totalMB: round3(total / 1048576),
      top: [...bySite]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 40)
        .map(([site, bytes]) => ({ site, MB: round3(bytes / 1048576) })),
    };
  }

  function summarizeGcs(gcs) {
    const out = {};
    for (const g of gcs) {
      const o = (out[g.kind] ??= { n: 0, totalMs: 0, maxMs: 0 });
      o.n++;
      o.totalMs = round3(o.totalMs + g.ms);
      o.maxMs = round3(Math.max(o.maxMs, g.ms));
    }
    return out;
  }

  process.on('message', (msg) => {
    if (!msg || msg.type !== 'sweep-delay') return;
    Promise.resolve()
      .then(() => handlers[msg.cmd](msg.args || {}))
      .then(
        (result) => process.send({ type: 'sweep-delay', id: msg.id, ok: true, result }),
        (err) => process.send({ type: 'sweep-delay', id: msg.id, ok: false, error: String(err?.stack ?? err) }),
      );
  });
}

function round3(v) {
  return Math.round(v * 1000) / 1000;
}

// ---------------------------------------------------------------------------
// The runner
// ---------------------------------------------------------------------------

async function main() {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const { execFileSync } = require('node:child_process');
  const { LoadGen, ROOT, ServerProcess, canPin, installExitHooks, pinSelf, sleep } = require('../lib/harness');
  const { SERVERS } = require('../lib/servers');
  const { percentile } = require('../lib/stats');

  const argv = process.argv.slice(2);
  const args = Object.fromEntries(
    argv.filter((a) => a.startsWith('--')).map((a) => {
      const [k, v] = a.slice(2).split('=');
      return [k, v ?? 'true'];
    }),
  );
  if (args.help) {
    process.stdout.write(`${require('node:fs').readFileSync(__filename, 'utf8').split('*/')[0]}*/\n`);
    return;
  }
  const n = Number(args.n ?? 19_000);
  const runs = Number(args.runs ?? 5);
  const seconds = Number(args.seconds ?? 60);
  const thresholdMs = Number(args.threshold ?? 5);
  const hb = { intervalMs: Number(args.interval ?? 1_000), timeoutMs: Number(args.timeout ?? 500) };
  const profile = args.profile === 'true';
  const alloc = args.alloc === 'true';
  const out = path.resolve(args.out ?? path.join(ROOT, 'bench', 'results', 'sweep-delay.json'));
  const serverIds = (args.servers ?? 'lifeline,plain-ws').split(',');
  const entries = argv.filter((a) => !a.startsWith('--') && a.includes('='));

  const lifelineArgs = (process.env.BENCH_LIFELINE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const defs = [];
  for (const id of serverIds) {
    const def = SERVERS.find((s) => s.id === id);
    if (!def) throw new Error(`unknown server ${id}`);
    if (id === 'lifeline' && entries.length > 0) {
      for (const pair of entries) {
        // name=path[,--node-flag...][,VAR=value...]: flags and environment for this entry only, flags after
        // BENCH_LIFELINE_NODE_ARGS (an A/B of V8 flags, or of e.g. GLIBC_TUNABLES, in one run).
        const [name, spec] = pair.split(/=(.*)/s);
        const [entry, ...rest] = spec.split(',');
        const flags = rest.filter((a) => a.startsWith('-'));
        const extra = Object.fromEntries(rest.filter((a) => !a.startsWith('-')).map((kv) => kv.split(/=(.*)/s).slice(0, 2)));
        const env = (h) => ({ ...def.env(h), ...extra });
        defs.push({ ...def, id: name, label: name, entry: path.resolve(entry), nodeArgs: [...lifelineArgs, ...flags], env });
      }
    } else defs.push({ ...def, nodeArgs: id === 'lifeline' ? lifelineArgs : [] });
  }

  installExitHooks();
  const pin = canPin();
  if (pin) pinSelf(1);
  const addresses = Array.from({ length: 50 }, (_, i) => `127.0.0.${i + 2}`);
  const self = path.resolve(__filename);
  let git = {};
  try {
    git = {
      commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim(),
      dirty: execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT }).toString().trim() !== '',
    };
  } catch {
    // not a checkout
  }
  const record = {
    meta: {
      startedAt: new Date().toISOString(),
      command: `node bench/tools/sweep-delay.js ${argv.join(' ')}`.trim(),
      lifelineNodeArgs: lifelineArgs,
      git,
      node: process.version,
      n,
      runs,
      seconds,
      thresholdMs,
      heartbeat: hb,
      profile,
      alloc,
      pinning: pin ? 'server on CPU 0, load generators and runner on CPU 1' : 'none',
      loadAverageAtStart: os.loadavg().map((v) => round3(v)),
    },
    runs: [],
  };
  const say = (text) => process.stdout.write(`${text}\n`);
  say(`sweep-delay: N=${n}, ${runs} runs × ${seconds} s, interval ${hb.intervalMs} ms, load average ${os.loadavg()[0].toFixed(2)}`);

  for (let r = 1; r <= runs; r++) {
    for (const def of defs) {
      const result = await runOnce(def, r);
      record.runs.push({ run: r, server: def.id, loadAverage: round3(os.loadavg()[0]), ...result });
      const worst = [...result.pauses].sort((a, b) => b.ms - a.ms)[0];
      say(
        `run ${r} ${def.id.padEnd(10)} clients ${result.clients}  max ${result.max.toFixed(1)} ms  p99 ${result.p99.toFixed(2)}` +
          `  per-second max p50 ${percentile([...result.perSecondMax].sort((a, b) => a - b), 50).toFixed(1)}` +
          `  without run-queue wait: max ${result.own.max.toFixed(1)} p99 ${result.own.p99.toFixed(2)}` +
          `  and steal: max ${result.ownLessSteal.max.toFixed(1)} (steal ${result.stealMs} ms)` +
          `  process CPU in a turn: max ${result.process.max.toFixed(1)}` +
          `  run queue ${(result.runQueueMs / seconds / 10).toFixed(1)}%` +
          `  pauses ≥ ${thresholdMs} ms: ${result.pauses.length}` +
          (result.slices.n ? `  slices max ${result.slices.max.toFixed(1)} (without run-queue wait ${result.slices.own.max.toFixed(1)})` : '') +
          (worst ? `  worst: ${describe(worst)}` : '') +
          `  (load ${os.loadavg()[0].toFixed(2)})`,
      );
      if (result.allocation) {
        say(`  allocated ${result.allocation.totalMB} MB in ${seconds} s (sampled); scavenges ${result.gc.scavenge?.n ?? 0}; top sites:`);
        for (const a of result.allocation.top.slice(0, 25)) say(`    ${a.MB.toFixed(1).padStart(7)} MB  ${a.site}`);
      }
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, `${JSON.stringify(record, null, 1)}\n`);
      await sleep(500);
    }
  }

  say('');
  say(
    `| Server | Runs | Per-second max p50 / p99 / max (ms) | All turns p99 (ms) | Max per run (ms) | Pauses ≥ ${thresholdMs} ms per minute` +
      ' | Without run-queue wait: per-second max p50 / p99 / max (ms) | Max per run (ms) | Run-queue wait (% of time)' +
      ' | Without run-queue wait and steal: max per run (ms) | Steal on CPU 0 (% of time)' +
      ' | Process CPU in a turn: per-second max p50 / p99, max per run (ms) |',
  );
  say('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  record.summary = {};
  for (const def of defs) {
    const rs = record.runs.filter((x) => x.server === def.id);
    const perSecond = rs.flatMap((x) => x.perSecondMax).sort((a, b) => a - b);
    const p99s = rs.map((x) => x.p99).sort((a, b) => a - b);
    const ownPerSecond = rs.flatMap((x) => x.own.perSecondMax).sort((a, b) => a - b);
    const processPerSecond = rs.flatMap((x) => x.process.perSecondMax).sort((a, b) => a - b);
    const summary = {
      perSecondMax: { p50: percentile(perSecond, 50), p99: percentile(perSecond, 99), max: perSecond[perSecond.length - 1] },
      medianP99: percentile(p99s, 50),
      maxPerRun: rs.map((x) => round3(x.max)),
      pausesPerMinute: (rs.reduce((s, x) => s + x.pauses.length, 0) / rs.length) * (60 / seconds),
      own: {
        perSecondMax: {
          p50: percentile(ownPerSecond, 50),
          p99: percentile(ownPerSecond, 99),
          max: ownPerSecond[ownPerSecond.length - 1],
        },
        maxPerRun: rs.map((x) => round3(x.own.max)),
      },
      ownLessSteal: { maxPerRun: rs.map((x) => round3(x.ownLessSteal.max)) },
      process: {
        perSecondMax: { p50: percentile(processPerSecond, 50), p99: percentile(processPerSecond, 99) },
        maxPerRun: rs.map((x) => x.process.max),
      },
      stealPercent: round3(rs.reduce((s, x) => s + x.stealMs, 0) / (rs.length * seconds * 10)),
      runQueuePercent: round3(rs.reduce((s, x) => s + x.runQueueMs, 0) / (rs.length * seconds * 10)),
    };
    record.summary[def.id] = summary;
    const f = (v) => v.toFixed(1);
    say(
      `| ${def.label} | ${rs.length} | ${f(summary.perSecondMax.p50)} / ${f(summary.perSecondMax.p99)} / ${f(summary.perSecondMax.max)}` +
        ` | ${summary.medianP99.toFixed(2)} | ${summary.maxPerRun.map(f).join(', ')} | ${summary.pausesPerMinute.toFixed(1)}` +
        ` | ${f(summary.own.perSecondMax.p50)} / ${f(summary.own.perSecondMax.p99)} / ${f(summary.own.perSecondMax.max)}` +
        ` | ${summary.own.maxPerRun.map(f).join(', ')} | ${summary.runQueuePercent.toFixed(1)}` +
        ` | ${summary.ownLessSteal.maxPerRun.map(f).join(', ')} | ${summary.stealPercent.toFixed(1)}` +
        ` | ${f(summary.process.perSecondMax.p50)} / ${f(summary.process.perSecondMax.p99)}, ${summary.process.maxPerRun.map(f).join(', ')} |`,
    );
  }
  for (const def of defs) {
    const worst = record.runs
      .filter((x) => x.server === def.id)
      .flatMap((x) => x.pauses.map((p) => ({ ...p, run: x.run })))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 8);
    if (worst.length === 0) continue;
    say(`\n${def.label}: the longest pauses`);
    for (const p of worst) say(`  run ${p.run} at ${(p.at / 1000).toFixed(3)} s: ${describe(p)}`);
  }
  fs.writeFileSync(out, `${JSON.stringify(record, null, 1)}\n`);
  say(`\nwritten: ${path.relative(process.cwd(), out)}`);
  process.exit(0);

  function describe(p) {
    const parts = [
      `${p.ms.toFixed(1)} ms (cpu ${p.cpuMs.toFixed(1)} of which system ${p.systemMs.toFixed(1)}` +
        (p.mainCpuMs === undefined ? '' : `, main thread ${p.mainCpuMs.toFixed(1)}`) +
        `, run queue ${p.runQueueMs.toFixed(1)}` +
        (p.stealMs === undefined ? '' : `, steal ${p.stealMs}${p.stolenMs ? `, taken as stolen ${p.stolenMs.toFixed(1)}` : ''}`) +
        ')' +
        (p.reads === undefined ? '' : `; ${p.reads} reads, ${p.writes} writes`),
    ];
    if (p.gcs.length) parts.push(`gc: ${p.gcs.join(' + ')} ms`);
    if (p.slices.length) {
      const i = p.slices.indexOf(Math.max(...p.slices));
      const wait = p.sliceRunQueueMs?.[i];
      parts.push(
        `${p.slices.length} slice(s), longest ${p.slices[i].toFixed(1)} ms` + (wait === undefined ? '' : ` (run queue ${wait.toFixed(1)} of it)`),
      );
    }
    if (p.top) parts.push(`cpu: ${p.top}`);
    if (!p.gcs.length && !p.slices.length && !p.top) parts.push('no gc, no slice');
    return parts.join('; ');
  }

  async function runOnce(def, r) {
    const server = await ServerProcess.start(def, {
      env: hb,
      cpu: 0,
      pin,
      nodeArgs: ['-r', self, ...(def.nodeArgs ?? [])],
    });
    const lg = await LoadGen.start({ workers: 3, kind: def.client, url: server.wsUrl(def.client), addresses, cpu: 1, pin });
    try {
      const connected = await lg.all('connect', (i) => ({ count: lg.split(n)[i], concurrency: 64 }));
      const opened = connected.reduce((s, c) => s + c.opened, 0);
      await sleep(2 * hb.intervalMs + 1_000);
      const h0 = await lg.all('health');
      // More settling after the connect wave: until this, a run's first 250 ms often held its
      // longest pause (a turn reading a backlog of 1,166 pongs, for one).
      await sleep(2_000);
      if (profile) await server.probe('cpu-profile-start');
      await request(server, 'start', { seconds, thresholdMs, alloc });
      await sleep(seconds * 1000 + 50);
      const result = await request(server, 'stop', {});
      let profileFile;
      if (profile) {
        profileFile = path.join(os.tmpdir(), `sweep-delay-${process.pid}-${def.id}-${r}.cpuprofile`);
        await server.probe('cpu-profile-stop', { path: profileFile }, 120_000);
        attribute(result.pauses, JSON.parse(fs.readFileSync(profileFile, 'utf8')));
        if (process.env.SWEEP_DELAY_KEEP_PROFILE) result.profileFile = profileFile;
        else fs.rmSync(profileFile, { force: true });
      }
      const h1 = await lg.all('health');
      const lost = h1.reduce((s, h) => s + h.unexpectedCloses, 0) - h0.reduce((s, h) => s + h.unexpectedCloses, 0);
      const count = await server.probe('count');
      // Kept for a profile, or to line pauses up with `perf record -k CLOCK_MONOTONIC` (SWEEP_DELAY_KEEP_TIMES=1).
      if (!result.profileFile && !process.env.SWEEP_DELAY_KEEP_TIMES) {
        for (const p of result.pauses) {
          delete p.hrFromUs;
          delete p.hrToUs;
        }
      }
      return { clients: opened, countAtEnd: count, healthyLost: lost, ...result };
    } finally {
      await lg.stop();
      await server.kill();
    }
  }

  /** Names the functions (self time) the profiler sampled inside each pause. */
  function attribute(pauses, prof) {
    const byId = new Map(prof.nodes.map((node) => [node.id, node]));
    let t = prof.startTime;
    const times = prof.timeDeltas.map((d) => (t += d));
    for (const p of pauses) {
      const counts = new Map();
      for (let i = 0; i < times.length; i++) {
        if (times[i] < p.hrFromUs || times[i] > p.hrToUs) continue;
        const frame = byId.get(prof.samples[i]).callFrame;
        const name = `${frame.functionName || '(anonymous)'}${frame.url ? ` ${path.basename(frame.url)}:${frame.lineNumber + 1}` : ''}`;
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      p.top = [...counts]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([name, c]) => `${name} ${Math.round((c / total) * 100)}%`)
        .join(', ');
    }
  }

  function request(server, cmd, args) {
    return new Promise((resolve, reject) => {
      const id = Math.random();
      const onMessage = (msg) => {
        if (!msg || msg.type !== 'sweep-delay' || msg.id !== id) return;
        server.child.off('message', onMessage);
        if (msg.ok) resolve(msg.result);
        else reject(new Error(msg.error));
      };
      server.child.on('message', onMessage);
      server.child.send({ type: 'sweep-delay', id, cmd, args });
    });
  }
}
