import type { ClientConnectedEvent, ClientDisconnectedEvent } from '../../lifeline/lifeline.events';

/** Command (request/reply) and event patterns Lifeline listens to, before any prefix. */
export const LifelinePatterns = {
  publish: 'lifeline.publish',
  send: 'lifeline.send',
  kick: 'lifeline.kick',
  clients: 'lifeline.clients',
  presence: 'lifeline.presence',
  /** @EventPattern: a publish without a reply (fire and forget). */
  publishEvent: 'lifeline.publish.event',
} as const;

/** Events Lifeline emits on the transport (the same names as its in-process events). */
export const LifelineTransportEvents = {
  connected: 'lifeline.client.connected',
  disconnected: 'lifeline.client.disconnected',
  /** Presence transitions, once per transition cluster-wide. */
  presenceOnline: 'lifeline.presence.online',
  presenceOffline: 'lifeline.presence.offline',
} as const;

export type LifelineTransportEventName = (typeof LifelineTransportEvents)[keyof typeof LifelineTransportEvents];

export type TransportConnectedEvent = ClientConnectedEvent;
export type TransportDisconnectedEvent = ClientDisconnectedEvent;

export interface PublishCommand {
  topic: string;
  data?: unknown;
}

/**
 * `recipients`: subscribers on the node that took the command (other nodes
 * deliver through the cluster bus); `epoch` and `offset`: the message's
 * position in the topic's history (what a resuming client asks from).
 */
export interface PublishResult {
  topic: string;
  recipients: number;
  epoch: string;
  offset: number;
}

/** A frame `{"event": event, "data": data}` to one client, or to every connection of a user. */
export type SendCommand = ({ clientId: string; userId?: never } | { userId: string; clientId?: never }) & {
  /** The frame's event name; default `direct`. */
  event?: string;
  data?: unknown;
};

export interface SendResult {
  /** Connections the frame was sent to (0 for a user without connections). */
  recipients: number;
}

export interface KickCommand {
  clientId: string;
}

export interface KickResult {
  id: string;
  kicked: true;
}

export interface ClientsQuery {
  limit?: number;
  offset?: number;
  /** `cluster` needs cluster mode (REDIS_URL). */
  scope?: 'local' | 'cluster';
  /** Only this user's connections. */
  userId?: string;
}

export interface TransportClientView {
  id: string;
  userId: string | null;
  connectedAt: string;
  subscriptions: string[];
  node?: string;
}

export interface ClientsPage {
  items: TransportClientView[];
  total: number;
  limit: number;
  offset: number;
  scope: 'local' | 'cluster';
}

/** `lifeline.presence`: exactly one of a user, up to 1,000 users, or a topic. */
export type PresenceQuery = { userId: string } | { userIds: string[] } | { topic: string };

/** A user's presence, cluster-wide in cluster mode (the HTTP API's `GET /presence/users/:userId`). */
export interface UserPresenceResult {
  userId: string;
  online: boolean;
  connections: number;
  nodes: string[];
  /** Epoch ms online since; null while offline. */
  since: number | null;
}

/** Which of the asked users are online. */
export interface UsersPresenceResult {
  online: string[];
  offline: string[];
}

/** A topic's presence members (those who subscribed with `presence: true`). */
export interface TopicPresenceResult {
  topic: string;
  /** `userId` null for an anonymous connection (then `clientId` names it). */
  members: { userId: string | null; clientId?: string; since: number }[];
  count: number;
}

export type PresenceResult = UserPresenceResult | UsersPresenceResult | TopicPresenceResult;

/** What a refused command errors with (the HTTP API's error shape). */
export interface TransportError {
  statusCode: number;
  error: string;
  message: string;
}
