/** Defaults of the cluster-mode variables (used only when REDIS_URL is set). */
export const CLUSTER_DEFAULTS = {
  REDIS_KEY_PREFIX: 'lifeline:',
  NODE_TTL_MS: 10_000,
  // NODE_ID: hostname-pid-random, made when the cluster module starts.
} as const;
