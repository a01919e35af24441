/** One client as the cluster sees it (GET /clients?scope=cluster). */
export interface ClusterClientView {
  id: string;
  /** Id of the node holding the client's connection. */
  node: string;
  /** The authenticated user (the registry's userId), or null for an anonymous client. */
  userId: string | null;
  /** Epoch milliseconds. */
  connectedAt: number;
  /** Topics the client is subscribed to, in subscription order. */
  subscriptions: string[];
}

/** The cluster at a glance: nodes with a live lease and the clients they hold. */
export interface ClusterView {
  nodes: number;
  clients: number;
}

/** A frame for sendTo: an `{ event, data }` object, or text sent as it is. */
export type OutboundFrame = string | { event: string; data?: unknown };
