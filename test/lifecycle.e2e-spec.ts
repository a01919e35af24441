import { startTestApp, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

describe('client lifecycle (real sockets)', () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(() => t.close());

  it('registers on connect with a welcome frame and unregisters on a clean close as client_close', async () => {
    const client = await t.join();
    expect(client.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(t.registry.size).toBe(1);
    const record = t.registry.get(client.id);
    expect(record?.remoteAddress).toBe('127.0.0.1');
    expect(record?.connectedAt).toBeLessThanOrEqual(Date.now());

    const health = await t.get('/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', details: { websocket: { status: 'up', clients: 1 } } });

    await client.close();
    await waitFor(() => t.registry.size === 0, 'registry empty');
    await waitFor(() => t.pipeline.pending === 0, 'cleanup finished');
    expect(await t.metric('lifeline_disconnections_total', { reason: 'client_close' })).toBe(1);
    expect(t.logs.entries('client disconnected')).toEqual([
      expect.objectContaining({ clientId: client.id, reason: 'client_close', durationMs: expect.any(Number) }),
    ]);
    const after = await t.get('/health');
    expect(after.body).toMatchObject({ details: { websocket: { clients: 0 } } });
  });
});
