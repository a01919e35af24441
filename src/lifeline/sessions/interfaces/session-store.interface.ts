/** A session as a store keeps it. */
export interface NewSession {
  id: string;
  /** SHA-256 of the token (base64url); the token itself is never stored or logged. */
  tokenHash: string;
  /** The connection's authenticated user (JWT `sub`), if any: a resume must come from the same user. */
  userId: string | undefined;
  /** The connection holding it now. */
  owner: string;
}

export interface SessionOwner {
  clientId: string;
  /** Cluster mode: the node that held the connection. */
  node?: string;
}

export type ResumeRefusal = 'unknown_session' | 'expired' | 'forbidden';

export type TakeOver =
  | {
      ok: true;
      /** The connection that held the session until now, if it had not released it (a half-open peer). */
      previousOwner: SessionOwner | undefined;
      /** The session's subscriptions. */
      topics: string[];
      /** Those of `topics` subscribed with `presence: true`. */
      presence: string[];
    }
  | { ok: false; reason: ResumeRefusal };

export interface PublishedId {
  topic: string;
  offset: number;
}

/**
 * Sessions: one interface, two stores (memory for one process, Redis for a
 * cluster), chosen at module init (SessionsService.useStore). A session is
 * live while a connection holds it and expires SESSION_TTL_MS after that
 * connection released it; a store remembers an expired session for another
 * TTL so a late resume hears `expired` rather than `unknown_session`.
 */
export interface SessionStore {
  create(session: NewSession): Promise<void>;
  /**
   * Checks the token (the current one or the one before it), the user, and
   * the expiry; on success hands the session to `owner` and replaces its
   * token hash with `newTokenHash`, atomically.
   */
  takeOver(
    id: string,
    tokenHash: string,
    newTokenHash: string,
    owner: string,
    userId: string | undefined,
  ): Promise<TakeOver>;
  /** The connection `owner` let go of the session: its TTL starts (no-op if another connection took it). */
  release(id: string, owner: string): Promise<void>;
  /** Forgets a session at once (a connection's fresh session, replaced by the one it resumed). */
  discard(id: string): Promise<void>;
  /**
   * A subscription of the session; `presence`: subscribed with `presence: true`
   * (a later plain subscribe of the same topic keeps that, as the connection keeps watching).
   */
  addTopic(id: string, topic: string, presence?: boolean): Promise<void>;
  removeTopic(id: string, topic: string): Promise<void>;
  /** The offset a publish `id` of this session got, if it was published. */
  published(id: string, publishId: string): Promise<PublishedId | undefined>;
  rememberPublished(id: string, publishId: string, published: PublishedId): Promise<void>;
  /** Sessions this store holds for this process (memory: all, live or waiting to expire; Redis: live on this node). */
  readonly size: number;
  /**
   * Cluster: a resume on another node took a session from a connection of
   * this node; the listener cleans that connection up (reason `resumed`).
   */
  onEvict?(listener: (clientId: string) => void): void;
  close(): void;
}

/** Publish ids remembered per session; older ones are forgotten first. */
export const MAX_PUBLISH_IDS_PER_SESSION = 1000;
