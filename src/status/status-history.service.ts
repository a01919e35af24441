import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { type ClientDisconnectedEvent, LifelineEvents, type SweepEvent } from '../lifeline';
import type { HeartbeatSnapshot } from './interfaces';
import { PerSecondCounts } from './per-second-counts';
import { STATUS_HISTORY_SECONDS } from './status.constants';

/** Key of the connects series. */
export const CONNECT_KEY = 'connect';

/**
 * What the page wants from the last minutes that a counter cannot say:
 * connects and disconnects (by reason) per second, and the last sweep.
 * Kept by the lifecycle events (one array increment each), without a timer,
 * so it is there the moment someone opens the page.
 */
@Injectable()
export class StatusHistory {
  readonly connects = new PerSecondCounts(STATUS_HISTORY_SECONDS);
  readonly disconnects = new PerSecondCounts(STATUS_HISTORY_SECONDS);
  lastSweep: HeartbeatSnapshot['lastSweep'] = null;

  @OnEvent(LifelineEvents.connected)
  onConnected(): void {
    this.connects.add(CONNECT_KEY);
  }

  @OnEvent(LifelineEvents.disconnected)
  onDisconnected(event: ClientDisconnectedEvent): void {
    this.disconnects.add(event.reason);
  }

  @OnEvent(LifelineEvents.swept)
  onSwept(event: SweepEvent): void {
    this.lastSweep = {
      durationMs: event.durationMs,
      longestSliceMs: event.longestSliceMs,
      clients: event.clients,
      pinged: event.pinged,
      reaped: event.reaped,
    };
  }
}
