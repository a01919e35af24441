import { startTestApp, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

describe('topics (real sockets)', () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(() => t.close());

  it('delivers a publish to every subscriber of the topic, and only to them', async () => {
    const [a, b, outsider] = await Promise.all([t.join(), t.join(), t.join()]);
    for (const c of [a, b]) {
      c.send('subscribe', { topic: 'news' });
      expect((await c.next('subscribed')).data).toEqual({ topic: 'news', epoch: expect.any(String) as string, offset: 0 });
    }
    outsider.send('subscribe', { topic: 'sport' });
    await outsider.next('subscribed');

    a.send('publish', { topic: 'news', data: { headline: 'hello', n: 1 } });
    for (const c of [a, b]) {
      expect((await c.next('message')).data).toMatchObject({ topic: 'news', data: { headline: 'hello', n: 1 }, offset: 1 });
    }
    // The outsider's own topic still works, and nothing of "news" reached it.
    outsider.send('publish', { topic: 'sport', data: 'goal' });
    expect((await outsider.next('message')).data).toMatchObject({ topic: 'sport', data: 'goal', offset: 1 });
    expect(outsider.frames.filter((f) => f.event === 'message')).toEqual([]);

    b.send('unsubscribe', { topic: 'news' });
    expect((await b.next('unsubscribed')).data).toEqual({ topic: 'news' });
    expect(t.topics.subscriberCount('news')).toBe(1);
    // Only the session link and the presence membership are left (see sessions.e2e-spec.ts).
    expect((t.registry.get(b.id)?.resources ?? []).map((r) => r.name)).toEqual(['session', 'user-presence']);
  });

  it('releases subscriptions on every disconnect path', async () => {
    const paths = ['client_close', 'connection_lost', 'heartbeat_timeout', 'stale_socket'] as const;
    const clients = await Promise.all(
      paths.map((path) => t.join(path === 'heartbeat_timeout' ? { autoPong: false } : {})),
    );
    for (const [i, c] of clients.entries()) {
      c.send('subscribe', { topic: 'shared' });
      c.send('subscribe', { topic: `own-${paths[i]}` });
      await c.next('subscribed');
      await c.next('subscribed');
    }
    expect(t.topics.subscriberCount('shared')).toBe(4);
    expect(t.topics.topicCount).toBe(5);

    const [closer, dropper, , stale] = clients;
    await closer.close();
    dropper.destroy();
    // The zombie does nothing: the heartbeat reaps it.
    const staleRecord = t.registry.get(stale.id);
    if (!staleRecord) throw new Error('not registered');
    (stale.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    staleRecord.socket.close();

    await waitFor(() => t.registry.size === 0 && t.pipeline.pending === 0, 'all four gone', 3000);
    expect(t.topics.subscriberCount('shared')).toBe(0);
    expect(t.topics.topicCount).toBe(0);
    for (const reason of paths) {
      expect(await t.metric('lifeline_disconnections_total', { reason })).toBe(1);
    }
  });

  it('releases subscriptions on server shutdown', async () => {
    const clients = await Promise.all([t.join(), t.join()]);
    for (const c of clients) {
      c.send('subscribe', { topic: 'bye' });
      await c.next('subscribed');
    }
    expect(t.topics.subscriberCount('bye')).toBe(2);
    await t.app.close();
    expect(t.topics.subscriberCount('bye')).toBe(0);
    expect(t.topics.topicCount).toBe(0);
  });
});
