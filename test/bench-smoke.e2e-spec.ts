/**
 * Smoke run of the benchmark harness (bench/run.js --smoke): every scenario
 * against all four servers with tiny sizes (50 clients), as three runs in
 * parallel (split by scenario, so each still has Lifeline and its plain-ws
 * baseline) to stay under 20 s. Checks that the harness works end to end
 * and that the JSON it writes holds sane figures; it judges no performance.
 * Needs dist/ (npm test builds it first).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const SERVERS = ['lifeline', 'plain-ws', 'socketio', 'nest-wsadapter'] as const;
/** The idle scenario also runs Lifeline with users, sessions and presence (bench/lib/servers.js). */
const IDLE_SERVERS = [...SERVERS, 'lifeline-users'] as const;
const WITH_HEARTBEAT = new Set<string>(['lifeline', 'plain-ws', 'socketio']);

interface Summary {
  n: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}
interface IdleResult {
  n: number;
  handshake: { opened: number; failed: number; rate: number; cpuPerHandshakeUs: number; latencyMs: Summary };
  memory: { clients: number; heapPerConnKB: number; rssPerConnKB: number };
  heartbeat: { clients: number; countAtEnd: number; cpuPerClientPerBeatUs: number };
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  lifelineMetrics?: { presenceUsers: number | null };
}
interface DeadVariant {
  zombies: number;
  reaped: number;
  stayed: number;
  timesMs: Summary;
}
interface DeadResult {
  n: number;
  mute: DeadVariant;
  destroy: DeadVariant;
}
interface ChurnResult {
  cycles: number;
  completed: number;
  failed: number;
  clientsLeft: number;
  heapDeltaPercent: number;
  handlesLeft: Record<string, number>;
}
interface FanoutPhase {
  expected: number;
  delivered: number;
  deliveredPerSec: number;
  latencyMs: Summary;
}
interface FanoutResult {
  subscribers: number;
  paced: FanoutPhase;
  burst: FanoutPhase;
}
interface Entry<T> {
  result?: T;
  error?: string;
}
interface BenchResults {
  meta: { config: { n: number; fanoutN: number } };
  scenarios: {
    idle?: Record<string, Entry<IdleResult>>;
    'dead-peers'?: Record<string, Entry<DeadResult>>;
    churn?: Record<string, Entry<ChurnResult>>;
    fanout?: Record<string, Entry<FanoutResult>>;
  };
  targets: { name: string; met: boolean | null }[];
}

