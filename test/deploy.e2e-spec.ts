import { Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { validate } from 'dockerfile-utils';
import { Redis } from 'ioredis';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseCopy, parseDockerfile } from './support/dockerfile';
import { getJson } from './support/http';
import { freePort, waitUntilUp } from './support/service-process';
import { TestClient } from './support/ws-client';
import { waitFor } from './support/wait';

const ROOT = join(__dirname, '..');
const DOCKERFILE = join(ROOT, 'Dockerfile');
const MANIFESTS = join(ROOT, 'deploy', 'kubernetes');
const REDIS_URL = process.env.LIFELINE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Unprivileged on this host (the image's `node` user does not exist here). */
const NOBODY = 65534;
/** As root, the service is started as nobody; a CI that runs as another user is already non-root. */
const RUN_AS = process.getuid?.() === 0 ? NOBODY : (process.getuid?.() ?? NOBODY);

interface Manifest {
  kind: string;
  [key: string]: unknown;
}

function manifests(): { file: string; doc: Manifest }[] {
  return readdirSync(MANIFESTS)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(MANIFESTS, file), 'utf8')).map((d) => ({ file, doc: d.toJS() as Manifest })),
    );
}

function one<T>(kind: string): T {
  const found = manifests().filter((m) => m.doc.kind === kind);
  expect(found).toHaveLength(1);
  return found[0].doc as T;
}

const MODELS: Record<string, (doc: Manifest) => { validate(): void }> = {
  Deployment: (d) => new Deployment(d as never),
  Service: (d) => new Service(d as never),
  PodDisruptionBudget: (d) => new PodDisruptionBudget(d as never),
  ServiceMonitor: (d) => new ServiceMonitor(d as never),
  Secret: (d) => new Secret(d as never),
};

