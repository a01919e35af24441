import type { ClientRecord } from '../interfaces/client-record.interface';
import type { RateLimitOptions } from '../interfaces/lifeline-options.interface';

/** `ok`: go ahead; `limited`: refuse this one; `flooding`: refused more than a burst in a row. */
export type RateDecision = 'ok' | 'limited' | 'flooding';

/**
 * A token bucket per client, kept in three numbers on its record (no timer,
 * no allocation): refilled lazily by the time elapsed since the last message.
 */
export function takeToken(record: ClientRecord, limit: RateLimitOptions, now: number): RateDecision {
  const elapsedS = (now - record.rateRefilledAt) / 1000;
  record.rateRefilledAt = now;
  record.rateTokens = Math.min(limit.burst, record.rateTokens + elapsedS * limit.perSecond);
  if (record.rateTokens >= 1) {
    record.rateTokens -= 1;
    record.rateStrikes = 0;
    return 'ok';
  }
  record.rateStrikes++;
  return record.rateStrikes > limit.burst ? 'flooding' : 'limited';
}
