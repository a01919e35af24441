import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { ClockColumn } from './clock-column';
import { CLOCK_FIELDS, RegisteredClient } from './client-record';
import { peerAddress } from './peer-address';
import { admissionOf } from './upgrade/admission';
import type { ClientRecord, ClientResource, Disposer } from './interfaces/client-record.interface';

/** Links a socket to its record without a second map (one property per socket). */
const RECORD = Symbol('lifeline.record');
type LinkedSocket = WebSocket & { [RECORD]?: ClientRecord };

/** The key of interned lists of one resource. */
const NO_RESOURCES: readonly ClientResource[] = Object.freeze([]);
/**
 * Distinct shared resources (and, separately, continuations of one list)
 * interned at most: services attach a handful, each one object for every
 * client; past this a caller is making a resource per client, whose lists
 * are not worth sharing.
 */
const MAX_INTERNED = 64;

/**
 * The single source of truth of live clients.
 *
 * A client is live from register() until unregister(); only the cleanup
 * pipeline calls unregister(). Lookups are O(1); iteration walks the Map
 * itself, so a sweep never copies the client set.
 */
@Injectable()
export class ClientRegistryService {
  private readonly clients = new Map<string, RegisteredClient>();
  /** Every client's clock fields (RegisteredClient), off the V8 heap. */
  private readonly clocks = new ClockColumn(CLOCK_FIELDS);
  /**
   * Resource lists made only of shared resources (attachResource), one per
   * sequence, used by every client that attached that sequence: a client with
   * a session and a presence membership points at the same two-element list
   * as all the others (no array of its own, ~64 B). Keyed by the list it
   * extends (NO_RESOURCES for the first): list → resource → longer list.
   * Interned lists are never changed in place (detach and takeResources copy).
   */
  private readonly interned = new WeakMap<readonly ClientResource[], Map<ClientResource, readonly ClientResource[]>>();
  private readonly internedLists = new WeakSet<readonly ClientResource[]>();

  register(socket: WebSocket, request?: IncomingMessage): ClientRecord {
    const existing = this.fromSocket(socket);
    if (existing) {
      if (this.clients.has(existing.id)) return existing;
      // A socket's client lives once; a cleaned-up socket never comes back.
      throw new Error(`socket of client ${existing.id} was already unregistered`);
    }
    const admission = admissionOf(request);
    const record = new RegisteredClient(
      randomUUID(),
      socket,
      peerAddress(request?.socket),
      request?.headers['user-agent'],
      admission?.userId,
      admission?.topicClaims,
      admission?.expiresAt ?? Number.NaN,
      this.clocks,
    );
    this.clients.set(record.id, record);
    (socket as LinkedSocket)[RECORD] = record;
    return record;
  }

  /** Removes the client. Idempotent: returns the record the first time only. */
  unregister(id: string): ClientRecord | undefined {
    const record = this.clients.get(id);
    if (!record) return undefined;
    this.clients.delete(id);
    // The record stays readable (late socket events, the cleanup steps) on a copy of its clocks.
    this.clocks.give(record);
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
    this.add(record, { name, dispose }, false);
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
    this.add(record, resource, true);
    return true;
  }

  private add(record: ClientRecord, resource: ClientResource, shared: boolean): void {
    const resources = record.resources;
    if (resources?.some((r) => r.name === resource.name)) {
      throw new Error(`resource "${resource.name}" is already attached to client ${record.id}`);
    }
    if (shared && (resources === undefined || this.internedLists.has(resources))) {
      const next = this.internedAfter(resources ?? NO_RESOURCES, resource);
      if (next) {
        record.resources = next;
        return;
      }
    }
    // A literal of one: push() onto [] would reserve 16 slots, for a client that often holds one resource.
    if (!resources) record.resources = [resource];
    // A client holds a handful (session, presence, topics): concat() copies to the exact
    // size, where push() (or a spread) onto a full array reserves 17 slots (~150 B per client).
    else if (resources.length < 8 || this.internedLists.has(resources)) record.resources = resources.concat(resource);
    else (resources as ClientResource[]).push(resource);
  }

  /** The interned list `list` + `resource`, made on first use; undefined past MAX_INTERNED. */
  private internedAfter(list: readonly ClientResource[], resource: ClientResource): readonly ClientResource[] | undefined {
    let next = this.interned.get(list);
    const found = next?.get(resource);
    if (found) return found;
    if (!next) {
      next = new Map();
      this.interned.set(list, next);
    }
    if (next.size >= MAX_INTERNED) return undefined;
    const longer = Object.freeze(list.concat(resource));
    next.set(resource, longer);
    this.internedLists.add(longer);
    return longer;
  }

  /** Forgets a resource without running its disposer (the owner released it). */
  detach(clientId: string, name: string): boolean {
    const record = this.clients.get(clientId);
    const resources = record?.resources;
    if (!record || !resources) return false;
    const index = resources.findIndex((r) => r.name === name);
    if (index < 0) return false;
    if (this.internedLists.has(resources)) record.resources = resources.filter((_, i) => i !== index);
    else (resources as ClientResource[]).splice(index, 1);
    return true;
  }

  /** Hands the record's resources to the caller, newest first, and clears them. */
  takeResources(record: ClientRecord): ClientResource[] {
    const resources = record.resources ?? [];
    record.resources = undefined;
    // An interned list is other clients' too: reversed as a copy.
    return this.internedLists.has(resources) ? resources.slice().reverse() : (resources as ClientResource[]).reverse();
  }
}
