import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { CleanupPipeline } from '../cleanup/cleanup.pipeline';
import { ClientRegistryService } from '../client-registry.service';
import { LIFELINE_OPTIONS } from '../constants';
import type { ClientRecord } from '../interfaces/client-record.interface';
import type { ResolvedLifelineOptions } from '../interfaces/lifeline-options.interface';
import { LifelineLogger } from '../log-entry';

const CHECK_NAME = 'lifeline:slow-consumers';

/** Which limit ended a slow consumer: the hard ceiling at once, or the soft one after the grace period. */
export type SlowConsumerLimit = 'hard' | 'grace';

/**
 * Bounds what a client that stops reading can cost. EVERY frame the server
 * sends to a client goes through send(): the welcome, replies (pong, error,
 * subscribed…), fan-out, replay, presence diffs, direct frames. Control
 * frames (protocol pongs) are checked with admitControl().
 *
 * - Over the soft limit (`maxBufferedBytes`) a client is flagged; it keeps
 *   receiving (a brief stall loses nothing), and if it is still over the
 *   limit after the grace period it is terminated as `slow_consumer`.
 * - Over the hard limit (`hardLimitBytes`, default 4 × soft) it is
 *   terminated at once, before anything more is queued for it. So memory per
 *   client is at most the hard limit plus one message, whatever the client
 *   sends or how many publishers it has.
 *
 * Only flagged clients are checked by the timer, so it costs nothing while
 * everyone keeps up.
 */
@Injectable()
export class BackpressureService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new LifelineLogger('Lifeline');
  private readonly flagged = new Set<ClientRecord>();
  private readonly softLimit: number;
  private readonly hardLimit: number;
  /** Clients terminated by each limit since start. */
  readonly terminated = { hard: 0, grace: 0 };

  constructor(
    @Inject(LIFELINE_OPTIONS) private readonly options: ResolvedLifelineOptions,
    private readonly registry: ClientRegistryService,
    private readonly cleanup: CleanupPipeline,
    private readonly scheduler: SchedulerRegistry,
  ) {
    this.softLimit = options.slowConsumer.maxBufferedBytes;
    this.hardLimit = options.slowConsumer.hardLimitBytes ?? 4 * this.softLimit;
  }

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

  /** The send-buffer ceiling past which a client is terminated at once. */
  get hardLimitBytes(): number {
    return this.hardLimit;
  }

  /**
   * Sends a text frame to a live client. False if its socket is not open, or
   * if it is over the hard limit (it is then terminated, nothing is queued).
   */
  send(record: ClientRecord, frame: string): boolean {
    const { socket } = record;
    if (socket.readyState !== WebSocket.OPEN || !this.admit(record)) return false;
    socket.send(frame);
    return true;
  }

  /**
   * The same limits for a control frame the caller is about to write (a
   * protocol pong): true if it may be sent.
   */
  admitControl(record: ClientRecord): boolean {
    return record.socket.readyState === WebSocket.OPEN && this.admit(record);
  }

  private admit(record: ClientRecord): boolean {
    const buffered = record.socket.bufferedAmount;
    if (buffered > this.softLimit) {
      if (buffered > this.hardLimit) {
        this.terminate(record, 'hard', buffered, Number.NaN);
        return false;
      }
      if (record.backpressureSince === undefined) {
        record.backpressureSince = performance.now();
        this.flagged.add(record);
      }
    } else if (record.backpressureSince !== undefined) {
      record.backpressureSince = undefined;
      this.flagged.delete(record);
    }
    return true;
  }

  /** Terminates flagged clients that stayed over the limit past the grace period. */
  check(now = performance.now()): void {
    const { graceMs } = this.options.slowConsumer;
    for (const record of this.flagged) {
      const since = record.backpressureSince;
      const buffered = record.socket.bufferedAmount;
      if (!this.registry.has(record.id) || since === undefined) {
        this.flagged.delete(record);
      } else if (buffered <= this.softLimit) {
        record.backpressureSince = undefined;
        this.flagged.delete(record);
      } else if (buffered > this.hardLimit || now - since >= graceMs) {
        this.terminate(record, buffered > this.hardLimit ? 'hard' : 'grace', buffered, now - since);
      }
    }
  }

  /**
   * Cuts the connection now: its queued bytes are dropped with the socket
   * rather than held until the pipeline's terminate step. The cleanup runs
   * first, so the reason is `slow_consumer`, not the close that follows.
   */
  private terminate(record: ClientRecord, limit: SlowConsumerLimit, bufferedBytes: number, overLimitMs: number): void {
    this.flagged.delete(record);
    if (this.cleanup.isClosing(record)) return;
    this.terminated[limit]++;
    this.logger.log({
      msg: 'slow consumer terminated',
      clientId: record.id,
      limit,
      bufferedBytes,
      ...(limit === 'hard' ? { hardLimitBytes: this.hardLimit } : { overLimitMs: Math.round(overLimitMs) }),
    });
    void this.cleanup.run(record, 'slow_consumer');
    record.socket.terminate();
  }
}

/**
 * Sends a text frame to a client through the slow-consumer watch when there
 * is one; services built without it (unit specs) send only if the socket is open.
 */
export function sendFrame(record: ClientRecord, frame: string, backpressure?: BackpressureService): boolean {
  if (backpressure) return backpressure.send(record, frame);
  if (record.socket.readyState !== WebSocket.OPEN) return false;
  record.socket.send(frame);
  return true;
}
