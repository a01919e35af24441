import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ExternalContextCreator, ModuleRef } from '@nestjs/core';
import type { WebSocket } from 'ws';
import { LIFECYCLE_HOST } from '../constants';
import type { LifecycleCall } from './lifecycle-call';

/** The handler interceptors see for a lifecycle call; it just runs the step. */
function handleLifecycleCall(_socket: WebSocket, call: LifecycleCall): unknown {
  return call.run();
}

/**
 * Runs lifecycle calls through Nest's interceptor chain.
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
  }

  run(socket: WebSocket, call: LifecycleCall): Promise<unknown> {
    if (!this.invoke) throw new Error('LifecycleContext used before module init');
    return this.invoke(socket, call);
  }
}
