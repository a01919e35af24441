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
    if (!record.resources) {
      // A literal of one: push() onto [] would reserve 16 slots, for a client that often holds one resource.
      record.resources = [{ name, dispose }];
      return true;
    }
    if (record.resources.some((r) => r.name === name)) {
      throw new Error(`resource "${name}" is already attached to client ${clientId}`);
    }
    record.resources.push({ name, dispose });
    return true;
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
