import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import { LIFELINE_OPTIONS } from './constants';
import type { ResolvedLifelineOptions } from './interfaces/lifeline-options.interface';
import { admissionOf } from './upgrade/admission';
import type { ClientRecord, ClientResource, Disposer } from './interfaces/client-record.interface';

/** Links a socket to its record without a second map (one property per socket). */
const RECORD = Symbol('lifeline.record');
type LinkedSocket = WebSocket & { [RECORD]?: ClientRecord };

/**
 * The single source of truth of live clients.
 *
 * A client is live from register() until unregister(); only the cleanup
 * pipeline calls unregister(). Lookups are O(1); iteration walks the Map
 * itself, so a sweep never copies the client set.
 */
@Injectable()
export class ClientRegistryService {
  private readonly clients = new Map<string, ClientRecord>();

  constructor(@Inject(LIFELINE_OPTIONS) private readonly options: ResolvedLifelineOptions) {}

  register(socket: WebSocket, request?: IncomingMessage): ClientRecord {
    const existing = this.fromSocket(socket);
    if (existing) {
      if (this.clients.has(existing.id)) return existing;
      // A socket's client lives once; a cleaned-up socket never comes back.
      throw new Error(`socket of client ${existing.id} was already unregistered`);
    }
    const userAgent = request?.headers['user-agent'];
    const record: ClientRecord = {
      id: randomUUID(),
      socket,
      connectedAt: Date.now(),
      remoteAddress: request?.socket.remoteAddress,
      userAgent,
      userId: admissionOf(request)?.userId,
      sessionId: undefined,
      lastPongAt: Number.NaN,
      rttMs: Number.NaN,
      pingSentAt: Number.NaN,
      pingToken: undefined,
      closeCode: undefined,
      errorCode: undefined,
      rateTokens: this.options.rateLimit.burst,
      rateRefilledAt: performance.now(),
      rateStrikes: 0,
      backpressureSince: undefined,
      resources: undefined,
      topicClaims: admissionOf(request)?.topicClaims,
      expiresAt: admissionOf(request)?.expiresAt ?? Number.NaN,
      frameQueue: undefined,
    };
    this.clients.set(record.id, record);
    (socket as LinkedSocket)[RECORD] = record;
    return record;
  }

  /** Removes the client. Idempotent: returns the record the first time only. */
  unregister(id: string): ClientRecord | undefined {
    const record = this.clients.get(id);
    if (!record) return undefined;
    this.clients.delete(id);
    return record;
  }

  get(id: string): ClientRecord | undefined {
    return this.clients.get(id);
  }

  has(id: string): boolean {
    return this.clients.has(id);
  }

  /**
   * The record a socket was registered with. Stays readable after
   * unregister() so late socket events can still find their client.
   */
  fromSocket(socket: WebSocket): ClientRecord | undefined {
    return (socket as LinkedSocket)[RECORD];
  }

  get size(): number {
    return this.clients.size;
  }

  /** Live view for iteration; entries removed during iteration are skipped. */
  values(): IterableIterator<ClientRecord> {
    return this.clients.values();
  }

  /**
   * Ties a resource to a client's lifetime; the cleanup pipeline disposes it
   * when the client goes, last attached first. If the client is already gone,
   * the disposer runs at once (nothing may outlive its client) and the result
   * is false.
   */
  attach(clientId: string, name: string, dispose: Disposer): boolean {
    const record = this.clients.get(clientId);
    if (!record) {
      void Promise.resolve().then(() => dispose()).catch(() => undefined);
      return false;
    }
    this.add(record, { name, dispose });
    return true;
  }

  /**
   * attach() for a resource object shared by every client (its disposer gets
   * the record): nothing is allocated per client but a slot in its list. If
   * the client is already gone, the disposer runs at once and the result is false.
   */
  attachResource(record: ClientRecord, resource: ClientResource): boolean {
    if (this.clients.get(record.id) !== record) {
      void Promise.resolve().then(() => resource.dispose(undefined, record)).catch(() => undefined);
      return false;
    }
    this.add(record, resource);
    return true;
  }

  private add(record: ClientRecord, resource: ClientResource): void {
    const resources = record.resources;
    if (!resources) {
      // A literal of one: push() onto [] would reserve 16 slots, for a client that often holds one resource.
      record.resources = [resource];
      return;
    }
    if (resources.some((r) => r.name === resource.name)) {
      throw new Error(`resource "${resource.name}" is already attached to client ${record.id}`);
    }
    // A client holds a handful (session, presence, topics): concat() copies to the exact
    // size, where push() (or a spread) onto a full array reserves 17 slots (~150 B per client).
    if (resources.length < 8) record.resources = resources.concat(resource);
    else resources.push(resource);
  }

  /** Forgets a resource without running its disposer (the owner released it). */
  detach(clientId: string, name: string): boolean {
    const resources = this.clients.get(clientId)?.resources;
    if (!resources) return false;
    const index = resources.findIndex((r) => r.name === name);
    if (index < 0) return false;
    resources.splice(index, 1);
    return true;
  }

  /** Hands the record's resources to the caller, newest first, and clears them. */
  takeResources(record: ClientRecord): ClientResource[] {
    const resources = record.resources ?? [];
    record.resources = undefined;
    return resources.reverse();
  }
}
