import { once } from 'node:events';
import { createConnection, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireBuild } from './support/cluster-nodes';
import { freePort, spawnService } from './support/service-process';
import { startTestApp, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const ADMIN_TOKEN = 'admin-token-0123456789';

/** A raw TCP connection to the test app that collects what the server says and when it closes. */
async function rawConnection(t: TestApp): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  const url = new URL(t.baseUrl);
  const socket = createConnection({ host: url.hostname, port: Number(url.port) });
  await once(socket, 'connect');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  socket.on('error', () => undefined);
  const openedAt = Date.now();
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - openedAt)));
  return { socket, received: () => text, closed };
}

describe('operator API and HTTP answers (issue 9, items 6, 10, 11, 13, 15)', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('with ADMIN_TOKEN: an unauthenticated request with a stalled 1 MiB body gets 401 before its body is read, and the connection is closed', async () => {
    t = await startTestApp({ env: { ADMIN_TOKEN, HTTP_BODY_TIMEOUT_MS: '60000' } });
    const connections = await Promise.all(Array.from({ length: 20 }, () => rawConnection(t)));
    for (const { socket } of connections) {
      socket.write(
        'POST /topics/news/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n' +
          '"'.padEnd(1024, 'a'),
      );
    }
    const heldMs = await Promise.all(connections.map((c) => c.closed));
    for (const c of connections) expect(c.received()).toMatch(/^HTTP\/1\.1 401 [\s\S]*a valid admin bearer token is required/);
    expect(Math.max(...heldMs)).toBeLessThan(3000);
  });

  it('an authenticated request whose body stalls gets 408 after HTTP_BODY_TIMEOUT_MS', async () => {
    t = await startTestApp({ env: { ADMIN_TOKEN, HTTP_BODY_TIMEOUT_MS: '300' } });
    const c = await rawConnection(t);
    c.socket.write(
      `POST /topics/news/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":`,
    );
    const heldMs = await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 [\s\S]*did not arrive within 300 ms/);
    expect(heldMs).toBeGreaterThanOrEqual(250);
    expect(heldMs).toBeLessThan(3000);
  });

  it('handshake timeout: a kept-alive connection that dribbles an upgrade after an HTTP request is dropped in time and counted', async () => {
    t = await startTestApp({ env: { HANDSHAKE_TIMEOUT_MS: '300' } });
    const c = await rawConnection(t);
    c.socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => c.received().includes('"status":"ok"'), 'health answered', 2000);
    c.socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n'); // never finished
    const drip = setInterval(() => c.socket.write('X'), 50);
    const heldMs = await c.closed;
    clearInterval(drip);
    expect(heldMs).toBeLessThan(3000);
    expect(await t.metric('lifeline_rejections_total', { reason: 'handshake_timeout' })).toBe(1);
  });

  it('an idle kept-alive connection is not counted as a handshake timeout', async () => {
    t = await startTestApp({ env: { HANDSHAKE_TIMEOUT_MS: '200' } });
    const c = await rawConnection(t);
    c.socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => c.received().includes('"status":"ok"'), 'health answered', 2000);
    await sleep(600);
    expect(await t.metric('lifeline_rejections_total', { reason: 'handshake_timeout' })).toBe(0);
    c.socket.destroy();
  });

  it('deeply nested JSON: 400 over HTTP, bad_request over WebSocket, nothing logged as an error', async () => {
    t = await startTestApp();
    const deep = '['.repeat(400_000) + ']'.repeat(400_000);
    const res = await fetch(`${t.baseUrl}/topics/news/messages`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: deep });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ statusCode: 400, message: 'JSON nested deeper than 64 levels' });
    const client = await t.join();
    client.sendRaw(`{"event":"ping","data":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    expect((await client.next('error')).data).toEqual({ code: 'bad_request', message: 'JSON nested deeper than 64 levels' });
    client.send('ping', [[['fine']]]);
    expect((await client.next('pong')).data).toEqual([[['fine']]]);
    expect(t.logs.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('Content-Type: exactly application/json is parsed and accepted; application/json-patch+json gets 415', async () => {
    t = await startTestApp();
    const post = (type: string) =>
      fetch(`${t.baseUrl}/topics/news/messages`, { method: 'POST', headers: { 'Content-Type': type }, body: '{"n":1}' });
    expect((await post('application/json-patch+json')).status).toBe(415);
    expect((await post('application/jsonx')).status).toBe(415);
    expect((await post('application/json; charset=utf-8')).status).toBe(202);
    expect((await post('Application/JSON')).status).toBe(202);
  });

  it('start-up: listening beyond loopback without ADMIN_TOKEN, a warning says how to open the API; the last line says where it listens', async () => {
    t = await startTestApp({ env: { HOST: '0.0.0.0' } });
    const structured = t.logs.lines.filter((l) => typeof l.message === 'object' && l.message !== null);
    const warning = structured.find((l) => l.level === 'warn');
    expect(JSON.stringify(warning?.message)).toMatch(/ADMIN_TOKEN is unset: .* answer only on loopback; set ADMIN_TOKEN/);
    const port = new URL(t.baseUrl).port;
    const last = structured[structured.length - 1].message as Record<string, unknown>;
    expect(last).toEqual({
      msg: `listening on http://0.0.0.0:${port}, WebSocket ws://0.0.0.0:${port}/ws, in-memory mode`,
      url: `http://0.0.0.0:${port}`,
      websocket: `ws://0.0.0.0:${port}/ws`,
      mode: 'in-memory',
    });
    // Loopback clients are served without a token.
    expect((await t.get('/clients')).status).toBe(200);
    expect((await t.get('/docs-json')).status).toBe(200);
  });
});

describe('start-up failures (built service)', () => {
  beforeAll(() => requireBuild());

  it('a port in use: one line naming PORT, exit 1, no stack trace', async () => {
    const port = await freePort();
    const blocker = createServer().listen(port, '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const { exited } = spawnService({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' });
      const result = await exited;
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(`lifeline: PORT ${port} on HOST 127.0.0.1 is already in use (EADDRINUSE); set PORT to a free port\n`);
      expect(`${result.stdout}${result.stderr}`).not.toMatch(/^\s+at /m);
    } finally {
      blocker.close();
    }
  });
});
