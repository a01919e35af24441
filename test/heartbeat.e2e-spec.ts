import type { WebSocket } from 'ws';
import { LifecycleService } from '../src/lifeline';
import { startTestApp, TEST_ENV, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const INTERVAL = Number(TEST_ENV.HEARTBEAT_INTERVAL_MS);
const TIMEOUT = Number(TEST_ENV.HEARTBEAT_TIMEOUT_MS);

/** Counts ping() calls made on a server-side socket from now on. */
function spyPings(socket: WebSocket): { calls: number } {
  const spy = { calls: 0 };
  const original = socket.ping.bind(socket);
  socket.ping = ((...args: Parameters<WebSocket['ping']>) => {
    spy.calls++;
    original(...args);
  }) as WebSocket['ping'];
  return spy;
}

describe('heartbeat (real sockets, real timers)', () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(() => t.close());

  it('reaps a client that never answers pings within interval + timeout + one sweep, while healthy clients keep their heartbeat', async () => {
    const healthy = await Promise.all([t.join(), t.join(), t.join()]);
    const zombieJoinedAt = Date.now();
    const zombie = await t.join({ autoPong: false });

    await waitFor(() => !t.registry.has(zombie.id), 'zombie reaped', 3000);
    const detectionMs = Date.now() - zombieJoinedAt;
    expect(detectionMs).toBeLessThanOrEqual(INTERVAL + TIMEOUT + INTERVAL);
    expect(await zombie.closed).toBe(1006); // terminated, no close handshake
    await waitFor(() => t.pipeline.pending === 0, 'cleanup done');
    expect(await t.metric('lifeline_disconnections_total', { reason: 'heartbeat_timeout' })).toBe(1);
    expect(await t.metric('lifeline_heartbeat_reaps_total', { reason: 'heartbeat_timeout' })).toBe(1);
    expect(t.logs.entries('client reaped')).toEqual([
      expect.objectContaining({ clientId: zombie.id, reason: 'heartbeat_timeout', waitedMs: expect.any(Number) }),
    ]);

    // Five more sweeps with the healthy clients alone: all stay and keep getting pings.
    const sweepsBefore = t.heartbeat.stats.sweeps;
    const pingsBefore = healthy.map((c) => c.pings);
    await waitFor(() => t.heartbeat.stats.sweeps >= sweepsBefore + 5, 'five more sweeps', 5000);
    for (const [i, client] of healthy.entries()) {
      expect(client.socket.readyState).toBe(client.socket.OPEN);
      expect(t.registry.has(client.id)).toBe(true);
      expect(client.pings - pingsBefore[i]).toBeGreaterThanOrEqual(4);
      expect(t.registry.get(client.id)?.rttMs).toEqual(expect.any(Number));
      expect(t.registry.get(client.id)?.lastPongAt).toEqual(expect.any(Number));
    }
    expect(t.registry.size).toBe(3);
    expect(await t.metric('lifeline_pings_to_closed_total')).toBe(0);
    expect(await t.metric('lifeline_heartbeat_rtt_seconds_count')).toBeGreaterThan(0);
    expect(await t.metric('lifeline_heartbeat_sweeps_total')).toBeGreaterThanOrEqual(5);
  });

  it('never pings a registered socket that is CLOSING; cleans it up as stale_socket', async () => {
    const client = await t.join();
    const bystander = await t.join();
    const record = t.registry.get(client.id);
    if (!record) throw new Error('client not registered');
    // The peer stops reading, so our close frame is never answered: the
    // server-side socket sits in CLOSING while the registry still holds it.
    (client.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    record.socket.close(4000, 'test');
    expect(record.socket.readyState).toBe(record.socket.CLOSING);
    const pings = spyPings(record.socket);

    await waitFor(() => !t.registry.has(client.id), 'stale client removed', 2000);
    await waitFor(() => t.pipeline.pending === 0, 'cleanup done');
    expect(pings.calls).toBe(0);
    await waitFor(() => record.socket.readyState === record.socket.CLOSED, 'socket terminated');
    expect(await t.metric('lifeline_disconnections_total', { reason: 'stale_socket' })).toBe(1);
    expect(await t.metric('lifeline_heartbeat_reaps_total', { reason: 'stale_socket' })).toBe(1);
    expect(await t.metric('lifeline_pings_to_closed_total')).toBe(0);
    expect(t.registry.has(bystander.id)).toBe(true);
  });

  it('never pings a CLOSED socket whose close handler was lost (the Bokeh failure); cleans it up as stale_socket', async () => {
    const client = await t.join();
    const record = t.registry.get(client.id);
    if (!record) throw new Error('client not registered');
    // Simulate a close handler interrupted before it unregistered the client.
    jest.spyOn(t.app.get(LifecycleService), 'close').mockImplementation(() => Promise.resolve());
    const pings = spyPings(record.socket);
    await client.close();
    await waitFor(() => record.socket.readyState === record.socket.CLOSED, 'socket closed');
    expect(t.registry.has(client.id)).toBe(true); // the leak, for a moment

    await waitFor(() => !t.registry.has(client.id), 'stale client removed', 2000);
    await waitFor(() => t.pipeline.pending === 0, 'cleanup done');
    expect(pings.calls).toBe(0);
    expect(await t.metric('lifeline_disconnections_total', { reason: 'stale_socket' })).toBe(1);
    expect(await t.metric('lifeline_pings_to_closed_total')).toBe(0);
    expect(t.logs.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('a ping() that throws for one client does not stop the sweep for the others', async () => {
    const clients = await Promise.all([t.join(), t.join(), t.join(), t.join()]);
    const broken = t.registry.get(clients[1].id);
    if (!broken) throw new Error('client not registered');
    const explode = () => {
      throw new Error('ping exploded');
    };
    // The ping is one write of the sweep's prebuilt frame to the TCP socket, ws's ping() the fallback (ws-ping.ts).
    broken.socket.ping = explode;
    (broken.socket as unknown as { _socket: { write: () => boolean } })._socket.write = explode;
    const others = [clients[0], clients[2], clients[3]];
    const before = others.map((c) => c.pings);
    await waitFor(() => others.every((c, i) => c.pings >= before[i] + 2), 'two more pings each', 3000);
    expect(t.registry.has(clients[1].id)).toBe(false);
    expect(t.heartbeat.stats.failures).toBe(1);
    await waitFor(() => t.pipeline.pending === 0, 'cleanup done');
    expect(await t.metric('lifeline_disconnections_total', { reason: 'socket_error' })).toBe(1);
    expect(t.logs.entries('heartbeat failed for client')).toEqual([
      expect.objectContaining({ clientId: clients[1].id, error: 'ping exploded' }),
    ]);
  });

  it('health turns 503 when sweeps stop completing for longer than 2 x interval + timeout', async () => {
    expect((await t.get('/health')).status).toBe(200);
    t.heartbeat.stop();
    await waitFor(async () => (await t.get('/health')).status === 503, 'health 503', 3000);
    const { body } = await t.get('/health');
    expect(body).toMatchObject({ status: 'error', error: { websocket: { status: 'down' } } });
    expect((await t.get('/health/live')).status).toBe(200);
  });
});
