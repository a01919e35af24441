import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { CleanupPipeline } from './cleanup/cleanup.pipeline';
import { ClientRegistryService } from './client-registry.service';
import { HEARTBEAT_DEADLINE_NAME, HEARTBEAT_INTERVAL_NAME, LIFELINE_OPTIONS } from './constants';
import type { ClientRecord } from './interfaces/client-record.interface';
import type { ResolvedLifelineOptions } from './interfaces/lifeline-options.interface';
import { type ClientReapedEvent, LifelineEvents, type SweepEvent } from './lifeline.events';

/** Check the clock every this many clients; performance.now() is cheap but not free. */
const CLOCK_CHECK_EVERY = 32;

interface PassTotals {
  clients: number;
  pinged: number;
  reaped: number;
  failures: number;
  longestSliceMs: number;
  /** performance.now() of the earliest deadline still ahead (a ping not yet overdue). */
  nextDeadlineAt: number;
}

export interface HeartbeatStatus {
  intervalMs: number;
  timeoutMs: number;
  /** Epoch ms of the last completed sweep, if any. */
  lastSweepAt: number | undefined;
  /** False when no sweep has completed for more than 2 x interval + timeout. */
  healthy: boolean;
  /** How long since the last sweep completed (or since start), in ms. */
  sinceLastSweepMs: number;
}

/**
 * Keeps every registered client honest.
 *
 * Every interval a sweep walks the registry and, per client:
 *   1. double-checks the real socket state: a socket that is not OPEN is
 *      never pinged, it goes to cleanup as `stale_socket`;
 *   2. reaps a client whose ping is unanswered past the deadline
 *      (`heartbeat_timeout`);
 *   3. otherwise sends a protocol ping; the pong records the RTT.
 * A second, ping-free pass runs one timeout after each sweep, so a dead peer
 * is gone within interval + timeout (+ the length of one sweep).
 *
 * Work is cut into slices of at most `sweepSliceMs`, yielding to the event
 * loop in between, so 20k clients never freeze the process. One client's
 * failure is caught per client and never stops the sweep; sweeps never
 * overlap.
 */
