#!/usr/bin/env node
'use strict';
/**
 * Lifeline benchmark suite. `npm run bench` builds dist/ and runs this.
 *
 *   node bench/run.js [--quick | --smoke] [--scenarios=idle,dead-peers,churn,fanout]
 *                     [--servers=lifeline,plain-ws,socketio,nest-wsadapter]
 *                     [--out=bench/results] [--no-doc] [--no-pin] [--profile]
 *
 * Every figure has a BENCH_* environment override (see DEFAULTS below), e.g.
 * BENCH_N=5000. Every run is bounded: each scenario/server pair has a time
 * limit, and so has the whole run; children are killed on every way out.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {
  LoadGen,
  ROOT,
  ServerProcess,
  canPin,
  installExitHooks,
  killAll,
  machineCpuMs,
  pinSelf,
  sleep,
  usage,
  withTimeout,
} = require('./lib/harness');
const { allTables, benchmarksMarkdown, evaluateTargets, label, targetsTable, writeBenchmarksDoc } = require('./lib/report');
const SCENARIOS = require('./lib/scenarios');
const { SERVERS } = require('./lib/servers');
const { chart } = require('./lib/svg');

/** Per run, so concurrent runs (a smoke test during a full run) do not collide. */
const SNAPSHOT_DIR = path.join(ROOT, 'bench', '.run', String(process.pid));
const SERVER_CPU = 0;
const LOADGEN_CPU = 1;

/** Defaults of a full run; name -> [value, env override]. */
const DEFAULTS = {
  n: [19_000, 'BENCH_N'],
  intervalMs: [1_000, 'BENCH_INTERVAL_MS'],
  timeoutMs: [500, 'BENCH_TIMEOUT_MS'],
  longIntervalMs: [600_000, 'BENCH_LONG_INTERVAL_MS'],
  windowMs: [10_000, 'BENCH_WINDOW_MS'],
  idleRepeats: [3, 'BENCH_IDLE_REPEATS'],
  connectConcurrency: [64, 'BENCH_CONNECT_CONCURRENCY'],
  perWorker: [7_000, 'BENCH_PER_WORKER'],
  addresses: [50, 'BENCH_ADDRESSES'],
  zombieShare: [0.05, 'BENCH_ZOMBIE_SHARE'],
  pollMs: [20, 'BENCH_POLL_MS'],
  deadSlackMs: [1_000, 'BENCH_DEAD_SLACK_MS'],
  pauseMs: [300, 'BENCH_PAUSE_MS'],
  churnCycles: [100_000, 'BENCH_CHURN_CYCLES'],
  churnWarmup: [2_000, 'BENCH_CHURN_WARMUP'],
  churnConcurrency: [50, 'BENCH_CHURN_CONCURRENCY'],
  churnWorkers: [2, 'BENCH_CHURN_WORKERS'],
  fanoutN: [10_000, 'BENCH_FANOUT_N'],
  fanoutIntervalMs: [5_000, 'BENCH_FANOUT_INTERVAL_MS'],
  fanoutTimeoutMs: [2_500, 'BENCH_FANOUT_TIMEOUT_MS'],
  fanoutMessages: [50, 'BENCH_FANOUT_MESSAGES'],
  fanoutPaceMs: [200, 'BENCH_FANOUT_PACE_MS'],
  fanoutBurst: [50, 'BENCH_FANOUT_BURST'],
  fanoutStallMs: [5_000, 'BENCH_FANOUT_STALL_MS'],
  // Lifeline's SESSION_TTL_MS in churn, whose settle then waits its sessions out (0: as shipped, no wait).
  churnSessionTtlMs: [2_000, 'BENCH_CHURN_SESSION_TTL_MS'],
  scenarioTimeoutS: [420, 'BENCH_SCENARIO_TIMEOUT_S'],
  totalTimeoutS: [2_100, 'BENCH_TOTAL_TIMEOUT_S'],
};

