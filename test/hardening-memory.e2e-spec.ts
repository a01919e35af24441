import { setTimeout as sleep } from 'node:timers/promises';
import { startTestApp, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';
import { TestClient } from './support/ws-client';

/** Stops reading the client's socket (the kernel buffers fill, then the server's send buffer). */
function stopReading(client: TestClient): void {
  (client.socket as unknown as { _socket: { pause(): void } })._socket.pause();
}

/** Largest bufferedAmount seen on the server side of a client while `work` runs, sampled every few ms. */
async function watchBuffered(t: TestApp, id: string, work: (sample: () => void) => Promise<void>): Promise<number> {
  let max = 0;
  const sample = () => {
    const record = t.registry.get(id);
    if (record) max = Math.max(max, record.socket.bufferedAmount);
  };
  const timer = setInterval(sample, 2);
  try {
    await work(sample);
  } finally {
    clearInterval(timer);
  }
  return max;
}

const KIB = 1024;

describe('memory per client has a hard bound (issue 9, items 1, 2, 5)', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('replies to the sender (pong frames) go through the slow-consumer limit: a non-reader flooding pings is terminated at the hard limit', async () => {
    const hard = 512 * KIB;
    t = await startTestApp({
      env: {
        SLOW_CONSUMER_MAX_BUFFERED_BYTES: String(128 * KIB),
        SLOW_CONSUMER_HARD_LIMIT_BYTES: String(hard),
        SLOW_CONSUMER_GRACE_MS: '60000',
        RATE_LIMIT_PER_SEC: '1000',
        RATE_LIMIT_BURST: '1000',
        HEARTBEAT_INTERVAL_MS: '10000',
        HEARTBEAT_TIMEOUT_MS: '5000',
      },
    });
    const sender = await t.join();
    const bystander = await t.join();
    stopReading(sender);
    const payload = 'p'.repeat(256 * KIB);
    let sent = 0;
    const max = await watchBuffered(t, sender.id, async (sample) => {
      // Bounded: at most 400 pings (100 MiB of replies) or until the server lets go of it.
      while (t.registry.has(sender.id) && sent < 400 && sender.socket.readyState === sender.socket.OPEN) {
        sender.send('ping', payload);
        sent++;
        if (sent % 8 === 0) {
          await sleep(5);
          sample();
        }
      }
      await waitFor(() => !t.registry.has(sender.id), 'sender terminated', 5000);
    });
    expect(max).toBeLessThanOrEqual(hard + payload.length + 64);
    await waitFor(() => t.pipeline.pending === 0, 'cleanup done');
    expect(await t.metric('lifeline_disconnections_total', { reason: 'slow_consumer' })).toBe(1);
    expect(t.logs.entries('slow consumer terminated')).toEqual([
      expect.objectContaining({ clientId: sender.id, limit: 'hard', hardLimitBytes: hard }),
    ]);
    bystander.send('ping', 'still here');
    expect((await bystander.next('pong')).data).toBe('still here');
  });

  it('SLOW_CONSUMER_HARD_LIMIT_BYTES: a subscriber that stops reading is terminated at once past it, long before the grace period', async () => {
    const hard = 1024 * KIB;
    t = await startTestApp({
      env: {
        SLOW_CONSUMER_MAX_BUFFERED_BYTES: String(256 * KIB),
        SLOW_CONSUMER_HARD_LIMIT_BYTES: String(hard),
        SLOW_CONSUMER_GRACE_MS: '60000',
        HEARTBEAT_INTERVAL_MS: '10000',
        HEARTBEAT_TIMEOUT_MS: '5000',
      },
    });
    const slow = await t.join();
    const reader = await t.join();
    for (const c of [slow, reader]) {
      c.send('subscribe', { topic: 'firehose' });
      await c.next('subscribed');
    }
    stopReading(slow);
    let readerGot = 0;
    reader.socket.on('message', () => readerGot++);
    const chunk = 'z'.repeat(128 * KIB);
    const startedAt = Date.now();
    let published = 0;
    const max = await watchBuffered(t, slow.id, async (sample) => {
      // Six publishers' worth, bounded: at most 1,000 messages (125 MiB).
      while (t.registry.has(slow.id) && published < 1000) {
        for (let p = 0; p < 6; p++) void t.topics.publish('firehose', chunk);
        published += 6;
        sample();
        await sleep(1);
      }
    });
    const tookMs = Date.now() - startedAt;
    expect(t.registry.has(slow.id)).toBe(false);
    expect(tookMs).toBeLessThan(10_000); // grace is 60 s: the hard limit did it
    expect(max).toBeLessThanOrEqual(hard + chunk.length + 64);
    await waitFor(() => t.pipeline.pending === 0, 'cleanup done');
    expect(await t.metric('lifeline_disconnections_total', { reason: 'slow_consumer' })).toBe(1);
    expect(t.logs.entries('slow consumer terminated')).toEqual([expect.objectContaining({ clientId: slow.id, limit: 'hard' })]);
    expect(t.registry.has(reader.id)).toBe(true);
    await waitFor(() => readerGot >= published - 6, 'reader got the messages', 5000);
  });

  it('an unsolicited pong does not answer the outstanding ping: a client that only sends pongs is reaped', async () => {
    t = await startTestApp(); // heartbeat 200 / 100 ms
    const healthy = await t.join();
    const faker = await t.join({ autoPong: false });
    const pongs = setInterval(() => {
      if (faker.socket.readyState === faker.socket.OPEN) faker.socket.pong();
    }, 10);
    try {
      await waitFor(() => !t.registry.has(faker.id), 'faker reaped', 3000);
    } finally {
      clearInterval(pongs);
    }
    await waitFor(() => t.pipeline.pending === 0, 'cleanup done');
    expect(await t.metric('lifeline_heartbeat_reaps_total', { reason: 'heartbeat_timeout' })).toBe(1);
    expect(t.heartbeat.stats.unmatchedPongs).toBeGreaterThan(0);
    // A client that echoes the ping's payload (every standard client does) stays.
    expect(t.registry.has(healthy.id)).toBe(true);
    expect(Number.isNaN(t.registry.get(healthy.id)?.rttMs)).toBe(false);
  });

  it('protocol pings count against the rate limit: unanswered past it, and a client that keeps pinging is closed 1008 rate_limited', async () => {
    t = await startTestApp({ env: { RATE_LIMIT_PER_SEC: '10', RATE_LIMIT_BURST: '20', HEARTBEAT_INTERVAL_MS: '10000', HEARTBEAT_TIMEOUT_MS: '5000' } });
    const pinger = await t.join();
    let pongs = 0;
    pinger.socket.on('pong', () => pongs++);
    for (let i = 0; i < 500 && pinger.socket.readyState === pinger.socket.OPEN; i++) pinger.socket.ping();
    expect(await pinger.closed).toBe(1008);
    expect(pinger.closeReason).toBe('rate_limited');
    // The burst, and what trickled in meanwhile; not 500.
    expect(pongs).toBeLessThanOrEqual(25);
    expect(pongs).toBeGreaterThanOrEqual(20);
    await waitFor(() => t.pipeline.pending === 0 && t.registry.size === 0, 'cleanup done');
    expect(await t.metric('lifeline_disconnections_total', { reason: 'rate_limited' })).toBe(1);
    expect(await t.metric('lifeline_rate_limited_messages_total')).toBeGreaterThan(20);
  });
});
