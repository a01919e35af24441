/**
 * A small typed event emitter. Unlike Node's, an `error` event without a
 * listener is not thrown: a real-time client must never crash the page
 * because the network failed. A listener that throws is isolated and
 * reported to the console instead of breaking the SDK's own bookkeeping.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- listener argument lists vary per event
export type EventMap = Record<string, (...args: any[]) => void>;

export class Emitter<Events extends EventMap> {
  private listeners: { [E in keyof Events]?: Events[E][] } = {};

  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof Events>(event: E, listener: Events[E]): () => void {
    (this.listeners[event] ??= []).push(listener);
    return () => this.off(event, listener);
  }

  once<E extends keyof Events>(event: E, listener: Events[E]): () => void {
    const wrapper = ((...args: Parameters<Events[E]>) => {
      this.off(event, wrapper);
      listener(...args);
    }) as Events[E];
    return this.on(event, wrapper);
  }

  off<E extends keyof Events>(event: E, listener: Events[E]): void {
    const list = this.listeners[event];
    if (!list) return;
    const index = list.indexOf(listener);
    if (index >= 0) list.splice(index, 1);
    if (list.length === 0) delete this.listeners[event];
  }

  listenerCount(event?: keyof Events): number {
    if (event !== undefined) return this.listeners[event]?.length ?? 0;
    let count = 0;
    for (const key in this.listeners) count += this.listeners[key]?.length ?? 0;
    return count;
  }

  protected removeAllListeners(): void {
    this.listeners = {};
  }

  protected emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    const list = this.listeners[event];
    if (!list) return;
    for (const listener of [...list]) {
      try {
        listener(...args);
      } catch (err) {
        reportListenerError(err);
      }
    }
  }
}

export function reportListenerError(err: unknown): void {
  const console = (globalThis as { console?: { error(...args: unknown[]): void } }).console;
  console?.error('lifeline-client: a listener threw', err);
}
