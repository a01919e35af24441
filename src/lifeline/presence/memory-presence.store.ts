import type {
  PresenceOp,
  PresenceScope,
  PresenceStore,
  PresenceStoreHost,
  StoredMember,
  UserTransition,
} from './interfaces/presence-store.interface';
import { USER_SCOPE } from './presence.constants';

interface MemberState {
  since: number;
  /**
   * Connection ids in the scope (one process: no node to record): the id
   * itself while there is one (most members: no Set of ~200 B each), a Set
   * from the second on, '' when none is left.
   */
  clients: string | Set<string>;
  /** Epoch ms the grace ends; NaN while the member has a connection. */
  leavingAt: number;
  reason: string;
}

/** A grace that ends at `at`; stale once the member came back (its leavingAt differs). */
interface GraceEntry {
  scope: PresenceScope;
  member: string;
  at: number;
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
  private graces: GraceEntry[] = [];
  private graceHead = 0;
  private host: PresenceStoreHost | undefined;

  constructor(
    private readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

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
    while (this.graceHead < this.graces.length && this.graces[this.graceHead].at <= now) {
      const { scope, member, at } = this.graces[this.graceHead++];
      const state = this.scopes.get(scope)?.get(member);
      if (state && state.leavingAt === at && clientCount(state) === 0) this.gone(scope, member, state, now, transitions);
    }
    if (this.graceHead === this.graces.length) {
      this.graces = [];
      this.graceHead = 0;
    } else if (this.graceHead >= 1024 && this.graceHead * 2 >= this.graces.length) {
      this.graces = this.graces.slice(this.graceHead);
      this.graceHead = 0;
    }
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
    return { scopes: this.scopes.size, members, graces: this.graces.length - this.graceHead };
  }

  private view(member: string, state: MemberState): StoredMember {
    return {
      member,
      since: state.since,
      nodes: clientCount(state) > 0 ? { [MEMORY_NODE_ID]: clientCount(state) } : {},
      leavingAt: Number.isNaN(state.leavingAt) ? undefined : state.leavingAt,
    };
  }

  private add(op: PresenceOp, now: number, transitions: UserTransition[]): void {
    let scope = this.scopes.get(op.scope);
    if (!scope) {
      scope = new Map();
      this.scopes.set(op.scope, scope);
    }
    let state = scope.get(op.member);
    if (!state) {
      state = { since: now, clients: '', leavingAt: Number.NaN, reason: '' };
      scope.set(op.member, state);
      if (op.scope === USER_SCOPE) transitions.push({ to: 'online', member: op.member, since: now, at: now });
      else this.host?.onTopicChange({ topic: op.scope, join: true, member: op.member, since: now });
    } else {
      // Back within the grace: no transition; the queued grace goes stale.
      state.leavingAt = Number.NaN;
    }
    addClient(state, op.clientId);
  }

  private remove(op: PresenceOp, now: number, transitions: UserTransition[]): void {
    const state = this.scopes.get(op.scope)?.get(op.member);
    if (!state || !deleteClient(state, op.clientId) || clientCount(state) > 0) return;
    state.reason = op.reason ?? 'client_close';
    if (op.immediate) {
      this.gone(op.scope, op.member, state, now, transitions);
    } else if (Number.isNaN(state.leavingAt)) {
      state.leavingAt = now + this.graceMs;
      this.graces.push({ scope: op.scope, member: op.member, at: state.leavingAt });
    }
  }

  private gone(scope: PresenceScope, member: string, state: MemberState, now: number, transitions: UserTransition[]): void {
    const members = this.scopes.get(scope);
    members?.delete(member);
    if (members?.size === 0) this.scopes.delete(scope);
    if (scope === USER_SCOPE) {
      transitions.push({ to: 'offline', member, since: state.since, at: now, reason: state.reason });
    } else {
      this.host?.onTopicChange({ topic: scope, join: false, member, since: state.since });
    }
  }
}

function clientCount(state: MemberState): number {
  return typeof state.clients === 'string' ? (state.clients === '' ? 0 : 1) : state.clients.size;
}

function addClient(state: MemberState, clientId: string): void {
  const { clients } = state;
  if (clients === '' || clients === clientId) state.clients = clientId;
  else if (typeof clients === 'string') state.clients = new Set([clients, clientId]);
  else clients.add(clientId);
}

/** False if the client was not there. */
function deleteClient(state: MemberState, clientId: string): boolean {
  const { clients } = state;
  if (typeof clients !== 'string') return clients.delete(clientId);
  if (clients !== clientId || clientId === '') return false;
  state.clients = '';
  return true;
}
