import type { PerSecondSeries } from './interfaces';

/**
 * Event counts per second over a sliding window, kept by the events
 * themselves: add() finds the slot of the current second (a ring indexed by
 * epoch second) and clears it if it still holds an older second. No timer,
 * so the history costs nothing while nobody watches and is there when
 * someone opens the page.
 */
export class PerSecondCounts {
  /** The epoch second each slot holds (NaN: never used). */
  private readonly slotSecond: Float64Array;
  private readonly counts = new Map<string, Uint32Array>();

  constructor(readonly windowSeconds: number) {
    this.slotSecond = new Float64Array(windowSeconds).fill(Number.NaN);
  }

  add(key: string, nowMs = Date.now(), n = 1): void {
    const second = Math.floor(nowMs / 1000);
    const slot = second % this.windowSeconds;
    if (this.slotSecond[slot] !== second) {
      this.slotSecond[slot] = second;
      for (const column of this.counts.values()) column[slot] = 0;
    }
    let column = this.counts.get(key);
    if (!column) {
      column = new Uint32Array(this.windowSeconds);
      this.counts.set(key, column);
    }
    column[slot] += n;
  }

  /** Count of one second, all keys together. */
  total(second: number): number {
    const slot = second % this.windowSeconds;
    if (this.slotSecond[slot] !== second) return 0;
    let sum = 0;
    for (const column of this.counts.values()) sum += column[slot];
    return sum;
  }

  /**
   * The seconds from `fromSecond` to `toSecond` (inclusive, clipped to the
   * window), every key seen so far with a count per second.
   */
  series(fromSecond: number, toSecond: number): PerSecondSeries {
    const from = Math.max(fromSecond, toSecond - this.windowSeconds + 1);
    const seconds: number[] = [];
    for (let s = from; s <= toSecond; s++) seconds.push(s);
    const series: Record<string, number[]> = {};
    for (const [key, column] of this.counts) {
      series[key] = seconds.map((s) => {
        const slot = s % this.windowSeconds;
        return this.slotSecond[slot] === s ? column[slot] : 0;
      });
    }
    return { seconds, series };
  }
}
