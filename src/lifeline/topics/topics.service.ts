import { Inject, Injectable, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { ClientRegistryService } from '../client-registry.service';
import { DEFAULT_OPTIONS, LIFELINE_OPTIONS } from '../constants';
import type { HistoryOptions, ReadAfter, TopicLog, TopicPosition } from '../history/interfaces/topic-log.interface';
import { messageFrame as historyMessageFrame } from '../history/message-frame';
import { MemoryTopicLog } from '../history/memory-topic-log';
import type { ClientRecord } from '../interfaces/client-record.interface';
import type { ResolvedLifelineOptions } from '../interfaces/lifeline-options.interface';
import { LifelineEvents, type TopicSubscriptionEvent } from '../lifeline.events';
import { BackpressureService, sendFrame } from '../limits/backpressure.service';
import { ProtocolError } from '../protocol';
import { LifelineLogger } from '../log-entry';

/** The one registry resource that holds all of a client's subscriptions. */
export const TOPICS_RESOURCE = 'topics';
/** A release of more subscriptions than this yields to the event loop every RELEASE_SLICE_MS. */
const RELEASE_SYNC_MAX = 256;
const RELEASE_SLICE_MS = 1;


/** The frame every subscriber of `topic` gets for the message at `offset` of `epoch`. */
export function messageFrame(topic: string, data: unknown, epoch: string, offset: number): string {
  return historyMessageFrame(topic, data, epoch, offset);
}

/** What a publish did: its position in the topic's history and the subscribers on this node. */
export interface PublishResult extends TopicPosition {
  recipients: number;
}

/**
 * A subscription that has begun with its history read (see subscribeFrom).
 * The caller sends its own reply first (`subscribed`, `resumed`), then
 * finish(): the replayed messages, then what was published meanwhile, each
 * once and in offset order; from then on messages flow live.
 */
export interface CatchUp {
  position: TopicPosition;
  /** Set when a position was given: the messages after it, or why they cannot be had. */
  read: ReadAfter | undefined;
  /** Sends the replay (if any) and the held live messages; returns how many were replayed. */
  finish(): number;
}

/** Live messages held for one client and topic while its catch-up is read. */
interface Held {
  offsets: number[];
  frames: string[];
}

/**
 * Sends one event-loop turn may make before further fan-outs wait for the
 * next turn, so a burst of publishes to a big audience cannot hold the event
 * loop (heartbeat, health, the cluster lease) for seconds. A fan-out is never
 * split: one message reaches all of a node's subscribers in one go. Cluster
 * mode sets it (a stall past the lease gets a node declared lost); the
 * in-memory mode keeps its unlimited synchronous fan-out.
 */
export const FANOUT_SENDS_PER_TURN = 10_000;
/** Fan-outs that may wait for a later turn; more are dropped, counted and logged. */
export const MAX_PENDING_FANOUTS = 100_000;

/**
 * Marks publishes as distributed beyond this process (cluster mode). The
 * topic log carries them now (TopicLog.append: one atomic step in Redis
 * assigns the offset and publishes; every node, the origin included,
 * delivers through deliver()); the bus itself carries nothing any more.
 */
export interface TopicBus {
  /** What carries publishes between nodes, e.g. "redis". */
  readonly transport: string;
}

/**
 * Topic subscriptions, kept as a per-client resource like any extension's:
 * a client's first subscription attaches one `topics` resource holding the
 * set of its topics, so the cleanup pipeline removes them all on every
 * disconnect path. Subscribe and unsubscribe are O(1) (a Set each way,
 * never a walk over the client's resources), a client holds at most
 * `maxSubscriptionsPerClient`, and releasing many subscriptions yields to
 * the event loop every millisecond, so no disconnect stalls the heartbeat.
 */
@Injectable()
export class TopicsService implements OnApplicationShutdown {
  private readonly logger = new LifelineLogger('Lifeline');
  private readonly subscribers = new Map<string, Set<ClientRecord>>();
  /** Each client's topics; weak, so a record the pipeline has let go of is not kept. */
  private readonly topicsOf = new WeakMap<ClientRecord, Set<string>>();
  private readonly maxPerClient: number;
  private bus: TopicBus | undefined;
  /** The topics' history: memory by default, Redis in a cluster (useLog, at module init). */
  private topicLog: TopicLog;
  readonly history: HistoryOptions;
  /** Clients catching up: their live messages wait here, per topic (see subscribeFrom). */
  private readonly holds = new Map<ClientRecord, Map<string, Held>>();
  /**
   * Clients that caught up to an offset this node has not delivered yet: in a
   * cluster the history read (commands connection) can overtake the same
   * messages on the pub/sub connection, or they wait in the fan-out queue.
   * Those older messages are skipped for the client; the first newer one
   * removes its floor (the stream is in offset order), as does the end of
   * the subscription.
   */
  private readonly floors = new Map<ClientRecord, Map<string, number>>();
  /** Fan-outs waiting for a later turn, [topic, frame, offset], oldest at pendingHead. */
  private pending: [string, string, number][] = [];
  private pendingHead = 0;
  private drainScheduled = false;
  private sentThisTurn = 0;
  private turnResetScheduled = false;
  private overflowLogged = false;
  /** Sends per event-loop turn before fan-outs are deferred; unlimited unless set (FANOUT_SENDS_PER_TURN). */
  sendsPerTurn = Number.POSITIVE_INFINITY;
  /** Fan-outs dropped because MAX_PENDING_FANOUTS were waiting. */
  droppedFanouts = 0;

  constructor(
    private readonly registry: ClientRegistryService,
    /** Optional so the service also works outside Nest (specs); emits subscription changes. */
    @Optional() @Inject(EventEmitter2) private readonly events?: EventEmitter2,
    /** Watches for slow consumers; optional so specs can use the service alone. */
    @Optional() private readonly backpressure?: BackpressureService,
    @Optional() @Inject(LIFELINE_OPTIONS) options?: ResolvedLifelineOptions,
  ) {
    this.history = options?.history ?? { size: 1000, ttlMs: 120_000, maxBytes: 64 * 1024 * 1024, replayMaxMessages: 1000 };
    const retainMs = Math.max(this.history.ttlMs, options?.sessionTtlMs ?? 0) * 2;
    this.topicLog = new MemoryTopicLog(this.history, (topic, frame, offset) => this.deliver(topic, frame, offset), retainMs);
    this.maxPerClient = options?.maxSubscriptionsPerClient ?? DEFAULT_OPTIONS.maxSubscriptionsPerClient;
  }

  /** Replaces the topic log (cluster mode, at module init, before any publish). */
  useLog(log: TopicLog): void {
    this.topicLog.close();
    this.topicLog = log;
  }

  get log(): TopicLog {
    return this.topicLog;
  }

  onApplicationShutdown(): void {
    this.topicLog.close();
  }

  /** Whether the client is subscribed to the topic. */
  isSubscribed(client: ClientRecord, topic: string): boolean {
    return this.subscribers.get(topic)?.has(client) ?? false;
  }

  /**
   * The one path by which a client's subscription starts: the `subscribe`
   * handler and resume both come here (a subscribe policy belongs here, so
   * restored subscriptions are checked too). Subscribes, holds the client's
   * live messages of the topic while its position (or, given `since`, the
   * messages after it) is read, and returns the catch-up to finish once the
   * caller has sent its reply. Undefined if the client is gone.
   *
   * Already subscribed: nothing is held (messages keep flowing) and no
   * history is read.
   */
  async subscribeFrom(client: ClientRecord, topic: string, since?: TopicPosition): Promise<CatchUp | undefined> {
    if (this.isSubscribed(client, topic)) {
      const position = await this.topicLog.position(topic);
      return { position, read: undefined, finish: () => 0 };
    }
    this.hold(client, topic);
    let finished = false;
    try {
      if (!this.subscribe(client, topic)) {
        this.unhold(client, topic, Number.POSITIVE_INFINITY);
        finished = true;
        return undefined;
      }
      const read = since ? await this.topicLog.readAfter(topic, since.epoch, since.offset, this.history.replayMaxMessages) : undefined;
      const position = read?.position ?? (await this.topicLog.position(topic));
      const replay = read?.ok ? read.messages : [];
      // Held messages up to here are in the replay (or before the subscription began).
      const after = read?.ok ? read.position.offset : read ? 0 : position.offset;
      finished = true;
      return {
        position,
        read,
        finish: () => {
          for (const message of replay) this.sendTo(client, message.frame);
          this.unhold(client, topic, after);
          return replay.length;
        },
      };
    } finally {
      // The read failed: what was held is live traffic since the subscription began; it is not dropped.
      if (!finished) this.unhold(client, topic, 0);
    }
  }

  private sendTo(client: ClientRecord, frame: string): boolean {
    return sendFrame(client, frame, this.backpressure);
  }

  private hold(client: ClientRecord, topic: string): void {
    let topics = this.holds.get(client);
    if (!topics) {
      topics = new Map();
      this.holds.set(client, topics);
    }
    topics.set(topic, { offsets: [], frames: [] });
  }

  /** Stops holding: sends the held messages after `after` (in order; none twice), then live ones flow. */
  private unhold(client: ClientRecord, topic: string, after: number): void {
    const topics = this.holds.get(client);
    const held = topics?.get(topic);
    if (!topics || !held) return;
    topics.delete(topic);
    if (topics.size === 0) this.holds.delete(client);
    let last = after;
    for (let i = 0; i < held.offsets.length; i++) {
      if (held.offsets[i] <= last) continue;
      last = held.offsets[i];
      if (this.registry.has(client.id)) this.sendTo(client, held.frames[i]);
    }
    // Nothing held reached the catch-up's offset: copies of older messages may still be on their way.
    const reached = held.offsets.length > 0 && held.offsets[held.offsets.length - 1] >= after;
    if (!reached && after > 0 && Number.isFinite(after) && this.registry.has(client.id)) {
      let topics = this.floors.get(client);
      if (!topics) {
        topics = new Map();
        this.floors.set(client, topics);
      }
      topics.set(topic, last);
    }
  }

  /**
   * Idempotent. Returns false if the client is no longer live. Throws a
   * ProtocolError `too_many_subscriptions` when the client already holds
   * `maxSubscriptionsPerClient` topics (nothing changes).
   */
  subscribe(client: ClientRecord, topic: string): boolean {
    if (!this.registry.has(client.id)) return false;
    let mine = this.topicsOf.get(client);
    if (mine?.has(topic)) return true;
    if (!mine) {
      const created = new Set<string>();
      if (!this.registry.attach(client.id, TOPICS_RESOURCE, () => this.releaseAll(client, created))) return false;
      this.topicsOf.set(client, created);
      mine = created;
    }
    if (mine.size >= this.maxPerClient) {
      throw new ProtocolError(
        `at most ${this.maxPerClient} subscriptions per client; unsubscribe from one first`,
        'subscribe',
        'too_many_subscriptions',
      );
    }
    mine.add(topic);
    let set = this.subscribers.get(topic);
    if (!set) {
      set = new Set();
      this.subscribers.set(topic, set);
    }
    set.add(client);
    this.emit(LifelineEvents.topicSubscribed, client, topic);
    return true;
  }

  /** Idempotent. */
  unsubscribe(client: ClientRecord, topic: string): void {
    const mine = this.topicsOf.get(client);
    if (!mine?.delete(topic)) return;
    if (mine.size === 0) {
      // Nothing left to release: the client holds no resource for topics.
      this.topicsOf.delete(client);
      this.registry.detach(client.id, TOPICS_RESOURCE);
    }
    this.remove(topic, client);
  }

  /** The topics a client is subscribed to. */
  subscriptionsOf(client: ClientRecord): string[] {
    return [...(this.topicsOf.get(client) ?? [])];
  }

  /** How many topics a client is subscribed to. */
  subscriptionCount(client: ClientRecord): number {
    return this.topicsOf.get(client)?.size ?? 0;
  }

  /**
   * The `topics` resource's disposer: ends every subscription of a departed
   * client. A few are ended at once; many (up to maxSubscriptionsPerClient)
   * in slices of RELEASE_SLICE_MS with a yield to the event loop between
   * them, like the heartbeat's sweep. Meanwhile the client is unregistered,
   * so no fan-out sends to it.
   */
  private releaseAll(client: ClientRecord, mine: Set<string>): void | Promise<void> {
    this.topicsOf.delete(client);
    if (mine.size <= RELEASE_SYNC_MAX) {
      for (const topic of mine) this.remove(topic, client);
      mine.clear();
      return;
    }
    return this.releaseInSlices(client, mine);
  }

  private async releaseInSlices(client: ClientRecord, mine: Set<string>): Promise<void> {
    let sliceStart = performance.now();
    let done = 0;
    for (const topic of mine) {
      this.remove(topic, client);
      if (++done % 32 === 0 && performance.now() - sliceStart >= RELEASE_SLICE_MS) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
    }
    mine.clear();
  }

  /**
   * Publishes to every subscriber: this node's now (or in a later turn of
   * the event loop if this one has already sent its share, see
   * FANOUT_SENDS_PER_TURN), every other node's through the bus (cluster
   * mode). Returns how many subscribers on this node it was sent to, or, if
   * deferred, how many there are now. The frame is serialised once, not once
   * per subscriber.
   */
  async publish(topic: string, data: unknown): Promise<PublishResult> {
    const subscribers = this.subscriberCount(topic);
    // The log gives the message its offset and hands it to every node's deliver(), this one's included.
    const appended = await this.topicLog.append(topic, data);
    return { epoch: appended.epoch, offset: appended.offset, recipients: appended.recipients ?? subscribers };
  }

  /**
   * Delivers an already serialised frame (see messageFrame) to this node's
   * subscribers of `topic`: at once if this turn's budget allows and nothing
   * is waiting, else after the fan-outs already waiting (order is kept). A
   * bus calls this for publishes from other nodes. Returns the number sent,
   * or for a deferred fan-out the number of subscribers now.
   */
  deliver(topic: string, frame: string, offset = 0): number {
    if (this.pendingCount === 0 && this.sentThisTurn < this.sendsPerTurn) return this.deliverFrame(topic, frame, offset);
    if (this.pendingCount >= MAX_PENDING_FANOUTS) {
      this.droppedFanouts++;
      if (!this.overflowLogged) {
        this.overflowLogged = true;
        this.logger.warn({ msg: 'fan-out backlog full; dropping messages', pending: this.pendingCount, topic });
      }
      return 0;
    }
    this.pending.push([topic, frame, offset]);
    this.scheduleDrain();
    return this.subscriberCount(topic);
  }

  /**
   * Sends an already serialised frame to this node's live subscribers of
   * `topic` now, whatever the budget; returns how many got it.
   */
  deliverFrame(topic: string, frame: string, offset = 0): number {
    const set = this.subscribers.get(topic);
    if (!set) return 0;
    let delivered = 0;
    for (const client of set) {
      // Unregistered clients are on their way out; their release step is pending.
      if (!this.registry.has(client.id)) continue;
      // A client catching up gets it after its replay (see subscribeFrom).
      if (this.holds.size > 0) {
        const held = this.holds.get(client)?.get(topic);
        if (held) {
          held.offsets.push(offset);
          held.frames.push(frame);
          continue;
        }
      }
      // A late copy of a message the client's catch-up already sent.
      if (this.floors.size > 0 && this.belowFloor(client, topic, offset)) continue;
      if (sendFrame(client, frame, this.backpressure)) delivered++;
    }
    this.countSends(delivered);
    return delivered;
  }

  /** Fan-outs waiting for a later turn of the event loop. */
  get pendingCount(): number {
    return this.pending.length - this.pendingHead;
  }

  /** Routes publishes to other nodes too (cluster mode); undefined = local only. */
  setBus(bus: TopicBus | undefined): void {
    this.bus = bus;
  }

  /** Whether publishes currently go beyond this node. */
  get distributed(): boolean {
    return this.bus !== undefined;
  }

  subscriberCount(topic: string): number {
    return this.subscribers.get(topic)?.size ?? 0;
  }

  /** Number of topics with at least one subscriber. */
  get topicCount(): number {
    return this.subscribers.size;
  }

  private countSends(sent: number): void {
    this.sentThisTurn += sent;
    if (this.turnResetScheduled) return;
    this.turnResetScheduled = true;
    setImmediate(() => {
      this.sentThisTurn = 0;
      this.turnResetScheduled = false;
    });
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(this.drain);
  }

  /** One turn's share of the waiting fan-outs; timers and I/O run before the next share. */
  private readonly drain = (): void => {
    this.drainScheduled = false;
    while (this.pendingCount > 0 && this.sentThisTurn < this.sendsPerTurn) {
      const [topic, frame, offset] = this.pending[this.pendingHead++];
      this.deliverFrame(topic, frame, offset);
    }
    if (this.pendingCount > 0) {
      if (this.pendingHead >= 1024 && this.pendingHead * 2 >= this.pending.length) {
        this.pending = this.pending.slice(this.pendingHead);
        this.pendingHead = 0;
      }
      this.scheduleDrain();
      return;
    }
    this.pending = [];
    this.pendingHead = 0;
    this.overflowLogged = false;
  };

  /** Whether the client already has this message; the first newer one lifts the floor. */
  private belowFloor(client: ClientRecord, topic: string, offset: number): boolean {
    const topics = this.floors.get(client);
    const floor = topics?.get(topic);
    if (topics === undefined || floor === undefined) return false;
    if (offset <= floor) return true;
    this.dropFloor(client, topic);
    return false;
  }

  private dropFloor(client: ClientRecord, topic: string): void {
    const topics = this.floors.get(client);
    if (!topics?.delete(topic)) return;
    if (topics.size === 0) this.floors.delete(client);
  }

  private remove(topic: string, client: ClientRecord): void {
    if (this.floors.size > 0) this.dropFloor(client, topic);
    const set = this.subscribers.get(topic);
    if (!set?.delete(client)) return;
    if (set.size === 0) this.subscribers.delete(topic);
    this.emit(LifelineEvents.topicUnsubscribed, client, topic);
  }

  private emit(event: string, client: ClientRecord, topic: string): void {
    if (!this.events) return;
    const payload: TopicSubscriptionEvent = { clientId: client.id, topic };
    this.events.emit(event, payload);
  }
}
