import type { EventEmitter2 } from '@nestjs/event-emitter';

/** Collects every payload emitted under an event name, from now on. */
export function collect<T>(events: EventEmitter2, name: string): T[] {
  const seen: T[] = [];
  events.on(name, (payload: T) => seen.push(payload));
  return seen;
}
