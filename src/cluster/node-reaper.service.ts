import { Inject, Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type ClientDisconnectedEvent, LifelineEvents } from '../lifeline';
import { CLUSTER_OPTIONS, ClusterKeys, NODE_REAPED_EVENT, REAP_EMIT_BATCH } from './cluster.constants';
import type { ClusterOptions } from './interfaces/cluster-options.interface';
import { decodePresence, execPipeline } from './presence.service';
import { RedisConnection } from './redis.connection';
import { LifelineLogger } from '../lifeline';

/**
 * Removes a dead node in one atomic step, and only if it is still dead:
 *   KEYS[1] its lease, KEYS[2] its clients hash, KEYS[3] the nodes set,
 *   KEYS[4] its subscriptions hash; ARGV[1] its id.
 * Returns nil if the lease exists again (the node came back), else the
 * removed hash as [id, value, id, value, ...] (empty if another survivor
 * already reaped it).
 */
export const REAP_NODE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local entries = redis.call('HGETALL', KEYS[2])
redis.call('UNLINK', KEYS[2], KEYS[4])
redis.call('SREM', KEYS[3], ARGV[1])
return entries
`;

export interface ReapedNode {
  node: string;
  clients: string[];
}

/**
 * Finds registered nodes whose lease has expired and reaps each on exactly
 * one survivor: a lock (SET NX PX, one lease lifetime) elects the reaper, and
 * the Lua script above removes the node's presence atomically, so even two
 * reapers could not both get its clients. The winner emits
 * `lifeline.client.disconnected` with reason `node_lost` for each client.
 */
@Injectable()
export class NodeReaper {
  private readonly logger = new LifelineLogger('Cluster');

  constructor(
    @Inject(CLUSTER_OPTIONS) private readonly options: ClusterOptions,
    private readonly keys: ClusterKeys,
    private readonly connection: RedisConnection,
    private readonly events: EventEmitter2,
  ) {}

  /** Other registered nodes without a lease. */
  async deadNodes(): Promise<string[]> {
    const redis = this.connection.lease;
    const others = (await redis.smembers(this.keys.nodes)).filter((node) => node !== this.options.nodeId);
    if (others.length === 0) return [];
    const pipeline = redis.pipeline();
    for (const node of others) pipeline.exists(this.keys.lease(node));
    const results = await execPipeline(pipeline);
    return others.filter((_, i) => results[i] === 0);
  }

  /** Reaps every dead node this survivor wins the lock for; returns what it reaped. */
  async reapDeadNodes(): Promise<ReapedNode[]> {
    const reaped: ReapedNode[] = [];
    for (const node of await this.deadNodes()) {
      const result = await this.reap(node);
      if (result) reaped.push(result);
    }
    return reaped;
  }

  /** Takes the node's lock and reaps it; undefined if another survivor has the lock or the node is back. */
  async reap(node: string): Promise<ReapedNode | undefined> {
    if (node === this.options.nodeId) return undefined;
    const redis = this.connection.lease;
    const locked = await redis.set(this.keys.reapLock(node), this.options.nodeId, 'PX', this.options.nodeTtlMs, 'NX');
    if (locked !== 'OK') return undefined;
    const reply = await redis.eval(
      REAP_NODE_LUA,
      4,
      this.keys.lease(node),
      this.keys.clients(node),
      this.keys.nodes,
      this.keys.subscriptions(node),
      node,
    );
    if (!Array.isArray(reply)) return undefined; // its lease is back
    const flat = reply.map(String);
    const clients: string[] = [];
    const now = Date.now();
    const started = performance.now();
    for (let i = 0; i < flat.length; i += 2) {
      const view = decodePresence(flat[i], node, flat[i + 1]);
      clients.push(view.id);
      const event: ClientDisconnectedEvent = {
        clientId: view.id,
        reason: 'node_lost',
        durationMs: view.connectedAt > 0 ? Math.max(0, now - view.connectedAt) : 0,
      };
      this.logger.log({ msg: 'client disconnected', clientId: view.id, reason: 'node_lost', durationMs: event.durationMs, node });
      this.emit(event);
      // Tens of thousands of events must not hold the event loop in one go.
      if (clients.length % REAP_EMIT_BATCH === 0) await nextTurn();
    }
    this.logger.warn({
      msg: 'node lost',
      node,
      clients: clients.length,
      reaper: this.options.nodeId,
      emitMs: Math.round(performance.now() - started),
    });
    // Its sessions start their TTL (ClusterStores).
    this.events.emitAsync(NODE_REAPED_EVENT, { node }).catch(() => undefined);
    return { node, clients };
  }

  /** One listener failing must not stop the others' events; listeners may be async. */
  private emit(event: ClientDisconnectedEvent): void {
    try {
      this.events.emitAsync(LifelineEvents.disconnected, event).catch((err: unknown) => this.listenerFailed(event, err));
    } catch (err) {
      this.listenerFailed(event, err);
    }
  }

  private listenerFailed(event: ClientDisconnectedEvent, err: unknown): void {
    this.logger.error({
      msg: 'node_lost listener failed',
      clientId: event.clientId,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
