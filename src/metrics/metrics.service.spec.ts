import { Histogram, Registry } from 'prom-client';
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
  rttSamplesMs: Float64Array.from(rttSamplesMs),
});

/** One metric's block of a scrape (HELP, TYPE and its samples). */
function block(text: string, name: string): string {
  return text
    .split('\n\n')
    .filter((b) => b.startsWith(`# HELP ${name} `))
    .join('\n\n')
    .trimEnd();
}

describe('MetricsService: round trips of a sweep', () => {
  it("observes a whole sweep's round trips in the sweep event's turn: the series prom-client's Histogram would show", async () => {
    const metrics = new MetricsService(clients, backpressure);
    // Around every bound (ms): below, on, above, and past the last one (+Inf only).
    const samples = Array.from({ length: 5000 }, (_, i) => [0.2, 0.5, 1, 4.99, 5, 25, 99, 250.01, 1000, 12_000][i % 10] * (1 + (i % 7) / 1e9));
    metrics.onSwept(sweep(samples));

    // What the metric was before it became a BulkHistogram: same name, help, buckets, observe(ms / 1000) per sample.
    const reference = new Registry();
    const histogram = new Histogram({
      name: 'lifeline_heartbeat_rtt_seconds',
      help: 'Protocol ping round-trip time.',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [reference],
    });
    for (const ms of samples) histogram.observe(ms / 1000);

    const text = block(await metrics.metrics(), 'lifeline_heartbeat_rtt_seconds');
    expect(text).toContain('lifeline_heartbeat_rtt_seconds_count 5000');
    expect(text).toBe(block(await reference.metrics(), 'lifeline_heartbeat_rtt_seconds'));
  });

  it('adds each sweep to what the earlier sweeps brought', async () => {
    const metrics = new MetricsService(clients, backpressure);
    metrics.onSwept(sweep([1, 2, 3]));
    metrics.onSwept(sweep([]));
    metrics.onSwept(sweep([4000]));
    const text = await metrics.metrics();
    expect(text).toMatch(/^lifeline_heartbeat_rtt_seconds_count 4$/m);
    expect(text).toMatch(/^lifeline_heartbeat_rtt_seconds_sum 4\.006$/m);
    expect(text).toMatch(/^lifeline_heartbeat_rtt_seconds_bucket\{le="0\.005"\} 3$/m);
    expect(text).toMatch(/^lifeline_heartbeat_rtt_seconds_bucket\{le="5"\} 4$/m);
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
