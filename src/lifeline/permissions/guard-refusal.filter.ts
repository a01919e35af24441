import { type ArgumentsHost, Catch, HttpException, Injectable, type WsExceptionFilter } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import type { WebSocket } from 'ws';
import { LifecycleService } from '../lifecycle.service';
import { BackpressureService } from '../limits/backpressure.service';
import { errorFrame, ProtocolError } from '../protocol';
import { TopicForbiddenException } from './topic-forbidden.exception';
import { TopicPermissions } from './topic-permissions.service';
import { LifelineLogger } from '../log-entry';

/** What Nest throws when a guard returns false (@nestjs/core's FORBIDDEN_MESSAGE). */
const GUARD_SAID_NO = 'Forbidden resource';

/**
 * Answers what happens before a message handler runs: guards (and pipes).
 * Nest's own WebSocket filter "emits" an `exception` event on the socket,
 * which for a `ws` socket sends nothing, so a refused frame went unanswered.
 * Here a refusal (TopicForbiddenException, a guard returning false, a guard
 * throwing a 401/403) is a `forbidden` error frame carrying the topic, and a
 * subscribe or publish refusal is counted; anything else is `bad_request`
 * or, logged, `internal_error`. The connection stays open either way.
 */
@Catch()
@Injectable()
export class GuardRefusalFilter implements WsExceptionFilter {
  private readonly logger = new LifelineLogger('Lifeline');

  constructor(
    private readonly lifecycle: LifecycleService,
    private readonly backpressure: BackpressureService,
    private readonly permissions: TopicPermissions,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ws = host.switchToWs();
    const record = this.lifecycle.clientOf(ws.getClient<WebSocket>());
    if (!record) return;
    const event = String(ws.getPattern());
    const topic = exception instanceof TopicForbiddenException ? exception.topic : topicOf(ws.getData());
    const refusal = refusalOf(exception, event, topic);
    if (refusal === undefined) {
      this.backpressure.send(record, JSON.stringify(this.otherError(exception, event, record.id)));
      return;
    }
    const frame = errorFrame('forbidden', refusal, event);
    if (topic !== undefined) frame.data.topic = topic;
    if (topic !== undefined && (event === 'subscribe' || event === 'publish')) {
      this.permissions.refused(record, event, topic, exception instanceof TopicForbiddenException ? exception.by : 'guard');
    }
    this.backpressure.send(record, JSON.stringify(frame));
  }

  private otherError(exception: unknown, event: string, clientId: string) {
    if (exception instanceof ProtocolError) return errorFrame(exception.code, exception.message, event);
    if (exception instanceof WsException || exception instanceof HttpException) {
      return errorFrame('bad_request', messageOf(exception), event);
    }
    this.logger.error({
      msg: 'message guard failed',
      clientId,
      event,
      error: exception instanceof Error ? `${exception.name}: ${exception.message}` : String(exception),
    });
    return errorFrame('internal_error', 'the server failed to handle this message', event);
  }
}

/** The refusal's message, or undefined when the exception is not a refusal. */
function refusalOf(exception: unknown, event: string, topic: string | undefined): string | undefined {
  if (exception instanceof TopicForbiddenException) return exception.message;
  if (exception instanceof WsException && exception.message === GUARD_SAID_NO) {
    return topic === undefined ? `not allowed to ${event}` : `not allowed to ${event} to "${topic}"`;
  }
  if (exception instanceof HttpException && (exception.getStatus() === 401 || exception.getStatus() === 403)) {
    return messageOf(exception);
  }
  return undefined;
}

function messageOf(exception: WsException | HttpException): string {
  const response = exception instanceof WsException ? exception.getError() : exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  return typeof message === 'string' ? message : exception.message;
}

function topicOf(data: unknown): string | undefined {
  const topic = (data as { topic?: unknown } | null | undefined)?.topic;
  return typeof topic === 'string' && topic.length > 0 && topic.length <= 256 ? topic : undefined;
}
