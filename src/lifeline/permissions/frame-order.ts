import { type MonoTypeOperatorFunction, Observable } from 'rxjs';
import type { RawData } from 'ws';
import type { ClientRecord, FrameQueue, QueuedFrame } from '../interfaces/client-record.interface';

/** In flight, nothing waiting: one shared marker, never written to. */
const IN_FLIGHT: FrameQueue = Object.freeze({ frames: Object.freeze([]) as unknown as QueuedFrame[], head: 0, bytes: 0 });

/** `now`: handle it; `queued`: it waits for the frame in flight; `full`: refuse it. */
export type Turn = 'now' | 'queued' | 'full';

/** How much may wait behind a client's frame in flight. */
export interface FrameQueueLimits {
  /** Frames (the rate limit's burst: a well-behaved burst always fits). */
  frames: number;
  /** Bytes (one frame always fits). */
  bytes: number;
}

/**
 * A client's frames are handled one at a time, in the order they arrived.
 *
 * A permission check may wait on an async TopicPolicy (a database lookup),
 * and a subscribe may wait on its topic's history. Without an order, an
 * `unsubscribe` sent after a pending `subscribe` would run first and leave
 * the client subscribed, and a `publish` sent after a `subscribe` would miss
 * the sender. So a frame arriving while an earlier one of the same client
 * is in flight waits behind it; other clients are never held. What waits is
 * bounded (FrameQueueLimits); a frame beyond that is refused at once, and the
 * policy's timeout bounds how long anything waits.
 *
 * The state is one field on the record (`frameQueue`): nothing is allocated
 * for a client whose frames do not overlap.
 */
export function takeTurn(record: ClientRecord, raw: RawData, isBinary: boolean, limits: FrameQueueLimits): Turn {
  const queue = record.frameQueue;
  if (queue === undefined) {
    record.frameQueue = IN_FLIGHT;
    return 'now';
  }
  const bytes = sizeOf(raw);
  const waiting = queue.frames.length - queue.head;
  if (waiting >= limits.frames || (waiting > 0 && queue.bytes + bytes > limits.bytes)) return 'full';
  const own = queue === IN_FLIGHT ? { frames: [], head: 0, bytes: 0 } : queue;
  own.frames.push({ raw, isBinary, bytes });
  own.bytes += bytes;
  record.frameQueue = own;
  return 'queued';
}

/**
 * The frame in flight is done. Returns the next waiting frame, which is now
 * in flight, or undefined when the client has none (it is idle again).
 */
export function endTurn(record: ClientRecord): QueuedFrame | undefined {
  const queue = record.frameQueue;
  if (queue === undefined || queue.head === queue.frames.length) {
    record.frameQueue = undefined;
    return undefined;
  }
  const next = queue.frames[queue.head];
  // Let go of the frame at once; the array is dropped when it has drained.
  (queue.frames as (QueuedFrame | undefined)[])[queue.head++] = undefined;
  queue.bytes -= next.bytes;
  if (queue.head === queue.frames.length) record.frameQueue = IN_FLIGHT;
  return next;
}

/**
 * Ends the frame's turn once its handler has acted: after its first response
 * has gone downstream (and been sent), or when it completes or fails without
 * one. Not only on completion: a handler may answer with a stream that never
 * ends, and must not hold its client's later frames forever.
 */
export function inTurn<T>(done: () => void): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) =>
      source.subscribe({
        next: (value) => {
          subscriber.next(value);
          done();
        },
        error: (err: unknown) => {
          subscriber.error(err);
          done();
        },
        complete: () => {
          subscriber.complete();
          done();
        },
      }),
    );
}

function sizeOf(raw: RawData): number {
  if (Buffer.isBuffer(raw)) return raw.length;
  if (Array.isArray(raw)) return raw.reduce((sum, b) => sum + b.length, 0);
  return raw.byteLength;
}
