import { Inject, Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { ClientRegistryService } from '../client-registry.service';
import { LIFELINE_OPTIONS } from '../constants';
import type { ResolvedLifelineOptions } from '../interfaces/lifeline-options.interface';
import type { ClientRecord, ClientResource } from '../interfaces/client-record.interface';
import type { DisconnectReason } from '../interfaces/disconnect-reason';
import { type ClientDisconnectedEvent, LifelineEvents } from '../lifeline.events';
import { isLogEnabled } from '../log-level';
import { STEP_FAILED } from './cleanup-exception.interceptor';
import { LifecycleCall } from './lifecycle-call';
import { LifecycleContext } from './lifecycle-context';
import { LifelineLogger } from '../log-entry';

const DONE: Promise<void> = Promise.resolve();

/** One client's cleanup under way. */
interface Cleanup {
  readonly record: ClientRecord;
  readonly reason: DisconnectReason;
  /** Newest first. */
  readonly resources: readonly ClientResource[];
  failures: number;
  durationMs: number;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null | undefined)?.then === 'function';
}

/**
 * The only way out of the registry. Every disconnect, whatever triggered it,
 * runs here exactly once per client:
 *
 *   1. unregister            synchronous, so nothing pings or sends to it again
 *   2. release resources     last acquired first, one step each
 *   3. emit `disconnected`   awaited, so async listeners finish inside the step
 *   4. terminate the socket  if it is not closed yet
 *
 * Steps 2-4 run through Nest's interceptor chain (or straight to the
 * CleanupExceptionInterceptor when it would be the whole chain, see
 * LifecycleContext), which contains a step that throws, rejects or hangs;
 * the next step runs regardless. Steps that finish synchronously run in one
 * go: a cleanup waits (and allocates a promise) only for a step that
 * returned one, typically the `disconnected` listeners.
 */
@Injectable()
export class CleanupPipeline {
  private readonly logger = new LifelineLogger('Lifeline');
  /** Cleanups under way, by client id; empty when the server is idle. */
  private readonly running = new Map<string, Promise<void>>();
  /** Clients whose cleanup has started; weak, so finished records are not kept. */
  private readonly started = new WeakSet<ClientRecord>();

  /** How long the terminate step waits for a closing handshake; well within the step timeout. */
  private readonly closeWaitMs: number;

  constructor(
    @Inject(LIFELINE_OPTIONS) options: ResolvedLifelineOptions,
    private readonly registry: ClientRegistryService,
    private readonly context: LifecycleContext,
    private readonly events: EventEmitter2,
  ) {
    this.closeWaitMs = Math.min(1000, Math.floor(options.cleanupStepTimeoutMs / 2));
  }

  /**
   * Starts the client's cleanup, or joins the one under way. The first
   * caller's reason wins; later triggers (the close event that follows a
   * reap, say) are no-ops.
   */
  run(record: ClientRecord, reason: DisconnectReason): Promise<void> {
    if (this.started.has(record)) return this.running.get(record.id) ?? DONE;
    this.started.add(record);
    // Step 1 cannot throw (a Map delete) and must not wait for a tick.
    this.registry.unregister(record.id);
    const cleanup: Cleanup = {
      record,
      reason,
      resources: this.registry.takeResources(record),
      failures: 0,
      durationMs: 0,
    };
    const done = this.steps(cleanup, 0);
    if (done === undefined) return DONE;
    this.running.set(record.id, done);
    return done;
  }

  /** Whether a cleanup for this client has started. */
  isClosing(record: ClientRecord): boolean {
    return this.started.has(record);
  }

  /** Number of cleanups under way. */
  get pending(): number {
    return this.running.size;
  }

  /** Resolves when every cleanup under way has finished. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.values());
  }

  /**
   * Cuts the connection unless it is closed. A socket in its closing
   * handshake (we sent a close frame: kick, rate limit) gets a moment to
   * answer, so the client sees the code and reason.
   */
  private terminate(socket: WebSocket): Promise<void> | undefined {
    if (socket.readyState === WebSocket.CLOSING) return this.terminateAfterClose(socket);
    if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
    return undefined;
  }

  private async terminateAfterClose(socket: WebSocket): Promise<void> {
    const wait = new AbortController();
    await Promise.race([
      once(socket, 'close', { signal: wait.signal }).catch(() => undefined),
      sleep(this.closeWaitMs, undefined, { signal: wait.signal }).catch(() => undefined),
    ]);
    wait.abort();
    if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
  }

  /**
   * Runs the steps from `index` on: the resources, newest first, then emit,
   * then terminate. Undefined when they all finished synchronously; otherwise
   * a promise of the rest, resolved once the last step and the log are done.
   */
  private steps(cleanup: Cleanup, index: number): Promise<void> | undefined {
    const { record } = cleanup;
    for (let i = index; ; i++) {
      const call = this.callAt(cleanup, i);
      if (call === undefined) break;
      let outcome: unknown;
      try {
        outcome = this.context.run(record.socket, call);
      } catch (err) {
        this.failedOutside(cleanup, call, err);
        continue;
      }
      if (isThenable(outcome)) {
        const pending = outcome instanceof Promise ? (outcome as Promise<unknown>) : Promise.resolve(outcome);
        return pending.then(
          (value) => {
            if (value === STEP_FAILED) cleanup.failures++;
            return this.steps(cleanup, i + 1);
          },
          (err: unknown) => {
            this.failedOutside(cleanup, call, err);
            return this.steps(cleanup, i + 1);
          },
        );
      }
      if (outcome === STEP_FAILED) cleanup.failures++;
    }
    this.finished(cleanup);
    return undefined;
  }

  /** The step at `index`, or undefined past the last one. */
  private callAt(cleanup: Cleanup, index: number): LifecycleCall | undefined {
    const { record, reason, resources } = cleanup;
    if (index < resources.length) {
      const resource = resources[index];
      // The disposer learns why the client left (presence reports it with the offline event).
      return new LifecycleCall('disconnect', record.id, reason, 'release', resource.name, () => resource.dispose(reason, record));
    }
    if (index === resources.length) {
      return new LifecycleCall('disconnect', record.id, reason, 'emit', undefined, () => {
        cleanup.durationMs = Date.now() - record.connectedAt;
        const event: ClientDisconnectedEvent = { clientId: record.id, reason, durationMs: cleanup.durationMs };
        return this.events.emitAsync(LifelineEvents.disconnected, event);
      });
    }
    if (index === resources.length + 1) {
      return new LifecycleCall('disconnect', record.id, reason, 'terminate', undefined, () => this.terminate(record.socket));
    }
    return undefined;
  }

  /** Only an enhancer outside the CleanupExceptionInterceptor can throw past it. */
  private failedOutside(cleanup: Cleanup, call: LifecycleCall, err: unknown): void {
    cleanup.failures++;
    this.logger.error({
      msg: 'cleanup step failed outside the interceptor chain',
      clientId: cleanup.record.id,
      step: call.label,
      error: err instanceof Error ? err.message : String(err),
    });
  }

  private finished({ record, reason, durationMs, failures }: Cleanup): void {
    // Set by run() only when a step went asynchronous, which is always before this.
    this.running.delete(record.id);
    try {
      if (isLogEnabled(this.logger, 'log')) {
        this.logger.log({
          msg: 'client disconnected',
          clientId: record.id,
          reason,
          durationMs,
          ...(failures > 0 && { failedSteps: failures }),
        });
      }
    } catch {
      // Runs synchronously inside whoever triggered the cleanup (a sweep, a
      // socket event): a failing logger must not break that caller.
    }
  }
}
