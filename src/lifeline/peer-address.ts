import type { Socket } from 'node:net';

/**
 * Distinct addresses kept for sharing. Behind a load balancer or a NAT most
 * clients share a handful of addresses; past this many, the table starts over
 * (a fresh copy of a string is the cost, never a wrong answer).
 */
const MAX_SHARED = 1024;
const shared = new Map<string, string>();

/** Node's per-socket cache of getpeername(): `{ address, family, port }`. */
type PeerCache = Socket & { _peername?: unknown };

/**
 * The client's address, read once at connect, for a record that lives as long
 * as the connection.
 *
 * - The string is shared with every other client from the same address
 *   (32 B each otherwise).
 * - Node caches the whole getpeername() answer on the socket (56 B per
 *   connection, kept until the socket is collected) although Lifeline never
 *   asks again; the cache is dropped, and a later `remoteAddress` read simply
 *   asks the kernel again. `_peername` is Node's own field (net.js); the spec
 *   fails if Node renames it, and then this only stops saving memory.
 */
export function peerAddress(socket: Socket | undefined): string | undefined {
  if (!socket) return undefined;
  const fresh = socket.remoteAddress;
  if ((socket as PeerCache)._peername !== undefined) (socket as PeerCache)._peername = undefined;
  if (fresh === undefined) return undefined;
  const known = shared.get(fresh);
  if (known !== undefined) return known;
  if (shared.size >= MAX_SHARED) shared.clear();
  shared.set(fresh, fresh);
  return fresh;
}
