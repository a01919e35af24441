import type { PresenceMember } from './interfaces/presence.interface';

export const PresenceEvents = {
  online: 'lifeline.presence.online',
  offline: 'lifeline.presence.offline',
  diffsSent: 'lifeline.presence.diffs-sent',
  /** A connection watches a topic's presence (SessionsService remembers it for a resume). */
  watched: 'lifeline.presence.watched',
} as const;

/** The per-client resource (ClientRegistryService.attach); 'presence' is the cluster directory's. */
export const USER_PRESENCE_RESOURCE = 'user-presence';

/** The user-level scope; topics are never empty. */
export const USER_SCOPE = '';

/** Name of the grace / store tick in SchedulerRegistry. */
export const PRESENCE_TICK_NAME = 'lifeline:presence';

/** Ids in one POST /presence/users/query. */
export const MAX_PRESENCE_QUERY = 1000;

/** `u:<userId>`, or `c:<clientId>` for a connection without a user: the prefixes keep them apart. */
export function memberKey(userId: string | undefined, clientId: string): string {
  return userId === undefined ? `c:${clientId}` : `u:${userId}`;
}

export function userKey(userId: string): string {
  return `u:${userId}`;
}

/** The wire form of a member key. */
export function memberView(member: string, since: number): PresenceMember {
  const id = member.slice(2);
  return member.startsWith('u:') ? { userId: id, since } : { userId: null, clientId: id, since };
}

/** How often grace ends and dead nodes are looked for: often enough to keep the bound tight. */
export function presenceTickMs(graceMs: number, refreshMs = Number.POSITIVE_INFINITY): number {
  return Math.max(10, Math.min(250, Math.floor(graceMs / 10), Math.floor(refreshMs / 4)));
}

/**
 * How long an anonymous connection waits for a `resume` before joining as
 * itself (sessions on): a resuming client sends it first, one round trip
 * after the welcome. Longer than the grace would be pointless: the member it
 * would resume has left by then.
 */
export function resumeWindowMs(graceMs: number): number {
  return Math.min(1000, graceMs);
}