const PRESETS = {
  quick: {
    n: 2_000,
    idleRepeats: 1,
    windowMs: 5_000,
    churnCycles: 10_000,
    churnWarmup: 500,
    fanoutN: 2_000,
    fanoutMessages: 20,
    fanoutBurst: 20,
    scenarioTimeoutS: 180,
    totalTimeoutS: 900,
  },
  smoke: {
    n: 50,
    idleRepeats: 1,
    intervalMs: 150,
    timeoutMs: 75,
    windowMs: 250,
    pauseMs: 30,
    connectConcurrency: 10,
    addresses: 4,
    zombieShare: 0.1,
    pollMs: 10,
    deadSlackMs: 100,
    churnCycles: 200,
    // 200 cycles keep ~50 KB of sessions; waiting them out (13 s a settle) would not fit the 30 s bound.
    churnSessionTtlMs: 0,
    churnWarmup: 40,
    churnConcurrency: 10,
    churnWorkers: 1,
    fanoutN: 50,
    fanoutIntervalMs: 300,
    fanoutTimeoutMs: 150,
    fanoutMessages: 5,
    fanoutPaceMs: 20,
    fanoutBurst: 5,
    fanoutStallMs: 2_000,
    scenarioTimeoutS: 30,
    totalTimeoutS: 120,
  },
};

const HELP = `Usage: node bench/run.js [options]   (npm run bench -- [options])

  --quick                 small run (N=2,000, 10,000 churn cycles)
  --smoke                 tiny run for the test suite (N=50); implies --no-doc
  --scenarios=a,b         ${Object.keys(SCENARIOS).join(', ')} (default: all)
  --servers=a,b           ${SERVERS.map((s) => s.id).join(', ')} (default: all)
  --out=DIR               results directory (default bench/results)
  --no-doc                do not rewrite BENCHMARKS.md
  --no-pin                do not pin processes to cores with taskset
  --profile               CPU profile + heap snapshots of the servers (bench/results/profiles)
  --sio-client=raw|official  Socket.IO load: raw protocol over ws (default) or socket.io-client
  --report                no run: rebuild chart.svg and BENCHMARKS.md from <out>/latest.json
                          (after editing bench/ANALYSIS.md, say)
  --help

A/B a candidate change: BENCH_LIFELINE_ENTRY=<other build>/main.js, BENCH_LIFELINE_NODE_ARGS="-r <preload>"

Environment overrides: ${Object.values(DEFAULTS)
  .map(([, env]) => env)
  .join(', ')}
`;

function parseArgs(argv) {
  const opts = { scenarios: Object.keys(SCENARIOS), servers: SERVERS.map((s) => s.id), doc: true, pin: true };
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, '').split('=');
    switch (key) {
      case 'quick':
      case 'smoke':
        opts.preset = key;
        if (key === 'smoke') opts.doc = false;
        break;
      case 'scenarios':
        opts.scenarios = value.split(',').filter(Boolean);
        break;
      case 'servers':
        opts.servers = value.split(',').filter(Boolean);
        break;
      case 'out':
        opts.out = path.resolve(value);
        break;
      case 'no-doc':
        opts.doc = false;
        break;
      case 'no-pin':
        opts.pin = false;
        break;
      case 'profile':
        opts.profile = true;
        break;
      case 'report':
        opts.reportOnly = true;
        break;
      case 'sio-client':
        if (!['raw', 'official'].includes(value)) throw new Error('--sio-client must be raw or official');
        opts.sioClient = value;
        break;
      case 'help':
      case 'h':
        process.stdout.write(HELP);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${arg}\n\n${HELP}`);
    }
  }
  for (const s of opts.scenarios) if (!SCENARIOS[s]) throw new Error(`unknown scenario ${s}`);
  for (const s of opts.servers) if (!SERVERS.some((d) => d.id === s)) throw new Error(`unknown server ${s}`);
  return opts;
}

function buildConfig(preset) {
  const cfg = {};
  const overrides = {};
  for (const [key, [value, env]] of Object.entries(DEFAULTS)) {
    cfg[key] = preset && PRESETS[preset][key] !== undefined ? PRESETS[preset][key] : value;
    if (process.env[env] !== undefined && process.env[env] !== '') {
      const v = Number(process.env[env]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${env} must be a number (got "${process.env[env]}")`);
      cfg[key] = v;
      overrides[env] = process.env[env];
    }
  }
  if (cfg.timeoutMs >= cfg.intervalMs) throw new Error('BENCH_TIMEOUT_MS must be less than BENCH_INTERVAL_MS');
  if (cfg.fanoutTimeoutMs >= cfg.fanoutIntervalMs) {
    throw new Error('BENCH_FANOUT_TIMEOUT_MS must be less than BENCH_FANOUT_INTERVAL_MS');
  }
  const workersFor = (clients) => Math.max(1, Math.ceil(clients / cfg.perWorker));
  cfg.workers = { idle: workersFor(cfg.n), fanout: workersFor(cfg.fanoutN + 1), churn: cfg.churnWorkers };
  return { cfg, overrides };
}

