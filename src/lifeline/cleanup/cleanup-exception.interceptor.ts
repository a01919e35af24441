import {
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
  type NestInterceptor,
} from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { WsException } from '@nestjs/websockets';
import { catchError, type Observable, of, throwError, timeout } from 'rxjs';
import type { WebSocket } from 'ws';
import { ClientRegistryService } from '../client-registry.service';
import { LIFELINE_OPTIONS } from '../constants';
import type { ResolvedLifelineOptions } from '../interfaces/lifeline-options.interface';
import { type CleanupFailedEvent, LifelineEvents } from '../lifeline.events';
import { errorFrame, ProtocolError } from '../protocol';
import { LifecycleCall } from './lifecycle-call';

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
 */
@Injectable()
export class CleanupExceptionInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Lifeline');

  constructor(
    @Inject(LIFELINE_OPTIONS) private readonly options: ResolvedLifelineOptions,
    private readonly events: EventEmitter2,
    private readonly registry: ClientRegistryService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const ws = context.switchToWs();
    const data: unknown = ws.getData();
    if (data instanceof LifecycleCall) return this.containStep(data, next);
    return this.containHandler(ws.getClient<WebSocket>(), ws.getPattern(), next);
  }

  private containStep(call: LifecycleCall, next: CallHandler): Observable<unknown> {
    const ms = this.options.cleanupStepTimeoutMs;
    return next.handle().pipe(
      timeout({ first: ms, with: () => throwError(() => new StepTimeoutError(ms)) }),
      catchError((err: unknown) => {
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
        this.events.emit(LifelineEvents.cleanupFailed, event);
        return of(STEP_FAILED);
      }),
    );
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

function describe(err: unknown): string {
  if (err instanceof WsException) {
    const e = err.getError();
    return typeof e === 'string' ? e : JSON.stringify(e);
  }
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
