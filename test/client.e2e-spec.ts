import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WebSocket } from 'ws';
import { LifelineClient } from '../client/src';
import { getJson } from './support/http';
import { collect, watchClient } from './support/sdk';
import { freePort, MAIN, spawnService, waitUntilUp } from './support/service-process';
import { waitFor } from './support/wait';

const CLIENT_DIST = join(__dirname, '..', 'client', 'dist');
const GOOD = 'good-token-0123456789';
const INTERVAL = 1000;
const TIMEOUT = 500;
const RATE = 200;
const BURST = 50;

/** A raw ws upgrade: the close code and reason it ends with, or the HTTP status it was refused with. */
function outcome(url: string): Promise<{ close?: [number, string]; http?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('error', () => undefined);
    ws.on('unexpected-response', (_req, res) => {
      resolve({ http: res.statusCode });
      res.resume();
      ws.terminate();
    });
    ws.on('close', (code, reason) => resolve({ close: [code, reason.toString()] }));
  });
}

/**
 * The SDK against the built service as a child process: refusals as close
 * codes, terminal refusals, capacity with its retry hint, a SIGSTOPped
 * server, a kick, and the built packages themselves.
 */
describe('client SDK against the real service (child process)', () => {
  let port: number;
  let base: string;
  let wsUrl: string;
  let service: ReturnType<typeof spawnService>;
  const clients: LifelineClient[] = [];
  const sdk = (options: ConstructorParameters<typeof LifelineClient>[1] = {}) => {
    const client = new LifelineClient(wsUrl, { token: GOOD, connectTimeoutMs: 3000, ...options });
    clients.push(client);
    return client;
  };
  const rejections = async (reason: string) => {
    const { text } = await getJson(`${base}/metrics`);
    const line = text.split('\n').find((l) => l.startsWith(`lifeline_rejections_total{reason="${reason}"}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  beforeAll(async () => {
    if (!existsSync(MAIN) || !existsSync(join(CLIENT_DIST, 'cjs', 'index.cjs'))) {
      throw new Error('run "npm run build" first (npm test does): the service and the client are needed built');
    }
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    wsUrl = `ws://127.0.0.1:${port}/ws`;
    service = spawnService({
      PORT: String(port),
      HOST: '127.0.0.1',
      AUTH_MODE: 'token',
      AUTH_TOKENS: GOOD,
      MAX_CLIENTS: '2',
      RATE_LIMIT_PER_SEC: String(RATE),
      RATE_LIMIT_BURST: String(BURST),
      HEARTBEAT_INTERVAL_MS: String(INTERVAL),
      HEARTBEAT_TIMEOUT_MS: String(TIMEOUT),
      SHUTDOWN_GRACE_MS: '300',
      LOG_LEVEL: 'warn',
    });
    await waitUntilUp(`${base}/health/ready`);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    // Every slot free again before the next test (MAX_CLIENTS=2).
    await waitFor(async () => ((await getJson(`${base}/clients`)).body as { total: number }).total === 0, 'no clients', 5000);
  });

  afterAll(async () => {
    service.child.kill('SIGCONT');
    service.child.kill('SIGTERM');
    await service.exited;
  });

  it('refusals: close codes for clients asking with ?refusal=close, HTTP statuses for the others', async () => {
    expect(await outcome(`${wsUrl}?refusal=close&access_token=bad`)).toEqual({ close: [4401, 'unauthorized; invalid token'] });
    expect(await outcome(`${wsUrl}?refusal=close`)).toEqual({ close: [4401, 'unauthorized; missing bearer token'] });
    expect(await outcome(`${wsUrl}?access_token=bad`)).toEqual({ http: 401 });
    expect(await outcome(`ws://127.0.0.1:${port}/nope?refusal=close`)).toEqual({
      close: [4404, 'not_found; no WebSocket endpoint at /nope'],
    });
  });

  it('a refused peer that never answers the close frame is cut after about a second, not the 30 s ws would wait', async () => {
    const socket = connect(port, '127.0.0.1');
    socket.write(
      'GET /ws?refusal=close&access_token=bad HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const started = Date.now();
    await once(socket, 'close');
    expect(received).toMatch(/^HTTP\/1\.1 101 /);
    expect(received).toContain('unauthorized; invalid token'); // the close frame's reason
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a bad token: closed with unauthorized at once, and no retry', async () => {
    const before = await rejections('unauthorized');
    const client = sdk({ token: 'not-the-token' });
    const seen = watchClient(client);
    await expect(client.ready()).rejects.toMatchObject({ code: 'unauthorized', details: { closeCode: 4401 } });
    expect(seen.states.map((s) => s.state)).toEqual(['closed']);
    // Longer than the first backoff window (500 ms): a retry would have shown by now.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await rejections('unauthorized')) - before).toBe(1);
  });

  it('at capacity: 4503 with the server\'s retry hint; the client waits it out, then connects', async () => {
    const [a, b] = [sdk(), sdk()];
    await Promise.all([a.ready(), b.ready()]);
    expect(await outcome(`${wsUrl}?refusal=close&access_token=${GOOD}`)).toEqual({ close: [4503, 'capacity; retry after 5 s'] });
    const c = sdk();
    const seen = watchClient(c);
    await waitFor(() => seen.errors.length > 0, 'refused');
    const refusedAt = Date.now();
    expect(seen.errors[0]).toMatchObject({ code: 'unavailable', details: { closeCode: 4503, retryAfterMs: 5000 } });
    expect(c.state).toBe('connecting');
    a.close();
    await c.ready();
    const waited = Date.now() - refusedAt;
    expect(waited).toBeGreaterThanOrEqual(4900);
    expect(waited).toBeLessThan(5000 + 500 + 1500); // hint + at most the first jitter window + slack
    expect(seen.errors).toHaveLength(1);
  });

  it(`a SIGSTOPped server is noticed within interval + timeout + 1 s (${INTERVAL + TIMEOUT + 1000} ms); after SIGCONT the client is back`, async () => {
    const client = sdk();
    const seen = watchClient(client);
    collect(client, 'stop-test');
    await client.ready();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stoppedAt = Date.now();
    service.child.kill('SIGSTOP');
    const noticed = waitFor(() => client.state === 'reconnecting', 'reconnecting', INTERVAL + TIMEOUT + 3000);
    // SIGCONT whatever happens, or the other tests would hang on a stopped server.
    await noticed.finally(() => service.child.kill('SIGCONT'));
    const noticedMs = seen.states[1].at - stoppedAt;
    expect(noticedMs).toBeLessThanOrEqual(INTERVAL + TIMEOUT + 1000);
    expect(seen.errors[0]).toMatchObject({ code: 'heartbeat_timeout' });
    await client.ready();
    expect(seen.states.map((s) => s.state)).toEqual(['open', 'reconnecting', 'open']);
  });

  it('300 publishes queued before the connection opens are paced under the server\'s rate limit: all delivered in order, none refused', async () => {
    const sub = sdk();
    const got = collect(sub, 'paced');
    await sub.ready();
    await waitFor(async () => ((await getJson(`${base}/clients/${sub.clientId}`)).body as { subscriptions: string[] }).subscriptions.length === 1, 'subscribed');
    const pub = sdk({ sendRate: { perSecond: RATE, burst: BURST } });
    const seen = watchClient(pub);
    const sent = Array.from({ length: 300 }, (_, i) => pub.publish('paced', i));
    await Promise.all(sent);
    await waitFor(() => got.length === 300 || seen.errors.length > 0, '300 messages', 10_000);
    expect(seen.errors).toEqual([]);
    expect(got.map((m) => m.data)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(seen.errors).toEqual([]);
    expect(seen.states.map((s) => s.state)).toEqual(['open']);
  });

  it('kicked by an operator: closed with kicked, no reconnect', async () => {
    const client = sdk();
    await client.ready();
    const { status } = await getJson(`${base}/clients/${client.clientId}`, { method: 'DELETE' });
    expect(status).toBe(200);
    await waitFor(() => client.state === 'closed', 'closed');
    await expect(client.ready()).rejects.toMatchObject({ code: 'kicked' });
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(((await getJson(`${base}/clients`)).body as { total: number }).total).toBe(0);
  });

  it('the built package works in Node as CommonJS and as ESM, loading ws by itself', async () => {
    const script = (load: string) =>
      `${load}
       const c = new LifelineClient(${JSON.stringify(wsUrl)}, { token: ${JSON.stringify(GOOD)} });
       c.ready().then(() => { console.log(c.state); c.close(); }, (e) => { console.error(e.code); process.exit(1); });`;
    const run = promisify(execFile);
    const cwd = join(__dirname, '..');
    const [cjs, esm] = await Promise.all([
      run(process.execPath, ['-e', script(`const { LifelineClient } = require('lifeline-client');`)], { cwd, timeout: 10_000 }),
      run(process.execPath, ['--input-type=module', '-e', script(`import { LifelineClient } from 'lifeline-client';`)], { cwd, timeout: 10_000 }),
    ]);
    expect([cjs.stdout.trim(), esm.stdout.trim()]).toEqual(['open', 'open']);
  });
});
