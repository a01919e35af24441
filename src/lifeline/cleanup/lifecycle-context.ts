import { Injectable, type OnModuleInit } from '@nestjs/common';
import { GUARDS_METADATA, INTERCEPTORS_METADATA } from '@nestjs/common/constants';
import { ExternalContextCreator, ModuleRef } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { ConnectionAttempt } from '../upgrade/connection-attempt';
import { LIFECYCLE_HOST } from '../constants';
import { globalEnhancers } from '../nest-seam/nest-seam';
import { CleanupExceptionInterceptor } from './cleanup-exception.interceptor';
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
 *
 * Nest's chain costs, per call, two AsyncResource bindings, an rxjs pipeline
 * and several promises, even when it holds nothing but our own interceptor:
 * most of a connect/disconnect cycle's overhead. When the chain would be
 * exactly [CleanupExceptionInterceptor] (no other interceptor on the gateway
 * class, no global one), a step goes to that interceptor directly, with the
 * same containment, log, event and deadline; likewise an upgrade is not sent
 * through an empty guard chain. Any other interceptor or guard puts Nest's
 * chain back, for every call. The global ones are read through the Nest
 * seam; where it cannot tell, the chain is used.
 */
@Injectable()
export class LifecycleContext implements OnModuleInit {
  private invoke?: (socket: WebSocket, call: LifecycleCall) => Promise<unknown>;
  private guard?: (request: IncomingMessage, attempt: ConnectionAttempt) => Promise<unknown>;
  /** Steps skip Nest's chain: it would hold only the CleanupExceptionInterceptor. */
  private directSteps = false;
  /** Upgrades skip Nest's guard chain: it would hold no guard. */
  private noGuards = false;

  constructor(
    private readonly contextCreator: ExternalContextCreator,
    private readonly moduleRef: ModuleRef,
    private readonly containment: CleanupExceptionInterceptor,
  ) {}

  /** Whether cleanup steps bypass Nest's chain (nothing but our own interceptor would wrap them). */
  get stepsRunDirectly(): boolean {
    return this.directSteps;
  }

  /** Whether upgrades bypass Nest's guard chain (no guard would run). */
  get guardsSkipped(): boolean {
    return this.noGuards;
  }

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
    // What ExternalContextCreator put in those chains: the gateway class's
    // enhancers (the handlers above are ours and carry none) and the global ones.
    const globals = globalEnhancers(this.contextCreator);
    const hostClass = host.constructor;
    const interceptors = (Reflect.getMetadata(INTERCEPTORS_METADATA, hostClass) ?? []) as unknown[];
    const guards = (Reflect.getMetadata(GUARDS_METADATA, hostClass) ?? []) as unknown[];
    this.directSteps =
      globals?.interceptors === 0 && interceptors.length === 1 && interceptors[0] === CleanupExceptionInterceptor;
    this.noGuards = globals?.guards === 0 && guards.length === 0;
  }

  /**
   * Runs the gateway's guards for an upgrade request. Rejects with a
   * ForbiddenException when a guard returns false, or with what a guard threw.
   */
  guardConnection(request: IncomingMessage, userId: string | undefined): Promise<unknown> | undefined {
    if (!this.guard) throw new Error('LifecycleContext used before module init');
    // Undefined: no guard to run, nothing to wait for.
    if (this.noGuards) return undefined;
    return this.guard(request, new ConnectionAttempt(request, userId));
  }

  /**
   * Runs a cleanup step, contained: its value or STEP_FAILED, synchronously
   * when the step is synchronous and runs directly, otherwise a promise.
   */
  run(socket: WebSocket, call: LifecycleCall): unknown {
    if (!this.invoke) throw new Error('LifecycleContext used before module init');
    if (this.directSteps) return this.containment.runStep(call);
    return this.invoke(socket, call);
  }
}
