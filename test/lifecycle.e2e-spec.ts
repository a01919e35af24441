import { setTimeout as sleep } from 'node:timers/promises';
import { startTestApp, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';
import { TestClient } from './support/ws-client';

describe('client lifecycle (real sockets)', () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(() => t.close());

  it('registers on connect with a welcome frame and unregisters on a clean close as client_close', async () => {
    const client = await t.join({ headers: { 'user-agent': 'lifecycle-test' } });
    expect(client.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(t.registry.size).toBe(1);
    const record = t.registry.get(client.id);
    expect(record?.remoteAddress).toBe('127.0.0.1');
    expect(record?.userAgent).toBe('lifecycle-test');
    expect(record?.connectedAt).toBeLessThanOrEqual(Date.now());

    const health = await t.get('/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', details: { websocket: { status: 'up', clients: 1 } } });
    expect(await t.metric('lifeline_clients_connected')).toBe(1);
    expect(await t.metric('lifeline_connections_total')).toBe(1);

    await client.close();
    await waitFor(() => t.registry.size === 0 && t.pipeline.pending === 0, 'registry empty, cleanup done');
    expect(await t.metric('lifeline_disconnections_total', { reason: 'client_close' })).toBe(1);
    expect(await t.metric('lifeline_clients_connected')).toBe(0);
    expect(t.logs.entries('client connected')).toEqual([expect.objectContaining({ clientId: client.id })]);
    expect(t.logs.entries('client disconnected')).toEqual([
      expect.objectContaining({ clientId: client.id, reason: 'client_close', durationMs: expect.any(Number) }),
    ]);
    expect((await t.get('/health')).body).toMatchObject({ details: { websocket: { clients: 0 } } });
  });

  it('removes a client whose TCP connection is destroyed without a close frame, as connection_lost', async () => {
    const client = await t.join();
    const other = await t.join();
    client.destroy();
    await waitFor(() => !t.registry.has(client.id) && t.pipeline.pending === 0, 'destroyed client removed');
    expect(t.registry.size).toBe(1);
    expect(t.registry.has(other.id)).toBe(true);
    expect(await t.metric('lifeline_disconnections_total', { reason: 'connection_lost' })).toBe(1);
    expect(await t.metric('lifeline_disconnections_total', { reason: 'client_close' })).toBe(0);
    expect(t.logs.entries('client disconnected')).toEqual([
      expect.objectContaining({ clientId: client.id, reason: 'connection_lost' }),
    ]);
  });

  it('on shutdown closes every client with 1001 and awaits their async cleanup', async () => {
    const clients = await Promise.all([t.join(), t.join(), t.join()]);
    const released: string[] = [];
    for (const c of clients) {
      t.registry.attach(c.id, 'slow', async () => {
        await sleep(50);
        released.push(c.id);
      });
    }
    await t.app.close();
    // close() has resolved: every async disposer must have finished already.
    expect(released.sort()).toEqual(clients.map((c) => c.id).sort());
    const codes = await Promise.all(clients.map((c) => c.closed));
    expect(codes).toEqual([1001, 1001, 1001]);
    expect(t.registry.size).toBe(0);
    expect(t.logs.entries('client disconnected').map((e) => e.reason)).toEqual([
      'server_shutdown',
      'server_shutdown',
      'server_shutdown',
    ]);
  });
});

describe('churn', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { HEARTBEAT_INTERVAL_MS: '100', HEARTBEAT_TIMEOUT_MS: '50' } });
  });
  afterAll(() => t.close());

  it('2,000 connect/subscribe/abrupt-disconnect cycles leave registry, topics and timers empty', async () => {
    const cycles = 2000;
    const concurrency = 50;
    const timersBefore = t.heartbeatTimers();
    let started = 0;
    const worker = async () => {
      while (started < cycles) {
        const n = started++;
        const client = await TestClient.join(t.wsUrl);
        client.send('subscribe', { topic: `churn-${n % 7}` });
        // A liveness wait, not a timing assertion: generous for a loaded CI machine.
        await client.next('subscribed', 15_000);
        client.destroy();
        await client.closed;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));

    await waitFor(() => t.registry.size === 0 && t.pipeline.pending === 0, 'all cycles cleaned up', 10_000);
    expect(t.topics.topicCount).toBe(0);
    for (let i = 0; i < 7; i++) expect(t.topics.subscriberCount(`churn-${i}`)).toBe(0);
    expect(await t.metric('lifeline_connections_total')).toBe(cycles);
    const gone =
      (await t.metric('lifeline_disconnections_total', { reason: 'connection_lost' })) +
      (await t.metric('lifeline_disconnections_total', { reason: 'client_close' }));
    expect(gone).toBe(cycles);
    expect(await t.metric('lifeline_cleanup_failures_total', { step: 'release' })).toBe(0);
    // The heartbeat owns one interval and at most one deadline timeout, whatever the churn.
    const timersAfter = t.heartbeatTimers();
    expect(timersAfter.intervals).toEqual(timersBefore.intervals);
    expect(timersAfter.timeouts.length).toBeLessThanOrEqual(1);
    expect(await t.metric('lifeline_pings_to_closed_total')).toBe(0);
  });
});
