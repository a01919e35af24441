import { Backoff, type BackoffOptions } from './backoff';
import { classifyClose } from './close-codes';
import { Emitter, reportListenerError } from './emitter';
import { LifelineError } from './errors';
import { host, Timer, utf8Length, type WebSocketConstructor, type WebSocketLike } from './host';
import { Liveness } from './liveness';
import { Outbox, type PublishResult } from './outbox';
import { Positions } from './positions';
import { type PresenceEvent, PresenceMaps } from './presence';
import { SendBudget } from './send-budget';
import {
  type ErrorData,
  type Frame,
  isObject,
  isValidTopic,
  type MessageData,
  parseFrame,
  type PresenceData,
  type PresenceMember,
  PING_FRAME,
  type PublishedData,
  REFUSAL_CLOSE,
  REFUSAL_PARAM,
  type ResumedData,
  type SessionInfo,
  type SubscribedData,
  type WelcomeData,
} from './protocol';

/** Replaced with `false` in the browser bundle, so the `ws` loader is left out of it. */
declare const __LIFELINE_NODE__: boolean | undefined;

export type ClientState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface MessageMeta {
  topic: string;
  /** Position in the topic; undefined from a server without history. */
  offset: number | undefined;
  epoch: string | undefined;
  /** True for messages missed while disconnected and delivered by a resume. */
  replayed: boolean;
}

export type MessageHandler<T = unknown> = (data: T, meta: MessageMeta) => void;

export interface SubscribeOptions {
  /**
   * Also join the topic's presence and keep its members: `client.presence(topic)`
   * and the `presence` event. The topic stays presence-watched until its last handler goes.
   */
  presence?: boolean;
}

export interface Subscription {
  readonly topic: string;
  /** Stops this handler; the topic is unsubscribed on the server when its last handler goes. Idempotent. */
  unsubscribe(): void;
}

export interface ResyncEvent {
  topic: string;
  /**
   * Why the missed messages could not be delivered: the server's per-topic
   * reason (`trimmed`, `epoch_changed`, `no_position`, `too_many`), its
   * resume refusal (`unknown_session`, `expired`, `forbidden`), `no_session`
   * (the server keeps no sessions), `gap` (offsets skipped) or
   * `not_subscribed` (the session had lost the topic).
   */
  reason: string;
}

export interface StateDetail {
  /** The close that caused the change, if any. */
  closeCode?: number;
  closeReason?: string;
  /** When reconnecting: the wait before the next attempt. */
  retryInMs?: number;
  /** When closed by a refusal: why. */
  error?: LifelineError;
}

export interface RetryEvent {
  /** Attempts since the last stable connection (1 = first retry). */
  attempt: number;
  delayMs: number;
}

export type ClientEvents = {
  state: (state: ClientState, detail: StateDetail) => void;
  error: (error: LifelineError) => void;
  resync: (event: ResyncEvent) => void;
  retry: (event: RetryEvent) => void;
  /** A presence-watched topic's members changed (a snapshot or a diff). */
  presence: (event: PresenceEvent) => void;
  /** Frames of events the SDK does not handle itself (custom events, presence of a topic not watched here). */
  frame: (event: string, data: unknown) => void;
};

export interface LifelineClientOptions {
  /**
   * Sent as `access_token`. A function is called before every connection
   * attempt, so an expired token (close 4001) is renewed and the session
   * resumed; a plain string that expires ends in `closed` / `token_expired`.
   */
  token?: string | (() => string | Promise<string>);
  /** A WebSocket constructor. Default: the global one (browsers, Node 22), else `ws` in Node. */
  WebSocket?: WebSocketConstructor;
  /** Full-jitter backoff: base 500 ms, cap 15 s, reset after 10 s open. */
  backoff?: BackoffOptions;
  /** Replaces the backoff with your own delay per attempt (1, 2, …); a server hint still sets the floor. */
  reconnectDelay?: (attempt: number) => number;
  /** One attempt (open, welcome, resume) may take this long (default 10,000 ms). */
  connectTimeoutMs?: number;
  /** The application heartbeat that notices a dead server (default true). */
  heartbeat?: boolean;
  /** Resume the session on reconnect (default true). */
  resume?: boolean;
  /** Bounds of the unacknowledged publishes (default 1,000 messages, 1 MiB). */
  maxQueuedMessages?: number;
  maxQueuedBytes?: number;
  /**
   * Frames per second the client sends at most, and the burst: set them to
   * the server's RATE_LIMIT_PER_SEC / RATE_LIMIT_BURST (default 50 and 100,
   * the server's defaults). Publishes beyond it wait in the queue; `false`
   * sends without pacing.
   */
  sendRate?: { perSecond: number; burst: number } | false;
  /** Check the connection at once on `online`, `offline`, `pageshow`, `visibilitychange` and the document's `resume` (default true). */
  watchEnvironment?: boolean;
}

