/** The server's defaults (RATE_LIMIT_PER_SEC, RATE_LIMIT_BURST). */
export const DEFAULT_SEND_RATE = { perSecond: 50, burst: 100 } as const;

/**
 * A token bucket under the server's per-connection rate limit, so the client
 * paces itself instead of being told off: every frame costs a token, tokens
 * come back at 90 % of `perSecond`, and only half the `burst` is used. The
 * reserve matters: the server refills its bucket by arrival time, and frames
 * sent evenly can arrive bunched (one TCP read, a busy event loop), which an
 * empty server bucket would refuse. No timer of its own; the caller asks how
 * long to wait.
 */
export class SendBudget {
  private readonly perSecond: number;
  private readonly burst: number;
  private tokens: number;
  private at: number;

  constructor(
    rate: { perSecond: number; burst: number } | false = DEFAULT_SEND_RATE,
    private readonly now: () => number = Date.now,
  ) {
    if (rate !== false && (!(rate.perSecond > 0) || !(rate.burst >= 1))) {
      throw new RangeError('sendRate needs perSecond > 0 and burst >= 1');
    }
    this.perSecond = rate === false ? Number.POSITIVE_INFINITY : rate.perSecond * 0.9;
    this.burst = rate === false ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor(rate.burst / 2));
    this.tokens = this.burst;
    this.at = this.now();
  }

  /** Takes a token: 0 if one was available, else the ms until one is. */
  take(): number {
    this.update();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) * 1000) / this.perSecond);
  }

  /** A frame that goes anyway (control frames): the debt delays the next publishes. */
  spend(): void {
    this.update();
    this.tokens -= 1;
  }

  refill(): void {
    this.tokens = this.burst;
    this.at = this.now();
  }

  /** The server said we were too fast: start from empty. */
  drain(): void {
    this.update();
    this.tokens = Math.min(this.tokens, 0);
  }

  private update(): void {
    if (this.perSecond === Number.POSITIVE_INFINITY) return;
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.perSecond) / 1000);
    this.at = now;
  }
}
