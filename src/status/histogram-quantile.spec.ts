import { Histogram, Registry } from 'prom-client';
import { bucketsDelta, bucketsFromValues, histogramQuantile } from './histogram-quantile';

describe('histogramQuantile', () => {
  const histogram = (observations: number[]) => {
    const registry = new Registry();
    const h = new Histogram({ name: 'h', help: 'h', buckets: [0.001, 0.01, 0.1, 1], registers: [registry] });
    for (const o of observations) h.observe(o);
    return h.get();
  };

  it('is null without observations', async () => {
    expect(histogramQuantile(0.5, bucketsFromValues((await histogram([])).values))).toBeNull();
  });

  it('interpolates inside the bucket that holds the rank, as Prometheus does', async () => {
    // 10 observations in (0.001, 0.01]: p50 is halfway through that bucket.
    const buckets = bucketsFromValues((await histogram(Array.from({ length: 10 }, () => 0.005))).values);
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.0055, 6);
    expect(histogramQuantile(0.99, buckets)).toBeCloseTo(0.00991, 6);
  });

  it('answers the highest finite bound for ranks in +Inf', async () => {
    const buckets = bucketsFromValues((await histogram([5, 6, 7])).values);
    expect(histogramQuantile(0.5, buckets)).toBe(1);
  });

  it('takes the quantile of a window from the difference of two readings', async () => {
    const registry = new Registry();
    const h = new Histogram({ name: 'w', help: 'w', buckets: [0.001, 0.01, 0.1, 1], registers: [registry] });
    for (let i = 0; i < 100; i++) h.observe(0.5); // old, slow
    const earlier = bucketsFromValues((await h.get()).values);
    for (let i = 0; i < 10; i++) h.observe(0.0005); // recent, fast
    const later = bucketsFromValues((await h.get()).values);
    expect(histogramQuantile(0.99, bucketsDelta(later, earlier))).toBeLessThanOrEqual(0.001);
    expect(histogramQuantile(0.5, later)).toBeGreaterThan(0.1);
  });
});
