import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RawData, WebSocket, WebSocketServer } from 'ws';

/**
 * A small server on loopback that speaks Lifeline's wire protocol, sessions
 * and resume included (per the server's contract), so the SDK's state
 * machine can be driven through real sockets with exact control: go silent,
 * drop, refuse with a close code, lose its history. The real service is
 * exercised by the end-to-end specs in test/.
 */
interface Stored {
  offset: number;
  data: unknown;
}

interface TopicLog {
  epoch: string;
  messages: Stored[];
}

interface Session {
  id: string;
  token: string;
  topics: Set<string>;
  /** Topics subscribed with `presence: true`. */
  watched: Set<string>;
  published: Map<string, { topic: string; offset: number }>;
}

export interface Conn {
  socket: WebSocket;
  url: string;
  session: Session;
  received: { event: string; data: unknown }[];
}

export interface ScriptedServerOptions {
  heartbeat?: { intervalMs: number; timeoutMs: number };
  /** False: a server without sessions (no `session` in welcome, no acks). */
  sessions?: boolean;
  /** Largest frame accepted (ws closes 1009 beyond it). */
  maxPayload?: number;
}

let counter = 0;
const nextId = (prefix: string) => `${prefix}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

export class ScriptedServer {
  readonly conns: Conn[] = [];
  /** Upgrade requests seen (accepted or refused), with their URLs. */
  readonly attempts: string[] = [];
  private readonly topics = new Map<string, TopicLog>();
  private readonly sessions = new Map<string, Session>();
  /** While true, frames from clients are ignored and nothing is sent: a half-open peer. */
  silent = false;
  /** Refuse upgrades by accepting and closing at once with this code and reason. */
  refuse: { code: number; reason: string } | undefined;
  /** Replay one message more than needed (a duplicate the client must drop). */
  replayDuplicate = false;
  /** Drop this many publish frames, answering each with a `rate_limited` error (as the server's rate limit does). */
  rateLimitNext = 0;
  /** Topics whose subscribe and publish are refused with a `forbidden` error frame (as topic permissions do). */
  readonly forbidden = new Set<string>();
  /** Each topic's presence members, as the test sets them: sent as the snapshot of a presence subscribe or resume. */
  readonly members = new Map<string, { userId: string | null; clientId?: string; since: number }[]>();

  private constructor(
    private readonly wss: WebSocketServer,
    readonly url: string,
    private readonly options: ScriptedServerOptions,
  ) {
    wss.on('connection', (socket, request) => this.accept(socket, request));
  }

  static async start(options: ScriptedServerOptions = {}): Promise<ScriptedServer> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: options.maxPayload });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    const { port } = wss.address() as AddressInfo;
    return new ScriptedServer(wss, `ws://127.0.0.1:${port}/ws`, options);
  }

  get open(): Conn[] {
    return this.conns.filter((c) => c.socket.readyState === WebSocket.OPEN);
  }

  /** Publishes as another client would (or the HTTP API). */
  publish(topic: string, data: unknown): number {
    const log = this.log(topic);
    const offset = (log.messages.at(-1)?.offset ?? 0) + 1;
    log.messages.push({ offset, data });
    if (!this.silent) {
      for (const conn of this.open) {
        if (conn.session.topics.has(topic)) this.send(conn, 'message', this.messageData(topic, log.epoch, offset, data));
      }
    }
    return offset;
  }

  /** Sends a presence diff to every connection watching the topic. */
  presenceDiff(topic: string, joins: unknown[], leaves: unknown[]): void {
    for (const conn of this.open) {
      if (conn.session.watched.has(topic)) this.send(conn, 'presence', { topic, joins, leaves });
    }
  }

  private snapshot(topic: string) {
    const members = this.members.get(topic) ?? [];
    return { members, count: members.length };
  }

  /** History lost (a restart in memory mode): a new epoch, offsets from 1. */
  resetHistory(): void {
    this.topics.clear();
  }

  forgetSessions(): void {
    this.sessions.clear();
  }

  /** Drops every connection without a close frame. */
  dropAll(): void {
    for (const conn of this.open) conn.socket.terminate();
  }

  closeAll(code: number, reason: string): void {
    for (const conn of this.open) conn.socket.close(code, reason);
  }

  async stop(): Promise<void> {
    for (const conn of this.conns) conn.socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(socket: WebSocket, request: IncomingMessage): void {
    const url = request.url ?? '';
    this.attempts.push(url);
    socket.on('error', () => undefined);
    if (this.refuse) {
      socket.close(this.refuse.code, this.refuse.reason);
      return;
    }
    const session: Session = { id: nextId('s'), token: nextId('tok'), topics: new Set(), watched: new Set(), published: new Map() };
    if (this.options.sessions !== false) this.sessions.set(session.token, session);
    const conn: Conn = { socket, url, session, received: [] };
    this.conns.push(conn);
    const welcome: Record<string, unknown> = {
      clientId: nextId('c'),
      heartbeat: this.options.heartbeat ?? { intervalMs: 25_000, timeoutMs: 10_000 },
    };
    if (this.options.sessions !== false) welcome.session = { id: session.id, token: session.token, ttlMs: 120_000 };
    this.send(conn, 'welcome', welcome);
    socket.on('message', (raw: RawData) => {
      if (this.silent) return;
      const frame = JSON.parse((raw as Buffer).toString()) as { event: string; data: Record<string, unknown> };
      conn.received.push(frame);
      this.handle(conn, frame.event, frame.data ?? {});
    });
  }

  private handle(conn: Conn, event: string, data: Record<string, unknown>): void {
    const topic = data.topic as string;
    switch (event) {
      case 'ping':
        return this.send(conn, 'pong', data);
      case 'subscribe': {
        if (this.forbidden.has(topic)) {
          return this.send(conn, 'error', { code: 'forbidden', message: `not allowed to subscribe to "${topic}"`, event, topic });
        }
        conn.session.topics.add(topic);
        const log = this.log(topic);
        const reply: Record<string, unknown> = { topic, epoch: log.epoch, offset: log.messages.at(-1)?.offset ?? 0 };
        if (data.presence === true) {
          conn.session.watched.add(topic);
          reply.presence = this.snapshot(topic);
        }
        return this.send(conn, 'subscribed', reply);
      }
      case 'unsubscribe':
        conn.session.topics.delete(topic);
        conn.session.watched.delete(topic);
        return this.send(conn, 'unsubscribed', { topic });
      case 'publish': {
        if (this.forbidden.has(topic)) {
          return this.send(conn, 'error', { code: 'forbidden', message: `not allowed to publish to "${topic}"`, event, topic });
        }
        if (this.rateLimitNext > 0) {
          this.rateLimitNext--;
          return this.send(conn, 'error', { code: 'rate_limited', message: 'too many messages; slow down' });
        }
        const id = data.id as string | undefined;
        const seen = id === undefined ? undefined : conn.session.published.get(id);
        const offset = seen ? seen.offset : this.publish(topic, data.data);
        if (id !== undefined && this.options.sessions !== false) {
          conn.session.published.set(id, { topic, offset });
          this.send(conn, 'published', { id, topic, offset });
        }
        return;
      }
      case 'resume':
        return this.resume(conn, data as { token: string; topics: Record<string, { epoch: string; offset: number }> });
      default:
        return this.send(conn, 'error', { code: 'bad_request', message: `unknown event "${event}"`, event });
    }
  }

  private resume(conn: Conn, request: { token: string; topics: Record<string, { epoch: string; offset: number }> }): void {
    const old = this.sessions.get(request.token);
    if (!old) return this.send(conn, 'resumed', { sessionId: null, reason: 'unknown_session' });
    this.sessions.delete(request.token);
    // The connection takes the old session over, with a fresh token.
    this.sessions.delete(conn.session.token);
    old.token = nextId('tok');
    this.sessions.set(old.token, old);
    conn.session = old;
    const topics: Record<string, Record<string, unknown>> = {};
    const replays: [string, TopicLog, Stored[]][] = [];
    for (const topic of old.topics) {
      const position = request.topics[topic];
      const log = this.log(topic);
      if (!position) topics[topic] = { recovered: false, reason: 'no_position' };
      else if (position.epoch !== log.epoch) topics[topic] = { recovered: false, reason: 'epoch_changed' };
      else {
        const from = this.replayDuplicate ? position.offset - 1 : position.offset;
        const missed = log.messages.filter((m) => m.offset > from);
        topics[topic] = { recovered: true, replayed: missed.length };
        replays.push([topic, log, missed]);
      }
    }
    for (const topic of old.watched) if (topics[topic]) topics[topic].presence = this.snapshot(topic);
    this.send(conn, 'resumed', { sessionId: old.id, token: old.token, topics });
    for (const [topic, log, missed] of replays) {
      for (const m of missed) this.send(conn, 'message', this.messageData(topic, log.epoch, m.offset, m.data));
    }
  }

  private messageData(topic: string, epoch: string, offset: number, data: unknown) {
    return { topic, data, epoch, offset };
  }

  private log(topic: string): TopicLog {
    let log = this.topics.get(topic);
    if (!log) {
      log = { epoch: nextId('e'), messages: [] };
      this.topics.set(topic, log);
    }
    return log;
  }

  private send(conn: Conn, event: string, data: unknown): void {
    if (!this.silent && conn.socket.readyState === WebSocket.OPEN) conn.socket.send(JSON.stringify({ event, data }));
  }
}
