/** Resolved ClusterOptions. */
export const CLUSTER_OPTIONS = Symbol('CLUSTER_OPTIONS');

/** Name of the presence resource attached to every client (ClientRegistryService.attach). */
export const PRESENCE_RESOURCE = 'presence';

/** Fields written per HSET when a node (re)writes its whole presence. */
export const PRESENCE_WRITE_CHUNK = 1000;

/** node_lost events emitted per event-loop turn when a dead node's clients are reaped. */
export const REAP_EMIT_BATCH = 500;

/**
 * Every Redis key and channel of one cluster. All start with the prefix, so
 * tests (and several clusters on one Redis) stay apart.
 *
 *   <p>nodes                 SET of node ids that registered (live or not yet reaped)
 *   <p>node:<id>:lease       STRING, PX = NODE_TTL_MS, renewed every TTL/3; gone = node lost
 *   <p>node:<id>:clients     HASH client id -> {"connectedAt","userId"}
 *   <p>node:<id>:subscriptions  HASH "<client id> <topic>" -> "1": one field per subscription, so a
 *                            (un)subscribe writes one field, never the client's whole entry
 *   <p>node:<id>:reaping     STRING (SET NX PX): the survivor that reaps a dead node
 *   <p>topics                channel: publishes, "<json [origin, topic]>\n<frame>"
 *   <p>node:<id>:inbox       channel: frames for one client of that node, "<clientId>\n<frame>"
 */
export class ClusterKeys {
  readonly nodes: string;
  readonly topics: string;

  constructor(readonly prefix: string) {
    this.nodes = `${prefix}nodes`;
    this.topics = `${prefix}topics`;
  }

  lease(node: string): string {
    return `${this.prefix}node:${node}:lease`;
  }

  clients(node: string): string {
    return `${this.prefix}node:${node}:clients`;
  }

  subscriptions(node: string): string {
    return `${this.prefix}node:${node}:subscriptions`;
  }

  reapLock(node: string): string {
    return `${this.prefix}node:${node}:reaping`;
  }

  inbox(node: string): string {
    return `${this.prefix}node:${node}:inbox`;
  }
}
