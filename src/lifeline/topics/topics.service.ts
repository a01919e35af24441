import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { ClientRegistryService } from '../client-registry.service';
import { DEFAULT_OPTIONS, LIFELINE_OPTIONS } from '../constants';
import type { ClientRecord } from '../interfaces/client-record.interface';
import type { ResolvedLifelineOptions } from '../interfaces/lifeline-options.interface';
import { LifelineEvents, type TopicSubscriptionEvent } from '../lifeline.events';
import { BackpressureService } from '../limits/backpressure.service';
import { ProtocolError } from '../protocol';

/** The one registry resource that holds all of a client's subscriptions. */
export const TOPICS_RESOURCE = 'topics';
/** A release of more subscriptions than this yields to the event loop every RELEASE_SLICE_MS. */
const RELEASE_SYNC_MAX = 256;
const RELEASE_SLICE_MS = 1;

function sendIfOpen(client: ClientRecord, frame: string): boolean {
  if (client.socket.readyState !== WebSocket.OPEN) return false;
  client.socket.send(frame);
  return true;
}

/** The frame every subscriber of `topic` gets for a publish of `data`. */
export function messageFrame(topic: string, data: unknown): string {
  return JSON.stringify({ event: 'message', data: { topic, data } });
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
 * Carries a publish beyond this process. TopicsService delivers to its own
 * subscribers itself, then hands the serialised frame to the bus, if one is
 * set; the bus must deliver it to the subscribers of every *other* node once
 * (each of them calls deliver() there). Cluster mode sets one; without
 * a bus a publish is local, as in the in-memory mode.
 */
export interface TopicBus {
  forward(topic: string, frame: string): void;
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
export class TopicsService {
  private readonly logger = new Logger('Lifeline');
  private readonly subscribers = new Map<string, Set<ClientRecord>>();
  /** Each client's topics; weak, so a record the pipeline has let go of is not kept. */
  private readonly topicsOf = new WeakMap<ClientRecord, Set<string>>();
  private readonly maxPerClient: number;
  private bus: TopicBus | undefined;
  /** Fan-outs waiting for a later turn, [topic, frame], oldest at pendingHead. */
  private pending: [string, string][] = [];
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
    this.maxPerClient = options?.maxSubscriptionsPerClient ?? DEFAULT_OPTIONS.maxSubscriptionsPerClient;
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
  publish(topic: string, data: unknown): number {
    // Nothing to serialise for nobody: no local subscriber and no other node.
    if (!this.bus && !this.subscribers.has(topic)) return 0;
    const frame = messageFrame(topic, data);
    const delivered = this.deliver(topic, frame);
    this.bus?.forward(topic, frame);
    return delivered;
  }

  /** Sends to this node's live subscribers only, never through the bus; returns how many got it. */
  deliverLocal(topic: string, data: unknown): number {
    if (!this.subscribers.has(topic)) return 0;
    return this.deliver(topic, messageFrame(topic, data));
  }

  /**
   * Delivers an already serialised frame (see messageFrame) to this node's
   * subscribers of `topic`: at once if this turn's budget allows and nothing
   * is waiting, else after the fan-outs already waiting (order is kept). A
   * bus calls this for publishes from other nodes. Returns the number sent,
   * or for a deferred fan-out the number of subscribers now.
   */
  deliver(topic: string, frame: string): number {
    if (this.pendingCount === 0 && this.sentThisTurn < this.sendsPerTurn) return this.deliverFrame(topic, frame);
    if (this.pendingCount >= MAX_PENDING_FANOUTS) {
      this.droppedFanouts++;
      if (!this.overflowLogged) {
        this.overflowLogged = true;
        this.logger.warn({ msg: 'fan-out backlog full; dropping messages', pending: this.pendingCount, topic });
      }
      return 0;
    }
    this.pending.push([topic, frame]);
    this.scheduleDrain();
    return this.subscriberCount(topic);
  }

  /**
   * Sends an already serialised frame to this node's live subscribers of
   * `topic` now, whatever the budget; returns how many got it.
   */
  deliverFrame(topic: string, frame: string): number {
    const set = this.subscribers.get(topic);
    if (!set) return 0;
    let delivered = 0;
    for (const client of set) {
      // Unregistered clients are on their way out; their release step is pending.
      if (!this.registry.has(client.id)) continue;
      if (this.backpressure ? this.backpressure.send(client, frame) : sendIfOpen(client, frame)) delivered++;
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
      const [topic, frame] = this.pending[this.pendingHead++];
      this.deliverFrame(topic, frame);
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

  private remove(topic: string, client: ClientRecord): void {
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
