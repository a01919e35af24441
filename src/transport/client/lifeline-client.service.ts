import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, timeout } from 'rxjs';
import { LIFELINE_CLIENT_OPTIONS, LIFELINE_CLIENT_PROXY } from './lifeline-client.constants';
import type { LifelineClientOptions } from './lifeline-client.options';
import {
  type ClientsPage,
  type ClientsQuery,
  type KickResult,
  LifelinePatterns,
  type PublishResult,
  type SendCommand,
  type SendResult,
} from './lifeline-transport.interfaces';

/**
 * Lifeline's commands, typed, over a Nest ClientProxy. A refused command
 * rejects with `{ statusCode, error, message }` (the HTTP API's shape).
 */
@Injectable()
export class LifelineTransportClient implements OnApplicationShutdown {
  private readonly prefix: string;
  private readonly timeoutMs: number;

  constructor(
    @Inject(LIFELINE_CLIENT_PROXY) readonly proxy: ClientProxy,
    @Inject(LIFELINE_CLIENT_OPTIONS) options: LifelineClientOptions,
  ) {
    this.prefix = options.prefix ?? '';
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** Publishes to a topic's subscribers; resolves with the recipients on the node that took it. */
  publish(topic: string, data?: unknown): Promise<PublishResult> {
    return this.request(LifelinePatterns.publish, { topic, data });
  }

  /** Fire and forget: no reply, no error if nobody listens (see README for each transport's guarantee). */
  publishAndForget(topic: string, data?: unknown): Promise<void> {
    return firstValueFrom(this.proxy.emit(this.prefix + LifelinePatterns.publishEvent, { topic, data }), {
      defaultValue: undefined,
    });
  }

  /** Sends `{"event": event ?? "direct", "data": data}` to one client or to every connection of a user. */
  send(command: SendCommand): Promise<SendResult> {
    return this.request(LifelinePatterns.send, command);
  }

  /** Closes a client with 1008 `kicked`; resolves once its cleanup has run. */
  kick(clientId: string): Promise<KickResult> {
    return this.request(LifelinePatterns.kick, { clientId });
  }

  clients(query: ClientsQuery = {}): Promise<ClientsPage> {
    return this.request(LifelinePatterns.clients, query);
  }

  /** Connects now instead of at the first command. */
  connect(): Promise<unknown> {
    return this.proxy.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.proxy.close();
  }

  private request<T>(pattern: string, payload: unknown): Promise<T> {
    return firstValueFrom(this.proxy.send<T>(this.prefix + pattern, payload).pipe(timeout(this.timeoutMs)));
  }
}
