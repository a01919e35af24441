import { type ClientOptions, type RawData, WebSocket } from 'ws';

export interface Frame {
  event: string;
  data: unknown;
}

/**
 * A real `ws` client on loopback that queues the frames it receives, so a
 * test can await the next one of a kind.
 */
export class TestClient {
  readonly frames: Frame[] = [];
  pings = 0;
  closeCode: number | undefined;
  closeReason: string | undefined;
  private waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  readonly closed: Promise<number>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (raw: RawData) => this.receive(raw));
    socket.on('ping', () => this.pings++);
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve(code);
      }),
    );
    socket.on('error', () => undefined);
  }

  static connect(url: string, options: ClientOptions = {}): Promise<TestClient> {
    const socket = new WebSocket(url, options);
    const client = new TestClient(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  /**
   * Tries an upgrade that is expected to be refused; resolves with the HTTP
   * status, headers and parsed JSON body of the refusal.
   */
  static refusal(
    url: string,
    options: ClientOptions = {},
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: unknown }> {
    const socket = new WebSocket(url, options);
    return new Promise((resolve, reject) => {
      socket.once('open', () => {
        socket.terminate();
        reject(new Error('upgrade was accepted'));
      });
      socket.once('unexpected-response', (_req, res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as unknown }));
      });
      socket.once('error', (err) => reject(err));
    });
  }

  /** Connects and waits for the welcome frame; returns the client and its id. */
  static async join(url: string, options: ClientOptions = {}): Promise<TestClient & { id: string }> {
    const client = await TestClient.connect(url, options);
    const welcome = await client.next('welcome');
    return Object.assign(client, { id: (welcome.data as { clientId: string }).clientId });
  }

  send(event: string, data?: unknown): void {
    this.socket.send(JSON.stringify({ event, data }));
  }

  sendRaw(text: string): void {
    this.socket.send(text);
  }

  /** The next received frame with this event (already queued ones count); a liveness wait. */
  next(event: string, timeoutMs = 10_000): Promise<Frame> {
    const index = this.frames.findIndex((f) => f.event === event);
    if (index >= 0) return Promise.resolve(this.frames.splice(index, 1)[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${event}" frame within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        match: (f) => f.event === event,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  }

  close(): Promise<number> {
    this.socket.close(1000);
    return this.closed;
  }

  /** Drops the TCP connection without a close frame. */
  destroy(): void {
    (this.socket as unknown as { _socket: { destroy(): void } })._socket.destroy();
  }

  /** Text frames arrive as one Buffer (ws' default binaryType). */
  private receive(raw: RawData): void {
    const frame = JSON.parse((raw as Buffer).toString('utf8')) as Frame;
    const waiter = this.waiters.findIndex((w) => w.match(frame));
    if (waiter >= 0) {
      this.waiters.splice(waiter, 1)[0].resolve(frame);
      return;
    }
    this.frames.push(frame);
  }
}