function machine() {
  const cpus = os.cpus();
  const version = (pkg) => {
    try {
      return require(path.join(ROOT, 'node_modules', pkg, 'package.json')).version;
    } catch {
      return 'n/a';
    }
  };
  let openFilesLimit = 'n/a';
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const [soft, hard] = line.replace('Max open files', '').trim().split(/\s+/);
    openFilesLimit = `${soft} soft / ${hard} hard`;
  } catch {
    // not Linux
  }
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    ramGB: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
    openFilesLimit,
    versions: Object.fromEntries(
      ['ws', 'socket.io', 'socket.io-client', '@nestjs/platform-ws', '@nestjs/core'].map((p) => [p, version(p)]),
    ),
    // Which ws each server really runs on: Nest's WsAdapter (so Lifeline) and
    // engine.io load their own nested copy when npm did not dedupe it.
    wsPerServer: {
      lifeline: version('@nestjs/platform-ws/node_modules/ws') === 'n/a' ? version('ws') : version('@nestjs/platform-ws/node_modules/ws'),
      'plain-ws': version('ws'),
      socketio: version('engine.io/node_modules/ws') === 'n/a' ? version('ws') : version('engine.io/node_modules/ws'),
      'nest-wsadapter':
        version('@nestjs/platform-ws/node_modules/ws') === 'n/a' ? version('ws') : version('@nestjs/platform-ws/node_modules/ws'),
    },
  };
}

function cpuMsOfSelf() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Median of every numeric leaf across results of the same shape (others: from the first). */
function medianOf(list) {
  const first = list[0];
  if (typeof first === 'number') {
    const values = list.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
    if (!values.length) return first;
    const mid = Math.floor(values.length / 2);
    return values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  }
  if (first && typeof first === 'object' && !Array.isArray(first) && !ArrayBuffer.isView(first)) {
    const out = {};
    for (const key of Object.keys(first)) out[key] = medianOf(list.map((x) => (x ? x[key] : undefined)));
    return out;
  }
  return first;
}

function gitInfo() {
  try {
    const { execFileSync } = require('node:child_process');
    const git = (...a) => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'src').length > 0;
    return { commit, srcDirty: dirty };
  } catch {
    return { commit: 'n/a', srcDirty: null };
  }
}

function sourceAddresses(count) {
  // 127.0.0.2 ... : every address has its own ~28k ephemeral ports.
  return Array.from({ length: count }, (_, i) => `127.0.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`);
}

function log(text) {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
}