describe('deploy files', () => {
  const { stages } = parseDockerfile(DOCKERFILE);
  const runtime = stages[stages.length - 1];
  const deployment = one<Deployment>('Deployment');
  const container = deployment.spec!.template.spec!.containers[0];
  const env = Object.fromEntries((container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));

  it('the Dockerfile passes dockerfile-utils and has the shape the README promises', () => {
    const problems = validate(readFileSync(DOCKERFILE, 'utf8')).map((d) => `line ${d.range.start.line + 1}: ${typeof d.message === 'string' ? d.message : d.message.value}`);
    expect(problems).toEqual([]);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const keywords = runtime.instructions.map((i) => i.keyword);
    expect(runtime.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args)).toEqual([
      expect.stringMatching(/^npm ci --omit=dev\b/) as string,
    ]);
    const user = runtime.instructions.filter((i) => i.keyword === 'USER').pop()?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user!.split(':')[0]);
    expect(keywords.indexOf('USER')).toBeLessThan(keywords.indexOf('CMD'));
    expect(JSON.parse(runtime.instructions.find((i) => i.keyword === 'CMD')!.args)).toEqual(['node', 'dist/main.js']);
    expect(stages.flatMap((s) => s.instructions).some((i) => i.keyword === 'HEALTHCHECK')).toBe(false);
    // The build stage runs the steps of `npm run build` that make what the service serves: the
    // service itself and the status page (the client SDK's build is not part of the image).
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const steps = pkg.scripts.build.split('&&').map((step) => step.trim());
    expect(steps).toEqual(expect.arrayContaining(['nest build', 'npm run build:status']));
    const buildRuns = stages[0].instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(buildRuns).toContain(`npx nest build && ${pkg.scripts['build:status']}`);
    const buildCopies = stages[0].instructions.filter((i) => i.keyword === 'COPY').flatMap((i) => parseCopy(i.args).sources);
    expect(buildCopies).toContain(pkg.scripts['build:status'].split(' ').pop());
    expect(readFileSync(join(ROOT, '.dockerignore'), 'utf8')).toMatch(/^\*\*\/node_modules$/m);
  });

  it('the image sets the environment `npm start` sets (GLIBC_TUNABLES), and the bench runs Lifeline with it', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    // `VAR=${VAR:-default}` in the start script: the operator's value wins, else ours.
    const started = Object.fromEntries([...pkg.scripts.start.matchAll(/\b(\w+)=\$\{\1:-([^}]*)\}/g)].map(([, name, value]) => [name, value]));
    expect(started).toEqual({ GLIBC_TUNABLES: 'glibc.malloc.mxfast=0' });
    const image = imageEnv(runtime.instructions);
    for (const [name, value] of Object.entries(started)) expect({ name, value: image[name] }).toEqual({ name, value });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bench is CommonJS JavaScript
    const { shippedEnv } = require('../bench/lib/servers') as { shippedEnv: () => Record<string, string> };
    const saved = process.env.GLIBC_TUNABLES;
    delete process.env.GLIBC_TUNABLES;
    try {
      expect(shippedEnv()).toEqual(started);
    } finally {
      if (saved !== undefined) process.env.GLIBC_TUNABLES = saved;
    }
  });

  it('every manifest is valid against the Kubernetes (and Prometheus Operator) schemas', () => {
    const all = manifests();
    expect(all.map((m) => m.doc.kind).sort()).toEqual(['Deployment', 'PodDisruptionBudget', 'Secret', 'Service', 'ServiceMonitor']);
    for (const { file, doc } of all) {
      const model = MODELS[doc.kind];
      expect({ file, kind: doc.kind, known: model !== undefined }).toEqual({ file, kind: doc.kind, known: true });
      expect(() => model(doc).validate()).not.toThrow();
    }
    // A schema violation is caught (the check can fail).
    expect(() => MODELS.Deployment({ ...deployment, spec: { ...deployment.spec, replicas: 'three' } }).validate()).toThrow();
  });

  it('the values that must agree do: ports, probe paths, selectors, secret, security, grace > preStop + SHUTDOWN_GRACE_MS + cleanup step', () => {
    const podLabels = deployment.spec!.template.metadata!.labels!;
    expect(deployment.spec!.selector.matchLabels).toEqual(podLabels);
    const port = container.ports!.find((p) => p.name === 'http')!;
    expect(String(port.containerPort)).toBe(env.PORT);
    expect(runtime.instructions.find((i) => i.keyword === 'EXPOSE')?.args).toBe(env.PORT);
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(container.startupProbe?.httpGet?.port).toBe('http');

    const service = one<Service>('Service');
    expect(service.spec!.selector).toEqual(podLabels);
    expect(service.spec!.ports!.map((p) => p.targetPort)).toEqual(['http']);
    const pdb = one<PodDisruptionBudget>('PodDisruptionBudget');
    expect(pdb.spec!.selector!.matchLabels).toEqual(podLabels);
    const monitor = one<ServiceMonitor>('ServiceMonitor');
    expect(monitor.spec.selector.matchLabels).toEqual(service.metadata!.labels);
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: service.spec!.ports![0].name, path: '/metrics' })]);

    // Cluster mode: REDIS_URL from the Secret, NODE_ID unique per pod.
    const secret = one<Secret>('Secret');
    const redis = container.env!.find((e) => e.name === 'REDIS_URL')?.valueFrom?.secretKeyRef;
    expect(redis).toEqual({ name: secret.metadata!.name, key: 'url' });
    expect(Object.keys(secret.stringData ?? {})).toContain('url');
    expect(container.env!.find((e) => e.name === 'NODE_ID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');

    const pod = deployment.spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(pod.securityContext!.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(container.resources?.requests).toMatchObject({ cpu: expect.any(String) as string, memory: expect.any(String) as string });

    const preStop = container.lifecycle!.preStop!.exec!.command!;
    expect(preStop[0]).toBe('sleep');
    const preStopSeconds = Number(preStop[1]);
    const graceSeconds = pod.terminationGracePeriodSeconds!;
    expect(preStopSeconds).toBeGreaterThan(0);
    expect(graceSeconds * 1000).toBeGreaterThan(preStopSeconds * 1000 + Number(env.SHUTDOWN_GRACE_MS) + Number(env.CLEANUP_STEP_TIMEOUT_MS));
  });

  it("the image's steps, outside a container: clean copy, npm ci --omit=dev, non-root, the CMD; ready, SIGTERM → 1001, exit 0", async () => {
    const app = prepareImage(runtime.instructions);
    const port = await freePort();
    const prefix = `lifeline:test:${randomBytes(4).toString('hex')}:`;
    const childEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      ...imageEnv(runtime.instructions),
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      SHUTDOWN_GRACE_MS: '3000',
      LOG_LEVEL: 'warn',
      // What the Secret and the downward API give the pod.
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      NODE_ID: 'lifeline-7d9f-abcde',
    };
    const [command, ...args] = JSON.parse(runtime.instructions.find((i) => i.keyword === 'CMD')!.args) as string[];
    const [program, argv] =
      RUN_AS === NOBODY && process.getuid?.() === 0
        ? ['setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', command, ...args]]
        : [command, args];
    expect(RUN_AS).not.toBe(0);
    const child = spawn(program, argv, {
      cwd: app,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitUntilUp(`${base}/health/ready`, 20_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${output}`);
      });
      // Non-root: the process runs as nobody, and the copy is not writable by it.
      expect(readFileSync(`/proc/${child.pid}/status`, 'utf8')).toMatch(new RegExp(`^Uid:\\s+${RUN_AS}\\s`, 'm'));
      // Every path the manifests probe or scrape answers on the container port.
      // …and the status page's built assets are in the dist/ the image carries.
      for (const path of [container.startupProbe!.httpGet!.path!, '/health/ready', '/health/live', '/metrics', '/status', '/status/assets/status.js']) {
        expect({ path, status: (await getJson(base + path)).status }).toEqual({ path, status: 200 });
      }
      await waitFor(async () => (await getJson(`${base}/health`)).status === 200, 'GET /health 200 (redis up)', 10_000);
      expect((await getJson(`${base}/health`)).body).toMatchObject({ details: { redis: { status: 'up' } } });

      const clients = await Promise.all([0, 1].map(() => TestClient.join(`ws://127.0.0.1:${port}${env.WS_PATH ?? '/ws'}`)));
      await redis.connect();
      await waitFor(async () => (await redis.hlen(`${prefix}node:lifeline-7d9f-abcde:clients`)) === 2, 'both clients in Redis presence', 10_000);

      child.kill('SIGTERM');
      const codes = await Promise.all(clients.map((c) => c.closed));
      expect(codes).toEqual([1001, 1001]);
      expect(clients.map((c) => c.closeReason)).toEqual(['server shutting down', 'server shutting down']);
      const [code, signal] = await exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      // Cleanup ran: the node's lease, presence and membership are gone from Redis (resumable
      // sessions stay, by design, each with its TTL).
      expect(await redis.keys(`${prefix}node:*`)).toEqual([]);
      expect(await redis.sismember(`${prefix}nodes`, childEnv.NODE_ID)).toBe(0);
      // Presence members still in their grace are cluster state, not the node's: a survivor (or the
      // next node to start) ends the grace with one offline event (README "Presence").
      const clusterState = new Set([`${prefix}presence:users`, `${prefix}presence:leaving`, `${prefix}presence:nodes`]);
      for (const key of await redis.keys(`${prefix}*`)) {
        if (!clusterState.has(key)) expect({ key, ttl: (await redis.pttl(key)) > 0 }).toEqual({ key, ttl: true });
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      const leftovers = redis.status === 'ready' ? await redis.keys(`${prefix}*`) : [];
      if (leftovers.length > 0) await redis.del(...leftovers);
      redis.disconnect();
    }
    // A cold run installs the production dependencies first (tens of seconds on a loaded machine).
  }, 180_000);
});

