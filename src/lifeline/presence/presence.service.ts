import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { ClientRegistryService } from '../client-registry.service';
import { LIFELINE_OPTIONS } from '../constants';
import type { ClientRecord, ClientResource } from '../interfaces/client-record.interface';
import type { DisconnectReason } from '../interfaces/disconnect-reason';
import type { ResolvedLifelineOptions } from '../interfaces/lifeline-options.interface';
import { type ClientConnectedEvent, LifelineEvents } from '../lifeline.events';
import { BackpressureService, sendFrame } from '../limits/backpressure.service';
import { isLogEnabled } from '../log-level';
import { ProtocolError } from '../protocol';
import type {
  PresenceDiffsSentEvent,
  PresenceMember,
  PresenceOfflineEvent,
  PresenceOnlineEvent,
  PresenceSnapshot,
  PresenceWatchedEvent,
  UserPresence,
} from './interfaces/presence.interface';
import type {
  LocalPresenceEntry,
  PresenceOp,
  PresenceStore,
  PresenceStoreHost,
  TopicChange,
  UserTransition,
} from './interfaces/presence-store.interface';
import { MemoryPresenceStore } from './memory-presence.store';
import {
  memberKey,
  memberView,
  PRESENCE_TICK_NAME,
  PresenceEvents,
  presenceTickMs,
  resumeWindowMs,
  USER_PRESENCE_RESOURCE,
  USER_SCOPE,
  userKey,
} from './presence.constants';
import { DeadlineFifo } from '../deadline-fifo';
import { PairFifo } from '../pair-fifo';
import { LifelineLogger } from '../log-entry';

/**
 * Presence transitions emitted per turn of the event loop (each an event
 * object, a log-level check and the listeners: a few microseconds).
 */
export const TRANSITIONS_PER_TURN = 128;

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * User and topic presence.
 *
 * A connection's membership is a per-client resource: on connect it joins
 * the user level, on `subscribe` with `presence: true` the topic, and the
 * cleanup pipeline releases all of it (the `user-presence` step). The store
 * (memory, or Redis in a cluster) decides the transitions, once each,
 * cluster-wide; this service turns them into events, and topic changes into
 * `presence` diff frames, batched per topic: at most one frame per topic per
 * PRESENCE_BATCH_MS, built once and sent to every local watcher. One timer
 * ends the graces (and in a cluster looks for dead nodes).
 *
 * What this node knows of a connection lives in two fields of its
 * ClientRecord that are this service's (`presenceMember`, `presenceTopics`),
 * not in a map of its own: no object and no hash-table entry per connection.
 */
