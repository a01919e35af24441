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
import { GuardRefusalFilter } from './permissions/guard-refusal.filter';
import { TopicPolicyGuard } from './permissions/topic-policy.guard';
import type { PresenceSnapshot } from './presence/interfaces/presence.interface';
import { PresenceService } from './presence/presence.service';
import { parseBody, ProtocolError, publishBodySchema, subscribeBodySchema, topicBodySchema } from './protocol';
import { TopicsService } from './topics/topics.service';

interface TopicReply {
  topic: string;
  /** Subscribes with `presence: true`: the topic's members now. */
  presence?: PresenceSnapshot;
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

  @SubscribeMessage('subscribe')
  @UseGuards(TopicPolicyGuard)
  async subscribe(@ConnectedSocket() socket: WebSocket, @MessageBody() body: unknown): Promise<WsResponse<TopicReply>> {
    const { topic, presence } = parseBody(subscribeBodySchema, body, 'subscribe');
    const client = this.client(socket, 'subscribe');
    this.topics.subscribe(client, topic);
    // Presence rides on the subscription: whatever may refuse a subscribe refuses it too.
    const snapshot = presence === true ? await this.presence.watch(client, topic) : undefined;
    return { event: 'subscribed', data: snapshot ? { topic, presence: snapshot } : { topic } };
  }

  @SubscribeMessage('unsubscribe')
  unsubscribe(@ConnectedSocket() socket: WebSocket, @MessageBody() body: unknown): WsResponse<TopicReply> {
    const { topic } = parseBody(topicBodySchema, body, 'unsubscribe');
    const client = this.client(socket, 'unsubscribe');
    this.topics.unsubscribe(client, topic);
    void this.presence.unwatch(client, topic).catch(() => undefined); // a cluster store rewrites its share later
    return { event: 'unsubscribed', data: { topic } };
  }

  @SubscribeMessage('publish')
  @UseGuards(TopicPolicyGuard)
  publish(@ConnectedSocket() socket: WebSocket, @MessageBody() body: unknown): void {
    const { topic, data } = parseBody(publishBodySchema, body, 'publish');
    this.client(socket, 'publish');
    this.topics.publish(topic, data);
  }

  private client(socket: WebSocket, event: string): ClientRecord {
    const client = this.lifecycle.clientOf(socket);
    if (!client) throw new ProtocolError('connection is closing', event);
    return client;
  }
}
