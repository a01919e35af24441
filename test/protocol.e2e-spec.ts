import { request } from 'node:http';
import { Socket } from 'node:net';
import { startTestApp, TEST_ENV, type TestApp } from './support/test-app';
import { TestClient } from './support/ws-client';

describe('protocol and endpoints', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('welcomes with the client id and the heartbeat settings', async () => {
    const client = await TestClient.connect(t.wsUrl);
    const welcome = await client.next('welcome');
    expect(welcome.data).toEqual({
      clientId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      heartbeat: {
        intervalMs: Number(TEST_ENV.HEARTBEAT_INTERVAL_MS),
        timeoutMs: Number(TEST_ENV.HEARTBEAT_TIMEOUT_MS),
      },
      session: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), token: expect.any(String), ttlMs: 120_000 },
    });
    client.socket.terminate();
  });

  it('sends the 101 response and the welcome frame in one write (one syscall)', async () => {
    // Corked writes reach the socket together through _writev; uncorked, the 101 goes alone through _write.
    const writev = jest.spyOn(Socket.prototype as unknown as { _writev: (...args: unknown[]) => void }, '_writev');
    try {
      const client = await TestClient.connect(t.wsUrl);
      await client.next('welcome');
      client.socket.terminate();
      const batches = writev.mock.calls.map(([chunks]) =>
        (chunks as { chunk: Buffer | string }[]).map(({ chunk }) => Buffer.from(chunk).toString('latin1')).join(''),
      );
      expect(batches).toContainEqual(expect.stringMatching(/^HTTP\/1\.1 101 [^]*"event":"welcome"/));
    } finally {
      writev.mockRestore();
    }
  });

  it('answers an application ping with a pong carrying the same data', async () => {
    const client = await t.join();
    client.send('ping', { n: 7, s: 'x' });
    expect((await client.next('pong')).data).toEqual({ n: 7, s: 'x' });
    client.sendRaw('{"event":"ping"}');
    expect(await client.next('pong')).toEqual({ event: 'pong' });
  });

  it.each([
    ['malformed JSON', 'not json', /^malformed JSON$/, undefined],
    ['a JSON array', '[1,2]', /^expected \{"event": string, "data": any\}/, undefined],
    ['a frame without event', '{"data":1}', /^expected \{"event": string, "data": any\}: event: /, undefined],
    ['an unknown event', '{"event":"nope","data":1}', /^unknown event "nope"$/, 'nope'],
    ['subscribe without a topic', '{"event":"subscribe","data":{}}', /^invalid data: topic: /, 'subscribe'],
    ['subscribe with a non-string topic', '{"event":"subscribe","data":{"topic":5}}', /^invalid data: topic: /, 'subscribe'],
    ['publish without a topic', '{"event":"publish","data":{"data":1}}', /^invalid data: topic: /, 'publish'],
  ])('answers %s with a bad_request error frame and keeps the connection open', async (_name, raw, message, event) => {
    const client = await t.join();
    client.sendRaw(raw);
    const error = await client.next('error');
    expect(error.data).toEqual({
      code: 'bad_request',
      message: expect.stringMatching(message),
      ...(event !== undefined && { event }),
    });
    client.send('ping', 'alive');
    expect((await client.next('pong')).data).toBe('alive');
    expect(t.registry.has(client.id)).toBe(true);
  });

  it('refuses an upgrade on another path with HTTP 404 and a JSON message', async () => {
    const url = new URL(t.baseUrl);
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        path: '/elsewhere',
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Version': '13',
        },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('upgrade', () => reject(new Error('upgraded on an unknown path')));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(404);
    expect(JSON.parse(body)).toEqual({ statusCode: 404, message: 'no WebSocket endpoint at /elsewhere' });
  });

  it('serves liveness, readiness and health in Terminus shape', async () => {
    expect(await t.get('/health/live')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await t.get('/health/ready')).toMatchObject({
      status: 200,
      body: { status: 'ok', details: { lifecycle: { status: 'up', accepting: true } } },
    });
    const health = await t.get('/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({
      status: 'ok',
      details: {
        websocket: {
          status: 'up',
          clients: expect.any(Number),
          intervalMs: Number(TEST_ENV.HEARTBEAT_INTERVAL_MS),
          timeoutMs: Number(TEST_ENV.HEARTBEAT_TIMEOUT_MS),
        },
      },
    });
  });

  it('exposes the documented Prometheus metrics', async () => {
    const { status, text } = await t.get('/metrics');
    expect(status).toBe(200);
    for (const name of [
      'lifeline_clients_connected',
      'lifeline_connections_total',
      'lifeline_disconnections_total',
      'lifeline_heartbeat_sweeps_total',
      'lifeline_heartbeat_sweep_duration_seconds',
      'lifeline_heartbeat_rtt_seconds',
      'lifeline_pings_to_closed_total',
      'lifeline_cleanup_failures_total',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    for (const reason of ['client_close', 'connection_lost', 'heartbeat_timeout', 'stale_socket', 'server_shutdown']) {
      expect(text).toContain(`lifeline_disconnections_total{reason="${reason}"}`);
    }
  });
});
