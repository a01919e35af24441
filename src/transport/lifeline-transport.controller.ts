import {
  Controller,
  Inject,
  NotFoundException,
  Optional,
  ServiceUnavailableException,
  type Type,
  UseFilters,
} from '@nestjs/common';
import { EventPattern, MessagePattern } from '@nestjs/microservices';
import { toClientView } from '../admin/client-view';
import { ZodValidationPipe } from '../admin/zod-validation.pipe';
import { ClusterPresenceService } from '../cluster/presence.service';
import { BackpressureService, ClientRegistryService, CloseCodes, LifecycleService, PresenceService, TopicsService } from '../lifeline';
import {
  type ClientsPage,
  type KickResult,
  LifelinePatterns,
  type PresenceResult,
  type PublishResult,
  type SendResult,
  type TransportClientView,
} from './client/lifeline-transport.interfaces';
import { clientsQuery, kickCommand, presenceQuery, publishCommand, sendCommand } from './transport.schemas';
import { TransportExceptionFilter } from './transport-exception.filter';
import { LifelineLogger } from '../lifeline';

const parse = <T>(schema: ConstructorParameters<typeof ZodValidationPipe<T>>[0], what: string, value: unknown): T =>
  new ZodValidationPipe(schema, what).transform(value);

/**
 * Lifeline's commands over a Nest microservice transport. The handlers carry
 * no pattern decorators here: transportController(prefix) subclasses this
 * with the patterns, prefix included, since decorators are static.
 */
@UseFilters(TransportExceptionFilter)
export class LifelineTransportHandlers {
  private readonly logger = new LifelineLogger('Transport');

  constructor(
    @Inject(TopicsService) private readonly topics: TopicsService,
    @Inject(ClientRegistryService) private readonly registry: ClientRegistryService,
    @Inject(LifecycleService) private readonly lifecycle: LifecycleService,
    @Inject(BackpressureService) private readonly backpressure: BackpressureService,
    @Optional() @Inject(ClusterPresenceService) private readonly cluster?: ClusterPresenceService,
    @Optional() @Inject(PresenceService) private readonly presenceService?: PresenceService,
  ) {}

  /** Like POST /topics/:topic/messages: the recipients on this node and the message's position in the topic's history. */
  async publish(payload: unknown): Promise<PublishResult> {
    const { topic, data } = parse(publishCommand, 'publish command', payload);
    const { recipients, epoch, offset } = await this.topics.publish(topic, data);
    return { topic, recipients, epoch, offset };
  }

  /** Fire and forget: nobody to answer, so a bad payload (or a failed append) is logged. */
  async publishEvent(payload: unknown): Promise<void> {
    try {
      await this.publish(payload);
    } catch (err) {
      this.logger.warn({ msg: 'publish event refused', error: err instanceof Error ? err.message : String(err) });
    }
  }

  async send(payload: unknown): Promise<SendResult> {
    const command = parse(sendCommand, 'send command', payload);
    const frame = JSON.stringify({ event: command.event, data: command.data });
    if (command.clientId !== undefined) {
      const sent = this.cluster ? await this.cluster.sendTo(command.clientId, frame) : this.sendLocal(command.clientId, frame);
      if (!sent) throw new NotFoundException(`no connected client ${command.clientId}`);
      return { recipients: 1 };
    }
    let recipients = 0;
    if (this.cluster) {
      const ids = (await this.cluster.listClients()).filter((c) => c.userId === command.userId).map((c) => c.id);
      for (const sent of await Promise.all(ids.map((id) => this.cluster!.sendTo(id, frame)))) if (sent) recipients++;
    } else {
      for (const record of this.registry.values()) {
        if (record.userId === command.userId && this.backpressure.send(record, frame)) recipients++;
      }
    }
    return { recipients };
  }

  async kick(payload: unknown): Promise<KickResult> {
    const { clientId } = parse(kickCommand, 'kick command', payload);
    const record = this.registry.get(clientId);
    if (!record) throw new NotFoundException(`no connected client ${clientId} on this node`);
    await this.lifecycle.disconnect(record, 'kicked', CloseCodes.policyViolation, 'kicked');
    return { id: clientId, kicked: true };
  }

  async clients(payload: unknown): Promise<ClientsPage> {
    const { limit, offset, scope, userId } = parse(clientsQuery, 'clients query', payload ?? {});
    let all: TransportClientView[];
    if (scope === 'cluster') {
      if (!this.cluster) throw new ServiceUnavailableException('cluster scope needs cluster mode (REDIS_URL)');
      all = (await this.cluster.listClients()).map((c) => ({ ...c, userId: c.userId ?? null, connectedAt: String(c.connectedAt) }));
    } else {
      all = [...this.registry.values()].map((record) => toClientView(record, this.topics));
    }
    if (userId !== undefined) all = all.filter((c) => c.userId === userId);
    return { items: all.slice(offset, offset + limit), total: all.length, limit, offset, scope };
  }

  /** Like the HTTP API's presence endpoints: one user, up to 1,000 users, or a topic's members. */
  async presence(payload: unknown): Promise<PresenceResult> {
    const query = parse(presenceQuery, 'presence query', payload);
    if (!this.presenceService) throw new ServiceUnavailableException('presence is not available');
    if ('userId' in query) return this.presenceService.user(query.userId);
    if ('userIds' in query) {
      const ids = [...new Set(query.userIds)];
      const flags = await this.presenceService.online(ids);
      return { online: ids.filter((_, i) => flags[i]), offline: ids.filter((_, i) => !flags[i]) };
    }
    return { topic: query.topic, ...(await this.presenceService.snapshot(query.topic)) };
  }

  private sendLocal(clientId: string, frame: string): boolean {
    const record = this.registry.get(clientId);
    return record !== undefined && this.backpressure.send(record, frame);
  }
}

type Handler = Exclude<keyof LifelineTransportHandlers, 'constructor'>;

const COMMANDS: [Handler, string][] = [
  ['publish', LifelinePatterns.publish],
  ['send', LifelinePatterns.send],
  ['kick', LifelinePatterns.kick],
  ['clients', LifelinePatterns.clients],
  ['presence', LifelinePatterns.presence],
];

/** The controller with its patterns: `prefix + lifeline.publish`, … */
export function transportController(prefix: string): Type<LifelineTransportHandlers> {
  class LifelineTransportController extends LifelineTransportHandlers {}
  const proto = LifelineTransportController.prototype as unknown as Record<string, unknown>;
  const base = LifelineTransportHandlers.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const define = (method: Handler, decorator: MethodDecorator) => {
    // Own functions: pattern metadata lives on the method function, and the base class's must stay bare.
    const handler = function (this: LifelineTransportHandlers, ...args: unknown[]) {
      return base[method].apply(this, args);
    };
    // Interceptors and logs see the handler by its name (context.getHandler().name).
    Object.defineProperty(handler, 'name', { value: method });
    proto[method] = handler;
    decorator(proto, method, Object.getOwnPropertyDescriptor(proto, method)!);
  };
  for (const [method, pattern] of COMMANDS) define(method, MessagePattern(prefix + pattern));
  define('publishEvent', EventPattern(prefix + LifelinePatterns.publishEvent));
  Controller()(LifelineTransportController);
  return LifelineTransportController;
}
