import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { ClientRegistryService } from '../client-registry.service';
import { LIFELINE_OPTIONS } from '../constants';
import type { ResolvedLifelineOptions } from '../interfaces/lifeline-options.interface';
import type { ClientRecord } from '../interfaces/client-record.interface';
import type { DisconnectReason } from '../interfaces/disconnect-reason';
import { type ClientDisconnectedEvent, LifelineEvents } from '../lifeline.events';
import { isLogEnabled } from '../log-level';
import { STEP_FAILED } from './cleanup-exception.interceptor';
import { type CleanupStepKind, LifecycleCall } from './lifecycle-call';
import { LifecycleContext } from './lifecycle-context';

/**
 * The only way out of the registry. Every disconnect, whatever triggered it,
 * runs here exactly once per client:
 *
 *   1. unregister            synchronous, so nothing pings or sends to it again
 *   2. release resources     last acquired first, one step each
 *   3. emit `disconnected`   awaited, so async listeners finish inside the step
 *   4. terminate the socket  if it is not closed yet
 *
 * Steps 2-4 run through Nest's interceptor chain, where the
 * CleanupExceptionInterceptor contains a step that throws, rejects or hangs;
 * the next step runs regardless.
 */
@Injectable()
export class CleanupPipeline {
  private readonly logger = new Logger('Lifeline');
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
    if (this.started.has(record)) return this.running.get(record.id) ?? Promise.resolve();
    this.started.add(record);
    // Step 1 cannot throw (a Map delete) and must not wait for a tick.
    this.registry.unregister(record.id);
    const done = this.release(record, reason).finally(() => this.running.delete(record.id));
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
  private async terminate(socket: WebSocket): Promise<void> {
    if (socket.readyState === WebSocket.CLOSING) {
      const wait = new AbortController();
      await Promise.race([
        once(socket, 'close', { signal: wait.signal }).catch(() => undefined),
        sleep(this.closeWaitMs, undefined, { signal: wait.signal }).catch(() => undefined),
      ]);
      wait.abort();
    }
    if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
  }

  private async release(record: ClientRecord, reason: DisconnectReason): Promise<void> {
    let failures = 0;
    const step = async (kind: CleanupStepKind, target: string | undefined, run: () => unknown) => {
      const call = new LifecycleCall('disconnect', record.id, reason, kind, target, run);
      try {
        if ((await this.context.run(record.socket, call)) === STEP_FAILED) failures++;
      } catch (err) {
        // Only an enhancer outside the CleanupExceptionInterceptor can land here.
        failures++;
        this.logger.error({
          msg: 'cleanup step failed outside the interceptor chain',
          clientId: record.id,
          step: call.label,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    };

    for (const resource of this.registry.takeResources(record)) {
      await step('release', resource.name, () => resource.dispose(reason));
    }
    const durationMs = Date.now() - record.connectedAt;
    const event: ClientDisconnectedEvent = { clientId: record.id, reason, durationMs };
    await step('emit', undefined, () => this.events.emitAsync(LifelineEvents.disconnected, event));
    await step('terminate', undefined, () => this.terminate(record.socket));
    if (isLogEnabled(this.logger, 'log')) {
      this.logger.log({
        msg: 'client disconnected',
        clientId: record.id,
        reason,
        durationMs,
        ...(failures > 0 && { failedSteps: failures }),
      });
    }
  }
}
