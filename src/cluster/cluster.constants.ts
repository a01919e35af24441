/** Resolved ClusterOptions. */
export const CLUSTER_OPTIONS = Symbol('CLUSTER_OPTIONS');

/** Name of the presence resource attached to every client (ClientRegistryService.attach). */
export const PRESENCE_RESOURCE = 'presence';

/** Emitted by the reaper once a dead node is reaped ({ node }): its sessions start their TTL. */
export const NODE_REAPED_EVENT = 'lifeline.cluster.node-reaped';

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
 *   <p>topic:<t>:meta        HASH {e: epoch, s: last offset}; PX = history retention
 *   <p>topic:<t>:log         STREAM of the latest messages, ID <offset>-0, {t: ms, f: frame}
 *   <p>session:<sid>         HASH token hashes, user, holder (client, node), expiry, t:<topic>, i:<publish id>
 *   <p>session:<sid>:ids     LIST of the session's publish ids, oldest first (bounded)
 *   <p>node:<id>:sessions    SET of the sessions held by that node's connections
 *   <p>node:<id>:evict       channel: a resume elsewhere took a session from this client id
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

  topicMeta(topic: string): string {
    return `${this.prefix}topic:${topic}:meta`;
  }

  topicLog(topic: string): string {
    return `${this.prefix}topic:${topic}:log`;
  }

  session(id: string): string {
    return `${this.prefix}session:${id}`;
  }

  sessionIds(id: string): string {
    return `${this.prefix}session:${id}:ids`;
  }

  nodeSessions(node: string): string {
    return `${this.prefix}node:${node}:sessions`;
  }

  evict(node: string): string {
    return `${this.prefix}node:${node}:evict`;
  }
}
