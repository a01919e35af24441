import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as pause, setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { CleanupPipeline } from './cleanup/cleanup.pipeline';
import { ClientRegistryService } from './client-registry.service';
import { CloseCodes, HEARTBEAT_DEADLINE_NAME, HEARTBEAT_INTERVAL_NAME, LIFELINE_OPTIONS } from './constants';
import type { ClientRecord } from './interfaces/client-record.interface';
import type { ResolvedLifelineOptions } from './interfaces/lifeline-options.interface';
import { OutstandingPings } from './outstanding-pings';
import { type ClientReapedEvent, LifelineEvents, type RateLimitedEvent, type SweepEvent } from './lifeline.events';
import { BackpressureService } from './limits/backpressure.service';
import { takeToken } from './limits/rate-limit';
import { pingFrame, sendPing as writePing } from './ws-ping';
import { isLogEnabled } from './log-level';
import { LifelineLogger } from './log-entry';

/** Bytes of the ping payload its pong must echo. */
const PING_TOKEN_BYTES = 8;

/**
 * A sweep's ping token is made this many sweeps before it is used. The token
 * is written into the record of every client the sweep pings, and a Buffer
 * made at the sweep is still young then: each of those writes into an old
 * record left an old-to-new slot (write barrier) that the scavenges during
 * the sweep had to visit, 19,000 per sweep. Made sweeps ahead, it has
 * survived the scavenges in between and been promoted, and the writes leave
 * nothing. Still a fresh random token per sweep, unknown outside until sent.
 */
const PING_TOKENS_AHEAD = 4;

/** Check the clock every this many clients; performance.now() is cheap but not free. */
const CLOCK_CHECK_EVERY = 32;

/**
 * At most this many reaps per turn of the event loop. A reap's own code is
 * quick, but the cleanup it starts (disconnect handlers, the emitted event's
 * listeners, presence, terminate) runs as microtasks when the slice returns:
 * outside the slice's clock, in the same turn. Unbounded, a mass of clients
 * timing out together (a network cut, a stalled load balancer) made one turn
 * of tens of milliseconds.
 */
const REAPS_PER_TURN = 32;

/**
 * A sweep over more clients than this is paced: its pings are spread over
 * PACED_WINDOW of the interval instead of going out in one burst of slices.
 * Pinged together, 19,000 clients answer together, and after any wait for
 * the CPU their pongs are read in one turn of 10-30 ms. A few thousand pongs
 * or fewer read in about a millisecond, so small servers keep the burst (and
 * their sweep lasts no longer than its work).
 */
export const PACED_ABOVE_CLIENTS = 2000;

/**
 * Share of the interval a paced sweep spreads its pings over. Half leaves the
 * other half as slack, so a late sweep still ends before the next tick, and
 * keeps each client's ping at about the same place in every sweep (same
 * Map order, same rate), so its pings stay one interval apart.
 */
export const PACED_WINDOW = 0.5;

/**
 * How far a paced sweep may fall behind its schedule. After a stall (GC, no
 * CPU) it goes on at its rate instead of catching up in back-to-back slices:
 * a catch-up burst of hundreds of pings brings their pongs back together,
 * which is what pacing is for avoiding. A sweep that stalls ends that much
 * later (the window leaves half the interval of slack).
 */
const PACED_MAX_LAG_MS = 1;

