import { UseFilters, UseGuards, UseInterceptors } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  SubscribeMessage,
  WebSocketGateway,
  type WsResponse,
} from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { CleanupExceptionInterceptor } from './cleanup/cleanup-exception.interceptor';
import type { ClientRecord } from './interfaces/client-record.interface';
import { LifecycleService } from './lifecycle.service';
import { BackpressureService } from './limits/backpressure.service';
import { GuardRefusalFilter } from './permissions/guard-refusal.filter';
import { TopicPolicyGuard } from './permissions/topic-policy.guard';
import { PresenceService } from './presence/presence.service';
import { parseBody, ProtocolError, publishBodySchema, subscribeBodySchema, topicBodySchema, withRawField } from './protocol';
import { ResumeService } from './sessions/resume.service';
import { SessionsService } from './sessions/sessions.service';
import { TopicsService } from './topics/topics.service';

interface TopicReply {
  topic: string;
}

/**
 * Socket events in, services out; no state of its own. The path comes from
 * the module options through LifelineWsAdapter, not from this decorator.
 * The interceptors declared here also wrap every cleanup step (see
 * LifecycleContext).
 */
@WebSocketGateway()
@UseInterceptors(CleanupExceptionInterceptor)
// Guard refusals (topic permissions, app guards) become error frames.
@UseFilters(GuardRefusalFilter)
export class LifelineGateway implements OnGatewayConnection, OnGatewayDisconnect {
  constructor(
    private readonly lifecycle: LifecycleService,
    private readonly topics: TopicsService,
    private readonly sessions: SessionsService,
    private readonly resumes: ResumeService,
    private readonly backpressure: BackpressureService,
    private readonly presence: PresenceService,
  ) {}

  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    this.lifecycle.open(socket, request);
  }

  handleDisconnect(socket: WebSocket): Promise<void> {
    return this.lifecycle.close(socket);
  }

  @SubscribeMessage('ping')
  ping(@MessageBody() data: unknown): WsResponse<unknown> {
    return { event: 'pong', data };
  }

  /**
   * `subscribed` carries the topic's position ({topic, epoch, offset}), and
   * only messages after it follow: it is sent by the catch-up itself, ahead
   * of whatever was published while the position was read.
   */
  @SubscribeMessage('subscribe')
  @UseGuards(TopicPolicyGuard)
  async subscribe(@ConnectedSocket() socket: WebSocket, @MessageBody() body: unknown): Promise<void> {
    const { topic, presence } = parseBody(subscribeBodySchema, body, 'subscribe');
    const client = this.client(socket, 'subscribe');
    const catchUp = await this.topics.subscribeFrom(client, topic);
    if (!catchUp) return;
    try {
      const { epoch, offset } = catchUp.position;
      // Presence rides on the subscription: whatever may refuse a subscribe refuses it too.
      // With `presence: true`, the topic's members now (shared JSON, spliced in).
      const snapshot = presence === true ? await this.presence.watch(client, topic) : undefined;
      const data = JSON.stringify({ topic, epoch, offset });
      const body = snapshot === undefined ? data : withRawField(data, 'presence', snapshot);
      this.backpressure.send(client, `{"event":"subscribed","data":${body}}`);
    } finally {
      catchUp.finish();
    }
  }

  /** First frame of a reconnecting client: see ResumeService. */
  @SubscribeMessage('resume')
  resume(@ConnectedSocket() socket: WebSocket, @MessageBody() body: unknown): Promise<void> {
    return this.resumes.resume(this.client(socket, 'resume'), body);
  }

  @SubscribeMessage('unsubscribe')
  unsubscribe(@ConnectedSocket() socket: WebSocket, @MessageBody() body: unknown): WsResponse<TopicReply> {
    const { topic } = parseBody(topicBodySchema, body, 'unsubscribe');
    const client = this.client(socket, 'unsubscribe');
    this.topics.unsubscribe(client, topic);
    void this.presence.unwatch(client, topic).catch(() => undefined); // a cluster store rewrites its share later
    return { event: 'unsubscribed', data: { topic } };
  }

  /** With an `id`: published once per session, acknowledged with `published` {id, topic, offset}. */
  @SubscribeMessage('publish')
  @UseGuards(TopicPolicyGuard)
  async publish(@ConnectedSocket() socket: WebSocket, @MessageBody() body: unknown): Promise<void> {
    const { topic, data, id } = parseBody(publishBodySchema, body, 'publish');
    const client = this.client(socket, 'publish');
    if (id === undefined) {
      await this.topics.publish(topic, data);
      return;
    }
    const ack = await this.sessions.publishOnce(client, topic, data, id);
    this.backpressure.send(client, JSON.stringify({ event: 'published', data: ack }));
  }

  private client(socket: WebSocket, event: string): ClientRecord {
    const client = this.lifecycle.clientOf(socket);
    if (!client) throw new ProtocolError('connection is closing', event);
    return client;
  }
}
