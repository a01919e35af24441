import { startTestApp, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const ADMIN = 'admin-token-0123456789';
const auth = { Authorization: `Bearer ${ADMIN}` };

describe('operator API', () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await startTestApp({ env: { ADMIN_TOKEN: ADMIN, MAX_PAYLOAD_BYTES: '4096' } });
  });
  afterEach(() => t.close());

  const call = async (method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}) => {
    const res = await fetch(t.baseUrl + path, { method, headers: init.headers, body: init.body });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  };

  it('refuses every route without the admin bearer token (401, JSON message)', async () => {
    for (const [method, path] of [
      ['GET', '/clients'],
      ['GET', '/clients/00000000-0000-4000-8000-000000000000'],
      ['DELETE', '/clients/00000000-0000-4000-8000-000000000000'],
      ['POST', '/topics/t/messages'],
    ]) {
      expect(await call(method, path)).toMatchObject({ status: 401, body: { statusCode: 401, message: expect.any(String) } });
      expect(await call(method, path, { headers: { Authorization: 'Bearer wrong-token-000000000' } })).toMatchObject({
        status: 401,
      });
    }
  });

  it('lists clients page by page with their subscriptions, and shows one', async () => {
    const clients = await Promise.all([t.join(), t.join(), t.join()]);
    clients[1].send('subscribe', { topic: 'news' });
    await clients[1].next('subscribed');

    const first = await call('GET', '/clients?limit=2', { headers: auth });
    expect(first).toMatchObject({ status: 200, body: { total: 3, limit: 2, offset: 0, scope: 'local' } });
    const second = await call('GET', '/clients?limit=2&offset=2', { headers: auth });
    const ids = [
      ...(first.body as { items: { id: string }[] }).items,
      ...(second.body as { items: { id: string }[] }).items,
    ].map((c) => c.id);
    expect(ids.sort()).toEqual(clients.map((c) => c.id).sort());

    const one = await call('GET', `/clients/${clients[1].id}`, { headers: auth });
    expect(one).toMatchObject({
      status: 200,
      body: {
        id: clients[1].id,
        userId: null,
        remoteAddress: '127.0.0.1',
        connectedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        subscriptions: ['news'],
        bufferedAmount: 0,
      },
    });
  });

  it('validates paths and queries with clear 400s and answers 404 for unknown clients', async () => {
    expect(await call('GET', '/clients?limit=0', { headers: auth })).toMatchObject({
      status: 400,
      body: { message: 'invalid query: limit: must be a whole number from 1 to 1000' },
    });
    expect(await call('GET', '/clients?scope=galaxy', { headers: auth })).toMatchObject({ status: 400 });
    expect(await call('GET', '/clients/not-a-uuid', { headers: auth })).toMatchObject({
      status: 400,
      body: { message: 'invalid client id: must be a client id (UUID)' },
    });
    const unknown = '2b1f3f6e-9c1a-4a53-8a55-0c1f2a3b4c5d';
    expect(await call('GET', `/clients/${unknown}`, { headers: auth })).toMatchObject({ status: 404 });
    expect(await call('DELETE', `/clients/${unknown}`, { headers: auth })).toMatchObject({
      status: 404,
      body: { message: `no connected client ${unknown}` },
    });
    // Without cluster mode there is no cluster view to give.
    expect(await call('GET', '/clients?scope=cluster', { headers: auth })).toMatchObject({ status: 503 });
  });

  it('kicks a client: close 1008 "kicked", cleanup with reason kicked, nothing left behind', async () => {
    const victim = await t.join();
    const bystander = await t.join();
    victim.send('subscribe', { topic: 'room' });
    await victim.next('subscribed');
    const res = await call('DELETE', `/clients/${victim.id}`, { headers: auth });
    expect(res).toMatchObject({ status: 200, body: { id: victim.id, kicked: true } });
    expect(await victim.closed).toBe(1008);
    expect(victim.closeReason).toBe('kicked');
    await waitFor(() => t.pipeline.pending === 0, 'cleanup done');
    expect(t.registry.has(victim.id)).toBe(false);
    expect(t.topics.subscriberCount('room')).toBe(0);
    expect(t.registry.has(bystander.id)).toBe(true);
    expect(await t.metric('lifeline_disconnections_total', { reason: 'kicked' })).toBe(1);
  });

  it('publishes to a topic from HTTP: 202 with the number of recipients; bad bodies are refused', async () => {
    const [a, b] = await Promise.all([t.join(), t.join()]);
    for (const c of [a, b]) {
      c.send('subscribe', { topic: 'alerts' });
      await c.next('subscribed');
    }
    const json = { ...auth, 'Content-Type': 'application/json' };
    const res = await call('POST', '/topics/alerts/messages', { headers: json, body: JSON.stringify({ level: 'high' }) });
    expect(res).toMatchObject({ status: 202, body: { topic: 'alerts', recipients: 2, epoch: expect.any(String), offset: 1 } });
    for (const c of [a, b]) expect((await c.next('message')).data).toMatchObject({ topic: 'alerts', data: { level: 'high' }, offset: 1 });

    expect(await call('POST', '/topics/alerts/messages', { headers: json, body: '42' })).toMatchObject({
      status: 202,
      body: { recipients: 2 },
    });
    expect(await call('POST', '/topics/alerts/messages', { headers: json, body: '{"broken":' })).toMatchObject({ status: 400 });
    expect(
      await call('POST', '/topics/alerts/messages', { headers: json, body: JSON.stringify('z'.repeat(5000)) }),
    ).toMatchObject({ status: 413, body: { statusCode: 413, message: 'request entity too large' } });
    // A client's oversized body is the client's fault, not a server error.
    expect(t.logs.lines.filter((l) => l.level === 'error')).toEqual([]);
    expect(
      await call('POST', '/topics/alerts/messages', { headers: { ...auth, 'Content-Type': 'text/plain' }, body: 'hi' }),
    ).toMatchObject({ status: 415 });
    expect(await call('POST', '/topics/has%20space/messages', { headers: json, body: '1' })).toMatchObject({
      status: 400,
      body: { message: 'invalid topic: must not contain white space' },
    });
  });

  it('documents the HTTP API with OpenAPI at /docs', async () => {
    const res = await fetch(`${t.baseUrl}/docs-json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/clients', '/clients/{id}', '/topics/{topic}/messages']),
    );
  });
});