interface SweepTotals {
  clients: number;
  pinged: number;
  reaped: number;
  failures: number;
  longestSliceMs: number;
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
 *   2. leaves a client whose ping is still outstanding alone: its deadline
 *      is the deadline timer's to judge, after pending input is read;
 *   3. otherwise sends a protocol ping; the pong records the RTT.
 *
 * The pong deadline is not a second walk over the registry: every ping joins
 * a FIFO (OutstandingPings) and one timer follows its head, so each silent
 * client is reaped (`heartbeat_timeout`) at its own ping + timeout, whatever
 * the sweep is doing meanwhile.
 *
 * Work is cut into slices of at most `sweepSliceMs`, yielding to the event
 * loop in between, so 20k clients never freeze the process. Above
 * PACED_ABOVE_CLIENTS the pings are also spread over half the interval, so
 * their pongs do not all come back in the same turn. One client's
 * failure is caught per client and never stops the others; sweeps never
 * overlap.
 */
@Injectable()
export class HeartbeatService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new LifelineLogger('Lifeline');
  private readonly startedAt = Date.now();
  /** Sweeps over more clients than this are paced (a field so that tests can lower it). */
  private readonly pacedAbove = PACED_ABOVE_CLIENTS;
  /** A sweep is running; the next tick is skipped, never overlapped. */
  private sweeping = false;
  private stopped = true;
  private lastSweepAt: number | undefined;
  /** Pinged clients in ping order; the head has the earliest deadline. */
  private readonly outstanding = new OutstandingPings();
  /**
   * Round trips measured since the last sweep event: the first rttCount
   * slots. Kept from sweep to sweep, so a pong adds no garbage; the event
   * gets a copy.
   */
  private rttSamplesMs = new Float64Array(64);
  private rttCount = 0;
  /** Counters since start; metrics mirror them through events. */
  readonly stats = {
    sweeps: 0,
    skippedTicks: 0,
    pings: 0,
    reaped: 0,
    pingsToClosed: 0,
    failures: 0,
    /** Pongs that answered no outstanding ping (unsolicited, stale or with a wrong payload). */
    unmatchedPongs: 0,
    /** Protocol pings from clients refused by the rate limit (not answered). */
    limitedPings: 0,
  };
  /** The tokens of the next sweeps, oldest first (PING_TOKENS_AHEAD). */
  private readonly nextPingTokens: Buffer[] = Array.from({ length: PING_TOKENS_AHEAD }, () => randomBytes(PING_TOKEN_BYTES));
  /** This sweep's ping payload; a fresh random one per sweep, so an old or guessed pong matches nothing. */
  private pingToken: Buffer = randomBytes(PING_TOKEN_BYTES);
  /** The whole ping frame carrying pingToken, built once per sweep and written as is to every client. */
  private pingFrame = pingFrame(this.pingToken);

  /** Listeners shared by all sockets (no closure per client). */
  private readonly onPong: (this: WebSocket, data: Buffer) => void;
  private readonly onPing: (this: WebSocket, data: Buffer) => void;
  /**
   * The deadline timer only schedules the judgement: setImmediate runs it
   * after this turn's poll phase, so input already waiting in the kernel
   * (pongs that arrived while the process was stalled: GC, no CPU, SIGSTOP,
   * a long cleanup) is read before anyone is judged. A timer that fires late
   * would otherwise reap clients whose answer is already here.
   */
  private readonly onDeadline = (): void => {
    setImmediate(this.judgeDeadlines);
  };
  private readonly judgeDeadlines = (): void => {
    this.nextJudgement = undefined;
    this.checkDeadlines();
  };
  /** The judgement scheduled for the next turn when a batch of reaps or a slice ran out. */
  private nextJudgement: NodeJS.Immediate | undefined;

  constructor(
    @Inject(LIFELINE_OPTIONS) private readonly options: ResolvedLifelineOptions,
    private readonly registry: ClientRegistryService,
    private readonly cleanup: CleanupPipeline,
    private readonly scheduler: SchedulerRegistry,
    private readonly events: EventEmitter2,
    private readonly backpressure: BackpressureService,
  ) {
    const recordPong = (socket: WebSocket, data: Buffer) => this.recordPong(socket, data);
    this.onPong = function (this: WebSocket, data: Buffer) {
      recordPong(this, data);
    };
    const answerPing = (socket: WebSocket, data: Buffer) => this.answerPing(socket, data);
    this.onPing = function (this: WebSocket, data: Buffer) {
      answerPing(this, data);
    };
  }

  onApplicationBootstrap(): void {
    this.start();
  }

  beforeApplicationShutdown(): void {
    this.stop();
  }

