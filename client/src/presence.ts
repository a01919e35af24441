import { isObject, type PresenceLeave, type PresenceMember } from './protocol';

/** What the `presence` event carries: the members now, and what changed to get there. */
export interface PresenceEvent {
  topic: string;
  /** Every member of the topic now (a copy). */
  members: PresenceMember[];
  /** Joined (or changed) since the last event; after a snapshot, the members the map did not have. */
  joins: PresenceMember[];
  /** Left since the last event; after a snapshot, the members it no longer lists. */
  leaves: PresenceLeave[];
  /** True when a snapshot replaced the map (a subscribe, a resume, a reconnect); false for a diff. */
  snapshot: boolean;
}

/** `u:<userId>` or `c:<clientId>`, as the server keys members. */
function keyOf(member: PresenceLeave): string | undefined {
  if (typeof member.userId === 'string') return `u:${member.userId}`;
  return typeof member.clientId === 'string' ? `c:${member.clientId}` : undefined;
}

function isMember(value: unknown): value is PresenceMember {
  return isObject(value) && keyOf(value as unknown as PresenceLeave) !== undefined;
}

/**
 * The member maps of the topics subscribed with presence, kept from the
 * server's snapshots (replace) and diffs (joins upsert, leaves delete).
 * A map survives a reconnect until the next snapshot replaces it: members
 * do not flicker away while the connection is down.
 */
export class PresenceMaps {
  private readonly maps = new Map<string, Map<string, PresenceMember>>();

  /** Topics to subscribe with `presence: true`. */
  wants(topic: string): boolean {
    return this.maps.has(topic);
  }

  watch(topic: string): void {
    if (!this.maps.has(topic)) this.maps.set(topic, new Map());
  }

  forget(topic: string): void {
    this.maps.delete(topic);
  }

  members(topic: string): PresenceMember[] {
    return [...(this.maps.get(topic)?.values() ?? [])];
  }

  /** Replaces a topic's members; undefined when the topic is not watched or the snapshot is malformed. */
  replace(topic: string, snapshot: unknown): PresenceEvent | undefined {
    const map = this.maps.get(topic);
    if (!map || !isObject(snapshot) || !Array.isArray(snapshot.members)) return undefined;
    const next = new Map<string, PresenceMember>();
    for (const member of snapshot.members as unknown[]) if (isMember(member)) next.set(keyOf(member)!, member);
    const joins = [...next].filter(([key]) => !map.has(key)).map(([, member]) => member);
    const leaves = [...map].filter(([key]) => !next.has(key)).map(([, member]) => leaveOf(member));
    map.clear();
    for (const [key, member] of next) map.set(key, member);
    return { topic, members: [...map.values()], joins, leaves, snapshot: true };
  }

  /** Applies a diff; undefined when the topic is not watched. */
  apply(topic: string, joins: unknown, leaves: unknown): PresenceEvent | undefined {
    const map = this.maps.get(topic);
    if (!map) return undefined;
    const joined = Array.isArray(joins) ? (joins as unknown[]).filter(isMember) : [];
    const left = Array.isArray(leaves) ? (leaves as unknown[]).filter(isMember) : [];
    // The server's batch holds a member's last change only, so the order between the lists does not matter.
    for (const member of joined) map.set(keyOf(member)!, member);
    for (const member of left) map.delete(keyOf(member)!);
    return { topic, members: [...map.values()], joins: joined, leaves: left.map(leaveOf), snapshot: false };
  }
}

function leaveOf(member: PresenceLeave): PresenceLeave {
  return member.userId === null ? { userId: null, clientId: member.clientId } : { userId: member.userId };
}