function chartFor(results) {
  const idle = results.scenarios.idle ?? {};
  const ids = Object.keys(idle).filter((id) => idle[id].result);
  if (!ids.length) return undefined;
  const r = (id) => idle[id].result;
  const n = r(ids[0]).n;
  return chart({
    title: `Lifeline vs plain ws, Socket.IO and Nest WsAdapter — ${n.toLocaleString('en-US')} idle connections`,
    subtitle: `${results.meta.machine.cpus} × ${results.meta.machine.cpuModel}, Node ${results.meta.machine.node}, ${results.meta.startedAt.slice(0, 10)}`,
    panels: [
      {
        title: 'Memory per idle connection',
        unit: 'KB, after gc()',
        categories: ids.map(label),
        series: [
          { name: 'heap', values: ids.map((id) => r(id).memory.heapPerConnKB) },
          { name: 'RSS', values: ids.map((id) => r(id).memory.rssPerConnKB) },
        ],
      },
      {
        title: 'Handshake rate',
        unit: 'connections/s, server on one core',
        categories: ids.map(label),
        series: [{ name: 'rate', values: ids.map((id) => r(id).handshake.rate), color: '#10b981' }],
      },
      {
        title: 'Server CPU per handshake',
        unit: 'µs',
        categories: ids.map(label),
        series: [{ name: 'cpu', values: ids.map((id) => r(id).handshake.cpuPerHandshakeUs), color: '#f59e0b' }],
      },
      {
        title: `Server CPU per client per heartbeat (interval ${r(ids[0]).heartbeat.intervalMs} ms)`,
        unit: 'µs',
        categories: ids.map(label),
        series: [{ name: 'cpu', values: ids.map((id) => r(id).heartbeat.cpuPerClientPerBeatUs), color: '#8b5cf6' }],
      },
    ],
  });
}