/** Pause before re-sending unacknowledged publishes after a `rate_limited` error. */
const RATE_LIMIT_PAUSE_MS = 1000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const OPEN = 1;

type Phase = 'idle' | 'opening' | 'welcoming' | 'resuming' | 'ready';

/**
 * Lifeline's client: one logical connection that survives real ones.
 *
 * States: connecting → open ⇄ reconnecting, and closed (terminal) from any.
 * Each real connection goes through opening (socket) → welcoming (the
 * server's welcome) → resuming (when it had a session) → ready; only then
 * is the state `open`, subscriptions restored and queued publishes re-sent.
 */
export class LifelineClient extends Emitter<ClientEvents> {
  private currentState: ClientState = 'connecting';
  private phase: Phase = 'idle';
  private socket: WebSocketLike | undefined;
  /** Number of the current attempt; events from older sockets are ignored. */
  private connection = 0;
  private everOpened = false;
  private openedAt: number | undefined;
  private session: SessionInfo | undefined;
  /** The fresh session of a connection whose resume is in flight (kept if the resume is refused). */
  private freshSession: SessionInfo | undefined;
  /** The server acknowledges publishes with ids (it keeps sessions). */
  private acks = false;
  private clientIdValue: string | undefined;
  private closeError: LifelineError | undefined;
  private unauthorizedInARow = 0;
  private retryHintPending = false;

  private readonly handlers = new Map<string, Set<MessageHandler>>();
  private readonly positions = new Positions();
  private readonly presenceMaps = new PresenceMaps();
  private readonly outbox: Outbox;
  private readonly backoff: Backoff;
  private liveness: Liveness | undefined;
  private readonly retryTimer = new Timer();
  private readonly connectTimer = new Timer();
  private readonly rateTimer = new Timer();
  private readonly pumpTimer = new Timer();
  private readonly budget: SendBudget;
  private readyWaiters: { resolve(): void; reject(error: LifelineError): void }[] = [];
  private readonly idPrefix = Math.random().toString(36).slice(2, 10);
  private idSeq = 0;
  private readonly connectTimeoutMs: number;
  private readonly environmentCheck = () => this.checkNow(true);
  private readonly offlineCheck = () => this.checkNow(false);
  private readonly visibilityCheck = () => {
    if (host.document?.visibilityState !== 'hidden') this.checkNow(true);
  };
  private watching = false;

  constructor(
    readonly url: string,
    private readonly options: LifelineClientOptions = {},
  ) {
    super();
    this.backoff = new Backoff(options.backoff);
    this.outbox = new Outbox({ maxMessages: options.maxQueuedMessages, maxBytes: options.maxQueuedBytes });
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.budget = new SendBudget(options.sendRate);
    this.watchEnvironment();
    // On a microtask: listeners added right after the constructor see every event.
    void Promise.resolve().then(() => this.attempt());
  }

  get state(): ClientState {
    return this.currentState;
  }

  /** The server's id for the current connection. */
  get clientId(): string | undefined {
    return this.clientIdValue;
  }

  /** The session being kept across reconnects, if the server keeps sessions. */
  get sessionId(): string | undefined {
    return this.session?.id;
  }

  /**
   * The members of a topic subscribed with `presence: true`, as last known
   * (kept through a reconnect until the next snapshot); [] for another topic.
   */
  presence(topic: string): PresenceMember[] {
    return this.presenceMaps.members(topic);
  }

