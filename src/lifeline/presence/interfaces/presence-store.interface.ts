import type { DisconnectReason } from '../../interfaces/disconnect-reason';

/**
 * A scope of presence: '' is the user level (online / offline), any other
 * value is a topic (topics are never empty). Members are keyed by
 * memberKey(): `u:<userId>` or `c:<clientId>` for an anonymous connection.
 */
export type PresenceScope = string;

/** Why a member's connection left a scope: a disconnect reason, or an explicit unsubscribe. */
export type PresenceLeaveReason = DisconnectReason | 'unsubscribed';

/** One change a node asks the store to make for one of its connections. */
export interface PresenceOp {
  /** true: the connection is in the scope now; false: it left it. */
  add: boolean;
  scope: PresenceScope;
  member: string;
  clientId: string;
  /** For a leave: kept with the member while its grace runs, reported by the offline event. */
  reason?: PresenceLeaveReason;
  /** For a leave: no grace (an explicit unsubscribe); the member leaves at once if it was its last connection. */
  immediate?: boolean;
}

/** A user-level transition, made once cluster-wide by the store call that returned it. */
export interface UserTransition {
  to: 'online' | 'offline';
  member: string;
  /** Epoch ms the member came online. */
  since: number;
  /** Epoch ms of the transition (the store's clock). */
  at: number;
  /** Offline only: the reason of the member's last disconnect. */
  reason?: string;
}

/** A topic member joined or left; every node hears each change once. */
export interface TopicChange {
  topic: string;
  join: boolean;
  member: string;
  since: number;
}

/** What a node knows of its own connections: the store rebuilds its share from this after an outage. */
export interface LocalPresenceEntry {
  clientId: string;
  member: string;
  /** '' (user level) and the topics the connection watches. */
  scopes: Iterable<PresenceScope>;
}

/** The side of PresenceService a store talks to. */
export interface PresenceStoreHost {
  localEntries(): Iterable<LocalPresenceEntry>;
  onTopicChange(change: TopicChange): void;
  /** The store's state was rebuilt (Redis lost it): changes may have been missed, read members again. */
  onStoreReset(): void;
}

/** A member as the store holds it. */
export interface StoredMember {
  member: string;
  since: number;
  /** Live connections (on nodes with a live lease), by node. */
  nodes: Record<string, number>;
  /** Epoch ms the grace ends, if the member has no live connection left. */
  leavingAt: number | undefined;
}

/**
 * Where presence lives: in this process (MemoryPresenceStore) or in Redis
 * for a cluster (RedisPresenceStore, src/cluster). One interface, chosen at
 * module init; PresenceService does everything else (local bookkeeping,
 * grace ticks, batching, frames, events) the same way for both.
 *
 * Every transition (a member coming online or joining a topic, going offline
 * or leaving) happens once, cluster-wide, inside one atomic store step; the
 * call that made a user-level transition returns it, and topic changes are
 * handed to every node's host.onTopicChange.
 */
export interface PresenceStore {
  readonly nodeId: string;
  /** How often tick() should run; default: a tenth of the grace, 10 to 250 ms. */
  readonly tickMs?: number;
  bind(host: PresenceStoreHost): void;
  /** Applies this node's changes in order; returns the user-level transitions they made. */
  apply(ops: PresenceOp[]): Promise<UserTransition[]>;
  /**
   * Periodic work: members whose grace ended go (returned as offline
   * transitions), and in a cluster, dead nodes' connections are removed and
   * this node's share is rewritten if it was lost.
   */
  tick(): Promise<UserTransition[]>;
  /** Members of a scope, those in their grace period included. */
  members(scope: PresenceScope): Promise<StoredMember[]>;
  member(scope: PresenceScope, member: string): Promise<StoredMember | undefined>;
  /** For each member key, whether it is online at the user level. */
  online(members: string[]): Promise<boolean[]>;
  /** Members online at the user level (grace included). */
  userCount(): Promise<number>;
}
