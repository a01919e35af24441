/** Cluster-mode settings, resolved from the environment (see clusterOptionsFromEnv). */
export interface ClusterOptions {
  /** redis:// or rediss:// URL. */
  redisUrl: string;
  /** This node's id; unique in the cluster. */
  nodeId: string;
  /** Prepended to every key and channel. */
  keyPrefix: string;
  /** Lease lifetime: a node that stops renewing is lost after this long. */
  nodeTtlMs: number;
  /** Lease renewal and dead-node check period: nodeTtlMs / 3. */
  refreshMs: number;
}

/** ClusterModule.forRoot(options): what a host app gives instead of environment variables. */
export interface ClusterModuleOptions {
  redisUrl: string;
  /** Default: hostname-pid-random. */
  nodeId?: string;
  /** Default `lifeline:`. */
  keyPrefix?: string;
  /** Default 10000; at least 300. */
  nodeTtlMs?: number;
}
