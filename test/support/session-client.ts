import type { ClientOptions } from 'ws';
import { type Frame, TestClient } from './ws-client';

export interface SessionInfo {
  id: string;
  token: string;
  ttlMs: number;
}

export interface Position {
  epoch: string;
  offset: number;
}

export interface MessageData {
  topic: string;
  data?: unknown;
  epoch: string;
  offset: number;
}

/**
 * A real ws client that keeps what a resuming client must keep: its session
 * token and, per topic, the last position it processed.
 */
export class SessionClient {
  positions: Record<string, Position> = {};
  /** Every message processed, in arrival order. */
  readonly messages: MessageData[] = [];

  private constructor(
    public client: TestClient & { id: string },
    public session: SessionInfo,
  ) {}

  static async open(url: string, options: ClientOptions = {}): Promise<SessionClient> {
    const client = await TestClient.connect(url, options);
    const welcome = (await client.next('welcome')).data as { clientId: string; session: SessionInfo };
    return new SessionClient(Object.assign(client, { id: welcome.clientId }), welcome.session);
  }

  async subscribe(topic: string): Promise<Position> {
    this.client.send('subscribe', { topic });
    const data = (await this.client.next('subscribed')).data as { topic: string } & Position;
    this.positions[topic] = { epoch: data.epoch, offset: data.offset };
    return this.positions[topic];
  }

  /** Takes the next `count` message frames, recording positions. */
  async take(count: number, timeoutMs = 10_000): Promise<MessageData[]> {
    const taken: MessageData[] = [];
    for (let i = 0; i < count; i++) {
      const message = (await this.client.next('message', timeoutMs)).data as MessageData;
      this.positions[message.topic] = { epoch: message.epoch, offset: message.offset };
      this.messages.push(message);
      taken.push(message);
    }
    return taken;
  }

  /** Message frames received and not yet taken. */
  pending(): Frame[] {
    return this.client.frames.filter((f) => f.event === 'message');
  }

  /**
   * Opens a new connection that resumes this session; `topics` defaults to
   * every known position. Resolves with the `resumed` data; on success the
   * client and token are swapped for the new ones.
   */
  async resume(url: string, topics: Record<string, Position> = this.positions, options: ClientOptions = {}): Promise<ResumedData> {
    const client = await TestClient.connect(url, options);
    const welcome = (await client.next('welcome')).data as { clientId: string; session: SessionInfo };
    client.send('resume', { token: this.session.token, topics });
    const resumed = (await client.next('resumed')).data as ResumedData;
    if (resumed.sessionId !== null) {
      this.client = Object.assign(client, { id: welcome.clientId });
      this.session = { ...this.session, token: resumed.token as string };
    } else {
      client.socket.terminate();
    }
    return resumed;
  }
}

export interface ResumedData {
  sessionId: string | null;
  token?: string;
  reason?: string;
  topics?: Record<string, { recovered: boolean; replayed?: number; reason?: string }>;
}
