export interface BackoffOptions {
  /** First window, in ms (default 500). */
  baseMs?: number;
  /** Largest window, in ms (default 15,000). */
  capMs?: number;
  /** A connection that stayed open this long resets the backoff (default 10,000 ms). */
  resetAfterMs?: number;
}

export const DEFAULT_BACKOFF = { baseMs: 500, capMs: 15_000, resetAfterMs: 10_000 } as const;

/**
 * Full-jitter exponential backoff: attempt n waits a uniformly random time in
 * [0, min(cap, base * 2^n)). The randomness is the point: thousands of clients
 * dropped by one restart come back spread out instead of in lock step.
 */
export class Backoff {
  readonly baseMs: number;
  readonly capMs: number;
  readonly resetAfterMs: number;
  private attempt = 0;

  constructor(
    options: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.baseMs = positive(options.baseMs, DEFAULT_BACKOFF.baseMs, 'baseMs');
    this.capMs = positive(options.capMs, DEFAULT_BACKOFF.capMs, 'capMs');
    this.resetAfterMs = positive(options.resetAfterMs, DEFAULT_BACKOFF.resetAfterMs, 'resetAfterMs');
    if (this.capMs < this.baseMs) throw new RangeError('backoff capMs must not be less than baseMs');
  }

  /** Attempts since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The upper bound of the next window. */
  window(): number {
    // 2^attempt stops growing long before it overflows: the cap is reached first.
    return Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
  }

  /**
   * The delay before the next attempt, and counts it. A server hint
   * (Retry-After) is a floor: the jitter is added on top, so clients sent
   * away together do not all return at the hinted second.
   */
  next(hintMs?: number): number {
    const jitter = Math.floor(this.random() * this.window());
    this.attempt++;
    return hintMs !== undefined && hintMs > 0 ? hintMs + jitter : jitter;
  }

  reset(): void {
    this.attempt = 0;
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`backoff ${name} must be a non-negative number (got ${value})`);
  return value;
}
