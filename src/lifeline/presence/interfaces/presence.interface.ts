/** A member as clients and the operator API see it. */
export interface PresenceMember {
  /** The user, or null for an anonymous connection (then `clientId` names it). */
  userId: string | null;
  clientId?: string;
  /** Epoch ms the member came online (user level) or joined the topic. */
  since: number;
}

/** `presence` in the `subscribed` reply, and GET /topics/:topic/presence without the topic. */
export interface PresenceSnapshot {
  members: PresenceMember[];
  count: number;
}

/** GET /presence/users/:userId. */
export interface UserPresence {
  userId: string;
  online: boolean;
  /** Live connections cluster-wide (nodes with a live lease only). */
  connections: number;
  /** Ids of the nodes holding them. */
  nodes: string[];
  /** Epoch ms online since; null while offline. */
  since: number | null;
}

/** `lifeline.presence.online`. */
export interface PresenceOnlineEvent {
  userId: string | null;
  /** Anonymous members only. */
  clientId?: string;
  since: number;
}

/** `lifeline.presence.offline`. */
export interface PresenceOfflineEvent {
  userId: string | null;
  clientId?: string;
  /** The reason of the member's last disconnect (`node_lost` when its node died). */
  reason: string;
  onlineForMs: number;
}

/** `lifeline.presence.diffs-sent`: one per batch flush on this node. */
export interface PresenceDiffsSentEvent {
  frames: number;
}

/** `lifeline.presence.watched`: a connection's first `presence: true` subscribe of a topic. */
export interface PresenceWatchedEvent {
  clientId: string;
  topic: string;
}

export interface PresenceOptions {
  /** How long a member stays after its last connection is gone. Default 5000. */
  graceMs: number;
  /** At most one diff frame per topic per this many ms. Default 1000. */
  batchMs: number;
}
