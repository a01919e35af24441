import { type BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { ClientRegistryService } from '../client-registry.service';
import type { ClientRecord } from '../interfaces/client-record.interface';
import { LifecycleService } from '../lifecycle.service';
import { type ClientConnectedEvent, LifelineEvents } from '../lifeline.events';
import { TOKEN_EXPIRED_CLOSE_CODE, TOKEN_EXPIRED_CLOSE_REASON, TOKEN_EXPIRY_TIMER_NAME } from './constants';
import { ExpiryHeap } from './expiry-heap';
import { LifelineLogger } from '../log-entry';

/** setTimeout's longest delay (about 24.8 days); a later deadline is re-armed on the way. */
const MAX_DELAY_MS = 2 ** 31 - 1;
/** Entries of departed clients tolerated before the heap is compacted (plus one per live client). */
const COMPACT_SLACK = 1024;

/**
 * Honours the JWT `exp` on open connections: when it passes, the client is
 * closed with 4001 `token_expired` (disconnect reason `token_expired`), so an
 * SDK can fetch a fresh token and resume instead of the connection living on
 * forever on a token nobody would accept any more.
 *
 * One timer for all clients: deadlines wait in an ExpiryHeap and the timer is
 * armed for the earliest. A client that leaves first is not searched for; its
 * entry is dropped when it reaches the top, or when departed entries outgrow
 * the live ones (compaction).
 */
@Injectable()
export class TokenExpiryService implements BeforeApplicationShutdown {
  private readonly logger = new LifelineLogger('Lifeline');
  private readonly heap = new ExpiryHeap();
  /** Deadline the timer is armed for; NaN when none is. */
  private armedFor = Number.NaN;
  private stopped = false;
  readonly stats = { expired: 0 };

  constructor(
    private readonly registry: ClientRegistryService,
    private readonly lifecycle: LifecycleService,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  @OnEvent(LifelineEvents.connected)
  onConnected({ clientId }: ClientConnectedEvent): void {
    const record = this.registry.get(clientId);
    if (record) this.track(record);
  }

  /** Starts watching a client's token; a no-op for a client without `exp`. */
  track(record: ClientRecord): void {
    if (this.stopped || !Number.isFinite(record.expiresAt)) return;
    if (this.heap.size >= 2 * this.registry.size + COMPACT_SLACK) {
      this.heap.retain((at, id) => this.registry.get(id)?.expiresAt === at);
    }
    this.heap.push(record.expiresAt, record.id);
    if (!(record.expiresAt >= this.armedFor)) this.arm();
  }

  /** Deadlines waiting (departed clients' included until dropped). */
  get pending(): number {
    return this.heap.size;
  }

  beforeApplicationShutdown(): void {
    this.stopped = true;
    this.disarm();
  }

  private readonly onTimer = (): void => {
    this.armedFor = Number.NaN;
    if (this.scheduler.doesExist('timeout', TOKEN_EXPIRY_TIMER_NAME)) {
      this.scheduler.deleteTimeout(TOKEN_EXPIRY_TIMER_NAME);
    }
    this.expireDue(Date.now());
    this.arm();
  };

  private expireDue(now: number): void {
    while (this.heap.size > 0 && this.heap.peekAt() <= now) {
      const at = this.heap.peekAt();
      const id = this.heap.peekId() as string;
      this.heap.pop();
      const record = this.registry.get(id);
      // Gone already, or (the same id never comes back, but be exact) another deadline.
      if (!record || record.expiresAt !== at) continue;
      this.stats.expired++;
      this.logger.log({ msg: 'token expired; closing', clientId: id, userId: record.userId });
      this.lifecycle
        .disconnect(record, 'token_expired', TOKEN_EXPIRED_CLOSE_CODE, TOKEN_EXPIRED_CLOSE_REASON)
        .catch((err: unknown) => this.logger.error({ msg: 'closing an expired client failed', clientId: id, error: String(err) }));
    }
  }

  /** Arms the one timer for the earliest deadline (or none). */
  private arm(): void {
    this.disarm();
    if (this.stopped || this.heap.size === 0) return;
    const at = this.heap.peekAt();
    this.armedFor = at;
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, at - Date.now()));
    this.scheduler.addTimeout(TOKEN_EXPIRY_TIMER_NAME, setTimeout(this.onTimer, delay));
  }

  private disarm(): void {
    this.armedFor = Number.NaN;
    if (this.scheduler.doesExist('timeout', TOKEN_EXPIRY_TIMER_NAME)) {
      this.scheduler.deleteTimeout(TOKEN_EXPIRY_TIMER_NAME);
    }
  }
}