@Injectable()
export class HeartbeatService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Lifeline');
  private readonly startedAt = Date.now();
  /** A sweep (ping pass) is running; the next tick is skipped, never overlapped. */
  private sweeping = false;
  /** The deadline pass under way, if any; a sweep waits for it instead of skipping. */
  private checking: Promise<void> | undefined;
  private stopped = true;
  private lastSweepAt: number | undefined;
  /**
   * Least time between deadline passes: each walks every client, so while a
   * sweep's pings fall due one after another they are checked in steps.
   */
  private readonly deadlineGapMs: number;
  /** Round trips measured since the last sweep event. */
  private rttSamplesMs: number[] = [];
  /** Counters since start; metrics mirror them through events. */
  readonly stats = { sweeps: 0, skippedTicks: 0, pings: 0, reaped: 0, pingsToClosed: 0, failures: 0 };

  /** One listener shared by all sockets (no closure per client). */
  private readonly onPong: (this: WebSocket) => void;
  /** One callback shared by all pings: ws reports here a ping it could not send. */
  private readonly onPingWritten = (err?: Error): void => {
    if (!err) return;
    this.stats.pingsToClosed++;
    this.events.emit(LifelineEvents.pingToClosed, { error: err.message });
  };

  constructor(
    @Inject(LIFELINE_OPTIONS) private readonly options: ResolvedLifelineOptions,
    private readonly registry: ClientRegistryService,
    private readonly cleanup: CleanupPipeline,
    private readonly scheduler: SchedulerRegistry,
    private readonly events: EventEmitter2,
  ) {
    this.deadlineGapMs = Math.max(5, Math.ceil(options.heartbeatTimeoutMs / 10));
    const recordPong = (socket: WebSocket) => this.recordPong(socket);
    this.onPong = function (this: WebSocket) {
      recordPong(this);
    };
  }

  onApplicationBootstrap(): void {
    this.start();
  }

  beforeApplicationShutdown(): void {
    this.stop();
  }

  /** Starts listening for this client's pongs. */
  track(record: ClientRecord): void {
    record.socket.on('pong', this.onPong);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const timer = setInterval(() => {
      this.sweep().catch((err: unknown) => this.sweepFailed(err));
    }, this.options.heartbeatIntervalMs);
    this.scheduler.addInterval(HEARTBEAT_INTERVAL_NAME, timer);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.scheduler.deleteInterval(HEARTBEAT_INTERVAL_NAME);
    if (this.scheduler.doesExist('timeout', HEARTBEAT_DEADLINE_NAME)) {
      this.scheduler.deleteTimeout(HEARTBEAT_DEADLINE_NAME);
    }
  }

  status(now = Date.now()): HeartbeatStatus {
    const { heartbeatIntervalMs: intervalMs, heartbeatTimeoutMs: timeoutMs } = this.options;
    const sinceLastSweepMs = now - (this.lastSweepAt ?? this.startedAt);
    return {
      intervalMs,
      timeoutMs,
      lastSweepAt: this.lastSweepAt,
      healthy: sinceLastSweepMs <= 2 * intervalMs + timeoutMs,
      sinceLastSweepMs,
    };
  }

  /**
   * One sweep: ping pass now, deadline pass one timeout later. Returns
   * undefined when skipped because the previous sweep is still running.
   */
  async sweep(): Promise<SweepEvent | undefined> {
    if (this.sweeping || this.stopped) {
      this.stats.skippedTicks++;
      return undefined;
    }
    this.sweeping = true;
    const started = performance.now();
    let totals: PassTotals;
    try {
      // A deadline pass still running is not a reason to skip this tick:
      // skipping would leave every client a whole interval without a ping.
      await this.checking;
      totals = await this.pass(true);
    } finally {
      this.sweeping = false;
    }
    this.lastSweepAt = Date.now();
    this.stats.sweeps++;
    const rttSamplesMs = this.rttSamplesMs;
    this.rttSamplesMs = [];
    const { nextDeadlineAt, ...counts } = totals;
    const event: SweepEvent = { durationMs: performance.now() - started, ...counts, rttSamplesMs };
    this.events.emit(LifelineEvents.swept, event);
    this.scheduleDeadlinePass(nextDeadlineAt);
    return event;
  }

  /**
   * Checks again when the earliest outstanding ping falls due. Pings go out
   * over the whole sweep, so a fixed "timeout after the sweep" would give the
   * first clients a deadline of timeout + sweep + pass; following the
   * earliest deadline keeps every client's close near its own timeout.
   */
  private scheduleDeadlinePass(at: number): void {
    if (this.stopped || at === Number.POSITIVE_INFINITY) return;
    if (this.scheduler.doesExist('timeout', HEARTBEAT_DEADLINE_NAME)) {
      this.scheduler.deleteTimeout(HEARTBEAT_DEADLINE_NAME);
    }
    const timer = setTimeout(() => {
      this.scheduler.deleteTimeout(HEARTBEAT_DEADLINE_NAME);
      this.checkDeadlines().catch((err: unknown) => this.sweepFailed(err));
    }, Math.max(this.deadlineGapMs, Math.ceil(at - performance.now())));
    this.scheduler.addTimeout(HEARTBEAT_DEADLINE_NAME, timer);
  }

  /** Reaps clients whose ping is past its deadline; sends no pings. */
  async checkDeadlines(): Promise<void> {
    // A running sweep reaps overdue clients itself.
    if (this.sweeping || this.checking || this.stopped) return;
    this.checking = this.pass(false).then(
      (totals) => this.scheduleDeadlinePass(totals.nextDeadlineAt),
      (err: unknown) => this.sweepFailed(err),
    );
    try {
      await this.checking;
    } finally {
      this.checking = undefined;
    }
  }

  private async pass(sendPings: boolean): Promise<PassTotals> {
    const totals: PassTotals = {
      clients: 0,
      pinged: 0,
      reaped: 0,
      failures: 0,
      longestSliceMs: 0,
      nextDeadlineAt: Number.POSITIVE_INFINITY,
    };
    let sliceStart = performance.now();
    // A live Map iterator: clients removed meanwhile are skipped, none copied.
    for (const record of this.registry.values()) {
      totals.clients++;
      this.visit(record, sendPings, totals);
      if (totals.clients % CLOCK_CHECK_EVERY === 0) {
        const elapsed = performance.now() - sliceStart;
        if (elapsed >= this.options.sweepSliceMs) {
          if (elapsed > totals.longestSliceMs) totals.longestSliceMs = elapsed;
          await yieldToEventLoop();
          if (this.stopped) break;
          sliceStart = performance.now();
        }
      }
    }
    const last = performance.now() - sliceStart;
    if (last > totals.longestSliceMs) totals.longestSliceMs = last;
    return totals;
  }

  private visit(record: ClientRecord, sendPings: boolean, totals: PassTotals): void {
    try {
      const { socket } = record;
      // The double check: trust the socket, not the registry.
      if (socket.readyState !== WebSocket.OPEN) {
        totals.reaped++;
        this.reap(record, 'stale_socket', undefined);
        return;
      }
      const now = performance.now();
      if (record.pingSentAt !== undefined) {
        const waited = now - record.pingSentAt;
        if (waited >= this.options.heartbeatTimeoutMs) {
          totals.reaped++;
          this.reap(record, 'heartbeat_timeout', waited);
        } else {
          totals.nextDeadlineAt = Math.min(totals.nextDeadlineAt, record.pingSentAt + this.options.heartbeatTimeoutMs);
        }
        return;
      }
      if (!sendPings) return;
      record.pingSentAt = now;
      socket.ping(undefined, undefined, this.onPingWritten);
      if (now + this.options.heartbeatTimeoutMs < totals.nextDeadlineAt) {
        totals.nextDeadlineAt = now + this.options.heartbeatTimeoutMs;
      }
      totals.pinged++;
      this.stats.pings++;
    } catch (err) {
      // Whatever broke for this client, the others still get their pings.
      totals.failures++;
      this.stats.failures++;
      this.logger.warn({
        msg: 'heartbeat failed for client',
        clientId: record.id,
        error: err instanceof Error ? err.message : String(err),
      });
      void this.cleanup.run(record, 'socket_error');
    }
  }

  /** Per-client errors are caught in visit(); this is the backstop for the pass itself. */
  private sweepFailed(err: unknown): void {
    this.logger.error({ msg: 'heartbeat sweep failed', error: err instanceof Error ? err.message : String(err) });
  }

  private reap(record: ClientRecord, reason: ClientReapedEvent['reason'], waitedMs: number | undefined): void {
    this.stats.reaped++;
    const event: ClientReapedEvent = { clientId: record.id, reason, waitedMs };
    this.logger.log({ msg: 'client reaped', clientId: record.id, reason, waitedMs });
    this.events.emit(LifelineEvents.reaped, event);
    void this.cleanup.run(record, reason);
  }

  private recordPong(socket: WebSocket): void {
    const record = this.registry.fromSocket(socket);
    if (!record) return;
    record.lastPongAt = Date.now();
    // Unsolicited pongs (RFC 6455 allows them) only refresh lastPongAt.
    if (record.pingSentAt === undefined) return;
    record.rttMs = performance.now() - record.pingSentAt;
    record.pingSentAt = undefined;
    // Batched into the next sweep event: one emit per sweep, not one per client.
    this.rttSamplesMs.push(record.rttMs);
  }
}
