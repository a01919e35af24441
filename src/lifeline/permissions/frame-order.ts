import { type MonoTypeOperatorFunction, Observable } from 'rxjs';
import type { RawData } from 'ws';
import type { ClientRecord, QueuedFrame } from '../interfaces/client-record.interface';
import { MAX_WAITING_FRAMES } from './constants';

/** In flight, nothing waiting: one shared empty array, never written to. */
const IN_FLIGHT: QueuedFrame[] = [];

/** `now`: handle it; `queued`: it waits for the frame in flight; `full`: refuse it. */
export type Turn = 'now' | 'queued' | 'full';

/**
 * A client's frames are handled one at a time, in the order they arrived.
 *
 * Most frames finish within the turn they arrive in, but a permission check
 * may wait on an async TopicPolicy (a database lookup). Without an order, a
 * `subscribe` waiting on its check and an `unsubscribe` sent after it would
 * run the wrong way round, and a `publish` sent after a `subscribe` would
 * miss the sender. So a frame arriving while an earlier one of the same
 * client is in flight waits behind it; other clients are never held. What
 * waits is bounded: MAX_WAITING_FRAMES frames and `maxBytes` bytes (one frame
 * always fits), beyond which a frame is refused, and the policy's own
 * timeout bounds how long.
 *
 * The state is one field on the record (`frameQueue`): no allocation for a
 * client whose frames do not overlap.
 */
export function takeTurn(record: ClientRecord, raw: RawData, isBinary: boolean, maxBytes: number): Turn {
  const queue = record.frameQueue;
  if (queue === undefined) {
    record.frameQueue = IN_FLIGHT;
    return 'now';
  }
  const bytes = sizeOf(raw);
  if (queue.length >= MAX_WAITING_FRAMES) return 'full';
  if (queue.length > 0 && queue.reduce((sum, f) => sum + f.bytes, bytes) > maxBytes) return 'full';
  const waiting = queue === IN_FLIGHT ? [] : queue;
  waiting.push({ raw, isBinary, bytes });
  record.frameQueue = waiting;
  return 'queued';
}

/**
 * The frame in flight is done. Returns the next waiting frame, which is now
 * in flight, or undefined when the client has none (it is idle again).
 */
export function endTurn(record: ClientRecord): QueuedFrame | undefined {
  const queue = record.frameQueue;
  if (queue === undefined || queue.length === 0) {
    record.frameQueue = undefined;
    return undefined;
  }
  const next = queue.shift();
  if (queue.length === 0) record.frameQueue = IN_FLIGHT;
  return next;
}

function sizeOf(raw: RawData): number {
  if (Buffer.isBuffer(raw)) return raw.length;
  if (Array.isArray(raw)) return raw.reduce((sum, b) => sum + b.length, 0);
  return raw.byteLength;
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
