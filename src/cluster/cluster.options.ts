import type { ConfigService } from '@nestjs/config';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Env } from '../config/env.validation';
import { CLUSTER_DEFAULTS } from './cluster.defaults';
import type { ClusterModuleOptions, ClusterOptions } from './interfaces/cluster-options.interface';

/** hostname-pid-random, reduced to the characters NODE_ID allows. */
export function defaultNodeId(host = hostname(), pid = process.pid): string {
  const safeHost = host.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 96) || 'node';
  return `${safeHost}-${pid}-${randomBytes(4).toString('hex')}`;
}

/** Maps the validated environment onto ClusterOptions; REDIS_URL must be set. */
export function clusterOptionsFromEnv(config: ConfigService<Env, true>): ClusterOptions {
  const redisUrl = config.get('REDIS_URL', { infer: true });
  if (!redisUrl) throw new Error('cluster mode needs REDIS_URL');
  const nodeTtlMs = config.get('NODE_TTL_MS', { infer: true }) ?? CLUSTER_DEFAULTS.NODE_TTL_MS;
  return {
    redisUrl,
    nodeId: config.get('NODE_ID', { infer: true }) ?? defaultNodeId(),
    keyPrefix: config.get('REDIS_KEY_PREFIX', { infer: true }) ?? CLUSTER_DEFAULTS.REDIS_KEY_PREFIX,
    nodeTtlMs,
    refreshMs: Math.max(1, Math.floor(nodeTtlMs / 3)),
  };
}

/** Applies the defaults of the cluster variables; throws naming the option. */
export function resolveClusterOptions(options: ClusterModuleOptions): ClusterOptions {
  const nodeTtlMs = options.nodeTtlMs ?? CLUSTER_DEFAULTS.NODE_TTL_MS;
  if (!/^rediss?:\/\/[^/]/.test(options.redisUrl)) {
    throw new Error('ClusterModule: redisUrl must be a redis:// or rediss:// URL with a host');
  }
  if (!Number.isInteger(nodeTtlMs) || nodeTtlMs < 300) {
    throw new Error(`ClusterModule: nodeTtlMs must be a whole number of at least 300 (got ${String(nodeTtlMs)})`);
  }
  return {
    redisUrl: options.redisUrl,
    nodeId: options.nodeId ?? defaultNodeId(),
    keyPrefix: options.keyPrefix ?? CLUSTER_DEFAULTS.REDIS_KEY_PREFIX,
    nodeTtlMs,
    refreshMs: Math.max(1, Math.floor(nodeTtlMs / 3)),
  };
}

/** The URL without its password, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis://?';
  }
}
