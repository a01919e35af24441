import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { LifecycleService } from '../lifecycle.service';
import { publishBodySchema, topicBodySchema } from '../protocol';
import type { TopicAction } from './interfaces/topic-policy.interface';
import { TopicForbiddenException } from './topic-forbidden.exception';
import { TopicPermissions, type TopicVerdict } from './topic-permissions.service';

/**
 * The topic permission check as a Nest guard on the gateway's `subscribe`
 * and `publish` handlers. Method guards run after global and gateway-class
 * guards, so an app's own guards see the same execution context (client,
 * `{topic, data}`, event) first, and any of them refusing ends the same way:
 * a `forbidden` error frame (GuardRefusalFilter), nothing subscribed or
 * published, the connection open.
 */
@Injectable()
export class TopicPolicyGuard implements CanActivate {
  constructor(
    private readonly permissions: TopicPermissions,
    private readonly lifecycle: LifecycleService,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'ws') return true;
    const ws = context.switchToWs();
    const action = ws.getPattern();
    if (action !== 'subscribe' && action !== 'publish') return true;
    const record = this.lifecycle.clientOf(ws.getClient<WebSocket>());
    // On its way out: the handler answers that.
    if (!record) return true;
    const body = (action === 'subscribe' ? topicBodySchema : publishBodySchema).safeParse(ws.getData());
    // A malformed body is the handler's to answer (bad_request), before any permission question.
    if (!body.success) return true;
    const { topic } = body.data;
    const data = action === 'publish' ? (body.data as { data?: unknown }).data : undefined;
    const verdict = this.permissions.decide(action, record, topic, data);
    return verdict instanceof Promise ? verdict.then((v) => allow(v, action, topic)) : allow(verdict, action, topic);
  }
}

function allow(verdict: TopicVerdict, action: TopicAction, topic: string): true {
  if (!verdict.allowed) throw new TopicForbiddenException(action, topic, verdict.by);
  return true;
}