function runBench(args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(ROOT, 'bench', 'run.js'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // The harness bounds itself; this is the backstop. SIGTERM lets it kill its children.
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

function ok<T>(entry: Entry<T> | undefined, what: string): T {
  if (!entry?.result) throw new Error(`${what}: ${entry?.error ?? 'no result'}`);
  return entry.result;
}

describe('benchmark harness (smoke)', () => {
  let dir: string;
  const runs: BenchResults[] = [];
  /** The run that holds a scenario (each run covers some scenarios and servers); for a server, the one that ran it. */
  const of = (scenario: keyof BenchResults['scenarios'], id?: string): BenchResults => {
    const run = runs.find((r) => r.scenarios[scenario] && (id === undefined || r.scenarios[scenario][id]));
    if (!run) throw new Error(`no run covered ${scenario}${id ? ` for ${id}` : ''}`);
    return run;
  };

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'main.js'))) throw new Error('dist/main.js missing: run `npm run build`');
    dir = mkdtempSync(join(tmpdir(), 'lifeline-bench-smoke-'));
    // The users variant's idle runs beside the others, so the idle run is no longer than before it.
    const groups = [
      `--scenarios=idle --servers=${SERVERS.join(',')}`,
      '--scenarios=idle --servers=lifeline-users',
      '--scenarios=dead-peers,fanout',
      '--scenarios=churn',
    ];
    const results = await Promise.all(
      groups.map((group, i) =>
        runBench(['--smoke', '--no-pin', ...group.split(' '), `--out=${join(dir, String(i))}`], 50_000),
      ),
    );
    results.forEach((run, i) => {
      const file = join(dir, String(i), 'latest.json');
      if (run.code !== 0 || !existsSync(file)) {
        throw new Error(`bench run ${i} (${groups[i]}) exited with ${run.code}:\n${run.output.slice(-4000)}`);
      }
      runs.push(JSON.parse(readFileSync(file, 'utf8')) as BenchResults);
    });
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(IDLE_SERVERS)('%s: idle figures are complete and plausible', (id) => {
    const r = ok(of('idle', id).scenarios.idle?.[id], `${id} idle`);
    const n = of('idle', id).meta.config.n;
    expect(r.handshake.opened).toBe(n);
    expect(r.handshake.failed).toBe(0);
    expect(r.handshake.rate).toBeGreaterThan(0);
    expect(r.handshake.cpuPerHandshakeUs).toBeGreaterThan(0);
    expect(r.handshake.latencyMs.n).toBe(n);
    expect(r.handshake.latencyMs.p99).toBeGreaterThan(0);
    expect(r.memory.clients).toBe(n);
    expect(r.memory.heapPerConnKB).toBeGreaterThan(0);
    expect(Number.isFinite(r.memory.rssPerConnKB)).toBe(true);
    expect(r.heartbeat.countAtEnd).toBe(n);
    expect(r.heartbeat.cpuPerClientPerBeatUs).toBeGreaterThan(0);
    expect(r.eventLoopDelayMs.p50).toBeGreaterThan(0);
    expect(r.eventLoopDelayMs.max).toBeGreaterThanOrEqual(r.eventLoopDelayMs.p99);
    // Every client a presence member of its own: a JWT user each, joined at connect (an anonymous
    // one joins only after its resume window, which may outlast this tiny run).
    if (id === 'lifeline-users') expect(r.lifelineMetrics?.presenceUsers).toBe(n);
  });

  it.each(SERVERS)('%s: dead peers are counted, and reaped where a heartbeat exists', (id) => {
    const r = ok(of('dead-peers').scenarios['dead-peers']?.[id], `${id} dead-peers`);
    expect(r.mute.zombies).toBeGreaterThan(0);
    // A destroyed socket ends with a FIN: every server notices that.
    expect(r.destroy.reaped).toBe(r.destroy.zombies);
    if (WITH_HEARTBEAT.has(id)) {
      expect(r.mute.reaped).toBe(r.mute.zombies);
      expect(r.mute.timesMs.n).toBe(r.mute.zombies);
      expect(r.mute.timesMs.max).toBeGreaterThan(0);
    } else {
      expect(r.mute.stayed).toBe(r.mute.zombies);
    }
  });

  it.each(SERVERS)('%s: churn completes and leaves no clients behind', (id) => {
    const r = ok(of('churn').scenarios.churn?.[id], `${id} churn`);
    expect(r.completed).toBe(r.cycles);
    expect(r.failed).toBe(0);
    expect(r.clientsLeft).toBe(0);
    expect(Number.isFinite(r.heapDeltaPercent)).toBe(true);
    expect(typeof r.handlesLeft).toBe('object');
  });

  it.each(SERVERS)('%s: fan-out delivers every message to every subscriber', (id) => {
    const r = ok(of('fanout').scenarios.fanout?.[id], `${id} fanout`);
    expect(r.subscribers).toBe(of('fanout').meta.config.fanoutN);
    for (const phase of [r.paced, r.burst]) {
      expect(phase.delivered).toBe(phase.expected);
      expect(phase.deliveredPerSec).toBeGreaterThan(0);
      expect(phase.latencyMs.p99).toBeGreaterThan(0);
    }
  });

  it('evaluates the targets for Lifeline against plain ws', () => {
    const names = runs.flatMap((r) => r.targets.map((t) => t.name));
    expect(names).toEqual(
      expect.arrayContaining([
        'Server CPU per handshake vs plain ws',
        'Dead peers (muted) reaped',
        'Churn: registry after the run',
      ]),
    );
  });
});