/** ENV instructions of the stage (KEY=value form). */
function imageEnv(instructions: { keyword: string; args: string }[]): Record<string, string> {
  return Object.fromEntries(
    instructions
      .filter((i) => i.keyword === 'ENV')
      .flatMap((i) => i.args.split(/\s+/))
      // Split at the first '=' only: a value may hold one (GLIBC_TUNABLES=glibc.malloc.mxfast=0).
      .map((pair) => pair.split(/=(.*)/s, 2) as [string, string]),
  );
}

/**
 * Replays the runtime stage on this host: the COPYs from the build context
 * into a clean directory, its RUN (npm ci --omit=dev, with --prefer-offline so
 * it installs from the npm cache the root `npm ci` filled), and COPY
 * --from=build as this repository's dist/ (built by `npm run build`, the
 * build stage's command). The installed copy is cached by the hash of what
 * it depends on; dist/ is copied afresh each run. Owned by root: the
 * service, running as nobody, cannot write into it (as in the image).
 */
function prepareImage(instructions: { keyword: string; args: string }[]): string {
  const copies = instructions.filter((i) => i.keyword === 'COPY').map((i) => parseCopy(i.args));
  const run = instructions.find((i) => i.keyword === 'RUN')!.args;
  const contextFiles = copies.filter((c) => c.from === undefined).flatMap((c) => c.sources);
  const hash = createHash('sha256').update(run);
  for (const file of contextFiles) hash.update(file).update(readFileSync(join(ROOT, file)));
  const dir = join(ROOT, 'node_modules', '.cache', 'nestjs-lifeline', 'image', hash.digest('hex').slice(0, 16));
  const app = join(dir, 'app');
  if (!existsSync(join(dir, 'installed'))) {
    rmSync(dirname(dir), { recursive: true, force: true });
    mkdirSync(app, { recursive: true });
    for (const { sources, dest } of copies.filter((c) => c.from === undefined)) {
      for (const source of sources) {
        const target = dest.endsWith('/') ? join(app, dest, source.split('/').pop()!) : join(app, dest);
        mkdirSync(dirname(target), { recursive: true });
        cpSync(join(ROOT, source), target);
      }
    }
    // `npm cache clean` empties the image's cache; here it would empty this machine's shared one.
    for (const step of run.split('&&').map((s) => s.trim())) {
      if (step.startsWith('npm cache clean')) continue;
      const command = step.startsWith('npm ci') ? `${step} --prefer-offline` : step;
      execFileSync('sh', ['-c', command], { cwd: app, stdio: 'pipe', env: { ...process.env, NODE_ENV: 'production' } });
    }
    writeFileSync(join(dir, 'installed'), run);
  }
  for (const { from, sources, dest } of copies.filter((c) => c.from !== undefined)) {
    expect(sources).toEqual(['/app/dist']);
    rmSync(join(app, dest), { recursive: true, force: true });
    cpSync(join(ROOT, 'dist'), join(app, dest), { recursive: true });
    expect(from).toBe(parseDockerfile(DOCKERFILE).stages[0].name);
  }
  return app;
}