@Injectable()
export class PresenceService implements PresenceStoreHost, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new LifelineLogger('Presence');
  private store: PresenceStore;
  /** Connections tracked here (presenceMember not undefined), for leak checks. */
  private tracked = 0;
  /** Local connections that get a topic's diffs. */
  private readonly watchers = new Map<string, Set<ClientRecord>>();
  /**
   * Members of the topics watched here, kept current by the change stream, so
   * a snapshot costs no store read: a join storm of N to a topic of M would
   * otherwise read N × M members from the store.
   */
  private readonly replicas = new Map<string, Replica>();
  /** Replicas being loaded; the changes heard meanwhile are applied on top when the load returns. */
  private readonly loading = new Map<string, { changes: TopicChange[]; done: Promise<Replica> }>();
  /** Changes waiting for the next flush: topic → member → since (join) or undefined (leave). Last change wins. */
  private readonly pending = new Map<string, Map<string, number | undefined>>();
  /**
   * Each watched topic's snapshot JSON: built once per event-loop turn at
   * most (every joiner of that turn shares the build, which runs after their
   * joins are in) and kept until the topic's members change. Replicas hold
   * each member as JSON already, so a build is string concatenation. In a
   * join storm every joiner once built and serialised the whole member list
   * itself (10,000 members: ~520 KB and several ms of CPU each), which
   * saturated the nodes.
   */
  private readonly snapshots = new Map<string, SharedSnapshot>();
  private flushTimer: NodeJS.Timeout | undefined;
  /** The tick timer when there is no SchedulerRegistry (specs). */
  private ownTimer: NodeJS.Timeout | undefined;
  private ticking = false;
  /**
   * Transitions waiting to be emitted, in the store's order: a batch larger
   * than TRANSITIONS_PER_TURN goes out over several turns (see
   * emitTransitions), and anything that comes meanwhile queues behind it.
   * A PairFifo lets go of each one as it is emitted and compacts while a
   * stream keeps it from emptying (the pair's second half is unused).
   */
  private readonly transitionQueue = new PairFifo<UserTransition, null>();
  private transitionDrain: NodeJS.Immediate | undefined;
  private failureLogged = false;
  private readonly graceMs: number;
  private readonly batchMs: number;
  /** With sessions on, an anonymous connection waits this long (at most) for a `resume` before it joins. */
  private readonly resumeWindowMs: number;
  /**
   * Anonymous connections not yet joined, in connection order with the end of
   * their window (one window for all, so the head ends first): the presence
   * tick settles them, no timer per connection. Entries of connections that
   * joined or left meanwhile are skipped.
   */
  private unsettled = new DeadlineFifo();
  /** Anonymous connections whose `resume` is being answered: the window does not settle them. */
  private readonly resuming = new Set<string>();
  /** Diff frames sent by this node. */
  diffFrames = 0;
  /** One resource object for every connection (its disposer gets the record): no closure per connection. */
  private readonly resource: ClientResource = {
    name: USER_PRESENCE_RESOURCE,
    dispose: (reason, record) => record && this.release(record, reason ?? 'client_close'),
  };

  constructor(
    @Inject(LIFELINE_OPTIONS) options: ResolvedLifelineOptions,
    private readonly registry: ClientRegistryService,
    private readonly events: EventEmitter2,
    @Optional() private readonly backpressure?: BackpressureService,
    @Optional() private readonly scheduler?: SchedulerRegistry,
  ) {
    this.graceMs = options.presence.graceMs;
    this.batchMs = options.presence.batchMs;
    this.resumeWindowMs = options.sessionTtlMs > 0 ? resumeWindowMs(this.graceMs) : 0;
    this.store = new MemoryPresenceStore(this.graceMs);
    this.store.bind(this);
  }

  /** Replaces the in-memory store (cluster mode, at module init, before any client). */
  useStore(store: PresenceStore): void {
    this.store = store;
    store.bind(this);
  }

  get currentStore(): PresenceStore {
    return this.store;
  }

  get grace(): number {
    return this.graceMs;
  }

  onApplicationBootstrap(): void {
    this.startTicking(this.store.tickMs ?? presenceTickMs(this.graceMs));
  }

  /** (Re)starts the one periodic timer; a cluster store asks for a shorter period than its refresh. */
  startTicking(everyMs: number): void {
    this.stopTicking();
    const timer = setInterval(() => void this.tick(), everyMs);
    timer.unref();
    if (this.scheduler) this.scheduler.addInterval(PRESENCE_TICK_NAME, timer);
    else this.ownTimer = timer;
  }

  private stopTicking(): void {
    if (this.scheduler?.doesExist('interval', PRESENCE_TICK_NAME)) this.scheduler.deleteInterval(PRESENCE_TICK_NAME);
    if (this.ownTimer) clearInterval(this.ownTimer);
    this.ownTimer = undefined;
  }

  onApplicationShutdown(): void {
    this.stopTicking();
    // Whatever is still queued goes out now: listeners (metrics, the app) hear every transition.
    if (this.transitionDrain) clearImmediate(this.transitionDrain);
    this.transitionDrain = undefined;
    this.drainTransitions(Number.POSITIVE_INFINITY);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.pending.clear();
    this.unsettled = new DeadlineFifo();
    this.resuming.clear();
  }

  /**
   * A user's member is the same whatever the session, so it joins at once.
   * An anonymous member is keyed by its session, which a `resume` may still
   * switch: with sessions on, it joins at its first `subscribe` with
   * presence, when its resume is answered, or when the window ends,
   * whichever comes first. Watchers thus never see a resuming connection's
   * own id come and go.
   */
  @OnEvent(LifelineEvents.connected)
  onConnected({ clientId }: ClientConnectedEvent): void {
    const record = this.registry.get(clientId);
    if (!record) return;
    if (record.presenceMember !== undefined) return;
    const waits = record.userId === undefined && this.resumeWindowMs > 0;
    const member = waits ? null : memberKey(record.userId, clientId);
    record.presenceMember = member;
    this.tracked++;
    const attached = this.registry.attachResource(record, this.resource);
    if (!attached) return;
    if (member === null) this.unsettled.push(clientId, Date.now() + this.resumeWindowMs);
    else this.run([{ add: true, scope: USER_SCOPE, member, clientId }]);
  }

  /** ResumeService: a `resume` of this connection is being answered; its member waits for the answer. */
  resumeStarted(record: ClientRecord): void {
    if (record.presenceMember === null) this.resuming.add(record.id);
  }

  /**
   * ResumeService: the resume was answered. Taken over (`sessionId`): the
   * connection is the session's member from now on, so it joins as the
   * member the previous connection left (within its grace: no transition, no
   * diff). Refused (undefined): it joins as itself. A connection that had
   * already joined under another key (a resume that was not its first frame)
   * moves: the new key joins every scope, the old one leaves at once.
   */
  async resumeEnded(record: ClientRecord, sessionId: string | undefined): Promise<void> {
    this.resuming.delete(record.id);
    const old = record.presenceMember;
    if (old === undefined) return;
    const member = memberKey(record.userId, sessionId ?? record.id);
    if (old === member) return;
    if (old === null) return this.settle(record, member);
    record.presenceMember = member;
    const scopes = [USER_SCOPE, ...(record.presenceTopics ?? [])];
    const ops: PresenceOp[] = scopes.map((scope) => ({ add: true, scope, member, clientId: record.id }));
    for (const scope of scopes) ops.push({ add: false, scope, member: old, clientId: record.id, reason: 'resumed', immediate: true });
    // Contained like settle(): the resume goes on, and a cluster store rewrites its share from the local state.
    await this.applyOps(ops).catch((err: unknown) => this.logFailure('presence update failed', err));
  }

  /**
   * `subscribe` with `presence: true`, after the subscription itself (so
   * whatever may refuse a subscribe refuses this too): the connection's
   * member joins the topic, the connection gets its diffs, and the reply
   * carries the snapshot, returned as JSON (`{"members":[…],"count":N}`),
   * shared by every joiner until the topic's next flush.
   */
  async watch(record: ClientRecord, topic: string): Promise<string> {
    if (record.presenceMember === undefined) throw new ProtocolError('connection is closing', 'subscribe');
    // Its first subscribe with presence: the connection is not resuming (or its resume was answered).
    if (record.presenceMember === null && !this.resuming.has(record.id)) await this.settle(record, memberKey(undefined, record.id));
    // Read again: a release may have run during the settle.
    const member = record.presenceMember as string | null | undefined;
    if (member === undefined) throw new ProtocolError('connection is closing', 'subscribe');
    if (member === null) throw new ProtocolError('a resume of this connection is being answered', 'subscribe');
    let set = this.watchers.get(topic);
    if (!set) {
      set = new Set();
      this.watchers.set(topic, set);
    }
    set.add(record);
    const topics = (record.presenceTopics ??= new Set());
    if (!topics.has(topic)) {
      topics.add(topic);
      try {
        await this.applyOps([{ add: true, scope: topic, member, clientId: record.id }]);
      } catch (err) {
        // The client is told internal_error: it must not watch either. A cluster store that did
        // apply it (a timeout) is marked dirty and rewrites its share from this local state.
        topics.delete(topic);
        this.unwatchLocal(record, topic);
        throw err;
      }
      const event: PresenceWatchedEvent = { clientId: record.id, topic };
      this.events.emit(PresenceEvents.watched, event);
    }
    return this.snapshotJson(topic);
  }

  /** `unsubscribe`: an explicit leave takes effect at once (no grace) if it was the member's last connection there. */
  async unwatch(record: ClientRecord, topic: string): Promise<void> {
    const member = record.presenceMember;
    if (member === undefined || !record.presenceTopics?.delete(topic)) return;
    this.unwatchLocal(record, topic);
    if (member === null) return;
    await this.applyOps([{ add: false, scope: topic, member, clientId: record.id, reason: 'unsubscribed', immediate: true }]);
  }

  /**
   * The cleanup step: the connection leaves every scope; each member it was
   * the last connection of starts its grace. Throws if the store fails, so
   * the pipeline logs and counts it (a cluster store rewrites its share later).
   */
  async release(record: ClientRecord, reason: DisconnectReason): Promise<void> {
    const member = record.presenceMember;
    if (member === undefined) return;
    const clientId = record.id;
    const topics = record.presenceTopics;
    record.presenceMember = undefined;
    record.presenceTopics = undefined;
    this.tracked--;
    this.resuming.delete(clientId);
    for (const topic of topics ?? []) this.unwatchLocal(record, topic);
    // Never joined (left within its window): nothing to leave.
    if (member === null) return;
    const ops: PresenceOp[] = [{ add: false, scope: USER_SCOPE, member, clientId, reason }];
    for (const topic of topics ?? []) ops.push({ add: false, scope: topic, member, clientId, reason });
    this.emitTransitions(await this.store.apply(ops));
  }

  /** A topic's members: from the replica if the topic is watched here, else from the store. */
  async snapshot(topic: string): Promise<PresenceSnapshot> {
    if (this.watchers.has(topic)) return JSON.parse(await this.snapshotJson(topic)) as PresenceSnapshot;
    const members = (await this.store.members(topic)).map((m) => memberView(m.member, m.since));
    return { members, count: members.length };
  }

  async user(userId: string): Promise<UserPresence> {
    const stored = await this.store.member(USER_SCOPE, userKey(userId));
    if (!stored) return { userId, online: false, connections: 0, nodes: [], since: null };
    const nodes = Object.keys(stored.nodes).sort();
    const connections = nodes.reduce((sum, node) => sum + stored.nodes[node], 0);
    return { userId, online: true, connections, nodes, since: stored.since };
  }

  /** Which of these users are online (grace included). */
  async online(userIds: string[]): Promise<boolean[]> {
    return this.store.online(userIds.map(userKey));
  }

  userCount(): Promise<number> {
    return this.store.userCount();
  }

  /** Local bookkeeping sizes, for leak checks. */
  get sizes(): {
    connections: number;
    unsettled: number;
    watchedTopics: number;
    replicas: number;
    pendingTopics: number;
    flushScheduled: boolean;
  } {
    return {
      connections: this.tracked,
      unsettled: this.unsettled.length + this.resuming.size,
      watchedTopics: this.watchers.size,
      replicas: this.replicas.size + this.loading.size,
      pendingTopics: this.pending.size,
      flushScheduled: this.flushTimer !== undefined,
    };
  }

  /**
   * PresenceStoreHost: what this node holds, for a store rewriting its share.
   * Live clients only: one unregistered and on its way out is about to leave
   * every scope anyway.
   */
  *localEntries(): Iterable<LocalPresenceEntry> {
    for (const record of this.registry.values()) {
      const member = record.presenceMember;
      if (typeof member !== 'string') continue;
      yield { clientId: record.id, member, scopes: [USER_SCOPE, ...(record.presenceTopics ?? [])] };
    }
  }

  /** PresenceStoreHost: a topic member joined or left (each change once per node). */
  onTopicChange(change: TopicChange): void {
    if (!this.watchers.has(change.topic)) return;
    const replica = this.replicas.get(change.topic);
    if (replica) applyChange(replica, change);
    else this.loading.get(change.topic)?.changes.push(change);
    // A snapshot still being built will include the change; a built one is out of date.
    if (this.snapshots.get(change.topic)?.json !== undefined) this.snapshots.delete(change.topic);
    let changes = this.pending.get(change.topic);
    if (!changes) {
      changes = new Map();
      this.pending.set(change.topic, changes);
    }
    // Delete first so the member moves to the end: the frame keeps the order of the changes.
    changes.delete(change.member);
    changes.set(change.member, change.join ? change.since : undefined);
    this.flushTimer ??= setTimeout(this.flush, this.batchMs);
  }

  /** PresenceStoreHost: replicas are read again from the store when next needed. */
  onStoreReset(): void {
    this.replicas.clear();
    this.loading.clear();
    this.snapshots.clear();
  }

  /** Ends graces (and, in a cluster, reaps dead nodes); the one presence timer calls it. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      this.settleDue();
      this.emitTransitions(await this.store.tick());
      this.failureLogged = false;
    } catch (err) {
      this.logFailure('presence tick failed', err);
    } finally {
      this.ticking = false;
    }
  }

  /** Anonymous connections whose window ended without a resume join as themselves. */
  private settleDue(): void {
    this.unsettled.drain(Date.now(), (clientId) => {
      // A client unregistered meanwhile is leaving: it does not join.
      const record = this.registry.get(clientId);
      if (record?.presenceMember === null && !this.resuming.has(clientId)) {
        void this.settle(record, memberKey(undefined, clientId)).catch(() => undefined);
      }
    });
  }

  /** The connection joins the user level as `member` (its topics follow through watch()). */
  private settle(record: ClientRecord, member: string): Promise<void> {
    if (record.presenceMember !== null) return Promise.resolve();
    record.presenceMember = member;
    // Failures are logged, not thrown: a cluster store rewrites its share from the local state.
    return this.applyOps([{ add: true, scope: USER_SCOPE, member, clientId: record.id }]).then(
      () => {
        this.failureLogged = false;
      },
      (err: unknown) => this.logFailure('presence update failed', err),
    );
  }

  /** One frame per topic with pending changes, serialised once, to each local watcher. */
  private readonly flush = (): void => {
    this.flushTimer = undefined;
    let frames = 0;
    for (const [topic, changes] of this.pending) {
      const set = this.watchers.get(topic);
      if (!set) continue;
      const joins: PresenceMember[] = [];
      const leaves: Omit<PresenceMember, 'since'>[] = [];
      for (const [member, since] of changes) {
        if (since === undefined) leaves.push(leaveView(member));
        else joins.push(memberView(member, since));
      }
      const frame = JSON.stringify({ event: 'presence', data: { topic, joins, leaves } });
      for (const record of set) {
        if (!this.registry.has(record.id)) continue;
        if (sendFrame(record, frame, this.backpressure)) frames++;
      }
    }
    this.pending.clear();
    if (frames > 0) {
      this.diffFrames += frames;
      const event: PresenceDiffsSentEvent = { frames };
      this.events.emit(PresenceEvents.diffsSent, event);
    }
  };

  private unwatchLocal(record: ClientRecord, topic: string): void {
    const set = this.watchers.get(topic);
    if (!set?.delete(record) || set.size > 0) return;
    this.watchers.delete(topic);
    this.pending.delete(topic);
    // Unwatched, the topic's changes are no longer heard: the replica would go stale.
    this.replicas.delete(topic);
    this.loading.delete(topic);
    this.snapshots.delete(topic);
  }

  private snapshotJson(topic: string): Promise<string> {
    const shared = this.snapshots.get(topic);
    if (shared) return shared.building ?? Promise.resolve(shared.json as string);
    const next: SharedSnapshot = {};
    const owns = () => this.snapshots.get(topic) === next;
    next.building = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.replica(topic))
      .then(
        (replica) => {
          const json = membersJson(replica);
          // Kept only while its replica is the topic's current one (not unwatched or reset meanwhile).
          if (owns() && this.replicas.get(topic) === replica) {
            next.json = json;
            next.building = undefined;
          } else if (owns()) this.snapshots.delete(topic);
          return json;
        },
        (err: unknown) => {
          if (owns()) this.snapshots.delete(topic);
          throw err;
        },
      );
    this.snapshots.set(topic, next);
    return next.building;
  }

  private replica(topic: string): Promise<Replica> {
    const ready = this.replicas.get(topic);
    if (ready) return Promise.resolve(ready);
    const inFlight = this.loading.get(topic);
    if (inFlight) return inFlight.done;
    const changes: TopicChange[] = [];
    const done = this.store.members(topic).then(
      (stored) => {
        const replica: Replica = new Map(stored.map((m) => [m.member, memberJson(m.member, m.since)] as const));
        // Heard while loading: older ones the store already had end the same (last change wins), newer ones apply.
        for (const change of changes) applyChange(replica, change);
        if (this.loading.get(topic)?.done === done) {
          this.loading.delete(topic);
          this.replicas.set(topic, replica);
        }
        return replica;
      },
      (err: unknown) => {
        if (this.loading.get(topic)?.done === done) this.loading.delete(topic);
        throw err;
      },
    );
    this.loading.set(topic, { changes, done });
    return done;
  }

  private async applyOps(ops: PresenceOp[]): Promise<void> {
    this.emitTransitions(await this.store.apply(ops));
  }

  /** Fire and forget (connect): a failure is logged; a cluster store rewrites its share when it can. */
  private run(ops: PresenceOp[]): void {
    this.applyOps(ops).then(
      () => (this.failureLogged = false),
      (err: unknown) => this.logFailure('presence update failed', err),
    );
  }

  /**
   * Emits the transitions, at most TRANSITIONS_PER_TURN per turn of the
   * event loop. The grace of a mass disconnect (a network cut, a wave of
   * heartbeat reaps) ends for thousands of members in one tick; emitted in
   * one go, with their events' listeners, that was a turn of 10-15 ms
   * (sweep-delay --profile: emitTransitions over half of the turn). A small
   * batch with nothing queued goes out at once, as before; otherwise it
   * queues behind the earlier ones, so a user's online never overtakes its
   * offline.
   */
  private emitTransitions(transitions: UserTransition[]): void {
    if (transitions.length === 0) return;
    if (this.transitionQueue.length === 0 && transitions.length <= TRANSITIONS_PER_TURN) {
      for (const t of transitions) this.emitOne(t);
      return;
    }
    for (const t of transitions) this.transitionQueue.push(t, null);
    this.transitionDrain ??= setImmediate(this.drainNextTurn);
  }

  private readonly drainNextTurn = (): void => {
    this.transitionDrain = undefined;
    this.drainTransitions(TRANSITIONS_PER_TURN);
    if (this.transitionQueue.length > 0) this.transitionDrain = setImmediate(this.drainNextTurn);
  };

  /** Each is taken off the queue before it is emitted: a listener that makes presence emit again queues behind. */
  private drainTransitions(max: number): void {
    for (let n = 0; n < max && this.transitionQueue.shift(this.emitOne); n++);
  }

  private readonly emitOne = (t: UserTransition): void => {
    const view = memberView(t.member, t.since);
    if (t.to === 'online') {
      const event: PresenceOnlineEvent = { ...identity(view), since: t.since };
      if (isLogEnabled(this.logger, 'log')) this.logger.log({ msg: 'user online', ...event });
      this.events.emit(PresenceEvents.online, event);
    } else {
      const event: PresenceOfflineEvent = {
        ...identity(view),
        reason: t.reason ?? 'connection_lost',
        onlineForMs: Math.max(0, t.at - t.since),
      };
      if (isLogEnabled(this.logger, 'log')) this.logger.log({ msg: 'user offline', ...event });
      this.events.emit(PresenceEvents.offline, event);
    }
  };


  private logFailure(msg: string, err: unknown): void {
    if (this.failureLogged) return;
    this.failureLogged = true;
    this.logger.warn({ msg, error: errorText(err) });
  }
}

