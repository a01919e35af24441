/**
 * Cluster-wide presence, provided by the cluster module when REDIS_URL is
 * set. A token, so the operator API does not depend on cluster internals.
 */
export const CLUSTER_DIRECTORY = Symbol('CLUSTER_DIRECTORY');

export interface ClusterDirectory {
  /** Presence entries of clients on nodes with a live lease. */
  listClients(): Promise<unknown[]>;
}
