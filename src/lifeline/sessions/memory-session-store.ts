import { DeadlineQueue } from './deadline-queue';
import {
  MAX_PUBLISH_IDS_PER_SESSION,
  type NewSession,
  type PublishedId,
  type SessionStore,
  type TakeOver,
} from './interfaces/session-store.interface';
import { sameHash } from './session-token';

/**
 * Kept small: one per connection (the id is the map key). Four fields (56 B):
 * what a session that was never resumed, subscribed or published through
 * needs; the rest waits in `more`, made on first use.
 */
interface Session {
  tokenHash: string;
  readonly userId: string | undefined;
  /** The connection holding it (a string); once released, Date.now() when it expires (a number). */
  owner: string | number;
  more: SessionMore | undefined;
}

/** What most sessions never get. */
interface SessionMore {
  /** The token before the last resume: still accepted, in case the `resumed` frame never arrived. */
  previousHash: string | undefined;
  topics: Set<string> | undefined;
  /** Those of `topics` watched with `presence: true`. */
  watched: Set<string> | undefined;
  ids: Map<string, PublishedId> | undefined;
}

const moreOf = (session: Session): SessionMore =>
  (session.more ??= { previousHash: undefined, topics: undefined, watched: undefined, ids: undefined });

/**
 * Sessions in this process's memory. Released sessions wait in one FIFO
 * (the TTL is fixed, so release order is expiry order) with one timer on its
 * head; expired ones leave a tombstone (id → expiry) for one more TTL (at
 * least 10 s) in a second FIFO, so a late resume hears `expired`.
 */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly tombstones = new Map<string, number>();
  private readonly expiries = new DeadlineQueue((id, deadline) => this.expire(id, deadline));
  private readonly forgetting = new DeadlineQueue((id, deadline) => {
    if (this.tombstones.get(id) === deadline - this.tombstoneMs) this.tombstones.delete(id);
  });
  /** How long an expired session is remembered as expired: one TTL, at least 10 s. */
  private readonly tombstoneMs: number;

  constructor(private readonly ttlMs: number) {
    this.tombstoneMs = Math.max(ttlMs, 10_000);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Expired sessions still remembered as such. */
  get tombstoneCount(): number {
    return this.tombstones.size;
  }

  create(session: NewSession): Promise<void> {
    this.sessions.set(session.id, { tokenHash: session.tokenHash, userId: session.userId, owner: session.owner, more: undefined });
    return Promise.resolve();
  }

  takeOver(id: string, tokenHash: string, newTokenHash: string, owner: string, userId: string | undefined): Promise<TakeOver> {
    const session = this.sessions.get(id);
    if (!session) {
      return Promise.resolve({ ok: false, reason: this.tombstones.has(id) ? 'expired' : 'unknown_session' });
    }
    if (!sameHash(session.tokenHash, tokenHash) && !sameHash(session.more?.previousHash, tokenHash)) {
      return Promise.resolve({ ok: false, reason: 'unknown_session' });
    }
    const previous = session.owner;
    if (typeof previous === 'number' && previous <= Date.now()) {
      return Promise.resolve({ ok: false, reason: 'expired' }); // its timer has not run yet
    }
    if (session.userId !== userId) return Promise.resolve({ ok: false, reason: 'forbidden' });
    const more = moreOf(session);
    more.previousHash = tokenHash;
    session.tokenHash = newTokenHash;
    session.owner = owner; // a queued expiry is now stale: expire() checks
    return Promise.resolve({
      ok: true,
      previousOwner: typeof previous === 'string' ? { clientId: previous } : undefined,
      topics: more.topics ? [...more.topics] : [],
      presence: more.watched ? [...more.watched] : [],
    });
  }

  release(id: string, owner: string): Promise<void> {
    const session = this.sessions.get(id);
    if (session && session.owner === owner) {
      const expiresAt = Date.now() + this.ttlMs;
      session.owner = expiresAt;
      this.expiries.push(id, expiresAt);
    }
    return Promise.resolve();
  }

  discard(id: string): Promise<void> {
    this.sessions.delete(id);
    return Promise.resolve();
  }

  addTopic(id: string, topic: string, presence = false): Promise<void> {
    const session = this.sessions.get(id);
    if (session) {
      const more = moreOf(session);
      (more.topics ??= new Set()).add(topic);
      if (presence) (more.watched ??= new Set()).add(topic);
    }
    return Promise.resolve();
  }

  removeTopic(id: string, topic: string): Promise<void> {
    const more = this.sessions.get(id)?.more;
    more?.topics?.delete(topic);
    more?.watched?.delete(topic);
    return Promise.resolve();
  }

  published(id: string, publishId: string): Promise<PublishedId | undefined> {
    return Promise.resolve(this.sessions.get(id)?.more?.ids?.get(publishId));
  }

  rememberPublished(id: string, publishId: string, published: PublishedId): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) return Promise.resolve();
    const ids = (moreOf(session).ids ??= new Map());
    ids.set(publishId, published);
    // Map keeps insertion order: the first key is the oldest.
    if (ids.size > MAX_PUBLISH_IDS_PER_SESSION) ids.delete(ids.keys().next().value as string);
    return Promise.resolve();
  }

  close(): void {
    this.expiries.close();
    this.forgetting.close();
  }

  private expire(id: string, deadline: number): void {
    const session = this.sessions.get(id);
    // Taken over (and maybe released again) since this entry was queued.
    if (!session || session.owner !== deadline) return;
    this.sessions.delete(id);
    this.tombstones.set(id, deadline);
    this.forgetting.push(id, deadline + this.tombstoneMs);
  }
}