/** A watched topic's members: member key → the member as JSON (`{"userId":…,"since":…}`). */
type Replica = Map<string, string>;

/** A topic's shared snapshot: being built (`building`) or built (`json`). */
interface SharedSnapshot {
  json?: string;
  building?: Promise<string>;
}

/** `{"members":[…],"count":N}`; concatenation, which here costs a fraction of an array join or JSON.stringify. */
function membersJson(replica: Replica): string {
  let json = '{"members":[';
  let first = true;
  for (const member of replica.values()) {
    json += first ? member : `,${member}`;
    first = false;
  }
  return `${json}],"count":${replica.size}}`;
}

function memberJson(member: string, since: number): string {
  return JSON.stringify(memberView(member, since));
}

function applyChange(replica: Replica, change: TopicChange): void {
  if (change.join) replica.set(change.member, memberJson(change.member, change.since));
  else replica.delete(change.member);
}

function identity(view: PresenceMember): { userId: string | null; clientId?: string } {
  return view.clientId === undefined ? { userId: view.userId } : { userId: null, clientId: view.clientId };
}

/** A leave names the member only. */
function leaveView(member: string): Omit<PresenceMember, 'since'> {
  const id = member.slice(2);
  return member.startsWith('u:') ? { userId: id } : { userId: null, clientId: id };
}

