import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * Reads every upgraded socket into one shared buffer, then copies what was
 * read into a pooled Buffer and pushes it on: the Readable path ws listens to
 * is unchanged, only where the bytes first land differs.
 *
 * Why: by default each socket read allocates a 64 KB backing store, shrinks
 * it to the bytes read and wraps it in a fresh ArrayBuffer. At 19,000 pongs a
 * second that is 19,000 mallocs and as many ArrayBuffers for the scavenger to
 * find and V8's ArrayBuffer sweeper to free, all on the one core the server
 * gets: the longest event-loop pauses while sweeping were those sweeps. A
 * 6-byte pong copied into Node's 8 KB Buffer pool makes one ArrayBuffer per
 * ~1,300 reads instead.
 *
 * Node offers this only to sockets it creates (`net.Socket({ onread })`), not
 * to the ones an HTTP server accepts, so this reads what Node does not export:
 * the socket's `kBuffer`/`kBufferCb`/`kBufferGen` slots (own symbol-keyed
 * properties of every net.Socket, null unless `onread` was given) and the
 * stream handle's `useUserBuffer`. Pinned to the Node major below: on any
 * other Node, or when a shape is not found, `adopt` answers false and the
 * socket keeps Node's default path, so a Node upgrade can cost speed but never
 * correctness. `shared-read-buffer.spec.ts` fails loudly when Node moves.
 */
export const NODE_SEAM_PIN = '20';

/** Node's own read size (libuv suggests 64 KB): a read never sees less room than by default. */
const READ_BUFFER_BYTES = 64 * 1024;

interface ReadSlots {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

/** The three symbols, found by their descriptions on a throwaway socket. */
function findSlots(): ReadSlots | undefined {
  const names = new Map(Object.getOwnPropertySymbols(new Socket()).map((s) => [s.description, s]));
  const buffer = names.get('kBuffer');
  const callback = names.get('kBufferCb');
  const generator = names.get('kBufferGen');
  return buffer && callback && generator ? { buffer, callback, generator } : undefined;
}

/** Node's major version. */
export function nodeMajor(): string {
  return process.versions.node.split('.')[0];
}

const slots = nodeMajor() === NODE_SEAM_PIN ? findSlots() : undefined;

/**
 * One buffer for every socket: libuv reads one socket at a time on this
 * thread and hands the bytes to `pushCopy` before the next read, and the C++
 * side keeps only a raw pointer to it, so it must live as long as the process
 * (it does: module scope).
 */
const shared = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);

/** What the handle calls with each read; `this` is the socket. */
function pushCopy(this: Socket, bytes: number, buffer: Buffer): boolean {
  // Under 4 KB allocUnsafe slices Node's shared pool: no new backing store.
  const chunk = Buffer.allocUnsafe(bytes);
  buffer.copy(chunk, 0, 0, bytes);
  // false stops the handle reading, as the default path does on backpressure.
  return this.push(chunk);
}

type SlotSocket = Socket & Record<symbol, unknown> & { _handle?: { useUserBuffer?: (b: Buffer) => void } | null };

/** Whether this Node offers the seam at all. */
export function sharedReadBufferAvailable(): boolean {
  return slots !== undefined;
}

/**
 * Moves an upgraded plain-TCP socket onto the shared read buffer. False (and
 * nothing changed) for TLS sockets, sockets without a live stream handle, a
 * socket already given its own `onread`, or an unpinned Node.
 */
export function adoptSharedReadBuffer(duplex: Duplex): boolean {
  if (!slots || !(duplex instanceof Socket) || 'encrypted' in duplex) return false;
  const socket = duplex as SlotSocket;
  const handle = socket._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function' || socket.destroyed) return false;
  if (socket[slots.buffer] !== null || socket[slots.callback] !== null || socket[slots.generator] !== null) return false;
  socket[slots.buffer] = shared;
  socket[slots.callback] = pushCopy;
  handle.useUserBuffer(shared);
  return true;
}

/** Whether a socket reads into the shared buffer (for diagnostics and tests). */
export function usesSharedReadBuffer(duplex: Duplex): boolean {
  return slots !== undefined && (duplex as SlotSocket)[slots.buffer] === shared;
}
