/**
 * The wire protocol as the SDK sees it: JSON text frames `{ event, data }`.
 * Only what the client reads or writes; field names follow the server's
 * contract exactly (README "WebSocket protocol", sessions/resume contract).
 */

export interface HeartbeatSettings {
  intervalMs: number;
  timeoutMs: number;
}

export interface SessionInfo {
  id: string;
  token: string;
  ttlMs: number;
}

export interface WelcomeData {
  clientId: string;
  heartbeat: HeartbeatSettings;
  /** Absent when the server keeps no sessions (older servers, SESSION_TTL_MS=0). */
  session?: SessionInfo;
}

export interface Position {
  epoch: string;
  offset: number;
}

export interface MessageData {
  topic: string;
  data: unknown;
  epoch?: string;
  offset?: number;
}

export interface SubscribedData {
  topic: string;
  epoch?: string;
  offset?: number;
  /** Subscribed with `presence: true`: the topic's members now. */
  presence?: PresenceSnapshot;
}

/** A member of a topic's presence: a user, or an anonymous connection (`userId: null`, its session's `clientId`). */
export interface PresenceMember {
  userId: string | null;
  clientId?: string;
  /** Epoch ms the member joined the topic (server clock). */
  since: number;
}

/** A leave names the member only. */
export type PresenceLeave = Omit<PresenceMember, 'since'>;

export interface PresenceSnapshot {
  members: PresenceMember[];
  count: number;
}

/** A batched diff: `joins` are upserts, `leaves` deletes. */
export interface PresenceData {
  topic: string;
  joins: PresenceMember[];
  leaves: PresenceLeave[];
}

export interface PublishedData {
  id: string;
  topic: string;
  offset: number;
}

export interface ResumedTopic {
  recovered: boolean;
  replayed?: number;
  reason?: string;
  /** A topic the session watched with presence: its members now (diffs were missed while away). */
  presence?: PresenceSnapshot;
}

export interface ResumedData {
  sessionId: string | null;
  token?: string;
  topics?: Record<string, ResumedTopic>;
  /** Set when the resume was refused: unknown_session, expired, forbidden. */
  reason?: string;
}

export interface ErrorData {
  code: string;
  message: string;
  event?: string;
  /** Present on some errors (publish, subscribe); used to route them. */
  id?: string;
  topic?: string;
}

export interface Frame {
  event: string;
  data?: unknown;
}

/** The application-level ping: any frame the server sends back proves it alive. */
export const PING_FRAME = '{"event":"ping"}';

/** Query parameter asking the server to refuse an upgrade with a close code instead of an HTTP status. */
export const REFUSAL_PARAM = 'refusal';
export const REFUSAL_CLOSE = 'close';

/** Topics as the server accepts them: 1-256 characters, no white space. */
export function isValidTopic(topic: unknown): topic is string {
  return typeof topic === 'string' && topic.length >= 1 && topic.length <= 256 && !/\s/.test(topic);
}

export function parseFrame(text: unknown): Frame | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === 'object' && value !== null && typeof (value as Frame).event === 'string') return value as Frame;
  } catch {
    // not JSON: ignored, the server never sends such a frame
  }
  return undefined;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