  /** Publishes awaiting the server's acknowledgement. */
  get pendingPublishes(): number {
    return this.outbox.size;
  }

  /** Resolves once open (and, after a reconnect, resumed); rejects if the client closes first. */
  ready(): Promise<void> {
    if (this.currentState === 'open') return Promise.resolve();
    if (this.currentState === 'closed') return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  subscribe<T = unknown>(topic: string, handler: MessageHandler<T>, options: SubscribeOptions = {}): Subscription {
    if (this.currentState === 'closed') throw this.closedError();
    if (!isValidTopic(topic)) throw new LifelineError('invalid_argument', `invalid topic ${JSON.stringify(topic)}: 1-256 characters, no white space`);
    let set = this.handlers.get(topic);
    const addsPresence = options.presence === true && !this.presenceMaps.wants(topic);
    if (addsPresence) this.presenceMaps.watch(topic);
    if (!set) {
      set = new Set();
      this.handlers.set(topic, set);
      if (this.phase === 'ready') this.subscribeFrame(topic);
    } else if (addsPresence && this.phase === 'ready') {
      // Already subscribed: subscribing again with presence answers the snapshot.
      this.subscribeFrame(topic);
    }
    // A wrapper per call: the same function subscribed twice is two subscriptions.
    const entry: MessageHandler = (data, meta) => handler(data as T, meta);
    set.add(entry);
    let active = true;
    return {
      topic,
      unsubscribe: () => {
        if (!active) return;
        active = false;
        this.removeHandler(topic, entry);
      },
    };
  }

  /**
   * Publishes `data` to `topic`. Resolves with the message's offset once the
   * server acknowledged it; queued while reconnecting and re-sent after the
   * resume (the server publishes an id once). Rejects with `queue_full`
   * beyond the bounds, `closed` if the client closes first.
   */
  publish(topic: string, data?: unknown): Promise<PublishResult> {
    if (this.currentState === 'closed') return Promise.reject(this.closedError());
    if (!isValidTopic(topic)) {
      return Promise.reject(new LifelineError('invalid_argument', `invalid topic ${JSON.stringify(topic)}: 1-256 characters, no white space`));
    }
    const id = `${this.idPrefix}.${++this.idSeq}`;
    let frame: string;
    try {
      frame = JSON.stringify({ event: 'publish', data: { topic, data, id } });
    } catch (err) {
      return Promise.reject(new LifelineError('invalid_argument', `data is not JSON: ${err instanceof Error ? err.message : String(err)}`));
    }
    return new Promise<PublishResult>((resolve, reject) => {
      try {
        this.outbox.add({ id, topic, frame, bytes: utf8Length(frame), resolve, reject });
      } catch (err) {
        reject(err instanceof Error ? err : new LifelineError('queue_full', String(err)));
        return;
      }
      this.pump();
    });
  }

  /** Closes for good: no reconnect, every timer and listener released, pending publishes rejected with `closed`. */
  close(): void {
    this.shutDown(undefined);
  }

  // ---------------------------------------------------------------- connecting

  private async attempt(): Promise<void> {
    if (this.currentState === 'closed') return;
    this.retryHintPending = false;
    const connection = ++this.connection;
    this.phase = 'opening';
    // Covers the token, the socket, the welcome and the resume.
    this.connectTimer.set(this.connectTimeoutMs, () => this.onConnectTimeout(connection));
    let token: string | undefined;
    let Ctor: WebSocketConstructor;
    try {
      token = await this.resolveToken();
    } catch (err) {
      if (this.stale(connection)) return;
      this.connectTimer.clear();
      this.emitError(new LifelineError('token_error', `the token function failed: ${err instanceof Error ? err.message : String(err)}`));
      return this.scheduleRetry({});
    }
    try {
      Ctor = await this.webSocketConstructor();
    } catch (err) {
      if (this.stale(connection)) return;
      return this.shutDown(err instanceof LifelineError ? err : new LifelineError('no_websocket', String(err)));
    }
    if (this.stale(connection)) return;
    let socket: WebSocketLike;
    try {
      socket = new Ctor(this.connectUrl(token));
    } catch (err) {
      return this.shutDown(new LifelineError('invalid_argument', `cannot open ${this.url}: ${err instanceof Error ? err.message : String(err)}`));
    }
    this.socket = socket;
    socket.onopen = () => {
      if (socket === this.socket && this.phase === 'opening') this.phase = 'welcoming';
    };
    socket.onmessage = (event) => this.onData(socket, event.data);
    socket.onclose = (event) => this.onClose(socket, event.code, event.reason);
    socket.onerror = ignore; // a close event always follows
  }

  /** A newer attempt started, or the client closed, while this one awaited. */
  private stale(connection: number): boolean {
    return connection !== this.connection || this.currentState === 'closed';
  }

  private async resolveToken(): Promise<string | undefined> {
    const { token } = this.options;
    if (typeof token === 'function') {
      const value = await token();
      if (typeof value !== 'string' || value === '') throw new Error('it returned no token');
      return value;
    }
    return token;
  }

  private async webSocketConstructor(): Promise<WebSocketConstructor> {
    if (this.options.WebSocket) return this.options.WebSocket;
    if (host.WebSocket) return host.WebSocket;
    if (typeof __LIFELINE_NODE__ === 'undefined' || __LIFELINE_NODE__) {
      try {
        const ws = (await import('ws')) as unknown as { WebSocket?: WebSocketConstructor; default?: WebSocketConstructor };
        const Ctor = ws.WebSocket ?? ws.default;
        if (Ctor) return Ctor;
      } catch {
        // not installed: reported below
      }
    }
    throw new LifelineError('no_websocket', 'no WebSocket implementation: pass options.WebSocket, or install "ws" in Node');
  }

  private connectUrl(token: string | undefined): string {
    const [base, hash] = splitOnce(this.url.replace(/^http(s?):/i, 'ws$1:'), '#');
    // Ask for refusals as close codes (4401, 4403, 4503, …): a browser cannot read an HTTP refusal.
    let url = `${base}${base.includes('?') ? '&' : '?'}${REFUSAL_PARAM}=${REFUSAL_CLOSE}`;
    if (token !== undefined) url += `&access_token=${encodeURIComponent(token)}`;
    return hash === undefined ? url : `${url}#${hash}`;
  }

  // ------------------------------------------------------------------ frames

  private onData(socket: WebSocketLike, data: unknown): void {
    if (socket !== this.socket) return;
    this.liveness?.received();
    const frame = parseFrame(data);
    if (!frame) return;
    try {
      this.onFrame(frame);
    } catch (err) {
      // A bug or an unexpected frame must not take the connection down.
      reportListenerError(err);
    }
  }

  private onFrame(frame: Frame): void {
    const data = frame.data;
    switch (frame.event) {
      case 'welcome':
        if (isObject(data)) this.onWelcome(data as unknown as WelcomeData);
        return;
      case 'resumed':
        if (isObject(data) && this.phase === 'resuming') this.onResumed(data as unknown as ResumedData);
        return;
      case 'message':
        if (isObject(data)) this.onMessage(data as unknown as MessageData);
        return;
      case 'subscribed':
        if (isObject(data)) {
          const { topic, epoch, offset, presence } = data as unknown as SubscribedData;
          if (this.handlers.has(topic)) this.positions.learn(topic, epoch, offset);
          if (presence !== undefined) this.emitPresence(this.presenceMaps.replace(topic, presence));
        }
        return;
      case 'presence':
        if (isObject(data)) {
          const { topic, joins, leaves } = data as unknown as PresenceData;
          const event = this.presenceMaps.apply(topic, joins, leaves);
          if (event) this.emitPresence(event);
          else this.emit('frame', frame.event, data);
        }
        return;
      case 'published':
        if (isObject(data)) {
          const { id, offset } = data as unknown as PublishedData;
          this.outbox.acknowledge(id, typeof offset === 'number' ? offset : undefined);
        }
        return;
      case 'error':
        if (isObject(data)) this.onServerError(data as unknown as ErrorData);
        return;
      case 'pong':
      case 'unsubscribed':
        return;
      default:
        this.emit('frame', frame.event, data);
    }
  }

  private onWelcome(welcome: WelcomeData): void {
    if (this.phase !== 'welcoming' && this.phase !== 'opening') return;
    this.clientIdValue = welcome.clientId;
    this.budget.refill(); // the server's bucket is per connection: a new one starts full
    this.startLiveness(welcome);
    const previous = this.session;
    const fresh = isObject(welcome.session) && typeof welcome.session.token === 'string' ? welcome.session : undefined;
    this.acks = fresh !== undefined;
    if (previous && fresh && this.options.resume !== false) {
      this.freshSession = fresh;
      this.phase = 'resuming';
      this.sendFrame('resume', { token: previous.token, topics: this.positions.all(this.handlers.keys()) });
      return;
    }
    this.session = fresh;
    // A reconnect without a resume: whatever was published meanwhile is lost to this client.
    this.restoreAfterRefusal(this.everOpened ? 'no_session' : undefined);
    this.becomeOpen();
  }

  private onResumed(resumed: ResumedData): void {
    if (typeof resumed.sessionId !== 'string') {
      this.session = this.freshSession;
      this.freshSession = undefined;
      this.restoreAfterRefusal(resumed.reason ?? 'refused');
      return this.becomeOpen();
    }
    this.session = {
      id: resumed.sessionId,
      token: typeof resumed.token === 'string' ? resumed.token : (this.freshSession?.token ?? ''),
      ttlMs: this.freshSession?.ttlMs ?? this.session?.ttlMs ?? 0,
    };
    this.freshSession = undefined;
    const topics = isObject(resumed.topics) ? resumed.topics : {};
    for (const topic of this.handlers.keys()) {
      const result = topics[topic];
      if (!result) {
        // The session did not hold it (subscribed while offline, or lost): subscribe now.
        if (this.positions.has(topic)) this.resync(topic, 'not_subscribed');
        this.positions.forget(topic);
        this.subscribeFrame(topic);
        continue;
      } else if (result.recovered) {
        this.positions.expectReplay(topic, typeof result.replayed === 'number' ? result.replayed : 0);
      } else {
        this.positions.forget(topic);
        this.resync(topic, result.reason ?? 'not_recovered');
      }
      if (!this.presenceMaps.wants(topic)) continue;
      // Watched again by the resume: a fresh snapshot. Without one (an older server, or the
      // server could not restore it), subscribing again with presence asks for it.
      if (result.presence !== undefined) this.emitPresence(this.presenceMaps.replace(topic, result.presence));
      else this.sendFrame('subscribe', { topic, presence: true });
    }
    // Unsubscribed while offline: the session still had it.
    for (const topic of Object.keys(topics)) {
      if (!this.handlers.has(topic)) this.sendFrame('unsubscribe', { topic });
    }
    this.becomeOpen();
  }

  /** Subscribes every topic afresh; with a reason, tells the app each one needs a resync. */
  private restoreAfterRefusal(reason: string | undefined): void {
    for (const topic of this.handlers.keys()) {
      this.positions.forget(topic);
      if (reason !== undefined) this.resync(topic, reason);
      this.subscribeFrame(topic);
    }
  }

  /** `subscribe`, with `presence: true` for a presence-watched topic (its snapshot then replaces the map). */
  private subscribeFrame(topic: string): void {
    this.sendFrame('subscribe', this.presenceMaps.wants(topic) ? { topic, presence: true } : { topic });
  }

  private emitPresence(event: PresenceEvent | undefined): void {
    if (event) this.emit('presence', event);
  }

  private onMessage(message: MessageData): void {
    const set = this.handlers.get(message.topic);
    if (!set) return; // unsubscribed meanwhile
    const epoch = typeof message.epoch === 'string' ? message.epoch : undefined;
    const offset = typeof message.offset === 'number' ? message.offset : undefined;
    const verdict = this.positions.judge(message.topic, epoch, offset);
    if (!verdict.deliver) return;
    if (verdict.epochChanged) this.resync(message.topic, 'epoch_changed');
    else if (verdict.gap) this.resync(message.topic, 'gap');
    const meta: MessageMeta = { topic: message.topic, offset, epoch, replayed: verdict.replayed };
    for (const handler of [...set]) {
      try {
        handler(message.data, meta);
      } catch (err) {
        reportListenerError(err);
      }
    }
  }

  private onServerError(error: ErrorData): void {
    const code = typeof error.code === 'string' ? error.code : 'unknown';
    const message = typeof error.message === 'string' ? error.message : code;
    const details = { serverCode: code, topic: typeof error.topic === 'string' ? error.topic : undefined };
    if (code === 'rate_limited') {
      this.emitError(new LifelineError('rate_limited', message, details));
      // The server dropped frames; which ones is unknown. Publishes carry ids,
      // so re-sending every unacknowledged one after a pause is safe.
      if (this.acks) this.pauseAfterRateLimit();
      return;
    }
    const sdkCode = code === 'bad_request' ? 'bad_request' : code === 'forbidden' ? 'forbidden' : 'server_error';
    const failure = new LifelineError(sdkCode, message, details);
    if (error.event === 'resume' && this.phase === 'resuming') {
      // The resume failed on the server: carry on as the fresh session it gave us.
      this.emitError(failure);
      this.session = this.freshSession;
      this.freshSession = undefined;
      this.restoreAfterRefusal('resume_failed');
      return this.becomeOpen();
    }
    if (error.event === 'subscribe' && code === 'forbidden' && details.topic !== undefined) {
      // Not allowed: asking again on every reconnect would only fail again. The app hears why.
      this.handlers.delete(details.topic);
      this.positions.forget(details.topic);
      this.presenceMaps.forget(details.topic);
    }
    if (error.event === 'publish') {
      const entry =
        (typeof error.id === 'string' && this.outbox.fail(error.id, failure)) ||
        (details.topic !== undefined && this.failOldest(details.topic, failure));
      if (entry) return;
    }
    this.emitError(failure);
  }

  private failOldest(topic: string, error: LifelineError): boolean {
    const entry = this.outbox.oldestFor(topic, this.connection);
    return entry ? this.outbox.fail(entry.id, error) : false;
  }

  // ------------------------------------------------------------- open / close

  private startLiveness(welcome: WelcomeData): void {
    this.liveness?.stop();
    this.liveness = undefined;
    const hb = welcome.heartbeat;
    if (this.options.heartbeat === false || !isObject(hb)) return;
    if (!(hb.intervalMs > 0) || !(hb.timeoutMs > 0)) return;
    const socket = this.socket;
    this.liveness = new Liveness(
      { intervalMs: hb.intervalMs, timeoutMs: hb.timeoutMs },
      () => this.sendRaw(PING_FRAME),
      (silentForMs) => this.onDead(socket, silentForMs),
    );
    this.liveness.start();
  }

  private becomeOpen(): void {
    this.phase = 'ready';
    this.connectTimer.clear();
    this.everOpened = true;
    this.openedAt = Date.now();
    this.unauthorizedInARow = 0;
    this.pump();
    this.setState('open', {});
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  /**
   * Sends the publishes not yet sent on this connection, in order, as fast as
   * the send budget allows; the rest wait for the pump timer. The budget
   * mirrors the server's per-connection rate limit, so a queue flushed after
   * a reconnect is not refused (or closed with 1008) for flooding.
   */
  private pump(): void {
    if (this.phase !== 'ready' || this.rateTimer.active) return;
    for (const entry of this.outbox.unsentOn(this.connection)) {
      const waitMs = this.budget.take();
      if (waitMs > 0) {
        if (!this.pumpTimer.active) this.pumpTimer.set(waitMs, () => this.pump());
        return;
      }
      if (!this.sendRaw(entry.frame, false)) return;
      entry.sentOn = this.connection;
      // A server without sessions sends no acknowledgement: written is all we can know.
      if (!this.acks) this.outbox.acknowledge(entry.id, undefined);
    }
  }

  /**
   * The server dropped frames for rate; which ones is unknown. Publishes
   * carry ids, so after a pause every unacknowledged one is sent again
   * (the server publishes an id once).
   */
  private pauseAfterRateLimit(): void {
    this.budget.drain();
    for (const entry of this.outbox.all()) entry.sentOn = 0;
    this.pumpTimer.clear();
    if (!this.rateTimer.active) this.rateTimer.set(RATE_LIMIT_PAUSE_MS, () => this.pump());
  }

  private onDead(socket: WebSocketLike | undefined, silentForMs: number): void {
    if (socket !== this.socket || this.currentState === 'closed') return;
    this.emitError(new LifelineError('heartbeat_timeout', `no frame from the server for ${silentForMs} ms: the connection is dead`));
    this.dropSocket();
    this.scheduleRetry({});
  }

  private onConnectTimeout(connection: number): void {
    if (connection !== this.connection || this.currentState === 'closed' || this.phase === 'ready') return;
    this.emitError(new LifelineError('connect_timeout', `no connection within ${this.connectTimeoutMs} ms`));
    this.dropSocket();
    this.scheduleRetry({});
  }

  private onClose(socket: WebSocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.releaseSocket();
    if (this.currentState === 'closed') return;
    const action = classifyClose(code, reason ?? '');
    const detail = { closeCode: code, closeReason: reason };
    if (code === 1009) {
      // The largest frame sent on that connection is at least as large as the one refused.
      const culprit = this.outbox.largestSentOn(this.connection);
      if (culprit && action.kind === 'retry' && action.error) this.outbox.fail(culprit.id, action.error);
    }
    if (action.kind === 'terminal' && code === 4404 && this.everOpened) {
      // The endpoint existed a moment ago: a deploy in progress, not a wrong URL.
      this.emitError(action.error);
      return this.scheduleRetry(detail);
    }
    if (action.kind === 'terminal') {
      const renewable = typeof this.options.token === 'function';
      if (action.error.code === 'unauthorized' && renewable && this.unauthorizedInARow++ === 0) {
        // One more try with a fresh token; a second refusal in a row is final.
        this.emitError(action.error);
        return this.scheduleRetry(detail);
      }
      return this.shutDown(action.error, detail);
    }
    if (action.kind === 'renew') {
      if (typeof this.options.token !== 'function') return this.shutDown(action.error, detail);
      // A fresh token now, and resume: no backoff, nothing was wrong with the server.
      this.setState(this.everOpened ? 'reconnecting' : 'connecting', { ...detail, retryInMs: 0 });
      this.retryTimer.set(0, () => void this.attempt());
      return;
    }
    if (action.error) this.emitError(action.error);
    this.scheduleRetry(detail, action.retryAfterMs);
  }

  private scheduleRetry(detail: StateDetail, hintMs?: number): void {
    if (this.currentState === 'closed') return;
    if (this.openedAt !== undefined && Date.now() - this.openedAt >= this.backoff.resetAfterMs) this.backoff.reset();
    this.openedAt = undefined;
    let delay: number;
    if (this.options.reconnectDelay) {
      const custom = Math.max(0, this.options.reconnectDelay(this.backoff.attempts + 1));
      this.backoff.next();
      delay = hintMs !== undefined ? Math.max(hintMs, custom) : custom;
    } else {
      delay = this.backoff.next(hintMs);
    }
    this.retryHintPending = hintMs !== undefined;
    this.setState(this.everOpened ? 'reconnecting' : 'connecting', { ...detail, retryInMs: delay });
    this.emit('retry', { attempt: this.backoff.attempts, delayMs: delay });
    this.retryTimer.set(delay, () => void this.attempt());
  }

  /** The socket is no longer ours: stop listening to it and let it go. */
  private dropSocket(): void {
    const socket = this.socket;
    this.releaseSocket();
    if (!socket) return;
    try {
      if (socket.terminate) socket.terminate();
      else socket.close(4000, 'heartbeat_timeout');
    } catch {
      // already closing
    }
  }

  private releaseSocket(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.phase = 'idle';
    this.liveness?.stop();
    this.liveness = undefined;
    this.connectTimer.clear();
    this.rateTimer.clear();
    this.pumpTimer.clear();
    this.freshSession = undefined;
    if (socket) {
      socket.onopen = null;
      socket.onmessage = null;
      socket.onclose = null;
      // `ws` throws an 'error' event nobody listens to; a no-op keeps it quiet.
      socket.onerror = ignore;
    }
  }

  private shutDown(error: LifelineError | undefined, detail: StateDetail = {}): void {
    if (this.currentState === 'closed') return;
    this.closeError = error;
    this.connection++; // anything in flight (token, import) is stale from here on
    const socket = this.socket;
    this.releaseSocket();
    if (socket) {
      try {
        if (socket.readyState === OPEN) socket.close(1000, 'client closed');
        else if (socket.terminate) socket.terminate();
        else socket.close();
      } catch {
        // already closing
      }
    }
    this.retryTimer.clear();
    this.unwatchEnvironment();
    const failure = this.closedError();
    this.outbox.failAll(failure);
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const waiter of waiters) waiter.reject(failure);
    if (error) this.emitError(error);
    this.setState('closed', error ? { ...detail, error } : detail);
    this.handlers.clear();
    this.removeAllListeners();
  }

  private closedError(): LifelineError {
    return this.closeError ?? new LifelineError('closed', 'the client is closed');
  }

  private setState(state: ClientState, detail: StateDetail): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.emit('state', state, detail);
  }

