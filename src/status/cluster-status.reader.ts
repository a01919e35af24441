import { Inject, Injectable, Optional } from '@nestjs/common';
import { CLUSTER_OPTIONS, ClusterKeys, type ClusterOptions } from '../cluster';
import { RedisConnection } from '../cluster/redis.connection';
import type { ClusterNodeStatus, ClusterStatus } from './interfaces';

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The cluster as the status page shows it: every member of the node set with
 * its lease age (TTL minus the time left) and presence count, in one
 * pipeline. Members whose lease is gone are shown too (lost, not yet reaped).
 * Absent in the in-memory mode (the cluster module provides nothing then).
 */
@Injectable()
export class ClusterStatusReader {
  constructor(
    @Optional() @Inject(CLUSTER_OPTIONS) private readonly options?: ClusterOptions,
    @Optional() private readonly keys?: ClusterKeys,
    @Optional() private readonly connection?: RedisConnection,
  ) {}

  get enabled(): boolean {
    return this.options !== undefined && this.keys !== undefined && this.connection !== undefined;
  }

  /** Null in the in-memory mode. Never rejects: a failure reads as Redis down, with the message. */
  async read(): Promise<ClusterStatus | null> {
    const { options, keys, connection } = this;
    if (!options || !keys || !connection) return null;
    const base = { nodeId: options.nodeId, nodeTtlMs: options.nodeTtlMs };
    if (!connection.up) {
      return { ...base, redis: 'down', message: 'redis unavailable; serving local clients only', nodes: [], clients: null };
    }
    try {
      const redis = connection.commands;
      const members = (await redis.smembers(keys.nodes)).sort();
      const pipeline = redis.pipeline();
      for (const node of members) pipeline.pttl(keys.lease(node)).hlen(keys.clients(node));
      const results = (await pipeline.exec()) ?? [];
      let clients = 0;
      const nodes: ClusterNodeStatus[] = members.map((id, i) => {
        const [ttlErr, ttl] = results[2 * i] ?? [];
        const [lenErr, len] = results[2 * i + 1] ?? [];
        if (ttlErr) throw ttlErr;
        if (lenErr) throw lenErr;
        const remaining = Number(ttl);
        // PTTL: -2 no key (lease lapsed), -1 no expiry (not ours to judge: treat as fresh).
        const leaseAgeMs = remaining === -2 ? null : remaining === -1 ? 0 : Math.max(0, options.nodeTtlMs - remaining);
        if (leaseAgeMs !== null) clients += Number(len);
        return { id, self: id === options.nodeId, leaseAgeMs, clients: Number(len) };
      });
      return { ...base, redis: connection.healthy ? 'up' : 'down', message: null, nodes, clients };
    } catch (err) {
      return { ...base, redis: 'down', message: `cluster view failed: ${errorText(err)}`, nodes: [], clients: null };
    }
  }
}
