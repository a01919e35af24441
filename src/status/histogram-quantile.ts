/** A histogram's cumulative bucket counts, as prom-client reports them (`le` ascending, +Inf last). */
export interface Buckets {
  upperBounds: number[];
  counts: number[];
}

/**
 * The q-quantile estimated as Prometheus' histogram_quantile() does: find the
 * bucket holding the rank and interpolate linearly inside it. Null without
 * observations. A rank in the +Inf bucket answers the highest finite bound.
 */
export function histogramQuantile(q: number, buckets: Buckets): number | null {
  const { upperBounds, counts } = buckets;
  const total = counts.length > 0 ? counts[counts.length - 1] : 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] < rank) continue;
    const upper = upperBounds[i];
    const lower = i === 0 ? 0 : upperBounds[i - 1];
    if (!Number.isFinite(upper)) return lower;
    const below = i === 0 ? 0 : counts[i - 1];
    const inBucket = counts[i] - below;
    return inBucket === 0 ? upper : lower + (upper - lower) * ((rank - below) / inBucket);
  }
  return upperBounds[upperBounds.length - 2] ?? null;
}

/** Observations between two readings of the same histogram (later minus earlier). */
export function bucketsDelta(later: Buckets, earlier: Buckets): Buckets {
  return { upperBounds: later.upperBounds, counts: later.counts.map((c, i) => c - (earlier.counts[i] ?? 0)) };
}

/** Buckets from the values of prom-client's Histogram.get() (the `_bucket` samples). */
export function bucketsFromValues(values: readonly { value: number; labels: Record<string, unknown>; metricName?: string }[]): Buckets {
  const pairs: [number, number][] = [];
  for (const v of values) {
    if (!v.metricName?.endsWith('_bucket')) continue;
    const le = v.labels.le;
    pairs.push([le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), v.value]);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  return { upperBounds: pairs.map((p) => p[0]), counts: pairs.map((p) => p[1]) };
}
