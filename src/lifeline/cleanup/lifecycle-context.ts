import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ExternalContextCreator, ModuleRef } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { ConnectionAttempt } from '../upgrade/connection-attempt';
import { LIFECYCLE_HOST } from '../constants';
import type { LifecycleCall } from './lifecycle-call';

/** The handler interceptors see for a lifecycle call; it just runs the step. */
function handleLifecycleCall(_socket: WebSocket, call: LifecycleCall): unknown {
  return call.run();
}

/** The handler guards see for a connection attempt; reached only if they all pass. */
function handleConnectionAttempt(_request: IncomingMessage, _attempt: ConnectionAttempt): boolean {
  return true;
}

/**
 * Runs lifecycle calls through Nest's enhancer chains.
 *
 * Nest applies enhancers only to @SubscribeMessage handlers, never to
 * handleConnection/handleDisconnect (nest#882). ExternalContextCreator (the
 * tool @nestjs/graphql uses for resolvers) builds the same chain around any
 * function, reading the enhancers declared on the gateway class, so the
 * CleanupExceptionInterceptor and any user interceptor wrap each cleanup step.
 */
@Injectable()
export class LifecycleContext implements OnModuleInit {
  private invoke?: (socket: WebSocket, call: LifecycleCall) => Promise<unknown>;
  private guard?: (request: IncomingMessage, attempt: ConnectionAttempt) => Promise<unknown>;

  constructor(
    private readonly contextCreator: ExternalContextCreator,
    private readonly moduleRef: ModuleRef,
  ) {}

  onModuleInit(): void {
    // Looked up lazily: the gateway depends on us through the pipeline.
    const host = this.moduleRef.get<object>(LIFECYCLE_HOST, { strict: true });
    this.invoke = this.contextCreator.create(
      host,
      handleLifecycleCall as (...args: unknown[]) => unknown,
      'handleDisconnect',
      undefined,
      undefined,
      undefined,
      undefined,
      // Guards decide who may connect; they must never stop a cleanup.
      { guards: false, interceptors: true, filters: false },
      'ws',
    );
    // The connection path gets the gateway's guards (nest#882), before the upgrade.
    this.guard = this.contextCreator.create(
      host,
      handleConnectionAttempt as (...args: unknown[]) => unknown,
      'handleConnection',
      undefined,
      undefined,
      undefined,
      undefined,
      { guards: true, interceptors: false, filters: false },
      'ws',
    );
  }

  /**
   * Runs the gateway's guards for an upgrade request. Rejects with a
   * ForbiddenException when a guard returns false, or with what a guard threw.
   */
  async guardConnection(request: IncomingMessage, userId: string | undefined): Promise<void> {
    if (!this.guard) throw new Error('LifecycleContext used before module init');
    await this.guard(request, new ConnectionAttempt(request, userId));
  }

  run(socket: WebSocket, call: LifecycleCall): Promise<unknown> {
    if (!this.invoke) throw new Error('LifecycleContext used before module init');
    return this.invoke(socket, call);
  }
}
