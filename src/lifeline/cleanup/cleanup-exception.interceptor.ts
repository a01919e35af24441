import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { WsException } from '@nestjs/websockets';
import { catchError, Observable, of } from 'rxjs';
import type { WebSocket } from 'ws';
import { ClientRegistryService } from '../client-registry.service';
import { LIFELINE_OPTIONS } from '../constants';
import type { ResolvedLifelineOptions } from '../interfaces/lifeline-options.interface';
import { type CleanupFailedEvent, LifelineEvents } from '../lifeline.events';
import { errorFrame, ProtocolError } from '../protocol';
import { LifecycleCall } from './lifecycle-call';
import { LifelineLogger } from '../log-entry';
import { StepDeadlines } from './step-deadlines';

/** What a contained cleanup step resolves to; the pipeline counts it. */
export const STEP_FAILED = Symbol('lifeline.step-failed');

export class StepTimeoutError extends Error {
  constructor(ms: number) {
    super(`step did not finish within ${ms} ms`);
    this.name = 'StepTimeoutError';
  }
}

/**
 * Contains exceptions on both paths of the gateway:
 * - a cleanup step that throws, rejects or hangs past CLEANUP_STEP_TIMEOUT_MS
 *   is logged (client, step, error), counted, and turned into STEP_FAILED so
 *   the pipeline moves on to the next step;
 * - a message handler that throws answers the client with an error frame
 *   instead of leaving the request unanswered.
 *
 * A cleanup step reaches it in one of two ways, with the same outcome: through
 * Nest's interceptor chain (intercept(), when other interceptors must wrap the
 * step too), or directly (runStep(), when this interceptor would be the whole
 * chain; see LifecycleContext). Hung steps are abandoned by one shared
 * deadline queue, not a timer per step.
 */
@Injectable()
export class CleanupExceptionInterceptor implements NestInterceptor {
  private readonly logger = new LifelineLogger('Lifeline');
  private readonly deadlines: StepDeadlines;

  constructor(
    @Inject(LIFELINE_OPTIONS) private readonly options: ResolvedLifelineOptions,
    private readonly events: EventEmitter2,
    private readonly registry: ClientRegistryService,
  ) {
    this.deadlines = new StepDeadlines(options.cleanupStepTimeoutMs);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const ws = context.switchToWs();
    const data: unknown = ws.getData();
    if (data instanceof LifecycleCall) return this.containStep(data, next);
    return this.containHandler(ws.getClient<WebSocket>(), ws.getPattern(), next);
  }

  /**
   * Runs a cleanup step, contained, without Nest's chain: its value, or
   * STEP_FAILED. Synchronous when the step is; a promise only for a step
   * that returned one.
   */
  runStep(call: LifecycleCall): unknown {
    let outcome: unknown;
    try {
      outcome = call.run();
    } catch (err) {
      return this.stepFailed(call, err);
    }
    if (!isThenable(outcome)) return outcome;
    return new Promise<unknown>((resolve) => {
      const deadline = this.deadlines.arm(() => resolve(this.stepFailed(call, this.timeoutError())));
      outcome.then(
        (value) => {
          if (!deadline.live) return; // abandoned already
          deadline.settle();
          resolve(value);
        },
        (err: unknown) => {
          if (!deadline.live) return;
          deadline.settle();
          resolve(this.stepFailed(call, err));
        },
      );
    });
  }

  private containStep(call: LifecycleCall, next: CallHandler): Observable<unknown> {
    const source = next.handle();
    // rxjs timeout({ first }) + catchError, with the shared deadline queue instead of a timer per step.
    return new Observable<unknown>((subscriber) => {
      const deadline = this.deadlines.arm(() => {
        inner.unsubscribe();
        subscriber.next(this.stepFailed(call, this.timeoutError()));
        subscriber.complete();
      });
      const inner = source.subscribe({
        next: (value) => {
          deadline.settle();
          subscriber.next(value);
        },
        error: (err: unknown) => {
          deadline.settle();
          subscriber.next(this.stepFailed(call, err));
          subscriber.complete();
        },
        complete: () => {
          deadline.settle();
          subscriber.complete();
        },
      });
      return () => {
        deadline.settle();
        inner.unsubscribe();
      };
    });
  }

  private timeoutError(): StepTimeoutError {
    return new StepTimeoutError(this.options.cleanupStepTimeoutMs);
  }

  /** Logs and reports a failed step; the pipeline counts STEP_FAILED. */
  private stepFailed(call: LifecycleCall, err: unknown): typeof STEP_FAILED {
    const event: CleanupFailedEvent = {
      clientId: call.clientId,
      step: call.step,
      error: describe(err),
    };
    this.logger.error({
      msg: 'cleanup step failed',
      clientId: call.clientId,
      step: call.label,
      reason: call.reason,
      error: event.error,
    });
    try {
      this.events.emit(LifelineEvents.cleanupFailed, event);
    } catch {
      // A failing listener of the failure event must not stop the cleanup.
    }
    return STEP_FAILED;
  }

  private containHandler(socket: WebSocket, event: string, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((err: unknown) => {
        if (err instanceof ProtocolError) return of(errorFrame(err.code, err.message, event));
        if (err instanceof WsException) return of(errorFrame('bad_request', describe(err), event));
        this.logger.error({
          msg: 'message handler failed',
          clientId: this.registry.fromSocket(socket)?.id,
          event,
          error: describe(err),
        });
        // Internals stay in the log; the client learns only that it failed.
        return of(errorFrame('internal_error', 'the server failed to handle this message', event));
      }),
    );
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null | undefined)?.then === 'function';
}

function describe(err: unknown): string {
  if (err instanceof WsException) {
    const e = err.getError();
    return typeof e === 'string' ? e : JSON.stringify(e);
  }
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
