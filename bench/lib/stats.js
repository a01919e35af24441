'use strict';

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Count, mean, p50, p90, p99, max of numbers (NaN ignored). */
function summarize(values) {
  const sorted = Float64Array.from(values).filter((v) => !Number.isNaN(v)).sort();
  if (sorted.length === 0) return { n: 0, mean: null, p50: null, p90: null, p99: null, max: null };
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n: sorted.length,
    mean: sum / sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1],
  };
}

/** Joins typed arrays / arrays into one Float64Array. */
function concat(arrays) {
  const total = arrays.reduce((n, a) => n + a.length, 0);
  const out = new Float64Array(total);
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

/** µs of CPU (user + system) between two process.cpuUsage() readings. */
function cpuMicros(before, after) {
  return after.user - before.user + (after.system - before.system);
}

/** Difference of two { type: count } maps, only the types that changed. */
function diffCounts(before, after) {
  const out = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const d = (after[key] || 0) - (before[key] || 0);
    if (d !== 0) out[key] = d;
  }
  return out;
}

const round = (v, digits = 2) => (v === null || v === undefined || !Number.isFinite(v) ? v : Number(v.toFixed(digits)));

module.exports = { concat, cpuMicros, diffCounts, percentile, round, summarize };
