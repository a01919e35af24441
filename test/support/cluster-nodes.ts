import { Redis } from 'ioredis';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type Exited, freePort, MAIN, spawnService } from './service-process';
import { waitFor } from './wait';
import { TestClient } from './ws-client';
import { getJson } from './http';

/** The shared Redis of the test run (.ci/run starts it); tests only touch keys under their own prefix. */
export const REDIS_URL = process.env.LIFELINE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Short lease so losses show within a test: refresh (TTL/3) every 500 ms. */
export const TEST_NODE_TTL_MS = 1500;
export const TEST_REFRESH_MS = TEST_NODE_TTL_MS / 3;

/** A key prefix no other test (or run) shares. */
export function uniquePrefix(): string {
  return `lifeline:test:${randomBytes(6).toString('hex')}:`;
}

export function requireBuild(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npx nest build" first (npm test does)`);
}

export interface HealthBody {
  status: string;
  details: Record<string, { status: string; [key: string]: unknown }>;
}

/** One built service (dist/main.js) as a child process, in cluster mode. */
export class ClusterNode {
  private readonly clients: TestClient[] = [];
  private stdout = '';
  private stderr = '';

  private constructor(
    readonly id: string,
    readonly port: number,
    readonly child: ChildProcess,
    readonly exited: Promise<Exited>,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
  }

  static async start(id: string, env: Record<string, string>): Promise<ClusterNode> {
    const port = await freePort();
    const { child, exited } = spawnService({
      PORT: String(port),
      HOST: '127.0.0.1',
      HEARTBEAT_INTERVAL_MS: '300',
      HEARTBEAT_TIMEOUT_MS: '200',
      SHUTDOWN_GRACE_MS: '1000',
      NODE_TTL_MS: String(TEST_NODE_TTL_MS),
      LOG_LEVEL: 'info',
      NODE_ID: id,
      ...env,
    });
    return new ClusterNode(id, port, child, exited);
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get(path: string): Promise<{ status: number; body: unknown; text: string }> {
    return getJson(this.baseUrl + path, { signal: AbortSignal.timeout(2000) });
  }

  async health(): Promise<{ status: number; body: HealthBody }> {
    const { status, body } = await this.get('/health');
    return { status, body: body as HealthBody };
  }

  /** details.cluster of GET /health, or undefined while it is down. */
  async clusterView(): Promise<{ nodes: number; clients: number } | undefined> {
    const cluster = (await this.health()).body.details?.cluster;
    if (cluster?.status !== 'up') return undefined;
    return { nodes: cluster.nodes as number, clients: cluster.clients as number };
  }

  /** Waits until GET /health answers 200 with redis and cluster up. */
  async ready(timeoutMs = 10_000): Promise<void> {
    await waitFor(
      async () => {
        if (!this.alive) {
          throw new Error(`node ${this.id} exited:\n${this.stderr.slice(-2000)}\n${this.stdout.slice(-2000)}`);
        }
        try {
          return (await this.health()).status === 200;
        } catch {
          return false;
        }
      },
      `node ${this.id} healthy`,
      timeoutMs,
      50,
    );
  }

  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const { text } = await this.get('/metrics');
    const wanted = Object.entries(labels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(',');
    const prefix = wanted ? `${name}{${wanted}} ` : `${name} `;
    const line = text.split('\n').find((l) => l.startsWith(prefix));
    if (!line) throw new Error(`metric ${prefix.trim()} not found on ${this.id}`);
    return Number(line.slice(prefix.length));
  }

  async join(): Promise<TestClient & { id: string }> {
    const client = await TestClient.join(`ws://127.0.0.1:${this.port}/ws`);
    this.clients.push(client);
    return client;
  }

  /** The JSON log lines printed so far. */
  logs(): Record<string, unknown>[] {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
  }

  /** SIGKILL if still running, and close this node's test clients. */
  async stop(): Promise<void> {
    for (const client of this.clients) client.socket.terminate();
    this.kill('SIGKILL');
    await this.exited;
  }
}

/** Starts nodes `<tag>-a`, `<tag>-b`, ... sharing one prefix and waits until each is healthy. */
export async function startNodes(count: number, env: Record<string, string>): Promise<ClusterNode[]> {
  const tag = randomBytes(3).toString('hex');
  const nodes = await Promise.all(
    Array.from({ length: count }, (_, i) => ClusterNode.start(`${tag}-${String.fromCharCode(97 + i)}`, env)),
  );
  try {
    await Promise.all(nodes.map((node) => node.ready()));
  } catch (err) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw err;
  }
  return nodes;
}

/** Deletes every key under the prefix (SCAN + UNLINK; never FLUSH*). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found.sort();
}

/** A plain inspection connection for assertions. */
export async function inspector(url = REDIS_URL): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  redis.on('error', () => undefined);
  await redis.connect();
  return redis;
}
