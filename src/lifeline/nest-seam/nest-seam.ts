import type { ExternalContextCreator } from '@nestjs/core';
import type { MessageMappingProperties } from '@nestjs/websockets';

/**
 * The one place where Lifeline reads what Nest does not export. Everything
 * here is pinned to the Nest minors below: on any other version (or when the
 * shape read here is not found) each function answers "unknown" and its
 * caller takes the slower, fully public path, so a Nest upgrade can cost
 * speed or memory but never correctness. `nest-seam.spec.ts` fails loudly
 * when the installed Nest leaves the pin or the shapes move.
 */
export const NEST_SEAM_PIN = { '@nestjs/core': '11.2', '@nestjs/websockets': '11.2' } as const;

type PinnedPackage = keyof typeof NEST_SEAM_PIN;

/** `major.minor` of an installed package, or undefined. */
export function installedMinor(pkg: PinnedPackage): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a package.json read at start-up
    const { version } = require(`${pkg}/package.json`) as { version: string };
    return version.split('.').slice(0, 2).join('.');
  } catch {
    return undefined;
  }
}

function pinned(pkg: PinnedPackage): boolean {
  return installedMinor(pkg) === NEST_SEAM_PIN[pkg];
}

/** Nest's ApplicationConfig, the part read here. */
interface GlobalEnhancerSource {
  getGlobalInterceptors(): unknown[];
  getGlobalRequestInterceptors(): unknown[];
  getGlobalGuards(): unknown[];
  getGlobalRequestGuards(): unknown[];
}

/** How many global interceptors and guards the app has. */
export interface GlobalEnhancers {
  interceptors: number;
  guards: number;
}

/**
 * The app's global interceptors and guards (`app.useGlobal*`, APP_INTERCEPTOR,
 * APP_GUARD), which ExternalContextCreator puts in every chain it builds. Read
 * from the container that `ExternalContextCreator.fromContainer` keeps on the
 * instance. Undefined when that cannot be read: callers then assume there are
 * some.
 */
export function globalEnhancers(contextCreator: ExternalContextCreator): GlobalEnhancers | undefined {
  if (!pinned('@nestjs/core')) return undefined;
  const config = (contextCreator as unknown as { container?: { applicationConfig?: Partial<GlobalEnhancerSource> } })
    .container?.applicationConfig;
  if (
    !config ||
    typeof config.getGlobalInterceptors !== 'function' ||
    typeof config.getGlobalRequestInterceptors !== 'function' ||
    typeof config.getGlobalGuards !== 'function' ||
    typeof config.getGlobalRequestGuards !== 'function'
  ) {
    return undefined;
  }
  return {
    interceptors: config.getGlobalInterceptors().length + config.getGlobalRequestInterceptors().length,
    guards: config.getGlobalGuards().length + config.getGlobalRequestGuards().length,
  };
}

/**
 * Receives a gateway's message handlers unbound: `callback(client, data,
 * event)` is what Nest's per-client `callback.bind(instance, client)` would
 * have called. Returning false hands the client back to Nest's own path.
 */
export type UnboundHandlerSink = (
  client: unknown,
  handlers: readonly MessageMappingProperties[],
  instance: object,
) => boolean;

interface ControllerPrototype {
  subscribeMessages(subscribersMap: MessageMappingProperties[], client: unknown, instance: object): void;
}

/** Set only while an adapter's connection handler runs (synchronously). */
let activeSink: UnboundHandlerSink | undefined;
let installed: boolean | undefined;

/**
 * Nest binds each @SubscribeMessage handler to every client
 * (`WebSocketsController.subscribeMessages`: `callback.bind(instance,
 * client)` per handler per connection), and the adapter has to keep those
 * bound functions for the client's life: about 0.3 KB per connection. This
 * wraps that method so that, while `withUnboundHandlers` runs, the adapter
 * receives the handlers as Nest built them once per gateway and binds
 * nothing. Outside it (other adapters, other apps in the process) Nest's
 * method runs unchanged. True if the wrap is in place.
 */
export function installUnboundHandlers(): boolean {
  if (installed !== undefined) return installed;
  installed = false;
  if (!pinned('@nestjs/websockets')) return false;
  let proto: Partial<ControllerPrototype> | undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- not exported by @nestjs/websockets: the seam
    proto = (require('@nestjs/websockets/web-sockets-controller') as { WebSocketsController?: { prototype: ControllerPrototype } })
      .WebSocketsController?.prototype;
  } catch {
    return false;
  }
  const original = proto?.subscribeMessages;
  if (!proto || typeof original !== 'function' || original.length !== 3) return false;
  proto.subscribeMessages = function subscribeMessages(
    this: ControllerPrototype,
    subscribersMap: MessageMappingProperties[],
    client: unknown,
    instance: object,
  ): void {
    if (activeSink?.(client, subscribersMap, instance)) return;
    original.call(this, subscribersMap, client, instance);
  };
  installed = true;
  return true;
}

/** Runs Nest's connection handler with `sink` receiving the handlers unbound. */
export function withUnboundHandlers<T>(sink: UnboundHandlerSink, run: () => T): T {
  const previous = activeSink;
  activeSink = sink;
  try {
    return run();
  } finally {
    activeSink = previous;
  }
}
