import { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/**
 * The heartbeat's one seam into `ws` internals, pinned to the ws minor by
 * ws-ping.spec.ts (which fails loudly when ws changes what this relies on).
 *
 * Why: a server-side `socket.ping(payload)` goes out as two writes (ws's
 * header, then the payload) corked into a writev, and allocates per ping an
 * options object, the header, the frame list, Node's buffered-write entries,
 * the writev's chunk array and its callback closure: with 19,000 clients
 * about half of everything the server allocated while idle (sampling heap
 * profiler, bench/tools/sweep-delay.js --alloc), twice what a payload-less
 * ping of plain ws costs, and the scavenges that followed set the event-loop
 * delay's max. A sweep pings everyone with the same payload, so the whole
 * frame is built once per sweep and written as one buffer to each socket.
 *
 * Only when ws would have written at once itself: its sender is idle (no
 * compression or Blob read queued, so no frame can be overtaken) and the TCP
 * socket is writable. Otherwise, and whenever the internals are not what this
 * expects, the public `ping()` is used.
 */

/** ws's Sender states (lib/sender.js): DEFAULT means nothing is queued. */
export const WS_SENDER_DEFAULT = 0;

/** The ws minor this seam was checked against. */
export const WS_SEAM_PIN = '8.23';

interface WsInternals {
  _sender?: { _state?: unknown };
  _socket?: unknown;
}

/** An unmasked ping frame (server to client, RFC 6455 5.5.2) carrying `payload` (at most 125 bytes). */
export function pingFrame(payload: Buffer): Buffer {
  if (payload.length > 125) throw new RangeError('a ping payload is at most 125 bytes');
  const frame = Buffer.allocUnsafeSlow(2 + payload.length);
  frame[0] = 0x89; // FIN + opcode 0x9
  frame[1] = payload.length;
  payload.copy(frame, 2);
  return frame;
}

/**
 * Sends `frame` (built by pingFrame from `payload`) to an OPEN socket: one
 * write of the shared bytes when ws's sender is idle, ws's own ping otherwise.
 * Returns true when the raw path was taken.
 */
export function sendPing(socket: WebSocket, frame: Buffer, payload: Buffer): boolean {
  const internals = socket as unknown as WsInternals;
  const tcp = internals._socket;
  if (internals._sender?._state === WS_SENDER_DEFAULT && tcp instanceof Socket && tcp.writable) {
    tcp.write(frame);
    return true;
  }
  socket.ping(payload);
  return false;
}