  private emitError(error: LifelineError): void {
    this.emit('error', error);
  }

  private resync(topic: string, reason: string): void {
    this.emit('resync', { topic, reason });
  }

  private removeHandler(topic: string, entry: MessageHandler): void {
    const set = this.handlers.get(topic);
    if (!set || !set.delete(entry) || set.size > 0) return;
    this.handlers.delete(topic);
    this.positions.forget(topic);
    this.presenceMaps.forget(topic);
    if (this.phase === 'ready') this.sendFrame('unsubscribe', { topic });
  }

  private sendFrame(event: string, data: unknown): boolean {
    return this.sendRaw(JSON.stringify({ event, data }));
  }

  /** Control frames (subscribe, resume, ping) always go, but count against the budget publishes wait for. */
  private sendRaw(text: string, spend = true): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return false;
    if (spend) this.budget.spend();
    try {
      socket.send(text);
      return true;
    } catch {
      return false; // the close event follows
    }
  }

  // ------------------------------------------------------------- environment

  /** Network back, tab visible, page restored: check at once instead of at the next timer. */
  private checkNow(reconnectNow: boolean): void {
    if (this.currentState === 'closed') return;
    if (this.phase === 'ready') {
      this.liveness?.probe();
    } else if (reconnectNow && this.phase === 'idle' && this.retryTimer.active && !this.retryHintPending) {
      this.retryTimer.clear();
      void this.attempt();
    }
  }

  private watchEnvironment(): void {
    if (this.options.watchEnvironment === false || typeof host.addEventListener !== 'function') return;
    host.addEventListener('online', this.environmentCheck);
    host.addEventListener('offline', this.offlineCheck);
    host.addEventListener('pageshow', this.environmentCheck);
    host.document?.addEventListener('visibilitychange', this.visibilityCheck);
    // Page Lifecycle: a frozen background tab is unfrozen with `resume` on the document.
    host.document?.addEventListener('resume', this.environmentCheck);
    this.watching = true;
  }

  private unwatchEnvironment(): void {
    if (!this.watching) return;
    this.watching = false;
    host.removeEventListener?.('online', this.environmentCheck);
    host.removeEventListener?.('offline', this.offlineCheck);
    host.removeEventListener?.('pageshow', this.environmentCheck);
    host.document?.removeEventListener('visibilitychange', this.visibilityCheck);
    host.document?.removeEventListener('resume', this.environmentCheck);
  }
}

function ignore(): void {
  // deliberately empty
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const index = text.indexOf(separator);
  return index < 0 ? [text, undefined] : [text.slice(0, index), text.slice(index + 1)];
}
