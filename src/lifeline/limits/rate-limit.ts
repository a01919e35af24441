import type { ClientRecord } from '../interfaces/client-record.interface';
import type { RateLimitOptions } from '../interfaces/lifeline-options.interface';

/** `ok`: go ahead; `limited`: refuse this one; `flooding`: refused more than a burst in a row. */
export type RateDecision = 'ok' | 'limited' | 'flooding';

/**
 * A token bucket per client, refilled lazily (no timer, no allocation), kept
 * as one time on its record instead of a token count and a refill time:
 * `rateFullAt`, when the bucket is full again (the GCRA form of the same
 * bucket). Tokens at `now` are burst − (rateFullAt − now) × perSecond / 1000,
 * at most burst; a message takes one by moving rateFullAt on by one token's
 * worth of time. One number fewer per client, and 0 (full) until the client's
 * first message is a small integer: no boxed number on an idle client.
 */
export function takeToken(record: ClientRecord, limit: RateLimitOptions, now: number): RateDecision {
  /** Milliseconds one token takes to come back. */
  const perToken = 1000 / limit.perSecond;
  const from = Math.max(record.rateFullAt, now);
  // At least one token left: the bucket lacks at most burst − 1 tokens' worth of time. The
  // slack absorbs float rounding of the sums ((now + t) − now is not always t), which would
  // otherwise refuse the last message of a burst sent at one instant.
  // A thousandth of a token of slack: too little for any client to notice, more than the rounding.
  if (from - now <= (limit.burst - 0.999) * perToken) {
    record.rateFullAt = from + perToken;
    record.rateStrikes = 0;
    return 'ok';
  }
  record.rateStrikes++;
  return record.rateStrikes > limit.burst ? 'flooding' : 'limited';
}