  /**
   * Starts listening for this client's pongs, and answers its protocol pings
   * (the server's ws runs with autoPong off, see LifelineWsAdapter.create).
   */
  track(record: ClientRecord): void {
    record.socket.on('pong', this.onPong);
    record.socket.on('ping', this.onPing);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const timer = setInterval(() => {
      this.sweep().catch((err: unknown) => this.sweepFailed(err));
    }, this.options.heartbeatIntervalMs);
    this.scheduler.addInterval(HEARTBEAT_INTERVAL_NAME, timer);
    // Pings sent before a stop still have deadlines.
    this.checkDeadlines();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.scheduler.deleteInterval(HEARTBEAT_INTERVAL_NAME);
    this.disarmDeadline();
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
   * One sweep over every client. Returns undefined when skipped because the
   * previous sweep is still running (or the heartbeat is stopped).
   */
  async sweep(): Promise<SweepEvent | undefined> {
    if (this.sweeping || this.stopped) {
      this.stats.skippedTicks++;
      return undefined;
    }
    this.sweeping = true;
    const started = performance.now();
    let totals: SweepTotals;
    try {
      this.pingToken = this.takePingToken();
      this.pingFrame = pingFrame(this.pingToken);
      totals = await this.pingAll();
    } finally {
      this.sweeping = false;
    }
    this.lastSweepAt = Date.now();
    this.stats.sweeps++;
    const rttSamplesMs = this.rttSamplesMs.slice(0, this.rttCount);
    this.rttCount = 0;
    const event: SweepEvent = { durationMs: performance.now() - started, ...totals, rttSamplesMs };
    this.events.emit(LifelineEvents.swept, event);
    return event;
  }

  /** The oldest of the tokens made ahead; a new one takes its place at the back. */
  private takePingToken(): Buffer {
    this.nextPingTokens.push(randomBytes(PING_TOKEN_BYTES));
    return this.nextPingTokens.shift() as Buffer;
  }

  /**
   * Reaps, from the head of the FIFO, every client whose ping has gone
   * unanswered for the timeout, then arms the timer for the next deadline.
   * Answered, re-pinged and departed entries are dropped on the way. Yields
   * (re-arms at once) after a slice, so a mass of dead peers cannot block
   * the event loop either. Returns how many clients it reaped.
   */
  checkDeadlines(): number {
    this.disarmDeadline();
    if (this.stopped) return 0;
    const timeoutMs = this.options.heartbeatTimeoutMs;
    let now = performance.now();
    const sliceEnd = now + this.options.sweepSliceMs;
    let reaped = 0;
    let nextCheckInMs: number | undefined;
    for (let seen = 1; this.outstanding.size > 0; seen++) {
      const record = this.outstanding.peek();
      if (!record || !this.outstanding.headIsCurrent() || !this.registry.has(record.id)) {
        this.outstanding.shift();
        continue;
      }
      if (seen % CLOCK_CHECK_EVERY === 0) {
        now = performance.now();
        if (now >= sliceEnd) {
          nextCheckInMs = 0;
          break;
        }
      }
      const waited = now - this.outstanding.peekSentAt();
      if (waited < timeoutMs) {
        // One millisecond late: libuv's timer clock is whole milliseconds
        // cached per loop turn, and a timer that fires early only re-arms.
        nextCheckInMs = Math.ceil(timeoutMs - waited) + 1;
        break;
      }
      if (reaped === REAPS_PER_TURN) {
        nextCheckInMs = 0;
        break;
      }
      this.outstanding.shift();
      try {
        this.reap(record, 'heartbeat_timeout', waited);
        reaped++;
      } catch (err) {
        this.clientFailed(record, err);
      }
    }
    if (nextCheckInMs !== undefined) this.armDeadline(nextCheckInMs);
    return reaped;
  }

  /**
   * Arms the deadline timer; 0 means "go on at the next turn" (a slice or a
   * batch of reaps is over while deadlines are still due): straight to the
   * check phase, after that turn's input, without a 1 ms timer in between.
   */
  private armDeadline(delayMs: number): void {
    this.disarmDeadline();
    if (delayMs === 0) {
      this.nextJudgement = setImmediate(this.judgeDeadlines);
      return;
    }
    this.scheduler.addTimeout(HEARTBEAT_DEADLINE_NAME, setTimeout(this.onDeadline, delayMs));
  }

  private disarmDeadline(): void {
    if (this.nextJudgement !== undefined) {
      clearImmediate(this.nextJudgement);
      this.nextJudgement = undefined;
    }
    if (this.scheduler.doesExist('timeout', HEARTBEAT_DEADLINE_NAME)) {
      this.scheduler.deleteTimeout(HEARTBEAT_DEADLINE_NAME);
    }
  }

  /**
   * Visits every client in registry order, in slices of at most
   * sweepSliceMs. Above pacedAbove clients the slices also follow a schedule:
   * client k is visited no earlier than k / rate ms after the start, where
   * rate spreads the clients counted at the start over PACED_WINDOW of the
   * interval; a slice that is ahead sleeps (a timer, not a busy yield), and
   * one that lags more than PACED_MAX_LAG_MS does not catch up. Pings
   * still go out in registry order, so the deadline FIFO stays in order, and
   * each deadline still runs from that client's own ping.
   */
  private async pingAll(): Promise<SweepTotals> {
    const totals: SweepTotals = { clients: 0, pinged: 0, reaped: 0, failures: 0, longestSliceMs: 0 };
    let sliceStart = performance.now();
    // Due time of client 0; moved forward when the sweep lags (PACED_MAX_LAG_MS).
    let origin = sliceStart;
    const expected = this.registry.size;
    // Clients per ms; 0 = not paced.
    const rate = expected > this.pacedAbove ? expected / (this.options.heartbeatIntervalMs * PACED_WINDOW) : 0;
    // A live Map iterator: clients removed meanwhile are skipped, none copied.
    const clients = this.registry.values();
    let reapedBefore = 0;
    while (this.visitSome(clients, totals, reapedBefore)) {
      // A stale socket's cleanup runs after the slice, in the same turn: bounded like the judge's reaps.
      const reapLimit = totals.reaped - reapedBefore >= REAPS_PER_TURN;
      const now = performance.now();
      const elapsed = now - sliceStart;
      // How far this slice is ahead of the schedule (the next client's due time).
      // Past the clients counted at the start there is nothing left to spread.
      let aheadMs = 0;
      if (rate > 0 && totals.clients < expected) {
        aheadMs = origin + totals.clients / rate - now;
        if (aheadMs < -PACED_MAX_LAG_MS) {
          origin -= aheadMs + PACED_MAX_LAG_MS;
          aheadMs = -PACED_MAX_LAG_MS;
        }
      }
      if (reapLimit || aheadMs > 0 || elapsed >= this.options.sweepSliceMs) {
        reapedBefore = totals.reaped;
        if (elapsed > totals.longestSliceMs) totals.longestSliceMs = elapsed;
        // Timers have whole milliseconds; the schedule absorbs the rounding.
        if (aheadMs > 0) await pause(Math.max(1, Math.floor(aheadMs)));
        else await yieldToEventLoop();
        if (this.stopped) break;
        sliceStart = performance.now();
      }
    }
    const last = performance.now() - sliceStart;
    if (last > totals.longestSliceMs) totals.longestSliceMs = last;
    return totals;
  }

  /**
   * Visits the next clients until a clock check is due (every
   * CLOCK_CHECK_EVERY clients) or this turn's reaps are used up; false when
   * no client is left. A plain loop apart from the async pingAll, so that V8
   * inlines the iterator's next() and allocates no result object per client:
   * in pingAll's own for-of, resumed after awaits, each client cost one
   * (sampling heap profiler: ~0.8 MB/s at 19,000 clients).
   */
  private visitSome(clients: Iterator<ClientRecord>, totals: SweepTotals, reapedBefore: number): boolean {
    for (;;) {
      const next = clients.next();
      if (next.done === true) return false;
      totals.clients++;
      this.visit(next.value, totals);
      if (totals.reaped - reapedBefore >= REAPS_PER_TURN || totals.clients % CLOCK_CHECK_EVERY === 0) return true;
    }
  }

  private visit(record: ClientRecord, totals: SweepTotals): void {
    try {
      const { socket } = record;
      // The double check: trust the socket, not the registry.
      if (socket.readyState !== WebSocket.OPEN) {
        totals.reaped++;
        this.reap(record, 'stale_socket', undefined);
        return;
      }
      const now = performance.now();
      // Outstanding: the deadline timer owns it, and judges it only after
      // pending input has been read (onDeadline). The sweep must not: after a
      // stall its tick runs before the pongs that arrived meanwhile are read.
      if (!Number.isNaN(record.pingSentAt)) return;
      if (!this.sendPing(socket)) return;
      record.pingSentAt = now;
      record.pingToken = this.pingToken;
      if (this.outstanding.size === 0) this.armDeadline(this.options.heartbeatTimeoutMs + 1);
      this.outstanding.push(record, now);
      totals.pinged++;
      this.stats.pings++;
    } catch (err) {
      totals.failures++;
      this.clientFailed(record, err);
    }
  }

  /**
   * One write of the sweep's prebuilt frame (see ws-ping.ts: ws's own ping
   * is a corked two-buffer writev and about half of an idle server's
   * garbage), and no write callback: given one, Node's stream schedules a
   * nextTick and allocates an object for every write, 20k per sweep. ws
   * refuses (and would report through that callback) a ping to a socket that
   * is not OPEN; the same condition, checked at the moment of the ping, is
   * what pingsToClosed counts. The double check makes it stay 0.
   */
  private sendPing(socket: WebSocket): boolean {
    if (socket.readyState !== WebSocket.OPEN) {
      this.stats.pingsToClosed++;
      this.events.emit(LifelineEvents.pingToClosed, {
        error: `WebSocket is not open: readyState ${socket.readyState}`,
      });
      return false;
    }
    writePing(socket, this.pingFrame, this.pingToken);
    return true;
  }

  /**
   * A client's protocol ping costs a token of its message budget, like a
   * message: answered while the budget allows (and the client is under the
   * hard send-buffer limit), dropped when limited, and a client that keeps
   * pinging past its burst is closed 1008 `rate_limited`, as for messages.
   */
  private answerPing(socket: WebSocket, data: Buffer): void {
    const record = this.registry.fromSocket(socket);
    if (!record || !this.registry.has(record.id)) return;
    const rate = takeToken(record, this.options.rateLimit, performance.now());
    if (rate === 'ok') {
      if (this.backpressure.admitControl(record)) socket.pong(data);
      return;
    }
    this.stats.limitedPings++;
    const event: RateLimitedEvent = { clientId: record.id };
    this.events.emit(LifelineEvents.rateLimited, event);
    if (rate === 'flooding') {
      if (socket.readyState === WebSocket.OPEN) socket.close(CloseCodes.policyViolation, 'rate_limited');
      void this.cleanup.run(record, 'rate_limited');
    }
  }

  /** Whatever broke for this client, the others still get their heartbeat. */
  private clientFailed(record: ClientRecord, err: unknown): void {
    this.stats.failures++;
    this.logger.warn({
      msg: 'heartbeat failed for client',
      clientId: record.id,
      error: err instanceof Error ? err.message : String(err),
    });
    void this.cleanup.run(record, 'socket_error');
  }

  /** Per-client errors are caught per client; this is the backstop for the sweep itself. */
  private sweepFailed(err: unknown): void {
    this.logger.error({ msg: 'heartbeat sweep failed', error: err instanceof Error ? err.message : String(err) });
  }

  private reap(record: ClientRecord, reason: ClientReapedEvent['reason'], waitedMs: number | undefined): void {
    this.stats.reaped++;
    const event: ClientReapedEvent = { clientId: record.id, reason, waitedMs };
    if (isLogEnabled(this.logger, 'log')) {
      this.logger.log({ msg: 'client reaped', clientId: record.id, reason, waitedMs });
    }
    this.events.emit(LifelineEvents.reaped, event);
    void this.cleanup.run(record, reason);
  }

  /**
   * A pong answers the outstanding ping only if it echoes that ping's
   * payload (RFC 6455 5.5.3). Unsolicited pongs (RFC 6455 allows them) and
   * pongs to an older ping answer nothing: a client that never reads cannot
   * keep itself alive by sending pongs.
   */
  private recordPong(socket: WebSocket, data: Buffer): void {
    const record = this.registry.fromSocket(socket);
    if (!record) return;
    const token = record.pingToken;
    if (Number.isNaN(record.pingSentAt) || token === undefined || !token.equals(data)) {
      this.stats.unmatchedPongs++;
      return;
    }
    record.lastPongAt = Date.now();
    record.rttMs = performance.now() - record.pingSentAt;
    record.pingSentAt = Number.NaN;
    record.pingToken = undefined;
    // Batched into the next sweep event: one emit per sweep, not one per client.
    if (this.rttCount === this.rttSamplesMs.length) {
      const bigger = new Float64Array(this.rttCount * 2);
      bigger.set(this.rttSamplesMs);
      this.rttSamplesMs = bigger;
    }
    this.rttSamplesMs[this.rttCount++] = record.rttMs;
  }
}
