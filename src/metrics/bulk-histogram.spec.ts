import { Histogram, Registry } from 'prom-client';
import { BulkHistogram } from './bulk-histogram';

const BUCKETS = [0.001, 0.01, 0.1, 1];

/** A BulkHistogram and a prom-client Histogram of the same name, help and buckets, each in its own registry. */
function pair() {
  const bulkRegistry = new Registry();
  const promRegistry = new Registry();
  const config = { name: 'test_rtt_seconds', help: 'Round trips.', buckets: BUCKETS };
  const bulk = new BulkHistogram({ ...config, registers: [bulkRegistry] });
  const prom = new Histogram({ ...config, registers: [promRegistry] });
  return { bulk, prom, bulkRegistry, promRegistry };
}

describe('BulkHistogram', () => {
  // Values on, just under and just over each bound, and past the last one.
  const valuesMs = [0.5, 1, 1.0000001, 9.99, 10, 10.5, 100, 100.1, 999, 1000, 1000.5, 50_000, 0];

  it('reads the same as a prom-client Histogram fed one observe() per value: text, JSON and get()', async () => {
    const { bulk, prom, bulkRegistry, promRegistry } = pair();
    expect(bulk.observeMany(valuesMs, 1000)).toBe(0);
    for (const ms of valuesMs) prom.observe(ms / 1000);

    expect(await bulkRegistry.metrics()).toBe(await promRegistry.metrics());
    expect(await bulkRegistry.getMetricsAsJSON()).toEqual(await promRegistry.getMetricsAsJSON());
    expect(await bulk.get()).toEqual(await prom.get());
    expect(bulkRegistry.getSingleMetric('test_rtt_seconds')).toBe(bulk);
  });

  it('reads the same with nothing observed, and after reset()', async () => {
    const { bulk, prom, bulkRegistry, promRegistry } = pair();
    expect(await bulkRegistry.metrics()).toBe(await promRegistry.metrics());
    bulk.observeMany([1, 2, 3]);
    bulkRegistry.resetMetrics();
    prom.zero({});
    expect(await bulk.get()).toEqual(await prom.get());
  });

  it('observe() takes one value and throws on a value that is not a number, as Histogram.observe() does', async () => {
    const { bulk, prom } = pair();
    bulk.observe(0.02);
    prom.observe(0.02);
    expect(() => bulk.observe(Number.NaN)).toThrow(TypeError);
    expect(() => prom.observe(Number.NaN)).toThrow(TypeError);
    expect(await bulk.get()).toEqual(await prom.get());
  });

  it('observeMany() skips (and counts) values that are not finite, and keeps the rest of the batch', async () => {
    const { bulk } = pair();
    expect(bulk.observeMany([1, Number.NaN, 2, Number.POSITIVE_INFINITY, 3], 1000)).toBe(2);
    const count = (await bulk.get()).values.find((v) => v.metricName === 'test_rtt_seconds_count');
    expect(count?.value).toBe(3);
  });

  it('refuses buckets that do not ascend, and a second metric of the same name in a registry', () => {
    expect(() => new BulkHistogram({ name: 'x_seconds', help: 'x', buckets: [1, 1], registers: [] })).toThrow(/ascend/);
    const registry = new Registry();
    new BulkHistogram({ name: 'x_seconds', help: 'x', buckets: [1], registers: [registry] });
    expect(() => new BulkHistogram({ name: 'x_seconds', help: 'x', buckets: [1], registers: [registry] })).toThrow(/already been registered/);
  });
});