/** Chart, tables on stdout and (unless --no-doc) BENCHMARKS.md, from a results object. */
function publish(results, outDir, opts) {
  const svg = chartFor(results);
  if (svg) fs.writeFileSync(path.join(outDir, 'chart.svg'), svg);
  process.stdout.write(`\n${allTables(results)}\n\n${targetsTable(results.targets)}\n\n`);
  if (opts.doc) {
    const notesFile = path.join(ROOT, 'bench', 'ANALYSIS.md');
    const notes = fs.existsSync(notesFile) ? fs.readFileSync(notesFile, 'utf8') : undefined;
    const chartPath = path.relative(ROOT, path.join(outDir, 'chart.svg')).split(path.sep).join('/');
    writeBenchmarksDoc(path.join(ROOT, 'BENCHMARKS.md'), benchmarksMarkdown(results, { chartPath, notes }));
    log('BENCHMARKS.md updated (between its bench markers)');
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.reportOnly) {
    const outDir = opts.out ?? path.join(ROOT, 'bench', 'results');
    const results = JSON.parse(fs.readFileSync(path.join(outDir, 'latest.json'), 'utf8'));
    results.targets = evaluateTargets(results);
    publish(results, outDir, opts);
    return 0;
  }
  const { cfg, overrides } = buildConfig(opts.preset);
  installExitHooks();

  const lifelineEntry = path.join(ROOT, 'dist', 'main.js');
  const lifelines = SERVERS.filter((s) => s.lifeline);
  if (lifelines.some((s) => opts.servers.includes(s.id))) {
    if (!fs.existsSync(lifelineEntry)) {
      throw new Error('dist/main.js not found: run `npm run build` first (npm run bench does)');
    }
    // Run Lifeline from a copy of dist/, so a rebuild during the run cannot
    // pull the service from under it. bench/.run/dist is git-ignored (dist/)
    // and resolves node_modules exactly as dist/ does.
    fs.rmSync(SNAPSHOT_DIR, { recursive: true, force: true });
    process.on('exit', removeSnapshot);
    fs.cpSync(path.join(ROOT, 'dist'), path.join(SNAPSHOT_DIR, 'dist'), { recursive: true });
    for (const def of lifelines) def.entry = path.join(SNAPSHOT_DIR, 'dist', 'main.js');
  }
  // A/B runs of a candidate change: another build of Lifeline, and/or extra
  // node options for it (e.g. a -r preload). Recorded in the results.
  for (const def of lifelines) {
    if (process.env.BENCH_LIFELINE_ENTRY) def.entry = path.resolve(process.env.BENCH_LIFELINE_ENTRY);
    if (process.env.BENCH_LIFELINE_NODE_ARGS) def.nodeArgs = process.env.BENCH_LIFELINE_NODE_ARGS.split(/\s+/).filter(Boolean);
  }
  if (opts.sioClient === 'official') SERVERS.find((s) => s.id === 'socketio').client = 'sio';
  const pin = opts.pin && canPin();
  if (pin) pinSelf(LOADGEN_CPU);
  const outDir = opts.out ?? path.join(ROOT, 'bench', 'results');
  const profileDir = path.join(outDir, 'profiles');
  fs.mkdirSync(outDir, { recursive: true });
  if (opts.profile) fs.mkdirSync(profileDir, { recursive: true });

  const started = new Date();
  const hardDeadline = Date.now() + cfg.totalTimeoutS * 1000;
  const addresses = sourceAddresses(cfg.addresses);
  const command = [
    ...Object.entries(overrides).map(([k, v]) => `${k}=${v}`),
    process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : 'node bench/run.js',
    ...(process.env.npm_lifecycle_event === 'bench' && process.argv.length > 2 ? ['--'] : []),
    ...process.argv.slice(2),
  ].join(' ');
  const results = {
    meta: {
      startedAt: started.toISOString(),
      command,
      machine: machine(),
      git: gitInfo(),
      ...((process.env.BENCH_LIFELINE_ENTRY || process.env.BENCH_LIFELINE_NODE_ARGS) && {
        lifelineOverride: { entry: process.env.BENCH_LIFELINE_ENTRY, nodeArgs: process.env.BENCH_LIFELINE_NODE_ARGS },
      }),
      loadAverageAtStart: os.loadavg().map((v) => Math.round(v * 100) / 100),
      pinning: pin ? `servers on CPU ${SERVER_CPU}, load generators and runner on CPU ${LOADGEN_CPU} (taskset)` : 'none',
      config: {
        ...cfg,
        preset: opts.preset ?? 'default',
        scenarios: opts.scenarios,
        servers: opts.servers,
        socketIoClient: opts.sioClient === 'official' ? 'socket.io-client' : 'raw protocol over ws',
      },
    },
    scenarios: {},
  };
  const load = os.loadavg()[0];
  if (load > 0.7) log(`warning: load average ${load.toFixed(2)} before the start: other work on this machine skews the figures`);
  log(`bench: ${opts.preset ?? 'full'} run, scenarios ${opts.scenarios.join(', ')}; servers ${opts.servers.join(', ')}; ${results.meta.pinning}`);

  const runOne = async (scenario, def) => {
    const remaining = hardDeadline - Date.now();
    if (remaining <= 0) return { error: 'skipped: total time limit reached' };
    const limitMs = Math.min(cfg.scenarioTimeoutS * 1000, remaining);
    const owned = { servers: [], loadgens: [] };
    const release = async () => {
      for (const s of owned.servers.splice(0)) await s.kill();
      for (const lg of owned.loadgens.splice(0)) await lg.stop();
      await sleep(cfg.pauseMs);
    };
    const run = {
      cfg,
      profile: Boolean(opts.profile),
      profileDir,
      log: (text) => log(`   ${def.label}: ${text}`),
      release,
      server: async (heartbeat) => {
        const s = await ServerProcess.start(def, { env: heartbeat, cpu: SERVER_CPU, pin, nodeArgs: def.nodeArgs ?? [] });
        owned.servers.push(s);
        return s;
      },
      loadgen: async (kind, server, clients, workers) => {
        const lg = await LoadGen.start({
          workers: workers ?? Math.max(1, Math.ceil(clients / cfg.perWorker)),
          kind,
          url: server.wsUrl(kind),
          addresses,
          cpu: LOADGEN_CPU,
          pin,
          auth: def.auth,
        });
        owned.loadgens.push(lg);
        return lg;
      },
    };
    const t0 = Date.now();
    const seconds = () => Math.round((Date.now() - t0) / 100) / 10;
    const m0 = machineCpuMs();
    const own0 = usage.childrenMs + cpuMsOfSelf();
    let entry;
    try {
      const result = await withTimeout(SCENARIOS[scenario](run, def), limitMs, `${scenario} / ${def.label}`);
      entry = { result, seconds: seconds() };
    } catch (err) {
      const output = owned.servers.map((s) => s.output()).filter(Boolean).join('\n');
      log(`   ${def.label}: FAILED ${err.message}${output ? `\n${output}` : ''}`);
      entry = { error: err.message, seconds: seconds() };
    } finally {
      await release();
    }
    const m1 = machineCpuMs();
    if (m0 && m1) {
      // Busy time of the whole machine that none of the bench's processes used.
      const foreign = Math.max(0, m1.busy - m0.busy - (usage.childrenMs + cpuMsOfSelf() - own0));
      entry.foreignCpuPercent = Math.round((foreign / Math.max(1, m1.total - m0.total)) * 1000) / 10;
      if (entry.foreignCpuPercent > 5) {
        log(`   ${def.label}: warning: ${entry.foreignCpuPercent}% of the machine's CPU went to other processes`);
      }
    }
    return entry;
  };

  for (const scenario of opts.scenarios) {
    // A server limited to some scenarios (the users variant: idle) sits out the others.
    const defs = opts.servers.map((id) => SERVERS.find((s) => s.id === id)).filter((d) => !d.scenarios || d.scenarios.includes(scenario));
    if (!defs.length) continue;
    // Idle carries the noise-sensitive ratios: run it several times,
    // interleaved across servers, and keep the median of every figure.
    const repeats = scenario === 'idle' ? Math.max(1, cfg.idleRepeats) : 1;
    const runs = Object.fromEntries(defs.map((d) => [d.id, []]));
    for (let rep = 1; rep <= repeats; rep++) {
      for (const def of defs) {
        log(`── ${scenario} / ${def.label}${repeats > 1 ? ` (run ${rep} of ${repeats})` : ''}`);
        runs[def.id].push(await runOne(scenario, def));
      }
    }
    results.scenarios[scenario] = Object.fromEntries(
      defs.map((d) => {
        const all = runs[d.id];
        const ok = all.filter((r) => r.result);
        if (!ok.length) return [d.id, all[all.length - 1]];
        if (all.length === 1) return [d.id, all[0]];
        return [
          d.id,
          {
            result: medianOf(ok.map((r) => r.result)),
            aggregate: `median of ${ok.length} runs`,
            foreignCpuPercent: Math.max(...all.map((r) => r.foreignCpuPercent ?? 0)),
            runs: all,
            seconds: all.reduce((t, r) => t + (r.seconds || 0), 0),
          },
        ];
      }),
    );
  }

  results.meta.finishedAt = new Date().toISOString();
  const foreign = Object.values(results.scenarios)
    .flatMap((byServer) => Object.values(byServer))
    .map((e) => e.foreignCpuPercent ?? 0);
  results.meta.foreignCpuPercentMax = foreign.length ? Math.max(...foreign) : null;
  results.meta.durationS = (Date.now() - started.getTime()) / 1000;
  results.targets = evaluateTargets(results);

  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const json = JSON.stringify(results, null, 2);
  fs.writeFileSync(path.join(outDir, `${stamp}.json`), json);
  fs.writeFileSync(path.join(outDir, 'latest.json'), json);
  publish(results, outDir, opts);
  log(`results: ${path.relative(process.cwd(), path.join(outDir, 'latest.json'))} (${Math.round(results.meta.durationS)} s)`);
  const failed = Object.values(results.scenarios).flatMap((byServer) => Object.values(byServer)).filter((e) => e.error);
  return failed.length ? 1 : 0;
}

function removeSnapshot() {
  fs.rmSync(SNAPSHOT_DIR, { recursive: true, force: true });
  try {
    fs.rmdirSync(path.dirname(SNAPSHOT_DIR)); // bench/.run, when no other run uses it
  } catch {
    // not empty, or gone
  }
}

function cleanUp() {
  killAll();
  removeSnapshot();
}

main().then(
  (code) => {
    cleanUp();
    process.exit(code);
  },
  (err) => {
    process.stderr.write(`bench: ${err.stack || err}\n`);
    cleanUp();
    process.exit(1);
  },
);
