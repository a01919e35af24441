import type { MessageMappingProperties } from '@nestjs/websockets';
import { from, isObservable, mergeMap, type Observable, of } from 'rxjs';
import type { WebSocket } from 'ws';

type Callback = MessageMappingProperties['callback'];

/** Event name → slot, shared by every client of one gateway. */
interface SlotTable {
  readonly events: readonly unknown[];
  readonly slots: ReadonlyMap<unknown, number>;
}

/** What one client keeps: the shared table and the callbacks Nest bound to it. */
interface ClientHandlers {
  readonly table: SlotTable;
  readonly callbacks: readonly Callback[];
}

const HANDLERS = Symbol('lifeline.handlers');
type HandledSocket = WebSocket & { [HANDLERS]?: ClientHandlers };

/**
 * The message handlers of each client, kept small.
 *
 * Nest hands the adapter, per client, an array of `{ message, callback }`
 * objects with each callback bound to that client. Kept as they come, with a
 * closure per client around them, they were a seventh of a connection's
 * heap. Here a client keeps only its bound callbacks; the event → slot table
 * is built once per gateway (every client of a gateway gets the same events
 * in the same order) and one shared listener serves every socket.
 */
export class MessageHandlers {
  private readonly tables: SlotTable[] = [];

  attach(client: WebSocket, handlers: readonly MessageMappingProperties[]): void {
    (client as HandledSocket)[HANDLERS] = {
      table: this.tableFor(handlers),
      callbacks: handlers.map((h) => h.callback),
    };
  }

  /** The client's callback for an event; undefined for an unknown event. */
  find(client: WebSocket, event: string): Callback | undefined {
    const handlers = (client as HandledSocket)[HANDLERS];
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
