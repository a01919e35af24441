import type {
  PresenceOp,
  PresenceScope,
  PresenceStore,
  PresenceStoreHost,
  StoredMember,
  UserTransition,
} from './interfaces/presence-store.interface';
import { DeadlineFifo } from '../deadline-fifo';
import { USER_SCOPE } from './presence.constants';

/** Two fields, 40 B: one per member of every scope, so one per connection at least. */
interface MemberState {
  /**
   * When it joined, in ms after the store's epoch: an integer below 2^31
   * (24.8 days) is stored in the field itself, where epoch ms would take a
   * 16 B heap number per member. Past that V8 boxes it, still correct.
   */
  sinceMs: number;
  /**
   * Connection ids in the scope (one process: no node to record): the id
   * itself while there is one (most members: no Set of ~200 B each), a Set
   * from the second on; when none is left, its grace (the very entry queued).
   */
  clients: string | Set<string> | Grace;
}

/**
 * A member's grace, queued and held by the member while it lasts; stale once
 * the member came back or left again (its `clients` is no longer this entry).
 */
interface Grace {
  readonly scope: PresenceScope;
  readonly member: string;
  /** Epoch ms it ends. */
  readonly at: number;
  readonly reason: string;
}

export const MEMORY_NODE_ID = 'local';

/**
 * Presence in this process. Graces share one FIFO: the grace is the same
 * for everyone, so they end in the order they began and tick() only looks
 * at the head. A member that comes back leaves a stale entry behind, which
 * is skipped when it reaches the head (no timer, no search).
 */
export class MemoryPresenceStore implements PresenceStore {
  readonly nodeId = MEMORY_NODE_ID;
  private readonly scopes = new Map<PresenceScope, Map<string, MemberState>>();
  private readonly graces = new DeadlineFifo<Grace>();
  private host: PresenceStoreHost | undefined;
  /** Members' `sinceMs` count from here. */
  private readonly epoch: number;

  constructor(
    private readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.epoch = now();
  }

  bind(host: PresenceStoreHost): void {
    this.host = host;
  }

  apply(ops: PresenceOp[]): Promise<UserTransition[]> {
    const transitions: UserTransition[] = [];
    const now = this.now();
    for (const op of ops) {
      if (op.add) this.add(op, now, transitions);
      else this.remove(op, now, transitions);
    }
    return Promise.resolve(transitions);
  }

  tick(): Promise<UserTransition[]> {
    const transitions: UserTransition[] = [];
    const now = this.now();
    this.graces.drain(now, (grace) => {
      const state = this.scopes.get(grace.scope)?.get(grace.member);
      if (state && state.clients === grace) this.gone(grace.scope, grace.member, state, now, transitions, grace.reason);
    });
    return Promise.resolve(transitions);
  }

  members(scope: PresenceScope): Promise<StoredMember[]> {
    const members: StoredMember[] = [];
    for (const [member, state] of this.scopes.get(scope) ?? []) members.push(this.view(member, state));
    return Promise.resolve(members);
  }

  member(scope: PresenceScope, member: string): Promise<StoredMember | undefined> {
    const state = this.scopes.get(scope)?.get(member);
    return Promise.resolve(state && this.view(member, state));
  }

  online(members: string[]): Promise<boolean[]> {
    const users = this.scopes.get(USER_SCOPE);
    return Promise.resolve(members.map((m) => users?.has(m) ?? false));
  }

  userCount(): Promise<number> {
    return Promise.resolve(this.scopes.get(USER_SCOPE)?.size ?? 0);
  }

  /** For tests and leak checks: scopes held, members held, graces queued (stale ones included). */
  get sizes(): { scopes: number; members: number; graces: number } {
    let members = 0;
    for (const scope of this.scopes.values()) members += scope.size;
    return { scopes: this.scopes.size, members, graces: this.graces.length };
  }

  /** A member's join time in epoch ms (stored as an offset, see MemberState). */
  private since(state: MemberState): number {
    return this.epoch + state.sinceMs;
  }

  private view(member: string, state: MemberState): StoredMember {
    return {
      member,
      since: this.since(state),
      nodes: clientCount(state) > 0 ? { [MEMORY_NODE_ID]: clientCount(state) } : {},
      leavingAt: isGrace(state.clients) ? state.clients.at : undefined,
    };
  }

  private add(op: PresenceOp, now: number, transitions: UserTransition[]): void {
    let scope = this.scopes.get(op.scope);
    if (!scope) {
      scope = new Map();
      this.scopes.set(op.scope, scope);
    }
    const state = scope.get(op.member);
    if (!state) {
      scope.set(op.member, { sinceMs: now - this.epoch, clients: op.clientId });
      if (op.scope === USER_SCOPE) transitions.push({ to: 'online', member: op.member, since: now, at: now });
      else this.host?.onTopicChange({ topic: op.scope, join: true, member: op.member, since: now });
    } else {
      // Back within the grace: no transition; the queued grace goes stale.
      addClient(state, op.clientId);
    }
  }

  private remove(op: PresenceOp, now: number, transitions: UserTransition[]): void {
    const state = this.scopes.get(op.scope)?.get(op.member);
    // Its last connection left: gone now, or its grace starts (clients becomes the grace).
    if (!state || deleteClient(state, op.clientId) !== 0) return;
    const reason = op.reason ?? 'client_close';
    if (op.immediate) {
      this.gone(op.scope, op.member, state, now, transitions, reason);
    } else {
      const grace: Grace = { scope: op.scope, member: op.member, at: now + this.graceMs, reason };
      state.clients = grace;
      this.graces.push(grace, grace.at);
    }
  }

  private gone(
    scope: PresenceScope,
    member: string,
    state: MemberState,
    now: number,
    transitions: UserTransition[],
    reason: string,
  ): void {
    const members = this.scopes.get(scope);
    members?.delete(member);
    if (members?.size === 0) this.scopes.delete(scope);
    if (scope === USER_SCOPE) {
      transitions.push({ to: 'offline', member, since: this.since(state), at: now, reason });
    } else {
      this.host?.onTopicChange({ topic: scope, join: false, member, since: this.since(state) });
    }
  }
}

function isGrace(clients: MemberState['clients']): clients is Grace {
  return typeof clients === 'object' && !(clients instanceof Set);
}

function clientCount(state: MemberState): number {
  const { clients } = state;
  return typeof clients === 'string' ? 1 : isGrace(clients) ? 0 : clients.size;
}

function addClient(state: MemberState, clientId: string): void {
  const { clients } = state;
  if (isGrace(clients) || clients === clientId) state.clients = clientId;
  else if (typeof clients === 'string') state.clients = new Set([clients, clientId]);
  else clients.add(clientId);
}

/** Connections left, -1 if the client was not there. At 0 the caller replaces `clients` (the id, or an empty Set) at once. */
function deleteClient(state: MemberState, clientId: string): number {
  const { clients } = state;
  if (typeof clients === 'string') return clients === clientId ? 0 : -1;
  if (isGrace(clients)) return -1;
  return clients.delete(clientId) ? clients.size : -1;
}
