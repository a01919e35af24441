import type { MessageMappingProperties } from '@nestjs/websockets';
import { from, isObservable, mergeMap, type Observable, of } from 'rxjs';
import type { WebSocket } from 'ws';

type Callback = MessageMappingProperties['callback'];

/** Event name → slot, shared by every client of one gateway. */
interface SlotTable {
  readonly events: readonly unknown[];
  readonly slots: ReadonlyMap<unknown, number>;
}

/** What one client keeps on Nest's path: the shared table and the callbacks Nest bound to it. */
interface ClientHandlers {
  readonly table: SlotTable;
  readonly callbacks: readonly Callback[];
}

/**
 * One gateway's handlers as Nest built them, unbound: `callback(client, data,
 * event)`. Every client of the gateway points at the same one.
 */
export class GatewayHandlers {
  private readonly byEvent = new Map<unknown, Callback>();

  constructor(
    readonly instance: object,
    readonly source: readonly MessageMappingProperties[],
  ) {
    // The first handler of a name wins, as on Nest's path.
    for (const h of source) if (!this.byEvent.has(h.message)) this.byEvent.set(h.message, h.callback);
  }

  find(client: WebSocket, event: string): Callback | undefined {
    const callback = this.byEvent.get(event);
    if (callback === undefined) return undefined;
    const { instance } = this;
    // What Nest's `callback.bind(instance, client)` would call; made per message, never kept.
    return (data: unknown, name?: string) => callback.call(instance, client, data, name);
  }
}

const HANDLERS = Symbol('lifeline.handlers');
type HandledSocket = WebSocket & { [HANDLERS]?: ClientHandlers | GatewayHandlers };

/**
 * The message handlers of each client, kept small.
 *
 * Nest hands the adapter, per client, an array of `{ message, callback }`
 * objects with each callback bound to that client: a connection's largest
 * item after the socket itself. Where the Nest seam is in place
 * (attachUnbound), a client keeps one pointer to its gateway's handlers,
 * built once per gateway, and nothing is bound. Otherwise (attach) it keeps
 * only the callbacks Nest bound to it, with the event → slot table built once
 * per gateway. One shared listener serves every socket either way.
 */
export class MessageHandlers {
  private readonly tables: SlotTable[] = [];
  private readonly gateways: GatewayHandlers[] = [];

  attach(client: WebSocket, handlers: readonly MessageMappingProperties[]): void {
    (client as HandledSocket)[HANDLERS] = {
      table: this.tableFor(handlers),
      callbacks: handlers.map((h) => h.callback),
    };
  }

  /** The client's gateway handlers, unbound (Nest gives the same array for every client of a gateway). */
  attachUnbound(client: WebSocket, handlers: readonly MessageMappingProperties[], instance: object): void {
    let gateway = this.gateways.find((g) => g.source === handlers && g.instance === instance);
    if (!gateway) this.gateways.push((gateway = new GatewayHandlers(instance, handlers)));
    (client as HandledSocket)[HANDLERS] = gateway;
  }

  /** The gateway instance of a client attached unbound. */
  gatewayOf(client: WebSocket): object | undefined {
    const handlers = (client as HandledSocket)[HANDLERS];
    return handlers instanceof GatewayHandlers ? handlers.instance : undefined;
  }

  /** The client's callback for an event; undefined for an unknown event. */
  find(client: WebSocket, event: string): Callback | undefined {
    const handlers = (client as HandledSocket)[HANDLERS];
    if (handlers instanceof GatewayHandlers) return handlers.find(client, event);
    const slot = handlers?.table.slots.get(event);
    return slot === undefined ? undefined : handlers?.callbacks[slot];
  }

  private tableFor(handlers: readonly MessageMappingProperties[]): SlotTable {
    for (const table of this.tables) {
      if (sameEvents(table.events, handlers)) return table;
    }
    const slots = new Map<unknown, number>();
    // The first handler of a name wins, as a lookup by find() would have it.
    handlers.forEach((h, slot) => {
      if (!slots.has(h.message)) slots.set(h.message, slot);
    });
    const table = { events: handlers.map((h) => h.message as unknown), slots };
    this.tables.push(table);
    return table;
  }
}

function sameEvents(events: readonly unknown[], handlers: readonly MessageMappingProperties[]): boolean {
  if (events.length !== handlers.length) return false;
  for (let i = 0; i < events.length; i++) {
    if (events[i] !== handlers[i].message) return false;
  }
  return true;
}

/**
 * A handler's outcome as the stream of its responses. Nest's callbacks
 * return a promise of the handler's result, which may itself be a value, a
 * promise or an observable of several responses.
 */
export function responsesOf(outcome: unknown): Observable<unknown> {
  return from(Promise.resolve(outcome)).pipe(
    mergeMap((result: unknown) => {
      if (isObservable(result)) return result;
      if (result instanceof Promise) return from(result as Promise<unknown>);
      return of(result);
    }),
  );
}
