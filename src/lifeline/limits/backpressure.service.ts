import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { CleanupPipeline } from '../cleanup/cleanup.pipeline';
import { ClientRegistryService } from '../client-registry.service';
import { LIFELINE_OPTIONS } from '../constants';
import type { ClientRecord } from '../interfaces/client-record.interface';
import type { ResolvedLifelineOptions } from '../interfaces/lifeline-options.interface';

const CHECK_NAME = 'lifeline:slow-consumers';

/**
 * Bounds what a client that stops reading can cost. Every fan-out send goes
 * through send(): a client whose send buffer is above the limit is flagged;
 * it keeps receiving (a brief stall loses nothing), but if it is still over
 * the limit after the grace period it is terminated as `slow_consumer`.
 * Memory per client is thus bounded by the limit plus what the grace period
 * lets through. Only flagged clients are checked, so the timer costs nothing
 * while everyone keeps up.
 */
@Injectable()
export class BackpressureService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Lifeline');
  private readonly flagged = new Set<ClientRecord>();

  constructor(
    @Inject(LIFELINE_OPTIONS) private readonly options: ResolvedLifelineOptions,
    private readonly registry: ClientRegistryService,
    private readonly cleanup: CleanupPipeline,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    const every = Math.max(10, Math.min(1000, Math.floor(this.options.slowConsumer.graceMs / 4)));
    this.scheduler.addInterval(CHECK_NAME, setInterval(() => this.check(), every));
  }

  beforeApplicationShutdown(): void {
    if (this.scheduler.doesExist('interval', CHECK_NAME)) this.scheduler.deleteInterval(CHECK_NAME);
  }

  /** Clients currently over the send-buffer limit. */
  get flaggedCount(): number {
    return this.flagged.size;
  }

  /** Sends a text frame to a live client; false if its socket is not open. */
  send(record: ClientRecord, frame: string): boolean {
    const { socket } = record;
    if (socket.readyState !== WebSocket.OPEN) return false;
    if (socket.bufferedAmount > this.options.slowConsumer.maxBufferedBytes) {
      if (record.backpressureSince === undefined) {
        record.backpressureSince = performance.now();
        this.flagged.add(record);
      }
    } else if (record.backpressureSince !== undefined) {
      record.backpressureSince = undefined;
      this.flagged.delete(record);
    }
    socket.send(frame);
    return true;
  }

  /** Terminates flagged clients that stayed over the limit past the grace period. */
  check(now = performance.now()): void {
    const { maxBufferedBytes, graceMs } = this.options.slowConsumer;
    for (const record of this.flagged) {
      const since = record.backpressureSince;
      if (!this.registry.has(record.id) || since === undefined) {
        this.flagged.delete(record);
      } else if (record.socket.bufferedAmount <= maxBufferedBytes) {
        record.backpressureSince = undefined;
        this.flagged.delete(record);
      } else if (now - since >= graceMs) {
        this.flagged.delete(record);
        this.logger.log({
          msg: 'slow consumer terminated',
          clientId: record.id,
          bufferedBytes: record.socket.bufferedAmount,
          overLimitMs: Math.round(now - since),
        });
        void this.cleanup.run(record, 'slow_consumer');
      }
    }
  }
}
