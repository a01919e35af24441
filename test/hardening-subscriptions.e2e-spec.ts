import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startTestApp, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

/** Issue 9, item 3: subscriptions per client are capped, cheap, and released without stalling anyone. */
describe('subscriptions per client (issue 9, item 3)', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('MAX_SUBSCRIPTIONS_PER_CLIENT: one more gets a too_many_subscriptions error frame; the connection stays', async () => {
    t = await startTestApp({ env: { MAX_SUBSCRIPTIONS_PER_CLIENT: '3' } });
    const client = await t.join();
    for (const topic of ['a', 'b', 'c']) {
      client.send('subscribe', { topic });
      expect((await client.next('subscribed')).data).toMatchObject({ topic });
    }
    client.send('subscribe', { topic: 'd' });
    expect((await client.next('error')).data).toEqual({
      code: 'too_many_subscriptions',
      message: 'at most 3 subscriptions per client; unsubscribe from one first',
      event: 'subscribe',
    });
    client.send('subscribe', { topic: 'a' }); // held already: fine
    expect((await client.next('subscribed')).data).toMatchObject({ topic: 'a' });
    client.send('unsubscribe', { topic: 'b' });
    await client.next('unsubscribed');
    client.send('subscribe', { topic: 'd' });
    expect((await client.next('subscribed')).data).toMatchObject({ topic: 'd' });
    const view = await t.get(`/clients/${client.id}`);
    expect((view.body as { subscriptions: string[] }).subscriptions.sort()).toEqual(['a', 'c', 'd']);
    expect(t.topics.subscriberCount('b')).toBe(0);
  });

  it('a client with 20,000 subscriptions leaves without blocking the event loop; bystanders keep their heartbeat', async () => {
    // The sliced release may take longer than the suite's 300 ms step deadline on a loaded machine.
    t = await startTestApp({ env: { MAX_SUBSCRIPTIONS_PER_CLIENT: '20000', CLEANUP_STEP_TIMEOUT_MS: '20000' } });
    const heavy = await t.join();
    const bystanders = await Promise.all(Array.from({ length: 10 }, () => t.join()));
    const record = t.registry.get(heavy.id);
    if (!record) throw new Error('heavy client not registered');
    for (let i = 0; i < 20_000; i++) t.topics.subscribe(record, `topic-${i}`);
    expect(t.topics.topicCount).toBe(20_000);

    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    heavy.destroy();
    await waitFor(() => !t.registry.has(heavy.id) && t.pipeline.pending === 0, 'heavy client cleaned up', 20_000);
    delay.disable();

    expect(t.topics.topicCount).toBe(0);
    // Released in ~1 ms slices; one disposer per topic through the pipeline took ~0.8 s here.
    expect(delay.max / 1e6).toBeLessThan(100);
    expect(bystanders.every((b) => t.registry.has(b.id))).toBe(true);
    expect(await t.metric('lifeline_cleanup_failures_total', { step: 'release' })).toBe(0);
    expect(await t.metric('lifeline_disconnections_total', { reason: 'connection_lost' })).toBe(1);
  });
});
