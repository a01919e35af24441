import { Redis } from 'ioredis';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { EXAMPLE, installAndBuildExample, isExecutable, PACKAGE, ROOT, satisfiesCaret } from './support/packed-library';
import { freePort, waitUntilUp } from './support/service-process';
import { getJson } from './support/http';
import { TestClient } from './support/ws-client';
import { waitFor } from './support/wait';

const REDIS_URL = process.env.LIFELINE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Service wiring that no library entry may load. */
const SERVICE_FILES = /^dist\/(main|bootstrap|app\.module)\.js$|^dist\/(config|health|logging|http)\/|^dist\/admin\/(?!cluster-directory\.js$)|^dist\/transport\/(?!client\/)/;
const SERVICE_PACKAGES = ['nestjs-pino', 'pino', 'pino-http', '@nestjs/swagger', '@nestjs/platform-express'];

/** What each entry may load from the package itself, and which optional peers it may need. */
const ENTRIES: Record<string, { files: RegExp; optionalPeers: string[] }> = {
  '.': { files: /^dist\/lifeline\//, optionalPeers: [] },
  // The cluster module reads its options through ConfigService and reports to Terminus; CLUSTER_DIRECTORY is a token.
  './cluster': { files: /^dist\/(lifeline|cluster)\/|^dist\/admin\/cluster-directory\.js$/, optionalPeers: ['ioredis', '@nestjs/config', '@nestjs/terminus'] },
  './client': { files: /^dist\/transport\/client\//, optionalPeers: ['@nestjs/microservices'] },
  './metrics': { files: /^dist\/(lifeline|metrics)\//, optionalPeers: ['prom-client'] },
};

const packageOf = (file: string) => {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
  return match?.[1];
};

describe(`the published library (${PACKAGE.name})`, () => {
  let packageDir: string;

  /** Per entry, every file loaded by requiring it by name from the example (module cache emptied in between). */
  let loadedBy: Record<string, string[]>;

  beforeAll(() => {
    ({ packageDir } = installAndBuildExample());
    const specifiers = Object.keys(ENTRIES).map((e) => [e, e === '.' ? PACKAGE.name : `${PACKAGE.name}/${e.slice(2)}`]);
    const script = `const out = {};
      for (const [entry, specifier] of ${JSON.stringify(specifiers)}) {
        for (const key of Object.keys(require.cache)) delete require.cache[key];
        require(specifier);
        out[entry] = Object.keys(require.cache);
      }
      console.log(JSON.stringify(out));`;
    loadedBy = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: EXAMPLE, encoding: 'utf8' })) as Record<string, string[]>;
  }, 180_000);

  it('package.json: every export has its built file and types; the bin runs dist/main.js; peers are installed within their ranges', () => {
    for (const [entry, target] of Object.entries(PACKAGE.exports)) {
      const targets = typeof target === 'string' ? [target] : [target.types, target.default];
      for (const path of targets) expect({ entry, path, packed: existsSync(join(packageDir, path)) }).toEqual({ entry, path, packed: true });
    }
    for (const bin of Object.values(PACKAGE.bin)) {
      const file = join(packageDir, bin);
      expect(readFileSync(file, 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n[\s\S]*require\('\.\.\/dist\/main\.js'\)/);
      expect(isExecutable(file)).toBe(true);
    }
    for (const [name, range] of Object.entries(PACKAGE.peerDependencies)) {
      // Also a dependency (the root is the deployable service, installed by one `npm ci`), with the
      // peer's range: a host copy within it is used instead of a nested second one.
      expect({ name, dependency: PACKAGE.dependencies[name] }).toEqual({ name, dependency: range });
      const installed = (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
      expect({ name, range, installed, ok: satisfiesCaret(installed, range) }).toEqual({ name, range, installed, ok: true });
    }
  });

  it('the bin (what `npx nestjs-lifeline` runs) starts the service from the installed package and drains on SIGTERM', async () => {
    const port = await freePort();
    // Executed through its shebang, as npm's .bin link would.
    const child = spawn(join(packageDir, PACKAGE.bin['nestjs-lifeline']), [], {
      cwd: EXAMPLE,
      env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', SHUTDOWN_GRACE_MS: '1000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, 'exit');
    try {
      await waitUntilUp(`http://127.0.0.1:${port}/health/ready`, 15_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${output}`);
      });
      const client = await TestClient.join(`ws://127.0.0.1:${port}/ws`);
      child.kill('SIGTERM');
      expect(await client.closed).toBe(1001);
      expect(await exited).toEqual([0, null]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it.each(Object.keys(ENTRIES))('importing %s loads none of the service wiring', (entry) => {
    const loaded = loadedBy[entry];
    const own = loaded.filter((f) => f.startsWith(packageDir + '/')).map((f) => relative(packageDir, f));
    expect(own.length).toBeGreaterThan(0);
    expect(own.filter((f) => SERVICE_FILES.test(f) || !ENTRIES[entry].files.test(f))).toEqual([]);
    // Packages our own files require (Nest itself may load optional packages it finds installed).
    const packages = new Set(
      own.flatMap((f) =>
        [...readFileSync(join(packageDir, f), 'utf8').matchAll(/require\("([^."][^"]*)"\)/g)].map((m) => packageOf(`node_modules/${m[1]}/`)),
      ),
    );
    expect(SERVICE_PACKAGES.filter((p) => packages.has(p))).toEqual([]);
    const optional = Object.keys(PACKAGE.peerDependenciesMeta).filter((p) => !ENTRIES[entry].optionalPeers.includes(p));
    expect(optional.filter((p) => packages.has(p))).toEqual([]);
  });

  it('the published declarations import nothing but peers, zod (a dependency) and Node built-ins', () => {
    const allowed = new Set([...Object.keys(PACKAGE.peerDependencies), 'zod', 'node', ...builtinModules]);
    const seen = new Set<string>();
    const outside = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      const specifiers = [...text.matchAll(/(?:from\s+|import\(|require\(|<reference types=)\s*["']([^"']+)["']/g)].map((m) => m[1]);
      for (const specifier of specifiers) {
        if (specifier.startsWith('.')) {
          const base = join(dirname(file), specifier);
          const next = [`${base}.d.ts`, join(base, 'index.d.ts')].find(existsSync);
          if (!next) throw new Error(`${relative(packageDir, file)}: ${specifier} is not in the package`);
          visit(next);
        } else {
          const name = specifier.startsWith('node:') ? specifier.slice(5) : (packageOf(`node_modules/${specifier}/`) ?? specifier);
          if (!allowed.has(name)) outside.add(`${relative(packageDir, file)} → ${specifier}`);
        }
      }
    };
    for (const target of Object.values(PACKAGE.exports)) if (typeof target !== 'string') visit(join(packageDir, target.types));
    expect(seen.size).toBeGreaterThan(20);
    expect([...outside]).toEqual([]);
    // Nor does any of them reach the service's own files.
    expect([...seen].map((f) => relative(packageDir, f)).filter((f) => SERVICE_FILES.test(f.replace(/\.d\.ts$/, '.js')))).toEqual([]);
  });

  it.each([
    ['sync', 'forRoot, ScheduleModule, the adapter set by the app', '/ws'],
    ['async', 'forRootAsync({ inject: [ConfigService] }), no ScheduleModule, no adapter', '/live'],
    ['cluster', 'ClusterModule.forRoot({ redisUrl, keyPrefix }) from nestjs-lifeline/cluster, no ConfigModule', '/ws'],
  ])('the example app (%s: %s) serves a real client; its extension lease is released on disconnect', async (mode, _what, path) => {
    const port = await freePort();
    const keyPrefix = `lifeline:test:${randomBytes(4).toString('hex')}:`;
    const redis = mode === 'cluster' ? new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }) : undefined;
    const child = spawn(process.execPath, [join(EXAMPLE, 'dist', 'main.js')], {
      cwd: EXAMPLE,
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(port),
        EXAMPLE_MODE: mode,
        EXAMPLE_WS_PATH: path,
        EXAMPLE_REDIS_URL: REDIS_URL,
        EXAMPLE_KEY_PREFIX: keyPrefix,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, 'exit');
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitUntilUp(`${base}/example/stats`, 15_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${output}`);
      });
      const client = await TestClient.join(`ws://127.0.0.1:${port}${path}`);
      client.send('subscribe', { topic: 'news' });
      await client.next('subscribed');
      client.send('publish', { topic: 'news', data: 'hello' });
      expect((await client.next('message')).data).toMatchObject({ topic: 'news', data: 'hello' });
      expect((await getJson(`${base}/example/stats`)).body).toMatchObject({ clients: 1, leases: [client.id], released: 0 });
      if (redis) {
        // Cluster mode from the library's own options: the client's presence is in Redis under the prefix.
        await waitFor(async () => (await redis.hkeys(`${keyPrefix}node:example-node:clients`)).includes(client.id), 'presence in Redis');
      }

      client.socket.close(1000);
      await waitFor(async () => ((await getJson(`${base}/example/stats`)).body as { released: number }).released === 1, 'lease released');
      expect((await getJson(`${base}/example/stats`)).body).toMatchObject({
        clients: 0,
        leases: [],
        disconnects: [{ clientId: client.id, reason: 'client_close' }],
      });
    } finally {
      child.kill('SIGTERM');
      await exited;
      if (redis) {
        const keys = await redis.keys(`${keyPrefix}*`);
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
      }
    }
  });
});
