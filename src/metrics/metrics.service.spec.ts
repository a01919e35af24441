import { setImmediate as nextTurn } from 'node:timers/promises';
import type { BackpressureService, ClientRegistryService, SweepEvent } from '../lifeline';
import { MetricsService } from './metrics.service';

/** The two readings the service takes at scrape time; the sweep path under test does not touch them. */
const clients = { size: 0 } as ClientRegistryService;
const backpressure = { flaggedCount: 0 } as BackpressureService;

const sweep = (rttSamplesMs: number[]): SweepEvent => ({
  durationMs: 12,
  longestSliceMs: 1,
  clients: rttSamplesMs.length,
  pinged: rttSamplesMs.length,
  reaped: 0,
  failures: 0,
  rttSamplesMs,
});

/** The histogram's _count, as a scrape shows it. */
async function rttCount(metrics: MetricsService): Promise<number> {
  const text = await metrics.metrics();
  const line = /^lifeline_heartbeat_rtt_seconds_count (\d+)$/m.exec(text);
  return line ? Number(line[1]) : Number.NaN;
}

describe('MetricsService: round trips of a sweep', () => {
  it('observes a small sweep at once', async () => {
    const metrics = new MetricsService(clients, backpressure);
    metrics.onSwept(sweep([1, 2, 3]));
    expect(await rttCount(metrics)).toBe(3);
  });

  it("observes a large sweep's round trips a slice per turn of the event loop, every one of them in the end", async () => {
    const metrics = new MetricsService(clients, backpressure);
    const samples = Array.from({ length: 5000 }, (_, i) => i % 50);
    metrics.onSwept(sweep(samples));
    const first = await rttCount(metrics);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(samples.length);
    for (let i = 0; i < 10 && (await rttCount(metrics)) < samples.length; i++) await nextTurn();
    expect(await rttCount(metrics)).toBe(samples.length);
  });
});

describe('MetricsService: event-loop delay', () => {
  it('a 300 ms stall shows in lifeline_event_loop_delay_seconds and _max_seconds', async () => {
    const metrics = new MetricsService(clients, backpressure);
    try {
      // Let the monitor take a sample or two, then block the loop.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const until = Date.now() + 300;
      while (Date.now() < until) {
        // a stall, as a large synchronous cleanup would cause
      }
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const text = await metrics.metrics();
      const max = Number(/^lifeline_event_loop_delay_max_seconds (\S+)$/m.exec(text)?.[1]);
      const over = Number(/^lifeline_event_loop_delay_seconds_bucket\{le="0.25"\} (\d+)$/m.exec(text)?.[1]);
      const count = Number(/^lifeline_event_loop_delay_seconds_count (\d+)$/m.exec(text)?.[1]);
      // One window saw the stall (≥ 0.25 s), so fewer observations sit at or under 0.25 s than were made.
      expect(count).toBeGreaterThanOrEqual(1);
      expect(over).toBeLessThan(count);
      expect(Number.isFinite(max)).toBe(true);
    } finally {
      metrics.onModuleDestroy();
    }
  });
});
