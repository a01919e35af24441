import { WsException } from '@nestjs/websockets';
import type { TopicRefusalSource } from '../lifeline.events';
import type { TopicAction } from './interfaces/topic-policy.interface';

/**
 * A subscribe or publish the client may not make. Thrown by TopicPolicyGuard
 * (an app's guard may throw it too); GuardRefusalFilter answers it with a
 * `forbidden` error frame and the connection stays open.
 */
export class TopicForbiddenException extends WsException {
  constructor(
    readonly action: TopicAction,
    readonly topic: string,
    readonly by: TopicRefusalSource = 'guard',
    message = `not allowed to ${action} to "${topic}"`,
  ) {
    super(message);
    this.name = 'TopicForbiddenException';
  }
}
