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
